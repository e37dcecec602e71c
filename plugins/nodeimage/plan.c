/* plan.c - `plan --run-id N [--instance-groups a,b]`: what a mutate of run
 * N would do, as a NodeImagePlan, and the pieces mutate shares with it
 * (template names, the plan itself, results, the output writer).
 *
 * A NodeImagePlan:
 *   apiVersion: wlkit.dev/v1alpha1
 *   kind: NodeImagePlan
 *   metadata: {name: ENV-rN}
 *   spec:
 *     env, project, location, cluster, runId, image (projects/P/global/
 *     images/PREFIX-N), kubeEnvKeys (the kube-env entries replaced: keys
 *     only, never values)
 *     groups:
 *     - name, pool, instanceGroupManager (projects/P/zones/Z/...),
 *       machineType, currentTemplate, currentImage,
 *       action: mutate   with sourceTemplate and newTemplate
 *       action: skip     with reason
 * Groups are skipped when already at run N, when their machine type is
 * excluded, and all of them when N is not the environment's last_run_id.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nodeimage.h"
#include "obj.h"

static const char *plan_run_id;
static struct cli_list plan_groups;

const struct cli_opt plan_opts[] = {
	NI_COMMON_OPTS,
	{ "run-id", 0, CLI_STR, &plan_run_id, "N",
	  "the run whose image the plan uses (the environment's last_run_id)", NULL, NULL },
	{ "instance-groups", 0, CLI_LIST, &plan_groups, "A,B",
	  "only these instance groups (comma-separated, repeatable)", NULL, NULL },
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

void ni_template_name(const char *source, long run, struct buf *out)
{
	char suffix[32];
	size_t n = strlen(source), room;
	uint32_t h = 2166136261u;

	snprintf(suffix, sizeof(suffix), "-r%ld", run);
	if (n + strlen(suffix) <= 63) {
		buf_printf(out, "%s%s", source, suffix);
		return;
	}
	/* cut, and a hash of the whole name so cuts cannot collide */
	for (const char *p = source; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	room = 63 - strlen(suffix) - 9;
	while (room > 1 && source[room - 1] == '-')
		room--;
	buf_printf(out, "%.*s-%08x%s", (int)room, source, (unsigned)h, suffix);
}

const char *ni_source_name(const struct ni_group *grp)
{
	if (grp->run >= 0 && grp->source_template && *grp->source_template)
		return grp->source_template;
	return ni_base_name(grp->template_url);
}

/* "projects/P/global/instanceTemplates/NAME" (or regions/R) of the
 * template named name in the collection of grp's current one. */
static void sibling_template(const struct ni_group *grp, const char *name, struct buf *out)
{
	const char *base = ni_base_name(grp->template_url);

	buf_add(out, grp->template_url, (size_t)(base - grp->template_url));
	buf_adds(out, name);
}

cJSON *ni_plan_build(const struct ni_env *e, long run, const struct ni_group *v,
		     size_t n)
{
	struct buf s = BUF_INIT;
	cJSON *plan, *spec, *groups, *keys = cJSON_CreateArray();
	const cJSON *kv;

	buf_printf(&s, "%s-r%ld", e->name, run);
	plan = obj_new(NI_API_VERSION, "NodeImagePlan", NULL, s.data);
	spec = cJSON_AddObjectToObject(plan, "spec");
	cJSON_AddStringToObject(spec, "env", e->name);
	cJSON_AddStringToObject(spec, "project", ni_project(e));
	cJSON_AddStringToObject(spec, "location", e->location);
	cJSON_AddStringToObject(spec, "cluster", e->cluster);
	cJSON_AddNumberToObject(spec, "runId", (double)run);
	buf_reset(&s);
	buf_printf(&s, "projects/%s/global/images/%s-%ld", ni_project(e), e->image_prefix, run);
	cJSON_AddStringToObject(spec, "image", s.data);
	cJSON_ArrayForEach(kv, e->kube_env)
		cJSON_AddItemToArray(keys, cJSON_CreateString(kv->string));
	cJSON_AddItemToObject(spec, "kubeEnvKeys", keys);
	groups = cJSON_AddArrayToObject(spec, "groups");
	for (size_t i = 0; i < n; i++) {
		const struct ni_group *grp = &v[i];
		cJSON *it = cJSON_CreateObject();

		cJSON_AddStringToObject(it, "name", grp->name);
		cJSON_AddStringToObject(it, "pool", grp->pool);
		cJSON_AddStringToObject(it, "instanceGroupManager", grp->url);
		cJSON_AddStringToObject(it, "machineType", grp->machine_type);
		cJSON_AddStringToObject(it, "currentTemplate", grp->template_url);
		cJSON_AddStringToObject(it, "currentImage", grp->boot_image);
		buf_reset(&s);
		if (run != e->last_run_id) {
			if (e->last_run_id < 0)
				buf_printf(&s, "run id %ld: the environment has no last_run_id yet (build-image first)",
					   run);
			else
				buf_printf(&s, "run id %ld is not the environment's last_run_id %ld",
					   run, e->last_run_id);
		} else if (grp->run == run) {
			buf_printf(&s, "already at run %ld", run);
		} else if (ni_machine_excluded(e, grp->machine_type)) {
			buf_printf(&s, "machine type '%s' is excluded", grp->machine_type);
		}
		if (s.len) {
			cJSON_AddStringToObject(it, "action", "skip");
			cJSON_AddStringToObject(it, "reason", s.data);
		} else {
			cJSON_AddStringToObject(it, "action", "mutate");
			cJSON_AddStringToObject(it, "sourceTemplate", ni_source_name(grp));
			buf_reset(&s);
			ni_template_name(ni_source_name(grp), run, &s);
			{
				struct buf t = BUF_INIT;

				sibling_template(grp, s.data, &t);
				cJSON_AddStringToObject(it, "newTemplate", t.data);
				buf_release(&t);
			}
		}
		cJSON_AddItemToArray(groups, it);
	}
	buf_release(&s);
	return plan;
}

