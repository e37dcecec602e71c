/* yaml_write.c - cJSON trees as block YAML the way kubectl prints it (see
 * yaml.h).
 *
 * Written by hand rather than through libyaml's emitter: libyaml folds long
 * lines, cannot be told which plain strings a YAML 1.1 reader would retype,
 * and refuses literal blocks that hold tabs; here one function decides each
 * of those, and the output is checked by reading it back with libyaml.
 */
#include "yaml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_scalar.h"

/* libyaml takes at most 1024 characters as a simple "key:"; longer keys are
 * written as explicit "? key" entries. */
#define SIMPLE_KEY_MAX 1000

struct emitter {
	struct buf *out;
	struct buf *err;
	int depth;		/* collections open */
};

/* Where a node is, for messages: a member name or an item index. */
struct path {
	const struct path *up;
	const char *key;	/* NULL for a sequence item */
	int index;
};

/* How a node is placed: the root, after "key:", or after "-". */
enum place { AT_ROOT, AFTER_KEY, AFTER_DASH };

static void path_format(const struct path *p, struct buf *b)
{
	if (!p)
		return;
	path_format(p->up, b);
	if (p->key)
		buf_printf(b, "%s%s", b->len ? "." : "", p->key);
	else
		buf_printf(b, "[%d]", p->index);
}

static int fail(struct emitter *e, const struct path *p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct emitter *e, const struct path *p, const char *fmt, ...)
{
	struct buf where = BUF_INIT;
	va_list ap;

	buf_set(e->err, "cannot write YAML: ");
	va_start(ap, fmt);
	buf_vprintf(e->err, fmt, ap);
	va_end(ap);
	path_format(p, &where);
	if (where.len)
		buf_printf(e->err, " at '%s'", where.data);
	buf_release(&where);
	return -1;
}

static void indent(struct buf *b, int col)
{
	while (col-- > 0)
		buf_addch(b, ' ');
}

/* ---- strings ---- */

struct str_info {
	bool multiline;		/* holds a line feed */
	bool special;		/* holds what only double quotes can carry */
	bool block_ok;		/* can be a literal block */
};

/* Decodes one UTF-8 character at s[i]; returns its length, 0 if invalid. */
static size_t utf8_char(const unsigned char *s, size_t i, size_t len, uint32_t *cp)
{
	size_t n, k;
	uint32_t c = s[i], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len - i < n)
		return 0;
	for (k = 1; k < n; k++) {
		if ((s[i + k] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i + k] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Characters YAML text cannot carry as they are (libyaml's reader refuses
 * them, or takes them as line breaks or a byte order mark). */
static bool needs_escape(uint32_t c)
{
	return (c < 0x20 && c != '\t' && c != '\n') || (c >= 0x7f && c <= 0x9f) ||
	       c == 0x2028 || c == 0x2029 || c == 0xfeff || c == 0xfffe ||
	       c == 0xffff;
}

/* Fills *in; false when s is not valid UTF-8. */
static bool analyze(const char *s, size_t len, struct str_info *in)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n, body = len;
	uint32_t c;

	memset(in, 0, sizeof(*in));
	in->block_ok = true;
	while (i < len) {
		if (!(n = utf8_char(u, i, len, &c)))
			return false;
		if (c == '\n') {
			in->multiline = true;
			if (i && (s[i - 1] == ' ' || s[i - 1] == '\t'))
				in->block_ok = false;	/* trailing space on a line */
		} else if (c == '\t') {
			in->special = true;
		} else if (needs_escape(c)) {
			in->special = true;
			in->block_ok = false;
		}
		i += n;
	}
	while (body && s[body - 1] == '\n')
		body--;
	if (!body || s[body - 1] == ' ' || s[body - 1] == '\t')
		in->block_ok = false;
	return true;
}

/* Whether s (one line, nothing to escape) reads back as itself unquoted in
 * block context, as far as YAML syntax goes. */
static bool plain_syntax_ok(const char *s, size_t len)
{
	size_t i;

	if (!len || strchr("#,[]{}&*!|>'\"%@`", s[0]))
		return false;
	if (strchr("-?:", s[0]) && (len == 1 || s[1] == ' '))
		return false;
	if (len >= 3 && (!memcmp(s, "---", 3) || !memcmp(s, "...", 3)))
		return false;
	if (s[0] == ' ' || s[len - 1] == ' ')
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == ':' && (i + 1 == len || s[i + 1] == ' '))
			return false;
		if (s[i] == '#' && s[i - 1] == ' ')
			return false;
	}
	return true;
}

static void write_single(struct buf *b, const char *s, size_t len)
{
	size_t i;

	buf_addch(b, '\'');
	for (i = 0; i < len; i++) {
		if (s[i] == '\'')
			buf_addch(b, '\'');
		buf_addch(b, s[i]);
	}
	buf_addch(b, '\'');
}

