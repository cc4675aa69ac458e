#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""collector_strings_race.py: the poster and the checker of
collector_strings_race.sh.

A snapshot's strings (process names and services, remote endpoints) depend
only on its group; its counts on its seq. Two snapshots of one agent with
the same group but different seqs bring the same new strings: posted at the
same moment to two collectors, both number the same strings of the same
agent at once.

  race URL_A URL_B CA KEYS LOG FIRST COUNT
      per agent, seqs FIRST .. FIRST+COUNT-1 to A and FIRST+COUNT .. to B,
      both in groups FIRST .. FIRST+COUNT-1, all agents and both collectors
      at once (two threads per agent)
  post URL CA KEYS LOG FIRST COUNT GROUP0
      per agent, seqs FIRST .. FIRST+COUNT-1 in groups GROUP0 .. to URL
  expect LOG
      the rows the views must give back, one per line: "R agent seq addr
      port count" and "P agent seq name service"

Every post must end in 200; a 503 (the database said retry) is posted
again, as the agent would, at most 50 times. LOG collects "agent seq group"
of each snapshot answered with 200.
"""
import http.client
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import collector_client  # noqa: E402

NPROC = 6
NREMOTE = 12
lock = threading.Lock()
failures = []


def content(agent, seq, group):
    d = collector_client.snapshot(agent, seq, procs=NPROC)
    for i, p in enumerate(d["processes"]):
        p["name"] = "g%d-proc%d.exe" % (group, i)
        p["service"] = "Svc-%d" % (group % 3 + i)
        p["tcp_ports"] = 200 + seq % 50 - i
    d["remotes"] = [{"addr": "10.%d.%d.%d" % (group // 250, group % 250, i + 1),
                     "port": 1000 + i, "count": 500 - i - seq % 7} for i in range(NREMOTE)]
    return d


def keys(path):
    with open(path, encoding="utf-8") as f:
        return [line.split() for line in f if line.strip()]


def poster(url, ca, agent, key, plan, log):
    u = urllib.parse.urlsplit(url)
    ctx = ssl.create_default_context(cafile=ca)
    conn = None
    for seq, group in plan:
        body = json.dumps(content(agent, seq, group)).encode()
        for attempt in range(50):
            try:
                if conn is None:
                    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx,
                                                       timeout=60)
                conn.request("POST", "/v1/snapshots", body=body,
                             headers={"Content-Type": "application/json",
                                      "Authorization": "Bearer " + key})
                r = conn.getresponse()
                text = r.read()
            except (OSError, http.client.HTTPException) as e:
                conn = None
                status, text = 0, str(e).encode()
            else:
                status = r.status
            if status == 200:
                with lock:
                    log.write("%s %d %d\n" % (agent, seq, group))
                break
            if status not in (0, 503):
                with lock:
                    failures.append("%s seq %d: HTTP %d %s" % (agent, seq, status, text[:200]))
                return
            time.sleep(0.2)
        else:
            with lock:
                failures.append("%s seq %d: no 200 after 50 attempts" % (agent, seq))
            return


def run(jobs, logpath):
    with open(logpath, "a", encoding="utf-8") as log:
        threads = [threading.Thread(target=poster, args=j + (log,)) for j in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if failures:
        sys.exit("\n".join(failures))
    print("posted %d snapshots" % sum(len(j[4]) for j in jobs))


def main():
    a = sys.argv[1:]
    if a[0] == "race":
        url_a, url_b, ca, keyfile, logpath, first, count = a[1:8]
        first, count = int(first), int(count)
        jobs = []
        for agent, key in keys(keyfile):
            groups = range(first, first + count)
            jobs.append((url_a, ca, agent, key, [(g, g) for g in groups]))
            jobs.append((url_b, ca, agent, key, [(g + count, g) for g in groups]))
        run(jobs, logpath)
    elif a[0] == "post":
        url, ca, keyfile, logpath, first, count, group0 = a[1:8]
        first, count, group0 = int(first), int(count), int(group0)
        jobs = [(url, ca, agent, key, [(first + i, group0 + i) for i in range(count)])
                for agent, key in keys(keyfile)]
        run(jobs, logpath)
    elif a[0] == "expect":
        with open(a[1], encoding="utf-8") as f:
            for line in f:
                agent, seq, group = line.split()
                d = content(agent, int(seq), int(group))
                for i, r in enumerate(d["remotes"]):
                    print("R %s %s %s %d %d" % (agent, seq, r["addr"], r["port"], r["count"]))
                for p in d["processes"]:
                    print("P %s %s %s %s" % (agent, seq, p["name"], p["service"]))
    else:
        sys.exit("usage: see the file's docstring")


if __name__ == "__main__":
    main()
