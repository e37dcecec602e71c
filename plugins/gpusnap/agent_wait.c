/* agent_wait.c - waits for the agent Jobs of one run: two watch threads
 * (the Jobs, by name or by the run's label; their pods, by the run's label)
 * keep copies of the objects in one state under a mutex; the calling
 * thread prints the progress (scheduled, running, an unschedulable pod's
 * reason at once) and decides. Nothing is polled: the threads block in
 * kube_watch and the caller on a condition variable, and the cancel switch
 * ends the watches at once.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "log.h"
#include "obj.h"

struct wstate {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	const struct kube_flags *flags;
	const char *ns;
	struct http_cancel *cancel;
	cJSON *jobs;		/* name -> latest copy, JSON null once deleted */
	cJSON *pods;		/* name -> latest copy */
	bool changed;
	int live;		/* watch threads still running */
	struct buf err;		/* the first watch that failed */
};

struct watcher {
	struct wstate *s;
	bool pods;
	struct buf selector;
	bool by_label;
	pthread_t thread;
};

int64_t agent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int on_event(void *ctx, const char *type, const cJSON *obj)
{
	struct watcher *w = ctx;
	struct wstate *s = w->s;
	cJSON *map = w->pods ? s->pods : s->jobs;
	const char *n = obj_name(obj);
	bool del = !strcmp(type, "DELETED");

	if (!n)
		return 0;
	pthread_mutex_lock(&s->mu);
	cJSON_DeleteItemFromObjectCaseSensitive(map, n);
	if (!del)
		cJSON_AddItemToObject(map, n, cJSON_Duplicate(obj, 1));
	else if (!w->pods)
		cJSON_AddNullToObject(map, n);
	s->changed = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static void *watch_main(void *arg)
{
	struct watcher *w = arg;
	struct wstate *s = w->s;
	struct kube *k = NULL;
	struct kube_err e = KUBE_ERR_INIT;
	struct kube_watch_opts wo = { 0 };
	int rc;

	if (w->by_label)
		wo.label_selector = buf_str(&w->selector);
	else
		wo.field_selector = buf_str(&w->selector);
	rc = kube_open(s->flags, AGENT_FIELD_MANAGER, &k, &e);
	if (!rc) {
		kube_set_cancel(k, s->cancel);
		rc = kube_watch(k, w->pods ? "v1" : "batch/v1", w->pods ? "Pod" : "Job", s->ns,
				&wo, on_event, w, &e);
	}
	pthread_mutex_lock(&s->mu);
	if (rc < 0 && !http_cancelled(s->cancel) && !s->err.len)
		kube_err_format(&e, &s->err);
	s->live--;
	s->changed = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	kube_close(k);
	kube_err_release(&e);
	return NULL;
}

static char *dup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		die("out of memory");
	return d;
}

/* Prints what is new about job j's pods: an unschedulable reason, the
 * node it was scheduled on, that it runs. */
static void pod_progress(struct wstate *s, struct agent_job *j)
{
	const cJSON *p, *c;

	cJSON_ArrayForEach(p, s->pods) {
		const char *jn = obj_label(p, AGENT_JOB_LABEL), *node, *phase, *msg;

		if (!jn || strcmp(jn, j->name))
			continue;
		if (!j->pod)
			j->pod = dup(obj_name(p));
		c = obj_condition(p, "PodScheduled", "False");
		if (c && (msg = obj_str(c, "message")) && strcmp(msg, buf_str(&j->unsched))) {
			buf_set(&j->unsched, "%s", msg);
			info("pod '%s' cannot be scheduled: %s", obj_name(p), msg);
		}
		node = obj_str(p, "spec.nodeName");
		if (node && *node && !j->said_scheduled) {
			j->said_scheduled = true;
			info("pod '%s' scheduled on node '%s'", obj_name(p), node);
		}
		phase = obj_str(p, "status.phase");
		if (phase && strcmp(phase, "Pending") && !j->said_running) {
			j->said_running = true;
			info("pod '%s' running", obj_name(p));
		}
	}
}

