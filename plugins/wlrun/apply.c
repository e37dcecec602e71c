/* apply.c - `kubectl wlrun apply`: server-side apply of a stream.
 *
 * The whole stream is read and checked first (apiVersion, kind and name
 * present, every kind known to discovery or defined by a
 * CustomResourceDefinition earlier in the stream), so that a bad object
 * fails the command before anything is written. Then the objects are
 * applied in order; the first failure stops the command.
 *
 * "unchanged": server-side apply answers with the object whether it
 * changed or not, and the API server keeps the resourceVersion of an object
 * that a no-op apply left as it was. So each object is fetched first (a
 * GET, which also tells a new object) and its resourceVersion compared with
 * the one the apply returns: equal means unchanged. This costs one GET per
 * object, or, for LIST_MIN or more objects of one kind in one namespace in
 * a run, one LIST of that kind there (kept only as name -> resourceVersion
 * of the stream's objects), which halves the requests of a big stream. A
 * dry run (server) reports as kubectl does, without either.
 *
 * Concurrency: runs of objects that need nothing applied before them are
 * applied by up to APPLY_THREADS threads, each with its own connection
 * (kube is not shared between threads; http.c's pool is), while the main
 * thread prints the results in stream order. A CustomResourceDefinition, a
 * Namespace and a kind resolved only at apply time are applied alone, after
 * everything before them. On the first error no further object is started;
 * objects after it that were already under way may have been applied.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube.h"
#include "log.h"
#include "manage.h"
#include "obj.h"
#include "stream.h"

#define APPLY_THREADS 8
#define LIST_MIN 16

static const char *apply_file;

const struct cli_opt apply_opts[] = {
	{ "filename", 'f', CLI_STR, &apply_file, "FILE",
	  "the stream to apply; - for stdin (default: stdin when it is a pipe or a file)",
	  NULL, "file" },
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

/* One object of the stream. */
struct item {
	cJSON *obj;
	bool pass;			/* wlkit.dev: written, not applied */
	bool resolved;
	struct kube_resource r;
	/* the outcome, under pool.mu while threads run */
	bool done;
	int rc;
	bool unchanged;
	cJSON *reply;
	struct kube_err err;
	/* from a LIST before the run: the object's resourceVersion (NULL: it
	 * does not exist yet) */
	bool listed;
	char *rv0;
};

/* The objects [next, end) being applied by the threads. */
struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct item *items;
	int next, end;
	bool stop;
	const char *dry;
};

struct worker {
	struct pool *p;
	struct kube *k;
	pthread_t t;
};

/* True when crd (a CustomResourceDefinition) serves kind in api_version. */
static bool crd_defines(const cJSON *crd, const char *api_version, const char *kind)
{
	const char *group = obj_str(crd, "spec.group"), *k = obj_str(crd, "spec.names.kind");
	const cJSON *v;
	struct buf want = BUF_INIT;
	bool found = false;

	if (!group || !k || strcmp(k, kind))
		return false;
	cJSON_ArrayForEach(v, obj_get(crd, "spec.versions")) {
		const char *name = obj_str(v, "name");

		buf_reset(&want);
		buf_printf(&want, "%s/%s", group, name ? name : "");
		if (!strcmp(buf_str(&want), api_version))
			found = true;
	}
	buf_release(&want);
	return found;
}

static bool is_crd(const cJSON *o)
{
	const char *av = obj_api_version(o), *k = obj_kind(o);

	return av && k && !strcmp(k, "CustomResourceDefinition") &&
	       !strncmp(av, "apiextensions.k8s.io/", 21);
}

