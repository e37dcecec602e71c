/* test_obj.c - obj.h: paths, object helpers, names and labels, resource
 * quantities, durations, RFC 3339 times. */
#include "unit.h"

#include <stdlib.h>

#include "buf.h"
#include "obj.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define Q_TOO_BIG "is too large"
#define Q_FORMAT "quantities must match the regular expression " \
	"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
#define Q_SUFFIX "unable to parse quantity's suffix"

static cJSON *parse(const char *json)
{
	cJSON *o = cJSON_Parse(json);

	if (!o)
		abort();
	return o;
}

/* The object as compact JSON, in a buffer of the caller's. */
static const char *json(const cJSON *o, struct buf *b)
{
	char *s = cJSON_PrintUnformatted(o);

	buf_reset(b);
	buf_adds(b, s);
	free(s);
	return buf_str(b);
}

/* ---- paths --------------------------------------------------------- */

TEST(get_follows_dotted_paths_and_array_indices)
{
	cJSON *o = parse("{\"metadata\":{\"name\":\"x\",\"generation\":3},"
			 "\"spec\":{\"containers\":[{\"image\":\"a\"},{\"image\":\"b\"}],"
			 "\"suspend\":true,\"n\":2.9,\"big\":1e30,\"s\":\"7\"}}");

	CHECK(obj_get(o, "") == o);
	CHECK_STR(obj_str(o, "metadata.name"), "x");
	CHECK_STR(obj_str(o, "spec.containers.1.image"), "b");
	CHECK_STR(obj_str(o, "spec.containers.0.image"), "a");
	CHECK(obj_str(o, "spec.containers.2.image") == NULL);
	CHECK(obj_str(o, "spec.containers.x.image") == NULL);
	CHECK(obj_str(o, "spec.containers.-1.image") == NULL);
	CHECK(obj_str(o, "metadata.generation") == NULL);	/* not a string */
	CHECK(obj_get(o, "metadata..name") == NULL);
	CHECK(obj_get(o, "metadata.") == NULL);
	CHECK(obj_get(o, ".metadata") == NULL);
	CHECK(obj_get(o, "metadata.name.x") == NULL);
	CHECK(obj_get(o, "Metadata.name") == NULL);		/* case matters */
	CHECK(obj_get(NULL, "a") == NULL);
	CHECK(obj_get(o, NULL) == NULL);
	CHECK_INT(obj_int(o, "metadata.generation", -1), 3);
	CHECK_INT(obj_int(o, "spec.n", -1), 2);
	CHECK_INT(obj_int(o, "spec.big", -1), -1);
	CHECK_INT(obj_int(o, "spec.s", -1), -1);
	CHECK_INT(obj_int(o, "spec.missing", 42), 42);
	CHECK(obj_bool(o, "spec.suspend", false));
	CHECK(obj_bool(o, "spec.missing", true));
	CHECK(!obj_bool(o, "spec.n", false));
	cJSON_Delete(o);
}

TEST(set_creates_objects_on_the_way_and_replaces)
{
	struct buf b = BUF_INIT;
	cJSON *o = parse("{\"a\":{\"b\":1},\"list\":[{\"x\":1}],\"s\":\"str\"}");
	cJSON *v;

	v = obj_set(o, "a.b", cJSON_CreateNumber(2));
	CHECK(v && obj_get(o, "a.b") == v);
	CHECK(obj_set_str(o, "spec.template.metadata.name", "t") != NULL);
	CHECK(obj_set_str(o, "list.0.y", "yy") != NULL);
	CHECK(obj_set(o, "list.0", cJSON_CreateString("whole")) != NULL);
	CHECK(obj_set_str(o, "n", NULL) != NULL);
	CHECK_STR(json(o, &b), "{\"a\":{\"b\":2},\"list\":[\"whole\"],\"s\":\"str\","
		  "\"spec\":{\"template\":{\"metadata\":{\"name\":\"t\"}}},\"n\":null}");
	/* a string or an array in the way, or a bad index: NULL, nothing changed */
	CHECK(obj_set_str(o, "s.x", "v") == NULL);
	CHECK(obj_set_str(o, "list.x", "v") == NULL);
	CHECK(obj_set_str(o, "list.1", "v") == NULL);
	CHECK(obj_set_str(o, "list.0.z", "v") == NULL);
	CHECK(obj_set_str(o, "", "v") == NULL);
	CHECK(obj_set_str(o, "a..b", "v") == NULL);
	CHECK(obj_set(o, "a", NULL) == NULL);
	CHECK(obj_set(NULL, "a", cJSON_CreateTrue()) == NULL);
	CHECK_STR(json(o, &b), "{\"a\":{\"b\":2},\"list\":[\"whole\"],\"s\":\"str\","
		  "\"spec\":{\"template\":{\"metadata\":{\"name\":\"t\"}}},\"n\":null}");
	cJSON_Delete(o);
	buf_release(&b);
}

