#!/usr/bin/env bats
# The fault campaign, Google half: kubectl-wlbuild (resumable upload in
# chunks, builds.create, the build's polling, the log tail),
# gcloud-nodeimage mutate and rollback (instanceTemplates.insert,
# setInstanceTemplate, operation waits) and kubectl-wlrun --cluster
# --location (clusters.get, the OAuth token endpoint) under 429 with
# Retry-After, 500/503 bursts, dropped connections (before the answer, mid
# body, and a lost reply after the request took effect) and slow answers.
# One Google fake serves the file: the nodeimage-mutate fixture's seed
# plus a cluster "c" whose control plane is a local kube fake. Every test
# reads the fake's request log ("fault" marks what a fault answered) and
# lists the cloud's state at the end.

load lib

FIX="$WLKIT_ROOT/tests/fixtures/nodeimage-mutate"
CLOUD="$WLKIT_ROOT/tests/fakes/gcp/cloud"
P=wlkit-test
LOC=us-central1
CPU=gke-train-cpu-pool-ef940df7
GPU=gke-train-gpu-pool-15959737
A100=gke-train-a100-pool-d89451c4

setup_file() {
	local d="$BATS_FILE_TMPDIR" k="$BATS_FILE_TMPDIR/k"
	mkdir -p "$k"
	# the fixture's seed, with build timings and cluster "c" on the kube fake
	sed -e 's/^  operation: 0.3$/  operation: 0.3\n  buildQueued: 0.2\n  buildWorking: 0.8\n  logPieces: 3/' \
		-e "s|^clusters:\$|clusters:\n  - {location: $LOC, name: c, kube: $k}|" \
		"$FIX/seed.yaml" >"$d/seed.yaml"
	"$CLOUD" up "$d/g" --seed "$d/seed.yaml" >&3 2>&1 || return 1
	WLKIT_FAKE_TOKEN_WEBHOOK=$(. "$d/g/env" && echo "${CLOUDSDK_AUTH_TOKEN_HOST%/token}/tokeninfo") \
		"$WLKIT_ROOT/tests/fakes/kube/cluster" up "$k" --nodes 1 >&3 2>&1 || return 1
	# the Google user of the token file may do anything on "c"
	curl -sS --max-time 10 --cacert "$k/ca.crt" -X POST \
		-H "Authorization: Bearer $(cat "$k/token")" -H "Content-Type: application/json" \
		--data-binary '{"metadata":{"name":"gke-user"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"wlkit-user@wlkit-test.example"},{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"wlkit-sa@wlkit-test.iam.gserviceaccount.com"}]}' \
		"https://127.0.0.1:$(cat "$k/port")/apis/rbac.authorization.k8s.io/v1/clusterrolebindings" >/dev/null
	cp "$FIX/vars/dev.json" "$d/dev.json.orig"
}

teardown_file() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" down "$BATS_FILE_TMPDIR/k" >/dev/null 2>&1 || true
	"$CLOUD" down "$BATS_FILE_TMPDIR/g" >/dev/null 2>&1 || true
}

setup() {
	source "$BATS_FILE_TMPDIR/g/env"
	unset KUBECONFIG
	TOK=$(cat "$BATS_FILE_TMPDIR/g/token")
	GCS=$WLKIT_GCP_FAKE
	GCE=${CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE}projects/$P
	CB=${CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD}v1/projects/$P/locations/global
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME"
	api DELETE /_wlkit/faults >/dev/null
	api DELETE /_wlkit/requests >/dev/null
	NI=
	[[ $BATS_TEST_DESCRIPTION != *"| nodeimage "* ]] || NI=1
}

teardown() {	# after a nodeimage test, the groups back at their seeded templates
	api DELETE /_wlkit/faults >/dev/null
	[ -z "${NI:-}" ] || (cd "$FIX" && gcloud-nodeimage rollback --env dev --quiet) >/dev/null 2>&1
	true
}

# api METHOD PATH-OR-URL [BODY]: the fake with the admin token; body on stdout
api() {
	local u=$2
	[[ $u == http* ]] || u=$GCS$u
	curl -sS --max-time 10 -X "$1" -H "Authorization: Bearer $TOK" \
		${3:+-H "Content-Type: application/json" --data-binary "$3"} "$u"
}

