/* agent_rbac.c - the agent's namespace, ServiceAccount and RBAC.
 *
 * The rules are what the agent's own requests need and nothing more (the
 * tests drop each one and see the agent fail):
 *   Role in the namespace: configmaps create, patch - the snapshot is
 *     written by server-side apply, a PATCH, which the API server also
 *     authorizes as create when the ConfigMap does not exist yet;
 *   ClusterRole: nodes get (its own Node), pods list (images in use, all
 *     namespaces), clusterpolicies.nvidia.com list (the GPU Operator's
 *     policy). /version and discovery need no grant.
 * Every object is named after the ServiceAccount; the cluster-scoped ones
 * get the namespace in their name too, so two namespaces never share them.
 */
#include <string.h>

#include "agent.h"
#include "log.h"
#include "obj.h"

#define RBAC_API "rbac.authorization.k8s.io/v1"

static cJSON *must(cJSON *item)
{
	if (!item)
		die("out of memory");
	return item;
}

static cJSON *rule(const char *group, const char *resource, const char *const *verbs)
{
	cJSON *r = must(cJSON_CreateObject()), *a;

	a = must(cJSON_AddArrayToObject(r, "apiGroups"));
	cJSON_AddItemToArray(a, must(cJSON_CreateString(group)));
	a = must(cJSON_AddArrayToObject(r, "resources"));
	cJSON_AddItemToArray(a, must(cJSON_CreateString(resource)));
	a = must(cJSON_AddArrayToObject(r, "verbs"));
	for (; *verbs; verbs++)
		cJSON_AddItemToArray(a, must(cJSON_CreateString(*verbs)));
	return r;
}

cJSON *agent_role_rules(void)
{
	static const char *const cm[] = { "create", "patch", NULL };
	cJSON *rules = must(cJSON_CreateArray());

	cJSON_AddItemToArray(rules, rule("", "configmaps", cm));
	return rules;
}

cJSON *agent_cluster_role_rules(void)
{
	static const char *const get[] = { "get", NULL }, *const list[] = { "list", NULL };
	cJSON *rules = must(cJSON_CreateArray());

	cJSON_AddItemToArray(rules, rule("", "nodes", get));
	cJSON_AddItemToArray(rules, rule("", "pods", list));
	cJSON_AddItemToArray(rules, rule("nvidia.com", "clusterpolicies", list));
	return rules;
}

/* The cluster-scoped name: SA-NS ("gpusnap-gpu-operator"). */
static void cluster_name(const struct agent_plan *p, struct buf *out)
{
	buf_printf(out, "%s-%s", p->sa, p->ns);
}

static void label(cJSON *o)
{
	obj_set_label(o, "app.kubernetes.io/name", "gpusnap");
	obj_set_label(o, "app.kubernetes.io/managed-by", AGENT_FIELD_MANAGER);
}

static cJSON *binding(const char *kind, const char *ns, const char *name,
		      const char *role_kind, const char *role, const struct agent_plan *p)
{
	cJSON *b = must(obj_new(RBAC_API, kind, ns, name)), *subj, *s;

	label(b);
	obj_set_str(b, "roleRef.apiGroup", "rbac.authorization.k8s.io");
	obj_set_str(b, "roleRef.kind", role_kind);
	obj_set_str(b, "roleRef.name", role);
	subj = must(cJSON_AddArrayToObject(b, "subjects"));
	s = must(cJSON_CreateObject());
	cJSON_AddStringToObject(s, "kind", "ServiceAccount");
	cJSON_AddStringToObject(s, "name", p->sa);
	cJSON_AddStringToObject(s, "namespace", p->ns);
	cJSON_AddItemToArray(subj, s);
	return b;
}

/* The five objects in creation order (the namespace apart). */
static cJSON *rbac_objects(const struct agent_plan *p)
{
	struct buf cn = BUF_INIT;
	cJSON *all = must(cJSON_CreateArray()), *o;

	cluster_name(p, &cn);
	o = must(obj_new("v1", "ServiceAccount", p->ns, p->sa));
	label(o);
	cJSON_AddItemToArray(all, o);
	o = must(obj_new(RBAC_API, "Role", p->ns, p->sa));
	label(o);
	cJSON_AddItemToObject(o, "rules", agent_role_rules());
	cJSON_AddItemToArray(all, o);
	cJSON_AddItemToArray(all, binding("RoleBinding", p->ns, p->sa, "Role", p->sa, p));
	o = must(obj_new(RBAC_API, "ClusterRole", NULL, buf_str(&cn)));
	label(o);
	cJSON_AddItemToObject(o, "rules", agent_cluster_role_rules());
	cJSON_AddItemToArray(all, o);
	cJSON_AddItemToArray(all, binding("ClusterRoleBinding", NULL, buf_str(&cn),
					  "ClusterRole", buf_str(&cn), p));
	buf_release(&cn);
	return all;
}

