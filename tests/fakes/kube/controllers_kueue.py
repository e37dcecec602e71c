"""controllers_kueue.py - Kueue (kueue.x-k8s.io/v1beta1), as Kueue 0.16 behaves.

A Job (not owned by a JobSet) or a JobSet labelled kueue.x-k8s.io/queue-name
is suspended, as the webhook does at creation, and gets a Workload named
<kind>-<name>-<hash> (owned by it, finalizer resource-in-use) with one pod
set per replicatedJob (a Job: "main") and its pod count. Each pass admits
pending Workloads per ClusterQueue in priority then creation order
(StrictFIFO stops at the first that does not fit, BestEffortFIFO goes on):
flavors are tried in order per resource group against nominalQuota minus
the usage of the Workloads holding quota there, and the flavor's nodeLabels
and nodeTaints against the pod set. An admitted Workload gets
status.admission, QuotaReserved and Admitted; its Job or JobSet is then
unsuspended with the flavors' nodeLabels merged into the nodeSelector. A
Workload that does not fit gets QuotaReserved=False, reason Pending, with
Kueue's message; a missing LocalQueue or ClusterQueue, or an inactive one,
reason Inadmissible. A finished Job sets Finished (Succeeded or Failed),
which frees the quota and drops the finalizer. stopPolicy Hold stops
admission; HoldAndDrain also evicts. LocalQueue and ClusterQueue status
(counts, flavor usage, Active) follow. Not modelled: cohorts and borrowing,
preemption, admission checks, partial admission, topology-aware scheduling.
"""
import copy
import hashlib

from controllers_common import (CQS, JOBS, JOBSETS, KUEUE_API, KUEUE_FINALIZER, LQS,
                                PRIORITY_CLASSES, QUEUE_LABEL, RFS, WORKLOADS,
                                controller_ref, cond_true, is_suspended, labels_of,
                                owner_ref, pod_requests, qty, res_str, set_cond,
                                tolerates, ts_parse, _expr_match)
from controllers_jobset import js_defaults

COMPONENT = "kueue-admission"


def workload_name(kind, group, name, uid):
    """jobframework.GetWorkloadNameForOwnerWithGVK."""
    h = hashlib.sha1(("%s\n%s\n%s\n%s" % (kind, group, name, uid)).encode()).hexdigest()
    return "%s-%s" % (("%s-%s" % (kind.lower(), name))[:247], h[:5])


def owner_finished(o):
    """(success, message) once the Job or JobSet has finished, else None."""
    ok = ("Complete", "Completed")
    for c in (o.get("status") or {}).get("conditions") or []:
        if c.get("status") == "True" and c.get("type") in ok + ("Failed",):
            return c.get("type") in ok, c.get("message") or ""
    return None


def _taint_str(t):
    kv = t.get("key", "") + ("=" + t["value"] if t.get("value") else "")
    return "%s:%s" % (kv, t.get("effect", ""))


def flavor_mismatch(pod_spec, rf, fname):
    """Why the flavor cannot host the pod set, or None."""
    rspec = (rf or {}).get("spec") or {}
    for t in rspec.get("nodeTaints") or []:
        if t.get("effect") in ("NoSchedule", "NoExecute") and \
           not tolerates((pod_spec.get("tolerations") or []) + (rspec.get("tolerations") or []), t):
            return "untolerated taint %s in flavor %s" % (_taint_str(t), fname)
    fl = rspec.get("nodeLabels") or {}
    for k, v in (pod_spec.get("nodeSelector") or {}).items():
        if k in fl and fl[k] != v:
            return "flavor %s doesn't match node affinity" % fname
    req = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
           .get("requiredDuringSchedulingIgnoredDuringExecution"))
    terms = (req or {}).get("nodeSelectorTerms") or []
    if terms and not any(all(_expr_match(e, fl.get(e.get("key")), True)
                             for e in t.get("matchExpressions") or [] if e.get("key") in fl)
                         for t in terms):
        return "flavor %s doesn't match node affinity" % fname
    return None


