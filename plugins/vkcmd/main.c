/* kubectl-vkcmd - a virtual kubelet that runs pods as host processes.
 *
 *   kubectl vkcmd [run] [flags]          the node agent (the default)
 *   kubectl vkcmd pipe-runner FIFO       the host side of --pipe
 *   kubectl vkcmd pipe-exec FIFO -- CMD  one command through a pipe-runner
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "obj.h"
#include "vkcmd.h"

static struct vk_opts o = {
	.runtime = "host",
	.listen = "0.0.0.0:10250",
	.max_pods = 110,
};

static const struct cli_opt run_opts[] = {
	{ "node-name", 0, CLI_STR, &o.node_name, "NAME",
	  "the Node's name (default: $JOBNAME, else the host name)", NULL, NULL },
	{ "runtime", 0, CLI_STR, &o.runtime, "RUNTIME",
	  "how containers run: host processes, or through apptainer, shifter or docker",
	  "host|apptainer|shifter|docker", NULL },
	{ "pipe", 0, CLI_STR, &o.pipe, "FIFO",
	  "send each container's command line to a pipe-runner reading FIFO", NULL, "file" },
	{ "listen", 0, CLI_STR, &o.listen, "ADDR:PORT",
	  "the kubelet API's address (port 0: any free port; default 0.0.0.0:10250)",
	  NULL, NULL },
	{ "max-pods", 0, CLI_INT, &o.max_pods, "N", "the node's pod capacity (default 110)",
	  NULL, NULL },
	{ "label", 0, CLI_LIST, &o.labels, "KEY=VALUE", "a label of the Node",
	  NULL, NULL },
	{ "taint", 0, CLI_LIST, &o.taints, "KEY[=VALUE]:EFFECT",
	  "a taint of the Node", NULL, NULL },
	{ "no-taint", 0, CLI_BOOL, &o.no_taint, NULL,
	  "leave out the virtual-kubelet.io/provider=vkcmd:NoSchedule taint", NULL, NULL },
	{ "walltime", 0, CLI_DURATION, &o.walltime_ms, "DURATION",
	  "end of the allocation: the node goes NotReady and its pods fail (reason Walltime)",
	  NULL, NULL },
	{ "work-dir", 0, CLI_STR, &o.work_dir, "DIR",
	  "logs and pod state (default $XDG_STATE_HOME/wlkit/vkcmd/NODE)", NULL, "dir" },
	{ "cpu", 0, CLI_STR, &o.cpu, "QUANTITY",
	  "the node's cpu capacity (default: the CPUs this process may use)", NULL, NULL },
	{ "memory", 0, CLI_STR, &o.memory, "QUANTITY",
	  "the node's memory capacity (default: the host's memory)", NULL, NULL },
	{ "kubelet-cert", 0, CLI_STR, &o.kubelet_cert, "FILE",
	  "the kubelet API's certificate (default: a self-signed one)", NULL, "file" },
	{ "kubelet-key", 0, CLI_STR, &o.kubelet_key, "FILE",
	  "the kubelet API's private key", NULL, "file" },
	{ "kubelet-client-ca", 0, CLI_STR, &o.kubelet_client_ca, "FILE",
	  "require client certificates signed by this CA on the kubelet API", NULL, "file" },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

static char *default_node_name(void)
{
	const char *j = getenv("JOBNAME");
	char host[256] = "";
	char *s, *p;

	if (j && *j) {
		s = xstrdup(j);
	} else {
		if (gethostname(host, sizeof(host) - 1) < 0 || !*host)
			snprintf(host, sizeof(host), "vkcmd");
		host[sizeof(host) - 1] = '\0';
		s = xstrdup(host);
	}
	for (p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

static int cmd_run(struct cli_ctx *ctx)
{
	struct agent a;
	struct buf why = BUF_INIT;
	int rc;

	memset(&a, 0, sizeof(a));
	a.o = o;
	if (runtime_parse(o.runtime, &a.rt) < 0)
		return cli_usage_error(ctx, "invalid --runtime '%s'", o.runtime);
	if (o.max_pods <= 0)
		return cli_usage_error(ctx, "--max-pods must be positive");
	if (node_check_options(&o, &why) < 0) {
		rc = cli_usage_error(ctx, "%s", buf_str(&why));
		goto out;
	}
	if (!!o.kubelet_cert != !!o.kubelet_key)
		return cli_usage_error(ctx, "--kubelet-cert and --kubelet-key go together");
	if (o.pipe && access(o.pipe, F_OK) < 0) {
		error("cannot use pipe '%s': no such file; start "
		      "'kubectl vkcmd pipe-runner %s' on the host first", o.pipe, o.pipe);
		return 1;
	}
	a.node = o.node_name ? xstrdup(o.node_name) : default_node_name();
	if (!dns1123_subdomain(a.node, &why)) {
		rc = cli_usage_error(ctx, "invalid node name '%s': %s", a.node, buf_str(&why));
		goto out;
	}
	rc = agent_run(&a, &ctx->g.kube);
out:
	buf_release(&why);
	free(a.node);
	free(a.work_dir);
	free(a.host_ip);
	free(a.svc_host);
	free(a.svc_port);
	free(a.self_exe);
	free(a.node_uid);
	return rc;
}

static int cmd_pipe_runner(struct cli_ctx *ctx)
{
	return pipe_runner_main(ctx->argv[0]);
}

static int cmd_pipe_exec(struct cli_ctx *ctx)
{
	if (!ctx->restc)
		return cli_usage_error(ctx, "a command is required after '--'");
	return pipe_exec_main(ctx->argv[0], ctx->rest);
}

static const struct cli_cmd cmds[] = {
	{ "run", cmd_run, "Run the node agent", "[flags]",
	  "Registers the Node, keeps its Lease renewed and its Ready condition true,\n"
	  "and runs the pods scheduled to it (spec.nodeName) as processes of this host,\n"
	  "in the foreground until SIGTERM or SIGINT (then the node goes NotReady, its\n"
	  "pods are stopped and reported Failed, and the agent exits 0).",
	  "  # a node named after the batch job, pods as host processes\n"
	  "  kubectl vkcmd --listen 127.0.0.1:10250\n"
	  "  # through Apptainer, for eight hours, with a site label\n"
	  "  kubectl vkcmd --runtime apptainer --walltime 8h --label site=jlab",
	  run_opts, CLI_G_KUBE, 0, 0, NULL, NULL },
	{ "pipe-runner", cmd_pipe_runner, "Run commands sent through a FIFO by --pipe",
	  "FIFO",
	  "The host side of --pipe: creates FIFO (mode 0600) when missing, reads\n"
	  "requests from it and runs each command, sending its output and exit code\n"
	  "back to the agent. Runs until SIGTERM or SIGINT.",
	  "  kubectl vkcmd pipe-runner $HOME/hostpipe/vkcmd",
	  NULL, 0, 1, 1, NULL, "file" },
	{ "pipe-exec", cmd_pipe_exec, "Run one command through a pipe-runner",
	  "FIFO -- COMMAND [ARG...]",
	  "Sends COMMAND with this environment and directory to the pipe-runner\n"
	  "reading FIFO, copies its output and exits with its exit code. SIGTERM\n"
	  "and SIGINT are forwarded. The agent runs containers this way with --pipe.",
	  "  kubectl vkcmd pipe-exec $HOME/hostpipe/vkcmd -- hostname",
	  NULL, 0, 1, 1, NULL, "file" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NULL }
};

static const struct cli_prog prog = {
	.name = "vkcmd",
	.host = "kubectl",
	.summary = "A virtual kubelet that runs pods as host processes",
	.description =
		"Registers a Node and runs the pods scheduled to it as host processes\n"
		"(shell, Apptainer, Shifter, Docker), for sites without a container runtime.",
	.cmds = cmds,
	.default_cmd = "run",
};

int main(int argc, char **argv)
{
	return cli_main(&prog, argc, argv);
}
