#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agent_delivery.sh BUILD_DIR [SECONDS] [INTERVAL]: the agent's own
# footprint while it delivers. In a private network namespace with a
# throwaway PostgreSQL and the real collector, `portfleet-agent run
# --interval INTERVAL` (default 1) runs SECONDS (default 60). Reported from
# /proc: CPU time, peak and current RSS, PSS and private memory, sockets it
# holds, context switches (wake-ups), snapshots delivered. The reference,
# measured in the same run: as many one-shot `portfleet-agent snapshot`
# runs as the agent took snapshots (CPU) and one run's peak RSS, so the
# ratios say what spooling, TLS and pushing add to taking the snapshots.
# Not a pass/fail test.
set -euo pipefail
BUILD=$(cd "${1:?usage: agent_delivery.sh BUILD_DIR [SECONDS] [INTERVAL]}" && pwd)
secs=${2:-60}
interval=${3:-1}
here=$(cd "$(dirname "$0")/../integration" && pwd)
export PF_COLLECTOR_BIN=${PF_COLLECTOR_BIN:-$BUILD/collector/portfleet-collector}
# shellcheck source=../integration/lib.sh
. "$here/lib.sh"
# shellcheck source=../integration/agent_lib.sh
. "$here/agent_lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
trap pfa_cleanup EXIT
pf_make_certs
pf_pg_init
pf_migrate
port=$(pf_free_port)
pfa_collector_on "$port"
state=$PF_TMP/state
pfa_agent_start agent --collector "https://127.0.0.1:$port" --enroll-secret "$PF_ENROLL_SECRET" \
  --ca-file "$PF_CA" --state-dir "$state" --interval "$interval"
sleep "$secs"
pid=$PFA_AGENT
tck=$(getconf CLK_TCK)
read -r ut st < <(awk '{print $14, $15}' "/proc/$pid/stat")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
vcs=$(awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$pid/status")
# RSS counts shared library pages (libcurl, OpenSSL, libc); PSS shares them
# out, Private_* is this process's own memory
pss=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup")
priv=$(awk '/^Private_(Clean|Dirty):/ {s += $2} END {print s}' "/proc/$pid/smaps_rollup")
socks=$(find "/proc/$pid/fd" -lname 'socket:*' 2>/dev/null | wc -l)
tcp=$(ss -tnp 2>/dev/null | grep -c "pid=$pid," || true)
delivered=$(pfa_status "$state" delivered)
conns=$(pfa_status "$state" connections)
pfa_agent_stop
[ -n "${PFB_SHOW_LOG:-}" ] && tail -n 20 "$PF_TMP/agent.log" >&2

ref=$(python3 - "$BUILD/agent/portfleet-agent" "$(( (secs + interval - 1) / interval ))" <<'EOF'
import resource, subprocess, sys
n = int(sys.argv[2])
for _ in range(n):
    subprocess.run([sys.argv[1], "snapshot"], stdout=subprocess.DEVNULL, check=True)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.3f" % (ru.ru_utime + ru.ru_stime))
EOF
)
ref_rss=$("$BUILD/tests/runstat" "$BUILD/agent/portfleet-agent" snapshot | awk '{print $2}')
python3 - "$secs" "$interval" "$ut" "$st" "$tck" "$hwm" "$rss" "$vcs" "$socks" "$tcp" "$delivered" "$conns" \
  "$ref" "$ref_rss" "$pss" "$priv" <<'EOF'
import sys
secs, interval = int(sys.argv[1]), int(sys.argv[2])
del sys.argv[2]
ut, st, tck = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
hwm, rss, vcs, socks, tcp, delivered, conns = (int(x) for x in sys.argv[5:12])
ref_cpu, ref_rss = float(sys.argv[12]), int(sys.argv[13])
pss, priv = int(sys.argv[14]), int(sys.argv[15])
nref = (secs + interval - 1) // interval
cpu = (ut + st) / tck
print("agent run, interval %d s, %d s: CPU %.2f s (%.2f %% of one core), peak RSS %d KiB, RSS %d KiB, "
      "PSS %d KiB, private %d KiB" % (interval, secs, cpu, 100 * cpu / secs, hwm, rss, pss, priv))
print("  sockets held %d (TCP %d), TCP connections opened %d, snapshots delivered %d, "
      "voluntary wake-ups %d (%.1f per second)" % (socks, tcp, conns, delivered, vcs, vcs / secs))
print("reference, same run: %d x `portfleet-agent snapshot`: CPU %.2f s; one run's peak RSS %d KiB"
      % (nref, ref_cpu, ref_rss))
print("ratio run/snapshots: CPU %.2f, peak RSS %.2f" % (cpu / ref_cpu if ref_cpu else float("nan"),
                                                        hwm / ref_rss if ref_rss else float("nan")))
EOF
