/* wait.c - waits for a workload: one thread per watch (the JobSet, Job or
 * Pod; its pods by the wlkit.dev/workload label; its Kueue Workload when it
 * has a queue label) feeds copies of the objects into one state under a
 * mutex; the main thread prints the changes and decides. Each watch is one
 * kube_watch (it resumes by itself after a cut); the main thread ends the
 * watches and the log follower at once by firing the clients' cancel switch.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kube.h"
#include "log.h"
#include "obj.h"
#include "wait.h"

#define WORKLOAD_LABEL "wlkit.dev/workload"
#define QUEUE_LABEL "kueue.x-k8s.io/queue-name"
#define JOB_INDEX "jobset.sigs.k8s.io/job-index"
#define COMPLETION_INDEX "batch.kubernetes.io/job-completion-index"
#define TAIL_LINES 10

struct kindinfo {
	const char *word, *api, *kind;
};

static const struct kindinfo kinds[] = {
	{ "jobset", "jobset.x-k8s.io/v1alpha2", "JobSet" },
	{ "job", "batch/v1", "Job" },
	{ "pod", "v1", "Pod" },
};

enum which { W_OWNER, W_PODS, W_WORKLOAD };

struct state {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	const struct kube_flags *flags;
	const char *name;
	const struct kindinfo *ki;
	cJSON *owner;		/* latest copy, or NULL */
	bool owner_gone;
	cJSON *pods;		/* object: pod name -> latest copy */
	cJSON *wl;		/* the Kueue Workload, or NULL */
	bool changed;
	bool stop;		/* set by the main thread: watchers end */
	struct http_cancel cancel;	/* fired with stop: requests end */
	struct buf err;		/* a watch that failed */
	char *log_pod;		/* the pod whose logs are followed */
	bool log_done;
};

struct watcher {
	struct state *s;
	enum which which;
	const char *api, *kind;
	char selector[320];
	bool by_label;
	pthread_t thread;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool owned_by(const cJSON *o, const char *kind, const char *name)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, obj_get(o, "metadata.ownerReferences")) {
		const char *k = obj_str(r, "kind"), *n = obj_str(r, "name");
		if (k && n && !strcmp(k, kind) && !strcmp(n, name))
			return true;
	}
	return false;
}