TEST(ensure_returns_or_creates_objects)
{
	struct buf b = BUF_INIT;
	cJSON *o = parse("{\"a\":{\"b\":{}},\"s\":1}");
	cJSON *e = obj_ensure(o, "a.b");

	CHECK(e && e == obj_get(o, "a.b"));
	CHECK(obj_ensure(o, "") == o);
	CHECK(obj_ensure(o, "x.y.z") == obj_get(o, "x.y.z"));
	CHECK(obj_ensure(o, "s") == NULL);
	CHECK(obj_ensure(o, "s.t") == NULL);
	CHECK(obj_ensure(NULL, "a") == NULL);
	CHECK_STR(json(o, &b), "{\"a\":{\"b\":{}},\"s\":1,\"x\":{\"y\":{\"z\":{}}}}");
	cJSON_Delete(o);
	buf_release(&b);
}

TEST(remove_deletes_members_and_elements)
{
	struct buf b = BUF_INIT;
	cJSON *o = parse("{\"metadata\":{\"name\":\"x\",\"managedFields\":[1]},"
			 "\"l\":[1,2,3],\"status\":{}}");

	CHECK(obj_remove(o, "metadata.managedFields"));
	CHECK(obj_remove(o, "status"));
	CHECK(obj_remove(o, "l.1"));
	CHECK(!obj_remove(o, "l.5"));
	CHECK(!obj_remove(o, "status"));
	CHECK(!obj_remove(o, "metadata.name.x"));
	CHECK(!obj_remove(o, ""));
	CHECK_STR(json(o, &b), "{\"metadata\":{\"name\":\"x\"},\"l\":[1,3]}");
	cJSON_Delete(o);
	buf_release(&b);
}

/* ---- Kubernetes objects ---------------------------------------------- */

TEST(new_object_and_its_accessors)
{
	struct buf b = BUF_INIT;
	cJSON *o = obj_new("batch/v1", "Job", "ns1", "train");
	cJSON *c = obj_new("v1", "Namespace", NULL, "team");
	cJSON *g = obj_new("v1", "Pod", "", NULL);

	CHECK_STR(json(o, &b), "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\","
		  "\"metadata\":{\"name\":\"train\",\"namespace\":\"ns1\"}}");
	CHECK_STR(json(c, &b), "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
		  "\"metadata\":{\"name\":\"team\"}}");
	CHECK_STR(json(g, &b), "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{}}");
	CHECK_STR(obj_api_version(o), "batch/v1");
	CHECK_STR(obj_kind(o), "Job");
	CHECK_STR(obj_name(o), "train");
	CHECK_STR(obj_namespace(o), "ns1");
	CHECK(obj_namespace(c) == NULL);
	CHECK(obj_name(g) == NULL);
	cJSON_Delete(o);
	cJSON_Delete(c);
	cJSON_Delete(g);
	buf_release(&b);
}

TEST(labels_and_annotations_take_keys_with_dots)
{
	struct buf b = BUF_INIT;
	cJSON *o = obj_new("v1", "Pod", NULL, "p");

	CHECK(obj_label(o, "app") == NULL);
	obj_set_label(o, "app.kubernetes.io/name", "web");
	obj_set_label(o, "tier", "a");
	obj_set_label(o, "tier", "b");
	obj_set_annotation(o, "wlkit.dev/image", "x@sha256:1");
	CHECK_STR(obj_label(o, "app.kubernetes.io/name"), "web");
	CHECK_STR(obj_label(o, "tier"), "b");
	CHECK_STR(obj_annotation(o, "wlkit.dev/image"), "x@sha256:1");
	CHECK(obj_annotation(o, "tier") == NULL);
	obj_set_label(o, "tier", NULL);
	obj_set_label(o, "absent", NULL);
	obj_set_annotation(o, "absent", NULL);
	CHECK(obj_label(o, "tier") == NULL);
	CHECK_STR(json(o, &b), "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
		  "\"labels\":{\"app.kubernetes.io/name\":\"web\"},"
		  "\"annotations\":{\"wlkit.dev/image\":\"x@sha256:1\"}}}");
	cJSON_Delete(o);
	buf_release(&b);
}

