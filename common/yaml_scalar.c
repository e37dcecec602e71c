/* yaml_scalar.c - see yaml_scalar.h. */
#include "yaml_scalar.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* 2^53: integers up to this magnitude are exact in a double. */
#define EXACT_LIMIT "9007199254740992"

static bool is_one_of(const char *s, size_t len, const char *const *words)
{
	for (; *words; words++)
		if (strlen(*words) == len && !memcmp(*words, s, len))
			return true;
	return false;
}

static const char *const null_words[] = { "~", "null", "Null", "NULL", NULL };
static const char *const bool_words[] = {
	"true", "True", "TRUE", "false", "False", "FALSE", NULL
};
static const char *const nonfinite_words[] = {
	".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf",
	"-.INF", ".nan", ".NaN", ".NAN", NULL
};
/* YAML 1.1 booleans, and its "=" value and "<<" merge keys, that a 1.2
 * reader takes as plain strings. */
static const char *const yaml11_bool_words[] = {
	"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
	"on", "On", "ON", "off", "Off", "OFF", "=", "<<", NULL
};

static bool is_digit_in(int c, int base)
{
	switch (base) {
	case 2:
		return c == '0' || c == '1';
	case 8:
		return c >= '0' && c <= '7';
	case 10:
		return c >= '0' && c <= '9';
	default:
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		       (c >= 'A' && c <= 'F');
	}
}

/* Added to a base: underscores count as digits (YAML 1.1 numbers). */
#define WITH_US 0x100

/* Counts the run of digits of base at s[i..len). */
static size_t digit_run(const char *s, size_t i, size_t len, int base)
{
	size_t n = 0;

	while (i + n < len && (is_digit_in((unsigned char)s[i + n], base & 0xff) ||
			       ((base & WITH_US) && s[i + n] == '_')))
		n++;
	return n;
}

/* The core-schema integer grammar; on a match *base and *digits (offset of
 * the first digit after the sign and prefix) describe it. */
static bool int_literal(const char *s, size_t len, int *base, size_t *digits)
{
	size_t i = 0;
	int b = 10;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	if (len - i > 2 && s[i] == '0' && (s[i + 1] == 'o' || s[i + 1] == 'x')) {
		b = s[i + 1] == 'o' ? 8 : 16;
		i += 2;
	} else if (len - i > 1 && s[i] == '0' &&
		   digit_run(s, i, len, 8) == len - i) {
		b = 8;	/* 0755: octal, as kubectl reads it */
	}
	if (i >= len || digit_run(s, i, len, b) != len - i)
		return false;
	if (base)
		*base = b;
	if (digits)
		*digits = i;
	return true;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, with base 10 or
 * 10 | WITH_US for the mantissa's digits. */
static bool float_literal(const char *s, size_t len, int base)
{
	size_t i = 0, n;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	n = digit_run(s, i, len, base);
	i += n;
	if (i < len && s[i] == '.') {
		size_t frac = digit_run(s, i + 1, len, base);

		if (!n && !frac)
			return false;
		i += 1 + frac;
	} else if (!n) {
		return false;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		n = digit_run(s, i, len, 10);
		if (!n)
			return false;
		i += n;
	}
	return i == len;
}

enum yaml_plain yaml_plain_classify(const char *s, size_t len)
{
	if (!len || is_one_of(s, len, null_words))
		return YAML_PLAIN_NULL;
	if (is_one_of(s, len, bool_words))
		return YAML_PLAIN_BOOL;
	if (int_literal(s, len, NULL, NULL))
		return YAML_PLAIN_INT;
	if (float_literal(s, len, 10))
		return YAML_PLAIN_FLOAT;
	if (is_one_of(s, len, nonfinite_words))
		return YAML_PLAIN_NONFINITE;
	return YAML_PLAIN_STRING;
}

/* Appends the decimal form of the digits s[0..n) in base to out. */
static void to_decimal(const char *s, size_t n, int base, struct buf *out)
{
	const uint32_t limb = 1000000000;
	uint32_t *limbs = malloc((n / 4 + 2) * sizeof(*limbs));
	size_t nl = 0, i, j;

	if (!limbs)
		die("out of memory");
	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		uint64_t carry = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

		for (j = 0; j < nl; j++) {
			uint64_t x = (uint64_t)limbs[j] * base + carry;

			limbs[j] = x % limb;
			carry = x / limb;
		}
		for (; carry; carry /= limb)
			limbs[nl++] = carry % limb;
	}
	if (!nl)
		buf_addch(out, '0');
	else
		buf_printf(out, "%u", (unsigned)limbs[nl - 1]);
	for (j = nl - 1; nl && j-- > 0;)
		buf_printf(out, "%09u", (unsigned)limbs[j]);
	free(limbs);
}

static cJSON *int_value(const char *s, size_t len)
{
	struct buf dec = BUF_INIT;
	bool neg = s[0] == '-';
	size_t digits = 0;
	int base = 10;
	cJSON *v;

	int_literal(s, len, &base, &digits);
	if (neg)
		buf_addch(&dec, '-');
	to_decimal(s + digits, len - digits, base, &dec);
	if (dec.len - neg < strlen(EXACT_LIMIT) ||
	    (dec.len - neg == strlen(EXACT_LIMIT) &&
	     strcmp(dec.data + neg, EXACT_LIMIT) <= 0))
		v = cJSON_CreateNumber(strtod(dec.data, NULL));
	else
		v = cJSON_CreateRaw(dec.data);
	buf_release(&dec);
	return v;
}

