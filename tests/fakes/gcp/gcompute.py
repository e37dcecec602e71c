"""gcompute.py - Compute Engine v1: instance templates, groups, images, ops.

Under /compute/v1/projects/P/ (SCOPE is global, regions/R or zones/Z):
  global/instanceTemplates, regions/R/instanceTemplates
      GET (list, maxResults/pageToken), GET NAME, POST (insert, requestId
      makes retries return the same operation; 409 alreadyExists), DELETE
      NAME (400 resourceInUseByAnotherResource while a group uses it)
  aggregated/instanceTemplates, aggregated/instanceGroupManagers
  zones/Z/instanceGroupManagers, regions/R/instanceGroupManagers
      GET (list), GET NAME, POST NAME/setInstanceTemplate, PATCH NAME
      (instanceTemplate, versions, targetSize, updatePolicy: what gcloud's
      set-instance-template sends)
  zones/Z/instanceGroups, regions/R/instanceGroups GET (list), GET NAME:
      the groups the managers manage
  zones/Z/autoscalers, regions/R/autoscalers GET (list: none)
  global/images GET (list), GET NAME, GET family/F (getFromFamily: the
      newest image of the family that is not deprecated)
  SCOPE/operations GET (list), GET OP, POST OP/wait (returns when DONE or
      after timing.waitTimeout seconds, like the real 2-minute wait)
Changes are Operations: PENDING, RUNNING after half of timing.operation
seconds, DONE after it, when the change applies; a change that fails then
(a template whose boot disk's sourceImage names a missing image of a
project the fake knows) ends with error.errors[] and httpErrorStatusCode.
selfLinks are built from the request's host (http://HOST/compute/v1/...)
or, when the seed sets compute.selfLinkBase, from that (for example
https://www.googleapis.com/compute/v1, to test link rewriting). References
given to the API (templates, images) may be names, partial paths or URLs
on any host.
"""
import random
import re
import time

from gerr import GError, Resp, page, rfc3339

NAME_RE = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


def init(state):
    state.templates = {}       # (project, scope, name) -> resource
    state.igms = {}
    state.images = {}          # (project, name) -> resource
    state.ops = {}             # (project, scope, name) -> operation
    state.op_run = {}          # key -> {"at", "apply"}
    state.request_ids = {}


def _id():
    return str(random.randint(10 ** 17, 10 ** 19 - 1))


def _now():
    return rfc3339(time.time())


def base(req_or_none, st):
    if st.self_link_base:
        return st.self_link_base.rstrip("/")
    if req_or_none is not None and req_or_none.api == "compute":
        return req_or_none.base + "/compute/v1"
    return st.url("compute") + "/compute/v1"


def path_of(ref):
    """"projects/..." from a name-free reference (URL or partial path)."""
    i = ref.find("projects/")
    return ref[i:].rstrip("/") if i >= 0 else ref


def _render(req, st, res):
    out = dict(res)
    b = base(req, st)
    for k in ("selfLink", "zone", "region", "instanceTemplate",
              "instanceGroup", "targetLink"):
        if isinstance(out.get(k), str) and out[k].startswith("projects/"):
            out[k] = b + "/" + out[k]
    if "versions" in out:
        out["versions"] = [dict(v, instanceTemplate=b + "/" + path_of(
            v["instanceTemplate"])) for v in out["versions"]]
    return out


def add_template(st, project, scope, name, properties, description=""):
    t = {"kind": "compute#instanceTemplate", "id": _id(),
         "creationTimestamp": _now(), "name": name,
         "description": description, "properties": properties,
         "selfLink": "projects/%s/%s/instanceTemplates/%s"
         % (project, scope, name)}
    if scope != "global":
        t["region"] = "projects/%s/%s" % (project, scope)
    st.templates[(project, scope, name)] = t
    return t


def add_igm(st, project, scope, name, template, size=1, versions=None):
    """VERSIONS ([{name, instanceTemplate}]): a manager whose
    instanceTemplate is empty and whose templates are in versions[]."""
    tpath = path_of(template) if template else ""
    g = {"kind": "compute#instanceGroupManager", "id": _id(),
         "creationTimestamp": _now(), "name": name,
         "baseInstanceName": name[:-4] if name.endswith("-grp") else name,
         "instanceTemplate": tpath,
         "versions": [dict(v, instanceTemplate=path_of(v["instanceTemplate"]))
                      for v in versions] if versions else
         [{"instanceTemplate": tpath}],
         "instanceGroup": "projects/%s/%s/instanceGroups/%s"
         % (project, scope, name),
         "targetSize": size, "fingerprint": "ZmFrZQ==",
         "currentActions": {k: 0 for k in (
             "abandoning", "creating", "creatingWithoutRetries", "deleting",
             "recreating", "refreshing", "restarting", "resuming",
             "starting", "stopping", "suspending", "verifying")},
         "status": {"isStable": True, "versionTarget": {"isReached": True}},
         "updatePolicy": {"type": "OPPORTUNISTIC", "minimalAction": "REPLACE",
                          "maxSurge": {"fixed": 1},
                          "maxUnavailable": {"fixed": 0},
                          "replacementMethod": "SUBSTITUTE"},
         "selfLink": "projects/%s/%s/instanceGroupManagers/%s"
         % (project, scope, name)}
    g["zone" if scope.startswith("zones/") else "region"] = \
        "projects/%s/%s" % (project, scope)
    st.igms[(project, scope, name)] = g
    return g


