#!/usr/bin/env bats
# tests/vkcmd-io.bats - kubectl-vkcmd's file and socket parts
# (plugins/vkcmd/vkcmd_io.h): the container log writer, the kubelet HTTPS
# API, volumes and bubblewrap mounts, through a small test program built
# from those sources (tests/vkcmd-io/vkio.c) against the local control plane.

load helpers

setup_file() {
	export D="$BATS_FILE_TMPDIR/cluster" W="$BATS_FILE_TMPDIR/node"
	export NODE=vkio-node
	# built by `make unit` in the mode of the run (plain or sanitize)
	export VKIO="$WLKIT_ROOT/build/${MODE:-plain}/tests/vkio"
	[ -x "$VKIO" ] || make -C "$WLKIT_ROOT" --no-print-directory unit >&3 2>&1
	cluster_up "$D"
	mkdir -p "$W/pods"
	"$VKIO" kubelet "$W" "$NODE" >"$BATS_FILE_TMPDIR/kport" 2>"$BATS_FILE_TMPDIR/klog" &
	echo $! >"$BATS_FILE_TMPDIR/kpid"
	for _ in $(seq 100); do
		[ -s "$BATS_FILE_TMPDIR/kport" ] && break
		sleep 0.05
	done
	export KPORT=$(cat "$BATS_FILE_TMPDIR/kport")
	[ -n "$KPORT" ]
}

teardown_file() {
	[ -r "$BATS_FILE_TMPDIR/kpid" ] && kill "$(cat "$BATS_FILE_TMPDIR/kpid")" 2>/dev/null
	cluster_down "$D"
}

# kget PATH: GET from the kubelet API; the HTTP status follows the body.
kget() {
	curl -sSk --max-time 10 -w '%{http_code}' "https://127.0.0.1:$KPORT$1"
}

# podrun POD CTR RESTART CMD...: one run of a container of pod POD (uid u-POD).
podrun() {
	local pod=$1 ctr=$2 n=$3
	shift 3
	"$VKIO" log "$W/pods/default_${pod}_u-$pod" "$ctr" "$n" -- "$@"
}

@test "the log writer records stdout and stderr as CRI lines, joining a line written in pieces" {
	run podrun w1 c 0 sh -c 'echo one; echo two >&2; printf "par"; sleep 0.2; printf "tial\n"; printf "no newline"; exit 3'
	assert_failure 3
	run cat "$W/pods/default_w1_u-w1/logs/c/0.log"
	assert_line --index 0 --regexp '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z stdout F one$'
	assert_line --index 1 --regexp 'Z stderr F two$'
	assert_line --index 2 --regexp 'Z stdout F partial$'
	assert_line --index 3 --regexp 'Z stdout F no newline$'
	assert_equal "${#lines[@]}" 4
}

@test "a line over 16 KiB is written as P lines and read back whole" {
	run podrun w2 c 0 sh -c 'head -c 40000 /dev/zero | tr "\0" x; echo'
	assert_success
	run cut -d' ' -f2,3 "$W/pods/default_w2_u-w2/logs/c/0.log"
	assert_output $'stdout P\nstdout P\nstdout F'
	run kget /containerLogs/default/w2/c
	assert_line --index 0 "$(head -c 40000 /dev/zero | tr '\0' x)"
	assert_line --index 1 200
}

@test "logs are 0600 under 0700 directories and a run ends with its .done marker" {
	run podrun w3 c 0 true
	run stat -c '%a %n' "$W/pods/default_w3_u-w3/logs" "$W/pods/default_w3_u-w3/logs/c" \
		"$W/pods/default_w3_u-w3/logs/c/0.log" "$W/pods/default_w3_u-w3/logs/c/0.done"
	assert_line --index 0 --partial "700 "
	assert_line --index 1 --partial "700 "
	assert_line --index 2 --partial "600 "
	assert_line --index 3 --partial "600 "
}

@test "the kubelet API answers /healthz over TLS with a certificate for the node" {
	run kget /healthz
	assert_output $'ok\n200'
	run bash -c "openssl s_client -connect 127.0.0.1:$KPORT </dev/null 2>/dev/null |
		openssl x509 -noout -ext subjectAltName"
	assert_output --partial "DNS:$NODE"
	assert_output --partial "IP Address:127.0.0.1"
}

