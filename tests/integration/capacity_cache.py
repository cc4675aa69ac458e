#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""capacity_cache.py URL_A URL_B CA OPERATOR ENROLL_SECRET: the checks of
capacity_cache.sh. Reads go to collector A, writes to collector B (or the
agent revoke command), both on PF_DB."""
import datetime
import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from collector_client import snapshot  # noqa: E402

URL_A, URL_B, CA, OPERATOR, SECRET = sys.argv[1:6]
BIN = os.environ["PF_COLLECTOR_BIN"]
DB = os.environ["PF_DB"]
CTX = ssl.create_default_context(cafile=CA)
FAILS = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        FAILS.append(msg)


def request(method, base, path, token=None, body=None):
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPSConnection(u.hostname, u.port, context=CTX, timeout=120)
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


def get(path, token=OPERATOR):
    st, b = request("GET", URL_A, path, token)
    if st != 200:
        raise SystemExit("GET %s: %d %s" % (path, st, b[:300]))
    return b


def hosts(query="", token=OPERATOR):
    return {h["name"]: h for h in json.loads(get("/v1/hosts" + query, token))["hosts"]}


def hits():
    m = re.search(r"^portfleet_analysis_cache_hits_total (\S+)$", get("/metrics"), re.M)
    if not m:
        raise SystemExit("/metrics has no portfleet_analysis_cache_hits_total")
    return float(m.group(1))


NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
T = int(NOW.timestamp())


def enroll(name, site, secret=SECRET):
    st, b = request("POST", URL_B, "/v1/enroll", body={
        "enroll_secret": secret, "host": {"name": name, "site": site, "machine_id": "m-" + name}})
    if st != 200:
        raise SystemExit("enroll %s: %d %s" % (name, st, b))
    e = json.loads(b)
    return e["agent_id"], e["node_key"]


def post(agent, key, name, site, seqs, in_use=None, error=None, at=None):
    batch = []
    for seq in seqs:
        s = snapshot(agent, seq, at or NOW - datetime.timedelta(minutes=20 * (6 - seq)))
        s["host"]["name"] = name
        s["host"]["site"] = site
        if in_use is not None:
            s["tcp"]["ephemeral_in_use"] = in_use
        if error is not None:
            s["agent_stats"]["last_push_error"] = error
        batch.append(s)
    st, b = request("POST", URL_B, "/v1/snapshots", token=key, body={"snapshots": batch})
    if st != 200:
        raise SystemExit("post %s: %d %s" % (name, st, b))


a1, k1 = enroll("CACHE-01", "nyc")
post(a1, k1, "CACHE-01", "nyc", range(1, 6), in_use=900)

# ---- an explicit time: shared while nothing changes ----
q = "?now=%d" % T
first = get("/v1/hosts" + q)
h0 = hits()
again = get("/v1/hosts" + q)
check(again == first, "the same question gets the same answer")
check(hits() > h0, "the repeated question was shared (hits %g -> more)" % h0)
check(set(hosts(q)) == {"CACHE-01"}, "one host so far")

# ---- writes through B and the command: A's next answer has them ----
a2, k2 = enroll("CACHE-02", "nyc")
post(a2, k2, "CACHE-02", "nyc", range(1, 6), in_use=700)
check(set(hosts(q)) == {"CACHE-01", "CACHE-02"},
      "a host enrolled and posted through B shows in A's next answer")
plan = json.loads(get("/v1/plan" + q))
check(sum(s["hosts"] for s in plan["sites"]) == 2, "the plan counts it too")

# As of the wall clock: shared for a few seconds, unless the data changed.
wall = hosts()
check(wall["CACHE-01"]["ports_in_use"] == 900, "as of now: CACHE-01 has 900 ports in use")
h0 = hits()
hosts()
check(hits() > h0, "as of now, a repeated question within seconds is shared")
post(a1, k1, "CACHE-01", "nyc", [6], in_use=4321)
check(hosts()["CACHE-01"]["ports_in_use"] == 4321,
      "a new snapshot posted through B is in A's next answer as of now")

p = subprocess.run([BIN, "agent", "revoke", a2, "--db", DB], capture_output=True, text=True)
check(p.returncode == 0, "agent revoke: %s" % p.stderr.strip())
check(set(hosts(q)) == {"CACHE-01"}, "an agent revoked by the command is gone from A's answer")
check(set(hosts()) == {"CACHE-01"}, "... as of now too")

# ---- a host page's detail ----
page = "/report/host/%s?now=%d" % (a1, T + 60)
one = get(page)
check(get(page) == one, "the host page, asked again, is the same")
post(a1, k1, "CACHE-01", "nyc", [7], error="cache-test: connection refused",
     at=NOW + datetime.timedelta(seconds=30))
check("cache-test: connection refused" in get(page),
      "a push error in a new snapshot is on the next host page (its detail not reused)")

# ---- tenants ----
p = subprocess.run([BIN, "tenant", "add", "acme", "--db", DB], capture_output=True, text=True)
check(p.returncode == 0, "tenant add acme: %s" % p.stderr.strip())
t = json.loads(p.stdout)
a3, k3 = enroll("ACME-01", "nyc", t["enroll_secret"])
post(a3, k3, "ACME-01", "nyc", range(1, 6))
for _ in range(100):  # collectors learn of new tokens within a few seconds
    if request("GET", URL_A, "/v1/hosts" + q, t["read_token"])[0] == 200:
        break
    time.sleep(0.1)
for round_ in (1, 2):  # the second round is answered from what the first left
    everyone = set(hosts(q))
    check(everyone == {"CACHE-01", "ACME-01"}, "round %d: the operator sees both tenants: %s"
          % (round_, sorted(everyone)))
    mine = set(hosts(q, t["read_token"]))
    check(mine == {"ACME-01"}, "round %d: acme's token sees acme's host only: %s"
          % (round_, sorted(mine)))
    f = json.loads(get("/v1/findings" + q, t["read_token"]))
    check(all(x.get("tenant", "acme") == "acme" for x in f["findings"]),
          "round %d: acme's findings are acme's" % round_)
    st, _ = request("GET", URL_A, page, t["read_token"])
    check(st == 404, "round %d: acme's token gets 404 for the default tenant's host page (%d)"
          % (round_, st))
    overview = get("/report" + q, t["read_token"])
    check("<b>1</b>hosts in 1 sites" in overview,
          "round %d: acme's overview counts acme's one host" % round_)
    check("<b>2</b>hosts in" in get("/report" + q),
          "round %d: the operator's overview counts both" % round_)

print("%d checks failed" % len(FAILS))
sys.exit(1 if FAILS else 0)
