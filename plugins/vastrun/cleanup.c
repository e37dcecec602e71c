/* cleanup.c - run-cleanup (a run's Jobs and pods), download-cleanup (the
 * buckets of finished runs) and cleanup (everything setup and the runs
 * made, in the reference's order).
 *
 * cleanup: the ClusterQueue gets stopPolicy HoldAndDrain so Kueue admits
 * nothing more and evicts what it admitted; then the namespace's Workloads
 * of the robovast queue, the runs' Jobs (Background propagation) and their
 * pods are deleted, and the finalizers of those still terminating are
 * cleared; then the results store (Deployment, Service, Secret, the two
 * ConfigMaps, the gcp PVC and StorageClass) and the queues (LocalQueue,
 * ClusterQueue, ResourceFlavor) go. The reference restores the stop policy
 * at the end; here the ClusterQueue itself is deleted, so there is nothing
 * to restore. An external store's buckets are the user's and are left
 * alone (download-cleanup removes them). Objects already gone are not an
 * error: cleanup can be run again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "obj.h"
#include "s3.h"
#include "setup.h"
#include "vastrun.h"

#define KUEUE_API "kueue.x-k8s.io/v1beta1"

static const char *rc_run_id, *dc_run_id, *dc_endpoint;

const struct cli_opt runcleanup_opts[] = {
	{ "run-id", 0, CLI_STR, &rc_run_id, "ID", "Only this run (default: every run)", NULL, NULL },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

const struct cli_opt dlcleanup_opts[] = {
	{ "run-id", 0, CLI_STR, &dc_run_id, "ID", "Only this run (default: every finished run)",
	  NULL, NULL },
	{ "s3-endpoint", 0, CLI_STR, &dc_endpoint, "URL",
	  "Reach the store here instead of through a kubectl port-forward", NULL, NULL },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

const struct cli_opt cleanup_opts[] = {
	{ NULL, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

static bool gone(const struct kube_err *ke)
{
	return ke->code == 404 || !strcmp(ke->reason, "NoKindMatch");
}

/* Deletes one object; a missing one (or kind) is fine. 0 or -1. */
static int del(struct kube *k, const char *api, const char *kind, const char *ns,
	       const char *name, bool say, struct buf *err)
{
	struct kube_err ke = KUBE_ERR_INIT;
	struct kube_resource r;
	struct buf ref = BUF_INIT;
	int rc = 0;

	if (kube_delete(k, api, kind, ns, name, "Background", -1, NULL, NULL, &ke) < 0) {
		if (!gone(&ke))
			rc = vast_kerr(err, &ke);
	} else if (say && kube_resolve(k, api, kind, &r, &ke) == 0) {
		kube_object_ref(&r, name, &ref);
		info("%s deleted", buf_str(&ref));
	}
	buf_release(&ref);
	kube_err_release(&ke);
	return rc;
}

/* The items of a list (a new list object in *out; NULL when the kind is
 * not served). */
static int list(struct kube *k, const char *api, const char *kind, const char *ns,
		const char *selector, cJSON **out, struct buf *err)
{
	struct kube_err ke = KUBE_ERR_INIT;
	struct kube_list_opts lo = { .label_selector = selector };
	int rc = 0;

	*out = NULL;
	if (kube_list(k, api, kind, ns, &lo, out, &ke) < 0 && !gone(&ke))
		rc = vast_kerr(err, &ke);
	kube_err_release(&ke);
	return rc;
}

/* Deletes every object of kind matching selector (and keep(), when given). */
static int del_all(struct kube *k, const char *api, const char *kind, const char *ns,
		   const char *selector, bool (*keep)(const cJSON *), long *count, struct buf *err)
{
	cJSON *l = NULL;
	const cJSON *it;
	int rc = -1;

	if (list(k, api, kind, ns, selector, &l, err) < 0)
		goto out;
	cJSON_ArrayForEach(it, obj_get(l, "items")) {
		if (keep && keep(it))
			continue;
		if (obj_get(it, "metadata.deletionTimestamp"))
			continue;
		if (del(k, api, kind, ns, obj_name(it), false, err) < 0)
			goto out;
		if (count)
			(*count)++;
	}
	rc = 0;
out:
	cJSON_Delete(l);
	return rc;
}

