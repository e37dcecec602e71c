/* kubectl-gpusnap - Snapshot a node: OS, kernel, GPUs, services, Kubernetes
 *
 * Commands: snapshot (the default), which captures a Snapshot of this host
 * or, with --deploy-agent, of cluster nodes through an agent Job
 * (agent.c); and diff, which compares two snapshots (diff.c). The
 * document, the collectors' runner and the output targets are snap.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gpusnap.h"
#include "log.h"

#define AGENT_IMAGE_REPO "ghcr.io/wlkit/wlkit"
#define AGENT_TIMEOUT_MS (5 * 60 * 1000)

static const char *root_dir, *collectors, *nvidia_smi;
static const char *format;

/* timeout_ms -1 means "not given": a duration is never negative. */
static struct agent_opts ao = { .timeout_ms = -1 };

static const struct cli_opt snapshot_opts[] = {
	{ "output", 'o', CLI_STR, &ao.output, "FILE|-|cm://NS/NAME",
	  "where the snapshot goes: - (stdout, the default), a file, or a ConfigMap",
	  NULL, "file" },
	{ "format", 0, CLI_STR, &format, "FORMAT",
	  "yaml (default) or json; a -o FILE ending in .json defaults to json", "yaml|json", NULL },
	{ "root", 0, CLI_STR, &root_dir, "DIR",
	  "read /proc, /sys, /etc and /usr under DIR (the agent mounts the host at /host)",
	  NULL, "dir" },
	{ "collectors", 0, CLI_STR, &collectors, "LIST",
	  "comma-separated collectors to run: os,gpu,systemd,k8s (default: all)", NULL, NULL },
	{ "nvidia-smi", 0, CLI_STR, &nvidia_smi, "PATH",
	  "the nvidia-smi to run (default: search PATH and the usual places)", NULL, "file" },
	{ "deploy-agent", 0, CLI_BOOL, &ao.deploy, NULL,
	  "snapshot cluster nodes through an agent Job instead of this host", NULL, NULL },
	{ "image", 0, CLI_STR, &ao.image, "IMAGE",
	  "the agent's image (default " AGENT_IMAGE_REPO ":VERSION)", NULL, NULL },
	{ "job-name", 0, CLI_STR, &ao.job_name, "NAME",
	  "the agent Job's name (default: gpusnap- and a unique suffix)", NULL, NULL },
	{ "service-account-name", 0, CLI_STR, &ao.service_account, "NAME",
	  "the agent's ServiceAccount, and the name of its RBAC objects (default gpusnap)",
	  NULL, NULL },
	{ "node-selector", 0, CLI_LIST, &ao.node_selectors, "KEY=VALUE",
	  "where the agent runs (default nvidia.com/gpu.present=true)", NULL, NULL },
	{ "toleration", 0, CLI_LIST, &ao.tolerations, "KEY[=VALUE]:EFFECT",
	  "a toleration: key=value:Effect, key:Effect, key or * (default *: tolerate all)",
	  NULL, NULL },
	{ "timeout", 0, CLI_DURATION, &ao.timeout_ms, "DURATION",
	  "how long to wait for the agent (default 5m; exit 124 after it)", NULL, NULL },
	{ "cleanup-rbac", 0, CLI_BOOL, &ao.cleanup_rbac, NULL,
	  "also delete the agent's RBAC objects when done (default: keep them for reuse)",
	  NULL, NULL },
	{ "image-pull-policy", 0, CLI_STR, &ao.pull_policy, "POLICY",
	  "the agent container's imagePullPolicy", "Always|IfNotPresent|Never", NULL },
	{ "cpu", 0, CLI_STR, &ao.cpu, "QUANTITY", "the agent's CPU request and limit", NULL, NULL },
	{ "memory", 0, CLI_STR, &ao.memory, "QUANTITY",
	  "the agent's memory request and limit", NULL, NULL },
	{ "all-nodes", 0, CLI_BOOL, &ao.all_nodes, NULL,
	  "one agent Job per matching node, in parallel: one Snapshot per node", NULL, NULL },
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

/* The first agent-only flag given, or NULL. */
static const char *agent_flag_given(void)
{
	if (ao.image)
		return "--image";
	if (ao.job_name)
		return "--job-name";
	if (ao.service_account)
		return "--service-account-name";
	if (ao.node_selectors.n)
		return "--node-selector";
	if (ao.tolerations.n)
		return "--toleration";
	if (ao.timeout_ms >= 0)
		return "--timeout";
	if (ao.cleanup_rbac)
		return "--cleanup-rbac";
	if (ao.pull_policy)
		return "--image-pull-policy";
	if (ao.cpu)
		return "--cpu";
	if (ao.memory)
		return "--memory";
	if (ao.all_nodes)
		return "--all-nodes";
	return NULL;
}

/* --format, else json for a file named *.json, else yaml. */
static const char *output_format(const char *target)
{
	size_t n = strlen(target);

	if (format)
		return format;
	if (strncmp(target, "cm://", 5) && n > 5 && !strcmp(target + n - 5, ".json"))
		return "json";
	return "yaml";
}

static int run_agent(struct cli_ctx *ctx)
{
	struct buf image = BUF_INIT;
	int rc;

	if (root_dir || collectors || nvidia_smi) {
		rc = cli_usage_error(ctx, "%s cannot be used with --deploy-agent",
				     root_dir ? "--root" : collectors ? "--collectors" :
				     "--nvidia-smi");
		goto out;
	}
	if (!ao.image) {
		buf_printf(&image, "%s:%s", AGENT_IMAGE_REPO, cli_version());
		ao.image = buf_str(&image);
	}
	if (!ao.service_account)
		ao.service_account = "gpusnap";
	if (ao.timeout_ms < 0)
		ao.timeout_ms = AGENT_TIMEOUT_MS;
	rc = agent_run(&ao, ctx);
out:
	buf_release(&image);
	return rc;
}

static int cmd_snapshot(struct cli_ctx *ctx)
{
	struct snap_ctx c = { .root = "" };
	struct buf node = BUF_INIT, root = BUF_INIT, err = BUF_INIT;
	const char *flag;
	cJSON *doc = NULL, *docs = NULL;
	int rc = 1;

	if (!ao.output)
		ao.output = "-";
	if (snap_target_check(ao.output, &err) < 0) {
		rc = cli_usage_error(ctx, "%s", buf_str(&err));
		goto out;
	}
	ao.format = output_format(ao.output);
	if (ao.deploy) {
		rc = run_agent(ctx);
		goto out;
	}
	if ((flag = agent_flag_given())) {
		rc = cli_usage_error(ctx, "%s needs --deploy-agent", flag);
		goto out;
	}
	if (collectors && snap_collectors_check(collectors, &err) < 0) {
		rc = cli_usage_error(ctx, "%s", buf_str(&err));
		goto out;
	}
	if (root_dir) {
		buf_adds(&root, root_dir);
		while (root.len > 0 && root.data[root.len - 1] == '/')
			buf_setlen(&root, root.len - 1);
		c.root = buf_str(&root);
	}
	snap_source_node(&node);
	c.node = buf_str(&node);
	c.nvidia_smi = nvidia_smi;
	c.kube = &ctx->g.kube;
	if (!(doc = snap_take(&c, collectors, &err))) {
		error("%s", buf_str(&err));
		goto out;
	}
	docs = cJSON_CreateArray();
	if (!docs)
		die("out of memory");
	cJSON_AddItemToArray(docs, doc);
	rc = snap_write(docs, ao.output, ao.format, &ctx->g.kube) < 0 ? 1 : 0;
out:
	cJSON_Delete(docs);
	buf_release(&err);
	buf_release(&root);
	buf_release(&node);
	return rc;
}

static int cmd_diff(struct cli_ctx *ctx)
{
	return snap_diff_run(ctx->argv[0], ctx->argv[1], &ctx->g.kube, stdout);
}

static const struct cli_cmd cmds[] = {
	{ "snapshot", cmd_snapshot, "Capture a Snapshot of this node, or of cluster nodes",
	  "[-o FILE|-|cm://NS/NAME] [--format yaml|json] [--root DIR] [--collectors LIST] "
	  "| --deploy-agent [AGENT FLAGS]",
	  "Collects OS (release, kernel, boot command line, modules, sysctl, CPU,\n"
	  "memory, hugepages, NUMA, IOMMU), GPU (every GPU and MIG instance from\n"
	  "nvidia-smi, NVIDIA PCI devices, driver, container toolkit), SystemD\n"
	  "(containerd, docker, kubelet) and K8s (server, this node, images in use,\n"
	  "the GPU Operator ClusterPolicy) readings into one Snapshot document.\n"
	  "A collector that cannot run is skipped with a warning and named under\n"
	  "metadata.skipped. The source node is NODE_NAME, else\n"
	  "KUBERNETES_NODE_NAME, else HOSTNAME, else the host name.\n"
	  "With --deploy-agent the snapshot is taken on cluster nodes by an agent\n"
	  "Job (with its ServiceAccount and RBAC) in --namespace (default\n"
	  "gpu-operator) and printed or written here.",
	  "  # this host, as YAML on stdout\n"
	  "  kubectl gpusnap\n"
	  "  # into a file, written whole or not at all\n"
	  "  kubectl gpusnap -o before.yaml\n"
	  "  # into a ConfigMap\n"
	  "  kubectl gpusnap -o cm://gpu-operator/node-a-snapshot\n"
	  "  # every GPU node of the cluster, one Snapshot each\n"
	  "  kubectl gpusnap --deploy-agent --all-nodes -o nodes.yaml",
	  snapshot_opts, CLI_G_KUBE, 0, 0, NULL, NULL },
	{ "diff", cmd_diff, "Compare two snapshots",
	  "A B",
	  "Prints one line per reading that changed between snapshot A and B\n"
	  "(files, - for stdin, or cm://NS/NAME): \"TYPE/SUBTYPE KEY: OLD -> NEW\",\n"
	  "\"+ TYPE/SUBTYPE KEY: NEW\" for a new one, \"- TYPE/SUBTYPE KEY: OLD\" for\n"
	  "one that is gone. Timestamps and versions are not compared. Streams of\n"
	  "several snapshots are matched by source node. Exits 0 when nothing\n"
	  "changed, 1 when something did, 2 when an input cannot be read.",
	  "  # the drift of a node upgrade\n"
	  "  kubectl gpusnap diff before.yaml after.yaml\n"
	  "  # against the snapshot an agent stored\n"
	  "  kubectl gpusnap diff cm://gpu-operator/baseline -",
	  NULL, CLI_G_KUBE, 2, 2, NULL, "file" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NULL }
};

static const struct cli_prog prog = {
	.name = "gpusnap",
	.host = "kubectl",
	.summary = "Snapshot a node: OS, kernel, GPUs, services, Kubernetes",
	.description =
		"Captures a Snapshot of a node locally or through an agent Job deployed\n"
		"with its RBAC, and compares two snapshots.",
	.cmds = cmds,
	.default_cmd = "snapshot",
};

/* --collectors completes the collector names. */
static const char *const *complete_values(const char *opt)
{
	return !strcmp(opt, "collectors") ? snap_collector_names() : NULL;
}

int main(int argc, char **argv)
{
	cli_set_value_completer(complete_values);
	return cli_main(&prog, argc, argv);
}
