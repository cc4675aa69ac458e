#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agent_exactness.sh BUILD_DIR: in a private network namespace with a small
# port range (20000-24999, 21000-21009 reserved), sockhold opens thousands
# of listening, established, bound-only, TIME_WAIT and UDP sockets over
# several processes and both families; `portfleet-agent snapshot` must
# report every count exactly as check_exact.py recomputes it from the truth.
set -euo pipefail
build=$(cd "${1:?usage: agent_exactness.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${PF_IN_NETNS:-}" ]; then
  exec env PF_IN_NETNS=1 unshare -n -- "$0" "$@"
fi
ip link set lo up
echo "20000 24999" > /proc/sys/net/ipv4/ip_local_port_range
echo "21000-21009" > /proc/sys/net/ipv4/ip_local_reserved_ports
echo 0 > /proc/sys/net/ipv4/tcp_tw_reuse  # keep every TIME_WAIT we make

tmp=$(mktemp -d)
holder=
cleanup() {
  [ -n "$holder" ] && kill "$holder" 2>/dev/null && wait "$holder" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

"$build/tests/sockhold" --out "$tmp/truth.json" --listen-base 15000 --listeners 5 \
  --client est=1200,to=0 \
  --client est=600,to=1,bound=400,udp=300 \
  --client est=300,to=2,bound=100,udp=100,fam=6 \
  --client est=200,tw=700,to=3 \
  --client est=50,tw=300,to=1,fam=6 \
  --client bound=25 &
holder=$!
for _ in $(seq 1 600); do
  [ -f "$tmp/truth.json" ] && break
  kill -0 "$holder" 2>/dev/null || { echo "sockhold died" >&2; exit 1; }
  sleep 0.1
done
[ -f "$tmp/truth.json" ] || { echo "sockhold did not get ready" >&2; exit 1; }

"$build/agent/portfleet-agent" snapshot --pretty > "$tmp/snap.json"
python3 "$here/check_exact.py" "$tmp/truth.json" "$tmp/snap.json" 20000 24999 21000 21009

# The kernel of this machine dumps bound-only sockets from 6.8 on: the
# snapshot must say so either way, never report an unmeasured zero.
python3 - "$tmp/snap.json" <<'PY'
import json, os, sys
snap = json.load(open(sys.argv[1]))
major, minor = (int(x) for x in os.uname().release.split(".")[:2])
listed = "tcp.states.bound" in snap["unmeasured"]
if listed == ((major, minor) >= (6, 8)):
    sys.exit(f"unmeasured is {snap['unmeasured']} on kernel {major}.{minor}")
print("unmeasured ok:", snap["unmeasured"])
PY
