/* bwrap.c - mounts for a container's process through bubblewrap.
 *
 * The process sees the host's filesystem (--dev-bind / /) with the pod's
 * mounts on top. A mount point that does not exist on the host must not be
 * made there (bwrap would mkdir it in the host's tree, which is the real
 * one when the agent runs as root), so for such a path the deepest
 * existing directory above it is covered with a tmpfs in the new mount
 * namespace, its entries are bound back (symlinks re-made), and the
 * missing directories are made inside the tmpfs with --dir. A mount point
 * under another of the pod's mounts is made by bwrap inside that mount's
 * source, as a kubelet would.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "vkcmd_io.h"

extern char **environ;

static pthread_once_t bwrap_once = PTHREAD_ONCE_INIT;
static bool bwrap_ok;

static void bwrap_probe(void)
{
	char *argv[] = { "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc",
			 "/proc", "true", NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, "bwrap", &fa, NULL, argv, environ) == 0 &&
	    waitpid(pid, &st, 0) == pid)
		bwrap_ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	posix_spawn_file_actions_destroy(&fa);
	logv(2, "bwrap is %susable here", bwrap_ok ? "" : "not ");
}

bool bwrap_available(void)
{
	pthread_once(&bwrap_once, bwrap_probe);
	return bwrap_ok;
}

struct args {
	char **v;
	size_t n, cap;
};

static void add(struct args *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 32;
		if (!(a->v = realloc(a->v, a->cap * sizeof(*a->v))))
			die("out of memory");
	}
	if (!(a->v[a->n++] = strdup(s)))
		die("out of memory");
	a->v[a->n] = NULL;
}

static void add3(struct args *a, const char *op, const char *x, const char *y)
{
	add(a, op);
	add(a, x);
	if (y)
		add(a, y);
}

/* True when path is dir or under it. */
static bool under(const char *path, const char *dir)
{
	size_t l = strlen(dir);

	if (!strcmp(dir, "/"))
		return true;
	return !strncmp(path, dir, l) && (path[l] == '/' || path[l] == '\0');
}

/* Where dst lands on the host: *base the deepest existing directory
 * (symlinks resolved), *rest the missing part ("" when dst exists). */
static void host_split(const char *dst, struct buf *base, struct buf *rest)
{
	struct buf p = BUF_INIT;
	char real[PATH_MAX];

	buf_adds(&p, dst);
	while (p.len > 1 && p.data[p.len - 1] == '/')
		buf_setlen(&p, p.len - 1);
	for (;;) {
		if (realpath(p.data, real)) {
			buf_reset(base);
			buf_adds(base, real);
			buf_reset(rest);
			if (p.len < strlen(dst)) {
				const char *r = dst + p.len;
				while (*r == '/')
					r++;
				buf_adds(rest, r);
				while (rest->len && rest->data[rest->len - 1] == '/')
					buf_setlen(rest, rest->len - 1);
			}
			break;
		}
		char *slash = strrchr(p.data, '/');
		buf_setlen(&p, slash == p.data ? 1 : (size_t)(slash - p.data));
	}
	buf_release(&p);
}

static void join(struct buf *out, const char *a, const char *b)
{
	buf_reset(out);
	buf_adds(out, a);
	if (*b) {
		if (strcmp(a, "/"))
			buf_addch(out, '/');
		buf_adds(out, b);
	}
}

/* Covers dir with a tmpfs and binds its entries back. */
static void shadow(struct args *a, const char *dir)
{
	struct buf p = BUF_INIT;
	struct dirent *de;
	DIR *d = opendir(dir);
	char target[PATH_MAX];
	struct stat st;

	add3(a, "--tmpfs", dir, NULL);
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		join(&p, dir, de->d_name);
		if (lstat(p.data, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(p.data, target, sizeof(target) - 1);
			if (n < 0)
				continue;
			target[n] = '\0';
			add3(a, "--symlink", target, p.data);
		} else {
			add3(a, "--dev-bind", p.data, p.data);
		}
	}
	if (d)
		closedir(d);
	buf_release(&p);
}

