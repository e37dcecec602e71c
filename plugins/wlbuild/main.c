/* kubectl-wlbuild - Build a container image from a directory on Google Cloud
 * Build (or a local docker) and print an ImageBuild object
 *
 * Commands: build (the default), which checks every input, names the image,
 * packs the context and hands it to the backend (cloudbuild.c, docker.c);
 * and status, which shows or follows a build made earlier (with --async).
 * Objects on stdin pass through to stdout ahead of the ImageBuild, so
 * `kubectl wlbuild | kubectl wlrun` pipelines work.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "wlbuild.h"

static struct wlb_opts o = { .disk_size = -1 };
static bool status_follow;

static const struct cli_opt build_opts[] = {
	{ "image", 0, CLI_STR, &o.image, "NAME[:TAG]",
	  "the image: a full name (gcr.io/p/app, REGION-docker.pkg.dev/p/r/app), "
	  "PROJECT/app, or app (under --registry); default tag "
	  "<newest mtime>-<content hash>", NULL, NULL },
	{ "dockerfile", 0, CLI_STR, &o.dockerfile, "PATH",
	  "the Dockerfile, inside DIR (default DIR/Dockerfile)", NULL, "file" },
	{ "project", 0, CLI_STR, &o.project, "PROJECT",
	  "the Google Cloud project (default: CLOUDSDK_CORE_PROJECT, then the gcloud config)",
	  NULL, NULL },
	{ "region", 0, CLI_STR, &o.region, "REGION",
	  "where the build runs (default: CLOUDSDK_BUILDS_REGION, else global)", NULL, NULL },
	{ "registry", 0, CLI_STR, &o.registry, "REGISTRY",
	  "where a bare image name goes: gcr.io (the default, gcr.io/PROJECT) or "
	  "REGION-docker.pkg.dev/PROJECT/REPOSITORY", NULL, NULL },
	{ "machine-type", 0, CLI_STR, &o.machine_type, "TYPE", "the build machine",
	  "e2-highcpu-8|e2-highcpu-32|e2-medium|n1-highcpu-8|n1-highcpu-32", NULL },
	{ "timeout", 0, CLI_DURATION, &o.timeout_ms, "DURATION",
	  "the build's timeout, set explicitly (default 10m, at most 24h)", NULL, NULL },
	{ "disk-size", 0, CLI_INT, &o.disk_size, "GB", "the build machine's disk size in GB",
	  NULL, NULL },
	{ "substitution", 0, CLI_LIST, &o.substitutions, "_KEY=VALUE",
	  "a user substitution of the build", NULL, NULL },
	{ "build-arg", 0, CLI_LIST, &o.build_args, "KEY=VALUE",
	  "a docker --build-arg", NULL, NULL },
	{ "async", 0, CLI_BOOL, &o.async, NULL,
	  "print the ImageBuild with the build id at once and do not wait", NULL, NULL },
	{ "backend", 0, CLI_STR, &o.backend, "BACKEND",
	  "cloudbuild (the default) or docker (docker buildx build --push here)",
	  "cloudbuild|docker", NULL },
	{ "config-out", 0, CLI_STR, &o.config_out, "FILE",
	  "also write the equivalent cloudbuild.yaml to FILE", NULL, "file" },
	{ "access-token-file", 0, CLI_STR, &o.access_token_file, "FILE",
	  "a file holding a Google access token", NULL, "file" },
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

static const struct cli_opt status_opts[] = {
	{ "follow", 'f', CLI_BOOL, &status_follow, NULL,
	  "stream the log and wait for the build to end", NULL, NULL },
	{ "project", 0, CLI_STR, &o.project, "PROJECT", "the build's project", NULL, NULL },
	{ "region", 0, CLI_STR, &o.region, "REGION", "the build's region (default global)",
	  NULL, NULL },
	{ "access-token-file", 0, CLI_STR, &o.access_token_file, "FILE",
	  "a file holding a Google access token", NULL, "file" },
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

/* KEY=VALUE with KEY matching first/rest; the message names the flag. */
static bool key_value_ok(const char *kv, const char *first, const char *rest)
{
	const char *eq = strchr(kv, '=');

	if (!eq || eq == kv || !strchr(first, kv[0]))
		return false;
	for (const char *p = kv + 1; p < eq; p++)
		if (!strchr(rest, *p))
			return false;
	return true;
}

