#!/usr/bin/env bats
# The local control plane's controllers, end to end through the API server
# with the real kubectl: Job, JobSet, Kueue and the scheduler. The test plays
# the kubelet: it creates Node objects and sets pod phases through the status
# subresource. The scheduler test comes last: its nodes would otherwise
# take the other tests' pods.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	cluster_up "$BATS_FILE_TMPDIR/c"
}

teardown_file() {
	cluster_down "$BATS_FILE_TMPDIR/c"
}

# is OBJECT JSONPATH VALUE: the object's field has that value.
is() {
	[ "$(kubectl get "$1" -o jsonpath="$2" 2>&1)" = "$3" ]
}

# count N KUBECTL-GET-ARGS...: kubectl get lists exactly N objects.
count() {
	local n=$1
	shift
	[ "$(kubectl get "$@" -o name | wc -l)" -eq "$n" ]
}

phase() {	# phase POD PHASE: the kubelet's report
	kubectl patch "$1" --subresource=status --type=merge \
		-p "{\"status\":{\"phase\":\"$2\"}}" >/dev/null
}

pods_of() {	# pods_of JOB: the names of its pods
	kubectl get pods -l "batch.kubernetes.io/job-name=$1" -o name
}

job() {	# job NAME [SPEC-LINES...]: applies a one-container Job
	local name=$1
	shift
	{
		printf 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: %s\nspec:\n' "$name"
		printf '  %s\n' "$@"
		printf '  template:\n    spec:\n      restartPolicy: Never\n'
		printf '      containers: [{name: main, image: busybox, command: ["true"]}]\n'
	} | kubectl apply -f - >/dev/null
}

@test "an Indexed Job makes its pods and completes when they succeed" {
	job ix "completions: 2" "parallelism: 2" "completionMode: Indexed"
	eventually 10 count 2 pods -l batch.kubernetes.io/job-name=ix
	run -0 kubectl get pods -l batch.kubernetes.io/job-name=ix \
		-o jsonpath='{range .items[*]}{.metadata.name} {.metadata.labels.batch\.kubernetes\.io/job-completion-index} {.spec.hostname} {.spec.containers[0].env[0].name} {.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}{"\n"}{end}'
	assert_line --regexp '^ix-0-[a-z0-9]{5} 0 ix-0 JOB_COMPLETION_INDEX Job/ix$'
	assert_line --regexp '^ix-1-[a-z0-9]{5} 1 ix-1 JOB_COMPLETION_INDEX Job/ix$'
	eventually 10 is job/ix '{.status.active}' 2
	for p in $(pods_of ix); do phase "$p" Succeeded; done
	run -0 kubectl wait --for=condition=complete job/ix --timeout=10s
	run -0 kubectl get job ix -o jsonpath='{.status.conditions[*].type} {.status.conditions[1].reason} {.status.succeeded} {.status.completedIndexes}'
	assert_output "SuccessCriteriaMet Complete CompletionsReached 2 0-1"
	run -0 kubectl get events --field-selector involvedObject.name=ix -o jsonpath='{.items[*].reason}'
	assert_output --partial "SuccessfulCreate"
	assert_output --partial "Completed"
}

@test "a failed pod beyond backoffLimit fails the Job" {
	job bo "backoffLimit: 0"
	eventually 10 count 1 pods -l batch.kubernetes.io/job-name=bo
	phase "$(pods_of bo)" Failed
	run -0 kubectl wait --for=condition=failed job/bo --timeout=10s
	run -0 kubectl get job bo -o jsonpath='{.status.conditions[*].type} {.status.conditions[1].reason}: {.status.conditions[1].message} failed={.status.failed}'
	assert_output "FailureTarget Failed BackoffLimitExceeded: Job has reached the specified backoff limit failed=1"
}

@test "activeDeadlineSeconds fails the Job and deletes its pods" {
	job dl "activeDeadlineSeconds: 1"
	run -0 kubectl wait --for=condition=failed job/dl --timeout=10s
	run -0 kubectl get job dl -o jsonpath='{.status.conditions[1].reason}: {.status.conditions[1].message} failed={.status.failed}'
	assert_output "DeadlineExceeded: Job was active longer than specified deadline failed=1"
	run -0 pods_of dl
	assert_output ""
	run -0 kubectl get events --field-selector involvedObject.name=dl -o jsonpath='{.items[*].reason}'
	assert_output "SuccessfulCreate SuccessfulDelete DeadlineExceeded"
}

