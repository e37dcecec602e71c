#!/usr/bin/env bats
# The Kubernetes client of common/ (kube.h over http.h and kube_config.h),
# end to end through the test driver wlkit-t against the local control
# plane, with faults injected through its admin endpoint (faults.py):
# retries, watches that survive cuts and 410s, kubectl's error wording,
# secrets kept out of -v output, paging, deletion propagation,
# TokenRequest with RBAC, pod logs, exec credentials re-run after a 401.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	export C="$BATS_FILE_TMPDIR/c"
	cluster_up "$C"
	export T="$WLKIT_ROOT/build/${MODE:-plain}/tests/wlkit-t"
	[ -x "$T" ] || { echo "no test driver at '$T' (make unit)" >&3; return 1; }
}

teardown_file() {
	cluster_down "$C"
}

teardown() {
	admin DELETE faults >/dev/null || true
}

# admin METHOD WHAT [BODY]: the fake's admin endpoint /_wlkit/WHAT.
admin() {
	curl -sS --fail-with-body --cacert "$C/ca.crt" \
		-H "Authorization: Bearer $(cat "$C/token")" \
		-X "$1" ${3:+-H 'Content-Type: application/json' -d "$3"} \
		"https://127.0.0.1:$(cat "$C/port")/_wlkit/$2"
}

fault() {
	admin POST faults "$1" >/dev/null
}

# requests METHOD PATH-REGEX [QUERY-REGEX]: how many such requests arrived
# since the log was last emptied.
requests() {
	admin GET "requests?method=$1" | python3 -c '
import json, re, sys
rs = json.load(sys.stdin)["requests"]
q = sys.argv[2] if len(sys.argv) > 2 else ""
print(sum(1 for r in rs if re.search(sys.argv[1], r["path"]) and re.search(q, r["query"] or "")))
' "$2" ${3:+"$3"}
}

# cm NAME [LABEL=VALUE]: a ConfigMap on stdout.
cm() {
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n' "$1"
	[ -z "${2:-}" ] || printf '  labels:\n    %s: "%s"\n' "${2%%=*}" "${2#*=}"
	printf 'data:\n  key: value\n'
}

ms_now() {
	echo $(($(date +%s%N) / 1000000))
}

