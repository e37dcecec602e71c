/* test_kube.c - the parts of the Kubernetes client that need no server:
 * the watch event splitter, Status parsing and kubectl's error wording, path
 * building, discovery documents, the relist difference, object names. */
#include "unit.h"
#include "kube.h"
#include "kube_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void fixture(const char *name, struct buf *out)
{
	struct buf path = BUF_INIT;

	buf_printf(&path, "%s/tests/fixtures/kube/%s", unit_srcdir(), name);
	if (buf_read_file(out, buf_str(&path)) < 0)
		unit_fail(__FILE__, __LINE__, "cannot read '%s'", buf_str(&path));
	buf_release(&path);
}

/* ---- the event splitter ---------------------------------------------- */

struct collect {
	struct buf all;		/* values joined by '\n' */
	int n;
	int stop_after;		/* > 0: return 1 after that many */
};

static int collect_fn(void *ctx, const char *text, size_t len)
{
	struct collect *c = ctx;
	cJSON *v = cJSON_ParseWithLength(text, len);

	if (!v)
		unit_fail(__FILE__, __LINE__, "value %d is not JSON: %.*s", c->n,
			  (int)len, text);
	cJSON_Delete(v);
	if (c->n++)
		buf_addch(&c->all, '\n');
	buf_add(&c->all, text, len);
	return c->stop_after && c->n == c->stop_after ? 1 : 0;
}

/* The fixture's events, each line without the whitespace around it. */
static void expected_events(const struct buf *stream, struct buf *out, int *n)
{
	const char *p = buf_str(stream), *end;

	*n = 0;
	while (*p) {
		const char *s, *e;

		end = strchr(p, '\n');
		if (!end)
			end = p + strlen(p);
		s = p;
		e = end;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (e > s) {
			if ((*n)++)
				buf_addch(out, '\n');
			buf_add(out, s, (size_t)(e - s));
		}
		p = *end ? end + 1 : end;
	}
}

TEST(splitter_every_boundary)
{
	struct buf stream = BUF_INIT, want = BUF_INIT;
	size_t i, bad = 0;
	int n;

	fixture("watch-stream.json", &stream);
	expected_events(&stream, &want, &n);
	CHECK_INT(n, 5);
	for (i = 0; i <= stream.len; i++) {
		struct kube_event_splitter *s = kube_event_splitter_new();
		struct collect c = { BUF_INIT, 0, 0 };

		if (kube_event_splitter_feed(s, stream.data, i, collect_fn, &c) ||
		    kube_event_splitter_feed(s, stream.data + i, stream.len - i,
					     collect_fn, &c))
			bad++;
		if (c.n != n || strcmp(buf_str(&c.all), buf_str(&want)) ||
		    kube_event_splitter_pending(s))
			bad++;
		kube_event_splitter_free(s);
		buf_release(&c.all);
	}
	CHECK_INT(bad, 0);
	buf_release(&stream);
	buf_release(&want);
}

TEST(splitter_byte_by_byte_and_odd_chunks)
{
	struct buf stream = BUF_INIT, want = BUF_INIT;
	size_t step, i;
	int n;

	fixture("watch-stream.json", &stream);
	expected_events(&stream, &want, &n);
	for (step = 1; step <= 13; step += 2) {
		struct kube_event_splitter *s = kube_event_splitter_new();
		struct collect c = { BUF_INIT, 0, 0 };

		for (i = 0; i < stream.len; i += step) {
			size_t len = stream.len - i < step ? stream.len - i : step;

			CHECK_INT(kube_event_splitter_feed(s, stream.data + i, len,
							   collect_fn, &c), 0);
		}
		CHECK_INT(c.n, n);
		CHECK_STR(buf_str(&c.all), buf_str(&want));
		kube_event_splitter_free(s);
		buf_release(&c.all);
	}
	buf_release(&stream);
	buf_release(&want);
}