static int by_depth(const void *x, const void *y)
{
	const struct mount *a = *(const struct mount *const *)x;
	const struct mount *b = *(const struct mount *const *)y;
	size_t da = 0, db = 0;

	for (const char *s = a->dst; *s; s++)
		da += *s == '/';
	for (const char *s = b->dst; *s; s++)
		db += *s == '/';
	return da != db ? (da < db ? -1 : 1) : strcmp(a->dst, b->dst);
}

/* The missing directories of rest under base, each with --dir; the last
 * one too when all. */
static void make_dirs(struct args *a, const char *base, struct buf *rest, bool all,
		      struct buf *tmp)
{
	for (char *s = rest->data; s && *s; s++) {
		char *slash = strchr(s, '/');
		if (!slash && !all)
			break;
		if (slash)
			*slash = '\0';
		join(tmp, base, rest->data);
		add3(a, "--dir", tmp->data, NULL);
		if (!slash)
			break;
		*slash = '/';
		s = slash;
	}
}

/* Plans the tmpfs covers: dst needs one when it is not under one of the
 * first n mounts and is missing on the host. */
static void plan(struct args *a, const struct mount **ms, size_t n,
		 const char *dst, struct buf *base, struct buf *rest,
		 const char **shadows, size_t *nshadow)
{
	bool have = false;

	for (size_t j = 0; j < n; j++)
		if (under(dst, ms[j]->dst))
			return;
	host_split(dst, base, rest);
	if (!rest->len)
		return;
	for (size_t j = 0; j < *nshadow && !have; j++)
		have = !strcmp(shadows[j], base->data);
	if (!have) {
		shadows[(*nshadow)++] = base->data;
		shadow(a, base->data);
	}
}

char **bwrap_wrap(const struct mount_list *m, const char *workdir, char *const *argv)
{
	struct args a = { 0 };
	const struct mount **ms;
	const char **shadows;
	struct buf *base, *rest, p = BUF_INIT;
	size_t nshadow = 0, n = m->n, wd = m->n;	/* wd: the workdir's slot */

	if (!(ms = calloc(n + 1, sizeof(*ms))) ||
	    !(base = calloc(n + 1, sizeof(*base))) ||
	    !(rest = calloc(n + 1, sizeof(*rest))) ||
	    !(shadows = calloc(n + 1, sizeof(*shadows))))
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		ms[i] = &m->items[i];
	qsort(ms, n, sizeof(*ms), by_depth);
	add(&a, "bwrap");
	add3(&a, "--dev-bind", "/", "/");
	/* first every tmpfs cover, shallowest first, so none hides a mount */
	for (size_t i = 0; i < n; i++)
		plan(&a, ms, i, ms[i]->dst, &base[i], &rest[i], shadows, &nshadow);
	if (workdir && *workdir == '/')
		plan(&a, ms, n, workdir, &base[wd], &rest[wd], shadows, &nshadow);
	for (size_t i = 0; i < n; i++) {
		const char *dst = ms[i]->dst;
		if (base[i].len) {
			make_dirs(&a, base[i].data, &rest[i], false, &p);
			join(&p, base[i].data, buf_str(&rest[i]));
			dst = p.data;
		}
		add3(&a, ms[i]->readonly ? "--ro-bind" : "--bind", ms[i]->src, dst);
	}
	if (workdir && *workdir) {
		/* a workingDir that does not exist is made, as a kubelet does */
		if (base[wd].len)
			make_dirs(&a, base[wd].data, &rest[wd], true, &p);
		else if (*workdir == '/')
			add3(&a, "--dir", workdir, NULL);
		add3(&a, "--chdir", workdir, NULL);
	}
	add(&a, "--die-with-parent");
	add(&a, "--");
	for (size_t i = 0; argv[i]; i++)
		add(&a, argv[i]);
	for (size_t i = 0; i <= n; i++) {
		buf_release(&base[i]);
		buf_release(&rest[i]);
	}
	buf_release(&p);
	free(shadows);
	free(base);
	free(rest);
	free(ms);
	return a.v;
}

void argv_free(char **argv)
{
	if (!argv)
		return;
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}
