/* http_rules.c - see http.h. The pure rules of the HTTP client: when to
 * retry and how long to wait, Retry-After, what never to print, Warning
 * headers, escaping, reason phrases. No libcurl here. */
#include "http.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_ATTEMPTS 5
#define BACKOFF_FIRST_MS 200
#define BACKOFF_CAP_MS 5000
#define RETRY_AFTER_CAP_MS 60000
#define RETRY_AFTER_MAX_S 86400

/* The jitter's generator (splitmix64), seeded once per process. */
static uint64_t rng_state;
static bool rng_seeded;

static uint64_t rng_next(void)
{
	uint64_t z;

	if (!rng_seeded) {
		if (getrandom(&rng_state, sizeof(rng_state), 0) !=
		    (ssize_t)sizeof(rng_state))
			rng_state = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
		rng_seeded = true;
	}
	z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 200 ms doubling per attempt, capped at 5 s; a random wait in [d/2, d]. */
static int64_t backoff_ms(int attempt)
{
	int64_t d = BACKOFF_FIRST_MS;

	while (--attempt > 0 && d < BACKOFF_CAP_MS)
		d *= 2;
	if (d > BACKOFF_CAP_MS)
		d = BACKOFF_CAP_MS;
	return d / 2 + (int64_t)(rng_next() % (uint64_t)(d - d / 2 + 1));
}

static bool safe_to_repeat(const struct http_request *req)
{
	const char *m = req->method ? req->method : "GET";

	if (req->idempotent || !strcmp(m, "GET") || !strcmp(m, "HEAD") ||
	    !strcmp(m, "PUT") || !strcmp(m, "DELETE"))
		return true;
	return !strcmp(m, "PATCH") && req->content_type &&
	       !strncmp(req->content_type, "application/apply-patch", 23);
}

bool http_should_retry(const struct http_request *req, long status,
		       const char *retry_after, int attempt, int64_t *delay_ms)
{
	int max = req->no_retry ? 1 : req->max_attempts > 0 ? req->max_attempts
		  : DEFAULT_ATTEMPTS;
	int64_t ra;

	*delay_ms = 0;
	if (attempt >= max)
		return false;
	switch (status) {
	case 429:
		break;
	case 0:
	case 500:
	case 502:
	case 503:
	case 504:
		if (!safe_to_repeat(req))
			return false;
		break;
	default:
		return false;
	}
	ra = http_retry_after_ms(retry_after);
	if (ra >= 0)
		*delay_ms = ra < RETRY_AFTER_CAP_MS ? ra : RETRY_AFTER_CAP_MS;
	else
		*delay_ms = backoff_ms(attempt);
	return true;
}

static int digits(const char *s, int n)
{
	int v = 0;

	while (n--) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (*s++ - '0');
	}
	return v;
}

static int name_index(const char *s, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strncmp(s, names[i], 3))
			return i;
	return -1;
}

/* IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", to seconds since the
 * epoch; -1 when it is not one. */
static int64_t parse_imf_fixdate(const char *s, size_t len)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
					    "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
					      "Jun", "Jul", "Aug", "Sep", "Oct",
					      "Nov", "Dec" };
	struct tm tm = { 0 };
	time_t t;
	int wday;

	if (len != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
	    s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
	    s[25] != ' ' || strncmp(s + 26, "GMT", 3))
		return -1;
	wday = name_index(s, days, 7);
	tm.tm_mday = digits(s + 5, 2);
	tm.tm_mon = name_index(s + 8, months, 12);
	tm.tm_year = digits(s + 12, 4) - 1900;
	tm.tm_hour = digits(s + 17, 2);
	tm.tm_min = digits(s + 20, 2);
	tm.tm_sec = digits(s + 23, 2);
	if (wday < 0 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_mon < 0 ||
	    tm.tm_year < 0 || tm.tm_hour < 0 || tm.tm_hour > 23 ||
	    tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
		return -1;
	t = timegm(&tm);
	/* timegm normalises 31 Feb into March: such a date is malformed. */
	if (t == (time_t)-1 || tm.tm_mday != digits(s + 5, 2))
		return -1;
	return (int64_t)t;
}

