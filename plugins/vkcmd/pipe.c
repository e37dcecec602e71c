/* pipe.c - running commands on the host for an agent that lives in a
 * container (--pipe FIFO).
 *
 * Protocol. The FIFO carries only short lines, one per command: the path of
 * a Unix socket, absolute, in the FIFO's directory ("<dir>/.vkcmd-<pid>-<n>.sock",
 * under PIPE_BUF so concurrent writers never interleave). The requester
 * (pipe-exec) listens on that socket; the runner connects (checking that
 * the peer is its own user), and reads one request line, a JSON object
 *   {"argv": ["cmd", "arg"...], "env": ["K=V"...], "cwd": "/dir"}
 * runs it in a new process group and answers with frames: one type byte,
 * a 4-byte big-endian length, the payload: '1' stdout bytes, '2' stderr
 * bytes, 'x' the exit code in decimal (the last frame; 128+N for a signal,
 * 127 when the command cannot be run). The requester may send single bytes
 * at any time: 'T' SIGTERM the group, 'K' SIGKILL it; the socket closing
 * before the end SIGKILLs the group, so a killed agent leaves nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "log.h"
#include "obj.h"
#include "vkcmd.h"

#define REQUEST_MAX (16 << 20)
#define ACCEPT_TIMEOUT_MS 30000

extern char **environ;

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *data, size_t len)
{
	char *p = data;
	ssize_t n;

	while (len) {
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_frame(int fd, char type, const void *data, size_t len)
{
	unsigned char h[5] = { (unsigned char)type, (unsigned char)(len >> 24),
			       (unsigned char)(len >> 16), (unsigned char)(len >> 8),
			       (unsigned char)len };

	if (write_all(fd, h, sizeof(h)) < 0)
		return -1;
	return len ? write_all(fd, data, len) : 0;
}

/* ---- the requester: pipe-exec ---- */

static int make_socket(const char *fifo, struct buf *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *slash = strrchr(fifo, '/');
	char cwd[PATH_MAX];
	int fd;

	if (fifo[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd)))
			return -1;
		buf_printf(path, "%s/", cwd);
	}
	if (slash)
		buf_add(path, fifo, (size_t)(slash - fifo));
	else if (fifo[0] != '/')
		buf_setlen(path, path->len - 1);
	buf_printf(path, "/.vkcmd-%d-%ld.sock", (int)getpid(), (long)mono_ms() % 100000);
	if (path->len >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path->data, path->len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path->data);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path->data, 0600) < 0 || listen(fd, 1) < 0) {
		int e = errno;

		close(fd);
		unlink(path->data);
		errno = e;
		return -1;
	}
	return fd;
}

static char *request_json(char *const *argv)
{
	cJSON *r = cJSON_CreateObject(), *l;
	char cwd[PATH_MAX], *s;
	char **e;

	l = cJSON_AddArrayToObject(r, "argv");
	for (; *argv; argv++)
		cJSON_AddItemToArray(l, cJSON_CreateString(*argv));
	l = cJSON_AddArrayToObject(r, "env");
	for (e = environ; *e; e++)
		cJSON_AddItemToArray(l, cJSON_CreateString(*e));
	if (getcwd(cwd, sizeof(cwd)))
		cJSON_AddStringToObject(r, "cwd", cwd);
	s = cJSON_PrintUnformatted(r);
	cJSON_Delete(r);
	return s;
}

/* Copies frames to stdout/stderr; returns the exit code. */
static int relay(int conn, int sfd)
{
	struct pollfd p[2] = { { conn, POLLIN, 0 }, { sfd, POLLIN, 0 } };
	unsigned char h[5];
	struct buf data = BUF_INIT;
	int terms = 0, rc = 255;
	size_t len;

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				char c = terms++ ? 'K' : 'T';

				if (write_all(conn, &c, 1) < 0)
					break;
			}
		}
		if (!p[0].revents)
			continue;
		if (read_all(conn, h, sizeof(h)) < 0) {
			error("the pipe-runner ended without an exit code");
			break;
		}
		len = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
		buf_reset(&data);
		buf_grow(&data, len + 1);
		if (read_all(conn, data.data, len) < 0) {
			error("the pipe-runner ended without an exit code");
			break;
		}
		data.len = len;
		data.data[len] = '\0';
		if (h[0] == '1' || h[0] == '2') {
			if (write_all(h[0] == '1' ? 1 : 2, data.data, len) < 0 && h[0] == '1')
				error("cannot write the output: %s", strerror(errno));
		} else if (h[0] == 'x') {
			rc = atoi(data.data);
			break;
		}
	}
	buf_release(&data);
	return rc;
}

