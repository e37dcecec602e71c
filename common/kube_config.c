/* kube_config.c - see kube_config.h. Loading: files, merging, the chosen
 * context, flag overrides and the checks kubectl makes (ConfirmUsable);
 * kube_cred.c keeps the credentials fresh. */
#include "kube_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "gcp.h"
#include "kube_config_file.h"
#include "kube_cred.h"
#include "log.h"
#include "obj.h"

#define SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"
#define EMPTY_CONFIG "invalid configuration: no configuration has been provided, " \
	"try setting KUBERNETES_MASTER environment variable"

static bool nonempty(const char *s)
{
	return s && *s;
}

/* "invalid configuration: E" or "invalid configuration: [E1, E2]". */
static void errs_format(const cJSON *errs, struct buf *err)
{
	int n = cJSON_GetArraySize(errs), i = 0;
	const cJSON *e;

	buf_set(err, "invalid configuration: %s", n > 1 ? "[" : "");
	cJSON_ArrayForEach(e, errs)
		buf_printf(err, "%s%s", i++ ? ", " : "", e->valuestring);
	if (n > 1)
		buf_addch(err, ']');
}

static void drop(char **s)
{
	kc_wipe_str(*s);
	*s = NULL;
}

static void drop_data(char **data, size_t *len)
{
	if (*data)
		explicit_bzero(*data, *len);
	free(*data);
	*data = NULL;
	*len = 0;
}

static void replace(char **field, const char *value)
{
	kc_wipe_str(*field);
	*field = kc_strdup(value);
}

/* The flags that replace single fields, as client-go's ConfigOverrides. */
static void apply_overrides(const struct kube_flags *fl, struct kube_target *t)
{
	if (nonempty(fl->server))
		replace(&t->server, fl->server);
	/* --server drops the kubeconfig's tls-server-name unless given too */
	if (nonempty(fl->server) || nonempty(fl->tls_server_name))
		replace(&t->tls_server_name, nonempty(fl->tls_server_name) ?
			fl->tls_server_name : NULL);
	if (fl->insecure_skip_tls_verify || nonempty(fl->certificate_authority)) {
		t->insecure = fl->insecure_skip_tls_verify;
		replace(&t->ca_file, nonempty(fl->certificate_authority) ?
			fl->certificate_authority : NULL);
		drop_data(&t->ca_data, &t->ca_len);
	}
	if (nonempty(fl->token)) {
		/* --token replaces every other bearer source */
		replace(&t->token, fl->token);
		replace(&t->token_file, NULL);
	}
	if (nonempty(fl->client_certificate)) {
		replace(&t->cert_file, fl->client_certificate);
		drop_data(&t->cert_data, &t->cert_len);
	}
	if (nonempty(fl->client_key)) {
		replace(&t->key_file, fl->client_key);
		drop_data(&t->key_data, &t->key_len);
	}
}

static void check_readable(cJSON *errs, const char *what, const char *path,
			   const char *name)
{
	FILE *f = fopen(path, "r");

	if (f)
		fclose(f);
	else
		kc_errs_add(errs, "unable to read %s '%s' for %s: %s", what, path, name,
			    strerror(errno));
}

