/* test_http_tls.c - common/http over TLS against tests/fakes/http/echo.py
 * with certificates from tests/fakes/http/mkcerts.sh: trust from data and
 * files, a wrong CA, insecure, the server name override, client
 * certificates, HTTP/2 offered over ALPN. */
#include "http_echo.h"


static char certs[512];

static bool make_certs(void)
{
	char cmd[1200];

	if (certs[0])
		return true;
	snprintf(certs, sizeof(certs), "%s/certs", unit_tmpdir());
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && sh '%s/tests/fakes/http/mkcerts.sh' '%s'",
		 certs, unit_srcdir(), certs);
	fflush(stdout);
	if (system(cmd) != 0) {
		unit_fail(__FILE__, __LINE__, "mkcerts.sh failed");
		certs[0] = '\0';
		return false;
	}
	return true;
}

static void cert_path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", certs, name);
}

static void read_cert(struct buf *b, const char *name)
{
	char p[600];

	cert_path(p, sizeof(p), name);
	buf_reset(b);
	if (buf_read_file(b, p) < 0)
		unit_fail(__FILE__, __LINE__, "cannot read '%s'", p);
}

static bool tls_server(struct server *s, const char *name, const char *client_ca,
		       bool alpn_probe)
{
	static char crt[600], key[600], ca[600];
	const char *extra[8];
	char c[64];
	int i = 0;

	snprintf(c, sizeof(c), "%s.crt", name);
	cert_path(crt, sizeof(crt), c);
	snprintf(c, sizeof(c), "%s.key", name);
	cert_path(key, sizeof(key), c);
	extra[i++] = "--tls";
	extra[i++] = crt;
	extra[i++] = key;
	if (client_ca) {
		cert_path(ca, sizeof(ca), client_ca);
		extra[i++] = "--client-ca";
		extra[i++] = ca;
	}
	if (alpn_probe)
		extra[i++] = "--alpn-probe";
	extra[i] = NULL;
	if (!server_start(s, "[{\"body\":\"secure\"}]", extra))
		return false;
	snprintf(s->url, sizeof(s->url), "https://127.0.0.1:%d", s->port);
	return true;
}

TEST(tls_trust)
{
	struct server s;
	struct buf ca = BUF_INIT, other = BUF_INIT, err = BUF_INIT, want = BUF_INIT;
	struct http_tls tls = { 0 };
	struct http_request req = { .method = "GET", .tls = &tls };
	struct http_response resp = HTTP_RESPONSE_INIT;
	char ca_file[600];

	if (!make_certs() || !tls_server(&s, "server", NULL, false))
		return;
	read_cert(&ca, "ca.crt");
	read_cert(&other, "other-ca.crt");
	/* CA from data */
	tls.ca_data = ca.data;
	tls.ca_len = ca.len;
	CHECK_INT(req_on(&s, &req, "/", &resp, &err), 0);
	CHECK_STR(buf_str(&resp.body), "secure");
	/* CA from a file */
	tls.ca_data = NULL;
	cert_path(ca_file, sizeof(ca_file), "ca.crt");
	tls.ca_file = ca_file;
	CHECK_INT(req_on(&s, &req, "/", &resp, &err), 0);
	/* the wrong CA: refused, not retried */
	tls.ca_file = NULL;
	tls.ca_data = other.data;
	tls.ca_len = other.len;
	CHECK_INT(req_on(&s, &req, "/", &resp, &err), -1);
	CHECK_INT(resp.attempts, 1);
	buf_printf(&want, "cannot connect to '%s/': certificate verify failed: ", s.url);
	CHECK_CONTAINS(buf_str(&err), want.data);
	/* the system store does not know our CA either */
	req.tls = NULL;
	CHECK_INT(req_on(&s, &req, "/", &resp, &err), -1);
	CHECK_CONTAINS(buf_str(&err), want.data);
	/* insecure */
	req.tls = &tls;
	tls.insecure = true;
	CHECK_INT(req_on(&s, &req, "/", &resp, &err), 0);
	CHECK_INT(resp.status, 200);
	http_response_release(&resp);
	buf_release(&want);
	buf_release(&err);
	buf_release(&ca);
	buf_release(&other);
	server_stop(&s);
}

