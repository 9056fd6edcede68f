# SPDX-License-Identifier: GPL-2.0
"""The Internet checksum (RFC 1071), for the test senders that build raw
TCP and IP headers."""
import struct


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