/* Checks items[i]: 0, or -1 with the error printed. */
static int check_item(struct kube *k, struct item *items, int i, const char *src)
{
	struct item *it = &items[i];
	struct kube_err kerr = KUBE_ERR_INIT;
	const char *av = obj_api_version(it->obj), *kind = obj_kind(it->obj);
	const char *name = obj_name(it->obj), *ns = obj_namespace(it->obj);
	int rc = -1;

	if (!av || !*av || !kind || !*kind) {
		error("error validating \"%s\": error validating data: %s not set", src,
		      !av || !*av ? "apiVersion" : "kind");
		goto out;
	}
	if (!name || !*name) {
		error("error validating \"%s\": %s has no metadata.name", src, kind);
		goto out;
	}
	if (kube_resolve(k, av, kind, &it->r, &kerr) == 0) {
		it->resolved = true;
		rc = 0;
		goto out;
	}
	if (strcmp(kerr.reason, "NoKindMatch")) {
		kube_err_print(&kerr);
		goto out;
	}
	for (int j = 0; j < i; j++) {
		if (is_crd(items[j].obj) && crd_defines(items[j].obj, av, kind)) {
			rc = 0;
			goto out;
		}
	}
	error("resource mapping not found for name: \"%s\" namespace: \"%s\" from \"%s\": "
	      "%s\nensure CRDs are installed first", name, ns ? ns : "", src,
	      buf_str(&kerr.message));
out:
	kube_err_release(&kerr);
	return rc;
}

/* Resolves the kind of a custom resource whose CRD this run applied: the
 * API server serves it once the CRD is established, which takes a moment.
 * Tries for up to 30 seconds. */
