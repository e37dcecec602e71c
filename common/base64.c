/* base64.c - standard base64 (RFC 4648 section 4) as Kubernetes carries
 * []byte fields (Secret data, kubeconfig *-data, ExecCredential). See buf.h.
 * No OpenSSL: a program that only needs base64 should not map libcrypto. */
#include "buf.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void buf_add_base64(struct buf *out, const void *data, size_t n)
{
	const unsigned char *p = data;
	char q[4];
	size_t i;

	buf_grow(out, (n + 2) / 3 * 4);
	for (i = 0; i + 2 < n; i += 3) {
		q[0] = alphabet[p[i] >> 2];
		q[1] = alphabet[(p[i] & 3) << 4 | p[i + 1] >> 4];
		q[2] = alphabet[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
		q[3] = alphabet[p[i + 2] & 63];
		buf_add(out, q, 4);
	}
	if (i < n) {
		q[0] = alphabet[p[i] >> 2];
		if (i + 1 < n) {
			q[1] = alphabet[(p[i] & 3) << 4 | p[i + 1] >> 4];
			q[2] = alphabet[(p[i + 1] & 15) << 2];
		} else {
			q[1] = alphabet[(p[i] & 3) << 4];
			q[2] = '=';
		}
		q[3] = '=';
		buf_add(out, q, 4);
	}
}

static int value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int buf_add_unbase64(struct buf *out, const char *in, size_t n)
{
	size_t start = out->len, i, k = 0, pad = 0;
	unsigned acc = 0;
	int v;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)in[i];

		if (c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			if (k % 4 < 2 || ++pad > 2)
				goto bad;
			k++;
			continue;
		}
		if (pad || (v = value(c)) < 0)
			goto bad;
		acc = acc << 6 | (unsigned)v;
		if (++k % 4 == 0) {
			buf_addch(out, (int)(acc >> 16 & 0xff));
			buf_addch(out, (int)(acc >> 8 & 0xff));
			buf_addch(out, (int)(acc & 0xff));
			acc = 0;
		}
	}
	if (k % 4)
		goto bad;
	if (pad) {		/* the last quantum: 1 or 2 bytes */
		acc <<= 6 * pad;
		buf_addch(out, (int)(acc >> 16 & 0xff));
		if (pad == 1)
			buf_addch(out, (int)(acc >> 8 & 0xff));
	}
	return 0;
bad:
	buf_setlen(out, start);
	return -1;
}
