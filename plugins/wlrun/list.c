/* list.c - `kubectl wlrun list`: the workloads created by wlrun, as a table
 * like xpk's, or as objects with -o yaml|json.
 *
 * Status, from the objects alone:
 *   JobSet  condition Completed: Succeeded; Failed: Failed; spec.suspend
 *           (Kueue has not admitted it): Queued; else Running
 *   Job     condition Complete / Failed; spec.suspend: Queued; else Running
 *   Pod     phase Succeeded / Failed; Pending without a node: Queued; else
 *           Running
 * MESSAGE is the message of the deciding condition (or the pod's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube.h"
#include "log.h"
#include "manage.h"
#include "obj.h"
#include "stream.h"

static const char *list_status;
static bool list_all_ns;

const struct cli_opt list_opts[] = {
	{ "status", 0, CLI_STR, &list_status, "STATUS", "only workloads in this state",
	  "running|queued|finished|failed|succeeded", NULL },
	{ "all-namespaces", 'A', CLI_BOOL, &list_all_ns, NULL,
	  "list the workloads of every namespace", NULL, NULL },
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

static const struct { const char *api_version, *kind; } kinds[] = {
	{ "jobset.x-k8s.io/v1alpha2", "JobSet" },
	{ "batch/v1", "Job" },
	{ "v1", "Pod" },
};

static int by_created(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	const char *tx = obj_str(x, "metadata.creationTimestamp");
	const char *ty = obj_str(y, "metadata.creationTimestamp");
	int c = strcmp(tx ? tx : "", ty ? ty : "");

	return c ? c : strcmp(obj_name(x) ? obj_name(x) : "", obj_name(y) ? obj_name(y) : "");
}

int workloads_find(struct kube *k, const char *ns, bool all_ns, const char *name,
		   cJSON **out, struct kube_err *err)
{
	struct kube_list_opts lo = { .all_namespaces = all_ns };
	struct buf sel = BUF_INIT;
	cJSON *all = cJSON_CreateArray(), **v = NULL, *sorted = NULL;
	int rc = -1, n;

	buf_adds(&sel, WLRUN_LABEL);
	if (name)
		buf_printf(&sel, "=%s", name);
	lo.label_selector = buf_str(&sel);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		cJSON *list = NULL, *it;

		if (kube_list(k, kinds[i].api_version, kinds[i].kind, ns, &lo, &list, err) < 0) {
			if (!strcmp(err->reason, "NoKindMatch")) {
				kube_err_release(err);
				continue;
			}
			goto out;
		}
		while ((it = cJSON_DetachItemFromArray(cJSON_GetObjectItem(list, "items"), 0))) {
			if (cJSON_GetArraySize(obj_get(it, "metadata.ownerReferences")) > 0)
				cJSON_Delete(it);
			else
				cJSON_AddItemToArray(all, it);
		}
		cJSON_Delete(list);
	}
	n = cJSON_GetArraySize(all);
	v = calloc((size_t)n + 1, sizeof(*v));
	if (!v)
		die("out of memory");
	for (int i = 0; i < n; i++)
		v[i] = cJSON_DetachItemFromArray(all, 0);
	qsort(v, (size_t)n, sizeof(*v), by_created);
	sorted = cJSON_CreateArray();
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(sorted, v[i]);
	*out = sorted;
	rc = 0;
out:
	free(v);
	cJSON_Delete(all);
	buf_release(&sel);
	return rc;
}

struct row {
	const char *status, *message;
	long slices, running, done;
	const char *priority;
};

static void describe(const cJSON *o, struct row *r)
{
	const char *kind = obj_kind(o);
	const cJSON *c, *rj;

	memset(r, 0, sizeof(*r));
	r->slices = 1;
	if (!strcmp(kind, "JobSet")) {
		rj = cJSON_GetArrayItem(obj_get(o, "spec.replicatedJobs"), 0);
		r->slices = (long)obj_int(rj, "replicas", 1);
		r->priority = obj_str(rj, "template.spec.template.spec.priorityClassName");
		cJSON_ArrayForEach(rj, obj_get(o, "status.replicatedJobsStatus")) {
			r->running += (long)obj_int(rj, "active", 0);
			r->done += (long)obj_int(rj, "succeeded", 0);
		}
		if ((c = obj_condition(o, "Completed", "True")))
			r->status = "Succeeded";
		else if ((c = obj_condition(o, "Failed", "True")))
			r->status = "Failed";
		else if (obj_bool(o, "spec.suspend", false)) {
			c = obj_condition(o, "Suspended", "True");
			r->status = "Queued";
		} else
			r->status = "Running";
	} else if (!strcmp(kind, "Job")) {
		r->priority = obj_str(o, "spec.template.spec.priorityClassName");
		r->running = (long)obj_int(o, "status.active", 0);
		r->done = (long)obj_int(o, "status.succeeded", 0);
		if ((c = obj_condition(o, "Complete", "True")))
			r->status = "Succeeded";
		else if ((c = obj_condition(o, "Failed", "True")))
			r->status = "Failed";
		else if (obj_bool(o, "spec.suspend", false)) {
			c = obj_condition(o, "Suspended", "True");
			r->status = "Queued";
		} else
			r->status = "Running";
	} else {
		const char *phase = obj_str(o, "status.phase");

		c = NULL;
		r->priority = obj_str(o, "spec.priorityClassName");
		r->message = obj_str(o, "status.message");
		if (phase && !strcmp(phase, "Succeeded")) {
			r->status = "Succeeded";
			r->done = 1;
		} else if (phase && !strcmp(phase, "Failed")) {
			r->status = "Failed";
		} else if (!obj_str(o, "spec.nodeName")) {
			r->status = "Queued";
		} else {
			r->status = "Running";
			r->running = phase && !strcmp(phase, "Running");
		}
	}
	if (c)
		r->message = obj_str(c, "message");
}

static bool wanted(const struct row *r)
{
	if (!list_status)
		return true;
	if (!strcmp(list_status, "finished"))
		return !strcmp(r->status, "Succeeded") || !strcmp(r->status, "Failed");
	return !strcasecmp(list_status, r->status);
}

/* Prints rows (arrays of strings) with columns padded as kubectl does. */
static void print_table(const cJSON *rows)
{
	int width[16] = { 0 }, cols = 0;
	const cJSON *row, *cell;

	cJSON_ArrayForEach(row, rows) {
		int i = 0;

		cJSON_ArrayForEach(cell, row) {
			int l = (int)strlen(cell->valuestring);

			if (l > width[i])
				width[i] = l;
			i++;
		}
		cols = i;
	}
	cJSON_ArrayForEach(row, rows) {
		int i = 0;

		cJSON_ArrayForEach(cell, row) {
			if (i == cols - 1)
				printf("%s\n", cell->valuestring);
			else
				printf("%-*s   ", width[i], cell->valuestring);
			i++;
		}
	}
}

