"""controllers_common.py - what the controllers share: object and condition
helpers, resource quantities (parse and print as resource.Quantity does),
pod resource requests, and the node matching rules of the scheduler
(taints and tolerations, node selectors and affinity).
"""
import random
import re
import sys
from datetime import datetime
from fractions import Fraction

PODS, NODES, EVENTS = "pods", "nodes", "events"
JOBS, JOBSETS = "jobs.batch", "jobsets.jobset.x-k8s.io"
WORKLOADS = "workloads.kueue.x-k8s.io"
CQS, LQS = "clusterqueues.kueue.x-k8s.io", "localqueues.kueue.x-k8s.io"
RFS = "resourceflavors.kueue.x-k8s.io"
PRIORITY_CLASSES = "priorityclasses.scheduling.k8s.io"

JOB_NAME, JOB_NAME_LEGACY = "batch.kubernetes.io/job-name", "job-name"
JOB_UID, JOB_UID_LEGACY = "batch.kubernetes.io/controller-uid", "controller-uid"
JOB_INDEX = "batch.kubernetes.io/job-completion-index"
JS_API, JS_CONTROLLER = "jobset.x-k8s.io/v1alpha2", "jobset.sigs.k8s.io/jobset-controller"
JS = "jobset.sigs.k8s.io/"
JS_NAME, JS_RJOB = JS + "jobset-name", JS + "replicatedjob-name"
JS_RESTARTS, JS_INDEX = JS + "restart-attempt", JS + "job-index"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
KUEUE_API = "kueue.x-k8s.io/v1beta1"
KUEUE_FINALIZER = "kueue.x-k8s.io/resource-in-use"
FINAL = {"Complete", "Failed"}


def log(msg):
    print("controllers: %s" % msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- objects

def meta(o):
    return o.setdefault("metadata", {})


def labels_of(o):
    return (o.get("metadata") or {}).get("labels") or {}


def controller_ref(o):
    for r in (o.get("metadata") or {}).get("ownerReferences") or []:
        if r.get("controller"):
            return r
    return None


def owner_ref(o):
    m = o["metadata"]
    return {"apiVersion": o["apiVersion"], "kind": o["kind"], "name": m["name"],
            "uid": m["uid"], "controller": True, "blockOwnerDeletion": True}


def owned_by(o, uid):
    r = controller_ref(o)
    return r is not None and r.get("uid") == uid


def find_cond(o, ctype):
    for c in (o.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def cond_true(o, ctype):
    c = find_cond(o, ctype)
    return c is not None and c.get("status") == "True"


def set_cond(conds, ctype, status, reason, message, now, probe=False, gen=None):
    """Sets a condition the way apimeta.SetStatusCondition does: the
    transition time moves only when the status changes. Returns whether
    anything changed."""
    new = {"type": ctype, "status": status, "reason": reason,
           "message": message, "lastTransitionTime": now}
    if probe:
        new["lastProbeTime"] = now
    if gen is not None:
        new["observedGeneration"] = gen
    for i, c in enumerate(conds):
        if c.get("type") != ctype:
            continue
        if c.get("status") == status:
            new["lastTransitionTime"] = c.get("lastTransitionTime", now)
            if probe:
                new["lastProbeTime"] = c.get("lastProbeTime", now)
        if c == new:
            return False
        conds[i] = new
        return True
    conds.append(new)
    return True


def ts_parse(s):
    if not s:
        return None
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def is_suspended(o):
    return bool((o.get("spec") or {}).get("suspend"))


def rand5():
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))


# ------------------------------------------------------------- quantities

_SUFFIX = {"": 1, "n": Fraction(1, 10**9), "u": Fraction(1, 10**6),
           "m": Fraction(1, 1000), "k": 10**3, "M": 10**6, "G": 10**9,
           "T": 10**12, "P": 10**15, "E": 10**18, "Ki": 2**10, "Mi": 2**20,
           "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_QTY = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?")


