/* kube_config_test.h - helpers shared by the kube_config unit tests
 * (test_kube_config.c, test_kube_exec.c): files under the test's temporary
 * directory, a clean environment, loading, credentials, stderr capture.
 * Paths returned by tpath()/wfile() live in a ring of 64 (no freeing). */
#ifndef WLKIT_KUBE_CONFIG_TEST_H
#define WLKIT_KUBE_CONFIG_TEST_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "kube_config.h"
#include "log.h"
#include "unit.h"

/* A path under the test's temporary directory (ring of 64 strings). */
static inline const char *tpath(const char *rel)
{
	static char ring[64][600];
	static int next;
	char *p = ring[next++ % 64];

	snprintf(p, 600, "%s/%s", unit_tmpdir(), rel);
	return p;
}

static inline void mkdirs_for(const char *path)
{
	char tmp[600];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *s = strchr(tmp + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(tmp, 0700);
		*s = '/';
	}
}

/* Writes text to a path under the temporary directory (parents created). */
static inline const char *wfile(const char *rel, const char *text)
{
	const char *p = tpath(rel);
	FILE *f;

	mkdirs_for(p);
	f = fopen(p, "w");
	if (!f) {
		perror(p);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
	return p;
}

static inline const char *wscript(const char *rel, const char *text)
{
	const char *p = wfile(rel, text);

	chmod(p, 0755);
	return p;
}

/* No kubeconfig, no in-cluster environment, stdin not a terminal. */
static inline void env_reset(void)
{
	static char *path0;
	int fd = open("/dev/null", O_RDONLY);

	if (fd >= 0 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
	if (!path0)
		path0 = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path0, 1);
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("POD_NAMESPACE");
	mkdir(tpath("empty-home"), 0700);
	setenv("HOME", tpath("empty-home"), 1);
	setenv("WLKIT_SERVICEACCOUNT_DIR", tpath("no-such-sa"), 1);
	log_set_verbosity(0);
}

static inline struct kube_target *load(const struct kube_flags *fl, struct buf *err)
{
	struct kube_target *t = NULL;

	buf_reset(err);
	if (kube_config_load(fl, &t, err) < 0) {
		if (t)
			unit_fail(__FILE__, __LINE__, "a target despite an error");
		return NULL;
	}
	return t;
}

/* stderr into a file until capture_end(), which returns what was written. */
static inline int capture_start(const char *rel)
{
	int saved = dup(2), fd = open(tpath(rel), O_WRONLY | O_CREAT | O_TRUNC, 0600);

	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	return saved;
}

static inline void capture_end(int saved, const char *rel, struct buf *out)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	buf_reset(out);
	if (buf_read_file(out, tpath(rel)) < 0)
		unit_fail(__FILE__, __LINE__, "cannot read '%s'", rel);
}

static inline int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static inline const char *bearer(struct kube_target *t, bool force)
{
	struct kube_cred c;
	struct buf err = BUF_INIT;

	if (kube_cred_get(t, force, &c, &err) < 0) {
		unit_fail(__FILE__, __LINE__, "kube_cred_get: %s", buf_str(&err));
		buf_release(&err);
		return NULL;
	}
	buf_release(&err);
	return c.bearer;
}

#endif
