/* snap.c - the Snapshot document: its skeleton and accessors, reading the
 * host under --root, running the collectors, and writing and loading
 * snapshots (stdout, files, cm://NS/NAME ConfigMaps). See gpusnap.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "gpusnap.h"
#include "kube.h"
#include "log.h"
#include "obj.h"
#include "yaml.h"

#define READ_MAX_DEFAULT (16u << 20)

static cJSON *must(cJSON *item)
{
	if (!item)
		die("out of memory");
	return item;
}

/* The element of array arr whose member key is the string value. */
static cJSON *find_by(cJSON *arr, const char *key, const char *value)
{
	cJSON *it;

	cJSON_ArrayForEach(it, arr) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, key);

		if (cJSON_IsString(v) && !strcmp(v->valuestring, value))
			return it;
	}
	return NULL;
}

/* The array member key of o, created when missing or not an array. */
static cJSON *array_member(cJSON *o, const char *key)
{
	cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);

	if (cJSON_IsArray(a))
		return a;
	if (a)
		cJSON_DeleteItemFromObjectCaseSensitive(o, key);
	return must(cJSON_AddArrayToObject(o, key));
}

cJSON *snap_measurement(cJSON *doc, const char *type)
{
	cJSON *ms = array_member(doc, "measurements");
	cJSON *m = find_by(ms, "type", type);

	if (m)
		return m;
	m = must(cJSON_CreateObject());
	cJSON_AddItemToArray(ms, m);
	must(cJSON_AddStringToObject(m, "type", type));
	must(cJSON_AddArrayToObject(m, "subtypes"));
	return m;
}

cJSON *snap_subtype(cJSON *m, const char *subtype)
{
	cJSON *subs = array_member(m, "subtypes");
	cJSON *s = find_by(subs, "subtype", subtype), *data;

	if (s) {
		data = cJSON_GetObjectItemCaseSensitive(s, "data");
		if (cJSON_IsObject(data))
			return data;
		cJSON_DeleteItemFromObjectCaseSensitive(s, "data");
		return must(cJSON_AddObjectToObject(s, "data"));
	}
	s = must(cJSON_CreateObject());
	cJSON_AddItemToArray(subs, s);
	must(cJSON_AddStringToObject(s, "subtype", subtype));
	return must(cJSON_AddObjectToObject(s, "data"));
}

void snap_path(const struct snap_ctx *c, const char *path, struct buf *out)
{
	buf_reset(out);
	buf_adds(out, c->root ? c->root : "");
	buf_adds(out, path);
}

int snap_read(const struct snap_ctx *c, const char *path, struct buf *out, size_t max)
{
	struct buf p = BUF_INIT;
	int fd, rc = -1, e = 0;

	buf_reset(out);
	if (!max)
		max = READ_MAX_DEFAULT;
	snap_path(c, path, &p);
	fd = open(buf_str(&p), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		goto out;
	}
	while (out->len < max) {
		size_t want = max - out->len < 4096 ? max - out->len : 4096;
		ssize_t n;

		buf_grow(out, want);
		n = read(fd, out->data + out->len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			goto out;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_release(&p);
	if (rc < 0) {
		buf_reset(out);
		errno = e;
	}
	return rc;
}

/* ---- the collectors ----------------------------------------------- */

static const struct collector {
	const char *name;
	int (*fn)(const struct snap_ctx *c, cJSON *doc);
} collectors[] = {
	{ "os", collect_os },
	{ "gpu", collect_gpu },
	{ "systemd", collect_systemd },
	{ "k8s", collect_k8s },
};
#define NCOLLECTORS (sizeof(collectors) / sizeof(collectors[0]))

static const char *const collector_names[] = { "os", "gpu", "systemd", "k8s", NULL };

const char *const *snap_collector_names(void)
{
	return collector_names;
}

static const struct collector *find_collector(const char *name, size_t len)
{
	for (size_t i = 0; i < NCOLLECTORS; i++)
		if (strlen(collectors[i].name) == len && !strncmp(collectors[i].name, name, len))
			return &collectors[i];
	return NULL;
}

/* Calls fn for each name of the list, in order; stops at the first
 * unknown one with the message in *err (-1). Empty items are skipped. */
static int for_each_name(const char *list, struct buf *err,
			 void (*fn)(void *arg, const struct collector *col), void *arg)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");
		const struct collector *col;

		while (n && *p == ' ') {
			p++;
			n--;
		}
		while (n && p[n - 1] == ' ')
			n--;
		if (n) {
			if (!(col = find_collector(p, n))) {
				buf_set(err, "unknown collector '%.*s' (valid: os, gpu, systemd, k8s)",
					(int)n, p);
				return -1;
			}
			if (fn)
				fn(arg, col);
		}
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	return 0;
}

int snap_collectors_check(const char *list, struct buf *err)
{
	return for_each_name(list, err, NULL, NULL);
}

struct plan {
	const struct collector *order[NCOLLECTORS];
	size_t n;
};

static void plan_add(void *arg, const struct collector *col)
{
	struct plan *pl = arg;

	for (size_t i = 0; i < pl->n; i++)
		if (pl->order[i] == col)
			return;
	pl->order[pl->n++] = col;
}

void snap_source_node(struct buf *out)
{
	static const char *const vars[] = { "NODE_NAME", "KUBERNETES_NODE_NAME", "HOSTNAME" };
	char host[HOST_NAME_MAX + 1];

	buf_reset(out);
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (v && *v) {
			buf_adds(out, v);
			return;
		}
	}
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		buf_adds(out, host);
	}
}

