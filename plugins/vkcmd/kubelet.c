/* kubelet.c - the kubelet HTTPS API: TLS (OpenSSL), the listening socket
 * and its thread, one thread per connection (at most MAX_CONN at once),
 * HTTP/1.1 request parsing and responses. The handlers are in
 * kubelet_logs.c.
 *
 * Authentication: a client certificate from a given CA when
 * kubelet_server_require_client_ca() was called (as a kubelet with
 * --client-ca-file; the API server sends its --kubelet-client-certificate),
 * else none: the local control plane's log proxy sends no credentials
 * (tests/fakes/kube/logs.py), and then the API must be reachable only from
 * where the API server runs (listen on loopback).
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "kubelet_int.h"
#include "log.h"
#include "vkcmd_io.h"

#define MAX_CONN 64
#define REQ_MAX 8192
#define IO_TIMEOUT_S 30

struct kubelet_server {
	SSL_CTX *ctx;
	int lfd, stopfd, port;
	char *work_dir;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int nconn;
	int fds[MAX_CONN];	/* sockets of live connections, -1 free */
};

struct kconn {
	struct kubelet_server *s;
	int fd, slot;
	SSL *ssl;
};

static void ssl_error(struct buf *err, const char *what)
{
	unsigned long e = ERR_get_error();
	char s[256] = "unknown error";

	if (e)
		ERR_error_string_n(e, s, sizeof(s));
	buf_set(err, "%s: %s", what, s);
	ERR_clear_error();
}

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int rc;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!ext)
		return -1;
	rc = X509_add_ext(x, ext, -1) ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

static bool dns_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!(*s == '-' || *s == '.' || (*s >= '0' && *s <= '9') ||
		      (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

/* A self-signed EC P-256 certificate for the node's name and addresses. */
static int self_signed(SSL_CTX *ctx, const char *node, const char *addr,
		       struct buf *err)
{
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	BIGNUM *bn = NULL;
	struct buf san = BUF_INIT;
	unsigned char serial[16];
	int rc = -1;

	if (!(pkey = EVP_EC_gen("P-256"))) {
		ssl_error(err, "cannot make a key for the kubelet certificate");
		goto out;
	}
	if (!(x = X509_new()) || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto fail;
	X509_set_version(x, 2);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
	X509_set_pubkey(x, pkey);
	X509_NAME *nm = X509_get_subject_name(x);
	const char *cn = dns_name(node) && strlen(node) <= 64 ? node : "kubelet";
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, nm);
	if (dns_name(node))
		buf_printf(&san, "DNS:%s,", node);
	buf_adds(&san, "IP:127.0.0.1");
	struct in6_addr a6;
	if (addr && *addr && strcmp(addr, "127.0.0.1") && strcmp(addr, "0.0.0.0") &&
	    strcmp(addr, "::") && (inet_pton(AF_INET, addr, &a6) == 1 ||
				   inet_pton(AF_INET6, addr, &a6) == 1))
		buf_printf(&san, ",IP:%s", addr);
	if (add_ext(x, NID_subject_alt_name, buf_str(&san)) < 0 ||
	    add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(x, NID_ext_key_usage, "serverAuth") < 0 ||
	    !X509_sign(x, pkey, EVP_sha256()))
		goto fail;
	if (SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, pkey) != 1)
		goto fail;
	rc = 0;
	goto out;
fail:
	ssl_error(err, "cannot make the kubelet certificate");
out:
	buf_release(&san);
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rc;
}

static int listen_on(const char *addr, int port, int *fd_out, int *port_out,
		     struct buf *err)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ps[16];
	int fd = -1, one = 1, rc = -1, gai;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(ps, sizeof(ps), "%d", port);
	gai = getaddrinfo(addr && *addr ? addr : NULL, ps, &hints, &ai);
	if (gai) {
		buf_set(err, "cannot resolve listen address '%s': %s",
			addr ? addr : "", gai_strerror(gai));
		goto out;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		buf_set(err, "cannot listen on '%s:%d': %s", addr ? addr : "",
			port, strerror(errno));
		goto out;
	}
	*port_out = ntohs(ss.ss_family == AF_INET6 ?
			  ((struct sockaddr_in6 *)&ss)->sin6_port :
			  ((struct sockaddr_in *)&ss)->sin_port);
	*fd_out = fd;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ai)
		freeaddrinfo(ai);
	return rc;
}

