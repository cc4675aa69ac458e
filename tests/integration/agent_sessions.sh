#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agent_sessions.sh BUILD_DIR: the sessions section from a cloudflared
# metrics endpoint on loopback, in a private network namespace. The
# endpoint is a stand-in served by this test (Python's http.server behind
# a copy of the interpreter named `cloudflared`, so the agent gives the
# host the cloudflared role as it would the real one) with the text of
# tests/data/cloudflared_metrics.txt and counts it changes per case. Cases:
# the address on the command line (--metrics), the default port 20241..
# 20245 (none on the command line), the agent's --cloudflared-metrics,
# the endpoint down (sessions in unmeasured, never zeros), and an address
# that is not loopback (refused, unmeasured).
set -euo pipefail
build=$(cd "${1:?usage: agent_sessions.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${PF_IN_NETNS:-}" ]; then
  exec env PF_IN_NETNS=1 unshare -n -- "$0" "$@"
fi
ip link set lo up
# The stand-in's listening port must lie in the range for the agent to
# list its process (and so see the role).
echo "20000 29999" > /proc/sys/net/ipv4/ip_local_port_range
exec python3 - "$build/agent/portfleet-agent" "$here/../data/cloudflared_metrics.txt" <<'PY'
import json, os, shutil, subprocess, sys, tempfile, time
agent, sample = sys.argv[1:]
tmp = tempfile.mkdtemp()
fake = os.path.join(tmp, "cloudflared")
shutil.copy(sys.executable, fake)
server = os.path.join(tmp, "serve.py")
open(server, "w").write(r'''
import http.server, sys
port, tcp, udp, sample = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
text = open(sample).read()
text = text.replace("cloudflared_tcp_active_sessions 3100", "cloudflared_tcp_active_sessions " + tcp)
text = text.replace("cloudflared_udp_active_sessions 240", "cloudflared_udp_active_sessions " + udp)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = text.encode() if self.path == "/metrics" else b"404"
        self.send_response(200 if self.path == "/metrics" else 404)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
''')
fails = []

def start(port, tcp, udp, extra):
    # argv as cloudflared's: "tunnel --metrics ADDR run" (extra), read by
    # the agent from /proc/PID/cmdline; the script ignores what follows.
    p = subprocess.Popen([fake, server, str(port), str(tcp), str(udp), sample] + extra)
    for _ in range(100):
        try:
            import socket
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return p
        except OSError:
            time.sleep(0.05)
    p.kill()
    sys.exit("stand-in did not listen")

def snap(*args):
    out = subprocess.run([agent, "snapshot", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)

def case(name, snapshot, want):
    got = snapshot.get("sessions")
    um = "sessions" in snapshot["unmeasured"]
    roles = snapshot["host"]["roles"]
    ok = (got == want and not um) if want else (got is None and um)
    print(f"{'ok' if ok else 'FAIL'} - {name}: sessions {got}, unmeasured {um}, roles {roles}")
    if not ok:
        fails.append(name)

# 1. address on cloudflared's command line, a port the defaults would miss
p = start(24000, 3100, 240, ["tunnel", "--metrics", "127.0.0.1:24000", "run"])
case("--metrics on the command line", snap(),
     {"source": "cloudflared", "tcp_active": 3100, "udp_active": 240})
p.kill(); p.wait()
# 2. no --metrics: the first answering default port (20243)
p = start(20243, 4500, 12, ["tunnel", "run"])
case("default port 20243", snap(), {"source": "cloudflared", "tcp_active": 4500, "udp_active": 12})
p.kill(); p.wait()
# 3. the agent's option wins, even without the role
p = start(25000, 7, 8, ["tunnel", "run"])
case("--cloudflared-metrics", snap("--cloudflared-metrics", "localhost:25000"),
     {"source": "cloudflared", "tcp_active": 7, "udp_active": 8})
# 4. endpoint down: unmeasured, never zeros
case("endpoint down", snap("--cloudflared-metrics", "127.0.0.1:25001"), None)
# 5. not loopback: refused without sending anything
case("not loopback", snap("--cloudflared-metrics", "192.0.2.1:25000"), None)
p.kill(); p.wait()
# 6. no cloudflared and no option: no sessions section, nothing unmeasured
s = snap()
ok = "sessions" not in s and "sessions" not in s["unmeasured"]
print(f"{'ok' if ok else 'FAIL'} - no cloudflared: no sessions section")
if not ok:
    fails.append("no cloudflared")
shutil.rmtree(tmp)
if fails:
    sys.exit("FAIL: " + ", ".join(fails))
print("agent_sessions: ok")
PY
