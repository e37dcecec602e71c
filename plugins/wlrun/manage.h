/* manage.h - `kubectl wlrun apply`, `list` and `delete` (apply.c, list.c,
 * delete.c): each file owns its option table and its command function;
 * main.c puts the WLRUN_*_CMD initializers in its command table.
 */
#ifndef WLRUN_MANAGE_H
#define WLRUN_MANAGE_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "cli.h"

extern const struct cli_opt apply_opts[], list_opts[], delete_opts[];
int apply_run(struct cli_ctx *ctx);
int list_run(struct cli_ctx *ctx);
/* The args completer (cli.h) for "workloads": names of the workloads in
 * the namespace the flags select. */
void workloads_complete(const char *what, const struct cli_global *g, const char *prefix);
int delete_run(struct cli_ctx *ctx);

/* The label and annotation that create puts on its workloads (manifest.c). */
#define WLRUN_LABEL "wlkit.dev/workload"
#define WLRUN_ACCEL_ANNOTATION "wlkit.dev/accelerator"

struct kube;
struct kube_err;
/* The workloads of wlrun (list.c): the JobSets, Jobs and Pods with the
 * workload label (= name when name is not NULL) and no owner, in ns (NULL:
 * the connection's) or every namespace. *out is a new array, oldest first.
 * A kind the server does not serve (no JobSet CRD) is skipped. 0 or -1. */
int workloads_find(struct kube *k, const char *ns, bool all_ns, const char *name,
		   cJSON **out, struct kube_err *err);

#define WLRUN_APPLY_CMD \
	{ "apply", apply_run, "Apply a stream of objects with server-side apply", \
	  "[-f FILE|-]", \
	  "Applies every Kubernetes object of the stream, in order, with server-side\n" \
	  "apply (field manager kubectl-wlrun). The whole stream is read and every\n" \
	  "kind resolved before the first write; a CustomResourceDefinition earlier\n" \
	  "in the stream makes its kind valid. Reports 'unchanged' for an object the\n" \
	  "apply did not change (same resourceVersion as before). wlkit's own kinds\n" \
	  "pass through to stdout unapplied.", \
	  "  # apply a file\n" \
	  "  kubectl wlrun apply -f workloads.yaml\n" \
	  "  # check a stream with the server without saving it\n" \
	  "  cat all.yaml | kubectl wlrun apply --dry-run=server -o name", \
	  apply_opts, CLI_G_KUBE | CLI_G_GKE | CLI_G_OUTPUT | CLI_G_DRYRUN, 0, 0, NULL, NULL }

#define WLRUN_LIST_CMD \
	{ "list", list_run, "List the workloads created by wlrun", \
	  "[--status STATUS] [-A]", \
	  "Lists the JobSets, Jobs and Pods that carry the wlkit.dev/workload label,\n" \
	  "oldest first, with their accelerator, slices, pods and status.", \
	  "  # the running workloads of every namespace\n" \
	  "  kubectl wlrun list --status running -A", \
	  list_opts, CLI_G_KUBE | CLI_G_GKE | CLI_G_OUTPUT, 0, 0, "yaml|json", NULL }

#define WLRUN_DELETE_CMD \
	{ "delete", delete_run, "Delete workloads", \
	  "NAME... | --all", \
	  "Deletes workloads created by wlrun (JobSets, Jobs and Pods with the\n" \
	  "wlkit.dev/workload label) with background propagation; --wait deletes\n" \
	  "in the foreground and waits until they are gone.", \
	  "  # delete one workload and wait for its pods to go\n" \
	  "  kubectl wlrun delete train --wait", \
	  delete_opts, CLI_G_KUBE | CLI_G_GKE, 0, -1, NULL, "workloads" }

#endif
