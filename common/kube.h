/* kube.h - the Kubernetes REST client.
 *
 * Objects are cJSON trees. Every function that returns a cJSON * gives the
 * caller a new tree to free with cJSON_Delete(); every cJSON * argument is
 * borrowed. Functions return 0 on success and -1 on failure; on failure *err
 * holds what went wrong (kube_err_print() prints it the way kubectl does:
 * "Error from server (NotFound): jobs.batch \"x\" not found", or
 * "error: ..." for client-side failures). Always kube_err_release() it.
 *
 * Kinds are mapped to REST paths by discovery (/api/v1 or /apis/GROUP/VERSION
 * for the one group version asked for, fetched on first need and cached per
 * process; /api and /apis only when a kubectl-style resource name must be
 * searched for, kube_resolve_name()). A kind not found triggers one refresh
 * of its group version, for CRDs created meanwhile. api_version is "v1" or
 * "group/version"; "" / NULL for the group's preferred version is not
 * accepted. ns NULL means the connection's namespace (kube_namespace()) for
 * namespaced kinds and is ignored for cluster-scoped ones.
 *
 * Every write sends fieldManager=<program> (from kube_open) where the API
 * takes one, dryRun=All when dry_run is set. Authentication: a 401 makes the
 * client ask kube_config for fresh credentials (token file re-read, exec
 * plugin re-run) and retry once. Retries of 429/5xx are http.h's. Requests
 * that carry or return secrets (Secrets, TokenRequests) are flagged
 * sensitive, so their bodies are never logged at any -v.
 */
#ifndef WLKIT_KUBE_H
#define WLKIT_KUBE_H

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "http.h"
#include "kube_config.h"

struct kube;

/* code is the HTTP status of a server error. Client-side errors have code 0
 * and reason "" or one of:
 *   "Unreachable"  no response from the server; message is kubectl's whole
 *                  line ("Unable to connect to the server: ...", or "The
 *                  connection to the server HOST was refused - did you
 *                  specify the right host or port?") and is printed as is;
 *   "NoKindMatch"  discovery does not know the kind (CRD not installed);
 *   "Timeout"      a watch ran past its timeout_ms.
 *   "Cancelled"    the client's cancel switch fired (kube_set_cancel). */
struct kube_err {
	int code;		/* HTTP status, 0 for client-side errors */
	char reason[64];	/* Status.reason: NotFound, Conflict, ... or "" */
	struct buf message;	/* Status.message or the client-side message */
	cJSON *status;		/* the Status object when the server sent one */
};
#define KUBE_ERR_INIT { 0, "", BUF_INIT, NULL }

