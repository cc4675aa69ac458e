#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""collector_deadlock.py: the poster of collector_deadlock.sh.

  post CA KEYS LOG SECONDS URL...
      per agent of KEYS ("agent_id node_key" lines) and per URL one thread,
      posting that agent's snapshots to that collector for SECONDS over one
      keep-alive connection, each its own seqs (thread j of n: j+1, j+1+n,
      ...). An agent's requests are in both collectors at once, as when an
      agent resends to the other collector after a timeout while the
      first still writes, or when cloned hosts share a node key; and every
      writer's transaction holds several agents, in whatever mix arrives.

Every post must end in 200; a 503 is posted again after 0.1 s, as the agent
would. LOG gets "agent seq" of each snapshot answered with 200 (the test
compares it with what is stored); the last line printed is "posted N
retried M".
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

lock = threading.Lock()
failures = []
counts = {"posted": 0, "retried": 0}


def poster(index, agent, key, urls, ca, seconds, log):
    ctx = ssl.create_default_context(cafile=ca)
    u = urllib.parse.urlsplit(urls[index])
    conn = None
    end = time.monotonic() + seconds
    seq = index + 1
    while time.monotonic() < end:
        body = json.dumps(collector_client.snapshot(agent, seq, procs=2, remotes=2)).encode()
        for attempt in range(100):
            try:
                if conn is None:
                    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx,
                                                       timeout=60)
                conn.request("POST", "/v1/snapshots", body=body,
                             headers={"Content-Type": "application/json",
                                      "Authorization": "Bearer " + key})
                r = conn.getresponse()
                text = r.read()
                status = r.status
            except (OSError, http.client.HTTPException) as e:
                conn = None
                status, text = 0, str(e).encode()
            if status == 200:
                break
            if status not in (0, 503):
                with lock:
                    failures.append("%s seq %d: HTTP %d %s" % (agent, seq, status, text[:200]))
                return
            with lock:
                counts["retried"] += 1
            time.sleep(0.1)
        else:
            with lock:
                failures.append("%s seq %d: no 200 after 100 attempts" % (agent, seq))
            return
        with lock:
            log.write("%s %d\n" % (agent, seq))
            counts["posted"] += 1
        seq += len(urls)


def main():
    a = sys.argv[1:]
    if len(a) < 6 or a[0] != "post":
        sys.exit("usage: see the file's docstring")
    ca, keyfile, logpath, seconds, urls = a[1], a[2], a[3], float(a[4]), a[5:]
    with open(keyfile, encoding="utf-8") as f:
        agents = [line.split() for line in f if line.strip()]
    with open(logpath, "a", encoding="utf-8") as log:
        threads = [threading.Thread(target=poster,
                                    args=(j, agent, key, urls, ca, seconds, log))
                   for agent, key in agents for j in range(len(urls))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if failures:
        sys.exit("\n".join(failures[:20]))
    print("posted %d retried %d" % (counts["posted"], counts["retried"]))


if __name__ == "__main__":
    main()
