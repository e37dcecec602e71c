"""controllers_job.py - the Job controller (batch/v1), as Kubernetes 1.32 has it.

Pods from spec.template named <job>-<5 random> (Indexed: <job>-<index>-<5>,
with the completion-index annotation and label, hostname <job>-<index> and
JOB_COMPLETION_INDEX), owned by the Job; parallelism and completions in both
completion modes; backoffLimit (failed pods, or container restarts with
restartPolicy OnFailure) with the controller's exponential pod back-off;
activeDeadlineSeconds; suspend and resume (Suspended condition, startTime
reset); the interim FailureTarget / SuccessCriteriaMet conditions, then
Failed / Complete once no pod of the Job is left running; status counts;
ttlSecondsAfterFinished as the TTL-after-finished controller does it
(deletion with Foreground propagation). A Job whose spec.managedBy names
another controller is left alone, as JobManagedBy has it. The API server's
create-time defaults (selector, template labels, completions...) are filled
in here when a Job arrives without them. The pod finalizer
batch.kubernetes.io/job-tracking is not used: counts are kept in memory
beside the status.
"""
import copy
import time

from errors import ApiError
from controllers_common import (JOBS, PODS, WORKLOADS, JOB_NAME, JOB_NAME_LEGACY,
                                JOB_UID, JOB_UID_LEGACY, JOB_INDEX, QUEUE_LABEL,
                                FINAL, controller_ref, cond_true, find_cond,
                                is_suspended, owned_by, owner_ref, rand5, set_cond,
                                ts_parse)

JOB_BACKOFF_BASE = 10.0          # seconds: the controller's pod back-off base
JOB_BACKOFF_MAX = 600.0
TERMINAL = ("Succeeded", "Failed")
COMPONENT = "job-controller"
JOB_CONTROLLER = "kubernetes.io/job-controller"


class _JobTrack:
    """What the controller remembers of a Job between reconciles."""

    def __init__(self, status, pods):
        self.counted = set()     # pod uids already in succeeded/failed
        self.seen = set()        # uids of the Job's unfinished pods
        self.quiet = set()       # uids deleted on suspend/scale-down: never failures
        self.failures = 0        # failures since the last success (back-off)
        self.last_failure = 0.0
        if status.get("succeeded") or status.get("failed"):
            self.counted = {p["metadata"]["uid"] for p in pods
                            if (p.get("status") or {}).get("phase") in TERMINAL}


def parse_indexes(s):
    out = set()
    for part in (s or "").split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            out.update(range(int(a), int(b) + 1))
        elif part:
            out.add(int(part))
    return out


def format_indexes(idx):
    out, run = [], []
    for i in sorted(idx):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            out.append(str(run[0]) if len(run) == 1 else "%d-%d" % (run[0], run[-1]))
        run = [i]
    if run:
        out.append(str(run[0]) if len(run) == 1 else "%d-%d" % (run[0], run[-1]))
    return ",".join(out)


def pod_index(pod):
    v = ((pod.get("metadata") or {}).get("annotations") or {}).get(JOB_INDEX)
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def pod_ready(pod):
    return cond_true(pod, "Ready")


def job_finish_time(job):
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in FINAL and c.get("status") == "True":
            return ts_parse(c.get("lastTransitionTime"))
    return None


