"""deletion.py - the garbage collector and the namespace life cycle.

A GarbageCollector thread follows the store's events and does what
kube-controller-manager's garbage collector and namespace controller do:

- an object whose owners (ownerReferences, by uid) are all gone is deleted
  (Background); references to gone owners are removed when another owner
  remains;
- an owner deleted with propagationPolicy Foreground (finalizer
  foregroundDeletion) gets its dependents deleted, and its finalizer removed
  once no dependent with blockOwnerDeletion is left;
- an owner deleted with Orphan (finalizer orphan) has its dependents'
  references to it removed, then its finalizer;
- a namespace being deleted has everything in it deleted, and goes when
  nothing is left.
Work is queued by the store's subscriber callback and done on the
collector's own thread, one item at a time under the store's lock.
"""
import collections
import threading

from errors import ApiError
from store import clone

MANAGER = "kube-controller-manager"


class GarbageCollector:
    def __init__(self, store, log):
        self.store = store
        self.log = log
        self.q = collections.deque()
        self.cv = threading.Condition()
        store.subscribe(self._on_event)
        t = threading.Thread(target=self._run, name="gc", daemon=True)
        t.start()

    def _push(self, items):
        with self.cv:
            self.q.extend(items)
            self.cv.notify()

    def _on_event(self, etype, qname, obj):
        md = obj.get("metadata") or {}
        items = []
        if etype == "DELETED":
            items.append(("gone", md.get("uid")))
            for ref in md.get("ownerReferences") or []:
                items.append(("owner", ref.get("uid")))
            if md.get("namespace"):
                items.append(("ns", md["namespace"]))
        else:
            if md.get("deletionTimestamp"):
                fins = md.get("finalizers") or []
                if "foregroundDeletion" in fins or "orphan" in fins:
                    items.append(("owner", md.get("uid")))
                if qname == "namespaces":
                    items.append(("ns", md["name"]))
            if md.get("ownerReferences"):
                items.append(("dependent", md.get("uid")))
        if items:
            self._push(items)

    def _run(self):
        while True:
            with self.cv:
                while not self.q:
                    self.cv.wait()
                item = self.q.popleft()
            try:
                with self.store.lock:
                    self._process(*item)
            except ApiError as e:
                self.log("gc: %s %s: %s" % (item[0], item[1], e.message))
            except Exception as e:   # keep collecting whatever happens
                self.log("gc: %s %s failed: %r" % (item[0], item[1], e))

    def _process(self, kind, key):
        if kind == "gone":
            for r, dep in self.store.dependents_of(key):
                self._check_dependent(r, dep)
        elif kind == "dependent":
            r, dep = self.store.by_uid(key)
            if dep is not None:
                self._check_dependent(r, dep)
        elif kind == "owner":
            self._owner(key)
        elif kind == "ns":
            self._namespace(key)

    def _alive(self, uid):
        return self.store.by_uid(uid)[1] is not None

    def _check_dependent(self, r, dep):
        md = dep["metadata"]
        refs = md.get("ownerReferences") or []
        dangling = [x for x in refs if not self._alive(x.get("uid"))]
        if not dangling:
            return
        if len(dangling) < len(refs):
            new = clone(dep)
            new["metadata"]["ownerReferences"] = [
                x for x in refs if x not in dangling]
            self.store.update(r, new, manager=MANAGER)
            return
        if md.get("deletionTimestamp"):
            return
        self.store.delete_ex(r, md.get("namespace"), md["name"], "Background")

    def _drop_finalizer(self, r, obj, fin):
        new = clone(obj)
        new["metadata"]["finalizers"] = [
            f for f in obj["metadata"].get("finalizers") or [] if f != fin]
        self.store.update(r, new, manager=MANAGER)

    def _owner(self, uid):
        r, owner = self.store.by_uid(uid)
        if owner is None or not owner["metadata"].get("deletionTimestamp"):
            return
        fins = owner["metadata"].get("finalizers") or []
        if "orphan" in fins:
            for dr, dep in self.store.dependents_of(uid):
                new = clone(dep)
                refs = [x for x in dep["metadata"].get("ownerReferences") or []
                        if x.get("uid") != uid]
                if refs:
                    new["metadata"]["ownerReferences"] = refs
                else:
                    new["metadata"].pop("ownerReferences", None)
                self.store.update(dr, new, manager=MANAGER)
            self._drop_finalizer(r, self.store.by_uid(uid)[1], "orphan")
            return
        if "foregroundDeletion" not in fins:
            return
        for dr, dep in self.store.dependents_of(uid):
            dmd = dep["metadata"]
            if dmd.get("deletionTimestamp"):
                continue
            policy = "Foreground" if self.store.dependents_of(dmd["uid"]) \
                else "Background"
            self.store.delete_ex(dr, dmd.get("namespace"), dmd["name"], policy)
        blocking = [d for _, d in self.store.dependents_of(uid)
                    if any(x.get("uid") == uid and x.get("blockOwnerDeletion")
                           for x in d["metadata"].get("ownerReferences") or [])]
        if not blocking:
            owner = self.store.by_uid(uid)[1]
            if owner is not None:
                self._drop_finalizer(r, owner, "foregroundDeletion")

    def _namespace(self, name):
        nsr = self.store.res("namespaces")
        ns = self.store._get(nsr, None, name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        left = 0
        for r in self.store.registry.all():
            if not r.namespaced or r.virtual:
                continue
            for o in self.store.raw_list(r, name):
                left += 1
                if not o["metadata"].get("deletionTimestamp"):
                    self.store.delete_ex(r, name, o["metadata"]["name"],
                                         "Background")
        if left:
            # Objects deleted at once above produced events that queued
            # this namespace again; those waiting for finalizers or their
            # node will do so when they go.
            return
        if not ns["metadata"].get("finalizers"):
            self.store.remove(nsr, ns)
