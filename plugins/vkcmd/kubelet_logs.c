/* kubelet_logs.c - GET /containerLogs/{ns}/{pod}/{container}: reads the
 * CRI-style logs logs.c writes and answers as the kubelet does. The log is
 * streamed through a fixed buffer (never held whole); tailLines scans back
 * from the end; follow waits on inotify for the container's log directory
 * and ends at the run's .done marker, when the client goes away, or when
 * the server stops.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kubelet_int.h"
#include "obj.h"
#include "vkcmd_io.h"

#define READ_BUF 65536
#define CHUNK 32768

struct log_opts {
	bool follow, timestamps, previous;
	int64_t tail;		/* < 0: all */
	int64_t limit;		/* 0: none */
	char since[64];		/* "" or a timestamp in the log's format */
};

struct reader {
	struct kconn *c;
	const struct log_opts *o;
	int fd;
	char buf[READ_BUF];
	size_t len;		/* bytes in buf not yet used */
	bool in_partial;	/* the last line shown was a P line */
	int64_t left;		/* bytes still allowed by limitBytes */
	bool full;		/* limitBytes reached */
	struct buf out;
};

static int parse_bool(const char *v, bool *out)
{
	static const char *t[] = { "1", "t", "T", "true", "TRUE", "True" };
	static const char *f[] = { "0", "f", "F", "false", "FALSE", "False" };

	for (size_t i = 0; i < 6; i++) {
		if (!strcmp(v, t[i]))
			return *out = true, 0;
		if (!strcmp(v, f[i]))
			return *out = false, 0;
	}
	return -1;
}

static int parse_int(const char *v, int64_t *out)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (!*v || *end || errno)
		return -1;
	*out = n;
	return 0;
}

static void format_ts(struct timespec ts, char *out, size_t size)
{
	struct tm tm;
	char s[32];

	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%s.%09dZ", s, (int)ts.tv_nsec);
}

/* The query into *o; 0, or -1 with the message in *why. */
static int parse_opts(const struct kquery *q, struct log_opts *o, struct buf *why)
{
	static const char *bools[] = { "follow", "timestamps", "previous" };
	bool *bv[] = { &o->follow, &o->timestamps, &o->previous };
	const char *v;
	int64_t n;

	memset(o, 0, sizeof(*o));
	o->tail = -1;
	for (size_t i = 0; i < 3; i++)
		if ((v = kquery_get(q, bools[i])) && parse_bool(v, bv[i]) < 0)
			return buf_set(why, "invalid value '%s' for %s", v, bools[i]), -1;
	if ((v = kquery_get(q, "tailLines"))) {
		if (parse_int(v, &o->tail) < 0 || o->tail < 0)
			return buf_set(why, "tailLines must be a number greater than "
				       "or equal to 0"), -1;
	}
	if ((v = kquery_get(q, "limitBytes"))) {
		if (parse_int(v, &o->limit) < 0 || o->limit < 1)
			return buf_set(why, "limitBytes must be a number greater "
				       "than 0"), -1;
	}
	const char *ss = kquery_get(q, "sinceSeconds"), *st = kquery_get(q, "sinceTime");
	if (ss && st)
		return buf_set(why, "at most one of sinceTime or sinceSeconds may "
			       "be specified"), -1;
	if (ss) {
		struct timespec now;
		if (parse_int(ss, &n) < 0 || n < 1)
			return buf_set(why, "sinceSeconds must be a number greater "
				       "than 0"), -1;
		clock_gettime(CLOCK_REALTIME, &now);
		now.tv_sec -= n;
		format_ts(now, o->since, sizeof(o->since));
	}
	if (st) {
		struct timespec t = { 0, 0 };
		int64_t sec;
		if (rfc3339_parse(st, &sec) < 0)
			return buf_set(why, "invalid sinceTime '%s'", st), -1;
		t.tv_sec = sec;
		format_ts(t, o->since, sizeof(o->since));
	}
	return 0;
}

