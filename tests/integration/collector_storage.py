#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""collector_storage.py: snapshots that exercise every field of the compact
layout (sql/020), and a check that the snapshots, snapshot_processes and
snapshot_remotes views give back exactly what was posted.

  gen AGENT N OUT        N snapshots as one {"snapshots": [...]} body: the
                         protocol example, then variations: 50 processes and
                         50 remotes with 255-character names, IPv6, values
                         up to 2^53 - 1, unmeasured sections, no top
                         destination, processes without a remote, VPN
                         fields (50 clients, ports, the address pool),
                         resources and sessions (each figure present or
                         not), a push error, truncated, facts that change
  check BATCH DUMPDIR [OLD_SEQ]
                         DUMPDIR/{snapshots,processes,remotes}.json (psql
                         json_agg of the views) must equal BATCH field by field;
                         prints every difference. Snapshots up to seq OLD_SEQ
                         were stored by a release before the compact layout,
                         which kept no resources, sessions, vpn.ports or
                         vpn.address_pool: those read back as NULL
"""
import copy
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import collector_client  # noqa: E402

STATES = ["listen", "syn_sent", "syn_received", "established", "fin_wait_1", "fin_wait_2",
          "close_wait", "closing", "last_ack", "time_wait", "bound"]
BIG = 2 ** 53 - 1


def gen(agent, n):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    out = []
    for seq in range(1, n + 1):
        d = collector_client.snapshot(agent, seq, now - datetime.timedelta(minutes=n - seq))
        k = seq % 6
        if k == 1:  # the caps: 50 processes and remotes, long names, big values
            d["processes"] = []
            for i in range(50):
                d["processes"].append({
                    "pid": 4294967295 - i, "name": ("p%02d-" % i) + "x" * 251,
                    "service": "" if i % 3 else "svc-" + "y" * 250,
                    "tcp_ports": BIG - i, "udp_ports": i,
                    "states": {s: (BIG - j if i == 0 else i * j) for j, s in enumerate(STATES)},
                    "top_remote": {"addr": "2001:db8:ffff:ffff:ffff:ffff:ffff:%x" % i,
                                   "port": 65535 - i, "count": BIG}})
            d["remotes"] = [{"addr": "2001:db8::%x" % i if i % 2 else "198.51.100.%d" % i,
                             "port": 1 + i, "count": BIG - i} for i in range(50)]
            d["tcp"]["ephemeral_in_use"] = BIG
            d["tcp"]["states"]["time_wait"] = 123456789
            d["vpn"]["client_addresses"] = {"distinct": BIG, "top": [
                {"addr": "2001:db8:aaaa:bbbb:cccc:dddd:eeee:%x" % i, "count": BIG - i}
                for i in range(50)]}
            d["vpn"]["ports"] = [{"protocol": p, "configured": BIG - i, "in_use": BIG - 2 * i}
                                 for i, p in enumerate(["pptp", "l2tp", "sstp", "ikev2"])]
            d["vpn"]["address_pool"] = {"size": BIG, "in_use": BIG}
            d["resources"] = {"cpu_pct": 100, "cpu_pct_peak": 100,
                              "memory_used_mb": d["host"]["memory_mb"]}
            d["sessions"] = {"source": "s" * 63, "tcp_active": BIG, "udp_active": BIG,
                             "users": BIG, "requests_per_s": 1099511627775.99}
        elif k == 2:  # sections not measured, no top destination, no remotes
            d["unmeasured"] = ["tcp.states.bound", "events", "udp"]
            del d["tcp"]["top_destination"]
            d["remotes"] = []
            for p in d["processes"]:
                p.pop("top_remote", None)
            d["unmeasured"] += ["sessions", "resources.memory_used_mb"]
            d["resources"] = {"cpu_pct": 0.01, "cpu_pct_peak": None}
        elif k == 3:  # VPN counts, a push error, truncated, other facts
            d["vpn"]["connections"] = 900
            d["vpn"]["by_protocol"] = {"ikev2": 700, "sstp": 150, "l2tp": 40, "pptp": 10}
            d["vpn"]["client_addresses"] = {"distinct": 3, "top": [
                {"addr": "203.0.113.10", "count": 500}, {"addr": "203.0.113.11", "count": 1}]}
            d["vpn"]["ike_num_established_for_initial_query"] = 20000
            d["agent_stats"]["last_push_error"] = "tls: handshake \"failed\"\t\\ tab"
            d["agent_stats"]["spool_depth"] = 17
            d["truncated"] = True
            d["host"]["roles"] = ["rras", "entra-connector"]
            d["host"]["memory_mb"] = 16384
            d["excluded"] = []
            d["vpn"]["ports"] = [{"protocol": "sstp", "configured": 128, "in_use": 100},
                                 {"protocol": "ikev2", "configured": 128, "in_use": 0}]
            d["vpn"]["address_pool"] = {"size": 500, "in_use": 120}
            d["resources"] = {"cpu_pct": 63.46, "cpu_pct_peak": 91, "memory_used_mb": 5120}
            d["sessions"] = {"source": "entra-connector", "users": 40, "requests_per_s": 12.5}
        elif k == 4:  # no optional sections at all
            for key in ("events", "vpn", "agent_stats", "excluded"):
                d.pop(key, None)
        elif k == 5:  # processes named like the remotes
            d["processes"][0]["name"] = "10.0.0.5 443"
            d["tcp"]["top_destination"] = {"addr": "10.0.0.5", "port": 443, "count": 9}
            d["vpn"]["ports"] = []
            d["vpn"]["client_addresses"]["top"] = []
            # counts not largest first (the agent's order): kept as sent
            d["remotes"] = [{"addr": "10.9.0.%d" % (i + 1), "port": 443, "count": c}
                            for i, c in enumerate([5, 7, 7, 1, 300, 2])]
            d["resources"] = {}
            d["sessions"] = {"source": "cloudflared", "tcp_active": 0, "udp_active": 7}
        else:  # the decoder rounds fractions to hundredths; clients out of order
            d["vpn"]["client_addresses"]["top"] = [
                {"addr": "203.0.113.%d" % (i + 1), "count": c} for i, c in enumerate([1, 4, 4, 2])]
            d["resources"] = {"cpu_pct": 12.344, "cpu_pct_peak": 99.996}
            d["sessions"] = {"source": "10.0.0.5 443", "requests_per_s": 0.005}
        out.append(d)
    return {"snapshots": out}


SIZING_KEYS = ("vpn_ports", "vpn_pool_size", "vpn_pool_in_use", "cpu_pct", "cpu_pct_peak",
               "memory_used_mb", "sessions_source", "sessions_tcp_active", "sessions_udp_active",
               "sessions_users", "sessions_requests_per_s")


def expect_snapshot(d, old=False):
    """The snapshots view row the collector must give back for d (old:
    stored by a release that kept none of the sizing sections)."""
    um = d.get("unmeasured", [])

    def measured(path, present, v):
        for u in um:
            if path == u or path.startswith(u + "."):
                return None
        return v if present else None

    tcp, udp = d["tcp"], d.get("udp", {})
    ev, vpn, st = d.get("events"), d.get("vpn"), d.get("agent_stats")
    vpn_ok = vpn is not None and measured("vpn", True, 1) is not None
    top = tcp.get("top_destination")
    r = {"seq": d["seq"], "interval_s": d["interval_s"], "host_name": d["host"]["name"],
         "site": d["host"]["site"], "os": d["host"]["os"], "roles": d["host"]["roles"],
         "memory_mb": d["host"]["memory_mb"], "cpus": d["host"]["cpus"],
         "tcp_ephemeral_in_use": measured("tcp.ephemeral_in_use", True, tcp["ephemeral_in_use"]),
         "top_dest_addr": top["addr"] if top else None,
         "top_dest_port": top["port"] if top else None,
         "top_dest_count": top["count"] if top else None,
         "udp_endpoints": measured("udp.endpoints", True, udp.get("endpoints")),
         "udp_ephemeral_in_use": measured("udp.ephemeral_in_use", True,
                                          udp.get("ephemeral_in_use")),
         "unmeasured": um, "truncated": d["truncated"],
         "excluded": d.get("excluded") if "excluded" in d else None}
    for s in STATES:
        r["tcp_" + s] = measured("tcp.states." + s, True, tcp["states"].get(s, 0))
    for e in ("tcpip_4227", "tcpip_4231", "tcpip_4266", "netlogon_5719"):
        r["ev_" + e] = measured("events." + e, ev is not None, (ev or {}).get(e))
    r["vpn_connections"] = vpn["connections"] if vpn_ok else None
    for p in ("ikev2", "sstp", "l2tp", "pptp"):
        r["vpn_" + p] = vpn["by_protocol"][p] if vpn_ok else None
    r["vpn_distinct_clients"] = vpn["client_addresses"]["distinct"] if vpn_ok else None
    r["vpn_top_clients"] = vpn["client_addresses"]["top"] if vpn_ok else None
    r["vpn_ike_num_established_for_initial_query"] = (
        vpn["ike_num_established_for_initial_query"] if vpn_ok else None)
    for k in ("spool_depth", "spool_dropped", "spool_corrupt", "last_push_error"):
        r[k] = st[k] if st else None
    # sections the old tables never kept: stored as sent (fractions to
    # hundredths), whatever unmeasured says
    res, ses, vpn = d.get("resources") or {}, d.get("sessions") or {}, vpn or {}
    r["vpn_ports"] = vpn.get("ports")
    pool = vpn.get("address_pool") or {}
    r["vpn_pool_size"], r["vpn_pool_in_use"] = pool.get("size"), pool.get("in_use")
    r["cpu_pct"] = hundredths(res.get("cpu_pct"))
    r["cpu_pct_peak"] = hundredths(res.get("cpu_pct_peak"))
    r["memory_used_mb"] = res.get("memory_used_mb")
    r["sessions_source"] = ses.get("source")
    for k in ("tcp_active", "udp_active", "users"):
        r["sessions_" + k] = ses.get(k)
    r["sessions_requests_per_s"] = hundredths(ses.get("requests_per_s"))
    if old:
        r.update({k: None for k in SIZING_KEYS})
    return r


def hundredths(v):
    """What the decoder keeps of a fraction (half away from zero), as the
    view's numeric reads back in Python."""
    if v is None:
        return None
    import decimal
    q = decimal.Decimal(repr(v)).quantize(decimal.Decimal("0.01"), decimal.ROUND_HALF_UP)
    return float(q) if q != q.to_integral() else int(q)