# py EXPR: a Python expression over the JSON document on stdin (o)
py() {
	python3 -I -S -c 'import json, re, sys
o = json.load(sys.stdin)
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))' "$@"
}

fault() { api POST /_wlkit/faults "$1" >/dev/null; }

# reqs [API]: "METHOD PATH CODE FAULT" per request since the test began
reqs() {
	api GET "/_wlkit/requests${1:+?api=$1}" |
		py '"\n".join("%s %s %s %s" % (r["method"], r["path"], r["code"], r.get("fault", "-")) for r in o["requests"])'
}
# count REGEX: requests whose "METHOD PATH CODE FAULT" line matches
count() { reqs | grep -cE -- "$1" || true; }
# fired: requests a fault answered
fired() { count ' (429|500|503|drop|drop-body|drop-reply|delay)$'; }

# gap REGEX: seconds from the first request whose "METHOD PATH" matches
# and that a fault answered to the next one with the same path and query
gap() {
	api GET /_wlkit/requests | py '(lambda rs: (lambda f: "%.2f" % ([r["time"] for r in rs if r["seq"] > f["seq"] and (r["method"], r["path"], r["query"]) == (f["method"], f["path"], f["query"])][0] - f["time"]))([r for r in rs if r.get("fault")][0]))([r for r in o["requests"] if re.search(sys.argv[2], "%s %s" % (r["method"], r["path"]))])' "$1"
}

# --- kubectl-wlbuild ---------------------------------------------------

ctx() {	# a build context of 3 upload chunks (256 KiB each)
	CTX="$BATS_TEST_TMPDIR/ctx"
	mkdir -p "$CTX/sub"
	printf 'FROM busybox\nCOPY . /app\nRUN echo built\n' >"$CTX/Dockerfile"
	echo one >"$CTX/a.txt"
	head -c 600000 /dev/urandom >"$CTX/sub/blob.bin"
	export WLKIT_UPLOAD_CHUNK_KIB=256
}

# built: exactly one build created, the stored source is the context, and
# the printed digest is the fake's for those bytes; nothing else is staged.
built() {
	local image digest id obj
	image=$(printf '%s\n' "$output" | sed -n 's/^  image: \(gcr.*:.*\)$/\1/p' | head -1)
	digest=$(printf '%s\n' "$output" | sed -n 's/^  image: gcr.io\/wlkit-test\/app@\(sha256:.*\)$/\1/p')
	id=$(printf '%s\n' "$output" | sed -n 's/^  buildId: //p')
	[ -n "$image" ] && [ -n "$digest" ] && [ -n "$id" ]
	assert_equal "$(count '^POST .*/builds (200|201) ')" 1
	api GET "$CB/builds/$id" >"$BATS_TEST_TMPDIR/b.json"
	assert_equal "$(py 'o["status"]' <"$BATS_TEST_TMPDIR/b.json")" SUCCESS
	obj=$(py 'o["source"]["storageSource"]["object"]' <"$BATS_TEST_TMPDIR/b.json")
	api GET "/storage/v1/b/${P}_cloudbuild/o/${obj//\//%2F}?alt=media" >"$BATS_TEST_TMPDIR/src.tgz"
	mkdir -p "$BATS_TEST_TMPDIR/x"
	tar xzf "$BATS_TEST_TMPDIR/src.tgz" -C "$BATS_TEST_TMPDIR/x"
	diff -r "$CTX" "$BATS_TEST_TMPDIR/x"
	assert_equal "$digest" "sha256:$( { cat "$BATS_TEST_TMPDIR/src.tgz"; printf %s "$image"; } | sha256sum | cut -c1-64)"
	# the staging bucket holds this test's one source object, no other
	assert_equal "$(api GET "/storage/v1/b/${P}_cloudbuild/o?prefix=source/" |
		py '[i["name"] for i in o.get("items", []) if i["timeCreated"] >= sys.argv[2]]' "$T0")" "[\"$obj\"]"
}

