"""test_controllers.py - the controllers against a small in-memory store.

Run from tests/fakes/kube: python3 -m unittest test_controllers
The test plays the kubelet by hand: it creates Nodes and sets pod phases
through the status subresource; nothing in the product does that.
"""
import copy
import io
import threading
import time
import unittest
import uuid
from contextlib import redirect_stderr
from fractions import Fraction

import controllers
import controllers_job
from controllers_common import qty, qty_str, res_str, pod_requests
from errors import ApiError

NOW = lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class MiniStore:
    """The store interface (get, list, create, update, patch, delete,
    subscribe, now) with resourceVersions, generateName, the status
    subresource, finalizers, graceful deletion of pods on a node and
    garbage collection of dependents. Selectors are not needed."""

    def __init__(self):
        self.lock = threading.RLock()
        self.objs = {}
        self.rv = 0
        self.subs = []

    def now(self):
        return NOW()

    def subscribe(self, fn):
        self.subs.append(fn)

    def _commit(self, etype, res, obj):
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        key = (res, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if etype == "DELETED":
            self.objs.pop(key, None)
        else:
            self.objs[key] = obj
        for fn in self.subs:
            fn(etype, res, copy.deepcopy(obj))
        if etype == "DELETED":
            self._gc(obj["metadata"]["uid"])

    def get(self, res, ns, name):
        with self.lock:
            return copy.deepcopy(self.objs.get((res, ns, name)))

    def list(self, res, ns=None, label_selector=None, field_selector=None):
        with self.lock:
            return [copy.deepcopy(o) for (r, n, _), o in sorted(self.objs.items(), key=lambda kv: kv[0][1:] and (kv[0][1] or "", kv[0][2]))
                    if r == res and (ns is None or n == ns)]

    def create(self, res, obj):
        with self.lock:
            obj = copy.deepcopy(obj)
            m = obj.setdefault("metadata", {})
            if not m.get("name"):
                m["name"] = m["generateName"] + uuid.uuid4().hex[:5]
            if (res, m.get("namespace"), m["name"]) in self.objs:
                raise ApiError(409, "AlreadyExists", '%s "%s" already exists' % (res, m["name"]))
            m.update(uid=str(uuid.uuid4()), creationTimestamp=NOW(), generation=1)
            if res == "pods":
                obj.setdefault("status", {}).setdefault("phase", "Pending")
            self._commit("ADDED", res, obj)
            return copy.deepcopy(obj)

    def update(self, res, obj, subresource=None):
        with self.lock:
            m = obj["metadata"]
            cur = self.objs.get((res, m.get("namespace"), m["name"]))
            if cur is None:
                raise ApiError(404, "NotFound", "not found")
            if m.get("resourceVersion") and m["resourceVersion"] != cur["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", "the object has been modified")
            if subresource == "status":
                new = copy.deepcopy(cur)
                new["status"] = copy.deepcopy(obj.get("status") or {})
            else:
                new = copy.deepcopy(obj)
                for k in ("uid", "creationTimestamp", "deletionTimestamp"):
                    if k in cur["metadata"]:
                        new["metadata"][k] = cur["metadata"][k]
                if new.get("spec") != cur.get("spec"):
                    new["metadata"]["generation"] = cur["metadata"]["generation"] + 1
            if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers") \
               and not new["metadata"].get("deletionGracePeriodSeconds"):
                self._commit("DELETED", res, new)
            else:
                self._commit("MODIFIED", res, new)
            return copy.deepcopy(new)

    def patch(self, res, ns, name, patch, subresource=None):
        raise NotImplementedError

    def delete(self, res, ns, name, propagation="Background", grace_seconds=None):
        with self.lock:
            cur = self.objs.get((res, ns, name))
            if cur is None:
                raise ApiError(404, "NotFound", "not found")
            new = copy.deepcopy(cur)
            m = new["metadata"]
            grace = 0
            if res == "pods" and (new.get("spec") or {}).get("nodeName") and \
               new["status"].get("phase") not in ("Succeeded", "Failed"):
                grace = 30 if grace_seconds is None else grace_seconds
            if propagation == "Foreground":
                self._gc(m["uid"])
            if m.get("finalizers") or grace:
                if m.get("deletionTimestamp") and not grace:
                    return copy.deepcopy(cur)
                m["deletionTimestamp"] = NOW()
                m["deletionGracePeriodSeconds"] = grace
                self._commit("MODIFIED", res, new)
                return copy.deepcopy(new)
            self._commit("DELETED", res, new)
            return None

    def _gc(self, uid):
        for (r, ns, name), o in list(self.objs.items()):
            if any(ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences") or []) \
               and not o["metadata"].get("deletionTimestamp"):
                self.delete(r, ns, name)

    # Test helpers: the kubelet's part, by hand.
    def set_phase(self, pod, phase, **extra):
        p = self.get("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
        p["status"]["phase"] = phase
        p["status"].update(extra)
        return self.update("pods", p, subresource="status")


def wait_for(fn, timeout=5.0, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out waiting for %s" % what)


def cond(o, t):
    for c in ((o or {}).get("status") or {}).get("conditions") or []:
        if c["type"] == t:
            return c
    return None


def container(cpu=None, mem=None, **more):
    req = {}
    if cpu:
        req["cpu"] = cpu
    if mem:
        req["memory"] = mem
    req.update(more)
    c = {"name": "main", "image": "busybox", "command": ["true"]}
    if req:
        c["resources"] = {"requests": req}
    return c


def job(name, ns="default", labels=None, **spec):
    tmpl = spec.pop("template", None) or {"spec": {"restartPolicy": "Never", "containers": [container()]}}
    md = {"name": name, "namespace": ns}
    if labels:
        md["labels"] = labels
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": md, "spec": dict(spec, template=tmpl)}


def node(name, ready="True", labels=None, taints=None, extra=None, **alloc):
    alloc.update(extra or {})
    alloc.setdefault("cpu", "8")
    alloc.setdefault("memory", "16Gi")
    alloc.setdefault("pods", "110")
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": dict(labels or {}, **{"kubernetes.io/hostname": name})},
            "spec": {"taints": taints or []},
            "status": {"allocatable": alloc, "capacity": alloc,
                       "conditions": [{"type": "Ready", "status": ready}]}}


class Base(unittest.TestCase):
    def setUp(self):
        self.s = MiniStore()
        self.cp = controllers.start(self.s)

    def tearDown(self):
        self.cp.stop()

    def pods(self, owner=None, ns="default"):
        out = self.s.list("pods", ns)
        if owner is not None:
            out = [p for p in out if any(r["uid"] == owner["metadata"]["uid"]
                                         for r in p["metadata"].get("ownerReferences") or [])]
        return sorted(out, key=lambda p: p["metadata"]["name"])

    def job(self, name, ns="default"):
        return self.s.get("jobs.batch", ns, name)

    def wait_pods(self, owner, n, ns="default"):
        return wait_for(lambda: len(self.pods(owner, ns)) == n and self.pods(owner, ns),
                        what="%d pods" % n)

    def wait_cond(self, res, name, t, status="True", ns="default", timeout=5.0):
        return wait_for(lambda: (cond(self.s.get(res, ns, name), t) or {}).get("status") == status
                        and self.s.get(res, ns, name), timeout, "%s %s=%s" % (name, t, status))


class QuantityTest(unittest.TestCase):
    def test_parse(self):
        self.assertEqual(qty("500m"), Fraction(1, 2))
        self.assertEqual(qty("2Gi"), 2 * 2**30)
        self.assertEqual(qty("1e3"), 1000)
        self.assertEqual(qty(4), 4)
        self.assertEqual(qty("1.5"), Fraction(3, 2))
        self.assertRaises(ValueError, qty, "12x")

    def test_print_as_resource_quantity(self):
        self.assertEqual(qty_str(Fraction(3, 2)), "1500m")
        self.assertEqual(qty_str(Fraction(100000)), "100k")
        self.assertEqual(qty_str(Fraction(2 * 2**30), True), "2Gi")
        self.assertEqual(qty_str(Fraction(1536 * 2**20), True), "1536Mi")
        self.assertEqual(qty_str(Fraction(1000), True), "1k")
        self.assertEqual(res_str("cpu", Fraction(24)), "24")
        self.assertEqual(res_str("memory", Fraction(512 * 2**20)), "512Mi")

    def test_pod_requests_take_init_containers_max(self):
        spec = {"containers": [container("1", "1Gi"), container("500m")],
                "initContainers": [container("2", "512Mi")]}
        r = pod_requests(spec)
        self.assertEqual(r["cpu"], 2)
        self.assertEqual(r["memory"], 2**30)
        spec = {"containers": [{"name": "a", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}
        self.assertEqual(pod_requests(spec)["nvidia.com/gpu"], 1)


class JobTest(Base):
    def test_defaults_and_completion(self):
        self.s.create("jobs.batch", job("pi", completions=2, parallelism=1))
        j = wait_for(lambda: (self.job("pi")["spec"].get("selector") and self.job("pi")))
        uid = j["metadata"]["uid"]
        self.assertEqual(j["spec"]["selector"], {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
        self.assertEqual(j["spec"]["backoffLimit"], 6)
        self.assertEqual(j["spec"]["completionMode"], "NonIndexed")
        (p,) = self.wait_pods(j, 1)
        self.assertRegex(p["metadata"]["name"], r"^pi-[bcdfghjklmnpqrstvwxz2456789]{5}$")
        self.assertEqual(p["metadata"]["generateName"], "pi-")
        for k in ("batch.kubernetes.io/job-name", "job-name"):
            self.assertEqual(p["metadata"]["labels"][k], "pi")
        for k in ("batch.kubernetes.io/controller-uid", "controller-uid"):
            self.assertEqual(p["metadata"]["labels"][k], uid)
        ref = p["metadata"]["ownerReferences"][0]
        self.assertEqual((ref["kind"], ref["name"], ref["controller"], ref["blockOwnerDeletion"]),
                         ("Job", "pi", True, True))
        wait_for(lambda: self.job("pi").get("status", {}).get("active") == 1)
        st = self.job("pi")["status"]
        self.assertEqual((st["ready"], st["terminating"]), (0, 0))
        self.assertIn("startTime", st)
        self.s.set_phase(p, "Succeeded")
        second = wait_for(lambda: [q for q in self.pods(j) if q["status"]["phase"] == "Pending"])
        self.s.set_phase(second[0], "Succeeded")
        j = self.wait_cond("jobs.batch", "pi", "Complete")
        st = j["status"]
        self.assertEqual([c["type"] for c in st["conditions"]], ["SuccessCriteriaMet", "Complete"])
        self.assertEqual(cond(j, "Complete")["reason"], "CompletionsReached")
        self.assertEqual(cond(j, "Complete")["message"], "Reached expected number of succeeded pods")
        self.assertEqual(st["succeeded"], 2)
        self.assertNotIn("active", st)
        self.assertIn("completionTime", st)
        reasons = [e["reason"] for e in self.s.list("events")]
        self.assertIn("SuccessfulCreate", reasons)
        self.assertIn("Completed", reasons)

    def test_managed_by_another_controller(self):
        self.s.create("jobs.batch", job("mb", managedBy="example.com/other", selector={}))
        self.s.create("jobs.batch", job("own"))
        wait_for(lambda: self.pods(self.job("own")), what="own's pod")
        self.assertEqual(self.pods(self.job("mb")), [])
        self.assertNotIn("status", self.job("mb"))

    def test_indexed_pods(self):
        self.s.create("jobs.batch", job("ix", completions=3, parallelism=2, completionMode="Indexed"))
        j = wait_for(lambda: self.job("ix")["spec"].get("selector") and self.job("ix"))
        pods = self.wait_pods(j, 2)
        idx = sorted(p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] for p in pods)
        self.assertEqual(idx, ["0", "1"])
        p0 = [p for p in pods if p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] == "0"][0]
        self.assertRegex(p0["metadata"]["name"], r"^ix-0-[a-z0-9]{5}$")
        self.assertEqual(p0["spec"]["hostname"], "ix-0")
        env = p0["spec"]["containers"][0]["env"][0]
        self.assertEqual(env["name"], "JOB_COMPLETION_INDEX")
        self.assertEqual(env["valueFrom"]["fieldRef"]["fieldPath"],
                         "metadata.labels['batch.kubernetes.io/job-completion-index']")
        self.s.set_phase(p0, "Succeeded")
        third = wait_for(lambda: [p for p in self.pods(j)
                                  if p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] == "2"])
        wait_for(lambda: self.job("ix")["status"].get("completedIndexes") == "0")
        for p in self.pods(j):
            if p["status"]["phase"] == "Pending":
                self.s.set_phase(p, "Succeeded")
        j = self.wait_cond("jobs.batch", "ix", "Complete")
        self.assertEqual(j["status"]["completedIndexes"], "0-2")
        self.assertEqual(j["status"]["succeeded"], 3)
        self.assertTrue(third)

    def test_backoff_limit_zero(self):
        self.s.create("jobs.batch", job("bo", backoffLimit=0))
        j = wait_for(lambda: self.job("bo")["spec"].get("selector") and self.job("bo"))
        (p,) = self.wait_pods(j, 1)
        self.s.set_phase(p, "Failed")
        j = self.wait_cond("jobs.batch", "bo", "Failed")
        self.assertEqual([c["type"] for c in j["status"]["conditions"]], ["FailureTarget", "Failed"])
        self.assertEqual(cond(j, "Failed")["reason"], "BackoffLimitExceeded")
        self.assertEqual(cond(j, "Failed")["message"], "Job has reached the specified backoff limit")
        self.assertEqual(j["status"]["failed"], 1)
        self.assertNotIn("completionTime", j["status"])

    def test_failed_pod_is_replaced_after_back_off(self):
        controllers_job.JOB_BACKOFF_BASE = 0.3
        try:
            self.s.create("jobs.batch", job("re", backoffLimit=1))
            j = wait_for(lambda: self.job("re")["spec"].get("selector") and self.job("re"))
            (p,) = self.wait_pods(j, 1)
            t0 = time.time()
            self.s.set_phase(p, "Failed")
            pods = self.wait_pods(j, 2)
            self.assertGreaterEqual(time.time() - t0, 0.25)
            self.assertEqual(self.job("re")["status"]["failed"], 1)
            self.s.set_phase([q for q in pods if q["status"]["phase"] == "Pending"][0], "Failed")
            j = self.wait_cond("jobs.batch", "re", "Failed")
            self.assertEqual(j["status"]["failed"], 2)
        finally:
            controllers_job.JOB_BACKOFF_BASE = 10.0

    def test_on_failure_restarts_count_against_backoff_limit(self):
        tmpl = {"spec": {"restartPolicy": "OnFailure", "containers": [container()]}}
        self.s.create("jobs.batch", job("of", backoffLimit=2, template=tmpl))
        j = wait_for(lambda: self.job("of")["spec"].get("selector") and self.job("of"))
        (p,) = self.wait_pods(j, 1)
        self.s.set_phase(p, "Running", containerStatuses=[{"name": "main", "restartCount": 2}])
        j = self.wait_cond("jobs.batch", "of", "Failed")
        self.assertEqual(cond(j, "Failed")["reason"], "BackoffLimitExceeded")
        self.assertEqual(self.pods(j), [])

    def test_active_deadline(self):
        self.s.create("jobs.batch", job("dl", activeDeadlineSeconds=1))
        j = wait_for(lambda: self.job("dl")["spec"].get("selector") and self.job("dl"))
        self.wait_pods(j, 1)
        j = self.wait_cond("jobs.batch", "dl", "Failed", timeout=4)
        self.assertEqual(cond(j, "Failed")["reason"], "DeadlineExceeded")
        self.assertEqual(cond(j, "Failed")["message"], "Job was active longer than specified deadline")
        self.assertEqual(self.pods(j), [])
        self.assertEqual(j["status"]["failed"], 1)

    def test_deadline_waits_for_terminating_pods(self):
        self.s.create("nodes", node("n1"))
        self.s.create("jobs.batch", job("tw", activeDeadlineSeconds=1))
        j = wait_for(lambda: self.job("tw")["spec"].get("selector") and self.job("tw"))
        (p,) = self.wait_pods(j, 1)
        wait_for(lambda: self.pods(j)[0]["spec"].get("nodeName") == "n1", what="bound")
        j = self.wait_cond("jobs.batch", "tw", "FailureTarget", timeout=4)
        self.assertIsNone(cond(j, "Failed"))
        self.assertEqual(j["status"]["terminating"], 1)
        p = self.pods(j)[0]
        self.assertIn("deletionTimestamp", p["metadata"])
        self.s.delete("pods", "default", p["metadata"]["name"], grace_seconds=0)
        j = self.wait_cond("jobs.batch", "tw", "Failed")
        self.assertEqual(j["status"]["failed"], 1)

    def test_suspend_and_resume(self):
        self.s.create("jobs.batch", job("su", suspend=True, parallelism=2, completions=2))
        j = self.wait_cond("jobs.batch", "su", "Suspended")
        self.assertEqual(cond(j, "Suspended")["reason"], "JobSuspended")
        self.assertEqual(self.pods(j), [])
        self.assertNotIn("startTime", j["status"])
        j["spec"]["suspend"] = False
        self.s.update("jobs.batch", j)
        j = self.wait_cond("jobs.batch", "su", "Suspended", "False")
        self.assertEqual(cond(j, "Suspended")["reason"], "JobResumed")
        self.assertIn("startTime", j["status"])
        self.wait_pods(j, 2)
        j = self.job("su")
        j["spec"]["suspend"] = True
        self.s.update("jobs.batch", j)
        self.wait_cond("jobs.batch", "su", "Suspended")
        wait_for(lambda: self.pods(j) == [], what="pods deleted")
        j = wait_for(lambda: "active" not in self.job("su")["status"] and self.job("su"))
        self.assertNotIn("failed", j["status"])

    def test_ttl_after_finished(self):
        self.s.create("jobs.batch", job("tt", ttlSecondsAfterFinished=0))
        j = wait_for(lambda: self.job("tt")["spec"].get("selector") and self.job("tt"))
        (p,) = self.wait_pods(j, 1)
        self.s.set_phase(p, "Succeeded")
        wait_for(lambda: self.job("tt") is None, what="job deleted")
        wait_for(lambda: self.pods(j) == [], what="pods collected")

    def test_reconcile_error_does_not_stop_the_thread(self):
        bad = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad", "namespace": "default"},
               "spec": {"containers": [container("lots")]}}
        err = io.StringIO()
        with redirect_stderr(err):
            self.s.create("pods", bad)
            self.s.create("nodes", node("n1"))
            self.s.create("jobs.batch", job("ok"))
            j = wait_for(lambda: self.job("ok")["spec"].get("selector") and self.job("ok"))
            self.wait_pods(j, 1)
            wait_for(lambda: self.pods(j)[0]["spec"].get("nodeName") == "n1", what="good pod bound")
            wait_for(lambda: "quantities must match" in err.getvalue(), what="logged error")
            self.assertIsNone(self.s.get("pods", "default", "bad")["spec"].get("nodeName"))


class SchedulerTest(Base):
    def pod(self, name, cpu=None, gpu=None, **spec):
        c = container(cpu, **({"nvidia.com/gpu": gpu} if gpu else {}))
        p = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
             "spec": dict({"containers": [c]}, **spec)}
        return self.s.create("pods", p)

    def scheduled(self, name):
        return cond(self.s.get("pods", "default", name), "PodScheduled")

    def test_no_nodes(self):
        self.pod("p")
        c = wait_for(lambda: self.scheduled("p"))
        self.assertEqual((c["status"], c["reason"], c["message"]),
                         ("False", "Unschedulable", "no nodes available to schedule pods"))

    def test_message_and_binding(self):
        self.s.create("nodes", node("gpu", extra={"nvidia.com/gpu": "1"},
                                    taints=[{"key": "virtual-kubelet.io/provider", "value": "vkcmd",
                                             "effect": "NoSchedule"}]))
        self.s.create("nodes", node("cpu"))
        self.s.create("nodes", node("down", ready="False"))
        self.s.create("nodes", node("other", labels={"pool": "b"}))
        self.pod("p", gpu="2", nodeSelector={"pool": "b"},
                 tolerations=[{"key": "node.kubernetes.io/not-ready", "operator": "Exists"},
                              {"key": "virtual-kubelet.io/provider", "operator": "Exists"}])
        c = wait_for(lambda: self.scheduled("p"))
        self.assertEqual(c["message"], "0/4 nodes are available: 1 Insufficient nvidia.com/gpu, 3 node(s) "
                         "didn't match Pod's node affinity/selector. preemption: 0/4 nodes are available: "
                         "1 No preemption victims found for incoming pod, 3 Preemption is not helpful for "
                         "scheduling.")
        self.pod("q", gpu="1")
        c = wait_for(lambda: self.scheduled("q"))
        self.assertEqual(c["message"], "0/4 nodes are available: 1 node(s) had untolerated taint "
                         "{node.kubernetes.io/not-ready: }, 1 node(s) had untolerated taint "
                         "{virtual-kubelet.io/provider: vkcmd}, 2 Insufficient nvidia.com/gpu. preemption: "
                         "0/4 nodes are available: 2 No preemption victims found for incoming pod, "
                         "2 Preemption is not helpful for scheduling.")
        events = [e for e in self.s.list("events") if e["reason"] == "FailedScheduling"]
        self.assertTrue(any(e["involvedObject"]["name"] == "q" for e in events))
        g = self.s.get("nodes", None, "gpu")
        g["spec"]["taints"] = []
        self.s.update("nodes", g)
        wait_for(lambda: self.s.get("pods", "default", "q")["spec"].get("nodeName") == "gpu", what="bound")
        self.assertEqual(self.scheduled("q")["status"], "True")

    def test_affinity_resources_and_pod_count(self):
        self.s.create("nodes", node("a", labels={"zone": "x"}, cpu="2", pods="1"))
        self.s.create("nodes", node("b", labels={"zone": "y"}, cpu="4"))
        aff = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["y"]},
                                  {"key": "zone", "operator": "Exists"}]}]}}}
        self.pod("p1", cpu="1500m", affinity=aff)
        wait_for(lambda: self.s.get("pods", "default", "p1")["spec"].get("nodeName") == "a", what="p1 on a")
        self.pod("p2", cpu="1", affinity=aff)
        c = wait_for(lambda: self.scheduled("p2"))
        self.assertEqual(c["message"], "0/2 nodes are available: 1 Insufficient cpu, 1 Too many pods, "
                         "1 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 1 No preemption "
                         "victims found for incoming pod, 1 Preemption is not helpful for scheduling.")
        self.s.set_phase(self.s.get("pods", "default", "p1"), "Succeeded")
        wait_for(lambda: self.s.get("pods", "default", "p2")["spec"].get("nodeName") == "a", what="p2 on a")
        self.pod("p3", affinity=aff)
        c = wait_for(lambda: self.scheduled("p3"))
        self.assertEqual(c["message"], "0/2 nodes are available: 1 Too many pods, 1 node(s) didn't match "
                         "Pod's node affinity/selector. preemption: 0/2 nodes are available: 1 No preemption "
                         "victims found for incoming pod, 1 Preemption is not helpful for scheduling.")

    def test_scheduling_gates(self):
        self.s.create("nodes", node("a"))
        self.pod("g", schedulingGates=[{"name": "x"}])
        c = wait_for(lambda: self.scheduled("g"))
        self.assertEqual((c["reason"], c["message"]),
                         ("SchedulingGated", "Scheduling is blocked due to non-empty scheduling gates"))


