#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collector_upgrade.sh: `migrate` upgrades a database of the previous
# release in place, and everything it held reads the same afterwards.
#  1. The previous release (git commit PF_PREV_COMMIT, default db1a3a7: the
#     last one with one row per process and remote) is built from
#     `git archive` into the temporary directory (or PF_PREV_COLLECTOR_BIN
#     is used), migrates a fresh database and ingests two fleetsim
#     scenarios and a batch covering every snapshot field
#     (collector_storage.py gen).
#  2. The rollups the analysis reads (host_hours, process_hours,
#     host_latest) are dumped; the collector stops.
#  3. This build's `migrate` upgrades the database: the rollups must be the
#     same rows, the snapshots views must give every posted field back
#     (collector_storage.py check) for the rows the old release stored, and
#     this build's /v1/findings, /v1/plan and /v1/hosts on the upgraded
#     database must equal its answers on a second database that this build
#     filled itself with the same posts (agent ids aside: enrolled twice).
#     (The previous release's own answers are not the reference: the
#     capacity engine changes between releases, the stored history must not.)
#  4. New snapshots are posted after the upgrade: the views show old and
#     new rows together.
# Real PostgreSQL, real collectors over TLS, inside a private network
# namespace. Exits 77 (skipped) when the previous release cannot be had.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
new_bin=$PF_COLLECTOR_BIN
sim=${PF_FLEETSIM_BIN:-$(dirname "$new_bin")/../tests/fleetsim}
st="python3 $here/collector_storage.py"
prev_commit=${PF_PREV_COMMIT:-db1a3a7}

if [ -n "${PF_PREV_COLLECTOR_BIN:-}" ]; then
  prev_bin=$PF_PREV_COLLECTOR_BIN
else
  mkdir -p "$PF_TMP/prev"
  if ! git -C "$root" archive "$prev_commit" | tar -x -C "$PF_TMP/prev" 2>/dev/null; then
    pf_log "SKIP: commit $prev_commit is not in this clone (git archive failed)"
    exit 77
  fi
  pf_log "building the previous release ($prev_commit)"
  cmake -S "$PF_TMP/prev" -B "$PF_TMP/prev/build" -DCMAKE_BUILD_TYPE=Release \
    -DPF_BUILD_TESTS=OFF >"$PF_TMP/prev-build.log" 2>&1 &&
    nice cmake --build "$PF_TMP/prev/build" --target portfleet-collector -j2 \
      >>"$PF_TMP/prev-build.log" 2>&1 || { tail -n 30 "$PF_TMP/prev-build.log"; pf_fail "build"; }
  prev_bin=$PF_TMP/prev/build/collector/portfleet-collector
fi

now=$(($(date -u +%s) / 300 * 300))
pf_pg_init
pf_make_certs
PF_COLLECTOR_BIN=$prev_bin
pf_migrate
pf_collector_start
for sc in seed001_snat seed004_leak; do
  "$sim" post --scenario "$root/tests/fleetsim/scenarios/$sc.json" --collector "$PF_COLLECTOR_URL" \
    --ca-file "$PF_CA" --enroll-secret "$PF_ENROLL_SECRET" --now "$now" 2>>"$PF_TMP/post.log" ||
    { cat "$PF_TMP/post.log"; pf_fail "posting $sc"; }
done
read -r agent key < <(pf_enroll UPGRADE-1 site-u machine-u)
post() { # FILE
  local code
  code=$(pf_curl -o "$PF_TMP/answer" -w '%{http_code}' -X POST -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' --data-binary "@$1" "$PF_COLLECTOR_URL/v1/snapshots")
  [ "$code" = 200 ] || pf_fail "post $1: $code $(cat "$PF_TMP/answer")"
}
$st gen "$agent" 48 >"$PF_TMP/all.json"
python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))["snapshots"]
json.dump({"snapshots": b[:36]}, open(sys.argv[2], "w"))
json.dump({"snapshots": b[36:]}, open(sys.argv[3], "w"))' \
  "$PF_TMP/all.json" "$PF_TMP/old.json" "$PF_TMP/new.json"
