#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""collector_rollup.py: snapshots for the process_hours test, and what
process_hours must hold after them, computed here from the rules of
sql/010 and sql/012 (an independent reading of fleet.c's process rules).

  gen AGENT FIRST COUNT DIR       write snapshots FIRST..FIRST+COUNT-1 of
                                  AGENT to DIR/<seq>.json: two to three hours
                                  ago, processes that repeat a (name, service)
                                  within a snapshot, some below 20 ports, some
                                  without a remote
  post URL CA KEY DIR [SEQS...]   post those snapshots (all of DIR, shuffled,
                                  when no SEQS), one per request, keep-alive;
                                  fails on any answer but 200
  check DIR DUMP                  DUMP (psql -At -F'|' of process_hours, see
                                  collector_rollup.sh) must equal the fold of
                                  every snapshot in DIR; prints the differences
"""
import glob
import http.client
import json
import os
import random
import ssl
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import collector_client  # noqa: E402

MIN_HELD = 20  # FLEET_PROC_MIN_HELD
NAMES = ["WAPCSvc.exe", "svchost.exe", "cloudflared.exe"]
SERVICES = ["", "Dnscache"]
REMOTES = ["10.1.0.1", "10.1.0.2", "2001:db8::7"]


def gen(agent, first, count, out):
    import datetime
    rnd = random.Random(first)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    base = now.replace(minute=0, second=0) - datetime.timedelta(hours=3)
    os.makedirs(out, exist_ok=True)
    for seq in range(first, first + count):
        # spread over two hours (three to one hour ago), out of seq order
        taken = base + datetime.timedelta(seconds=(seq * 211) % 7200)
        d = collector_client.snapshot(agent, seq, taken_at=taken)
        p0 = d["processes"][0]
        procs = []
        for i in range(rnd.randint(3, 8)):
            p = json.loads(json.dumps(p0))
            p["pid"] = 2000 + i
            p["name"] = rnd.choice(NAMES)
            p["service"] = rnd.choice(SERVICES)
            p["tcp_ports"] = rnd.choice([0, 5, 19, 20, 21, 40, 150, 900])
            p["udp_ports"] = rnd.choice([0, 0, 1, 3])
            p["states"] = {"established": p["tcp_ports"], "bound": rnd.randint(0, 30)}
            if rnd.random() < 0.7:
                p["top_remote"] = {"addr": rnd.choice(REMOTES), "port": rnd.choice([443, 80]),
                                   "count": 1}
            else:
                p.pop("top_remote", None)
            procs.append(p)
        d["processes"] = procs
        with open(os.path.join(out, "%d.json" % seq), "w", encoding="utf-8") as f:
            json.dump(d, f)


def post(url, ca, key, d, seqs):
    u = urllib.parse.urlsplit(url)
    ctx = ssl.create_default_context(cafile=ca)
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
    files = ([os.path.join(d, "%s.json" % s) for s in seqs] if seqs else
             glob.glob(os.path.join(d, "*.json")))
    if not seqs:
        random.Random(7).shuffle(files)  # out of taken_at order
    for path in files:
        with open(path, "rb") as f:
            body = f.read()
        conn.request("POST", "/v1/snapshots", body=body,
                     headers={"Content-Type": "application/json",
                              "Authorization": "Bearer " + key})
        r = conn.getresponse()
        text = r.read()
        if r.status != 200:
            sys.exit("post %s: %d %s" % (os.path.basename(path), r.status, text[:200]))
    print("posted %d snapshots" % len(files))


def epoch(ts):
    import datetime
    return int(datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp())


def fold(d):
    rows = {}
    for path in glob.glob(os.path.join(d, "*.json")):
        with open(path, encoding="utf-8") as f:
            s = json.load(f)
        t = epoch(s["taken_at"])
        hour = t - t % 3600
        for rank, p in enumerate(s["processes"]):
            held = p["tcp_ports"] + p["udp_ports"]
            if held < MIN_HELD:
                continue
            k = (hour, p["name"], p["service"])
            r = rows.setdefault(k, {"max": held, "min": held, "bound": 0, "remote": None})
            r["max"] = max(r["max"], held)
            r["min"] = min(r["min"], held)
            r["bound"] = max(r["bound"], p["states"].get("bound", 0))
            tr = p.get("top_remote")
            if tr and (r["remote"] is None or (t, rank) >= r["remote"][0]):
                r["remote"] = ((t, rank), tr["addr"], tr["port"])
    out = set()
    for (hour, name, service), r in rows.items():
        rem = r["remote"]
        out.add("%d|%s|%s|%d|%d|%d|%s|%d|%d" % (
            hour, name, service, r["max"], r["min"], r["bound"],
            rem[1] if rem else "", rem[2] if rem else -1, rem[0][0] if rem else -1))
    return out


def check(d, dump):
    want = fold(d)
    with open(dump, encoding="utf-8") as f:
        got = set(line.rstrip("\n") for line in f if line.strip())
    for line in sorted(want - got):
        print("MISSING  " + line)
    for line in sorted(got - want):
        print("EXTRA    " + line)
    print("process_hours: %d rows expected, %d stored, %d differ" % (
        len(want), len(got), len(want ^ got)))
    sys.exit(0 if want == got else 1)


def main():
    a = sys.argv[1:]
    if len(a) == 5 and a[0] == "gen":
        gen(a[1], int(a[2]), int(a[3]), a[4])
    elif len(a) >= 5 and a[0] == "post":
        post(a[1], a[2], a[3], a[4], a[5:])
    elif len(a) == 3 and a[0] == "check":
        check(a[1], a[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
