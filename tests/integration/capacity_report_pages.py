#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# capacity_report_pages.py: checks the report's pages against the API.
#
#   capacity_report_pages.py served URL CA TOKEN NOW FINDINGS.json HOSTS.json PLAN.json
#       crawls the collector from /report?now=NOW (Authorization: Bearer),
#       following every link
#   capacity_report_pages.py files DIR FINDINGS.json HOSTS.json PLAN.json
#       crawls the pages `report --out DIR` wrote, from DIR/index.html
#
# Either way: every page reached answers (200 / the file exists) and is
# self-contained (no script element, no src= or href= to anything but
# another page of the report, no url() in styles); every site of /v1/plan
# and every host of /v1/hosts has a page, reached by links from the
# overview; the overview's counts by severity are /v1/findings'; its
# nearest-exhaustion table starts with the host of the earliest
# exhaustion_at of /v1/findings; each site page lists exactly the site's
# findings of /v1/findings (kind, severity) and has a small chart per host;
# each host page lists exactly the host's findings, has its ports chart,
# the TCP states chart with a BOUND key, and names each finding's culprit.
# Sizing: the overview names each site's binding_resource of /v1/plan; a
# site page names it and the hosts each resource needs (hosts_needed);
# a host page shows exactly the sizing peaks /v1/hosts gives it.
import collections
import datetime
import json
import os
import re
import ssl
import sys
import urllib.parse
import urllib.request
from html.parser import HTMLParser


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.findings, self.scripts, self.bad_refs = [], [], 0, []
        self.charts, self.small_charts, self.states_charts = 0, 0, 0
        self.counts, self.nearest, self.state_keys = {}, [], []
        self.processes, self.in_nearest = [], False
        self.intervals = []  # (early, late or None) of each forecast's interval
        self.section = None
        self.row_site, self.site_binding = None, {}
        self.binding, self.resource_hosts, self.cur_resource = None, {}, None
        self.sizing = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "script":
            self.scripts += 1
        for k in ("src", "srcset", "action", "formaction", "poster", "data"):
            if k in a:
                self.bad_refs.append("%s=%s" % (k, a[k]))
        if tag == "a" and "href" in a:
            self.links.append((a["href"], cls))
            if self.in_nearest and "host-link" in cls:
                self.nearest.append(a["href"])
        elif tag == "link":
            self.bad_refs.append("link %s" % a.get("href"))
        if tag == "tr" and "finding" in cls:
            self.findings.append((a.get("data-kind"), a.get("data-severity")))
        if tag == "svg" and "chart" in cls:
            self.charts += 1
            if "small" in cls:
                self.small_charts += 1
        if tag == "svg" and "states-chart" in cls:
            self.states_charts += 1
        if tag == "div" and "count" in cls:
            for sev in ("critical", "warning", "info"):
                if "data-" + sev in a:
                    self.counts[sev] = int(a["data-" + sev])
        if tag == "table" and "nearest" in cls:
            self.in_nearest = True
        if tag == "span" and "interval" in cls and "data-early" in a:
            self.intervals.append((int(a["data-early"]),
                                   int(a["data-late"]) if "data-late" in a else None))
        if tag == "span" and "state-key" in cls:
            self.state_keys.append(a.get("data-state"))
        if tag == "tr" and "site-row" in cls:
            self.row_site = a.get("data-site")
        if tag == "td" and "data-binding" in a and self.row_site is not None:
            self.site_binding[self.row_site] = a["data-binding"]
        if tag == "b" and "data-binding" in a:
            self.binding = a["data-binding"]
        if tag == "li" and "data-resource" in a:
            self.cur_resource = a["data-resource"]
        if tag == "b" and "data-hosts" in a and self.cur_resource:
            self.resource_hosts[self.cur_resource] = int(a["data-hosts"])
        if tag == "tr" and "data-sizing" in a:
            self.sizing[a["data-sizing"]] = float(a["data-value"])
        if tag == "section" and ("site" in cls or "host" in cls):
            self.section = (tag, a.get("data-site") or a.get("data-agent"))

    def handle_endtag(self, tag):
        if tag == "table":
            self.in_nearest = False
        if tag == "tr":
            self.row_site = None
        if tag == "li":
            self.cur_resource = None

    def handle_data(self, data):
        self.processes.append(data)


