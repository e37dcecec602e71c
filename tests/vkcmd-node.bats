#!/usr/bin/env bats
# kubectl-vkcmd's node life and runtimes, each test with agents of its own:
# the apptainer/shifter/docker command lines (stub executables that record
# their argv), pipe mode through pipe-runner, walltime, SIGTERM, and an
# agent killed and restarted (the node goes NotReady when its Lease
# expires; its pods are reconciled).

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" up "$BATS_FILE_TMPDIR/c" >&3 2>&1
	export KUBECONFIG="$BATS_FILE_TMPDIR/c/kubeconfig"
	local s="$BATS_FILE_TMPDIR/stubs" r
	mkdir -p "$s"
	for r in apptainer shifter docker; do
		printf '#!/bin/sh\nprintf "%%s\\n" "$@" >"$STUB_OUT/%s.argv"\necho "%s stub ran"\n' \
			"$r" "$r" >"$s/$r"
		chmod +x "$s/$r"
	done
	kubectl create configmap stubcm --from-literal=a=1 >/dev/null
}

teardown_file() {
	local f
	for f in "$BATS_FILE_TMPDIR"/*.pid; do
		[ -r "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	"$WLKIT_ROOT/tests/fakes/kube/cluster" down "$BATS_FILE_TMPDIR/c" >/dev/null 2>&1 || true
}

is() {
	[ "$(kubectl get "$1" -o jsonpath="$2" 2>&1)" = "$3" ]
}

# agent NODE [FLAGS...]: starts a node agent in the background; waits until
# the Node is registered.
agent() {
	local n=$1 i
	shift
	kubectl-vkcmd --node-name "$n" --listen 127.0.0.1:0 --no-taint \
		--work-dir "$BATS_FILE_TMPDIR/$n" "$@" </dev/null \
		>>"$BATS_FILE_TMPDIR/$n.log" 2>&1 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/$n.pid"
	for i in $(seq 100); do
		grep -q registered "$BATS_FILE_TMPDIR/$n.log" && return 0
		sleep 0.1
	done
	cat "$BATS_FILE_TMPDIR/$n.log"
	return 1
}

agent_pid() {
	cat "$BATS_FILE_TMPDIR/$1.pid"
}

# pinned NAME NODE SCRIPT [EXTRA-SPEC-YAML]: a pod bound to NODE running sh -c SCRIPT.
pinned() {
	kubectl apply -f - <<-EOF
	apiVersion: v1
	kind: Pod
	metadata: {name: $1}
	spec:
	  nodeName: $2
	  restartPolicy: Never
	  automountServiceAccountToken: false
	  containers:
	  - {name: main, image: busybox, command: [sh, -c, '$3']}
	EOF
}

# runtime_pod NAME NODE: a pod with env, workingDir, a volume and args.
runtime_pod() {
	kubectl apply -f - <<-EOF
	apiVersion: v1
	kind: Pod
	metadata: {name: $1}
	spec:
	  nodeName: $2
	  restartPolicy: Never
	  automountServiceAccountToken: false
	  volumes: [{name: cfg, configMap: {name: stubcm}}]
	  containers:
	  - name: main
	    image: example.org/tools:1.2
	    command: [/bin/echo]
	    args: ['\$(GREETING)', world]
	    workingDir: /data
	    env: [{name: GREETING, value: hello}]
	    volumeMounts: [{name: cfg, mountPath: /cfg, readOnly: true}]
	EOF
}

stub_test() {	# stub_test RUNTIME
	export STUB_OUT="$BATS_TEST_TMPDIR"
	PATH="$BATS_FILE_TMPDIR/stubs:$PATH" agent "rt-$1" --runtime "$1"
	run -0 runtime_pod "rt-$1" "rt-$1"
	eventually 15 is "pod/rt-$1" '{.status.phase}' Succeeded
	run -0 kubectl logs "rt-$1"
	assert_output "$1 stub ran"
	run -0 cat "$STUB_OUT/$1.argv"
}

@test "apptainer runs 'apptainer exec' with the pod's env, binds and workdir" {
	stub_test apptainer
	assert_line --index 0 exec
	assert_line "GREETING=hello"
	assert_line --regexp "^/.*/volumes/cfg:/cfg:ro$"
	assert_line --regexp "^/.*:/cfg:ro$"
	assert_output --partial "$(printf -- '--pwd\n/data\ndocker://example.org/tools:1.2\n/bin/echo\nhello\nworld')"
}

