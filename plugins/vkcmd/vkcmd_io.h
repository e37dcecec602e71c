/* vkcmd_io.h - the parts of kubectl-vkcmd that touch files and sockets for
 * a pod: container logs (written by the pod supervisor, served by the kubelet
 * API) and volumes (materialised per pod, mounted with bubblewrap).
 *
 * On-disk layout under the node's work dir (mode 0700, owned by the agent):
 *   pods/<ns>_<pod>_<uid>/                the pod's directory
 *   pods/<ns>_<pod>_<uid>/volumes/<vol>/  a materialised volume
 *   pods/<ns>_<pod>_<uid>/logs/<ctr>/<restart>.log   CRI-style log lines:
 *       "<RFC3339Nano> <stdout|stderr> <F|P> <text>\n"
 *   pods/<ns>_<pod>_<uid>/logs/<ctr>/<restart>.done  exists once that run ended
 *
 * Ownership: *_open, *_start, *_prepare return objects the caller frees with the
 * matching close/stop/free. Strings passed in are copied. 0 or -1 (+ *err).
 *
 * Files: logs.c (writer), kubelet.c + kubelet_logs.c (+ kubelet_int.h, the
 * API), volumes.c + downward.c (volumes), bwrap.c (mounts). Tested end to
 * end by tests/vkcmd-io.bats through tests/vkcmd-io/vkio.c.
 *
 * Notes for the agent (agent.c, pods.c):
 * - The kubelet API has no authentication unless
 *   kubelet_server_require_client_ca() is called: a --listen default of
 *   0.0.0.0 exposes every pod's logs to the network. Prefer 127.0.0.1 (the
 *   local control plane) or a --client-ca-file flag that calls it.
 * - kubectl logs -f ends when ctr_log_close() writes the .done marker:
 *   close the log when the run ends (also on a start error).
 * - Tokens expire (kube-api-access asks for 3607 s): call
 *   volumes_refresh_tokens() when its *next_ms comes.
 */
#ifndef WLKIT_VKCMD_IO_H
#define WLKIT_VKCMD_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "kube.h"

/* ---- container logs (logs.c) ---- */

/* Lines are "<ts> <stdout|stderr> <F|P> <text>\n"; ts is UTC with nine
 * fraction digits ("2026-11-22T17:04:05.123456789Z", fixed width, so times
 * compare as strings). A line without its newline when the run ends is
 * written as an F line. One writer per log: not thread-safe. The log and
 * the .done marker are 0600, the logs/<ctr>/ directories 0700. Opening a
 * run again (same restart number) appends and removes its .done marker. */
struct ctr_log;
/* Opens (creates) the log of run `restart` of container `ctr`. */
int ctr_log_open(const char *pod_dir, const char *ctr, int restart,
		 struct ctr_log **out, struct buf *err);
/* Appends bytes read from the process (stream 1 stdout, 2 stderr). Complete
 * lines are written at once with their timestamp; a partial line is held
 * until its newline or 16 KiB (then written as a P(artial) line). */
void ctr_log_write(struct ctr_log *l, int stream, const char *data, size_t len);
/* Flushes a held partial line, writes the .done marker and frees l. */
void ctr_log_close(struct ctr_log *l);

/* Helpers the io files share: mkdir -p (0 or -1 + *err), and the log
 * timestamp of now appended to out. */
int vk_mkdirs(const char *path, mode_t mode, struct buf *err);
void vk_log_timestamp(struct buf *out);
/* Writes dir/rel (rel relative, no "..": parents made 0755) anew with
 * exactly `mode` (umask does not apply), through a temporary file renamed
 * over it (readers see the old or the new content). 0 or -1 + *err. */
int vk_write_file(const char *dir, const char *rel, const char *data,
		  size_t len, mode_t mode, struct buf *err);

/* ---- the kubelet HTTPS API (kubelet.c) ---- */

struct kubelet_server;
/* Listens on addr:port (port 0: any free port) with TLS: cert/key files, or
 * a self-signed certificate made at start (OpenSSL) for the node's name and
 * addresses when cert_file is NULL. Serves, from a thread of its own,
 *   GET /containerLogs/{ns}/{pod}/{container}?follow&tailLines&limitBytes
 *       &sinceSeconds&timestamps&previous
 *   GET /healthz
 * reading the layout above under work_dir (the newest pod dir for ns/pod).
 * follow streams new lines as they are written (inotify, no polling) and
 * ends when the run's .done marker appears, the client goes away or the
 * server stops. timestamps=false prints the text only (P pieces joined);
 * timestamps=true prefixes each line with its time. previous: the run
 * before the newest. Errors are text/plain, as a kubelet words them:
 * 404 'pod "x" does not exist', 404 'container "c" not found in pod "x"',
 * 400 'previous terminated container "c" in pod "x" not found', 400 for a
 * bad parameter. A log is streamed through a fixed 64 KiB buffer and
 * tailLines reads back from the end, so memory does not grow with it.
 * One thread per connection, at most 64 at once (more are closed); these
 * threads and the server's block every signal. stop waits for them. */