wlbuild() {
	T0=$(date -u +%Y-%m-%dT%H:%M:%S)
	run --separate-stderr kubectl-wlbuild "$CTX" --image app:f -q
}

@test "429 Retry-After | wlbuild: builds.create throttled, the wait honoured, one build" {
	ctx
	fault '{"api": "cloudbuild", "method": "POST", "path": "/builds$", "action": "429", "retryAfter": 1, "count": 1}'
	wlbuild
	assert_success
	built
	fault_fired "$(fired)"
	g=$(gap '^POST .*/builds$')
	python3 -c "import sys; sys.exit(not 0.95 <= $g < 15)" || fail "retried after $g s, not Retry-After's 1"
}

@test "500/503 burst | wlbuild: every upload chunk answered 503, then 500" {
	ctx
	fault '[{"api": "storage", "method": "PUT", "path": "^/upload/", "action": "503", "count": 2},
		{"api": "storage", "method": "POST", "path": "^/upload/", "action": "500", "count": 1},
		{"api": "storage", "method": "PUT", "path": "^/upload/", "query": ".", "action": "500", "count": 2}]'
	wlbuild
	assert_success
	built
	assert_equal "$(count '^PUT /upload/.* (500|503) ')" 4
	fault_fired "$(fired)"
}

@test "500/503 burst | wlbuild: the build's GET answered 503 three times" {
	ctx
	fault '{"api": "cloudbuild", "method": "GET", "path": "/builds/", "action": "503", "count": 3}'
	wlbuild
	assert_success
	built
	assert_equal "$(count '^GET .*/builds/.* 503 503$')" 3
	fault_fired "$(fired)"
}

@test "dropped connection | wlbuild: the log tail cut mid-body, printed once and in order" {
	ctx
	fault '{"api": "storage", "method": "GET", "path": "/o/log-", "action": "drop-body", "count": 3}'
	T0=$(date -u +%Y-%m-%dT%H:%M:%S)
	run --separate-stderr kubectl-wlbuild "$CTX" --image app:f
	assert_success
	built
	for w in FETCHSOURCE BUILD PUSH DONE; do
		assert_equal "$(grep -cx "$w" <<<"$stderr")" 1
	done
	grep -x -e FETCHSOURCE -e BUILD -e PUSH -e DONE <<<"$stderr" | tr '\n' ' ' | grep -qx 'FETCHSOURCE BUILD PUSH DONE '
	assert_equal "$(grep -c 'Step #0: Step 3/3 : RUN echo built' <<<"$stderr")" 1
	fault_fired "$(fired)"
}

@test "dropped connection | wlbuild: a chunk dropped, a chunk's reply lost, the last reply cut" {
	ctx
	# chunk 1 never arrives once; chunk 2 is stored but its 308 is lost;
	# the final 200 is cut mid-body: the upload goes on from the offset the
	# session has, and the object is the archive (checked by built)
	fault '[{"api": "storage", "method": "PUT", "path": "^/upload/", "header": "^Content-Range: bytes 0-", "action": "drop", "count": 1},
		{"api": "storage", "method": "PUT", "path": "^/upload/", "header": "^Content-Range: bytes 262144-", "action": "drop-reply", "count": 1},
		{"api": "storage", "method": "PUT", "path": "^/upload/", "header": "^Content-Range: bytes [0-9]+-[0-9]+/[0-9]+$", "action": "drop-body", "count": 1}]'
	wlbuild
	assert_success
	built
	assert_equal "$(count '^PUT /upload/.* -1 drop$')" 1
	assert_equal "$(count '^PUT /upload/.* 308 drop-reply$')" 1
	assert_equal "$(count '^PUT /upload/.* 200 drop-body$')" 1
	fault_fired "$(fired)"
}

@test "slow response | wlbuild: a chunk, the build's GET and the log 1 s late" {
	ctx
	fault '[{"api": "storage", "method": "PUT", "path": "^/upload/", "action": "delay", "seconds": 1, "count": 1},
		{"api": "cloudbuild", "method": "GET", "path": "/builds/", "action": "delay", "seconds": 1, "count": 1},
		{"api": "storage", "method": "GET", "path": "/o/log-", "action": "delay", "seconds": 1, "count": 1}]'
	wlbuild
	assert_success
	built
	assert_equal "$(fired)" 3
	fault_fired "$(fired)"
}

