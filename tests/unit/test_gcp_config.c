/* test_gcp_config.c - common/gcp without a server: project/region/zone
 * precedence and trimming, endpoints and their overrides, self-link
 * rewriting, Google error lines, request ids, base64url. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>

#include "gcp.h"
#include "unit.h"

static const char *const env_names[] = {
	"CLOUDSDK_CORE_PROJECT", "CLOUDSDK_COMPUTE_REGION", "CLOUDSDK_COMPUTE_ZONE",
	"CLOUDSDK_ACTIVE_CONFIG_NAME", "CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE",
	"CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD",
	"CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER",
	"CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE", NULL
};

/* A clean environment with the fixture gcloud dir as CLOUDSDK_CONFIG. */
static void fixture_env(void)
{
	char dir[600];

	for (const char *const *n = env_names; *n; n++)
		unsetenv(*n);
	snprintf(dir, sizeof(dir), "%s/tests/fixtures/gcp/gcloud", unit_srcdir());
	setenv("CLOUDSDK_CONFIG", dir, 1);
}

static void check_endpoint(const struct gcp_config *c, const char *api,
			   const char *want)
{
	struct buf out = BUF_INIT, err = BUF_INIT;

	CHECK_INT(gcp_config_endpoint(c, api, &out, &err), 0);
	CHECK_STR(buf_str(&out), want);
	buf_release(&out);
	buf_release(&err);
}

TEST(config_flag_env_file_precedence)
{
	struct gcp_options opt = { .project = " flag-project\n", .zone = "" };
	struct gcp_config c;
	struct buf err = BUF_INIT;

	fixture_env();
	/* the active configuration ("work") alone, its values trimmed */
	CHECK_INT(gcp_config_load(&c, NULL, &err), 0);
	CHECK_STR(c.active_config, "work");
	CHECK_STR(c.project, "file-project");
	CHECK_STR(c.region, "europe-west4");
	CHECK_STR(c.zone, "europe-west4-b");
	gcp_config_release(&c);
	/* the environment wins over the file, trimmed (the seed's bug) */
	setenv("CLOUDSDK_CORE_PROJECT", "env-project\n", 1);
	setenv("CLOUDSDK_COMPUTE_ZONE", "  us-central1-a ", 1);
	CHECK_INT(gcp_config_load(&c, NULL, &err), 0);
	CHECK_STR(c.project, "env-project");
	CHECK_STR(c.zone, "us-central1-a");
	CHECK_STR(c.region, "europe-west4");
	gcp_config_release(&c);
	/* the flags win over both; an empty flag counts as unset */
	setenv("CLOUDSDK_COMPUTE_REGION", "us-east1", 1);
	CHECK_INT(gcp_config_load(&c, &opt, &err), 0);
	CHECK_STR(c.project, "flag-project");
	CHECK_STR(c.region, "us-east1");
	CHECK_STR(c.zone, "us-central1-a");
	gcp_config_release(&c);
	buf_release(&err);
}

TEST(config_active_config_name_and_missing_dir)
{
	struct gcp_config c;
	struct buf err = BUF_INIT;

	fixture_env();
	setenv("CLOUDSDK_ACTIVE_CONFIG_NAME", "default", 1);
	CHECK_INT(gcp_config_load(&c, NULL, &err), 0);
	CHECK_STR(c.active_config, "default");
	CHECK_STR(c.project, "default-project");
	CHECK(!c.region);
	CHECK(!c.zone);
	CHECK_INT(c.n_overrides, 0);
	gcp_config_release(&c);
	unsetenv("CLOUDSDK_ACTIVE_CONFIG_NAME");
	setenv("CLOUDSDK_CONFIG", "/nonexistent/gcloud", 1);
	CHECK_INT(gcp_config_load(&c, NULL, &err), 0);
	CHECK_STR(c.active_config, "default");
	CHECK(!c.project);
	CHECK_STR(c.config_dir, "/nonexistent/gcloud");
	gcp_config_release(&c);
	buf_release(&err);
}