cJSON *snap_take(const struct snap_ctx *c, const char *list, struct buf *err)
{
	struct plan pl = { .n = 0 };
	struct buf ts = BUF_INIT, why = BUF_INIT;
	struct snap_ctx run = *c;
	cJSON *doc, *md, *ran, *skipped;

	if (for_each_name(list ? list : "os,gpu,systemd,k8s", err, plan_add, &pl) < 0)
		return NULL;
	doc = must(cJSON_CreateObject());
	must(cJSON_AddStringToObject(doc, "apiVersion", SNAP_API_VERSION));
	must(cJSON_AddStringToObject(doc, "kind", SNAP_KIND));
	md = must(cJSON_AddObjectToObject(doc, "metadata"));
	rfc3339((int64_t)time(NULL), &ts);
	must(cJSON_AddStringToObject(md, "timestamp", buf_str(&ts)));
	must(cJSON_AddStringToObject(md, "version", cli_version()));
	must(cJSON_AddStringToObject(md, "source-node", c->node ? c->node : ""));
	ran = must(cJSON_AddArrayToObject(md, "collectors"));
	skipped = must(cJSON_AddObjectToObject(md, "skipped"));
	must(cJSON_AddArrayToObject(doc, "measurements"));
	run.why = &why;
	for (size_t i = 0; i < pl.n; i++) {
		buf_reset(&why);
		if (pl.order[i]->fn(&run, doc) == 0)
			cJSON_AddItemToArray(ran, must(cJSON_CreateString(pl.order[i]->name)));
		else
			must(cJSON_AddStringToObject(skipped, pl.order[i]->name,
						     why.len ? buf_str(&why) : "failed"));
	}
	buf_release(&why);
	buf_release(&ts);
	return doc;
}

/* ---- writing ------------------------------------------------------ */

#define CONFIGMAP_MAX_BYTES 1048576
#define FIELD_MANAGER "kubectl-gpusnap"

/* v as JSON, two-space indents, one member or element per line, as
 * kubectl prints it ("{}" and "[]" when empty). */
static void json_value(const cJSON *v, int depth, struct buf *out)
{
	bool obj = cJSON_IsObject(v);
	const cJSON *it;
	char *s;

	if ((obj || cJSON_IsArray(v)) && v->child) {
		buf_addch(out, obj ? '{' : '[');
		cJSON_ArrayForEach(it, v) {
			buf_printf(out, "\n%*s", 2 * (depth + 1), "");
			if (obj) {
				if (!(s = cJSON_PrintUnformatted(&(cJSON){ .type = cJSON_String,
							.valuestring = it->string })))
					die("out of memory");
				buf_adds(out, s);
				buf_adds(out, ": ");
				free(s);
			}
			json_value(it, depth + 1, out);
			if (it->next)
				buf_addch(out, ',');
		}
		buf_printf(out, "\n%*s%c", 2 * depth, "", obj ? '}' : ']');
		return;
	}
	if (!(s = cJSON_PrintUnformatted(v)))
		die("out of memory");
	buf_adds(out, s);
	free(s);
}

