#!/usr/bin/env bats
# kubectl-gpusnap's frame: usage errors, the Snapshot's metadata, output to
# stdout, files and ConfigMaps (and the 1 MiB limit), loading from them,
# diff, the K8s collector against the fake control plane, and completion.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" up "$BATS_FILE_TMPDIR/c" >&3 2>&1
	export KUBECONFIG="$BATS_FILE_TMPDIR/c/kubeconfig"
}

teardown_file() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" down "$BATS_FILE_TMPDIR/c" >/dev/null 2>&1 || true
}

# requests PATTERN: the writes of the fake's log whose path matches.
requests() {
	local c="$BATS_FILE_TMPDIR/c"
	curl -s --cacert "$c/ca.crt" -H "Authorization: Bearer $(cat "$c/token")" \
		"https://127.0.0.1:$(cat "$c/port")/_wlkit/requests" |
		python3 -c 'import json,re,sys
for r in json.load(sys.stdin)["requests"]:
    if re.search(sys.argv[1], r["path"]) and r["method"] != "GET":
        print(r["method"], r["path"])' "$1"
}

# jget FILE EXPR: a python expression on d, a JSON snapshot, printed as JSON.
jget() {
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(json.dumps(eval(sys.argv[2])))' "$1" "$2"
}

# snap FILE NODE DRIVER SWAPPINESS [EXTRA-OS-LINES]: a hand-written snapshot.
snap() {
	cat >"$1" <<-EOF
	apiVersion: wlkit.dev/v1alpha1
	kind: Snapshot
	metadata:
	  timestamp: "2026-01-0${5:-2}T18:01:13Z"
	  version: 0.1.${5:-0}
	  source-node: $2
	  collectors: [os, gpu]
	  skipped: {}
	measurements:
	- type: OS
	  subtypes:
	  - subtype: sysctl
	    data:
	      /proc/sys/vm/swappiness: $4
	      /proc/sys/kernel/pid_max: 4194304
	  - subtype: kmod
	    data:
	      nvidia: true
	- type: GPU
	  subtypes:
	  - subtype: smi
	    data:
	      driver: $3
	      gpu-count: 8
	EOF
}

# no_cluster CMD...: runs CMD with no kubeconfig and no in-cluster config.
no_cluster() {
	env -u KUBERNETES_SERVICE_HOST -u KUBERNETES_SERVICE_PORT \
		KUBECONFIG="$BATS_TEST_TMPDIR/none" HOME="$BATS_TEST_TMPDIR" "$@"
}

@test "usage errors exit 2 with one error line and collect nothing" {
	run -2 kubectl-gpusnap --collectors os,bogus
	assert_line --index 0 "error: unknown collector 'bogus' (valid: os, gpu, systemd, k8s)"
	run -2 kubectl-gpusnap --image busybox
	assert_line --index 0 "error: --image needs --deploy-agent"
	run -2 kubectl-gpusnap --all-nodes
	assert_line --index 0 "error: --all-nodes needs --deploy-agent"
	run -2 kubectl-gpusnap --timeout 1m
	assert_line --index 0 "error: --timeout needs --deploy-agent"
	run -2 kubectl-gpusnap --deploy-agent --root /
	assert_line --index 0 "error: --root cannot be used with --deploy-agent"
	run -2 kubectl-gpusnap --deploy-agent --image-pull-policy Sometimes
	assert_line --index 0 --partial "must be one of Always|IfNotPresent|Never"
	run -2 kubectl-gpusnap --format xml
	assert_line --index 0 --partial "must be one of yaml|json"
	run -2 kubectl-gpusnap -o cm://Bad_NS/x
	assert_line --index 0 --partial "error: invalid namespace 'Bad_NS' in 'cm://Bad_NS/x'"
	run -2 kubectl-gpusnap -o cm://default
	assert_line --index 0 "error: invalid ConfigMap address 'cm://default': want cm://NAMESPACE/NAME"
	run -2 kubectl-gpusnap diff only-one.yaml
	assert_line --index 0 --partial "needs 2 arguments"
	run -2 kubectl-gpusnap snapshot extra
	assert_line --index 0 "error: unexpected argument 'extra'"
	[ -z "$(requests 'configmaps')" ]
}

