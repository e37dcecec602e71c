"""watch.py - ?watch=1: a chunked stream of JSON watch events.

serve() answers one watch request: with resourceVersion "" or "0" it first
sends the current objects as ADDED events (then, with sendInitialEvents, a
BOOKMARK annotated k8s.io/initial-events-end); then every committed change
after the start version, filtered by namespace, name and selectors (an
object that starts or stops matching arrives as ADDED or DELETED, as the
real watch cache sends it). A version older than the store's history gets
an ERROR event 410 Expired. allowWatchBookmarks sends a BOOKMARK every
settings.bookmark_seconds when idle; timeoutSeconds ends the stream
cleanly. Watchers sleep on the store's condition variable; they wake for
each commit and at least once a second to notice a client that went away.
"""
import time

import tables
from selection import parse_labels, parse_fields


def _expired(rv, cur):
    return {"type": "ERROR", "object": {
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure",
        "message": "too old resource version: %s (%s)" % (rv, cur),
        "reason": "Expired", "code": 410}}


def serve(ctx, res, version, ns, name):
    store = ctx.server.store
    q = ctx.query
    lm = parse_labels(q.get("labelSelector"))
    fm = parse_fields(q.get("fieldSelector"))

    def match(o):
        md = o.get("metadata") or {}
        if name is not None and md.get("name") != name:
            return False
        if ns is not None and res.namespaced and md.get("namespace") != ns:
            return False
        return lm(o) and fm(o)

    accept = ctx.headers.get("Accept") or ""
    as_table = "as=Table" in accept
    as_partial = "as=PartialObjectMetadata" in accept
    include = q.get("includeObject", "Metadata")
    bookmarks = q.get("allowWatchBookmarks") in ("1", "true", "True")
    initial_events = q.get("sendInitialEvents") in ("1", "true", "True")
    try:
        timeout = float(q.get("timeoutSeconds") or 0)
    except ValueError:
        timeout = 0
    deadline = time.time() + timeout if timeout > 0 else None
    fault = ctx.fault
    cut_after = None
    if fault and fault["action"] == "cut-watch":
        cut_after = int(fault.get("afterEvents", 0))
    interval = ctx.server.settings.bookmark_seconds
    faults = ctx.server.faults
    gen = faults.cut_gen

    def render(o):
        o = dict(o)
        if res.crd and version != res.version:
            o["apiVersion"] = res.api_version(version)
        if as_table:
            return tables.table(res, version, [o], include)
        if as_partial:
            return {"kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}
        return o

    def bookmark(rv, initial_end=False):
        md = {"resourceVersion": str(rv)}
        if initial_end:
            md["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {"type": "BOOKMARK", "object": {
            "kind": res.kind, "apiVersion": res.api_version(version),
            "metadata": md}}

    rv_param = q.get("resourceVersion") or ""
    ctx.start_stream(200, "application/json")
    sent = [0]

    def send(ev, counts=True):
        ctx.send_event(ev)
        if counts:
            sent[0] += 1
            if cut_after is not None and sent[0] >= cut_after:
                ctx.abort()
                raise _Stop()

    try:
        if cut_after == 0:
            ctx.abort()
            return
        if fault and fault["action"] == "error-410":
            send(_expired(rv_param or "0", store.rv), False)
            ctx.end_stream()
            return
        if rv_param in ("", "0"):
            with store.lock:
                snap = store.raw_list(res, ns if res.namespaced else None, match)
                last = store.rv
            for o in snap:
                send({"type": "ADDED", "object": render(o)})
            if initial_events and bookmarks:
                send(bookmark(last, True), False)
        else:
            try:
                last = int(rv_param)
            except ValueError:
                send(_expired(rv_param, store.rv), False)
                ctx.end_stream()
                return
        next_bm = time.time() + interval
        while True:
            now = time.time()
            if deadline is not None and now >= deadline:
                ctx.end_stream()
                return
            wait = min(1.0, max(next_bm - now, 0.01))
            if deadline is not None:
                wait = min(wait, max(deadline - now, 0.01))
            evs, cur = store.events_after(last, wait)
            if evs is None:
                send(_expired(last, cur), False)
                ctx.end_stream()
                return
            for rv, etype, qname, ens, obj, prev in evs:
                if qname != res.qname:
                    continue
                now_in = match(obj)
                was_in = prev is not None and match(prev)
                if etype == "ADDED" and now_in:
                    t = "ADDED"
                elif etype == "DELETED" and (now_in or was_in):
                    t = "DELETED"
                elif etype == "MODIFIED" and now_in:
                    t = "MODIFIED" if was_in else "ADDED"
                elif etype == "MODIFIED" and was_in:
                    t = "DELETED"
                else:
                    continue
                send({"type": t, "object": render(obj)})
            last = max(last, cur)
            if bookmarks and time.time() >= next_bm:
                send(bookmark(last), False)
                next_bm = time.time() + interval
            if not evs and ctx.peer_gone():
                return
            if faults.cut_gen != gen:
                # logged anew: the log may have been cleared since it began
                e = faults.record("GET", ctx.entry["path"], ctx.entry["query"],
                                  "", ctx.entry["user"])
                e.update(fault="cut-watch", code=200)
                ctx.abort()
                return
    except _Stop:
        return
    except (BrokenPipeError, ConnectionResetError, OSError):
        ctx.close_connection = True
        return


class _Stop(Exception):
    pass