TEST(splitter_holds_an_unfinished_value)
{
	struct kube_event_splitter *s = kube_event_splitter_new();
	struct collect c = { BUF_INIT, 0, 0 };
	const char *a = "{\"type\":\"ADDED\",\"object\":{\"s\":\"}\\\"";

	CHECK_INT(kube_event_splitter_feed(s, a, strlen(a), collect_fn, &c), 0);
	CHECK_INT(c.n, 0);
	CHECK(kube_event_splitter_pending(s));
	CHECK_INT(kube_event_splitter_feed(s, "x\"}}\n", 5, collect_fn, &c), 0);
	CHECK_INT(c.n, 1);
	CHECK_STR(buf_str(&c.all), "{\"type\":\"ADDED\",\"object\":{\"s\":\"}\\\"x\"}}");
	CHECK(!kube_event_splitter_pending(s));
	kube_event_splitter_free(s);
	buf_release(&c.all);
}

TEST(splitter_stop_keeps_the_rest)
{
	struct kube_event_splitter *s = kube_event_splitter_new();
	struct collect c = { BUF_INIT, 0, 1 };
	const char *d = "{\"a\":1} [2,{\"b\":\"]\"}] {\"c\":";

	CHECK_INT(kube_event_splitter_feed(s, d, strlen(d), collect_fn, &c), 1);
	CHECK_INT(c.n, 1);
	CHECK(kube_event_splitter_pending(s));
	c.stop_after = 0;
	CHECK_INT(kube_event_splitter_feed(s, "3}", 2, collect_fn, &c), 0);
	CHECK_INT(c.n, 3);
	CHECK_STR(buf_str(&c.all), "{\"a\":1}\n[2,{\"b\":\"]\"}]\n{\"c\":3}");
	kube_event_splitter_free(s);
	buf_release(&c.all);
}

TEST(splitter_rejects_what_is_not_json)
{
	struct kube_event_splitter *s = kube_event_splitter_new();
	struct collect c = { BUF_INIT, 0, 0 };

	CHECK_INT(kube_event_splitter_feed(s, "{\"a\":1}\nnull", 12, collect_fn, &c), -1);
	CHECK_INT(c.n, 1);
	CHECK_INT(kube_event_splitter_feed(s, "{}", 2, collect_fn, &c), -1);
	kube_event_splitter_free(s);
	s = kube_event_splitter_new();
	CHECK_INT(kube_event_splitter_feed(s, "{\"a\":[1}", 8, collect_fn, &c), -1);
	kube_event_splitter_free(s);
	s = kube_event_splitter_new();
	CHECK_INT(kube_event_splitter_feed(s, "<html>", 6, collect_fn, &c), -1);
	kube_event_splitter_free(s);
	buf_release(&c.all);
}

static int count_fn(void *ctx, const char *text, size_t len)
{
	(void)text;
	*(size_t *)ctx += len;
	return 0;
}

/* A 16 MiB event fed 64 bytes at a time: quadratic work would take
 * minutes (262144 feeds re-scanning up to 16 MiB each). */
TEST(splitter_is_linear_on_large_events)
{
	struct kube_event_splitter *s = kube_event_splitter_new();
	size_t big = 16u << 20, i, got = 0;
	struct buf ev = BUF_INIT;
	clock_t t0 = clock();
	double secs;

	buf_adds(&ev, "{\"type\":\"ADDED\",\"object\":{\"data\":\"");
	while (ev.len < big)
		buf_adds(&ev, "abc\\\"{}[]\\\\ \xc3\xa9\xe6\x97\xa5 ");
	buf_adds(&ev, "\"}}");
	for (i = 0; i < ev.len; i += 64)
		CHECK_INT(kube_event_splitter_feed(s, ev.data + i,
						   ev.len - i < 64 ? ev.len - i : 64,
						   count_fn, &got), 0);
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	CHECK_INT(got, ev.len);
	if (secs > 20)
		unit_fail(__FILE__, __LINE__, "took %.1f s", secs);
	kube_event_splitter_free(s);
	buf_release(&ev);
}