def _pod_sets(res, o):
    spec = o.get("spec") or {}
    if res == JOBS:
        n = spec.get("parallelism", 1)
        if spec.get("completions") is not None:
            n = min(n, spec["completions"])
        return [{"name": "main", "count": n, "template": copy.deepcopy(spec.get("template") or {})}]
    out = []
    for rj in js_defaults(o).get("replicatedJobs") or []:
        jspec = rj["template"]["spec"]
        n = jspec.get("parallelism", 1)
        if jspec.get("completions") is not None:
            n = min(n, jspec["completions"])
        out.append({"name": rj["name"].lower(), "count": rj["replicas"] * n,
                    "template": copy.deepcopy(jspec.get("template") or {})})
    return out


def _usage(wl):
    out = {}
    for a in ((wl.get("status") or {}).get("admission") or {}).get("podSetAssignments") or []:
        for r, f in (a.get("flavors") or {}).items():
            v = qty((a.get("resourceUsage") or {}).get(r, 0))
            out[(f, r)] = out.get((f, r), 0) + v
    return out


def _flavor_list(cq, usage, borrowed):
    out = []
    for g in (cq.get("spec") or {}).get("resourceGroups") or []:
        for fq in g.get("flavors") or []:
            rs = []
            for r in g.get("coveredResources") or [x.get("name") for x in fq.get("resources") or []]:
                e = {"name": r, "total": res_str(r, usage.get((fq["name"], r), 0))}
                if borrowed:
                    e["borrowed"] = "0"
                rs.append(e)
            out.append({"name": fq["name"], "resources": rs})
    return out


