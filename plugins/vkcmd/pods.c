/* pods.c - the pods of this node: what the watch says about them, and each
 * pod's state machine (prepare volumes, init containers in order, then the
 * containers together, restarts with back-off, deadlines, deletion). The
 * status is written by pod_status.c whenever something changed. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "log.h"
#include "obj.h"
#include "pods.h"

#define BACKOFF_START_MS 10000
#define BACKOFF_MAX_MS 300000
#define BACKOFF_RESET_MS 600000
#define RETRY_MS 5000

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? xstrdup(s) : NULL;
}

static struct pod *pod_by_uid(struct agent *a, const char *uid)
{
	size_t i;

	for (i = 0; i < a->npods; i++)
		if (!strcmp(a->pods[i]->uid, uid))
			return a->pods[i];
	return NULL;
}

static bool running(const struct ctr *c)
{
	return c->state == CTR_RUNNING && c->proc.pid > 0;
}

static bool any_running(const struct pod *p)
{
	size_t i;

	for (i = 0; i < p->nc; i++)
		if (running(&p->c[i]))
			return true;
	return false;
}

static void signal_all(struct pod *p, int sig)
{
	size_t i;

	for (i = 0; i < p->nc; i++) {
		if (!running(&p->c[i]))
			continue;
		if (p->c[i].wrapped && sig != SIGKILL)
			proc_signal_members(p->c[i].proc.pid, sig);
		else
			kill(-p->c[i].proc.pid, sig);
		p->c[i].signalled = true;
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void pod_free(struct pod *p)
{
	size_t i;

	for (i = 0; i < p->nc; i++) {
		struct ctr *c = &p->c[i];

		if (running(c))
			kill(-c->proc.pid, SIGKILL);
		close_fd(&c->proc.out_fd);
		close_fd(&c->proc.err_fd);
		if (c->log)
			ctr_log_close(c->log);
		free(c->name);
		free(c->waiting_reason);
		free(c->waiting_message);
		free(c->message);
	}
	free(p->c);
	if (p->vols)
		volumes_free(p->vols);
	cJSON_Delete(p->obj);
	free(p->ns);
	free(p->name);
	free(p->uid);
	free(p->dir);
	free(p->reason);
	free(p->message);
	free(p);
}

static struct pod *pod_new(struct agent *a, cJSON *take_obj)
{
	struct pod *p = xcalloc(1, sizeof(*p));
	const cJSON *it;
	struct buf d = BUF_INIT;
	size_t n = 0, i;

	p->ns = xstrdup(obj_namespace(take_obj));
	p->name = xstrdup(obj_name(take_obj));
	p->uid = xstrdup(obj_str(take_obj, "metadata.uid"));
	p->obj = take_obj;
	p->spec = obj_get(p->obj, "spec");
	cJSON_ArrayForEach(it, obj_get(p->spec, "initContainers"))
		n++;
	p->ninit = n;
	cJSON_ArrayForEach(it, obj_get(p->spec, "containers"))
		n++;
	p->c = xcalloc(n ? n : 1, sizeof(*p->c));
	p->nc = n;
	i = 0;
	for (int k = 0; k < 2; k++) {
		cJSON_ArrayForEach(it, obj_get(p->spec, k ? "containers" : "initContainers")) {
			struct ctr *c = &p->c[i++];
			const char *name = obj_str(it, "name");

			c->name = xstrdup(name ? name : "");
			c->spec = it;
			c->init = !k;
			c->proc.pid = -1;
			c->proc.out_fd = c->proc.err_fd = -1;
			c->waiting_reason = xstrdup(!k || p->ninit ? "PodInitializing" :
						    "ContainerCreating");
		}
	}
	buf_printf(&d, "%s/pods/%s_%s_%s", a->work_dir, p->ns, p->name, p->uid);
	p->dir = buf_detach(&d, NULL);
	p->phase = "Pending";
	p->start_time = time(NULL);
	p->start_ms = mono_ms();
	p->dirty = true;
	return p;
}

/* A finished pod whose status is written keeps only what a deletion needs:
 * ns, name, uid (a node runs many short pods). */
