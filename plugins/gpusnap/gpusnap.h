/* gpusnap.h - kubectl-gpusnap's internal contracts.
 *
 * A Snapshot is a cJSON tree (apiVersion wlkit.dev/v1alpha1, kind
 * Snapshot) built by snap.c and filled by the collectors:
 *
 *   apiVersion: wlkit.dev/v1alpha1
 *   kind: Snapshot
 *   metadata:
 *     timestamp: "2026-01-02T18:01:13Z"   RFC 3339 UTC
 *     version: 0.1.0                      cli_version()
 *     source-node: node-a                 NODE_NAME, KUBERNETES_NODE_NAME, HOSTNAME
 *     collectors: [os, gpu, systemd]      those that ran (in run order)
 *     skipped: {k8s: "no cluster ..."}    those that failed or had nothing, why
 *   measurements:
 *   - type: OS                            OS, GPU, SystemD, K8s
 *     subtypes:
 *     - subtype: release
 *       data: {ID: debian, ...}           a flat map of scalar readings:
 *                                         strings, numbers, booleans only
 *
 * Collectors read the host through snap_read()/snap_path(), which put
 * ctx->root ("" for /, or --root DIR) in front of every absolute path, so
 * tests run them against fixture trees under tests/fixtures/gpusnap/.
 *
 * A collector returns 0 when it produced its measurement (a file that could
 * not be read inside it is a warning on stderr, through warn(), and is
 * skipped), or -1 after warning why it could not run at all; snap.c then
 * records it under metadata.skipped and goes on.
 *
 * Ownership: collectors add to the doc they are given (cJSON owns what is
 * added); nothing else is retained. ctx is owned by snap.c.
 */
#ifndef WLKIT_GPUSNAP_H
#define WLKIT_GPUSNAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "cli.h"

#define SNAP_API_VERSION "wlkit.dev/v1alpha1"
#define SNAP_KIND "Snapshot"

struct snap_ctx {
	const char *root;		/* "" or the --root DIR, without trailing '/' */
	const char *nvidia_smi;		/* --nvidia-smi PATH or NULL: search */
	const struct kube_flags *kube;	/* for the k8s collector */
	const char *node;		/* source-node */
	/* A collector that returns -1 may say why here, in a few words
	 * ("no cluster configured"), for metadata.skipped; snap.c empties it
	 * before each collector and records "failed" when it stays empty. */
	struct buf *why;
};

/* ---- snap.c: the document ------------------------------------------- */

/* The measurement of `type` ("OS", "GPU", "SystemD", "K8s"), added at the
 * end of measurements when missing. */
cJSON *snap_measurement(cJSON *doc, const char *type);
/* The data map of `subtype` in measurement m, added when missing. */
cJSON *snap_subtype(cJSON *m, const char *subtype);
/* ctx->root + path into out (path absolute, e.g. "/proc/cmdline"). */
void snap_path(const struct snap_ctx *c, const char *path, struct buf *out);
/* Reads root+path into out (emptied first; at most max bytes, 0: 16 MiB).
 * Returns 0, or -1 with errno set (ENOENT for a missing file); never warns. */
int snap_read(const struct snap_ctx *c, const char *path, struct buf *out, size_t max);

/* ---- the collectors ----------------------------------------------- */

/* collect_os.c: OS / release, kernel (uname: the running kernel when root
 * is "", else /proc/version and /proc/sys/kernel/osrelease under root),
 * grub (/proc/cmdline), kmod, sysctl, cpu, memory, hugepages, numa, iommu. */
int collect_os(const struct snap_ctx *c, cJSON *doc);
/* collect_systemd.c: SystemD / containerd.service, docker.service,
 * kubelet.service via `systemctl show` (unit files under root when root is
 * not ""); a unit that is absent is recorded as not found, not an error. */
