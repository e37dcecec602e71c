"""resources.py - the kinds the fake API server serves, and its discovery.

A Res describes one resource (jobs.batch): its group, served versions,
kind, scope, short names, subresources. The Registry holds the built-in
ones and those that CustomResourceDefinitions add at run time, and renders
discovery documents (/api, /apis, /apis/G/V) and a minimal OpenAPI v3 (the
paths with PATCH operations and their fieldValidation parameter, which is
what kubectl looks at before it sends fieldValidation=Strict).
JobSet and Kueue kinds are not built in: builtin_crds() returns the
CustomResourceDefinitions the server creates at start-up, as a cluster with
those add-ons installed has them.
"""
import hashlib
import json
import threading

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch",
             "update", "watch"]
STATUS_VERBS = ["get", "patch", "update"]


class Res:
    def __init__(self, group, version, plural, kind, namespaced,
                 short=(), subs=None, verbs=None, categories=(),
                 singular=None, virtual=False, crd=False, versions=None,
                 columns=None):
        self.group = group
        self.version = version                  # storage version
        self.versions = list(versions or [version])
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.short = list(short)
        self.subs = dict(subs or {})            # name -> (kind, gv, verbs)
        self.verbs = list(verbs or ALL_VERBS)
        self.categories = list(categories)
        self.singular = singular or kind.lower()
        self.virtual = virtual                  # create-only, never stored
        self.crd = crd
        self.columns = columns or {}            # version -> printer columns
        self.qname = plural + ("." + group if group else "")

    @property
    def status(self):
        return "status" in self.subs

    def api_version(self, version=None):
        v = version or self.version
        return v if not self.group else self.group + "/" + v


def _sub(name, kind=None, gv=None, verbs=STATUS_VERBS):
    return (name, (kind, gv, list(verbs)))


