"""controllers.py - the controllers of the local control plane.

The Job controller (batch/v1), the JobSet controller (jobset.x-k8s.io/
v1alpha2), the scheduler (default-scheduler) and Kueue (kueue.x-k8s.io/
v1beta1), each written after the behaviour of the real one (Kubernetes 1.32,
JobSet 0.8, Kueue 0.16): the same names, labels, conditions, reasons and
messages, so that programs and kubectl see what a real cluster shows.

start(store) starts one thread and returns it. The thread drains the events
that store.subscribe() delivers, maps each to the keys it affects (a Job, a
JobSet, the scheduler pass, the Kueue pass), de-duplicates them and
reconciles one key at a time; a timer heap re-queues keys for deadlines,
time-to-live, pod back-off and a periodic resync. Every write goes through
the store, so it makes watch events, resourceVersions and garbage
collection exactly as an API write does. A reconcile that fails is logged to
stderr and retried later; it never stops the thread. Nothing here runs pods:
a node agent (kubectl-vkcmd) does that.
"""
import copy
import heapq
import queue
import random
import threading
import time
import traceback

from errors import ApiError
from controllers_common import (EVENTS, JOBS, JOBSETS, NODES, PODS, WORKLOADS,
                                CQS, LQS, RFS, PRIORITY_CLASSES, QUEUE_LABEL,
                                controller_ref, labels_of, log)
from controllers_job import JobController
from controllers_jobset import JobSetController
from controllers_kueue import Kueue
from controllers_node import NodeLifecycle
from controllers_scheduler import Scheduler

RESYNC_SECONDS = 5.0