class Kueue:

    def reconcile_kueue(self):
        rfs = {f["metadata"]["name"]: f for f in self.store.list(RFS)}
        cqs = {q["metadata"]["name"]: q for q in self.store.list(CQS)}
        lqs = {(q["metadata"]["namespace"], q["metadata"]["name"]): q for q in self.store.list(LQS)}
        by_owner = {}
        for wl in self.store.list(WORKLOADS):
            ref = controller_ref(wl)
            if ref is not None:
                by_owner[ref.get("uid")] = wl
        owners = [(JOBS, j) for j in self.store.list(JOBS)
                  if QUEUE_LABEL in (j["metadata"].get("labels") or {})
                  and (controller_ref(j) or {}).get("kind") != "JobSet"]
        owners += [(JOBSETS, j) for j in self.store.list(JOBSETS)
                   if QUEUE_LABEL in (j["metadata"].get("labels") or {})]
        errors = []

        def step(fn, *args):
            try:
                fn(*args)
            except Exception as e:
                errors.append(e)

        step(self.each, owners, lambda ro: self._kueue_owner(ro[0], ro[1], by_owner.get(
            ro[1]["metadata"]["uid"]), rfs))
        wls = []
        for wl in self.store.list(WORKLOADS):
            m = wl["metadata"]
            if KUEUE_FINALIZER in (m.get("finalizers") or []) and \
               (m.get("deletionTimestamp") or cond_true(wl, "Finished")):
                m["finalizers"] = [f for f in m["finalizers"] if f != KUEUE_FINALIZER]
                wl = self.store.update(WORKLOADS, wl)
            if not wl["metadata"].get("deletionTimestamp"):
                wls.append(wl)
        active = {name: self._cq_active(cq, rfs) for name, cq in cqs.items()}
        step(self._kueue_admit, wls, rfs, cqs, lqs, active)
        step(self._kueue_queue_status, self.store.list(WORKLOADS), cqs, lqs, active)
        if errors:
            raise errors[0]

    # -- the Job or JobSet side ------------------------------------------

    def _kueue_owner(self, res, o, wl, rfs):
        if o["metadata"].get("deletionTimestamp"):
            return
        fin = owner_finished(o)
        if wl is None or wl["metadata"].get("deletionTimestamp"):
            if fin is None and wl is None:
                if not is_suspended(o):
                    o = self._kueue_suspend(res, o)
                self.store.create(WORKLOADS, self._new_workload(res, o))
            return
        if fin is not None:
            if not cond_true(wl, "Finished"):
                st = copy.deepcopy(wl.get("status") or {})
                msg = fin[1] or ("Job finished successfully" if fin[0] else "Job failed")
                set_cond(st.setdefault("conditions", []), "Finished", "True",
                         "Succeeded" if fin[0] else "Failed", msg, self.store.now(),
                         gen=wl["metadata"].get("generation"))
                self.update_status(WORKLOADS, wl, st)
            return
        admitted = cond_true(wl, "Admitted") and not cond_true(wl, "Finished")
        if admitted and is_suspended(o):
            self._kueue_start(res, o, wl, rfs)
        elif not admitted and not is_suspended(o):
            self._kueue_suspend(res, o)

    def _kueue_suspend(self, res, o):
        o = copy.deepcopy(o)
        o["spec"]["suspend"] = True
        o = self.store.update(res, o)
        if res == JOBS and (o.get("status") or {}).get("startTime"):
            st = copy.deepcopy(o["status"])
            del st["startTime"]
            o = self.update_status(res, o, st)
        return o

    def _kueue_start(self, res, o, wl, rfs):
        o = copy.deepcopy(o)
        assigned = {a.get("name"): a for a in wl["status"]["admission"].get("podSetAssignments") or []}
        if res == JOBS:
            targets = [("main", o["spec"].setdefault("template", {}))]
        else:
            targets = [(rj["name"].lower(), rj.setdefault("template", {}).setdefault("spec", {})
                        .setdefault("template", {})) for rj in o["spec"].get("replicatedJobs") or []]
        for psname, tmpl in targets:
            ps = tmpl.setdefault("spec", {})
            for fname in sorted(set((assigned.get(psname) or {}).get("flavors", {}).values())):
                rspec = (rfs.get(fname) or {}).get("spec") or {}
                if rspec.get("nodeLabels"):
                    ps["nodeSelector"] = dict(ps.get("nodeSelector") or {}, **rspec["nodeLabels"])
                for t in rspec.get("tolerations") or []:
                    if t not in (ps.get("tolerations") or []):
                        ps.setdefault("tolerations", []).append(t)
        o["spec"]["suspend"] = False
        self.store.update(res, o)

    def _new_workload(self, res, o):
        m = o["metadata"]
        group = "batch" if res == JOBS else "jobset.x-k8s.io"
        pod_sets = _pod_sets(res, o)
        spec = {"active": True, "podSets": pod_sets, "queueName": m["labels"][QUEUE_LABEL],
                "priority": 0, "priorityClassSource": ""}
        pcn = next((ps["template"].get("spec", {}).get("priorityClassName") for ps in pod_sets
                    if ps["template"].get("spec", {}).get("priorityClassName")), None)
        if pcn:
            pc = self.store.get(PRIORITY_CLASSES, None, pcn)
            if pc is not None:
                spec.update(priorityClassName=pcn, priority=pc.get("value", 0),
                            priorityClassSource="scheduling.k8s.io/priorityclass")
        return {"apiVersion": KUEUE_API, "kind": "Workload",
                "metadata": {"name": workload_name(o["kind"], group, m["name"], m["uid"]),
                             "namespace": m["namespace"],
                             "labels": {"kueue.x-k8s.io/job-uid": m["uid"]},
                             "ownerReferences": [owner_ref(o)],
                             "finalizers": [KUEUE_FINALIZER]},
                "spec": spec}

    # -- admission -------------------------------------------------------

    def _cq_active(self, cq, rfs):
        """(active, reason, message) for the ClusterQueue's Active condition."""
        spec = cq.get("spec") or {}
        reasons, msgs = [], []
        if (spec.get("stopPolicy") or "None") != "None":
            reasons.append("Stopped")
            msgs.append("is stopped")
        missing = [fq["name"] for g in spec.get("resourceGroups") or []
                   for fq in g.get("flavors") or [] if fq.get("name") not in rfs]
        if missing:
            reasons.append("FlavorNotFound")
            msgs.append("references missing ResourceFlavor(s): %s" % ",".join(missing))
        if reasons:
            return False, reasons[0], "Can't admit new workloads: %s." % "; ".join(msgs)
        return True, "Ready", "Can admit new workloads"

    def _ns_selected(self, cq, ns, nss):
        """The ClusterQueue's namespaceSelector: {} selects every namespace,
        none selects none."""
        sel = (cq.get("spec") or {}).get("namespaceSelector")
        if sel is None:
            return False
        nl = labels_of(nss.get(ns) or {})
        return all(nl.get(k) == v for k, v in (sel.get("matchLabels") or {}).items()) and \
            all(_expr_match(e, nl.get(e.get("key")), e.get("key") in nl)
                for e in sel.get("matchExpressions") or [])

    def _kueue_admit(self, wls, rfs, cqs, lqs, active):
        usage, pending = {}, {}
        now = self.store.now()
        nss = {n["metadata"]["name"]: n for n in self.store.list("namespaces")}
        for wl in wls:
            if cond_true(wl, "Finished"):
                continue
            m, spec = wl["metadata"], wl.get("spec") or {}
            if cond_true(wl, "QuotaReserved"):
                cqn = ((wl.get("status") or {}).get("admission") or {}).get("clusterQueue")
                if (((cqs.get(cqn) or {}).get("spec") or {}).get("stopPolicy")) == "HoldAndDrain":
                    self._evict(wl, now)
                    continue
                u = usage.setdefault(cqn, {})
                for k, v in _usage(wl).items():
                    u[k] = u.get(k, 0) + v
                continue
            if spec.get("active") is False:
                continue
            lq = lqs.get((m["namespace"], spec.get("queueName")))
            if lq is None:
                self._pending(wl, "Inadmissible", "LocalQueue %s doesn't exist" % spec.get("queueName"), now)
                continue
            cqn = (lq.get("spec") or {}).get("clusterQueue")
            if cqn not in cqs:
                self._pending(wl, "Inadmissible", "ClusterQueue %s doesn't exist" % cqn, now)
            elif not active[cqn][0]:
                self._pending(wl, "Inadmissible", "ClusterQueue %s is inactive" % cqn, now)
            elif not self._ns_selected(cqs[cqn], m["namespace"], nss):
                self._pending(wl, "Inadmissible", "Workload namespace doesn't match ClusterQueue selector",
                              now)
            elif ((lq.get("spec") or {}).get("stopPolicy") or "None") != "None":
                self._pending(wl, "Inadmissible", "LocalQueue %s is inactive" % spec.get("queueName"), now)
            else:
                pending.setdefault(cqn, []).append(wl)
        self.each(sorted(pending.items()), lambda item: self._admit_queue(
            cqs[item[0]], item[0], item[1], rfs, usage.setdefault(item[0], {}), now))

    def _admit_queue(self, cq, cqn, queue_, rfs, u, now):
        strict = (cq.get("spec") or {}).get("queueingStrategy") == "StrictFIFO"
        queue_.sort(key=lambda w: (-((w.get("spec") or {}).get("priority") or 0),
                                   w["metadata"].get("creationTimestamp") or "",
                                   w["metadata"]["name"]))
        for wl in queue_:
            assignments, why = self._assign(wl, cq, rfs, u)
            if assignments is None:
                self._pending(wl, "Pending", why, now)
                if strict:
                    break
                continue
            self._admit(wl, cqn, assignments, now)
            for a in assignments:
                for r, f in a["flavors"].items():
                    u[(f, r)] = u.get((f, r), 0) + qty(a["resourceUsage"][r])

    def _assign(self, wl, cq, rfs, usage):
        """Kueue's flavor assigner without borrowing: the pod sets'
        assignments, or None and the reason."""
        groups = (cq.get("spec") or {}).get("resourceGroups") or []
        out, assumed = [], {}
        for ps in (wl.get("spec") or {}).get("podSets") or []:
            name, count = ps.get("name", "main"), ps.get("count", 1)
            pspec = (ps.get("template") or {}).get("spec") or {}
            total = {k: v * count for k, v in pod_requests(pspec).items() if v > 0}
            if any("pods" in (g.get("coveredResources") or []) for g in groups):
                total["pods"] = count
            flavors = {}
            for r in total:
                if not any(r in (g.get("coveredResources") or []) for g in groups):
                    return None, "couldn't assign flavors to pod set %s: resource %s unavailable " \
                        "in ClusterQueue" % (name, r)
            for g in groups:
                want = [r for r in g.get("coveredResources") or [] if r in total]
                if not want:
                    continue
                reasons, chosen = [], None
                for fq in g.get("flavors") or []:
                    fname = fq["name"]
                    why = flavor_mismatch(pspec, rfs.get(fname), fname)
                    if why:
                        reasons.append(why)
                        continue
                    quota = {x.get("name"): qty(x.get("nominalQuota", 0)) for x in fq.get("resources") or []}
                    fits = True
                    for r in want:
                        prev, nominal = assumed.get((fname, r), 0), quota.get(r, 0)
                        if prev + total[r] > nominal:
                            reasons.append("insufficient quota for %s in flavor %s, previously considered "
                                           "podsets requests (%s) + current podset request (%s) > maximum "
                                           "capacity (%s)" % (r, fname, res_str(r, prev), res_str(r, total[r]),
                                                              res_str(r, nominal)))
                            fits = False
                        elif usage.get((fname, r), 0) + prev + total[r] > nominal:
                            reasons.append("insufficient unused quota for %s in flavor %s, %s more needed"
                                           % (r, fname, res_str(r, usage.get((fname, r), 0) + prev
                                                                + total[r] - nominal)))
                            fits = False
                    if fits:
                        chosen = fname
                        break
                if chosen is None:
                    return None, "couldn't assign flavors to pod set %s: %s" % (name, ", ".join(reasons))
                for r in want:
                    flavors[r] = chosen
                    assumed[(chosen, r)] = assumed.get((chosen, r), 0) + total[r]
            out.append({"name": name, "flavors": flavors,
                        "resourceUsage": {r: res_str(r, v) for r, v in total.items()},
                        "count": count})
        return out, None

    def _pending(self, wl, reason, message, now):
        st = copy.deepcopy(wl.get("status") or {})
        set_cond(st.setdefault("conditions", []), "QuotaReserved", "False", reason, message, now,
                 gen=wl["metadata"].get("generation"))
        st["resourceRequests"] = [
            {"name": ps.get("name", "main"),
             "resources": {r: res_str(r, v * ps.get("count", 1)) for r, v in
                           pod_requests(((ps.get("template") or {}).get("spec") or {})).items() if v > 0}}
            for ps in (wl.get("spec") or {}).get("podSets") or []]
        self.update_status(WORKLOADS, wl, st)

    def _admit(self, wl, cqn, assignments, now):
        st = copy.deepcopy(wl.get("status") or {})
        gen = wl["metadata"].get("generation")
        st["admission"] = {"clusterQueue": cqn, "podSetAssignments": assignments}
        st.pop("resourceRequests", None)
        conds = st.setdefault("conditions", [])
        set_cond(conds, "QuotaReserved", "True", "QuotaReserved", "Quota reserved in ClusterQueue %s" % cqn,
                 now, gen=gen)
        set_cond(conds, "Admitted", "True", "Admitted", "The workload is admitted", now, gen=gen)
        ev = cond_true({"status": st}, "Evicted") and next(c for c in conds if c["type"] == "Evicted")
        if ev:
            set_cond(conds, "Evicted", "False", "QuotaReserved", "Previously: " + ev["message"], now, gen=gen)
        wl = self.update_status(WORKLOADS, wl, st)
        waited = max(0, int(ts_parse(now) - (ts_parse(wl["metadata"].get("creationTimestamp")) or ts_parse(now))))
        self.event(wl, "Normal", "QuotaReserved", "Quota reserved in ClusterQueue %s, wait time since "
                   "queued was %ds" % (cqn, waited), COMPONENT)
        self.event(wl, "Normal", "Admitted", "Admitted by ClusterQueue %s, wait time since reservation "
                   "was 0s" % cqn, COMPONENT)

    def _evict(self, wl, now):
        st = copy.deepcopy(wl.get("status") or {})
        gen = wl["metadata"].get("generation")
        st.pop("admission", None)
        conds = st.setdefault("conditions", [])
        set_cond(conds, "Evicted", "True", "ClusterQueueStopped", "The ClusterQueue is stopped", now, gen=gen)
        set_cond(conds, "QuotaReserved", "False", "Pending", "The ClusterQueue is stopped", now, gen=gen)
        set_cond(conds, "Admitted", "False", "NoReservation", "The workload has no reservation", now, gen=gen)
        wl = self.update_status(WORKLOADS, wl, st)
        self.event(wl, "Normal", "EvictedDueToClusterQueueStopped", "The ClusterQueue is stopped", COMPONENT)

    # -- queue status ----------------------------------------------------

    def _kueue_queue_status(self, wls, cqs, lqs, active):
        lq_of = {key: (lq.get("spec") or {}).get("clusterQueue") for key, lq in lqs.items()}
        cnt = {}

        def bump(key, wl):
            c = cnt.setdefault(key, {"pending": 0, "reserving": 0, "admitted": 0, "res": {}, "adm": {}})
            if cond_true(wl, "Finished"):
                return
            if cond_true(wl, "QuotaReserved"):
                c["reserving"] += 1
                for k, v in _usage(wl).items():
                    c["res"][k] = c["res"].get(k, 0) + v
                if cond_true(wl, "Admitted"):
                    c["admitted"] += 1
                    for k, v in _usage(wl).items():
                        c["adm"][k] = c["adm"].get(k, 0) + v
            elif (wl.get("spec") or {}).get("active") is not False:
                c["pending"] += 1

        for wl in wls:
            if wl["metadata"].get("deletionTimestamp"):
                continue
            key = (wl["metadata"]["namespace"], (wl.get("spec") or {}).get("queueName"))
            cqn = ((wl.get("status") or {}).get("admission") or {}).get("clusterQueue") or lq_of.get(key)
            bump(("cq", cqn), wl)
            if key in lqs:
                bump(("lq",) + key, wl)
        now = self.store.now()
        empty = {"pending": 0, "reserving": 0, "admitted": 0, "res": {}, "adm": {}}
        for name, cq in cqs.items():
            c = cnt.get(("cq", name), empty)
            st = copy.deepcopy(cq.get("status") or {})
            st.update(pendingWorkloads=c["pending"], reservingWorkloads=c["reserving"],
                      admittedWorkloads=c["admitted"], flavorsReservation=_flavor_list(cq, c["res"], True),
                      flavorsUsage=_flavor_list(cq, c["adm"], True))
            ok, reason, msg = active[name]
            set_cond(st.setdefault("conditions", []), "Active", "True" if ok else "False", reason, msg, now,
                     gen=cq["metadata"].get("generation"))
            self.update_status(CQS, cq, st)
        for key, lq in lqs.items():
            c = cnt.get(("lq",) + key, empty)
            cqn = lq_of[key]
            st = copy.deepcopy(lq.get("status") or {})
            st.update(pendingWorkloads=c["pending"], reservingWorkloads=c["reserving"],
                      admittedWorkloads=c["admitted"],
                      flavorsReservation=_flavor_list(cqs.get(cqn) or {}, c["res"], False),
                      flavorUsage=_flavor_list(cqs.get(cqn) or {}, c["adm"], False))
            if cqn not in cqs:
                a = ("False", "ClusterQueueDoesNotExist", "Can't submit new workloads to clusterQueue")
            elif not active[cqn][0]:
                a = ("False", "ClusterQueueIsInactive", "Can't submit new workloads to clusterQueue")
            elif ((lq.get("spec") or {}).get("stopPolicy") or "None") != "None":
                a = ("False", "Stopped", "LocalQueue is stopped")
            else:
                a = ("True", "Ready", "Can submit new workloads to localQueue")
            set_cond(st.setdefault("conditions", []), "Active", *a, now, gen=lq["metadata"].get("generation"))
            self.update_status(LQS, lq, st)
