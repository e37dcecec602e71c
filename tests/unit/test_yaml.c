/* test_yaml.c - YAML streams <-> cJSON: lossless round trips of every
 * fixture, the exact text written, scalar typing, error positions, the
 * alias and nesting guards, and one-document-at-a-time reading. */
#include "unit.h"
#include "buf.h"
#include "yaml.h"

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ---- */

/* The stream as yaml_write_stream() writes it (malloc'd), NULL on error. */
static char *write_stream(const cJSON *docs, struct buf *err)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	if (!f)
		return NULL;
	rc = yaml_write_stream(f, docs, err);
	fclose(f);
	if (rc < 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* Parses text as one stream and prints it as compact JSON (malloc'd), or
 * returns the error message (malloc'd, starting "error: "). */
static char *to_json(const char *text)
{
	struct buf err = BUF_INIT;
	cJSON *docs = yaml_parse(text, strlen(text), "t.yaml", &err);
	char *out;

	if (!docs) {
		struct buf msg = BUF_INIT;

		buf_printf(&msg, "error: %s", buf_str(&err));
		buf_release(&err);
		return buf_detach(&msg, NULL);
	}
	out = cJSON_PrintUnformatted(docs);
	cJSON_Delete(docs);
	buf_release(&err);
	return out;
}

#define CHECK_JSON(yaml, json) do { char *j_ = to_json(yaml); \
	CHECK_STR(j_, json); free(j_); } while (0)

/* The message parsing text gives, "" when it parses. */
static char *parse_error(const char *text)
{
	struct buf err = BUF_INIT;
	cJSON *docs = yaml_parse(text, strlen(text), "t.yaml", &err);

	cJSON_Delete(docs);
	if (docs)
		buf_reset(&err);
	return buf_detach(&err, NULL);
}

#define CHECK_ERROR(yaml, msg) do { char *e_ = parse_error(yaml); \
	CHECK_STR(e_, msg); free(e_); } while (0)

/* Emits text read from yaml, as a stream. */
static char *reemit(const char *yaml)
{
	struct buf err = BUF_INIT;
	cJSON *docs = yaml_parse(yaml, strlen(yaml), "t.yaml", &err);
	char *out = docs ? write_stream(docs, &err) : NULL;

	if (!out)
		printf("# %s\n", buf_str(&err));
	cJSON_Delete(docs);
	buf_release(&err);
	return out;
}

#define CHECK_EMIT(yaml, want) do { char *o_ = reemit(yaml); \
	CHECK_STR(o_, want); free(o_); } while (0)

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* Appends the paths of the *.yaml files under dir (sorted per directory)
 * to list, one per line. */
