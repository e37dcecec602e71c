/* env.c - an environment: vars/NAME.json and vars/_kube-env.yaml.
 *
 * NAME.json is one JSON object; every key but the required ones is
 * optional, and a key not listed here is an error (a typo must not be
 * ignored silently):
 *   project, location, cluster       strings (required)
 *   ref_pool                         {"name": string (required),
 *                                     "config": NodePool fields}
 *   source_image                     "projects/P/global/images/I", or
 *   source_image_family +            a family and its project
 *     source_image_project
 *   image_prefix                     the built image is <prefix>-<run id>
 *   image_family                     string
 *   last_run_id                      unsigned integer (build-image sets it)
 *   node_pools, instance_groups      lists of names (default: all)
 *   excluded_machine_types           list of globs (default: the A100s)
 *   build_zone, build_machine_type   where packer builds (build-image)
 * _kube-env.yaml is a flat YAML map KEY: value of kube-env replacements.
 * Errors name the file and the key: "vars/dev.json: last_run_id: want an
 * unsigned integer".
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "log.h"
#include "nodeimage.h"
#include "obj.h"
#include "yaml.h"

/* The A100 machine families: a scarce resource, never mutated unless the
 * environment says otherwise (the seed's rule). */
static const char *const default_excluded[] = {
	"a2-highgpu-*", "a2-megagpu-*", "a2-ultragpu-*", NULL
};

/* Largest run id: it must survive a trip through a JSON double. */
#define RUN_ID_MAX 9007199254740991L

int ni_run_id_parse(const char *s, long *out, struct buf *err)
{
	long v = 0;

	if (!s || !*s || (s[0] == '0' && s[1]))
		goto bad;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p) || v > (RUN_ID_MAX - (*p - '0')) / 10)
			goto bad;
		v = v * 10 + (*p - '0');
	}
	*out = v;
	return 0;
bad:
	buf_set(err, "invalid run id '%s': want an unsigned integer", s ? s : "");
	return -1;
}

static bool env_name_ok(const char *s)
{
	if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
		    *s != '-' && *s != '_')
			return false;
	return true;
}

static char *dup_str(const char *s)
{
	char *d = strdup(s);

	if (!d)
		die("out of memory");
	return d;
}

/* A string value at key: *out (copied), NULL when absent. */
static int take_str(const cJSON *root, const char *path, const char *key,
		    bool required, char **out, struct buf *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);

	if (!v) {
		if (!required)
			return 0;
		buf_set(err, "%s: %s: missing", path, key);
		return -1;
	}
	if (!cJSON_IsString(v) || !*v->valuestring) {
		buf_set(err, "%s: %s: want a non-empty string", path, key);
		return -1;
	}
	*out = dup_str(v->valuestring);
	return 0;
}

static void free_list(char **l)
{
	for (size_t i = 0; l && l[i]; i++)
		free(l[i]);
	free(l);
}

/* A list of non-empty strings: *out NULL-terminated, NULL when absent. */
static int take_list(const cJSON *root, const char *path, const char *key,
		     char ***out, struct buf *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key), *it;
	size_t n = 0;

	if (!v)
		return 0;
	if (!cJSON_IsArray(v))
		goto bad;
	cJSON_ArrayForEach(it, v)
		if (!cJSON_IsString(it) || !*it->valuestring)
			goto bad;
	*out = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(char *));
	if (!*out)
		die("out of memory");
	cJSON_ArrayForEach(it, v)
		(*out)[n++] = dup_str(it->valuestring);
	return 0;
bad:
	buf_set(err, "%s: %s: want a list of strings", path, key);
	return -1;
}

static int check_keys(const cJSON *root, const char *path, struct buf *err)
{
	static const char *const known[] = {
		"project", "location", "cluster", "ref_pool", "source_image",
		"source_image_family", "source_image_project", "image_prefix",
		"image_family", "last_run_id", "node_pools", "instance_groups",
		"excluded_machine_types", "build_zone", "build_machine_type", NULL
	};
	const cJSON *it;

	cJSON_ArrayForEach(it, root) {
		size_t i;

		for (i = 0; known[i] && strcmp(known[i], it->string); i++)
			;
		if (!known[i]) {
			buf_set(err, "%s: %s: unknown key", path, it->string);
			return -1;
		}
	}
	return 0;
}

