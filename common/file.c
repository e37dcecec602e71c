/* file.c - see file.h. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static mode_t new_file_mode(const char *path, int mode)
{
	struct stat st;
	mode_t mask;

	if (mode != FILE_MODE_KEEP)
		return (mode_t)mode & 07777;
	if (stat(path, &st) == 0)
		return st.st_mode & 07777;
	mask = umask(0);
	umask(mask);
	return 0666 & ~mask;
}

int file_write_atomic(const char *path, const void *data, size_t len, int mode,
		      unsigned flags, struct buf *err)
{
	struct buf tmp = BUF_INIT, dir = BUF_INIT;
	const char *slash = strrchr(path, '/');
	const char *p = data;
	int fd = -1, dfd, rc = -1;
	mode_t m = new_file_mode(path, mode);

	if (slash)
		buf_add(&dir, path, (size_t)(slash - path) + (slash == path));
	else
		buf_adds(&dir, ".");
	buf_printf(&tmp, "%s%s.%s.XXXXXX", slash ? dir.data : "",
		   slash && slash != path ? "/" : "", slash ? slash + 1 : path);
	if ((fd = mkostemp(tmp.data, O_CLOEXEC)) < 0) {
		buf_reset(&tmp);
		goto fail;
	}
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		p += w;
		len -= (size_t)w;
	}
	if (fchmod(fd, m) < 0 || ((flags & FILE_SYNC) && fsync(fd) < 0))
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp.data, path) < 0)
		goto fail;
	/* the rename itself survives a crash once the directory is synced */
	if ((flags & FILE_SYNC) &&
	    (dfd = open(dir.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
	goto out;
fail:
	buf_set(err, "cannot write '%s': %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (tmp.len)
		unlink(tmp.data);
out:
	buf_release(&tmp);
	buf_release(&dir);
	return rc;
}