static void find_fixtures(const char *dir, struct buf *list)
{
	struct dirent **ents;
	int n, i;

	n = scandir(dir, &ents, NULL, alphasort);
	for (i = 0; i < n; i++) {
		struct buf path = BUF_INIT;
		const char *name = ents[i]->d_name;

		buf_printf(&path, "%s/%s", dir, name);
		if (name[0] != '.' && ents[i]->d_type == DT_DIR)
			find_fixtures(path.data, list);
		else if (name[0] != '.' && ends_with(name, ".yaml"))
			buf_printf(list, "%s\n", path.data);
		buf_release(&path);
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
}

/* Round-trips one file: parse -> emit -> parse gives the same trees, and
 * emitting the second reading gives the same bytes. Returns false (having
 * said why) on any difference. */
static bool round_trips(const char *path)
{
	struct buf err = BUF_INIT;
	cJSON *first = NULL, *second = NULL, *a, *b;
	char *text1 = NULL, *text2 = NULL;
	FILE *f = fopen(path, "r");
	bool ok = false;

	if (!f) {
		printf("# cannot open %s\n", path);
		goto out;
	}
	first = yaml_read_stream(f, path, &err);
	fclose(f);
	if (!first || !(text1 = write_stream(first, &err))) {
		printf("# %s\n", buf_str(&err));
		goto out;
	}
	if (!(second = yaml_parse(text1, strlen(text1), "emitted", &err))) {
		printf("# %s: re-reading the output: %s\n", path, buf_str(&err));
		goto out;
	}
	if (cJSON_GetArraySize(first) != cJSON_GetArraySize(second)) {
		printf("# %s: %d documents, then %d\n", path,
		       cJSON_GetArraySize(first), cJSON_GetArraySize(second));
		goto out;
	}
	for (a = first->child, b = second->child; a; a = a->next, b = b->next) {
		if (!cJSON_Compare(a, b, 1)) {
			char *x = cJSON_Print(a), *y = cJSON_Print(b);

			printf("# %s: the tree changed:\n# %s\n# %s\n", path, x, y);
			free(x);
			free(y);
			goto out;
		}
	}
	if (!(text2 = write_stream(second, &err)) || strcmp(text1, text2)) {
		printf("# %s: the second emit differs:\n%s\n---- vs ----\n%s\n",
		       path, text1, text2 ? text2 : buf_str(&err));
		goto out;
	}
	ok = true;
out:
	cJSON_Delete(first);
	cJSON_Delete(second);
	free(text1);
	free(text2);
	buf_release(&err);
	return ok;
}

/* ---- fixtures ---- */

TEST(every_fixture_round_trips_losslessly_and_byte_identically)
{
	struct buf dir = BUF_INIT, list = BUF_INIT;
	char *line, *save = NULL;
	int n = 0;

	buf_printf(&dir, "%s/tests/fixtures/yaml", unit_srcdir());
	find_fixtures(dir.data, &list);
	for (line = strtok_r(list.data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!round_trips(line))
			unit_fail(__FILE__, __LINE__, "'%s' does not round-trip", line);
		n++;
	}
	CHECK(n >= 20);
	buf_release(&dir);
	buf_release(&list);
}

TEST(emit_fixtures_give_exactly_the_expected_text)
{
	struct buf dir = BUF_INIT, list = BUF_INIT;
	char *line, *save = NULL;
	int n = 0;

	buf_printf(&dir, "%s/tests/fixtures/yaml/emit", unit_srcdir());
	find_fixtures(dir.data, &list);
	for (line = strtok_r(list.data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct buf in = BUF_INIT, want = BUF_INIT, outp = BUF_INIT;
		char *got, *again;

		if (!ends_with(line, ".in.yaml"))
			continue;
		buf_add(&outp, line, strlen(line) - strlen(".in.yaml"));
		buf_adds(&outp, ".out.yaml");
		CHECK_INT(buf_read_file(&in, line), 0);
		CHECK_INT(buf_read_file(&want, outp.data), 0);
		got = reemit(buf_str(&in));
		CHECK_STR(got, buf_str(&want));
		/* what is written reads back and is written the same */
		again = reemit(buf_str(&want));
		CHECK_STR(again, buf_str(&want));
		free(got);
		free(again);
		buf_release(&in);
		buf_release(&want);
		buf_release(&outp);
		n++;
	}
	CHECK(n >= 4);
	buf_release(&dir);
	buf_release(&list);
}

/* ---- reading ---- */

TEST(plain_scalars_are_typed_by_the_core_schema_as_kubernetes_reads_them)
{
	CHECK_JSON("[yes, no, on, off, y, n, Yes, NO]",
		   "[[\"yes\",\"no\",\"on\",\"off\",\"y\",\"n\",\"Yes\",\"NO\"]]");
	CHECK_JSON("[true, True, TRUE, false, False, FALSE, tRUE]",
		   "[[true,true,true,false,false,false,\"tRUE\"]]");
	CHECK_JSON("[null, Null, NULL, ~, nULL]",
		   "[[null,null,null,null,\"nULL\"]]");
	CHECK_JSON("a:\nb: !!null\n", "[{\"a\":null,\"b\":null}]");
	CHECK_JSON("[0, -0, +7, 0755, 0644, 08, 0o17, 0x1F, -0x10, 1_000, 0b1]",
		   "[[0,-0,7,493,420,8,15,31,-16,\"1_000\",\"0b1\"]]");
	CHECK_JSON("[1.0, 1.5, .5, -.5, 1., 1e3, 1E-3, 2.5e+2, 1.2.3, 1e, e3]",
		   "[[1,1.5,0.5,-0.5,1,1000,0.001,250,\"1.2.3\",\"1e\",\"e3\"]]");
	CHECK_JSON("['yes', \"0755\", '1e3', \"null\", '~', '', \"true\"]",
		   "[[\"yes\",\"0755\",\"1e3\",\"null\",\"~\",\"\",\"true\"]]");
	CHECK_JSON("a: |\n  7\nb: >-\n  true\n", "[{\"a\":\"7\\n\",\"b\":\"true\"}]");
}

TEST(integers_a_double_cannot_hold_are_kept_as_raw_digits)
{
	struct buf err = BUF_INIT;
	const char *text = "[9007199254740992, 9007199254740993, "
			   "12345678901234567890, -9223372036854775808, "
			   "0xFFFFFFFFFFFFFFFFFF, +00012345678901234567890, 1e400]";
	cJSON *docs = yaml_parse(text, strlen(text), "big", &err);
	cJSON *list = cJSON_GetArrayItem(docs, 0);

	CHECK(cJSON_IsNumber(cJSON_GetArrayItem(list, 0)));
	CHECK(cJSON_GetArrayItem(list, 0)->valuedouble == 9007199254740992.0);
	CHECK(cJSON_IsRaw(cJSON_GetArrayItem(list, 1)));
	CHECK_STR(cJSON_GetArrayItem(list, 1)->valuestring, "9007199254740993");
	CHECK_STR(cJSON_GetArrayItem(list, 2)->valuestring, "12345678901234567890");
	CHECK_STR(cJSON_GetArrayItem(list, 3)->valuestring, "-9223372036854775808");
	CHECK_STR(cJSON_GetArrayItem(list, 4)->valuestring, "4722366482869645213695");
	/* leading zeros with non-octal digits: decimal */
	CHECK_STR(cJSON_GetArrayItem(list, 5)->valuestring, "12345678901234567890");
	CHECK(cJSON_IsRaw(cJSON_GetArrayItem(list, 6)));
	CHECK_STR(cJSON_GetArrayItem(list, 6)->valuestring, "1e400");
	cJSON_Delete(docs);
	buf_release(&err);
}

TEST(explicit_tags_decide_the_type)
{
	CHECK_JSON("[!!str 123, !!str true, !!str null, !!str, ! 12, !custom 5, !custom '5']",
		   "[[\"123\",\"true\",\"null\",\"\",\"12\",5,\"5\"]]");
	CHECK_JSON("[!!int \"7\", !!int 0x10, !!float 3, !!float '2.5', !!bool 'false', !!null '']",
		   "[[7,16,3,2.5,false,null]]");
	CHECK_JSON("[!<tag:yaml.org,2002:str> 99, !!binary aGk=, !!timestamp 2001-12-14]",
		   "[[\"99\",\"aGk=\",\"2001-12-14\"]]");
	CHECK_ERROR("a: !!int x7\n",
		    "cannot parse 't.yaml' line 1 column 4: cannot read 'x7' as !!int");
	CHECK_ERROR("a:\n  b: !!bool yes\n",
		    "cannot parse 't.yaml' line 2 column 6: cannot read 'yes' as !!bool");
}

TEST(non_finite_numbers_are_refused_because_json_cannot_hold_them)
{
	CHECK_ERROR("a: 1\nb: .inf\n", "cannot parse 't.yaml' line 2 column 4: "
		    "'.inf' is not a finite number, which JSON cannot hold");
	CHECK_ERROR("- -.INF\n", "cannot parse 't.yaml' line 1 column 3: "
		    "'-.INF' is not a finite number, which JSON cannot hold");
	CHECK_ERROR("x: !!float .nan\n", "cannot parse 't.yaml' line 1 column 4: "
		    "'.nan' is not a finite number, which JSON cannot hold");
	CHECK_JSON("['.inf', \".nan\"]", "[[\".inf\",\".nan\"]]");
}

TEST(anchors_aliases_and_merge_keys_are_expanded)
{
	CHECK_JSON("a: &x {b: 1}\nc: *x\nd: [*x, *x]\n",
		   "[{\"a\":{\"b\":1},\"c\":{\"b\":1},\"d\":[{\"b\":1},{\"b\":1}]}]");
	/* explicit keys win over merged ones, before or after the merge */
	CHECK_JSON("base: &b {x: 1, y: 2, z: 3}\n"
		   "m:\n  x: 0\n  <<: *b\n  z: 9\n",
		   "[{\"base\":{\"x\":1,\"y\":2,\"z\":3},\"m\":{\"x\":0,\"y\":2,\"z\":9}}]");
	/* earlier mappings of a merge list win */
	CHECK_JSON("a: &a {k: a, only-a: 1}\nb: &b {k: b, only-b: 2}\n"
		   "m: {<<: [*a, *b]}\n",
		   "[{\"a\":{\"k\":\"a\",\"only-a\":1},\"b\":{\"k\":\"b\",\"only-b\":2},"
		   "\"m\":{\"k\":\"a\",\"only-a\":1,\"only-b\":2}}]");
	/* an inline merge, and a quoted "<<" that is only a key */
	CHECK_JSON("m:\n  <<: {a: 1}\n  '<<': 2\n", "[{\"m\":{\"a\":1,\"<<\":2}}]");
	/* a later anchor of the same name replaces the earlier one (YAML 1.2) */
	CHECK_JSON("- &x 1\n- *x\n- &x 2\n- *x\n", "[[1,1,2,2]]");
	/* an alias of a scalar as a key */
	CHECK_JSON("- &k name: v\n- *k : w\n", "[[{\"name\":\"v\"},{\"name\":\"w\"}]]");
	/* anchors do not cross documents */
	CHECK_ERROR("a: &x 1\n---\nb: *x\n",
		    "cannot parse 't.yaml' line 3 column 4: unknown alias 'x'");
}

TEST(empty_documents_are_skipped_and_null_documents_kept)
{
	CHECK_JSON("", "[]");
	CHECK_JSON("# only a comment\n", "[]");
	CHECK_JSON("---\n---\n# c\n---\n...\n", "[]");
	CHECK_JSON("--- null\n--- ~\n---\n--- ''\n", "[null,null,\"\"]");
	CHECK_JSON("--- a\n...\n--- {b: 1}\n---\n- c\n", "[\"a\",{\"b\":1},[\"c\"]]");
	CHECK_JSON("%YAML 1.2\n---\nx: 1\n...\n%YAML 1.1\n--- y\n", "[{\"x\":1},\"y\"]");
}

/* ---- errors ---- */

TEST(parse_errors_name_the_line_and_column)
{
	CHECK_ERROR("a: 1\n  b: 2\n", "cannot parse 't.yaml' line 2 column 4: "
		    "mapping values are not allowed in this context");
	CHECK_ERROR("a: \"abc\nb: 1\n", "cannot parse 't.yaml' line 3 column 1: "
		    "found unexpected end of stream (while scanning a quoted "
		    "scalar at line 1 column 4)");
	CHECK_ERROR("a:\n\tb: 1\n", "cannot parse 't.yaml' line 2 column 1: "
		    "found character that cannot start any token (while scanning "
		    "for the next token at line 2 column 1)");
	CHECK_ERROR("spec:\n  x: [1, 2\n  y: 3\n", "cannot parse 't.yaml' line 3 "
		    "column 4: did not find expected ',' or ']' (while parsing a "
		    "flow sequence at line 2 column 6)");
	CHECK_ERROR("- a\nb: 1\n", "cannot parse 't.yaml' line 2 column 1: did not "
		    "find expected '-' indicator (while parsing a block collection "
		    "at line 1 column 1)");
	CHECK_ERROR("a: 1\nb: \xff\n", "cannot parse 't.yaml' line 2 column 4: "
		    "invalid leading UTF-8 octet (0xff)");
	CHECK_ERROR("x: \"\\0\"\n", "cannot parse 't.yaml' line 1 column 4: "
		    "a NUL character cannot be held in a JSON string");
	/* an error in a later document still counts lines from the start */
	CHECK_ERROR("a: 1\n---\nb: 2\n---\nc: [\n", "cannot parse 't.yaml' line 6 "
		    "column 1: did not find expected node content (while parsing a "
		    "flow node at line 6 column 1)");
}

TEST(aliases_that_are_unknown_or_contain_themselves_are_errors)
{
	CHECK_ERROR("a: &x 1\nb: *nope\n",
		    "cannot parse 't.yaml' line 2 column 4: unknown alias 'nope'");
	CHECK_ERROR("a:\n  - *later\n  - &later 1\n",
		    "cannot parse 't.yaml' line 2 column 5: unknown alias 'later'");
	CHECK_ERROR("a: &r\n  b: [*r]\n", "cannot parse 't.yaml' line 2 column 7: "
		    "alias 'r' refers to a node that contains it");
}

TEST(duplicate_keys_are_errors_that_point_at_both)
{
	CHECK_ERROR("a: 1\nb: 2\na: 3\n", "cannot parse 't.yaml' line 3 column 1: "
		    "mapping key \"a\" already defined at line 1");
	CHECK_ERROR("spec:\n  x: 1\n  y: 2\n  x: 3\n", "cannot parse 't.yaml' line 4 "
		    "column 3: mapping key \"x\" already defined at line 2");
	CHECK_ERROR("{a: 1, b: 2, a: 3}", "cannot parse 't.yaml' line 1 column 14: "
		    "mapping key \"a\" already defined at line 1");
	CHECK_ERROR("b: &b {x: 1}\nm:\n  <<: *b\n  <<: *b\n", "cannot parse 't.yaml' "
		    "line 4 column 3: mapping key \"<<\" already defined at line 3");
	/* the same text as different scalar styles is the same key */
	CHECK_ERROR("1: a\n'1': b\n", "cannot parse 't.yaml' line 2 column 1: "
		    "mapping key \"1\" already defined at line 1");
}

TEST(duplicate_keys_are_found_in_large_mappings)
{
	struct buf text = BUF_INIT;
	char *e;
	int i;

	for (i = 0; i < 5000; i++)
		buf_printf(&text, "key%d: %d\n", i, i);
	buf_adds(&text, "key4321: again\n");
	e = parse_error(text.data);
	CHECK_STR(e, "cannot parse 't.yaml' line 5001 column 1: "
		  "mapping key \"key4321\" already defined at line 4322");
	free(e);
	buf_release(&text);
}

TEST(keys_must_be_scalars_and_merges_mappings)
{
	CHECK_ERROR("? [a, b]\n: 1\n", "cannot parse 't.yaml' line 1 column 3: "
		    "a mapping key must be a scalar");
	CHECK_ERROR("{a: 1}: 2\n", "cannot parse 't.yaml' line 1 column 1: "
		    "a mapping key must be a scalar");
	CHECK_ERROR("l: &l [1]\nm:\n  *l : x\n", "cannot parse 't.yaml' line 3 "
		    "column 3: a mapping key must be a scalar");
	CHECK_ERROR("m:\n  <<: 5\n", "cannot parse 't.yaml' line 2 column 7: the "
		    "value of a merge key \"<<\" must be a mapping or a list of mappings");
	CHECK_ERROR("m:\n  <<: [{a: 1}, x]\n", "cannot parse 't.yaml' line 2 column 7: "
		    "the value of a merge key \"<<\" must be a mapping or a list of mappings");
	/* keys are their text */
	CHECK_JSON("{1: a, true: b, null: c, 0x10: d, ~: e}",
		   "[{\"1\":\"a\",\"true\":\"b\",\"null\":\"c\",\"0x10\":\"d\",\"~\":\"e\"}]");
}

TEST(a_billion_laughs_stops_at_the_alias_limit)
{
	const char *lol =
		"a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
		"h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
		"i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
	struct buf ok = BUF_INIT, err = BUF_INIT;
	char *e = parse_error(lol);
	cJSON *docs;
	int i;

	CHECK_CONTAINS(e, "cannot parse 't.yaml' line 6 column ");
	CHECK_CONTAINS(e, ": too many aliases: the document expands to more "
		       "than 1000000 nodes");
	free(e);
	/* many aliases of a small template are fine */
	buf_adds(&ok, "t: &t {name: x, image: busybox, args: [a, b, c]}\nl:\n");
	for (i = 0; i < 20000; i++)
		buf_adds(&ok, "- *t\n");
	docs = yaml_parse(ok.data, ok.len, "ok", &err);
	CHECK(docs != NULL);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(docs, 0), "l")),
		  20000);
	cJSON_Delete(docs);
	buf_release(&ok);
	buf_release(&err);
}