/* ---- responses ---- */

static int send_all(struct kconn *c, const char *data, size_t len)
{
	while (len) {
		int n = SSL_write(c->ssl, data, len > 1 << 30 ? 1 << 30 : (int)len);
		if (n <= 0)
			return -1;
		data += n;
		len -= n;
	}
	return 0;
}

static const char *reason_phrase(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 414: return "URI Too Long";
	default: return "Internal Server Error";
	}
}

int kconn_reply(struct kconn *c, int code, const char *body)
{
	struct buf b = BUF_INIT;
	int rc;

	buf_printf(&b, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		   "X-Content-Type-Options: nosniff\r\nContent-Length: %zu\r\n"
		   "Connection: close\r\n\r\n%s\n", code, reason_phrase(code),
		   strlen(body) + 1, body);
	rc = send_all(c, b.data, b.len);
	buf_release(&b);
	return rc;
}

int kconn_stream_start(struct kconn *c)
{
	static const char h[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
	return send_all(c, h, sizeof(h) - 1);
}

int kconn_chunk(struct kconn *c, const char *data, size_t len)
{
	char head[32];
	int n;

	if (!len)
		return 0;
	n = snprintf(head, sizeof(head), "%zx\r\n", len);
	if (send_all(c, head, n) < 0 || send_all(c, data, len) < 0)
		return -1;
	return send_all(c, "\r\n", 2);
}

int kconn_stream_end(struct kconn *c)
{
	return send_all(c, "0\r\n\r\n", 5);
}

int kconn_fd(const struct kconn *c)
{
	return c->fd;
}

int kconn_stop_fd(const struct kconn *c)
{
	return c->s->stopfd;
}

bool kconn_client_gone(struct kconn *c)
{
	char scratch[512];
	int n = SSL_read(c->ssl, scratch, sizeof(scratch));

	return n <= 0;
}

/* ---- requests ---- */

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..len) ('+' is a space when plus); NULL when malformed
 * or when it decodes to a NUL. */
static char *unescape(const char *s, size_t len, bool plus)
{
	struct buf b = BUF_INIT;

	buf_add(&b, "", 0);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				buf_release(&b);
				return NULL;
			}
			buf_addch(&b, hi * 16 + lo);
			i += 2;
		} else {
			buf_addch(&b, plus && s[i] == '+' ? ' ' : s[i]);
		}
	}
	return buf_detach(&b, NULL);
}

static void kquery_release(struct kquery *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->keys[i]);
		free(q->vals[i]);
	}
	free(q->keys);
	free(q->vals);
	memset(q, 0, sizeof(*q));
}

static int kquery_parse(struct kquery *q, const char *s)
{
	while (*s) {
		const char *amp = strchrnul(s, '&'), *eq = memchr(s, '=', amp - s);
		const char *kend = eq ? eq : amp;
		char *k = unescape(s, kend - s, true);
		char *v = eq ? unescape(eq + 1, amp - eq - 1, true) : strdup("");

		if (!k || !v) {
			free(k);
			free(v);
			return -1;
		}
		q->keys = realloc(q->keys, (q->n + 1) * sizeof(*q->keys));
		q->vals = realloc(q->vals, (q->n + 1) * sizeof(*q->vals));
		if (!q->keys || !q->vals)
			die("out of memory");
		q->keys[q->n] = k;
		q->vals[q->n++] = v;
		s = *amp ? amp + 1 : amp;
	}
	return 0;
}