static void pod_compact(struct pod *p)
{
	size_t i;

	for (i = 0; i < p->nc; i++) {
		if (running(&p->c[i]) || p->c[i].proc.out_fd >= 0 || p->c[i].proc.err_fd >= 0)
			return;
	}
	for (i = 0; i < p->nc; i++) {
		if (p->c[i].log)
			ctr_log_close(p->c[i].log);
		free(p->c[i].name);
		free(p->c[i].waiting_reason);
		free(p->c[i].waiting_message);
		free(p->c[i].message);
	}
	free(p->c);
	p->c = NULL;
	p->nc = p->ninit = 0;
	if (p->vols)
		volumes_free(p->vols);
	p->vols = NULL;
	cJSON_Delete(p->obj);
	p->obj = NULL;
	p->spec = NULL;
	free(p->reason);
	free(p->message);
	p->reason = p->message = NULL;
	p->compact = true;
}

static void pod_add(struct agent *a, struct pod *p)
{
	a->pods = realloc(a->pods, (a->npods + 1) * sizeof(*a->pods));
	if (!a->pods)
		abort();
	a->pods[a->npods++] = p;
}

static void begin_delete(struct pod *p)
{
	int64_t grace = obj_int(p->obj, "metadata.deletionGracePeriodSeconds", 30);

	p->deleting = true;
	p->kill_at_ms = mono_ms() + grace * 1000;
	signal_all(p, grace > 0 ? SIGTERM : SIGKILL);
}

/* Was this pod started by an earlier run of the agent? */
static bool started_before(const cJSON *obj)
{
	return obj_str(obj, "status.startTime") != NULL ||
	       obj_get(obj, "status.containerStatuses.0.state.running") ||
	       obj_get(obj, "status.initContainerStatuses.0.state.running");
}

void pods_event(struct agent *a, const char *type, cJSON *take_obj)
{
	cJSON *obj = take_obj;
	const char *uid = obj_str(obj, "metadata.uid"), *phase;
	bool terminal, deleting;
	struct pod *p;

	if (!uid || !obj_name(obj) || !obj_namespace(obj))
		goto out;
	p = pod_by_uid(a, uid);
	if (!strcmp(type, "DELETED")) {
		if (p)
			p->forget = true;
		goto out;
	}
	deleting = obj_get(obj, "metadata.deletionTimestamp") != NULL;
	if (p && p->compact) {
		/* finished and reported: nothing runs, it only needs deleting */
		if (deleting) {
			pod_final_delete(a, p->ns, p->name, p->uid);
			p->forget = true;
		}
		goto out;
	}
	if (p) {
		pod_sync_meta(p->obj, obj);
		if (deleting && !p->deleting)
			begin_delete(p);
		goto out;
	}
	phase = obj_str(obj, "status.phase");
	terminal = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
	if (deleting) {
		/* none of its processes is ours: finalised at once */
		pod_final_delete(a, obj_namespace(obj), obj_name(obj), uid);
		goto out;
	}
	if (terminal)
		goto out;
	if (started_before(obj)) {
		info("pod '%s/%s' was started by an earlier run of the agent: "
		     "failing it", obj_namespace(obj), obj_name(obj));
		{
			struct buf dir = BUF_INIT;

			buf_printf(&dir, "%s/pods/%s_%s_%s", a->work_dir,
				   obj_namespace(obj), obj_name(obj), uid);
			proc_kill_recorded(dir.data);
			buf_release(&dir);
		}
		pod_status_fail_orphan(a, obj);
		goto out;
	}
	pod_add(a, pod_new(a, obj));
	obj = NULL;
out:
	cJSON_Delete(obj);
}

static const char *restart_policy(const struct pod *p)
{
	const char *s = obj_str(p->spec, "restartPolicy");

	return s ? s : "Always";
}

