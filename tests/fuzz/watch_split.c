/* watch_split.c - fuzz target: the watch event splitter
 * (kube_event_splitter_feed). The input after the first byte is split three
 * ways, which must give the same values and the same end: fed whole; fed in
 * chunks whose sizes the first byte seeds; fed whole with a callback that
 * stops after each value (the rest is kept and scanned on the next, empty,
 * feed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kube.h"

struct seen {
	struct buf values;	/* "LEN:TEXT\n" per value */
	int stop;		/* what the callback returns */
};

static int on_value(void *ctx, const char *text, size_t len)
{
	struct seen *s = ctx;

	if (len == 0 || (text[0] != '{' && text[0] != '['))
		abort();	/* a top-level value is an object or an array */
	buf_printf(&s->values, "%zu:", len);
	buf_add(&s->values, text, len);
	buf_addch(&s->values, '\n');
	return s->stop;
}

/* Feeds data in chunks of the sizes seed gives (0: whole); returns the end
 * state: -1 (an error), else 1 when a value is pending, 0 when not. */
static int split(const char *data, size_t n, unsigned seed, struct seen *s)
{
	struct kube_event_splitter *sp = kube_event_splitter_new();
	size_t off = 0;
	int rc = 0;

	while (off < n && rc >= 0) {
		size_t len = n - off;

		if (seed) {
			seed = seed * 1103515245u + 12345u;
			len = 1 + (seed >> 16) % 9;
			if (len > n - off)
				len = n - off;
		}
		rc = kube_event_splitter_feed(sp, data + off, len, on_value, s);
		while (rc > 0)
			rc = kube_event_splitter_feed(sp, "", 0, on_value, s);
		off += len;
	}
	if (rc >= 0)
		rc = kube_event_splitter_pending(sp) ? 1 : 0;
	kube_event_splitter_free(sp);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen whole = { BUF_INIT, 0 }, chunked = { BUF_INIT, 0 },
		    stopping = { BUF_INIT, 1 };
	const char *text = (const char *)data + 1;
	int a, b, c;

	if (size < 1)
		return 0;
	a = split(text, size - 1, 0, &whole);
	b = split(text, size - 1, data[0] | 1u, &chunked);
	c = split(text, size - 1, 0, &stopping);
	if (a != b || a != c || whole.values.len != chunked.values.len ||
	    whole.values.len != stopping.values.len ||
	    (whole.values.len && (memcmp(whole.values.data, chunked.values.data, whole.values.len) ||
	     memcmp(whole.values.data, stopping.values.data, whole.values.len)))) {
		fprintf(stderr, "splits differ: whole %d, chunked %d, stopping %d\n"
			"whole:\n%s\nchunked:\n%s\nstopping:\n%s\n", a, b, c,
			buf_str(&whole.values), buf_str(&chunked.values),
			buf_str(&stopping.values));
		abort();
	}
	buf_release(&whole.values);
	buf_release(&chunked.values);
	buf_release(&stopping.values);
	return 0;
}
