# SPDX-License-Identifier: GPL-2.0
"""docs/PROTOCOL.md read afresh, in Python: SipHash-2-4, the token MAC, the
realm masks and key files. Shares no code with xt_tap/tap_core.c, so that
the C core and the test vectors can be checked against it. Used by
gen_tap_vectors.py and tap_observer.py."""
import base64
import struct

M64 = (1 << 64) - 1
BIND_DADDR, BIND_SADDR = 1, 2


def _rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & M64


def siphash24(key, msg):
    """SipHash-2-4 of msg under a 16-byte key, as the reference's u64."""
    k0, k1 = struct.unpack("<QQ", key)
    v = [0x736F6D6570736575 ^ k0, 0x646F72616E646F6D ^ k1,
         0x6C7967656E657261 ^ k0, 0x7465646279746573 ^ k1]

    def rnd():
        v[0] = (v[0] + v[1]) & M64; v[1] = _rotl(v[1], 13); v[1] ^= v[0]; v[0] = _rotl(v[0], 32)
        v[2] = (v[2] + v[3]) & M64; v[3] = _rotl(v[3], 16); v[3] ^= v[2]
        v[0] = (v[0] + v[3]) & M64; v[3] = _rotl(v[3], 21); v[3] ^= v[0]
        v[2] = (v[2] + v[1]) & M64; v[1] = _rotl(v[1], 17); v[1] ^= v[2]; v[2] = _rotl(v[2], 32)

    tail = len(msg) % 8
    padded = msg + bytes(7 - tail) + bytes([len(msg) & 0xFF])
    for i in range(0, len(padded), 8):
        m = struct.unpack("<Q", padded[i:i + 8])[0]
        v[3] ^= m
        rnd(); rnd()
        v[0] ^= m
    v[2] ^= 0xFF
    for _ in range(4):
        rnd()
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def tag(key, family, bind, key_id, isn, dport, t, daddr, saddr):
    """§2: the 64-bit MAC; addresses are 16 bytes (IPv4 zero-padded)."""
    alen = 4 if family == 4 else 16
    msg = struct.pack(">BHIHI", 0x30 | (4 if family == 6 else 0) | bind, key_id,
                      isn, dport, t & 0xFFFFFFFF)
    if bind & BIND_DADDR:
        msg += daddr[:alen]
    if bind & BIND_SADDR:
        msg += saddr[:alen]
    return siphash24(key, msg)


def hint(key):
    """§2: the top 16 bits of the key's fingerprint."""
    return fingerprint(key) >> 48


def masks(realm, isn, dport):
    """§3: the masks of the four pieces for a real SYN (2 and 3: none)."""
    m = siphash24(realm, struct.pack(">IHB", isn, dport, ord("m")))
    return [m >> 32, m & 0xFFFFFFFF, 0, 0]


def seqs(realm, key_id, t, hnt, tg, isn, dport):
    """§3: the four auth SYN sequence numbers, in piece order."""
    t16 = t & 0xFFFF
    pieces = [key_id << 8 | t16 >> 8, (t16 & 0xFF) << 16 | hnt,
              tg >> 32, tg & 0xFFFFFFFF]
    return [p ^ m for p, m in zip(pieces, masks(realm, isn, dport))]


def fingerprint(key):
    return siphash24(key, b"TAP1fingerprint")


def realm_fingerprint(realm):
    return siphash24(realm, b"TAP2realm")


def read_keyfile(path):
    """(id, secret, realm) of a key file; no checks beyond what we need."""
    kv = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                kv[k.strip()] = v.strip()
    return int(kv["id"]), base64.b64decode(kv["secret"]), base64.b64decode(kv["realm"])
