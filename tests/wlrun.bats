#!/usr/bin/env bats
# kubectl-wlrun create: golden manifests for the accelerator types, the
# control plane's server-side dry run of each, workloads that the vkcmd
# nodes of the sandbox really run, the ImageBuild/pass-through stream, and
# bad input that exits 2 before anything is sent.

bats_require_minimum_version 1.5.0
load helpers

FIX="$WLKIT_ROOT/tests/fixtures/wlrun"

setup_file() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" up "$BATS_FILE_TMPDIR/c" --nodes 2 >&3 2>&1
	export KUBECONFIG="$BATS_FILE_TMPDIR/c/kubeconfig"
}

teardown_file() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" down "$BATS_FILE_TMPDIR/c" >/dev/null 2>&1 || true
}

# requests PATTERN: the requests of the fake's log whose path matches.
requests() {
	local c="$BATS_FILE_TMPDIR/c"
	curl -s --cacert "$c/ca.crt" -H "Authorization: Bearer $(cat "$c/token")" \
		"https://127.0.0.1:$(cat "$c/port")/_wlkit/requests" |
		python3 -c 'import json,re,sys
for r in json.load(sys.stdin)["requests"]:
    if re.search(sys.argv[1], r["path"]) and r["method"] != "GET":
        print(r["method"], r["path"])' "$1"
}

# field FILE PATH: a value of a JSON manifest (python expression on m).
field() {
	python3 -c 'import json,sys
m=json.load(open(sys.argv[1]))
print(json.dumps(eval(sys.argv[2])))' "$1" "$2"
}

@test "each accelerator type gives its golden manifest" {
	while read -r -u 4 f args; do
		eval "run -0 kubectl-wlrun --dry-run=client -o yaml $args"
		diff -u "$FIX/$f.yaml" <(printf '%s\n' "$output") || {
			echo "case $f differs"
			return 1
		}
	done 4<"$FIX/cases"
}