TEST(group_of_api_version)
{
	static const struct { const char *in, *group; } cases[] = {
		{ "v1", "" }, { "batch/v1", "batch" }, { "apps/v1", "apps" },
		{ "jobset.x-k8s.io/v1alpha2", "jobset.x-k8s.io" },
		{ "rbac.authorization.k8s.io/v1", "rbac.authorization.k8s.io" },
		{ "", "" }, { NULL, "" },
	};
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < N(cases); i++) {
		buf_reset(&b);
		obj_group(cases[i].in, &b);
		CHECK_STR(buf_str(&b), cases[i].group);
	}
	buf_adds(&b, "x");
	obj_group("apps/v1", &b);	/* appends */
	CHECK_STR(buf_str(&b), "xapps");
	buf_release(&b);
}

/* ---- names and labels ---------------------------------------------- */

#define LABEL_MSG "a lowercase RFC 1123 label must consist of lower case alphanumeric " \
	"characters or '-', and must start and end with an alphanumeric character " \
	"(e.g. 'my-name',  or '123-abc', regex used for validation is " \
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define SUB_MSG "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric " \
	"characters, '-' or '.', and must start and end with an alphanumeric character " \
	"(e.g. 'example.com', regex used for validation is " \
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define QN_MSG "must consist of alphanumeric characters, '-', '_' or '.', and must start " \
	"and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or " \
	"'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define VAL_MSG "a valid label must be an empty string or consist of alphanumeric " \
	"characters, '-', '_' or '.', and must start and end with an alphanumeric " \
	"character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for " \
	"validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

struct name_case {
	const char *in;
	const char *why;	/* NULL when valid */
};

/* A string of n copies of c (static storage, one per slot). */
static const char *rep(int slot, char c, size_t n, const char *tail)
{
	static char s[4][512];

	memset(s[slot], c, n);
	memcpy(s[slot] + n, tail, strlen(tail) + 1);
	return s[slot];
}

static void check_names(bool (*fn)(const char *, struct buf *), const struct name_case *c,
			size_t n, const char *what)
{
	struct buf why = BUF_INIT;

	for (size_t i = 0; i < n; i++) {
		bool ok;

		buf_set(&why, "stale");
		ok = fn(c[i].in, &why);
		if (ok != !c[i].why)
			unit_fail(__FILE__, __LINE__, "%s('%s') == %d", what, c[i].in, ok);
		else if (c[i].why && strcmp(buf_str(&why), c[i].why))
			unit_fail(__FILE__, __LINE__, "%s('%s'): \"%s\", expected \"%s\"",
				  what, c[i].in, buf_str(&why), c[i].why);
		else if (!c[i].why && why.len)
			unit_fail(__FILE__, __LINE__, "%s('%s'): why not emptied", what, c[i].in);
		if (fn(c[i].in, NULL) != ok)
			unit_fail(__FILE__, __LINE__, "%s('%s') differs without why", what, c[i].in);
	}
	buf_release(&why);
}

TEST(dns1123_label_rules_and_messages)
{
	const struct name_case cases[] = {
		{ "my-name", NULL }, { "123-abc", NULL }, { "a", NULL }, { "0", NULL },
		{ "a--b", NULL }, { rep(0, 'a', 63, ""), NULL },
		{ rep(1, 'a', 64, ""), "must be no more than 63 characters" },
		{ rep(2, 'a', 64, "-"), "must be no more than 63 characters, " LABEL_MSG },
		{ "", LABEL_MSG }, { "-a", LABEL_MSG }, { "a-", LABEL_MSG },
		{ "My-name", LABEL_MSG }, { "a_b", LABEL_MSG }, { "a b", LABEL_MSG },
		{ "caf\xc3\xa9", LABEL_MSG },
		{ "a.b", "must not contain dots" }, { "example.com", "must not contain dots" },
		{ "a..b", LABEL_MSG },
	};

	check_names(dns1123_label, cases, N(cases), "dns1123_label");
	CHECK(!dns1123_label(NULL, NULL));
}

TEST(dns1123_subdomain_rules_and_messages)
{
	char long_ok[254], long_bad[255];

	/* 253 and 254 characters of labels of 9 joined by dots */
	for (int i = 0; i < 254; i++)
		long_bad[i] = (i % 10 == 9) ? '.' : 'a';
	long_bad[253] = 'a';
	long_bad[254] = '\0';
	memcpy(long_ok, long_bad, 253);
	long_ok[252] = 'a';
	long_ok[253] = '\0';
	{
		const struct name_case cases[] = {
			{ "example.com", NULL }, { "a", NULL }, { "a.b-c.d", NULL },
			{ "1.2.3.4", NULL }, { rep(0, 'a', 100, ""), NULL }, { long_ok, NULL },
			{ long_bad, "must be no more than 253 characters" },
			{ "", SUB_MSG }, { "Example.com", SUB_MSG }, { "a..b", SUB_MSG },
			{ ".a", SUB_MSG }, { "a.", SUB_MSG }, { "a_b.c", SUB_MSG },
			{ "a.-b", SUB_MSG },
		};

		check_names(dns1123_subdomain, cases, N(cases), "dns1123_subdomain");
	}
}

