/* kube_config.h - where the cluster is and who we are, exactly as kubectl
 * decides it (see shared/reference/kubernetes-client.md).
 *
 * Sources, in order: --kubeconfig FILE (must exist); else KUBECONFIG split on
 * ':' (empty entries, duplicates and missing files skipped); else
 * ~/.kube/config. Merging as client-go: the first file that sets
 * current-context wins; a named cluster, context or user comes whole from
 * the first file that has the name (a file naming one twice is refused).
 * Kubeconfigs are YAML (read with yaml.h). Context: --context, else
 * current-context; --cluster/--user replace the context's;
 * --server (which drops the kubeconfig's tls-server-name),
 * --tls-server-name, --token (which also replaces tokenFile),
 * --certificate-authority and --insecure-skip-tls-verify (either drops the
 * kubeconfig's CA), --client-certificate and --client-key replace single
 * fields. Then kubectl's checks (ConfirmUsable), with its messages:
 *   invalid configuration: context was not found for specified context: foo
 *   invalid configuration: no server found for cluster "c"
 *   auth info "u" does not exist                  (--user u)
 *   invalid configuration: [E1, E2]               (several at once)
 * When that leaves no cluster at all (no cluster named, no cluster flag;
 * kubectl would try localhost:8080): in-cluster config if
 * KUBERNETES_SERVICE_HOST and _PORT are set and the service-account dir
 * (/var/run/secrets/kubernetes.io/serviceaccount, or
 * $WLKIT_SERVICEACCOUNT_DIR) has a token file: server https://host:port
 * (an IPv6 host in brackets), its ca.crt, its token (or --token); else
 *   invalid configuration: no configuration has been provided, try setting
 *   KUBERNETES_MASTER environment variable
 * Namespace: -n, else the context's, else (when in-cluster config is
 * possible) $POD_NAMESPACE or the service-account `namespace` file, else
 * "default". GKE (--location given; --cluster then names a GKE cluster,
 * not a kubeconfig entry): no kubeconfig is read; the server is https://
 * plus the cluster's `endpoint` from the Container API's
 * projects.locations.clusters.get (project: --project, else gcloud's, see
 * gcp.h), the CA its masterAuth.clusterCaCertificate, the bearer a Google
 * access token from gcp.h's sources, fetched again as it expires;
 * namespace -n, else "default"; the Container API's errors as one line
 * ("container: NOT_FOUND: ..."). Relative paths (certificate-authority, client-certificate,
 * client-key, tokenFile, exec.command when it contains a '/') resolve against
 * the directory of the file that holds the entry; paths in flags are kept
 * as given. *-data fields are base64-decoded. A server without a scheme is
 * https when TLS is configured, else http; over plain http no credentials
 * are sent (as kubectl). --request-timeout: "0" none, a bare integer
 * seconds, else a Go duration ("30s", "1m").
 *
 * Credentials, the first that applies: username (basic, with password);
 * tokenFile (read at load; re-read by kube_cred_get once it is
 * token_file_period_s old, 60 s, and always with force, as projected tokens
 * rotate; a failed re-read keeps the last token; in-cluster tokens likewise;
 * with a token as well the file wins when readable); token; exec plugin
 * (client.authentication.k8s.io/v1 and v1beta1; v1 requires
 * interactiveMode, v1beta1 defaults it to IfAvailable), run when first
 * needed (see kube_cred.h) with KUBERNETES_EXEC_INFO, the configured env on
 * top of ours, and stdin inherited only when the plugin may be interactive
 * and stdin is a terminal; `interactiveMode: Always` fails when stdin is not
 * a terminal (it carries the stream); its token or client certificate and
 * key are cached until status.expirationTimestamp; after a 401 the caller
 * asks again with force=true and the plugin is re-run. The plugin's stderr
 * passes through; its stdout is never printed. Client certificate and key
 * from the kubeconfig (file or data) are in the target, not in kube_cred.
 *
 * Ownership: kube_config_load() returns a struct kube_target the caller frees
 * with kube_target_free(); every string in it is owned by it. Credentials
 * returned by kube_cred_get() are borrowed from the target and valid until
 * the next kube_cred_get() call or kube_target_free(). Secrets (tokens,
 * passwords, keys) are never logged by this module, at any verbosity; -v=4
 * names the source, context, cluster, user, server and namespace chosen.
 */
