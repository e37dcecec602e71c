#!/usr/bin/env bats
# gcloud-nodeimage plan, mutate and rollback against the Google fakes
# (tests/fakes/gcp), seeded from tests/fixtures/nodeimage-mutate: cluster
# "train" (3 pools x 2 zones, one A100 pool) and cluster "edge" (a regional
# template and manager, a versions[]-only manager). Three fakes serve the
# file: "main", "slow" (operations take 1.5 s, `wait` returns after
# 0.05 s) and "paged" (510 more templates); every test ends with a
# rollback, which leaves its fake as it was seeded. `reqs` reads a fake's
# request log.

bats_require_minimum_version 1.5.0
for _f in /usr/lib/bats/bats-support/src/*.bash /usr/lib/bats/bats-assert/src/*.bash; do
	source "$_f"
done
unset _f
exec </dev/null

FIX="$BATS_TEST_DIRNAME/fixtures/nodeimage-mutate"
CLOUD="$BATS_TEST_DIRNAME/fakes/gcp/cloud"
CPU=gke-train-cpu-pool-ef940df7
GPU=gke-train-gpu-pool-15959737
A100=gke-train-a100-pool-d89451c4

setup_file() {
	local d="$BATS_FILE_TMPDIR" i
	{ for i in $(seq -w 1 510); do
		printf '  - {name: a-filler-%s, properties: {machineType: e2-small}}\n' "$i"; done
	  printf '  - {name: zz-left-over, properties: {machineType: e2-small, labels: {wlkit-nodeimage-run: "6", wlkit-nodeimage-source: %s}}}\n' "$GPU"
	} >"$d/more.yaml"
	sed "/^instanceTemplates:/r $d/more.yaml" "$FIX/seed.yaml" >"$d/paged.yaml"
	"$CLOUD" up "$d/main" --seed "$FIX/seed.yaml" >"$d/main.out" 2>&1 &
	WLKIT_GCP_FAKE_TIMING=operation=1.5,waitTimeout=0.05 \
		"$CLOUD" up "$d/slow" --seed "$FIX/seed.yaml" >"$d/slow.out" 2>&1 &
	"$CLOUD" up "$d/paged" --seed "$d/paged.yaml" >"$d/paged.out" 2>&1 &
	wait
	for i in main slow paged; do
		[ -s "$d/$i/env" ] || { cat "$d/$i.out" >&3; return 1; }
	done
}

teardown_file() {
	local i
	for i in main slow paged; do
		"$CLOUD" down "$BATS_FILE_TMPDIR/$i" >/dev/null 2>&1 || true
	done
}

use() {	# use FAKE: point the program and the helpers at that fake
	D="$BATS_FILE_TMPDIR/$1"
	source "$D/env"
	TOK=$(cat "$D/token")
	GCE=${CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE}projects/wlkit-test
	clear_reqs
}

setup() {
	PATH="${WLKIT_BIN:-$BATS_TEST_DIRNAME/../bin}:$PATH"
	cd "$FIX" || return 1
	use main
}

teardown() {	# back to the seeded state
	api DELETE "$WLKIT_GCP_FAKE/_wlkit/faults" >/dev/null
	ENVNAME=dev ni rollback >/dev/null 2>&1
	ENVNAME=edge ni rollback >/dev/null 2>&1
	true
}

ni() { gcloud-nodeimage "$@" --env "${ENVNAME:-dev}" --quiet; }

api() {	# api METHOD URL [BODY]: a request with the admin token, body on stdout
	curl -sS --max-time 10 -X "$1" -H "Authorization: Bearer $TOK" \
		${3:+-H "Content-Type: application/json" --data-binary "$3"} "$2"
}

py() {	# py EXPR: a Python expression over the JSON on stdin (o)
	python3 -I -S -c 'import json, sys
o = json.load(sys.stdin)
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))' "$1"
}

reqs() {	# reqs: "METHOD PATH CODE" per request since the last clear
	api GET "$WLKIT_GCP_FAKE/_wlkit/requests" | py '"\n".join("%s %s %s" % (r["method"], r["path"], r["code"]) for r in o["requests"])'
}
clear_reqs() { api DELETE "$WLKIT_GCP_FAKE/_wlkit/requests" >/dev/null; }

tpl() { api GET "$GCE/global/instanceTemplates/$1"; }
igm() { api GET "$GCE/zones/$1/instanceGroupManagers/$2" | py 'o["instanceTemplate"].split("/")[-1]'; }
custom_templates() {	# names of the templates labelled with a run
	api GET "$GCE/global/instanceTemplates" |
		py '" ".join(sorted(t["name"] for t in o.get("items", []) if "wlkit-nodeimage-run" in t["properties"].get("labels", {})))'
}

@test "plan lists the 4 groups to mutate and the 2 excluded A100 ones" {
	run -0 --separate-stderr ni plan --run-id 7 --format json
	[ "$(py '[g["action"] for g in o["spec"]["groups"]].count("mutate")' <<<"$output")" = 4 ]
	[ "$(py '[g.get("reason") for g in o["spec"]["groups"] if g["action"] == "skip"]' <<<"$output")" = \
		"[\"machine type 'a2-highgpu-1g' is excluded\", \"machine type 'a2-highgpu-1g' is excluded\"]" ]
	[ "$(py 'o["spec"]["image"]' <<<"$output")" = projects/wlkit-test/global/images/wlkit-custom-7 ]
	[ "$(py 'sorted(set(g.get("newTemplate", "").split("/")[-1] for g in o["spec"]["groups"]))' <<<"$output")" = \
		"[\"\", \"$CPU-r7\", \"$GPU-r7\"]" ]
	[ "$(reqs | grep -c '^POST')" = 0 ]
}

@test "mutate copies the templates with the new image and kube-env, and re-points the groups" {
	run -0 ni mutate --run-id 7
	[ "$(grep -c 'action: mutated' <<<"$output")" = 4 ]
	[ "$(grep -c 'action: skipped' <<<"$output")" = 2 ]
	for z in us-central1-a us-central1-b; do
		[ "$(igm $z $CPU-grp)" = "$CPU-r7" ]
		[ "$(igm $z $GPU-grp)" = "$GPU-r7" ]
		[ "$(igm $z $A100-grp)" = "$A100" ]
	done
	tpl $CPU >"$BATS_TEST_TMPDIR/old.json"
	tpl $CPU-r7 >"$BATS_TEST_TMPDIR/new.json"
	python3 -I -S - "$BATS_TEST_TMPDIR/old.json" "$BATS_TEST_TMPDIR/new.json" <<-'PY'
	import json, sys
	old, new = (json.load(open(f))["properties"] for f in sys.argv[1:])
	assert new["disks"][0]["initializeParams"]["sourceImage"] == "projects/wlkit-test/global/images/wlkit-custom-7"
	for k in ("networkInterfaces", "serviceAccounts", "scheduling", "shieldedInstanceConfig", "machineType"):
	    assert new[k] == old[k], k
	labels = dict(old["labels"], **{"wlkit-nodeimage-run": "7", "wlkit-nodeimage-source": old and "gke-train-cpu-pool-ef940df7"})
	assert new["labels"] == labels, new["labels"]
	om = {i["key"]: i["value"] for i in old["metadata"]["items"]}
	nm = {i["key"]: i["value"] for i in new["metadata"]["items"]}
	assert set(om) == set(nm) and all(om[k] == nm[k] for k in om if k != "kube-env")
	lines = nm["kube-env"].splitlines()
	assert "KUBELET_ARGS: --v=2 --image-gc-high-threshold=95 --max-pods=64" in lines
	assert "KUBE_PROXY_TOKEN: wlkit-replacement-secret-5678" in lines
	assert 'WLKIT_CUSTOM_IMAGE: "true"' in lines
	assert "  --experimental-continuation" not in lines
	kept = [l for l in om["kube-env"].splitlines() if l.split(":")[0] not in ("KUBELET_ARGS", "KUBE_PROXY_TOKEN") and not l.startswith(" ")]
	assert kept == [l for l in lines if l.split(":")[0] in [k.split(":")[0] for k in kept]], (kept, lines)
	PY
}

@test "a second mutate changes nothing and makes no write" {
	run -0 ni mutate --run-id 7
	clear_reqs
	run -0 ni mutate --run-id 7
	[ "$(grep -c 'reason: already at run 7' <<<"$output")" = 4 ]
	run -0 reqs
	refute_output --partial POST
	refute_output --regexp '[A-Z]+ .*/r7 '
	[ "$(custom_templates)" = "$CPU-r7 $GPU-r7" ]
}

