#!/usr/bin/env bats
# The fault campaign, kubectl-gpusnap --deploy-agent against the kube fake
# and one vkcmd node that really runs the agent: 429, 5xx bursts and
# answers lost after the write, on the RBAC, the Job and the agent's own
# ConfigMap write. Each run must bring back the node's snapshot, create
# every object once (POSTs in the request log) and, with --cleanup-rbac,
# leave nothing behind.

bats_require_minimum_version 1.5.0
load lib
load kube-lib

NODE1="kubernetes.io/hostname=wlkit-node-1"

setup_file() {
	kube_up 1
	local n
	for n in g429 g503 gdrop gagent; do
		printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' "$n"
	done | kubectl create -f - >/dev/null
}

teardown_file() {
	kube_down
}

teardown() {
	unfault || true
}

# snap NS: gpusnap --deploy-agent into NS; the snapshot must be right.
snap() {
	run -0 --separate-stderr kubectl-gpusnap --deploy-agent -n "$1" --node-selector "$NODE1" --cleanup-rbac
	assert_line "kind: Snapshot"
	assert_line "  source-node: wlkit-node-1"
}

# posts NS: "KIND=N ..." for each kind of object NS's run created (POSTs
# answered 201 Created).
posts() {
	reqs "' '.join('%s=%d' % (k, len([e for e in r if e['method'] == 'POST' and e['code'] == 201
		and re.search(p, e['path'])])) for k, p in (('sa', '/$1/serviceaccounts$'),
		('role', '/$1/roles$'), ('rb', '/$1/rolebindings$'), ('cr', '/clusterroles$'),
		('crb', '/clusterrolebindings$'), ('job', '/$1/jobs$')))"
}

# left NS: what the run left: Jobs, pods, ConfigMaps other than the root
# CA, the RBAC of the namespace and of the cluster.
left() {
	{
		kubectl get jobs,pods,configmaps,serviceaccounts,roles,rolebindings -n "$1" -o name
		kubectl get clusterroles,clusterrolebindings -o name | grep "gpusnap-$1\$"
	} | grep -v -e '^configmap/kube-root-ca.crt$' -e '^serviceaccount/default$' | tr '\n' ' '
}

@test "429 Retry-After | gpusnap --deploy-agent: the RBAC and the Job wait it out; each made once; nothing left" {
	inject '[{"method":"POST","path":"/g429/roles$","action":"429","retryAfter":1},
		{"method":"POST","path":"/g429/jobs$","action":"429","retryAfter":1}]'
	snap g429
	fault_fired "$(fired_count)"
	assert_equal "$(posts g429)" "sa=1 role=1 rb=1 cr=1 crb=1 job=1"
	eventually 10 test -z "$(left g429)"
}

@test "500/503 burst | gpusnap --deploy-agent: a burst on every create is retried; each made once; nothing left" {
	inject '[{"method":"POST","path":"/g503/(serviceaccounts|roles|rolebindings|jobs)$","action":"503","count":4},
		{"method":"POST","path":"/clusterrolebindings$","action":"500","count":1}]'
	snap g503
	fault_fired "$(fired_count)"
	assert_equal "$(fired_count)" 5
	assert_equal "$(posts g503)" "sa=1 role=1 rb=1 cr=1 crb=1 job=1"
	eventually 10 test -z "$(left g503)"
}

@test "dropped connection | gpusnap --deploy-agent: creates whose answers are lost after the write are not made twice" {
	inject '[{"method":"POST","path":"/gdrop/roles$","action":"drop-body"},
		{"method":"POST","path":"/gdrop/jobs$","action":"drop-body"},
		{"method":"POST","path":"/clusterroles$","action":"drop"}]'
	snap gdrop
	fault_fired "$(fired_count)"
	# the lost creates are retried, answered AlreadyExists, and taken as made
	assert_equal "$(reqs "len([e for e in r if e['method'] == 'POST' and e['code'] == 409 and re.search('/gdrop/(roles|jobs)$', e['path'])])")" 2
	assert_equal "$(posts gdrop)" "sa=1 role=1 rb=1 cr=1 crb=1 job=1"
	eventually 10 test -z "$(left gdrop)"
}

@test "dropped connection | gpusnap agent: the agent's reads and its ConfigMap write survive drops; the snapshot is whole" {
	inject '[{"method":"GET","path":"^/api/v1/nodes/wlkit-node-1$","action":"drop"},
		{"method":"PATCH","path":"/gagent/configmaps/","action":"drop-body"},
		{"method":"GET","path":"/gagent/configmaps/gpusnap-","action":"503","count":2}]'
	snap gagent
	fault_fired "$(fired_count)"
	eventually 10 test -z "$(left gagent)"
}
