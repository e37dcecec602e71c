/* process.c - starting a container's process with posix_spawn: a new
 * process group, stdin from /dev/null, stdout and stderr on pipes, no other
 * descriptor, default signals, the pod's environment; an exec error comes
 * back from posix_spawn itself. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "log.h"
#include "vkcmd.h"

int proc_exit_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 255;
}

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	p[0] = p[1] = -1;
}

int proc_spawn(char *const *argv, char *const *env, const char *cwd,
	       struct proc *p, struct buf *err)
{
	int out[2] = { -1, -1 }, errp[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int e, rc = -1;
	pid_t pid;

	p->pid = -1;
	p->out_fd = p->err_fd = -1;
	if (!argv || !argv[0]) {
		buf_set(err, "no command to run");
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		buf_set(err, "cannot make pipes: %s", strerror(errno));
		goto out;
	}
	/* posix_spawn (clone with CLONE_VM|CLONE_VFORK): no copy of the
	 * agent's memory, so starting a container costs the same however
	 * many pods the agent holds */
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	/* nothing of the agent's leaks into the container: its sockets, the
	 * pipes of other containers, what the agent inherited */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);
	e = posix_spawnp(&pid, argv[0], &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (e) {
		buf_set(err, "cannot run '%s': %s", argv[0], strerror(e));
		goto out;
	}
	close(out[1]);
	close(errp[1]);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(errp[0], F_SETFL, O_NONBLOCK);
	p->pid = pid;
	p->out_fd = out[0];
	p->err_fd = errp[0];
	out[0] = out[1] = errp[0] = errp[1] = -1;
	rc = 0;
out:
	close_pair(out);
	close_pair(errp);
	return rc;
}

/* Field 22 of /proc/PID/stat (start time in clock ticks), 0 when gone. */
static unsigned long long proc_start(pid_t pid)
{
	struct buf b = BUF_INIT, path = BUF_INIT;
	unsigned long long t = 0;
	const char *p;
	int field;

	buf_printf(&path, "/proc/%d/stat", (int)pid);
	if (buf_read_file(&b, path.data) == 0 && (p = strrchr(buf_str(&b), ')'))) {
		/* after "pid (comm)" come fields 3, 4, ...: 22 is the 20th */
		for (field = 2; field < 21 && p; field++)
			p = strchr(p + 1, ' ');
		if (p)
			t = strtoull(p + 1, NULL, 10);
	}
	buf_release(&b);
	buf_release(&path);
	return t;
}

void proc_record_group(const char *pod_dir, pid_t pgid)
{
	struct buf path = BUF_INIT;
	FILE *f;

	buf_printf(&path, "%s/pgids", pod_dir);
	if ((f = fopen(path.data, "a"))) {
		fprintf(f, "%d %llu\n", (int)pgid, proc_start(pgid));
		fclose(f);
	}
	buf_release(&path);
}

void proc_kill_recorded(const char *pod_dir)
{
	struct buf path = BUF_INIT;
	unsigned long long start, now;
	FILE *f;
	int pgid;

	buf_printf(&path, "%s/pgids", pod_dir);
	if (!(f = fopen(path.data, "r")))
		goto out;
	while (fscanf(f, "%d %llu", &pgid, &start) == 2) {
		if (pgid <= 1)
			continue;
		now = proc_start(pgid);
		/* a live leader with another start time: the id was reused */
		if (now && now != start)
			continue;
		if (kill(-pgid, SIGKILL) == 0)
			info("killed process group %d left by an earlier run", pgid);
	}
	fclose(f);
out:
	buf_release(&path);
}

void proc_signal_members(pid_t pgid, int sig)
{
	struct dirent *e;
	DIR *d = opendir("/proc");
	struct buf b = BUF_INIT, path = BUF_INIT;

	while (d && (e = readdir(d))) {
		const char *p;
		long pid = strtol(e->d_name, NULL, 10);

		if (pid <= 0 || pid == pgid)
			continue;
		buf_reset(&path);
		buf_printf(&path, "/proc/%ld/stat", pid);
		buf_reset(&b);
		if (buf_read_file(&b, path.data) < 0 || !(p = strrchr(buf_str(&b), ')')))
			continue;
		/* ") S PPID PGRP" */
		if (sscanf(p + 1, " %*c %*d %ld", &pid) == 1 && pid == pgid)
			kill((pid_t)strtol(e->d_name, NULL, 10), sig);
	}
	if (d)
		closedir(d);
	buf_release(&b);
	buf_release(&path);
}
