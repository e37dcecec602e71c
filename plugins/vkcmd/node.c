/* node.c - the Node object (labels, taints, capacity, addresses, kubelet
 * endpoint, nodeInfo, conditions) and its Lease in kube-node-lease. */
#include <errno.h>
#include <netdb.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include "log.h"
#include "obj.h"
#include "vkcmd.h"

#define NODE_LEASE_NS "kube-node-lease"

/* "https://host:port/path" -> host (brackets removed) and port. */
static void split_server(const char *server, char **host, char **port)
{
	const char *p = strstr(server, "://"), *end, *colon;

	p = p ? p + 3 : server;
	end = p + strcspn(p, "/");
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (rb) {
			*host = strndup(p + 1, (size_t)(rb - p - 1));
			*port = rb[1] == ':' ? strndup(rb + 2, (size_t)(end - rb - 2)) :
				xstrdup("443");
			return;
		}
	}
	colon = memchr(p, ':', (size_t)(end - p));
	if (colon) {
		*host = strndup(p, (size_t)(colon - p));
		*port = strndup(colon + 1, (size_t)(end - colon - 1));
	} else {
		*host = strndup(p, (size_t)(end - p));
		*port = xstrdup(strncmp(server, "http://", 7) ? "443" : "80");
	}
}

/* The local address the kernel picks to reach host:port. */
static char *route_ip(const char *host, const char *port)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "127.0.0.1";
	int fd = -1;

	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
		goto out;
	fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		goto out;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof(ip));
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof(ip));
out:
	if (fd >= 0)
		close(fd);
	if (res)
		freeaddrinfo(res);
	return xstrdup(ip);
}

void node_probe_host(struct agent *a)
{
	const struct kube_target *t = kube_target(a->k);
	struct buf why = BUF_INIT, mi = BUF_INIT;
	cpu_set_t set;
	const char *p;

	split_server(t->server, &a->svc_host, &a->svc_port);
	a->host_ip = route_ip(a->svc_host, a->svc_port);
	if (a->o.cpu) {
		if (quantity_milli(a->o.cpu, &a->cpu_milli, &why) < 0)
			die("invalid --cpu '%s': %s", a->o.cpu, buf_str(&why));
	} else if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		a->cpu_milli = (int64_t)CPU_COUNT(&set) * 1000;
	} else {
		a->cpu_milli = sysconf(_SC_NPROCESSORS_ONLN) * 1000;
	}
	if (a->o.memory) {
		if (quantity_value(a->o.memory, &a->mem_bytes, &why) < 0)
			die("invalid --memory '%s': %s", a->o.memory, buf_str(&why));
	} else if (buf_read_file(&mi, "/proc/meminfo") == 0 &&
		   (p = strstr(buf_str(&mi), "MemTotal:"))) {
		a->mem_bytes = strtoll(p + 9, NULL, 10) * 1024;
	}
	buf_release(&why);
	buf_release(&mi);
}

static void add_quantities(struct agent *a, cJSON *o)
{
	struct buf q = BUF_INIT;

	quantity_format_milli(a->cpu_milli, &q);
	cJSON_AddStringToObject(o, "cpu", q.data);
	buf_reset(&q);
	quantity_format_bytes(a->mem_bytes, &q);
	cJSON_AddStringToObject(o, "memory", q.data);
	buf_reset(&q);
	buf_printf(&q, "%ld", a->o.max_pods);
	cJSON_AddStringToObject(o, "pods", q.data);
	buf_release(&q);
}

static const char *go_arch(const char *m)
{
	if (!strcmp(m, "x86_64"))
		return "amd64";
	if (!strcmp(m, "aarch64"))
		return "arm64";
	if (!strncmp(m, "ppc64le", 7))
		return "ppc64le";
	return m;
}

static void first_line(const char *path, struct buf *out)
{
	struct buf b = BUF_INIT;

	if (buf_read_file(&b, path) == 0)
		buf_add(out, b.data, strcspn(b.data, "\n"));
	buf_release(&b);
}