static void write_double(struct buf *b, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t c;

	buf_addch(b, '"');
	while (i < len) {
		n = utf8_char(u, i, len, &c);
		switch (c) {
		case '"': buf_adds(b, "\\\""); break;
		case '\\': buf_adds(b, "\\\\"); break;
		case '\0': buf_adds(b, "\\0"); break;
		case '\a': buf_adds(b, "\\a"); break;
		case '\b': buf_adds(b, "\\b"); break;
		case '\t': buf_adds(b, "\\t"); break;
		case '\n': buf_adds(b, "\\n"); break;
		case '\v': buf_adds(b, "\\v"); break;
		case '\f': buf_adds(b, "\\f"); break;
		case '\r': buf_adds(b, "\\r"); break;
		case 0x1b: buf_adds(b, "\\e"); break;
		case 0x85: buf_adds(b, "\\N"); break;
		case 0x2028: buf_adds(b, "\\L"); break;
		case 0x2029: buf_adds(b, "\\P"); break;
		default:
			if (c <= 0xff && needs_escape(c))
				buf_printf(b, "\\x%02X", (unsigned)c);
			else if (needs_escape(c))
				buf_printf(b, "\\u%04X", (unsigned)c);
			else
				buf_add(b, s + i, n);
		}
		i += n;
	}
	buf_addch(b, '"');
}

/* A literal block whose lines sit at column col: "|" with the indentation
 * indicator when the text starts with white space, and the chomping
 * indicator its trailing line feeds need ("-" none, "" one, "+" more). */
static void write_literal(struct buf *b, const char *s, size_t len, int col)
{
	size_t body = len, i, start;

	while (body && s[body - 1] == '\n')
		body--;
	buf_addch(b, '|');
	if (s[0] == ' ' || s[0] == '\t' || s[0] == '\n')
		buf_addch(b, '2');
	if (body == len)
		buf_addch(b, '-');
	else if (len - body > 1)
		buf_addch(b, '+');
	buf_addch(b, '\n');
	for (start = i = 0; i <= body; i++) {
		if (i < body && s[i] != '\n')
			continue;
		if (i > start) {
			indent(b, col);
			buf_add(b, s + start, i - start);
		}
		buf_addch(b, '\n');
		start = i + 1;
	}
	for (i = body + 1; i < len; i++)
		buf_addch(b, '\n');
}

/* Appends string s to b: plain when it reads back as the same string, else
 * in double quotes when another reader would retype it or it holds
 * characters only escapes carry, else in single quotes; multi-line strings
 * (not keys: block_col < 0) as a literal block at block_col when they can.
 * Returns 1 for a literal block (which ends its own line), 0, or -1. */
static int write_string(struct emitter *e, struct buf *b, const char *s,
			int block_col, const struct path *p)
{
	size_t len = strlen(s);
	struct str_info in;

	if (!analyze(s, len, &in))
		return fail(e, p, "a string is not valid UTF-8");
	if (in.multiline && in.block_ok && block_col >= 0) {
		write_literal(b, s, len, block_col);
		return 1;
	}
	if (in.multiline || in.special || yaml_plain_retypes(s, len))
		write_double(b, s, len);
	else if (!plain_syntax_ok(s, len))
		write_single(b, s, len);
	else
		buf_add(b, s, len);
	return 0;
}

/* Returns 1 when it wrote a literal block, 0, or -1. */
static int write_scalar(struct emitter *e, const cJSON *node, int block_col,
			const struct path *p)
{
	char num[32];
	double d;

	if (cJSON_IsString(node))
		return write_string(e, e->out, node->valuestring, block_col, p);
	if (cJSON_IsNull(node)) {
		buf_adds(e->out, "null");
	} else if (cJSON_IsTrue(node)) {
		buf_adds(e->out, "true");
	} else if (cJSON_IsFalse(node)) {
		buf_adds(e->out, "false");
	} else if (cJSON_IsNumber(node)) {
		d = node->valuedouble;
		if (!isfinite(d))
			return fail(e, p, "a number is not finite");
		if (d == trunc(d) && fabs(d) <= 9007199254740992.0) {
			buf_printf(e->out, "%lld", (long long)d);
		} else {
			char *exp;
			int prec = 1;

			/* the shortest form that reads back as the same double */
			do
				snprintf(num, sizeof(num), "%.*g", prec, d);
			while (strtod(num, NULL) != d && ++prec <= 17);
			/* 1e+20 as 1.0e+20: YAML 1.1 floats need the dot */
			exp = strchr(num, 'e');
			if (exp && !strchr(num, '.')) {
				buf_add(e->out, num, exp - num);
				buf_adds(e->out, ".0");
				buf_adds(e->out, exp);
			} else {
				buf_adds(e->out, num);
			}
		}
	} else if (cJSON_IsRaw(node)) {
		if (!node->valuestring || !yaml_is_json_number(node->valuestring))
			return fail(e, p, "a raw value is not a JSON number");
		buf_adds(e->out, node->valuestring);
	} else if (cJSON_IsObject(node)) {
		buf_adds(e->out, "{}");
	} else if (cJSON_IsArray(node)) {
		buf_adds(e->out, "[]");
	} else {
		return fail(e, p, "a node has no JSON type");
	}
	return 0;
}

