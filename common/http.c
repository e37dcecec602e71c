/* http.c - see http.h. The pool, one request's transfer, the retry loop.
 * The pure rules (retry decision, Retry-After, masking, Warning parsing)
 * live in http_rules.c. */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>

#include "log.h"

#define FREE_HANDLES 4
#define CONNECT_TIMEOUT_MS 10000
#define LOG_BODY_MAX 10240
#define MAX_SECRETS 8

struct http {
	CURLSH *share;		/* connections, DNS, TLS sessions */
	CURL *idle[FREE_HANDLES];	/* easy handles to reuse, already reset */
	int nidle;
	int refs;
};

/* The process's pool while anyone holds it (http.h: one per process). */
static struct http *the_pool;
/* Warning texts already printed, NUL-separated: once per process. */
static struct buf warned;
/* Threads may share the pool: the free list and the warnings are guarded by
 * pool_lock, the share's data by one mutex per kind of data. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
static pthread_once_t share_locks_once = PTHREAD_ONCE_INIT;

static void share_locks_init(void)
{
	int i;

	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&share_locks[i], NULL);
}

static void share_lock(CURL *c, curl_lock_data data, curl_lock_access access,
		       void *ctx)
{
	(void)c;
	(void)access;
	(void)ctx;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *c, curl_lock_data data, void *ctx)
{
	(void)c;
	(void)ctx;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&share_locks[data]);
}

/* One attempt's state, shared with the libcurl callbacks. */
struct attempt {
	const struct http_request *req;
	struct http_response *resp;
	CURL *curl;
	long status;		/* of the response being received */
	struct buf reason;	/* its reason phrase, "" for HTTP/2 */
	struct buf headers;	/* its headers, masked, one per line, for -v=7 */
	bool got_headers;	/* some response arrived */
	bool delivered;		/* on_data got body bytes */
	bool stopped;		/* on_data asked to stop */
	struct buf fail;	/* the message of a transport failure */
	const char *secret[MAX_SECRETS];	/* never printed */
	int nsecret;
	int upload_fd;		/* .upload_file while sending, or -1 */
};

struct http *http_new(void)
{
	static bool curl_ready;
	struct http *h;

	if (the_pool) {
		the_pool->refs++;
		return the_pool;
	}
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			die("cannot initialise libcurl");
		curl_ready = true;
	}
	h = calloc(1, sizeof(*h));
	if (!h || !(h->share = curl_share_init()))
		die("out of memory");
	pthread_once(&share_locks_once, share_locks_init);
	curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	h->refs = 1;
	the_pool = h;
	return h;
}

void http_free(struct http *h)
{
	int i;

	if (!h || --h->refs > 0)
		return;
	for (i = 0; i < h->nidle; i++)
		curl_easy_cleanup(h->idle[i]);
	curl_share_cleanup(h->share);
	if (the_pool == h)
		the_pool = NULL;
	free(h);
}

void http_response_release(struct http_response *resp)
{
	buf_release(&resp->body);
	buf_release(&resp->content_type);
	buf_release(&resp->retry_after);
	buf_release(&resp->location);
	buf_release(&resp->headers);
	resp->status = 0;
	resp->stopped = false;
	resp->attempts = 0;
	resp->may_have_acted = false;
}

static CURL *handle_get(struct http *h)
{
	CURL *c;

	pthread_mutex_lock(&pool_lock);
	c = h->nidle ? h->idle[--h->nidle] : NULL;
	pthread_mutex_unlock(&pool_lock);
	if (!c)
		c = curl_easy_init();
	if (!c)
		die("out of memory");
	curl_easy_setopt(c, CURLOPT_SHARE, h->share);
	return c;
}

