/* quantity.c - Kubernetes resource quantities, part of obj.h.
 *
 * A quantity is read into an exact form, digits x 10^exp10 x 2^exp2, as
 * k8s.io/apimachinery/pkg/api/resource.ParseQuantity scans it; scaling to
 * an integer then works on decimal digit strings, so no value is ever
 * rounded by floating point.
 */
#include "obj.h"

#include <stdint.h>
#include <string.h>

#define FORMAT_MSG "quantities must match the regular expression " \
	"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
#define SUFFIX_MSG "unable to parse quantity's suffix"

struct quantity {
	bool negative;
	struct buf digits;	/* no leading or trailing zeros; "" for zero */
	int64_t exp10;
	int exp2;
};

static const struct {
	const char *suffix;
	int exp10, exp2;
} suffixes[] = {
	{ "n", -9, 0 }, { "u", -6, 0 }, { "m", -3, 0 }, { "", 0, 0 },
	{ "k", 3, 0 }, { "M", 6, 0 }, { "G", 9, 0 }, { "T", 12, 0 },
	{ "P", 15, 0 }, { "E", 18, 0 },
	{ "Ki", 0, 10 }, { "Mi", 0, 20 }, { "Gi", 0, 30 }, { "Ti", 0, 40 },
	{ "Pi", 0, 50 }, { "Ei", 0, 60 },
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* An exponent suffix "e3", "E-3", "e+12" (|exponent| <= 2^31-1, as
 * Kubernetes keeps it in an int32). */
static bool exponent_suffix(const char *s, size_t n, int64_t *exp)
{
	int64_t v = 0;
	size_t i = 1;
	bool neg = false;

	if (n < 2 || (s[0] != 'e' && s[0] != 'E'))
		return false;
	if (s[i] == '+' || s[i] == '-')
		neg = s[i++] == '-';
	if (i == n)
		return false;
	for (; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
		if (v > INT32_MAX)
			return false;
	}
	*exp = neg ? -v : v;
	return true;
}

/* Reads s into *q (q->digits empty on entry). 0 or -1 with *why. */
static int quantity_parse(const char *s, struct quantity *q, struct buf *why)
{
	const char *p = s, *int_start, *frac_start = NULL, *suf;
	size_t int_len, frac_len = 0, suf_len, i;
	int64_t exp = 0;

	if (!s || !*s)
		goto bad_format;
	if (*p == '+' || *p == '-')
		q->negative = *p++ == '-';
	int_start = p;
	while (is_digit(*p))
		p++;
	int_len = (size_t)(p - int_start);
	if (*p == '.') {
		frac_start = ++p;
		while (is_digit(*p))
			p++;
		frac_len = (size_t)(p - frac_start);
	}
	suf = p;
	while (*p && strchr("eEinumkKMGTP", *p))
		p++;
	if (*p == '+' || *p == '-')
		p++;
	while (is_digit(*p))
		p++;
	if (*p)
		goto bad_format;
	suf_len = (size_t)(p - suf);

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (strlen(suffixes[i].suffix) == suf_len &&
		    !memcmp(suffixes[i].suffix, suf, suf_len))
			break;
	if (i < sizeof(suffixes) / sizeof(suffixes[0])) {
		exp = suffixes[i].exp10;
		q->exp2 = suffixes[i].exp2;
	} else if (!exponent_suffix(suf, suf_len, &exp)) {
		if (why)
			buf_set(why, "invalid quantity '%s': " SUFFIX_MSG, s);
		return -1;
	}
	if (!int_len && !frac_len)	/* Kubernetes would read 0 here */
		goto bad_format;

	buf_add(&q->digits, int_start, int_len);
	if (frac_len)
		buf_add(&q->digits, frac_start, frac_len);
	q->exp10 = exp - (int64_t)frac_len;
	for (i = 0; i < q->digits.len && q->digits.data[i] == '0'; i++)
		;
	buf_consume(&q->digits, i);
	while (q->digits.len && q->digits.data[q->digits.len - 1] == '0') {
		buf_setlen(&q->digits, q->digits.len - 1);
		q->exp10++;
	}
	return 0;

bad_format:
	if (why)
		buf_set(why, "invalid quantity '%s': " FORMAT_MSG, s ? s : "");
	return -1;
}

/* Doubles the decimal number in d (most significant digit first). */
static void digits_double(struct buf *d)
{
	int carry = 0;

	for (size_t i = d->len; i-- > 0;) {
		int v = (d->data[i] - '0') * 2 + carry;

		d->data[i] = (char)('0' + v % 10);
		carry = v / 10;
	}
	if (carry) {
		buf_addch(d, 0);
		memmove(d->data + 1, d->data, d->len - 1);
		d->data[0] = '1';
	}
}

/* The value of q x 10^shift rounded away from zero, into *out. False when
 * its magnitude is over INT64_MAX. */
static bool quantity_scaled(struct quantity *q, int shift, int64_t *out)
{
	struct buf *d = &q->digits;
	int64_t e = q->exp10 + shift, int_len;
	uint64_t v = 0;
	bool round_up = false;

	if (!d->len) {
		*out = 0;
		return true;
	}
	for (int i = 0; i < q->exp2; i++)
		digits_double(d);
	q->exp2 = 0;
	int_len = (int64_t)d->len + e;	/* digits before the decimal point */
	if (int_len > 19)
		return false;
	for (int64_t i = 0; i < int_len; i++) {
		unsigned c = i < (int64_t)d->len ? (unsigned)(d->data[i] - '0') : 0;

		if (v > (UINT64_MAX - c) / 10)
			return false;
		v = v * 10 + c;
	}
	for (int64_t i = int_len < 0 ? 0 : int_len; i < (int64_t)d->len; i++)
		if (d->data[i] != '0')
			round_up = true;
	v += round_up;
	if (v > INT64_MAX)
		return false;
	*out = q->negative ? -(int64_t)v : (int64_t)v;
	return true;
}

static int quantity_to(const char *s, int shift, int64_t *out, struct buf *why)
{
	struct quantity q = { false, BUF_INIT, 0, 0 };
	int rc = -1;

	if (quantity_parse(s, &q, why) < 0)
		goto out;
	if (!quantity_scaled(&q, shift, out)) {
		if (why)
			buf_set(why, "quantity '%s' is too large", s);
		goto out;
	}
	rc = 0;
out:
	buf_release(&q.digits);
	return rc;
}

int quantity_milli(const char *s, int64_t *out, struct buf *why)
{
	return quantity_to(s, 3, out, why);
}

int quantity_value(const char *s, int64_t *out, struct buf *why)
{
	return quantity_to(s, 0, out, why);
}

/* The DecimalSI form of mag x 10^exp10 (exp10 a multiple of 3): trailing
 * zeros moved into the largest suffix that keeps the number whole. */
static void format_decimal(bool negative, uint64_t mag, int exp10, struct buf *out)
{
	static const char *const names[] = { "n", "u", "m", "", "k", "M", "G", "T", "P", "E" };

	if (!mag) {
		buf_addch(out, '0');
		return;
	}
	while (mag % 1000 == 0 && exp10 < 18) {
		mag /= 1000;
		exp10 += 3;
	}
	buf_printf(out, "%s%llu%s", negative ? "-" : "", (unsigned long long)mag,
		   names[(exp10 + 9) / 3]);
}

static uint64_t magnitude(int64_t v)
{
	return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

void quantity_format_milli(int64_t milli, struct buf *out)
{
	format_decimal(milli < 0, magnitude(milli), -3, out);
}

void quantity_format_bytes(int64_t bytes, struct buf *out)
{
	static const char *const names[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	uint64_t mag = magnitude(bytes);
	int exp = 0;

	if (mag < 1024) {
		format_decimal(bytes < 0, mag, 0, out);
		return;
	}
	while (mag % 1024 == 0 && exp < 6) {
		mag /= 1024;
		exp++;
	}
	buf_printf(out, "%s%llu%s", bytes < 0 ? "-" : "", (unsigned long long)mag, names[exp]);
}
