/* http.h - HTTP over libcurl for every wlkit client (Kubernetes, Google, S3).
 *
 * One struct http per process: it holds a curl share (connections, DNS and
 * TLS sessions reused across requests), so talking to one server many times
 * costs one TLS handshake. HTTP/2 is used when the server offers it (ALPN).
 *
 * Retries (http_do): a response 429 is retried after its Retry-After
 * (seconds or an HTTP date; capped at 60 s) whatever the method, because the
 * server did not act on it; a 500, 502, 503, 504 or a transport failure
 * (connection refused/reset, timeout before any response byte) is retried
 * only when the request is safe to repeat: GET, HEAD, PUT, DELETE, an apply
 * PATCH (.content_type "application/apply-patch+..."), or any request with
 * .idempotent set. Backoff: 200 ms doubling, capped at 5 s, with jitter (a
 * random wait in [d/2, d]), Retry-After wins when given. At most
 * .max_attempts (default 5) attempts. 400, 401, 403, 404, 409, 410 and 422
 * (and every other status) are never retried. A streaming request (.on_data)
 * is never retried once its first body byte was delivered. Failures that
 * will not go away by waiting (DNS, TLS verification, bad URL) are not
 * retried either.
 *
 * Streaming: with .on_data, the body of a 2xx response goes to on_data as it
 * arrives; the body of any other response is collected into resp->body (so
 * the caller can parse the Status object) and on_data is not called.
 *
 * Logging (log.h verbosity): -v=6 one line per attempt ("GET https://...
 * 200 OK in 12 milliseconds"); -v=7 the request line and headers, then the
 * response status and headers; -v=8 also the request and response bodies
 * (truncated at 10 KiB; binary bodies summarised; streamed bodies are not
 * logged); -v=9 also libcurl's own connection notes (never its raw header
 * dump). Masking, at every level:
 *  - a header whose name contains (ignoring case, '-' and '_')
 *    "authorization", "token", "secret", "password", "apikey" or "cookie"
 *    (so Authorization, Proxy-Authorization, X-Amz-Security-Token, Cookie,
 *    Set-Cookie, X-Goog-Api-Key) is printed as "Name: <masked>";
 *  - a body is printed as "<masked>" when the request is .sensitive, or when
 *    http_body_secret() says it may carry a secret: a "kind" of Secret...,
 *    TokenRequest or ExecCredential (JSON or YAML); a key that names a
 *    token, secret, password, private key, key data or assertion ("token",
 *    "access_token", "client_secret", "clientKeyData", "client-key-data")
 *    with a string value; a form field token=, secret=, password= or
 *    assertion=; a PEM private key. (A key like "serviceAccountToken" with
 *    an object value, or "path": "token", does not mask a Pod.);
 *  - the bearer token and basic password never appear in any log line.
 * "Warning" response headers (299 - "text") are printed once per distinct
 * text per process on stderr as "Warning: text", at every verbosity.
 *
 * Errors: "cannot connect to 'URL': Connection refused" while connecting
 * (TLS included: "cannot connect to 'URL': certificate verify failed: ..."),
 * "cannot GET 'URL': Empty reply from server" once connected.
 *
 * Cancelling: a request given a struct http_cancel (.cancel) ends at once
 * when the switch is fired from another thread or a signal handler, also
 * while it is connecting, streaming or waiting to retry; http_do then
 * returns -1 with "cancelled". Such requests run on a curl multi handle
 * that also polls the switch's pipe, so firing costs no polling.
 *
 * libcurl is loaded on first use (curl_lazy.c): a program that makes no
 * request never maps it.
 *
 * Ownership: the caller owns struct http_request and all it points to; the
 * response's buffers are owned by struct http_response and released by
 * http_response_release(). http_new/http_free pair; every http_new() of a
 * process returns the same pool (reference counted), so kube and gcp
 * clients in one program share connections.
 */
#ifndef WLKIT_HTTP_H
#define WLKIT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct http;

struct http_tls {
	const char *ca_data;	/* PEM bytes (CURLOPT_CAINFO_BLOB), or NULL */
	size_t ca_len;
	const char *ca_file;
	const char *cert_data, *key_data;	/* PEM bytes, or NULL */
	size_t cert_len, key_len;
	const char *cert_file, *key_file;
	const char *server_name;	/* SNI and verification name instead of
					 * the URL's host, or NULL */
	bool insecure;
};

/* Streaming body consumer: return 0 to go on, non-zero to stop the transfer
 * (http_do then returns 0 with resp->stopped set). */
typedef int (*http_data_fn)(void *ctx, const char *data, size_t len);

/* A cancel switch (a pipe and a flag). Init before the threads that use it
 * start, release after they ended. */
