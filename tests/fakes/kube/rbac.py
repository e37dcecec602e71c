"""rbac.py - RBAC authorization as the real authorizer evaluates it.

authorize(store, user, attrs) looks at ClusterRoleBindings and, for
namespaced requests, the RoleBindings of the namespace; a binding applies
when a subject names the user (User), one of its groups (Group) or its
ServiceAccount; its Role/ClusterRole's rules allow the request when verb,
API group, resource (with "resource/subresource" and "*" forms) and
resourceNames match, or for non-resource requests the path
(nonResourceURLs, with a trailing "*" as a prefix). Members of
system:masters may do everything.

attrs: {"verb", "group", "resource", "subresource", "namespace", "name"}
for resource requests, {"verb", "path"} for others.
default_objects() are the ClusterRoles and ClusterRoleBindings a new
cluster has (cluster-admin, admin, edit, view, system:discovery, ...).
"""

RBAC = "rbac.authorization.k8s.io"


def _rule_allows(rule, attrs):
    verbs = rule.get("verbs") or []
    if "*" not in verbs and attrs["verb"] not in verbs:
        return False
    if "path" in attrs:
        for u in rule.get("nonResourceURLs") or []:
            if u == "*" or u == attrs["path"] or \
                    (u.endswith("*") and attrs["path"].startswith(u[:-1])):
                return True
        return False
    groups = rule.get("apiGroups")
    if groups is None or ("*" not in groups and attrs["group"] not in groups):
        return False
    res = attrs["resource"]
    sub = attrs.get("subresource") or ""
    combined = res + "/" + sub if sub else res
    ok = False
    for r in rule.get("resources") or []:
        if r == "*" or r == combined or (sub and r == "*/" + sub):
            ok = True
            break
    if not ok:
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.get("name") in names


def _subject_matches(s, user, ns):
    kind = s.get("kind")
    if kind == "User":
        return s.get("name") == user.name
    if kind == "Group":
        return s.get("name") in user.groups
    if kind == "ServiceAccount":
        sns = s.get("namespace") or ns
        return user.name == "system:serviceaccount:%s:%s" % (sns, s.get("name"))
    return False


def rules_for(store, user, ns):
    """The rules that apply to user in namespace ns (cluster-wide when
    ns is empty), and the reasons bindings could not be used."""
    rules, errs = [], []
    crs = store.objs.get("clusterroles." + RBAC, {})
    for b in store.objs.get("clusterrolebindings." + RBAC, {}).values():
        if any(_subject_matches(s, user, "") for s in b.get("subjects") or []):
            cr = crs.get(("", (b.get("roleRef") or {}).get("name")))
            if cr is None:
                errs.append('clusterrole.rbac.authorization.k8s.io "%s" not found'
                            % (b.get("roleRef") or {}).get("name"))
            else:
                rules += cr.get("rules") or []
    if ns:
        roles = store.objs.get("roles." + RBAC, {})
        for (bns, _), b in store.objs.get("rolebindings." + RBAC, {}).items():
            if bns != ns:
                continue
            if not any(_subject_matches(s, user, ns) for s in b.get("subjects") or []):
                continue
            ref = b.get("roleRef") or {}
            if ref.get("kind") == "ClusterRole":
                r = crs.get(("", ref.get("name")))
            else:
                r = roles.get((ns, ref.get("name")))
            if r is None:
                errs.append('%s.rbac.authorization.k8s.io "%s" not found'
                            % ((ref.get("kind") or "role").lower(), ref.get("name")))
            else:
                rules += r.get("rules") or []
    return rules, errs


def authorize(store, user, attrs):
    """(allowed, reason)."""
    if "system:masters" in user.groups:
        return True, ""
    with store.lock:
        rules, errs = rules_for(store, user, attrs.get("namespace") or "")
    for rule in rules:
        if _rule_allows(rule, attrs):
            return True, ""
    return False, ("RBAC: " + ", ".join(errs)) if errs else ""


