/* test_http_io.c - common/http against a real server on loopback
 * (tests/fakes/http/echo.py, one for the whole program): retries as the
 * server answers, streaming, Warning headers, what -v prints and masks,
 * methods and bodies, connection reuse. */
#include <pthread.h>

#include "http_echo.h"

TEST(server_503_then_200)
{
	struct server *s;
	struct http_request req = { .method = "GET" };
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf err = BUF_INIT;

	if (!(s = plain("[{\"status\":503},{\"status\":200,\"body\":\"ok\","
			  "\"headers\":[[\"Content-Type\",\"text/plain\"],[\"Location\",\"/y\"]]}]")))
		return;
	CHECK_INT(req_on(s, &req, "/x", &resp, &err), 0);
	CHECK_INT(resp.status, 200);
	CHECK_INT(resp.attempts, 2);
	CHECK(resp.may_have_acted);	/* a 503 may come after the work */
	CHECK_STR(buf_str(&resp.body), "ok");
	CHECK_STR(buf_str(&resp.content_type), "text/plain");
	CHECK_STR(buf_str(&resp.location), "/y");
	CHECK_STR(buf_str(&resp.retry_after), "");
	CHECK_INT(server_requests(s), 2);
	http_response_release(&resp);
	buf_release(&err);
}

TEST(server_503_post_not_retried)
{
	struct server *s;
	struct http_request req = { .method = "POST", .body = "{}", .body_len = 2,
				    .content_type = "application/json" };
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf err = BUF_INIT;

	if (!(s = plain("[{\"status\":503,\"body\":\"busy\"}]")))
		return;
	CHECK_INT(req_on(s, &req, "/x", &resp, &err), 0);
	CHECK_INT(resp.status, 503);
	CHECK_INT(resp.attempts, 1);
	CHECK_STR(buf_str(&resp.body), "busy");
	CHECK_INT(server_requests(s), 1);
	/* the same POST marked idempotent is retried until the attempts run out */
	req.idempotent = true;
	req.max_attempts = 3;
	CHECK_INT(req_on(s, &req, "/x", &resp, &err), 0);
	CHECK_INT(resp.status, 503);
	CHECK_INT(resp.attempts, 3);
	CHECK_INT(server_requests(s), 4);
	http_response_release(&resp);
	buf_release(&err);
}

TEST(server_429_waits_retry_after)
{
	struct server *s;
	struct http_request req = { .method = "POST", .body = "{}", .body_len = 2 };
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf err = BUF_INIT;
	int64_t t0;

	if (!(s = plain("[{\"status\":429,\"headers\":[[\"Retry-After\",\"1\"]]},"
			  "{\"status\":201,\"echo\":true}]")))
		return;
	t0 = mono_ms();
	CHECK_INT(req_on(s, &req, "/x", &resp, &err), 0);
	CHECK(mono_ms() - t0 >= 990);
	CHECK(mono_ms() - t0 < 3000);
	CHECK_INT(resp.status, 201);
	CHECK_INT(resp.attempts, 2);
	CHECK(!resp.may_have_acted);	/* a 429 was not acted on */
	CHECK_STR(buf_str(&resp.body), "{}");	/* the body was sent again */
	CHECK_INT(server_requests(s), 2);
	http_response_release(&resp);
	buf_release(&err);
}

TEST(server_4xx_not_retried)
{
	static const char *const scripts[] = {
		"[{\"status\":409,\"body\":\"{\\\"kind\\\":\\\"Status\\\"}\"}]",
		"[{\"status\":422}]", "[{\"status\":400}]", "[{\"status\":403}]",
		"[{\"status\":404}]", "[{\"status\":410}]", "[{\"status\":401}]",
	};
	size_t i;

	for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		struct server *s;
		struct http_request req = { .method = "PUT", .body = "{}", .body_len = 2,
					    .idempotent = true };
		struct http_response resp = HTTP_RESPONSE_INIT;
		struct buf err = BUF_INIT;

		if (!(s = plain(scripts[i])))
			return;
		CHECK_INT(req_on(s, &req, "/x", &resp, &err), 0);
		CHECK(resp.status >= 400 && resp.status < 500);
		CHECK_INT(resp.attempts, 1);
		CHECK_INT(server_requests(s), 1);
		if (i == 0)
			CHECK_STR(buf_str(&resp.body), "{\"kind\":\"Status\"}");
		http_response_release(&resp);
		buf_release(&err);
		}
}