/* ---- errors ------------------------------------------------------------ */

static void check_format(const struct kube_err *e, const char *want)
{
	struct buf out = BUF_INIT;

	kube_err_format(e, &out);
	CHECK_STR(buf_str(&out), want);
	buf_release(&out);
}

TEST(status_not_found)
{
	struct kube_err e = KUBE_ERR_INIT;
	struct buf body = BUF_INIT;

	fixture("status-notfound.json", &body);
	kube_err_from_response(&e, 404, body.data, body.len, "get jobs.batch x");
	CHECK_INT(e.code, 404);
	CHECK_STR(e.reason, "NotFound");
	CHECK(e.status != NULL);
	check_format(&e, "Error from server (NotFound): jobs.batch \"x\" not found");
	kube_err_release(&e);
	buf_release(&body);
}

TEST(status_conflict_forbidden_unauthorized)
{
	struct kube_err e = KUBE_ERR_INIT;
	struct buf body = BUF_INIT;

	fixture("status-conflict-apply.json", &body);
	kube_err_from_response(&e, 409, body.data, body.len, NULL);
	check_format(&e, "Error from server (Conflict): Apply failed with 1 conflict: conflict with \"kubectl-a\": .data.key");
	buf_reset(&body);
	fixture("status-forbidden.json", &body);
	kube_err_from_response(&e, 403, body.data, body.len, NULL);
	check_format(&e, "Error from server (Forbidden): configmaps is forbidden: User \"system:serviceaccount:default:reader\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"kube-system\"");
	buf_reset(&body);
	fixture("status-unauthorized.json", &body);
	kube_err_from_response(&e, 401, body.data, body.len, "get pods");
	CHECK_STR(e.reason, "Unauthorized");
	check_format(&e, "error: You must be logged in to the server (Unauthorized)");
	kube_err_release(&e);
	buf_release(&body);
}

TEST(generic_messages_for_other_bodies)
{
	struct kube_err e = KUBE_ERR_INIT;

	kube_err_from_response(&e, 404, "404 page not found\n", 19, "get foos.example.com x");
	CHECK_STR(e.reason, "NotFound");
	check_format(&e, "Error from server (NotFound): the server could not find the requested resource (get foos.example.com x)");
	kube_err_from_response(&e, 503, "", 0, "list jobs.batch");
	check_format(&e, "Error from server (ServiceUnavailable): the server is currently unable to handle the request (list jobs.batch)");
	kube_err_from_response(&e, 500, "  boom\n", 7, NULL);
	check_format(&e, "Error from server (InternalError): an error on the server (\"boom\") has prevented the request from succeeding");
	kube_err_from_response(&e, 401, NULL, 0, NULL);
	check_format(&e, "error: You must be logged in to the server (the server has asked for the client to provide credentials)");
	kube_err_from_response(&e, 418, "x", 1, NULL);
	check_format(&e, "Error from server (Unknown): the server responded with the status code 418 but did not return more information");
	/* A Status without a reason. */
	kube_err_from_response(&e, 400, "{\"kind\":\"Status\",\"message\":\"bad thing\"}", 39, NULL);
	check_format(&e, "Error from server: bad thing");
	/* A Status without a message: generic words, its code. */
	kube_err_from_response(&e, 422, "{\"kind\":\"Status\",\"reason\":\"Invalid\"}", 36, "post jobs.batch");
	check_format(&e, "Error from server (Invalid): the server rejected our request due to an error in our request (post jobs.batch)");
	kube_err_release(&e);
}