@test "rollback restores every group and deletes the custom templates" {
	run -0 ni mutate --run-id 7
	run -0 ni rollback
	[ "$(grep -c 'action: rolled-back' <<<"$output")" = 4 ]
	[ "$(grep -c 'action: deleted' <<<"$output")" = 2 ]
	for z in us-central1-a us-central1-b; do
		[ "$(igm $z $CPU-grp)" = "$CPU" ]
		[ "$(igm $z $GPU-grp)" = "$GPU" ]
	done
	[ -z "$(custom_templates)" ]
	run -0 ni mutate --run-id 7	# and a mutate after a rollback works again
	[ "$(igm us-central1-b $GPU-grp)" = "$GPU-r7" ]
}

@test "a mutate that dies between insert and setInstanceTemplate finishes on the next run without duplicates" {
	api POST "$WLKIT_GCP_FAKE/_wlkit/faults" '{"api": "compute", "method": "POST", "path": "setInstanceTemplate$", "action": "drop", "count": 0}' >/dev/null
	run -1 ni mutate --run-id 7
	assert_output --partial "cannot set the template of"
	[ "$(custom_templates)" = "$CPU-r7 $GPU-r7" ]
	[ "$(igm us-central1-a $CPU-grp)" = "$CPU" ]
	api DELETE "$WLKIT_GCP_FAKE/_wlkit/faults" >/dev/null
	clear_reqs
	run -0 ni mutate --run-id 7
	[ "$(grep -c 'action: mutated' <<<"$output")" = 4 ]
	[ "$(custom_templates)" = "$CPU-r7 $GPU-r7" ]
	[ "$(igm us-central1-b $CPU-grp)" = "$CPU-r7" ]
	[ "$(reqs | grep -c 'POST .*/global/instanceTemplates 409')" = 2 ]
}

