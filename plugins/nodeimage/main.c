/* gcloud-nodeimage - Give GKE node pools a custom boot image
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
	.name = "nodeimage",
	.host = "gcloud",
	.summary = "Give GKE node pools a custom boot image",
	.description =
		"Builds a custom node image with packer and points node pools' instance\ngroups at it, with plans, run ids and rollback.\n"
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