static cJSON *node_info(struct agent *a)
{
	cJSON *ni = cJSON_CreateObject();
	struct buf b = BUF_INIT, os = BUF_INIT;
	struct utsname u;
	const char *p;

	uname(&u);
	cJSON_AddStringToObject(ni, "architecture", go_arch(u.machine));
	cJSON_AddStringToObject(ni, "operatingSystem", "linux");
	cJSON_AddStringToObject(ni, "kernelVersion", u.release);
	buf_adds(&b, "Linux");
	if (buf_read_file(&os, "/etc/os-release") == 0 &&
	    (p = strstr(os.data, "PRETTY_NAME="))) {
		p += 12;
		if (*p == '"')
			p++;
		buf_reset(&b);
		buf_add(&b, p, strcspn(p, "\"\n"));
	}
	cJSON_AddStringToObject(ni, "osImage", b.data);
	buf_reset(&b);
	buf_printf(&b, "v1.31.0-vkcmd-%s", cli_version());
	cJSON_AddStringToObject(ni, "kubeletVersion", b.data);
	cJSON_AddStringToObject(ni, "kubeProxyVersion", "");
	buf_reset(&b);
	buf_printf(&b, "%s://%s", runtime_name(a->rt), cli_version());
	cJSON_AddStringToObject(ni, "containerRuntimeVersion", b.data);
	buf_reset(&b);
	first_line("/etc/machine-id", &b);
	cJSON_AddStringToObject(ni, "machineID", b.data ? b.data : "");
	cJSON_AddStringToObject(ni, "systemUUID", b.data ? b.data : "");
	buf_reset(&b);
	first_line("/proc/sys/kernel/random/boot_id", &b);
	cJSON_AddStringToObject(ni, "bootID", b.data ? b.data : "");
	buf_release(&b);
	buf_release(&os);
	return ni;
}

static cJSON *condition(const char *type, const char *status, const char *reason,
			const char *message)
{
	cJSON *c = cJSON_CreateObject();
	struct buf t = BUF_INIT;

	rfc3339(time(NULL), &t);
	cJSON_AddStringToObject(c, "type", type);
	cJSON_AddStringToObject(c, "status", status);
	cJSON_AddStringToObject(c, "lastHeartbeatTime", t.data);
	cJSON_AddStringToObject(c, "lastTransitionTime", t.data);
	cJSON_AddStringToObject(c, "reason", reason);
	cJSON_AddStringToObject(c, "message", message);
	buf_release(&t);
	return c;
}

static cJSON *node_status(struct agent *a, bool ready, const char *reason,
			  const char *message)
{
	cJSON *patch = cJSON_CreateObject(), *st, *l, *x;

	st = cJSON_AddObjectToObject(patch, "status");
	add_quantities(a, cJSON_AddObjectToObject(st, "capacity"));
	add_quantities(a, cJSON_AddObjectToObject(st, "allocatable"));
	l = cJSON_AddArrayToObject(st, "conditions");
	cJSON_AddItemToArray(l, condition("Ready", ready ? "True" : "False", reason,
					  message));
	cJSON_AddItemToArray(l, condition("MemoryPressure", "False",
		"KubeletHasSufficientMemory", "kubelet has sufficient memory available"));
	cJSON_AddItemToArray(l, condition("DiskPressure", "False",
		"KubeletHasNoDiskPressure", "kubelet has no disk pressure"));
	cJSON_AddItemToArray(l, condition("PIDPressure", "False",
		"KubeletHasSufficientPID", "kubelet has sufficient PID available"));
	l = cJSON_AddArrayToObject(st, "addresses");
	x = cJSON_CreateObject();
	cJSON_AddStringToObject(x, "type", "InternalIP");
	cJSON_AddStringToObject(x, "address", a->host_ip);
	cJSON_AddItemToArray(l, x);
	x = cJSON_CreateObject();
	cJSON_AddStringToObject(x, "type", "Hostname");
	cJSON_AddStringToObject(x, "address", a->node);
	cJSON_AddItemToArray(l, x);
	x = cJSON_AddObjectToObject(st, "daemonEndpoints");
	x = cJSON_AddObjectToObject(x, "kubeletEndpoint");
	cJSON_AddNumberToObject(x, "Port", a->kubelet_port);
	cJSON_AddItemToObject(st, "nodeInfo", node_info(a));
	return patch;
}

int node_set_ready(struct agent *a, bool ready, const char *reason,
		   const char *message, struct kube_err *err)
{
	cJSON *patch = node_status(a, ready, reason, message), *out = NULL;
	int rc;

	rc = kube_merge_patch(a->k, "v1", "Node", NULL, a->node, "status", patch,
			      &out, err);
	cJSON_Delete(patch);
	cJSON_Delete(out);
	return rc;
}

