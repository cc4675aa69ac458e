#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# package_deb.sh: the two .deb packages of cmake/Packaging.cmake, built,
# installed with dpkg -i on this machine, their services started the way
# their units say, then removed. What is checked:
#  - `cmake --install` to a prefix puts programs, sql/, units (ExecStart in
#    that prefix) and the commented config files there;
#  - cpack builds portfleet-agent and portfleet-collector .debs with the
#    programs, sql/, the units, the config files as conffiles and the
#    maintainer scripts; the config files hold comments only (no secret);
#  - dpkg -i: the collector's postinst creates the system user portfleet
#    and makes collector.conf root:portfleet 0640, agent.conf is 0600; an
#    unconfigured service is neither enabled nor started;
#  - `systemd-analyze verify` has nothing to say about the installed units;
#  - README.md's `portfleet-agent install ...` after dpkg -i writes the
#    packaged unit byte for byte and the options (exit 1: no systemd here),
#    `status` reads them, `uninstall` removes them;
#  - the collector is set up as README.md says (createuser, createdb, peer
#    authentication over /var/run/postgresql, migrate as portfleet) and
#    starts from its unit: ExecStart as written there, as
#    User=portfleet, with a configured /etc/portfleet/collector.conf
#    (bind-mounted in a private mount namespace, so the machine's file is
#    never changed), after `migrate` with the same config; it answers
#    /readyz and enrolls;
#  - the agent starts from its unit: ExecStart with %d = a credentials
#    directory holding /etc/portfleet/agent.conf (LoadCredential=), as an
#    unprivileged user with exactly the unit's ambient capabilities and
#    StateDirectory; it enrolls and its snapshots reach the database with
#    processes attributed (the capabilities work);
#  - dpkg -r removes programs and units and keeps the conffiles; dpkg -P
#    removes those too.
# systemd is not PID 1 here, so `systemctl start` is not what runs the
# services: each unit's own command line is. Runs in a private network
# and mount namespace; needs root and leaves the machine's package state as
# it found it (exit 77, skipped, when portfleet packages are installed).
# PF_SOURCE_DIR is the checkout; PF_PKG_BUILD a build directory to reuse.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
if [ -z "${PF_IN_NETNS:-}" ]; then
  [ "$(id -u)" -eq 0 ] || { echo "package_deb: needs root (dpkg -i)" >&2; exit 77; }
  export PF_IN_NETNS=1
  exec unshare -n -m --propagation private -- bash "$0" "$@"
fi
ip link set lo up
src=${PF_SOURCE_DIR:?}
# One run at a time on this machine (each build directory's ctest has this
# test, and dpkg's state is the machine's).
exec 9>/run/lock/portfleet-package-deb.lock
flock -w 900 9 || { echo "package_deb: another run holds the lock" >&2; exit 1; }
for p in portfleet-agent portfleet-collector; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
    echo "package_deb: $p is installed on this machine; not touching it (skipped)" >&2
    exit 77
  fi
done
for d in /etc/portfleet /var/lib/portfleet; do # dpkg -P would remove what is there
  if [ -e "$d" ]; then
    echo "package_deb: $d exists on this machine; not touching it (skipped)" >&2
    exit 77
  fi
done
pf_tmpdir
bld=${PF_PKG_BUILD:-$PF_TMP/build}
installed=0
purge() {
  if [ $installed = 1 ]; then
    umount /etc/portfleet/collector.conf /etc/portfleet/agent.conf /var/lib/portfleet \
      2>/dev/null || true
    dpkg -P portfleet-agent portfleet-collector >/dev/null 2>&1 || true
  fi
}
trap 'rc=$?; set +e; purge; pf_cleanup "$rc"' EXIT

