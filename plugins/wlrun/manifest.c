/* manifest.c - the JobSet, Job and Pod a workload becomes, in the shape xpk
 * generates (reference/workloads.md): one replicatedJob "slice-job" with
 * replicas = slices, parallelism = completions = VMs per slice, backoffLimit
 * 0, restartPolicy Never, the multi-host env from the downward API, a
 * podFailurePolicy that fails on user-code exit codes and a JobSet
 * failurePolicy that does not restart after it. Empty fields are never
 * emitted.
 */
#include <stdio.h>
#include <string.h>

#include "obj.h"
#include "wlrun.h"

#define WORKLOAD_LABEL "wlkit.dev/workload"
#define ACCEL_ANNOTATION "wlkit.dev/accelerator"

static long vms_per_slice(const struct workload *w)
{
	if (w->has_accel && w->accel.family == ACCEL_TPU)
		return w->accel.vms_per_slice;
	return w->num_nodes;
}

static void add_field_env(cJSON *env, const char *name, const char *path)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "name", name);
	obj_set_str(e, "valueFrom.fieldRef.fieldPath", path);
	cJSON_AddItemToArray(env, e);
}

static void add_value_env(cJSON *env, const char *name, const char *value)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "name", name);
	cJSON_AddStringToObject(e, "value", value);
	cJSON_AddItemToArray(env, e);
}

static cJSON *container_env(const struct workload *w)
{
	cJSON *env = cJSON_CreateArray(), *it;
	char n[32];

	if (w->kind != KIND_POD) {
		snprintf(n, sizeof(n), "%ld", vms_per_slice(w));
		if (w->kind == KIND_JOBSET) {
			add_field_env(env, "JOBSET_NAME",
				      "metadata.annotations['jobset.sigs.k8s.io/jobset-name']");
			add_field_env(env, "REPLICATED_JOB_NAME",
				      "metadata.annotations['jobset.sigs.k8s.io/replicatedjob-name']");
			add_field_env(env, "JOB_INDEX",
				      "metadata.annotations['jobset.sigs.k8s.io/job-index']");
		}
		add_field_env(env, "JOB_COMPLETION_INDEX",
			      "metadata.annotations['batch.kubernetes.io/job-completion-index']");
		add_field_env(env, "NODE_RANK",
			      "metadata.annotations['batch.kubernetes.io/job-completion-index']");
		add_value_env(env, "NNODES", n);
		if (w->kind == KIND_JOBSET) {
			add_value_env(env, "JAX_COORDINATOR_ADDRESS",
				      "$(JOBSET_NAME)-$(REPLICATED_JOB_NAME)-0-0.$(JOBSET_NAME)");
			add_value_env(env, "JAX_COORDINATOR_PORT", "6002");
		}
	}
	cJSON_ArrayForEach(it, w->env)
		cJSON_AddItemToArray(env, cJSON_Duplicate(it, true));
	if (!cJSON_GetArraySize(env)) {
		cJSON_Delete(env);
		return NULL;
	}
	return env;
}

