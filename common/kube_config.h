/* kube_config.h - where the cluster is and who we are, exactly as kubectl
 * decides it (see shared/reference/kubernetes-client.md).
 *
 * Sources, in order: --kubeconfig FILE (must exist); else KUBECONFIG split on
 * ':' (empty entries, duplicates and missing files skipped; for every value
 * and map entry the first file that sets it wins); else ~/.kube/config; else
 * in-cluster (KUBERNETES_SERVICE_HOST + KUBERNETES_SERVICE_PORT and the
 * service-account dir, /var/run/secrets/kubernetes.io/serviceaccount or
 * $WLKIT_SERVICEACCOUNT_DIR). Kubeconfigs are YAML (read with yaml.h).
 * Context: --context, else current-context; --cluster/--user replace the
 * context's; --server, --token, --certificate-authority and
 * --insecure-skip-tls-verify replace single fields. Namespace: -n, else the
 * context's, else in-cluster `namespace` file, else "default". Relative paths
 * (certificate-authority, client-certificate, client-key, tokenFile,
 * exec.command when it contains a '/') resolve against the directory of the
 * file that set them.
 *
 * Credentials: token; tokenFile (re-read on every kube_cred_get after 60 s,
 * as projected tokens rotate; in-cluster tokens likewise); username/password
 * (basic); client certificate and key (file or base64 data); exec plugins
 * (client.authentication.k8s.io/v1 and v1beta1) run with
 * KUBERNETES_EXEC_INFO, the configured env on top of ours, and stdin
 * inherited only when the plugin may be interactive and stdin is a terminal;
 * `interactiveMode: Always` fails when stdin is not a terminal (it carries the
 * stream); the result is cached until status.expirationTimestamp; after a 401
 * the caller asks again with force=true and the plugin is re-run once.
 * The plugin's stderr passes through; its stdout is never printed.
 *
 * Ownership: kube_config_load() returns a struct kube_target the caller frees
 * with kube_target_free(); every string in it is owned by it. Credentials
 * returned by kube_cred_get() are borrowed from the target and valid until
 * the next kube_cred_get() call or kube_target_free(). Secrets (tokens,
 * passwords, keys) are never logged by this module.
 */
#ifndef WLKIT_KUBE_CONFIG_H
#define WLKIT_KUBE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

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
	char *source;		/* "kubeconfig '/x'" or "in-cluster config": for messages */
	char *context;		/* context name, NULL in-cluster */
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
