/* kube_discovery.c - REST mapping: kinds and kubectl-style resource names to
 * API paths, by discovery documents fetched lazily and cached per process.
 * See kube.h. */
#include "kube.h"
#include "kube_internal.h"
#include "log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Running out of memory is fatal, as in buf.h. */
static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		die("out of memory");
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		die("out of memory");
	return d;
}

static void strv_free(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* A NULL-terminated copy of the strings of a JSON array (others skipped). */
static char **strv_from_json(const cJSON *arr)
{
	size_t n = 0, i = 0;
	const cJSON *it;
	char **v;

	cJSON_ArrayForEach(it, arr)
		n++;
	v = xcalloc(n + 1, sizeof(*v));
	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it))
			v[i++] = xstrdup(it->valuestring);
	return v;
}

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

void kube_api_resources_free(struct kube_api_resource *res, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(res[i].singular);
		strv_free(res[i].short_names);
		strv_free(res[i].verbs);
	}
	free(res);
}

int kube_discovery_parse_resources(const char *group, const char *version,
				   const char *json, size_t len,
				   struct kube_api_resource **out, size_t *n,
				   struct buf *err)
{
	struct kube_api_resource *res = NULL;
	const cJSON *list, *it;
	cJSON *doc;
	size_t cnt = 0, i = 0;
	int rc = -1;

	*out = NULL;
	*n = 0;
	doc = cJSON_ParseWithLength(json, len);
	list = cJSON_GetObjectItemCaseSensitive(doc, "resources");
	if (!cJSON_IsObject(doc) || (list && !cJSON_IsArray(list))) {
		buf_set(err, "cannot parse the discovery document of '%s%s%s'",
			group, *group ? "/" : "", version);
		goto out;
	}
	cJSON_ArrayForEach(it, list)
		cnt++;
	res = xcalloc(cnt, sizeof(*res));
	cJSON_ArrayForEach(it, list) {
		const char *name = json_str(it, "name"), *kind = json_str(it, "kind");
		const char *singular = json_str(it, "singularName");
		struct kube_api_resource *r = &res[i];

		if (!name || !kind)
			continue;
		snprintf(r->r.group, sizeof(r->r.group), "%s", group);
		snprintf(r->r.version, sizeof(r->r.version), "%s", version);
		snprintf(r->r.resource, sizeof(r->r.resource), "%s", name);
		snprintf(r->r.kind, sizeof(r->r.kind), "%s", kind);
		r->r.namespaced = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "namespaced"));
		r->singular = xstrdup(singular ? singular : "");
		r->short_names = strv_from_json(cJSON_GetObjectItemCaseSensitive(it, "shortNames"));
		r->verbs = strv_from_json(cJSON_GetObjectItemCaseSensitive(it, "verbs"));
		i++;
	}
	*out = res;
	*n = i;
	res = NULL;
	rc = 0;
out:
	if (res)
		kube_api_resources_free(res, i);
	cJSON_Delete(doc);
	return rc;
}

void kube_groups_free(struct kube_group *g, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(g[i].name);
		free(g[i].preferred);
		strv_free(g[i].versions);
	}
	free(g);
}

/* Adds one group; versions taken. */
static void group_add(struct kube_group **gs, size_t *n, const char *name,
		      const char *preferred, char **versions)
{
	struct kube_group *g = realloc(*gs, (*n + 1) * sizeof(**gs));

	if (!g)
		die("out of memory");
	*gs = g;
	g[*n].name = xstrdup(name);
	g[*n].preferred = xstrdup(preferred);
	g[*n].versions = versions;
	(*n)++;
}

int kube_discovery_parse_groups(const char *api_json, size_t api_len,
				const char *apis_json, size_t apis_len,
				struct kube_group **out, size_t *n,
				struct buf *err)
{
	struct kube_group *gs = NULL;
	size_t ng = 0;
	cJSON *api = NULL, *apis = NULL;
	const cJSON *it, *v;
	int rc = -1;

