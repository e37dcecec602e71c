#!/usr/bin/env bats
# The real kubectl against the local control plane (tests/fakes/kube): the
# commands the fake must serve the way a real API server does. Each test is
# one of them: get, get -w, apply --server-side, create, delete
# --cascade=foreground, wait --for=condition=complete, logs -f and
# auth can-i --as. Every kubectl run names the fake's kubeconfig.

bats_require_minimum_version 1.5.0
load fakes/kube/bats-helpers

setup_file() {
	export D="$BATS_FILE_TMPDIR/kube"
	export KC="$D/kubeconfig"
	export KUBECACHEDIR="$D/cache"
	fake_up "$D"
}

teardown_file() {
	fake_down "$D"
}

# until_true SECONDS CMD...: runs CMD every 0.1 s until it succeeds.
until_true() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

@test "kubectl get lists namespaces and the default service account" {
	run kubectl --kubeconfig "$KC" get namespaces
	assert_success
	assert_line --regexp '^NAME +STATUS +AGE$'
	assert_line --regexp '^default +Active +[0-9]+s$'
	assert_line --regexp '^kube-system +Active '
	run kubectl --kubeconfig "$KC" get serviceaccount default -n kube-public -o name
	assert_success
	assert_output serviceaccount/default
	run kubectl --kubeconfig "$KC" get configmap nothing-here
	assert_failure
	assert_output 'Error from server (NotFound): configmaps "nothing-here" not found'
}

@test "kubectl get -w shows an object created while it watches" {
	out="$BATS_TEST_TMPDIR/watch"
	timeout 10 kubectl --kubeconfig "$KC" get configmaps -n default -w >"$out" 2>&1 &
	pid=$!
	until_true 5 grep -q '^kube-root-ca.crt' "$out"
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: seen-by-watch\n' |
		kubectl --kubeconfig "$KC" create -f -
	run until_true 5 grep -q '^seen-by-watch ' "$out"
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	assert_success
	run cat "$out"
	assert_line --index 0 --regexp '^NAME +DATA +AGE$'
}

@test "kubectl create makes objects and reports AlreadyExists" {
	cm='apiVersion: v1
kind: ConfigMap
metadata:
  name: created
data:
  key: value'
	run kubectl --kubeconfig "$KC" create -f - <<<"$cm"
	assert_success
	assert_output 'configmap/created created'
	run kubectl --kubeconfig "$KC" create -f - <<<"$cm"
	assert_failure
	assert_output --partial 'configmaps "created" already exists'
	run kubectl --kubeconfig "$KC" get configmap created -o jsonpath='{.data.key}'
	assert_output value
}

@test "kubectl apply --server-side: create, conflict with a second manager, force" {
	cm() {	# cm KEY OTHER SHARED
		printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n'
		printf 'data:\n  key: "%s"\n  other: "%s"\n  shared: "%s"\n' "$@"
	}
	run kubectl --kubeconfig "$KC" apply --server-side -f - <<<"$(cm one x s)"
	assert_success
	assert_output 'configmap/applied serverside-applied'
	# The same intent again is no change.
	rv=$(kubectl --kubeconfig "$KC" get cm applied -o jsonpath='{.metadata.resourceVersion}')
	run kubectl --kubeconfig "$KC" apply --server-side -f - <<<"$(cm one x s)"
	assert_success
	run kubectl --kubeconfig "$KC" get cm applied -o jsonpath='{.metadata.resourceVersion}'
	assert_output "$rv"
	# Fields set to the same value are shared, others conflict.
	run kubectl --kubeconfig "$KC" apply --server-side --field-manager=second -f - <<<"$(cm two y s)"
	assert_failure
	assert_line --index 0 'error: Apply failed with 2 conflicts: conflicts with "kubectl":'
	assert_line --index 1 '- .data.key'
	assert_line --index 2 '- .data.other'
	run kubectl --kubeconfig "$KC" apply --server-side --field-manager=second \
		--force-conflicts -f - <<<"$(cm two y s)"
	assert_success
	run kubectl --kubeconfig "$KC" get cm applied \
		-o jsonpath='{.data.key} {.metadata.managedFields[*].manager}'
	assert_output 'two kubectl second'
	# A field set by an update (kubectl create) conflicts "using" its version.
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: made\ndata:\n  key: a\n' |
		kubectl --kubeconfig "$KC" create -f -
	run kubectl --kubeconfig "$KC" apply --server-side -f - \
		<<<"$(printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: made\ndata:\n  key: b\n')"
	assert_failure
	assert_line --index 0 'error: Apply failed with 1 conflict: conflict with "kubectl-create" using v1: .data.key'
	assert_line --index 1 'Please review the fields above--they currently have other managers. Here'
}

