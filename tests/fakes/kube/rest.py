"""rest.py - the resource endpoints: /api/v1/... and /apis/G/V/...

handle(ctx, group, version, parts) parses the rest of the path (namespace,
resource, name, subresource, the legacy /watch/ prefix), authorizes the
request with RBAC, and serves get, list (limit/continue, selectors, Table
and PartialObjectMetadata renderings), watch, create, update, patch (merge,
strategic merge, JSON patch, server-side apply), delete and
deletecollection, and the subresources: status, pods/log, pods/binding,
pods/eviction, serviceaccounts/token, namespaces/finalize; and the
create-only review kinds (TokenReview, SubjectAccessReview, ...).
ctx is the connection handler of apiserver.py (see Handler there).
"""
import json
import time

import apply as ssa
import logs
import rbac
import tables
import watch
import yamlmini
from errors import ApiError, no_route, not_found, bad_request, conflict, \
    STALE, invalid, FieldError
from patch import merge_patch, strategic_merge, json_patch
from selection import parse_labels, parse_fields

VERB = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
        "DELETE": "delete"}
WARN_ANNOTATION = "wlkit.dev/fake-warning"


def _truthy(v):
    return v in ("1", "true", "True")


def parse(ctx, group, version, parts):
    """(res, ns, name, sub, watch_path) or raises 404."""
    reg = ctx.server.registry
    watch_path = False
    if parts and parts[0] == "watch":
        watch_path = True
        parts = parts[1:]
    ns = None
    if len(parts) >= 3 and parts[0] == "namespaces":
        r = reg.lookup(group, version, parts[2])
        if r is not None and r.namespaced:
            ns = parts[1]
            parts = parts[2:]
    if not parts or len(parts) > 3:
        raise no_route()
    res = reg.lookup(group, version, parts[0])
    if res is None:
        raise no_route()
    name = parts[1] if len(parts) > 1 else None
    sub = parts[2] if len(parts) > 2 else None
    if sub is not None and sub not in res.subs:
        raise no_route()
    if ns is not None and not res.namespaced:
        raise no_route()
    if res.namespaced and ns is None and (name is not None or
                                          ctx.command not in ("GET", "DELETE")):
        if not res.virtual:
            raise no_route()
    return res, ns, name, sub, watch_path


def handle(ctx, group, version, parts):
    res, ns, name, sub, watch_path = parse(ctx, group, version, parts)
    q = ctx.query
    method = ctx.command
    is_watch = method == "GET" and (watch_path or _truthy(q.get("watch", "")))
    verb = VERB.get(method)
    if method == "GET" and name is None:
        verb = "watch" if is_watch else "list"
    elif method == "GET" and is_watch:
        verb = "watch"
    elif method == "DELETE" and name is None:
        verb = "deletecollection"
    if verb is None:
        raise ApiError(405, "MethodNotAllowed",
                       "the server does not allow this method on the "
                       "requested resource")
    allowed = res.subs[sub][2] if sub else res.verbs
    if verb not in allowed and not (verb == "watch" and "watch" in res.verbs):
        raise ApiError(405, "MethodNotAllowed",
                       "the server does not allow this method on the "
                       "requested resource")
    ctx.authorize_resource(verb, res, ns, name, sub)
    if res.virtual:
        return _review(ctx, res, ns, version)
    if is_watch:
        return watch.serve(ctx, res, version, ns, name)
    if method == "GET":
        if sub == "log":
            return logs.proxy(ctx, _must_get(ctx, res, ns, name))
        if name is None:
            return _list(ctx, res, version, ns)
        return ctx.reply(200, _render(ctx, res, version, _must_get(ctx, res, ns, name)))
    if method == "POST":
        if sub == "token":
            return _token_request(ctx, ns, name)
        if sub == "binding":
            return _bind(ctx, ns, name, ctx.json_body())
        if sub == "eviction":
            return _evict(ctx, res, ns, name)
        return _create(ctx, res, version, ns)
    if method == "PUT":
        return _update(ctx, res, version, ns, name, sub)
    if method == "PATCH":
        return _patch(ctx, res, version, ns, name, sub)
    if name is None:
        return _delete_collection(ctx, res, version, ns)
    return _delete(ctx, res, version, ns, name)


