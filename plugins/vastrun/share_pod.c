/* share_pod.c - `kubectl-vastrun pod share`, inside the Job that
 * upload-to-share creates (see share.h): the run's objects from S3 into
 * the scratch directory, packed into <run>.tar.gz, uploaded to the share;
 * the archive kept in the run's bucket when the upload fails or when asked.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "log.h"
#include "obj.h"
#include "s3.h"
#include "share.h"
#include "vastrun.h"

struct pod_env {
	const char *run, *type, *url, *key_file, *workdir;
	int64_t chunk;
	bool force, keep;
	struct s3_config s3;
};

struct listing {
	const char *archive_key;
	cJSON *objects;		/* [{key, size, etag}] */
	int64_t bytes;
	struct s3_object archive;	/* size, etag of a kept archive */
	char *archive_etag;
	bool have_archive;
};

void share_progress(int64_t done, int64_t total)
{
	fprintf(stderr, "progress %lld %lld\n", (long long)done, (long long)total);
}

/* A step for the person following the log (stderr, like every message:
 * one stream keeps the order of the lines in the pod's log). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *need(const char *name, struct buf *missing)
{
	const char *v = getenv(name);

	if (v && *v)
		return v;
	buf_printf(missing, "%s%s", missing->len ? ", " : "", name);
	return NULL;
}

static int env_load(struct pod_env *e, struct buf *err)
{
	struct buf missing = BUF_INIT;
	const char *v;
	int rc = -1;

	memset(e, 0, sizeof(*e));
	e->run = need(SHARE_ENV_RUN, &missing);
	e->type = need(SHARE_ENV_TYPE, &missing);
	e->url = need(SHARE_ENV_URL, &missing);
	e->s3.endpoint = need(SHARE_ENV_S3_ENDPOINT, &missing);
	e->s3.access_key = need(SHARE_ENV_S3_ACCESS, &missing);
	e->s3.secret_key = need(SHARE_ENV_S3_SECRET, &missing);
	e->s3.region = getenv(SHARE_ENV_S3_REGION);
	if (e->type && !strcmp(e->type, "gdrive"))
		e->key_file = need(SHARE_ENV_KEY_FILE, &missing);
	if (missing.len) {
		buf_set(err, "pod share runs in the Job that upload-to-share creates; "
			"missing from the environment: %s", missing.data);
		goto out;
	}
	if (strcmp(e->type, "nextcloud") && strcmp(e->type, "gdrive")) {
		buf_set(err, "%s is '%s': it must be nextcloud or gdrive", SHARE_ENV_TYPE,
			e->type);
		goto out;
	}
	e->workdir = (v = getenv(SHARE_ENV_WORKDIR)) && *v ? v :
		     (v = getenv("TMPDIR")) && *v ? v : "/tmp";
	e->force = (v = getenv(SHARE_ENV_FORCE)) && !strcmp(v, "1");
	e->keep = (v = getenv(SHARE_ENV_KEEP)) && !strcmp(v, "1");
	e->chunk = SHARE_DEFAULT_CHUNK;
	if ((v = getenv(SHARE_ENV_CHUNK)) && *v) {
		char *end;
		long long n = strtoll(v, &end, 10);

		if (*end || n <= 0 || n % SHARE_CHUNK_UNIT) {
			buf_set(err, "%s '%s' is not a positive multiple of %ld", SHARE_ENV_CHUNK,
				v, SHARE_CHUNK_UNIT);
			goto out;
		}
		e->chunk = n;
	}
	rc = 0;
out:
	buf_release(&missing);
	return rc;
}

static int list_one(void *ctx, const struct s3_object *o)
{
	struct listing *l = ctx;
	cJSON *it;

	if (!strcmp(o->key, l->archive_key)) {
		l->have_archive = true;
		l->archive.size = o->size;
		free(l->archive_etag);
		l->archive_etag = o->etag ? strdup(o->etag) : NULL;
		return 0;
	}
	it = cJSON_CreateObject();
	if (!it)
		die("out of memory");
	obj_put(it, "key", cJSON_CreateString(o->key));
	obj_put(it, "size", cJSON_CreateNumber((double)o->size));
	obj_put(it, "etag", cJSON_CreateString(o->etag ? o->etag : ""));
	cJSON_AddItemToArray(l->objects, it);
	if (o->size > 0)
		l->bytes += o->size;
	return 0;
}

/* A key as a path below the tree: no empty, "." or ".." segments. */
static bool safe_key(const char *key)
{
	const char *s = key;

	if (!*key || *key == '/')
		return false;
	while (*s) {
		size_t n = strcspn(s, "/");

		if (!n || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s += n;
		if (*s == '/' && !*++s)
			return false;
	}
	return true;
}

static int mkdirs(char *path, struct buf *err)
{
	char *s;

	for (s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			buf_set(err, "cannot create '%s': %s", path, strerror(errno));
			*s = '/';
			return -1;
		}
		*s = '/';
	}
	return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

/* Downloads every listed object to TREE/<run>/<key> and packs TREE into
 * the archive at out. */
static int build_archive(struct s3 *s3, const struct pod_env *e,
			 const struct listing *l, const char *tree,
			 const char *out, struct buf *err)
{
	struct archive_stats st;
	struct buf path = BUF_INIT, sz = BUF_INIT;
	const cJSON *it;
	int64_t done = 0;
	int fd = -1, rc = -1;

	nftw(tree, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	say("downloading %d objects of run '%s' from the store", cJSON_GetArraySize(l->objects),
	    e->run);
	cJSON_ArrayForEach(it, l->objects) {
		struct s3_object o = { obj_str(it, "key"), obj_int(it, "size", -1),
				       obj_str(it, "etag"), NULL };

		if (!safe_key(o.key)) {
			buf_set(err, "the object key '%s' of bucket '%s' is not a relative path",
				o.key, e->run);
			goto out;
		}
		buf_reset(&path);
		buf_printf(&path, "%s/%s/%s", tree, e->run, o.key);
		if (mkdirs(path.data, err) < 0 ||
		    s3_get_file(s3, e->run, o.key, path.data, &o, NULL, NULL, err) < 0)
			goto out;
		done += o.size > 0 ? o.size : 0;
	}
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		buf_set(err, "cannot create '%s': %s", out, strerror(errno));
		goto out;
	}
	if (archive_tgz(tree, NULL, archive_sink_fd, &fd, &st, err) < 0)
		goto out;
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		buf_set(err, "cannot write '%s': %s", out, strerror(errno));
		goto out;
	}
	fd = -1;
	share_size(&sz, (int64_t)st.out_bytes);
	say("packed %ld files into %s.tar.gz (%s)", st.files, e->run, sz.data);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	nftw(tree, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	buf_release(&path);
	buf_release(&sz);
	return rc;
}

static int upload(const struct pod_env *e, const char *path, const char *name,
		  struct buf *err)
{
	struct stat sb;
	struct share_upload u = { path, name, 0, e->force, e->chunk };
	struct buf folder = BUF_INIT;
	int rc;

	if (stat(path, &sb) < 0) {
		buf_set(err, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	u.size = (int64_t)sb.st_size;
	if (!strcmp(e->type, "nextcloud"))
		return share_dav_upload(e->url, &u, err);
	if (share_gdrive_folder(e->url, &folder, err) < 0)
		rc = -1;
	else
		rc = share_gdrive_upload(e->key_file, folder.data, &u, err);
	buf_release(&folder);
	return rc;
}

/* The share takes the name (share.h's *_check). */
static int check(const struct pod_env *e, const char *name, struct buf *err)
{
	struct buf folder = BUF_INIT;
	int rc;

	if (!strcmp(e->type, "nextcloud"))
		return share_dav_check(e->url, name, e->force, err);
	if (share_gdrive_folder(e->url, &folder, err) < 0)
		rc = -1;
	else
		rc = share_gdrive_check(e->key_file, folder.data, name, e->force, err);
	buf_release(&folder);
	return rc;
}

int pod_share(struct cli_ctx *ctx)
{
	struct pod_env e;
	struct listing l = { NULL, NULL, 0, { NULL, -1, NULL, NULL }, NULL, false };
	struct buf err = BUF_INIT, name = BUF_INIT, tree = BUF_INIT, file = BUF_INIT,
		   sz = BUF_INIT;
	struct s3 *s3 = NULL;
	bool built = false, uploaded = false;
	int rc = 1;

	(void)ctx;
	if (env_load(&e, &err) < 0)
		goto out;
	buf_printf(&name, "%s.tar.gz", e.run);
	buf_printf(&tree, "%s/tree", e.workdir);
	buf_printf(&file, "%s/%s", e.workdir, name.data);
	l.archive_key = name.data;
	if (!(l.objects = cJSON_CreateArray()))
		die("out of memory");
	if (s3_open(&e.s3, &s3, &err) < 0 ||
	    s3_list(s3, e.run, NULL, list_one, &l, &err) < 0)
		goto out;
	if (check(&e, name.data, &err) < 0)
		goto out;
	if (l.have_archive && !e.force) {
		struct s3_object o = { name.data, l.archive.size, l.archive_etag, NULL };

		say("reusing the archive '%s' kept in the store (--force makes a new one)",
		    name.data);
		if (s3_get_file(s3, e.run, name.data, file.data, &o, NULL, NULL, &err) < 0)
			goto out;
	} else {
		if (!cJSON_GetArraySize(l.objects)) {
			buf_set(&err, "run '%s' has no results in the store", e.run);
			goto out;
		}
		if (build_archive(s3, &e, &l, tree.data, file.data, &err) < 0)
			goto out;
		built = true;
	}
	say("uploading %s to %s", name.data, e.type);
	uploaded = upload(&e, file.data, name.data, &err) == 0;
	if (uploaded) {
		struct stat sb;

		if (stat(file.data, &sb) == 0)
			share_size(&sz, (int64_t)sb.st_size);
		say("uploaded %s (%s) to %s", name.data, sz.data ? sz.data : "", e.type);
	} else {
		error("%s", err.data);
		buf_reset(&err);
	}
	if (!uploaded || e.keep) {
		if ((built || !l.have_archive) &&
		    s3_put_file(s3, e.run, name.data, file.data, &err) < 0)
			goto out;
		say("the archive is kept in the store as '%s/%s'", e.run, name.data);
	} else if (l.have_archive) {
		const char *keys[] = { name.data };

		if (s3_delete_objects(s3, e.run, keys, 1, &err) < 0)
			goto out;
	}
	rc = uploaded ? 0 : 1;
out:
	if (err.len)
		error("%s", err.data);
	if (file.data)
		unlink(file.data);
	s3_close(s3);
	cJSON_Delete(l.objects);
	free(l.archive_etag);
	buf_release(&err);
	buf_release(&name);
	buf_release(&tree);
	buf_release(&file);
	buf_release(&sz);
	return rc;
}
