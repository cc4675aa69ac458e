#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agent_retry_policy.sh BUILD_DIR: the real agent against retry_server.py, a
# TLS server that answers POST /v1/snapshots with a scripted sequence:
#   429 Retry-After: 3        next attempt no sooner than 3 s (first failure:
#                             plain backoff would have been <= 1 s)
#   503 Retry-After: 3        again no sooner than 3 s (backoff: <= 2 s)
#   200                       resets the backoff
#   503, 503, 503, 408        retried with full-jitter backoff: the k-th gap
#                             is within [0, 2^(k-1) s], and they add up to
#                             more than an agent that does not back off
#   413                       the batch is halved and resent at once
#   400                       that batch is dropped and never sent again
#   401 node_invalid          the agent enrolls again and resends
#   then 200 for everything   all other snapshots arrive exactly once
# Every request must come over the same TCP connection. Prints the
# measured gaps. Runs in a private network namespace.
set -euo pipefail
build=$(cd "${1:?usage: agent_retry_policy.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
pf_make_certs

port=$(pf_free_port)
plan="429:3,503:3,200,503,503,503,408,413,400,401"
"$PF_SYS_PY" "$here/retry_server.py" --port "$port" --cert "$PF_CERT" --key "$PF_KEY" \
  --log "$PF_TMP/server.jsonl" --plan "$plan" >"$PF_TMP/server.out" 2>&1 &
server=$!
agent=
stop_all() {
  local rc=$?
  if [ -n "$agent" ]; then kill "$agent" 2>/dev/null; wait "$agent" 2>/dev/null || true; fi
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  pf_cleanup "$rc"
}
trap stop_all EXIT
pf_wait_for 'grep -q listening "$PF_TMP/server.out" 2>/dev/null' 60 "retry_server.py listens"

"$build/agent/portfleet-agent" run --collector "https://127.0.0.1:$port" \
  --enroll-secret s3cret --ca-file "$PF_CA" --state-dir "$PF_TMP/state" --interval 1 \
  --log-level debug >"$PF_TMP/agent.log" 2>&1 &
agent=$!

# Wait until the plan is used up and a few plain 200s followed.
deadline=$((SECONDS + 120))
while [ $SECONDS -lt $deadline ]; do
  n200=$(python3 - "$PF_TMP/server.jsonl" <<'EOF' 2>/dev/null || echo 0
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
snap = [r for r in rows if r["path"] == "/v1/snapshots"]
print(sum(1 for r in snap[10:] if r["status"] == 200))
EOF
)
  [ "${n200:-0}" -ge 4 ] && break
  kill -0 "$agent" 2>/dev/null || pf_fail "agent exited: $(tail -5 "$PF_TMP/agent.log")"
  sleep 0.5
done
kill -TERM "$agent"
wait "$agent" || pf_fail "agent did not exit cleanly on SIGTERM"
agent=

python3 - "$PF_TMP/server.jsonl" "$PF_TMP/agent.log" <<'EOF' || pf_fail "retry policy not followed (server log above)"
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
snap = [r for r in rows if r["path"] == "/v1/snapshots"]
ok = True
def check(cond, msg):
    global ok
    print(("ok   " if cond else "FAIL ") + msg)
    ok = ok and cond

print("request  status  retry_after  gap_s  seqs")
prev = None
for i, r in enumerate(snap):
    gap = r["t"] - prev["t"] if prev else 0.0
    r["gap"] = gap
    s = r.get("seqs", [])
    print("%7d  %6s  %11s  %5.2f  %s" % (i, r["status"], r.get("retry_after", "-"), gap,
          "%d..%d (%d)" % (s[0], s[-1], len(s)) if s else "-"))
    prev = r

st = [r["status"] for r in snap]
plan = [429, 503, 200, 503, 503, 503, 408, 413, 400, 401]
check(st[:10] == plan, "server answered the plan in order: %s" % st[:10])
tol = 0.5  # upper bounds only: scheduling slack on a busy 2-core machine
g = snap[1]["gap"]
check(3.0 <= g <= 3 + 1.3 + tol, "gap after 429 Retry-After: 3 = %.2f s, >= 3 s" % g)
g = snap[2]["gap"]
check(3.0 <= g <= 3 + 1.3 + tol, "gap after 503 Retry-After: 3 = %.2f s, >= 3 s" % g)
# full-jitter backoff after the k-th consecutive failure without Retry-After
total = 0.0
for k in range(1, 5):
    g = snap[3 + k]["gap"]
    total += g
    check(0 <= g <= 2 ** (k - 1) + tol,
          "gap after failure %d (%s) = %.2f s within [0, %d s]" % (k, st[2 + k], g, 2 ** (k - 1)))
# Without backoff these four retries would come within milliseconds; with
# full jitter P(sum < 0.3 s) < 2e-4.
check(total >= 0.3, "the four backoff gaps add up to %.2f s (> 0.3 s)" % total)
big, half = snap[7]["seqs"], snap[8]["seqs"]
check(len(big) >= 2 and 1 <= len(half) <= len(big) // 2 and half[0] == big[0],
      "after 413 the batch of %d was halved to %d, same first seq" % (len(big), len(half)))
check(snap[8]["gap"] < 1.0, "the halved batch went at once (%.2f s)" % snap[8]["gap"])
dropped = set(snap[8]["seqs"])
later = set(s for r in snap[9:] for s in r.get("seqs", []))
check(not (dropped & later), "seqs refused with 400 %s never sent again" % sorted(dropped))
i401 = rows.index(snap[9])
after = rows[i401 + 1:]
check(bool(after) and after[0]["path"] == "/v1/enroll",
      "401 node_invalid -> next request is /v1/enroll")
resent = next((r for r in after if r["path"] == "/v1/snapshots"), None)
check(resent is not None and snap[9]["seqs"][0] in resent["seqs"] and
      (resent["key"] or "").startswith("key-2-"),
      "the refused batch was resent with the new key")
check(resent is not None and resent["agent_ids"] == ["agent-2"],
      "resent snapshots carry the new agent_id: %s" % (resent or {}).get("agent_ids"))
accepted = [s for r in snap if r["status"] == 200 for s in r["seqs"]]
check(len(accepted) == len(set(accepted)), "no seq accepted twice")
top = max(accepted)
missing = sorted(set(range(1, top + 1)) - set(accepted) - dropped)
check(not missing, "every seq 1..%d accepted except the 400-dropped: missing %s" % (top, missing))
ports = sorted(set(r["port"] for r in rows))
check(len(ports) == 1, "all %d requests over one TCP connection (client ports %s)" % (len(rows), ports))
log = open(sys.argv[2]).read()
check("dropped 1 snapshot" in log or re.search(r"dropped \d+ snapshot\(s\) seq", log) is not None,
      "the 400 drop is logged")
sys.exit(0 if ok else 1)
EOF
echo "agent's own account of the waits it chose:"
grep -oE '(failed|refused|too large|refused \().*' "$PF_TMP/agent.log" | grep -oE 'HTTP [0-9]+.*' |
  sed -E 's/: scripted\)//' | head -n 12
echo "agent_retry_policy: passed"
