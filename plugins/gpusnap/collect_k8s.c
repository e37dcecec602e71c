/* collect_k8s.c - the K8s measurement: server (version, platform, go
 * version), node (this node: provider, runtime, kernel, OS image, kubelet,
 * allocatable GPUs, GPU labels), image (image -> tag over all pods of all
 * namespaces) and policy (the GPU Operator ClusterPolicy's spec as dotted
 * keys).
 *
 * The cluster is found as kubectl finds it (kube_config.h), in-cluster
 * config included. No configuration at all (a laptop without clusters) is
 * skipped without a warning, as "no cluster configured"; a configured
 * cluster that does not answer /version is a warning and -1. Once the
 * server answered, a subtype that cannot be read (forbidden, node not
 * registered) is a warning and is left out; an absent ClusterPolicy CRD is
 * no subtype and no warning. Pods are read a page at a time, so memory
 * stays that of one page however large the cluster.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "gpusnap.h"
#include "kube.h"
#include "log.h"
#include "obj.h"

#define FIELD_MANAGER "kubectl-gpusnap"
#define REQUEST_TIMEOUT "20s"	/* unless --request-timeout says otherwise */
#define PODS_PAGE 500
#define NO_CONFIG "invalid configuration: no configuration has been provided"

static void put_str(cJSON *data, const char *key, const char *value)
{
	if (value && *value && !cJSON_AddStringToObject(data, key, value))
		die("out of memory");
}

static void warn_kube(const char *what, const struct kube_err *err)
{
	struct buf m = BUF_INIT;

	kube_err_format(err, &m);
	warn("%s: %s", what, buf_str(&m));
	buf_release(&m);
}

static void collect_server(const cJSON *v, cJSON *doc)
{
	cJSON *data = snap_subtype(snap_measurement(doc, "K8s"), "server");

	put_str(data, "version", obj_str(v, "gitVersion"));
	put_str(data, "platform", obj_str(v, "platform"));
	put_str(data, "go-version", obj_str(v, "goVersion"));
}

/* aws -> eks, gce -> gke, azure -> aks, oci -> oke, else the scheme. */
static void provider_of(const char *provider_id, struct buf *out)
{
	static const char *const map[][2] = {
		{ "aws", "eks" }, { "gce", "gke" }, { "azure", "aks" }, { "oci", "oke" },
	};
	size_t n = strcspn(provider_id, ":");

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i][0]) == n && !strncmp(provider_id, map[i][0], n)) {
			buf_adds(out, map[i][1]);
			return;
		}
	buf_add(out, provider_id, n);
}

/* A quantity that is a whole number as a number, else the string. */
static void put_quantity(cJSON *data, const char *key, const char *q)
{
	int64_t v;

	if (!q)
		return;
	if (quantity_value(q, &v, NULL) < 0)
		put_str(data, key, q);
	else if (!cJSON_AddNumberToObject(data, key, (double)v))
		die("out of memory");
}

static void collect_node(struct kube *k, const char *name, cJSON *doc)
{
	static const char *const labels[] = {
		"nvidia.com/gpu.present", "nvidia.com/gpu.product", "nvidia.com/gpu.count",
		"nvidia.com/gpu.memory", "cloud.google.com/gke-accelerator",
		"node.kubernetes.io/instance-type",
	};
	struct kube_err err = KUBE_ERR_INIT;
	struct buf b = BUF_INIT;
	cJSON *node = NULL, *data;
	const char *pid;

	if (!name || !*name)
		goto out;
	if (kube_get(k, "v1", "Node", NULL, name, &node, &err) < 0) {
		if (err.code == 404)
			warn("node '%s' is not in the cluster: K8s/node not collected", name);
		else
			warn_kube("cannot read this node", &err);
		goto out;
	}
	data = snap_subtype(snap_measurement(doc, "K8s"), "node");
	put_str(data, "name", name);
	if ((pid = obj_str(node, "spec.providerID")) && *pid) {
		provider_of(pid, &b);
		put_str(data, "provider", buf_str(&b));
		put_str(data, "provider-id", pid);
	}
	put_str(data, "container-runtime", obj_str(node, "status.nodeInfo.containerRuntimeVersion"));
	put_str(data, "kernel-version", obj_str(node, "status.nodeInfo.kernelVersion"));
	put_str(data, "os-image", obj_str(node, "status.nodeInfo.osImage"));
	put_str(data, "kubelet-version", obj_str(node, "status.nodeInfo.kubeletVersion"));
	put_str(data, "architecture", obj_str(node, "status.nodeInfo.architecture"));
	put_quantity(data, "allocatable.nvidia.com/gpu",
		     cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
			     obj_get(node, "status.allocatable"), "nvidia.com/gpu")));
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		put_str(data, labels[i], obj_label(node, labels[i]));
out:
	buf_release(&b);
	cJSON_Delete(node);
	kube_err_release(&err);
}

