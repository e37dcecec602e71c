"""controllers_scheduler.py - the default-scheduler.

One pass binds every pending pod (no nodeName, not being deleted, not
finished, schedulerName default-scheduler or unset), highest priority then
oldest first, to the feasible node with the most free cpu and memory, by the
default filters in the real order: NodeUnschedulable, TaintToleration
(NoSchedule/NoExecute; a node that is not Ready carries the not-ready or
unreachable taint as the node lifecycle controller would add it),
NodeAffinity (nodeSelector and required node affinity), NodeResourcesFit
(pods, cpu, memory, ephemeral-storage and extended resources against
allocatable minus the pods bound there that have not finished). Binding
sets spec.nodeName and PodScheduled=True, as POST pods/NAME/binding does.
A pod that fits nowhere gets PodScheduled=False, reason Unschedulable, the
scheduler's FitError message (with the preemption part the DefaultPreemption
plugin adds) and a FailedScheduling event; a pod with schedulingGates gets
reason SchedulingGated. Preemption itself is not performed.
"""
import copy

from controllers_common import (NODES, PODS, PRIORITY_CLASSES, find_cond, log,
                                node_matches, node_taints, pod_priority, pod_requests,
                                qty, tolerates)

COMPONENT = "default-scheduler"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"


def _ceil_units(name, v):
    """The scheduler compares cpu in millicores and the rest in units."""
    if name == "cpu":
        return -((-v * 1000) // 1)
    return -((-v) // 1)


def _pending(pod):
    spec, m = pod.get("spec") or {}, pod["metadata"]
    phase = (pod.get("status") or {}).get("phase")
    return not spec.get("nodeName") and not m.get("deletionTimestamp") \
        and phase not in ("Succeeded", "Failed") \
        and (spec.get("schedulerName") or "default-scheduler") == "default-scheduler"


class Scheduler:

    def schedule(self):
        pods = self.store.list(PODS)
        pending = [p for p in pods if _pending(p)]
        if not pending:
            return
        classes = {c["metadata"]["name"]: c for c in self.store.list(PRIORITY_CLASSES)}
        nodes = sorted(self.store.list(NODES), key=lambda n: n["metadata"]["name"])
        used = {n["metadata"]["name"]: {} for n in nodes}
        count = {n["metadata"]["name"]: 0 for n in nodes}
        for p in pods:
            node = (p.get("spec") or {}).get("nodeName")
            if node in used and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                try:
                    req = pod_requests(p.get("spec") or {})
                except ValueError as e:
                    log("pod %s/%s: %s" % (p["metadata"]["namespace"], p["metadata"]["name"], e))
                    req = {}
                for k, v in req.items():
                    used[node][k] = used[node].get(k, 0) + v
                count[node] += 1
        pending.sort(key=lambda p: (-pod_priority(p, classes),
                                    p["metadata"].get("creationTimestamp") or "",
                                    p["metadata"]["name"]))
        self.each(pending, lambda pod: self._schedule_one(pod, nodes, used, count))

    def _schedule_one(self, pod, nodes, used, count):
        if (pod.get("spec") or {}).get("schedulingGates"):
            self._unschedulable(pod, "SchedulingGated",
                                "Scheduling is blocked due to non-empty scheduling gates",
                                event=False)
            return
        req = pod_requests(pod.get("spec") or {})
        best, reasons = None, {}
        for node in nodes:
            why = self._filter(pod, req, node, used, count)
            if why is None:
                score = self._score(req, node, used)
                if best is None or score > best[0]:
                    best = (score, node)
            else:
                reasons[node["metadata"]["name"]] = why
        if best is None:
            self._unschedulable(pod, "Unschedulable", self._fit_error(pod, nodes, reasons))
            return
        name = best[1]["metadata"]["name"]
        if self._bind(pod, name):
            for k, v in req.items():
                used[name][k] = used[name].get(k, 0) + v
            count[name] += 1

    def _filter(self, pod, req, node, used, count):
        """The first failing filter's reasons for this node, or None; each
        reason says whether preemption could help (resolvable)."""
        spec, nspec = pod.get("spec") or {}, node.get("spec") or {}
        tols = spec.get("tolerations") or []
        if nspec.get("unschedulable") and not tolerates(
                tols, {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}):
            return [("node(s) were unschedulable", False)]
        for t in node_taints(node):
            if t.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tols, t):
                return [("node(s) had untolerated taint {%s: %s}"
                         % (t.get("key"), t.get("value") or ""), False)]
        if not node_matches(spec, node):
            return [("node(s) didn't match Pod's node affinity/selector", False)]
        st = node.get("status") or {}
        alloc = st.get("allocatable") or st.get("capacity") or {}
        name = node["metadata"]["name"]
        out = []
        if count[name] + 1 > int(qty(alloc.get("pods", 0))):
            out.append(("Too many pods", True))
        order = ["cpu", "memory", "ephemeral-storage"]
        for k in order + sorted(k for k in req if k not in order):
            want = req.get(k, 0)
            if want <= 0:
                continue
            have = _ceil_units(k, qty(alloc.get(k, 0)))
            if _ceil_units(k, used[name].get(k, 0)) + _ceil_units(k, want) > have:
                out.append(("Insufficient %s" % k, True))
        return out or None

    def _score(self, req, node, used):
        st = node.get("status") or {}
        alloc = st.get("allocatable") or st.get("capacity") or {}
        free = []
        for k in ("cpu", "memory"):
            cap = qty(alloc.get(k, 0))
            if cap > 0:
                free.append((cap - used[node["metadata"]["name"]].get(k, 0) - req.get(k, 0)) / cap)
        return sum(free) / len(free) if free else 0

    def _fit_error(self, pod, nodes, reasons):
        if not nodes:
            return "no nodes available to schedule pods"
        n = len(nodes)
        hist, pre = {}, {}
        for why in reasons.values():
            for r, _ in why:
                hist[r] = hist.get(r, 0) + 1
            helpful = all(res for _, res in why)
            k = NO_VICTIMS if helpful else NOT_HELPFUL
            pre[k] = pre.get(k, 0) + 1
        msg = "0/%d nodes are available: %s." % (
            n, ", ".join(sorted("%d %s" % (c, r) for r, c in hist.items())))
        if (pod.get("spec") or {}).get("preemptionPolicy") == "Never":
            return msg + " preemption: not eligible due to preemptionPolicy=Never."
        return msg + " preemption: 0/%d nodes are available: %s." % (
            n, ", ".join(sorted("%d %s" % (c, r) for r, c in pre.items())))

    def _bind(self, pod, node):
        cur = self.store.get(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
        if cur is None or cur["metadata"]["uid"] != pod["metadata"]["uid"] or not _pending(cur):
            return False
        cur["spec"]["nodeName"] = node
        self._set_scheduled(cur, "True", None, None)
        self.store.update(PODS, cur)
        m = cur["metadata"]
        self.event(cur, "Normal", "Scheduled", "Successfully assigned %s/%s to %s"
                   % (m["namespace"], m["name"], node), COMPONENT)
        return True

    def _set_scheduled(self, pod, status, reason, message):
        now = self.store.now()
        st = pod.setdefault("status", {})
        st.setdefault("phase", "Pending")
        conds = st.setdefault("conditions", [])
        new = {"type": "PodScheduled", "status": status, "lastProbeTime": None,
               "lastTransitionTime": now}
        if reason:
            new["reason"] = reason
            new["message"] = message
        old = find_cond(pod, "PodScheduled")
        if old is None:
            conds.append(new)
            return True
        if old.get("status") == status:
            new["lastTransitionTime"] = old.get("lastTransitionTime", now)
        if {k: v for k, v in old.items() if k != "lastProbeTime"} == \
           {k: v for k, v in new.items() if k != "lastProbeTime"}:
            return False
        old.clear()
        old.update(new)
        return True

    def _unschedulable(self, pod, reason, message, event=True):
        cur = copy.deepcopy(pod)
        if not self._set_scheduled(cur, "False", reason, message):
            return
        self.store.update(PODS, cur, subresource="status")
        if event:
            self.event(cur, "Warning", "FailedScheduling", message, COMPONENT)

