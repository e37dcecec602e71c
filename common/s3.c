/* s3.c - the S3 client's requests (see s3.h); the XML is s3_xml.c's. */
#include "s3.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "http.h"
#include "s3_internal.h"

#define MIB (1024 * 1024)
#define MAX_PARTS 10000
#define DELETE_BATCH 1000
#define GET_RESUMES 5

struct s3 {
	struct http *http;
	char *endpoint;		/* without a trailing '/' */
	char *access_key, *secret_key;
	struct buf sigv4;	/* "aws:amz:REGION:s3" */
};

static char *dup_str(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		abort();
	return d;
}

int s3_open(const struct s3_config *c, struct s3 **out, struct buf *err)
{
	struct s3 *s;
	size_t n;

	*out = NULL;
	if (!c->endpoint || (strncmp(c->endpoint, "http://", 7) &&
			     strncmp(c->endpoint, "https://", 8))) {
		buf_set(err, "s3: the endpoint '%s' is not an http:// or https:// URL",
			c->endpoint ? c->endpoint : "");
		return -1;
	}
	if (!c->access_key || !*c->access_key || !c->secret_key) {
		buf_set(err, "s3: no access key for '%s'", c->endpoint);
		return -1;
	}
	if (!(s = calloc(1, sizeof *s)))
		abort();
	s->endpoint = dup_str(c->endpoint);
	n = strlen(s->endpoint);
	while (n && s->endpoint[n - 1] == '/')
		s->endpoint[--n] = '\0';
	s->access_key = dup_str(c->access_key);
	s->secret_key = dup_str(c->secret_key);
	buf_printf(&s->sigv4, "aws:amz:%s:s3",
		   c->region && *c->region ? c->region : "us-east-1");
	s->http = http_new();
	*out = s;
	return 0;
}

void s3_close(struct s3 *s)
{
	if (!s)
		return;
	http_free(s->http);
	free(s->endpoint);
	free(s->access_key);
	free(s->secret_key);
	buf_release(&s->sigv4);
	free(s);
}

static void add_hex(struct buf *out, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf_printf(out, "%02x", p[i]);
}

static void md5_of(const void *data, size_t n, unsigned char out[16])
{
	struct s3_md5 m;

	s3_md5_init(&m);
	s3_md5_update(&m, data, n);
	s3_md5_final(&m, out);
}

/* "s3: WHAT (bucket B)" / "(key B/K)" for a failed response. */
void s3_fail(const struct s3_req *r, const struct http_response *resp,
		 struct buf *err)
{
	struct buf line = BUF_INIT;

	if (!resp->body.len && resp->status == 404 && r->key)
		buf_adds(&line, "NoSuchKey: The specified key does not exist");
	else if (!resp->body.len && resp->status == 404)
		buf_adds(&line, "NoSuchBucket: The specified bucket does not exist");
	else
		s3_error_line(resp->status, resp->body.data, resp->body.len, &line);
	if (r->key)
		buf_set(err, "s3: %s (key %s/%s)", line.data, r->bucket, r->key);
	else if (r->bucket)
		buf_set(err, "s3: %s (bucket %s)", line.data, r->bucket);
	else
		buf_set(err, "s3: %s", line.data);
	buf_release(&line);
}

/* Sends the request; 0 when a response arrived (any status). */
int s3_send(struct s3 *s, const struct s3_req *r,
		 struct http_response *resp, struct buf *err)
{
	struct buf url = BUF_INIT, sha = BUF_INIT, md5 = BUF_INIT;
	struct crypto_sha256 h = { NULL };
	unsigned char digest[CRYPTO_SHA256_LEN], m[16];
	const char *headers[4];
	int n = 0, rc = -1;

