/* os_units.c - a systemd unit read from its files under ctx->root, for
 * snapshots of a host mounted at --root (systemctl there would describe
 * the container, not the host).
 *
 * As systemd does: the fragment is the first of
 * /etc/systemd/system/UNIT, /run/systemd/system/UNIT,
 * /lib/systemd/system/UNIT, /usr/lib/systemd/system/UNIT (a link to
 * /dev/null masks the unit), then the drop-ins UNIT.d/ *.conf of those
 * directories in file name order (a name in an earlier directory hides the
 * same name in a later one). Links are resolved inside the root. An empty
 * ExecStart= or Environment= resets what came before; a later
 * Environment assignment of a variable replaces the earlier one.
 * UnitFileState is enabled when a *.wants or *.requires directory of
 * /etc/systemd/system links the unit, else disabled, or static when the
 * unit has no [Install] section.
 */
#include "gpusnap.h"
#include "log.h"
#include "os_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UNIT_FILE_MAX (1u << 20)
#define MAX_LINKS 8

static const char *const unit_dirs[] = {
	"/etc/systemd/system", "/run/systemd/system",
	"/lib/systemd/system", "/usr/lib/systemd/system",
};
#define N_DIRS (sizeof(unit_dirs) / sizeof(unit_dirs[0]))

struct unit {
	struct buf exec;	/* ExecStart commands joined with " ; " */
	cJSON *env;		/* NAME -> value, in order of first assignment */
	struct buf env_files;	/* "PATH (ignore_errors=yes|no)" joined with " ; " */
	struct buf drop_ins;	/* drop-in paths joined with ' ' */
	char *description;
	bool install;		/* has an [Install] section with settings */
};

/* Reads the unit file at host path `path` into text, following links
 * inside the root. Returns 1 when it is masked (a link to /dev/null), 0
 * when read, -1 with errno when missing or unreadable. */
static int read_unit(const struct snap_ctx *c, const char *path, struct buf *text)
{
	struct buf host = BUF_INIT, full = BUF_INIT, target = BUF_INIT;
	struct stat st;
	const char *slash;
	int rc = -1, hops, saved = 0;
	ssize_t n;

	buf_adds(&host, path);
	for (hops = 0; hops < MAX_LINKS; hops++) {
		snap_path(c, buf_str(&host), &full);
		if (lstat(buf_str(&full), &st) < 0) {
			saved = errno;
			goto out;
		}
		if (!S_ISLNK(st.st_mode))
			break;
		buf_reset(&target);
		buf_grow(&target, 4096);
		n = readlink(buf_str(&full), target.data, target.cap - 1);
		if (n < 0) {
			saved = errno;
			goto out;
		}
		target.len = (size_t)n;
		target.data[n] = '\0';
		if (!strcmp(buf_str(&target), "/dev/null")) {
			rc = 1;
			goto out;
		}
		if (target.data[0] != '/') {
			slash = strrchr(buf_str(&host), '/');
			buf_setlen(&host, (size_t)(slash - host.data) + 1);
			buf_add(&host, target.data, target.len);
		} else {
			buf_reset(&host);
			buf_add(&host, target.data, target.len);
		}
		buf_reset(&full);
	}
	if (hops == MAX_LINKS) {
		saved = ELOOP;
		goto out;
	}
	if (snap_read(c, buf_str(&host), text, UNIT_FILE_MAX) < 0) {
		saved = errno;
		goto out;
	}
	rc = 0;
out:
	buf_release(&target);
	buf_release(&full);
	buf_release(&host);
	errno = saved;
	return rc;
}

/* Adds the assignments of one Environment= value to u->env. */
static void env_assign(struct unit *u, const char *val)
{
	struct buf word = BUF_INIT;
	const char *p = val;
	char *eq;

	while (os_next_word(&p, &word)) {
		if (!(eq = strchr(word.data, '=')) || eq == word.data)
			continue;
		*eq = '\0';
		os_set_str(u->env, word.data, eq + 1);
	}
	buf_release(&word);
}

/* Strips the prefixes of an Exec line ("-", "@", "+", "!", "!!", ":"). */
static const char *exec_command(const char *val)
{
	while (*val && strchr("-@+!:", *val))
		val++;
	return val;
}

