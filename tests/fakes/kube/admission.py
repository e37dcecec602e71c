"""admission.py - what the real API server does to objects on their way in.

on_create/on_update/on_delete run inside the store's lock before a write
is committed: name and label validation (422 Invalid with the real
messages), defaulting (pods, jobs, services, namespaces, secrets,
CustomResourceDefinitions), the ServiceAccount and Priority admission
plugins, and the update rules of a few kinds (pod spec, job template,
roleRef). after() runs after each commit: the namespace's default
ServiceAccount and kube-root-ca.crt ConfigMap, CustomResourceDefinitions
entering or leaving discovery.
"""
import base64
import json
import random
import re

from errors import FieldError, invalid, forbidden, not_found

SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
QNAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LVALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case "
                 "alphanumeric characters, '-' or '.', and must start and end "
                 "with an alphanumeric character (e.g. 'example.com', regex "
                 "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]"
                 "([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case "
             "alphanumeric characters or '-', and must start and end with an "
             "alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
             "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric "
               "characters or '-', start with an alphabetic character, and end "
               "with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
               "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
QNAME_MSG = ("name part must consist of alphanumeric characters, '-', '_' or "
             "'.', and must start and end with an alphanumeric character "
             "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
             "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
LVALUE_MSG = ("a valid label must be an empty string or consist of "
              "alphanumeric characters, '-', '_' or '.', and must start and "
              "end with an alphanumeric character (e.g. 'MyValue',  or "
              "'my_value',  or '12345', regex used for validation is "
              "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")

PATH_SEGMENT_KINDS = {"roles.rbac.authorization.k8s.io",
                      "rolebindings.rbac.authorization.k8s.io",
                      "clusterroles.rbac.authorization.k8s.io",
                      "clusterrolebindings.rbac.authorization.k8s.io"}
PROTECTED_NS = ("default", "kube-system", "kube-public")
ROOT_CA = "kube-root-ca.crt"


def _name_errors(res, name, field="metadata.name"):
    if res.qname in PATH_SEGMENT_KINDS:
        for bad in (".", ".."):
            if name == bad:
                return [FieldError("Invalid", field, name, "may not be '%s'" % bad)]
        for bad in ("/", "%"):
            if bad in name:
                return [FieldError("Invalid", field, name,
                                   "may not contain '%s'" % bad)]
        return []
    if res.qname == "namespaces":
        rx, msg, n = LABEL, LABEL_MSG, 63
    elif res.qname == "services":
        rx, msg, n = DNS1035, DNS1035_MSG, 63
    else:
        rx, msg, n = SUBDOMAIN, SUBDOMAIN_MSG, 253
    errs = []
    if len(name) > n:
        errs.append(FieldError("Invalid", field, name,
                               "must be no more than %d characters" % n))
    if not rx.match(name):
        errs.append(FieldError("Invalid", field, name, msg))
    if res.qname == "jobs.batch" and len(name) > 63 and not errs:
        errs.append(FieldError("Invalid", field, name,
                               "must be no more than 63 characters"))
    return errs


def _qualified_name_errors(key, field):
    prefix, _, name = key.rpartition("/")
    errs = []
    if prefix and (len(prefix) > 253 or not SUBDOMAIN.match(prefix)):
        errs.append(FieldError("Invalid", field, key,
                               "prefix part " + SUBDOMAIN_MSG))
    if not name or len(name) > 63 or not QNAME.match(name):
        errs.append(FieldError("Invalid", field, key,
                               QNAME_MSG if name and len(name) <= 63 else
                               "name part must be no more than 63 characters"
                               if name else "name part must be non-empty"))
    return errs


def meta_errors(res, obj):
    md = obj.get("metadata") or {}
    errs = []
    name = md.get("name")
    if not name:
        errs.append(FieldError("Required", "metadata.name", None,
                               "name or generateName is required"))
    else:
        errs += _name_errors(res, name)
    labels = md.get("labels") or {}
    if not isinstance(labels, dict):
        errs.append(FieldError("Invalid", "metadata.labels", str(labels),
                               "must be a map"))
        labels = {}
    for k, v in labels.items():
        errs += _qualified_name_errors(k, "metadata.labels")
        if not isinstance(v, str):
            errs.append(FieldError("Invalid", "metadata.labels", str(v),
                                   "must be a string"))
        elif len(v) > 63:
            errs.append(FieldError("Invalid", "metadata.labels", v,
                                   "must be no more than 63 characters"))
        elif not LVALUE.match(v):
            errs.append(FieldError("Invalid", "metadata.labels", v, LVALUE_MSG))
    for k, v in (md.get("annotations") or {}).items():
        errs += _qualified_name_errors(k.lower(), "metadata.annotations")
        if not isinstance(v, str):
            errs.append(FieldError("Invalid", "metadata.annotations", str(v),
                                   "must be a string"))
    return errs


def _raise(res, obj, errs):
    if errs:
        raise invalid(res, res.kind, (obj.get("metadata") or {}).get("name")
                      or "", errs)


def check_namespace(store, res, ns, name):
    nsobj = store.objs.get("namespaces", {}).get(("", ns))
    if nsobj is None:
        raise not_found(store.res("namespaces"), ns)
    if nsobj["metadata"].get("deletionTimestamp"):
        e = forbidden(res, name, "unable to create new content in namespace "
                      "%s because it is being terminated" % ns)
        e.details["causes"] = [{"reason": "NamespaceTerminating",
                                "message": "namespace %s is being terminated"
                                % ns, "field": "metadata.namespace"}]
        raise e


# -- create ---------------------------------------------------------------

def on_create(store, res, obj, user, api):
    _raise(res, obj, meta_errors(res, obj))
    if api and res.status and res.qname not in ("nodes", "persistentvolumes"):
        obj.pop("status", None)
    f = _CREATE.get(res.qname)
    if f is not None:
        f(store, res, obj, api)


def _rand5():
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))


