/* kube_config_file.c - see kube_config_file.h. */
#include "kube_config_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "yaml.h"

#define EXEC_EXTENSION "client.authentication.k8s.io/exec"

static bool nonempty(const char *s)
{
	return s && *s;
}

char *kc_strdup(const char *s)
{
	char *d;

	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		die("out of memory");
	return d;
}

void kc_wipe_str(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* The text of a scalar, malloc'd: strings as they are, numbers and
 * booleans as text (sigs.k8s.io/yaml reads them so into string fields).
 * NULL when missing, null, empty or not a scalar. */
static char *scalar_dup(const cJSON *v)
{
	struct buf b = BUF_INIT;

	if (cJSON_IsString(v) || cJSON_IsRaw(v))
		return nonempty(v->valuestring) ? kc_strdup(v->valuestring) : NULL;
	if (cJSON_IsBool(v))
		return kc_strdup(cJSON_IsTrue(v) ? "true" : "false");
	if (!cJSON_IsNumber(v))
		return NULL;
	/* the range first: casting a double outside long long's is undefined */
	if (v->valuedouble > -1e15 && v->valuedouble < 1e15 &&
	    v->valuedouble == (double)(long long)v->valuedouble)
		buf_printf(&b, "%lld", (long long)v->valuedouble);
	else
		buf_printf(&b, "%.17g", v->valuedouble);
	return buf_detach(&b, NULL);
}

char *kc_field(const cJSON *o, const char *key)
{
	return scalar_dup(cJSON_GetObjectItemCaseSensitive(o, key));
}

static bool name_is(const cJSON *entry, const char *name)
{
	char *n = kc_field(entry, "name");
	bool eq = n && !strcmp(n, name);

	free(n);
	return eq;
}

/* p with "", "." and ".." segments folded, malloc'd (Go's filepath.Clean). */
static char *path_clean(const char *p)
{
	struct buf b = BUF_INIT;
	bool abs = p[0] == '/';
	size_t keep = abs ? 1 : 0;	/* ".." never climbs above this */

	if (abs)
		buf_addch(&b, '/');
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.' && b.len > keep) {
			char *slash = strrchr(b.data + keep, '/');

			buf_setlen(&b, slash ? (size_t)(slash - b.data) : keep);
		} else if (n == 2 && p[0] == '.' && p[1] == '.' && abs) {
			/* "/.." is "/" */
		} else {
			if (b.len > (abs ? 1u : 0u))
				buf_addch(&b, '/');
			buf_add(&b, p, n);
			if (n == 2 && p[0] == '.' && p[1] == '.')
				keep = b.len;
		}
		p += n;
		while (*p == '/')
			p++;
	}
	if (!b.len)
		buf_addch(&b, '.');
	return buf_detach(&b, NULL);
}

/* A path from a kubeconfig: relative ones resolve against dir. Takes p. */
static char *path_resolve(const char *dir, char *p)
{
	struct buf b = BUF_INIT;

	if (!p || p[0] == '/')
		return p;
	buf_printf(&b, "%s/%s", dir, p);
	free(p);
	p = path_clean(b.data);
	buf_release(&b);
	return p;
}

/* The absolute directory of a file path, malloc'd. */
static char *abs_dir(const char *path)
{
	struct buf b = BUF_INIT;
	char *full, *slash;

	if (path[0] != '/') {
		char *cwd = getcwd(NULL, 0);

		buf_adds(&b, cwd ? cwd : "/");
		buf_addch(&b, '/');
		free(cwd);
	}
	buf_adds(&b, path);
	full = path_clean(b.data);
	buf_release(&b);
	slash = strrchr(full, '/');
	if (slash == full)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	return full;
}

/* Base64 as Go decodes []byte fields. *out is malloc'd and
 * NUL-terminated. 0 or -1. */
static int base64_decode(const char *in, char **out, size_t *len)
{
	struct buf b = BUF_INIT;

	if (buf_add_unbase64(&b, in, strlen(in)) < 0) {
		buf_release(&b);
		return -1;
	}
	*out = buf_detach(&b, len);
	return 0;
}

/* The base64 field key of o decoded into *data and *len (untouched when the
 * field is unset). 0 or -1 with *err. */
