#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""collector_client.py: test clients of the collector integration tests.

Real TLS (Python's ssl, OpenSSL) against the real collector, for what curl
cannot do: hold a request half-sent, send bytes that are not TLS, open a
thousand slow connections, post in a loop while the database goes away.

  make AGENT SEQ [--age-days D] [--procs N] [--remotes N]   print a snapshot
  unread-body URL CA          a 2 MiB Content-Length: 413 before any body byte
  oversize URL CA KEY ADMIN   bodies over the limit from clients that keep sending
                              (http.client, urllib): they read the 413; an endless,
                              a trickling and a silent body are cut at the drain's
                              limits; many at once: only a bounded number drain
  garbage URL                 random bytes, then plain HTTP: the server must close
  abort-handshakes URL N      N times: a real ClientHello, then a TCP reset
  limits URL CA               against --body-budget-mb 1 --max-connections 4
                              --body-timeout 2 --idle-timeout 2: a second large body
                              gets 429, a fifth connection is closed, a slow body and
                              an idle keep-alive connection are closed in time
  slowloris URL CA N TIMEOUT  N TLS connections sending one byte per second, and a
                              client making a new TLS connection every second
  ingest-loop URL CA KEY AGENT SECONDS OUT [--stop-file F]   post snapshots one
                              by one (until F exists)
  rejections URL CA KEY AGENT  reads cases NAME|MUTATION|PATH from stdin: each
                              MUTATION (python, of a snapshot d or a batch b; it
                              sets out) is posted, and must get 400 invalid whose
                              message starts with PATH; one process, one
                              keep-alive connection for the lot
  revoke-race CA KEY AGENT SEQ0 URL... -- CMD...   post with KEY to every URL
                              (200 each), run CMD (a revocation), then post to
                              each URL every 0.1 s until it answers 401
                              node_invalid; prints the seconds per URL; fails
                              when one takes over 5 s or answers 200 after 401
"""
import argparse
import asyncio
import copy
import datetime
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "data", "snapshot_protocol_example.json")


def snapshot(agent_id, seq, taken_at=None, procs=None, remotes=None):
    """A valid snapshot: docs/protocol.md's example with the given identity."""
    with open(EXAMPLE, encoding="utf-8") as f:
        d = json.load(f)
    d["agent_id"] = agent_id
    d["seq"] = seq
    d["taken_at"] = (taken_at or datetime.datetime.now(datetime.timezone.utc)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    if procs is not None:
        p0 = d["processes"][0]
        d["processes"] = []
        for i in range(procs):
            p = copy.deepcopy(p0)
            p["pid"] = 1000 + i
            p["name"] = "proc%d.exe" % i
            p["tcp_ports"] = 100 - i
            d["processes"].append(p)
    if remotes is not None:
        d["remotes"] = [{"addr": "10.0.%d.%d" % (i // 250, i % 250 + 1), "port": 443,
                         "count": 50 - i} for i in range(remotes)]
    return d


def split(url):
    u = urllib.parse.urlparse(url)
    return u.hostname, u.port


def tls_ctx(ca):
    ctx = ssl.create_default_context(cafile=ca)
    return ctx


def cmd_make(a):
    taken = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=a.age_days)
    print(json.dumps(snapshot(a.agent, a.seq, taken, a.procs, a.remotes)))


def read_response(s, deadline):
    """Reads until the peer closes or deadline; returns the bytes."""
    data = b""
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        while time.time() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ssl.SSLError, ConnectionResetError):
        pass
    return data


def read_answer(s, deadline):
    """Reads one complete answer (head and Content-Length body), or until
    the peer closes or deadline; returns the bytes. Unlike read_response it
    does not wait for the close: after an answer to a body it has not read,
    the collector keeps the connection open a while to drain that body."""
    data = b""
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        while time.time() < deadline:
            end = data.find(b"\r\n\r\n")
            if end >= 0:
                length = 0
                for line in data[:end].split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                if len(data) >= end + 4 + length:
                    break
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ssl.SSLError, ConnectionResetError):
        pass
    return data