	buf_adds(&url, s->endpoint);
	buf_addch(&url, '/');
	if (r->bucket) {
		http_escape(&url, r->bucket);
		if (r->key) {
			buf_addch(&url, '/');
			s3_key_path(&url, r->key);
		}
	}
	if (r->query)
		buf_printf(&url, "?%s", r->query);
	if (crypto_sha256_init(&h) < 0 ||
	    crypto_sha256_update(&h, r->body ? r->body : "", r->len) < 0 ||
	    crypto_sha256_final(&h, digest) < 0) {
		buf_set(err, "s3: cannot hash the request body");
		goto out;
	}
	buf_adds(&sha, "x-amz-content-sha256: ");
	add_hex(&sha, digest, sizeof digest);
	headers[n++] = sha.data;
	if (r->content_md5) {
		md5_of(r->body ? r->body : "", r->len, m);
		buf_adds(&md5, "Content-MD5: ");
		buf_add_base64(&md5, m, sizeof m);
		headers[n++] = md5.data;
	}
	if (r->header)
		headers[n++] = r->header;
	headers[n] = NULL;
	{
		struct http_request req = {
			.method = r->method,
			.url = url.data,
			.headers = headers,
			.basic_user = s->access_key,
			.basic_password = s->secret_key,
			.aws_sigv4 = s->sigv4.data,
			.content_type = r->content_type,
			.body = r->body,
			.body_len = r->len,
			.idempotent = r->idempotent,
			.sensitive = false,
			.on_data = r->on_data,
			.ctx = r->ctx,
		};

		rc = http_do(s->http, &req, resp, err);
	}
out:
	crypto_sha256_free(&h);
	buf_release(&url);
	buf_release(&sha);
	buf_release(&md5);
	return rc;
}

/* s3_send, then -1 with s3_fail()'s message unless the status is 2xx. */
int s3_request(struct s3 *s, const struct s3_req *r,
		 struct http_response *resp, struct buf *err)
{
	if (s3_send(s, r, resp, err) < 0)
		return -1;
	if (resp->status < 200 || resp->status > 299) {
		s3_fail(r, resp, err);
		return -1;
	}
	return 0;
}

/* The value of response header name (ignoring case) into out; -1 when
 * absent. */
int s3_header(const struct http_response *resp, const char *name,
		  struct buf *out)
{
	const char *p = buf_str(&resp->headers), *nl, *v;
	size_t n = strlen(name);

	buf_reset(out);
	for (; *p; p = nl + 1) {
		if (!(nl = strchr(p, '\n')))
			nl = p + strlen(p);
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			for (v = p + n + 1; *v == ' ' || *v == '\t'; v++)
				;
			buf_add(out, v, nl - v);
			while (out->len && (out->data[out->len - 1] == '\r' ||
					    out->data[out->len - 1] == ' '))
				buf_setlen(out, out->len - 1);
			return 0;
		}
		if (!*nl)
			break;
	}
	return -1;
}

int s3_bucket_create(struct s3 *s, const char *bucket, struct buf *err)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf body = BUF_INIT, code = BUF_INIT;
	const char *region = s->sigv4.data + strlen("aws:amz:");
	size_t rlen = strlen(region) - strlen(":s3");
	struct s3_req r = { .method = "PUT", .bucket = bucket, .idempotent = true };
	int rc = -1;

	if (rlen != strlen("us-east-1") || strncmp(region, "us-east-1", rlen)) {
		buf_adds(&body, "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			 "<LocationConstraint>");
		buf_add(&body, region, rlen);
		buf_adds(&body, "</LocationConstraint></CreateBucketConfiguration>");
		r.body = body.data;
		r.len = body.len;
	}
	if (s3_send(s, &r, &resp, err) < 0)
		goto out;
	/* BucketAlreadyExists from a server with one account (s3rver,
	 * some appliances) may be ours: it is when we can read it */
	if (resp.status == 409 &&
	    !s3_xml_field(resp.body.data, resp.body.len, "Code", &code) &&
	    (!strcmp(code.data, "BucketAlreadyOwnedByYou") ||
	     (!strcmp(code.data, "BucketAlreadyExists") &&
	      s3_bucket_exists(s, bucket, err) == 1))) {
		rc = 0;
		goto out;
	}
	if (resp.status < 200 || resp.status > 299) {
		s3_fail(&r, &resp, err);
		goto out;
	}
	rc = 0;
out:
	http_response_release(&resp);
	buf_release(&body);
	buf_release(&code);
	return rc;
}

int s3_bucket_delete(struct s3 *s, const char *bucket, struct buf *err)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf code = BUF_INIT;
	struct s3_req r = { .method = "DELETE", .bucket = bucket, .idempotent = true };
	int rc = -1;

	if (s3_send(s, &r, &resp, err) < 0)
		goto out;
	/* already gone is done: a retry after a lost reply gets NoSuchBucket,
	 * and so does libcurl's own resend on a reused connection, which
	 * http.c never sees (attempts stays 1) */
	if ((resp.status >= 200 && resp.status <= 299) ||
	    (resp.status == 404 &&
	     !s3_xml_field(resp.body.data, resp.body.len, "Code", &code) &&
	     !strcmp(code.data, "NoSuchBucket")))
		rc = 0;
	else
		s3_fail(&r, &resp, err);