const char *kquery_get(const struct kquery *q, const char *key)
{
	for (size_t i = q->n; i-- > 0;)
		if (!strcmp(q->keys[i], key))
			return q->vals[i];
	return NULL;
}

/* Reads the request head (up to the blank line). 0, or -1. */
static int read_head(struct kconn *c, struct buf *head)
{
	char tmp[2048];

	while (!strstr(buf_str(head), "\r\n\r\n")) {
		if (head->len >= REQ_MAX)
			return -1;
		int n = SSL_read(c->ssl, tmp, sizeof(tmp));
		if (n <= 0)
			return -1;
		buf_add(head, tmp, n);
	}
	return 0;
}

static void route(struct kconn *c, char *target)
{
	struct kquery q = { 0 };
	char *seg[4] = { 0 }, *qs = strchr(target, '?'), *p;
	size_t nseg = 0;

	if (qs)
		*qs++ = '\0';
	if (qs && kquery_parse(&q, qs) < 0) {
		kconn_reply(c, 400, "malformed query");
		goto out;
	}
	if (!strcmp(target, "/healthz")) {
		kconn_reply(c, 200, "ok");
		goto out;
	}
	if (strncmp(target, "/containerLogs/", 15)) {
		kconn_reply(c, 404, "404 page not found");
		goto out;
	}
	p = target + 15;
	while (nseg < 4) {
		char *slash = strchrnul(p, '/');
		if (slash == p || !(seg[nseg] = unescape(p, slash - p, false)))
			break;
		nseg++;
		if (!*slash)
			break;
		p = slash + 1;
	}
	if (nseg != 3 || strchr(seg[0], '/') || strchr(seg[1], '/') ||
	    strchr(seg[2], '/') || *strchrnul(p, '/')) {
		kconn_reply(c, 404, "404 page not found");
		goto out;
	}
	kubelet_container_logs(c, c->s->work_dir, seg[0], seg[1], seg[2], &q);
out:
	for (size_t i = 0; i < 4; i++)
		free(seg[i]);
	kquery_release(&q);
}

static void serve(struct kconn *c)
{
	struct buf head = BUF_INIT;
	char *sp1, *sp2;

	if (SSL_accept(c->ssl) != 1 || read_head(c, &head) < 0)
		goto out;
	sp1 = strchr(head.data, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7)) {
		kconn_reply(c, 400, "malformed request");
		goto out;
	}
	*sp1 = *sp2 = '\0';
	if (strcmp(head.data, "GET")) {
		kconn_reply(c, 405, "method not allowed");
		goto out;
	}
	route(c, sp1 + 1);
	SSL_shutdown(c->ssl);
out:
	buf_release(&head);
}

static void *conn_main(void *arg)
{
	struct kconn *c = arg;
	struct kubelet_server *s = c->s;

	serve(c);
	SSL_free(c->ssl);
	ERR_clear_error();
	pthread_mutex_lock(&s->mu);
	s->fds[c->slot] = -1;
	close(c->fd);
	s->nconn--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	free(c);
	return NULL;
}

static void accept_one(struct kubelet_server *s)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	struct kconn *c = NULL;
	pthread_t t;
	int fd, slot = -1;

	fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < MAX_CONN && slot < 0; i++)
		if (s->fds[i] < 0)
			slot = i;
	if (slot >= 0) {
		s->fds[slot] = fd;
		s->nconn++;
	}
	pthread_mutex_unlock(&s->mu);
	if (slot < 0) {
		logv(2, "kubelet API: too many connections, refusing one");
		close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (!(c = calloc(1, sizeof(*c))))
		die("out of memory");
	c->s = s;
	c->fd = fd;
	c->slot = slot;
	pthread_mutex_lock(&s->mu);
	c->ssl = SSL_new(s->ctx);
	pthread_mutex_unlock(&s->mu);
	if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1)
		goto fail;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 256 * 1024);
	int e = pthread_create(&t, &at, conn_main, c);
	pthread_attr_destroy(&at);
	if (e == 0)
		return;
