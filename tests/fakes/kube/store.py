"""store.py - the fake API server's storage: objects, versions, events.

One Store holds every object in memory under one RLock (store.lock; callers
may hold it around several calls). Every committed change gets the next
value of one global resourceVersion counter, is appended to a bounded event
history (for watches and their 410 Gone), wakes watchers through a
condition variable, and is handed to subscribers (controllers, the garbage
collector) as fn(event_type, res, obj).

Stored objects are never modified in place: every write builds a new dict.
Methods that return objects return deep copies.

The interface controllers.py uses: get, list, create, update, patch,
delete, subscribe, now; each takes the resource's qualified name ("pods",
"jobs.batch", ...). Their keyword-only arguments are what the REST layer
adds: dry_run, manager (the field manager in managedFields; writes without
one are "kube-controller-manager"'s), api (the rules for a request from
outside: main-resource writes ignore status, status is dropped on create,
some fields are immutable), user (for admission). Without api, update()
replaces the whole object, status included, and create() keeps status.
"""
import base64
import bisect
import json
import random
import threading
import time
import uuid

import admission
import apply as ssa
from errors import ApiError, not_found, already_exists, conflict, STALE, \
    bad_request
from patch import merge_patch
from selection import parse_labels, parse_fields

_SUFFIX = "bcdfghjklmnpqrstvwxz2456789"


def clone(o):
    if isinstance(o, dict):
        return {k: clone(v) for k, v in o.items()}
    if isinstance(o, list):
        return [clone(v) for v in o]
    return o


