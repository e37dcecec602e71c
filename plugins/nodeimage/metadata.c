/* metadata.c - `fetch-metadata [--out DIR]`: the reference pool's template
 * metadata items into DIR/<key> files (mode 0600, DIR 0700), and a summary
 * on stdout. kube-env carries credentials (certificates, keys, tokens):
 * its values go to its file only, never to stdout, stderr or a log; the
 * template is read with .sensitive so -v=8 does not print its body.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "nodeimage.h"
#include "obj.h"
#include "yaml.h"

#define DEFAULT_OUT "node-metadata"
/* A value shorter than this, on one line, is shown in the summary. */
#define SHOW_MAX 120

static const char *out_dir;

const struct cli_opt metadata_opts[] = {
	NI_COMMON_OPTS,
	{ "out", 0, CLI_STR, &out_dir, "DIR",
	  "where the files go (default ./" DEFAULT_OUT ")", NULL, "dir" },
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

/* Metadata keys are [-_a-zA-Z0-9]+ (GCE's rule): safe as file names. */
static bool key_ok(const char *k)
{
	return *k && strspn(k, "-_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789") == strlen(k);
}

static int write_file(const char *path, const char *text, struct buf *err)
{
	size_t len = strlen(text), done = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0 || fchmod(fd, 0600) < 0)
		goto fail;
	while (done < len) {
		ssize_t w = write(fd, text + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		done += (size_t)w;
	}
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	buf_set(err, "cannot write '%s': %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* {KEY: "<redacted>"} for each kube-env entry: the keys, never a value. */
static cJSON *kube_env_keys(const char *text)
{
	struct buf yerr = BUF_INIT;
	cJSON *doc = yaml_parse_one(text, strlen(text), "kube-env", &yerr), *it;
	cJSON *keys = cJSON_CreateObject();

	if (cJSON_IsObject(doc)) {
		cJSON_ArrayForEach(it, doc)
			cJSON_AddStringToObject(keys, it->string, "<redacted>");
	} else {
		/* not YAML we can read: the KEY: prefixes of its lines */
		for (const char *p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "") {
			size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
			struct buf k = BUF_INIT;

			if (n && p[n] == ':') {
				buf_add(&k, p, n);
				cJSON_AddStringToObject(keys, k.data, "<redacted>");
			}
			buf_release(&k);
		}
	}
	cJSON_Delete(doc);
	buf_release(&yerr);
	return keys;
}

static cJSON *summary_item(const char *key, const char *value, const char *file)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "key", key);
	cJSON_AddStringToObject(o, "file", file);
	cJSON_AddNumberToObject(o, "bytes", (double)strlen(value));
	if (!strcmp(key, "kube-env"))
		cJSON_AddItemToObject(o, "kubeEnv", kube_env_keys(value));
	else if (strlen(value) < SHOW_MAX && !strchr(value, '\n'))
		cJSON_AddStringToObject(o, "value", value);
	return o;
}

static int make_dir(const char *dir, struct buf *err)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	buf_set(err, "cannot create '%s': %s", dir, strerror(errno));
	return -1;
}

int metadata_run(struct cli_ctx *ctx)
{
	const char *dir = out_dir && *out_dir ? out_dir : DEFAULT_OUT;
	struct ni_env e;
	struct gcp *g = NULL;
	struct buf err = BUF_INIT, path = BUF_INIT;
	cJSON *tpl = NULL, *res = NULL, *items;
	const cJSON *it;
	int rc;

	(void)ctx;
	if ((rc = ni_open(&e, &g)))
		return rc;
	rc = 1;
	if (ni_ref_template(g, &e, &tpl, &err) < 0 || make_dir(dir, &err) < 0)
		goto fail;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "template", obj_str(tpl, "name") ? obj_str(tpl, "name") : "");
	cJSON_AddStringToObject(res, "out", dir);
	items = cJSON_AddArrayToObject(res, "items");
	cJSON_ArrayForEach(it, obj_get(tpl, "properties.metadata.items")) {
		const char *key = obj_str(it, "key"), *value = obj_str(it, "value");

		if (!key || !value)
			continue;
		if (!key_ok(key)) {
			warn("metadata key '%s' is not a safe file name: skipped", key);
			continue;
		}
		buf_reset(&path);
		buf_printf(&path, "%s/%s", dir, key);
		if (write_file(path.data, value, &err) < 0)
			goto fail;
		cJSON_AddItemToArray(items, summary_item(key, value, path.data));
	}
	rc = ni_print(res) < 0;
	goto out;
fail:
	error("%s", err.data);
out:
	cJSON_Delete(res);
	cJSON_Delete(tpl);
	buf_release(&path);
	buf_release(&err);
	gcp_free(g);
	ni_env_free(&e);
	return rc;
}
