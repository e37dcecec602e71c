/* mutate.c - `mutate --run-id N [--instance-groups a,b] [-f PLAN|-]
 * [--dry-run]`: gives the groups of a plan the image of run N.
 *
 * The plan is the one piped in (-f FILE, -f -, or stdin when it carries a
 * stream; other objects pass through), re-checked against what the groups
 * use now, or one computed here. For each distinct new template: copy the
 * current template (without id, creationTimestamp, selfLink, kind, region;
 * properties whole), point the boot disk at the image, apply the kube-env
 * replacements, label it with the run and the source template, insert it
 * and wait. Then, for each group whose template is there, setInstanceTemplate
 * and wait. Both steps run on a pool of threads, so the operations of
 * every zone are awaited at once.
 *
 * Crash safety: the labels are the record. A template left by a run that
 * died before setInstanceTemplate is found by its name when the insert
 * answers alreadyExists, checked (same run, same source) and used. Inserts
 * and setInstanceTemplate carry a requestId, the same on every retry of
 * that request. A group already at run N is skipped without a write.
 * kube-env values are never printed: errors name keys only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "nodeimage.h"
#include "obj.h"
#include "yaml.h"

static const char *mutate_run_id, *mutate_file;
static struct cli_list mutate_groups;

const struct cli_opt mutate_opts[] = {
	NI_COMMON_OPTS,
	{ "run-id", 0, CLI_STR, &mutate_run_id, "N",
	  "the run whose image the groups get (must be the environment's last_run_id)",
	  NULL, NULL },
	{ "instance-groups", 0, CLI_LIST, &mutate_groups, "A,B",
	  "only these instance groups (comma-separated, repeatable)", NULL, NULL },
	{ "filename", 'f', CLI_STR, &mutate_file, "PLAN",
	  "the NodeImagePlan to apply ('-': stdin); default: a plan made now", NULL, "file" },
	{ "dry-run", 0, CLI_BOOL, &ni.dry_run, NULL,
	  "print what would change, change nothing", NULL, NULL },
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

/* How long a template inserted by an earlier run may stay invisible
 * after its insert answered alreadyExists (its operation still runs). */
#define PENDING_INSERT_S 120

/* ---- the copy ---- */

/* Appends kube-env text with the replacements applied: a line "KEY: ..."
 * (and its indented continuation lines) of a replaced KEY becomes the new
 * entry, every other line is kept byte for byte, keys not there are added
 * at the end. */
static int kube_env_apply(const char *text, const cJSON *repl, struct buf *out,
			  struct buf *err)
{
	const cJSON *kv;
	const char *p = text;
	cJSON *used = cJSON_CreateObject();
	int rc = -1;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
		size_t klen = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
		const cJSON *hit = NULL;

		if (klen && klen < len && p[klen] == ':')
			cJSON_ArrayForEach(kv, repl)
				if (strlen(kv->string) == klen && !strncmp(kv->string, p, klen))
					hit = kv;
		if (!hit) {
			buf_add(out, p, len);
			p += len;
			continue;
		}
		cJSON_AddTrueToObject(used, hit->string);
		{
			cJSON *one = cJSON_CreateObject();
			int erc;

			cJSON_AddItemToObject(one, hit->string, cJSON_Duplicate(hit, true));
			erc = yaml_emit(out, one, err);
			cJSON_Delete(one);
			if (erc < 0) {
				buf_set(err, "kube-env: cannot write the value of '%s'", hit->string);
				goto out;
			}
		}
		for (p += len; *p == ' ' || *p == '\t';) {	/* continuation lines */
			nl = strchr(p, '\n');
			p = nl ? nl + 1 : p + strlen(p);
		}
	}
	cJSON_ArrayForEach(kv, repl) {
		cJSON *one;
		int erc;

		if (cJSON_GetObjectItemCaseSensitive(used, kv->string))
			continue;
		if (out->len && out->data[out->len - 1] != '\n')
			buf_addch(out, '\n');
		one = cJSON_CreateObject();
		cJSON_AddItemToObject(one, kv->string, cJSON_Duplicate(kv, true));
		erc = yaml_emit(out, one, err);
		cJSON_Delete(one);
		if (erc < 0) {
			buf_set(err, "kube-env: cannot write the value of '%s'", kv->string);
			goto out;
		}
	}
	rc = 0;
