/* vastrun.h - kubectl-vastrun's internal contracts.
 *
 * A campaign: a project file (.vast, project.c) expands into configs; `run`
 * makes a run id (run-YYYY-MM-DD-HHMMSS), a bucket of that name in the
 * results store, uploads the configs' files, and creates one Job per config
 * x run number (run.c). The Jobs' pods call this program back
 * (`kubectl-vastrun pod fetch-config|upload-results|share`, pod.c, share.c)
 * to move files between S3 and the pod, so no other client image is
 * needed. setup.c deploys the results store (MinIO + nginx + archiver, or
 * an external S3 recorded as such) and the Kueue queues; store.c finds the
 * store again for every other command; monitor.c, download.c and
 * cleanup.c follow, fetch and remove what a run made.
 *
 * Cluster objects carry these labels and annotations (VAST_*), so every
 * command finds a run's Jobs with one label selector.
 *
 * Ownership: struct vast_store and struct vast_project own their strings
 * and trees; the *_free functions release them.
 */
#ifndef WLKIT_VASTRUN_H
#define WLKIT_VASTRUN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "cli.h"
#include "kube.h"

#define VAST_API_VERSION "wlkit.dev/v1alpha1"
#define VAST_LABEL_RUN "run-id"			/* the run id */
#define VAST_LABEL_GROUP "jobgroup"		/* the config name */
#define VAST_LABEL_RUN_NUMBER "vastrun.wlkit.dev/run-number"
#define VAST_LABEL_APP "app.kubernetes.io/managed-by"	/* = "kubectl-vastrun" */
#define VAST_ANNOT_TOTAL "vastrun.wlkit.dev/total-jobs"
#define VAST_ANNOT_OUTCOME "vastrun.wlkit.dev/outcome"	/* on the run's record */
#define VAST_QUEUE_LABEL "kueue.x-k8s.io/queue-name"
#define VAST_LOCAL_QUEUE "robovast"
#define VAST_CLUSTER_QUEUE "robovast-cluster-queue"
#define VAST_FLAVOR "default-flavor"
#define VAST_STORE_CONFIGMAP "vastrun-store"	/* where the store is */
#define VAST_STORE_SECRET "vastrun-s3"		/* access-key, secret-key */
#define VAST_RUNS_CONFIGMAP "vastrun-runs"	/* per run id: jobs and outcomes */
#define VAST_DEFAULT_TOOLS_IMAGE "ghcr.io/wlkit/wlkit:" WLKIT_VERSION

/* ---- store.c (setup writes what these read) ------------------------ */

/* Where a run's files live, as the user's machine reaches them. */
struct vast_store {
	char *kind;		/* "minio" (deployed by setup) or "external" */
	char *endpoint;		/* http(s)://host:port reachable from here */
	char *cluster_endpoint;	/* as pods reach it (the Service's DNS, or
				 * the external URL) */
	char *region;		/* SigV4 region ("us-east-1") */
	char *access_key, *secret_key;	/* never printed */
	int pf_pid;		/* a kubectl port-forward vastrun started, or 0 */
};
/* Finds the store of namespace ns (the ConfigMap and Secret setup made).
 * s3_endpoint (--s3-endpoint) overrides how this machine reaches it; else
 * an in-cluster MinIO is reached through a `kubectl port-forward` to its
 * Service that vastrun starts (and store_free stops). 0, or -1 with *err
 * ("no results store in namespace X: run `kubectl vastrun setup` first"). */
int store_open(struct kube *k, const struct kube_flags *flags, const char *ns,
	       const char *s3_endpoint, struct vast_store *st, struct buf *err);
void store_free(struct vast_store *st);

