/* nodeimage.h - gcloud-nodeimage's internal contracts.
 *
 * An environment is vars/NAME.json (--vars-dir, default ./vars) plus
 * vars/_kube-env.yaml (kube-env replacements). env.c loads and validates
 * it (one line naming the file and the key on a bad value) and updates
 * last_run_id atomically (file.h with FILE_SYNC; the other keys and their
 * order kept).
 *
 * A node pool in scope resolves (resolve.c) to its instance groups
 * (nodePools[].instanceGroupUrls, zonal or regional managers, also the
 * versions[] form), each to its current instance template (global or
 * regional) read once. A template made by this tool carries the labels
 * NI_LABEL_RUN (the run id) and NI_LABEL_SOURCE (the name of the template
 * it was copied from): they are the only record mutate and rollback need,
 * so both work after a crash halfway.
 *
 * Every command takes the options of NI_COMMON_OPTS (they fill `ni`), and
 * the ones that change something take --dry-run (a plan, nothing sent).
 *
 * Ownership: struct ni_env and struct ni_group own their strings and cJSON
 * trees; ni_env_free / ni_groups_free release them.
 */
#ifndef WLKIT_NODEIMAGE_H
#define WLKIT_NODEIMAGE_H
#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "cli.h"
#include "gcp.h"
#include "stream.h"

#define NI_API_VERSION "wlkit.dev/v1alpha1"
#define NI_LABEL_RUN "wlkit-nodeimage-run"
#define NI_LABEL_SOURCE "wlkit-nodeimage-source"

/* The options every command takes (main.c defines `ni`). */
struct ni_globals {
	const char *env;		/* --env NAME (required) */
	const char *vars_dir;		/* --vars-dir DIR (./vars) */
	const char *project;		/* --project: overrides the env file's */
	const char *format;		/* --format yaml|json (yaml) */
	const char *access_token_file;	/* --access-token-file */
	bool dry_run;			/* --dry-run (commands that change things) */
};
extern struct ni_globals ni;

#define NI_COMMON_OPTS							\
	{ "env", 0, CLI_STR, &ni.env, "NAME",				\
	  "the environment: vars/NAME.json", NULL, NULL },		\
	{ "vars-dir", 0, CLI_STR, &ni.vars_dir, "DIR",			\
	  "where the environment files are (default ./vars)", NULL, "dir" }, \
	{ "project", 0, CLI_STR, &ni.project, "PROJECT",		\
	  "the Google Cloud project (default: the environment's)", NULL, NULL }, \
	{ "format", 0, CLI_STR, &ni.format, "FORMAT",			\
	  "output format", "yaml|json", NULL },				\
	{ "access-token-file", 0, CLI_STR, &ni.access_token_file, "FILE", \
	  "a file holding a Google access token", NULL, "file" }

/* ---- env.c ---------------------------------------------------------- */

struct ni_env {
	char *name;			/* NAME, validated [a-z0-9][-a-z0-9_]* */
	char *path;			/* DIR/NAME.json */
	char *dir;			/* DIR (provisioning scripts live here) */
	char *project, *location, *cluster;
	char *ref_pool;			/* the reference pool's name */
	cJSON *ref_pool_config;		/* its NodePool body fields, or NULL */
	char *source_image;		/* projects/P/global/images/I, or NULL */
	char *source_family, *source_project;	/* when no source_image */
	char *image_prefix;
	char *image_family;		/* or NULL */
	long last_run_id;		/* -1: none yet */
	char **node_pools;		/* NULL-terminated; NULL: every pool */
	char **instance_groups;		/* NULL-terminated; NULL: all of the pools */
	char **excluded_machine_types;	/* NULL-terminated; globs, default A100s */
	cJSON *kube_env;		/* _kube-env.yaml: KEY -> value, or NULL */
	cJSON *raw;			/* the whole file, for the atomic update */
};

/* Loads vars_dir/name.json and vars_dir/_kube-env.yaml. 0, or -1 with
 * "FILE: KEY: why" in *err. */
int ni_env_load(const char *vars_dir, const char *name, struct ni_env *e,
		struct buf *err);
/* Sets last_run_id in the file, atomically. 0 or -1 with *err. */
int ni_env_set_last_run_id(struct ni_env *e, long run_id, struct buf *err);
void ni_env_free(struct ni_env *e);
/* An unsigned decimal run id (the seed's rule). 0 or -1 with *err. */
int ni_run_id_parse(const char *s, long *out, struct buf *err);
/* True when machine type mt matches e->excluded_machine_types. */
bool ni_machine_excluded(const struct ni_env *e, const char *mt);
/* Loads the env named by ni (ni.env required: usage error otherwise) and
 * makes the Google client; prints the error and returns the exit code
 * (2 usage, 1 other) on failure, 0 on success. */
int ni_open(struct ni_env *e, struct gcp **g);

/* ---- resolve.c ------------------------------------------------------- */

struct ni_group {
	char *pool;			/* node pool name */
	char *name;			/* instance group manager name */
	char *url;			/* its self link (compute API, normalised) */
	char *scope;			/* "zones/Z" or "regions/R" */
	char *template_url;		/* current template, normalised */
	bool template_regional;
	cJSON *template;		/* the template resource as read */
	char *machine_type;
	char *boot_image;		/* the boot disk's sourceImage */
	long run;			/* NI_LABEL_RUN of the template, -1 if none */
	char *source_template;		/* NI_LABEL_SOURCE, or NULL */
	bool auto_upgrade;		/* the pool's management.autoUpgrade */
};