/* Back to the free list, reset so that it points to nothing of the request. */
static void handle_put(struct http *h, CURL *c)
{
	curl_easy_reset(c);
	pthread_mutex_lock(&pool_lock);
	if (h->nidle < FREE_HANDLES) {
		h->idle[h->nidle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&pool_lock);
	if (c)
		curl_easy_cleanup(c);
}

static void add_secret(struct attempt *a, const char *s)
{
	if (s && strlen(s) >= 4 && a->nsecret < MAX_SECRETS)
		a->secret[a->nsecret++] = s;
}

/* Replaces every known secret in b by <masked>. */
static void scrub(const struct attempt *a, struct buf *b)
{
	struct buf out = BUF_INIT;
	int i;

	for (i = 0; i < a->nsecret; i++) {
		size_t n = strlen(a->secret[i]);
		const char *p = buf_str(b), *hit;

		if (!strstr(p, a->secret[i]))
			continue;
		buf_reset(&out);
		while ((hit = strstr(p, a->secret[i]))) {
			buf_add(&out, p, hit - p);
			buf_adds(&out, "<masked>");
			p = hit + n;
		}
		buf_adds(&out, p);
		buf_reset(b);
		buf_add(b, out.data, out.len);
	}
	buf_release(&out);
}

static bool has_secret(const struct attempt *a, const char *data, size_t len)
{
	int i;

	for (i = 0; i < a->nsecret; i++)
		if (memmem(data, len, a->secret[i], strlen(a->secret[i])))
			return true;
	return false;
}

/* logv() of one line, with the known secrets masked. */
static void log_line(const struct attempt *a, int level, const char *text)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, text);
	scrub(a, &b);
	logv(level, "%s", buf_str(&b));
	buf_release(&b);
}

static void log_body(const struct attempt *a, const char *what,
		     const char *data, size_t len)
{
	size_t i, n = len < LOG_BODY_MAX ? len : LOG_BODY_MAX;

	if (log_verbosity() < 8 || !len)
		return;
	if (a->req->sensitive || http_body_secret(data, len) ||
	    has_secret(a, data, len)) {
		logv(8, "%s: <masked>", what);
		return;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = data[i];

		if ((ch < 0x20 && ch != '\n' && ch != '\r' && ch != '\t') ||
		    ch == 0x7f) {
			logv(8, "%s: <%zu bytes of binary data>", what, len);
			return;
		}
	}
	if (n < len)
		logv(8, "%s: %.*s [truncated %zu bytes]", what, (int)n, data,
		     len - n);
	else
		logv(8, "%s: %.*s", what, (int)n, data);
}

static void print_warning(void *ctx, const char *text)
{
	const char *p;

	(void)ctx;
	pthread_mutex_lock(&pool_lock);
	p = warned.data;
	while (p && p < warned.data + warned.len) {
		if (!strcmp(p, text)) {
			pthread_mutex_unlock(&pool_lock);
			return;
		}
		p += strlen(p) + 1;
	}
	buf_adds(&warned, text);
	buf_addch(&warned, '\0');
	pthread_mutex_unlock(&pool_lock);
	progress_done();
	fprintf(stderr, "Warning: %s\n", text);
	fflush(stderr);
}

static void set_header_value(struct buf *b, const char *v)
{
	buf_reset(b);
	buf_adds(b, v);
}

/* CURLOPT_HEADERFUNCTION: one header line at a time, the status line first;
 * a new status line (after a 1xx) starts a new response. */
static size_t on_header(char *data, size_t size, size_t n, void *p)
{
	struct attempt *a = p;
	size_t len = size * n, l = len;
	struct buf line = BUF_INIT;
	char *colon, *v;

	while (l && (data[l - 1] == '\n' || data[l - 1] == '\r'))
		l--;
	buf_add(&line, data, l);
	if (l > 5 && !strncmp(line.data, "HTTP/", 5)) {
		char *sp = strchr(line.data, ' ');

		a->status = sp ? strtol(sp + 1, &v, 10) : 0;
		a->got_headers = true;
		buf_reset(&a->reason);
		if (sp && *v == ' ')
			buf_adds(&a->reason, v + 1);
		buf_reset(&a->headers);
		buf_reset(&a->resp->content_type);
		buf_reset(&a->resp->retry_after);
		buf_reset(&a->resp->location);
		buf_reset(&a->resp->headers);
		goto out;
	}
	if (!l || !(colon = strchr(line.data, ':')))
		goto out;
	buf_add(&a->resp->headers, line.data, line.len);
	buf_addch(&a->resp->headers, '\n');
	if (log_verbosity() >= 7) {
		http_mask_header(&a->headers, line.data);
		buf_addch(&a->headers, '\n');
	}
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	if (!strcasecmp(line.data, "Content-Type"))
		set_header_value(&a->resp->content_type, v);
	else if (!strcasecmp(line.data, "Retry-After"))
		set_header_value(&a->resp->retry_after, v);
	else if (!strcasecmp(line.data, "Location"))
		set_header_value(&a->resp->location, v);
	else if (!strcasecmp(line.data, "Warning"))
		http_warning_texts(v, print_warning, NULL);
out:
	buf_release(&line);
	return len;
}

