/* gcp_config.c - see gcp.h: project, region, zone and endpoints from the
 * flags, the environment and the active gcloud configuration file. */
#include "gcp.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *const default_apis[] = {
	"cloudbuild", "compute", "container", "storage", NULL
};

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		die("out of memory");
	return d;
}

/* A trimmed copy of s, or NULL when s is NULL or only blanks. */
static char *trimmed(const char *s)
{
	size_t n;
	char *d;

	if (!s)
		return NULL;
	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (!n)
		return NULL;
	if (!(d = strndup(s, n)))
		die("out of memory");
	return d;
}

static void config_dir(struct buf *out)
{
	const char *d = getenv("CLOUDSDK_CONFIG"), *home = getenv("HOME");

	if (d && *d)
		buf_adds(out, d);
	else
		buf_printf(out, "%s/.config/gcloud", home && *home ? home : ".");
}

/* The active configuration's name: CLOUDSDK_ACTIVE_CONFIG_NAME, else the
 * active_config file, else "default". */
static char *active_config(const char *dir)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	char *name = trimmed(getenv("CLOUDSDK_ACTIVE_CONFIG_NAME"));

	if (!name) {
		buf_printf(&path, "%s/active_config", dir);
		if (buf_read_file(&text, path.data) == 0)
			name = trimmed(buf_str(&text));
	}
	buf_release(&path);
	buf_release(&text);
	return name ? name : xstrdup("default");
}

static void set_once(char **slot, const char *value)
{
	if (!*slot)
		*slot = trimmed(value);
}

static void add_override(struct gcp_config *c, const char *api, const char *url)
{
	char *v = trimmed(url);
	struct gcp_override *o;

	if (!v)
		return;
	o = realloc(c->overrides, (c->n_overrides + 1) * sizeof(*o));
	if (!o)
		die("out of memory");
	c->overrides = o;
	o[c->n_overrides].api = xstrdup(api);
	o[c->n_overrides].url = v;
	for (char *p = o[c->n_overrides].api; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	c->n_overrides++;
}

/* One INI line of the configuration file, in section sec. */
static void ini_line(struct gcp_config *c, char *line, struct buf *sec)
{
	char *eq, *key, *val;

	while (isspace((unsigned char)*line))
		line++;
	if (!*line || *line == '#' || *line == ';')
		return;
	if (*line == '[') {
		char *end = strchr(line, ']');

		buf_reset(sec);
		if (end)
			buf_add(sec, line + 1, (size_t)(end - line - 1));
		return;
	}
	if (!(eq = strpbrk(line, "=:")))
		return;
	*eq = '\0';
	key = trimmed(line);
	val = eq + 1;
	if (!key)
		return;
	if (!strcmp(buf_str(sec), "core") && !strcmp(key, "project"))
		set_once(&c->project, val);
	else if (!strcmp(buf_str(sec), "compute") && !strcmp(key, "region"))
		set_once(&c->region, val);
	else if (!strcmp(buf_str(sec), "compute") && !strcmp(key, "zone"))
		set_once(&c->zone, val);
	else if (!strcmp(buf_str(sec), "api_endpoint_overrides"))
		add_override(c, key, val);
	free(key);
}

static int read_ini(struct gcp_config *c, struct buf *err)
{
	struct buf path = BUF_INIT, text = BUF_INIT, sec = BUF_INIT;
	char *line, *save = NULL;
	int rc = -1;

	buf_printf(&path, "%s/configurations/config_%s", c->config_dir, c->active_config);
	if (buf_read_file(&text, path.data) < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			rc = 0;
			goto out;
		}
		buf_set(err, "cannot read gcloud configuration '%s': %s", path.data,
			strerror(errno));
		goto out;
	}
	for (line = strtok_r(text.data ? text.data : (char *)"", "\r\n", &save); line;
	     line = strtok_r(NULL, "\r\n", &save))
		ini_line(c, line, &sec);
	rc = 0;
out:
	buf_release(&sec);
	buf_release(&text);
	buf_release(&path);
	return rc;
}

int gcp_config_load(struct gcp_config *c, const struct gcp_options *opt,
		    struct buf *err)
{
	struct buf dir = BUF_INIT;
	int rc;

	memset(c, 0, sizeof(*c));
	if (opt) {
		c->project = trimmed(opt->project);
		c->region = trimmed(opt->region);
		c->zone = trimmed(opt->zone);
	}
	set_once(&c->project, getenv("CLOUDSDK_CORE_PROJECT"));
	set_once(&c->region, getenv("CLOUDSDK_COMPUTE_REGION"));
	set_once(&c->zone, getenv("CLOUDSDK_COMPUTE_ZONE"));
	config_dir(&dir);
	c->config_dir = buf_detach(&dir, NULL);
	c->active_config = active_config(c->config_dir);
	rc = read_ini(c, err);
	if (rc < 0)
		gcp_config_release(c);
	return rc;
}

