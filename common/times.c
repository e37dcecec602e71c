/* times.c - durations and RFC 3339 times, part of obj.h.
 *
 * duration_parse_ms() follows Go's time.ParseDuration step by step (kubectl
 * is Go), and takes a bare integer of seconds as kubectl's --request-timeout
 * does. rfc3339_parse() follows Go's time.Parse(time.RFC3339, ...).
 */
#include "obj.h"

#include <stdint.h>
#include <string.h>

#define NS_MAX ((uint64_t)1 << 63)	/* Go's bound while adding up */

static const struct {
	const char *name;
	uint64_t ns;
} units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "\xc2\xb5s", 1000 },	/* U+00B5 micro sign */
	{ "\xce\xbcs", 1000 },	/* U+03BC Greek small letter mu */
	{ "ms", 1000000 },
	{ "s", 1000000000 },
	{ "m", 60ULL * 1000000000 },
	{ "h", 3600ULL * 1000000000 },
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Go's leadingInt: digits at *p into *v; false on overflow. */
static bool leading_int(const char **p, uint64_t *v)
{
	uint64_t x = 0;

	for (; is_digit(**p); (*p)++) {
		if (x > NS_MAX / 10)
			return false;
		x = x * 10 + (uint64_t)(**p - '0');
		if (x > NS_MAX)
			return false;
	}
	*v = x;
	return true;
}

/* Go's leadingFraction: digits at *p as f / scale, ignoring what would
 * overflow. */
static void leading_fraction(const char **p, uint64_t *f, double *scale)
{
	bool overflow = false;
	uint64_t x = 0, y;

	*scale = 1;
	for (; is_digit(**p); (*p)++) {
		if (overflow)
			continue;
		if (x > (NS_MAX - 1) / 10) {
			overflow = true;
			continue;
		}
		y = x * 10 + (uint64_t)(**p - '0');
		if (y > NS_MAX) {
			overflow = true;
			continue;
		}
		x = y;
		*scale *= 10;
	}
	*f = x;
}

/* Go's time.ParseDuration into nanoseconds (*neg for a leading '-'). */
static int go_duration(const char *orig, uint64_t *ns, bool *neg, struct buf *why)
{
	const char *s = orig, *start, *unit;
	uint64_t d = 0, v, f, mult;
	double scale;
	bool pre, post;
	size_t i, n;

	*neg = false;
	if (*s == '-' || *s == '+')
		*neg = *s++ == '-';
	if (!strcmp(s, "0")) {
		*ns = 0;
		return 0;
	}
	if (!*s)
		goto invalid;
	while (*s) {
		if (*s != '.' && !is_digit(*s))
			goto invalid;
		start = s;
		if (!leading_int(&s, &v))
			goto invalid;
		pre = s != start;
		f = 0;
		scale = 1;
		post = false;
		if (*s == '.') {
			start = ++s;
			leading_fraction(&s, &f, &scale);
			post = s != start;
		}
		if (!pre && !post)
			goto invalid;
		for (unit = s; *s && *s != '.' && !is_digit(*s); s++)
			;
		n = (size_t)(s - unit);
		if (!n) {
			if (why)
				buf_set(why, "missing unit in duration '%s'", orig);
			return -1;
		}
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].name) == n && !memcmp(units[i].name, unit, n))
				break;
		if (i == sizeof(units) / sizeof(units[0])) {
			if (why)
				buf_set(why, "unknown unit '%.*s' in duration '%s' "
					"(units are ns, us, ms, s, m, h)", (int)n, unit, orig);
			return -1;
		}
		mult = units[i].ns;
		if (v > NS_MAX / mult)
			goto invalid;
		v *= mult;
		if (f > 0) {
			v += (uint64_t)((double)f * ((double)mult / scale));
			if (v > NS_MAX)
				goto invalid;
		}
		d += v;
		if (d > NS_MAX)
			goto invalid;
	}
	if (!*neg && d > NS_MAX - 1)
		goto invalid;
	*ns = d;
	return 0;
invalid:
	if (why)
		buf_set(why, "invalid duration '%s'", orig);
	return -1;
}

int duration_parse_ms(const char *s, int64_t *ms, struct buf *why)
{
	const char *p = s ? s : "";
	uint64_t ns, secs;
	bool neg;

	if (*p == '+')
		p++;
	if (is_digit(*p) && p[strspn(p, "0123456789")] == '\0') {
		/* A bare integer: seconds, within Go's Duration range. */
		if (!leading_int(&p, &secs) || secs > (NS_MAX - 1) / 1000000000) {
			if (why)
				buf_set(why, "invalid duration '%s'", s);
			return -1;
		}
		*ms = (int64_t)secs * 1000;
		return 0;
	}
	if (go_duration(s ? s : "", &ns, &neg, why) < 0)
		return -1;
	if (neg && ns) {
		if (why)
			buf_set(why, "negative duration '%s'", s);
		return -1;
	}
	*ms = (int64_t)(ns / 1000000 + (ns % 1000000 != 0));
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), and back. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void rfc3339(int64_t t, struct buf *out)
{
	int64_t days = t / 86400, secs = t % 86400, y;
	unsigned m, d;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	buf_printf(out, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d,
		   (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

/* The n-digit decimal at s, when it lies in [lo, hi]; else -1. */
static int fixed_uint(const char *s, int n, int lo, int hi)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= lo && v <= hi ? v : -1;
}

static int days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

int rfc3339_parse(const char *s, int64_t *t)
{
	int y, mo, d, h, mi, sec, oh, om;
	int64_t v;

	if (!s || strlen(s) < 20)
		return -1;
	if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
		return -1;
	if ((y = fixed_uint(s, 4, 0, 9999)) < 0 || (mo = fixed_uint(s + 5, 2, 1, 12)) < 0 ||
	    (d = fixed_uint(s + 8, 2, 1, days_in_month(y, mo))) < 0 ||
	    (h = fixed_uint(s + 11, 2, 0, 23)) < 0 || (mi = fixed_uint(s + 14, 2, 0, 59)) < 0 ||
	    (sec = fixed_uint(s + 17, 2, 0, 59)) < 0)
		return -1;
	s += 19;
	if ((*s == '.' || *s == ',') && is_digit(s[1]))
		for (s++; is_digit(*s); s++)
			;
	v = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
	if (!strcmp(s, "Z")) {
		*t = v;
		return 0;
	}
	if (strlen(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' ||
	    (oh = fixed_uint(s + 1, 2, 0, 23)) < 0 || (om = fixed_uint(s + 4, 2, 0, 59)) < 0)
		return -1;
	*t = v - (s[0] == '-' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
	return 0;
}
