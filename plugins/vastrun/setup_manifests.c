/* setup_manifests.c - the objects of the results store and of the Kueue
 * queues, as setup applies them and prepare-run writes them.
 *
 * The store is a Deployment of one replica (strategy Recreate), not a bare
 * pod as upstream: a node that goes away takes a bare pod with it for good,
 * a Deployment makes it again (with emptyDir storage its data is lost
 * either way; with gcp's disk it comes back). Its pod, labelled
 * app.kubernetes.io/name=robovast, runs MinIO (`server /data`, S3 on 9000,
 * console on 9001, root credentials from the Secret VAST_STORE_SECRET),
 * and for gcp and rke2 an nginx sidecar serving /data read-only on port 80
 * and an archiver sidecar (the wlkit tools image, idle, with /data and the
 * S3 credentials: `kubectl-vastrun pod share` runs in it). minikube has
 * MinIO alone, as upstream's minikube manifest.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "obj.h"
#include "vastrun.h"

#define MINIO_IMAGE "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z"
#define NGINX_IMAGE "nginx:1.27-alpine"
#define STORE_NAME "robovast"
#define STORE_PVC "robovast-data"
#define STORE_CLASS "robovast-pd"

static cJSON *must(cJSON *item)
{
	if (!item)
		die("out of memory");
	return item;
}

static const char *opt(const cJSON *options, const char *key, const char *def)
{
	const cJSON *v = options ? cJSON_GetObjectItemCaseSensitive(options, key) : NULL;

	return cJSON_IsString(v) ? v->valuestring : def;
}

/* Each option must be one the config knows; gcp's values are checked. */
static int check_options(const char *config, const cJSON *options, struct buf *err)
{
	static const char *const gcp_keys[] = { "storage_size", "disk_type", NULL };
	const cJSON *o;
	struct buf why = BUF_INIT;
	int rc = -1;

	cJSON_ArrayForEach(o, options) {
		bool known = false;
		for (int i = 0; !strcmp(config, "gcp") && gcp_keys[i]; i++)
			known |= !strcmp(o->string, gcp_keys[i]);
		if (!known) {
			if (!strcmp(config, "gcp"))
				buf_set(err, "unknown option '%s' for cluster config 'gcp' "
					"(known: storage_size, disk_type)", o->string);
			else
				buf_set(err, "cluster config '%s' takes no options (got '%s')",
					config, o->string);
			goto out;
		}
	}
	if (!strcmp(config, "gcp")) {
		const char *size = opt(options, "storage_size", "10Gi");
		const char *disk = opt(options, "disk_type", "pd-standard");
		int64_t bytes;

		if (quantity_value(size, &bytes, &why) < 0 || bytes <= 0) {
			buf_set(err, "invalid option storage_size '%s': %s", size,
				why.len ? buf_str(&why) : "must be positive");
			goto out;
		}
		if (strcmp(disk, "pd-standard") && strcmp(disk, "pd-ssd") &&
		    strcmp(disk, "pd-balanced")) {
			buf_set(err, "invalid option disk_type '%s': must be pd-standard, "
				"pd-ssd or pd-balanced", disk);
			goto out;
		}
	}
	rc = 0;
out:
	buf_release(&why);
	return rc;
}

static cJSON *secret_env(const char *name, const char *key)
{
	cJSON *e = must(cJSON_CreateObject());

	cJSON_AddStringToObject(e, "name", name);
	obj_set_str(e, "valueFrom.secretKeyRef.name", VAST_STORE_SECRET);
	obj_set_str(e, "valueFrom.secretKeyRef.key", key);
	return e;
}

static cJSON *port(const char *name, int number)
{
	cJSON *p = must(cJSON_CreateObject());

	cJSON_AddStringToObject(p, "name", name);
	cJSON_AddNumberToObject(p, "containerPort", number);
	return p;
}

static cJSON *mount(const char *path, bool ro)
{
	cJSON *m = must(cJSON_CreateObject());

	cJSON_AddStringToObject(m, "name", "data");
	cJSON_AddStringToObject(m, "mountPath", path);
	if (ro)
		cJSON_AddTrueToObject(m, "readOnly");
	return m;
}

static cJSON *string_array(const char *const *s)
{
	cJSON *a = must(cJSON_CreateArray());

	for (; *s; s++)
		cJSON_AddItemToArray(a, must(cJSON_CreateString(*s)));
	return a;
}

