/* yaml_read.c - YAML streams into cJSON trees, one document at a time, over
 * libyaml's event parser (see yaml.h). */
#include "yaml.h"

#include <yaml.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "yaml_scalar.h"

/* Nodes that aliases may add to one document: a guard against
 * "billion laughs" streams that expand a few lines into gigabytes. */
#define ALIAS_NODE_LIMIT 1000000
/* Bytes of recent input kept to place libyaml's reader errors, which come
 * as byte offsets; libyaml decodes at most 16 KiB behind what it has read. */
#define WINDOW_KEEP 32768
/* Mappings with more keys than this get a hash index for duplicate checks. */
#define KEYS_LINEAR 8

#define TAG_PREFIX "tag:yaml.org,2002:"

struct key_entry {
	cJSON *item;		/* the member, owned by the mapping */
	uint32_t hash;
	size_t line;		/* 1-based line of its key */
	bool merged;		/* from a merge key: an explicit key replaces it */
};

struct key_set {
	struct key_entry *ents;
	size_t n, cap;
	size_t *slots;		/* open addressing: entry index + 1, 0 = empty */
	size_t nslots;		/* 0 while lookups are linear */
};

/* A mapping or sequence being read. */
struct frame {
	cJSON *node;
	char *anchor;		/* registered when the node is complete */
	yaml_mark_t mark;
	/* mappings: the key waiting for its value */
	bool has_key;
	char *key;		/* NULL for a merge key */
	yaml_mark_t key_mark;
	size_t merge_line;	/* line of this mapping's "<<", 0 if none */
	struct key_set keys;
};

struct anchor {
	char *name;
	cJSON *node;		/* a private copy, duplicated for each alias */
	char *text;		/* a scalar's text (used as a key), else NULL */
	size_t nodes;
	int height;		/* collections nested in node */
};

struct yaml_reader {
	yaml_parser_t parser;
	char *name;
	/* input: a stream read a line at a time, or memory */
	FILE *f;
	char *line;
	size_t line_cap, line_len, line_pos;
	int read_errno;
	const char *mem;
	size_t mem_len, mem_pos;
	/* recent input and the position (0-based) of its first byte */
	struct buf window;
	size_t window_start, window_line, window_col;
	/* the document being read */
	struct frame *frames;
	size_t depth, frames_cap;
	struct anchor *anchors;
	size_t nanchors, anchors_cap;
	size_t alias_nodes;
	cJSON *root;
	bool root_empty;
	yaml_mark_t doc_mark;
	bool done;
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		die("out of memory");
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = strndup(s, n);

	if (!d)
		die("out of memory");
	return d;
}