TEST(label_key_is_a_qualified_name)
{
	const struct name_case cases[] = {
		{ "app", NULL }, { "MyName", NULL }, { "my.name", NULL }, { "123-abc", NULL },
		{ "a_b", NULL }, { "app.kubernetes.io/name", NULL }, { "example.com/MyName", NULL },
		{ rep(0, 'a', 63, ""), NULL },
		{ "", "name part must be non-empty, name part " QN_MSG },
		{ "a/", "name part must be non-empty, name part " QN_MSG },
		{ "/a", "prefix part must be non-empty" },
		{ "a/b/c", "a qualified name " QN_MSG " with an optional DNS subdomain prefix "
			   "and '/' (e.g. 'example.com/MyName')" },
		{ "Example.com/a", "prefix part " SUB_MSG },
		{ "-a", "name part " QN_MSG }, { "a-", "name part " QN_MSG },
		{ "a b", "name part " QN_MSG }, { "ex.com/_a", "name part " QN_MSG },
		{ rep(1, 'a', 64, ""), "name part must be no more than 63 characters" },
		{ rep(2, 'a', 254, "/b"), "prefix part must be no more than 253 characters" },
		{ rep(3, 'a', 64, "-"), "name part must be no more than 63 characters, name part "
					 QN_MSG },
	};

	check_names(label_key_valid, cases, N(cases), "label_key_valid");
}

TEST(label_value_rules_and_messages)
{
	const struct name_case cases[] = {
		{ "", NULL }, { "MyValue", NULL }, { "my_value", NULL }, { "12345", NULL },
		{ "a.b-c_d", NULL }, { "v1.2.3", NULL }, { rep(0, 'x', 63, ""), NULL },
		{ rep(1, 'x', 64, ""), "must be no more than 63 characters" },
		{ "-a", VAL_MSG }, { "a_", VAL_MSG }, { "a b", VAL_MSG }, { "a/b", VAL_MSG },
		{ rep(2, 'x', 63, "."), "must be no more than 63 characters, " VAL_MSG },
	};

	check_names(label_value_valid, cases, N(cases), "label_value_valid");
	CHECK(label_value_valid(NULL, NULL));
}

/* ---- resource quantities -------------------------------------------- */

#define BAD INT64_MIN	/* the call fails */

struct quantity_case {
	const char *in;
	int64_t milli, value;	/* BAD: an error */
	const char *why;	/* part of the message when an error */
};