def forbidden_message(user, attrs, reason=""):
    if "path" in attrs:
        msg = 'User "%s" cannot %s path "%s"' % (user.name, attrs["verb"],
                                                 attrs["path"])
    else:
        res = attrs["resource"]
        if attrs.get("subresource"):
            res += "/" + attrs["subresource"]
        if attrs.get("namespace"):
            msg = 'User "%s" cannot %s resource "%s" in API group "%s" in the ' \
                  'namespace "%s"' % (user.name, attrs["verb"], res,
                                      attrs["group"], attrs["namespace"])
        else:
            msg = 'User "%s" cannot %s resource "%s" in API group "%s" at the ' \
                  'cluster scope' % (user.name, attrs["verb"], res, attrs["group"])
    if reason:
        msg += ": " + reason
    return msg


def review_attrs(spec):
    """Request attributes from a SubjectAccessReview spec."""
    ra = spec.get("resourceAttributes")
    if ra is not None:
        return {"verb": ra.get("verb", ""), "group": ra.get("group", ""),
                "resource": ra.get("resource", ""),
                "subresource": ra.get("subresource", ""),
                "namespace": ra.get("namespace", ""), "name": ra.get("name", "")}
    nra = spec.get("nonResourceAttributes") or {}
    return {"verb": nra.get("verb", ""), "path": nra.get("path", "")}


def rules_review(store, user, ns):
    """status of a SelfSubjectRulesReview."""
    if "system:masters" in user.groups:
        rr = [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]
        nr = [{"verbs": ["*"], "nonResourceURLs": ["*"]}]
        return {"resourceRules": rr, "nonResourceRules": nr, "incomplete": False}
    with store.lock:
        rules, errs = rules_for(store, user, ns)
    rr, nr = [], []
    for r in rules:
        if r.get("nonResourceURLs"):
            nr.append({"verbs": r.get("verbs", []),
                       "nonResourceURLs": r["nonResourceURLs"]})
        else:
            e = {"verbs": r.get("verbs", []), "apiGroups": r.get("apiGroups", []),
                 "resources": r.get("resources", [])}
            if r.get("resourceNames"):
                e["resourceNames"] = r["resourceNames"]
            rr.append(e)
    out = {"resourceRules": rr, "nonResourceRules": nr, "incomplete": bool(errs)}
    if errs:
        out["evaluationError"] = ", ".join(errs)
    return out


# -- the roles a new cluster has --------------------------------------------

RO = ["get", "list", "watch"]
RW = ["create", "delete", "deletecollection", "patch", "update"]


def _view_rules():
    return [
        {"apiGroups": [""], "resources": [
            "configmaps", "endpoints", "persistentvolumeclaims",
            "persistentvolumeclaims/status", "pods", "replicationcontrollers",
            "replicationcontrollers/scale", "serviceaccounts", "services",
            "services/status"], "verbs": RO},
        {"apiGroups": [""], "resources": [
            "bindings", "events", "limitranges", "namespaces/status", "pods/log",
            "pods/status", "replicationcontrollers/status", "resourcequotas",
            "resourcequotas/status"], "verbs": RO},
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": RO},
        {"apiGroups": ["apps"], "resources": [
            "controllerrevisions", "daemonsets", "daemonsets/status",
            "deployments", "deployments/scale", "deployments/status",
            "replicasets", "replicasets/scale", "replicasets/status",
            "statefulsets", "statefulsets/scale", "statefulsets/status"],
         "verbs": RO},
        {"apiGroups": ["batch"], "resources": [
            "cronjobs", "cronjobs/status", "jobs", "jobs/status"], "verbs": RO},
        {"apiGroups": ["jobset.x-k8s.io"], "resources": [
            "jobsets", "jobsets/status"], "verbs": RO},
        {"apiGroups": ["kueue.x-k8s.io"], "resources": [
            "localqueues", "localqueues/status", "workloads",
            "workloads/status"], "verbs": RO},
    ]


