/* store.c - finds the results store that setup recorded: the ConfigMap
 * VAST_STORE_CONFIGMAP (kind, cluster endpoint, region) and the Secret
 * VAST_STORE_SECRET (access-key, secret-key). How this machine reaches it:
 * --s3-endpoint when given; an external store at its recorded URL; an
 * in-cluster MinIO through `kubectl port-forward svc/robovast :9000` that
 * store_open starts (the real kubectl, with the same kubeconfig flags) and
 * store_free stops.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "obj.h"
#include "vastrun.h"

#define PF_WAIT_MS 30000

extern char **environ;

static void kerr_to(struct buf *err, const struct kube_err *ke)
{
	buf_reset(err);
	kube_err_format(ke, err);
}

/* The Secret's data[key], base64-decoded, into a new string; NULL if absent. */
static char *secret_value(const cJSON *secret, const char *key)
{
	const cJSON *data = obj_get(secret, "data");
	const cJSON *v = data ? cJSON_GetObjectItemCaseSensitive(data, key) : NULL;
	struct buf out = BUF_INIT;

	if (!cJSON_IsString(v))
		return NULL;
	if (buf_add_unbase64(&out, v->valuestring, strlen(v->valuestring)) < 0) {
		buf_release(&out);
		return NULL;
	}
	return buf_detach(&out, NULL);
}