def parse(html):
    p = Page()
    p.feed(html)
    p.text = "".join(p.processes)
    if "url(" in html.split("</style>")[0] or re.search(r"@import", html):
        p.bad_refs.append("url() or @import in the style sheet")
    return p


class Served:
    def __init__(self, base, ca, token, now):
        self.base, self.token = base, token
        self.ctx = ssl.create_default_context(cafile=ca)
        self.start = "%s/report?now=%s" % (base, now)

    def get(self, url):
        req = urllib.request.Request(url, headers={"Authorization": "Bearer " + self.token})
        with urllib.request.urlopen(req, context=self.ctx) as r:
            assert r.status == 200, url
            csp = r.headers.get("Content-Security-Policy", "")
            assert csp.startswith("default-src 'none'"), "%s: CSP %r" % (url, csp)
            return r.read().decode("utf-8")

    def join(self, page, href):
        u = urllib.parse.urljoin(page, href)
        if not u.startswith(self.base + "/report"):
            return None
        return u

    def key(self, url):
        path = urllib.parse.urlsplit(url).path
        m = re.match(r"^/report/(site|host)/([^/]+)$", path)
        if m:
            return m.group(1), urllib.parse.unquote(m.group(2))
        return ("overview", "") if path == "/report" else ("?", path)


class Files:
    def __init__(self, d):
        self.d = os.path.abspath(d)
        self.start = "file://" + os.path.join(self.d, "index.html")

    def get(self, url):
        with open(urllib.parse.urlsplit(url).path, encoding="utf-8") as f:
            return f.read()

    def join(self, page, href):
        u = urllib.parse.urljoin(page, href)
        if not u.startswith("file://" + self.d + "/"):
            return None
        return u

    def key(self, url):
        rel = os.path.relpath(urllib.parse.urlsplit(url).path, self.d)
        m = re.match(r"^(site|host)/([^/]+)\.html$", rel)
        if m:
            name = re.sub(r"~([0-9A-F]{2})", lambda x: chr(int(x.group(1), 16)), m.group(2))
            return m.group(1), name.encode("latin-1").decode("utf-8")
        return ("overview", "") if rel == "index.html" else ("?", rel)


