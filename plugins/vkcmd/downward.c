/* downward.c - downward API volume items: pod fields and container
 * resources written as files, in the words Kubernetes writes them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "obj.h"
#include "vkcmd_io.h"

/* Go's %q of s, appended to out (printable bytes as they are, UTF-8 kept). */
static void go_quote(struct buf *out, const char *s)
{
	buf_addch(out, '"');
	for (; *s; s++) {
		unsigned char c = *s;
		switch (c) {
		case '"': buf_adds(out, "\\\""); break;
		case '\\': buf_adds(out, "\\\\"); break;
		case '\a': buf_adds(out, "\\a"); break;
		case '\b': buf_adds(out, "\\b"); break;
		case '\f': buf_adds(out, "\\f"); break;
		case '\n': buf_adds(out, "\\n"); break;
		case '\r': buf_adds(out, "\\r"); break;
		case '\t': buf_adds(out, "\\t"); break;
		case '\v': buf_adds(out, "\\v"); break;
		default:
			if (c < 0x20 || c == 0x7f)
				buf_printf(out, "\\x%02x", c);
			else
				buf_addch(out, c);
		}
	}
	buf_addch(out, '"');
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Kubernetes' fieldpath.FormatMap: sorted k="v" lines, no final newline. */
static void format_map(const cJSON *m, struct buf *out)
{
	const cJSON *it;
	const char **keys;
	size_t n = 0;

	if (!(keys = calloc(cJSON_GetArraySize(m) + 1, sizeof(*keys))))
		return;
	cJSON_ArrayForEach(it, m)
		if (cJSON_IsString(it))
			keys[n++] = it->string;
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addch(out, '\n');
		buf_adds(out, keys[i]);
		buf_addch(out, '=');
		go_quote(out, cJSON_GetObjectItemCaseSensitive(m, keys[i])->valuestring);
	}
	free(keys);
}

/* metadata.labels['k'] -> "k" in key; 1 when path has that form. */
static int subscript(const char *path, const char *prefix, struct buf *key)
{
	size_t pl = strlen(prefix), l = strlen(path);

	if (strncmp(path, prefix, pl) || l < pl + 4 || path[pl] != '[' ||
	    path[pl + 1] != '\'' || path[l - 1] != ']' || path[l - 2] != '\'')
		return 0;
	buf_add(key, path + pl + 2, l - pl - 4);
	return 1;
}

static int field_value(const cJSON *pod, const char *fp, struct buf *out,
		       struct buf *err)
{
	struct buf key = BUF_INIT;
	const char *v = NULL;
	int rc = 0;

	if (!strcmp(fp, "metadata.name") || !strcmp(fp, "metadata.namespace") ||
	    !strcmp(fp, "metadata.uid")) {
		v = obj_str(pod, fp);
		buf_adds(out, v ? v : "");
	} else if (!strcmp(fp, "metadata.labels") || !strcmp(fp, "metadata.annotations")) {
		format_map(obj_get(pod, fp), out);
	} else if (subscript(fp, "metadata.labels", &key)) {
		v = obj_label(pod, key.data);
		buf_adds(out, v ? v : "");
	} else if (subscript(fp, "metadata.annotations", &key)) {
		v = obj_annotation(pod, key.data);
		buf_adds(out, v ? v : "");
	} else {
		buf_set(err, "unsupported fieldPath '%s' in a downwardAPI volume", fp);
		rc = -1;
	}
	buf_release(&key);
	return rc;
}

/* A quantity field as a string (cJSON may hold it as a number). */
static const char *quantity_text(const cJSON *q, char *tmp, size_t size)
{
	if (cJSON_IsString(q))
		return q->valuestring;
	if (cJSON_IsNumber(q)) {
		snprintf(tmp, size, "%.17g", q->valuedouble);
		return tmp;
	}
	return NULL;
}

static const cJSON *find_container(const cJSON *pod, const char *name)
{
	const char *lists[] = { "spec.containers", "spec.initContainers" };
	const cJSON *c;

	for (size_t i = 0; i < 2; i++)
		cJSON_ArrayForEach(c, obj_get(pod, lists[i])) {
			const char *n = obj_str(c, "name");
			if (n && name && !strcmp(n, name))
				return c;
		}
	return NULL;
}

static int resource_value(const cJSON *pod, const cJSON *ref, struct buf *out,
			  struct buf *err)
{
	const char *cname = obj_str(ref, "containerName");
	const char *res = obj_str(ref, "resource");
	const cJSON *c = find_container(pod, cname), *resources, *q;
	char tmp[64], dtmp[64];
	const char *dot, *qs, *ds;
	bool cpu;
	int64_t val, div;

	if (!c || !res || !(dot = strchr(res, '.')) ||
	    (strncmp(res, "limits.", 7) && strncmp(res, "requests.", 9))) {
		buf_set(err, "resourceFieldRef: unknown container '%s' or resource '%s'",
			cname ? cname : "", res ? res : "");
		return -1;
	}
	cpu = !strcmp(dot + 1, "cpu");
	if (!cpu && strcmp(dot + 1, "memory") && strcmp(dot + 1, "ephemeral-storage")) {
		buf_set(err, "resourceFieldRef: unsupported resource '%s'", res);
		return -1;
	}
	resources = obj_get(c, "resources");
	q = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(resources, res[0] == 'l' ? "limits" :
						 "requests"), dot + 1);
	if (!q && res[0] == 'r')	/* a request defaults to the limit */
		q = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(resources, "limits"), dot + 1);
	qs = quantity_text(q, tmp, sizeof(tmp));
	ds = quantity_text(obj_get(ref, "divisor"), dtmp, sizeof(dtmp));
	if (!ds)
		ds = "1";
	if (qs ? (cpu ? quantity_milli(qs, &val, err) : quantity_value(qs, &val, err)) < 0
	       : 0)
		return -1;
	if (!qs && res[0] == 'l')	/* no limit: the node's capacity */
		val = cpu ? sysconf(_SC_NPROCESSORS_ONLN) * 1000 :
		      (int64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
	else if (!qs)
		val = 0;
	if ((cpu ? quantity_milli(ds, &div, err) : quantity_value(ds, &div, err)) < 0)
		return -1;
	if (div <= 0) {
		buf_set(err, "resourceFieldRef: invalid divisor '%s'", ds);
		return -1;
	}
	buf_printf(out, "%lld", (long long)((val + div - 1) / div));
	return 0;
}

int downward_items(const cJSON *pod, const cJSON *items, const char *dir,
		   mode_t def_mode, struct buf *err)
{
	struct buf v = BUF_INIT;
	const cJSON *it;
	int rc = -1;

	cJSON_ArrayForEach(it, items) {
		const char *path = obj_str(it, "path"), *fp = obj_str(it, "fieldRef.fieldPath");
		const cJSON *rf = obj_get(it, "resourceFieldRef");
		int64_t m = obj_int(it, "mode", -1);

		buf_reset(&v);
		if (!path) {
			buf_set(err, "a downwardAPI item has no path");
			goto out;
		}
		if (fp ? field_value(pod, fp, &v, err) < 0 :
		    rf ? resource_value(pod, rf, &v, err) < 0 :
		    (buf_set(err, "downwardAPI item '%s' has no fieldRef or "
			     "resourceFieldRef", path), 1))
			goto out;
		if (vk_write_file(dir, path, v.data ? v.data : "", v.len,
				  m >= 0 && m <= 0777 ? (mode_t)m : def_mode, err) < 0)
			goto out;
	}
	rc = 0;
out:
	buf_release(&v);
	return rc;
}