@test "kubectl apply --server-side takes over from client-side apply" {
	cm='apiVersion: v1
kind: ConfigMap
metadata:
  name: migrated
data:
  key: one'
	run kubectl --kubeconfig "$KC" apply -f - <<<"$cm"
	assert_success
	assert_output 'configmap/migrated created'
	run kubectl --kubeconfig "$KC" apply --server-side -f - <<<"${cm/one/two}"
	assert_success
	assert_output 'configmap/migrated serverside-applied'
	run kubectl --kubeconfig "$KC" get cm migrated -o jsonpath='{.data.key}'
	assert_output two
}

deleting() {	# deleting CONFIGMAP: it has a deletionTimestamp
	[ -n "$(kubectl --kubeconfig "$KC" get cm "$1" -o 'jsonpath={.metadata.deletionTimestamp}')" ]
}

@test "kubectl delete --cascade=foreground waits for blocking dependents" {
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owner\n' |
		kubectl --kubeconfig "$KC" create -f -
	uid=$(kubectl --kubeconfig "$KC" get cm owner -o jsonpath='{.metadata.uid}')
	kubectl --kubeconfig "$KC" create -f - <<-EOF
	apiVersion: v1
	kind: ConfigMap
	metadata:
	  name: dependent
	  finalizers: [wlkit.dev/hold]
	  ownerReferences:
	  - {apiVersion: v1, kind: ConfigMap, name: owner, uid: $uid, blockOwnerDeletion: true}
	EOF
	out="$BATS_TEST_TMPDIR/delete"
	timeout 20 kubectl --kubeconfig "$KC" delete cm owner --cascade=foreground >"$out" 2>&1 &
	pid=$!
	# The dependent's finalizer holds it, and it holds the owner.
	until_true 5 deleting dependent
	run kubectl --kubeconfig "$KC" get cm owner -o 'jsonpath={.metadata.finalizers}'
	assert_output '["foregroundDeletion"]'
	run kubectl --kubeconfig "$KC" get cm dependent -o 'jsonpath={.metadata.deletionTimestamp}'
	assert_output --regexp '^20[0-9-]+T'
	kill -0 "$pid"
	kubectl --kubeconfig "$KC" patch cm dependent --type=merge -p '{"metadata":{"finalizers":null}}'
	wait "$pid"
	run cat "$out"
	assert_output 'configmap "owner" deleted'
	run kubectl --kubeconfig "$KC" get cm owner dependent -o name
	assert_failure
	refute_output --partial configmap/
}

@test "kubectl wait --for=condition=complete sees a Job's condition" {
	kubectl --kubeconfig "$KC" create -f - <<-EOF
	apiVersion: batch/v1
	kind: Job
	metadata:
	  name: waited
	spec:
	  suspend: true
	  template:
	    spec:
	      restartPolicy: Never
	      containers:
	      - {name: main, image: busybox}
	EOF
	out="$BATS_TEST_TMPDIR/wait"
	kubectl --kubeconfig "$KC" wait --for=condition=complete job/waited --timeout=15s >"$out" 2>&1 &
	pid=$!
	sleep 0.5
	# No node runs pods yet: the test writes the status a Job controller would.
	kubectl --kubeconfig "$KC" patch job waited --subresource=status --type=merge -p \
		'{"status":{"conditions":[{"type":"Complete","status":"True","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}'
	wait "$pid"
	run cat "$out"
	assert_output 'job.batch/waited condition met'
}

