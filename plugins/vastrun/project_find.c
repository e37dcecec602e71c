/* project_find.c - which project file: --project-file, else the single
 * *.vast of the working directory or of its nearest parent that has one.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vastrun.h"

/* The *.vast files of dir, sorted, into names (joined by ", "); returns how
 * many, and the first in *first. */
static int vast_files(const char *dir, struct buf *names, struct buf *first)
{
	struct dirent **list = NULL;
	int n, found = 0;

	n = scandir(dir, &list, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		const char *nm = list[i]->d_name;
		size_t l = strlen(nm);

		if (l > 5 && !strcmp(nm + l - 5, ".vast")) {
			if (!found++)
				buf_printf(first, "%s/%s", dir, nm);
			buf_printf(names, "%s%s", names->len ? ", " : "", nm);
		}
		free(list[i]);
	}
	free(list);
	return found;
}

int project_find(const char *flag, struct buf *path, struct buf *err)
{
	struct buf dir = BUF_INIT, names = BUF_INIT;
	char *cwd = NULL;
	int rc = -1, n;

	if (flag) {
		buf_adds(path, flag);
		return 0;
	}
	if (!(cwd = getcwd(NULL, 0))) {
		buf_set(err, "cannot find the working directory: %s", strerror(errno));
		goto out;
	}
	buf_adds(&dir, cwd);
	for (;;) {
		buf_reset(&names);
		n = vast_files(dir.len ? buf_str(&dir) : "/", &names, path);
		if (n == 1) {
			rc = 0;
			goto out;
		}
		if (n > 1) {
			buf_reset(path);
			buf_set(err, "several project files in '%s' (%s): give --project-file",
				dir.len ? buf_str(&dir) : "/", buf_str(&names));
			goto out;
		}
		if (!dir.len)
			break;
		while (dir.len && dir.data[dir.len - 1] != '/')
			dir.len--;
		if (dir.len)
			dir.len--;
		dir.data[dir.len] = '\0';
	}
	buf_set(err, "no .vast project file in '%s' or its parents: give --project-file", cwd);
out:
	free(cwd);
	buf_release(&dir);
	buf_release(&names);
	return rc;
}

int project_open(struct cli_ctx *ctx, const char *flag, struct kube **k,
		 struct vast_project *p)
{
	struct kube_err ke = KUBE_ERR_INIT;
	struct buf path = BUF_INIT, err = BUF_INIT;
	int rc = 1;

	if (project_find(flag, &path, &err) < 0) {
		error("%s", buf_str(&err));
		goto out;
	}
	if (kube_open(&ctx->g.kube, "kubectl-vastrun", k, &ke) < 0) {
		kube_err_print(&ke);
		goto out;
	}
	if (project_load(buf_str(&path), kube_target(*k)->context, ctx->g.kube.context != NULL,
			 p, &err) < 0) {
		error("%s", buf_str(&err));
		rc = EXIT_USAGE;
		goto out;
	}
	rc = 0;
out:
	kube_err_release(&ke);
	buf_release(&path);
	buf_release(&err);
	return rc;
}
