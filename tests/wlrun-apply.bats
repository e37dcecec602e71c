#!/usr/bin/env bats
# kubectl-wlrun apply, list and delete against the sandbox control plane:
# an idempotent mixed stream (a custom resource after its CRD), wlkit
# objects passing through, a bad kind failing before any write; the table
# of workloads and its filters; deletion, foreground with --wait, NotFound.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" up "$BATS_FILE_TMPDIR/c" --nodes 2 >&3 2>&1
	export KUBECONFIG="$BATS_FILE_TMPDIR/c/kubeconfig"
}

teardown_file() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" down "$BATS_FILE_TMPDIR/c" >/dev/null 2>&1 || true
}

stream() {
	cat <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {a: "1"}
---
apiVersion: wlkit.dev/v1alpha1
kind: ImageBuild
metadata: {name: ib}
status: {image: example/img}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
spec: {size: 3}
---
apiVersion: batch/v1
kind: Job
metadata: {name: j1}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: [sh, -c, "echo hi"]}]
YAML
}

@test "apply applies a mixed stream in order and a second run reports unchanged" {
	stream >"$BATS_TEST_TMPDIR/s.yaml"
	run --separate-stderr -0 kubectl-wlrun apply -f "$BATS_TEST_TMPDIR/s.yaml"
	[ "$stderr" = "configmap/cfg serverside-applied
customresourcedefinition.apiextensions.k8s.io/widgets.example.com serverside-applied
widget.example.com/w1 serverside-applied
job.batch/j1 serverside-applied" ]
	# the ImageBuild passes through to stdout, unapplied
	[ "$output" = "apiVersion: wlkit.dev/v1alpha1
kind: ImageBuild
metadata:
  name: ib
status:
  image: example/img" ]
	run -0 kubectl get widget w1 -o jsonpath='{.spec.size}'
	[ "$output" = 3 ]
	run -0 kubectl wait --for=condition=complete job/j1 --timeout=60s
	run --separate-stderr -0 kubectl-wlrun apply -f - <"$BATS_TEST_TMPDIR/s.yaml"
	[ "$stderr" = "configmap/cfg unchanged
customresourcedefinition.apiextensions.k8s.io/widgets.example.com unchanged
widget.example.com/w1 unchanged
job.batch/j1 unchanged" ]
	# a change is applied again
	sed 's/size: 3/size: 4/' "$BATS_TEST_TMPDIR/s.yaml" | kubectl-wlrun apply -o name >"$BATS_TEST_TMPDIR/names"
	run -0 cat "$BATS_TEST_TMPDIR/names"
	[ "${lines[3]}" = widget.example.com/w1 ]
	[ "${lines[1]}" = imagebuild.wlkit.dev/ib ]
	run -0 kubectl get widget w1 -o jsonpath='{.spec.size}'
	[ "$output" = 4 ]
}

@test "a big stream is listed once per kind instead of a GET per object" {
	for i in $(seq 20); do
		printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big-%s, namespace: big}\ndata: {i: "%s"}\n---\n' "$i" "$i"
	done >"$BATS_TEST_TMPDIR/big.yaml"
	kubectl create namespace big >/dev/null
	kubectl delete --raw /_wlkit/requests >/dev/null
	run --separate-stderr -0 kubectl-wlrun apply -f "$BATS_TEST_TMPDIR/big.yaml"
	[ "$(grep -c 'serverside-applied$' <<<"$stderr")" = 20 ]
	sed 's/i: "7"/i: "seven"/' "$BATS_TEST_TMPDIR/big.yaml" >"$BATS_TEST_TMPDIR/big2.yaml"
	run --separate-stderr -0 kubectl-wlrun apply -f "$BATS_TEST_TMPDIR/big2.yaml"
	[ "$(grep -c ' unchanged$' <<<"$stderr")" = 19 ]
	assert_equal "$(grep -v ' unchanged$' <<<"$stderr")" "configmap/big-7 serverside-applied"
	run -0 kubectl get --raw '/_wlkit/requests?path=/namespaces/big/configmaps'
	run -0 python3 -c 'import json,sys,collections
c = collections.Counter(r["method"] + (" one" if r["path"].rsplit("/", 1)[-1].startswith("big-") else " all")
			for r in json.load(sys.stdin)["requests"])
print(sorted(c.items()))' <<<"$output"
	assert_output "[('GET all', 2), ('PATCH one', 40)]"
}

@test "apply -o json prints the server's objects; dry runs write nothing" {
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry}\ndata: {k: v}\n' >"$BATS_TEST_TMPDIR/d.yaml"
	run --separate-stderr -0 kubectl-wlrun apply --dry-run=server -f "$BATS_TEST_TMPDIR/d.yaml"
	[ "$stderr" = "configmap/dry serverside-applied (server dry run)" ]
	run --separate-stderr -0 kubectl-wlrun apply --dry-run=client -f "$BATS_TEST_TMPDIR/d.yaml"
	[ "$stderr" = "configmap/dry serverside-applied (dry run)" ]
	run -1 kubectl get cm dry
	run -0 kubectl-wlrun apply -o json -f "$BATS_TEST_TMPDIR/d.yaml"
	run -0 python3 -c 'import json,sys; o=json.loads(sys.argv[1]); print(o["metadata"]["uid"] != "", o["metadata"]["managedFields"][0]["manager"])' "$output"
	[ "$output" = "True kubectl-wlrun" ]
}

@test "a bad kind or a nameless object fails before anything is written" {
	run --separate-stderr -1 kubectl-wlrun apply -f - <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: early}
---
apiVersion: nope.example.com/v1
kind: Bad
metadata: {name: b}
YAML
	[ "$stderr" = 'error: resource mapping not found for name: "b" namespace: "" from "STDIN": no matches for kind "Bad" in version "nope.example.com/v1"
ensure CRDs are installed first' ]
	run -1 kubectl get cm early
	run --separate-stderr -1 kubectl-wlrun apply -f - <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: early}
---
apiVersion: v1
metadata: {name: nokind}
YAML
	[ "$stderr" = 'error: error validating "STDIN": error validating data: kind not set' ]
	run -1 kubectl get cm early
}

