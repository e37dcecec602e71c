/* share.h - upload-to-share's parts (share*.c): the .env settings, the
 * one-off Job that moves a run from the store to the share, and what that
 * Job's pod does (`kubectl-vastrun pod share`).
 *
 * The user's machine never carries a run's data: it reads .env, finds the
 * finished runs, puts the share's credentials into a Secret for a Job,
 * follows the Job's log and removes both. The pod (share_pod.c) downloads
 * the run's objects into its scratch emptyDir, packs <run>.tar.gz with
 * archive.h and uploads it (share_dav.c, share_gdrive.c); the archive
 * goes back to the run's bucket as <run>.tar.gz when the upload fails or
 * --keep-archive asks.
 *
 * The pod takes its settings from the environment the Job sets
 * (SHARE_ENV_*), never from flags, so no secret shows in a process list.
 * It prints one line per step on stderr (errors as "error: ..."); a line
 * "progress DONE TOTAL" (bytes) is a progress report, which the user's
 * side draws as a bar.
 *
 * Ownership: struct share_conf owns its strings (share_conf_free). Return
 * values: 0, or -1 with one line in *err (no "error: " prefix).
 */
#ifndef WLKIT_VASTRUN_SHARE_H
#define WLKIT_VASTRUN_SHARE_H

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "kube.h"

/* The environment of the share Job's pod. */
#define SHARE_ENV_RUN "VASTRUN_RUN_ID"
#define SHARE_ENV_TYPE "VASTRUN_SHARE_TYPE"	/* nextcloud | gdrive */
#define SHARE_ENV_URL "VASTRUN_SHARE_URL"	/* from the Job's Secret */
#define SHARE_ENV_KEY_FILE "VASTRUN_SHARE_KEY_FILE"	/* gdrive: the mounted key */
#define SHARE_ENV_CHUNK "VASTRUN_SHARE_CHUNK_SIZE"	/* bytes */
#define SHARE_ENV_FORCE "VASTRUN_SHARE_FORCE"	/* "1": replace, rebuild */
#define SHARE_ENV_KEEP "VASTRUN_SHARE_KEEP_ARCHIVE"	/* "1" */
#define SHARE_ENV_WORKDIR "VASTRUN_SHARE_WORKDIR"	/* scratch space */
#define SHARE_ENV_S3_ENDPOINT "VASTRUN_S3_ENDPOINT"
#define SHARE_ENV_S3_REGION "VASTRUN_S3_REGION"
#define SHARE_ENV_S3_ACCESS "VASTRUN_S3_ACCESS_KEY"	/* from vastrun-s3 */
#define SHARE_ENV_S3_SECRET "VASTRUN_S3_SECRET_KEY"	/* from vastrun-s3 */

#define SHARE_DEFAULT_CHUNK (8L << 20)	/* Drive chunks: 8 MiB */
#define SHARE_CHUNK_UNIT (256L << 10)	/* Drive: multiples of 256 KiB */

/* ---- share_env.c: .env and the share settings ---- */

struct share_conf {
	char *env_path;		/* the .env file read, or NULL when none */
	char *type;		/* "nextcloud" or "gdrive" */
	char *url;		/* ROBOVAST_SHARE_URL (a secret for nextcloud) */
	char *key_path;		/* gdrive: the service account key file */
	char *folder;		/* gdrive: the folder id */
};

/* Finds .env in dir or its nearest parent (NULL when none; *path is then
 * left empty). -1 only when dir cannot be resolved. */
int share_env_find(const char *dir, struct buf *path, struct buf *err);
/* Parses a .env file into a new object NAME -> value (strings): KEY=VALUE
 * lines, an optional "export ", '#' comments (whole lines, or after
 * whitespace in an unquoted value), values in single quotes (literal) or
 * double quotes (\n, \t, \", \\ escapes, may span lines). Errors name the
 * file and line. */
int share_env_parse(const char *path, cJSON **out, struct buf *err);
/* The settings from the process environment first, then the .env found
 * from dir upwards (a variable set in the environment wins, as
 * python-dotenv does). Every missing variable is named in one error. */
int share_conf_load(const char *dir, struct share_conf *c, struct buf *err);
void share_conf_free(struct share_conf *c);
/* Splits a Nextcloud public share link https://HOST[/PREFIX]/s/TOKEN into
 * the base (https://HOST[/PREFIX]) and the token, both appended. */
int share_nextcloud_url(const char *url, struct buf *base, struct buf *token,
			struct buf *err);
/* The folder id of a Drive folder link (.../folders/ID, ...?id=ID) or of a
 * bare id, appended to out. */
int share_gdrive_folder(const char *url, struct buf *out, struct buf *err);
/* "1.5 MiB", appended. */
void share_size(struct buf *out, int64_t bytes);

/* ---- share_job.c: the Job of one run ---- */

#define SHARE_LABEL "vastrun.wlkit.dev/share"	/* = the run id */

struct vast_store;
/* One upload; all borrowed. */
struct share_job {
	struct kube *k;
	const char *ns;
	const char *run;
	const char *image;		/* --tools-image */
	const struct share_conf *conf;
	const struct vast_store *store;
	int64_t chunk;
	bool force, keep;
};
/* Creates the Secret and the Job, relays the pod's log (progress drawn on
 * a TTY, one line per report otherwise), waits for the pod to end and
 * removes both. 0 when the pod succeeded; else -1 with *err, left empty
 * when the pod's log (relayed) already said why. */
int share_job_run(const struct share_job *j, struct buf *err);

/* ---- share_pod.c, share_dav.c, share_gdrive.c: inside the Job ---- */

/* What an upload needs; all borrowed. */
struct share_upload {
	const char *path;	/* the archive */
	const char *name;	/* its name on the share: <run>.tar.gz */
	int64_t size;
	bool force;		/* replace a file of that name */
	int64_t chunk;		/* gdrive: bytes per request */
};
/* A progress line on stderr ("progress DONE TOTAL"). */
void share_progress(int64_t done, int64_t total);
/* Before the archive is made: whether the share takes a file of that
 * name (one exists: refused unless force). */
int share_dav_check(const char *url, const char *name, bool force, struct buf *err);
int share_gdrive_check(const char *key_path, const char *folder, const char *name,
		       bool force, struct buf *err);
int share_dav_upload(const char *url, const struct share_upload *u,
		     struct buf *err);
int share_gdrive_upload(const char *key_path, const char *folder,
			const struct share_upload *u, struct buf *err);

#endif
