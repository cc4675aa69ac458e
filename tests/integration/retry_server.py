#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# retry_server.py: a small HTTPS server that speaks the collector's side of
# docs/protocol.md just enough to test the agent's retry policy. It enrolls
# agents (a fresh agent_id/node_key each time), and answers each
# POST /v1/snapshots with the next entry of a scripted plan, e.g.
#   --plan 503,503,429:3,503:2,413,400,401,200
# ("CODE" or "CODE:RETRY_AFTER_SECONDS"; once the plan is used up every
# request gets 200). A request with a wrong bearer key gets 401 node_invalid
# as the real collector would. Every request is logged as one JSON line:
# wall time, path, status sent, seqs in the body, the client's port (to
# count TCP connections) and the bearer key.
import argparse
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
state = {"plan": [], "enrolls": 0, "key": None, "agent_id": None, "log": None}


def log(entry):
    with lock:
        state["log"].write(json.dumps(entry) + "\n")
        state["log"].flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the agent expects

    def log_message(self, fmt, *args):
        pass

    def answer(self, code, obj, retry_after=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(200 if self.path in ("/healthz", "/readyz") else 404, {"ok": True})

    def do_POST(self):
        now = time.time()
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        auth = self.headers.get("Authorization", "")
        key = auth[7:] if auth.startswith("Bearer ") else None
        entry = {"t": now, "path": self.path, "port": self.client_address[1], "key": key}

        if self.path == "/v1/enroll":
            with lock:
                state["enrolls"] += 1
                n = state["enrolls"]
                state["agent_id"] = "agent-%d" % n
                state["key"] = "key-%d-%s" % (n, "x" * 24)
            entry.update(status=200, agent_id=state["agent_id"])
            log(entry)
            self.answer(200, {"agent_id": state["agent_id"], "node_key": state["key"]})
            return
        if self.path != "/v1/snapshots":
            entry.update(status=404)
            log(entry)
            self.answer(404, {"error": "not_found", "message": self.path})
            return

        snaps = body.get("snapshots", [body]) if isinstance(body, dict) else []
        entry["seqs"] = [s.get("seq") for s in snaps if isinstance(s, dict)]
        entry["agent_ids"] = sorted({s.get("agent_id") for s in snaps if isinstance(s, dict)})
        if key != state["key"]:
            entry.update(status=401, why="wrong key")
            log(entry)
            self.answer(401, {"error": "node_invalid", "message": "unknown node key"})
            return
        with lock:
            step = state["plan"].pop(0) if state["plan"] else "200"
        code, _, ra = step.partition(":")
        code = int(code)
        entry["status"] = code
        if ra:
            entry["retry_after"] = int(ra)
        log(entry)
        if code == 200:
            self.answer(200, {"accepted": len(snaps), "duplicates": 0})
        elif code == 401:
            # the key is revoked from now on, as a real collector would
            state["key"] = None
            self.answer(401, {"error": "node_invalid", "message": "revoked"})
        else:
            names = {400: "invalid", 403: "wrong_agent", 408: "timeout", 413: "too_large",
                     429: "busy", 503: "unavailable"}
            self.answer(code, {"error": names.get(code, "error"), "message": "scripted"},
                        retry_after=int(ra) if ra else None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--plan", default="")
    a = ap.parse_args()
    state["plan"] = [p for p in a.plan.split(",") if p]
    state["log"] = open(a.log, "a")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("listening", a.port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
