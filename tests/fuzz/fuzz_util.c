/* fuzz_util.c - the scratch directory of the fuzz targets (fuzz.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fuzz.h"
#include "log.h"

static struct buf dir = BUF_INIT;	/* the scratch directory, once made */
static struct buf path = BUF_INIT;	/* fuzz_write()'s last path */

static void dir_remove(void)
{
	DIR *d = opendir(buf_str(&dir));
	struct buf p = BUF_INIT;
	struct dirent *de;

	if (!d)
		goto out;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		buf_set(&p, "%s/%s", buf_str(&dir), de->d_name);
		unlink(buf_str(&p));
	}
	closedir(d);
	rmdir(buf_str(&dir));
out:
	buf_release(&p);
	buf_release(&dir);
	buf_release(&path);
}

const char *fuzz_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	if (dir.len)
		return buf_str(&dir);
	if (!tmp || !*tmp)
		tmp = "/tmp";
	buf_set(&dir, "%s/wlkit-fuzz.XXXXXX", tmp);
	if (!mkdtemp(dir.data))
		die("cannot make a scratch directory in '%s': %s", tmp, strerror(errno));
	atexit(dir_remove);
	return buf_str(&dir);
}

const char *fuzz_write(const char *name, const void *data, size_t n)
{
	const char *p = data;
	int fd;

	buf_set(&path, "%s/%s", fuzz_dir(), name);
	fd = open(buf_str(&path), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("cannot write '%s': %s", buf_str(&path), strerror(errno));
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("cannot write '%s': %s", buf_str(&path), strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	close(fd);
	return buf_str(&path);
}

void fuzz_remove(const char *name)
{
	struct buf p = BUF_INIT;

	buf_set(&p, "%s/%s", fuzz_dir(), name);
	unlink(buf_str(&p));
	buf_release(&p);
}
