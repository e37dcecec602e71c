#!/usr/bin/env bats
# The fault campaign, kubectl-wlrun against the kube fake: apply and create
# under 429, 5xx bursts, dropped connections (also an answer cut mid-body
# after the write took effect), wait under cut watches and 410s, list under
# an expired continue token, delete whose answer is lost, and replies near
# --request-timeout. Each test checks the result, that nothing was made
# twice (one uid, the write requests in the log) and what is left.

bats_require_minimum_version 1.5.0
load lib
load kube-lib

# a namespace per test, so that each can list what it left
NAMESPACES="t410 t429 t503 t503b tcut tdel tdel5 tdrop te410 tlate tover tslow tunder twc"

setup_file() {
	kube_up 1
	local n
	for n in $NAMESPACES big; do
		printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' "$n"
	done | kubectl create -f - >/dev/null
	# the list tests' namespace: 5 workload pods that nothing schedules
	for n in 1 2 3 4 5; do
		printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: p%s, namespace: big, labels: {wlkit.dev/workload: p%s}}\nspec: {schedulerName: none, containers: [{name: c, image: busybox}]}\n' $n $n
	done | kubectl create -f - >/dev/null
}

# PAGED: a fault that serves the pods of "big" in pages of 2, so that a
# list takes 3 requests and 2 continue tokens
PAGED='{"method":"GET","path":"/namespaces/big/pods$","action":"page","items":2,"count":0}'

teardown_file() {
	kube_down
}

teardown() {
	unfault || true
}

# cms NAME...: a stream of ConfigMaps named NAME...
cms() {
	local n
	for n in "$@"; do
		printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {k: v}\n' "$n"
	done
}

# applied NS NAME...: the stream of those ConfigMaps for NS, in in.yaml.
applied() {
	shift
	cms "$@" >"$BATS_TEST_TMPDIR/in.yaml"
}

@test "429 Retry-After | wlrun apply: waits the Retry-After, applies each object once" {
	applied t429 a b
	inject '{"method":"PATCH","path":"/namespaces/t429/configmaps/b$","action":"429","retryAfter":1}'
	local t0=$(ms)
	run -0 kubectl-wlrun apply -n t429 -f "$BATS_TEST_TMPDIR/in.yaml"
	local took=$(($(ms) - t0))
	fault_fired "$(fired_count)"
	[ "$took" -ge 1000 ] && [ "$took" -lt 15000 ]
	assert_equal "$(count PATCH '/t429/configmaps/b$' 200)$(count PATCH '/t429/configmaps/b$' 201)" 01
	assert_equal "$(names configmaps t429)" "a b kube-root-ca.crt"
}

@test "500/503 burst | wlrun apply: retried with backoff, the object made once" {
	applied t503 a
	inject '[{"method":"PATCH","path":"/namespaces/t503/configmaps/a$","action":"503","count":2},
		{"method":"PATCH","path":"/namespaces/t503/configmaps/a$","action":"500","count":1}]'
	run -0 kubectl-wlrun apply -n t503 -f "$BATS_TEST_TMPDIR/in.yaml"
	fault_fired "$(fired_count)"
	assert_equal "$(fired_count)" 3
	assert_equal "$(count PATCH '/t503/configmaps/a$' 201)" 1
	assert_equal "$(names configmaps t503)" "a kube-root-ca.crt"
}

@test "500/503 burst | wlrun apply: a burst longer than the retries ends with one clear line, exit 1" {
	applied t503b a
	inject '{"method":"PATCH","path":"/namespaces/t503b/configmaps/a$","action":"503","count":0}'
	run -1 kubectl-wlrun apply -n t503b -f "$BATS_TEST_TMPDIR/in.yaml"
	fault_fired "$(fired_count)"
	assert_output "Error from server (ServiceUnavailable): The server is currently unable to handle the request"
	assert_equal "$(names configmaps t503b)" "kube-root-ca.crt"
}

