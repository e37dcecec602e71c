/* env.c - a container's environment as Kubernetes builds it: the in-cluster
 * service variables, envFrom (ConfigMaps and Secrets, with prefix), then
 * env (value with $(VAR) expansion, valueFrom fieldRef / resourceFieldRef /
 * configMapKeyRef / secretKeyRef); command and args expanded against the
 * result. The agent's own environment is the base (host processes need
 * PATH and HOME), less the variables that would point a pod at the agent's
 * credentials (KUBECONFIG). */
#include <stdlib.h>
#include <string.h>

#include "obj.h"
#include "vkcmd.h"

extern char **environ;

struct envv {
	char **v;	/* "K=V", NULL-terminated */
	size_t n, cap;
};

static void envv_set(struct envv *e, const char *name, size_t nlen,
		     const char *value)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_add(&b, name, nlen);
	buf_addch(&b, '=');
	buf_adds(&b, value);
	for (i = 0; i < e->n; i++) {
		if (!strncmp(e->v[i], name, nlen) && e->v[i][nlen] == '=') {
			free(e->v[i]);
			e->v[i] = buf_detach(&b, NULL);
			return;
		}
	}
	if (e->n + 2 > e->cap) {
		e->cap = e->cap ? e->cap * 2 : 32;
		e->v = realloc(e->v, e->cap * sizeof(*e->v));
		if (!e->v)
			abort();
	}
	e->v[e->n++] = buf_detach(&b, NULL);
	e->v[e->n] = NULL;
}

static const char *envv_get(char *const *env, size_t n, const char *name,
			    size_t nlen)
{
	size_t i;

	for (i = n; i-- > 0;)
		if (!strncmp(env[i], name, nlen) && env[i][nlen] == '=')
			return env[i] + nlen + 1;
	return NULL;
}

void env_expand(const char *s, char *const *env, size_t n, struct buf *out)
{
	const char *p = s, *close, *v;

	while (*p) {
		if (p[0] != '$') {
			buf_addch(out, *p++);
			continue;
		}
		if (p[1] == '$') {
			buf_addch(out, '$');
			p += 2;
			continue;
		}
		if (p[1] == '(' && (close = strchr(p + 2, ')'))) {
			v = envv_get(env, n, p + 2, (size_t)(close - p - 2));
			if (v && close > p + 2)
				buf_adds(out, v);
			else
				buf_add(out, p, (size_t)(close - p + 1));
			p = close + 1;
			continue;
		}
		buf_addch(out, *p++);
	}
}

/* base64 of a Secret's value, decoded and appended to out. */
static int b64_decode(const char *in, struct buf *out)
{
	return buf_add_unbase64(out, in, strlen(in));
}

/* A key of a ConfigMap or Secret (decoded) into out: 0, 1 when missing, -1
 * on other errors (*err set). */
static int key_value(struct agent *a, const char *ns, bool secret,
		     const char *name, const char *key, struct buf *out,
		     struct buf *err)
{
	struct kube_err kerr = KUBE_ERR_INIT;
	const cJSON *data, *v;
	cJSON *o = NULL;
	int rc = -1;

	if (kube_get(a->k, "v1", secret ? "Secret" : "ConfigMap", ns, name, &o,
		     &kerr) < 0) {
		if (kerr.code == 404)
			rc = 1;
		else
			kube_err_format(&kerr, err);
		goto out;
	}
	if (!key) {	/* the whole object is asked for (envFrom) */
		rc = 0;
		goto out;
	}
	data = obj_get(o, "data");
	v = data ? cJSON_GetObjectItemCaseSensitive(data, key) : NULL;
	if (!v && !secret && (data = obj_get(o, "binaryData")))
		v = cJSON_GetObjectItemCaseSensitive(data, key);
	if (!cJSON_IsString(v)) {
		rc = 1;
		goto out;
	}
	if (secret) {
		if (b64_decode(v->valuestring, out) < 0) {
			buf_set(err, "secret '%s' key '%s' is not base64", name, key);
			goto out;
		}
	} else {
		buf_adds(out, v->valuestring);
	}
	rc = 0;
out:
	cJSON_Delete(o);
	kube_err_release(&kerr);
	return rc;
}

static const cJSON *labels_or_annotations(const cJSON *pod, const char *path,
					  const char *which)
{
	const cJSON *m = obj_get(pod, which);
	char key[512];
	const char *open = strchr(path, '['), *end = strrchr(path, ']');

	if (!m || !open || !end || end - open < 3 || (size_t)(end - open) > sizeof(key))
		return NULL;
	/* labels['k'] or labels["k"] */
	memcpy(key, open + 2, (size_t)(end - open - 3));
	key[end - open - 3] = '\0';
	return cJSON_GetObjectItemCaseSensitive(m, key);
}

