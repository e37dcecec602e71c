/* archive.h - a build context as a gzip'd tar stream, packed with libarchive.
 *
 * archive_tgz() walks a directory and hands the compressed bytes to a sink
 * as they are made, so a caller can upload while packing; neither the
 * archive nor a whole file is ever held in memory (files are read through a
 * fixed 256 KiB buffer). The walk follows the ignore rules it is given (see
 * ignore.h; NULL: nothing is left out) and never follows a symlink.
 *
 * The same tree gives the same bytes:
 *  - depth first, each directory's entries sorted by name in byte order, a
 *    directory's entry right before its contents (the top directory itself
 *    is not an entry); names relative to dir, without "./";
 *  - POSIX pax format, extended headers only where ustar cannot hold a
 *    field (names over 100 bytes, non-ASCII names, sizes over 8 GiB);
 *  - uid and gid 0, uname and gname "root" (as gcloud's tarball), the
 *    files' permission bits and whole-second mtimes kept, no atime, ctime,
 *    xattrs or ACLs; hard links stored as separate files;
 *  - gzip level 6, no file name and mtime 0 in the gzip header.
 * Symlinks are stored as links with their target as is, even a target
 * outside the tree or a dangling one; for the ignore rules a link to a
 * directory counts as a directory (as gcloud decides). FIFOs, sockets and
 * devices are skipped with a warning. A file or directory that cannot be
 * read is an error that names it; the sink's error stops the walk.
 *
 * Ownership: the caller owns everything it passes; struct archive_stats is
 * filled in place (sha256 is the hex SHA-256 of the compressed bytes, what a
 * caller can use as a content tag). Returns 0, or -1 with a message in *err
 * (the sink's own message when it set one).
 */
#ifndef WLKIT_ARCHIVE_H
#define WLKIT_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ignore.h"

/* Takes the next len bytes of the archive; 0, or -1 with a message in *err
 * to stop packing. */
typedef int (*archive_sink_fn)(void *ctx, const void *data, size_t len,
			       struct buf *err);

struct archive_stats {
	long files;		/* regular files stored */
	long dirs;		/* directories stored */
	long links;		/* symlinks stored */
	long ignored;		/* entries left out by the rules (not counting
				 * what is below a left-out directory) */
	long skipped;		/* special files skipped */
	uint64_t bytes;		/* bytes of file content read */
	uint64_t out_bytes;	/* bytes handed to the sink */
	char sha256[65];	/* hex, NUL-terminated */
};

int archive_tgz(const char *dir, const struct ignore *ig, archive_sink_fn sink,
		void *ctx, struct archive_stats *st, struct buf *err);

/* A sink that writes to a file descriptor (ctx points to the int). */
int archive_sink_fd(void *ctx, const void *data, size_t len, struct buf *err);

#endif
