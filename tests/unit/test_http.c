/* test_http.c - the pure rules of common/http: retry decisions, Retry-After,
 * backoff, masking, Warning headers, escaping. Real requests are in
 * test_http_io.c (plain HTTP) and test_http_tls.c. */
#include "unit.h"

#include <stdio.h>
#include <time.h>

#include "buf.h"
#include "http.h"

/* ---- the retry decision ---- */

static const char *const methods[] = { "GET", "HEAD", "PUT", "DELETE", "POST",
				       "PATCH", "PATCH-apply", NULL };
static const long statuses[] = { 0, 200, 201, 204, 301, 304, 400, 401, 403,
				 404, 405, 409, 410, 412, 422, 429, 500, 501,
				 502, 503, 504, 505 };

/* The header's words, restated: 429 always; 500/502/503/504 and transport
 * failures (0) only when safe; nothing else; at most 5 attempts. */
static bool oracle(const char *method, bool idempotent, long status, int attempt)
{
	bool safe = idempotent || !strcmp(method, "GET") || !strcmp(method, "HEAD") ||
		    !strcmp(method, "PUT") || !strcmp(method, "DELETE") ||
		    !strcmp(method, "PATCH-apply");

	if (attempt >= 5)
		return false;
	if (status == 429)
		return true;
	if (status == 0 || status == 500 || status == 502 || status == 503 ||
	    status == 504)
		return safe;
	return false;
}

static void fill_method(struct http_request *req, const char *m)
{
	req->method = strcmp(m, "PATCH-apply") ? m : "PATCH";
	req->content_type = !strcmp(m, "PATCH-apply") ? "application/apply-patch+yaml"
			    : !strcmp(m, "PATCH") ? "application/merge-patch+json"
			    : NULL;
}

TEST(retry_table)
{
	const char *const *m;
	size_t s;
	int idem, attempt, rows = 0;

	for (m = methods; *m; m++)
		for (s = 0; s < sizeof(statuses) / sizeof(statuses[0]); s++)
			for (idem = 0; idem < 2; idem++)
				for (attempt = 1; attempt <= 6; attempt++) {
					struct http_request req = { .url = "http://x/" };
					int64_t d = -1;
					bool got, want;

					fill_method(&req, *m);
					req.idempotent = idem;
					got = http_should_retry(&req, statuses[s], NULL,
								attempt, &d);
					want = oracle(*m, idem, statuses[s], attempt);
					rows++;
					if (got != want)
						unit_fail(__FILE__, __LINE__,
							  "%s idempotent=%d status %ld attempt %d: %d, expected %d",
							  *m, idem, statuses[s], attempt, got, want);
					if (!got && d != 0)
						unit_fail(__FILE__, __LINE__, "no retry but delay %lld",
							  (long long)d);
				}
	CHECK_INT(rows, 7 * 22 * 2 * 6);
}

TEST(retry_never)
{
	static const long never[] = { 400, 401, 403, 404, 409, 410, 422 };
	struct http_request req = { .method = "GET", .idempotent = true,
				    .max_attempts = 100 };
	int64_t d;
	size_t i;

	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		CHECK(!http_should_retry(&req, never[i], "1", 1, &d));
		CHECK(!http_should_retry(&req, never[i], NULL, 3, &d));
	}
}