# wait_lines FILE N: until FILE has N lines (10 s at most).
wait_lines() {
	local i
	for i in $(seq 100); do
		[ "$(wc -l <"$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	cat "$1"
	return 1
}

@test "discovery maps core, batch, rbac, coordination, jobset and kueue kinds" {
	run -0 "$T" resolve v1 Pod
	assert_output "group= version=v1 resource=pods kind=Pod namespaced=true"
	run -0 "$T" resolve batch/v1 Job
	assert_output "group=batch version=v1 resource=jobs kind=Job namespaced=true"
	run -0 "$T" resolve rbac.authorization.k8s.io/v1 ClusterRole
	assert_output --partial "resource=clusterroles kind=ClusterRole namespaced=false"
	run -0 "$T" resolve coordination.k8s.io/v1 Lease
	assert_output --partial "resource=leases"
	run -0 "$T" resolve jobset.x-k8s.io/v1alpha2 JobSet
	assert_output --partial "resource=jobsets"
	run -0 "$T" resolve kueue.x-k8s.io/v1beta1 ClusterQueue
	assert_output --partial "resource=clusterqueues kind=ClusterQueue namespaced=false"
	run -0 "$T" resolve-name cm
	assert_output --partial "resource=configmaps"
	run -0 "$T" resolve-name workloads.kueue.x-k8s.io
	assert_output --partial "kind=Workload"
	run -1 "$T" resolve-name frobs
	assert_output 'error: the server doesn'"'"'t have a resource type "frobs"'
}

@test "a kind discovery does not know is reported as kubectl apply does" {
	run -1 "$T" apply < <(printf 'apiVersion: example.com/v1\nkind: Foo\nmetadata:\n  name: x\n')
	assert_output - <<-'EOF'
	error: resource mapping not found for name: "x" namespace: "" from "STDIN": no matches for kind "Foo" in version "example.com/v1"
	ensure CRDs are installed first
	EOF
}

@test "a CRD created by the same process is found after one discovery refresh" {
	cat >"$BATS_TEST_TMPDIR/s.yaml" <<-'EOF'
	apiVersion: widgets.example.com/v1
	kind: Widget
	metadata:
	  name: early
	---
	apiVersion: apiextensions.k8s.io/v1
	kind: CustomResourceDefinition
	metadata:
	  name: widgets.widgets.example.com
	spec:
	  group: widgets.example.com
	  scope: Namespaced
	  names: {plural: widgets, singular: widget, kind: Widget}
	  versions:
	  - name: v1
	    served: true
	    storage: true
	    schema:
	      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
	---
	apiVersion: widgets.example.com/v1
	kind: Widget
	metadata:
	  name: late
	EOF
	admin DELETE requests >/dev/null
	run -1 "$T" apply -o name -f "$BATS_TEST_TMPDIR/s.yaml"
	assert_line --index 0 --partial 'resource mapping not found for name: "early" namespace: "" from "'
	assert_line 'customresourcedefinition.apiextensions.k8s.io/widgets.widgets.example.com serverside-applied'
	assert_line 'widget.widgets.example.com/late serverside-applied'
	# the group version was read once for "early", once more for "late"
	[ "$(requests GET '^/apis/widgets.example.com/v1$')" -eq 2 ]
}

@test "create, get, replace, merge patch, status update and apply" {
	run -0 "$T" create -o name < <(cm crud)
	assert_output "configmap/crud created"
	run -0 "$T" get configmaps crud -o json
	assert_output --partial '"key":	"value"'
	"$T" get cm crud -o json | python3 -c '
import json, sys
o = json.load(sys.stdin); o["data"]["key"] = "replaced"; print(json.dumps(o))' >"$BATS_TEST_TMPDIR/r.json"
	run -0 "$T" replace -o name -f "$BATS_TEST_TMPDIR/r.json"
	assert_output "configmap/crud replaced"
	# the same resourceVersion again is a conflict
	run -1 "$T" replace -f "$BATS_TEST_TMPDIR/r.json"
	assert_output --partial "Error from server (Conflict): "
	run -0 "$T" patch cm crud '{"data":{"patched":"yes"}}' -o json
	assert_output --partial '"patched":	"yes"'
	printf 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: crud\nspec:\n  suspend: true\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: c\n        image: busybox\n' |
		"$T" apply -o name
	"$T" get jobs crud -o json | python3 -c '
import json, sys
o = json.load(sys.stdin); o.setdefault("status", {})["failed"] = 7; print(json.dumps(o))' >"$BATS_TEST_TMPDIR/s.json"
	run -0 "$T" status -o json -f "$BATS_TEST_TMPDIR/s.json"
	assert_output --partial '"failed":	7'
	run -0 "$T" patch jobs.batch crud '{"status":{"failed":8}}' --subresource status -o json
	assert_output --partial '"failed":	8'
}

@test "server-side apply conflicts are reported as kubectl does; --force takes over" {
	cm ssa | "$T" apply --field-manager team-a -o name
	run -1 "$T" apply --field-manager team-b < <(cm ssa | sed 's/key: value/key: other/')
	assert_output 'Error from server (Conflict): Apply failed with 1 conflict: conflict with "team-a": .data.key'
	run -0 "$T" apply --field-manager team-b --force -o name < <(cm ssa | sed 's/key: value/key: other/')
	assert_output "configmap/ssa serverside-applied"
	run -0 "$T" get cm ssa -o json
	assert_output --partial '"key":	"other"'
}

@test "kubectl's words for NotFound, Unauthorized and an unreachable server" {
	run -1 "$T" get jobs nope
	assert_output 'Error from server (NotFound): jobs.batch "nope" not found'
	run -1 "$T" --token not-a-token get cm x
	assert_output 'error: You must be logged in to the server (Unauthorized)'
	# a server whose certificate is not trusted: no retry, kubectl's words
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$BATS_TEST_TMPDIR/other.key" -out "$BATS_TEST_TMPDIR/other.crt" \
		-days 1 -subj /CN=other-ca 2>/dev/null
	run -1 "$T" --kubeconfig /dev/null --server "https://127.0.0.1:$(cat "$C/port")" \
		--token x --certificate-authority "$BATS_TEST_TMPDIR/other.crt" version
	assert_output --regexp "^Unable to connect to the server: cannot connect to 'https://127.0.0.1:[0-9]+/version': certificate verify failed: "
}

@test "a 429 is retried after its Retry-After" {
	"$T" get cm kube-root-ca.crt -o name >/dev/null
	fault '{"method":"GET","path":"/configmaps/kube-root-ca.crt$","action":"429","retryAfter":1,"count":1}'
	admin DELETE requests >/dev/null
	start=$(ms_now)
	run -0 "$T" get cm kube-root-ca.crt -o name
	took=$(($(ms_now) - start))
	assert_output "configmap/kube-root-ca.crt"
	[ "$took" -ge 1000 ] || fail "took $took ms"
	[ "$(requests GET '/configmaps/kube-root-ca.crt$')" -eq 2 ]
}

@test "a 503 is retried until it succeeds" {
	fault '{"method":"GET","path":"/configmaps/kube-root-ca.crt$","action":"503","count":2}'
	admin DELETE requests >/dev/null
	run -0 "$T" get cm kube-root-ca.crt -o name
	assert_output "configmap/kube-root-ca.crt"
	[ "$(requests GET '/configmaps/kube-root-ca.crt$')" -eq 3 ]
}

@test "409 and 422 are not retried" {
	cm once | "$T" create -o name >/dev/null
	admin DELETE requests >/dev/null
	run -1 "$T" create < <(cm once)
	assert_output 'Error from server (AlreadyExists): configmaps "once" already exists'
	[ "$(requests POST '/configmaps$')" -eq 1 ]
	run -1 "$T" create < <(cm Not_A_Name)
	assert_output --partial 'Error from server (Invalid): '
	[ "$(requests POST '/configmaps$')" -eq 2 ]
}

@test "a Warning header is printed once per process" {
	fault '{"path":".*","action":"warn","text":"policy/v1beta1 is going away","count":0}'
	run -0 --separate-stderr "$T" list configmaps -o name
	[ "$(grep -c 'Warning: policy/v1beta1 is going away' <<<"$stderr")" -eq 1 ]
}

@test "lists come in pages and all items arrive" {
	for i in 1 2 3 4 5 6 7; do cm "page-$i" pager=yes; done |
		sed 's/^apiVersion/---\napiVersion/' | "$T" create -o name >/dev/null
	admin DELETE requests >/dev/null
	run -0 "$T" list cm -l pager=yes --limit 2 -o name
	assert_output - <<-'EOF'
	configmap/page-1
	configmap/page-2
	configmap/page-3
	configmap/page-4
	configmap/page-5
	configmap/page-6
	configmap/page-7
	EOF
	[ "$(requests GET '/configmaps$' 'limit=2')" -eq 4 ]
	[ "$(requests GET '/configmaps$' 'continue=')" -eq 3 ]
}

@test "an expired continue token restarts the list" {
	fault '{"method":"GET","path":"/configmaps$","query":"continue=","action":"410","count":1}'
	admin DELETE requests >/dev/null
	run -0 "$T" list cm -l pager=yes --limit 3 -o name
	[ "${#lines[@]}" -eq 7 ]
	[ "$(printf '%s\n' "${lines[@]}" | sort -u | wc -l)" -eq 7 ]
	# first page, 410, then three pages again
	[ "$(requests GET '/configmaps$' 'limit=3')" -eq 5 ]
}

@test "deletion propagation: Orphan keeps dependents, Foreground waits for them" {
	cm owner-o | "$T" create -o name >/dev/null
	uid=$("$T" get cm owner-o -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["uid"])')
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dep-o\n  ownerReferences:\n  - {apiVersion: v1, kind: ConfigMap, name: owner-o, uid: %s}\n' "$uid" |
		"$T" create -o name >/dev/null
	run -0 "$T" delete cm owner-o --propagation Orphan
	assert_output 'configmaps "owner-o" deleted'
	for i in $(seq 50); do
		"$T" get cm dep-o -o json | grep -q ownerReferences || break
		sleep 0.1
	done
	run -0 "$T" get cm dep-o -o json
	refute_output --partial "ownerReferences"

	cm owner-f | "$T" create -o name >/dev/null
	uid=$("$T" get cm owner-f -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["uid"])')
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dep-f\n  finalizers: [example.com/hold]\n  ownerReferences:\n  - {apiVersion: v1, kind: ConfigMap, name: owner-f, uid: %s, blockOwnerDeletion: true}\n' "$uid" |
		"$T" create -o name >/dev/null
	run -0 "$T" delete cm owner-f --propagation Foreground
	run -0 "$T" get cm owner-f -o json
	assert_output --partial '"foregroundDeletion"'
	assert_output --partial '"deletionTimestamp"'
	"$T" patch cm dep-f '{"metadata":{"finalizers":null}}' -o name
	for i in $(seq 50); do
		"$T" get cm owner-f -o name >/dev/null 2>&1 || break
		sleep 0.1
	done
	run -1 "$T" get cm owner-f
	assert_output 'Error from server (NotFound): configmaps "owner-f" not found'
	run -1 "$T" get cm dep-f
}

@test "a watch resumes after cuts without missing or repeating events" {
	fault '{"method":"GET","path":"/configmaps$","query":"watch=","action":"cut-watch","afterEvents":2,"count":3}'
	fault '{"method":"GET","path":"/configmaps$","query":"watch=","action":"cut-watch","afterEvents":0,"count":2}'
	"$T" watch cm -l w=cut --count 10 --timeout 20 >"$BATS_TEST_TMPDIR/w" 2>&1 3>&- &
	pid=$!
	sleep 0.3
	for i in 0 1 2 3 4 5 6 7 8 9; do cm "cut-$i" w=cut; done |
		sed 's/^apiVersion/---\napiVersion/' | "$T" create -o name >/dev/null
	wait "$pid"
	run cat "$BATS_TEST_TMPDIR/w"
	[ "${#lines[@]}" -eq 10 ]
	for i in 0 1 2 3 4 5 6 7 8 9; do
		assert_line --index "$i" --regexp "^ADDED cut-$i [0-9]+$"
	done
	# versions strictly increase: nothing repeated, nothing out of order
	awk 'NR > 1 && $3 <= prev { exit 1 } { prev = $3 }' "$BATS_TEST_TMPDIR/w"
	# the watch was opened again after every cut
	[ "$(requests GET '/configmaps$' 'watch=.*labelSelector=w%3Dcut')" -ge 6 ]
}

@test "a 410 on a resumed watch relists and repeats nothing" {
	for i in 0 1 2; do cm "gone-$i" w=gone; done |
		sed 's/^apiVersion/---\napiVersion/' | "$T" create -o name >/dev/null
	fault '{"method":"GET","path":"/configmaps$","query":"watch=","action":"cut-watch","afterEvents":1,"count":1}'
	fault '{"method":"GET","path":"/configmaps$","query":"watch=","action":"410","count":1}'
	"$T" watch cm -l w=gone --count 5 --timeout 20 >"$BATS_TEST_TMPDIR/w" 2>&1 3>&- &
	pid=$!
	wait_lines "$BATS_TEST_TMPDIR/w" 3
	cm gone-3 w=gone | "$T" create -o name >/dev/null
	wait_lines "$BATS_TEST_TMPDIR/w" 4
	"$T" delete cm gone-0 >/dev/null
	wait "$pid"
	run cat "$BATS_TEST_TMPDIR/w"
	assert_line --index 0 --regexp '^ADDED gone-0 '
	assert_line --index 1 --regexp '^ADDED gone-1 '
	assert_line --index 2 --regexp '^ADDED gone-2 '
	assert_line --index 3 --regexp '^ADDED gone-3 '
	assert_line --index 4 --regexp '^DELETED gone-0 '
	[ "${#lines[@]}" -eq 5 ]
	# listed twice: at the start and after the 410
	[ "$(requests GET '/configmaps$' 'limit=.*labelSelector=w%3Dgone')" -eq 2 ]
}

@test "an ERROR 410 in the stream relists and delivers only the difference" {
	for i in 0 1 2; do cm "diff-$i" w=diff; done |
		sed 's/^apiVersion/---\napiVersion/' | "$T" create -o name >/dev/null
	# the first watch is cut after the initial list's events have been
	# seen; the next one waits 4 s (room for the writes under ASan),
	# while the history is compacted away
	fault '{"method":"GET","path":"/configmaps$","query":"watch=","action":"cut-watch","afterEvents":0,"count":1}'
	fault '{"method":"GET","path":"/configmaps$","query":"watch=","action":"delay","seconds":4,"count":1}'
	"$T" watch cm -l w=diff --count 7 --timeout 20 >"$BATS_TEST_TMPDIR/w" 2>&1 3>&- &
	pid=$!
	wait_lines "$BATS_TEST_TMPDIR/w" 3
	"$T" patch cm diff-0 '{"data":{"key":"changed"}}' -o name >/dev/null
	"$T" delete cm diff-1 >/dev/null
	cm diff-3 w=diff | "$T" create -o name >/dev/null
	admin POST compact >/dev/null
	wait_lines "$BATS_TEST_TMPDIR/w" 6
	cm diff-4 w=diff | "$T" create -o name >/dev/null
	wait "$pid"
	run cat "$BATS_TEST_TMPDIR/w"
	assert_line --index 0 --regexp '^ADDED diff-0 '
	assert_line --index 1 --regexp '^ADDED diff-1 '
	assert_line --index 2 --regexp '^ADDED diff-2 '
	assert_line --index 3 --regexp '^MODIFIED diff-0 '
	assert_line --index 4 --regexp '^ADDED diff-3 '
	assert_line --index 5 --regexp '^DELETED diff-1 '
	assert_line --index 6 --regexp '^ADDED diff-4 '
	[ "${#lines[@]}" -eq 7 ]
}

@test "a watch with a timeout ends with an error when nothing stops it" {
	start=$(ms_now)
	run -1 "$T" watch cm -l w=quiet --timeout 1
	took=$(($(ms_now) - start))
	assert_output "error: timed out after 1000 ms watching configmaps"
	[ "$took" -ge 1000 ]
	[ "$took" -lt 5000 ]
}

@test "-v=9 never shows the token" {
	tok=$(cat "$C/token")
	{
		cm secretive | "$T" -v=9 create -o name
		"$T" -v=9 get cm secretive
		"$T" -v=9 list cm -l nothing=here
		"$T" -v=9 watch cm --count 1
		printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: hunter2-secret\n' |
			"$T" -v=9 apply -o name
		"$T" -v=9 get secrets s -o name
		"$T" -v=9 token default >"$BATS_TEST_TMPDIR/satoken"
		"$T" -v=9 delete cm secretive
	} >"$BATS_TEST_TMPDIR/out" 2>&1
	satok=$(cat "$BATS_TEST_TMPDIR/satoken")
	[ -n "$satok" ]
	grep -q 'GET https://127.0.0.1' "$BATS_TEST_TMPDIR/out"
	grep -q 'Authorization: <masked>' "$BATS_TEST_TMPDIR/out"
	run -1 grep -F -- "$tok" "$BATS_TEST_TMPDIR/out"
	run -1 grep -F -- "$satok" "$BATS_TEST_TMPDIR/out"
	run -1 grep -F -- "hunter2" "$BATS_TEST_TMPDIR/out"
	run -1 grep -F -- "aHVudGVyMi1zZWNyZXQ" "$BATS_TEST_TMPDIR/out"
}

@test "a TokenRequest token works where RBAC allows it and is Forbidden elsewhere" {
	cat <<-'EOF' | "$T" apply -o name >/dev/null
	apiVersion: v1
	kind: ServiceAccount
	metadata:
	  name: reader
	---
	apiVersion: rbac.authorization.k8s.io/v1
	kind: Role
	metadata:
	  name: cm-reader
	rules:
	- apiGroups: [""]
	  resources: ["configmaps"]
	  verbs: ["get"]
	---
	apiVersion: rbac.authorization.k8s.io/v1
	kind: RoleBinding
	metadata:
	  name: reader-cm
	subjects:
	- kind: ServiceAccount
	  name: reader
	  namespace: default
	roleRef:
	  apiGroup: rbac.authorization.k8s.io
	  kind: Role
	  name: cm-reader
	EOF
	tok=$("$T" token reader --expiration 600)
	[ -n "$tok" ]
	run -0 "$T" --token "$tok" get cm kube-root-ca.crt -o name
	assert_output "configmap/kube-root-ca.crt"
	run -1 "$T" --token "$tok" get secrets s
	assert_output 'Error from server (Forbidden): secrets "s" is forbidden: User "system:serviceaccount:default:reader" cannot get resource "secrets" in API group "" in the namespace "default"'
}

@test "pod logs are followed through the node's kubelet endpoint" {
	mkfifo "$BATS_TEST_TMPDIR/kin"
	python3 "$WLKIT_ROOT/tests/fakes/http/echo.py" --tls "$C/server.crt" "$C/server.key" \
		--log "$BATS_TEST_TMPDIR/klog" \
		--script '[{"chunks":["line 1\n","line 2\n","line 3\n"],"delay_ms":100}]' \
		<"$BATS_TEST_TMPDIR/kin" >"$BATS_TEST_TMPDIR/kport" 3>&- &
	exec 7>"$BATS_TEST_TMPDIR/kin"
	wait_lines "$BATS_TEST_TMPDIR/kport" 1
	port=$(head -n 1 "$BATS_TEST_TMPDIR/kport")
	printf 'apiVersion: v1\nkind: Node\nmetadata:\n  name: standin\n' | "$T" create -o name
	"$T" patch nodes standin --subresource status -o name \
		"{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"127.0.0.1\"}],\"daemonEndpoints\":{\"kubeletEndpoint\":{\"Port\":$port}}}}"
	printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: talker\nspec:\n  nodeName: standin\n  containers:\n  - name: main\n    image: busybox\n' |
		"$T" create -o name
	start=$(ms_now)
	run -0 "$T" logs talker -f
	took=$(($(ms_now) - start))
	exec 7>&-
	assert_output - <<-'EOF'
	line 1
	line 2
	line 3
	EOF
	[ "$took" -ge 300 ]
	grep -q '"path": "/containerLogs/default/talker/main?follow=true"' "$BATS_TEST_TMPDIR/klog"
	run -1 "$T" logs talker -c nope
	assert_output 'Error from server (BadRequest): container nope is not valid for pod talker'
}

@test "an exec credential plugin is run again after a 401" {
	cat >"$C/plugin.sh" <<-EOF
	#!/bin/sh
	n=\$(cat "$C/exec-runs" 2>/dev/null || echo 0)
	echo \$((n + 1)) >"$C/exec-runs"
	if [ "\$n" -eq 0 ]; then tok=wrong; else tok=\$(cat "$C/token"); fi
	printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}\n' "\$tok"
	EOF
	chmod +x "$C/plugin.sh"
	cat >"$C/exec.kubeconfig" <<-EOF
	apiVersion: v1
	kind: Config
	clusters:
	- name: c
	  cluster:
	    server: https://127.0.0.1:$(cat "$C/port")
	    certificate-authority: ca.crt
	users:
	- name: u
	  user:
	    exec:
	      apiVersion: client.authentication.k8s.io/v1
	      command: ./plugin.sh
	      interactiveMode: Never
	contexts:
	- name: x
	  context: {cluster: c, user: u}
	current-context: x
	EOF
	rm -f "$C/exec-runs"
	admin DELETE requests >/dev/null
	run -0 --separate-stderr "$T" --kubeconfig "$C/exec.kubeconfig" -v=9 get cm kube-root-ca.crt -o name
	assert_output "configmap/kube-root-ca.crt"
	[ "$(cat "$C/exec-runs")" -eq 2 ]
	run -1 grep -F -- "$(cat "$C/token")" <<<"$stderr"
	# one 401, then the same request again with the new token
	[ "$(admin GET 'requests?method=GET' | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin)["requests"] if r["code"] == 401))')" -eq 1 ]
}

