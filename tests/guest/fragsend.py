#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Sends key-less TCP SYNs cut into IP fragments, in every shape an attacker
would try, and counts the SYN/ACKs that come back.

    fragsend.py --dport P [--wait S] [--shapes a,b,...] ADDR...
    fragsend.py --dport P [--wait S] [--shapes a,b,...] --serve

For each ADDR (IPv4 or IPv6) and each shape, one attempt with its own random
source port, ISN and fragment id; all are sent, then replies are read for S
seconds (default 2). One line per attempt on stdout:
    SHAPE FAMILY SYNACKS
where SYNACKS counts SYN/ACKs acknowledging that attempt's ISN. With --serve,
each line on stdin is "[wait=S] ADDR...", attacked so, and "done" follows each
run: one Python start (seconds in an emulated guest) for a whole test. Raw
sockets only (IP_HDRINCL; IPv6 IPPROTO_RAW, fragment header built here), no
scapy import."""
import os, select, socket, struct, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from inet_csum import csum  # noqa: E402

# The SYN: a 40-byte TCP header (20 fixed + MSS, SACK-permitted, timestamps,
# window scale), as a real client sends it. Offsets into it are multiples of
# 8, as fragment offsets must be. A piece is (offset, bytes, more fragments);
# "ack" takes the SYN's bytes with the flags set to a harmless ACK.
TCP_LEN = 40
SHAPES = {
    # the whole SYN, not fragmented: the ruleset's own control
    "whole": [(0, "syn", 0, 40, False)],
    # first fragment: ports and sequence number only (8 bytes)
    "tiny": [(0, "syn", 0, 8, True), (8, "syn", 8, 40, False)],
    "tiny-rev": [(8, "syn", 8, 40, False), (0, "syn", 0, 8, True)],
    # first fragment holds the flags but not the whole 20-byte header
    "tiny16": [(0, "syn", 0, 16, True), (16, "syn", 16, 40, False)],
    # three fragments: the flags in the middle one
    "three": [(0, "syn", 0, 8, True), (8, "syn", 8, 16, True),
              (16, "syn", 16, 40, False)],
    # ordinary: the fixed header complete in the first fragment
    "split": [(0, "syn", 0, 24, True), (24, "syn", 24, 40, False)],
    "split-rev": [(24, "syn", 24, 40, False), (0, "syn", 0, 24, True)],
    # a harmless first fragment (ACK), then one that overlaps it from byte 8
    # on and rewrites the flags to SYN; and the other way round
    "overlap": [(0, "ack", 0, 24, True), (8, "syn", 8, 40, False)],
    "overlap-rev": [(8, "syn", 8, 40, False), (0, "ack", 0, 24, True)],
}


def die(msg):
    sys.exit("fragsend: " + msg)


def source_for(fam, dst):
    """The address the kernel would send from to dst (no packet leaves)."""
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.connect((dst, 9))
    src = s.getsockname()[0]
    s.close()
    return socket.inet_pton(fam, src)


def tcp_syn(src, dst, v6, sport, dport, isn, flags):
    opts = (struct.pack("!BBH", 2, 4, 1460) + b"\x04\x02" +
            struct.pack("!BBII", 8, 10, rand(32), 0) +
            b"\x01" + struct.pack("!BBB", 3, 3, 7))
    hdr = struct.pack("!HHIIBBHHH", sport, dport, isn, 0, (TCP_LEN // 4) << 4,
                      flags, 64240, 0, 0) + opts
    assert len(hdr) == TCP_LEN
    if v6:
        pseudo = src + dst + struct.pack("!I3xB", TCP_LEN, socket.IPPROTO_TCP)
    else:
        pseudo = src + dst + struct.pack("!xBH", socket.IPPROTO_TCP, TCP_LEN)
    return hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]


def ipv4_fragment(src, dst, ident, off, more, data):
    frag = (0x2000 if more else 0) | (off // 8)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(data), ident, frag,
                      64, socket.IPPROTO_TCP, 0, src, dst)
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + data


def ipv6_fragment(src, dst, ident, off, more, data, whole):
    if whole:	# no fragment header at all
        return struct.pack("!IHBB", 6 << 28, len(data), socket.IPPROTO_TCP,
                           64) + src + dst + data
    fh = struct.pack("!BBHI", socket.IPPROTO_TCP, 0, off | (1 if more else 0),
                     ident)
    return struct.pack("!IHBB", 6 << 28, 8 + len(data), 44, 64) + src + dst + \
        fh + data


def rand(bits):
    return int.from_bytes(os.urandom(4), "big") & ((1 << bits) - 1)


class Attacker:
    """Raw sockets, opened once: receivers before any packet leaves."""

    def __init__(self):
        self.rx = {4: socket.socket(socket.AF_INET, socket.SOCK_RAW,
                                    socket.IPPROTO_TCP),
                   6: socket.socket(socket.AF_INET6, socket.SOCK_RAW,
                                    socket.IPPROTO_TCP)}
        self.tx = {4: socket.socket(socket.AF_INET, socket.SOCK_RAW,
                                    socket.IPPROTO_RAW),
                   6: socket.socket(socket.AF_INET6, socket.SOCK_RAW,
                                    socket.IPPROTO_RAW)}

    def send(self, dst, dport, shape, attempts):
        v6 = ":" in dst
        fam, famno = (socket.AF_INET6, 6) if v6 else (socket.AF_INET, 4)
        src, dstb = source_for(fam, dst), socket.inet_pton(fam, dst)
        while True:
            sport = 20000 + rand(32) % 40000
            if (famno, sport) not in attempts:
                break
        isn = rand(32)
        attempts[(famno, sport)] = [shape, isn, 0]
        segs = {f: tcp_syn(src, dstb, v6, sport, dport, isn, f)
                for f in (0x02, 0x10)}
        ident = rand(32 if v6 else 16) or 1
        whole = shape == "whole"
        for off, kind, lo, hi, more in SHAPES[shape]:
            data = segs[0x02 if kind == "syn" else 0x10][lo:hi]
            if v6:
                pkt = ipv6_fragment(src, dstb, ident, off, more, data, whole)
            else:
                pkt = ipv4_fragment(src, dstb, 0 if whole else ident, off,
                                    more, data)
            self.tx[famno].sendto(pkt, (dst, 0))

    def count_synacks(self, dport, attempts, wait):
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select(list(self.rx.values()), [], [], left)
            for famno, s in self.rx.items():
                if s not in ready:
                    continue
                pkt = s.recv(2048)
                tcp = pkt[(pkt[0] & 15) * 4:] if famno == 4 else pkt
                if len(tcp) < 14:
                    continue
                sp, dp, _, ack = struct.unpack("!HHII", tcp[:12])
                a = attempts.get((famno, dp))
                if (a and sp == dport and tcp[13] & 0x12 == 0x12 and
                        ack == (a[1] + 1) & 0xFFFFFFFF):
                    a[2] += 1

    def drain(self):
        for s in self.rx.values():
            while select.select([s], [], [], 0)[0]:
                s.recv(2048)

    def run(self, addrs, dport, shapes, wait):
        self.drain()	# late replies to an earlier run
        attempts = {}	# (family, sport) -> [shape, isn, synacks]
        for dst in addrs:
            for shape in shapes:
                self.send(dst, dport, shape, attempts)
                time.sleep(0.005)
        self.count_synacks(dport, attempts, wait)
        for (famno, _), (shape, _, n) in attempts.items():
            print(shape, famno, n)
        sys.stdout.flush()


def main():
    args = sys.argv[1:]
    dport, wait, shapes, addrs, serve = None, 2.0, list(SHAPES), [], False
    while args:
        a = args.pop(0)
        if a in ("--dport", "--wait", "--shapes") and not args:
            die(a + " needs a value")
        if a == "--dport":
            dport = int(args.pop(0))
        elif a == "--wait":
            wait = float(args.pop(0))
        elif a == "--shapes":
            shapes = args.pop(0).split(",")
            for s in shapes:
                if s not in SHAPES:
                    die("unknown shape %s (%s)" % (s, ",".join(SHAPES)))
        elif a == "--serve":
            serve = True
        elif a.startswith("-"):
            die("unknown option " + a)
        else:
            addrs.append(a)
    if dport is None or not (addrs or serve):
        die("usage: fragsend.py --dport P [--wait S] [--shapes a,b] "
            "ADDR... | --serve")
    attacker = Attacker()
    if not serve:
        attacker.run(addrs, dport, shapes, wait)
        return
    for line in sys.stdin:
        addrs, run_wait = [], wait
        for word in line.split():
            if word.startswith("wait="):
                run_wait = float(word[5:])
            else:
                addrs.append(word)
        attacker.run(addrs, dport, shapes, run_wait)
        print("done", flush=True)


if __name__ == "__main__":
    main()