static cJSON *minio_container(void)
{
	static const char *const args[] = { "server", "/data", "--console-address", ":9001", NULL };
	cJSON *c = must(cJSON_CreateObject()), *a;

	cJSON_AddStringToObject(c, "name", "minio");
	cJSON_AddStringToObject(c, "image", MINIO_IMAGE);
	cJSON_AddItemToObject(c, "args", string_array(args));
	a = cJSON_AddArrayToObject(c, "env");
	cJSON_AddItemToArray(a, secret_env("MINIO_ROOT_USER", "access-key"));
	cJSON_AddItemToArray(a, secret_env("MINIO_ROOT_PASSWORD", "secret-key"));
	a = cJSON_AddArrayToObject(c, "ports");
	cJSON_AddItemToArray(a, port("s3", 9000));
	cJSON_AddItemToArray(a, port("console", 9001));
	obj_set_str(c, "readinessProbe.httpGet.path", "/minio/health/ready");
	obj_set_str(c, "readinessProbe.httpGet.port", "s3");
	a = cJSON_AddArrayToObject(c, "volumeMounts");
	cJSON_AddItemToArray(a, mount("/data", false));
	return c;
}

static cJSON *nginx_container(void)
{
	cJSON *c = must(cJSON_CreateObject()), *a;

	cJSON_AddStringToObject(c, "name", "nginx");
	cJSON_AddStringToObject(c, "image", NGINX_IMAGE);
	a = cJSON_AddArrayToObject(c, "ports");
	cJSON_AddItemToArray(a, port("http", 80));
	a = cJSON_AddArrayToObject(c, "volumeMounts");
	cJSON_AddItemToArray(a, mount("/usr/share/nginx/html", true));
	return c;
}

static cJSON *archiver_container(void)
{
	static const char *const cmd[] = { "sleep", "infinity", NULL };
	cJSON *c = must(cJSON_CreateObject()), *a, *e;

	cJSON_AddStringToObject(c, "name", "archiver");
	cJSON_AddStringToObject(c, "image", VAST_DEFAULT_TOOLS_IMAGE);
	cJSON_AddItemToObject(c, "command", string_array(cmd));
	a = cJSON_AddArrayToObject(c, "env");
	cJSON_AddItemToArray(a, secret_env("AWS_ACCESS_KEY_ID", "access-key"));
	cJSON_AddItemToArray(a, secret_env("AWS_SECRET_ACCESS_KEY", "secret-key"));
	e = must(cJSON_CreateObject());
	cJSON_AddStringToObject(e, "name", "S3_ENDPOINT");
	cJSON_AddStringToObject(e, "value", "http://127.0.0.1:9000");
	cJSON_AddItemToArray(a, e);
	a = cJSON_AddArrayToObject(c, "volumeMounts");
	cJSON_AddItemToArray(a, mount("/data", false));
	return c;
}

static void labels(cJSON *o, const char *path)
{
	cJSON *l = obj_ensure(o, path);

	cJSON_AddStringToObject(l, "app.kubernetes.io/name", STORE_NAME);
	cJSON_AddStringToObject(l, VAST_LABEL_APP, "kubectl-vastrun");
}

static cJSON *deployment(const char *config)
{
	cJSON *d = must(obj_new("apps/v1", "Deployment", NULL, STORE_NAME));
	cJSON *spec, *pod, *cs, *vol;

	labels(d, "metadata.labels");
	spec = obj_ensure(d, "spec");
	cJSON_AddNumberToObject(spec, "replicas", 1);
	obj_set_str(d, "spec.strategy.type", "Recreate");
	cJSON_AddStringToObject(obj_ensure(d, "spec.selector.matchLabels"),
				"app.kubernetes.io/name", STORE_NAME);
	labels(d, "spec.template.metadata.labels");
	pod = obj_ensure(d, "spec.template.spec");
	cs = cJSON_AddArrayToObject(pod, "containers");
	cJSON_AddItemToArray(cs, minio_container());
	if (strcmp(config, "minikube")) {
		cJSON_AddItemToArray(cs, nginx_container());
		cJSON_AddItemToArray(cs, archiver_container());
	}
	vol = must(cJSON_CreateObject());
	cJSON_AddStringToObject(vol, "name", "data");
	if (!strcmp(config, "gcp"))
		obj_set_str(vol, "persistentVolumeClaim.claimName", STORE_PVC);
	else
		cJSON_AddItemToObject(vol, "emptyDir", must(cJSON_CreateObject()));
	cJSON_AddItemToArray(cJSON_AddArrayToObject(pod, "volumes"), vol);
	return d;
}

static cJSON *service(const char *config)
{
	cJSON *s = must(obj_new("v1", "Service", NULL, STORE_NAME));
	cJSON *ports, *p;
	struct { const char *name; int port; } ps[] = {
		{ "s3", 9000 }, { "console", 9001 }, { "http", 80 },
	};

	labels(s, "metadata.labels");
	cJSON_AddStringToObject(obj_ensure(s, "spec.selector"), "app.kubernetes.io/name",
				STORE_NAME);
	ports = cJSON_AddArrayToObject(obj_ensure(s, "spec"), "ports");
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		if (ps[i].port == 80 && !strcmp(config, "minikube"))
			continue;
		p = must(cJSON_CreateObject());
		cJSON_AddStringToObject(p, "name", ps[i].name);
		cJSON_AddNumberToObject(p, "port", ps[i].port);
		cJSON_AddStringToObject(p, "targetPort", ps[i].name);
		cJSON_AddItemToArray(ports, p);
	}
	return s;
}

