/* kube_watch.c - watches: the incremental event splitter and the watch loop
 * that resumes after cuts and relists after 410 Gone. See kube.h. */
#include "kube.h"
#include "kube_internal.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Server-side watch timeout asked for when the caller set none. */
#define WATCH_SERVER_TIMEOUT_S 300
/* Connections in a row that deliver nothing and fail before giving up. */
#define WATCH_MAX_FAILURES 5

struct kube_event_splitter {
	struct buf held;	/* the start of the value being scanned */
	struct buf stack;	/* the open brackets of that value */
	struct buf unread;	/* bytes after a value whose callback stopped */
	bool in_string, escape, failed;
};

struct kube_event_splitter *kube_event_splitter_new(void)
{
	struct kube_event_splitter *s = calloc(1, sizeof(*s));

	if (!s)
		die("out of memory");
	return s;
}

void kube_event_splitter_free(struct kube_event_splitter *s)
{
	if (!s)
		return;
	buf_release(&s->held);
	buf_release(&s->stack);
	buf_release(&s->unread);
	free(s);
}

bool kube_event_splitter_pending(const struct kube_event_splitter *s)
{
	return s->stack.len > 0 || s->unread.len > 0;
}

typedef int (*split_fn)(void *ctx, const char *text, size_t len);

/* Scans data once; a value that ends is handed to fn, from data itself when
 * it lies wholly in it, else from held. *used: bytes consumed. */
static int scan(struct kube_event_splitter *s, const char *data, size_t len,
		split_fn fn, void *ctx, size_t *used)
{
	size_t i, start = 0;
	int rc;

	*used = len;
	for (i = 0; i < len; i++) {
		char c = data[i];

		if (!s->stack.len) {
			if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
				continue;
			if (c != '{' && c != '[')
				goto bad;
			start = i;
			buf_addch(&s->stack, c);
			continue;
		}
		if (s->in_string) {
			if (s->escape)
				s->escape = false;
			else if (c == '\\')
				s->escape = true;
			else if (c == '"')
				s->in_string = false;
			continue;
		}
		switch (c) {
		case '"':
			s->in_string = true;
			break;
		case '{':
		case '[':
			buf_addch(&s->stack, c);
			break;
		case '}':
		case ']':
			if (s->stack.data[s->stack.len - 1] != (c == '}' ? '{' : '['))
				goto bad;
			buf_setlen(&s->stack, s->stack.len - 1);
			if (s->stack.len)
				break;
			if (s->held.len) {
				buf_add(&s->held, data, i + 1);
				rc = fn(ctx, s->held.data, s->held.len);
				buf_reset(&s->held);
				if (s->held.cap > (1u << 20))
					buf_release(&s->held);
			} else {
				rc = fn(ctx, data + start, i + 1 - start);
			}
			if (rc) {
				*used = i + 1;
				return rc;
			}
			break;
		}
	}
	if (s->stack.len)	/* a value goes on in the next data */
		buf_add(&s->held, data + (s->held.len ? 0 : start),
			len - (s->held.len ? 0 : start));
	return 0;
bad:
	s->failed = true;
	return -1;
}

int kube_event_splitter_feed(struct kube_event_splitter *s, const char *data,
			     size_t len, split_fn fn, void *ctx)
{
	struct buf pending = BUF_INIT;
	size_t used;
	int rc = 0;

	if (s->failed)
		return -1;
	if (s->unread.len) {
		/* Bytes left over when a callback stopped: they come first. */
		pending = s->unread;
		buf_init(&s->unread);
		rc = scan(s, pending.data, pending.len, fn, ctx, &used);
		if (rc) {
			if (!s->failed) {
				buf_add(&s->unread, pending.data + used,
					pending.len - used);
				buf_add(&s->unread, data, len);
			}
			goto out;
		}
	}
	rc = scan(s, data, len, fn, ctx, &used);
	if (rc && !s->failed)
		buf_add(&s->unread, data + used, len - used);
out:
	buf_release(&pending);
	return rc;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits ms, or less when the client's cancel switch fires. */
static void sleep_ms(const struct kube *k, int64_t ms)
{
	struct pollfd p = { k->cancel ? k->cancel->fd[0] : -1, POLLIN, 0 };
	int64_t end = now_ms() + ms, left;

	while ((left = end - now_ms()) > 0 && !http_cancelled(k->cancel))
		poll(&p, 1, (int)left);
}

enum watch_end {
	W_GOING,	/* the stream goes on */
	W_STOP,		/* the callback said stop */
	W_FAIL,		/* the callback failed */
	W_GONE,		/* 410 in the stream: relist */
	W_ERROR,	/* another ERROR event: *err */
	W_BAD,		/* the stream is not JSON events */
};

struct watch {
	struct kube *k;
	const struct kube_resource *r;
	kube_watch_fn fn;
	void *ctx;
	struct kube_store *store;
	struct kube_event_splitter *split;
	struct buf rv;		/* the last resourceVersion seen */
	enum watch_end end;
	bool got_event;		/* on this connection */
	int64_t deadline;	/* 0: none */
	struct kube_err *err;
};

static const char *meta_rv(const cJSON *obj)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "resourceVersion");

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void note_rv(struct watch *w, const cJSON *obj)
{
	const char *rv = meta_rv(obj);

	if (rv && *rv)
		buf_set(&w->rv, "%s", rv);
}