out:
	http_response_release(&resp);
	buf_release(&code);
	return rc;
}

int s3_bucket_exists(struct s3 *s, const char *bucket, struct buf *err)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct s3_req r = { .method = "HEAD", .bucket = bucket };
	int rc = -1;

	if (s3_send(s, &r, &resp, err) < 0)
		goto out;
	if (resp.status == 404)
		rc = 0;
	else if (resp.status >= 200 && resp.status <= 299)
		rc = 1;
	else
		s3_fail(&r, &resp, err);
out:
	http_response_release(&resp);
	return rc;
}

int s3_bucket_list(struct s3 *s, cJSON **names, struct buf *err)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct s3_req r = { .method = "GET" };
	int rc = -1;

	*names = NULL;
	if (s3_request(s, &r, &resp, err) < 0)
		goto out;
	rc = s3_buckets_parse(resp.body.data, resp.body.len, names, err);
out:
	http_response_release(&resp);
	return rc;
}

int s3_put_data(struct s3 *s, const char *bucket, const char *key,
		const void *data, size_t n, const char *content_type,
		struct buf *err)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct s3_req r = {
		.method = "PUT", .bucket = bucket, .key = key,
		.body = data ? data : "", .len = n,
		.content_type = content_type ? content_type
					     : "application/octet-stream",
		.content_md5 = true, .idempotent = true,
	};
	int rc = s3_request(s, &r, &resp, err);

	http_response_release(&resp);
	return rc;
}

/* Reads n bytes at off into b (reset first). */
static int read_at(int fd, int64_t off, size_t n, struct buf *b,
		   const char *path, struct buf *err)
{
	ssize_t got;

	buf_reset(b);
	buf_grow(b, n);
	while (b->len < n) {
		got = pread(fd, b->data + b->len, n - b->len, off + b->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			buf_set(err, "cannot read '%s': %s", path,
				got < 0 ? strerror(errno) : "the file shrank");
			return -1;
		}
		b->len += got;
	}
	b->data[b->len] = '\0';
	return 0;
}

static int64_t env_int(const char *name, int64_t lo, int64_t hi, int64_t def)
{
	const char *v = getenv(name);
	char *end;
	long long n;

	if (!v || !*v)
		return def;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || *end || n < lo || n > hi)
		return def;
	return n;
}

static int64_t threshold(void)
{
	return env_int("WLKIT_S3_MULTIPART_MIB", 1, 5 * 1024, 16) * MIB;
}

static void abort_upload(struct s3 *s, const char *bucket, const char *key,
			 const char *query)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf ignored = BUF_INIT;
	struct s3_req r = { .method = "DELETE", .bucket = bucket, .key = key,
			    .query = query, .idempotent = true };

	s3_send(s, &r, &resp, &ignored);
	http_response_release(&resp);
	buf_release(&ignored);
}

/* After a multipart upload: a CreateMultipartUpload sent again after a
 * lost reply (by http.c, or by libcurl itself on a reused connection, which
 * nobody sees) may have made an upload whose id never came back: aborts
 * every upload of bucket/key but keep_id (ours, completed or aborted by
 * then). Best effort: what fails here is left to the bucket's lifecycle. */
static void abort_orphans(struct s3 *s, const char *bucket, const char *key,
			  const char *keep_id)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf ignored = BUF_INIT, query = BUF_INIT, k = BUF_INIT,
		   id = BUF_INIT;
	const char *p, *end;

	buf_adds(&query, "prefix=");	/* in order: some signers do not sort */
	http_escape(&query, key);
	buf_adds(&query, "&uploads=");
	struct s3_req r = { .method = "GET", .bucket = bucket, .query = query.data };
	if (s3_request(s, &r, &resp, &ignored) < 0)
		goto out;
	for (p = buf_str(&resp.body); (p = strstr(p, "<Upload>")) &&
	     (end = strstr(p, "</Upload>")); p = end + 9) {
		if (s3_xml_field(p, (size_t)(end - p), "Key", &k) ||
		    strcmp(k.data, key) ||
		    s3_xml_field(p, (size_t)(end - p), "UploadId", &id) ||
		    !strcmp(id.data, keep_id))
			continue;
		buf_reset(&query);
		buf_adds(&query, "uploadId=");
		http_escape(&query, id.data);
		abort_upload(s, bucket, key, query.data);
	}
