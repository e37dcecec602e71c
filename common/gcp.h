/* gcp.h - the Google Cloud client layer: configuration (project, region,
 * zone, endpoints) as gcloud reads it, access tokens, JSON requests with
 * Google's error shapes, paging and long-running operations.
 *
 * Configuration (gcp_config.c): each of project, region and zone is the
 * flag value, else CLOUDSDK_CORE_PROJECT / CLOUDSDK_COMPUTE_REGION /
 * CLOUDSDK_COMPUTE_ZONE, else the active gcloud configuration, read
 * directly (no gcloud process): the config dir is CLOUDSDK_CONFIG, else
 * ~/.config/gcloud; the configuration is CLOUDSDK_ACTIVE_CONFIG_NAME, else
 * the dir's `active_config` file, else "default"; its INI file is
 * `configurations/config_<name>` ([core] project, [compute] region/zone,
 * [api_endpoint_overrides] API = URL). Values are trimmed; an empty value
 * counts as unset.
 *
 * Endpoints, as gcloud: CLOUDSDK_API_ENDPOINT_OVERRIDES_<API> (API upper
 * case), else [api_endpoint_overrides] <api>, else the default base URL
 * ("https://cloudbuild.googleapis.com/", "https://container.googleapis.com/",
 * "https://compute.googleapis.com/compute/v1/",
 * "https://storage.googleapis.com/storage/v1/",
 * "https://<api>.googleapis.com/"). An override must start with http:// or
 * https:// and end with '/' (gcloud refuses others); one that is only a
 * root ("http://127.0.0.1:8080/") gets the default's path appended, as
 * gcloud's _BuildEndpointOverride does, so for compute it becomes
 * "http://127.0.0.1:8080/compute/v1/". Paths given to requests are relative
 * to the base: "v1/projects/p/locations/global/builds" for cloudbuild,
 * "projects/p/zones/z/operations/op" for compute.
 *
 * Self links: gcp_rewrite_links() rewrites every string of a reply that
 * starts with an API's default base (or its www.googleapis.com form, as
 * Compute and Storage write them) onto the effective base, so that links
 * returned by a server on loopback can be followed. gcp_do() does it on
 * every reply.
 *
 * Access tokens (gcp_auth.c), from the first source that exists, in order:
 * the --access-token-file value; CLOUDSDK_AUTH_ACCESS_TOKEN_FILE;
 * Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, else
 * <config dir>/application_default_credentials.json) of type
 * authorized_user (refresh-token grant) or service_account (an RS256 JWT,
 * jwt-bearer grant); the GCE metadata server (GCE_METADATA_HOST, else
 * metadata.google.internal when /sys/class/dmi/id/product_name says
 * Google; the reply must carry "Metadata-Flavor: Google"); last `gcloud
 * auth print-access-token` when gcloud is on PATH. A source that exists but
 * fails is an error; later sources are not tried. Token files are read at
 * each call (they may be rewritten); fetched tokens are cached until 60 s
 * before their expires_in, gcloud's for 3 minutes. Secrets (tokens,
 * refresh tokens, client secrets, private keys, assertions) are never
 * printed: their requests are .sensitive and the buffers are wiped.
 *
 * Errors: functions return 0, or -1 with a one-line message in *err for
 * the user; Google error bodies become "API: STATUS: message", e.g.
 * "cloudbuild: PERMISSION_DENIED: The caller does not have permission"
 * (print it with error("%s", ...)). gcp_wait_operation returns -2 on its
 * overall timeout.
 *
 * Ownership: every char * and cJSON * a function returns or fills is the
 * caller's (free() / cJSON_Delete()); arguments are borrowed. struct gcp
 * owns its configuration, token cache and a reference to the http pool.
 *
 * Thread-safety: a struct gcp may be used from several threads once made;
 * the token cache is behind a mutex (one refresh at a time).
 */
#ifndef WLKIT_GCP_H
#define WLKIT_GCP_H

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "http.h"

/* Flag values, borrowed; NULL or "" when not given. */
struct gcp_options {
	const char *access_token_file;
	const char *project, *region, *zone;
	const char *credentials_file;	/* a service account or authorized_user
					 * key that is the only token source
					 * (as gcloud's --credential-file-override) */
	const char *scope;		/* of service-account tokens; NULL:
					 * cloud-platform */
};