def _builtin():
    c = ["create"]
    st = dict([_sub("status")])
    return [
        Res("", "v1", "bindings", "Binding", True, verbs=c, virtual=True),
        Res("", "v1", "configmaps", "ConfigMap", True, short=["cm"]),
        Res("", "v1", "endpoints", "Endpoints", True, short=["ep"],
            singular="endpoints"),
        Res("", "v1", "events", "Event", True, short=["ev"]),
        Res("", "v1", "namespaces", "Namespace", False, short=["ns"],
            subs=dict([_sub("status"), _sub("finalize", verbs=["update"])]),
            verbs=["create", "delete", "get", "list", "patch", "update",
                   "watch"]),
        Res("", "v1", "nodes", "Node", False, short=["no"], subs=st),
        Res("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True,
            short=["pvc"], subs=st),
        Res("", "v1", "persistentvolumes", "PersistentVolume", False,
            short=["pv"], subs=st),
        Res("", "v1", "pods", "Pod", True, short=["po"], categories=["all"],
            subs=dict([_sub("status"), _sub("log", "Pod", None, ["get"]),
                       _sub("binding", "Binding", None, ["create"]),
                       _sub("eviction", "Eviction", "policy/v1", ["create"])])),
        Res("", "v1", "secrets", "Secret", True),
        Res("", "v1", "serviceaccounts", "ServiceAccount", True, short=["sa"],
            subs=dict([_sub("token", "TokenRequest", "authentication.k8s.io/v1",
                            ["create"])])),
        Res("", "v1", "services", "Service", True, short=["svc"],
            categories=["all"], subs=st),
        Res("apiextensions.k8s.io", "v1", "customresourcedefinitions",
            "CustomResourceDefinition", False, short=["crd", "crds"],
            categories=["api-extensions"], subs=st),
        Res("apps", "v1", "daemonsets", "DaemonSet", True, short=["ds"],
            categories=["all"], subs=st),
        Res("apps", "v1", "deployments", "Deployment", True, short=["deploy"],
            categories=["all"], subs=st),
        Res("apps", "v1", "replicasets", "ReplicaSet", True, short=["rs"],
            categories=["all"], subs=st),
        Res("apps", "v1", "statefulsets", "StatefulSet", True, short=["sts"],
            categories=["all"], subs=st),
        Res("authentication.k8s.io", "v1", "selfsubjectreviews",
            "SelfSubjectReview", False, verbs=c, virtual=True),
        Res("authentication.k8s.io", "v1", "tokenreviews", "TokenReview",
            False, verbs=c, virtual=True),
        Res("authorization.k8s.io", "v1", "localsubjectaccessreviews",
            "LocalSubjectAccessReview", True, verbs=c, virtual=True),
        Res("authorization.k8s.io", "v1", "selfsubjectaccessreviews",
            "SelfSubjectAccessReview", False, verbs=c, virtual=True),
        Res("authorization.k8s.io", "v1", "selfsubjectrulesreviews",
            "SelfSubjectRulesReview", False, verbs=c, virtual=True),
        Res("authorization.k8s.io", "v1", "subjectaccessreviews",
            "SubjectAccessReview", False, verbs=c, virtual=True),
        Res("batch", "v1", "cronjobs", "CronJob", True, short=["cj"],
            categories=["all"], subs=st),
        Res("batch", "v1", "jobs", "Job", True, categories=["all"], subs=st),
        Res("coordination.k8s.io", "v1", "leases", "Lease", True),
        Res("rbac.authorization.k8s.io", "v1", "clusterrolebindings",
            "ClusterRoleBinding", False),
        Res("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole",
            False),
        Res("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding",
            True),
        Res("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
        Res("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass",
            False, short=["pc"]),
        Res("storage.k8s.io", "v1", "storageclasses", "StorageClass", False,
            short=["sc"]),
    ]


# The order of /apis on a real server: built-in groups first, then the
# groups of CustomResourceDefinitions in the order they were added.
GROUP_ORDER = ["apps", "authentication.k8s.io", "authorization.k8s.io",
               "batch", "coordination.k8s.io", "rbac.authorization.k8s.io",
               "scheduling.k8s.io", "storage.k8s.io", "apiextensions.k8s.io"]


class Registry:
    def __init__(self):
        self.lock = threading.RLock()
        self.by_qname = {}
        self.crd_groups = []
        for r in _builtin():
            self.by_qname[r.qname] = r

    def get(self, qname):
        return self.by_qname.get(qname)

    def lookup(self, group, version, plural):
        with self.lock:
            r = self.by_qname.get(plural + ("." + group if group else ""))
        if r is None or version not in r.versions:
            return None
        return r

    def all(self):
        with self.lock:
            return list(self.by_qname.values())

    # -- CustomResourceDefinitions --------------------------------------

    def add_crd(self, crd):
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        served = [v for v in spec.get("versions", []) if v.get("served", True)]
        if not served:
            self.remove_crd(crd)
            return
        storage = next((v["name"] for v in spec.get("versions", [])
                        if v.get("storage")), served[0]["name"])
        subs = {}
        cols = {}
        for v in served:
            if "status" in (v.get("subresources") or {}):
                subs["status"] = (None, None, STATUS_VERBS)
            cols[v["name"]] = v.get("additionalPrinterColumns")
        r = Res(spec.get("group", ""), storage, names.get("plural", ""),
                names.get("kind", ""), spec.get("scope") == "Namespaced",
                short=names.get("shortNames", []), subs=subs,
                categories=names.get("categories", []),
                singular=names.get("singular") or names.get("kind", "").lower(),
                crd=True, versions=[v["name"] for v in served], columns=cols)
        with self.lock:
            self.by_qname[r.qname] = r
            if r.group not in GROUP_ORDER and r.group not in self.crd_groups:
                self.crd_groups.append(r.group)
        return r

    def remove_crd(self, crd):
        spec = crd.get("spec", {})
        qname = spec.get("names", {}).get("plural", "") + "." + spec.get("group", "")
        with self.lock:
            r = self.by_qname.get(qname)
            if r is not None and r.crd:
                del self.by_qname[qname]
                if not any(x.group == r.group for x in self.by_qname.values()):
                    if r.group in self.crd_groups:
                        self.crd_groups.remove(r.group)

    # -- discovery --------------------------------------------------------

    def groups(self):
        """[(group, [versions, preferred first])] for /apis, in order."""
        with self.lock:
            out = []
            for g in GROUP_ORDER + self.crd_groups:
                vs = []
                for r in self.by_qname.values():
                    if r.group != g:
                        continue
                    for v in r.versions:
                        if v not in vs:
                            vs.append(v)
                if vs:
                    out.append((g, _sort_versions(vs)))
            return out

    def resource_list(self, group, version):
        """The APIResourceList of one group version, or None."""
        items = []
        with self.lock:
            rs = sorted((r for r in self.by_qname.values()
                         if r.group == group and version in r.versions),
                        key=lambda r: r.plural)
        if not rs:
            return None
        for r in rs:
            e = {"name": r.plural, "singularName": r.singular,
                 "namespaced": r.namespaced, "kind": r.kind, "verbs": r.verbs}
            if r.short:
                e["shortNames"] = r.short
            if r.categories:
                e["categories"] = r.categories
            e["storageVersionHash"] = _hash(r.qname)[:12]
            items.append(e)
            for s, (kind, gv, verbs) in sorted(r.subs.items()):
                e = {"name": r.plural + "/" + s, "singularName": "",
                     "namespaced": r.namespaced, "kind": kind or r.kind,
                     "verbs": verbs}
                if gv:
                    g, _, v = gv.rpartition("/")
                    e["group"] = g
                    e["version"] = v
                items.append(e)
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": version if not group else group + "/" + version,
                "resources": items}

    def group_doc(self, g, versions):
        vs = [{"groupVersion": g + "/" + v, "version": v} for v in versions]
        return {"name": g, "versions": vs, "preferredVersion": vs[0]}

    def api_group_list(self):
        return {"kind": "APIGroupList", "apiVersion": "v1",
                "groups": [self.group_doc(g, vs) for g, vs in self.groups()]}

    # -- OpenAPI v3 -------------------------------------------------------

    def openapi_doc(self, group, version):
        rs = [r for r in self.all() if r.group == group and version in r.versions]
        if not rs:
            return None
        base = "/api/v1" if not group else "/apis/%s/%s" % (group, version)
        paths = {}
        params = [{"name": n, "in": "query", "schema": {"type": "string",
                                                        "uniqueItems": True}}
                  for n in ("dryRun", "fieldManager", "fieldValidation",
                            "force")]
        for r in sorted(rs, key=lambda r: r.plural):
            if r.virtual:
                continue
            gvk = {"group": group, "version": version, "kind": r.kind}
            p = base + ("/namespaces/{namespace}" if r.namespaced else "")
            p += "/" + r.plural + "/{name}"
            op = {"operationId": "patch" + r.kind, "parameters": params,
                  "x-kubernetes-action": "patch",
                  "x-kubernetes-group-version-kind": gvk,
                  "responses": {"200": {"description": "OK"}}}
            paths[p] = {"patch": op, "get": {
                "operationId": "read" + r.kind, "x-kubernetes-action": "get",
                "x-kubernetes-group-version-kind": gvk,
                "responses": {"200": {"description": "OK"}}}}
            if r.status:
                st = dict(op, operationId="patch" + r.kind + "Status")
                paths[p + "/status"] = {"patch": st}
        return {"openapi": "3.0.0",
                "info": {"title": "Kubernetes", "version": "v1.32.0"},
                "paths": paths, "components": {"schemas": {}}}

    def openapi_root(self):
        paths = {}
        gvs = [("", "v1")] + [(g, v) for g, vs in self.groups() for v in vs]
        for g, v in gvs:
            key = "api/v1" if not g else "apis/%s/%s" % (g, v)
            doc = self.openapi_doc(g, v)
            h = _hash(json.dumps(doc, sort_keys=True))[:16].upper()
            paths[key] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (key, h)}
        return {"paths": paths}


