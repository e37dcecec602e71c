/* kube.c - the Kubernetes REST client: connections, requests with their
 * credentials, and the object verbs (get, create, replace, apply, patch,
 * delete, status, logs, TokenRequest). Discovery is kube_discovery.c,
 * lists kube_list.c, watches kube_watch.c, errors kube_err.c. See kube.h. */
#include "kube.h"
#include "kube_internal.h"
#include "log.h"
#include "obj.h"

#include <stdlib.h>
#include <string.h>

#ifndef WLKIT_VERSION
#define WLKIT_VERSION "0"
#endif

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		die("out of memory");
	return d;
}

int kube_open(const struct kube_flags *flags, const char *field_manager,
	      struct kube **out, struct kube_err *err)
{
	struct kube_flags none = { 0 };
	struct kube_target *t = NULL;
	struct buf e = BUF_INIT;
	struct kube *k;

	*out = NULL;
	if (kube_config_load(flags ? flags : &none, &t, &e) < 0) {
		kube_err_set(err, "%s", buf_str(&e));
		buf_release(&e);
		return -1;
	}
	buf_release(&e);
	if (!(k = calloc(1, sizeof(*k))))
		die("out of memory");
	k->target = t;
	k->http = http_new();
	k->field_manager = xstrdup(field_manager && *field_manager ? field_manager
				   : "wlkit");
	k->source = xstrdup("STDIN");
	*out = k;
	return 0;
}

void kube_set_cancel(struct kube *k, struct http_cancel *c)
{
	k->cancel = c;
}

void kube_close(struct kube *k)
{
	if (!k)
		return;
	kube_discovery_release(&k->disc);
	http_free(k->http);
	kube_target_free(k->target);
	free(k->field_manager);
	free(k->source);
	free(k);
}

const char *kube_namespace(const struct kube *k)
{
	return k->target->namespace ? k->target->namespace : "default";
}

const struct kube_target *kube_target(const struct kube *k)
{
	return k->target;
}

void kube_set_source(struct kube *k, const char *source)
{
	free(k->source);
	k->source = xstrdup(source && *source ? source : "STDIN");
}

/* Whether asking again after a 401 can give other credentials. */
static bool creds_can_change(const struct kube_target *t)
{
	return t->exec || t->token_file || t->gke;
}

int kube_do(struct kube *k, const struct kube_req *r, struct http_response *resp,
	    struct kube_err *err)
{
	const struct kube_target *t = k->target;
	struct buf url = BUF_INIT, accept = BUF_INIT, ua = BUF_INIT, e = BUF_INIT;
	const char *headers[3];
	struct http_request hr;
	struct http_tls tls;
	struct kube_cred cred;
	int attempt, rc = -1;

