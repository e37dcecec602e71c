"""apply.py - server-side apply and managedFields.

Field sets are sets of paths; a path is a tuple of FieldsV1 keys
("f:spec", "f:containers", 'k:{"name":"c"}', "f:image"), a list item being
owned as a whole is the path of the item followed by ".". flatten() maps
every leaf path of an object to its value (scopes: "all", "main" = all but
status, "status" = status only); managedFields entries store these sets in
the FieldsV1 form the real server uses.

apply() merges an applied configuration into the live object, reports
conflicts with other managers as the real server words them (409, or
taken over with force), removes fields the manager applied before and no
longer applies (unless others own them), and records ownership.
track_update() records what a create/update/patch changed: the writer owns
the changed fields, other managers lose them.
Neither function modifies its arguments.
"""
import copy
import json

from errors import ApiError
from patch import list_type, key_str

MARK = object()     # the value of an "item exists" path
META_TRACKED = ("labels", "annotations", "finalizers", "ownerReferences")


def _walk(v, path, out, field):
    if isinstance(v, dict):
        if not v:
            out[path] = {}
        for k, x in v.items():
            _walk(x, path + ("f:" + k,), out, k)
    elif isinstance(v, list):
        kind = list_type(field, v)
        if kind is None or not v:
            out[path] = v
        elif kind == "set":
            for x in v:
                out[path + ("v:" + json.dumps(x, separators=(",", ":")),)] = x
        else:
            for item in v:
                kp = path + ("k:" + key_str(item, kind),)
                out[kp + (".",)] = MARK
                for k, x in item.items():
                    _walk(x, kp + ("f:" + k,), out, k)
    else:
        out[path] = v


def flatten(obj, scope):
    out = {}
    if obj is None:
        return out
    if scope != "status":
        md = obj.get("metadata") or {}
        for k in META_TRACKED:
            if k in md and md[k] is not None:
                _walk(md[k], ("f:metadata", "f:" + k), out, k)
        for k, v in obj.items():
            if k in ("apiVersion", "kind", "metadata"):
                continue
            if k == "status" and scope == "main":
                continue
            _walk(v, ("f:" + k,), out, k)
    elif obj.get("status") is not None:
        _walk(obj["status"], ("f:status",), out, "status")
    return out


def to_v1(paths):
    root = {}
    for p in sorted(paths):
        d = root
        for el in p:
            d = d.setdefault(el, {})
    return root


def from_v1(d, prefix=()):
    out = set()
    for k, v in (d or {}).items():
        p = prefix + (k,)
        if k == "." or not v:
            out.add(p)
        else:
            out |= from_v1(v, p)
            if "." in v:
                out.add(p + (".",))
    return out


def path_str(path):
    s = ""
    for el in path:
        if el == ".":
            continue
        t, v = el[:1], el[2:]
        if t == "f":
            s += "." + v
        elif t == "k":
            kv = json.loads(v)
            s += "[" + ",".join("%s=%s" % (k, json.dumps(kv[k]))
                                for k in sorted(kv)) + "]"
        elif t == "v":
            s += "[=" + v + "]"
        else:
            s += "[" + v + "]"
    return s


class Entry:
    def __init__(self, manager, operation, api_version, subresource, fields,
                 time=None):
        self.manager = manager
        self.operation = operation
        self.api_version = api_version
        self.subresource = subresource or ""
        self.fields = fields
        self.time = time

    def ident(self):
        av = "" if self.operation == "Apply" else self.api_version
        return (self.manager, self.operation, av, self.subresource)

    def describe(self):
        s = '"%s"' % self.manager
        if self.subresource:
            s += ' with subresource "%s"' % self.subresource
        if self.operation == "Update":
            s += " using " + self.api_version
        return s

    def render(self):
        e = {"manager": self.manager, "operation": self.operation,
             "apiVersion": self.api_version, "time": self.time,
             "fieldsType": "FieldsV1", "fieldsV1": to_v1(self.fields)}
        if self.subresource:
            e["subresource"] = self.subresource
        return e


