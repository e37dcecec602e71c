/* upload.c - the staging bucket and the source upload.
 *
 * The bucket "<project>_cloudbuild" is created when missing; when it exists
 * (409) it must be among the project's buckets, or it belongs to someone
 * else and is not used (gcloud's check). The archive goes up with a
 * resumable upload while it is being packed: archive_tgz's bytes fill one
 * chunk buffer (8 MiB, a multiple of 256 KiB as the API requires), each
 * full chunk is PUT with its Content-Range total left open (an asterisk), the last one with
 * the total. Memory stays at one chunk whatever the context's size. A PUT
 * is safe to repeat, so http.c retries it on 5xx and transport failures;
 * a 308 that acknowledges less than was sent has the rest sent again.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "obj.h"
#include "wlbuild.h"

#define CHUNK_BYTES (8u << 20)
#define CHUNK_UNIT (256u << 10)
#define UPLOAD_TIMEOUT_MS (10 * 60 * 1000)

int wlb_storage_base(struct gcp *g, bool upload, struct buf *out, struct buf *err)
{
	struct buf base = BUF_INIT;
	static const char tail[] = "storage/v1/";
	size_t tn = sizeof(tail) - 1;
	int rc = -1;

	if (gcp_endpoint(g, "storage", &base, err) < 0)
		goto out;
	if (!upload) {
		buf_add(out, base.data, base.len);
		rc = 0;
		goto out;
	}
	if (base.len < tn || strcmp(base.data + base.len - tn, tail)) {
		buf_set(err, "cannot derive the upload URL from the storage endpoint '%s' "
			"(it must end in '/storage/v1/')", base.data);
		goto out;
	}
	buf_add(out, base.data, base.len - tn);
	buf_adds(out, "upload/");
	buf_adds(out, tail);
	rc = 0;
out:
	buf_release(&base);
	return rc;
}

static int bucket_in_project(void *ctx, const cJSON *item, struct buf *err)
{
	const char *name = obj_str(item, "name");

	(void)err;
	if (name && !strcmp(name, (const char *)((void **)ctx)[0]))
		((void **)ctx)[1] = (void *)item;
	return 0;
}

int wlb_ensure_bucket(struct gcp *g, const char *project, const char *bucket,
		      struct http_cancel *cancel, struct buf *err)
{
	struct buf path = BUF_INIT;
	struct gcp_reply reply = GCP_REPLY_INIT;
	cJSON *body = cJSON_CreateObject();
	void *found[2] = { (void *)bucket, NULL };
	int rc = -1;

	if (!body || !cJSON_AddStringToObject(body, "name", bucket))
		die("out of memory");
	buf_adds(&path, "b?project=");
	http_escape(&path, project);
	/* a repeated insert answers 409, handled as "exists": safe to retry */
	struct gcp_req r = { .method = "POST", .api = "storage", .path = path.data,
			     .body = body, .idempotent = true, .cancel = cancel };
	if (gcp_do(g, &r, &reply, err) == 0) {
		info("created the staging bucket 'gs://%s'", bucket);
		rc = 0;
		goto out;
	}
	if (reply.status != 409)
		goto out;
	if (gcp_list(g, "storage", path.data, "items", bucket_in_project, found, err) < 0)
		goto out;
	if (!found[1]) {
		buf_set(err, "the staging bucket 'gs://%s' exists but is not in project '%s'; "
			"it belongs to another project and is not used", bucket, project);
		goto out;
	}
	rc = 0;
out:
	gcp_reply_release(&reply);
	cJSON_Delete(body);
	buf_release(&path);
	return rc;
}

struct up {
	struct gcp *g;
	struct http_cancel *cancel;
	const char *session;	/* the resumable session URL */
	struct buf chunk;	/* bytes not yet sent */
	size_t chunk_max;
	uint64_t sent;		/* bytes the server has */
	cJSON *object;		/* the final reply */
};