/* kubectl's ConfirmUsable for the chosen user and cluster. */
static void validate(const struct kube_target *t, bool cluster_empty, cJSON *errs)
{
	const char *user = t->user_name ? t->user_name : "";
	const char *cluster = t->cluster_name ? t->cluster_name : "";
	bool token = nonempty(t->token), basic = t->username || t->password;

	if (t->cert_file || t->cert_data) {
		if (t->cert_file && t->cert_data)
			kc_errs_add(errs, "client-cert-data and client-cert are both specified for %s. client-cert-data will override", user);
		if (t->key_file && t->key_data)
			kc_errs_add(errs, "client-key-data and client-key are both specified for %s; client-key-data will override", user);
		if (!t->key_file && !t->key_data)
			kc_errs_add(errs, "client-key-data or client-key must be specified for %s to use the clientCert authentication method", user);
		if (t->cert_file)
			check_readable(errs, "client-cert", t->cert_file, user);
		if (t->key_file)
			check_readable(errs, "client-key", t->key_file, user);
	}
	if (token && basic)
		kc_errs_add(errs, "more than one authentication method found for %s; found [token basicAuth], only one is allowed", user);
	if (cluster_empty)
		return;
	if (!nonempty(t->server)) {
		if (*cluster)
			kc_errs_add(errs, "no server found for cluster \"%s\"", cluster);
		else
			kc_errs_add(errs, "default cluster has no server defined");
	}
	if (t->ca_file && t->ca_data)
		kc_errs_add(errs, "certificate-authority-data and certificate-authority are both specified for %s. certificate-authority-data will override", cluster);
	if (t->ca_file)
		check_readable(errs, "certificate-authority", t->ca_file, cluster);
}

/* The kubeconfig files and the flags into t. 0; 1 when they configure
 * nothing (kubectl's empty config: try in-cluster); -1 with *err. */
static int from_kubeconfig(const struct kube_flags *fl, const struct kc_files *fs,
			   struct kube_target *t, struct buf *err)
{
	const char *ctx_name = nonempty(fl->context) ? fl->context : kc_current_context(fs);
	const cJSON *ctx = NULL, *cl = NULL, *us = NULL;
	const struct kc_file *ctx_f, *cl_f = NULL, *us_f = NULL, *src;
	cJSON *errs = cJSON_CreateArray();
	char *exec_cfg = NULL;
	bool cluster_empty;
	int rc = -1;

	ctx_f = kc_find(fs, "contexts", "context", ctx_name, &ctx);
	t->user_name = nonempty(fl->user) ? kc_strdup(fl->user) : kc_field(ctx, "user");
	t->cluster_name = nonempty(fl->cluster) ? kc_strdup(fl->cluster) : kc_field(ctx, "cluster");
	us_f = kc_find(fs, "users", "user", t->user_name, &us);
	cl_f = kc_find(fs, "clusters", "cluster", t->cluster_name, &cl);
	if (nonempty(fl->user) && !us_f) {
		buf_set(err, "auth info \"%s\" does not exist", fl->user);
		goto out;
	}
	if (ctx_name && !ctx_f)
		kc_errs_add(errs, "context was not found for specified context: %s", ctx_name);
	t->context = ctx_f ? kc_strdup(ctx_name) : NULL;
	t->namespace = kc_field(ctx, "namespace");
	src = ctx_f ? ctx_f : cl_f ? cl_f : us_f;
	if (src) {
		struct buf b = BUF_INIT;

		buf_printf(&b, "kubeconfig '%s'", src->path);
		t->source = buf_detach(&b, NULL);
	} else {
		t->source = kc_strdup("command-line flags");
	}
	if (kc_cluster_load(cl, cl_f, t, &exec_cfg, err) < 0 ||
	    kc_user_load(us, us_f, t, errs, err) < 0)
		goto out;
	if (t->exec) {
		t->exec->cluster_config = exec_cfg;
		exec_cfg = NULL;
	}
	apply_overrides(fl, t);
	/* no cluster at all: kubectl would fall back to its default server
	 * (localhost:8080); we look for in-cluster config, else say so */
	cluster_empty = !t->cluster_name && !nonempty(fl->server) &&
			!nonempty(fl->certificate_authority) &&
			!fl->insecure_skip_tls_verify && !nonempty(fl->tls_server_name);
	validate(t, cluster_empty, errs);
	if (cJSON_GetArraySize(errs)) {
		errs_format(errs, err);
	} else if (cluster_empty) {
		rc = 1;
	} else if (t->insecure && (t->ca_file || t->ca_data)) {
		buf_set(err, "specifying a root certificates file with the insecure flag is not allowed");
	} else {
		rc = 0;
	}
out:
	free(exec_cfg);
	cJSON_Delete(errs);
	return rc;
}

