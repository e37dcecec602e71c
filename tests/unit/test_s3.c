/* test_s3.c - the S3 client's pure parts: error lines, listings, the
 * DeleteObjects body and result, key paths, ETags, MD5. */
#include <stdlib.h>
#include <string.h>

#include "s3.h"
#include "s3_internal.h"
#include "unit.h"

static const char list_page[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Name>b</Name><Prefix>runs/</Prefix><KeyCount>2</KeyCount>"
	"<MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
	"<Contents><Key>runs/a &amp; b&lt;1&gt;.tar</Key>"
	"<LastModified>2024-05-01T10:00:00.000Z</LastModified>"
	"<ETag>&quot;5d41402abc4b2a76b9719d911017c592&quot;</ETag>"
	"<Size>5</Size><StorageClass>STANDARD</StorageClass></Contents>"
	"<Contents><Key>runs/&#233;t&#xE9;</Key><Size>17179869184</Size>"
	"<ETag>\"abc-3\"</ETag></Contents>"
	"<NextContinuationToken>1/x+y=</NextContinuationToken>"
	"</ListBucketResult>";

struct seen {
	int n;
	struct buf out;
};

static int record(void *ctx, const struct s3_object *o)
{
	struct seen *s = ctx;

	s->n++;
	buf_printf(&s->out, "%s|%lld|%s|%s\n", o->key, (long long)o->size,
		   o->etag, o->last_modified ? o->last_modified : "-");
	return 0;
}

static int stop_at_first(void *ctx, const struct s3_object *o)
{
	(void)ctx;
	(void)o;
	return 7;
}

TEST(list_page_gives_objects_in_order_with_entities_undone)
{
	struct seen s = { 0, BUF_INIT };
	struct buf next = BUF_INIT, err = BUF_INIT;
	bool truncated = false;

	CHECK_INT(s3_list_parse(list_page, strlen(list_page), record, &s,
				&truncated, &next, &err), 0);
	CHECK_INT(s.n, 2);
	CHECK_STR(s.out.data,
		  "runs/a & b<1>.tar|5|5d41402abc4b2a76b9719d911017c592|2024-05-01T10:00:00.000Z\n"
		  "runs/\xc3\xa9t\xc3\xa9|17179869184|abc-3|-\n");
	CHECK(truncated);
	CHECK_STR(next.data, "1/x+y=");
	buf_release(&s.out);
	buf_release(&next);
	buf_release(&err);
}

TEST(list_callback_stop_value_is_returned)
{
	struct buf next = BUF_INIT, err = BUF_INIT;
	bool truncated;

	CHECK_INT(s3_list_parse(list_page, strlen(list_page), stop_at_first,
				NULL, &truncated, &next, &err), 7);
	buf_release(&next);
	buf_release(&err);
}

TEST(list_last_page_and_empty_page)
{
	static const char last[] = "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>";
	struct seen s = { 0, BUF_INIT };
	struct buf next = BUF_INIT, err = BUF_INIT;
	bool truncated = true;

	buf_adds(&next, "stale");
	CHECK_INT(s3_list_parse(last, strlen(last), record, &s, &truncated,
				&next, &err), 0);
	CHECK(!truncated);
	CHECK_INT(s.n, 0);
	CHECK_INT(next.len, 0);
	buf_release(&next);
	buf_release(&err);
}

TEST(malformed_listings_fail_without_reading_past_the_end)
{
	static const char *const bad[] = {
		"", "<", "<ListBucketResult", "<ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key>",
		"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
		"<html><body>502 Bad Gateway</body></html>",
	};
	struct buf next = BUF_INIT, err = BUF_INIT;
	size_t i, cut;
	bool truncated;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		buf_reset(&err);
		CHECK_INT(s3_list_parse(bad[i], strlen(bad[i]), record, NULL,
					&truncated, &next, &err), -1);
		CHECK_CONTAINS(err.data, "s3: ");
	}
	/* every prefix of a good page: no crash, no over-read (ASan) */
	for (cut = 0; cut < sizeof list_page - 1; cut++) {
		struct seen s = { 0, BUF_INIT };
		char *copy = malloc(cut ? cut : 1);

		memcpy(copy, list_page, cut);
		s3_list_parse(copy, cut, record, &s, &truncated, &next, &err);
		CHECK(s.n <= 2);
		free(copy);
		buf_release(&s.out);
	}
	CHECK_INT(s3_list_parse(NULL, 0, record, NULL, &truncated, &next, &err), -1);
	buf_release(&next);
	buf_release(&err);
}

TEST(error_line_from_an_s3_error_body)
{
	static const char body[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"
		"<Code>NoSuchBucket</Code><Message>The specified bucket\ndoes not exist</Message>"
		"<BucketName>run-x</BucketName></Error>";
	struct buf out = BUF_INIT;

	CHECK_INT(s3_error_line(404, body, strlen(body), &out), 0);
	CHECK_STR(out.data, "NoSuchBucket: The specified bucket does not exist");
	buf_release(&out);
}

TEST(error_line_falls_back_to_the_status)
{
	static const char *const bodies[] = {
		"", "<html>Bad Gateway</html>", "<Error><Code>", "<Error><Code></Code></Error>",
		"<Error><Code>X</Code", "<Error",
	};
	struct buf out = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		buf_reset(&out);
		CHECK_INT(s3_error_line(502, bodies[i], strlen(bodies[i]), &out), -1);
		CHECK_STR(out.data, "HTTP 502 Bad Gateway");
	}
	buf_reset(&out);
	CHECK_INT(s3_error_line(599, NULL, 0, &out), -1);
	CHECK_STR(out.data, "HTTP 599");
	buf_reset(&out);
	CHECK_INT(s3_error_line(403, "<Error><Code>AccessDenied</Code></Error>", 40, &out), 0);
	CHECK_STR(out.data, "AccessDenied");
	buf_release(&out);
}

