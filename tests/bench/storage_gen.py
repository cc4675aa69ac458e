#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""storage_gen.py: realistic drifting snapshots for storage_bench.sh, posted
through the real collector over TLS (keep-alive, batches), and the same JSON
written out so the bench can compare the database with gzip -6 of it.

  storage_gen.py URL CA SECRET HOSTS SNAPSHOTS JSON_OUT [--batch N] [--seed S]

Each host: a dozen processes (stable pids, an occasional restart with a new
pid), 50 remotes drawn from a pool of 80 with some churn, counts that random
walk minute to minute, a top destination, UDP, events now and then, CPU and
memory (resources); by its role, a quarter of the hosts each: an Entra
connector (sessions: users, requests/s), cloudflared (sessions: TCP and UDP
streams), RRAS (vpn: about 200 connections from a pool of 300 clients, the
top 50 of them, ports per protocol, the address pool), a plain host. Every
snapshot 60 s apart, ending now. Deterministic for a seed.
"""
import datetime
import gzip  # noqa: F401 (the bench gzips with the gzip tool, not here)
import http.client
import json
import random
import ssl
import sys
import urllib.parse

STATES = ["listen", "syn_sent", "syn_received", "established", "fin_wait_1", "fin_wait_2",
          "close_wait", "closing", "last_ack", "time_wait", "bound"]
PROCS = [("svchost.exe", "Dnscache"), ("lsass.exe", ""), ("MicrosoftEntraConnector.exe",
         "MicrosoftEntraPrivateNetworkConnector"), ("cloudflared.exe", "Cloudflared"),
         ("w3wp.exe", "W3SVC"), ("RasMan.exe", "RasMan"), ("System", ""),
         ("MsMpEng.exe", "WinDefend"), ("sqlservr.exe", "MSSQLSERVER"),
         ("java.exe", ""), ("node.exe", "pm2-app"), ("svchost.exe", "iphlpsvc"),
         ("CcmExec.exe", "CcmExec"), ("TeamViewer_Service.exe", "TeamViewer")]


def post(conn, key, body):
    conn.request("POST", "/v1/snapshots", body=body,
                 headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        sys.exit("post: %d %s" % (r.status, data[:300]))


def enroll(conn, secret, name, site, mid):
    conn.request("POST", "/v1/enroll", body=json.dumps(
        {"enroll_secret": secret, "host": {"name": name, "site": site, "machine_id": mid}}),
        headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    d = json.loads(r.read())
    if r.status != 200:
        sys.exit("enroll: %d %s" % (r.status, d))
    return d["agent_id"], d["node_key"]


class Host:
    def __init__(self, rng, i):
        self.rng = rng
        self.i = i
        self.name = "CONN-%s-%02d" % (["NYC", "LON", "FRA", "SIN"][i % 4], i)
        self.site = ["nyc", "lon", "fra", "sin"][i % 4]
        self.procs = []
        for k, (n, s) in enumerate(rng.sample(PROCS, 12)):
            self.procs.append({"pid": rng.randrange(400, 30000), "name": n, "service": s,
                               "held": rng.randrange(5, 400 if k < 4 else 60)})
        self.pool = ["10.%d.%d.%d" % (i, rng.randrange(256), rng.randrange(1, 255))
                     for _ in range(60)] + ["203.0.113.%d" % rng.randrange(1, 255)
                                            for _ in range(20)]
        self.ports = [443, 443, 443, 80, 8443, 5671, 1433, 389]
        self.kind = ["entra-connector", "cloudflared", "rras", "web"][i % 4]
        self.cpu, self.mem, self.rps, self.users = 20.0, 3000, 50.0, 40
        self.clients = {"172.16.%d.%d" % (k // 250, k % 250 + 1): 0 for k in range(300)}
        self.remotes = {}
        while len(self.remotes) < 50:
            self.remotes[(rng.choice(self.pool), rng.choice(self.ports))] = rng.randrange(1, 300)
        self.agent_id = self.key = None

    def snapshot(self, seq, taken):
        rng = self.rng
        for p in self.procs:
            p["held"] = max(0, p["held"] + rng.randint(-6, 6))
            if rng.random() < 0.002:
                p["pid"] = rng.randrange(400, 30000)  # restarted
        for k in list(self.remotes):
            self.remotes[k] = max(1, self.remotes[k] + rng.randint(-8, 8))
        if rng.random() < 0.3:  # churn in the tail
            k = min(self.remotes, key=self.remotes.get)
            del self.remotes[k]
            while len(self.remotes) < 50:
                self.remotes[(rng.choice(self.pool), rng.choice(self.ports))] = rng.randrange(1, 30)
        procs = []
        for p in sorted(self.procs, key=lambda p: -p["held"]):
            est = p["held"] * 7 // 10
            tw = p["held"] - est
            st = {"established": est, "time_wait": tw, "bound": rng.randint(0, 3),
                  "close_wait": rng.randint(0, 2), "syn_sent": rng.randint(0, 1)}
            top = max(self.remotes, key=self.remotes.get)
            procs.append({"pid": p["pid"], "name": p["name"], "service": p["service"],
                          "tcp_ports": p["held"], "udp_ports": rng.randint(0, 8),
                          "states": st, "top_remote": {"addr": top[0], "port": top[1],
                                                       "count": max(1, p["held"] // 3)}})
        rem = sorted(self.remotes.items(), key=lambda kv: -kv[1])
        total = sum(p["held"] for p in self.procs)
        self.cpu = min(100.0, max(1.0, self.cpu + rng.uniform(-3, 3)))
        self.mem = min(8000, max(1000, self.mem + rng.randint(-40, 40)))
        extra = {"resources": {"cpu_pct": round(self.cpu, 2),
                               "cpu_pct_peak": round(min(100.0, self.cpu + rng.uniform(0, 30)), 2),
                               "memory_used_mb": self.mem}}
        if self.kind == "entra-connector":
            self.rps = max(0.0, self.rps + rng.uniform(-4, 4))
            self.users = max(0, self.users + rng.randint(-3, 3))
            extra["sessions"] = {"source": "entra-connector", "users": self.users,
                                 "requests_per_s": round(self.rps, 2)}
        elif self.kind == "cloudflared":
            extra["sessions"] = {"source": "cloudflared", "tcp_active": total // 2,
                                 "udp_active": rng.randint(0, 40)}
        elif self.kind == "rras":
            for c in rng.sample(list(self.clients), 8):  # clients come and go
                self.clients[c] = max(0, min(3, self.clients[c] + rng.choice((-1, 1))))
            on = sorted(((c, n) for c, n in self.clients.items() if n), key=lambda kv: (-kv[1], kv[0]))
            conn = sum(n for _, n in on)
            ikev2, sstp = conn * 6 // 10, conn * 3 // 10
            extra["vpn"] = {
                "connections": conn,
                "by_protocol": {"ikev2": ikev2, "sstp": sstp, "l2tp": conn - ikev2 - sstp,
                                "pptp": 0},
                "client_addresses": {"distinct": len(on),
                                     "top": [{"addr": c, "count": n} for c, n in on[:50]]},
                "ike_num_established_for_initial_query": None,
                "ports": [{"protocol": "ikev2", "configured": 128, "in_use": min(128, ikev2)},
                          {"protocol": "sstp", "configured": 128, "in_use": min(128, sstp)},
                          {"protocol": "l2tp", "configured": 128, "in_use": conn - ikev2 - sstp},
                          {"protocol": "pptp", "configured": 128, "in_use": 0}],
                "address_pool": {"size": 500, "in_use": min(500, conn)}}
        states = {s: 0 for s in STATES}
        states["established"] = total * 7 // 10
        states["time_wait"] = total - states["established"]
        states["listen"] = 24 + rng.randint(0, 1)
        states["bound"] = rng.randint(0, 6)
        states["close_wait"] = rng.randint(0, 5)
        d = {
            "schema": "portfleet.snapshot.v1", "agent_id": self.agent_id, "seq": seq,
            "taken_at": taken.strftime("%Y-%m-%dT%H:%M:%SZ"), "interval_s": 60,
            "host": {"name": self.name, "site": self.site, "machine_id": "mid-%04d" % self.i,
                     "os": "windows", "os_version": "10.0.20348", "roles": [self.kind],
                     "cpus": 4, "memory_mb": 8192, "agent_version": "0.1.0"},
            "ranges": [{"proto": p, "family": f, "start": 49152, "count": 16384}
                       for p in ("tcp", "udp") for f in ("ipv4", "ipv6")],
            "excluded": [{"proto": "tcp", "family": "ipv4", "start": 50000, "count": 100}],
            "tcp": {"states": states, "ephemeral_in_use": total,
                    "top_destination": {"addr": rem[0][0][0], "port": rem[0][0][1],
                                        "count": rem[0][1]}},
            "udp": {"endpoints": 40 + rng.randint(0, 9), "ephemeral_in_use": 12 + rng.randint(0, 9)},
            "processes": procs,
            "remotes": [{"addr": a, "port": p, "count": c} for (a, p), c in rem],
            "events": {"tcpip_4227": 1 if rng.random() < 0.01 else 0, "tcpip_4231": 0,
                       "tcpip_4266": 0, "netlogon_5719": 0},
            "unmeasured": [],
            "agent_stats": {"spool_depth": 0, "spool_dropped": 0, "spool_corrupt": 0,
                            "last_push_error": None},
            "truncated": False}
        d.update(extra)
        return d


def main():
    url, ca, secret, hosts, snaps, out = sys.argv[1:7]
    batch, seed = 1, 13
    rest = sys.argv[7:]
    while rest:
        if rest[0] == "--batch":
            batch = int(rest[1])
        elif rest[0] == "--seed":
            seed = int(rest[1])
        rest = rest[2:]
    u = urllib.parse.urlparse(url)
    ctx = ssl.create_default_context(cafile=ca)
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
    rng = random.Random(seed)
    hs = [Host(rng, i) for i in range(int(hosts))]
    for h in hs:
        h.agent_id, h.key = enroll(conn, secret, h.name, h.site, "mid-%04d" % h.i)
    n = int(snaps)
    end = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    start = end - datetime.timedelta(minutes=n)
    with open(out, "w", encoding="utf-8") as f:
        for h in hs:
            pending = []
            for k in range(n):
                s = h.snapshot(k + 1, start + datetime.timedelta(minutes=k))
                f.write(json.dumps(s) + "\n")
                pending.append(s)
                if len(pending) == batch or k == n - 1:
                    body = json.dumps(pending[0] if batch == 1 else {"snapshots": pending})
                    post(conn, h.key, body)
                    pending = []


if __name__ == "__main__":
    main()
