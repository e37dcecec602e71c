#!/usr/bin/env bats
# kubectl-wlrun --wait, wait and logs against the sandbox: workloads that
# the vkcmd nodes really run, their exit codes (0 completed, 125 failed, 124
# timed out), the scheduler's reason for a pod that fits nowhere, and Kueue
# holding a workload until quota frees.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" up "$BATS_FILE_TMPDIR/c" --nodes 2 >&3 2>&1
	export KUBECONFIG="$BATS_FILE_TMPDIR/c/kubeconfig"
}

teardown_file() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" down "$BATS_FILE_TMPDIR/c" >/dev/null 2>&1 || true
}

job_active() {
	[ "$(kubectl get job "$1" -o jsonpath='{.status.active}')" = 1 ]
}

@test "a JobSet of 2 slices x 2 nodes runs; --wait --logs shows the first pod and exits 0" {
	run -0 --separate-stderr kubectl-wlrun ms --image busybox --accelerator n2-standard-4-2 \
		--num-slices 2 --wait --logs -- sh -c 'echo rank=$NODE_RANK job=$JOB_INDEX'
	[ "$output" = "rank=0 job=0" ]
	[[ "$stderr" == *"ms: running "*"/4"* ]]
	[[ "$stderr" == *"ms: completed ("*"s)"* ]]
	# each of the four pods ran with its own indexes
	run -0 kubectl-wlrun logs ms --slice 1 --node 1
	[ "$output" = "rank=1 job=1" ]
	run -0 kubectl-wlrun logs ms --slice 0 --node 1
	[ "$output" = "rank=1 job=0" ]
	run -0 kubectl-wlrun logs ms
	[ "$output" = "rank=0 job=0" ]
	run -1 kubectl-wlrun logs ms --slice 2
	[[ "$output" == *"no pod of workload 'ms' at slice 2 node 0"* ]]
}

@test "wait on a finished workload exits 0 at once; logs prints its output" {
	run -0 kubectl-wlrun done1 --kind job --image busybox --wait -- sh -c 'echo finished once'
	SECONDS=0
	run -0 --separate-stderr kubectl-wlrun wait done1
	[[ "$stderr" == *"done1: completed"* ]]
	[ "$SECONDS" -le 3 ]
	run -0 kubectl-wlrun logs done1
	[ "$output" = "finished once" ]
}

@test "a failing command exits 125 with the exit code and the last log line" {
	run -125 --separate-stderr kubectl-wlrun bad --kind job --image busybox --wait \
		-- sh -c 'echo first line; echo the last words; exit 3'
	[[ "$stderr" == *"bad: failed"* ]]
	[[ "$stderr" == *"exited with code 3"* ]]
	[[ "$stderr" == *"the last words"* ]]
	run -125 kubectl-wlrun wait bad
	[[ "$output" == *"exited with code 3"* ]]
}

@test "a failing pod of a JobSet exits 125" {
	run -125 kubectl-wlrun badjs --image busybox --accelerator n2-standard-4-2 --wait \
		-- sh -c 'echo oops; exit 7'
	[[ "$output" == *"exited with code 7"* ]]
	[[ "$output" == *"oops"* ]]
}

@test "--timeout exits 124 and the workload keeps running" {
	run -124 kubectl-wlrun slow --kind job --image busybox --wait --timeout 2s -- sleep 60
	[[ "$output" == *"timed out after 2s"*"the workload keeps running"* ]]
	# it is still there and (once its pod started) running
	eventually 20 job_active slow
	run -124 kubectl-wlrun wait slow --timeout 1s
	kubectl delete job slow --wait=false >/dev/null
}

@test "an unschedulable accelerator is reported with the scheduler's reason" {
	run -124 kubectl-wlrun big --image busybox --accelerator h100-80gb-8 --wait --timeout 3s -- true
	[[ "$output" == *"pod 'big-"*"' cannot be scheduled: 0/2 nodes are available"* ]]
	[[ "$output" == *"node affinity/selector"* ]]
	run -0 kubectl get jobset big
}

@test "a queued workload waits for quota; the second is reported queued until the first ends" {
	kubectl apply --server-side -f - >/dev/null <<-'EOF'
	apiVersion: kueue.x-k8s.io/v1beta1
	kind: ResourceFlavor
	metadata:
	  name: default-flavor
	---
	apiVersion: kueue.x-k8s.io/v1beta1
	kind: ClusterQueue
	metadata:
	  name: small
	spec:
	  namespaceSelector: {}
	  resourceGroups:
	  - coveredResources: ["cpu", "memory"]
	    flavors:
	    - name: default-flavor
	      resources:
	      - name: cpu
	        nominalQuota: "1"
	      - name: memory
	        nominalQuota: 4Gi
	---
	apiVersion: kueue.x-k8s.io/v1beta1
	kind: LocalQueue
	metadata:
	  name: lq
	  namespace: default
	spec:
	  clusterQueue: small
	EOF
	run -0 kubectl-wlrun first --kind job --image busybox --queue lq --cpu 800m -- sh -c 'sleep 3'
	run --separate-stderr kubectl-wlrun second --kind job --image busybox --queue lq \
		--cpu 800m --wait --logs -- sh -c 'echo second ran'
	[ "$status" -eq 0 ] || { echo "exit $status; stderr: $stderr" >&2; false; }
	[ "$output" = "second ran" ]
	[[ "$stderr" == *"second: queued: "*"insufficient unused quota for cpu"* ]]
	[[ "$stderr" == *"second: admitted by ClusterQueue 'small'"* ]]
	[[ "$stderr" == *"second: completed"* ]]
	# the first had finished before the second was admitted
	run -0 kubectl get job first -o jsonpath='{.status.succeeded}'
	[ "$output" = 1 ]
}

@test "a Pod workload is waited for; an unknown name is an error" {
	run -0 --separate-stderr kubectl-wlrun onepod --kind pod --image busybox --wait --logs \
		-- sh -c 'echo from a pod'
	[ "$output" = "from a pod" ]
	run -1 kubectl-wlrun wait nosuch
	[[ "$output" == *'workload "nosuch" not found'* ]]
}

@test "--wait refuses --dry-run and --logs needs --wait" {
	run -2 kubectl-wlrun x --image i --wait --dry-run=client
	[[ "$output" == *"--wait cannot be used with --dry-run"* ]]
	run -2 kubectl-wlrun x --image i --logs
	[[ "$output" == *"--timeout and --logs need --wait"* ]]
}

@test "an interrupt stops the waiting, not the workload" {
	run -0 kubectl-wlrun intr --kind job --image busybox -- sleep 60
	kubectl-wlrun wait intr 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$! rc=0
	sleep 1.5
	kill -INT "$pid"
	wait "$pid" || rc=$?
	[ "$rc" = 130 ]
	grep -q "stopped waiting; the workload keeps running" "$BATS_TEST_TMPDIR/err"
	run -0 kubectl get job intr -o jsonpath='{.status.active}'
	[ "$output" = 1 ]
	kubectl delete job intr --wait=false >/dev/null
}