/* Delivers one event to the caller; the splitter callback's return. */
static int deliver(struct watch *w, const char *type, const cJSON *obj)
{
	int rc = w->fn(w->ctx, type, obj);

	if (rc > 0)
		w->end = W_STOP;
	else if (rc < 0)
		w->end = W_FAIL;
	return rc ? 1 : 0;
}

static int on_event(void *ctx, const char *text, size_t len)
{
	struct watch *w = ctx;
	cJSON *ev = cJSON_ParseWithLength(text, len);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
	const char *t;
	int rc = 0;

	if (!cJSON_IsString(type) || !cJSON_IsObject(obj)) {
		kube_err_set(w->err, "cannot parse a watch event of %s", w->r->resource);
		w->end = W_BAD;
		rc = 1;
		goto out;
	}
	t = type->valuestring;
	w->got_event = true;
	if (!strcmp(t, "ERROR")) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");

		if (cJSON_IsNumber(code) && code->valuedouble == 410) {
			w->end = W_GONE;
		} else {
			kube_err_from_status(w->err, obj, 500);
			w->end = W_ERROR;
		}
		rc = 1;
		goto out;
	}
	note_rv(w, obj);
	if (!strcmp(t, "ADDED") || !strcmp(t, "MODIFIED") || !strcmp(t, "DELETED")) {
		if (kube_store_event(w->store, t, obj))
			rc = deliver(w, t, obj);
	}
	/* BOOKMARK and types to come: the version is all we take. */
out:
	cJSON_Delete(ev);
	return rc;
}

static int on_data(void *ctx, const char *data, size_t len)
{
	struct watch *w = ctx;
	int rc;

	if (w->deadline && now_ms() >= w->deadline)
		return 1;
	rc = kube_event_splitter_feed(w->split, data, len, on_event, w);
	if (rc < 0) {
		kube_err_set(w->err, "the watch stream of %s is not JSON",
			     w->r->resource);
		w->end = W_BAD;
	}
	return rc ? 1 : 0;
}

static int relist_deliver(void *ctx, const char *type, const cJSON *obj)
{
	return deliver(ctx, type, obj);
}

/* Lists and delivers the difference to what was delivered. */
static int relist(struct watch *w, const char *ns, const struct kube_watch_opts *o)
{
	struct kube_list_opts lo = { 0 };
	cJSON *list = NULL;
	int rc = -1;

	lo.label_selector = o->label_selector;
	lo.field_selector = o->field_selector;
	lo.all_namespaces = o->all_namespaces;
	if (kube_list_resource(w->k, w->r, ns, &lo, &list, w->err) < 0)
		goto out;
	note_rv(w, list);
	kube_store_relist(w->store, cJSON_GetObjectItemCaseSensitive(list, "items"),
			  relist_deliver, w);
	rc = 0;
out:
	cJSON_Delete(list);
	return rc;
}

static void watch_path(struct buf *path, const struct watch *w, const char *ns,
		       const struct kube_watch_opts *o)
{
	int64_t secs = WATCH_SERVER_TIMEOUT_S;
	struct buf n = BUF_INIT;

	if (w->deadline) {
		int64_t left = (w->deadline - now_ms() + 999) / 1000;

		if (left < secs)
			secs = left > 0 ? left : 1;
	}
	kube_path(path, w->r, ns, NULL, NULL);
	kube_query_add(path, "watch", "true");
	kube_query_add(path, "allowWatchBookmarks", "true");
	if (w->rv.len)
		kube_query_add(path, "resourceVersion", buf_str(&w->rv));
	if (o->label_selector && *o->label_selector)
		kube_query_add(path, "labelSelector", o->label_selector);
	if (o->field_selector && *o->field_selector)
		kube_query_add(path, "fieldSelector", o->field_selector);
	buf_printf(&n, "%lld", (long long)secs);
	kube_query_add(path, "timeoutSeconds", buf_str(&n));
	buf_release(&n);
}

static int timed_out(struct watch *w, const struct kube_watch_opts *o)
{
	struct buf what = BUF_INIT;

	kube_resource_qualified(w->r, &what);
	kube_err_set_reason(w->err, "Timeout", "timed out after %lld ms watching %s",
			    (long long)o->timeout_ms, buf_str(&what));
	buf_release(&what);
	return -1;
}