TEST(client_side_errors)
{
	struct kube_err e = KUBE_ERR_INIT;

	CHECK_INT(kube_err_set(&e, "cannot read '%s'", "x"), -1);
	CHECK_INT(e.code, 0);
	check_format(&e, "error: cannot read 'x'");
	kube_err_unreachable(&e, "https://127.0.0.1:6443",
			     "cannot connect to 'https://127.0.0.1:6443/api/v1': Connection refused");
	CHECK_STR(e.reason, "Unreachable");
	check_format(&e, "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?");
	kube_err_unreachable(&e, "https://k.example:443/prefix",
			     "cannot connect to 'https://k.example:443/prefix/api': Could not resolve host: k.example");
	check_format(&e, "Unable to connect to the server: cannot connect to 'https://k.example:443/prefix/api': Could not resolve host: k.example");
	kube_err_set_reason(&e, "Timeout", "timed out");
	CHECK_STR(e.reason, "Timeout");
	check_format(&e, "error: timed out");
	kube_err_release(&e);
	CHECK_INT(e.message.len, 0);
	CHECK(e.status == NULL);
}

/* ---- paths and names ---------------------------------------------------- */

static struct kube_resource res(const char *group, const char *version,
				const char *resource, const char *kind, bool ns)
{
	struct kube_resource r;

	memset(&r, 0, sizeof(r));
	snprintf(r.group, sizeof(r.group), "%s", group);
	snprintf(r.version, sizeof(r.version), "%s", version);
	snprintf(r.resource, sizeof(r.resource), "%s", resource);
	snprintf(r.kind, sizeof(r.kind), "%s", kind);
	r.namespaced = ns;
	return r;
}

TEST(paths)
{
	struct kube_resource pods = res("", "v1", "pods", "Pod", true);
	struct kube_resource jobs = res("batch", "v1", "jobs", "Job", true);
	struct kube_resource nodes = res("", "v1", "nodes", "Node", false);
	struct kube_resource crb = res("rbac.authorization.k8s.io", "v1",
				       "clusterrolebindings", "ClusterRoleBinding", false);
	struct buf p = BUF_INIT;

	kube_path(&p, &pods, "default", "web-0", "log");
	CHECK_STR(buf_str(&p), "/api/v1/namespaces/default/pods/web-0/log");
	buf_reset(&p);
	kube_path(&p, &pods, NULL, NULL, NULL);
	CHECK_STR(buf_str(&p), "/api/v1/pods");
	buf_reset(&p);
	kube_path(&p, &jobs, "team-a", "train", "status");
	CHECK_STR(buf_str(&p), "/apis/batch/v1/namespaces/team-a/jobs/train/status");
	buf_reset(&p);
	kube_path(&p, &jobs, "", NULL, NULL);
	CHECK_STR(buf_str(&p), "/apis/batch/v1/jobs");
	buf_reset(&p);
	kube_path(&p, &nodes, "default", "n1", NULL);
	CHECK_STR(buf_str(&p), "/api/v1/nodes/n1");
	buf_reset(&p);
	kube_path(&p, &crb, "ignored", "a:b c", NULL);
	CHECK_STR(buf_str(&p),
		  "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/a%3Ab%20c");
	buf_reset(&p);
	kube_query_add(&p, "labelSelector", "app in (a,b)");
	kube_query_add(&p, "limit", "2");
	CHECK_STR(buf_str(&p), "?labelSelector=app%20in%20%28a%2Cb%29&limit=2");
	buf_release(&p);
}