# -- helpers ------------------------------------------------------------------

def _must_get(ctx, res, ns, name):
    o = ctx.server.store.get(res, ns, name)
    if o is None:
        raise not_found(res, name)
    return o


def _out(res, version, obj):
    if res.crd and version != res.version:
        obj["apiVersion"] = res.api_version(version)
    w = ((obj.get("metadata") or {}).get("annotations") or {}).get(WARN_ANNOTATION)
    return obj, w


def _render(ctx, res, version, obj):
    obj, w = _out(res, version, obj)
    if w:
        ctx.warnings.append(w)
    accept = ctx.headers.get("Accept") or ""
    if "as=Table" in accept:
        return tables.table(res, version, [obj],
                            ctx.query.get("includeObject", "Metadata"),
                            {"resourceVersion": obj["metadata"].get("resourceVersion")})
    if "as=PartialObjectMetadata" in accept:
        return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata") or {}}
    return obj


def dry_run(ctx):
    vals = ctx.qlist.get("dryRun") or []
    for v in vals:
        if v != "All":
            raise bad_request('dryRun must be "All" (got "%s")' % v)
    return bool(vals)


def field_manager(ctx, required=False):
    m = ctx.query.get("fieldManager")
    if m:
        if len(m) > 128:
            raise invalid(None, "PatchOptions", "", [FieldError(
                "TooLong", "fieldManager", m, "must be no more than 128 characters")])
        return m
    if required:
        raise bad_request("PatchOptions.meta.k8s.io \"\" is invalid: "
                          "fieldManager: Required value: is required for "
                          "apply patch")
    ua = ctx.headers.get("User-Agent") or ""
    return ua.split("/", 1)[0] or "unknown"


def _check_type(res, version, obj):
    if not isinstance(obj, dict):
        raise bad_request("the object provided is unrecognized (must be of "
                          "type %s)" % res.kind)
    av, kind = obj.get("apiVersion"), obj.get("kind")
    want = res.api_version(version)
    if av and av != want:
        raise bad_request("the API version in the data (%s) does not match the "
                          "expected API version (%s)" % (av, want))
    if kind and kind != res.kind:
        raise bad_request("the kind in the data (%s) does not match the "
                          "expected kind (%s)" % (kind, res.kind))
    obj["apiVersion"] = want
    obj["kind"] = res.kind


def _set_ns(res, obj, ns):
    md = obj.get("metadata")
    if not isinstance(md, dict):
        md = obj["metadata"] = {}
    if res.namespaced:
        if md.get("namespace") and md["namespace"] != ns:
            raise bad_request("the namespace of the provided object does not "
                              "match the namespace sent on the request")
        md["namespace"] = ns
    else:
        md.pop("namespace", None)
    return md


def _warn_from(ctx, obj):
    w = ((obj.get("metadata") or {}).get("annotations") or {}).get(WARN_ANNOTATION)
    if w:
        ctx.warnings.append(w)


# -- reads ---------------------------------------------------------------------

