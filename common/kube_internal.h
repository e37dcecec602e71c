/* kube_internal.h - what the files of the kube module share (kube.c,
 * kube_discovery.c, kube_err.c, kube_list.c, kube_store.c, kube_watch.c),
 * and what the unit tests reach into. Not for programs: use kube.h.
 *
 * Ownership as in kube.h: returned cJSON trees and arrays are the caller's;
 * struct kube owns its discovery cache and its store of watched objects is
 * the watch's.
 */
#ifndef WLKIT_KUBE_INTERNAL_H
#define WLKIT_KUBE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "http.h"
#include "kube.h"

/* One resource of a discovery document. */
struct kube_api_resource {
	struct kube_resource r;
	char *singular;		/* "job", may be "" */
	char **short_names;	/* NULL-terminated, may be empty */
	char **verbs;		/* NULL-terminated, may be empty */
};

/* A group version's discovery document, fetched or known absent. */
struct kube_gv {
	char *group;		/* "" for core */
	char *version;
	bool fetched;		/* a reply came (served or 404) */
	bool served;		/* 200 */
	struct kube_api_resource *res;
	size_t nres;
	struct kube_gv *next;
};

/* A group of /apis (or the core group of /api). */
struct kube_group {
	char *name;		/* "" for core */
	char *preferred;	/* preferred version */
	char **versions;	/* NULL-terminated, in the server's order */
};

struct kube_discovery {
	struct kube_gv *gvs;		/* fetched group versions */
	bool have_groups;		/* /api and /apis were read */
	struct kube_group *groups;	/* core first, then /apis order */
	size_t ngroups;
};

struct kube {
	struct kube_target *target;
	struct http *http;
	char *field_manager;
	char *source;			/* "STDIN" or a file name */
	struct kube_discovery disc;
	struct http_cancel *cancel;	/* borrowed, or NULL */
};

/* One request; see kube_do(). */
struct kube_req {
	const char *method;
	const char *path;		/* starting with '/', query included */
	const char *content_type;	/* NULL: none */
	const char *body;
	size_t body_len;
	const char *accept;		/* NULL: application/json */
	bool idempotent;		/* safe to repeat after a 5xx */
	bool sensitive;			/* bodies never logged */
	bool stream;			/* no request timeout (watch, follow) */
	int64_t timeout_ms;		/* > 0: overrides the target's */
	http_data_fn on_data;		/* stream 2xx bodies here (http.h) */
	void *ctx;
	const char *what;		/* "get jobs.batch x", for messages */
	bool *may_have_acted;		/* out, or NULL: set when an attempt
					 * before the last may have taken
					 * effect, its answer lost (http.h) */
};

/* Sends r with the target's credentials; on a 401 asks for fresh ones
 * (kube_cred_get force) and sends once more when they can change. Returns
 * 0 when a response arrived (any status, in *resp), -1 with *err on a
 * transport or credential failure. */
int kube_do(struct kube *k, const struct kube_req *r, struct http_response *resp,
	    struct kube_err *err);
/* kube_do, then: 2xx -> *out = the parsed reply (NULL when empty; may be
 * NULL to ignore it), else *err from the response. */
int kube_do_json(struct kube *k, const struct kube_req *r, cJSON **out,
		 struct kube_err *err);

/* kube_err.c */
/* The kubectl message for a transport failure to server (http.h's text). */
void kube_err_unreachable(struct kube_err *err, const char *server,
			  const char *detail);
/* Sets a client-side error with a reason ("NoKindMatch", "Timeout"). */
int kube_err_set_reason(struct kube_err *err, const char *reason,
			const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Builds *err from a Status object (borrowed; copied into err->status);
 * http_status used when the Status has no code. */
void kube_err_from_status(struct kube_err *err, const cJSON *status,
			  long http_status);
/* "get jobs.batch x" into out. */
void kube_what(struct buf *out, const char *verb, const struct kube_resource *r,
	       const char *name);

/* kube_discovery.c */
/* Parses an APIResourceList for group/version. 0, or -1 with *err. */
int kube_discovery_parse_resources(const char *group, const char *version,
				   const char *json, size_t len,
				   struct kube_api_resource **out, size_t *n,
				   struct buf *err);
void kube_api_resources_free(struct kube_api_resource *res, size_t n);
/* Parses /api (APIVersions) and /apis (APIGroupList) into groups, core
 * first. Either text may be NULL (that part is skipped). 0 or -1. */
int kube_discovery_parse_groups(const char *api_json, size_t api_len,
				const char *apis_json, size_t apis_len,
				struct kube_group **out, size_t *n,
				struct buf *err);
void kube_groups_free(struct kube_group *g, size_t n);
/* Finds kind in a parsed list (main resources only, no "x/status"). */
const struct kube_api_resource *kube_find_kind(const struct kube_api_resource *res,
					       size_t n, const char *kind);
/* Finds a kubectl-style name (plural, singular, short name, kind, case
 * insensitive) in a parsed list. */
const struct kube_api_resource *kube_find_name(const struct kube_api_resource *res,
					       size_t n, const char *name);
/* Splits "group/version" or "version". */
void kube_split_api_version(const char *api_version, struct buf *group,
			    struct buf *version);
void kube_discovery_release(struct kube_discovery *d);

/* kube_store.c: what a watch has delivered, by namespace/name. */
struct kube_store;
struct kube_store *kube_store_new(void);
void kube_store_free(struct kube_store *s);
size_t kube_store_count(const struct kube_store *s);
/* The delivered object for namespace/name, or NULL (borrowed). */
const cJSON *kube_store_get(const struct kube_store *s, const char *ns,
			    const char *name);
/* Filters and records one event before delivery: returns false when it
 * must not be delivered (ADDED/MODIFIED of an object whose resourceVersion
 * was delivered already). DELETED removes the object. */
bool kube_store_event(struct kube_store *s, const char *type, const cJSON *obj);
/* After a relist (items: the list's items), delivers the difference to
 * what was delivered, through fn, updating the store: list order for
 * ADDED/MODIFIED (DELETED+ADDED when the uid changed), then DELETED for the
 * vanished ones in namespace/name order. Returns 0, or fn's non-zero value
 * at once. */
int kube_store_relist(struct kube_store *s, const cJSON *items, kube_watch_fn fn,
		      void *ctx);

/* kube_list.c */
/* kube_list() for a resolved resource; ns used when r is namespaced and
 * not all_namespaces. */
int kube_list_resource(struct kube *k, const struct kube_resource *r,
		       const char *ns, const struct kube_list_opts *opts,
		       cJSON **out, struct kube_err *err);
/* Sets apiVersion and kind first in obj (a copy is made; obj is freed);
 * returns the new object. */
cJSON *kube_obj_with_type(cJSON *take_obj, const char *api_version,
			  const char *kind);
/* Appends "?a=b&c=d"-style query parameters: the first call on a path with
 * no '?' adds '?', then '&'. value is %-escaped. */
void kube_query_add(struct buf *path, const char *key, const char *value);

#endif