def main():
    mode = sys.argv[1]
    if mode == "served":
        src = Served(*sys.argv[2:6])
        rest = sys.argv[6:]
    else:
        src = Files(sys.argv[2])
        rest = sys.argv[3:]
    findings = json.load(open(rest[0]))["findings"]
    hosts = json.load(open(rest[1]))["hosts"]
    sites = json.load(open(rest[2]))["sites"]
    problems = []

    pages, todo = {}, [src.start]
    while todo:
        url = todo.pop()
        k = src.key(url)
        if k in pages:
            continue
        try:
            html = src.get(url)
        except Exception as e:  # a dead link
            problems.append("%s: %s" % (url, e))
            pages[k] = None
            continue
        p = parse(html)
        pages[k] = p
        if p.scripts:
            problems.append("%s: %d script elements" % (url, p.scripts))
        if p.bad_refs:
            problems.append("%s: outside resources %s" % (url, p.bad_refs[:3]))
        for href, _ in p.links:
            u = src.join(url, href)
            if u is None:
                problems.append("%s: link out of the report: %s" % (url, href))
            else:
                todo.append(u)
        if k[0] == "?":
            problems.append("%s: not a page of the report" % url)

    ov = pages.get(("overview", ""))
    if not ov:
        print("FAIL no overview")
        return 1
    want = collections.Counter(f["severity"] for f in findings)
    for sev in ("critical", "warning", "info"):
        if ov.counts.get(sev) != want.get(sev, 0):
            problems.append("overview: %s count %s != %d" % (sev, ov.counts.get(sev), want.get(sev, 0)))
    by_id = {h["agent_id"]: h for h in hosts}
    # The report's rule: a finding's exhaustion_at (but not the past one of
    # exhaustion_events), or now for a host that went silent while full.
    now_s = json.load(open(rest[0]))["generated_at"]
    dated = []
    for f in findings:
        if not f.get("agent_id"):
            continue
        if f["kind"] == "exhaustion_events":
            continue
        if f.get("exhaustion_at"):
            dated.append((f["exhaustion_at"], f["agent_id"]))
        elif f["severity"] == "critical" and f["kind"] == "host_silent":
            dated.append((now_s, f["agent_id"]))
    dated.sort()
    if dated:
        first = ov.nearest[0] if ov.nearest else None
        k = src.key(src.join(src.start, first)) if first else None
        firsts = {a for t, a in dated if t == dated[0][0]}
        if not k or k[1] not in firsts:
            problems.append("overview: nearest host %s, expected one of %s (full %s)"
                            % (k, sorted(firsts), dated[0][0]))
    elif ov.nearest:
        problems.append("overview: nearest hosts %s, but no finding has a date" % ov.nearest)

    for s in sites:
        p = pages.get(("site", s["site"]))
        if not p:
            problems.append("site %s: no page reached" % s["site"])
            continue
        got = sorted(p.findings)
        exp = sorted((f["kind"], f["severity"]) for f in findings if f["site"] == s["site"])
        if got != exp:
            problems.append("site %s: findings %s != %s" % (s["site"], got, exp))
        nh = sum(1 for h in hosts if h["site"] == s["site"])
        if p.small_charts != nh:
            problems.append("site %s: %d small charts for %d hosts" % (s["site"], p.small_charts, nh))
        if "How the plan is computed" not in p.text:
            problems.append("site %s: no arithmetic" % s["site"])
        if p.binding != s["binding_resource"]:
            problems.append("site %s: binding %s != %s" % (s["site"], p.binding, s["binding_resource"]))
        if s["site"] in ov.site_binding and ov.site_binding[s["site"]] != s["binding_resource"]:
            problems.append("overview: site %s binding %s != %s"
                            % (s["site"], ov.site_binding[s["site"]], s["binding_resource"]))
        need = {r: v["hosts"] for r, v in (s.get("hosts_needed") or {}).items() if r != "ports"}
        if p.resource_hosts != need:
            problems.append("site %s: hosts per resource %s != %s" % (s["site"], p.resource_hosts, need))
    checked_intervals = 0
    for h in hosts:
        p = pages.get(("host", h["agent_id"]))
        if not p:
            problems.append("host %s: no page reached" % h["name"])
            continue
        got = sorted(p.findings)
        mine = [f for f in findings if f.get("agent_id") == h["agent_id"] and f.get("host")]
        exp = sorted((f["kind"], f["severity"]) for f in mine)
        if got != exp:
            problems.append("host %s: findings %s != %s" % (h["name"], got, exp))
        if p.charts != 1 or p.states_charts != 1 or "bound" not in p.state_keys:
            problems.append("host %s: charts %d, states charts %d, keys %s"
                            % (h["name"], p.charts, p.states_charts, p.state_keys))
        for f in mine:
            proc = (f.get("process") or {}).get("name")
            if proc and proc not in p.text:
                problems.append("host %s: culprit %s not named" % (h["name"], proc))
        want = {k: v for k, v in (h.get("sizing") or {}).items() if isinstance(v, (int, float))}
        if set(p.sizing) != set(want) or any(abs(p.sizing[k] - want[k]) > 1e-6 * max(1, abs(want[k]))
                                             for k in want):
            problems.append("host %s: sizing %s != %s" % (h["name"], p.sizing, want))
        # The forecast's date lies in its interval on the page.
        for f in mine:
            if f["kind"] != "exhaustion_forecast":
                continue
            at = int(datetime.datetime.fromisoformat(
                f["exhaustion_at"].replace("Z", "+00:00")).timestamp())
            checked_intervals += 1
            if not any(e <= at and (l is None or at <= l) for e, l in p.intervals):
                problems.append("host %s: forecast %s in no interval of %s"
                                % (h["name"], f["exhaustion_at"], p.intervals))
        for part in ("Agent health", "Top processes over time", "Top remote endpoints", "Events",
                     "Forecast"):
            if part not in p.text:
                problems.append("host %s: no %s" % (h["name"], part))
    n = collections.Counter(k[0] for k in pages)
    nsz = sum(1 for h in hosts if h.get("sizing"))
    binds = collections.Counter(s["binding_resource"] for s in sites)
    print("%s: %d pages (%d sites, %d hosts), every link followed; %d findings; "
          "%d hosts with sizing peaks; binding %s; %d forecast intervals checked"
          % (mode, len(pages), n["site"], n["host"], len(findings), nsz, dict(binds),
             checked_intervals))
    if not any(f["kind"] == "exhaustion_forecast" for f in findings) or checked_intervals == 0:
        problems.append("no exhaustion_forecast finding: the forecast interval went unchecked")
    for p in problems:
        print("FAIL " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
