/* context.c - the build context: its ignore rules, its Dockerfile, and
 * what identifies its contents (the archive's sha256 and the newest mtime
 * of what is packed), all without the network.
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "wlbuild.h"

static int sink_none(void *ctx, const void *data, size_t len, struct buf *err)
{
	(void)ctx;
	(void)data;
	(void)len;
	(void)err;
	return 0;
}

/* The Dockerfile as a path relative to the context: path is taken from the
 * current directory (as docker's -f) and must lie inside dir. */
static int dockerfile_rel(struct wlb_context *c, const char *path, struct buf *err)
{
	char *copy_d = strdup(path), *copy_b = strdup(path), *rdir = NULL, *rparent = NULL;
	struct buf rel = BUF_INIT;
	const char *base;
	size_t n;
	int rc = -1;

	if (!copy_d || !copy_b)
		die("out of memory");
	base = basename(copy_b);
	if (!(rdir = realpath(c->dir, NULL)) || !(rparent = realpath(dirname(copy_d), NULL))) {
		buf_set(err, "cannot read the Dockerfile '%s': %s", path, strerror(errno));
		goto out;
	}
	n = strlen(rdir);
	if (!strcmp(rparent, rdir)) {
		buf_adds(&rel, base);
	} else if (!strncmp(rparent, rdir, n) && (rparent[n] == '/' || n == 1)) {
		buf_printf(&rel, "%s/%s", rparent + (n == 1 ? 1 : n + 1), base);
	} else {
		buf_set(err, "the Dockerfile '%s' is not inside the build context '%s'", path,
			c->dir);
		goto out;
	}
	if (!strcmp(base, ".") || !strcmp(base, "..") || !strcmp(base, "/")) {
		buf_set(err, "the Dockerfile '%s' is not a file", path);
		goto out;
	}
	c->dockerfile = buf_detach(&rel, NULL);
	rc = 0;
out:
	buf_release(&rel);
	free(rparent);
	free(rdir);
	free(copy_b);
	free(copy_d);
	return rc;
}

int wlb_context_open(struct wlb_context *c, const char *dir, const char *dockerfile,
		     struct buf *err)
{
	struct buf full = BUF_INIT;
	struct stat sb;
	size_t n = strlen(dir);
	int rc = -1;

	memset(c, 0, sizeof(*c));
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (!(c->dir = strndup(dir, n)))
		die("out of memory");
	if (stat(c->dir, &sb) < 0) {
		buf_set(err, "cannot use the build context '%s': %s", dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(sb.st_mode)) {
		buf_set(err, "cannot use the build context '%s': not a directory", dir);
		goto out;
	}
	if (ignore_load(c->dir, &c->ig, err) < 0)
		goto out;
	c->dockerfile_default = !dockerfile;
	if (!dockerfile) {
		if (!(c->dockerfile = strdup("Dockerfile")))
			die("out of memory");
	} else if (dockerfile_rel(c, dockerfile, err) < 0) {
		goto out;
	}
	buf_printf(&full, "%s/%s", c->dir, c->dockerfile);
	if (stat(full.data, &sb) < 0) {
		buf_set(err, "cannot read the Dockerfile '%s': %s",
			dockerfile ? dockerfile : full.data, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		buf_set(err, "cannot read the Dockerfile '%s': not a regular file",
			dockerfile ? dockerfile : full.data);
		goto out;
	}
	if (ignore_excluded(c->ig, c->dockerfile, false)) {
		buf_set(err, "the Dockerfile '%s' is left out of the upload by %s",
			c->dockerfile, ignore_source(c->ig));
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		wlb_context_release(c);
	buf_release(&full);
	return rc;
}

/* The newest mtime of what archive_tgz packs below full (the same walk:
 * lstat, left-out entries skipped unless the rules look inside). */
static void newest(const struct wlb_context *c, struct buf *full, size_t root_len,
		   int64_t *mt)
{
	DIR *d = opendir(full->data);
	struct dirent *de;
	size_t len = full->len;

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat sb, target;
		const char *rel;
		bool is_dir;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		buf_printf(full, "/%s", de->d_name);
		rel = full->data + root_len + 1;
		if (lstat(full->data, &sb) == 0) {
			is_dir = S_ISDIR(sb.st_mode) ||
				 (S_ISLNK(sb.st_mode) && !stat(full->data, &target) &&
				  S_ISDIR(target.st_mode));
			if (ignore_excluded(c->ig, rel, is_dir)) {
				if (S_ISDIR(sb.st_mode) && ignore_descend(c->ig, rel))
					newest(c, full, root_len, mt);
			} else if (S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode) ||
				   S_ISLNK(sb.st_mode)) {
				if ((int64_t)sb.st_mtime > *mt)
					*mt = (int64_t)sb.st_mtime;
				if (S_ISDIR(sb.st_mode))
					newest(c, full, root_len, mt);
			}
		}
		buf_setlen(full, len);
	}
	closedir(d);
}

int wlb_context_hash(struct wlb_context *c, struct buf *err)
{
	struct buf full = BUF_INIT;

	if (archive_tgz(c->dir, c->ig, sink_none, NULL, &c->st, err) < 0)
		return -1;
	buf_adds(&full, c->dir);
	c->newest_mtime = 0;
	newest(c, &full, full.len, &c->newest_mtime);
	buf_release(&full);
	return 0;
}

void wlb_context_release(struct wlb_context *c)
{
	ignore_free(c->ig);
	free(c->dockerfile);
	free(c->dir);
	memset(c, 0, sizeof(*c));
}
