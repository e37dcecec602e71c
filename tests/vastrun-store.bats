#!/usr/bin/env bats
# kubectl-vastrun's store side against the sandbox: setup (configs,
# options, the store's objects and Secret, the Kueue queues and their
# quota, idempotence), monitor's counts (jobs gone through their TTL
# counted from their recorded outcome), download (content, bucket removed
# only after, interrupted and re-run), Kueue's quota holding jobs back,
# and the cleanups. The store is s3rver, recorded with --store external.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" up "$BATS_FILE_TMPDIR/c" --nodes 1 >&3 2>&1
	export KUBECONFIG="$BATS_FILE_TMPDIR/c/kubeconfig"
	"$WLKIT_ROOT/tests/fakes/s3/s3" up "$BATS_FILE_TMPDIR/s3" >&3 2>&1
}

teardown_file() {
	"$WLKIT_ROOT/tests/fakes/s3/s3" down "$BATS_FILE_TMPDIR/s3" >/dev/null 2>&1 || true
	"$WLKIT_ROOT/tests/fakes/kube/cluster" down "$BATS_FILE_TMPDIR/c" >/dev/null 2>&1 || true
}

teardown() {
	[ -z "${PROXY_PID:-}" ] || kill "$PROXY_PID" 2>/dev/null || true
}

setup() {
	. "$BATS_FILE_TMPDIR/s3/env"
	printf '%s' "$S3_ACCESS_KEY" >"$BATS_TEST_TMPDIR/ak"
	printf '%s' "$S3_SECRET_KEY" >"$BATS_TEST_TMPDIR/sk"
}

# a namespace of its own for each test
fresh_ns() {
	NS=t$BATS_TEST_NUMBER
	kubectl create namespace "$NS" >/dev/null
}

external_setup() {
	kubectl-vastrun setup minikube -n "$NS" --store external --s3-endpoint "$S3_ENDPOINT" \
		--s3-access-key-file "$BATS_TEST_TMPDIR/ak" --s3-secret-key-file "$BATS_TEST_TMPDIR/sk" "$@"
}

# s3 METHOD PATH [FILE]: a signed request to s3rver with curl
s3() {
	local sha=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 up=()
	if [ $# -ge 3 ]; then
		sha=$(sha256sum "$3" | cut -d' ' -f1)
		up=(-T "$3")
	fi
	curl -sS --fail-with-body --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: $sha" \
		-X "$1" "${up[@]}" "$S3_ENDPOINT$2"
}

bucket_exists() {
	curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
		-H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
		-I "$S3_ENDPOINT/$1" | grep -q 200
}

# job NAME RUN CMD [EXTRA-SPEC-LINE] [QUEUE]: a Job as run makes them
job() {
	local queue=
	[ -n "${5:-}" ] && queue="kueue.x-k8s.io/queue-name: $5"
	kubectl apply -n "$NS" -f - >/dev/null <<-EOF
	apiVersion: batch/v1
	kind: Job
	metadata:
	  name: $1
	  labels: {run-id: $2, jobgroup: c1, $queue}
	  annotations: {vastrun.wlkit.dev/total-jobs: "${TOTAL:-3}"}
	spec:
	  backoffLimit: 0
	  template:
	    metadata:
	      labels: {run-id: $2}
	    spec:
	      restartPolicy: Never
	      ${4:-}
	      containers:
	      - name: main
	        image: busybox
	        command: [sh, -c, "$3"]
	        resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 100m, memory: 64Mi}}
	EOF
}

# slow_proxy PORTFILE: a TCP proxy to s3rver on a free loopback port that
# passes the store's answers on at 2 MB/s (SigV4 signs the Host header,
# which a byte-level proxy leaves as the client sent it)
slow_proxy() {
	python3 - "$1" "${S3_ENDPOINT##*:}" <<-'EOF' &
	import socket, sys, threading, time
	ls = socket.socket()
	ls.bind(("127.0.0.1", 0))
	ls.listen(16)
	open(sys.argv[1] + ".tmp", "w").write(str(ls.getsockname()[1]))
	import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
	def pipe(a, b, rate):
	    try:
	        while True:
	            d = a.recv(16384)
	            if not d:
	                break
	            b.sendall(d)
	            if rate:
	                time.sleep(len(d) / rate)
	    except OSError:
	        pass
	    for s in (a, b):
	        try:
	            s.shutdown(socket.SHUT_RDWR)
	        except OSError:
	            pass
	while True:
	    c, _ = ls.accept()
	    u = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
	    threading.Thread(target=pipe, args=(c, u, 0), daemon=True).start()
	    threading.Thread(target=pipe, args=(u, c, 2e6), daemon=True).start()
	EOF
	PROXY_PID=$!
}