/* Where the 308's "Range: bytes=0-N" says the server is: N + 1, or 0. */
static uint64_t acked(const struct http_response *resp)
{
	const char *h = buf_str(&resp->headers), *p;

	for (p = h; (p = strcasestr(p, "range:")); p += 6) {
		if (p != h && p[-1] != '\n')
			continue;
		p = strstr(p, "bytes=");
		if (p && (p = strchr(p, '-')))
			return strtoull(p + 1, NULL, 10) + 1;
		break;
	}
	return 0;
}

/* PUTs the chunk buffer at offset u->sent; the last one names the total. */
static int put_chunk(struct up *u, bool last, struct buf *err)
{
	struct buf tok = BUF_INIT, range = BUF_INIT;
	struct http_response resp = HTTP_RESPONSE_INIT;
	int rc = -1, rounds = 0;

	if (gcp_access_token(u->g, &tok, err) < 0)
		goto out;
	for (;;) {
		uint64_t a = u->sent, z = u->sent + u->chunk.len - 1, have;
		const char *hdrs[] = { range.data, NULL };

		buf_reset(&range);
		if (!u->chunk.len)
			buf_printf(&range, "Content-Range: bytes */%llu", (unsigned long long)a);
		else if (last)
			buf_printf(&range, "Content-Range: bytes %llu-%llu/%llu",
				   (unsigned long long)a, (unsigned long long)z,
				   (unsigned long long)(z + 1));
		else
			buf_printf(&range, "Content-Range: bytes %llu-%llu/*",
				   (unsigned long long)a, (unsigned long long)z);
		hdrs[0] = range.data;
		struct http_request hr = {
			.method = "PUT", .url = u->session, .headers = hdrs, .bearer = tok.data,
			.content_type = "application/gzip", .body = u->chunk.data,
			.body_len = u->chunk.len, .timeout_ms = UPLOAD_TIMEOUT_MS,
			.cancel = u->cancel,
		};
		if (http_do(gcp_http(u->g), &hr, &resp, err) < 0)
			goto out;
		if (resp.status == 200 || resp.status == 201) {
			u->sent += u->chunk.len;
			buf_reset(&u->chunk);
			cJSON_Delete(u->object);
			u->object = cJSON_ParseWithLength(resp.body.data, resp.body.len);
			if (!u->object) {
				buf_set(err, "storage: cannot parse the reply of the upload");
				goto out;
			}
			break;
		}
		if (resp.status != 308) {
			gcp_error_format("storage", resp.status, resp.body.data, resp.body.len,
					 err, NULL, NULL);
			goto out;
		}
		have = acked(&resp);
		if (have < u->sent || have > u->sent + u->chunk.len) {
			buf_set(err, "storage: the upload session is at byte %llu, not %llu",
				(unsigned long long)have,
				(unsigned long long)(u->sent + u->chunk.len));
			goto out;
		}
		buf_consume(&u->chunk, (size_t)(have - u->sent));
		u->sent = have;
		if (!last)
			break;	/* the rest goes with the next chunk */
		if (++rounds >= 5) {
			buf_set(err, "storage: the upload stopped at byte %llu",
				(unsigned long long)have);
			goto out;
		}
	}
	rc = 0;
out:
	if (tok.data)
		explicit_bzero(tok.data, tok.cap);
	buf_release(&tok);
	buf_release(&range);
	http_response_release(&resp);
	return rc;
}

static int up_sink(void *ctx, const void *data, size_t len, struct buf *err)
{
	struct up *u = ctx;
	const char *p = data;

	while (len) {
		size_t n = u->chunk_max - u->chunk.len < len ? u->chunk_max - u->chunk.len : len;

		buf_add(&u->chunk, p, n);
		p += n;
		len -= n;
		if (u->chunk.len == u->chunk_max && put_chunk(u, false, err) < 0)
			return -1;
	}
	return 0;
}

