"""controllers_node.py - the node lifecycle controller, the part that
matters for node agents: a Node whose Lease in kube-node-lease has not been
renewed within its leaseDurationSeconds gets every condition set to Unknown
with reason NodeStatusUnknown ("Kubelet stopped posting node status."), as
the real controller does after its grace period. kubectl then shows the
node NotReady and the scheduler sees the unreachable taint
(controllers_common.node_taints). Checked every second."""
import time

from controllers_common import NODES, log, ts_parse

LEASES = "leases.coordination.k8s.io"
LEASE_NS = "kube-node-lease"
CHECK_SECONDS = 1.0


class NodeLifecycle:
    def reconcile_nodes(self):
        now = time.time()
        # one timer chain: a reconcile that the resync adds schedules none
        if now >= getattr(self, "_nodes_next", 0.0) - 0.05:
            self._nodes_next = now + CHECK_SECONDS
            self.after(CHECK_SECONDS, ("nodes",))
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        for node in self.store.list(NODES):
            name = node["metadata"]["name"]
            lease = self.store.get(LEASES, LEASE_NS, name)
            if lease is None:
                continue
            spec = lease.get("spec") or {}
            renewed = ts_parse(spec.get("renewTime") or spec.get("acquireTime"))
            if renewed is None:
                continue
            if now < renewed + (spec.get("leaseDurationSeconds") or 40):
                continue
            status = dict(node.get("status") or {})
            conds = [dict(c) for c in status.get("conditions") or []]
            changed = False
            for c in conds:
                if c.get("status") != "Unknown":
                    c.update({"status": "Unknown", "reason": "NodeStatusUnknown",
                              "message": "Kubelet stopped posting node status.",
                              "lastTransitionTime": stamp})
                    changed = True
            if not changed:
                continue
            status["conditions"] = conds
            log("node %s: lease expired, conditions Unknown" % name)
            self.update_status(NODES, node, status)
