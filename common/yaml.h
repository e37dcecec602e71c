/* yaml.h - YAML streams <-> cJSON (Kubernetes objects are JSON in memory).
 *
 * Reading: every document of a multi-document stream becomes one cJSON tree.
 * Plain scalars are typed by the YAML 1.2 core schema as Kubernetes reads
 * them: null/Null/NULL/~/empty -> null; true/false (and True, TRUE...) ->
 * bool; decimal, 0o and 0x integers and floats (1.0, 1e3, .5) -> number;
 * everything else -> string ("yes", "on", "1_000", quoted "0755"...). A
 * plain integer with a leading zero and only octal digits (0755, not 09) is
 * octal, as kubectl reads mode bits. .inf and .nan are errors: JSON cannot
 * hold them. Tags !!str !!int !!float !!bool !!null are honoured ("!!int x"
 * is an error), other tags are ignored. Anchors and aliases are expanded (an alias becomes a copy of the
 * latest node with that anchor); merge keys "<<" are applied (explicit keys
 * win, then earlier merged mappings). Integers that a double cannot hold
 * exactly, and floats beyond a double's range, are kept as cJSON raw numbers
 * (cJSON_IsRaw) holding their decimal digits, so nothing is lost. Mapping
 * keys are strings: the key's text as written; a collection as a key is an
 * error. A document that is empty (only comments, or "---" alone) is
 * skipped; "--- null" is a null document.
 * Errors name the source, line and column (1-based):
 *   cannot parse 'job.yaml' line 3 column 7: mapping values are not allowed in this context
 *   cannot parse 'job.yaml' line 9 column 3: mapping key "name" already defined at line 4
 *   cannot parse 'job.yaml' line 5 column 9: unknown alias 'nope'
 * Aliases may add at most 1000000 nodes to a document ("too many aliases"),
 * and collections nest at most 1000 deep, so a small hostile stream cannot
 * take all memory or stack. A stream is read a line at a time: a document
 * is returned as soon as the line after it has arrived, and only the
 * current document is held in memory.
 *
 * Writing: block style, keys in insertion order, two-space indent, lists
 * not indented under their key, as kubectl prints them:
 *   containers:
 *   - name: x
 * A string is written plain when it reads back as itself; in double quotes
 * when plain it would read as another type here or to a YAML 1.1 reader
 * such as kubectl ("yes", "0755", "1e3", "null", "~", "on", "", "12:30",
 * "2024-01-02") or when it holds characters only escapes can carry (tabs,
 * control characters); in single quotes when YAML syntax needs it
 * ("- x", "a: b", "#x", "*x", leading/trailing spaces). Strings with
 * newlines are literal blocks (|, |-, |+ as their trailing newlines need,
 * |2 when they start with white space) unless a line has trailing spaces or
 * a character a block cannot carry (CR, control characters), then double
 * quotes. Lines are never folded; keys over 1000 characters are written as
 * explicit "? key" entries. Numbers are written in their shortest exact
 * form, with a dot before any exponent (1.0e+20); raw values holding a JSON
 * number are written as they are. Non-ASCII UTF-8 is written as is; a
 * string that is not UTF-8, a non-finite number, a raw value that is not a
 * JSON number, or nesting deeper than 1000 is an error. Reading what was
 * written gives the same cJSON tree (cJSON_Compare true) for every tree the
 * reader returns and every tree of objects, arrays, strings, finite
 * numbers, booleans and nulls.
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