def entries_of(obj):
    out = []
    for e in ((obj or {}).get("metadata") or {}).get("managedFields") or []:
        if not isinstance(e, dict):
            continue
        out.append(Entry(e.get("manager", ""), e.get("operation", "Update"),
                         e.get("apiVersion", ""), e.get("subresource", ""),
                         from_v1(e.get("fieldsV1")), e.get("time")))
    return out


def _find(entries, ident):
    for e in entries:
        if e.ident() == ident:
            return e
    return None


def _render(entries):
    return [e.render() for e in entries if e.fields]


def track_update(old, new, manager, api_version, subresource, scope, now,
                 base=None):
    """managedFields for new after a non-apply write by manager. base is
    the object whose managedFields to start from (old's by default; new
    when the writer set managedFields itself, as kubectl does when it
    moves client-side apply's ownership to server-side apply)."""
    entries = entries_of(base if base is not None else old) if old is not None \
        else []
    old_flat = flatten(old, scope)
    new_flat = flatten(new, scope)
    changed = {p for p, v in new_flat.items()
               if p not in old_flat or (v is not MARK and old_flat[p] != v)}
    removed = set(old_flat) - set(new_flat)
    ident = (manager, "Update", api_version, subresource or "")
    for e in entries:
        e.fields -= removed
        if e.ident() != ident:
            e.fields -= changed
    if changed:
        me = _find(entries, ident)
        if me is None:
            me = Entry(manager, "Update", api_version, subresource, set())
            entries.append(me)
        me.fields |= changed
        me.time = now
    return _render(entries)


# -- merging an applied configuration -------------------------------------

def _merge(a, b, field):
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = _merge(a[k], v, k) if k in a else copy.deepcopy(v)
        return out
    if isinstance(a, list) and isinstance(b, list):
        kind = list_type(field, b or a)
        if kind == "set":
            return list(a) + [copy.deepcopy(x) for x in b if x not in a]
        if isinstance(kind, list) and list_type(field, a) == kind:
            bk = {key_str(x, kind): x for x in b}
            out = []
            seen = set()
            for x in a:
                k = key_str(x, kind)
                if k in bk:
                    out.append(_merge(x, bk[k], None))
                    seen.add(k)
                else:
                    out.append(x)
            out += [copy.deepcopy(x) for x in b if key_str(x, kind) not in seen]
            return out
    return copy.deepcopy(b)


def _locate(obj, path):
    """(container, key) of the value at path, or None."""
    cur = obj
    parent = None
    for i, el in enumerate(path):
        t, v = el[:1], el[2:]
        last = i == len(path) - 1
        if el == ".":
            return parent
        if t == "f":
            if not isinstance(cur, dict) or v not in cur:
                return None
            parent = (cur, v)
            cur = cur[v]
        elif t in ("k", "v"):
            if not isinstance(cur, list):
                return None
            want = json.loads(v)
            idx = None
            for j, x in enumerate(cur):
                if t == "v" and x == want:
                    idx = j
                elif t == "k" and isinstance(x, dict) and \
                        key_str(x, list(want)) == json.dumps(
                            want, sort_keys=True, separators=(",", ":")):
                    idx = j
                if idx is not None:
                    break
            if idx is None:
                return None
            parent = (cur, idx)
            cur = cur[idx]
        else:
            return None
        if last:
            return parent
    return parent


def _remove(obj, path):
    loc = _locate(obj, path)
    if loc is None:
        return
    c, k = loc
    del c[k]