def qty(v):
    """A resource quantity ("500m", "2Gi", "1e3", 4) as an exact Fraction."""
    if isinstance(v, (int, float)):
        return Fraction(str(v))
    m = _QTY.fullmatch(str(v).strip())
    if not m:
        raise ValueError("quantities must match the regular expression "
                         "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    n = Fraction(m.group(1))
    if m.group(2):
        return n * Fraction(10) ** int(m.group(2))
    return n * _SUFFIX[m.group(3) or ""]


def qty_str(v, binary=False):
    """The canonical form resource.Quantity prints: binary suffixes only for
    whole multiples of 1024, decimal exponents in steps of three."""
    if v == 0:
        return "0"
    if binary and v.denominator == 1 and abs(v) >= 1024:
        n, i = int(v), 0
        while n % 1024 == 0 and i < 6:
            n, i = n // 1024, i + 1
        return "%d%s" % (n, ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][i])
    n, e = -((-v * 10**9) // 1), -9          # rounded up to nano units
    while n % 1000 == 0 and e < 18:
        n, e = n // 1000, e + 3
    return "%d%s" % (n, {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M",
                         9: "G", 12: "T", 15: "P", 18: "E"}[e])


def res_str(name, v):
    """Kueue's ResourceQuantityString: cpu in milli units, memory binary."""
    if name == "cpu":
        return qty_str(-((-v * 1000) // 1) / Fraction(1000))
    return qty_str(v, name in ("memory", "ephemeral-storage") or name.startswith("hugepages-"))


def _container_requests(c):
    res = c.get("resources") or {}
    out = {k: qty(v) for k, v in (res.get("limits") or {}).items()}
    out.update({k: qty(v) for k, v in (res.get("requests") or {}).items()})
    return out


def _add(a, b):
    for k, v in b.items():
        a[k] = a.get(k, 0) + v
    return a


def _max(a, b):
    for k, v in b.items():
        a[k] = max(a.get(k, 0), v)
    return a


def pod_requests(spec):
    """What one pod asks for: the sum of its containers (and sidecars), or
    the largest init container if that is more, plus the pod overhead. A
    limit without a request counts as the request, as the API server
    defaults it."""
    total = {}
    for c in spec.get("containers") or []:
        _add(total, _container_requests(c))
    sidecars, init = {}, {}
    for c in spec.get("initContainers") or []:
        r = _container_requests(c)
        if c.get("restartPolicy") == "Always":
            _add(sidecars, r)
            _max(init, sidecars)
        else:
            _max(init, _add(dict(r), sidecars))
    _max(_add(total, sidecars), init)
    return _add(total, {k: qty(v) for k, v in (spec.get("overhead") or {}).items()})


# ------------------------------------------------------ node matching

def tolerates(tolerations, taint):
    for t in tolerations or []:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        op = t.get("operator") or "Equal"
        if t.get("key"):
            if t["key"] != taint.get("key"):
                continue
        elif op != "Exists":
            continue
        if op == "Exists" or (t.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _expr_match(expr, value, present):
    op, vals = expr.get("operator"), expr.get("values") or []
    if op == "In":
        return present and value in vals
    if op == "NotIn":
        return not present or value not in vals
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and vals:
        try:
            a, b = int(value), int(vals[0])
        except ValueError:
            return False
        return a > b if op == "Gt" else a < b
    return False


def node_matches(pod_spec, node):
    """nodeSelector and requiredDuringSchedulingIgnoredDuringExecution."""
    nl = labels_of(node)
    for k, v in (pod_spec.get("nodeSelector") or {}).items():
        if nl.get(k) != v:
            return False
    req = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
           .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if not req:
        return True
    fields = {"metadata.name": node["metadata"]["name"]}
    for term in req.get("nodeSelectorTerms") or []:
        exprs, fexprs = term.get("matchExpressions") or [], term.get("matchFields") or []
        if not exprs and not fexprs:
            continue
        if all(_expr_match(e, nl.get(e.get("key")), e.get("key") in nl) for e in exprs) and \
           all(_expr_match(e, fields.get(e.get("key")), e.get("key") in fields) for e in fexprs):
            return True
    return False


def node_taints(node):
    """The node's taints plus the ones the node lifecycle controller adds
    for a node that is not Ready."""
    taints = list((node.get("spec") or {}).get("taints") or [])
    ready = find_cond(node, "Ready")
    extra = None
    if ready is None or ready.get("status") == "False":
        extra = "node.kubernetes.io/not-ready"
    elif ready.get("status") != "True":
        extra = "node.kubernetes.io/unreachable"
    if extra and not any(t.get("key") == extra for t in taints):
        taints.append({"key": extra, "effect": "NoSchedule"})
    return taints


def pod_priority(pod, classes):
    spec = pod.get("spec") or {}
    if spec.get("priority") is not None:
        return spec["priority"]
    pc = classes.get(spec.get("priorityClassName") or "")
    if pc is None:
        pc = next((c for c in classes.values() if c.get("globalDefault")), None)
    return (pc or {}).get("value", 0)