/* One connection; 1 to go on with the next, 0 stop, -1 error. */
static int watch_once(struct watch *w, const char *ns, const struct kube_watch_opts *o,
		      int *failures)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct kube_req r = { 0 };
	struct buf path = BUF_INIT, what = BUF_INIT;
	int64_t backoff;
	int rc = -1, done;

	watch_path(&path, w, ns, o);
	kube_what(&what, "watch", w->r, NULL);
	r.method = "GET";
	r.path = buf_str(&path);
	r.idempotent = true;
	r.stream = true;
	r.sensitive = !strcmp(w->r->resource, "secrets");
	if (w->deadline)
		r.timeout_ms = w->deadline - now_ms() + 2000;
	r.on_data = on_data;
	r.ctx = w;
	r.what = buf_str(&what);
	kube_event_splitter_free(w->split);
	w->split = kube_event_splitter_new();
	w->got_event = false;
	w->end = W_GOING;
	done = kube_do(w->k, &r, &resp, w->err);
	if (http_cancelled(w->k->cancel)) {
		kube_err_release(w->err);
		rc = 0;
		goto out;
	}
	switch (w->end) {
	case W_STOP:
		rc = 0;
		goto out;
	case W_FAIL:
		if (!w->err->message.len && !w->err->code)
			kube_err_set(w->err, "watching %s failed", w->r->resource);
		goto out;
	case W_ERROR:
	case W_BAD:
		goto out;
	case W_GONE:
		rc = relist(w, ns, o) < 0 ? -1 : 1;
		goto out;
	case W_GOING:
		break;
	}
	if (w->deadline && now_ms() >= w->deadline) {
		rc = timed_out(w, o);
		goto out;
	}
	if (done == 0 && resp.status == 410) {
		rc = relist(w, ns, o) < 0 ? -1 : 1;
		goto out;
	}
	if (done == 0 && (resp.status < 200 || resp.status > 299)) {
		kube_err_from_response(w->err, resp.status, resp.body.data,
				       resp.body.len, buf_str(&what));
		goto out;
	}
	/* The stream ended (server timeout) or was cut: resume. */
	if (w->got_event) {
		*failures = 0;
	} else if (done < 0 && ++*failures >= WATCH_MAX_FAILURES) {
		goto out;
	} else if (!w->got_event) {
		backoff = 100LL << (*failures < 5 ? *failures : 5);
		if (w->deadline && now_ms() + backoff > w->deadline)
			backoff = w->deadline - now_ms();
		if (backoff > 0)
			sleep_ms(w->k, backoff);
	}
	kube_err_release(w->err);
	rc = 1;
out:
	http_response_release(&resp);
	buf_release(&path);
	buf_release(&what);
	return rc;
}

int kube_watch(struct kube *k, const char *api_version, const char *kind,
	       const char *ns, const struct kube_watch_opts *opts,
	       kube_watch_fn fn, void *ctx, struct kube_err *err)
{
	struct kube_watch_opts none = { 0 };
	struct kube_resource r;
	struct watch w = { 0 };
	int failures = 0, rc = -1;

	if (!opts)
		opts = &none;
	if (kube_resolve(k, api_version, kind, &r, err) < 0)
		return -1;
	if (!r.namespaced || opts->all_namespaces)
		ns = NULL;
	else if (!ns)
		ns = kube_namespace(k);
	w.k = k;
	w.r = &r;
	w.fn = fn;
	w.ctx = ctx;
	w.err = err;
	w.store = kube_store_new();
	if (opts->timeout_ms > 0)
		w.deadline = now_ms() + opts->timeout_ms;
	if (opts->resource_version) {
		buf_adds(&w.rv, opts->resource_version);
	} else {
		w.end = W_GOING;
		if (relist(&w, ns, opts) < 0) {
			if (http_cancelled(k->cancel)) {
				kube_err_release(err);
				rc = 0;
			}
			goto out;
		}
		if (w.end == W_STOP) {
			rc = 0;
			goto out;
		}
		if (w.end == W_FAIL) {
			if (!err->message.len && !err->code)
				kube_err_set(err, "watching %s failed", r.resource);
			goto out;
		}
	}
	do
		rc = watch_once(&w, ns, opts, &failures);
	while (rc == 1 && (w.end == W_GOING || w.end == W_GONE));
	if (http_cancelled(k->cancel)) {
		kube_err_release(err);
		rc = 0;
		goto out;
	}
	if (rc == 1) {		/* stopped or failed in a relist */
		rc = w.end == W_STOP ? 0 : -1;
		if (rc < 0 && !err->message.len && !err->code)
			kube_err_set(err, "watching %s failed", r.resource);
	}
out:
	kube_event_splitter_free(w.split);
	kube_store_free(w.store);
	buf_release(&w.rv);
	return rc;
}