/* CURLOPT_WRITEFUNCTION: a 2xx body of a streaming request goes to on_data,
 * every other body into resp->body. */
static size_t on_body(char *data, size_t size, size_t n, void *p)
{
	struct attempt *a = p;
	size_t len = size * n;

	if (a->req->on_data && a->status >= 200 && a->status < 300) {
		if (!len)
			return 0;
		a->delivered = true;
		if (a->req->on_data(a->req->ctx, data, len)) {
			a->stopped = true;
			return CURL_WRITEFUNC_ERROR;
		}
		return len;
	}
	buf_add(&a->resp->body, data, len);
	return len;
}

/* CURLOPT_DEBUGFUNCTION at -v=9: libcurl's notes only, never the raw
 * headers or data (they would carry the Authorization header). */
static int on_debug(CURL *c, curl_infotype type, char *data, size_t size,
		    void *p)
{
	struct attempt *a = p;
	struct buf line = BUF_INIT;
	size_t i = 0, start;

	(void)c;
	if (type != CURLINFO_TEXT)
		return 0;
	while (i < size) {
		for (start = i; i < size && data[i] != '\n'; i++)
			;
		buf_reset(&line);
		buf_adds(&line, "curl: ");
		buf_add(&line, data + start, i - start);
		if (i - start)
			log_line(a, 9, line.data);
		i++;
	}
	buf_release(&line);
	return 0;
}

static void add_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *l = curl_slist_append(*list, line);

	if (!l)
		die("out of memory");
	*list = l;
}

static bool user_has_header(const struct http_request *req, const char *name)
{
	const char *const *h;
	size_t n = strlen(name);

	for (h = req->headers; h && *h; h++)
		if (!strncasecmp(*h, name, n) && (*h)[n] == ':')
			return true;
	return false;
}

/* server_name: the URL names server_name (for SNI, verification and the
 * TLS session cache) while CURLOPT_CONNECT_TO sends the connection to the
 * URL's real host, and the Host header keeps the real authority. */
static int rewrite_for_server_name(const struct http_request *req,
				   struct buf *url, struct curl_slist **connect_to,
				   struct curl_slist **headers, struct buf *err)
{
	const char *name = req->tls->server_name;
	char *host = NULL, *port = NULL, *given_port = NULL, *out = NULL;
	struct buf line = BUF_INIT;
	CURLU *u = curl_url();
	int rc = -1;