@test "containerLogs serves the text, timestamps, tailLines, limitBytes and sinceSeconds" {
	podrun l1 c 0 sh -c 'for i in 1 2 3 4 5; do echo line$i; done; echo err >&2'
	run kget /containerLogs/default/l1/c
	assert_output $'line1\nline2\nline3\nline4\nline5\nerr\n200'
	run kget '/containerLogs/default/l1/c?tailLines=2'
	assert_output $'line5\nerr\n200'
	run kget '/containerLogs/default/l1/c?tailLines=0'
	assert_output 200
	run kget '/containerLogs/default/l1/c?timestamps=true&tailLines=1'
	assert_line --index 0 --regexp '^20[0-9-]{8}T[0-9:]{8}\.[0-9]{9}Z err$'
	run kget '/containerLogs/default/l1/c?limitBytes=8'
	assert_output $'line1\nli200'
	run kget '/containerLogs/default/l1/c?sinceSeconds=3600'
	assert_line --index 0 line1
	sleep 1.1
	run kget '/containerLogs/default/l1/c?sinceSeconds=1'
	assert_output 200
}

@test "previous serves the run before the newest" {
	podrun r1 c 0 echo first run
	podrun r1 c 1 echo second run
	run kget /containerLogs/default/r1/c
	assert_output $'second run\n200'
	run kget '/containerLogs/default/r1/c?previous=true'
	assert_output $'first run\n200'
}

@test "an unknown pod or container is 404 and a bad parameter 400, with a plain message" {
	podrun e1 c 0 true
	run kget /containerLogs/default/nope/c
	assert_output $'pod "nope" does not exist\n404'
	run kget /containerLogs/default/e1/nope
	assert_output $'container "nope" not found in pod "e1"\n404'
	run kget '/containerLogs/default/e1/c?previous=true'
	assert_output $'previous terminated container "c" in pod "e1" not found\n400'
	run kget '/containerLogs/default/e1/c?tailLines=x'
	assert_line --index 1 400
	run kget '/containerLogs/default/e1/c?limitBytes=0'
	assert_output $'limitBytes must be a number greater than 0\n400'
	run kget '/containerLogs/default/e1/c?follow=maybe'
	assert_line --index 1 400
	run kget /nowhere
	assert_line --index 1 404
}

@test "follow streams lines written while following and ends at the run's end" {
	podrun f1 c 0 sh -c 'echo before; sleep 1.5; echo after; sleep 0.5; echo last' &
	local runner=$!
	for _ in $(seq 100); do
		grep -q before "$W/pods/default_f1_u-f1/logs/c/0.log" 2>/dev/null && break
		sleep 0.05
	done
	local t0=$SECONDS
	run kget '/containerLogs/default/f1/c?follow=true'
	wait "$runner"
	assert_output $'before\nafter\nlast\n200'
	[ $((SECONDS - t0)) -lt 5 ]
}

@test "follow of a finished run ends at once; tailLines and follow together" {
	podrun f2 c 0 sh -c 'echo a; echo b; echo c'
	run timeout 5 curl -sSk "https://127.0.0.1:$KPORT/containerLogs/default/f2/c?follow=true&tailLines=1"
	assert_success
	assert_output c
}