/* GET, then create when missing. 1 created, 0 present, -1 printed error. */
static int ensure(struct kube *k, const cJSON *o)
{
	struct kube_err e = KUBE_ERR_INIT;
	const char *ns = obj_namespace(o);
	cJSON *cur = NULL;
	int rc = 0;

	if (!kube_get(k, obj_api_version(o), obj_kind(o), ns, obj_name(o), &cur, &e))
		goto out;
	if (e.code != 404) {
		rc = -1;
		goto out;
	}
	kube_err_release(&e);
	if (kube_create(k, o, ns, false, NULL, &e) < 0)
		rc = e.code == 409 ? 0 : -1;
	else
		rc = 1;
out:
	if (rc < 0)
		kube_err_print(&e);
	cJSON_Delete(cur);
	kube_err_release(&e);
	return rc;
}

int agent_rbac_ensure(struct kube *k, const struct agent_plan *p, bool *created_ns)
{
	cJSON *nsobj = must(obj_new("v1", "Namespace", NULL, p->ns));
	cJSON *all = rbac_objects(p);
	const cJSON *o;
	int made = 0, kept = 0, r, rc = -1;

	*created_ns = false;
	if ((r = ensure(k, nsobj)) < 0)
		goto out;
	if (r) {
		*created_ns = true;
		info("namespace '%s' created", p->ns);
	}
	cJSON_ArrayForEach(o, all) {
		if ((r = ensure(k, o)) < 0)
			goto out;
		made += r;
		kept += !r;
	}
	if (!kept)
		info("rbac '%s' created in namespace '%s'", p->sa, p->ns);
	else if (!made)
		info("rbac '%s' reused in namespace '%s'", p->sa, p->ns);
	else
		info("rbac '%s' in namespace '%s': %d objects created, %d reused", p->sa, p->ns,
		     made, kept);
	rc = 0;
out:
	cJSON_Delete(nsobj);
	cJSON_Delete(all);
	return rc;
}

static void kubectl_delete(struct buf *cmds, const cJSON *o)
{
	struct buf kind = BUF_INIT;

	for (const char *s = obj_kind(o); *s; s++)
		buf_addch(&kind, *s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
	buf_printf(cmds, "kubectl delete %s %s", buf_str(&kind), obj_name(o));
	if (obj_namespace(o))
		buf_printf(cmds, " -n %s", obj_namespace(o));
	buf_addch(cmds, '\n');
	buf_release(&kind);
}

static int delete_one(struct kube *k, const cJSON *o, struct buf *cmds)
{
	struct kube_err e = KUBE_ERR_INIT;
	int rc = 0;

	if (kube_delete(k, obj_api_version(o), obj_kind(o), obj_namespace(o), obj_name(o),
			"Background", -1, NULL, NULL, &e) < 0 && e.code != 404) {
		kube_err_print(&e);
		kubectl_delete(cmds, o);
		rc = 1;
	}
	kube_err_release(&e);
	return rc;
}

int agent_rbac_delete(struct kube *k, const struct agent_plan *p, bool delete_ns,
		      struct buf *cmds)
{
	cJSON *all = rbac_objects(p), *nsobj = must(obj_new("v1", "Namespace", NULL, p->ns));
	int failed = 0;

	for (int i = cJSON_GetArraySize(all) - 1; i >= 0; i--)
		failed += delete_one(k, cJSON_GetArrayItem(all, i), cmds);
	if (delete_ns)
		failed += delete_one(k, nsobj, cmds);
	if (!failed)
		info("rbac '%s' deleted%s", p->sa, delete_ns ? ", and the namespace" : "");
	cJSON_Delete(all);
	cJSON_Delete(nsobj);
	return failed;
}