/* Clears the finalizers of the objects of kind still terminating. */
static int unstick(struct kube *k, const char *api, const char *kind, const char *ns,
		   const char *selector, bool (*keep)(const cJSON *), struct buf *err)
{
	struct kube_err ke = KUBE_ERR_INIT;
	cJSON *l = NULL, *patch = cJSON_Parse("{\"metadata\":{\"finalizers\":null}}");
	const cJSON *it;
	int rc = -1;

	if (!patch)
		die("out of memory");
	if (list(k, api, kind, ns, selector, &l, err) < 0)
		goto out;
	cJSON_ArrayForEach(it, obj_get(l, "items")) {
		if ((keep && keep(it)) || !obj_get(it, "metadata.deletionTimestamp") ||
		    !cJSON_GetArraySize(obj_get(it, "metadata.finalizers")))
			continue;
		if (kube_merge_patch(k, api, kind, ns, obj_name(it), NULL, patch, NULL, &ke) < 0 &&
		    !gone(&ke)) {
			vast_kerr(err, &ke);
			goto out;
		}
		kube_err_release(&ke);
		info("%s '%s': finalizers cleared", kind, obj_name(it));
	}
	rc = 0;
out:
	cJSON_Delete(l);
	cJSON_Delete(patch);
	kube_err_release(&ke);
	return rc;
}

static void run_selector(const char *run_id, struct buf *sel)
{
	if (run_id)
		buf_printf(sel, "%s=%s", VAST_LABEL_RUN, run_id);
	else
		buf_adds(sel, VAST_LABEL_RUN);
}

/* Jobs then pods of one run (or every run); outcomes recorded first so
 * monitor still counts the deleted jobs right. */
static int delete_jobs(struct kube *k, const char *ns, const char *run_id, struct buf *err)
{
	struct buf sel = BUF_INIT;
	cJSON *jobs = NULL;
	long nj = 0, np = 0;
	int rc = -1;

	run_selector(run_id, &sel);
	if (list(k, "batch/v1", "Job", ns, buf_str(&sel), &jobs, err) < 0 ||
	    runs_record_outcomes(k, ns, obj_get(jobs, "items"), NULL, err) < 0 ||
	    del_all(k, "batch/v1", "Job", ns, buf_str(&sel), NULL, &nj, err) < 0 ||
	    del_all(k, "v1", "Pod", ns, buf_str(&sel), NULL, &np, err) < 0)
		goto out;
	info("%s: %ld jobs and %ld pods deleted", run_id ? run_id : "every run", nj, np);
	rc = 0;
out:
	cJSON_Delete(jobs);
	buf_release(&sel);
	return rc;
}

int runcleanup_run(struct cli_ctx *ctx)
{
	struct kube_err ke = KUBE_ERR_INIT;
	struct buf err = BUF_INIT;
	struct kube *k = NULL;
	int rc = 1;

	if (kube_open(&ctx->g.kube, "kubectl-vastrun", &k, &ke) < 0) {
		kube_err_print(&ke);
		goto out;
	}
	if (delete_jobs(k, kube_namespace(k), rc_run_id, &err) < 0) {
		vast_report(&err);
		goto out;
	}
	rc = 0;
out:
	buf_release(&err);
	kube_err_release(&ke);
	kube_close(k);
	return rc;
}

int dlcleanup_run(struct cli_ctx *ctx)
{
	struct kube_err ke = KUBE_ERR_INIT;
	struct vast_store st = { 0 };
	struct buf err = BUF_INIT;
	struct kube *k = NULL;
	struct s3 *s3 = NULL;
	cJSON *ids = NULL;
	const cJSON *id;
	bool opened = false;
	int rc = 1, f;

	if (kube_open(&ctx->g.kube, "kubectl-vastrun", &k, &ke) < 0) {
		kube_err_print(&ke);
		goto out;
	}
	if (store_open(k, &ctx->g.kube, NULL, dc_endpoint, &st, &err) < 0)
		goto fail;
	opened = true;
	if (s3_open(&(struct s3_config){ st.endpoint, st.region, st.access_key, st.secret_key },
		    &s3, &err) < 0 ||
	    store_runs(s3, dc_run_id, &ids, &err) < 0)
		goto fail;
	cJSON_ArrayForEach(id, ids) {
		const char *run = id->valuestring;

		if ((f = run_finished(k, kube_namespace(k), run, "remove it", &err)) < 0)
			goto fail;
		if (!f)
			continue;
		if ((f = s3_bucket_exists(s3, run, &err)) < 0)
			goto fail;
		if (!f) {
			info("%s: no bucket (removed already)", run);
			continue;
		}
		if (s3_delete_prefix(s3, run, NULL, &err) < 0 || s3_bucket_delete(s3, run, &err) < 0)
			goto fail;
		info("%s: bucket removed", run);
	}
	rc = 0;
	goto out;
fail:
	vast_report(&err);
out:
	cJSON_Delete(ids);
	s3_close(s3);
	if (opened)
		store_free(&st);
	buf_release(&err);
	kube_err_release(&ke);
	kube_close(k);
	return rc;
}

