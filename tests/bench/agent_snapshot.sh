#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agent_snapshot.sh BUILD_DIR [CONNECTIONS] [RUNS]: benchmark of one
# `portfleet-agent snapshot` on a host holding CONNECTIONS loopback TCP
# connections (default 25,000: 50,000 sockets, both ends) over several
# processes, in a private network namespace. In the same run it times
# `ss -tanp` (what an admin would run) and ref_dump (netlink dump + /proc fd
# scan and nothing else: the floor), and prints medians, the agent's ratio
# to each, and the agent's peak RSS. Not a pass/fail test.
set -euo pipefail
build=$(cd "${1:?usage: agent_snapshot.sh BUILD_DIR [CONNECTIONS] [RUNS]}" && pwd)
conns=${2:-25000}
runs=${3:-15}
if [ -z "${PF_IN_NETNS:-}" ]; then
  exec env PF_IN_NETNS=1 unshare -n -- "$0" "$@"
fi
ip link set lo up
echo "10000 60999" > /proc/sys/net/ipv4/ip_local_port_range
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"

tmp=$(mktemp -d)
holder=
cleanup() {
  [ -n "$holder" ] && kill "$holder" 2>/dev/null && wait "$holder" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

per=$((conns / 5))
"$build/tests/sockhold" --out "$tmp/truth.json" --listen-base 5000 --listeners 5 \
  --client est=$per --client est=$per --client est=$per --client est=$per \
  --client est=$((conns - 4 * per)) &
holder=$!
for _ in $(seq 1 1200); do
  [ -f "$tmp/truth.json" ] && break
  kill -0 "$holder" 2>/dev/null || { echo "sockhold died" >&2; exit 1; }
  sleep 0.1
done
[ -f "$tmp/truth.json" ] || { echo "sockhold did not get ready" >&2; exit 1; }

python3 - "$build" "$runs" <<'PY'
import statistics, subprocess, sys
build, runs = sys.argv[1], int(sys.argv[2])
cmds = {
    "agent": [f"{build}/agent/portfleet-agent", "snapshot"],
    "ss -tanp": ["ss", "-tanp"],
    "ref_dump": [f"{build}/tests/ref_dump"],
}
runstat = f"{build}/tests/runstat"
times = {k: [] for k in cmds}
rss = {k: 0 for k in cmds}


def run(c):
    p = subprocess.run([runstat] + c, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{c[0]} failed: {p.stderr}")
    ns, kb = (int(x) for x in p.stdout.split())
    return ns / 1e9, kb


for _ in range(2):  # warm the caches once
    for c in cmds.values():
        run(c)
for _ in range(runs):  # interleaved, so drift hits all three alike
    for k, c in cmds.items():
        t, kb = run(c)
        times[k].append(t)
        rss[k] = max(rss[k], kb)
out = subprocess.run(cmds["ref_dump"], capture_output=True, text=True).stdout.strip()
print(f"host: {out}")
med = {k: statistics.median(v) * 1000 for k, v in times.items()}
for k in cmds:
    print(f"{k:10s} median {med[k]:8.1f} ms  min {min(times[k])*1000:8.1f} ms  "
          f"peak RSS {rss[k]/1024:6.1f} MB")
print(f"ratio agent / ss -tanp : {med['agent'] / med['ss -tanp']:.3f}  (target <= 0.25)")
print(f"ratio agent / ref_dump : {med['agent'] / med['ref_dump']:.3f}  (target <= 1.25)")
print(f"agent peak RSS         : {rss['agent']/1024:.1f} MB  (target <= 10 MB)")
PY
