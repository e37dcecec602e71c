/* setup_kueue.c - Kueue for setup: the chart (helm, pinned) or a check
 * that its CRDs are served, and the queues sized to the cluster.
 *
 * Quota (computed once, at setup): the sum of every node's allocatable
 * cpu and memory, minus the requests of the pods that have not finished
 * (phase Pending, Running or Unknown; pods of vastrun runs, labelled
 * VAST_LABEL_RUN, are left out: they are inside the quota already, so a
 * second setup does not shrink it by its own jobs). A pod's requests are
 * counted as the scheduler counts them: the sum of its containers and
 * restartable init containers (sidecars), or the largest ordinary init
 * container (plus the sidecars started before it) when that is more, plus
 * the pod overhead; a limit without a request counts as the request. Cpu
 * is rounded down to whole cores, memory to whole Gi.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "obj.h"
#include "setup.h"

#define KUEUE_CHART "oci://registry.k8s.io/kueue/charts/kueue"
#define KUEUE_VERSION "0.16.1"
#define KUEUE_NS "kueue-system"
#define GI (1024LL * 1024 * 1024)

extern char **environ;

static bool on_path(const char *prog)
{
	const char *path = getenv("PATH");
	struct buf p = BUF_INIT;
	bool found = false;

	while (path && *path && !found) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);

		buf_reset(&p);
		buf_add(&p, n ? path : ".", n ? n : 1);
		buf_printf(&p, "/%s", prog);
		found = access(buf_str(&p), X_OK) == 0;
		path = end ? end + 1 : NULL;
	}
	buf_release(&p);
	return found;
}

static int run_helm(const struct kube_flags *f, struct buf *err)
{
	const char *argv[20] = {
		"helm", "upgrade", "--install", "kueue", KUEUE_CHART, "--version", KUEUE_VERSION,
		"-n", KUEUE_NS, "--create-namespace", "--wait",
	};
	posix_spawn_file_actions_t fa;
	int n = 11, st, e;
	pid_t pid;

	if (f->kubeconfig) {
		argv[n++] = "--kubeconfig";
		argv[n++] = f->kubeconfig;
	}
	if (f->context) {
		argv[n++] = "--kube-context";
		argv[n++] = f->context;
	}
	info("installing Kueue %s with helm (namespace %s)", KUEUE_VERSION, KUEUE_NS);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);	/* stdout carries data only */
	e = posix_spawnp(&pid, "helm", &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e) {
		buf_set(err, "cannot run 'helm': %s", strerror(e));
		return -1;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			buf_set(err, "cannot wait for 'helm': %s", strerror(errno));
			return -1;
		}
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		buf_set(err, "helm upgrade --install kueue failed (%s %d)",
			WIFEXITED(st) ? "exit status" : "signal",
			WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		return -1;
	}
	return 0;
}

int kueue_ensure(struct kube *k, const struct kube_flags *flags, struct buf *err)
{
	struct kube_err ke = KUBE_ERR_INIT;
	struct kube_resource r;
	int rc = -1;

	if (on_path("helm") && run_helm(flags, err) < 0)
		goto out;
	if (kube_resolve(k, "kueue.x-k8s.io/v1beta1", "ClusterQueue", &r, &ke) < 0) {
		if (!strcmp(ke.reason, "NoKindMatch"))
			buf_set(err, "Kueue is not installed and 'helm' is not on PATH; install it "
				"with `helm upgrade --install kueue %s --version %s -n %s "
				"--create-namespace --wait` and run setup again",
				KUEUE_CHART, KUEUE_VERSION, KUEUE_NS);
		else
			vast_kerr(err, &ke);
		goto out;
	}
	rc = 0;
out:
	kube_err_release(&ke);
	return rc;
}

/* ---- quota ---------------------------------------------------------- */

struct req {
	int64_t cpu;	/* milli */
	int64_t mem;	/* bytes */
};

static void container_req(const cJSON *c, struct req *out)
{
	out->cpu = out->mem = 0;
	for (int i = 0; i < 2; i++) {
		const char *v = obj_str(c, i ? "resources.requests.memory" : "resources.requests.cpu");
		int64_t x = 0;

		if (!v)
			v = obj_str(c, i ? "resources.limits.memory" : "resources.limits.cpu");
		if (!v)
			continue;
		if ((i ? quantity_value(v, &x, NULL) : quantity_milli(v, &x, NULL)) < 0)
			continue;
		if (i)
			out->mem = x;
		else
			out->cpu = x;
	}
}