#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define DIGIT "0123456789"

/* The flag checks that need no file and no network; exit code or 0. */
static int check_flags(struct cli_ctx *ctx, bool dry_run, bool docker)
{
	const char *cloud_only = o.machine_type ? "--machine-type" :
				 o.disk_size != -1 ? "--disk-size" :
				 o.substitutions.n ? "--substitution" :
				 o.async ? "--async" : o.timeout_ms ? "--timeout" :
				 o.region ? "--region" : o.config_out ? "--config-out" : NULL;

	if (!strcmp(ctx->g.dry_run, "server"))
		return cli_usage_error(ctx, "--dry-run=server is not supported: Cloud Build "
				       "has no server-side dry run; use --dry-run");
	if (!o.image)
		return cli_usage_error(ctx, "--image is required");
	if (docker && cloud_only)
		return cli_usage_error(ctx, "%s needs --backend cloudbuild", cloud_only);
	if (dry_run && o.async)
		return cli_usage_error(ctx, "--async cannot be used with --dry-run");
	if (dry_run && ctx->g.output && !strcmp(ctx->g.output, "name"))
		return cli_usage_error(ctx, "--dry-run prints a Build request: use -o yaml or -o json");
	if (o.timeout_ms && (o.timeout_ms < 1000 || o.timeout_ms > WLB_MAX_TIMEOUT_S * 1000LL))
		return cli_usage_error(ctx, "--timeout must be between 1s and 24h");
	if (o.disk_size != -1 && o.disk_size <= 0)
		return cli_usage_error(ctx, "--disk-size must be a positive number of GB");
	for (int i = 0; i < o.substitutions.n; i++)
		if (!key_value_ok(o.substitutions.items[i], "_", "_" UPPER DIGIT))
			return cli_usage_error(ctx, "invalid --substitution '%s': it must be "
					       "_KEY=VALUE, KEY upper-case letters, digits and '_'",
					       o.substitutions.items[i]);
	for (int i = 0; i < o.build_args.n; i++)
		if (!key_value_ok(o.build_args.items[i], "_" UPPER LOWER,
				  "_" UPPER LOWER DIGIT))
			return cli_usage_error(ctx, "invalid --build-arg '%s': it must be KEY=VALUE",
					       o.build_args.items[i]);
	return 0;
}

/* --region, else CLOUDSDK_BUILDS_REGION, else global; trimmed, checked. */
static int build_location(struct cli_ctx *ctx, struct buf *out)
{
	const char *env = getenv("CLOUDSDK_BUILDS_REGION");

	wlb_trim(o.region ? o.region : env, out);
	if (!out->len)
		buf_adds(out, "global");
	if (strspn(out->data, LOWER DIGIT "-") != out->len)
		return cli_usage_error(ctx, "invalid region '%s'", out->data);
	return 0;
}

/* Reads the objects on stdin (a pipe or a file), to pass them through. */
static int read_stdin(cJSON **docs)
{
	struct stream_in *in = NULL;
	struct buf err = BUF_INIT;
	cJSON *doc;
	int r, rc = -1;

	*docs = cJSON_CreateArray();
	if (!*docs)
		die("out of memory");
	if (stream_in_open(NULL, &in, &err) < 0)
		goto out;
	while ((r = stream_in_next(in, &doc, &err)) > 0)
		cJSON_AddItemToArray(*docs, doc);
	rc = r < 0 ? -1 : 0;
out:
	if (rc < 0)
		error("%s", err.data);
	stream_in_close(in);
	buf_release(&err);
	return rc;
}

static int write_config(const struct wlb_build *bd)
{
	struct buf text = BUF_INIT, err = BUF_INIT;
	FILE *f = NULL;
	int rc = -1;

	if (wlb_cloudbuild_yaml(bd, &text, &err) < 0) {
		error("cannot write '%s': %s", o.config_out, err.data);
		goto out;
	}
	if (!(f = fopen(o.config_out, "w")) || fwrite(text.data, 1, text.len, f) != text.len) {
		error("cannot write '%s': %s", o.config_out, strerror(errno));
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		error("cannot write '%s': %s", o.config_out, strerror(errno));
		goto out;
	}
	f = NULL;
	rc = 0;
out:
	if (f)
		fclose(f);
	buf_release(&err);
	buf_release(&text);
	return rc;
}

