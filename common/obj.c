/* obj.c - helpers over cJSON for Kubernetes objects, and the value syntaxes
 * of the Kubernetes API (see obj.h). */
#include "obj.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* ---- paths ---------------------------------------------------------- */

static void *must(void *p)
{
	if (!p)
		die("out of memory");
	return p;
}

/* A decimal array index ("0", "12"), or -1. */
static int parse_index(const char *s)
{
	long v = 0;

	if (!*s || strlen(s) > 9)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return (int)v;
}

/* The member key of an object, or element key (an index) of an array. */
static cJSON *child(const cJSON *node, const char *key)
{
	int i;

	if (cJSON_IsObject(node))
		return cJSON_GetObjectItemCaseSensitive(node, key);
	if (cJSON_IsArray(node) && (i = parse_index(key)) >= 0)
		return cJSON_GetArrayItem(node, i);
	return NULL;
}

/* Follows the non-empty path from node. With create, a missing member of an
 * object is created as an empty object. With last, stops before the final
 * step, puts its key into *last and returns its parent. NULL when a step is
 * missing, not a container, or empty ("a..b"). */
static cJSON *walk(cJSON *node, const char *path, bool create, struct buf *last)
{
	struct buf step = BUF_INIT;
	const char *p = path, *dot;
	cJSON *next;

	for (;;) {
		dot = strchr(p, '.');
		buf_reset(&step);
		buf_add(&step, p, dot ? (size_t)(dot - p) : strlen(p));
		if (!step.len) {
			node = NULL;
			break;
		}
		if (!dot && last) {
			buf_reset(last);
			buf_adds(last, buf_str(&step));
			break;
		}
		next = child(node, buf_str(&step));
		if (!next && create && cJSON_IsObject(node))
			next = must(cJSON_AddObjectToObject(node, buf_str(&step)));
		node = next;
		if (!node || !dot)
			break;
		p = dot + 1;
	}
	buf_release(&step);
	return node;
}

/* Replaces or adds the member key of the object parent. */
static void put_member(cJSON *parent, const char *key, cJSON *take_value)
{
	if (cJSON_GetObjectItemCaseSensitive(parent, key))
		cJSON_ReplaceItemInObjectCaseSensitive(parent, key, take_value);
	else
		cJSON_AddItemToObject(parent, key, take_value);
}

const cJSON *obj_get(const cJSON *o, const char *path)
{
	if (!o || !path)
		return NULL;
	if (!*path)
		return o;
	return walk((cJSON *)o, path, false, NULL);
}

