/* test_archive.c - archive_tgz(): same tree same bytes, order, ownership,
 * links, long names, ignore rules, errors, and extraction with real tar. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "archive.h"
#include "buf.h"
#include "unit.h"

static int to_buf(void *ctx, const void *data, size_t len, struct buf *err)
{
	(void)err;
	buf_add(ctx, data, len);
	return 0;
}

static int refuse(void *ctx, const void *data, size_t len, struct buf *err)
{
	(void)ctx;
	(void)data;
	(void)len;
	buf_set(err, "upload refused");
	return -1;
}

static void put(const char *root, const char *rel, const char *text, time_t mtime)
{
	struct buf p = BUF_INIT;
	struct timeval tv[2] = { { mtime, 0 }, { mtime, 0 } };
	char *slash;
	FILE *f;

	buf_printf(&p, "%s/%s", root, rel);
	for (slash = strchr(p.data + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = 0;
		mkdir(p.data, 0755);
		*slash = '/';
	}
	f = fopen(buf_str(&p), "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	utimes(buf_str(&p), tv);
	buf_release(&p);
}

/* Runs a shell command; its stdout. */
static char *sh(const char *cmd)
{
	struct buf out = BUF_INIT;
	FILE *f = popen(cmd, "r");

	CHECK(f != NULL);
	if (f) {
		buf_read_fp(&out, f);
		pclose(f);
	}
	return buf_detach(&out, NULL);
}

static void pack_file(const char *dir, const struct ignore *ig, const char *tgz,
		      struct archive_stats *st)
{
	struct buf err = BUF_INIT;
	int fd = open(tgz, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0);
	if (archive_tgz(dir, ig, archive_sink_fd, &fd, st, &err) < 0)
		unit_fail(__FILE__, __LINE__, "archive_tgz: %s", buf_str(&err));
	close(fd);
	buf_release(&err);
}

static const char *tree(const char *name)
{
	static struct buf root = BUF_INIT;

	buf_reset(&root);
	buf_printf(&root, "%s/%s", unit_tmpdir(), name);
	mkdir(buf_str(&root), 0755);
	return buf_str(&root);
}

TEST(same_tree_gives_same_bytes_whatever_the_creation_order)
{
	struct buf a = BUF_INIT, b = BUF_INIT, err = BUF_INIT;
	struct archive_stats sa, sb;
	char *root1 = strdup(tree("det1")), *root2;

	put(root1, "z.txt", "zzz\n", 1000000);
	put(root1, "a/b.txt", "bbb\n", 1000000);
	put(root1, "m", "m\n", 1000000);
	root2 = strdup(tree("det2"));
	put(root2, "m", "m\n", 1000000);
	put(root2, "a/b.txt", "bbb\n", 1000000);
	put(root2, "z.txt", "zzz\n", 1000000);
	utimes(root1, NULL);
	CHECK(archive_tgz(root1, NULL, to_buf, &a, &sa, &err) == 0);
	CHECK(archive_tgz(root1, NULL, to_buf, &b, &sb, &err) == 0);
	CHECK(a.len == b.len && !memcmp(a.data, b.data, a.len));
	CHECK_STR(sa.sha256, sb.sha256);
	CHECK_INT(strlen(sa.sha256), 64);
	CHECK_INT(sa.out_bytes, a.len);
	/* the "a" directory's mtime differs between the trees: make it equal */
	buf_reset(&a);
	buf_reset(&b);
	{
		struct buf d = BUF_INIT;
		struct timeval tv[2] = { { 2000000, 0 }, { 2000000, 0 } };

		buf_printf(&d, "%s/a", root1);
		utimes(buf_str(&d), tv);
		buf_reset(&d);
		buf_printf(&d, "%s/a", root2);
		utimes(buf_str(&d), tv);
		buf_release(&d);
	}
	CHECK(archive_tgz(root1, NULL, to_buf, &a, &sa, &err) == 0);
	CHECK(archive_tgz(root2, NULL, to_buf, &b, &sb, &err) == 0);
	CHECK_STR(sa.sha256, sb.sha256);
	/* gzip header: no name flag, mtime 0 */
	CHECK(a.len > 10 && (unsigned char)a.data[0] == 0x1f && (a.data[3] & 0x08) == 0);
	CHECK(a.len > 10 && !a.data[4] && !a.data[5] && !a.data[6] && !a.data[7]);
	CHECK_INT(sa.files, 3);
	CHECK_INT(sa.dirs, 1);
	CHECK_INT(sa.bytes, 10);
	free(root1);
	free(root2);
	buf_release(&a);
	buf_release(&b);
	buf_release(&err);
}