job_done() {
	kubectl get job -n "$NS" "$1" -o jsonpath='{.status.conditions[*].type}' | grep -Eq 'Complete|Failed'
}

@test "setup --list names the three cluster configs" {
	run -0 kubectl-vastrun setup --list
	assert_line --regexp '^gcp +GKE: .*pd\.csi\.storage\.gke\.io'
	assert_line --regexp '^rke2 +.*emptyDir.*lost'
	assert_line --regexp '^minikube +.*emptyDir.*lost'
	[ "${#lines[@]}" -eq 3 ]
}

@test "bad configs and options are one-line usage errors and nothing is created" {
	fresh_ns
	run -2 kubectl-vastrun setup gcp -n "$NS" --option disk_type=pd-fast
	assert_line --index 0 "error: invalid option disk_type 'pd-fast': must be pd-standard, pd-ssd or pd-balanced"
	run -2 kubectl-vastrun setup gcp -n "$NS" --option storage_size=lots
	assert_line --index 0 --partial "error: invalid option storage_size 'lots'"
	run -2 kubectl-vastrun setup rke2 -n "$NS" --option storage_size=1Gi
	assert_line --index 0 "error: cluster config 'rke2' takes no options (got 'storage_size')"
	run -2 kubectl-vastrun setup gke -n "$NS"
	assert_line --index 0 "error: unknown cluster config 'gke' (known: gcp, rke2, minikube)"
	run -2 kubectl-vastrun setup minikube -n "$NS" --store external
	assert_line --index 0 "error: --store external needs --s3-endpoint URL"
	run -2 kubectl-vastrun setup minikube -n "$NS" --store external --s3-endpoint "$S3_ENDPOINT" \
		--s3-access-key-file /nonexistent
	assert_line --index 0 --partial "error: cannot read access key file '/nonexistent'"
	run -0 kubectl get secret,configmap,deployment -n "$NS" -o name
	refute_output --partial vastrun
	refute_output --partial robovast
}

@test "setup with an external store records it, and a second run changes nothing" {
	fresh_ns
	run -0 --separate-stderr external_setup
	[[ "$stderr" == *"configmap/vastrun-store serverside-applied"* ]]
	[[ "$stderr" == *"localqueue.kueue.x-k8s.io/robovast serverside-applied"* ]]
	run -0 kubectl get cm vastrun-store -n "$NS" -o jsonpath='{.data.kind} {.data.endpoint} {.data.region}'
	assert_output "external $S3_ENDPOINT us-east-1"
	run -0 kubectl get secret vastrun-s3 -n "$NS" -o jsonpath='{.data.access-key}'
	[ "$(printf '%s' "$output" | base64 -d)" = "$S3_ACCESS_KEY" ]
	run -0 kubectl get deployment -n "$NS" -o name
	assert_output ""
	versions() {
		kubectl get cm/vastrun-store secret/vastrun-s3 localqueue/robovast -n "$NS" \
			-o jsonpath='{range .items[*]}{.metadata.resourceVersion} {end}'
		kubectl get clusterqueue/robovast-cluster-queue resourceflavor/default-flavor \
			-o jsonpath='{range .items[*]}{.metadata.resourceVersion} {end}'
	}
	before=$(versions)
	run -0 external_setup
	[ "$(versions)" = "$before" ]
}