/* The groups of the env's pools (all pools when e->node_pools is NULL),
 * limited to `only` (group names; NULL or empty: all, else each must
 * exist: an unknown name is an error listing the valid ones). Each group
 * and template is read once. 0 or -1 with *err. */
int ni_groups(struct gcp *g, const struct ni_env *e, const struct cli_list *only,
	      struct ni_group **out, size_t *n, struct buf *err);
void ni_groups_free(struct ni_group *v, size_t n);

/* The project requests go to: --project, else the env's. Borrowed. */
const char *ni_project(const struct ni_env *e);
/* The "projects/..." path of a Compute self link or partial path (either
 * default base, or an endpoint override), appended to out; -1 when url
 * names no project. */
int ni_compute_path(const char *url, struct buf *out);
/* "https://www.googleapis.com/compute/v1/" + the path of url, appended to
 * out: how references are sent in request bodies. */
void ni_compute_url(const char *url, struct buf *out);
/* The last segment of a path or URL (a resource's name). Borrowed. */
const char *ni_base_name(const char *path);
/* Runs fn(ctx, i) for every i in [0, n) on up to NI_THREADS threads (the
 * gcp client is thread-safe); returns how many calls returned < 0. */
#define NI_THREADS 16
size_t ni_parallel(size_t n, int (*fn)(void *ctx, size_t i), void *ctx);
/* A Compute request whose bodies are never logged (templates carry
 * kube-env): gcp_do() with .sensitive. 0, or -1 with *err and, when
 * reason is not NULL, Google's error reason ("notFound") in it (64 bytes).
 * *out (when not NULL) gets the reply (an empty object for none). */
int ni_compute(struct gcp *g, const char *method, const char *path,
	       const cJSON *body, bool request_id, cJSON **out, char *reason,
	       struct buf *err);
/* Every template of the collection "projects/P/global" or
 * "projects/P/regions/R" that carries NI_LABEL_RUN, over every page, into
 * a new array *out. 0 or -1 with *err. */
int ni_custom_templates(struct gcp *g, const char *collection, cJSON **out,
			struct buf *err);
/* Waits for a Compute operation (loops while `wait` returns it not DONE).
 * 0 or -1 with *err. */
int ni_wait(struct gcp *g, const cJSON *op, struct buf *err);

/* ---- plan.c ---------------------------------------------------------- */

/* The name of the template run `run` makes from the template named
 * source: source + "-r<run>", source cut (and a hash of it added) to stay
 * within 63 characters and [a-z]([-a-z0-9]*[a-z0-9])?. Appended to out. */
void ni_template_name(const char *source, long run, struct buf *out);
/* The template a mutated group's source is: NI_LABEL_SOURCE for a custom
 * template, else the current template's own name. Borrowed from grp. */
const char *ni_source_name(const struct ni_group *grp);
/* The NodeImagePlan of run `run` for groups v[0..n) (a new tree): each
 * group "mutate" or "skip" with a reason; every group is skipped when run
 * is not e->last_run_id. */
cJSON *ni_plan_build(const struct ni_env *e, long run, const struct ni_group *v,
		     size_t n);
/* Splits the values of --instance-groups ("a,b", repeatable) into a new
 * cli_list (free items[] and the strings with ni_list_free). */
void ni_list_split(const struct cli_list *in, struct cli_list *out);
void ni_list_free(struct cli_list *l);
/* A NodeImageResult (a new tree) for a group or template name. */
cJSON *ni_result_new(const struct ni_env *e, const char *name);
/* The --format writer; NULL (after printing why) for a bad format. */
struct stream_out *ni_out_open(void);
/* The plan's entry of the group whose manager is url, or NULL. */
const cJSON *ni_plan_item(const cJSON *plan, const char *url);
/* Warns once per node pool with auto-upgrade on that has a group the
 * plan mutates. */
void ni_warn_auto_upgrade(const struct ni_group *v, size_t n, const cJSON *plan);

/* ---- the commands (cli_cmd functions and option tables) -------------- */

extern const struct cli_opt refpool_opts[], source_opts[], metadata_opts[],
	build_opts[], pools_opts[], plan_opts[], mutate_opts[], rollback_opts[];
int refpool_run(struct cli_ctx *ctx);	/* ref-pool create|delete */
int source_run(struct cli_ctx *ctx);	/* check-source-image */
int metadata_run(struct cli_ctx *ctx);	/* fetch-metadata */
int build_run(struct cli_ctx *ctx);	/* build-image */
int pools_run(struct cli_ctx *ctx);	/* list-pools */
int plan_run(struct cli_ctx *ctx);	/* plan */
int mutate_run(struct cli_ctx *ctx);	/* mutate */
int rollback_run(struct cli_ctx *ctx);	/* rollback */

/* ---- shared helpers (main.c, refpool.c) ---------------------------- */

/* Writes obj to stdout in the --format (yaml, json). 0 or -1. */
int ni_print(const cJSON *obj);
/* The reference pool's current instance template (*tpl, a new tree), read
 * with .sensitive so that kube-env never reaches a -v log. 0 or -1 with
 * *err. */
int ni_ref_template(struct gcp *g, const struct ni_env *e, cJSON **tpl,
		    struct buf *err);
/* The "projects/..." part of a resource link or path (a name is returned
 * as it is). Borrowed from link. */
const char *ni_link_path(const char *link);
/* The sourceImage of a template's boot disk, or NULL. Borrowed. */
const char *ni_tpl_boot_image(const cJSON *tpl);

#endif
