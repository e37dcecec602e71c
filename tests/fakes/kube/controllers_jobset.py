"""controllers_jobset.py - the JobSet controller (jobset.x-k8s.io/v1alpha2).

Each replicatedJob x replicas becomes a Job <jobset>-<replicatedJob>-<index>
with the JobSet labels and annotations on the Job and its pod template
(jobset-name, replicatedjob-name, restart-attempt, replicatedjob-replicas,
global-replicas, job-index, job-key, job-global-index, coordinator), owned
by the JobSet; a headless Service named after the subdomain when DNS
hostnames are on (the default). The webhook's defaults are applied when
reading: successPolicy All, Indexed completion, restartPolicy OnFailure,
enableDNSHostnames. A failed child Job runs the failure policy: none ->
Failed (FailedJobs); rules in order, else RestartJobSet, which bumps
status.restarts and recreates every Job (the previous attempt's Jobs are
deleted with Foreground propagation), or fails the JobSet with
ReachedMaxRestarts once restartsCountTowardsMax reaches maxRestarts. The
success policy (All or Any over targetReplicatedJobs) sets Completed.
Suspend is propagated to the child Jobs; a finished JobSet's remaining Jobs
are deleted and ttlSecondsAfterFinished deletes the JobSet. Not modelled:
startupPolicy InOrder, dependsOn, the RestartJob actions, exclusive
placement.
"""
import copy
import hashlib
import re
import time

from errors import ApiError
from controllers_common import (JOBS, JOBSETS, JS, JS_CONTROLLER, JS_INDEX, JS_NAME,
                                JS_RESTARTS, JS_RJOB, FINAL, cond_true, is_suspended,
                                owned_by, owner_ref, set_cond, ts_parse)

COMPONENT = "jobset-controller"
SERVICES = "services"


def js_defaults(js):
    """The JobSet webhook's defaults, on a copy of the spec."""
    spec = copy.deepcopy(js.get("spec") or {})
    spec.setdefault("successPolicy", {"operator": "All"})
    net = spec.setdefault("network", {})
    if net.get("enableDNSHostnames") is None:
        net["enableDNSHostnames"] = True
    fp = spec.get("failurePolicy")
    if fp is not None:
        fp.setdefault("restartStrategy", "Recreate")
        for i, r in enumerate(fp.get("rules") or []):
            r.setdefault("name", "failurePolicyRule%d" % i)
    for rj in spec.get("replicatedJobs") or []:
        if rj.get("replicas") is None:
            rj["replicas"] = 1
        jspec = rj.setdefault("template", {}).setdefault("spec", {})
        jspec.setdefault("completionMode", "Indexed")
        pspec = jspec.setdefault("template", {}).setdefault("spec", {})
        pspec.setdefault("restartPolicy", "OnFailure")
    return spec


def job_finished(job):
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in FINAL and c.get("status") == "True":
            return c
    return None