static void req_max(struct req *a, const struct req *b)
{
	if (b->cpu > a->cpu)
		a->cpu = b->cpu;
	if (b->mem > a->mem)
		a->mem = b->mem;
}

/* The scheduler's view of one pod's requests (see the top). */
static void pod_req(const cJSON *spec, struct req *out)
{
	struct req total = { 0, 0 }, sidecars = { 0, 0 }, init = { 0, 0 }, r;
	const cJSON *c;
	const char *v;
	int64_t x;

	cJSON_ArrayForEach(c, obj_get(spec, "containers")) {
		container_req(c, &r);
		total.cpu += r.cpu;
		total.mem += r.mem;
	}
	cJSON_ArrayForEach(c, obj_get(spec, "initContainers")) {
		const char *rp = obj_str(c, "restartPolicy");

		container_req(c, &r);
		if (rp && !strcmp(rp, "Always")) {
			sidecars.cpu += r.cpu;
			sidecars.mem += r.mem;
			req_max(&init, &sidecars);
		} else {
			r.cpu += sidecars.cpu;
			r.mem += sidecars.mem;
			req_max(&init, &r);
		}
	}
	total.cpu += sidecars.cpu;
	total.mem += sidecars.mem;
	req_max(&total, &init);
	if ((v = obj_str(spec, "overhead.cpu")) && quantity_milli(v, &x, NULL) == 0)
		total.cpu += x;
	if ((v = obj_str(spec, "overhead.memory")) && quantity_value(v, &x, NULL) == 0)
		total.mem += x;
	*out = total;
}

int kueue_quota(struct kube *k, int64_t *cpu_cores, int64_t *memory_gi, struct buf *err)
{
	struct kube_list_opts all = { .all_namespaces = true };
	struct kube_err ke = KUBE_ERR_INIT;
	cJSON *nodes = NULL, *pods = NULL;
	const cJSON *it;
	int64_t cpu = 0, mem = 0, x;
	int rc = -1;

	if (kube_list(k, "v1", "Node", NULL, NULL, &nodes, &ke) < 0 ||
	    kube_list(k, "v1", "Pod", NULL, &all, &pods, &ke) < 0) {
		vast_kerr(err, &ke);
		goto out;
	}
	cJSON_ArrayForEach(it, obj_get(nodes, "items")) {
		const char *c = obj_str(it, "status.allocatable.cpu");
		const char *m = obj_str(it, "status.allocatable.memory");

		if (c && quantity_milli(c, &x, NULL) == 0)
			cpu += x;
		if (m && quantity_value(m, &x, NULL) == 0)
			mem += x;
	}
	cJSON_ArrayForEach(it, obj_get(pods, "items")) {
		const char *phase = obj_str(it, "status.phase");
		struct req r;

		if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
			continue;
		if (obj_label(it, VAST_LABEL_RUN))
			continue;
		pod_req(obj_get(it, "spec"), &r);
		cpu -= r.cpu;
		mem -= r.mem;
	}
	*cpu_cores = cpu > 0 ? cpu / 1000 : 0;
	*memory_gi = mem > 0 ? mem / GI : 0;
	rc = 0;
out:
	cJSON_Delete(nodes);
	cJSON_Delete(pods);
	kube_err_release(&ke);
	return rc;
}

int kueue_queues(struct kube *k, const char *ns, struct buf *err)
{
	cJSON *objs = cJSON_CreateArray(), *o;
	int64_t cpu, mem;
	int rc = -1;

	if (!objs)
		die("out of memory");
	if (kueue_quota(k, &cpu, &mem, err) < 0)
		goto out;
	info("cluster queue quota: cpu %lld, memory %lldGi (allocatable minus requested, now)",
	     (long long)cpu, (long long)mem);
	kueue_manifests(cpu, mem, ns, objs);
	cJSON_ArrayForEach(o, objs)
		if (setup_apply(k, o, ns, err) < 0)
			goto out;
	rc = 0;
out:
	cJSON_Delete(objs);
	return rc;
}
