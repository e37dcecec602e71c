/* obj.h - small helpers over cJSON for Kubernetes objects.
 *
 * Paths are dotted ("metadata.name", "spec.template.spec"). A key that
 * contains dots (a label such as "app.kubernetes.io/name") cannot be named in
 * a dotted path: use obj_label()/obj_annotation() or cJSON directly.
 *
 * Ownership: getters return borrowed pointers into the tree (valid until the
 * tree is changed or freed). Setters take ownership of `take_` arguments and
 * copy strings. Validators write the reason into *why when given.
 */
#ifndef WLKIT_OBJ_H
#define WLKIT_OBJ_H

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "buf.h"

const cJSON *obj_get(const cJSON *o, const char *path);
/* The string at path, or NULL when missing or not a string. */
const char *obj_str(const cJSON *o, const char *path);
/* The number at path as int64 (def when missing or not a number). */
int64_t obj_int(const cJSON *o, const char *path, int64_t def);
bool obj_bool(const cJSON *o, const char *path, bool def);
/* Sets path to take_value, creating objects on the way; replaces what was
 * there. Returns take_value (now owned by o), NULL (and frees take_value) if
 * a step on the path is not an object. */
cJSON *obj_set(cJSON *o, const char *path, cJSON *take_value);
cJSON *obj_set_str(cJSON *o, const char *path, const char *value);
/* The object at path, created empty if missing. NULL if not an object. */
cJSON *obj_ensure(cJSON *o, const char *path);

const char *obj_api_version(const cJSON *o);
const char *obj_kind(const cJSON *o);
const char *obj_name(const cJSON *o);
const char *obj_namespace(const cJSON *o);
const char *obj_label(const cJSON *o, const char *key);
const char *obj_annotation(const cJSON *o, const char *key);
void obj_set_label(cJSON *o, const char *key, const char *value);
void obj_set_annotation(cJSON *o, const char *key, const char *value);
/* A new object {apiVersion, kind, metadata{name[, namespace]}}. */
cJSON *obj_new(const char *api_version, const char *kind, const char *ns, const char *name);
/* The group of an apiVersion ("" for core "v1"), into out. */
void obj_group(const char *api_version, struct buf *out);

/* DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63. */
bool dns1123_label(const char *s, struct buf *why);
/* DNS-1123 subdomain: labels joined by '.', at most 253. */
bool dns1123_subdomain(const char *s, struct buf *why);
/* Label key ([prefix/]name) and value rules of Kubernetes. */
bool label_key_valid(const char *s, struct buf *why);
bool label_value_valid(const char *s, struct buf *why);

/* Resource quantities ("500m", "2Gi", "1e3", "1.5", "100Ki", "4").
 * quantity_milli: the value in thousandths, rounded up (cpu: "500m" -> 500,
 * "2" -> 2000). quantity_value: the value rounded up to an integer
 * (memory: "1Gi" -> 1073741824, "500m" -> 1). Return 0, or -1 when s is not
 * a quantity or overflows int64 (message in *why). */
int quantity_milli(const char *s, int64_t *out, struct buf *why);
int quantity_value(const char *s, int64_t *out, struct buf *why);
/* Canonical forms for printing: milli 1500 -> "1500m", 2000 -> "2";
 * bytes 2147483648 -> "2Gi", 1000 -> "1000" (binary suffix only when exact). */
void quantity_format_milli(int64_t milli, struct buf *out);
void quantity_format_bytes(int64_t bytes, struct buf *out);

/* Durations as kubectl takes them: "90s", "5m", "1h30m", "250ms", a bare
 * number is seconds. 0 or -1. Result in milliseconds. */
int duration_parse_ms(const char *s, int64_t *ms, struct buf *why);

/* RFC 3339 UTC time "2026-11-22T17:04:05Z" for t (seconds). */
void rfc3339(int64_t t, struct buf *out);
/* Parses an RFC 3339 time; -1 when malformed. */
int rfc3339_parse(const char *s, int64_t *t);

#endif
