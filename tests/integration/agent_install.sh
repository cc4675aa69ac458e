#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agent_install.sh BUILD_DIR: `portfleet-agent install` / `uninstall` on
# Linux, into a staging root (PORTFLEET_INSTALL_ROOT): systemd is not PID 1
# on the CI machines, so the service cannot be started here; what can be
# checked is checked:
#  - the unit written is deploy/portfleet-agent.service with the program
#    directory, state directory and config path filled in, and
#    `systemd-analyze verify` has nothing to say about it (its exposure
#    score from `systemd-analyze security --offline` is printed);
#  - the config file holds the effective options, is root-only, and the
#    agent reads it back;
#  - install twice gives byte-identical files; bad options exit 2;
#  - uninstall removes unit and config, keeps the state unless --purge;
#  - the two capabilities of the unit are enough, and needed, to see the
#    sockets of another user's process (setpriv as nobody).
set -euo pipefail
BUILD=$(cd "${1:?usage: agent_install.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
agent=$BUILD/agent/portfleet-agent
root=$PF_TMP/root
conf=/etc/portfleet-test-$$/agent.conf
unit=$root/etc/systemd/system/portfleet-agent.service
export PORTFLEET_INSTALL_ROOT=$root

"$agent" install --collector https://collector.example:8443 --collector https://10.0.0.2:8443 \
  --enroll-secret 'se#cret with spaces' --site nyc --interval 30 --config "$conf" \
  >"$PF_TMP/install1.out"
cat "$PF_TMP/install1.out"
pf_check '[ -f "$unit" ] && [ -f "$root$conf" ]' "install did not write the unit and the config"
sum1=$(cat "$unit" "$root$conf" | sha256sum)

# the unit is the template, filled in
sed -e "s|@BINDIR@|$(dirname "$agent")|g" -e 's|@STATE@|portfleet|g' -e "s|@CONFIG@|$conf|g" \
  "$src/deploy/portfleet-agent.service" >"$PF_TMP/expected.service"
pf_check 'cmp -s "$unit" "$PF_TMP/expected.service"' "the unit differs from deploy/portfleet-agent.service"
for key in DynamicUser=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes \
  'CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_SYS_PTRACE' StateDirectory=portfleet; do
  pf_check 'grep -qx "$key" "$unit"' "unit lacks $key"
done
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$unit" >"$PF_TMP/verify.out" 2>&1 || true
  pf_check '[ ! -s "$PF_TMP/verify.out" ]' "systemd-analyze verify: $(cat "$PF_TMP/verify.out")"
  echo "systemd-analyze verify: no complaints"
  systemd-analyze security --offline=yes "$unit" 2>/dev/null | grep 'Overall exposure' || true
else
  echo "systemd-analyze not installed: unit not verified"
fi

# the config: effective options, root-only, readable by the agent
pf_check '[ "$(stat -c %a "$root$conf")" = 600 ]' "config file is not 0600"
pf_check 'grep -qx "collector = https://10.0.0.2:8443" "$root$conf"' "second collector missing"
pf_check 'grep -qx "enroll-secret = se#cret with spaces" "$root$conf"' "secret not kept verbatim"
pf_check 'grep -qx "interval = 30" "$root$conf"' "interval not kept"
"$agent" status --config "$root$conf" --state-dir "$PF_TMP/state" >"$PF_TMP/status.out" ||
  pf_fail "the agent cannot read the config install wrote"

# idempotent
"$agent" install --collector https://collector.example:8443 --collector https://10.0.0.2:8443 \
  --enroll-secret 'se#cret with spaces' --site nyc --interval 30 --config "$conf" \
  >"$PF_TMP/install2.out"
pf_check '[ "$(cat "$unit" "$root$conf" | sha256sum)" = "$sum1" ]' "second install changed the files"
pf_check 'grep -q unchanged "$PF_TMP/install2.out"' "second install did not notice nothing changed"

# bad options: exit 2, nothing written
rc=0; "$agent" install --collector http://collector:8443 --config "$conf" 2>"$PF_TMP/bad.err" || rc=$?
pf_check '[ $rc -eq 2 ] && grep -q https "$PF_TMP/bad.err"' "http:// collector not refused with exit 2"
rc=0; "$agent" install --collector https://c:1 --state-dir /opt/pf --config "$conf" 2>"$PF_TMP/bad.err" || rc=$?
pf_check '[ $rc -eq 2 ] && grep -q state-dir "$PF_TMP/bad.err"' "state dir outside /var/lib not refused"
rc=0; "$agent" install --config "$conf" 2>"$PF_TMP/bad.err" || rc=$?
pf_check '[ $rc -eq 2 ] && grep -q collector "$PF_TMP/bad.err"' "missing --collector not refused"

# uninstall: keeps the state, --purge removes it (DynamicUser's private dir too)
mkdir -p "$root/var/lib/private/portfleet/spool"
ln -s private/portfleet "$root/var/lib/portfleet"
"$agent" uninstall --state-dir /var/lib/portfleet
pf_check '[ ! -e "$unit" ] && [ ! -e "$root$conf" ]' "uninstall left the unit or the config"
pf_check '[ -d "$root/var/lib/private/portfleet/spool" ]' "uninstall without --purge removed the state"
"$agent" uninstall --state-dir /var/lib/portfleet --purge
pf_check '[ ! -e "$root/var/lib/private/portfleet" ] && [ ! -L "$root/var/lib/portfleet" ]' \
  "uninstall --purge left the state directory"
"$agent" uninstall >/dev/null || pf_fail "uninstall of nothing is an error"

# the capabilities of the unit: enough, and both needed
if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
  # the holder says when it listens: a fixed sleep loses the race on a busy machine
  exec 9< <(python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen()
print("listening", flush=True); time.sleep(30)')
  holder=$!
  read -r -t 20 ready <&9 || true
  pf_check '[ "${ready:-}" = listening ]' "the socket holder did not start"
  owners() {
    "$@" "$agent" snapshot | python3 -c 'import json,sys; d=json.load(sys.stdin)
print(sum(p["tcp_ports"] for p in d.get("processes", [])), "unmeasured" if "processes" in d["unmeasured"] else "")'
  }
  as_nobody="setpriv --reuid=nobody --regid=nogroup --clear-groups"
  both=$(owners $as_nobody --inh-caps=+dac_read_search,+sys_ptrace \
    --ambient-caps=+dac_read_search,+sys_ptrace --bounding-set=-all,+dac_read_search,+sys_ptrace)
  dac=$(owners $as_nobody --inh-caps=+dac_read_search --ambient-caps=+dac_read_search \
    --bounding-set=-all,+dac_read_search)
  ptrace=$(owners $as_nobody --inh-caps=+sys_ptrace --ambient-caps=+sys_ptrace \
    --bounding-set=-all,+sys_ptrace)
  kill "$holder" 2>/dev/null; exec 9<&-
  echo "root's listening socket seen by nobody with both capabilities: '$both'; DAC_READ_SEARCH only: '$dac'; SYS_PTRACE only: '$ptrace'"
  pf_check '[ "$both" = "1 " ]' "the unit's two capabilities do not reveal another user's socket owner"
  pf_check '[ "$dac" != "1 " ] && [ "$ptrace" != "1 " ]' "one capability alone was enough: drop the other"
fi
echo "agent_install: passed (staged; systemd not running here, so the unit was not started)"
