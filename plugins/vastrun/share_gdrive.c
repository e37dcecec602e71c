/* share_gdrive.c - see share.h: the upload to a Google Drive folder in a
 * Shared Drive, as a service account with the drive.file scope.
 *
 * The token: an RS256 JWT (iss the key's client_email, scope drive.file,
 * aud its token_uri) exchanged at token_uri for an access token. gcp.h's
 * token sources always ask for cloud-platform, which Drive does not take,
 * so the grant is made here with gcp.h's signing parts.
 *
 * The upload: files.list (q name = NAME and FOLDER in parents and not
 * trashed, supportsAllDrives, includeItemsFromAllDrives) refuses an
 * existing name unless forced, in which case the file's content is
 * replaced (files.update); then a resumable session (POST, or PATCH for
 * the update, uploadType=resumable) and PUTs of `chunk` bytes with
 * Content-Range, each answered 308 with the Range received so far, the
 * last 200 with the file. The base URL is https://www.googleapis.com/
 * unless CLOUDSDK_API_ENDPOINT_OVERRIDES_DRIVE (or the gcloud
 * configuration's [api_endpoint_overrides] drive) names another.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "gcp.h"
#include "http.h"
#include "log.h"
#include "obj.h"
#include "share.h"

#define DRIVE_SCOPE "https://www.googleapis.com/auth/drive.file"
#define DRIVE_DEFAULT "https://www.googleapis.com/"
#define MIME "application/gzip"

struct drive {
	struct http *h;
	struct buf base;	/* ends in '/' */
	struct buf token;	/* the access token: wiped */
};

static void wipe(struct buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->len);
	buf_release(b);
}

/* A token for the Drive scope from the service account key (common/gcp:
 * the key file as the only source, its JWT grant with DRIVE_SCOPE). */
static int drive_token(struct drive *d, const char *key_path, struct buf *err)
{
	struct gcp_options o;
	struct gcp *g;
	int rc;

	memset(&o, 0, sizeof(o));
	o.credentials_file = key_path;
	o.scope = DRIVE_SCOPE;
	g = gcp_new(&o, err);
	rc = g ? gcp_access_token(g, &d->token, err) : -1;

	gcp_free(g);
	return rc;
}

static int drive_base(struct drive *d, struct buf *err)
{
	struct gcp_options opt = { 0 };
	struct gcp_config c;
	struct buf def = BUF_INIT;
	int rc = -1;

	if (gcp_config_load(&c, &opt, err) < 0)
		return -1;
	if (gcp_config_endpoint(&c, "drive", &d->base, err) < 0)
		goto out;
	gcp_default_endpoint("drive", &def);
	if (!strcmp(d->base.data, def.data)) {
		buf_reset(&d->base);
		buf_adds(&d->base, DRIVE_DEFAULT);
	}
	rc = 0;
out:
	buf_release(&def);
	gcp_config_release(&c);
	return rc;
}

/* One request with the bearer token: 0 when an answer came (any status). */
static int drive_do(struct drive *d, const char *method, const char *url,
		    const char *const *headers, const char *ctype, const char *body,
		    size_t len, struct http_response *resp, struct buf *err)
{
	struct http_request req;

	memset(&req, 0, sizeof(req));
	req.method = method;
	req.url = url;
	req.headers = headers;
	req.bearer = d->token.data;
	req.content_type = ctype;
	req.body = body;
	req.body_len = len;
	req.timeout_ms = 300000;
	return http_do(d->h, &req, resp, err);
}

static void drive_error(const struct http_response *resp, struct buf *err)
{
	gcp_error_format("drive", resp->status, buf_str(&resp->body), resp->body.len,
			 err, NULL, NULL);
}

/* The id of the file named name in folder, appended to id ("" when none). */
static int drive_find(struct drive *d, const char *folder, const char *name,
		      struct buf *id, struct buf *err)
{
	struct buf q = BUF_INIT, url = BUF_INIT;
	struct http_response resp = HTTP_RESPONSE_INIT;
	cJSON *reply = NULL;
	const cJSON *files;
	const char *s;
	int rc = -1;

