/* kube_list.c - lists, page by page (limit/continue), restarted once when
 * the continue token expired. See kube.h. */
#include "kube.h"
#include "kube_internal.h"
#include "log.h"

#include <string.h>

#define DEFAULT_PAGE 500

void kube_query_add(struct buf *path, const char *key, const char *value)
{
	buf_addch(path, strchr(buf_str(path), '?') ? '&' : '?');
	buf_adds(path, key);
	buf_addch(path, '=');
	http_escape(path, value);
}

cJSON *kube_obj_with_type(cJSON *take_obj, const char *api_version,
			  const char *kind)
{
	cJSON *o = cJSON_CreateObject(), *c;

	if (!o || !cJSON_AddStringToObject(o, "apiVersion", api_version) ||
	    !cJSON_AddStringToObject(o, "kind", kind))
		die("out of memory");
	while (take_obj && take_obj->child) {
		c = cJSON_DetachItemViaPointer(take_obj, take_obj->child);
		if (c->string && (!strcmp(c->string, "apiVersion") ||
				  !strcmp(c->string, "kind"))) {
			cJSON_Delete(c);
			continue;
		}
		if (!c->string) {	/* not an object member: cannot happen */
			cJSON_Delete(c);
			continue;
		}
		cJSON_AddItemToObject(o, c->string, c);
	}
	cJSON_Delete(take_obj);
	return o;
}

static void list_path(struct buf *path, const struct kube_resource *r,
		      const char *ns, const struct kube_list_opts *o,
		      const char *cont)
{
	struct buf n = BUF_INIT;

	kube_path(path, r, ns, NULL, NULL);
	buf_printf(&n, "%d", o->limit > 0 ? o->limit : DEFAULT_PAGE);
	kube_query_add(path, "limit", buf_str(&n));
	if (o->label_selector && *o->label_selector)
		kube_query_add(path, "labelSelector", o->label_selector);
	if (o->field_selector && *o->field_selector)
		kube_query_add(path, "fieldSelector", o->field_selector);
	if (cont && *cont)
		kube_query_add(path, "continue", cont);
	buf_release(&n);
}

/* Moves the items of page into items, typed. */
static void take_items(cJSON *page, cJSON *items, const char *api_version,
		       const char *kind)
{
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(page, "items"), *it;

	while (cJSON_IsArray(arr) && arr->child) {
		it = cJSON_DetachItemViaPointer(arr, arr->child);
		cJSON_AddItemToArray(items, kube_obj_with_type(it, api_version, kind));
	}
}

int kube_list_resource(struct kube *k, const struct kube_resource *r,
		       const char *ns, const struct kube_list_opts *opts,
		       cJSON **out, struct kube_err *err)
{
	struct kube_list_opts none = { 0 };
	struct buf path = BUF_INIT, what = BUF_INIT, cont = BUF_INIT, av = BUF_INIT;
	cJSON *items = NULL, *list = NULL, *page = NULL, *meta;
	struct kube_req req = { 0 };
	bool restarted = false;
	const char *c;
	int rc = -1;

	*out = NULL;
	if (!opts)
		opts = &none;
	if (!r->namespaced || opts->all_namespaces)
		ns = NULL;
	else if (!ns)
		ns = kube_namespace(k);
	kube_resource_api_version(r, &av);
	kube_what(&what, "list", r, NULL);
	if (!(items = cJSON_CreateArray()))
		die("out of memory");
	req.method = "GET";
	req.idempotent = true;
	req.sensitive = !strcmp(r->resource, "secrets");
	req.what = buf_str(&what);
	for (;;) {
		buf_reset(&path);
		list_path(&path, r, ns, opts, buf_str(&cont));
		req.path = buf_str(&path);
		if (kube_do_json(k, &req, &page, err) < 0) {
			if (err->code == 410 && cont.len && !restarted) {
				/* The continue token expired: start over. */
				restarted = true;
				buf_reset(&cont);
				cJSON_Delete(list);
				list = NULL;
				cJSON_Delete(items);
				if (!(items = cJSON_CreateArray()))
					die("out of memory");
				kube_err_release(err);
				continue;
			}
			goto out;
		}
		if (!cJSON_IsObject(page)) {
			kube_err_set(err, "the list of %s is not an object", r->resource);
			goto out;
		}
		take_items(page, items, buf_str(&av), r->kind);
		meta = cJSON_GetObjectItemCaseSensitive(page, "metadata");
		c = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "continue"));
		buf_reset(&cont);
		if (c)
			buf_adds(&cont, c);
		if (!list) {
			list = page;
			page = NULL;
		}
		cJSON_Delete(page);
		page = NULL;
		if (!cont.len)
			break;
	}
	meta = cJSON_GetObjectItemCaseSensitive(list, "metadata");
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "continue");
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "remainingItemCount");
	if (cJSON_GetObjectItemCaseSensitive(list, "items"))
		cJSON_ReplaceItemInObjectCaseSensitive(list, "items", items);
	else
		cJSON_AddItemToObject(list, "items", items);
	items = NULL;
	*out = list;
	list = NULL;
	rc = 0;
out:
	cJSON_Delete(page);
	cJSON_Delete(list);
	cJSON_Delete(items);
	buf_release(&path);
	buf_release(&what);
	buf_release(&cont);
	buf_release(&av);
	return rc;
}

int kube_list(struct kube *k, const char *api_version, const char *kind,
	      const char *ns, const struct kube_list_opts *opts, cJSON **out,
	      struct kube_err *err)
{
	struct kube_resource r;

	*out = NULL;
	if (kube_resolve(k, api_version, kind, &r, err) < 0)
		return -1;
	return kube_list_resource(k, &r, ns, opts, out, err);
}
