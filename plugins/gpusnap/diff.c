/* diff.c - compares snapshots: every reading (TYPE/SUBTYPE KEY) that
 * changed, appeared or disappeared, one line each; see gpusnap.h.
 *
 * Within a subtype the keys are compared in sorted order, by merging the two
 * sorted key lists, so a sysctl subtype of thousands of keys costs
 * n log n, not n^2. Measurements and subtypes keep the order of A, then
 * those only B has.
 */
#include <stdlib.h>
#include <string.h>

#include "gpusnap.h"
#include "log.h"
#include "obj.h"

/* A reading's value as the diff prints it: strings as they are, other
 * scalars as JSON, anything else as compact JSON. */
static void value_text(const cJSON *v, struct buf *out)
{
	char *s;

	buf_reset(out);
	if (cJSON_IsString(v)) {
		buf_adds(out, v->valuestring);
		return;
	}
	if (!(s = cJSON_PrintUnformatted(v)))
		die("out of memory");
	buf_adds(out, s);
	free(s);
}

static int cmp_key(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

	return strcmp(x->string, y->string);
}

/* The members of object o sorted by key, in a new array (*n of them). */
static const cJSON **sorted_members(const cJSON *o, size_t *n)
{
	const cJSON **v;
	const cJSON *it;
	size_t i = 0;

	*n = cJSON_IsObject(o) ? (size_t)cJSON_GetArraySize(o) : 0;
	v = calloc(*n ? *n : 1, sizeof(*v));
	if (!v)
		die("out of memory");
	if (*n)
		cJSON_ArrayForEach(it, o)
			if (it->string && i < *n)
				v[i++] = it;
	*n = i;
	qsort(v, *n, sizeof(*v), cmp_key);
	return v;
}

struct printer {
	FILE *out;
	const char *header;	/* printed before the first change, then NULL */
	int changes;
};

static void emit(struct printer *p, const char *fmt, const char *type, const char *sub,
		 const char *key, const char *a, const char *b)
{
	if (p->header) {
		fprintf(p->out, "%s\n", p->header);
		p->header = NULL;
	}
	p->changes++;
	if (b)
		fprintf(p->out, fmt, type, sub, key, a, b);
	else
		fprintf(p->out, fmt, type, sub, key, a);
}

/* Compares two data maps (either may be NULL: all added or all removed). */
static void diff_data(struct printer *p, const char *type, const char *sub,
		      const cJSON *a, const cJSON *b)
{
	size_t na, nb, i = 0, j = 0;
	const cJSON **va = sorted_members(a, &na), **vb = sorted_members(b, &nb);
	struct buf ta = BUF_INIT, tb = BUF_INIT;

	while (i < na || j < nb) {
		int c = i >= na ? 1 : j >= nb ? -1 : strcmp(va[i]->string, vb[j]->string);

		if (c < 0) {
			value_text(va[i], &ta);
			emit(p, "- %s/%s %s: %s\n", type, sub, va[i]->string, buf_str(&ta), NULL);
			i++;
		} else if (c > 0) {
			value_text(vb[j], &tb);
			emit(p, "+ %s/%s %s: %s\n", type, sub, vb[j]->string, buf_str(&tb), NULL);
			j++;
		} else {
			if (!cJSON_Compare(va[i], vb[j], true)) {
				value_text(va[i], &ta);
				value_text(vb[j], &tb);
				emit(p, "%s/%s %s: %s -> %s\n", type, sub, va[i]->string,
				     buf_str(&ta), buf_str(&tb));
			}
			i++;
			j++;
		}
	}
	buf_release(&tb);
	buf_release(&ta);
	free(va);
	free(vb);
}

/* The element of arr whose member key is the string value, or NULL. */
static const cJSON *find_by(const cJSON *arr, const char *key, const char *value)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr) {
		const char *s = obj_str(it, key);

		if (s && !strcmp(s, value))
			return it;
	}
	return NULL;
}