@test "a suspended Job has no pods until it is resumed" {
	job su "suspend: true"
	eventually 10 is job/su '{.status.conditions[0].type}={.status.conditions[0].status}' Suspended=True
	run -0 kubectl get job su -o jsonpath='{.status.conditions[0].reason} {.status.startTime}'
	assert_output "JobSuspended "
	run -0 pods_of su
	assert_output ""
	kubectl patch job su --type=merge -p '{"spec":{"suspend":false}}' >/dev/null
	eventually 10 count 1 pods -l batch.kubernetes.io/job-name=su
	run -0 kubectl get job su -o jsonpath='{.status.conditions[0].status} {.status.conditions[0].reason}'
	assert_output "False JobResumed"
	run -0 kubectl get job su -o jsonpath='{.status.startTime}'
	assert_output --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$'
	kubectl patch job su --type=merge -p '{"spec":{"suspend":true}}' >/dev/null
	eventually 10 count 0 pods -l batch.kubernetes.io/job-name=su
}

@test "ttlSecondsAfterFinished deletes the finished Job and its pods" {
	job tt "ttlSecondsAfterFinished: 1"
	eventually 10 count 1 pods -l batch.kubernetes.io/job-name=tt
	phase "$(pods_of tt)" Succeeded
	run -0 kubectl wait --for=delete job/tt --timeout=10s
	eventually 10 count 0 pods -l batch.kubernetes.io/job-name=tt
	run -0 kubectl get events --field-selector involvedObject.name=tt -o jsonpath='{.items[*].reason}'
	assert_output --partial "Completed"
}

@test "a JobSet makes its Jobs, restarts them after a failure and completes" {
	kubectl apply -f - >/dev/null <<-'EOF'
	apiVersion: jobset.x-k8s.io/v1alpha2
	kind: JobSet
	metadata: {name: js}
	spec:
	  failurePolicy: {maxRestarts: 1}
	  replicatedJobs:
	  - name: w
	    replicas: 2
	    template:
	      spec:
	        backoffLimit: 0
	        template:
	          spec:
	            restartPolicy: Never
	            containers: [{name: main, image: busybox, command: ["true"]}]
	EOF
	eventually 10 count 2 jobs -l jobset.sigs.k8s.io/jobset-name=js
	run -0 kubectl get jobs -l jobset.sigs.k8s.io/jobset-name=js \
		-o jsonpath='{range .items[*]}{.metadata.name} {.metadata.labels.jobset\.sigs\.k8s\.io/job-index} {.metadata.labels.jobset\.sigs\.k8s\.io/restart-attempt} {.spec.completionMode}{"\n"}{end}'
	assert_line "js-w-0 0 0 Indexed"
	assert_line "js-w-1 1 0 Indexed"
	run -0 kubectl get service js -o jsonpath='{.spec.clusterIP}'
	assert_output "None"
	eventually 10 count 2 pods -l jobset.sigs.k8s.io/jobset-name=js
	run -0 kubectl get pods -l jobset.sigs.k8s.io/replicatedjob-name=w -o jsonpath='{.items[*].spec.hostname}'
	assert_output --partial "js-w-0-0"
	phase "$(pods_of js-w-0)" Failed
	eventually 10 is jobset/js '{.status.restarts}' 1
	eventually 10 count 2 jobs -l jobset.sigs.k8s.io/jobset-name=js,jobset.sigs.k8s.io/restart-attempt=1
	eventually 10 count 2 pods -l jobset.sigs.k8s.io/restart-attempt=1
	for p in $(kubectl get pods -l jobset.sigs.k8s.io/restart-attempt=1 -o name); do phase "$p" Succeeded; done
	run -0 kubectl wait --for=condition=completed jobset/js --timeout=10s
	run -0 kubectl get jobset js -o jsonpath='{.status.terminalState} {.status.replicatedJobsStatus[0].succeeded}'
	assert_output "Completed 2"
}