@test "dropped connection | wlrun apply: a connection closed without an answer is retried; one object" {
	applied tdrop a
	inject '{"method":"PATCH","path":"/namespaces/tdrop/configmaps/a$","action":"drop","count":2}'
	run -0 kubectl-wlrun apply -n tdrop -f "$BATS_TEST_TMPDIR/in.yaml"
	fault_fired "$(fired_count)"
	assert_equal "$(count PATCH '/tdrop/configmaps/a$')" 3
	assert_equal "$(names configmaps tdrop)" "a kube-root-ca.crt"
}

@test "dropped connection | wlrun create: an answer cut mid-body after the write leaves one Job with one uid; it runs once" {
	inject '{"method":"PATCH","path":"/namespaces/tcut/jobs/once$","action":"drop-body"}'
	run -0 --separate-stderr kubectl-wlrun once -n tcut --kind job --image busybox --wait -- sh -c 'echo ran'
	fault_fired "$(fired_count)"
	assert_equal "$(count PATCH '/tcut/jobs/once$' 201)" 1
	assert_equal "$(names jobs tcut)" "once"
	# one Job, one pod: the retried apply changed nothing
	assert_equal "$(kubectl get pods -n tcut -o name | wc -l)" 1
	run -0 kubectl-wlrun logs once -n tcut
	assert_output "ran"
}

@test "cut watch | wlrun wait: watches cut at once are resumed; the workload completes, exit 0" {
	kubectl-wlrun w1 -n twc --kind job --image busybox -- sh -c 'sleep 2' >/dev/null
	inject '[{"method":"GET","path":"/namespaces/twc/jobs$","action":"cut-watch","afterEvents":0,"count":2},
		{"method":"GET","path":"/namespaces/twc/pods$","action":"cut-watch","afterEvents":0,"count":2}]'
	run -0 --separate-stderr kubectl-wlrun wait w1 -n twc
	fault_fired "$(fired_count)"
	[[ "$stderr" == *"w1: completed"* ]]
	assert_equal "$(names jobs twc)" "w1"
}

@test "410 on watch | wlrun wait: an HTTP 410 to the watch relists and the wait ends right" {
	kubectl-wlrun w2 -n t410 --kind job --image busybox -- sh -c 'sleep 1; exit 3' >/dev/null
	inject '[{"method":"GET","path":"/namespaces/t410/jobs$","query":"watch=","action":"410","count":2},
		{"method":"GET","path":"/namespaces/t410/pods$","query":"watch=","action":"410","count":1}]'
	run -125 --separate-stderr kubectl-wlrun wait w2 -n t410
	fault_fired "$(fired_count)"
	[[ "$stderr" == *"exited with code 3"* ]]
}

@test "410 on watch | wlrun wait: an in-stream ERROR 410 relists and the wait ends right" {
	kubectl-wlrun w3 -n te410 --kind job --image busybox -- sh -c 'sleep 1' >/dev/null
	inject '[{"method":"GET","path":"/namespaces/te410/jobs$","action":"error-410","count":2},
		{"method":"GET","path":"/namespaces/te410/pods$","action":"error-410","count":1}]'
	run -0 --separate-stderr kubectl-wlrun wait w3 -n te410
	fault_fired "$(fired_count)"
	[[ "$stderr" == *"w3: completed"* ]]
}

@test "slow response | wlrun wait: slow list and watch replies only delay the wait" {
	kubectl-wlrun w4 -n tslow --kind job --image busybox -- true >/dev/null
	inject '{"method":"GET","path":"/namespaces/tslow/","action":"delay","seconds":0.7,"count":4}'
	run -0 --separate-stderr kubectl-wlrun wait w4 -n tslow --request-timeout 5s
	fault_fired "$(fired_count)"
	[[ "$stderr" == *"w4: completed"* ]]
}

@test "slow response | wlrun apply: a reply just under --request-timeout succeeds at the first attempt" {
	applied tunder a
	inject '{"method":"PATCH","path":"/namespaces/tunder/configmaps/a$","action":"delay","seconds":1.5}'
	run -0 kubectl-wlrun apply -n tunder --request-timeout 2s -f "$BATS_TEST_TMPDIR/in.yaml"
	fault_fired "$(fired_count)"
	assert_equal "$(count PATCH '/tunder/configmaps/a$')" 1
	assert_equal "$(names configmaps tunder)" "a kube-root-ca.crt"
}

