/* buf.c - see buf.h. */
#include "buf.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_release(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *d;

	if (!b->data)
		buf_grow(b, 0);
	d = b->data;
	if (len)
		*len = b->len;
	buf_init(b);
	return d;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_grow(struct buf *b, size_t n)
{
	size_t want, cap;
	char *d;

	if (n > (size_t)-1 / 2 - b->len)
		die("out of memory");
	want = b->len + n + 1;
	if (b->data && want <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap *= 2;
	d = realloc(b->data, cap);
	if (!d)
		die("out of memory");
	if (!b->data)
		d[0] = '\0';
	b->data = d;
	b->cap = cap;
}

void buf_add(struct buf *b, const void *data, size_t n)
{
	buf_grow(b, n);
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_addch(struct buf *b, int c)
{
	char ch = (char)c;

	buf_add(b, &ch, 1);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		die("cannot format message");
	buf_grow(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void buf_set(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	buf_reset(b);
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void buf_setlen(struct buf *b, size_t n)
{
	if (!b->data || n > b->len)
		return;
	b->len = n;
	b->data[n] = '\0';
}

const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}

int buf_read_fp(struct buf *b, void *fp)
{
	FILE *f = fp;
	size_t n;

	for (;;) {
		buf_grow(b, 8192);
		n = fread(b->data + b->len, 1, 8192, f);
		b->len += n;
		b->data[b->len] = '\0';
		if (n < 8192) {
			if (ferror(f))
				return -1;
			return 0;
		}
	}
}

int buf_read_file(struct buf *b, const char *path)
{
	FILE *f = fopen(path, "rb");
	int rc, saved;

	if (!f)
		return -1;
	rc = buf_read_fp(b, f);
	saved = errno;
	fclose(f);
	errno = saved;
	return rc;
}
