"""patch.py - JSON merge patch, strategic merge patch and JSON patch.

All functions take the current object and a patch and return a new object;
neither argument is modified. list_type() is the fake's knowledge of the
schema: which lists merge by a key (containers by name, ports by
containerPort and protocol...), which are sets (finalizers), and which are
atomic (everything else). Server-side apply (apply.py) uses it too.
"""
import copy
import json

from errors import ApiError

_NAME = ["name"]
MERGE_KEYS = {
    "containers": _NAME, "initContainers": _NAME, "ephemeralContainers": _NAME,
    "volumes": _NAME, "env": _NAME, "imagePullSecrets": _NAME,
    "volumeMounts": ["mountPath"], "volumeDevices": ["devicePath"],
    "ownerReferences": ["uid"], "conditions": ["type"], "hostAliases": ["ip"],
    "addresses": ["type"], "replicatedJobs": _NAME, "podSets": _NAME,
    "flavors": _NAME, "podSetAssignments": _NAME, "reclaimablePods": _NAME,
    "flavorsReservation": _NAME, "flavorsUsage": _NAME,
    "resourceClaims": _NAME, "schedulingGates": _NAME,
    "topologySpreadConstraints": ["topologyKey", "whenUnsatisfiable"],
}
SETS = {"finalizers"}


def list_type(field, items):
    """None (atomic), "set", or the list of key fields."""
    if field in SETS:
        return "set"
    if not items or not all(isinstance(x, dict) for x in items):
        return None
    if field == "ports":
        if all("containerPort" in x for x in items):
            return ["containerPort", "protocol"]
        if all("port" in x for x in items):
            return ["port", "protocol"]
        return None
    keys = MERGE_KEYS.get(field)
    if keys and all(all(k in x for k in keys) for x in items):
        return keys
    return None


def item_key(item, keys):
    """The key of a list item as a dict (protocol defaults to TCP)."""
    k = {}
    for f in keys:
        v = item.get(f)
        if v is None and f == "protocol":
            v = "TCP"
        k[f] = v
    return k


def key_str(item, keys):
    return json.dumps(item_key(item, keys), sort_keys=True, separators=(",", ":"))


# -- JSON merge patch (RFC 7386) ------------------------------------------

def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# -- strategic merge patch ------------------------------------------------

def strategic_merge(target, patch, field=None):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "delete":
        return None
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items()
                if not k.startswith("$")}
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$setElementOrder/") or k == "$retainKeys":
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            f = k.split("/", 1)[1]
            if isinstance(out.get(f), list):
                out[f] = [x for x in out[f] if x not in v]
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, list):
            out[k] = _strategic_list(out.get(k), v, k)
        else:
            r = strategic_merge(out.get(k), v, k)
            if r is None:
                out.pop(k, None)
            else:
                out[k] = r
    return out


def _strategic_list(cur, patch, field):
    if any(isinstance(x, dict) and x.get("$patch") == "replace" for x in patch):
        return [copy.deepcopy(x) for x in patch
                if not (isinstance(x, dict) and "$patch" in x)]
    kind = list_type(field, [x for x in patch if isinstance(x, dict)] or
                     (cur or []))
    if kind == "set":
        base = list(cur or [])
        return base + [x for x in patch if x not in base]
    if not isinstance(kind, list) or not isinstance(cur, list):
        return [copy.deepcopy(x) for x in patch
                if not (isinstance(x, dict) and x.get("$patch") == "delete")]
    out = list(cur)
    for item in patch:
        if not isinstance(item, dict):
            continue
        k = key_str(item, kind)
        idx = next((i for i, x in enumerate(out)
                    if isinstance(x, dict) and key_str(x, kind) == k), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                del out[idx]
        elif idx is None:
            out.append(copy.deepcopy(item))
        else:
            out[idx] = strategic_merge(out[idx], item)
    return out


# -- JSON patch (RFC 6902) -------------------------------------------------

def _ptr(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, "Invalid", "json patch path must start with /: %s" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc, parts, path):
    cur = doc
    for p in parts[:-1]:
        if isinstance(cur, list):
            try:
                cur = cur[int(p)]
            except (ValueError, IndexError):
                raise _missing(path)
        elif isinstance(cur, dict) and p in cur:
            cur = cur[p]
        else:
            raise _missing(path)
    return cur


def _missing(path):
    return ApiError(422, "Invalid",
                    "the server rejected our request due to an error in our "
                    "request: doc is missing path: \"%s\"" % path)


def _get(doc, path):
    parts = _ptr(path)
    if not parts:
        return doc
    par = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(par, list):
        try:
            return par[int(last)]
        except (ValueError, IndexError):
            raise _missing(path)
    if isinstance(par, dict) and last in par:
        return par[last]
    raise _missing(path)


def _remove(doc, path):
    parts = _ptr(path)
    par = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(par, list):
        try:
            return par.pop(int(last))
        except (ValueError, IndexError):
            raise _missing(path)
    if isinstance(par, dict) and last in par:
        return par.pop(last)
    raise _missing(path)


def _add(doc, path, value):
    parts = _ptr(path)
    if not parts:
        return value
    par = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(par, list):
        if last == "-":
            par.append(value)
        else:
            try:
                i = int(last)
            except ValueError:
                raise _missing(path)
            if i > len(par):
                raise _missing(path)
            par.insert(i, value)
    elif isinstance(par, dict):
        par[last] = value
    else:
        raise _missing(path)
    return doc


def json_patch(target, ops):
    if not isinstance(ops, list):
        raise ApiError(400, "BadRequest", "json patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in ops:
        kind = op.get("op")
        path = op.get("path", "")
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            _remove(doc, path)
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "move":
            v = _remove(doc, op.get("from", ""))
            doc = _add(doc, path, v)
        elif kind == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, op.get("from", ""))))
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise ApiError(422, "Invalid",
                               "the server rejected our request due to an error "
                               "in our request: testing value %s failed" % path)
        else:
            raise ApiError(400, "BadRequest", "Unexpected kind: %s" % kind)
    return doc