# --- gcloud-nodeimage mutate and rollback --------------------------------

ni() { (cd "$FIX" && gcloud-nodeimage "$@" --env dev --quiet); }
# cloud: the state nodeimage touches, in one line: "ZONE/GROUP=TEMPLATE"
# of every zonal group of cluster train, then "| " and the names of the
# templates labelled with a run
cloud() {
	python3 -I -S - "$GCE" "$TOK" "$CPU $GPU $A100" <<-'PY'
	import json, sys, urllib.request
	gce, tok, pools = sys.argv[1], sys.argv[2], sys.argv[3].split()
	get = lambda p: json.load(urllib.request.urlopen(urllib.request.Request(
	    gce + p, headers={"Authorization": "Bearer " + tok}), timeout=10))
	out = ["%s/%s=%s" % (z, g, get("/zones/%s/instanceGroupManagers/%s-grp" % (z, g))["instanceTemplate"].split("/")[-1])
	       for z in ("us-central1-a", "us-central1-b") for g in pools]
	out.append("|")
	out += sorted(t["name"] for t in get("/global/instanceTemplates").get("items", [])
	              if "wlkit-nodeimage-run" in t["properties"].get("labels", {}))
	print(" ".join(out))
	PY
}
# env_kept: the environment file is as it was, last_run_id 7
env_kept() {
	cmp "$FIX/vars/dev.json" "$BATS_FILE_TMPDIR/dev.json.orig"
	assert_equal "$(py 'o["last_run_id"]' <"$FIX/vars/dev.json")" 7
}

# mutated: every group at its run-7 template (A100 left), each template
# inserted once, each request's retries under one requestId
mutated() {
	assert_equal "$(cloud)" "us-central1-a/$CPU=$CPU-r7 us-central1-a/$GPU=$GPU-r7 us-central1-a/$A100=$A100 us-central1-b/$CPU=$CPU-r7 us-central1-b/$GPU=$GPU-r7 us-central1-b/$A100=$A100 | $CPU-r7 $GPU-r7"
	# two inserts took effect (a repeat of a requestId is answered with
	# its first operation, as Compute does), all retries kept their id
	api GET '/_wlkit/requests?api=compute&method=POST' |
		py 'len(set(re.search("requestId=([^&]*)", r["query"]).group(1) for r in o["requests"] if r["path"].endswith("/global/instanceTemplates")))' >"$BATS_TEST_TMPDIR/ids"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/ids")" 2
	api GET '/_wlkit/requests?api=compute&method=POST' |
		py 'len(set(re.search("requestId=([^&]*)", r["query"]).group(1) for r in o["requests"] if r["path"].endswith("/global/instanceTemplates") and r["code"] == 200))' >"$BATS_TEST_TMPDIR/ids"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/ids")" 2
	assert_equal "$(count '^POST .*/setInstanceTemplate 200 ')" 4
	env_kept
}

# rolled_back: every group at its seeded template, no custom template left
rolled_back() {
	assert_equal "$(cloud)" "us-central1-a/$CPU=$CPU us-central1-a/$GPU=$GPU us-central1-a/$A100=$A100 us-central1-b/$CPU=$CPU us-central1-b/$GPU=$GPU us-central1-b/$A100=$A100 |"
	env_kept
}

@test "429 Retry-After | nodeimage mutate: inserts and setInstanceTemplate throttled, the wait honoured" {
	fault '[{"api": "compute", "method": "POST", "path": "/global/instanceTemplates$", "action": "429", "retryAfter": 1, "count": 2},
		{"api": "compute", "method": "POST", "path": "setInstanceTemplate$", "action": "429", "retryAfter": 1, "count": 1}]'
	run -0 ni mutate --run-id 7
	assert_equal "$(grep -c 'action: mutated' <<<"$output")" 4
	mutated
	assert_equal "$(count '^POST .* 429 429$')" 3
	fault_fired "$(fired)"
	g=$(gap 'setInstanceTemplate$')
	python3 -c "import sys; sys.exit(not 0.9 <= $g < 15)" || fail "retried after $g s"
}