class JobController:

    def _job_defaults(self, job):
        """The API server's create-time work on a Job (SetDefaults_Job and
        generateSelector): returns True when it had to write them."""
        spec = job.setdefault("spec", {})
        if spec.get("selector") is not None or spec.get("manualSelector"):
            return False
        m = job["metadata"]
        tmpl = spec.setdefault("template", {})
        tl = tmpl.setdefault("metadata", {}).setdefault("labels", {})
        if not m.get("labels") and tl:
            m["labels"] = dict(tl)
        for k in (JOB_NAME_LEGACY, JOB_NAME):
            tl.setdefault(k, m["name"])
        for k in (JOB_UID_LEGACY, JOB_UID):
            tl.setdefault(k, m["uid"])
        spec["selector"] = {"matchLabels": {JOB_UID: m["uid"]}}
        if spec.get("completions") is None and spec.get("parallelism") is None:
            spec["completions"] = 1
        spec.setdefault("parallelism", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        spec.setdefault("manualSelector", False)
        spec.setdefault("podReplacementPolicy",
                        "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed")
        self.store.update(JOBS, job)
        return True

    def _kueue_gated(self, job):
        """Kueue owns the start of a queued Job: until its Workload is
        admitted the Job is not started, whatever its suspend says (the
        real webhook suspends it at creation)."""
        if QUEUE_LABEL not in (job["metadata"].get("labels") or {}):
            return False
        ref = controller_ref(job)
        if ref is not None and ref.get("kind") == "JobSet":
            return False
        if is_suspended(job):
            return False
        uid = job["metadata"]["uid"]
        for wl in self.store.list(WORKLOADS, job["metadata"]["namespace"]):
            if owned_by(wl, uid):
                return not cond_true(wl, "Admitted")
        return True

    def reconcile_job(self, ns, name):
        job = self.store.get(JOBS, ns, name)
        if job is None:
            return
        m = job["metadata"]
        if (job.get("spec") or {}).get("managedBy") not in (None, JOB_CONTROLLER):
            return                       # another controller's Job (JobManagedBy)
        if m.get("deletionTimestamp") or self._job_defaults(job) or self._kueue_gated(job):
            return
        uid, key = m["uid"], ("job", ns, name)
        spec = job["spec"]
        st = copy.deepcopy(job.get("status") or {})
        conds = st.get("conditions") or []
        pods = [p for p in self.store.list(PODS, ns) if owned_by(p, uid)]
        tr = self._jobs.get(uid)
        if tr is None:
            tr = self._jobs[uid] = _JobTrack(st, pods)
        if any(c.get("type") in FINAL and c.get("status") == "True" for c in conds):
            self._job_ttl(job, key)
            return

        now, nowstr = time.time(), self.store.now()
        indexed = spec.get("completionMode") == "Indexed"
        completions = spec.get("completions")
        parallelism = spec.get("parallelism", 1)
        done_idx = parse_indexes(st.get("completedIndexes"))
        active, terminating, counted_now = [], [], set()
        new_failed = new_succeeded = 0
        present = set()
        for p in pods:
            puid, phase = p["metadata"]["uid"], (p.get("status") or {}).get("phase")
            present.add(puid)
            if phase in TERMINAL:
                if puid in tr.counted:
                    continue
                counted_now.add(puid)
                if phase == "Succeeded":
                    new_succeeded += 1
                    if pod_index(p) is not None:
                        done_idx.add(pod_index(p))
                elif puid not in tr.quiet:
                    new_failed += 1
            elif p["metadata"].get("deletionTimestamp"):
                terminating.append(p)
            else:
                active.append(p)
        for puid in tr.seen - present - tr.counted:
            counted_now.add(puid)
            if puid not in tr.quiet:
                new_failed += 1          # deleted before it finished
        if indexed:
            done_idx = {i for i in done_idx if completions is None or i < completions}
            succeeded = len(done_idx)
        else:
            succeeded = st.get("succeeded", 0) + new_succeeded
        failed = st.get("failed", 0) + new_failed
        suspended = is_suspended(job)
        events = []
        # Failures since the last success, for the pod back-off.
        backoff = (0 if new_succeeded else tr.failures) + new_failed, \
            now if new_failed else tr.last_failure

        # startTime, and the Suspended condition both ways.
        interim = next((c for c in conds if c.get("type") in ("FailureTarget", "SuccessCriteriaMet")
                        and c.get("status") == "True"), None)
        if interim is None:
            if suspended:
                if set_cond(conds, "Suspended", "True", "JobSuspended", "Job suspended", nowstr, True):
                    events.append(("Normal", "Suspended", "Job suspended"))
            else:
                if find_cond({"status": {"conditions": conds}}, "Suspended") and \
                   set_cond(conds, "Suspended", "False", "JobResumed", "Job resumed", nowstr, True):
                    events.append(("Normal", "Resumed", "Job resumed"))
                    st["startTime"] = nowstr
                st.setdefault("startTime", nowstr)

        backoff_limit = spec.get("backoffLimit", 6)
        start = ts_parse(st.get("startTime"))
        deadline = spec.get("activeDeadlineSeconds")
        if interim is None:
            if failed > backoff_limit or self._past_backoff_on_failure(spec, active, backoff_limit):
                interim = self._job_cond(conds, "FailureTarget", "BackoffLimitExceeded",
                                         "Job has reached the specified backoff limit", nowstr)
            elif not suspended and deadline is not None and start is not None \
                    and now >= start + deadline:
                interim = self._job_cond(conds, "FailureTarget", "DeadlineExceeded",
                                         "Job was active longer than specified deadline", nowstr)
            elif (completions is not None and succeeded >= completions) or \
                 (completions is None and succeeded > 0 and not active and not terminating):
                interim = self._job_cond(conds, "SuccessCriteriaMet", "CompletionsReached",
                                         "Reached expected number of succeeded pods", nowstr)

        if interim is not None:
            failing = interim["type"] == "FailureTarget"
            for p in active:
                if not failing:
                    tr.quiet.add(p["metadata"]["uid"])
                left = self._delete_pod(job, p, events)
                if left is not None:
                    terminating.append(left)
                elif failing:
                    failed += 1
                    counted_now.add(p["metadata"]["uid"])
                else:
                    counted_now.add(p["metadata"]["uid"])
            active = []
            if not terminating:
                final = "Failed" if failing else "Complete"
                self._job_cond(conds, final, interim["reason"], interim["message"], nowstr)
                if final == "Complete":
                    st["completionTime"] = nowstr
                    events.append(("Normal", "Completed", "Job completed"))
                else:
                    events.append(("Warning", interim["reason"], interim["message"]))
        elif suspended:
            for p in active:
                tr.quiet.add(p["metadata"]["uid"])
                left = self._delete_pod(job, p, events)
                if left is not None:
                    terminating.append(left)
                else:
                    counted_now.add(p["metadata"]["uid"])
            active = []
        else:
            active = self._manage_pods(job, active, terminating, succeeded, done_idx,
                                       parallelism, completions, indexed, tr, backoff, now,
                                       counted_now, events, key)
            if deadline is not None and start is not None:
                self.after(start + deadline - now + 0.05, key)

        for k, v in (("active", len(active)), ("succeeded", succeeded), ("failed", failed)):
            if v:
                st[k] = v
            else:
                st.pop(k, None)
        st["ready"] = sum(1 for p in active if pod_ready(p))
        st["terminating"] = len(terminating)
        st["uncountedTerminatedPods"] = {}
        if indexed and done_idx:
            st["completedIndexes"] = format_indexes(done_idx)
        if conds:
            st["conditions"] = conds
        job = self.update_status(JOBS, job, st)
        tr.counted |= counted_now
        tr.seen = {p["metadata"]["uid"] for p in active + terminating}
        tr.failures, tr.last_failure = backoff
        for etype, reason, msg in events:
            self.event(job, etype, reason, msg, COMPONENT)
        if any(c.get("type") in FINAL and c.get("status") == "True" for c in conds):
            self._job_ttl(job, key)

    def _job_cond(self, conds, ctype, reason, message, nowstr):
        set_cond(conds, ctype, "True", reason, message, nowstr, True)
        return {"type": ctype, "reason": reason, "message": message}

    def _past_backoff_on_failure(self, spec, active, limit):
        tmpl = (spec.get("template") or {}).get("spec") or {}
        if tmpl.get("restartPolicy") != "OnFailure":
            return False
        n = 0
        for p in active:
            ps = p.get("status") or {}
            for cs in (ps.get("initContainerStatuses") or []) + (ps.get("containerStatuses") or []):
                n += cs.get("restartCount", 0)
        return n > 0 if limit == 0 else n >= limit

    def _delete_pod(self, job, pod, events):
        """Deletes one of the Job's pods; returns it when it is still there
        (terminating on its node), None when it is gone."""
        left = self.delete(PODS, pod)
        events.append(("Normal", "SuccessfulDelete", "Deleted pod: %s" % pod["metadata"]["name"]))
        return left

    def _manage_pods(self, job, active, terminating, succeeded, done_idx, parallelism,
                     completions, indexed, tr, backoff, now, counted_now, events, key):
        """Creates or deletes pods towards the wanted number of active ones;
        returns the active pods afterwards."""
        if indexed:
            by_idx, extra = {}, []
            for p in sorted(active, key=lambda p: p["metadata"].get("creationTimestamp") or ""):
                i = pod_index(p)
                if i is None or i in done_idx or (completions is not None and i >= completions) \
                   or i in by_idx:
                    extra.append(p)
                else:
                    by_idx[i] = p
            keep = [by_idx[i] for i in sorted(by_idx)]
            extra += keep[parallelism:]
            keep = keep[:parallelism]
            busy = {pod_index(p) for p in keep}
            want = [i for i in range(completions or 0) if i not in done_idx and i not in busy]
            want = want[:max(0, parallelism - len(keep))]
        else:
            if completions is None:
                n = parallelism if succeeded == 0 else len(active)
            else:
                n = min(parallelism, completions - succeeded)
            n = max(0, n)
            keep = sorted(active, key=lambda p: (not (p.get("spec") or {}).get("nodeName"),
                                                 not pod_ready(p),
                                                 p["metadata"].get("creationTimestamp") or ""))
            extra, keep = keep[n:], keep[:n]
            want = [None] * (n - len(keep))
        for p in extra:
            tr.quiet.add(p["metadata"]["uid"])
            left = self._delete_pod(job, p, events)
            if left is not None:
                terminating.append(left)
            else:
                counted_now.add(p["metadata"]["uid"])
        failures, last = backoff
        if want and failures:
            delay = min(JOB_BACKOFF_MAX, JOB_BACKOFF_BASE * 2 ** (failures - 1))
            if last + delay > now:
                self.after(last + delay - now, key)
                return keep
        for i in want:
            keep.append(self._create_pod(job, i, events))
        return keep

    def _create_pod(self, job, index, events):
        m, tmpl = job["metadata"], copy.deepcopy(job["spec"].get("template") or {})
        tm = tmpl.get("metadata") or {}
        prefix = "%s-" % m["name"] if index is None else "%s-%d-" % (m["name"], index)
        pm = {"generateName": prefix, "namespace": m["namespace"],
              "labels": dict(tm.get("labels") or {}),
              "annotations": dict(tm.get("annotations") or {}),
              "ownerReferences": [owner_ref(job)]}
        if tm.get("finalizers"):
            pm["finalizers"] = list(tm["finalizers"])
        spec = tmpl.get("spec") or {}
        if index is not None:
            pm["annotations"][JOB_INDEX] = str(index)
            pm["labels"][JOB_INDEX] = str(index)
            spec["hostname"] = "%s-%d" % (m["name"], index)
            env = {"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
                "fieldPath": "metadata.labels['%s']" % JOB_INDEX}}}
            for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
                if not any(e.get("name") == env["name"] for e in c.get("env") or []):
                    c.setdefault("env", []).append(copy.deepcopy(env))
        if not pm["annotations"]:
            del pm["annotations"]
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": pm, "spec": spec}
        for attempt in range(5):
            pm["name"] = prefix + rand5()
            try:
                pod = self.store.create(PODS, pod)
                break
            except ApiError as e:
                if e.code != 409 or attempt == 4:
                    self.event(job, "Warning", "FailedCreate", "Error creating: %s" % e.message,
                               COMPONENT)
                    raise
        events.append(("Normal", "SuccessfulCreate", "Created pod: %s" % pod["metadata"]["name"]))
        return pod

    def _job_ttl(self, job, key):
        ttl = job["spec"].get("ttlSecondsAfterFinished")
        finished = job_finish_time(job)
        if ttl is None or finished is None:
            return
        left = finished + ttl - time.time()
        if left > 0:
            self.after(left + 0.05, key)
            return
        try:
            self.store.delete(JOBS, job["metadata"]["namespace"], job["metadata"]["name"],
                              propagation="Foreground")
        except ApiError as e:
            if e.code != 404:
                raise
        self._jobs.pop(job["metadata"]["uid"], None)