def rfc3339(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Store:
    def __init__(self, registry, settings, log=None):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.registry = registry
        self.settings = settings
        self.log = log or (lambda *a: None)
        self.objs = {}          # qname -> {(ns, name): obj}
        self.uids = {}          # uid -> (qname, ns, name)
        self.dependents = {}    # owner uid -> set of dependent uids
        self.rv = 0
        self.hist = []          # (rv, type, qname, ns, obj, prev)
        self.hist_rvs = []
        self.compacted = 0      # events at or below this rv are gone
        self.subscribers = []

    # -- helpers ------------------------------------------------------------

    def now(self):
        return rfc3339()

    def res(self, res):
        if not isinstance(res, str):
            return res
        r = self.registry.get(res)
        if r is None:
            raise ApiError(404, "NotFound",
                           'the server doesn\'t have a resource type "%s"' % res)
        return r

    @staticmethod
    def _key(res, ns, name):
        return ((ns or "") if res.namespaced else "", name)

    def _get(self, res, ns, name):
        return self.objs.get(res.qname, {}).get(self._key(res, ns, name))

    def by_uid(self, uid):
        """(res, stored object) for a uid, or (None, None)."""
        with self.lock:
            loc = self.uids.get(uid)
            if loc is None:
                return None, None
            qname, ns, name = loc
            r = self.registry.get(qname)
            obj = self.objs.get(qname, {}).get((ns, name))
            return r, obj

    def dependents_of(self, uid):
        with self.lock:
            out = []
            for d in sorted(self.dependents.get(uid, ())):
                r, obj = self.by_uid(d)
                if obj is not None:
                    out.append((r, obj))
            return out

    # -- reads --------------------------------------------------------------

    def get(self, res, ns, name):
        res = self.res(res)
        with self.lock:
            o = self._get(res, ns, name)
            return clone(o) if o is not None else None

    def raw_list(self, res, ns=None, match=None):
        """Stored objects (not copies), sorted by namespace and name."""
        res = self.res(res)
        with self.lock:
            tbl = self.objs.get(res.qname, {})
            keys = sorted(k for k in tbl if ns is None or not res.namespaced
                          or k[0] == ns)
            out = []
            for k in keys:
                o = tbl[k]
                if match is None or match(o):
                    out.append(o)
            return out

    def list(self, res, ns=None, label_selector=None, field_selector=None):
        lm = parse_labels(label_selector)
        fm = parse_fields(field_selector)
        return [clone(o) for o in self.raw_list(res, ns,
                                                lambda o: lm(o) and fm(o))]

    def list_page(self, res, ns, match, limit, token):
        """(items, list rv, continue token, remaining) for one page."""
        res = self.res(res)
        with self.lock:
            start = None
            list_rv = self.rv
            if token:
                try:
                    t = json.loads(base64.urlsafe_b64decode(token.encode()))
                    list_rv, start, ts = int(t["rv"]), tuple(t["start"]), t["ts"]
                except (ValueError, KeyError, TypeError):
                    raise bad_request("continue key is not valid: "
                                      "incorrect encoded start resourceVersion "
                                      "(version meta.k8s.io/v1)")
                if time.time() - ts > self.settings.continue_ttl or \
                        list_rv < self.compacted:
                    raise ApiError(410, "Expired",
                                   "The provided continue parameter is too old "
                                   "to display a consistent list result. You "
                                   "can start a new list without the continue "
                                   "parameter.")
            tbl = self.objs.get(res.qname, {})
            keys = sorted(k for k in tbl if ns is None or not res.namespaced
                          or k[0] == ns)
            if start is not None:
                keys = [k for k in keys if k > start]
            items = []
            nxt = None
            remaining = 0
            for k in keys:
                o = tbl[k]
                if not match(o):
                    continue
                if limit and len(items) >= limit:
                    remaining += 1
                    continue
                items.append(clone(o))
                nxt = k
            cont = None
            if limit and remaining:
                cont = base64.urlsafe_b64encode(json.dumps(
                    {"rv": list_rv, "start": list(nxt), "ts": time.time()}
                ).encode()).decode()
            return items, list_rv, cont, remaining

    # -- events ------------------------------------------------------------

    def subscribe(self, fn):
        with self.lock:
            self.subscribers.append(fn)

    def _commit(self, etype, res, obj, prev):
        self.rv += 1
        md = obj["metadata"]
        md["resourceVersion"] = str(self.rv)
        key = self._key(res, md.get("namespace"), md["name"])
        tbl = self.objs.setdefault(res.qname, {})
        uid = md.get("uid")
        for ref in ((prev or {}).get("metadata") or {}).get("ownerReferences") or []:
            s = self.dependents.get(ref.get("uid"))
            if s is not None:
                s.discard(uid)
                if not s:
                    del self.dependents[ref.get("uid")]
        if etype == "DELETED":
            tbl.pop(key, None)
            self.uids.pop(uid, None)
        else:
            tbl[key] = obj
            self.uids[uid] = (res.qname, key[0], key[1])
            for ref in md.get("ownerReferences") or []:
                if ref.get("uid"):
                    self.dependents.setdefault(ref["uid"], set()).add(uid)
        self.hist.append((self.rv, etype, res.qname, key[0], obj, prev))
        self.hist_rvs.append(self.rv)
        excess = len(self.hist) - self.settings.history
        if excess > 0:
            self.compacted = self.hist_rvs[excess - 1]
            del self.hist[:excess]
            del self.hist_rvs[:excess]
        self.cond.notify_all()
        for fn in list(self.subscribers):
            try:
                fn(etype, res.qname, clone(obj))
            except Exception as e:          # a subscriber must not break writes
                self.log("subscriber failed: %r" % e)
        admission.after(self, etype, res, obj, prev)

    def compact(self):
        """Forgets the whole event history (watches from older versions get
        410 Gone)."""
        with self.lock:
            self.compacted = self.rv
            self.hist = []
            self.hist_rvs = []

    def events_after(self, rv, wait):
        """Events with a version above rv, waiting up to wait seconds for
        one; None when rv is older than the history (410)."""
        with self.cond:
            if rv < self.compacted:
                return None, self.rv
            i = bisect.bisect_right(self.hist_rvs, rv)
            if i == len(self.hist) and wait > 0:
                self.cond.wait(wait)
                if rv < self.compacted:
                    return None, self.rv
                i = bisect.bisect_right(self.hist_rvs, rv)
            return self.hist[i:], self.rv

    # -- writes -------------------------------------------------------------

    def create(self, res, obj, *, dry_run=False, manager=None, user=None,
               api=False, managed=None):
        res = self.res(res)
        with self.lock:
            obj = clone(obj)
            md = obj.get("metadata")
            if not isinstance(md, dict):
                md = obj["metadata"] = {}
            obj["apiVersion"] = res.api_version()     # stored at the storage version
            obj["kind"] = res.kind
            obj = dict([(k, obj[k]) for k in ("apiVersion", "kind", "metadata")] +
                       [(k, v) for k, v in obj.items()
                        if k not in ("apiVersion", "kind", "metadata")])
            if res.namespaced:
                ns = md.get("namespace") or ""
                if not ns:
                    raise bad_request("an empty namespace may not be set "
                                      "during creation")
                admission.check_namespace(self, res, ns, md.get("name") or "")
            else:
                md.pop("namespace", None)
            for k in ("uid", "resourceVersion", "creationTimestamp",
                      "deletionTimestamp", "deletionGracePeriodSeconds",
                      "generation", "selfLink"):
                md.pop(k, None)
            if not md.get("name") and md.get("generateName"):
                for _ in range(100):
                    name = md["generateName"] + "".join(
                        random.choice(_SUFFIX) for _ in range(5))
                    if self._get(res, md.get("namespace"), name) is None:
                        break
                md["name"] = name
            md["uid"] = str(uuid.uuid4())
            admission.on_create(self, res, obj, user, api)
            if self._get(res, md.get("namespace"), md["name"]) is not None:
                raise already_exists(res, md["name"])
            md["creationTimestamp"] = self.now()
            if has_generation(res):
                md["generation"] = 1
            if managed is None:
                managed = ssa.track_update(
                    None, obj, manager or "kube-controller-manager",
                    obj["apiVersion"], None,
                    "main" if api and res.status else "all", self.now())
            md["managedFields"] = managed
            if not md["managedFields"]:
                del md["managedFields"]
            if dry_run:
                return clone(obj)
            self._commit("ADDED", res, obj, None)
            return clone(obj)

    def update(self, res, obj, subresource=None, *, dry_run=False,
               manager=None, api=False, user=None):
        """PUT: obj replaces the stored object (or only its status)."""
        res = self.res(res)
        with self.lock:
            md = obj.get("metadata") or {}
            name = md.get("name")
            cur = self._get(res, md.get("namespace"), name)
            if cur is None:
                raise not_found(res, name)
            rv = md.get("resourceVersion")
            if rv and rv != cur["metadata"]["resourceVersion"]:
                raise conflict(res, name, STALE)
            if subresource == "status":
                new = clone(cur)
                if "status" in obj:
                    new["status"] = clone(obj["status"])
                else:
                    new.pop("status", None)
            else:
                new = clone(obj)
                new["apiVersion"] = cur["apiVersion"]
                new["kind"] = cur["kind"]
                nmd = new.setdefault("metadata", {})
                for k in ("uid", "creationTimestamp", "generation",
                          "deletionTimestamp", "deletionGracePeriodSeconds",
                          "namespace", "name"):
                    if k in cur["metadata"]:
                        nmd[k] = cur["metadata"][k]
                    else:
                        nmd.pop(k, None)
                if "managedFields" not in nmd and \
                        "managedFields" in cur["metadata"]:
                    nmd["managedFields"] = clone(cur["metadata"]["managedFields"])
                if api and res.status:
                    if "status" in cur:
                        new["status"] = clone(cur["status"])
                    else:
                        new.pop("status", None)
            return self.write(res, new, cur, subresource, manager, dry_run, api,
                              user)

    def patch(self, res, ns, name, patch, subresource=None, *, dry_run=False,
              manager=None, api=False, user=None):
        """JSON merge patch (RFC 7386) of the object or its status."""
        res = self.res(res)
        with self.lock:
            cur = self._get(res, ns, name)
            if cur is None:
                raise not_found(res, name)
            if subresource == "status":
                p = patch or {}
                patch = {"metadata": {k: v for k, v in
                                      (p.get("metadata") or {}).items()
                                      if k == "resourceVersion"}}
                if "status" in p:
                    patch["status"] = p["status"]
            new = merge_patch(cur, patch)
            rv = ((patch or {}).get("metadata") or {}).get("resourceVersion")
            if rv and rv != cur["metadata"]["resourceVersion"]:
                raise conflict(res, name, STALE)
            new["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
            return self.update(res, new, subresource, dry_run=dry_run,
                               manager=manager, api=api, user=user)

    def write(self, res, new, cur, subresource, manager, dry_run, api, user,
              managed=None):
        """Commits new in place of cur (both full objects); the common end
        of update, patch and apply. managed: managedFields already computed
        (server-side apply)."""
        with self.lock:
            nmd = new["metadata"]
            cmd = cur["metadata"]
            if nmd.get("name") != cmd["name"]:
                raise bad_request("the name of the object (%s) does not match "
                                  "the name on the URL (%s)"
                                  % (nmd.get("name"), cmd["name"]))
            if cmd.get("deletionTimestamp"):
                added = set(nmd.get("finalizers") or []) - \
                    set(cmd.get("finalizers") or [])
                if added:
                    from errors import FieldError, invalid
                    raise invalid(res, res.kind, cmd["name"], [FieldError(
                        "Forbidden", "metadata.finalizers", None,
                        "no new finalizers can be added if the object is "
                        "being deleted, found new finalizers %s"
                        % json.dumps(sorted(added)))])
            admission.on_update(self, res, new, cur, api, subresource, user)
            if not nmd.get("finalizers"):
                nmd.pop("finalizers", None)
            if not has_generation(res):
                nmd.pop("generation", None)
            elif _spec_changed(cur, new):
                nmd["generation"] = cmd.get("generation", 1) + 1
            else:
                nmd["generation"] = cmd.get("generation", 1)
            scope = "status" if subresource == "status" else \
                ("main" if res.status and api else "all")
            base = None
            if managed is None:
                if api and "managedFields" in nmd and \
                        nmd["managedFields"] != cmd.get("managedFields"):
                    base = new
                managed = ssa.track_update(cur, new, manager or
                                           "kube-controller-manager",
                                           new["apiVersion"], subresource,
                                           scope, self.now(), base)
            if managed:
                nmd["managedFields"] = managed
            else:
                nmd.pop("managedFields", None)
            if _same(cur, new) and base is None:
                return clone(cur)
            if dry_run:
                return clone(new)
            if nmd.get("deletionTimestamp") and not nmd.get("finalizers") and \
                    not nmd.get("deletionGracePeriodSeconds") and \
                    res.qname != "namespaces":
                self._commit("DELETED", res, new, cur)
            else:
                self._commit("MODIFIED", res, new, cur)
            return clone(new)

    # -- deletion -----------------------------------------------------------

    def delete(self, res, ns, name, propagation=None, grace_seconds=None):
        """Deletes as the API does: the object as it now is when it stays
        (deletionTimestamp set, waiting for finalizers or its node agent),
        None when it is gone. Raises ApiError 404 when missing."""
        obj, gone = self.delete_ex(res, ns, name, propagation, grace_seconds)
        return None if gone else obj

    def delete_ex(self, res, ns, name, propagation=None, grace_seconds=None, *,
                  uid=None, rv=None, dry_run=False, api=False, user=None):
        """delete() with preconditions and dry run; returns (object, gone)."""
        res = self.res(res)
        with self.lock:
            cur = self._get(res, ns, name)
            if cur is None:
                raise not_found(res, name)
            cmd = cur["metadata"]
            if uid and uid != cmd.get("uid"):
                raise conflict(res, name, "Precondition failed: UID in "
                               "precondition: %s, UID in object meta: %s"
                               % (uid, cmd.get("uid")))
            if rv and rv != cmd.get("resourceVersion"):
                raise conflict(res, name, "Precondition failed: "
                               "ResourceVersion in precondition: %s, "
                               "ResourceVersion in object meta: %s"
                               % (rv, cmd.get("resourceVersion")))
            admission.on_delete(self, res, cur, user)
            if propagation is None:
                propagation = "Orphan" if res.qname == "jobs.batch" else "Background"
            if propagation not in ("Background", "Foreground", "Orphan"):
                raise ApiError(422, "Invalid",
                               'DeleteOptions.meta.k8s.io "" is invalid: '
                               'propagationPolicy: Unsupported value: "%s": '
                               'supported values: "Foreground", "Background", '
                               '"Orphan", "nil"' % propagation)
            grace = 0
            if res.qname == "pods":
                grace = _pod_grace(cur, grace_seconds)
            new = clone(cur)
            nmd = new["metadata"]
            fins = list(cmd.get("finalizers") or [])
            if cmd.get("deletionTimestamp"):
                # Already being deleted: a pod's grace period may shrink.
                old_grace = cmd.get("deletionGracePeriodSeconds") or 0
                if res.qname != "pods" or grace >= old_grace:
                    return clone(cur), False
                nmd["deletionGracePeriodSeconds"] = grace
                nmd["deletionTimestamp"] = rfc3339(time.time() + grace)
                if grace == 0 and not fins:
                    if dry_run:
                        return clone(new), True
                    self._commit("DELETED", res, new, cur)
                    return clone(new), True
                if dry_run:
                    return clone(new), False
                self._commit("MODIFIED", res, new, cur)
                return clone(new), False
            if propagation == "Foreground" and "foregroundDeletion" not in fins:
                fins.append("foregroundDeletion")
            if propagation == "Orphan" and "orphan" not in fins:
                fins.append("orphan")
            if fins or grace > 0 or res.qname == "namespaces":
                nmd["deletionTimestamp"] = rfc3339(time.time() + grace)
                nmd["deletionGracePeriodSeconds"] = grace
                if fins:
                    nmd["finalizers"] = fins
                if has_generation(res):
                    nmd["generation"] = cmd.get("generation", 1) + 1
                if res.qname == "namespaces":
                    new.setdefault("status", {})["phase"] = "Terminating"
                if dry_run:
                    return clone(new), False
                self._commit("MODIFIED", res, new, cur)
                return clone(new), False
            if dry_run:
                return clone(new), True
            self._commit("DELETED", res, new, cur)
            return clone(new), True

    def remove(self, res, obj):
        """Removes a stored object at once (namespace and CRD clean-up)."""
        res = self.res(res)
        with self.lock:
            cur = self._get(res, obj["metadata"].get("namespace"),
                            obj["metadata"]["name"])
            if cur is not None:
                self._commit("DELETED", res, clone(cur), cur)


# The kinds whose objects carry metadata.generation on a real server.
GENERATION = {"jobs.batch", "cronjobs.batch", "deployments.apps",
              "daemonsets.apps", "statefulsets.apps", "replicasets.apps",
              "customresourcedefinitions.apiextensions.k8s.io"}


def has_generation(res):
    return res.crd or res.qname in GENERATION


def _pod_grace(pod, requested):
    spec = pod.get("spec") or {}
    phase = (pod.get("status") or {}).get("phase")
    if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
        return 0
    if requested is not None and int(requested) >= 0:
        return int(requested)
    g = spec.get("terminationGracePeriodSeconds")
    return 30 if g is None else max(int(g), 0)


def _body(o):
    return {k: v for k, v in o.items() if k not in ("metadata", "status")}


def _spec_changed(a, b):
    return _body(a) != _body(b)


def _same(a, b):
    ma = dict(a.get("metadata") or {})
    mb = dict(b.get("metadata") or {})
    for m in (ma, mb):
        m.pop("resourceVersion", None)
        m.pop("managedFields", None)
    return ma == mb and {k: v for k, v in a.items() if k != "metadata"} == \
        {k: v for k, v in b.items() if k != "metadata"}