@test "a mutate killed while its inserts run finishes on the next run" {
	use slow
	# every setInstanceTemplate is refused (503, retried), so the kill
	# lands after the inserts and before any group is re-pointed, however
	# slowly this loop sees the inserts on a loaded machine
	api POST "$WLKIT_GCP_FAKE/_wlkit/faults" '{"api": "compute", "method": "POST", "path": "setInstanceTemplate$", "action": "503", "count": 0}' >/dev/null
	ni mutate --run-id 7 >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 300); do
		[ "$(reqs | grep -c 'POST .*/global/instanceTemplates 200')" = 2 ] && break
		sleep 0.1
	done
	[ "$(reqs | grep -c 'POST .*/global/instanceTemplates 200')" = 2 ]
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" || true
	api DELETE "$WLKIT_GCP_FAKE/_wlkit/faults" >/dev/null
	[ "$(igm us-central1-a $CPU-grp)" = "$CPU" ]
	run -0 ni mutate --run-id 7
	[ "$(grep -c 'action: mutated' <<<"$output")" = 4 ]
	[ "$(custom_templates)" = "$CPU-r7 $GPU-r7" ]
}

@test "rollback after a crashed mutate is clean" {
	api POST "$WLKIT_GCP_FAKE/_wlkit/faults" '{"api": "compute", "method": "POST", "path": "/zones/us-central1-b/.*setInstanceTemplate$", "action": "drop", "count": 0}' >/dev/null
	run -1 ni mutate --run-id 7
	[ "$(igm us-central1-a $CPU-grp)" = "$CPU-r7" ]
	[ "$(igm us-central1-b $CPU-grp)" = "$CPU" ]
	api DELETE "$WLKIT_GCP_FAKE/_wlkit/faults" >/dev/null
	run -0 ni rollback
	[ "$(grep -c 'action: rolled-back' <<<"$output")" = 2 ]
	[ "$(grep -c 'action: deleted' <<<"$output")" = 2 ]
	[ "$(igm us-central1-a $CPU-grp)" = "$CPU" ]
	[ "$(igm us-central1-a $GPU-grp)" = "$GPU" ]
	[ -z "$(custom_templates)" ]
}

@test "rollback of one group keeps the template another group still uses" {
	run -0 ni mutate --run-id 7
	run -0 ni rollback --instance-groups $CPU-grp
	# both zones' groups share the name; the GPU pool is left alone
	[ "$(igm us-central1-a $CPU-grp)" = "$CPU" ]
	[ "$(igm us-central1-a $GPU-grp)" = "$GPU-r7" ]
	[ "$(custom_templates)" = "$GPU-r7" ]
	run -1 ni rollback --instance-groups nope-grp
	assert_output --partial "unknown instance group 'nope-grp'"
}