static const char *sa_dir(void)
{
	const char *d = getenv("WLKIT_SERVICEACCOUNT_DIR");

	return nonempty(d) ? d : SA_DIR_DEFAULT;
}

/* KUBERNETES_SERVICE_HOST and _PORT set and a service-account token file. */
static bool in_cluster_possible(void)
{
	struct buf p = BUF_INIT;
	struct stat st;
	bool ok = false;

	if (nonempty(getenv("KUBERNETES_SERVICE_HOST")) &&
	    nonempty(getenv("KUBERNETES_SERVICE_PORT"))) {
		buf_printf(&p, "%s/token", sa_dir());
		ok = stat(p.data, &st) == 0 && !S_ISDIR(st.st_mode);
	}
	buf_release(&p);
	return ok;
}

/* The text of a small file without surrounding white space, malloc'd;
 * NULL when unreadable or blank. */
static char *read_trimmed(const char *path)
{
	struct buf b = BUF_INIT;
	char *r = NULL;
	size_t s = 0, e;

	if (buf_read_file(&b, path) == 0) {
		e = b.len;
		while (s < e && strchr(" \t\r\n", b.data[s]))
			s++;
		while (e > s && strchr(" \t\r\n", b.data[e - 1]))
			e--;
		if (e > s) {
			buf_setlen(&b, e);
			r = kc_strdup(b.data + s);
		}
	}
	buf_release(&b);
	return r;
}

/* POD_NAMESPACE, else the service account's namespace file; malloc'd or NULL. */
static char *in_cluster_namespace(void)
{
	const char *env = getenv("POD_NAMESPACE");
	struct buf p = BUF_INIT;
	char *ns;

	if (nonempty(env))
		return kc_strdup(env);
	buf_printf(&p, "%s/namespace", sa_dir());
	ns = read_trimmed(p.data);
	buf_release(&p);
	return ns;
}

/* rest.InClusterConfig. Only reached without --server,
 * --certificate-authority, --insecure-skip-tls-verify and --tls-server-name
 * (they make a configuration of their own, as in kubectl); --token
 * replaces the service-account token. */
static void from_in_cluster(const struct kube_flags *fl, struct kube_target *t)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	struct buf b = BUF_INIT;

	t->source = kc_strdup("in-cluster config");
	if (strchr(host, ':'))
		buf_printf(&b, "https://[%s]:%s", host, port);
	else
		buf_printf(&b, "https://%s:%s", host, port);
	t->server = buf_detach(&b, NULL);
	if (nonempty(fl->token)) {
		t->token = kc_strdup(fl->token);
	} else {
		buf_printf(&b, "%s/token", sa_dir());
		t->token_file = buf_detach(&b, NULL);
	}
	buf_printf(&b, "%s/ca.crt", sa_dir());
	if (access(b.data, R_OK) == 0)
		t->ca_file = buf_detach(&b, NULL);
	buf_release(&b);
}

/* kubectl's --request-timeout: "0" or empty is none, a bare integer is
 * seconds, else a duration ("30s", "1m", "1h30m"). */
static int parse_timeout(const char *s, int64_t *ms, struct buf *err)
{
	struct buf why = BUF_INIT;
	int rc = 0;

	*ms = 0;
	if (!nonempty(s) || !strcmp(s, "0"))
		return 0;
	if (duration_parse_ms(s, ms, &why) < 0 || *ms < 0) {
		buf_set(err, "invalid timeout value '%s': timeout must be a single integer in seconds, "
			"or an integer followed by a corresponding time unit (e.g. 1s | 2m | 3h)", s);
		*ms = 0;
		rc = -1;
	}
	buf_release(&why);
	return rc;
}

/* As rest.DefaultServerURL: a server without a scheme is https when TLS is
 * configured, else http; no trailing '/'. Credentials go only over TLS, as
 * kubectl sends them: a plain http server gets none. */
