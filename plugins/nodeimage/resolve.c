/* resolve.c - node pools to instance groups to instance templates.
 *
 * One GKE call lists the cluster's node pools; each pool's
 * instanceGroupUrls name its managers (zonal or regional; both groups of a
 * blue-green upgrade). Every manager is read once, then every distinct
 * template once (global or regional), the reads of one kind concurrently.
 * Template bodies carry kube-env, so every Compute request made here is
 * .sensitive: its bodies never reach a -v log.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nodeimage.h"
#include "obj.h"

#define COMPUTE_URL "https://www.googleapis.com/compute/v1/"

const char *ni_project(const struct ni_env *e)
{
	return ni.project && *ni.project ? ni.project : e->project;
}

int ni_compute_path(const char *url, struct buf *out)
{
	const char *p;

	if (!url)
		return -1;
	if (!strncmp(url, "projects/", 9))
		p = url;
	else if ((p = strstr(url, "/projects/")))
		p++;
	else
		return -1;
	buf_adds(out, p);
	while (out->len && out->data[out->len - 1] == '/')
		buf_setlen(out, out->len - 1);
	return 0;
}

void ni_compute_url(const char *url, struct buf *out)
{
	buf_adds(out, COMPUTE_URL);
	if (ni_compute_path(url, out) < 0)
		buf_adds(out, url);
}

const char *ni_base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* ---- a small pool of threads ---- */

struct par {
	pthread_mutex_t lock;
	size_t next, n, failed;
	int (*fn)(void *ctx, size_t i);
	void *ctx;
};

static void *par_main(void *arg)
{
	struct par *p = arg;

	for (;;) {
		size_t i;
		int rc;

		pthread_mutex_lock(&p->lock);
		i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->n)
			break;
		rc = p->fn(p->ctx, i);
		if (rc < 0) {
			pthread_mutex_lock(&p->lock);
			p->failed++;
			pthread_mutex_unlock(&p->lock);
		}
	}
	return NULL;
}

size_t ni_parallel(size_t n, int (*fn)(void *ctx, size_t i), void *ctx)
{
	struct par p = { .n = n, .fn = fn, .ctx = ctx };
	pthread_t th[NI_THREADS];
	size_t k = n < NI_THREADS ? n : NI_THREADS, started = 0;

	pthread_mutex_init(&p.lock, NULL);
	for (size_t i = 1; i < k; i++) {
		if (pthread_create(&th[started], NULL, par_main, &p))
			break;
		started++;
	}
	par_main(&p);	/* this thread works too (and alone when none started) */
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&p.lock);
	return p.failed;
}

/* ---- Compute requests ---- */

int ni_compute(struct gcp *g, const char *method, const char *path,
	       const cJSON *body, bool request_id, cJSON **out, char *reason,
	       struct buf *err)
{
	struct gcp_req r = {
		.method = method, .api = "compute", .path = path, .body = body,
		.request_id = request_id, .sensitive = true,
		.idempotent = !strcmp(method, "GET"),
	};
	struct gcp_reply reply = GCP_REPLY_INIT;
	int rc = gcp_do(g, &r, &reply, err);

	if (reason)
		snprintf(reason, sizeof(reply.error_reason), "%s", reply.error_reason);
	if (out) {
		*out = NULL;
		if (rc == 0) {
			*out = reply.json ? reply.json : cJSON_CreateObject();
			reply.json = NULL;
		}
	}
	gcp_reply_release(&reply);
	return rc;
}

int ni_custom_templates(struct gcp *g, const char *collection, cJSON **out,
			struct buf *err)
{
	struct buf path = BUF_INIT, token = BUF_INIT;
	cJSON *all = cJSON_CreateArray(), *page = NULL;
	int rc = -1;

	*out = NULL;
	for (;;) {
		const cJSON *item;
		const char *next;

		buf_reset(&path);
		buf_printf(&path, "%s/instanceTemplates", collection);
		if (token.len) {
			buf_adds(&path, "?pageToken=");
			http_escape(&path, token.data);
		}
		cJSON_Delete(page);
		if (ni_compute(g, "GET", path.data, NULL, false, &page, NULL, err) < 0)
			goto out;
		cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(page, "items"))
			if (obj_str(item, "properties.labels." NI_LABEL_RUN))
				cJSON_AddItemToArray(all, cJSON_Duplicate(item, true));
		next = obj_str(page, "nextPageToken");
		if (!next || !*next)
			break;
		if (token.len && !strcmp(next, token.data)) {
			buf_set(err, "compute: the server returned the same nextPageToken twice for '%s'",
				collection);
			goto out;
		}
		buf_reset(&token);
		buf_adds(&token, next);
	}
	*out = all;
	all = NULL;
	rc = 0;