@test "500/503 burst | nodeimage mutate: inserts, setInstanceTemplate and operation waits" {
	fault '[{"api": "compute", "method": "POST", "path": "/global/instanceTemplates$", "action": "503", "count": 2},
		{"api": "compute", "method": "POST", "path": "setInstanceTemplate$", "action": "500", "count": 2},
		{"api": "compute", "method": "POST", "path": "/operations/.*/wait$", "action": "503", "count": 3}]'
	run -0 ni mutate --run-id 7
	assert_equal "$(grep -c 'action: mutated' <<<"$output")" 4
	mutated
	assert_equal "$(fired)" 7
	fault_fired "$(fired)"
}

@test "dropped connection | nodeimage mutate: an insert's reply lost, a setInstanceTemplate dropped, a wait cut" {
	fault '[{"api": "compute", "method": "POST", "path": "/global/instanceTemplates$", "action": "drop-reply", "count": 1},
		{"api": "compute", "method": "POST", "path": "setInstanceTemplate$", "action": "drop", "count": 1},
		{"api": "compute", "method": "POST", "path": "/operations/.*/wait$", "action": "drop-body", "count": 2}]'
	run -0 ni mutate --run-id 7
	assert_equal "$(grep -c 'action: mutated' <<<"$output")" 4
	mutated
	assert_equal "$(fired)" 4
	fault_fired "$(fired)"
}

@test "slow response | nodeimage mutate: an insert and the waits 1 s late" {
	fault '[{"api": "compute", "method": "POST", "path": "/global/instanceTemplates$", "action": "delay", "seconds": 1, "count": 1},
		{"api": "compute", "method": "POST", "path": "/operations/.*/wait$", "action": "delay", "seconds": 1, "count": 2}]'
	run -0 ni mutate --run-id 7
	mutated
	assert_equal "$(fired)" 3
	fault_fired "$(fired)"
}

@test "500/503 burst | nodeimage rollback: setInstanceTemplate, deletes and waits answered 503" {
	run -0 ni mutate --run-id 7
	api DELETE /_wlkit/requests >/dev/null
	fault '[{"api": "compute", "method": "POST", "path": "setInstanceTemplate$", "action": "503", "count": 2},
		{"api": "compute", "method": "DELETE", "path": "/global/instanceTemplates/", "action": "503", "count": 2},
		{"api": "compute", "method": "POST", "path": "/operations/.*/wait$", "action": "500", "count": 2}]'
	run -0 ni rollback
	assert_equal "$(grep -c 'action: rolled-back' <<<"$output")" 4
	assert_equal "$(grep -c 'action: deleted' <<<"$output")" 2
	rolled_back
	assert_equal "$(count '^DELETE .*/global/instanceTemplates/.* 200 ')" 2
	assert_equal "$(fired)" 6
	fault_fired "$(fired)"
}

@test "dropped connection | nodeimage rollback: a delete's reply lost, a setInstanceTemplate dropped" {
	run -0 ni mutate --run-id 7
	api DELETE /_wlkit/requests >/dev/null
	fault '[{"api": "compute", "method": "DELETE", "path": "/global/instanceTemplates/", "action": "drop-reply", "count": 1},
		{"api": "compute", "method": "POST", "path": "setInstanceTemplate$", "action": "drop", "count": 1}]'
	run -0 ni rollback
	assert_equal "$(grep -c 'action: rolled-back' <<<"$output")" 4
	assert_equal "$(grep -c 'action: deleted' <<<"$output")" 2
	rolled_back
	assert_equal "$(fired)" 2
	fault_fired "$(fired)"
}

# --- kubectl-wlrun --cluster --location ----------------------------------