static const struct quantity_case quantities[] = {
	/* zero in every spelling */
	{ "0", 0, 0, NULL }, { "00", 0, 0, NULL }, { "-0", 0, 0, NULL },
	{ "+0", 0, 0, NULL }, { "0m", 0, 0, NULL }, { "0Gi", 0, 0, NULL },
	{ "0.000", 0, 0, NULL }, { "0e5", 0, 0, NULL },
	{ "0e2147483647", 0, 0, NULL },
	/* plain numbers and fractions */
	{ "1", 1000, 1, NULL }, { "2", 2000, 2, NULL }, { "4", 4000, 4, NULL },
	{ "0.5", 500, 1, NULL }, { ".5", 500, 1, NULL }, { "1.", 1000, 1, NULL },
	{ "0.1", 100, 1, NULL }, { "1.5", 1500, 2, NULL }, { "0.001", 1, 1, NULL },
	{ "0.0001", 1, 1, NULL }, { "9.01", 9010, 10, NULL },
	{ "007", 7000, 7, NULL },
	/* decimal SI suffixes */
	{ "500m", 500, 1, NULL }, { "1500m", 1500, 2, NULL }, { "2000m", 2000, 2, NULL },
	{ "1m", 1, 1, NULL }, { "100n", 1, 1, NULL }, { "1n", 1, 1, NULL },
	{ "3.001n", 1, 1, NULL }, { "5u", 1, 1, NULL }, { "1000u", 1, 1, NULL },
	{ "1001u", 2, 1, NULL }, { "1000000u", 1000, 1, NULL },
	{ "1k", 1000000, 1000, NULL }, { "8.1k", 8100000, 8100, NULL },
	{ "1M", 1000000000, 1000000, NULL }, { "10.035M", 10035000000, 10035000, NULL },
	{ "1G", 1000000000000, 1000000000, NULL }, { "1.G", 1000000000000, 1000000000, NULL },
	{ "1T", 1000000000000000, 1000000000000, NULL },
	{ "1P", 1000000000000000000, 1000000000000000, NULL },
	{ "1E", BAD, 1000000000000000000, Q_TOO_BIG },
	{ "9E", BAD, 9000000000000000000, Q_TOO_BIG },
	{ "10E", BAD, BAD, Q_TOO_BIG },
	/* binary SI suffixes */
	{ "1Ki", 1024000, 1024, NULL }, { "100Ki", 102400000, 102400, NULL },
	{ "1Mi", 1048576000, 1048576, NULL }, { "2Gi", 2147483648000, 2147483648, NULL },
	{ "1Ti", 1099511627776000, 1099511627776, NULL },
	{ "1Pi", 1125899906842624000, 1125899906842624, NULL },
	{ "1Ei", BAD, 1152921504606846976, Q_TOO_BIG },
	{ "7Ei", BAD, 8070450532247928832, Q_TOO_BIG },
	{ "8Ei", BAD, BAD, Q_TOO_BIG },
	{ "2.5Gi", 2684354560000, 2684354560, NULL }, { "1.5Ki", 1536000, 1536, NULL },
	{ "0.5Mi", 524288000, 524288, NULL }, { "100.035Ki", 102435840, 102436, NULL },
	{ "0.000000000001Ki", 1, 1, NULL },
	/* decimal exponents */
	{ "1e3", 1000000, 1000, NULL }, { "1E3", 1000000, 1000, NULL },
	{ "1e+3", 1000000, 1000, NULL }, { "1.2e3", 1200000, 1200, NULL },
	{ "1e-3", 1, 1, NULL }, { "1E-3", 1, 1, NULL }, { "1.5e-3", 2, 1, NULL },
	{ "1E-9", 1, 1, NULL }, { "0.5e0", 500, 1, NULL }, { "1.3E+6", 1300000000, 1300000, NULL },
	{ "12e18", BAD, BAD, Q_TOO_BIG }, { "1e2147483647", BAD, BAD, Q_TOO_BIG },
	{ "1e-2147483647", 1, 1, NULL },
	/* signs: rounding is away from zero */
	{ "+1.5Gi", 1610612736000, 1610612736, NULL },
	{ "-1", -1000, -1, NULL }, { "-500m", -500, -1, NULL }, { "-1.5", -1500, -2, NULL },
	{ "-100n", -1, -1, NULL }, { "-2Gi", -2147483648000, -2147483648, NULL },
	/* the int64 edge, and more digits than any integer holds */
	{ "9223372036854775807", BAD, INT64_MAX, Q_TOO_BIG },
	{ "9223372036854775808", BAD, BAD, Q_TOO_BIG },
	{ "9223372036854775807m", INT64_MAX, 9223372036854776, NULL },
	{ "9223372036854775807.1m", BAD, 9223372036854776, Q_TOO_BIG },
	{ "123456789012345678901234567890e-20", 1234567890124, 1234567891, NULL },
	{ "0.1234567890123456789012345", 124, 1, NULL },
	{ "100000000000000000000000000000n", BAD, BAD, Q_TOO_BIG },
	{ "10000000000000000000000000000n", BAD, BAD, Q_TOO_BIG },
	{ "9000000000000000000000000000n", BAD, 9000000000000000000, Q_TOO_BIG },
	/* not quantities */
	{ "", BAD, BAD, Q_FORMAT }, { "1.2.3", BAD, BAD, Q_FORMAT },
	{ "1.1.M", BAD, BAD, Q_FORMAT }, { "Gi", BAD, BAD, Q_FORMAT },
	{ "e3", BAD, BAD, Q_FORMAT }, { ".", BAD, BAD, Q_FORMAT }, { "-", BAD, BAD, Q_FORMAT },
	{ "1 Gi", BAD, BAD, Q_FORMAT }, { " 1", BAD, BAD, Q_FORMAT },
	{ "1 ", BAD, BAD, Q_FORMAT }, { "1gi", BAD, BAD, Q_FORMAT },
	{ "1KB", BAD, BAD, Q_FORMAT }, { "aoeu", BAD, BAD, Q_FORMAT },
	{ "1+1.0M", BAD, BAD, Q_FORMAT }, { "1e3e", BAD, BAD, Q_FORMAT },
	{ "1e", BAD, BAD, Q_SUFFIX }, { "--1", BAD, BAD, Q_SUFFIX },
	{ "1i", BAD, BAD, Q_SUFFIX }, { ".5i", BAD, BAD, Q_SUFFIX },
	{ "1K", BAD, BAD, Q_SUFFIX }, { "0.1mi", BAD, BAD, Q_SUFFIX },
	{ "1m3", BAD, BAD, Q_SUFFIX }, { "1ee3", BAD, BAD, Q_SUFFIX },
	{ "-3.01e-", BAD, BAD, Q_SUFFIX }, { "1e4294967297", BAD, BAD, Q_SUFFIX },
	{ "1e2147483648", BAD, BAD, Q_SUFFIX },
};