class ControlPlane:
    """The controllers' thread and work queue. The reconcilers live in the
    mixins below; they only read and write through self.store."""

    def __init__(self, store):
        self.store = store
        self._events = queue.Queue()
        self._keys = {}                  # ordered set of keys to reconcile
        self._timers = []                # heap of (when, seq, key)
        self._seq = 0
        self._retries = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="controllers",
                                        daemon=True)
        self._jobs = {}                  # Job uid -> _JobTrack

    def start(self):
        self.store.subscribe(self._on_event)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._events.put(None)
        self._thread.join(5)

    # The store calls this with its lock held: only queue the event.
    def _on_event(self, etype, res, obj):
        self._events.put((etype, res, obj))

    def _add(self, key):
        self._keys[key] = True

    def after(self, delay, key):
        self._seq += 1
        heapq.heappush(self._timers, (time.time() + max(0.0, delay), self._seq, key))

    def _route(self, etype, res, obj):
        m = obj.get("metadata") or {}
        ns, name = m.get("namespace"), m.get("name")
        ref = controller_ref(obj) or {}
        if res == PODS:
            if ref.get("kind") == "Job":
                self._add(("job", ns, ref.get("name")))
            phase = (obj.get("status") or {}).get("phase")
            if not (obj.get("spec") or {}).get("nodeName") or etype == "DELETED" \
               or phase in ("Succeeded", "Failed"):
                self._add(("sched",))
        elif res == JOBS:
            self._add(("job", ns, name))
            if ref.get("kind") == "JobSet":
                self._add(("jobset", ns, ref.get("name")))
            elif QUEUE_LABEL in labels_of(obj):
                self._add(("kueue",))
        elif res == JOBSETS:
            self._add(("jobset", ns, name))
            if QUEUE_LABEL in labels_of(obj):
                self._add(("kueue",))
        elif res in (NODES, PRIORITY_CLASSES):
            self._add(("sched",))
        elif res in (WORKLOADS, CQS, LQS, RFS, "namespaces"):
            self._add(("kueue",))
            if res == WORKLOADS and ref.get("kind") == "Job":
                self._add(("job", ns, ref.get("name")))

    def _resync(self):
        jobs = self.store.list(JOBS)
        for j in jobs:
            self._add(("job", j["metadata"]["namespace"], j["metadata"]["name"]))
        alive = {j["metadata"]["uid"] for j in jobs}
        for uid in [u for u in self._jobs if u not in alive]:
            del self._jobs[uid]
        for j in self.store.list(JOBSETS):
            self._add(("jobset", j["metadata"]["namespace"], j["metadata"]["name"]))
        self._add(("sched",))
        self._add(("kueue",))
        self._add(("nodes",))

    def _drain(self, timeout):
        try:
            item = self._events.get(timeout=timeout) if timeout is None or timeout > 0 \
                else self._events.get_nowait()
        except queue.Empty:
            return
        while True:
            if item is not None:
                self._route(*item)
            try:
                item = self._events.get_nowait()
            except queue.Empty:
                return

    def _run(self):
        next_resync = 0.0
        while not self._stop.is_set():
            now = time.time()
            if now >= next_resync:
                try:
                    self._resync()
                except Exception:
                    log("resync failed:\n" + traceback.format_exc())
                next_resync = now + RESYNC_SECONDS
            while self._timers and self._timers[0][0] <= now:
                self._add(heapq.heappop(self._timers)[2])
            wake = min([next_resync] + [t[0] for t in self._timers[:1]])
            self._drain(0 if self._keys else max(0.0, wake - now))
            if not self._keys or self._stop.is_set():
                continue
            key = next(iter(self._keys))
            del self._keys[key]
            self._reconcile(key)

    def _reconcile(self, key):
        try:
            if key[0] == "job":
                self.reconcile_job(key[1], key[2])
            elif key[0] == "jobset":
                self.reconcile_jobset(key[1], key[2])
            elif key[0] == "sched":
                self.schedule()
            elif key[0] == "kueue":
                self.reconcile_kueue()
            elif key[0] == "nodes":
                self.reconcile_nodes()
            self._retries.pop(key, None)
        except ApiError as e:
            if e.code == 404:
                return
            if e.code == 409 and e.reason == "Conflict":
                self.after(0.05, key)       # a stale resourceVersion: again, fresh
                return
            self._retry(key, "%s: %s" % (key, e.message))
        except Exception:
            self._retry(key, "%s:\n%s" % (key, traceback.format_exc()))

    def each(self, items, fn):
        """Calls fn on every item even when some fail: one bad object must
        not hold up the others. The first failure is raised at the end
        (so the key is retried), the others are logged."""
        first = None
        for item in items:
            try:
                fn(item)
            except Exception as e:
                if first is None:
                    first = e
                elif not (isinstance(e, ApiError) and (e.code == 404 or e.reason == "Conflict")):
                    log("reconcile %s" % traceback.format_exc())
        if first is not None:
            raise first

    def _retry(self, key, why):
        n = self._retries.get(key, 0)
        self._retries[key] = n + 1
        log("reconcile %s" % why)
        self.after(min(30.0, 0.5 * 2 ** n), key)

    # Helpers every controller uses.

    def update_status(self, res, obj, status):
        """Writes status when it differs from what obj holds; the write
        carries obj's resourceVersion, so a stale one is a 409."""
        if (obj.get("status") or {}) == status:
            return obj
        obj = copy.deepcopy(obj)
        obj["status"] = status
        return self.store.update(res, obj, subresource="status")

    def event(self, obj, etype, reason, message, component):
        """Records a core/v1 Event about obj, as client-go's recorder does."""
        m = obj.get("metadata") or {}
        now = self.store.now()
        inv = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
               "name": m.get("name"), "uid": m.get("uid"),
               "resourceVersion": m.get("resourceVersion")}
        if m.get("namespace"):
            inv["namespace"] = m["namespace"]
        ev = {"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": "%s.%x" % (m.get("name"), time.time_ns() + random.randrange(1000)),
                           "namespace": m.get("namespace") or "default"},
              "involvedObject": inv, "reason": reason, "message": message,
              "type": etype, "source": {"component": component},
              "firstTimestamp": now, "lastTimestamp": now, "count": 1,
              "reportingComponent": component, "reportingInstance": ""}
        try:
            self.store.create(EVENTS, ev)
        except ApiError as e:
            log("cannot record event %s: %s" % (reason, e.message))

    def delete(self, res, obj, propagation="Background"):
        m = obj["metadata"]
        try:
            return self.store.delete(res, m.get("namespace"), m["name"],
                                     propagation=propagation)
        except ApiError as e:
            if e.code != 404:
                raise
            return None


class Controllers(JobController, JobSetController, Scheduler, Kueue, NodeLifecycle,
                  ControlPlane):
    pass


def start(store):
    """Starts the controllers on store; returns the running instance."""
    return Controllers(store).start()