static int on_event(void *ctx, const char *type, const cJSON *obj)
{
	struct watcher *wt = ctx;
	struct state *s = wt->s;
	bool del = !strcmp(type, "DELETED");
	const char *n = obj_name(obj);

	pthread_mutex_lock(&s->mu);
	if (s->stop) {
		pthread_mutex_unlock(&s->mu);
		return 1;
	}
	switch (wt->which) {
	case W_OWNER:
		cJSON_Delete(s->owner);
		s->owner = del ? NULL : cJSON_Duplicate(obj, 1);
		s->owner_gone = del;
		break;
	case W_PODS:
		cJSON_DeleteItemFromObjectCaseSensitive(s->pods, n);
		if (!del)
			cJSON_AddItemToObject(s->pods, n, cJSON_Duplicate(obj, 1));
		break;
	case W_WORKLOAD:
		if (!owned_by(obj, s->ki->kind, s->name))
			goto out;
		cJSON_Delete(s->wl);
		s->wl = del ? NULL : cJSON_Duplicate(obj, 1);
		break;
	}
	s->changed = true;
	pthread_cond_broadcast(&s->cond);
out:
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static void fail(struct state *s, const struct kube_err *e)
{
	pthread_mutex_lock(&s->mu);
	if (!s->err.len)
		kube_err_format(e, &s->err);
	s->changed = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

static void *watch_main(void *arg)
{
	struct watcher *wt = arg;
	struct kube *k = NULL;
	struct kube_err e = KUBE_ERR_INIT;
	struct kube_watch_opts wo = { 0 };

	if (wt->by_label)
		wo.label_selector = wt->selector;
	else if (wt->selector[0])
		wo.field_selector = wt->selector;
	if (kube_open(wt->s->flags, "kubectl-wlrun", &k, &e) < 0) {
		fail(wt->s, &e);
		goto out;
	}
	kube_set_cancel(k, &wt->s->cancel);
	if (kube_watch(k, wt->api, wt->kind, NULL, &wo, on_event, wt, &e) < 0)
		fail(wt->s, &e);
out:
	kube_close(k);
	kube_err_release(&e);
	return NULL;
}

static int to_stdout(void *ctx, const char *data, size_t len)
{
	(void)ctx;
	fwrite(data, 1, len, stdout);
	fflush(stdout);
	return 0;
}

static void *logs_main(void *arg)
{
	struct state *s = arg;
	struct kube *k = NULL;
	struct kube_err e = KUBE_ERR_INIT;
	struct kube_log_opts lo = { .follow = true, .tail_lines = -1 };

	if (kube_open(s->flags, "kubectl-wlrun", &k, &e) < 0) {
		fail(s, &e);
	} else {
		kube_set_cancel(k, &s->cancel);
		if (kube_logs(k, NULL, s->log_pod, &lo, to_stdout, NULL, &e) < 0 &&
		    !http_cancelled(&s->cancel))
			fail(s, &e);
	}
	kube_close(k);
	kube_err_release(&e);
	pthread_mutex_lock(&s->mu);
	s->log_done = true;
	s->changed = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static bool start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	if (pthread_create(t, NULL, fn, arg)) {
		error("cannot start a thread");
		return false;
	}
	return true;
}

/* 0 running, 1 completed, 2 failed; *cond the condition that says so. */
static int finished(const struct state *s, const cJSON **cond)
{
	const char *phase;

	*cond = NULL;
	if (!s->owner)
		return 0;
	if (!strcmp(s->ki->kind, "Pod")) {
		phase = obj_str(s->owner, "status.phase");
		return !phase ? 0 : !strcmp(phase, "Succeeded") ? 1 : !strcmp(phase, "Failed") ? 2 : 0;
	}
	if ((*cond = obj_condition(s->owner, "Failed", "True")))
		return 2;
	if ((*cond = obj_condition(s->owner, "Completed", "True")) ||
	    (*cond = obj_condition(s->owner, "Complete", "True")))
		return 1;
	return 0;
}

static long expected_pods(const struct state *s)
{
	const cJSON *rj;
	long n = 0;

	if (!s->owner || !strcmp(s->ki->kind, "Pod"))
		return 1;
	if (!strcmp(s->ki->kind, "Job"))
		return (long)obj_int(s->owner, "spec.parallelism", 1);
	cJSON_ArrayForEach(rj, obj_get(s->owner, "spec.replicatedJobs"))
		n += (long)obj_int(rj, "replicas", 1) *
		     (long)obj_int(rj, "template.spec.parallelism", 1);
	return n;
}

static const char *label_or_annotation(const cJSON *o, const char *key)
{
	const char *v = obj_label(o, key);

	return v ? v : obj_annotation(o, key);
}

/* The pod of slice/node (absent indexes count as 0), or NULL. */
static const cJSON *find_pod(const cJSON *pods, long slice, long node)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, pods) {
		const char *j = label_or_annotation(p, JOB_INDEX);
		const char *c = label_or_annotation(p, COMPLETION_INDEX);
		if ((j ? atol(j) : 0) == slice && (c ? atol(c) : 0) == node)
			return p;
	}
	return NULL;
}

/* The state line: queued, admitted, running n/m, pending. */
static void state_line(const struct state *s, struct buf *out)
{
	const cJSON *p, *c;
	long running = 0, done = 0;

	cJSON_ArrayForEach(p, s->pods) {
		const char *ph = obj_str(p, "status.phase");
		running += ph && !strcmp(ph, "Running");
		done += ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"));
	}
	if (s->wl && !obj_condition(s->wl, "Admitted", "True")) {
		buf_adds(out, "queued");
		if ((c = obj_condition(s->wl, "QuotaReserved", "False")) && obj_str(c, "message"))
			buf_printf(out, ": %s", obj_str(c, "message"));
	} else if (running || done) {
		buf_printf(out, "running %ld/%ld", running, expected_pods(s));
		if (done)
			buf_printf(out, ", %ld done", done);
	} else if (s->wl) {
		buf_printf(out, "admitted by ClusterQueue '%s'",
			   obj_str(s->wl, "status.admission.clusterQueue") ?
			   obj_str(s->wl, "status.admission.clusterQueue") : "");
	} else {
		buf_adds(out, "pending");
	}
}

/* Prints a pod's PodScheduled=False message once per new message. */
static void report_unschedulable(const struct state *s, struct buf *last)
{
	const cJSON *p, *c;

	cJSON_ArrayForEach(p, s->pods) {
		const char *msg;
		if (!(c = obj_condition(p, "PodScheduled", "False")) || !(msg = obj_str(c, "message")))
			continue;
		if (!strcmp(buf_str(last), msg))
			return;
		buf_set(last, "%s", msg);
		info("pod '%s' cannot be scheduled: %s", obj_name(p), msg);
		return;
	}
}

static int to_stderr(void *ctx, const char *data, size_t len)
{
	(void)ctx;
	fwrite(data, 1, len, stderr);
	return 0;
}

