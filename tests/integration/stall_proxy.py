#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# stall_proxy.py: an HTTPS front for the real collector that answers
# badly, for the agent's schedule test. It reads each request in full,
# then acts by the word in --mode-file, read again at every step:
#   silent   keep the connection, never answer (until the mode changes:
#            then the request held is forwarded)
#   trickle  forward the request to the collector and send the answer one
#            byte a second (a 2xx answer is cut to its status line and
#            "Content-Length: 0", 38 bytes: 38 s, under the agent's 60 s
#            limit)
#   pass     forward and answer at once
# Every request and every finished answer is logged as one JSON line.
import argparse
import http.client
import json
import socket
import socketserver
import ssl
import threading
import time

lock = threading.Lock()
opts = None


def log(**entry):
    entry["t"] = time.time()
    with lock, open(opts.log, "a") as f:
        f.write(json.dumps(entry) + "\n")


def mode():
    try:
        with open(opts.mode_file) as f:
            return f.read().strip() or "pass"
    except OSError:
        return "pass"


def read_request(rfile):
    line = rfile.readline(8192)
    if not line:
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    headers = {}
    while True:
        h = rfile.readline(8192).decode("latin-1")
        if h in ("\r\n", "\n", ""):
            break
        k, v = h.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    body = rfile.read(int(headers.get("content-length", "0")))
    return method, path, headers, body


def forward(method, path, headers, body):
    ctx = ssl.create_default_context(cafile=opts.ca)
    c = http.client.HTTPSConnection("127.0.0.1", opts.upstream, context=ctx, timeout=30)
    fwd = {k: v for k, v in headers.items() if k in ("authorization", "content-type")}
    c.request(method, path, body=body, headers=fwd)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.reason, data


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        peer = self.client_address[1]
        while True:
            try:
                req = read_request(self.rfile)
            except (OSError, ValueError):
                return
            if req is None:
                return
            method, path, headers, body = req
            m = mode()
            log(event="request", path=path, port=peer, mode=m, bytes=len(body))
            while m == "silent":
                time.sleep(0.2)
                m = mode()
            status, reason, data = forward(method, path, headers, body)
            if m == "trickle" and 200 <= status < 300:
                data = b""
            head = "HTTP/1.1 %d %s\r\n%sContent-Length: %d\r\n\r\n" % (
                status, reason, "" if m == "trickle" else "Content-Type: application/json\r\n",
                len(data))
            out = head.encode() + data
            try:
                if m == "trickle":
                    for i in range(len(out)):
                        self.wfile.write(out[i:i + 1])
                        self.wfile.flush()
                        time.sleep(1)
                else:
                    self.wfile.write(out)
                    self.wfile.flush()
            except OSError as e:
                log(event="answer-lost", path=path, port=peer, mode=m, status=status, error=str(e))
                return
            log(event="answered", path=path, port=peer, mode=m, status=status)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def get_request(self):
        sock, addr = self.socket.accept()
        return self.ctx.wrap_socket(sock, server_side=True), addr


def main():
    global opts
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", type=int, required=True, help="the collector's port on 127.0.0.1")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--mode-file", required=True)
    p.add_argument("--log", required=True)
    opts = p.parse_args()
    srv = Server(("127.0.0.1", opts.port), Handler)
    srv.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    srv.ctx.load_cert_chain(opts.cert, opts.key)
    log(event="listening", port=opts.port)
    srv.serve_forever()


if __name__ == "__main__":
    main()