	buf_printf(&url, "%s%s", t->server, r->path);
	buf_printf(&accept, "Accept: %s", r->accept ? r->accept : "application/json");
	buf_printf(&ua, "User-Agent: %s/%s wlkit", k->field_manager, WLKIT_VERSION);
	headers[0] = buf_str(&accept);
	headers[1] = buf_str(&ua);
	headers[2] = NULL;
	for (attempt = 0; attempt < 2; attempt++) {
		memset(&cred, 0, sizeof(cred));
		if (kube_cred_get(k->target, attempt > 0, &cred, &e) < 0) {
			kube_err_set(err, "%s", buf_str(&e));
			goto out;
		}
		memset(&tls, 0, sizeof(tls));
		tls.ca_data = t->ca_data;
		tls.ca_len = t->ca_len;
		tls.ca_file = t->ca_file;
		tls.server_name = t->tls_server_name;
		tls.insecure = t->insecure;
		if (cred.cert_data && cred.key_data) {
			tls.cert_data = cred.cert_data;
			tls.cert_len = cred.cert_len;
			tls.key_data = cred.key_data;
			tls.key_len = cred.key_len;
		} else {
			tls.cert_data = t->cert_data;
			tls.cert_len = t->cert_len;
			tls.key_data = t->key_data;
			tls.key_len = t->key_len;
			tls.cert_file = t->cert_file;
			tls.key_file = t->key_file;
		}
		memset(&hr, 0, sizeof(hr));
		hr.method = r->method;
		hr.url = buf_str(&url);
		hr.headers = headers;
		hr.bearer = cred.bearer;
		hr.basic_user = cred.username;
		hr.basic_password = cred.password;
		hr.content_type = r->content_type;
		hr.body = r->body;
		hr.body_len = r->body_len;
		hr.tls = &tls;
		hr.proxy = t->proxy_url;
		hr.timeout_ms = r->timeout_ms > 0 ? r->timeout_ms
			: r->stream ? 0 : t->request_timeout_ms;
		hr.idempotent = r->idempotent;
		hr.sensitive = r->sensitive;
		hr.on_data = r->on_data;
		hr.ctx = r->ctx;
		hr.cancel = k->cancel;
		buf_reset(&e);
		if (http_do(k->http, &hr, resp, &e) < 0) {
			if (r->may_have_acted && resp->may_have_acted)
				*r->may_have_acted = true;
			if (http_cancelled(k->cancel))
				kube_err_set_reason(err, "Cancelled", "cancelled");
			else
				kube_err_unreachable(err, t->server, buf_str(&e));
			goto out;
		}
		if (r->may_have_acted && resp->may_have_acted)
			*r->may_have_acted = true;
		if (resp->status != 401 || attempt > 0 || !creds_can_change(t))
			break;
		logv(6, "got 401 Unauthorized from %s: asking for fresh credentials",
		     t->server);
	}
	rc = 0;
out:
	buf_release(&url);
	buf_release(&accept);
	buf_release(&ua);
	buf_release(&e);
	return rc;
}

int kube_do_json(struct kube *k, const struct kube_req *r, cJSON **out,
		 struct kube_err *err)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	cJSON *doc = NULL;
	int rc = -1;

	if (out)
		*out = NULL;
	if (kube_do(k, r, &resp, err) < 0)
		goto out;
	if (resp.status < 200 || resp.status > 299) {
		kube_err_from_response(err, resp.status, resp.body.data, resp.body.len,
				       r->what);
		goto out;
	}
	if (out && resp.body.len) {
		doc = cJSON_ParseWithLength(resp.body.data, resp.body.len);
		if (!doc) {
			kube_err_set(err, "cannot parse the reply to %s %s",
				     r->method, r->path);
			goto out;
		}
		*out = doc;
	}
	rc = 0;
out:
	http_response_release(&resp);
	return rc;
}

int kube_server_version(struct kube *k, cJSON **out, struct kube_err *err)
{
	struct kube_req r = { 0 };

	r.method = "GET";
	r.path = "/version";
	r.idempotent = true;
	r.what = "get version";
	if (kube_do_json(k, &r, out, err) < 0)
		return -1;
	if (!*out)
		return kube_err_set(err, "the server sent no version");
	return 0;
}

/* A path that may carry secrets: Secrets and TokenRequests. */
static bool path_sensitive(const char *path)
{
	const char *q = strchr(path, '?');
	size_t n = q ? (size_t)(q - path) : strlen(path);
	const char *s = strstr(path, "/secrets");

	return (s && (size_t)(s - path) < n) ||
	       (n >= 6 && !strncmp(path + n - 6, "/token", 6));
}

int kube_request(struct kube *k, const char *method, const char *path,
		 const char *content_type, const char *body, size_t body_len,
		 cJSON **out, struct kube_err *err)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct kube_req r = { 0 };
	struct buf what = BUF_INIT;
	int rc = -1;
	const char *m;

	*out = NULL;
	r.method = method;
	r.path = path;
	r.content_type = content_type;
	r.body = body;
	r.body_len = body_len;
	r.accept = "application/json, */*";
	r.idempotent = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	r.sensitive = path_sensitive(path);
	for (m = method; *m; m++)
		buf_addch(&what, *m >= 'A' && *m <= 'Z' ? *m - 'A' + 'a' : *m);
	buf_printf(&what, " %s", path);
	r.what = buf_str(&what);
	if (kube_do(k, &r, &resp, err) < 0)
		goto out;
	if (resp.status < 200 || resp.status > 299) {
		kube_err_from_response(err, resp.status, resp.body.data, resp.body.len,
				       r.what);
		goto out;
	}
	if (resp.body.len) {
		*out = cJSON_ParseWithLength(resp.body.data, resp.body.len);
		if (!*out && !(*out = cJSON_CreateString(buf_str(&resp.body))))
			die("out of memory");
	}
	rc = 0;