static void check_quantity(const struct quantity_case *c, bool milli)
{
	int (*fn)(const char *, int64_t *, struct buf *) = milli ? quantity_milli : quantity_value;
	int64_t want = milli ? c->milli : c->value, got = -42;
	const char *what = milli ? "quantity_milli" : "quantity_value";
	struct buf why = BUF_INIT;
	int rc = fn(c->in, &got, &why);

	if (want == BAD) {
		if (rc != -1)
			unit_fail(__FILE__, __LINE__, "%s('%s') == %lld, expected an error",
				  what, c->in, (long long)got);
		else if (!strstr(buf_str(&why), c->why) || !strstr(buf_str(&why), c->in))
			unit_fail(__FILE__, __LINE__, "%s('%s'): message \"%s\"", what, c->in,
				  buf_str(&why));
	} else if (rc != 0 || got != want) {
		unit_fail(__FILE__, __LINE__, "%s('%s') == %d, %lld, expected %lld (%s)", what,
			  c->in, rc, (long long)got, (long long)want, buf_str(&why));
	}
	buf_release(&why);
}

TEST(quantity_table)
{
	CHECK(N(quantities) >= 60);
	for (size_t i = 0; i < N(quantities); i++) {
		check_quantity(&quantities[i], true);
		check_quantity(&quantities[i], false);
	}
}

TEST(quantity_errors_name_the_value_and_need_no_buffer)
{
	struct buf why = BUF_INIT;
	int64_t v = 7;

	CHECK_INT(quantity_value("1gi", &v, &why), -1);
	CHECK_STR(buf_str(&why), "invalid quantity '1gi': " Q_FORMAT);
	CHECK_INT(quantity_milli("2Xi", &v, &why), -1);
	CHECK_STR(buf_str(&why), "invalid quantity '2Xi': " Q_FORMAT);
	CHECK_INT(quantity_milli("2K", &v, &why), -1);
	CHECK_STR(buf_str(&why), "invalid quantity '2K': " Q_SUFFIX);
	CHECK_INT(quantity_value("8Ei", &v, &why), -1);
	CHECK_STR(buf_str(&why), "quantity '8Ei' is too large");
	CHECK_INT(quantity_value(NULL, &v, NULL), -1);
	CHECK_INT(quantity_milli("x", &v, NULL), -1);
	CHECK_INT(v, 7);
	buf_release(&why);
}

TEST(quantity_canonical_forms)
{
	static const struct { int64_t v; const char *milli, *bytes; } cases[] = {
		{ 0, "0", "0" },
		{ 1, "1m", "1" },
		{ 100, "100m", "100" },
		{ 500, "500m", "500" },
		{ 1000, "1", "1k" },
		{ 1023, "1023m", "1023" },
		{ 1024, "1024m", "1Ki" },
		{ 1500, "1500m", "1500" },
		{ 1536, "1536m", "1536" },
		{ 2000, "2", "2000" },
		{ 1500000, "1500", "1500000" },
		{ 2000000, "2k", "2000000" },
		{ 1000000000, "1M", "1000000000" },
		{ 1610612736, "1610612736m", "1536Mi" },
		{ 2147483648, "2147483648m", "2Gi" },
		{ 1152921504606846976, "1152921504606846976m", "1Ei" },
		{ 4611686018427387904, "4611686018427387904m", "4Ei" },
		{ 5000000000000000000, "5P", "4882812500000000Ki" },
		{ INT64_MAX, "9223372036854775807m", "9223372036854775807" },
		{ -1000, "-1", "-1k" },
		{ -1500, "-1500m", "-1500" },
		{ -1024, "-1024m", "-1Ki" },
		{ -2147483648, "-2147483648m", "-2Gi" },
		{ INT64_MIN, "-9223372036854775808m", "-8Ei" },
	};
	struct buf b = BUF_INIT;
	int64_t back;

	for (size_t i = 0; i < N(cases); i++) {
		buf_reset(&b);
		quantity_format_milli(cases[i].v, &b);
		CHECK_STR(buf_str(&b), cases[i].milli);
		if (quantity_milli(buf_str(&b), &back, NULL) == 0)
			CHECK_INT(back, cases[i].v);
		else
			CHECK(cases[i].v == INT64_MIN);
		buf_reset(&b);
		quantity_format_bytes(cases[i].v, &b);
		CHECK_STR(buf_str(&b), cases[i].bytes);
		if (quantity_value(buf_str(&b), &back, NULL) == 0)
			CHECK_INT(back, cases[i].v);
		else
			CHECK(cases[i].v == INT64_MIN);
	}
	buf_adds(&b, " then ");
	quantity_format_milli(250, &b);	/* appends */
	CHECK_STR(buf_str(&b), "-8Ei then 250m");
	buf_release(&b);
}

