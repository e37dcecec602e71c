#!/usr/bin/env bats
# kubectl gpusnap --deploy-agent against the sandbox: the agent Job runs on
# a vkcmd node, whose pod really executes bin/kubectl-gpusnap with its own
# service-account token against the control plane (which enforces RBAC),
# and the snapshot of this host comes back. Also: RBAC reuse, minimality
# and cleanup, --all-nodes, and the failure paths (unschedulable, agent
# failure, timeout, Ctrl-C).

bats_require_minimum_version 1.5.0
load helpers

NODE1="kubernetes.io/hostname=wlkit-node-1"

setup_file() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" up "$BATS_FILE_TMPDIR/c" --nodes 3 >&3 2>&1
	export KUBECONFIG="$BATS_FILE_TMPDIR/c/kubeconfig"
	# a GPU Operator ClusterPolicy, which the agent must be able to read
	kubectl apply -f - >/dev/null <<-EOF
	apiVersion: apiextensions.k8s.io/v1
	kind: CustomResourceDefinition
	metadata:
	  name: clusterpolicies.nvidia.com
	spec:
	  group: nvidia.com
	  scope: Cluster
	  names: {plural: clusterpolicies, singular: clusterpolicy, kind: ClusterPolicy, listKind: ClusterPolicyList}
	  versions:
	  - name: v1
	    served: true
	    storage: true
	    schema:
	      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
	EOF
	kubectl apply -f - >/dev/null <<-EOF
	apiVersion: nvidia.com/v1
	kind: ClusterPolicy
	metadata: {name: cluster-policy}
	spec: {driver: {enabled: true, version: 570.133.20}}
	EOF
}

teardown_file() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" down "$BATS_FILE_TMPDIR/c" >/dev/null 2>&1 || true
}

# requests [PATTERN]: the non-GET requests of the fake's log whose path matches.
requests() {
	kubectl get --raw /_wlkit/requests | python3 -c 'import json,re,sys
for r in json.load(sys.stdin)["requests"]:
    if re.search(sys.argv[1], r["path"]) and r["method"] != "GET":
        print(r["method"], r["path"])' "${1:-.}"
}

clear_requests() {
	kubectl delete --raw /_wlkit/requests >/dev/null
}

# field JSONFILE EXPR: a python expression on the JSON document d.
field() {
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2"
}

gone() {	# gone KIND NAME NS
	! kubectl get "$1" "$2" -n "$3" >/dev/null 2>&1
}

no_jobs() {	# no_jobs NS: no Job, pod or agent ConfigMap is left in NS
	[ -z "$(kubectl get jobs,pods -n "$1" -o name)" ] &&
		[ "$(kubectl get cm -n "$1" -o name)" = configmap/kube-root-ca.crt ]
}

