/* s3.h - a small S3 client: buckets, objects, multipart uploads, resumable
 * downloads, over http.h with AWS Signature Version 4 (libcurl signs).
 *
 * Addressing is path-style: ENDPOINT/BUCKET/KEY, each '/'-separated segment
 * of the key percent-encoded (s3_key_path), so MinIO, s3rver, VAST and AWS
 * all take it. Every request carries x-amz-content-sha256 with the real
 * SHA-256 of its body (bodies are in memory: a single PUT of at most the
 * multipart threshold, or one part).
 *
 * Uploads (s3_put_file): a file up to the multipart threshold (16 MiB; the
 * environment variable WLKIT_S3_MULTIPART_MIB, a positive integer, changes
 * it, for tests) is one PUT; a larger one is CreateMultipartUpload, then
 * UploadPart for each part (threshold-sized, larger when the file would
 * need over 10000 parts) read from the file one at a time (never the whole
 * file in memory) and retried on its own (a PUT: idempotent), then
 * CompleteMultipartUpload (a POST marked idempotent: completing twice
 * gives the same object, or NoSuchUpload which we then check with HEAD).
 * Any failure after the create sends AbortMultipartUpload. The create is
 * retried too (S3 answers 503 SlowDown to any request), so at the end the
 * uploads of that key other than ours (made by an attempt whose reply was
 * lost) are listed and aborted.
 *
 * Downloads (s3_get_file): the body streams to PATH.part; an existing
 * PATH.part is resumed with "Range: bytes=N-" (when its size is below the
 * expected size; a .part at least that large is started over). The result
 * is checked against the object's size and ETag (from `expect` when given,
 * else from a HEAD): a plain ETag is the MD5 of the content and is compared
 * with the MD5 of the whole file; a multipart ETag ("...-N") only the size.
 * A mismatch removes PATH.part and fails with "s3: 'KEY': ...". On success
 * PATH.part is renamed to PATH.
 *
 * Listing (s3_list) is ListObjectsV2 with continuation tokens; each object
 * is handed to the callback (its strings live until the callback returns).
 * WLKIT_S3_LIST_MAX_KEYS (1..1000) sets max-keys, for tests.
 *
 * Errors: every function returns 0 on success and -1 on failure with one
 * line in *err (no "error: " prefix), for an S3 error response
 * "s3: CODE: MESSAGE (bucket B)" or "s3: CODE: MESSAGE (key B/K)", for a
 * transport failure http.h's message. Retries (429, 5xx, transport) are
 * http.h's.
 *
 * Threads: a struct s3 holds only settings and the shared struct http, so
 * it may be used from several threads at once.
 *
 * Ownership: s3_open copies the config; s3_close frees. cJSON results are
 * the caller's (cJSON_Delete).
 */
#ifndef WLKIT_S3_H
#define WLKIT_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "buf.h"

struct s3_config {
	const char *endpoint;	/* http(s)://host:port, no path */
	const char *region;	/* "us-east-1" when NULL or "" */
	const char *access_key, *secret_key;
};

struct s3;

int s3_open(const struct s3_config *c, struct s3 **out, struct buf *err);
void s3_close(struct s3 *s);

/* Creates the bucket; one that exists and is ours is success. */
int s3_bucket_create(struct s3 *s, const char *bucket, struct buf *err);
/* Deletes the bucket, which must be empty; one already gone (NoSuchBucket:
 * what a retry after a lost reply gets) is success, as for objects. */
int s3_bucket_delete(struct s3 *s, const char *bucket, struct buf *err);
/* 1 when it exists, 0 when not, -1 on failure. */
int s3_bucket_exists(struct s3 *s, const char *bucket, struct buf *err);
/* *names: a new cJSON array of the buckets' names. */
int s3_bucket_list(struct s3 *s, cJSON **names, struct buf *err);

/* Uploads the file at path as bucket/key (see "Uploads"). */
int s3_put_file(struct s3 *s, const char *bucket, const char *key,
		const char *path, struct buf *err);
/* One PUT of data[0..n); content_type may be NULL. */
int s3_put_data(struct s3 *s, const char *bucket, const char *key,
		const void *data, size_t n, const char *content_type,
		struct buf *err);

struct s3_object {
	const char *key;
	int64_t size;		/* -1: unknown */
	const char *etag;	/* without quotes; NULL or "": unknown */
	const char *last_modified;	/* as the server wrote it, or NULL */
};

/* 0 to go on, any other value stops the listing: s3_list returns it. */
typedef int (*s3_list_fn)(void *ctx, const struct s3_object *o);
/* Every object of bucket whose key starts with prefix (NULL: all), in key
 * order. Returns 0, -1 with *err, or the callback's stop value. */
int s3_list(struct s3 *s, const char *bucket, const char *prefix,
	    s3_list_fn fn, void *ctx, struct buf *err);

/* Progress of a download: bytes in the file so far (a resumed .part
 * counts), and the total (-1 while unknown). */
typedef void (*s3_progress_fn)(void *ctx, int64_t done, int64_t total);
/* Downloads bucket/key to path (see "Downloads"). expect: the object's
 * size and ETag as a listing gave them, or NULL (then a HEAD asks). fn may
 * be NULL. */
int s3_get_file(struct s3 *s, const char *bucket, const char *key,
		const char *path, const struct s3_object *expect,
		s3_progress_fn fn, void *ctx, struct buf *err);

/* Deletes the keys, 1000 per DeleteObjects request; a key that does not
 * exist is not an error; a key the server refused to delete is. */
int s3_delete_objects(struct s3 *s, const char *bucket,
		      const char *const *keys, size_t n, struct buf *err);
/* Deletes every object whose key starts with prefix (NULL or "": all). */
int s3_delete_prefix(struct s3 *s, const char *bucket, const char *prefix,
		     struct buf *err);

/* The parts, exposed for unit tests. */

/* Appends "CODE: MESSAGE" from an S3 <Error> body to out; for a body that
 * is not one (empty, HTML, malformed) "HTTP STATUS REASON" (the reason
 * from http_reason_phrase, left out when unknown). Returns 0 when the body
 * was an S3 error, -1 when the fallback was used. */
int s3_error_line(long status, const char *xml, size_t n, struct buf *out);
/* Appends the key as a URL path: each '/'-separated segment escaped as
 * http_escape does, the '/' kept. */
void s3_key_path(struct buf *out, const char *key);
/* Parses one ListObjectsV2 page: calls fn for each <Contents> in order;
 * *truncated from <IsTruncated>, next (reset first) from
 * <NextContinuationToken>. Returns 0, -1 with *err on a body that is not
 * a ListBucketResult, or the callback's stop value. */
int s3_list_parse(const char *xml, size_t n, s3_list_fn fn, void *ctx,
		  bool *truncated, struct buf *next, struct buf *err);
/* Parses a ListAllMyBucketsResult into a new array of names. */
int s3_buckets_parse(const char *xml, size_t n, cJSON **names,
		     struct buf *err);
/* Appends a DeleteObjects request body for keys[0..n) (Quiet mode). */
void s3_delete_body(struct buf *out, const char *const *keys, size_t n);
/* From a DeleteResult: 0 when it has no <Error>; else -1 with
 * "s3: CODE: MESSAGE (key K)" for the first one in *err. */
int s3_delete_result(const char *xml, size_t n, struct buf *err);
/* Checks an ETag (quotes allowed) against content MD5 md5[16]: 1 match,
 * 0 mismatch, -1 when it is a multipart ETag (not an MD5) or not hex. */
int s3_etag_check(const char *etag, const unsigned char md5[16]);

#endif