out:
	cJSON_Delete(all);
	cJSON_Delete(page);
	buf_release(&path);
	buf_release(&token);
	return rc;
}

int ni_wait(struct gcp *g, const cJSON *op, struct buf *err)
{
	/* Compute's wait returns within about two minutes, or at once: a
	 * wait that came back early without DONE is repeated after this. */
	struct gcp_wait w = { .poll_ms = 500 };

	return gcp_wait_operation(g, "compute", op, &w, NULL, err);
}

/* ---- resolving ---- */

static void group_free(struct ni_group *grp);

struct resolve {
	struct gcp *g;
	struct ni_group *v;
	size_t n;
	cJSON **igms;		/* per group */
	char **tpl_paths;	/* distinct templates */
	cJSON **tpls;
	size_t nt;
	struct buf *errs;	/* per task */
};

static int get_igm(void *ctx, size_t i)
{
	struct resolve *r = ctx;

	return ni_compute(r->g, "GET", r->v[i].url, NULL, false, &r->igms[i], NULL,
			  &r->errs[i]);
}

static int get_tpl(void *ctx, size_t i)
{
	struct resolve *r = ctx;

	return ni_compute(r->g, "GET", r->tpl_paths[i], NULL, false, &r->tpls[i], NULL,
			  &r->errs[i]);
}

static bool in_list(char *const *list, const char *s)
{
	for (; list && *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

static bool in_cli_list(const struct cli_list *l, const char *s)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->items[i], s))
			return true;
	return false;
}

/* The names of v[0..n) as "a, b, c", appended to out. */
static void add_names(struct buf *out, const struct ni_group *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_printf(out, "%s%s", i ? ", " : "", v[i].name);
	if (!n)
		buf_adds(out, "none");
}

/* Adds the group of a manager's link (once) unless filtered out. */
static int add_group(struct resolve *r, const char *pool, bool auto_upgrade,
		     const char *link, struct buf *err)
{
	struct buf path = BUF_INIT;
	struct ni_group *grp;
	char *slash;
	int rc = -1;

	if (ni_compute_path(link, &path) < 0 || !strstr(path.data, "/instanceGroupManagers/")) {
		buf_set(err, "node pool '%s' has an instance group URL that is not a manager: '%s'",
			pool, link);
		goto out;
	}
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].url, path.data)) {
			rc = 0;
			goto out;
		}
	r->v = realloc(r->v, (r->n + 1) * sizeof(*r->v));
	if (!r->v)
		die("out of memory");
	grp = &r->v[r->n++];
	memset(grp, 0, sizeof(*grp));
	grp->pool = strdup(pool);
	grp->name = strdup(ni_base_name(path.data));
	grp->url = strdup(path.data);
	grp->run = -1;
	grp->auto_upgrade = auto_upgrade;
	/* projects/P/zones/Z/instanceGroupManagers/N -> zones/Z */
	slash = strchr(strchr(path.data, '/') + 1, '/');
	grp->scope = strndup(slash + 1, strstr(path.data, "/instanceGroupManagers/") - slash - 1);
	if (!grp->pool || !grp->name || !grp->url || !grp->scope)
		die("out of memory");
	rc = 0;
out:
	buf_release(&path);
	return rc;
}

