/* archive_bench.c - packs DIR with archive_tgz() to stdout (the ignore rules
 * of DIR apply) and prints the stats on stderr; built by archive.sh. */
#include <stdio.h>
#include <unistd.h>

#include "archive.h"

int main(int argc, char **argv)
{
	struct buf err = BUF_INIT;
	struct archive_stats st;
	struct ignore *ig = NULL;
	int fd = STDOUT_FILENO, rc = 1;

	if (argc != 2) {
		fputs("usage: archive_bench DIR >OUT.tgz\n", stderr);
		return 2;
	}
	if (ignore_load(argv[1], &ig, &err) < 0 ||
	    archive_tgz(argv[1], ig, archive_sink_fd, &fd, &st, &err) < 0) {
		fprintf(stderr, "error: %s\n", buf_str(&err));
		goto out;
	}
	fprintf(stderr, "files=%ld dirs=%ld bytes=%llu out=%llu sha256=%s\n",
		st.files, st.dirs, (unsigned long long)st.bytes,
		(unsigned long long)st.out_bytes, st.sha256);
	rc = 0;
out:
	ignore_free(ig);
	buf_release(&err);
	return rc;
}