TEST(nesting_is_limited_on_input_and_output)
{
	struct buf deep = BUF_INIT, err = BUF_INIT, out = BUF_INIT;
	cJSON *docs, *node, *top;
	char *e;
	int i;

	for (i = 0; i < 1000; i++)
		buf_addch(&deep, '[');
	for (i = 0; i < 1000; i++)
		buf_addch(&deep, ']');
	docs = yaml_parse(deep.data, deep.len, "deep", &err);
	CHECK(docs != NULL);
	/* 1000 levels are written and read back */
	CHECK_INT(yaml_emit(&out, cJSON_GetArrayItem(docs, 0), &err), 0);
	cJSON_Delete(docs);
	docs = yaml_parse(out.data, out.len, "deep-out", &err);
	CHECK(docs != NULL);
	cJSON_Delete(docs);
	buf_reset(&deep);
	for (i = 0; i < 1001; i++)
		buf_addch(&deep, '[');
	e = parse_error(deep.data);
	CHECK_STR(e, "cannot parse 't.yaml' line 1 column 1001: nesting deeper "
		  "than 1000 levels");
	free(e);
	/* aliases cannot nest deeper than the limit either */
	buf_reset(&deep);
	buf_adds(&deep, "a: &a ");
	for (i = 0; i < 600; i++)
		buf_addch(&deep, '[');
	for (i = 0; i < 600; i++)
		buf_addch(&deep, ']');
	buf_adds(&deep, "\nb: [[[[[[[[[[[[[[[[[[[[");
	for (i = 0; i < 400; i++)
		buf_addch(&deep, '[');
	buf_adds(&deep, "*a");
	e = parse_error(deep.data);
	CHECK_CONTAINS(e, "nesting deeper than 1000 levels");
	free(e);
	/* a tree built by hand deeper than the limit is not written */
	top = node = cJSON_CreateArray();
	for (i = 0; i < 1100; i++) {
		cJSON *next = cJSON_CreateArray();

		cJSON_AddItemToArray(node, next);
		node = next;
	}
	buf_reset(&out);
	CHECK_INT(yaml_emit(&out, top, &err), -1);
	CHECK_CONTAINS(buf_str(&err), "cannot write YAML: nesting deeper than 1000 levels at '");
	CHECK_INT(out.len, 0);
	cJSON_Delete(top);
	buf_release(&deep);
	buf_release(&err);
	buf_release(&out);
}