int collect_systemd(const struct snap_ctx *c, cJSON *doc);
/* collect_gpu.c: GPU / smi (every GPU and MIG instance, from nvidia-smi
 * -q -x), pci (sysfs vendor 0x10de), driver (/proc/driver/nvidia/version,
 * nvidia modules), toolkit (nvidia-container-runtime config). No GPU is
 * gpu-count: 0 and returns 0. */
int collect_gpu(const struct snap_ctx *c, cJSON *doc);
/* collect_k8s.c: K8s / server, node, image, policy. -1 when no cluster is
 * reachable (kubeconfig or in-cluster). */
int collect_k8s(const struct snap_ctx *c, cJSON *doc);

/* ---- snap.c: running and writing ---------------------------------- */

/* Builds a snapshot: the skeleton, then the collectors named in the
 * comma-separated list (NULL: "os,gpu,systemd,k8s"). Returns the doc
 * (caller frees), or NULL with *err when the list names an unknown
 * collector. */
cJSON *snap_take(const struct snap_ctx *c, const char *collectors, struct buf *err);

/* The collector names in run order, NULL-terminated (static storage). */
const char *const *snap_collector_names(void);
/* 0 when every name of the comma-separated list is a collector, else -1
 * with "unknown collector 'x' (valid: os, gpu, systemd, k8s)" in *err. */
int snap_collectors_check(const char *list, struct buf *err);
/* The source node into out: NODE_NAME, else KUBERNETES_NODE_NAME, else
 * HOSTNAME, else gethostname(). */
void snap_source_node(struct buf *out);

/* Output targets: "-" (stdout), a file path (written atomically:
 * file.h), or "cm://NS/NAME" (server-side apply of a ConfigMap with data
 * snapshot.yaml or snapshot.json, format, timestamp; over 1 MiB fails).
 * fmt: "yaml" or "json". One doc or an array of docs (a multi-document
 * stream, one Snapshot per node). Returns 0 or -1 after printing the error. */
int snap_write(cJSON *docs, const char *target, const char *fmt,
	       const struct kube_flags *kube);
/* 0 when target is "-", a file or a well-formed cm://NS/NAME (NS a
 * DNS-1123 label, NAME a DNS-1123 subdomain); else -1 with *err. */
int snap_target_check(const char *target, struct buf *err);
/* Reads snapshots from "-", a file, or cm://NS/NAME into an array of docs
 * (caller frees). Returns NULL after printing the error. */
cJSON *snap_load(const char *source, const struct kube_flags *kube);

/* ---- diff.c -------------------------------------------------------- */

/* Compares a and b (timestamp and version ignored); prints the changes to
 * out; returns 0 same, 1 different. */
int snap_diff(const cJSON *a, const cJSON *b, FILE *out);
/* The diff command: loads a and b (snap_load), compares them (pairs matched
 * by source-node when either holds several snapshots) and returns the exit
 * code: 0 same, 1 different, 2 an input could not be read. */
int snap_diff_run(const char *a, const char *b, const struct kube_flags *kube,
		  FILE *out);

/* ---- agent.c: --deploy-agent ------------------------------------- */

struct agent_opts {
	bool deploy;			/* --deploy-agent */
	const char *image;		/* --image */
	const char *job_name;		/* --job-name; NULL: unique per invocation */
	const char *service_account;	/* --service-account-name (gpusnap) */
	struct cli_list node_selectors;	/* --node-selector k=v */
	struct cli_list tolerations;	/* --toleration */
	int64_t timeout_ms;		/* --timeout (5m) */
	bool cleanup_rbac;		/* --cleanup-rbac */
	const char *pull_policy;	/* --image-pull-policy */
	const char *cpu, *memory;	/* --cpu, --memory */
	bool all_nodes;			/* --all-nodes */
	const char *output;		/* -o: "-", a file or cm://NS/NAME */
	const char *format;		/* yaml|json */
};
/* Runs the agent flow; returns the exit code (0, 1, 124). The namespace
 * comes from ctx->g.kube (default gpu-operator when not given). */
int agent_run(const struct agent_opts *o, struct cli_ctx *ctx);

#endif
