"""gcontainer.py - GKE (container v1): clusters, node pools, operations.

Under /v1/projects/P/locations/L/ (L "-" lists every location):
  clusters GET (list), clusters/C GET: endpoint and
      masterAuth.clusterCaCertificate (base64 PEM); a cluster seeded with
      `kube: DIR` reads DIR/port and DIR/ca.crt of a local Kubernetes fake
      at each request, giving endpoint "127.0.0.1:PORT"
  clusters/C/nodePools GET (list), POST {nodePool} (CREATE_NODE_POOL)
  clusters/C/nodePools/NP GET, DELETE (DELETE_NODE_POOL)
  operations GET (list), operations/OP GET
Node pools carry instanceGroupUrls of zonal instance group managers in the
compute fake, backed by a global template gke-C-NP-HASH with the pool's
machine type, boot disk image, metadata items (kube-env, cluster-name,
cluster-location, ...) and labels. Operations go PENDING, RUNNING, DONE
over timing.operation seconds; the change lands at DONE (a new pool is
PROVISIONING until then, a deleted one STOPPING). A second change while
one runs on the cluster is 400 FAILED_PRECONDITION, as GKE answers.
"""
import base64
import hashlib
import os
import random
import time

import gcompute
from gerr import GError, Resp, rfc3339

DEFAULT_VERSION = "1.32.2-gke.1182003"
DEFAULT_IMAGE = "projects/gke-node-images/global/images/gke-1322-gke1182003-cos-117-18613-164-4-c-pre"


def init(state):
    state.clusters = {}        # (project, location, name) -> cluster
    state.gke_ops = {}         # (project, location, name) -> operation
    state.gke_run = {}


def _zones(cluster, pool):
    if pool.get("locations"):
        return list(pool["locations"])
    if cluster.get("locations"):
        return list(cluster["locations"])
    loc = cluster["location"]
    return [loc] if loc.count("-") >= 2 else [loc + "-a"]


def make_pool_resources(st, project, cluster, pool, template=None):
    """The pool's template and groups in the compute fake."""
    cname, pname = cluster["name"], pool["name"]
    h = hashlib.sha256(("%s/%s/%s" % (project, cname, pname)).encode()) \
        .hexdigest()[:8]
    tname = "gke-%s-%s-%s" % (cname, pname, h)
    cfg = pool.get("config") or {}
    props = (template or {}).get("properties")
    if props is None:
        labels = {"goog-gke-node": "", "goog-k8s-cluster-name": cname,
                  "goog-k8s-node-pool-name": pname}
        kube_env = "CLUSTER_NAME: %s\nNODE_LABELS: cloud.google.com/gke-" \
            "nodepool=%s\nKUBERNETES_MASTER_NAME: %s\n" % (
                cname, pname, cluster.get("endpoint") or "")
        props = {
            "machineType": cfg.get("machineType", "e2-medium"),
            "disks": [{"boot": True, "autoDelete": True, "type": "PERSISTENT",
                       "mode": "READ_WRITE", "initializeParams": {
                           "sourceImage": cfg.get("sourceImage") or
                           cluster.get("nodeImage") or DEFAULT_IMAGE,
                           "diskSizeGb": str(cfg.get("diskSizeGb", 100)),
                           "diskType": cfg.get("diskType", "pd-balanced")}}],
            "metadata": {"items": [
                {"key": "kube-env", "value": kube_env},
                {"key": "cluster-name", "value": cname},
                {"key": "cluster-location", "value": cluster["location"]},
                {"key": "gci-update-strategy", "value": "update_disabled"},
                {"key": "kube-labels", "value":
                 "cloud.google.com/gke-nodepool=%s" % pname}]},
            "labels": labels,
            "networkInterfaces": [{"network": "projects/%s/global/networks/"
                                   "default" % project}],
            "serviceAccounts": [{"email": "default", "scopes": [
                "https://www.googleapis.com/auth/cloud-platform"]}],
            "tags": {"items": ["gke-%s-%s-node" % (cname, h)]}}
    gcompute.add_template(st, project, "global", tname, props)
    groups = []
    for z in _zones(cluster, pool):
        g = gcompute.add_igm(st, project, "zones/" + z, tname + "-grp",
                             "projects/%s/global/instanceTemplates/%s"
                             % (project, tname),
                             int(pool.get("initialNodeCount", 1)))
        groups.append(g["selfLink"])
    pool["_groups"] = groups
    pool["_templates"] = ["projects/%s/global/instanceTemplates/%s"
                          % (project, tname)]