/* "k=v:Effect" or "k:Effect" into a taint object; NULL when malformed. */
static cJSON *parse_taint(const char *s)
{
	const char *colon = strrchr(s, ':'), *eq;
	cJSON *t;

	if (!colon || colon == s || (strcmp(colon + 1, "NoSchedule") &&
	    strcmp(colon + 1, "PreferNoSchedule") && strcmp(colon + 1, "NoExecute")))
		return NULL;
	eq = memchr(s, '=', (size_t)(colon - s));
	t = cJSON_CreateObject();
	if (eq) {
		char *k = strndup(s, (size_t)(eq - s)), *v = strndup(eq + 1, (size_t)(colon - eq - 1));

		cJSON_AddStringToObject(t, "key", k);
		cJSON_AddStringToObject(t, "value", v);
		free(k);
		free(v);
	} else {
		char *k = strndup(s, (size_t)(colon - s));

		cJSON_AddStringToObject(t, "key", k);
		free(k);
	}
	cJSON_AddStringToObject(t, "effect", colon + 1);
	return t;
}

int node_check_options(const struct vk_opts *o, struct buf *why)
{
	struct buf w = BUF_INIT;
	int64_t v;
	int rc = -1;

	for (int i = 0; i < o->labels.n; i++) {
		const char *l = o->labels.items[i], *eq = strchr(l, '=');
		char *k;
		bool ok;

		if (!eq || eq == l) {
			buf_set(why, "invalid --label '%s': want KEY=VALUE", l);
			goto out;
		}
		k = strndup(l, (size_t)(eq - l));
		ok = label_key_valid(k, &w) && label_value_valid(eq + 1, &w);
		free(k);
		if (!ok) {
			buf_set(why, "invalid --label '%s': %s", l, buf_str(&w));
			goto out;
		}
	}
	for (int i = 0; i < o->taints.n; i++) {
		cJSON *t = parse_taint(o->taints.items[i]);
		const char *key = obj_str(t, "key");
		bool ok = t && key && label_key_valid(key, &w);

		cJSON_Delete(t);
		if (!ok) {
			buf_set(why, "invalid --taint '%s': want KEY[=VALUE]:NoSchedule|"
				"PreferNoSchedule|NoExecute%s%s", o->taints.items[i],
				w.len ? ": " : "", buf_str(&w));
			goto out;
		}
	}
	if (o->cpu && (quantity_milli(o->cpu, &v, &w) < 0 || v <= 0)) {
		buf_set(why, "invalid --cpu '%s': %s", o->cpu, w.len ? buf_str(&w) : "must be positive");
		goto out;
	}
	if (o->memory && (quantity_value(o->memory, &v, &w) < 0 || v <= 0)) {
		buf_set(why, "invalid --memory '%s': %s", o->memory, w.len ? buf_str(&w) : "must be positive");
		goto out;
	}
	rc = 0;
out:
	buf_release(&w);
	return rc;
}

static int node_object(struct agent *a, cJSON **out, struct kube_err *err)
{
	cJSON *n = obj_new("v1", "Node", NULL, a->node), *taints;
	struct utsname u;
	int i;

	uname(&u);
	obj_set_label(n, "type", "virtual-kubelet");
	obj_set_label(n, "kubernetes.io/role", "agent");
	obj_set_label(n, "kubernetes.io/hostname", a->node);
	obj_set_label(n, "kubernetes.io/os", "linux");
	obj_set_label(n, "kubernetes.io/arch", go_arch(u.machine));
	obj_set_label(n, "beta.kubernetes.io/os", "linux");
	for (i = 0; i < a->o.labels.n; i++) {
		const char *l = a->o.labels.items[i], *eq = strchr(l, '=');
		char *k;

		if (!eq || eq == l) {
			cJSON_Delete(n);
			return kube_err_set(err, "invalid --label '%s': want KEY=VALUE", l);
		}
		k = strndup(l, (size_t)(eq - l));
		obj_set_label(n, k, eq + 1);
		free(k);
	}
	taints = obj_set(n, "spec.taints", cJSON_CreateArray());
	if (!a->o.no_taint) {
		cJSON *t = cJSON_CreateObject();

		cJSON_AddStringToObject(t, "key", "virtual-kubelet.io/provider");
		cJSON_AddStringToObject(t, "value", "vkcmd");
		cJSON_AddStringToObject(t, "effect", "NoSchedule");
		cJSON_AddItemToArray(taints, t);
	}
	for (i = 0; i < a->o.taints.n; i++) {
		cJSON *t = parse_taint(a->o.taints.items[i]);

		if (!t) {
			cJSON_Delete(n);
			return kube_err_set(err, "invalid --taint '%s': want "
					    "KEY[=VALUE]:NoSchedule|PreferNoSchedule|NoExecute",
					    a->o.taints.items[i]);
		}
		cJSON_AddItemToArray(taints, t);
	}
	*out = n;
	return 0;
}