static void pod_finish(struct pod *p, const char *phase, const char *reason,
		       const char *message)
{
	p->stage = STAGE_DONE;
	p->phase = phase;
	set_str(&p->reason, reason);
	set_str(&p->message, message);
	p->dirty = true;
}

/* A run of c ended (exit code and reason in c->last): restart or done. */
static void run_ended(struct pod *p, struct ctr *c)
{
	const char *policy = restart_policy(p);
	bool failed = c->last.exit_code != 0, restart;
	int64_t ran_ms = (c->last.finished - c->last.started) * 1000;

	c->has_last = true;
	if (c->init)
		restart = failed && strcmp(policy, "Never");
	else
		restart = !strcmp(policy, "Always") ||
			  (failed && !strcmp(policy, "OnFailure"));
	if (p->deleting || p->stage == STAGE_DONE)
		restart = false;
	p->dirty = true;
	if (!restart) {
		c->state = CTR_DONE;
		return;
	}
	if (ran_ms >= BACKOFF_RESET_MS)
		c->backoff_ms = 0;
	c->state = CTR_WAITING;
	c->next_start_ms = mono_ms() + c->backoff_ms;
	set_str(&c->waiting_reason, c->backoff_ms ? "CrashLoopBackOff" : "ContainerCreating");
	if (c->backoff_ms) {
		struct buf m = BUF_INIT;

		buf_printf(&m, "back-off %llds restarting failed container=%s pod=%s_%s",
			   (long long)(c->backoff_ms / 1000), c->name, p->name, p->ns);
		set_str(&c->waiting_message, m.data);
		buf_release(&m);
	} else {
		set_str(&c->waiting_message, NULL);
	}
	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_START_MS;
	if (c->backoff_ms > BACKOFF_MAX_MS)
		c->backoff_ms = BACKOFF_MAX_MS;
}

static void start_ctr(struct agent *a, struct pod *p, struct ctr *c)
{
	char **env = NULL, **cmd = NULL, **argv = NULL, *cwd = NULL;
	struct mount_list mounts = { NULL, 0 };
	struct buf err = BUF_INIT;
	size_t pod_from = 0;

	if (env_build(a, p->obj, c->spec, &env, &pod_from, &cmd, &err) < 0) {
		/* as a kubelet: wait for the ConfigMap/Secret to appear */
		set_str(&c->waiting_reason, "CreateContainerConfigError");
		set_str(&c->waiting_message, err.data);
		c->next_start_ms = mono_ms() + RETRY_MS;
		p->dirty = true;
		goto out;
	}
	if (p->vols && volumes_container_mounts(p->vols, c->spec, &mounts, &err) < 0)
		goto failed;
	if (!(argv = runtime_argv(a, p->obj, c->spec, cmd, env + pod_from, &mounts,
				  &cwd, &err)))
		goto failed;
	if (c->log)
		ctr_log_close(c->log);
	c->log = NULL;
	if (ctr_log_open(p->dir, c->name, c->runs, &c->log, &err) < 0)
		goto failed;
	c->started = time(NULL);
	c->restarts = c->runs++;
	c->wrapped = !strcmp(argv[0], "bwrap");
	c->signalled = false;
	if (proc_spawn(argv, env, cwd, &c->proc, &err) < 0) {
		ctr_log_write(c->log, 2, err.data, err.len);
		ctr_log_write(c->log, 2, "\n", 1);
		ctr_log_close(c->log);
		c->log = NULL;
		c->last.exit_code = 128;
		snprintf(c->last.reason, sizeof(c->last.reason), "StartError");
		c->last.started = c->last.finished = time(NULL);
		set_str(&c->message, err.data);
		run_ended(p, c);
		goto out;
	}
	proc_record_group(p->dir, c->proc.pid);
	logv(2, "pod '%s/%s' container '%s' started (pid %d)", p->ns, p->name,
	     c->name, (int)c->proc.pid);
	c->state = CTR_RUNNING;
	set_str(&c->message, NULL);
	set_str(&c->waiting_reason, NULL);
	set_str(&c->waiting_message, NULL);
	p->dirty = true;
	goto out;
failed:
	/* a container that cannot be set up fails as a StartError does */
	c->last.exit_code = 128;
	snprintf(c->last.reason, sizeof(c->last.reason), "StartError");
	c->last.started = c->last.finished = time(NULL);
	set_str(&c->message, err.data);
	c->runs++;
	c->restarts = c->runs - 1;
	run_ended(p, c);
out:
	if (env)
		argv_free(env);
	if (cmd)
		argv_free(cmd);
	if (argv)
		argv_free(argv);
	free(cwd);
	mount_list_release(&mounts);
	buf_release(&err);
}

