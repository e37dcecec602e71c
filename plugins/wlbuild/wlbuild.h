/* wlbuild.h - kubectl-wlbuild: a directory built into a container image on
 * Google Cloud Build (or a local docker), printed as an ImageBuild object.
 *
 * The parts, one file each:
 *  naming.c     image references: the registry/project rules, validation,
 *               the default tag, the staging bucket's name
 *  context.c    the build context: its ignore rules, its Dockerfile, its
 *               archive's hash and newest mtime (no network)
 *  request.c    the Build request, the equivalent cloudbuild.yaml and the
 *               ImageBuild object
 *  upload.c     the staging bucket and the resumable, streamed upload
 *  logtail.c    Range-tailing a build's log object
 *  cloudbuild.c the Cloud Build flow: create, follow, cancel, status
 *  docker.c     the docker backend (docker buildx build --push)
 *  complete.c   --project/--region completion from the gcloud config
 *
 * Ownership: structs filled by a function are released by its _release
 * pair; char * results are the caller's to free(); cJSON * results are new
 * trees; arguments are borrowed. Functions return 0, or -1 with a message
 * for the user in *err, unless they say otherwise.
 */
#ifndef WLKIT_WLBUILD_H
#define WLKIT_WLBUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "archive.h"
#include "buf.h"
#include "cli.h"
#include "gcp.h"
#include "http.h"
#include "ignore.h"
#include "stream.h"

#define WLB_API_VERSION "wlkit.dev/v1alpha1"
#define WLB_DOCKER_STEP "gcr.io/cloud-builders/docker"
#define WLB_DEFAULT_TIMEOUT_S 600
#define WLB_MAX_TIMEOUT_S (24 * 3600)
#define WLB_TAIL_LINES 20
#define EXIT_INTERRUPTED 130

/* The option values of a build (flags borrowed from argv). */
struct wlb_opts {
	const char *image, *dockerfile, *project, *region, *registry;
	const char *machine_type, *backend, *config_out, *access_token_file;
	int64_t timeout_ms;
	long disk_size;
	struct cli_list substitutions, build_args;
	bool async;
};

/* ---- naming.c ---- */

/* Trims blanks (spaces, tabs, CR, LF) at both ends of s into out. */
void wlb_trim(const char *s, struct buf *out);
/* A project id fit for image names and the bucket: non-empty, no blanks,
 * "domain.com:name" allowed. */
int wlb_check_project(const char *project, struct buf *err);
/* The registry prefix "app" names are put under: registry (trimmed; NULL:
 * gcr.io/<project>); a bare gcr.io host gets "/<project>". project may be
 * NULL when registry needs none. */
int wlb_registry(const char *registry, const char *project, struct buf *out,
		 struct buf *err);
/* The full image name for --image name (trimmed): as is when its first
 * path part is a registry host, <gcr host>/name when the first part is the
 * project, else <registry>/name. *has_tag says whether a tag was given.
 * The result is validated (wlb_check_ref) without the default tag. */
int wlb_image_name(const char *name, const char *project, const char *registry,
		   struct buf *out, bool *has_tag, struct buf *err);
/* Checks a full reference ("host/path[:tag]") as docker and Cloud Build
 * parse it; -1 with the reason. */
int wlb_check_ref(const char *ref, struct buf *err);
/* The reference without its tag (and digest), appended to out. */
void wlb_ref_repository(const char *ref, struct buf *out);
/* The last path part of ref without tag, made a DNS-1123 name (for
 * metadata.name). */
void wlb_ref_short_name(const char *ref, struct buf *out);
/* The default tag: "<newest mtime, UTC YYYYmmdd-HHMMSS>-<12 hex of the
 * archive's sha256>", appended to out. */
void wlb_default_tag(int64_t newest_mtime, const char *sha256, struct buf *out);
/* The staging bucket "<project>_cloudbuild", ':' and '.' made '_' and
 * "google" made "elgoog", appended to out. */
void wlb_bucket_name(const char *project, struct buf *out);
/* A fresh object name "source/<epoch>.<micro>-<32 hex>.tgz", appended. */
void wlb_source_object(struct buf *out);

/* ---- context.c ---- */

struct wlb_context {
	char *dir;		/* as given, without trailing '/' */
	char *dockerfile;	/* relative to dir, e.g. "Dockerfile" */
	bool dockerfile_default;/* --dockerfile not given */
	struct ignore *ig;
	int64_t newest_mtime;	/* of what is packed; 0 when empty */
	struct archive_stats st;/* of a dry pack (wlb_context_hash) */
};

