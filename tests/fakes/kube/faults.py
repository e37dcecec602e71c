"""faults.py - fault injection and the request log (the /_wlkit/ endpoints).

A fault is {"method": "GET", "path": "regex", "query": "regex", "count": N,
"action": ..., "retryAfter": S, "afterEvents": K, "text": "...",
"seconds": F}; the next N requests whose method and path (and query, when
given) match are answered by the action instead of normally:
  "429", "500", "503"  a Status with that code (Retry-After: S when given)
  "410"                a 410 Expired Status
  "drop"               the connection is closed without an answer
  "drop-body"          the request is served (a write takes effect), then
                       the status line, headers and half of the body are
                       sent and the connection is closed
  "cut-watch"          a watch is cut (connection closed mid-stream) after
                       K events; only watch requests match
  "error-410"          a watch gets an ERROR event 410 Expired, then ends
  "warn"               the request is served, with `Warning: 299 - "text"`
  "delay"              the request is served after F seconds
  "page"               a list is served in pages of at most "items" (default
                       1) objects whatever its limit (a server may send
                       fewer than asked), so that paging needs few objects
count 0 means every matching request until the fault is deleted.
POST /_wlkit/cut-watches cuts every watch open at that moment (within a
second), so that faults injected meanwhile meet the clients' new watches;
each watch cut so is logged with "fault": "cut-watch".
The request log records method, path, query, arrival time, a short hash of
the Authorization header (never the header), the user, the code and, for
a request a fault matched, "fault": its action.
"""
import hashlib
import re
import threading
import time

ACTIONS = ("429", "500", "503", "410", "drop", "drop-body", "cut-watch",
           "error-410", "warn", "delay", "page")
WATCH_ONLY = ("cut-watch", "error-410")


class Faults:
    def __init__(self, max_log=20000):
        self.lock = threading.Lock()
        self.faults = []
        self.log = []
        self.max_log = max_log
        self.seq = 0
        self.cut_gen = 0

    def cut_watches(self):
        with self.lock:
            self.cut_gen += 1
            return self.cut_gen

    def add(self, spec):
        specs = spec if isinstance(spec, list) else [spec]
        out = []
        for s in specs:
            if not isinstance(s, dict) or str(s.get("action")) not in ACTIONS:
                raise ValueError("action must be one of: " + ", ".join(ACTIONS))
            f = dict(s)
            f["action"] = str(s["action"])
            f.setdefault("method", "*")
            f.setdefault("path", ".*")
            f["count"] = int(s.get("count", 1))
            re.compile(f["path"])
            re.compile(f.get("query") or "")
            out.append(f)
        with self.lock:
            self.faults += out
        return out

    def list(self):
        with self.lock:
            return [dict(f) for f in self.faults]

    def clear(self):
        with self.lock:
            self.faults = []

    def match(self, method, path, query, watch):
        """The fault to apply to this request (consumed), or None."""
        with self.lock:
            for f in self.faults:
                if f["method"] not in ("*", method):
                    continue
                if f["action"] in WATCH_ONLY and not watch:
                    continue
                if not re.search(f["path"], path):
                    continue
                if f.get("query") and not re.search(f["query"], query):
                    continue
                if f["count"] > 0:
                    f["count"] -= 1
                    if f["count"] == 0:
                        self.faults.remove(f)
                return dict(f)
        return None

    def record(self, method, path, query, auth, user):
        entry = {"time": time.time(), "method": method, "path": path,
                 "query": query,
                 "auth": hashlib.sha256(auth.encode()).hexdigest()[:12]
                 if auth else "", "user": user, "code": 0}
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.log.append(entry)
            if len(self.log) > self.max_log:
                del self.log[:len(self.log) - self.max_log]
        return entry

    def requests(self, method=None, path=None):
        with self.lock:
            out = list(self.log)
        if method:
            out = [e for e in out if e["method"] == method]
        if path:
            out = [e for e in out if re.search(path, e["path"])]
        return out

    def clear_requests(self):
        with self.lock:
            self.log = []
