/* project_yaml.c - the position-aware helpers of project.c (see
 * project.h): errors "FILE:LINE: KEY: why", type and key checks, maps given
 * as lists of single-key maps, and per-context resource values.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "obj.h"
#include "project.h"
int pj_line(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 1;
}

int pj_fail(struct pctx *c, const yaml_node_t *n, const char *key, const char *fmt, ...)
{
	va_list ap;

	buf_set(c->err, "%s:%d: %s: ", c->file, pj_line(n), key);
	va_start(ap, fmt);
	buf_vprintf(c->err, fmt, ap);
	va_end(ap);
	return -1;
}

/* The value node (or key node with want_key) of key in mapping node n. */
yaml_node_t *pj_map(struct pctx *c, yaml_node_t *n, const char *key, bool want_key)
{
	yaml_node_pair_t *p;

	if (!n || n->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    strlen(key) == k->data.scalar.length &&
		    !memcmp(k->data.scalar.value, key, k->data.scalar.length))
			return want_key ? k : yaml_document_get_node(c->doc, p->value);
	}
	return NULL;
}

yaml_node_t *pj_item(struct pctx *c, yaml_node_t *n, int i)
{
	if (!n || n->type != YAML_SEQUENCE_NODE ||
	    i >= n->data.sequence.items.top - n->data.sequence.items.start)
		return NULL;
	return yaml_document_get_node(c->doc, n->data.sequence.items.start[i]);
}

/* The value node of key, else the parent (for a line). */
yaml_node_t *pj_child(struct pctx *c, yaml_node_t *n, const char *key)
{
	yaml_node_t *v = pj_map(c, n, key, false);

	return v ? v : n;
}

const char *pj_type(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return "a map";
	if (cJSON_IsArray(v))
		return "a list";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v) || cJSON_IsRaw(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	return "null";
}

void pj_path(struct buf *out, const char *parent, const char *key)
{
	buf_reset(out);
	if (parent && *parent)
		buf_printf(out, "%s.%s", parent, key);
	else
		buf_adds(out, key);
}

/* Every key of map o must be in allowed (NULL-terminated). */
int pj_keys(struct pctx *c, const cJSON *o, yaml_node_t *yn, const char *path,
		      const char *const *allowed)
{
	const cJSON *it;
	struct buf p = BUF_INIT;
	int rc = 0;

	cJSON_ArrayForEach(it, o) {
		const char *const *a;

		for (a = allowed; *a && strcmp(*a, it->string); a++)
			;
		if (*a)
			continue;
		pj_path(&p, path, it->string);
		rc = pj_fail(c, pj_map(c, yn, it->string, true), buf_str(&p), "unknown key");
		break;
	}
	buf_release(&p);
	return rc;
}

int pj_want(struct pctx *c, const cJSON *v, yaml_node_t *yn, const char *path,
		cJSON_bool ok, const char *what)
{
	if (ok)
		return 0;
	return pj_fail(c, yn, path, "must be %s, not %s", what, pj_type(v));
}

/* A scalar as text: strings as they are, numbers in their shortest form,
 * booleans as true/false. NULL for null and collections. */