static char *cm_value(const cJSON *cm, const char *key)
{
	const cJSON *data = obj_get(cm, "data");
	const cJSON *v = data ? cJSON_GetObjectItemCaseSensitive(data, key) : NULL;

	return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

static void add_flag(char **argv, int *n, const char *name, const char *value)
{
	struct buf b = BUF_INIT;

	if (!value)
		return;
	buf_printf(&b, "--%s=%s", name, value);
	argv[(*n)++] = buf_detach(&b, NULL);
}

/* kubectl writes "Forwarding from 127.0.0.1:PORT -> 9000" and then a line
 * per connection on stdout; stdout is an unlinked temporary file (not a
 * pipe, which would have to be drained for as long as kubectl runs). Reads
 * it until the line shows, kubectl exits or PF_WAIT_MS pass. Returns the
 * port or -1 with *err. */
static int pf_read_port(int fd, pid_t pid, struct buf *err)
{
	struct buf out = BUF_INIT;
	int port = -1, waited = 0, st;

	for (;;) {
		char chunk[512];
		const char *m;
		ssize_t n = pread(fd, chunk, sizeof(chunk), (off_t)out.len);

		if (n > 0) {
			buf_add(&out, chunk, (size_t)n);
			m = strstr(buf_str(&out), "Forwarding from 127.0.0.1:");
			if (m && strchr(m, '\n')) {
				port = atoi(m + strlen("Forwarding from 127.0.0.1:"));
				if (port <= 0 || port > 65535) {
					buf_set(err, "cannot read the port of kubectl port-forward");
					port = -1;
				}
				goto out;
			}
			continue;
		}
		if (waitpid(pid, &st, WNOHANG) == pid) {
			buf_set(err, "kubectl port-forward to 'svc/robovast' exited with %s %d",
				WIFEXITED(st) ? "status" : "signal",
				WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			goto out;
		}
		if (waited >= PF_WAIT_MS) {
			buf_set(err, "kubectl port-forward to 'svc/robovast' did not start within %ds",
				PF_WAIT_MS / 1000);
			kill(pid, SIGTERM);
			waitpid(pid, NULL, 0);
			goto out;
		}
		usleep(20000);
		waited += 20;
	}
out:
	buf_release(&out);
	return port;
}

/* Starts kubectl port-forward to the store's Service; st->pf_pid and
 * st->endpoint are set on success. */
static int port_forward(const struct kube_flags *f, const char *ns,
			struct vast_store *st, struct buf *err)
{
	char *argv[24] = { 0 };
	int n = 0, fd = -1, rc = -1, port, i;
	posix_spawn_file_actions_t fa;
	pid_t pid = 0;
	struct buf e = BUF_INIT;

	argv[n++] = strdup("kubectl");
	argv[n++] = strdup("port-forward");
	argv[n++] = strdup("svc/robovast");
	argv[n++] = strdup(":9000");
	add_flag(argv, &n, "namespace", ns);
	add_flag(argv, &n, "kubeconfig", f->kubeconfig);
	add_flag(argv, &n, "context", f->context);
	add_flag(argv, &n, "cluster", f->cluster);
	add_flag(argv, &n, "user", f->user);
	add_flag(argv, &n, "server", f->server);
	add_flag(argv, &n, "token", f->token);
	add_flag(argv, &n, "certificate-authority", f->certificate_authority);
	add_flag(argv, &n, "client-certificate", f->client_certificate);
	add_flag(argv, &n, "client-key", f->client_key);
	add_flag(argv, &n, "tls-server-name", f->tls_server_name);
	add_flag(argv, &n, "request-timeout", f->request_timeout);
	if (f->insecure_skip_tls_verify)
		argv[n++] = strdup("--insecure-skip-tls-verify=true");
	for (i = 0; i < n; i++)
		if (!argv[i])
			die("out of memory");
	if ((fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0) {
		buf_set(err, "cannot make a temporary file in '/tmp': %s", strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fd, 1);
	if (log_verbosity() < 4)
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	i = posix_spawnp(&pid, "kubectl", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (i) {
		buf_set(err, "cannot run 'kubectl' for the port-forward to the results store: %s "
			"(or give --s3-endpoint)", strerror(i));
		goto out;
	}
	port = pf_read_port(fd, pid, &e);
	if (port < 0) {
		buf_set(err, "%s; give --s3-endpoint if the store is reachable otherwise",
			buf_str(&e));
		goto out;
	}
	buf_reset(&e);
	buf_printf(&e, "http://127.0.0.1:%d", port);
	st->endpoint = buf_detach(&e, NULL);
	st->pf_pid = (int)pid;
	logv(4, "port-forward to svc/robovast on %s (pid %d)", st->endpoint, (int)pid);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	for (i = 0; i < n; i++)
		free(argv[i]);
	buf_release(&e);
	return rc;
}

int store_open(struct kube *k, const struct kube_flags *flags, const char *ns,
	       const char *s3_endpoint, struct vast_store *st, struct buf *err)
{
	struct kube_err ke = KUBE_ERR_INIT;
	cJSON *cm = NULL, *secret = NULL;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (!ns)
		ns = kube_namespace(k);
	if (kube_get(k, "v1", "ConfigMap", ns, VAST_STORE_CONFIGMAP, &cm, &ke) < 0) {
		if (ke.code == 404)
			buf_set(err, "no results store in namespace '%s': run `kubectl vastrun setup` first",
				ns);
		else
			kerr_to(err, &ke);
		goto out;
	}
	if (kube_get(k, "v1", "Secret", ns, VAST_STORE_SECRET, &secret, &ke) < 0) {
		if (ke.code == 404)
			buf_set(err, "the results store of namespace '%s' has no Secret '%s': "
				"run `kubectl vastrun setup` again", ns, VAST_STORE_SECRET);
		else
			kerr_to(err, &ke);
		goto out;
	}
	st->kind = cm_value(cm, "kind");
	st->cluster_endpoint = cm_value(cm, "endpoint");
	st->region = cm_value(cm, "region");
	st->access_key = secret_value(secret, "access-key");
	st->secret_key = secret_value(secret, "secret-key");
	if (!st->kind || !st->cluster_endpoint || !st->access_key || !st->secret_key) {
		buf_set(err, "the results store record '%s' in namespace '%s' is incomplete: "
			"run `kubectl vastrun setup` again", VAST_STORE_CONFIGMAP, ns);
		goto out;
	}
	if (!st->region && !(st->region = strdup("us-east-1")))
		die("out of memory");
	if (s3_endpoint) {
		if (!(st->endpoint = strdup(s3_endpoint)))
			die("out of memory");
	} else if (strcmp(st->kind, "minio")) {
		if (!(st->endpoint = strdup(st->cluster_endpoint)))
			die("out of memory");
	} else if (port_forward(flags, ns, st, err) < 0) {
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		store_free(st);
	cJSON_Delete(cm);
	cJSON_Delete(secret);
	kube_err_release(&ke);
	return rc;
}

void store_free(struct vast_store *st)
{
	if (st->pf_pid > 0) {
		kill(st->pf_pid, SIGTERM);
		waitpid(st->pf_pid, NULL, 0);
	}
	free(st->kind);
	free(st->endpoint);
	free(st->cluster_endpoint);
	free(st->region);
	free(st->access_key);
	free(st->secret_key);
	memset(st, 0, sizeof(*st));
}