static void micro_time(struct buf *out)
{
	struct timespec ts;
	struct buf t = BUF_INIT;

	clock_gettime(CLOCK_REALTIME, &ts);
	rfc3339(ts.tv_sec, &t);
	buf_add(out, t.data, t.len - 1);
	buf_printf(out, ".%06ldZ", ts.tv_nsec / 1000);
	buf_release(&t);
}

static int lease_ensure(struct agent *a, struct kube_err *err)
{
	cJSON *l = obj_new("coordination.k8s.io/v1", "Lease", NODE_LEASE_NS, a->node);
	cJSON *refs, *ref, *out = NULL;
	struct buf t = BUF_INIT;
	int rc;

	refs = obj_set(l, "metadata.ownerReferences", cJSON_CreateArray());
	ref = cJSON_CreateObject();
	cJSON_AddStringToObject(ref, "apiVersion", "v1");
	cJSON_AddStringToObject(ref, "kind", "Node");
	cJSON_AddStringToObject(ref, "name", a->node);
	cJSON_AddStringToObject(ref, "uid", a->node_uid);
	cJSON_AddItemToArray(refs, ref);
	obj_set_str(l, "spec.holderIdentity", a->node);
	obj_set(l, "spec.leaseDurationSeconds", cJSON_CreateNumber(a->lease_seconds));
	micro_time(&t);
	obj_set_str(l, "spec.renewTime", t.data);
	rc = kube_create(a->k, l, NODE_LEASE_NS, false, &out, err);
	if (rc < 0 && err->code == 409) {
		kube_err_release(err);
		rc = kube_merge_patch(a->k, "coordination.k8s.io/v1", "Lease",
				      NODE_LEASE_NS, a->node, NULL, l, &out, err);
	}
	cJSON_Delete(out);
	cJSON_Delete(l);
	buf_release(&t);
	return rc;
}

int node_renew_lease(struct agent *a, struct kube_err *err)
{
	cJSON *patch = cJSON_CreateObject(), *out = NULL;
	struct buf t = BUF_INIT;
	int rc;

	micro_time(&t);
	obj_set_str(patch, "spec.renewTime", t.data);
	obj_set_str(patch, "spec.holderIdentity", a->node);
	rc = kube_merge_patch(a->k, "coordination.k8s.io/v1", "Lease", NODE_LEASE_NS,
			      a->node, NULL, patch, &out, err);
	if (rc < 0 && err->code == 404) {
		kube_err_release(err);
		rc = lease_ensure(a, err);
	}
	cJSON_Delete(patch);
	cJSON_Delete(out);
	buf_release(&t);
	return rc;
}

int node_register(struct agent *a, struct kube_err *err)
{
	cJSON *n = NULL, *out = NULL, *patch = NULL;
	int rc = -1;

	if (node_object(a, &n, err) < 0)
		goto out;
	if (kube_create(a->k, n, NULL, false, &out, err) < 0) {
		if (err->code != 409)
			goto out;
		kube_err_release(err);
		patch = cJSON_CreateObject();
		obj_set(patch, "metadata.labels",
			cJSON_Duplicate(obj_get(n, "metadata.labels"), 1));
		obj_set(patch, "spec.taints", cJSON_Duplicate(obj_get(n, "spec.taints"), 1));
		if (kube_merge_patch(a->k, "v1", "Node", NULL, a->node, NULL, patch,
				     &out, err) < 0)
			goto out;
	}
	free(a->node_uid);
	a->node_uid = xstrdup(obj_str(out, "metadata.uid") ?
			      obj_str(out, "metadata.uid") : "");
	if (node_set_ready(a, true, "KubeletReady", "kubelet is posting ready status",
			   err) < 0)
		goto out;
	rc = lease_ensure(a, err);
out:
	cJSON_Delete(n);
	cJSON_Delete(out);
	cJSON_Delete(patch);
	return rc;
}
