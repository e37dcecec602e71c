/* env.c - --env K=V and --env-file FILE (xpk syntax: K=V per line, a bare K
 * copies the value from the local environment, '#' starts a comment line,
 * blank lines are skipped; blanks around the name and the value are
 * dropped).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wlrun.h"

bool env_name_valid(const char *s)
{
	if (!*s || isdigit((unsigned char)*s))
		return false;
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return false;
	}
	return true;
}

/* Sets name=value in the array, replacing an entry of that name. */
static void env_put(cJSON *env, const char *name, size_t name_len, const char *value)
{
	cJSON *e, *it;

	cJSON_ArrayForEach(it, env) {
		const char *n = cJSON_GetStringValue(cJSON_GetObjectItem(it, "name"));
		if (n && strlen(n) == name_len && !strncmp(n, name, name_len)) {
			cJSON_ReplaceItemInObject(it, "value", cJSON_CreateString(value));
			return;
		}
	}
	e = cJSON_CreateObject();
	{
		struct buf n = BUF_INIT;
		buf_add(&n, name, name_len);
		cJSON_AddStringToObject(e, "name", buf_str(&n));
		buf_release(&n);
	}
	cJSON_AddStringToObject(e, "value", value);
	cJSON_AddItemToArray(env, e);
}

static int read_env_file(const char *path, cJSON *env, struct buf *why)
{
	struct buf text = BUF_INIT, name = BUF_INIT;
	const char *p, *end;
	int line = 0, rc = -1;

	if (buf_read_file(&text, path) < 0) {
		buf_set(why, "cannot read --env-file '%s': %s", path, strerror(errno));
		goto out;
	}
	p = buf_str(&text);
	end = p + text.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *s = p, *e = le, *eq;
		line++;
		p = nl ? nl + 1 : end;
		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (s == e || *s == '#')
			continue;
		eq = memchr(s, '=', (size_t)(e - s));
		buf_reset(&name);
		buf_add(&name, s, (size_t)((eq ? eq : e) - s));
		while (name.len && isspace((unsigned char)name.data[name.len - 1]))
			buf_setlen(&name, name.len - 1);
		if (!env_name_valid(buf_str(&name))) {
			buf_set(why, "cannot parse --env-file '%s' line %d: '%s' is not a valid "
				"variable name", path, line, buf_str(&name));
			goto out;
		}
		if (eq) {
			struct buf v = BUF_INIT;
			const char *vs = eq + 1;
			while (vs < e && isspace((unsigned char)*vs))
				vs++;
			buf_add(&v, vs, (size_t)(e - vs));
			env_put(env, name.data, name.len, buf_str(&v));
			buf_release(&v);
		} else {
			const char *local = getenv(buf_str(&name));
			if (!local) {
				buf_set(why, "cannot parse --env-file '%s' line %d: '%s' is not set "
					"in the local environment", path, line, buf_str(&name));
				goto out;
			}
			env_put(env, name.data, name.len, local);
		}
	}
	rc = 0;
out:
	buf_release(&name);
	buf_release(&text);
	return rc;
}

int env_collect(const struct cli_list *envs, const char *env_file, cJSON **out,
		struct buf *why)
{
	cJSON *env = cJSON_CreateArray();
	int rc = -1;

	if (env_file && read_env_file(env_file, env, why) < 0)
		goto out;
	for (int i = 0; i < envs->n; i++) {
		const char *s = envs->items[i], *eq = strchr(s, '=');
		struct buf n = BUF_INIT;
		bool ok;
		buf_add(&n, s, eq ? (size_t)(eq - s) : strlen(s));
		ok = eq && env_name_valid(buf_str(&n));
		buf_release(&n);
		if (!ok) {
			buf_set(why, "invalid --env '%s': want NAME=VALUE", s);
			goto out;
		}
		env_put(env, s, (size_t)(eq - s), eq + 1);
	}
	*out = env;
	env = NULL;
	rc = 0;
out:
	cJSON_Delete(env);
	return rc;
}
