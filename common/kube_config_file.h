/* kube_config_file.h - kubeconfig files for kube_config.c (private to the
 * kube_config module): which files are read, how they merge, and the fields
 * of their cluster and user entries.
 *
 * Files: --kubeconfig (must exist), else $KUBECONFIG split on ':' (empty
 * entries and repeats skipped, missing files skipped), else ~/.kube/config.
 * Merging as client-go does: the first file that sets current-context wins;
 * for a named cluster, context or user the first file that has the name
 * wins the whole entry (fields of later entries of that name are ignored);
 * a file that names an entry twice in one list is refused, as client-go does.
 * Relative paths of an entry resolve against the absolute directory of the
 * file that holds it; base64 data fields are decoded.
 *
 * Ownership: struct kc_files owns its files and their parsed documents
 * (kc_files_free). Entry bodies returned by kc_find are borrowed from it.
 * Strings returned as char * are malloc'd for the caller. What the loaders
 * put into a struct kube_target belongs to the target.
 */
#ifndef WLKIT_KUBE_CONFIG_FILE_H
#define WLKIT_KUBE_CONFIG_FILE_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "kube_config.h"

struct kc_file {
	char *path;	/* as given */
	char *dir;	/* absolute directory of path: the base of relative paths */
	cJSON *doc;	/* the kubeconfig, an object; NULL when the file is empty */
};

struct kc_files {
	struct kc_file *v;
	size_t n;
};

/* Reads the files flags and the environment name. 0 or -1 with *err. */
int kc_files_load(const struct kube_flags *flags, struct kc_files *fs,
		  struct buf *err);
void kc_files_free(struct kc_files *fs);
/* The first file's non-empty current-context, or NULL. */
const char *kc_current_context(const struct kc_files *fs);
/* The file holding entry `name` of list ("clusters", "contexts", "users"),
 * or NULL; *body: the entry's `item` object ("cluster", ...) or NULL. */
const struct kc_file *kc_find(const struct kc_files *fs, const char *list,
			      const char *item, const char *name,
			      const cJSON **body);

/* A scalar field as text (numbers and booleans too, as sigs.k8s.io/yaml
 * reads them into string fields); NULL when missing, null or empty. */
char *kc_field(const cJSON *o, const char *key);
char *kc_strdup(const char *s);		/* NULL for NULL; dies out of memory */
void kc_wipe_str(char *s);		/* zeroes then frees (secrets) */

/* The fields of a cluster entry into t (server, certificate-authority[-data],
 * insecure-skip-tls-verify, tls-server-name, proxy-url); *exec_cfg: its
 * client.authentication.k8s.io/exec extension as JSON, or NULL.
 * 0 or -1 with *err (bad base64). */
int kc_cluster_load(const cJSON *c, const struct kc_file *f, struct kube_target *t,
		    char **exec_cfg, struct buf *err);
/* The fields of a user entry into t (token, tokenFile, username, password,
 * client-certificate[-data], client-key[-data], exec); what kubectl's
 * validation rejects (exec fields, auth-provider) is added to errs.
 * 0 or -1 with *err (bad base64). */
int kc_user_load(const cJSON *u, const struct kc_file *f, struct kube_target *t,
		 cJSON *errs, struct buf *err);
void kc_exec_free(struct kube_exec *ex);

/* kube_gke.c: the target of GKE cluster flags->cluster in flags->location
 * (flags->project) into t: source, cluster_name, server, ca_data and gke
 * (borrowed: one Google client per process, freed at exit).
 * 0 or -1 with *err. */
int kc_gke_load(const struct kube_flags *flags, struct kube_target *t,
		struct buf *err);

/* Adds a message to the array errs unless it is there already. */
void kc_errs_add(cJSON *errs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
