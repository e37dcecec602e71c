/* kube_store.c - what a watch has delivered, by namespace/name, so that a
 * resumed watch drops repeats and a relist delivers only the difference.
 * See kube_internal.h. */
#include "kube_internal.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

struct store_entry {
	char *key;		/* "namespace/name" ("/name" cluster-scoped) */
	cJSON *obj;		/* the delivered object, owned */
	bool seen;		/* in the current relist */
	struct store_entry *next;
};

struct kube_store {
	struct store_entry **tab;
	size_t cap;		/* a power of two */
	size_t n;
};

static const char *meta_str(const cJSON *obj, const char *key)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The key of obj into out; false when it has no name. */
static bool obj_key(const cJSON *obj, struct buf *out)
{
	const char *ns = meta_str(obj, "namespace"), *name = meta_str(obj, "name");

	if (!name)
		return false;
	buf_printf(out, "%s/%s", ns ? ns : "", name);
	return true;
}

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603ull;	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

struct kube_store *kube_store_new(void)
{
	struct kube_store *s = calloc(1, sizeof(*s));

	if (!s || !(s->tab = calloc(64, sizeof(*s->tab))))
		die("out of memory");
	s->cap = 64;
	return s;
}

void kube_store_free(struct kube_store *s)
{
	struct store_entry *e, *next;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->cap; i++)
		for (e = s->tab[i]; e; e = next) {
			next = e->next;
			free(e->key);
			cJSON_Delete(e->obj);
			free(e);
		}
	free(s->tab);
	free(s);
}

size_t kube_store_count(const struct kube_store *s)
{
	return s->n;
}

static struct store_entry **find(const struct kube_store *s, const char *key)
{
	struct store_entry **p = &s->tab[hash(key) & (s->cap - 1)];

	while (*p && strcmp((*p)->key, key))
		p = &(*p)->next;
	return p;
}

static void grow(struct kube_store *s)
{
	struct store_entry **tab, *e, *next;
	size_t i, cap = s->cap * 2;

	if (!(tab = calloc(cap, sizeof(*tab))))
		die("out of memory");
	for (i = 0; i < s->cap; i++)
		for (e = s->tab[i]; e; e = next) {
			size_t h = hash(e->key) & (cap - 1);

			next = e->next;
			e->next = tab[h];
			tab[h] = e;
		}
	free(s->tab);
	s->tab = tab;
	s->cap = cap;
}

/* What is kept of a delivered object: enough to drop a repeat and to say
 * which object vanished, not the whole object (a node agent watching
 * hundreds of pods would otherwise hold a second copy of each). */
static cJSON *identity(const cJSON *obj)
{
	static const char *const top[] = { "apiVersion", "kind" };
	static const char *const meta[] = { "name", "namespace", "uid", "resourceVersion" };
	cJSON *copy = cJSON_CreateObject(), *m;

	if (!copy)
		die("out of memory");
	for (size_t i = 0; i < 2; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, top[i]);

		if (cJSON_IsString(v))
			cJSON_AddStringToObject(copy, top[i], v->valuestring);
	}
	m = cJSON_AddObjectToObject(copy, "metadata");
	for (size_t i = 0; m && i < 4; i++) {
		const char *v = meta_str(obj, meta[i]);

		if (v)
			cJSON_AddStringToObject(m, meta[i], v);
	}
	if (!m)
		die("out of memory");
	return copy;
}

/* Stores the identity of obj under key (replacing what was there). */
static struct store_entry *put(struct kube_store *s, const char *key, const cJSON *obj)
{
	struct store_entry **p = find(s, key), *e = *p;
	cJSON *copy = identity(obj);

	if (e) {
		cJSON_Delete(e->obj);
		e->obj = copy;
		return e;
	}
	if (!(e = calloc(1, sizeof(*e))) || !(e->key = strdup(key)))
		die("out of memory");
	e->obj = copy;
	*p = e;
	if (++s->n > s->cap)
		grow(s);
	return e;
}

static void drop(struct kube_store *s, const char *key)
{
	struct store_entry **p = find(s, key), *e = *p;

	if (!e)
		return;
	*p = e->next;
	free(e->key);
	cJSON_Delete(e->obj);
	free(e);
	s->n--;
}

const cJSON *kube_store_get(const struct kube_store *s, const char *ns,
			    const char *name)
{
	struct buf key = BUF_INIT;
	struct store_entry *e;

	buf_printf(&key, "%s/%s", ns ? ns : "", name);
	e = *find(s, buf_str(&key));
	buf_release(&key);
	return e ? e->obj : NULL;
}

static bool same_str(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

bool kube_store_event(struct kube_store *s, const char *type, const cJSON *obj)
{
	struct buf key = BUF_INIT;
	struct store_entry *e;
	bool deliver = true;

	if (!obj_key(obj, &key))
		goto out;
	if (!strcmp(type, "DELETED")) {
		drop(s, buf_str(&key));
	} else if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED")) {
		e = *find(s, buf_str(&key));
		if (e && same_str(meta_str(e->obj, "resourceVersion"),
				  meta_str(obj, "resourceVersion")) &&
		    !(meta_str(e->obj, "uid") && meta_str(obj, "uid") &&
		      strcmp(meta_str(e->obj, "uid"), meta_str(obj, "uid"))))
			deliver = false;
		else
			put(s, buf_str(&key), obj);
	}
out:
	buf_release(&key);
	return deliver;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp((*(struct store_entry *const *)a)->key,
		      (*(struct store_entry *const *)b)->key);
}

int kube_store_relist(struct kube_store *s, const cJSON *items, kube_watch_fn fn,
		      void *ctx)
{
	struct store_entry *e, **gone = NULL;
	struct buf key = BUF_INIT;
	const cJSON *item;
	size_t i, ngone = 0;
	int rc = 0;

	for (i = 0; i < s->cap; i++)
		for (e = s->tab[i]; e; e = e->next)
			e->seen = false;
	cJSON_ArrayForEach(item, items) {
		const char *uid, *old_uid;

		buf_reset(&key);
		if (!obj_key(item, &key))
			continue;
		e = *find(s, buf_str(&key));
		if (!e) {
			put(s, buf_str(&key), item)->seen = true;
			if ((rc = fn(ctx, "ADDED", item)))
				goto out;
			continue;
		}
		e->seen = true;
		uid = meta_str(item, "uid");
		old_uid = meta_str(e->obj, "uid");
		if (uid && old_uid && strcmp(uid, old_uid)) {
			/* Deleted and created again while we were away. */
			if ((rc = fn(ctx, "DELETED", e->obj)))
				goto out;
			put(s, buf_str(&key), item);
			if ((rc = fn(ctx, "ADDED", item)))
				goto out;
		} else if (!same_str(meta_str(item, "resourceVersion"),
				     meta_str(e->obj, "resourceVersion"))) {
			put(s, buf_str(&key), item);
			if ((rc = fn(ctx, "MODIFIED", item)))
				goto out;
		}
	}
	if (!(gone = calloc(s->n ? s->n : 1, sizeof(*gone))))
		die("out of memory");
	for (i = 0; i < s->cap; i++)
		for (e = s->tab[i]; e; e = e->next)
			if (!e->seen)
				gone[ngone++] = e;
	qsort(gone, ngone, sizeof(*gone), cmp_entry);
	for (i = 0; i < ngone; i++) {
		rc = fn(ctx, "DELETED", gone[i]->obj);
		drop(s, gone[i]->key);
		if (rc)
			goto out;
	}
out:
	free(gone);
	buf_release(&key);
	return rc;
}
