"""seed.py - the initial resources of the fakes, from a YAML seed file.

The seed is read with tests/fakes/kube/yamlmini.py (block and flow YAML;
JSON is YAML too, so a JSON seed works). Every key is optional:

  project: wlkit-test          # default project (metadata server, env)
  projects: [wlkit-test, ...]  # when given, other projects get 403
  timing:                      # seconds; defaults in TIMING below
    buildQueued: 0.3
    buildWorking: 1.2
    logPieces: 4               # log-ID.txt is written in this many pieces
    operation: 0.4             # Compute and GKE operations PENDING->DONE
    waitTimeout: 2             # Compute operations' wait
    tokenLifetime: 3600        # expires_in of issued access tokens
  compute: {selfLinkBase: https://www.googleapis.com/compute/v1}
  serviceAccounts: [{client_email: x@p.iam.gserviceaccount.com,
                     n: MODULUS-HEX, e: 65537}]
  buckets:
    - {name: b, project: p, objects: [{name: a.txt, data: "text"}]}
  images:                      # compute images (getFromFamily)
    - {project: gke-node-images, name: img-1, family: fam,
       creationTimestamp: "2025-01-01T00:00:00.000-08:00"}
  instanceTemplates:           # region: R for a regional one
    - {project: p, name: t, properties: {...}}
  instanceGroupManagers:       # zone: Z or region: R
    - {project: p, zone: us-central1-a, name: g, instanceTemplate: t-url,
       targetSize: 1}             # or versions: [{name, instanceTemplate}]
                                 # and no instanceTemplate
  clusters:
    - project: p               # default: the seed's project
      location: us-central1
      name: c
      kube: /path/to/kube-fake-dir   # endpoint and CA from that fake, or
      endpoint: 1.2.3.4              # these two
      clusterCaCertificate: BASE64-PEM
      nodeImage: projects/gke-node-images/global/images/img-1
      nodePools:
        - name: default-pool
          locations: [us-central1-a]
          config: {machineType: e2-medium}
          template: {properties: {...}}   # optional: the template's own
          instanceGroups: [projects/p/regions/R/instanceGroupManagers/g]
                               # optional: seeded managers instead of the
                               # pool's own template and groups
"""
import os
import sys

import gauth
import gcompute
import gcontainer
import gstorage

TIMING = {"buildQueued": 0.3, "buildWorking": 1.2, "logPieces": 4,
          "operation": 0.4, "waitTimeout": 2, "tokenLifetime": 3600}


def _yaml(text):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(
        __file__)), "..", "kube"))
    import yamlmini
    return yamlmini.loads(text)


def load(st, path):
    with open(path) as f:
        s = _yaml(f.read()) or {}
    if not isinstance(s, dict):
        raise ValueError("%s: the seed must be a mapping" % path)
    with st.lock:
        apply(st, s)


def _items(s, key, required):
    """The entries of the seed's list KEY, each with its REQUIRED keys."""
    v = s.get(key) or []
    if not isinstance(v, list):
        raise ValueError("%s: must be a list" % key)
    for i, e in enumerate(v):
        if not isinstance(e, dict):
            raise ValueError("%s[%d]: must be a mapping" % (key, i))
        for r in required:
            if not any(k in e for k in r.split("|")):
                raise ValueError("%s[%d]: missing %s" % (key, i,
                                 " or ".join(r.split("|"))))
    return v


def apply(st, s):
    st.project = s.get("project") or st.project
    if s.get("projects"):
        st.projects = set(s["projects"]) | {st.project}
    st.timing.update(s.get("timing") or {})
    st.self_link_base = (s.get("compute") or {}).get("selfLinkBase")
    for sa in _items(s, "serviceAccounts", ("client_email", "n")):
        gauth.add_service_account(st, sa)
    for b in _items(s, "buckets", ("name",)):
        gstorage.ensure_bucket(st, b["name"], b.get("project", st.project))
        for o in b.get("objects") or []:
            gstorage.put_object(st, b["name"], o["name"],
                                str(o.get("data", "")).encode(),
                                o.get("contentType", "text/plain"))
    for i in _items(s, "images", ("name",)):
        i = dict(i)
        gcompute.add_image(st, i.pop("project", st.project), i)
    for t in _items(s, "instanceTemplates", ("name",)):
        scope = "regions/" + t["region"] if t.get("region") else "global"
        gcompute.add_template(st, t.get("project", st.project), scope,
                              t["name"], t.get("properties") or {},
                              t.get("description", ""))
    for g in _items(s, "instanceGroupManagers",
                   ("name", "zone|region", "instanceTemplate|versions")):
        scope = "zones/" + g["zone"] if g.get("zone") else \
            "regions/" + g["region"]
        p = g.get("project", st.project)

        def ref(r):
            return r if "/" in r else \
                "projects/%s/global/instanceTemplates/%s" % (p, r)
        versions = [dict(v, instanceTemplate=ref(v["instanceTemplate"]))
                    for v in g.get("versions") or []]
        gcompute.add_igm(st, p, scope, g["name"],
                         ref(g["instanceTemplate"]) if g.get(
                             "instanceTemplate") else "",
                         int(g.get("targetSize", 1)), versions or None)
    for c in _items(s, "clusters", ("name", "location")):
        gcontainer.add_cluster(st, c.get("project", st.project), c)


def timing_from_env(st, spec):
    """Timings from "key=seconds,key=seconds" (WLKIT_GCP_FAKE_TIMING)."""
    for item in filter(None, (x.strip() for x in spec.split(","))):
        k, sep, v = item.partition("=")
        if not sep or k not in TIMING:
            raise ValueError("WLKIT_GCP_FAKE_TIMING: unknown item %r (keys: "
                             "%s)" % (item, ", ".join(sorted(TIMING))))
        st.timing[k] = float(v)