# The node agent here is a test double: a tiny HTTPS server with the kubelet's
# /containerLogs API, standing in until kubectl-vkcmd provides the real one.
kubelet_double() {
	exec "$PY" -I -S - "$D/server.crt" "$D/server.key" <<-'EOF'
	import http.server, socketserver, ssl, sys, time
	class H(http.server.BaseHTTPRequestHandler):
	    protocol_version = "HTTP/1.1"
	    def log_message(self, *a):
	        pass
	    def do_GET(self):
	        self.send_response(200)
	        self.send_header("Content-Type", "text/plain")
	        self.send_header("Transfer-Encoding", "chunked")
	        self.end_headers()
	        lines = [self.path] + ["line %d" % i for i in range(3)]
	        for l in lines:
	            d = (l + "\n").encode()
	            self.wfile.write(b"%x\r\n%s\r\n" % (len(d), d))
	            self.wfile.flush()
	            time.sleep(0.2)
	        self.wfile.write(b"0\r\n\r\n")
	class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
	    daemon_threads = True
	s = S(("127.0.0.1", 0), H)
	tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
	tls.load_cert_chain(sys.argv[1], sys.argv[2])
	s.socket = tls.wrap_socket(s.socket, server_side=True)
	print(s.server_address[1], flush=True)
	s.serve_forever()
	EOF
}

@test "kubectl logs -f streams from the node's kubelet endpoint (test double)" {
	kubelet_double >"$BATS_TEST_TMPDIR/port" 2>"$BATS_TEST_TMPDIR/kubelet.err" 3>&- &
	kpid=$!
	until_true 5 test -s "$BATS_TEST_TMPDIR/port"
	port=$(cat "$BATS_TEST_TMPDIR/port")
	kubectl --kubeconfig "$KC" create -f - <<-EOF
	apiVersion: v1
	kind: Node
	metadata:
	  name: double
	status:
	  addresses: [{type: InternalIP, address: 127.0.0.1}]
	  daemonEndpoints: {kubeletEndpoint: {Port: $port}}
	  conditions: [{type: Ready, status: "True"}]
	---
	apiVersion: v1
	kind: Pod
	metadata:
	  name: logged
	spec:
	  nodeName: double
	  containers:
	  - {name: main, image: busybox}
	---
	apiVersion: v1
	kind: Pod
	metadata:
	  name: unbound
	spec:
	  containers:
	  - {name: main, image: busybox}
	EOF
	run kubectl --kubeconfig "$KC" logs -f logged
	kill "$kpid"
	assert_success
	assert_line --index 0 '/containerLogs/default/logged/main?follow=true'
	assert_line --index 3 'line 2'
	run kubectl --kubeconfig "$KC" logs unbound
	assert_failure
	assert_output 'Error from server (BadRequest): container "main" in pod "unbound" is waiting to start: ContainerCreating'
	kubectl --kubeconfig "$KC" delete pod/logged pod/unbound node/double --grace-period=0 --force
}

@test "kubectl auth can-i --as a service account follows RBAC" {
	kubectl --kubeconfig "$KC" create -f - <<-EOF
	apiVersion: v1
	kind: Namespace
	metadata: {name: rbac-test}
	---
	apiVersion: v1
	kind: ServiceAccount
	metadata: {name: reader, namespace: rbac-test}
	---
	apiVersion: rbac.authorization.k8s.io/v1
	kind: Role
	metadata: {name: pod-reader, namespace: rbac-test}
	rules:
	- {apiGroups: [""], resources: [pods, pods/log], verbs: [get, list, watch]}
	---
	apiVersion: rbac.authorization.k8s.io/v1
	kind: RoleBinding
	metadata: {name: reader-reads, namespace: rbac-test}
	roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
	subjects:
	- {kind: ServiceAccount, name: reader, namespace: rbac-test}
	EOF
	as=--as=system:serviceaccount:rbac-test:reader
	run kubectl --kubeconfig "$KC" auth can-i list pods -n rbac-test "$as"
	assert_success
	assert_output yes
	run kubectl --kubeconfig "$KC" auth can-i get pods --subresource=log -n rbac-test "$as"
	assert_success
	assert_output yes
	run kubectl --kubeconfig "$KC" auth can-i delete pods -n rbac-test "$as"
	assert_failure
	assert_output no
	run kubectl --kubeconfig "$KC" auth can-i list pods -n default "$as"
	assert_failure
	assert_output no
	run kubectl --kubeconfig "$KC" get pods -n default "$as"
	assert_failure
	assert_output 'Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:rbac-test:reader" cannot list resource "pods" in API group "" in the namespace "default"'
}
