/* test_smi.c - the `nvidia-smi -q -x` reader of kubectl-gpusnap
 * (plugins/gpusnap/smi.c, compiled in: the unit tests link only
 * libwlkit.a). */
#include "unit.h"
#include "../../plugins/gpusnap/smi.c"

#include <stdio.h>

static cJSON *parse_ok(const char *xml, size_t len)
{
	struct buf err = BUF_INIT;
	cJSON *d = cJSON_CreateObject();

	if (smi_parse(xml, len, d, &err) < 0)
		unit_fail(__FILE__, __LINE__, "smi_parse failed: %s", buf_str(&err));
	buf_release(&err);
	return d;
}

/* Parses the NUL-terminated xml, expecting an error containing `want` and
 * the map left as it was. */
static void parse_bad(int line, const char *xml, size_t len, const char *want)
{
	struct buf err = BUF_INIT;
	cJSON *d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "keep", "me");
	if (smi_parse(xml, len, d, &err) != -1)
		unit_fail(__FILE__, line, "accepted: %.60s", xml);
	else if (!strstr(buf_str(&err), want))
		unit_fail(__FILE__, line, "error '%s' does not say '%s'", buf_str(&err), want);
	if (cJSON_GetArraySize(d) != 1 || !cJSON_GetObjectItem(d, "keep"))
		unit_fail(__FILE__, line, "the map changed on an error");
	cJSON_Delete(d);
	buf_release(&err);
}
#define BAD(xml, want) parse_bad(__LINE__, xml, strlen(xml), want)

static const char *str(const cJSON *d, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *d, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, key);

	return cJSON_IsNumber(v) ? v->valuedouble : -12345;
}

static void read_fixture(const char *name, struct buf *out)
{
	struct buf path = BUF_INIT;

	buf_printf(&path, "%s/tests/fixtures/gpusnap/smi/%s", unit_srcdir(), name);
	if (buf_read_file(out, buf_str(&path)) < 0)
		unit_fail(__FILE__, __LINE__, "cannot read '%s'", buf_str(&path));
	buf_release(&path);
}

TEST(h100_top_level_and_every_gpu)
{
	struct buf x = BUF_INIT, key = BUF_INIT;
	static const char *buses[] = { "18", "2A", "3A", "5D", "9A", "AB", "BA", "DB" };
	cJSON *d;
	int i;

	read_fixture("h100x8-mig.xml", &x);
	d = parse_ok(x.data, x.len);
	CHECK_STR(str(d, "driver"), "570.133.20");
	CHECK_STR(str(d, "cuda-version"), "12.8");
	CHECK_INT(num(d, "gpu-count"), 8);
	for (i = 0; i < 8; i++) {
		buf_reset(&key);
		buf_printf(&key, "gpu.%d.index", i);
		CHECK_INT(num(d, buf_str(&key)), i);
		buf_reset(&key);
		buf_printf(&key, "gpu.%d.name", i);
		CHECK_STR(str(d, buf_str(&key)), "NVIDIA H100 80GB HBM3");
		buf_reset(&key);
		buf_printf(&key, "gpu.%d.pci-bus-id", i);
		CHECK(!strncmp(str(d, buf_str(&key)) ? str(d, buf_str(&key)) : "",
			       "00000000:", 9));
		CHECK(strstr(str(d, buf_str(&key)) ? str(d, buf_str(&key)) : "", buses[i]));
	}
	CHECK_STR(str(d, "gpu.7.uuid"), "GPU-0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d78");
	CHECK_STR(str(d, "gpu.7.pci-bus-id"), "00000000:DB:00.0");
	CHECK_STR(str(d, "gpu.7.architecture"), "Hopper");
	CHECK_STR(str(d, "gpu.7.vbios"), "96.00.99.00.01");
	CHECK_STR(str(d, "gpu.7.gsp-firmware"), "570.133.20");
	CHECK_STR(str(d, "gpu.7.persistence-mode"), "Enabled");
	CHECK_STR(str(d, "gpu.7.mig-mode.current"), "Disabled");
	CHECK_STR(str(d, "gpu.7.mig-mode.pending"), "Disabled");
	CHECK_STR(str(d, "gpu.7.ecc-mode.current"), "Enabled");
	CHECK_INT(num(d, "gpu.7.memory-total"), 81559);
	CHECK_INT(num(d, "gpu.7.power-limit"), 700);
	CHECK_INT(num(d, "gpu.7.clocks.max-graphics"), 1980);
	CHECK_INT(num(d, "gpu.7.clocks.max-sm"), 1980);
	CHECK_INT(num(d, "gpu.7.clocks.max-mem"), 2619);
	CHECK_INT(num(d, "gpu.7.mig-devices"), 0);
	CHECK_STR(str(d, "gpu.model"), "NVIDIA H100 80GB HBM3");
	CHECK_STR(str(d, "gpu.architecture"), "Hopper");
	CHECK_STR(str(d, "gpu.vbios"), "96.00.99.00.01");
	CHECK_STR(str(d, "gpu.gsp-firmware"), "570.133.20");
	CHECK_STR(str(d, "gpu.persistence-mode"), "Enabled");
	CHECK_STR(str(d, "gpu-models"), "NVIDIA H100 80GB HBM3");
	CHECK(!cJSON_GetObjectItem(d, "gpu.8.name"));
	cJSON_Delete(d);
	buf_release(&key);
	buf_release(&x);
}

