/* build.c - `build-image --run-id N`: a packer template (googlecompute
 * builder, JSON: the form every packer since 0.x validates, Debian's 1.6
 * included) for the image <image_prefix>-<N>, then `packer build`, then
 * last_run_id = N in the environment file. Not idempotent: each run id
 * builds a new image, so N must be above last_run_id.
 *
 * image_guest_os_features is a googlecompute key since packer 1.7: for an
 * older packer (1.6 validates it as an unknown key) the template leaves it
 * out and says so; the image then gets the features of its build disk,
 * which come from the same source image.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "nodeimage.h"
#include "obj.h"

extern char **environ;

#define DEFAULT_MACHINE_TYPE "e2-standard-4"
#define SCRIPT_ESSENTIALS "gke-essentials.sh"
#define SCRIPT_CACHE "container-cache.sh"

static const char *run_id_arg, *template_arg;

const struct cli_opt build_opts[] = {
	NI_COMMON_OPTS,
	{ "run-id", 0, CLI_STR, &run_id_arg, "N",
	  "the run id: an unsigned integer above last_run_id", NULL, NULL },
	{ "template", 0, CLI_STR, &template_arg, "FILE",
	  "where the packer template goes (default ./nodeimage-ENV-N.json)", NULL, "file" },
	{ "dry-run", 0, CLI_BOOL, &ni.dry_run, NULL,
	  "write the template only, build nothing", NULL, NULL },
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

/* A GCE name: [a-z]([-a-z0-9]*[a-z0-9])?, at most 63 characters. */
static bool gce_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n && n <= 63 && s[0] >= 'a' && s[0] <= 'z' && s[n - 1] != '-' &&
	       strspn(s, "-abcdefghijklmnopqrstuvwxyz0123456789") == n;
}

/* A label value: lower-case letters, digits, '-', '_', at most 63. */
static void label_value(const char *s, struct buf *out)
{
	for (; *s && out->len < 63; s++) {
		char c = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;

		buf_addch(out, strchr("-_abcdefghijklmnopqrstuvwxyz0123456789", c) && c ? c : '-');
	}
}

/* Runs argv with stdout to stdout_fd (-1: to our stderr); waits. The exit
 * status, or -1 with *err when it cannot be started or was killed. */
static int spawn_wait(char *const argv[], int stdout_fd, struct buf *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t def;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_term;
	pid_t pid;
	int status, e, rc = -1;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	sigemptyset(&def);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
	posix_spawn_file_actions_adddup2(&fa, stdout_fd >= 0 ? stdout_fd : STDERR_FILENO,
					 STDOUT_FILENO);
	/* packer cleans up its VM on Ctrl-C: let it, and wait for it */
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGTERM, &ign, &old_term);
	fflush(stdout);
	e = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
	if (e) {
		buf_set(err, "cannot run '%s': %s%s", argv[0], strerror(e),
			e == ENOENT ? " (install the Debian package packer)" : "");
		goto out;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			buf_set(err, "cannot wait for '%s': %s", argv[0], strerror(errno));
			goto out;
		}
	if (WIFSIGNALED(status)) {
		buf_set(err, "'%s' was killed by signal %d", argv[0], WTERMSIG(status));
		goto out;
	}
	rc = WEXITSTATUS(status);
out:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

/* True when the packer on PATH takes image_guest_os_features (1.7 and
 * later); also when there is no packer to ask (the template is then for
 * a current one). */
static bool packer_has_guest_os_features(void)
{
	char *argv[] = { "packer", "version", NULL };
	char tmpl[] = "/tmp/nodeimage-packer-XXXXXX";
	struct buf out = BUF_INIT, err = BUF_INIT;
	int fd = mkstemp(tmpl), major = 0, minor = 0;
	bool yes = true;
	const char *v;

	if (fd < 0)
		goto out;
	unlink(tmpl);
	if (spawn_wait(argv, fd, &err) != 0 || lseek(fd, 0, SEEK_SET) < 0)
		goto out;
	{
		char chunk[256];
		ssize_t n;

		while ((n = read(fd, chunk, sizeof(chunk))) > 0 && out.len < 4096)
			buf_add(&out, chunk, (size_t)n);
	}
	if ((v = strstr(buf_str(&out), "Packer v")) &&
	    sscanf(v, "Packer v%d.%d", &major, &minor) == 2)
		yes = major > 1 || (major == 1 && minor >= 7);
	if (!yes)
		info("packer %d.%d does not take image_guest_os_features: the image gets "
		     "them from its build disk", major, minor);
out:
	if (fd >= 0)
		close(fd);
	buf_release(&out);
	buf_release(&err);
	return yes;
}

/* The source image resource: source_image, or the newest of the family. */
static int read_source(struct gcp *g, const struct ni_env *e, cJSON **img, struct buf *err)
{
	struct buf path = BUF_INIT;
	int rc;

	if (e->source_image)
		buf_adds(&path, ni_link_path(e->source_image));
	else
		buf_printf(&path, "projects/%s/global/images/family/%s", e->source_project,
			   e->source_family);
	rc = gcp_request(g, "GET", "compute", path.data, NULL, img, err);
	buf_release(&path);
	return rc;
}

