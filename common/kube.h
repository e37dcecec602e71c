/* kube.h - the Kubernetes REST client.
 *
 * Objects are cJSON trees. Every function that returns a cJSON * gives the
 * caller a new tree to free with cJSON_Delete(); every cJSON * argument is
 * borrowed. Functions return 0 on success and -1 on failure; on failure *err
 * holds what went wrong (kube_err_print() prints it the way kubectl does:
 * "Error from server (NotFound): jobs.batch \"x\" not found", or
 * "error: ..." for client-side failures). Always kube_err_release() it.
 *
 * Kinds are mapped to REST paths by discovery (/api, /apis and each group
 * version, fetched once per process on first need; a kind not found triggers
 * one refresh, for CRDs created meanwhile). api_version is "v1" or
 * "group/version"; "" / NULL for the group's preferred version is not
 * accepted. ns NULL means the connection's namespace (kube_namespace()) for
 * namespaced kinds and is ignored for cluster-scoped ones.
 *
 * Every write sends fieldManager=<program> (from kube_open) where the API
 * takes one, dryRun=All when dry_run is set. Authentication: a 401 makes the
 * client ask kube_config for fresh credentials (token file re-read, exec
 * plugin re-run) and retry once. Retries of 429/5xx are http.h's.
 */
#ifndef WLKIT_KUBE_H
#define WLKIT_KUBE_H

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "kube_config.h"

struct kube;

struct kube_err {
	int code;		/* HTTP status, 0 for client-side errors */
	char reason[64];	/* Status.reason: NotFound, Conflict, ... or "" */
	struct buf message;	/* Status.message or the client-side message */
	cJSON *status;		/* the Status object when the server sent one */
};
#define KUBE_ERR_INIT { 0, "", BUF_INIT, NULL }

void kube_err_release(struct kube_err *err);
/* Sets a client-side error (code 0); returns -1. */
int kube_err_set(struct kube_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints err to stderr as kubectl would. */
void kube_err_print(const struct kube_err *err);
/* "Error from server (Reason): message" or "error: message", into out. */
void kube_err_format(const struct kube_err *err, struct buf *out);
/* Builds *err from a response status and body (a Status object or not). */
void kube_err_from_response(struct kube_err *err, long status, const char *body,
			    size_t len, const char *what);

/* A resolved kind. */
struct kube_resource {
	char group[128];	/* "" for core */
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

/* kind + apiVersion -> resource via discovery. */
int kube_resolve(struct kube *k, const char *api_version, const char *kind,
		 struct kube_resource *out, struct kube_err *err);
/* The URL path of a resource: /apis/G/V[/namespaces/NS]/RES[/NAME[/SUB]]. */
void kube_path(struct buf *out, const struct kube_resource *r, const char *ns,
	       const char *name, const char *subresource);
/* "jobs.batch" / "pods": the name kubectl uses in messages and -o name. */
void kube_resource_qualified(const struct kube_resource *r, struct buf *out);
/* "-o name" form: kind.group/name, kind/name for core ("job.batch/x"). */
void kube_object_ref(const struct kube_resource *r, const char *name, struct buf *out);

/* GET /version into a new object. */
int kube_server_version(struct kube *k, cJSON **out, struct kube_err *err);
/* A raw request against the API (path with query), for what has no helper.
 * body may be NULL. On success *out is the parsed JSON reply (or NULL when
 * the reply is empty). */
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
/* All pages (limit/continue; an expired continue token restarts the list).
 * *out is the list object (kind XList, items = all items, each with its
 * apiVersion and kind filled in, metadata.resourceVersion the list's). */
int kube_list(struct kube *k, const char *api_version, const char *kind,
	      const char *ns, const struct kube_list_opts *opts, cJSON **out,
	      struct kube_err *err);

/* POST. ns NULL: obj's namespace, else the connection's. */
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
 * an error (the caller decides whether it matters). */
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
 * or a server-side timeout resumes from the last seen version; a 410 Gone
 * (as a response or an ERROR event) relists and delivers only the
 * difference to what was already delivered (ADDED for new objects,
 * MODIFIED for changed resourceVersions, DELETED for vanished ones), so
 * the caller never sees an event twice or misses a change.
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

/* Incremental splitter of a watch stream into JSON events: feed bytes as
 * they arrive (chunk boundaries anywhere), get complete events. Exposed for
 * unit tests and for other streaming JSON readers. */
struct kube_event_splitter;
struct kube_event_splitter *kube_event_splitter_new(void);
void kube_event_splitter_free(struct kube_event_splitter *s);
/* Feeds data; for each complete top-level JSON value calls fn(ctx, text,
 * len) (text not NUL-terminated). fn returns 0 to go on, else that value is
 * returned at once. Whitespace between values is skipped. Returns 0, the
 * callback's non-zero value, or -1 when the data is not JSON. */
int kube_event_splitter_feed(struct kube_event_splitter *s, const char *data,
			     size_t len, int (*fn)(void *ctx, const char *text,
			     size_t len), void *ctx);

/* Pod logs: GET .../pods/NAME/log[?container=&follow=true&tailLines=...];
 * each chunk of bytes goes to fn as it arrives (return non-zero to stop). */
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

/* TokenRequest for a ServiceAccount; *token is malloc'd (never log it). */
int kube_token_request(struct kube *k, const char *ns, const char *sa,
		       int64_t expiration_seconds, const char *audience,
		       char **token, struct kube_err *err);

#endif