static int take_ref_pool(const cJSON *root, struct ni_env *e, struct buf *err)
{
	const cJSON *rp = cJSON_GetObjectItemCaseSensitive(root, "ref_pool"), *it;
	int rc = -1;

	if (!rp) {
		buf_set(err, "%s: ref_pool: missing", e->path);
		goto out;
	}
	if (!cJSON_IsObject(rp)) {
		buf_set(err, "%s: ref_pool: want an object {\"name\", \"config\"}", e->path);
		goto out;
	}
	cJSON_ArrayForEach(it, rp)
		if (strcmp(it->string, "name") && strcmp(it->string, "config")) {
			buf_set(err, "%s: ref_pool.%s: unknown key", e->path, it->string);
			goto out;
		}
	it = cJSON_GetObjectItemCaseSensitive(rp, "name");
	if (!cJSON_IsString(it) || !dns1123_label(it->valuestring, NULL) ||
	    strlen(it->valuestring) > 40 || !islower((unsigned char)it->valuestring[0])) {
		buf_set(err, "%s: ref_pool.name: want a node pool name ([a-z]([-a-z0-9]*"
			"[a-z0-9])?, at most 40 characters)", e->path);
		goto out;
	}
	e->ref_pool = dup_str(it->valuestring);
	it = cJSON_GetObjectItemCaseSensitive(rp, "config");
	if (it && !cJSON_IsObject(it)) {
		buf_set(err, "%s: ref_pool.config: want an object (NodePool fields)", e->path);
		goto out;
	}
	if (it && !(e->ref_pool_config = cJSON_Duplicate(it, true)))
		die("out of memory");
	rc = 0;
out:
	return rc;
}

static int take_fields(const cJSON *root, struct ni_env *e, struct buf *err)
{
	const char *p = e->path;
	const cJSON *v;
	char *bz = NULL, *bm = NULL;
	int rc = -1;

	if (check_keys(root, p, err) < 0 ||
	    take_str(root, p, "project", true, &e->project, err) < 0 ||
	    take_str(root, p, "location", true, &e->location, err) < 0 ||
	    take_str(root, p, "cluster", true, &e->cluster, err) < 0 ||
	    take_ref_pool(root, e, err) < 0 ||
	    take_str(root, p, "source_image", false, &e->source_image, err) < 0 ||
	    take_str(root, p, "source_image_family", false, &e->source_family, err) < 0 ||
	    take_str(root, p, "source_image_project", false, &e->source_project, err) < 0 ||
	    take_str(root, p, "image_prefix", true, &e->image_prefix, err) < 0 ||
	    take_str(root, p, "image_family", false, &e->image_family, err) < 0 ||
	    take_str(root, p, "build_zone", false, &bz, err) < 0 ||
	    take_str(root, p, "build_machine_type", false, &bm, err) < 0 ||
	    take_list(root, p, "node_pools", &e->node_pools, err) < 0 ||
	    take_list(root, p, "instance_groups", &e->instance_groups, err) < 0 ||
	    take_list(root, p, "excluded_machine_types", &e->excluded_machine_types, err) < 0)
		goto out;
	if (e->source_image && (e->source_family || e->source_project)) {
		buf_set(err, "%s: source_image: give it or source_image_family "
			"and source_image_project, not both", p);
		goto out;
	}
	if (!e->source_image && !(e->source_family && e->source_project)) {
		buf_set(err, "%s: %s: missing (or source_image)", p,
			e->source_family ? "source_image_project" : "source_image_family");
		goto out;
	}
	if (e->source_image && strncmp(e->source_image, "projects/", 9)) {
		buf_set(err, "%s: source_image: want projects/PROJECT/global/images/IMAGE", p);
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "last_run_id");
	e->last_run_id = -1;
	if (v) {
		if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
		    v->valuedouble > (double)RUN_ID_MAX ||
		    v->valuedouble != (double)(long)v->valuedouble) {
			buf_set(err, "%s: last_run_id: want an unsigned integer", p);
			goto out;
		}
		e->last_run_id = (long)v->valuedouble;
	}
	rc = 0;
out:
	free(bz);
	free(bm);
	return rc;
}

