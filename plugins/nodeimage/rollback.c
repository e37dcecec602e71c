/* rollback.c - `rollback [--instance-groups a,b] [--dry-run]`: points each
 * mutated group back at its source template, then deletes the custom
 * templates that no group uses any more.
 *
 * The labels are the record: a group whose template carries NI_LABEL_RUN
 * goes back to the template NI_LABEL_SOURCE names, in the same collection
 * (global, or the template's region). The source template is used as it
 * is, so its image and kube-env come back with it. Then every template of
 * those collections that carries NI_LABEL_RUN and was copied from one of
 * the groups' sources is deleted: that also removes the templates a mutate
 * that died before setInstanceTemplate left behind. A template some group
 * still uses (400 resourceInUseByAnotherResource) is kept, and said so.
 * Prints a NodeImageResult per group, then one per custom template.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nodeimage.h"
#include "obj.h"

static struct cli_list rollback_groups;

const struct cli_opt rollback_opts[] = {
	NI_COMMON_OPTS,
	{ "instance-groups", 0, CLI_LIST, &rollback_groups, "A,B",
	  "only these instance groups (comma-separated, repeatable)", NULL, NULL },
	{ "dry-run", 0, CLI_BOOL, &ni.dry_run, NULL,
	  "print what would change, change nothing", NULL, NULL },
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

struct back {
	const struct ni_group *grp;
	char *target;		/* the source template's path */
	bool ok;
	struct buf err;
};

struct drop {
	char *path;
	bool ok, in_use;
	struct buf err;
};

struct rollback {
	struct gcp *g;
	struct back *backs;
	size_t nb;
	struct drop *drops;
	size_t nd;
};

static int point_back(void *ctx, size_t i)
{
	struct rollback *r = ctx;
	struct back *b = &r->backs[i];
	struct buf path = BUF_INIT, url = BUF_INIT;
	cJSON *body = cJSON_CreateObject(), *op = NULL;
	int rc = -1;

	ni_compute_url(b->target, &url);
	cJSON_AddStringToObject(body, "instanceTemplate", url.data);
	buf_printf(&path, "%s/setInstanceTemplate", b->grp->url);
	logv(1, "pointing '%s' back at '%s'", b->grp->url, b->target);
	if (ni_compute(r->g, "POST", path.data, body, true, &op, NULL, &b->err) < 0 ||
	    ni_wait(r->g, op, &b->err) < 0) {
		struct buf msg = BUF_INIT;

		buf_printf(&msg, "cannot point '%s' back at '%s': %s", b->grp->name,
			   ni_base_name(b->target), b->err.data);
		buf_set(&b->err, "%s", msg.data);
		buf_release(&msg);
		goto out;
	}
	rc = 0;
out:
	b->ok = rc == 0;
	cJSON_Delete(body);
	cJSON_Delete(op);
	buf_release(&path);
	buf_release(&url);
	return rc;
}

static int delete_template(void *ctx, size_t i)
{
	struct rollback *r = ctx;
	struct drop *d = &r->drops[i];
	char reason[64] = "";
	cJSON *op = NULL;
	int rc = -1;

	logv(1, "deleting template '%s'", d->path);
	if (ni_compute(r->g, "DELETE", d->path, NULL, true, &op, reason, &d->err) < 0) {
		d->in_use = !strcmp(reason, "resourceInUseByAnotherResource");
		goto out;
	}
	rc = ni_wait(r->g, op, &d->err);
out:
	d->ok = rc == 0;
	cJSON_Delete(op);
	return rc;
}

/* The collection ("projects/P/global" or ".../regions/R") of a template
 * path, appended to out. */
static void collection_of(const char *tpl_path, struct buf *out)
{
	const char *end = strstr(tpl_path, "/instanceTemplates/");

	buf_add(out, tpl_path, end ? (size_t)(end - tpl_path) : strlen(tpl_path));
}

static bool in_strs(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

static void add_str(char ***v, size_t *n, const char *s)
{
	if (in_strs(*v, *n, s))
		return;
	if (!(*v = realloc(*v, (*n + 1) * sizeof(**v))) || !((*v)[*n] = strdup(s)))
		die("out of memory");
	(*n)++;
}

/* The custom templates copied from one of sources, in the collections. */
static int find_drops(struct rollback *r, char *const *colls, size_t nc,
		      char *const *sources, size_t ns, struct buf *err)
{
	for (size_t c = 0; c < nc; c++) {
		cJSON *list = NULL;
		const cJSON *t;

		if (ni_custom_templates(r->g, colls[c], &list, err) < 0)
			return -1;
		cJSON_ArrayForEach(t, list) {
			const char *src = obj_str(t, "properties.labels." NI_LABEL_SOURCE);
			const char *name = obj_str(t, "name");
			struct drop *d;

			if (!src || !name || !in_strs(sources, ns, src))
				continue;
			if (!(r->drops = realloc(r->drops, (r->nd + 1) * sizeof(*r->drops))))
				die("out of memory");
			d = &r->drops[r->nd++];
			memset(d, 0, sizeof(*d));
			buf_printf(&d->err, "%s/instanceTemplates/%s", colls[c], name);
			d->path = buf_detach(&d->err, NULL);
		}
		cJSON_Delete(list);
	}
	return 0;
}

static cJSON *result(const struct ni_env *e, const char *name, const char *what,
		     const char *path, const char *action)
{
	cJSON *res = ni_result_new(e, name);

	cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(res, "spec"), what, path);
	cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(res, "status"), "action", action);
	return res;
}