/* The newest pods/<ns>_<pod>_<uid> directory, or NULL. */
static char *find_pod_dir(const char *work_dir, const char *ns, const char *pod)
{
	struct buf dir = BUF_INIT, prefix = BUF_INIT, best = BUF_INIT, p = BUF_INIT;
	struct timespec best_t = { 0, 0 };
	struct dirent *de;
	DIR *d;
	char *ret = NULL;

	buf_printf(&dir, "%s/pods", work_dir);
	buf_printf(&prefix, "%s_%s_", ns, pod);
	if (!(d = opendir(buf_str(&dir))))
		goto out;
	while ((de = readdir(d))) {
		struct stat st;
		if (strncmp(de->d_name, prefix.data, prefix.len) ||
		    strchr(de->d_name + prefix.len, '_'))
			continue;
		buf_reset(&p);
		buf_printf(&p, "%s/%s", buf_str(&dir), de->d_name);
		if (stat(p.data, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (!best.len || st.st_mtim.tv_sec > best_t.tv_sec ||
		    (st.st_mtim.tv_sec == best_t.tv_sec &&
		     st.st_mtim.tv_nsec > best_t.tv_nsec)) {
			best_t = st.st_mtim;
			buf_reset(&best);
			buf_add(&best, p.data, p.len);
		}
	}
	closedir(d);
	if (best.len)
		ret = buf_detach(&best, NULL);
out:
	buf_release(&dir);
	buf_release(&prefix);
	buf_release(&best);
	buf_release(&p);
	return ret;
}

/* The newest and the one before it of the N.log runs in dir; -1 if none. */
static int find_runs(const char *dir, int *newest, int *before)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	*newest = *before = -1;
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char *end;
		long n = strtol(de->d_name, &end, 10);
		if (end == de->d_name || strcmp(end, ".log") || n < 0 || n > INT_MAX)
			continue;
		if (n > *newest) {
			*before = *newest;
			*newest = n;
		} else if (n > *before) {
			*before = n;
		}
	}
	closedir(d);
	return 0;
}

static int flush(struct reader *r)
{
	int rc = kconn_chunk(r->c, r->out.data, r->out.len);
	buf_reset(&r->out);
	return rc;
}

static void emit(struct reader *r, const char *s, size_t n)
{
	if (r->o->limit) {
		if ((int64_t)n >= r->left) {
			n = r->left;
			r->full = true;
		}
		r->left -= n;
	}
	buf_add(&r->out, s, n);
}

/* One log line, without its newline. */
static void line(struct reader *r, const char *s, size_t n)
{
	const char *sp1 = memchr(s, ' ', n), *sp2 = NULL, *sp3 = NULL;
	const char *text = s;
	size_t tlen = n, tslen = 0;
	bool full = true;

	if (sp1)
		sp2 = memchr(sp1 + 1, ' ', n - (sp1 + 1 - s));
	if (sp2)
		sp3 = memchr(sp2 + 1, ' ', n - (sp2 + 1 - s));
	if (sp3 && sp3 == sp2 + 2 && (sp2[1] == 'F' || sp2[1] == 'P')) {
		full = sp2[1] == 'F';
		tslen = sp1 - s;
		text = sp3 + 1;
		tlen = s + n - text;
	}
	if (r->o->since[0] && tslen &&
	    strncmp(s, r->o->since, tslen < 64 ? tslen : 64) < 0)
		return;
	if (r->o->timestamps && !r->in_partial && tslen) {
		emit(r, s, tslen);
		emit(r, " ", 1);
	}
	emit(r, text, tlen);
	if (full)
		emit(r, "\n", 1);
	r->in_partial = !full;
}