/* ---- the reader ---- */

TEST(the_reader_returns_each_document_before_the_stream_ends)
{
	struct buf err = BUF_INIT;
	struct yaml_reader *r;
	cJSON *doc = NULL;
	int fds[2];
	FILE *in;

	CHECK_INT(pipe(fds), 0);
	in = fdopen(fds[0], "r");
	/* a reader that waited for the whole stream would hang: the alarm
	 * then kills the test program */
	alarm(20);
	CHECK(write(fds[1], "a: 1\n---\n", 9) == 9);
	r = yaml_reader_new(in, "pipe");
	CHECK_INT(yaml_reader_next(r, &doc, &err), 1);
	CHECK_INT(cJSON_GetObjectItem(doc, "a")->valueint, 1);
	cJSON_Delete(doc);
	CHECK(write(fds[1], "b: 2\n", 5) == 5);
	close(fds[1]);
	CHECK_INT(yaml_reader_next(r, &doc, &err), 1);
	CHECK_INT(cJSON_GetObjectItem(doc, "b")->valueint, 2);
	cJSON_Delete(doc);
	CHECK_INT(yaml_reader_next(r, &doc, &err), 0);
	CHECK(doc == NULL);
	CHECK_INT(yaml_reader_next(r, &doc, &err), 0);
	alarm(0);
	yaml_reader_free(r);
	fclose(in);
	buf_release(&err);
}