static int resolve_late(struct kube *k, struct item *it, struct kube_err *err)
{
	struct timespec ts = { 0, 200 * 1000 * 1000 };

	for (int i = 0; i < 150; i++) {
		kube_err_release(err);
		if (kube_resolve(k, obj_api_version(it->obj), obj_kind(it->obj), &it->r, err) == 0)
			return 0;
		if (strcmp(err->reason, "NoKindMatch"))
			return -1;
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* Applies one object; *reply is the server's object (NULL with
 * --dry-run=client), *unchanged whether it kept its resourceVersion. */
static int apply_one(struct kube *k, struct item *it, const char *dry, cJSON **reply,
		     bool *unchanged, struct kube_err *err)
{
	cJSON *before = NULL;
	const char *rv0 = NULL, *rv1;
	int rc = -1;

	*unchanged = false;
	if (!it->resolved && resolve_late(k, it, err) < 0)
		goto out;
	if (!strcmp(dry, "client")) {
		rc = 0;
		goto out;
	}
	if (!strcmp(dry, "none") && it->listed) {
		rv0 = it->rv0;
	} else if (!strcmp(dry, "none")) {
		if (kube_get(k, obj_api_version(it->obj), obj_kind(it->obj),
			     obj_namespace(it->obj), obj_name(it->obj), &before, err) < 0) {
			if (err->code != 404)
				goto out;
			kube_err_release(err);
		}
	}
	if (kube_apply(k, it->obj, NULL, false, !strcmp(dry, "server"), reply, err) < 0)
		goto out;
	if (!it->listed)
		rv0 = obj_str(before, "metadata.resourceVersion");
	rv1 = obj_str(*reply, "metadata.resourceVersion");
	*unchanged = rv0 && rv1 && !strcmp(rv0, rv1);
	rc = 0;
out:
	cJSON_Delete(before);
	return rc;
}

/* The namespace an item is applied into ("" for a cluster-scoped kind). */
static const char *item_ns(struct kube *k, const struct item *it)
{
	const char *ns = obj_namespace(it->obj);

	if (!it->r.namespaced)
		return "";
	return ns && *ns ? ns : kube_namespace(k);
}

struct keyed {
	char *key;		/* "group/resource namespace" */
	int i;
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : x->i - y->i;
}

/* For each kind and namespace with LIST_MIN or more objects in
 * items[i, end): one LIST gives their current resourceVersions (sorting
 * the objects by kind and namespace finds the groups in n log n). A LIST
 * that fails leaves its objects to the GET. */
static void prelist(struct kube *k, struct item *items, int i, int end)
{
	struct kube_err kerr = KUBE_ERR_INIT;
	struct keyed *ks = calloc((size_t)(end - i), sizeof(*ks));
	struct buf b = BUF_INIT;
	const cJSON *o;
	cJSON *list, *rvs;
	int a, z, n = end - i;

	if (!ks)
		die("out of memory");
	for (a = 0; a < n; a++) {
		const struct kube_resource *r = &items[i + a].r;

		buf_reset(&b);
		buf_printf(&b, "%s/%s %s", r->group, r->resource, item_ns(k, &items[i + a]));
		ks[a].key = buf_detach(&b, NULL);
		ks[a].i = i + a;
	}
	qsort(ks, (size_t)n, sizeof(*ks), keyed_cmp);
	for (a = 0; a < n; a = z) {
		struct item *first = &items[ks[a].i];

		for (z = a; z < n && !strcmp(ks[z].key, ks[a].key); z++)
			;
		if (z - a < LIST_MIN)
			continue;
		buf_reset(&b);
		if (first->r.group[0])
			buf_printf(&b, "%s/", first->r.group);
		buf_adds(&b, first->r.version);
		list = NULL;
		if (kube_list(k, buf_str(&b), first->r.kind,
			      first->r.namespaced ? item_ns(k, first) : NULL,
			      NULL, &list, &kerr) < 0) {
			logv(4, "listing %s first failed: %s", first->r.resource,
			     buf_str(&kerr.message));
			kube_err_release(&kerr);
			continue;
		}
		/* name -> resourceVersion, then the list goes */
		rvs = cJSON_CreateObject();
		cJSON_ArrayForEach(o, obj_get(list, "items")) {
			const char *nm = obj_name(o), *rv = obj_str(o, "metadata.resourceVersion");
			if (nm && rv)
				cJSON_AddStringToObject(rvs, nm, rv);
		}
		cJSON_Delete(list);
		for (int m = a; m < z; m++) {
			struct item *it = &items[ks[m].i];
			const cJSON *rv = cJSON_GetObjectItemCaseSensitive(rvs, obj_name(it->obj));

			it->listed = true;
			if (cJSON_IsString(rv) && !(it->rv0 = strdup(rv->valuestring)))
				die("out of memory");
		}
		cJSON_Delete(rvs);
	}
	for (a = 0; a < n; a++)
		free(ks[a].key);
	free(ks);
	buf_release(&b);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pool *p = w->p;
	struct item *it;
	cJSON *reply;
	bool unchanged;
	int i, r;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		if (p->stop || p->next >= p->end) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		i = p->next++;
		pthread_mutex_unlock(&p->mu);
		it = &p->items[i];
		reply = NULL;
		unchanged = false;
		r = 0;
		if (!it->pass)
			r = apply_one(w->k, it, p->dry, &reply, &unchanged, &it->err);
		pthread_mutex_lock(&p->mu);
		it->reply = reply;
		it->unchanged = unchanged;
		it->rc = r;
		it->done = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

/* Must items[i] be applied alone, after all before it? */
static bool is_barrier(const struct item *it)
{
	const char *k = obj_kind(it->obj);

	return !it->pass && (!it->resolved || is_crd(it->obj) ||
			     (!strcmp(k, "Namespace") && !strcmp(obj_api_version(it->obj), "v1")));
}

/* Reads the whole stream into *items (*n of them). 0 or -1 (printed). */
static int read_all(const char *file, struct item **items, int *n)
{
	struct stream_in *in = NULL;
	struct buf why = BUF_INIT;
	cJSON *doc;
	int rc = -1, r, cap = 0;

	if (stream_in_open(file, &in, &why) < 0) {
		error("%s", buf_str(&why));
		goto out;
	}
	while ((r = stream_in_next(in, &doc, &why)) == 1) {
		if (!cJSON_IsObject(doc)) {
			cJSON_Delete(doc);
			continue;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*items = realloc(*items, (size_t)cap * sizeof(**items));
			if (!*items)
				die("out of memory");
		}
		memset(&(*items)[*n], 0, sizeof(**items));
		(*items)[*n].obj = doc;
		(*items)[*n].pass = stream_is_wlkit(doc, NULL);
		(*n)++;
	}
	if (r < 0) {
		error("%s", buf_str(&why));
		goto out;
	}
	rc = 0;
out:
	stream_in_close(in);
	buf_release(&why);
	return rc;
}

/* Writes the outcome of one applied or passed object. 0, 1 when it failed
 * (the error printed), -1 when stdout could not be written. */
static int emit(struct item *it, struct stream_out *out, const char *fmt,
		const char *suffix, struct buf *ref)
{
	if (it->pass)
		return stream_out_write(out, it->obj, NULL) < 0 ? -1 : 0;
	if (it->rc < 0) {
		kube_err_print(&it->err);
		return 1;
	}
	buf_reset(ref);
	kube_object_ref(&it->r, obj_name(it->obj), ref);
	if (fmt) {
		logv(1, "%s %s", buf_str(ref), it->unchanged ? "unchanged" : "serverside-applied");
		return stream_out_write(out, it->reply ? it->reply : it->obj, NULL) < 0 ? -1 : 0;
	}
	info("%s %s%s", buf_str(ref), it->unchanged ? "unchanged" : "serverside-applied", suffix);
	return 0;
}

int apply_run(struct cli_ctx *ctx)
{
	struct item *items = NULL;
	struct kube *k = NULL;
	struct kube_err kerr = KUBE_ERR_INIT;
	struct stream_out *out = NULL;
	struct buf ref = BUF_INIT;
	struct pool p = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0,
			  false, ctx->g.dry_run };
	struct worker w[APPLY_THREADS];
	const char *dry = ctx->g.dry_run, *fmt = ctx->g.output;
	const char *src = !apply_file || !strcmp(apply_file, "-") ? "STDIN" : apply_file;
	const char *suffix = !strcmp(dry, "client") ? " (dry run)" :
			     !strcmp(dry, "server") ? " (server dry run)" : "";
	int n = 0, rc = EXIT_FAILURE, nk = 0, i = 0, end, nt, e = 0;
	bool any_apply = false;

	memset(w, 0, sizeof(w));
	if (read_all(apply_file, &items, &n) < 0)
		goto out;
	for (int j = 0; j < n; j++)
		any_apply |= !items[j].pass;
	if (any_apply) {
		if (kube_open(&ctx->g.kube, "kubectl-wlrun", &k, &kerr) < 0) {
			kube_err_print(&kerr);
			goto out;
		}
		kube_set_source(k, src);
		for (int j = 0; j < n; j++)
			if (!items[j].pass && check_item(k, items, j, src) < 0)
				goto out;
	}
	out = stream_out_open(stdout, (enum stream_format)stream_format_parse(fmt));
	p.items = items;
	while (i < n && !e) {
		if (items[i].pass || is_barrier(&items[i])) {
			if (!items[i].pass)
				items[i].rc = apply_one(k, &items[i], dry, &items[i].reply,
							&items[i].unchanged, &items[i].err);
			e = emit(&items[i], out, fmt, suffix, &ref);
			i++;
			continue;
		}
		for (end = i; end < n && !items[end].pass && !is_barrier(&items[end]); end++)
			;
		nt = end - i < APPLY_THREADS ? end - i : APPLY_THREADS;
		for (; nk < nt; nk++) {
			if (kube_open(&ctx->g.kube, "kubectl-wlrun", &w[nk].k, &kerr) < 0) {
				kube_err_print(&kerr);
				goto out;
			}
			kube_set_source(w[nk].k, src);
			w[nk].p = &p;
		}
		if (!strcmp(dry, "none"))
			prelist(k, items, i, end);
		p.next = i;
		p.end = end;
		for (int t = 0; t < nt; t++)
			if (pthread_create(&w[t].t, NULL, worker_main, &w[t]))
				die("cannot start a thread");
		for (; i < end && !e; i++) {
			pthread_mutex_lock(&p.mu);
			while (!items[i].done)
				pthread_cond_wait(&p.cv, &p.mu);
			pthread_mutex_unlock(&p.mu);
			if ((e = emit(&items[i], out, fmt, suffix, &ref))) {
				pthread_mutex_lock(&p.mu);
				p.stop = true;
				pthread_mutex_unlock(&p.mu);
			}
		}
		for (int t = 0; t < nt; t++)
			pthread_join(w[t].t, NULL);
	}
	if (e)
		goto out;
	rc = stream_out_close(out) < 0 ? EXIT_FAILURE : 0;
	out = NULL;
out:
	if (out)
		stream_out_close(out);
	for (int j = 0; j < n; j++) {
		cJSON_Delete(items[j].obj);
		cJSON_Delete(items[j].reply);
		free(items[j].rv0);
		kube_err_release(&items[j].err);
	}
	free(items);
	for (int t = 0; t < nk; t++)
		kube_close(w[t].k);
	kube_close(k);
	kube_err_release(&kerr);
	buf_release(&ref);
	return rc;
}