def _list(ctx, res, version, ns):
    q = ctx.query
    lm = parse_labels(q.get("labelSelector"))
    fm = parse_fields(q.get("fieldSelector"))
    try:
        limit = int(q.get("limit") or 0)
    except ValueError:
        raise bad_request("invalid limit")
    if ctx.fault and ctx.fault["action"] == "page":
        n = int(ctx.fault.get("items", 1))
        limit = min(limit, n) if limit > 0 else n
    items, rv, cont, remaining = ctx.server.store.list_page(
        res, ns, lambda o: lm(o) and fm(o), max(limit, 0), q.get("continue"))
    md = {"resourceVersion": str(rv)}
    if cont:
        md["continue"] = cont
        if not q.get("labelSelector") and not q.get("fieldSelector"):
            md["remainingItemCount"] = remaining
    items = [_out(res, version, o)[0] for o in items]
    accept = ctx.headers.get("Accept") or ""
    if "as=Table" in accept:
        return ctx.reply(200, tables.table(res, version, items,
                                           q.get("includeObject", "Metadata"), md))
    if "as=PartialObjectMetadataList" in accept or "as=PartialObjectMetadata" in accept:
        return ctx.reply(200, {"kind": "PartialObjectMetadataList",
                               "apiVersion": "meta.k8s.io/v1", "metadata": md,
                               "items": [{"kind": "PartialObjectMetadata",
                                          "apiVersion": "meta.k8s.io/v1",
                                          "metadata": o["metadata"]}
                                         for o in items]})
    if not res.crd:
        for o in items:
            o.pop("apiVersion", None)
            o.pop("kind", None)
    return ctx.reply(200, {"kind": res.kind + "List",
                           "apiVersion": res.api_version(version),
                           "metadata": md, "items": items})


# -- writes --------------------------------------------------------------------

def _create(ctx, res, version, ns):
    obj = ctx.json_body()
    _check_type(res, version, obj)
    _set_ns(res, obj, ns)
    out = ctx.server.store.create(res, obj, dry_run=dry_run(ctx),
                                  manager=field_manager(ctx), user=ctx.user,
                                  api=True)
    _warn_from(ctx, out)
    return ctx.reply(201, _render(ctx, res, version, out))


def _update(ctx, res, version, ns, name, sub):
    obj = ctx.json_body()
    _check_type(res, version, obj)
    md = _set_ns(res, obj, ns)
    if md.get("name") and md["name"] != name:
        raise bad_request("the name of the object (%s) does not match the name "
                          "on the URL (%s)" % (md["name"], name))
    md["name"] = name
    store = ctx.server.store
    if sub == "finalize":
        with store.lock:
            cur = _must_get(ctx, res, ns, name)
            cur["spec"] = obj.get("spec") or {}
            out = store.write(res, cur, store._get(res, ns, name), "finalize",
                              field_manager(ctx), dry_run(ctx), True, ctx.user)
        return ctx.reply(200, _render(ctx, res, version, out))
    out = store.update(res, obj, sub, dry_run=dry_run(ctx),
                       manager=field_manager(ctx), api=True, user=ctx.user)
    _warn_from(ctx, out)
    return ctx.reply(200, _render(ctx, res, version, out))


PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json",
               "application/apply-patch+yaml")


def _patch(ctx, res, version, ns, name, sub):
    ctype = (ctx.headers.get("Content-Type") or "").split(";")[0].strip()
    allowed = [t for t in PATCH_TYPES if not (res.crd and "strategic" in t)]
    if ctype not in allowed:
        raise ApiError(415, "UnsupportedMediaType",
                       "the body of the request was in an unknown format - "
                       "accepted media types include: " + ", ".join(allowed))
    if ctype == "application/apply-patch+yaml":
        return _apply(ctx, res, version, ns, name, sub)
    try:
        patch = json.loads(ctx.body or b"null")
    except ValueError as e:
        raise bad_request("error decoding patch: %s" % e)
    store = ctx.server.store
    with store.lock:
        cur = store.get(res, ns, name)
        if cur is None:
            raise not_found(res, name)
        if ctype == "application/merge-patch+json":
            if not isinstance(patch, dict):
                raise bad_request("merge patch must be a JSON object")
            new = merge_patch(cur, patch)
        elif ctype == "application/strategic-merge-patch+json":
            if not isinstance(patch, dict):
                raise bad_request("strategic merge patch must be a JSON object")
            new = strategic_merge(cur, patch)
        else:
            new = json_patch(cur, patch)
        if not isinstance(new, dict):
            raise bad_request("the patch did not produce an object")
        nmd = new.setdefault("metadata", {})
        if nmd.get("resourceVersion") and \
                nmd["resourceVersion"] != cur["metadata"]["resourceVersion"]:
            raise conflict(res, name, STALE)
        nmd["name"] = name
        if res.namespaced:
            nmd["namespace"] = ns
        new["apiVersion"] = cur["apiVersion"]
        new["kind"] = cur["kind"]
        out = store.update(res, new, sub, dry_run=dry_run(ctx),
                           manager=field_manager(ctx), api=True, user=ctx.user)
    _warn_from(ctx, out)
    return ctx.reply(200, _render(ctx, res, version, out))


