/* gcp_auth.c - see gcp.h: Google access tokens from a token file,
 * Application Default Credentials (authorized user, service account JWT),
 * the GCE metadata server or `gcloud auth print-access-token`, cached
 * behind a mutex. */
#include "gcp.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "crypto.h"
#include "log.h"
#include "obj.h"

#define DEFAULT_TOKEN_URI "https://oauth2.googleapis.com/token"
#define SCOPE "https://www.googleapis.com/auth/cloud-platform"
#define EARLY_MS 60000		/* refresh this long before expiry */
#define GCLOUD_CACHE_MS 180000	/* gcloud's token: no expiry is printed */
#define TOKEN_TIMEOUT_MS 30000
#define GCLOUD_MAX_STDOUT (1 << 20)

extern char **environ;

enum source {
	SRC_FILE,		/* the flag's or CLOUDSDK_AUTH_ACCESS_TOKEN_FILE */
	SRC_ADC,		/* a credentials JSON file */
	SRC_METADATA,
	SRC_GCLOUD,
};

struct gcp_auth {
	pthread_mutex_t mu;
	char *flag_file;
	char *key_file;		/* gcp_auth_use_key: this ADC file only */
	char *scope;		/* of service-account tokens */
	char *config_dir;
	struct http *http;
	bool resolved;
	enum source src;
	char *path;		/* SRC_FILE, SRC_ADC: the file; SRC_METADATA:
				 * the host; SRC_GCLOUD: the program */
	struct buf desc;
	struct buf token;	/* the cached token, "" when none */
	int64_t valid_until;	/* monotonic ms */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wipe(struct buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	buf_release(b);
}

static void wipe_strings(cJSON *o)
{
	for (cJSON *c = o ? o->child : NULL; c; c = c->next) {
		if (cJSON_IsString(c) && c->valuestring)
			explicit_bzero(c->valuestring, strlen(c->valuestring));
		wipe_strings(c);
	}
}

static void wipe_json(cJSON *o)
{
	wipe_strings(o);
	cJSON_Delete(o);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		die("out of memory");
	return d;
}

/* Removes leading and trailing blanks of b in place. */
static void trim(struct buf *b)
{
	size_t i = 0, n = b->len;

	while (i < n && isspace((unsigned char)b->data[i]))
		i++;
	while (n > i && isspace((unsigned char)b->data[n - 1]))
		n--;
	buf_setlen(b, n);
	buf_consume(b, i);
}

static const char *nonempty_env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

struct gcp_auth *gcp_auth_new(const char *access_token_file, const char *config_dir)
{
	struct gcp_auth *a = calloc(1, sizeof(*a));