TEST(h100_mig_instances_of_gpu_0)
{
	struct buf x = BUF_INIT, key = BUF_INIT;
	cJSON *d;
	int j;

	read_fixture("h100x8-mig.xml", &x);
	d = parse_ok(x.data, x.len);
	CHECK_STR(str(d, "gpu.0.mig-mode.current"), "Enabled");
	CHECK_STR(str(d, "gpu.0.mig-mode.pending"), "Enabled");
	CHECK_INT(num(d, "gpu.0.mig-devices"), 7);
	for (j = 0; j < 7; j++) {
		buf_reset(&key);
		buf_printf(&key, "gpu.0.mig.%d.gi-id", j);
		CHECK_INT(num(d, buf_str(&key)), 7 + j);
		buf_reset(&key);
		buf_printf(&key, "gpu.0.mig.%d.ci-id", j);
		CHECK_INT(num(d, buf_str(&key)), 0);
		buf_reset(&key);
		buf_printf(&key, "gpu.0.mig.%d.index", j);
		CHECK_INT(num(d, buf_str(&key)), j);
		buf_reset(&key);
		buf_printf(&key, "gpu.0.mig.%d.sm-count", j);
		CHECK_INT(num(d, buf_str(&key)), 16);
		buf_reset(&key);
		buf_printf(&key, "gpu.0.mig.%d.memory-total", j);
		CHECK_INT(num(d, buf_str(&key)), 9984);
	}
	CHECK(!cJSON_GetObjectItem(d, "gpu.0.mig.7.gi-id"));
	CHECK(!cJSON_GetObjectItem(d, "gpu.1.mig.0.gi-id"));
	cJSON_Delete(d);
	buf_release(&key);
	buf_release(&x);
}

TEST(na_values_are_dropped)
{
	struct buf x = BUF_INIT;
	const cJSON *v;
	cJSON *d;

	read_fixture("h100x8-mig.xml", &x);
	d = parse_ok(x.data, x.len);
	cJSON_ArrayForEach(v, d)
		if (cJSON_IsString(v) && strstr(v->valuestring, "N/A"))
			unit_fail(__FILE__, __LINE__, "%s: %s", v->string, v->valuestring);
	cJSON_Delete(d);
	buf_release(&x);
}

TEST(na_and_empty_readings_give_no_key)
{
	const char *x = "<nvidia_smi_log><gpu><uuid> N/A </uuid><product_name>"
			"</product_name><vbios_version/><fb_memory_usage><total>N/A"
			"</total></fb_memory_usage><minor_number>3</minor_number>"
			"</gpu></nvidia_smi_log>";
	cJSON *d = parse_ok(x, strlen(x));

	CHECK(!cJSON_GetObjectItem(d, "gpu.0.uuid"));
	CHECK(!cJSON_GetObjectItem(d, "gpu.0.name"));
	CHECK(!cJSON_GetObjectItem(d, "gpu.0.vbios"));
	CHECK(!cJSON_GetObjectItem(d, "gpu.0.memory-total"));
	CHECK(!cJSON_GetObjectItem(d, "gpu-models"));
	CHECK_INT(num(d, "gpu.0.index"), 3);
	/* no attached_gpus: the GPUs listed */
	CHECK_INT(num(d, "gpu-count"), 1);
	cJSON_Delete(d);
}