static cJSON *float_value(const char *s, struct buf *err)
{
	double d;

	errno = 0;
	d = strtod(s, NULL);
	if (errno == ERANGE && isinf(d)) {
		const char *json = s[0] == '+' ? s + 1 : s;

		if (yaml_is_json_number(json))
			return cJSON_CreateRaw(json);
		buf_set(err, "number '%s' is out of range", s);
		return NULL;
	}
	return cJSON_CreateNumber(d);
}

cJSON *yaml_plain_value(const char *s, size_t len, enum yaml_plain cls,
			struct buf *err)
{
	cJSON *v = NULL;

	switch (cls) {
	case YAML_PLAIN_NULL:
		v = cJSON_CreateNull();
		break;
	case YAML_PLAIN_BOOL:
		v = cJSON_CreateBool(s[0] == 't' || s[0] == 'T');
		break;
	case YAML_PLAIN_INT:
		v = int_value(s, len);
		break;
	case YAML_PLAIN_FLOAT:
		v = float_value(s, err);
		if (!v)
			return NULL;
		break;
	case YAML_PLAIN_NONFINITE:
		buf_set(err, "'%s' is not a finite number, which JSON cannot hold", s);
		return NULL;
	case YAML_PLAIN_STRING:
		v = cJSON_CreateString(s);
		break;
	}
	if (!v)
		die("out of memory");
	return v;
}

/* An integer to a YAML 1.1 reader: [-+]? then 0x, 0o or 0b and digits, or
 * decimal digits (a leading 0: octal to some, decimal to others), with
 * underscores anywhere after the first digit or the prefix. */
static bool yaml11_int_literal(const char *s, size_t len)
{
	size_t i = 0;
	int base = 10;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	if (len - i > 2 && s[i] == '0') {
		switch (s[i + 1]) {
		case 'x': case 'X':
			base = 16;
			break;
		case 'o': case 'O':
			base = 8;
			break;
		case 'b': case 'B':
			base = 2;
			break;
		}
		if (base != 10)
			i += 2;
	}
	if (i >= len || (base == 10 && !is_digit_in((unsigned char)s[i], 10)))
		return false;
	return digit_run(s, i, len, base | WITH_US) == len - i;
}

/* [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)? (YAML 1.1 base 60) */
static bool base60_literal(const char *s, size_t len)
{
	size_t i = 0, groups = 0;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	if (i >= len || !is_digit_in((unsigned char)s[i], 10))
		return false;
	while (i < len && (is_digit_in((unsigned char)s[i], 10) || s[i] == '_'))
		i++;
	while (i < len && s[i] == ':') {
		size_t n = digit_run(s, i + 1, len, 10);

		if (n < 1 || n > 2 || (n == 2 && s[i + 1] > '5'))
			return false;
		i += 1 + n;
		groups++;
	}
	if (!groups)
		return false;
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && (is_digit_in((unsigned char)s[i], 10) || s[i] == '_'))
			i++;
	}
	return i == len;
}

/* YYYY-M-D alone or followed by [Tt ] and more: what a YAML 1.1 reader
 * (goyaml) may take as a timestamp. */
static bool timestamp_literal(const char *s, size_t len)
{
	size_t i = 5, n;

	if (len < 8 || digit_run(s, 0, len, 10) != 4 || s[4] != '-')
		return false;
	n = digit_run(s, i, len, 10);
	if (n < 1 || n > 2 || i + n >= len || s[i + n] != '-')
		return false;
	i += n + 1;
	n = digit_run(s, i, len, 10);
	if (n < 1 || n > 2)
		return false;
	i += n;
	return i == len || s[i] == 'T' || s[i] == 't' || s[i] == ' ';
}

bool yaml_plain_retypes(const char *s, size_t len)
{
	if (yaml_plain_classify(s, len) != YAML_PLAIN_STRING)
		return true;
	if (is_one_of(s, len, yaml11_bool_words) || base60_literal(s, len) ||
	    timestamp_literal(s, len))
		return true;
	/* 1.1 readers try numbers on a digit, sign or dot, with underscores */
	return strchr("0123456789+-.", s[0]) &&
	       (yaml11_int_literal(s, len) || float_literal(s, len, 10 | WITH_US));
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)? */
bool yaml_is_json_number(const char *s)
{
	size_t len = strlen(s), i = 0, n;

	if (i < len && s[i] == '-')
		i++;
	n = digit_run(s, i, len, 10);
	if (!n || (n > 1 && s[i] == '0'))
		return false;
	i += n;
	if (i < len && s[i] == '.') {
		n = digit_run(s, i + 1, len, 10);
		if (!n)
			return false;
		i += 1 + n;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		n = digit_run(s, i, len, 10);
		if (!n)
			return false;
		i += n;
	}
	return i == len;
}
