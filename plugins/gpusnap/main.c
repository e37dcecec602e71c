/* kubectl-gpusnap - Snapshot a node: OS, kernel, GPUs, services, Kubernetes
 *
 * This build has the program's frame only (options, --help, --version,
 * completion); its commands come with its own issue. Until then every other
 * invocation is a usage error (exit 2), so nothing pretends to work.
 */
#include "cli.h"

static const struct cli_cmd cmds[] = {
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NULL }
};

static const struct cli_prog prog = {
	.name = "gpusnap",
	.host = "kubectl",
	.summary = "Snapshot a node: OS, kernel, GPUs, services, Kubernetes",
	.description =
		"Captures a Snapshot of a node locally or through an agent Job deployed\nwith its RBAC, and compares two snapshots.\n"
		"\n"
		"Status: this build of wlkit has the shared library and the\n"
		"program's frame only; its commands are not in this build yet.",
	.cmds = cmds,
	.default_cmd = NULL,
};

int main(int argc, char **argv)
{
	return cli_main(&prog, argc, argv);
}