/* vars_dir/_kube-env.yaml: a flat map; values become strings. */
static int load_kube_env(const char *vars_dir, struct ni_env *e, struct buf *err)
{
	struct buf path = BUF_INIT, text = BUF_INIT, yerr = BUF_INIT;
	cJSON *docs = NULL, *doc, *it;
	int rc = -1;

	buf_printf(&path, "%s/_kube-env.yaml", vars_dir);
	if (buf_read_file(&text, path.data) < 0) {
		if (errno == ENOENT)
			rc = 0;
		else
			buf_set(err, "cannot read '%s': %s", path.data, strerror(errno));
		goto out;
	}
	if (!(docs = yaml_parse(buf_str(&text), text.len, path.data, &yerr))) {
		buf_set(err, "%s", yerr.data);
		goto out;
	}
	if (cJSON_GetArraySize(docs) > 1) {
		buf_set(err, "%s: want one YAML document (KEY: value lines)", path.data);
		goto out;
	}
	doc = cJSON_GetArrayItem(docs, 0);
	if (!doc || cJSON_IsNull(doc)) {
		rc = 0;
		goto out;
	}
	if (!cJSON_IsObject(doc)) {
		buf_set(err, "%s: want a map of KEY: value lines", path.data);
		goto out;
	}
	cJSON_ArrayForEach(it, doc) {
		if (!*it->string || strspn(it->string, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					   "abcdefghijklmnopqrstuvwxyz0123456789_")
		    != strlen(it->string)) {
			buf_set(err, "%s: %s: want a kube-env key (letters, digits, '_')",
				path.data, it->string);
			goto out;
		}
		if (cJSON_IsObject(it) || cJSON_IsArray(it) || cJSON_IsNull(it)) {
			buf_set(err, "%s: %s: want a string", path.data, it->string);
			goto out;
		}
	}
	e->kube_env = cJSON_CreateObject();
	cJSON_ArrayForEach(it, doc) {
		char *s = cJSON_IsString(it) ? NULL : cJSON_PrintUnformatted(it);

		cJSON_AddStringToObject(e->kube_env, it->string, s ? s : it->valuestring);
		free(s);
	}
	rc = 0;
out:
	cJSON_Delete(docs);
	buf_release(&yerr);
	explicit_bzero(text.data ? text.data : "", text.data ? text.len : 0);
	buf_release(&text);
	buf_release(&path);
	return rc;
}

int ni_env_load(const char *vars_dir, const char *name, struct ni_env *e,
		struct buf *err)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	int rc = -1;

	memset(e, 0, sizeof(*e));
	e->last_run_id = -1;
	if (!vars_dir || !*vars_dir)
		vars_dir = "vars";
	if (!name || !env_name_ok(name)) {
		buf_set(err, "invalid environment name '%s': want lower-case letters, "
			"digits, '-' and '_', starting with a letter or digit",
			name ? name : "");
		goto out;
	}
	e->name = dup_str(name);
	e->dir = dup_str(vars_dir);
	buf_printf(&path, "%s/%s.json", vars_dir, name);
	e->path = buf_detach(&path, NULL);
	if (buf_read_file(&text, e->path) < 0) {
		buf_set(err, "cannot read '%s': %s", e->path, strerror(errno));
		goto out;
	}
	e->raw = cJSON_ParseWithLength(buf_str(&text), text.len);
	if (!e->raw) {
		buf_set(err, "%s: not valid JSON", e->path);
		goto out;
	}
	if (!cJSON_IsObject(e->raw)) {
		buf_set(err, "%s: want a JSON object", e->path);
		goto out;
	}
	if (take_fields(e->raw, e, err) < 0 || load_kube_env(vars_dir, e, err) < 0)
		goto out;
	rc = 0;
out:
	buf_release(&text);
	buf_release(&path);
	return rc;
}

void ni_env_free(struct ni_env *e)
{
	free(e->name);
	free(e->path);
	free(e->dir);
	free(e->project);
	free(e->location);
	free(e->cluster);
	free(e->ref_pool);
	cJSON_Delete(e->ref_pool_config);
	free(e->source_image);
	free(e->source_family);
	free(e->source_project);
	free(e->image_prefix);
	free(e->image_family);
	free_list(e->node_pools);
	free_list(e->instance_groups);
	free_list(e->excluded_machine_types);
	cJSON_Delete(e->kube_env);
	cJSON_Delete(e->raw);
	memset(e, 0, sizeof(*e));
	e->last_run_id = -1;
}

