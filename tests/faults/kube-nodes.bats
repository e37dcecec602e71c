#!/usr/bin/env bats
# The fault campaign against the kube fake, the programs that run pods:
# kubectl-vkcmd, the node agent (its pod watch cut, or answered 410, while
# pods arrive: each pod must run exactly once and report its status), and
# kubectl-vastrun run / monitor (each Job created once under 429, 5xx and
# lost answers; monitor's counts right through cut watches and 410s), with
# the S3 fake as the campaign's store.

bats_require_minimum_version 1.5.0
load lib
load kube-lib

FIX="$WLKIT_ROOT/tests/fixtures/vastrun"
NS=vast
NODE=wlkit-node-1

setup_file() {
	kube_up 1
	"$WLKIT_ROOT/tests/fakes/s3/s3" up "$BATS_FILE_TMPDIR/s3" >&3 2>&1
	printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' "$NS" nodes |
		kubectl create -f - >/dev/null
	(. "$BATS_FILE_TMPDIR/s3/env" &&
		kubectl-vastrun setup minikube -n "$NS" --store external \
			--s3-endpoint "$S3_ENDPOINT") >/dev/null 2>&1
}

teardown_file() {
	"$WLKIT_ROOT/tests/fakes/s3/s3" down "$BATS_FILE_TMPDIR/s3" >/dev/null 2>&1 || true
	kube_down
}

setup() {
	. "$BATS_FILE_TMPDIR/s3/env"
}

teardown() {
	unfault || true
}

# pods PREFIX N: N pods PREFIX-1..N for the node, each appending its name
# to $BATS_TEST_TMPDIR/runs, in one request stream.
pods() {
	local i
	for i in $(seq "$2"); do
		cat <<-EOF
		---
		apiVersion: v1
		kind: Pod
		metadata: {name: $1-$i, namespace: nodes}
		spec:
		  nodeName: $NODE
		  restartPolicy: Never
		  automountServiceAccountToken: false
		  containers:
		  - {name: main, image: busybox, command: [sh, -c, 'echo $1-$i >> $BATS_TEST_TMPDIR/runs']}
		EOF
	done | kubectl create -f - >/dev/null
}

# succeeded PREFIX N: the N pods report phase Succeeded.
succeeded() {
	[ "$(kubectl get pods -n nodes -o jsonpath='{range .items[*]}{.metadata.name} {.status.phase}{"\n"}{end}' |
		grep -c "^$1-[0-9]* Succeeded$")" -eq "$2" ]
}

# ran_once PREFIX N: the runs file names each pod exactly once.
ran_once() {
	assert_equal "$(grep -c "^$1-" "$BATS_TEST_TMPDIR/runs")" "$2"
	assert_equal "$(grep "^$1-" "$BATS_TEST_TMPDIR/runs" | sort -u | wc -l)" "$2"
}

@test "cut watch | vkcmd node: its pod watch cut while pods arrive; each pod runs exactly once, Succeeded" {
	inject '{"method":"GET","path":"^/api/v1/pods$","query":"watch=","action":"cut-watch","afterEvents":1,"count":3}'
	admin POST cut-watches >/dev/null
	pods cut 4
	eventually 30 succeeded cut 4 || { kubectl get pods -n nodes -o wide; cat "$C/node-1.log"; false; }
	fault_fired "$(fired_count)"
	ran_once cut 4
	kubectl delete pods -n nodes --all --wait=false >/dev/null
}

@test "410 on watch | vkcmd node: an HTTP 410 and an ERROR 410 to its pod watch relist; each pod runs exactly once" {
	inject '[{"method":"GET","path":"^/api/v1/pods$","query":"watch=","action":"410","count":1},
		{"method":"GET","path":"^/api/v1/pods$","query":"watch=","action":"error-410","count":1}]'
	admin POST cut-watches >/dev/null
	pods gone 3
	eventually 30 succeeded gone 3 || { kubectl get pods -n nodes -o wide; cat "$C/node-1.log"; false; }
	fault_fired "$(fired_count)"
	[ "$(reqs "len([e for e in r if e.get('fault') in ('410', 'error-410')])")" -eq 2 ]
	ran_once gone 3
	kubectl delete pods -n nodes --all --wait=false >/dev/null
}

# campaign FAULTS: vastrun run of 2 Jobs (config corridor, 2 runs) under
# FAULTS; sets ID. Checks each Job was created once and the run record.
campaign() {
	cd "$FIX/campaign"
	inject "$1"
	run -0 --separate-stderr kubectl-vastrun run -n "$NS" --config corridor --runs 2 --tools-image wlkit-tools
	ID=$(sed -n 's/^  runId: //p' <<<"$output")
	[[ "$ID" =~ ^run- ]]
	fault_fired "$(fired_count)"
	assert_equal "$(count POST "/$NS/jobs\$" 201)" 2
	assert_equal "$(kubectl get jobs -n "$NS" -l "run-id=$ID" -o name | sort | tr '\n' ' ')" \
		"job.batch/$ID-corridor-1 job.batch/$ID-corridor-2 "
	assert_equal "$(kubectl get configmap vastrun-runs -n "$NS" -o jsonpath="{.data.$ID}" | grep -o '"total": *2')" '"total":2'
}

@test "429 Retry-After | vastrun run: the Jobs wait it out; each created once" {
	campaign '{"method":"POST","path":"/vast/jobs$","action":"429","retryAfter":1,"count":2}'
}

@test "500/503 burst | vastrun run: each Job created once through a burst" {
	campaign '[{"method":"POST","path":"/vast/jobs$","action":"503","count":2},
		{"method":"POST","path":"/vast/jobs$","action":"500","count":1}]'
}

@test "dropped connection | vastrun run: Job creates whose answers are lost are not made twice" {
	campaign '[{"method":"POST","path":"/vast/jobs$","action":"drop-body","count":1},
		{"method":"POST","path":"/vast/jobs$","action":"drop","count":1}]'
	assert_equal "$(count POST "/$NS/jobs\$" 409)" 1
}

@test "cut watch | vastrun monitor: its Job watch cut twice; the counts still reach 2/2" {
	cd "$FIX/campaign"
	run -0 kubectl-vastrun run -n "$NS" --config corridor --runs 2 --tools-image wlkit-tools
	ID=$(sed -n 's/^  runId: //p' <<<"$output")
	inject '{"method":"GET","path":"/vast/jobs$","query":"watch=","action":"cut-watch","afterEvents":1,"count":2}'
	run -0 kubectl-vastrun monitor -n "$NS" --run-id "$ID" --watch
	fault_fired "$(fired_count)"
	assert_output --partial "$ID: 2/2 finished (succeeded 2, failed 0"
}

@test "410 on watch | vastrun monitor: HTTP 410 and ERROR 410 relist; the counts still reach 2/2" {
	cd "$FIX/campaign"
	run -0 kubectl-vastrun run -n "$NS" --config corridor --runs 2 --tools-image wlkit-tools
	ID=$(sed -n 's/^  runId: //p' <<<"$output")
	inject '[{"method":"GET","path":"/vast/jobs$","query":"watch=","action":"410","count":1},
		{"method":"GET","path":"/vast/jobs$","query":"watch=","action":"error-410","count":1}]'
	run -0 kubectl-vastrun monitor -n "$NS" --run-id "$ID" --watch
	fault_fired "$(fired_count)"
	assert_output --partial "$ID: 2/2 finished (succeeded 2, failed 0"
}