TEST(server_dropped_connection)
{
	struct server *s;
	struct http_request get = { .method = "GET" };
	struct http_request post = { .method = "POST", .body = "x", .body_len = 1 };
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf err = BUF_INIT, want = BUF_INIT;

	if (!(s = plain("[{\"drop\":true},{\"body\":\"second\"},{\"drop\":true}]")))
		return;
	CHECK_INT(req_on(s, &get, "/x", &resp, &err), 0);
	CHECK_INT(resp.status, 200);
	CHECK_INT(resp.attempts, 2);
	CHECK(resp.may_have_acted);	/* the lost answer may have been a 201 */
	CHECK_STR(buf_str(&resp.body), "second");
	CHECK_INT(req_on(s, &post, "/y", &resp, &err), -1);
	CHECK_INT(resp.status, 0);
	CHECK_INT(resp.attempts, 1);
	CHECK_INT(server_requests(s), 3);
	buf_printf(&want, "cannot POST '%s/y': Empty reply from server", s->url);
	CHECK_STR(buf_str(&err), want.data);
	http_response_release(&resp);
	buf_release(&want);
	buf_release(&err);
}

TEST(connection_refused)
{
	struct http *h = http_new();
	struct http_request req = { .method = "GET", .url = "http://127.0.0.1:1/",
				    .max_attempts = 2 };
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf err = BUF_INIT;

	CHECK_INT(http_do(h, &req, &resp, &err), -1);
	CHECK_STR(buf_str(&err), "cannot connect to 'http://127.0.0.1:1/': Connection refused");
	CHECK_INT(resp.attempts, 2);
	CHECK(!resp.may_have_acted);	/* nothing ever reached a server */
	CHECK_INT(resp.status, 0);
	req.method = "POST";
	CHECK_INT(http_do(h, &req, &resp, &err), -1);
	CHECK_INT(resp.attempts, 1);
	/* failures that waiting does not mend are not retried */
	req.method = "GET";
	req.url = "ftp://127.0.0.1/x";
	CHECK_INT(http_do(h, &req, &resp, &err), -1);
	CHECK_INT(resp.attempts, 1);
	CHECK_STR(buf_str(&err), "cannot connect to 'ftp://127.0.0.1/x': Protocol \"ftp\" "
		  "not supported or disabled in libcurl");
	http_response_release(&resp);
	buf_release(&err);
	http_free(h);
}

TEST(server_timeout)
{
	struct server *s;
	struct http_request req = { .method = "GET", .timeout_ms = 300,
				    .no_retry = true };
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf err = BUF_INIT, want = BUF_INIT;
	int64_t t0 = mono_ms();

	if (!(s = plain("[{\"delay_ms\":3000}]")))
		return;
	CHECK_INT(req_on(s, &req, "/slow", &resp, &err), -1);
	CHECK(mono_ms() - t0 < 2500);
	buf_printf(&want, "cannot GET '%s/slow': Operation timed out", s->url);
	CHECK_CONTAINS(buf_str(&err), want.data);
	http_response_release(&resp);
	buf_release(&want);
	buf_release(&err);
}

/* .upload_file streams a file as the body, and a retried attempt sends it
 * whole again; a file that cannot be read is an error before any request. */
TEST(server_upload_file_streamed_and_resent)
{
	struct server *s;
	struct http_request req = { .method = "PUT", .idempotent = true };
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf err = BUF_INIT, big = BUF_INIT;
	const char *path;
	cJSON *log;

	for (int i = 0; i < 20000; i++)
		buf_printf(&big, "line %d\n", i);
	path = unit_write("upload.txt", big.data);
	if (!(s = plain("[{\"status\":503},{\"echo\":true}]")))
		return;
	req.upload_file = path;
	CHECK_INT(req_on(s, &req, "/up", &resp, &err), 0);
	CHECK_INT(resp.status, 200);
	CHECK_INT(resp.attempts, 2);
	CHECK_INT(resp.body.len, big.len);
	CHECK(resp.body.data && !memcmp(resp.body.data, big.data, big.len));
	log = server_log(s);
	CHECK_INT(cJSON_GetArraySize(log), 2);
	CHECK_STR(field(log, 0, "method"), "PUT");
	CHECK_INT(strlen(field(log, 1, "body") ? field(log, 1, "body") : ""), big.len);
	cJSON_Delete(log);
	req.upload_file = "/nonexistent/file";
	CHECK_INT(req_on(s, &req, "/up", &resp, &err), -1);
	CHECK_CONTAINS(buf_str(&err), "cannot read '/nonexistent/file'");
	http_response_release(&resp);
	buf_release(&err);
	buf_release(&big);
}

struct firer {
	struct http_cancel *c;
	int after_ms;
};

