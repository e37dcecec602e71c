/* test_ignore.c - ignore.h against the files gcloud would upload.
 *
 * Each tests/fixtures/ignore/CASE/tree describes a build context (see the
 * regen script there); CASE/expected is the sorted list of files that
 * `gcloud meta list-files-for-upload` printed for it (docker-* cases: what
 * Docker documents). The tree is built in the test's temporary directory,
 * walked the way gcloud walks (symlinks to directories followed, left-out
 * directories not entered) with the rules ignore_load() picks, and the
 * files listed must be exactly the expected ones.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "ignore.h"
#include "unit.h"

static void mkdirs(const char *path)
{
	struct buf b = BUF_INIT;
	const char *s;

	buf_adds(&b, path);
	for (s = strchr(b.data + 1, '/'); s; s = strchr(s + 1, '/')) {
		b.data[s - b.data] = 0;
		mkdir(b.data, 0755);
		b.data[s - b.data] = '/';
	}
	mkdir(b.data, 0755);
	buf_release(&b);
}

static void parent_dirs(const char *path)
{
	struct buf b = BUF_INIT;
	char *slash;

	buf_adds(&b, path);
	if ((slash = strrchr(b.data, '/')))
		*slash = 0;
	mkdirs(b.data);
	buf_release(&b);
}

/* Builds the tree described by spec (see regen) under root. */
static void build_tree(const char *spec, const char *root)
{
	struct buf path = BUF_INIT;
	const char *line = spec, *nl, *arrow;
	FILE *cur = NULL;
	size_t n;

	mkdirs(root);
	for (; *line; line = nl + (*nl == '\n')) {
		nl = strchrnul(line, '\n');
		n = (size_t)(nl - line);
		if (n >= 4 && !memcmp(line, "=== ", 4)) {
			if (cur)
				fclose(cur);
			cur = NULL;
			buf_reset(&path);
			buf_printf(&path, "%s/", root);
			arrow = memmem(line + 4, n - 4, " -> ", 4);
			if (arrow) {
				struct buf target = BUF_INIT;

				buf_add(&path, line + 4, (size_t)(arrow - line - 4));
				buf_add(&target, arrow + 4, (size_t)(nl - arrow - 4));
				parent_dirs(buf_str(&path));
				CHECK(symlink(buf_str(&target), buf_str(&path)) == 0);
				buf_release(&target);
			} else if (line[n - 1] == '/') {
				buf_add(&path, line + 4, n - 4);
				mkdirs(buf_str(&path));
			} else {
				buf_add(&path, line + 4, n - 4);
				parent_dirs(buf_str(&path));
				cur = fopen(buf_str(&path), "w");
				CHECK(cur != NULL);
			}
		} else if (cur) {
			fwrite(line, 1, n, cur);
			fputc('\n', cur);
		}
		if (!*nl)
			break;
	}
	if (cur)
		fclose(cur);
	buf_release(&path);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the kept files under root/rel to out, one per line, walking as
 * gcloud's os.walk(followlinks=True) does. */
static void walk(const struct ignore *ig, const char *root, const char *rel, struct buf *out)
{
	struct buf full = BUF_INIT, child = BUF_INIT;
	struct dirent *de;
	struct stat sb;
	char *names[256];
	size_t n = 0, i;
	DIR *d;
	bool is_dir;

	buf_printf(&full, "%s%s%s", root, *rel ? "/" : "", rel);
	if (!(d = opendir(buf_str(&full))))
		goto out;
	while ((de = readdir(d)) && n < 256)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n; i++) {
		buf_reset(&child);
		buf_printf(&child, "%s%s%s", rel, *rel ? "/" : "", names[i]);
		buf_reset(&full);
		buf_printf(&full, "%s/%s", root, buf_str(&child));
		is_dir = stat(buf_str(&full), &sb) == 0 && S_ISDIR(sb.st_mode);
		if (!ignore_excluded(ig, buf_str(&child), is_dir)) {
			if (is_dir)
				walk(ig, root, buf_str(&child), out);
			else
				buf_printf(out, "%s\n", buf_str(&child));
		} else if (is_dir && ignore_descend(ig, buf_str(&child))) {
			walk(ig, root, buf_str(&child), out);
		}
		free(names[i]);
	}
out:
	buf_release(&full);
	buf_release(&child);
}

/* The lines of text, sorted, as one string. */
static char *sorted(const char *text)
{
	struct buf b = BUF_INIT, copy = BUF_INIT;
	char *lines[512], *save = NULL, *tok;
	size_t n = 0, i;

	buf_adds(&copy, text);
	for (tok = strtok_r(copy.data ? copy.data : (char *)"", "\n", &save);
	     tok && n < 512; tok = strtok_r(NULL, "\n", &save))
		lines[n++] = tok;
	qsort(lines, n, sizeof(*lines), by_name);
	for (i = 0; i < n; i++)
		buf_printf(&b, "%s\n", lines[i]);
	buf_release(&copy);
	return buf_detach(&b, NULL);
}

static int cases_run;

