/* logtail.c - a build's log, tailed as gcloud does: a ranged GET of
 * <logsBucket>/log-<id>.txt from the last offset; 404 means the log has
 * not started, 416 that nothing is new, 206 (or 200 from the start) brings
 * the new bytes. The caller polls about once a second and once more after
 * the build ended. Only the end of the log is kept, for the failure tail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "wlbuild.h"

#define KEEP_MAX (64u << 10)
#define KEEP_AFTER_TRIM (32u << 10)

int wlb_tail_init(struct wlb_tail *t, const char *logs_bucket, const char *id,
		  bool echo, struct buf *err)
{
	const char *b = logs_bucket, *slash;
	struct buf obj = BUF_INIT;

	memset(t, 0, sizeof(*t));
	t->echo = echo;
	if (!b || strncmp(b, "gs://", 5) || !b[5]) {
		buf_set(err, "the build has no logs bucket ('%s')", b ? b : "");
		return -1;
	}
	b += 5;
	slash = strchr(b, '/');
	if (!(t->bucket = strndup(b, slash ? (size_t)(slash - b) : strlen(b))))
		die("out of memory");
	if (slash && slash[1]) {
		buf_adds(&obj, slash + 1);
		if (obj.data[obj.len - 1] != '/')
			buf_addch(&obj, '/');
	}
	buf_printf(&obj, "log-%s.txt", id);
	t->object = buf_detach(&obj, NULL);
	return 0;
}

static void keep(struct wlb_tail *t, const char *data, size_t len)
{
	buf_add(&t->last, data, len);
	if (t->last.len > KEEP_MAX) {
		size_t cut = t->last.len - KEEP_AFTER_TRIM;
		const char *nl = memchr(t->last.data + cut, '\n', t->last.len - cut);

		if (nl)
			cut = (size_t)(nl + 1 - t->last.data);
		buf_consume(&t->last, cut);
	}
}

int wlb_tail_poll(struct gcp *g, struct wlb_tail *t, struct http_cancel *cancel,
		  struct buf *err)
{
	struct buf url = BUF_INIT, tok = BUF_INIT, range = BUF_INIT;
	struct http_response resp = HTTP_RESPONSE_INIT;
	const char *data;
	size_t len;
	int rc = -1;

	if (wlb_storage_base(g, false, &url, err) < 0 || gcp_access_token(g, &tok, err) < 0)
		goto out;
	buf_adds(&url, "b/");
	http_escape(&url, t->bucket);
	buf_adds(&url, "/o/");
	http_escape(&url, t->object);
	buf_adds(&url, "?alt=media");
	buf_printf(&range, "Range: bytes=%llu-", (unsigned long long)t->offset);
	const char *hdrs[] = { range.data, NULL };
	struct http_request hr = {
		.method = "GET", .url = url.data, .headers = hdrs, .bearer = tok.data,
		.timeout_ms = 60000, .cancel = cancel,
	};
	if (http_do(gcp_http(g), &hr, &resp, err) < 0)
		goto out;
	switch (resp.status) {
	case 404:	/* not started */
	case 416:	/* nothing new */
		rc = 0;
		goto out;
	case 200:	/* the whole object: skip what was read */
	case 206:
		data = resp.body.data;
		len = resp.body.len;
		if (resp.status == 200) {
			if (len <= t->offset) {
				rc = 0;
				goto out;
			}
			data += t->offset;
			len -= t->offset;
		}
		if (len && t->echo) {
			fwrite(data, 1, len, stderr);
			fflush(stderr);
		}
		keep(t, data, len);
		t->offset += len;
		rc = 0;
		goto out;
	default:
		gcp_error_format("storage", resp.status, resp.body.data, resp.body.len, err,
				 NULL, NULL);
	}
out:
	if (tok.data)
		explicit_bzero(tok.data, tok.cap);
	buf_release(&tok);
	buf_release(&range);
	buf_release(&url);
	http_response_release(&resp);
	return rc;
}

void wlb_tail_print_last(const struct wlb_tail *t, int n)
{
	const char *s = buf_str(&t->last), *p;
	size_t len = t->last.len;

	if (!len)
		return;
	p = s + len;
	if (p > s && p[-1] == '\n')
		p--;
	while (p > s && n > 0) {
		p--;
		if (*p == '\n' && --n == 0) {
			p++;
			break;
		}
	}
	fwrite(p, 1, (size_t)(s + len - p), stderr);
	if (s[len - 1] != '\n')
		fputc('\n', stderr);
}

void wlb_tail_release(struct wlb_tail *t)
{
	free(t->bucket);
	free(t->object);
	buf_release(&t->last);
	memset(t, 0, sizeof(*t));
}
