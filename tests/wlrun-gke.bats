#!/usr/bin/env bats
# kubectl-wlrun against a GKE cluster named by --cluster/--location: the
# endpoint and CA come from the Google fake's Container API (a cluster
# seeded with `kube: DIR` points at the local control plane), the bearer is
# a Google access token, which the control plane checks with the Google
# fake's tokeninfo endpoint (WLKIT_FAKE_TOKEN_WEBHOOK), as GKE's
# authentication webhook does. No kubeconfig exists, and none is written.

bats_require_minimum_version 1.5.0
load helpers

LOC=us-central1
GUSER=wlkit-user@wlkit-test.example
GSA=wlkit-sa@wlkit-test.iam.gserviceaccount.com

# kapi METHOD PATH [BODY]: the control plane with its admin token.
kapi() {
	local k="$BATS_FILE_TMPDIR/k"
	curl -sS --max-time 10 --cacert "$k/ca.crt" -X "$1" \
		-H "Authorization: Bearer $(cat "$k/token")" \
		${3:+-H "Content-Type: application/json" --data-binary "$3"} \
		"https://127.0.0.1:$(cat "$k/port")$2"
}

# admin BINDING USER: binds USER (a Google account) to cluster-admin.
admin() {
	kapi POST /apis/rbac.authorization.k8s.io/v1/clusterrolebindings \
		"{\"metadata\":{\"name\":\"$1\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"cluster-admin\"},\"subjects\":[{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"User\",\"name\":\"$2\"}]}" \
		>/dev/null
}

setup_file() {
	local g="$BATS_FILE_TMPDIR/g" k="$BATS_FILE_TMPDIR/k"
	mkdir -p "$g" "$k"
	# issued tokens live 3 s: fetched ones expire during a command
	cat >"$g/seed.yaml" <<-EOF
	project: wlkit-test
	timing: {tokenLifetime: 3}
	clusters:
	  - {location: $LOC, name: c, kube: $k}
	EOF
	"$WLKIT_ROOT/tests/fakes/gcp/cloud" up "$g" --seed "$g/seed.yaml" >&3 2>&1 || return 1
	WLKIT_FAKE_TOKEN_WEBHOOK=$(. "$g/env" && echo "${CLOUDSDK_AUTH_TOKEN_HOST%/token}/tokeninfo") \
		"$WLKIT_ROOT/tests/fakes/kube/cluster" up "$k" --nodes 1 >&3 2>&1 || return 1
	admin gke-user "$GUSER" && admin gke-sa "$GSA"
}

teardown_file() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" down "$BATS_FILE_TMPDIR/k" >/dev/null 2>&1 || true
	"$WLKIT_ROOT/tests/fakes/gcp/cloud" down "$BATS_FILE_TMPDIR/g" >/dev/null 2>&1 || true
}

setup() {
	source "$BATS_FILE_TMPDIR/g/env"
	unset KUBECONFIG
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME"
}

# gfake METHOD PATH: the Google fake's own endpoints (faults, requests).
gfake() {
	curl -sS -X "$1" -H "Authorization: Bearer $(cat "$BATS_FILE_TMPDIR/g/token")" \
		"$WLKIT_GCP_FAKE$2"
}

# users PATTERN: "METHOD PATH USER AUTH-HASH" of the control plane's
# requests whose path matches.
users() {
	kapi GET /_wlkit/requests | python3 -c 'import json,re,sys
for r in json.load(sys.stdin)["requests"]:
    if re.search(sys.argv[1], r["path"]):
        print(r["method"], r["path"], r["user"], r["auth"])' "$1"
}

@test "wlrun --cluster --location runs a job on the GKE cluster without a kubeconfig" {
	gfake DELETE /_wlkit/requests >/dev/null
	run -0 kubectl wlrun hi --cluster c --location "$LOC" --project wlkit-test \
		--kind job --image busybox --wait -- echo hi
	assert_line "job.batch/hi serverside-applied"
	assert_line --regexp '^hi: completed'
	# the Google account did it, and nothing was written for it
	run -0 users '^/apis/batch/v1/namespaces/default/jobs/hi$'
	assert_line --regexp "^PATCH .* $GUSER "
	run -0 find "$HOME" -mindepth 1
	assert_output ""
	# the cluster was read once, although --wait opens a connection per watch
	run -0 gfake GET '/_wlkit/requests?api=container'
	run -0 python3 -c 'import json,sys; print(len(json.load(sys.stdin)["requests"]))' <<<"$output"
	assert_output 1
}