	if (!u)
		die("out of memory");
	if (curl_url_set(u, CURLUPART_URL, req->url, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT)) {
		buf_set(err, "invalid URL '%s'", req->url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &given_port, 0))
		given_port = NULL;
	if (curl_url_set(u, CURLUPART_HOST, name, 0) ||
	    curl_url_get(u, CURLUPART_URL, &out, 0)) {
		buf_set(err, "invalid TLS server name '%s'", name);
		goto out;
	}
	buf_reset(url);
	buf_adds(url, out);
	buf_printf(&line, "%s:%s:%s:%s", name, port, host, port);
	add_header(connect_to, line.data);
	if (!user_has_header(req, "Host")) {
		buf_reset(&line);
		buf_printf(&line, "Host: %s%s%s", host, given_port ? ":" : "",
			   given_port ? given_port : "");
		add_header(headers, line.data);
	}
	rc = 0;
out:
	buf_release(&line);
	curl_free(out);
	curl_free(given_port);
	curl_free(port);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

static int set_tls(CURL *c, const struct http_tls *tls, struct buf *err,
		   const char *url)
{
	struct curl_blob blob;
	CURLcode cc = CURLE_OK;

	if (tls->ca_data) {
		blob = (struct curl_blob){ (void *)tls->ca_data, tls->ca_len,
					   CURL_BLOB_COPY };
		cc = curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	} else if (tls->ca_file) {
		cc = curl_easy_setopt(c, CURLOPT_CAINFO, tls->ca_file);
	}
	/* Only the given CA: no system directory beside it. */
	if (!cc && (tls->ca_data || tls->ca_file))
		cc = curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	if (!cc && tls->cert_data) {
		blob = (struct curl_blob){ (void *)tls->cert_data, tls->cert_len,
					   CURL_BLOB_COPY };
		cc = curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &blob);
	} else if (!cc && tls->cert_file) {
		cc = curl_easy_setopt(c, CURLOPT_SSLCERT, tls->cert_file);
	}
	if (!cc && tls->key_data) {
		blob = (struct curl_blob){ (void *)tls->key_data, tls->key_len,
					   CURL_BLOB_COPY };
		cc = curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &blob);
	} else if (!cc && tls->key_file) {
		cc = curl_easy_setopt(c, CURLOPT_SSLKEY, tls->key_file);
	}
	if (!cc && (tls->cert_data || tls->cert_file))
		cc = curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
	if (!cc && (tls->key_data || tls->key_file))
		cc = curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	if (!cc && tls->insecure) {
		cc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		if (!cc)
			cc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (cc) {
		buf_set(err, "cannot use the TLS settings for '%s': %s", url,
			curl_easy_strerror(cc));
		return -1;
	}
	return 0;
}

/* The request headers we send, and (for -v=7) how to print them. */
static void build_headers(const struct http_request *req, struct attempt *a,
			  struct curl_slist **headers)
{
	const char *const *h;
	struct buf line = BUF_INIT;

	for (h = req->headers; h && *h; h++) {
		const char *colon = strchr(*h, ':');

		add_header(headers, *h);
		if (colon && http_header_secret(*h, colon - *h))
			add_secret(a, colon + 1 + strspn(colon + 1, " \t"));
	}
	if (req->bearer && !req->aws_sigv4) {
		buf_reset(&line);
		buf_printf(&line, "Authorization: Bearer %s", req->bearer);
		add_header(headers, line.data);
	}
	if (req->content_type) {
		buf_reset(&line);
		buf_printf(&line, "Content-Type: %s", req->content_type);
		add_header(headers, line.data);
	} else if (req->body && !user_has_header(req, "Content-Type")) {
		add_header(headers, "Content-Type:");	/* none, not a form */
	}
	add_header(headers, "Expect:");
	buf_release(&line);
}

static void log_request(const struct http_request *req, const struct attempt *a,
			const char *method, const struct curl_slist *headers)
{
	struct buf line = BUF_INIT;

	if (log_verbosity() < 7)
		return;
	buf_printf(&line, "%s %s", method, req->url);
	log_line(a, 7, line.data);
	logv(7, "Request Headers:");
	for (; headers; headers = headers->next) {
		const char *colon = strchr(headers->data, ':');

		if (!colon || !colon[1])
			continue;	/* "Expect:" and the like remove a header */
		buf_reset(&line);
		buf_adds(&line, "    ");
		http_mask_header(&line, headers->data);
		log_line(a, 7, line.data);
	}
	if (req->basic_user && !req->aws_sigv4)
		logv(7, "    Authorization: <masked>");
	if (!user_has_header(req, "User-Agent"))
		logv(7, "    User-Agent: wlkit/%s", WLKIT_VERSION);
	buf_release(&line);
	if (req->body)
		log_body(a, "Request Body", req->body, req->body_len);
}

