#!/usr/bin/env bats
# kubectl-vkcmd as the node of the local control plane: Jobs and pods really
# run on this host, seen through the real kubectl (status, wait, logs), with
# init containers, the environment, volumes under bubblewrap, the projected
# service-account token against RBAC, and deletion.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" up "$BATS_FILE_TMPDIR/c" --nodes 1 >&3 2>&1
	export KUBECONFIG="$BATS_FILE_TMPDIR/c/kubeconfig"
}

teardown_file() {
	cluster_down "$BATS_FILE_TMPDIR/c"
}

is() {
	[ "$(kubectl get "$1" -o jsonpath="$2" 2>&1)" = "$3" ]
}

# job NAME SCRIPT: a Job of one pod that runs `sh -c SCRIPT`, no retries.
job() {
	kubectl apply -f - <<-EOF
	apiVersion: batch/v1
	kind: Job
	metadata: {name: $1}
	spec:
	  backoffLimit: 0
	  template:
	    spec:
	      restartPolicy: Never
	      containers:
	      - name: main
	        image: busybox
	        command: [sh, -c, '$2']
	EOF
}

@test "a Job whose command exits 3 ends Failed with exitCode 3 in the pod status" {
	run -0 job fail3 'echo about to fail; exit 3'
	run -0 kubectl wait --for=condition=failed job/fail3 --timeout=20s
	run -0 kubectl get pods -l job-name=fail3 -o jsonpath='{.items[0].status.phase} {.items[0].status.containerStatuses[0].state.terminated.exitCode} {.items[0].status.containerStatuses[0].state.terminated.reason}'
	assert_output "Failed 3 Error"
	run -0 kubectl logs job/fail3
	assert_output "about to fail"
}

@test "a Job that exits 0 completes; kubectl wait returns and kubectl logs shows its output" {
	run -0 job hello 'echo hello from wlkit; echo to stderr >&2'
	run -0 kubectl wait --for=condition=complete job/hello --timeout=20s
	run -0 kubectl get pods -l job-name=hello -o jsonpath='{.items[0].status.phase} {.items[0].status.containerStatuses[0].state.terminated.exitCode} {.items[0].status.containerStatuses[0].state.terminated.reason} {.items[0].spec.nodeName} {.items[0].status.hostIP}'
	assert_output "Succeeded 0 Completed wlkit-node-1 127.0.0.1"
	run -0 kubectl logs job/hello
	assert_line "hello from wlkit"
	assert_line "to stderr"
}

@test "kubectl logs -f follows a running container until it ends" {
	run -0 job follow 'echo line 1; sleep 1; echo line 2; sleep 1; echo line 3'
	eventually 10 is "pods/$(kubectl get pods -l job-name=follow -o name | cut -d/ -f2)" '{.status.phase}' Running
	run -0 timeout 20 kubectl logs -f job/follow
	assert_output "$(printf 'line 1\nline 2\nline 3')"
}

@test "init containers run in order before the container, sharing an emptyDir (also mounted over an existing host path)" {
	run -0 kubectl apply -f - <<-'EOF'
	apiVersion: v1
	kind: Pod
	metadata: {name: inits}
	spec:
	  restartPolicy: Never
	  volumes: [{name: work, emptyDir: {}}]
	  initContainers:
	  - {name: first, image: busybox, command: [sh, -c, 'echo one > /shared/order'], volumeMounts: [{name: work, mountPath: /shared}]}
	  - {name: second, image: busybox, command: [sh, -c, 'echo two >> /tmp/order'], volumeMounts: [{name: work, mountPath: /tmp}]}
	  containers:
	  - {name: main, image: busybox, command: [cat, /shared/order], volumeMounts: [{name: work, mountPath: /shared}]}
	EOF
	eventually 15 is pod/inits '{.status.phase}' Succeeded
	run -0 kubectl logs inits -c main
	assert_output "$(printf 'one\ntwo')"
	run -0 kubectl get pod inits -o jsonpath='{.status.initContainerStatuses[*].state.terminated.reason}'
	assert_output "Completed Completed"
}

@test "a failing init container stops the pod: the containers never start" {
	run -0 kubectl apply -f - <<-'EOF'
	apiVersion: v1
	kind: Pod
	metadata: {name: badinit}
	spec:
	  restartPolicy: Never
	  initContainers:
	  - {name: fails, image: busybox, command: [sh, -c, 'exit 7']}
	  - {name: never, image: busybox, command: ['true']}
	  containers:
	  - {name: main, image: busybox, command: ['true']}
	EOF
	eventually 15 is pod/badinit '{.status.phase}' Failed
	run -0 kubectl get pod badinit -o jsonpath='{.status.initContainerStatuses[0].state.terminated.exitCode} {.status.initContainerStatuses[1].state.waiting.reason} {.status.containerStatuses[0].state.waiting.reason}'
	assert_output "7 PodInitializing PodInitializing"
}