static cJSON *container(const struct workload *w)
{
	cJSON *c = cJSON_CreateObject(), *req = NULL, *lim = NULL, *env, *m;
	const struct accel *a = &w->accel;
	char n[32];

	cJSON_AddStringToObject(c, "name", w->name);
	cJSON_AddStringToObject(c, "image", w->image);
	if (w->shell_line) {
		cJSON *cmd = cJSON_AddArrayToObject(c, "command");
		cJSON_AddItemToArray(cmd, cJSON_CreateString("/bin/sh"));
		cJSON_AddItemToArray(cmd, cJSON_CreateString("-c"));
		cJSON_AddItemToArray(cmd, cJSON_CreateString(w->shell_line));
	} else if (w->argc > 0) {
		cJSON *cmd = cJSON_AddArrayToObject(c, "command");
		for (int i = 0; i < w->argc; i++)
			cJSON_AddItemToArray(cmd, cJSON_CreateString(w->argv[i]));
	}
	if ((env = container_env(w)))
		cJSON_AddItemToObject(c, "env", env);
	if (w->has_accel && a->family == ACCEL_TPU) {
		snprintf(n, sizeof(n), "%d", a->per_vm);
		lim = cJSON_CreateObject();
		cJSON_AddStringToObject(lim, "google.com/tpu", n);
	} else if (w->has_accel && a->family == ACCEL_GPU) {
		snprintf(n, sizeof(n), "%d", a->per_vm);
		lim = cJSON_CreateObject();
		cJSON_AddStringToObject(lim, "nvidia.com/gpu", n);
	}
	if (w->cpu || w->memory || !w->has_accel || a->family == ACCEL_CPU) {
		bool cpu_only = !w->has_accel || a->family == ACCEL_CPU;
		req = cJSON_CreateObject();
		if (w->cpu || cpu_only)
			cJSON_AddStringToObject(req, "cpu", w->cpu ? w->cpu : "500m");
		if (w->memory || cpu_only)
			cJSON_AddStringToObject(req, "memory", w->memory ? w->memory : "512Mi");
	}
	if (req || lim) {
		cJSON *r = cJSON_AddObjectToObject(c, "resources");
		if (lim)
			cJSON_AddItemToObject(r, "limits", lim);
		if (req)
			cJSON_AddItemToObject(r, "requests", req);
	}
	m = cJSON_AddArrayToObject(c, "volumeMounts");
	cJSON_AddItemToArray(m, cJSON_CreateObject());
	obj_set_str(cJSON_GetArrayItem(m, 0), "name", "dshm");
	obj_set_str(cJSON_GetArrayItem(m, 0), "mountPath", "/dev/shm");
	return c;
}

static void add_toleration(cJSON *tols, const char *key, const char *value,
			   const char *effect)
{
	cJSON *t = cJSON_CreateObject();

	cJSON_AddStringToObject(t, "key", key);
	if (value) {
		cJSON_AddStringToObject(t, "operator", "Equal");
		cJSON_AddStringToObject(t, "value", value);
	} else {
		cJSON_AddStringToObject(t, "operator", "Exists");
	}
	if (effect)
		cJSON_AddStringToObject(t, "effect", effect);
	cJSON_AddItemToArray(tols, t);
}

/* "k=v" into a map (validated by the caller). */
static void put_kv(cJSON *map, const char *s)
{
	const char *eq = strchr(s, '=');
	struct buf k = BUF_INIT;

	buf_add(&k, s, (size_t)(eq - s));
	cJSON_DeleteItemFromObjectCaseSensitive(map, buf_str(&k));
	cJSON_AddStringToObject(map, buf_str(&k), eq + 1);
	buf_release(&k);
}

