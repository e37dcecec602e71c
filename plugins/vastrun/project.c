/* project.c - the project file (.vast): reading, validation with line
 * numbers, variations and per-context values.
 *
 * The file is read twice: yaml.h gives the typed values (a cJSON tree) and
 * libyaml's document API the positions, walked side by side, so every
 * error is one line "FILE:LINE: KEY: why" with KEY the dotted path
 * ("execution.resources.cpu", "configuration.2.name").
 *
 * Keys (anything else is an error):
 *   version: 1                       optional
 *   metadata: {name}                 optional
 *   configuration: list of {name, parameters, variations, files}
 *   execution: {image, runs, scenario_file, entrypoint, timeout, env,
 *               resources: {cpu, memory}, secondary_containers}
 * A config name is a DNS-1123 label (lower case, no '_', spaces or '.').
 * parameters is a list of single-key maps (or a map). variations is a list
 * of {ParameterVariationList: {name, values}}, combined as a Cartesian
 * product in the order given (the first varies slowest); a config with
 * variations becomes the configs BASE-1, BASE-2, ... in that order, each
 * with the parameters of its combination. files lists paths (files or
 * directories) relative to the project directory.
 *
 * A config's files: execution.scenario_file, its `files`, and every file
 * under the directory named after the config (before variations) in the
 * project directory, when there is one. The run-level script is
 * execution.entrypoint (default entrypoint.sh), which must exist: the Job's
 * main container runs it with sh in /config.
 *
 * Per-context values (cpu, memory of the main and secondary containers): a
 * scalar is used everywhere; a list of single-key maps is keyed by kube
 * context and the active context's entry is used. When the lists name more
 * than one context and --context was not given, loading fails before
 * anything else is reported about contexts; an active context that no list
 * names is an error.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "obj.h"
#include "project.h"
#include "yaml.h"

#define MAX_CONFIGS 10000

/* ---- files ---------------------------------------------------------- */

struct files {
	char **v;
	size_t n, cap;
};

static void files_add(struct files *f, const char *rel)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->v[i], rel))
			return;
	if (f->n + 2 > f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		if (!(f->v = realloc(f->v, f->cap * sizeof(*f->v))))
			die("out of memory");
	}
	if (!(f->v[f->n++] = strdup(rel)))
		die("out of memory");
	f->v[f->n] = NULL;
}

static void files_free(struct files *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i]);
	free(f->v);
	f->v = NULL;
	f->n = f->cap = 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds rel (a file, or every regular file under a directory) from dir. */
static int files_walk(struct files *f, const char *dir, const char *rel, struct buf *why)
{
	struct buf full = BUF_INIT, sub = BUF_INIT;
	struct stat st;
	DIR *d = NULL;
	struct dirent *de;
	int rc = -1;

	buf_printf(&full, "%s/%s", dir, rel);
	if (stat(buf_str(&full), &st) < 0) {
		buf_set(why, "cannot read '%s': %s", buf_str(&full), strerror(errno));
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		files_add(f, rel);
		rc = 0;
		goto out;
	}
	if (!S_ISDIR(st.st_mode) || !(d = opendir(buf_str(&full)))) {
		buf_set(why, "'%s' is not a file or a readable directory", buf_str(&full));
		goto out;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		buf_reset(&sub);
		buf_printf(&sub, "%s/%s", rel, de->d_name);
		if (files_walk(f, dir, buf_str(&sub), why) < 0)
			goto out;
	}
	rc = 0;
out:
	if (d)
		closedir(d);
	buf_release(&full);
	buf_release(&sub);
	return rc;
}

/* A relative path that stays inside the project directory. */
static bool rel_ok(const char *p)
{
	const char *s = p;

	if (!*p || *p == '/')
		return false;
	while (*s) {
		size_t n = strcspn(s, "/");

		if (n == 2 && !strncmp(s, "..", 2))
			return false;
		s += n;
		s += *s == '/';
	}
	return true;
}

/* ---- configurations ------------------------------------------------- */