/* Starts the resumable session: its URL into *session. */
static int start_session(struct gcp *g, const char *bucket, const char *object,
			 struct http_cancel *cancel, struct buf *session, struct buf *err)
{
	struct buf url = BUF_INIT, tok = BUF_INIT;
	struct http_response resp = HTTP_RESPONSE_INIT;
	cJSON *meta = cJSON_CreateObject(), *links = cJSON_CreateArray();
	char *body = NULL;
	const char *hdrs[] = { "X-Upload-Content-Type: application/gzip", NULL };
	int rc = -1;

	if (!meta || !links || !cJSON_AddStringToObject(meta, "name", object) ||
	    !cJSON_AddStringToObject(meta, "contentType", "application/gzip") ||
	    !(body = cJSON_PrintUnformatted(meta)))
		die("out of memory");
	if (wlb_storage_base(g, true, &url, err) < 0 || gcp_access_token(g, &tok, err) < 0)
		goto out;
	buf_adds(&url, "b/");
	http_escape(&url, bucket);
	buf_adds(&url, "/o?uploadType=resumable&name=");
	http_escape(&url, object);
	/* a session that is never used costs nothing: safe to repeat */
	struct http_request hr = {
		.method = "POST", .url = url.data, .headers = hdrs, .bearer = tok.data,
		.content_type = "application/json; charset=UTF-8", .body = body,
		.body_len = strlen(body), .idempotent = true, .cancel = cancel,
		.timeout_ms = 60000,
	};
	if (http_do(gcp_http(g), &hr, &resp, err) < 0)
		goto out;
	if (resp.status < 200 || resp.status > 299) {
		gcp_error_format("storage", resp.status, resp.body.data, resp.body.len, err,
				 NULL, NULL);
		goto out;
	}
	if (!resp.location.len) {
		buf_set(err, "storage: the resumable upload was not given a session URL");
		goto out;
	}
	cJSON_AddItemToArray(links, cJSON_CreateString(buf_str(&resp.location)));
	gcp_rewrite_links(g, links);
	buf_adds(session, cJSON_GetArrayItem(links, 0)->valuestring);
	rc = 0;
out:
	if (tok.data)
		explicit_bzero(tok.data, tok.cap);
	buf_release(&tok);
	buf_release(&url);
	http_response_release(&resp);
	cJSON_Delete(links);
	cJSON_Delete(meta);
	free(body);
	return rc;
}

/* WLKIT_UPLOAD_CHUNK_KIB (a multiple of 256) sets the chunk size, so tests
 * can send a small context in several chunks. */
static size_t chunk_size(void)
{
	const char *s = getenv("WLKIT_UPLOAD_CHUNK_KIB");
	char *end;
	unsigned long kib;

	if (!s || !*s)
		return CHUNK_BYTES;
	kib = strtoul(s, &end, 10);
	if (*end || !kib || (kib << 10) % CHUNK_UNIT || kib > (1ul << 20)) {
		warn("ignoring WLKIT_UPLOAD_CHUNK_KIB '%s': not a multiple of 256", s);
		return CHUNK_BYTES;
	}
	return kib << 10;
}

int wlb_upload_context(struct gcp *g, struct wlb_context *c, const char *bucket,
		       const char *object, struct http_cancel *cancel,
		       int64_t *generation, struct buf *err)
{
	struct buf session = BUF_INIT;
	struct up u = { .g = g, .cancel = cancel, .chunk_max = chunk_size() };
	const char *gen;
	int rc = -1;

	buf_init(&u.chunk);
	if (start_session(g, bucket, object, cancel, &session, err) < 0)
		goto out;
	u.session = session.data;
	buf_grow(&u.chunk, u.chunk_max);
	if (archive_tgz(c->dir, c->ig, up_sink, &u, &c->st, err) < 0)
		goto out;
	if (put_chunk(&u, true, err) < 0)
		goto out;
	if (!u.object || !(gen = obj_str(u.object, "generation"))) {
		buf_set(err, "storage: the upload of 'gs://%s/%s' did not finish", bucket, object);
		goto out;
	}
	*generation = strtoll(gen, NULL, 10);
	rc = 0;
out:
	cJSON_Delete(u.object);
	buf_release(&u.chunk);
	buf_release(&session);
	return rc;
}
