"""gfaults.py - fault injection and the request log (/_wlkit/ endpoints).

A fault is {"api": "storage", "method": "PUT", "path": "regex",
"query": "regex", "header": "regex", "count": N, "action": ...,
"retryAfter": S, "seconds": F}; the next N requests of that API (any API
when "api" is absent) whose method and path (and query, and one of the
request's "Name: value" header lines, when given) match get:
  "429", "500", "503"  Google's error body with that code (Retry-After: S
                       when given)
  "drop"               the connection is closed without an answer
  "drop-body"          the status line, headers and half of the body are
                       sent, then the connection is closed
  "drop-reply"         the request is served (its effect stays), then the
                       connection is closed without an answer: a lost reply
  "delay"              the request is served after F seconds
count 0 means every matching request until the faults are deleted.
The request log records API, method, path, the query with credential
parameters removed, arrival time, a short hash of the Authorization header
(never the header), whether the credentials were accepted, the code and,
for a request a fault answered, "fault" (its action); never a body (the
token endpoint's bodies hold secrets).
"""
import hashlib
import re
import threading
import time
import urllib.parse

ACTIONS = ("429", "500", "503", "drop", "drop-body", "drop-reply",
           "delay")
SECRET_PARAMS = ("access_token", "key", "client_secret", "refresh_token",
                 "assertion", "upload_id")


def clean_query(query):
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    return urllib.parse.urlencode(
        [(k, "REDACTED" if k in SECRET_PARAMS else v) for k, v in pairs])


class Faults:
    def __init__(self, max_log=20000):
        self.lock = threading.Lock()
        self.faults = []
        self.log = []
        self.max_log = max_log
        self.seq = 0

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
            f.setdefault("api", "*")
            f["count"] = int(s.get("count", 1))
            re.compile(f["path"])
            re.compile(f.get("query") or "")
            re.compile(f.get("header") or "")
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

    def match(self, api, method, path, query, headers=""):
        """The fault to apply to this request (consumed), or None."""
        with self.lock:
            for f in self.faults:
                if f["api"] not in ("*", api):
                    continue
                if f["method"] not in ("*", method):
                    continue
                if not re.search(f["path"], path):
                    continue
                if f.get("query") and not re.search(f["query"], query):
                    continue
                if f.get("header") and not re.search(f["header"], headers,
                                                     re.M):
                    continue
                if f["count"] > 0:
                    f["count"] -= 1
                    if f["count"] == 0:
                        self.faults.remove(f)
                return dict(f)
        return None

    def record(self, api, method, path, query, auth):
        entry = {"time": time.time(), "api": api, "method": method,
                 "path": path, "query": clean_query(query),
                 "auth": hashlib.sha256(auth.encode()).hexdigest()[:12]
                 if auth else "", "authenticated": False, "code": 0}
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.log.append(entry)
            if len(self.log) > self.max_log:
                del self.log[:len(self.log) - self.max_log]
        return entry

    def requests(self, api=None, method=None, path=None):
        with self.lock:
            out = [dict(e) for e in self.log]
        if api:
            out = [e for e in out if e["api"] == api]
        if method:
            out = [e for e in out if e["method"] == method]
        if path:
            out = [e for e in out if re.search(path, e["path"])]
        return out

    def clear_requests(self):
        with self.lock:
            self.log = []