static void add_cell(cJSON *row, const char *s)
{
	cJSON_AddItemToArray(row, cJSON_CreateString(s && *s ? s : "<none>"));
}

int list_run(struct cli_ctx *ctx)
{
	struct kube *k = NULL;
	struct kube_err kerr = KUBE_ERR_INIT;
	struct stream_out *out = NULL;
	struct buf cell = BUF_INIT;
	cJSON *found = NULL, *rows = cJSON_CreateArray(), *row;
	const cJSON *o;
	int rc = EXIT_FAILURE, n = 0;

	if (kube_open(&ctx->g.kube, "kubectl-wlrun", &k, &kerr) < 0 ||
	    workloads_find(k, NULL, list_all_ns, NULL, &found, &kerr) < 0) {
		kube_err_print(&kerr);
		goto out;
	}
	if (ctx->g.output)
		out = stream_out_open(stdout, (enum stream_format)stream_format_parse(ctx->g.output));
	row = cJSON_CreateArray();
	if (list_all_ns)
		add_cell(row, "NAMESPACE");
	for (const char *const *h = (const char *const[]){ "NAME", "CREATED", "PRIORITY",
			"ACCELERATOR", "SLICES", "RUNNING/DONE", "STATUS", "MESSAGE", NULL }; *h; h++)
		add_cell(row, *h);
	cJSON_AddItemToArray(rows, row);
	cJSON_ArrayForEach(o, found) {
		struct row r;

		describe(o, &r);
		if (!wanted(&r))
			continue;
		n++;
		if (out) {
			if (stream_out_write(out, o, NULL) < 0)
				goto out;
			continue;
		}
		row = cJSON_CreateArray();
		if (list_all_ns)
			add_cell(row, obj_namespace(o));
		add_cell(row, obj_name(o));
		add_cell(row, obj_str(o, "metadata.creationTimestamp"));
		add_cell(row, r.priority);
		add_cell(row, obj_annotation(o, WLRUN_ACCEL_ANNOTATION));
		buf_reset(&cell);
		buf_printf(&cell, "%ld", r.slices);
		add_cell(row, buf_str(&cell));
		buf_reset(&cell);
		buf_printf(&cell, "%ld/%ld", r.running, r.done);
		add_cell(row, buf_str(&cell));
		add_cell(row, r.status);
		add_cell(row, r.message);
		cJSON_AddItemToArray(rows, row);
	}
	if (out) {
		rc = stream_out_close(out) < 0 ? EXIT_FAILURE : 0;
		out = NULL;
		goto out;
	}
	if (!n) {
		if (list_all_ns)
			info("No resources found");
		else
			info("No resources found in %s namespace.", kube_namespace(k));
	} else {
		print_table(rows);
	}
	rc = 0;
out:
	if (out)
		stream_out_close(out);
	kube_close(k);
	kube_err_release(&kerr);
	cJSON_Delete(found);
	cJSON_Delete(rows);
	buf_release(&cell);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	const char *x = obj_name(*(const cJSON *const *)a), *y = obj_name(*(const cJSON *const *)b);

	return strcmp(x ? x : "", y ? y : "");
}

/* Candidates in name order, as kubectl completes resource names. */
void workloads_complete(const char *what, const struct cli_global *g, const char *prefix)
{
	struct kube *k = NULL;
	struct kube_err kerr = KUBE_ERR_INIT;
	cJSON *found = NULL;
	const cJSON **v = NULL;
	const cJSON *o;
	size_t n = strlen(prefix), m = 0;

	(void)what;
	if (kube_open(&g->kube, "kubectl-wlrun", &k, &kerr) < 0 ||
	    workloads_find(k, NULL, false, NULL, &found, &kerr) < 0)
		goto out;
	if (!(v = calloc((size_t)cJSON_GetArraySize(found) + 1, sizeof(*v))))
		die("out of memory");
	cJSON_ArrayForEach(o, found)
		if (obj_name(o) && !strncmp(obj_name(o), prefix, n))
			v[m++] = o;
	qsort(v, m, sizeof(*v), by_name);
	for (size_t i = 0; i < m; i++)
		printf("%s\t%s\n", obj_name(v[i]), obj_kind(v[i]));
out:
	free(v);
	kube_close(k);
	kube_err_release(&kerr);
	cJSON_Delete(found);
}
