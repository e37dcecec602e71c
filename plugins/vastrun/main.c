/* kubectl-vastrun - Run campaigns of test scenarios as Kueue-queued Jobs
 * with an in-cluster S3 results store; see vastrun.h for the parts.
 */
#include "vastrun.h"

#define K CLI_G_KUBE

static const struct cli_cmd cmds[] = {
	{ "setup", setup_run, "Deploy the results store and the Kueue queues",
	  "CONFIG [--option KEY=VALUE]... | --list",
	  "Deploys the results store (a pod with MinIO, an nginx read-only sidecar\n"
	  "and an archiver sidecar, its Service, and a Secret with credentials\n"
	  "generated now) for cluster config gcp, rke2 or minikube, or records an\n"
	  "external S3 store (--store external --s3-endpoint URL); installs Kueue\n"
	  "with helm when it is on PATH; creates the ResourceFlavor, the ClusterQueue\n"
	  "sized to the cluster and the LocalQueue robovast. Idempotent.",
	  "  # a GKE cluster with SSD-backed storage\n"
	  "  kubectl vastrun setup gcp --option storage_size=50Gi --option disk_type=pd-ssd\n"
	  "  # an S3 store that already exists\n"
	  "  kubectl vastrun setup minikube --store external --s3-endpoint http://10.0.0.5:9000",
	  setup_opts, K, 0, 1, NULL, NULL },
	{ "run", run_run, "Start a campaign: one Job per config and run",
	  "[--project-file FILE] [--runs N] [--config NAME] [--tools-image IMAGE] [--s3-endpoint URL] [--dry-run]",
	  "Reads the project file, uploads every config's files to a new bucket named\n"
	  "after the run id, and creates one Kueue-queued Job per config x run.\n"
	  "Prints a Campaign object (run id, bucket, jobs) on stdout.",
	  "  # every config of ./*.vast, 5 runs each\n"
	  "  kubectl vastrun run --runs 5",
	  run_opts, K | CLI_G_OUTPUT | CLI_G_DRYRUN, 0, 0, NULL, NULL },
	{ "monitor", monitor_run, "Show the progress of a run",
	  "[--run-id ID] [--watch]",
	  "Counts the run's jobs (succeeded, failed, running, pending, queued by\n"
	  "Kueue) against the total, with jobs per minute and an ETA; --watch\n"
	  "follows until every job finished.",
	  "  # follow the latest run\n"
	  "  kubectl vastrun monitor --watch",
	  monitor_opts, K, 0, 0, NULL, NULL },
	{ "download", download_run, "Download a run's results and remove its bucket",
	  "[--run-id ID] [--output DIR] [--keep]",
	  "Streams every object of finished runs to DIR/<run-id>/..., resumes\n"
	  "partial files, verifies sizes and ETags, then removes the bucket unless\n"
	  "--keep. Runs with jobs still running or pending are skipped.",
	  "  # every finished run into ./results\n"
	  "  kubectl vastrun download --output results",
	  download_opts, K, 0, 0, NULL, NULL },
	{ "run-cleanup", runcleanup_run, "Delete a run's Jobs and pods",
	  "[--run-id ID]", "Deletes the Jobs (and their pods) of a run, or of every run;\n"
	  "the results stay in the store.",
	  "  kubectl vastrun run-cleanup --run-id run-2026-06-01-120000",
	  runcleanup_opts, K, 0, 0, NULL, NULL },
	{ "download-cleanup", dlcleanup_run, "Remove results from the store without downloading",
	  "[--run-id ID]", "Deletes the buckets of finished runs from the results store.",
	  "  kubectl vastrun download-cleanup",
	  dlcleanup_opts, K, 0, 0, NULL, NULL },
	{ "cleanup", cleanup_run, "Remove everything setup and the runs made",
	  "", "Holds and drains the ClusterQueue, deletes Workloads, Jobs and pods,\n"
	  "clears stuck finalizers, then removes the results store and the queues.",
	  "  kubectl vastrun cleanup",
	  cleanup_opts, K, 0, 0, NULL, NULL },
	{ "prepare-run", prepare_run, "Write a run's manifests and scripts without running",
	  "DIR | - [--project-file FILE] [--runs N] [--config NAME] [--cluster-config CONFIG] [--option KEY=VALUE]...",
	  "Writes every manifest and file a run needs (results store, Kueue queues,\n"
	  "out_template/, jobs/<job>.yaml, all-jobs.yaml, upload_configs.sh and\n"
	  "READMEs) into DIR, or the manifests as one stream on stdout with -.",
	  "  # apply a prepared run with wlrun\n"
	  "  kubectl vastrun prepare-run - | kubectl wlrun apply -f -",
	  prepare_opts, K, 1, 1, NULL, "dir" },
	{ "upload-to-share", share_run, "Upload finished runs to a Nextcloud or Google Drive share",
	  "[--run-id ID] [--keep-archive] [--force] [--tools-image IMAGE] [--s3-endpoint URL] [--chunk-size N]",
	  "Archives each finished run and uploads it from inside the cluster to the\n"
	  "share the .env file names (ROBOVAST_SHARE_TYPE nextcloud or gdrive).",
	  "  kubectl vastrun upload-to-share --run-id run-2026-06-01-120000",
	  share_opts, K, 0, 0, NULL, NULL },
	{ "pod", pod_run, "Inside a run's pods: move files between S3 and the pod",
	  "fetch-config --bucket B --config C --to DIR | upload-results --bucket B --prefix P --from DIR | share",
	  "Used by the Jobs that run creates: fetch-config copies the config's files\n"
	  "from S3 into /config, upload-results copies /out to S3, share uploads\n"
	  "an archive to the share. Not meant to be typed.",
	  "  kubectl-vastrun pod fetch-config --bucket run-2026-06-01-120000 --config c1 --to /config",
	  pod_opts, 0, 1, 1, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NULL }
};

static const struct cli_prog prog = {
	.name = "vastrun",
	.host = "kubectl",
	.summary = "Run campaigns of test scenarios as Kueue-queued Jobs",
	.description =
		"Runs configs x runs as Kueue-queued Jobs with an in-cluster S3 results\n"
		"store, then monitors, downloads and shares the results.",
	.cmds = cmds,
	.default_cmd = NULL,
};

int main(int argc, char **argv)
{
	return cli_main(&prog, argc, argv);
}