def _hash(s):
    return hashlib.sha256(s.encode()).hexdigest()


def _version_key(v):
    """Kubernetes version priority: GA > beta > alpha, higher first."""
    import re
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", v)
    if not m:
        return (3, 0, 0, v)
    level = {"alpha": 1, "beta": 2, None: 0}[m.group(2)]
    return (level, -int(m.group(1)), -int(m.group(3) or 0), v)


def _sort_versions(vs):
    return sorted(vs, key=_version_key)


# -- the CustomResourceDefinitions installed at start-up -----------------

def _crd(group, version, plural, kind, scope, short=(), columns=(),
         categories=()):
    cols = [{"name": n, "type": t, "jsonPath": p, **({"priority": pr} if pr else {})}
            for n, t, p, pr in columns]
    cols.append({"name": "Age", "type": "date",
                 "jsonPath": ".metadata.creationTimestamp"})
    names = {"kind": kind, "listKind": kind + "List", "plural": plural,
             "singular": kind.lower()}
    if short:
        names["shortNames"] = list(short)
    if categories:
        names["categories"] = list(categories)
    return {"apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": plural + "." + group},
            "spec": {"group": group, "scope": scope, "names": names,
                     "versions": [{"name": version, "served": True,
                                   "storage": True,
                                   "schema": {"openAPIV3Schema": {
                                       "type": "object",
                                       "x-kubernetes-preserve-unknown-fields": True}},
                                   "subresources": {"status": {}},
                                   "additionalPrinterColumns": cols}]}}


