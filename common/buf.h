/* buf.h - a growable byte buffer that is always NUL-terminated.
 *
 * A struct buf owns its data. Initialise with BUF_INIT or buf_init(); free
 * with buf_release(), which leaves it empty and reusable. buf_detach() hands
 * the data to the caller (free() it) and leaves the buf empty. buf_str()
 * never returns NULL. Running out of memory is fatal (die()).
 */
#ifndef WLKIT_BUF_H
#define WLKIT_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;	/* NULL while nothing was ever added */
	size_t len;	/* bytes used, not counting the NUL */
	size_t cap;	/* bytes allocated */
};

#define BUF_INIT { NULL, 0, 0 }

void buf_init(struct buf *b);
void buf_release(struct buf *b);
/* Returns the data (malloc'd, NUL-terminated, never NULL); *len if len. */
char *buf_detach(struct buf *b, size_t *len);
/* Empties the buffer but keeps its memory. */
void buf_reset(struct buf *b);
/* Makes room for at least n more bytes. */
void buf_grow(struct buf *b, size_t n);
void buf_add(struct buf *b, const void *data, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addch(struct buf *b, int c);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Drops the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Sets the length to n (n <= len), keeping the NUL terminator. */
void buf_setlen(struct buf *b, size_t n);
/* The contents as a C string; "" for an empty buffer. */
const char *buf_str(const struct buf *b);
/* Replaces the contents with the formatted message (for error buffers). */
void buf_set(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Reads the whole of a file into b (appends). Returns 0 or -1 with errno. */
int buf_read_file(struct buf *b, const char *path);
/* Reads all of an open stream into b (appends). Returns 0 or -1 with errno. */
int buf_read_fp(struct buf *b, void *fp /* FILE * */);

/* base64.c: standard base64 (RFC 4648 alphabet, '=' padding), as Go's
 * encoding/base64.StdEncoding. Encoding appends without line breaks.
 * Decoding appends the bytes of in[0..n) (line breaks ignored, padding
 * required, nothing after it); on bad input returns -1 and leaves out as
 * it was. */
void buf_add_base64(struct buf *out, const void *data, size_t n);
int buf_add_unbase64(struct buf *out, const char *in, size_t n);

#endif