@test "wlrun list --cluster --location takes the project from the gcloud configuration" {
	kubectl wlrun lister --cluster c --location "$LOC" --kind job --image busybox -- true
	run -0 kubectl wlrun list --cluster c --location "$LOC"
	assert_line --regexp '^lister +'
	run -0 kubectl wlrun delete lister --cluster c --location "$LOC"
}

@test "an unknown GKE cluster is the Container API's NOT_FOUND on one line" {
	run -1 kubectl wlrun list --cluster nope --location "$LOC"
	assert_output "error: container: NOT_FOUND: Not found: projects/wlkit-test/locations/$LOC/clusters/nope."
	run -1 kubectl wlrun list --cluster c --location "$LOC" --project other
	assert_output --regexp '^error: container: NOT_FOUND: '
}

@test "--location needs --cluster and takes no kubeconfig flag" {
	run -2 kubectl wlrun list --location "$LOC"
	assert_line "error: --location needs --cluster NAME (the GKE cluster)"
	run -2 kubectl wlrun list --cluster c --location "$LOC" --kubeconfig /nonexistent
	assert_line --regexp '^error: --location cannot be combined with --kubeconfig'
	run -2 kubectl wlrun list --project wlkit-test
	assert_line --regexp '^error: --project needs --cluster NAME and --location'
	# without --location, --cluster is still the kubeconfig's cluster name
	run -1 kubectl wlrun list --cluster c
	assert_output --partial "invalid configuration"
	run -2 kubectl-gpusnap --location "$LOC"
}

@test "the control plane accepts Google tokens only while the Google fake does" {
	local t
	t=$(curl -sS -X POST "$CLOUDSDK_AUTH_TOKEN_HOST" -d grant_type=refresh_token \
		--data-urlencode "client_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_id"])' "$BATS_FILE_TMPDIR/g/user.json")" \
		--data-urlencode "client_secret=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_secret"])' "$BATS_FILE_TMPDIR/g/user.json")" \
		--data-urlencode "refresh_token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["refresh_token"])' "$BATS_FILE_TMPDIR/g/user.json")" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
	local k="$BATS_FILE_TMPDIR/k" url
	url="https://127.0.0.1:$(cat "$k/port")/api/v1/namespaces/default/pods"
	run -0 curl -sS -o /dev/null -w '%{http_code}' --cacert "$k/ca.crt" \
		-H "Authorization: Bearer $t" "$url"
	assert_output 200
	run -0 curl -sS -o /dev/null -w '%{http_code}' --cacert "$k/ca.crt" \
		-H "Authorization: Bearer ya29.not-issued" "$url"
	assert_output 401
	sleep 3.2
	run -0 curl -sS -o /dev/null -w '%{http_code}' --cacert "$k/ca.crt" \
		-H "Authorization: Bearer $t" "$url"
	assert_output 401
}

@test "an expired Google access token is replaced during a command" {
	# a service account key (RS256 JWT grant); its tokens live 3 s, and
	# the job's discovery is held 4 s, so the write needs a new token
	unset CLOUDSDK_AUTH_ACCESS_TOKEN_FILE
	export GOOGLE_APPLICATION_CREDENTIALS="$BATS_FILE_TMPDIR/g/sa.json"
	kapi POST /_wlkit/faults '{"method": "GET", "path": "^/apis/batch/v1$", "count": 1, "action": "delay", "seconds": 4}' >/dev/null
	run -0 kubectl wlrun slow --cluster c --location "$LOC" --kind job --image busybox -- true
	assert_line "job.batch/slow serverside-applied"
	run -0 users '^/apis/batch/v1(/namespaces/default/jobs/slow)?$'
	assert_line --regexp "^GET /apis/batch/v1 $GSA "
	assert_line --regexp "^PATCH /apis/batch/v1/namespaces/default/jobs/slow $GSA "
	# more than one token: the one that expired during the delay, a new one
	local n
	n=$(users '^/apis/batch/v1(/namespaces/default/jobs/slow)?$' |
		grep " $GSA " | awk '{print $4}' | sort -u | wc -l)
	[ "$n" -ge 2 ]
	run -0 kubectl wlrun delete slow --cluster c --location "$LOC"
}