static void unit_setting(struct unit *u, const char *section, const char *key,
			 const char *val)
{
	struct buf red = BUF_INIT;

	if (!strcmp(section, "Install")) {
		u->install = u->install || *val;
	} else if (!strcmp(section, "Unit") && !strcmp(key, "Description")) {
		free(u->description);
		if (!(u->description = strdup(val)))
			die("out of memory");
	} else if (strcmp(section, "Service")) {
		;
	} else if (!strcmp(key, "ExecStart")) {
		if (!*val) {
			buf_reset(&u->exec);
		} else {
			os_argv_redact(exec_command(val), &red);
			if (u->exec.len)
				buf_adds(&u->exec, " ; ");
			buf_add(&u->exec, red.data, red.len);
		}
	} else if (!strcmp(key, "Environment")) {
		if (!*val) {
			cJSON_Delete(u->env);
			if (!(u->env = cJSON_CreateObject()))
				die("out of memory");
		}
		env_assign(u, val);
	} else if (!strcmp(key, "EnvironmentFile")) {
		if (!*val) {
			buf_reset(&u->env_files);
		} else {
			if (u->env_files.len)
				buf_adds(&u->env_files, " ; ");
			buf_printf(&u->env_files, "%s (ignore_errors=%s)",
				   val + (*val == '-'), *val == '-' ? "yes" : "no");
		}
	}
	buf_release(&red);
}

/* Applies the settings of one unit file's text (changed in place). */
static void unit_parse(struct unit *u, char *text)
{
	struct buf line = BUF_INIT, section = BUF_INIT;
	char *l, *next, *eq, *e, *key, *val;
	size_t len;

	for (l = text; l && *l; l = next) {
		next = strchr(l, '\n');
		if (next)
			*next++ = '\0';
		len = strlen(l);
		if (len && l[len - 1] == '\\') {	/* continued on the next line */
			buf_add(&line, l, len - 1);
			buf_addch(&line, ' ');
			continue;
		}
		buf_adds(&line, l);
		key = os_squeeze(line.data);
		if (*key == '[' && (e = strchr(key, ']'))) {
			buf_reset(&section);
			buf_add(&section, key + 1, (size_t)(e - key - 1));
		} else if (*key != '#' && *key != ';' && (eq = strchr(key, '='))) {
			for (e = eq; e > key && isspace((unsigned char)e[-1]); e--)
				;
			*e = '\0';
			for (val = eq + 1; isspace((unsigned char)*val); val++)
				;
			unit_setting(u, buf_str(&section), key, val);
		}
		buf_reset(&line);
	}
	buf_release(&section);
	buf_release(&line);
}

static int name_cmp(const void *a, const void *b)
{
	const char *x = strrchr(*(char *const *)a, '/'), *y = strrchr(*(char *const *)b, '/');

	return strcmp(x, y);
}

/* The drop-in paths of the unit (host paths, malloc'd), sorted by file
 * name, a name seen in an earlier directory hiding the later ones. */
static size_t drop_ins(const struct snap_ctx *c, const char *unit, char ***out)
{
	struct buf dir = BUF_INIT, path = BUF_INIT;
	char **list = NULL;
	size_t n = 0, i, d, len;
	struct dirent *e;
	DIR *dh;

	for (d = 0; d < N_DIRS; d++) {
		buf_reset(&dir);
		buf_printf(&dir, "%s/%s.d", unit_dirs[d], unit);
		buf_reset(&path);
		snap_path(c, buf_str(&dir), &path);
		if (!(dh = opendir(buf_str(&path))))
			continue;
		while ((e = readdir(dh))) {
			len = strlen(e->d_name);
			if (len < 6 || strcmp(e->d_name + len - 5, ".conf"))
				continue;
			for (i = 0; i < n; i++)
				if (!strcmp(strrchr(list[i], '/') + 1, e->d_name))
					break;
			if (i < n)
				continue;
			if (!(list = realloc(list, (n + 1) * sizeof(*list))))
				die("out of memory");
			buf_reset(&path);
			buf_printf(&path, "%s/%s", buf_str(&dir), e->d_name);
			list[n++] = buf_detach(&path, NULL);
		}
		closedir(dh);
	}
	if (n)
		qsort(list, n, sizeof(*list), name_cmp);
	buf_release(&path);
	buf_release(&dir);
	*out = list;
	return n;
}

/* Whether a *.wants or *.requires directory of /etc/systemd/system
 * links the unit. */
