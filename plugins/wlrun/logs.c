/* logs.c - `kubectl wlrun logs NAME`: the log of one pod of a workload,
 * found by the wlkit.dev/workload label that create puts on every pod, the
 * JobSet's job index (--slice) and the completion index (--node).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube.h"
#include "log.h"
#include "obj.h"
#include "wait.h"

static int to_stdout(void *ctx, const char *data, size_t len)
{
	(void)ctx;
	fwrite(data, 1, len, stdout);
	fflush(stdout);
	return 0;
}

static const char *index_of(const cJSON *p, const char *key)
{
	const char *v = obj_label(p, key);

	return v ? v : obj_annotation(p, key);
}

int logs_run(struct cli_ctx *ctx, const char *name, long slice, long node, bool follow)
{
	struct kube *k = NULL;
	struct kube_err e = KUBE_ERR_INIT;
	struct kube_list_opts lo = { 0 };
	struct kube_log_opts lg = { .follow = follow, .tail_lines = -1 };
	struct buf sel = BUF_INIT;
	cJSON *list = NULL;
	const cJSON *p, *pod = NULL;
	int rc = EXIT_FAILURE;

	if (slice < 0)
		slice = 0;
	if (node < 0)
		node = 0;
	buf_printf(&sel, "wlkit.dev/workload=%s", name);
	lo.label_selector = buf_str(&sel);
	if (kube_open(&ctx->g.kube, "kubectl-wlrun", &k, &e) < 0 ||
	    kube_list(k, "v1", "Pod", NULL, &lo, &list, &e) < 0) {
		kube_err_print(&e);
		goto out;
	}
	cJSON_ArrayForEach(p, obj_get(list, "items")) {
		const char *j = index_of(p, "jobset.sigs.k8s.io/job-index");
		const char *c = index_of(p, "batch.kubernetes.io/job-completion-index");
		if ((j ? atol(j) : 0) == slice && (c ? atol(c) : 0) == node) {
			pod = p;
			break;
		}
	}
	if (!pod) {
		error("no pod of workload '%s' at slice %ld node %ld", name, slice, node);
		goto out;
	}
	if (kube_logs(k, NULL, obj_name(pod), &lg, to_stdout, NULL, &e) < 0) {
		kube_err_print(&e);
		goto out;
	}
	rc = 0;
out:
	kube_close(k);
	kube_err_release(&e);
	cJSON_Delete(list);
	buf_release(&sel);
	return rc;
}