void kube_err_release(struct kube_err *err);
/* Sets a client-side error (code 0, reason ""); returns -1. */
int kube_err_set(struct kube_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints err to stderr as kubectl would (one line, or more when the server's
 * message has several). */
void kube_err_print(const struct kube_err *err);
/* kubectl's words, appended to out without a trailing newline:
 *   "error: You must be logged in to the server (MESSAGE)"   reason Unauthorized
 *   "Error from server (Reason): message"                      server errors
 *   "Error from server: message"                               no reason
 *   the message as is                                          reason Unreachable
 *   "error: message"                                           client-side */
void kube_err_format(const struct kube_err *err, struct buf *out);
/* Builds *err from a response status and body. A Status object gives the
 * reason and message; any other body gets client-go's generic reason and
 * message for the status code ("the server could not find the requested
 * resource"), followed by " (WHAT)" when what is given: what was asked, in
 * client-go's words, "get jobs.batch x" (may be NULL). */
void kube_err_from_response(struct kube_err *err, long status, const char *body,
			    size_t len, const char *what);

/* A resolved kind. */
struct kube_resource {
	char group[256];	/* "" for core */
	char version[64];
	char resource[128];	/* plural: "jobs" */
	char kind[128];
	bool namespaced;
};

/* Connects: loads the kubeconfig from flags (kube_config.h) and prepares a
 * client. Nothing is sent until the first request. field_manager is the
 * program name ("kubectl-wlrun"). */
int kube_open(const struct kube_flags *flags, const char *field_manager,
	      struct kube **out, struct kube_err *err);
void kube_close(struct kube *k);
const char *kube_namespace(const struct kube *k);
const struct kube_target *kube_target(const struct kube *k);
/* Where the objects being written come from, for kubectl's mapping message
 * ("STDIN", the default, or a file name). Copied. */
void kube_set_source(struct kube *k, const char *source);
/* Makes every request of this client end when c fires (http.h): a watch
 * then returns 0 as if its callback stopped it, any other call -1 with
 * reason "Cancelled". c is borrowed; NULL: not cancellable. */
void kube_set_cancel(struct kube *k, struct http_cancel *c);

/* kind + apiVersion -> resource via discovery. A kind the server does not
 * serve is reason "NoKindMatch": no matches for kind "Foo" in version
 * "example.com/v1". The object-taking calls below (create, replace, apply,
 * update_status) word it as kubectl apply does:
 *   resource mapping not found for name: "x" namespace: "" from "STDIN": no
 *   matches for kind "Foo" in version "example.com/v1"
 *   ensure CRDs are installed first */
int kube_resolve(struct kube *k, const char *api_version, const char *kind,
		 struct kube_resource *out, struct kube_err *err);
/* A resource as kubectl takes it on the command line: "jobs", "job", "Job",
 * a short name ("cm"), "jobs.batch", "jobs.v1.batch", "jobsets.jobset.x-k8s.io".
 * The core group is searched first, then the groups in /apis order (each at
 * its preferred version), fetching only as many as needed. Unknown:
 *   the server doesn't have a resource type "foo" */
int kube_resolve_name(struct kube *k, const char *name,
		      struct kube_resource *out, struct kube_err *err);
/* The URL path of a resource: /apis/G/V[/namespaces/NS]/RES[/NAME[/SUB]];
 * /api/v1/... for core. The namespace segment only when r is namespaced and
 * ns is non-NULL and non-empty. Segments are %-escaped. */
void kube_path(struct buf *out, const struct kube_resource *r, const char *ns,
	       const char *name, const char *subresource);
/* "jobs.batch" / "pods": the name kubectl uses in messages and -o name. */
void kube_resource_qualified(const struct kube_resource *r, struct buf *out);
/* "-o name" form: kind.group/name, kind/name for core ("job.batch/x"), the
 * kind in lower case. */
void kube_object_ref(const struct kube_resource *r, const char *name, struct buf *out);
/* "batch/v1" or "v1", into out. */
void kube_resource_api_version(const struct kube_resource *r, struct buf *out);

/* GET /version into a new object. */
int kube_server_version(struct kube *k, cJSON **out, struct kube_err *err);
/* A raw request against the API (path with query), for what has no helper.
 * body may be NULL. On success *out is the parsed JSON reply, a cJSON string
 * holding the reply when it is not JSON, or NULL when the reply is empty. */
int kube_request(struct kube *k, const char *method, const char *path,
		 const char *content_type, const char *body, size_t body_len,
		 cJSON **out, struct kube_err *err);

int kube_get(struct kube *k, const char *api_version, const char *kind,
	     const char *ns, const char *name, cJSON **out, struct kube_err *err);

struct kube_list_opts {
	const char *label_selector;
	const char *field_selector;
	bool all_namespaces;
	int limit;		/* page size; 0: 500 */
};
/* All pages (limit/continue; an expired continue token, 410, restarts the
 * list once). *out is the list object (kind XList, items = all items, each
 * with its apiVersion and kind filled in, metadata.resourceVersion the
 * list's, no metadata.continue). */
int kube_list(struct kube *k, const char *api_version, const char *kind,
	      const char *ns, const struct kube_list_opts *opts, cJSON **out,
	      struct kube_err *err);

/* POST. ns NULL: obj's namespace, else the connection's. A named object is
 * retried like an idempotent request (http.h); when a retry is answered
 * AlreadyExists after an attempt that may have been acted on (5xx, lost
 * answer; not a 429), that attempt created it: success (*out from a GET). A generateName object is sent once. */
int kube_create(struct kube *k, const cJSON *obj, const char *ns, bool dry_run,
		cJSON **out, struct kube_err *err);
/* PUT of the whole object (optimistic concurrency on resourceVersion). */
int kube_replace(struct kube *k, const cJSON *obj, const char *ns, bool dry_run,
		 cJSON **out, struct kube_err *err);
/* PUT .../status with obj's resourceVersion. */
int kube_update_status(struct kube *k, const cJSON *obj, cJSON **out,
		       struct kube_err *err);
/* Server-side apply: PATCH application/apply-patch+yaml, the object as JSON,
 * fieldManager, force when asked. A conflict is err->code 409 with the
 * server's message (which names the conflicting fields and managers). */
int kube_apply(struct kube *k, const cJSON *obj, const char *ns, bool force,
	       bool dry_run, cJSON **out, struct kube_err *err);
/* application/merge-patch+json; subresource NULL or "status". */
int kube_merge_patch(struct kube *k, const char *api_version, const char *kind,
		     const char *ns, const char *name, const char *subresource,
		     const cJSON *patch, cJSON **out, struct kube_err *err);
/* DELETE with a DeleteOptions body; propagation "Background", "Foreground"
 * or "Orphan" (never NULL: the caller decides). grace_seconds < 0: default.
 * uid_precondition NULL or a uid. out (may be NULL) gets the reply. A 404 is
 * an error (the caller decides whether it matters), except after an attempt
 * that may have been acted on (5xx, lost answer: http.h): then that attempt
 * deleted it and the 404 is success, *out NULL. */
int kube_delete(struct kube *k, const char *api_version, const char *kind,
		const char *ns, const char *name, const char *propagation,
		long grace_seconds, const char *uid_precondition, cJSON **out,
		struct kube_err *err);

/* Watch. The callback gets each event in order: type "ADDED", "MODIFIED",
 * "DELETED" with the object (borrowed, valid during the call). Return 0 to
 * continue, 1 to stop (kube_watch then returns 0), -1 to fail (kube_watch
 * returns -1; set *err yourself if you like, through kube_err_set).
 * BOOKMARK events only advance the resourceVersion and are not delivered.
 * With resource_version NULL the watch starts with a list (delivered as
 * ADDED events) then watches from the list's version. A dropped connection
 * or a server-side timeout (the stream ends) resumes from the last seen
 * version; a 410 Gone (as a response or an ERROR event) relists and delivers
 * only the difference to what was already delivered (ADDED for new objects,
 * MODIFIED for changed resourceVersions, DELETED for vanished ones, DELETED
 * then ADDED when the uid changed; such a DELETED carries only apiVersion,
 * kind and metadata name, namespace, uid and the last delivered
 * resourceVersion, as the watch keeps no more per object), so the
 * caller never sees an event twice or misses a change. An event whose
 * object has the resourceVersion already delivered for it is dropped.
 * (With resource_version given, objects that had no event before the 410
 * are not known to have been delivered and come as ADDED.) Other ERROR
 * events end the watch with their Status. Connection failures are retried
 * with backoff while the server answers; five in a row without an event end
 * the watch with the transport error.
 * timeout_ms > 0 ends the watch with -1 and err->code 0, reason "Timeout"
 * when nothing stopped it before. */
typedef int (*kube_watch_fn)(void *ctx, const char *type, const cJSON *obj);
struct kube_watch_opts {
	const char *label_selector;
	const char *field_selector;
	const char *resource_version;	/* NULL: list first */
	bool all_namespaces;
	int64_t timeout_ms;
};
int kube_watch(struct kube *k, const char *api_version, const char *kind,
	       const char *ns, const struct kube_watch_opts *opts,
	       kube_watch_fn fn, void *ctx, struct kube_err *err);

/* Incremental splitter of a watch stream into JSON values: feed bytes as
 * they arrive (chunk boundaries anywhere, also inside strings, escapes and
 * multi-byte UTF-8 sequences), get complete values. Top-level values are
 * objects or arrays (what streams carry); work is linear in the bytes fed.
 * Exposed for unit tests and for other streaming JSON readers. */
struct kube_event_splitter;
struct kube_event_splitter *kube_event_splitter_new(void);
void kube_event_splitter_free(struct kube_event_splitter *s);
/* Feeds data; for each complete top-level JSON value calls fn(ctx, text,
 * len) (text not NUL-terminated, valid during the call). fn returns 0 to go
 * on, else that value is returned at once (the rest of data is kept and is
 * scanned on the next feed). Whitespace between values is skipped. Returns
 * 0, the callback's non-zero value, or -1 when the data is not a sequence of
 * objects/arrays (brackets that do not match, a stray character); after -1
 * every feed returns -1. */
int kube_event_splitter_feed(struct kube_event_splitter *s, const char *data,
			     size_t len, int (*fn)(void *ctx, const char *text,
			     size_t len), void *ctx);
/* True when a value has begun but not ended (bytes are held). */
bool kube_event_splitter_pending(const struct kube_event_splitter *s);

/* Pod logs: GET .../pods/NAME/log[?container=&follow=true&tailLines=...];
 * each chunk of bytes goes to fn as it arrives (return non-zero to stop;
 * kube_logs then returns 0). */
struct kube_log_opts {
	const char *container;
	bool follow;
	bool timestamps;
	bool previous;
	int64_t tail_lines;	/* < 0: all */
	int64_t since_seconds;	/* 0: all */
	int64_t limit_bytes;	/* 0: no limit */
};
int kube_logs(struct kube *k, const char *ns, const char *pod,
	      const struct kube_log_opts *opts,
	      int (*fn)(void *ctx, const char *data, size_t len), void *ctx,
	      struct kube_err *err);

/* TokenRequest for a ServiceAccount; *token is malloc'd (never log it).
 * expiration_seconds <= 0: the server's default; audience may be NULL. */
int kube_token_request(struct kube *k, const char *ns, const char *sa,
		       int64_t expiration_seconds, const char *audience,
		       char **token, struct kube_err *err);

#endif
