/* ignore_internal.h - the compiled patterns shared by ignore.c (gcloud's
 * dialect, loading, matching) and ignore_docker.c (Docker's dialect).
 * Private to those two files. */
#ifndef WLKIT_IGNORE_INTERNAL_H
#define WLKIT_IGNORE_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ignore.h"

#define CP_ESCAPED 0x40000000	/* a class character that is never special */

enum tok_type {
	T_LIT,		/* one code point */
	T_ANY,		/* any code point */
	T_ANY_NOSLASH,	/* any code point but '/' */
	T_STAR,		/* any run of code points */
	T_STAR_NOSLASH,	/* any run without '/' */
	T_DSLASH,	/* nothing, or anything ending in '/' */
	T_CLASS,	/* one code point in (or, negated, not in) ranges */
	T_NEVER,	/* matches nothing */
};

struct range {
	uint32_t lo, hi;
};

struct tok {
	enum tok_type type;
	uint32_t cp;
	bool neg;
	struct range *r;	/* T_CLASS, owned */
	size_t nr;
};

struct glob {
	struct tok *t;		/* owned */
	size_t nt;
};

/* gcloud: one '/'-separated part of a pattern. */
struct gpart {
	char *text;		/* owned; after unescaping */
	struct glob g;
};

struct rule {
	bool negated, dir_only;
	struct gpart *parts;	/* gcloud; owned */
	size_t nparts;
	struct glob g;		/* Docker: the whole pattern */
};

struct ignore {
	enum ignore_kind kind;
	const char *source;
	struct rule *rules;	/* owned */
	size_t n, cap;
	bool has_negation;
};

/* ignore.c */
uint32_t ign_u8_next(const char *s, size_t n, size_t *i);
struct tok *ign_glob_add(struct glob *g, enum tok_type type, uint32_t cp);
void ign_class_add(struct tok *t, uint32_t lo, uint32_t hi);
bool ign_tok_match(const struct tok *t, size_t nt, const char *s, size_t n);
struct rule *ign_rule_new(struct ignore *ig);

/* ignore_docker.c */
int ign_docker_text(struct ignore *ig, const char *text, size_t len, struct buf *err);
bool ign_docker_excluded(const struct ignore *ig, const char *path);

#endif