/* Reads and sends what the log holds now. 0, or -1 when the client is gone. */
static int drain(struct reader *r)
{
	for (;;) {
		ssize_t got = read(r->fd, r->buf + r->len, READ_BUF - r->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		r->len += got;
		char *p = r->buf, *end = r->buf + r->len, *nl;
		while (!r->full && (nl = memchr(p, '\n', end - p))) {
			line(r, p, nl - p);
			p = nl + 1;
			if (r->out.len >= CHUNK && flush(r) < 0)
				return -1;
		}
		if (!r->full && p == r->buf && r->len == READ_BUF) {
			/* not a line logs.c writes: pass it on as it is */
			emit(r, p, r->len);
			p = end;
		}
		r->len = end - p;
		memmove(r->buf, p, r->len);
		if (r->full)
			break;
	}
	return r->out.len ? flush(r) : 0;
}

/* Offset of the start of the last n lines of fd (size bytes). */
static off_t tail_start(int fd, off_t size, int64_t n)
{
	char b[READ_BUF];
	off_t pos = size;
	int64_t seen = 0;

	if (n == 0)
		return size;
	while (pos > 0) {
		size_t want = pos > READ_BUF ? READ_BUF : pos;
		ssize_t got = pread(fd, b, want, pos - want);
		if (got != (ssize_t)want)
			return 0;
		for (size_t i = want; i-- > 0;) {
			off_t at = pos - want + i;
			if (b[i] != '\n' || at == size - 1)
				continue;
			if (++seen == n)
				return at + 1;
		}
		pos -= want;
	}
	return 0;
}

/* Waits for news in the log directory. 1: look again, 0: stop. */
static int wait_news(struct reader *r, int ino)
{
	char ev[4096] __attribute__((aligned(8)));

	for (;;) {
		struct pollfd p[3] = {
			{ ino, POLLIN, 0 },
			{ kconn_fd(r->c), POLLIN | POLLRDHUP, 0 },
			{ kconn_stop_fd(r->c), POLLIN, 0 },
		};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (p[2].revents)
			return 0;
		if (p[1].revents & (POLLHUP | POLLERR | POLLRDHUP))
			return 0;
		if ((p[1].revents & POLLIN) && kconn_client_gone(r->c))
			return 0;
		if (!(p[0].revents & POLLIN))
			continue;
		ssize_t n = read(ino, ev, sizeof(ev));
		for (char *e = ev; n > 0 && e < ev + n;) {
			struct inotify_event *ie = (struct inotify_event *)e;
			if (ie->mask & (IN_DELETE_SELF | IN_IGNORED))
				return 0;
			e += sizeof(*ie) + ie->len;
		}
		return 1;
	}
}

static void stream_log(struct kconn *c, const char *dir, int run,
		       const struct log_opts *o)
{
	struct buf path = BUF_INIT, done = BUF_INIT;
	struct reader *r = NULL;
	struct stat st;
	int ino = -1;

	buf_printf(&path, "%s/%d.log", dir, run);
	buf_printf(&done, "%s/%d.done", dir, run);
	if (!(r = calloc(1, sizeof(*r))))
		goto out;
	r->fd = -1;
	r->c = c;
	r->o = o;
	r->left = o->limit;
	if (o->follow) {
		ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (ino < 0 || inotify_add_watch(ino, dir, IN_MODIFY | IN_CREATE |
				IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
			kconn_reply(c, 500, "cannot watch the container's log");
			goto out;
		}
	}
	r->fd = open(path.data, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0 || fstat(r->fd, &st) < 0) {
		kconn_reply(c, 500, "cannot read the container's log");
		goto out;
	}
	if (o->tail >= 0 &&
	    lseek(r->fd, tail_start(r->fd, st.st_size, o->tail), SEEK_SET) < 0)
		goto out;
	if (kconn_stream_start(c) < 0)
		goto out;
	for (;;) {
		bool ended = access(done.data, F_OK) == 0;
		if (drain(r) < 0)
			goto out;
		if (r->full || !o->follow || ended || !wait_news(r, ino))
			break;
	}
	kconn_stream_end(c);
out:
	if (ino >= 0)
		close(ino);
	if (r && r->fd >= 0)
		close(r->fd);
	if (r)
		buf_release(&r->out);
	free(r);
	buf_release(&path);
	buf_release(&done);
}

void kubelet_container_logs(struct kconn *c, const char *work_dir,
			    const char *ns, const char *pod, const char *ctr,
			    const struct kquery *q)
{
	struct buf why = BUF_INIT, dir = BUF_INIT;
	struct log_opts o;
	char *pod_dir = NULL;
	int newest, before;

	if (parse_opts(q, &o, &why) < 0) {
		kconn_reply(c, 400, buf_str(&why));
		goto out;
	}
	if (!(pod_dir = find_pod_dir(work_dir, ns, pod))) {
		buf_set(&why, "pod \"%s\" does not exist", pod);
		kconn_reply(c, 404, buf_str(&why));
		goto out;
	}
	buf_printf(&dir, "%s/logs/%s", pod_dir, ctr);
	if (strchr(ctr, '/') || *ctr == '.' || find_runs(dir.data, &newest, &before) < 0 ||
	    newest < 0) {
		buf_set(&why, "container \"%s\" not found in pod \"%s\"", ctr, pod);
		kconn_reply(c, 404, buf_str(&why));
		goto out;
	}
	if (o.previous && before < 0) {
		buf_set(&why, "previous terminated container \"%s\" in pod \"%s\" "
			"not found", ctr, pod);
		kconn_reply(c, 400, buf_str(&why));
		goto out;
	}
	stream_log(c, dir.data, o.previous ? before : newest, &o);
out:
	free(pod_dir);
	buf_release(&dir);
	buf_release(&why);
}
