/* agent.c - the node agent's life: work dir, kubelet server, Node and Lease,
 * the pod watch (a thread of its own, feeding a queue), and the event loop
 * (poll on the queue's wake pipe, a signalfd for SIGCHLD/SIGTERM/SIGINT, the
 * containers' output pipes, with timeouts for the lease and pod timers).
 * SIGTERM/SIGINT: the node goes NotReady, its pods are stopped and reported
 * Failed, exit 0. --walltime: the same at the end of the allocation, with
 * reason Walltime. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "http.h"
#include "log.h"
#include "obj.h"
#include "vkcmd.h"

#define RENEW_MAX_MS 10000
#define HEARTBEAT_MS 60000
#define STOP_GRACE_MS 10000
#define WALLTIME_GRACE_MS 5000

int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		die("out of memory");
	return d;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		die("out of memory");
	return p;
}

/* ---- the watch thread ---- */

struct event {
	struct event *next;
	char type[16];
	cJSON *obj;
};

struct watchq {
	pthread_mutex_t lock;
	struct event *head, *tail;
	int wake[2];
	struct kube *k;		/* the thread's own connection */
	char *selector;
	struct http_cancel cancel;	/* fired at shutdown: the watch ends */
};

static int on_pod(void *ctx, const char *type, const cJSON *obj)
{
	struct watchq *q = ctx;
	struct event *e = xcalloc(1, sizeof(*e));
	char b = 1;

	snprintf(e->type, sizeof(e->type), "%s", type);
	e->obj = cJSON_Duplicate(obj, 1);
	pthread_mutex_lock(&q->lock);
	if (q->tail)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	pthread_mutex_unlock(&q->lock);
	if (write(q->wake[1], &b, 1) < 0 && errno != EAGAIN)
		warn("cannot wake the event loop: %s", strerror(errno));
	return 0;
}

static void *watch_main(void *arg)
{
	struct watchq *q = arg;

	while (!http_cancelled(&q->cancel)) {
		struct kube_err err = KUBE_ERR_INIT;
		struct pollfd p = { q->cancel.fd[0], POLLIN, 0 };
		struct kube_watch_opts o = { NULL, q->selector, NULL, true, 0 };

		if (kube_watch(q->k, "v1", "Pod", NULL, &o, on_pod, q, &err) < 0 &&
		    !http_cancelled(&q->cancel)) {
			struct buf m = BUF_INIT;

			kube_err_format(&err, &m);
			warn("the pod watch ended: %s; watching again", buf_str(&m));
			buf_release(&m);
		}
		kube_err_release(&err);
		if (!http_cancelled(&q->cancel))
			poll(&p, 1, 1000);
	}
	return NULL;
}

static struct event *queue_take(struct watchq *q)
{
	struct event *e;

	pthread_mutex_lock(&q->lock);
	e = q->head;
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&q->lock);
	return e;
}

/* ---- set-up ---- */

/* mkdir -p with 0700 for what it creates. */
static int mkdirs(const char *path)
{
	char *p = xstrdup(path), *s;
	int rc = 0;

	for (s = p + 1; ; s++) {
		if (*s == '/' || !*s) {
			char c = *s;

			*s = '\0';
			if (mkdir(p, 0700) < 0 && errno != EEXIST) {
				rc = -1;
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return rc;
}

static int work_dir_init(struct agent *a)
{
	struct buf d = BUF_INIT;
	struct stat st;
	const char *x;
	int rc = -1;

	if (a->o.work_dir) {
		buf_adds(&d, a->o.work_dir);
	} else if ((x = getenv("XDG_STATE_HOME")) && *x == '/') {
		buf_printf(&d, "%s/wlkit/vkcmd/%s", x, a->node);
	} else if ((x = getenv("HOME")) && *x == '/') {
		buf_printf(&d, "%s/.local/state/wlkit/vkcmd/%s", x, a->node);
	} else {
		error("cannot choose a work dir: set --work-dir, XDG_STATE_HOME or HOME");
		goto out;
	}
	if (d.data[0] != '/') {
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd))) {
			error("cannot resolve '%s': %s", d.data, strerror(errno));
			goto out;
		}
		buf_set(&d, "%s/%s", cwd, a->o.work_dir);
	}
	if (mkdirs(d.data) < 0 || stat(d.data, &st) < 0) {
		error("cannot create '%s': %s", d.data, strerror(errno));
		goto out;
	}
	if (st.st_uid != geteuid()) {
		error("work dir '%s' is not owned by this user", d.data);
		goto out;
	}
	if ((st.st_mode & 0777) != 0700 && chmod(d.data, 0700) < 0) {
		error("cannot chmod '%s': %s", d.data, strerror(errno));
		goto out;
	}
	buf_adds(&d, "/pods");
	if (mkdir(d.data, 0700) < 0 && errno != EEXIST) {
		error("cannot create '%s': %s", d.data, strerror(errno));
		goto out;
	}
	buf_setlen(&d, d.len - 5);
	a->work_dir = buf_detach(&d, NULL);
	rc = 0;
out:
	buf_release(&d);
	return rc;
}