@test "Kueue admits queued Jobs as the ClusterQueue's quota allows" {
	kubectl apply -f - >/dev/null <<-'EOF'
	apiVersion: kueue.x-k8s.io/v1beta1
	kind: ResourceFlavor
	metadata: {name: default-flavor}
	spec: {nodeLabels: {pool: queued}}
	---
	apiVersion: kueue.x-k8s.io/v1beta1
	kind: ClusterQueue
	metadata: {name: cq}
	spec:
	  namespaceSelector: {}
	  resourceGroups:
	  - coveredResources: [cpu]
	    flavors:
	    - name: default-flavor
	      resources: [{name: cpu, nominalQuota: 2}]
	---
	apiVersion: kueue.x-k8s.io/v1beta1
	kind: LocalQueue
	metadata: {name: lq}
	spec: {clusterQueue: cq}
	EOF
	for j in qa:2 qb:1 qc:3; do
		kubectl apply -f - >/dev/null <<-EOF
		apiVersion: batch/v1
		kind: Job
		metadata: {name: ${j%:*}, labels: {kueue.x-k8s.io/queue-name: lq}}
		spec:
		  template:
		    spec:
		      restartPolicy: Never
		      containers: [{name: main, image: busybox, resources: {requests: {cpu: "${j#*:}"}}}]
		EOF
	done
	eventually 10 count 3 workloads
	local wa wb wc
	eval "$(kubectl get workloads -o jsonpath='{range .items[*]}w{.metadata.ownerReferences[0].name}={.metadata.name}{"\n"}{end}' | sed 's/^wq/w/')"
	[[ $wa =~ ^job-qa-[0-9a-f]{5}$ ]]
	eventually 10 is "workload/$wc" '{.status.conditions[?(@.type=="QuotaReserved")].reason}' Pending
	run -0 kubectl get workloads -o jsonpath='{range .items[*]}{.metadata.ownerReferences[0].name} {.status.admission.clusterQueue} {.status.admission.podSetAssignments[0].flavors.cpu} {.status.conditions[?(@.type=="Admitted")].status} {.status.conditions[?(@.type=="QuotaReserved")].message}{"\n"}{end}'
	assert_line "qa cq default-flavor True Quota reserved in ClusterQueue cq"
	assert_line "qb    couldn't assign flavors to pod set main: insufficient unused quota for cpu in flavor default-flavor, 1 more needed"
	assert_line "qc    couldn't assign flavors to pod set main: insufficient quota for cpu in flavor default-flavor, previously considered podsets requests (0) + current podset request (3) > maximum capacity (2)"
	eventually 10 count 1 pods -l batch.kubernetes.io/job-name=qa
	run -0 kubectl get jobs qa qb -o jsonpath='{range .items[*]}{.metadata.name} {.spec.suspend} {.spec.template.spec.nodeSelector.pool}{"\n"}{end}'
	assert_line "qa false queued"
	assert_line "qb true "
	eventually 10 is clusterqueue/cq '{.status.admittedWorkloads}/{.status.pendingWorkloads}' 1/2
	run -0 kubectl get localqueue lq -o jsonpath='{.status.conditions[0].reason} {.status.flavorUsage[0].resources[0].total}'
	assert_output "Ready 2"
	phase "$(pods_of qa)" Succeeded
	eventually 10 is "workload/$wb" '{.status.conditions[?(@.type=="Admitted")].status}' True
	run -0 kubectl get workload "$wa" -o jsonpath='{.status.conditions[?(@.type=="Finished")].reason}'
	assert_output "Succeeded"
	eventually 10 count 1 pods -l batch.kubernetes.io/job-name=qb
}

@test "the scheduler binds pods to Ready nodes and says why it cannot" {
	for n in gpu cpu; do
		kubectl apply -f - >/dev/null <<-EOF
		apiVersion: v1
		kind: Node
		metadata: {name: $n, labels: {sched: "yes"}}
		spec:
		  taints: $([ $n = gpu ] && echo '[{key: virtual-kubelet.io/provider, value: vkcmd, effect: NoSchedule}]' || echo '[]')
		status:
		  allocatable: {cpu: "4", memory: 8Gi, pods: "10", nvidia.com/gpu: "$([ $n = gpu ] && echo 1 || echo 0)"}
		  conditions: [{type: Ready, status: "True"}]
		EOF
	done
	kubectl apply -f - >/dev/null <<-'EOF'
	apiVersion: v1
	kind: Pod
	metadata: {name: gp}
	spec:
	  nodeSelector: {sched: "yes"}
	  containers: [{name: main, image: busybox, resources: {limits: {nvidia.com/gpu: 1}}}]
	EOF
	eventually 10 is pod/gp '{.status.conditions[0].reason}' Unschedulable
	run -0 kubectl get pod gp -o jsonpath='{.status.conditions[0].message}'
	assert_output "0/2 nodes are available: 1 Insufficient nvidia.com/gpu, 1 node(s) had untolerated taint {virtual-kubelet.io/provider: vkcmd}. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."
	run -0 kubectl get events --field-selector involvedObject.name=gp -o jsonpath='{.items[*].reason}'
	assert_output --partial "FailedScheduling"
	kubectl patch node gpu --type=merge -p '{"spec":{"taints":[]}}' >/dev/null
	eventually 10 is pod/gp '{.spec.nodeName}' gpu
	run -0 kubectl get pod gp -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].status}'
	assert_output "True"
	kubectl delete node gpu cpu >/dev/null
}
