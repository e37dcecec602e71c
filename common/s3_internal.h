/* s3_internal.h - what s3.c, s3_xml.c and s3_md5.c share; not part of the
 * S3 client's interface (s3.h). */
#ifndef WLKIT_S3_INTERNAL_H
#define WLKIT_S3_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"

struct s3;

/* One request: ENDPOINT/BUCKET[/KEY][?QUERY]. */
struct s3_req {
	const char *method;
	const char *bucket, *key;	/* key may be NULL */
	const char *query;		/* already escaped, or NULL */
	const char *body;
	size_t len;
	const char *content_type;
	const char *header;		/* one more "Name: value", or NULL */
	bool content_md5;		/* send Content-MD5 of the body */
	bool idempotent;
	http_data_fn on_data;
	void *ctx;
};

/* Sends r; 0 when a response arrived (any status), -1 with *err. */
int s3_send(struct s3 *s, const struct s3_req *r, struct http_response *resp,
	    struct buf *err);
/* s3_send, then -1 with s3_fail()'s line unless the status is 2xx. */
int s3_request(struct s3 *s, const struct s3_req *r,
	       struct http_response *resp, struct buf *err);
/* "s3: CODE: MESSAGE (bucket B)" or "(key B/K)" for a failed response. */
void s3_fail(const struct s3_req *r, const struct http_response *resp,
	     struct buf *err);
/* The value of response header name (ignoring case) into out (reset
 * first); -1 when absent. */
int s3_header(const struct http_response *resp, const char *name,
	      struct buf *out);

/* The text of the first <name> element of xml[0..n) into out (reset
 * first), entities undone; -1 when there is none. */
int s3_xml_field(const char *xml, size_t n, const char *name, struct buf *out);
/* Appends code point v as UTF-8. */
void s3_add_utf8(struct buf *out, unsigned long v);
/* Removes one pair of surrounding double quotes. */
void s3_etag_strip(struct buf *etag);
/* Appends a CompleteMultipartUpload body for parts 1..n with these ETags
 * (unquoted). */
void s3_complete_body(struct buf *out, char *const *etags, size_t n);

/* MD5 (RFC 1321), for ETags and Content-MD5: S3 needs it and libcrypto's
 * is not among crypto.h's functions. */
struct s3_md5 {
	uint32_t h[4];
	uint64_t len;
	unsigned char block[64];
};
void s3_md5_init(struct s3_md5 *m);
void s3_md5_update(struct s3_md5 *m, const void *data, size_t n);
void s3_md5_final(struct s3_md5 *m, unsigned char out[16]);

#endif
