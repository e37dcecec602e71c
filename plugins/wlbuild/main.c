/* kubectl-wlbuild - Build a container image from a directory on Google Cloud Build
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
	.name = "wlbuild",
	.host = "kubectl",
	.summary = "Build a container image from a directory on Google Cloud Build",
	.description =
		"Packs a directory (honouring .gcloudignore), builds it on Cloud Build and\nprints an ImageBuild object with the digest-pinned image.\n"
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
