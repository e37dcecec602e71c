/* share_env.c - see share.h: the .env file upload-to-share reads, and the
 * share settings it names (ROBOVAST_SHARE_TYPE, ROBOVAST_SHARE_URL,
 * ROBOVAST_GDRIVE_SERVICE_ACCOUNT_JSON). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "obj.h"
#include "share.h"

#define VAR_TYPE "ROBOVAST_SHARE_TYPE"
#define VAR_URL "ROBOVAST_SHARE_URL"
#define VAR_KEY "ROBOVAST_GDRIVE_SERVICE_ACCOUNT_JSON"

int share_env_find(const char *dir, struct buf *path, struct buf *err)
{
	char *real = realpath(dir, NULL), *slash;
	int rc = -1;

	if (!real) {
		buf_set(err, "cannot resolve '%s': %s", dir, strerror(errno));
		return -1;
	}
	for (;;) {
		buf_reset(path);
		buf_printf(path, "%s/.env", strcmp(real, "/") ? real : "");
		if (access(path->data, F_OK) == 0)
			break;
		buf_reset(path);
		if (!strcmp(real, "/"))
			break;
		slash = strrchr(real, '/');
		if (slash == real)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	rc = 0;
	free(real);
	return rc;
}

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A double-quoted value from p (after the quote) into v; *endp after the
 * closing quote, NULL when there is none. */
static void double_quoted(const char *p, struct buf *v, const char **endp)
{
	for (; *p && *p != '"'; p++) {
		if (*p != '\\' || !p[1]) {
			buf_addch(v, *p);
			continue;
		}
		p++;
		switch (*p) {
		case 'n': buf_addch(v, '\n'); break;
		case 't': buf_addch(v, '\t'); break;
		case 'r': buf_addch(v, '\r'); break;
		case '"': case '\\': case '\'': buf_addch(v, *p); break;
		default: buf_addch(v, '\\'); buf_addch(v, *p); break;
		}
	}
	*endp = *p == '"' ? p + 1 : NULL;
}

int share_env_parse(const char *path, cJSON **out, struct buf *err)
{
	struct buf text = BUF_INIT, key = BUF_INIT, v = BUF_INIT;
	cJSON *vars = cJSON_CreateObject();
	const char *p, *eol, *end;
	int line = 0, rc = -1;

	if (!vars)
		die("out of memory");
	if (buf_read_file(&text, path) < 0) {
		buf_set(err, "cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	for (p = buf_str(&text); *p; p = *eol ? eol + 1 : eol) {
		int first = ++line;

		eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		p = skip_space(p);
		if (p == eol || *p == '#' || *p == '\r')
			continue;
		if (!strncmp(p, "export", 6) && (p[6] == ' ' || p[6] == '\t'))
			p = skip_space(p + 6);
		buf_reset(&key);
		while (p < eol && (isalnum((unsigned char)*p) || *p == '_' || *p == '.' ||
				   *p == '-'))
			buf_addch(&key, *p++);
		p = skip_space(p);
		if (!key.len || *p != '=') {
			buf_set(err, "cannot parse '%s' line %d: expected KEY=VALUE", path,
				first);
			goto out;
		}
		p = skip_space(p + 1);
		buf_reset(&v);
		buf_adds(&v, "");
		if (*p == '\'' || *p == '"') {
			if (*p == '"') {
				double_quoted(p + 1, &v, &end);
			} else {
				const char *q = strchr(p + 1, '\'');

				end = q ? q + 1 : NULL;
				if (q)
					buf_add(&v, p + 1, (size_t)(q - p - 1));
			}
			if (!end) {
				buf_set(err, "cannot parse '%s' line %d: '%s' has no closing quote",
					path, first, key.data);
				goto out;
			}
			while (*eol && eol < end) {	/* a value over lines */
				const char *nl = strchr(eol + 1, '\n');

				eol = nl ? nl : eol + strlen(eol);
				line++;
			}
			end = skip_space(end);
			if (end < eol && *end != '#' && *end != '\r') {
				buf_set(err, "cannot parse '%s' line %d: text after the quoted "
					"value of '%s'", path, first, key.data);
				goto out;
			}
		} else {
			const char *q = p;

			while (q < eol && !(*q == '#' && (q == p || q[-1] == ' ' ||
							  q[-1] == '\t')))
				q++;
			while (q > p && isspace((unsigned char)q[-1]))
				q--;
			buf_add(&v, p, (size_t)(q - p));
		}
		obj_put(vars, key.data, cJSON_CreateString(v.data));
	}
	*out = vars;
	vars = NULL;
	rc = 0;
out:
	cJSON_Delete(vars);
	explicit_bzero(text.data, text.len);
	buf_release(&text);
	buf_release(&key);
	if (v.data)
		explicit_bzero(v.data, v.len);
	buf_release(&v);
	return rc;
}

/* The value of name: the environment's, else the .env file's; NULL or
 * empty counts as missing. */
static const char *var(const cJSON *file, const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v)
		v = file ? obj_str(file, name) : NULL;
	return v && *v ? v : NULL;
}

static char *xdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		die("out of memory");
	return d;
}

/* The key file path: absolute, or relative to the .env file's directory. */
static char *key_path(const char *value, const char *env_path)
{
	struct buf b = BUF_INIT;
	const char *slash;

	if (value[0] == '/' || !env_path)
		return xdup(value);
	slash = strrchr(env_path, '/');
	buf_add(&b, env_path, (size_t)(slash - env_path));
	buf_printf(&b, "/%s", value);
	return buf_detach(&b, NULL);
}

