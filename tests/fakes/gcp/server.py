#!/usr/bin/env python3
"""server.py - local fakes of the Google Cloud APIs wlkit talks to.

Usage: server.py DIR [SEED]
DIR holds token, user.json and sa-pub.json (written by `cloud up`). One
plain-HTTP server per Google API host listens on a free loopback port:

  oauth       oauth2.googleapis.com       POST /token, /tokeninfo (gauth.py)
  metadata    metadata.google.internal    /computeMetadata/v1/... (gauth.py)
  storage     storage.googleapis.com      /storage/v1, /upload/storage/v1,
                                          /download/storage/v1, /BUCKET/OBJ
                                          (gstorage.py)
  cloudbuild  cloudbuild.googleapis.com   /v1 (gbuild.py)
  container   container.googleapis.com    /v1 (gcontainer.py)
  compute     compute.googleapis.com      /compute/v1 (gcompute.py)
  drive       www.googleapis.com          /drive/v3, /upload/drive/v3
                                          (gdrive.py)

then writes DIR/ports.json ({"API": port}) and DIR/pid. Every server also
answers /_wlkit/ready (no credentials), and, with the token of DIR/token,
/_wlkit/faults (GET, POST a fault or a list, DELETE) and /_wlkit/requests
(GET ?api=&method=&path=, DELETE); see gfaults.py. All state (tokens,
buckets, builds, clusters, templates, operations) is shared, in memory, and
advanced by one ticker thread. SEED is the seed file (see seed.py and
example-seed.yaml); WLKIT_GCP_FAKE_TIMING="buildWorking=5,operation=1"
overrides its timings. The log
(stderr) has one line per request: API, method, path and code, never a
query string, header or body.
"""
import json
import os
import signal
import socket
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gauth  # noqa: E402
import gbuild  # noqa: E402
import gcompute  # noqa: E402
import gcontainer  # noqa: E402
import gdrive  # noqa: E402
import gstorage  # noqa: E402
import seed  # noqa: E402
from gerr import GError, Resp, no_route, unauthenticated  # noqa: E402
from gfaults import Faults  # noqa: E402

APIS = ("oauth", "metadata", "storage", "cloudbuild", "container", "compute",
        "drive")
MODULES = {"oauth": gauth.route_oauth, "metadata": gauth.route_metadata,
           "storage": gstorage.route, "cloudbuild": gbuild.route,
           "container": gcontainer.route, "compute": gcompute.route,
           "drive": gdrive.route}
NO_BEARER = ("oauth", "metadata")

_log_lock = threading.Lock()


def log(msg):
    with _log_lock:
        sys.stderr.write("%s %s\n" % (time.strftime("%H:%M:%S"), msg))
        sys.stderr.flush()


class Req:
    def __init__(self, api, method, raw_path, headers, body, state):
        self.api = api
        self.method = method
        path, _, self.raw_query = raw_path.partition("?")
        self.raw = path                          # still %-encoded
        self.path = urllib.parse.unquote(path)
        self.q = dict(urllib.parse.parse_qsl(self.raw_query,
                                             keep_blank_values=True))
        self.headers = headers
        self.body = body
        self.state = state
        self.host = headers.get("Host") or "127.0.0.1:%d" % state.ports[api]
        self.base = "http://" + self.host

    def json(self):
        if not self.body:
            return {}
        try:
            v = json.loads(self.body.decode("utf-8"))
        except ValueError as e:
            raise GError(400, "Invalid JSON payload received. %s" % e,
                         "parseError")
        if not isinstance(v, dict):
            raise GError(400, "Invalid JSON payload received. Expected an "
                         "object.", "parseError")
        return v


class State:
    """Everything the fakes hold; `lock` guards it all."""

    def __init__(self, d):
        self.dir = d
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.faults = Faults()
        self.ports = {}
        with open(os.path.join(d, "token")) as f:
            self.admin_token = f.read().strip()
        self.timing = dict(seed.TIMING)
        self.project = "wlkit-test"
        self.projects = None                     # None: any project
        self.self_link_base = None               # compute links, None: ours
        gauth.init(self)
        gstorage.init(self)
        gbuild.init(self)
        gcontainer.init(self)
        gcompute.init(self)
        gdrive.init(self)

    def url(self, api):
        return "http://127.0.0.1:%d" % self.ports[api]

    def check_project(self, p):
        if self.projects is not None and p not in self.projects:
            raise GError(403, "Permission denied on resource project %s." % p,
                         "forbidden", "PERMISSION_DENIED")

    def tick(self):
        with self.lock:
            now = time.time()
            gbuild.tick(self, now)
            gcontainer.tick(self, now)
            gcompute.tick(self, now)
            self.cond.notify_all()


