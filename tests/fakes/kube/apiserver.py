#!/usr/bin/env python3
"""apiserver.py - a local Kubernetes API server for wlkit's tests and demo.

Usage: apiserver.py DIR
DIR holds server.crt, server.key, ca.crt and token (written by `cluster
up`); the server listens on 127.0.0.1 (port $WLKIT_FAKE_PORT, or a free
one), then writes DIR/port and DIR/pid. It logs one line per request to
stderr (never a token). Environment:
  WLKIT_FAKE_WATCH_HISTORY    events kept for watches (default 1000); a
                              watch from an older version gets 410
  WLKIT_FAKE_BOOKMARK_SECONDS idle seconds between watch bookmarks (1)
  WLKIT_FAKE_CONTINUE_TTL     seconds a list continue token lives (300)
  WLKIT_FAKE_TOKEN_WEBHOOK    a Google tokeninfo URL: bearer tokens the
                              server does not know are asked about there,
                              as GKE's authentication webhook does (see
                              auth.py); unset: they are 401

HTTP/1.1 over TLS with keep-alive; normal answers carry Content-Length,
watches and log streams are chunked. The request handler (Handler) is the
`ctx` the REST code in rest.py, watch.py and logs.py writes through. The
admin endpoints under /_wlkit/ (faults, requests, compact) take the admin
token only; see faults.py.
"""
import json
import os
import select
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import auth  # noqa: E402
import protobuf  # noqa: E402
import rbac  # noqa: E402
import rest  # noqa: E402
from deletion import GarbageCollector  # noqa: E402
from errors import ApiError, no_route, forbidden, bad_request  # noqa: E402
from faults import Faults  # noqa: E402
from resources import Registry, builtin_crds  # noqa: E402
from store import Store  # noqa: E402

VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0+wlkit",
           "gitCommit": "0000000000000000000000000000000000000000",
           "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z",
           "goVersion": "go1.23.4", "compiler": "gc",
           "platform": "linux/amd64"}
PUBLIC = ("/healthz", "/livez", "/readyz")

_log_lock = threading.Lock()


def log(msg):
    with _log_lock:
        sys.stderr.write("%s %s\n" % (time.strftime("%H:%M:%S"), msg))
        sys.stderr.flush()