out:
	http_response_release(&resp);
	buf_release(&ignored);
	buf_release(&query);
	buf_release(&k);
	buf_release(&id);
}

/* After a CompleteMultipartUpload whose reply was lost and whose retry got
 * NoSuchUpload: did the first one make the object? */
static bool object_has_size(struct s3 *s, const char *bucket, const char *key,
			    int64_t size)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf len = BUF_INIT, ignored = BUF_INIT;
	struct s3_req r = { .method = "HEAD", .bucket = bucket, .key = key };
	bool ok;

	ok = !s3_send(s, &r, &resp, &ignored) && resp.status == 200 &&
	     !s3_header(&resp, "Content-Length", &len) &&
	     strtoll(len.data, NULL, 10) == size;
	http_response_release(&resp);
	buf_release(&len);
	buf_release(&ignored);
	return ok;
}

static int put_multipart(struct s3 *s, const char *bucket, const char *key,
			 int fd, int64_t size, const char *path,
			 struct buf *err)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf id = BUF_INIT, upload = BUF_INIT, query = BUF_INIT,
		   part = BUF_INIT, etag = BUF_INIT, body = BUF_INIT,
		   code = BUF_INIT;
	int64_t psize = threshold(), off;
	size_t nparts, i;
	char **etags = NULL;
	bool created = false;
	int rc = -1;

	if ((size + psize - 1) / psize > MAX_PARTS)
		psize = ((size + MAX_PARTS - 1) / MAX_PARTS + MIB - 1) / MIB * MIB;
	nparts = (size_t)((size + psize - 1) / psize);
	{
		/* retried (a 503 SlowDown must not lose the file); an attempt
		 * whose reply was lost may leave an upload: see abort_orphans */
		struct s3_req r = { .method = "POST", .bucket = bucket,
				    .key = key, .query = "uploads=",
				    .content_type = "application/octet-stream",
				    .idempotent = true };

		if (s3_request(s, &r, &resp, err) < 0)
			goto out;
		if (s3_xml_field(resp.body.data, resp.body.len, "UploadId", &id) ||
		    !id.len) {
			buf_set(err, "s3: CreateMultipartUpload gave no UploadId (key %s/%s)",
				bucket, key);
			goto out;
		}
	}
	created = true;
	buf_adds(&upload, "uploadId=");
	http_escape(&upload, id.data);
	if (!(etags = calloc(nparts, sizeof *etags)))
		abort();
	for (i = 0, off = 0; i < nparts; i++, off += psize) {
		size_t n = (size_t)(size - off < psize ? size - off : psize);
		struct s3_req r = { .method = "PUT", .bucket = bucket, .key = key,
				    .content_md5 = true, .idempotent = true };

		if (read_at(fd, off, n, &part, path, err) < 0)
			goto out;
		buf_reset(&query);
		buf_printf(&query, "partNumber=%zu&%s", i + 1, upload.data);
		r.query = query.data;
		r.body = part.data;
		r.len = part.len;
		if (s3_request(s, &r, &resp, err) < 0)
			goto out;
		if (s3_header(&resp, "ETag", &etag) < 0) {
			buf_set(err, "s3: part %zu got no ETag (key %s/%s)", i + 1,
				bucket, key);
			goto out;
		}
		s3_etag_strip(&etag);
		etags[i] = buf_detach(&etag, NULL);
	}
	s3_complete_body(&body, etags, nparts);
	{
		/* Completing twice is harmless: the same parts make the same
		 * object (a retry after a lost reply gets NoSuchUpload; libcurl
		 * may have sent it again itself, so attempts can be 1) */
		struct s3_req r = { .method = "POST", .bucket = bucket,
				    .key = key, .query = upload.data,
				    .body = body.data, .len = body.len,
				    .content_type = "application/xml",
				    .idempotent = true };

		if (s3_send(s, &r, &resp, err) < 0)
			goto out;
		if (resp.status == 404 &&
		    !s3_xml_field(resp.body.data, resp.body.len, "Code", &code) &&
		    !strcmp(code.data, "NoSuchUpload") &&
		    object_has_size(s, bucket, key, size)) {
			created = false;
			rc = 0;
			goto out;
		}
		/* S3 may answer 200 and put the <Error> in the body */
		if (resp.status < 200 || resp.status > 299 ||
		    !s3_xml_field(resp.body.data, resp.body.len, "Error", &code)) {
			s3_fail(&r, &resp, err);
			goto out;
		}
	}
	created = false;
	rc = 0;
