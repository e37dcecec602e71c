/* archive.c - pack a directory as a deterministic tar.gz stream (see
 * archive.h). */
#include "archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "log.h"

#define READ_CHUNK (256 * 1024)

struct pack {
	struct archive *a;
	const struct ignore *ig;
	archive_sink_fn sink;
	void *ctx;
	struct archive_stats *st;
	struct buf *err;
	struct crypto_sha256 md;
	struct buf full;	/* dir + "/" + the current relative path */
	size_t root_len;	/* length of dir + "/" in full */
	char *chunk;		/* READ_CHUNK bytes */
	int sink_failed;	/* the sink or the digest set *err */
	int stop;		/* failed: send nothing more to the sink */
};

int archive_sink_fd(void *ctx, const void *data, size_t len, struct buf *err)
{
	int fd = *(int *)ctx;
	const char *p = data;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			buf_set(err, "cannot write the archive: %s", strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static la_ssize_t on_write(struct archive *a, void *data, const void *bytes, size_t len)
{
	struct pack *p = data;

	(void)a;
	if (p->sink_failed || p->stop)
		return -1;
	if (crypto_sha256_update(&p->md, bytes, len) < 0) {
		buf_set(p->err, "cannot update the sha256 digest");
		p->sink_failed = 1;
		return -1;
	}
	if (p->sink(p->ctx, bytes, len, p->err) < 0) {
		p->sink_failed = 1;
		return -1;
	}
	p->st->out_bytes += len;
	return (la_ssize_t)len;
}

static const char *rel(const struct pack *p)
{
	return buf_str(&p->full) + p->root_len;
}

static int la_fail(struct pack *p, const char *what)
{
	if (!p->sink_failed)
		buf_set(p->err, "cannot pack '%s': %s", what, archive_error_string(p->a));
	return -1;
}

static struct archive_entry *entry_for(const char *name, const struct stat *sb)
{
	struct archive_entry *e = archive_entry_new();

	if (!e)
		abort();
	archive_entry_set_pathname(e, name);
	archive_entry_set_mode(e, sb->st_mode & (S_IFMT | 07777));
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_uname(e, "root");
	archive_entry_set_gname(e, "root");
	archive_entry_set_mtime(e, sb->st_mtime, 0);
	return e;
}

/* Writes the header of a directory or symlink entry. */
static int add_plain(struct pack *p, const struct stat *sb)
{
	struct archive_entry *e = entry_for(rel(p), sb);
	struct buf target = BUF_INIT;
	ssize_t n;
	int rc = -1;

	if (S_ISLNK(sb->st_mode)) {
		buf_grow(&target, (size_t)sb->st_size + 1);
		n = readlink(buf_str(&p->full), target.data, target.cap);
		if (n < 0) {
			buf_set(p->err, "cannot read link '%s': %s", rel(p), strerror(errno));
			goto out;
		}
		if ((size_t)n >= target.cap) {
			buf_set(p->err, "cannot read link '%s': it changed while packing", rel(p));
			goto out;
		}
		target.len = (size_t)n;
		target.data[n] = 0;
		archive_entry_set_symlink(e, buf_str(&target));
		archive_entry_set_size(e, 0);
	}
	if (archive_write_header(p->a, e) != ARCHIVE_OK) {
		la_fail(p, rel(p));
		goto out;
	}
	rc = 0;
out:
	buf_release(&target);
	archive_entry_free(e);
	return rc;
}

static int add_file(struct pack *p)
{
	struct archive_entry *e = NULL;
	struct stat sb;
	off_t left;
	ssize_t n;
	int fd, rc = -1;

	fd = open(buf_str(&p->full), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		buf_set(p->err, "cannot read '%s': %s", rel(p), strerror(errno));
		goto out;
	}
	e = entry_for(rel(p), &sb);
	archive_entry_set_size(e, sb.st_size);
	if (archive_write_header(p->a, e) != ARCHIVE_OK) {
		la_fail(p, rel(p));
		goto out;
	}
	for (left = sb.st_size; left > 0; left -= n) {
		n = read(fd, p->chunk, left < READ_CHUNK ? (size_t)left : READ_CHUNK);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n < 0) {
			buf_set(p->err, "cannot read '%s': %s", rel(p), strerror(errno));
			goto out;
		}
		if (!n) {
			buf_set(p->err, "cannot pack '%s': it shrank while packing", rel(p));
			goto out;
		}
		if (archive_write_data(p->a, p->chunk, (size_t)n) != n) {
			la_fail(p, rel(p));
			goto out;
		}
		p->st->bytes += (uint64_t)n;
	}
	p->st->files++;
	rc = 0;
out:
	archive_entry_free(e);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the directory p->full, sorted; *out is owned by the caller
 * (free each name and the array). */
static int list_dir(struct pack *p, char ***out, size_t *count)
{
	DIR *d = opendir(buf_str(&p->full));
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;

	*out = NULL;
	*count = 0;
	if (!d) {
		buf_set(p->err, "cannot read directory '%s': %s",
			p->full.len > p->root_len ? rel(p) : buf_str(&p->full), strerror(errno));
		return -1;
	}
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			if (!(names = realloc(names, cap * sizeof(*names))))
				abort();
		}
		if (!(names[n++] = strdup(de->d_name)))
			abort();
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	*out = names;
	*count = n;
	return 0;
}

static int walk(struct pack *p);

/* Packs the entry p->full names (and what is below it). */
static int visit(struct pack *p)
{
	struct stat sb, target;
	bool is_dir, excluded;

	if (lstat(buf_str(&p->full), &sb) < 0) {
		buf_set(p->err, "cannot read '%s': %s", rel(p), strerror(errno));
		return -1;
	}
	is_dir = S_ISDIR(sb.st_mode) ||
		 (S_ISLNK(sb.st_mode) && !stat(buf_str(&p->full), &target) &&
		  S_ISDIR(target.st_mode));
	excluded = p->ig && ignore_excluded(p->ig, rel(p), is_dir);
	if (excluded) {
		p->st->ignored++;
		if (S_ISDIR(sb.st_mode) && ignore_descend(p->ig, rel(p)))
			return walk(p);
		return 0;
	}
	if (S_ISREG(sb.st_mode))
		return add_file(p);
	if (S_ISDIR(sb.st_mode)) {
		if (add_plain(p, &sb) < 0)
			return -1;
		p->st->dirs++;
		return walk(p);
	}
	if (S_ISLNK(sb.st_mode)) {
		if (add_plain(p, &sb) < 0)
			return -1;
		p->st->links++;
		return 0;
	}
	warn("skipping '%s': not a file, directory or symlink", rel(p));
	p->st->skipped++;
	return 0;
}

/* Packs what is below the directory p->full. */
static int walk(struct pack *p)
{
	char **names;
	size_t n, i, len = p->full.len;
	int rc = 0;

	if (list_dir(p, &names, &n) < 0)
		return -1;
	for (i = 0; i < n && !rc; i++) {
		if (p->full.len > p->root_len)
			buf_addch(&p->full, '/');
		buf_adds(&p->full, names[i]);
		rc = visit(p);
		buf_setlen(&p->full, len);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int archive_tgz(const char *dir, const struct ignore *ig, archive_sink_fn sink,
		void *ctx, struct archive_stats *st, struct buf *err)
{
	struct pack p;
	unsigned char md[CRYPTO_SHA256_LEN];
	unsigned int i;
	int rc = -1;

	memset(&p, 0, sizeof(p));
	memset(st, 0, sizeof(*st));
	p.ig = ig;
	p.sink = sink;
	p.ctx = ctx;
	p.st = st;
	p.err = err;
	buf_init(&p.full);
	buf_adds(&p.full, dir);
	while (p.full.len > 1 && p.full.data[p.full.len - 1] == '/')
		buf_setlen(&p.full, p.full.len - 1);
	if (strcmp(buf_str(&p.full), "/"))
		buf_addch(&p.full, '/');
	p.root_len = p.full.len;
	if (!(p.chunk = malloc(READ_CHUNK)) || !(p.a = archive_write_new()))
		abort();
	if (crypto_sha256_init(&p.md) < 0) {
		buf_set(err, "cannot start a sha256 digest");
		goto out;
	}
	if (archive_write_set_format_pax_restricted(p.a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(p.a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(p.a, "gzip", "compression-level", "6") != ARCHIVE_OK ||
	    archive_write_set_filter_option(p.a, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(p.a, 64 * 1024) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(p.a, 1) != ARCHIVE_OK ||
	    archive_write_open2(p.a, &p, NULL, on_write, NULL, NULL) != ARCHIVE_OK) {
		la_fail(&p, dir);
		goto out;
	}
	if (walk(&p) < 0)
		goto out;
	if (archive_write_close(p.a) != ARCHIVE_OK) {
		la_fail(&p, dir);
		goto out;
	}
	if (crypto_sha256_final(&p.md, md) < 0) {
		buf_set(err, "cannot finish the sha256 digest");
		goto out;
	}
	for (i = 0; i < CRYPTO_SHA256_LEN; i++) {
		st->sha256[2 * i] = "0123456789abcdef"[md[i] >> 4];
		st->sha256[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
	}
	st->sha256[2 * i] = 0;
	rc = 0;
out:
	p.stop = rc < 0;
	archive_write_free(p.a);
	crypto_sha256_free(&p.md);
	free(p.chunk);
	buf_release(&p.full);
	return rc;
}