TEST(config_unreadable_file_is_an_error)
{
	struct gcp_config c;
	struct buf err = BUF_INIT, path = BUF_INIT;

	fixture_env();
	buf_printf(&path, "%s/gc", unit_tmpdir());
	mkdir(path.data, 0700);
	buf_adds(&path, "/configurations");
	mkdir(path.data, 0700);
	buf_adds(&path, "/config_default");
	mkdir(path.data, 0700);		/* a directory where the file should be */
	buf_printf(&err, "%s/gc", unit_tmpdir());
	setenv("CLOUDSDK_CONFIG", err.data, 1);
	CHECK_INT(gcp_config_load(&c, NULL, &err), -1);
	CHECK_CONTAINS(buf_str(&err), "cannot read gcloud configuration '");
	CHECK_CONTAINS(buf_str(&err), "config_default': Is a directory");
	buf_release(&path);
	buf_release(&err);
}

TEST(endpoints_defaults_as_gcloud)
{
	struct gcp_config c;
	struct buf err = BUF_INIT;

	fixture_env();
	setenv("CLOUDSDK_CONFIG", "/nonexistent", 1);
	CHECK_INT(gcp_config_load(&c, NULL, &err), 0);
	check_endpoint(&c, "cloudbuild", "https://cloudbuild.googleapis.com/");
	check_endpoint(&c, "container", "https://container.googleapis.com/");
	check_endpoint(&c, "compute", "https://compute.googleapis.com/compute/v1/");
	check_endpoint(&c, "storage", "https://storage.googleapis.com/storage/v1/");
	check_endpoint(&c, "artifactregistry", "https://artifactregistry.googleapis.com/");
	gcp_config_release(&c);
	buf_release(&err);
}

TEST(endpoints_overrides_env_and_file)
{
	struct gcp_config c;
	struct buf err = BUF_INIT, out = BUF_INIT;

	fixture_env();
	CHECK_INT(gcp_config_load(&c, NULL, &err), 0);
	/* from the file: a bare root gets the default's path, as gcloud does */
	check_endpoint(&c, "cloudbuild", "http://127.0.0.1:9/");
	check_endpoint(&c, "compute", "http://127.0.0.1:9/compute/v1/");
	check_endpoint(&c, "container", "https://container.googleapis.com/");
	/* the environment wins; a path given is kept */
	setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE", "http://127.0.0.1:7/compute/beta/", 1);
	setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE", "http://127.0.0.1:8/", 1);
	check_endpoint(&c, "compute", "http://127.0.0.1:7/compute/beta/");
	check_endpoint(&c, "storage", "http://127.0.0.1:8/storage/v1/");
	/* gcloud refuses overrides without a scheme or a trailing slash */
	setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER", "http://127.0.0.1:6", 1);
	CHECK_INT(gcp_config_endpoint(&c, "container", &out, &err), -1);
	CHECK_STR(buf_str(&err), "invalid endpoint override 'http://127.0.0.1:6' for "
		  "'container': it must be an absolute URI beginning with http:// or "
		  "https:// and ending with a trailing '/'");
	setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER", "127.0.0.1:6/", 1);
	CHECK_INT(gcp_config_endpoint(&c, "container", &out, &err), -1);
	gcp_config_release(&c);
	buf_release(&out);
	buf_release(&err);
}

TEST(self_links_rewritten_onto_overrides)
{
	struct gcp_config c;
	struct buf err = BUF_INIT;
	cJSON *o = cJSON_Parse(
		"{\"selfLink\":\"https://www.googleapis.com/compute/v1/projects/p/zones/z/operations/op\","
		"\"targetLink\":\"https://compute.googleapis.com/compute/v1/projects/p/global/instanceTemplates/t\","
		"\"nodePools\":[{\"instanceGroupUrls\":[\"https://www.googleapis.com/compute/v1/projects/p/zones/z/instanceGroupManagers/g\"],"
		"\"selfLink\":\"https://container.googleapis.com/v1/projects/p/locations/l/clusters/c/nodePools/np\"}],"
		"\"logUrl\":\"https://console.cloud.google.com/cloud-build/builds/1\","
		"\"name\":\"https://cloudbuild.googleapis.com/v1/operations/1\"}");

	fixture_env();
	setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE", "http://127.0.0.1:7/", 1);
	CHECK_INT(gcp_config_load(&c, NULL, &err), 0);
	gcp_config_rewrite_links(&c, NULL, o);
	CHECK_STR(cJSON_GetObjectItem(o, "selfLink")->valuestring,
		  "http://127.0.0.1:7/compute/v1/projects/p/zones/z/operations/op");
	CHECK_STR(cJSON_GetObjectItem(o, "targetLink")->valuestring,
		  "http://127.0.0.1:7/compute/v1/projects/p/global/instanceTemplates/t");
	CHECK_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(
		  cJSON_GetObjectItem(o, "nodePools"), 0), "instanceGroupUrls"), 0)->valuestring,
		  "http://127.0.0.1:7/compute/v1/projects/p/zones/z/instanceGroupManagers/g");
	/* container is not overridden: its link stays */
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "nodePools"), 0),
				      "selfLink")->valuestring,
		  "https://container.googleapis.com/v1/projects/p/locations/l/clusters/c/nodePools/np");
	CHECK_STR(cJSON_GetObjectItem(o, "logUrl")->valuestring,
		  "https://console.cloud.google.com/cloud-build/builds/1");
	/* cloudbuild is overridden by the file */
	CHECK_STR(cJSON_GetObjectItem(o, "name")->valuestring, "http://127.0.0.1:9/v1/operations/1");
	gcp_config_release(&c);
	cJSON_Delete(o);
	buf_release(&err);
}