char *pj_text(const cJSON *v)
{
	struct buf b = BUF_INIT;

	if (cJSON_IsString(v)) {
		buf_adds(&b, v->valuestring);
	} else if (cJSON_IsRaw(v)) {
		buf_adds(&b, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		/* the range first: casting a double outside long long's is undefined */
		if (v->valuedouble > -1e15 && v->valuedouble < 1e15 &&
		    v->valuedouble == (double)(long long)v->valuedouble)
			buf_printf(&b, "%lld", (long long)v->valuedouble);
		else
			buf_printf(&b, "%.17g", v->valuedouble);
	} else if (cJSON_IsBool(v)) {
		buf_adds(&b, cJSON_IsTrue(v) ? "true" : "false");
	} else {
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static void note_context(struct pctx *c, const char *name)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, c->contexts)
		if (!strcmp(it->valuestring, name))
			return;
	cJSON_AddItemToArray(c->contexts, cJSON_CreateString(name));
}

/* A resource value: scalar or per-context list; *out the quantity text for
 * the active context (NULL when the context has no entry: then c->nomatch
 * says so). what: "cpu" or "memory". */
static int resource_value(struct pctx *c, const cJSON *v, yaml_node_t *yn, const char *path,
			  const char *what, char **out)
{
	struct buf why = BUF_INIT;
	const cJSON *pick = NULL;
	yaml_node_t *pick_node = yn;
	int64_t q;
	int rc = -1, i = 0;
	const cJSON *e;

	*out = NULL;
	if (cJSON_IsArray(v)) {
		if (!c->first_list) {
			c->first_list = yn;
			buf_adds(&c->first_key, path);
		}
		cJSON_ArrayForEach(e, v) {
			yaml_node_t *en = pj_item(c, yn, i++);

			if (!cJSON_IsObject(e) || cJSON_GetArraySize(e) != 1) {
				pj_fail(c, en, path, "must be a scalar or a list of single-key maps "
				     "{context: value}");
				goto out;
			}
			note_context(c, e->child->string);
			if (c->context && !strcmp(e->child->string, c->context)) {
				pick = e->child;
				pick_node = pj_child(c, en, e->child->string);
			}
		}
		if (!pick) {
			if (!c->nomatch.len)
				buf_printf(&c->nomatch, "%s:%d: %s: no entry for context '%s'",
					   c->file, pj_line(yn), path,
					   c->context ? c->context : "(none)");
			rc = 0;
			goto out;
		}
	} else {
		pick = v;
	}
	if (cJSON_IsObject(pick) || cJSON_IsArray(pick) || cJSON_IsNull(pick) ||
	    cJSON_IsBool(pick)) {
		pj_fail(c, pick_node, path, "must be a quantity, not %s", pj_type(pick));
		goto out;
	}
	*out = pj_text(pick);
	if ((!strcmp(what, "cpu") ? quantity_milli(*out, &q, &why)
				  : quantity_value(*out, &q, &why)) < 0 || q <= 0) {
		pj_fail(c, pick_node, path, "'%s' is not a positive quantity", *out);
		free(*out);
		*out = NULL;
		goto out;
	}
	rc = 0;
out:
	buf_release(&why);
	return rc;
}

/* resources: {cpu, memory} into *cpu, *memory (NULL when absent). */
int pj_resources(struct pctx *c, const cJSON *r, yaml_node_t *yn, const char *path,
		     char **cpu, char **memory)
{
	static const char *const keys[] = { "cpu", "memory", NULL };
	struct buf p = BUF_INIT;
	const cJSON *v;
	int rc = -1;

	if (pj_want(c, r, yn, path, cJSON_IsObject(r), "a map") < 0 ||
	    pj_keys(c, r, yn, path, keys) < 0)
		goto out;
	if ((v = cJSON_GetObjectItemCaseSensitive(r, "cpu"))) {
		pj_path(&p, path, "cpu");
		if (resource_value(c, v, pj_child(c, yn, "cpu"), buf_str(&p), "cpu", cpu) < 0)
			goto out;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(r, "memory"))) {
		pj_path(&p, path, "memory");
		if (resource_value(c, v, pj_child(c, yn, "memory"), buf_str(&p), "memory",
				   memory) < 0)
			goto out;
	}
	rc = 0;
out:
	buf_release(&p);
	return rc;
}

/* A list of single-key maps (or a map) into a new flat object. strings:
 * values must be scalars and become strings (env). */
cJSON *pj_flat(struct pctx *c, const cJSON *v, yaml_node_t *yn, const char *path,
		       bool strings)
{
	cJSON *out = cJSON_CreateObject();
	const cJSON *e, *kv;
	int i = 0;

	if (cJSON_IsObject(v)) {
		cJSON *wrap = cJSON_CreateArray();

		cJSON_AddItemReferenceToArray(wrap, (cJSON *)v);
		cJSON_ArrayForEach(kv, v) {
			char *t;

			if (!strings) {
				cJSON_AddItemToObject(out, kv->string, cJSON_Duplicate(kv, 1));
				continue;
			}
			if (!(t = pj_text(kv))) {
				pj_fail(c, pj_child(c, yn, kv->string), path,
				     "'%s' must be a scalar", kv->string);
				cJSON_Delete(wrap);
				goto bad;
			}
			cJSON_AddItemToObject(out, kv->string, cJSON_CreateString(t));
			free(t);
		}
		cJSON_Delete(wrap);
		return out;
	}
	if (!cJSON_IsArray(v)) {
		pj_fail(c, yn, path, "must be a list of single-key maps, not %s", pj_type(v));
		goto bad;
	}
	cJSON_ArrayForEach(e, v) {
		yaml_node_t *en = pj_item(c, yn, i++);
		char *t;

		if (!cJSON_IsObject(e) || cJSON_GetArraySize(e) != 1) {
			pj_fail(c, en, path, "must be a list of single-key maps, not a list of %s",
			     cJSON_IsObject(e) ? "maps with several keys" : pj_type(e));
			goto bad;
		}
		kv = e->child;
		cJSON_DeleteItemFromObjectCaseSensitive(out, kv->string);
		if (!strings) {
			cJSON_AddItemToObject(out, kv->string, cJSON_Duplicate(kv, 1));
			continue;
		}
		if (!(t = pj_text(kv))) {
			pj_fail(c, pj_child(c, en, kv->string), path, "'%s' must be a scalar",
			     kv->string);
			goto bad;
		}
		cJSON_AddItemToObject(out, kv->string, cJSON_CreateString(t));
		free(t);
	}
	return out;
bad:
	cJSON_Delete(out);
	return NULL;
}
