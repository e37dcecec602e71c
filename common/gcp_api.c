/* gcp_api.c - see gcp.h: the client, JSON requests with the bearer token,
 * Google error bodies on one line, paging and long-running operations. */
#include "gcp.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "log.h"
#include "obj.h"

#define DEFAULT_TIMEOUT_MS 60000
#define COMPUTE_WAIT_TIMEOUT_MS 150000	/* wait returns within ~2 minutes */

struct gcp {
	struct gcp_config cfg;
	struct gcp_auth *auth;
	struct http *http;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct gcp *gcp_new(const struct gcp_options *opt, struct buf *err)
{
	struct gcp *g = calloc(1, sizeof(*g));

	if (!g)
		die("out of memory");
	if (gcp_config_load(&g->cfg, opt, err) < 0) {
		free(g);
		return NULL;
	}
	g->auth = gcp_auth_new(opt ? opt->access_token_file : NULL, g->cfg.config_dir);
	if (opt && (opt->credentials_file || opt->scope))
		gcp_auth_use_key(g->auth, opt->credentials_file, opt->scope);
	g->http = http_new();
	return g;
}

void gcp_free(struct gcp *g)
{
	if (!g)
		return;
	gcp_auth_free(g->auth);
	http_free(g->http);
	gcp_config_release(&g->cfg);
	free(g);
}

const struct gcp_config *gcp_config(const struct gcp *g)
{
	return &g->cfg;
}

int gcp_require_project(const struct gcp *g, const char **project, struct buf *err)
{
	if (!g->cfg.project) {
		buf_set(err, "no project is set: pass --project, set CLOUDSDK_CORE_PROJECT "
			"or run 'gcloud config set project PROJECT'");
		return -1;
	}
	*project = g->cfg.project;
	return 0;
}

int gcp_access_token(struct gcp *g, struct buf *out, struct buf *err)
{
	return gcp_auth_token(g->auth, out, err);
}

int gcp_endpoint(const struct gcp *g, const char *api, struct buf *out,
		 struct buf *err)
{
	return gcp_config_endpoint(&g->cfg, api, out, err);
}

void gcp_rewrite_links(const struct gcp *g, cJSON *tree)
{
	gcp_config_rewrite_links(&g->cfg, NULL, tree);
}

struct http *gcp_http(struct gcp *g)
{
	return g->http;
}

void gcp_request_id(struct buf *out)
{
	unsigned char u[16];
	size_t got = 0;

	while (got < sizeof(u)) {
		ssize_t r = getrandom(u + got, sizeof(u) - got, 0);

		if (r < 0 && errno != EINTR)
			die("cannot get random bytes: %s", strerror(errno));
		if (r > 0)
			got += (size_t)r;
	}
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			buf_addch(out, '-');
		buf_printf(out, "%02x", u[i]);
	}
}

void gcp_reply_release(struct gcp_reply *r)
{
	cJSON_Delete(r->json);
	r->json = NULL;
	r->status = 0;
	r->error_status[0] = r->error_reason[0] = '\0';
}

const char *gcp_code_name(long code, bool is_http)
{
	static const char *const rpc[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
		"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
	};
	static const struct { long http; const char *name; } map[] = {
		{ 400, "INVALID_ARGUMENT" }, { 401, "UNAUTHENTICATED" },
		{ 403, "PERMISSION_DENIED" }, { 404, "NOT_FOUND" },
		{ 409, "ALREADY_EXISTS" }, { 412, "FAILED_PRECONDITION" },
		{ 416, "OUT_OF_RANGE" }, { 429, "RESOURCE_EXHAUSTED" },
		{ 499, "CANCELLED" }, { 500, "INTERNAL" }, { 501, "UNIMPLEMENTED" },
		{ 503, "UNAVAILABLE" }, { 504, "DEADLINE_EXCEEDED" },
	};

	if (!is_http)
		return code >= 0 && code < 17 ? rpc[code] : "UNKNOWN";
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].http == code)
			return map[i].name;
	return "UNKNOWN";
}

/* Appends s with every run of blanks and line breaks made one space. */
static void add_one_line(struct buf *out, const char *s, size_t max)
{
	bool space = false;
	size_t n = 0;

	while (isspace((unsigned char)*s))
		s++;
	for (; *s && n < max; s++, n++) {
		if (isspace((unsigned char)*s)) {
			space = true;
			continue;
		}
		if (space)
			buf_addch(out, ' ');
		space = false;
		buf_addch(out, *s);
	}
	if (*s)
		buf_adds(out, "...");
}

static void copy_field(char *dst, size_t cap, const char *s)
{
	if (dst)
		snprintf(dst, cap, "%s", s ? s : "");
}