static void json_pretty(const cJSON *doc, struct buf *out)
{
	json_value(doc, 0, out);
	buf_addch(out, '\n');
}

/* docs (an array) in fmt into out: YAML documents separated by "---", or
 * one JSON object, or a JSON List of several as kubectl prints them. */
static int serialize(const cJSON *docs, const char *fmt, struct buf *out, struct buf *err)
{
	const cJSON *d;
	int i = 0;

	if (!strcmp(fmt, "json")) {
		cJSON *list;

		if (cJSON_GetArraySize(docs) == 1) {
			json_pretty(cJSON_GetArrayItem(docs, 0), out);
			return 0;
		}
		list = must(cJSON_CreateObject());
		must(cJSON_AddStringToObject(list, "apiVersion", "v1"));
		cJSON_AddItemToObject(list, "items", must(cJSON_Duplicate(docs, true)));
		must(cJSON_AddStringToObject(list, "kind", "List"));
		must(cJSON_AddStringToObject(must(cJSON_AddObjectToObject(list, "metadata")),
					     "resourceVersion", ""));
		json_pretty(list, out);
		cJSON_Delete(list);
		return 0;
	}
	cJSON_ArrayForEach(d, docs) {
		if (i++)
			buf_adds(out, "---\n");
		if (yaml_emit(out, d, err) < 0)
			return -1;
	}
	return 0;
}

/* "cm://NS/NAME" into ns and name; -1 with *err when malformed. */
static int cm_parse(const char *uri, struct buf *ns, struct buf *name, struct buf *err)
{
	const char *p = uri + 5, *slash = strchr(p, '/');
	struct buf why = BUF_INIT;
	int rc = -1;

	if (!slash || slash == p || !slash[1] || strchr(slash + 1, '/')) {
		buf_set(err, "invalid ConfigMap address '%s': want cm://NAMESPACE/NAME", uri);
		goto out;
	}
	buf_add(ns, p, (size_t)(slash - p));
	buf_adds(name, slash + 1);
	if (!dns1123_label(buf_str(ns), &why)) {
		buf_set(err, "invalid namespace '%s' in '%s': %s", buf_str(ns), uri, buf_str(&why));
		goto out;
	}
	if (!dns1123_subdomain(buf_str(name), &why)) {
		buf_set(err, "invalid ConfigMap name '%s' in '%s': %s", buf_str(name), uri,
			buf_str(&why));
		goto out;
	}
	rc = 0;
out:
	buf_release(&why);
	return rc;
}

static bool is_cm(const char *s)
{
	return !strncmp(s, "cm://", 5);
}

int snap_target_check(const char *target, struct buf *err)
{
	struct buf ns = BUF_INIT, name = BUF_INIT;
	int rc = 0;

	if (!*target) {
		buf_set(err, "the output must be -, a file or cm://NAMESPACE/NAME");
		rc = -1;
	} else if (is_cm(target)) {
		rc = cm_parse(target, &ns, &name, err);
	}
	buf_release(&name);
	buf_release(&ns);
	return rc;
}

static int write_configmap(const char *uri, const char *fmt, const cJSON *docs,
			   struct buf *text, const struct kube_flags *kube)
{
	struct buf ns = BUF_INIT, name = BUF_INIT, err = BUF_INIT;
	struct kube_err kerr = KUBE_ERR_INIT;
	struct kube *k = NULL;
	const char *key = !strcmp(fmt, "json") ? "snapshot.json" : "snapshot.yaml";
	const char *ts = obj_str(cJSON_GetArrayItem(docs, 0), "metadata.timestamp");
	cJSON *cm = NULL, *data;
	size_t total;
	int rc = -1;