@test "a snapshot names its source node, the collectors that ran and why others were skipped" {
	run -0 --separate-stderr no_cluster env NODE_NAME=node-a KUBERNETES_NODE_NAME=node-b \
		kubectl-gpusnap --collectors os,k8s --format json
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/s.json"
	[ "$(jget "$BATS_TEST_TMPDIR/s.json" 'd["apiVersion"], d["kind"]')" = '["wlkit.dev/v1alpha1", "Snapshot"]' ]
	[ "$(jget "$BATS_TEST_TMPDIR/s.json" 'd["metadata"]["source-node"]')" = '"node-a"' ]
	[ "$(jget "$BATS_TEST_TMPDIR/s.json" 'd["metadata"]["collectors"]')" = '["os"]' ]
	[ "$(jget "$BATS_TEST_TMPDIR/s.json" 'd["metadata"]["skipped"]')" = '{"k8s": "no cluster configured"}' ]
	[ "$(jget "$BATS_TEST_TMPDIR/s.json" 'd["metadata"]["version"]')" = "\"$(kubectl-gpusnap --version | awk '{print $3}')\"" ]
	jget "$BATS_TEST_TMPDIR/s.json" 'd["metadata"]["timestamp"]' | grep -Eq '^"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"$'
	# without a kubeconfig a laptop's k8s collector is skipped quietly
	refute_line --partial "K8s"
	[[ "$stderr" != *K8s* && "$stderr" != *kubeconfig* ]]

	run -0 no_cluster env -u NODE_NAME KUBERNETES_NODE_NAME=node-b kubectl-gpusnap --collectors os
	assert_line "  source-node: node-b"
	run -0 no_cluster env -u NODE_NAME -u KUBERNETES_NODE_NAME HOSTNAME=node-c kubectl-gpusnap --collectors os
	assert_line "  source-node: node-c"
}

@test "a file is written whole through a temporary file beside it, and json follows the .json name" {
	local d=$BATS_TEST_TMPDIR
	run -0 kubectl-gpusnap --collectors os -o "$d/s.yaml"
	assert_output ""
	run -0 head -2 "$d/s.yaml"
	assert_output $'apiVersion: wlkit.dev/v1alpha1\nkind: Snapshot'
	run -0 ls -A "$d"
	assert_output "s.yaml"
	run -0 kubectl-gpusnap --collectors os -o "$d/s.json"
	[ "$(jget "$d/s.json" 'd["kind"]')" = '"Snapshot"' ]
	run -0 kubectl-gpusnap --collectors os --format yaml -o "$d/y.json"
	run -0 head -1 "$d/y.json"
	assert_output "apiVersion: wlkit.dev/v1alpha1"
	# a target that cannot be replaced: an error, and no temporary file
	# left behind
	mkdir "$d/dir"
	run -1 kubectl-gpusnap --collectors os -o "$d/dir"
	assert_output --partial "error: cannot write '$d/dir': Is a directory"
	run -0 ls -A "$d"
	assert_output $'dir\ns.json\ns.yaml\ny.json'
	run -1 kubectl-gpusnap --collectors os -o "$d/missing/s.yaml"
	assert_output --partial "error: cannot write '$d/missing/s.yaml': No such file or directory"
}

@test "cm:// writes a ConfigMap with server-side apply that diff and kubectl read back" {
	local d=$BATS_TEST_TMPDIR
	run -0 --separate-stderr env NODE_NAME=node-a kubectl-gpusnap --collectors os,gpu -o cm://default/snap-a
	assert_output ""
	[ "$stderr" = "snapshot written to configmap 'default/snap-a'" ]
	run -0 requests 'configmaps/snap-a'
	assert_output "PATCH /api/v1/namespaces/default/configmaps/snap-a"
	run -0 kubectl get configmap snap-a -o jsonpath='{.metadata.managedFields[0].manager} {.metadata.managedFields[0].operation}'
	assert_output "kubectl-gpusnap Apply"
	run -0 kubectl get configmap snap-a -o jsonpath='{.data.format} {.data.timestamp}'
	assert_output --regexp '^yaml [0-9-]+T[0-9:]+Z$'
	kubectl get configmap snap-a -o jsonpath='{.data.snapshot\.yaml}' >"$d/from-cm.yaml"
	run -0 grep -c '^  source-node: node-a$' "$d/from-cm.yaml"
	run -0 kubectl-gpusnap diff cm://default/snap-a "$d/from-cm.yaml"
	assert_output ""
	# JSON: snapshot.json, read back the same way
	run -0 kubectl-gpusnap --collectors os --format json -o cm://default/snap-j
	run -0 kubectl get configmap snap-j -o jsonpath='{.data.format}'
	assert_output json
	kubectl get configmap snap-j -o jsonpath='{.data.snapshot\.json}' >"$d/j.json"
	run -0 kubectl-gpusnap diff cm://default/snap-j "$d/j.json"
	run -1 kubectl-gpusnap diff cm://default/snap-j "$d/from-cm.yaml"
	run -2 kubectl-gpusnap diff cm://default/absent "$d/j.json"
	assert_output 'Error from server (NotFound): configmaps "absent" not found'
}