/* One configuration entry before expansion. */
struct base {
	const char *name;
	cJSON *params;		/* owned */
	const cJSON *variations;	/* borrowed: array of {name, values} */
	struct files files;
};

static int parse_variations(struct pctx *c, const cJSON *v, yaml_node_t *yn, const char *path,
			    cJSON **out, size_t *combos)
{
	static const char *const vkeys[] = { "ParameterVariationList", NULL };
	static const char *const pkeys[] = { "name", "values", NULL };
	struct buf p = BUF_INIT;
	const cJSON *e;
	int rc = -1, i = 0;

	*out = cJSON_CreateArray();
	*combos = 1;
	if (pj_want(c, v, yn, path, cJSON_IsArray(v), "a list") < 0)
		goto out;
	cJSON_ArrayForEach(e, v) {
		yaml_node_t *en = pj_item(c, yn, i), *pn, *nn;
		const cJSON *pvl, *name, *values;
		cJSON *one;

		buf_reset(&p);
		buf_printf(&p, "%s.%d", path, i++);
		if (pj_want(c, e, en, buf_str(&p), cJSON_IsObject(e), "a map") < 0 ||
		    pj_keys(c, e, en, buf_str(&p), vkeys) < 0)
			goto out;
		pvl = cJSON_GetObjectItemCaseSensitive(e, "ParameterVariationList");
		pn = pj_child(c, en, "ParameterVariationList");
		buf_adds(&p, ".ParameterVariationList");
		if (!pvl) {
			pj_fail(c, en, buf_str(&p), "is required");
			goto out;
		}
		if (pj_want(c, pvl, pn, buf_str(&p), cJSON_IsObject(pvl), "a map") < 0 ||
		    pj_keys(c, pvl, pn, buf_str(&p), pkeys) < 0)
			goto out;
		name = cJSON_GetObjectItemCaseSensitive(pvl, "name");
		values = cJSON_GetObjectItemCaseSensitive(pvl, "values");
		nn = pj_child(c, pn, "name");
		if (!name || !values) {
			pj_fail(c, pn, buf_str(&p), "'%s' is required", name ? "values" : "name");
			goto out;
		}
		buf_adds(&p, ".name");
		if (pj_want(c, name, nn, buf_str(&p), cJSON_IsString(name) && *name->valuestring,
			 "a non-empty string") < 0)
			goto out;
		buf_setlen(&p, p.len - 5);
		buf_adds(&p, ".values");
		if (pj_want(c, values, pj_child(c, pn, "values"), buf_str(&p),
			 cJSON_IsArray(values) && cJSON_GetArraySize(values) > 0,
			 "a non-empty list") < 0)
			goto out;
		*combos *= (size_t)cJSON_GetArraySize(values);
		if (*combos > MAX_CONFIGS) {
			pj_fail(c, yn, path, "expands to more than %d configs", MAX_CONFIGS);
			goto out;
		}
		one = cJSON_CreateObject();
		cJSON_AddStringToObject(one, "name", name->valuestring);
		cJSON_AddItemToObject(one, "values", cJSON_Duplicate(values, 1));
		cJSON_AddItemToArray(*out, one);
	}
	rc = 0;
out:
	buf_release(&p);
	return rc;
}

static void set_param(cJSON *params, const char *name, const cJSON *value)
{
	if (cJSON_GetObjectItemCaseSensitive(params, name))
		cJSON_ReplaceItemInObjectCaseSensitive(params, name, cJSON_Duplicate(value, 1));
	else
		cJSON_AddItemToObject(params, name, cJSON_Duplicate(value, 1));
}

