#!/usr/bin/env python3
"""echo.py - a scripted HTTP/1.1 server on loopback for the tests of common/http.

Usage: echo.py --script JSON [--log FILE] [--tls CERT KEY] [--client-ca CA]
               [--alpn-probe]

Binds 127.0.0.1 on a free port and prints the port on stdout, one line.
Each line then read on stdin is a JSON object {"script": [...]}: it replaces
the script, starts it over, empties the log, and is answered "ok" on stdout
(so one server serves many tests). Exits when its stdin reaches end of file
(so it dies with the test that started it) or on SIGTERM.

--script is a JSON list of responses, used in order, one per request; the
last one repeats. A response is an object:
  status   HTTP status (default 200)
  headers  list of [name, value] pairs
  body     text of the body (default "")
  echo     true: the body is the request's body
  drop     true: read the request, then close the connection without answer
  chunks   list of texts sent as chunked encoding, delay_ms apart
  delay_ms pause before answering (and between chunks)

--log appends one JSON line per request: method, path, headers (names
lower-cased), body, port (the client's port), alpn, peer_cn.

--alpn-probe: offer h2 and http/1.1 over ALPN, log the protocol the client
picked, then close the connection (Python speaks no HTTP/2).
"""
import argparse
import http.server
import json
import os
import signal
import socket
import sys
import threading
import time


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--script", default="[{}]")
	ap.add_argument("--log")
	ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
	ap.add_argument("--client-ca")
	ap.add_argument("--alpn-probe", action="store_true")
	args = ap.parse_args()
	lock = threading.Lock()
	state = {"n": 0, "script": json.loads(args.script)}

	def next_response():
		with lock:
			script = state["script"]
			i = min(state["n"], len(script) - 1)
			state["n"] += 1
		return script[i]

	def log(entry):
		if not args.log:
			return
		with lock:
			with open(args.log, "a") as f:
				f.write(json.dumps(entry) + "\n")

	class Handler(http.server.BaseHTTPRequestHandler):
		protocol_version = "HTTP/1.1"

		def log_message(self, fmt, *a):
			pass

		def tls_info(self):
			alpn, cn = None, None
			if args.tls:
				alpn = self.connection.selected_alpn_protocol()
				cert = self.connection.getpeercert()
				if cert:
					for rdn in cert.get("subject", ()):
						for k, v in rdn:
							if k == "commonName":
								cn = v
			return alpn, cn

		def handle_one(self):
			n = int(self.headers.get("Content-Length") or 0)
			body = self.rfile.read(n) if n else b""
			alpn, cn = self.tls_info()
			log({"method": self.command, "path": self.path,
			     "headers": {k.lower(): v for k, v in self.headers.items()},
			     "body": body.decode("utf-8", "replace"),
			     "port": self.client_address[1], "alpn": alpn,
			     "peer_cn": cn})
			r = next_response()
			delay = r.get("delay_ms", 0) / 1000.0
			if r.get("drop"):
				self.close_connection = True
				self.connection.shutdown(socket.SHUT_RDWR)
				return
			if delay:
				time.sleep(delay)
			self.send_response(r.get("status", 200))
			for k, v in r.get("headers", []):
				self.send_header(k, v)
			if "chunks" in r:
				self.send_header("Transfer-Encoding", "chunked")
				self.end_headers()
				try:
					for c in r["chunks"]:
						b = c.encode()
						self.wfile.write(b"%x\r\n%s\r\n" % (len(b), b))
						self.wfile.flush()
						time.sleep(delay)
					self.wfile.write(b"0\r\n\r\n")
				except OSError:
					self.close_connection = True
				return
			out = body if r.get("echo") else r.get("body", "").encode()
			self.send_header("Content-Length", str(len(out)))
			self.end_headers()
			if self.command != "HEAD":
				self.wfile.write(out)

		do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_one

	class Server(http.server.ThreadingHTTPServer):
		daemon_threads = True

		def handle_error(self, request, client_address):
			pass

	srv = Server(("127.0.0.1", 0), Handler)
	if args.tls:
		import ssl
		ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
		ctx.load_cert_chain(args.tls[0], args.tls[1])
		if args.client_ca:
			ctx.load_verify_locations(args.client_ca)
			ctx.verify_mode = ssl.CERT_REQUIRED
		if args.alpn_probe:
			ctx.set_alpn_protocols(["h2", "http/1.1"])
		else:
			ctx.set_alpn_protocols(["http/1.1"])
		srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
					     do_handshake_on_connect=False)
	if args.alpn_probe:
		def probe(request, client_address, server):
			try:
				request.do_handshake()
				log({"alpn": request.selected_alpn_protocol()})
			except OSError:
				pass
			request.close()
		Handler.__init__ = lambda self, r, a, s: probe(r, a, s)

	signal.signal(signal.SIGTERM, lambda *a: os._exit(0))

	def watch_stdin():
		for line in sys.stdin:
			with lock:
				state["script"] = json.loads(line)["script"]
				state["n"] = 0
				if args.log:
					open(args.log, "w").close()
			print("ok", flush=True)
		os._exit(0)

	threading.Thread(target=watch_stdin, daemon=True).start()
	print(srv.server_address[1], flush=True)
	srv.serve_forever()


if __name__ == "__main__":
	main()