/* Opens the output and writes the pass-through objects first. */
static struct stream_out *open_output(struct cli_ctx *ctx, const cJSON *docs)
{
	int fmt = stream_format_parse(ctx->g.output);
	struct stream_out *out = stream_out_open(stdout, fmt < 0 ? STREAM_YAML : fmt);
	const cJSON *d;

	cJSON_ArrayForEach(d, docs)
		stream_out_write(out, d, NULL);
	return out;
}

static int cmd_build(struct cli_ctx *ctx)
{
	bool dry_run = strcmp(ctx->g.dry_run, "none") != 0;
	bool docker = o.backend && !strcmp(o.backend, "docker");
	struct gcp_options gopt = { .access_token_file = o.access_token_file,
				    .project = o.project };
	struct buf err = BUF_INIT, image = BUF_INIT, project = BUF_INIT, loc = BUF_INIT;
	struct wlb_context c;
	struct gcp *g = NULL;
	struct stream_out *out = NULL;
	cJSON *docs = NULL;
	bool has_tag, ctx_open = false;
	int rc;

	if ((rc = check_flags(ctx, dry_run, docker)))
		return rc;
	if (!docker && (rc = build_location(ctx, &loc)))
		goto out;
	rc = EXIT_USAGE;
	if (!(g = gcp_new(&gopt, &err))) {
		rc = cli_usage_error(ctx, "%s", err.data);
		goto out;
	}
	wlb_trim(gcp_config(g)->project, &project);
	if (!docker && wlb_check_project(project.len ? project.data : NULL, &err) < 0) {
		rc = cli_usage_error(ctx, "%s", err.data);
		goto out;
	}
	if (wlb_image_name(o.image, project.len ? project.data : NULL, o.registry, &image,
			   &has_tag, &err) < 0) {
		rc = cli_usage_error(ctx, "%s", err.data);
		goto out;
	}
	if (wlb_context_open(&c, ctx->argc ? ctx->argv[0] : ".", o.dockerfile, &err) < 0) {
		rc = cli_usage_error(ctx, "%s", err.data);
		goto out;
	}
	ctx_open = true;
	rc = 1;
	if (read_stdin(&docs) < 0)
		goto out;
	if (!has_tag) {
		if (wlb_context_hash(&c, &err) < 0) {
			error("%s", err.data);
			goto out;
		}
		buf_addch(&image, ':');
		wlb_default_tag(c.newest_mtime, c.st.sha256, &image);
	}
	if (!o.timeout_ms)
		o.timeout_ms = WLB_DEFAULT_TIMEOUT_S * 1000LL;
	if (o.config_out) {
		struct wlb_build bd = { .o = &o, .ctx = &c, .project = project.data,
					.location = loc.data, .image = image.data };

		if (write_config(&bd) < 0)
			goto out;
	}
	if (wlb_interrupt_install(&err) < 0) {
		error("%s", err.data);
		goto out;
	}
	out = open_output(ctx, docs);
	if (docker)
		rc = wlb_docker_run(&o, &c, image.data, project.len ? project.data : NULL,
				    dry_run, out);
	else
		rc = wlb_cloudbuild_run(g, &o, &c, project.data, loc.data, image.data,
					dry_run, out);
out:
	if (out && stream_out_close(out) < 0 && !rc) {
		error("cannot write the output: %s", strerror(errno));
		rc = 1;
	}
	if (ctx_open)
		wlb_context_release(&c);
	cJSON_Delete(docs);
	gcp_free(g);
	buf_release(&loc);
	buf_release(&project);
	buf_release(&image);
	buf_release(&err);
	return rc;
}