def add_image(st, project, img):
    i = dict(img)
    i.setdefault("kind", "compute#image")
    i.setdefault("id", _id())
    i.setdefault("creationTimestamp", _now())
    i.setdefault("status", "READY")
    i.setdefault("sourceType", "RAW")
    i.setdefault("diskSizeGb", "100")
    i["selfLink"] = "projects/%s/global/images/%s" % (project, i["name"])
    st.images[(project, i["name"])] = i
    return i


def _key(path):
    """(project, scope, collection, name) of a partial path."""
    p = path_of(path).split("/")
    if len(p) >= 4 and p[2] == "global":
        return p[1], "global", p[3], "/".join(p[4:])
    if len(p) >= 5 and p[2] in ("regions", "zones"):
        return p[1], p[2] + "/" + p[3], p[4], "/".join(p[5:])
    return None


def find_image(st, ref):
    k = _key(ref)
    if not k or k[2] != "images":
        return None
    if k[3].startswith("family/"):
        fam = k[3][7:]
        cand = [i for (p, _), i in st.images.items() if p == k[0] and
                i.get("family") == fam and (i.get("deprecated") or {}).get(
                    "state", "ACTIVE") == "ACTIVE"]
        cand.sort(key=lambda i: i["creationTimestamp"])
        return cand[-1] if cand else None
    return st.images.get((k[0], k[3]))


def template_users(st, tpath):
    return ["projects/%s/%s/instanceGroupManagers/%s" % k
            for k, g in sorted(st.igms.items())
            if tpath in [g["instanceTemplate"]] +
            [path_of(v["instanceTemplate"]) for v in g.get("versions", [])]]


def operation(st, project, scope, kind, target, apply, request_id=None):
    """A new PENDING operation that runs APPLY() when it is DONE."""
    if request_id:
        k = st.request_ids.get((project, request_id))
        if k:
            return st.ops[k]
    name = "operation-%d-%s" % (int(time.time() * 1000),
                                "%012x" % random.getrandbits(48))
    op = {"kind": "compute#operation", "id": _id(), "name": name,
          "operationType": kind, "targetLink": target,
          "targetId": _id(), "status": "PENDING", "user": "wlkit@fake",
          "progress": 0, "insertTime": _now(),
          "selfLink": "projects/%s/%s/operations/%s" % (project, scope, name)}
    if scope != "global":
        op["zone" if scope.startswith("zones/") else "region"] = \
            "projects/%s/%s" % (project, scope)
    key = (project, scope, name)
    st.ops[key] = op
    st.op_run[key] = {"at": time.time(), "apply": apply}
    if request_id:
        st.request_ids[(project, request_id)] = key
    return op


def tick(st, now):
    d = float(st.timing["operation"])
    for key, op in st.ops.items():
        if op["status"] == "DONE":
            continue
        run = st.op_run[key]
        if op["status"] == "PENDING" and now >= run["at"] + d / 2:
            op["status"] = "RUNNING"
            op["startTime"] = _now()
        if op["status"] == "RUNNING" and now >= run["at"] + d:
            try:
                run["apply"]()
            except GError as e:
                op["error"] = {"errors": [{"code": e.reason.upper()
                                           if e.reason != "notFound" else
                                           "RESOURCE_NOT_FOUND",
                                           "message": e.message}]}
                op["httpErrorStatusCode"] = e.code
                op["httpErrorMessage"] = e.status.replace("_", " ")
            op["status"] = "DONE"
            op["progress"] = 100
            op["endTime"] = _now()


def _list(req, st, kind, items, coll_path):
    items = [_render(req, st, i) for i in items]
    chunk, nxt = page(items, req.q)
    out = {"kind": kind, "id": coll_path, "items": chunk,
           "selfLink": base(req, st) + "/" + coll_path}
    if nxt:
        out["nextPageToken"] = nxt
    return Resp(200, out)


def _get(d, key, path):
    r = d.get(key)
    if r is None:
        raise GError(404, "The resource '%s' was not found" % path,
                     "notFound")
    return r