static void *fire_later(void *arg)
{
	struct firer *f = arg;
	struct timespec ts = { 0, f->after_ms * 1000000L };

	nanosleep(&ts, NULL);
	http_cancel_fire(f->c);
	return NULL;
}

/* A cancel switch ends a request that waits for its answer, and a stream
 * between chunks, at once; a fired switch starts nothing. */
TEST(server_cancel_ends_waiting_and_streaming)
{
	static const char *const scripts[] = {
		"[{\"delay_ms\":5000}]",
		"[{\"chunks\":[\"one\",\"two\"],\"delay_ms\":4000}]",
	};
	struct http_cancel c;

	for (int i = 0; i < 2; i++) {
		struct server *s;
		struct http_request req = { .method = "GET", .cancel = &c };
		struct http_response resp = HTTP_RESPONSE_INIT;
		struct buf err = BUF_INIT;
		struct firer f = { &c, 300 };
		pthread_t t;
		int64_t t0;

		CHECK_INT(http_cancel_init(&c), 0);
		if (!(s = plain(scripts[i])))
			return;
		CHECK_INT(pthread_create(&t, NULL, fire_later, &f), 0);
		t0 = mono_ms();
		CHECK_INT(req_on(s, &req, "/slow", &resp, &err), -1);
		CHECK(mono_ms() - t0 < 1500);
		CHECK_STR(buf_str(&err), "cancelled");
		CHECK(http_cancelled(&c));
		pthread_join(t, NULL);
		buf_reset(&err);
		t0 = mono_ms();
		CHECK_INT(req_on(s, &req, "/again", &resp, &err), -1);
		CHECK(mono_ms() - t0 < 100);
		CHECK_STR(buf_str(&err), "cancelled");
		http_cancel_release(&c);
		http_response_release(&resp);
		buf_release(&err);
	}
}

struct sink {
	struct buf got;
	int calls;
	int stop_after;	/* calls; 0: never */
};

static int sink_data(void *ctx, const char *data, size_t len)
{
	struct sink *k = ctx;

	buf_add(&k->got, data, len);
	return ++k->calls == k->stop_after;
}

TEST(server_stream_stop)
{
	struct server *s;
	struct sink k = { BUF_INIT, 0, 1 };
	struct http_request req = { .method = "GET", .on_data = sink_data, .ctx = &k };
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf err = BUF_INIT;
	int64_t t0 = mono_ms();

	if (!(s = plain("[{\"chunks\":[\"one\",\"two\",\"three\",\"4\",\"5\",\"6\",\"7\",\"8\"],"
			  "\"delay_ms\":400}]")))
		return;
	CHECK_INT(req_on(s, &req, "/watch", &resp, &err), 0);
	CHECK(resp.stopped);
	CHECK_INT(resp.status, 200);
	CHECK_INT(k.calls, 1);
	CHECK_STR(buf_str(&k.got), "one");
	CHECK_INT(resp.body.len, 0);
	CHECK(mono_ms() - t0 < 2000);
	CHECK_STR(buf_str(&err), "");
	http_response_release(&resp);
	buf_release(&k.got);
	buf_release(&err);
}

TEST(server_stream_whole_and_errors)
{
	struct server *s;
	struct sink k = { BUF_INIT, 0, 0 };
	struct http_request req = { .method = "GET", .on_data = sink_data, .ctx = &k };
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf err = BUF_INIT;

	if (!(s = plain("[{\"status\":503},{\"chunks\":[\"a\",\"bc\",\"def\"]},"
			  "{\"status\":404,\"body\":\"{\\\"reason\\\":\\\"NotFound\\\"}\"}]")))
		return;
	/* 503 before any byte: retried; then every chunk in order */
	CHECK_INT(req_on(s, &req, "/a", &resp, &err), 0);
	CHECK_INT(resp.status, 200);
	CHECK_INT(resp.attempts, 2);
	CHECK(!resp.stopped);
	CHECK_STR(buf_str(&k.got), "abcdef");
	/* a non-2xx body is collected for the caller, not streamed */
	buf_reset(&k.got);
	k.calls = 0;
	CHECK_INT(req_on(s, &req, "/b", &resp, &err), 0);
	CHECK_INT(resp.status, 404);
	CHECK_INT(k.calls, 0);
	CHECK_STR(buf_str(&resp.body), "{\"reason\":\"NotFound\"}");
	http_response_release(&resp);
	buf_release(&k.got);
	buf_release(&err);
}