static int cmd_status(struct cli_ctx *ctx)
{
	struct gcp_options gopt = { .access_token_file = o.access_token_file,
				    .project = o.project };
	struct buf err = BUF_INIT, project = BUF_INIT, loc = BUF_INIT;
	struct stream_out *out = NULL;
	struct gcp *g = NULL;
	cJSON *docs = NULL;
	int rc;

	if ((rc = build_location(ctx, &loc)))
		goto out;
	if (!(g = gcp_new(&gopt, &err))) {
		rc = cli_usage_error(ctx, "%s", err.data);
		goto out;
	}
	wlb_trim(gcp_config(g)->project, &project);
	if (wlb_check_project(project.len ? project.data : NULL, &err) < 0) {
		rc = cli_usage_error(ctx, "%s", err.data);
		goto out;
	}
	rc = 1;
	if (read_stdin(&docs) < 0 || wlb_interrupt_install(&err) < 0)
		goto out;
	out = open_output(ctx, docs);
	rc = wlb_status_run(g, project.data, ctx->argv[0], loc.data, status_follow, out);
out:
	if (out && stream_out_close(out) < 0 && !rc) {
		error("cannot write the output: %s", strerror(errno));
		rc = 1;
	}
	cJSON_Delete(docs);
	gcp_free(g);
	buf_release(&loc);
	buf_release(&project);
	buf_release(&err);
	return rc;
}

static const struct cli_cmd cmds[] = {
	{ "build", cmd_build, "Build an image from a directory (the default)",
	  "[DIR] --image NAME[:TAG] [--dockerfile PATH] [--project P] [--region R] "
	  "[--registry R] [--machine-type T] [--timeout D] [--disk-size GB] "
	  "[--substitution _K=V]... [--build-arg K=V]... [--async] "
	  "[--backend cloudbuild|docker] [--dry-run] [--config-out FILE] [-o yaml|json|name]",
	  "Packs DIR (default .) with gcloud's ignore rules (.gcloudignore, else\n"
	  "gcloud's default when .git or .gitignore exist, else .dockerignore),\n"
	  "uploads it to gs://PROJECT_cloudbuild/source/, builds it on Cloud Build\n"
	  "with docker, streams the build log to stderr and prints an ImageBuild\n"
	  "whose status.image is the pushed image pinned by digest. A failed build\n"
	  "exits 1 with the end of its log; Ctrl-C cancels the build (exit 130).\n"
	  "--dry-run prints the Build request and sends nothing. With --backend\n"
	  "docker the image is built and pushed by docker buildx here.\n"
	  "Objects on stdin pass through to stdout ahead of the ImageBuild.",
	  "  # build ./trainer as gcr.io/PROJECT/trainer:<mtime>-<hash>\n"
	  "  kubectl wlbuild ./trainer --image trainer\n"
	  "  # into Artifact Registry, then run it\n"
	  "  kubectl wlbuild . --image us-docker.pkg.dev/p/repo/app:v1 | kubectl wlrun train --accelerator l4-1\n"
	  "  # what would be sent, and the equivalent cloudbuild.yaml\n"
	  "  kubectl wlbuild ./ctx --image app --dry-run --config-out cloudbuild.yaml",
	  build_opts, CLI_G_OUTPUT | CLI_G_DRYRUN, 0, 1, NULL, "dir" },
	{ "status", cmd_status, "Show or follow a build",
	  "ID [--follow] [--project P] [--region R] [-o yaml|json|name]",
	  "Prints the build's ImageBuild (status.state, and status.image once it\n"
	  "succeeded). With --follow the log is streamed to stderr until the build\n"
	  "ends, as kubectl wlbuild does without --async; interrupting stops the\n"
	  "following, not the build. A failed build exits 1.",
	  "  # follow a build started with --async\n"
	  "  kubectl wlbuild status 6b4b2cf1-6e0e-4b7b-a8a3-0f6c4bd7e1f2 --follow",
	  status_opts, CLI_G_OUTPUT, 1, 1, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NULL }
};

static const struct cli_prog prog = {
	.name = "wlbuild",
	.host = "kubectl",
	.summary = "Build a container image from a directory on Google Cloud Build",
	.description =
		"Packs a directory (honouring .gcloudignore), builds it on Google Cloud\n"
		"Build (or a local docker) and prints an ImageBuild object with the\n"
		"digest-pinned image, ready to pipe into kubectl wlrun.",
	.cmds = cmds,
	.default_cmd = "build",
};

int main(int argc, char **argv)
{
	cli_set_value_completer(wlb_complete_values);
	return cli_main(&prog, argc, argv);
}