@test "shifter runs 'shifter --image=...' with its --env, --volume and --workdir flags" {
	stub_test shifter
	assert_line --index 0 "--image=docker:example.org/tools:1.2"
	assert_line "--env=GREETING=hello"
	assert_line --regexp "^--volume=/.*:/cfg:ro$"
	assert_output --partial "$(printf -- '--workdir=/data\n--\n/bin/echo\nhello\nworld')"
}

@test "docker runs 'docker run --rm' with -e, -v, -w and the command as entrypoint" {
	stub_test docker
	assert_output --partial "$(printf 'run\n--rm\n--name\nvkcmd-rt-docker-main\n')"
	assert_line "GREETING=hello"
	assert_line --regexp "^/.*:/cfg:ro$"
	assert_output --partial "$(printf -- '-w\n/data\n--entrypoint\n/bin/echo\nexample.org/tools:1.2\nhello\nworld')"
}

@test "pipe-exec runs a command through pipe-runner with its output and exit code" {
	mkdir -m 700 "$BATS_TEST_TMPDIR/hostpipe"
	local fifo="$BATS_TEST_TMPDIR/hostpipe/vkcmd"
	kubectl-vkcmd pipe-runner "$fifo" 3>&- 2>"$BATS_TEST_TMPDIR/runner.log" &
	local runner=$!
	eventually 5 test -p "$fifo"
	run -5 --separate-stderr kubectl-vkcmd pipe-exec "$fifo" -- sh -c 'echo out; echo err >&2; exit 5'
	assert_output "out"
	[ "$stderr" = "err" ]
	run -127 --separate-stderr kubectl-vkcmd pipe-exec "$fifo" -- /nonexistent/cmd
	[[ "$stderr" == *"cannot run '/nonexistent/cmd'"* ]]
	kill "$runner"
	run -1 kubectl-vkcmd pipe-exec "$fifo" -- true
	assert_output --partial "no pipe-runner is reading"
}

@test "pipe mode: the agent's containers run on the runner's side, exit codes come back" {
	mkdir -m 700 "$BATS_FILE_TMPDIR/hostpipe"
	local fifo="$BATS_FILE_TMPDIR/hostpipe/vkcmd"
	kubectl-vkcmd pipe-runner "$fifo" 3>&- 2>"$BATS_FILE_TMPDIR/runner.log" &
	echo $! >"$BATS_FILE_TMPDIR/runner.pid"
	eventually 5 test -p "$fifo"
	agent piped --pipe "$fifo"
	run -0 pinned viapipe piped 'tr "\0" " " </proc/$PPID/cmdline; echo; echo via pipe; exit 4'
	eventually 15 is pod/viapipe '{.status.phase}' Failed
	run -0 kubectl get pod viapipe -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode}'
	assert_output 4
	run -0 kubectl logs viapipe
	assert_line --regexp "kubectl-vkcmd pipe-runner .*/hostpipe/vkcmd"
	assert_line "via pipe"
}

@test "at its walltime the node goes NotReady and its running pods end Failed with reason Walltime" {
	agent wall --walltime 3s
	run -0 pinned longjob wall 'sleep 1000'
	eventually 10 is pod/longjob '{.status.phase}' Running
	eventually 10 is pod/longjob '{.status.reason}' Walltime
	run -0 kubectl get pod longjob -o jsonpath='{.status.phase} {.status.containerStatuses[0].state.terminated.exitCode}'
	assert_output "Failed 143"
	run -0 kubectl get node wall -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].reason}'
	assert_output "False Walltime"
	wait "$(agent_pid wall)"
}

@test "SIGTERM: the node goes NotReady, its pods are stopped and reported, the agent exits 0" {
	agent termed
	run -0 pinned termpod termed 'sleep 1004'
	eventually 10 is pod/termpod '{.status.phase}' Running
	kill -TERM "$(agent_pid termed)"
	wait "$(agent_pid termed)"
	run -0 kubectl get pod termpod -o jsonpath='{.status.phase} {.status.reason}'
	assert_output "Failed Terminated"
	run -1 pgrep -f 'sleep 1004'
	run -0 kubectl get node termed
	assert_output --partial NotReady
}

