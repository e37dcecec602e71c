/* s3_xml.c - the S3 XML this client reads and writes (see s3.h): error
 * bodies, ListObjectsV2 and ListBuckets pages, DeleteObjects, and the key
 * and ETag helpers.
 *
 * S3's replies are flat, attribute-free element trees whose text never
 * holds a raw '<', so a bounded search for "<Name>" ... "</Name>" inside
 * the parent's span reads them exactly. Every search stays inside [p, end):
 * malformed, truncated or hostile input yields "not found", never a read
 * past the buffer. */
#include "s3.h"

#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "s3_internal.h"

struct span {
	const char *p, *end;	/* [p, end) */
};

static const char *find(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);

	for (; p && (size_t)(end - p) >= n; p++) {
		p = memchr(p, s[0], end - p - n + 1);
		if (!p)
			return NULL;
		if (!memcmp(p, s, n))
			return p;
	}
	return NULL;
}

/* The content of the first <name>...</name> in [in->p, in->end), or of the
 * first <name ...attributes>; *after is just past its close tag. */
static bool element(const struct span *in, const char *name, struct span *out,
		    const char **after)
{
	struct buf open = BUF_INIT, close = BUF_INIT;
	const char *p = in->p, *c, *gt;
	size_t n = strlen(name);
	bool ok = false;

	buf_printf(&open, "<%s", name);
	buf_printf(&close, "</%s>", name);
	while ((p = find(p, in->end, open.data))) {
		c = p + open.len;
		if (c < in->end && (*c == '>' || *c == ' ' || *c == '\t' ||
				    *c == '\n' || *c == '\r')) {
			if (!(gt = memchr(c, '>', in->end - c)))
				break;
			if (gt > c && gt[-1] == '/') {	/* <name/>: empty */
				out->p = out->end = gt + 1;
				*after = gt + 1;
				ok = true;
				break;
			}
			if (!(c = find(gt + 1, in->end, close.data)))
				break;
			out->p = gt + 1;
			out->end = c;
			*after = c + n + 3;
			ok = true;
			break;
		}
		p = c;
	}
	buf_release(&open);
	buf_release(&close);
	return ok;
}

/* Appends the text of sp with the XML entities undone (an unknown or
 * malformed entity is kept as written). */
static void text(struct buf *out, const struct span *sp)
{
	static const struct { const char *name; char c; } ents[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' },
		{ "quot;", '"' }, { "apos;", '\'' },
	};
	const char *p = sp->p;
	size_t i;

	while (p < sp->end) {
		const char *amp = memchr(p, '&', sp->end - p);
		bool done = false;

		if (!amp) {
			buf_add(out, p, sp->end - p);
			break;
		}
		buf_add(out, p, amp - p);
		p = amp + 1;
		for (i = 0; i < sizeof ents / sizeof ents[0]; i++) {
			size_t n = strlen(ents[i].name);

			if ((size_t)(sp->end - p) >= n && !memcmp(p, ents[i].name, n)) {
				buf_addch(out, ents[i].c);
				p += n;
				done = true;
				break;
			}
		}
		if (!done && p < sp->end && *p == '#') {
			const char *q = p + 1;
			unsigned long v = 0;
			int base = 10, digits = 0;

			if (q < sp->end && (*q == 'x' || *q == 'X')) {
				base = 16;
				q++;
			}
			for (; q < sp->end && digits < 8; q++, digits++) {
				int d;

				if (*q >= '0' && *q <= '9')
					d = *q - '0';
				else if (base == 16 && *q >= 'a' && *q <= 'f')
					d = *q - 'a' + 10;
				else if (base == 16 && *q >= 'A' && *q <= 'F')
					d = *q - 'A' + 10;
				else
					break;
				v = v * base + d;
			}
			if (digits && q < sp->end && *q == ';' && v && v <= 0x10ffff &&
			    !(v >= 0xd800 && v <= 0xdfff)) {
				s3_add_utf8(out, v);
				p = q + 1;
				done = true;
			}
		}
		if (!done)
			buf_addch(out, '&');
	}
}