static void check_case(const char *name)
{
	struct buf spec = BUF_INIT, expected = BUF_INIT, got = BUF_INIT, path = BUF_INIT,
		   root = BUF_INIT, err = BUF_INIT;
	struct ignore *ig = NULL;
	char *want = NULL, *have = NULL;

	buf_printf(&path, "%s/tests/fixtures/ignore/%s/tree", unit_srcdir(), name);
	if (buf_read_file(&spec, buf_str(&path)) < 0)
		goto out;
	buf_reset(&path);
	buf_printf(&path, "%s/tests/fixtures/ignore/%s/expected", unit_srcdir(), name);
	CHECK(buf_read_file(&expected, buf_str(&path)) == 0);
	buf_printf(&root, "%s/ignore-%s", unit_tmpdir(), name);
	build_tree(buf_str(&spec), buf_str(&root));
	if (ignore_load(buf_str(&root), &ig, &err) < 0) {
		unit_fail(__FILE__, __LINE__, "case %s: %s", name, buf_str(&err));
		goto out;
	}
	walk(ig, buf_str(&root), "", &got);
	want = sorted(buf_str(&expected));
	have = sorted(buf_str(&got));
	if (strcmp(want, have))
		unit_fail(__FILE__, __LINE__, "case %s (%s rules): got\n%sexpected\n%s",
			  name, ignore_source(ig), have, want);
	cases_run++;
out:
	ignore_free(ig);
	free(want);
	free(have);
	buf_release(&spec);
	buf_release(&expected);
	buf_release(&got);
	buf_release(&path);
	buf_release(&root);
	buf_release(&err);
}

TEST(every_fixture_case_lists_what_gcloud_lists)
{
	struct buf dir = BUF_INIT;
	struct dirent *de;
	DIR *d;

	buf_printf(&dir, "%s/tests/fixtures/ignore", unit_srcdir());
	d = opendir(buf_str(&dir));
	CHECK(d != NULL);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			check_case(de->d_name);
	if (d)
		closedir(d);
	CHECK(cases_run >= 15);
	buf_release(&dir);
}

TEST(sources_are_picked_in_gcloud_order)
{
	struct buf root = BUF_INIT, err = BUF_INIT;
	struct ignore *ig = NULL;

	buf_printf(&root, "%s/order", unit_tmpdir());
	build_tree("=== .dockerignore\nx\n=== .gitignore\ny\n", buf_str(&root));
	CHECK(ignore_load(buf_str(&root), &ig, &err) == 0);
	CHECK_STR(ignore_source(ig), "default .gcloudignore");
	CHECK_INT(ignore_count(ig), 4);
	CHECK(ignore_excluded(ig, "y", false));
	CHECK(!ignore_excluded(ig, "x", false));
	ignore_free(ig);
	build_tree("=== .gcloudignore\nz\n", buf_str(&root));
	CHECK(ignore_load(buf_str(&root), &ig, &err) == 0);
	CHECK_STR(ignore_source(ig), ".gcloudignore");
	CHECK(!ignore_excluded(ig, "y", false));
	ignore_free(ig);
	buf_release(&root);
	buf_release(&err);
}

TEST(bad_includes_are_errors)
{
	struct buf err = BUF_INIT;
	struct ignore *ig = NULL;

	CHECK(ignore_parse(IGNORE_GCLOUD, "#!include:sub/x\n", unit_tmpdir(), &ig, &err) < 0);
	CHECK(ig == NULL);
	CHECK_CONTAINS(buf_str(&err), "may only include files in the same directory");
	CHECK(ignore_parse(IGNORE_GCLOUD, "a\n#  !include:missing\n", unit_tmpdir(), &ig, &err) < 0);
	CHECK_CONTAINS(buf_str(&err), "cannot read ignore file");
	CHECK_CONTAINS(buf_str(&err), "missing");
	CHECK(ignore_parse(IGNORE_DOCKER, "!\n", NULL, &ig, &err) < 0);
	CHECK_CONTAINS(buf_str(&err), "illegal exclusion pattern");
	CHECK(ignore_parse(IGNORE_DOCKER, "a[b\n", NULL, &ig, &err) < 0);
	CHECK_CONTAINS(buf_str(&err), "syntax error in pattern 'a[b'");
	buf_release(&err);
}

TEST(gcloud_lines_are_cut_like_python)
{
	struct buf err = BUF_INIT;
	struct ignore *ig = NULL;

	/* \r\n and \r end lines; an odd trailing backslash drops the line */
	CHECK(ignore_parse(IGNORE_GCLOUD, "a\r\nb\rc\\\nd\\\\\n", NULL, &ig, &err) == 0);
	CHECK_INT(ignore_count(ig), 3);
	CHECK(ignore_excluded(ig, "a", false));
	CHECK(ignore_excluded(ig, "b", false));
	CHECK(!ignore_excluded(ig, "c", false));
	CHECK(ignore_excluded(ig, "d\\", false));
	ignore_free(ig);
	/* Unicode: '?' is one character */
	CHECK(ignore_parse(IGNORE_GCLOUD, "caf?\n", NULL, &ig, &err) == 0);
	CHECK(ignore_excluded(ig, "caf\xc3\xa9", false));
	CHECK(!ignore_excluded(ig, "cafe\xc3\xa9", false));
	ignore_free(ig);
	buf_release(&err);
}