TEST(server_warning_once)
{
	struct server *s;
	struct http_request req = { .method = "GET" };
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf err = BUF_INIT, out = BUF_INIT;
	struct capture c;

	if (!(s = plain("[{\"headers\":[[\"Warning\",\"299 - \\\"batch/v1beta1 is gone, use v1\\\"\"],"
			  "[\"Warning\",\"199 - \\\"misc\\\", 299 - \\\"second text\\\"\"]]}]")))
		return;
	capture_start(&c);
	req_on(s, &req, "/1", &resp, &err);
	req_on(s, &req, "/2", &resp, &err);
	capture_end(&c, &out);
	CHECK_INT(count(buf_str(&out), "Warning: batch/v1beta1 is gone, use v1\n"), 1);
	CHECK_INT(count(buf_str(&out), "Warning: second text\n"), 1);
	CHECK_INT(count(buf_str(&out), "misc"), 0);
	CHECK_INT(count(buf_str(&out), "Warning: "), 2);
	http_response_release(&resp);
	buf_release(&out);
	buf_release(&err);
}

TEST(server_verbose_never_shows_secrets)
{
	static const char *const headers[] = { "X-Amz-Security-Token: amzSECRET123",
					       "Accept: application/json", NULL };
	static const char body[] = "{\"kind\":\"Secret\",\"data\":{\"k\":\"c2VjcmV0VkFMVUU=\"}}";
	struct server *s;
	struct http_request req = { .method = "POST", .bearer = "bearerSECRET456",
				    .headers = headers, .body = body,
				    .body_len = sizeof(body) - 1,
				    .content_type = "application/json" };
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf err = BUF_INIT, out = BUF_INIT;
	struct capture c;
	cJSON *log;

	if (!(s = plain("[{\"status\":201,\"body\":\"{\\\"kind\\\":\\\"TokenRequest\\\","
			  "\\\"status\\\":{\\\"token\\\":\\\"tokenSECRET789\\\"}}\","
			  "\"headers\":[[\"Set-Cookie\",\"session=cookieSECRET\"]]}]")))
		return;
	log_set_verbosity(9);
	capture_start(&c);
	CHECK_INT(req_on(s, &req, "/api/v1/namespaces/d/serviceaccounts/x/token", &resp, &err), 0);
	req.bearer = NULL;
	req.basic_user = "admin";
	req.basic_password = "basicSECRET000";
	req.body = "{}";
	req.body_len = 2;
	CHECK_INT(req_on(s, &req, "/basic", &resp, &err), 0);
	capture_end(&c, &out);
	log_set_verbosity(0);
	CHECK_INT(resp.status, 201);
	CHECK_CONTAINS(buf_str(&resp.body), "tokenSECRET789");	/* the caller gets it */
	CHECK(!strstr(buf_str(&out), "SECRET"));
	CHECK(!strstr(buf_str(&out), "c2VjcmV0"));
	CHECK(!strstr(buf_str(&out), "YWRtaW46"));	/* base64 of "admin:" */
	CHECK_CONTAINS(buf_str(&out), "POST http://127.0.0.1:");
	CHECK_CONTAINS(buf_str(&out), "Request Headers:");
	CHECK_CONTAINS(buf_str(&out), "    Authorization: <masked>");
	CHECK_CONTAINS(buf_str(&out), "    X-Amz-Security-Token: <masked>");
	CHECK_CONTAINS(buf_str(&out), "    Accept: application/json");
	CHECK_CONTAINS(buf_str(&out), "Request Body: <masked>");
	CHECK_CONTAINS(buf_str(&out), "Response Status: 201 Created in ");
	CHECK_CONTAINS(buf_str(&out), "    Set-Cookie: <masked>");
	CHECK_CONTAINS(buf_str(&out), "Response Body: <masked>");
	CHECK_CONTAINS(buf_str(&out), "curl: ");	/* -v=9: libcurl's notes */
	/* the server did get the credentials */
	log = server_log(s);
	CHECK_STR(header(log, 0, "authorization"), "Bearer bearerSECRET456");
	CHECK_STR(header(log, 0, "x-amz-security-token"), "amzSECRET123");
	CHECK_STR(header(log, 1, "authorization"), "Basic YWRtaW46YmFzaWNTRUNSRVQwMDA=");
	cJSON_Delete(log);
	http_response_release(&resp);
	buf_release(&out);
	buf_release(&err);
}