# ---- build, install to a prefix, package ----
t0=$SECONDS
cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=Release -DPF_BUILD_TESTS=OFF >"$PF_TMP/cmake.log" 2>&1 || { cat "$PF_TMP/cmake.log" >&2; pf_fail "cmake"; }
cmake --build "$bld" -j"$(nproc)" >>"$PF_TMP/cmake.log" 2>&1 ||
  { tail -n 30 "$PF_TMP/cmake.log" >&2; pf_fail "build"; }
pf_log "built in $((SECONDS - t0)) s"

pfx=$PF_TMP/prefix
cmake --install "$bld" --prefix "$pfx" >"$PF_TMP/install.log" 2>&1 ||
  { cat "$PF_TMP/install.log" >&2; pf_fail "cmake --install"; }
for f in bin/portfleet-agent bin/portfleet-collector share/portfleet/sql/001_schema.sql \
  lib/systemd/system/portfleet-agent.service lib/systemd/system/portfleet-collector.service \
  etc/portfleet/agent.conf etc/portfleet/collector.conf share/doc/portfleet-collector/SCALING.md; do
  pf_check '[ -f "$pfx/$f" ]' "cmake --install --prefix: $f missing"
done
pf_log "ok: cmake --install --prefix puts every file in the prefix"
# The units name the program and the config file in that prefix.
pf_check 'grep -qx "ExecStart=$pfx/bin/portfleet-collector serve --config $pfx/etc/portfleet/collector.conf" \
  "$pfx/lib/systemd/system/portfleet-collector.service"' "collector unit ExecStart in the prefix"
pf_check 'grep -qx "LoadCredential=agent.conf:$pfx/etc/portfleet/agent.conf" \
  "$pfx/lib/systemd/system/portfleet-agent.service"' "agent unit config path in the prefix"
pf_check '! grep -v "^$pfx/" "$bld/install_manifest.txt"' \
  "cmake --install --prefix installed outside the prefix: $(grep -v "^$pfx/" "$bld/install_manifest.txt")"

(cd "$bld" && cpack -G DEB >"$PF_TMP/cpack.log" 2>&1) || { cat "$PF_TMP/cpack.log" >&2; pf_fail "cpack"; }
agent_deb=$(ls "$bld"/portfleet-agent_*_*.deb)
coll_deb=$(ls "$bld"/portfleet-collector_*_*.deb)
dpkg-deb -c "$agent_deb" >"$PF_TMP/agent.list"
dpkg-deb -c "$coll_deb" >"$PF_TMP/coll.list"
for f in ./usr/bin/portfleet-agent ./usr/lib/systemd/system/portfleet-agent.service \
  ./etc/portfleet/agent.conf; do
  pf_check 'grep -q " $f\$" "$PF_TMP/agent.list"' "agent .deb lacks $f"
done
for f in ./usr/bin/portfleet-collector ./usr/lib/systemd/system/portfleet-collector.service \
  ./etc/portfleet/collector.conf ./usr/share/portfleet/sql/001_schema.sql; do
  pf_check 'grep -q " $f\$" "$PF_TMP/coll.list"' "collector .deb lacks $f"
done
pf_check '[ "$(dpkg-deb -f "$coll_deb" Package)" = portfleet-collector ]' "package name"
pf_check 'dpkg-deb -f "$coll_deb" Depends | grep -q libpq5' "collector Depends has libpq5"
dpkg-deb --ctrl-tarfile "$agent_deb" | tar -xO ./conffiles >"$PF_TMP/agent.conffiles"
dpkg-deb --ctrl-tarfile "$coll_deb" | tar -xO ./conffiles >"$PF_TMP/coll.conffiles"
pf_check 'grep -qx /etc/portfleet/agent.conf "$PF_TMP/agent.conffiles"' "agent.conf is a conffile"
pf_check 'grep -qx /etc/portfleet/collector.conf "$PF_TMP/coll.conffiles"' "collector.conf is a conffile"
for c in agent collector; do
  dpkg-deb --fsys-tarfile "$bld/portfleet-${c}_"*.deb | tar -xO "./etc/portfleet/$c.conf" \
    >"$PF_TMP/$c.conf.pkg"
  pf_check '! grep -Ev "^[[:space:]]*(#|;|$)" "$PF_TMP/$c.conf.pkg"' \
    "$c.conf in the package sets something (it must hold comments only, no secret)"