TEST(object_ref_names)
{
	struct kube_resource pods = res("", "v1", "pods", "Pod", true);
	struct kube_resource jobs = res("batch", "v1", "jobs", "Job", true);
	struct kube_resource js = res("jobset.x-k8s.io", "v1alpha2", "jobsets", "JobSet", true);
	struct kube_resource cq = res("kueue.x-k8s.io", "v1beta1", "clusterqueues",
				      "ClusterQueue", false);
	struct buf b = BUF_INIT;

	kube_object_ref(&jobs, "x", &b);
	CHECK_STR(buf_str(&b), "job.batch/x");
	buf_reset(&b);
	kube_object_ref(&pods, "web-0", &b);
	CHECK_STR(buf_str(&b), "pod/web-0");
	buf_reset(&b);
	kube_object_ref(&js, "train", &b);
	CHECK_STR(buf_str(&b), "jobset.jobset.x-k8s.io/train");
	buf_reset(&b);
	kube_object_ref(&cq, "cluster-queue", &b);
	CHECK_STR(buf_str(&b), "clusterqueue.kueue.x-k8s.io/cluster-queue");
	buf_reset(&b);
	kube_resource_qualified(&jobs, &b);
	CHECK_STR(buf_str(&b), "jobs.batch");
	buf_reset(&b);
	kube_resource_qualified(&pods, &b);
	CHECK_STR(buf_str(&b), "pods");
	buf_reset(&b);
	kube_resource_api_version(&js, &b);
	CHECK_STR(buf_str(&b), "jobset.x-k8s.io/v1alpha2");
	buf_reset(&b);
	kube_what(&b, "GET", &jobs, "x");
	CHECK_STR(buf_str(&b), "get jobs.batch x");
	buf_release(&b);
}

TEST(api_version_split_and_typed_objects)
{
	struct buf g = BUF_INIT, v = BUF_INIT;
	cJSON *o;
	char *s;

	kube_split_api_version("batch/v1", &g, &v);
	CHECK_STR(buf_str(&g), "batch");
	CHECK_STR(buf_str(&v), "v1");
	buf_reset(&g);
	buf_reset(&v);
	kube_split_api_version("v1", &g, &v);
	CHECK_STR(buf_str(&g), "");
	CHECK_STR(buf_str(&v), "v1");
	o = cJSON_Parse("{\"metadata\":{\"name\":\"a\"},\"kind\":\"Old\",\"spec\":{}}");
	o = kube_obj_with_type(o, "batch/v1", "Job");
	s = cJSON_PrintUnformatted(o);
	CHECK_STR(s, "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"a\"},\"spec\":{}}");
	free(s);
	cJSON_Delete(o);
	buf_release(&g);
	buf_release(&v);
}

/* ---- discovery ------------------------------------------------------------ */

TEST(discovery_resources)
{
	struct kube_api_resource *core = NULL, *batch = NULL, *js = NULL;
	size_t ncore = 0, nbatch = 0, njs = 0;
	struct buf a = BUF_INIT, b = BUF_INIT, c = BUF_INIT, err = BUF_INIT;
	const struct kube_api_resource *r;

	fixture("api-v1.json", &a);
	fixture("batch-v1.json", &b);
	fixture("jobset-v1alpha2.json", &c);
	CHECK_INT(kube_discovery_parse_resources("", "v1", a.data, a.len, &core,
						 &ncore, &err), 0);
	CHECK_INT(kube_discovery_parse_resources("batch", "v1", b.data, b.len,
						 &batch, &nbatch, &err), 0);
	CHECK_INT(kube_discovery_parse_resources("jobset.x-k8s.io", "v1alpha2",
						 c.data, c.len, &js, &njs, &err), 0);
	CHECK_INT(ncore, 10);
	r = kube_find_kind(batch, nbatch, "Job");
	CHECK(r && !strcmp(r->r.resource, "jobs") && r->r.namespaced &&
	      !strcmp(r->r.group, "batch") && !strcmp(r->r.version, "v1"));
	r = kube_find_kind(core, ncore, "Pod");
	CHECK(r && !strcmp(r->r.resource, "pods"));	/* not pods/log */
	r = kube_find_kind(core, ncore, "Namespace");
	CHECK(r && !r->r.namespaced && !strcmp(r->r.resource, "namespaces"));
	CHECK(kube_find_kind(core, ncore, "TokenRequest") == NULL);
	CHECK(kube_find_kind(core, ncore, "Job") == NULL);
	r = kube_find_kind(js, njs, "JobSet");
	CHECK(r && !strcmp(r->r.resource, "jobsets"));
	r = kube_find_name(core, ncore, "cm");
	CHECK(r && !strcmp(r->r.kind, "ConfigMap"));
	r = kube_find_name(core, ncore, "configmap");
	CHECK(r && !strcmp(r->r.kind, "ConfigMap"));
	r = kube_find_name(core, ncore, "ConfigMaps");
	CHECK(r && !strcmp(r->r.kind, "ConfigMap"));
	r = kube_find_name(core, ncore, "SA");
	CHECK(r && !strcmp(r->r.resource, "serviceaccounts"));
	r = kube_find_name(batch, nbatch, "job");
	CHECK(r && !strcmp(r->r.resource, "jobs"));
	CHECK(kube_find_name(core, ncore, "log") == NULL);
	CHECK(kube_find_name(core, ncore, "pods/log") == NULL);
	kube_api_resources_free(js, njs);
	CHECK_INT(kube_discovery_parse_resources("x", "v1", "<html>", 6, &js, &njs, &err), -1);
	CHECK(js == NULL);
	CHECK_CONTAINS(buf_str(&err), "x/v1");
	kube_api_resources_free(core, ncore);
	kube_api_resources_free(batch, nbatch);
	buf_release(&a);
	buf_release(&b);
	buf_release(&c);
	buf_release(&err);
}