	if (api_json) {
		char **versions;

		api = cJSON_ParseWithLength(api_json, api_len);
		v = cJSON_GetObjectItemCaseSensitive(api, "versions");
		if (!cJSON_IsArray(v)) {
			buf_set(err, "cannot parse the discovery document of '/api'");
			goto out;
		}
		versions = strv_from_json(v);
		if (versions && versions[0])
			group_add(&gs, &ng, "", versions[0], versions);
		else
			strv_free(versions);
	}
	if (apis_json) {
		apis = cJSON_ParseWithLength(apis_json, apis_len);
		v = cJSON_GetObjectItemCaseSensitive(apis, "groups");
		if (!cJSON_IsArray(v)) {
			buf_set(err, "cannot parse the discovery document of '/apis'");
			goto out;
		}
		cJSON_ArrayForEach(it, v) {
			const char *name = json_str(it, "name"), *pref;
			const cJSON *vs = cJSON_GetObjectItemCaseSensitive(it, "versions"), *vi;
			char **versions;
			size_t nv = 0, i = 0;

			if (!name)
				continue;
			cJSON_ArrayForEach(vi, vs)
				nv++;
			versions = xcalloc(nv + 1, sizeof(*versions));
			cJSON_ArrayForEach(vi, vs)
				if (json_str(vi, "version"))
					versions[i++] = xstrdup(json_str(vi, "version"));
			pref = json_str(cJSON_GetObjectItemCaseSensitive(it, "preferredVersion"),
					"version");
			if (!pref)
				pref = versions[0];
			if (!pref) {
				strv_free(versions);
				continue;
			}
			group_add(&gs, &ng, name, pref, versions);
		}
	}
	*out = gs;
	*n = ng;
	gs = NULL;
	rc = 0;
out:
	if (gs)
		kube_groups_free(gs, ng);
	cJSON_Delete(api);
	cJSON_Delete(apis);
	return rc;
}

const struct kube_api_resource *kube_find_kind(const struct kube_api_resource *res,
					       size_t n, const char *kind)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strchr(res[i].r.resource, '/') && !strcmp(res[i].r.kind, kind))
			return &res[i];
	return NULL;
}

const struct kube_api_resource *kube_find_name(const struct kube_api_resource *res,
					       size_t n, const char *name)
{
	size_t i, j;

	/* kubectl's order: plural, then singular, then short names, then kind. */
	for (i = 0; i < n; i++)
		if (!strchr(res[i].r.resource, '/') &&
		    !strcasecmp(res[i].r.resource, name))
			return &res[i];
	for (i = 0; i < n; i++)
		if (!strchr(res[i].r.resource, '/') && res[i].singular[0] &&
		    !strcasecmp(res[i].singular, name))
			return &res[i];
	for (i = 0; i < n; i++) {
		if (strchr(res[i].r.resource, '/'))
			continue;
		for (j = 0; res[i].short_names[j]; j++)
			if (!strcasecmp(res[i].short_names[j], name))
				return &res[i];
	}
	for (i = 0; i < n; i++)
		if (!strchr(res[i].r.resource, '/') && !strcasecmp(res[i].r.kind, name))
			return &res[i];
	return NULL;
}

void kube_split_api_version(const char *api_version, struct buf *group,
			    struct buf *version)
{
	const char *slash = strrchr(api_version, '/');

	if (slash) {
		buf_add(group, api_version, (size_t)(slash - api_version));
		buf_adds(version, slash + 1);
	} else {
		buf_adds(version, api_version);
	}
}

static void gv_free(struct kube_gv *gv)
{
	kube_api_resources_free(gv->res, gv->nres);
	free(gv->group);
	free(gv->version);
	free(gv);
}

void kube_discovery_release(struct kube_discovery *d)
{
	struct kube_gv *gv, *next;

	for (gv = d->gvs; gv; gv = next) {
		next = gv->next;
		gv_free(gv);
	}
	d->gvs = NULL;
	kube_groups_free(d->groups, d->ngroups);
	d->groups = NULL;
	d->ngroups = 0;
	d->have_groups = false;
}

/* GETs path; 200 -> *body, 404 -> *found false. */
static int fetch_doc(struct kube *k, const char *path, struct buf *body,
		     bool *found, struct kube_err *err)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct kube_req r = { 0 };
	struct buf what = BUF_INIT;
	int rc = -1;

	r.method = "GET";
	r.path = path;
	r.idempotent = true;
	if (kube_do(k, &r, &resp, err) < 0)
		goto out;
	*found = resp.status == 200;
	if (resp.status == 200 || resp.status == 404) {
		buf_add(body, resp.body.data ? resp.body.data : "", resp.body.len);
		rc = 0;
		goto out;
	}
	buf_printf(&what, "get %s", path);
	kube_err_from_response(err, resp.status, resp.body.data, resp.body.len,
			       buf_str(&what));
out:
	buf_release(&what);
	http_response_release(&resp);
	return rc;
}