done
pf_log "ok: both .debs hold their files, conffiles, no secret"

# ---- dpkg -i ----
installed=1
dpkg -i "$agent_deb" "$coll_deb" >"$PF_TMP/dpkg-i.log" 2>&1 ||
  { cat "$PF_TMP/dpkg-i.log" >&2; pf_fail "dpkg -i"; }
pf_check 'getent passwd portfleet | grep -q ":/usr/sbin/nologin$"' "user portfleet (nologin)"
pf_check '[ "$(id -u portfleet)" -lt 1000 ]' "portfleet is a system user"
pf_check '[ "$(stat -c "%U:%G %a" /etc/portfleet/collector.conf)" = "root:portfleet 640" ]' \
  "collector.conf owner and mode: $(stat -c "%U:%G %a" /etc/portfleet/collector.conf)"
pf_check '[ "$(stat -c "%U %a" /etc/portfleet/agent.conf)" = "root 600" ]' "agent.conf mode"
pf_check 'grep -q "not started" "$PF_TMP/dpkg-i.log"' "postinst says why it did not start"
pf_check '[ ! -e /etc/systemd/system/multi-user.target.wants/portfleet-collector.service ]' \
  "an unconfigured collector is not enabled"
cunit=/usr/lib/systemd/system/portfleet-collector.service
aunit=/usr/lib/systemd/system/portfleet-agent.service
systemd-analyze verify "$cunit" "$aunit" >"$PF_TMP/verify.out" 2>&1 || true
pf_check '[ ! -s "$PF_TMP/verify.out" ]' "systemd-analyze verify: $(cat "$PF_TMP/verify.out")"
systemd-analyze security --offline=yes "$cunit" 2>/dev/null | grep 'Overall exposure' >&2 || true
pf_log "ok: dpkg -i (user, modes, not started unconfigured), systemd-analyze verify clean"

# ---- README.md's Linux RMM commands after dpkg -i ----
# install writes /etc/portfleet/agent.conf and /etc/systemd/system's unit:
# both directories are tmpfs copies of this mount namespace here.
cp -a /etc/portfleet "$PF_TMP/etc-portfleet"
mount -t tmpfs -o mode=0755 tmpfs /etc/portfleet
cp -a "$PF_TMP/etc-portfleet/." /etc/portfleet/
mount -t tmpfs -o mode=0755 tmpfs /etc/systemd/system
SECRET=0123456789abcdef0123
set +e
portfleet-agent install --collector https://collector.example.net:8443 \
    --enroll-secret "$SECRET" --site nyc --ca-file /etc/portfleet/ca.pem >"$PF_TMP/install.out" 2>&1
code=$?
set -e
pf_check '[ $code = 1 ] && grep -q "systemd is not running here" "$PF_TMP/install.out"' \
  "install without systemd: exit 1 saying so (got $code: $(cat "$PF_TMP/install.out"))"
pf_check 'cmp -s /etc/systemd/system/portfleet-agent.service "$aunit"' \
  "the unit install writes is the packaged unit"
pf_check 'grep -qx "collector = https://collector.example.net:8443" /etc/portfleet/agent.conf &&
  grep -qx "site = nyc" /etc/portfleet/agent.conf' "install wrote the options"