const char *obj_str(const cJSON *o, const char *path)
{
	const cJSON *v = obj_get(o, path);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int64_t obj_int(const cJSON *o, const char *path, int64_t def)
{
	const cJSON *v = obj_get(o, path);
	double d;

	if (!cJSON_IsNumber(v))
		return def;
	d = v->valuedouble;
	/* 2^63 is exact as a double; NaN fails both comparisons. */
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
		return def;
	return (int64_t)d;
}

bool obj_bool(const cJSON *o, const char *path, bool def)
{
	const cJSON *v = obj_get(o, path);

	if (cJSON_IsTrue(v))
		return true;
	if (cJSON_IsFalse(v))
		return false;
	return def;
}

cJSON *obj_set(cJSON *o, const char *path, cJSON *take_value)
{
	struct buf key = BUF_INIT;
	cJSON *parent = NULL, *rc = NULL;
	int i;

	if (!o || !path || !*path || !take_value)
		goto out;
	parent = walk(o, path, true, &key);
	if (cJSON_IsObject(parent)) {
		put_member(parent, buf_str(&key), take_value);
		rc = take_value;
	} else if (cJSON_IsArray(parent) && (i = parse_index(buf_str(&key))) >= 0 &&
		   i < cJSON_GetArraySize(parent)) {
		cJSON_ReplaceItemInArray(parent, i, take_value);
		rc = take_value;
	}
out:
	if (!rc)
		cJSON_Delete(take_value);
	buf_release(&key);
	return rc;
}

cJSON *obj_set_str(cJSON *o, const char *path, const char *value)
{
	return obj_set(o, path, must(value ? cJSON_CreateString(value) : cJSON_CreateNull()));
}

cJSON *obj_ensure(cJSON *o, const char *path)
{
	cJSON *node;

	if (!o || !path)
		return NULL;
	node = *path ? walk(o, path, true, NULL) : o;
	return cJSON_IsObject(node) ? node : NULL;
}

bool obj_remove(cJSON *o, const char *path)
{
	struct buf key = BUF_INIT;
	cJSON *parent;
	bool rc = false;
	int i;

	if (!o || !path || !*path)
		goto out;
	parent = walk(o, path, false, &key);
	if (cJSON_IsObject(parent)) {
		rc = cJSON_GetObjectItemCaseSensitive(parent, buf_str(&key)) != NULL;
		cJSON_DeleteItemFromObjectCaseSensitive(parent, buf_str(&key));
	} else if (cJSON_IsArray(parent) && (i = parse_index(buf_str(&key))) >= 0 &&
		   i < cJSON_GetArraySize(parent)) {
		cJSON_DeleteItemFromArray(parent, i);
		rc = true;
	}
out:
	buf_release(&key);
	return rc;
}

/* ---- Kubernetes objects ---------------------------------------------- */

const char *obj_api_version(const cJSON *o) { return obj_str(o, "apiVersion"); }
const char *obj_kind(const cJSON *o) { return obj_str(o, "kind"); }
const char *obj_name(const cJSON *o) { return obj_str(o, "metadata.name"); }
const char *obj_namespace(const cJSON *o) { return obj_str(o, "metadata.namespace"); }

/* metadata.<map>[key] when a string. */
static const char *map_get(const cJSON *o, const char *map, const char *key)
{
	const cJSON *m = obj_get(o, map), *v;

	if (!cJSON_IsObject(m) || !key)
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(m, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void map_set(cJSON *o, const char *map, const char *key, const char *value)
{
	cJSON *m;

	if (!key)
		return;
	if (!value) {
		m = (cJSON *)obj_get(o, map);
		if (cJSON_IsObject(m))
			cJSON_DeleteItemFromObjectCaseSensitive(m, key);
		return;
	}
	if ((m = obj_ensure(o, map)))
		put_member(m, key, must(cJSON_CreateString(value)));
}

const char *obj_label(const cJSON *o, const char *key)
{
	return map_get(o, "metadata.labels", key);
}

const char *obj_annotation(const cJSON *o, const char *key)
{
	return map_get(o, "metadata.annotations", key);
}

void obj_set_label(cJSON *o, const char *key, const char *value)
{
	map_set(o, "metadata.labels", key, value);
}

void obj_set_annotation(cJSON *o, const char *key, const char *value)
{
	map_set(o, "metadata.annotations", key, value);
}

cJSON *obj_new(const char *api_version, const char *kind, const char *ns, const char *name)
{
	cJSON *o = must(cJSON_CreateObject()), *meta;

	if (api_version)
		must(cJSON_AddStringToObject(o, "apiVersion", api_version));
	if (kind)
		must(cJSON_AddStringToObject(o, "kind", kind));
	meta = must(cJSON_AddObjectToObject(o, "metadata"));
	if (name && *name)
		must(cJSON_AddStringToObject(meta, "name", name));
	if (ns && *ns)
		must(cJSON_AddStringToObject(meta, "namespace", ns));
	return o;
}

void obj_group(const char *api_version, struct buf *out)
{
	const char *slash = api_version ? strchr(api_version, '/') : NULL;

	if (slash)
		buf_add(out, api_version, (size_t)(slash - api_version));
}

/* ---- names and labels --------------------------------------------------
 * The messages are those of k8s.io/apimachinery/pkg/util/validation, with
 * RegexError()'s spacing ("'my-name',  or '123-abc'") kept. */

#define LABEL_FMT "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define LABEL_MSG "a lowercase RFC 1123 label must consist of lower case " \
	"alphanumeric characters or '-', and must start and end with an " \
	"alphanumeric character (e.g. 'my-name',  or '123-abc', regex used " \
	"for validation is '" LABEL_FMT "')"
#define SUBDOMAIN_FMT LABEL_FMT "(\\." LABEL_FMT ")*"
#define SUBDOMAIN_MSG "a lowercase RFC 1123 subdomain must consist of lower " \
	"case alphanumeric characters, '-' or '.', and must start and end with " \
	"an alphanumeric character (e.g. 'example.com', regex used for " \
	"validation is '" SUBDOMAIN_FMT "')"
#define QNAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define QNAME_MSG "must consist of alphanumeric characters, '-', '_' or " \
	"'.', and must start and end with an alphanumeric character (e.g. " \
	"'MyName',  or 'my.name',  or '123-abc', regex used for validation " \
	"is '" QNAME_FMT "')"
#define QKEY_MSG "a qualified name " QNAME_MSG " with an optional DNS " \
	"subdomain prefix and '/' (e.g. 'example.com/MyName')"
#define VALUE_MSG "a valid label must be an empty string or consist of " \
	"alphanumeric characters, '-', '_' or '.', and must start and end " \
	"with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or " \
	"'12345', regex used for validation is '(" QNAME_FMT ")?')"
#define LABEL_MAX 63
#define SUBDOMAIN_MAX 253
#define MAXLEN_MSG "must be no more than %d characters"

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool alnum(char c)
{
	return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* s[0..n) matches LABEL_FMT. */
static bool match_label(const char *s, size_t n)
{
	if (!n || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* s[0..n) matches SUBDOMAIN_FMT. */
static bool match_subdomain(const char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (!match_label(s + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

/* s[0..n) matches QNAME_FMT. */
static bool match_qname(const char *s, size_t n)
{
	if (!n || !alnum(s[0]) || !alnum(s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* Adds one message to *why (", " between messages); counts it in *bad. */
static void why_add(struct buf *why, int *bad, const char *prefix, const char *msg)
{
	(*bad)++;
	if (!why)
		return;
	if (why->len)
		buf_adds(why, ", ");
	buf_adds(why, prefix);
	buf_adds(why, msg);
}

static void why_maxlen(struct buf *why, int *bad, const char *prefix, int max)
{
	struct buf m = BUF_INIT;

	buf_printf(&m, MAXLEN_MSG, max);
	why_add(why, bad, prefix, buf_str(&m));
	buf_release(&m);
}

static void subdomain_check(const char *s, size_t n, const char *prefix,
			    struct buf *why, int *bad)
{
	if (n > SUBDOMAIN_MAX)
		why_maxlen(why, bad, prefix, SUBDOMAIN_MAX);
	if (!match_subdomain(s, n))
		why_add(why, bad, prefix, SUBDOMAIN_MSG);
}

bool dns1123_label(const char *s, struct buf *why)
{
	size_t n = s ? strlen(s) : 0;
	int bad = 0;

	if (why)
		buf_reset(why);
	if (n > LABEL_MAX)
		why_maxlen(why, &bad, "", LABEL_MAX);
	if (!match_label(s, n)) {
		if (match_subdomain(s, n))
			why_add(why, &bad, "", "must not contain dots");
		else
			why_add(why, &bad, "", LABEL_MSG);
	}
	return !bad;
}

bool dns1123_subdomain(const char *s, struct buf *why)
{
	int bad = 0;

	if (why)
		buf_reset(why);
	subdomain_check(s, s ? strlen(s) : 0, "", why, &bad);
	return !bad;
}

bool label_key_valid(const char *s, struct buf *why)
{
	const char *slash, *name;
	int bad = 0;

	if (why)
		buf_reset(why);
	if (!s)
		s = "";
	name = s;
	if ((slash = strchr(s, '/'))) {
		if (strchr(slash + 1, '/')) {
			why_add(why, &bad, "", QKEY_MSG);
			return false;
		}
		if (slash == s)
			why_add(why, &bad, "prefix part ", "must be non-empty");
		else
			subdomain_check(s, (size_t)(slash - s), "prefix part ", why, &bad);
		name = slash + 1;
	}
	if (!*name)
		why_add(why, &bad, "name part ", "must be non-empty");
	else if (strlen(name) > LABEL_MAX)
		why_maxlen(why, &bad, "name part ", LABEL_MAX);
	if (!match_qname(name, strlen(name)))
		why_add(why, &bad, "name part ", QNAME_MSG);
	return !bad;
}

bool label_value_valid(const char *s, struct buf *why)
{
	size_t n = s ? strlen(s) : 0;
	int bad = 0;

	if (why)
		buf_reset(why);
	if (n > LABEL_MAX)
		why_maxlen(why, &bad, "", LABEL_MAX);
	if (n && !match_qname(s, n))
		why_add(why, &bad, "", VALUE_MSG);
	return !bad;
}

const cJSON *obj_condition(const cJSON *o, const char *type, const char *status)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, obj_get(o, "status.conditions")) {
		const char *t = obj_str(c, "type"), *st = obj_str(c, "status");

		if (t && st && !strcmp(t, type) && !strcmp(st, status))
			return c;
	}
	return NULL;
}

cJSON *obj_put(cJSON *o, const char *key, cJSON *take)
{
	if (!take)
		die("out of memory");
	if (cJSON_GetObjectItemCaseSensitive(o, key))
		cJSON_ReplaceItemInObjectCaseSensitive(o, key, take);
	else
		cJSON_AddItemToObject(o, key, take);
	return take;
}