def _insert_template(req, st, project, scope):
    body = req.json()
    name = body.get("name") or ""
    if not NAME_RE.match(name):
        raise GError(400, "Invalid value for field 'resource.name': '%s'. "
                     "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}"
                     "[a-z0-9])?)'" % name, "invalid")
    if not isinstance(body.get("properties"), dict):
        raise GError(400, "Invalid value for field 'resource.properties': "
                     "''. Instance template properties are required.",
                     "invalid")
    path = "projects/%s/%s/instanceTemplates/%s" % (project, scope, name)
    rid = req.q.get("requestId")
    if rid and (project, rid) in st.request_ids:
        return Resp(200, _render(req, st, st.ops[st.request_ids[
            (project, rid)]]))
    pending = [o for o in st.ops.values() if o["status"] != "DONE" and
               o["operationType"] == "insert" and o["targetLink"] == path]
    if (project, scope, name) in st.templates or pending:
        raise GError(409, "The resource '%s' already exists" % path,
                     "alreadyExists")

    def apply():
        for d in body["properties"].get("disks") or []:
            src = (d.get("initializeParams") or {}).get("sourceImage")
            k = _key(src) if src else None
            if k and any(p == k[0] for p, _ in st.images) and \
                    find_image(st, src) is None:
                raise GError(404, "The resource '%s' was not found"
                             % path_of(src), "notFound")
        add_template(st, project, scope, name, body["properties"],
                     body.get("description", ""))
    op = operation(st, project, scope, "insert", path, apply, rid)
    return Resp(200, _render(req, st, op))


def _templates(req, st, project, scope, rest):
    coll = "projects/%s/%s/instanceTemplates" % (project, scope)
    m = req.method
    if not rest:
        if m == "GET":
            items = [t for (p, s, _), t in sorted(st.templates.items())
                     if p == project and s == scope]
            return _list(req, st, "compute#instanceTemplateList", items, coll)
        if m == "POST":
            return _insert_template(req, st, project, scope)
        return None
    path = coll + "/" + rest
    key = (project, scope, rest)
    if m == "GET":
        return Resp(200, _render(req, st, _get(st.templates, key, path)))
    if m == "DELETE":
        _get(st.templates, key, path)
        users = template_users(st, path)
        if users:
            raise GError(400, "The instance_template resource '%s' is already "
                         "being used by '%s'" % (path, users[0]),
                         "resourceInUseByAnotherResource")
        op = operation(st, project, scope, "delete", path,
                       lambda: st.templates.pop(key, None),
                       req.q.get("requestId"))
        return Resp(200, _render(req, st, op))
    return None


def _igms(req, st, project, scope, rest):
    coll = "projects/%s/%s/instanceGroupManagers" % (project, scope)
    if not rest:
        if req.method == "GET":
            items = [g for (p, s, _), g in sorted(st.igms.items())
                     if p == project and s == scope]
            return _list(req, st, "compute#instanceGroupManagerList", items,
                         coll)
        return None
    name, _, verb = rest.partition("/")
    key = (project, scope, name)
    g = _get(st.igms, key, coll + "/" + name)
    if not verb and req.method == "GET":
        return Resp(200, _render(req, st, g))
    if verb == "setInstanceTemplate" and req.method == "POST":
        tpath = _template_ref(st, req.json().get("instanceTemplate") or "",
                              "resource.instanceTemplate")

        def apply():
            g["instanceTemplate"] = tpath
            g["versions"] = [{"name": "0-" + tpath.split("/")[-1],
                              "instanceTemplate": tpath}]
        op = operation(st, project, scope,
                       "compute.instanceGroupManagers.setInstanceTemplate",
                       g["selfLink"], apply, req.q.get("requestId"))
        return Resp(200, _render(req, st, op))
    if not verb and req.method == "PATCH":
        body = req.json()
        change = {}
        if "instanceTemplate" in body:
            change["instanceTemplate"] = _template_ref(
                st, body["instanceTemplate"], "resource.instanceTemplate")
        if "versions" in body:
            change["versions"] = [dict(v, instanceTemplate=_template_ref(
                st, v.get("instanceTemplate") or "",
                "resource.versions[%d].instanceTemplate" % i))
                for i, v in enumerate(body["versions"] or [])]
        for k in ("targetSize", "updatePolicy", "description"):
            if k in body:
                change[k] = body[k]
        op = operation(st, project, scope, "compute.instanceGroupManagers.patch",
                       g["selfLink"], lambda: g.update(change),
                       req.q.get("requestId"))
        return Resp(200, _render(req, st, op))
    return None


def _group(igm):
    """The instance group a manager manages."""
    g = {"kind": "compute#instanceGroup", "id": igm["id"],
         "creationTimestamp": igm["creationTimestamp"], "name": igm["name"],
         "size": igm["targetSize"], "fingerprint": "ZmFrZQ==",
         "selfLink": igm["instanceGroup"]}
    for k in ("zone", "region"):
        if k in igm:
            g[k] = igm[k]
    return g


