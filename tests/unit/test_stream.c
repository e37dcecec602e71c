/* test_stream.c - the YAML stream protocol: when stdin is read, pass-through
 * order, output formats. */
#include "unit.h"
#include "buf.h"
#include "stream.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *TWO =
	"apiVersion: wlkit.dev/v1alpha1\n"
	"kind: ImageBuild\n"
	"metadata:\n"
	"  name: trainer\n"
	"---\n"
	"# a comment-only document is skipped\n"
	"---\n"
	"apiVersion: batch/v1\n"
	"kind: Job\n"
	"metadata:\n"
	"  name: train\n"
	"  namespace: ml\n";

TEST(reads_a_file_in_order_and_formats_each_object)
{
	struct stream_in *in = NULL;
	struct stream_out *out;
	struct buf err = BUF_INIT, got = BUF_INIT;
	const char *p = unit_write("two.yaml", TWO);
	char outp[512];
	FILE *f;
	cJSON *doc;
	int n = 0;

	snprintf(outp, sizeof(outp), "%s/out", unit_tmpdir());
	CHECK_INT(stream_in_open(p, &in, &err), 0);
	f = fopen(outp, "w");
	out = stream_out_open(f, STREAM_NAME);
	while (stream_in_next(in, &doc, &err) == 1) {
		CHECK(stream_is_wlkit(doc, "ImageBuild") == (n == 0));
		stream_out_write(out, doc, NULL);
		cJSON_Delete(doc);
		n++;
	}
	CHECK_INT(n, 2);
	CHECK_INT(stream_out_close(out), 0);
	fclose(f);
	stream_in_close(in);
	buf_read_file(&got, outp);
	CHECK_STR(buf_str(&got), "imagebuild.wlkit.dev/trainer\njob.batch/train\n");
	buf_release(&got);
	buf_release(&err);
}

TEST(yaml_output_separates_documents_and_json_output_is_one_per_object)
{
	struct stream_out *out;
	struct buf got = BUF_INIT;
	char outp[512];
	cJSON *a = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}");
	cJSON *b = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\"}}");
	FILE *f;

	snprintf(outp, sizeof(outp), "%s/y", unit_tmpdir());
	f = fopen(outp, "w");
	out = stream_out_open(f, STREAM_YAML);
	stream_out_write(out, a, NULL);
	stream_out_write(out, b, NULL);
	stream_out_close(out);
	fclose(f);
	buf_read_file(&got, outp);
	CHECK_STR(buf_str(&got), "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n---\n"
		  "apiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n");
	buf_reset(&got);
	f = fopen(outp, "w");
	out = stream_out_open(f, STREAM_JSON);
	stream_out_write(out, a, NULL);
	stream_out_close(out);
	fclose(f);
	buf_read_file(&got, outp);
	CHECK_CONTAINS(buf_str(&got), "\"kind\":\t\"Pod\"");
	CHECK(got.len && got.data[got.len - 1] == '\n');
	CHECK_INT(stream_format_parse("json"), STREAM_JSON);
	CHECK_INT(stream_format_parse(NULL), STREAM_YAML);
	CHECK_INT(stream_format_parse("xml"), -1);
	cJSON_Delete(a);
	cJSON_Delete(b);
	buf_release(&got);
}

TEST(a_scalar_document_is_an_error_with_a_message)
{
	struct stream_in *in = NULL;
	struct buf err = BUF_INIT;
	cJSON *doc;

	CHECK_INT(stream_in_open(unit_write("s.yaml", "just a string\n"), &in, &err), 0);
	CHECK_INT(stream_in_next(in, &doc, &err), -1);
	CHECK_CONTAINS(buf_str(&err), "where an object was expected");
	stream_in_close(in);
	CHECK_INT(stream_in_open(unit_write("bad.yaml", "a: [1,\n"), &in, &err), 0);
	CHECK_INT(stream_in_next(in, &doc, &err), -1);
	CHECK_CONTAINS(buf_str(&err), "line ");
	stream_in_close(in);
	CHECK_INT(stream_in_open("/nonexistent.yaml", &in, &err), -1);
	CHECK_STR(buf_str(&err), "cannot open '/nonexistent.yaml': No such file or directory");
	buf_release(&err);
}

/* What stdin is decides whether it is read: check in a child per case. */
static int stdin_is_data_with(int fd)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		dup2(fd, 0);
		_exit(stream_stdin_is_data() ? 1 : 0);
	}
	waitpid(pid, &status, 0);
	return WEXITSTATUS(status);
}

TEST(stdin_is_read_only_when_a_pipe_or_a_file)
{
	int p[2], sv[2];
	int devnull = open("/dev/null", O_RDONLY);
	int file = open(unit_write("in.yaml", "a: 1\n"), O_RDONLY);

	CHECK(pipe(p) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK_INT(stdin_is_data_with(p[0]), 1);
	CHECK_INT(stdin_is_data_with(file), 1);
	CHECK_INT(stdin_is_data_with(devnull), 0);
	CHECK_INT(stdin_is_data_with(sv[0]), 0);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	close(devnull);
	close(file);
}