/* ---- configuration (gcp_config.c) ---- */

struct gcp_override {
	char *api;	/* lower case, as in the INI file */
	char *url;
};

struct gcp_config {
	char *project, *region, *zone;	/* NULL when unset anywhere */
	char *config_dir;		/* CLOUDSDK_CONFIG or ~/.config/gcloud */
	char *active_config;		/* the configuration's name */
	struct gcp_override *overrides;	/* the [api_endpoint_overrides] lines */
	size_t n_overrides;
};

/* Fills c (which it first zeroes) from the flags, the environment and the
 * active configuration file. A missing file is not an error; an unreadable
 * one is. Release with gcp_config_release(). */
int gcp_config_load(struct gcp_config *c, const struct gcp_options *opt,
		    struct buf *err);
void gcp_config_release(struct gcp_config *c);
/* The effective base URL of api ("compute", "cloudbuild", ...), ending in
 * '/', appended to out. -1 with *err for a malformed override. */
int gcp_config_endpoint(const struct gcp_config *c, const char *api,
			struct buf *out, struct buf *err);
/* The default base URL of api, appended to out. */
void gcp_default_endpoint(const char *api, struct buf *out);
/* Rewrites, in place, every string in tree that starts with the default
 * base of an overridden API among apis (NULL-terminated; NULL: cloudbuild,
 * compute, container, storage) onto that API's override. */
void gcp_config_rewrite_links(const struct gcp_config *c, const char *const *apis,
			      cJSON *tree);

/* ---- access tokens (gcp_auth.c) ---- */

struct gcp_auth;

/* A token source for the given --access-token-file value (NULL: none) and
 * gcloud config dir (borrowed for the call). Nothing is read until the
 * first gcp_auth_token(). */
struct gcp_auth *gcp_auth_new(const char *access_token_file, const char *config_dir);
void gcp_auth_free(struct gcp_auth *a);
/* Appends a valid access token to out (wipe it with explicit_bzero when
 * done). Thread-safe. */
int gcp_auth_token(struct gcp_auth *a, struct buf *out, struct buf *err);
/* Where tokens come from, e.g. "credentials file '/k.json'"; "" before
 * the first gcp_auth_token(). Borrowed from a. */
const char *gcp_auth_source(struct gcp_auth *a);
/* The JWT a service account key signs (header.claims.signature,
 * base64url), for token_uri at time iat, appended to out. Exposed for
 * tests. */
int gcp_jwt_sign(const char *key_path, const char *client_email,
		 const char *key_id, const char *pem, const char *token_uri,
		 const char *scope, int64_t iat, struct buf *out, struct buf *err);
/* Makes key_file the only token source, its service-account tokens for
 * scope (NULL: cloud-platform). Call before the first token. */
void gcp_auth_use_key(struct gcp_auth *a, const char *key_file, const char *scope);
/* Base64url without padding (RFC 7515), appended to out. */
void gcp_base64url(struct buf *out, const void *data, size_t n);

/* ---- the client (gcp_api.c) ---- */

struct gcp;

/* Loads the configuration; does not fetch a token yet. NULL with *err. */
struct gcp *gcp_new(const struct gcp_options *opt, struct buf *err);
void gcp_free(struct gcp *g);
const struct gcp_config *gcp_config(const struct gcp *g);
/* The project, or -1 with "no project is set: pass --project, set
 * CLOUDSDK_CORE_PROJECT or run 'gcloud config set project PROJECT'". The
 * pointer is borrowed from g. */
int gcp_require_project(const struct gcp *g, const char **project, struct buf *err);
int gcp_access_token(struct gcp *g, struct buf *out, struct buf *err);
int gcp_endpoint(const struct gcp *g, const char *api, struct buf *out,
		 struct buf *err);
void gcp_rewrite_links(const struct gcp *g, cJSON *tree);
struct http *gcp_http(struct gcp *g);

/* A new request id (UUID v4, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"),
 * appended to out. */
void gcp_request_id(struct buf *out);