static int listen_split(const char *s, char **addr, int *port)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long p;

	if (!colon)
		return -1;
	p = strtol(colon + 1, &end, 10);
	if (*end || p < 0 || p > 65535 || colon == s)
		return -1;
	if (*s == '[' && colon[-1] == ']')
		*addr = strndup(s + 1, (size_t)(colon - s - 2));
	else
		*addr = strndup(s, (size_t)(colon - s));
	*port = (int)p;
	return 0;
}

static void print_err(struct kube_err *err)
{
	kube_err_print(err);
	kube_err_release(err);
}

/* ---- the loop ---- */

static void reap(struct agent *a)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		pods_child_exit(a, pid, st);
}

static void ready_false(struct agent *a, const char *reason, const char *message)
{
	struct kube_err err = KUBE_ERR_INIT;

	if (node_set_ready(a, false, reason, message, &err) < 0)
		print_err(&err);
}

static int loop(struct agent *a, struct watchq *q, int sfd)
{
	int64_t renew_ms, lease_due = 0, beat_due, walltime_due = 0, now, t;
	struct kube_err err = KUBE_ERR_INIT;
	struct pollfd *pfd = NULL;
	int *fds = NULL;
	size_t nfds, i;
	int stop = 0;

	renew_ms = (int64_t)a->lease_seconds * 1000 / 4;
	if (renew_ms > RENEW_MAX_MS)
		renew_ms = RENEW_MAX_MS;
	now = mono_ms();
	lease_due = now + renew_ms;
	beat_due = now + HEARTBEAT_MS;
	if (a->o.walltime_ms > 0)
		walltime_due = a->started_ms + a->o.walltime_ms;
	while (!stop) {
		now = mono_ms();
		t = pods_next_ms(a, 1000);
		if (lease_due - now < t)
			t = lease_due - now;
		if (walltime_due && walltime_due - now < t)
			t = walltime_due - now;
		nfds = 0;
		pods_fds(a, &fds, &nfds);
		pfd = realloc(pfd, (nfds + 2) * sizeof(*pfd));
		if (!pfd)
			die("out of memory");
		pfd[0] = (struct pollfd){ q->wake[0], POLLIN, 0 };
		pfd[1] = (struct pollfd){ sfd, POLLIN, 0 };
		for (i = 0; i < nfds; i++)
			pfd[i + 2] = (struct pollfd){ fds[i], POLLIN, 0 };
		if (poll(pfd, nfds + 2, t < 0 ? 0 : (int)t) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (i = 0; i < nfds; i++)
			if (pfd[i + 2].revents)
				pods_child_output(a, fds[i]);
		if (pfd[1].revents) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
					stop = 1;
			}
			reap(a);
		}
		if (pfd[0].revents) {
			char b[256];
			struct event *e, *next;

			while (read(q->wake[0], b, sizeof(b)) > 0)
				;
			for (e = queue_take(q); e; e = next) {
				next = e->next;
				pods_event(a, e->type, e->obj);
				free(e);
			}
		}
		now = mono_ms();
		if (now >= lease_due) {
			if (node_renew_lease(a, &err) < 0)
				print_err(&err);
			lease_due = now + renew_ms;
		}
		if (now >= beat_due) {
			if (node_set_ready(a, true, "KubeletReady",
					   "kubelet is posting ready status", &err) < 0)
				print_err(&err);
			beat_due = now + HEARTBEAT_MS;
		}
		if (walltime_due && now >= walltime_due)
			stop = 2;
		pods_step(a);
	}
	free(fds);
	free(pfd);
	if (stop == 2) {
		info("node '%s' reached its walltime", a->node);
		ready_false(a, "Walltime", "the node's allocation reached its walltime");
		pods_end_all(a, "Walltime", "the node's allocation reached its walltime",
			     WALLTIME_GRACE_MS);
	} else {
		info("node '%s' is shutting down", a->node);
		ready_false(a, "KubeletNotReady", "the node agent is shutting down");
		pods_end_all(a, "Terminated", "Pod was terminated in response to "
			     "imminent node shutdown.", STOP_GRACE_MS);
	}
	return 0;
}

