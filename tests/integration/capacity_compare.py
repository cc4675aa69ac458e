#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# capacity_compare.py A.json B.json: two answers of the capacity engine
# (GET /v1/findings or /v1/plan, or fleetsim local) must say the same:
# every field equal except agent ids (the collector assigns its own) and
# the order of findings with equal sort keys. Used to show that the SQL
# rollups (collector) and the in-memory fold (fleetsim local) agree.
import json
import sys


def norm(doc):
    doc = dict(doc)
    doc.pop("generated_at", None)
    if "findings" in doc:
        fs = []
        for f in doc["findings"]:
            f = dict(f)
            f.pop("agent_id", None)
            # A host finding's id names its agent, which the API and the
            # in-memory fold number differently.
            if f.get("host"):
                f.pop("id", None)
            fs.append(f)
        fs.sort(key=lambda f: json.dumps(f, sort_keys=True))
        doc["findings"] = fs
    if "sites" in doc:
        sites = []
        for s in doc["sites"]:
            s = dict(s)
            s["range_changes"] = sorted(
                ({k: v for k, v in c.items() if k != "agent_id"} for c in s.get("range_changes", [])),
                key=lambda c: c["host"])
            sites.append(s)
        doc["sites"] = sorted(sites, key=lambda s: s["site"])
    return doc


def main():
    a, b = (norm(json.load(open(p))) for p in sys.argv[1:3])
    if a == b:
        print("same: %s and %s" % (sys.argv[1], sys.argv[2]))
        return 0
    for key in sorted(set(a) | set(b)):
        if a.get(key) == b.get(key):
            continue
        av, bv = a.get(key), b.get(key)
        if isinstance(av, list) and isinstance(bv, list):
            for x in av:
                if x not in bv:
                    print("only in %s: %s" % (sys.argv[1], json.dumps(x, sort_keys=True)))
            for x in bv:
                if x not in av:
                    print("only in %s: %s" % (sys.argv[2], json.dumps(x, sort_keys=True)))
        else:
            print("%s differs: %r vs %r" % (key, av, bv))
    return 1


if __name__ == "__main__":
    sys.exit(main())