out:
	buf_release(&what);
	http_response_release(&resp);
	return rc;
}

/* The namespace of a namespaced request about a resource. */
static const char *req_ns(const struct kube *k, const struct kube_resource *r,
			  const char *ns, const cJSON *obj)
{
	if (!r->namespaced)
		return NULL;
	if (ns && *ns)
		return ns;
	if (obj && obj_namespace(obj) && *obj_namespace(obj))
		return obj_namespace(obj);
	return kube_namespace(k);
}

/* Resolves obj's kind; a kind discovery does not know is worded as
 * kubectl apply words it. */
static int resolve_obj(struct kube *k, const cJSON *obj, struct kube_resource *r,
		       struct kube_err *err)
{
	struct buf msg = BUF_INIT;
	const char *name = obj_name(obj), *ns = obj_namespace(obj);

	if (!cJSON_IsObject(obj))
		return kube_err_set(err, "the object to send is not a JSON object");
	if (kube_resolve(k, obj_api_version(obj), obj_kind(obj), r, err) == 0)
		return 0;
	if (!strcmp(err->reason, "NoKindMatch")) {
		buf_printf(&msg, "resource mapping not found for name: \"%s\" namespace: \"%s\" from \"%s\": %s\nensure CRDs are installed first",
			   name ? name : "", ns ? ns : "", k->source,
			   buf_str(&err->message));
		kube_err_set_reason(err, "NoKindMatch", "%s", buf_str(&msg));
		buf_release(&msg);
	}
	return -1;
}

/* Query of a write: fieldManager, force, dryRun. */
static void write_query(struct buf *path, const struct kube *k, bool force,
			bool dry_run)
{
	kube_query_add(path, "fieldManager", k->field_manager);
	if (force)
		kube_query_add(path, "force", "true");
	if (dry_run)
		kube_query_add(path, "dryRun", "All");
}

/* One request about one object: the body is obj as JSON. */
struct obj_call {
	const char *method;
	const char *subresource;
	const char *content_type;
	bool with_name;		/* the path names the object */
	bool force, dry_run, idempotent;
	bool *may_have_acted;	/* out, or NULL: see struct kube_req */
};

static int obj_request(struct kube *k, const cJSON *obj, const char *ns,
		       const struct obj_call *c, cJSON **out,
		       struct kube_err *err)
{
	struct buf path = BUF_INIT, what = BUF_INIT;
	struct kube_resource r;
	struct kube_req req = { 0 };
	const char *name = obj_name(obj);
	char *body = NULL;
	int rc = -1;

	if (out)
		*out = NULL;
	if (resolve_obj(k, obj, &r, err) < 0)
		goto out;
	if (c->with_name && (!name || !*name)) {
		kube_err_set(err, "%s of %s needs metadata.name", c->method, r.kind);
		goto out;
	}
	kube_path(&path, &r, req_ns(k, &r, ns, obj), c->with_name ? name : NULL,
		  c->subresource);
	write_query(&path, k, c->force, c->dry_run);
	kube_what(&what, c->method, &r, c->with_name ? name : NULL);
	if (!(body = cJSON_PrintUnformatted(obj)))
		die("out of memory");
	req.method = c->method;
	req.path = buf_str(&path);
	req.content_type = c->content_type;
	req.body = body;
	req.body_len = strlen(body);
	req.idempotent = c->idempotent;
	req.sensitive = !strcmp(r.resource, "secrets");
	req.what = buf_str(&what);
	req.may_have_acted = c->may_have_acted;
	rc = kube_do_json(k, &req, out, err);
out:
	free(body);
	buf_release(&path);
	buf_release(&what);
	return rc;
}

