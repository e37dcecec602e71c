/* agent.c - `kubectl gpusnap --deploy-agent`: the flags are checked before
 * anything is sent; then the namespace and RBAC (agent_rbac.c), one Job per
 * invocation or, with --all-nodes, per matching node (agent_job.c), the
 * wait on them (agent_wait.c), and each snapshot read from the ConfigMap
 * its agent wrote and written where -o says. Cleanup (the Jobs, the
 * temporary ConfigMaps, the RBAC with --cleanup-rbac) runs on every path:
 * success, failure, timeout and Ctrl-C (SIGINT/SIGTERM fire the cancel
 * switch that ends every request in flight; the main thread then cleans
 * up with a fresh client), and prints the kubectl commands that would
 * finish it when it fails.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "obj.h"

#define EXIT_INTERRUPTED 130

struct run {
	const struct agent_opts *o;
	struct cli_ctx *ctx;
	struct agent_plan p;
	struct agent_job *jobs;
	int njobs;
	cJSON **docs;		/* per job: its snapshots, or NULL */
	bool written;		/* single job: already written to -o */
	int write_failed;
	int policy;		/* the cluster has a ClusterPolicy: 1, none 0, unknown -1, not asked -2 */
	int64_t start;
	struct buf own_cm;	/* "cm://NS/" prefix of the agents' ConfigMaps */
};

static struct http_cancel *sig_cancel;
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
	if (sig_cancel)
		http_cancel_fire(sig_cancel);
}

static cJSON *must(cJSON *item)
{
	if (!item)
		die("out of memory");
	return item;
}

static void duration_words(int64_t ms, struct buf *out)
{
	int64_t s = (ms + 999) / 1000;

	if (s >= 60)
		buf_printf(out, "%lldm%llds", (long long)(s / 60), (long long)(s % 60));
	else
		buf_printf(out, "%llds", (long long)s);
}

/* ---- the snapshot of a finished job --------------------------------- */

static const cJSON *subtype(const cJSON *doc, const char *type, const char *sub)
{
	const cJSON *m, *s;

	cJSON_ArrayForEach(m, obj_get(doc, "measurements")) {
		const char *t = obj_str(m, "type");
		if (!t || strcmp(t, type))
			continue;
		cJSON_ArrayForEach(s, obj_get(m, "subtypes")) {
			const char *n = obj_str(s, "subtype");
			if (n && !strcmp(n, sub))
				return obj_get(s, "data");
		}
	}
	return NULL;
}

/* Whether the cluster holds a GPU Operator ClusterPolicy (1), none (0),
 * or it cannot be told (-1), asked once with the user's credentials. */
static int cluster_has_policy(struct run *r)
{
	struct kube_list_opts lo = { .limit = 1 };
	struct kube_err e = KUBE_ERR_INIT;
	struct kube *k = NULL;
	cJSON *list = NULL;

	if (r->policy != -2)
		return r->policy;
	r->policy = -1;
	if (kube_open(&r->ctx->g.kube, AGENT_FIELD_MANAGER, &k, &e) < 0)
		goto out;
	if (!kube_list(k, "nvidia.com/v1", "ClusterPolicy", NULL, &lo, &list, &e))
		r->policy = cJSON_GetArraySize(obj_get(list, "items")) > 0;
	else if (e.code == 404 || !strcmp(e.reason, "NoKindMatch"))
		r->policy = 0;
out:
	cJSON_Delete(list);
	kube_close(k);
	kube_err_release(&e);
	return r->policy;
}

/* What the agent could not read, into why: the agent runs in the cluster,
 * so each K8s reading it is granted must be there. */
static bool incomplete(struct run *r, const cJSON *doc, struct buf *why)
{
	const cJSON *skipped = obj_get(doc, "metadata.skipped");

	if (cJSON_GetObjectItemCaseSensitive(skipped, "k8s") ||
	    cJSON_GetObjectItemCaseSensitive(skipped, "K8s"))
		buf_set(why, "the K8s collector was skipped");
	else if (!subtype(doc, "K8s", "node"))
		buf_set(why, "K8s/node is missing");
	else if (!subtype(doc, "K8s", "image"))
		buf_set(why, "K8s/image is missing");
	else if (!subtype(doc, "K8s", "policy") && cluster_has_policy(r) == 1)
		buf_set(why, "K8s/policy is missing although the cluster has a ClusterPolicy");
	else
		return false;
	return true;
}

static void cm_uri(const struct run *r, const struct agent_job *j, struct buf *out)
{
	buf_printf(out, "%s%s", buf_str(&r->own_cm), j->name);
}