/* Loads DIR's ignore rules and resolves the Dockerfile (relative to the
 * current directory as docker's -f, it must lie inside DIR and must not be
 * left out by the rules). On failure c is left released. */
int wlb_context_open(struct wlb_context *c, const char *dir, const char *dockerfile,
		     struct buf *err);
/* Packs the context into nothing to learn its hash and newest mtime. */
int wlb_context_hash(struct wlb_context *c, struct buf *err);
void wlb_context_release(struct wlb_context *c);

/* ---- request.c ---- */

struct wlb_build {
	const struct wlb_opts *o;
	const struct wlb_context *ctx;
	const char *project, *location, *image;	/* image: full, with tag */
	const char *bucket, *object;		/* the source; NULL: none */
	int64_t generation;			/* 0: not known yet */
};

/* The Build resource to POST. */
cJSON *wlb_build_request(const struct wlb_build *b);
/* The same steps/images/timeout/options/substitutions as cloudbuild.yaml
 * text, appended to out. */
int wlb_cloudbuild_yaml(const struct wlb_build *b, struct buf *out, struct buf *err);
/* An ImageBuild for image (full, tagged); spec fields NULL are left out. */
cJSON *wlb_image_build(const char *image, const char *context, const char *dockerfile,
		       const char *project, const char *location, const char *backend);
/* Fills the ImageBuild's status from a Build resource: state, buildId,
 * logUrl, duration, and image NAME@digest when it succeeded. */
void wlb_image_build_status(cJSON *ib, const cJSON *build);
/* "1.2s", "3m4s", "1h2m3s" for a number of milliseconds, appended. */
void wlb_format_duration(int64_t ms, struct buf *out);

/* ---- upload.c ---- */

/* Makes sure the staging bucket exists and belongs to project. */
int wlb_ensure_bucket(struct gcp *g, const char *project, const char *bucket,
		      struct http_cancel *cancel, struct buf *err);
/* Packs the context and streams it into gs://bucket/object with a
 * resumable upload in chunks; *generation gets the object's generation. */
int wlb_upload_context(struct gcp *g, struct wlb_context *c, const char *bucket,
		       const char *object, struct http_cancel *cancel,
		       int64_t *generation, struct buf *err);
/* The storage endpoint's base URLs: the JSON API ("…/storage/v1/") and
 * the upload API ("…/upload/storage/v1/"), appended. */
int wlb_storage_base(struct gcp *g, bool upload, struct buf *out, struct buf *err);

/* ---- logtail.c ---- */

struct wlb_tail {
	char *bucket, *object;	/* the log object */
	uint64_t offset;	/* bytes read so far */
	bool echo;		/* copy new bytes to stderr */
	struct buf last;	/* the end of the log, for wlb_tail_print_last */
};

/* Sets up a tail of "<logsBucket>/log-<id>.txt" (logsBucket "gs://B[/P]"). */
int wlb_tail_init(struct wlb_tail *t, const char *logs_bucket, const char *id,
		  bool echo, struct buf *err);
/* Reads what is new (one ranged GET): 0 whether or not there was. */
int wlb_tail_poll(struct gcp *g, struct wlb_tail *t, struct http_cancel *cancel,
		  struct buf *err);
/* Prints the last n lines read on stderr. */
void wlb_tail_print_last(const struct wlb_tail *t, int n);
void wlb_tail_release(struct wlb_tail *t);

/* ---- cloudbuild.c ---- */

/* The Cloud Build run of `kubectl wlbuild DIR` (the context already
 * hashed, image the full tagged name); the ImageBuild (or with dry_run the
 * Build request) goes to out. Returns the exit code. */
int wlb_cloudbuild_run(struct gcp *g, const struct wlb_opts *o, struct wlb_context *c,
		       const char *project, const char *location, const char *image,
		       bool dry_run, struct stream_out *out);
/* `kubectl wlbuild status ID`: the exit code. */
int wlb_status_run(struct gcp *g, const char *project, const char *id,
		   const char *location, bool follow, struct stream_out *out);
/* The SIGINT switch: handlers fire it; the flow checks it. */
struct http_cancel *wlb_interrupt(void);
int wlb_interrupt_install(struct buf *err);
bool wlb_interrupted(void);

/* ---- docker.c ---- */

/* `docker buildx build --push` of the context; exit code. */
int wlb_docker_run(const struct wlb_opts *o, struct wlb_context *c, const char *image,
		   const char *project, bool dry_run, struct stream_out *out);

/* ---- complete.c ---- */

/* The value completer: --project and --region from the gcloud config
 * (every configuration's [core] project and [compute] region), and
 * common Cloud Build regions. */
const char *const *wlb_complete_values(const char *opt);

#endif
