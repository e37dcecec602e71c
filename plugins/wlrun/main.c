/* kubectl-wlrun - Run accelerator workloads as JobSets, Jobs or Pods
 *
 * This build has the create command (the default): a workload generated
 * from an image, a command and an accelerator type, printed or applied with
 * server-side apply.
 */
#include <string.h>

#include "cli.h"
#include "manage.h"
#include "log.h"
#include "wait.h"
#include "wlrun.h"

static bool create_wait;
static struct wait_opts wait_o;
static long logs_slice = -1, logs_node = -1;
static bool logs_follow;

static struct create_opts o = {
	.num_slices = 1, .num_nodes = NUM_NODES_UNSET, .ttl = -1, .grace = 30,
};

static const struct cli_opt create_opts[] = {
	{ "image", 0, CLI_STR, &o.image, "IMAGE",
	  "the container image (default: the status.image of an ImageBuild on stdin)", NULL, NULL },
	{ "accelerator", 0, CLI_STR, &o.accelerator, "TYPE",
	  "device type: l4-1, a100-40gb-8, h100-80gb-8, v5p-8, v6e-256, tpu7x-8, "
	  "n2-standard-32-4, or a raw GKE label such as nvidia-tesla-a100", NULL, NULL },
	{ "num-slices", 0, CLI_INT, &o.num_slices, "N", "number of slices (default 1)", NULL, NULL },
	{ "num-nodes", 0, CLI_INT, &o.num_nodes, "N",
	  "VMs per slice for GPU types (default 1; a CPU type names its own)", NULL, NULL },
	{ "command", 0, CLI_STR, &o.command, "'SHELL LINE'",
	  "run this line with /bin/sh -c (or give CMD ARGS after --)", NULL, NULL },
	{ "kind", 0, CLI_STR, &o.kind, "KIND", "what to create (default jobset)",
	  "jobset|job|pod", NULL },
	{ "queue", 0, CLI_STR, &o.queue, "NAME", "the Kueue LocalQueue", NULL, NULL },
	{ "priority", 0, CLI_STR, &o.priority, "PRIORITY", "the PriorityClass",
	  "very-low|low|medium|high|very-high", NULL },
	{ "max-restarts", 0, CLI_INT, &o.max_restarts, "N",
	  "restarts of the whole workload after a failure that is not the user code's "
	  "(default 0)", NULL, NULL },
	{ "ttl-seconds-after-finished", 0, CLI_INT, &o.ttl, "N",
	  "delete the workload N seconds after it finished (omitted unless given)", NULL, NULL },
	{ "termination-grace-period", 0, CLI_INT, &o.grace, "SECONDS",
	  "terminationGracePeriodSeconds (default 30)", NULL, NULL },
	{ "restart-on-exit-codes", 0, CLI_STR, &o.restart_on_exit_codes, "LIST",
	  "exit codes (1-255, comma-separated) after which the workload may restart", NULL, NULL },
	{ "env", 0, CLI_LIST, &o.env, "NAME=VALUE", "an environment variable (repeatable)", NULL, NULL },
	{ "env-file", 0, CLI_STR, &o.env_file, "FILE",
	  "NAME=VALUE lines; a bare NAME copies the local value; # comments", NULL, "file" },
	{ "cpu", 0, CLI_STR, &o.cpu, "QUANTITY", "CPU request (CPU types: default 500m)", NULL, NULL },
	{ "memory", 0, CLI_STR, &o.memory, "QUANTITY",
	  "memory request (CPU types: default 512Mi)", NULL, NULL },
	{ "gpus-per-node", 0, CLI_INT, &o.gpus_per_node, "N",
	  "GPUs per VM with a raw GKE accelerator label (default 1)", NULL, NULL },
	{ "node-selector", 0, CLI_LIST, &o.node_selectors, "KEY=VALUE",
	  "a node selector (repeatable)", NULL, NULL },
	{ "toleration", 0, CLI_LIST, &o.tolerations, "KEY[=VALUE]:EFFECT",
	  "a toleration (repeatable)", NULL, NULL },
	{ "label", 0, CLI_LIST, &o.labels, "KEY=VALUE", "a label (repeatable)", NULL, NULL },
	{ "annotation", 0, CLI_LIST, &o.annotations, "KEY=VALUE",
	  "an annotation (repeatable)", NULL, NULL },
	{ "service-account", 0, CLI_STR, &o.service_account, "NAME",
	  "the pods' service account", NULL, NULL },
	{ "image-pull-secret", 0, CLI_LIST, &o.pull_secrets, "NAME",
	  "a Secret for pulling the image (repeatable)", NULL, NULL },
	{ "shm-size", 0, CLI_STR, &o.shm_size, "QUANTITY",
	  "size limit of the /dev/shm emptyDir (default: none)", NULL, NULL },
	{ "node", 0, CLI_STR, &o.node, "NAME",
	  "pin to one node (tolerates the virtual-kubelet taint)", NULL, NULL },
	{ "wait", 0, CLI_BOOL, &create_wait, NULL,
	  "wait for the workload to finish (exit 0 completed, 125 failed, 124 timed out)",
	  NULL, NULL },
	{ "timeout", 0, CLI_DURATION, &wait_o.timeout_ms, "DURATION",
	  "with --wait: stop waiting after DURATION (the workload keeps running)", NULL, NULL },
	{ "logs", 0, CLI_BOOL, &wait_o.logs, NULL,
	  "with --wait: follow the logs of the first pod of the first job", NULL, NULL },
	{ "output-manifest", 0, CLI_STR, &o.output_manifest, "FILE",
	  "also write the generated manifest to FILE", NULL, "file" },
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

static int cmd_create(struct cli_ctx *ctx)
{
	int rc;

	if ((wait_o.logs || wait_o.timeout_ms) && !create_wait)
		return cli_usage_error(ctx, "--timeout and --logs need --wait");
	if (create_wait && strcmp(ctx->g.dry_run, "none"))
		return cli_usage_error(ctx, "--wait cannot be used with --dry-run");
	rc = create_run(ctx, &o);
	if (rc || !create_wait)
		return rc;
	wait_o.kind = o.kind ? o.kind : "jobset";
	return wait_run(ctx, ctx->argv[0], &wait_o);
}

static const struct cli_opt wait_opts[] = {
	{ "timeout", 0, CLI_DURATION, &wait_o.timeout_ms, "DURATION",
	  "stop waiting after DURATION (the workload keeps running; exit 124)", NULL, NULL },
	{ "logs", 0, CLI_BOOL, &wait_o.logs, NULL,
	  "follow the logs of the first pod of the first job", NULL, NULL },
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

static int cmd_wait(struct cli_ctx *ctx)
{
	return wait_run(ctx, ctx->argv[0], &wait_o);
}

static const struct cli_opt logs_opts[] = {
	{ "follow", 'f', CLI_BOOL, &logs_follow, NULL, "follow the log while the pod runs",
	  NULL, NULL },
	{ "slice", 0, CLI_INT, &logs_slice, "I", "the slice (the JobSet's job index; default 0)",
	  NULL, NULL },
	{ "node", 0, CLI_INT, &logs_node, "J", "the node in the slice (completion index; default 0)",
	  NULL, NULL },
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

static int cmd_logs(struct cli_ctx *ctx)
{
	return logs_run(ctx, ctx->argv[0], logs_slice, logs_node, logs_follow);
}

static const struct cli_cmd cmds[] = {
	{ "create", cmd_create, "Create a workload",
	  "NAME [--image IMAGE] [--accelerator TYPE] [--command 'LINE' | -- CMD ARGS...]",
	  "Generates a JobSet (default), Job or Pod for the image, command and\n"
	  "accelerator type and applies it with server-side apply (field manager\n"
	  "kubectl-wlrun). With --dry-run=client it is only printed; with\n"
	  "--dry-run=server the API server checks it without saving it.\n"
	  "An ImageBuild object on stdin supplies the image when --image is not\n"
	  "given; other objects on stdin pass through to stdout unchanged.",
	  "  # a JobSet on one v5p-8 slice\n"
	  "  kubectl wlrun train --image gcr.io/p/trainer --accelerator v5p-8 -- python3 train.py\n"
	  "  # print the manifest of 2 nodes of 8 H100 each\n"
	  "  kubectl wlrun big --image img --accelerator h100-80gb-8 --num-nodes 2 --dry-run=client -o yaml\n"
	  "  # a Job pinned to one node\n"
	  "  kubectl wlrun hello --kind job --image busybox --node wlkit-node-1 -- sh -c 'echo hi'",
	  create_opts, CLI_G_KUBE | CLI_G_GKE | CLI_G_OUTPUT | CLI_G_DRYRUN, 1, 1, NULL, NULL },
	WLRUN_APPLY_CMD,
	WLRUN_LIST_CMD,
	WLRUN_DELETE_CMD,
	{ "wait", cmd_wait, "Wait for a workload to finish",
	  "NAME [--timeout DURATION] [--logs]",
	  "Watches the JobSet, Job or Pod NAME, its pods and its Kueue Workload and\n"
	  "prints the state changes on stderr. Exits 0 when it completed, 125 when\n"
	  "it failed (with the failed pod's exit code and last log lines), 124 when\n"
	  "--timeout passed first. Interrupting stops the waiting, not the workload.",
	  "  # wait at most ten minutes\n"
	  "  kubectl wlrun wait train --timeout 10m",
	  wait_opts, CLI_G_KUBE | CLI_G_GKE, 1, 1, NULL, "workloads" },
	{ "logs", cmd_logs, "Print the logs of a workload's pod",
	  "NAME [-f] [--slice I] [--node J]",
	  "Prints the log of one pod of the workload: node J of slice I (default\n"
	  "the first pod of the first job).",
	  "  # follow node 1 of slice 0\n"
	  "  kubectl wlrun logs train -f --node 1",
	  logs_opts, CLI_G_KUBE | CLI_G_GKE, 1, 1, NULL, "workloads" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NULL }
};

static const struct cli_prog prog = {
	.name = "wlrun",
	.host = "kubectl",
	.summary = "Run accelerator workloads as JobSets, Jobs or Pods",
	.description =
		"Turns an image, a command and an accelerator type into a JobSet, Job or\n"
		"Pod and applies it with server-side apply.",
	.cmds = cmds,
	.default_cmd = "create",
};

/* --accelerator completes from the device type table. */
static const char *const *complete_values(const char *opt)
{
	return !strcmp(opt, "accelerator") ? accel_names() : NULL;
}

int main(int argc, char **argv)
{
	cli_set_value_completer(complete_values);
	cli_set_args_completer(workloads_complete);
	return cli_main(&prog, argc, argv);
}