/* Sets *err to "cannot parse 'NAME' line L column C: ..." and returns -1. */
static int fail_at(struct yaml_reader *r, struct buf *err, yaml_mark_t mark,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail_at(struct yaml_reader *r, struct buf *err, yaml_mark_t mark,
		   const char *fmt, ...)
{
	va_list ap;

	buf_set(err, "cannot parse '%s' line %zu column %zu: ", r->name,
		mark.line + 1, mark.column + 1);
	va_start(ap, fmt);
	buf_vprintf(err, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- input ---- */

static void window_add(struct yaml_reader *r, const unsigned char *p, size_t n)
{
	size_t drop, i;

	buf_add(&r->window, p, n);
	if (r->window.len <= 2 * WINDOW_KEEP)
		return;
	drop = r->window.len - WINDOW_KEEP;
	for (i = 0; i < drop; i++) {
		unsigned char c = r->window.data[i];

		if (c == '\n') {
			r->window_line++;
			r->window_col = 0;
		} else if ((c & 0xc0) != 0x80) {
			r->window_col++;
		}
	}
	buf_consume(&r->window, drop);
	r->window_start += drop;
}

/* The line and column of a byte offset of the input; false when it is no
 * longer (or not yet) in the window. */
static bool window_mark(struct yaml_reader *r, size_t offset, yaml_mark_t *mark)
{
	size_t i;

	if (offset < r->window_start || offset > r->window_start + r->window.len)
		return false;
	mark->line = r->window_line;
	mark->column = r->window_col;
	for (i = 0; i < offset - r->window_start; i++) {
		unsigned char c = r->window.data[i];

		if (c == '\n') {
			mark->line++;
			mark->column = 0;
		} else if ((c & 0xc0) != 0x80) {
			mark->column++;
		}
	}
	return true;
}

/* libyaml's read handler. A stream is read a line at a time so that a
 * document is handed over as soon as the line after it has arrived. */
static int read_input(void *data, unsigned char *buffer, size_t size,
		      size_t *size_read)
{
	struct yaml_reader *r = data;
	size_t n;

	if (r->mem) {
		n = r->mem_len - r->mem_pos;
		if (n > size)
			n = size;
		memcpy(buffer, r->mem + r->mem_pos, n);
		r->mem_pos += n;
	} else {
		if (r->line_pos == r->line_len) {
			ssize_t got = getline(&r->line, &r->line_cap, r->f);

			if (got < 0) {
				if (ferror(r->f)) {
					r->read_errno = errno ? errno : EIO;
					return 0;
				}
				got = 0;
			}
			r->line_len = got;
			r->line_pos = 0;
		}
		n = r->line_len - r->line_pos;
		if (n > size)
			n = size;
		memcpy(buffer, r->line + r->line_pos, n);
		r->line_pos += n;
	}
	window_add(r, buffer, n);
	*size_read = n;
	return 1;
}

static int parser_error(struct yaml_reader *r, struct buf *err)
{
	yaml_parser_t *p = &r->parser;
	yaml_mark_t mark;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		die("out of memory");
	case YAML_READER_ERROR:
		if (r->read_errno) {
			buf_set(err, "cannot read '%s': %s", r->name,
				strerror(r->read_errno));
			break;
		}
		if (window_mark(r, p->problem_offset, &mark))
			fail_at(r, err, mark, "%s", p->problem);
		else
			buf_set(err, "cannot parse '%s' byte %zu: %s", r->name,
				p->problem_offset + 1, p->problem);
		if (p->problem_value != -1)
			buf_printf(err, " (0x%x)", (unsigned)p->problem_value);
		break;
	default:
		fail_at(r, err, p->problem_mark, "%s",
			p->problem ? p->problem : "invalid YAML");
		if (p->context)
			buf_printf(err, " (%s at line %zu column %zu)", p->context,
				   p->context_mark.line + 1,
				   p->context_mark.column + 1);
		break;
	}
	return -1;
}

/* ---- mapping keys ---- */

static uint32_t key_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct key_entry *keys_find(struct key_set *ks, const char *key, uint32_t h)
{
	struct key_entry *e;
	size_t i;

	if (!ks->nslots) {
		for (i = 0; i < ks->n; i++) {
			e = &ks->ents[i];
			if (e->hash == h && !strcmp(e->item->string, key))
				return e;
		}
		return NULL;
	}
	for (i = h & (ks->nslots - 1); ks->slots[i]; i = (i + 1) & (ks->nslots - 1)) {
		e = &ks->ents[ks->slots[i] - 1];
		if (e->hash == h && !strcmp(e->item->string, key))
			return e;
	}
	return NULL;
}

static void keys_slot(struct key_set *ks, size_t idx)
{
	size_t i = ks->ents[idx].hash & (ks->nslots - 1);

	while (ks->slots[i])
		i = (i + 1) & (ks->nslots - 1);
	ks->slots[i] = idx + 1;
}

static void keys_add(struct key_set *ks, cJSON *item, uint32_t h, size_t line,
		     bool merged)
{
	size_t i;

	if (ks->n == ks->cap) {
		ks->cap = ks->cap ? 2 * ks->cap : 8;
		ks->ents = xrealloc(ks->ents, ks->cap * sizeof(*ks->ents));
	}
	ks->ents[ks->n++] = (struct key_entry){ item, h, line, merged };
	if (ks->n <= KEYS_LINEAR)
		return;
	if (ks->nslots && 2 * ks->n <= ks->nslots) {
		keys_slot(ks, ks->n - 1);
		return;
	}
	ks->nslots = ks->nslots ? 2 * ks->nslots : 4 * KEYS_LINEAR;
	free(ks->slots);
	ks->slots = calloc(ks->nslots, sizeof(*ks->slots));
	if (!ks->slots)
		die("out of memory");
	for (i = 0; i < ks->n; i++)
		keys_slot(ks, i);
}

static void keys_release(struct key_set *ks)
{
	free(ks->ents);
	free(ks->slots);
	memset(ks, 0, sizeof(*ks));
}

/* ---- anchors ---- */

static size_t count_nodes(const cJSON *n, int *height)
{
	const cJSON *c;
	size_t count = 1;
	int h = 0, ch;

	for (c = n->child; c; c = c->next) {
		count += count_nodes(c, &ch);
		if (ch > h)
			h = ch;
	}
	*height = cJSON_IsArray(n) || cJSON_IsObject(n) ? h + 1 : 0;
	return count;
}

static struct anchor *anchor_find(struct yaml_reader *r, const char *name)
{
	size_t i;

	for (i = r->nanchors; i-- > 0;)
		if (!strcmp(r->anchors[i].name, name))
			return &r->anchors[i];
	return NULL;
}

/* Records a copy of node under name; a later anchor of the same name
 * replaces an earlier one (YAML 1.2: an alias names the latest). */
static void anchor_add(struct yaml_reader *r, const char *name, const cJSON *node,
		       const char *text)
{
	struct anchor *a = anchor_find(r, name);

	if (a) {
		cJSON_Delete(a->node);
		free(a->text);
	} else {
		if (r->nanchors == r->anchors_cap) {
			r->anchors_cap = r->anchors_cap ? 2 * r->anchors_cap : 8;
			r->anchors = xrealloc(r->anchors,
					      r->anchors_cap * sizeof(*r->anchors));
		}
		a = &r->anchors[r->nanchors++];
		a->name = xstrndup(name, strlen(name));
	}
	a->node = cJSON_Duplicate(node, 1);
	if (!a->node)
		die("out of memory");
	a->text = text ? xstrndup(text, strlen(text)) : NULL;
	a->nodes = count_nodes(node, &a->height);
}

/* ---- building the tree ---- */

static void frame_release(struct frame *f)
{
	cJSON_Delete(f->node);
	free(f->anchor);
	free(f->key);
	keys_release(&f->keys);
}

static void doc_clear(struct yaml_reader *r)
{
	size_t i;

	while (r->depth)
		frame_release(&r->frames[--r->depth]);
	for (i = 0; i < r->nanchors; i++) {
		free(r->anchors[i].name);
		cJSON_Delete(r->anchors[i].node);
		free(r->anchors[i].text);
	}
	r->nanchors = 0;
	r->alias_nodes = 0;
	cJSON_Delete(r->root);
	r->root = NULL;
	r->root_empty = false;
}

static struct frame *top_frame(struct yaml_reader *r)
{
	return r->depth ? &r->frames[r->depth - 1] : NULL;
}

static bool wants_key(const struct frame *f)
{
	return f && cJSON_IsObject(f->node) && !f->has_key;
}

/* Takes key (malloc'd; NULL for a merge key) as the pending key of f. */
static int set_key(struct yaml_reader *r, struct frame *f, char *key,
		   yaml_mark_t mark, struct buf *err)
{
	struct key_entry *e;

	if (!key && f->merge_line)
		return fail_at(r, err, mark,
			       "mapping key \"<<\" already defined at line %zu",
			       f->merge_line);
	if (!key) {
		f->merge_line = mark.line + 1;
	} else if ((e = keys_find(&f->keys, key, key_hash(key))) && !e->merged) {
		fail_at(r, err, mark, "mapping key \"%s\" already defined at line %zu",
			key, e->line);
		free(key);
		return -1;
	}
	f->has_key = true;
	f->key = key;
	f->key_mark = mark;
	return 0;
}

/* Moves the members of src whose keys f does not have yet into f. */
static void merge_mapping(struct frame *f, cJSON *src)
{
	cJSON *m;

	while ((m = src->child)) {
		uint32_t h = key_hash(m->string);

		cJSON_DetachItemViaPointer(src, m);
		if (keys_find(&f->keys, m->string, h)) {
			cJSON_Delete(m);
			continue;
		}
		cJSON_AddItemToArray(f->node, m);
		keys_add(&f->keys, m, h, f->merge_line, true);
	}
}

/* Applies "<<: v" to f; takes v. Earlier mappings of a list win. */
static int merge(struct yaml_reader *r, struct frame *f, cJSON *v,
		 yaml_mark_t mark, struct buf *err)
{
	cJSON *m = NULL;
	int rc = -1;

	if (cJSON_IsArray(v)) {
		cJSON_ArrayForEach(m, v)
			if (!cJSON_IsObject(m))
				break;
	}
	if (!cJSON_IsObject(v) && (!cJSON_IsArray(v) || m)) {
		fail_at(r, err, mark, "the value of a merge key \"<<\" must be a "
			"mapping or a list of mappings");
		goto out;
	}
	if (cJSON_IsObject(v))
		merge_mapping(f, v);
	else
		cJSON_ArrayForEach(m, v)
			merge_mapping(f, m);
	rc = 0;
out:
	cJSON_Delete(v);
	return rc;
}

/* Hands a complete value (taken) to the collection being read, or makes it
 * the document. mark is where the value starts. */
static int deliver(struct yaml_reader *r, cJSON *v, yaml_mark_t mark,
		   struct buf *err)
{
	struct frame *f = top_frame(r);
	struct key_entry *e;
	char *key;
	uint32_t h;

	if (!f) {
		r->root = v;
		return 0;
	}
	if (cJSON_IsArray(f->node)) {
		cJSON_AddItemToArray(f->node, v);
		return 0;
	}
	key = f->key;
	f->key = NULL;
	f->has_key = false;
	if (!key)
		return merge(r, f, v, mark, err);
	/* cJSON frees a member's string with the member: the key moves in */
	v->string = key;
	h = key_hash(key);
	e = keys_find(&f->keys, key, h);
	if (e) {	/* a merged member: the explicit key wins, in place */
		cJSON_ReplaceItemViaPointer(f->node, e->item, v);
		e->item = v;
		e->merged = false;
		e->line = f->key_mark.line + 1;
		return 0;
	}
	cJSON_AddItemToArray(f->node, v);
	keys_add(&f->keys, v, h, f->key_mark.line + 1, false);
	return 0;
}

/* The value of a scalar event by its tag, style and text. */
static cJSON *scalar_value(struct yaml_reader *r, const yaml_event_t *ev,
			   struct buf *err)
{
	const char *text = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	size_t len = ev->data.scalar.length;
	enum yaml_plain cls = YAML_PLAIN_STRING, want = YAML_PLAIN_STRING;
	struct buf msg = BUF_INIT;
	cJSON *v;

	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		cls = yaml_plain_classify(text, len);
	if (tag && !strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX))) {
		const char *t = tag + strlen(TAG_PREFIX);

		if (!strcmp(t, "str") || !strcmp(t, "binary") ||
		    !strcmp(t, "timestamp")) {
			cls = YAML_PLAIN_STRING;
		} else if (!strcmp(t, "int") || !strcmp(t, "float") ||
			   !strcmp(t, "bool") || !strcmp(t, "null")) {
			cls = yaml_plain_classify(text, len);
			want = t[0] == 'i' ? YAML_PLAIN_INT : t[0] == 'f' ?
			       YAML_PLAIN_FLOAT : t[0] == 'b' ? YAML_PLAIN_BOOL :
			       YAML_PLAIN_NULL;
			if (want == YAML_PLAIN_FLOAT &&
			    (cls == YAML_PLAIN_INT || cls == YAML_PLAIN_NONFINITE))
				want = cls;
			if (cls != want) {
				fail_at(r, err, ev->start_mark,
					"cannot read '%s' as !!%s", text, t);
				return NULL;
			}
		}
	} else if (tag && !strcmp(tag, "!")) {
		cls = YAML_PLAIN_STRING;
	}
	v = yaml_plain_value(text, len, cls, &msg);
	if (!v)
		fail_at(r, err, ev->start_mark, "%s", buf_str(&msg));
	buf_release(&msg);
	return v;
}