/* Appends the expanded configs of b to p. */
static int expand(struct pctx *c, struct vast_project *p, const struct base *b,
		  const cJSON *vars, size_t combos, yaml_node_t *name_node, const char *path,
		  const char *dir)
{
	struct buf name = BUF_INIT, why = BUF_INIT;
	int nv = cJSON_GetArraySize(vars), rc = -1;

	for (size_t k = 0; k < combos; k++) {
		struct vast_config *vc;
		size_t rest = k;

		if (p->nconfigs >= MAX_CONFIGS) {
			pj_fail(c, name_node, path, "the project expands to more than %d configs",
			     MAX_CONFIGS);
			goto out;
		}
		buf_reset(&name);
		if (nv)
			buf_printf(&name, "%s-%zu", b->name, k + 1);
		else
			buf_adds(&name, b->name);
		if (!dns1123_label(buf_str(&name), &why)) {
			pj_fail(c, name_node, path, "config name '%s' %s", buf_str(&name),
			     buf_str(&why));
			goto out;
		}
		for (size_t j = 0; j < p->nconfigs; j++) {
			if (!strcmp(p->configs[j].name, buf_str(&name))) {
				pj_fail(c, name_node, path, "config name '%s' is used twice",
				     buf_str(&name));
				goto out;
			}
		}
		p->configs = realloc(p->configs, (p->nconfigs + 1) * sizeof(*p->configs));
		if (!p->configs)
			die("out of memory");
		vc = &p->configs[p->nconfigs++];
		memset(vc, 0, sizeof(*vc));
		vc->name = buf_detach(&name, NULL);
		vc->parameters = cJSON_Duplicate(b->params, 1);
		/* mixed radix, the first variation the slowest */
		for (int j = nv - 1; j >= 0; j--) {
			const cJSON *var = cJSON_GetArrayItem(vars, j);
			const cJSON *vals = cJSON_GetObjectItemCaseSensitive(var, "values");
			size_t n = (size_t)cJSON_GetArraySize(vals);

			set_param(vc->parameters, cJSON_GetObjectItemCaseSensitive(var, "name")->valuestring,
				  cJSON_GetArrayItem(vals, (int)(rest % n)));
			rest /= n;
		}
		if (!(vc->dir = strdup(dir)))
			die("out of memory");
		vc->files = calloc(b->files.n + 1, sizeof(char *));
		if (!vc->files)
			die("out of memory");
		for (size_t j = 0; j < b->files.n; j++)
			if (!(vc->files[j] = strdup(b->files.v[j])))
				die("out of memory");
	}
	rc = 0;
out:
	buf_release(&name);
	buf_release(&why);
	return rc;
}

static int parse_config(struct pctx *c, struct vast_project *p, const cJSON *e, yaml_node_t *en,
			const char *path, const char *dir)
{
	static const char *const keys[] = { "name", "parameters", "variations", "files", NULL };
	struct base b;
	struct buf k = BUF_INIT, why = BUF_INIT, sub = BUF_INIT;
	const cJSON *v, *f;
	cJSON *vars = NULL;
	yaml_node_t *nn;
	size_t combos = 1;
	struct stat st;
	int rc = -1, i = 0;

	memset(&b, 0, sizeof(b));
	if (pj_want(c, e, en, path, cJSON_IsObject(e), "a map") < 0 ||
	    pj_keys(c, e, en, path, keys) < 0)
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(e, "name");
	nn = pj_child(c, en, "name");
	pj_path(&k, path, "name");
	if (!v) {
		pj_fail(c, en, buf_str(&k), "is required");
		goto out;
	}
	if (pj_want(c, v, nn, buf_str(&k), cJSON_IsString(v), "a string") < 0)
		goto out;
	if (!dns1123_label(v->valuestring, &why)) {
		pj_fail(c, nn, buf_str(&k), "'%s' is not a valid config name: lower case letters, "
			"digits and '-', at most 63, starting and ending with a letter or digit "
			"(no '_', spaces or '.')", v->valuestring);
		goto out;
	}
	b.name = v->valuestring;
	if ((v = cJSON_GetObjectItemCaseSensitive(e, "parameters"))) {
		pj_path(&k, path, "parameters");
		if (!(b.params = pj_flat(c, v, pj_child(c, en, "parameters"), buf_str(&k), false)))
			goto out;
	} else {
		b.params = cJSON_CreateObject();
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(e, "variations"))) {
		pj_path(&k, path, "variations");
		if (parse_variations(c, v, pj_child(c, en, "variations"), buf_str(&k), &vars,
				     &combos) < 0)
			goto out;
	} else {
		vars = cJSON_CreateArray();
	}
	if (p->scenario_file)
		files_add(&b.files, p->scenario_file);
	if ((v = cJSON_GetObjectItemCaseSensitive(e, "files"))) {
		yaml_node_t *fn = pj_child(c, en, "files");

		pj_path(&k, path, "files");
		if (pj_want(c, v, fn, buf_str(&k), cJSON_IsArray(v), "a list") < 0)
			goto out;
		cJSON_ArrayForEach(f, v) {
			yaml_node_t *fi = pj_item(c, fn, i++);

			if (pj_want(c, f, fi, buf_str(&k), cJSON_IsString(f), "a list of paths") < 0)
				goto out;
			if (!rel_ok(f->valuestring)) {
				pj_fail(c, fi, buf_str(&k), "'%s' must be a path inside the project "
				     "directory", f->valuestring);
				goto out;
			}
			if (files_walk(&b.files, dir, f->valuestring, &why) < 0) {
				pj_fail(c, fi, buf_str(&k), "%s", buf_str(&why));
				goto out;
			}
		}
	}
	buf_printf(&sub, "%s/%s", dir, b.name);
	if (stat(buf_str(&sub), &st) == 0 && S_ISDIR(st.st_mode) &&
	    files_walk(&b.files, dir, b.name, &why) < 0) {
		pj_fail(c, nn, path, "%s", buf_str(&why));
		goto out;
	}
	if (b.files.n)
		qsort(b.files.v, b.files.n, sizeof(char *), str_cmp);
	pj_path(&k, path, "name");
	rc = expand(c, p, &b, vars, combos, nn, buf_str(&k), dir);