/* (Re)reads the discovery document of one group version. */
static int gv_fetch(struct kube *k, struct kube_gv *gv, struct kube_err *err)
{
	struct buf path = BUF_INIT, body = BUF_INIT, perr = BUF_INIT;
	struct kube_api_resource *res;
	size_t n;
	bool found = false;
	int rc = -1;

	if (*gv->group)
		buf_printf(&path, "/apis/%s/%s", gv->group, gv->version);
	else
		buf_printf(&path, "/api/%s", gv->version);
	if (fetch_doc(k, buf_str(&path), &body, &found, err) < 0)
		goto out;
	if (found && kube_discovery_parse_resources(gv->group, gv->version,
						    buf_str(&body), body.len,
						    &res, &n, &perr) < 0) {
		kube_err_set(err, "%s", buf_str(&perr));
		goto out;
	}
	kube_api_resources_free(gv->res, gv->nres);
	gv->res = found ? res : NULL;
	gv->nres = found ? n : 0;
	gv->fetched = true;
	gv->served = found;
	rc = 0;
out:
	buf_release(&path);
	buf_release(&body);
	buf_release(&perr);
	return rc;
}

/* The cached entry of group/version, fetched when new; *fresh tells
 * whether it was fetched by this call. */
static struct kube_gv *gv_get(struct kube *k, const char *group,
			      const char *version, bool *fresh,
			      struct kube_err *err)
{
	struct kube_gv *gv;

	*fresh = false;
	for (gv = k->disc.gvs; gv; gv = gv->next)
		if (!strcmp(gv->group, group) && !strcmp(gv->version, version))
			break;
	if (!gv) {
		gv = xcalloc(1, sizeof(*gv));
		gv->group = xstrdup(group);
		gv->version = xstrdup(version);
		gv->next = k->disc.gvs;
		k->disc.gvs = gv;
	}
	if (!gv->fetched) {
		if (gv_fetch(k, gv, err) < 0)
			return NULL;
		*fresh = true;
	}
	return gv;
}

int kube_resolve(struct kube *k, const char *api_version, const char *kind,
		 struct kube_resource *out, struct kube_err *err)
{
	struct buf group = BUF_INIT, version = BUF_INIT;
	const struct kube_api_resource *r = NULL;
	struct kube_gv *gv;
	bool fresh;
	int rc = -1;

	if (!kind || !*kind) {
		kube_err_set(err, "object has no kind");
		goto out;
	}
	if (!api_version || !*api_version) {
		kube_err_set(err, "no apiVersion given for kind \"%s\"", kind);
		goto out;
	}
	kube_split_api_version(api_version, &group, &version);
	if (!(gv = gv_get(k, buf_str(&group), buf_str(&version), &fresh, err)))
		goto out;
	r = kube_find_kind(gv->res, gv->nres, kind);
	if (!r && !fresh) {
		/* Maybe a CRD installed since: read the group version again. */
		if (gv_fetch(k, gv, err) < 0)
			goto out;
		r = kube_find_kind(gv->res, gv->nres, kind);
	}
	if (!r) {
		kube_err_set_reason(err, "NoKindMatch",
				    "no matches for kind \"%s\" in version \"%s\"",
				    kind, api_version);
		goto out;
	}
	*out = r->r;
	rc = 0;
out:
	buf_release(&group);
	buf_release(&version);
	return rc;
}

/* Reads /api and /apis once. */
static int groups_load(struct kube *k, struct kube_err *err)
{
	struct buf api = BUF_INIT, apis = BUF_INIT, perr = BUF_INIT;
	bool api_found = false, apis_found = false;
	int rc = -1;

	if (k->disc.have_groups)
		return 0;
	if (fetch_doc(k, "/api", &api, &api_found, err) < 0 ||
	    fetch_doc(k, "/apis", &apis, &apis_found, err) < 0)
		goto out;
	if (kube_discovery_parse_groups(api_found ? buf_str(&api) : NULL, api.len,
					apis_found ? buf_str(&apis) : NULL, apis.len,
					&k->disc.groups, &k->disc.ngroups, &perr) < 0) {
		kube_err_set(err, "%s", buf_str(&perr));
		goto out;
	}
	k->disc.have_groups = true;
	rc = 0;
out:
	buf_release(&api);
	buf_release(&apis);
	buf_release(&perr);
	return rc;
}

static const struct kube_group *group_named(const struct kube *k, const char *name)
{
	size_t i;

	for (i = 0; i < k->disc.ngroups; i++)
		if (!strcmp(k->disc.groups[i].name, name))
			return &k->disc.groups[i];
	return NULL;
}

static bool group_has_version(const struct kube_group *g, const char *v)
{
	size_t i;

	for (i = 0; g->versions[i]; i++)
		if (!strcmp(g->versions[i], v))
			return true;
	return false;
}

