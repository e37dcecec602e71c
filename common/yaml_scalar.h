/* yaml_scalar.h - the plain-scalar grammar shared by the YAML reader
 * (yaml_read.c) and writer (yaml_write.c); internal to common/yaml_*.c.
 *
 * One place decides what a plain scalar means, so the writer quotes exactly
 * the strings the reader (or kubectl's YAML 1.1 reader) would type otherwise.
 * Strings passed in are NUL-terminated; len is their length.
 */
#ifndef WLKIT_YAML_SCALAR_H
#define WLKIT_YAML_SCALAR_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "buf.h"

/* Collections nested deeper than this are refused, on input and output. */
#define YAML_MAX_DEPTH 1000

enum yaml_plain {
	YAML_PLAIN_STRING,
	YAML_PLAIN_NULL,	/* "", ~, null, Null, NULL */
	YAML_PLAIN_BOOL,	/* true/True/TRUE, false/False/FALSE */
	YAML_PLAIN_INT,		/* [-+]digits (leading 0: octal), [-+]0o.., [-+]0x.. */
	YAML_PLAIN_FLOAT,	/* [-+](.5|1|1.|1.5)(e[-+]7) */
	YAML_PLAIN_NONFINITE,	/* [-+].inf, .nan and their case variants */
};

/* What a plain scalar reads as. */
enum yaml_plain yaml_plain_classify(const char *s, size_t len);

/* The value of a scalar whose class is given: a new cJSON node, or NULL with
 * the reason in *err (a non-finite or an out-of-range number). Integers a
 * double cannot hold exactly, and floats beyond a double's range, become
 * cJSON raw numbers holding their decimal digits. */
cJSON *yaml_plain_value(const char *s, size_t len, enum yaml_plain cls,
			struct buf *err);

/* True when a plain scalar with this text would not read back as the same
 * string, by wlkit's reader or by a YAML 1.1 reader such as kubectl's
 * ("yes", "on", "1_000", "12:30", "2024-01-02", "<<"). */
bool yaml_plain_retypes(const char *s, size_t len);

/* True when a raw cJSON value holds a JSON number literal. */
bool yaml_is_json_number(const char *s);

#endif