void s3_add_utf8(struct buf *out, unsigned long v)
{
	if (v < 0x80) {
		buf_addch(out, (int)v);
	} else if (v < 0x800) {
		buf_addch(out, 0xc0 | (int)(v >> 6));
		buf_addch(out, 0x80 | (int)(v & 0x3f));
	} else if (v < 0x10000) {
		buf_addch(out, 0xe0 | (int)(v >> 12));
		buf_addch(out, 0x80 | (int)((v >> 6) & 0x3f));
		buf_addch(out, 0x80 | (int)(v & 0x3f));
	} else {
		buf_addch(out, 0xf0 | (int)(v >> 18));
		buf_addch(out, 0x80 | (int)((v >> 12) & 0x3f));
		buf_addch(out, 0x80 | (int)((v >> 6) & 0x3f));
		buf_addch(out, 0x80 | (int)(v & 0x3f));
	}
}

/* The text of the first <name> in sp into out (reset first); false when
 * there is none. */
static bool field(const struct span *sp, const char *name, struct buf *out)
{
	struct span v;
	const char *after;

	buf_reset(out);
	if (!element(sp, name, &v, &after))
		return false;
	text(out, &v);
	return true;
}

int s3_xml_field(const char *xml, size_t n, const char *name, struct buf *out)
{
	struct span sp = { xml, xml + n };

	return xml && field(&sp, name, out) ? 0 : -1;
}

/* One line: control characters (newlines included) become spaces. */
static void add_line(struct buf *out, const char *s)
{
	for (; *s; s++)
		buf_addch(out, (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
}

int s3_error_line(long status, const char *xml, size_t n, struct buf *out)
{
	struct span all = { xml, xml + n }, e;
	struct buf code = BUF_INIT, msg = BUF_INIT;
	const char *after;
	int rc = -1;

	if (xml && element(&all, "Error", &e, &after) &&
	    field(&e, "Code", &code) && code.len) {
		add_line(out, code.data);
		if (field(&e, "Message", &msg) && msg.len) {
			buf_adds(out, ": ");
			add_line(out, msg.data);
		}
		rc = 0;
	} else {
		const char *reason = http_reason_phrase(status);

		buf_printf(out, "HTTP %ld%s%s", status, *reason ? " " : "", reason);
	}
	buf_release(&code);
	buf_release(&msg);
	return rc;
}

void s3_key_path(struct buf *out, const char *key)
{
	const char *slash;
	struct buf seg = BUF_INIT;

	for (;;) {
		slash = strchr(key, '/');
		buf_reset(&seg);
		buf_add(&seg, key, slash ? (size_t)(slash - key) : strlen(key));
		http_escape(out, buf_str(&seg));
		if (!slash)
			break;
		buf_addch(out, '/');
		key = slash + 1;
	}
	buf_release(&seg);
}

/* A non-negative decimal integer; -1 when the text is not one. */
static int64_t parse_size(const char *s)
{
	int64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

void s3_etag_strip(struct buf *etag)
{
	if (etag->len >= 2 && etag->data[0] == '"' &&
	    etag->data[etag->len - 1] == '"') {
		buf_consume(etag, 1);
		buf_setlen(etag, etag->len - 1);
	}
}

int s3_list_parse(const char *xml, size_t n, s3_list_fn fn, void *ctx,
		  bool *truncated, struct buf *next, struct buf *err)
{
	struct span all = { xml, xml + n }, root, c;
	struct buf key = BUF_INIT, size = BUF_INIT, etag = BUF_INIT,
		   mod = BUF_INIT, flag = BUF_INIT;
	struct s3_object o;
	const char *after;
	int rc = -1;

	*truncated = false;
	buf_reset(next);
	if (!xml || !element(&all, "ListBucketResult", &root, &after)) {
		buf_set(err, "s3: the listing is not a ListBucketResult");
		goto out;
	}
	for (c = root; element(&c, "Contents", &all, &after); c.p = after) {
		if (!field(&all, "Key", &key)) {
			buf_set(err, "s3: a listed object has no key");
			goto out;
		}
		o.key = buf_str(&key);
		o.size = field(&all, "Size", &size) ? parse_size(buf_str(&size)) : -1;
		field(&all, "ETag", &etag);
		s3_etag_strip(&etag);
		o.etag = buf_str(&etag);
		o.last_modified = field(&all, "LastModified", &mod) ? mod.data : NULL;
		if ((rc = fn(ctx, &o)))
			goto out;
		rc = -1;
	}
	/* The flags come after the objects in S3's order, but look in the
	 * whole root: a <Key> cannot hold a raw '<' */
	*truncated = field(&root, "IsTruncated", &flag) &&
		     !strcmp(buf_str(&flag), "true");
	field(&root, "NextContinuationToken", next);
	if (*truncated && !next->len) {
		buf_set(err, "s3: a truncated listing has no continuation token");
		goto out;
	}
	rc = 0;
out:
	buf_release(&key);
	buf_release(&size);
	buf_release(&etag);
	buf_release(&mod);
	buf_release(&flag);
	return rc;
}

int s3_buckets_parse(const char *xml, size_t n, cJSON **names, struct buf *err)
{
	struct span all = { xml, xml + n }, root, list, b;
	struct buf name = BUF_INIT;
	const char *after;
	cJSON *arr = NULL;
	int rc = -1;

	*names = NULL;
	if (!xml || !element(&all, "ListAllMyBucketsResult", &root, &after)) {
		buf_set(err, "s3: the bucket list is not a ListAllMyBucketsResult");
		goto out;
	}
	if (!(arr = cJSON_CreateArray()))
		goto oom;
	if (element(&root, "Buckets", &list, &after)) {
		for (; element(&list, "Bucket", &b, &after); list.p = after) {
			cJSON *s;

			if (!field(&b, "Name", &name))
				continue;
			if (!(s = cJSON_CreateString(buf_str(&name))))
				goto oom;
			cJSON_AddItemToArray(arr, s);
		}
	}
	*names = arr;
	arr = NULL;
	rc = 0;
	goto out;
oom:
	buf_set(err, "out of memory");
out:
	cJSON_Delete(arr);
	buf_release(&name);
	return rc;
}

/* Appends s with & < > " ' as entities. */
static void add_escaped(struct buf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_adds(out, "&amp;"); break;
		case '<': buf_adds(out, "&lt;"); break;
		case '>': buf_adds(out, "&gt;"); break;
		case '"': buf_adds(out, "&quot;"); break;
		case '\'': buf_adds(out, "&apos;"); break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\t' &&
			    *s != '\n' && *s != '\r')
				buf_printf(out, "&#x%X;", (unsigned char)*s);
			else
				buf_addch(out, *s);
		}
	}
}