@test "setup minikube deploys MinIO with generated credentials kept on a second run" {
	fresh_ns
	run -0 --separate-stderr kubectl-vastrun setup minikube -n "$NS"
	[[ "$stderr" == *"data is lost when the robovast pod restarts"* ]]
	run -0 kubectl get deployment robovast -n "$NS" -o jsonpath='{.spec.replicas} {.spec.template.spec.containers[*].name} {.spec.template.spec.containers[0].args} {.spec.template.spec.volumes[0].emptyDir}'
	assert_output '1 minio ["server","/data","--console-address",":9001"] {}'
	run -0 kubectl get deployment robovast -n "$NS" -o jsonpath='{.spec.template.spec.containers[0].env[*].valueFrom.secretKeyRef.name}'
	assert_output "vastrun-s3 vastrun-s3"
	run -0 kubectl get service robovast -n "$NS" -o jsonpath='{.spec.ports[*].port}'
	assert_output "9000 9001"
	run -0 kubectl get cm vastrun-store -n "$NS" -o jsonpath='{.data.kind} {.data.endpoint}'
	assert_output "minio http://robovast.$NS.svc:9000"
	ak=$(kubectl get secret vastrun-s3 -n "$NS" -o jsonpath='{.data.access-key}' | base64 -d)
	sk=$(kubectl get secret vastrun-s3 -n "$NS" -o jsonpath='{.data.secret-key}' | base64 -d)
	[[ "$ak" =~ ^[A-Za-z0-9_-]{20}$ ]]
	[[ "$sk" =~ ^[A-Za-z0-9_-]{40}$ ]]
	[ "$ak" != minioadmin ]
	run -0 --separate-stderr kubectl-vastrun setup minikube -n "$NS"
	[[ "$stderr" == *"secret/vastrun-s3 kept"* ]]
	[ "$(kubectl get secret vastrun-s3 -n "$NS" -o jsonpath='{.data.secret-key}' | base64 -d)" = "$sk" ]
	# a second namespace gets other credentials
	kubectl create namespace "$NS-b" >/dev/null
	run -0 kubectl-vastrun setup rke2 -n "$NS-b"
	[ "$(kubectl get secret vastrun-s3 -n "$NS-b" -o jsonpath='{.data.secret-key}' | base64 -d)" != "$sk" ]
	run -0 kubectl get deployment robovast -n "$NS-b" -o jsonpath='{.spec.template.spec.containers[*].name} {.spec.template.spec.containers[1].volumeMounts[0].readOnly}'
	assert_output "minio nginx archiver true"
}

@test "setup gcp makes a StorageClass on the PD CSI driver and a PVC of the asked size" {
	fresh_ns
	run -0 kubectl-vastrun setup gcp -n "$NS" --option storage_size=50Gi --option disk_type=pd-ssd
	run -0 kubectl get storageclass robovast-pd -o jsonpath='{.provisioner} {.parameters.type} {.reclaimPolicy}'
	assert_output "pd.csi.storage.gke.io pd-ssd Delete"
	run -0 kubectl get pvc robovast-data -n "$NS" -o jsonpath='{.spec.storageClassName} {.spec.resources.requests.storage}'
	assert_output "robovast-pd 50Gi"
	run -0 kubectl get deployment robovast -n "$NS" -o jsonpath='{.spec.template.spec.volumes[0].persistentVolumeClaim.claimName} {.spec.strategy.type}'
	assert_output "robovast-data Recreate"
}