def make_handler(api, state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "wlkit-fake-gcp"
        sys_version = ""

        def log_message(self, *a):
            pass

        def read_body(self):
            if "chunked" in (self.headers.get("Transfer-Encoding") or ""):
                out = b""
                while True:
                    line = self.rfile.readline()
                    n = int(line.split(b";")[0].strip() or b"0", 16)
                    if n == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return out
                    out += self.rfile.read(n)
                    self.rfile.readline()
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n > 0 else b""

        def send(self, resp, cut=False):
            self.send_response(resp.code, "Resume Incomplete"
                               if resp.code == 308 else None)
            body = resp.body if self.command != "HEAD" else b""
            self.send_header("Content-Type", resp.ctype)
            self.send_header("Content-Length", str(len(resp.body)))
            for k, v in resp.headers.items():
                self.send_header(k, v)
            self.end_headers()
            if cut:
                self.wfile.write(body[:len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(body)

        def handle_any(self):
            body = self.read_body()
            path, _, query = self.path.partition("?")
            auth = self.headers.get("Authorization") or ""
            if path.startswith("/_wlkit/"):
                self.send(self.admin(path, query, auth, body))
                return
            entry = state.faults.record(api, self.command, path, query, auth)
            fault = state.faults.match(api, self.command, path, query,
                                       str(self.headers).replace("\r", ""))
            if fault:
                entry["fault"] = fault["action"]
            if fault and fault["action"] == "delay":
                time.sleep(float(fault.get("seconds") or 1))
                fault = None
            if fault and fault["action"] == "drop":
                entry["code"] = -1
                log("%s %s %s dropped" % (api, self.command, path))
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault and fault["action"] in ("429", "500", "503"):
                code = int(fault["action"])
                msg = {429: "Quota exceeded: too many requests.",
                       500: "Internal error encountered.",
                       503: "The service is currently unavailable."}[code]
                hdr = {}
                if fault.get("retryAfter") is not None:
                    hdr["Retry-After"] = str(fault["retryAfter"])
                resp = Resp(code, GError(code, msg, headers=hdr).body(),
                            headers=hdr)
            else:
                resp = self.serve(path, auth, body, entry)
            entry["code"] = resp.code
            if fault and fault["action"] == "drop-reply":
                log("%s %s %s %d, reply dropped" % (api, self.command, path,
                                                     resp.code))
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            cut = bool(fault and fault["action"] == "drop-body")
            log("%s %s %s %d%s" % (api, self.command, path, resp.code,
                                   " (body cut)" if cut else ""))
            try:
                self.send(resp, cut=cut)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def serve(self, path, auth, body, entry):
            try:
                if api not in NO_BEARER:
                    tok = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
                    if not gauth.valid(state, tok):
                        raise unauthenticated()
                    entry["authenticated"] = True
                req = Req(api, self.command, self.path, self.headers, body,
                          state)
                resp = MODULES[api](req)
                if resp is None:
                    raise no_route(self.command, path)
                return resp
            except GError as e:
                return Resp(e.code, e.body(), headers=e.headers)
            except Exception:
                log(traceback.format_exc())
                return Resp(500, GError(500, "Internal error encountered.").body())

        def admin(self, path, query, auth, body):
            if path == "/_wlkit/ready":
                return Resp(200, {"ready": True, "ports": state.ports,
                                  "project": state.project})
            if auth != "Bearer " + state.admin_token:
                return Resp(401, unauthenticated().body())
            q = dict(urllib.parse.parse_qsl(query))
            try:
                if path == "/_wlkit/faults":
                    if self.command == "POST":
                        return Resp(201, {"faults": state.faults.add(
                            json.loads(body.decode() or "null"))})
                    if self.command == "DELETE":
                        state.faults.clear()
                    return Resp(200, {"faults": state.faults.list()})
                if path == "/_wlkit/requests":
                    if self.command == "DELETE":
                        state.faults.clear_requests()
                        return Resp(200, {"requests": []})
                    return Resp(200, {"requests": state.faults.requests(
                        q.get("api"), q.get("method"), q.get("path"))})
            except (ValueError, TypeError) as e:
                return Resp(400, GError(400, str(e)).body())
            return Resp(404, no_route(self.command, path).body())

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any

    return Handler


def main():
    d = os.path.abspath(sys.argv[1])
    state = State(d)
    try:
        if len(sys.argv) > 2 and sys.argv[2]:
            seed.load(state, sys.argv[2])
        seed.timing_from_env(state, os.environ.get("WLKIT_GCP_FAKE_TIMING",
                                                   ""))
    except (OSError, ValueError, KeyError, TypeError) as e:
        log("bad seed '%s': %s: %s" % (sys.argv[2] if len(sys.argv) > 2
                                       else "", type(e).__name__, e))
        sys.exit(1)
    servers = []
    for api in APIS:
        srv = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(api, state))
        srv.daemon_threads = True
        state.ports[api] = srv.server_address[1]
        servers.append(srv)
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()

    def ticker():
        while True:
            time.sleep(0.05)
            try:
                state.tick()
            except Exception:
                log(traceback.format_exc())
    threading.Thread(target=ticker, daemon=True).start()
    tmp = os.path.join(d, "ports.json.tmp")
    with open(tmp, "w") as f:
        json.dump(state.ports, f)
    os.rename(tmp, os.path.join(d, "ports.json"))
    with open(os.path.join(d, "pid"), "w") as f:
        f.write("%d\n" % os.getpid())
    log("listening: %s" % json.dumps(state.ports))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    while not stop.wait(1):
        pass


if __name__ == "__main__":
    main()
