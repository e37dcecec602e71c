/* pod.c - `kubectl-vastrun pod ...`: what a run's pods run (run_job.c).
 *
 *   pod fetch-config --bucket B --config C --to DIR [--install TOOLS]
 *       execution.yaml and its run-level files, then C/config.yaml and the
 *       config's files, from bucket B into DIR (keys relative to the
 *       config); with --install, copies this program to
 *       TOOLS/kubectl-vastrun so that any image with a shell can run
 *       upload-results after its scenario.
 *   pod upload-results --bucket B --prefix P --from DIR
 *       every regular file under DIR to B/P/<path> (UPLOAD_THREADS at
 *       once); symbolic links are skipped.
 *   pod share        share.c's pod_share.
 *
 * The store comes from the environment the Job sets: VASTRUN_S3_ENDPOINT,
 * VASTRUN_S3_REGION (default us-east-1), VASTRUN_S3_ACCESS_KEY,
 * VASTRUN_S3_SECRET_KEY. A failure is one line on stderr and exit 1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "log.h"
#include "obj.h"
#include "s3.h"
#include "vastrun.h"
#include "yaml.h"

#define UPLOAD_THREADS 8

static const char *opt_bucket, *opt_config, *opt_to, *opt_install, *opt_prefix, *opt_from;

const struct cli_opt pod_opts[] = {
	{ "bucket", 0, CLI_STR, &opt_bucket, "BUCKET", "the run's bucket", NULL, NULL },
	{ "config", 0, CLI_STR, &opt_config, "NAME", "fetch-config: the config", NULL, NULL },
	{ "to", 0, CLI_STR, &opt_to, "DIR", "fetch-config: where the files go", NULL, "dir" },
	{ "install", 0, CLI_STR, &opt_install, "DIR",
	  "fetch-config: copy this program into DIR", NULL, "dir" },
	{ "prefix", 0, CLI_STR, &opt_prefix, "PREFIX",
	  "upload-results: the key prefix (CONFIG/RUN)", NULL, NULL },
	{ "from", 0, CLI_STR, &opt_from, "DIR", "upload-results: the results", NULL, "dir" },
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

static int s3_from_env(struct s3 **s3, struct buf *err)
{
	struct s3_config c = { getenv("VASTRUN_S3_ENDPOINT"), getenv("VASTRUN_S3_REGION"),
			       getenv("VASTRUN_S3_ACCESS_KEY"), getenv("VASTRUN_S3_SECRET_KEY") };
	const char *missing = !c.endpoint || !*c.endpoint ? "VASTRUN_S3_ENDPOINT" :
			      !c.access_key ? "VASTRUN_S3_ACCESS_KEY" :
			      !c.secret_key ? "VASTRUN_S3_SECRET_KEY" : NULL;

	if (missing) {
		buf_set(err, "%s is not set: this command runs in a vastrun Job's pod", missing);
		return -1;
	}
	return s3_open(&c, s3, err);
}

/* A key relative to a directory: no absolute path, no "..". */
static bool rel_ok(const char *p)
{
	const char *s = p;

	if (!*p || *p == '/')
		return false;
	while (*s) {
		size_t n = strcspn(s, "/");

		if ((n == 2 && !strncmp(s, "..", 2)) || n == 0)
			return false;
		s += n;
		s += *s == '/';
	}
	return true;
}

/* mkdir -p of the directory part of path. */
static int make_parents(const char *path, struct buf *err)
{
	struct buf d = BUF_INIT;
	int rc = 0;

	buf_adds(&d, path);
	for (size_t i = 1; i < d.len; i++) {
		if (d.data[i] != '/')
			continue;
		d.data[i] = '\0';
		if (mkdir(d.data, 0755) < 0 && errno != EEXIST) {
			buf_set(err, "cannot make directory '%s': %s", d.data, strerror(errno));
			rc = -1;
			break;
		}
		d.data[i] = '/';
	}
	buf_release(&d);
	return rc;
}

/* Gets bucket/key into dir/rel. */
static int get_one(struct s3 *s3, const char *key, const char *dir, const char *rel,
		   struct buf *err)
{
	struct buf path = BUF_INIT, why = BUF_INIT;
	int rc = -1;

	if (!rel_ok(rel)) {
		buf_set(err, "refusing '%s': not a path inside '%s'", rel, dir);
		goto out;
	}
	buf_printf(&path, "%s/%s", dir, rel);
	if (make_parents(buf_str(&path), err) < 0)
		goto out;
	if (s3_get_file(s3, opt_bucket, key, buf_str(&path), NULL, NULL, NULL, &why) < 0) {
		buf_set(err, "cannot fetch '%s/%s': %s", opt_bucket, key, buf_str(&why));
		goto out;
	}
	rc = 0;
out:
	buf_release(&path);
	buf_release(&why);
	return rc;
}

