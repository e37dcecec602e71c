/* docker.c - the docker backend: `docker buildx build --push` here, with
 * the same image naming and ignore rules as the Cloud Build upload (xpk's
 * local flow, for users who have Docker).
 *
 * When the context's rules are gcloud's (.gcloudignore, or its default
 * because of .git/.gitignore) docker would not apply them, so the context
 * goes to docker as the same filtered tar.gz on its stdin ("-" context,
 * -f inside it); with .dockerignore rules or none, docker is given the
 * directory and reads .dockerignore itself. docker's stdout goes to
 * stderr: stdout is the YAML stream. The digest comes from buildx's
 * --metadata-file ("containerimage.digest").
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "obj.h"
#include "wlbuild.h"

struct argv_list {
	char **v;
	int n, cap;
};

static void arg(struct argv_list *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? 2 * a->cap : 32;
		if (!(a->v = realloc(a->v, (size_t)a->cap * sizeof(*a->v))))
			die("out of memory");
	}
	if (!(a->v[a->n++] = strdup(s)))
		die("out of memory");
	a->v[a->n] = NULL;
}

static void argv_free(struct argv_list *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

/* s quoted for a POSIX shell when it needs it, appended. */
static void shell_quote(struct buf *out, const char *s)
{
	if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789-_./:=@,+%") == strlen(s)) {
		buf_adds(out, s);
		return;
	}
	buf_addch(out, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_adds(out, "'\\''");
		else
			buf_addch(out, *s);
	}
	buf_addch(out, '\'');
}

static bool stdin_context(const struct wlb_context *c)
{
	return ignore_kind(c->ig) == IGNORE_GCLOUD;
}

