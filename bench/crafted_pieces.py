#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The dearest SYNs a key holder can make the server chew on, for its own
ISN: pieces that decode to the loaded key id and a fresh time, with random
tags, so that the SYN costs the most of its budget (docs/PROTOCOL.md §4).
Prints the ISN to use (the one given, or the next whose masks have four
different check bytes), a colon, and the sequence numbers of the pieces,
comma separated, for bench/inject's seqs parameter.

    crafted_pieces.py KEYFILE ISN DPORT [macs|ids|range]

macs (the default): piece 0 once, then piece 1 three times with a stale
time and once with a fresh one, then pieces 2 and 3 five times each. The
decode budget goes on time checks, the fresh pair gets the SYN's one MAC,
and its tag is looked for among the ten pieces 2 and 3 (a full bucket).

ids: piece 0 three times, naming two key ids the rule does not take before
the loaded one, then piece 1 once stale and once fresh, pieces 2 and 3 five
times each: two key checks and a time check fail, then the MAC.

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
    key_id, _, realm = tap_spec.read_keyfile(sys.argv[1])
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
    # An ISN whose four masks differ in their check bytes: where two
    # share one, each piece is a candidate for the other's place too, and
    # the pattern is not the one asked for (about 6 ISNs in 256).
    m = tap_spec.masks(realm, isn, dport)
    while len({x >> 24 for x in m}) < 4:
        isn = (isn + 1) & 0xFFFFFFFF
        m = tap_spec.masks(realm, isn, dport)
    now = int(time.time())
    out = [m[0] ^ (i << 8 | (now >> 8 & 0xFF)) for i in ids]
    for k in (1, 2, 3):
        for _ in range(counts[k]):
            p = random.getrandbits(24)
            if k == 1:  # the time's low byte, then tag bytes
                lo = now
                if _ < counts[1] - 1:
                    lo = now + 100 + _  # stale: 100 s away
                p = (lo & 0xFF) << 16 | (p & 0xFFFF)
            out.append(m[k] ^ p)
    print("%d:%s" % (isn, ",".join(str(x) for x in out)))


main()
