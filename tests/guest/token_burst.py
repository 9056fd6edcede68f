#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Sends N complete tokens as fast as one process can: for each, four auth
SYNs and the real SYN (IPv4, raw socket), with fresh ISNs. The token math
is tests/tools/tap_spec.py's. For the admission-limit test.

    token_burst.py KEYFILE DST DPORT N
"""
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import tap_spec  # noqa: E402
from inet_csum import csum  # noqa: E402


def syn(src, dst, sport, dport, seq):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = src + dst + struct.pack("!xBH", 6, len(hdr))
    return hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]


def main():
    keyfile, dst, dport, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    key_id, key, realm = tap_spec.read_keyfile(keyfile)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.connect((dst, dport))
    src = socket.inet_aton(probe.getsockname()[0])
    dst_b = socket.inet_aton(dst)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    pkts = []
    now = int(time.time())
    for _ in range(n):
        isn = random.getrandbits(32)
        tg = tap_spec.tag(key, 4, tap_spec.BIND_DADDR, key_id, isn, dport, now,
                          dst_b + bytes(12), bytes(16))
        for seq in tap_spec.seqs(realm, key_id, now, tap_spec.hint(key), tg, isn, dport):
            pkts.append(syn(src, dst_b, random.randint(32768, 60999), dport, seq))
        pkts.append(syn(src, dst_b, random.randint(32768, 60999), dport, isn))
    t0 = time.monotonic()
    for p in pkts:
        s.sendto(p, (dst, 0))
    # what an admission limit may refill in while the burst goes out
    print("sent %d tokens in %d ms" % (n, (time.monotonic() - t0) * 1000 + 0.999))


main()
