/* wlrun.h - what `kubectl wlrun create` builds a workload from, and the
 * builders (manifest.c, env.c).
 *
 * struct workload borrows every string (argv, option tables, the ImageBuild
 * tree); its lists are arrays owned by cli or by env_collect(). Builders
 * return new cJSON trees for the caller to free.
 */
#ifndef WLRUN_H
#define WLRUN_H

#include <limits.h>
#include <stdbool.h>
#include <cjson/cJSON.h>

#include "accelerators.h"
#include "buf.h"
#include "cli.h"

enum workload_kind { KIND_JOBSET, KIND_JOB, KIND_POD };

struct workload {
	const char *name;
	const char *image;
	enum workload_kind kind;
	bool has_accel;
	struct accel accel;
	long num_slices, num_nodes;	/* num_nodes: VMs per slice for GPU/CPU */
	const char *shell_line;		/* --command */
	char **argv;			/* -- CMD ARGS */
	int argc;
	const char *queue, *priority;
	long max_restarts;
	long ttl;			/* -1: not given */
	long grace;			/* terminationGracePeriodSeconds */
	cJSON *exit_codes;		/* array of numbers, owned by the caller */
	cJSON *env;			/* [{name, value}], owned by the caller */
	const char *cpu, *memory, *shm_size;
	struct cli_list node_selectors, tolerations, labels, annotations,
		pull_secrets;
	const char *service_account;
	const char *node;
};

/* --num-nodes when not given. */
#define NUM_NODES_UNSET LONG_MIN

/* The options of `create`, as cli fills them. */
struct create_opts {
	const char *image, *accelerator, *command, *kind, *queue, *priority;
	long num_slices, num_nodes, max_restarts, ttl, grace, gpus_per_node;
	const char *restart_on_exit_codes, *env_file, *cpu, *memory, *shm_size;
	struct cli_list env, node_selectors, tolerations, labels, annotations,
		pull_secrets;
	const char *service_account, *node, *output_manifest;
};

/* The create command: validates, builds, prints and submits. Exit code. */
int create_run(struct cli_ctx *ctx, const struct create_opts *o);

/* Parses "--env K=V" values and the --env-file into out (an array of
 * {name, value}, later entries replacing earlier ones of the same name: the
 * file first, then --env). 0, or -1 with the message in *why. */
int env_collect(const struct cli_list *envs, const char *env_file, cJSON **out,
		struct buf *why);
/* True for a C identifier-like environment name as Kubernetes takes it:
 * [-._a-zA-Z][-._a-zA-Z0-9]*. */
bool env_name_valid(const char *s);

/* The manifest of w: a JobSet, a Job or a Pod. */
cJSON *workload_manifest(const struct workload *w);

#endif
