#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check_local.sh FLEETSIM SCENARIO [NOW...]: runs a scenario through the
# analysis in memory (fleetsim local: the snapshot fold, no collector) and
# checks the scenario's expectations and that the report agrees with
# itself (fleetsim local --format agree), at each NOW (several times of day,
# so no rule only works at one hour). The integration tests run the same
# scenarios through the real collector.
set -euo pipefail
sim=$1 scenario=$2
shift 2
# A scenario may name its own times (check_at: a weekly cycle needs a
# weekday and a weekend); else three times of day over three days.
if [ $# -eq 0 ]; then
  mapfile -t own < <("$sim" nows --scenario "$scenario")
  if [ ${#own[@]} -gt 0 ]; then set -- "${own[@]}"; fi
fi
[ $# -gt 0 ] || set -- 2026-11-22T10:30:00Z 2026-11-23T03:05:00Z 2026-11-24T16:40:00Z
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for now in "$@"; do
  "$sim" local --scenario "$scenario" --now "$now" --format findings >"$tmp/f.json"
  "$sim" local --scenario "$scenario" --now "$now" --format plan >"$tmp/p.json"
  echo "== now $now"
  "$sim" check --scenario "$scenario" --now "$now" --findings "$tmp/f.json" --plan "$tmp/p.json"
  # The report agrees with itself: one fill time per host in the
  # findings, the table and the chart.
  "$sim" local --scenario "$scenario" --now "$now" --format agree
done