int pipe_exec_main(const char *fifo, char *const *argv)
{
	struct buf path = BUF_INIT, line = BUF_INIT;
	int lfd = -1, ffd = -1, conn = -1, sfd = -1, rc = 1;
	struct pollfd p;
	char *req = NULL;
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		error("signalfd: %s", strerror(errno));
		goto out;
	}
	if ((lfd = make_socket(fifo, &path)) < 0) {
		error("cannot listen on '%s': %s", buf_str(&path), strerror(errno));
		goto out;
	}
	if ((ffd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		if (errno == ENXIO)
			error("no pipe-runner is reading '%s'", fifo);
		else
			error("cannot open '%s': %s", fifo, strerror(errno));
		goto out;
	}
	buf_printf(&line, "%s\n", path.data);
	if (write_all(ffd, line.data, line.len) < 0) {
		error("cannot write to '%s': %s", fifo, strerror(errno));
		goto out;
	}
	p = (struct pollfd){ lfd, POLLIN, 0 };
	if (poll(&p, 1, ACCEPT_TIMEOUT_MS) <= 0 ||
	    (conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		error("the pipe-runner reading '%s' did not answer", fifo);
		goto out;
	}
	req = request_json(argv);
	if (write_all(conn, req, strlen(req)) < 0 || write_all(conn, "\n", 1) < 0) {
		error("cannot send the command: %s", strerror(errno));
		goto out;
	}
	rc = relay(conn, sfd);
out:
	if (path.len)
		unlink(path.data);
	if (conn >= 0)
		close(conn);
	if (lfd >= 0)
		close(lfd);
	if (ffd >= 0)
		close(ffd);
	if (sfd >= 0)
		close(sfd);
	free(req);
	buf_release(&path);
	buf_release(&line);
	return rc;
}

/* ---- the runner ---- */

static char **strings(const cJSON *l)
{
	size_t n = 0, i = 0;
	const cJSON *it;
	char **v;

	cJSON_ArrayForEach(it, l)
		n++;
	v = xcalloc(n + 1, sizeof(*v));
	cJSON_ArrayForEach(it, l)
		if (cJSON_IsString(it))
			v[i++] = xstrdup(it->valuestring);
	return v;
}

static void pump(int conn, int *fd, char type)
{
	char data[65536];
	ssize_t n;

	while (*fd >= 0) {
		n = read(*fd, data, sizeof(data));
		if (n > 0) {
			send_frame(conn, type, data, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		close(*fd);
		*fd = -1;
	}
}

/* One request, in a child of the runner. */
static int handle(const char *sock_path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct buf req = BUF_INIT, err = BUF_INIT, code = BUF_INIT;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct proc pr = { -1, -1, -1 };
	cJSON *r = NULL;
	char **argv = NULL, **env = NULL, c;
	int conn = -1, st = 0, exit_code = 127;
	bool exited = false;

	signal(SIGCHLD, SIG_DFL);
	if (strlen(sock_path) >= sizeof(sa.sun_path) || sock_path[0] != '/')
		goto out;
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	if ((conn = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(conn, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		warn("cannot connect to '%s': %s", sock_path, strerror(errno));
		goto out;
	}
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    cred.uid != geteuid()) {
		warn("refusing '%s': not this user's", sock_path);
		goto out;
	}
	while (req.len < REQUEST_MAX && read(conn, &c, 1) == 1 && c != '\n')
		buf_addch(&req, c);
	if (!(r = cJSON_Parse(buf_str(&req))) || !cJSON_IsArray(obj_get(r, "argv"))) {
		warn("a malformed request came through '%s'", sock_path);
		goto out;
	}
	argv = strings(obj_get(r, "argv"));
	env = strings(obj_get(r, "env"));
	if (proc_spawn(argv, env, obj_str(r, "cwd"), &pr, &err) < 0) {
		buf_addch(&err, '\n');
		send_frame(conn, '2', err.data, err.len);
		goto reply;
	}
	while (!exited || pr.out_fd >= 0 || pr.err_fd >= 0) {
		struct pollfd p[3] = { { pr.out_fd, POLLIN, 0 }, { pr.err_fd, POLLIN, 0 },
				       { conn, POLLIN, 0 } };

		if (poll(p, 3, exited ? 100 : 200) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			pump(conn, &pr.out_fd, '1');
		if (p[1].revents)
			pump(conn, &pr.err_fd, '2');
		if (p[2].revents) {
			ssize_t n = read(conn, &c, 1);

			if (n == 1 && c == 'T')
				kill(-pr.pid, SIGTERM);
			else if (n == 1 && c == 'K')
				kill(-pr.pid, SIGKILL);
			else if (n <= 0) {
				kill(-pr.pid, SIGKILL);
				conn = (close(conn), -1);
				goto wait;
			}
		}
		if (!exited && waitpid(pr.pid, &st, WNOHANG) == pr.pid) {
			exited = true;
			exit_code = proc_exit_code(st);
			/* what is already in the pipes, then no more waiting for
			 * descendants that keep them open */
			pump(conn, &pr.out_fd, '1');
			pump(conn, &pr.err_fd, '2');
			break;
		}
	}
wait:
	if (!exited && pr.pid > 0 && waitpid(pr.pid, &st, 0) == pr.pid)
		exit_code = proc_exit_code(st);
reply:
	if (conn >= 0) {
		buf_printf(&code, "%d", exit_code);
		send_frame(conn, 'x', code.data, code.len);
	}
out:
	if (pr.out_fd >= 0)
		close(pr.out_fd);
	if (pr.err_fd >= 0)
		close(pr.err_fd);
	if (conn >= 0)
		close(conn);
	if (argv)
		argv_free(argv);
	if (env)
		argv_free(env);
	cJSON_Delete(r);
	buf_release(&req);
	buf_release(&err);
	buf_release(&code);
	return 0;
}

int pipe_runner_main(const char *fifo)
{
	struct buf in = BUF_INIT;
	struct stat st;
	char data[4096];
	ssize_t n;
	int fd;

	if (mkfifo(fifo, 0600) < 0 && errno != EEXIST)
		{
		error("cannot create '%s': %s", fifo, strerror(errno));
		return 1;
	}
	if (stat(fifo, &st) < 0 || !S_ISFIFO(st.st_mode))
		{
		error("'%s' is not a FIFO", fifo);
		return 1;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 0022))
		{
		error("'%s' must belong to this user and not be writable by "
			     "others", fifo);
		return 1;
	}
	/* read-write: writers coming and going never make it reach EOF */
	if ((fd = open(fifo, O_RDWR | O_CLOEXEC)) < 0)
		{
		error("cannot open '%s': %s", fifo, strerror(errno));
		return 1;
	}
	signal(SIGCHLD, SIG_IGN);	/* the handlers reap themselves */
	signal(SIGPIPE, SIG_IGN);
	info("running commands sent through '%s'", fifo);
	for (;;) {
		char *nl;

		n = read(fd, data, sizeof(data));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_add(&in, data, (size_t)n);
		while ((nl = memchr(in.data, '\n', in.len))) {
			*nl = '\0';
			if (in.data[0] == '/') {
				pid_t pid = fork();

				if (pid == 0) {
					close(fd);
					_exit(handle(in.data));
				}
				if (pid < 0)
					warn("cannot fork: %s", strerror(errno));
			}
			buf_consume(&in, (size_t)(nl - in.data) + 1);
		}
		if (in.len > PATH_MAX)
			buf_reset(&in);
	}
	close(fd);
	buf_release(&in);
	return 1;
}
