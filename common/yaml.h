/* yaml.h - YAML streams <-> cJSON (Kubernetes objects are JSON in memory).
 *
 * Reading: every document of a multi-document stream becomes one cJSON tree.
 * Plain scalars are typed by the YAML 1.2 core schema as Kubernetes reads
 * them (null/~/empty -> null; true/false -> bool; decimal, 0o/0x ints and
 * floats -> number; everything else, "yes", "on", "0755"-as-quoted, -> string).
 * Tags !!str !!int !!float !!bool !!null are honoured. Anchors and aliases
 * are expanded (an alias becomes a copy of the anchored node); merge keys
 * "<<" are applied. Integers that a double cannot hold exactly are kept as
 * cJSON raw numbers (cJSON_IsRaw) holding the literal digits, so nothing is
 * lost. A document that is empty (only comments, or "---" alone) is skipped.
 * Errors name the source, line and column (1-based):
 *   cannot parse 'job.yaml' line 3 column 7: mapping values are not allowed in this context
 *
 * Writing: block style, keys in insertion order, two-space indent, lists
 * indented under their key as kubectl prints them. A string is quoted when
 * plain it would read back as anything else ("yes", "0755", "1e3", "null",
 * "~", "on", "", leading/trailing spaces, ": " or " #" inside, a leading
 * indicator character...). Strings with newlines are block literals (|, |-,
 * |+ as their trailing newlines require) unless they have trailing spaces on
 * a line or other characters a block cannot carry, then double-quoted.
 * Non-ASCII UTF-8 is written as is. Reading what was written gives the same
 * cJSON tree (cJSON_Compare true) for every input.
 *
 * Ownership: functions returning cJSON * return a new tree the caller frees
 * with cJSON_Delete(); functions returning char * return malloc'd memory.
 * cJSON * arguments are borrowed. On failure NULL/-1 is returned and the
 * message is in *err (replaced, not appended).
 */
#ifndef WLKIT_YAML_H
#define WLKIT_YAML_H

#include <stdio.h>
#include <cjson/cJSON.h>

#include "buf.h"

struct yaml_reader;

/* Starts reading a stream from f (borrowed; not closed). name is used in
 * messages ("-" reads as "<stdin>"). Never fails. */
struct yaml_reader *yaml_reader_new(FILE *f, const char *name);
/* Next document: returns 1 and *doc (new tree), 0 at the end of the stream,
 * -1 on a parse error (the reader is then finished). */
int yaml_reader_next(struct yaml_reader *r, cJSON **doc, struct buf *err);
void yaml_reader_free(struct yaml_reader *r);

/* Whole stream into a cJSON array of documents. */
cJSON *yaml_read_stream(FILE *f, const char *name, struct buf *err);
/* Whole stream from memory into a cJSON array of documents. */
cJSON *yaml_parse(const char *text, size_t len, const char *name, struct buf *err);
/* Exactly one document from memory (zero or several is an error). */
cJSON *yaml_parse_one(const char *text, size_t len, const char *name, struct buf *err);

/* Appends one document (no "---" line) to out. Returns 0 or -1. */
int yaml_emit(struct buf *out, const cJSON *doc, struct buf *err);
/* One document as a malloc'd string, NULL on failure. */
char *yaml_emit_one(const cJSON *doc);
/* Writes documents as a stream: each preceded by "---\n" except the first. */
int yaml_write_stream(FILE *f, const cJSON *docs_array, struct buf *err);

#endif