static int field_ref(struct agent *a, const cJSON *pod, const char *path,
		     struct buf *out, struct buf *err)
{
	static const struct { const char *field, *path; } simple[] = {
		{ "metadata.name", "metadata.name" },
		{ "metadata.namespace", "metadata.namespace" },
		{ "metadata.uid", "metadata.uid" },
		{ "spec.nodeName", "spec.nodeName" },
		{ "spec.serviceAccountName", "spec.serviceAccountName" },
	};
	const cJSON *v = NULL;
	size_t i;

	for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		if (!strcmp(path, simple[i].field)) {
			const char *s = obj_str(pod, simple[i].path);

			buf_adds(out, s ? s : "");
			return 0;
		}
	}
	if (!strcmp(path, "status.podIP") || !strcmp(path, "status.hostIP") ||
	    !strcmp(path, "status.podIPs") || !strcmp(path, "status.hostIPs")) {
		buf_adds(out, a->host_ip);
		return 0;
	}
	if (!strncmp(path, "metadata.labels[", 16))
		v = labels_or_annotations(pod, path, "metadata.labels");
	else if (!strncmp(path, "metadata.annotations[", 21))
		v = labels_or_annotations(pod, path, "metadata.annotations");
	else {
		buf_set(err, "unsupported fieldRef '%s'", path);
		return -1;
	}
	if (cJSON_IsString(v))
		buf_adds(out, v->valuestring);
	return 0;
}

static int resource_ref(struct agent *a, const cJSON *c, const cJSON *ref,
			struct buf *out, struct buf *err)
{
	const char *res = obj_str(ref, "resource"), *div = obj_str(ref, "divisor");
	const char *q = NULL, *slash;
	int64_t v, d = 0;
	const cJSON *m;
	bool cpu;

	if (!res || !(slash = strchr(res, '.'))) {
		buf_set(err, "unsupported resourceFieldRef '%s'", res ? res : "");
		return -1;
	}
	cpu = !strcmp(slash + 1, "cpu");
	if ((m = obj_get(c, !strncmp(res, "limits", 6) ? "resources.limits" :
				    "resources.requests")))
		q = obj_str(m, slash + 1);
	if (!q && !strncmp(res, "requests", 8) && (m = obj_get(c, "resources.limits")))
		q = obj_str(m, slash + 1);
	if (cpu) {
		if (!q)
			v = !strncmp(res, "limits", 6) ? a->cpu_milli : 0;
		else if (quantity_milli(q, &v, err) < 0)
			return -1;
		if (div && quantity_milli(div, &d, err) < 0)
			return -1;
		if (d <= 0)
			d = 1000;
	} else {
		if (!q)
			v = !strncmp(res, "limits", 6) ? a->mem_bytes : 0;
		else if (quantity_value(q, &v, err) < 0)
			return -1;
		if (div && quantity_value(div, &d, err) < 0)
			return -1;
		if (d <= 0)
			d = 1;
	}
	buf_printf(out, "%lld", (long long)((v + d - 1) / d));
	return 0;
}

static int env_from(struct agent *a, const char *ns, const cJSON *src,
		    struct envv *e, struct buf *err)
{
	struct kube_err kerr = KUBE_ERR_INIT;
	const cJSON *ref, *data, *it;
	const char *prefix = obj_str(src, "prefix"), *name;
	bool secret = false;
	cJSON *o = NULL;
	int rc = -1;

	if (!(ref = obj_get(src, "configMapRef"))) {
		ref = obj_get(src, "secretRef");
		secret = true;
	}
	if (!ref || !(name = obj_str(ref, "name")))
		return 0;
	if (kube_get(a->k, "v1", secret ? "Secret" : "ConfigMap", ns, name, &o,
		     &kerr) < 0) {
		if (kerr.code == 404 && obj_bool(ref, "optional", false))
			rc = 0;
		else
			kube_err_format(&kerr, err);
		goto out;
	}
	data = obj_get(o, "data");
	cJSON_ArrayForEach(it, data) {
		struct buf n = BUF_INIT, v = BUF_INIT;

		if (!cJSON_IsString(it))
			continue;
		buf_adds(&n, prefix ? prefix : "");
		buf_adds(&n, it->string);
		if (secret)
			b64_decode(it->valuestring, &v);
		else
			buf_adds(&v, it->valuestring);
		envv_set(e, n.data, n.len, buf_str(&v));
		buf_release(&n);
		buf_release(&v);
	}
	rc = 0;
out:
	cJSON_Delete(o);
	kube_err_release(&kerr);
	return rc;
}

