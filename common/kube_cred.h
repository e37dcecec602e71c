/* kube_cred.h - what kube_config.c and kube_cred.c share (private to the
 * kube_config module; callers use kube_config.h). kube_cred.c holds
 * kube_cred_get(), the cache of token files and exec plugin results, and
 * the runner of client-go credential plugins (a kubeconfig user's `exec`).
 *
 * kube_exec_run() runs the plugin of t->exec once: fork + execvpe, no shell;
 * a command without '/' is looked up in our PATH. The environment is ours
 * with exec.env on top and KUBERNETES_EXEC_INFO set to
 *   {"kind":"ExecCredential","apiVersion":<exec.apiVersion>,
 *    "spec":{"cluster":{...},"interactive":<bool>}}
 * (spec.cluster only with provideClusterInfo: server, tls-server-name,
 * insecure-skip-tls-verify, certificate-authority-data, proxy-url, config).
 * stdin is ours only when the plugin may be interactive (interactiveMode
 * IfAvailable or Always) and stdin is a terminal, else /dev/null;
 * interactiveMode Always with a stdin that is not a terminal fails before
 * anything runs. stderr passes through; stdout is read whole and must be a
 * JSON ExecCredential of the configured apiVersion with status.token or
 * status.clientCertificateData + status.clientKeyData, and optionally
 * status.expirationTimestamp (RFC 3339). Nothing the plugin prints on stdout
 * is ever logged or put into an error message.
 *
 * Ownership: the strings of a kube_exec_result are malloc'd; release them
 * with kube_exec_result_release(), which wipes secrets before freeing.
 */
#ifndef WLKIT_KUBE_CRED_H
#define WLKIT_KUBE_CRED_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "kube_config.h"

struct kube_exec_result {
	char *token;			/* NULL when the plugin gave a cert/key pair */
	char *cert_data, *key_data;	/* PEM, NULL when none */
	size_t cert_len, key_len;
	int64_t expires;		/* Unix seconds; 0: does not expire */
};

/* Runs t->exec (which must be set). 0, or -1 with the message in *err. */
int kube_exec_run(const struct kube_target *t, struct kube_exec_result *out,
		  struct buf *err);
void kube_exec_result_release(struct kube_exec_result *r);

/* Frees the cache of t->cache (wiping what it holds); NULL is fine. */
void kube_cred_cache_free(struct kube_cred_cache *c);

#endif