TEST(the_reader_stops_at_an_error_after_the_good_documents)
{
	const char *p = unit_write("bad-second.yaml", "a: 1\n---\nb: [\n");
	struct buf err = BUF_INIT;
	struct yaml_reader *r;
	FILE *f = fopen(p, "r");
	cJSON *doc = NULL;

	r = yaml_reader_new(f, p);
	CHECK_INT(yaml_reader_next(r, &doc, &err), 1);
	cJSON_Delete(doc);
	CHECK_INT(yaml_reader_next(r, &doc, &err), -1);
	CHECK(doc == NULL);
	CHECK_CONTAINS(buf_str(&err), "bad-second.yaml' line 4 column 1: ");
	CHECK_INT(yaml_reader_next(r, &doc, &err), 0);
	yaml_reader_free(r);
	fclose(f);
	/* "-" is stdin in messages */
	f = fopen(p, "r");
	cJSON_Delete(yaml_read_stream(f, "-", &err));
	CHECK_CONTAINS(buf_str(&err), "cannot parse '<stdin>' line 4 column 1: ");
	fclose(f);
	buf_release(&err);
}

TEST(a_read_error_is_reported_as_such)
{
	struct buf err = BUF_INIT;
	FILE *f = fopen(unit_tmpdir(), "r");	/* a directory: read() fails */

	CHECK(f != NULL);
	CHECK(yaml_read_stream(f, "somedir", &err) == NULL);
	CHECK_STR(buf_str(&err), "cannot read 'somedir': Is a directory");
	fclose(f);
	buf_release(&err);
}

