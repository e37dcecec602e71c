/* test_gcp_api.c - gcp_do, paging and long-running operations of
 * common/gcp against tests/fakes/http/echo.py playing the Google APIs
 * behind endpoint overrides. */
#include <stdarg.h>
#include <sys/stat.h>

#include "gcp.h"
#include "http_echo.h"
#include "obj.h"

/* The server with a script of bodies (single quotes become double
 * quotes), each "STATUS BODY", NULL-ended. */
static struct server *serve(const char *first, ...)
{
	cJSON *script = cJSON_CreateArray();
	struct server *s;
	va_list ap;
	char *text;

	va_start(ap, first);
	for (const char *r = first; r; r = va_arg(ap, const char *)) {
		cJSON *e = cJSON_CreateObject();
		char *b = strdup(strchr(r, ' ') + 1);

		for (char *p = b; *p; p++)
			if (*p == '\'')
				*p = '"';
		cJSON_AddNumberToObject(e, "status", atoi(r));
		cJSON_AddStringToObject(e, "body", b);
		cJSON_AddItemToArray(script, e);
		free(b);
	}
	va_end(ap);
	text = cJSON_PrintUnformatted(script);
	s = plain(text);
	free(text);
	cJSON_Delete(script);
	return s;
}

/* A client whose APIs all point at s, with a token file. */
static struct gcp *client(const struct server *s)
{
	static const char *const apis[] = { "COMPUTE", "CLOUDBUILD", "CONTAINER", NULL };
	struct gcp_options opt = { .project = "p" };
	struct buf name = BUF_INIT, url = BUF_INIT, err = BUF_INIT;
	struct gcp *g;
	char dir[600];

	snprintf(dir, sizeof(dir), "%s/gcloud", unit_tmpdir());
	mkdir(dir, 0700);
	setenv("CLOUDSDK_CONFIG", dir, 1);
	setenv("CLOUDSDK_AUTH_ACCESS_TOKEN_FILE", unit_write("token", "tok-123\n"), 1);
	buf_printf(&url, "%s/", s->url);
	for (const char *const *a = apis; *a; a++) {
		buf_reset(&name);
		buf_printf(&name, "CLOUDSDK_API_ENDPOINT_OVERRIDES_%s", *a);
		setenv(name.data, url.data, 1);
	}
	g = gcp_new(&opt, &err);
	CHECK(g != NULL);
	buf_release(&name);
	buf_release(&url);
	buf_release(&err);
	return g;
}

TEST(request_with_token_and_links_rewritten)
{
	struct server *s;
	struct gcp *g;
	struct buf err = BUF_INIT, want = BUF_INIT;
	cJSON *out = NULL, *body = cJSON_Parse("{\"name\":\"t\"}"), *log;

	if (!(s = serve("200 {'selfLink':'https://www.googleapis.com/compute/v1/projects/p/global/instanceTemplates/t'}",
			NULL)))
		return;
	g = client(s);
	CHECK_INT(gcp_request(g, "POST", "compute", "projects/p/global/instanceTemplates",
			      body, &out, &err), 0);
	buf_printf(&want, "%s/compute/v1/projects/p/global/instanceTemplates/t", s->url);
	CHECK_STR(obj_str(out, "selfLink"), want.data);
	log = server_log(s);
	CHECK_STR(field(log, 0, "path"), "/compute/v1/projects/p/global/instanceTemplates");
	CHECK_STR(header(log, 0, "authorization"), "Bearer tok-123");
	CHECK_STR(header(log, 0, "content-type"), "application/json");
	CHECK_STR(field(log, 0, "body"), "{\"name\":\"t\"}");
	cJSON_Delete(log);
	cJSON_Delete(out);
	/* an absolute link is followed on the override */
	CHECK_INT(gcp_request(g, "GET", "compute",
			      "https://www.googleapis.com/compute/v1/projects/p/zones/z/x",
			      NULL, &out, &err), 0);
	log = server_log(s);
	CHECK_STR(field(log, 1, "path"), "/compute/v1/projects/p/zones/z/x");
	cJSON_Delete(log);
	cJSON_Delete(out);
	cJSON_Delete(body);
	gcp_free(g);
	buf_release(&want);
	buf_release(&err);
}

TEST(google_error_reply)
{
	struct server *s;
	struct gcp *g;
	struct gcp_req r = { .method = "GET", .api = "cloudbuild",
			     .path = "v1/projects/p/locations/global/builds/b" };
	struct gcp_reply reply = GCP_REPLY_INIT;
	struct buf err = BUF_INIT;

	if (!(s = serve("403 {'error':{'code':403,'message':'The caller does not have permission',"
			"'status':'PERMISSION_DENIED','errors':[{'reason':'forbidden'}]}}", NULL)))
		return;
	g = client(s);
	CHECK_INT(gcp_do(g, &r, &reply, &err), -1);
	CHECK_STR(buf_str(&err), "cloudbuild: PERMISSION_DENIED: The caller does not have permission");
	CHECK_INT(reply.status, 403);
	CHECK_STR(reply.error_status, "PERMISSION_DENIED");
	CHECK_STR(reply.error_reason, "forbidden");
	CHECK(!reply.json);
	gcp_reply_release(&reply);
	gcp_free(g);
	buf_release(&err);
}