TEST(discovery_groups)
{
	struct buf a = BUF_INIT, b = BUF_INIT, err = BUF_INIT;
	struct kube_group *g = NULL;
	size_t n = 0;

	fixture("api.json", &a);
	fixture("apis.json", &b);
	CHECK_INT(kube_discovery_parse_groups(a.data, a.len, b.data, b.len, &g, &n,
					      &err), 0);
	CHECK_INT(n, 7);
	if (n == 7) {
		CHECK_STR(g[0].name, "");
		CHECK_STR(g[0].preferred, "v1");
		CHECK_STR(g[2].name, "batch");
		CHECK_STR(g[5].name, "jobset.x-k8s.io");
		CHECK_STR(g[5].preferred, "v1alpha2");
		CHECK_STR(g[6].name, "kueue.x-k8s.io");
		CHECK_STR(g[6].preferred, "v1beta1");
		CHECK_STR(g[6].versions[1], "v1alpha1");
		CHECK(g[6].versions[2] == NULL);
	}
	kube_groups_free(g, n);
	CHECK_INT(kube_discovery_parse_groups(NULL, 0, "{}", 2, &g, &n, &err), -1);
	CHECK_CONTAINS(buf_str(&err), "/apis");
	buf_release(&a);
	buf_release(&b);
	buf_release(&err);
}

/* ---- the relist difference ------------------------------------------------ */

static cJSON *cm(const char *name, const char *rv, const char *uid)
{
	cJSON *o = cJSON_CreateObject(), *m = cJSON_AddObjectToObject(o, "metadata");

	cJSON_AddStringToObject(o, "kind", "ConfigMap");
	cJSON_AddStringToObject(m, "name", name);
	cJSON_AddStringToObject(m, "namespace", "default");
	cJSON_AddStringToObject(m, "resourceVersion", rv);
	cJSON_AddStringToObject(m, "uid", uid);
	return o;
}

static int record_fn(void *ctx, const char *type, const cJSON *obj)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");

	buf_printf(ctx, "%s %s %s;", type,
		   cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "name")),
		   cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "resourceVersion")));
	return 0;
}

static void event(struct kube_store *s, const char *type, cJSON *take)
{
	kube_store_event(s, type, take);
	cJSON_Delete(take);
}

TEST(store_drops_repeats)
{
	struct kube_store *s = kube_store_new();
	cJSON *a = cm("a", "5", "u1"), *a2 = cm("a", "6", "u1"), *a3 = cm("a", "6", "u9");

	CHECK(kube_store_event(s, "ADDED", a));
	CHECK(!kube_store_event(s, "ADDED", a));
	CHECK(!kube_store_event(s, "MODIFIED", a));
	CHECK(kube_store_event(s, "MODIFIED", a2));
	CHECK(!kube_store_event(s, "MODIFIED", a2));
	CHECK(kube_store_event(s, "MODIFIED", a3));	/* another object */
	CHECK_INT(kube_store_count(s), 1);
	CHECK(kube_store_get(s, "default", "a") != NULL);
	CHECK(kube_store_event(s, "DELETED", a2));
	CHECK_INT(kube_store_count(s), 0);
	CHECK(kube_store_get(s, "default", "a") == NULL);
	cJSON_Delete(a);
	cJSON_Delete(a2);
	cJSON_Delete(a3);
	kube_store_free(s);
}