static void log_response(const struct attempt *a, const char *method,
			 int64_t ms)
{
	const char *reason = a->reason.len ? a->reason.data
			     : http_reason_phrase(a->status);
	struct buf line = BUF_INIT;
	const char *p, *nl;

	if (log_verbosity() == 6) {
		if (a->got_headers)
			buf_printf(&line, "%s %s %ld %s in %lld milliseconds",
				   method, a->req->url, a->status, reason,
				   (long long)ms);
		else
			buf_printf(&line, "%s %s  in %lld milliseconds", method,
				   a->req->url, (long long)ms);
		log_line(a, 6, line.data);
	} else if (log_verbosity() >= 7) {
		if (a->got_headers)
			buf_printf(&line, "Response Status: %ld %s in %lld milliseconds",
				   a->status, reason, (long long)ms);
		else
			buf_printf(&line, "Response Status:  in %lld milliseconds",
				   (long long)ms);
		logv(7, "%s", line.data);
		if (a->got_headers)
			logv(7, "Response Headers:");
		for (p = buf_str(&a->headers); (nl = strchr(p, '\n')); p = nl + 1) {
			buf_reset(&line);
			buf_adds(&line, "    ");
			buf_add(&line, p, nl - p);
			log_line(a, 7, line.data);
		}
		log_body(a, "Response Body", a->resp->body.data, a->resp->body.len);
	}
	buf_release(&line);
}

/* Feeds .upload_file to libcurl. */
static size_t on_read(char *data, size_t size, size_t n, void *p)
{
	struct attempt *a = p;
	ssize_t got;

	do
		got = read(a->upload_fd, data, size * n);
	while (got < 0 && errno == EINTR);
	return got < 0 ? CURL_READFUNC_ABORT : (size_t)got;
}

static int setup(CURL *c, const struct http_request *req, struct attempt *a,
		 const char *method, struct buf *url,
		 struct curl_slist **headers, struct curl_slist **connect_to,
		 char *errbuf, struct buf *err)
{
	buf_adds(url, req->url);
	build_headers(req, a, headers);
	add_secret(a, req->bearer);
	add_secret(a, req->basic_password);
	if (req->tls && req->tls->server_name && *req->tls->server_name &&
	    rewrite_for_server_name(req, url, connect_to, headers, err) < 0)
		return -1;
	if (req->tls && set_tls(c, req->tls, err, req->url) < 0)
		return -1;
	if (req->upload_file) {
		struct stat st;

		if ((a->upload_fd = open(req->upload_file, O_RDONLY | O_CLOEXEC)) < 0 ||
		    fstat(a->upload_fd, &st) < 0) {
			buf_set(err, "cannot read '%s': %s", req->upload_file, strerror(errno));
			return -1;
		}
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, a);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	} else if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(method, "GET") && !req->body) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		if (req->body || !strcmp(method, "POST") ||
		    !strcmp(method, "PUT") || !strcmp(method, "PATCH")) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
					 (curl_off_t)(req->body ? req->body_len : 0));
			curl_easy_setopt(c, CURLOPT_POSTFIELDS,
					 req->body ? req->body : "");
		}
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	if (req->basic_user) {
		curl_easy_setopt(c, CURLOPT_USERNAME, req->basic_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD,
				 req->basic_password ? req->basic_password : "");
		if (req->aws_sigv4)
			curl_easy_setopt(c, CURLOPT_AWS_SIGV4, req->aws_sigv4);
		else
			curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	}
	if (req->proxy)
		curl_easy_setopt(c, CURLOPT_PROXY, req->proxy);
	curl_easy_setopt(c, CURLOPT_URL, url->data);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *headers);
	curl_easy_setopt(c, CURLOPT_CONNECT_TO, *connect_to);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "wlkit/" WLKIT_VERSION);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms > 0 ?
							req->timeout_ms : 0));
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(req->connect_timeout_ms > 0 ?
				req->connect_timeout_ms : CONNECT_TIMEOUT_MS));
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	if (log_verbosity() >= 9) {
		curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
		curl_easy_setopt(c, CURLOPT_DEBUGDATA, a);
		curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Transport failures worth another attempt (when the request is safe). */
static bool transient(CURLcode cc, const struct attempt *a)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	case CURLE_OPERATION_TIMEDOUT:
		return !a->got_headers;
	default:
		return false;
	}
}