static cJSON *pod_spec(const struct workload *w)
{
	cJSON *s = cJSON_CreateObject(), *sel = cJSON_CreateObject();
	cJSON *tols = cJSON_CreateArray(), *vols, *v;
	const struct accel *a = &w->accel;

	if (w->service_account)
		cJSON_AddStringToObject(s, "serviceAccountName", w->service_account);
	cJSON_AddStringToObject(s, "restartPolicy", "Never");
	cJSON_AddNumberToObject(s, "terminationGracePeriodSeconds", (double)w->grace);
	if (w->priority)
		cJSON_AddStringToObject(s, "priorityClassName", w->priority);
	if (w->has_accel && a->host_network) {
		cJSON_AddBoolToObject(s, "hostNetwork", true);
		cJSON_AddStringToObject(s, "dnsPolicy", "ClusterFirstWithHostNet");
	}
	if (w->has_accel && a->family == ACCEL_TPU) {
		cJSON_AddStringToObject(sel, "cloud.google.com/gke-tpu-accelerator", a->label);
		cJSON_AddStringToObject(sel, "cloud.google.com/gke-tpu-topology", a->topology);
		add_toleration(tols, "google.com/tpu", NULL, "NoSchedule");
	} else if (w->has_accel && a->family == ACCEL_GPU) {
		cJSON_AddStringToObject(sel, "cloud.google.com/gke-accelerator", a->label);
		add_toleration(tols, "nvidia.com/gpu", NULL, "NoSchedule");
		if (a->arm64)
			add_toleration(tols, "kubernetes.io/arch", "arm64", "NoSchedule");
	} else if (w->has_accel && a->family == ACCEL_CPU) {
		cJSON *expr = cJSON_CreateObject(), *terms, *term, *exprs, *vals;
		cJSON_AddStringToObject(expr, "key", "cloud.google.com/gke-nodepool");
		cJSON_AddStringToObject(expr, "operator", "NotIn");
		vals = cJSON_AddArrayToObject(expr, "values");
		cJSON_AddItemToArray(vals, cJSON_CreateString("default-pool"));
		terms = cJSON_CreateArray();
		term = cJSON_CreateObject();
		exprs = cJSON_AddArrayToObject(term, "matchExpressions");
		cJSON_AddItemToArray(exprs, expr);
		cJSON_AddItemToArray(terms, term);
		obj_set(s, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
			".nodeSelectorTerms", terms);
	}
	if (w->node) {
		cJSON_DeleteItemFromObjectCaseSensitive(sel, "kubernetes.io/hostname");
		cJSON_AddStringToObject(sel, "kubernetes.io/hostname", w->node);
		add_toleration(tols, "virtual-kubelet.io/provider", NULL, "NoSchedule");
	}
	for (int i = 0; i < w->node_selectors.n; i++)
		put_kv(sel, w->node_selectors.items[i]);
	for (int i = 0; i < w->tolerations.n; i++) {
		const char *t = w->tolerations.items[i], *colon = strrchr(t, ':');
		const char *eq = memchr(t, '=', (size_t)(colon - t));
		struct buf k = BUF_INIT, val = BUF_INIT;
		buf_add(&k, t, (size_t)((eq ? eq : colon) - t));
		if (eq)
			buf_add(&val, eq + 1, (size_t)(colon - eq - 1));
		add_toleration(tols, buf_str(&k), eq ? buf_str(&val) : NULL, colon + 1);
		buf_release(&val);
		buf_release(&k);
	}
	if (cJSON_GetArraySize(sel))
		cJSON_AddItemToObject(s, "nodeSelector", sel);
	else
		cJSON_Delete(sel);
	if (cJSON_GetArraySize(tols))
		cJSON_AddItemToObject(s, "tolerations", tols);
	else
		cJSON_Delete(tols);
	if (w->pull_secrets.n) {
		cJSON *ps = cJSON_AddArrayToObject(s, "imagePullSecrets");
		for (int i = 0; i < w->pull_secrets.n; i++) {
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "name", w->pull_secrets.items[i]);
			cJSON_AddItemToArray(ps, e);
		}
	}
	cJSON_AddItemToArray(cJSON_AddArrayToObject(s, "containers"), container(w));
	vols = cJSON_AddArrayToObject(s, "volumes");
	v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "name", "dshm");
	obj_set_str(v, "emptyDir.medium", "Memory");
	if (w->shm_size)
		obj_set_str(v, "emptyDir.sizeLimit", w->shm_size);
	cJSON_AddItemToArray(vols, v);
	return s;
}

/* labels (the workload label, the queue, --label) and annotations on o. */
static void metadata(const struct workload *w, cJSON *o, bool top)
{
	cJSON *labels = obj_ensure(o, "metadata.labels");

	cJSON_AddStringToObject(labels, WORKLOAD_LABEL, w->name);
	if (top && w->queue)
		cJSON_AddStringToObject(labels, "kueue.x-k8s.io/queue-name", w->queue);
	for (int i = 0; i < w->labels.n; i++)
		put_kv(labels, w->labels.items[i]);
	if (!top)
		return;
	if (w->has_accel)
		obj_set_annotation(o, ACCEL_ANNOTATION, w->accel.type);
	if (w->kind == KIND_JOBSET && w->has_accel && w->accel.family == ACCEL_TPU)
		obj_set_annotation(o, "alpha.jobset.sigs.k8s.io/exclusive-topology",
				   "cloud.google.com/gke-nodepool");
	for (int i = 0; i < w->annotations.n; i++) {
		const char *s = w->annotations.items[i], *eq = strchr(s, '=');
		struct buf k = BUF_INIT;
		buf_add(&k, s, (size_t)(eq - s));
		obj_set_annotation(o, buf_str(&k), eq + 1);
		buf_release(&k);
	}
}