#ifndef WLKIT_KUBE_CONFIG_H
#define WLKIT_KUBE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct gcp;

/* The kubectl global flags; NULL/false when not given. Borrowed strings. */
struct kube_flags {
	const char *kubeconfig;
	const char *context;
	const char *cluster;
	const char *user;
	const char *namespace;
	const char *server;
	const char *token;
	const char *certificate_authority;
	const char *client_certificate;
	const char *client_key;
	const char *tls_server_name;
	bool insecure_skip_tls_verify;
	const char *request_timeout;	/* "0", "30s", "1m" */
	/* GKE (kube_gke.c): with location, cluster names a GKE cluster */
	const char *location;
	const char *project;
};

struct kube_exec {
	char *api_version;	/* client.authentication.k8s.io/v1 or v1beta1 */
	char *command;		/* with a '/': resolved against the kubeconfig's
				 * directory; without: looked up in PATH when run */
	char **args;		/* NULL-terminated */
	char **env;		/* "NAME=VALUE", NULL-terminated */
	char *install_hint;
	char *interactive_mode;	/* Never, IfAvailable, Always */
	bool provide_cluster_info;
	/* JSON of the cluster's client.authentication.k8s.io/exec extension
	 * (spec.cluster.config of KUBERNETES_EXEC_INFO), or NULL */
	char *cluster_config;
};

struct kube_target {
	char *source;		/* "kubeconfig '/x'", "in-cluster config" or
				 * "command-line flags": for messages */
	char *context;		/* context name; NULL in-cluster or when none */
	char *cluster_name;
	char *user_name;
	char *server;		/* https://host:port[/path], no trailing '/' */
	char *namespace;	/* always set */
	bool namespace_explicit;	/* came from -n */
	/* TLS trust: ca_data (PEM bytes) or ca_file; neither: system store */
	char *ca_data;
	size_t ca_len;
	char *ca_file;
	bool insecure;
	char *tls_server_name;
	char *proxy_url;
	/* Client certificate, PEM: data or file */
	char *cert_data, *key_data;
	size_t cert_len, key_len;
	char *cert_file, *key_file;
	/* Bearer token sources */
	char *token;
	char *token_file;
	char *username, *password;
	struct kube_exec *exec;	/* NULL when none */
	int64_t request_timeout_ms;	/* 0: none */
	/* A token file read less than this long ago is not read again
	 * (60, as client-go); 0 re-reads it on every kube_cred_get. */
	int token_file_period_s;
	/* GKE target: the Google client whose access tokens are the bearer
	 * (refreshed as they expire); NULL otherwise */
	struct gcp *gke;		/* borrowed: the process's Google client (kube_gke.c) */
	/* private state: token file cache, exec cache */
	struct kube_cred_cache *cache;
};

/* What to send: at most one of bearer / basic; cert+key may come with either. */
struct kube_cred {
	const char *bearer;	/* token, or NULL */
	const char *username, *password;
	const char *cert_data, *key_data;	/* PEM from an exec plugin */
	size_t cert_len, key_len;
};

int kube_config_load(const struct kube_flags *flags, struct kube_target **out,
		     struct buf *err);
void kube_target_free(struct kube_target *t);
/* Fills *cred for the next request. force: the last request got 401, so
 * re-read token files and re-run exec plugins even when cached. 0 or -1. */
int kube_cred_get(struct kube_target *t, bool force, struct kube_cred *cred,
		  struct buf *err);

#endif
