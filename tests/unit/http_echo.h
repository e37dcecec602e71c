/* http_echo.h - helpers shared by the tests of common/http that make real
 * requests (test_http_io.c, test_http_tls.c): tests/fakes/http/echo.py
 * started and scripted, the requests it saw, stderr capture, a clock.
 * cJSON trees returned are the caller's to cJSON_Delete(). */
#ifndef WLKIT_HTTP_ECHO_H
#define WLKIT_HTTP_ECHO_H

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "http.h"
#include "log.h"
#include "unit.h"


struct server {
	pid_t pid;
	int in;		/* its stdin: closing it ends the server */
	int out;	/* its stdout: the port, then "ok" after each script */
	int port;
	char log[512];
	char url[128];
};

/* A line of the server's stdout, "" after 10 s of silence. */
static inline void read_line(struct server *s, char *line, size_t cap)
{
	struct pollfd pfd = { .fd = s->out, .events = POLLIN };
	size_t len = 0;

	while (len + 1 < cap && poll(&pfd, 1, 10000) > 0) {
		if (read(s->out, line + len, 1) <= 0 || line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
}

/* Starts echo.py with a response script and extra arguments. */
static inline bool server_start(struct server *s, const char *script,
				const char *const *extra)
{
	static int n;
	char script_path[512], line[32];
	const char *argv[16];
	int in[2], out[2], i = 0;

	snprintf(s->log, sizeof(s->log), "%s/server-%d.log", unit_tmpdir(), n++);
	snprintf(script_path, sizeof(script_path), "%s/tests/fakes/http/echo.py",
		 unit_srcdir());
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return false;
	argv[i++] = "python3";
	argv[i++] = script_path;
	argv[i++] = "--log";
	argv[i++] = s->log;
	argv[i++] = "--script";
	argv[i++] = script;
	while (extra && *extra && i < 15)
		argv[i++] = *extra++;
	argv[i] = NULL;
	fflush(stdout);
	fflush(stderr);
	s->pid = fork();
	if (s->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	s->in = in[1];
	s->out = out[0];
	read_line(s, line, sizeof(line));
	s->port = atoi(line);
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
	if (s->port <= 0)
		unit_fail(__FILE__, __LINE__, "echo.py did not start");
	return s->port > 0;
}

static inline void server_stop(struct server *s)
{
	close(s->in);
	close(s->out);
	kill(s->pid, SIGTERM);
	waitpid(s->pid, NULL, 0);
}

/* The plain HTTP server all the tests share (python starts slowly), with
 * a new script and an empty log. It ends when this program does. */
static inline struct server *plain(const char *script)
{
	static struct server s;
	struct buf cmd = BUF_INIT;
	char line[16];

	if (!s.port && !server_start(&s, "[{}]", NULL))
		return NULL;
	buf_printf(&cmd, "{\"script\": %s}\n", script);
	if (write(s.in, cmd.data, cmd.len) != (ssize_t)cmd.len)
		unit_fail(__FILE__, __LINE__, "cannot write to echo.py");
	buf_release(&cmd);
	read_line(&s, line, sizeof(line));
	if (strcmp(line, "ok")) {
		unit_fail(__FILE__, __LINE__, "echo.py did not take the script");
		return NULL;
	}
	return &s;
}

/* The requests the server saw, as a JSON array (cJSON_Delete it). */
static inline cJSON *server_log(const struct server *s)
{
	struct buf b = BUF_INIT;
	cJSON *all = cJSON_CreateArray();
	char *line, *save = NULL;

	if (buf_read_file(&b, s->log) == 0)
		for (line = strtok_r(b.data, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			cJSON_AddItemToArray(all, cJSON_Parse(line));
	buf_release(&b);
	return all;
}

static inline int server_requests(const struct server *s)
{
	cJSON *log = server_log(s);
	int n = cJSON_GetArraySize(log);

	cJSON_Delete(log);
	return n;
}

static inline const char *field(const cJSON *log, int i, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(log, i),
							  name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static inline const char *header(const cJSON *log, int i, const char *name)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(log, i),
							  "headers");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(h, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static inline int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Everything written on stderr between capture_start and capture_end. */
struct capture {
	int saved;
	char path[512];
};

static inline void capture_start(struct capture *c)
{
	static int n;
	int fd;

	snprintf(c->path, sizeof(c->path), "%s/stderr-%d", unit_tmpdir(), n++);
	fflush(stderr);
	fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	c->saved = dup(2);
	dup2(fd, 2);
	close(fd);
}

static inline void capture_end(struct capture *c, struct buf *out)
{
	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	buf_read_file(out, c->path);
}

static inline int count(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* One request against s: method, path; fills resp and err. */
static inline int req_on(struct server *s, struct http_request *req,
			 const char *path, struct http_response *resp,
			 struct buf *err)
{
	struct http *h = http_new();
	char url[256];
	int rc;

	snprintf(url, sizeof(url), "%s%s", s->url, path);
	req->url = url;
	rc = http_do(h, req, resp, err);
	req->url = NULL;
	http_free(h);
	return rc;
}

#endif