TEST(paging_across_three_pages)
{
	struct server *s;
	struct gcp *g;
	struct buf err = BUF_INIT;
	cJSON *all = NULL, *log;

	if (!(s = serve("200 {'items':[{'name':'a'},{'name':'b'}],'nextPageToken':'t/1'}",
			"200 {'items':[{'name':'c'}],'nextPageToken':'t2'}",
			"200 {'items':[{'name':'d'},{'name':'e'}]}", NULL)))
		return;
	g = client(s);
	CHECK_INT(gcp_list_all(g, "compute", "projects/p/global/images?maxResults=2",
			       "items", &all, &err), 0);
	CHECK_INT(cJSON_GetArraySize(all), 5);
	CHECK_STR(obj_str(cJSON_GetArrayItem(all, 0), "name"), "a");
	CHECK_STR(obj_str(cJSON_GetArrayItem(all, 4), "name"), "e");
	log = server_log(s);
	CHECK_INT(cJSON_GetArraySize(log), 3);
	CHECK_STR(field(log, 0, "path"), "/compute/v1/projects/p/global/images?maxResults=2");
	CHECK_STR(field(log, 1, "path"),
		  "/compute/v1/projects/p/global/images?maxResults=2&pageToken=t%2F1");
	CHECK_STR(field(log, 2, "path"),
		  "/compute/v1/projects/p/global/images?maxResults=2&pageToken=t2");
	cJSON_Delete(log);
	cJSON_Delete(all);
	gcp_free(g);
	buf_release(&err);
}

TEST(container_operation_pending_running_done)
{
	struct server *s;
	struct gcp *g;
	struct gcp_wait w = { .timeout_ms = 5000, .poll_ms = 20 };
	struct buf err = BUF_INIT;
	cJSON *op = cJSON_Parse("{\"name\":\"op-1\",\"status\":\"PENDING\",\"selfLink\":"
				"\"https://container.googleapis.com/v1/projects/p/locations/l/operations/op-1\"}");
	cJSON *done = NULL, *log;

	if (!(s = serve("200 {'name':'op-1','status':'RUNNING'}",
			"200 {'name':'op-1','status':'DONE','targetLink':'x'}", NULL)))
		return;
	g = client(s);
	CHECK_INT(gcp_wait_operation(g, "container", op, &w, &done, &err), 0);
	CHECK_STR(obj_str(done, "targetLink"), "x");
	log = server_log(s);
	CHECK_INT(cJSON_GetArraySize(log), 2);
	CHECK_STR(field(log, 0, "method"), "GET");
	CHECK_STR(field(log, 1, "path"), "/v1/projects/p/locations/l/operations/op-1");
	cJSON_Delete(log);
	cJSON_Delete(done);
	/* one that ends in error */
	serve("200 {'name':'op-1','status':'RUNNING'}",
	      "200 {'name':'op-1','status':'DONE','error':{'code':8,'message':'out of\\n quota'}}",
	      NULL);
	CHECK_INT(gcp_wait_operation(g, "container", op, &w, &done, &err), -1);
	CHECK_STR(buf_str(&err), "container: RESOURCE_EXHAUSTED: out of quota");
	CHECK(!done);
	cJSON_Delete(op);
	gcp_free(g);
	buf_release(&err);
}