static int one_env(struct agent *a, const cJSON *pod, const cJSON *c,
		   const cJSON *ev, struct envv *e, size_t base, struct buf *err)
{
	const char *name = obj_str(ev, "name"), *ns = obj_namespace(pod);
	const cJSON *vf = obj_get(ev, "valueFrom"), *ref;
	struct buf v = BUF_INIT;
	int rc = -1, r;

	if (!name)
		return 0;
	if (!vf) {
		const char *val = obj_str(ev, "value");

		/* $(VAR) sees the pod's variables defined so far, not the host's */
		env_expand(val ? val : "", e->v + base, e->n - base, &v);
	} else if ((ref = obj_get(vf, "fieldRef"))) {
		if (field_ref(a, pod, obj_str(ref, "fieldPath") ?
			      obj_str(ref, "fieldPath") : "", &v, err) < 0)
			goto out;
	} else if ((ref = obj_get(vf, "resourceFieldRef"))) {
		const cJSON *target = c;
		const char *cn = obj_str(ref, "containerName");

		if (cn) {
			const cJSON *x;

			cJSON_ArrayForEach(x, obj_get(pod, "spec.containers"))
				if (obj_str(x, "name") && !strcmp(obj_str(x, "name"), cn))
					target = x;
		}
		if (resource_ref(a, target, ref, &v, err) < 0)
			goto out;
	} else if ((ref = obj_get(vf, "configMapKeyRef")) ||
		   (ref = obj_get(vf, "secretKeyRef"))) {
		bool secret = !obj_get(vf, "configMapKeyRef");
		const char *rn = obj_str(ref, "name"), *key = obj_str(ref, "key");

		r = key_value(a, ns, secret, rn ? rn : "", key ? key : "", &v, err);
		if (r < 0)
			goto out;
		if (r > 0) {
			if (obj_bool(ref, "optional", false)) {
				rc = 0;
				goto out;
			}
			buf_set(err, "couldn't find key %s in %s %s/%s", key ? key : "",
				secret ? "Secret" : "ConfigMap", ns, rn ? rn : "");
			goto out;
		}
	}
	envv_set(e, name, strlen(name), buf_str(&v));
	rc = 0;
out:
	buf_release(&v);
	return rc;
}

int env_build(struct agent *a, const cJSON *pod, const cJSON *c, char ***env,
	      size_t *pod_from, char ***cmd, struct buf *err)
{
	struct envv e = { NULL, 0, 0 }, words = { NULL, 0, 0 };
	const cJSON *it;
	size_t base, i;
	char **p;
	int rc = -1;

	for (p = environ; *p; p++) {
		const char *eq = strchr(*p, '=');

		if (!eq || !strncmp(*p, "KUBECONFIG=", 11) ||
		    !strncmp(*p, "KUBERNETES_", 11))
			continue;
		envv_set(&e, *p, (size_t)(eq - *p), eq + 1);
	}
	base = e.n;
	envv_set(&e, "KUBERNETES_SERVICE_HOST", 23, a->svc_host);
	envv_set(&e, "KUBERNETES_SERVICE_PORT", 23, a->svc_port);
	envv_set(&e, "KUBERNETES_SERVICE_PORT_HTTPS", 29, a->svc_port);
	envv_set(&e, "HOSTNAME", 8, obj_name(pod) ? obj_name(pod) : "");
	cJSON_ArrayForEach(it, obj_get(c, "envFrom"))
		if (env_from(a, obj_namespace(pod), it, &e, err) < 0)
			goto out;
	cJSON_ArrayForEach(it, obj_get(c, "env"))
		if (one_env(a, pod, c, it, &e, base, err) < 0)
			goto out;
	for (i = 0; i < 2; i++) {
		const cJSON *list = obj_get(c, i ? "args" : "command");

		cJSON_ArrayForEach(it, list) {
			struct buf w = BUF_INIT;

			if (!cJSON_IsString(it))
				continue;
			env_expand(it->valuestring, e.v + base, e.n - base, &w);
			if (words.n + 2 > words.cap) {
				words.cap = words.cap ? words.cap * 2 : 8;
				words.v = realloc(words.v, words.cap * sizeof(char *));
				if (!words.v)
					abort();
			}
			words.v[words.n++] = buf_detach(&w, NULL);
			words.v[words.n] = NULL;
		}
	}
	if (!words.v)
		words.v = xcalloc(1, sizeof(char *));
	*env = e.v;
	*pod_from = base;
	*cmd = words.v;
	e.v = words.v = NULL;
	rc = 0;
out:
	if (e.v)
		argv_free(e.v);
	if (words.v)
		argv_free(words.v);
	return rc;
}