TEST(server_verbose_levels)
{
	struct server *s;
	struct http_request req = { .method = "PUT", .body = "{\"kind\":\"ConfigMap\"}",
				    .body_len = 20, .content_type = "application/json" };
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf err = BUF_INIT, out6 = BUF_INIT, out8 = BUF_INIT, want = BUF_INIT;
	struct capture c;

	if (!(s = plain("[{\"echo\":true}]")))
		return;
	log_set_verbosity(6);
	capture_start(&c);
	req_on(s, &req, "/cm", &resp, &err);
	capture_end(&c, &out6);
	log_set_verbosity(8);
	capture_start(&c);
	req_on(s, &req, "/cm", &resp, &err);
	capture_end(&c, &out8);
	log_set_verbosity(0);
	buf_printf(&want, "] PUT %s/cm 200 OK in ", s->url);
	CHECK_CONTAINS(buf_str(&out6), want.data);
	CHECK_CONTAINS(buf_str(&out6), " milliseconds\n");
	CHECK(!strstr(buf_str(&out6), "Request Headers:"));
	CHECK(!strstr(buf_str(&out6), "Body"));
	CHECK_CONTAINS(buf_str(&out8), "Request Body: {\"kind\":\"ConfigMap\"}\n");
	CHECK_CONTAINS(buf_str(&out8), "Response Body: {\"kind\":\"ConfigMap\"}\n");
	CHECK_CONTAINS(buf_str(&out8), "Response Status: 200 OK in ");
	CHECK(!strstr(buf_str(&out8), "curl: "));
	http_response_release(&resp);
	buf_release(&want);
	buf_release(&out6);
	buf_release(&out8);
	buf_release(&err);
}

TEST(server_methods_and_bodies)
{
	static const char *const headers[] = { "Accept: application/json", NULL };
	struct server *s;
	struct http_request req = { .headers = headers };
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf err = BUF_INIT;
	cJSON *log;

	if (!(s = plain("[{\"echo\":true}]")))
		return;
	req.method = "HEAD";
	CHECK_INT(req_on(s, &req, "/h", &resp, &err), 0);
	req.method = "DELETE";
	req.body = "{\"propagationPolicy\":\"Background\"}";
	req.body_len = strlen(req.body);
	req.content_type = "application/json";
	CHECK_INT(req_on(s, &req, "/d", &resp, &err), 0);
	CHECK_STR(buf_str(&resp.body), req.body);
	req.method = "PATCH";
	req.content_type = "application/apply-patch+yaml";
	CHECK_INT(req_on(s, &req, "/p?fieldManager=t", &resp, &err), 0);
	req.method = "POST";
	req.content_type = NULL;
	req.body = NULL;
	req.body_len = 0;
	CHECK_INT(req_on(s, &req, "/empty", &resp, &err), 0);
	req.body = "a=b";
	req.body_len = 3;
	CHECK_INT(req_on(s, &req, "/noct", &resp, &err), 0);
	log = server_log(s);
	CHECK_INT(cJSON_GetArraySize(log), 5);
	CHECK_STR(field(log, 0, "method"), "HEAD");
	CHECK_STR(field(log, 1, "method"), "DELETE");
	CHECK_STR(field(log, 1, "body"), "{\"propagationPolicy\":\"Background\"}");
	CHECK_STR(header(log, 1, "content-type"), "application/json");
	CHECK_STR(header(log, 1, "accept"), "application/json");
	CHECK_STR(field(log, 2, "method"), "PATCH");
	CHECK_STR(field(log, 2, "path"), "/p?fieldManager=t");
	CHECK_STR(header(log, 2, "content-type"), "application/apply-patch+yaml");
	CHECK_STR(field(log, 3, "method"), "POST");
	CHECK_STR(header(log, 3, "content-length"), "0");
	CHECK_STR(field(log, 4, "body"), "a=b");
	CHECK(!header(log, 4, "content-type"));	/* not a form unless asked */
	CHECK(!header(log, 4, "expect"));
	CHECK_CONTAINS(header(log, 4, "user-agent"), "wlkit/");
	cJSON_Delete(log);
	http_response_release(&resp);
	buf_release(&err);
}

TEST(server_connection_reused)
{
	struct server *s;
	struct http_request req = { .method = "GET" };
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf err = BUF_INIT;
	struct http *keep = http_new();	/* keeps the pool between requests */
	cJSON *log;

	if (!(s = plain("[{\"body\":\"x\"}]")))
		return;
	req_on(s, &req, "/1", &resp, &err);
	req_on(s, &req, "/2", &resp, &err);
	req_on(s, &req, "/3", &resp, &err);
	log = server_log(s);
	CHECK_INT(cJSON_GetArraySize(log), 3);
	CHECK_INT(cJSON_GetObjectItem(cJSON_GetArrayItem(log, 0), "port")->valueint,
		  cJSON_GetObjectItem(cJSON_GetArrayItem(log, 2), "port")->valueint);
	cJSON_Delete(log);
	http_free(keep);
	http_response_release(&resp);
	buf_release(&err);
}
