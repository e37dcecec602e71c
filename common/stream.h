/* stream.h - the wlkit YAML stream protocol (man/wlkit.7).
 *
 * Input: a program reads a YAML stream from a file given with -f FILE, from
 * stdin with -f -, or from stdin on its own when stdin is a pipe or a regular
 * file (never a terminal, never a character device such as /dev/null, never
 * a socket, which is how ssh and some CI runners leave it).
 * Output: objects are written as they come, in order, in the chosen format:
 * "yaml" ("---" between documents), "json" (one pretty JSON document per
 * object, newline-terminated), "name" (kind.group/name per line, as kubectl).
 * Objects a program does not consume pass through unchanged and in order.
 *
 * Ownership: stream_in_next() returns new trees (caller frees);
 * stream_out_write() borrows. Open/close pair each.
 */
#ifndef WLKIT_STREAM_H
#define WLKIT_STREAM_H

#include <stdbool.h>
#include <stdio.h>
#include <cjson/cJSON.h>

#include "buf.h"

/* True when stdin should be read without -f: a pipe or a regular file. */
bool stream_stdin_is_data(void);

struct stream_in;
/* file: NULL = stdin only if stream_stdin_is_data() (else an empty stream),
 * "-" = stdin always, else that file. 0 or -1 (*err). */
int stream_in_open(const char *file, struct stream_in **out, struct buf *err);
/* 1 and *doc, 0 at the end, -1 on a parse error (*err names line/column). */
int stream_in_next(struct stream_in *in, cJSON **doc, struct buf *err);
void stream_in_close(struct stream_in *in);

enum stream_format { STREAM_YAML, STREAM_JSON, STREAM_NAME };
/* "yaml"/"json"/"name" -> format; -1 when unknown. NULL -> YAML. */
int stream_format_parse(const char *s);

struct stream_out;
struct stream_out *stream_out_open(FILE *f, enum stream_format fmt);
/* Writes one object. For STREAM_NAME, name_ref is the "kind.group/name"
 * to print (NULL: computed from apiVersion/kind/metadata.name). 0 or -1. */
int stream_out_write(struct stream_out *out, const cJSON *obj, const char *name_ref);
/* Flushes; 0, or -1 when the stream could not be written (EPIPE, ENOSPC). */
int stream_out_close(struct stream_out *out);

/* True for wlkit's own kinds: apiVersion wlkit.dev/... */
bool stream_is_wlkit(const cJSON *obj, const char *kind);

#endif
