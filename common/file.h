/* file.h - writing a whole file so that a reader sees its old contents or
 * the new ones, never a part, and a crash leaves one or the other.
 *
 * The data goes to a temporary file beside path (".NAME.XXXXXX", so it
 * can clash with no other name in that directory), which is given its mode
 * and renamed over path. With FILE_SYNC the file is fsynced before the
 * rename and the directory after it, so that the new contents also survive
 * a crash of the machine (a record a later run relies on); without it the
 * write costs no disk flush (a pod's volume, a program's output). On
 * failure path is untouched and the temporary file removed.
 */
#ifndef WLKIT_FILE_H
#define WLKIT_FILE_H

#include <stddef.h>

#include "buf.h"

/* mode for file_write_atomic: the existing file's permission bits, or 0666
 * less the umask for a new file (what fopen(path, "w") would give). */
#define FILE_MODE_KEEP (-1)

#define FILE_SYNC 1	/* flags: fsync the file and its directory */

/* Writes len bytes of data to path with permission bits mode (or
 * FILE_MODE_KEEP). Returns 0, or -1 with *err set to "cannot write
 * 'PATH': why". */
int file_write_atomic(const char *path, const void *data, size_t len, int mode,
		      unsigned flags, struct buf *err);

#endif