	buf_adds(&q, "name='");
	for (s = name; *s; s++) {
		if (*s == '\'' || *s == '\\')
			buf_addch(&q, '\\');
		buf_addch(&q, *s);
	}
	buf_printf(&q, "' and '%s' in parents and trashed=false", folder);
	buf_printf(&url, "%sdrive/v3/files?q=", d->base.data);
	http_escape(&url, q.data);
	buf_adds(&url, "&supportsAllDrives=true&includeItemsFromAllDrives=true"
		 "&fields=files(id%2Cname)");
	if (drive_do(d, "GET", url.data, NULL, NULL, NULL, 0, &resp, err) < 0)
		goto out;
	if (resp.status != 200) {
		drive_error(&resp, err);
		goto out;
	}
	reply = cJSON_ParseWithLength(buf_str(&resp.body), resp.body.len);
	files = obj_get(reply, "files");
	if (!cJSON_IsArray(files)) {
		buf_set(err, "drive: files.list answered without a files list");
		goto out;
	}
	if (cJSON_GetArraySize(files) > 0 && (s = obj_str(cJSON_GetArrayItem(files, 0), "id")))
		buf_adds(id, s);
	rc = 0;
out:
	cJSON_Delete(reply);
	http_response_release(&resp);
	buf_release(&q);
	buf_release(&url);
	return rc;
}

/* The first byte the server has not got, from a 308's Range header
 * ("bytes=0-N"; none: 0). */
static int64_t received(const struct http_response *resp)
{
	const char *line = buf_str(&resp->headers);

	while (*line) {
		const char *eol = strchr(line, '\n');
		size_t n = eol ? (size_t)(eol - line) : strlen(line);

		if (n > 6 && !strncasecmp(line, "Range:", 6)) {
			const char *dash = memchr(line, '-', n);

			return dash ? strtoll(dash + 1, NULL, 10) + 1 : 0;
		}
		line += n + (eol ? 1 : 0);
	}
	return 0;
}

/* Reads n bytes at off of fd into chunk (which it resizes). */
static int read_chunk(int fd, int64_t off, int64_t n, struct buf *chunk,
		      const char *path, struct buf *err)
{
	size_t got = 0;

	buf_reset(chunk);
	buf_grow(chunk, (size_t)n);
	while (got < (size_t)n) {
		ssize_t r = pread(fd, chunk->data + got, (size_t)n - got, (off_t)(off + (int64_t)got));

		if (r <= 0) {
			buf_set(err, "cannot read '%s': %s", path, r < 0 ? strerror(errno) :
				"the file is shorter than it was");
			return -1;
		}
		got += (size_t)r;
	}
	chunk->len = got;	/* buf_setlen only shortens */
	chunk->data[got] = '\0';
	return 0;
}

/* PUTs the file in chunks of u->chunk bytes, each read into one buffer
 * (memory stays at one chunk), resuming where the server's Range says. */
static int drive_send(struct drive *d, const char *session, int fd,
		      const struct share_upload *u, struct buf *err)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf range = BUF_INIT, chunk = BUF_INIT;
	const char *hdrs[2] = { NULL, NULL };
	int64_t off = 0, stalls = 0;
	int rc = -1;

	while (off < u->size) {
		int64_t n = u->size - off < u->chunk ? u->size - off : u->chunk, next;

		if (read_chunk(fd, off, n, &chunk, u->path, err) < 0)
			goto out;
		buf_reset(&range);
		buf_printf(&range, "Content-Range: bytes %lld-%lld/%lld", (long long)off,
			   (long long)(off + n - 1), (long long)u->size);
		hdrs[0] = range.data;
		if (drive_do(d, "PUT", session, hdrs, MIME, chunk.data, chunk.len, &resp,
			     err) < 0)
			goto out;
		if (resp.status == 200 || resp.status == 201) {
			share_progress(u->size, u->size);
			rc = 0;
			goto out;
		}
		if (resp.status != 308) {
			drive_error(&resp, err);
			goto out;
		}
		next = received(&resp);
		if (next <= off && ++stalls > 3) {
			buf_set(err, "drive: the upload session accepts no more data at byte %lld",
				(long long)off);
			goto out;
		}
		if (next > off)
			stalls = 0;
		off = next;
		share_progress(off, u->size);
	}
	buf_set(err, "drive: the upload of '%s' ended without the file", u->name);