fail:
	warn("kubelet API: cannot serve a connection");
	if (c->ssl)
		SSL_free(c->ssl);
	free(c);
	pthread_mutex_lock(&s->mu);
	s->fds[slot] = -1;
	s->nconn--;
	close(fd);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void *server_main(void *arg)
{
	struct kubelet_server *s = arg;

	for (;;) {
		struct pollfd p[2] = { { s->lfd, POLLIN, 0 }, { s->stopfd, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			warn("kubelet API: poll failed: %s", strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents)
			accept_one(s);
	}
	return NULL;
}

int kubelet_server_start(const char *addr, int port, const char *cert_file,
			 const char *key_file, const char *node_name,
			 const char *work_dir, struct kubelet_server **out,
			 struct buf *err)
{
	struct kubelet_server *s;
	sigset_t all, old;
	int e;

	*out = NULL;
	if (!(s = calloc(1, sizeof(*s))))
		die("out of memory");
	s->lfd = s->stopfd = -1;
	for (int i = 0; i < MAX_CONN; i++)
		s->fds[i] = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (!(s->work_dir = strdup(work_dir)))
		die("out of memory");
	if (!(s->ctx = SSL_CTX_new(TLS_server_method()))) {
		ssl_error(err, "cannot set up TLS");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(s->ctx, SSL_MODE_AUTO_RETRY);
	if (cert_file) {
		if (SSL_CTX_use_certificate_chain_file(s->ctx, cert_file) != 1) {
			ssl_error(err, "cannot load certificate");
			buf_printf(err, " ('%s')", cert_file);
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(s->ctx, key_file ? key_file : cert_file,
						SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(s->ctx) != 1) {
			ssl_error(err, "cannot load private key");
			buf_printf(err, " ('%s')", key_file ? key_file : cert_file);
			goto fail;
		}
	} else if (self_signed(s->ctx, node_name, addr, err) < 0) {
		goto fail;
	}
	if (listen_on(addr, port, &s->lfd, &s->port, err) < 0)
		goto fail;
	if ((s->stopfd = eventfd(0, EFD_CLOEXEC)) < 0) {
		buf_set(err, "cannot make an eventfd: %s", strerror(errno));
		goto fail;
	}
	/* our threads take no signals: they stay with the program's main
	 * thread, and a write to a closed socket fails with EPIPE */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&s->thread, NULL, server_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		buf_set(err, "cannot start the kubelet API thread: %s", strerror(e));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->stopfd >= 0)
		close(s->stopfd);
	SSL_CTX_free(s->ctx);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->work_dir);
	free(s);
	return -1;
}

int kubelet_server_require_client_ca(struct kubelet_server *s, const char *ca_file,
				     struct buf *err)
{
	STACK_OF(X509_NAME) *names;
	int rc = -1;

	pthread_mutex_lock(&s->mu);
	if (SSL_CTX_load_verify_locations(s->ctx, ca_file, NULL) != 1 ||
	    !(names = SSL_load_client_CA_file(ca_file))) {
		ssl_error(err, "cannot load client CA");
		buf_printf(err, " ('%s')", ca_file);
		goto out;
	}
	SSL_CTX_set_client_CA_list(s->ctx, names);
	SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			   NULL);
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int kubelet_server_port(const struct kubelet_server *s)
{
	return s->port;
}

void kubelet_server_stop(struct kubelet_server *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	if (write(s->stopfd, &one, sizeof(one)) < 0)
		warn("kubelet API: cannot signal stop: %s", strerror(errno));
	pthread_join(s->thread, NULL);
	close(s->lfd);
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < MAX_CONN; i++)
		if (s->fds[i] >= 0)
			shutdown(s->fds[i], SHUT_RDWR);
	while (s->nconn > 0)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	close(s->stopfd);
	SSL_CTX_free(s->ctx);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->work_dir);
	free(s);
}