int64_t http_retry_after_ms(const char *value)
{
	const char *s = value, *e;
	int64_t secs = 0, t;

	if (!s)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	if (e == s)
		return -1;
	if (isdigit((unsigned char)*s)) {
		for (; s < e; s++) {
			if (!isdigit((unsigned char)*s))
				return -1;
			if (secs < RETRY_AFTER_MAX_S)
				secs = secs * 10 + (*s - '0');
		}
		if (secs > RETRY_AFTER_MAX_S)
			secs = RETRY_AFTER_MAX_S;
		return secs * 1000;
	}
	if ((t = parse_imf_fixdate(s, e - s)) < 0)
		return -1;
	t -= (int64_t)time(NULL);
	if (t < 0)
		t = 0;
	return (t < RETRY_AFTER_MAX_S ? t : RETRY_AFTER_MAX_S) * 1000;
}

void http_escape(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = *s;

		if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			buf_addch(out, ch);
		} else {
			buf_addch(out, '%');
			buf_addch(out, hex[ch >> 4]);
			buf_addch(out, hex[ch & 15]);
		}
	}
}

/* Lower-cased, without '-' and '_', at most cap-1 bytes: "client-key-data"
 * and "clientKeyData" both read "clientkeydata". */
static void fold_name(char *out, size_t cap, const char *s, size_t len)
{
	size_t n = 0;

	for (; len && n + 1 < cap; s++, len--)
		if (*s != '-' && *s != '_')
			out[n++] = tolower((unsigned char)*s);
	out[n] = '\0';
}

static bool has_word(const char *folded, const char *const *words)
{
	for (; *words; words++)
		if (strstr(folded, *words))
			return true;
	return false;
}

bool http_header_secret(const char *name, size_t len)
{
	static const char *const words[] = { "authorization", "token", "secret",
					     "password", "apikey", "cookie", NULL };
	char folded[128];

	fold_name(folded, sizeof(folded), name, len);
	return has_word(folded, words);
}

void http_mask_header(struct buf *out, const char *line)
{
	const char *colon = strchr(line, ':');

	if (colon && http_header_secret(line, colon - line)) {
		buf_add(out, line, colon - line);
		buf_adds(out, ": <masked>");
	} else {
		buf_adds(out, line);
	}
}

/* A key whose string value is a secret (folded as by fold_name). */
static bool key_secret(const char *folded)
{
	static const char *const words[] = { "token", "secret", "password",
					     "passwd", "privatekey", "keydata",
					     "assertion", NULL };

	return has_word(folded, words);
}

static bool kind_secret(const char *v, size_t len)
{
	return (len >= 6 && !strncmp(v, "Secret", 6)) ||
	       (len == 12 && !strncmp(v, "TokenRequest", 12)) ||
	       (len == 14 && !strncmp(v, "ExecCredential", 14));
}

/* Case-insensitive search of needle in s[0..len). */
static bool contains_ci(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; i + n <= len; i++)
		if (!strncasecmp(s + i, needle, n))
			return true;
	return false;
}

/* Reads the JSON string that opens at p[-1] == '"'; *v and *vlen: its raw text.
 * Returns the position after the closing quote (or end). */