static void docker_args(const struct wlb_opts *o, const struct wlb_context *c,
			const char *image, const char *metadata, struct argv_list *a)
{
	struct buf df = BUF_INIT;

	arg(a, "docker");
	arg(a, "buildx");
	arg(a, "build");
	arg(a, "--push");
	if (metadata) {
		arg(a, "--metadata-file");
		arg(a, metadata);
	}
	arg(a, "-t");
	arg(a, image);
	if (stdin_context(c)) {
		if (!c->dockerfile_default) {
			arg(a, "-f");
			arg(a, c->dockerfile);
		}
	} else if (!c->dockerfile_default) {
		buf_printf(&df, "%s/%s", c->dir, c->dockerfile);
		arg(a, "-f");
		arg(a, df.data);
	}
	for (int i = 0; i < o->build_args.n; i++) {
		arg(a, "--build-arg");
		arg(a, o->build_args.items[i]);
	}
	arg(a, stdin_context(c) ? "-" : c->dir);
	buf_release(&df);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs docker; feeds the context archive on its stdin when asked. The
 * child's exit status into *status (-1: killed by a signal). */
static int spawn(struct argv_list *a, struct wlb_context *c, bool feed, int *status,
		 struct buf *err)
{
	int pfd[2] = { -1, -1 }, wst, rc = -1;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	pid_t pid;

	if (feed && pipe2(pfd, O_CLOEXEC) < 0) {
		buf_set(err, "cannot make a pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		buf_set(err, "cannot start 'docker': %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		int in = feed ? pfd[0] : open("/dev/null", O_RDONLY);

		if (in < 0 || dup2(in, 0) < 0 || dup2(2, 1) < 0)
			_exit(127);
		execvp(a->v[0], a->v);
		fprintf(stderr, "error: cannot run '%s': %s\n", a->v[0], strerror(errno));
		_exit(127);
	}
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old);
	if (feed) {
		close(pfd[0]);
		pfd[0] = -1;
		if (archive_tgz(c->dir, c->ig, archive_sink_fd, &pfd[1], &c->st, err) < 0)
			warn("the context did not reach docker: %s", err->data);
		close(pfd[1]);
		pfd[1] = -1;
	}
	while (waitpid(pid, &wst, 0) < 0) {
		if (errno != EINTR) {
			buf_set(err, "cannot wait for 'docker': %s", strerror(errno));
			sigaction(SIGPIPE, &old, NULL);
			goto out;
		}
	}
	sigaction(SIGPIPE, &old, NULL);
	*status = WIFEXITED(wst) ? WEXITSTATUS(wst) : -1;
	rc = 0;
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	return rc;
}

/* The digest buildx wrote into the metadata file, appended; -1 if none. */
static int metadata_digest(const char *path, struct buf *out)
{
	struct buf text = BUF_INIT;
	cJSON *md = NULL;
	const cJSON *d;
	int rc = -1;

	if (buf_read_file(&text, path) < 0)
		goto out;
	md = cJSON_ParseWithLength(text.data ? text.data : "", text.len);
	d = cJSON_GetObjectItemCaseSensitive(md, "containerimage.digest");
	if (cJSON_IsString(d) && !strncmp(d->valuestring, "sha256:", 7)) {
		buf_adds(out, d->valuestring);
		rc = 0;
	}
out:
	cJSON_Delete(md);
	buf_release(&text);
	return rc;
}

int wlb_docker_run(const struct wlb_opts *o, struct wlb_context *c, const char *image,
		   const char *project, bool dry_run, struct stream_out *out)
{
	struct argv_list a = { 0 };
	struct buf line = BUF_INIT, md = BUF_INIT, err = BUF_INIT, digest = BUF_INIT;
	cJSON *ib = NULL;
	int status = 0, rc = 1, fd = -1;
	int64_t t0;

	if (dry_run) {
		docker_args(o, c, image, NULL, &a);
		for (int i = 0; i < a.n; i++) {
			if (i)
				buf_addch(&line, ' ');
			shell_quote(&line, a.v[i]);
		}
		if (stdin_context(c))
			info("the context goes to docker on stdin, packed with the %s rules",
			     ignore_source(c->ig));
		printf("%s\n", line.data);
		rc = 0;
		goto out;
	}
	buf_printf(&md, "%s/wlbuild-metadata-XXXXXX",
		   getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if ((fd = mkstemp(md.data)) < 0) {
		error("cannot create a temporary file '%s': %s", md.data, strerror(errno));
		goto out;
	}
	close(fd);
	docker_args(o, c, image, md.data, &a);
	info("running docker buildx build --push -t %s (context: %s)", image,
	     stdin_context(c) ? "the filtered archive on stdin" : c->dir);
	t0 = now_ms();
	if (spawn(&a, c, stdin_context(c), &status, &err) < 0) {
		error("%s", err.data);
		goto out;
	}
	if (wlb_interrupted()) {
		error("interrupted");
		rc = EXIT_INTERRUPTED;
		goto out;
	}
	if (status) {
		if (status == 127)
			error("cannot run 'docker': is it installed and on PATH?");
		else if (status < 0)
			error("docker buildx build was killed by a signal");
		else
			error("docker buildx build failed with exit status %d", status);
		goto out;
	}
	if (metadata_digest(md.data, &digest) < 0) {
		error("docker did not report the pushed image's digest in '%s'", md.data);
		goto out;
	}
	ib = wlb_image_build(image, c->dir, c->dockerfile, project, NULL, "docker");
	buf_reset(&line);
	wlb_ref_repository(image, &line);
	buf_printf(&line, "@%s", digest.data);
	obj_set_str(ib, "status.image", line.data);
	buf_reset(&line);
	wlb_format_duration(now_ms() - t0, &line);
	obj_set_str(ib, "status.duration", line.data);
	info("built %s", obj_str(ib, "status.image"));
	rc = stream_out_write(out, ib, NULL) < 0 ? 1 : 0;
out:
	if (fd >= 0)
		unlink(md.data);
	cJSON_Delete(ib);
	argv_free(&a);
	buf_release(&digest);
	buf_release(&err);
	buf_release(&md);
	buf_release(&line);
	return rc;
}