def _template_ref(st, ref, field):
    """The path of the existing template REF names (400/404 otherwise)."""
    t = _key(ref) if ref else None
    if not t or t[2] != "instanceTemplates":
        raise GError(400, "Invalid value for field '%s': '%s'. The URL is "
                     "malformed." % (field, ref), "invalid")
    _get(st.templates, (t[0], t[1], t[3]), path_of(ref))
    return path_of(ref)


def _aggregated(req, st, project, what):
    src = st.templates if what == "instanceTemplates" else st.igms
    items = {}
    for (p, s, _), r in sorted(src.items()):
        if p == project:
            items.setdefault(s, {what: []})[what].append(_render(req, st, r))
    kind = "compute#instanceTemplateAggregatedList" if \
        what == "instanceTemplates" else \
        "compute#instanceGroupManagerAggregatedList"
    return Resp(200, {"kind": kind, "id": "projects/%s/aggregated/%s"
                      % (project, what), "items": items,
                      "selfLink": base(req, st) + "/projects/%s/aggregated/%s"
                      % (project, what)})


def _operations(req, st, project, scope, rest):
    if not rest and req.method == "GET":
        items = [o for (p, s, _), o in sorted(st.ops.items())
                 if p == project and s == scope]
        return _list(req, st, "compute#operationList", items,
                     "projects/%s/%s/operations" % (project, scope))
    name, _, verb = rest.partition("/")
    key = (project, scope, name)
    op = _get(st.ops, key, "projects/%s/%s/operations/%s"
              % (project, scope, name))
    if not verb and req.method == "GET":
        return Resp(200, _render(req, st, op))
    if verb == "wait" and req.method == "POST":
        end = time.time() + float(st.timing["waitTimeout"])
        while op["status"] != "DONE" and time.time() < end:
            st.cond.wait(max(0.01, end - time.time()))
        return Resp(200, _render(req, st, op))
    if not verb and req.method == "DELETE":
        del st.ops[key]
        return Resp(204, body=b"")
    return None


def route(req):
    st = req.state
    with st.lock:
        return _route(req, st)


def _route(req, st):
    pre = "/compute/v1/"
    if not req.path.startswith(pre + "projects/"):
        return None
    p = req.path[len(pre):].rstrip("/").split("/")
    project = p[1] if len(p) > 1 else ""
    st.check_project(project)
    if len(p) >= 4 and p[2] == "global":
        scope, coll, rest = "global", p[3], "/".join(p[4:])
    elif len(p) >= 5 and p[2] in ("zones", "regions"):
        scope, coll, rest = p[2] + "/" + p[3], p[4], "/".join(p[5:])
    elif len(p) == 4 and p[2] == "aggregated" and req.method == "GET" and \
            p[3] in ("instanceTemplates", "instanceGroupManagers"):
        return _aggregated(req, st, project, p[3])
    else:
        return None
    if coll == "operations":
        return _operations(req, st, project, scope, rest)
    if coll == "instanceTemplates" and not scope.startswith("zones/"):
        return _templates(req, st, project, scope, rest)
    if coll == "instanceGroupManagers" and scope != "global":
        return _igms(req, st, project, scope, rest)
    if coll == "instanceGroups" and scope != "global" and \
            req.method == "GET":
        groups = [_group(g) for (p, sc, _), g in sorted(st.igms.items())
                  if p == project and sc == scope]
        coll_path = "projects/%s/%s/instanceGroups" % (project, scope)
        if not rest:
            return _list(req, st, "compute#instanceGroupList", groups,
                         coll_path)
        g = next((g for g in groups if g["name"] == rest), None)
        return Resp(200, _render(req, st, _get({rest: g} if g else {}, rest,
                                               coll_path + "/" + rest)))
    if coll == "autoscalers" and scope != "global" and not rest and \
            req.method == "GET":
        return Resp(200, {"kind": "compute#autoscalerList",
                          "id": "projects/%s/%s/autoscalers" % (project, scope),
                          "selfLink": base(req, st) + "/projects/%s/%s/"
                          "autoscalers" % (project, scope)})
    if coll == "images" and scope == "global" and req.method == "GET":
        coll_path = "projects/%s/global/images" % project
        if not rest:
            items = [i for (pp, _), i in sorted(st.images.items())
                     if pp == project]
            return _list(req, st, "compute#imageList", items, coll_path)
        i = find_image(st, coll_path + "/" + rest)
        if i is None:
            raise GError(404, "The resource '%s/%s' was not found"
                         % (coll_path, rest), "notFound")
        return Resp(200, _render(req, st, i))
    return None