TEST(an_invalid_byte_far_into_a_stream_is_placed_exactly)
{
	struct buf text = BUF_INIT;
	char *e;
	int i;

	for (i = 0; i < 20000; i++)
		buf_printf(&text, "- item %d with some text to make the line longer\n", i);
	buf_adds(&text, "- ok\n- bad \xc3\x28\n");
	e = parse_error(text.data);
	CHECK_STR(e, "cannot parse 't.yaml' line 20002 column 8: "
		  "invalid trailing UTF-8 octet (0x28)");
	free(e);
	buf_release(&text);
}

TEST(parse_one_wants_exactly_one_document)
{
	struct buf err = BUF_INIT;
	cJSON *doc;

	doc = yaml_parse_one("kind: Pod\n", 10, "one", &err);
	CHECK_STR(cJSON_GetObjectItem(doc, "kind")->valuestring, "Pod");
	cJSON_Delete(doc);
	CHECK(yaml_parse_one("# nothing\n", 10, "none", &err) == NULL);
	CHECK_STR(buf_str(&err), "cannot parse 'none': no document");
	CHECK(yaml_parse_one("a: 1\n---\nb: 2\n", 14, "two", &err) == NULL);
	CHECK_STR(buf_str(&err), "cannot parse 'two' line 2 column 1: more than one document");
	CHECK(yaml_parse_one("a: [\n", 5, "bad", &err) == NULL);
	CHECK_CONTAINS(buf_str(&err), "cannot parse 'bad' line 2 column 1: ");
	buf_release(&err);
}