/* ---- durations -------------------------------------------------------- */

TEST(duration_table)
{
	static const struct { const char *in; int64_t ms; const char *why; } cases[] = {
		{ "0", 0, NULL }, { "-0", 0, NULL }, { "+0", 0, NULL }, { "0s", 0, NULL },
		{ "30", 30000, NULL }, { "+5", 5000, NULL }, { "007", 7000, NULL },
		{ "90s", 90000, NULL }, { "5m", 300000, NULL }, { "1h30m", 5400000, NULL },
		{ "1.5h", 5400000, NULL }, { "250ms", 250, NULL }, { "1.5s", 1500, NULL },
		{ ".5s", 500, NULL }, { "1.s", 1000, NULL }, { "+1m", 60000, NULL },
		{ "2h45m30.5s", 9930500, NULL }, { "1m30s250ms", 90250, NULL },
		{ "1ns", 1, NULL }, { "1us", 1, NULL }, { "1\xc2\xb5s", 1, NULL },
		{ "1\xce\xbcs", 1, NULL }, { "1500us", 2, NULL }, { "0.0001ms", 1, NULL },
		{ "1000000ns", 1, NULL }, { "1000001ns", 2, NULL }, { "3h0m0s", 10800000, NULL },
		{ "2562047h", 9223369200000, NULL },
		{ "9223372036", 9223372036000, NULL },
		{ "2562048h", -1, "invalid duration '2562048h'" },
		{ "9223372037", -1, "invalid duration '9223372037'" },
		{ "99999999999999999999s", -1, "invalid duration '99999999999999999999s'" },
		{ "", -1, "invalid duration ''" },
		{ "abc", -1, "invalid duration 'abc'" },
		{ "s", -1, "invalid duration 's'" },
		{ ".s", -1, "invalid duration '.s'" },
		{ "-", -1, "invalid duration '-'" },
		{ "1h-1m", -1, "unknown unit 'h-' in duration '1h-1m'" },
		{ "1h.m", -1, "invalid duration '1h.m'" },
		{ "1.5", -1, "missing unit in duration '1.5'" },
		{ "-5", -1, "missing unit in duration '-5'" },
		{ "1h30", -1, "missing unit in duration '1h30'" },
		{ "3d", -1, "unknown unit 'd' in duration '3d' (units are ns, us, ms, s, m, h)" },
		{ "1 s", -1, "unknown unit ' s' in duration '1 s'" },
		{ "5S", -1, "unknown unit 'S' in duration '5S'" },
		{ "1e3s", -1, "unknown unit 'e' in duration '1e3s'" },
		{ "-1s", -1, "negative duration '-1s'" },
		{ "-1h30m", -1, "negative duration '-1h30m'" },
	};
	struct buf why = BUF_INIT;

	for (size_t i = 0; i < N(cases); i++) {
		int64_t ms = -42;
		int rc = duration_parse_ms(cases[i].in, &ms, &why);

		if (cases[i].why) {
			if (rc != -1 || !strstr(buf_str(&why), cases[i].why))
				unit_fail(__FILE__, __LINE__, "duration '%s': %d, \"%s\"",
					  cases[i].in, rc, buf_str(&why));
		} else if (rc != 0 || ms != cases[i].ms) {
			unit_fail(__FILE__, __LINE__, "duration '%s' == %d, %lld, expected %lld (%s)",
				  cases[i].in, rc, (long long)ms, (long long)cases[i].ms,
				  buf_str(&why));
		}
	}
	{
		int64_t ms = 5;

		CHECK_INT(duration_parse_ms(NULL, &ms, NULL), -1);
		CHECK_INT(duration_parse_ms("x", &ms, NULL), -1);
		CHECK_INT(ms, 5);
	}
	buf_release(&why);
}