static int data_field(const cJSON *o, const char *key, const char *what,
		      const char *name, char **data, size_t *len, struct buf *err)
{
	char *b64 = kc_field(o, key);
	int rc = 0;

	if (b64 && base64_decode(b64, data, len) < 0) {
		buf_set(err, "%s of %s \"%s\" is not valid base64", key, what, name);
		rc = -1;
	}
	kc_wipe_str(b64);
	return rc;
}

void kc_files_free(struct kc_files *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->v[i].path);
		free(fs->v[i].dir);
		cJSON_Delete(fs->v[i].doc);
	}
	free(fs->v);
	memset(fs, 0, sizeof(*fs));
}

/* The list key of a kubeconfig must be a list of entries with distinct
 * names (client-go refuses a file with a name twice). 0 or -1 with *err. */
static int list_check(const cJSON *doc, const char *key, const char *path,
		      struct buf *err)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(doc, key), *a, *b;
	int rc = 0;

	if (!l || cJSON_IsNull(l))
		return 0;
	if (!cJSON_IsArray(l)) {
		buf_set(err, "cannot load kubeconfig '%s': '%s' must be a list", path, key);
		return -1;
	}
	cJSON_ArrayForEach(a, l) {
		char *na = kc_field(a, "name");

		for (b = a->next; b && rc == 0; b = b->next) {
			char *nb = kc_field(b, "name");

			if (!strcmp(na ? na : "", nb ? nb : "")) {
				buf_set(err, "cannot load kubeconfig '%s': duplicate name \"%s\" in '%s'",
					path, na ? na : "", key);
				rc = -1;
			}
			free(nb);
		}
		free(na);
		if (rc < 0)
			break;
	}
	return rc;
}

/* Reads one kubeconfig into fs. A missing file is skipped unless
 * must_exist. 0 or -1 with *err. */
static int kc_file_load(struct kc_files *fs, const char *path, bool must_exist,
			struct buf *err)
{
	static const char *const lists[] = { "clusters", "contexts", "users" };
	struct buf text = BUF_INIT;
	cJSON *docs = NULL, *doc = NULL;
	struct kc_file *f;
	int rc = -1;

	if (buf_read_file(&text, path) < 0) {
		if (errno == ENOENT && !must_exist) {
			logv(6, "kubeconfig '%s' not found, skipped", path);
			rc = 0;
		} else {
			buf_set(err, "cannot read kubeconfig '%s': %s", path, strerror(errno));
		}
		goto out;
	}
	if (text.len) {
		if (!(docs = yaml_parse(text.data, text.len, path, err)))
			goto out;
		if (cJSON_GetArraySize(docs) > 1) {
			buf_set(err, "cannot load kubeconfig '%s': it holds more than one YAML document", path);
			goto out;
		}
		doc = cJSON_DetachItemFromArray(docs, 0);
		if (doc && cJSON_IsNull(doc)) {
			cJSON_Delete(doc);
			doc = NULL;
		}
		if (doc && !cJSON_IsObject(doc)) {
			buf_set(err, "cannot load kubeconfig '%s': not a mapping", path);
			goto out;
		}
		for (size_t i = 0; doc && i < sizeof(lists) / sizeof(lists[0]); i++)
			if (list_check(doc, lists[i], path, err) < 0)
				goto out;
	}
	fs->v = realloc(fs->v, (fs->n + 1) * sizeof(*fs->v));
	if (!fs->v)
		die("out of memory");
	f = &fs->v[fs->n++];
	f->path = kc_strdup(path);
	f->dir = abs_dir(path);
	f->doc = doc;
	doc = NULL;
	logv(6, "config loaded from file: %s", path);
	rc = 0;
out:
	cJSON_Delete(doc);
	cJSON_Delete(docs);
	buf_release(&text);
	return rc;
}

/* --kubeconfig, else $KUBECONFIG (':'-separated; empty entries and repeats
 * skipped), else ~/.kube/config. */
int kc_files_load(const struct kube_flags *flags, struct kc_files *fs,
		  struct buf *err)
{
	const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
	struct buf path = BUF_INIT;
	cJSON *seen = NULL;
	int rc = -1;