/* ---- writing ---- */

TEST(documents_are_written_in_kubectl_layout)
{
	CHECK_EMIT("{kind: Pod, spec: {containers: [{name: x, args: [a, b]}]}}",
		   "kind: Pod\n"
		   "spec:\n"
		   "  containers:\n"
		   "  - name: x\n"
		   "    args:\n"
		   "    - a\n"
		   "    - b\n");
	CHECK_EMIT("[[a, [b]], {c: {d: e}}, {}, [], {f: [], g: {}}]",
		   "- - a\n"
		   "  - - b\n"
		   "- c:\n"
		   "    d: e\n"
		   "- {}\n"
		   "- []\n"
		   "- f: []\n"
		   "  g: {}\n");
	CHECK_EMIT("--- a\n--- 1\n--- {}\n", "a\n---\n1\n---\n{}\n");
	CHECK_EMIT("z: 1\na: 2\nm: 3\n", "z: 1\na: 2\nm: 3\n");
}

TEST(strings_are_quoted_only_when_plain_would_read_differently)
{
	CHECK_EMIT("[\"yes\", \"on\", \"y\", \"0755\", \"1e3\", \"null\", \"~\", \"\", "
		   "\"1.0\", \"0x1F\", \".inf\", \"true\", \"12:30\", \"2024-01-02\"]",
		   "- \"yes\"\n- \"on\"\n- \"y\"\n- \"0755\"\n- \"1e3\"\n- \"null\"\n"
		   "- \"~\"\n- \"\"\n- \"1.0\"\n- \"0x1F\"\n- \".inf\"\n- \"true\"\n"
		   "- \"12:30\"\n- \"2024-01-02\"\n");
	CHECK_EMIT("[\"- x\", \"a: b\", \"#x\", \"*x\", \"&x\", \"!x\", \"|x\", \">x\", "
		   "\"{x\", \"[x\", \"%x\", \"@x\", \"`x\", \" x\", \"x \", \"it's\"]",
		   "- '- x'\n- 'a: b'\n- '#x'\n- '*x'\n- '&x'\n- '!x'\n- '|x'\n"
		   "- '>x'\n- '{x'\n- '[x'\n- '%x'\n- '@x'\n- '`x'\n- ' x'\n"
		   "- 'x '\n- it's\n");
	CHECK_EMIT("[\"a\\tb\", \"x\\u0085\", \"\\u2028\", \"\\x01\", \"ünï 鍵 😀\", "
		   "\"500m\", \"a#b\", \"-x\", \"1.2.3\"]",
		   "- \"a\\tb\"\n- \"x\\N\"\n- \"\\L\"\n- \"\\x01\"\n- ünï 鍵 😀\n"
		   "- 500m\n- a#b\n- -x\n- 1.2.3\n");
	CHECK_EMIT("{\"yes\": 1, \"<<\": 2, \"- k\": 3, \"a\\nb\": 4}",
		   "\"yes\": 1\n\"<<\": 2\n'- k': 3\n\"a\\nb\": 4\n");
}

TEST(multi_line_strings_are_literal_blocks_when_a_block_can_carry_them)
{
	CHECK_EMIT("a: \"x\\ny\\n\"\nb: \"x\\ny\"\nc: \"x\\n\\n\"\n",
		   "a: |\n  x\n  y\nb: |-\n  x\n  y\nc: |+\n  x\n\n");
	CHECK_EMIT("- \"  x\\ny\\n\"\n- \"\\tx\\n\"\n- \"\\nx\"\n",
		   "- |2\n    x\n  y\n- |2\n  \tx\n- |2-\n\n  x\n");
	CHECK_EMIT("a: \"x \\ny\\n\"\nb: \"x\\r\\ny\\n\"\nc: \"\\n\"\nd: \"x\\ny \"\n",
		   "a: \"x \\ny\\n\"\nb: \"x\\r\\ny\\n\"\nc: \"\\n\"\nd: \"x\\ny \"\n");
	CHECK_EMIT("--- \"root\\nblock\\n\"\n", "|\n  root\n  block\n");
}

