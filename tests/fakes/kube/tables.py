"""tables.py - meta.k8s.io/v1 Table responses (what `kubectl get` prints).

table(res, version, objs, include) renders objects as the server's table
convertor does: the columns of the built-in printers for the kinds people
look at (pods, jobs, nodes, namespaces, ...), a CRD's
additionalPrinterColumns (JSONPath subset: .a.b, [n], [?(@.k=="v")]), and
Name/Age for everything else. Ages are printed as kubectl does ("5s",
"3m2s", "4h").
"""
import calendar
import json
import re
import time

NAME_COL = {"name": "Name", "type": "string", "format": "name",
            "description": "Name must be unique within a namespace.",
            "priority": 0}


def _col(name, typ="string", priority=0, desc=""):
    return {"name": name, "type": typ, "format": "", "description": desc,
            "priority": priority}


def human_duration(seconds):
    s = int(seconds)
    if s < 0:
        return "<invalid>"
    if s < 120:
        return "%ds" % s
    m = s // 60
    if m < 10:
        return "%dm%ds" % (m, s % 60) if s % 60 else "%dm" % m
    if m < 180:
        return "%dm" % m
    h = m // 60
    if h < 8:
        return "%dh%dm" % (h, m % 60) if m % 60 else "%dh" % h
    if h < 48:
        return "%dh" % h
    if h < 24 * 8:
        return "%dd%dh" % (h // 24, h % 24) if h % 24 else "%dd" % (h // 24)
    if h < 24 * 365 * 2:
        return "%dd" % (h // 24)
    return "%dy%dd" % (h // 24 // 365, (h // 24) % 365)


def _epoch(ts):
    try:
        return calendar.timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ"))
    except (TypeError, ValueError):
        return None


def age(ts):
    t = _epoch(ts)
    return "<unknown>" if t is None else human_duration(time.time() - t)


def _md(o):
    return o.get("metadata") or {}


def _pod_row(o):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    cs = st.get("containerStatuses") or []
    ready = sum(1 for c in cs if c.get("ready"))
    total = len(spec.get("containers") or [])
    restarts = sum(c.get("restartCount", 0) for c in cs)
    reason = st.get("reason") or st.get("phase") or "Unknown"
    for c in cs:
        state = c.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated", {}).get("reason"):
            reason = state["terminated"]["reason"]
    if _md(o).get("deletionTimestamp"):
        reason = "Terminating"
    return ["%d/%d" % (ready, total), reason, restarts,
            age(_md(o).get("creationTimestamp")), st.get("podIP") or "<none>",
            spec.get("nodeName") or "<none>", "<none>", "<none>"]


def _job_row(o):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    conds = {c.get("type"): c.get("status") for c in st.get("conditions") or []}
    if conds.get("Complete") == "True":
        status = "Complete"
    elif conds.get("Failed") == "True":
        status = "Failed"
    elif conds.get("FailureTarget") == "True":
        status = "FailureTarget"
    elif conds.get("SuccessCriteriaMet") == "True":
        status = "SuccessCriteriaMet"
    elif spec.get("suspend"):
        status = "Suspended"
    else:
        status = "Running"
    comp = spec.get("completions")
    completions = "%d/%s" % (st.get("succeeded", 0),
                             comp if comp is not None else "1 of %d"
                             % spec.get("parallelism", 1))
    start, end = _epoch(st.get("startTime")), _epoch(st.get("completionTime"))
    dur = "" if start is None else human_duration((end or time.time()) - start)
    c = (spec.get("template") or {}).get("spec", {}).get("containers") or []
    return [status, completions, dur, age(_md(o).get("creationTimestamp")),
            ",".join(x.get("name", "") for x in c),
            ",".join(x.get("image", "") for x in c),
            ",".join("%s=%s" % kv for kv in
                     ((spec.get("selector") or {}).get("matchLabels") or {}).items())]


def _node_row(o):
    st = o.get("status") or {}
    ready = next((c for c in st.get("conditions") or []
                  if c.get("type") == "Ready"), None)
    status = "Unknown" if ready is None else \
        ("Ready" if ready.get("status") == "True" else "NotReady")
    if (o.get("spec") or {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    roles = sorted(k.split("/", 1)[1] for k in (_md(o).get("labels") or {})
                   if k.startswith("node-role.kubernetes.io/"))
    role = (_md(o).get("labels") or {}).get("kubernetes.io/role")
    if role and role not in roles:
        roles.append(role)
    return [status, ",".join(roles) or "<none>",
            age(_md(o).get("creationTimestamp")),
            (st.get("nodeInfo") or {}).get("kubeletVersion", "")]


def _deploy_row(o):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    return ["%d/%d" % (st.get("readyReplicas", 0), spec.get("replicas", 1)),
            st.get("updatedReplicas", 0), st.get("availableReplicas", 0),
            age(_md(o).get("creationTimestamp"))]


PRINTERS = {
    "deployments.apps": ([_col("Ready"), _col("Up-to-date", "integer"),
                          _col("Available", "integer"), _col("Age")],
                         _deploy_row),
    "pods": ([_col("Ready"), _col("Status"), _col("Restarts", "string"),
              _col("Age"), _col("IP", priority=1), _col("Node", priority=1),
              _col("Nominated Node", priority=1),
              _col("Readiness Gates", priority=1)], _pod_row),
    "jobs.batch": ([_col("Status"), _col("Completions"), _col("Duration"),
                    _col("Age"), _col("Containers", priority=1),
                    _col("Images", priority=1), _col("Selector", priority=1)],
                   _job_row),
    "nodes": ([_col("Status"), _col("Roles"), _col("Age"), _col("Version")],
              _node_row),
    "namespaces": ([_col("Status"), _col("Age")],
                   lambda o: [(o.get("status") or {}).get("phase", ""),
                              age(_md(o).get("creationTimestamp"))]),
    "configmaps": ([_col("Data", "integer"), _col("Age")],
                   lambda o: [len(o.get("data") or {}) +
                              len(o.get("binaryData") or {}),
                              age(_md(o).get("creationTimestamp"))]),
    "secrets": ([_col("Type"), _col("Data", "integer"), _col("Age")],
                lambda o: [o.get("type", ""), len(o.get("data") or {}),
                           age(_md(o).get("creationTimestamp"))]),
    "serviceaccounts": ([_col("Secrets", "integer"), _col("Age")],
                        lambda o: [len(o.get("secrets") or []),
                                   age(_md(o).get("creationTimestamp"))]),
    "services": ([_col("Type"), _col("Cluster-IP"), _col("External-IP"),
                  _col("Port(s)"), _col("Age")],
                 lambda o: [(o.get("spec") or {}).get("type", ""),
                            (o.get("spec") or {}).get("clusterIP", "<none>"),
                            "<none>",
                            ",".join("%s/%s" % (p.get("port"), p.get("protocol", "TCP"))
                                     for p in (o.get("spec") or {}).get("ports") or [])
                            or "<none>",
                            age(_md(o).get("creationTimestamp"))]),
    "leases.coordination.k8s.io": ([_col("Holder"), _col("Age")],
                                   lambda o: [(o.get("spec") or {}).get(
                                       "holderIdentity", ""),
                                       age(_md(o).get("creationTimestamp"))]),
    "events": ([_col("Last Seen"), _col("Type"), _col("Reason"),
                _col("Object"), _col("Message")],
               lambda o: [age(o.get("lastTimestamp") or o.get("eventTime") or
                              _md(o).get("creationTimestamp")),
                          o.get("type", ""), o.get("reason", ""),
                          "%s/%s" % ((o.get("involvedObject") or {}).get("kind", "").lower(),
                                     (o.get("involvedObject") or {}).get("name", "")),
                          o.get("message", "")]),
    "customresourcedefinitions.apiextensions.k8s.io": (
        [_col("Created At", "date")],
        lambda o: [_md(o).get("creationTimestamp")]),
}


def jsonpath(obj, path):
    """Values of a JSONPath subset; [] when nothing matches."""
    cur = [obj]
    toks = re.findall(r'\.([^.\[]+)|\[\?\(@\.([^=!]+)\s*==\s*["\']([^"\']*)["\']\)\]'
                      r'|\[(\d+|\*)\]', path)
    for name, fkey, fval, idx in toks:
        nxt = []
        for c in cur:
            if name:
                if isinstance(c, dict) and name in c:
                    nxt.append(c[name])
            elif fkey:
                if isinstance(c, list):
                    nxt += [x for x in c if isinstance(x, dict) and
                            str(_get(x, fkey.strip())) == fval]
            elif idx == "*":
                if isinstance(c, list):
                    nxt += c
                elif isinstance(c, dict):
                    nxt += list(c.values())
            elif isinstance(c, list) and int(idx) < len(c):
                nxt.append(c[int(idx)])
        cur = nxt
    return cur


def _get(o, dotted):
    for p in dotted.split("."):
        if not isinstance(o, dict):
            return None
        o = o.get(p)
    return o


def _cell(vals, typ):
    if not vals:
        return None
    v = vals[0]
    if typ == "date":
        return age(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return v


def _partial(o, api_version, kind):
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": o.get("metadata") or {}}


def table(res, version, objs, include="Metadata", list_md=None):
    cols = [NAME_COL]
    if res.crd:
        pcs = res.columns.get(version)
        if pcs is None:
            pcs = [{"name": "Age", "type": "date",
                    "jsonPath": ".metadata.creationTimestamp"}]
        for c in pcs:
            cols.append(_col(c["name"], c.get("type", "string"),
                             c.get("priority", 0), c.get("description", "")))

        def row(o):
            return [_cell(jsonpath(o, c["jsonPath"]), c.get("type"))
                    for c in pcs]
    elif res.qname in PRINTERS:
        extra, row = PRINTERS[res.qname]
        cols += extra
    else:
        cols.append(_col("Age"))

        def row(o):
            return [age(_md(o).get("creationTimestamp"))]
    rows = []
    for o in objs:
        r = {"cells": [_md(o).get("name")] + row(o)}
        if include == "Object":
            r["object"] = o
        elif include != "None":
            r["object"] = _partial(o, res.api_version(version), res.kind)
        rows.append(r)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": list_md or {}, "columnDefinitions": cols, "rows": rows}