void gcp_error_format(const char *api, long http_status, const char *body,
		      size_t len, struct buf *err, char *status, char *reason)
{
	cJSON *o = cJSON_ParseWithLength(body ? body : "", body ? len : 0);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
	const char *st = NULL, *msg = NULL, *rsn = NULL;
	struct buf text = BUF_INIT;

	buf_reset(err);
	buf_printf(err, "%s: ", api);
	if (cJSON_IsObject(e)) {
		st = obj_str(e, "status");
		msg = obj_str(e, "message");
		rsn = obj_str(e, "errors.0.reason");
		if (!st || !*st)
			st = gcp_code_name(http_status, true);
	} else if (cJSON_IsString(e)) {
		st = e->valuestring;	/* OAuth: {"error", "error_description"} */
		msg = obj_str(o, "error_description");
	}
	if (st) {
		buf_adds(err, st);
		if (msg && *msg) {
			buf_adds(err, ": ");
			add_one_line(err, msg, 1000);
		}
	} else {
		const char *phrase = http_reason_phrase(http_status);

		buf_printf(err, "HTTP %ld%s%s", http_status, *phrase ? " " : "", phrase);
		buf_add(&text, body ? body : "", body ? len : 0);
		if (text.len && !memchr(text.data, '\0', text.len)) {
			buf_adds(err, ": ");
			add_one_line(err, text.data, 200);
		}
	}
	copy_field(status, sizeof(((struct gcp_reply *)0)->error_status),
		   st ? st : gcp_code_name(http_status, true));
	copy_field(reason, sizeof(((struct gcp_reply *)0)->error_reason), rsn);
	buf_release(&text);
	cJSON_Delete(o);
}

/* The URL of a request: an absolute path with its links rewritten, or the
 * api's base and the path. */
static int request_url(struct gcp *g, const struct gcp_req *r, struct buf *url,
		       struct buf *err)
{
	if (!strncmp(r->path, "http://", 7) || !strncmp(r->path, "https://", 8)) {
		const char *apis[] = { r->api, NULL };
		cJSON *a = cJSON_CreateArray();

		cJSON_AddItemToArray(a, cJSON_CreateString(r->path));
		gcp_config_rewrite_links(&g->cfg, apis, a);
		buf_adds(url, cJSON_GetArrayItem(a, 0)->valuestring);
		cJSON_Delete(a);
		return 0;
	}
	if (gcp_config_endpoint(&g->cfg, r->api, url, err) < 0)
		return -1;
	buf_adds(url, r->path[0] == '/' ? r->path + 1 : r->path);
	return 0;
}

int gcp_do(struct gcp *g, const struct gcp_req *r, struct gcp_reply *reply,
	   struct buf *err)
{
	struct http_request hr = {
		.method = r->method, .idempotent = r->idempotent || r->request_id,
		.sensitive = r->sensitive,
		.timeout_ms = r->timeout_ms ? r->timeout_ms : DEFAULT_TIMEOUT_MS,
		.cancel = r->cancel,
	};
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf url = BUF_INIT, tok = BUF_INIT;
	char *body = NULL;
	int rc = -1;

	gcp_reply_release(reply);
	if (request_url(g, r, &url, err) < 0)
		goto out;
	if (r->request_id) {
		buf_adds(&url, strchr(url.data, '?') ? "&requestId=" : "?requestId=");
		gcp_request_id(&url);
	}
	if (gcp_auth_token(g->auth, &tok, err) < 0)
		goto out;
	hr.url = url.data;
	hr.bearer = tok.data;
	if (r->body) {
		if (!(body = cJSON_PrintUnformatted(r->body)))
			die("out of memory");
		hr.body = body;
		hr.body_len = strlen(body);
		hr.content_type = "application/json";
	}
	if (http_do(g->http, &hr, &resp, err) < 0)
		goto out;
	reply->status = resp.status;
	if (resp.status < 200 || resp.status > 299) {
		gcp_error_format(r->api, resp.status, resp.body.data, resp.body.len, err,
				 reply->error_status, reply->error_reason);
		goto out;
	}
	if (resp.body.len) {
		reply->json = cJSON_ParseWithLength(resp.body.data, resp.body.len);
		if (!reply->json) {
			buf_set(err, "%s: cannot parse the reply of %s '%s' as JSON",
				r->api, r->method, url.data);
			goto out;
		}
		gcp_config_rewrite_links(&g->cfg, NULL, reply->json);
	}
	rc = 0;
out:
	if (tok.data)
		explicit_bzero(tok.data, tok.cap);
	buf_release(&tok);
	buf_release(&url);
	free(body);
	http_response_release(&resp);
	return rc;
}