/* ---- the runs record (run.c writes, monitor.c and download.c read) ---
 * ConfigMap VAST_RUNS_CONFIGMAP in the run's namespace:
 *   data["<run-id>"] = JSON written by run.c when it creates the Jobs:
 *     {"total": N, "jobs": ["<job-name>", ...], "configs": ["c1", ...],
 *      "bucket": "<run-id>", "created": "2026-06-01T12:00:00Z"}
 *   data["outcome.<job-name>"] = "succeeded" | "failed", added (JSON merge
 *     patch, one key per job, so writers never race) by any vastrun
 *     command that sees the Job finished (runs_record_outcomes).
 * A Job gone (ttlSecondsAfterFinished, deleted) counts from its recorded
 * outcome; without one it is "unknown", never a success. */
#define VAST_OUTCOME_PREFIX "outcome."

/* The record of run_id (a new object; NULL when absent) and its recorded
 * outcomes (a new object job -> "succeeded"|"failed"). 0 or -1. */
int runs_get(struct kube *k, const char *ns, const char *run_id, cJSON **record,
	     cJSON **outcomes, struct buf *err);
/* Records the outcome of every finished Job in jobs (a JobList's items)
 * that outcomes (may be NULL) does not hold yet; adds them to outcomes
 * when it is given. 0 or -1. */
int runs_record_outcomes(struct kube *k, const char *ns, const cJSON *jobs,
			 cJSON *outcomes, struct buf *err);
/* "succeeded", "failed" or NULL (still going) for a Job object. */
const char *job_outcome(const cJSON *job);

/* Where a run stands (monitor.c): its Jobs now plus the recorded outcomes
 * of the ones gone. queued: suspended (Kueue has not admitted it);
 * running: a pod ready; pending: the rest not finished; unknown: gone
 * with no recorded outcome. finished() = succeeded + failed + unknown. */
struct run_counts {
	long total, succeeded, failed, running, pending, queued, unknown;
	int64_t created;	/* Unix seconds the run began, 0 unknown */
};
/* Counts run_id's Jobs (recording the outcomes of finished ones as it
 * goes). 0 or -1 with *err. */
int run_count(struct kube *k, const char *ns, const char *run_id,
	      struct run_counts *c, struct buf *err);
/* Every run id known in ns (the record's and the Jobs' run-id labels),
 * oldest first: a new array of strings. */
int runs_all(struct kube *k, const char *ns, cJSON **ids, struct buf *err);

/* setup.c: the results store's manifests for cluster config `config`
 * ("gcp", "rke2", "minikube") with options (object key -> string value;
 * may be NULL: defaults), appended to out_array (new objects owned by it):
 * the storage (gcp: StorageClass + PVC), the robovast Deployment and its
 * Service, without a namespace (they go where they are applied). They
 * read the credentials from the Secret VAST_STORE_SECRET, which is not
 * among them (setup generates it). 0, or -1 with a one-line *err for a
 * bad config or option. */
int store_manifests(const char *config, const cJSON *options,
		    cJSON *out_array, struct buf *err);
/* The Kueue objects: ResourceFlavor, ClusterQueue with the given quota
 * (cpu in whole cores, memory in whole Gi), LocalQueue in ns (NULL: no
 * namespace set), appended to out_array. */
int kueue_manifests(int64_t cpu_cores, int64_t memory_gi, const char *ns,
		    cJSON *out_array);

/* ---- project.c ------------------------------------------------------ */

/* One configuration after the variations are expanded. */
struct vast_config {
	char *name;		/* DNS-1123 label: base name + variation suffix */
	cJSON *parameters;	/* flat object name -> value */
	char *dir;		/* the project directory the files come from */
	char **files;		/* relative paths to upload, NULL-terminated */
};
struct vast_project {
	char *path;		/* the .vast file */
	char *name;		/* metadata.name */
	struct vast_config *configs;
	size_t nconfigs;
	char *image;		/* execution.image */
	long runs;		/* execution.runs */
	char *scenario_file;
	char *entrypoint;	/* execution.entrypoint: the run-level script
				 * the main container runs (project.c) */
	long timeout_s;		/* execution.timeout; 0: none */
	cJSON *env;		/* object NAME -> value */
	char *cpu, *memory;	/* resolved for the active context */
	cJSON *secondary;	/* array of {name, cpu, memory} resolved */
	cJSON *raw;		/* the parsed file */
};
/* Reads and validates a project file; per-context values are resolved for
 * `context` (the active kube context). Errors are one line:
 * "FILE:LINE: KEY: why". 0 or -1. */
