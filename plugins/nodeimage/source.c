/* source.c - `check-source-image`: is the image GKE puts on the reference
 * pool the one the environment declares? Exit 0 same, 1 different, 2 error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nodeimage.h"
#include "obj.h"

#define EXIT_DIFFERENT 1
#define EXIT_ERROR 2

const struct cli_opt source_opts[] = {
	NI_COMMON_OPTS,
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

/* The declared image as "projects/P/global/images/I": source_image, or the
 * newest image of source_image_family (images.getFromFamily). */
static int declared_image(struct gcp *g, const struct ni_env *e, struct buf *out,
			  struct buf *err)
{
	struct buf path = BUF_INIT;
	cJSON *img = NULL;
	const char *link;
	int rc = -1;

	if (e->source_image) {
		buf_adds(out, ni_link_path(e->source_image));
		return 0;
	}
	buf_printf(&path, "projects/%s/global/images/family/%s", e->source_project,
		   e->source_family);
	if (gcp_request(g, "GET", "compute", path.data, NULL, &img, err) < 0)
		goto out;
	if (!(link = obj_str(img, "selfLink"))) {
		buf_set(err, "image family '%s' of project '%s': the reply has no selfLink",
			e->source_family, e->source_project);
		goto out;
	}
	buf_adds(out, ni_link_path(link));
	rc = 0;
out:
	cJSON_Delete(img);
	buf_release(&path);
	return rc;
}

int source_run(struct cli_ctx *ctx)
{
	struct ni_env e;
	struct gcp *g = NULL;
	struct buf err = BUF_INIT, want = BUF_INIT;
	cJSON *tpl = NULL, *res = NULL;
	const char *have;
	bool same;
	int rc;

	(void)ctx;
	if (ni_open(&e, &g))
		return EXIT_ERROR;
	rc = EXIT_ERROR;
	if (ni_ref_template(g, &e, &tpl, &err) < 0 || declared_image(g, &e, &want, &err) < 0) {
		error("%s", err.data);
		goto out;
	}
	if (!(have = ni_tpl_boot_image(tpl))) {
		error("the reference pool's template '%s' has no boot disk image",
		      obj_str(tpl, "name") ? obj_str(tpl, "name") : "?");
		goto out;
	}
	have = ni_link_path(have);
	same = !strcmp(have, want.data);
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "referencePool", e.ref_pool);
	cJSON_AddStringToObject(res, "referenceTemplate",
				obj_str(tpl, "name") ? obj_str(tpl, "name") : "");
	cJSON_AddStringToObject(res, "referenceImage", have);
	cJSON_AddStringToObject(res, "declaredImage", want.data);
	if (e.source_family)
		cJSON_AddStringToObject(res, "declaredFamily", e.source_family);
	cJSON_AddBoolToObject(res, "same", same);
	if (ni_print(res) < 0)
		goto out;
	if (!same)
		error("the reference pool's image '%s' is not the declared source image '%s' "
		      "of '%s'", have, want.data, e.path);
	rc = same ? 0 : EXIT_DIFFERENT;
out:
	cJSON_Delete(res);
	cJSON_Delete(tpl);
	buf_release(&want);
	buf_release(&err);
	gcp_free(g);
	ni_env_free(&e);
	return rc;
}
