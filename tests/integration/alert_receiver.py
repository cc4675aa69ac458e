#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""alert_receiver.py: a real HTTPS webhook receiver on loopback for the
notification tests (Python's ssl, OpenSSL; certificate from lib.sh's test CA).

  alert_receiver.py PORT CERT KEY LOG MODEFILE

Each request is appended to LOG as one JSON line: {"t": unix time, "path",
"answer": status or "hang"/"huge"/"slow", "body": the parsed JSON}. What to
answer is read from MODEFILE before each request (so a test changes it while
the receiver runs):
  ok           200
  refuse N     503 for the next N requests, then 200 (the count is kept in
               MODEFILE: "refuse 2" becomes "refuse 1", then "ok")
  hang         read the request, never answer (until the client gives up)
  huge         200, then 64 MiB of body
  slow         200 with Content-Length 1000000, one byte a second
Being "down" is this process not running (connection refused).
"""
import json
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, CERT, KEY, LOG, MODEFILE = sys.argv[1:6]
lock = threading.Lock()


def next_mode():
    with lock:
        try:
            with open(MODEFILE) as f:
                mode = f.read().split()
        except FileNotFoundError:
            mode = []
        if not mode:
            return "ok"
        if mode[0] == "refuse":
            left = int(mode[1]) if len(mode) > 1 else 1
            with open(MODEFILE, "w") as f:
                f.write("refuse %d\n" % (left - 1) if left > 1 else "ok\n")
            return "refuse" if left > 0 else "ok"
        return mode[0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsed": raw[:200].decode("utf-8", "replace")}
        mode = next_mode()
        rec = {"t": time.time(), "path": self.path, "answer": mode, "body": body,
               "content_type": self.headers.get("Content-Type")}
        with lock:
            with open(LOG, "a") as f:
                f.write(json.dumps(rec) + "\n")
        if mode == "refuse":
            self.send_response(503)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"down\n")
        elif mode == "hang":
            time.sleep(3600)
        elif mode == "huge":
            self.send_response(200)
            self.send_header("Content-Length", str(64 << 20))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(1024):
                    self.wfile.write(chunk)
            except OSError:
                pass
        elif mode == "slow":
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            try:
                for _ in range(1000000):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                pass
        else:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"ok\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", int(PORT)), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("listening", flush=True)
srv.serve_forever()