static const char *json_string(const char *p, const char *end,
			       const char **v, size_t *vlen)
{
	*v = p;
	while (p < end && *p != '"')
		p += *p == '\\' && p + 1 < end ? 2 : 1;
	*vlen = p - *v;
	return p < end ? p + 1 : end;
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* JSON: "key": "string" with a secret key or kind. */
static bool json_secret(const char *p, const char *end)
{
	const char *k, *v;
	size_t klen, vlen;
	char folded[64];

	while (p < end) {
		if (*p++ != '"')
			continue;
		p = skip_ws(json_string(p, end, &k, &klen), end);
		if (p >= end || *p != ':')
			continue;
		p = skip_ws(p + 1, end);
		if (p >= end || *p != '"')
			continue;
		p = json_string(p + 1, end, &v, &vlen);
		fold_name(folded, sizeof(folded), k, klen);
		if (!strcmp(folded, "kind") ? kind_secret(v, vlen) : key_secret(folded))
			return true;
	}
	return false;
}

/* A YAML scalar that is surely not a secret: empty (a nested block),
 * a flow collection, a boolean, null or a number. */
static bool yaml_plain_value(const char *v, size_t len)
{
	static const char *const words[] = { "true", "false", "null", "~", NULL };
	const char *const *w;
	size_t i;

	if (!len || *v == '{' || *v == '[' || *v == '#')
		return true;
	for (w = words; *w; w++)
		if (len == strlen(*w) && !strncmp(v, *w, len))
			return true;
	for (i = 0; i < len && (isdigit((unsigned char)v[i]) || v[i] == '.' ||
				v[i] == '-'); i++)
		;
	return i == len;
}

/* YAML: "key: value" lines (block mappings, sequence items). */
static bool yaml_secret(const char *p, const char *end)
{
	char folded[64];

	while (p < end) {
		const char *eol = memchr(p, '\n', end - p), *k, *v, *ve;

		eol = eol ? eol : end;
		while (p < eol && (*p == ' ' || *p == '-'))
			p++;
		for (k = p; p < eol && (isalnum((unsigned char)*p) ||
					*p == '_' || *p == '-' || *p == '.'); p++)
			;
		if (p > k && p < eol && *p == ':' &&
		    (p + 1 == eol || p[1] == ' ' || p[1] == '\r')) {
			fold_name(folded, sizeof(folded), k, p - k);
			for (v = p + 1; v < eol && *v == ' '; v++)
				;
			for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\r'); ve--)
				;
			if (ve - v >= 2 && (*v == '"' || *v == '\'') && ve[-1] == *v) {
				v++;
				ve--;
			}
			if (!strcmp(folded, "kind") ? kind_secret(v, ve - v)
			    : key_secret(folded) && !yaml_plain_value(v, ve - v))
				return true;
		}
		p = eol + 1;
	}
	return false;
}

bool http_body_secret(const char *body, size_t len)
{
	static const char *const form[] = { "token=", "secret=", "password=",
					    "assertion=", "PRIVATE KEY", NULL };
	const char *const *f;

	if (!body || !len)
		return false;
	for (f = form; *f; f++)
		if (contains_ci(body, len, *f))
			return true;
	return json_secret(body, body + len) || yaml_secret(body, body + len);
}

void http_warning_texts(const char *value,
			void (*fn)(void *ctx, const char *text), void *ctx)
{
	struct buf text = BUF_INIT;
	const char *p = value;

	while (p && *p) {
		int code;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		code = digits(p, 3);
		if (code < 0 || p[3] != ' ')
			goto next;
		for (p += 4; *p && *p != ' ' && *p != ','; p++)
			;	/* warn-agent */
		while (*p == ' ')
			p++;
		if (*p != '"')
			goto next;
		buf_reset(&text);
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			buf_addch(&text, *p);
		}
		if (*p)
			p++;
		if (code == 299)
			fn(ctx, buf_str(&text));
next:		/* past the rest of this warning: an optional quoted date */
		while (*p && *p != ',') {
			if (*p++ == '"')
				while (*p && *p++ != '"')
					;
		}
	}
	buf_release(&text);
}

const char *http_reason_phrase(long status)
{
	static const struct { long code; const char *text; } table[] = {
		{ 100, "Continue" }, { 101, "Switching Protocols" },
		{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
		{ 203, "Non-Authoritative Information" }, { 204, "No Content" },
		{ 206, "Partial Content" }, { 301, "Moved Permanently" },
		{ 302, "Found" }, { 303, "See Other" }, { 304, "Not Modified" },
		{ 307, "Temporary Redirect" }, { 308, "Permanent Redirect" },
		{ 400, "Bad Request" }, { 401, "Unauthorized" },
		{ 403, "Forbidden" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 406, "Not Acceptable" },
		{ 408, "Request Timeout" }, { 409, "Conflict" }, { 410, "Gone" },
		{ 411, "Length Required" }, { 412, "Precondition Failed" },
		{ 413, "Request Entity Too Large" },
		{ 415, "Unsupported Media Type" },
		{ 416, "Requested Range Not Satisfiable" },
		{ 422, "Unprocessable Entity" }, { 429, "Too Many Requests" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].code == status)
			return table[i].text;
	return "";
}
