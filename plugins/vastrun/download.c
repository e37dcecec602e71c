/* download.c - `kubectl vastrun download [--run-id ID] [--output DIR]
 * [--keep]`: every finished run's objects to DIR/<run-id>/<key>, then the
 * bucket removed.
 *
 * Runs: --run-id, else every bucket of the store named run-*. A run with
 * jobs still running, pending or queued is skipped with a line that says
 * so. A finished run's objects are listed once, then fetched DL_WORKERS at
 * a time over the one shared S3 connection pool (s3_get_file streams each
 * to KEY.part, resumes a .part left by an interrupted download with Range,
 * checks size and ETag/MD5, renames). A file already there with the
 * object's size was verified when it was renamed into place (only a
 * verified download is), so it is not fetched again: re-running an
 * interrupted download completes it without fetching or duplicating
 * anything twice. Only when every object of the run is in place are the
 * objects and the bucket deleted (not with --keep).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "obj.h"
#include "s3.h"
#include "setup.h"
#include "vastrun.h"

#define DL_WORKERS 4

static const char *opt_run_id;
static const char *opt_output = "results";
static bool opt_keep;
static const char *opt_endpoint;

const struct cli_opt download_opts[] = {
	{ "run-id", 0, CLI_STR, &opt_run_id, "ID", "Only this run (default: every finished run)",
	  NULL, NULL },
	{ "output", 'O', CLI_STR, &opt_output, "DIR", "Where the runs go (default ./results)",
	  NULL, "dir" },
	{ "keep", 0, CLI_BOOL, &opt_keep, NULL, "Keep the bucket after the download", NULL, NULL },
	{ "s3-endpoint", 0, CLI_STR, &opt_endpoint, "URL",
	  "Reach the store here instead of through a kubectl port-forward", NULL, NULL },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

struct object {
	char *key, *etag;
	int64_t size;
};

struct dl {
	struct s3 *s3;
	const char *bucket;
	const char *dir;	/* DIR/<run-id> */
	struct object *objs;
	size_t n, cap;
	pthread_mutex_t lock;
	size_t next;		/* the next object to fetch */
	int64_t total, done;	/* bytes */
	int64_t *part;		/* per worker: bytes of its current object */
	size_t fetched, skipped;
	int failed;
	struct buf err;		/* the first failure */
};

static int collect(void *vctx, const struct s3_object *o)
{
	struct dl *d = vctx;

	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 256;
		if (!(d->objs = realloc(d->objs, d->cap * sizeof(*d->objs))))
			die("out of memory");
	}
	d->objs[d->n].key = strdup(o->key);
	d->objs[d->n].etag = o->etag ? strdup(o->etag) : NULL;
	if (!d->objs[d->n].key || (o->etag && !d->objs[d->n].etag))
		die("out of memory");
	d->objs[d->n].size = o->size;
	d->total += o->size > 0 ? o->size : 0;
	d->n++;
	return 0;
}

/* A key that would leave DIR (absolute, "..", empty segments) is refused. */
static bool key_safe(const char *key)
{
	const char *p = key;

	if (!*key || *key == '/')
		return false;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (!n || (n == 2 && !strncmp(p, "..", 2)) || (n == 1 && *p == '.'))
			return false;
		p += n + (e ? 1 : 0);
		if (e && !*p)
			return false;
	}
	return true;
}

/* mkdir -p of path's parent directories. */
static int make_parents(const char *path, struct buf *err)
{
	struct buf p = BUF_INIT;
	int rc = 0;

	buf_adds(&p, path);
	for (size_t i = 1; i < p.len; i++) {
		if (p.data[i] != '/')
			continue;
		p.data[i] = 0;
		if (mkdir(p.data, 0777) < 0 && errno != EEXIST) {
			buf_set(err, "cannot create directory '%s': %s", p.data, strerror(errno));
			rc = -1;
			break;
		}
		p.data[i] = '/';
	}
	buf_release(&p);
	return rc;
}

struct worker {
	struct dl *d;
	int id;
};

static void draw(struct dl *d)
{
	int64_t now = d->done;

	for (int i = 0; i < DL_WORKERS; i++)
		now += d->part[i];
	progress("%s  %zu/%zu files  %.1f/%.1f MiB", d->bucket, d->fetched + d->skipped, d->n,
		 (double)now / 1048576.0, (double)d->total / 1048576.0);
}