TEST(older_power_spelling_mixed_models_and_attributes)
{
	struct buf x = BUF_INIT;
	cJSON *d;

	read_fixture("mixed-r470.xml", &x);
	d = parse_ok(x.data, x.len);
	CHECK_STR(str(d, "driver"), "470.256.02");
	CHECK_STR(str(d, "cuda-version"), "11.4");
	CHECK_INT(num(d, "gpu-count"), 2);
	CHECK_INT(num(d, "gpu.0.power-limit"), 70);
	CHECK_INT(num(d, "gpu.1.power-limit"), 300);
	CHECK_INT(num(d, "gpu.0.clocks.max-mem"), 5001);
	CHECK_INT(num(d, "gpu.0.mig-devices"), 0);
	CHECK(!cJSON_GetObjectItem(d, "gpu.0.mig-mode.current"));
	CHECK(!cJSON_GetObjectItem(d, "gpu.1.mig-devices"));
	/* the id attribute in single quotes gives the bus id when <pci> is absent */
	CHECK_STR(str(d, "gpu.1.pci-bus-id"), "00000000:00:05.0");
	CHECK_STR(str(d, "gpu-models"), "Tesla T4, Tesla V100-SXM2-16GB");
	CHECK_STR(str(d, "gpu.model"), "Tesla T4");
	CHECK_STR(str(d, "gpu.persistence-mode"), "Disabled");
	CHECK(!cJSON_GetObjectItem(d, "gpu.architecture"));
	CHECK(!cJSON_GetObjectItem(d, "gpu.gsp-firmware"));
	cJSON_Delete(d);
	buf_release(&x);
}

TEST(entities_character_references_and_cdata)
{
	const char *x = "<?xml version=\"1.0\" ?>\n"
		"<!DOCTYPE nvidia_smi_log SYSTEM \"nvsmi_device_v12.dtd\" [ <!ENTITY x \"]>\"> ]>\n"
		"<!-- a comment <gpu> -->\n"
		"<nvidia_smi_log>\n"
		"<gpu id=\"a&amp;b\">\n"
		"<product_name>A &amp; B &lt;x&gt; &quot;q&quot; &apos;s&apos; &#65;&#x42;&#x20AC;</product_name>\n"
		"<uuid><![CDATA[GPU-<raw>&amp;]]></uuid>\n"
		"<vbios_version>\n\t 1.2.3 \n</vbios_version>\n"
		"</gpu>\n"
		"</nvidia_smi_log>\n<!-- trailing -->\n";
	cJSON *d = parse_ok(x, strlen(x));

	CHECK_STR(str(d, "gpu.0.name"), "A & B <x> \"q\" 's' AB\xe2\x82\xac");
	CHECK_STR(str(d, "gpu.0.uuid"), "GPU-<raw>&amp;");
	CHECK_STR(str(d, "gpu.0.vbios"), "1.2.3");
	CHECK_STR(str(d, "gpu.0.pci-bus-id"), "a&b");
	cJSON_Delete(d);
}

TEST(unclean_units_stay_strings)
{
	const char *x = "<nvidia_smi_log><attached_gpus>two</attached_gpus><gpu>"
		"<fb_memory_usage><total>80 GiB</total></fb_memory_usage>"
		"<gpu_power_readings><current_power_limit>700.5 W</current_power_limit>"
		"</gpu_power_readings><max_clocks><sm_clock>1.MHz</sm_clock>"
		"<mem_clock>2619MHz</mem_clock></max_clocks>"
		"<minor_number>-1</minor_number></gpu></nvidia_smi_log>";
	cJSON *d = parse_ok(x, strlen(x));

	CHECK_STR(str(d, "gpu-count"), "two");
	CHECK_STR(str(d, "gpu.0.memory-total"), "80 GiB");
	CHECK(num(d, "gpu.0.power-limit") == 700.5);
	CHECK_STR(str(d, "gpu.0.clocks.max-sm"), "1.MHz");
	CHECK_STR(str(d, "gpu.0.clocks.max-mem"), "2619MHz");
	CHECK_STR(str(d, "gpu.0.index"), "-1");
	cJSON_Delete(d);
}

