/* runtime.c - the command line that runs one container, per runtime:
 *   host       command + args as argv (no shell), under bwrap when the
 *              container has mounts
 *   apptainer  apptainer exec --env K=V... --bind SRC:DST[:ro]... [--pwd DIR]
 *              docker://IMAGE CMD...   (apptainer run ... without a command)
 *   shifter    shifter --image=docker:IMAGE --env=K=V... --volume=SRC:DST[:ro]...
 *              [--workdir=DIR] [--entrypoint] -- CMD...
 *   docker     docker run --rm --name vkcmd-POD-CTR -e K=V... -v SRC:DST[:ro]...
 *              [-w DIR] [--entrypoint CMD0] IMAGE ARGS...
 * With --pipe FIFO the line is wrapped in `SELF pipe-exec FIFO -- ...`, so
 * the host side runner executes it. */
#include <stdlib.h>
#include <string.h>

#include "obj.h"
#include "vkcmd.h"

static const char *const runtimes[] = { "host", "apptainer", "shifter", "docker" };

int runtime_parse(const char *s, enum runtime *out)
{
	size_t i;

	for (i = 0; i < sizeof(runtimes) / sizeof(runtimes[0]); i++) {
		if (!strcmp(s, runtimes[i])) {
			*out = (enum runtime)i;
			return 0;
		}
	}
	return -1;
}

const char *runtime_name(enum runtime rt)
{
	return runtimes[rt];
}

struct words {
	char **v;
	size_t n, cap;
};

static void add(struct words *w, const char *s)
{
	if (w->n + 2 > w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->v = realloc(w->v, w->cap * sizeof(*w->v));
		if (!w->v)
			abort();
	}
	w->v[w->n++] = xstrdup(s);
	w->v[w->n] = NULL;
}

static void addf(struct words *w, const char *fmt, const char *a,
		 const char *b, const char *c)
{
	struct buf t = BUF_INIT;

	buf_printf(&t, fmt, a, b ? b : "", c ? c : "");
	add(w, t.data);
	buf_release(&t);
}

static void add_all(struct words *w, char *const *v)
{
	for (; v && *v; v++)
		add(w, *v);
}

static size_t count(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

char **runtime_argv(const struct agent *a, const cJSON *pod, const cJSON *c,
		    char *const *cmd, char *const *pod_env,
		    const struct mount_list *mounts, char **cwd, struct buf *err)
{
	const char *image = obj_str(c, "image"), *wd = obj_str(c, "workingDir");
	size_t ncommand = 0, i;
	struct words w = { NULL, 0, 0 };
	const cJSON *it;
	char **inner = NULL, **out = NULL;

	*cwd = NULL;
	cJSON_ArrayForEach(it, obj_get(c, "command"))
		ncommand++;
	if (a->o.pipe) {
		add(&w, a->self_exe);
		add(&w, "pipe-exec");
		add(&w, a->o.pipe);
		add(&w, "--");
	}
	switch (a->rt) {
	case RT_HOST:
		if (!count(cmd)) {
			buf_set(err, "container '%s' has no command: the host runtime "
				"runs commands, not images", obj_str(c, "name"));
			goto out;
		}
		if (mounts->n) {
			inner = bwrap_wrap(mounts, wd, cmd);
			if (!inner) {
				buf_set(err, "cannot wrap container '%s' in bwrap",
					obj_str(c, "name"));
				goto out;
			}
			add_all(&w, inner);
		} else {
			add_all(&w, cmd);
			if (wd)
				*cwd = xstrdup(wd);
		}
		break;
	case RT_APPTAINER:
		add(&w, "apptainer");
		add(&w, ncommand ? "exec" : "run");
		for (i = 0; pod_env && pod_env[i]; i++) {
			add(&w, "--env");
			add(&w, pod_env[i]);
		}
		for (i = 0; i < mounts->n; i++) {
			add(&w, "--bind");
			addf(&w, "%s:%s%s", mounts->items[i].src, mounts->items[i].dst,
			     mounts->items[i].readonly ? ":ro" : "");
		}
		if (wd) {
			add(&w, "--pwd");
			add(&w, wd);
		}
		addf(&w, "docker://%s", image ? image : "", NULL, NULL);
		add_all(&w, cmd);
		break;
	case RT_SHIFTER:
		add(&w, "shifter");
		addf(&w, "--image=docker:%s", image ? image : "", NULL, NULL);
		for (i = 0; pod_env && pod_env[i]; i++)
			addf(&w, "--env=%s", pod_env[i], NULL, NULL);
		for (i = 0; i < mounts->n; i++)
			addf(&w, "--volume=%s:%s%s", mounts->items[i].src,
			     mounts->items[i].dst, mounts->items[i].readonly ? ":ro" : "");
		if (wd)
			addf(&w, "--workdir=%s", wd, NULL, NULL);
		if (!ncommand)
			add(&w, "--entrypoint");
		add(&w, "--");
		add_all(&w, cmd);
		break;
	case RT_DOCKER:
		add(&w, "docker");
		add(&w, "run");
		add(&w, "--rm");
		add(&w, "--name");
		addf(&w, "vkcmd-%s-%s", obj_name(pod), obj_str(c, "name"), NULL);
		for (i = 0; pod_env && pod_env[i]; i++) {
			add(&w, "-e");
			add(&w, pod_env[i]);
		}
		for (i = 0; i < mounts->n; i++) {
			add(&w, "-v");
			addf(&w, "%s:%s%s", mounts->items[i].src, mounts->items[i].dst,
			     mounts->items[i].readonly ? ":ro" : "");
		}
		if (wd) {
			add(&w, "-w");
			add(&w, wd);
		}
		if (ncommand) {
			add(&w, "--entrypoint");
			add(&w, cmd[0]);
		}
		add(&w, image ? image : "");
		add_all(&w, ncommand ? cmd + 1 : cmd);
		break;
	}
	out = w.v;
	w.v = NULL;
out:
	if (inner)
		argv_free(inner);
	if (w.v)
		argv_free(w.v);
	return out;
}
