/* ignore_docker.c - Docker's .dockerignore dialect (moby/patternmatcher as
 * its documentation describes it): patterns anchored at the context root,
 * cleaned like Go's filepath.Clean, '**' across directories, a match of a
 * parent excluding its contents. See ignore.h. */
#include <stdlib.h>
#include <string.h>

#include "ignore_internal.h"

/* Go's filepath.Clean for '/'-separated paths, in place. */
static void go_clean(struct buf *b)
{
	struct buf out = BUF_INIT;
	const char *s = buf_str(b), *seg, *slash;
	size_t n, dots = 0;
	bool rooted = s[0] == '/';

	for (seg = s; *seg; seg = slash + (*slash == '/')) {
		slash = strchrnul(seg, '/');
		n = (size_t)(slash - seg);
		if (!n || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			if (out.len > dots) {
				while (out.len > dots && out.data[out.len - 1] != '/')
					out.len--;
				if (out.len > dots)
					out.len--;
				buf_setlen(&out, out.len);
			} else if (!rooted) {
				if (out.len)
					buf_addch(&out, '/');
				buf_adds(&out, "..");
				dots = out.len;
			}
			continue;
		}
		if (out.len)
			buf_addch(&out, '/');
		buf_add(&out, seg, n);
	}
	buf_reset(b);
	if (rooted)
		buf_addch(b, '/');
	buf_add(b, buf_str(&out), out.len);
	if (!b->len)
		buf_addch(b, '.');
	buf_release(&out);
}

static bool go_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static void go_trim(struct buf *b)
{
	size_t s = 0, e = b->len;

	while (s < e && go_space(b->data[s]))
		s++;
	while (e > s && go_space(b->data[e - 1]))
		e--;
	buf_consume(b, s);
	buf_setlen(b, e - s);
}

static bool docker_star(enum tok_type type)
{
	return type == T_STAR || type == T_STAR_NOSLASH || type == T_DSLASH;
}

/* Compiles a cleaned Docker pattern as patternmatcher turns it into a
 * regular expression; -1 on a syntax error. */
static int docker_glob(struct glob *g, const char *p)
{
	size_t n = strlen(p), i = 0;
	uint32_t c, lo, hi;
	struct tok *t;

	while (i < n) {
		c = ign_u8_next(p, n, &i);
		if (c == '*' && i < n && p[i] == '*') {
			i++;
			if (i < n && p[i] == '/')
				i++;
			if (i >= n) {
				/* .* swallows the stars before it */
				while (g->nt && docker_star(g->t[g->nt - 1].type))
					g->nt--;
				ign_glob_add(g, T_STAR, 0);
			} else if (!g->nt || g->t[g->nt - 1].type != T_DSLASH) {
				ign_glob_add(g, T_DSLASH, 0);
			}
		} else if (c == '*') {
			/* [^/]*[^/]* is [^/]*: a run of stars costs one token */
			if (!g->nt || g->t[g->nt - 1].type != T_STAR_NOSLASH)
				ign_glob_add(g, T_STAR_NOSLASH, 0);
		} else if (c == '?') {
			ign_glob_add(g, T_ANY_NOSLASH, 0);
		} else if (c == '\\') {
			if (i >= n)
				return -1;
			ign_glob_add(g, T_LIT, ign_u8_next(p, n, &i));
		} else if (c == '[') {
			t = ign_glob_add(g, T_CLASS, 0);
			if (i < n && p[i] == '^') {
				t->neg = true;
				i++;
			}
			for (;;) {
				if (i >= n)
					return -1;
				if (p[i] == ']') {
					i++;
					break;
				}
				if (p[i] == '\\' && ++i >= n)
					return -1;
				lo = hi = ign_u8_next(p, n, &i);
				if (i + 1 < n && p[i] == '-' && p[i + 1] != ']') {
					i++;
					if (p[i] == '\\' && ++i >= n)
						return -1;
					hi = ign_u8_next(p, n, &i);
					if (hi < lo)
						return -1;
				}
				ign_class_add(t, lo, hi);
			}
		} else {
			ign_glob_add(g, T_LIT, c);
		}
	}
	return 0;
}

/* moby/patternmatcher's ignorefile.ReadAll followed by New(). */
int ign_docker_text(struct ignore *ig, const char *text, size_t len, struct buf *err)
{
	struct buf line = BUF_INIT;
	size_t at = 0, n;
	const char *nl;
	bool negated;
	struct rule *r;
	int rc = -1;

	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		at = 3;
	while (at < len) {
		nl = memchr(text + at, '\n', len - at);
		n = nl ? (size_t)(nl - text - at) : len - at;
		buf_reset(&line);
		buf_add(&line, text + at, n);
		at += n + 1;
		if (line.len && line.data[line.len - 1] == '\r')
			buf_setlen(&line, line.len - 1);
		if (line.len && line.data[0] == '#')
			continue;
		go_trim(&line);
		if (!line.len)
			continue;
		negated = line.data[0] == '!';
		if (negated) {
			buf_consume(&line, 1);
			go_trim(&line);
			if (!line.len) {
				buf_set(err, "cannot parse '.dockerignore': illegal exclusion pattern: \"!\"");
				goto out;
			}
		}
		go_clean(&line);
		if (line.len > 1 && line.data[0] == '/')
			buf_consume(&line, 1);
		r = ign_rule_new(ig);
		r->negated = negated;
		ig->has_negation |= negated;
		if (docker_glob(&r->g, buf_str(&line)) < 0) {
			buf_set(err, "cannot parse '.dockerignore': syntax error in pattern '%s'",
				buf_str(&line));
			goto out;
		}
	}
	rc = 0;
out:
	buf_release(&line);
	return rc;
}

/* patternmatcher's MatchesOrParentMatches. */
bool ign_docker_excluded(const struct ignore *ig, const char *path)
{
	size_t plen = strlen(path), i, k;
	const char *slash = strrchr(path, '/');
	size_t parent = slash ? (size_t)(slash - path) : 0;
	bool matched = false, m;
	const struct rule *r;

	for (i = 0; i < ig->n; i++) {
		r = &ig->rules[i];
		if (r->negated != matched)
			continue;
		m = ign_tok_match(r->g.t, r->g.nt, path, plen);
		for (k = 1; !m && k <= parent; k++)
			if (k == parent || path[k] == '/')
				m = ign_tok_match(r->g.t, r->g.nt, path, k);
		if (m)
			matched = !r->negated;
	}
	return matched;
}