def _apply(ctx, res, version, ns, name, sub):
    try:
        cfg = yamlmini.loads(ctx.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, IndexError) as e:
        raise bad_request("error decoding YAML: %s" % e)
    if not isinstance(cfg, dict):
        raise bad_request("apply patch must be an object")
    if not cfg.get("kind"):
        raise bad_request("Object 'Kind' is missing in '%s'" %
                          json.dumps(cfg, separators=(",", ":")))
    if not cfg.get("apiVersion"):
        raise bad_request("Object 'apiVersion' is missing in '%s'" %
                          json.dumps(cfg, separators=(",", ":")))
    _check_type(res, version, cfg)
    md = _set_ns(res, cfg, ns)
    if md.get("name") and md["name"] != name:
        raise bad_request("the name of the object (%s) does not match the name "
                          "on the URL (%s)" % (md["name"], name))
    md["name"] = name
    manager = field_manager(ctx, required=True)
    force = _truthy(ctx.query.get("force", ""))
    dry = dry_run(ctx)
    store = ctx.server.store
    scope = "status" if sub == "status" else ("main" if res.status else "all")
    av = res.api_version(version)
    with store.lock:
        cur = store._get(res, ns, name)
        if cur is None:
            if sub:
                raise not_found(res, name)
            ctx.authorize_resource("create", res, ns, name, None)
            new, managed = ssa.apply(None, cfg, manager, force, av, scope, None,
                                     store.now())
            out = store.create(res, new, dry_run=dry, manager=manager,
                               user=ctx.user, api=True, managed=managed)
            _warn_from(ctx, out)
            return ctx.reply(201, _render(ctx, res, version, out))
        rv = (cfg.get("metadata") or {}).get("resourceVersion")
        if rv and rv != cur["metadata"]["resourceVersion"]:
            raise conflict(res, name, STALE)
        new, managed = ssa.apply_kubectl(cur, cfg, manager, force, av, scope,
                                         sub, store.now())
        new["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
        out = store.write(res, new, cur, sub, manager, dry, True, ctx.user,
                          managed=managed)
    _warn_from(ctx, out)
    return ctx.reply(200, _render(ctx, res, version, out))


# -- deletion ------------------------------------------------------------------

def _delete_options(ctx):
    body = {}
    if ctx.body and ctx.body.strip():
        try:
            body = json.loads(ctx.body)
        except ValueError as e:
            raise bad_request("error decoding DeleteOptions: %s" % e)
        if not isinstance(body, dict):
            body = {}
    q = ctx.query
    prop = q.get("propagationPolicy") or body.get("propagationPolicy")
    orphan = q.get("orphanDependents")
    if orphan is None:
        orphan = body.get("orphanDependents")
    else:
        orphan = _truthy(orphan)
    if prop is None and orphan is not None:
        prop = "Orphan" if orphan else "Background"
    grace = q.get("gracePeriodSeconds")
    if grace is None:
        grace = body.get("gracePeriodSeconds")
    if grace is not None:
        try:
            grace = int(grace)
        except (TypeError, ValueError):
            raise bad_request("invalid gracePeriodSeconds")
    pre = body.get("preconditions") or {}
    dry = dry_run(ctx) or bool(body.get("dryRun"))
    return prop, grace, pre.get("uid"), pre.get("resourceVersion"), dry


def _delete(ctx, res, version, ns, name):
    prop, grace, uid, rv, dry = _delete_options(ctx)
    obj, gone = ctx.server.store.delete_ex(res, ns, name, prop, grace, uid=uid,
                                           rv=rv, dry_run=dry, api=True,
                                           user=ctx.user)
    if gone and not res.crd:
        d = {"name": name, "kind": res.plural, "uid": obj["metadata"]["uid"]}
        if res.group:
            d["group"] = res.group
        return ctx.reply(200, {"kind": "Status", "apiVersion": "v1",
                               "metadata": {}, "status": "Success",
                               "details": d})
    return ctx.reply(200, _render(ctx, res, version, obj))


def _delete_collection(ctx, res, version, ns):
    prop, grace, uid, rv, dry = _delete_options(ctx)
    store = ctx.server.store
    lm = parse_labels(ctx.query.get("labelSelector"))
    fm = parse_fields(ctx.query.get("fieldSelector"))
    out = []
    for o in store.raw_list(res, ns, lambda o: lm(o) and fm(o)):
        md = o["metadata"]
        try:
            obj, _ = store.delete_ex(res, md.get("namespace"), md["name"], prop,
                                     grace, dry_run=dry, api=True, user=ctx.user)
            out.append(_out(res, version, obj)[0])
        except ApiError as e:
            if e.code != 404:
                raise
    return ctx.reply(200, {"kind": res.kind + "List",
                           "apiVersion": res.api_version(version),
                           "metadata": {"resourceVersion": str(store.rv)},
                           "items": out})


# -- subresources ----------------------------------------------------------------

def _token_request(ctx, ns, name):
    store = ctx.server.store
    body = ctx.json_body()
    spec = (body or {}).get("spec") or {}
    sa = _must_get(ctx, store.res("serviceaccounts"), ns, name)
    secs = spec.get("expirationSeconds", 3600)
    try:
        secs = int(secs)
    except (TypeError, ValueError):
        secs = 3600
    tr = store.res("serviceaccounts")
    if secs < 600:
        raise ApiError(422, "Invalid",
                       'TokenRequest.authentication.k8s.io "%s" is invalid: '
                       'spec.expirationSeconds: Invalid value: %d: may not '
                       'specify a duration less than 10 minutes' % (name, secs),
                       {"name": name, "group": "authentication.k8s.io",
                        "kind": "TokenRequest",
                        "causes": [{"reason": "FieldValueInvalid",
                                    "field": "spec.expirationSeconds",
                                    "message": "Invalid value: %d: may not "
                                    "specify a duration less than 10 minutes"
                                    % secs}]})
    secs = min(secs, 2 ** 32)
    bound = None
    ref = spec.get("boundObjectRef")
    if ref:
        kind = ref.get("kind")
        r = {"Pod": "pods", "Secret": "secrets"}.get(kind)
        if r is None:
            raise bad_request('cannot bind token to object of type %s' % kind)
        bound = store.get(r, ns, ref.get("name"))
        if bound is None:
            raise not_found(store.res(r), ref.get("name"))
        if ref.get("uid") and ref["uid"] != bound["metadata"]["uid"]:
            raise conflict(tr, name, "the UID in the bound object reference "
                           "(%s) does not match the UID in record. The object "
                           "might have been deleted and then recreated"
                           % ref["uid"])
    auds = spec.get("audiences") or None
    token, exp = ctx.server.auth.issue(ns, sa, secs, auds, bound)
    out_spec = {"audiences": auds or ["https://kubernetes.default.svc.cluster.local"],
                "expirationSeconds": secs, "boundObjectRef": ref}
    return ctx.reply(201, {
        "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": ns,
                     "creationTimestamp": store.now()},
        "spec": out_spec,
        "status": {"token": token,
                   "expirationTimestamp": time.strftime(
                       "%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp))}})


def _bind(ctx, ns, name, body):
    store = ctx.server.store
    pods = store.res("pods")
    target = (body or {}).get("target") or {}
    node = target.get("name")
    if not node:
        raise invalid(None, "Binding", name or "", [FieldError(
            "Required", "target.name")])
    with store.lock:
        pod = store.get(pods, ns, name)
        if pod is None:
            raise not_found(pods, name)
        if (pod.get("spec") or {}).get("nodeName"):
            raise ApiError(409, "Conflict",
                           'Operation cannot be fulfilled on pods/binding "%s": '
                           'pod %s is already assigned to node "%s"'
                           % (name, name, pod["spec"]["nodeName"]))
        if pod["metadata"].get("deletionTimestamp"):
            raise ApiError(409, "Conflict",
                           'Operation cannot be fulfilled on pods/binding "%s": '
                           'pod %s is being deleted, cannot be assigned to a host'
                           % (name, name))
        pod["spec"]["nodeName"] = node
        st = pod.setdefault("status", {})
        conds = [c for c in st.get("conditions") or []
                 if c.get("type") != "PodScheduled"]
        conds.append({"type": "PodScheduled", "status": "True",
                      "lastProbeTime": None,
                      "lastTransitionTime": store.now()})
        st["conditions"] = conds
        if not dry_run(ctx):
            store.update(pods, pod, manager=field_manager(ctx))
    return ctx.reply(201, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                           "status": "Success", "code": 201})


def _evict(ctx, res, ns, name):
    body = ctx.json_body() or {}
    opts = body.get("deleteOptions") or {}
    ctx.server.store.delete_ex(res, ns, name, opts.get("propagationPolicy"),
                               opts.get("gracePeriodSeconds"),
                               dry_run=dry_run(ctx), api=True, user=ctx.user)
    return ctx.reply(201, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                           "status": "Success", "code": 201})


def _review(ctx, res, ns, version):
    from auth import User
    body = ctx.json_body() or {}
    spec = body.get("spec") or {}
    store = ctx.server.store
    k = res.kind
    if k == "Binding":
        name = (body.get("metadata") or {}).get("name")
        return _bind(ctx, ns, name, body)
    if k == "TokenReview":
        status = ctx.server.auth.token_review(spec)
    elif k == "SelfSubjectReview":
        status = {"userInfo": ctx.user.info()}
    elif k == "SelfSubjectRulesReview":
        status = rbac.rules_review(store, ctx.user, spec.get("namespace") or "")
    else:
        if k == "SelfSubjectAccessReview":
            user = ctx.user
        else:
            user = User(spec.get("user") or "", spec.get("groups") or [],
                        spec.get("uid") or "", spec.get("extra") or {})
            if not spec.get("user") and not spec.get("groups"):
                raise invalid(res, k, "", [FieldError(
                    "Invalid", "spec.user", "",
                    "at least one of user or group must be specified")])
        attrs = rbac.review_attrs(spec)
        if k == "LocalSubjectAccessReview":
            ra = spec.get("resourceAttributes") or {}
            if ra.get("namespace") != ns:
                raise invalid(res, k, "", [FieldError(
                    "Invalid", "spec.resourceAttributes.namespace",
                    ra.get("namespace") or "",
                    "must match metadata.namespace")])
        ok, reason = rbac.authorize(store, user, attrs)
        status = {"allowed": ok}
        if reason:
            status["reason"] = reason
    out = {"kind": k, "apiVersion": res.api_version(version),
           "metadata": {"creationTimestamp": None}, "spec": spec,
           "status": status}
    if ns:
        out["metadata"]["namespace"] = ns
    return ctx.reply(201, out)

