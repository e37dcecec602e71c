/* complete.c - shell completion of --project and --region from the gcloud
 * configuration, read directly (no gcloud process, no network): the active
 * values first (flags' environment, CLOUDSDK_*, the active configuration),
 * then every configuration's [core] project, [compute] region and [builds]
 * region; regions end with "global". The lists live until the process
 * ends (completion runs once per process).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "wlbuild.h"

#define MAX_VALUES 64

struct values {
	const char *v[MAX_VALUES + 1];
	int n;
};

static struct values projects, regions;

static void add(struct values *vs, const char *s, size_t n)
{
	char *copy;

	if (!n || vs->n == MAX_VALUES)
		return;
	for (int i = 0; i < vs->n; i++)
		if (strlen(vs->v[i]) == n && !strncmp(vs->v[i], s, n))
			return;
	if (!(copy = strndup(s, n)))
		die("out of memory");
	vs->v[vs->n++] = copy;
	vs->v[vs->n] = NULL;
}

static void add_trimmed(struct values *vs, const char *s)
{
	struct buf t = BUF_INIT;

	wlb_trim(s, &t);
	add(vs, buf_str(&t), t.len);
	buf_release(&t);
}

/* The [core] project, [compute] region and [builds] region of one INI. */
static void read_config(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024], section[64] = "";

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		struct buf key = BUF_INIT;
		char *eq, *p = line;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '[') {
			char *end = strchr(p, ']');

			if (end && (size_t)(end - p - 1) < sizeof(section)) {
				memcpy(section, p + 1, (size_t)(end - p - 1));
				section[end - p - 1] = '\0';
			}
			continue;
		}
		if (*p == '#' || *p == ';' || !(eq = strchr(p, '=')))
			continue;
		*eq = '\0';
		wlb_trim(p, &key);
		if (!strcmp(section, "core") && !strcmp(buf_str(&key), "project"))
			add_trimmed(&projects, eq + 1);
		else if ((!strcmp(section, "compute") || !strcmp(section, "builds")) &&
			 !strcmp(buf_str(&key), "region"))
			add_trimmed(&regions, eq + 1);
		buf_release(&key);
	}
	fclose(f);
}

static void load(void)
{
	static bool loaded;
	struct gcp_config cfg;
	struct buf err = BUF_INIT, dir = BUF_INIT;
	struct dirent *de;
	DIR *d;

	if (loaded)
		return;
	loaded = true;
	if (gcp_config_load(&cfg, NULL, &err) < 0) {
		buf_release(&err);
		return;
	}
	if (cfg.project)
		add_trimmed(&projects, cfg.project);
	if (getenv("CLOUDSDK_BUILDS_REGION"))
		add_trimmed(&regions, getenv("CLOUDSDK_BUILDS_REGION"));
	if (cfg.region)
		add_trimmed(&regions, cfg.region);
	buf_printf(&dir, "%s/configurations", cfg.config_dir ? cfg.config_dir : ".");
	if ((d = opendir(dir.data))) {
		while ((de = readdir(d))) {
			struct buf path = BUF_INIT;

			if (strncmp(de->d_name, "config_", 7))
				continue;
			buf_printf(&path, "%s/%s", dir.data, de->d_name);
			read_config(path.data);
			buf_release(&path);
		}
		closedir(d);
	}
	add(&regions, "global", 6);
	gcp_config_release(&cfg);
	buf_release(&dir);
	buf_release(&err);
}

const char *const *wlb_complete_values(const char *opt)
{
	if (!strcmp(opt, "project")) {
		load();
		return projects.v;
	}
	if (!strcmp(opt, "region")) {
		load();
		return regions.v;
	}
	return NULL;
}