def cmd_unread_body(a):
    """Announces a 2 MiB body, sends none of it, and expects 413 and a close."""
    host, port = split(a.url)
    with socket.create_connection((host, port), timeout=10) as raw:
        with tls_ctx(a.ca).wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"POST /v1/snapshots HTTP/1.1\r\nHost: localhost\r\n"
                      b"Authorization: Bearer 00\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 2097152\r\n\r\n")
            t0 = time.time()
            data = read_response(s, t0 + 5)
    head = data.split(b"\r\n", 1)[0].decode(errors="replace")
    closed = time.time() - t0 < 5
    print("status line: %s; connection closed by server: %s; body bytes sent: 0" % (head, closed))
    if not head.startswith("HTTP/1.1 413") or not closed:
        sys.exit(1)


def cmd_oversize(a):
    """A body over the limit: the client that keeps sending reads the 413
    (the collector answers early, then drains what still comes, within
    bounds), and the bounds hold."""
    host, port = split(a.url)
    ctx = tls_ctx(a.ca)
    ok = True
    limit = 1024 * 1024

    # 1. http.client sends the whole 2 MiB body before it reads anything.
    body = b"[" + b" " * (2 * limit) + b"]"
    t0 = time.time()
    try:
        c = http.client.HTTPSConnection(host, port, context=ctx, timeout=30)
        c.request("POST", "/v1/snapshots", body=body,
                  headers={"Authorization": "Bearer " + a.key,
                           "Content-Type": "application/json"})
        r = c.getresponse()
        payload = r.read().decode(errors="replace")
        got = "%d %s" % (r.status, payload)
        good = r.status == 413 and json.loads(payload).get("error") == "too_large"
        c.close()
    except (OSError, http.client.HTTPException, ValueError) as e:
        got, good = "no answer: %r" % e, False
    print("http.client, %d-byte body: %s (%.2f s)" % (len(body), got, time.time() - t0))
    ok = ok and good

    # 2. urllib, the client the protocol's users reach for, 3 MiB.
    import urllib.error
    import urllib.request
    req = urllib.request.Request(a.url + "/v1/snapshots", data=b"x" * (3 * limit), method="POST",
                                 headers={"Authorization": "Bearer " + a.key,
                                          "Content-Type": "application/json"})
    t0 = time.time()
    try:
        urllib.request.urlopen(req, context=ctx, timeout=30)
        got, good = "200?", False
    except urllib.error.HTTPError as e:
        payload = e.read().decode(errors="replace")
        got = "%d %s" % (e.code, payload)
        good = e.code == 413 and "too_large" in payload
    except (OSError, ValueError) as e:
        got, good = "no answer: %r" % e, False
    print("urllib, %d-byte body: %s (%.2f s)" % (3 * limit, got, time.time() - t0))
    ok = ok and good

    def tls():
        return ctx.wrap_socket(socket.create_connection((host, port), timeout=30),
                               server_hostname="localhost")

    def head(length):
        return ("POST /v1/snapshots HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
                "Content-Length: %d\r\n\r\n" % (a.key, length)).encode()

    # 3. A client that never stops: 256 MiB announced, sent as fast as it
    #    goes. The collector stops draining after its byte cap.
    s = tls()
    s.sendall(head(256 * limit))
    chunk = b"y" * 65536
    sent = 0
    t0 = time.time()
    try:
        while sent < 256 * limit and time.time() - t0 < 60:
            s.sendall(chunk)
            sent += len(chunk)
    except (OSError, ssl.SSLError):
        pass
    took = time.time() - t0
    s.close()
    print("endless body: the collector closed after %.1f MiB, %.2f s" % (sent / limit, took))
    ok = ok and sent < 256 * limit and sent <= a.drain_cap_mib * limit + 8 * limit

    # 4. A client that trickles: one byte every second, after the 413. The
    #    idle timeout never fires; the time cap does.
    s = tls()
    s.sendall(head(2 * limit))
    t0 = time.time()
    closed = None
    try:
        while time.time() - t0 < 60:
            s.sendall(b"z")
            time.sleep(1.0)
    except (OSError, ssl.SSLError):
        closed = time.time() - t0
    s.close()
    print("trickling body: closed after %s" % ("%.1f s" % closed if closed else "over 60 s"))
    ok = ok and closed is not None and closed <= a.drain_time_s + 5

    # 5. A silent client: announces 2 MiB, sends nothing; closed after the
    #    drain's idle timeout, its 413 read.
    s = tls()
    s.sendall(head(2 * limit))
    t0 = time.time()
    data = read_response(s, t0 + 30)
    took = time.time() - t0
    s.close()
    status = data.split(b"\r\n", 1)[0].decode(errors="replace")
    print("silent client: %s, closed after %.1f s" % (status, took))
    ok = ok and status.startswith("HTTP/1.1 413") and took < 10

    # 6. Many at once: each drain holds a connection (it counts in
    #    --max-connections) and at most a quarter of them drain together;
    #    the others are closed right after their 413.
    before = json.loads(admin_get(a, "/v1/status")).get("drain", {})
    socks = [tls() for _ in range(a.many)]
    for s in socks:
        s.sendall(head(2 * limit))
    statuses = [read_response(s, time.time() + 30).split(b"\r\n", 1)[0] for s in socks]
    after = json.loads(admin_get(a, "/v1/status")).get("drain", {})
    for s in socks:
        s.close()
    started = after.get("started", 0) - before.get("started", 0)
    refused = after.get("refused", 0) - before.get("refused", 0)
    print("%d over-limit clients at once: answers %s; drained %d, closed at once %d" %
          (a.many, sorted(set(x.decode(errors="replace") for x in statuses)), started, refused))
    ok = ok and all(x.startswith(b"HTTP/1.1 413") for x in statuses)
    ok = ok and started <= a.drain_conns and started + refused == a.many
    sys.exit(0 if ok else 1)