kapi() {	# kapi METHOD PATH: the control plane with its admin token
	local k="$BATS_FILE_TMPDIR/k"
	curl -sS --max-time 10 --cacert "$k/ca.crt" -X "$1" \
		-H "Authorization: Bearer $(cat "$k/token")" "https://127.0.0.1:$(cat "$k/port")$2"
}
# job_once NAME: the job exists, was created by one request; then it goes
job_once() {
	kapi GET "/apis/batch/v1/namespaces/default/jobs/$1" | py 'o["metadata"]["name"]' | grep -qx "$1"
	kapi GET "/apis/batch/v1/namespaces/default/jobs" | py 'len(o["items"])' | grep -qx 1
	kapi DELETE "/apis/batch/v1/namespaces/default/jobs/$1?propagationPolicy=Background" >/dev/null
	for _ in $(seq 50); do
		[ "$(kapi GET /apis/batch/v1/namespaces/default/jobs | py 'len(o["items"])')" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}
wlrun() { run --separate-stderr kubectl-wlrun "$1" --cluster c --location "$LOC" --project "$P" --kind job --image busybox -- true; }

@test "500/503 burst | wlrun --cluster: clusters.get answered 503, then 500" {
	fault '[{"api": "container", "method": "GET", "action": "503", "count": 2}, {"api": "container", "method": "GET", "action": "500", "count": 1}]'
	wlrun burst
	assert_success
	[[ $stderr == *"job.batch/burst serverside-applied"* ]]
	assert_equal "$(count '^GET .*/clusters/c 200 ')" 1
	job_once burst
	fault_fired "$(fired)"
}

@test "429 Retry-After | wlrun --cluster: clusters.get and the token endpoint throttled" {
	unset CLOUDSDK_AUTH_ACCESS_TOKEN_FILE
	export GOOGLE_APPLICATION_CREDENTIALS="$BATS_FILE_TMPDIR/g/sa.json"
	fault '[{"api": "container", "method": "GET", "action": "429", "retryAfter": 1, "count": 1}, {"api": "oauth", "method": "POST", "path": "^/token$", "action": "429", "retryAfter": 1, "count": 1}]'
	wlrun throttled
	assert_success
	[[ $stderr == *"job.batch/throttled serverside-applied"* ]]
	job_once throttled
	assert_equal "$(fired)" 2
	fault_fired "$(fired)"
	g=$(gap '^GET .*/clusters/c$')
	python3 -c "import sys; sys.exit(not 0.9 <= $g < 15)" || fail "retried after $g s"
}

@test "dropped connection | wlrun --cluster: the token endpoint dropped, clusters.get cut mid-body" {
	unset CLOUDSDK_AUTH_ACCESS_TOKEN_FILE
	export GOOGLE_APPLICATION_CREDENTIALS="$BATS_FILE_TMPDIR/g/sa.json"
	fault '[{"api": "oauth", "method": "POST", "path": "^/token$", "action": "drop", "count": 1},
		{"api": "oauth", "method": "POST", "path": "^/token$", "action": "drop-body", "count": 1},
		{"api": "container", "method": "GET", "action": "drop-body", "count": 1},
		{"api": "container", "method": "GET", "action": "drop", "count": 1}]'
	wlrun dropped
	assert_success
	[[ $stderr == *"job.batch/dropped serverside-applied"* ]]
	job_once dropped
	assert_equal "$(fired)" 4
	fault_fired "$(fired)"
}

@test "dropped connection | wlrun --cluster: clusters.get never answered: one line, exit 1, nothing made" {
	fault '{"api": "container", "method": "GET", "action": "drop", "count": 0}'
	wlrun never
	assert_failure 1
	assert_output ""
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "error: "*"clusters/c"* ]] || fail "not one clear line: $stderr"
	assert_equal "$(kapi GET /apis/batch/v1/namespaces/default/jobs | py 'len(o["items"])')" 0
	fault_fired "$(fired)"
}

@test "slow response | wlrun --cluster: the token endpoint and clusters.get 1 s late" {
	unset CLOUDSDK_AUTH_ACCESS_TOKEN_FILE
	export GOOGLE_APPLICATION_CREDENTIALS="$BATS_FILE_TMPDIR/g/sa.json"
	fault '[{"api": "oauth", "method": "POST", "path": "^/token$", "action": "delay", "seconds": 1, "count": 1}, {"api": "container", "method": "GET", "action": "delay", "seconds": 1, "count": 1}]'
	wlrun slow
	assert_success
	job_once slow
	assert_equal "$(fired)" 2
	fault_fired "$(fired)"
}
