/* os_sysctl.c - OS / sysctl: every readable file under /proc/sys except
 * /proc/sys/net, /proc/sys/dev/cdrom, /proc/sys/fs/binfmt_misc and the
 * counters that change between reads (excluded[] below), keyed by its full path
 * ("/proc/sys/kernel/hostname") without ctx->root, its value trimmed and
 * its white space runs (tabs, new lines) made single spaces.
 *
 * The walk is one openat()/fdopendir() per directory and one openat() and
 * read() per file into a reused buffer; nothing is stat()ed unless it
 * fails. A file without read bits (vm/drop_caches is 0200) is skipped
 * silently: the kernel refuses to read it even to root. Any other file
 * that cannot be read (EACCES, EPERM, EIO, a dangling link...) is counted,
 * and one warning line tells how many there were and the first of them.
 * Directories are visited in name order, so two snapshots of one host
 * list the keys in the same order.
 */
#include "gpusnap.h"
#include "log.h"
#include "os_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SYSCTL_MAX (1u << 20)	/* no sysctl file is near this */

struct entry {
	char *name;
	unsigned char type;	/* d_type */
};

struct walk {
	cJSON *data;
	struct buf key;		/* "/proc/sys/..." of the entry at hand */
	struct buf val;		/* the file's contents, reused */
	int unreadable;
	struct buf first;	/* "'KEY': why" of the first unreadable one */
};

/* net: per network namespace, and thousands of files; dev/cdrom: reading
 * it probes the drives; fs/binfmt_misc: a file system of its own (the
 * registered binary formats, not settings), often an autofs mount point
 * that a walk would mount. Then the counters and random values that change
 * from one read to the next: they are not settings, and a drift check
 * (gpusnap diff) before and after an upgrade would drown in them. */
static const char *const excluded[] = {
	"/proc/sys/net", "/proc/sys/dev/cdrom", "/proc/sys/fs/binfmt_misc",
	"/proc/sys/fs/aio-nr", "/proc/sys/fs/dentry-state", "/proc/sys/fs/file-nr",
	"/proc/sys/fs/inode-nr", "/proc/sys/fs/inode-state", "/proc/sys/fs/quota",
	"/proc/sys/kernel/ns_last_pid", "/proc/sys/kernel/pty/nr",
	"/proc/sys/kernel/random/boot_id", "/proc/sys/kernel/random/entropy_avail",
	"/proc/sys/kernel/random/uuid",
};

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* Counts w->key as unreadable with errno err, unless the file has no read
 * bits at all (write-only by design). */
static void unreadable(struct walk *w, int dfd, const char *name, int err)
{
	struct stat st;

	if (fstatat(dfd, name, &st, 0) == 0 && !S_ISDIR(st.st_mode) &&
	    !(st.st_mode & (S_IRUSR | S_IRGRP | S_IROTH)))
		return;
	if (!w->unreadable++)
		buf_printf(&w->first, "'%s': %s", buf_str(&w->key), strerror(err));
}

/* Reads the file name of directory dfd into w->val; -1 with errno. */
static int read_at(struct walk *w, int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	ssize_t n;
	int rc = -1, saved;

	if (fd < 0)
		return -1;
	buf_reset(&w->val);
	for (;;) {
		buf_grow(&w->val, 4096);
		n = read(fd, w->val.data + w->val.len, w->val.cap - w->val.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		w->val.len += (size_t)n;
		w->val.data[w->val.len] = '\0';
		if (w->val.len > SYSCTL_MAX) {
			errno = EFBIG;
			goto out;
		}
	}
	rc = 0;
out:
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

static void walk_dir(struct walk *w, int dfd);

/* Visits one entry of directory dfd; w->key already names it. */
static void visit(struct walk *w, int dfd, const struct entry *e)
{
	unsigned char type = e->type;
	struct stat st;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(excluded) / sizeof(excluded[0]); i++)
		if (!strcmp(buf_str(&w->key), excluded[i]))
			return;
	if (type == DT_UNKNOWN && fstatat(dfd, e->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		type = S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
	if (type == DT_DIR) {
		fd = openat(dfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			unreadable(w, dfd, e->name, errno);
		else
			walk_dir(w, fd);
		return;
	}
	if (read_at(w, dfd, e->name) < 0) {
		unreadable(w, dfd, e->name, errno);
		return;
	}
	buf_grow(&w->val, 0);
	if (!cJSON_AddStringToObject(w->data, buf_str(&w->key), os_squeeze(w->val.data)))
		die("out of memory");
}

/* Walks the directory open at dfd (closed here), w->key its path. */
static void walk_dir(struct walk *w, int dfd)
{
	struct entry *ents = NULL;
	size_t n = 0, cap = 0, i, keylen = w->key.len;
	struct dirent *d;
	DIR *dir = fdopendir(dfd);

	if (!dir) {
		if (!w->unreadable++)
			buf_printf(&w->first, "'%s': %s", buf_str(&w->key), strerror(errno));
		close(dfd);
		return;
	}
	while ((d = readdir(dir))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			if (!(ents = realloc(ents, cap * sizeof(*ents))))
				die("out of memory");
		}
		if (!(ents[n].name = strdup(d->d_name)))
			die("out of memory");
		ents[n++].type = d->d_type;
	}
	if (n)
		qsort(ents, n, sizeof(*ents), entry_cmp);
	for (i = 0; i < n; i++) {
		buf_addch(&w->key, '/');
		buf_adds(&w->key, ents[i].name);
		visit(w, dirfd(dir), &ents[i]);
		buf_setlen(&w->key, keylen);
		free(ents[i].name);
	}
	free(ents);
	closedir(dir);
}

void os_sysctl(const struct snap_ctx *c, cJSON *m)
{
	struct walk w = { snap_subtype(m, "sysctl"), BUF_INIT, BUF_INIT, 0, BUF_INIT };
	struct buf top = BUF_INIT;
	int fd;

	snap_path(c, "/proc/sys", &top);
	fd = open(buf_str(&top), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		warn("cannot read '%s': %s", buf_str(&top), strerror(errno));
		goto out;
	}
	buf_adds(&w.key, "/proc/sys");
	walk_dir(&w, fd);
	if (w.unreadable)
		warn("%d %s under '%s' could not be read (the first %s)", w.unreadable,
		     w.unreadable == 1 ? "file" : "files", buf_str(&top), buf_str(&w.first));
out:
	buf_release(&w.first);
	buf_release(&w.val);
	buf_release(&w.key);
	buf_release(&top);
}