/* The user's -o is the ConfigMap this agent writes: keep it, write nothing. */
static bool output_is_agent_cm(const struct run *r, const struct agent_job *j)
{
	struct buf u = BUF_INIT;
	bool same;

	cm_uri(r, j, &u);
	same = !strcmp(buf_str(&u), r->o->output);
	buf_release(&u);
	return same;
}

static void on_done(void *ctx, struct agent_job *j)
{
	struct run *r = ctx;
	struct buf uri = BUF_INIT, why = BUF_INIT;
	const char *node = NULL;
	cJSON *docs, *d;
	int i = (int)(j - r->jobs);

	cm_uri(r, j, &uri);
	if (!(docs = snap_load(buf_str(&uri), &r->ctx->g.kube))) {
		j->state = AJ_FAILED;
		buf_set(&j->why, "cannot read the snapshot of job '%s'", j->name);
		goto out;
	}
	cJSON_ArrayForEach(d, docs) {
		node = obj_str(d, "metadata.source-node");
		if (incomplete(r, d, &why)) {
			j->state = AJ_FAILED;
			buf_set(&j->why, "the snapshot of node '%s' is incomplete: %s",
				node ? node : "", buf_str(&why));
			cJSON_Delete(docs);
			goto out;
		}
	}
	info("snapshot of node '%s' collected (%.1fs)", node ? node : "?",
	     (double)(agent_now_ms() - r->start) / 1000);
	r->docs[i] = docs;
	if (r->njobs == 1 && !output_is_agent_cm(r, j)) {
		r->written = true;
		if (snap_write(docs, r->o->output, r->p.format, &r->ctx->g.kube) < 0)
			r->write_failed = 1;
		fflush(stdout);
	}
out:
	buf_release(&uri);
	buf_release(&why);
}

/* ---- failures --------------------------------------------------------- */

static int to_stderr(void *ctx, const char *data, size_t len)
{
	(void)ctx;
	fwrite(data, 1, len, stderr);
	return 0;
}

/* The failure of job j, then its pod's log. */
static void report_failure(struct kube *k, const struct run *r, struct agent_job *j)
{
	struct kube_log_opts lo = { .tail_lines = -1 };
	struct kube_list_opts lso = { 0 };
	struct kube_err e = KUBE_ERR_INIT;
	struct buf sel = BUF_INIT;
	cJSON *pods = NULL;
	const char *pod = j->pod;

	if (j->node)
		error("node '%s': %s", j->node, buf_str(&j->why));
	else
		error("%s", buf_str(&j->why));
	if (!pod) {
		buf_printf(&sel, "%s=%s", AGENT_JOB_LABEL, j->name);
		lso.label_selector = buf_str(&sel);
		if (kube_list(k, "v1", "Pod", r->p.ns, &lso, &pods, &e) < 0) {
			kube_err_print(&e);
			goto out;
		}
		pod = obj_name(cJSON_GetArrayItem(obj_get(pods, "items"), 0));
	}
	if (!pod)
		goto out;
	info("log of pod '%s':", pod);
	fflush(stdout);
	if (kube_logs(k, r->p.ns, pod, &lo, to_stderr, NULL, &e) < 0)
		kube_err_print(&e);
out:
	cJSON_Delete(pods);
	buf_release(&sel);
	kube_err_release(&e);
}

/* A warning for each snapshot without GPUs while some node of the cluster
 * offers nvidia.com/gpu (the agent ran on a CPU node). */
static void warn_no_gpu(struct kube *k, const struct run *r)
{
	struct kube_err e = KUBE_ERR_INIT;
	cJSON *nodes = NULL;
	const cJSON *n, *d;
	const char *gpu_node = NULL;
	bool none = false;

	for (int i = 0; i < r->njobs; i++)
		cJSON_ArrayForEach(d, r->docs[i]) {
			const cJSON *smi = subtype(d, "GPU", "smi");
			none |= obj_int(smi, "gpu-count", 0) == 0;
		}
	if (!none || kube_list(k, "v1", "Node", NULL, NULL, &nodes, &e) < 0)
		goto out;
	cJSON_ArrayForEach(n, obj_get(nodes, "items")) {
		const char *g = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
			obj_get(n, "status.allocatable"), "nvidia.com/gpu"));
		if (g && strcmp(g, "0")) {
			gpu_node = obj_name(n);
			break;
		}
	}
	if (!gpu_node)
		goto out;
	for (int i = 0; i < r->njobs; i++)
		cJSON_ArrayForEach(d, r->docs[i])
			if (obj_int(subtype(d, "GPU", "smi"), "gpu-count", 0) == 0)
				warn("the snapshot of node '%s' has no GPU data although node '%s' "
				     "has allocatable nvidia.com/gpu (see --node-selector)",
				     obj_str(d, "metadata.source-node") ?
				     obj_str(d, "metadata.source-node") : "?", gpu_node);
