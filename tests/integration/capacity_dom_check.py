#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# capacity_dom_check.py DOM.html PNG FINDINGS.json HOSTS.json: checks what
# headless Chromium made of GET /report. From the DOM it dumped: one SVG
# chart per host (each with its series path, range line and forecast
# line), one finding row per finding of /v1/findings with the same kinds
# and severities, one section per site, no script element. From the PNG it
# drew: the page is not blank and the charts' colours are on it (the
# series blue #2f5fa7 and the range-line red #b3261e), so the SVG was
# rendered, not just parsed. PNG decoding is done here with zlib (8-bit
# RGB/RGBA, non-interlaced: what Chromium writes).
import json
import struct
import sys
import zlib
from html.parser import HTMLParser


class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.svgs, self.series, self.ranges, self.forecasts = [], 0, 0, 0
        self.findings, self.sites, self.scripts = [], [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "svg" and "chart" in cls:
            self.svgs.append(a.get("data-host"))
        elif tag == "path" and "series" in cls:
            self.series += 1
        elif tag == "line" and "range" in cls:
            self.ranges += 1
        elif tag == "line" and "forecast" in cls:
            self.forecasts += 1
        elif tag == "tr" and "finding" in cls:
            self.findings.append((a.get("data-kind"), a.get("data-severity")))
        elif tag == "section" and "site" in cls:
            self.sites.append(a.get("data-site"))
        elif tag == "script":
            self.scripts += 1


def png_pixels(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, "unsupported PNG"
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride = zlib.decompress(idat), w * bpp
    prev, rows, i = bytearray(stride), [], 0
    for _ in range(h):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            left = line[x - bpp] if x >= bpp else 0
            up, ul = prev[x], prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + left) & 255
            elif f == 2:
                line[x] = (line[x] + up) & 255
            elif f == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif f == 4:
                p = left + up - ul
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else ul
                line[x] = (line[x] + pred) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def near(px, rgb, tol=40):
    return all(abs(px[k] - rgb[k]) <= tol for k in range(3))


def main():
    dom_path, png_path, findings_path, hosts_path = sys.argv[1:5]
    d = Dom()
    d.feed(open(dom_path, encoding="utf-8").read())
    findings = json.load(open(findings_path))["findings"]
    hosts = json.load(open(hosts_path))["hosts"]
    problems = []
    if sorted(d.svgs) != sorted(h["name"] for h in hosts):
        problems.append("charts %s != hosts %s" % (sorted(d.svgs), sorted(h["name"] for h in hosts)))
    for name, n in (("series paths", d.series), ("range lines", d.ranges), ("forecast lines", d.forecasts)):
        if n != len(hosts):
            problems.append("%d %s for %d hosts" % (n, name, len(hosts)))
    want = sorted((f["kind"], f["severity"]) for f in findings)
    if sorted(d.findings) != want:
        problems.append("finding rows %s != API findings %s" % (sorted(d.findings), want))
    if sorted(set(d.sites)) != sorted(set(h["site"] for h in hosts)):
        problems.append("sites %s" % d.sites)
    if d.scripts:
        problems.append("%d script elements" % d.scripts)

    w, h, bpp, rows = png_pixels(png_path)
    blue = red = other = 0
    for row in rows[::2]:
        for x in range(0, w * bpp, bpp * 2):
            px = row[x:x + 3]
            if near(px, (0x2f, 0x5f, 0xa7)):
                blue += 1
            elif near(px, (0xb3, 0x26, 0x1e), 30):
                red += 1
            elif px != b"\xff\xff\xff":
                other += 1
    print("DOM: %d charts, %d series, %d range lines, %d forecast lines, %d finding rows, sites %s"
          % (len(d.svgs), d.series, d.ranges, d.forecasts, len(d.findings), sorted(set(d.sites))))
    print("PNG: %dx%d, sampled pixels: %d series-blue, %d range-red, %d other non-white"
          % (w, h, blue, red, other))
    if blue < 100 or red < 100 or other < 1000:
        problems.append("the PNG lacks the charts' colours or content")
    for p in problems:
        print("FAIL " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