/* Reads the YAML document at dir/rel. */
static cJSON *read_doc(const char *dir, const char *rel, struct buf *err)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	cJSON *doc = NULL;

	buf_printf(&path, "%s/%s", dir, rel);
	if (buf_read_file(&text, buf_str(&path)) < 0)
		buf_set(err, "cannot read '%s': %s", buf_str(&path), strerror(errno));
	else
		doc = yaml_parse_one(buf_str(&text), text.len, buf_str(&path), err);
	buf_release(&path);
	buf_release(&text);
	return doc;
}

/* Gets each file of doc's "files" from prefix (may be "") into dir. */
static int get_files(struct s3 *s3, const cJSON *doc, const char *prefix, const char *dir,
		     int *count, struct buf *err)
{
	struct buf key = BUF_INIT;
	const cJSON *f;
	int rc = -1;

	cJSON_ArrayForEach(f, obj_get(doc, "files")) {
		if (!cJSON_IsString(f)) {
			buf_set(err, "bad file list in bucket '%s'", opt_bucket);
			goto out;
		}
		buf_reset(&key);
		buf_printf(&key, "%s%s", prefix, f->valuestring);
		if (get_one(s3, buf_str(&key), dir, f->valuestring, err) < 0)
			goto out;
		(*count)++;
	}
	rc = 0;
out:
	buf_release(&key);
	return rc;
}

/* Copies this program to dir/kubectl-vastrun (mode 0755). */
static int install_self(const char *dir, struct buf *err)
{
	struct buf path = BUF_INIT, data = BUF_INIT;
	int rc = -1;

	buf_printf(&path, "%s/kubectl-vastrun", dir);
	if (make_parents(buf_str(&path), err) < 0)
		goto out;
	if (buf_read_file(&data, "/proc/self/exe") < 0) {
		buf_set(err, "cannot read '/proc/self/exe': %s", strerror(errno));
		goto out;
	}
	rc = file_write_atomic(buf_str(&path), data.data, data.len, 0755, 0, err);
out:
	buf_release(&path);
	buf_release(&data);
	return rc;
}

static int fetch_config(struct buf *err)
{
	struct s3 *s3 = NULL;
	struct buf key = BUF_INIT, prefix = BUF_INIT;
	cJSON *x = NULL, *c = NULL;
	int rc = -1, n = 0;

	if (!opt_bucket || !opt_config || !opt_to) {
		buf_set(err, "pod fetch-config needs --bucket, --config and --to");
		return EXIT_USAGE;
	}
	if (s3_from_env(&s3, err) < 0)
		goto out;
	if (mkdir(opt_to, 0755) < 0 && errno != EEXIST) {
		buf_set(err, "cannot make directory '%s': %s", opt_to, strerror(errno));
		goto out;
	}
	if (get_one(s3, "execution.yaml", opt_to, "execution.yaml", err) < 0 ||
	    !(x = read_doc(opt_to, "execution.yaml", err)) ||
	    get_files(s3, x, "", opt_to, &n, err) < 0)
		goto out;
	buf_printf(&key, "%s/config.yaml", opt_config);
	buf_printf(&prefix, "%s/", opt_config);
	if (get_one(s3, buf_str(&key), opt_to, "config.yaml", err) < 0 ||
	    !(c = read_doc(opt_to, "config.yaml", err)) ||
	    get_files(s3, c, buf_str(&prefix), opt_to, &n, err) < 0)
		goto out;
	if (opt_install && install_self(opt_install, err) < 0)
		goto out;
	info("fetched config '%s' of '%s': %d files into '%s'", opt_config, opt_bucket, n + 2,
	     opt_to);
	rc = 0;
out:
	cJSON_Delete(x);
	cJSON_Delete(c);
	s3_close(s3);
	buf_release(&key);
	buf_release(&prefix);
	return rc;
}

/* ---- upload-results ------------------------------------------------- */

struct up {
	pthread_mutex_t mu;
	struct s3 *s3;
	char **rel;
	size_t n, next, done;
	bool stop;
	struct buf err;
};