# The pod of the volume tests, made once (the control plane adds its uid
# and the kube-api-access projected volume).
vol_pod() {
	[ -s "$BATS_FILE_TMPDIR/pod.json" ] && return 0
	kubectl create -f - >/dev/null <<-'YAML' || return 1
	apiVersion: v1
	kind: ConfigMap
	metadata: {name: demo-config}
	data: {app.conf: "port=8080\n", other: x}
	binaryData: {bin: AAEC}
	---
	apiVersion: v1
	kind: Secret
	metadata: {name: demo-secret}
	data: {password: c2VjcmV0}
	---
	apiVersion: v1
	kind: Pod
	metadata:
	  name: vol-pod
	  labels: {app: demo, tier: be}
	  annotations: {note: 'say "hi"'}
	spec:
	  containers:
	  - name: main
	    image: busybox
	    resources: {limits: {cpu: 500m, memory: 64Mi}}
	    volumeMounts:
	    - {name: cfg, mountPath: /etc/vkio-demo}
	    - {name: cfg-all, mountPath: /etc/vkio-all}
	    - {name: sec, mountPath: /etc/vkio-secret}
	    - {name: info, mountPath: /etc/vkio-info}
	    - {name: scratch, mountPath: /vkio-scratch}
	    - {name: cfg, mountPath: /etc/vkio-single.conf, subPath: conf/app.conf}
	    - {name: scratch, mountPath: /tmp/vkio-sub, subPath: sub/dir}
	  volumes:
	  - name: cfg
	    configMap:
	      name: demo-config
	      defaultMode: 416
	      items: [{key: app.conf, path: conf/app.conf, mode: 384}, {key: bin, path: bin}]
	  - {name: cfg-all, configMap: {name: demo-config}}
	  - {name: sec, secret: {secretName: demo-secret, defaultMode: 256}}
	  - {name: missing, configMap: {name: nope, optional: true}}
	  - name: info
	    downwardAPI:
	      items:
	      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
	      - {path: annotations, fieldRef: {fieldPath: metadata.annotations}}
	      - {path: name, fieldRef: {fieldPath: metadata.name}}
	      - {path: tier, fieldRef: {fieldPath: "metadata.labels['tier']"}}
	      - {path: cpu, resourceFieldRef: {containerName: main, resource: limits.cpu, divisor: 1m}}
	      - {path: mem, resourceFieldRef: {containerName: main, resource: limits.memory, divisor: 1Mi}}
	  - {name: scratch, emptyDir: {}}
	YAML
	kubectl get pod vol-pod -o json >"$BATS_FILE_TMPDIR/pod.json"
}

# vols [-- CMD...]: prepares vol-pod's volumes under $POD_DIR; prints the
# mounts, or runs CMD in bwrap with them. Call pod_dir first.
pod_dir() {
	vol_pod || return 1
	local uid
	uid=$(json 'o["metadata"]["uid"]' <"$BATS_FILE_TMPDIR/pod.json")
	POD_DIR="$W/pods/default_vol-pod_$uid"
	mkdir -p "$POD_DIR"
}

vols() {
	"$VKIO" volumes "$BATS_FILE_TMPDIR/pod.json" "$POD_DIR" main "$@"
}

need_bwrap() {
	bwrap --ro-bind / / --dev /dev --proc /proc true 2>/dev/null ||
		skip "bubblewrap cannot make a mount namespace here"
}

