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
