/* test_file.c - whole-file atomic writes (common/file.h). */
#include "unit.h"
#include "file.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmpdir(void)
{
	char *d = strdup("/tmp/wlkit-test-file.XXXXXX");

	return mkdtemp(d) ? d : NULL;
}

/* the names in dir, sorted by the caller's expectation: one line each */
static void names(const char *dir, struct buf *out)
{
	struct dirent **e;
	int n = scandir(dir, &e, NULL, alphasort), i;

	for (i = 0; i < n; i++) {
		if (strcmp(e[i]->d_name, ".") && strcmp(e[i]->d_name, ".."))
			buf_printf(out, "%s\n", e[i]->d_name);
		free(e[i]);
	}
	if (n >= 0)
		free(e);
}

static mode_t mode_of(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

TEST(writes_replaces_and_leaves_nothing_beside)
{
	struct buf p = BUF_INIT, got = BUF_INIT, err = BUF_INIT, ls = BUF_INIT;
	char *d = tmpdir();
	mode_t old = umask(022);

	CHECK(d != NULL);
	buf_printf(&p, "%s/out.yaml", d);
	CHECK_INT(file_write_atomic(p.data, "one\n", 4, FILE_MODE_KEEP, 0, &err), 0);
	CHECK_INT(buf_read_file(&got, p.data), 0);
	CHECK_STR(buf_str(&got), "one\n");
	CHECK_INT(mode_of(p.data), 0644);	/* a new file: 0666 less the umask */
	chmod(p.data, 0600);
	CHECK_INT(file_write_atomic(p.data, "two", 3, FILE_MODE_KEEP, FILE_SYNC, &err), 0);
	buf_reset(&got);
	CHECK_INT(buf_read_file(&got, p.data), 0);
	CHECK_STR(buf_str(&got), "two");
	CHECK_INT(mode_of(p.data), 0600);	/* kept */
	CHECK_INT(file_write_atomic(p.data, "", 0, 0755, 0, &err), 0);
	CHECK_INT(mode_of(p.data), 0755);	/* given */
	names(d, &ls);
	CHECK_STR(buf_str(&ls), "out.yaml\n");
	unlink(p.data);
	rmdir(d);
	umask(old);
	free(d);
	buf_release(&p);
	buf_release(&got);
	buf_release(&err);
	buf_release(&ls);
}

TEST(a_failure_is_one_line_and_touches_nothing)
{
	struct buf p = BUF_INIT, err = BUF_INIT, want = BUF_INIT, ls = BUF_INIT;
	char *d = tmpdir();

	CHECK(d != NULL);
	buf_printf(&p, "%s/missing/out", d);
	CHECK_INT(file_write_atomic(p.data, "x", 1, 0644, 0, &err), -1);
	buf_printf(&want, "cannot write '%s': No such file or directory", p.data);
	CHECK_STR(buf_str(&err), want.data);
	/* renaming over a directory fails after the write: the temporary
	 * file is gone again and the directory untouched */
	buf_reset(&p);
	buf_printf(&p, "%s/sub", d);
	CHECK_INT(mkdir(p.data, 0755), 0);
	CHECK_INT(file_write_atomic(p.data, "x", 1, 0644, FILE_SYNC, &err), -1);
	CHECK_CONTAINS(buf_str(&err), "cannot write '");
	names(d, &ls);
	CHECK_STR(buf_str(&ls), "sub\n");
	rmdir(p.data);
	rmdir(d);
	free(d);
	buf_release(&p);
	buf_release(&err);
	buf_release(&want);
	buf_release(&ls);
}

TEST(a_bare_name_is_written_in_the_current_directory)
{
	struct buf got = BUF_INIT, err = BUF_INIT;
	char *d = tmpdir(), cwd[4096];

	CHECK(d != NULL && getcwd(cwd, sizeof cwd) != NULL);
	CHECK_INT(chdir(d), 0);
	CHECK_INT(file_write_atomic("plain", "abc", 3, 0600, 0, &err), 0);
	CHECK_INT(buf_read_file(&got, "plain"), 0);
	CHECK_STR(buf_str(&got), "abc");
	unlink("plain");
	CHECK_INT(chdir(cwd), 0);
	rmdir(d);
	free(d);
	buf_release(&got);
	buf_release(&err);
}
