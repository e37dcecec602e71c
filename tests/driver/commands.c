/* commands.c - wlkit-t's commands over kube.h (the objects ones are in
 * objects.c). */
#include "driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obj.h"

static int fail(struct kube_err *err)
{
	kube_err_print(err);
	kube_err_release(err);
	return 1;
}

static int need_args(const struct drv *d, int n, const char *what)
{
	if (d->nargs - 1 >= n)
		return 0;
	fprintf(stderr, "error: %s needs %s\n", d->args[0], what);
	return 2;
}

/* A kubectl resource argument to apiVersion + kind. */
static int resolve_arg(struct drv *d, const char *name, struct kube_resource *r,
		       struct buf *api_version, struct kube_err *err)
{
	if (kube_resolve_name(d->k, name, r, err) < 0)
		return -1;
	kube_resource_api_version(r, api_version);
	return 0;
}

static void print_resource(const struct kube_resource *r)
{
	printf("group=%s version=%s resource=%s kind=%s namespaced=%s\n",
	       r->group, r->version, r->resource, r->kind,
	       r->namespaced ? "true" : "false");
}

static int cmd_resolve(struct drv *d, struct kube_err *err)
{
	struct kube_resource r;
	int rc;

	if (!strcmp(d->args[0], "resolve")) {
		if ((rc = need_args(d, 2, "APIVERSION KIND")))
			return rc;
		if (kube_resolve(d->k, d->args[1], d->args[2], &r, err) < 0)
			return fail(err);
	} else {
		if ((rc = need_args(d, 1, "RESOURCE")))
			return rc;
		if (kube_resolve_name(d->k, d->args[1], &r, err) < 0)
			return fail(err);
	}
	print_resource(&r);
	return 0;
}

static int cmd_get(struct drv *d, struct kube_err *err)
{
	struct kube_resource r;
	struct buf av = BUF_INIT;
	cJSON *obj = NULL;
	int rc;

	if ((rc = need_args(d, 2, "RESOURCE NAME")))
		return rc;
	if (resolve_arg(d, d->args[1], &r, &av, err) < 0 ||
	    kube_get(d->k, buf_str(&av), r.kind, d->kf.namespace, d->args[2], &obj,
		     err) < 0)
		rc = fail(err);
	else
		drv_print(d, obj, NULL);
	cJSON_Delete(obj);
	buf_release(&av);
	return rc;
}

static int cmd_list(struct drv *d, struct kube_err *err)
{
	struct kube_list_opts o = { 0 };
	struct kube_resource r;
	struct buf av = BUF_INIT;
	cJSON *list = NULL, *it;
	int rc;

	if ((rc = need_args(d, 1, "RESOURCE")))
		return rc;
	o.label_selector = d->label_selector;
	o.field_selector = d->field_selector;
	o.all_namespaces = d->all_namespaces;
	o.limit = (int)d->limit;
	if (resolve_arg(d, d->args[1], &r, &av, err) < 0 ||
	    kube_list(d->k, buf_str(&av), r.kind, d->kf.namespace, &o, &list, err) < 0) {
		rc = fail(err);
	} else if (!strcmp(d->output, "name")) {
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "items"))
			drv_print(d, it, NULL);
	} else {
		drv_print(d, list, NULL);
	}
	cJSON_Delete(list);
	buf_release(&av);
	return rc;
}

static int cmd_patch(struct drv *d, struct kube_err *err)
{
	struct kube_resource r;
	struct buf av = BUF_INIT;
	cJSON *patch = NULL, *obj = NULL;
	int rc;

	if ((rc = need_args(d, 3, "RESOURCE NAME PATCH")))
		return rc;
	if (!(patch = cJSON_Parse(d->args[3]))) {
		fprintf(stderr, "error: the patch is not JSON: '%s'\n", d->args[3]);
		return 1;
	}
	if (resolve_arg(d, d->args[1], &r, &av, err) < 0 ||
	    kube_merge_patch(d->k, buf_str(&av), r.kind, d->kf.namespace, d->args[2],
			     d->subresource, patch, &obj, err) < 0)
		rc = fail(err);
	else
		drv_print(d, obj, "patched");
	cJSON_Delete(patch);
	cJSON_Delete(obj);
	buf_release(&av);
	return rc;
}

static int cmd_delete(struct drv *d, struct kube_err *err)
{
	struct kube_resource r;
	struct buf av = BUF_INIT, q = BUF_INIT;
	cJSON *reply = NULL;
	int rc;

	if ((rc = need_args(d, 2, "RESOURCE NAME")))
		return rc;
	if (resolve_arg(d, d->args[1], &r, &av, err) < 0 ||
	    kube_delete(d->k, buf_str(&av), r.kind, d->kf.namespace, d->args[2],
			d->propagation ? d->propagation : "Background", d->grace,
			d->uid, &reply, err) < 0) {
		rc = fail(err);
	} else {
		kube_resource_qualified(&r, &q);
		printf("%s \"%s\" deleted\n", buf_str(&q), d->args[2]);
	}
	cJSON_Delete(reply);
	buf_release(&av);
	buf_release(&q);
	return rc;
}

