#!/usr/bin/env bats
# Valgrind memcheck of one real flow per program (issue 9): every program
# runs its main flow under memcheck against the fakes, and the test asserts
# both the flow's effect and a clean report: no invalid read or write, no
# use of uninitialised values, no definitely, indirectly or possibly lost
# block (memcheck exits 99 on any of them). Still-reachable blocks are
# allowed: about 45 KB of the dynamic loader's records of libcurl and
# libcrypto, which wlkit dlopen()s on first use and keeps to the exit (no
# dlclose: OpenSSL's exit handlers live in them). Forked children are not
# followed: a pod's process or nvidia-smi is not ours. One kube fake (with one plain node
# agent), one S3 and one Google fake serve the whole file.

bats_require_minimum_version 1.5.0
load helpers

FIX="$WLKIT_ROOT/tests/fixtures"
CLOUD="$WLKIT_ROOT/tests/fakes/gcp/cloud"
NS=vast

setup_file() {
	local d=$BATS_FILE_TMPDIR f
	# memcheck is part of the test set-up (Makefile DEB_TEST): never skip
	command -v valgrind >/dev/null || { echo "valgrind is not installed (make deps)" >&3; return 1; }
	"$WLKIT_ROOT/tests/fakes/kube/cluster" up "$d/c" --nodes 1 >"$d/c.out" 2>&1 &
	"$WLKIT_ROOT/tests/fakes/s3/s3" up "$d/s3" >"$d/s3.out" 2>&1 &
	# one Google fake: the nodeimage seed serves wlbuild's project too
	"$CLOUD" up "$d/gcp" --seed "$FIX/nodeimage-mutate/seed.yaml" >"$d/gcp.out" 2>&1 &
	wait
	for f in c/kubeconfig s3/env gcp/env; do
		[ -s "$d/$f" ] || { cat "$d"/*.out >&3; return 1; }
	done
	export KUBECONFIG="$d/c/kubeconfig"
	# the node agent under memcheck starts now (it takes a while) and is
	# tested last; it keeps its default taint, so only pods bound to it by
	# name run there. NAME.pid: memcheck's pid; NAME.rc: its exit status.
	("${VG[@]}" --log-file="$d/vkcmd.vg" kubectl-vkcmd --node-name vg-node \
		--listen 127.0.0.1:0 --work-dir "$d/vg-node" </dev/null >"$d/vkcmd.log" 2>&1 &
	 echo $! >"$d/vkcmd.pid"
	 wait $!
	 echo $? >"$d/vkcmd.rc") >/dev/null 2>&1 3>&- &
	kubectl create namespace "$NS" >/dev/null
	(. "$d/s3/env" && kubectl-vastrun setup minikube -n "$NS" --store external \
		--s3-endpoint "$S3_ENDPOINT") >"$d/setup.out" 2>&1 || { cat "$d/setup.out" >&3; return 1; }
}

teardown_file() {
	local d=$BATS_FILE_TMPDIR
	[ -r "$d/vkcmd.pid" ] && kill -KILL "$(cat "$d/vkcmd.pid")" 2>/dev/null
	"$CLOUD" down "$d/gcp" >/dev/null 2>&1 || true
	"$WLKIT_ROOT/tests/fakes/s3/s3" down "$d/s3" >/dev/null 2>&1 || true
	"$WLKIT_ROOT/tests/fakes/kube/cluster" down "$d/c" >/dev/null 2>&1 || true
}

VG=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
	--show-leak-kinds=definite,indirect,possible
	--errors-for-leak-kinds=definite,indirect,possible
	--child-silent-after-fork=yes --num-callers=30)

# vg NAME PROGRAM ARGS...: PROGRAM under memcheck (a wlkit binary itself,
# not a wrapper: exec'ed programs are not followed), its report in
# $BATS_FILE_TMPDIR/NAME.vg; exits 99 on any error or leak, else with
# PROGRAM's status.
vg() {
	local name=$1
	shift
	"${VG[@]}" --log-file="$BATS_FILE_TMPDIR/$name.vg" "$@"
}

# clean NAME: NAME's report is complete and has no error and no leak; shows
# the report when not.
clean() {
	local r="$BATS_FILE_TMPDIR/$1.vg"
	if ! grep -q 'ERROR SUMMARY: 0 errors from 0 contexts' "$r" ||
		grep -Eq '(definitely|indirectly|possibly) lost: [1-9]' "$r"; then
		cat "$r"
		return 1
	fi
}

is() {	# is RESOURCE JSONPATH VALUE [kubectl flags]
	[ "$(kubectl get "$1" -o jsonpath="$2" "${@:4}" 2>&1)" = "$3" ]
}

@test "kubectl-wlrun: create, wait and logs of a Job are clean under memcheck" {
	run -0 --separate-stderr vg wlrun kubectl-wlrun vgjob --kind job --image busybox \
		--wait --logs -- sh -c 'echo hello from memcheck'
	assert_output "hello from memcheck"
	[[ "$stderr" == *"vgjob: completed ("* ]]
	clean wlrun
	is job/vgjob '{.status.succeeded}' 1
}

@test "kubectl-gpusnap: a local snapshot and a diff are clean under memcheck" {
	local g="$FIX/gpusnap" d=$BATS_TEST_TMPDIR
	# the nvidia-smi and systemctl stubs answer from fixtures
	export PATH="$g/bin:$g/bin-systemd:$PATH" WLKIT_SMI_FIXTURE="$g/smi/h100x8-mig.xml"
	run -0 vg gpusnap kubectl-gpusnap snapshot --collectors os,gpu,systemd -o "$d/a.yaml"
	clean gpusnap
	grep -q '^kind: Snapshot$' "$d/a.yaml"
	grep -q '^      driver: 570.133.20$' "$d/a.yaml"
	grep -q 'subtype: sysctl' "$d/a.yaml"
	WLKIT_SMI_FIXTURE="$g/smi/mixed-r470.xml" kubectl-gpusnap snapshot --collectors os,gpu,systemd -o "$d/b.yaml"
	run -1 vg gpusnap-diff kubectl-gpusnap diff "$d/a.yaml" "$d/b.yaml"
	assert_line "GPU/smi driver: 570.133.20 -> 470.256.02"
	assert_line "GPU/smi gpu-count: 8 -> 2"
	clean gpusnap-diff
}

@test "kubectl-wlbuild: a Cloud Build of a context is clean under memcheck" {
	local ctx=$BATS_TEST_TMPDIR/ctx id
	mkdir -p "$ctx/sub" "$ctx/logs"
	printf 'FROM busybox\nCOPY . /app\nRUN echo built\n' >"$ctx/Dockerfile"
	echo one >"$ctx/sub/a.txt"
	echo noise >"$ctx/logs/x.log"
	printf 'logs/\n' >"$ctx/.gcloudignore"
	. "$BATS_FILE_TMPDIR/gcp/env"
	run -0 --separate-stderr vg wlbuild kubectl-wlbuild "$ctx" --image app
	clean wlbuild
	assert_line "kind: ImageBuild"
	assert_line "  state: SUCCESS"
	assert_line --regexp '^  image: gcr\.io/wlkit-test/app@sha256:[0-9a-f]{64}$'
	id=$(sed -n 's/^  buildId: //p' <<<"$output")
	run -0 curl -sS -H "Authorization: Bearer $(cat "$BATS_FILE_TMPDIR/gcp/token")" \
		"${CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD}v1/projects/wlkit-test/locations/global/builds/$id"
	[[ "$output" == *'"status": "SUCCESS"'* ]]
}

@test "kubectl-vastrun: run and download of a campaign are clean under memcheck" {
	local id r=$BATS_TEST_TMPDIR/results
	. "$BATS_FILE_TMPDIR/s3/env"
	cd "$FIX/vastrun/campaign"
	run -0 --separate-stderr vg vastrun-run kubectl-vastrun run -n "$NS" \
		--tools-image wlkit-tools --config corridor --runs 1
	clean vastrun-run
	assert_line "kind: Campaign"
	id=$(sed -n 's/^  runId: //p' <<<"$output")
	eventually 60 is "job/$id-corridor-1" '{.status.succeeded}' 1 -n "$NS"
	run -0 vg vastrun-download kubectl-vastrun download -n "$NS" --run-id "$id" --output "$r"
	clean vastrun-download
	assert_output --partial "$id: bucket removed"
	assert_equal "$(cat "$r/$id/corridor/1/result.txt")" "config=corridor run=1"
	cmp "$r/$id/corridor/corridor/map.txt" corridor/map.txt
}

@test "gcloud-nodeimage: mutate of a cluster's node pools is clean under memcheck" {
	local gce cpu=gke-train-cpu-pool-ef940df7
	. "$BATS_FILE_TMPDIR/gcp/env"
	gce=${CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE}projects/wlkit-test
	cd "$FIX/nodeimage-mutate"
	# a service-account key: the RS256 JWT grant through libcrypto
	unset CLOUDSDK_AUTH_ACCESS_TOKEN_FILE
	export GOOGLE_APPLICATION_CREDENTIALS="$BATS_FILE_TMPDIR/gcp/sa.json"
	run -0 --separate-stderr vg nodeimage gcloud-nodeimage mutate --run-id 7 --env dev --quiet
	clean nodeimage
	[ "$(grep -c 'action: mutated' <<<"$output")" = 4 ]
	run -0 curl -sS -H "Authorization: Bearer $(cat "$BATS_FILE_TMPDIR/gcp/token")" \
		"$gce/zones/us-central1-a/instanceGroupManagers/$cpu-grp"
	[ "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["instanceTemplate"].split("/")[-1])' <<<"$output")" = "$cpu-r7" ]
	grep -q 'oauth POST /token 200' "$BATS_FILE_TMPDIR/gcp/log"
}

# Last: the agent under memcheck is a node of the same cluster.
@test "kubectl-vkcmd: a node agent that runs a pod, then stops on SIGTERM, is clean under memcheck" {
	local d=$BATS_FILE_TMPDIR
	eventually 60 grep -q registered "$d/vkcmd.log" || { cat "$d/vkcmd.log"; return 1; }
	# a pod with a configMap volume and the service-account token runs to
	# its end; its log comes through the agent's kubelet API
	kubectl apply -f - >/dev/null <<-EOF
	apiVersion: v1
	kind: Pod
	metadata: {name: vg-done}
	spec:
	  nodeName: vg-node
	  restartPolicy: Never
	  volumes: [{name: cfg, configMap: {name: kube-root-ca.crt}}]
	  containers:
	  - name: main
	    image: busybox
	    command: [sh, -c, 'ls /cfg; cat /var/run/secrets/kubernetes.io/serviceaccount/namespace']
	    volumeMounts: [{name: cfg, mountPath: /cfg}]
	EOF
	eventually 60 is pod/vg-done '{.status.phase}' Succeeded
	run -0 kubectl logs vg-done
	assert_output "ca.crt
default"
	# a pod still running when SIGTERM comes is stopped and reported
	kubectl apply -f - >/dev/null <<-EOF
	apiVersion: v1
	kind: Pod
	metadata: {name: vg-long}
	spec:
	  nodeName: vg-node
	  restartPolicy: Never
	  automountServiceAccountToken: false
	  containers:
	  - {name: main, image: busybox, command: [sleep, '300']}
	EOF
	eventually 60 is pod/vg-long '{.status.phase}' Running
	kill -TERM "$(cat "$d/vkcmd.pid")"
	eventually 60 test -s "$d/vkcmd.rc"
	rm -f "$d/vkcmd.pid"
	[ "$(cat "$d/vkcmd.rc")" = 0 ] || { cat "$d/vkcmd.log" "$d/vkcmd.vg"; return 1; }
	clean vkcmd
	grep -q "node 'vg-node' is shutting down" "$d/vkcmd.log"
	is pod/vg-long '{.status.phase}' Failed
	is node/vg-node '{.status.conditions[?(@.type=="Ready")].status}' False
}