TEST(keys_replace_and_are_added_to_the_map)
{
	const char *x = "<nvidia_smi_log><driver_version>2</driver_version>"
			"<driver_version>3</driver_version></nvidia_smi_log>";
	struct buf err = BUF_INIT;
	cJSON *d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "driver", "1");
	cJSON_AddTrueToObject(d, "available");
	CHECK_INT(smi_parse(x, strlen(x), d, &err), 0);
	CHECK_STR(str(d, "driver"), "3");
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(d, "available")));
	CHECK_INT(num(d, "gpu-count"), 0);
	CHECK_INT(cJSON_GetArraySize(d), 3);
	cJSON_Delete(d);
	buf_release(&err);
}

TEST(malformed_input_is_an_error)
{
	BAD("", "no root element");
	BAD("  \n ", "no root element");
	BAD("<?xml version=\"1.0\" ?>", "no root element");
	BAD("<nvidia_smi_log>", "truncated: element 'nvidia_smi_log' is not closed");
	BAD("<nvidia_smi_log><gpu><uuid>x</uuid>", "truncated: element 'gpu'");
	BAD("<html></html>", "not nvidia-smi output");
	BAD("<nvidia_smi_log><a></b></nvidia_smi_log>", "end tag 'b' does not match 'a'");
	BAD("</nvidia_smi_log>", "without a start tag");
	BAD("<nvidia_smi_log/><nvidia_smi_log/>", "a second root element");
	BAD("hello<nvidia_smi_log/>", "text outside the root element");
	BAD("<nvidia_smi_log/>bye", "text outside the root element");
	BAD("<nvidia_smi_log>&nbsp;</nvidia_smi_log>", "unknown entity '&nbsp;'");
	BAD("<nvidia_smi_log>a & b</nvidia_smi_log>", "'&' that begins no entity");
	BAD("<nvidia_smi_log>&#;</nvidia_smi_log>", "empty character reference");
	BAD("<nvidia_smi_log>&#x110000;</nvidia_smi_log>", "out of range");
	BAD("<nvidia_smi_log>&#0;</nvidia_smi_log>", "forbids");
	BAD("<nvidia_smi_log>&#xD800;</nvidia_smi_log>", "forbids");
	BAD("<nvidia_smi_log>&#12a;</nvidia_smi_log>", "bad character reference");
	BAD("<nvidia_smi_log>\x01</nvidia_smi_log>", "control character 0x01");
	BAD("<nvidia_smi_log>\xc3\x28</nvidia_smi_log>", "invalid UTF-8");
	BAD("<nvidia_smi_log>\xed\xa0\x80</nvidia_smi_log>", "invalid UTF-8");
	BAD("<nvidia_smi_log>\xe2\x82", "invalid UTF-8");
	BAD("<nvidia_smi_log><!-- x </nvidia_smi_log>", "unterminated comment");
	BAD("<?xml <nvidia_smi_log/>", "unterminated processing instruction");
	BAD("<!DOCTYPE x [ <nvidia_smi_log/>", "unterminated DOCTYPE");
	BAD("<nvidia_smi_log><!DOCTYPE x></nvidia_smi_log>", "unexpected '<!'");
	BAD("<nvidia_smi_log><![CDATA[x</nvidia_smi_log>", "unterminated CDATA");
	BAD("<nvidia_smi_log><gpu id=x></gpu></nvidia_smi_log>", "expected a quoted value");
	BAD("<nvidia_smi_log><gpu id></gpu></nvidia_smi_log>", "expected '=' after attribute 'id'");
	BAD("<nvidia_smi_log><gpu id=\"x<y\"></gpu></nvidia_smi_log>", "'<' in the value");
	BAD("<nvidia_smi_log><gpu id=\"x", "unterminated value of attribute 'id'");
	BAD("<nvidia_smi_log><gpu a=\"1\"b=\"2\"></gpu></nvidia_smi_log>", "expected a space");
	BAD("<nvidia_smi_log><gpu id=\"&bad;\"></gpu></nvidia_smi_log>", "unknown entity");
	BAD("<nvidia_smi_log><gpu /x></gpu></nvidia_smi_log>", "expected '/>'");
	BAD("<nvidia_smi_log><gpu", "unterminated start tag 'gpu'");
	BAD("<nvidia_smi_log></nvidia_smi_log", "unterminated end tag");
	BAD("<nvidia_smi_log>< gpu/></nvidia_smi_log>", "expected a name");
	BAD("<nvidia_smi_log><1gpu/></nvidia_smi_log>", "expected a name");
	parse_bad(__LINE__, "<nvidia_smi_log>\0</nvidia_smi_log>", 34, "control character 0x00");
}