int gcp_request(struct gcp *g, const char *method, const char *api,
		const char *path, const cJSON *body, cJSON **out, struct buf *err)
{
	struct gcp_req r = { .method = method, .api = api, .path = path, .body = body };
	struct gcp_reply reply = GCP_REPLY_INIT;
	int rc = gcp_do(g, &r, &reply, err);

	*out = NULL;
	if (rc == 0) {
		*out = reply.json ? reply.json : cJSON_CreateObject();
		reply.json = NULL;
	}
	gcp_reply_release(&reply);
	return rc;
}

int gcp_list(struct gcp *g, const char *api, const char *path,
	     const char *items_key, gcp_item_fn fn, void *ctx, struct buf *err)
{
	struct buf url = BUF_INIT, token = BUF_INIT;
	cJSON *page = NULL;
	int rc = -1;

	for (;;) {
		const cJSON *items, *item;
		const char *next;

		buf_reset(&url);
		buf_adds(&url, path);
		if (token.len) {
			buf_adds(&url, strchr(path, '?') ? "&pageToken=" : "?pageToken=");
			http_escape(&url, token.data);
		}
		cJSON_Delete(page);
		if (gcp_request(g, "GET", api, url.data, NULL, &page, err) < 0)
			goto out;
		items = cJSON_GetObjectItemCaseSensitive(page, items_key);
		if (!cJSON_IsArray(items))
			items = NULL;
		cJSON_ArrayForEach(item, items)
			if (fn(ctx, item, err) < 0)
				goto out;
		next = obj_str(page, "nextPageToken");
		if (!next || !*next)
			break;
		if (token.len && !strcmp(next, token.data)) {
			buf_set(err, "%s: the server returned the same nextPageToken twice for '%s'",
				api, path);
			goto out;
		}
		buf_reset(&token);
		buf_adds(&token, next);
	}
	rc = 0;
out:
	cJSON_Delete(page);
	buf_release(&url);
	buf_release(&token);
	return rc;
}

static int gather(void *ctx, const cJSON *item, struct buf *err)
{
	(void)err;
	cJSON_AddItemToArray(ctx, cJSON_Duplicate(item, true));
	return 0;
}

int gcp_list_all(struct gcp *g, const char *api, const char *path,
		 const char *items_key, cJSON **out, struct buf *err)
{
	cJSON *all = cJSON_CreateArray();

	*out = NULL;
	if (gcp_list(g, api, path, items_key, gather, all, err) < 0) {
		cJSON_Delete(all);
		return -1;
	}
	*out = all;
	return 0;
}

/* ---- long-running operations ---- */

static bool op_done(const char *api, const cJSON *op)
{
	const char *st;

	if (!strcmp(api, "cloudbuild"))
		return obj_bool(op, "done", false);
	st = obj_str(op, "status");
	return st && !strcmp(st, "DONE");
}

/* A google.rpc.Status ({code, message}) as "API: CODE: message". */
static void rpc_status(const char *api, const cJSON *e, struct buf *err)
{
	const char *msg = obj_str(e, "message");

	buf_set(err, "%s: %s", api, gcp_code_name(obj_int(e, "code", 2), false));
	if (msg && *msg) {
		buf_adds(err, ": ");
		add_one_line(err, msg, 1000);
	}
}

/* 0 when the finished operation succeeded, else -1 with its errors. */
static int op_result(const char *api, const cJSON *op, struct buf *err)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(op, "error"), *x;
	const char *msg;

	if (!strcmp(api, "compute")) {
		const cJSON *errs = cJSON_GetObjectItemCaseSensitive(e, "errors");

		if (!cJSON_IsArray(errs) || !cJSON_GetArraySize(errs))
			return 0;
		buf_set(err, "%s: ", api);
		cJSON_ArrayForEach(x, errs) {
			const char *code = obj_str(x, "code");

			if (x != errs->child)
				buf_adds(err, "; ");
			buf_adds(err, code && *code ? code : "UNKNOWN");
			if ((msg = obj_str(x, "message")) && *msg) {
				buf_adds(err, ": ");
				add_one_line(err, msg, 1000);
			}
		}
		return -1;
	}
	if (cJSON_IsObject(e)) {
		rpc_status(api, e, err);
		return -1;
	}
	if (!strcmp(api, "container") && (msg = obj_str(op, "statusMessage")) && *msg) {
		buf_set(err, "%s: ", api);
		add_one_line(err, msg, 1000);
		return -1;
	}
	return 0;
}

/* Sleeps ms, or less when cancel fires. */
static void nap(int64_t ms, struct http_cancel *cancel)
{
	struct pollfd pfd = { .fd = cancel ? cancel->fd[0] : -1, .events = POLLIN };

	if (ms <= 0 || http_cancelled(cancel))
		return;
	poll(&pfd, cancel ? 1 : 0, (int)(ms > 60000 ? 60000 : ms));
}