static void collect(const char *root, const char *rel, char ***v, size_t *n, size_t *cap)
{
	struct buf full = BUF_INIT, sub = BUF_INIT;
	DIR *d;
	struct dirent *de;
	struct stat st;

	buf_printf(&full, "%s%s%s", root, *rel ? "/" : "", rel);
	if (!(d = opendir(buf_str(&full)))) {
		warn("cannot read '%s': %s", buf_str(&full), strerror(errno));
		goto out;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		buf_reset(&sub);
		buf_printf(&sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		buf_reset(&full);
		buf_printf(&full, "%s/%s", root, buf_str(&sub));
		if (lstat(buf_str(&full), &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			collect(root, buf_str(&sub), v, n, cap);
		} else if (S_ISREG(st.st_mode)) {
			if (*n + 1 >= *cap) {
				*cap = *cap ? *cap * 2 : 64;
				if (!(*v = realloc(*v, *cap * sizeof(**v))))
					die("out of memory");
			}
			(*v)[(*n)++] = buf_detach(&sub, NULL);
		} else {
			warn("skipping '%s': not a regular file", buf_str(&full));
		}
	}
	closedir(d);
out:
	buf_release(&full);
	buf_release(&sub);
}

static void *up_main(void *arg)
{
	struct up *u = arg;
	struct buf key = BUF_INIT, path = BUF_INIT, why = BUF_INIT;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&u->mu);
		if (u->stop || u->next >= u->n) {
			pthread_mutex_unlock(&u->mu);
			break;
		}
		i = u->next++;
		pthread_mutex_unlock(&u->mu);
		buf_reset(&key);
		buf_reset(&path);
		buf_reset(&why);
		buf_printf(&key, "%s/%s", opt_prefix, u->rel[i]);
		buf_printf(&path, "%s/%s", opt_from, u->rel[i]);
		if (s3_put_file(u->s3, opt_bucket, buf_str(&key), buf_str(&path), &why) < 0) {
			pthread_mutex_lock(&u->mu);
			if (!u->stop)
				buf_set(&u->err, "cannot upload '%s' to '%s/%s': %s", buf_str(&path),
					opt_bucket, buf_str(&key), buf_str(&why));
			u->stop = true;
			pthread_mutex_unlock(&u->mu);
			break;
		}
		pthread_mutex_lock(&u->mu);
		u->done++;
		pthread_mutex_unlock(&u->mu);
	}
	buf_release(&key);
	buf_release(&path);
	buf_release(&why);
	return NULL;
}

static int upload_results(struct buf *err)
{
	struct up u;
	pthread_t t[UPLOAD_THREADS];
	size_t cap = 0;
	int nt, rc = -1;
	struct stat st;

	memset(&u, 0, sizeof(u));
	pthread_mutex_init(&u.mu, NULL);
	if (!opt_bucket || !opt_prefix || !opt_from) {
		buf_set(err, "pod upload-results needs --bucket, --prefix and --from");
		rc = EXIT_USAGE;
		goto out;
	}
	errno = 0;
	if (stat(opt_from, &st) < 0 || !S_ISDIR(st.st_mode)) {
		buf_set(err, "cannot read directory '%s': %s", opt_from,
			errno ? strerror(errno) : "not a directory");
		goto out;
	}
	if (s3_from_env(&u.s3, err) < 0)
		goto out;
	collect(opt_from, "", &u.rel, &u.n, &cap);
	nt = u.n < UPLOAD_THREADS ? (int)u.n : UPLOAD_THREADS;
	for (int i = 0; i < nt; i++)
		if (pthread_create(&t[i], NULL, up_main, &u))
			die("cannot start a thread");
	for (int i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	if (u.stop) {
		buf_set(err, "%s", buf_str(&u.err));
		goto out;
	}
	info("uploaded %zu files to '%s/%s'", u.done, opt_bucket, opt_prefix);
	rc = 0;
out:
	for (size_t i = 0; i < u.n; i++)
		free(u.rel[i]);
	free(u.rel);
	s3_close(u.s3);
	buf_release(&u.err);
	pthread_mutex_destroy(&u.mu);
	return rc;
}

int pod_run(struct cli_ctx *ctx)
{
	const char *what = ctx->argv[0];
	struct buf err = BUF_INIT;
	int rc;

	if (!strcmp(what, "share"))
		return pod_share(ctx);
	if (!strcmp(what, "fetch-config"))
		rc = fetch_config(&err);
	else if (!strcmp(what, "upload-results"))
		rc = upload_results(&err);
	else
		return cli_usage_error(ctx, "unknown pod command '%s' (fetch-config, "
				       "upload-results, share)", what);
	if (rc == EXIT_USAGE) {
		rc = cli_usage_error(ctx, "%s", buf_str(&err));
	} else if (rc < 0) {
		error("%s", buf_str(&err));
		rc = 1;
	}
	buf_release(&err);
	return rc;
}