/* "projects/P/global/images/I" -> P into out. */
static void image_project(const char *path, struct buf *out)
{
	const char *p = ni_link_path(path) + strlen("projects/"), *slash = strchr(p, '/');

	buf_add(out, p, slash ? (size_t)(slash - p) : strlen(p));
}

static const char *build_zone(const struct ni_env *e, struct buf *tmp)
{
	const char *z = obj_str(e->raw, "build_zone"), *l = e->location;
	int dashes = 0;

	if (z)
		return z;
	for (const char *p = l; *p; p++)
		dashes += *p == '-';
	if (dashes >= 2)
		return l;	/* a zonal cluster */
	buf_printf(tmp, "%s-a", l);
	return tmp->data;
}

static cJSON *packer_template(const struct ni_env *e, long run, const char *image_name,
			      const cJSON *src, bool guest_features, char *const scripts[2])
{
	cJSON *t = cJSON_CreateObject(), *b = cJSON_CreateObject(), *labels, *arr, *p;
	struct buf tmp = BUF_INIT, lv = BUF_INIT, proj = BUF_INIT, desc = BUF_INIT;
	const cJSON *f;
	const char *mt = obj_str(e->raw, "build_machine_type");
	long disk = strtol(obj_str(src, "diskSizeGb") ? obj_str(src, "diskSizeGb") : "0", NULL, 10);

	cJSON_AddItemToArray(cJSON_AddArrayToObject(t, "builders"), b);
	cJSON_AddStringToObject(b, "type", "googlecompute");
	cJSON_AddStringToObject(b, "project_id", e->project);
	cJSON_AddStringToObject(b, "zone", build_zone(e, &tmp));
	if (e->source_image) {
		image_project(e->source_image, &proj);
		cJSON_AddStringToObject(b, "source_image", obj_str(src, "name"));
	} else {
		buf_adds(&proj, e->source_project);
		cJSON_AddStringToObject(b, "source_image_family", e->source_family);
	}
	arr = cJSON_AddArrayToObject(b, "source_image_project_id");
	cJSON_AddItemToArray(arr, cJSON_CreateString(proj.data));
	cJSON_AddStringToObject(b, "image_name", image_name);
	if (e->image_family)
		cJSON_AddStringToObject(b, "image_family", e->image_family);
	buf_printf(&desc, "gcloud-nodeimage run %ld of environment %s, from %s", run, e->name,
		   ni_link_path(obj_str(src, "selfLink") ? obj_str(src, "selfLink") : ""));
	cJSON_AddStringToObject(b, "image_description", desc.data);
	labels = cJSON_AddObjectToObject(b, "image_labels");
	buf_printf(&lv, "%ld", run);
	cJSON_AddStringToObject(labels, NI_LABEL_RUN, lv.data);
	buf_reset(&lv);
	label_value(obj_str(src, "name") ? obj_str(src, "name") : "", &lv);
	cJSON_AddStringToObject(labels, NI_LABEL_SOURCE, lv.data);
	if (guest_features) {
		arr = cJSON_AddArrayToObject(b, "image_guest_os_features");
		cJSON_ArrayForEach(f, cJSON_GetObjectItem(src, "guestOsFeatures"))
			if (obj_str(f, "type"))
				cJSON_AddItemToArray(arr, cJSON_CreateString(obj_str(f, "type")));
	}
	if (disk > 0)
		cJSON_AddNumberToObject(b, "disk_size", (double)disk);
	cJSON_AddStringToObject(b, "machine_type", mt ? mt : DEFAULT_MACHINE_TYPE);
	cJSON_AddStringToObject(b, "ssh_username", "packer");
	p = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(t, "provisioners"), p);
	cJSON_AddStringToObject(p, "type", "shell");
	cJSON_AddStringToObject(p, "execute_command",
				"chmod +x {{ .Path }}; sudo env {{ .Vars }} {{ .Path }}");
	arr = cJSON_AddArrayToObject(p, "scripts");
	cJSON_AddItemToArray(arr, cJSON_CreateString(scripts[0]));
	cJSON_AddItemToArray(arr, cJSON_CreateString(scripts[1]));
	buf_release(&desc);
	buf_release(&proj);
	buf_release(&lv);
	buf_release(&tmp);
	return t;
}