/* Looks name up in one group version; 1 found, 0 not, -1 error. */
static int lookup_in(struct kube *k, const char *group, const char *version,
		     const char *name, struct kube_resource *out,
		     struct kube_err *err)
{
	const struct kube_api_resource *r;
	struct kube_gv *gv;
	bool fresh;

	if (!(gv = gv_get(k, group, version, &fresh, err)))
		return -1;
	r = kube_find_name(gv->res, gv->nres, name);
	if (!r)
		return 0;
	*out = r->r;
	return 1;
}

static int search_name(struct kube *k, const char *name, struct kube_resource *out,
		       struct kube_err *err)
{
	const char *dot = strchr(name, '.');
	const struct kube_group *g;
	struct buf res = BUF_INIT, rest = BUF_INIT;
	size_t i;
	int rc = 0;

	if (!dot) {
		/* A group whose discovery fails (an aggregated API that is
		 * down) does not stop the search, as with kubectl. */
		bool failed = false;

		/* The core group first: v1 is always served, so most names
		 * are found without reading /api and /apis. */
		if ((rc = lookup_in(k, "", "v1", name, out, err)) != 0)
			return rc;
		if (groups_load(k, err) < 0)
			return -1;
		for (i = 0; i < k->disc.ngroups; i++) {
			if (!k->disc.groups[i].name[0] &&
			    !strcmp(k->disc.groups[i].preferred, "v1"))
				continue;
			rc = lookup_in(k, k->disc.groups[i].name,
				       k->disc.groups[i].preferred, name, out, err);
			if (rc > 0)
				return rc;
			failed |= rc < 0;
		}
		return failed ? -1 : 0;
	}
	if (groups_load(k, err) < 0)
		return -1;
	buf_add(&res, name, (size_t)(dot - name));
	buf_adds(&rest, dot + 1);
	/* resource.group, then resource.version.group */
	if ((g = group_named(k, buf_str(&rest))))
		rc = lookup_in(k, g->name, g->preferred, buf_str(&res), out, err);
	if (rc == 0 && (dot = strchr(buf_str(&rest), '.'))) {
		struct buf version = BUF_INIT;

		buf_add(&version, buf_str(&rest), (size_t)(dot - buf_str(&rest)));
		g = group_named(k, dot + 1);
		if (g && group_has_version(g, buf_str(&version)))
			rc = lookup_in(k, g->name, buf_str(&version), buf_str(&res),
				       out, err);
		buf_release(&version);
	}
	buf_release(&res);
	buf_release(&rest);
	return rc;
}

int kube_resolve_name(struct kube *k, const char *name, struct kube_resource *out,
		      struct kube_err *err)
{
	int rc;

	if (!name || !*name)
		return kube_err_set(err, "no resource type given");
	rc = search_name(k, name, out, err);
	if (rc == 0) {
		/* Unknown: forget what was cached and look once more. */
		kube_discovery_release(&k->disc);
		rc = search_name(k, name, out, err);
	}
	if (rc < 0)
		return -1;
	if (rc == 0)
		return kube_err_set(err, "the server doesn't have a resource type \"%s\"",
				    name);
	return 0;
}

void kube_path(struct buf *out, const struct kube_resource *r, const char *ns,
	       const char *name, const char *subresource)
{
	if (r->group[0])
		buf_printf(out, "/apis/%s/%s", r->group, r->version);
	else
		buf_printf(out, "/api/%s", r->version);
	if (r->namespaced && ns && *ns) {
		buf_adds(out, "/namespaces/");
		http_escape(out, ns);
	}
	buf_printf(out, "/%s", r->resource);
	if (name && *name) {
		buf_addch(out, '/');
		http_escape(out, name);
		if (subresource && *subresource)
			buf_printf(out, "/%s", subresource);
	}
}

void kube_resource_qualified(const struct kube_resource *r, struct buf *out)
{
	buf_adds(out, r->resource);
	if (r->group[0])
		buf_printf(out, ".%s", r->group);
}

void kube_object_ref(const struct kube_resource *r, const char *name, struct buf *out)
{
	const char *c;

	for (c = r->kind; *c; c++)
		buf_addch(out, tolower((unsigned char)*c));
	if (r->group[0])
		buf_printf(out, ".%s", r->group);
	buf_printf(out, "/%s", name ? name : "");
}

void kube_resource_api_version(const struct kube_resource *r, struct buf *out)
{
	if (r->group[0])
		buf_printf(out, "%s/%s", r->group, r->version);
	else
		buf_adds(out, r->version);
}