/* The groups of the pools in scope, before any filter by name. */
static int list_groups(struct resolve *r, const struct ni_env *e, struct buf *err)
{
	struct buf path = BUF_INIT;
	cJSON *reply = NULL;
	const cJSON *pool, *link;
	int rc = -1;

	buf_printf(&path, "v1/projects/%s/locations/%s/clusters/%s/nodePools",
		   ni_project(e), e->location, e->cluster);
	if (gcp_request(r->g, "GET", "container", path.data, NULL, &reply, err) < 0)
		goto out;
	for (char **want = e->node_pools; want && *want; want++) {
		bool found = false;

		cJSON_ArrayForEach(pool, cJSON_GetObjectItemCaseSensitive(reply, "nodePools"))
			found |= obj_str(pool, "name") && !strcmp(obj_str(pool, "name"), *want);
		if (!found) {
			buf_set(err, "%s: node_pools: cluster '%s' has no node pool '%s'",
				e->path, e->cluster, *want);
			goto out;
		}
	}
	cJSON_ArrayForEach(pool, cJSON_GetObjectItemCaseSensitive(reply, "nodePools")) {
		const char *name = obj_str(pool, "name");

		/* every pool when none are named, but the reference pool: it
		 * only exists to be read (ref-pool create) */
		if (!name || (e->node_pools && !in_list(e->node_pools, name)) ||
		    (!e->node_pools && e->ref_pool && !strcmp(name, e->ref_pool)))
			continue;
		cJSON_ArrayForEach(link, cJSON_GetObjectItemCaseSensitive(pool, "instanceGroupUrls"))
			if (cJSON_IsString(link) &&
			    add_group(r, name, obj_bool(pool, "management.autoUpgrade", false),
				      link->valuestring, err) < 0)
				goto out;
	}
	rc = 0;
out:
	cJSON_Delete(reply);
	buf_release(&path);
	return rc;
}

/* Keeps the groups that e->instance_groups and only name (each name must
 * be one of the groups). */
static int filter_groups(struct resolve *r, const struct ni_env *e,
			 const struct cli_list *only, struct buf *err)
{
	size_t k = 0;

	for (char **want = e->instance_groups; want && *want; want++) {
		bool found = false;

		for (size_t i = 0; i < r->n; i++)
			found |= !strcmp(r->v[i].name, *want);
		if (!found) {
			buf_set(err, "%s: instance_groups: no node pool in scope has the group '%s' (groups: ",
				e->path, *want);
			add_names(err, r->v, r->n);
			buf_adds(err, ")");
			return -1;
		}
	}
	for (int j = 0; only && j < only->n; j++) {
		bool found = false;

		for (size_t i = 0; i < r->n; i++)
			found |= !strcmp(r->v[i].name, only->items[j]) &&
				 (!e->instance_groups || in_list(e->instance_groups, r->v[i].name));
		if (!found) {
			buf_set(err, "unknown instance group '%s' (groups in scope: ", only->items[j]);
			add_names(err, r->v, r->n);
			buf_adds(err, ")");
			return -1;
		}
	}
	for (size_t i = 0; i < r->n; i++) {
		bool keep = (!e->instance_groups || in_list(e->instance_groups, r->v[i].name)) &&
			    (!only || !only->n || in_cli_list(only, r->v[i].name));

		if (keep)
			r->v[k++] = r->v[i];
		else
			group_free(&r->v[i]);
	}
	r->n = k;
	return 0;
}

/* The template a manager uses: instanceTemplate, else the one of
 * versions[] (a canary with two templates is refused). */
static int igm_template(const struct ni_group *grp, const cJSON *igm, struct buf *out,
			struct buf *err)
{
	const char *t = obj_str(igm, "instanceTemplate");
	const cJSON *ver;

	if (t && *t)
		return ni_compute_path(t, out) < 0 ? -1 : 0;
	cJSON_ArrayForEach(ver, cJSON_GetObjectItemCaseSensitive(igm, "versions")) {
		const char *vt = obj_str(ver, "instanceTemplate");

		if (!vt || !*vt)
			continue;
		if (!t || !*t)
			t = vt;
		else if (strcmp(ni_base_name(t), ni_base_name(vt))) {
			buf_set(err, "instance group '%s' is in the middle of an update (its versions use '%s' and '%s'): finish it first",
				grp->name, ni_base_name(t), ni_base_name(vt));
			return -1;
		}
	}
	if (!t || !*t || ni_compute_path(t, out) < 0) {
		buf_set(err, "instance group '%s' has no instance template", grp->name);
		return -1;
	}
	return 0;
}

/* The boot disk's sourceImage of a template, or NULL. */
static const char *boot_image(const cJSON *tpl)
{
	const cJSON *d;

	cJSON_ArrayForEach(d, obj_get(tpl, "properties.disks"))
		if (obj_bool(d, "boot", false))
			return obj_str(d, "initializeParams.sourceImage");
	return NULL;
}