/* Why the workload failed: the condition, each failed container, and the
 * last log lines of the first failed pod. The pods are listed afresh: the
 * pod watch may not have delivered them yet when the owner says failed. */
static void report_failure(struct state *s, const cJSON *cond)
{
	const cJSON *p, *cs;
	const char *logs_of = NULL;
	struct kube *k = NULL;
	struct kube_err e = KUBE_ERR_INIT;
	struct kube_log_opts lo = { .tail_lines = TAIL_LINES };
	struct kube_list_opts lso = { 0 };
	struct buf sel = BUF_INIT;
	cJSON *pods = NULL;

	if (cond)
		info("%s: %s", obj_str(cond, "reason") ? obj_str(cond, "reason") : "Failed",
		     obj_str(cond, "message") ? obj_str(cond, "message") : "");
	buf_printf(&sel, "%s=%s", WORKLOAD_LABEL, s->name);
	lso.label_selector = buf_str(&sel);
	if (kube_open(s->flags, "kubectl-wlrun", &k, &e) < 0 ||
	    kube_list(k, "v1", "Pod", NULL, &lso, &pods, &e) < 0) {
		kube_err_print(&e);
		goto out;
	}
	cJSON_ArrayForEach(p, obj_get(pods, "items")) {
		const char *ph = obj_str(p, "status.phase");
		if (!ph || strcmp(ph, "Failed"))
			continue;
		cJSON_ArrayForEach(cs, obj_get(p, "status.containerStatuses")) {
			const cJSON *t = obj_get(cs, "state.terminated");
			if (!t)
				continue;
			info("pod '%s' container '%s' exited with code %lld (%s)", obj_name(p),
			     obj_str(cs, "name") ? obj_str(cs, "name") : "",
			     (long long)obj_int(t, "exitCode", -1),
			     obj_str(t, "reason") ? obj_str(t, "reason") : "Error");
		}
		if (!logs_of)
			logs_of = obj_name(p);
	}
	if (!logs_of)
		goto out;
	info("last log lines of pod '%s':", logs_of);
	fflush(stdout);
	if (kube_logs(k, NULL, logs_of, &lo, to_stderr, NULL, &e) < 0)
		kube_err_print(&e);
out:
	kube_close(k);
	kube_err_release(&e);
	cJSON_Delete(pods);
	buf_release(&sel);
}

static void on_sigint(int sig)
{
	static const char msg[] = "\nstopped waiting; the workload keeps running\n";
	ssize_t r;

	(void)sig;
	r = write(2, msg, sizeof(msg) - 1);
	(void)r;
	_exit(130);
}

/* Finds the kind of name by getting it as a JobSet, a Job, then a Pod. */
static int find_kind(struct kube *k, const char *name, const struct kindinfo **ki,
		     cJSON **obj, struct kube_err *e)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		kube_err_release(e);
		if (!kube_get(k, kinds[i].api, kinds[i].kind, NULL, name, obj, e)) {
			*ki = &kinds[i];
			return 0;
		}
		if (e->code != 404 && strcmp(e->reason, "NoKindMatch"))
			return -1;
	}
	kube_err_release(e);
	return kube_err_set(e, "workload \"%s\" not found (no JobSet, Job or Pod of that name)",
			    name);
}

/* Waits on the state until it changes, the deadline (0: none) passes, or
 * the log follower ends. False on timeout. Called with the lock held. */
static bool wait_change(struct state *s, int64_t deadline)
{
	struct timespec ts;

	while (!s->changed) {
		if (!deadline) {
			pthread_cond_wait(&s->cond, &s->mu);
			continue;
		}
		if (now_ms() >= deadline)
			return false;
		ts.tv_sec = deadline / 1000;
		ts.tv_nsec = (deadline % 1000) * 1000000;
		pthread_cond_timedwait(&s->cond, &s->mu, &ts);
	}
	s->changed = false;
	return true;
}

