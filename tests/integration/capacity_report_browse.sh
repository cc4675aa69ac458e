#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# capacity_report_browse.sh: the report as a person reads it, in headless
# Chromium (Debian's chromium, driven by playwright-core from npm through
# executablePath; tests/browser/report_browse.mjs). Seed 004 (a leaking
# service, a host that went dark) and seed 001 go through the real
# collector; the browser, with JavaScript off and the admin token as a
# bearer header, opens /report, follows the link of the most urgent host
# and sees its chart and the culprit of its findings (checked against
# /v1/findings). Then both screenshots are checked: a PNG of at least the
# viewport's size, not blank (many colours, most of the page not one
# colour), with the ports chart's blue series and red range line on the
# host page and the BOUND band's colour. The collector's certificate is
# accepted by its SPKI pin, nothing else; the test runs in a private
# network namespace. PF_BROWSE_KEEP=DIR keeps the screenshots.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
sim=$PF_FLEETSIM_BIN
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || pf_fail "chromium is not installed (deploy/install-deps.sh test installs it)"
command -v node >/dev/null || pf_fail "node is not installed (deploy/install-deps.sh test installs it)"
[ -f "$root/tests/browser/node_modules/playwright-core/package.json" ] ||
  pf_fail "playwright-core is not installed: deploy/install-deps.sh test (npm ci in tests/browser)"

pf_pg_init
pf_make_certs
pf_migrate
pf_collector_start
now=$(($(date -u +%s) / 300 * 300))
for s in seed004_leak seed001_snat; do
  "$sim" post --scenario "$here/../fleetsim/scenarios/$s.json" --collector "$PF_COLLECTOR_URL" \
    --ca-file "$PF_CA" --enroll-secret "$PF_ENROLL_SECRET" --now "$now" --jobs 2 \
    2>>"$PF_TMP/post.log" || { cat "$PF_TMP/post.log" >&2; pf_fail "posting $s"; }
done
pf_curl -f -H "Authorization: Bearer $PF_ADMIN_TOKEN" "$PF_COLLECTOR_URL/v1/findings?now=$now" \
  >"$PF_TMP/findings.json" || pf_fail "GET /v1/findings"
spki=$(openssl x509 -in "$PF_CERT" -pubkey -noout | openssl pkey -pubin -outform der |
  openssl dgst -sha256 -binary | base64)

mkdir -p "$PF_TMP/shots"
HOME=$PF_TMP timeout 180 node "$root/tests/browser/report_browse.mjs" "$browser" \
  "$PF_COLLECTOR_URL" "$PF_ADMIN_TOKEN" "$now" "$spki" "$PF_TMP/findings.json" "$PF_TMP/shots" \
  >"$PF_TMP/browse.out" 2>"$PF_TMP/browse.err" ||
  { cat "$PF_TMP/browse.out" "$PF_TMP/browse.err" >&2; pf_fail "browsing the report"; }
cat "$PF_TMP/browse.out" >&2

python3 - "$here" "$PF_TMP/shots" <<'PY' || pf_fail "the screenshots are blank or lack the charts"
import os, sys
sys.path.insert(0, sys.argv[1])
from capacity_dom_check import png_pixels, near
bad = []
for name, colours in (("overview.png", {}),
                      ("host.png", {"series blue": (0x2f, 0x5f, 0xa7), "range red": (0xb3, 0x26, 0x1e),
                                    "BOUND magenta": (0xc2, 0x18, 0x5b)})):
    path = os.path.join(sys.argv[2], name)
    size = os.path.getsize(path)
    w, h, bpp, rows = png_pixels(path)
    seen, found, counts = {}, {k: 0 for k in colours}, {}
    total = 0
    for row in rows[::2]:
        for x in range(0, w * bpp, bpp * 2):
            px = bytes(row[x:x + 3])
            counts[px] = counts.get(px, 0) + 1
            total += 1
            for k, rgb in colours.items():
                if near(px, rgb, 30):
                    found[k] += 1
    top = max(counts.values()) / total
    print("%s: %dx%d, %d bytes, %d colours, the commonest %.0f%% of the page, %s"
          % (name, w, h, size, len(counts), top * 100, found))
    if w < 1280 or h < 900 or size < 20000:
        bad.append("%s: %dx%d, %d bytes" % (name, w, h, size))
    if len(counts) < 50 or top > 0.97:
        bad.append("%s: blank (%d colours, %.0f%% one colour)" % (name, len(counts), top * 100))
    for k, n in found.items():
        if n < 30:
            bad.append("%s: too little %s (%d sampled pixels)" % (name, k, n))
for b in bad:
    print("FAIL " + b)
sys.exit(1 if bad else 0)
PY
if [ -n "${PF_BROWSE_KEEP:-}" ]; then
  mkdir -p "$PF_BROWSE_KEEP" && cp "$PF_TMP/shots/"* "$PF_BROWSE_KEEP/"
fi
pf_log "ok: overview -> most urgent host in Chromium: chart drawn, culprit named, screenshots not blank"