	if (!a)
		die("out of memory");
	pthread_mutex_init(&a->mu, NULL);
	if (access_token_file && *access_token_file)
		a->flag_file = xstrdup(access_token_file);
	a->config_dir = xstrdup(config_dir ? config_dir : ".");
	return a;
}

void gcp_auth_free(struct gcp_auth *a)
{
	if (!a)
		return;
	if (a->http)
		http_free(a->http);
	wipe(&a->token);
	buf_release(&a->desc);
	free(a->path);
	free(a->flag_file);
	free(a->key_file);
	free(a->scope);
	free(a->config_dir);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

void gcp_auth_use_key(struct gcp_auth *a, const char *key_file, const char *scope)
{
	free(a->key_file);
	free(a->scope);
	a->key_file = key_file && *key_file ? xstrdup(key_file) : NULL;
	a->scope = scope && *scope ? xstrdup(scope) : NULL;
}

const char *gcp_auth_source(struct gcp_auth *a)
{
	return buf_str(&a->desc);
}

/* An executable named prog on PATH, appended to out; false when none. */
static bool find_on_path(const char *prog, struct buf *out)
{
	const char *path = getenv("PATH"), *p, *end;
	struct buf cand = BUF_INIT;
	bool found = false;

	for (p = path ? path : ""; *p && !found; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		buf_reset(&cand);
		if (end == p)
			buf_addch(&cand, '.');
		else
			buf_add(&cand, p, (size_t)(end - p));
		buf_printf(&cand, "/%s", prog);
		found = access(cand.data, X_OK) == 0;
	}
	if (found)
		buf_adds(out, cand.data);
	buf_release(&cand);
	return found;
}

static bool on_gce(void)
{
	struct buf b = BUF_INIT;
	bool yes = buf_read_file(&b, "/sys/class/dmi/id/product_name") == 0 &&
		   !strncmp(buf_str(&b), "Google", 6);

	buf_release(&b);
	return yes;
}

/* Decides the source: the first that exists. */
static int resolve(struct gcp_auth *a, struct buf *err)
{
	struct buf p = BUF_INIT;
	const char *v;
	int rc = 0;

	if (a->key_file) {
		a->src = SRC_ADC;
		a->path = xstrdup(a->key_file);
		buf_printf(&a->desc, "credentials file '%s'", a->path);
	} else if (a->flag_file) {
		a->src = SRC_FILE;
		a->path = xstrdup(a->flag_file);
		buf_printf(&a->desc, "access token file '%s'", a->path);
	} else if ((v = nonempty_env("CLOUDSDK_AUTH_ACCESS_TOKEN_FILE"))) {
		a->src = SRC_FILE;
		a->path = xstrdup(v);
		buf_printf(&a->desc, "access token file '%s' (CLOUDSDK_AUTH_ACCESS_TOKEN_FILE)",
			   a->path);
	} else if ((v = nonempty_env("GOOGLE_APPLICATION_CREDENTIALS"))) {
		a->src = SRC_ADC;
		a->path = xstrdup(v);
		buf_printf(&a->desc, "credentials file '%s' (GOOGLE_APPLICATION_CREDENTIALS)",
			   a->path);
	} else if (buf_printf(&p, "%s/application_default_credentials.json",
			      a->config_dir), access(p.data, F_OK) == 0) {
		a->src = SRC_ADC;
		a->path = buf_detach(&p, NULL);
		buf_printf(&a->desc, "credentials file '%s'", a->path);
	} else if ((v = nonempty_env("GCE_METADATA_HOST")) || on_gce()) {
		a->src = SRC_METADATA;
		a->path = xstrdup(v ? v : "metadata.google.internal");
		buf_printf(&a->desc, "the metadata server '%s'", a->path);
	} else if (buf_reset(&p), find_on_path("gcloud", &p)) {
		a->src = SRC_GCLOUD;
		a->path = buf_detach(&p, NULL);
		buf_printf(&a->desc, "'%s auth print-access-token'", a->path);
	} else {
		buf_set(err, "no Google Cloud credentials: pass --access-token-file, "
			"set GOOGLE_APPLICATION_CREDENTIALS, run 'gcloud auth "
			"application-default login', or install gcloud");
		rc = -1;
	}
	if (rc == 0) {
		a->resolved = true;
		logv(4, "google credentials: %s", a->desc.data);
	}
	buf_release(&p);
	return rc;
}

static int read_token_file(struct gcp_auth *a, struct buf *out, struct buf *err)
{
	struct buf t = BUF_INIT;
	int rc = -1;

	if (buf_read_file(&t, a->path) < 0) {
		buf_set(err, "cannot read access token file '%s': %s", a->path,
			strerror(errno));
		goto out;
	}
	trim(&t);
	if (!t.len || memchr(t.data, '\n', t.len)) {
		buf_set(err, "access token file '%s' does not hold one token", a->path);
		goto out;
	}
	buf_add(out, t.data, t.len);
	rc = 0;
out:
	wipe(&t);
	return rc;
}

/* Takes access_token and expires_in from a token reply into the cache. */
static int take_token_reply(struct gcp_auth *a, const struct http_response *resp,
			    const char *from, struct buf *err)
{
	cJSON *o = cJSON_ParseWithLength(resp->body.data ? resp->body.data : "",
					 resp->body.len);
	const char *tok = obj_str(o, "access_token");
	int64_t expires_in = obj_int(o, "expires_in", 3600);
	int rc = -1;

	if (!tok || !*tok) {
		buf_set(err, "cannot get an access token from '%s': the reply has no access_token",
			from);
		goto out;
	}
	wipe(&a->token);
	buf_adds(&a->token, tok);
	a->valid_until = now_ms() + expires_in * 1000 - EARLY_MS;
	rc = 0;
out:
	wipe_json(o);
	return rc;
}

/* POSTs a form (sensitive) to uri and takes the token from the reply. */
static int token_post(struct gcp_auth *a, const char *uri, const struct buf *form,
		      struct buf *err)
{
	struct http_request req = {
		.method = "POST", .url = uri, .body = form->data, .body_len = form->len,
		.content_type = "application/x-www-form-urlencoded",
		.sensitive = true, .idempotent = true, .timeout_ms = TOKEN_TIMEOUT_MS,
	};
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf why = BUF_INIT;
	int rc = -1;

	if (!a->http)
		a->http = http_new();
	if (http_do(a->http, &req, &resp, err) < 0)
		goto out;
	if (resp.status < 200 || resp.status > 299) {
		gcp_error_format("oauth2", resp.status, resp.body.data, resp.body.len,
				 &why, NULL, NULL);
		buf_set(err, "cannot get an access token from '%s' with %s: %s", uri,
			a->desc.data, why.data);
		goto out;
	}
	rc = take_token_reply(a, &resp, uri, err);
out:
	buf_release(&why);
	wipe(&resp.body);
	http_response_release(&resp);
	return rc;
}

static void form_field(struct buf *form, const char *name, const char *value)
{
	if (form->len)
		buf_addch(form, '&');
	buf_printf(form, "%s=", name);
	http_escape(form, value);
}

static int fetch_authorized_user(struct gcp_auth *a, const cJSON *cred,
				 struct buf *err)
{
	const char *id = obj_str(cred, "client_id"), *secret = obj_str(cred, "client_secret");
	const char *refresh = obj_str(cred, "refresh_token"), *uri = obj_str(cred, "token_uri");
	struct buf form = BUF_INIT;
	int rc = -1;

	if (!id || !secret || !refresh) {
		buf_set(err, "invalid credentials file '%s': authorized_user needs "
			"client_id, client_secret and refresh_token", a->path);
		goto out;
	}
	form_field(&form, "grant_type", "refresh_token");
	form_field(&form, "client_id", id);
	form_field(&form, "client_secret", secret);
	form_field(&form, "refresh_token", refresh);
	rc = token_post(a, uri && *uri ? uri : DEFAULT_TOKEN_URI, &form, err);
out:
	wipe(&form);
	return rc;
}

void gcp_base64url(struct buf *out, const void *data, size_t n)
{
	size_t start = out->len;

	buf_add_base64(out, data, n);
	while (out->len > start && out->data[out->len - 1] == '=')
		buf_setlen(out, out->len - 1);
	for (size_t i = start; i < out->len; i++) {
		if (out->data[i] == '+')
			out->data[i] = '-';
		else if (out->data[i] == '/')
			out->data[i] = '_';
	}
}

static void b64url_json(struct buf *out, cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	if (!s)
		die("out of memory");
	gcp_base64url(out, s, strlen(s));
	free(s);
}

int gcp_jwt_sign(const char *key_path, const char *client_email,
		 const char *key_id, const char *pem, const char *token_uri,
		 const char *scope, int64_t iat, struct buf *out, struct buf *err)
{
	cJSON *hdr = cJSON_CreateObject(), *claims = cJSON_CreateObject();
	struct buf input = BUF_INIT, sig = BUF_INIT;
	int rc = -1, signed_rc;

	if (!hdr || !claims)
		die("out of memory");
	cJSON_AddStringToObject(hdr, "alg", "RS256");
	cJSON_AddStringToObject(hdr, "typ", "JWT");
	if (key_id && *key_id)
		cJSON_AddStringToObject(hdr, "kid", key_id);
	cJSON_AddStringToObject(claims, "iss", client_email);
	cJSON_AddStringToObject(claims, "scope", scope ? scope : SCOPE);
	cJSON_AddStringToObject(claims, "aud", token_uri);
	cJSON_AddNumberToObject(claims, "iat", (double)iat);
	cJSON_AddNumberToObject(claims, "exp", (double)(iat + 3600));
	b64url_json(&input, hdr);
	buf_addch(&input, '.');
	b64url_json(&input, claims);
	signed_rc = crypto_rs256_sign(pem, strlen(pem), input.data, input.len, &sig);
	if (signed_rc == CRYPTO_EKEY) {
		buf_set(err, "invalid service account key file '%s': private_key is "
			"not an unencrypted RSA private key in PEM", key_path);
		goto out;
	}
	if (signed_rc < 0) {
		buf_set(err, "cannot sign with the key of service account key file '%s'",
			key_path);
		goto out;
	}
	buf_add(out, input.data, input.len);
	buf_addch(out, '.');
	gcp_base64url(out, sig.data, sig.len);
	rc = 0;
out:
	buf_release(&sig);
	buf_release(&input);
	cJSON_Delete(hdr);
	cJSON_Delete(claims);
	return rc;
}

static int fetch_service_account(struct gcp_auth *a, const cJSON *cred,
				 struct buf *err)
{
	const char *email = obj_str(cred, "client_email"), *pem = obj_str(cred, "private_key");
	const char *kid = obj_str(cred, "private_key_id"), *uri = obj_str(cred, "token_uri");
	struct buf jwt = BUF_INIT, form = BUF_INIT;
	int rc = -1;

	if (!email || !*email || !pem || !*pem) {
		buf_set(err, "invalid service account key file '%s': it needs "
			"client_email and private_key", a->path);
		goto out;
	}
	if (!uri || !*uri)
		uri = DEFAULT_TOKEN_URI;
	if (gcp_jwt_sign(a->path, email, kid, pem, uri, a->scope, (int64_t)time(NULL), &jwt, err) < 0)
		goto out;
	form_field(&form, "grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer");
	form_field(&form, "assertion", jwt.data);
	rc = token_post(a, uri, &form, err);
out:
	wipe(&jwt);
	wipe(&form);
	return rc;
}

static int fetch_adc(struct gcp_auth *a, struct buf *err)
{
	struct buf text = BUF_INIT;
	cJSON *cred = NULL;
	const char *type;
	int rc = -1;

	if (buf_read_file(&text, a->path) < 0) {
		buf_set(err, "cannot read credentials file '%s': %s", a->path,
			strerror(errno));
		goto out;
	}
	cred = cJSON_ParseWithLength(text.data ? text.data : "", text.len);
	if (!cJSON_IsObject(cred)) {
		buf_set(err, "invalid credentials file '%s': not a JSON object", a->path);
		goto out;
	}
	type = obj_str(cred, "type");
	if (type && !strcmp(type, "authorized_user"))
		rc = fetch_authorized_user(a, cred, err);
	else if (type && !strcmp(type, "service_account"))
		rc = fetch_service_account(a, cred, err);
	else
		buf_set(err, "credentials file '%s' has type '%s': only authorized_user "
			"and service_account are supported", a->path, type ? type : "");
out:
	wipe_json(cred);
	wipe(&text);
	return rc;
}

/* Whether a response's header lines hold "name: value" (name in any case). */
static bool has_header(const struct buf *headers, const char *name, const char *value)
{
	size_t n = strlen(name);

	for (const char *l = buf_str(headers); *l; l = strchrnul(l, '\n'), l += !!*l) {
		const char *v = l + n + 1;
		size_t vl;

		if (strncasecmp(l, name, n) || l[n] != ':')
			continue;
		while (*v == ' ' || *v == '\t')
			v++;
		vl = strcspn(v, "\r\n");
		while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			vl--;
		if (vl == strlen(value) && !strncmp(v, value, vl))
			return true;
	}
	return false;
}

static int fetch_metadata(struct gcp_auth *a, struct buf *err)
{
	static const char *const hdrs[] = { "Metadata-Flavor: Google", NULL };
	struct http_request req = {
		.method = "GET", .headers = hdrs, .sensitive = true,
		.timeout_ms = TOKEN_TIMEOUT_MS,
	};
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf url = BUF_INIT, why = BUF_INIT;
	int rc = -1;

	buf_printf(&url, "http://%s/computeMetadata/v1/instance/service-accounts/default/token",
		   a->path);
	req.url = url.data;
	if (!a->http)
		a->http = http_new();
	if (http_do(a->http, &req, &resp, err) < 0)
		goto out;
	if (resp.status < 200 || resp.status > 299) {
		gcp_error_format("metadata", resp.status, resp.body.data, resp.body.len,
				 &why, NULL, NULL);
		buf_set(err, "cannot get an access token from the metadata server '%s': %s",
			a->path, why.data);
		goto out;
	}
	if (!has_header(&resp.headers, "Metadata-Flavor", "Google")) {
		buf_set(err, "'%s' is not a metadata server: its reply has no "
			"'Metadata-Flavor: Google' header", url.data);
		goto out;
	}
	rc = take_token_reply(a, &resp, url.data, err);
out:
	wipe(&resp.body);
	http_response_release(&resp);
	buf_release(&url);
	buf_release(&why);
	return rc;
}

/* Runs `gcloud auth print-access-token`: no shell, stdin /dev/null,
 * stdout captured, stderr shared. */
static int fetch_gcloud(struct gcp_auth *a, struct buf *err)
{
	char *argv[] = { a->path, (char *)"auth", (char *)"print-access-token", NULL };
	posix_spawn_file_actions_t fa;
	struct buf out = BUF_INIT;
	int p[2] = { -1, -1 }, status = 0, e, rc = -1;
	char chunk[4096];
	pid_t pid;
	ssize_t r;

	if (pipe2(p, O_CLOEXEC) < 0) {
		buf_set(err, "cannot run '%s': %s", a->path, strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	fflush(NULL);
	e = posix_spawn(&pid, a->path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (e) {
		buf_set(err, "cannot run '%s': %s", a->path, strerror(e));
		goto out;
	}
	while ((r = read(p[0], chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (out.len + (size_t)r <= GCLOUD_MAX_STDOUT)
			buf_add(&out, chunk, (size_t)r);
	}
	explicit_bzero(chunk, sizeof(chunk));
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		buf_set(err, "'%s auth print-access-token' failed with %s %d", a->path,
			WIFEXITED(status) ? "exit code" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		goto out;
	}
	trim(&out);
	if (!out.len || memchr(out.data, '\n', out.len)) {
		buf_set(err, "'%s auth print-access-token' printed no token", a->path);
		goto out;
	}
	wipe(&a->token);
	buf_add(&a->token, out.data, out.len);
	a->valid_until = now_ms() + GCLOUD_CACHE_MS;
	rc = 0;
out:
	close(p[0]);
	wipe(&out);
	return rc;
}

int gcp_auth_token(struct gcp_auth *a, struct buf *out, struct buf *err)
{
	int rc = -1;

	pthread_mutex_lock(&a->mu);
	if (!a->resolved && resolve(a, err) < 0)
		goto out;
	if (a->src == SRC_FILE) {
		rc = read_token_file(a, out, err);
		goto out;
	}
	if (a->token.len && now_ms() < a->valid_until) {
		buf_add(out, a->token.data, a->token.len);
		rc = 0;
		goto out;
	}
	logv(5, "fetching a google access token from %s", a->desc.data);
	if (a->src == SRC_ADC)
		rc = fetch_adc(a, err);
	else if (a->src == SRC_METADATA)
		rc = fetch_metadata(a, err);
	else
		rc = fetch_gcloud(a, err);
	if (rc == 0)
		buf_add(out, a->token.data, a->token.len);
out:
	pthread_mutex_unlock(&a->mu);
	return rc;
}