static int on_scalar(struct yaml_reader *r, const yaml_event_t *ev,
		     struct buf *err)
{
	const char *text = (const char *)ev->data.scalar.value;
	const char *anchor = (const char *)ev->data.scalar.anchor;
	const char *tag = (const char *)ev->data.scalar.tag;
	size_t len = ev->data.scalar.length;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	struct frame *f = top_frame(r);
	cJSON *v;

	if (memchr(text, '\0', len))
		return fail_at(r, err, ev->start_mark,
			       "a NUL character cannot be held in a JSON string");
	if (!f && plain && !len && !tag && !anchor)
		r->root_empty = true;
	if (wants_key(f) && !anchor) {
		bool is_merge = plain && len == 2 && !memcmp(text, "<<", 2) &&
				(!tag || !strcmp(tag, TAG_PREFIX "merge"));

		return set_key(r, f, is_merge ? NULL : xstrndup(text, len),
			       ev->start_mark, err);
	}
	if (!(v = scalar_value(r, ev, err)))
		return -1;
	if (anchor)
		anchor_add(r, anchor, v, text);
	if (wants_key(f)) {
		cJSON_Delete(v);
		return set_key(r, f, xstrndup(text, len), ev->start_mark, err);
	}
	return deliver(r, v, ev->start_mark, err);
}

