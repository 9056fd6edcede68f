#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Replays the TCP SYNs of a pcap (Ethernet link type) through a raw socket,
byte for byte except, with --src, a new source address (checksums fixed).
Used by the replay tests: an attacker re-sends a captured auth sequence plus
real SYN. Usage: replay.py PCAP [--src ADDR] [--dport PORT]"""
import argparse, ipaddress, os, socket, struct, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from inet_csum import csum  # noqa: E402


def packets(path):
    with open(path, "rb") as f:
        hdr = f.read(24)
        magic = struct.unpack("<I", hdr[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        if struct.unpack(endian + "I", hdr[20:24])[0] != 1:
            sys.exit("replay: pcap link type must be Ethernet")
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            caplen = struct.unpack(endian + "IIII", rec)[2]
            frame = f.read(caplen)
            if len(frame) >= 14:
                yield struct.unpack("!H", frame[12:14])[0], frame[14:]


def tcp_fix(tcp, src, dst, v6):
    tcp = bytearray(tcp)
    tcp[16:18] = b"\0\0"
    if v6:
        pseudo = src + dst + struct.pack("!IxxxB", len(tcp), 6)
    else:
        pseudo = src + dst + struct.pack("!xBH", 6, len(tcp))
    tcp[16:18] = struct.pack("!H", csum(pseudo + bytes(tcp)))
    return bytes(tcp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pcap")
    ap.add_argument("--src")
    ap.add_argument("--dport", type=int)
    a = ap.parse_args()
    s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sent = 0
    for etype, ip in packets(a.pcap):
        if etype == 0x0800 and ip[9] == 6:
            ihl = (ip[0] & 15) * 4
            tcp, src, dst = ip[ihl:], ip[12:16], ip[16:20]
            v6 = False
        elif etype == 0x86DD and ip[6] == 6:
            tcp, src, dst = ip[40:], ip[8:24], ip[24:40]
            v6 = True
        else:
            continue
        flags = tcp[13]
        dport = struct.unpack("!H", tcp[2:4])[0]
        if flags & 0x12 != 0x02 or (a.dport and dport != a.dport):
            continue
        if a.src:
            src = ipaddress.ip_address(a.src).packed
            tcp = tcp_fix(tcp, src, dst, v6)
            if v6:
                ip = ip[:8] + src + dst + tcp
            else:
                hdr = bytearray(ip[:ihl])
                hdr[12:16] = src
                hdr[10:12] = b"\0\0"
                hdr[10:12] = struct.pack("!H", csum(bytes(hdr)))
                ip = bytes(hdr) + tcp
        dst_s = str(ipaddress.ip_address(dst))
        (s6 if v6 else s4).sendto(ip, (dst_s, 0))
        sent += 1
    print("replayed %d SYNs" % sent)
    if not sent:
        sys.exit("replay: no SYN in " + a.pcap)


main()
