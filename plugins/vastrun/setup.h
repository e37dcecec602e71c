/* setup.h - shared by setup.c and setup_kueue.c (and the other commands
 * of the store engineer's files that apply or report the same way).
 * Errors are one line in *err, already worded for the user: kubectl's
 * form for server errors ("Error from server (...): ..."), a plain
 * message otherwise (print it with vast_report).
 */
#ifndef WLKIT_VASTRUN_SETUP_H
#define WLKIT_VASTRUN_SETUP_H

#include "vastrun.h"

/* Server-side apply of obj (force: vastrun owns these objects) and a line
 * "kind.group/name serverside-applied" on stderr. 0 or -1. */
int setup_apply(struct kube *k, const cJSON *obj, const char *ns, struct buf *err);
/* Kueue present: runs helm when it is on PATH (chart pinned), else checks
 * that its CRDs are served; when neither, *err says what to run. 0 or -1. */
int kueue_ensure(struct kube *k, const struct kube_flags *flags, struct buf *err);
/* Sizes the ClusterQueue from the nodes and pods now and applies the
 * ResourceFlavor, ClusterQueue and LocalQueue (in ns). 0 or -1. */
int kueue_queues(struct kube *k, const char *ns, struct buf *err);
/* The quota setup gives: sum of node allocatable minus the requests of
 * the pods not finished, cpu in whole cores, memory in whole Gi (both
 * rounded down, at least 0). 0 or -1. */
int kueue_quota(struct kube *k, int64_t *cpu_cores, int64_t *memory_gi, struct buf *err);
/* download.c, for download-cleanup too. */
struct s3;
/* The runs to consider: only (when not NULL), else the store's run-*
 * buckets; *ids a new array of strings. 0 or -1. */
int store_runs(struct s3 *s3, const char *only, cJSON **ids, struct buf *err);
/* 1 when run_id has no job left running, pending or queued; 0 with a line
 * "RUN: skipped, DOING later: ..." on stderr when it has; -1 on error. */
int run_finished(struct kube *k, const char *ns, const char *run_id, const char *doing,
		 struct buf *err);

/* Prints err on stderr: as is when it is kubectl's wording of a server
 * error or already starts with "error: ", else as "error: MSG". */
void vast_report(const struct buf *err);
/* kube_err_format into *err, replacing its contents; returns -1. */
int vast_kerr(struct buf *err, const struct kube_err *ke);

#endif