@test "a snapshot over the ConfigMap limit of 1 MiB is refused before anything is sent" {
	local r=$BATS_TEST_TMPDIR/root
	mkdir -p "$r/proc/sys/kernel"
	# 280 sysctl readings of 4000 bytes: 1.1 MB of YAML
	python3 -c 'import sys
for i in range(280): open("%s/proc/sys/kernel/k%03d" % (sys.argv[1], i), "w").write("x" * 4000)' "$r"
	run -1 kubectl-gpusnap --root "$r" --collectors os -o cm://default/too-big
	assert_output --regexp "error: snapshot for 'cm://default/too-big' is [0-9]+ bytes, over the ConfigMap limit of 1048576 bytes"
	[ -z "$(requests 'configmaps/too-big')" ]
	run -1 kubectl get configmap too-big
	# the same snapshot fits a file
	run -0 kubectl-gpusnap --root "$r" --collectors os -o "$BATS_TEST_TMPDIR/big.yaml"
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/big.yaml")" -gt 1048576 ]
}

@test "diff prints each changed reading and exits 1, 0 when only metadata differs" {
	local d=$BATS_TEST_TMPDIR
	snap "$d/a.yaml" node-a 550.54.15 60 2
	snap "$d/b.yaml" node-a 570.133.20 10 3
	run -1 kubectl-gpusnap diff "$d/a.yaml" "$d/b.yaml"
	assert_output - <<-EOF
	# source-node: node-a
	OS/sysctl /proc/sys/vm/swappiness: 60 -> 10
	GPU/smi driver: 550.54.15 -> 570.133.20
	EOF
	# timestamps and versions differ here: not a change
	snap "$d/a2.yaml" node-a 550.54.15 60 5
	run -0 kubectl-gpusnap diff "$d/a.yaml" "$d/a2.yaml"
	assert_output ""
	# a reading gone, one new; stdin as B
	sed -e 's/^      nvidia: true/      nvidia_peermem: true/' "$d/a.yaml" >"$d/c.yaml"
	run -1 kubectl-gpusnap diff "$d/a.yaml" - <"$d/c.yaml"
	assert_output - <<-EOF
	# source-node: node-a
	- OS/kmod nvidia: true
	+ OS/kmod nvidia_peermem: true
	EOF
}

@test "diff reads JSON and YAML alike and matches several snapshots by source node" {
	local d=$BATS_TEST_TMPDIR
	snap "$d/a.yaml" node-a 550.54.15 60
	snap "$d/b.yaml" node-b 550.54.15 60
	snap "$d/b2.yaml" node-b 570.133.20 60
	snap "$d/c.yaml" node-c 550.54.15 60
	python3 -c 'import json,sys; print(json.dumps({"kind":"Snapshot","apiVersion":"wlkit.dev/v1alpha1","metadata":{"source-node":"node-a"},"measurements":[{"type":"OS","subtypes":[{"subtype":"sysctl","data":{"/proc/sys/vm/swappiness":60,"/proc/sys/kernel/pid_max":4194304}},{"subtype":"kmod","data":{"nvidia":True}}]},{"type":"GPU","subtypes":[{"subtype":"smi","data":{"driver":"550.54.15","gpu-count":8}}]}]}, indent="\t"))' >"$d/a.json"
	run -0 kubectl-gpusnap diff "$d/a.json" "$d/a.yaml"
	# JSON objects one after another, as a stream
	sed 's/node-a/node-b/' "$d/a.json" | cat "$d/a.json" - >"$d/ab.json"
	{ cat "$d/a.yaml"; echo ---; cat "$d/b.yaml"; } >"$d/ab.yaml"
	run -0 kubectl-gpusnap diff "$d/ab.json" "$d/ab.yaml"
	# one stream per side, nodes in any order
	{ cat "$d/a.yaml"; echo ---; cat "$d/b.yaml"; } >"$d/before.yaml"
	{ cat "$d/b2.yaml"; echo ---; cat "$d/c.yaml"; } >"$d/after.yaml"
	run -1 kubectl-gpusnap diff "$d/before.yaml" "$d/after.yaml"
	assert_output - <<-EOF
	- node node-a
	# source-node: node-b
	GPU/smi driver: 550.54.15 -> 570.133.20
	+ node node-c
	EOF
	# two nodes compared one to one say so in the header only
	run -1 kubectl-gpusnap diff "$d/a.yaml" "$d/b2.yaml"
	assert_line --index 0 "# source-node: node-a -> node-b"
	assert_line --index 1 "GPU/smi driver: 550.54.15 -> 570.133.20"
	# a JSON List, as --all-nodes --format json writes it
	python3 -c 'import json,sys; print(json.dumps({"apiVersion":"v1","kind":"List","items":[json.load(open(sys.argv[1]))]}))' "$d/a.json" >"$d/list.json"
	run -0 kubectl-gpusnap diff "$d/list.json" "$d/a.yaml"
}

