/* kubectl-vkcmd - A virtual kubelet that runs pods as host processes
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
	.name = "vkcmd",
	.host = "kubectl",
	.summary = "A virtual kubelet that runs pods as host processes",
	.description =
		"Registers a Node and runs the pods scheduled to it as host processes\n(shell, Apptainer, Shifter, Docker), for sites without a container runtime.\n"
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