static int check_key(const char *path, struct buf *err)
{
	struct buf text = BUF_INIT;
	cJSON *key = NULL;
	const char *type;
	int rc = -1;

	if (buf_read_file(&text, path) < 0) {
		buf_set(err, "cannot read the service account key '%s' (%s): %s", path,
			VAR_KEY, strerror(errno));
		goto out;
	}
	key = cJSON_ParseWithLength(buf_str(&text), text.len);
	type = obj_str(key, "type");
	if (!cJSON_IsObject(key) || !type || strcmp(type, "service_account") ||
	    !obj_str(key, "client_email") || !obj_str(key, "private_key")) {
		buf_set(err, "'%s' (%s) is not a service account key file: it needs type "
			"service_account, client_email and private_key", path, VAR_KEY);
		goto out;
	}
	rc = 0;
out:
	if (key) {
		cJSON *pk = cJSON_GetObjectItemCaseSensitive(key, "private_key");

		if (cJSON_IsString(pk))
			explicit_bzero(pk->valuestring, strlen(pk->valuestring));
	}
	cJSON_Delete(key);
	explicit_bzero(text.data, text.len);
	buf_release(&text);
	return rc;
}

int share_conf_load(const char *dir, struct share_conf *c, struct buf *err)
{
	struct buf path = BUF_INIT, missing = BUF_INIT, tmp = BUF_INIT, tok = BUF_INIT;
	cJSON *file = NULL;
	const char *type, *url, *key;
	int n = 0, rc = -1;

	memset(c, 0, sizeof(*c));
	if (share_env_find(dir, &path, err) < 0)
		goto out;
	if (path.len) {
		if (share_env_parse(path.data, &file, err) < 0)
			goto out;
		c->env_path = xdup(path.data);
	}
	type = var(file, VAR_TYPE);
	url = var(file, VAR_URL);
	key = var(file, VAR_KEY);
	if (type && strcmp(type, "nextcloud") && strcmp(type, "gdrive")) {
		buf_set(err, "%s is '%s': it must be nextcloud or gdrive", VAR_TYPE, type);
		goto out;
	}
#define MISSING(name, why) (buf_printf(&missing, "%s%s (%s)", n++ ? ", " : "", name, why))
	if (!type)
		MISSING(VAR_TYPE, "nextcloud or gdrive");
	if (!url)
		MISSING(VAR_URL, type && !strcmp(type, "gdrive") ?
			"the Drive folder link or id" : "the share link");
	if (type && !strcmp(type, "gdrive") && !key)
		MISSING(VAR_KEY, "the service account key file");
#undef MISSING
	if (n) {
		if (c->env_path)
			buf_set(err, "missing share settings in '%s' and the environment: %s",
				c->env_path, missing.data);
		else
			buf_set(err, "no .env file in '%s' or its parents, and missing from "
				"the environment: %s", dir, missing.data);
		goto out;
	}
	c->type = xdup(type);
	c->url = xdup(url);
	if (!strcmp(type, "nextcloud")) {
		if (share_nextcloud_url(url, &tmp, &tok, err) < 0)
			goto out;
	} else {
		if (share_gdrive_folder(url, &tmp, err) < 0)
			goto out;
		c->folder = buf_detach(&tmp, NULL);
		c->key_path = key_path(key, c->env_path);
		if (check_key(c->key_path, err) < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		share_conf_free(c);
	if (file) {
		const cJSON *it;

		cJSON_ArrayForEach(it, file)
			if (cJSON_IsString(it))
				explicit_bzero(it->valuestring, strlen(it->valuestring));
	}
	cJSON_Delete(file);
	if (tok.data)
		explicit_bzero(tok.data, tok.len);
	buf_release(&tok);
	buf_release(&tmp);
	buf_release(&missing);
	buf_release(&path);
	return rc;
}

void share_conf_free(struct share_conf *c)
{
	free(c->env_path);
	free(c->type);
	if (c->url)
		explicit_bzero(c->url, strlen(c->url));
	free(c->url);
	free(c->key_path);
	free(c->folder);
	memset(c, 0, sizeof(*c));
}

int share_nextcloud_url(const char *url, struct buf *base, struct buf *token,
			struct buf *err)
{
	const char *host, *s, *end;

	if (!strncmp(url, "https://", 8))
		host = url + 8;
	else if (!strncmp(url, "http://", 7))
		host = url + 7;
	else
		goto bad;
	s = strstr(host, "/s/");
	if (!s || s == host)
		goto bad;
	end = s + 3 + strcspn(s + 3, "/?#");
	if (end == s + 3 || (*end == '/' && end[1]))
		goto bad;
	buf_add(base, url, (size_t)(s - url));
	buf_add(token, s + 3, (size_t)(end - s - 3));
	return 0;
bad:
	buf_set(err, "ROBOVAST_SHARE_URL is not a Nextcloud public share link "
		"(https://HOST/s/TOKEN)");
	return -1;
}

static bool id_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_';
}

int share_gdrive_folder(const char *url, struct buf *out, struct buf *err)
{
	const char *p = url, *s;
	size_t n;

	if ((s = strstr(url, "/folders/")))
		p = s + 9;
	else if ((s = strstr(url, "id=")) && (s[-1] == '?' || s[-1] == '&'))
		p = s + 3;
	else if (strstr(url, "://"))
		p = "";
	for (n = 0; id_char(p[n]); n++)
		;
	if (!n || (p[n] && p[n] != '?' && p[n] != '/' && p[n] != '&' && p[n] != '#') ||
	    (p == url && p[n])) {
		buf_set(err, "ROBOVAST_SHARE_URL '%s' is not a Google Drive folder link "
			"(https://drive.google.com/drive/folders/ID) or folder id", url);
		return -1;
	}
	buf_add(out, p, n);
	return 0;
}

void share_size(struct buf *out, int64_t bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (!u)
		buf_printf(out, "%lld B", (long long)bytes);
	else
		buf_printf(out, "%.1f %s", v, units[u]);
}