class JobSetTest(Base):
    def jobset(self, name, replicas=2, labels=None, **spec):
        rjob = {"name": "w", "replicas": replicas, "template": {"spec": {
            "parallelism": 1, "completions": 1, "backoffLimit": 0,
            "template": {"spec": {"restartPolicy": "Never", "containers": [container()]}}}}}
        md = {"name": name, "namespace": "default"}
        if labels:
            md["labels"] = labels
        return self.s.create("jobsets.jobset.x-k8s.io", {
            "apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "metadata": md,
            "spec": dict({"replicatedJobs": [rjob]}, **spec)})

    def children(self, js):
        return sorted((j for j in self.s.list("jobs.batch")
                       if j["metadata"]["ownerReferences"][0]["uid"] == js["metadata"]["uid"]),
                      key=lambda j: j["metadata"]["name"])

    def test_children_and_completion(self):
        js = self.jobset("js")
        jobs = wait_for(lambda: len(self.children(js)) == 2 and self.children(js))
        self.assertEqual([j["metadata"]["name"] for j in jobs], ["js-w-0", "js-w-1"])
        lab = jobs[1]["metadata"]["labels"]
        for k, v in (("jobset.sigs.k8s.io/jobset-name", "js"), ("jobset.sigs.k8s.io/replicatedjob-name", "w"),
                     ("jobset.sigs.k8s.io/job-index", "1"), ("jobset.sigs.k8s.io/replicatedjob-replicas", "2"),
                     ("jobset.sigs.k8s.io/restart-attempt", "0"), ("jobset.sigs.k8s.io/job-global-index", "1")):
            self.assertEqual(lab[k], v)
            self.assertEqual(jobs[1]["metadata"]["annotations"][k], v)
            self.assertEqual(jobs[1]["spec"]["template"]["metadata"]["labels"][k], v)
        self.assertEqual(jobs[0]["spec"]["completionMode"], "Indexed")
        self.assertEqual(jobs[0]["spec"]["template"]["spec"]["subdomain"], "js")
        self.assertIsNotNone(self.s.get("services", "default", "js"))
        pods = wait_for(lambda: len(self.pods()) == 2 and self.pods())
        self.assertEqual(sorted(p["spec"]["hostname"] for p in pods), ["js-w-0-0", "js-w-1-0"])
        for p in pods:
            self.s.set_phase(p, "Succeeded")
        js = self.wait_cond("jobsets.jobset.x-k8s.io", "js", "Completed")
        self.assertEqual(cond(js, "Completed")["reason"], "AllJobsCompleted")
        self.assertEqual(js["status"]["terminalState"], "Completed")
        self.assertEqual(js["status"]["replicatedJobsStatus"],
                         [{"name": "w", "ready": 0, "succeeded": 2, "failed": 0, "active": 0, "suspended": 0}])

    def test_restarts_then_fails(self):
        js = self.jobset("rs", replicas=1, failurePolicy={"maxRestarts": 1})
        (p,) = wait_for(lambda: len(self.pods()) == 1 and self.pods())
        self.s.set_phase(p, "Failed")
        js2 = wait_for(lambda: self.s.get("jobsets.jobset.x-k8s.io", "default", "rs")["status"].get("restarts") == 1
                       and self.s.get("jobsets.jobset.x-k8s.io", "default", "rs"))
        self.assertEqual(js2["status"]["restartsCountTowardsMax"], 1)
        (j,) = wait_for(lambda: [j for j in self.children(js)
                                 if j["metadata"]["labels"]["jobset.sigs.k8s.io/restart-attempt"] == "1"])
        self.assertEqual(j["metadata"]["name"], "rs-w-0")
        (p,) = wait_for(lambda: [q for q in self.pods() if q["metadata"]["ownerReferences"][0]["uid"]
                                 == j["metadata"]["uid"]])
        self.assertEqual(p["metadata"]["labels"]["jobset.sigs.k8s.io/restart-attempt"], "1")
        self.s.set_phase(p, "Failed")
        js = self.wait_cond("jobsets.jobset.x-k8s.io", "rs", "Failed")
        c = cond(js, "Failed")
        self.assertEqual(c["reason"], "ReachedMaxRestarts")
        self.assertEqual(c["message"], "jobset failed due to reaching max number of restarts "
                         "(first failed job: rs-w-0)")
        self.assertEqual(js["status"]["terminalState"], "Failed")

    def test_suspend_propagates(self):
        js = self.jobset("sp", suspend=True)
        jobs = wait_for(lambda: len(self.children(js)) == 2 and self.children(js))
        self.assertTrue(all(j["spec"]["suspend"] for j in jobs))
        self.wait_cond("jobsets.jobset.x-k8s.io", "sp", "Suspended")
        self.assertEqual(self.pods(), [])
        js = self.s.get("jobsets.jobset.x-k8s.io", "default", "sp")
        js["spec"]["suspend"] = False
        self.s.update("jobsets.jobset.x-k8s.io", js)
        js = self.wait_cond("jobsets.jobset.x-k8s.io", "sp", "Suspended", "False")
        self.assertEqual(cond(js, "Suspended")["reason"], "ResumeJobs")
        wait_for(lambda: len(self.pods()) == 2, what="pods")


