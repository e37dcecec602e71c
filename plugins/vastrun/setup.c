/* setup.c - `kubectl vastrun setup CONFIG | --list`: the results store
 * and the Kueue queues (setup_kueue.c), idempotent.
 *
 * Everything the command line says is checked before anything is written
 * (config, options, store flags, credential files), and Kueue's presence
 * too. Then, in the namespace: the Secret VAST_STORE_SECRET (for MinIO,
 * credentials generated now from /dev/urandom and kept when the Secret
 * exists, so a second setup does not cut off running jobs; for an
 * external store, the credentials given), the store's objects
 * (setup_manifests.c; none for an external store), the ConfigMap
 * VAST_STORE_CONFIGMAP that store.c reads (kind, endpoint as pods reach
 * it, region), then the ResourceFlavor, ClusterQueue and LocalQueue. All
 * writes are server-side applies, so running setup again changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "obj.h"
#include "setup.h"
#include "vastrun.h"

#define FIELD_MANAGER "kubectl-vastrun"

static struct cli_list opt_options;
static const char *opt_store = "minio";
static const char *opt_endpoint;
static const char *opt_access_file;
static const char *opt_secret_file;
static const char *opt_region = "us-east-1";
static bool opt_list;

const struct cli_opt setup_opts[] = {
	{ "option", 0, CLI_LIST, &opt_options, "KEY=VALUE",
	  "A cluster config option (gcp: storage_size, disk_type); repeatable", NULL, NULL },
	{ "store", 0, CLI_STR, &opt_store, "KIND",
	  "minio (deploy MinIO, the default) or external (record an S3 store you have)",
	  "minio|external", NULL },
	{ "s3-endpoint", 0, CLI_STR, &opt_endpoint, "URL",
	  "The external store's URL, as the cluster's pods reach it", NULL, NULL },
	{ "s3-access-key-file", 0, CLI_STR, &opt_access_file, "FILE",
	  "The external store's access key (default: $AWS_ACCESS_KEY_ID)", NULL, "file" },
	{ "s3-secret-key-file", 0, CLI_STR, &opt_secret_file, "FILE",
	  "The external store's secret key (default: $AWS_SECRET_ACCESS_KEY)", NULL, "file" },
	{ "s3-region", 0, CLI_STR, &opt_region, "REGION",
	  "The SigV4 region of the external store (default us-east-1)", NULL, NULL },
	{ "list", 0, CLI_BOOL, &opt_list, NULL, "List the cluster configs", NULL, NULL },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

static const struct { const char *name, *what; } configs[] = {
	{ "gcp", "GKE: MinIO on a GCE persistent disk (StorageClass on pd.csi.storage.gke.io; "
		 "options storage_size=10Gi, disk_type=pd-standard|pd-ssd|pd-balanced)" },
	{ "rke2", "RKE2: MinIO on emptyDir (the data is lost when the pod restarts), "
		  "nginx and archiver sidecars" },
	{ "minikube", "minikube: MinIO alone on emptyDir (the data is lost when the pod restarts)" },
};

/* ---- credentials ---------------------------------------------------- */

/* n random bytes as base64url without padding, appended to out. */
static int random_token(size_t n, struct buf *out, struct buf *err)
{
	unsigned char raw[64];
	struct buf b = BUF_INIT;
	size_t got = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || n > sizeof(raw)) {
		buf_set(err, "cannot read '/dev/urandom': %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (got < n) {
		ssize_t r = read(fd, raw + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			buf_set(err, "cannot read '/dev/urandom': %s",
				r < 0 ? strerror(errno) : "end of file");
			close(fd);
			return -1;
		}
		got += (size_t)r;
	}
	close(fd);
	buf_add_base64(&b, raw, n);
	for (size_t i = 0; i < b.len; i++) {
		if (b.data[i] == '+')
			b.data[i] = '-';
		else if (b.data[i] == '/')
			b.data[i] = '_';
		else if (b.data[i] == '=')
			b.len = i;
	}
	buf_add(out, b.data, b.len);
	buf_release(&b);
	return 0;
}

/* A key from FILE (first line, trailing whitespace cut) or the variable. */
static int read_key(const char *file, const char *var, const char *what,
		    struct buf *out, struct buf *err)
{
	if (file) {
		if (buf_read_file(out, file) < 0) {
			buf_set(err, "cannot read %s file '%s': %s", what, file, strerror(errno));
			return -1;
		}
		if (memchr(out->data ? out->data : "", '\n', out->len))
			buf_setlen(out, (size_t)((char *)memchr(out->data, '\n', out->len) - out->data));
		while (out->len && (out->data[out->len - 1] == '\r' ||
				    out->data[out->len - 1] == ' ' || out->data[out->len - 1] == '\t'))
			buf_setlen(out, out->len - 1);
		if (!out->len) {
			buf_set(err, "%s file '%s' is empty", what, file);
			return -1;
		}
		return 0;
	}
	if (getenv(var) && *getenv(var)) {
		buf_adds(out, getenv(var));
		return 0;
	}
	buf_set(err, "--store external needs the %s: --s3-%s-file FILE or $%s", what,
		strcmp(what, "access key") ? "secret-key" : "access-key", var);
	return -1;
}