json() {
	python3 -I -S -c 'import json, sys; o = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

@test "configMap and secret volumes are files with their items and modes" {
	pod_dir
	run vols
	assert_success
	local v="$POD_DIR/volumes"
	run stat -c '%a %n' "$v/cfg/conf/app.conf" "$v/cfg/bin" "$v/cfg-all/app.conf" \
		"$v/cfg-all/other" "$v/cfg-all/bin" "$v/sec/password"
	assert_output "600 $v/cfg/conf/app.conf
640 $v/cfg/bin
644 $v/cfg-all/app.conf
644 $v/cfg-all/other
644 $v/cfg-all/bin
400 $v/sec/password"
	assert_equal "$(cat "$v/cfg/conf/app.conf")" "port=8080"
	assert_equal "$(od -An -tx1 "$v/cfg/bin" | tr -d ' ')" "000102"
	assert_equal "$(cat "$v/sec/password")" "secret"
	[ ! -e "$v/cfg/other" ]
	[ -d "$v/missing" ] && [ -z "$(ls -A "$v/missing")" ]
	run stat -c %a "$v/scratch"
	assert_output 777
}

@test "the mounts of a container: read-only volumes, subPath, emptyDir read-write" {
	pod_dir
	run vols
	assert_success
	assert_line "$POD_DIR/volumes/cfg /etc/vkio-demo ro"
	assert_line "$POD_DIR/volumes/sec /etc/vkio-secret ro"
	assert_line "$POD_DIR/volumes/scratch /vkio-scratch rw"
	assert_line "$POD_DIR/volumes/cfg/conf/app.conf /etc/vkio-single.conf ro"
	assert_line "$POD_DIR/volumes/scratch/sub/dir /tmp/vkio-sub rw"
	assert_line --regexp "^$POD_DIR/volumes/kube-api-access-[a-z0-9]+ /var/run/secrets/kubernetes.io/serviceaccount ro$"
	[ -d "$POD_DIR/volumes/scratch/sub/dir" ]
}

@test "downwardAPI files hold the pod's fields and the container's limits" {
	pod_dir
	run vols
	assert_success
	local v="$POD_DIR/volumes/info"
	assert_equal "$(cat "$v/labels")" $'app="demo"\ntier="be"'
	assert_equal "$(cat "$v/annotations")" 'note="say \"hi\""'
	assert_equal "$(cat "$v/name")" vol-pod
	assert_equal "$(cat "$v/tier")" be
	assert_equal "$(cat "$v/cpu")" 500
	assert_equal "$(cat "$v/mem")" 64
}

@test "the projected service-account token is one the API server accepts; RBAC decides" {
	pod_dir
	run vols
	assert_success
	local sa
	sa=$(ls -d "$POD_DIR"/volumes/kube-api-access-*)
	assert_equal "$(cat "$sa/namespace")" default
	cmp "$sa/ca.crt" "$D/ca.crt"
	run curl -sS --cacert "$sa/ca.crt" -H "Authorization: Bearer $(cat "$sa/token")" \
		-w '\n%{http_code}' "https://127.0.0.1:$(cat "$D/port")/api/v1/namespaces/default/configmaps"
	assert_line --partial 'system:serviceaccount:default:default'
	assert_line 403
	kubectl create role vkio-cm --verb=list --resource=configmaps >/dev/null
	kubectl create rolebinding vkio-cm --role=vkio-cm --serviceaccount=default:default >/dev/null
	run curl -sS --cacert "$sa/ca.crt" -H "Authorization: Bearer $(cat "$sa/token")" \
		-o /dev/null -w '%{http_code}' "https://127.0.0.1:$(cat "$D/port")/api/v1/namespaces/default/configmaps"
	assert_output 200
}

@test "a missing configMap, an unknown key or a failed hostPath check is an error naming the volume" {
	local pod="$BATS_FILE_TMPDIR/bad.json"
	printf '%s' '{"metadata":{"name":"b","namespace":"default","uid":"u"},"spec":{"containers":[{"name":"main"}],"volumes":[{"name":"gone","configMap":{"name":"nope"}}]}}' >"$pod"
	run "$VKIO" volumes "$pod" "$W/pods/default_b_u" main
	assert_failure
	assert_output --partial 'configmaps "nope" not found'
	assert_output --partial 'volume "gone"'
	printf '%s' '{"metadata":{"name":"b","namespace":"default","uid":"u"},"spec":{"containers":[{"name":"main"}],"volumes":[{"name":"k","configMap":{"name":"demo-config","items":[{"key":"nokey","path":"x"}]}}]}}' >"$pod"
	run "$VKIO" volumes "$pod" "$W/pods/default_b_u" main
	assert_failure
	assert_output --partial 'configmap references non-existent config key: nokey'
	printf '%s' '{"metadata":{"name":"b","namespace":"default","uid":"u"},"spec":{"containers":[{"name":"main"}],"volumes":[{"name":"h","hostPath":{"path":"/nonexistent-vkio","type":"Directory"}}]}}' >"$pod"
	run "$VKIO" volumes "$pod" "$W/pods/default_b_u" main
	assert_failure
	assert_output --partial 'hostPath type check failed: /nonexistent-vkio is not a directory'
	printf '%s' '{"metadata":{"name":"b","namespace":"default","uid":"u"},"spec":{"containers":[{"name":"main","volumeMounts":[{"name":"h","mountPath":"/h"}]}],"volumes":[{"name":"h","hostPath":{"path":"'"$BATS_TEST_TMPDIR"'/made","type":"DirectoryOrCreate"}}]}}' >"$pod"
	run "$VKIO" volumes "$pod" "$W/pods/default_b_u" main
	assert_success
	assert_output "$BATS_TEST_TMPDIR/made /h rw"
	[ -d "$BATS_TEST_TMPDIR/made" ]
}

@test "inside bwrap the pod sees its volumes at their mountPaths, and the host is unchanged" {
	need_bwrap
	local had_sa=no
	[ -e /run/secrets/kubernetes.io ] && had_sa=yes
	pod_dir
	run vols -- sh -c 'cat /var/run/secrets/kubernetes.io/serviceaccount/namespace; echo;
		ls -l /var/run/secrets/kubernetes.io/serviceaccount/;
		cat /etc/vkio-demo/conf/app.conf /etc/vkio-single.conf /etc/vkio-secret/password; echo;
		touch /etc/vkio-demo/new 2>/dev/null && echo wrote-readonly;
		echo hi >/vkio-scratch/out && echo wrote-scratch; cat /etc/hostname >/dev/null && echo host-etc'
	assert_success
	assert_line --index 0 default
	assert_line --regexp '^-.* token$'
	assert_line --regexp '^-.* ca.crt$'
	assert_line --regexp '^-.* namespace$'
	assert_line --index 5 port=8080
	assert_line --index 6 port=8080
	assert_line --index 7 secret
	refute_line wrote-readonly
	assert_line wrote-scratch
	assert_line host-etc
	assert_equal "$(cat "$POD_DIR/volumes/scratch/out")" hi
	[ "$had_sa" = yes ] || [ ! -e /run/secrets/kubernetes.io ]
	[ ! -e /etc/vkio-demo ] && [ ! -e /etc/vkio-single.conf ] && [ ! -e /vkio-scratch ]
}

@test "a program inside the pod uses the in-cluster config: token, ca.crt, namespace" {
	need_bwrap
	mkdir -p "$BATS_TEST_TMPDIR/home"
	kubectl create role vkio-get --verb=get --resource=configmaps >/dev/null
	kubectl create rolebinding vkio-get --role=vkio-get --serviceaccount=default:default >/dev/null
	pod_dir
	run vols -- env -u KUBECONFIG HOME="$BATS_TEST_TMPDIR/home" KUBERNETES_SERVICE_HOST=127.0.0.1 \
		KUBERNETES_SERVICE_PORT="$(cat "$D/port")" kubectl get configmap demo-config -o name
	assert_line configmap/demo-config
}

# A Node whose kubelet endpoint is this suite's kubelet API, and a pod bound
# to it whose log the suite writes.
node_pod() {
	kubectl get node "$NODE" >/dev/null 2>&1 || {
		kubectl create -f - >/dev/null <<-YAML || return 1
		apiVersion: v1
		kind: Node
		metadata: {name: $NODE}
		YAML
		kubectl patch node "$NODE" --subresource=status --type=merge -p \
			'{"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.1"}],"daemonEndpoints":{"kubeletEndpoint":{"Port":'"$KPORT"'}}}}' >/dev/null || return 1
	}
	kubectl create -f - >/dev/null <<-YAML || return 1
	apiVersion: v1
	kind: Pod
	metadata: {name: $1}
	spec:
	  nodeName: $NODE
	  automountServiceAccountToken: false
	  containers: [{name: main, image: busybox}]
	YAML
	PUID=$(kubectl get pod "$1" -o jsonpath='{.metadata.uid}')
}

@test "kubectl logs reaches the kubelet API through the control plane" {
	node_pod lp1
	"$VKIO" log "$W/pods/default_lp1_$PUID" main 0 -- sh -c 'echo hello from lp1; echo oops >&2'
	run kubectl logs lp1
	assert_success
	assert_output $'hello from lp1\noops'
	run kubectl logs lp1 --tail=1 --timestamps
	assert_output --regexp '^20[0-9-]{8}T[0-9:.]{18}Z oops$'
	run kubectl logs lp1 -c nope
	assert_failure
	assert_output --partial 'container nope is not valid for pod lp1'
	run kubectl logs lp1 --previous
	assert_failure
	assert_output --partial 'previous terminated container "main" in pod "lp1" not found'
}

@test "kubectl logs -f streams through the control plane and returns when the container ends" {
	node_pod lp2
	"$VKIO" log "$W/pods/default_lp2_$PUID" main 0 -- sh -c 'echo first; sleep 1.5; echo second; sleep 0.5; echo third' &
	local runner=$!
	for _ in $(seq 100); do
		grep -q first "$W/pods/default_lp2_$PUID/logs/main/0.log" 2>/dev/null && break
		sleep 0.05
	done
	run timeout 10 kubectl logs -f lp2
	wait "$runner"
	assert_success
	assert_output $'first\nsecond\nthird'
}

@test "a workingDir missing on the host is made inside the pod's view, not on the host" {
	need_bwrap
	local pod="$BATS_FILE_TMPDIR/wd.json"
	printf '%s' '{"metadata":{"name":"wd","namespace":"default","uid":"u"},"spec":{"containers":[
		{"name":"a","workingDir":"/vkio-wd/sub","volumeMounts":[{"name":"e","mountPath":"/vkio-wd-vol"}]},
		{"name":"b","workingDir":"/vkio-wd-vol/w","volumeMounts":[{"name":"e","mountPath":"/vkio-wd-vol"}]}],
		"volumes":[{"name":"e","emptyDir":{}}]}}' >"$pod"
	run "$VKIO" volumes "$pod" "$W/pods/default_wd_u" a -- sh -c 'pwd; touch /vkio-wd-vol/x && echo ok'
	assert_success
	assert_output $'/vkio-wd/sub\nok'
	run "$VKIO" volumes "$pod" "$W/pods/default_wd_u" b -- pwd
	assert_output /vkio-wd-vol/w
	[ -d "$W/pods/default_wd_u/volumes/e/w" ] && [ -e "$W/pods/default_wd_u/volumes/e/x" ]
	[ ! -e /vkio-wd ] && [ ! -e /vkio-wd-vol ]
}