/* The request that advances op: its method and path into *method / path. */
static int op_poll_path(struct gcp *g, const char *api, const cJSON *op,
			const char **method, struct buf *path, struct buf *err)
{
	const char *name = obj_str(op, "name"), *self = obj_str(op, "selfLink");
	const char *loc;

	*method = "GET";
	if (!strcmp(api, "compute")) {
		if (!self || !*self)
			goto no_link;
		*method = "POST";
		buf_printf(path, "%s/wait", self);
		return 0;
	}
	if (!strcmp(api, "container")) {
		if (self && *self) {
			buf_adds(path, self);
			return 0;
		}
		loc = obj_str(op, "location");
		if (!loc || !*loc)
			loc = obj_str(op, "zone");
		if (!name || !loc || !g->cfg.project)
			goto no_link;
		buf_printf(path, "v1/projects/%s/locations/%s/operations/%s",
			   g->cfg.project, loc, name);
		return 0;
	}
	if (!name || !*name)
		goto no_link;
	buf_printf(path, "v1/%s", name);
	return 0;
no_link:
	buf_set(err, "%s: operation '%s' has no %s to poll", api, name ? name : "",
		strcmp(api, "cloudbuild") ? "selfLink" : "name");
	return -1;
}

static void add_duration(struct buf *out, int64_t ms)
{
	if (ms % 1000)
		buf_printf(out, "%lldms", (long long)ms);
	else
		buf_printf(out, "%llds", (long long)(ms / 1000));
}

int gcp_wait_operation(struct gcp *g, const char *api, const cJSON *op,
		       const struct gcp_wait *w, cJSON **done, struct buf *err)
{
	int64_t poll_ms = w && w->poll_ms ? w->poll_ms : 1000;
	int64_t timeout = w ? w->timeout_ms : 0;
	int64_t deadline = timeout ? now_ms() + timeout : 0;
	struct http_cancel *cancel = w ? w->cancel : NULL;
	bool compute = !strcmp(api, "compute");
	cJSON *cur = cJSON_Duplicate(op, true);
	struct buf path = BUF_INIT;	/* from the first operation: replies
					 * need not repeat its selfLink */
	const char *method = "GET";
	int rc = -1;

	if (done)
		*done = NULL;
	for (;;) {
		struct gcp_req r = { .api = api, .cancel = cancel, .idempotent = true };
		struct gcp_reply reply = GCP_REPLY_INIT;
		int64_t t0 = now_ms(), left;

		if (op_done(api, cur)) {
			rc = op_result(api, cur, err);
			break;
		}
		if (http_cancelled(cancel)) {
			buf_set(err, "cancelled");
			break;
		}
		left = deadline ? deadline - now_ms() : INT64_MAX;
		if (left <= 0) {
			const char *name = obj_str(cur, "name");

			buf_set(err, "timed out after ");
			add_duration(err, timeout);
			buf_printf(err, " waiting for operation '%s'", name ? name : "");
			rc = -2;
			break;
		}
		if (!path.len && op_poll_path(g, api, cur, &method, &path, err) < 0)
			break;
		if (!compute) {
			nap(poll_ms < left ? poll_ms : left, cancel);
			if (http_cancelled(cancel) || (deadline && now_ms() >= deadline))
				continue;
		}
		r.method = method;
		r.path = path.data;
		r.timeout_ms = compute ? COMPUTE_WAIT_TIMEOUT_MS : DEFAULT_TIMEOUT_MS;
		if (deadline && r.timeout_ms > deadline - now_ms())
			r.timeout_ms = deadline - now_ms() > 0 ? deadline - now_ms() : 1;
		if (gcp_do(g, &r, &reply, err) < 0) {
			gcp_reply_release(&reply);
			if (deadline && now_ms() >= deadline && reply.status == 0 &&
			    !http_cancelled(cancel))
				continue;	/* the last wait ran out of time */
			break;
		}
		if (cJSON_IsObject(reply.json)) {
			cJSON_Delete(cur);
			cur = reply.json;
			reply.json = NULL;
		}
		gcp_reply_release(&reply);
		logv(6, "%s operation '%s': %s", api, obj_str(cur, "name") ? obj_str(cur, "name") : "",
		     op_done(api, cur) ? "done" : "not done");
		if (compute && !op_done(api, cur) && now_ms() - t0 < poll_ms)
			nap(poll_ms - (now_ms() - t0), cancel);
	}
	if (rc == 0 && done) {
		*done = cur;
		cur = NULL;
	}
	cJSON_Delete(cur);
	buf_release(&path);
	return rc;
}