/* ---- RFC 3339 --------------------------------------------------------- */

TEST(rfc3339_format)
{
	static const struct { int64_t t; const char *s; } cases[] = {
		{ 0, "1970-01-01T00:00:00Z" },
		{ 1700000000, "2023-11-14T22:13:20Z" },
		{ 1000000000, "2001-09-09T01:46:40Z" },
		{ -1, "1969-12-31T23:59:59Z" },
		{ 951782400, "2000-02-29T00:00:00Z" },
		{ -11670868800, "1600-03-01T12:00:00Z" },
		{ -62135596800, "0001-01-01T00:00:00Z" },
		{ 253402300799, "9999-12-31T23:59:59Z" },
	};
	struct buf b = BUF_INIT;
	int64_t t;

	for (size_t i = 0; i < N(cases); i++) {
		buf_reset(&b);
		rfc3339(cases[i].t, &b);
		CHECK_STR(buf_str(&b), cases[i].s);
		t = 7;
		CHECK_INT(rfc3339_parse(buf_str(&b), &t), 0);
		CHECK_INT(t, cases[i].t);
	}
	/* every day for 1200 years round-trips */
	for (t = -6000000000; t < 32000000000; t += 86399) {
		int64_t back = 0;

		buf_reset(&b);
		rfc3339(t, &b);
		if (rfc3339_parse(buf_str(&b), &back) < 0 || back != t) {
			unit_fail(__FILE__, __LINE__, "%lld -> %s -> %lld", (long long)t,
				  buf_str(&b), (long long)back);
			break;
		}
	}
	buf_release(&b);
}

TEST(rfc3339_parse_table)
{
	static const struct { const char *s; int rc; int64_t t; } cases[] = {
		{ "2023-11-14T22:13:20Z", 0, 1700000000 },
		{ "2023-11-15T00:13:20+02:00", 0, 1700000000 },
		{ "2023-11-14T17:13:20-05:00", 0, 1700000000 },
		{ "2023-11-14T22:43:20+00:30", 0, 1700000000 },
		{ "2023-11-14T22:13:20-00:00", 0, 1700000000 },
		{ "2023-11-14T22:13:20.123456789Z", 0, 1700000000 },
		{ "2023-11-14T22:13:20.9+00:00", 0, 1700000000 },
		{ "2023-11-14T22:13:20,5Z", 0, 1700000000 },
		{ "1969-12-31T23:59:59.5Z", 0, -1 },
		{ "2000-02-29T00:00:00Z", 0, 951782400 },
		{ "2001-02-29T00:00:00Z", -1, 0 },
		{ "1900-02-29T00:00:00Z", -1, 0 },
		{ "2023-04-31T00:00:00Z", -1, 0 },
		{ "2023-13-01T00:00:00Z", -1, 0 },
		{ "2023-00-01T00:00:00Z", -1, 0 },
		{ "2023-11-14 22:13:20Z", -1, 0 },
		{ "2023-11-14t22:13:20Z", -1, 0 },
		{ "2023-11-14T22:13:20z", -1, 0 },
		{ "2023-11-14T22:13:20", -1, 0 },
		{ "2023-11-14T24:00:00Z", -1, 0 },
		{ "2023-11-14T22:60:00Z", -1, 0 },
		{ "2023-11-14T22:13:60Z", -1, 0 },
		{ "2023-11-14T22:13:20+0200", -1, 0 },
		{ "2023-11-14T22:13:20+24:00", -1, 0 },
		{ "2023-11-14T22:13:20+02:60", -1, 0 },
		{ "2023-11-14T22:13:20.Z", -1, 0 },
		{ "2023-11-14T22:13:20ZZ", -1, 0 },
		{ "2023-1-14T22:13:20Z", -1, 0 },
		{ "+023-11-14T22:13:20Z", -1, 0 },
		{ "", -1, 0 },
		{ NULL, -1, 0 },
	};

	for (size_t i = 0; i < N(cases); i++) {
		int64_t t = 42;
		int rc = rfc3339_parse(cases[i].s, &t);

		if (rc != cases[i].rc || (rc == 0 && t != cases[i].t) || (rc < 0 && t != 42))
			unit_fail(__FILE__, __LINE__, "rfc3339_parse('%s') == %d, %lld",
				  cases[i].s ? cases[i].s : "(null)", rc, (long long)t);
	}
}