void s3_delete_body(struct buf *out, const char *const *keys, size_t n)
{
	size_t i;

	buf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		 "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		 "<Quiet>true</Quiet>");
	for (i = 0; i < n; i++) {
		buf_adds(out, "<Object><Key>");
		add_escaped(out, keys[i]);
		buf_adds(out, "</Key></Object>");
	}
	buf_adds(out, "</Delete>");
}

int s3_delete_result(const char *xml, size_t n, struct buf *err)
{
	struct span all = { xml, xml + n }, root, e;
	struct buf code = BUF_INIT, msg = BUF_INIT, key = BUF_INIT;
	const char *after;
	int rc = 0;

	if (!xml || !element(&all, "DeleteResult", &root, &after))
		goto out;
	if (element(&root, "Error", &e, &after)) {
		field(&e, "Code", &code);
		field(&e, "Message", &msg);
		field(&e, "Key", &key);
		buf_reset(err);
		buf_adds(err, "s3: ");
		add_line(err, code.len ? code.data : "InternalError");
		if (msg.len) {
			buf_adds(err, ": ");
			add_line(err, msg.data);
		}
		buf_adds(err, " (key ");
		add_line(err, key.data ? key.data : "");
		buf_addch(err, ')');
		rc = -1;
	}
out:
	buf_release(&code);
	buf_release(&msg);
	buf_release(&key);
	return rc;
}

void s3_complete_body(struct buf *out, char *const *etags, size_t n)
{
	size_t i;

	buf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		 "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (i = 0; i < n; i++) {
		buf_printf(out, "<Part><PartNumber>%zu</PartNumber><ETag>&quot;",
			   i + 1);
		add_escaped(out, etags[i]);
		buf_adds(out, "&quot;</ETag></Part>");
	}
	buf_adds(out, "</CompleteMultipartUpload>");
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int s3_etag_check(const char *etag, const unsigned char md5[16])
{
	size_t n, i;

	if (!etag)
		return -1;
	n = strlen(etag);
	if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') {
		etag++;
		n -= 2;
	}
	if (n != 32)
		return -1;
	for (i = 0; i < 32; i++)
		if (hexval((unsigned char)etag[i]) < 0)
			return -1;
	for (i = 0; i < 16; i++)
		if ((hexval((unsigned char)etag[2 * i]) << 4 |
		     hexval((unsigned char)etag[2 * i + 1])) != md5[i])
			return 0;
	return 1;
}