static int on_alias(struct yaml_reader *r, const yaml_event_t *ev,
		    struct buf *err)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct frame *f = top_frame(r);
	struct anchor *a;
	size_t i;

	for (i = 0; i < r->depth; i++)
		if (r->frames[i].anchor && !strcmp(r->frames[i].anchor, name))
			return fail_at(r, err, ev->start_mark, "alias '%s' refers "
				       "to a node that contains it", name);
	if (!(a = anchor_find(r, name)))
		return fail_at(r, err, ev->start_mark, "unknown alias '%s'", name);
	if (wants_key(f)) {
		if (!a->text)
			return fail_at(r, err, ev->start_mark,
				       "a mapping key must be a scalar");
		return set_key(r, f, xstrndup(a->text, strlen(a->text)),
			       ev->start_mark, err);
	}
	if (a->nodes > ALIAS_NODE_LIMIT - r->alias_nodes)
		return fail_at(r, err, ev->start_mark, "too many aliases: the "
			       "document expands to more than %d nodes",
			       ALIAS_NODE_LIMIT);
	if (r->depth + a->height > YAML_MAX_DEPTH)
		return fail_at(r, err, ev->start_mark,
			       "nesting deeper than %d levels", YAML_MAX_DEPTH);
	r->alias_nodes += a->nodes;
	return deliver(r, cJSON_Duplicate(a->node, 1), ev->start_mark, err);
}

