#!/bin/bash
# SPDX-License-Identifier: MIT
# package_systemd_guest.sh: the part of package_systemd.sh that runs inside
# the Debian 12 VM, where systemd is PID 1. The image's pf-payload.service
# mounts the payload disk on /pf and runs this script from it; the VM
# powers off afterwards. It does what README.md says for a packaged install
# ("Collector on a server", "Deploying the agent with an RMM tool") with a
# real systemctl, and writes one line per check to /dev/ttyS1, which the
# host reads from a file:
#   PASS <id>: <what, with figures>     FAIL <id>: <what, why>
#   INFO <text>                         LOG <journal line of a failed unit>
#   DONE <passed> <failed>
# There is no network but loopback: the packages it needs are in the image.
set -u
exec 3>/dev/ttyS1
stty -F /dev/ttyS1 raw -echo 2>/dev/null || true
export LC_ALL=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
pf=/pf
agent_deb=$(cat "$pf/agent_deb")
coll_deb=$(cat "$pf/collector_deb")
npass=0 nfail=0
out=/run/pf-check.out

say() { printf '%s\n' "$*" >&3; printf '%s\n' "$*"; }
pass() { npass=$((npass + 1)); say "PASS $1: $2"; }
fail() { nfail=$((nfail + 1)); say "FAIL $1: $2"; }
# check ID WHAT CMD...: runs CMD; its last output lines go with a failure.
check() {
  local id=$1 what=$2
  shift 2
  if "$@" >"$out" 2>&1; then
    pass "$id" "$what"
  else
    fail "$id" "$what (exit $?: $(tail -n 4 "$out" | tr '\n' ' '))"
    return 1
  fi
}
journal() { # journal UNIT [LINES]: the unit's last journal lines, for a failure
  journalctl -b --no-pager -o short-monotonic -n "${2:-15}" -u "$1" 2>&1 | while IFS= read -r l; do say "LOG $l"; done
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { # milliseconds since $1, as seconds with one decimal
  local d=$(($(now_ms) - $1))
  printf '%d.%d' $((d / 1000)) $((d % 1000 / 100))
}
# wait_for SECONDS CMD...: polls CMD every 0.3 s (psql and status are not
# cheap under TCG: polling faster slows the services being waited for)
wait_for() {
  local end=$(($(now_ms) + $1 * 1000))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$(now_ms)" -lt $end ] || return 1
    sleep 0.3
  done
}
active() { [ "$(systemctl is-active "$1")" = active ]; }
# Active and never restarted since started: "active" alone is also what a
# Type=simple service whose program cannot even be executed shows between
# two of its restarts.
steady() { active "$1" && [ "$(systemctl show -p NRestarts --value "$1")" = 0 ]; }
both_steady() { steady portfleet-agent && steady portfleet-collector; }
restarts() { echo "$(systemctl is-active "$1"), restarted $(systemctl show -p NRestarts --value "$1") times"; }
main_user() { ps -o user= -p "$(systemctl show -p MainPID --value "$1")" 2>/dev/null | tr -d ' '; }
db() { runuser -u postgres -- psql -X -At -d portfleet -c "$1" 2>/dev/null; }
snapshot_rows() { db "select count(*) from snapshots s join agents a using (agent_id) where a.site = 'nyc'"; }
readyz() {
  [ "$(curl -sS --cacert /etc/portfleet/ca.pem -o /dev/null -w '%{http_code}' \
    https://collector.example.net:8443/readyz)" = 200 ]
}
portfleet_procs() { ps -eo comm= | grep -c '^portfleet' || true; }

# ---- the machine ----
state=$(systemctl is-system-running --wait 2>&1)
say "INFO boot: $(systemd-analyze 2>/dev/null | head -n 1); system $state;" \
  "virtualization $(systemd-detect-virt 2>&1); kernel $(uname -r); $(systemctl --version | head -n 1)"
say "INFO slowest units at boot: $(systemd-analyze blame 2>/dev/null | head -n 4 | xargs)"
failed_units=$(systemctl --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')
[ -z "$failed_units" ] || say "INFO failed units at boot: $failed_units"
check pid1_systemd "PID 1 is systemd ($(ps -p 1 -o comm=))" test "$(ps -p 1 -o comm=)" = systemd

# ---- Collector on a server (README), dpkg -i ----
cd "$pf" || exit 1
check collector_dpkg_i "dpkg -i $coll_deb" dpkg -i "$coll_deb"
check collector_user "postinst made the system user portfleet" \
  sh -c 'getent passwd portfleet | grep -q ":/usr/sbin/nologin$"'
check collector_unconfigured "unconfigured: neither enabled nor started" \
  sh -c '! systemctl is-enabled --quiet portfleet-collector && ! systemctl is-active --quiet portfleet-collector'
# README: apt-get install -y postgresql (already in the image: apt has
# nothing to fetch, which it must manage without network).
check postgresql_installed "apt-get install -y postgresql (in the image already)" \
  env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
check createuser "runuser -u postgres -- createuser portfleet" runuser -u postgres -- createuser portfleet
check createdb "runuser -u postgres -- createdb -O portfleet portfleet" \
  runuser -u postgres -- createdb -O portfleet portfleet

# The README's openssl lines, verbatim, in /etc/portfleet.
certs() ( # a subshell: the cd stays in it
  cd /etc/portfleet &&
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 3650 \
      -subj "/CN=portfleet CA" -keyout ca.key -out ca.pem &&
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
      -subj "/CN=collector.example.net" -keyout collector.key -out collector.csr &&
    printf 'subjectAltName=DNS:collector.example.net\nextendedKeyUsage=serverAuth\n' >collector.ext &&
    openssl x509 -req -in collector.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
      -extfile collector.ext -out collector.pem &&
    chgrp portfleet collector.key && chmod 640 collector.key
)
check certs "CA and collector certificate made with README's openssl lines" certs
# The agents reach the collector by the certificate's name; DNS has it on
# a real network, /etc/hosts here.
echo "127.0.0.1 collector.example.net" >>/etc/hosts
enroll_secret=$(openssl rand -hex 24)
admin_token=$(openssl rand -hex 24)
cat >>/etc/portfleet/collector.conf <<EOF
cert = /etc/portfleet/collector.pem
key = /etc/portfleet/collector.key
db = postgresql:///portfleet
enroll-secret = $enroll_secret
admin-token = $admin_token
EOF
check collector_conf_mode "collector.conf root:portfleet 0640 ($(stat -c '%U:%G %a' /etc/portfleet/collector.conf))" \
  test "$(stat -c '%U:%G %a' /etc/portfleet/collector.conf)" = "root:portfleet 640"
check migrate "runuser -u portfleet -- portfleet-collector migrate" \
  runuser -u portfleet -- portfleet-collector migrate

t0=$(now_ms)
check collector_enable_now "systemctl enable --now portfleet-collector" \
  systemctl enable --now portfleet-collector
if wait_for 30 active portfleet-collector; then
  pass collector_active "systemctl is-active portfleet-collector: active $(secs "$t0") s after systemctl enable --now"
else
  fail collector_active "portfleet-collector not active after 30 s: $(systemctl is-active portfleet-collector)"
  journal portfleet-collector
fi
if wait_for 30 readyz; then
  pass collector_readyz "https://collector.example.net:8443/readyz answers 200 over TLS (verified against ca.pem) $(secs "$t0") s after start"
else
  fail collector_readyz "no 200 from /readyz within 30 s"
  journal portfleet-collector
fi
check collector_steady "portfleet-collector $(restarts portfleet-collector)" steady portfleet-collector
check collector_user_runs "the service runs as $(main_user portfleet-collector)" \
  test "$(main_user portfleet-collector)" = portfleet
check collector_enabled "enabled for boot" systemctl is-enabled --quiet portfleet-collector
check collector_report "runuser -u portfleet -- portfleet-collector report --db postgresql:///portfleet --format text" \
  runuser -u portfleet -- portfleet-collector report --db postgresql:///portfleet --format text

# ---- the agent (README "Linux, with the .deb") ----
check agent_dpkg_i "dpkg -i $agent_deb" dpkg -i "$agent_deb"
check agent_unconfigured "unconfigured: not started" sh -c '! systemctl is-active --quiet portfleet-agent'
# README's command with --interval 10 added: with the default 60 s the
# first snapshot, and with it the enrollment, may be a minute away (twice:
# after the dpkg -i again too).
SECRET=$enroll_secret
t0=$(now_ms)
check agent_install "portfleet-agent install --collector https://collector.example.net:8443 --enroll-secret \"\$SECRET\" --site nyc --ca-file /etc/portfleet/ca.pem --interval 10" \
  portfleet-agent install --collector https://collector.example.net:8443 \
  --enroll-secret "$SECRET" --site nyc --ca-file /etc/portfleet/ca.pem --interval 10
if wait_for 30 active portfleet-agent; then
  pass agent_active "systemctl is-active portfleet-agent: active $(secs "$t0") s after portfleet-agent install"
else
  fail agent_active "portfleet-agent not active after 30 s: $(systemctl is-active portfleet-agent)"
  journal portfleet-agent
fi
# The agent enrolls with its first push: its first snapshot comes a random
# part of the interval after it starts.
if wait_for 60 sh -c 'portfleet-agent status | grep -q "^enrolled *yes"'; then
  pass agent_enrolled "portfleet-agent status: enrolled $(secs "$t0") s after install"
else
  fail agent_enrolled "not enrolled after 60 s: $(portfleet-agent status 2>&1 | tr '\n' ' ')"
  journal portfleet-agent
fi
if wait_for 60 sh -c '[ "$(runuser -u postgres -- psql -X -At -d portfleet -c "select count(*) from snapshots s join agents a using (agent_id) where a.site = '"'nyc'"'")" -gt 0 ]'; then
  pass agent_snapshots "snapshot rows in the database: $(snapshot_rows), first $(secs "$t0") s after install"
else
  fail agent_snapshots "no snapshot of site nyc in the database 60 s after enrollment ($(snapshot_rows))"
  journal portfleet-agent
fi
check agent_steady "portfleet-agent $(restarts portfleet-agent)" steady portfleet-agent
procs=$(db "select count(*) from snapshot_processes p join agents a using (agent_id)
            where a.site = 'nyc' and p.name = 'portfleet-collector'")
check agent_capabilities "the agent (dynamic user $(main_user portfleet-agent)) ties the collector's sockets (user portfleet) to it: $procs rows" \
  test "${procs:-0}" -ge 1
check agent_not_root "the agent runs unprivileged ($(main_user portfleet-agent))" \
  sh -c '[ -n "$1" ] && [ "$1" != root ]' - "$(main_user portfleet-agent)"
pid=$(systemctl show -p MainPID --value portfleet-agent)
check agent_install_again "portfleet-agent install again: exit 0, still active" \
  sh -c 'portfleet-agent install --collector https://collector.example.net:8443 \
    --enroll-secret "$1" --site nyc --ca-file /etc/portfleet/ca.pem --interval 10 &&
    systemctl is-active --quiet portfleet-agent' - "$SECRET"
say "INFO agent MainPID before/after the second install: $pid/$(systemctl show -p MainPID --value portfleet-agent)"

# ---- systemctl stop, dpkg -r ----
t0=$(now_ms)
check stop "systemctl stop portfleet-agent portfleet-collector" \
  systemctl stop portfleet-agent portfleet-collector
check stopped "both inactive $(secs "$t0") s after systemctl stop" \
  sh -c '! systemctl is-active --quiet portfleet-agent && ! systemctl is-active --quiet portfleet-collector'
gone() {
  local f ok=0
  for f in /usr/bin/portfleet-agent /usr/bin/portfleet-collector \
    /usr/lib/systemd/system/portfleet-agent.service /usr/lib/systemd/system/portfleet-collector.service \
    /etc/systemd/system/portfleet-agent.service \
    /etc/systemd/system/multi-user.target.wants/portfleet-agent.service \
    /etc/systemd/system/multi-user.target.wants/portfleet-collector.service; do
    [ ! -e "$f" ] || { echo "left: $f"; ok=1; }
  done
  for u in portfleet-agent portfleet-collector; do
    [ "$(systemctl show -p LoadState --value $u)" = not-found ] ||
      { echo "$u: LoadState $(systemctl show -p LoadState --value $u)"; ok=1; }
  done
  [ "$(portfleet_procs)" = 0 ] || { echo "processes: $(ps -eo pid=,comm= | grep ' portfleet')"; ok=1; }
  return $ok
}
check dpkg_r "dpkg -r portfleet-agent portfleet-collector" dpkg -r portfleet-agent portfleet-collector
check removed "programs, units, enablement links gone; systemd knows neither unit; no portfleet process" gone
check conffiles_kept "dpkg -r keeps the config files" \
  test -s /etc/portfleet/collector.conf -a -s /etc/portfleet/agent.conf

# ---- once more: configured packages start on dpkg -i, and dpkg -r stops them ----
t0=$(now_ms)
check dpkg_i_configured "dpkg -i both again with their configuration in place" \
  dpkg -i "$agent_deb" "$coll_deb"
if wait_for 30 sh -c 'systemctl is-active --quiet portfleet-agent && systemctl is-active --quiet portfleet-collector'; then
  pass postinst_starts "postinst enabled and started both: active $(secs "$t0") s after dpkg -i"
else
  fail postinst_starts "after dpkg -i: agent $(systemctl is-active portfleet-agent), collector $(systemctl is-active portfleet-collector)"
fi
rows0=$(snapshot_rows)
wait_for 60 sh -c '[ "$(runuser -u postgres -- psql -X -At -d portfleet -c "select count(*) from snapshots s join agents a using (agent_id) where a.site = '"'nyc'"'")" -gt '"${rows0:-0}"' ]'
check pushes_again "the restarted agent pushes again (snapshot rows $rows0 -> $(snapshot_rows))" \
  test "$(snapshot_rows)" -gt "${rows0:-0}"
check postinst_steady "portfleet-agent $(restarts portfleet-agent); portfleet-collector $(restarts portfleet-collector)" \
  both_steady
check dpkg_r_running "dpkg -r with both services running" dpkg -r portfleet-agent portfleet-collector
check removed_running "prerm stopped them: nothing left running or installed" gone
check dpkg_p "dpkg -P portfleet-agent portfleet-collector" dpkg -P portfleet-agent portfleet-collector
check purged "dpkg -P removes the config files and the agent's state (the admin's certificates stay)" \
  sh -c '[ ! -e /etc/portfleet/collector.conf ] && [ ! -e /etc/portfleet/agent.conf ] &&
    [ ! -e /var/lib/private/portfleet ] && [ ! -e /var/lib/portfleet ]'

if [ -e "$pf/debug" ]; then
  journal portfleet-collector 40
  journal portfleet-agent 40
fi
say "DONE $npass $nfail"
