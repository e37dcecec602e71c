/* stream.c - see stream.h. */
#include "stream.h"
#include "log.h"
#include "obj.h"
#include "yaml.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct stream_in {
	FILE *f;		/* NULL: an empty stream */
	bool close_f;
	struct yaml_reader *r;
};

struct stream_out {
	FILE *f;
	enum stream_format fmt;
	int count;
	bool failed;
};

bool stream_stdin_is_data(void)
{
	struct stat st;

	if (isatty(0) || fstat(0, &st) < 0)
		return false;
	return S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode);
}

int stream_in_open(const char *file, struct stream_in **out, struct buf *err)
{
	struct stream_in *in = calloc(1, sizeof(*in));
	const char *name = file;

	if (!in)
		die("out of memory");
	if (!file) {
		if (stream_stdin_is_data())
			in->f = stdin;
		name = "<stdin>";
	} else if (!strcmp(file, "-")) {
		in->f = stdin;
		name = "<stdin>";
	} else {
		in->f = fopen(file, "r");
		if (!in->f) {
			buf_set(err, "cannot open '%s': %s", file, strerror(errno));
			free(in);
			return -1;
		}
		in->close_f = true;
	}
	if (in->f)
		in->r = yaml_reader_new(in->f, name);
	*out = in;
	return 0;
}

int stream_in_next(struct stream_in *in, cJSON **doc, struct buf *err)
{
	int rc;

	*doc = NULL;
	if (!in->r)
		return 0;
	for (;;) {
		rc = yaml_reader_next(in->r, doc, err);
		if (rc <= 0)
			return rc;
		/* A stream carries objects: a null document is skipped, a
		 * scalar or a list at the top is not an object. */
		if (cJSON_IsNull(*doc)) {
			cJSON_Delete(*doc);
			*doc = NULL;
			continue;
		}
		if (!cJSON_IsObject(*doc)) {
			buf_set(err, "the stream holds a %s where an object was expected",
				cJSON_IsArray(*doc) ? "list" : "scalar");
			cJSON_Delete(*doc);
			*doc = NULL;
			return -1;
		}
		return 1;
	}
}

void stream_in_close(struct stream_in *in)
{
	if (!in)
		return;
	yaml_reader_free(in->r);
	if (in->close_f)
		fclose(in->f);
	free(in);
}

int stream_format_parse(const char *s)
{
	if (!s || !strcmp(s, "yaml"))
		return STREAM_YAML;
	if (!strcmp(s, "json"))
		return STREAM_JSON;
	if (!strcmp(s, "name"))
		return STREAM_NAME;
	return -1;
}

struct stream_out *stream_out_open(FILE *f, enum stream_format fmt)
{
	struct stream_out *o = calloc(1, sizeof(*o));

	if (!o)
		die("out of memory");
	o->f = f;
	o->fmt = fmt;
	return o;
}

/* kind.group/name; kind lower-cased as kubectl prints it. */
static void name_ref(const cJSON *obj, struct buf *out)
{
	const char *kind = obj_kind(obj), *name = obj_name(obj);
	struct buf group = BUF_INIT;

	for (const char *k = kind ? kind : "object"; *k; k++)
		buf_addch(out, tolower((unsigned char)*k));
	obj_group(obj_api_version(obj) ? obj_api_version(obj) : "v1", &group);
	if (group.len)
		buf_printf(out, ".%s", buf_str(&group));
	buf_printf(out, "/%s", name ? name : "");
	buf_release(&group);
}

int stream_out_write(struct stream_out *o, const cJSON *obj, const char *ref)
{
	struct buf b = BUF_INIT, err = BUF_INIT;
	char *json;
	int rc = 0;

	switch (o->fmt) {
	case STREAM_YAML:
		if (o->count)
			buf_adds(&b, "---\n");
		if (yaml_emit(&b, obj, &err) < 0) {
			rc = error("cannot write YAML: %s", buf_str(&err));
			goto out;
		}
		break;
	case STREAM_JSON:
		json = cJSON_Print(obj);
		if (!json)
			die("out of memory");
		buf_adds(&b, json);
		buf_addch(&b, '\n');
		free(json);
		break;
	case STREAM_NAME:
		if (ref)
			buf_adds(&b, ref);
		else
			name_ref(obj, &b);
		buf_addch(&b, '\n');
		break;
	}
	if (fwrite(b.data, 1, b.len, o->f) != b.len)
		o->failed = true;
	o->count++;
out:
	buf_release(&b);
	buf_release(&err);
	return rc;
}

int stream_out_close(struct stream_out *o)
{
	int rc = 0;

	if (!o)
		return 0;
	if (fflush(o->f) != 0 || ferror(o->f) || o->failed)
		rc = -1;
	free(o);
	return rc;
}

bool stream_is_wlkit(const cJSON *obj, const char *kind)
{
	const char *av = obj_api_version(obj), *k = obj_kind(obj);

	if (!av || strncmp(av, "wlkit.dev/", 10))
		return false;
	return !kind || (k && !strcmp(k, kind));
}
