#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""record_sockdiag.py OUTDIR: records real NETLINK_SOCK_DIAG dump replies for
the parser unit tests (tests/unit/test_sockdiag.c). Run it as root inside
`unshare -n` on a kernel >= 6.8. It opens, on loopback only:
  TCP/IPv4: a listener on 127.0.0.1:7000, 2 connections to it (2 client
            sides + 2 accepted sides ESTABLISHED), one bound-only socket on
            port 7100, one TIME_WAIT (client side of a third connection)
  TCP/IPv6: a listener on [::1]:7001, 1 connection (2 ESTABLISHED sides)
  UDP/IPv4: one socket bound to 127.0.0.1:7200, one connected to 127.0.0.1:7201
and writes each dump's replies (every recv() buffer, concatenated, ending
with NLMSG_DONE) to OUTDIR/sockdiag_{tcp4,tcp6,udp4}.bin, plus an error reply
(a request for an unsupported protocol) to sockdiag_error.bin."""
import os
import socket
import struct
import sys
import time

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 1, 0x300


def dump(family, proto, states=0xFFFFFFFF):
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
    # inet_diag_req_v2: family, protocol, ext, pad, states, sockid (48 bytes)
    req = struct.pack("=BBBBI", family, proto, 0, 0, states) + b"\0" * 48
    hdr = struct.pack("=IHHII", 16 + len(req), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
    nl.sendto(hdr + req, (0, 0))
    out = b""
    while True:
        buf = nl.recv(65536)
        out += buf
        off = 0
        done = False
        while off + 16 <= len(buf):
            ln, typ = struct.unpack_from("=IH", buf, off)
            if typ in (2, 3):  # NLMSG_ERROR, NLMSG_DONE
                done = True
            off += (ln + 3) & ~3
        if done:
            return out


def main():
    outdir = sys.argv[1]
    os.system("ip link set lo up")
    with open("/proc/sys/net/ipv4/tcp_tw_reuse", "w") as f:
        f.write("0")
    l4 = socket.socket(socket.AF_INET)
    l4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l4.bind(("127.0.0.1", 7000))
    l4.listen(8)
    c = [socket.create_connection(("127.0.0.1", 7000)) for _ in range(2)]
    a = [l4.accept()[0] for _ in range(2)]
    b = socket.socket(socket.AF_INET)
    b.bind(("127.0.0.1", 7100))
    tw = socket.create_connection(("127.0.0.1", 7000))
    tws = l4.accept()[0]
    tw.close()
    time.sleep(0.05)
    tws.recv(1)
    tws.close()
    l6 = socket.socket(socket.AF_INET6)
    l6.bind(("::1", 7001))
    l6.listen(8)
    c6 = socket.create_connection(("::1", 7001))
    a6 = l6.accept()[0]
    u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u1.bind(("127.0.0.1", 7200))
    u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u2.connect(("127.0.0.1", 7201))
    time.sleep(0.2)
    for name, fam, proto in (("tcp4", socket.AF_INET, 6), ("tcp6", socket.AF_INET6, 6),
                             ("udp4", socket.AF_INET, 17)):
        with open(os.path.join(outdir, f"sockdiag_{name}.bin"), "wb") as f:
            f.write(dump(fam, proto))
    with open(os.path.join(outdir, "sockdiag_error.bin"), "wb") as f:
        f.write(dump(socket.AF_INET, 250))
    del c, a, b, c6, a6, u1, u2


if __name__ == "__main__":
    main()
