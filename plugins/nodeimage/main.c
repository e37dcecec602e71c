/* gcloud-nodeimage - Give GKE node pools a custom boot image
 *
 * Commands, one file each: ref-pool (refpool.c), check-source-image
 * (source.c), fetch-metadata (metadata.c), build-image (build.c),
 * list-pools (pools.c), plan (plan.c), mutate (mutate.c), rollback
 * (rollback.c). The environment (vars/NAME.json) is env.c; node pools
 * resolve to instance groups and templates in resolve.c.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "nodeimage.h"
#include "stream.h"

struct ni_globals ni;

#define RISKS								\
	"Risks (tell everyone who runs it):\n"				\
	"  - GKE re-creates instance templates on upgrades, credential rotation\n" \
	"    and config changes: the custom image is lost then; run mutate again.\n" \
	"  - Auto-repair and autoscaling make VMs from a group's current template:\n" \
	"    a broken image causes repair loops. Test the image on one pool first.\n" \
	"  - The image must match the cluster's node version: build from the\n" \
	"    reference pool's image (ref-pool create, check-source-image).\n" \
	"  - Custom images do not mix well with Shielded nodes (secure boot) and\n" \
	"    auto-upgrade: list-pools warns about pools with auto-upgrade on."

static const struct cli_cmd cmds[] = {
	{ "ref-pool", refpool_run, "Create or delete the reference node pool",
	  "create|delete --env NAME [--dry-run]",
	  "Creates (or deletes) the environment's reference node pool: a pool with\n"
	  "the cluster's standard configuration (ref_pool.config in the environment\n"
	  "file overrides it) whose instance template shows the node image and the\n"
	  "metadata GKE uses now. Waits for the operation to be DONE.",
	  "  # create the reference pool of vars/dev.json, wait for it\n"
	  "  gcloud nodeimage ref-pool create --env dev\n"
	  "  # print the request only\n"
	  "  gcloud nodeimage ref-pool create --env dev --dry-run\n"
	  "  # delete it when done\n"
	  "  gcloud nodeimage ref-pool delete --env dev",
	  refpool_opts, 0, 1, 1, "yaml|json", NULL },
	{ "check-source-image", source_run,
	  "Compare the reference pool's image with the declared source image",
	  "--env NAME",
	  "Compares the boot image of the reference pool's instance template with\n"
	  "the environment's source_image (or the newest image of\n"
	  "source_image_family). Exit 0 when they are the same, 1 when they differ\n"
	  "(both are printed), 2 on an error.",
	  "  # is vars/dev.json's source image the one GKE uses now?\n"
	  "  gcloud nodeimage check-source-image --env dev",
	  source_opts, 0, 0, 0, "yaml|json", NULL },
	{ "fetch-metadata", metadata_run,
	  "Save the reference pool's template metadata into files",
	  "--env NAME [--out DIR]",
	  "Writes each metadata item of the reference pool's instance template to\n"
	  "DIR/<key> (mode 0600, DIR mode 0700) and prints a summary. kube-env\n"
	  "carries credentials: its values are never printed, only its keys.",
	  "  # into ./node-metadata\n"
	  "  gcloud nodeimage fetch-metadata --env dev\n"
	  "  gcloud nodeimage fetch-metadata --env dev --out /tmp/meta",
	  metadata_opts, 0, 0, 0, "yaml|json", NULL },
	{ "build-image", build_run, "Build the custom node image with packer",
	  "--env NAME --run-id N [--template FILE] [--dry-run]",
	  "Writes a packer template (googlecompute builder: the source image, image\n"
	  "<image_prefix>-<run id>, its family and labels, the source image's guest\n"
	  "OS features and disk size, the scripts gke-essentials.sh and\n"
	  "container-cache.sh of the vars directory run with sudo) and runs\n"
	  "`packer build`. On success last_run_id in vars/NAME.json becomes N.\n"
	  "Not idempotent: every run builds a new image. --dry-run writes the\n"
	  "template only.",
	  "  # build run 4 of vars/dev.json\n"
	  "  gcloud nodeimage build-image --env dev --run-id 4\n"
	  "  # write the template only, then check it\n"
	  "  gcloud nodeimage build-image --env dev --run-id 4 --dry-run --template t.json\n"
	  "  packer validate t.json",
	  build_opts, 0, 0, 0, "yaml|json", NULL },
	{ "list-pools", pools_run,
	  "List node pools, their groups, templates and images",
	  "--env NAME [--format yaml|json]",
	  "A table of the environment's node pools: each instance group, its\n"
	  "current template and boot image, and the run that mutated it (\"-\" when\n"
	  "none). Warns about pools with auto-upgrade on.",
	  "  gcloud nodeimage list-pools --env dev\n"
	  "  gcloud nodeimage list-pools --env dev --format json",
	  pools_opts, 0, 0, 0, "yaml|json", NULL },
	{ "plan", plan_run, "Print the NodeImagePlan of a run",
	  "--env NAME --run-id N [--instance-groups A,B]",
	  "For each instance group in scope: its current template and the template\n"
	  "mutate would create, or why it is skipped (already at this run, an\n"
	  "excluded machine type, a run id that is not last_run_id).",
	  "  gcloud nodeimage plan --env dev --run-id 4\n"
	  "  gcloud nodeimage plan --env dev --run-id 4 > plan.yaml",
	  plan_opts, 0, 0, 0, "yaml|json", NULL },
	{ "mutate", mutate_run, "Point instance groups at the custom image",
	  "--env NAME --run-id N [--instance-groups A,B] [-f PLAN|-] [--dry-run]",
	  "Copies each group's template with the boot image <image_prefix>-<run id>\n"
	  "and the kube-env replacements of vars/_kube-env.yaml, labels it with the\n"
	  "run id and the source template, and points the group at it. Idempotent;\n"
	  "refuses a run id other than last_run_id. Prints a NodeImageResult per\n"
	  "group.",
	  "  gcloud nodeimage mutate --env dev --run-id 4\n"
	  "  gcloud nodeimage plan --env dev --run-id 4 | gcloud nodeimage mutate --env dev --run-id 4 -f -",
	  mutate_opts, 0, 0, 0, "yaml|json", NULL },
	{ "rollback", rollback_run, "Point mutated groups back at their source templates",
	  "--env NAME [--instance-groups A,B] [--dry-run]",
	  "Points each mutated group back at the template it was copied from (the\n"
	  "template labels are the record, so it works after a crash), then deletes\n"
	  "the custom templates no group uses.",
	  "  gcloud nodeimage rollback --env dev\n"
	  "  gcloud nodeimage rollback --env dev --instance-groups gke-train-gpu-1234-grp",
	  rollback_opts, 0, 0, 0, "yaml|json", NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NULL }
};

static const struct cli_prog prog = {
	.name = "nodeimage",
	.host = "gcloud",
	.summary = "Give GKE node pools a custom boot image",
	.description =
		"Builds a custom node image with packer and points node pools' instance\n"
		"groups at it, with plans, run ids and rollback. An environment is\n"
		"vars/NAME.json (--env NAME, --vars-dir DIR); see gcloud-nodeimage(1).\n"
		"\n" RISKS,
	.cmds = cmds,
	.default_cmd = NULL,
};

int ni_print(const cJSON *obj)
{
	struct stream_out *out = stream_out_open(stdout, ni.format && !strcmp(ni.format, "json") ?
						 STREAM_JSON : STREAM_YAML);
	int rc = stream_out_write(out, obj, NULL);

	if (stream_out_close(out) < 0)
		rc = -1;
	return rc;
}

/* --env completes the environments of --vars-dir (vars/NAME.json). */
static const char *const *complete_value(const char *opt)
{
	static char *names[65];
	static size_t n;
	struct dirent *d;
	DIR *dir;

	if (strcmp(opt, "env"))
		return NULL;
	if (!(dir = opendir(ni.vars_dir && *ni.vars_dir ? ni.vars_dir : "vars")))
		return (const char *const *)names;
	while ((d = readdir(dir)) && n < 64) {
		size_t len = strlen(d->d_name);

		if (len > 5 && !strcmp(d->d_name + len - 5, ".json") && d->d_name[0] != '_' &&
		    d->d_name[0] != '.' && (names[n] = strndup(d->d_name, len - 5)))
			n++;
	}
	closedir(dir);
	return (const char *const *)names;
}

int main(int argc, char **argv)
{
	/* completion parses only the global flags: --vars-dir for --env */
	for (int i = 1; i + 1 < argc && !strcmp(argv[1], "__complete"); i++)
		if (!strcmp(argv[i], "--vars-dir"))
			ni.vars_dir = argv[i + 1];
		else if (!strncmp(argv[i], "--vars-dir=", 11))
			ni.vars_dir = argv[i] + 11;
	cli_set_value_completer(complete_value);
	return cli_main(&prog, argc, argv);
}