TEST(bucket_list_names)
{
	static const char body[] =
		"<ListAllMyBucketsResult><Owner><ID>1</ID></Owner><Buckets>"
		"<Bucket><Name>a</Name><CreationDate>x</CreationDate></Bucket>"
		"<Bucket><Name>run-b</Name></Bucket></Buckets></ListAllMyBucketsResult>";
	struct buf err = BUF_INIT;
	cJSON *names = NULL;
	char *s;

	CHECK_INT(s3_buckets_parse(body, strlen(body), &names, &err), 0);
	s = cJSON_PrintUnformatted(names);
	CHECK_STR(s, "[\"a\",\"run-b\"]");
	free(s);
	cJSON_Delete(names);
	CHECK_INT(s3_buckets_parse("<Error/>", 8, &names, &err), -1);
	CHECK(!names);
	buf_release(&err);
}

TEST(key_path_escapes_each_segment)
{
	struct buf out = BUF_INIT;

	s3_key_path(&out, "runs/a b/c+d=e&f?.tar.gz");
	CHECK_STR(out.data, "runs/a%20b/c%2Bd%3De%26f%3F.tar.gz");
	buf_reset(&out);
	s3_key_path(&out, "/x//y/");
	CHECK_STR(out.data, "/x//y/");
	buf_reset(&out);
	s3_key_path(&out, "\xc3\xa9~_-.");
	CHECK_STR(out.data, "%C3%A9~_-.");
	buf_release(&out);
}

TEST(delete_body_escapes_keys_and_result_reports_the_first_error)
{
	static const char *const keys[] = { "a&b", "<c>" };
	static const char res[] =
		"<DeleteResult><Deleted><Key>a&amp;b</Key></Deleted>"
		"<Error><Key>&lt;c&gt;</Key><Code>AccessDenied</Code>"
		"<Message>Access Denied</Message></Error></DeleteResult>";
	struct buf out = BUF_INIT, err = BUF_INIT;

	s3_delete_body(&out, keys, 2);
	CHECK_CONTAINS(out.data, "<Quiet>true</Quiet>");
	CHECK_CONTAINS(out.data, "<Object><Key>a&amp;b</Key></Object><Object><Key>&lt;c&gt;</Key></Object></Delete>");
	CHECK_INT(s3_delete_result(res, strlen(res), &err), -1);
	CHECK_STR(err.data, "s3: AccessDenied: Access Denied (key <c>)");
	CHECK_INT(s3_delete_result("<DeleteResult></DeleteResult>", 29, &err), 0);
	CHECK_INT(s3_delete_result("", 0, &err), 0);
	buf_release(&out);
	buf_release(&err);
}

TEST(md5_and_etag_check)
{
	static const unsigned char hello[16] = {
		0x5d, 0x41, 0x40, 0x2a, 0xbc, 0x4b, 0x2a, 0x76,
		0xb9, 0x71, 0x9d, 0x91, 0x10, 0x17, 0xc5, 0x92,
	};
	unsigned char md5[16];
	struct s3_md5 m;
	struct buf big = BUF_INIT, hex = BUF_INIT;
	int i;

	s3_md5_init(&m);
	s3_md5_update(&m, "hel", 3);
	s3_md5_update(&m, "lo", 2);
	s3_md5_final(&m, md5);
	CHECK(!memcmp(md5, hello, 16));
	/* a million 'a' in odd-sized pieces: 7707d6ae4e027c70eea2a935c2296f21 */
	for (i = 0; i < 1001; i++)
		buf_adds(&big, "a");
	s3_md5_init(&m);
	for (i = 0; i < 1000; i++)
		s3_md5_update(&m, big.data, i % 2 ? 999 : 1001);
	s3_md5_final(&m, md5);
	for (i = 0; i < 16; i++)
		buf_printf(&hex, "%02x", md5[i]);
	CHECK_STR(hex.data, "7707d6ae4e027c70eea2a935c2296f21");
	CHECK_INT(s3_etag_check("\"5d41402abc4b2a76b9719d911017c592\"", hello), 1);
	CHECK_INT(s3_etag_check("5D41402ABC4B2A76B9719D911017C592", hello), 1);
	CHECK_INT(s3_etag_check("5d41402abc4b2a76b9719d911017c593", hello), 0);
	CHECK_INT(s3_etag_check("5d41402abc4b2a76b9719d911017c59-2", hello), -1);
	CHECK_INT(s3_etag_check("", hello), -1);
	CHECK_INT(s3_etag_check(NULL, hello), -1);
	buf_release(&big);
	buf_release(&hex);
}