static bool other_queue(const cJSON *wl)
{
	const char *q = obj_str(wl, "spec.queueName");

	return !q || strcmp(q, VAST_LOCAL_QUEUE);
}

static int hold_and_drain(struct kube *k, struct buf *err)
{
	struct kube_err ke = KUBE_ERR_INIT;
	cJSON *patch = cJSON_Parse("{\"spec\":{\"stopPolicy\":\"HoldAndDrain\"}}");
	int rc = 0;

	if (!patch)
		die("out of memory");
	if (kube_merge_patch(k, KUEUE_API, "ClusterQueue", NULL, VAST_CLUSTER_QUEUE, NULL, patch,
			     NULL, &ke) < 0) {
		if (!gone(&ke))
			rc = vast_kerr(err, &ke);
	} else {
		info("clusterqueue.kueue.x-k8s.io/%s held and draining", VAST_CLUSTER_QUEUE);
	}
	cJSON_Delete(patch);
	kube_err_release(&ke);
	return rc;
}

int cleanup_run(struct cli_ctx *ctx)
{
	static const struct { const char *api, *kind, *name; bool cluster; } store[] = {
		{ "apps/v1", "Deployment", "robovast", false },
		{ "v1", "Service", "robovast", false },
		{ "v1", "Secret", VAST_STORE_SECRET, false },
		{ "v1", "ConfigMap", VAST_STORE_CONFIGMAP, false },
		{ "v1", "ConfigMap", VAST_RUNS_CONFIGMAP, false },
		{ "v1", "PersistentVolumeClaim", "robovast-data", false },
		{ "storage.k8s.io/v1", "StorageClass", "robovast-pd", true },
		{ KUEUE_API, "LocalQueue", VAST_LOCAL_QUEUE, false },
		{ KUEUE_API, "ClusterQueue", VAST_CLUSTER_QUEUE, true },
		{ KUEUE_API, "ResourceFlavor", VAST_FLAVOR, true },
	};
	struct kube_err ke = KUBE_ERR_INIT;
	struct buf err = BUF_INIT;
	struct kube *k = NULL;
	const char *ns;
	long nwl = 0;
	int rc = 1;

	if (kube_open(&ctx->g.kube, "kubectl-vastrun", &k, &ke) < 0) {
		kube_err_print(&ke);
		goto out;
	}
	ns = kube_namespace(k);
	if (hold_and_drain(k, &err) < 0 ||
	    del_all(k, KUEUE_API, "Workload", ns, NULL, other_queue, &nwl, &err) < 0)
		goto fail;
	info("%ld workloads deleted", nwl);
	if (delete_jobs(k, ns, NULL, &err) < 0 ||
	    unstick(k, KUEUE_API, "Workload", ns, NULL, other_queue, &err) < 0 ||
	    unstick(k, "batch/v1", "Job", ns, VAST_LABEL_RUN, NULL, &err) < 0 ||
	    unstick(k, "v1", "Pod", ns, VAST_LABEL_RUN, NULL, &err) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(store) / sizeof(store[0]); i++)
		if (del(k, store[i].api, store[i].kind, store[i].cluster ? NULL : ns,
			store[i].name, true, &err) < 0)
			goto fail;
	rc = 0;
	goto out;
fail:
	vast_report(&err);
out:
	buf_release(&err);
	kube_err_release(&ke);
	kube_close(k);
	return rc;
}