@test "a watch resumes after the server ends the stream, from the last version or bookmark" {
	# a scripted server answers the driver's requests in order: discovery
	# of the core group, the list, then watch streams that end normally (as on the server's
	# timeout), an event split inside an escape, a bookmark, a repeat
	python3 - "$WLKIT_ROOT/tests/fixtures/kube/api-v1.json" >"$BATS_TEST_TMPDIR/script" <<-'PY'
	import json, sys
	def ev(t, name, rv, **extra):
	    o = {"metadata": {"name": name, "namespace": "default", "resourceVersion": rv}}
	    o.update(extra)
	    return json.dumps({"type": t, "object": o}, ensure_ascii=False) + "\n"
	m = ev("MODIFIED", "a", "11", data={"s": '}{ "\\ é日本'})
	esc = m.index("\\\\") + 1	# between a backslash and what it escapes
	mid = m.index("日")	# inside the string, before a multi-byte character
	script = [
	    {"body": open(sys.argv[1]).read()},
	    {"body": json.dumps({"kind": "ConfigMapList", "apiVersion": "v1",
	                         "metadata": {"resourceVersion": "10"},
	                         "items": [{"metadata": {"name": "a", "namespace": "default",
	                                                 "resourceVersion": "5"}}]})},
	    {"chunks": [m[:esc], m[esc:mid], m[mid:]], "delay_ms": 50},
	    {"chunks": [ev("BOOKMARK", "", "15")]},
	    {"chunks": [m, ev("ADDED", "b", "16")]},
	]
	print(json.dumps({"script": script}, ensure_ascii=False))
	PY
	mkfifo "$BATS_TEST_TMPDIR/in"
	python3 "$WLKIT_ROOT/tests/fakes/http/echo.py" --tls "$C/server.crt" "$C/server.key" \
		--log "$BATS_TEST_TMPDIR/log" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/port" 3>&- &
	exec 7>"$BATS_TEST_TMPDIR/in"
	wait_lines "$BATS_TEST_TMPDIR/port" 1
	cat "$BATS_TEST_TMPDIR/script" >&7
	wait_lines "$BATS_TEST_TMPDIR/port" 2
	port=$(head -n 1 "$BATS_TEST_TMPDIR/port")
	run -0 "$T" --kubeconfig /dev/null --server "https://127.0.0.1:$port" --token t \
		--certificate-authority "$C/ca.crt" watch cm --count 3 --timeout 10
	exec 7>&-
	assert_output - <<-'EOF'
	ADDED a 5
	MODIFIED a 11
	ADDED b 16
	EOF
	run python3 -c '
import json, sys
for l in open(sys.argv[1]):
    p = json.loads(l)["path"]
    if "watch=" in p:
        print(p.split("resourceVersion=")[1].split("&")[0])' "$BATS_TEST_TMPDIR/log"
	assert_output - <<-'EOF'
	10
	11
	15
	EOF
}
