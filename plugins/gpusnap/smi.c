/* smi.c - `nvidia-smi -q -x` output into the GPU/smi data map.
 *
 * A tag-stream reader (no XML library): the input is checked to be UTF-8,
 * then read start tag by end tag, keeping the stack of open element names.
 * When a leaf element closes, its path below the root, the GPU or the MIG
 * device is looked up in the tables below; the keys go to a scratch map
 * that replaces into the caller's map only when the whole input was read.
 * See smi.h for the keys and the contract.
 */
#include "obj.h"
#include "smi.h"
#include "log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum kind {
	K_STR,		/* the text as given */
	K_INT,		/* a count or an id: a number when all digits */
	K_MIB,		/* "81559 MiB" */
	K_WATT,		/* "700.00 W" */
	K_MHZ,		/* "1980 MHz" */
};

struct field {
	const char *path;	/* element path, '/'-separated */
	const char *key;
	enum kind kind;
};

/* Below <nvidia_smi_log>. */
static const struct field top_fields[] = {
	{ "driver_version", "driver", K_STR },
	{ "cuda_version", "cuda-version", K_STR },
	{ "attached_gpus", "gpu-count", K_INT },
	{ NULL, NULL, K_STR }
};

/* Below <gpu>; key "gpu.I.<key>". Both power spellings: power_readings
 * (drivers up to R525) and gpu_power_readings (R530 on). */
static const struct field gpu_fields[] = {
	{ "minor_number", "index", K_INT },
	{ "uuid", "uuid", K_STR },
	{ "product_name", "name", K_STR },
	{ "product_architecture", "architecture", K_STR },
	{ "vbios_version", "vbios", K_STR },
	{ "gsp_firmware_version", "gsp-firmware", K_STR },
	{ "pci/pci_bus_id", "pci-bus-id", K_STR },
	{ "persistence_mode", "persistence-mode", K_STR },
	{ "mig_mode/current_mig", "mig-mode.current", K_STR },
	{ "mig_mode/pending_mig", "mig-mode.pending", K_STR },
	{ "ecc_mode/current_ecc", "ecc-mode.current", K_STR },
	{ "fb_memory_usage/total", "memory-total", K_MIB },
	{ "power_readings/power_limit", "power-limit", K_WATT },
	{ "power_readings/current_power_limit", "power-limit", K_WATT },
	{ "gpu_power_readings/current_power_limit", "power-limit", K_WATT },
	{ "max_clocks/graphics_clock", "clocks.max-graphics", K_MHZ },
	{ "max_clocks/sm_clock", "clocks.max-sm", K_MHZ },
	{ "max_clocks/mem_clock", "clocks.max-mem", K_MHZ },
	{ NULL, NULL, K_STR }
};

/* Below <gpu><mig_devices><mig_device>; key "gpu.I.mig.J.<key>". */
static const struct field mig_fields[] = {
	{ "index", "index", K_INT },
	{ "gpu_instance_id", "gi-id", K_INT },
	{ "compute_instance_id", "ci-id", K_INT },
	{ "device_attributes/shared/multiprocessor_count", "sm-count", K_INT },
	{ "fb_memory_usage/total", "memory-total", K_MIB },
	{ NULL, NULL, K_STR }
};

/* GPU 0's readings that eidos reported on their own. */
static const struct field summary_fields[] = {
	{ "name", "gpu.model", K_STR },
	{ "architecture", "gpu.architecture", K_STR },
	{ "vbios", "gpu.vbios", K_STR },
	{ "gsp-firmware", "gpu.gsp-firmware", K_STR },
	{ "persistence-mode", "gpu.persistence-mode", K_STR },
	{ NULL, NULL, K_STR }
};

struct xml {
	const char *start, *p, *end;
	int depth;			/* open elements */
	char names[SMI_MAX_DEPTH][SMI_MAX_NAME + 1];
	bool parent[SMI_MAX_DEPTH];	/* the element has child elements */
	bool root_done;
	struct buf text;		/* the text of the innermost element */
	struct buf id;			/* the id attribute of the last start tag */
	struct buf scratch;
	struct buf key;
	struct buf *err;
	cJSON *out;			/* the scratch map */
	int ngpu;			/* <gpu> elements; the current is ngpu - 1 */
	int nmig;			/* <mig_device> elements of the current GPU */
};

