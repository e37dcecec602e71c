/* share_dav.c - see share.h: the upload to a Nextcloud public share, a
 * WebDAV PUT of the archive to https://HOST/public.php/webdav/NAME with the
 * share token as the basic-auth user and an empty password (what
 * Nextcloud's public share endpoint takes), refused when the name exists
 * unless forced. */
#include <string.h>

#include "http.h"
#include "share.h"

#define DAV_PATH "/public.php/webdav/"

/* The headers of a request: X-Requested-With, which Nextcloud wants on
 * public.php, and the basic auth written here rather than through
 * http.h's basic_user: libcurl's own notes (-v=9) name the user, and here
 * the user, the share token, is the secret. http.h masks the header. */
struct dav_auth {
	struct buf line;		/* "Authorization: Basic ..." (wiped) */
	const char *headers[3];
};

static void dav_auth_init(struct dav_auth *a, const char *token)
{
	struct buf pair = BUF_INIT;

	buf_init(&a->line);
	buf_printf(&pair, "%s:", token);
	buf_adds(&a->line, "Authorization: Basic ");
	buf_add_base64(&a->line, pair.data, pair.len);
	explicit_bzero(pair.data, pair.len);
	buf_release(&pair);
	a->headers[0] = "X-Requested-With: XMLHttpRequest";
	a->headers[1] = a->line.data;
	a->headers[2] = NULL;
}

static void wipe(struct buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->len);
	buf_release(b);
}

static void dav_error(const char *what, const char *host, long status,
		      struct buf *err)
{
	if (status == 401 || status == 403)
		buf_set(err, "nextcloud: the share at '%s' refused its token (HTTP %ld %s): "
			"check ROBOVAST_SHARE_URL and that the share allows uploads",
			host, status, http_reason_phrase(status));
	else if (status == 404)
		buf_set(err, "nextcloud: no public share at '%s' (HTTP 404 Not Found): check "
			"ROBOVAST_SHARE_URL", host);
	else
		buf_set(err, "nextcloud: cannot %s at '%s': HTTP %ld %s", what, host, status,
			http_reason_phrase(status));
}

/* The share's base URL and token, and the archive's URL, into the bufs. */
static int dav_target(const char *url, const char *name, struct buf *base,
		      struct buf *token, struct buf *target, struct buf *err)
{
	if (share_nextcloud_url(url, base, token, err) < 0)
		return -1;
	buf_printf(target, "%s%s", base->data, DAV_PATH);
	http_escape(target, name);
	return 0;
}

static void dav_request(struct http_request *req, const char *method,
			const char *url, const struct dav_auth *a)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->url = url;
	req->headers = a->headers;
	req->timeout_ms = 60000;
}

int share_dav_check(const char *url, const char *name, bool force, struct buf *err)
{
	struct buf base = BUF_INIT, token = BUF_INIT, target = BUF_INIT;
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct http_request req;
	struct http *h = http_new();
	struct dav_auth auth = { BUF_INIT, { NULL } };
	int rc = -1;

	if (dav_target(url, name, &base, &token, &target, err) < 0)
		goto out;
	dav_auth_init(&auth, token.data);
	dav_request(&req, "HEAD", target.data, &auth);
	if (http_do(h, &req, &resp, err) < 0)
		goto out;
	if (resp.status >= 200 && resp.status < 300 && !force) {
		buf_set(err, "nextcloud: '%s' already exists on the share: pass --force to "
			"replace it", name);
		goto out;
	}
	if (resp.status != 404 && (resp.status < 200 || resp.status >= 300)) {
		dav_error("look for the archive", base.data, resp.status, err);
		goto out;
	}
	rc = 0;
out:
	http_response_release(&resp);
	http_free(h);
	wipe(&auth.line);
	wipe(&token);
	buf_release(&base);
	buf_release(&target);
	return rc;
}

int share_dav_upload(const char *url, const struct share_upload *u, struct buf *err)
{
	struct buf base = BUF_INIT, token = BUF_INIT, target = BUF_INIT;
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct http_request req;
	struct http *h = http_new();
	struct dav_auth auth = { BUF_INIT, { NULL } };
	int rc = -1;

	if (dav_target(url, u->name, &base, &token, &target, err) < 0)
		goto out;
	dav_auth_init(&auth, token.data);
	share_progress(0, u->size);
	dav_request(&req, "PUT", target.data, &auth);
	req.content_type = "application/gzip";
	req.upload_file = u->path;	/* streamed: memory stays flat */
	req.timeout_ms = 0;
	req.sensitive = true;
	if (http_do(h, &req, &resp, err) < 0)
		goto out;
	if (resp.status < 200 || resp.status >= 300) {
		dav_error("upload the archive", base.data, resp.status, err);
		goto out;
	}
	share_progress(u->size, u->size);
	rc = 0;
out:
	http_response_release(&resp);
	http_free(h);
	wipe(&auth.line);
	wipe(&token);
	buf_release(&base);
	buf_release(&target);
	return rc;
}