out:
	cJSON_Delete(b.params);
	cJSON_Delete(vars);
	files_free(&b.files);
	buf_release(&k);
	buf_release(&why);
	buf_release(&sub);
	return rc;
}

/* ---- execution ------------------------------------------------------ */

static bool env_name_ok(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

/* A path of the project directory that must be a regular file. */
static int project_file(struct pctx *c, const cJSON *v, yaml_node_t *yn, const char *path,
			const char *dir, char **out)
{
	struct buf full = BUF_INIT;
	struct stat st;
	int rc = -1;

	if (pj_want(c, v, yn, path, cJSON_IsString(v), "a string") < 0)
		goto out;
	if (!rel_ok(v->valuestring)) {
		pj_fail(c, yn, path, "'%s' must be a path inside the project directory",
			v->valuestring);
		goto out;
	}
	buf_printf(&full, "%s/%s", dir, v->valuestring);
	if (stat(buf_str(&full), &st) < 0) {
		pj_fail(c, yn, path, "cannot read '%s': %s", buf_str(&full), strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		pj_fail(c, yn, path, "'%s' is not a file", buf_str(&full));
		goto out;
	}
	if (!(*out = strdup(v->valuestring)))
		die("out of memory");
	rc = 0;
out:
	buf_release(&full);
	return rc;
}

static int parse_secondary(struct pctx *c, struct vast_project *p, const cJSON *v,
			   yaml_node_t *yn, const char *path)
{
	static const char *const keys[] = { "resources", NULL };
	struct buf k = BUF_INIT, why = BUF_INIT;
	const cJSON *e;
	int rc = -1, i = 0;

	p->secondary = cJSON_CreateArray();
	if (pj_want(c, v, yn, path, cJSON_IsArray(v), "a list") < 0)
		goto out;
	cJSON_ArrayForEach(e, v) {
		yaml_node_t *en = pj_item(c, yn, i), *bn;
		const cJSON *body, *r, *s;
		char *cpu = NULL, *mem = NULL;
		cJSON *one;

		buf_reset(&k);
		buf_printf(&k, "%s.%d", path, i++);
		if (!cJSON_IsObject(e) || cJSON_GetArraySize(e) != 1) {
			pj_fail(c, en, buf_str(&k), "must be a single-key map {NAME: {resources}}");
			goto out;
		}
		body = e->child;
		bn = pj_child(c, en, body->string);
		if (!dns1123_label(body->string, &why) || !strcmp(body->string, "robovast")) {
			pj_fail(c, pj_map(c, en, body->string, true), buf_str(&k),
				"'%s' is not a valid container name%s%s", body->string,
				why.len ? ": " : "", why.len ? buf_str(&why) : " (taken)");
			goto out;
		}
		cJSON_ArrayForEach(s, p->secondary) {
			if (!strcmp(obj_str(s, "name"), body->string)) {
				pj_fail(c, en, buf_str(&k), "container '%s' is named twice",
					body->string);
				goto out;
			}
		}
		pj_path(&k, buf_str(&k), body->string);
		if (!cJSON_IsNull(body) &&
		    (pj_want(c, body, bn, buf_str(&k), cJSON_IsObject(body), "a map") < 0 ||
		     pj_keys(c, body, bn, buf_str(&k), keys) < 0))
			goto out;
		if ((r = cJSON_GetObjectItemCaseSensitive(body, "resources"))) {
			pj_path(&k, buf_str(&k), "resources");
			if (pj_resources(c, r, pj_child(c, bn, "resources"), buf_str(&k), &cpu,
					 &mem) < 0) {
				free(cpu);
				free(mem);
				goto out;
			}
		}
		one = cJSON_CreateObject();
		cJSON_AddStringToObject(one, "name", body->string);
		if (cpu)
			cJSON_AddStringToObject(one, "cpu", cpu);
		if (mem)
			cJSON_AddStringToObject(one, "memory", mem);
		cJSON_AddItemToArray(p->secondary, one);
		free(cpu);
		free(mem);
	}
	rc = 0;
out:
	buf_release(&k);
	buf_release(&why);
	return rc;
}

static int parse_execution(struct pctx *c, struct vast_project *p, const cJSON *x,
			   yaml_node_t *xn, const char *dir)
{
	static const char *const keys[] = { "image", "runs", "scenario_file", "entrypoint",
					     "timeout", "env", "resources",
					     "secondary_containers", NULL };
	struct buf k = BUF_INIT, why = BUF_INIT;
	const cJSON *v;
	cJSON dflt;
	int64_t ms;
	int rc = -1;

	if (pj_want(c, x, xn, "execution", cJSON_IsObject(x), "a map") < 0 ||
	    pj_keys(c, x, xn, "execution", keys) < 0)
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(x, "image");
	if (!v) {
		pj_fail(c, xn, "execution.image", "is required");
		goto out;
	}
	if (pj_want(c, v, pj_child(c, xn, "image"), "execution.image",
		    cJSON_IsString(v) && *v->valuestring, "a non-empty string") < 0)
		goto out;
	if (!(p->image = strdup(v->valuestring)))
		die("out of memory");
	v = cJSON_GetObjectItemCaseSensitive(x, "runs");
	if (!v) {
		pj_fail(c, xn, "execution.runs", "is required");
		goto out;
	}
	if (pj_want(c, v, pj_child(c, xn, "runs"), "execution.runs",
		    cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= 100000 &&
		    v->valuedouble == (double)(long)v->valuedouble,
		    "a positive integer") < 0)
		goto out;
	p->runs = (long)v->valuedouble;
	if ((v = cJSON_GetObjectItemCaseSensitive(x, "scenario_file")) &&
	    project_file(c, v, pj_child(c, xn, "scenario_file"), "execution.scenario_file",
			 dir, &p->scenario_file) < 0)
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(x, "entrypoint");
	if (!v) {
		memset(&dflt, 0, sizeof(dflt));
		dflt.type = cJSON_String;
		dflt.valuestring = "entrypoint.sh";
		v = &dflt;
	}
	if (project_file(c, v, pj_child(c, xn, "entrypoint"), "execution.entrypoint", dir,
			 &p->entrypoint) < 0)
		goto out;
	if ((v = cJSON_GetObjectItemCaseSensitive(x, "timeout"))) {
		yaml_node_t *tn = pj_child(c, xn, "timeout");

		if (cJSON_IsNumber(v) && v->valuedouble >= 1 &&
		    v->valuedouble == (double)(long)v->valuedouble) {
			p->timeout_s = (long)v->valuedouble;
		} else if (cJSON_IsString(v) && duration_parse_ms(v->valuestring, &ms, &why) == 0 &&
			   ms >= 1000) {
			p->timeout_s = (long)(ms / 1000);
		} else {
			pj_fail(c, tn, "execution.timeout", "must be a positive number of seconds "
				"or a duration (\"10m\"), not %s", pj_type(v));
			goto out;
		}
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(x, "env"))) {
		const cJSON *e;

		if (!(p->env = pj_flat(c, v, pj_child(c, xn, "env"), "execution.env", true)))
			goto out;
		cJSON_ArrayForEach(e, p->env) {
			if (!env_name_ok(e->string) || !strncmp(e->string, "VASTRUN_", 8)) {
				pj_fail(c, pj_child(c, xn, "env"), "execution.env",
					"'%s' is not a usable variable name", e->string);
				goto out;
			}
		}
	} else {
		p->env = cJSON_CreateObject();
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(x, "resources")) &&
	    pj_resources(c, v, pj_child(c, xn, "resources"), "execution.resources", &p->cpu,
			 &p->memory) < 0)
		goto out;
	if ((v = cJSON_GetObjectItemCaseSensitive(x, "secondary_containers"))) {
		if (parse_secondary(c, p, v, pj_child(c, xn, "secondary_containers"),
				    "execution.secondary_containers") < 0)
			goto out;
	} else {
		p->secondary = cJSON_CreateArray();
	}
	rc = 0;
out:
	buf_release(&k);
	buf_release(&why);
	return rc;
}

