#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""alert_smtp_server.py: a real SMTP server (Debian's python3-aiosmtpd) for
the email notification tests.

  alert_smtp_server.py ADDR PORT LOG [--starttls CERT KEY]

Each message is appended to LOG as one JSON line: {"t", "from", "to",
"tls": whether STARTTLS was used, "data": the message}. With --starttls the
server offers STARTTLS with CERT/KEY and refuses mail before it.
"""
import json
import ssl
import sys
import threading
import time

from aiosmtpd.controller import Controller

addr, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()


class Handler:
    async def handle_DATA(self, server, session, envelope):
        rec = {"t": time.time(), "from": envelope.mail_from, "to": envelope.rcpt_tos,
               "tls": session.ssl is not None,
               "data": envelope.content.decode("utf-8", "replace")}
        with lock:
            with open(log, "a") as f:
                f.write(json.dumps(rec) + "\n")
        return "250 OK"


kw = {}
if len(sys.argv) > 4 and sys.argv[4] == "--starttls":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[5], sys.argv[6])
    kw = {"tls_context": ctx, "require_starttls": True}
c = Controller(Handler(), hostname=addr, port=port, **kw)
c.start()
print("listening", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    c.stop()