post "$PF_TMP/old.json"
answers() { # DIR
  mkdir -p "$1"
  for q in "findings?now=$now" "plan?now=$now" "hosts?now=$now"; do
    pf_curl -fsS -H "Authorization: Bearer $PF_ADMIN_TOKEN" "$PF_COLLECTOR_URL/v1/$q" \
      >"$1/${q%%\?*}.json" || pf_fail "GET /v1/$q"
  done
}
rollups() { # FILE
  {
    pf_psql -c "select * from host_hours order by agent_id, hour"
    pf_psql -c "select * from process_hours order by agent_id, hour, name, service"
    pf_psql -c "select * from host_latest order by agent_id"
  } >"$1"
}
# after the stop: a collector writes process_hours until it ends
pf_collector_stop
rollups "$PF_TMP/rollups-before.txt"
rows_before=$(pf_psql -c "select count(*) from snapshots")
pf_log "previous release: $rows_before snapshots, $(wc -l <"$PF_TMP/rollups-before.txt") rollup rows"

PF_COLLECTOR_BIN=$new_bin
pf_migrate
pf_check 'grep -q "applied 020_compact_snapshots.sql" "$PF_TMP/migrate.log"' "the upgrade ran"
rollups "$PF_TMP/rollups-after.txt"
diff "$PF_TMP/rollups-before.txt" "$PF_TMP/rollups-after.txt" >"$PF_TMP/rollups.diff" ||
  { head -n 20 "$PF_TMP/rollups.diff"; pf_fail "the rollups changed in the upgrade"; }
pf_collector_start
answers "$PF_TMP/after"
pf_collector_stop

# the same posts into a database this build made itself
db_a=$PF_DB
pf_as_pg "$PF_PG_BIN/createdb" -h "$PF_PG_SOCK" -p "$PF_PG_PORT" -U postgres fresh
PF_DB="host=$PF_PG_SOCK port=$PF_PG_PORT user=postgres dbname=fresh"
pf_migrate
pf_collector_start
for sc in seed001_snat seed004_leak; do
  "$sim" post --scenario "$root/tests/fleetsim/scenarios/$sc.json" --collector "$PF_COLLECTOR_URL" \
    --ca-file "$PF_CA" --enroll-secret "$PF_ENROLL_SECRET" --now "$now" 2>>"$PF_TMP/post.log" ||
    { cat "$PF_TMP/post.log"; pf_fail "posting $sc"; }
done
read -r agent_b key_b < <(pf_enroll UPGRADE-1 site-u machine-u)
sed "s/$agent/$agent_b/g" "$PF_TMP/old.json" >"$PF_TMP/old_b.json"
key_a=$key
key=$key_b
post "$PF_TMP/old_b.json"
key=$key_a
answers "$PF_TMP/fresh"
pf_collector_stop
PF_DB=$db_a
for f in findings plan hosts; do
  python3 - "$PF_TMP/after/$f.json" "$PF_TMP/fresh/$f.json" <<'PY' || pf_fail "/v1/$f differs"
import json, re, sys
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
def norm(x):
    if isinstance(x, dict):
        return {k: norm(v) for k, v in x.items() if k not in ("agent_id", "generated_at")}
    if isinstance(x, list):
        return sorted((norm(v) for v in x), key=lambda v: json.dumps(v, sort_keys=True))
    return UUID.sub("<agent>", x) if isinstance(x, str) else x
a, b = (norm(json.load(open(p))) for p in sys.argv[1:3])
if a != b:
    print(json.dumps(a, sort_keys=True)[:600]); print(json.dumps(b, sort_keys=True)[:600])
    sys.exit(1)
PY
done
pf_collector_start
pf_check '[ "$(pf_psql -c "select count(*) from snapshots")" = "$rows_before" ]' \
  "every snapshot still readable"
dump() {
  mkdir -p "$1"
  pf_psql -c "select coalesce(json_agg(s), '[]') from snapshots s where agent_id = '$agent'" \
    >"$1/snapshots.json"
  pf_psql -c "select coalesce(json_agg(p), '[]') from snapshot_processes p
              where agent_id = '$agent'" >"$1/processes.json"
  pf_psql -c "select coalesce(json_agg(r), '[]') from snapshot_remotes r
              where agent_id = '$agent'" >"$1/remotes.json"
}
dump "$PF_TMP/d1"
$st check "$PF_TMP/old.json" "$PF_TMP/d1" 36 || pf_fail "rows of the previous release read back wrong"
pf_log "ok: findings, plan and hosts unchanged; old rows read back"

post "$PF_TMP/new.json"
pf_check 'grep -q "\"accepted\":12" "$PF_TMP/answer"' "new snapshots after the upgrade"
post "$PF_TMP/old.json"
pf_check 'grep -q "\"duplicates\":36" "$PF_TMP/answer"' "old snapshots resent are duplicates"
dump "$PF_TMP/d2"
$st check "$PF_TMP/all.json" "$PF_TMP/d2" 36 || pf_fail "old and new rows together"
pf_log "collector_upgrade: all checks passed"