def _edit_rules():
    return _view_rules() + [
        {"apiGroups": [""], "resources": [
            "pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy",
            "configmaps", "endpoints", "events", "persistentvolumeclaims",
            "replicationcontrollers", "secrets", "serviceaccounts", "services"],
         "verbs": RW},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": RO},
        {"apiGroups": [""], "resources": ["serviceaccounts/token"],
         "verbs": ["create"]},
        {"apiGroups": ["apps"], "resources": [
            "daemonsets", "deployments", "deployments/scale", "replicasets",
            "replicasets/scale", "statefulsets", "statefulsets/scale"],
         "verbs": RW},
        {"apiGroups": ["batch"], "resources": ["cronjobs", "jobs"], "verbs": RW},
        {"apiGroups": ["jobset.x-k8s.io"], "resources": ["jobsets"], "verbs": RW},
        {"apiGroups": ["kueue.x-k8s.io"], "resources": ["workloads"],
         "verbs": RW},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
         "verbs": RO + RW},
    ]


def _admin_rules():
    return _edit_rules() + [
        {"apiGroups": [RBAC], "resources": ["rolebindings", "roles"],
         "verbs": RO + RW},
        {"apiGroups": ["authorization.k8s.io"],
         "resources": ["localsubjectaccessreviews"], "verbs": ["create"]},
        {"apiGroups": ["kueue.x-k8s.io"], "resources": ["localqueues"],
         "verbs": RW},
    ]


def _cr(name, rules, bootstrap=True):
    md = {"name": name}
    if bootstrap:
        md["labels"] = {"kubernetes.io/bootstrapping": "rbac-defaults"}
        md["annotations"] = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
    return {"apiVersion": RBAC + "/v1", "kind": "ClusterRole", "metadata": md,
            "rules": rules}


def _crb(name, role, groups):
    return {"apiVersion": RBAC + "/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name,
                         "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                         "annotations": {
                             "rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": g}
                         for g in groups]}


def default_objects():
    pub = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
    return [
        ("clusterroles." + RBAC, _cr("cluster-admin", [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]}])),
        ("clusterroles." + RBAC, _cr("admin", _admin_rules())),
        ("clusterroles." + RBAC, _cr("edit", _edit_rules())),
        ("clusterroles." + RBAC, _cr("view", _view_rules())),
        ("clusterroles." + RBAC, _cr("system:discovery", [
            {"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*",
                                 "/openapi", "/openapi/*"] + pub,
             "verbs": ["get"]}])),
        ("clusterroles." + RBAC, _cr("system:public-info-viewer", [
            {"nonResourceURLs": pub, "verbs": ["get"]}])),
        ("clusterroles." + RBAC, _cr("system:basic-user", [
            {"apiGroups": ["authorization.k8s.io"],
             "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
             "verbs": ["create"]},
            {"apiGroups": ["authentication.k8s.io"],
             "resources": ["selfsubjectreviews"], "verbs": ["create"]}])),
        ("clusterroles." + RBAC, _cr("system:auth-delegator", [
            {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"],
             "verbs": ["create"]},
            {"apiGroups": ["authorization.k8s.io"],
             "resources": ["subjectaccessreviews"], "verbs": ["create"]}])),
        ("clusterrolebindings." + RBAC, _crb("cluster-admin", "cluster-admin",
                                             ["system:masters"])),
        ("clusterrolebindings." + RBAC, _crb("system:discovery",
                                             "system:discovery",
                                             ["system:authenticated"])),
        ("clusterrolebindings." + RBAC, _crb("system:basic-user",
                                             "system:basic-user",
                                             ["system:authenticated"])),
        ("clusterrolebindings." + RBAC, _crb("system:public-info-viewer",
                                             "system:public-info-viewer",
                                             ["system:authenticated",
                                              "system:unauthenticated"])),
    ]
