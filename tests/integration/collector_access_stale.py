#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""collector_access_stale.py: the clients of collector_access_stale.sh.

  get URL CA PATH [TOKEN|cookie:ID]
      one GET; prints the status and the "error" of a JSON answer
  signin URL CA TOKEN
      signs in at URL's /report; prints the session id of the cookie
  stale URL_A URL_B CA ADMIN PID TOKEN_ID TOKEN STALE_MS OUT
      the bound itself: stops the process PID (collector A's refresh
      backend) with SIGSTOP, reads CLOCK_MONOTONIC right after (t0), revokes
      token TOKEN_ID through collector B, then asks A with TOKEN every 0.2 s
      until it answered 503 five times or 30 s passed (a bound only a
      collector that never refuses reaches). Writes one line per request
      to OUT: "<sent - t0 in ms> <status> <error>", and says on the last
      line of stdout: "first_503_ms=N late_200=N". late_200 counts answers
      200 to requests sent more than STALE_MS after t0: the table A had
      was read by a refresh that started before t0 (every refresh after
      it hangs on the stopped backend), so such a 200 is A using a table
      older than its bound, whatever the scheduling of this test
      (a request is decided after it is sent). The process stays stopped:
      the shell resumes it.
"""
import http.client
import json
import os
import signal
import ssl
import sys
import time
import urllib.parse


def conn(url, ca):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPSConnection(u.hostname, u.port,
                                       context=ssl.create_default_context(cafile=ca),
                                       timeout=30)


def request(url, ca, method, path, cred=None, body=None, form=None):
    headers = {}
    if cred and cred.startswith("cookie:"):
        headers["Cookie"] = "pf_session=" + cred[len("cookie:"):]
    elif cred:
        headers["Authorization"] = "Bearer " + cred
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    c = conn(url, ca)
    try:
        c.request(method, path, body=data, headers=headers)
        r = c.getresponse()
        text = r.read()
        error = ""
        if r.getheader("Content-Type", "").startswith("application/json"):
            try:
                error = json.loads(text).get("error", "")
            except ValueError:
                error = "not-json"
        return r.status, error, r
    finally:
        c.close()


def main():
    a = sys.argv[1:]
    if a[0] == "get":
        url, ca, path = a[1:4]
        status, error, _ = request(url, ca, "GET", path, a[4] if len(a) > 4 else None)
        print(status, error or "-")
    elif a[0] == "signin":
        url, ca, token = a[1:4]
        status, _, r = request(url, ca, "POST", "/report/signin", form={"token": token})
        cookie = r.getheader("Set-Cookie", "")
        if status != 303 or not cookie.startswith("pf_session="):
            sys.exit("sign-in answered %d, cookie %r" % (status, cookie[:20]))
        print(cookie[len("pf_session="):].split(";")[0])
    elif a[0] == "stale":
        url_a, url_b, ca, admin, pid, token_id, token, stale_ms, out = a[1:10]
        stale_ms = int(stale_ms)
        os.kill(int(pid), signal.SIGSTOP)
        t0 = time.monotonic()
        status, error, _ = request(url_b, ca, "POST", "/v1/tokens/revoke", admin,
                                   body={"id": int(token_id)})
        if status != 200:
            sys.exit("revoking through B answered %d %s" % (status, error))
        first_503, late_200, n503 = -1, 0, 0
        with open(out, "w", encoding="utf-8") as f:
            while n503 < 5 and time.monotonic() - t0 < 30:
                sent = time.monotonic()
                try:
                    status, error, _ = request(url_a, ca, "GET", "/v1/hosts", token)
                except (OSError, http.client.HTTPException) as e:
                    status, error = 0, type(e).__name__
                ms = int((sent - t0) * 1000)
                f.write("%d %d %s\n" % (ms, status, error or "-"))
                if status == 200 and ms > stale_ms:
                    late_200 += 1
                if status == 503:
                    n503 += 1
                    if first_503 < 0:
                        first_503 = ms
                time.sleep(0.2)
        print("first_503_ms=%d late_200=%d" % (first_503, late_200))
    else:
        sys.exit("usage: see the file's docstring")


if __name__ == "__main__":
    main()