struct watch_ctx {
	long count;	/* events to print before stopping; 0: all */
	long seen;
};

static int on_watch(void *ctx, const char *type, const cJSON *obj)
{
	struct watch_ctx *w = ctx;
	const char *rv = obj_str(obj, "metadata.resourceVersion");

	printf("%s %s %s\n", type, obj_name(obj) ? obj_name(obj) : "",
	       rv ? rv : "");
	fflush(stdout);
	return w->count && ++w->seen >= w->count ? 1 : 0;
}

static int cmd_watch(struct drv *d, struct kube_err *err)
{
	struct kube_watch_opts o = { 0 };
	struct watch_ctx w = { d->count, 0 };
	struct kube_resource r;
	struct buf av = BUF_INIT;
	int rc;

	if ((rc = need_args(d, 1, "RESOURCE")))
		return rc;
	o.label_selector = d->label_selector;
	o.field_selector = d->field_selector;
	o.resource_version = d->rv;
	o.all_namespaces = d->all_namespaces;
	o.timeout_ms = d->timeout_s * 1000;
	if (resolve_arg(d, d->args[1], &r, &av, err) < 0 ||
	    kube_watch(d->k, buf_str(&av), r.kind, d->kf.namespace, &o, on_watch, &w,
		       err) < 0)
		rc = fail(err);
	buf_release(&av);
	return rc;
}

static int on_log(void *ctx, const char *data, size_t len)
{
	(void)ctx;
	fwrite(data, 1, len, stdout);
	fflush(stdout);
	return ferror(stdout) ? 1 : 0;
}

static int cmd_logs(struct drv *d, struct kube_err *err)
{
	struct kube_log_opts o = { 0 };
	int rc;

	if ((rc = need_args(d, 1, "POD")))
		return rc;
	o.container = d->container;
	o.follow = d->follow;
	o.tail_lines = d->tail;
	if (kube_logs(d->k, d->kf.namespace, d->args[1], &o, on_log, NULL, err) < 0)
		return fail(err);
	return 0;
}

static int cmd_token(struct drv *d, struct kube_err *err)
{
	char *token = NULL;
	int rc;

	if ((rc = need_args(d, 1, "SERVICEACCOUNT")))
		return rc;
	if (kube_token_request(d->k, d->kf.namespace, d->args[1], d->expiration,
			       d->audience, &token, err) < 0)
		return fail(err);
	/* The token is the data asked for, as with kubectl create token. */
	printf("%s\n", token);
	free(token);
	return 0;
}

static int cmd_version(struct drv *d, struct kube_err *err)
{
	cJSON *v = NULL;

	if (kube_server_version(d->k, &v, err) < 0)
		return fail(err);
	drv_print(d, v, NULL);
	cJSON_Delete(v);
	return 0;
}

static int cmd_raw(struct drv *d, struct kube_err *err)
{
	const char *body = d->nargs > 3 ? d->args[3] : NULL;
	cJSON *reply = NULL;
	int rc;

	if ((rc = need_args(d, 2, "METHOD PATH")))
		return rc;
	if (kube_request(d->k, d->args[1], d->args[2], body ? "application/json" : NULL,
			 body, body ? strlen(body) : 0, &reply, err) < 0)
		return fail(err);
	if (cJSON_IsString(reply))
		printf("%s\n", reply->valuestring);
	else if (reply)
		drv_print(d, reply, NULL);
	cJSON_Delete(reply);
	return 0;
}

static int cmd_objects(struct drv *d, struct kube_err *err)
{
	(void)err;
	return drv_objects(d, d->args[0]);
}

static const struct {
	const char *name;
	int (*fn)(struct drv *d, struct kube_err *err);
} cmds[] = {
	{ "version", cmd_version },
	{ "resolve", cmd_resolve },
	{ "resolve-name", cmd_resolve },
	{ "get", cmd_get },
	{ "list", cmd_list },
	{ "create", cmd_objects },
	{ "replace", cmd_objects },
	{ "status", cmd_objects },
	{ "apply", cmd_objects },
	{ "patch", cmd_patch },
	{ "delete", cmd_delete },
	{ "watch", cmd_watch },
	{ "logs", cmd_logs },
	{ "token", cmd_token },
	{ "raw", cmd_raw },
	{ NULL, NULL },
};

int drv_run(struct drv *d)
{
	struct kube_err err = KUBE_ERR_INIT;
	int i, rc;

	for (i = 0; cmds[i].name; i++)
		if (!strcmp(cmds[i].name, d->args[0]))
			break;
	if (!cmds[i].name) {
		fprintf(stderr, "error: unknown command '%s'\n", d->args[0]);
		return 2;
	}
	if (kube_open(&d->kf, d->field_manager, &d->k, &err) < 0)
		return fail(&err);
	rc = cmds[i].fn(d, &err);
	kube_err_release(&err);
	kube_close(d->k);
	d->k = NULL;
	return rc;
}