	if (nonempty(flags->kubeconfig)) {
		rc = kc_file_load(fs, flags->kubeconfig, true, err);
		goto out;
	}
	if (nonempty(env)) {
		seen = cJSON_CreateArray();
		for (const char *p = env; ; p++) {
			size_t n = strcspn(p, ":");
			bool dup = false;
			const cJSON *s;

			buf_reset(&path);
			buf_add(&path, p, n);
			cJSON_ArrayForEach(s, seen)
				dup |= !strcmp(s->valuestring, path.data);
			if (n && !dup) {
				cJSON_AddItemToArray(seen, cJSON_CreateString(path.data));
				if (kc_file_load(fs, path.data, false, err) < 0)
					goto out;
			}
			p += n;
			if (!*p)
				break;
		}
		if (!fs->n)
			logv(1, "config not found: %s", env);
		rc = 0;
		goto out;
	}
	rc = 0;
	if (nonempty(home)) {
		buf_printf(&path, "%s/.kube/config", home);
		rc = kc_file_load(fs, path.data, false, err);
	}
out:
	cJSON_Delete(seen);
	buf_release(&path);
	return rc;
}

/* The first file's non-empty current-context. */
const char *kc_current_context(const struct kc_files *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		const char *s = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(fs->v[i].doc, "current-context"));

		if (nonempty(s))
			return s;
	}
	return NULL;
}

/* The entry `name` of list ("clusters", "contexts", "users"): the first
 * file that has the name wins the whole entry, as kubectl merges (a file
 * names an entry once: list_check). *body: the entry's `item` object, NULL
 * when it has none. */
const struct kc_file *kc_find(const struct kc_files *fs, const char *list,
			      const char *item, const char *name,
			      const cJSON **body)
{
	*body = NULL;
	if (!nonempty(name))
		return NULL;
	for (size_t i = 0; i < fs->n; i++) {
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(fs->v[i].doc, list);
		const cJSON *e, *hit = NULL;

		cJSON_ArrayForEach(e, l)
			if (!hit && name_is(e, name))
				hit = e;
		if (hit) {
			*body = cJSON_GetObjectItemCaseSensitive(hit, item);
			if (!cJSON_IsObject(*body))
				*body = NULL;
			return &fs->v[i];
		}
	}
	return NULL;
}

void kc_errs_add(cJSON *errs, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	const cJSON *e;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	cJSON_ArrayForEach(e, errs)
		if (!strcmp(e->valuestring, b.data))
			goto out;
	cJSON_AddItemToArray(errs, cJSON_CreateString(b.data));
out:
	buf_release(&b);
}

static char **string_list(const cJSON *l)
{
	int n = cJSON_GetArraySize(l), i = 0;
	char **v = calloc((size_t)n + 1, sizeof(*v));
	const cJSON *e;

	if (!v)
		die("out of memory");
	cJSON_ArrayForEach(e, l) {
		char *s = scalar_dup(e);

		v[i++] = s ? s : kc_strdup("");
	}
	return v;
}

static void string_list_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

void kc_exec_free(struct kube_exec *ex)
{
	if (!ex)
		return;
	free(ex->api_version);
	free(ex->command);
	string_list_free(ex->args);
	string_list_free(ex->env);
	free(ex->install_hint);
	free(ex->interactive_mode);
	free(ex->cluster_config);
	free(ex);
}

/* users[].user.exec into t->exec; what kubectl rejects goes to errs. */
static void exec_load(const cJSON *o, const char *dir, const char *user,
		      struct kube_target *t, cJSON *errs)
{
	struct kube_exec *ex = calloc(1, sizeof(*ex));
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(o, "env"), *e;
	int n = cJSON_GetArraySize(env), i = 0;