def _container_defaults(c):
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    image = c.get("image") or ""
    tagged = "@" in image or ":" in image.rsplit("/", 1)[-1]
    latest = image.endswith(":latest")
    c.setdefault("imagePullPolicy", "Always" if latest or not tagged else
                 "IfNotPresent")
    r = c.setdefault("resources", {})
    if isinstance(r, dict) and r.get("limits"):
        req = r.setdefault("requests", {})
        for k, v in r["limits"].items():
            req.setdefault(k, v)
    for p in c.get("ports") or []:
        p.setdefault("protocol", "TCP")


def pod_spec_defaults(spec):
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if isinstance(c, dict):
            _container_defaults(c)


def _container_errors(spec, path):
    errs = []
    cs = spec.get("containers")
    if not cs:
        return [FieldError("Required", path + ".containers")]
    for kind in ("initContainers", "containers"):
        seen = set()
        for i, c in enumerate(spec.get(kind) or []):
            p = "%s.%s[%d]" % (path, kind, i)
            n = c.get("name") if isinstance(c, dict) else None
            if not n:
                errs.append(FieldError("Required", p + ".name"))
            elif not LABEL.match(n) or len(n) > 63:
                errs.append(FieldError("Invalid", p + ".name", n, LABEL_MSG))
            elif n in seen:
                errs.append(FieldError("Duplicate", p + ".name", n))
            if n:
                seen.add(n)
            if isinstance(c, dict) and not c.get("image"):
                errs.append(FieldError("Required", p + ".image"))
    return errs