	if (cm_parse(uri, &ns, &name, &err) < 0) {
		error("%s", buf_str(&err));
		goto out;
	}
	if (!ts)
		ts = "";
	/* Kubernetes counts every key and value of data toward the limit. */
	total = strlen(key) + text->len + strlen("format") + strlen(fmt) +
		strlen("timestamp") + strlen(ts);
	if (total > CONFIGMAP_MAX_BYTES) {
		error("snapshot for '%s' is %zu bytes, over the ConfigMap limit of %d bytes (1 MiB); "
		      "write it to a file instead", uri, total, CONFIGMAP_MAX_BYTES);
		goto out;
	}
	cm = must(obj_new("v1", "ConfigMap", buf_str(&ns), buf_str(&name)));
	obj_set_label(cm, "app.kubernetes.io/managed-by", FIELD_MANAGER);
	data = must(cJSON_AddObjectToObject(cm, "data"));
	must(cJSON_AddStringToObject(data, key, buf_str(text)));
	must(cJSON_AddStringToObject(data, "format", fmt));
	must(cJSON_AddStringToObject(data, "timestamp", ts));
	if (kube_open(kube, FIELD_MANAGER, &k, &kerr) < 0 ||
	    kube_apply(k, cm, buf_str(&ns), true, false, NULL, &kerr) < 0) {
		kube_err_print(&kerr);
		goto out;
	}
	info("snapshot written to configmap '%s/%s'", buf_str(&ns), buf_str(&name));
	rc = 0;
out:
	kube_close(k);
	kube_err_release(&kerr);
	cJSON_Delete(cm);
	buf_release(&err);
	buf_release(&name);
	buf_release(&ns);
	return rc;
}

/* Writes text to path atomically (file.h): path holds either its old
 * contents or the whole new text. */
static int write_file(const char *path, const struct buf *text)
{
	struct buf err = BUF_INIT;
	int rc = file_write_atomic(path, text->data ? text->data : "", text->len,
				   FILE_MODE_KEEP, 0, &err);

	if (rc < 0)
		error("%s", buf_str(&err));
	buf_release(&err);
	return rc;
}

int snap_write(cJSON *docs, const char *target, const char *fmt,
	       const struct kube_flags *kube)
{
	struct buf text = BUF_INIT, err = BUF_INIT;
	int rc = -1;

	if (!cJSON_IsArray(docs)) {
		cJSON *one = must(cJSON_CreateArray());

		cJSON_AddItemReferenceToArray(one, docs);
		rc = snap_write(one, target, fmt, kube);
		cJSON_Delete(one);
		return rc;
	}
	if (serialize(docs, fmt, &text, &err) < 0) {
		error("cannot serialize the snapshot: %s", buf_str(&err));
		goto out;
	}
	if (is_cm(target))
		rc = write_configmap(target, fmt, docs, &text, kube);
	else if (!strcmp(target, "-"))
		rc = fwrite(text.data ? text.data : "", 1, text.len, stdout) == text.len ? 0 :
			error("cannot write to standard output: %s", strerror(errno));
	else
		rc = write_file(target, &text);
out:
	buf_release(&err);
	buf_release(&text);
	return rc;
}

/* ---- loading ------------------------------------------------------ */

/* JSON objects one after the other (what --format json writes), into an
 * array; NULL when text is anything else. */
static cJSON *parse_json_objects(const char *text, size_t len)
{
	const char *p = text, *end = text + len, *next;
	cJSON *arr = must(cJSON_CreateArray()), *one;

	for (;;) {
		while (p < end && strchr(" \t\r\n", *p))
			p++;
		if (p == end)
			return arr;
		if (*p != '{' || !(one = cJSON_ParseWithLengthOpts(p, (size_t)(end - p), &next, false))) {
			cJSON_Delete(arr);
			return NULL;
		}
		cJSON_AddItemToArray(arr, one);
		p = next;
	}
}

/* JSON when it reads as JSON objects, else YAML (which names the line and
 * column of an error). */
static cJSON *parse_text(const char *text, size_t len, const char *name, struct buf *err)
{
	cJSON *arr = parse_json_objects(text, len);

	return arr ? arr : yaml_parse(text, len, name, err);
}

/* The snapshot text of a ConfigMap; -1 with *err, or with *err empty
 * when the server's error was printed. */