int kube_create(struct kube *k, const cJSON *obj, const char *ns, bool dry_run,
		cJSON **out, struct kube_err *err)
{
	const char *name = obj_name(obj);
	bool acted = false;
	/* A named object may be sent again: when an attempt created it but
	 * its answer was lost, the retry's AlreadyExists is that object. Not
	 * after a 429 alone: the server did not act on that one, so an
	 * AlreadyExists is somebody else's object. A generateName object is
	 * sent once. */
	struct obj_call c = { "POST", NULL, "application/json", false, false,
			      dry_run, name && *name, &acted };

	if (obj_request(k, obj, ns, &c, out, err) == 0)
		return 0;
	if (!acted || err->code != 409 || strcmp(err->reason, "AlreadyExists"))
		return -1;
	logv(6, "an earlier attempt created %s \"%s\"", obj_kind(obj), name);
	kube_err_release(err);
	if (!out)
		return 0;
	return kube_get(k, obj_api_version(obj), obj_kind(obj),
			ns && *ns ? ns : obj_namespace(obj), name, out, err);
}

int kube_replace(struct kube *k, const cJSON *obj, const char *ns, bool dry_run,
		 cJSON **out, struct kube_err *err)
{
	struct obj_call c = { "PUT", NULL, "application/json", true, false,
			      dry_run, true, NULL };

	return obj_request(k, obj, ns, &c, out, err);
}

int kube_update_status(struct kube *k, const cJSON *obj, cJSON **out,
		       struct kube_err *err)
{
	struct obj_call c = { "PUT", "status", "application/json", true, false,
			      false, true, NULL };

	return obj_request(k, obj, NULL, &c, out, err);
}

int kube_apply(struct kube *k, const cJSON *obj, const char *ns, bool force,
	       bool dry_run, cJSON **out, struct kube_err *err)
{
	struct obj_call c = { "PATCH", NULL, "application/apply-patch+yaml", true,
			      force, dry_run, true, NULL };

	return obj_request(k, obj, ns, &c, out, err);
}

/* Resolves and builds the path of a named object. */
static int named_path(struct kube *k, const char *api_version, const char *kind,
		      const char *ns, const char *name, const char *sub,
		      struct kube_resource *r, struct buf *path,
		      struct kube_err *err)
{
	if (!name || !*name)
		return kube_err_set(err, "no name given for kind \"%s\"",
				    kind ? kind : "");
	if (kube_resolve(k, api_version, kind, r, err) < 0)
		return -1;
	kube_path(path, r, req_ns(k, r, ns, NULL), name, sub);
	return 0;
}

int kube_get(struct kube *k, const char *api_version, const char *kind,
	     const char *ns, const char *name, cJSON **out, struct kube_err *err)
{
	struct buf path = BUF_INIT, what = BUF_INIT;
	struct kube_req req = { 0 };
	struct kube_resource r;
	int rc = -1;

	*out = NULL;
	if (named_path(k, api_version, kind, ns, name, NULL, &r, &path, err) < 0)
		goto out;
	kube_what(&what, "get", &r, name);
	req.method = "GET";
	req.path = buf_str(&path);
	req.idempotent = true;
	req.sensitive = !strcmp(r.resource, "secrets");
	req.what = buf_str(&what);
	rc = kube_do_json(k, &req, out, err);
	if (rc == 0 && !*out)
		rc = kube_err_set(err, "the server sent an empty reply to get %s", name);
out:
	buf_release(&path);
	buf_release(&what);
	return rc;
}