@test "slow response | wlrun apply: a reply over --request-timeout is retried; the object made once" {
	applied tover a
	inject '{"method":"PATCH","path":"/namespaces/tover/configmaps/a$","action":"delay","seconds":1.5}'
	run -0 kubectl-wlrun apply -n tover --request-timeout 1s -f "$BATS_TEST_TMPDIR/in.yaml"
	fault_fired "$(fired_count)"
	assert_equal "$(count PATCH '/tover/configmaps/a$')" 2
	assert_equal "$(kubectl get configmap a -n tover -o jsonpath='{.metadata.uid}' | wc -w)" 1
	assert_equal "$(names configmaps tover)" "a kube-root-ca.crt"
}

@test "slow response | wlrun list: replies that always exceed --request-timeout end with one clear line, no hang" {
	inject '{"method":"GET","path":"/namespaces/tlate/","action":"delay","seconds":1,"count":0}'
	local t0=$(ms)
	run -1 kubectl-wlrun list -n tlate --request-timeout 500ms
	[ $(($(ms) - t0)) -lt 20000 ]
	fault_fired "$(fired_count)"
	[ "${#lines[@]}" -eq 1 ]
	assert_output --regexp '^Unable to connect to the server: .*timed out'
}

@test "410 on continue | wlrun list: an expired paging token relists; every workload once" {
	inject '[{"method":"GET","path":"/namespaces/big/pods$","query":"continue=","action":"410","text":"The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter."},
		'"$PAGED"']'
	run -0 kubectl-wlrun list -n big
	fault_fired "$(fired_count)"
	assert_equal "$(printf '%s\n' "$output" | sed 1d | awk '{print $1}' | sort | tr '\n' ' ')" "p1 p2 p3 p4 p5 "
	# the relist paged again: 1 + 2 requests after the expired one
	assert_equal "$(reqs "len([e for e in r if e['path'].endswith('/big/pods')])")" 5
}

@test "410 on continue | wlrun list: a token that expires on every page ends with the server's line, exit 1" {
	inject '[{"method":"GET","path":"/namespaces/big/pods$","query":"continue=","action":"410","count":0,"text":"The provided continue parameter is too old to display a consistent list result."},
		'"$PAGED"']'
	run -1 kubectl-wlrun list -n big
	fault_fired "$(fired_count)"
	assert_output "Error from server (Expired): The provided continue parameter is too old to display a consistent list result."
}

@test "500/503 burst | wlrun list: retried; the list is complete" {
	inject '[{"method":"GET","path":"/namespaces/big/pods$","query":"continue=","action":"503","count":2},
		'"$PAGED"']'
	run -0 kubectl-wlrun list -n big
	fault_fired "$(fired_count)"
	assert_equal "$(printf '%s\n' "$output" | sed 1d | awk '{print $1}' | sort | tr '\n' ' ')" "p1 p2 p3 p4 p5 "
}

@test "dropped connection | wlrun delete: a DELETE whose answer is lost is not an error; nothing left" {
	kubectl-wlrun d1 -n tdel --kind job --image busybox --wait -- true >/dev/null
	inject '{"method":"DELETE","path":"/namespaces/tdel/jobs/d1$","action":"drop-body"}'
	run -0 kubectl-wlrun delete d1 -n tdel
	fault_fired "$(fired_count)"
	eventually 10 test -z "$(kubectl get jobs,pods -n tdel -o name)"
}

@test "500/503 burst | wlrun delete: retried; nothing left behind" {
	kubectl-wlrun d2 -n tdel5 --kind job --image busybox --wait -- true >/dev/null
	inject '{"method":"DELETE","path":"/namespaces/tdel5/jobs/d2$","action":"503","count":2}'
	run -0 kubectl-wlrun delete d2 -n tdel5
	fault_fired "$(fired_count)"
	eventually 10 test -z "$(kubectl get jobs,pods -n tdel5 -o name)"
}