int wait_run(struct cli_ctx *ctx, const char *name, const struct wait_opts *o)
{
	struct state s;
	struct watcher wts[3];
	struct kube *k = NULL;
	struct kube_err e = KUBE_ERR_INIT;
	struct buf line = BUF_INIT, last = BUF_INIT, unsched = BUF_INIT;
	cJSON *first = NULL;
	const cJSON *cond;
	pthread_condattr_t ca;
	int64_t start = now_ms(), deadline = o->timeout_ms ? start + o->timeout_ms : 0;
	int rc = EXIT_FAILURE, n = 0, started = 0, f;
	pthread_t log_thread;

	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s.cond, &ca);
	if (http_cancel_init(&s.cancel) < 0)
		die("cannot make a pipe: %s", strerror(errno));
	s.flags = &ctx->g.kube;
	s.name = name;
	s.pods = cJSON_CreateObject();
	if (kube_open(&ctx->g.kube, "kubectl-wlrun", &k, &e) < 0)
		goto kerr;
	if (o->kind) {
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (!strcmp(kinds[i].word, o->kind))
				s.ki = &kinds[i];
		if (kube_get(k, s.ki->api, s.ki->kind, NULL, name, &first, &e) < 0)
			goto kerr;
	} else if (find_kind(k, name, &s.ki, &first, &e) < 0) {
		goto kerr;
	}
	signal(SIGINT, on_sigint);
	wts[n++] = (struct watcher){ .s = &s, .which = W_OWNER, .api = s.ki->api,
				     .kind = s.ki->kind };
	snprintf(wts[n - 1].selector, sizeof(wts[0].selector), "metadata.name=%s", name);
	wts[n++] = (struct watcher){ .s = &s, .which = W_PODS, .api = "v1", .kind = "Pod",
				     .by_label = true };
	snprintf(wts[n - 1].selector, sizeof(wts[0].selector), "%s=%s", WORKLOAD_LABEL, name);
	if (obj_label(first, QUEUE_LABEL))
		wts[n++] = (struct watcher){ .s = &s, .which = W_WORKLOAD,
					     .api = "kueue.x-k8s.io/v1beta1", .kind = "Workload" };
	for (; started < n; started++)
		if (!start_thread(&wts[started].thread, watch_main, &wts[started]))
			goto out;
	pthread_mutex_lock(&s.mu);
	for (;;) {
		int64_t secs;

		if (!wait_change(&s, deadline)) {
			pthread_mutex_unlock(&s.mu);
			error("timed out after %llds waiting for %s '%s'; the workload keeps running",
			      (long long)((now_ms() - start) / 1000), s.ki->word, name);
			rc = EXIT_TIMEOUT;
			goto out;
		}
		secs = (now_ms() - start) / 1000;
		if (s.err.len) {
			fprintf(stderr, "%s\n", buf_str(&s.err));
			break;
		}
		if (s.owner_gone) {
			error("%s '%s' was deleted", s.ki->word, name);
			break;
		}
		report_unschedulable(&s, &unsched);
		if (!s.owner)
			continue;	/* its first event is on the way */
		f = finished(&s, &cond);
		buf_reset(&line);
		if (f)
			buf_adds(&line, f == 1 ? "completed" : "failed");
		else
			state_line(&s, &line);
		if (strcmp(buf_str(&line), buf_str(&last))) {
			info("%s: %s (%llds)", name, buf_str(&line), (long long)secs);
			buf_set(&last, "%s", buf_str(&line));
		}
		if (o->logs && !s.log_pod) {
			const cJSON *p = find_pod(s.pods, 0, 0);
			const char *ph = p ? obj_str(p, "status.phase") : NULL;
			if (ph && strcmp(ph, "Pending")) {
				s.log_pod = strdup(obj_name(p));
				if (!s.log_pod || !start_thread(&log_thread, logs_main, &s))
					break;
			}
		}
		if (!f)
			continue;
		/* the pod watch may lag the owner's: print the log once */
		if (o->logs && !s.log_pod && f == 1)
			logs_run(ctx, name, 0, 0, false);
		/* let the log follower print the end of the log */
		if (s.log_pod) {
			int64_t until = now_ms() + 5000;
			while (!s.log_done && wait_change(&s, until))
				;
		}
		if (f == 2)
			report_failure(&s, cond);
		rc = f == 1 ? 0 : EXIT_WORKLOAD_FAILED;
		break;
	}
	pthread_mutex_unlock(&s.mu);
	goto out;
kerr:
	kube_err_print(&e);
out:
	pthread_mutex_lock(&s.mu);
	s.stop = true;
	pthread_mutex_unlock(&s.mu);
	http_cancel_fire(&s.cancel);
	for (int i = 0; i < started; i++)
		pthread_join(wts[i].thread, NULL);
	if (s.log_pod)
		pthread_join(log_thread, NULL);
	fflush(stdout);
	http_cancel_release(&s.cancel);
	cJSON_Delete(s.owner);
	cJSON_Delete(s.pods);
	cJSON_Delete(s.wl);
	free(s.log_pod);
	buf_release(&s.err);
	pthread_cond_destroy(&s.cond);
	pthread_condattr_destroy(&ca);
	pthread_mutex_destroy(&s.mu);
	kube_close(k);
	kube_err_release(&e);
	cJSON_Delete(first);
	buf_release(&line);
	buf_release(&last);
	buf_release(&unsched);
	return rc;
}