out:
	cJSON_Delete(nodes);
	kube_err_release(&e);
}

/* ---- set-up ------------------------------------------------------------ */

static int stop_job(void *ctx, const char *type, const cJSON *obj)
{
	(void)ctx;
	(void)obj;
	return !strcmp(type, "DELETED");
}

/* --job-name: an existing Job of that name is deleted (Foreground) and
 * awaited with a watch. */
static int replace_old_job(struct kube *k, const struct run *r, const char *name,
			   int64_t deadline)
{
	struct kube_err e = KUBE_ERR_INIT;
	struct kube_watch_opts wo = { 0 };
	struct buf sel = BUF_INIT;
	cJSON *old = NULL, *reply = NULL;
	int rc = -1;

	if (kube_get(k, "batch/v1", "Job", r->p.ns, name, &old, &e) < 0) {
		rc = e.code == 404 ? 0 : -1;
		goto out;
	}
	info("job '%s' exists: deleting it", name);
	if (kube_delete(k, "batch/v1", "Job", r->p.ns, name, "Foreground", -1, NULL, &reply,
			&e) < 0) {
		rc = e.code == 404 ? 0 : -1;
		goto out;
	}
	if (!obj_kind(reply) || !strcmp(obj_kind(reply), "Status")) {
		rc = 0;
		goto out;
	}
	buf_printf(&sel, "metadata.name=%s", name);
	wo.field_selector = buf_str(&sel);
	wo.resource_version = obj_str(reply, "metadata.resourceVersion");
	wo.timeout_ms = deadline - agent_now_ms();
	if (wo.timeout_ms <= 0)
		wo.timeout_ms = 1;
	rc = kube_watch(k, "batch/v1", "Job", r->p.ns, &wo, stop_job, NULL, &e);
out:
	if (rc < 0 && !interrupted && strcmp(e.reason, "Timeout"))
		kube_err_print(&e);
	if (rc < 0 && !strcmp(e.reason, "Timeout"))
		rc = -2;
	buf_release(&sel);
	cJSON_Delete(old);
	cJSON_Delete(reply);
	kube_err_release(&e);
	return rc;
}

/* --all-nodes: the nodes that match the node selector, into r->jobs. */
static int plan_jobs(struct kube *k, struct run *r, struct buf *usage)
{
	struct kube_list_opts lo = { 0 };
	struct kube_err e = KUBE_ERR_INIT;
	struct buf base = BUF_INIT, sel = BUF_INIT, name = BUF_INIT, why = BUF_INIT;
	cJSON *nodes = NULL;
	const cJSON *n, *kv;
	int rc = -1, i = 0;

	if (r->o->job_name)
		buf_adds(&base, r->o->job_name);
	else
		buf_printf(&base, "gpusnap-%s", buf_str(&r->p.run_id));
	if (!r->o->all_nodes) {
		r->njobs = 1;
		r->jobs = calloc(1, sizeof(*r->jobs));
		if (!r->jobs)
			die("out of memory");
		r->jobs[0].name = buf_detach(&base, NULL);
		rc = 0;
		goto out;
	}
	cJSON_ArrayForEach(kv, r->p.node_selector)
		buf_printf(&sel, "%s%s=%s", sel.len ? "," : "", kv->string, kv->valuestring);
	lo.label_selector = buf_str(&sel);
	if (kube_list(k, "v1", "Node", NULL, &lo, &nodes, &e) < 0) {
		kube_err_print(&e);
		goto out;
	}
	r->njobs = cJSON_GetArraySize(obj_get(nodes, "items"));
	if (!r->njobs) {
		error("no node matches the node selector '%s'", buf_str(&sel));
		goto out;
	}
	r->jobs = calloc((size_t)r->njobs, sizeof(*r->jobs));
	if (!r->jobs)
		die("out of memory");
	cJSON_ArrayForEach(n, obj_get(nodes, "items")) {
		buf_reset(&name);
		buf_printf(&name, "%s-%d", buf_str(&base), i + 1);
		if (!dns1123_label(buf_str(&name), &why)) {
			buf_set(usage, "invalid job name '%s': %s", buf_str(&name), buf_str(&why));
			goto out;
		}
		r->jobs[i].name = buf_detach(&name, NULL);
		r->jobs[i].node = strdup(obj_name(n));
		if (!r->jobs[i].node)
			die("out of memory");
		i++;
	}
	rc = 0;
out:
	cJSON_Delete(nodes);
	kube_err_release(&e);
	buf_release(&base);
	buf_release(&sel);
	buf_release(&name);
	buf_release(&why);
	return rc;
}

