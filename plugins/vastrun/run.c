/* run.c - `kubectl vastrun run`: a campaign of configs x runs.
 *
 * Everything is checked before anything is made: the project file (with
 * per-context values resolved for the active context), --config, --runs,
 * and every Job built. Then: the bucket <run-id>, the uploads (run_uploads,
 * by UPLOAD_THREADS threads over the one struct s3), the run's record in
 * the ConfigMap VAST_RUNS_CONFIGMAP (vastrun.h), and the Jobs, created by
 * up to CREATE_THREADS threads, each with its own connection (kube is not
 * shared between threads; http.c pools the connections). On the first
 * failure no further Job is started. --dry-run=client prints the Jobs and
 * makes nothing; --dry-run=server sends the Jobs with dryRun and makes
 * nothing else. Prints the Campaign object.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "obj.h"
#include "s3.h"
#include "stream.h"
#include "vastrun.h"

#define UPLOAD_THREADS 8
#define CREATE_THREADS 16

static const char *opt_project, *opt_config, *opt_tools_image, *opt_endpoint;
static long opt_runs = LONG_MIN;	/* LONG_MIN: not given */

const struct cli_opt run_opts[] = {
	{ "project-file", 0, CLI_STR, &opt_project, "FILE",
	  "the project file (default: the *.vast of this directory or a parent)", NULL, "file" },
	{ "runs", 0, CLI_INT, &opt_runs, "N", "runs per config (default: execution.runs)",
	  NULL, NULL },
	{ "config", 0, CLI_STR, &opt_config, "NAME",
	  "run only this config (a config with variations: all of them)", NULL, NULL },
	{ "tools-image", 0, CLI_STR, &opt_tools_image, "IMAGE",
	  "the image of the init container that fetches the config (default "
	  VAST_DEFAULT_TOOLS_IMAGE ")", NULL, NULL },
	{ "s3-endpoint", 0, CLI_STR, &opt_endpoint, "URL",
	  "how this machine reaches the results store (default: the recorded one, or a "
	  "port-forward)", NULL, NULL },
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

/* A unit of work for the threads: upload i, or create Job i. */
struct pool {
	pthread_mutex_t mu;
	size_t next, n;
	bool stop;
	struct buf err;		/* the first failure */
	/* uploads */
	struct s3 *s3;
	const char *bucket;
	const cJSON *uploads;
	/* jobs */
	const struct kube_flags *flags;
	cJSON **jobs;
	bool dry_server;
	size_t created;
};

static bool pool_take(struct pool *p, size_t *i)
{
	bool ok;

	pthread_mutex_lock(&p->mu);
	ok = !p->stop && p->next < p->n;
	if (ok)
		*i = p->next++;
	pthread_mutex_unlock(&p->mu);
	return ok;
}

static void pool_fail(struct pool *p, const struct buf *why)
{
	pthread_mutex_lock(&p->mu);
	if (!p->stop)
		buf_set(&p->err, "%s", buf_str(why));
	p->stop = true;
	pthread_mutex_unlock(&p->mu);
}

static void *upload_main(void *arg)
{
	struct pool *p = arg;
	struct buf why = BUF_INIT;
	size_t i;

	while (pool_take(p, &i)) {
		const cJSON *u = cJSON_GetArrayItem(p->uploads, (int)i);
		const char *key = obj_str(u, "key"), *path = obj_str(u, "path");
		const char *data = obj_str(u, "data");
		int r;

		buf_reset(&why);
		if (path)
			r = s3_put_file(p->s3, p->bucket, key, path, &why);
		else
			r = s3_put_data(p->s3, p->bucket, key, data, strlen(data),
					"application/yaml", &why);
		if (r < 0)
			pool_fail(p, &why);
		else
			logv(2, "uploaded '%s/%s'", p->bucket, key);
	}
	buf_release(&why);
	return NULL;
}

static void *create_main(void *arg)
{
	struct pool *p = arg;
	struct kube *k = NULL;
	struct kube_err ke = KUBE_ERR_INIT;
	struct buf why = BUF_INIT;
	size_t i;

	if (kube_open(p->flags, "kubectl-vastrun", &k, &ke) < 0) {
		kube_err_format(&ke, &why);
		pool_fail(p, &why);
		goto out;
	}
	while (pool_take(p, &i)) {
		if (kube_create(k, p->jobs[i], NULL, p->dry_server, NULL, &ke) < 0) {
			buf_reset(&why);
			kube_err_format(&ke, &why);
			kube_err_release(&ke);
			pool_fail(p, &why);
			break;
		}
		pthread_mutex_lock(&p->mu);
		p->created++;
		if (!log_quiet())
			progress("creating jobs: %zu/%zu", p->created, p->n);
		pthread_mutex_unlock(&p->mu);
	}
out:
	kube_close(k);
	kube_err_release(&ke);
	buf_release(&why);
	return NULL;
}

/* Runs fn on up to nt threads over p->n items. 0, or -1 with p->err. */
static int pool_run(struct pool *p, void *(*fn)(void *), int nt)
{
	pthread_t t[CREATE_THREADS];
	int started = 0;

	if ((size_t)nt > p->n)
		nt = (int)p->n;
	for (; started < nt; started++)
		if (pthread_create(&t[started], NULL, fn, p))
			die("cannot start a thread");
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	return p->stop ? -1 : 0;
}

/* Does config name belong to the --config selection? The name itself, or
 * NAME-<digits> (the variations of base config NAME). */
static bool selected(const char *name, const char *want)
{
	size_t n = strlen(want);
	const char *s;

	if (!strcmp(name, want))
		return true;
	if (strncmp(name, want, n) || name[n] != '-' || !name[n + 1])
		return false;
	for (s = name + n + 1; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Adds the run to the ConfigMap VAST_RUNS_CONFIGMAP (vastrun.h). */
static int record_run(struct kube *k, const char *ns, const struct vast_run *r,
		      const cJSON *jobs, struct buf *err)
{
	struct kube_err ke = KUBE_ERR_INIT;
	cJSON *rec = cJSON_CreateObject(), *names, *patch = NULL, *cm = NULL;
	struct buf created = BUF_INIT;
	char *text = NULL;
	int rc = -1;

	cJSON_AddNumberToObject(rec, "total", (double)cJSON_GetArraySize(jobs));
	cJSON_AddItemToObject(rec, "jobs", cJSON_Duplicate(jobs, 1));
	names = cJSON_AddArrayToObject(rec, "configs");
	for (size_t i = 0; i < r->nconfigs; i++)
		cJSON_AddItemToArray(names, cJSON_CreateString(r->configs[i]->name));
	cJSON_AddStringToObject(rec, "bucket", r->run_id);
	rfc3339((int64_t)time(NULL), &created);
	cJSON_AddStringToObject(rec, "created", buf_str(&created));
	if (!(text = cJSON_PrintUnformatted(rec)))
		die("out of memory");
	patch = cJSON_CreateObject();
	cJSON_AddStringToObject(obj_ensure(patch, "data"), r->run_id, text);
	if (kube_merge_patch(k, "v1", "ConfigMap", ns, VAST_RUNS_CONFIGMAP, NULL, patch, NULL,
			     &ke) == 0) {
		rc = 0;
		goto out;
	}
	if (ke.code != 404)
		goto fail;
	kube_err_release(&ke);
	cm = obj_new("v1", "ConfigMap", ns, VAST_RUNS_CONFIGMAP);
	obj_set_label(cm, VAST_LABEL_APP, "kubectl-vastrun");
	cJSON_AddStringToObject(obj_ensure(cm, "data"), r->run_id, text);
	if (kube_create(k, cm, ns, false, NULL, &ke) == 0) {
		rc = 0;
		goto out;
	}
	if (ke.code == 409) {	/* made meanwhile by another run */
		kube_err_release(&ke);
		if (kube_merge_patch(k, "v1", "ConfigMap", ns, VAST_RUNS_CONFIGMAP, NULL, patch,
				     NULL, &ke) == 0) {
			rc = 0;
			goto out;
		}
	}
fail:
	buf_reset(err);
	kube_err_format(&ke, err);
out:
	kube_err_release(&ke);
	cJSON_Delete(rec);
	cJSON_Delete(patch);
	cJSON_Delete(cm);
	buf_release(&created);
	free(text);
	return rc;
}

/* A run id that no recorded run has: now, or the next free second. */
static int pick_run_id(struct kube *k, const char *ns, struct buf *id, struct buf *err)
{
	struct kube_err ke = KUBE_ERR_INIT;
	cJSON *cm = NULL;
	int64_t t = (int64_t)time(NULL);
	int rc = -1;

	if (kube_get(k, "v1", "ConfigMap", ns, VAST_RUNS_CONFIGMAP, &cm, &ke) < 0 &&
	    ke.code != 404) {
		kube_err_format(&ke, err);
		goto out;
	}
	for (;; t++) {
		buf_reset(id);
		run_id_make(t, id);
		if (!cJSON_GetObjectItemCaseSensitive(obj_get(cm, "data"), buf_str(id)))
			break;
	}
	rc = 0;
out:
	kube_err_release(&ke);
	cJSON_Delete(cm);
	return rc;
}

/* Writes the objects to stdout; 0 or 1. */
static int print_all(struct cli_ctx *ctx, cJSON **objs, size_t n)
{
	struct stream_out *out = stream_out_open(stdout,
		(enum stream_format)stream_format_parse(ctx->g.output));

	for (size_t i = 0; i < n; i++) {
		if (stream_out_write(out, objs[i], NULL) < 0) {
			stream_out_close(out);
			return 1;
		}
	}
	return stream_out_close(out) < 0 ? 1 : 0;
}

int run_run(struct cli_ctx *ctx)
{
	struct vast_project p;
	struct vast_run r;
	struct vast_store st;
	struct kube *k = NULL;
	struct kube_err ke = KUBE_ERR_INIT;
	struct buf err = BUF_INIT, id = BUF_INIT, name = BUF_INIT;
	struct pool pool;
	struct s3 *s3 = NULL;
	cJSON **jobs = NULL, *names = cJSON_CreateArray(), *uploads = NULL, *camp = NULL;
	const char *dry = ctx->g.dry_run, *ns;
	bool loaded = false, store = false;
	size_t nj = 0;
	int rc = 1;

	memset(&p, 0, sizeof(p));
	memset(&r, 0, sizeof(r));
	memset(&st, 0, sizeof(st));
	memset(&pool, 0, sizeof(pool));
	pthread_mutex_init(&pool.mu, NULL);
	if (ctx->g.output && stream_format_parse(ctx->g.output) < 0) {
		rc = cli_usage_error(ctx, "unknown output format '%s'", ctx->g.output);
		goto out;
	}
	if (opt_runs != LONG_MIN && opt_runs < 1) {
		rc = cli_usage_error(ctx, "--runs must be a positive integer");
		goto out;
	}
	if ((rc = project_open(ctx, opt_project, &k, &p)) != 0)
		goto out;
	rc = 1;
	loaded = true;
	ns = kube_namespace(k);
	r.p = &p;
	r.ns = ns;
	r.tools_image = opt_tools_image ? opt_tools_image : VAST_DEFAULT_TOOLS_IMAGE;
	r.runs = opt_runs > 0 ? opt_runs : p.runs;
	if (!(r.configs = calloc(p.nconfigs, sizeof(*r.configs))))
		die("out of memory");
	for (size_t i = 0; i < p.nconfigs; i++)
		if (!opt_config || selected(p.configs[i].name, opt_config))
			r.configs[r.nconfigs++] = &p.configs[i];
	if (!r.nconfigs) {
		for (size_t i = 0; i < p.nconfigs; i++)
			buf_printf(&name, "%s%s", i ? ", " : "", p.configs[i].name);
		error("no config '%s' in '%s' (configs: %s)", opt_config, p.path, buf_str(&name));
		rc = EXIT_USAGE;
		goto out;
	}
	if (!strcmp(dry, "none")) {
		if (pick_run_id(k, ns, &id, &err) < 0) {
			error("%s", buf_str(&err));
			goto out;
		}
	} else {
		run_id_make((int64_t)time(NULL), &id);
	}
	r.run_id = buf_str(&id);
	nj = r.nconfigs * (size_t)r.runs;
	if (!(jobs = calloc(nj, sizeof(*jobs))))
		die("out of memory");
	for (size_t i = 0, j = 0; i < r.nconfigs; i++) {
		for (long n = 1; n <= r.runs; n++, j++) {
			jobs[j] = run_job(&r, r.configs[i], n);
			cJSON_AddItemToArray(names, cJSON_CreateString(obj_name(jobs[j])));
		}
	}
	if (!strcmp(dry, "client")) {
		rc = print_all(ctx, jobs, nj);
		goto out;
	}
	if (!strcmp(dry, "none")) {
		if (store_open(k, &ctx->g.kube, ns, opt_endpoint, &st, &err) < 0) {
			error("%s", buf_str(&err));
			goto out;
		}
		store = true;
		{
			struct s3_config sc = { st.endpoint, st.region, st.access_key,
						st.secret_key };

			if (s3_open(&sc, &s3, &err) < 0) {
				error("%s", buf_str(&err));
				goto out;
			}
		}
		if (s3_bucket_create(s3, r.run_id, &err) < 0) {
			error("cannot create bucket '%s': %s", r.run_id, buf_str(&err));
			goto out;
		}
		uploads = run_uploads(&r);
		pool.s3 = s3;
		pool.bucket = r.run_id;
		pool.uploads = uploads;
		pool.n = (size_t)cJSON_GetArraySize(uploads);
		if (pool_run(&pool, upload_main, UPLOAD_THREADS) < 0) {
			error("cannot upload the configs: %s", buf_str(&pool.err));
			goto out;
		}
		info("run %s: uploaded %zu files to bucket '%s'", r.run_id, pool.n, r.run_id);
		if (record_run(k, ns, &r, names, &err) < 0) {
			error("cannot record run '%s': %s", r.run_id, buf_str(&err));
			goto out;
		}
	}
	pool.next = 0;
	pool.n = nj;
	pool.flags = &ctx->g.kube;
	pool.jobs = jobs;
	pool.dry_server = !strcmp(dry, "server");
	if (pool_run(&pool, create_main, CREATE_THREADS) < 0) {
		progress_done();
		fprintf(stderr, "%s\n", buf_str(&pool.err));
		error("run %s: %zu of %zu jobs created", r.run_id, pool.created, nj);
		goto out;
	}
	progress_done();
	info("run %s: %zu jobs created%s", r.run_id, nj,
	     pool.dry_server ? " (server dry run)" : "");
	camp = run_campaign(&r, names);
	rc = print_all(ctx, &camp, 1);
out:
	for (size_t i = 0; i < nj; i++)
		cJSON_Delete(jobs[i]);
	free(jobs);
	free(r.configs);
	cJSON_Delete(names);
	cJSON_Delete(uploads);
	cJSON_Delete(camp);
	s3_close(s3);
	if (store)
		store_free(&st);
	if (loaded)
		project_free(&p);
	kube_close(k);
	kube_err_release(&ke);
	buf_release(&err);
	buf_release(&id);
	buf_release(&name);
	buf_release(&pool.err);
	pthread_mutex_destroy(&pool.mu);
	return rc;
}