/* Subtypes of a measurement: a's in order (b's match or NULL), then b's
 * that a lacks. */
static void diff_measurement(struct printer *p, const char *type, const cJSON *ma,
			     const cJSON *mb)
{
	const cJSON *sa = obj_get(ma, "subtypes"), *sb = obj_get(mb, "subtypes"), *it;

	cJSON_ArrayForEach(it, sa) {
		const char *name = obj_str(it, "subtype");

		if (name)
			diff_data(p, type, name, obj_get(it, "data"),
				  obj_get(find_by(sb, "subtype", name), "data"));
	}
	cJSON_ArrayForEach(it, sb) {
		const char *name = obj_str(it, "subtype");

		if (name && !find_by(sa, "subtype", name))
			diff_data(p, type, name, NULL, obj_get(it, "data"));
	}
}

static int diff_docs(const cJSON *a, const cJSON *b, FILE *out, const char *header)
{
	struct printer p = { out, header, 0 };
	const cJSON *ma = obj_get(a, "measurements"), *mb = obj_get(b, "measurements"), *it;

	cJSON_ArrayForEach(it, ma) {
		const char *type = obj_str(it, "type");

		if (type)
			diff_measurement(&p, type, it, find_by(mb, "type", type));
	}
	cJSON_ArrayForEach(it, mb) {
		const char *type = obj_str(it, "type");

		if (type && !find_by(ma, "type", type))
			diff_measurement(&p, type, NULL, it);
	}
	return p.changes ? 1 : 0;
}

int snap_diff(const cJSON *a, const cJSON *b, FILE *out)
{
	return diff_docs(a, b, out, NULL);
}

static const char *node_of(const cJSON *doc)
{
	const char *n = obj_str(doc, "metadata.source-node");

	return n ? n : "";
}

/* Several snapshots on a side: pairs matched by source-node, each pair's
 * changes under a "# source-node: NODE" line; a node on one side only is
 * one "- node NODE" or "+ node NODE" line. */
static int diff_streams(const cJSON *a, const cJSON *b, FILE *out)
{
	const cJSON *it;
	struct buf header = BUF_INIT;
	int rc = 0;

	cJSON_ArrayForEach(it, a) {
		const cJSON *other = find_by(b, "metadata.source-node", node_of(it));

		if (!other) {
			fprintf(out, "- node %s\n", node_of(it));
			rc = 1;
			continue;
		}
		buf_reset(&header);
		buf_printf(&header, "# source-node: %s", node_of(it));
		if (diff_docs(it, other, out, buf_str(&header)))
			rc = 1;
	}
	cJSON_ArrayForEach(it, b)
		if (!find_by(a, "metadata.source-node", node_of(it))) {
			fprintf(out, "+ node %s\n", node_of(it));
			rc = 1;
		}
	buf_release(&header);
	return rc;
}

int snap_diff_run(const char *a, const char *b, const struct kube_flags *kube, FILE *out)
{
	cJSON *da = NULL, *db = NULL;
	struct buf header = BUF_INIT;
	int rc = EXIT_USAGE;

	if (!strcmp(a, "-") && !strcmp(b, "-")) {
		error("only one of the two snapshots can come from stdin");
		goto out;
	}
	if (!(da = snap_load(a, kube)) || !(db = snap_load(b, kube)))
		goto out;
	if (cJSON_GetArraySize(da) == 1 && cJSON_GetArraySize(db) == 1) {
		const cJSON *x = cJSON_GetArrayItem(da, 0), *y = cJSON_GetArrayItem(db, 0);

		if (strcmp(node_of(x), node_of(y)))
			buf_printf(&header, "# source-node: %s -> %s", node_of(x), node_of(y));
		else
			buf_printf(&header, "# source-node: %s", node_of(x));
		rc = diff_docs(x, y, out, buf_str(&header));
	} else {
		rc = diff_streams(da, db, out);
	}
out:
	buf_release(&header);
	cJSON_Delete(da);
	cJSON_Delete(db);
	return rc;
}
