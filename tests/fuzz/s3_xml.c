/* s3_xml.c - fuzz target: the S3 XML readers of common/s3.h over the same
 * bytes: an error body (s3_error_line), a ListObjectsV2 page
 * (s3_list_parse), a bucket list (s3_buckets_parse) and a DeleteResult
 * (s3_delete_result). */
#include <string.h>

#include "fuzz.h"
#include "s3.h"

static int on_object(void *ctx, const struct s3_object *o)
{
	size_t *n = ctx;

	/* what a listing's callback reads */
	*n += strlen(o->key) + (o->etag ? strlen(o->etag) : 0) +
	      (o->last_modified ? strlen(o->last_modified) : 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *xml = (const char *)data;
	struct buf out = BUF_INIT, next = BUF_INIT, err = BUF_INIT;
	cJSON *names = NULL;
	bool truncated = false;
	size_t n = 0;

	s3_error_line(404, xml, size, &out);
	s3_list_parse(xml, size, on_object, &n, &truncated, &next, &err);
	if (s3_buckets_parse(xml, size, &names, &err) == 0)
		cJSON_Delete(names);
	s3_delete_result(xml, size, &err);
	buf_release(&out);
	buf_release(&next);
	buf_release(&err);
	return 0;
}