@test "the manifests carry the slice shape, resources and selectors of their type" {
	local j="$BATS_TEST_TMPDIR/m.json" pod='m["spec"]["replicatedJobs"][0]["template"]["spec"]'
	kubectl-wlrun v5e --image i --accelerator v5litepod-16 --dry-run=client -o json >"$j"
	[ "$(field "$j" "$pod[\"parallelism\"]")" = 4 ]
	[ "$(field "$j" "$pod[\"completions\"]")" = 4 ]
	[ "$(field "$j" "$pod[\"template\"][\"spec\"][\"containers\"][0][\"resources\"][\"limits\"][\"google.com/tpu\"]")" = '"4"' ]
	[ "$(field "$j" "$pod[\"template\"][\"spec\"][\"nodeSelector\"][\"cloud.google.com/gke-tpu-topology\"]")" = '"4x4"' ]
	[ "$(field "$j" "m[\"metadata\"][\"annotations\"][\"alpha.jobset.sigs.k8s.io/exclusive-topology\"]")" = '"cloud.google.com/gke-nodepool"' ]
	local t want
	for t in v4-8:2x2x1:1 v4-16:2x2x2:2 v4-32:2x2x4:4 v5p-64:2x4x4:8 v5p-128:4x4x4:16 v5p-256:4x4x8:32 \
		v5p-2048:8x8x16:256 v4-4096:8x16x16:512 v5litepod-8:2x4:2 v5litepod-256:16x16:64 v6e-1:1x1:1 v6e-4:2x2:1 \
		v6e-8:2x4:2 tpu7x-2:1x1x1:1 tpu7x-16:2x2x2:2 v5p-4x4x8:4x4x8:32; do
		kubectl-wlrun t --image i --accelerator "${t%%:*}" --dry-run=client -o json >"$j"
		want=${t#*:}
		[ "$(field "$j" "$pod[\"template\"][\"spec\"][\"nodeSelector\"][\"cloud.google.com/gke-tpu-topology\"]")" = "\"${want%:*}\"" ]
		[ "$(field "$j" "$pod[\"parallelism\"]")" = "${want#*:}" ]
	done
	kubectl-wlrun v6e --image i --accelerator v6e-256 --num-slices 3 --dry-run=client -o json >"$j"
	[ "$(field "$j" "$pod[\"parallelism\"]")" = 64 ]
	[ "$(field "$j" "m[\"spec\"][\"replicatedJobs\"][0][\"replicas\"]")" = 3 ]
	kubectl-wlrun h --image i --accelerator h100-80gb-8 --num-nodes 2 --dry-run=client -o json >"$j"
	[ "$(field "$j" "$pod[\"parallelism\"]")" = 2 ]
	[ "$(field "$j" "$pod[\"backoffLimit\"]")" = 0 ]
	[ "$(field "$j" "$pod[\"template\"][\"spec\"][\"containers\"][0][\"resources\"][\"limits\"][\"nvidia.com/gpu\"]")" = '"8"' ]
	[ "$(field "$j" "'hostNetwork' in $pod[\"template\"][\"spec\"]")" = false ]
	[ "$(field "$j" "'ttlSecondsAfterFinished' in m[\"spec\"]")" = false ]
	kubectl-wlrun c --image i --accelerator n2-standard-32-4 --dry-run=client -o json >"$j"
	[ "$(field "$j" "$pod[\"parallelism\"]")" = 4 ]
	[ "$(field "$j" "$pod[\"template\"][\"spec\"][\"containers\"][0][\"resources\"][\"requests\"]")" = '{"cpu": "500m", "memory": "512Mi"}' ]
	kubectl-wlrun r --image i --accelerator nvidia-tesla-a100 --gpus-per-node 2 --dry-run=client -o json >"$j"
	[ "$(field "$j" "$pod[\"template\"][\"spec\"][\"containers\"][0][\"resources\"][\"limits\"][\"nvidia.com/gpu\"]")" = '"2"' ]
	run -0 cat "$FIX"/*.yaml
	refute_output --partial "None"
	refute_output --regexp ': *$'
	refute_output --partial "serviceAccountName: \"\""
}

@test "the control plane's server-side dry run accepts every golden manifest and creates nothing" {
	while read -r -u 4 f args; do
		eval "run -0 --separate-stderr kubectl-wlrun --dry-run=server -o name $args"
		assert_output --regexp '^jobset\.jobset\.x-k8s\.io/'
	done 4<"$FIX/cases"
	run -0 kubectl get jobsets -o name
	assert_output ""
	run -0 requests '/jobsets/'
	assert_output --partial "PATCH /apis/jobset.x-k8s.io/v1alpha2/namespaces/default/jobsets/l4"
}

@test "a Job pinned to a vkcmd node runs to completion" {
	run -0 kubectl-wlrun hi --kind job --image busybox --node wlkit-node-1 -- sh -c 'echo hi rank=$NODE_RANK of $NNODES'
	assert_output "job.batch/hi serverside-applied"
	run -0 kubectl wait --for=condition=Complete job/hi --timeout=60s
	run -0 kubectl logs job/hi
	assert_output "hi rank=0 of 1"
	run -0 kubectl get job hi -o jsonpath='{.metadata.managedFields[0].manager}'
	assert_output "kubectl-wlrun"
}

@test "a JobSet of 2 slices x 2 nodes on a CPU type runs every pod with its rank" {
	run -0 kubectl-wlrun grid --image busybox --accelerator n2-standard-4-2 --num-slices 2 --num-nodes 2 \
		--command 'echo job=$JOB_INDEX rank=$NODE_RANK nnodes=$NNODES'
	assert_output "jobset.jobset.x-k8s.io/grid serverside-applied"
	run -0 kubectl wait --for=condition=Completed jobset/grid --timeout=60s
	run -0 kubectl get pods -l jobset.sigs.k8s.io/jobset-name=grid -o name
	[ "${#lines[@]}" -eq 4 ]
	local p logs=""
	for p in "${lines[@]}"; do
		logs+="$(kubectl logs "$p")"$'\n'
	done
	run -0 sort <<<"$logs"
	assert_output --partial "job=0 rank=0 nnodes=2"
	assert_output --partial "job=0 rank=1 nnodes=2"
	assert_output --partial "job=1 rank=0 nnodes=2"
	assert_output --partial "job=1 rank=1 nnodes=2"
}

@test "an ImageBuild on stdin sets the image and a foreign object passes through" {
	local in="$BATS_TEST_TMPDIR/in.yaml"
	cat >"$in" <<-'EOF2'
	apiVersion: v1
	kind: ConfigMap
	metadata:
	  name: keep-me
	data:
	  a: "1"
	---
	apiVersion: wlkit.dev/v1alpha1
	kind: ImageBuild
	metadata:
	  name: app
	status:
	  image: gcr.io/p/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
	EOF2
	run -0 --separate-stderr kubectl-wlrun built --dry-run=client -o yaml -- true <"$in"
	assert_line --index 0 "apiVersion: v1"
	assert_line "  name: keep-me"
	assert_line "---"
	assert_output --partial "image: gcr.io/p/app@sha256:0123456789abcdef"
	refute_output --partial "ImageBuild"
	run -0 --separate-stderr kubectl-wlrun built2 --image busybox:1 -o name --dry-run=server -- true <"$in"
	assert_output $'configmap/keep-me\nimagebuild.wlkit.dev/app\njobset.jobset.x-k8s.io/built2'
}

@test "--output-manifest, --env-file and --ttl-seconds-after-finished" {
	local envf="$BATS_TEST_TMPDIR/env" m="$BATS_TEST_TMPDIR/out.yaml"
	printf '# settings\nA=1\n\nLOCAL_THING\nB = two words\n' >"$envf"
	LOCAL_THING=from-here run -0 kubectl-wlrun e --image i --env-file "$envf" --env A=3 \
		--ttl-seconds-after-finished 60 --output-manifest "$m" --dry-run=client
	assert_output "jobset.jobset.x-k8s.io/e serverside-applied (dry run)"
	run -0 grep -A1 -E 'name: (A|B|LOCAL_THING)$' "$m"
	assert_output --partial $'name: A\n                value: "3"'
	assert_output --partial $'name: LOCAL_THING\n                value: from-here'
	assert_output --partial $'name: B\n                value: two words'
	run -0 grep -c "ttlSecondsAfterFinished: 60" "$m"
}

@test "bad input is one error line, exit 2, and nothing is sent" {
	local envf="$BATS_TEST_TMPDIR/bad.env"
	printf 'A=1\n# c\n9X=2\n' >"$envf"
	run -2 kubectl-wlrun bad1 --image i --accelerator v5p-9
	assert_line --index 0 "error: unknown accelerator type 'v5p-9'; did you mean 'v5p-8', 'v5p-16' or 'v5p-32'?"
	run -2 kubectl-wlrun bad2 --image i --accelerator h100-80g-8
	assert_line --index 0 --partial "did you mean 'h100-80gb-8'"
	run -2 kubectl-wlrun bad2 --image i --accelerator h100
	assert_line --index 0 --regexp "did you mean 'h100-80gb-8', 'h100-mega-80gb-8'"
	run -2 kubectl-wlrun a-name-that-is-much-longer-than-forty-chars --image i
	assert_line --index 0 "error: invalid name 'a-name-that-is-much-longer-than-forty-chars': must be no more than 40 characters"
	run -2 kubectl-wlrun 1bad --image i
	assert_line --index 0 --partial "invalid name '1bad'"
	run -2 kubectl-wlrun bad3 --image i --env-file "$envf"
	assert_line --index 0 "error: cannot parse --env-file '$envf' line 3: '9X' is not a valid variable name"
	run -2 kubectl-wlrun bad4
	assert_line --index 0 "error: an image is required: give --image or an ImageBuild on stdin"
	run -2 kubectl-wlrun bad5 --image i --command 'echo a' -- echo b
	assert_line --index 0 "error: --command and a command after '--' exclude each other"
	run -2 kubectl-wlrun bad6 --image i --accelerator v5p-8 --num-nodes 2
	assert_line --index 0 --partial "--num-nodes does not go with TPU type 'v5p-8'"
	run -2 kubectl-wlrun bad7 --image i --accelerator l4-1 --gpus-per-node 2
	assert_line --index 0 --partial "--gpus-per-node goes with a raw GKE accelerator label"
	run -2 kubectl-wlrun bad7b --image i --accelerator n2-standard-32-4 --num-nodes 2
	assert_line --index 0 "error: --num-nodes 2 contradicts CPU type 'n2-standard-32-4' (4 VMs per slice)"
	run -2 kubectl-wlrun bad8 --image i --kind pod --num-nodes 2
	run -2 kubectl-wlrun bad9 --image i --restart-on-exit-codes 0,300
	run -2 kubectl-wlrun bad10 --image i --toleration key:Sometimes
	run -2 kubectl-wlrun bad11 --image i --priority urgent
	run -0 requests '/bad[0-9]|a-name-that'
	assert_output ""
}

@test "a Pod and a Job carry the shapes of their kind" {
	run -0 kubectl-wlrun p --kind pod --image i --dry-run=client -o yaml -- true
	assert_line --index 0 "apiVersion: v1"
	assert_line --index 1 "kind: Pod"
	refute_output --partial "JOBSET_NAME"
	run -0 kubectl-wlrun j --kind job --image i --max-restarts 2 --dry-run=server -o yaml -- true
	assert_line "kind: Job"
	assert_line "  backoffLimit: 2"
	assert_line "  completionMode: Indexed"
	refute_output --partial "JOBSET_NAME"
}

@test "accelerator types complete from the table, flags and kinds too" {
	run -0 kubectl-wlrun __complete x --accelerator v5li
	assert_line "v5litepod-16"
	assert_line ":4"
	refute_line "l4-1"
	run -0 kubectl-wlrun __complete x --accelerator=h1
	assert_output $'--accelerator=h100-80gb-8\n--accelerator=h100-mega-80gb-8\n:4'
	run -0 kubectl-wlrun __complete x --kind p
	assert_output $'pod\n:4'
	run -0 kubectl-wlrun __complete x --num-sl
	assert_line --partial "--num-slices"
}

@test "a name is required and only one" {
	run -2 kubectl-wlrun --image i
	run -2 kubectl-wlrun a b --image i
	run -0 kubectl-wlrun create named --image i --dry-run=client -o name
	assert_output "jobset.jobset.x-k8s.io/named"
}

@test "a Pod runs on its node; a change the server refuses is its error, exit 1" {
	run -0 kubectl-wlrun solo --kind pod --image busybox --node wlkit-node-2 -- echo pod-ran
	assert_output "pod/solo serverside-applied"
	run -0 kubectl wait --for=jsonpath='{.status.phase}'=Succeeded pod/solo --timeout=60s
	run -0 kubectl logs solo
	assert_output "pod-ran"
	run -1 kubectl-wlrun solo --kind pod --image busybox --node wlkit-node-2 -- echo changed
	assert_output --partial 'Error from server (Invalid): Pod "solo" is invalid'
}