out:
	cJSON_Delete(used);
	return rc;
}

/* The body of the new template: a copy of tpl named name. */
static cJSON *template_copy(const struct ni_env *e, const cJSON *tpl, const char *name,
			   const char *source, long run, const char *image, struct buf *err)
{
	static const char *const drop[] = {
		"id", "creationTimestamp", "selfLink", "selfLinkWithId", "kind", "region", NULL
	};
	cJSON *t = cJSON_Duplicate(tpl, true), *d, *item, *labels;
	bool boot = false, env_done = false;
	char num[32];

	for (size_t i = 0; drop[i]; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(t, drop[i]);
	obj_set_str(t, "name", name);
	cJSON_ArrayForEach(d, (cJSON *)obj_get(t, "properties.disks"))
		if (obj_bool(d, "boot", false) && obj_set_str(d, "initializeParams.sourceImage", image))
			boot = true;
	if (!boot) {
		buf_set(err, "template '%s' has no boot disk", source);
		goto fail;
	}
	cJSON_ArrayForEach(item, (cJSON *)obj_get(t, "properties.metadata.items")) {
		const char *key = obj_str(item, "key"), *val = obj_str(item, "value");
		struct buf text = BUF_INIT;

		if (!key || strcmp(key, "kube-env") || !e->kube_env || !e->kube_env->child)
			continue;
		if (kube_env_apply(val ? val : "", e->kube_env, &text, err) < 0) {
			buf_release(&text);
			goto fail;
		}
		obj_set_str(item, "value", text.data ? text.data : "");
		explicit_bzero(text.data ? text.data : "", text.len);
		buf_release(&text);
		env_done = true;
	}
	if (e->kube_env && e->kube_env->child && !env_done) {
		buf_set(err, "template '%s' has no kube-env metadata to apply the replacements of '%s/_kube-env.yaml' to",
			source, e->dir);
		goto fail;
	}
	if (!(labels = obj_ensure(t, "properties.labels"))) {
		buf_set(err, "template '%s': properties.labels is not a map", source);
		goto fail;
	}
	snprintf(num, sizeof(num), "%ld", run);
	obj_put(labels, NI_LABEL_RUN, cJSON_CreateString(num));
	obj_put(labels, NI_LABEL_SOURCE, cJSON_CreateString(source));
	return t;
fail:
	cJSON_Delete(t);
	return NULL;
}

/* ---- the work ---- */

struct tpl_task {
	char *path;		/* projects/P/(global|regions/R)/instanceTemplates/N */
	const char *source;	/* the source template's name */
	const struct ni_group *from;	/* a group using the template to copy */
	bool ok;
	struct buf err;
};

struct grp_task {
	const struct ni_group *grp;
	size_t tpl;		/* index into tpls */
	bool ok;
	struct buf err;
};

struct mutation {
	struct gcp *g;
	const struct ni_env *e;
	long run;
	const char *image;
	struct tpl_task *tpls;
	size_t nt;
	struct grp_task *grps;
	size_t ng;
};

/* A template of the name that exists already: usable when an earlier try
 * of this run made it from the same source. Waits while an insert still
 * runs (the name is taken but the template not readable yet). */
static int adopt_template(struct mutation *m, struct tpl_task *t)
{
	time_t end = time(NULL) + PENDING_INSERT_S;
	char reason[64] = "";
	cJSON *have = NULL;
	const char *run, *src;
	int rc = -1;

	for (;;) {
		buf_reset(&t->err);
		if (ni_compute(m->g, "GET", t->path, NULL, false, &have, reason, &t->err) == 0)
			break;
		if (strcmp(reason, "notFound") || time(NULL) >= end)
			goto out;
		nanosleep(&(struct timespec){ .tv_sec = 1 }, NULL);
	}
	run = obj_str(have, "properties.labels." NI_LABEL_RUN);
	src = obj_str(have, "properties.labels." NI_LABEL_SOURCE);
	if (!run || !src || strtol(run, NULL, 10) != m->run || strcmp(src, t->source)) {
		buf_set(&t->err, "template '%s' exists but was not made by run %ld from '%s': delete it or rename the image run",
			ni_base_name(t->path), m->run, t->source);
		goto out;
	}
	info("template '%s' exists from an earlier try of run %ld: using it",
	     ni_base_name(t->path), m->run);
	rc = 0;
out:
	cJSON_Delete(have);
	return rc;
}

static int make_template(void *ctx, size_t i)
{
	struct mutation *m = ctx;
	struct tpl_task *t = &m->tpls[i];
	struct buf coll = BUF_INIT;
	cJSON *body = NULL, *op = NULL;
	char reason[64] = "";
	int rc = -1;

	body = template_copy(m->e, t->from->template, ni_base_name(t->path), t->source, m->run,
			     m->image, &t->err);
	if (!body)
		goto out;
	buf_add(&coll, t->path, (size_t)(ni_base_name(t->path) - 1 - t->path));
	logv(1, "inserting template '%s'", t->path);
	if (ni_compute(m->g, "POST", coll.data, body, true, &op, reason, &t->err) < 0) {
		if (strcmp(reason, "alreadyExists"))
			goto out;
		rc = adopt_template(m, t);
		goto out;
	}
	rc = ni_wait(m->g, op, &t->err);
out:
	if (rc < 0 && t->err.len) {
		struct buf msg = BUF_INIT;

		buf_printf(&msg, "cannot create template '%s': %s", ni_base_name(t->path), t->err.data);
		buf_set(&t->err, "%s", msg.data);
		buf_release(&msg);
	}
	t->ok = rc == 0;
	cJSON_Delete(body);
	cJSON_Delete(op);
	buf_release(&coll);
	return rc;
}

static int set_template(void *ctx, size_t i)
{
	struct mutation *m = ctx;
	struct grp_task *gt = &m->grps[i];
	struct buf path = BUF_INIT, url = BUF_INIT;
	cJSON *body = cJSON_CreateObject(), *op = NULL;
	int rc = -1;

	if (!m->tpls[gt->tpl].ok) {
		buf_set(&gt->err, "%s", m->tpls[gt->tpl].err.data);
		goto out;
	}
	ni_compute_url(m->tpls[gt->tpl].path, &url);
	cJSON_AddStringToObject(body, "instanceTemplate", url.data);
	buf_printf(&path, "%s/setInstanceTemplate", gt->grp->url);
	logv(1, "pointing '%s' at '%s'", gt->grp->url, m->tpls[gt->tpl].path);
	if (ni_compute(m->g, "POST", path.data, body, true, &op, NULL, &gt->err) < 0 ||
	    ni_wait(m->g, op, &gt->err) < 0) {
		struct buf msg = BUF_INIT;

		buf_printf(&msg, "cannot set the template of '%s': %s", gt->grp->name, gt->err.data);
		buf_set(&gt->err, "%s", msg.data);
		buf_release(&msg);
		goto out;
	}
	rc = 0;
out:
	gt->ok = rc == 0;
	cJSON_Delete(body);
	cJSON_Delete(op);
	buf_release(&path);
	buf_release(&url);
	return rc;
}

/* ---- the plan ---- */

/* Checks a piped plan's spec against the environment and the run. */
static int plan_check(const cJSON *plan, const cJSON *fresh, struct buf *err)
{
	static const char *const keys[] = { "env", "project", "location", "cluster", "image", NULL };

	for (size_t i = 0; keys[i]; i++) {
		struct buf k = BUF_INIT;
		const char *want, *have;

		buf_printf(&k, "spec.%s", keys[i]);
		want = obj_str(fresh, k.data);
		have = obj_str(plan, k.data);
		buf_release(&k);
		if (!have || strcmp(have, want)) {
			buf_set(err, "the plan is for %s '%s', not '%s'", keys[i], have ? have : "",
				want);
			return -1;
		}
	}
	if (obj_int(plan, "spec.runId", -1) != obj_int(fresh, "spec.runId", -2)) {
		buf_set(err, "the plan is for run %lld, not %lld",
			(long long)obj_int(plan, "spec.runId", -1),
			(long long)obj_int(fresh, "spec.runId", -1));
		return -1;
	}
	return 0;
}

/* The plan from -f or stdin (NULL when none), passing other objects to out. */
static int plan_read(struct stream_out *out, cJSON **plan, struct buf *err)
{
	struct stream_in *in = NULL;
	cJSON *doc = NULL;
	int rc = -1, r;

	*plan = NULL;
	if (stream_in_open(mutate_file, &in, err) < 0)
		return -1;
	while ((r = stream_in_next(in, &doc, err)) > 0) {
		if (!stream_is_wlkit(doc, "NodeImagePlan")) {
			if (stream_out_write(out, doc, NULL) < 0) {
				buf_set(err, "cannot write to stdout");
				goto out;
			}
			cJSON_Delete(doc);
			continue;
		}
		if (*plan) {
			buf_set(err, "more than one NodeImagePlan in the input");
			goto out;
		}
		*plan = doc;
		doc = NULL;
	}
	rc = r < 0 ? -1 : 0;
out:
	cJSON_Delete(doc);
	stream_in_close(in);
	if (rc < 0) {
		cJSON_Delete(*plan);
		*plan = NULL;
	}
	return rc;
}

/* ---- the command ---- */

static cJSON *group_result(const struct ni_env *e, long run, const struct ni_group *grp,
			   const char *action)
{
	cJSON *r = ni_result_new(e, grp->name);
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(r, "spec");
	cJSON *st = cJSON_GetObjectItemCaseSensitive(r, "status");

	cJSON_AddNumberToObject(spec, "runId", (double)run);
	cJSON_AddStringToObject(spec, "pool", grp->pool);
	cJSON_AddStringToObject(spec, "instanceGroupManager", grp->url);
	cJSON_AddStringToObject(st, "action", action);
	return r;
}

/* Why a piped plan's entry no longer matches the fresh one, or NULL. */
static const char *stale(const cJSON *old, const cJSON *now)
{
	if (strcmp(obj_str(old, "currentTemplate") ? obj_str(old, "currentTemplate") : "",
		   obj_str(now, "currentTemplate")))
		return "the group's template changed since the plan was made";
	if (!obj_str(old, "newTemplate") ||
	    strcmp(obj_str(old, "newTemplate"), obj_str(now, "newTemplate") ? obj_str(now, "newTemplate") : ""))
		return "the plan's new template is not the one this run makes";
	return NULL;
}

/* The groups to read: the piped plan's "mutate" entries (limited to the
 * flag's names when given), else the flag's names. */
static void scope_of(const cJSON *piped, const struct cli_list *flag, struct cli_list *only)
{
	const cJSON *it;
	size_t cap = 0;

	if (!piped) {
		*only = *flag;
		return;
	}
	only->items = NULL;
	only->n = 0;
	cJSON_ArrayForEach(it, obj_get(piped, "spec.groups")) {
		const char *name = obj_str(it, "name"), *action = obj_str(it, "action");
		bool want = !flag->n;

		for (int j = 0; j < flag->n && name; j++)
			want |= !strcmp(flag->items[j], name);
		if (!name || !action || strcmp(action, "mutate") || !want)
			continue;
		if ((size_t)only->n + 1 > cap) {
			cap = cap ? 2 * cap : 8;
			if (!(only->items = realloc(only->items, cap * sizeof(*only->items))))
				die("out of memory");
		}
		if (!(only->items[only->n++] = strdup(name)))
			die("out of memory");
	}
}

/* Runs the mutation of the groups v[k] with want[k]; fills results. */
static void apply(struct mutation *m, struct ni_group *v, size_t n, const cJSON *fresh,
		  const bool *want, cJSON **results)
{
	m->tpls = calloc(n + 1, sizeof(*m->tpls));
	m->grps = calloc(n + 1, sizeof(*m->grps));
	if (!m->tpls || !m->grps)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *nt;
		size_t t;

		if (!want[i])
			continue;
		nt = obj_str(ni_plan_item(fresh, v[i].url), "newTemplate");
		for (t = 0; t < m->nt && strcmp(m->tpls[t].path, nt); t++)
			;
		if (t == m->nt) {
			if (!(m->tpls[t].path = strdup(nt)))
				die("out of memory");
			m->tpls[t].source = ni_source_name(&v[i]);
			m->tpls[t].from = &v[i];
			m->nt++;
		}
		m->grps[m->ng].grp = &v[i];
		m->grps[m->ng++].tpl = t;
	}
	if (!ni.dry_run) {
		ni_parallel(m->nt, make_template, m);
		ni_parallel(m->ng, set_template, m);
	}
	for (size_t k = 0; k < m->ng; k++) {
		struct grp_task *gt = &m->grps[k];
		size_t i = (size_t)(gt->grp - v);
		cJSON *st;

		results[i] = group_result(m->e, m->run, gt->grp, ni.dry_run ? "would-mutate" :
					  gt->ok ? "mutated" : "failed");
		st = cJSON_GetObjectItemCaseSensitive(results[i], "status");
		cJSON_AddStringToObject(st, "template", m->tpls[gt->tpl].path);
		cJSON_AddStringToObject(st, "previousTemplate", gt->grp->template_url);
		cJSON_AddStringToObject(st, "image", m->image);
		if (!ni.dry_run && !gt->ok) {
			cJSON_AddStringToObject(st, "message", gt->err.data);
			error("%s", gt->err.data);
		}
	}
}