@test "diff exits 2 on input that is not a snapshot" {
	local d=$BATS_TEST_TMPDIR
	snap "$d/a.yaml" node-a 550.54.15 60
	run -2 kubectl-gpusnap diff "$d/a.yaml" "$d/absent.yaml"
	assert_output "error: cannot read '$d/absent.yaml': No such file or directory"
	printf 'a: [1\n' >"$d/bad.yaml"
	run -2 kubectl-gpusnap diff "$d/bad.yaml" "$d/a.yaml"
	assert_output --partial "error: cannot parse '$d/bad.yaml'"
	printf 'apiVersion: v1\nkind: ConfigMap\n' >"$d/cm.yaml"
	run -2 kubectl-gpusnap diff "$d/a.yaml" "$d/cm.yaml"
	assert_output "error: '$d/cm.yaml' holds a ConfigMap where a Snapshot (wlkit.dev/v1alpha1) was expected"
	: >"$d/empty.yaml"
	run -2 kubectl-gpusnap diff "$d/a.yaml" "$d/empty.yaml"
	assert_output "error: '$d/empty.yaml' holds no snapshot"
	run -2 kubectl-gpusnap diff - -
	assert_output "error: only one of the two snapshots can come from stdin"
}

@test "the K8s collector reads the server, this node, the images in use and the ClusterPolicy" {
	local d=$BATS_TEST_TMPDIR
	kubectl apply --server-side -f - >/dev/null <<-EOF
	apiVersion: v1
	kind: Node
	metadata:
	  name: gpu-node-a
	  labels:
	    nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3
	    nvidia.com/gpu.count: "8"
	    node.kubernetes.io/instance-type: a3-highgpu-8g
	spec:
	  providerID: aws:///us-east-1a/i-0abc
	EOF
	kubectl patch node gpu-node-a --subresource=status --type=merge -p '{"status":{"allocatable":{"nvidia.com/gpu":"8"},"nodeInfo":{"kernelVersion":"6.8.0-1015-aws","osImage":"Ubuntu 22.04.4 LTS","containerRuntimeVersion":"containerd://1.7.13","kubeletVersion":"v1.30.5","architecture":"amd64"}}}' >/dev/null
	kubectl create namespace gpu-operator >/dev/null
	kubectl run cuda --image=nvcr.io/nvidia/cuda:12.4.0-base --restart=Never >/dev/null
	kubectl run dcgm -n gpu-operator --image=registry.local:5000/dcgm --restart=Never >/dev/null
	kubectl run pinned --image=busybox@sha256:0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd --restart=Never >/dev/null
	run -0 --separate-stderr env NODE_NAME=gpu-node-a kubectl-gpusnap --collectors k8s --format json
	[ -z "$stderr" ]
	printf '%s\n' "$output" >"$d/k.json"
	local k='{m["type"]: {s["subtype"]: s["data"] for s in m["subtypes"]} for m in d["measurements"]}["K8s"]'
	[ "$(jget "$d/k.json" "$k[\"server\"]")" = '{"version": "v1.32.0+wlkit", "platform": "linux/amd64", "go-version": "go1.23.4"}' ]
	[ "$(jget "$d/k.json" "$k[\"node\"][\"provider\"], $k[\"node\"][\"provider-id\"]")" = '["eks", "aws:///us-east-1a/i-0abc"]' ]
	[ "$(jget "$d/k.json" "$k[\"node\"][\"container-runtime\"], $k[\"node\"][\"kernel-version\"], $k[\"node\"][\"os-image\"], $k[\"node\"][\"kubelet-version\"]")" = '["containerd://1.7.13", "6.8.0-1015-aws", "Ubuntu 22.04.4 LTS", "v1.30.5"]' ]
	[ "$(jget "$d/k.json" "$k[\"node\"][\"allocatable.nvidia.com/gpu\"], $k[\"node\"][\"nvidia.com/gpu.product\"], $k[\"node\"][\"node.kubernetes.io/instance-type\"]")" = '[8, "NVIDIA-H100-80GB-HBM3", "a3-highgpu-8g"]' ]
	[ "$(jget "$d/k.json" "$k[\"image\"]")" = '{"nvcr.io/nvidia/cuda": "12.4.0-base", "busybox": "sha256:0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd", "registry.local:5000/dcgm": "latest"}' ]
	# no ClusterPolicy CRD: no policy, and no warning (stderr was empty)
	[ "$(jget "$d/k.json" "\"policy\" in $k")" = false ]
	[ "$(jget "$d/k.json" 'd["metadata"]["collectors"], d["metadata"]["skipped"]')" = '[["k8s"], {}]' ]

	kubectl apply --server-side -f - >/dev/null <<-EOF
	apiVersion: apiextensions.k8s.io/v1
	kind: CustomResourceDefinition
	metadata:
	  name: clusterpolicies.nvidia.com
	spec:
	  group: nvidia.com
	  names: {kind: ClusterPolicy, listKind: ClusterPolicyList, plural: clusterpolicies, singular: clusterpolicy}
	  scope: Cluster
	  versions:
	  - name: v1
	    served: true
	    storage: true
	    schema:
	      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
	EOF
	kubectl apply --server-side -f - >/dev/null <<-EOF
	apiVersion: nvidia.com/v1
	kind: ClusterPolicy
	metadata:
	  name: cluster-policy
	spec:
	  driver: {enabled: true, version: 570.133.20}
	  toolkit:
	    env:
	    - {name: CONTAINERD_RUNTIME_CLASS, value: nvidia}
	EOF
	run -0 env NODE_NAME=gpu-node-a kubectl-gpusnap --collectors k8s --format json
	printf '%s\n' "$output" >"$d/k.json"
	[ "$(jget "$d/k.json" "$k[\"policy\"]")" = '{"name": "cluster-policy", "driver.enabled": true, "driver.version": "570.133.20", "toolkit.env.0.name": "CONTAINERD_RUNTIME_CLASS", "toolkit.env.0.value": "nvidia"}' ]
}

@test "the K8s collector warns and is skipped when the cluster does not answer" {
	local d=$BATS_TEST_TMPDIR
	sed "s#server: .*#server: https://127.0.0.1:1#" "$KUBECONFIG" >"$d/kc"
	run -0 --separate-stderr env KUBECONFIG="$d/kc" NODE_NAME=n kubectl-gpusnap --collectors os,k8s --format json
	[[ "$stderr" == *"warning: K8s collector skipped: "* ]]
	printf '%s\n' "$output" >"$d/s.json"
	[ "$(jget "$d/s.json" 'd["metadata"]["collectors"], d["metadata"]["skipped"]')" = '[["os"], {"k8s": "cluster not reachable"}]' ]
	# a node the cluster does not know: the rest is still collected
	run -0 --separate-stderr env NODE_NAME=not-a-node kubectl-gpusnap --collectors k8s
	[ "$stderr" = "warning: node 'not-a-node' is not in the cluster: K8s/node not collected" ]
	assert_line "  - subtype: server"
	refute_line "  - subtype: node"
}

@test "completion offers the collectors, the pull policies and the commands" {
	run -0 kubectl-gpusnap __complete --collectors ''
	assert_output $'os\ngpu\nsystemd\nk8s\n:4'
	run -0 kubectl-gpusnap __complete --deploy-agent --image-pull-policy ''
	assert_output $'Always\nIfNotPresent\nNever\n:4'
	run -0 kubectl-gpusnap __complete ''
	assert_line --partial $'snapshot\t'
	assert_line --partial $'diff\t'
	run -0 kubectl-gpusnap __complete --
	assert_line --partial $'--deploy-agent\t'
	assert_line --partial $'--collectors\t'
}
