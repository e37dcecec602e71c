/* agent_job.c - the agent flags checked before anything is sent, and the
 * agent Job's manifest: backoffLimit 0, activeDeadlineSeconds (the
 * --timeout), ttlSecondsAfterFinished, the host's PID, network and IPC
 * namespaces, a privileged container with the host's / read-only at /host,
 * NODE_NAME from the downward API, running
 * `kubectl-gpusnap snapshot --root /host -o cm://NS/JOB --format FMT`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "obj.h"

#define DEFAULT_CPU "100m"
#define DEFAULT_MEMORY "128Mi"
#define DEFAULT_PULL_POLICY "IfNotPresent"

static cJSON *must(cJSON *item)
{
	if (!item)
		die("out of memory");
	return item;
}

static bool effect_valid(const char *e)
{
	return !strcmp(e, "NoSchedule") || !strcmp(e, "PreferNoSchedule") ||
	       !strcmp(e, "NoExecute");
}

cJSON *agent_toleration_parse(const char *s, struct buf *err)
{
	struct buf key = BUF_INIT, value = BUF_INIT, why = BUF_INIT;
	const char *colon = strrchr(s, ':'), *eq, *effect = NULL;
	cJSON *t = must(cJSON_CreateObject());

	if (!strcmp(s, "*")) {
		cJSON_AddStringToObject(t, "operator", "Exists");
		goto out;
	}
	if (colon) {
		effect = colon + 1;
		buf_add(&key, s, (size_t)(colon - s));
	} else {
		buf_adds(&key, s);
	}
	if ((eq = strchr(buf_str(&key), '='))) {
		buf_adds(&value, eq + 1);
		buf_setlen(&key, (size_t)(eq - buf_str(&key)));
	}
	if (!label_key_valid(buf_str(&key), &why)) {
		buf_set(err, "invalid --toleration '%s': key '%s' %s (want key=value:Effect, "
			"key:Effect, key or *)", s, buf_str(&key), buf_str(&why));
		goto fail;
	}
	if (eq && !label_value_valid(buf_str(&value), &why)) {
		buf_set(err, "invalid --toleration '%s': value '%s' %s", s, buf_str(&value),
			buf_str(&why));
		goto fail;
	}
	if (effect && !effect_valid(effect)) {
		buf_set(err, "invalid --toleration '%s': effect '%s' must be NoSchedule, "
			"PreferNoSchedule or NoExecute", s, effect);
		goto fail;
	}
	cJSON_AddStringToObject(t, "key", buf_str(&key));
	cJSON_AddStringToObject(t, "operator", eq ? "Equal" : "Exists");
	if (eq)
		cJSON_AddStringToObject(t, "value", buf_str(&value));
	if (effect)
		cJSON_AddStringToObject(t, "effect", effect);
	goto out;
fail:
	cJSON_Delete(t);
	t = NULL;
out:
	buf_release(&key);
	buf_release(&value);
	buf_release(&why);
	return t;
}

static int selector_add(cJSON *sel, const char *s, struct buf *err)
{
	struct buf key = BUF_INIT, why = BUF_INIT;
	const char *eq = strchr(s, '=');
	int rc = -1;

	if (!eq) {
		buf_set(err, "invalid --node-selector '%s': want KEY=VALUE", s);
		goto out;
	}
	buf_add(&key, s, (size_t)(eq - s));
	if (!label_key_valid(buf_str(&key), &why)) {
		buf_set(err, "invalid --node-selector '%s': key '%s' %s", s, buf_str(&key),
			buf_str(&why));
		goto out;
	}
	if (!label_value_valid(eq + 1, &why)) {
		buf_set(err, "invalid --node-selector '%s': value '%s' %s", s, eq + 1,
			buf_str(&why));
		goto out;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(sel, buf_str(&key));
	cJSON_AddStringToObject(sel, buf_str(&key), eq + 1);
	rc = 0;
out:
	buf_release(&key);
	buf_release(&why);
	return rc;
}

static void random_hex(struct buf *out)
{
	unsigned char b[4];
	struct timespec ts;

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		/* no entropy source: the clock and the pid still differ */
		clock_gettime(CLOCK_REALTIME, &ts);
		unsigned v = (unsigned)ts.tv_nsec ^ ((unsigned)getpid() << 16);
		memcpy(b, &v, sizeof(b));
	}
	for (size_t i = 0; i < sizeof(b); i++)
		buf_printf(out, "%02x", b[i]);
}