/* Prints the results; true when something failed. */
static bool report(const struct ni_env *e, struct rollback *r, const struct ni_group *v,
		   size_t n, struct stream_out *out)
{
	bool failed = false;
	size_t b = 0;

	for (size_t i = 0; i < n; i++) {
		cJSON *res, *st;

		if (b < r->nb && r->backs[b].grp == &v[i]) {
			struct back *bk = &r->backs[b++];

			res = result(e, v[i].name, "instanceGroupManager", v[i].url,
				     ni.dry_run ? "would-roll-back" : bk->ok ? "rolled-back" : "failed");
			st = cJSON_GetObjectItemCaseSensitive(res, "status");
			cJSON_AddStringToObject(st, "template", bk->target);
			cJSON_AddStringToObject(st, "previousTemplate", v[i].template_url);
			if (!ni.dry_run && !bk->ok) {
				cJSON_AddStringToObject(st, "message", bk->err.data);
				error("%s", bk->err.data);
				failed = true;
			}
		} else {
			res = result(e, v[i].name, "instanceGroupManager", v[i].url, "unchanged");
			st = cJSON_GetObjectItemCaseSensitive(res, "status");
			cJSON_AddStringToObject(st, "template", v[i].template_url);
			cJSON_AddStringToObject(st, "reason", "not mutated");
		}
		failed |= stream_out_write(out, res, NULL) < 0;
		cJSON_Delete(res);
	}
	for (size_t i = 0; i < r->nd; i++) {
		struct drop *d = &r->drops[i];
		const char *action = ni.dry_run ? "would-delete" : d->ok ? "deleted" :
				     d->in_use ? "kept" : "failed";
		cJSON *res = result(e, ni_base_name(d->path), "template", d->path, action);

		if (!ni.dry_run && !d->ok) {
			cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(res, "status"),
						"message", d->err.data);
			if (d->in_use) {
				warn("kept template '%s': it is still in use (%s)",
				     ni_base_name(d->path), d->err.data);
			} else {
				error("cannot delete template '%s': %s", ni_base_name(d->path),
				      d->err.data);
				failed = true;
			}
		}
		failed |= stream_out_write(out, res, NULL) < 0;
		cJSON_Delete(res);
	}
	return failed;
}

int rollback_run(struct cli_ctx *ctx)
{
	struct ni_env e = { 0 };
	struct gcp *g = NULL;
	struct ni_group *v = NULL;
	struct cli_list only = { 0 };
	struct stream_out *out = NULL;
	struct rollback r = { 0 };
	struct buf err = BUF_INIT, path = BUF_INIT;
	char **colls = NULL, **sources = NULL;
	size_t n = 0, nc = 0, ns = 0;
	int rc;

	(void)ctx;
	if ((rc = ni_open(&e, &g)))
		goto out;
	rc = 1;
	if (!(out = ni_out_open()))
		goto out;
	ni_list_split(&rollback_groups, &only);
	if (ni_groups(g, &e, &only, &v, &n, &err) < 0) {
		error("%s", err.data);
		goto out;
	}
	r.g = g;
	r.backs = calloc(n + 1, sizeof(*r.backs));
	if (!r.backs)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *src = ni_source_name(&v[i]);

		add_str(&sources, &ns, src);
		buf_reset(&path);
		collection_of(v[i].template_url, &path);
		add_str(&colls, &nc, path.data);
		if (v[i].run < 0 || !v[i].source_template)
			continue;
		buf_printf(&path, "/instanceTemplates/%s", src);
		r.backs[r.nb].grp = &v[i];
		r.backs[r.nb++].target = buf_detach(&path, NULL);
	}
	if (!ni.dry_run && ni_parallel(r.nb, point_back, &r))
		warn("some groups could not be pointed back: their custom templates stay");
	if (find_drops(&r, colls, nc, sources, ns, &err) < 0) {
		error("%s", err.data);
		report(&e, &r, v, n, out);
		goto out;
	}
	if (!ni.dry_run)
		ni_parallel(r.nd, delete_template, &r);
	rc = report(&e, &r, v, n, out) ? 1 : 0;
out:
	if (out && stream_out_close(out) < 0)
		rc = 1;
	for (size_t i = 0; i < r.nb; i++) {
		free(r.backs[i].target);
		buf_release(&r.backs[i].err);
	}
	for (size_t i = 0; i < r.nd; i++) {
		free(r.drops[i].path);
		buf_release(&r.drops[i].err);
	}
	free(r.backs);
	free(r.drops);
	for (size_t i = 0; i < nc; i++)
		free(colls[i]);
	for (size_t i = 0; i < ns; i++)
		free(sources[i]);
	free(colls);
	free(sources);
	ni_groups_free(v, n);
	ni_list_free(&only);
	buf_release(&err);
	buf_release(&path);
	gcp_free(g);
	ni_env_free(&e);
	return rc;
}