struct http_cancel {
	int fd[2];
	volatile int fired;
};
/* 0, or -1 when no pipe can be made (errno). */
int http_cancel_init(struct http_cancel *c);
/* Fires the switch: every transfer using it ends. Async-signal-safe;
 * idempotent. */
void http_cancel_fire(struct http_cancel *c);
bool http_cancelled(const struct http_cancel *c);
void http_cancel_release(struct http_cancel *c);

struct http_request {
	const char *method;	/* "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD" */
	const char *url;
	const char *const *headers;	/* "Name: value" lines, NULL-terminated, or NULL */
	const char *bearer;	/* Authorization: Bearer ...; never logged */
	const char *basic_user, *basic_password;	/* never logged */
	const char *content_type;
	const char *body;	/* kept by the caller until http_do returns */
	size_t body_len;
	const char *upload_file;	/* instead of .body: this file's bytes,
					 * streamed with a fixed buffer and read
					 * again from the start on each attempt */
	const struct http_tls *tls;	/* NULL: system trust */
	int64_t timeout_ms;	/* each attempt, whole; 0: none (watches) */
	int64_t connect_timeout_ms;	/* 0: 10 s */
	bool idempotent;	/* safe to repeat after a 5xx / transport failure */
	bool no_retry;		/* one attempt only */
	int max_attempts;	/* 0: 5 */
	bool sensitive;		/* never log request or response bodies */
	http_data_fn on_data;	/* stream the body here instead of resp->body */
	void *ctx;
	const char *proxy;	/* CURLOPT_PROXY URL; NULL: the *_proxy env */
	const char *aws_sigv4;	/* CURLOPT_AWS_SIGV4 "aws:amz:REGION:s3" with
				 * basic_user/basic_password as the key id and
				 * secret, or NULL */
	struct http_cancel *cancel;	/* NULL: not cancellable */
};

struct http_response {
	long status;		/* 0 when no response was received */
	struct buf body;	/* with .on_data: only a non-2xx response's */
	struct buf content_type;
	struct buf retry_after;	/* raw header value, "" when absent */
	struct buf location;
	bool stopped;		/* the on_data callback stopped the transfer */
	int attempts;
	struct buf headers;	/* the final response's header lines, "Name:
				 * value\n" each, as received (not masked) */
	bool may_have_acted;	/* an attempt before the last one may have
				 * been acted on: it was answered 5xx, or
				 * failed after its connection stood (a lost
				 * answer); never after 429 or a refused
				 * connection alone */
};

struct http *http_new(void);
void http_free(struct http *h);

/* Performs the request with the retry policy above. Returns 0 when a
 * response arrived (any status: check resp->status) or on_data stopped the
 * transfer, -1 on a transport failure after the last attempt or a request
 * that cannot be made (bad URL, unusable TLS settings), with the message in
 * *err, e.g. "cannot connect to 'https://127.0.0.1:1': Connection refused".
 * A stream cut after its first byte is -1 with resp->status still set.
 * resp must be initialised with HTTP_RESPONSE_INIT; it may be reused
 * without a release (each attempt empties it). */
int http_do(struct http *h, const struct http_request *req,
	    struct http_response *resp, struct buf *err);
#define HTTP_RESPONSE_INIT { 0, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, false, 0, BUF_INIT, false }
void http_response_release(struct http_response *resp);

/* The retry decision, exposed for unit tests: should attempt number
 * `attempt` (1-based) that ended with `status` (0 = transport failure) be
 * tried again? *delay_ms is how long to wait first. */
bool http_should_retry(const struct http_request *req, long status,
		       const char *retry_after, int attempt, int64_t *delay_ms);
/* Parses a Retry-After value (delta seconds or IMF-fixdate) into ms from
 * now; -1 when absent or malformed. */
int64_t http_retry_after_ms(const char *value);
/* "%XX" escapes for a query value or path segment, appended to out: every
 * byte but A-Z a-z 0-9 - . _ ~ is escaped. */
void http_escape(struct buf *out, const char *s);

/* The masking rules of the "Logging" paragraph, exposed for unit tests.
 * http_header_secret says whether a header name (len bytes) is secret;
 * http_mask_header appends a "Name: value" line to out, the value replaced
 * by "<masked>" when the name is secret. http_body_secret says whether a
 * body may carry a secret (then it is never logged). */
bool http_header_secret(const char *name, size_t len);
void http_mask_header(struct buf *out, const char *line);
bool http_body_secret(const char *body, size_t len);
/* "OK", "Not Found", ... for a status; "" when unknown. Static storage. */
const char *http_reason_phrase(long status);
/* Calls fn with the text of each 299 warning in a Warning header value
 * ('299 - "text"', comma-separated, backslash escapes undone); other warn
 * codes are skipped. */
void http_warning_texts(const char *value,
			void (*fn)(void *ctx, const char *text), void *ctx);

#endif