void ni_list_split(const struct cli_list *in, struct cli_list *out)
{
	size_t cap = 0;

	out->items = NULL;
	out->n = 0;
	for (int i = 0; in && i < in->n; i++) {
		const char *p = in->items[i];

		while (*p) {
			size_t len = strcspn(p, ",");

			if (len) {
				if ((size_t)out->n + 1 > cap) {
					cap = cap ? 2 * cap : 8;
					out->items = realloc(out->items, cap * sizeof(*out->items));
					if (!out->items)
						die("out of memory");
				}
				if (!(out->items[out->n++] = strndup(p, len)))
					die("out of memory");
			}
			p += len;
			if (*p == ',')
				p++;
		}
	}
}

void ni_list_free(struct cli_list *l)
{
	for (int i = 0; i < l->n; i++)
		free((char *)l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

cJSON *ni_result_new(const struct ni_env *e, const char *name)
{
	cJSON *r = obj_new(NI_API_VERSION, "NodeImageResult", NULL, name);

	cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "spec"), "env", e->name);
	cJSON_AddObjectToObject(r, "status");
	return r;
}

struct stream_out *ni_out_open(void)
{
	int fmt = stream_format_parse(ni.format);

	if (fmt < 0 || fmt == STREAM_NAME) {
		error("unknown format '%s' (yaml or json)", ni.format);
		return NULL;
	}
	return stream_out_open(stdout, fmt);
}

const cJSON *ni_plan_item(const cJSON *plan, const char *url)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, obj_get(plan, "spec.groups"))
		if (obj_str(it, "instanceGroupManager") && !strcmp(obj_str(it, "instanceGroupManager"), url))
			return it;
	return NULL;
}

void ni_warn_auto_upgrade(const struct ni_group *v, size_t n, const cJSON *plan)
{
	for (size_t i = 0; i < n; i++) {
		const char *action = obj_str(ni_plan_item(plan, v[i].url), "action");
		bool seen = false;

		if (!v[i].auto_upgrade || !action || strcmp(action, "mutate"))
			continue;
		for (size_t j = 0; j < i; j++)
			seen |= v[j].auto_upgrade && !strcmp(v[j].pool, v[i].pool) &&
				!strcmp(obj_str(ni_plan_item(plan, v[j].url), "action"), "mutate");
		if (!seen)
			warn("node pool '%s' has auto-upgrade on: GKE re-creates its templates on upgrades and the custom image is lost (mutate again after an upgrade)",
			     v[i].pool);
	}
}

int plan_run(struct cli_ctx *ctx)
{
	struct ni_env e = { 0 };
	struct gcp *g = NULL;
	struct ni_group *v = NULL;
	struct cli_list only = { 0 };
	struct stream_out *out = NULL;
	struct buf err = BUF_INIT;
	cJSON *plan = NULL;
	size_t n = 0;
	long run;
	int rc;

	if (!plan_run_id)
		return cli_usage_error(ctx, "--run-id N is required");
	if (ni_run_id_parse(plan_run_id, &run, &err) < 0) {
		rc = cli_usage_error(ctx, "%s", err.data);
		buf_release(&err);
		return rc;
	}
	if ((rc = ni_open(&e, &g)))
		goto out;
	rc = 1;
	if (!(out = ni_out_open()))
		goto out;
	ni_list_split(&plan_groups, &only);
	if (ni_groups(g, &e, &only, &v, &n, &err) < 0) {
		error("%s", err.data);
		goto out;
	}
	if (run != e.last_run_id)
		warn("run id %ld is not the last_run_id of '%s' (%ld): every group is skipped",
		     run, e.path, e.last_run_id);
	plan = ni_plan_build(&e, run, v, n);
	ni_warn_auto_upgrade(v, n, plan);
	if (stream_out_write(out, plan, NULL) < 0)
		goto out;
	rc = 0;
out:
	if (out && stream_out_close(out) < 0)
		rc = 1;
	cJSON_Delete(plan);
	ni_groups_free(v, n);
	ni_list_free(&only);
	buf_release(&err);
	gcp_free(g);
	ni_env_free(&e);
	return rc;
}