struct gcp_req {
	const char *method;	/* "GET", "POST", ... */
	const char *api;	/* "compute", "cloudbuild", ...: base and error prefix */
	const char *path;	/* relative to the api's base, or an absolute URL */
	const cJSON *body;	/* JSON body, or NULL */
	bool request_id;	/* add ?requestId=<new UUID> (Compute): the
				 * request is then safe to repeat and every
				 * attempt carries the same id */
	bool idempotent;	/* safe to repeat after a 5xx (http.h) */
	bool sensitive;		/* never log the bodies (http.h): for
				 * resources that carry credentials */
	int64_t timeout_ms;	/* each attempt; 0: 60 s */
	struct http_cancel *cancel;
};

struct gcp_reply {
	long status;		/* HTTP status; 0 when none arrived */
	cJSON *json;		/* the parsed 2xx body (NULL when empty) */
	char error_status[48];	/* a non-2xx: Google's status ("NOT_FOUND") */
	char error_reason[64];	/* a non-2xx: error.errors[0].reason, or "" */
};
#define GCP_REPLY_INIT { 0, NULL, "", "" }
void gcp_reply_release(struct gcp_reply *r);

/* Sends the request with the bearer token. 0 on a 2xx (links in the reply
 * rewritten), -1 otherwise with the one-line message in *err and what the
 * server said in *reply. */
int gcp_do(struct gcp *g, const struct gcp_req *req, struct gcp_reply *reply,
	   struct buf *err);
/* gcp_do() for the common case: *out gets the reply (an empty object for
 * an empty body). */
int gcp_request(struct gcp *g, const char *method, const char *api,
		const char *path, const cJSON *body, cJSON **out, struct buf *err);
/* Formats a Google error reply as "API: STATUS: message" into err (which
 * it replaces), and fills status/reason when not NULL (sizes as in
 * struct gcp_reply). Works for JSON error bodies, OAuth errors, and
 * anything else (then "API: HTTP 502 Bad Gateway: first line"). */
void gcp_error_format(const char *api, long http_status, const char *body,
		      size_t len, struct buf *err, char *status, char *reason);
/* The canonical name of a google.rpc.Code number ("NOT_FOUND" for 5), or
 * of an HTTP status (404 -> "NOT_FOUND") when is_http. Static storage. */
const char *gcp_code_name(long code, bool is_http);

/* Paging over nextPageToken: GETs path (which may already have a query),
 * then path&pageToken=T while the reply has one, and calls fn for every
 * element of the reply's items_key array ("items", "builds", ...). fn
 * returns 0 to go on, -1 to stop with its message in *err. */
typedef int (*gcp_item_fn)(void *ctx, const cJSON *item, struct buf *err);
int gcp_list(struct gcp *g, const char *api, const char *path,
	     const char *items_key, gcp_item_fn fn, void *ctx, struct buf *err);
/* The same, the items gathered into a new array *out. */
int gcp_list_all(struct gcp *g, const char *api, const char *path,
		 const char *items_key, cJSON **out, struct buf *err);

/* Long-running operations. The api names the shape:
 *  "cloudbuild": google.longrunning.Operation ("name", "done", "error" a
 *    google.rpc.Status, "response"), polled with GET v1/<name>;
 *  "container": status PENDING/RUNNING/DONE (or ABORTING), "error" or
 *    "statusMessage" on failure, polled with GET on its selfLink, else
 *    v1/projects/<project>/locations/<location>/operations/<name>;
 *  "compute": status PENDING/RUNNING/DONE, "error.errors[]" on failure,
 *    waited for with POST <selfLink>/wait (which returns within about two
 *    minutes, or at once) in a loop.
 * Polls at most every poll_ms (0: 1 s; compute only waits that long
 * between wait calls that returned at once). Ends after timeout_ms (0: no
 * limit) with -2 and "timed out after Ns waiting for operation 'NAME'", or
 * with -1 "cancelled" when cancel fires. On success *done (if not NULL)
 * gets the finished operation; a failed operation is -1 with its errors on
 * one line ("compute: QUOTA_EXCEEDED: Quota 'CPUS' exceeded; ..."). */
struct gcp_wait {
	int64_t timeout_ms;
	int64_t poll_ms;
	struct http_cancel *cancel;
};
int gcp_wait_operation(struct gcp *g, const char *api, const cJSON *op,
		       const struct gcp_wait *w, cJSON **done, struct buf *err);

#endif
