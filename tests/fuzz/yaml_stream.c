/* yaml_stream.c - fuzz target: the YAML stream reader (common/yaml.h, as
 * stream_in_next() uses it) over any bytes, and the writers over what it
 * read: every document read must be written back as YAML that reads again,
 * and goes through stream_out_write() as JSON and as names. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "stream.h"
#include "yaml.h"

/* Writes doc as the stream protocol's JSON and "name" outputs. */
static void write_out(const cJSON *doc)
{
	enum stream_format fmts[] = { STREAM_JSON, STREAM_NAME };
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct stream_out *out;

		if (!(f = open_memstream(&text, &len)))
			return;
		out = stream_out_open(f, fmts[i]);
		stream_out_write(out, doc, NULL);
		stream_out_close(out);
		fclose(f);
		free(text);
		text = NULL;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf err = BUF_INIT, out = BUF_INIT;
	struct yaml_reader *r;
	cJSON *doc, *again, *all;
	FILE *f;

	if (!(f = fmemopen(size ? (void *)data : "", size, "r")))
		return 0;
	r = yaml_reader_new(f, "fuzz");
	while (yaml_reader_next(r, &doc, &err) == 1) {
		buf_reset(&out);
		if (yaml_emit(&out, doc, &err) == 0) {
			again = yaml_parse_one(buf_str(&out), out.len, "emitted", &err);
			if (!again) {
				fprintf(stderr, "emitted YAML does not read back: %s\n%s\n",
					buf_str(&err), buf_str(&out));
				abort();
			}
			cJSON_Delete(again);
		}
		write_out(doc);
		cJSON_Delete(doc);
	}
	yaml_reader_free(r);
	fclose(f);
	all = yaml_parse((const char *)data, size, "fuzz", &err);
	cJSON_Delete(all);
	buf_release(&err);
	buf_release(&out);
	return 0;
}