@test "an agent killed with SIGKILL: the node goes NotReady when its Lease expires; restarted, it fails the lost pods" {
	WLKIT_VKCMD_LEASE_SECONDS=2 agent crashy
	run -0 pinned lost crashy 'sleep 1005'
	eventually 10 is pod/lost '{.status.phase}' Running
	kill -KILL "$(agent_pid crashy)"
	eventually 10 is node/crashy '{.status.conditions[?(@.type=="Ready")].status}' Unknown
	run -0 kubectl get node crashy
	assert_output --partial NotReady
	WLKIT_VKCMD_LEASE_SECONDS=2 agent crashy
	eventually 10 is pod/lost '{.status.phase}' Failed
	run -0 kubectl get pod lost -o jsonpath='{.status.reason} {.status.containerStatuses[0].state.terminated.reason}'
	assert_output "NodeAgentRestarted ContainerStatusUnknown"
	eventually 5 bash -c "! pgrep -f 'sleep 100[5]'"
	eventually 5 is node/crashy '{.status.conditions[?(@.type=="Ready")].status}' True
	kill -TERM "$(agent_pid crashy)"
}

@test "the node is named after \$JOBNAME when --node-name is not given, else the host name" {
	JOBNAME=vk-job42 kubectl-vkcmd --listen 127.0.0.1:0 --work-dir "$BATS_FILE_TMPDIR/jobname" \
		</dev/null >"$BATS_FILE_TMPDIR/jobname.log" 2>&1 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/jobname.pid"
	eventually 10 kubectl get node vk-job42
	run -0 kubectl get node vk-job42 -o jsonpath='{.metadata.labels.kubernetes\.io/hostname} {.spec.taints[0].key}'
	assert_output "vk-job42 virtual-kubelet.io/provider"
	kill -TERM "$(cat "$BATS_FILE_TMPDIR/jobname.pid")"
	eventually 10 is node/vk-job42 '{.status.conditions[?(@.type=="Ready")].status}' False
	# without JOBNAME: the host name, lower-cased as a node name must be
	host=$(hostname | tr 'A-Z' 'a-z')
	env -u JOBNAME kubectl-vkcmd --listen 127.0.0.1:0 --work-dir "$BATS_FILE_TMPDIR/hostname" \
		</dev/null >"$BATS_FILE_TMPDIR/hostname.log" 2>&1 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/hostname.pid"
	eventually 10 kubectl get node "$host"
	kill -TERM "$(cat "$BATS_FILE_TMPDIR/hostname.pid")"
	eventually 10 is "node/$host" '{.status.conditions[?(@.type=="Ready")].status}' False
}

@test "without bubblewrap a pod that mounts volumes fails with MountsUnsupported; its work dir defaults under XDG_STATE_HOME" {
	local bin="$BATS_FILE_TMPDIR/nobwrap-bin" c
	mkdir -p "$bin"
	for c in sh cat; do ln -sf "$(command -v $c)" "$bin/$c"; done
	ln -sf "$WLKIT_BIN/kubectl-vkcmd" "$bin/kubectl-vkcmd"
	XDG_STATE_HOME="$BATS_FILE_TMPDIR/state" PATH="$bin" kubectl-vkcmd --node-name nobwrap \
		--listen 127.0.0.1:0 --no-taint </dev/null >"$BATS_FILE_TMPDIR/nobwrap.log" 2>&1 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/nobwrap.pid"
	eventually 10 kubectl get node nobwrap
	[ -d "$BATS_FILE_TMPDIR/state/wlkit/vkcmd/nobwrap" ]
	run -0 stat -c %a "$BATS_FILE_TMPDIR/state/wlkit/vkcmd/nobwrap"
	assert_output 700
	run -0 kubectl apply -f - <<-'EOF'
	apiVersion: v1
	kind: Pod
	metadata: {name: needs-mounts}
	spec:
	  nodeName: nobwrap
	  restartPolicy: Never
	  automountServiceAccountToken: false
	  volumes: [{name: scratch, emptyDir: {}}]
	  containers:
	  - {name: main, image: busybox, command: [sh, -c, 'echo ran > /scratch/x'], volumeMounts: [{name: scratch, mountPath: /scratch}]}
	EOF
	eventually 10 is pod/needs-mounts '{.status.phase}' Failed
	run -0 kubectl get pod needs-mounts -o jsonpath='{.status.reason}: {.status.message}'
	assert_output --partial "MountsUnsupported: the pod mounts volumes and bubblewrap (bwrap) is not usable"
	[ ! -e /scratch/x ]
	kill -TERM "$(cat "$BATS_FILE_TMPDIR/nobwrap.pid")"
}