static cJSON *secret_object(const char *ns, const char *access, const char *secret)
{
	cJSON *s = obj_new("v1", "Secret", ns, VAST_STORE_SECRET);
	struct buf b = BUF_INIT;

	obj_set_label(s, VAST_LABEL_APP, "kubectl-vastrun");
	obj_set_str(s, "type", "Opaque");
	buf_add_base64(&b, access, strlen(access));
	cJSON_AddStringToObject(obj_ensure(s, "data"), "access-key", buf_str(&b));
	buf_reset(&b);
	buf_add_base64(&b, secret, strlen(secret));
	cJSON_AddStringToObject(obj_ensure(s, "data"), "secret-key", buf_str(&b));
	buf_release(&b);
	return s;
}

/* ---- applying -------------------------------------------------------- */

void vast_report(const struct buf *err)
{
	const char *m = buf_str(err);

	if (!strncmp(m, "error: ", 7) || !strncmp(m, "Error from server", 17) ||
	    !strncmp(m, "Unable to connect", 17) || !strncmp(m, "The connection to", 17))
		fprintf(stderr, "%s\n", m);
	else
		error("%s", m);
}

int vast_kerr(struct buf *err, const struct kube_err *ke)
{
	buf_reset(err);
	kube_err_format(ke, err);
	return -1;
}

int setup_apply(struct kube *k, const cJSON *obj, const char *ns, struct buf *err)
{
	struct kube_err ke = KUBE_ERR_INIT;
	struct kube_resource r;
	struct buf ref = BUF_INIT;
	cJSON *out = NULL;
	int rc = -1;

	if (kube_apply(k, obj, ns, true, false, &out, &ke) < 0 ||
	    kube_resolve(k, obj_api_version(obj), obj_kind(obj), &r, &ke) < 0) {
		vast_kerr(err, &ke);
		goto out;
	}
	kube_object_ref(&r, obj_name(obj), &ref);
	info("%s serverside-applied", buf_str(&ref));
	rc = 0;
out:
	cJSON_Delete(out);
	buf_release(&ref);
	kube_err_release(&ke);
	return rc;
}

/* MinIO: keeps an existing Secret, else creates one with fresh keys. */
static int ensure_minio_secret(struct kube *k, const char *ns, struct buf *err)
{
	struct kube_err ke = KUBE_ERR_INIT;
	struct buf access = BUF_INIT, secret = BUF_INIT;
	cJSON *cur = NULL, *s = NULL;
	int rc = -1;

	if (kube_get(k, "v1", "Secret", ns, VAST_STORE_SECRET, &cur, &ke) == 0) {
		const cJSON *d = obj_get(cur, "data");
		if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(d, "access-key")) &&
		    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(d, "secret-key"))) {
			info("secret/%s kept (existing credentials)", VAST_STORE_SECRET);
			rc = 0;
			goto out;
		}
	} else if (ke.code != 404) {
		vast_kerr(err, &ke);
		goto out;
	}
	if (random_token(15, &access, err) < 0 || random_token(30, &secret, err) < 0)
		goto out;
	s = secret_object(ns, buf_str(&access), buf_str(&secret));
	rc = setup_apply(k, s, ns, err);
out:
	cJSON_Delete(cur);
	cJSON_Delete(s);
	buf_release(&access);
	buf_release(&secret);
	kube_err_release(&ke);
	return rc;
}

static cJSON *store_configmap(const char *ns, const char *kind, const char *endpoint,
			      const char *region, const char *config)
{
	cJSON *cm = obj_new("v1", "ConfigMap", ns, VAST_STORE_CONFIGMAP);
	cJSON *d;

	obj_set_label(cm, VAST_LABEL_APP, "kubectl-vastrun");
	d = obj_ensure(cm, "data");
	cJSON_AddStringToObject(d, "kind", kind);
	cJSON_AddStringToObject(d, "endpoint", endpoint);
	cJSON_AddStringToObject(d, "region", region);
	cJSON_AddStringToObject(d, "config", config);
	return cm;
}

/* ---- the command ---------------------------------------------------- */

static int list_configs(void)
{
	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++)
		printf("%-10s %s\n", configs[i].name, configs[i].what);
	return 0;
}