/* ---- collections ---- */

static int write_node(struct emitter *e, const cJSON *node, int col,
		      enum place place, const struct path *p);

/* Members of a mapping, one per line at column col; the first one goes
 * where the output is when inline (after "- "). */
static int write_mapping(struct emitter *e, const cJSON *node, int col,
			 bool inline_first, const struct path *up)
{
	struct buf key = BUF_INIT;
	const cJSON *m;
	int rc = 0;

	cJSON_ArrayForEach(m, node) {
		struct path p = { up, m->string, 0 };

		if (!m->string) {
			rc = fail(e, up, "a mapping member has no key");
			break;
		}
		if (m != node->child || !inline_first)
			indent(e->out, col);
		buf_reset(&key);
		if ((rc = write_string(e, &key, m->string, -1, &p)) < 0)
			break;
		if (key.len > SIMPLE_KEY_MAX) {
			buf_adds(e->out, "? ");
			buf_add(e->out, key.data, key.len);
			buf_addch(e->out, '\n');
			indent(e->out, col);
		} else {
			buf_add(e->out, key.data, key.len);
		}
		buf_addch(e->out, ':');
		if ((rc = write_node(e, m, col, AFTER_KEY, &p)) < 0)
			break;
	}
	buf_release(&key);
	return rc;
}

/* Items of a sequence, each "- " at column col. */
static int write_sequence(struct emitter *e, const cJSON *node, int col,
			  bool inline_first, const struct path *up)
{
	const cJSON *item;
	int i = 0;

	cJSON_ArrayForEach(item, node) {
		struct path p = { up, NULL, i++ };

		if (item != node->child || !inline_first)
			indent(e->out, col);
		buf_addch(e->out, '-');
		if (write_node(e, item, col, AFTER_DASH, &p) < 0)
			return -1;
	}
	return 0;
}

/* Writes node and its line end. col is the column of the "key:" or "-"
 * just written (0 at the root). A mapping under a key is indented two more;
 * a sequence under a key is not (kubectl's style); block scalars' lines
 * sit two columns in. */
static int write_node(struct emitter *e, const cJSON *node, int col,
		      enum place place, const struct path *p)
{
	bool nested = (cJSON_IsObject(node) || cJSON_IsArray(node)) && node->child;
	int rc;

	if (!nested) {
		if (place != AT_ROOT)
			buf_addch(e->out, ' ');
		rc = write_scalar(e, node, col + 2, p);
		if (!rc)
			buf_addch(e->out, '\n');
		return rc < 0 ? -1 : 0;
	}
	if (++e->depth > YAML_MAX_DEPTH)
		return fail(e, p, "nesting deeper than %d levels", YAML_MAX_DEPTH);
	if (place == AFTER_KEY)
		buf_addch(e->out, '\n');
	else if (place == AFTER_DASH)
		buf_addch(e->out, ' ');
	if (cJSON_IsObject(node))
		rc = write_mapping(e, node, place == AT_ROOT ? 0 : col + 2,
				   place == AFTER_DASH, p);
	else
		rc = write_sequence(e, node, place == AFTER_DASH ? col + 2 : col,
				    place == AFTER_DASH, p);
	e->depth--;
	return rc;
}

/* ---- the public interface ---- */

int yaml_emit(struct buf *out, const cJSON *doc, struct buf *err)
{
	struct emitter e = { out, err, 0 };
	size_t start = out->len;

	if (write_node(&e, doc, 0, AT_ROOT, NULL) < 0) {
		buf_setlen(out, start);
		return -1;
	}
	return 0;
}

char *yaml_emit_one(const cJSON *doc)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	char *text = NULL;

	if (!yaml_emit(&out, doc, &err))
		text = buf_detach(&out, NULL);
	buf_release(&out);
	buf_release(&err);
	return text;
}

int yaml_write_stream(FILE *f, const cJSON *docs, struct buf *err)
{
	struct buf out = BUF_INIT;
	const cJSON *doc;
	int rc = -1;

	if (!cJSON_IsArray(docs)) {
		buf_set(err, "cannot write YAML: a stream must be an array of documents");
		goto out;
	}
	cJSON_ArrayForEach(doc, docs) {
		buf_reset(&out);
		if (doc != docs->child)
			buf_adds(&out, "---\n");
		if (yaml_emit(&out, doc, err) < 0)
			goto out;
		if (fwrite(out.data, 1, out.len, f) != out.len)
			goto write_error;
	}
	if (fflush(f))
		goto write_error;
	rc = 0;
	goto out;
write_error:
	buf_set(err, "cannot write YAML: %s", strerror(errno));
out:
	buf_release(&out);
	return rc;
}