/* An image reference's repository and tag: "repo@sha256:..." gives the
 * digest, "host:5000/repo" without a tag gives "latest". */
static void image_split(const char *image, struct buf *repo, struct buf *tag)
{
	const char *at = strrchr(image, '@'), *slash, *colon;

	buf_reset(repo);
	buf_reset(tag);
	if (at) {
		buf_add(repo, image, (size_t)(at - image));
		buf_adds(tag, at + 1);
		return;
	}
	slash = strrchr(image, '/');
	colon = strrchr(image, ':');
	if (colon && (!slash || colon > slash)) {
		buf_add(repo, image, (size_t)(colon - image));
		buf_adds(tag, colon + 1);
	} else {
		buf_adds(repo, image);
		buf_adds(tag, "latest");
	}
}

/* Adds tag to data[repo]: a repository seen with several tags lists them
 * comma-separated, each once. */
static void add_image(cJSON *data, const char *image)
{
	struct buf repo = BUF_INIT, tag = BUF_INIT, joined = BUF_INIT;
	cJSON *have;

	image_split(image, &repo, &tag);
	have = cJSON_GetObjectItemCaseSensitive(data, buf_str(&repo));
	if (!have) {
		put_str(data, buf_str(&repo), buf_str(&tag));
	} else if (cJSON_IsString(have)) {
		const char *p = have->valuestring;
		size_t n = tag.len;

		for (const char *q = p; q; q = strchr(q, ',') ? strchr(q, ',') + 1 : NULL)
			if (!strncmp(q, buf_str(&tag), n) && (q[n] == ',' || !q[n]))
				goto out;
		buf_printf(&joined, "%s,%s", p, buf_str(&tag));
		if (!cJSON_SetValuestring(have, buf_str(&joined)))
			die("out of memory");
	}
out:
	buf_release(&joined);
	buf_release(&tag);
	buf_release(&repo);
}

static void add_pod_images(cJSON *data, const cJSON *pod)
{
	static const char *const lists[] = {
		"spec.initContainers", "spec.containers", "spec.ephemeralContainers",
	};
	const cJSON *c;

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		cJSON_ArrayForEach(c, obj_get(pod, lists[i])) {
			const char *image = obj_str(c, "image");

			if (image && *image)
				add_image(data, image);
		}
}

static void url_escape(const char *s, struct buf *out)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (isalnum(ch) || strchr("-._~", ch))
			buf_addch(out, ch);
		else
			buf_printf(out, "%%%02X", ch);
	}
}