class Settings:
    def __init__(self, d):
        self.dir = d
        self.history = int(os.environ.get("WLKIT_FAKE_WATCH_HISTORY") or 1000)
        self.bookmark_seconds = float(
            os.environ.get("WLKIT_FAKE_BOOKMARK_SECONDS") or 1)
        self.continue_ttl = float(os.environ.get("WLKIT_FAKE_CONTINUE_TTL") or 300)
        with open(os.path.join(d, "ca.crt")) as f:
            self.ca_pem = f.read()
        with open(os.path.join(d, "token")) as f:
            self.admin_token = f.read().strip()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "wlkit-fake-apiserver"
    sys_version = ""
    timeout = 300

    # -- connection ----------------------------------------------------------

    def setup(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request.settimeout(10)
        self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        self.request.settimeout(None)
        super().setup()

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # -- answering -------------------------------------------------------------

    def _headers(self, extra):
        for w in dict.fromkeys(self.warnings):
            self.send_header("Warning", '299 - "%s"' % w.replace('"', "'"))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for k, v in (extra or {}).items():
            self.send_header(k, str(v))

    def reply(self, code, obj, headers=None):
        body = json.dumps(obj).encode()
        self.code = code
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self._headers(headers)
        self._send(body)

    def _send(self, body):
        """Ends the headers and writes them with the body in one write."""
        self._headers_buffer.append(b"\r\n")
        data = b"".join(self._headers_buffer)
        self._headers_buffer = []
        cut = self.fault is not None and self.fault["action"] == "drop-body"
        if self.command != "HEAD":
            data += body[:len(body) // 2] if cut else body
        self.wfile.write(data)
        if cut:
            self.wfile.flush()
            self.abort()

    def reply_text(self, code, text, ctype="text/plain; charset=utf-8"):
        body = text.encode()
        self.code = code
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self._headers(None)
        self._send(body)

    def start_stream(self, code, ctype):
        self.code = code
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self._headers(None)
        self.end_headers()
        self.streaming = True

    def send_chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def send_event(self, ev):
        self.send_chunk(json.dumps(ev).encode() + b"\n")

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.streaming = False

    def abort(self):
        """Closes the connection at once, mid-answer if need be."""
        self.close_connection = True
        self.aborted = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def peer_gone(self):
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if not r:
                return False
            self.connection.settimeout(0.2)
            try:
                return self.connection.recv(1) == b""
            finally:
                self.connection.settimeout(self.timeout)
        except (socket.timeout, ssl.SSLWantReadError):
            return False
        except (OSError, ValueError):
            return True

    # -- request ---------------------------------------------------------------

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = b""
            while True:
                line = self.rfile.readline(1024)
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(n)
                self.rfile.readline(8)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def json_body(self):
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0]
        unsupported = ApiError(415, "UnsupportedMediaType",
                               'the body of the request was in an unknown '
                               'format - accepted media types include: '
                               'application/json, application/yaml')
        if "cbor" in ctype:
            raise unsupported
        if "protobuf" in ctype:
            try:
                return protobuf.decode(self.body)
            except KeyError:
                raise unsupported
            except (ValueError, IndexError, UnicodeDecodeError) as e:
                raise bad_request("cannot read the protobuf body: %s" % e)
        try:
            if "yaml" in ctype:
                import yamlmini
                return yamlmini.loads(self.body.decode("utf-8"))
            return json.loads(self.body or b"null")
        except (ValueError, UnicodeDecodeError) as e:
            raise bad_request("couldn't get version/kind; json parse error: %s" % e)

    def authorize_resource(self, verb, res, ns, name, sub):
        attrs = {"verb": verb, "group": res.group, "resource": res.plural,
                 "subresource": sub or "", "namespace": ns or "",
                 "name": name or ""}
        ok, reason = rbac.authorize(self.server.store, self.user, attrs)
        if not ok:
            raise forbidden(res, name, rbac.forbidden_message(self.user, attrs,
                                                              reason))

    def _authorize_path(self, path):
        attrs = {"verb": VERB_NONRESOURCE.get(self.command, "get"), "path": path}
        ok, reason = rbac.authorize(self.server.store, self.user, attrs)
        if not ok:
            raise forbidden(None, None, rbac.forbidden_message(self.user, attrs,
                                                               reason))

    def dispatch(self):
        t0 = time.time()
        self.code = 0
        self.streaming = False
        self.aborted = False
        self.warnings = []
        self.fault = None
        self.user = auth.ANONYMOUS
        url = urllib.parse.urlsplit(self.path)
        self.req_path = url.path
        self.qlist = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        self.query = {k: v[-1] for k, v in self.qlist.items()}
        entry = None
        try:
            self.body = self._read_body()
            srv = self.server
            authz = self.headers.get("Authorization") or ""
            entry = srv.faults.record(self.command, url.path, url.query,
                                      authz, "")
            self.entry = entry
            real_user = srv.auth.authenticate(authz)
            self.user = real_user
            entry["user"] = real_user.name
            if url.path.startswith("/_wlkit/"):
                if real_user is not auth.ADMIN:
                    raise forbidden(None, None, 'User "%s" cannot use the fake '
                                    "server's admin endpoints" % real_user.name)
                return self._admin(url.path)
            is_watch = self.command == "GET" and (
                self.query.get("watch") in ("1", "true", "True") or
                "/watch/" in url.path)
            fault = srv.faults.match(self.command, url.path, url.query, is_watch)
            if fault is not None:
                entry["fault"] = fault["action"]
            if fault is not None and self._fault(fault):
                return
            self.user = auth.impersonate(real_user, self.headers,
                                         self._may_impersonate(real_user))
            self._route(url.path)
        except ApiError as e:
            if not self.streaming and not self.aborted:
                extra = dict(e.headers)
                self.reply(e.code, e.status(), extra)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        except Exception:
            log("error: %s %s: %s" % (self.command, url.path,
                                      traceback.format_exc()))
            if not self.streaming and not self.aborted:
                self.reply(500, ApiError(500, "InternalError",
                                         "Internal error occurred: see the "
                                         "fake server's log").status())
            else:
                self.close_connection = True
        finally:
            if entry is not None:
                entry["code"] = self.code
            log("%s %s%s %s %s %.0fms" % (
                self.command, url.path, "?" + url.query if url.query else "",
                self.code or "-", self.user.name, (time.time() - t0) * 1000))

    def _may_impersonate(self, real):
        def check(verb, resource, ns, name, group):
            group_res, _, sub = resource.partition("/")
            attrs = {"verb": verb, "group": group, "resource": group_res,
                     "subresource": sub, "namespace": ns, "name": name}
            return rbac.authorize(self.server.store, real, attrs)[0]
        return check

    def _fault(self, f):
        """Applies a fault; True when the request is answered by it."""
        a = f["action"]
        if a == "drop":
            self.abort()
            return True
        if a in ("429", "500", "503", "410"):
            code = int(a)
            reason, msg = {
                429: ("TooManyRequests", "Too many requests, please try again "
                      "later."),
                500: ("InternalError", "Internal error occurred: injected fault"),
                503: ("ServiceUnavailable", "The server is currently unable to "
                      "handle the request"),
                410: ("Expired", "The resourceVersion for the provided list is "
                      "too old."),
            }[code]
            e = ApiError(code, reason, f.get("text") or msg)
            if f.get("retryAfter") is not None:
                e.details = {"retryAfterSeconds": int(f["retryAfter"])}
                e.headers["Retry-After"] = str(int(f["retryAfter"]))
            self.reply(code, e.status(), e.headers)
            return True
        if a == "warn":
            self.warnings.append(f.get("text") or "injected warning")
        elif a == "delay":
            time.sleep(float(f.get("seconds", 1)))
        else:
            self.fault = f
        return False

    def _admin(self, path):
        srv = self.server
        m = self.command
        if path == "/_wlkit/faults":
            if m == "POST":
                try:
                    added = srv.faults.add(json.loads(self.body or b"null"))
                except (ValueError, TypeError) as e:
                    raise bad_request(str(e))
                return self.reply(201, {"faults": added})
            if m == "GET":
                return self.reply(200, {"faults": srv.faults.list()})
            if m == "DELETE":
                srv.faults.clear()
                return self.reply(200, {"faults": []})
        elif path == "/_wlkit/requests":
            if m == "GET":
                return self.reply(200, {"requests": srv.faults.requests(
                    self.query.get("method"), self.query.get("path"))})
            if m == "DELETE":
                srv.faults.clear_requests()
                return self.reply(200, {"requests": []})
        elif path == "/_wlkit/cut-watches" and m == "POST":
            return self.reply(200, {"cut": srv.faults.cut_watches()})
        elif path == "/_wlkit/compact" and m == "POST":
            srv.store.compact()
            return self.reply(200, {"compacted": srv.store.rv})
        raise no_route()

    # -- routing ------------------------------------------------------------------

    def _route(self, path):
        srv = self.server
        parts = [urllib.parse.unquote(p) for p in path.split("/") if p]
        if path.rstrip("/") in PUBLIC or path.startswith("/readyz/") or \
                path.startswith("/livez/") or path.startswith("/healthz/"):
            self._authorize_path(path)
            return self.reply_text(200, "ok")
        if path in ("/version", "/version/"):
            self._authorize_path(path)
            return self.reply(200, VERSION)
        if not parts:
            self._authorize_path(path)
            paths = ["/api", "/api/v1", "/apis", "/healthz", "/livez",
                     "/openapi/v2", "/openapi/v3", "/readyz", "/version"]
            paths += ["/apis/%s/%s" % (g, v) for g, vs in srv.registry.groups()
                      for v in vs]
            return self.reply(200, {"paths": sorted(paths)})
        if parts[0] == "api":
            if len(parts) <= 2:
                self._authorize_path(path)
                if len(parts) == 1:
                    host = "127.0.0.1:%d" % srv.server_address[1]
                    return self.reply(200, {
                        "kind": "APIVersions", "versions": ["v1"],
                        "serverAddressByClientCIDRs": [{
                            "clientCIDR": "0.0.0.0/0", "serverAddress": host}]})
                return self._resource_list("", parts[1])
            return rest.handle(self, "", parts[1], parts[2:])
        if parts[0] == "apis":
            if len(parts) <= 3:
                self._authorize_path(path)
                if len(parts) == 1:
                    return self.reply(200, srv.registry.api_group_list())
                if len(parts) == 2:
                    for g, vs in srv.registry.groups():
                        if g == parts[1]:
                            doc = srv.registry.group_doc(g, vs)
                            doc.update({"kind": "APIGroup", "apiVersion": "v1"})
                            return self.reply(200, doc)
                    raise no_route()
                return self._resource_list(parts[1], parts[2])
            return rest.handle(self, parts[1], parts[2], parts[3:])
        if parts[0] == "openapi":
            self._authorize_path(path)
            if parts[1:] == ["v3"]:
                return self.reply(200, srv.registry.openapi_root())
            if len(parts) >= 4 and parts[1] == "v3":
                if parts[2] == "api" and parts[3:] == ["v1"]:
                    doc = srv.registry.openapi_doc("", "v1")
                elif parts[2] == "apis" and len(parts) == 5:
                    doc = srv.registry.openapi_doc(parts[3], parts[4])
                else:
                    doc = None
                if doc is not None:
                    return self.reply(200, doc)
            raise no_route()
        self._authorize_path(path)
        raise no_route()

    def _resource_list(self, group, version):
        doc = self.server.registry.resource_list(group, version)
        if doc is None:
            raise no_route()
        return self.reply(200, doc)


VERB_NONRESOURCE = {"GET": "get", "HEAD": "head", "POST": "post", "PUT": "put",
                    "PATCH": "patch", "DELETE": "delete", "OPTIONS": "options"}


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 256

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        if isinstance(e, (ssl.SSLError, ConnectionError, socket.timeout,
                          TimeoutError, OSError)):
            return
        log("connection error: %s" % traceback.format_exc())


def seed(store):
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        store.create("namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                    "metadata": {"name": ns}})
    for res, obj in rbac.default_objects():
        store.create(res, obj)
    for crd in builtin_crds():
        store.create("customresourcedefinitions.apiextensions.k8s.io", crd)
    for name, value in (("system-cluster-critical", 2000000000),
                        ("system-node-critical", 2000001000)):
        store.create("priorityclasses.scheduling.k8s.io", {
            "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": name}, "value": value,
            "preemptionPolicy": "PreemptLowerPriority",
            "description": "Used for system critical pods that must not be "
                           "moved from their current node."})


def _write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: apiserver.py DIR\n")
        return 2
    d = argv[1]
    settings = Settings(d)
    registry = Registry()
    store = Store(registry, settings, log)
    seed(store)
    GarbageCollector(store, log)
    try:
        import controllers
        controllers.start(store)
    except Exception as e:      # the controllers are another module's work
        log("warning: controllers not started: %r" % e)

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(os.path.join(d, "server.crt"), os.path.join(d, "server.key"))
    tls.set_alpn_protocols(["http/1.1"])
    port = int(os.environ.get("WLKIT_FAKE_PORT") or 0)
    srv = Server(("127.0.0.1", port), Handler)
    srv.tls = tls
    srv.store = store
    srv.registry = registry
    srv.settings = settings
    srv.auth = auth.Authenticator(store, settings.admin_token,
                                  os.environ.get("WLKIT_FAKE_TOKEN_WEBHOOK"))
    srv.faults = Faults()

    def stop(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    _write_atomic(os.path.join(d, "pid"), "%d\n" % os.getpid())
    _write_atomic(os.path.join(d, "port"), "%d\n" % srv.server_address[1])
    log("listening on https://127.0.0.1:%d" % srv.server_address[1])
    try:
        srv.serve_forever(poll_interval=0.5)
    except SystemExit:
        pass
    log("stopped")
    # Daemon threads (watches, controllers) need no clean-up: leave at once.
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