def builtin_crds():
    k = "kueue.x-k8s.io"
    adm = '.status.conditions[?(@.type=="Admitted")].status'
    fin = '.status.conditions[?(@.type=="Finished")].status'
    return [
        _crd("jobset.x-k8s.io", "v1alpha2", "jobsets", "JobSet", "Namespaced",
             columns=[("TerminalState", "string", ".status.terminalState", 0),
                      ("Restarts", "string", ".status.restarts", 0),
                      ("Completed", "string",
                       '.status.conditions[?(@.type=="Completed")].status', 0),
                      ("Suspended", "string", ".spec.suspend", 0)]),
        _crd(k, "v1beta1", "clusterqueues", "ClusterQueue", "Cluster",
             short=["cq"], categories=["kueue"],
             columns=[("Cohort", "string", ".spec.cohort", 0),
                      ("Strategy", "string", ".spec.queueingStrategy", 1),
                      ("Pending Workloads", "integer",
                       ".status.pendingWorkloads", 0),
                      ("Admitted Workloads", "integer",
                       ".status.admittedWorkloads", 1)]),
        _crd(k, "v1beta1", "localqueues", "LocalQueue", "Namespaced",
             short=["queue", "queues", "lq"], categories=["kueue"],
             columns=[("ClusterQueue", "string", ".spec.clusterQueue", 0),
                      ("Pending Workloads", "integer",
                       ".status.pendingWorkloads", 0),
                      ("Admitted Workloads", "integer",
                       ".status.admittedWorkloads", 0)]),
        _crd(k, "v1beta1", "resourceflavors", "ResourceFlavor", "Cluster",
             short=["flavor", "flavors", "rf"], categories=["kueue"]),
        _crd(k, "v1beta1", "workloads", "Workload", "Namespaced",
             short=["wl"], categories=["kueue"],
             columns=[("Queue", "string", ".spec.queueName", 0),
                      ("Reserved in", "string",
                       ".status.admission.clusterQueue", 0),
                      ("Admitted", "string", adm, 0),
                      ("Finished", "string", fin, 0)]),
    ]
