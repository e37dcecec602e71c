/* kube_cred.c - see kube_cred.h and kube_config.h: kube_cred_get, the cache
 * of token files and exec plugin results, and running exec plugins. */
#include "kube_cred.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "gcp.h"
#include "log.h"
#include "obj.h"

#define EXEC_INFO_ENV "KUBERNETES_EXEC_INFO"
#define EXEC_MAX_STDOUT (16 << 20)

extern char **environ;

static const char install_help[] =
	"\n\nIt looks like you are trying to use a client-go credential plugin "
	"that is not installed.\n\nTo learn more about this feature, consult the "
	"documentation available at:\n      https://kubernetes.io/docs/reference/"
	"access-authn-authz/authentication/#client-go-credential-plugins";

static void wipe_free(char *s, size_t len)
{
	if (!s)
		return;
	explicit_bzero(s, len);
	free(s);
}

void kube_exec_result_release(struct kube_exec_result *r)
{
	if (!r)
		return;
	if (r->token)
		wipe_free(r->token, strlen(r->token));
	wipe_free(r->cert_data, r->cert_len);
	wipe_free(r->key_data, r->key_len);
	memset(r, 0, sizeof(*r));
}

/* Base64 (no line breaks) of n bytes, as Go's encoding/json writes []byte. */
static char *base64_encode(const char *data, size_t n)
{
	struct buf b = BUF_INIT;

	buf_add_base64(&b, data, n);
	return buf_detach(&b, NULL);
}

/* The cluster part of KUBERNETES_EXEC_INFO (client-go's ExecCredential
 * Cluster). Returns a new object or NULL with *err set. */
static cJSON *exec_cluster_info(const struct kube_target *t, struct buf *err)
{
	struct buf ca = BUF_INIT;
	cJSON *c = cJSON_CreateObject();
	char *b64 = NULL;

	cJSON_AddStringToObject(c, "server", t->server ? t->server : "");
	if (t->tls_server_name)
		cJSON_AddStringToObject(c, "tls-server-name", t->tls_server_name);
	if (t->insecure)
		cJSON_AddBoolToObject(c, "insecure-skip-tls-verify", true);
	if (t->ca_data) {
		buf_add(&ca, t->ca_data, t->ca_len);
	} else if (t->ca_file && buf_read_file(&ca, t->ca_file) < 0) {
		buf_set(err, "cannot read certificate-authority '%s': %s",
			t->ca_file, strerror(errno));
		cJSON_Delete(c);
		c = NULL;
		goto out;
	}
	if (ca.len) {
		b64 = base64_encode(ca.data, ca.len);
		cJSON_AddStringToObject(c, "certificate-authority-data", b64);
	}
	if (t->proxy_url)
		cJSON_AddStringToObject(c, "proxy-url", t->proxy_url);
	if (t->exec->cluster_config) {
		cJSON *cfg = cJSON_Parse(t->exec->cluster_config);

		if (cfg)
			cJSON_AddItemToObject(c, "config", cfg);
	}
out:
	free(b64);
	buf_release(&ca);
	return c;
}

static char *exec_info_json(const struct kube_target *t, bool interactive,
			    struct buf *err)
{
	cJSON *o = cJSON_CreateObject(), *spec;
	char *s = NULL;

	cJSON_AddStringToObject(o, "kind", "ExecCredential");
	cJSON_AddStringToObject(o, "apiVersion", t->exec->api_version);
	spec = cJSON_AddObjectToObject(o, "spec");
	if (t->exec->provide_cluster_info) {
		cJSON *c = exec_cluster_info(t, err);

		if (!c)
			goto out;
		cJSON_AddItemToObject(spec, "cluster", c);
	}
	cJSON_AddBoolToObject(spec, "interactive", interactive);
	s = cJSON_PrintUnformatted(o);
	if (!s)
		die("out of memory");
out:
	cJSON_Delete(o);
	return s;
}

static bool env_overridden(const char *entry, char **extra)
{
	size_t n = strcspn(entry, "=");

	if (n == strlen(EXEC_INFO_ENV) && !strncmp(entry, EXEC_INFO_ENV, n))
		return true;
	for (char **e = extra; e && *e; e++)
		if (!strncmp(*e, entry, n) && (*e)[n] == '=')
			return true;
	return false;
}