TEST(errors_name_the_line)
{
	BAD("<nvidia_smi_log>\n<gpu>\n</gpx>\n</nvidia_smi_log>", "line 3: end tag 'gpx'");
}

TEST(limits_are_enforced)
{
	struct buf x = BUF_INIT;
	int i;

	buf_adds(&x, "<nvidia_smi_log>");
	for (i = 0; i < SMI_MAX_DEPTH; i++)
		buf_adds(&x, "<a>");
	parse_bad(__LINE__, x.data, x.len, "nested deeper than 32");

	buf_reset(&x);
	buf_addch(&x, '<');
	for (i = 0; i < SMI_MAX_NAME + 1; i++)
		buf_addch(&x, 'n');
	buf_adds(&x, "/>");
	parse_bad(__LINE__, x.data, x.len, "name longer than 127 bytes");

	buf_reset(&x);
	buf_adds(&x, "<nvidia_smi_log><gpu><uuid>");
	for (i = 0; i < (int)SMI_MAX_TEXT; i += 8)
		buf_adds(&x, "abcdefg ");
	buf_adds(&x, "x</uuid></gpu></nvidia_smi_log>");
	parse_bad(__LINE__, x.data, x.len, "text longer than 65536 bytes");

	buf_reset(&x);
	buf_adds(&x, "<nvidia_smi_log>");
	for (i = 0; i < SMI_MAX_GPUS + 1; i++)
		buf_adds(&x, "<gpu/>");
	buf_adds(&x, "</nvidia_smi_log>");
	parse_bad(__LINE__, x.data, x.len, "more than 1024 GPUs");

	buf_reset(&x);
	buf_adds(&x, "<nvidia_smi_log><gpu><mig_devices>");
	for (i = 0; i < SMI_MAX_MIG + 1; i++)
		buf_adds(&x, "<mig_device/>");
	buf_adds(&x, "</mig_devices></gpu></nvidia_smi_log>");
	parse_bad(__LINE__, x.data, x.len, "more than 128 MIG devices on GPU 0");
	buf_release(&x);
}

TEST(every_truncation_of_a_gpu_is_an_error)
{
	struct buf x = BUF_INIT;
	const char *end;
	size_t cut, whole;

	read_fixture("mixed-r470.xml", &x);
	end = strstr(x.data, "</nvidia_smi_log>");
	CHECK(end != NULL);
	whole = end ? (size_t)(end - x.data) + strlen("</nvidia_smi_log>") : 0;
	for (cut = 0; cut < whole; cut++) {
		struct buf err = BUF_INIT;
		cJSON *d = cJSON_CreateObject();

		if (smi_parse(x.data, cut, d, &err) != -1 || !err.len ||
		    cJSON_GetArraySize(d)) {
			unit_fail(__FILE__, __LINE__, "a cut at %zu was accepted", cut);
			cut = whole;
		}
		cJSON_Delete(d);
		buf_release(&err);
	}
	buf_release(&x);
}

/* Random byte changes to the fixture: every result is a map or an error
 * message (the libFuzzer target runs the same call much longer). */
TEST(mutated_input_never_crashes)
{
	struct buf x = BUF_INIT, m = BUF_INIT, err = BUF_INIT;
	static const char bytes[] = "<>/&;#x=\"' \nA0\xc3\xa9";
	uint32_t seed = 12345;
	int round, k, accepted = 0, rejected = 0, rc;
	cJSON *d;

	read_fixture("mixed-r470.xml", &x);
	for (round = 0; round < 3000; round++) {
		buf_reset(&m);
		buf_add(&m, x.data, x.len);
		for (k = 0; k < 1 + round % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			m.data[(seed >> 8) % m.len] = bytes[(seed >> 20) % (sizeof(bytes) - 1)];
		}
		buf_reset(&err);
		d = cJSON_CreateObject();
		rc = smi_parse(m.data, m.len, d, &err);
		if (rc == 0)
			accepted++;
		else if (rc == -1 && err.len && !cJSON_GetArraySize(d))
			rejected++;
		cJSON_Delete(d);
	}
	CHECK_INT(accepted + rejected, 3000);
	CHECK(rejected > 0);
	buf_release(&x);
	buf_release(&m);
	buf_release(&err);
}
