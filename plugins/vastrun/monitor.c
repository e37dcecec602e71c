/* monitor.c - where runs stand: the runs record (VAST_RUNS_CONFIGMAP,
 * see vastrun.h), the outcomes of finished Jobs written into it as they
 * are seen, and `kubectl vastrun monitor [--run-id ID] [--watch]`.
 *
 * A run's Jobs are found by the label run-id. Its total comes from the
 * record (run.c), else from the Jobs' total-jobs annotation, else from the
 * Jobs there are. A Job that is gone counts as its recorded outcome, or
 * as unknown: never as a success (upstream counted TTL-deleted Jobs as
 * successes). --watch lists once and then follows a watch on the run's
 * Jobs from the list's resourceVersion (no polling) until every job has
 * finished.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "obj.h"
#include "setup.h"
#include "vastrun.h"

static const char *opt_run_id;
static bool opt_watch;

const struct cli_opt monitor_opts[] = {
	{ "run-id", 0, CLI_STR, &opt_run_id, "ID", "The run (default: the latest)", NULL, NULL },
	{ "watch", 'w', CLI_BOOL, &opt_watch, NULL, "Follow until every job has finished",
	  NULL, NULL },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

static cJSON *must(cJSON *item)
{
	if (!item)
		die("out of memory");
	return item;
}

/* ---- the record ------------------------------------------------------ */

const char *job_outcome(const cJSON *job)
{
	if (obj_condition(job, "Complete", "True") || obj_condition(job, "SuccessCriteriaMet", "True"))
		return "succeeded";
	if (obj_condition(job, "Failed", "True") || obj_condition(job, "FailureTarget", "True"))
		return "failed";
	return NULL;
}

static int get_record_cm(struct kube *k, const char *ns, cJSON **cm, struct buf *err)
{
	struct kube_err ke = KUBE_ERR_INIT;
	int rc = 0;

	*cm = NULL;
	if (kube_get(k, "v1", "ConfigMap", ns, VAST_RUNS_CONFIGMAP, cm, &ke) < 0 && ke.code != 404)
		rc = vast_kerr(err, &ke);
	kube_err_release(&ke);
	return rc;
}

int runs_get(struct kube *k, const char *ns, const char *run_id, cJSON **record,
	     cJSON **outcomes, struct buf *err)
{
	const size_t plen = strlen(VAST_OUTCOME_PREFIX);
	cJSON *cm;
	const cJSON *d;

	*record = NULL;
	*outcomes = must(cJSON_CreateObject());
	if (get_record_cm(k, ns, &cm, err) < 0) {
		cJSON_Delete(*outcomes);
		*outcomes = NULL;
		return -1;
	}
	cJSON_ArrayForEach(d, obj_get(cm, "data")) {
		if (!cJSON_IsString(d))
			continue;
		if (!strcmp(d->string, run_id))
			*record = cJSON_Parse(d->valuestring);
		else if (!strncmp(d->string, VAST_OUTCOME_PREFIX, plen))
			cJSON_AddStringToObject(*outcomes, d->string + plen, d->valuestring);
	}
	cJSON_Delete(cm);
	return 0;
}

int runs_record_outcomes(struct kube *k, const char *ns, const cJSON *jobs,
			 cJSON *outcomes, struct buf *err)
{
	struct kube_err ke = KUBE_ERR_INIT;
	cJSON *patch = must(cJSON_CreateObject()), *data = must(cJSON_AddObjectToObject(patch, "data"));
	const cJSON *j;
	struct buf key = BUF_INIT;
	int rc = 0;

	cJSON_ArrayForEach(j, jobs) {
		const char *o = job_outcome(j), *name = obj_name(j);

		if (!o || !name || (outcomes && cJSON_GetObjectItemCaseSensitive(outcomes, name)))
			continue;
		buf_reset(&key);
		buf_printf(&key, "%s%s", VAST_OUTCOME_PREFIX, name);
		cJSON_DeleteItemFromObjectCaseSensitive(data, buf_str(&key));
		cJSON_AddStringToObject(data, buf_str(&key), o);
		if (outcomes)
			cJSON_AddStringToObject(outcomes, name, o);
	}
	if (!cJSON_GetArraySize(data))
		goto out;
	for (int tries = 0; tries < 3; tries++) {
		kube_err_release(&ke);
		if (kube_merge_patch(k, "v1", "ConfigMap", ns, VAST_RUNS_CONFIGMAP, NULL, patch,
				     NULL, &ke) == 0)
			goto out;
		if (ke.code != 404)
			break;
		/* no record yet (Jobs made by hand, or an older run): make it */
		cJSON *cm = must(obj_new("v1", "ConfigMap", ns, VAST_RUNS_CONFIGMAP));
		obj_set_label(cm, VAST_LABEL_APP, "kubectl-vastrun");
		cJSON_AddItemToObject(cm, "data", must(cJSON_Duplicate(data, true)));
		kube_err_release(&ke);
		int c = kube_create(k, cm, ns, false, NULL, &ke);
		cJSON_Delete(cm);
		if (c == 0)
			goto out;
		if (ke.code != 409)
			break;
	}
	rc = vast_kerr(err, &ke);
out:
	buf_release(&key);
	cJSON_Delete(patch);
	kube_err_release(&ke);
	return rc;
}