/* Our environment, exec.env on top, then KUBERNETES_EXEC_INFO. The array
 * is malloc'd; its strings are borrowed except the last, info_entry. */
static char **exec_environment(char **extra, char *info_entry)
{
	size_t n = 0, i = 0;
	char **env;

	for (char **e = environ; e && *e; e++)
		n++;
	for (char **e = extra; e && *e; e++)
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		die("out of memory");
	for (char **e = environ; e && *e; e++)
		if (!env_overridden(*e, extra))
			env[i++] = *e;
	for (char **e = extra; e && *e; e++)
		env[i++] = *e;
	env[i++] = info_entry;
	env[i] = NULL;
	return env;
}

static char **exec_argv(const struct kube_exec *ex)
{
	size_t n = 0;
	char **argv;

	while (ex->args && ex->args[n])
		n++;
	argv = calloc(n + 2, sizeof(*argv));
	if (!argv)
		die("out of memory");
	argv[0] = ex->command;
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = ex->args[i];
	return argv;
}

/* In the child: wire the descriptors and exec; on failure report errno on
 * errfd (close-on-exec, so the parent reads EOF when exec succeeds). */
static noreturn void exec_child(const struct kube_exec *ex, char **argv,
				char **envp, int outfd, int errfd, bool interactive)
{
	int e;

	if (!interactive) {
		int fd = open("/dev/null", O_RDONLY);

		if (fd < 0 || dup2(fd, 0) < 0)
			goto fail;
		if (fd != 0)
			close(fd);
	}
	if (dup2(outfd, 1) < 0)
		goto fail;
	close(outfd);
	signal(SIGPIPE, SIG_DFL);
	execvpe(ex->command, argv, envp);
fail:
	e = errno;
	if (write(errfd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static ssize_t read_full(int fd, void *p, size_t n)
{
	ssize_t r;

	do
		r = read(fd, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Runs the plugin; its stdout into *out. 0, or -1 with *err. */
static int exec_spawn(const struct kube_exec *ex, char **envp, bool interactive,
		      struct buf *out, struct buf *err)
{
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, child_errno = 0;
	int status, rc = -1;
	char **argv = exec_argv(ex);
	char chunk[8192];
	pid_t pid;
	ssize_t r;

	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		buf_set(err, "getting credentials: exec: %s", strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		buf_set(err, "getting credentials: exec: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		exec_child(ex, argv, envp, outp[1], errp[1], interactive);
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	while ((r = read_full(outp[0], chunk, sizeof(chunk))) > 0) {
		if (out->len + (size_t)r <= EXEC_MAX_STDOUT)
			buf_add(out, chunk, (size_t)r);
	}
	if (read_full(errp[0], &child_errno, sizeof(child_errno)) != sizeof(child_errno))
		child_errno = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			buf_set(err, "getting credentials: exec: %s", strerror(errno));
			goto out;
		}
	}
	if (child_errno == ENOENT) {
		buf_set(err, "getting credentials: exec: executable '%s' not found%s",
			ex->command, install_help);
		if (ex->install_hint)
			buf_printf(err, "\n\n%s", ex->install_hint);
	} else if (child_errno) {
		buf_set(err, "getting credentials: exec: cannot run '%s': %s",
			ex->command, strerror(child_errno));
	} else if (WIFSIGNALED(status)) {
		buf_set(err, "getting credentials: exec: executable '%s' was killed by signal %d",
			ex->command, WTERMSIG(status));
	} else if (WEXITSTATUS(status) != 0) {
		buf_set(err, "getting credentials: exec: executable '%s' failed with exit code %d",
			ex->command, WEXITSTATUS(status));
	} else {
		rc = 0;
	}
out:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	free(argv);
	return rc;
}

static char *dup_mem(const char *s, size_t *len)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);

	if (!d)
		die("out of memory");
	memcpy(d, s, n + 1);
	if (len)
		*len = n;
	return d;
}

/* The reply held secrets: wipe every string of the parsed copy. */
static void wipe_strings(cJSON *o)
{
	for (cJSON *c = o ? o->child : NULL; c; c = c->next) {
		if (cJSON_IsString(c) && c->valuestring)
			explicit_bzero(c->valuestring, strlen(c->valuestring));
		wipe_strings(c);
	}
}

/* Checks the plugin's reply and takes its credentials into *res. */
static int exec_parse_reply(const struct kube_exec *ex, const struct buf *reply,
			    struct kube_exec_result *res, struct buf *err)
{
	cJSON *o = cJSON_ParseWithLength(reply->data ? reply->data : "", reply->len);
	const char *av, *kind, *token, *cert, *key, *exp;
	const cJSON *status;
	int rc = -1;

	if (!cJSON_IsObject(o)) {
		buf_set(err, "getting credentials: decoding stdout of '%s': not a JSON ExecCredential",
			ex->command);
		goto out;
	}
	av = obj_str(o, "apiVersion");
	kind = obj_str(o, "kind");
	if (!av || strcmp(av, ex->api_version)) {
		buf_set(err, "exec plugin is configured to use API version %s, plugin returned version %s",
			ex->api_version, av ? av : "(none)");
		goto out;
	}
	if (!kind || strcmp(kind, "ExecCredential")) {
		buf_set(err, "getting credentials: exec plugin '%s' returned kind \"%s\", not ExecCredential",
			ex->command, kind ? kind : "");
		goto out;
	}
	status = cJSON_GetObjectItemCaseSensitive(o, "status");
	if (!cJSON_IsObject(status)) {
		buf_set(err, "exec plugin didn't return a status field");
		goto out;
	}
	token = obj_str(status, "token");
	cert = obj_str(status, "clientCertificateData");
	key = obj_str(status, "clientKeyData");
	if (token && !*token)
		token = NULL;
	if (cert && !*cert)
		cert = NULL;
	if (key && !*key)
		key = NULL;
	if (!token && !cert && !key) {
		buf_set(err, "exec plugin didn't return a token or cert/key pair");
		goto out;
	}
	if (!cert != !key) {
		buf_set(err, "exec plugin returned only certificate or private key, not both");
		goto out;
	}
	exp = obj_str(status, "expirationTimestamp");
	if (exp && *exp && rfc3339_parse(exp, &res->expires) < 0) {
		buf_set(err, "exec plugin '%s' returned an invalid expirationTimestamp '%s'",
			ex->command, exp);
		goto out;
	}
	if (token)
		res->token = dup_mem(token, NULL);
	if (cert) {
		res->cert_data = dup_mem(cert, &res->cert_len);
		res->key_data = dup_mem(key, &res->key_len);
	}
	rc = 0;
out:
	wipe_strings(o);
	cJSON_Delete(o);
	if (rc < 0)
		kube_exec_result_release(res);
	return rc;
}

int kube_exec_run(const struct kube_target *t, struct kube_exec_result *out,
		  struct buf *err)
{
	const struct kube_exec *ex = t->exec;
	struct buf info = BUF_INIT, reply = BUF_INIT;
	const char *mode = ex->interactive_mode ? ex->interactive_mode : "IfAvailable";
	bool tty = isatty(0), interactive;
	char **envp = NULL;
	char *json = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!strcmp(mode, "Always") && !tty) {
		buf_set(err, "exec plugin '%s' needs an interactive terminal (interactiveMode: Always), but stdin is not one",
			ex->command);
		goto out;
	}
	interactive = strcmp(mode, "Never") && tty;
	if (!(json = exec_info_json(t, interactive, err)))
		goto out;
	buf_printf(&info, "%s=%s", EXEC_INFO_ENV, json);
	envp = exec_environment(ex->env, info.data);
	logv(4, "running exec credential plugin '%s' (%s)", ex->command, ex->api_version);
	if (exec_spawn(ex, envp, interactive, &reply, err) < 0)
		goto out;
	rc = exec_parse_reply(ex, &reply, out, err);
out:
	if (reply.data)
		explicit_bzero(reply.data, reply.len);
	buf_release(&reply);
	buf_release(&info);
	free(envp);
	free(json);
	return rc;
}

struct kube_cred_cache {
	char *file_token;		/* the token file's text, trimmed */
	struct timespec file_read_at;	/* CLOCK_MONOTONIC */
	bool exec_valid;
	struct kube_exec_result exec;
	struct buf gke_token;		/* the last Google access token */
};

static void wipe_buf(struct buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->len);
	buf_release(b);
}

void kube_cred_cache_free(struct kube_cred_cache *c)
{
	if (!c)
		return;
	if (c->file_token)
		wipe_free(c->file_token, strlen(c->file_token));
	kube_exec_result_release(&c->exec);
	wipe_buf(&c->gke_token);
	free(c);
}

/* Reads the token file when it was never read, when force, or when the
 * last read is t->token_file_period_s old. A failed re-read keeps the last
 * token (as client-go's cached file token source); a failed first read or
 * an empty file is an error. */
static int token_file_refresh(struct kube_target *t, bool force, struct buf *err)
{
	struct kube_cred_cache *c = t->cache;
	struct buf b = BUF_INIT;
	struct timespec now;
	size_t s = 0, e;
	int rc = -1;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (c->file_token && !force &&
	    now.tv_sec - c->file_read_at.tv_sec < t->token_file_period_s)
		return 0;
	if (buf_read_file(&b, t->token_file) < 0) {
		if (c->file_token) {
			logv(4, "cannot re-read token file '%s': %s; using the last token",
			     t->token_file, strerror(errno));
			rc = 0;
		} else {
			buf_set(err, "cannot read token file '%s': %s", t->token_file,
				strerror(errno));
		}
		goto out;
	}
	e = b.len;
	while (s < e && strchr(" \t\r\n", b.data[s]))
		s++;
	while (e > s && strchr(" \t\r\n", b.data[e - 1]))
		e--;
	if (e == s) {
		buf_set(err, "read empty token from file '%s'", t->token_file);
		goto out;
	}
	if (c->file_token)
		wipe_free(c->file_token, strlen(c->file_token));
	if (!(c->file_token = malloc(e - s + 1)))
		die("out of memory");
	memcpy(c->file_token, b.data + s, e - s);
	c->file_token[e - s] = '\0';
	c->file_read_at = now;
	logv(6, "read token file '%s'", t->token_file);
	rc = 0;
out:
	if (b.data)
		explicit_bzero(b.data, b.len);
	buf_release(&b);
	return rc;
}

/* A Google access token for a GKE target: gcp caches it until shortly
 * before it expires and fetches a new one then (a token file is read
 * again each time, so force needs nothing more). */
static int gke_refresh(struct kube_target *t, struct buf *err)
{
	struct kube_cred_cache *c = t->cache;
	struct buf tok = BUF_INIT;

	if (gcp_access_token(t->gke, &tok, err) < 0) {
		wipe_buf(&tok);
		return -1;
	}
	wipe_buf(&c->gke_token);
	c->gke_token = tok;
	return 0;
}

/* Runs the exec plugin when nothing is cached, the cached credential has
 * expired, or force. */
static int exec_refresh(struct kube_target *t, bool force, struct buf *err)
{
	struct kube_cred_cache *c = t->cache;
	struct kube_exec_result r;

	if (c->exec_valid && !force &&
	    (!c->exec.expires || (int64_t)time(NULL) < c->exec.expires))
		return 0;
	if (kube_exec_run(t, &r, err) < 0)
		return -1;
	kube_exec_result_release(&c->exec);
	c->exec = r;
	c->exec_valid = true;
	return 0;
}

int kube_cred_get(struct kube_target *t, bool force, struct kube_cred *cred,
		  struct buf *err)
{
	memset(cred, 0, sizeof(*cred));
	if (!t->cache && !(t->cache = calloc(1, sizeof(*t->cache))))
		die("out of memory");
	if (t->gke) {
		if (gke_refresh(t, err) < 0)
			return -1;
		cred->bearer = buf_str(&t->cache->gke_token);
	} else if (t->username) {
		cred->username = t->username;
		cred->password = t->password ? t->password : "";
	} else if (t->token_file) {
		/* with a token as well, the file wins when it can be read */
		if (token_file_refresh(t, force, err) < 0 && !t->token)
			return -1;
		cred->bearer = t->cache->file_token ? t->cache->file_token : t->token;
	} else if (t->token) {
		cred->bearer = t->token;
	} else if (t->exec) {
		if (exec_refresh(t, force, err) < 0)
			return -1;
		cred->bearer = t->cache->exec.token;
		cred->cert_data = t->cache->exec.cert_data;
		cred->cert_len = t->cache->exec.cert_len;
		cred->key_data = t->cache->exec.key_data;
		cred->key_len = t->cache->exec.key_len;
	}
	return 0;
}
