/* refpool.c - `ref-pool create|delete`: the reference node pool, a pool with
 * the cluster's standard configuration whose instance template shows the
 * image and metadata GKE uses now; and reading that template.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nodeimage.h"
#include "obj.h"

/* A node pool can take a long time to come up (or go). */
#define REFPOOL_TIMEOUT_MS (60LL * 60 * 1000)

const struct cli_opt refpool_opts[] = {
	NI_COMMON_OPTS,
	{ "dry-run", 0, CLI_BOOL, &ni.dry_run, NULL,
	  "print the request, send nothing", NULL, NULL },
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

const char *ni_link_path(const char *link)
{
	const char *p = link ? strstr(link, "projects/") : NULL;

	return p ? p : link;
}

const char *ni_tpl_boot_image(const cJSON *tpl)
{
	const cJSON *d;

	cJSON_ArrayForEach(d, obj_get(tpl, "properties.disks"))
		if (obj_bool(d, "boot", false))
			return obj_str(d, "initializeParams.sourceImage");
	return NULL;
}

static void cluster_path(const struct ni_env *e, struct buf *out)
{
	buf_printf(out, "v1/projects/%s/locations/%s/clusters/%s", e->project,
		   e->location, e->cluster);
}

int ni_ref_template(struct gcp *g, const struct ni_env *e, cJSON **tpl,
		    struct buf *err)
{
	struct buf path = BUF_INIT;
	cJSON *pool = NULL, *igm = NULL;
	struct gcp_reply reply = GCP_REPLY_INIT;
	const char *group, *turl;
	int rc = -1;

	*tpl = NULL;
	cluster_path(e, &path);
	buf_printf(&path, "/nodePools/%s", e->ref_pool);
	if (gcp_request(g, "GET", "container", path.data, NULL, &pool, err) < 0) {
		if (strstr(buf_str(err), "NOT_FOUND"))
			buf_set(err, "the reference pool '%s' of cluster '%s' does not exist: "
				"run 'ref-pool create' first", e->ref_pool, e->cluster);
		goto out;
	}
	if (!(group = cJSON_GetStringValue(cJSON_GetArrayItem(
			cJSON_GetObjectItem(pool, "instanceGroupUrls"), 0)))) {
		buf_set(err, "the reference pool '%s' has no instance groups yet (status %s)",
			e->ref_pool, obj_str(pool, "status") ? obj_str(pool, "status") : "unknown");
		goto out;
	}
	if (gcp_request(g, "GET", "compute", group, NULL, &igm, err) < 0)
		goto out;
	turl = obj_str(igm, "instanceTemplate");
	if (!turl || !*turl)
		turl = obj_str(igm, "versions.0.instanceTemplate");
	if (!turl) {
		buf_set(err, "instance group '%s' has no instance template",
			obj_str(igm, "name") ? obj_str(igm, "name") : group);
		goto out;
	}
	{
		struct gcp_req req = { .method = "GET", .api = "compute", .path = turl,
				       .sensitive = true };

		if (gcp_do(g, &req, &reply, err) < 0)
			goto out;
	}
	*tpl = reply.json;
	reply.json = NULL;
	rc = 0;
out:
	gcp_reply_release(&reply);
	cJSON_Delete(igm);
	cJSON_Delete(pool);
	buf_release(&path);
	return rc;
}

/* The cluster's standard node config: its nodeConfig, else the config of
 * its first pool that is not the reference pool. Borrowed from cluster. */
static const cJSON *standard_config(const cJSON *cluster, const char *ref_pool)
{
	const cJSON *p, *c = cJSON_GetObjectItem(cluster, "nodeConfig");

	if (cJSON_IsObject(c))
		return c;
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(cluster, "nodePools"))
		if (obj_str(p, "name") &&
		    strcmp(obj_str(p, "name"), ref_pool) &&
		    cJSON_IsObject(cJSON_GetObjectItem(p, "config")))
			return cJSON_GetObjectItem(p, "config");
	return NULL;
}

/* {"nodePool": ...}: the env's fields, the cluster's standard config under
 * them, the cluster's node version, one node. */
