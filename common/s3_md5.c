/* s3_md5.c - MD5 as RFC 1321 defines it (see s3_internal.h). */
#include "s3_internal.h"

#include <string.h>

static const uint32_t K[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
	0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
	0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
	0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
	0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
	0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
	0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
	0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* One step of round F, G, H or I (RFC 1321 3.4), unrolled by the rounds
 * below: the compiler keeps a, b, c, d in registers. */
#define ROTL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))
#define FF(b, c, d) (((c ^ d) & b) ^ d)
#define GG(b, c, d) (((b ^ c) & d) ^ c)
#define HH(b, c, d) (b ^ c ^ d)
#define II(b, c, d) (c ^ (b | ~d))
#define STEP(fn, a, b, c, d, x, i, r) \
	(a += fn(b, c, d) + (x) + K[i], a = ROTL(a, r) + b)

static void block(uint32_t h[4], const unsigned char *p)
{
	uint32_t w[16], a = h[0], b = h[1], c = h[2], d = h[3];
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
		       (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
	for (i = 0; i < 16; i += 4) {
		STEP(FF, a, b, c, d, w[i], i, 7);
		STEP(FF, d, a, b, c, w[i + 1], i + 1, 12);
		STEP(FF, c, d, a, b, w[i + 2], i + 2, 17);
		STEP(FF, b, c, d, a, w[i + 3], i + 3, 22);
	}
	for (i = 16; i < 32; i += 4) {
		STEP(GG, a, b, c, d, w[(5 * i + 1) % 16], i, 5);
		STEP(GG, d, a, b, c, w[(5 * i + 6) % 16], i + 1, 9);
		STEP(GG, c, d, a, b, w[(5 * i + 11) % 16], i + 2, 14);
		STEP(GG, b, c, d, a, w[(5 * i + 16) % 16], i + 3, 20);
	}
	for (i = 32; i < 48; i += 4) {
		STEP(HH, a, b, c, d, w[(3 * i + 5) % 16], i, 4);
		STEP(HH, d, a, b, c, w[(3 * i + 8) % 16], i + 1, 11);
		STEP(HH, c, d, a, b, w[(3 * i + 11) % 16], i + 2, 16);
		STEP(HH, b, c, d, a, w[(3 * i + 14) % 16], i + 3, 23);
	}
	for (i = 48; i < 64; i += 4) {
		STEP(II, a, b, c, d, w[(7 * i) % 16], i, 6);
		STEP(II, d, a, b, c, w[(7 * i + 7) % 16], i + 1, 10);
		STEP(II, c, d, a, b, w[(7 * i + 14) % 16], i + 2, 15);
		STEP(II, b, c, d, a, w[(7 * i + 21) % 16], i + 3, 21);
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
}

void s3_md5_init(struct s3_md5 *m)
{
	m->h[0] = 0x67452301;
	m->h[1] = 0xefcdab89;
	m->h[2] = 0x98badcfe;
	m->h[3] = 0x10325476;
	m->len = 0;
}

void s3_md5_update(struct s3_md5 *m, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t used = m->len % 64, take;

	m->len += n;
	if (used) {
		take = 64 - used < n ? 64 - used : n;
		memcpy(m->block + used, p, take);
		p += take;
		n -= take;
		if (used + take < 64)
			return;
		block(m->h, m->block);
	}
	for (; n >= 64; p += 64, n -= 64)
		block(m->h, p);
	memcpy(m->block, p, n);
}

void s3_md5_final(struct s3_md5 *m, unsigned char out[16])
{
	static const unsigned char pad[64] = { 0x80 };
	unsigned char len[8];
	uint64_t bits = m->len * 8;
	size_t used = m->len % 64;
	int i;

	for (i = 0; i < 8; i++)
		len[i] = (unsigned char)(bits >> (8 * i));
	s3_md5_update(m, pad, used < 56 ? 56 - used : 120 - used);
	s3_md5_update(m, len, 8);
	for (i = 0; i < 4; i++) {
		out[4 * i] = (unsigned char)m->h[i];
		out[4 * i + 1] = (unsigned char)(m->h[i] >> 8);
		out[4 * i + 2] = (unsigned char)(m->h[i] >> 16);
		out[4 * i + 3] = (unsigned char)(m->h[i] >> 24);
	}
}
