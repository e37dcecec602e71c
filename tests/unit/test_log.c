/* test_log.c - message formats on stderr; progress only on a terminal. */
#include "unit.h"
#include "buf.h"
#include "log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs fn in a child with stderr to a file; returns the exit status. */
static int capture(void (*fn)(void), struct buf *err)
{
	char path[512];
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/stderr", unit_tmpdir());
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 2);
		fn();
		fflush(NULL);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	buf_reset(err);
	buf_read_file(err, path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void say_all(void)
{
	CHECK_INT(error("cannot read '%s': %s", "/x", "No such file or directory"), -1);
	warn("context '%s' has no namespace", "a");
	info("created %d jobs", 3);
	logv(6, "hidden at -v=0");
	progress("not on a pipe");
	progress_done();
}

static void say_quiet_verbose(void)
{
	log_set_quiet(true);
	log_set_verbosity(6);
	info("not shown when quiet");
	logv(6, "GET https://x 200 OK");
	logv(7, "not at -v=6");
}

static void say_die(void)
{
	die("fatal '%s'", "thing");
}

static void say_die_usage(void)
{
	die_usage("bad flag");
}

TEST(messages_have_fixed_prefixes_and_no_colour_off_a_terminal)
{
	struct buf e = BUF_INIT;

	CHECK_INT(capture(say_all, &e), 0);
	CHECK_STR(buf_str(&e), "error: cannot read '/x': No such file or directory\n"
		  "warning: context 'a' has no namespace\n"
		  "created 3 jobs\n");
	buf_release(&e);
}

TEST(quiet_hides_info_and_verbosity_gates_logv)
{
	struct buf e = BUF_INIT;

	CHECK_INT(capture(say_quiet_verbose, &e), 0);
	CHECK(!strstr(buf_str(&e), "not shown"));
	CHECK_CONTAINS(buf_str(&e), "] GET https://x 200 OK\n");
	CHECK(buf_str(&e)[0] == 'I');
	CHECK(!strstr(buf_str(&e), "not at -v=6"));
	buf_release(&e);
}

TEST(die_exits_1_and_usage_exits_2)
{
	struct buf e = BUF_INIT;

	CHECK_INT(capture(say_die, &e), 1);
	CHECK_STR(buf_str(&e), "error: fatal 'thing'\n");
	CHECK_INT(capture(say_die_usage, &e), 2);
	CHECK_STR(buf_str(&e), "error: bad flag\n");
	buf_release(&e);
}