/* The two scripts of the vars directory, as absolute paths. */
static int find_scripts(const struct ni_env *e, char *out[2], struct buf *err)
{
	const char *names[2] = { SCRIPT_ESSENTIALS, SCRIPT_CACHE };
	struct buf p = BUF_INIT;
	struct stat st;
	int rc = -1;

	for (int i = 0; i < 2; i++) {
		buf_reset(&p);
		buf_printf(&p, "%s/%s", e->dir, names[i]);
		if (stat(p.data, &st) < 0) {
			buf_set(err, "cannot use the provisioning script '%s': %s", p.data,
				strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			buf_set(err, "cannot use the provisioning script '%s': not a file",
				p.data);
			goto out;
		}
		if (!(out[i] = realpath(p.data, NULL))) {
			buf_set(err, "cannot resolve '%s': %s", p.data, strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	buf_release(&p);
	return rc;
}

static int write_template(const char *path, const cJSON *t, struct buf *err)
{
	char *text = cJSON_Print(t);
	FILE *f = NULL;
	int rc = -1;

	if (!text)
		die("out of memory");
	if (!(f = fopen(path, "w")) || fputs(text, f) < 0 || fputc('\n', f) < 0) {
		buf_set(err, "cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		buf_set(err, "cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
	f = NULL;
	rc = 0;
out:
	if (f)
		fclose(f);
	free(text);
	return rc;
}

/* Sets last_run_id from a fresh read of the file (edits since kept). */
static int record_run(const struct ni_env *e, long run, struct buf *err)
{
	struct ni_env now;
	int rc = -1;

	if (ni_env_load(ni.vars_dir, e->name, &now, err) < 0)
		goto out;
	if (now.last_run_id >= run) {
		buf_set(err, "%s: last_run_id: became %ld while building run %ld",
			now.path, now.last_run_id, run);
		goto out;
	}
	rc = ni_env_set_last_run_id(&now, run, err);
out:
	ni_env_free(&now);
	return rc;
}

static int check_args(struct cli_ctx *ctx, const struct ni_env *e, long run,
		      const char *tpl_path, struct buf *image_name)
{
	size_t n = strlen(tpl_path);

	if (run <= e->last_run_id) {
		error("run id %ld is not above last_run_id %ld of '%s': each build needs "
		      "a new run id", run, e->last_run_id, e->path);
		return 1;
	}
	if ((n >= 9 && !strcmp(tpl_path + n - 9, ".pkr.json")) ||
	    (n >= 8 && !strcmp(tpl_path + n - 8, ".pkr.hcl")))
		return cli_usage_error(ctx, "--template '%s': the template is a JSON "
				       "template: name it FILE.json, not *.pkr.*", tpl_path);
	buf_printf(image_name, "%s-%ld", e->image_prefix, run);
	if (!gce_name_ok(image_name->data)) {
		error("%s: image_prefix: '%s' is not a valid image name: want "
		      "[a-z]([-a-z0-9]*[a-z0-9])?, at most 63 characters", e->path,
		      image_name->data);
		return 1;
	}
	return 0;
}

int build_run(struct cli_ctx *ctx)
{
	struct ni_env e;
	struct gcp *g = NULL;
	struct buf err = BUF_INIT, image = BUF_INIT, tpl_path = BUF_INIT;
	char *scripts[2] = { NULL, NULL };
	cJSON *src = NULL, *tpl = NULL, *res = NULL;
	long run;
	int rc;

	if (!run_id_arg)
		return cli_usage_error(ctx, "--run-id is required");
	if (ni_run_id_parse(run_id_arg, &run, &err) < 0) {
		rc = cli_usage_error(ctx, "%s", err.data);
		buf_release(&err);
		return rc;
	}
	if ((rc = ni_open(&e, &g)))
		return rc;
	if (template_arg && *template_arg)
		buf_adds(&tpl_path, template_arg);
	else
		buf_printf(&tpl_path, "nodeimage-%s-%ld.json", e.name, run);
	if ((rc = check_args(ctx, &e, run, tpl_path.data, &image)))
		goto out;
	rc = 1;
	if (find_scripts(&e, scripts, &err) < 0 || read_source(g, &e, &src, &err) < 0)
		goto fail;
	tpl = packer_template(&e, run, image.data, src, packer_has_guest_os_features(), scripts);
	if (write_template(tpl_path.data, tpl, &err) < 0)
		goto fail;
	info("wrote the packer template '%s'", tpl_path.data);
	if (!ni.dry_run) {
		char *argv[] = { "packer", "build", "-color=false", tpl_path.data, NULL };
		int st = spawn_wait(argv, -1, &err);

		if (st < 0)
			goto fail;
		if (st != 0) {
			error("packer build of '%s' failed (exit %d): last_run_id stays %ld",
			      tpl_path.data, st, e.last_run_id);
			goto out;
		}
		if (record_run(&e, run, &err) < 0)
			goto fail;
	}
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "image", image.data);
	cJSON_AddStringToObject(res, "project", e.project);
	if (e.image_family)
		cJSON_AddStringToObject(res, "family", e.image_family);
	cJSON_AddNumberToObject(res, "runId", (double)run);
	cJSON_AddStringToObject(res, "sourceImage",
				ni_link_path(obj_str(src, "selfLink") ? obj_str(src, "selfLink") : ""));
	cJSON_AddStringToObject(res, "template", tpl_path.data);
	cJSON_AddBoolToObject(res, "built", !ni.dry_run);
	rc = ni_print(res) < 0;
	goto out;
fail:
	error("%s", err.data);
out:
	cJSON_Delete(res);
	cJSON_Delete(tpl);
	cJSON_Delete(src);
	free(scripts[0]);
	free(scripts[1]);
	buf_release(&tpl_path);
	buf_release(&image);
	buf_release(&err);
	gcp_free(g);
	ni_env_free(&e);
	return rc;
}