/* ---- the file ------------------------------------------------------- */

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	struct buf b = BUF_INIT;

	if (!slash)
		buf_adds(&b, ".");
	else if (slash == path)
		buf_adds(&b, "/");
	else
		buf_add(&b, path, (size_t)(slash - path));
	return buf_detach(&b, NULL);
}

static char *default_name(const char *path)
{
	const char *base = strrchr(path, '/');
	struct buf b = BUF_INIT;
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n > 5 && !strcmp(base + n - 5, ".vast"))
		n -= 5;
	buf_add(&b, base, n);
	return buf_detach(&b, NULL);
}

static int parse_top(struct pctx *c, struct vast_project *p, const cJSON *root,
		     yaml_node_t *rn, const char *dir)
{
	static const char *const keys[] = { "version", "metadata", "configuration", "execution",
					     NULL };
	static const char *const mkeys[] = { "name", NULL };
	struct buf k = BUF_INIT;
	const cJSON *v, *e;
	yaml_node_t *cn;
	int rc = -1, i = 0;

	if (pj_want(c, root, rn, "(document)", cJSON_IsObject(root), "a map") < 0 ||
	    pj_keys(c, root, rn, "", keys) < 0)
		goto out;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "version")) &&
	    pj_want(c, v, pj_child(c, rn, "version"), "version",
		    cJSON_IsNumber(v) && v->valuedouble == 1, "1") < 0)
		goto out;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "metadata"))) {
		yaml_node_t *mn = pj_child(c, rn, "metadata");

		if (pj_want(c, v, mn, "metadata", cJSON_IsObject(v), "a map") < 0 ||
		    pj_keys(c, v, mn, "metadata", mkeys) < 0)
			goto out;
		if ((e = cJSON_GetObjectItemCaseSensitive(v, "name"))) {
			if (pj_want(c, e, pj_child(c, mn, "name"), "metadata.name",
				    cJSON_IsString(e) && *e->valuestring, "a non-empty string") < 0)
				goto out;
			if (!(p->name = strdup(e->valuestring)))
				die("out of memory");
		}
	}
	if (!p->name)
		p->name = default_name(p->path);
	if (!(v = cJSON_GetObjectItemCaseSensitive(root, "execution"))) {
		pj_fail(c, rn, "execution", "is required");
		goto out;
	}
	if (parse_execution(c, p, v, pj_child(c, rn, "execution"), dir) < 0)
		goto out;
	if (!(v = cJSON_GetObjectItemCaseSensitive(root, "configuration"))) {
		pj_fail(c, rn, "configuration", "is required");
		goto out;
	}
	cn = pj_child(c, rn, "configuration");
	if (pj_want(c, v, cn, "configuration", cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0,
		    "a non-empty list") < 0)
		goto out;
	cJSON_ArrayForEach(e, v) {
		buf_reset(&k);
		buf_printf(&k, "configuration.%d", i);
		if (parse_config(c, p, e, pj_item(c, cn, i), buf_str(&k), dir) < 0)
			goto out;
		i++;
	}
	rc = 0;