bool ni_machine_excluded(const struct ni_env *e, const char *mt)
{
	const char *const *globs = e->excluded_machine_types ?
		(const char *const *)e->excluded_machine_types : default_excluded;
	const char *slash;

	if (!mt)
		return false;
	if ((slash = strrchr(mt, '/')))
		mt = slash + 1;	/* a machine type URL */
	for (size_t i = 0; globs[i]; i++)
		if (!fnmatch(globs[i], mt, 0))
			return true;
	return false;
}


/* JSON as people write it: two-space indents, a list of scalars on one
 * line, keys in their order. */
static void json_pretty(struct buf *out, const cJSON *v, int depth)
{
	const cJSON *it;
	bool flat = true;
	char *s;

	if (!cJSON_IsObject(v) && !cJSON_IsArray(v)) {
		if (!(s = cJSON_PrintUnformatted(v)))
			die("out of memory");
		buf_adds(out, s);
		free(s);
		return;
	}
	cJSON_ArrayForEach(it, v)
		flat &= cJSON_IsArray(v) && !cJSON_IsObject(it) && !cJSON_IsArray(it);
	if (!v->child || flat) {
		if (!(s = cJSON_PrintUnformatted(v)))
			die("out of memory");
		buf_adds(out, s);
		free(s);
		return;
	}
	buf_addch(out, cJSON_IsObject(v) ? '{' : '[');
	cJSON_ArrayForEach(it, v) {
		buf_printf(out, "\n%*s", 2 * (depth + 1), "");
		if (cJSON_IsObject(v)) {
			cJSON *k = cJSON_CreateString(it->string);

			json_pretty(out, k, 0);
			cJSON_Delete(k);
			buf_adds(out, ": ");
		}
		json_pretty(out, it, depth + 1);
		if (it->next)
			buf_addch(out, ',');
	}
	buf_printf(out, "\n%*s%c", 2 * depth, "", cJSON_IsObject(v) ? '}' : ']');
}

int ni_env_set_last_run_id(struct ni_env *e, long run_id, struct buf *err)
{
	cJSON *n = cJSON_CreateNumber((double)run_id);
	struct buf out = BUF_INIT;
	int rc = -1;

	if (!n)
		die("out of memory");
	if (cJSON_GetObjectItemCaseSensitive(e->raw, "last_run_id"))
		cJSON_ReplaceItemInObjectCaseSensitive(e->raw, "last_run_id", n);
	else
		cJSON_AddItemToObject(e->raw, "last_run_id", n);
	json_pretty(&out, e->raw, 0);
	buf_addch(&out, '\n');
	if (file_write_atomic(e->path, out.data, out.len, FILE_MODE_KEEP, FILE_SYNC, err) < 0)
		goto out;
	e->last_run_id = run_id;
	rc = 0;
out:
	buf_release(&out);
	return rc;
}

int ni_open(struct ni_env *e, struct gcp **g)
{
	struct gcp_options opt = { 0 };
	struct buf err = BUF_INIT;
	int rc = 1;

	*g = NULL;
	memset(e, 0, sizeof(*e));
	e->last_run_id = -1;
	if (!ni.env || !*ni.env) {
		error("--env is required: the environment's file is vars/NAME.json");
		rc = EXIT_USAGE;
		goto out;
	}
	if (!env_name_ok(ni.env)) {
		error("invalid environment name '%s': want lower-case letters, digits, "
		      "'-' and '_', starting with a letter or digit", ni.env);
		rc = EXIT_USAGE;
		goto out;
	}
	if (ni_env_load(ni.vars_dir, ni.env, e, &err) < 0) {
		error("%s", err.data);
		goto out;
	}
	if (ni.project && *ni.project) {
		free(e->project);
		e->project = dup_str(ni.project);
	}
	opt.access_token_file = ni.access_token_file;
	opt.project = e->project;
	if (!(*g = gcp_new(&opt, &err))) {
		error("%s", err.data);
		goto out;
	}
	rc = 0;
out:
	if (rc)
		ni_env_free(e);
	buf_release(&err);
	return rc;
}
