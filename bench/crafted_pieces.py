#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The dearest SYN a key holder can make the server chew on: pieces that,
for its own ISN, decode to a loaded key id and a fresh time, with random
tags, so that every combination costs a MAC. Prints the sequence numbers of
the pieces (piece 0 once, pieces 1-3 three times each: TAP_CANDS_PER_FRAG),
comma separated, for bench/inject's seqs parameter.

    crafted_pieces.py KEYFILE ISN DPORT
"""
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "tools"))
import tap_spec  # noqa: E402


def main():
    key_id, _, realm = tap_spec.read_keyfile(sys.argv[1])
    isn, dport = int(sys.argv[2], 0), int(sys.argv[3])
    now = int(time.time())
    m = tap_spec.masks(realm, isn, dport)
    out = [m[0] ^ (key_id << 8 | (now >> 8 & 0xFF))]
    for k in (1, 2, 3):
        for _ in range(3):
            p = random.getrandbits(24)
            if k == 1:  # the time's low byte, then tag bytes
                p = (now & 0xFF) << 16 | (p & 0xFFFF)
            out.append(m[k] ^ p)
    print(",".join(str(x) for x in out))


main()