static void gcp_storage(const cJSON *options, cJSON *out)
{
	cJSON *sc = must(obj_new("storage.k8s.io/v1", "StorageClass", NULL, STORE_CLASS));
	cJSON *pvc = must(obj_new("v1", "PersistentVolumeClaim", NULL, STORE_PVC));
	cJSON *a;

	labels(sc, "metadata.labels");
	cJSON_AddStringToObject(sc, "provisioner", "pd.csi.storage.gke.io");
	obj_set_str(sc, "parameters.type", opt(options, "disk_type", "pd-standard"));
	cJSON_AddStringToObject(sc, "reclaimPolicy", "Delete");
	cJSON_AddStringToObject(sc, "volumeBindingMode", "WaitForFirstConsumer");
	cJSON_AddTrueToObject(sc, "allowVolumeExpansion");
	cJSON_AddItemToArray(out, sc);

	labels(pvc, "metadata.labels");
	a = cJSON_AddArrayToObject(obj_ensure(pvc, "spec"), "accessModes");
	cJSON_AddItemToArray(a, must(cJSON_CreateString("ReadWriteOnce")));
	obj_set_str(pvc, "spec.storageClassName", STORE_CLASS);
	obj_set_str(pvc, "spec.resources.requests.storage", opt(options, "storage_size", "10Gi"));
	cJSON_AddItemToArray(out, pvc);
}

int store_manifests(const char *config, const cJSON *options, cJSON *out_array,
		    struct buf *err)
{
	if (strcmp(config, "gcp") && strcmp(config, "rke2") && strcmp(config, "minikube")) {
		buf_set(err, "unknown cluster config '%s' (known: gcp, rke2, minikube)", config);
		return -1;
	}
	if (check_options(config, options, err) < 0)
		return -1;
	if (!strcmp(config, "gcp"))
		gcp_storage(options, out_array);
	cJSON_AddItemToArray(out_array, deployment(config));
	cJSON_AddItemToArray(out_array, service(config));
	return 0;
}

int kueue_manifests(int64_t cpu_cores, int64_t memory_gi, const char *ns,
		    cJSON *out_array)
{
	cJSON *rf = must(obj_new("kueue.x-k8s.io/v1beta1", "ResourceFlavor", NULL, VAST_FLAVOR));
	cJSON *cq = must(obj_new("kueue.x-k8s.io/v1beta1", "ClusterQueue", NULL,
				 VAST_CLUSTER_QUEUE));
	cJSON *lq = must(obj_new("kueue.x-k8s.io/v1beta1", "LocalQueue", ns, VAST_LOCAL_QUEUE));
	cJSON *spec, *groups, *g, *flavors, *f, *res, *r;
	struct buf q = BUF_INIT;

	labels(rf, "metadata.labels");
	cJSON_AddItemToObject(rf, "spec", must(cJSON_CreateObject()));
	cJSON_AddItemToArray(out_array, rf);

	labels(cq, "metadata.labels");
	spec = obj_ensure(cq, "spec");
	cJSON_AddItemToObject(spec, "namespaceSelector", must(cJSON_CreateObject()));
	groups = cJSON_AddArrayToObject(spec, "resourceGroups");
	g = must(cJSON_CreateObject());
	cJSON_AddItemToArray(groups, g);
	r = cJSON_AddArrayToObject(g, "coveredResources");
	cJSON_AddItemToArray(r, must(cJSON_CreateString("cpu")));
	cJSON_AddItemToArray(r, must(cJSON_CreateString("memory")));
	flavors = cJSON_AddArrayToObject(g, "flavors");
	f = must(cJSON_CreateObject());
	cJSON_AddItemToArray(flavors, f);
	cJSON_AddStringToObject(f, "name", VAST_FLAVOR);
	res = cJSON_AddArrayToObject(f, "resources");
	r = must(cJSON_CreateObject());
	cJSON_AddStringToObject(r, "name", "cpu");
	buf_printf(&q, "%lld", (long long)cpu_cores);
	cJSON_AddStringToObject(r, "nominalQuota", buf_str(&q));
	cJSON_AddItemToArray(res, r);
	r = must(cJSON_CreateObject());
	cJSON_AddStringToObject(r, "name", "memory");
	buf_reset(&q);
	buf_printf(&q, "%lldGi", (long long)memory_gi);
	cJSON_AddStringToObject(r, "nominalQuota", buf_str(&q));
	cJSON_AddItemToArray(res, r);
	cJSON_AddItemToArray(out_array, cq);

	labels(lq, "metadata.labels");
	obj_set_str(lq, "spec.clusterQueue", VAST_CLUSTER_QUEUE);
	cJSON_AddItemToArray(out_array, lq);
	buf_release(&q);
	return 0;
}