static cJSON *pod_failure_policy(const struct workload *w)
{
	cJSON *p = cJSON_CreateObject(), *rules = cJSON_AddArrayToObject(p, "rules");
	cJSON *r = cJSON_CreateObject(), *vals;

	cJSON_AddStringToObject(r, "action", "FailJob");
	obj_set_str(r, "onExitCodes.containerName", w->name);
	obj_set_str(r, "onExitCodes.operator", "NotIn");
	if (cJSON_GetArraySize(w->exit_codes)) {
		vals = cJSON_Duplicate(w->exit_codes, true);
	} else {
		vals = cJSON_CreateArray();
		cJSON_AddItemToArray(vals, cJSON_CreateNumber(0));
	}
	obj_set(r, "onExitCodes.values", vals);
	cJSON_AddItemToArray(rules, r);
	return p;
}

static cJSON *job_spec(const struct workload *w)
{
	cJSON *s = cJSON_CreateObject(), *tmpl;
	long n = vms_per_slice(w);

	cJSON_AddNumberToObject(s, "parallelism", (double)n);
	cJSON_AddNumberToObject(s, "completions", (double)n);
	cJSON_AddStringToObject(s, "completionMode", "Indexed");
	cJSON_AddNumberToObject(s, "backoffLimit",
				w->kind == KIND_JOB ? (double)w->max_restarts : 0);
	if (w->kind == KIND_JOB && w->ttl >= 0)
		cJSON_AddNumberToObject(s, "ttlSecondsAfterFinished", (double)w->ttl);
	cJSON_AddItemToObject(s, "podFailurePolicy", pod_failure_policy(w));
	tmpl = cJSON_AddObjectToObject(s, "template");
	metadata(w, tmpl, false);
	cJSON_AddItemToObject(tmpl, "spec", pod_spec(w));
	return s;
}

cJSON *workload_manifest(const struct workload *w)
{
	cJSON *o, *spec, *rj, *fp, *rule;

	switch (w->kind) {
	case KIND_POD:
		o = obj_new("v1", "Pod", NULL, w->name);
		metadata(w, o, true);
		cJSON_AddItemToObject(o, "spec", pod_spec(w));
		return o;
	case KIND_JOB:
		o = obj_new("batch/v1", "Job", NULL, w->name);
		metadata(w, o, true);
		cJSON_AddItemToObject(o, "spec", job_spec(w));
		return o;
	case KIND_JOBSET:
		break;
	}
	o = obj_new("jobset.x-k8s.io/v1alpha2", "JobSet", NULL, w->name);
	metadata(w, o, true);
	spec = cJSON_AddObjectToObject(o, "spec");
	if (w->ttl >= 0)
		cJSON_AddNumberToObject(spec, "ttlSecondsAfterFinished", (double)w->ttl);
	fp = cJSON_AddObjectToObject(spec, "failurePolicy");
	cJSON_AddNumberToObject(fp, "maxRestarts", (double)w->max_restarts);
	rule = cJSON_CreateObject();
	cJSON_AddStringToObject(rule, "name", "fail-on-user-code");
	cJSON_AddStringToObject(rule, "action", "FailJobSet");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(rule, "onJobFailureReasons"),
			     cJSON_CreateString("PodFailurePolicy"));
	cJSON_AddItemToArray(cJSON_AddArrayToObject(fp, "rules"), rule);
	rj = cJSON_CreateObject();
	cJSON_AddStringToObject(rj, "name", "slice-job");
	cJSON_AddNumberToObject(rj, "replicas", (double)w->num_slices);
	metadata(w, obj_ensure(rj, "template"), false);
	obj_set(rj, "template.spec", job_spec(w));
	cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "replicatedJobs"), rj);
	return o;
}