static void on_progress(void *vctx, int64_t done, int64_t total)
{
	struct worker *w = vctx;

	(void)total;
	pthread_mutex_lock(&w->d->lock);
	w->d->part[w->id] = done;
	draw(w->d);
	pthread_mutex_unlock(&w->d->lock);
}

static void *work(void *vctx)
{
	struct worker *w = vctx;
	struct dl *d = w->d;
	struct buf path = BUF_INIT, err = BUF_INIT;

	for (;;) {
		struct object *o;
		struct s3_object expect;
		struct stat st;
		bool skip;
		int r;

		pthread_mutex_lock(&d->lock);
		if (d->failed || d->next >= d->n) {
			pthread_mutex_unlock(&d->lock);
			break;
		}
		o = &d->objs[d->next++];
		pthread_mutex_unlock(&d->lock);

		buf_reset(&path);
		buf_reset(&err);
		buf_printf(&path, "%s/%s", d->dir, o->key);
		skip = stat(buf_str(&path), &st) == 0 && S_ISREG(st.st_mode) && o->size >= 0 &&
		       st.st_size == o->size;
		r = 0;
		if (!skip) {
			expect = (struct s3_object){ o->key, o->size, o->etag, NULL };
			r = make_parents(buf_str(&path), &err);
			if (r == 0)
				r = s3_get_file(d->s3, d->bucket, o->key, buf_str(&path), &expect,
						on_progress, w, &err);
		}
		pthread_mutex_lock(&d->lock);
		d->part[w->id] = 0;
		if (r < 0) {
			if (!d->failed)
				buf_set(&d->err, "%s", buf_str(&err));
			d->failed = 1;
		} else {
			d->done += o->size > 0 ? o->size : 0;
			if (skip)
				d->skipped++;
			else
				d->fetched++;
			draw(d);
		}
		pthread_mutex_unlock(&d->lock);
	}
	buf_release(&path);
	buf_release(&err);
	return NULL;
}

/* Downloads one finished run; removes its bucket unless keep. */
static int download_one(struct s3 *s3, const char *run_id, const char *outdir, bool keep,
			struct buf *err)
{
	struct dl d = { 0 };
	struct buf dir = BUF_INIT;
	pthread_t th[DL_WORKERS];
	struct worker w[DL_WORKERS];
	int64_t part[DL_WORKERS] = { 0 };
	const char **keys = NULL;
	int nth = 0, rc = -1;

	d.s3 = s3;
	d.bucket = run_id;
	d.part = part;
	pthread_mutex_init(&d.lock, NULL);
	buf_printf(&dir, "%s/%s", outdir, run_id);
	d.dir = buf_str(&dir);
	if (s3_list(s3, run_id, NULL, collect, &d, err) < 0)
		goto out;
	for (size_t i = 0; i < d.n; i++)
		if (!key_safe(d.objs[i].key)) {
			buf_set(err, "run '%s': object key '%s' would be written outside '%s'",
				run_id, d.objs[i].key, d.dir);
			goto out;
		}
	if (mkdir(outdir, 0777) < 0 && errno != EEXIST) {
		buf_set(err, "cannot create directory '%s': %s", outdir, strerror(errno));
		goto out;
	}
	if (mkdir(d.dir, 0777) < 0 && errno != EEXIST) {
		buf_set(err, "cannot create directory '%s': %s", d.dir, strerror(errno));
		goto out;
	}
	for (int i = 0; i < DL_WORKERS && (size_t)i < d.n; i++) {
		w[i] = (struct worker){ &d, i };
		if (pthread_create(&th[i], NULL, work, &w[i]))
			break;
		nth++;
	}
	if (d.n && !nth) {
		buf_set(err, "cannot start a download thread");
		goto out;
	}
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	progress_done();
	if (d.failed) {
		buf_set(err, "run '%s': %s; the bucket is kept: run download again to finish",
			run_id, buf_str(&d.err));
		goto out;
	}
	info("%s: %zu files (%.1f MiB) in '%s'%s", run_id, d.n, (double)d.total / 1048576.0,
	     d.dir, d.skipped ? " (some were already there)" : "");
	if (!keep) {
		if (d.n) {
			if (!(keys = calloc(d.n, sizeof(*keys))))
				die("out of memory");
			for (size_t i = 0; i < d.n; i++)
				keys[i] = d.objs[i].key;
			if (s3_delete_objects(s3, run_id, keys, d.n, err) < 0)
				goto out;
		}
		if (s3_bucket_delete(s3, run_id, err) < 0)
			goto out;
		info("%s: bucket removed", run_id);
	}
	rc = 0;
out:
	for (size_t i = 0; i < d.n; i++) {
		free(d.objs[i].key);
		free(d.objs[i].etag);
	}
	free(d.objs);
	free(keys);
	buf_release(&d.err);
	buf_release(&dir);
	pthread_mutex_destroy(&d.lock);
	return rc;
}