@test "the ClusterQueue quota is allocatable minus requests, rounded down" {
	fresh_ns
	# a pod that cannot be scheduled still counts, with its init container's
	# larger cpu; a finished pod does not
	kubectl apply -n "$NS" -f - >/dev/null <<-EOF
	apiVersion: v1
	kind: Pod
	metadata: {name: waiting}
	spec:
	  nodeSelector: {nowhere: "x"}
	  initContainers:
	  - {name: init, image: busybox, command: ["true"], resources: {requests: {cpu: 1200m, memory: 256Mi}}}
	  containers:
	  - {name: a, image: busybox, command: ["true"], resources: {requests: {cpu: 300m, memory: 1Gi}}}
	  - {name: b, image: busybox, command: ["true"], resources: {limits: {cpu: 100m, memory: 512Mi}}}
	EOF
	alloc_cpu=$(kubectl get node wlkit-node-1 -o jsonpath='{.status.allocatable.cpu}')
	alloc_mem=$(kubectl get node wlkit-node-1 -o jsonpath='{.status.allocatable.memory}')
	read -r want_cpu want_mem < <(python3 -c '
import sys
def q(s):
    for suf, m in (("Ki", 1024), ("Mi", 1024**2), ("Gi", 1024**3), ("m", 0.001)):
        if s.endswith(suf):
            return float(s[:-len(suf)]) * m
    return float(s)
cpu = q(sys.argv[1]) - 1.2          # max(init 1200m, 300m + 100m)
mem = q(sys.argv[2]) - 1.5 * 1024**3  # 1Gi + 512Mi (limit as request)
print(max(0, int(cpu)), max(0, int(mem // 1024**3)))' "$alloc_cpu" "$alloc_mem")
	run -0 --separate-stderr external_setup
	[[ "$stderr" == *"cluster queue quota: cpu $want_cpu, memory ${want_mem}Gi"* ]]
	run -0 kubectl get clusterqueue robovast-cluster-queue -o jsonpath='{.spec.resourceGroups[0].flavors[0].resources[*].nominalQuota}'
	assert_output "$want_cpu ${want_mem}Gi"
	run -0 kubectl get clusterqueue robovast-cluster-queue -o jsonpath='{.spec.namespaceSelector}'
	assert_output "{}"
	kubectl delete pod waiting -n "$NS" --wait=false >/dev/null
}

@test "monitor counts succeeded, failed, running and pending jobs, and gone ones by their record" {
	fresh_ns
	R=run-2026-03-01-100000
	TOTAL=5
	job $R-ok $R "exit 0"
	job $R-bad $R "exit 3"
	job $R-wait $R "exit 0" "nodeSelector: {nowhere: x}"
	job $R-run $R "sleep 60"
	job $R-lost $R "sleep 60" "nodeSelector: {nowhere: x}"
	eventually 20 job_done $R-ok
	eventually 20 job_done $R-bad
	run_ready() { [ "$(kubectl get job $R-run -n "$NS" -o jsonpath='{.status.ready}')" = 1 ]; }
	eventually 20 run_ready
	run -0 kubectl-vastrun monitor -n "$NS"
	assert_output --regexp "^$R: 2/5 finished \(succeeded 1, failed 1\), running 1, pending 2, queued 0"
	# the record holds both outcomes now; jobs deleted after it count as before
	kubectl delete job $R-ok $R-bad -n "$NS" >/dev/null
	# a job deleted without a recorded outcome is unknown, not a success
	kubectl delete job $R-lost -n "$NS" >/dev/null
	run -0 kubectl-vastrun monitor -n "$NS" --run-id $R
	assert_output --regexp "^$R: 3/5 finished \(succeeded 1, failed 1, unknown \(gone\) 1\), running 1, pending 1"
	kubectl delete job $R-run $R-wait -n "$NS" >/dev/null
}

@test "monitor --watch follows the latest run until every job has finished" {
	fresh_ns
	R1=run-2026-03-02-100000
	R2=run-2026-03-02-110000
	TOTAL=1 job $R1-a $R1 "exit 0"
	TOTAL=2
	job $R2-a $R2 "sleep 1"
	job $R2-b $R2 "sleep 2; exit 1"
	run -0 timeout 30 kubectl-vastrun monitor -n "$NS" --watch
	assert_output --regexp "^$R2: 2/2 finished \(succeeded 1, failed 1\), running 0, pending 0, queued 0"
}

@test "download fetches every object with its content, then removes the bucket" {
	fresh_ns
	run -0 external_setup
	R=run-2026-04-01-100000
	s3 PUT /$R
	mkdir -p "$BATS_TEST_TMPDIR/src/c1/0" "$BATS_TEST_TMPDIR/src/c2/1"
	echo alpha >"$BATS_TEST_TMPDIR/src/execution.yaml"
	head -c 300000 /dev/urandom >"$BATS_TEST_TMPDIR/src/c1/0/result.bin"
	printf 'x y\n' >"$BATS_TEST_TMPDIR/src/c2/1/log with space.txt"
	(cd "$BATS_TEST_TMPDIR/src" && find . -type f | sed 's|^\./||') >"$BATS_TEST_TMPDIR/keys"
	while read -r key; do
		s3 PUT "/$R/${key// /%20}" "$BATS_TEST_TMPDIR/src/$key"
	done <"$BATS_TEST_TMPDIR/keys"
	# a run with a job still running is skipped and keeps its bucket
	R2=run-2026-04-01-110000
	s3 PUT /$R2
	job $R2-x $R2 "sleep 60"
	run -0 kubectl-vastrun download -n "$NS" --output "$BATS_TEST_TMPDIR/out"
	assert_output --partial "$R2: skipped, download it later: "
	run diff -r "$BATS_TEST_TMPDIR/src" "$BATS_TEST_TMPDIR/out/$R"
	assert_success
	! bucket_exists $R
	bucket_exists $R2
	[ ! -e "$BATS_TEST_TMPDIR/out/$R2" ]
	kubectl delete job $R2-x -n "$NS" >/dev/null
}

@test "an interrupted download loses nothing: a re-run completes it and only then removes the bucket" {
	fresh_ns
	run -0 external_setup
	R=run-2026-04-02-100000
	s3 PUT /$R
	mkdir -p "$BATS_TEST_TMPDIR/src/c1"
	for i in 1 2 3 4 5 6; do echo "file $i" >"$BATS_TEST_TMPDIR/src/c1/f$i.txt"; done
	head -c 64000000 /dev/urandom >"$BATS_TEST_TMPDIR/src/c1/big.bin"
	for f in "$BATS_TEST_TMPDIR"/src/c1/*; do s3 PUT "/$R/c1/${f##*/}" "$f"; done
	# 1: killed in the middle of the large object (the store reached
	# through a slow proxy): a .part is left, the bucket stays
	slow_proxy "$BATS_TEST_TMPDIR/proxy-port"
	eventually 10 test -s "$BATS_TEST_TMPDIR/proxy-port"
	kubectl-vastrun download -n "$NS" --output "$BATS_TEST_TMPDIR/out" \
		--s3-endpoint "http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/proxy-port")" 2>/dev/null &
	pid=$!
	part_grown() { [ "$(stat -c %s "$BATS_TEST_TMPDIR/out/$R/c1/big.bin.part" 2>/dev/null || echo 0)" -gt 1000000 ]; }
	eventually 20 part_grown
	kill -9 $pid
	wait $pid || true
	bucket_exists $R
	[ ! -e "$BATS_TEST_TMPDIR/out/$R/c1/big.bin" ]
	# 2: the store now fails every GET of the large object: the run
	# stops, its .part and the bucket stay
	echo "GET c1/big.bin 500 50" >"$BATS_FILE_TMPDIR/s3/faults"
	run -1 kubectl-vastrun download -n "$NS" --output "$BATS_TEST_TMPDIR/out"
	rm -f "$BATS_FILE_TMPDIR/s3/faults"
	assert_output --partial "the bucket is kept: run download again"
	bucket_exists $R
	part_grown
	# 3: the re-run resumes the .part with a Range, fetches nothing twice,
	# then removes the bucket
	nlog=$(wc -l <"$BATS_FILE_TMPDIR/s3/log")
	run -0 kubectl-vastrun download -n "$NS" --output "$BATS_TEST_TMPDIR/out"
	run -0 tail -n +"$((nlog + 1))" "$BATS_FILE_TMPDIR/s3/log"
	assert_line --regexp "^GET /$R/c1/big.bin range=bytes=[1-9][0-9]*- status=206"
	refute_output --partial "GET /$R/c1/f"
	run diff -r "$BATS_TEST_TMPDIR/src" "$BATS_TEST_TMPDIR/out/$R"
	assert_success
	[ "$(find "$BATS_TEST_TMPDIR/out/$R" -type f | wc -l)" -eq 7 ]
	! bucket_exists $R
}

@test "with a ClusterQueue quota for 2 jobs, at most 2 run at once and all finish" {
	# each job asks for 100m of cpu; the quota is 200m
	fresh_ns
	run -0 external_setup
	kubectl patch clusterqueue robovast-cluster-queue --type json -p \
		'[{"op":"replace","path":"/spec/resourceGroups/0/flavors/0/resources/0/nominalQuota","value":"200m"}]' >/dev/null
	R=run-2026-05-01-100000
	TOTAL=5
	log=$BATS_TEST_TMPDIR/trace
	for i in 1 2 3 4 5; do
		job $R-$i $R "echo + >>$log; sleep 1; echo - >>$log" "" robovast
	done
	run -0 timeout 60 kubectl-vastrun monitor -n "$NS" --watch --run-id $R
	assert_output --regexp "^$R: 5/5 finished \(succeeded 5, failed 0\)"
	max=$(awk '/\+/ {n++; if (n > m) m = n} /-/ {n--} END {print m}' "$log")
	[ "$max" -eq 2 ]
	[ "$(grep -c + "$log")" -eq 5 ]
}

@test "run-cleanup deletes a run's jobs, download-cleanup its bucket, cleanup the rest" {
	fresh_ns
	run -0 external_setup
	R=run-2026-06-01-100000
	TOTAL=1 job $R-a $R "exit 0"
	s3 PUT /$R
	eventually 20 job_done $R-a
	run -0 kubectl-vastrun run-cleanup -n "$NS" --run-id $R
	assert_output --partial "$R: 1 jobs and"
	run -0 kubectl get jobs -n "$NS" -o name
	assert_output ""
	# its outcome was recorded before the job went
	run -0 kubectl-vastrun monitor -n "$NS" --run-id $R
	assert_output --regexp "^$R: 1/1 finished \(succeeded 1, failed 0\)"
	run -0 kubectl-vastrun download-cleanup -n "$NS"
	assert_output --partial "$R: bucket removed"
	! bucket_exists $R
	run -0 kubectl-vastrun cleanup -n "$NS"
	assert_output --partial "clusterqueue.kueue.x-k8s.io/robovast-cluster-queue held and draining"
	run -0 kubectl get cm,secret,localqueue -n "$NS" -o name
	refute_output --partial vastrun
	refute_output --partial robovast
	run -1 kubectl get clusterqueue robovast-cluster-queue
	# cleanup again is fine
	run -0 kubectl-vastrun cleanup -n "$NS"
}

@test "an in-cluster MinIO is reached through a kubectl port-forward that vastrun starts and stops" {
	fresh_ns
	# the store's Secret exists already (setup keeps it): s3rver's keys
	kubectl create secret generic vastrun-s3 -n "$NS" --from-literal=access-key="$S3_ACCESS_KEY" \
		--from-literal=secret-key="$S3_SECRET_KEY" >/dev/null
	run -0 kubectl-vastrun setup minikube -n "$NS"
	# a stand-in kubectl: the sandbox runs no MinIO pod to forward to, so it
	# says what kubectl says and leaves s3rver's port to be used
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	cat >"$BATS_TEST_TMPDIR/bin/kubectl" <<-SH
	#!/bin/sh
	echo "\$*" >"$BATS_TEST_TMPDIR/pf-args"
	echo \$\$ >"$BATS_TEST_TMPDIR/pf-pid"
	echo "Forwarding from 127.0.0.1:${S3_ENDPOINT##*:} -> 9000"
	echo "Forwarding from [::1]:${S3_ENDPOINT##*:} -> 9000"
	exec sleep 60
	SH
	chmod +x "$BATS_TEST_TMPDIR/bin/kubectl"
	R=run-2026-07-01-100000
	s3 PUT /$R
	echo forwarded >"$BATS_TEST_TMPDIR/f"
	s3 PUT /$R/c1/0/f "$BATS_TEST_TMPDIR/f"
	PATH="$BATS_TEST_TMPDIR/bin:$PATH" run -0 kubectl-vastrun download -n "$NS" \
		--kubeconfig "$KUBECONFIG" --output "$BATS_TEST_TMPDIR/out"
	[ "$(cat "$BATS_TEST_TMPDIR/out/$R/c1/0/f")" = forwarded ]
	run -0 cat "$BATS_TEST_TMPDIR/pf-args"
	assert_output "port-forward svc/robovast :9000 --namespace=$NS --kubeconfig=$KUBECONFIG"
	# stopped when the command ended
	! kill -0 "$(cat "$BATS_TEST_TMPDIR/pf-pid")" 2>/dev/null
}

@test "setup installs Kueue with helm when helm is on PATH, the chart version pinned" {
	fresh_ns
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	printf '#!/bin/sh\necho "stdout of helm"\necho "$*" >"%s/helm-args"\n' "$BATS_TEST_TMPDIR" \
		>"$BATS_TEST_TMPDIR/bin/helm"
	chmod +x "$BATS_TEST_TMPDIR/bin/helm"
	PATH="$BATS_TEST_TMPDIR/bin:$PATH" run -0 --separate-stderr external_setup --context wlkit-test
	run -0 cat "$BATS_TEST_TMPDIR/helm-args"
	assert_output "upgrade --install kueue oci://registry.k8s.io/kueue/charts/kueue --version 0.16.1 -n kueue-system --create-namespace --wait --kube-context wlkit-test"
	# helm's chatter goes to stderr: stdout carries data only
	printf '#!/bin/sh\necho "stdout of helm"\nexit 1\n' >"$BATS_TEST_TMPDIR/bin/helm"
	PATH="$BATS_TEST_TMPDIR/bin:$PATH" run -1 --separate-stderr external_setup
	assert_output ""
	[[ "$stderr" == *"stdout of helm"* ]]
	[[ "$stderr" == *"error: helm upgrade --install kueue failed (exit status 1)"* ]]
}
