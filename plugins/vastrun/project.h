/* project.h - internal to project.c and project_yaml.c: the helpers that
 * validate the project file's cJSON tree (yaml.h) while walking libyaml's
 * node tree of the same file beside it, for line numbers.
 *
 * Every yaml_node_t * may be NULL (no position known: line 1); pj_child()
 * falls back to the parent so an error points near the value. Errors are
 * written to c->err as "FILE:LINE: KEY: why" and the functions return -1.
 * Returned strings and trees are the caller's to free.
 */
#ifndef WLKIT_VASTRUN_PROJECT_H
#define WLKIT_VASTRUN_PROJECT_H

#include <yaml.h>

#include "vastrun.h"

struct pctx {
	const char *file;
	yaml_document_t *doc;
	struct buf *err;
	const char *context;	/* the active kube context, or NULL */
	bool context_given;	/* --context was given */
	cJSON *contexts;	/* names seen in per-context lists, in order */
	yaml_node_t *first_list;	/* the first per-context list */
	struct buf first_key;	/* its key */
	struct buf nomatch;	/* the first "no entry for context" error */
};

int pj_line(const yaml_node_t *n);
int pj_fail(struct pctx *c, const yaml_node_t *n, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The value node (the key node with want_key) of key in mapping n. */
yaml_node_t *pj_map(struct pctx *c, yaml_node_t *n, const char *key, bool want_key);
yaml_node_t *pj_item(struct pctx *c, yaml_node_t *n, int i);
/* pj_map's value node, else n itself. */
yaml_node_t *pj_child(struct pctx *c, yaml_node_t *n, const char *key);
/* "a map", "a list", "a string", "a number", "a boolean", "null". */
const char *pj_type(const cJSON *v);
/* out = parent.key (key alone when parent is empty). */
void pj_path(struct buf *out, const char *parent, const char *key);
/* Every key of map o is one of allowed (NULL-terminated): else "unknown key"
 * at that key's line. */
int pj_keys(struct pctx *c, const cJSON *o, yaml_node_t *yn, const char *path,
	    const char *const *allowed);
/* ok, else "must be WHAT, not TYPE". */
int pj_want(struct pctx *c, const cJSON *v, yaml_node_t *yn, const char *path,
	    cJSON_bool ok, const char *what);
/* A scalar as text (numbers shortest, booleans true/false); NULL for null
 * and collections. */
char *pj_text(const cJSON *v);
/* resources: {cpu, memory}, each a quantity or a per-context list; *cpu and
 * *memory are set (NULL when absent or when the context has no entry, which
 * c->nomatch then records). */
int pj_resources(struct pctx *c, const cJSON *r, yaml_node_t *yn, const char *path,
		 char **cpu, char **memory);
/* A list of single-key maps (or a map) as a new flat object; with strings
 * the values must be scalars and become strings. NULL on error. */
cJSON *pj_flat(struct pctx *c, const cJSON *v, yaml_node_t *yn, const char *path,
	       bool strings);

#endif