out:
	buf_release(&k);
	return rc;
}

int project_load(const char *path, const char *context, bool context_given,
		 struct vast_project *p, struct buf *err)
{
	struct pctx c;
	struct buf text = BUF_INIT, names = BUF_INIT;
	yaml_parser_t parser;
	yaml_document_t doc;
	bool parser_ok = false, doc_ok = false;
	char *dir = NULL;
	const cJSON *it;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	memset(&c, 0, sizeof(c));
	if (!(p->path = strdup(path)))
		die("out of memory");
	c.file = path;
	c.doc = &doc;
	c.err = err;
	c.context = context;
	c.context_given = context_given;
	c.contexts = cJSON_CreateArray();
	if (buf_read_file(&text, path) < 0) {
		buf_set(err, "cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	if (!(p->raw = yaml_parse_one(text.data ? text.data : "", text.len, path, err)))
		goto out;
	if (!yaml_parser_initialize(&parser))
		die("out of memory");
	parser_ok = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf_str(&text), text.len);
	if (!yaml_parser_load(&parser, &doc)) {
		buf_set(err, "cannot parse '%s': %s", path,
			parser.problem ? parser.problem : "bad YAML");
		goto out;
	}
	doc_ok = true;
	dir = dir_of(path);
	if (parse_top(&c, p, p->raw, yaml_document_get_root_node(&doc), dir) < 0)
		goto out;
	if (cJSON_GetArraySize(c.contexts) > 1 && !context_given) {
		cJSON_ArrayForEach(it, c.contexts)
			buf_printf(&names, "%s%s", names.len ? ", " : "", it->valuestring);
		pj_fail(&c, c.first_list, buf_str(&c.first_key), "per-context values name "
			"%d contexts (%s): give --context", cJSON_GetArraySize(c.contexts),
			buf_str(&names));
		goto out;
	}
	if (c.nomatch.len) {
		buf_set(err, "%s", buf_str(&c.nomatch));
		goto out;
	}
	rc = 0;
out:
	if (doc_ok)
		yaml_document_delete(&doc);
	if (parser_ok)
		yaml_parser_delete(&parser);
	if (rc < 0)
		project_free(p);
	cJSON_Delete(c.contexts);
	buf_release(&c.first_key);
	buf_release(&c.nomatch);
	buf_release(&text);
	buf_release(&names);
	free(dir);
	return rc;
}

void project_free(struct vast_project *p)
{
	for (size_t i = 0; i < p->nconfigs; i++) {
		struct vast_config *vc = &p->configs[i];

		free(vc->name);
		cJSON_Delete(vc->parameters);
		free(vc->dir);
		for (char **f = vc->files; f && *f; f++)
			free(*f);
		free(vc->files);
	}
	free(p->configs);
	free(p->path);
	free(p->name);
	free(p->image);
	free(p->scenario_file);
	free(p->entrypoint);
	cJSON_Delete(p->env);
	free(p->cpu);
	free(p->memory);
	cJSON_Delete(p->secondary);
	cJSON_Delete(p->raw);
	memset(p, 0, sizeof(*p));
}