/* Volumes the user asked for (the token volume that admission adds is
 * left out when bwrap is missing: programs then see no token). */
static bool needs_mounts(const struct pod *p)
{
	const cJSON *c, *m;

	for (int k = 0; k < 2; k++)
		cJSON_ArrayForEach(c, obj_get(p->spec, k ? "containers" : "initContainers"))
			cJSON_ArrayForEach(m, obj_get(c, "volumeMounts")) {
				const char *n = obj_str(m, "name");

				if (n && strncmp(n, "kube-api-access-", 16))
					return true;
			}
	return false;
}

static void prepare(struct agent *a, struct pod *p)
{
	struct buf err = BUF_INIT;
	size_t i;

	if (mkdir(p->dir, 0700) < 0 && errno != EEXIST) {
		buf_set(&err, "cannot create '%s': %s", p->dir, strerror(errno));
		pod_finish(p, "Failed", "UnexpectedAdmissionError", err.data);
		goto out;
	}
	if (a->rt == RT_HOST && !a->bwrap) {
		if (needs_mounts(p)) {
			pod_finish(p, "Failed", "MountsUnsupported", "the pod mounts "
				   "volumes and bubblewrap (bwrap) is not usable on this "
				   "node, so its containers cannot see them at their "
				   "mountPath");
			goto out;
		}
	} else if (volumes_prepare(a->k, p->obj, p->dir, &p->vols, &err) < 0) {
		for (i = 0; i < p->nc; i++) {
			set_str(&p->c[i].waiting_reason, "ContainerCreating");
			set_str(&p->c[i].waiting_message, err.data);
		}
		p->retry_ms = mono_ms() + RETRY_MS;
		p->dirty = true;
		goto out;
	}
	if (p->vols && volumes_refresh_tokens(a->k, p->vols, &p->token_ms, &err) < 0) {
		warn("pod '%s/%s': %s", p->ns, p->name, buf_str(&err));
		buf_reset(&err);
	}
	p->stage = p->ninit ? STAGE_INIT : STAGE_MAIN;
	if (p->stage == STAGE_MAIN)
		p->phase = "Running";
	p->dirty = true;
out:
	buf_release(&err);
}

static void step_init(struct agent *a, struct pod *p, int64_t now)
{
	size_t i;

	for (i = 0; i < p->ninit; i++) {
		struct ctr *c = &p->c[i];

		if (c->state == CTR_DONE && c->last.exit_code == 0)
			continue;
		if (c->state == CTR_DONE) {
			pod_finish(p, "Failed", NULL, NULL);
			return;
		}
		if (c->state == CTR_WAITING && now >= c->next_start_ms)
			start_ctr(a, p, c);
		if (c->state == CTR_DONE && c->last.exit_code != 0)
			pod_finish(p, "Failed", NULL, NULL);
		return;
	}
	p->stage = STAGE_MAIN;
	p->phase = "Running";
	p->dirty = true;
}