/* ---- cleanup ------------------------------------------------------------ */

static void delete_or_say(struct kube *k, const char *api, const char *kind, const char *word,
			  const char *ns, const char *name, struct buf *cmds)
{
	struct kube_err e = KUBE_ERR_INIT;

	if (!k || (kube_delete(k, api, kind, ns, name, "Background", -1, NULL, NULL, &e) < 0 &&
		   e.code != 404)) {
		if (k)
			kube_err_print(&e);
		buf_printf(cmds, "kubectl delete %s %s -n %s\n", word, name, ns);
	}
	kube_err_release(&e);
}

static int cleanup(struct run *r, bool created_ns, bool rbac_made)
{
	struct kube_err e = KUBE_ERR_INIT;
	struct kube *k = NULL;
	struct buf cmds = BUF_INIT;
	int rc = 0;

	if (kube_open(&r->ctx->g.kube, AGENT_FIELD_MANAGER, &k, &e) < 0) {
		kube_err_print(&e);
		k = NULL;
	}
	for (int i = 0; i < r->njobs; i++) {
		struct agent_job *j = &r->jobs[i];

		if (!j->created)
			continue;
		delete_or_say(k, "batch/v1", "Job", "job", r->p.ns, j->name, &cmds);
		if (!output_is_agent_cm(r, j))
			delete_or_say(k, "v1", "ConfigMap", "configmap", r->p.ns, j->name, &cmds);
	}
	if (r->o->cleanup_rbac && rbac_made) {
		if (k)
			agent_rbac_delete(k, &r->p, created_ns, &cmds);
		else
			buf_printf(&cmds, "kubectl delete serviceaccount,role,rolebinding %s -n %s\n"
				   "kubectl delete clusterrole,clusterrolebinding %s-%s\n",
				   r->p.sa, r->p.ns, r->p.sa, r->p.ns);
	}
	if (cmds.len) {
		error("cleanup failed; to finish it run:");
		fputs(buf_str(&cmds), stderr);
		rc = -1;
	}
	kube_close(k);
	kube_err_release(&e);
	buf_release(&cmds);
	return rc;
}

/* ---- the run -------------------------------------------------------------- */

static int create_jobs(struct kube *k, struct run *r, int64_t deadline)
{
	struct kube_err e = KUBE_ERR_INIT;
	int rc = 0;

	for (int i = 0; i < r->njobs && !rc; i++) {
		struct agent_job *j = &r->jobs[i];
		cJSON *job;

		if (r->o->job_name && (rc = replace_old_job(k, r, j->name, deadline)) < 0)
			break;
		job = agent_job_manifest(&r->p, j->name, j->node);
		if (kube_create(k, job, r->p.ns, false, NULL, &e) < 0) {
			if (!interrupted)
				kube_err_print(&e);
			rc = -1;
		} else {
			j->created = true;
			if (j->node)
				info("job '%s' created for node '%s'", j->name, j->node);
			else
				info("job '%s' created", j->name);
		}
		cJSON_Delete(job);
		kube_err_release(&e);
	}
	return rc;
}

/* The snapshots of every job that produced one, in job order, written to
 * -o; they stay in r->docs[0] (for the GPU warning). */
static int write_all(struct run *r)
{
	cJSON *all = must(cJSON_CreateArray()), *d;
	int rc = 0;

	for (int i = 0; i < r->njobs; i++) {
		while (r->docs[i] && (d = cJSON_DetachItemFromArray(r->docs[i], 0)))
			cJSON_AddItemToArray(all, d);
		cJSON_Delete(r->docs[i]);
		r->docs[i] = NULL;
	}
	if (cJSON_GetArraySize(all) && snap_write(all, r->o->output, r->p.format,
						   &r->ctx->g.kube) < 0)
		rc = -1;
	r->docs[0] = all;
	return rc;
}

