/* s3_get.c - resumable, verified downloads (see s3.h, "Downloads"). */
#include "s3.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s3_internal.h"

#define GET_ATTEMPTS 5	/* a stream cut mid-way resumes this many times */

struct sink {
	int fd;
	int64_t have;		/* bytes in the file */
	int64_t total;		/* -1: unknown */
	int64_t start;		/* the Range asked from here; 0: none */
	bool checked;		/* the first chunk looked at the headers */
	const struct http_response *resp;
	s3_progress_fn fn;
	void *ctx;
	int err;		/* errno of a failed write */
	bool hashing;		/* md5 follows the file: the ETag is an MD5 */
	struct s3_md5 md5;	/* of the file's first `have` bytes */
};

/* on_data: appends to the .part; a 200 to a Range request starts over. */
static int sink_data(void *p, const char *data, size_t len)
{
	struct sink *k = p;
	struct buf range = BUF_INIT;
	ssize_t w;

	if (!k->checked) {
		k->checked = true;
		if (k->start && s3_header(k->resp, "Content-Range", &range) < 0) {
			if (ftruncate(k->fd, 0) < 0 ||
			    lseek(k->fd, 0, SEEK_SET) < 0) {
				k->err = errno;
				buf_release(&range);
				return 1;
			}
			k->have = 0;
			s3_md5_init(&k->md5);
		}
		buf_release(&range);
	}
	if (k->hashing)	/* while the bytes are at hand: no second pass */
		s3_md5_update(&k->md5, data, len);
	while (len) {
		w = write(k->fd, data, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			k->err = errno;
			return 1;
		}
		data += w;
		len -= w;
		k->have += w;
	}
	if (k->fn)
		k->fn(k->ctx, k->have, k->total);
	return 0;
}

/* Size and ETag from a HEAD. */
static int head(struct s3 *s, const char *bucket, const char *key,
		int64_t *size, struct buf *etag, struct buf *err)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf len = BUF_INIT;
	struct s3_req r = { .method = "HEAD", .bucket = bucket, .key = key };
	int rc = -1;

	if (s3_request(s, &r, &resp, err) < 0)
		goto out;
	*size = s3_header(&resp, "Content-Length", &len) < 0 ? -1
		: strtoll(len.data, NULL, 10);
	if (s3_header(&resp, "ETag", etag) == 0)
		s3_etag_strip(etag);
	rc = 0;
out:
	http_response_release(&resp);
	buf_release(&len);
	return rc;
}

/* The MD5 of the first n bytes of fd, into m (a resumed .part). */
static int file_md5(int fd, int64_t n, struct s3_md5 *m)
{
	char chunk[65536];
	off_t off = 0;
	ssize_t got;

	s3_md5_init(m);
	while (off < n) {
		got = pread(fd, chunk, n - off < (int64_t)sizeof chunk ?
			    (size_t)(n - off) : sizeof chunk, off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (!got)
			break;
		s3_md5_update(m, chunk, got);
		off += got;
	}
	return 0;
}

static void add_hex(struct buf *out, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf_printf(out, "%02x", p[i]);
}

/* Size, then MD5 against a plain ETag. */
static int verify(struct sink *k, const char *bucket, const char *key,
		  const char *etag, struct buf *err)
{
	unsigned char md5[16];
	struct buf got = BUF_INIT;
	int rc = -1, ok;

	if (k->total >= 0 && k->have != k->total) {
		buf_set(err, "s3: '%s/%s': got %lld bytes, the object has %lld",
			bucket, key, (long long)k->have, (long long)k->total);
		goto out;
	}
	if (!k->hashing) {
		rc = 0;
		goto out;
	}
	s3_md5_final(&k->md5, md5);
	if ((ok = s3_etag_check(etag, md5)) == 0) {
		add_hex(&got, md5, sizeof md5);
		buf_set(err, "s3: '%s/%s': the download's MD5 %s does not match the ETag %s",
			bucket, key, got.data, etag);
		goto out;
	}
	rc = 0;		/* an ETag that is no MD5 (SSE-KMS) says nothing */
out:
	buf_release(&got);
	return rc;
}

int s3_get_file(struct s3 *s, const char *bucket, const char *key,
		const char *path, const struct s3_object *expect,
		s3_progress_fn fn, void *ctx, struct buf *err)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf part = BUF_INIT, etag = BUF_INIT, range = BUF_INIT;
	struct sink k = { .fd = -1, .total = -1, .fn = fn, .ctx = ctx };
	struct stat st;
	int attempt, rc = -1;
	bool drop = false;

	if (expect && expect->size >= 0) {
		k.total = expect->size;
		buf_adds(&etag, expect->etag ? expect->etag : "");
		s3_etag_strip(&etag);
	} else if (head(s, bucket, key, &k.total, &etag, err) < 0) {
		goto out;
	}
	buf_printf(&part, "%s.part", path);
	if ((k.fd = open(part.data, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0 ||
	    fstat(k.fd, &st) < 0) {
		buf_set(err, "cannot open '%s': %s", part.data, strerror(errno));
		goto out;
	}
	k.have = st.st_size;
	if (k.total >= 0 && k.have > k.total) {
		if (ftruncate(k.fd, 0) < 0) {
			buf_set(err, "cannot truncate '%s': %s", part.data,
				strerror(errno));
			goto out;
		}
		k.have = 0;
	}
	/* a plain ETag is the MD5 of the object (a multipart one has a '-') */
	k.hashing = etag.len && !strchr(etag.data, '-');
	if (k.hashing && file_md5(k.fd, k.have, &k.md5) < 0) {
		buf_set(err, "cannot read '%s': %s", part.data, strerror(errno));
		goto out;
	}
	if (lseek(k.fd, k.have, SEEK_SET) < 0) {
		buf_set(err, "cannot seek in '%s': %s", part.data, strerror(errno));
		goto out;
	}
	drop = true;
	for (attempt = 1; k.total < 0 || k.have < k.total; attempt++) {
		struct s3_req r = { .method = "GET", .bucket = bucket, .key = key,
				    .on_data = sink_data, .ctx = &k };
		int64_t before = k.have;
		int sent;

		buf_reset(&range);
		if (k.have > 0) {
			buf_printf(&range, "Range: bytes=%lld-", (long long)k.have);
			r.header = range.data;
		}
		k.start = k.have;
		k.checked = false;
		k.resp = &resp;
		sent = s3_send(s, &r, &resp, err);
		if (k.err) {
			buf_set(err, "cannot write '%s': %s", part.data,
				strerror(k.err));
			goto out;
		}
		if (!sent && resp.status == 416 && k.have == k.total)
			break;
		if (!sent && (resp.status < 200 || resp.status > 299)) {
			s3_fail(&r, &resp, err);
			drop = false;	/* keep what we have for a later resume */
			goto out;
		}
		if (!sent)
			break;
		/* cut mid-stream: go on from where it stopped */
		if (k.have == before || attempt >= GET_ATTEMPTS) {
			drop = false;
			goto out;
		}
	}
	if (verify(&k, bucket, key, etag.data, err) < 0)
		goto out;
	drop = false;
	if (close(k.fd) < 0) {
		k.fd = -1;
		buf_set(err, "cannot write '%s': %s", part.data, strerror(errno));
		goto out;
	}
	k.fd = -1;
	if (rename(part.data, path) < 0) {
		buf_set(err, "cannot rename '%s' to '%s': %s", part.data, path,
			strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (k.fd >= 0)
		close(k.fd);
	if (drop)
		unlink(part.data);
	http_response_release(&resp);
	buf_release(&part);
	buf_release(&etag);
	buf_release(&range);
	return rc;
}