/* Fills a group from its template. */
static void fill(struct ni_group *grp, const cJSON *tpl)
{
	const char *mt = obj_str(tpl, "properties.machineType");
	const char *img = boot_image(tpl);
	const cJSON *labels = obj_get(tpl, "properties.labels");
	const char *run = obj_str(labels, NI_LABEL_RUN);
	const char *src = obj_str(labels, NI_LABEL_SOURCE);
	char *end;

	grp->template = cJSON_Duplicate(tpl, true);
	grp->template_regional = strstr(grp->template_url, "/regions/") != NULL;
	grp->machine_type = strdup(mt ? ni_base_name(mt) : "");
	grp->boot_image = strdup(img ? img : "");
	if (!grp->template || !grp->machine_type || !grp->boot_image)
		die("out of memory");
	if (run && *run) {
		long v = strtol(run, &end, 10);

		if (!*end && v >= 0)
			grp->run = v;
	}
	if (src && *src && !(grp->source_template = strdup(src)))
		die("out of memory");
}

int ni_groups(struct gcp *g, const struct ni_env *e, const struct cli_list *only,
	      struct ni_group **out, size_t *n, struct buf *err)
{
	struct resolve r = { .g = g };
	struct buf path = BUF_INIT;
	size_t tasks = 0, failed;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (list_groups(&r, e, err) < 0 || filter_groups(&r, e, only, err) < 0)
		goto out;
	tasks = r.n;
	r.igms = calloc(tasks + 1, sizeof(*r.igms));
	r.tpl_paths = calloc(tasks + 1, sizeof(*r.tpl_paths));
	r.tpls = calloc(tasks + 1, sizeof(*r.tpls));
	r.errs = calloc(tasks + 1, sizeof(*r.errs));
	if (!r.igms || !r.tpl_paths || !r.tpls || !r.errs)
		die("out of memory");
	if ((failed = ni_parallel(r.n, get_igm, &r)))
		goto first_error;
	for (size_t i = 0; i < r.n; i++) {
		size_t t;

		buf_reset(&path);
		if (igm_template(&r.v[i], r.igms[i], &path, err) < 0)
			goto out;
		if (!(r.v[i].template_url = strdup(path.data)))
			die("out of memory");
		for (t = 0; t < r.nt && strcmp(r.tpl_paths[t], path.data); t++)
			;
		if (t == r.nt && !(r.tpl_paths[r.nt++] = strdup(path.data)))
			die("out of memory");
	}
	if ((failed = ni_parallel(r.nt, get_tpl, &r)))
		goto first_error;
	for (size_t i = 0; i < r.n; i++)
		for (size_t t = 0; t < r.nt; t++)
			if (!strcmp(r.tpl_paths[t], r.v[i].template_url))
				fill(&r.v[i], r.tpls[t]);
	logv(2, "resolved %zu instance groups using %zu templates", r.n, r.nt);
	*out = r.v;
	*n = r.n;
	r.v = NULL;
	r.n = 0;
	rc = 0;
	goto out;
first_error:
	for (size_t i = 0; i < tasks; i++)
		if (r.errs[i].len) {
			buf_set(err, "%s", r.errs[i].data);
			break;
		}
out:
	for (size_t i = 0; r.errs && i < tasks; i++) {
		cJSON_Delete(r.igms[i]);
		cJSON_Delete(r.tpls[i]);
		free(r.tpl_paths[i]);
		buf_release(&r.errs[i]);
	}
	free(r.igms);
	free(r.tpls);
	free(r.tpl_paths);
	free(r.errs);
	ni_groups_free(r.v, r.n);
	buf_release(&path);
	return rc;
}

static void group_free(struct ni_group *grp)
{
	free(grp->pool);
	free(grp->name);
	free(grp->url);
	free(grp->scope);
	free(grp->template_url);
	cJSON_Delete(grp->template);
	free(grp->machine_type);
	free(grp->boot_image);
	free(grp->source_template);
	memset(grp, 0, sizeof(*grp));
}

void ni_groups_free(struct ni_group *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		group_free(&v[i]);
	free(v);
}
