/* share.c - `kubectl vastrun upload-to-share`: every finished run (or the
 * one --run-id names) archived and uploaded to the share that .env names,
 * from inside the cluster (share_job.c), never through this machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "obj.h"
#include "s3.h"
#include "share.h"
#include "vastrun.h"

static const char *opt_run_id, *opt_image, *opt_s3_endpoint, *opt_chunk;
static bool opt_keep, opt_force;

const struct cli_opt share_opts[] = {
	{ "run-id", 0, CLI_STR, &opt_run_id, "ID", "upload only this run (default: every finished run)", NULL, NULL },
	{ "keep-archive", 0, CLI_BOOL, &opt_keep, NULL, "keep <run>.tar.gz in the run's bucket after a successful upload", NULL, NULL },
	{ "force", 0, CLI_BOOL, &opt_force, NULL, "replace a file of the same name on the share, and pack a new archive instead of reusing a kept one", NULL, NULL },
	{ "tools-image", 0, CLI_STR, &opt_image, "IMAGE", "the image of the upload Job (default " VAST_DEFAULT_TOOLS_IMAGE ")", NULL, NULL },
	{ "s3-endpoint", 0, CLI_STR, &opt_s3_endpoint, "URL", "reach the results store at URL from this machine instead of a port-forward", NULL, NULL },
	{ "chunk-size", 0, CLI_STR, &opt_chunk, "SIZE", "Google Drive upload chunk, a multiple of 256Ki (default 8Mi)", NULL, NULL },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

static int parse_chunk(int64_t *out, struct buf *err)
{
	struct buf why = BUF_INIT;
	int rc = 0;

	*out = SHARE_DEFAULT_CHUNK;
	if (!opt_chunk)
		return 0;
	if (quantity_value(opt_chunk, out, &why) < 0 || *out <= 0 ||
	    *out % SHARE_CHUNK_UNIT) {
		buf_set(err, "--chunk-size '%s' is not a positive multiple of 256Ki", opt_chunk);
		rc = -1;
	}
	buf_release(&why);
	return rc;
}

/* The runs to upload, into a new array: --run-id, or every run-* bucket. */
static int find_runs(struct s3 *s3, cJSON **runs, struct buf *err)
{
	cJSON *names = NULL, *out = cJSON_CreateArray();
	const cJSON *it;
	int rc = -1, yes;

	if (!out)
		die("out of memory");
	if (opt_run_id) {
		if ((yes = s3_bucket_exists(s3, opt_run_id, err)) < 0)
			goto out;
		if (!yes) {
			buf_set(err, "run '%s' has no results in the store (no bucket of that "
				"name)", opt_run_id);
			goto out;
		}
		cJSON_AddItemToArray(out, cJSON_CreateString(opt_run_id));
	} else {
		if (s3_bucket_list(s3, &names, err) < 0)
			goto out;
		cJSON_ArrayForEach(it, names)
			if (cJSON_IsString(it) && !strncmp(it->valuestring, "run-", 4))
				cJSON_AddItemToArray(out, cJSON_CreateString(it->valuestring));
	}
	*runs = out;
	out = NULL;
	rc = 0;
out:
	cJSON_Delete(out);
	cJSON_Delete(names);
	return rc;
}

/* Jobs of the run that have not finished: -1 on error. */
static int unfinished(struct kube *k, const char *ns, const char *run, struct buf *err)
{
	struct kube_err ke = KUBE_ERR_INIT;
	struct kube_list_opts o = { NULL, NULL, false, 0 };
	struct buf sel = BUF_INIT;
	cJSON *list = NULL;
	const cJSON *it;
	int n = 0;

	buf_printf(&sel, "%s=%s", VAST_LABEL_RUN, run);
	o.label_selector = sel.data;
	if (kube_list(k, "batch/v1", "Job", ns, &o, &list, &ke) < 0) {
		kube_err_format(&ke, err);
		n = -1;
		goto out;
	}
	cJSON_ArrayForEach(it, obj_get(list, "items"))
		if (!obj_condition(it, "Complete", "True") &&
		    !obj_condition(it, "Failed", "True"))
			n++;
out:
	kube_err_release(&ke);
	buf_release(&sel);
	cJSON_Delete(list);
	return n;
}

int share_run(struct cli_ctx *ctx)
{
	struct share_conf conf;
	struct vast_store st;
	struct kube_err ke = KUBE_ERR_INIT;
	struct buf err = BUF_INIT;
	struct kube *k = NULL;
	struct s3 *s3 = NULL;
	cJSON *runs = NULL;
	const cJSON *it;
	const char *ns;
	int64_t chunk;
	int done = 0, failed = 0, skipped = 0, rc = 1, n;
	bool have_store = false, have_conf = false;

	if (parse_chunk(&chunk, &err) < 0) {
		rc = cli_usage_error(ctx, "%s", err.data);
		buf_reset(&err);
		goto out;
	}
	if (share_conf_load(".", &conf, &err) < 0)
		goto out;
	have_conf = true;
	if (conf.env_path)
		logv(1, "share settings from '%s'", conf.env_path);
	if (kube_open(&ctx->g.kube, "kubectl-vastrun", &k, &ke) < 0) {
		kube_err_print(&ke);
		goto out;
	}
	ns = kube_namespace(k);
	if (store_open(k, &ctx->g.kube, ns, opt_s3_endpoint, &st, &err) < 0)
		goto out;
	have_store = true;
	{
		struct s3_config c = { st.endpoint, st.region, st.access_key, st.secret_key };

		if (s3_open(&c, &s3, &err) < 0 || find_runs(s3, &runs, &err) < 0)
			goto out;
	}
	if (!cJSON_GetArraySize(runs)) {
		info("no runs in the results store of namespace '%s'", ns);
		rc = 0;
		goto out;
	}
	cJSON_ArrayForEach(it, runs) {
		struct share_job j = { k, ns, it->valuestring,
				       opt_image ? opt_image : VAST_DEFAULT_TOOLS_IMAGE,
				       &conf, &st, chunk, opt_force, opt_keep };

		if ((n = unfinished(k, ns, it->valuestring, &err)) < 0)
			goto out;
		if (n > 0) {
			info("%s  skipped: %d jobs are still running or pending", it->valuestring, n);
			skipped++;
			continue;
		}
		if (share_job_run(&j, &err) < 0) {
			if (err.len)
				error("%s", err.data);
			buf_reset(&err);
			failed++;
		} else {
			done++;
		}
	}
	if (done)
		info("uploaded %d run(s) to %s", done, conf.type);
	if (failed)
		buf_set(&err, "%d of %d run(s) not uploaded", failed, done + failed);
	else if (!done && skipped)
		info("nothing uploaded: every run is still running");
	rc = failed ? 1 : 0;
out:
	if (err.len)
		error("%s", err.data);
	cJSON_Delete(runs);
	s3_close(s3);
	if (have_store)
		store_free(&st);
	kube_close(k);
	kube_err_release(&ke);
	if (have_conf)
		share_conf_free(&conf);
	buf_release(&err);
	return rc;
}