int agent_run(const struct agent_opts *o, struct cli_ctx *ctx)
{
	struct run r = { .o = o, .ctx = ctx, .policy = -2, .start = agent_now_ms() };
	struct http_cancel cancel;
	struct sigaction sa, old_int, old_term;
	struct kube_err e = KUBE_ERR_INIT;
	struct kube *k = NULL;
	struct buf err = BUF_INIT, dur = BUF_INIT;
	const char *ns = ctx->g.kube.namespace && *ctx->g.kube.namespace ?
			 ctx->g.kube.namespace : AGENT_DEFAULT_NS;
	int64_t deadline = r.start + o->timeout_ms;
	bool created_ns = false, rbac_made = false, cancelled = false, clean;
	int rc = 1, w;

	if (agent_plan_make(o, ns, &r.p, &err) < 0) {
		rc = cli_usage_error(ctx, "%s", buf_str(&err));
		goto done;
	}
	buf_printf(&r.own_cm, "cm://%s/", r.p.ns);
	if (http_cancel_init(&cancel) < 0)
		die("cannot make a pipe: %s", strerror(errno));
	sig_cancel = &cancel;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	if (kube_open(&ctx->g.kube, AGENT_FIELD_MANAGER, &k, &e) < 0) {
		kube_err_print(&e);
		goto out;
	}
	kube_set_cancel(k, &cancel);
	if (plan_jobs(k, &r, &err) < 0) {
		if (err.len)
			rc = cli_usage_error(ctx, "%s", buf_str(&err));
		goto out;
	}
	r.docs = calloc((size_t)r.njobs, sizeof(*r.docs));
	if (!r.docs)
		die("out of memory");
	if (interrupted || agent_rbac_ensure(k, &r.p, &created_ns) < 0)
		goto out;
	rbac_made = true;
	if (interrupted)
		goto out;
	if ((w = create_jobs(k, &r, deadline)) < 0) {
		if (w == -2)
			rc = EXIT_TIMEOUT;
		goto out;
	}
	if (interrupted)
		goto out;
	w = agent_wait(&ctx->g.kube, &r.p, r.jobs, r.njobs, &cancel, deadline, on_done, &r,
		       &cancelled);
	if (w == EXIT_TIMEOUT)
		rc = EXIT_TIMEOUT;
	else if (!w && !cancelled)
		rc = 0;
out:
	/* the switch ended k's requests (or may yet): a fresh client from here */
	kube_close(k);
	k = NULL;
	kube_err_release(&e);
	if (kube_open(&ctx->g.kube, AGENT_FIELD_MANAGER, &k, &e) < 0) {
		kube_err_print(&e);
		k = NULL;
	}
	for (int i = 0; i < r.njobs && !interrupted && rc != EXIT_USAGE; i++) {
		struct agent_job *j = &r.jobs[i];

		if (j->state == AJ_FAILED && j->deadline)
			rc = EXIT_TIMEOUT;
		else if (j->state == AJ_FAILED && k)
			report_failure(k, &r, j);
		if (j->state == AJ_FAILED && rc != EXIT_TIMEOUT)
			rc = 1;
		if (j->state != AJ_COMPLETE && r.njobs > 1 && rc == EXIT_TIMEOUT &&
		    (j->state == AJ_PENDING || j->deadline))
			error("node '%s': job '%s' did not finish in time", j->node, j->name);
	}
	if (!r.written && !interrupted && r.docs) {
		bool any = false;

		for (int i = 0; i < r.njobs; i++)
			any |= r.docs[i] != NULL && !output_is_agent_cm(&r, &r.jobs[i]);
		if (any && write_all(&r) < 0)
			rc = rc ? rc : 1;
	}
	if (r.write_failed && !rc)
		rc = 1;
	clean = cleanup(&r, created_ns, rbac_made) == 0;
	if (!clean && !rc)
		rc = 1;
	if (interrupted) {
		error("interrupted; %s", clean ? "cleaned up" : "cleanup incomplete");
		rc = EXIT_INTERRUPTED;
	} else if (rc == EXIT_TIMEOUT) {
		duration_words(o->timeout_ms, &dur);
		error("timed out after %s waiting for the agent; %s", buf_str(&dur),
		      clean ? "cleaned up" : "cleanup incomplete");
	}
	if (k && r.docs && !interrupted)
		warn_no_gpu(k, &r);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sig_cancel = NULL;
	kube_close(k);
	http_cancel_release(&cancel);
done:
	for (int i = 0; i < r.njobs; i++) {
		free(r.jobs[i].name);
		free(r.jobs[i].node);
		free(r.jobs[i].pod);
		buf_release(&r.jobs[i].unsched);
		buf_release(&r.jobs[i].why);
		if (r.docs)
			cJSON_Delete(r.docs[i]);
	}
	free(r.jobs);
	free(r.docs);
	agent_plan_release(&r.p);
	buf_release(&r.own_cm);
	buf_release(&err);
	buf_release(&dur);
	kube_err_release(&e);
	return rc;
}
