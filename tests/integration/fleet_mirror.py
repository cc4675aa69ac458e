#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fleet_mirror.py URL_A URL_R CA OPERATOR ENROLL_SECRET: the checks of
fleet_mirror.sh. A serves its analyses from the fleet mirror; R (started
with --analysis-mirror 0) loads every analysis in full. Every write goes
to R, the database or the commands, so A learns of changes only from the
database. After each change, /v1/findings, /v1/plan and /v1/hosts (and
their tenant- and site-scoped forms) must be the same bytes from both."""
import datetime
import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from collector_client import snapshot  # noqa: E402

URL_A, URL_R, CA, OPERATOR, SECRET = sys.argv[1:6]
BIN = os.environ["PF_COLLECTOR_BIN"]
DB = os.environ["PF_DB"]
CTX = ssl.create_default_context(cafile=CA)
FAILS = []
HOUR = datetime.timedelta(hours=1)


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg, flush=True)
    if not cond:
        FAILS.append(msg)


def request(method, base, path, token=None, body=None):
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPSConnection(u.hostname, u.port, context=CTX, timeout=300)
    h = {"Authorization": "Bearer " + token} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    b = r.read().decode("utf-8", "replace")
    c.close()
    return r.status, b


def get(base, path, token=OPERATOR):
    st, b = request("GET", base, path, token)
    if st != 200:
        raise SystemExit("GET %s%s: %d %s" % (base, path, st, b[:300]))
    return b


def psql(sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", DB, "-c", sql], check=True,
                   stdout=subprocess.DEVNULL)


NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
T = int(NOW.timestamp())
SEQ = {}


def enroll(name, site, secret=SECRET):
    st, b = request("POST", URL_R, "/v1/enroll", body={
        "enroll_secret": secret, "host": {"name": name, "site": site, "machine_id": "m-" + name}})
    if st != 200:
        raise SystemExit("enroll %s: %d %s" % (name, st, b))
    e = json.loads(b)
    return e["agent_id"], e["node_key"]


def snap(h, at, in_use, leak=None, ikev2=None):
    """One snapshot of host h at `at`: in_use TCP ports, a steady process
    and, with leak, a process holding that many ports."""
    SEQ[h["id"]] = SEQ.get(h["id"], 0) + 1
    s = snapshot(h["id"], SEQ[h["id"]], at, procs=1)
    s["host"]["name"] = h["name"]
    s["host"]["site"] = h["site"]
    s["tcp"]["ephemeral_in_use"] = in_use
    s["processes"][0]["tcp_ports"] = 40 + in_use % 7
    s["processes"][0]["top_remote"] = {"addr": "10.1.0.%d" % (in_use % 200 + 1), "port": 443,
                                       "count": 3}
    if leak is not None:
        p = dict(s["processes"][0])
        p["pid"] = 777
        p["name"] = "leaky.exe"
        p["service"] = "Leaky"
        p["tcp_ports"] = leak
        p["top_remote"] = {"addr": "10.9.9.%d" % (leak % 200 + 1), "port": 8443, "count": 9}
        s["processes"].append(p)
        s["tcp"]["ephemeral_in_use"] = in_use + leak
    if ikev2 is not None:
        s["vpn"]["connections"] = ikev2 + 3
        s["vpn"]["by_protocol"]["ikev2"] = ikev2
        s["vpn"]["client_addresses"]["distinct"] = ikev2
        s["vpn"]["client_addresses"]["top"] = [{"addr": "203.0.113.%d" % (ikev2 % 200 + 1),
                                                "count": 2}]
    return s


def post(h, snaps):
    for i in range(0, len(snaps), 50):
        st, b = request("POST", URL_R, "/v1/snapshots", token=h["key"],
                        body={"snapshots": snaps[i:i + 50]})
        if st != 200:
            raise SystemExit("post %s: %d %s" % (h["name"], st, b[:300]))


def history(h, hours_back, hours_to, base, leak=False, ikev2=False):
    out = []
    for k in range(hours_back, hours_to - 1, -1):
        at = NOW - k * HOUR
        out.append(snap(h, at, base + (hours_back - k) * 3 + (k * 37) % 11,
                        leak=100 + 45 * (hours_back - k) if leak else None,
                        ikev2=(20 + (k * 13) % 29) if ikev2 else None))
    return out


def mirror_status():
    return json.loads(get(URL_A, "/v1/status"))["analysis_mirror"]


PATHS = ("/v1/findings", "/v1/plan", "/v1/hosts")


def same(label, queries, token=OPERATOR):
    answers = {}
    for q in queries:
        for p in PATHS:
            a = get(URL_A, p + q, token)
            r = get(URL_R, p + q, token)
            check(a == r, "%s: A (mirror) = R (full load) for %s%s (%d bytes)"
                  % (label, p, q, len(r)))
            if a != r:
                print("  A: " + a[:600] + "\n  R: " + r[:600])
            answers[p + q] = r
    return answers


Q = "?now=%d" % T
if os.environ.get("PF_MIRROR_NO_TRIGGERS") == "1":
    # To see this test fail: the mirror without sql/150's marks.
    psql("DROP TRIGGER host_hours_late ON host_hours; DROP TRIGGER process_hours_late ON "
         "process_hours")
hosts = []
for i, (name, site) in enumerate([("MIR-01", "nyc"), ("MIR-02", "nyc"), ("MIR-03", "lon"),
                                  ("MIR-04", "lon"), ("MIR-05", "nyc")]):
    aid, key = enroll(name, site)
    hosts.append({"id": aid, "key": key, "name": name, "site": site})

# ---- a first fleet: 40 hours of history, a leak, a VPN server ----
for i, h in enumerate(hosts):
    post(h, history(h, 40, 0, 300 + 150 * i, leak=(i == 1), ikev2=(i == 2)))
st = mirror_status()
check(st is not None and not st["off"], "A has a fleet mirror: %s" % st)
base = same("history posted (hours old: marked rows)", [Q, Q + "&site=nyc"])
check('"kind":"port_leak"' in base["/v1/findings" + Q], "the leak is found (the check has teeth)")
check(mirror_status()["ready"], "A's mirror is ready")
r0 = mirror_status()["refreshes"]

# ---- steady ingest: the current hour of every host ----
for i, h in enumerate(hosts):
    post(h, [snap(h, NOW - datetime.timedelta(minutes=1), 900 + 50 * i,
                  leak=(100 + 45 * 41) if i == 1 else None, ikev2=(30 if i == 2 else None))])
cur = same("current hour ingested", [Q])
check(cur["/v1/hosts" + Q] != base["/v1/hosts" + Q], "the current hour changed the answer")
check(mirror_status()["refreshes"] > r0, "A refreshed its mirror")

# ---- late snapshots: a spool drained, hours old ----
late = hosts[3]
post(late, [snap(late, NOW - 9 * HOUR + datetime.timedelta(minutes=m), 16000 + m)
            for m in (5, 25, 45)])
lt = same("a spool drained 9 hours late", [Q, Q + "&site=lon"])
check(lt["/v1/hosts" + Q] != cur["/v1/hosts" + Q], "the late snapshots changed the answer")

# ---- an old hour rewritten in the database (a seed, a migration) ----
psql("UPDATE host_hours SET tcp_max = tcp_max + 4000, vpn_ikev2 = 500, vpn_connections = 505 "
     "WHERE agent_id = '%s' AND hour = date_trunc('hour', to_timestamp(%d)) - interval '20 hours'"
     % (hosts[2]["id"], T))
psql("UPDATE process_hours SET held_max = held_max + 900, held_min = held_min + 900 "
     "WHERE agent_id = '%s' AND hour = date_trunc('hour', to_timestamp(%d)) - interval '30 hours'"
     % (hosts[1]["id"], T))
rw = same("old host and process hours rewritten", [Q])
check(rw["/v1/hosts" + Q] != lt["/v1/hosts" + Q], "the rewritten hours changed the answer")
psql("DELETE FROM host_hours WHERE agent_id = '%s' "
     "AND hour = date_trunc('hour', to_timestamp(%d)) - interval '20 hours'" % (hosts[2]["id"], T))
dl = same("an old host hour deleted", [Q])
check(dl["/v1/hosts" + Q] != rw["/v1/hosts" + Q], "the deleted hour changed the answer")
rw = dl

# ---- the process_hours queue folded at request time ----
qh = hosts[4]
post(qh, [snap(qh, NOW - 5 * HOUR + datetime.timedelta(minutes=10), 2500)])
qd = same("queued processes of a late snapshot", [Q])
check(qd["/v1/hosts" + Q] != rw["/v1/hosts" + Q], "the late snapshot changed the answer")

# ---- a revoked agent ----
p = subprocess.run([BIN, "agent", "revoke", hosts[0]["id"], "--db", DB], capture_output=True,
                   text=True)
check(p.returncode == 0, "agent revoke: %s" % p.stderr.strip())
rv = same("an agent revoked", [Q])
check('"MIR-01"' not in rv["/v1/hosts" + Q], "the revoked host is gone")

# ---- a second tenant: its hosts, operator's scoped request, its token ----
p = subprocess.run([BIN, "tenant", "add", "acme", "--db", DB], capture_output=True, text=True)
check(p.returncode == 0, "tenant add acme: %s" % p.stderr.strip())
t = json.loads(p.stdout)
aid, key = enroll("ACME-01", "nyc", t["enroll_secret"])
acme = {"id": aid, "key": key, "name": "ACME-01", "site": "nyc"}
post(acme, history(acme, 30, 0, 700))
for _ in range(100):  # collectors learn of new tokens within a few seconds
    if (request("GET", URL_A, "/v1/hosts" + Q, t["read_token"])[0] == 200 and
            request("GET", URL_R, "/v1/hosts" + Q, t["read_token"])[0] == 200):
        break
    __import__("time").sleep(0.1)
same("a second tenant (operator)", [Q, Q + "&tenant=acme", Q + "&tenant=default&site=nyc"])
ta = same("a second tenant (its own token)", [Q], token=t["read_token"])
check('"MIR-0' not in ta["/v1/hosts" + Q], "acme's token sees no host of the default tenant")

# ---- hour boundaries: the window slides forward and back ----
same("the next hour (window slid forward)", ["?now=%d" % (T + 3600)])
post(hosts[1], [snap(hosts[1], NOW - datetime.timedelta(seconds=30), 1200)])
same("the next hour, after a write", ["?now=%d" % (T + 3600)])
same("three hours back (window slid back)", ["?now=%d" % (T - 3 * 3600)])
same("now again", [Q, Q + "&site=lon"])

st = mirror_status()
check(st["full_loads"] == 1 and st["refreshes"] > 10,
      "every change above was read incrementally (one full load, at start): %s" % st)
n = subprocess.run(["psql", "-X", "-At", DB, "-c", "SELECT count(*) FROM rollup_late_marks"],
                   capture_output=True, text=True, check=True).stdout.strip()
check(int(n) > 0, "late rows were marked (%s marks)" % n)

# ---- TRUNCATE: the mirror reloads in full ----
psql("TRUNCATE process_hours")
tr = same("process_hours truncated", [Q])
st = mirror_status()
check(st["full_loads"] == 2, "a TRUNCATE made the mirror load in full once more: %s" % st)

# ---- the checks can fail: without the trigger, a late change is missed ----
if os.environ.get("PF_MIRROR_NEGATIVE", "1") == "1":
    psql("DROP TRIGGER host_hours_late ON host_hours")
    # above the host's highest hour (the spool's 16,000), so its peak moves
    psql("UPDATE host_hours SET tcp_max = tcp_max + 20000 WHERE agent_id = '%s' "
         "AND hour = date_trunc('hour', to_timestamp(%d)) - interval '15 hours'"
         % (hosts[3]["id"], T))
    a = get(URL_A, "/v1/hosts" + Q)
    r = get(URL_R, "/v1/hosts" + Q)
    check(a != r, "without sql/150's trigger the mirror misses a late change (the comparison "
          "can fail)")

log = open(os.environ["PF_TMP"] + "/collector.log", encoding="utf-8", errors="replace").read()
check(re.search(r"fleet mirror: \d+ hosts loaded in full", log) is not None,
      "A's log says when the mirror was loaded")
check("(mirror)" in log, "A's analyses were served by the mirror")
if FAILS:
    print("%d checks failed" % len(FAILS))
    sys.exit(1)