def js_finished(js):
    for c in (js.get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Completed", "Failed") and c.get("status") == "True":
            return c
    return None


def _merge_list(a, b):
    out = list(a or [])
    for x in b or []:
        if x not in out:
            out.append(x)
    return out


class JobSetController:

    def reconcile_jobset(self, ns, name):
        js = self.store.get(JOBSETS, ns, name)
        if js is None or js["metadata"].get("deletionTimestamp"):
            return
        spec = js_defaults(js)
        if spec.get("managedBy") not in (None, JS_CONTROLLER):
            return
        key = ("jobset", ns, name)
        st = copy.deepcopy(js.get("status") or {})
        st.setdefault("restarts", 0)
        restarts = st["restarts"]
        conds = st.setdefault("conditions", [])
        previous, active, ok, failed = [], [], [], []
        for j in self.store.list(JOBS, ns):
            if not owned_by(j, js["metadata"]["uid"]):
                continue
            try:
                attempt = int((j["metadata"].get("labels") or {}).get(JS_RESTARTS, ""))
            except ValueError:
                attempt = -1
            fin = job_finished(j)
            if attempt < restarts:
                previous.append(j)
            elif fin is None:
                active.append(j)
            else:
                (ok if fin["type"] == "Complete" else failed).append(j)
        st["replicatedJobsStatus"] = self._rjob_statuses(spec, active, ok, failed)
        now, events = self.store.now(), []

        if js_finished(js):
            for j in active:
                if not j["metadata"].get("deletionTimestamp"):
                    self.delete(JOBS, j, "Foreground")
            self._finish_jobset(js, st, events, key)
            return
        for j in previous:
            if not j["metadata"].get("deletionTimestamp"):
                self.delete(JOBS, j, "Foreground")
        if failed:
            self._jobset_failure(spec, st, failed, events, now)
        elif ok and self._success_met(spec, ok):
            set_cond(conds, "Completed", "True", "AllJobsCompleted",
                     "jobset completed successfully", now)
            st["terminalState"] = "Completed"
            events.append(("Normal", "AllJobsCompleted", "jobset completed successfully"))
        else:
            self._jobset_children(js, spec, previous, active + ok, restarts)
            self._jobset_suspend(js, spec, st, active, events, now)
        self._finish_jobset(js, st, events, key)

    def _finish_jobset(self, js, st, events, key):
        if not st.get("conditions"):
            st.pop("conditions", None)
        if not st.get("restartsCountTowardsMax"):
            st.pop("restartsCountTowardsMax", None)
        js = self.update_status(JOBSETS, js, st)
        for etype, reason, msg in events:
            self.event(js, etype, reason, msg, COMPONENT)
        ttl = (js.get("spec") or {}).get("ttlSecondsAfterFinished")
        fin = js_finished(js)
        if ttl is None or fin is None:
            return
        left = ts_parse(fin.get("lastTransitionTime")) + ttl - time.time()
        if left > 0:
            self.after(left + 0.05, key)
            return
        try:
            self.store.delete(JOBSETS, js["metadata"]["namespace"], js["metadata"]["name"],
                              propagation="Foreground")
        except ApiError as e:
            if e.code != 404:
                raise

    def _rjob_statuses(self, spec, active, ok, failed):
        def mine(jobs, rj):
            return [j for j in jobs if (j["metadata"].get("labels") or {}).get(JS_RJOB) == rj["name"]]

        out = []
        for rj in spec.get("replicatedJobs") or []:
            s = {"name": rj["name"], "ready": 0, "succeeded": 0, "failed": 0,
                 "active": 0, "suspended": 0}
            for j in mine(active, rj):
                jst, jspec = j.get("status") or {}, j.get("spec") or {}
                want = jspec.get("parallelism", 1)
                if jspec.get("completions") is not None:
                    want = min(want, jspec["completions"])
                if jst.get("succeeded", 0) + (jst.get("ready") or 0) >= want:
                    s["ready"] += 1
                if jst.get("active", 0) > 0:
                    s["active"] += 1
                if is_suspended(j):
                    s["suspended"] += 1
            s["succeeded"], s["failed"] = len(mine(ok, rj)), len(mine(failed, rj))
            out.append(s)
        return out

    def _success_met(self, spec, ok):
        sp = spec["successPolicy"]
        targets = sp.get("targetReplicatedJobs") or []

        def match(rjob_name):
            return not targets or rjob_name in targets

        n = sum(1 for j in ok if match((j["metadata"].get("labels") or {}).get(JS_RJOB)))
        if sp.get("operator") == "Any":
            return n >= 1
        return n >= sum(rj["replicas"] for rj in spec.get("replicatedJobs") or [] if match(rj["name"]))

    def _jobset_failure(self, spec, st, failed, events, now):
        """Runs the failure policy for the earliest failed Job."""
        def when(j):
            return job_finished(j).get("lastTransitionTime") or ""

        def fail(reason, msg):
            set_cond(st["conditions"], "Failed", "True", reason, msg, now)
            st["terminalState"] = "Failed"
            events.append(("Warning", reason, msg))

        first = min(failed, key=when)
        fp = spec.get("failurePolicy")
        if fp is None:
            fail("FailedJobs", "jobset failed due to one or more job failures (first failed job: %s)"
                 % first["metadata"]["name"])
            return
        action = "RestartJobSet"
        for rule in fp.get("rules") or []:
            hits = [j for j in failed if self._rule_applies(rule, j)]
            if hits:
                action, first = rule.get("action"), min(hits, key=when)
                break
        jname = first["metadata"]["name"]
        if action == "FailJobSet":
            fail("FailJobSetFailurePolicyAction",
                 "applying FailJobSet failure policy action (first failed job: %s)" % jname)
        elif action == "RestartJobSetAndIgnoreMaxRestarts":
            st["restarts"] += 1
            events.append(("Warning", "RestartJobSetAndIgnoreMaxRestartsFailurePolicyAction",
                           "applying RestartJobSetAndIgnoreMaxRestarts failure policy action "
                           "(first failed job: %s)" % jname))
        elif st.get("restartsCountTowardsMax", 0) >= fp.get("maxRestarts", 0):
            fail("ReachedMaxRestarts", "jobset failed due to reaching max number of restarts "
                 "(first failed job: %s)" % jname)
        else:
            st["restarts"] += 1
            st["restartsCountTowardsMax"] = st.get("restartsCountTowardsMax", 0) + 1
            events.append(("Warning", "RestartJobSetFailurePolicyAction",
                           "applying RestartJobSet failure policy action (first failed job: %s)"
                           % jname))

    def _rule_applies(self, rule, job):
        fin = job_finished(job) or {}
        reasons = rule.get("onJobFailureReasons") or []
        if reasons and fin.get("reason") not in reasons:
            return False
        pats = rule.get("onJobFailureMessagePatterns") or []
        if pats and not any(re.search(p, fin.get("message") or "") for p in pats):
            return False
        targets = rule.get("targetReplicatedJobs") or []
        return not targets or (job["metadata"].get("labels") or {}).get(JS_RJOB) in targets

    def _jobset_children(self, js, spec, previous, current, restarts):
        """Creates the Jobs of the current attempt that do not exist yet
        (names still held by a previous attempt's Job wait for it to go)."""
        blocking = (spec.get("failurePolicy") or {}).get("restartStrategy") == "BlockingRecreate"
        if previous and blocking:
            return
        taken = {j["metadata"]["name"] for j in previous + current}
        m = js["metadata"]
        net = spec["network"]
        subdomain = net.get("subdomain") or m["name"]
        if net.get("enableDNSHostnames"):
            self._headless_service(js, subdomain, net)
        total = sum(rj["replicas"] for rj in spec.get("replicatedJobs") or [])
        gidx = 0
        for rj in spec.get("replicatedJobs") or []:
            for idx in range(rj["replicas"]):
                jname = "%s-%s-%d" % (m["name"], rj["name"], idx)
                if jname not in taken:
                    self.store.create(JOBS, self._child_job(js, spec, rj, idx, gidx + idx, total,
                                                            jname, subdomain, restarts))
            gidx += rj["replicas"]

    def _child_job(self, js, spec, rj, idx, gidx, total, jname, subdomain, restarts):
        m, tmpl = js["metadata"], copy.deepcopy(rj["template"])
        add = {JS_NAME: m["name"], JS_RJOB: rj["name"], JS_RESTARTS: str(restarts),
               JS + "replicatedjob-replicas": str(rj["replicas"]),
               JS + "global-replicas": str(total), JS_INDEX: str(idx),
               JS + "job-key": hashlib.sha1(("%s/%s" % (m["namespace"], jname)).encode()).hexdigest(),
               JS + "job-global-index": str(gidx)}
        co = spec.get("coordinator")
        if co:
            add[JS + "coordinator"] = "%s-%s-%d-%d.%s" % (m["name"], co.get("replicatedJob"),
                                                          co.get("jobIndex", 0),
                                                          co.get("podIndex", 0), subdomain)
        ann = dict(add)
        excl = "alpha.jobset.sigs.k8s.io/exclusive-topology"
        for src in ((m.get("annotations") or {}), ((tmpl.get("metadata") or {}).get("annotations") or {})):
            if excl in src:
                ann[excl] = src[excl]
        jm = tmpl.get("metadata") or {}
        jspec = tmpl.get("spec") or {}
        pt = jspec.setdefault("template", {})
        ptm = pt.setdefault("metadata", {})
        ptm["labels"] = dict(ptm.get("labels") or {}, **add)
        ptm["annotations"] = dict(ptm.get("annotations") or {}, **ann)
        if spec["network"].get("enableDNSHostnames"):
            pt.setdefault("spec", {})["subdomain"] = subdomain
        jspec["suspend"] = is_suspended(js)
        return {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": jname, "namespace": m["namespace"],
                             "labels": dict(jm.get("labels") or {}, **add),
                             "annotations": dict(jm.get("annotations") or {}, **ann),
                             "ownerReferences": [owner_ref(js)]},
                "spec": jspec}

    def _headless_service(self, js, name, net):
        ns = js["metadata"]["namespace"]
        if self.store.get(SERVICES, ns, name) is not None:
            return
        svc = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": name, "namespace": ns, "ownerReferences": [owner_ref(js)]},
               "spec": {"clusterIP": "None", "selector": {JS_NAME: js["metadata"]["name"]},
                        "publishNotReadyAddresses": net.get("publishNotReadyAddresses", True)}}
        try:
            self.store.create(SERVICES, svc)
        except ApiError as e:
            if e.code != 409:
                raise

    def _jobset_suspend(self, js, spec, st, active, events, now):
        conds = st["conditions"]
        if is_suspended(js):
            for j in active:
                if not is_suspended(j):
                    j["spec"]["suspend"] = True
                    self.store.update(JOBS, j)
            if set_cond(conds, "Suspended", "True", "SuspendedJobs", "jobset is suspended", now):
                events.append(("Normal", "SuspendedJobs", "jobset is suspended"))
            return
        tmpls = {rj["name"]: rj["template"]["spec"]["template"] for rj in spec.get("replicatedJobs") or []}
        for j in active:
            if not is_suspended(j):
                continue
            if (j.get("status") or {}).get("startTime"):
                jst = copy.deepcopy(j["status"])
                del jst["startTime"]
                j = self.update_status(JOBS, j, jst)
            src = tmpls.get((j["metadata"].get("labels") or {}).get(JS_RJOB)) or {}
            pt = j["spec"].setdefault("template", {})
            ptm, sm = pt.setdefault("metadata", {}), src.get("metadata") or {}
            for f in ("labels", "annotations"):
                ptm[f] = dict(ptm.get(f) or {}, **(sm.get(f) or {}))
            ps, ss = pt.setdefault("spec", {}), src.get("spec") or {}
            if ps.get("nodeSelector") or ss.get("nodeSelector"):
                ps["nodeSelector"] = dict(ps.get("nodeSelector") or {}, **(ss.get("nodeSelector") or {}))
            for f in ("tolerations", "schedulingGates"):
                if ps.get(f) or ss.get(f):
                    ps[f] = _merge_list(ps.get(f), ss.get(f))
            j["spec"]["suspend"] = False
            self.store.update(JOBS, j)
        if cond_true({"status": st}, "Suspended"):
            set_cond(conds, "Suspended", "False", "ResumeJobs", "jobset is resumed", now)
            events.append(("Normal", "ResumeJobs", "jobset is resumed"))