def check(batch_path, dump, old_seq=0):
    snaps = json.load(open(batch_path))["snapshots"]
    rows = {r["seq"]: r for r in json.load(open(os.path.join(dump, "snapshots.json")))}
    procs, rems = {}, {}
    for r in json.load(open(os.path.join(dump, "processes.json"))):
        procs.setdefault(r["seq"], []).append(r)
    for r in json.load(open(os.path.join(dump, "remotes.json"))):
        rems.setdefault(r["seq"], []).append(r)
    bad = 0
    for d in snaps:
        got = rows.get(d["seq"])
        if got is None:
            print("seq %d: not stored" % d["seq"])
            bad += 1
            continue
        for k, v in expect_snapshot(d, d["seq"] <= old_seq).items():
            if got.get(k) != v:
                print("seq %d: %s = %r, posted %r" % (d["seq"], k, got.get(k), v))
                bad += 1
        ps = sorted(procs.get(d["seq"], []), key=lambda r: r["rank"])
        if len(ps) != len(d.get("processes", [])):
            print("seq %d: %d processes, posted %d" % (d["seq"], len(ps), len(d["processes"])))
            bad += 1
        for i, (p, g) in enumerate(zip(d.get("processes", []), ps)):
            tr = p.get("top_remote")
            want = {"rank": i, "pid": p["pid"], "name": p["name"], "service": p["service"],
                    "tcp_ports": p["tcp_ports"], "udp_ports": p["udp_ports"],
                    "top_remote_addr": tr["addr"] if tr else None,
                    "top_remote_port": tr["port"] if tr else None,
                    "top_remote_count": tr["count"] if tr else None}
            for s in STATES:
                want["st_" + s] = p["states"].get(s, 0)
            for k, v in want.items():
                if g.get(k) != v:
                    print("seq %d process %d: %s = %r, posted %r" % (d["seq"], i, k, g.get(k), v))
                    bad += 1
        rs = sorted(rems.get(d["seq"], []), key=lambda r: r["rank"])
        want_r = [{"addr": r["addr"], "port": r["port"], "count": r["count"]}
                  for r in d.get("remotes", [])]
        got_r = [{"addr": r["addr"], "port": r["port"], "count": r["count"]} for r in rs]
        if want_r != got_r:
            print("seq %d: remotes differ: %r vs %r" % (d["seq"], got_r[:3], want_r[:3]))
            bad += 1
    print("%d snapshots compared, %d differences" % (len(snaps), bad))
    return 1 if bad else 0


def main():
    if sys.argv[1] == "gen":
        print(json.dumps(gen(sys.argv[2], int(sys.argv[3]))))
        return 0
    if sys.argv[1] == "check":
        return check(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    return 2


if __name__ == "__main__":
    sys.exit(main())
