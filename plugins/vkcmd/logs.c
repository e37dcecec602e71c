/* logs.c - the container log writer: CRI-style lines under the pod's
 * directory, read back by kubelet.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vkcmd_io.h"

#define PARTIAL_MAX 16384

struct ctr_log {
	int fd;
	char *done_path;
	struct buf held[2];	/* stdout, stderr: a line without its newline */
	struct buf out;		/* lines being written */
};

int vk_mkdirs(const char *path, mode_t mode, struct buf *err)
{
	struct buf p = BUF_INIT;
	int rc = -1;

	buf_adds(&p, path);
	for (char *s = p.data + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p.data, mode) < 0 && errno != EEXIST) {
			buf_set(err, "cannot create directory '%s': %s", p.data,
				strerror(errno));
			goto out;
		}
		*s = c;
		if (!c)
			break;
	}
	rc = 0;
out:
	buf_release(&p);
	return rc;
}

void vk_log_timestamp(struct buf *out)
{
	struct timespec ts;
	struct tm tm;
	char s[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	buf_printf(out, "%s.%09ldZ", s, ts.tv_nsec);
}

int ctr_log_open(const char *pod_dir, const char *ctr, int restart,
		 struct ctr_log **out, struct buf *err)
{
	struct buf dir = BUF_INIT, path = BUF_INIT;
	struct ctr_log *l = NULL;
	int rc = -1;

	*out = NULL;
	if (!*ctr || strchr(ctr, '/') || !strcmp(ctr, ".") || !strcmp(ctr, "..")) {
		buf_set(err, "invalid container name '%s'", ctr);
		goto out;
	}
	buf_printf(&dir, "%s/logs/%s", pod_dir, ctr);
	if (vk_mkdirs(buf_str(&dir), 0700, err) < 0)
		goto out;
	l = calloc(1, sizeof(*l));
	if (!l)
		die("out of memory");
	l->fd = -1;
	buf_printf(&path, "%s/%d.done", buf_str(&dir), restart);
	l->done_path = buf_detach(&path, NULL);
	/* a run that starts again under the same number is not done */
	if (unlink(l->done_path) < 0 && errno != ENOENT) {
		buf_set(err, "cannot remove '%s': %s", l->done_path, strerror(errno));
		goto out;
	}
	buf_printf(&path, "%s/%d.log", buf_str(&dir), restart);
	l->fd = open(buf_str(&path), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
		     O_NOFOLLOW, 0600);
	if (l->fd < 0) {
		buf_set(err, "cannot open '%s': %s", buf_str(&path), strerror(errno));
		goto out;
	}
	*out = l;
	l = NULL;
	rc = 0;
out:
	if (l) {
		free(l->done_path);
		free(l);
	}
	buf_release(&path);
	buf_release(&dir);
	return rc;
}

static void add_line(struct buf *out, const char *ts, int stream, bool full,
		     const char *text, size_t len)
{
	buf_adds(out, ts);
	buf_adds(out, stream == 2 ? " stderr " : " stdout ");
	buf_adds(out, full ? "F " : "P ");
	buf_add(out, text, len);
	buf_addch(out, '\n');
}

static void flush_out(struct ctr_log *l)
{
	size_t off = 0;

	while (off < l->out.len) {
		ssize_t n = write(l->fd, l->out.data + off, l->out.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			warn("cannot write a container log: %s", strerror(errno));
			break;
		}
		off += n;
	}
	buf_reset(&l->out);
}

void ctr_log_write(struct ctr_log *l, int stream, const char *data, size_t len)
{
	struct buf *h = &l->held[stream == 2];
	struct buf t = BUF_INIT;
	const char *ts;

	vk_log_timestamp(&t);
	ts = buf_str(&t);
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;

		if (h->len + n >= PARTIAL_MAX) {
			size_t take = PARTIAL_MAX - h->len;
			buf_add(h, data, take);
			add_line(&l->out, ts, stream, false, h->data, h->len);
			buf_reset(h);
			data += take;
			len -= take;
			continue;
		}
		if (!nl) {
			buf_add(h, data, n);
			break;
		}
		if (h->len) {
			buf_add(h, data, n);
			add_line(&l->out, ts, stream, true, h->data, h->len);
			buf_reset(h);
		} else {
			add_line(&l->out, ts, stream, true, data, n);
		}
		data += n + 1;
		len -= n + 1;
	}
	if (l->out.len)
		flush_out(l);
	buf_release(&t);
}

void ctr_log_close(struct ctr_log *l)
{
	struct buf t = BUF_INIT;
	int fd;

	if (!l)
		return;
	vk_log_timestamp(&t);
	for (int i = 0; i < 2; i++) {
		if (l->held[i].len)
			add_line(&l->out, buf_str(&t), i + 1, true, l->held[i].data,
				 l->held[i].len);
		buf_release(&l->held[i]);
	}
	if (l->out.len)
		flush_out(l);
	close(l->fd);
	fd = open(l->done_path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		warn("cannot create '%s': %s", l->done_path, strerror(errno));
	else
		close(fd);
	buf_release(&t);
	buf_release(&l->out);
	free(l->done_path);
	free(l);
}