int kubelet_server_start(const char *addr, int port, const char *cert_file,
			 const char *key_file, const char *node_name,
			 const char *work_dir, struct kubelet_server **out,
			 struct buf *err);
/* From now on every connection must present a client certificate signed
 * by a CA in ca_file (as a kubelet run with --client-ca-file; the API
 * server presents its --kubelet-client-certificate). Without this call the
 * API has NO authentication: anyone who reaches addr:port reads every
 * pod's logs, so listen on loopback (the local control plane, whose log
 * proxy sends no credentials) or require a client CA. Call it right after
 * start, before the Node advertises the port. 0 or -1 + *err. */
int kubelet_server_require_client_ca(struct kubelet_server *s, const char *ca_file,
				     struct buf *err);
int kubelet_server_port(const struct kubelet_server *s);
void kubelet_server_stop(struct kubelet_server *s);

/* ---- volumes (volumes.c) ---- */

struct mount {
	char *src;	/* host path */
	char *dst;	/* path inside the pod's view */
	bool readonly;
};

struct mount_list {
	struct mount *items;
	size_t n;
};
void mount_list_release(struct mount_list *m);

struct pod_volumes;
/* Materialises every volume of the pod under pod_dir/volumes/: emptyDir,
 * configMap and secret (items, defaultMode/mode, optional), downwardAPI,
 * projected (serviceAccountToken through TokenRequest with its audience and
 * expirationSeconds, configMap, secret, downwardAPI), hostPath (checked,
 * not copied). The kube connection is borrowed.
 * Modes as Kubernetes: files 0644 unless defaultMode/mode says otherwise
 * (secrets too), directories inside a volume 0755, emptyDir 0777, all
 * under the 0700 pod dir. A projected volume with a token also gets
 * ca.crt (the agent's kubeconfig CA when no source gives one, and in place
 * of a missing kube-root-ca.crt ConfigMap) and namespace, as
 * kube-api-access has. Any other volume type is an error naming it; the
 * error message names the volume. */
int volumes_prepare(struct kube *k, const cJSON *pod, const char *pod_dir,
		    struct pod_volumes **out, struct buf *err);
/* The mounts of one container (volumeMounts: mountPath, subPath, readOnly).
 * configMap/secret/downwardAPI/projected mounts are read-only always. A
 * missing subPath is made in an emptyDir or hostPath, an error elsewhere;
 * subPathExpr is refused. */
int volumes_container_mounts(const struct pod_volumes *v, const cJSON *container,
			     struct mount_list *out, struct buf *err);
void volumes_free(struct pod_volumes *v);
/* Renews the pod's projected service-account tokens that are past 80% of
 * their lifetime, as a kubelet does (the file is replaced by a rename, so
 * the running processes read the new token through their mount). Call it
 * when *next_ms (CLOCK_MONOTONIC milliseconds, 0: the pod has no token) is
 * reached. A failed renewal is retried a minute later; 0 or -1 + *err. */
int volumes_refresh_tokens(struct kube *k, struct pod_volumes *v, int64_t *next_ms,
			   struct buf *err);
/* Writes downward API items (path, fieldRef metadata.name|namespace|uid|
 * labels|annotations|labels['k']|annotations['k'], resourceFieldRef with
 * containerName, resource, divisor; mode) of pod into dir (downward.c).
 * Labels and annotations are written as Kubernetes does: sorted k="v"
 * lines, values Go-quoted. A limit the container does not set is the
 * node's capacity (CPUs, memory of this host). */
int downward_items(const cJSON *pod, const cJSON *items, const char *dir,
		   mode_t def_mode, struct buf *err);

/* True when bubblewrap (bwrap) is usable here (found on PATH and able to
 * create a mount namespace: checked once by running it). */
bool bwrap_available(void);
/* Prepends to argv (a NULL-terminated array, borrowed) the bwrap command
 * that shows the host's filesystem with the mounts on top (binds, ro-binds),
 * --chdir workdir when given, --die-with-parent, and returns a new
 * NULL-terminated array (free each element and the array with
 * argv_free()); never NULL. Mount points and a workdir missing on the host
 * are made in the new mount namespace only (the deepest existing directory
 * above them is covered with a tmpfs and its entries bound back), never in
 * the host's tree. */
char **bwrap_wrap(const struct mount_list *m, const char *workdir, char *const *argv);
void argv_free(char **argv);

#endif