int kube_merge_patch(struct kube *k, const char *api_version, const char *kind,
		     const char *ns, const char *name, const char *subresource,
		     const cJSON *patch, cJSON **out, struct kube_err *err)
{
	struct buf path = BUF_INIT, what = BUF_INIT;
	struct kube_req req = { 0 };
	struct kube_resource r;
	char *body = NULL;
	int rc = -1;

	if (out)
		*out = NULL;
	if (named_path(k, api_version, kind, ns, name, subresource, &r, &path,
		       err) < 0)
		goto out;
	write_query(&path, k, false, false);
	kube_what(&what, "patch", &r, name);
	if (!(body = cJSON_PrintUnformatted(patch)))
		die("out of memory");
	req.method = "PATCH";
	req.path = buf_str(&path);
	req.content_type = "application/merge-patch+json";
	req.body = body;
	req.body_len = strlen(body);
	req.idempotent = true;	/* a merge patch gives the same result twice */
	req.sensitive = !strcmp(r.resource, "secrets");
	req.what = buf_str(&what);
	rc = kube_do_json(k, &req, out, err);
out:
	free(body);
	buf_release(&path);
	buf_release(&what);
	return rc;
}

int kube_delete(struct kube *k, const char *api_version, const char *kind,
		const char *ns, const char *name, const char *propagation,
		long grace_seconds, const char *uid_precondition, cJSON **out,
		struct kube_err *err)
{
	struct buf path = BUF_INIT, what = BUF_INIT;
	struct kube_req req = { 0 };
	struct kube_resource r;
	cJSON *opts = NULL, *reply = NULL;
	char *body = NULL;
	int rc = -1;
	bool acted = false;

	if (out)
		*out = NULL;
	if (!propagation || (strcmp(propagation, "Background") &&
			     strcmp(propagation, "Foreground") &&
			     strcmp(propagation, "Orphan"))) {
		kube_err_set(err, "propagation policy must be Background, Foreground or Orphan, not '%s'",
			     propagation ? propagation : "");
		goto out;
	}
	if (named_path(k, api_version, kind, ns, name, NULL, &r, &path, err) < 0)
		goto out;
	kube_what(&what, "delete", &r, name);
	if (!(opts = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(opts, "kind", "DeleteOptions") ||
	    !cJSON_AddStringToObject(opts, "apiVersion", "v1") ||
	    !cJSON_AddStringToObject(opts, "propagationPolicy", propagation) ||
	    (grace_seconds >= 0 &&
	     !cJSON_AddNumberToObject(opts, "gracePeriodSeconds", (double)grace_seconds)) ||
	    (uid_precondition && !obj_set_str(opts, "preconditions.uid", uid_precondition)) ||
	    !(body = cJSON_PrintUnformatted(opts)))
		die("out of memory");
	req.method = "DELETE";
	req.path = buf_str(&path);
	req.content_type = "application/json";
	req.body = body;
	req.body_len = strlen(body);
	req.idempotent = true;
	req.sensitive = !strcmp(r.resource, "secrets");
	req.what = buf_str(&what);
	req.may_have_acted = &acted;
	rc = kube_do_json(k, &req, &reply, err);
	if (rc < 0 && err->code == 404 && acted) {
		/* an earlier attempt deleted it; its answer was lost */
		kube_err_release(err);
		rc = 0;
	}
	if (rc == 0 && out) {
		*out = reply;
		reply = NULL;
	}
out:
	cJSON_Delete(reply);
	cJSON_Delete(opts);
	free(body);
	buf_release(&path);
	buf_release(&what);
	return rc;
}

int kube_logs(struct kube *k, const char *ns, const char *pod,
	      const struct kube_log_opts *opts,
	      int (*fn)(void *ctx, const char *data, size_t len), void *ctx,
	      struct kube_err *err)
{
	struct kube_log_opts none = { .tail_lines = -1 };
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf path = BUF_INIT, what = BUF_INIT, n = BUF_INIT;
	struct kube_req req = { 0 };
	int rc = -1;