@test "a given certificate is served, and with a client CA a client certificate is required" {
	local t=$BATS_TEST_TMPDIR
	(umask 077
	 openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$t/client.key" \
		-out "$t/client.csr" -subj "/CN=kube-apiserver-kubelet-client" &&
	 openssl x509 -req -in "$t/client.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" -CAcreateserial \
		-out "$t/client.crt" -days 1) >/dev/null 2>&1
	VKIO_CLIENT_CA="$D/ca.crt" "$VKIO" kubelet "$W" "$NODE" "$D/server.crt" "$D/server.key" \
		>"$t/port" 2>"$t/err" &
	local pid=$!
	for _ in $(seq 100); do [ -s "$t/port" ] && break; sleep 0.05; done
	local url="https://127.0.0.1:$(cat "$t/port")/healthz"
	run curl -sS --max-time 5 --cacert "$D/ca.crt" "$url"
	assert_failure
	run curl -sS --max-time 5 --cacert "$D/ca.crt" --cert "$t/client.crt" --key "$t/client.key" "$url"
	kill "$pid"
	wait "$pid"
	assert_success
	assert_output ok
}

@test "follow ends when the client goes away (no thread is left behind)" {
	podrun gone c 0 sleep 2 &
	local runner=$! pid
	pid=$(cat "$BATS_FILE_TMPDIR/kpid")
	for _ in $(seq 100); do
		[ -e "$W/pods/default_gone_u-gone/logs/c/0.log" ] && break
		sleep 0.05
	done
	run curl -sSk --max-time 1 "https://127.0.0.1:$KPORT/containerLogs/default/gone/c?follow=true"
	assert_failure 28
	local n
	for _ in $(seq 40); do
		n=$(ls "/proc/$pid/task" | wc -l)
		[ "$n" -eq 2 ] && break
		sleep 0.05
	done
	assert_equal "$n" 2
	wait "$runner"
}

@test "projected tokens are renewed at 80% of their lifetime" {
	pod_dir
	VKIO_TOKENS=1 run vols
	assert_success
	# kube-api-access asks for 3607 s: renewal after 2885 s
	assert_line --index 0 --regexp '^next token renewal in 288[45] s$'
}