TEST(relist_delivers_only_the_difference)
{
	struct kube_store *s = kube_store_new();
	struct buf got = BUF_INIT;
	cJSON *items = cJSON_CreateArray();
	char name[16];
	int i;

	event(s, "ADDED", cm("same", "1", "u-same"));
	event(s, "ADDED", cm("changed", "2", "u-changed"));
	event(s, "ADDED", cm("gone-b", "3", "u-gone-b"));
	event(s, "ADDED", cm("gone-a", "4", "u-gone-a"));
	event(s, "ADDED", cm("reborn", "5", "u-old"));
	event(s, "ADDED", cm("deleted-seen", "6", "u-ds"));
	event(s, "DELETED", cm("deleted-seen", "7", "u-ds"));
	cJSON_AddItemToArray(items, cm("changed", "12", "u-changed"));
	cJSON_AddItemToArray(items, cm("new", "13", "u-new"));
	cJSON_AddItemToArray(items, cm("reborn", "14", "u-new-reborn"));
	cJSON_AddItemToArray(items, cm("same", "1", "u-same"));
	CHECK_INT(kube_store_relist(s, items, record_fn, &got), 0);
	CHECK_STR(buf_str(&got),
		  "MODIFIED changed 12;ADDED new 13;DELETED reborn 5;ADDED reborn 14;"
		  "DELETED gone-a 4;DELETED gone-b 3;");
	CHECK_INT(kube_store_count(s), 4);
	/* The same list again: nothing. */
	buf_reset(&got);
	CHECK_INT(kube_store_relist(s, items, record_fn, &got), 0);
	CHECK_STR(buf_str(&got), "");
	/* Many objects (the table grows), then all vanish, in name order. */
	cJSON_Delete(items);
	items = cJSON_CreateArray();
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "o%03d", i);
		cJSON_AddItemToArray(items, cm(name, "20", name));
	}
	buf_reset(&got);
	CHECK_INT(kube_store_relist(s, items, record_fn, &got), 0);
	CHECK_INT(kube_store_count(s), 300);
	CHECK_CONTAINS(buf_str(&got), "ADDED o299 20;DELETED changed 12;DELETED new 13;"
		       "DELETED reborn 14;DELETED same 1;");
	cJSON_Delete(items);
	items = cJSON_CreateArray();
	buf_reset(&got);
	CHECK_INT(kube_store_relist(s, items, record_fn, &got), 0);
	CHECK_INT(kube_store_count(s), 0);
	CHECK(!strncmp(buf_str(&got), "DELETED o000 20;DELETED o001 20;", 32));
	cJSON_Delete(items);
	buf_release(&got);
	kube_store_free(s);
}

static int stop_fn(void *ctx, const char *type, const cJSON *obj)
{
	(void)type;
	(void)obj;
	return ++*(int *)ctx == 2 ? 1 : 0;
}

TEST(relist_stops_when_asked)
{
	struct kube_store *s = kube_store_new();
	cJSON *items = cJSON_CreateArray();
	int calls = 0;

	cJSON_AddItemToArray(items, cm("a", "1", "ua"));
	cJSON_AddItemToArray(items, cm("b", "1", "ub"));
	cJSON_AddItemToArray(items, cm("c", "1", "uc"));
	CHECK_INT(kube_store_relist(s, items, stop_fn, &calls), 1);
	CHECK_INT(calls, 2);
	cJSON_Delete(items);
	kube_store_free(s);
}