def drop_pool_resources(st, pool):
    for g in pool.get("_groups", []):
        k = gcompute._key(g)
        st.igms.pop((k[0], k[1], k[3]), None)
    for t in pool.get("_templates", []):
        k = gcompute._key(t)
        if not gcompute.template_users(st, t):
            st.templates.pop((k[0], k[1], k[3]), None)


def new_pool(cluster, spec):
    p = dict(spec)
    p.pop("template", None)
    p.setdefault("version", cluster.get("currentNodeVersion",
                                        DEFAULT_VERSION))
    p.setdefault("initialNodeCount", 1)
    p.setdefault("config", {"machineType": "e2-medium", "diskSizeGb": 100,
                            "imageType": "COS_CONTAINERD"})
    p.setdefault("status", "RUNNING")
    p.setdefault("management", {"autoUpgrade": True, "autoRepair": True})
    p.setdefault("maxPodsConstraint", {"maxPodsPerNode": "110"})
    p.setdefault("podIpv4CidrSize", 24)
    p.setdefault("locations", _zones(cluster, p))
    p.setdefault("etag", "%08x" % random.getrandbits(32))
    return p


def add_cluster(st, project, spec):
    c = dict(spec)
    pools = c.pop("nodePools", None) or []
    c.pop("project", None)
    loc = c["location"]
    c.setdefault("zone", loc)
    c.setdefault("id", "%032x" % random.getrandbits(128))
    c.setdefault("status", "RUNNING")
    c.setdefault("currentMasterVersion", DEFAULT_VERSION)
    c.setdefault("currentNodeVersion", c["currentMasterVersion"])
    c.setdefault("initialClusterVersion", c["currentMasterVersion"])
    c.setdefault("network", "default")
    c.setdefault("subnetwork", "default")
    c.setdefault("createTime", rfc3339(time.time(), 0).replace(".", ""))
    c.setdefault("endpoint", "34.1.2.3")
    c.setdefault("locations", [loc] if loc.count("-") >= 2 else
                 [loc + "-a", loc + "-b", loc + "-c"])
    c.setdefault("releaseChannel", {"channel": "REGULAR"})
    c["nodePools"] = []
    st.clusters[(project, loc, c["name"])] = c
    for ps in pools:
        p = new_pool(c, ps)
        if p.get("instanceGroups"):     # seeded managers (seed.py)
            p["_groups"] = [gcompute.path_of(u)
                            for u in p.pop("instanceGroups")]
        else:
            make_pool_resources(st, project, c, p, ps.get("template"))
        c["nodePools"].append(p)
    return c


def _link(req, path):
    return req.base + "/v1/" + path


def _render_pool(req, st, project, c, p):
    out = {k: v for k, v in p.items() if not k.startswith("_")}
    b = gcompute.base(None, st)
    out["instanceGroupUrls"] = [b + "/" + g for g in p.get("_groups", [])]
    out["selfLink"] = _link(req, "projects/%s/locations/%s/clusters/%s/"
                            "nodePools/%s" % (project, c["location"],
                                              c["name"], p["name"]))
    return out


def _render(req, st, project, c):
    out = {k: v for k, v in c.items() if not k.startswith("_") and
           k not in ("kube", "nodeImage", "clusterCaCertificate")}
    ca = c.get("clusterCaCertificate", "")
    if c.get("kube"):
        d = c["kube"]
        try:
            with open(os.path.join(d, "port")) as f:
                out["endpoint"] = "127.0.0.1:" + f.read().strip()
            with open(os.path.join(d, "ca.crt"), "rb") as f:
                ca = base64.b64encode(f.read()).decode()
        except OSError:
            pass
    out["masterAuth"] = {"clusterCaCertificate": ca}
    out["nodePools"] = [_render_pool(req, st, project, c, p)
                        for p in c["nodePools"]]
    out["selfLink"] = _link(req, "projects/%s/locations/%s/clusters/%s"
                            % (project, c["location"], c["name"]))
    return out


def _operation(req, st, project, c, kind, target, apply):
    busy = [o for (p, l, _), o in st.gke_ops.items() if p == project and
            o["status"] != "DONE" and o["_cluster"] == c["name"]]
    if busy:
        raise GError(400, "Cluster is running incompatible operation %s."
                     % busy[0]["name"], "failedPrecondition",
                     "FAILED_PRECONDITION")
    name = "operation-%d-%08x" % (int(time.time() * 1000),
                                  random.getrandbits(32))
    loc = c["location"]
    op = {"name": name, "zone": loc, "location": loc,
          "operationType": kind, "status": "PENDING",
          "selfLink": "projects/%s/locations/%s/operations/%s"
          % (project, loc, name),
          "targetLink": target, "startTime": rfc3339(time.time(), 9),
          "_cluster": c["name"]}
    st.gke_ops[(project, loc, name)] = op
    st.gke_run[(project, loc, name)] = {"at": time.time(), "apply": apply}
    return _op_out(req, op)