@test "regional templates and versions[] groups are mutated and rolled back in their scope" {
	ENVNAME=edge
	run -0 ni mutate --run-id 7
	[ "$(grep -c 'action: mutated' <<<"$output")" = 2 ]
	[ "$(api GET "$GCE/regions/us-central1/instanceGroupManagers/gke-edge-edge-pool-r1-grp" | py 'o["instanceTemplate"].split("projects/")[1]')" = \
		wlkit-test/regions/us-central1/instanceTemplates/gke-edge-edge-pool-r1-r7 ]
	[ "$(api GET "$GCE/regions/us-central1/instanceTemplates/gke-edge-edge-pool-r1-r7" | py 'o["properties"]["disks"][0]["initializeParams"]["sourceImage"]')" = \
		projects/wlkit-test/global/images/wlkit-custom-7 ]
	[ "$(igm us-central1-c gke-edge-edge-pool-v1-grp)" = gke-edge-edge-pool-v1-r7 ]
	run -0 ni rollback
	[ "$(grep -c 'action: deleted' <<<"$output")" = 2 ]
	[ "$(api GET "$GCE/regions/us-central1/instanceGroupManagers/gke-edge-edge-pool-r1-grp" | py 'o["instanceTemplate"].split("/")[-1]')" = gke-edge-edge-pool-r1 ]
	[ "$(api GET "$GCE/regions/us-central1/instanceTemplates" | py 'len(o["items"])')" = 1 ]
}

@test "rollback finds custom templates past the first page" {
	use paged
	run -0 ni mutate --run-id 7
	run -0 ni rollback
	[ "$(grep -c 'action: deleted' <<<"$output")" = 3 ]
	assert_output --partial "name: zz-left-over"
	[ "$(reqs | grep -c 'GET .*/global/instanceTemplates 200')" -ge 2 ]
	run -0 api GET "$GCE/global/instanceTemplates/zz-left-over"
	assert_output --partial notFound
}

@test "operations that come back from wait not DONE are waited for again" {
	use slow
	run -0 ni mutate --run-id 7
	[ "$(grep -c 'action: mutated' <<<"$output")" = 4 ]
	ops=$(reqs | grep -cE 'POST .*/(instanceTemplates|setInstanceTemplate) 200')
	waits=$(reqs | grep -cE 'POST .*/operations/.*/wait 200')
	[ "$ops" = 6 ]
	[ "$waits" -gt "$ops" ]
	[ "$(igm us-central1-b $GPU-grp)" = "$GPU-r7" ]
}

@test "a run id that is not last_run_id is refused before any request" {
	run -2 ni mutate --run-id 8
	assert_output --partial "run id 8 is not the last_run_id of 'vars/dev.json' (7)"
	[ -z "$(reqs)" ]
	run -2 ni mutate --run-id x7
	[ -z "$(reqs)" ]
}

@test "a piped plan is applied, and re-checked against the groups" {
	ni plan --run-id 7 >"$BATS_TEST_TMPDIR/plan.yaml"
	sed -i '/us-central1-b\/instanceGroupManagers\/'$GPU'-grp/,/newTemplate/s/action: mutate/action: skip\n    reason: left out/' "$BATS_TEST_TMPDIR/plan.yaml"
	run -0 ni mutate --run-id 7 -f - <"$BATS_TEST_TMPDIR/plan.yaml"
	[ "$(grep -c 'action: mutated' <<<"$output")" = 3 ]
	[ "$(igm us-central1-b $GPU-grp)" = "$GPU" ]
	[ "$(igm us-central1-a $GPU-grp)" = "$GPU-r7" ]
	sed 's/^  runId: 7/  runId: 6/' "$BATS_TEST_TMPDIR/plan.yaml" >"$BATS_TEST_TMPDIR/bad.yaml"
	run -1 ni mutate --run-id 7 -f "$BATS_TEST_TMPDIR/bad.yaml"
	assert_output --partial "the plan is for run 6, not 7"
}

@test "kube-env secrets never appear in output, errors or -v=9 logs" {
	{ ni plan --run-id 7 -v=9; ni mutate --run-id 7 -v=9; ni mutate --run-id 7 -v=9
	  ni rollback -v=9; ni mutate --run-id 7 --format json -v=9; } >"$BATS_TEST_TMPDIR/all" 2>&1
	grep -q 'wait' "$BATS_TEST_TMPDIR/all"	# the log was on
	grep -q 'Request Body' "$BATS_TEST_TMPDIR/all" || grep -q '<masked>' "$BATS_TEST_TMPDIR/all"
	run grep -c 'wlkit-fixture-secret\|wlkit-replacement-secret' "$BATS_TEST_TMPDIR/all"
	assert_output 0
}