int agent_run(struct agent *a, const struct kube_flags *flags)
{
	struct kube_err err = KUBE_ERR_INIT;
	struct buf berr = BUF_INIT;
	struct watchq q = { PTHREAD_MUTEX_INITIALIZER, NULL, NULL, { -1, -1 }, NULL, NULL,
			    { { -1, -1 }, 0 } };
	struct event *e, *next;
	char *addr = NULL, self[PATH_MAX];
	const char *env;
	sigset_t mask;
	pthread_t th;
	ssize_t n;
	int sfd = -1, port, rc = 1;

	/* one malloc arena: the watch thread's allocations would otherwise
	 * hold a second heap of their own */
	mallopt(M_ARENA_MAX, 1);
	a->started_ms = mono_ms();
	a->lease_seconds = 40;
	if ((env = getenv("WLKIT_VKCMD_LEASE_SECONDS")) && atoi(env) > 0)
		a->lease_seconds = atoi(env);
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		die("cannot find this program: %s", strerror(errno));
	self[n] = '\0';
	a->self_exe = xstrdup(self);
	if (listen_split(a->o.listen, &addr, &port) < 0) {
		error("invalid --listen '%s': want ADDR:PORT", a->o.listen);
		goto out;
	}
	if (work_dir_init(a) < 0)
		goto out;
	/* signals are blocked before any thread starts, so every thread
	 * inherits the mask and the signalfd gets them all */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		die("signalfd: %s", strerror(errno));
	if (http_cancel_init(&q.cancel) < 0)
		die("pipe: %s", strerror(errno));
	if (kube_open(flags, "kubectl-vkcmd", &a->k, &err) < 0 ||
	    kube_open(flags, "kubectl-vkcmd", &q.k, &err) < 0) {
		print_err(&err);
		goto out;
	}
	kube_set_cancel(q.k, &q.cancel);
	node_probe_host(a);
	a->bwrap = a->rt == RT_HOST && !a->o.pipe ? bwrap_available() : false;
	if (a->rt == RT_HOST && !a->o.pipe && !a->bwrap)
		warn("bubblewrap (bwrap) is not usable here: pods that mount volumes "
		     "will fail");
	if (kubelet_server_start(addr, port, a->o.kubelet_cert, a->o.kubelet_key,
				 a->node, a->work_dir, &a->ks, &berr) < 0) {
		error("cannot start the kubelet API on '%s': %s", a->o.listen,
		      buf_str(&berr));
		goto out;
	}
	if (a->o.kubelet_client_ca &&
	    kubelet_server_require_client_ca(a->ks, a->o.kubelet_client_ca, &berr) < 0) {
		error("cannot use --kubelet-client-ca '%s': %s", a->o.kubelet_client_ca,
		      buf_str(&berr));
		goto out;
	}
	if (!a->o.kubelet_client_ca && strcmp(addr, "127.0.0.1") && strcmp(addr, "::1") &&
	    strcmp(addr, "localhost"))
		warn("the kubelet API on '%s' has no client authentication: anyone who "
		     "reaches it can read the pods' logs (see --kubelet-client-ca)",
		     a->o.listen);
	a->kubelet_port = kubelet_server_port(a->ks);
	if (node_register(a, &err) < 0) {
		print_err(&err);
		goto out;
	}
	info("node '%s' registered (kubelet API on port %d, work dir '%s')", a->node,
	     a->kubelet_port, a->work_dir);
	if (pipe2(q.wake, O_CLOEXEC | O_NONBLOCK) < 0)
		die("pipe: %s", strerror(errno));
	buf_set(&berr, "spec.nodeName=%s", a->node);
	q.selector = buf_detach(&berr, NULL);
	if (pthread_create(&th, NULL, watch_main, &q) != 0)
		die("cannot start the watch thread");
	rc = loop(a, &q, sfd);
	/* the watch's request ends at once when the switch fires */
	http_cancel_fire(&q.cancel);
	pthread_join(th, NULL);
	for (e = queue_take(&q); e; e = next) {
		next = e->next;
		cJSON_Delete(e->obj);
		free(e);
	}
	pods_free(a);
out:
	if (a->ks)
		kubelet_server_stop(a->ks);
	a->ks = NULL;
	if (sfd >= 0)
		close(sfd);
	kube_close(q.k);
	kube_close(a->k);
	a->k = NULL;
	if (q.wake[0] >= 0) {
		close(q.wake[0]);
		close(q.wake[1]);
	}
	if (q.cancel.fd[0] >= 0)
		http_cancel_release(&q.cancel);
	free(q.selector);
	free(addr);
	buf_release(&berr);
	kube_err_release(&err);
	return rc;
}