def admin_get(a, path):
    host, port = split(a.url)
    c = http.client.HTTPSConnection(host, port, context=tls_ctx(a.ca), timeout=30)
    c.request("GET", path, headers={"Authorization": "Bearer " + a.admin})
    r = c.getresponse()
    out = r.read().decode()
    c.close()
    return out


def cmd_garbage(a):
    """Non-TLS bytes on the TLS port: each connection must be closed promptly."""
    host, port = split(a.url)
    cases = [("random bytes", os.urandom(4096)),
             ("plain HTTP", b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"),
             ("TLS record header then junk", b"\x16\x03\x01\x00\x05hello" + os.urandom(64))]
    ok = True
    for name, payload in cases:
        with socket.create_connection((host, port), timeout=10) as s:
            t0 = time.time()
            s.sendall(payload)
            data = read_response(s, t0 + 5)
            dt = time.time() - t0
        closed = dt < 5
        http_answer = b"HTTP/" in data
        print("%s: closed after %.3f s, %d bytes back, plain HTTP answer: %s" %
              (name, dt, len(data), http_answer))
        ok = ok and closed and not http_answer
    sys.exit(0 if ok else 1)


def cmd_abort_handshakes(a):
    """Sends a real ClientHello and resets the connection at once, N times:
    the server is then mid-handshake (on a TLS thread) when the reset comes."""
    import struct
    host, port = split(a.url)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for _ in range(a.n):
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        hello = outgoing.read()
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(hello)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    print("%d handshakes aborted with a reset" % a.n)


def cmd_limits(a):
    """Checks the memory budget for bodies and the connection cap of a
    collector started with --body-budget-mb 1 --max-connections 4."""
    host, port = split(a.url)
    ctx = tls_ctx(a.ca)
    head = (b"POST /v1/snapshots HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer k\r\n"
            b"Content-Length: 700000\r\n\r\n")

    def tls():
        return ctx.wrap_socket(socket.create_connection((host, port), timeout=10),
                               server_hostname="localhost")
    ok = True
    c1 = tls()
    c1.sendall(head + b"{" * 1000)  # holds 700000 bytes of the 1 MiB budget
    time.sleep(0.3)
    c2 = tls()
    c2.sendall(head)
    data = read_answer(c2, time.time() + 5)
    status = data.split(b"\r\n", 1)[0].decode(errors="replace")
    print("second 700000-byte body while the first is being read: %s" % status)
    ok = ok and status.startswith("HTTP/1.1 429") and b"Retry-After:" in data
    c2.close()
    c3, c4 = tls(), tls()  # with c1: 3 open
    c5 = tls()             # 4: the limit
    refused = False
    try:
        c6 = tls()
        c6.settimeout(3)
        refused = c6.recv(1) == b""
    except (ConnectionError, ssl.SSLError, OSError):
        refused = True
    print("fifth connection with four open and --max-connections 4: %s" %
          ("closed by the server" if refused else "served"))
    ok = ok and refused
    for c in (c1, c3, c4, c5):
        c.close()
    time.sleep(0.3)
    c7 = tls()  # room again
    c7.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    data = read_response(c7, time.time() + 5)
    print("after closing them: %s" % data.split(b"\r\n", 1)[0].decode(errors="replace"))
    ok = ok and data.startswith(b"HTTP/1.1 200")

    # a body that stops coming: closed at the body deadline (2 s)
    c8 = tls()
    c8.sendall(b"POST /v1/enroll HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{")
    t0 = time.time()
    data = read_response(c8, t0 + 6)
    dt = time.time() - t0
    print("body stalled after 1 of 100 bytes: closed after %.2f s, %d bytes back" % (dt, len(data)))
    ok = ok and 1.5 <= dt <= 3.5 and data == b""
    # an idle keep-alive connection: closed at the idle deadline (2 s)
    c9 = tls()
    c9.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    first = c9.recv(4096)
    t0 = time.time()
    data = read_response(c9, t0 + 6)
    dt = time.time() - t0
    print("idle keep-alive connection after one answer (%s): closed after %.2f s" %
          (first.split(b"\r\n", 1)[0].decode(errors="replace"), dt))
    ok = ok and first.startswith(b"HTTP/1.1 200") and 1.5 <= dt <= 3.5
    sys.exit(0 if ok else 1)


async def slow_conn(host, port, ctx, stats, timeout, handshakes):
    """One attacker connection: TCP connect, TLS handshake, then one byte of
    a request head per second until the server closes (given up timeout +
    12 s after the connect). The time counts from the TCP connect, where
    the server's header deadline starts too. At most `handshakes`
    (a semaphore) connect and shake hands at once, as a slowloris attacker
    would: the attack is the slow head, and a loaded machine cannot finish
    a thousand handshakes within the header timeout at once (then none
    would reach the head)."""
    async with handshakes:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except Exception as e:  # noqa: BLE001 - counted, reported
            stats["connect_failed"] += 1
            stats["errors"].append(repr(e))
            return
        t0 = time.monotonic()
        stop_at = t0 + timeout + 12
        stats["connected"] += 1
        try:
            await writer.start_tls(ctx, server_hostname="localhost")
        except (ConnectionError, ssl.SSLError, OSError):
            # the header deadline covers the handshake too: when the
            # machine cannot finish the handshakes in time, the server
            # closes the rest before they send a byte of HTTP
            stats["closed_in_handshake"] += 1
            stats["closed_after"].append(time.monotonic() - t0)
            stats["bytes_sent"].append(0)
            return
    stats["in_head"] += 1
    head = b"POST /v1/snapshots HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 200
    i = 0
    closed_at = None
    while time.monotonic() < stop_at:
        try:
            writer.write(head[i % len(head):i % len(head) + 1])
            await writer.drain()
            i += 1
            # one byte per second; a read that ends means the server closed
            data = await asyncio.wait_for(reader.read(1024), timeout=1.0)
            if data == b"":
                closed_at = time.monotonic()
                break
        except asyncio.TimeoutError:
            continue
        except (ConnectionError, ssl.SSLError, OSError):
            closed_at = time.monotonic()
            break
    if closed_at is not None:
        stats["closed_after"].append(closed_at - t0)
        stats["bytes_sent"].append(i)
    try:
        writer.close()
    except Exception:  # noqa: BLE001
        pass


async def healthz(reader, writer, close):
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n" +
                 (b"Connection: close\r\n" if close else b"") + b"\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await asyncio.wait_for(reader.readexactly(length), timeout=10)
    return head.startswith(b"HTTP/1.1 200")


async def newconn_client(host, port, ctx, stats, burst_over, want):
    """A client that opens a new TLS connection for each request, once a
    second: it queues behind the attackers' handshakes (all on the TLS
    threads), so on a busy machine it may wait past the header timeout
    while the burst lasts. Reported; once the burst is over (every slow
    connection closed) it goes on until `want` of its connections in a row
    have succeeded, for 60 s at most."""
    after = 0
    while after < want and not (burst_over.is_set() and
                                time.monotonic() > stats["burst_end"] + 60):
        t0 = time.monotonic()
        over = burst_over.is_set()
        try:
            reader, writer = await asyncio.open_connection(host, port, ssl=ctx,
                                                           server_hostname="localhost")
            ok = await healthz(reader, writer, True)
            writer.close()
        except Exception as e:  # noqa: BLE001
            ok = False
            stats["errors"].append("new connection: " + repr(e))
        stats["nc_ok" if ok else "nc_failed"] += 1
        stats["nc_last"] = ok
        if ok:
            stats["nc_latency"].append(time.monotonic() - t0)
        if over:
            after = after + 1 if ok else 0
            stats["nc_after_burst"] = after
        await asyncio.sleep(1.0)


async def loop_lag(stats, done):
    """How late this client's own event loop runs (a thousand TLS
    connections in one Python thread on a loaded machine): the largest
    delay of a 0.1 s sleep. A close the server made on time is seen this
    much later at most."""
    while not done.is_set():
        t0 = time.monotonic()
        await asyncio.sleep(0.1)
        stats["lag"] = max(stats["lag"], time.monotonic() - t0 - 0.1)


def summary(name, values):
    v = sorted(values)
    if not v:
        return "%s: none" % name
    return "%s: median %.3f s, p95 %.3f s, max %.3f s" % (name, v[len(v) // 2],
                                                        v[int(len(v) * 0.95)], v[-1])


async def slowloris(a):
    host, port = split(a.url)
    ctx = tls_ctx(a.ca)
    stats = {"connected": 0, "connect_failed": 0, "closed_after": [], "bytes_sent": [],
             "in_head": 0, "closed_in_handshake": 0,
             "nc_ok": 0, "nc_failed": 0, "nc_after_burst": 0,
             "nc_latency": [], "errors": [], "lag": 0.0, "burst_end": 0.0}
    handshakes = asyncio.Semaphore(100)
    burst_over, done = asyncio.Event(), asyncio.Event()
    want = max(1, a.timeout // 2)
    nc = asyncio.create_task(newconn_client(host, port, ctx, stats, burst_over, want))
    lag = asyncio.create_task(loop_lag(stats, done))
    tasks = []
    for i in range(a.n):
        tasks.append(asyncio.create_task(slow_conn(host, port, ctx, stats, a.timeout,
                                                   handshakes)))
        if i % 100 == 99:
            await asyncio.sleep(0.1)
    await asyncio.gather(*tasks)
    stats["burst_end"] = time.monotonic()
    burst_over.set()
    await nc
    done.set()
    await lag
    closed = stats["closed_after"]
    bound = a.timeout + 2.0 + stats["lag"]
    print("slow connections: %d connected, %d failed to connect, %d closed by the server "
          "(%d while sending the head one byte a second, %d still in the TLS handshake)" %
          (stats["connected"], stats["connect_failed"], len(closed), stats["in_head"],
           stats["closed_in_handshake"]))
    if closed:
        print("closed after (from TCP connect): min %.2f s, max %.2f s (header timeout %d s; "
              "bound %.2f s: 2 s + this client's largest loop lag, %.2f s); bytes sent per "
              "connection before the close: max %d" %
              (min(closed), max(closed), a.timeout, bound, stats["lag"],
               max(stats["bytes_sent"])))
    print("new-connection client: %d ok, %d failed; %d in a row ok after the burst (want %d); %s" %
          (stats["nc_ok"], stats["nc_failed"], stats["nc_after_burst"], want,
           summary("latency", stats["nc_latency"])))
    for e in stats["errors"][:5]:
        print("error:", e)
    ok = (stats["connected"] == a.n and len(closed) == a.n and max(closed) <= bound
          and stats["in_head"] >= a.n // 10
          and stats["nc_last"] and stats["nc_after_burst"] >= want)
    return 0 if ok else 1


def cmd_slowloris(a):
    sys.exit(asyncio.run(slowloris(a)))


def cmd_ingest_loop(a):
    """Posts one snapshot at a time (seq 1, 2, ...) over one keep-alive
    connection for a.seconds, or until the file a.stop_file exists, like an
    agent draining a spool quickly. On 503 it checks Retry-After, waits a
    little and resends the same seq. Writes one JSON line per answer to
    a.out: {"seq", "status", "retry_after"}."""
    host, port = split(a.url)
    ctx = tls_ctx(a.ca)
    conn = None
    seq = 1
    end = time.time() + a.seconds
    with open(a.out, "w", encoding="utf-8") as out:
        while time.time() < end and not (a.stop_file and os.path.exists(a.stop_file)):
            body = json.dumps(snapshot(a.agent, seq, procs=3, remotes=3)).encode()
            try:
                if conn is None:
                    conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=10)
                conn.request("POST", "/v1/snapshots", body=body,
                             headers={"Authorization": "Bearer " + a.key,
                                      "Content-Type": "application/json"})
                r = conn.getresponse()
                payload = r.read()
                rec = {"seq": seq, "status": r.status, "retry_after": r.getheader("Retry-After"),
                       "body": payload.decode(errors="replace")}
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                rec = {"seq": seq, "status": 0, "retry_after": None, "body": repr(e)}
                if conn:
                    conn.close()
                conn = None
            out.write(json.dumps(rec) + "\n")
            out.flush()
            if rec["status"] == 200:
                seq += 1
            else:
                time.sleep(0.2)
    if conn:
        conn.close()


def cmd_rejections(a):
    host, port = split(a.url)
    conn = http.client.HTTPSConnection(host, port, context=tls_ctx(a.ca), timeout=60)
    n = 0
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        name, mutation, path = line.split("|", 2)
        d = snapshot(a.agent, 100)
        b = {"snapshots": [snapshot(a.agent, 101), snapshot(a.agent, 102),
                           snapshot(a.agent, 103)]}
        ns = {"d": d, "b": b, "out": d}
        exec(mutation, ns)  # noqa: S102 - the test's own table
        body = json.dumps(ns["out"], separators=(",", ":")).encode()
        for attempt in (1, 2):
            try:
                conn.request("POST", "/v1/snapshots", body=body,
                             headers={"Authorization": "Bearer " + a.key,
                                      "Content-Type": "application/json"})
                r = conn.getresponse()
                text = r.read().decode(errors="replace")
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # the server may end a keep-alive connection between requests
                conn.close()
                if attempt == 2:
                    raise
        if r.getheader("Connection", "").lower() == "close":
            conn.close()
        if r.status != 400:
            print("FAIL: %s: status %d, expected 400 (%s)" % (name, r.status, text))
            sys.exit(1)
        try:
            err = json.loads(text)
            assert err["error"] == "invalid"
            msg = err["message"]
        except (ValueError, KeyError, AssertionError):
            print("FAIL: %s: not an invalid error: %s" % (name, text))
            sys.exit(1)
        if not msg.startswith(path):
            print("FAIL: %s: message '%s' does not start with '%s'" % (name, msg, path))
            sys.exit(1)
        print("ok: 400 %s: %s" % (name, msg), flush=True)
        n += 1
    print("%d rejections, each naming its path" % n)
    sys.exit(0 if n else 1)


def post_one(conn, key, body):
    conn.request("POST", "/v1/snapshots", body=body,
                 headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, r.read().decode(errors="replace")


def cmd_revoke_race(a):
    """A revoked key must stop working within 5 s on every collector, each
    of which has just accepted it (so it is in their caches). Timed from
    the moment the revocation command returned (its transaction committed
    before): a 200 to a request sent more than 5 s after that is a
    collector honouring a key revoked over 5 s ago, whatever the load (a
    request is decided after it is sent); the time the command took to
    start and run is not the collector's. The first 401 after the command
    started is printed as before."""
    if "--" not in a.rest:
        print("revoke-race: expected URL... -- CMD...")
        sys.exit(2)
    cut = a.rest.index("--")
    a.urls, a.command = a.rest[:cut], a.rest[cut + 1:]
    ctx = tls_ctx(a.ca)
    conns = [http.client.HTTPSConnection(*split(u), context=ctx, timeout=10) for u in a.urls]
    seq = a.seq0
    for u, c in zip(a.urls, conns):
        st, body = post_one(c, a.key, json.dumps(snapshot(a.agent, seq)).encode())
        seq += 1
        if st != 200:
            print("%s: warm-up post answered %d %s" % (u, st, body))
            sys.exit(1)
    t0 = time.monotonic()
    done = subprocess.run(a.command, capture_output=True, text=True, check=False)
    t_done = time.monotonic()
    print("revocation command exited %d after %.2f s: %s%s" % (
        done.returncode, t_done - t0, done.stdout.strip(), done.stderr.strip()))
    if done.returncode != 0:
        sys.exit(1)
    first_401 = [None] * len(conns)
    late_200 = [0] * len(conns)
    ok = True
    while time.monotonic() - t_done < 15 and None in first_401:
        for i, c in enumerate(conns):
            sent = time.monotonic()
            st, body = post_one(c, a.key, json.dumps(snapshot(a.agent, seq)).encode())
            seq += 1
            t = time.monotonic() - t0
            if st == 401 and "node_invalid" in body:
                if first_401[i] is None:
                    first_401[i] = t
            elif st == 200 and first_401[i] is not None:
                print("%s: 200 at %.2f s after a 401 at %.2f s" % (a.urls[i], t, first_401[i]))
                ok = False
            elif st == 200 and sent - t_done > 5.0:
                late_200[i] += 1
            elif st != 200:
                print("%s: unexpected %d %s" % (a.urls[i], st, body))
                ok = False
        time.sleep(0.1)
    for u, t, late in zip(a.urls, first_401, late_200):
        if t is None:
            print("%s: still accepting the revoked key 15 s after the revocation" % u)
            ok = False
        else:
            print("%s: 401 node_invalid %.2f s after the revocation command started" % (u, t))
        if late:
            print("%s: %d answers 200 to requests sent over 5 s after the revocation" % (u, late))
            ok = False
    for c in conns:
        c.close()
    sys.exit(0 if ok else 1)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("agent")
    m.add_argument("seq", type=int)
    m.add_argument("--age-days", type=float, default=0)
    m.add_argument("--procs", type=int)
    m.add_argument("--remotes", type=int)
    m.set_defaults(fn=cmd_make)
    u = sub.add_parser("unread-body")
    u.add_argument("url")
    u.add_argument("ca")
    u.set_defaults(fn=cmd_unread_body)
    ov = sub.add_parser("oversize")
    ov.add_argument("url")
    ov.add_argument("ca")
    ov.add_argument("key")
    ov.add_argument("admin")
    ov.add_argument("--drain-cap-mib", type=int, default=16)
    ov.add_argument("--drain-time-s", type=float, default=10)
    ov.add_argument("--drain-conns", type=int, default=1)
    ov.add_argument("--many", type=int, default=3)
    ov.set_defaults(fn=cmd_oversize)
    g = sub.add_parser("garbage")
    g.add_argument("url")
    g.set_defaults(fn=cmd_garbage)
    ab = sub.add_parser("abort-handshakes")
    ab.add_argument("url")
    ab.add_argument("n", type=int)
    ab.set_defaults(fn=cmd_abort_handshakes)
    li = sub.add_parser("limits")
    li.add_argument("url")
    li.add_argument("ca")
    li.set_defaults(fn=cmd_limits)
    s = sub.add_parser("slowloris")
    s.add_argument("url")
    s.add_argument("ca")
    s.add_argument("n", type=int)
    s.add_argument("timeout", type=int)
    s.set_defaults(fn=cmd_slowloris)
    rr = sub.add_parser("revoke-race")
    rr.add_argument("ca")
    rr.add_argument("key")
    rr.add_argument("agent")
    rr.add_argument("seq0", type=int)
    rr.add_argument("rest", nargs=argparse.REMAINDER, help="URL... -- CMD...")
    rr.set_defaults(fn=cmd_revoke_race)
    i = sub.add_parser("ingest-loop")
    i.add_argument("url")
    i.add_argument("ca")
    i.add_argument("key")
    i.add_argument("agent")
    i.add_argument("seconds", type=float)
    i.add_argument("out")
    i.add_argument("--stop-file")
    i.set_defaults(fn=cmd_ingest_loop)
    rj = sub.add_parser("rejections")
    rj.add_argument("url")
    rj.add_argument("ca")
    rj.add_argument("key")
    rj.add_argument("agent")
    rj.set_defaults(fn=cmd_rejections)
    a = p.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
