/* pools.c - `list-pools`: each node pool's instance groups with their
 * current template and boot image, and the run that mutated them. A table
 * (gcloud's default for lists), or objects with --format yaml|json. Pools
 * with auto-upgrade on get a warning: GKE re-creates their templates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nodeimage.h"

const struct cli_opt pools_opts[] = {
	NI_COMMON_OPTS,
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

#define NCOLS 7

static const char *base_name(const char *s)
{
	const char *slash = s ? strrchr(s, '/') : NULL;

	return !s ? "-" : slash ? slash + 1 : s;
}

/* The row of a group: POOL GROUP LOCATION TEMPLATE IMAGE RUN AUTO-UPGRADE. */
static void row(const struct ni_group *gr, struct buf cell[NCOLS])
{
	for (int c = 0; c < NCOLS; c++)
		buf_reset(&cell[c]);
	buf_adds(&cell[0], gr->pool);
	buf_adds(&cell[1], gr->name);
	buf_adds(&cell[2], base_name(gr->scope));
	buf_adds(&cell[3], base_name(gr->template_url));
	buf_adds(&cell[4], base_name(gr->boot_image));
	if (gr->run >= 0)
		buf_printf(&cell[5], "%ld", gr->run);
	else
		buf_adds(&cell[5], "-");
	buf_adds(&cell[6], gr->auto_upgrade ? "on (mutation lost on upgrade)" : "off");
}

static int print_table(const struct ni_group *v, size_t n)
{
	static const char *const head[NCOLS] = {
		"POOL", "GROUP", "LOCATION", "TEMPLATE", "IMAGE", "MUTATED_BY_RUN", "AUTO_UPGRADE"
	};
	struct buf cell[NCOLS];
	size_t w[NCOLS];

	for (int c = 0; c < NCOLS; c++) {
		buf_init(&cell[c]);
		w[c] = strlen(head[c]);
	}
	for (size_t i = 0; i < n; i++) {
		row(&v[i], cell);
		for (int c = 0; c < NCOLS; c++)
			if (cell[c].len > w[c])
				w[c] = cell[c].len;
	}
	for (int c = 0; c < NCOLS; c++)
		printf(c < NCOLS - 1 ? "%-*s  " : "%-*s\n", c < NCOLS - 1 ? (int)w[c] : 0, head[c]);
	for (size_t i = 0; i < n; i++) {
		row(&v[i], cell);
		for (int c = 0; c < NCOLS; c++)
			printf(c < NCOLS - 1 ? "%-*s  " : "%-*s\n", c < NCOLS - 1 ? (int)w[c] : 0,
			       buf_str(&cell[c]));
	}
	for (int c = 0; c < NCOLS; c++)
		buf_release(&cell[c]);
	return ferror(stdout) ? -1 : 0;
}

static int print_objects(const struct ni_group *v, size_t n)
{
	cJSON *list = cJSON_CreateArray();
	int rc;

	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "pool", v[i].pool);
		cJSON_AddStringToObject(o, "group", v[i].name);
		cJSON_AddStringToObject(o, "location", base_name(v[i].scope));
		cJSON_AddStringToObject(o, "template", v[i].template_url ? v[i].template_url : "");
		cJSON_AddStringToObject(o, "image", v[i].boot_image ? v[i].boot_image : "");
		cJSON_AddStringToObject(o, "machineType", v[i].machine_type ? v[i].machine_type : "");
		if (v[i].run >= 0)
			cJSON_AddNumberToObject(o, "mutatedByRun", (double)v[i].run);
		else
			cJSON_AddNullToObject(o, "mutatedByRun");
		if (v[i].source_template)
			cJSON_AddStringToObject(o, "sourceTemplate", v[i].source_template);
		cJSON_AddBoolToObject(o, "autoUpgrade", v[i].auto_upgrade);
		cJSON_AddItemToArray(list, o);
	}
	rc = ni_print(list);
	cJSON_Delete(list);
	return rc;
}

int pools_run(struct cli_ctx *ctx)
{
	struct ni_env e;
	struct gcp *g = NULL;
	struct buf err = BUF_INIT;
	struct ni_group *v = NULL;
	size_t n = 0;
	int rc;

	(void)ctx;
	if ((rc = ni_open(&e, &g)))
		return rc;
	rc = 1;
	if (ni_groups(g, &e, NULL, &v, &n, &err) < 0) {
		error("%s", err.data);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].auto_upgrade && (i == 0 || strcmp(v[i - 1].pool, v[i].pool)))
			warn("node pool '%s' has auto-upgrade on: GKE re-creates its instance "
			     "templates on upgrades and the custom image is lost then", v[i].pool);
	rc = (ni.format ? print_objects(v, n) : print_table(v, n)) < 0;
out:
	ni_groups_free(v, n);
	buf_release(&err);
	gcp_free(g);
	ni_env_free(&e);
	return rc;
}