/* Moves job j on from its Job's latest copy; true when it finished. */
static bool job_progress(struct wstate *s, struct agent_job *j)
{
	const cJSON *job = cJSON_GetObjectItemCaseSensitive(s->jobs, j->name), *c;

	if (!job)
		return false;
	if (cJSON_IsNull(job)) {
		j->state = AJ_FAILED;
		buf_set(&j->why, "job '%s' was deleted", j->name);
		return true;
	}
	if (obj_condition(job, "Complete", "True")) {
		j->state = AJ_COMPLETE;
		return true;
	}
	if ((c = obj_condition(job, "Failed", "True"))) {
		j->state = AJ_FAILED;
		j->deadline = obj_str(c, "reason") && !strcmp(obj_str(c, "reason"),
							     "DeadlineExceeded");
		buf_set(&j->why, "job '%s' failed: %s: %s", j->name,
			obj_str(c, "reason") ? obj_str(c, "reason") : "Failed",
			obj_str(c, "message") ? obj_str(c, "message") : "");
		return true;
	}
	return false;
}

/* Sleeps on the state until it changes or the deadline passes (false).
 * Called with the lock held. */
static bool wait_change(struct wstate *s, int64_t deadline)
{
	struct timespec ts;

	while (!s->changed) {
		if (agent_now_ms() >= deadline)
			return false;
		ts.tv_sec = deadline / 1000;
		ts.tv_nsec = (deadline % 1000) * 1000000;
		pthread_cond_timedwait(&s->cond, &s->mu, &ts);
	}
	s->changed = false;
	return true;
}

int agent_wait(const struct kube_flags *flags, const struct agent_plan *p,
	       struct agent_job *jobs, int njobs, struct http_cancel *cancel,
	       int64_t deadline, void (*on_done)(void *ctx, struct agent_job *j),
	       void *ctx, bool *cancelled)
{
	struct wstate s;
	struct watcher w[2];
	pthread_condattr_t ca;
	int started = 0, left = 0, rc = 1;

	memset(&s, 0, sizeof(s));
	memset(w, 0, sizeof(w));
	*cancelled = false;
	pthread_mutex_init(&s.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s.cond, &ca);
	s.flags = flags;
	s.ns = p->ns;
	s.cancel = cancel;
	s.jobs = cJSON_CreateObject();
	s.pods = cJSON_CreateObject();
	if (!s.jobs || !s.pods)
		die("out of memory");
	for (int i = 0; i < 2; i++) {
		w[i].s = &s;
		w[i].pods = i == 1;
		w[i].by_label = i == 1 || njobs > 1;
		if (w[i].by_label)
			buf_printf(&w[i].selector, "%s=%s", AGENT_RUN_LABEL, buf_str(&p->run_id));
		else
			buf_printf(&w[i].selector, "metadata.name=%s", jobs[0].name);
	}
	pthread_mutex_lock(&s.mu);
	for (; started < 2; started++) {
		if (pthread_create(&w[started].thread, NULL, watch_main, &w[started])) {
			pthread_mutex_unlock(&s.mu);
			error("cannot start a thread");
			goto out;
		}
		s.live++;
	}
	for (int i = 0; i < njobs; i++)
		left += jobs[i].state == AJ_PENDING;
	while (left > 0) {
		if (!wait_change(&s, deadline)) {
			rc = EXIT_TIMEOUT;
			break;
		}
		if (http_cancelled(cancel)) {
			*cancelled = true;
			break;
		}
		if (s.err.len) {
			fprintf(stderr, "%s\n", buf_str(&s.err));
			break;
		}
		if (s.live < 2) {
			error("a watch ended unexpectedly");
			break;
		}
		for (int i = 0; i < njobs; i++) {
			struct agent_job *j = &jobs[i];

			if (j->state != AJ_PENDING)
				continue;
			pod_progress(&s, j);
			if (!job_progress(&s, j))
				continue;
			left--;
			if (j->state == AJ_COMPLETE && on_done) {
				pthread_mutex_unlock(&s.mu);
				on_done(ctx, j);
				pthread_mutex_lock(&s.mu);
			}
		}
	}
	if (!left)
		rc = 0;
	pthread_mutex_unlock(&s.mu);
out:
	http_cancel_fire(cancel);
	for (int i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	for (int i = 0; i < 2; i++)
		buf_release(&w[i].selector);
	cJSON_Delete(s.jobs);
	cJSON_Delete(s.pods);
	buf_release(&s.err);
	pthread_cond_destroy(&s.cond);
	pthread_condattr_destroy(&ca);
	pthread_mutex_destroy(&s.mu);
	return rc;
}