/* ---- counting -------------------------------------------------------- */

struct run_view {
	const char *run_id;
	cJSON *record;		/* or NULL */
	cJSON *outcomes;	/* job -> outcome */
	cJSON *jobs;		/* job name -> Job */
	long annot_total;
	int64_t first_created;
};

static void view_put(struct run_view *v, const cJSON *job)
{
	const char *t = obj_annotation(job, VAST_ANNOT_TOTAL);
	const char *ct = obj_str(job, "metadata.creationTimestamp");
	int64_t ts;

	cJSON_DeleteItemFromObjectCaseSensitive(v->jobs, obj_name(job));
	cJSON_AddItemToObject(v->jobs, obj_name(job), must(cJSON_Duplicate(job, true)));
	if (t && atol(t) > v->annot_total)
		v->annot_total = atol(t);
	if (ct && rfc3339_parse(ct, &ts) == 0 && (!v->first_created || ts < v->first_created))
		v->first_created = ts;
}

static void tally(const struct run_view *v, struct run_counts *c)
{
	const cJSON *j, *names = obj_get(v->record, "jobs"), *o;
	long gone_recorded = 0, seen = 0;
	const char *ct;
	int64_t ts;

	memset(c, 0, sizeof(*c));
	cJSON_ArrayForEach(j, v->jobs) {
		const char *out = job_outcome(j);

		seen++;
		if (out && !strcmp(out, "succeeded"))
			c->succeeded++;
		else if (out)
			c->failed++;
		else if (obj_bool(j, "spec.suspend", false))
			c->queued++;
		else if (obj_int(j, "status.ready", 0) > 0)
			c->running++;
		else
			c->pending++;
	}
	/* the jobs gone: by their recorded outcome */
	cJSON_ArrayForEach(o, v->outcomes) {
		if (cJSON_GetObjectItemCaseSensitive(v->jobs, o->string))
			continue;
		if (cJSON_IsArray(names)) {
			bool ours = false;
			const cJSON *n;
			cJSON_ArrayForEach(n, names)
				ours |= cJSON_IsString(n) && !strcmp(n->valuestring, o->string);
			if (!ours)
				continue;
		} else if (strncmp(o->string, v->run_id, strlen(v->run_id))) {
			continue;	/* without a job list: the run id prefixes its jobs */
		}
		gone_recorded++;
		if (!strcmp(o->valuestring, "succeeded"))
			c->succeeded++;
		else
			c->failed++;
	}
	c->total = (long)obj_int(v->record, "total", 0);
	if (!c->total && cJSON_IsArray(names))
		c->total = cJSON_GetArraySize(names);
	if (!c->total)
		c->total = v->annot_total;
	if (c->total < seen + gone_recorded)
		c->total = seen + gone_recorded;
	c->unknown = c->total - seen - gone_recorded;
	c->created = v->first_created;
	if ((ct = obj_str(v->record, "created")) && rfc3339_parse(ct, &ts) == 0)
		c->created = ts;
}

static void view_free(struct run_view *v)
{
	cJSON_Delete(v->record);
	cJSON_Delete(v->outcomes);
	cJSON_Delete(v->jobs);
}

/* Lists the run's Jobs into v (and records finished ones). *rv, when
 * given, gets the list's resourceVersion (malloc'd). */