pf_check '[ "$(stat -c %a /etc/portfleet/agent.conf)" = 600 ]' "agent.conf stays 0600"
portfleet-agent status >"$PF_TMP/status.out" 2>&1 || true
pf_check 'grep -q "^enrolled *no" "$PF_TMP/status.out"' "status: $(cat "$PF_TMP/status.out")"
portfleet-agent uninstall >"$PF_TMP/uninstall.out" 2>&1 || pf_fail "uninstall"
pf_check '[ ! -e /etc/systemd/system/portfleet-agent.service ]' "uninstall removes the unit"
umount /etc/systemd/system /etc/portfleet
pf_log "ok: portfleet-agent install / status / uninstall after dpkg -i (files as packaged)"

# ---- the collector, set up as README.md "Collector on a server" says ----
# A PostgreSQL of our own stands in for the server's: peer authentication on
# the default socket /var/run/postgresql (a tmpfs of this mount namespace)
# and port 5432 (of this network namespace), so the README's commands run
# verbatim and the machine's own cluster is never touched.
unit_val() { sed -n "s/^$2=//p" "$1" | tail -n 1; }
mount -t tmpfs -o mode=2775 tmpfs /var/run/postgresql
chown postgres:postgres /var/run/postgresql
PF_PG_DATA=$PF_TMP/pgdata
mkdir -p "$PF_PG_DATA"
touch "$PF_TMP/postgres.log"
chown postgres: "$PF_PG_DATA" "$PF_TMP/postgres.log"
runuser -u postgres -- "$PF_PG_BIN/initdb" -D "$PF_PG_DATA" --auth-local=peer \
  --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$PF_TMP/initdb.log" 2>&1 ||
  { cat "$PF_TMP/initdb.log" >&2; pf_fail "initdb"; }
printf "listen_addresses = ''\nport = 5432\nunix_socket_directories = '/var/run/postgresql'\n" \
  >>"$PF_PG_DATA/postgresql.conf"
pf_pg_start
runuser -u postgres -- createuser portfleet
runuser -u postgres -- createdb -O portfleet portfleet
db_sql() { runuser -u postgres -- psql -X -At -d portfleet -c "$1"; }

pf_make_certs
cert_dir=$PF_TMP/etc
mkdir -p "$cert_dir"
install -m 0644 "$PF_CERT" "$cert_dir/collector.pem"
install -m 0640 -g portfleet "$PF_KEY" "$cert_dir/collector.key"
cport=$(pf_free_port)
conf=$PF_TMP/collector.conf
printf '%s\n' "listen = 127.0.0.1:$cport" "cert = $cert_dir/collector.pem" \
  "key = $cert_dir/collector.key" "db = postgresql:///portfleet" \
  "enroll-secret = $PF_ENROLL_SECRET" "admin-token = $PF_ADMIN_TOKEN" >"$conf"
chown root:portfleet "$conf"
chmod 640 "$conf"
mount --bind "$conf" /etc/portfleet/collector.conf # this namespace only
user=$(unit_val "$cunit" User)
exec_start=$(unit_val "$cunit" ExecStart)
pf_check '[ "$user" = portfleet ]' "collector unit User"
runuser -u portfleet -- portfleet-collector migrate >"$PF_TMP/migrate.out" 2>&1 ||
  { cat "$PF_TMP/migrate.out" >&2; pf_fail "migrate with the packaged config file"; }
# shellcheck disable=SC2086 # the unit's command line, split as systemd does (no quotes in it)
setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs $exec_start \
  >>"$PF_TMP/collector.log" 2>&1 &
PF_COLLECTOR_PID=$!
PF_COLLECTOR_URL=https://127.0.0.1:$cport
pf_wait_ready 30
pf_check '[ "$(stat -c %U /proc/$PF_COLLECTOR_PID)" = portfleet ]' "the collector runs as portfleet"
pf_log "ok: the collector runs from its unit's ExecStart as $user: $exec_start"

