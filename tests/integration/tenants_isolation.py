#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tenants_isolation.py: two tenants on one collector, over real TLS.

Run by tenants.sh with a migrated database and two collectors on it:

  tenants_isolation.py URL1 URL2 CA OPERATOR_TOKEN DEFAULT_SECRET OUTDIR

It makes tenants acme and globex with the real command line, enrolls
agents in both (and in the default tenant) with the same site name "hq"
and the same host name, posts snapshots, then sends every request of TABLE
with every token (each tenant's read and admin token, the operator, none,
a revoked and a made-up one) and checks the status against the table, and
in every answer of a tenant token that no agent id or name of another
tenant appears (zero rows), and that its own hosts do. Then: an agent key
writing another tenant's agent_id, the same site name as two sites,
browser sessions (sign-in form, cookie flags, forged, expired, revoked,
sign-out, CSRF), bad input, and how long a revoked token keeps working on
each of the two collectors. Every answer is saved in OUTDIR/answers/ and
every secret handed out is listed in OUTDIR/secrets.txt, for tenants.sh
to grep the logs and pages for them.
"""
import datetime
import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from collector_client import snapshot  # noqa: E402

URL1, URL2, CA, OPERATOR, DEFAULT_SECRET, OUT = sys.argv[1:7]
BIN = os.environ["PF_COLLECTOR_BIN"]
DB = os.environ["PF_DB"]
CTX = ssl.create_default_context(cafile=CA)
SECRETS = []
FAILS = []
SAVED = [0]
os.makedirs(os.path.join(OUT, "answers"), exist_ok=True)


def fail(msg):
    FAILS.append(msg)
    print("FAIL: " + msg, flush=True)


def check(cond, msg):
    if not cond:
        fail(msg)
    return cond


def request(method, path, token=None, body=None, form=None, cookie=None, headers=None, base=URL1):
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPSConnection(u.hostname, u.port, context=CTX, timeout=60)
    h = {}
    data = None
    if token is not None:
        h["Authorization"] = "Bearer " + token
    if cookie is not None:
        h["Cookie"] = "pf_session=" + cookie
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        h["Content-Type"] = "application/x-www-form-urlencoded"
    h.update(headers or {})
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    b = r.read()
    hdrs = r.getheaders()
    c.close()
    SAVED[0] += 1
    with open(os.path.join(OUT, "answers", "%05d" % SAVED[0]), "wb") as f:
        f.write(("%s %s -> %d\n" % (method, path, r.status)).encode())
        for k, v in hdrs:
            f.write(("%s: %s\n" % (k, v)).encode())
        f.write(b"\n" + b)
    return r.status, hdrs, b.decode("utf-8", "replace")


def wait_until(cond, what, limit=60):
    """Polls cond() until it is true: the event a check is about (a refresh
    of a collector's tokens), not a sleep a loaded machine may outlast.
    The bound is for a hang; the latency promises are measured below."""
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > limit:
            fail("waited %d s for %s" % (limit, what))
            return False
        time.sleep(0.1)
    return True


def header(hdrs, name):
    return [v for k, v in hdrs if k.lower() == name.lower()]


def cli(*args, code=0):
    p = subprocess.run([BIN] + list(args) + ["--db", DB], capture_output=True, text=True)
    if p.returncode != code:
        fail("%s: exit %d, wanted %d: %s" % (" ".join(args), p.returncode, code, p.stderr.strip()))
    return p


def psql(sql):
    return subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", DB, "-c", sql],
                          capture_output=True, text=True, check=True).stdout.strip()


# ---- two tenants, agents in each, the same site and host names ----

T = {}
for name in ("acme", "globex"):
    p = cli("tenant", "add", name)
    d = json.loads(p.stdout)
    check(d["tenant"] == name and d["enroll_secret"].startswith("pfe_") and
          d["admin_token"].startswith("pft_") and d["read_token"].startswith("pft_"),
          "tenant add prints tenant, enroll_secret, admin_token, read_token")
    SECRETS += [d["enroll_secret"], d["admin_token"], d["read_token"]]
    T[name] = {"secret": d["enroll_secret"], "admin": d["admin_token"], "read": d["read_token"],
               "agents": {}}
T["default"] = {"secret": DEFAULT_SECRET, "agents": {}}
stored = psql("select count(*) from tokens where token_hash = sha256('%s'::bytea)" % T["acme"]["read"])
check(stored == "1", "a token is stored as its SHA-256")
check(psql("select count(*) from tokens where encode(token_hash, 'escape') like '%%pft_%%'") == "0",
      "no token in clear text in the database")

HOSTS = {"acme": [("CONN-HQ-01", "hq"), ("CONN-HQ-02", "hq"), ("ACME-DOCK-01", "dock")],
         "globex": [("CONN-HQ-01", "hq"), ("GX-LAB-01", "lab")],
         "default": [("CONN-HQ-01", "hq")]}
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
for tenant, hosts in HOSTS.items():
    for i, (host, site) in enumerate(hosts):
        st, _, b = request("POST", "/v1/enroll", body={
            "enroll_secret": T[tenant]["secret"],
            "host": {"name": host, "site": site, "machine_id": "m-%s-%d" % (tenant, i)}})
        check(st == 200, "enroll in %s: %d %s" % (tenant, st, b))
        e = json.loads(b)
        SECRETS.append(e["node_key"])
        T[tenant]["agents"][e["agent_id"]] = {"key": e["node_key"], "host": host, "site": site}
        batch = []
        for seq in range(1, 7):
            s = snapshot(e["agent_id"], seq, now - datetime.timedelta(minutes=20 * (6 - seq)))
            s["host"]["name"] = host
            s["host"]["site"] = site
            batch.append(s)
        st, _, b = request("POST", "/v1/snapshots", token=e["node_key"], body={"snapshots": batch})
        check(st == 200 and '"accepted":6' in b, "post to %s's agent: %d %s" % (tenant, st, b))
for tenant in T:
    got = psql("select string_agg(agent_id::text, ',' order by agent_id) from agents "
               "where tenant = '%s'" % tenant).split(",")
    check(set(T[tenant]["agents"]) <= set(got) and
          (tenant == "default" or len(got) == len(HOSTS[tenant])),
          "each agent is in the tenant of its enrollment secret (%s)" % tenant)

# An operator token made with the command line, and the tokens that must fail.
p = cli("token", "add", "--role", "operator")
OP2 = json.loads(p.stdout)["token"]
SECRETS.append(OP2)
p = cli("token", "add", "--tenant", "acme", "--role", "read")
REVOKED = json.loads(p.stdout)["token"]
SECRETS.append(REVOKED)
cli("token", "revoke", REVOKED)
BOGUS = "pft_" + "0" * 48
# both collectors refreshed: the new tokens are known, the revoked one gone
wait_until(lambda: all(
    request("GET", "/v1/hosts", token=t, base=u)[0] == 200
    for t in (T["acme"]["admin"], T["acme"]["read"], T["globex"]["admin"], T["globex"]["read"], OP2)
    for u in (URL1, URL2)) and all(
    request("GET", "/v1/hosts", token=REVOKED, base=u)[0] == 401 for u in (URL1, URL2)),
    "both collectors to know the new tokens and refuse the revoked one")


def other_of(tenant):
    return "globex" if tenant == "acme" else "acme"


def fresh(kind, tenant):
    """A new token, secret (command line) or agent (enrolled, never
    reporting, site tmp) of tenant, for revoke rows."""
    if kind == "agent":
        st, _, b = request("POST", "/v1/enroll", body={
            "enroll_secret": T[tenant]["secret"],
            "host": {"name": "TMP-%s" % tenant, "site": "tmp", "machine_id": "tmp"}})
        d = json.loads(b)
        SECRETS.append(d["node_key"])
        return d["agent_id"]
    if kind == "token":
        d = json.loads(cli("token", "add", "--tenant", tenant, "--role", "read").stdout)
        SECRETS.append(d["token"])
    else:
        d = json.loads(cli("secret", "add", "--tenant", tenant).stdout)
        SECRETS.append(d["enroll_secret"])
    return d["id"]


# ---- the table: endpoint x token -> expected answer ----
ACK_UNTIL = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).strftime(
    "%Y-%m-%dT%H:%M:%SZ")
# {own}/{other}: the token's tenant and the other one (for an operator:
# acme and globex). Bodies may name fresh things to revoke:
# "@token:own", "@secret:other" ... are replaced by the id of a fresh one.
TABLE = [
    # method, path, body, read, admin, operator
    ("GET", "/v1/findings", None, 200, 200, 200),
    ("GET", "/v1/findings?site=hq", None, 200, 200, 200),
    ("GET", "/v1/findings?host=CONN-HQ-01", None, 200, 200, 200),
    ("GET", "/v1/plan", None, 200, 200, 200),
    ("GET", "/v1/plan?site=hq", None, 200, 200, 200),
    ("GET", "/v1/hosts", None, 200, 200, 200),
    ("GET", "/v1/hosts?tenant={own}", None, 200, 200, 200),
    ("GET", "/v1/hosts?tenant={other}", None, 404, 404, 200),
    ("GET", "/v1/findings?tenant={other}", None, 404, 404, 200),
    ("GET", "/v1/plan?tenant={other}", None, 404, 404, 200),
    ("GET", "/report", None, 200, 200, 200),
    ("GET", "/report?tenant={other}", None, 404, 404, 200),
    ("GET", "/report?format=json", None, 200, 200, 200),
    ("GET", "/report?format=text", None, 200, 200, 200),
    ("GET", "/report?format=csv", None, 200, 200, 200),
    ("GET", "/report.csv", None, 200, 200, 200),
    ("GET", "/report.csv?tenant={other}", None, 404, 404, 200),
    ("GET", "/metrics", None, 200, 200, 200),
    ("GET", "/metrics?tenant={other}", None, 404, 404, 200),
    ("GET", "/report?token=@self", None, 401, 401, 401),
    ("GET", "/v1/findings?token=@self", None, 401, 401, 401),
    ("GET", "/v1/tokens", None, 403, 200, 200),
    ("GET", "/v1/tokens?tenant={other}", None, 403, 404, 200),
    ("POST", "/v1/tokens", {"role": "read"}, 403, 201, 400),
    ("POST", "/v1/tokens", {"role": "admin", "tenant": "{own}"}, 403, 201, 201),
    ("POST", "/v1/tokens", {"role": "read", "tenant": "{other}"}, 403, 404, 201),
    ("POST", "/v1/tokens", {"role": "operator"}, 403, 403, 201),
    ("POST", "/v1/tokens", {"role": "superuser", "tenant": "{own}"}, 403, 400, 400),
    ("POST", "/v1/tokens/revoke", {"id": "@token:own"}, 403, 200, 200),
    ("POST", "/v1/tokens/revoke", {"id": "@token:other"}, 403, 404, 200),
    ("GET", "/v1/secrets", None, 403, 200, 200),
    ("POST", "/v1/secrets", {}, 403, 201, 400),
    ("POST", "/v1/secrets", {"tenant": "{other}"}, 403, 404, 201),
    ("POST", "/v1/secrets/revoke", {"id": "@secret:own"}, 403, 200, 200),
    ("POST", "/v1/secrets/revoke", {"id": "@secret:other"}, 403, 404, 200),
    ("POST", "/v1/agents/revoke", {"agent_id": "@agent:own"}, 403, 200, 200),
    ("POST", "/v1/agents/revoke", {"agent_id": "@agent:other"}, 403, 404, 200),
    ("POST", "/v1/agents/revoke", {"agent_id": "not-an-id"}, 403, 400, 400),
    # acknowledging a finding: its tenant's admin, or an operator naming it
    ("POST", "/v1/findings/ack", {"id": "redundancy/hq", "until": ACK_UNTIL}, 403, 200, 200),
    ("POST", "/v1/findings/ack", {"id": "redundancy/hq", "until": ACK_UNTIL, "tenant": "{other}"},
     403, 404, 200),
    ("POST", "/v1/findings/ack", {"id": "redundancy/hq", "until": "later"}, 403, 400, 400),
    ("GET", "/v1/tenants", None, 403, 403, 200),
    ("POST", "/v1/tenants", {"name": "Bad_Name!"}, 403, 403, 400),
    ("POST", "/v1/tenants", {"name": "@newtenant"}, 403, 403, 201),
    ("POST", "/v1/tenants", {"name": "acme"}, 403, 403, 409),
    ("GET", "/v1/status", None, 403, 403, 200),
]

# Acknowledging findings (docs/protocol.md section 4) when this build has
# it: the finding's tenant's admin only; another tenant's finding is 404.
UNTIL = (now + datetime.timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
if request("POST", "/v1/findings/ack", token=OPERATOR, body={})[0] != 404:
    TABLE += [
        # a host finding's id names its agent: it exists in that agent's
        # tenant only, whoever names another
        ("POST", "/v1/findings/ack",
         {"id": "host_silent/@agentid:own", "until": UNTIL, "tenant": "{own}"}, 403, 200, 200),
        ("POST", "/v1/findings/ack",
         {"id": "host_silent/@agentid:other", "until": UNTIL, "tenant": "{own}"}, 403, 404, 404),
        ("POST", "/v1/findings/ack", {"id": "host_silent/@agentid:own", "until": "soon"},
         403, 400, 400),
    ]

# The report's pages of one site and one host, when this build has them.
if request("GET", "/report/site/hq", token=OPERATOR)[0] != 404:
    TABLE += [
        ("GET", "/report/site/hq", None, 200, 200, 200),
        ("GET", "/report/site/{ownsite}", None, 200, 200, 200),
        ("GET", "/report/site/{othersite}", None, 404, 404, 200),
        ("GET", "/report/site/nosuchsite", None, 404, 404, 404),
        ("GET", "/report/host/@agentid:own", None, 200, 200, 200),
        ("GET", "/report/host/@agentid:other", None, 404, 404, 200),
    ]

TOKENS = [("acme read", "acme", "read", T["acme"]["read"]),
          ("acme admin", "acme", "admin", T["acme"]["admin"]),
          ("globex read", "globex", "read", T["globex"]["read"]),
          ("globex admin", "globex", "admin", T["globex"]["admin"]),
          ("operator (--admin-token)", None, "operator", OPERATOR),
          ("operator (token add)", None, "operator", OP2),
          ("none", None, "none", None),
          ("revoked", None, "revoked", REVOKED),
          ("made up", None, "bogus", BOGUS)]


def ids_of(tenant):
    return set(T[tenant]["agents"])


# Host names only one tenant has (tenants.sh enrolled OLD-01 and NEW-01
# in the default tenant before): pages that show names, not ids, must not
# show these of another tenant.
UNIQUE = {"acme": ["CONN-HQ-02", "ACME-DOCK-01"], "globex": ["GX-LAB-01"],
          "default": ["OLD-01", "NEW-01"]}
SITE = {"acme": "dock", "globex": "lab"}  # a site only that tenant has


def leak_check(label, tenant, body):
    """Zero rows of another tenant: none of its agent ids, host names only
    it has, or its name."""
    for other in ("acme", "globex", "default"):
        if other == tenant:
            continue
        for name in UNIQUE[other]:
            if name in body:
                fail("%s: answer holds %s's host %s" % (label, other, name))
                return False
        for aid in ids_of(other):
            if aid in body:
                fail("%s: answer holds %s's agent %s" % (label, other, aid))
                return False
        if other != "default" and other in body:
            fail("%s: answer names tenant %s" % (label, other))
            return False
    return True


NEW = [0]


def substitute(v, own, other, token):
    if isinstance(v, dict):
        return {k: substitute(x, own, other, token) for k, x in v.items()}
    if isinstance(v, str):
        if v == "@newtenant":
            NEW[0] += 1
            return "initech-%d" % NEW[0]
        if "@agentid:" in v:
            head, whose = v.split("@agentid:")
            return head + sorted(ids_of(own if whose == "own" else other))[0]
        if v.startswith("@token:") or v.startswith("@secret:") or v.startswith("@agent:"):
            kind, whose = v[1:].split(":")
            return fresh(kind, own if whose == "own" else other)
        return v.replace("{own}", own).replace("{other}", other)
    return v


results = []
for method, path, body, e_read, e_admin, e_op in TABLE:
    for label, tenant, role, token in TOKENS:
        own = tenant or "acme"
        other = other_of(own)
        want = {"read": e_read, "admin": e_admin, "operator": e_op}.get(role, 401)
        p = path.replace("{own}", own).replace("{other}", other)
        p = p.replace("{ownsite}", SITE[own]).replace("{othersite}", SITE[other])
        if "@agentid:" in p:
            p = substitute(p, own, other, token)
        p = p.replace("@self", urllib.parse.quote(token or OPERATOR))
        b = substitute(body, own, other, token) if body is not None else None
        st, hdrs, text = request(method, p, token=token, body=b)
        ok = check(st == want, "%s %s as %s: %d, wanted %d (%s)" % (method, p, label, st, want,
                                                                    text[:160]))
        if st < 300 and tenant:
            ok = leak_check("%s %s as %s" % (method, p, label), tenant, text) and ok
            if p.split("?")[0] in ("/v1/hosts", "/report.csv", "/metrics") or \
                    p == "/report?format=json":
                missing = [a for a in ids_of(tenant) if a not in text]
                ok = check(not missing, "%s %s as %s: own agents missing %s" %
                           (method, p, label, missing)) and ok
            # (the HTML overview shows the most urgent hosts, not all: its
            # site pages show every host of the site)
            if p in ("/report?format=text", "/report/site/" + SITE[tenant]):
                names = UNIQUE[tenant] if p.startswith("/report?") else \
                    [h for h, site in HOSTS[tenant] if site == SITE[tenant]]
                missing = [n for n in names if n not in text]
                ok = check(not missing, "%s %s as %s: own agents missing %s" %
                           (method, p, label, missing)) and ok
        if st < 300 and role == "operator" and p in ("/v1/hosts", "/report.csv", "/metrics"):
            everyone = ids_of("acme") | ids_of("globex") | ids_of("default")
            ok = check(all(a in text for a in everyone),
                       "%s %s as operator: not every tenant's agents" % (method, p)) and ok
        if st < 300 and (b or {}).get("role") and "token" in text:
            SECRETS.append(json.loads(text)["token"])
        if st < 300 and method == "POST":
            d = json.loads(text)
            SECRETS += [d.get(k) for k in ("enroll_secret", "admin_token", "read_token") if d.get(k)]
        results.append((method, path, label, want, st, ok))

# The table with its results, as the test's record.
print("\n%-6s %-36s %-26s %8s %6s" % ("method", "endpoint", "token", "expected", "got"))
for method, path, label, want, st, ok in results:
    print("%-6s %-36s %-26s %8d %6d %s" % (method, path, label, want, st, "" if ok else "FAIL"))
print("table: %d requests, %d as expected\n" % (len(results), sum(1 for r in results if r[5])))

# ---- the same site name in two tenants is two sites ----
st, _, b = request("GET", "/v1/plan", token=OPERATOR)
hq = [(s["tenant"], s["hosts"]) for s in json.loads(b)["sites"] if s["site"] == "hq"]
# default: NEW-01 (enrolled by tenants.sh, never reported) and CONN-HQ-01;
# OLD-01's snapshot said site nyc.
check(sorted(hq) == [("acme", 2), ("default", 2), ("globex", 1)],
      "site hq is three sites to the operator (acme 2 hosts, default 2, globex 1): %s" % hq)
st, _, b = request("GET", "/v1/plan", token=T["globex"]["read"])
check([(s["tenant"], s["site"], s["hosts"]) for s in json.loads(b)["sites"] if s["site"] != "tmp"]
      == [("globex", "hq", 1), ("globex", "lab", 1)], "globex's plan: its own hq and lab")
st, _, b = request("GET", "/metrics", token=OPERATOR)
check('portfleet_site_hosts{tenant="acme",site="hq"} 2' in b and
      'portfleet_site_hosts{tenant="globex",site="hq"} 1' in b,
      "metrics: one series per (tenant, site)")
st, _, b = request("GET", "/report.csv", token=OPERATOR)
rows = [r for r in b.splitlines()[1:] if '"CONN-HQ-01"' in r]
check(sorted(r.split(",")[0] for r in rows) == ['"acme"', '"default"', '"globex"'],
      "CSV: CONN-HQ-01 once per tenant, each row naming its tenant")
st, _, b = request("GET", "/metrics", token=T["acme"]["read"])
check("portfleet_http_requests_total" not in b and st == 200,
      "metrics: the collector's own counters are for operators only")

# ---- an agent key writing another tenant's agent ----
a_id, a = next(iter(T["acme"]["agents"].items()))
g_id = next(iter(T["globex"]["agents"]))
before = psql("select count(*) from snapshot_seqs where agent_id = '%s'" % g_id)
s = snapshot(g_id, 99)
st, _, b = request("POST", "/v1/snapshots", token=a["key"], body=s)
check(st == 403 and "wrong_agent" in b, "acme's key writing globex's agent: 403 (%d %s)" % (st, b))
check(psql("select count(*) from snapshot_seqs where agent_id = '%s'" % g_id) == before,
      "nothing stored for globex's agent")

# ---- browser sessions ----
sess_tok = json.loads(cli("token", "add", "--tenant", "acme", "--role", "read").stdout)["token"]
SECRETS.append(sess_tok)
wait_until(lambda: request("GET", "/v1/hosts", token=sess_tok)[0] == 200,
           "the first collector to know the new token")
st, hdrs, b = request("GET", "/report")
check(st == 401 and '<form method="post" action="/report/signin">' in b and
      'name="token"' in b, "GET /report without a token: the sign-in form (%d)" % st)
st, hdrs, b = request("GET", "/report?token=" + sess_tok)
check(st == 401 and "not accepted" in b, "GET /report?token=: refused, with the form (%d)" % st)
st, hdrs, b = request("POST", "/report/signin", form={"token": "pft_nonsense"},
                      headers={"Origin": "https://127.0.0.1:%d" % urllib.parse.urlsplit(URL1).port})
check(st == 401 and "not valid" in b and not header(hdrs, "Set-Cookie"),
      "sign-in with a wrong token: 401, no cookie")
origin = "https://127.0.0.1:%d" % urllib.parse.urlsplit(URL1).port
st, hdrs, b = request("POST", "/report/signin", form={"token": sess_tok},
                      headers={"Origin": "https://evil.example"})
check(st == 403 and not header(hdrs, "Set-Cookie"), "sign-in posted from another site: 403")
st, hdrs, b = request("POST", "/report/signin", form={"token": sess_tok}, headers={"Origin": origin})
cookie_line = (header(hdrs, "Set-Cookie") or [""])[0]
check(st == 303 and header(hdrs, "Location") == ["/report"], "sign-in: 303 to /report (%d)" % st)
for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age="):
    check(flag in cookie_line, "session cookie has %s: %s" % (flag, cookie_line.split("=")[0]))
m = re.match(r"pf_session=([0-9a-f]{64});", cookie_line)
check(bool(m), "the cookie is a 64-hex random id")
sid = m.group(1) if m else ""
SECRETS.append(sid)
check(sess_tok not in cookie_line, "the cookie is not the token")
check(psql("select count(*) from sessions where id_hash = sha256('%s'::bytea)" % sid) == "1",
      "the session is stored as the hash of its id")
st, hdrs, b = request("GET", "/report", cookie=sid)
check(st == 200 and "/report/signout" in b and leak_check("report by cookie", "acme", b),
      "GET /report with the cookie: acme's report with a sign-out button (%d)" % st)
# a session opened on the first collector is known on the second after
# its next refresh
wait_until(lambda: request("GET", "/v1/hosts", cookie=sid, base=URL2)[0] == 200,
           "the second collector to know the session")
st, _, b = request("GET", "/v1/hosts", cookie=sid, base=URL2)
check(st == 200 and all(a in b for a in ids_of("acme")), "the session works on the second collector")
st, _, b = request("POST", "/v1/tokens", cookie=sid, body={"role": "read"}, headers={"Origin": origin})
check(st == 403, "a read session cannot make tokens (403)")
forged = "ab" * 32
st, hdrs, b = request("GET", "/report", cookie=forged)
check(st == 401 and "session has ended" in b and
      any("Max-Age=0" in v for v in header(hdrs, "Set-Cookie")),
      "a forged cookie: 401, the form, the cookie cleared")
st, _, b = request("GET", "/v1/findings", cookie="garbage")
check(st == 401 and "session_invalid" in b, "a malformed cookie: 401 session_invalid")
# CSRF: a state-changing request by cookie must be same-origin
st, _, b = request("POST", "/report/signout", cookie=sid)
check(st == 403 and "cross_origin" in b, "sign-out by cookie without Origin: 403")
st, _, b = request("POST", "/report/signout", cookie=sid, headers={"Origin": "https://evil.example"})
check(st == 403, "sign-out by cookie from another origin: 403")
st, _, b = request("POST", "/report/signout", cookie=sid,
                   headers={"Referer": "https://evil.example/report"})
check(st == 403, "sign-out by cookie with a foreign Referer: 403")
st, hdrs, b = request("POST", "/report/signout", cookie=sid, headers={"Origin": origin})
check(st == 303 and any("Max-Age=0" in v for v in header(hdrs, "Set-Cookie")),
      "sign-out from our page: 303, cookie cleared")
st, _, b = request("GET", "/report?format=json", cookie=sid)
check(st == 401, "the signed-out session is refused at once (%d)" % st)
check(psql("select count(*) from sessions where id_hash = sha256('%s'::bytea)" % sid) == "0",
      "sign-out deleted the session server side")
# expiry is the server's: a session whose time is up is refused
st, hdrs, _ = request("POST", "/report/signin", form={"token": sess_tok}, headers={"Origin": origin})
sid2 = re.match(r"pf_session=([0-9a-f]{64});", header(hdrs, "Set-Cookie")[0]).group(1)
SECRETS.append(sid2)
check(request("GET", "/v1/hosts", cookie=sid2)[0] == 200, "second session works")
psql("update sessions set expires_at = now() - interval '1 second' "
     "where id_hash = sha256('%s'::bytea)" % sid2)
t0 = time.monotonic()
while time.monotonic() - t0 < 5 and request("GET", "/v1/hosts", cookie=sid2)[0] == 200:
    time.sleep(0.1)
check(request("GET", "/v1/hosts", cookie=sid2)[0] == 401, "an expired session: 401")
# revoking a token ends its sessions
st, hdrs, _ = request("POST", "/report/signin", form={"token": sess_tok}, headers={"Origin": origin})
sid3 = re.match(r"pf_session=([0-9a-f]{64});", header(hdrs, "Set-Cookie")[0]).group(1)
SECRETS.append(sid3)
cli("token", "revoke", sess_tok)
t0 = time.monotonic()
while time.monotonic() - t0 < 5 and request("GET", "/v1/hosts", cookie=sid3)[0] == 200:
    time.sleep(0.1)
check(request("GET", "/v1/hosts", cookie=sid3)[0] == 401, "a revoked token's session: 401")

# ---- bad input ----
p = cli("token", "add", "--tenant", "acme", "--role", "superuser", code=2)
check("role: must be read, admin or operator" in p.stderr, "unknown role named: " + p.stderr.strip())
for bad in ("Acme", "a_b", "x" * 65, "", "acme corp", "ümlaut"):
    p = cli("tenant", "add", bad, code=2)
    check("a-z, 0-9" in p.stderr, "tenant name %r refused: %s" % (bad, p.stderr.strip()))
p = cli("tenant", "add", "acme", code=2)
check("exists already" in p.stderr, "a second tenant acme: " + p.stderr.strip())
p = cli("token", "add", "--tenant", "nosuch", "--role", "read", code=2)
check("no tenant" in p.stderr, "a token of a tenant that does not exist: " + p.stderr.strip())
p = cli("token", "revoke", REVOKED, code=2)
check("no such token" in p.stderr, "revoking a revoked token again: " + p.stderr.strip())
st, _, b = request("GET", "/v1/hosts?tenant=Bad_Name", token=OPERATOR)
check(st == 400 and "tenant" in b, "?tenant= with a bad name: 400 naming it")
st, _, b = request("GET", "/v1/findings", token=REVOKED)
check(st == 401 and "unknown or revoked" in b and "acme" not in b,
      "a revoked token: 401 that names no tenant")
p = cli("tenant", "list")
tl = {t["name"]: t for t in json.loads(p.stdout)["tenants"]}
for name in ("acme", "globex", "default"):
    check(tl[name]["agents"] == int(psql("select count(*) from agents where tenant = '%s' and "
                                         "revoked_at is null" % name)) and tl[name]["agents"] >= 2,
          "tenant list counts %s's agents" % name)

# ---- revocation on every collector ----
tok = json.loads(cli("token", "add", "--tenant", "globex", "--role", "read").stdout)["token"]
SECRETS.append(tok)
t0 = time.monotonic()
while time.monotonic() - t0 < 5 and not all(
        request("GET", "/v1/plan", token=tok, base=u)[0] == 200 for u in (URL1, URL2)):
    time.sleep(0.05)
known = time.monotonic() - t0
check(known < 5, "a new token works on both collectors within 5 s (%.2f s)" % known)
cli("token", "revoke", tok)
t0 = time.monotonic()
gone = {}
while time.monotonic() - t0 < 10 and len(gone) < 2:
    for u in (URL1, URL2):
        if u not in gone and request("GET", "/v1/plan", token=tok, base=u)[0] == 401:
            gone[u] = time.monotonic() - t0
    time.sleep(0.05)
check(len(gone) == 2 and max(gone.values()) < 5,
      "revoked token refused by both collectors within 5 s: %s" %
      ", ".join("%.2f s" % v for v in gone.values()))
print("revocation: a new token worked on both collectors after %.2f s; the revoked token was "
      "refused after %s" % (known, " and ".join("%.2f s" % v for v in sorted(gone.values()))))

with open(os.path.join(OUT, "secrets.txt"), "w") as f:
    f.write("\n".join(s for s in SECRETS if s) + "\n")
print("%d secrets handed out in this run, listed for the log grep" % len(SECRETS))
if FAILS:
    print("%d checks failed" % len(FAILS))
    sys.exit(1)
print("tenants_isolation: all checks passed")
