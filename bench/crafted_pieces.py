#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The dearest SYNs a key holder can make the server chew on, for its own
ISN: pieces that decode to the loaded key id, a fresh time and the key's
hint, with random tags, so that the SYN costs the most of its budget
(docs/PROTOCOL.md §4). Prints the ISN to use (the one given, or the next
whose masks have different check bytes), a colon, and the sequence numbers
of the pieces, comma separated, for bench/inject's seqs parameter.

    crafted_pieces.py KEYFILE ISN DPORT [macs|ids|range]

macs (the default): piece 0 once, then piece 1 three times with a fresh
time and a wrong hint and once with the key's, then ten random tag pieces
(pieces 2 and 3, five each). The decode budget goes on hint checks, the
last pair gets the SYN's one MAC, and its tag is looked for among all the
flow's other pieces (a full bucket).

ids: piece 0 three times, naming two key ids the rule does not take before
the loaded one, then piece 1 once with a wrong hint and once with the
key's, and ten tag pieces: two key checks and a hint check fail, then the
MAC.

range: as ids, for a rule that takes a range of key ids (bench: 1-7), so
that the two ids (2 and 1 for key 3) are in the range but not loaded: two
key lookups that fail.
"""
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "tools"))
import tap_spec  # noqa: E402


def main():
    key_id, secret, realm = tap_spec.read_keyfile(sys.argv[1])
    hint = tap_spec.hint(secret)
    isn, dport = int(sys.argv[2], 0), int(sys.argv[3])
    pattern = sys.argv[4] if len(sys.argv) > 4 else "macs"
    if pattern == "macs":
        ids, counts = [key_id], (1, 4, 5, 5)
    elif pattern in ("ids", "range"):
        # planted in this order: within one millisecond the first
        # written is tried first. For key 3, ids 2 and 1: inside the
        # bench's range 1-7, not loaded
        ids, counts = [key_id ^ 1, key_id ^ 2, key_id], (3, 2, 5, 5)
    else:
        sys.exit("crafted_pieces.py: pattern is macs, ids or range, not " + pattern)
    # An ISN whose masks of pieces 0 and 1 differ in their check bytes:
    # where they share one, each piece is a candidate for the other's
    # place too, and the pattern is not the one asked for (1 ISN in 256).
    m = tap_spec.masks(realm, isn, dport)
    while m[0] >> 24 == m[1] >> 24:
        isn = (isn + 1) & 0xFFFFFFFF
        m = tap_spec.masks(realm, isn, dport)
    now = int(time.time())
    out = [m[0] ^ (i << 8 | (now >> 8 & 0xFF)) for i in ids]
    for j in range(counts[1]):
        h = hint if j == counts[1] - 1 else hint ^ (j + 1)  # wrong, then the key's
        out.append(m[1] ^ ((now & 0xFF) << 16 | h))
    for _ in range(counts[2] + counts[3]):
        p = random.getrandbits(32)
        while p >> 24 in (m[0] >> 24, m[1] >> 24):  # no candidate for 0 or 1
            p = random.getrandbits(32)
        out.append(p)
    print("%d:%s" % (isn, ",".join(str(x) for x in out)))


main()