# ---- the agent, started as its unit says ----
acfg=$PF_TMP/agent.conf
cat >"$acfg" <<EOF
collector = $PF_COLLECTOR_URL
enroll-secret = $PF_ENROLL_SECRET
ca-file = $PF_CA
site = pkgtest
interval = 1
EOF
chmod 600 "$acfg"
mount --bind "$acfg" /etc/portfleet/agent.conf
cred=$(unit_val "$aunit" LoadCredential)      # agent.conf:/etc/portfleet/agent.conf
state=/var/lib/$(unit_val "$aunit" StateDirectory)
caps=$(unit_val "$aunit" AmbientCapabilities) # CAP_DAC_READ_SEARCH CAP_SYS_PTRACE
creds=$PF_TMP/credentials
mkdir -p "$creds" "$state"
mount -t tmpfs -o mode=0700 tmpfs "$state" # this namespace only
cp "${cred#*:}" "$creds/${cred%%:*}"       # what LoadCredential= does
dyn_uid=61999                              # DynamicUser=: an unused uid
chown -R "$dyn_uid:$dyn_uid" "$creds" "$state"
capset=$(echo "$caps" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
exec_start=$(unit_val "$aunit" ExecStart)
# shellcheck disable=SC2086
setpriv --reuid=$dyn_uid --regid=$dyn_uid --clear-groups --inh-caps="$capset" \
  --ambient-caps="$capset" --bounding-set="-all,$capset" --no-new-privs \
  ${exec_start//%d/$creds} >"$PF_TMP/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 1 60); do
  n=$(db_sql "select count(*) from snapshots s join agents a using (agent_id) where a.site = 'pkgtest'")
  [ "$n" -ge 2 ] && break
  kill -0 $agent_pid 2>/dev/null || { cat "$PF_TMP/agent.log" >&2; pf_fail "the agent exited"; }
  sleep 1
done
pf_check '[ "$n" -ge 2 ]' "the agent's snapshots reach the database ($n)"
procs=$(db_sql "select count(*) from snapshot_processes p join agents a using (agent_id)
                where a.site = 'pkgtest' and p.name = 'portfleet-collector'")
pf_check '[ "$procs" -ge 1 ]' "the agent (uid $dyn_uid, $caps) sees the collector's sockets (user portfleet)"
runuser -u portfleet -- portfleet-collector report --db postgresql:///portfleet --format text \
  >"$PF_TMP/report.txt" 2>&1 || { cat "$PF_TMP/report.txt" >&2; pf_fail "report as portfleet"; }
pf_check 'grep -q "^== site pkgtest ==" "$PF_TMP/report.txt"' "the report shows the agent's site"
kill -TERM $agent_pid
wait $agent_pid || pf_fail "the agent did not stop cleanly on SIGTERM"
pf_collector_stop
pf_log "ok: the agent runs from its unit's ExecStart (credential, state dir, capabilities) and pushes"

# ---- dpkg -r, dpkg -P ----
umount /etc/portfleet/collector.conf /etc/portfleet/agent.conf "$state"
dpkg -r portfleet-agent portfleet-collector >"$PF_TMP/dpkg-r.log" 2>&1 ||
  { cat "$PF_TMP/dpkg-r.log" >&2; pf_fail "dpkg -r"; }
for f in /usr/bin/portfleet-agent /usr/bin/portfleet-collector "$cunit" "$aunit"; do
  pf_check '[ ! -e "$f" ]' "dpkg -r left $f"
done
pf_check '[ -f /etc/portfleet/collector.conf ]' "dpkg -r keeps the conffiles"
dpkg -P portfleet-agent portfleet-collector >"$PF_TMP/dpkg-p.log" 2>&1 ||
  { cat "$PF_TMP/dpkg-p.log" >&2; pf_fail "dpkg -P"; }
installed=0
pf_check '[ ! -e /etc/portfleet ]' "dpkg -P removes /etc/portfleet"
pf_check '[ ! -e /var/lib/portfleet ]' "dpkg -P removes the agent's state directory"
pf_log "ok: dpkg -r removes programs and units, keeps conffiles; dpkg -P removes the rest"
