#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Opens N TCP connections to ADDR PORT at the same moment, sends an HTTP
GET on each once it is established, and reads the reply. Prints one line
per connection (seconds to connect, or FAIL, its state and local port) and a summary
"ok K of N, slowest S s". Exit 0 if all N got a reply containing MATCH.

    many_conns.py ADDR PORT N TIMEOUT MATCH
"""
import selectors
import socket
import sys
import time


def main():
    addr, port, n, timeout, match = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
        float(sys.argv[4]), sys.argv[5].encode()
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    sel = selectors.DefaultSelector()
    t0 = time.monotonic()
    conns = []
    for i in range(n):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((addr, port))
        c = {"i": i, "s": s, "state": "connecting", "t": None, "buf": b"",
             "port": s.getsockname()[1]}
        conns.append(c)
        sel.register(s, selectors.EVENT_WRITE, c)
    left = n
    while left and time.monotonic() - t0 < timeout:
        for key, ev in sel.select(timeout=0.2):
            c = key.data
            s = c["s"]
            if c["state"] == "connecting":
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    c["state"] = "error %d" % err
                    sel.unregister(s)
                    left -= 1
                    continue
                c["t"] = time.monotonic() - t0
                s.send(b"GET / HTTP/1.0\r\n\r\n")
                c["state"] = "reading"
                sel.modify(s, selectors.EVENT_READ, c)
            else:
                data = s.recv(65536)
                c["buf"] += data
                if not data:
                    c["state"] = "done"
                    sel.unregister(s)
                    left -= 1
    ok = 0
    slowest = 0.0
    for c in conns:
        good = c["state"] == "done" and match in c["buf"]
        ok += good
        if good:
            slowest = max(slowest, c["t"])
        print("conn %d: %s" % (c["i"], "%.2f s" % c["t"] if good else "FAIL (%s) port %d" % (c["state"], c["port"])))
        c["s"].close()
    print("ok %d of %d, slowest %.2f s" % (ok, n, slowest))
    sys.exit(0 if ok == n else 1)


main()