int agent_plan_make(const struct agent_opts *o, const char *ns,
		    struct agent_plan *p, struct buf *err)
{
	struct buf why = BUF_INIT;
	int64_t q;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	p->ns = ns;
	p->sa = o->service_account && *o->service_account ? o->service_account : "gpusnap";
	p->cpu = o->cpu ? o->cpu : DEFAULT_CPU;
	p->memory = o->memory ? o->memory : DEFAULT_MEMORY;
	p->pull_policy = o->pull_policy ? o->pull_policy : DEFAULT_PULL_POLICY;
	p->image = o->image;
	p->format = o->format && *o->format ? o->format : "yaml";
	p->node_selector = must(cJSON_CreateObject());
	p->tolerations = must(cJSON_CreateArray());
	if (!dns1123_label(ns, &why)) {
		buf_set(err, "invalid namespace '%s': %s", ns, buf_str(&why));
		goto out;
	}
	if (!dns1123_subdomain(p->sa, &why)) {
		buf_set(err, "invalid --service-account-name '%s': %s", p->sa, buf_str(&why));
		goto out;
	}
	if (o->job_name && !dns1123_label(o->job_name, &why)) {
		buf_set(err, "invalid --job-name '%s': %s", o->job_name, buf_str(&why));
		goto out;
	}
	if (!p->image || !*p->image) {
		buf_set(err, "--image must not be empty");
		goto out;
	}
	if (quantity_milli(p->cpu, &q, &why) < 0 || q <= 0) {
		buf_set(err, "invalid --cpu '%s': %s", p->cpu,
			why.len ? buf_str(&why) : "must be positive");
		goto out;
	}
	if (quantity_value(p->memory, &q, &why) < 0 || q <= 0) {
		buf_set(err, "invalid --memory '%s': %s", p->memory,
			why.len ? buf_str(&why) : "must be positive");
		goto out;
	}
	if (strcmp(p->pull_policy, "Always") && strcmp(p->pull_policy, "IfNotPresent") &&
	    strcmp(p->pull_policy, "Never")) {
		buf_set(err, "invalid --image-pull-policy '%s': must be Always, IfNotPresent "
			"or Never", p->pull_policy);
		goto out;
	}
	if (o->timeout_ms <= 0) {
		buf_set(err, "invalid --timeout: must be more than 0");
		goto out;
	}
	p->deadline_s = (o->timeout_ms + 999) / 1000;
	for (int i = 0; i < o->node_selectors.n; i++)
		if (selector_add(p->node_selector, o->node_selectors.items[i], err) < 0)
			goto out;
	if (!o->node_selectors.n)
		cJSON_AddStringToObject(p->node_selector, AGENT_DEFAULT_SELECTOR_KEY,
					AGENT_DEFAULT_SELECTOR_VALUE);
	for (int i = 0; i < o->tolerations.n; i++) {
		cJSON *t = agent_toleration_parse(o->tolerations.items[i], err);

		if (!t)
			goto out;
		cJSON_AddItemToArray(p->tolerations, t);
	}
	if (!o->tolerations.n)
		cJSON_AddItemToArray(p->tolerations, agent_toleration_parse("*", err));
	random_hex(&p->run_id);
	rc = 0;
out:
	buf_release(&why);
	return rc;
}

void agent_plan_release(struct agent_plan *p)
{
	cJSON_Delete(p->node_selector);
	cJSON_Delete(p->tolerations);
	buf_release(&p->run_id);
	p->node_selector = p->tolerations = NULL;
}

static cJSON *str_array(const char *const *v)
{
	cJSON *a = must(cJSON_CreateArray());

	for (; *v; v++)
		cJSON_AddItemToArray(a, must(cJSON_CreateString(*v)));
	return a;
}