@test "list shows the workloads with their status and filters them" {
	run -0 kubectl-wlrun done1 --kind job --image busybox -- sh -c 'echo hi'
	run -0 kubectl-wlrun run1 --image busybox --accelerator l4-1 -- sh -c 'sleep 600'
	run -0 kubectl-wlrun pod1 --kind pod --image busybox -- sh -c 'sleep 600'
	run -0 kubectl-wlrun queued1 --image busybox --queue nosuch -- sh -c 'sleep 1'
	run -0 kubectl wait --for=condition=complete job/done1 --timeout=60s
	run -0 kubectl wait --for=jsonpath='{.status.phase}'=Running pod/pod1 --timeout=60s
	run -0 kubectl-wlrun list
	[ "${lines[0]}" = "NAME      CREATED                PRIORITY   ACCELERATOR   SLICES   RUNNING/DONE   STATUS      MESSAGE" ]
	[ "${#lines[@]}" = 5 ]
	# rows are oldest first (names break ties within a second)
	line() { printf '%s\n' "$output" | grep "^$1 "; }
	[[ "$(line done1)" =~ \ 0/1\ +Succeeded\ +Reached ]]
	[[ "$(line run1)" =~ \ l4-1\ +1\ +[01]/0\ +Running ]]
	[[ "$(line pod1)" =~ \ 1/0\ +Running ]]
	[[ "$(line queued1)" =~ \ 0/0\ +Queued\ +jobset\ is\ suspended ]]
	run -0 kubectl-wlrun list --status succeeded
	[ "${#lines[@]}" = 2 ] && [[ "${lines[1]}" = done1\ * ]]
	run -0 kubectl-wlrun list --status finished
	[ "${#lines[@]}" = 2 ]
	run -0 kubectl-wlrun list --status queued -A
	[[ "${lines[0]}" = NAMESPACE\ * ]] && [[ "${lines[1]}" = "default     queued1 "* ]]
	run --separate-stderr -0 kubectl-wlrun list --status failed
	[ "$output" = "" ] && [ "$stderr" = "No resources found in default namespace." ]
	run -0 kubectl-wlrun list --status running -o json
	run -0 python3 -c 'import json,sys
d=json.JSONDecoder(); s=sys.argv[1]; i=0; names=[]
while i < len(s):
    o,i=d.raw_decode(s,i); names.append(o["kind"]+"/"+o["metadata"]["name"])
    while i < len(s) and s[i].isspace(): i+=1
print(" ".join(sorted(names)))' "$output"
	[ "$output" = "JobSet/run1 Pod/pod1" ]
	run -2 kubectl-wlrun list --status sleeping
}

@test "wait, logs and delete complete workload names from the cluster" {
	run -0 kubectl-wlrun __complete wait ''
	assert_output "done1	Job
pod1	Pod
queued1	JobSet
run1	JobSet
:4"
	run -0 kubectl-wlrun __complete logs -n default ru
	assert_output "run1	JobSet
:4"
	# delete takes several names; wait and logs one
	run -0 kubectl-wlrun __complete delete done1 p
	assert_output "pod1	Pod
:4"
	run -0 kubectl-wlrun __complete wait done1 ''
	assert_output ":4"
	# the namespace on the line counts; an unreachable cluster offers nothing
	run -0 kubectl-wlrun __complete wait --namespace=big ''
	assert_output ":4"
	run --separate-stderr -0 kubectl-wlrun __complete --server https://127.0.0.1:1 wait ''
	assert_output ":4"
	# through the real kubectl's completion of plugins
	PATH="$WLKIT_ROOT/completions:$PATH" run --separate-stderr -0 kubectl __complete wlrun wait d
	assert_line --index 0 "done1	Job"
}

@test "delete removes workloads, waits in the foreground, reports NotFound" {
	run -0 kubectl get pods -l wlkit.dev/workload=run1 -o name
	[ -n "$output" ]
	run --separate-stderr -0 kubectl-wlrun delete run1 --wait
	[ "$output" = 'jobset.jobset.x-k8s.io "run1" deleted' ]
	run -0 kubectl get jobsets,jobs,pods -l wlkit.dev/workload=run1 -o name
	[ "$output" = "" ]
	run --separate-stderr -1 kubectl-wlrun delete nosuch done1
	[ "$stderr" = 'Error from server (NotFound): workloads "nosuch" not found' ]
	[ "$output" = 'job.batch "done1" deleted' ]
	run -1 kubectl get job done1
	run -0 kubectl-wlrun delete --all
	[ "$output" = 'pod "pod1" deleted
jobset.jobset.x-k8s.io "queued1" deleted' ] || [ "$output" = 'jobset.jobset.x-k8s.io "queued1" deleted
pod "pod1" deleted' ]
	run --separate-stderr -0 kubectl-wlrun list
	[ "$stderr" = "No resources found in default namespace." ]
	run -2 kubectl-wlrun delete
}
