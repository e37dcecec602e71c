/* obj.h - small helpers over cJSON for Kubernetes objects, and the value
 * syntaxes of the Kubernetes API: names and labels, resource quantities,
 * durations, RFC 3339 times.
 *
 * Paths are dotted ("metadata.name", "spec.template.spec"). A step that
 * meets an array and is a decimal index ("spec.containers.0.image") selects
 * that element; arrays are never created. A key that contains dots (a label
 * such as "app.kubernetes.io/name") cannot be named in a dotted path: use
 * obj_label()/obj_annotation() or cJSON directly.
 *
 * Ownership: getters return borrowed pointers into the tree (valid until the
 * tree is changed or freed). Setters take ownership of `take_` arguments and
 * copy strings. Functions that produce text append it to `out`. Validators
 * and parsers replace the contents of *why with the reason when why is not
 * NULL (lower case, no trailing period).
 */
#ifndef WLKIT_OBJ_H
#define WLKIT_OBJ_H

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "buf.h"

/* The value at path ("" is o itself), or NULL when a step is missing. */
const cJSON *obj_get(const cJSON *o, const char *path);
/* The string at path, or NULL when missing or not a string. */
const char *obj_str(const cJSON *o, const char *path);
/* The number at path as int64 (def when missing, not a number, or out of
 * int64 range; a fraction is truncated toward zero). */
int64_t obj_int(const cJSON *o, const char *path, int64_t def);
/* The boolean at path (def when missing or not a boolean). */
bool obj_bool(const cJSON *o, const char *path, bool def);
/* Sets path to take_value, creating objects on the way; replaces what was
 * there. Returns take_value (now owned by o), NULL (and frees take_value) if
 * a step on the path is not an object, an index is out of range, or the
 * path is empty. */
cJSON *obj_set(cJSON *o, const char *path, cJSON *take_value);
/* obj_set() with a copy of value (JSON null when value is NULL). */
cJSON *obj_set_str(cJSON *o, const char *path, const char *value);
/* The object at path, created empty if missing ("" is o itself). NULL if it
 * or a step on the way is not an object. */
cJSON *obj_ensure(cJSON *o, const char *path);
/* Deletes the value at path. True when something was deleted. */
bool obj_remove(cJSON *o, const char *path);

const char *obj_api_version(const cJSON *o);
const char *obj_kind(const cJSON *o);
const char *obj_name(const cJSON *o);
const char *obj_namespace(const cJSON *o);
/* metadata.labels[key] / metadata.annotations[key] when a string. */
const char *obj_label(const cJSON *o, const char *key);
const char *obj_annotation(const cJSON *o, const char *key);
/* Sets o[key] = take (key taken literally: dots are not a path), replacing
 * an entry of that key; take NULL (a failed cJSON_Create*) is fatal.
 * Returns take. */
cJSON *obj_put(cJSON *o, const char *key, cJSON *take);
/* The entry of o's status.conditions with this type and status ("True",
 * "False", "Unknown"), or NULL. */
const cJSON *obj_condition(const cJSON *o, const char *type, const char *status);
/* Sets (creating metadata and the map as needed) or, with value NULL,
 * removes the label / annotation. */
void obj_set_label(cJSON *o, const char *key, const char *value);
void obj_set_annotation(cJSON *o, const char *key, const char *value);
/* A new object {apiVersion, kind, metadata{name[, namespace]}}; name and ns
 * are left out when NULL or empty. */
cJSON *obj_new(const char *api_version, const char *kind, const char *ns, const char *name);
/* The group of an apiVersion ("" for core "v1", "batch" for "batch/v1"),
 * appended to out. */
void obj_group(const char *api_version, struct buf *out);

/* Names and labels, with Kubernetes' own messages (several joined by ", "),
 * e.g. "must be no more than 63 characters".
 * DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63. */
bool dns1123_label(const char *s, struct buf *why);
/* DNS-1123 subdomain: labels joined by '.', at most 253. */
bool dns1123_subdomain(const char *s, struct buf *why);
/* Label key, a qualified name: [prefix/]name, prefix a DNS-1123 subdomain,
 * name at most 63 of ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]. */
bool label_key_valid(const char *s, struct buf *why);
/* Label value: empty, or at most 63 of the label-name characters. */
bool label_value_valid(const char *s, struct buf *why);

/* Resource quantities ("500m", "2Gi", "1e3", "1.5", "100Ki", "-4", ".5",
 * "1.", "2.5Gi", "1.5e-3"), parsed as Kubernetes' resource.ParseQuantity:
 * suffixes n u m k M G T P E, Ki Mi Gi Ti Pi Ei, or e/E with a signed
 * exponent. One difference: Kubernetes' scanner reads a quantity with no
 * digit at all ("Gi", "e3", ".", "-") as 0; here it is an error.
 * quantity_milli: the value in thousandths (cpu: "500m" -> 500, "2" ->
 * 2000). quantity_value: the value as an integer (memory: "1Gi" ->
 * 1073741824). Both round away from zero like MilliValue()/Value()
 * ("100n" -> 1 milli, "500m" -> 1, "-1.5" -> -2). Exact: no floating point.
 * Return 0, or -1 when s is not a quantity or its magnitude does not fit
 * int64 ("8Ei"), with the message in *why. */
int quantity_milli(const char *s, int64_t *out, struct buf *why);
int quantity_value(const char *s, int64_t *out, struct buf *why);
/* Canonical forms, as Quantity.String() prints them. Milli (DecimalSI):
 * 1500 -> "1500m", 2000 -> "2", 2000000 -> "2k". Bytes (BinarySI): a binary
 * suffix when exact, 2147483648 -> "2Gi", 1536 -> "1536"; below 1024 the
 * decimal form, so 1000 -> "1k" as Kubernetes prints it. */
void quantity_format_milli(int64_t milli, struct buf *out);
void quantity_format_bytes(int64_t bytes, struct buf *out);

/* Durations as kubectl takes them: Go's time.ParseDuration ("90s", "5m",
 * "1h30m", "1.5h", "250ms", "10us", "0"), or a bare integer of seconds
 * as --request-timeout takes it ("30"). Negative durations are refused.
 * The result is in milliseconds, rounded up ("1us" -> 1). 0 or -1 (message
 * naming the value in *why). */
int duration_parse_ms(const char *s, int64_t *ms, struct buf *why);

/* RFC 3339 UTC time "2026-11-22T17:04:05Z" for t (Unix seconds), appended
 * to out. */
void rfc3339(int64_t t, struct buf *out);
/* Parses an RFC 3339 time as Go's time.RFC3339 does: "T" and "Z" upper
 * case, "Z" or a "+hh:mm"/"-hh:mm" offset, optional fractional seconds
 * (dropped: *t is the whole second). 0, or -1 when malformed. */
int rfc3339_parse(const char *s, int64_t *t);

#endif