static int parse_options(struct cli_ctx *ctx, cJSON *options)
{
	for (int i = 0; i < opt_options.n; i++) {
		const char *kv = opt_options.items[i], *eq = strchr(kv, '=');
		char *key;

		if (!eq || eq == kv)
			return cli_usage_error(ctx, "invalid --option '%s': want KEY=VALUE", kv);
		if (!(key = strndup(kv, (size_t)(eq - kv))))
			die("out of memory");
		cJSON_DeleteItemFromObjectCaseSensitive(options, key);
		cJSON_AddStringToObject(options, key, eq + 1);
		free(key);
	}
	return 0;
}

int setup_run(struct cli_ctx *ctx)
{
	struct kube_err ke = KUBE_ERR_INIT;
	struct buf err = BUF_INIT, access = BUF_INIT, secret = BUF_INIT, ep = BUF_INIT;
	cJSON *options = cJSON_CreateObject(), *objs = cJSON_CreateArray(), *o;
	bool external = !strcmp(opt_store, "external");
	struct kube *k = NULL;
	const char *config, *ns;
	int rc = EXIT_USAGE;

	if (!options || !objs)
		die("out of memory");
	if (opt_list) {
		if (ctx->argc)
			goto usage_list;
		rc = list_configs();
		goto out;
	}
	if (ctx->argc != 1) {
		rc = cli_usage_error(ctx, "setup needs a cluster config (gcp, rke2, minikube) or --list");
		goto out;
	}
	config = ctx->argv[0];
	if (parse_options(ctx, options))
		goto out;
	if (store_manifests(config, options, objs, &err) < 0) {
		rc = cli_usage_error(ctx, "%s", buf_str(&err));
		goto out;
	}
	if (external) {
		if (!opt_endpoint) {
			rc = cli_usage_error(ctx, "--store external needs --s3-endpoint URL");
			goto out;
		}
		if (strncmp(opt_endpoint, "http://", 7) && strncmp(opt_endpoint, "https://", 8)) {
			rc = cli_usage_error(ctx, "invalid --s3-endpoint '%s': want http(s)://HOST[:PORT]",
					     opt_endpoint);
			goto out;
		}
		if (read_key(opt_access_file, "AWS_ACCESS_KEY_ID", "access key", &access, &err) < 0 ||
		    read_key(opt_secret_file, "AWS_SECRET_ACCESS_KEY", "secret key", &secret, &err) < 0) {
			rc = cli_usage_error(ctx, "%s", buf_str(&err));
			goto out;
		}
	} else if (opt_endpoint || opt_access_file || opt_secret_file) {
		rc = cli_usage_error(ctx, "--s3-endpoint and the key files are for --store external");
		goto out;
	}

	rc = 1;
	if (kube_open(&ctx->g.kube, FIELD_MANAGER, &k, &ke) < 0) {
		kube_err_print(&ke);
		goto out;
	}
	ns = kube_namespace(k);
	if (kueue_ensure(k, &ctx->g.kube, &err) < 0)
		goto fail;
	if (external) {
		o = secret_object(ns, buf_str(&access), buf_str(&secret));
		if (setup_apply(k, o, ns, &err) < 0) {
			cJSON_Delete(o);
			goto fail;
		}
		cJSON_Delete(o);
		buf_adds(&ep, opt_endpoint);
		while (ep.len && ep.data[ep.len - 1] == '/')
			buf_setlen(&ep, ep.len - 1);
	} else {
		if (ensure_minio_secret(k, ns, &err) < 0)
			goto fail;
		cJSON_ArrayForEach(o, objs)
			if (setup_apply(k, o, ns, &err) < 0)
				goto fail;
		buf_printf(&ep, "http://robovast.%s.svc:9000", ns);
		if (!strcmp(config, "gcp"))
			info("the results live on a persistent disk; after cleanup, check that "
			     "its PersistentVolume was reclaimed");
		else
			info("the results store uses emptyDir: its data is lost when the robovast "
			     "pod restarts; download results before changing it");
	}
	o = store_configmap(ns, external ? "external" : "minio", buf_str(&ep),
			    external ? opt_region : "us-east-1", config);
	if (setup_apply(k, o, ns, &err) < 0) {
		cJSON_Delete(o);
		goto fail;
	}
	cJSON_Delete(o);
	if (kueue_queues(k, ns, &err) < 0)
		goto fail;
	rc = 0;
	goto out;
usage_list:
	rc = cli_usage_error(ctx, "--list takes no cluster config");
	goto out;
fail:
	vast_report(&err);
	rc = 1;
out:
	cJSON_Delete(options);
	cJSON_Delete(objs);
	if (secret.data)
		memset(secret.data, 0, secret.len);
	buf_release(&secret);
	buf_release(&access);
	buf_release(&ep);
	buf_release(&err);
	kube_err_release(&ke);
	kube_close(k);
	return rc;
}