static int view_load(struct kube *k, const char *ns, const char *run_id, struct run_view *v,
		     char **rv, struct buf *err)
{
	struct kube_err ke = KUBE_ERR_INIT;
	struct kube_list_opts lo = { 0 };
	struct buf sel = BUF_INIT;
	cJSON *list = NULL;
	const cJSON *j;
	int rc = -1;

	memset(v, 0, sizeof(*v));
	v->run_id = run_id;
	v->jobs = must(cJSON_CreateObject());
	if (runs_get(k, ns, run_id, &v->record, &v->outcomes, err) < 0)
		goto out;
	buf_printf(&sel, "%s=%s", VAST_LABEL_RUN, run_id);
	lo.label_selector = buf_str(&sel);
	if (kube_list(k, "batch/v1", "Job", ns, &lo, &list, &ke) < 0) {
		vast_kerr(err, &ke);
		goto out;
	}
	cJSON_ArrayForEach(j, obj_get(list, "items"))
		view_put(v, j);
	if (runs_record_outcomes(k, ns, obj_get(list, "items"), v->outcomes, err) < 0)
		goto out;
	if (rv && !(*rv = strdup(obj_str(list, "metadata.resourceVersion") ?
				 obj_str(list, "metadata.resourceVersion") : "")))
		die("out of memory");
	rc = 0;
out:
	cJSON_Delete(list);
	buf_release(&sel);
	kube_err_release(&ke);
	return rc;
}

int run_count(struct kube *k, const char *ns, const char *run_id, struct run_counts *c,
	      struct buf *err)
{
	struct run_view v;
	int rc = view_load(k, ns, run_id, &v, NULL, err);