/* "cannot connect to 'URL': why" before a connection stood, else
 * "cannot METHOD 'URL': why"; into a->fail. */
static void transport_error(struct attempt *a, const char *method, CURLcode cc,
			    const char *errbuf)
{
	const char *why = *errbuf ? errbuf : curl_easy_strerror(cc);
	const char *prefix = "";
	bool connecting = false;
	curl_off_t t = 0;
	long os = 0;

	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(a->curl, CURLINFO_OS_ERRNO, &os);
		if (os)
			why = strerror(os);
		connecting = true;
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		prefix = "certificate verify failed: ";
		if (!strncmp(why, "SSL certificate problem: ", 25))
			why += 25;
		else if (!strncmp(why, "SSL: ", 5))
			why += 5;
		connecting = true;
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		connecting = true;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(a->curl, CURLINFO_CONNECT_TIME_T, &t);
		connecting = !a->got_headers && t == 0;
		break;
	default:
		break;
	}
	if (connecting)
		buf_set(&a->fail, "cannot connect to '%s': %s%s", a->req->url,
			prefix, why);
	else
		buf_set(&a->fail, "cannot %s '%s': %s%s", method, a->req->url,
			prefix, why);
}

int http_cancel_init(struct http_cancel *c)
{
	c->fired = 0;
	return pipe2(c->fd, O_CLOEXEC | O_NONBLOCK);
}

void http_cancel_fire(struct http_cancel *c)
{
	ssize_t n;

	if (c->fired)
		return;
	c->fired = 1;
	/* The byte is never read: the pipe stays readable for every poller. */
	do
		n = write(c->fd[1], "x", 1);
	while (n < 0 && errno == EINTR);
}

bool http_cancelled(const struct http_cancel *c)
{
	return c && c->fired;
}

void http_cancel_release(struct http_cancel *c)
{
	close(c->fd[0]);
	close(c->fd[1]);
}

/* Waits ms, or less when the request's switch fires. */
static void sleep_ms(const struct http_request *req, int64_t ms)
{
	int64_t end = now_ms() + ms, left;

	while ((left = end - now_ms()) > 0 && !http_cancelled(req->cancel)) {
		if (req->cancel) {
			struct pollfd p = { req->cancel->fd[0], POLLIN, 0 };

			poll(&p, 1, (int)left);
		} else {
			struct timespec ts = { left / 1000, (left % 1000) * 1000000 };

			nanosleep(&ts, NULL);
		}
	}
}

/* curl_easy_perform that ends when the switch fires: the transfer runs on a
 * multi handle whose poll also watches the switch's pipe. */
static CURLcode perform_cancellable(CURL *c, struct http_cancel *cancel)
{
	struct curl_waitfd wfd = { cancel->fd[0], CURL_WAIT_POLLIN, 0 };
	CURLcode cc = CURLE_ABORTED_BY_CALLBACK;
	CURLM *m = curl_multi_init();
	CURLMsg *msg;
	int running = 1, left;

	if (!m)
		return CURLE_OUT_OF_MEMORY;
	if (curl_multi_add_handle(m, c) != CURLM_OK) {
		curl_multi_cleanup(m);
		return CURLE_OUT_OF_MEMORY;
	}
	while (!cancel->fired) {
		if (curl_multi_perform(m, &running) != CURLM_OK) {
			cc = CURLE_OUT_OF_MEMORY;
			break;
		}
		if (!running) {
			while ((msg = curl_multi_info_read(m, &left)))
				if (msg->msg == CURLMSG_DONE && msg->easy_handle == c)
					cc = msg->data.result;
			break;
		}
		if (curl_multi_poll(m, &wfd, 1, 1000, NULL) != CURLM_OK) {
			cc = CURLE_OUT_OF_MEMORY;
			break;
		}
	}
	curl_multi_remove_handle(m, c);
	curl_multi_cleanup(m);
	return cc;
}