TEST(retry_rows)
{
	struct http_request get = { .method = "GET" }, post = { .method = "POST" };
	struct http_request merge = { .method = "PATCH",
				      .content_type = "application/merge-patch+json" };
	struct http_request apply = { .method = "PATCH",
				      .content_type = "application/apply-patch+yaml" };
	struct http_request once = { .method = "GET", .no_retry = true };
	struct http_request two = { .method = "GET", .max_attempts = 2 };
	struct http_request idem = { .method = "POST", .idempotent = true };
	struct http_request nomethod = { .url = "http://x/" };
	int64_t d;

	CHECK(http_should_retry(&get, 503, NULL, 1, &d));
	CHECK(http_should_retry(&get, 0, NULL, 4, &d));
	CHECK(!http_should_retry(&get, 503, NULL, 5, &d));
	CHECK(!http_should_retry(&post, 503, NULL, 1, &d));
	CHECK(!http_should_retry(&post, 0, NULL, 1, &d));
	CHECK(http_should_retry(&post, 429, NULL, 1, &d));
	CHECK(!http_should_retry(&merge, 500, NULL, 1, &d));
	CHECK(http_should_retry(&apply, 500, NULL, 1, &d));
	CHECK(http_should_retry(&idem, 502, NULL, 1, &d));
	CHECK(!http_should_retry(&get, 501, NULL, 1, &d));
	CHECK(!http_should_retry(&once, 503, NULL, 1, &d));
	CHECK(!http_should_retry(&once, 429, "1", 1, &d));
	CHECK(http_should_retry(&two, 503, NULL, 1, &d));
	CHECK(!http_should_retry(&two, 503, NULL, 2, &d));
	CHECK(http_should_retry(&nomethod, 504, NULL, 1, &d));
}

TEST(retry_after_wins)
{
	struct http_request get = { .method = "GET" }, post = { .method = "POST" };
	char date[64];
	time_t t = time(NULL) + 30;
	struct tm tm;
	int64_t d;

	CHECK(http_should_retry(&get, 503, "3", 1, &d));
	CHECK_INT(d, 3000);
	CHECK(http_should_retry(&post, 429, "1", 1, &d));
	CHECK_INT(d, 1000);
	CHECK(http_should_retry(&post, 429, "120", 1, &d));
	CHECK_INT(d, 60000);	/* capped */
	CHECK(http_should_retry(&post, 429, "0", 4, &d));
	CHECK_INT(d, 0);
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	CHECK(http_should_retry(&post, 429, date, 1, &d));
	CHECK(d >= 28000 && d <= 30000);
	/* garbage Retry-After: the backoff instead */
	CHECK(http_should_retry(&get, 503, "soon", 1, &d));
	CHECK(d >= 100 && d <= 200);
}