TEST(compute_operation_wait_loop_and_errors)
{
	struct server *s;
	struct gcp *g;
	struct gcp_wait w = { .timeout_ms = 5000, .poll_ms = 20 };
	struct buf err = BUF_INIT;
	cJSON *op = cJSON_Parse("{\"name\":\"op-2\",\"status\":\"PENDING\",\"selfLink\":"
				"\"https://www.googleapis.com/compute/v1/projects/p/zones/z/operations/op-2\"}");
	cJSON *done = NULL, *log;

	if (!(s = serve("200 {'name':'op-2','status':'RUNNING'}",
			"200 {'name':'op-2','status':'DONE','error':{'errors':["
			"{'code':'QUOTA_EXCEEDED','message':'Quota \\'CPUS\\' exceeded.'},"
			"{'code':'RESOURCE_NOT_READY','message':'not ready'}]}}", NULL)))
		return;
	g = client(s);
	CHECK_INT(gcp_wait_operation(g, "compute", op, &w, &done, &err), -1);
	CHECK_STR(buf_str(&err), "compute: QUOTA_EXCEEDED: Quota \"CPUS\" exceeded.; "
		  "RESOURCE_NOT_READY: not ready");
	log = server_log(s);
	CHECK_INT(cJSON_GetArraySize(log), 2);
	CHECK_STR(field(log, 0, "method"), "POST");
	CHECK_STR(field(log, 0, "path"), "/compute/v1/projects/p/zones/z/operations/op-2/wait");
	cJSON_Delete(log);
	/* an operation that never ends runs into the overall timeout */
	serve("200 {'name':'op-2','status':'RUNNING'}", NULL);
	w.timeout_ms = 300;
	CHECK_INT(gcp_wait_operation(g, "compute", op, &w, &done, &err), -2);
	CHECK_STR(buf_str(&err), "timed out after 300ms waiting for operation 'op-2'");
	/* a fired cancel switch ends the wait */
	w.cancel = &(struct http_cancel){ { -1, -1 }, 0 };
	CHECK_INT(http_cancel_init(w.cancel), 0);
	http_cancel_fire(w.cancel);
	CHECK_INT(gcp_wait_operation(g, "compute", op, &w, &done, &err), -1);
	CHECK_STR(buf_str(&err), "cancelled");
	http_cancel_release(w.cancel);
	cJSON_Delete(op);
	gcp_free(g);
	buf_release(&err);
}

TEST(cloudbuild_operation_done_and_error)
{
	struct server *s;
	struct gcp *g;
	struct gcp_wait w = { .poll_ms = 20 };
	struct buf err = BUF_INIT;
	cJSON *op = cJSON_Parse("{\"name\":\"projects/p/locations/global/operations/b1\","
				"\"metadata\":{\"build\":{\"id\":\"b1\"}}}");
	cJSON *done = NULL, *log;

	if (!(s = serve("200 {'name':'projects/p/locations/global/operations/b1'}",
			"200 {'name':'projects/p/locations/global/operations/b1','done':true,"
			"'response':{'id':'b1','status':'SUCCESS'}}", NULL)))
		return;
	g = client(s);
	CHECK_INT(gcp_wait_operation(g, "cloudbuild", op, &w, &done, &err), 0);
	CHECK_STR(obj_str(done, "response.status"), "SUCCESS");
	log = server_log(s);
	CHECK_STR(field(log, 1, "path"), "/v1/projects/p/locations/global/operations/b1");
	cJSON_Delete(log);
	cJSON_Delete(done);
	serve("200 {'name':'operations/b1','done':true,'error':{'code':7,'message':'denied'}}",
	      NULL);
	CHECK_INT(gcp_wait_operation(g, "cloudbuild", op, &w, &done, &err), -1);
	CHECK_STR(buf_str(&err), "cloudbuild: PERMISSION_DENIED: denied");
	cJSON_Delete(op);
	gcp_free(g);
	buf_release(&err);
}

TEST(create_retried_on_503_with_one_request_id)
{
	struct server *s;
	struct gcp *g;
	struct gcp_req r = { .method = "POST", .api = "compute",
			     .path = "projects/p/global/instanceTemplates", .request_id = true };
	struct gcp_reply reply = GCP_REPLY_INIT;
	struct buf err = BUF_INIT;
	const char *p0, *id;
	cJSON *log, *body = cJSON_Parse("{\"name\":\"t\"}");

	r.body = body;
	if (!(s = serve("503 {'error':{'code':503,'message':'busy','status':'UNAVAILABLE'}}",
			"503 {'error':{'code':503,'message':'busy','status':'UNAVAILABLE'}}",
			"200 {'name':'op-3','status':'PENDING'}", NULL)))
		return;
	g = client(s);
	CHECK_INT(gcp_do(g, &r, &reply, &err), 0);
	CHECK_STR(obj_str(reply.json, "name"), "op-3");
	log = server_log(s);
	CHECK_INT(cJSON_GetArraySize(log), 3);
	p0 = field(log, 0, "path");
	id = p0 ? strstr(p0, "?requestId=") : NULL;
	CHECK(id && strlen(id) == strlen("?requestId=") + 36);
	CHECK_STR(field(log, 1, "path"), p0);
	CHECK_STR(field(log, 2, "path"), p0);
	cJSON_Delete(log);
	/* without a request id a create is not repeated */
	serve("503 {'error':{'code':503,'message':'busy','status':'UNAVAILABLE'}}", NULL);
	r.request_id = false;
	CHECK_INT(gcp_do(g, &r, &reply, &err), -1);
	CHECK_STR(buf_str(&err), "compute: UNAVAILABLE: busy");
	CHECK_INT(server_requests(s), 1);
	gcp_reply_release(&reply);
	cJSON_Delete(body);
	gcp_free(g);
	buf_release(&err);
}