/* One attempt: 0 with a response (a->status), 1 on a transport failure
 * (*cc and errbuf say which), -1 when the request cannot be set up. */
static int perform(struct http *h, const struct http_request *req,
		   struct attempt *a, const char *method, CURLcode *cc,
		   char *errbuf, struct buf *err)
{
	struct curl_slist *headers = NULL, *connect_to = NULL;
	struct buf url = BUF_INIT;
	int64_t start;
	int rc = -1;

	a->curl = handle_get(h);
	a->upload_fd = -1;
	errbuf[0] = '\0';
	if (setup(a->curl, req, a, method, &url, &headers, &connect_to, errbuf,
		  err) < 0)
		goto out;
	log_request(req, a, method, headers);
	start = now_ms();
	*cc = req->cancel ? perform_cancellable(a->curl, req->cancel)
		: curl_easy_perform(a->curl);
	if (*cc == CURLE_WRITE_ERROR && a->stopped)
		*cc = CURLE_OK;
	if (a->got_headers)
		curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &a->status);
	log_response(a, method, now_ms() - start);
	rc = *cc == CURLE_OK ? 0 : 1;
	if (rc)
		transport_error(a, method, *cc, errbuf);
out:
	handle_put(h, a->curl);
	a->curl = NULL;
	if (a->upload_fd >= 0)
		close(a->upload_fd);
	a->upload_fd = -1;
	curl_slist_free_all(connect_to);
	curl_slist_free_all(headers);
	buf_release(&url);
	return rc;
}

int http_do(struct http *h, const struct http_request *req,
	    struct http_response *resp, struct buf *err)
{
	const char *method = req->method ? req->method : "GET";
	char errbuf[CURL_ERROR_SIZE];
	int attempt, rc = -1;
	bool again = true;

	resp->may_have_acted = false;
	for (attempt = 1; again; attempt++) {
		struct attempt a = { .req = req, .resp = resp };
		CURLcode cc = CURLE_OK;
		int64_t delay = 0;
		int r;

		buf_reset(&resp->body);
		buf_reset(&resp->content_type);
		buf_reset(&resp->retry_after);
		buf_reset(&resp->location);
		buf_reset(&resp->headers);
		resp->attempts = attempt;
		if (http_cancelled(req->cancel)) {
			buf_set(err, "cancelled");
			rc = -1;
			break;
		}
		r = perform(h, req, &a, method, &cc, errbuf, err);
		resp->status = a.got_headers ? a.status : 0;
		resp->stopped = a.stopped;
		rc = r == 0 ? 0 : -1;
		if (r == 0)
			again = !a.stopped && !a.delivered &&
				http_should_retry(req, resp->status,
						  buf_str(&resp->retry_after),
						  attempt, &delay);
		else if (r > 0)
			again = transient(cc, &a) && !a.delivered &&
				http_should_retry(req, 0, NULL, attempt, &delay);
		else
			again = false;
		if (again && (r > 0 ? cc != CURLE_COULDNT_CONNECT
				    : resp->status >= 500))
			resp->may_have_acted = true;
		if (r > 0 && http_cancelled(req->cancel)) {
			again = false;
			buf_set(&a.fail, "cancelled");
		}
		if (r > 0 && !again)
			buf_set(err, "%s", buf_str(&a.fail));
		if (again && r)
			logv(6, "retrying %s %s in %lld milliseconds: %s", method,
			     req->url, (long long)delay, buf_str(&a.fail));
		else if (again)
			logv(6, "retrying %s %s in %lld milliseconds after %ld",
			     method, req->url, (long long)delay, resp->status);
		if (again)
			sleep_ms(req, delay);
		buf_release(&a.fail);
		buf_release(&a.reason);
		buf_release(&a.headers);
	}
	return rc;
}