class KueueTest(Base):
    def setUp(self):
        super().setUp()
        self.s.create("resourceflavors.kueue.x-k8s.io", {
            "apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ResourceFlavor",
            "metadata": {"name": "default-flavor"}, "spec": {"nodeLabels": {"pool": "main"}}})
        self.s.create("clusterqueues.kueue.x-k8s.io", {
            "apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ClusterQueue", "metadata": {"name": "cq"},
            "spec": {"namespaceSelector": {}, "resourceGroups": [{"coveredResources": ["cpu", "memory"],
                     "flavors": [{"name": "default-flavor", "resources": [
                         {"name": "cpu", "nominalQuota": "4"}, {"name": "memory", "nominalQuota": "8Gi"}]}]}]}})
        self.s.create("localqueues.kueue.x-k8s.io", {
            "apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "LocalQueue",
            "metadata": {"name": "lq", "namespace": "default"}, "spec": {"clusterQueue": "cq"}})

    def qjob(self, name, cpu, queue="lq", parallelism=1):
        tmpl = {"spec": {"restartPolicy": "Never", "containers": [container(cpu, "1Gi")]}}
        return self.s.create("jobs.batch", job(name, labels={"kueue.x-k8s.io/queue-name": queue},
                                               parallelism=parallelism, completions=parallelism,
                                               template=tmpl))

    def workload(self, j):
        for w in self.s.list("workloads.kueue.x-k8s.io", "default"):
            if w["metadata"]["ownerReferences"][0]["uid"] == j["metadata"]["uid"]:
                return w
        return None

    def test_admission_by_quota(self):
        a = self.qjob("a", "3")
        wa = wait_for(lambda: cond(self.workload(a), "Admitted") and self.workload(a))
        self.assertRegex(wa["metadata"]["name"], r"^job-a-[0-9a-f]{5}$")
        self.assertEqual(wa["spec"]["queueName"], "lq")
        self.assertEqual(wa["spec"]["podSets"][0]["name"], "main")
        self.assertEqual(wa["spec"]["podSets"][0]["count"], 1)
        self.assertEqual(wa["status"]["admission"], {"clusterQueue": "cq", "podSetAssignments": [
            {"name": "main", "flavors": {"cpu": "default-flavor", "memory": "default-flavor"},
             "resourceUsage": {"cpu": "3", "memory": "1Gi"}, "count": 1}]})
        self.assertEqual(cond(wa, "QuotaReserved")["message"], "Quota reserved in ClusterQueue cq")
        self.assertEqual(cond(wa, "Admitted")["message"], "The workload is admitted")
        ja = wait_for(lambda: self.job("a")["spec"]["suspend"] is False and self.job("a"))
        self.assertEqual(ja["spec"]["template"]["spec"]["nodeSelector"], {"pool": "main"})
        (pa,) = self.wait_pods(ja, 1)
        b = self.qjob("b", "2")
        wb = wait_for(lambda: cond(self.workload(b), "QuotaReserved") and self.workload(b))
        c = cond(wb, "QuotaReserved")
        self.assertEqual((c["status"], c["reason"]), ("False", "Pending"))
        self.assertEqual(c["message"], "couldn't assign flavors to pod set main: insufficient unused quota "
                         "for cpu in flavor default-flavor, 1 more needed")
        self.assertTrue(self.job("b")["spec"]["suspend"])
        self.assertEqual(self.pods(b), [])
        cq = wait_for(lambda: (self.s.get("clusterqueues.kueue.x-k8s.io", None, "cq").get("status") or {})
                      .get("pendingWorkloads") == 1 and self.s.get("clusterqueues.kueue.x-k8s.io", None, "cq"))
        self.assertEqual((cq["status"]["admittedWorkloads"], cq["status"]["reservingWorkloads"]), (1, 1))
        self.assertEqual(cq["status"]["flavorsUsage"][0]["resources"][0], {"name": "cpu", "total": "3", "borrowed": "0"})
        self.assertEqual(cond(cq, "Active")["reason"], "Ready")
        wait_for(lambda: (self.s.get("localqueues.kueue.x-k8s.io", "default", "lq").get("status") or {})
                 .get("pendingWorkloads") == 1, what="lq pending 1")
        self.s.set_phase(pa, "Succeeded")
        wa = self.wait_cond("workloads.kueue.x-k8s.io", wa["metadata"]["name"], "Finished")
        self.assertEqual(cond(wa, "Finished")["reason"], "Succeeded")
        self.assertNotIn("kueue.x-k8s.io/resource-in-use", wa["metadata"].get("finalizers") or [])
        wait_for(lambda: cond(self.workload(b), "Admitted"), what="b admitted")
        wait_for(lambda: len(self.pods(b)) == 1, what="b's pod")

    def test_too_big_and_missing_queue(self):
        big = self.qjob("big", "3", parallelism=2)
        w = wait_for(lambda: cond(self.workload(big), "QuotaReserved") and self.workload(big))
        self.assertEqual(cond(w, "QuotaReserved")["message"],
                         "couldn't assign flavors to pod set main: insufficient quota for cpu in flavor "
                         "default-flavor, previously considered podsets requests (0) + current podset "
                         "request (6) > maximum capacity (4)")
        lost = self.qjob("lost", "1", queue="nope")
        w = wait_for(lambda: cond(self.workload(lost), "QuotaReserved") and self.workload(lost))
        c = cond(w, "QuotaReserved")
        self.assertEqual((c["reason"], c["message"]), ("Inadmissible", "LocalQueue nope doesn't exist"))
        self.assertTrue(self.job("lost")["spec"]["suspend"])
        self.s.create("clusterqueues.kueue.x-k8s.io", {
            "apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ClusterQueue", "metadata": {"name": "nosel"},
            "spec": {"resourceGroups": [{"coveredResources": ["cpu"], "flavors": [
                {"name": "default-flavor", "resources": [{"name": "cpu", "nominalQuota": "4"}]}]}]}})
        self.s.create("localqueues.kueue.x-k8s.io", {
            "apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "LocalQueue",
            "metadata": {"name": "lq2", "namespace": "default"}, "spec": {"clusterQueue": "nosel"}})
        other = self.qjob("other", "1", queue="lq2")
        w = wait_for(lambda: cond(self.workload(other), "QuotaReserved") and self.workload(other))
        self.assertEqual(cond(w, "QuotaReserved")["message"],
                         "Workload namespace doesn't match ClusterQueue selector")

    def test_stop_policy(self):
        a = self.qjob("a", "1")
        wa = wait_for(lambda: cond(self.workload(a), "Admitted") and self.workload(a))
        wait_for(lambda: len(self.pods(a)) == 1, what="a's pod")
        cq = self.s.get("clusterqueues.kueue.x-k8s.io", None, "cq")
        cq["spec"]["stopPolicy"] = "HoldAndDrain"
        self.s.update("clusterqueues.kueue.x-k8s.io", cq)
        cq = self.wait_cond("clusterqueues.kueue.x-k8s.io", "cq", "Active", "False", ns=None)
        self.assertEqual((cond(cq, "Active")["reason"], cond(cq, "Active")["message"]),
                         ("Stopped", "Can't admit new workloads: is stopped."))
        wa = self.wait_cond("workloads.kueue.x-k8s.io", wa["metadata"]["name"], "Evicted")
        self.assertEqual(cond(wa, "Evicted")["reason"], "ClusterQueueStopped")
        self.assertNotIn("admission", wa["status"])
        wait_for(lambda: self.job("a")["spec"]["suspend"] is True, what="a suspended")
        wait_for(lambda: self.pods(a) == [], what="a's pod deleted")
        b = self.qjob("b", "1")
        wb = wait_for(lambda: cond(self.workload(b), "QuotaReserved") and self.workload(b))
        self.assertEqual((cond(wb, "QuotaReserved")["reason"], cond(wb, "QuotaReserved")["message"]),
                         ("Inadmissible", "ClusterQueue cq is inactive"))
        lq = self.wait_cond("localqueues.kueue.x-k8s.io", "lq", "Active", "False")
        self.assertEqual(cond(lq, "Active")["reason"], "ClusterQueueIsInactive")
        cq = self.s.get("clusterqueues.kueue.x-k8s.io", None, "cq")
        cq["spec"]["stopPolicy"] = "None"
        self.s.update("clusterqueues.kueue.x-k8s.io", cq)
        wait_for(lambda: cond(self.workload(a), "Admitted")["status"] == "True", what="a readmitted")
        self.assertEqual(cond(self.workload(a), "Evicted")["message"], "Previously: The ClusterQueue is stopped")
        wait_for(lambda: cond(self.workload(b), "Admitted"), what="b admitted")
        wait_for(lambda: len(self.pods(a)) == 1 and len(self.pods(b)) == 1, what="pods back")

    def test_jobset_is_queued(self):
        rjob = {"name": "w", "replicas": 2, "template": {"spec": {"parallelism": 1, "completions": 1,
                "template": {"spec": {"restartPolicy": "Never", "containers": [container("1")]}}}}}
        js = self.s.create("jobsets.jobset.x-k8s.io", {
            "apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet",
            "metadata": {"name": "qs", "namespace": "default", "labels": {"kueue.x-k8s.io/queue-name": "lq"}},
            "spec": {"replicatedJobs": [rjob]}})
        w = wait_for(lambda: cond(self.workload(js), "Admitted") and self.workload(js))
        self.assertRegex(w["metadata"]["name"], r"^jobset-qs-[0-9a-f]{5}$")
        self.assertEqual(w["spec"]["podSets"][0]["count"], 2)
        wait_for(lambda: len(self.pods()) == 2, what="jobset pods")
        for p in self.pods():
            self.assertEqual(p["spec"]["nodeSelector"], {"pool": "main"})
            self.s.set_phase(p, "Succeeded")
        self.wait_cond("workloads.kueue.x-k8s.io", w["metadata"]["name"], "Finished")


if __name__ == "__main__":
    unittest.main()