static bool unit_enabled(const struct snap_ctx *c, const char *unit)
{
	struct buf path = BUF_INIT, link = BUF_INIT;
	struct dirent *e;
	struct stat st;
	bool found = false;
	size_t len;
	DIR *dh;

	snap_path(c, "/etc/systemd/system", &path);
	if (!(dh = opendir(buf_str(&path))))
		goto out;
	while (!found && (e = readdir(dh))) {
		len = strlen(e->d_name);
		if (!((len > 6 && !strcmp(e->d_name + len - 6, ".wants")) ||
		      (len > 9 && !strcmp(e->d_name + len - 9, ".requires"))))
			continue;
		buf_reset(&link);
		buf_printf(&link, "%s/%s/%s", buf_str(&path), e->d_name, unit);
		found = lstat(buf_str(&link), &st) == 0;
	}
	closedir(dh);
out:
	buf_release(&link);
	buf_release(&path);
	return found;
}

/* Environment as systemctl prints it, secrets redacted, into out. */
static void env_string(const cJSON *env, struct buf *out)
{
	struct buf raw = BUF_INIT, one = BUF_INIT;
	const cJSON *v;
	const char *s;

	cJSON_ArrayForEach(v, env) {
		buf_reset(&one);
		buf_printf(&one, "%s=%s", v->string, v->valuestring);
		if (raw.len)
			buf_addch(&raw, ' ');
		buf_addch(&raw, '"');
		for (s = buf_str(&one); *s; s++) {
			if (strchr("\\\"$`", *s))
				buf_addch(&raw, '\\');
			buf_addch(&raw, *s);
		}
		buf_addch(&raw, '"');
	}
	os_env_redact(buf_str(&raw), out);
	buf_release(&one);
	buf_release(&raw);
}

void os_unit_from_files(const struct snap_ctx *c, const char *unit, cJSON *data)
{
	struct unit u = { BUF_INIT, cJSON_CreateObject(), BUF_INIT, BUF_INIT, NULL, false };
	struct buf path = BUF_INIT, text = BUF_INIT, shown = BUF_INIT;
	char **drops = NULL;
	size_t i, n = 0;
	int r = -1;

	if (!u.env)
		die("out of memory");
	os_set_str(data, "source", "unit-files");
	for (i = 0; i < N_DIRS; i++) {
		buf_reset(&path);
		buf_printf(&path, "%s/%s", unit_dirs[i], unit);
		r = read_unit(c, buf_str(&path), &text);
		if (r >= 0 || errno != ENOENT)
			break;
	}
	if (r == 1) {
		os_set_str(data, "LoadState", "masked");
		os_set_str(data, "UnitFileState", "masked");
		os_set_bool(data, "present", true);
		goto out;
	}
	if (r < 0) {
		if (i < N_DIRS) {
			snap_path(c, buf_str(&path), &shown);
			warn("cannot read '%s': %s", buf_str(&shown), strerror(errno));
		}
		os_set_str(data, "LoadState", "not-found");
		os_set_bool(data, "present", false);
		goto out;
	}
	os_set_str(data, "LoadState", "loaded");
	os_set_bool(data, "present", true);
	os_set_str(data, "FragmentPath", buf_str(&path));
	unit_parse(&u, text.data);
	n = drop_ins(c, unit, &drops);
	for (i = 0; i < n; i++) {
		if (os_read(c, drops[i], &text, UNIT_FILE_MAX, false) == 0)
			unit_parse(&u, text.data);
		if (u.drop_ins.len)
			buf_addch(&u.drop_ins, ' ');
		buf_adds(&u.drop_ins, drops[i]);
	}
	if (u.description)
		os_set_str(data, "Description", u.description);
	os_set_str(data, "UnitFileState", unit_enabled(c, unit) ? "enabled" :
		   u.install ? "disabled" : "static");
	if (u.drop_ins.len)
		os_set_str(data, "DropInPaths", buf_str(&u.drop_ins));
	if (u.exec.len)
		os_set_str(data, "ExecStart", buf_str(&u.exec));
	if (u.env->child) {
		env_string(u.env, &path);
		os_set_str(data, "Environment", buf_str(&path));
	}
	if (u.env_files.len)
		os_set_str(data, "EnvironmentFiles", buf_str(&u.env_files));
out:
	for (i = 0; i < n; i++)
		free(drops[i]);
	free(drops);
	free(u.description);
	buf_release(&u.drop_ins);
	buf_release(&u.env_files);
	cJSON_Delete(u.env);
	buf_release(&u.exec);
	buf_release(&shown);
	buf_release(&text);
	buf_release(&path);
}
