/* delete.c - `kubectl wlrun delete`: deletes workloads by name (every
 * JobSet, Job and Pod that has no owner and carries the workload label with
 * that name) or --all of them in the namespace.
 *
 * Background propagation by default; --wait deletes in the foreground and
 * then watches each object until it is gone (its dependents first, as
 * Foreground deletion does). A name with no workload is reported as kubectl
 * reports a missing object, "Error from server (NotFound): workloads "x"
 * not found", and makes the exit code 1; the other names are still deleted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube.h"
#include "log.h"
#include "manage.h"
#include "obj.h"

static bool delete_all, delete_wait;
static int64_t delete_timeout;

const struct cli_opt delete_opts[] = {
	{ "all", 0, CLI_BOOL, &delete_all, NULL, "delete every workload of the namespace",
	  NULL, NULL },
	{ "wait", 0, CLI_BOOL, &delete_wait, NULL,
	  "delete in the foreground and wait until the workloads and their pods are gone",
	  NULL, NULL },
	{ "timeout", 0, CLI_DURATION, &delete_timeout, "DURATION",
	  "with --wait, give up after this long (exit 124; default: no limit)", NULL, NULL },
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

static int gone(void *ctx, const char *type, const cJSON *obj)
{
	(void)ctx;
	(void)obj;
	return !strcmp(type, "DELETED");
}

/* Waits until o is deleted. 0 or -1 (*err). */
static int wait_gone(struct kube *k, const cJSON *o, struct kube_err *err)
{
	struct kube_watch_opts wo = { .timeout_ms = delete_timeout };
	struct buf fs = BUF_INIT;
	cJSON *now = NULL;
	int rc = -1;

	if (kube_get(k, obj_api_version(o), obj_kind(o), obj_namespace(o), obj_name(o),
		     &now, err) < 0) {
		if (err->code == 404) {
			kube_err_release(err);
			rc = 0;
		}
		goto out;
	}
	buf_printf(&fs, "metadata.name=%s", obj_name(o));
	wo.field_selector = buf_str(&fs);
	wo.resource_version = obj_str(now, "metadata.resourceVersion");
	rc = kube_watch(k, obj_api_version(o), obj_kind(o), obj_namespace(o), &wo, gone,
			NULL, err);
out:
	cJSON_Delete(now);
	buf_release(&fs);
	return rc;
}

/* Deletes (and with --wait awaits) every object of list. 0, or the exit
 * code of the first failure. */
static int delete_list(struct kube *k, const cJSON *list)
{
	struct kube_err kerr = KUBE_ERR_INIT;
	struct kube_resource r;
	struct buf ref = BUF_INIT;
	const cJSON *o;
	int rc = 0;

	cJSON_ArrayForEach(o, list) {
		const char *av = obj_api_version(o), *kind = obj_kind(o);

		buf_reset(&ref);
		if (kube_resolve(k, av, kind, &r, &kerr) == 0) {
			kube_object_ref(&r, "", &ref);
			buf_setlen(&ref, ref.len - 1);	/* "job.batch", kubectl's form */
		}
		kube_err_release(&kerr);
		if (kube_delete(k, av, kind, obj_namespace(o), obj_name(o),
				delete_wait ? "Foreground" : "Background", -1,
				obj_str(o, "metadata.uid"), NULL, &kerr) < 0) {
			kube_err_print(&kerr);
			kube_err_release(&kerr);
			rc = EXIT_FAILURE;
			continue;
		}
		if (delete_wait && wait_gone(k, o, &kerr) < 0) {
			bool timeout = !strcmp(kerr.reason, "Timeout");

			if (timeout)
				error("timed out waiting for %s \"%s\" to be deleted", buf_str(&ref),
				      obj_name(o));
			else
				kube_err_print(&kerr);
			kube_err_release(&kerr);
			if (!rc)
				rc = timeout ? EXIT_TIMEOUT : EXIT_FAILURE;
			continue;
		}
		printf("%s \"%s\" deleted\n", buf_str(&ref), obj_name(o));
	}
	kube_err_release(&kerr);
	buf_release(&ref);
	return rc;
}

int delete_run(struct cli_ctx *ctx)
{
	struct kube *k = NULL;
	struct kube_err kerr = KUBE_ERR_INIT;
	cJSON *found = NULL;
	int rc = EXIT_FAILURE, r;

	if (delete_all == (ctx->argc > 0)) {
		rc = cli_usage_error(ctx, delete_all ? "--all takes no names" :
				     "give the names of the workloads to delete, or --all");
		goto out;
	}
	if (kube_open(&ctx->g.kube, "kubectl-wlrun", &k, &kerr) < 0) {
		kube_err_print(&kerr);
		goto out;
	}
	if (delete_all) {
		if (workloads_find(k, NULL, false, NULL, &found, &kerr) < 0) {
			kube_err_print(&kerr);
			goto out;
		}
		if (!cJSON_GetArraySize(found))
			info("No resources found");
		rc = delete_list(k, found);
		goto out;
	}
	rc = 0;
	for (int i = 0; i < ctx->argc; i++) {
		cJSON_Delete(found);
		found = NULL;
		if (workloads_find(k, NULL, false, ctx->argv[i], &found, &kerr) < 0) {
			kube_err_print(&kerr);
			kube_err_release(&kerr);
			rc = EXIT_FAILURE;
			continue;
		}
		if (!cJSON_GetArraySize(found)) {
			fprintf(stderr, "Error from server (NotFound): workloads \"%s\" not found\n",
				ctx->argv[i]);
			if (!rc)
				rc = EXIT_FAILURE;
			continue;
		}
		r = delete_list(k, found);
		if (r && !rc)
			rc = r;
	}
out:
	kube_close(k);
	kube_err_release(&kerr);
	cJSON_Delete(found);
	return rc;
}