int project_load(const char *path, const char *context, bool context_given,
		 struct vast_project *p, struct buf *err);
void project_free(struct vast_project *p);
/* The project file: --project-file, else the single *.vast in the working
 * directory or its parents (the seed's lookup). */
int project_find(const char *flag, struct buf *path, struct buf *err);
/* What run and prepare-run do first: finds the project file (flag or the
 * lookup), connects (*k, closed by the caller) and loads the project for
 * the active context. 0, or the exit code after printing the error (1, or
 * 2 for a bad project file). */
int project_open(struct cli_ctx *ctx, const char *flag, struct kube **k,
		 struct vast_project *p);

/* ---- run_job.c: what a run makes (run.c creates it, prepare.c writes it)
 * Bucket <run-id>: execution.yaml (the run: image, runs, entrypoint,
 * run-level files, configs), the run-level files (the entrypoint) at their
 * relative paths, <config>/config.yaml ({name, parameters, files}) and
 * each config's files at <config>/<path>; results at <config>/<n>/....
 * Pods get the store from env: VASTRUN_S3_ENDPOINT and VASTRUN_S3_REGION
 * (configMapKeyRef VAST_STORE_CONFIGMAP endpoint, region),
 * VASTRUN_S3_ACCESS_KEY and VASTRUN_S3_SECRET_KEY (secretKeyRef
 * VAST_STORE_SECRET access-key, secret-key). */
struct vast_run {
	const struct vast_project *p;
	const char *run_id;		/* also the bucket's name */
	const char *ns;			/* NULL: the objects name none */
	const char *tools_image;
	long runs;
	const struct vast_config **configs;	/* the selected ones (borrowed) */
	size_t nconfigs;
};
/* "run-YYYY-MM-DD-HHMMSS" for t (UTC), into out. */
void run_id_make(int64_t t, struct buf *out);
/* <run-id>-<config>-<n>; over 63 characters: cut, then "-" and 8 hex
 * digits of a hash of the whole name. Appended to out. */
void run_job_name(const char *run_id, const char *config, long n, struct buf *out);
/* A new Job for config c, run number n (1-based). */
cJSON *run_job(const struct vast_run *r, const struct vast_config *c, long n);
/* What the run uploads: a new array of {"key", "path"} (a file) or
 * {"key", "data"} (text) objects, run-level first. */
cJSON *run_uploads(const struct vast_run *r);
/* The Campaign object: spec {runId, bucket, project, runs, configs[],
 * jobs[]} (jobs: array of names, borrowed). */
cJSON *run_campaign(const struct vast_run *r, const cJSON *jobs);

/* ---- the commands (cli_cmd functions and option tables) -------------- */

extern const struct cli_opt setup_opts[], run_opts[], monitor_opts[],
	download_opts[], runcleanup_opts[], dlcleanup_opts[], cleanup_opts[],
	prepare_opts[], share_opts[], pod_opts[];
int setup_run(struct cli_ctx *ctx);		/* setup CONFIG | --list */
int run_run(struct cli_ctx *ctx);		/* run */
int monitor_run(struct cli_ctx *ctx);		/* monitor */
int download_run(struct cli_ctx *ctx);		/* download */
int runcleanup_run(struct cli_ctx *ctx);	/* run-cleanup */
int dlcleanup_run(struct cli_ctx *ctx);		/* download-cleanup */
int cleanup_run(struct cli_ctx *ctx);		/* cleanup */
int prepare_run(struct cli_ctx *ctx);		/* prepare-run DIR|- */
int share_run(struct cli_ctx *ctx);		/* upload-to-share */
int pod_run(struct cli_ctx *ctx);		/* pod fetch-config|upload-results|share */
/* `pod share` (share_pod.c), called by pod_run: takes no flags; its
 * settings come from the environment the share Job sets (share.h). */
int pod_share(struct cli_ctx *ctx);

#endif