static cJSON *create_body(const struct ni_env *e, const cJSON *cluster)
{
	cJSON *body = cJSON_CreateObject();
	cJSON *pool = e->ref_pool_config ? cJSON_Duplicate(e->ref_pool_config, true) :
					   cJSON_CreateObject();
	const cJSON *std = standard_config(cluster, e->ref_pool), *it;
	cJSON *cfg;

	if (!body || !pool)
		die("out of memory");
	obj_put(pool, "name", cJSON_CreateString(e->ref_pool));
	if (std) {
		if (!(cfg = cJSON_GetObjectItem(pool, "config")))
			cfg = obj_put(pool, "config", cJSON_CreateObject());
		cJSON_ArrayForEach(it, std)
			if (!cJSON_GetObjectItemCaseSensitive(cfg, it->string))
				cJSON_AddItemToObject(cfg, it->string, cJSON_Duplicate(it, true));
	}
	if (!cJSON_GetObjectItem(pool, "initialNodeCount"))
		obj_put(pool, "initialNodeCount", cJSON_CreateNumber(1));
	if (!cJSON_GetObjectItem(pool, "version") && obj_str(cluster, "currentNodeVersion"))
		obj_put(pool, "version", cJSON_CreateString(obj_str(cluster, "currentNodeVersion")));
	cJSON_AddItemToObject(body, "nodePool", pool);
	return body;
}

static int print_request(const char *method, const char *path, const cJSON *body)
{
	cJSON *o = cJSON_CreateObject();
	int rc;

	cJSON_AddStringToObject(o, "method", method);
	cJSON_AddStringToObject(o, "path", path);
	if (body)
		cJSON_AddItemToObject(o, "body", cJSON_Duplicate(body, true));
	rc = ni_print(o);
	cJSON_Delete(o);
	return rc;
}

static int wait_op(struct gcp *g, const cJSON *op, const char *what, struct buf *err)
{
	struct gcp_wait w = { .timeout_ms = REFPOOL_TIMEOUT_MS };
	cJSON *done = NULL;
	int rc;

	info("%s: waiting for operation '%s'", what,
	     obj_str(op, "name") ? obj_str(op, "name") : "?");
	rc = gcp_wait_operation(g, "container", op, &w, &done, err);
	cJSON_Delete(done);
	return rc;
}

int refpool_run(struct cli_ctx *ctx)
{
	const char *verb = ctx->argv[0];
	bool create = !strcmp(verb, "create");
	struct ni_env e;
	struct gcp *g = NULL;
	struct buf path = BUF_INIT, err = BUF_INIT, what = BUF_INIT;
	cJSON *cluster = NULL, *body = NULL, *op = NULL, *res = NULL;
	int rc;

	if (!create && strcmp(verb, "delete"))
		return cli_usage_error(ctx, "unknown ref-pool action '%s': want create or delete",
				       verb);
	if ((rc = ni_open(&e, &g)))
		return rc;
	rc = 1;
	cluster_path(&e, &path);
	buf_printf(&what, "%s node pool '%s' of cluster '%s'", create ? "create" : "delete",
		   e.ref_pool, e.cluster);
	if (create) {
		if (gcp_request(g, "GET", "container", path.data, NULL, &cluster, &err) < 0)
			goto fail;
		body = create_body(&e, cluster);
		buf_adds(&path, "/nodePools");
	} else {
		buf_printf(&path, "/nodePools/%s", e.ref_pool);
	}
	if (ni.dry_run) {
		rc = print_request(create ? "POST" : "DELETE", path.data, body) < 0;
		goto out;
	}
	if (gcp_request(g, create ? "POST" : "DELETE", "container", path.data, body,
			&op, &err) < 0 ||
	    wait_op(g, op, what.data, &err) < 0)
		goto fail;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "nodePool", e.ref_pool);
	cJSON_AddStringToObject(res, "cluster", e.cluster);
	cJSON_AddStringToObject(res, "action", verb);
	cJSON_AddStringToObject(res, "operation", obj_str(op, "name") ? obj_str(op, "name") : "");
	cJSON_AddStringToObject(res, "status", "DONE");
	rc = ni_print(res) < 0;
	goto out;
fail:
	error("cannot %s: %s", what.data, err.data);
out:
	cJSON_Delete(res);
	cJSON_Delete(op);
	cJSON_Delete(body);
	cJSON_Delete(cluster);
	buf_release(&what);
	buf_release(&err);
	buf_release(&path);
	gcp_free(g);
	ni_env_free(&e);
	return rc;
}