static void check_error(const char *api, long status, const char *body,
			const char *want, const char *want_status, const char *want_reason)
{
	struct buf err = BUF_INIT;
	char st[48], rs[64];

	buf_adds(&err, "old");
	gcp_error_format(api, status, body, body ? strlen(body) : 0, &err, st, rs);
	CHECK_STR(buf_str(&err), want);
	CHECK_STR(st, want_status);
	CHECK_STR(rs, want_reason);
	buf_release(&err);
}

TEST(google_errors_on_one_line)
{
	check_error("cloudbuild", 403,
		    "{\"error\":{\"code\":403,\"message\":\"The caller does not have permission\","
		    "\"status\":\"PERMISSION_DENIED\"}}",
		    "cloudbuild: PERMISSION_DENIED: The caller does not have permission",
		    "PERMISSION_DENIED", "");
	/* Compute's shape: no status, errors[] with a reason */
	check_error("compute", 400,
		    "{\"error\":{\"code\":400,\"message\":\"The instance_template resource "
		    "'t' is already being used by\\n  'g'\",\"errors\":[{\"message\":\"x\","
		    "\"domain\":\"global\",\"reason\":\"resourceInUseByAnotherResource\"}]}}",
		    "compute: INVALID_ARGUMENT: The instance_template resource 't' is "
		    "already being used by 'g'",
		    "INVALID_ARGUMENT", "resourceInUseByAnotherResource");
	check_error("oauth2", 400,
		    "{\"error\":\"invalid_grant\",\"error_description\":\"Bad Request\"}",
		    "oauth2: invalid_grant: Bad Request", "invalid_grant", "");
	check_error("storage", 502, "<html>\n<b>502</b> bad gateway\n</html>",
		    "storage: HTTP 502 Bad Gateway: <html> <b>502</b> bad gateway </html>",
		    "UNKNOWN", "");
	check_error("container", 404, NULL, "container: HTTP 404 Not Found", "NOT_FOUND", "");
	CHECK_STR(gcp_code_name(7, false), "PERMISSION_DENIED");
	CHECK_STR(gcp_code_name(16, false), "UNAUTHENTICATED");
	CHECK_STR(gcp_code_name(99, false), "UNKNOWN");
	CHECK_STR(gcp_code_name(429, true), "RESOURCE_EXHAUSTED");
}

static bool uuid_v4(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
			return false;
	}
	return s[14] == '4' && strchr("89ab", s[19]);
}

TEST(request_ids_are_uuid_v4)
{
	struct buf a = BUF_INIT, b = BUF_INIT;

	gcp_request_id(&a);
	gcp_request_id(&b);
	CHECK(uuid_v4(buf_str(&a)));
	CHECK(uuid_v4(buf_str(&b)));
	CHECK(strcmp(buf_str(&a), buf_str(&b)));
	buf_release(&a);
	buf_release(&b);
}

TEST(base64url_without_padding)
{
	struct buf b = BUF_INIT;

	gcp_base64url(&b, "\xfb\xff\xbf", 3);
	CHECK_STR(buf_str(&b), "-_-_");
	buf_reset(&b);
	gcp_base64url(&b, "ab", 2);
	CHECK_STR(buf_str(&b), "YWI");
	buf_release(&b);
}