static void server_finalize(struct kube_target *t)
{
	bool tls = t->ca_data || t->ca_file || t->cert_data || t->cert_file ||
		   t->insecure || t->tls_server_name;
	struct buf b = BUF_INIT;

	if (!strstr(t->server, "://"))
		buf_adds(&b, tls ? "https://" : "http://");
	buf_adds(&b, t->server);
	while (b.len > 1 && b.data[b.len - 1] == '/' && b.data[b.len - 2] != '/')
		buf_setlen(&b, b.len - 1);
	free(t->server);
	t->server = buf_detach(&b, NULL);
	if (strncasecmp(t->server, "http://", 7))
		return;
	if (t->token || t->token_file || t->username || t->exec || t->cert_file ||
	    t->cert_data || t->gke)
		logv(4, "server '%s' is plain http: no credentials are sent to it", t->server);
	drop(&t->token);
	drop(&t->token_file);
	drop(&t->username);
	drop(&t->password);
	drop(&t->cert_file);
	drop(&t->key_file);
	drop_data(&t->cert_data, &t->cert_len);
	drop_data(&t->key_data, &t->key_len);
	kc_exec_free(t->exec);
	t->exec = NULL;
	t->gke = NULL;		/* borrowed (kube_gke.c) */
}

static struct kube_target *target_new(void)
{
	struct kube_target *t = calloc(1, sizeof(*t));

	if (!t)
		die("out of memory");
	t->token_file_period_s = 60;
	return t;
}

int kube_config_load(const struct kube_flags *flags, struct kube_target **out,
		     struct buf *err)
{
	struct kc_files fs = { 0 };
	struct kube_target *t = target_new();
	struct kube_cred cred;
	int rc = -1, r = 0;

	*out = NULL;
	if (nonempty(flags->location)) {
		if (kc_gke_load(flags, t, err) < 0)
			goto out;
	} else if (kc_files_load(flags, &fs, err) < 0 ||
		   (r = from_kubeconfig(flags, &fs, t, err)) < 0) {
		goto out;
	} else if (r == 1) {
		if (!in_cluster_possible()) {
			buf_set(err, "%s", EMPTY_CONFIG);
			goto out;
		}
		kube_target_free(t);
		t = target_new();
		from_in_cluster(flags, t);
	}
	if (nonempty(flags->namespace)) {
		free(t->namespace);
		t->namespace = kc_strdup(flags->namespace);
		t->namespace_explicit = true;
	} else if (!t->namespace && !t->gke && in_cluster_possible()) {
		t->namespace = in_cluster_namespace();
	}
	if (!t->namespace)
		t->namespace = kc_strdup("default");
	if (parse_timeout(flags->request_timeout, &t->request_timeout_ms, err) < 0)
		goto out;
	server_finalize(t);
	logv(4, "using %s: context '%s', cluster '%s', user '%s', server '%s', namespace '%s'",
	     t->source, t->context ? t->context : "", t->cluster_name ? t->cluster_name : "",
	     t->user_name ? t->user_name : "", t->server, t->namespace);
	/* a token file that cannot be read fails now, as in kubectl; so
	 * does a GKE target without a Google access token */
	if ((t->token_file || t->gke) && kube_cred_get(t, true, &cred, err) < 0)
		goto out;
	*out = t;
	t = NULL;
	rc = 0;
out:
	kube_target_free(t);
	kc_files_free(&fs);
	return rc;
}

void kube_target_free(struct kube_target *t)
{
	if (!t)
		return;
	free(t->source);
	free(t->context);
	free(t->cluster_name);
	free(t->user_name);
	free(t->server);
	free(t->namespace);
	free(t->ca_data);
	free(t->ca_file);
	free(t->tls_server_name);
	free(t->proxy_url);
	free(t->cert_data);
	drop_data(&t->key_data, &t->key_len);
	free(t->cert_file);
	free(t->key_file);
	drop(&t->token);
	free(t->token_file);
	free(t->username);
	drop(&t->password);
	kc_exec_free(t->exec);
	kube_cred_cache_free(t->cache);
	free(t);
}