	if (rc == 0)
		tally(&v, c);
	view_free(&v);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int runs_all(struct kube *k, const char *ns, cJSON **ids, struct buf *err)
{
	struct kube_err ke = KUBE_ERR_INIT;
	struct kube_list_opts lo = { .label_selector = VAST_LABEL_RUN };
	cJSON *cm = NULL, *list = NULL, *set = must(cJSON_CreateObject()), *e;
	const char **names = NULL;
	const cJSON *d, *j;
	size_t n = 0, i;
	int rc = -1;

	*ids = NULL;
	if (get_record_cm(k, ns, &cm, err) < 0)
		goto out;
	if (kube_list(k, "batch/v1", "Job", ns, &lo, &list, &ke) < 0) {
		vast_kerr(err, &ke);
		goto out;
	}
	cJSON_ArrayForEach(d, obj_get(cm, "data"))
		if (strncmp(d->string, VAST_OUTCOME_PREFIX, strlen(VAST_OUTCOME_PREFIX)) &&
		    !cJSON_GetObjectItemCaseSensitive(set, d->string))
			cJSON_AddTrueToObject(set, d->string);
	cJSON_ArrayForEach(j, obj_get(list, "items")) {
		const char *id = obj_label(j, VAST_LABEL_RUN);
		if (id && *id && !cJSON_GetObjectItemCaseSensitive(set, id))
			cJSON_AddTrueToObject(set, id);
	}
	names = calloc((size_t)cJSON_GetArraySize(set) + 1, sizeof(*names));
	if (!names)
		die("out of memory");
	cJSON_ArrayForEach(e, set)
		names[n++] = e->string;
	qsort(names, n, sizeof(*names), cmp_str);
	*ids = must(cJSON_CreateArray());
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(*ids, must(cJSON_CreateString(names[i])));
	rc = 0;
out:
	free(names);
	cJSON_Delete(set);
	cJSON_Delete(cm);
	cJSON_Delete(list);
	kube_err_release(&ke);
	return rc;
}

/* ---- the command ------------------------------------------------------ */

static void words_duration(int64_t s, struct buf *out)
{
	if (s >= 3600)
		buf_printf(out, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else if (s >= 60)
		buf_printf(out, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
	else
		buf_printf(out, "%llds", (long long)s);
}

/* "3/8 finished (succeeded 2, failed 1, ...), 1.5 jobs/min, eta 3m20s" */
static void summary(const char *run_id, const struct run_counts *c, struct buf *out)
{
	long done = c->succeeded + c->failed + c->unknown;
	int64_t now = time(NULL), el = c->created ? now - c->created : 0;

	buf_printf(out, "%s: %ld/%ld finished (succeeded %ld, failed %ld", run_id, done,
		   c->total, c->succeeded, c->failed);
	if (c->unknown)
		buf_printf(out, ", unknown (gone) %ld", c->unknown);
	buf_printf(out, "), running %ld, pending %ld, queued %ld", c->running, c->pending,
		   c->queued);
	if (el > 0 && done > 0) {
		double rate = (double)done * 60.0 / (double)el;

		buf_printf(out, ", %.1f jobs/min", rate);
		if (done < c->total) {
			buf_adds(out, ", eta ");
			words_duration((int64_t)((double)(c->total - done) * 60.0 / rate), out);
		}
	}
}

static void draw(const char *run_id, const struct run_counts *c)
{
	long done = c->succeeded + c->failed + c->unknown;
	char bar[31];
	int fill = c->total ? (int)(done * 30 / c->total) : 0;
	struct buf line = BUF_INIT;

	for (int i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = 0;
	summary(run_id, c, &line);
	progress("[%s] %s", bar, buf_str(&line));
	buf_release(&line);
}

struct watch_ctx {
	struct kube *k;
	const char *ns;
	struct run_view *v;
	struct buf *err;
	int failed;
};

static bool all_done(const struct run_counts *c)
{
	return c->succeeded + c->failed + c->unknown >= c->total && c->total > 0;
}

static int on_event(void *vctx, const char *type, const cJSON *job)
{
	struct watch_ctx *w = vctx;
	struct run_counts c;

	cJSON *one = must(cJSON_CreateArray());
	int r;

	/* a Job deleted as it finished (TTL 0) still has its outcome */
	cJSON_AddItemReferenceToArray(one, (cJSON *)job);
	r = runs_record_outcomes(w->k, w->ns, one, w->v->outcomes, w->err);
	cJSON_Delete(one);
	if (r < 0) {
		w->failed = 1;
		return -1;
	}
	if (!strcmp(type, "DELETED"))
		cJSON_DeleteItemFromObjectCaseSensitive(w->v->jobs, obj_name(job));
	else
		view_put(w->v, job);
	tally(w->v, &c);
	draw(w->v->run_id, &c);
	return all_done(&c) ? 1 : 0;
}

int monitor_run(struct cli_ctx *ctx)
{
	struct kube_err ke = KUBE_ERR_INIT;
	struct buf err = BUF_INIT, line = BUF_INIT, sel = BUF_INIT;
	struct kube *k = NULL;
	struct run_view v = { 0 };
	struct run_counts c;
	cJSON *ids = NULL;
	char *rv = NULL, *run_id = NULL;
	const char *ns;
	int rc = 1;

	if (kube_open(&ctx->g.kube, "kubectl-vastrun", &k, &ke) < 0) {
		kube_err_print(&ke);
		goto out;
	}
	ns = kube_namespace(k);
	if (opt_run_id) {
		run_id = strdup(opt_run_id);
	} else {
		if (runs_all(k, ns, &ids, &err) < 0)
			goto fail;
		if (!cJSON_GetArraySize(ids)) {
			error("no runs in namespace '%s'", ns);
			goto out;
		}
		run_id = strdup(cJSON_GetArrayItem(ids, cJSON_GetArraySize(ids) - 1)->valuestring);
	}
	if (!run_id)
		die("out of memory");
	if (view_load(k, ns, run_id, &v, &rv, &err) < 0)
		goto fail;
	tally(&v, &c);
	if (!c.total) {
		error("no jobs of run '%s' in namespace '%s'", run_id, ns);
		goto out;
	}
	if (opt_watch && !all_done(&c)) {
		struct kube_watch_opts wo = { 0 };
		struct watch_ctx w = { k, ns, &v, &err, 0 };

		draw(run_id, &c);
		buf_printf(&sel, "%s=%s", VAST_LABEL_RUN, run_id);
		wo.label_selector = buf_str(&sel);
		wo.resource_version = rv;
		if (kube_watch(k, "batch/v1", "Job", ns, &wo, on_event, &w, &ke) < 0) {
			progress_done();
			if (w.failed)
				goto fail;
			kube_err_print(&ke);
			goto out;
		}
		progress_done();
		tally(&v, &c);
	}
	summary(run_id, &c, &line);
	printf("%s\n", buf_str(&line));
	rc = 0;
	goto out;
fail:
	vast_report(&err);
out:
	view_free(&v);
	cJSON_Delete(ids);
	free(rv);
	free(run_id);
	buf_release(&err);
	buf_release(&line);
	buf_release(&sel);
	kube_err_release(&ke);
	kube_close(k);
	return rc;
}