TEST(tls_server_name)
{
	struct server s;
	struct buf ca = BUF_INIT, err = BUF_INIT;
	struct http_tls tls = { 0 };
	struct http_request req = { .method = "GET", .tls = &tls };
	struct http_response resp = HTTP_RESPONSE_INIT;
	cJSON *log;
	char host[64];

	if (!make_certs() || !tls_server(&s, "named", NULL, false))
		return;
	read_cert(&ca, "ca.crt");
	tls.ca_data = ca.data;
	tls.ca_len = ca.len;
	CHECK_INT(req_on(&s, &req, "/n", &resp, &err), -1);
	CHECK_CONTAINS(buf_str(&err), "certificate verify failed: ");
	CHECK_CONTAINS(buf_str(&err), "'127.0.0.1'");
	tls.server_name = "kube.test";
	CHECK_INT(req_on(&s, &req, "/n", &resp, &err), 0);
	CHECK_INT(resp.status, 200);
	log = server_log(&s);
	snprintf(host, sizeof(host), "127.0.0.1:%d", s.port);
	CHECK_INT(cJSON_GetArraySize(log), 1);
	CHECK_STR(header(log, 0, "host"), host);
	cJSON_Delete(log);
	http_response_release(&resp);
	buf_release(&err);
	buf_release(&ca);
	server_stop(&s);
}

TEST(tls_client_certificate)
{
	struct server s;
	struct buf ca = BUF_INIT, crt = BUF_INIT, key = BUF_INIT, err = BUF_INIT;
	struct http_tls tls = { 0 };
	struct http_request req = { .method = "GET", .tls = &tls };
	struct http_response resp = HTTP_RESPONSE_INIT;
	char crt_file[600], key_file[600];
	cJSON *log;

	if (!make_certs() || !tls_server(&s, "server", "ca.crt", false))
		return;
	read_cert(&ca, "ca.crt");
	read_cert(&crt, "client.crt");
	read_cert(&key, "client.key");
	tls.ca_data = ca.data;
	tls.ca_len = ca.len;
	tls.cert_data = crt.data;
	tls.cert_len = crt.len;
	tls.key_data = key.data;
	tls.key_len = key.len;
	CHECK_INT(req_on(&s, &req, "/c", &resp, &err), 0);
	CHECK_INT(resp.status, 200);
	tls.cert_data = tls.key_data = NULL;
	cert_path(crt_file, sizeof(crt_file), "client.crt");
	cert_path(key_file, sizeof(key_file), "client.key");
	tls.cert_file = crt_file;
	tls.key_file = key_file;
	CHECK_INT(req_on(&s, &req, "/c", &resp, &err), 0);
	CHECK_INT(resp.status, 200);
	log = server_log(&s);
	CHECK_INT(cJSON_GetArraySize(log), 2);
	CHECK_STR(field(log, 0, "peer_cn"), "wlkit-client");
	CHECK_STR(field(log, 1, "peer_cn"), "wlkit-client");
	cJSON_Delete(log);
	/* without a certificate the server refuses us */
	tls.cert_file = tls.key_file = NULL;
	req.no_retry = true;
	CHECK_INT(req_on(&s, &req, "/c", &resp, &err), -1);
	CHECK_CONTAINS(buf_str(&err), "'https://127.0.0.1:");
	http_response_release(&resp);
	buf_release(&err);
	buf_release(&ca);
	buf_release(&crt);
	buf_release(&key);
	server_stop(&s);
}

TEST(tls_offers_http2)
{
	struct server s;
	struct http_tls tls = { .insecure = true };
	struct http_request req = { .method = "GET", .tls = &tls, .no_retry = true };
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf err = BUF_INIT;
	cJSON *log;

	if (!make_certs() || !tls_server(&s, "server", NULL, true))
		return;
	req_on(&s, &req, "/", &resp, &err);	/* the probe hangs up */
	log = server_log(&s);
	CHECK_STR(field(log, 0, "alpn"), "h2");
	cJSON_Delete(log);
	http_response_release(&resp);
	buf_release(&err);
	server_stop(&s);
}