	if (!opts)
		opts = &none;
	if (!pod || !*pod)
		return kube_err_set(err, "no pod name given");
	buf_adds(&path, "/api/v1/namespaces/");
	http_escape(&path, ns && *ns ? ns : kube_namespace(k));
	buf_adds(&path, "/pods/");
	http_escape(&path, pod);
	buf_adds(&path, "/log");
	if (opts->container && *opts->container)
		kube_query_add(&path, "container", opts->container);
	if (opts->follow)
		kube_query_add(&path, "follow", "true");
	if (opts->timestamps)
		kube_query_add(&path, "timestamps", "true");
	if (opts->previous)
		kube_query_add(&path, "previous", "true");
	if (opts->tail_lines >= 0) {
		buf_set(&n, "%lld", (long long)opts->tail_lines);
		kube_query_add(&path, "tailLines", buf_str(&n));
	}
	if (opts->since_seconds > 0) {
		buf_set(&n, "%lld", (long long)opts->since_seconds);
		kube_query_add(&path, "sinceSeconds", buf_str(&n));
	}
	if (opts->limit_bytes > 0) {
		buf_set(&n, "%lld", (long long)opts->limit_bytes);
		kube_query_add(&path, "limitBytes", buf_str(&n));
	}
	buf_printf(&what, "get pods %s", pod);
	req.method = "GET";
	req.path = buf_str(&path);
	req.accept = "*/*";
	req.idempotent = true;
	req.stream = opts->follow;
	req.on_data = fn;
	req.ctx = ctx;
	req.what = buf_str(&what);
	if (kube_do(k, &req, &resp, err) < 0)
		goto out;
	if (resp.status < 200 || resp.status > 299) {
		kube_err_from_response(err, resp.status, resp.body.data, resp.body.len,
				       req.what);
		goto out;
	}
	rc = 0;
out:
	http_response_release(&resp);
	buf_release(&path);
	buf_release(&what);
	buf_release(&n);
	return rc;
}

int kube_token_request(struct kube *k, const char *ns, const char *sa,
		       int64_t expiration_seconds, const char *audience,
		       char **token, struct kube_err *err)
{
	struct buf path = BUF_INIT, what = BUF_INIT;
	struct kube_req req = { 0 };
	cJSON *tr = NULL, *reply = NULL, *aud;
	const char *tok;
	char *body = NULL;
	int rc = -1;

	*token = NULL;
	if (!sa || !*sa)
		return kube_err_set(err, "no service account name given");
	if (!(tr = obj_new("authentication.k8s.io/v1", "TokenRequest", NULL, NULL)) ||
	    !obj_ensure(tr, "spec"))
		die("out of memory");
	if (expiration_seconds > 0)
		obj_set(tr, "spec.expirationSeconds",
			cJSON_CreateNumber((double)expiration_seconds));
	if (audience && *audience) {
		if (!(aud = cJSON_CreateArray()))
			die("out of memory");
		cJSON_AddItemToArray(aud, cJSON_CreateString(audience));
		obj_set(tr, "spec.audiences", aud);
	}
	if (!(body = cJSON_PrintUnformatted(tr)))
		die("out of memory");
	buf_adds(&path, "/api/v1/namespaces/");
	http_escape(&path, ns && *ns ? ns : kube_namespace(k));
	buf_adds(&path, "/serviceaccounts/");
	http_escape(&path, sa);
	buf_adds(&path, "/token");
	buf_printf(&what, "post serviceaccounts %s", sa);
	req.method = "POST";
	req.path = buf_str(&path);
	req.content_type = "application/json";
	req.body = body;
	req.body_len = strlen(body);
	req.idempotent = true;	/* another token is as good */
	req.sensitive = true;
	req.what = buf_str(&what);
	if (kube_do_json(k, &req, &reply, err) < 0)
		goto out;
	tok = obj_str(reply, "status.token");
	if (!tok || !*tok) {
		kube_err_set(err, "the TokenRequest for service account '%s' got no token",
			     sa);
		goto out;
	}
	*token = xstrdup(tok);
	rc = 0;
out:
	cJSON_Delete(tr);
	cJSON_Delete(reply);
	free(body);
	buf_release(&path);
	buf_release(&what);
	return rc;
}