static void step_main(struct agent *a, struct pod *p, int64_t now)
{
	bool all_done = true, all_ok = true;
	size_t i;

	for (i = p->ninit; i < p->nc; i++) {
		struct ctr *c = &p->c[i];

		if (c->state == CTR_WAITING && now >= c->next_start_ms)
			start_ctr(a, p, c);
		if (c->state != CTR_DONE)
			all_done = false;
		else if (c->last.exit_code != 0)
			all_ok = false;
	}
	if (all_done)
		pod_finish(p, all_ok ? "Succeeded" : "Failed", NULL, NULL);
}

static void step(struct agent *a, struct pod *p)
{
	int64_t now = mono_ms(), ads;

	if (p->deleting) {
		if (!any_running(p)) {
			pod_final_delete(a, p->ns, p->name, p->uid);
			p->forget = true;
		} else if (now >= p->kill_at_ms && !p->killed) {
			signal_all(p, SIGKILL);
			p->killed = true;
		}
		return;
	}
	if (p->stage == STAGE_DONE)
		return;
	if (p->vols && p->token_ms && now >= p->token_ms) {
		struct buf err = BUF_INIT;

		if (volumes_refresh_tokens(a->k, p->vols, &p->token_ms, &err) < 0)
			warn("pod '%s/%s': cannot renew its token: %s", p->ns, p->name,
			     buf_str(&err));
		buf_release(&err);
	}
	ads = obj_int(p->spec, "activeDeadlineSeconds", 0);
	if (ads > 0 && now - p->start_ms >= ads * 1000) {
		signal_all(p, SIGKILL);
		pod_finish(p, "Failed", "DeadlineExceeded", "Pod was active on the "
			   "node longer than the specified deadline");
		return;
	}
	if (p->stage == STAGE_NEW) {
		if (now < p->retry_ms)
			return;
		prepare(a, p);
	}
	if (p->stage == STAGE_INIT)
		step_init(a, p, now);
	if (p->stage == STAGE_MAIN)
		step_main(a, p, now);
}

void pods_step(struct agent *a)
{
	size_t i, j;

	for (i = 0; i < a->npods; i++) {
		struct pod *p = a->pods[i];

		if (p->compact)
			continue;
		if (!p->forget)
			step(a, p);
		if (p->dirty && !p->forget && !p->deleting)
			pod_status_write(a, p);
		if (p->stage == STAGE_DONE && !p->dirty && !p->deleting && !p->forget)
			pod_compact(p);
	}
	for (i = j = 0; i < a->npods; i++) {
		if (a->pods[i]->forget)
			pod_free(a->pods[i]);
		else
			a->pods[j++] = a->pods[i];
	}
	a->npods = j;
}