static void collect_images(struct kube *k, cJSON *doc)
{
	struct kube_err err = KUBE_ERR_INIT;
	struct buf path = BUF_INIT, cont = BUF_INIT;
	cJSON *page = NULL, *data = NULL;
	const cJSON *pod;

	do {
		buf_reset(&path);
		buf_printf(&path, "/api/v1/pods?limit=%d", PODS_PAGE);
		if (cont.len) {
			buf_adds(&path, "&continue=");
			url_escape(buf_str(&cont), &path);
		}
		cJSON_Delete(page);
		page = NULL;
		if (kube_request(k, "GET", buf_str(&path), NULL, NULL, 0, &page, &err) < 0) {
			warn_kube("cannot list pods", &err);
			goto out;
		}
		if (!data)
			data = snap_subtype(snap_measurement(doc, "K8s"), "image");
		cJSON_ArrayForEach(pod, obj_get(page, "items"))
			add_pod_images(data, pod);
		buf_reset(&cont);
		if (obj_str(page, "metadata.continue"))
			buf_adds(&cont, obj_str(page, "metadata.continue"));
	} while (cont.len);
out:
	cJSON_Delete(page);
	buf_release(&cont);
	buf_release(&path);
	kube_err_release(&err);
}

/* Scalars of v under dotted keys: "a.b", list elements "a.0.b". Nulls
 * and empty collections are left out. */
static void flatten(const cJSON *v, struct buf *key, cJSON *data)
{
	size_t mark = key->len;
	const cJSON *it;
	int i = 0;

	if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		cJSON_ArrayForEach(it, v) {
			if (mark)
				buf_addch(key, '.');
			if (cJSON_IsObject(v))
				buf_adds(key, it->string);
			else
				buf_printf(key, "%d", i++);
			flatten(it, key, data);
			buf_setlen(key, mark);
		}
		return;
	}
	if (cJSON_IsNull(v) || !key->len)
		return;
	if (!cJSON_AddItemToObject(data, buf_str(key), cJSON_Duplicate(v, false)))
		die("out of memory");
}

static void collect_policy(struct kube *k, cJSON *doc)
{
	struct kube_list_opts opts = { .limit = 0 };
	struct kube_err err = KUBE_ERR_INIT;
	struct buf key = BUF_INIT;
	cJSON *list = NULL, *data;
	const cJSON *first;

	if (kube_list(k, "nvidia.com/v1", "ClusterPolicy", NULL, &opts, &list, &err) < 0) {
		if (strcmp(err.reason, "NoKindMatch") && err.code != 404)
			warn_kube("cannot read the GPU Operator ClusterPolicy", &err);
		goto out;
	}
	if (!(first = cJSON_GetArrayItem(obj_get(list, "items"), 0)))
		goto out;
	data = snap_subtype(snap_measurement(doc, "K8s"), "policy");
	put_str(data, "name", obj_name(first));
	flatten(obj_get(first, "spec"), &key, data);
out:
	buf_release(&key);
	cJSON_Delete(list);
	kube_err_release(&err);
}

int collect_k8s(const struct snap_ctx *c, cJSON *doc)
{
	struct kube_flags flags = c->kube ? *c->kube : (struct kube_flags){ 0 };
	struct kube_err err = KUBE_ERR_INIT;
	struct kube *k = NULL;
	cJSON *version = NULL;
	int rc = -1;

	if (!flags.request_timeout)
		flags.request_timeout = REQUEST_TIMEOUT;
	if (kube_open(&flags, FIELD_MANAGER, &k, &err) < 0) {
		if (!strncmp(buf_str(&err.message), NO_CONFIG, strlen(NO_CONFIG))) {
			if (c->why)
				buf_set(c->why, "no cluster configured");
		} else {
			warn_kube("K8s collector skipped", &err);
			if (c->why)
				buf_set(c->why, "no usable kubeconfig");
		}
		goto out;
	}
	if (kube_server_version(k, &version, &err) < 0) {
		warn_kube("K8s collector skipped", &err);
		if (c->why)
			buf_set(c->why, "cluster not reachable");
		goto out;
	}
	collect_server(version, doc);
	collect_node(k, c->node, doc);
	collect_images(k, doc);
	collect_policy(k, doc);
	rc = 0;
out:
	cJSON_Delete(version);
	kube_close(k);
	kube_err_release(&err);
	return rc;
}