static int read_configmap(const char *uri, const struct kube_flags *kube, struct buf *text,
			  struct buf *err)
{
	struct buf ns = BUF_INIT, name = BUF_INIT;
	struct kube_err kerr = KUBE_ERR_INIT;
	struct kube *k = NULL;
	const cJSON *data, *v;
	cJSON *cm = NULL;
	int rc = -1;

	if (cm_parse(uri, &ns, &name, err) < 0)
		goto out;
	if (kube_open(kube, FIELD_MANAGER, &k, &kerr) < 0 ||
	    kube_get(k, "v1", "ConfigMap", buf_str(&ns), buf_str(&name), &cm, &kerr) < 0) {
		kube_err_print(&kerr);	/* *err stays empty: printed */
		goto out;
	}
	data = obj_get(cm, "data");
	v = cJSON_GetObjectItemCaseSensitive(data, "snapshot.yaml");
	if (!cJSON_IsString(v))
		v = cJSON_GetObjectItemCaseSensitive(data, "snapshot.json");
	if (!cJSON_IsString(v)) {
		buf_set(err, "configmap '%s/%s' has no snapshot.yaml or snapshot.json",
			buf_str(&ns), buf_str(&name));
		goto out;
	}
	buf_adds(text, v->valuestring);
	rc = 0;
out:
	cJSON_Delete(cm);
	kube_close(k);
	kube_err_release(&kerr);
	buf_release(&name);
	buf_release(&ns);
	return rc;
}

/* Moves the Snapshots of parsed (Lists unwrapped) into docs; -1 with *err
 * at the first object that is not a Snapshot. */
static int take_snapshots(cJSON *parsed, cJSON *docs, const char *source, struct buf *err)
{
	cJSON *d;

	while ((d = cJSON_DetachItemFromArray(parsed, 0))) {
		const char *kind = obj_kind(d);

		if (kind && !strcmp(kind, "List") && cJSON_IsArray(obj_get(d, "items"))) {
			int rc = take_snapshots(cJSON_GetObjectItemCaseSensitive(d, "items"), docs,
						source, err);

			cJSON_Delete(d);
			if (rc < 0)
				return -1;
			continue;
		}
		if (!cJSON_IsObject(d) || !kind || strcmp(kind, SNAP_KIND) ||
		    !obj_api_version(d) || strncmp(obj_api_version(d), "wlkit.dev/", 10)) {
			buf_set(err, "'%s' holds a %s where a Snapshot (%s) was expected", source,
				kind ? kind : "document without a kind", SNAP_API_VERSION);
			cJSON_Delete(d);
			return -1;
		}
		cJSON_AddItemToArray(docs, d);
	}
	return 0;
}

cJSON *snap_load(const char *source, const struct kube_flags *kube)
{
	struct buf text = BUF_INIT, err = BUF_INIT;
	cJSON *parsed = NULL, *docs = NULL;
	const char *name = !strcmp(source, "-") ? "<stdin>" : source;

	if (is_cm(source)) {
		if (read_configmap(source, kube, &text, &err) < 0)
			goto fail;
	} else if (!strcmp(source, "-")) {
		if (buf_read_fp(&text, stdin) < 0) {
			buf_set(&err, "cannot read standard input: %s", strerror(errno));
			goto fail;
		}
	} else if (buf_read_file(&text, source) < 0) {
		buf_set(&err, "cannot read '%s': %s", source, strerror(errno));
		goto fail;
	}
	if (!(parsed = parse_text(buf_str(&text), text.len, name, &err)))
		goto fail;
	docs = must(cJSON_CreateArray());
	if (take_snapshots(parsed, docs, name, &err) < 0)
		goto fail;
	if (cJSON_GetArraySize(docs) == 0) {
		buf_set(&err, "'%s' holds no snapshot", name);
		goto fail;
	}
	cJSON_Delete(parsed);
	buf_release(&text);
	buf_release(&err);
	return docs;
fail:
	if (err.len)	/* else already printed */
		error("%s", buf_str(&err));
	cJSON_Delete(docs);
	cJSON_Delete(parsed);
	buf_release(&text);
	buf_release(&err);
	return NULL;
}