/* The runs to consider: --run-id, else the store's run-* buckets. */
int store_runs(struct s3 *s3, const char *only, cJSON **ids, struct buf *err)
{
	cJSON *names = NULL;
	const cJSON *n;

	*ids = cJSON_CreateArray();
	if (!*ids)
		die("out of memory");
	if (only) {
		cJSON_AddItemToArray(*ids, cJSON_CreateString(only));
		return 0;
	}
	if (s3_bucket_list(s3, &names, err) < 0) {
		cJSON_Delete(*ids);
		*ids = NULL;
		return -1;
	}
	cJSON_ArrayForEach(n, names)
		if (cJSON_IsString(n) && !strncmp(n->valuestring, "run-", 4))
			cJSON_AddItemToArray(*ids, cJSON_CreateString(n->valuestring));
	cJSON_Delete(names);
	return 0;
}

/* 1 when the run has no job still to finish; 0 (and a line saying why)
 * when it does; -1 on error. */
int run_finished(struct kube *k, const char *ns, const char *run_id, const char *doing,
		 struct buf *err)
{
	struct run_counts c;

	if (run_count(k, ns, run_id, &c, err) < 0)
		return -1;
	if (c.running || c.pending || c.queued) {
		info("%s: skipped, %s later: %ld running, %ld pending, %ld queued", run_id, doing,
		     c.running, c.pending, c.queued);
		return 0;
	}
	return 1;
}

int download_run(struct cli_ctx *ctx)
{
	struct kube_err ke = KUBE_ERR_INIT;
	struct vast_store st = { 0 };
	struct buf err = BUF_INIT;
	struct kube *k = NULL;
	struct s3 *s3 = NULL;
	cJSON *ids = NULL;
	const cJSON *id;
	bool opened = false;
	int rc = 1, failed = 0;

	if (kube_open(&ctx->g.kube, "kubectl-vastrun", &k, &ke) < 0) {
		kube_err_print(&ke);
		goto out;
	}
	if (store_open(k, &ctx->g.kube, NULL, opt_endpoint, &st, &err) < 0)
		goto fail;
	opened = true;
	if (s3_open(&(struct s3_config){ st.endpoint, st.region, st.access_key, st.secret_key },
		    &s3, &err) < 0)
		goto fail;
	if (store_runs(s3, opt_run_id, &ids, &err) < 0)
		goto fail;
	if (opt_run_id) {
		int e = s3_bucket_exists(s3, opt_run_id, &err);
		if (e < 0)
			goto fail;
		if (!e) {
			error("run '%s' has no bucket in the results store (downloaded already?)",
			      opt_run_id);
			goto out;
		}
	}
	cJSON_ArrayForEach(id, ids) {
		int f = run_finished(k, kube_namespace(k), id->valuestring, "download it", &err);

		if (f < 0)
			goto fail;
		if (!f)
			continue;
		if (download_one(s3, id->valuestring, opt_output, opt_keep, &err) < 0) {
			vast_report(&err);
			failed++;
		}
	}
	if (!cJSON_GetArraySize(ids))
		info("no runs in the results store");
	rc = failed ? 1 : 0;
	goto out;
fail:
	vast_report(&err);
out:
	cJSON_Delete(ids);
	s3_close(s3);
	if (opened)
		store_free(&st);
	buf_release(&err);
	kube_err_release(&ke);
	kube_close(k);
	return rc;
}
