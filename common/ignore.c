/* ignore.c - gcloud's and Docker's ignore-file dialects (see ignore.h). */
#include "ignore.h"
#include "ignore_internal.h"
#include "log.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Decodes the code point at s[*i] (an invalid byte stands for itself, as
 * Python's surrogateescape does) and moves *i past it. */
uint32_t ign_u8_next(const char *s, size_t n, size_t *i)
{
	const unsigned char *u = (const unsigned char *)s + *i;
	size_t left = n - *i, len, k;
	uint32_t cp;

	if (u[0] < 0x80) {
		(*i)++;
		return u[0];
	}
	if ((u[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = u[0] & 0x1f;
	} else if ((u[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = u[0] & 0x0f;
	} else if ((u[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = u[0] & 0x07;
	} else {
		goto bad;
	}
	if (left < len)
		goto bad;
	for (k = 1; k < len; k++) {
		if ((u[k] & 0xc0) != 0x80)
			goto bad;
		cp = cp << 6 | (u[k] & 0x3f);
	}
	*i += len;
	return cp;
bad:
	(*i)++;
	return 0xdc00 | u[0];
}

static size_t u8_count(const char *s, size_t n)
{
	size_t i = 0, c = 0;

	while (i < n) {
		ign_u8_next(s, n, &i);
		c++;
	}
	return c;
}

static void glob_release(struct glob *g)
{
	size_t i;

	for (i = 0; i < g->nt; i++)
		free(g->t[i].r);
	free(g->t);
	g->t = NULL;
	g->nt = 0;
}

struct tok *ign_glob_add(struct glob *g, enum tok_type type, uint32_t cp)
{
	struct tok *t;

	/* The array holds the next power of two from nt: it doubles when nt
	 * is one (one realloc per token made compiling quadratic). */
	if (!(g->nt & (g->nt - 1)) &&
	    !(g->t = realloc(g->t, (g->nt ? 2 * g->nt : 1) * sizeof(*g->t))))
		abort();
	t = &g->t[g->nt++];
	memset(t, 0, sizeof(*t));
	t->type = type;
	t->cp = cp;
	return t;
}

void ign_class_add(struct tok *t, uint32_t lo, uint32_t hi)
{
	if (!(t->r = realloc(t->r, (t->nr + 1) * sizeof(*t->r))))
		abort();
	t->r[t->nr].lo = lo;
	t->r[t->nr].hi = hi;
	t->nr++;
}

static bool tok_one(const struct tok *t, uint32_t c)
{
	size_t i;
	bool in = false;

	switch (t->type) {
	case T_LIT:
		return c == t->cp;
	case T_ANY:
		return true;
	case T_ANY_NOSLASH:
		return c != '/';
	case T_CLASS:
		for (i = 0; i < t->nr && !in; i++)
			in = c >= t->r[i].lo && c <= t->r[i].hi;
		return in != t->neg;
	default:
		return false;
	}
}

/* Whether tokens t[0..nt) match all of s[0..n) (ign_tok_match below).
 * Matching with backtracking over stars, memoised: a (token, position)
 * pair that failed once fails again, so a pattern of many stars costs
 * tokens x positions, not an exponential walk. A star that fails from i
 * fails from every later position it tried too (those are marked), and a
 * star's walk stops at a position already marked: it walks each position
 * once, not once per start (tokens x positions squared). Marking before
 * the walk ends is safe: a success ends the whole match. */
struct memo {
	const struct tok *t;
	size_t nt;
	const char *s;
	size_t n;
	unsigned char *failed;	/* (nt + 1) x (n + 1), or NULL */
};

static bool match_from(struct memo *m, size_t k, size_t i)
{
	const struct tok *t = m->t;
	const char *s = m->s;
	size_t n = m->n, k0 = k, i0 = i, j;
	bool r = false;

	if (m->failed && m->failed[k0 * (n + 1) + i0])
		return false;
	for (; k < m->nt; k++) {
		switch (t[k].type) {
		case T_STAR:
		case T_STAR_NOSLASH:
			for (j = i;;) {
				if (match_from(m, k + 1, j)) {
					r = true;
					goto out;
				}
				if (m->failed)
					m->failed[k * (n + 1) + j] = 1;
				if (j >= n || (t[k].type == T_STAR_NOSLASH && s[j] == '/'))
					goto out;
				ign_u8_next(s, n, &j);
				if (m->failed && m->failed[k * (n + 1) + j])
					goto out;
			}
		case T_DSLASH:
			if (match_from(m, k + 1, i)) {
				r = true;
				goto out;
			}
			for (j = i + 1; j <= n; j++) {
				if (s[j - 1] != '/')
					continue;
				if (m->failed && m->failed[k * (n + 1) + j])
					goto out;
				if (match_from(m, k + 1, j)) {
					r = true;
					goto out;
				}
				if (m->failed)
					m->failed[k * (n + 1) + j] = 1;
			}
			goto out;
		default:
			if (i >= n || !tok_one(&t[k], ign_u8_next(s, n, &i)))
				goto out;
		}
	}
	r = i == n;
out:
	if (!r && m->failed)
		m->failed[k0 * (n + 1) + i0] = 1;
	return r;
}

bool ign_tok_match(const struct tok *t, size_t nt, const char *s, size_t n)
{
	struct memo m = { t, nt, s, n, NULL };
	size_t stars = 0, k;
	bool r;

	for (k = 0; k < nt; k++)
		stars += t[k].type == T_STAR || t[k].type == T_STAR_NOSLASH ||
			 t[k].type == T_DSLASH;
	/* one star cannot backtrack more than n times: no table needed */
	if (stars > 1 && (nt + 1) <= (64u << 20) / (n + 1) &&
	    !(m.failed = calloc((nt + 1) * (n + 1), 1)))
		die("out of memory");
	r = match_from(&m, 0, 0);
	free(m.failed);
	return r;
}

/* Python's fnmatch class: body[0..n) are the code points between '[' and
 * ']'; builds the token as fnmatch.translate() and re would read it. */
static void py_class(struct glob *g, const uint32_t *body, size_t n)
{
	uint32_t *stuff = NULL, **ch = NULL, *spare;
	size_t *chn = NULL, nch = 0, ns = 0, s, k, i, j, c;
	bool dash = false;
	struct tok *t;

	for (i = 0; i < n; i++)
		dash |= body[i] == '-';
	/* The chunks between range dashes, as translate() cuts them. */
	if (!(ch = calloc(n + 2, sizeof(*ch))) || !(chn = calloc(n + 2, sizeof(*chn))) ||
	    !(stuff = calloc(2 * n + 2, sizeof(*stuff))))
		abort();
	for (i = 0; i < n + 2; i++)
		if (!(ch[i] = calloc(n + 2, sizeof(**ch))))
			abort();
	if (!dash) {
		memcpy(ch[0], body, n * sizeof(*body));
		chn[0] = n;
		nch = 1;
	} else {
		s = 0;
		k = body[0] == '!' ? 2 : 1;
		for (;;) {
			for (; k < n && body[k] != '-'; k++)
				;
			if (k >= n)
				break;
			memcpy(ch[nch], body + s, (k - s) * sizeof(*body));
			chn[nch++] = k - s;
			s = k + 1;
			k += 3;
		}
		if (s < n) {
			memcpy(ch[nch], body + s, (n - s) * sizeof(*body));
			chn[nch++] = n - s;
		} else {
			ch[nch - 1][chn[nch - 1]++] = '-';
		}
		/* Remove empty ranges: drop both ends and join the chunks. */
		for (k = nch - 1; k > 0; k--) {
			if (!chn[k - 1] || !chn[k] || ch[k - 1][chn[k - 1] - 1] <= ch[k][0])
				continue;
			chn[k - 1]--;
			memcpy(ch[k - 1] + chn[k - 1], ch[k] + 1, (chn[k] - 1) * sizeof(**ch));
			chn[k - 1] += chn[k] - 1;
			spare = ch[k];
			memmove(ch + k, ch + k + 1, (nch - k - 1) * sizeof(*ch));
			memmove(chn + k, chn + k + 1, (nch - k - 1) * sizeof(*chn));
			ch[--nch] = spare;
		}
	}
	/* Join with range dashes; a '-' inside a chunk is a literal. */
	for (c = 0; c < nch; c++) {
		if (c)
			stuff[ns++] = '-';
		for (j = 0; j < chn[c]; j++)
			stuff[ns++] = ch[c][j] == '-' ? ('-' | CP_ESCAPED) : ch[c][j];
	}
	if (!ns) {
		ign_glob_add(g, T_NEVER, 0);
		goto out;
	}
	if (ns == 1 && stuff[0] == '!') {
		ign_glob_add(g, T_ANY, 0);
		goto out;
	}
	t = ign_glob_add(g, T_CLASS, 0);
	i = 0;
	if (stuff[0] == '!') {
		t->neg = true;
		i = 1;
	}
	/* Read as re's parser reads a set: a '-' between two members is a
	 * range, a '-' at the end is itself. */
	while (i < ns) {
		uint32_t a = stuff[i++] & ~CP_ESCAPED, b;

		if (i + 1 < ns && stuff[i] == '-') {
			b = stuff[i + 1] & ~CP_ESCAPED;
			i += 2;
			if (a <= b)
				ign_class_add(t, a, b);
		} else {
			ign_class_add(t, a, a);
		}
	}
out:
	for (i = 0; i < n + 2; i++)
		free(ch[i]);
	free(ch);
	free(chn);
	free(stuff);
}

/* Compiles one part of a gcloud pattern as Python's fnmatch reads it. */
static void py_glob(struct glob *g, const char *p)
{
	size_t n = strlen(p), i = 0, j, at, nb;
	uint32_t c, *body;

	while (i < n) {
		c = ign_u8_next(p, n, &i);
		if (c == '*') {
			if (!g->nt || g->t[g->nt - 1].type != T_STAR)
				ign_glob_add(g, T_STAR, 0);
		} else if (c == '?') {
			ign_glob_add(g, T_ANY, 0);
		} else if (c == '[') {
			j = i;
			if (j < n && p[j] == '!')
				j++;
			if (j < n && p[j] == ']')
				j++;
			while (j < n && p[j] != ']')
				j++;
			if (j >= n) {
				ign_glob_add(g, T_LIT, '[');
				continue;
			}
			if (!(body = calloc(j - i + 1, sizeof(*body))))
				abort();
			for (nb = 0, at = i; at < j;)
				body[nb++] = ign_u8_next(p, j, &at);
			py_class(g, body, nb);
			free(body);
			i = j + 1;
		} else {
			ign_glob_add(g, T_LIT, c);
		}
	}
}

struct rule *ign_rule_new(struct ignore *ig)
{
	struct rule *r;

	if (ig->n == ig->cap) {
		ig->cap = ig->cap ? 2 * ig->cap : 16;
		if (!(ig->rules = realloc(ig->rules, ig->cap * sizeof(*ig->rules))))
			abort();
	}
	r = &ig->rules[ig->n++];
	memset(r, 0, sizeof(*r));
	return r;
}

/* glob.py's _HandleSpaces: drop trailing unescaped spaces, then turn every
 * "\ " into " ". */
static void gcloud_spaces(struct buf *line)
{
	const char *s = buf_str(line);
	size_t i = 0, keep = 0, n = line->len;
	struct buf out = BUF_INIT;

	while (i < n) {
		if (s[i] == '\\') {
			i += i + 1 < n ? 2 : 1;
			keep = i;
		} else {
			if (s[i] != ' ')
				keep = i + 1;
			i++;
		}
	}
	for (i = 0; i < keep; i++) {
		if (s[i] == '\\' && i + 1 < keep && s[i + 1] == ' ') {
			buf_addch(&out, ' ');
			i++;
		} else {
			buf_addch(&out, s[i]);
		}
	}
	buf_reset(line);
	buf_add(line, buf_str(&out), out.len);
	buf_release(&out);
}

/* glob.py's _Unescape: "\x" becomes x for any x but '\', then "\\" becomes
 * "\". */
static void gcloud_unescape(struct buf *line)
{
	const char *s = buf_str(line);
	size_t i, n = line->len;
	struct buf a = BUF_INIT;

	for (i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && s[i + 1] != '\\')
			buf_addch(&a, s[++i]);
		else
			buf_addch(&a, s[i]);
	}
	buf_reset(line);
	s = buf_str(&a);
	for (i = 0; i < a.len; i++) {
		buf_addch(line, s[i]);
		if (s[i] == '\\' && i + 1 < a.len && s[i + 1] == '\\')
			i++;
	}
	buf_release(&a);
}

/* One non-comment line of gcloud's dialect; invalid lines are dropped. */
static void gcloud_pattern(struct ignore *ig, const char *line, size_t n)
{
	struct buf b = BUF_INIT;
	struct rule *r;
	bool negated = false, dir_only = false;
	size_t i, start, odd;

	if (n && line[0] == '!') {
		negated = true;
		line++;
		n--;
	}
	if (n && line[n - 1] == '/') {
		dir_only = true;
		n--;
	}
	buf_add(&b, line, n);
	gcloud_spaces(&b);
	for (odd = 0, i = b.len; i > 0 && b.data[i - 1] == '\\'; i--)
		odd ^= 1;
	if (odd)
		goto out;
	gcloud_unescape(&b);
	if (!b.len)
		goto out;
	r = ign_rule_new(ig);
	r->negated = negated;
	r->dir_only = dir_only;
	ig->has_negation |= negated;
	for (i = 0, start = 0; i <= b.len; i++) {
		if (i < b.len && b.data[i] != '/')
			continue;
		if (!(r->parts = realloc(r->parts, (r->nparts + 1) * sizeof(*r->parts))) ||
		    !(r->parts[r->nparts].text = strndup(b.data + start, i - start)))
			abort();
		memset(&r->parts[r->nparts].g, 0, sizeof(struct glob));
		py_glob(&r->parts[r->nparts].g, r->parts[r->nparts].text);
		r->nparts++;
		start = i + 1;
	}
out:
	buf_release(&b);
}

/* The length of the line at s[0..n) and of its terminator, as Python's
 * str.splitlines() cuts lines. */
static size_t py_line(const char *s, size_t n, size_t *term)
{
	size_t i;
	const unsigned char *u = (const unsigned char *)s;

	for (i = 0; i < n; i++) {
		*term = 1;
		if (u[i] == '\r' && i + 1 < n && u[i + 1] == '\n')
			*term = 2;
		else if (u[i] == 0xc2 && i + 1 < n && u[i + 1] == 0x85)
			*term = 2;
		else if (u[i] == 0xe2 && i + 2 < n && u[i + 1] == 0x80 &&
			 (u[i + 2] == 0xa8 || u[i + 2] == 0xa9))
			*term = 3;
		else if (!strchr("\n\r\v\f\x1c\x1d\x1e", u[i]) || !u[i])
			continue;
		return i;
	}
	*term = 0;
	return n;
}

static int gcloud_text(struct ignore *ig, const char *text, size_t len,
		       const char *dir, int recurse, struct buf *err);

static int gcloud_include(struct ignore *ig, const char *name, size_t n,
			  const char *dir, int recurse, struct buf *err)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	int rc = -1;

	if (memchr(name, '/', n)) {
		buf_set(err, "cannot include '%.*s': may only include files in the same directory",
			(int)n, name);
		goto out;
	}
	if (!recurse) {
		rc = 0;
		goto out;
	}
	if (!dir) {
		buf_set(err, "cannot include '%.*s': no directory to include from", (int)n, name);
		goto out;
	}
	buf_printf(&path, "%s/%.*s", dir, (int)n, name);
	if (buf_read_file(&text, buf_str(&path)) < 0) {
		buf_set(err, "cannot read ignore file '%s': %s", buf_str(&path), strerror(errno));
		goto out;
	}
	rc = gcloud_text(ig, buf_str(&text), text.len, dir, recurse - 1, err);
out:
	buf_release(&path);
	buf_release(&text);
	return rc;
}

static int gcloud_text(struct ignore *ig, const char *text, size_t len,
		       const char *dir, int recurse, struct buf *err)
{
	static const char directive[] = "!include:";
	size_t at = 0, n, term, k;
	const char *line, *inc;

	while (at < len) {
		line = text + at;
		n = py_line(line, len - at, &term);
		at += n + term;
		if (n && line[0] == '#') {
			for (k = 1; k < n && strchr(" \t\n\r\v\f\x1c\x1d\x1e\x1f", line[k]); k++)
				;
			if (n - k < sizeof(directive) - 1 ||
			    memcmp(line + k, directive, sizeof(directive) - 1))
				continue;
			inc = memmem(line, n, directive, sizeof(directive) - 1);
			inc += sizeof(directive) - 1;
			if (gcloud_include(ig, inc, n - (size_t)(inc - line), dir, recurse, err) < 0)
				return -1;
			continue;
		}
		gcloud_pattern(ig, line, n);
	}
	return 0;
}

static struct ignore *ignore_new(enum ignore_kind kind, const char *source)
{
	struct ignore *ig = calloc(1, sizeof(*ig));

	if (!ig)
		abort();
	ig->kind = kind;
	ig->source = source;
	return ig;
}

void ignore_free(struct ignore *ig)
{
	size_t i, k;

	if (!ig)
		return;
	for (i = 0; i < ig->n; i++) {
		for (k = 0; k < ig->rules[i].nparts; k++) {
			free(ig->rules[i].parts[k].text);
			glob_release(&ig->rules[i].parts[k].g);
		}
		free(ig->rules[i].parts);
		glob_release(&ig->rules[i].g);
	}
	free(ig->rules);
	free(ig);
}

int ignore_parse(enum ignore_kind kind, const char *text, const char *dir,
		 struct ignore **out, struct buf *err)
{
	struct ignore *ig = ignore_new(kind, kind == IGNORE_GCLOUD ? ".gcloudignore" :
				       kind == IGNORE_DOCKER ? ".dockerignore" : "none");
	int rc = 0;

	if (kind == IGNORE_GCLOUD)
		rc = gcloud_text(ig, text, strlen(text), dir, 1, err);
	else if (kind == IGNORE_DOCKER)
		rc = ign_docker_text(ig, text, strlen(text), err);
	if (rc < 0) {
		ignore_free(ig);
		ig = NULL;
	}
	*out = ig;
	return rc;
}

static bool exists(const char *dir, const char *name)
{
	struct buf p = BUF_INIT;
	struct stat st;
	bool yes;

	buf_printf(&p, "%s/%s", dir, name);
	yes = stat(buf_str(&p), &st) == 0;
	buf_release(&p);
	return yes;
}

static const char default_gcloudignore[] =
	".gcloudignore\n"
	".git\n"
	".gitignore\n";

int ignore_load(const char *dir, struct ignore **out, struct buf *err)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	int rc = -1;

	*out = NULL;
	buf_printf(&path, "%s/.gcloudignore", dir);
	if (buf_read_file(&text, buf_str(&path)) == 0) {
		*out = ignore_new(IGNORE_GCLOUD, ".gcloudignore");
		rc = gcloud_text(*out, buf_str(&text), text.len, dir, 1, err);
		goto out;
	}
	if (exists(dir, ".git") || exists(dir, ".gitignore")) {
		buf_reset(&text);
		buf_adds(&text, default_gcloudignore);
		if (exists(dir, ".gitignore"))
			buf_adds(&text, "#!include:.gitignore\n");
		*out = ignore_new(IGNORE_GCLOUD, "default .gcloudignore");
		rc = gcloud_text(*out, buf_str(&text), text.len, dir, 1, err);
		goto out;
	}
	buf_reset(&path);
	buf_reset(&text);
	buf_printf(&path, "%s/.dockerignore", dir);
	if (buf_read_file(&text, buf_str(&path)) == 0) {
		*out = ignore_new(IGNORE_DOCKER, ".dockerignore");
		rc = ign_docker_text(*out, buf_str(&text), text.len, err);
		goto out;
	}
	*out = ignore_new(IGNORE_NONE, "none");
	rc = 0;
out:
	if (rc < 0) {
		ignore_free(*out);
		*out = NULL;
	}
	buf_release(&path);
	buf_release(&text);
	return rc;
}

enum ignore_kind ignore_kind(const struct ignore *ig)
{
	return ig->kind;
}

const char *ignore_source(const struct ignore *ig)
{
	return ig->source;
}

int ignore_count(const struct ignore *ig)
{
	return (int)ig->n;
}

/* glob.py's Glob._MatchesHelper: the parts parts[0..np) (after an implied
 * leading "" when root is set) match the path path[0..plen) from the right;
 * plen < 0 stands for Python's None (no path left). */
static bool gcloud_parts(const struct gpart *parts, size_t np, bool root,
			 const char *path, long plen)
{
	const struct gpart *last;
	const char *tail;
	long head, i;
	size_t tlen;

	if (!np && !root)
		return true;
	if (plen < 0)
		return false;
	last = np ? &parts[np - 1] : NULL;
	for (i = plen - 1; i >= 0 && path[i] != '/'; i--)
		;
	head = i < 0 ? 0 : i;
	tail = path + i + 1;
	tlen = (size_t)(plen - i - 1);
	if (!tlen)
		head = -1;
	if (last && !strcmp(last->text, "**")) {
		/* What is left is anchored: it gets a leading "" unless it
		 * already starts with one. */
		root = root || !(np > 1 && !parts[0].text[0]);
		if (gcloud_parts(parts, np - 1, root, path, 0))
			return true;
		for (i = 1; i <= plen; i++)
			if ((i == plen || path[i] == '/') &&
			    gcloud_parts(parts, np - 1, root, path, i))
				return true;
		return false;
	}
	if (!last) {
		/* The implied "" part: it matches only an empty path part. */
		return !tlen && gcloud_parts(parts, 0, false, path, head);
	}
	if (!strcmp(last->text, "*") && np == 1 && !root &&
	    head > 0 && u8_count(path, (size_t)head) > 1)
		return false;
	if (!ign_tok_match(last->g.t, last->g.nt, tail, tlen))
		return false;
	return gcloud_parts(parts, np - 1, root, path, head);
}

static bool gcloud_rule(const struct rule *r, const char *path, size_t plen, bool is_dir)
{
	if (r->dir_only && !is_dir)
		return false;
	return gcloud_parts(r->parts, r->nparts, false, path, (long)plen);
}

static bool gcloud_excluded(const struct ignore *ig, const char *path, bool is_dir)
{
	size_t plen = strlen(path), end, i;
	int verdict;

	for (end = 1; end <= plen; end++) {
		if (end < plen && path[end] != '/')
			continue;
		verdict = 0;
		for (i = 0; i < ig->n; i++)
			if (gcloud_rule(&ig->rules[i], path, end, end < plen || is_dir))
				verdict = ig->rules[i].negated ? 1 : -1;
		if (verdict < 0)
			return true;
	}
	return false;
}

bool ignore_excluded(const struct ignore *ig, const char *path, bool is_dir)
{
	if (ig->kind == IGNORE_GCLOUD)
		return gcloud_excluded(ig, path, is_dir);
	if (ig->kind == IGNORE_DOCKER)
		return ign_docker_excluded(ig, path);
	return false;
}

bool ignore_descend(const struct ignore *ig, const char *dir_path)
{
	(void)dir_path;
	return ig->kind == IGNORE_DOCKER && ig->has_negation;
}
