/* vkio.c - a test program over kubectl-vkcmd's file and socket parts
 * (plugins/vkcmd/vkcmd_io.h), built by tests/vkcmd-io.bats:
 *
 *   vkio log POD_DIR CTR RESTART -- CMD...   runs CMD, writes its stdout and
 *                                            stderr as the container's log
 *   vkio kubelet WORK_DIR NODE [CERT KEY]    serves the kubelet API on
 *                                            127.0.0.1 (port on stdout) until
 *                                            SIGTERM; VKIO_CLIENT_CA: require
 *                                            client certificates from it
 *   vkio volumes POD_JSON POD_DIR CTR [-- CMD...]
 *                                            prepares the pod's volumes
 *                                            (KUBECONFIG), prints CTR's mounts
 *                                            ("SRC DST ro|rw"), or runs CMD
 *                                            through bwrap with them;
 *                                            VKIO_TOKENS: first prints when
 *                                            the tokens are to be renewed
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kube.h"
#include "log.h"
#include "obj.h"
#include "vkcmd_io.h"

static int cmd_log(int argc, char **argv)
{
	struct buf err = BUF_INIT;
	struct ctr_log *l;
	int out[2], errp[2], st;
	pid_t pid;

	if (argc < 6 || strcmp(argv[4], "--"))
		die_usage("usage: vkio log POD_DIR CTR RESTART -- CMD...");
	if (ctr_log_open(argv[1], argv[2], atoi(argv[3]), &l, &err) < 0)
		die("%s", buf_str(&err));
	if (pipe(out) < 0 || pipe(errp) < 0)
		die("pipe: %s", strerror(errno));
	if ((pid = fork()) == 0) {
		dup2(out[1], 1);
		dup2(errp[1], 2);
		close(out[0]);
		close(errp[0]);
		execvp(argv[5], argv + 5);
		_exit(127);
	}
	close(out[1]);
	close(errp[1]);
	struct pollfd p[2] = { { out[0], POLLIN, 0 }, { errp[0], POLLIN, 0 } };
	int open_fds = 2;
	char b[4096];
	while (open_fds) {
		if (poll(p, 2, -1) < 0)
			continue;
		for (int i = 0; i < 2; i++) {
			if (!p[i].revents)
				continue;
			ssize_t n = read(p[i].fd, b, sizeof(b));
			if (n > 0) {
				ctr_log_write(l, i + 1, b, n);
			} else {
				close(p[i].fd);
				p[i].fd = -1;
				open_fds--;
			}
		}
	}
	waitpid(pid, &st, 0);
	ctr_log_close(l);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int cmd_kubelet(int argc, char **argv)
{
	struct buf err = BUF_INIT;
	struct kubelet_server *s;
	sigset_t set;
	int sig;

	if (argc != 3 && argc != 5)
		die_usage("usage: vkio kubelet WORK_DIR NODE [CERT KEY]");
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (kubelet_server_start(getenv("VKIO_ADDR") ? getenv("VKIO_ADDR") : "127.0.0.1",
				 0, argc == 5 ? argv[3] : NULL,
				 argc == 5 ? argv[4] : NULL, argv[2], argv[1], &s,
				 &err) < 0)
		die("%s", buf_str(&err));
	if (getenv("VKIO_CLIENT_CA") &&
	    kubelet_server_require_client_ca(s, getenv("VKIO_CLIENT_CA"), &err) < 0)
		die("%s", buf_str(&err));
	printf("%d\n", kubelet_server_port(s));
	fflush(stdout);
	sigwait(&set, &sig);
	kubelet_server_stop(s);
	return 0;
}

static int cmd_volumes(int argc, char **argv)
{
	struct kube_flags flags = { 0 };
	struct kube_err kerr = KUBE_ERR_INIT;
	struct buf err = BUF_INIT, text = BUF_INIT;
	struct pod_volumes *v = NULL;
	struct mount_list m = { 0 };
	const cJSON *c, *ctr = NULL;
	struct kube *k;
	cJSON *pod;

	if (argc < 4 || (argc > 4 && (strcmp(argv[4], "--") || argc < 6)))
		die_usage("usage: vkio volumes POD_JSON POD_DIR CTR [-- CMD...]");
	if (buf_read_file(&text, argv[1]) < 0 || !(pod = cJSON_Parse(buf_str(&text))))
		die("cannot read '%s'", argv[1]);
	cJSON_ArrayForEach(c, obj_get(pod, "spec.containers"))
		if (!strcmp(obj_str(c, "name"), argv[3]))
			ctr = c;
	if (!ctr)
		die("no container '%s'", argv[3]);
	if (kube_open(&flags, "kubectl-vkcmd", &k, &kerr) < 0) {
		kube_err_print(&kerr);
		return 1;
	}
	if (volumes_prepare(k, pod, argv[2], &v, &err) < 0 ||
	    volumes_container_mounts(v, ctr, &m, &err) < 0)
		die("%s", buf_str(&err));
	if (getenv("VKIO_TOKENS")) {
		struct timespec now;
		int64_t next;
		if (volumes_refresh_tokens(k, v, &next, &err) < 0)
			die("%s", buf_str(&err));
		clock_gettime(CLOCK_MONOTONIC, &now);
		printf("next token renewal in %lld s\n", next ? (long long)((next -
		       ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000)) / 1000) : -1LL);
	}
	for (size_t i = 0; argc == 4 && i < m.n; i++)
		printf("%s %s %s\n", m.items[i].src, m.items[i].dst,
		       m.items[i].readonly ? "ro" : "rw");
	fflush(stdout);
	if (argc > 4) {
		if (!bwrap_available())
			die("bwrap is not usable here");
		char **av = bwrap_wrap(&m, obj_str(ctr, "workingDir"), argv + 5);
		if (getenv("VKIO_SHOW"))
			for (size_t i = 0; av[i]; i++)
				fprintf(stderr, "%s%s", av[i], av[i + 1] ? " " : "\n");
		execvp(av[0], av);
		die("cannot run bwrap: %s", strerror(errno));
	}
	mount_list_release(&m);
	volumes_free(v);
	kube_close(k);
	cJSON_Delete(pod);
	buf_release(&text);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "log"))
		return cmd_log(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "kubelet"))
		return cmd_kubelet(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "volumes"))
		return cmd_volumes(argc - 1, argv + 1);
	die_usage("usage: vkio log|kubelet|volumes ...");
}