static int on_start(struct yaml_reader *r, const yaml_event_t *ev,
		    struct buf *err)
{
	bool is_map = ev->type == YAML_MAPPING_START_EVENT;
	const yaml_char_t *anchor = is_map ? ev->data.mapping_start.anchor :
					     ev->data.sequence_start.anchor;
	struct frame *f;

	if (wants_key(top_frame(r)))
		return fail_at(r, err, ev->start_mark,
			       "a mapping key must be a scalar");
	if (r->depth >= YAML_MAX_DEPTH)
		return fail_at(r, err, ev->start_mark,
			       "nesting deeper than %d levels", YAML_MAX_DEPTH);
	if (r->depth == r->frames_cap) {
		r->frames_cap = r->frames_cap ? 2 * r->frames_cap : 16;
		r->frames = xrealloc(r->frames, r->frames_cap * sizeof(*r->frames));
	}
	f = &r->frames[r->depth++];
	memset(f, 0, sizeof(*f));
	f->node = is_map ? cJSON_CreateObject() : cJSON_CreateArray();
	if (!f->node)
		die("out of memory");
	if (anchor)
		f->anchor = xstrndup((const char *)anchor, strlen((const char *)anchor));
	f->mark = ev->start_mark;
	return 0;
}

static int on_end(struct yaml_reader *r, struct buf *err)
{
	struct frame f = r->frames[--r->depth];
	int rc;

	if (f.anchor)
		anchor_add(r, f.anchor, f.node, NULL);
	rc = deliver(r, f.node, f.mark, err);
	f.node = NULL;
	frame_release(&f);
	return rc;
}