TEST(numbers_are_written_exactly_and_briefly)
{
	CHECK_EMIT("[0, -0, 7, 0755, 9007199254740992, 9007199254740993, 1.5, 0.1, "
		   "1e3, 1e20, 1.5e-7, 3.141592653589793, 5e-324]",
		   "- 0\n- 0\n- 7\n- 493\n- 9007199254740992\n- 9007199254740993\n"
		   "- 1.5\n- 0.1\n- 1000\n- 1.0e+20\n- 1.5e-07\n- 3.141592653589793\n"
		   "- 5.0e-324\n");
}

TEST(long_keys_are_written_as_explicit_keys)
{
	struct buf key = BUF_INIT, yaml = BUF_INIT, err = BUF_INIT, out = BUF_INIT;
	cJSON *doc = cJSON_CreateObject(), *back;
	int i;

	for (i = 0; i < 1500; i++)
		buf_addch(&key, 'k');
	cJSON_AddStringToObject(doc, key.data, "v");
	cJSON_AddItemToObject(doc, "short", cJSON_CreateObject());
	CHECK_INT(yaml_emit(&out, doc, &err), 0);
	buf_printf(&yaml, "? %s\n: v\nshort: {}\n", key.data);
	CHECK_STR(buf_str(&out), buf_str(&yaml));
	back = yaml_parse_one(out.data, out.len, "long", &err);
	CHECK(cJSON_Compare(doc, back, 1));
	cJSON_Delete(back);
	cJSON_Delete(doc);
	buf_release(&key);
	buf_release(&yaml);
	buf_release(&err);
	buf_release(&out);
}

TEST(what_yaml_cannot_carry_is_an_error_and_leaves_the_output_alone)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	cJSON *doc = cJSON_Parse("{\"metadata\": {\"labels\": [\"ok\", \"x\"]}}");
	cJSON *labels = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "metadata"), "labels");
	char *s;

	buf_adds(&out, "kept\n");
	cJSON_ReplaceItemInArray(labels, 1, cJSON_CreateString("bad \xff byte"));
	CHECK_INT(yaml_emit(&out, doc, &err), -1);
	CHECK_STR(buf_str(&err), "cannot write YAML: a string is not valid UTF-8 "
		  "at 'metadata.labels[1]'");
	CHECK_STR(buf_str(&out), "kept\n");
	CHECK(yaml_emit_one(doc) == NULL);
	cJSON_ReplaceItemInArray(labels, 1, cJSON_CreateNumber(NAN));
	CHECK_INT(yaml_emit(&out, doc, &err), -1);
	CHECK_STR(buf_str(&err), "cannot write YAML: a number is not finite at "
		  "'metadata.labels[1]'");
	cJSON_ReplaceItemInArray(labels, 1, cJSON_CreateRaw("{\"a\":1}"));
	CHECK_INT(yaml_emit(&out, doc, &err), -1);
	CHECK_STR(buf_str(&err), "cannot write YAML: a raw value is not a JSON number "
		  "at 'metadata.labels[1]'");
	cJSON_ReplaceItemInArray(labels, 1, cJSON_CreateRaw("123456789012345678901"));
	s = yaml_emit_one(doc);
	CHECK_STR(s, "metadata:\n  labels:\n  - ok\n  - 123456789012345678901\n");
	free(s);
	cJSON_Delete(doc);
	buf_release(&out);
	buf_release(&err);
}

TEST(write_stream_separates_documents_and_reports_write_errors)
{
	struct buf err = BUF_INIT;
	cJSON *docs = cJSON_Parse("[{\"a\": 1}, \"b\", [], null]");
	char *text = write_stream(docs, &err);
	FILE *full;

	CHECK_STR(text, "a: 1\n---\nb\n---\n[]\n---\nnull\n");
	free(text);
	full = fopen("/dev/full", "w");
	if (full) {
		CHECK_INT(yaml_write_stream(full, docs, &err), -1);
		CHECK_STR(buf_str(&err), "cannot write YAML: No space left on device");
		fclose(full);
	}
	CHECK_INT(yaml_write_stream(stdout, cJSON_GetArrayItem(docs, 0), &err), -1);
	CHECK_STR(buf_str(&err), "cannot write YAML: a stream must be an array of documents");
	cJSON_Delete(docs);
	buf_release(&err);
}