TEST(entries_are_sorted_dirs_first_owned_by_root)
{
	char *root = strdup(tree("order")), *list;
	struct buf tgz = BUF_INIT, cmd = BUF_INIT;
	struct archive_stats st;

	put(root, "b/2", "2", 1000000);
	put(root, "b/1", "1", 1000000);
	put(root, "a", "a", 1000000);
	put(root, "c/d/e", "e", 1000000);
	buf_printf(&tgz, "%s/order.tgz", unit_tmpdir());
	pack_file(root, NULL, buf_str(&tgz), &st);
	buf_printf(&cmd, "tar tzf '%s'", buf_str(&tgz));
	list = sh(buf_str(&cmd));
	CHECK_STR(list, "a\nb/\nb/1\nb/2\nc/\nc/d/\nc/d/e\n");
	free(list);
	buf_reset(&cmd);
	buf_printf(&cmd, "tar tvzf '%s' --numeric-owner | awk '{print $2}' | sort -u", buf_str(&tgz));
	list = sh(buf_str(&cmd));
	CHECK_STR(list, "0/0\n");
	free(list);
	buf_reset(&cmd);
	buf_printf(&cmd, "tar tvzf '%s' | awk '{print $2}' | sort -u", buf_str(&tgz));
	list = sh(buf_str(&cmd));
	CHECK_STR(list, "root/root\n");
	free(list);
	free(root);
	buf_release(&tgz);
	buf_release(&cmd);
}

TEST(symlinks_are_stored_as_links_and_special_files_skipped)
{
	char *root = strdup(tree("links")), *list;
	struct buf tgz = BUF_INIT, cmd = BUF_INIT, p = BUF_INIT;
	struct archive_stats st;

	put(root, "in.txt", "in", 1000000);
	buf_printf(&p, "%s/out", root);
	CHECK(symlink("/etc/passwd", buf_str(&p)) == 0);
	buf_reset(&p);
	buf_printf(&p, "%s/dangling", root);
	CHECK(symlink("../nowhere", buf_str(&p)) == 0);
	buf_reset(&p);
	buf_printf(&p, "%s/fifo", root);
	CHECK(mkfifo(buf_str(&p), 0644) == 0);
	buf_printf(&tgz, "%s/links.tgz", unit_tmpdir());
	pack_file(root, NULL, buf_str(&tgz), &st);
	CHECK_INT(st.links, 2);
	CHECK_INT(st.skipped, 1);
	CHECK_INT(st.files, 1);
	buf_printf(&cmd, "tar tvzf '%s' | awk '{print $1, $6, $7, $8}'", buf_str(&tgz));
	list = sh(buf_str(&cmd));
	CHECK_CONTAINS(list, "dangling -> ../nowhere");
	CHECK_CONTAINS(list, "out -> /etc/passwd");
	CHECK(!strstr(list, "fifo"));
	free(list);
	free(root);
	buf_release(&tgz);
	buf_release(&cmd);
	buf_release(&p);
}

TEST(long_names_and_ignore_rules_survive_extraction)
{
	char *root = strdup(tree("ctx")), *out;
	struct buf tgz = BUF_INIT, cmd = BUF_INIT, name = BUF_INIT, err = BUF_INIT;
	struct archive_stats st;
	struct ignore *ig = NULL;
	int i;

	for (i = 0; i < 6; i++)
		buf_adds(&name, "a-directory-name-of-forty-characters-xx/");
	buf_adds(&name, "file.txt");
	put(root, buf_str(&name), "deep\n", 1000000);
	put(root, ".gcloudignore", "*.log\nbuild/\n", 1000000);
	put(root, "x.log", "log", 1000000);
	put(root, "build/o", "o", 1000000);
	put(root, "src/main.c", "int main(void) { return 0; }\n", 1000000);
	CHECK(ignore_load(root, &ig, &err) == 0);
	buf_printf(&tgz, "%s/ctx.tgz", unit_tmpdir());
	pack_file(root, ig, buf_str(&tgz), &st);
	CHECK_INT(st.ignored, 2);
	buf_printf(&cmd, "cd '%s' && mkdir -p x && tar xzf ctx.tgz -C x && "
		   "cd '%s' && rm -rf build x.log && diff -r . '%s/x' && echo same",
		   unit_tmpdir(), root, unit_tmpdir());
	out = sh(buf_str(&cmd));
	CHECK_STR(out, "same\n");
	free(out);
	ignore_free(ig);
	free(root);
	buf_release(&tgz);
	buf_release(&cmd);
	buf_release(&name);
	buf_release(&err);
}

TEST(unreadable_files_and_sink_errors_are_reported)
{
	char *root = strdup(tree("bad"));
	struct buf b = BUF_INIT, err = BUF_INIT, p = BUF_INIT;
	struct archive_stats st;

	put(root, "ok", "ok", 1000000);
	CHECK(archive_tgz(root, NULL, refuse, NULL, &st, &err) < 0);
	CHECK_STR(buf_str(&err), "upload refused");
	buf_printf(&p, "%s/missing", unit_tmpdir());
	CHECK(archive_tgz(buf_str(&p), NULL, to_buf, &b, &st, &err) < 0);
	CHECK_CONTAINS(buf_str(&err), "No such file or directory");
	if (geteuid() != 0) {
		/* root reads any file: this case needs an ordinary user */
		put(root, "secret", "s", 1000000);
		buf_reset(&p);
		buf_printf(&p, "%s/secret", root);
		chmod(buf_str(&p), 0);
		CHECK(archive_tgz(root, NULL, to_buf, &b, &st, &err) < 0);
		CHECK_STR(buf_str(&err), "cannot read 'secret': Permission denied");
		chmod(buf_str(&p), 0600);
	}
	free(root);
	buf_release(&b);
	buf_release(&err);
	buf_release(&p);
}