/* 1: a document is in *doc; 0: go on; -1: error. */
static int on_event(struct yaml_reader *r, const yaml_event_t *ev, cJSON **doc,
		    struct buf *err)
{
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		r->done = true;
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		doc_clear(r);
		r->doc_mark = ev->start_mark;
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		if (r->root_empty) {
			doc_clear(r);
			return 0;
		}
		*doc = r->root;
		r->root = NULL;
		doc_clear(r);
		return 1;
	case YAML_SCALAR_EVENT:
		return on_scalar(r, ev, err);
	case YAML_ALIAS_EVENT:
		return on_alias(r, ev, err);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return on_start(r, ev, err);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return on_end(r, err);
	default:
		return 0;
	}
}

/* ---- the public interface ---- */

static struct yaml_reader *reader_new(FILE *f, const char *mem, size_t len,
				      const char *name)
{
	struct yaml_reader *r = calloc(1, sizeof(*r));

	if (!r || !yaml_parser_initialize(&r->parser))
		die("out of memory");
	if (!name)
		name = "<input>";
	else if (!strcmp(name, "-"))
		name = "<stdin>";
	r->name = xstrndup(name, strlen(name));
	r->f = f;
	r->mem = mem ? mem : f ? NULL : "";
	r->mem_len = mem ? len : 0;
	buf_init(&r->window);
	yaml_parser_set_input(&r->parser, read_input, r);
	return r;
}

struct yaml_reader *yaml_reader_new(FILE *f, const char *name)
{
	return reader_new(f, NULL, 0, name);
}

int yaml_reader_next(struct yaml_reader *r, cJSON **doc, struct buf *err)
{
	yaml_event_t ev;
	int rc = 0;

	*doc = NULL;
	while (!r->done && !rc) {
		if (!yaml_parser_parse(&r->parser, &ev)) {
			rc = parser_error(r, err);
			break;
		}
		rc = on_event(r, &ev, doc, err);
		yaml_event_delete(&ev);
	}
	if (rc < 0) {
		doc_clear(r);
		r->done = true;
	}
	return rc;
}

void yaml_reader_free(struct yaml_reader *r)
{
	if (!r)
		return;
	doc_clear(r);
	yaml_parser_delete(&r->parser);
	free(r->frames);
	free(r->anchors);
	free(r->line);
	buf_release(&r->window);
	free(r->name);
	free(r);
}

static cJSON *read_all(struct yaml_reader *r, struct buf *err)
{
	cJSON *docs = cJSON_CreateArray(), *doc;
	int rc;

	if (!docs)
		die("out of memory");
	while ((rc = yaml_reader_next(r, &doc, err)) > 0)
		cJSON_AddItemToArray(docs, doc);
	if (rc < 0) {
		cJSON_Delete(docs);
		docs = NULL;
	}
	yaml_reader_free(r);
	return docs;
}

cJSON *yaml_read_stream(FILE *f, const char *name, struct buf *err)
{
	return read_all(yaml_reader_new(f, name), err);
}

cJSON *yaml_parse(const char *text, size_t len, const char *name, struct buf *err)
{
	return read_all(reader_new(NULL, text, len, name), err);
}

cJSON *yaml_parse_one(const char *text, size_t len, const char *name,
		      struct buf *err)
{
	struct yaml_reader *r = reader_new(NULL, text, len, name);
	cJSON *doc = NULL, *extra = NULL;
	int rc;

	rc = yaml_reader_next(r, &doc, err);
	if (!rc)
		buf_set(err, "cannot parse '%s': no document", r->name);
	if (rc <= 0)
		goto out;
	rc = yaml_reader_next(r, &extra, err);
	if (rc > 0)
		fail_at(r, err, r->doc_mark, "more than one document");
	if (rc) {
		cJSON_Delete(doc);
		doc = NULL;
	}
out:
	cJSON_Delete(extra);
	yaml_reader_free(r);
	return doc;
}