void gcp_config_release(struct gcp_config *c)
{
	if (!c)
		return;
	free(c->project);
	free(c->region);
	free(c->zone);
	free(c->config_dir);
	free(c->active_config);
	for (size_t i = 0; i < c->n_overrides; i++) {
		free(c->overrides[i].api);
		free(c->overrides[i].url);
	}
	free(c->overrides);
	memset(c, 0, sizeof(*c));
}

void gcp_default_endpoint(const char *api, struct buf *out)
{
	if (!strcmp(api, "compute"))
		buf_adds(out, "https://compute.googleapis.com/compute/v1/");
	else if (!strcmp(api, "storage"))
		buf_adds(out, "https://storage.googleapis.com/storage/v1/");
	else
		buf_printf(out, "https://%s.googleapis.com/", api);
}

/* The override of api from the environment or the file, or NULL. The
 * returned string is borrowed (the environment's or c's) or, for the
 * environment, trimmed into *own. */
static const char *override_of(const struct gcp_config *c, const char *api,
			       char **own)
{
	struct buf name = BUF_INIT;
	const char *v = NULL;

	buf_adds(&name, "CLOUDSDK_API_ENDPOINT_OVERRIDES_");
	for (const char *p = api; *p; p++)
		buf_addch(&name, toupper((unsigned char)*p));
	*own = trimmed(getenv(name.data));
	buf_release(&name);
	if (*own)
		return *own;
	for (size_t i = 0; c && i < c->n_overrides; i++)
		if (!strcasecmp(c->overrides[i].api, api))
			v = c->overrides[i].url;
	return v;
}

/* The length of "scheme://host[:port]" in url (0 when not http(s)). */
static size_t root_len(const char *url)
{
	size_t n;

	if (!strncmp(url, "https://", 8))
		n = 8;
	else if (!strncmp(url, "http://", 7))
		n = 7;
	else
		return 0;
	return n + strcspn(url + n, "/?#");
}

int gcp_config_endpoint(const struct gcp_config *c, const char *api,
			struct buf *out, struct buf *err)
{
	char *own = NULL;
	const char *v = override_of(c, api, &own);
	struct buf def = BUF_INIT;
	size_t root;
	int rc = -1;

	if (!v) {
		gcp_default_endpoint(api, out);
		rc = 0;
		goto out;
	}
	root = root_len(v);
	if (!root || v[strlen(v) - 1] != '/') {
		buf_set(err, "invalid endpoint override '%s' for '%s': it must be an "
			"absolute URI beginning with http:// or https:// and ending "
			"with a trailing '/'", v, api);
		goto out;
	}
	gcp_default_endpoint(api, &def);
	if (strcmp(v + root, "/")) {
		buf_adds(out, v);
	} else {
		buf_add(out, v, root);
		buf_adds(out, def.data + root_len(def.data));
	}
	rc = 0;
out:
	buf_release(&def);
	free(own);
	return rc;
}

/* The prefixes an API's own links start with. */
static void link_prefixes(const char *api, struct buf *a, struct buf *b)
{
	gcp_default_endpoint(api, a);
	if (!strcmp(api, "compute"))
		buf_adds(b, "https://www.googleapis.com/compute/v1/");
	else if (!strcmp(api, "storage"))
		buf_adds(b, "https://www.googleapis.com/storage/v1/");
}

static void rewrite(cJSON *node, const char *from1, const char *from2,
		    const char *to)
{
	for (cJSON *c = node ? node->child : NULL; c; c = c->next) {
		const char *from = NULL;

		if (!cJSON_IsString(c) || !c->valuestring) {
			rewrite(c, from1, from2, to);
			continue;
		}
		if (!strncmp(c->valuestring, from1, strlen(from1)))
			from = from1;
		else if (*from2 && !strncmp(c->valuestring, from2, strlen(from2)))
			from = from2;
		if (from && strcmp(from, to)) {
			struct buf v = BUF_INIT;

			buf_adds(&v, to);
			buf_adds(&v, c->valuestring + strlen(from));
			cJSON_SetValuestring(c, v.data);
			buf_release(&v);
		}
	}
}

void gcp_config_rewrite_links(const struct gcp_config *c, const char *const *apis,
			      cJSON *tree)
{
	for (const char *const *api = apis ? apis : default_apis; *api; api++) {
		struct buf a = BUF_INIT, b = BUF_INIT, to = BUF_INIT, err = BUF_INIT;
		char *own = NULL;

		if (override_of(c, *api, &own) &&
		    gcp_config_endpoint(c, *api, &to, &err) == 0) {
			link_prefixes(*api, &a, &b);
			rewrite(tree, a.data, buf_str(&b), to.data);
		}
		free(own);
		buf_release(&a);
		buf_release(&b);
		buf_release(&to);
		buf_release(&err);
	}
}