void smi_put_str(cJSON *map, const char *key, const char *val)
{
	obj_put(map, key, cJSON_CreateString(val));
}

void smi_put_num(cJSON *map, const char *key, double val)
{
	obj_put(map, key, cJSON_CreateNumber(val));
}

void smi_put_bool(cJSON *map, const char *key, bool val)
{
	obj_put(map, key, cJSON_CreateBool(val));
}

static int fail(struct xml *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Sets *err to "line N: why", N the line of x->p. Returns -1. */
static int fail(struct xml *x, const char *fmt, ...)
{
	const char *s;
	long line = 1;
	va_list ap;

	for (s = x->start; s < x->p && s < x->end; s++)
		if (*s == '\n')
			line++;
	buf_reset(x->err);
	buf_printf(x->err, "line %ld: ", line);
	va_start(ap, fmt);
	buf_vprintf(x->err, fmt, ap);
	va_end(ap);
	return -1;
}

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_name_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c == ':';
}

static bool is_name_char(int c)
{
	return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static bool starts(const struct xml *x, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(x->end - x->p) >= n && !memcmp(x->p, s, n);
}

/* Length of the UTF-8 sequence at s (at most n bytes), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Input must be UTF-8 without NUL or control characters other than tab,
 * newline and carriage return (XML 1.0). */
static int check_chars(struct xml *x)
{
	const unsigned char *s = (const unsigned char *)x->start;
	size_t n = (size_t)(x->end - x->start), i = 0, k;

	while (i < n) {
		if (s[i] < 0x20 && !is_space(s[i])) {
			x->p = x->start + i;
			return fail(x, "control character 0x%02x", s[i]);
		}
		if (!(k = utf8_len(s + i, n - i))) {
			x->p = x->start + i;
			return fail(x, "invalid UTF-8");
		}
		i += k;
	}
	return 0;
}

static void add_utf8(struct buf *b, uint32_t cp)
{
	if (cp < 0x80) {
		buf_addch(b, (int)cp);
	} else if (cp < 0x800) {
		buf_addch(b, (int)(0xc0 | cp >> 6));
		buf_addch(b, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addch(b, (int)(0xe0 | cp >> 12));
		buf_addch(b, (int)(0x80 | (cp >> 6 & 0x3f)));
		buf_addch(b, (int)(0x80 | (cp & 0x3f)));
	} else {
		buf_addch(b, (int)(0xf0 | cp >> 18));
		buf_addch(b, (int)(0x80 | (cp >> 12 & 0x3f)));
		buf_addch(b, (int)(0x80 | (cp >> 6 & 0x3f)));
		buf_addch(b, (int)(0x80 | (cp & 0x3f)));
	}
}

/* A character reference "#65" or "#x41" (without '&' and ';'). */
static int char_ref(struct xml *x, const char *s, size_t n, struct buf *out)
{
	uint32_t cp = 0;
	size_t i = 1;
	int base = 10, d;

	if (n > 1 && (s[1] == 'x'))
		base = 16, i = 2;
	if (i == n)
		return fail(x, "empty character reference");
	for (; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else if (base == 16 && s[i] >= 'A' && s[i] <= 'F')
			d = s[i] - 'A' + 10;
		else
			return fail(x, "bad character reference '&%.*s;'", (int)n, s);
		cp = cp * (uint32_t)base + (uint32_t)d;
		if (cp > 0x10ffff)
			return fail(x, "character reference out of range");
	}
	if ((cp < 0x20 && !is_space((int)cp)) || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp == 0xfffe || cp == 0xffff)
		return fail(x, "character reference to a character XML forbids");
	add_utf8(out, cp);
	return 0;
}

/* Appends n bytes of s to out with the references replaced. */
static int decode(struct xml *x, const char *s, size_t n, struct buf *out)
{
	static const struct { const char *name; char c; } ents[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' },
		{ "quot", '"' }, { "apos", '\'' }, { NULL, 0 }
	};
	const char *e, *semi;
	size_t len, i;

	if (out->len + n > SMI_MAX_TEXT)
		return fail(x, "text longer than %u bytes", SMI_MAX_TEXT);
	while (n) {
		if (!(e = memchr(s, '&', n))) {
			buf_add(out, s, n);
			break;
		}
		buf_add(out, s, (size_t)(e - s));
		n -= (size_t)(e - s);
		semi = memchr(e, ';', n < 12 ? n : 12);
		if (!semi)
			return fail(x, "'&' that begins no entity");
		len = (size_t)(semi - e - 1);
		if (len && e[1] == '#') {
			if (char_ref(x, e + 1, len, out) < 0)
				return -1;
		} else {
			for (i = 0; ents[i].name; i++)
				if (strlen(ents[i].name) == len &&
				    !memcmp(ents[i].name, e + 1, len))
					break;
			if (!ents[i].name)
				return fail(x, "unknown entity '&%.*s;'", (int)len, e + 1);
			buf_addch(out, ents[i].c);
		}
		n -= len + 2;
		s = semi + 1;
	}
	return 0;
}

/* Reads a name at x->p into dst (SMI_MAX_NAME + 1 bytes). */
static int read_name(struct xml *x, char *dst)
{
	size_t n = 0;

	if (x->p >= x->end || !is_name_start((unsigned char)*x->p))
		return fail(x, "expected a name");
	while (x->p < x->end && is_name_char((unsigned char)*x->p)) {
		if (n == SMI_MAX_NAME)
			return fail(x, "name longer than %d bytes", SMI_MAX_NAME);
		dst[n++] = *x->p++;
	}
	dst[n] = '\0';
	return 0;
}

static void skip_space(struct xml *x)
{
	while (x->p < x->end && is_space((unsigned char)*x->p))
		x->p++;
}

/* Moves past the first `term` after skip bytes. */
static int skip_past(struct xml *x, size_t skip, const char *term, const char *what)
{
	const char *from = x->p + skip, *hit;

	hit = memmem(from, (size_t)(x->end - from), term, strlen(term));
	if (!hit)
		return fail(x, "unterminated %s", what);
	x->p = hit + strlen(term);
	return 0;
}

/* <!DOCTYPE ...>, with an internal subset in [...] and quoted ids. */
static int doctype(struct xml *x)
{
	int brackets = 0;
	char q;

	if (!starts(x, "<!DOCTYPE") || x->depth || x->root_done)
		return fail(x, "unexpected '<!'");
	for (x->p += 9; x->p < x->end; x->p++) {
		if (*x->p == '"' || *x->p == '\'') {
			q = *x->p++;
			while (x->p < x->end && *x->p != q)
				x->p++;
			if (x->p == x->end)
				break;
		} else if (*x->p == '[') {
			brackets++;
		} else if (*x->p == ']') {
			brackets--;
		} else if (*x->p == '>' && brackets <= 0) {
			x->p++;
			return 0;
		}
	}
	return fail(x, "unterminated DOCTYPE");
}

static const char *top(const struct xml *x)
{
	return x->names[x->depth - 1];
}

/* The path of the open elements from index `from` on, '/'-joined. */
static const char *rel_path(struct xml *x, int from)
{
	int i;

	buf_reset(&x->scratch);
	for (i = from; i < x->depth; i++) {
		if (i > from)
			buf_addch(&x->scratch, '/');
		buf_adds(&x->scratch, x->names[i]);
	}
	return buf_str(&x->scratch);
}

/* "123", "9.5": true with the number in *out; false when the n bytes of s
 * are not all one plain decimal number. */
static bool plain_number(const char *s, size_t n, double *out)
{
	char tmp[32];
	size_t i = 0, digits = 0;

	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, digits++;
	if (i < n && s[i] == '.' && digits) {
		i++;
		if (i == n || s[i] < '0' || s[i] > '9')
			return false;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (!digits || i != n || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	*out = strtod(tmp, NULL);
	return true;
}

static void store(struct xml *x, const char *key, const char *val, enum kind kind)
{
	static const char *units[] = { "", "", " MiB", " W", " MHz" };
	size_t n = strlen(val), u = strlen(units[kind]);
	double d;

	if (kind == K_INT && plain_number(val, n, &d) && !strchr(val, '.')) {
		smi_put_num(x->out, key, d);
		return;
	}
	if (kind >= K_MIB && n > u && !strcmp(val + n - u, units[kind]) &&
	    plain_number(val, n - u, &d)) {
		smi_put_num(x->out, key, d);
		return;
	}
	smi_put_str(x->out, key, val);
}

/* Stores the leaf reading at path under prefix when fields names it. */
static void map_leaf(struct xml *x, const struct field *fields, const char *path,
		     const char *val, int gpu, int mig)
{
	const struct field *f;

	for (f = fields; f->path; f++) {
		if (strcmp(f->path, path))
			continue;
		buf_reset(&x->key);
		if (mig >= 0)
			buf_printf(&x->key, "gpu.%d.mig.%d.%s", gpu, mig, f->key);
		else if (gpu >= 0)
			buf_printf(&x->key, "gpu.%d.%s", gpu, f->key);
		else
			buf_adds(&x->key, f->key);
		store(x, buf_str(&x->key), val, f->kind);
		return;
	}
}

static bool is(const struct xml *x, int i, const char *name)
{
	return i < x->depth && !strcmp(x->names[i], name);
}

/* A start tag was read and pushed. */
static int on_open(struct xml *x)
{
	if (x->depth == 1 && !is(x, 0, "nvidia_smi_log"))
		return fail(x, "not nvidia-smi output: the root element is '%s'", top(x));
	if (x->depth == 2 && is(x, 1, "gpu")) {
		if (x->ngpu == SMI_MAX_GPUS)
			return fail(x, "more than %d GPUs", SMI_MAX_GPUS);
		x->ngpu++;
		x->nmig = 0;
		if (x->id.len) {
			buf_reset(&x->key);
			buf_printf(&x->key, "gpu.%d.pci-bus-id", x->ngpu - 1);
			smi_put_str(x->out, buf_str(&x->key), buf_str(&x->id));
		}
	}
	if (x->depth == 4 && is(x, 1, "gpu") && is(x, 2, "mig_devices") &&
	    is(x, 3, "mig_device")) {
		if (x->nmig == SMI_MAX_MIG)
			return fail(x, "more than %d MIG devices on GPU %d",
				    SMI_MAX_MIG, x->ngpu - 1);
		x->nmig++;
	}
	return 0;
}

/* Moves the MIG keys of GPU i ("gpu.I.mig...") after its other keys. */
static void mig_keys_last(struct xml *x, int i)
{
	cJSON *it, *next, *moved = NULL, *tail = NULL;
	size_t n;

	buf_reset(&x->key);
	buf_printf(&x->key, "gpu.%d.mig", i);
	n = x->key.len;
	for (it = x->out->child; it; it = next) {
		next = it->next;
		if (strncmp(it->string, buf_str(&x->key), n))
			continue;
		cJSON_DetachItemViaPointer(x->out, it);
		if (tail)
			tail->next = it;
		else
			moved = it;
		tail = it;
	}
	for (it = moved; it; it = next) {
		next = it->next;
		it->next = NULL;
		cJSON_AddItemToArray(x->out, it);	/* keeps it->string */
	}
}

/* The innermost element is about to be popped. */
static void on_close(struct xml *x)
{
	const char *val;
	size_t n;

	if (x->depth == 2 && is(x, 1, "gpu"))
		mig_keys_last(x, x->ngpu - 1);
	if (x->depth == 3 && is(x, 1, "gpu") && is(x, 2, "mig_devices")) {
		buf_reset(&x->key);
		buf_printf(&x->key, "gpu.%d.mig-devices", x->ngpu - 1);
		smi_put_num(x->out, buf_str(&x->key), x->nmig);
	}
	if (x->parent[x->depth - 1])
		return;
	val = buf_str(&x->text);
	n = x->text.len;
	while (n && is_space((unsigned char)val[n - 1]))
		n--;
	buf_setlen(&x->text, n);
	while (*val && is_space((unsigned char)*val))
		val++;
	if (!*val || !strcmp(val, "N/A"))
		return;
	if (x->depth == 2)
		map_leaf(x, top_fields, top(x), val, -1, -1);
	else if (x->depth >= 5 && is(x, 1, "gpu") && is(x, 2, "mig_devices") &&
		 is(x, 3, "mig_device"))
		map_leaf(x, mig_fields, rel_path(x, 4), val, x->ngpu - 1, x->nmig - 1);
	else if (x->depth >= 3 && is(x, 1, "gpu"))
		map_leaf(x, gpu_fields, rel_path(x, 2), val, x->ngpu - 1, -1);
}

static int start_tag(struct xml *x)
{
	char name[SMI_MAX_NAME + 1], attr[SMI_MAX_NAME + 1];
	const char *q;
	bool empty = false, space;
	char quote;

	x->p++;
	if (x->depth == 0 && x->root_done)
		return fail(x, "a second root element");
	if (x->depth == SMI_MAX_DEPTH)
		return fail(x, "elements nested deeper than %d", SMI_MAX_DEPTH);
	if (read_name(x, name) < 0)
		return -1;
	buf_reset(&x->id);
	for (;;) {
		space = x->p < x->end && is_space((unsigned char)*x->p);
		skip_space(x);
		if (x->p >= x->end)
			return fail(x, "unterminated start tag '%s'", name);
		if (*x->p == '>') {
			x->p++;
			break;
		}
		if (*x->p == '/') {
			if (x->p + 1 >= x->end || x->p[1] != '>')
				return fail(x, "expected '/>' in '%s'", name);
			x->p += 2;
			empty = true;
			break;
		}
		if (!space)
			return fail(x, "expected a space before an attribute of '%s'", name);
		if (read_name(x, attr) < 0)
			return -1;
		skip_space(x);
		if (x->p >= x->end || *x->p != '=')
			return fail(x, "expected '=' after attribute '%s'", attr);
		x->p++;
		skip_space(x);
		if (x->p >= x->end || (*x->p != '"' && *x->p != '\''))
			return fail(x, "expected a quoted value for attribute '%s'", attr);
		quote = *x->p++;
		if (!(q = memchr(x->p, quote, (size_t)(x->end - x->p))))
			return fail(x, "unterminated value of attribute '%s'", attr);
		if (memchr(x->p, '<', (size_t)(q - x->p)))
			return fail(x, "'<' in the value of attribute '%s'", attr);
		buf_reset(&x->scratch);
		if (decode(x, x->p, (size_t)(q - x->p), &x->scratch) < 0)
			return -1;
		if (!strcmp(attr, "id")) {
			buf_reset(&x->id);
			buf_add(&x->id, x->scratch.data, x->scratch.len);
		}
		x->p = q + 1;
	}
	if (x->depth)
		x->parent[x->depth - 1] = true;
	memcpy(x->names[x->depth], name, sizeof(name));
	x->parent[x->depth] = false;
	x->depth++;
	buf_reset(&x->text);
	if (on_open(x) < 0)
		return -1;
	if (empty) {
		on_close(x);
		x->depth--;
		x->root_done = x->depth == 0;
	}
	return 0;
}

static int end_tag(struct xml *x)
{
	char name[SMI_MAX_NAME + 1];

	x->p += 2;
	if (read_name(x, name) < 0)
		return -1;
	skip_space(x);
	if (x->p >= x->end || *x->p != '>')
		return fail(x, "unterminated end tag '%s'", name);
	x->p++;
	if (!x->depth)
		return fail(x, "end tag '%s' without a start tag", name);
	if (strcmp(name, top(x)))
		return fail(x, "end tag '%s' does not match '%s'", name, top(x));
	on_close(x);
	x->depth--;
	x->root_done = x->depth == 0;
	return 0;
}

static int text(struct xml *x, const char *s, size_t n)
{
	size_t i;

	if (!x->depth) {
		for (i = 0; i < n; i++)
			if (!is_space((unsigned char)s[i]))
				return fail(x, "text outside the root element");
		return 0;
	}
	if (x->parent[x->depth - 1])
		buf_reset(&x->text);	/* mixed content: checked, not kept */
	return decode(x, s, n, &x->text);
}

static int markup(struct xml *x)
{
	const char *from, *hit;

	if (starts(x, "<?"))
		return skip_past(x, 2, "?>", "processing instruction");
	if (starts(x, "<!--"))
		return skip_past(x, 4, "-->", "comment");
	if (starts(x, "<![CDATA[")) {
		from = x->p + 9;
		hit = memmem(from, (size_t)(x->end - from), "]]>", 3);
		if (!hit)
			return fail(x, "unterminated CDATA section");
		if (!x->depth)
			return fail(x, "CDATA outside the root element");
		if (x->parent[x->depth - 1])
			buf_reset(&x->text);
		if (x->text.len + (size_t)(hit - from) > SMI_MAX_TEXT)
			return fail(x, "text longer than %u bytes", SMI_MAX_TEXT);
		buf_add(&x->text, from, (size_t)(hit - from));
		x->p = hit + 3;
		return 0;
	}
	if (starts(x, "<!"))
		return doctype(x);
	if (starts(x, "</"))
		return end_tag(x);
	return start_tag(x);
}

static int parse(struct xml *x)
{
	const char *lt;

	if (check_chars(x) < 0)
		return -1;
	while (x->p < x->end) {
		if (*x->p == '<') {
			if (markup(x) < 0)
				return -1;
			continue;
		}
		lt = memchr(x->p, '<', (size_t)(x->end - x->p));
		if (!lt)
			lt = x->end;
		if (text(x, x->p, (size_t)(lt - x->p)) < 0)
			return -1;
		x->p = lt;
	}
	if (x->depth)
		return fail(x, "truncated: element '%s' is not closed", top(x));
	if (!x->root_done)
		return fail(x, "no root element");
	return 0;
}

/* gpu-count when attached_gpus was missing, GPU 0's summary keys and the
 * distinct product names. */
static void summarise(struct xml *x)
{
	const struct field *f;
	const cJSON *v;
	const char **seen = NULL;
	struct buf models = BUF_INIT;
	int i, j, nseen = 0;

	if (!cJSON_GetObjectItemCaseSensitive(x->out, "gpu-count"))
		smi_put_num(x->out, "gpu-count", x->ngpu);
	for (f = summary_fields; f->path; f++) {
		buf_reset(&x->key);
		buf_printf(&x->key, "gpu.0.%s", f->path);
		v = cJSON_GetObjectItemCaseSensitive(x->out, buf_str(&x->key));
		if (v)
			obj_put(x->out, f->key, cJSON_Duplicate(v, 1));
	}
	if (x->ngpu && !(seen = calloc((size_t)x->ngpu, sizeof(*seen))))
		die("out of memory");
	for (i = 0; i < x->ngpu; i++) {
		buf_reset(&x->key);
		buf_printf(&x->key, "gpu.%d.name", i);
		v = cJSON_GetObjectItemCaseSensitive(x->out, buf_str(&x->key));
		if (!cJSON_IsString(v))
			continue;
		for (j = 0; j < nseen; j++)
			if (!strcmp(seen[j], v->valuestring))
				break;
		if (j < nseen)
			continue;
		seen[nseen++] = v->valuestring;
		if (models.len)
			buf_adds(&models, ", ");
		buf_adds(&models, v->valuestring);
	}
	if (nseen)
		smi_put_str(x->out, "gpu-models", buf_str(&models));
	buf_release(&models);
	free(seen);
}

int smi_parse(const char *xml, size_t len, cJSON *data, struct buf *err)
{
	struct xml *x;
	struct buf key = BUF_INIT;
	cJSON *it;
	int rc = -1;

	if (!(x = calloc(1, sizeof(*x))))
		die("out of memory");
	x->start = x->p = xml ? xml : "";
	x->end = x->start + (xml ? len : 0);
	x->err = err;
	if (!(x->out = cJSON_CreateObject()))
		die("out of memory");
	if (parse(x) < 0)
		goto out;
	summarise(x);
	while ((it = x->out->child)) {
		cJSON_DetachItemViaPointer(x->out, it);
		buf_reset(&key);
		buf_adds(&key, it->string);
		obj_put(data, buf_str(&key), it);
	}
	rc = 0;
out:
	cJSON_Delete(x->out);
	buf_release(&x->text);
	buf_release(&x->id);
	buf_release(&x->scratch);
	buf_release(&x->key);
	buf_release(&key);
	free(x);
	return rc;
}