out:
	http_response_release(&resp);
	buf_release(&range);
	buf_release(&chunk);
	return rc;
}

int share_gdrive_check(const char *key_path, const char *folder, const char *name,
		       bool force, struct buf *err)
{
	struct drive d = { http_new(), BUF_INIT, BUF_INIT };
	struct buf id = BUF_INIT;
	int rc = -1;

	if (drive_base(&d, err) < 0 || drive_token(&d, key_path, err) < 0 ||
	    drive_find(&d, folder, name, &id, err) < 0)
		goto out;
	if (id.len && !force) {
		buf_set(err, "gdrive: '%s' already exists in the Drive folder '%s': pass "
			"--force to replace it", name, folder);
		goto out;
	}
	rc = 0;
out:
	buf_release(&id);
	buf_release(&d.base);
	wipe(&d.token);
	http_free(d.h);
	return rc;
}

int share_gdrive_upload(const char *key_path, const char *folder,
			const struct share_upload *u, struct buf *err)
{
	struct drive d = { http_new(), BUF_INIT, BUF_INIT };
	struct buf id = BUF_INIT, url = BUF_INIT, len_hdr = BUF_INIT;
	struct http_response resp = HTTP_RESPONSE_INIT;
	cJSON *meta = cJSON_CreateObject();
	const char *hdrs[3];
	char *body = NULL;
	int fd = -1, rc = -1;

	if (!meta)
		die("out of memory");
	if (drive_base(&d, err) < 0 || drive_token(&d, key_path, err) < 0 ||
	    drive_find(&d, folder, u->name, &id, err) < 0)
		goto out;
	if (id.len && !u->force) {
		buf_set(err, "gdrive: '%s' already exists in the Drive folder '%s': pass "
			"--force to replace it", u->name, folder);
		goto out;
	}
	buf_printf(&len_hdr, "X-Upload-Content-Length: %lld", (long long)u->size);
	hdrs[0] = "X-Upload-Content-Type: " MIME;
	hdrs[1] = len_hdr.data;
	hdrs[2] = NULL;
	if (id.len) {
		buf_printf(&url, "%supload/drive/v3/files/%s?uploadType=resumable"
			   "&supportsAllDrives=true&fields=id%%2Cname%%2Csize", d.base.data, id.data);
	} else {
		cJSON *parents = cJSON_AddArrayToObject(meta, "parents");

		cJSON_AddStringToObject(meta, "name", u->name);
		cJSON_AddItemToArray(parents, cJSON_CreateString(folder));
		cJSON_AddStringToObject(meta, "mimeType", MIME);
		buf_printf(&url, "%supload/drive/v3/files?uploadType=resumable"
			   "&supportsAllDrives=true&fields=id%%2Cname%%2Csize", d.base.data);
	}
	if (!(body = cJSON_PrintUnformatted(meta)))
		die("out of memory");
	if (drive_do(&d, id.len ? "PATCH" : "POST", url.data, hdrs,
		     "application/json; charset=UTF-8", body, strlen(body), &resp, err) < 0)
		goto out;
	if (resp.status != 200 || !resp.location.len) {
		if (resp.status == 200)
			buf_set(err, "drive: the resumable upload answered without a session");
		else
			drive_error(&resp, err);
		goto out;
	}
	if (id.len)
		fprintf(stderr, "replacing '%s' in the Drive folder\n", u->name);
	if ((fd = open(u->path, O_RDONLY | O_CLOEXEC)) < 0) {
		buf_set(err, "cannot read '%s': %s", u->path, strerror(errno));
		goto out;
	}
	share_progress(0, u->size);
	rc = drive_send(&d, buf_str(&resp.location), fd, u, err);
out:
	if (fd >= 0)
		close(fd);
	http_response_release(&resp);
	cJSON_Delete(meta);
	free(body);
	buf_release(&id);
	buf_release(&url);
	buf_release(&len_hdr);
	buf_release(&d.base);
	wipe(&d.token);
	http_free(d.h);
	return rc;
}