static void mutation_release(struct mutation *m)
{
	for (size_t t = 0; m->tpls && t < m->nt; t++) {
		free(m->tpls[t].path);
		buf_release(&m->tpls[t].err);
	}
	for (size_t k = 0; m->grps && k < m->ng; k++)
		buf_release(&m->grps[k].err);
	free(m->tpls);
	free(m->grps);
}

int mutate_run(struct cli_ctx *ctx)
{
	struct ni_env e = { 0 };
	struct gcp *g = NULL;
	struct ni_group *v = NULL;
	struct cli_list flag = { 0 }, only = { 0 };
	struct stream_out *out = NULL;
	struct mutation m = { 0 };
	struct buf err = BUF_INIT, image = BUF_INIT;
	cJSON *piped = NULL, *fresh = NULL, **results = NULL;
	const cJSON *it;
	bool *want = NULL, failed = false;
	size_t n = 0;
	long run;
	int rc;

	if (!mutate_run_id)
		return cli_usage_error(ctx, "--run-id N is required");
	if (ni_run_id_parse(mutate_run_id, &run, &err) < 0) {
		rc = cli_usage_error(ctx, "%s", err.data);
		buf_release(&err);
		return rc;
	}
	if ((rc = ni_open(&e, &g)))
		goto out;
	if (run != e.last_run_id) {
		error("run id %ld is not the last_run_id of '%s' (%ld): build the image of run %ld first, or pass --run-id %ld",
		      run, e.path, e.last_run_id, run, e.last_run_id);
		rc = EXIT_USAGE;
		goto out;
	}
	rc = 1;
	if (!(out = ni_out_open()))
		goto out;
	if (plan_read(out, &piped, &err) < 0) {
		error("%s", err.data);
		goto out;
	}
	ni_list_split(&mutate_groups, &flag);
	scope_of(piped, &flag, &only);
	if (!piped || only.n) {
		if (ni_groups(g, &e, &only, &v, &n, &err) < 0) {
			error("%s", err.data);
			goto out;
		}
	}
	buf_printf(&image, "projects/%s/global/images/%s-%ld", ni_project(&e), e.image_prefix, run);
	m = (struct mutation){ .g = g, .e = &e, .run = run, .image = image.data };
	fresh = ni_plan_build(&e, run, v, n);
	if (piped && plan_check(piped, fresh, &err) < 0) {
		error("%s", err.data);
		goto out;
	}
	want = calloc(n + 1, sizeof(*want));
	results = calloc(n + 1, sizeof(*results));
	if (!want || !results)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		const cJSON *now = ni_plan_item(fresh, v[i].url);
		const cJSON *old = piped ? ni_plan_item(piped, v[i].url) : NULL;
		const char *why;

		if (piped && (!old || !obj_str(old, "action") || strcmp(obj_str(old, "action"), "mutate")))
			continue;	/* not the plan's to change: its entry is printed below */
		if (!strcmp(obj_str(now, "action"), "skip")) {
			results[i] = group_result(&e, run, &v[i], "skipped");
			cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(results[i], "status"),
						"reason", obj_str(now, "reason"));
		} else if (piped && (why = stale(old, now))) {
			results[i] = group_result(&e, run, &v[i], "failed");
			cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(results[i], "status"),
						"message", why);
			error("instance group '%s': %s: make a new plan", v[i].name, why);
			failed = true;
		} else {
			want[i] = true;
		}
	}
	ni_warn_auto_upgrade(v, n, fresh);
	apply(&m, v, n, fresh, want, results);
	for (size_t i = 0; i < n; i++) {
		if (!results[i])
			continue;
		failed |= !strcmp(obj_str(results[i], "status.action"), "failed");
		if (stream_out_write(out, results[i], NULL) < 0)
			goto out;
	}
	cJSON_ArrayForEach(it, obj_get(piped, "spec.groups")) {
		const char *name = obj_str(it, "name"), *action = obj_str(it, "action");
		cJSON *r;

		if (!name || (action && !strcmp(action, "mutate")))
			continue;
		r = ni_result_new(&e, name);
		cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(r, "spec"), "runId", (double)run);
		if (obj_str(it, "pool"))
			cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(r, "spec"), "pool",
						obj_str(it, "pool"));
		if (obj_str(it, "instanceGroupManager"))
			cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(r, "spec"),
						"instanceGroupManager", obj_str(it, "instanceGroupManager"));
		cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(r, "status"), "action", "skipped");
		cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(r, "status"), "reason",
					obj_str(it, "reason") ? obj_str(it, "reason") : "skipped by the plan");
		rc = stream_out_write(out, r, NULL);
		cJSON_Delete(r);
		if (rc < 0) {
			rc = 1;
			goto out;
		}
	}
	rc = failed ? 1 : 0;
out:
	if (out && stream_out_close(out) < 0)
		rc = 1;
	for (size_t i = 0; results && i < n; i++)
		cJSON_Delete(results[i]);
	free(results);
	free(want);
	mutation_release(&m);
	cJSON_Delete(piped);
	cJSON_Delete(fresh);
	ni_groups_free(v, n);
	if (only.items != flag.items)
		ni_list_free(&only);
	ni_list_free(&flag);
	buf_release(&err);
	buf_release(&image);
	gcp_free(g);
	ni_env_free(&e);
	return rc;
}