def apply(cur, cfg, manager, force, api_version, scope, subresource, now):
    """Returns (merged object, managedFields). cur is None to create."""
    cfg_flat = flatten(cfg, scope)
    live_flat = flatten(cur, scope)
    entries = entries_of(cur) if cur is not None else []
    ident = (manager, "Apply", "", subresource or "")
    me = _find(entries, ident)
    conflicts = []
    for e in entries:
        if e is me:
            continue
        for p, v in cfg_flat.items():
            if v is MARK or p not in e.fields or p not in live_flat:
                continue
            if live_flat[p] != v:
                conflicts.append((e, p))
    if conflicts and not force:
        raise _conflict_error(conflicts)
    for e, p in conflicts:
        e.fields.discard(p)

    if cur is None:
        new = copy.deepcopy(cfg)
    elif scope == "status":
        new = copy.deepcopy(cur)
        if "status" in cfg:
            new["status"] = _merge(cur.get("status") or {}, cfg["status"], "status")
    else:
        new = copy.deepcopy(cur)
        md = new.setdefault("metadata", {})
        cmd = cfg.get("metadata") or {}
        for k in META_TRACKED:
            if k in cmd and cmd[k] is not None:
                md[k] = _merge(md.get(k), cmd[k], k) if k in md else copy.deepcopy(cmd[k])
        for k, v in cfg.items():
            if k in ("apiVersion", "kind", "metadata"):
                continue
            if k == "status" and scope == "main":
                continue
            new[k] = _merge(new[k], v, k) if k in new else copy.deepcopy(v)

    if me is not None:
        others = set()
        for e in entries:
            if e is not me:
                others |= e.fields
        gone = me.fields - set(cfg_flat)
        for p in sorted(gone, key=len, reverse=True):
            if p in others:
                continue
            if p[-1] == ".":
                item = p[:-1]
                if any(o[:len(item)] == item for o in others):
                    continue
                _remove(new, item)
            else:
                _remove(new, p)
                _prune(new, p[:-1])
    new_flat = flatten(new, scope)
    for e in entries:
        e.fields &= set(new_flat)
    if me is None:
        me = Entry(manager, "Apply", api_version, subresource, set())
        entries.append(me)
    me.fields = set(cfg_flat) & set(new_flat)
    me.api_version = api_version
    me.time = now
    return new, _render(entries)


def _prune(obj, path):
    """Removes maps left empty along path by a removal (not the top level)."""
    while len(path) > 1 and path[-1].startswith("f:"):
        loc = _locate(obj, path)
        if loc is None:
            return
        c, k = loc
        if c[k] != {}:
            return
        del c[k]
        path = path[:-1]


def _conflict_error(conflicts):
    conflicts = sorted(conflicts, key=lambda c: (c[0].manager, path_str(c[1])))
    causes = [{"reason": "FieldManagerConflict",
               "message": "conflict with %s" % e.describe(),
               "field": path_str(p)} for e, p in conflicts]
    if len(conflicts) == 1:
        e, p = conflicts[0]
        msg = "Apply failed with 1 conflict: conflict with %s: %s" % (
            e.describe(), path_str(p))
    else:
        lines = []
        by = {}
        for e, p in conflicts:
            by.setdefault(e.describe(), []).append(path_str(p))
        for m in sorted(by):
            lines.append("conflicts with %s:" % m)
            lines += ["- " + p for p in by[m]]
        msg = "Apply failed with %d conflicts: %s" % (len(conflicts),
                                                        "\n".join(lines))
    e = ApiError(409, "Conflict", msg, {"causes": causes})
    e.paths = {p for _, p in conflicts}
    return e


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def apply_kubectl(cur, cfg, manager, force, api_version, scope, subresource,
                  now):
    """apply() with the real server's upgrade path from client-side apply:
    when "kubectl" applies and its conflicts are all fields of the object's
    last-applied-configuration, it takes them over without --force-conflicts,
    and the annotation is kept up to date for a later client-side apply."""
    try:
        new, managed = apply(cur, cfg, manager, force, api_version, scope,
                             subresource, now)
    except ApiError as e:
        last = (((cur or {}).get("metadata") or {}).get("annotations")
                or {}).get(LAST_APPLIED)
        if manager != "kubectl" or not last or not hasattr(e, "paths"):
            raise
        try:
            allowed = set(flatten(json.loads(last), scope))
        except ValueError:
            raise e
        if not e.paths <= allowed:
            raise
        new, managed = apply(cur, cfg, manager, True, api_version, scope,
                             subresource, now)
    ann = (new.get("metadata") or {}).get("annotations") or {}
    if manager == "kubectl" and LAST_APPLIED in ann and scope != "status":
        applied = copy.deepcopy(cfg)
        (applied.get("metadata") or {}).get("annotations", {}).pop(LAST_APPLIED, None)
        ann[LAST_APPLIED] = json.dumps(applied, separators=(",", ":")) + "\n"
    return new, managed
