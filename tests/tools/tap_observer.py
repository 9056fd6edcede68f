#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A passive observer of TAP exchanges, for the realm tests.

Reads a pcap (Ethernet) of TCP SYNs and looks for TAP exchanges the way
someone who knows docs/PROTOCOL.md would: for each SYN taken as a real SYN,
the masks of its ISN and port are computed under a candidate realm, and the
SYNs the same source sent to the same port in the 5 s before are checked for
pieces 0 and 1 (check byte zero), whose time field must lie within a minute
of the capture's clock, and two more SYNs (pieces 2 and 3, the tag). Prints one line per exchange found (with
the key id it decodes) and a summary "exchanges N key_ids LIST".

    tap_observer.py PCAP [--realm-from KEYFILE] [--guess public|zero|random]

--realm-from gives it the realm (the control: it must find every exchange).
--guess tries what an observer without the realm could: protocol 1's public
mask key, an all-zero key, or a random one.
"""
import argparse
import itertools
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap_spec  # noqa: E402

WINDOW_S = 5.0
TIME_SLACK_S = 60


def syns(path):
    """(time, src bytes, dport, seq) of every plain SYN in the pcap."""
    out = []
    with open(path, "rb") as f:
        hdr = f.read(24)
        magic = struct.unpack("<I", hdr[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return out
            sec, frac, caplen, _ = struct.unpack(endian + "IIII", rec)
            frame = f.read(caplen)
            t = sec + frac / (1e9 if nano else 1e6)
            etype = struct.unpack("!H", frame[12:14])[0]
            ip = frame[14:]
            if etype == 0x0800 and len(ip) >= 20 and ip[9] == 6:
                src, tcp = ip[12:16], ip[(ip[0] & 15) * 4:]
            elif etype == 0x86DD and len(ip) >= 40 and ip[6] == 6:
                src, tcp = ip[8:24], ip[40:]
            else:
                continue
            if len(tcp) < 14 or tcp[13] & 0x17 != 0x02:
                continue
            dport, seq = struct.unpack("!HI", tcp[2:8])
            out.append((t, src, dport, seq))


def exchanges(pkts, realm):
    """Like the server: every SYN whose mask check bytes an earlier SYN of
    the flow passes is a candidate for piece 0 or 1 (one SYN can pass
    both), pieces 2 and 3 are any two other SYNs of the flow (they are the
    tag, which only the key tells), and a pair of pieces 0 and 1 whose time
    field is near the capture's makes an exchange."""
    found = []
    for i, (t, src, dport, isn) in enumerate(pkts):
        m = tap_spec.masks(realm, isn, dport)
        flow = [seq for (t2, src2, dport2, seq) in pkts[:i]
                if src2 == src and dport2 == dport and seq != isn and t - t2 <= WINDOW_S]
        cands = [[seq for seq in flow if (seq ^ m[k]) >> 24 == 0] for k in (0, 1)]
        for s0, s1 in itertools.product(*cands):
            if s0 == s1 or len(set(flow) - {s0, s1}) < 2:
                continue
            p0, p1 = s0 ^ m[0], s1 ^ m[1]
            # the time field must be near the capture's (the client's
            # clock): else this is a chance match of random ISNs
            t16 = (p0 & 0xFF) << 8 | p1 >> 16
            if (int(t) - t16 + TIME_SLACK_S) % 65536 <= 2 * TIME_SLACK_S:
                found.append((t, isn, dport, p0 >> 8))
                break
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pcap")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--realm-from")
    g.add_argument("--guess", choices=["public", "zero", "random"])
    a = ap.parse_args()
    if a.realm_from:
        realm = tap_spec.read_keyfile(a.realm_from)[2]
    elif a.guess == "public":
        realm = b"TAP1-public-mask"
    elif a.guess == "zero":
        realm = bytes(16)
    else:
        realm = os.urandom(16)
    pkts = syns(a.pcap)
    found = exchanges(pkts, realm)
    for t, isn, dport, key_id in found:
        print("exchange: real SYN isn 0x%08x port %d key id %d" % (isn, dport, key_id))
    ids = sorted({f[3] for f in found})
    print("syns %d exchanges %d key_ids %s" % (len(pkts), len(found),
                                               ",".join(map(str, ids)) or "-"))


if __name__ == "__main__":
    main()