	if (!ex)
		die("out of memory");
	ex->api_version = kc_field(o, "apiVersion");
	ex->command = kc_field(o, "command");
	if (ex->command && strchr(ex->command, '/'))
		ex->command = path_resolve(dir, ex->command);
	ex->args = string_list(cJSON_GetObjectItemCaseSensitive(o, "args"));
	ex->env = calloc((size_t)n + 1, sizeof(*ex->env));
	if (!ex->env)
		die("out of memory");
	cJSON_ArrayForEach(e, env) {
		char *name = kc_field(e, "name"), *value = kc_field(e, "value");
		struct buf b = BUF_INIT;

		if (!name)
			kc_errs_add(errs, "env variable name must be specified for %s to use exec authentication plugin", user);
		buf_printf(&b, "%s=%s", name ? name : "", value ? value : "");
		ex->env[i++] = buf_detach(&b, NULL);
		free(name);
		kc_wipe_str(value);
	}
	ex->install_hint = kc_field(o, "installHint");
	ex->interactive_mode = kc_field(o, "interactiveMode");
	ex->provide_cluster_info = cJSON_IsTrue(
		cJSON_GetObjectItemCaseSensitive(o, "provideClusterInfo"));
	if (!ex->command)
		kc_errs_add(errs, "command must be specified for %s to use exec authentication plugin", user);
	if (!ex->api_version)
		kc_errs_add(errs, "apiVersion must be specified for %s to use exec authentication plugin", user);
	else if (strcmp(ex->api_version, "client.authentication.k8s.io/v1") &&
		 strcmp(ex->api_version, "client.authentication.k8s.io/v1beta1"))
		kc_errs_add(errs, "exec plugin: invalid apiVersion \"%s\"", ex->api_version);
	/* v1beta1 defaults interactiveMode to IfAvailable; v1 requires it */
	if (!ex->interactive_mode && ex->api_version &&
	    !strcmp(ex->api_version, "client.authentication.k8s.io/v1beta1"))
		ex->interactive_mode = kc_strdup("IfAvailable");
	if (!ex->interactive_mode)
		kc_errs_add(errs, "interactiveMode must be specified for %s to use exec authentication plugin", user);
	else if (strcmp(ex->interactive_mode, "Never") &&
		 strcmp(ex->interactive_mode, "IfAvailable") &&
		 strcmp(ex->interactive_mode, "Always"))
		kc_errs_add(errs, "invalid interactiveMode for %s: \"%s\"", user, ex->interactive_mode);
	t->exec = ex;
}

/* The cluster's fields into t; *exec_cfg: its exec extension as JSON
 * (malloc'd) or NULL. 0 or -1 with *err. */
int kc_cluster_load(const cJSON *c, const struct kc_file *f, struct kube_target *t,
		    char **exec_cfg, struct buf *err)
{
	const cJSON *e;

	if (!c)
		return 0;
	t->server = kc_field(c, "server");
	t->ca_file = path_resolve(f->dir, kc_field(c, "certificate-authority"));
	t->insecure = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "insecure-skip-tls-verify"));
	t->tls_server_name = kc_field(c, "tls-server-name");
	t->proxy_url = kc_field(c, "proxy-url");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c, "extensions")) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(e, "extension");

		if (name_is(e, EXEC_EXTENSION) && x && !*exec_cfg) {
			if (!(*exec_cfg = cJSON_PrintUnformatted(x)))
				die("out of memory");
		}
	}
	return data_field(c, "certificate-authority-data", "cluster", t->cluster_name,
			  &t->ca_data, &t->ca_len, err);
}

/* The user's fields into t. 0 or -1 with *err; kubectl's checks to errs. */
int kc_user_load(const cJSON *u, const struct kc_file *f, struct kube_target *t,
		 cJSON *errs, struct buf *err)
{
	const cJSON *ap = cJSON_GetObjectItemCaseSensitive(u, "auth-provider");
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(u, "exec");
	const char *name = t->user_name ? t->user_name : "";
	char *provider = kc_field(ap, "name");
	int rc = -1;

	if (!u)
		return 0;
	t->token = kc_field(u, "token");
	t->token_file = path_resolve(f->dir, kc_field(u, "tokenFile"));
	t->username = kc_field(u, "username");
	t->password = kc_field(u, "password");
	t->cert_file = path_resolve(f->dir, kc_field(u, "client-certificate"));
	t->key_file = path_resolve(f->dir, kc_field(u, "client-key"));
	if (data_field(u, "client-certificate-data", "user", name, &t->cert_data,
		       &t->cert_len, err) < 0 ||
	    data_field(u, "client-key-data", "user", name, &t->key_data,
		       &t->key_len, err) < 0)
		goto out;
	if (cJSON_IsObject(ex))
		exec_load(ex, f->dir, name, t, errs);
	if (provider && cJSON_IsObject(ex))
		kc_errs_add(errs, "authProvider cannot be provided in combination with an exec plugin for %s", name);
	else if (provider && !strcmp(provider, "gcp"))
		kc_errs_add(errs, "the gcp auth plugin has been removed; use the gke-gcloud-auth-plugin "
			    "credential plugin (exec) for %s instead", name);
	else if (provider)
		kc_errs_add(errs, "auth-provider \"%s\" of %s is not supported; use an exec credential plugin",
			    provider, name);
	rc = 0;
out:
	free(provider);
	return rc;
}
