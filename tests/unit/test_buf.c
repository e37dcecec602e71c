/* test_buf.c - the growable buffer. */
#include "unit.h"
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>

TEST(empty_buffer_reads_as_empty_string)
{
	struct buf b = BUF_INIT;
	char *d;
	size_t n = 99;

	CHECK_STR(buf_str(&b), "");
	CHECK_INT(b.len, 0);
	d = buf_detach(&b, &n);
	CHECK_STR(d, "");
	CHECK_INT(n, 0);
	free(d);
}

TEST(add_printf_consume_setlen)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, "hello");
	buf_addch(&b, ' ');
	buf_printf(&b, "%s %d", "world", 42);
	CHECK_STR(buf_str(&b), "hello world 42");
	CHECK_INT(b.len, 14);
	buf_consume(&b, 6);
	CHECK_STR(buf_str(&b), "world 42");
	buf_setlen(&b, 5);
	CHECK_STR(buf_str(&b), "world");
	buf_set(&b, "x=%d", 1);
	CHECK_STR(buf_str(&b), "x=1");
	buf_consume(&b, 100);
	CHECK_STR(buf_str(&b), "");
	buf_release(&b);
	CHECK(b.data == NULL);
}

TEST(grows_past_many_doublings_and_keeps_binary_data)
{
	struct buf b = BUF_INIT;
	char zero[3] = { 'a', 0, 'b' };

	for (int i = 0; i < 100000; i++)
		buf_add(&b, zero, 3);
	CHECK_INT(b.len, 300000);
	CHECK(b.data[299999] == 'b' && b.data[299998] == 0);
	CHECK(b.data[300000] == 0);
	CHECK(b.cap > b.len);
	buf_reset(&b);
	CHECK_INT(b.len, 0);
	CHECK_STR(buf_str(&b), "");
	buf_release(&b);
}

TEST(reads_whole_files)
{
	struct buf b = BUF_INIT;
	const char *p = unit_write("f.txt", "line 1\nline 2\n");

	CHECK_INT(buf_read_file(&b, p), 0);
	CHECK_STR(buf_str(&b), "line 1\nline 2\n");
	CHECK_INT(buf_read_file(&b, "/nonexistent/x"), -1);
	buf_release(&b);
}

/* RFC 4648 section 10 vectors, both ways, and what Go's StdEncoding
 * refuses. */
TEST(base64_round_trips_and_rejects_what_go_rejects)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const coded[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	static const char *const bad[] = { "Zg", "Zg=", "Z===", "Zg==Zg==", "Zm9v!", "Zm 9v", "=Zm9", "Zm9vY" };
	struct buf b = BUF_INIT;
	unsigned char all[256];
	size_t i;

	for (i = 0; i < 7; i++) {
		buf_reset(&b);
		buf_add_base64(&b, plain[i], strlen(plain[i]));
		CHECK_STR(buf_str(&b), coded[i]);
		buf_reset(&b);
		CHECK_INT(buf_add_unbase64(&b, coded[i], strlen(coded[i])), 0);
		CHECK_STR(buf_str(&b), plain[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		buf_set(&b, "kept");
		CHECK_INT(buf_add_unbase64(&b, bad[i], strlen(bad[i])), -1);
		CHECK_STR(buf_str(&b), "kept");
	}
	buf_reset(&b);
	CHECK_INT(buf_add_unbase64(&b, "Zm9v\r\nYmFy\n", 11), 0);
	CHECK_STR(buf_str(&b), "foobar");
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)(255 - i);
	buf_reset(&b);
	buf_add_base64(&b, all, sizeof(all));
	{
		struct buf back = BUF_INIT;

		CHECK_INT(buf_add_unbase64(&back, b.data, b.len), 0);
		CHECK_INT(back.len, 256);
		CHECK(!memcmp(back.data, all, 256));
		buf_release(&back);
	}
	buf_release(&b);
}