static void drain(struct ctr *c, int *fd, int stream)
{
	char data[65536];
	ssize_t n;

	while (*fd >= 0) {
		n = read(*fd, data, sizeof(data));
		if (n > 0) {
			if (c->log)
				ctr_log_write(c->log, stream, data, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		close_fd(fd);
	}
}

void pods_child_output(struct agent *a, int fd)
{
	size_t i, j;

	for (i = 0; i < a->npods; i++) {
		for (j = 0; j < a->pods[i]->nc; j++) {
			struct ctr *c = &a->pods[i]->c[j];

			if (c->proc.out_fd == fd)
				drain(c, &c->proc.out_fd, 1);
			else if (c->proc.err_fd == fd)
				drain(c, &c->proc.err_fd, 2);
			else
				continue;
			return;
		}
	}
}

void pods_child_exit(struct agent *a, pid_t pid, int wstatus)
{
	size_t i, j;

	for (i = 0; i < a->npods; i++) {
		struct pod *p = a->pods[i];

		for (j = 0; j < p->nc; j++) {
			struct ctr *c = &p->c[j];

			if (c->proc.pid != pid || c->state != CTR_RUNNING)
				continue;
			/* the container ends with its main process, as a
			 * cgroup would: what it left behind is killed */
			kill(-pid, SIGKILL);
			drain(c, &c->proc.out_fd, 1);
			drain(c, &c->proc.err_fd, 2);
			close_fd(&c->proc.out_fd);
			close_fd(&c->proc.err_fd);
			if (c->log)
				ctr_log_close(c->log);
			c->log = NULL;
			c->proc.pid = -1;
			c->last.exit_code = proc_exit_code(wstatus);
			snprintf(c->last.reason, sizeof(c->last.reason), "%s",
				 c->last.exit_code ? "Error" : "Completed");
			c->last.started = c->started;
			c->last.finished = time(NULL);
			logv(2, "pod '%s/%s' container '%s' exited with %d", p->ns,
			     p->name, c->name, c->last.exit_code);
			run_ended(p, c);
			return;
		}
	}
}

void pods_fds(struct agent *a, int **fds, size_t *n)
{
	size_t i, j;

	for (i = 0; i < a->npods; i++) {
		for (j = 0; j < a->pods[i]->nc; j++) {
			const struct ctr *c = &a->pods[i]->c[j];
			int f[2] = { c->proc.out_fd, c->proc.err_fd };

			for (int k = 0; k < 2; k++) {
				if (f[k] < 0)
					continue;
				*fds = realloc(*fds, (*n + 1) * sizeof(**fds));
				if (!*fds)
					abort();
				(*fds)[(*n)++] = f[k];
			}
		}
	}
}

int64_t pods_next_ms(struct agent *a, int64_t cap)
{
	int64_t now = mono_ms(), best = cap, d;
	size_t i, j;

	for (i = 0; i < a->npods; i++) {
		const struct pod *p = a->pods[i];
		int64_t ads;

		if (p->compact)
			continue;
		ads = obj_int(p->spec, "activeDeadlineSeconds", 0);
		if (p->deleting) {
			d = p->killed ? cap : p->kill_at_ms - now;
			best = d < best ? d : best;
			continue;
		}
		if (p->stage == STAGE_DONE)
			continue;
		if (p->stage == STAGE_NEW) {
			d = p->retry_ms - now;
			best = d < best ? d : best;
		}
		if (p->token_ms) {
			d = p->token_ms - now;
			best = d < best ? d : best;
		}
		if (ads > 0) {
			d = p->start_ms + ads * 1000 - now;
			best = d < best ? d : best;
		}
		for (j = 0; j < p->nc; j++) {
			if (p->c[j].state != CTR_WAITING)
				continue;
			d = p->c[j].next_start_ms - now;
			best = d < best ? d : best;
		}
	}
	return best < 0 ? 0 : best;
}

void pods_end_all(struct agent *a, const char *reason, const char *message,
		  int64_t grace_ms)
{
	int64_t deadline = mono_ms() + grace_ms;
	bool killed = false, left;
	size_t i;
	pid_t pid;
	int st;

	for (i = 0; i < a->npods; i++) {
		struct pod *p = a->pods[i];

		if (!p->forget && !p->deleting && p->stage != STAGE_DONE)
			pod_finish(p, "Failed", reason, message);
		signal_all(p, grace_ms > 0 ? SIGTERM : SIGKILL);
	}
	for (;;) {
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			pods_child_exit(a, pid, st);
		left = false;
		for (i = 0; i < a->npods; i++)
			left = left || any_running(a->pods[i]);
		if (!left)
			break;
		if (!killed && mono_ms() >= deadline) {
			for (i = 0; i < a->npods; i++)
				signal_all(a->pods[i], SIGKILL);
			killed = true;
		}
		usleep(20000);
	}
	for (i = 0; i < a->npods; i++) {
		struct pod *p = a->pods[i];

		if (p->forget || p->deleting) {
			if (p->deleting)
				pod_final_delete(a, p->ns, p->name, p->uid);
			continue;
		}
		if (p->dirty)
			pod_status_write(a, p);
	}
}

void pods_free(struct agent *a)
{
	size_t i;

	for (i = 0; i < a->npods; i++)
		pod_free(a->pods[i]);
	free(a->pods);
	a->pods = NULL;
	a->npods = 0;
}
