#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check_exact.py TRUTH.json SNAPSHOT.json RANGE_LO RANGE_HI [RESERVED_LO RESERVED_HI]

Recomputes, independently of the agent's C code, every count the snapshot
makes from the ground truth written by sockhold (each socket with owner,
state, ports, remote), following docs/protocol.md section 2, and compares them
one by one. Prints each comparison; exits 1 on the first mismatch set."""
import json
import ipaddress
import sys
from collections import Counter, defaultdict

STATES = ["listen", "syn_sent", "syn_received", "established", "fin_wait_1",
          "fin_wait_2", "close_wait", "closing", "last_ack", "time_wait", "bound"]

truth = json.load(open(sys.argv[1]))
snap = json.load(open(sys.argv[2]))
lo, hi = int(sys.argv[3]), int(sys.argv[4])
res = (int(sys.argv[5]), int(sys.argv[6])) if len(sys.argv) > 6 else None
socks = truth["sockets"]
failures = []
checks = 0


def check(what, got, want):
    global checks
    checks += 1
    if got != want:
        failures.append(f"{what}: agent says {got!r}, truth is {want!r}")


def in_range(p):
    return lo <= p <= hi


def has_remote(s):
    return s["proto"] == "tcp" and s["state"] not in ("listen", "bound") and s["rport"] != 0


def rank_key(addr, port, count):
    # count desc, then port asc, then IPv4 before IPv6, then address (aggregate.h)
    ip = ipaddress.ip_address(addr)
    return (-count, port, ip.version, ip.packed)


def norm(addr):
    return str(ipaddress.ip_address(addr))


tcp = [s for s in socks if s["proto"] == "tcp"]
udp = [s for s in socks if s["proto"] == "udp"]

# host totals
want_states = Counter(s["state"] for s in tcp)
for st in STATES:
    check(f"tcp.states.{st}", snap["tcp"]["states"][st], want_states.get(st, 0))
check("tcp.ephemeral_in_use", snap["tcp"]["ephemeral_in_use"],
      len({s["lport"] for s in tcp if in_range(s["lport"])}))
check("udp.endpoints", snap["udp"]["endpoints"], len(udp))
check("udp.ephemeral_in_use", snap["udp"]["ephemeral_in_use"],
      len({s["lport"] for s in udp if in_range(s["lport"])}))

# remotes and top destination
groups = Counter((norm(s["raddr"]), s["rport"]) for s in tcp if has_remote(s))
ranked = sorted(groups.items(), key=lambda kv: rank_key(kv[0][0], kv[0][1], kv[1]))
want_remotes = [{"addr": a, "port": p, "count": c} for (a, p), c in ranked[:50]]
got_remotes = [{"addr": r["addr"], "port": r["port"], "count": r["count"]}
               for r in snap.get("remotes", [])]
check("remotes", got_remotes, want_remotes)
if ranked:
    (a, p), c = ranked[0]
    td = snap["tcp"].get("top_destination")
    check("tcp.top_destination", (td["addr"], td["port"], td["count"]) if td else None, (a, p, c))

# processes
byproc = defaultdict(list)
for s in socks:
    if s["pid"]:
        byproc[s["pid"]].append(s)
got_procs = {p["pid"]: p for p in snap.get("processes", [])}
check("processes (pids)", sorted(got_procs), sorted(byproc))
for pid, ss in sorted(byproc.items()):
    p = got_procs.get(pid)
    if p is None:
        continue
    check(f"processes[{pid}].tcp_ports", p["tcp_ports"],
          len({s["lport"] for s in ss if s["proto"] == "tcp" and in_range(s["lport"])}))
    check(f"processes[{pid}].udp_ports", p["udp_ports"],
          len({s["lport"] for s in ss if s["proto"] == "udp" and in_range(s["lport"])}))
    st = Counter(s["state"] for s in ss if s["proto"] == "tcp")
    for name in STATES:
        check(f"processes[{pid}].states.{name}", p["states"].get(name, 0), st.get(name, 0))
    g = Counter((norm(s["raddr"]), s["rport"]) for s in ss if has_remote(s))
    if g:
        (a, port), c = sorted(g.items(), key=lambda kv: rank_key(kv[0][0], kv[0][1], kv[1]))[0]
        tr = p.get("top_remote")
        check(f"processes[{pid}].top_remote",
              (tr["addr"], tr["port"], tr["count"]) if tr else None, (a, port, c))
    else:
        check(f"processes[{pid}].top_remote", p.get("top_remote"), None)
# ranking: by tcp_ports + udp_ports, then sockets, then pid
order = [p["pid"] for p in snap.get("processes", [])]
keys = {pid: (-(len({s["lport"] for s in ss if s["proto"] == "tcp" and in_range(s["lport"])})
                + len({s["lport"] for s in ss if s["proto"] == "udp" and in_range(s["lport"])})),
              -len(ss), pid) for pid, ss in byproc.items()}
check("processes order", order, sorted(byproc, key=lambda pid: keys[pid]))

# ranges and reserved ports
for r in snap["ranges"]:
    check(f"ranges {r['proto']}/{r['family']}", (r["start"], r["count"]), (lo, hi - lo + 1))
check("ranges count", len(snap["ranges"]), 4)
if res:
    ex = sorted((e["proto"], e["family"], e["start"], e["count"]) for e in snap.get("excluded", []))
    want = sorted((p, f, res[0], res[1] - res[0] + 1) for p in ("tcp", "udp") for f in ("ipv4", "ipv6"))
    check("excluded", ex, want)
    check("no socket on a reserved port",
          [s["lport"] for s in socks if res[0] <= s["lport"] <= res[1]], [])

check("truncated", snap["truncated"], len(byproc) > 50 or len(groups) > 50)

print(f"check_exact: {checks} comparisons over {len(socks)} sockets "
      f"({len(tcp)} TCP, {len(udp)} UDP) in {len(byproc)} processes")
for f in failures:
    print("MISMATCH", f)
print(f"{checks - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