out:
	if (created)
		abort_upload(s, bucket, key, upload.data);
	abort_orphans(s, bucket, key, buf_str(&id));
	for (i = 0; etags && i < nparts; i++)
		free(etags[i]);
	free(etags);
	http_response_release(&resp);
	buf_release(&id);
	buf_release(&upload);
	buf_release(&query);
	buf_release(&part);
	buf_release(&etag);
	buf_release(&body);
	buf_release(&code);
	return rc;
}

int s3_put_file(struct s3 *s, const char *bucket, const char *key,
		const char *path, struct buf *err)
{
	struct buf data = BUF_INIT;
	struct stat st;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		buf_set(err, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		buf_set(err, "cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		buf_set(err, "cannot upload '%s': not a regular file", path);
		goto out;
	}
	if (st.st_size > threshold()) {
		rc = put_multipart(s, bucket, key, fd, st.st_size, path, err);
		goto out;
	}
	if (read_at(fd, 0, (size_t)st.st_size, &data, path, err) < 0)
		goto out;
	rc = s3_put_data(s, bucket, key, data.data, data.len, NULL, err);
out:
	close(fd);
	buf_release(&data);
	return rc;
}

int s3_list(struct s3 *s, const char *bucket, const char *prefix,
	    s3_list_fn fn, void *ctx, struct buf *err)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf query = BUF_INIT, token = BUF_INIT;
	int64_t max = env_int("WLKIT_S3_LIST_MAX_KEYS", 1, 1000, 1000);
	bool truncated = true;
	int rc = 0;

	while (truncated && !rc) {
		struct s3_req r = { .method = "GET", .bucket = bucket };

		buf_reset(&query);
		if (token.len) {
			buf_adds(&query, "continuation-token=");
			http_escape(&query, token.data);
			buf_addch(&query, '&');
		}
		buf_printf(&query, "list-type=2&max-keys=%lld", (long long)max);
		if (prefix && *prefix) {
			buf_adds(&query, "&prefix=");
			http_escape(&query, prefix);
		}
		r.query = query.data;
		if (s3_request(s, &r, &resp, err) < 0) {
			rc = -1;
			break;
		}
		rc = s3_list_parse(resp.body.data, resp.body.len, fn, ctx,
				   &truncated, &token, err);
	}
	http_response_release(&resp);
	buf_release(&query);
	buf_release(&token);
	return rc;
}

int s3_delete_objects(struct s3 *s, const char *bucket,
		      const char *const *keys, size_t n, struct buf *err)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf body = BUF_INIT;
	size_t i, k;
	int rc = 0;

	for (i = 0; i < n && !rc; i += k) {
		/* deleting twice is deleting once */
		struct s3_req r = { .method = "POST", .bucket = bucket,
				    .query = "delete=",
				    .content_type = "application/xml",
				    .content_md5 = true, .idempotent = true };

		k = n - i < DELETE_BATCH ? n - i : DELETE_BATCH;
		buf_reset(&body);
		s3_delete_body(&body, keys + i, k);
		r.body = body.data;
		r.len = body.len;
		if (s3_request(s, &r, &resp, err) < 0)
			rc = -1;
		else
			rc = s3_delete_result(resp.body.data, resp.body.len, err);
	}
	http_response_release(&resp);
	buf_release(&body);
	return rc;
}

struct key_list {
	char **keys;
	size_t n, cap;
};

static int collect_key(void *ctx, const struct s3_object *o)
{
	struct key_list *l = ctx;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		if (!(l->keys = realloc(l->keys, l->cap * sizeof *l->keys)))
			abort();
	}
	l->keys[l->n++] = dup_str(o->key);
	return 0;
}

int s3_delete_prefix(struct s3 *s, const char *bucket, const char *prefix,
		     struct buf *err)
{
	struct key_list l = { NULL, 0, 0 };
	size_t i;
	int rc = -1;

	if (s3_list(s, bucket, prefix, collect_key, &l, err) < 0)
		goto out;
	rc = s3_delete_objects(s, bucket, (const char *const *)l.keys, l.n, err);
out:
	for (i = 0; i < l.n; i++)
		free(l.keys[i]);
	free(l.keys);
	return rc;
}