@test "env from every source, and \$(VAR) expansion in values, command and args" {
	run -0 kubectl create configmap envcm --from-literal=color=blue --from-literal=size=9
	run -0 kubectl create secret generic envsec --from-literal=password=s3cret
	run -0 kubectl apply -f - <<-'EOF'
	apiVersion: v1
	kind: Pod
	metadata:
	  name: envpod
	  labels: {app: envtest}
	  annotations: {note: hi}
	spec:
	  restartPolicy: Never
	  containers:
	  - name: main
	    image: busybox
	    resources: {limits: {memory: 64Mi, cpu: 1500m}}
	    envFrom:
	    - {prefix: CM_, configMapRef: {name: envcm}}
	    - {secretRef: {name: envsec}}
	    env:
	    - {name: A, value: alpha}
	    - {name: B, value: '$(A)-beta'}
	    - {name: C, value: '$$(A)'}
	    - {name: D, value: '$(NOPE)'}
	    - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
	    - {name: NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
	    - {name: UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}
	    - {name: APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
	    - {name: NOTE, valueFrom: {fieldRef: {fieldPath: "metadata.annotations['note']"}}}
	    - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
	    - {name: SA, valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}}
	    - {name: PODIP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
	    - {name: HOSTIP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
	    - {name: MEM, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
	    - {name: CPU, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}
	    - {name: COLOR, valueFrom: {configMapKeyRef: {name: envcm, key: color}}}
	    - {name: PW, valueFrom: {secretKeyRef: {name: envsec, key: password}}}
	    - {name: GONE, valueFrom: {configMapKeyRef: {name: nosuch, key: x, optional: true}}}
	    command: [sh, -c]
	    args: ['echo "$(A) $B $C $D|$POD $NS $APP $NOTE $NODE $SA $PODIP $HOSTIP|$MEM $CPU|$COLOR $CM_size $password $PW|${GONE-unset}|$KUBERNETES_SERVICE_HOST"; test "$UID" = "$(cat /dev/null)$UID" && echo uid=$UID']
	EOF
	eventually 15 is pod/envpod '{.status.phase}' Succeeded
	run -0 kubectl logs envpod
	assert_line "alpha alpha-beta \$(A) \$(NOPE)|envpod default envtest hi wlkit-node-1 default 127.0.0.1 127.0.0.1|64 2|blue 9 s3cret s3cret|unset|127.0.0.1"
	assert_line "uid=$(kubectl get pod envpod -o jsonpath='{.metadata.uid}')"
}

@test "configMap and secret volumes are files with their modes at the mountPath" {
	run -0 kubectl create configmap volcm --from-literal=app.conf=x=1
	run -0 kubectl create secret generic volsec --from-literal=key=topsecret
	run -0 kubectl apply -f - <<-'EOF'
	apiVersion: v1
	kind: Pod
	metadata: {name: vols}
	spec:
	  restartPolicy: Never
	  volumes:
	  - {name: conf, configMap: {name: volcm, defaultMode: 0640}}
	  - {name: sec, secret: {secretName: volsec, defaultMode: 0600}}
	  containers:
	  - name: main
	    image: busybox
	    command: [sh, -c, 'cat /etc/app/app.conf; echo; cat /etc/sec/key; echo; stat -L -c "%a %n" /etc/app/app.conf /etc/sec/key']
	    volumeMounts:
	    - {name: conf, mountPath: /etc/app}
	    - {name: sec, mountPath: /etc/sec, readOnly: true}
	EOF
	eventually 15 is pod/vols '{.status.phase}' Succeeded
	run -0 kubectl logs vols
	assert_line "x=1"
	assert_line "topsecret"
	assert_line "640 /etc/app/app.conf"
	assert_line "600 /etc/sec/key"
}

# token_pod NAME: a pod of ServiceAccount reader that lists ConfigMaps with
# kubectl through the in-cluster config (its token and ca.crt).
token_pod() {
	kubectl apply -f - <<-EOF
	apiVersion: v1
	kind: Pod
	metadata: {name: $1}
	spec:
	  restartPolicy: Never
	  serviceAccountName: reader
	  containers:
	  - name: main
	    image: bitnami/kubectl
	    env: [{name: HOME, value: /nonexistent}]
	    command: [kubectl, get, configmaps, -o, name]
	EOF
}

@test "a pod lists ConfigMaps with its projected token: allowed with a RoleBinding, 403 without" {
	run -0 kubectl create serviceaccount reader
	run -0 token_pod denied
	eventually 15 is pod/denied '{.status.phase}' Failed
	run -0 kubectl logs denied
	assert_output --partial 'Error from server (Forbidden): configmaps is forbidden: User "system:serviceaccount:default:reader" cannot list resource "configmaps"'
	run -0 kubectl create role cm-reader --verb=list --resource=configmaps
	run -0 kubectl create rolebinding reader --role=cm-reader --serviceaccount=default:reader
	run -0 token_pod allowed
	eventually 15 is pod/allowed '{.status.phase}' Succeeded
	run -0 kubectl logs allowed
	assert_line "configmap/kube-root-ca.crt"
}

@test "kubectl delete pod stops the process group within the grace period; the pod and processes are gone" {
	run -0 kubectl apply -f - <<-'EOF'
	apiVersion: v1
	kind: Pod
	metadata: {name: sleeper}
	spec:
	  terminationGracePeriodSeconds: 20
	  containers:
	  - {name: main, image: busybox, command: [sh, -c, 'sleep 1001 & sleep 1002']}
	EOF
	eventually 15 is pod/sleeper '{.status.phase}' Running
	eventually 5 pgrep -f 'sleep 1001'
	local start=$SECONDS
	run -0 kubectl delete pod sleeper --timeout=15s
	[ $((SECONDS - start)) -lt 10 ]
	run -1 kubectl get pod sleeper
	run -1 pgrep -f 'sleep 100[12]'
}

@test "a process that ignores SIGTERM is killed at the end of the grace period" {
	run -0 kubectl apply -f - <<-'EOF'
	apiVersion: v1
	kind: Pod
	metadata: {name: stubborn}
	spec:
	  containers:
	  - {name: main, image: busybox, command: [sh, -c, 'trap "" TERM; sleep 1003 & wait; sleep 1003']}
	EOF
	eventually 15 is pod/stubborn '{.status.phase}' Running
	eventually 5 pgrep -f 'sleep 1003'
	local start=$SECONDS
	run -0 kubectl delete pod stubborn --grace-period=2 --timeout=15s
	[ $((SECONDS - start)) -ge 1 ]
	run -1 pgrep -f 'sleep 100[3]'
}

@test "the node is registered with its labels, capacity, kubelet endpoint and a Lease" {
	run -0 kubectl get node wlkit-node-1 -o jsonpath='{.metadata.labels.type} {.metadata.labels.kubernetes\.io/role} {.status.conditions[?(@.type=="Ready")].reason} {.status.addresses[0].address} {.status.capacity.pods}'
	assert_output "virtual-kubelet agent KubeletReady 127.0.0.1 110"
	run -0 kubectl get node wlkit-node-1 -o jsonpath='{.status.daemonEndpoints.kubeletEndpoint.Port}'
	[ "$output" -gt 0 ]
	run -0 kubectl get lease -n kube-node-lease wlkit-node-1 -o jsonpath='{.spec.holderIdentity} {.spec.leaseDurationSeconds} {.metadata.ownerReferences[0].kind}'
	assert_output "wlkit-node-1 40 Node"
}

@test "restartPolicy OnFailure restarts a failed container and counts it; --previous shows the first run" {
	local marker="$BATS_TEST_TMPDIR/ran-once"
	run -0 kubectl apply -f - <<-EOF
	apiVersion: v1
	kind: Pod
	metadata: {name: retry}
	spec:
	  restartPolicy: OnFailure
	  automountServiceAccountToken: false
	  containers:
	  - {name: main, image: busybox, command: [sh, -c, 'if [ -e $marker ]; then echo second; else touch $marker; echo first; exit 1; fi']}
	EOF
	eventually 15 is pod/retry '{.status.phase}' Succeeded
	run -0 kubectl get pod retry -o jsonpath='{.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].state.terminated.reason}'
	assert_output "1 Completed"
	run -0 kubectl logs retry
	assert_output "second"
	run -0 kubectl logs retry --previous
	assert_output "first"
}

@test "restartPolicy Always restarts even a successful container, then backs off (CrashLoopBackOff)" {
	local runs="$BATS_TEST_TMPDIR/runs"
	run -0 kubectl apply -f - <<-EOF
	apiVersion: v1
	kind: Pod
	metadata: {name: always}
	spec:
	  restartPolicy: Always
	  automountServiceAccountToken: false
	  containers:
	  - {name: main, image: busybox, command: [sh, -c, 'echo run >> $runs']}
	EOF
	eventually 15 is pod/always '{.status.containerStatuses[0].state.waiting.reason}' CrashLoopBackOff
	run -0 kubectl get pod always -o jsonpath='{.status.phase} {.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].lastState.terminated.reason}'
	assert_output "Running 1 Completed"
	# the first restart is immediate, the next one waits for the back-off (10 s)
	run -0 wc -l < "$runs"
	assert_output 2
	sleep 2
	run -0 wc -l < "$runs"
	assert_output 2
	run -0 kubectl delete pod always --wait=true --timeout=30s
}

@test "activeDeadlineSeconds fails a pod that runs too long" {
	run -0 kubectl apply -f - <<-'EOF'
	apiVersion: v1
	kind: Pod
	metadata: {name: deadline}
	spec:
	  activeDeadlineSeconds: 1
	  restartPolicy: Never
	  automountServiceAccountToken: false
	  containers:
	  - {name: main, image: busybox, command: [sleep, '1006']}
	EOF
	eventually 10 is pod/deadline '{.status.reason}' DeadlineExceeded
	run -0 kubectl get pod deadline -o jsonpath='{.status.phase}'
	assert_output Failed
	eventually 5 bash -c "! pgrep -f 'sleep 100[6]'"
}