TEST(retry_after_parse)
{
	char date[64];
	time_t t;
	struct tm tm;

	CHECK_INT(http_retry_after_ms("1"), 1000);
	CHECK_INT(http_retry_after_ms(" 7 "), 7000);
	CHECK_INT(http_retry_after_ms("0"), 0);
	CHECK_INT(http_retry_after_ms("120"), 120000);
	CHECK_INT(http_retry_after_ms("99999999999999999999999"), 86400000);
	CHECK_INT(http_retry_after_ms(NULL), -1);
	CHECK_INT(http_retry_after_ms(""), -1);
	CHECK_INT(http_retry_after_ms("   "), -1);
	CHECK_INT(http_retry_after_ms("abc"), -1);
	CHECK_INT(http_retry_after_ms("1.5"), -1);
	CHECK_INT(http_retry_after_ms("-3"), -1);
	CHECK_INT(http_retry_after_ms("3s"), -1);
	/* IMF-fixdate: in the past means now */
	CHECK_INT(http_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT"), 0);
	CHECK_INT(http_retry_after_ms("Sun, 06 Nov 1994 08:49:37 UTC"), -1);
	CHECK_INT(http_retry_after_ms("Sun, 31 Feb 1994 08:49:37 GMT"), -1);
	CHECK_INT(http_retry_after_ms("Sun, 06 Nov 1994 25:49:37 GMT"), -1);
	CHECK_INT(http_retry_after_ms("Sun, 06 Foo 1994 08:49:37 GMT"), -1);
	CHECK_INT(http_retry_after_ms("Sunday, 06-Nov-94 08:49:37 GMT"), -1);
	t = time(NULL) + 10;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	CHECK(http_retry_after_ms(date) >= 8000 && http_retry_after_ms(date) <= 10000);
}

TEST(backoff_bounds)
{
	struct http_request req = { .method = "GET", .max_attempts = 100 };
	int attempt, i;

	for (attempt = 1; attempt <= 10; attempt++) {
		int64_t d = 200LL << (attempt - 1), lo = INT64_MAX, hi = 0, got;

		if (d > 5000)
			d = 5000;
		for (i = 0; i < 300; i++) {
			CHECK(http_should_retry(&req, 503, NULL, attempt, &got));
			if (got < d / 2 || got > d)
				unit_fail(__FILE__, __LINE__, "attempt %d: %lld not in [%lld, %lld]",
					  attempt, (long long)got, (long long)d / 2,
					  (long long)d);
			lo = got < lo ? got : lo;
			hi = got > hi ? got : hi;
		}
		CHECK(hi > lo);	/* jittered */
		CHECK(hi - lo >= d / 4);	/* over the range, not a corner */
	}
}

/* ---- masking, warnings, escaping ---- */

static void check_mask(const char *line, const char *want)
{
	struct buf b = BUF_INIT;

	http_mask_header(&b, line);
	CHECK_STR(b.data, want);
	buf_release(&b);
}

TEST(mask_headers)
{
	check_mask("Authorization: Bearer abc", "Authorization: <masked>");
	check_mask("authorization: Basic Zm9vOmJhcg==", "authorization: <masked>");
	check_mask("Proxy-Authorization: Basic x", "Proxy-Authorization: <masked>");
	check_mask("X-Amz-Security-Token: FQoG", "X-Amz-Security-Token: <masked>");
	check_mask("Cookie: a=b", "Cookie: <masked>");
	check_mask("Set-Cookie: s=1; HttpOnly", "Set-Cookie: <masked>");
	check_mask("X-Goog-Api-Key: k", "X-Goog-Api-Key: <masked>");
	check_mask("Accept: application/json", "Accept: application/json");
	check_mask("Content-Type: application/json", "Content-Type: application/json");
	check_mask("X-Amz-Content-Sha256: UNSIGNED", "X-Amz-Content-Sha256: UNSIGNED");
	check_mask("no colon", "no colon");
	CHECK(http_header_secret("Authorization", 13));
	CHECK(!http_header_secret("Authorization", 4));	/* "Auth" */
}

static bool secret(const char *s)
{
	return http_body_secret(s, strlen(s));
}

TEST(mask_bodies)
{
	/* secrets */
	CHECK(secret("{\"kind\":\"Secret\",\"data\":{\"a\":\"Yg==\"}}"));
	CHECK(secret("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Secret\",\n  \"stringData\": {}\n}"));
	CHECK(secret("{\"kind\":\"SecretList\",\"items\":[{\"data\":{\"a\":\"Yg==\"}}]}"));
	CHECK(secret("{\"type\":\"ADDED\",\"object\":{\"kind\":\"Secret\"}}"));
	CHECK(secret("{\"kind\":\"TokenRequest\",\"status\":{}}"));
	CHECK(secret("{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\"}"));
	CHECK(secret("{\"status\":{\"token\":\"eyJhbGciOi\"}}"));
	CHECK(secret("{\"access_token\": \"ya29.a0\", \"expires_in\": 3599}"));
	CHECK(secret("{\"refresh_token\":\"1//0g\"}"));
	CHECK(secret("{\"client_secret\":\"x\"}"));
	CHECK(secret("{\"users\":[{\"user\":{\"client-key-data\":\"LS0t\"}}]}"));
	CHECK(secret("{\"clientKeyData\":\"LS0t\"}"));
	CHECK(secret("{\"private_key\":\"x\"}"));
	CHECK(secret("{\"password\":\"hunter2\"}"));
	CHECK(secret("grant_type=refresh_token&refresh_token=abc&client_id=x"));
	CHECK(secret("grant_type=urn%3Aietf&assertion=eyJ"));
	CHECK(secret("-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n"));
	CHECK(secret("apiVersion: v1\nkind: Secret\nstringData:\n  a: b\n"));
	CHECK(secret("kind: \"Secret\"\n"));
	CHECK(secret("users:\n- name: u\n  user:\n    token: abc\n"));
	CHECK(secret("    client-key-data: LS0t\n"));
	CHECK(secret("{\"a\":\"\\\"\",\"token\":\"x\"}"));	/* escapes skipped */
	/* not secrets */
	CHECK(!secret("{\"kind\":\"Pod\",\"spec\":{\"volumes\":[{\"projected\":{\"sources\":"
		      "[{\"serviceAccountToken\":{\"expirationSeconds\":3607,\"path\":\"token\"}}]}}],"
		      "\"automountServiceAccountToken\":false}}"));
	CHECK(!secret("{\"kind\":\"ServiceAccount\",\"secrets\":[{\"name\":\"x\"}]}"));
	CHECK(!secret("{\"kind\":\"Role\",\"rules\":[{\"resources\":[\"secrets\"],\"verbs\":[\"get\"]}]}"));
	CHECK(!secret("{\"kind\":\"ConfigMap\",\"data\":{\"k\":\"v\"}}"));
	CHECK(!secret("{\"kind\":\"Status\",\"message\":\"secrets \\\"x\\\" not found\"}"));
	CHECK(!secret("spec:\n  serviceAccountToken:\n    path: token\n  automountServiceAccountToken: false\n"));
	CHECK(!secret("kind: ConfigMap\n"));
	CHECK(!secret(""));
	CHECK(!http_body_secret(NULL, 0));
	/* len is honoured: the secret lies past it */
	CHECK(!http_body_secret("{\"kind\":\"Pod\"}{\"token\":\"x\"}", 14));
}

static void collect(void *ctx, const char *text)
{
	struct buf *b = ctx;

	buf_adds(b, text);
	buf_addch(b, '|');
}

static void check_warnings(const char *value, const char *want)
{
	struct buf b = BUF_INIT;

	http_warning_texts(value, collect, &b);
	CHECK_STR(buf_str(&b), want);
	buf_release(&b);
}

TEST(warning_parse)
{
	check_warnings("299 - \"deprecated\"", "deprecated|");
	check_warnings("299 - \"a, b\", 299 - \"c\"", "a, b|c|");
	check_warnings("299 - \"q \\\"x\\\"\"", "q \"x\"|");
	check_warnings("199 - \"misc\", 299 kube-apiserver \"real\" \"Sat, 01 Jan 2000 00:00:00 GMT\"",
		       "real|");
	check_warnings("299 - noquote, 299 - \"after\"", "after|");
	check_warnings("garbage", "");
	check_warnings("", "");
}

TEST(escape)
{
	struct buf b = BUF_INIT;

	http_escape(&b, "app=a b,c/d?e&f=g~h-i_j.k");
	CHECK_STR(b.data, "app%3Da%20b%2Cc%2Fd%3Fe%26f%3Dg~h-i_j.k");
	buf_reset(&b);
	http_escape(&b, "\xc3\xa9");
	CHECK_STR(b.data, "%C3%A9");
	buf_reset(&b);
	http_escape(&b, "");
	CHECK_STR(buf_str(&b), "");
	buf_release(&b);
}

TEST(reason_phrases)
{
	CHECK_STR(http_reason_phrase(200), "OK");
	CHECK_STR(http_reason_phrase(404), "Not Found");
	CHECK_STR(http_reason_phrase(429), "Too Many Requests");
	CHECK_STR(http_reason_phrase(799), "");
}

TEST(one_pool_per_process)
{
	struct http *a = http_new(), *b = http_new();

	CHECK(a == b);
	http_free(b);
	http_free(a);
}
