#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""collector_dictionary.py: the snapshots of collector_dictionary.sh.

  batch AGENT GROUP AGE_DAYS SEQ...   one {"snapshots": [...]} body, a
      snapshot per SEQ, taken AGE_DAYS days ago (minus SEQ minutes):
      - processes "gGROUP-procK.exe" (strings of this group only) and
        "shared.exe" (every group);
      - remotes: 10.7.0.K:443 (every snapshot: an id), 10.5.GROUP.K:80
        (every snapshot of the group: an id), and endpoints of this
        snapshot only, which go inline: IPv4 10.8.SEQ.K, IPv6 texts that
        RFC 5952 writes in every way it can (a zero run in the middle, at
        the end, two runs of the same length, a single zero group, a
        link-local address), and ::ffff:10.9.SEQ.1 (IPv4-mapped: never
        inline, an id);
      - the top destination and process 0's top remote: inline too.
"""
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import collector_client  # noqa: E402


def snap(agent, group, age, seq):
    taken = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=age)
             - datetime.timedelta(minutes=seq))
    d = collector_client.snapshot(agent, seq, taken, procs=4)
    names = ["g%s-proc%d.exe" % (group, i) for i in range(3)] + ["shared.exe"]
    for i, p in enumerate(d["processes"]):
        p["name"] = names[i]
        p["service"] = "Svc-g%s" % group if i == 0 else ""
        p["top_remote"] = {"addr": "10.7.0.%d" % (i + 1), "port": 443, "count": 5 + i}
    d["processes"][0]["top_remote"] = {"addr": "2001:db8:ffff::%x" % seq, "port": 8443,
                                       "count": 7}
    d["tcp"]["top_destination"] = {"addr": "10.6.%d.1" % seq, "port": 443, "count": 60}
    rem = [("10.7.0.%d" % k, 443) for k in range(1, 4)]
    rem += [("10.5.%s.%d" % (group, k), 80) for k in range(1, 4)]
    rem += [("10.8.%d.%d" % (seq, k), 443) for k in range(1, 4)]
    rem += [("2001:db8:%x::1" % seq, 443),            # run in the middle
            ("a:b:c:d:e:%x::" % seq, 443),            # run at the end
            ("1::1:0:0:%x" % seq, 443),               # two runs of 3: the first
            ("2001:db8:0:1:1:1:1:%x" % seq, 443),     # one zero group: written out
            ("fe80::%x" % seq, 53),
            ("::ffff:10.9.%d.1" % seq, 443)]          # mapped: an id
    d["remotes"] = [{"addr": a, "port": p, "count": 100 - i} for i, (a, p) in enumerate(rem)]
    return d


def main():
    if sys.argv[1] == "batch":
        agent, group, age = sys.argv[2], sys.argv[3], int(sys.argv[4])
        print(json.dumps({"snapshots": [snap(agent, group, age, int(s)) for s in sys.argv[5:]]}))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