static cJSON *pod_spec(const struct agent_plan *p, const char *name, const char *node)
{
	struct buf target = BUF_INIT;
	cJSON *spec = must(cJSON_CreateObject()), *c, *res, *env, *e, *vol, *mnt;

	cJSON_AddStringToObject(spec, "serviceAccountName", p->sa);
	cJSON_AddStringToObject(spec, "restartPolicy", "Never");
	cJSON_AddTrueToObject(spec, "hostPID");
	cJSON_AddTrueToObject(spec, "hostNetwork");
	cJSON_AddTrueToObject(spec, "hostIPC");
	cJSON_AddStringToObject(spec, "dnsPolicy", "ClusterFirstWithHostNet");
	cJSON_AddItemToObject(spec, "nodeSelector", must(cJSON_Duplicate(p->node_selector, 1)));
	if (node) {
		cJSON *term = must(cJSON_CreateObject()), *fe = must(cJSON_CreateObject());
		cJSON *vals = must(cJSON_CreateArray()), *terms = must(cJSON_CreateArray());
		cJSON *mf = must(cJSON_CreateArray());

		cJSON_AddStringToObject(fe, "key", "metadata.name");
		cJSON_AddStringToObject(fe, "operator", "In");
		cJSON_AddItemToArray(vals, must(cJSON_CreateString(node)));
		cJSON_AddItemToObject(fe, "values", vals);
		cJSON_AddItemToArray(mf, fe);
		cJSON_AddItemToObject(term, "matchFields", mf);
		cJSON_AddItemToArray(terms, term);
		obj_set(spec, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
			"nodeSelectorTerms", terms);
	}
	cJSON_AddItemToObject(spec, "tolerations", must(cJSON_Duplicate(p->tolerations, 1)));
	c = must(cJSON_CreateObject());
	cJSON_AddStringToObject(c, "name", "gpusnap");
	cJSON_AddStringToObject(c, "image", p->image);
	cJSON_AddStringToObject(c, "imagePullPolicy", p->pull_policy);
	buf_printf(&target, "cm://%s/%s", p->ns, name);
	{
		const char *cmd[] = { "kubectl-gpusnap", "snapshot", "--root", "/host", "-o",
				      buf_str(&target), "--format", p->format, NULL };
		cJSON_AddItemToObject(c, "command", str_array(cmd));
	}
	env = must(cJSON_CreateArray());
	e = must(cJSON_CreateObject());
	cJSON_AddStringToObject(e, "name", "NODE_NAME");
	obj_set_str(e, "valueFrom.fieldRef.fieldPath", "spec.nodeName");
	cJSON_AddItemToArray(env, e);
	cJSON_AddItemToObject(c, "env", env);
	res = must(cJSON_CreateObject());
	obj_set_str(res, "requests.cpu", p->cpu);
	obj_set_str(res, "requests.memory", p->memory);
	obj_set_str(res, "limits.cpu", p->cpu);
	obj_set_str(res, "limits.memory", p->memory);
	cJSON_AddItemToObject(c, "resources", res);
	obj_set(c, "securityContext.privileged", must(cJSON_CreateTrue()));
	mnt = must(cJSON_CreateObject());
	cJSON_AddStringToObject(mnt, "name", "host");
	cJSON_AddStringToObject(mnt, "mountPath", "/host");
	cJSON_AddTrueToObject(mnt, "readOnly");
	cJSON_AddItemToObject(c, "volumeMounts", must(cJSON_CreateArray()));
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(c, "volumeMounts"), mnt);
	cJSON_AddItemToObject(spec, "containers", must(cJSON_CreateArray()));
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(spec, "containers"), c);
	vol = must(cJSON_CreateObject());
	cJSON_AddStringToObject(vol, "name", "host");
	obj_set_str(vol, "hostPath.path", "/");
	obj_set_str(vol, "hostPath.type", "Directory");
	cJSON_AddItemToObject(spec, "volumes", must(cJSON_CreateArray()));
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(spec, "volumes"), vol);
	buf_release(&target);
	return spec;
}

static void add_labels(cJSON *o, const struct agent_plan *p, const char *name)
{
	obj_set_label(o, "app.kubernetes.io/name", "gpusnap");
	obj_set_label(o, "app.kubernetes.io/managed-by", AGENT_FIELD_MANAGER);
	obj_set_label(o, AGENT_RUN_LABEL, buf_str(&p->run_id));
	obj_set_label(o, AGENT_JOB_LABEL, name);
}

cJSON *agent_job_manifest(const struct agent_plan *p, const char *name, const char *node)
{
	cJSON *job = must(obj_new("batch/v1", "Job", p->ns, name));
	cJSON *spec = must(cJSON_CreateObject()), *tmpl = must(cJSON_CreateObject());

	add_labels(job, p, name);
	cJSON_AddNumberToObject(spec, "backoffLimit", 0);
	cJSON_AddNumberToObject(spec, "activeDeadlineSeconds", (double)p->deadline_s);
	cJSON_AddNumberToObject(spec, "ttlSecondsAfterFinished", AGENT_TTL_SECONDS);
	cJSON_AddItemToObject(tmpl, "metadata", must(cJSON_CreateObject()));
	add_labels(tmpl, p, name);
	cJSON_AddItemToObject(tmpl, "spec", pod_spec(p, name, node));
	cJSON_AddItemToObject(spec, "template", tmpl);
	cJSON_AddItemToObject(job, "spec", spec);
	return job;
}