def _qos(spec):
    cs = spec.get("containers") or []
    any_set = False
    guaranteed = True
    for c in cs:
        r = c.get("resources") or {}
        req, lim = r.get("requests") or {}, r.get("limits") or {}
        if req or lim:
            any_set = True
        for k in ("cpu", "memory"):
            if k not in lim or req.get(k, lim.get(k)) != lim.get(k):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _pod_create(store, res, obj, api):
    spec = obj.setdefault("spec", {})
    md = obj["metadata"]
    errs = _container_errors(spec, "spec")
    rp = spec.get("restartPolicy")
    if rp is not None and rp not in ("Always", "OnFailure", "Never"):
        errs.append(FieldError("NotSupported", "spec.restartPolicy", rp,
                               supported=["Always", "OnFailure", "Never"]))
    _raise(res, obj, errs)
    pod_spec_defaults(spec)
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    tol = spec.setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == key for t in tol):
            tol.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                        "tolerationSeconds": 300})
    # Priority admission.
    pcn = spec.get("priorityClassName")
    if pcn:
        pc = store.objs.get("priorityclasses.scheduling.k8s.io", {}).get(("", pcn))
        if pc is None:
            raise forbidden(res, md.get("name"), "no PriorityClass with name "
                            "%s was found" % pcn)
        spec["priority"] = pc.get("value", 0)
        if pc.get("preemptionPolicy"):
            spec["preemptionPolicy"] = pc["preemptionPolicy"]
    else:
        spec.setdefault("priority", 0)
    # ServiceAccount admission.
    sa_name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = spec["serviceAccount"] = sa_name
    ns = md["namespace"]
    sa = store.objs.get("serviceaccounts", {}).get((ns, sa_name))
    if sa is None:
        raise forbidden(res, md.get("name"), "error looking up service account "
                        "%s/%s: serviceaccount \"%s\" not found"
                        % (ns, sa_name, sa_name))
    mount = spec.get("automountServiceAccountToken")
    if mount is None:
        mount = sa.get("automountServiceAccountToken", True)
    if mount and not any(
            m.get("mountPath") == "/var/run/secrets/kubernetes.io/serviceaccount"
            for c in spec["containers"] for m in c.get("volumeMounts") or []):
        vname = "kube-api-access-" + _rand5()
        spec.setdefault("volumes", []).append({"name": vname, "projected": {
            "defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607,
                                         "path": "token"}},
                {"configMap": {"name": ROOT_CA, "items": [
                    {"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"fieldRef": {
                    "apiVersion": "v1", "fieldPath": "metadata.namespace"},
                    "path": "namespace"}]}}]}})
        for c in (spec.get("initContainers") or []) + spec["containers"]:
            c.setdefault("volumeMounts", []).append({
                "name": vname, "readOnly": True,
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"})
    st = obj.setdefault("status", {})
    st.setdefault("phase", "Pending")
    st.setdefault("qosClass", _qos(spec))


def _job_create(store, res, obj, api):
    spec = obj.setdefault("spec", {})
    md = obj["metadata"]
    tmpl = spec.setdefault("template", {})
    pspec = tmpl.setdefault("spec", {})
    errs = _container_errors(pspec, "spec.template.spec")
    rp = pspec.get("restartPolicy")
    if rp is None:
        errs.append(FieldError("Required", "spec.template.spec.restartPolicy",
                               None, 'valid values: "OnFailure", "Never"'))
    elif rp not in ("OnFailure", "Never"):
        errs.append(FieldError("NotSupported", "spec.template.spec.restartPolicy",
                               rp, supported=["OnFailure", "Never"]))
    tl = tmpl.setdefault("metadata", {}).setdefault("labels", {})
    if spec.get("manualSelector"):
        sel = (spec.get("selector") or {}).get("matchLabels")
        if not spec.get("selector"):
            errs.append(FieldError("Required", "spec.selector"))
        elif sel and any(tl.get(k) != v for k, v in sel.items()):
            errs.append(FieldError("Invalid", "spec.template.metadata.labels",
                                   json.dumps(tl),
                                   "`selector` does not match template `labels`"))
    elif spec.get("selector"):
        errs.append(FieldError("Invalid", "spec.selector",
                               json.dumps(spec["selector"]),
                               "`selector` will be auto-generated"))
    _raise(res, obj, errs)
    uid, name = md["uid"], md["name"]
    if not spec.get("manualSelector"):
        spec["selector"] = {"matchLabels": {
            "batch.kubernetes.io/controller-uid": uid}}
        tl.update({"batch.kubernetes.io/controller-uid": uid,
                   "batch.kubernetes.io/job-name": name,
                   "controller-uid": uid, "job-name": name})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    if spec.get("backoffLimitPerIndex") is None:
        spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    if not spec.get("podFailurePolicy"):
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    pod_spec_defaults(pspec)
    if api:
        obj["status"] = {}


def _namespace_create(store, res, obj, api):
    md = obj["metadata"]
    md.setdefault("labels", {})["kubernetes.io/metadata.name"] = md["name"]
    obj["spec"] = {"finalizers": ["kubernetes"]}
    obj["status"] = {"phase": "Active"}


def _secret_create(store, res, obj, api):
    obj.setdefault("type", "Opaque")
    sd = obj.pop("stringData", None)
    if sd:
        data = obj.setdefault("data", {})
        for k, v in sd.items():
            data[k] = base64.b64encode(str(v).encode()).decode()


_next_ip = [1]


def _service_create(store, res, obj, api):
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    if spec.get("type") != "ExternalName" and not spec.get("clusterIP"):
        _next_ip[0] += 1
        n = _next_ip[0]
        spec["clusterIP"] = "10.96.%d.%d" % (n // 250, n % 250 + 1)
    if spec.get("clusterIP") and spec["clusterIP"] != "None":
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    for p in spec.get("ports") or []:
        p.setdefault("protocol", "TCP")
        p.setdefault("targetPort", p.get("port"))
    obj["status"] = obj.get("status") if not api else {"loadBalancer": {}}


def _pvc_create(store, res, obj, api):
    obj.setdefault("status", {}).setdefault("phase", "Pending")


def _crd_create(store, res, obj, api):
    spec = obj.setdefault("spec", {})
    names = spec.setdefault("names", {})
    errs = []
    for f in ("plural", "kind"):
        if not names.get(f):
            errs.append(FieldError("Required", "spec.names." + f))
    if not spec.get("group"):
        errs.append(FieldError("Required", "spec.group"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        errs.append(FieldError("NotSupported", "spec.scope", spec.get("scope"),
                               supported=["Cluster", "Namespaced"]))
    vs = spec.get("versions") or []
    if not vs:
        errs.append(FieldError("Required", "spec.versions",
                               None, "must have exactly one version marked as storage version"))
    elif sum(1 for v in vs if v.get("storage")) != 1:
        errs.append(FieldError("Invalid", "spec.versions", None,
                               "must have exactly one version marked as storage version"))
    want = "%s.%s" % (names.get("plural"), spec.get("group"))
    if not errs and obj["metadata"]["name"] != want:
        errs.append(FieldError("Invalid", "metadata.name",
                               obj["metadata"]["name"],
                               'must be spec.names.plural+"."+spec.group'))
    _raise(res, obj, errs)
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", names["kind"] + "List")
    _crd_status(store, obj)


def _crd_status(store, obj):
    spec = obj["spec"]
    now = store.now()
    old = obj.get("status") or {}
    stored = list(old.get("storedVersions") or [])
    for v in spec.get("versions") or []:
        if v.get("storage") and v["name"] not in stored:
            stored.append(v["name"])
    conds = old.get("conditions") or [
        {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
         "message": "no conflicts found", "lastTransitionTime": now},
        {"type": "Established", "status": "True",
         "reason": "InitialNamesAccepted",
         "message": "the initial names have been accepted",
         "lastTransitionTime": now}]
    obj["status"] = {"acceptedNames": dict(spec["names"]),
                     "conditions": conds, "storedVersions": stored}


_CREATE = {
    "pods": _pod_create,
    "jobs.batch": _job_create,
    "namespaces": _namespace_create,
    "secrets": _secret_create,
    "services": _service_create,
    "persistentvolumeclaims": _pvc_create,
    "customresourcedefinitions.apiextensions.k8s.io": _crd_create,
}


# -- update -----------------------------------------------------------------

POD_MUTABLE_MSG = ("pod updates may not change fields other than "
                   "`spec.containers[*].image`,`spec.initContainers[*].image`,"
                   "`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
                   "additions to existing tolerations),"
                   "`spec.terminationGracePeriodSeconds` (allow it to be set "
                   "to 1 if it was previously negative)")


def on_update(store, res, new, old, api, subresource, user):
    if subresource != "status":
        _raise(res, new, meta_errors(res, new))
    if res.qname == "namespaces":
        new["metadata"].setdefault("labels", {})[
            "kubernetes.io/metadata.name"] = new["metadata"]["name"]
        if subresource != "finalize":
            new["spec"] = old.get("spec", {})
    if res.qname == "secrets":
        _secret_create(store, res, new, False)
    if res.qname == "customresourcedefinitions.apiextensions.k8s.io" and \
            subresource != "status":
        _crd_create(store, res, new, api)
    if not api or subresource == "status":
        return
    name = old["metadata"]["name"]
    if res.qname == "pods":
        a, b = old.get("spec") or {}, json.loads(json.dumps(new.get("spec") or {}))
        for kind in ("containers", "initContainers"):
            for i, c in enumerate(b.get(kind) or []):
                oc = (a.get(kind) or [])
                if i < len(oc) and isinstance(c, dict):
                    c["image"] = oc[i].get("image")
        for f in ("activeDeadlineSeconds", "tolerations", "schedulingGates",
                  "terminationGracePeriodSeconds"):
            if f in a:
                b[f] = a[f]
            else:
                b.pop(f, None)
        if a != b:
            raise invalid(res, "Pod", name, [FieldError(
                "Forbidden", "spec", None, POD_MUTABLE_MSG)])
    elif res.qname == "jobs.batch":
        a, b = old.get("spec") or {}, new.get("spec") or {}
        errs = []
        if a.get("selector") != b.get("selector"):
            errs.append(FieldError("Invalid", "spec.selector",
                                   json.dumps(b.get("selector")),
                                   "field is immutable"))
        if a.get("template") != b.get("template") and not (
                a.get("suspend") and not (old.get("status") or {}).get("startTime")):
            errs.append(FieldError("Invalid", "spec.template",
                                   json.dumps(b.get("template")),
                                   "field is immutable"))
        if a.get("completions") != b.get("completions") and \
                a.get("completionMode") != "Indexed":
            errs.append(FieldError("Invalid", "spec.completions",
                                   b.get("completions"), "field is immutable"))
        _raise(res, new, errs)
    elif res.qname in ("rolebindings.rbac.authorization.k8s.io",
                       "clusterrolebindings.rbac.authorization.k8s.io"):
        if old.get("roleRef") != new.get("roleRef"):
            raise invalid(res, res.kind, name, [FieldError(
                "Invalid", "roleRef", json.dumps(new.get("roleRef")),
                "cannot change roleRef")])
    elif res.qname == "services":
        spec = new.setdefault("spec", {})
        ospec = old.get("spec") or {}
        for f in ("clusterIP", "clusterIPs", "ipFamilies"):
            if f not in spec and f in ospec:
                spec[f] = ospec[f]


# -- delete -----------------------------------------------------------------

def on_delete(store, res, cur, user):
    if res.qname == "namespaces" and cur["metadata"]["name"] in PROTECTED_NS:
        raise forbidden(res, cur["metadata"]["name"],
                        "this namespace may not be deleted")


# -- after a commit -----------------------------------------------------------

def after(store, etype, res, obj, prev):
    if res.qname == "namespaces" and etype == "ADDED":
        ns = obj["metadata"]["name"]
        store.create("serviceaccounts", {"apiVersion": "v1",
                                         "kind": "ServiceAccount",
                                         "metadata": {"name": "default",
                                                      "namespace": ns}})
        store.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": ROOT_CA, "namespace": ns,
                                                 "annotations": {
                                                     "kubernetes.io/description":
                                                     "Contains a CA bundle that "
                                                     "can be used to verify the "
                                                     "kube-apiserver when using "
                                                     "internal endpoints such as "
                                                     "the internal service IP or "
                                                     "kubernetes.default.svc. No "
                                                     "other usage is guaranteed "
                                                     "across distributions of "
                                                     "Kubernetes clusters."}},
                                    "data": {"ca.crt": store.settings.ca_pem}})
    elif res.qname == "customresourcedefinitions.apiextensions.k8s.io":
        if etype == "DELETED":
            r = store.registry.get(obj["spec"]["names"]["plural"] + "." +
                                   obj["spec"]["group"])
            if r is not None and r.crd:
                for o in store.raw_list(r):
                    store.remove(r, o)
            store.registry.remove_crd(obj)
        else:
            store.registry.add_crd(obj)