def _op_out(req, op):
    out = {k: v for k, v in op.items() if not k.startswith("_")}
    out["selfLink"] = _link(req, op["selfLink"])
    out["targetLink"] = _link(req, op["targetLink"])
    return out


def tick(st, now):
    d = float(st.timing["operation"])
    for key, op in st.gke_ops.items():
        if op["status"] == "DONE":
            continue
        run = st.gke_run[key]
        if op["status"] == "PENDING" and now >= run["at"] + d / 2:
            op["status"] = "RUNNING"
        if op["status"] == "RUNNING" and now >= run["at"] + d:
            run["apply"]()
            op["status"] = "DONE"
            op["endTime"] = rfc3339(now, 9)


def _cluster(st, project, loc, name):
    c = st.clusters.get((project, loc, name))
    if c is None and loc == "-":
        c = next((v for (p, _, n), v in st.clusters.items()
                  if p == project and n == name), None)
    if c is None:
        raise GError(404, "Not found: projects/%s/locations/%s/clusters/%s."
                     % (project, loc, name), "notFound")
    return c


def _pools(req, st, project, c, rest):
    m = req.method
    cpath = "projects/%s/locations/%s/clusters/%s" % (project, c["location"],
                                                       c["name"])
    if not rest:
        if m == "GET":
            return Resp(200, {"nodePools": [_render_pool(req, st, project, c, p)
                                            for p in c["nodePools"]]})
        if m == "POST":
            spec = req.json().get("nodePool")
            if not isinstance(spec, dict) or not spec.get("name"):
                raise GError(400, "Node pool name must be specified.",
                             "badRequest")
            if any(p["name"] == spec["name"] for p in c["nodePools"]):
                raise GError(409, "Already exists: %s/nodePools/%s."
                             % (cpath, spec["name"]), "alreadyExists")
            p = new_pool(c, spec)
            p["status"] = "PROVISIONING"

            def apply():
                make_pool_resources(st, project, c, p)
                p["status"] = "RUNNING"
            out = _operation(req, st, project, c, "CREATE_NODE_POOL",
                             cpath + "/nodePools/" + p["name"], apply)
            c["nodePools"].append(p)
            return Resp(200, out)
        return None
    p = next((p for p in c["nodePools"] if p["name"] == rest), None)
    if p is None:
        raise GError(404, "Not found: %s/nodePools/%s." % (cpath, rest),
                     "notFound")
    if m == "GET":
        return Resp(200, _render_pool(req, st, project, c, p))
    if m == "DELETE":
        def apply():
            drop_pool_resources(st, p)
            c["nodePools"].remove(p)
        out = _operation(req, st, project, c, "DELETE_NODE_POOL",
                         cpath + "/nodePools/" + rest, apply)
        p["status"] = "STOPPING"
        return Resp(200, out)
    return None


def route(req):
    st = req.state
    with st.lock:
        return _route(req, st)


def _route(req, st):
    p = req.path.strip("/").split("/")
    if len(p) < 6 or p[:2] != ["v1", "projects"] or p[3] != "locations":
        return None
    project, loc, coll, rest = p[2], p[4], p[5], p[6:]
    st.check_project(project)
    if coll == "operations" and req.method == "GET":
        if not rest:
            return Resp(200, {"operations": [
                _op_out(req, o) for (pp, l, _), o in sorted(
                    st.gke_ops.items()) if pp == project and loc in (l, "-")]})
        op = st.gke_ops.get((project, loc, rest[0]))
        if op is None or len(rest) != 1:
            raise GError(404, "Not found: projects/%s/locations/%s/"
                         "operations/%s." % (project, loc, "/".join(rest)),
                         "notFound")
        return Resp(200, _op_out(req, op))
    if coll != "clusters":
        return None
    if not rest:
        if req.method != "GET":
            return None
        return Resp(200, {"clusters": [
            _render(req, st, project, c) for (pp, l, _), c in
            sorted(st.clusters.items()) if pp == project and loc in (l, "-")]})
    c = _cluster(st, project, loc, rest[0])
    if len(rest) == 1 and req.method == "GET":
        return Resp(200, _render(req, st, project, c))
    if len(rest) >= 2 and rest[1] == "nodePools" and len(rest) <= 3:
        return _pools(req, st, project, c, rest[2] if len(rest) == 3 else "")
    return None