@test "the snapshot of the sandbox node comes back on stdout, with progress on stderr" {
	run -0 --separate-stderr kubectl-gpusnap --deploy-agent -n t-stdout --node-selector "$NODE1"
	assert_line "kind: Snapshot"
	assert_line "  source-node: wlkit-node-1"
	# the agent read the cluster with its own token: node, images, policy
	assert_line "  - subtype: node"
	assert_line "  - subtype: image"
	assert_line "      driver.version: 570.133.20"
	[[ "${stderr_lines[0]}" == "namespace 't-stdout' created" ]]
	[[ "${stderr_lines[1]}" == "rbac 'gpusnap' created in namespace 't-stdout'" ]]
	[[ "${stderr_lines[2]}" =~ ^job\ \'gpusnap-[0-9a-f]{8}\'\ created$ ]]
	[[ "${stderr_lines[3]}" =~ ^pod\ .*\ scheduled\ on\ node\ \'wlkit-node-1\'$ ]]
	[[ "${stderr_lines[4]}" =~ ^pod\ .*\ running$ ]]
	[[ "${stderr_lines[5]}" =~ ^snapshot\ of\ node\ \'wlkit-node-1\'\ collected ]]
	no_jobs t-stdout
}

@test "the snapshot goes to a file, and to a ConfigMap (the agent's own, or another)" {
	local f="$BATS_TEST_TMPDIR/s.json"
	run -0 kubectl-gpusnap --deploy-agent -n t-out --node-selector "$NODE1" -o "$f"
	[ "$(field "$f" 'd["kind"], d["metadata"]["source-node"]')" = "('Snapshot', 'wlkit-node-1')" ]
	# the agent's ConfigMap is the target: it is kept, nothing else is left
	run -0 kubectl-gpusnap --deploy-agent -n t-out --node-selector "$NODE1" \
		--job-name keep -o cm://t-out/keep
	kubectl get cm keep -n t-out -o jsonpath='{.data.snapshot\.yaml}' >"$BATS_TEST_TMPDIR/keep.yaml"
	grep -q "source-node: wlkit-node-1" "$BATS_TEST_TMPDIR/keep.yaml"
	gone job keep t-out
	# another ConfigMap: written there, the agent's own deleted
	run -0 kubectl-gpusnap --deploy-agent -n t-out --node-selector "$NODE1" \
		--format json -o cm://t-out/other
	kubectl get cm other -n t-out -o jsonpath='{.data.snapshot\.json}' | grep -q '"source-node": "wlkit-node-1"'
	[ "$(kubectl get cm -n t-out -o name | sort | tr '\n' ' ')" = \
		"configmap/keep configmap/kube-root-ca.crt configmap/other " ]
	# and the CLI reads it back
	run -0 kubectl-gpusnap diff cm://t-out/keep cm://t-out/keep
}

@test "the Job: unique names, host namespaces, read-only host root, the defaults users asked for" {
	local j="$BATS_TEST_TMPDIR/job.json" err="$BATS_TEST_TMPDIR/err" pid name
	# the default node selector matches no sandbox node: the pod stays pending
	kubectl-gpusnap --deploy-agent -n t-job --timeout 60s --cpu 200m --memory 64Mi \
		--image-pull-policy Never >/dev/null 2>"$err" 3>&- &
	pid=$!
	# the scheduler's reason is shown at once, not after the timeout
	eventually 5 grep -q "cannot be scheduled: 0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector" "$err"
	name=$(sed -n "s/^job '\(.*\)' created$/\1/p" "$err")
	[[ "$name" =~ ^gpusnap-[0-9a-f]{8}$ ]]
	kubectl get job "$name" -n t-job -o json >"$j"
	python3 - "$j" "$name" <<-'EOF'
	import json, sys
	d = json.load(open(sys.argv[1])); name = sys.argv[2]
	s = d["spec"]; p = s["template"]["spec"]; c = p["containers"][0]
	want = [
	    ((s["backoffLimit"], s["activeDeadlineSeconds"], s["ttlSecondsAfterFinished"]), (0, 60, 600)),
	    ((p["hostPID"], p["hostNetwork"], p["hostIPC"], p["serviceAccountName"]), (True, True, True, "gpusnap")),
	    (p["nodeSelector"], {"nvidia.com/gpu.present": "true"}),
	    (p["tolerations"], [{"operator": "Exists"}]),
	    (p["volumes"], [{"name": "host", "hostPath": {"path": "/", "type": "Directory"}}]),
	    (c["volumeMounts"], [{"name": "host", "mountPath": "/host", "readOnly": True}]),
	    (c["securityContext"], {"privileged": True}),
	    (c["command"], ["kubectl-gpusnap", "snapshot", "--root", "/host", "-o", "cm://t-job/" + name, "--format", "yaml"]),
	    (c["env"], [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]),
	    (c["resources"], {"requests": {"cpu": "200m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}}),
	    (c["imagePullPolicy"], "Never"),
	]
	bad = [(g, w) for g, w in want if g != w]
	for g, w in bad:
	    print("got", g, "want", w)
	sys.exit(1 if bad else 0)
	EOF
	# Ctrl-C: the Job and its pod are deleted, exit 130
	kill -INT "$pid"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 130 ]
	[ "$(tail -n 1 "$err")" = "error: interrupted; cleaned up" ]
	gone job "$name" t-job
	eventually 5 no_jobs t-job
}

@test "given tolerations and selectors replace the defaults; bad ones exit 2 before anything is sent" {
	clear_requests
	run -2 kubectl-gpusnap --deploy-agent --toleration 'gpu=yes:Sometimes'
	assert_line "error: invalid --toleration 'gpu=yes:Sometimes': effect 'Sometimes' must be NoSchedule, PreferNoSchedule or NoExecute"
	run -2 kubectl-gpusnap --deploy-agent --node-selector nolabel
	assert_line "error: invalid --node-selector 'nolabel': want KEY=VALUE"
	run -2 kubectl-gpusnap --deploy-agent --cpu lots
	run -2 kubectl-gpusnap --deploy-agent --job-name Bad_Name
	run -2 kubectl-gpusnap --deploy-agent -n Bad_NS
	# nothing written: no request but the log's own and the node agents'
	# (leases, node and pod status, which go on meanwhile)
	[ -z "$(requests | grep -v -E '/_wlkit/|/leases/|/api/v1/nodes/|/pods/')" ]
	# every form is accepted; the pod still lands on the untainted node
	run -0 kubectl-gpusnap --deploy-agent -n t-tol --node-selector "$NODE1" --node-selector type=virtual-kubelet \
		--toleration 'a=b:NoSchedule' --toleration 'c:NoExecute' --toleration d --toleration '*'
	assert_line "  source-node: wlkit-node-1"
}

@test "a second run reuses the RBAC: no create request for it" {
	run -0 kubectl-gpusnap --deploy-agent -n t-reuse --node-selector "$NODE1"
	clear_requests
	run -0 --separate-stderr kubectl-gpusnap --deploy-agent -n t-reuse --node-selector "$NODE1"
	[[ "${stderr_lines[0]}" == "rbac 'gpusnap' reused in namespace 't-reuse'" ]]
	[ -z "$(requests 'rbac|serviceaccounts$|/namespaces$' | grep '^POST')" ]
	[ "$(requests '/jobs$')" = "POST /apis/batch/v1/namespaces/t-reuse/jobs" ]
}

# variants DIR: from DIR/role.json and DIR/crole.json (the agent's Role and
# ClusterRole as the server has them), DIR/NAME.json for each variant with
# one grant dropped (role-create, role-patch, crole-0, crole-1, crole-2),
# and the originals as DIR/role-orig.json, DIR/crole-orig.json, all without
# resourceVersion so that `kubectl replace` takes them as they are.
variants() {
	python3 - "$1" <<-'EOF'
	import copy, json, sys
	d = sys.argv[1]
	def save(name, o, rules):
	    o = copy.deepcopy(o)
	    for k in ("resourceVersion", "uid", "creationTimestamp", "managedFields"):
	        o["metadata"].pop(k, None)
	    o["rules"] = rules
	    json.dump(o, open("%s/%s.json" % (d, name), "w"))
	role, crole = (json.load(open("%s/%s.json" % (d, n))) for n in ("role", "crole"))
	save("role-orig", role, role["rules"])
	save("crole-orig", crole, crole["rules"])
	for v in role["rules"][0]["verbs"]:
	    save("role-" + v, role, [dict(role["rules"][0], verbs=[x for x in role["rules"][0]["verbs"] if x != v])])
	for i in range(len(crole["rules"])):
	    save("crole-%d" % i, crole, crole["rules"][:i] + crole["rules"][i + 1:])
	EOF
}

@test "the RBAC is minimal: without any one of its grants the agent fails" {
	local d="$BATS_TEST_TMPDIR" case
	run -0 kubectl-gpusnap --deploy-agent -n t-min --node-selector "$NODE1"
	kubectl get role gpusnap -n t-min -o json >"$d/role.json"
	kubectl get clusterrole gpusnap-t-min -o json >"$d/crole.json"
	# five grants in all, no secrets
	[ "$(field "$d/role.json" 'd["rules"]')" = "[{'apiGroups': [''], 'resources': ['configmaps'], 'verbs': ['create', 'patch']}]" ]
	[ "$(field "$d/crole.json" '[(r["apiGroups"], r["resources"], r["verbs"]) for r in d["rules"]]')" = \
		"[([''], ['nodes'], ['get']), ([''], ['pods'], ['list']), (['nvidia.com'], ['clusterpolicies'], ['list'])]" ]
	variants "$d"
	for case in create patch; do
		kubectl replace -f "$d/role-$case.json" >/dev/null
		run -1 kubectl-gpusnap --deploy-agent -n t-min --node-selector "$NODE1"
		kubectl replace -f "$d/role-orig.json" >/dev/null
		# the agent itself failed: the Job failed, its log is shown
		[[ "$output" == *"failed: BackoffLimitExceeded"*"log of pod 'gpusnap-"*"Error from server (Forbidden): configmaps "*"cannot $case resource \"configmaps\""* ]]
		[[ "$output" != *"kind: Snapshot"* ]]
	done
	for case in 0:node 1:image 2:policy; do
		kubectl replace -f "$d/crole-${case%%:*}.json" >/dev/null
		run -1 kubectl-gpusnap --deploy-agent -n t-min --node-selector "$NODE1"
		kubectl replace -f "$d/crole-orig.json" >/dev/null
		[[ "$output" == *"is incomplete: K8s/${case#*:} is missing"*"log of pod"*"Forbidden"* ]]
		[[ "$output" != *"kind: Snapshot"* ]]
	done
	run -0 kubectl-gpusnap --deploy-agent -n t-min --node-selector "$NODE1"
	no_jobs t-min
}

@test "--cleanup-rbac leaves nothing behind" {
	# a namespace of its own making goes too
	run -0 kubectl-gpusnap --deploy-agent -n t-clean --node-selector "$NODE1" --cleanup-rbac
	assert_line "  source-node: wlkit-node-1"
	eventually 5 gone namespace t-clean ""
	# in a namespace that was there, everything but the namespace
	kubectl create namespace t-clean2 >/dev/null
	run -0 kubectl-gpusnap --deploy-agent -n t-clean2 --node-selector "$NODE1" --cleanup-rbac \
		--service-account-name snapper
	eventually 5 no_jobs t-clean2
	[ "$(kubectl get serviceaccounts,roles,rolebindings,jobs,pods,configmaps -n t-clean2 -o name | sort | tr '\n' ' ')" = \
		"configmap/kube-root-ca.crt serviceaccount/default " ]
	[ -z "$(kubectl get clusterroles,clusterrolebindings -o name | grep -e gpusnap-t-clean -e snapper)" ]
	kubectl get namespace t-clean2 >/dev/null
}

@test "--all-nodes: one Job per node in parallel, one Snapshot each" {
	run -0 --separate-stderr kubectl-gpusnap --deploy-agent --all-nodes -n t-all \
		--node-selector type=virtual-kubelet --format json
	[ "$(printf '%s\n' "$output" | grep -c '"kind": "Snapshot"')" = 3 ]
	[ "$(printf '%s\n' "$output" | grep '"source-node"' | sort -u | tr -d ' \n')" = \
		'"source-node":"wlkit-node-1","source-node":"wlkit-node-2","source-node":"wlkit-node-3",' ]
	[ "$(printf '%s\n' "$stderr" | grep -c "created for node 'wlkit-node-")" = 3 ]
	no_jobs t-all
}

@test "--job-name: an existing Job of that name is deleted and awaited first" {
	kubectl create namespace t-name >/dev/null
	kubectl apply -f - >/dev/null <<-EOF
	apiVersion: batch/v1
	kind: Job
	metadata: {name: fixed, namespace: t-name}
	spec:
	  template:
	    spec:
	      restartPolicy: Never
	      containers: [{name: c, image: busybox, command: [sleep, "60"]}]
	EOF
	eventually 5 kubectl get pods -n t-name -l job-name=fixed -o name
	run -0 --separate-stderr kubectl-gpusnap --deploy-agent -n t-name --node-selector "$NODE1" --job-name fixed
	assert_line "  source-node: wlkit-node-1"
	[[ "$stderr" == *"job 'fixed' exists: deleting it"* ]]
	[ "$(requests '/jobs/fixed$')" = "DELETE /apis/batch/v1/namespaces/t-name/jobs/fixed"$'\n'"DELETE /apis/batch/v1/namespaces/t-name/jobs/fixed" ]
	no_jobs t-name
}

@test "a timeout exits 124 and cleans up" {
	run -124 kubectl-gpusnap --deploy-agent -n t-timeout --timeout 2s
	assert_line --partial "cannot be scheduled: 0/3 nodes are available"
	assert_line "error: timed out after 2s waiting for the agent; cleaned up"
	[ -z "$(kubectl get jobs -n t-timeout -o name)" ]
	eventually 5 no_jobs t-timeout
}

@test "a snapshot without GPUs warns when some node of the cluster has GPUs" {
	kubectl create -f - >/dev/null <<-EOF
	apiVersion: v1
	kind: Node
	metadata: {name: gpu-1, labels: {nvidia.com/gpu.present: "true"}}
	EOF
	kubectl patch node gpu-1 --subresource=status --type=merge \
		-p '{"status":{"allocatable":{"nvidia.com/gpu":"8"},"capacity":{"nvidia.com/gpu":"8"}}}' >/dev/null
	run -0 --separate-stderr kubectl-gpusnap --deploy-agent -n t-gpu --node-selector "$NODE1"
	kubectl delete node gpu-1 >/dev/null
	[[ "$stderr" == *"warning: the snapshot of node 'wlkit-node-1' has no GPU data although node 'gpu-1' has allocatable nvidia.com/gpu"* ]]
}

@test "a cleanup that fails prints the kubectl commands that finish it" {
	local f="$BATS_TEST_TMPDIR/fault.json"
	echo '{"method":"DELETE","path":"/namespaces/t-fail/jobs/","count":0,"action":"500"}' >"$f"
	kubectl create --raw /_wlkit/faults -f "$f" >/dev/null
	run -1 --separate-stderr kubectl-gpusnap --deploy-agent -n t-fail --node-selector "$NODE1" --job-name stuck
	kubectl delete --raw /_wlkit/faults >/dev/null
	assert_line "  source-node: wlkit-node-1"
	[[ "$stderr" == *"error: cleanup failed; to finish it run:"$'\n'"kubectl delete job stuck -n t-fail"* ]]
	kubectl get job stuck -n t-fail >/dev/null
	kubectl delete job stuck -n t-fail >/dev/null
}
