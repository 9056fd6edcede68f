// SPDX-License-Identifier: GPL-2.0
/*
 * TAP protocol core; see docs/PROTOCOL.md. The section numbers below refer
 * to it. Nothing here allocates, sleeps or locks on its own: the caller
 * owns the tables and passes its locks in struct tap_ops.
 */
#include "tap_core.h"

#ifdef __KERNEL__
#include <linux/string.h>
#include <crypto/algapi.h>

/* what is written before it is read: exempt from the kernel's zeroing */
#define TAP_UNINIT	__uninitialized

static u64 load_le64(const u8 *p)
{
	u64 v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

void tap_prf_key_import(tap_prf_key *key, const u8 raw[TAP_KEY_LEN])
{
	key->key[0] = load_le64(raw);
	key->key[1] = load_le64(raw + 8);
}

u64 tap_prf(const tap_prf_key *key, const void *data, size_t len)
{
	return siphash(data, len, key);
}

bool tap_tag_equal(u64 a, u64 b)
{
	return !crypto_memneq(&a, &b, sizeof(a));
}

void tap_wipe(void *p, size_t len)
{
	memzero_explicit(p, len);
}

/* Bucket choice: the kernel's hash-table SipHash (SipHash-1-3 on 64-bit). */
static __always_inline u32 tap_hash_1u32(const tap_hash_key *key, u32 a)
{
	return hsiphash_1u32(a, key);
}

static __always_inline u32 tap_hash_4u32(const tap_hash_key *key, u32 a,
					 u32 b, u32 c, u32 d)
{
	return hsiphash_4u32(a, b, c, d, key);
}

#define TAP_READ_ONCE(x)	READ_ONCE(x)
#define TAP_WRITE_ONCE(x, v)	WRITE_ONCE(x, v)
#define TAP_HIDE(x)		OPTIMIZER_HIDE_VAR(x)
#define tap_smp_rmb()		smp_rmb()
#define tap_smp_wmb()		smp_wmb()
#else
#include <endian.h>
#include <string.h>
#include <sodium.h>

/* as the kernel's __uninitialized: flood_model builds with auto-var-init */
#if defined(__has_attribute) && __has_attribute(__uninitialized__)
#define TAP_UNINIT	__attribute__((__uninitialized__))
#else
#define TAP_UNINIT
#endif
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef noinline
#define noinline __attribute__((noinline))
#endif
#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif
#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif

void tap_prf_key_import(tap_prf_key *key, const u8 raw[TAP_KEY_LEN])
{
	memcpy(key->raw, raw, TAP_KEY_LEN);
}

u64 tap_prf(const tap_prf_key *key, const void *data, size_t len)
{
	u8 out[crypto_shorthash_siphash24_BYTES];
	u64 v;

	crypto_shorthash_siphash24(out, data, len, key->raw);
	memcpy(&v, out, sizeof(v));
	return le64toh(v);	/* the output is stored little-endian */
}

bool tap_tag_equal(u64 a, u64 b)
{
	return sodium_memcmp(&a, &b, sizeof(a)) == 0;
}

void tap_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}

/*
 * Bucket choice: SipHash-1-3 folded to 32 bits, as the kernel's hsiphash
 * computes it on 64-bit machines. Its seed is random and never leaves the
 * tables, so userspace needs only the same algorithm, not the same values.
 */
#define ROTL64(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND64(v0, v1, v2, v3) do {					\
	v0 += v1; v1 = ROTL64(v1, 13); v1 ^= v0; v0 = ROTL64(v0, 32);	\
	v2 += v3; v3 = ROTL64(v3, 16); v3 ^= v2;			\
	v0 += v3; v3 = ROTL64(v3, 21); v3 ^= v0;			\
	v2 += v1; v1 = ROTL64(v1, 17); v1 ^= v2; v2 = ROTL64(v2, 32);	\
} while (0)

/* nwords 64-bit words, then the last block (tail bytes and length). */
static __always_inline u32 hsip13(const tap_hash_key *key, const u64 *m,
				  int nwords, u64 last)
{
	u64 v0 = 0x736f6d6570736575ULL ^ key->key[0];
	u64 v1 = 0x646f72616e646f6dULL ^ key->key[1];
	u64 v2 = 0x6c7967656e657261ULL ^ key->key[0];
	u64 v3 = 0x7465646279746573ULL ^ key->key[1];
	int i;

	for (i = 0; i < nwords; i++) {
		v3 ^= m[i];
		SIPROUND64(v0, v1, v2, v3);
		v0 ^= m[i];
	}
	v3 ^= last;
	SIPROUND64(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	SIPROUND64(v0, v1, v2, v3);
	SIPROUND64(v0, v1, v2, v3);
	SIPROUND64(v0, v1, v2, v3);
	return (u32)((v0 ^ v1) ^ (v2 ^ v3));
}

/* As hsiphash_1u32(): the word and the length in the one last block. */
static __always_inline u32 tap_hash_1u32(const tap_hash_key *key, u32 a)
{
	return hsip13(key, NULL, 0, 4ULL << 56 | a);
}

/* As hsiphash_4u32(): two blocks, then the length block. */
static __always_inline u32 tap_hash_4u32(const tap_hash_key *key, u32 a,
					 u32 b, u32 c, u32 d)
{
	const u64 m[2] = { (u64)b << 32 | a, (u64)d << 32 | c };

	return hsip13(key, m, 2, 16ULL << 56);
}

/* Tools that never share tables between threads: no locks. */
__attribute__((weak)) void tap_table_lock(void *env, enum tap_table_id table,
					  u32 bucket)
{
	(void)env;
	(void)table;
	(void)bucket;
}

__attribute__((weak)) void tap_table_unlock(void *env,
					    enum tap_table_id table, u32 bucket)
{
	(void)env;
	(void)table;
	(void)bucket;
}

/* The tables are shared with no one in userspace: plain accesses. */
#define TAP_READ_ONCE(x)	(*(volatile __typeof__(x) *)&(x))
#define TAP_WRITE_ONCE(x, v)	(*(volatile __typeof__(x) *)&(x) = (v))
#define TAP_HIDE(x)		__asm__ ("" : "=r" (x) : "0" (x))
#define tap_smp_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define tap_smp_wmb()		__atomic_thread_fence(__ATOMIC_RELEASE)
#endif

static void put_be16(u8 *p, u16 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put_be32(u8 *p, u32 v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v);
}

static void put_be64(u8 *p, u64 v)
{
	put_be32(p, v >> 32);
	put_be32(p + 4, v);
}

/*
 * §2's message: a header byte, the fields every token of the SYN shares,
 * then the bound addresses, 4 bytes for IPv4 and 16 for IPv6. The key id
 * and time, all that differs between the candidate tokens of one SYN, are
 * written apart.
 */
#define TAP_MAC_MSG_MAX	45
#define TAP_MAC_MSG_HDR	0x30

static void mac_msg_set_token(u8 msg[TAP_MAC_MSG_MAX], u16 key_id, u64 time)
{
	put_be16(msg + 1, key_id);
	put_be32(msg + 9, (u32)time);
}

/* Fixed sizes: the copies stay inline, with no call to memcpy(). */
static unsigned int mac_msg_put_addr(u8 *dst, const struct tap_addr *a,
				     u8 family)
{
	if (family == 6) {
		memcpy(dst, a->b, 16);
		return 16;
	}
	memcpy(dst, a->b, 4);
	return 4;
}

/* The fields every candidate token of one SYN shares. */
static unsigned int mac_msg_build(u8 msg[TAP_MAC_MSG_MAX], u8 family,
				  u8 bind, u32 isn, u16 dport,
				  const struct tap_addr *saddr,
				  const struct tap_addr *daddr)
{
	unsigned int len = 13;

	msg[0] = TAP_MAC_MSG_HDR | (family == 6 ? 0x04 : 0) |
		 (bind & TAP_BIND_ALL);
	put_be32(msg + 3, isn);
	put_be16(msg + 7, dport);
	if (bind & TAP_BIND_DADDR)
		len += mac_msg_put_addr(msg + len, daddr, family);
	if (bind & TAP_BIND_SADDR)
		len += mac_msg_put_addr(msg + len, saddr, family);
	return len;
}

/* §2 */
u64 tap_mac(const tap_prf_key *key, const struct tap_token_params *p)
{
	u8 msg[TAP_MAC_MSG_MAX] TAP_UNINIT;
	unsigned int len = mac_msg_build(msg, p->family, p->bind, p->isn,
					 p->dport, &p->saddr, &p->daddr);

	mac_msg_set_token(msg, p->key_id, p->time);
	return tap_prf(key, msg, len);
}

/* §1 */
u64 tap_key_fingerprint(const tap_prf_key *key)
{
	static const char label[] = "TAP1fingerprint";

	return tap_prf(key, label, sizeof(label) - 1);
}

u64 tap_realm_fingerprint(const tap_prf_key *realm)
{
	static const char label[] = "TAP2realm";

	return tap_prf(realm, label, sizeof(label) - 1);
}

/* §3: the masks of pieces 0 and 1, from one PRF */
static void frag_mask_pair(const tap_prf_key *realm, u32 isn, u16 dport,
			   u32 pair[TAP_MASKED_FRAGS])
{
	u8 msg[7] TAP_UNINIT;
	u64 m;

	put_be32(msg, isn);
	put_be16(msg + 4, dport);
	msg[6] = 'm';
	m = tap_prf(realm, msg, sizeof(msg));
	pair[0] = m >> 32;
	pair[1] = (u32)m;
}

/*
 * §3: only holders of the realm can tell auth SYNs from random ISNs.
 * Pieces 2 and 3 are MAC output and travel as they are: their masks are 0.
 */
void tap_frag_masks(const tap_prf_key *realm, u32 isn, u16 dport,
		    u32 mask[TAP_FRAGS])
{
	frag_mask_pair(realm, isn, dport, mask);
	mask[2] = 0;
	mask[3] = 0;
}

/* §2's layout: the four pieces, unmasked. */
static void token_to_pieces(const struct tap_token *tok, u32 p[TAP_FRAGS])
{
	p[0] = (u32)tok->key_id << 8 | tok->t16 >> 8;
	p[1] = (u32)(tok->t16 & 0xff) << 16 | tok->hint;
	p[2] = (u32)(tok->tag >> 32);
	p[3] = (u32)tok->tag;
}

/* Pieces 0 and 1 (check bytes zero) give all but the tag. */
static __always_inline void token_from_pieces01(u32 p0, u32 p1,
						struct tap_token *tok)
{
	tok->key_id = (u16)(p0 >> 8);
	tok->t16 = (u16)((p0 & 0xff) << 8 | p1 >> 16);
	tok->hint = (u16)p1;
}

void tap_token_pack(const tap_prf_key *realm, const struct tap_token *tok,
		    u32 isn, u16 dport, u32 seq[TAP_FRAGS])
{
	u32 mask[TAP_FRAGS];
	int i;

	tap_frag_masks(realm, isn, dport, mask);
	token_to_pieces(tok, seq);
	for (i = 0; i < TAP_FRAGS; i++)
		seq[i] ^= mask[i];
}

/* False if a check byte is not zero: not a piece of this SYN's token. */
bool tap_token_unpack(const tap_prf_key *realm, const u32 seq[TAP_FRAGS],
		      u32 isn, u16 dport, struct tap_token *tok)
{
	u32 mask[TAP_FRAGS];
	u32 p0, p1;

	tap_frag_masks(realm, isn, dport, mask);
	p0 = seq[0] ^ mask[0];
	p1 = seq[1] ^ mask[1];
	if ((p0 | p1) >> 24)
		return false;
	token_from_pieces01(p0, p1, tok);
	tok->tag = (u64)seq[2] << 32 | seq[3];
	return true;
}

/*
 * Pieces the server could not put together: two equal (it stores a
 * sequence number once), one equal to the real SYN's ISN (left out), or
 * all four with one top byte (each a candidate for pieces 0 and 1: one
 * more than the server keeps, TAP_CANDS_PER_FRAG).
 */
static bool token_seqs_unusable(const u32 seq[TAP_FRAGS], u32 isn)
{
	u32 tops = 0;
	int i, j;

	for (i = 0; i < TAP_FRAGS; i++) {
		if (seq[i] == isn)
			return true;
		tops |= (seq[i] ^ seq[0]) >> 24;
		for (j = i + 1; j < TAP_FRAGS; j++)
			if (seq[i] == seq[j])
				return true;
	}
	return !tops;
}

/*
 * A token the server could not put together (about 1 in 16 million) is
 * made one second earlier: another token, still inside any window.
 * Returns the time encoded.
 */
u64 tap_token_encode(const tap_prf_key *key, const tap_prf_key *realm,
		     const struct tap_token_params *p, u32 seq[TAP_FRAGS])
{
	struct tap_token_params q = *p;
	struct tap_token tok;
	int tries;

	tok.key_id = q.key_id;
	tok.hint = tap_key_hint(tap_key_fingerprint(key));
	for (tries = 1;; tries++) {
		tok.t16 = (u16)q.time;
		tok.tag = tap_mac(key, &q);
		tap_token_pack(realm, &tok, q.isn, q.dport, seq);
		if (!token_seqs_unusable(seq, q.isn) || tries == 4)
			return q.time;
		q.time--;
	}
}

/* The time nearest to now whose low 16 bits are t16. */
u64 tap_time_expand(u64 now, u16 t16)
{
	s16 delta = (s16)(u16)(t16 - (u16)now);

	return now + (s64)delta;
}

void tap_params_from_syn(struct tap_token_params *p,
			 const struct tap_syn *real, u8 bind,
			 u16 key_id, u64 time)
{
	memset(p, 0, sizeof(*p));
	p->family = real->family;
	p->bind = bind & TAP_BIND_ALL;
	p->key_id = key_id;
	p->dport = real->dport;
	p->isn = real->seq;
	p->time = time;
	if (bind & TAP_BIND_DADDR)
		p->daddr = real->daddr;
	if (bind & TAP_BIND_SADDR)
		p->saddr = real->saddr;
}

const char *tap_stat_name(unsigned int stat)
{
	static const char *const names[__TAP_STAT_MAX] = {
		[TAP_STAT_ACCEPTED] = "accepted",
		[TAP_STAT_RETRANSMIT] = "retransmit",
		[TAP_STAT_INCOMPLETE] = "incomplete",
		[TAP_STAT_KEY_NOT_ALLOWED] = "key_not_allowed",
		[TAP_STAT_UNKNOWN_KEY] = "unknown_key",
		[TAP_STAT_STALE] = "stale",
		[TAP_STAT_BAD_MAC] = "bad_mac",
		[TAP_STAT_REPLAYED] = "replayed",
		[TAP_STAT_TABLE_FULL] = "table_full",
		[TAP_STAT_EVICTED] = "evicted",
		[TAP_STAT_TRUNCATED] = "truncated",
		[TAP_STAT_LIMITED] = "limited",
	};

	return stat < __TAP_STAT_MAX ? names[stat] : "unknown";
}

/*
 * When every combination fails, the one that got furthest names the SYN's
 * fate. Explicit, so that new counters can be appended to enum tap_stat
 * (an ABI) without changing which one a failure bumps.
 */
static unsigned int outcome_rank(unsigned int stat)
{
	switch (stat) {
	case TAP_STAT_KEY_NOT_ALLOWED:	return 1;
	case TAP_STAT_UNKNOWN_KEY:	return 2;
	case TAP_STAT_STALE:		return 3;
	case TAP_STAT_BAD_MAC:		return 4;
	case TAP_STAT_REPLAYED:		return 5;
	case TAP_STAT_LIMITED:		return 6;
	case TAP_STAT_TABLE_FULL:	return 7;
	default:			return 0;	/* incomplete */
	}
}

/* ---- server tables (§4) ---- */

static bool ms_expired(u64 now_ms, u64 stamp_ms, u32 lifetime_ms)
{
	return now_ms - stamp_ms >= lifetime_ms;
}

/*
 * What the flood path reads of a SYN: struct tap_syn without the
 * destination, and the source by reference, so that the module can point
 * it into the packet's header and keep the rest in registers.
 */
struct tap_syn_key {
	const u8 *saddr;	/* 4 or 16 bytes, by family */
	u32 seq;
	u16 sport, dport;
	u8 family;
};

static __always_inline struct tap_syn_key syn_key(const struct tap_syn *syn)
{
	return (struct tap_syn_key){
		.saddr = syn->saddr.b, .seq = syn->seq,
		.sport = syn->sport, .dport = syn->dport,
		.family = syn->family,
	};
}

/*
 * Seeded hash of what groups pieces: saddr, dport, family. The address
 * goes through the kernel's table hash (SipHash-1-3 under a per-netns
 * secret); an IPv4 one without its 12 zero bytes of padding.
 */
static __always_inline u32 flow_hash(const struct tap_tables *t,
				     const struct tap_syn_key *k)
{
	/* scalars, not an array: they stay in registers, off the stack */
	u32 a0, a1, a2, a3, h;

	memcpy(&a0, k->saddr, 4);
	if (k->family == 4) {
		h = tap_hash_1u32(&t->hash_seed, a0);
	} else {
		memcpy(&a1, k->saddr + 4, 4);
		memcpy(&a2, k->saddr + 8, 4);
		memcpy(&a3, k->saddr + 12, 4);
		h = tap_hash_4u32(&t->hash_seed, a0, a1, a2, a3);
	}
	/* the port and family, spread over every bit of the secret hash */
	return h ^ ((u32)k->dport << 8 | k->family) * 0x9e3779b1;
}

u32 tap_flow_hash(const struct tap_tables *t, const struct tap_syn *syn)
{
	const struct tap_syn_key k = syn_key(syn);

	return flow_hash(t, &k);
}

/* A way's flow tag: other bits than the bucket's, never 0 (free). */
u8 tap_pend_tag(u32 flow_hash)
{
	u8 tag = (u8)(flow_hash >> 24);

	return tag + !tag;
}

/*
 * The authorized table is indexed per connection, not per source, so that
 * the many connections of one address (a NAT, a browser) do not push each
 * other's retransmission entries out. Only accepted SYNs are stored there,
 * so a cheap mix of the secret flow hash with the source port and ISN is
 * enough: a sender without a key cannot fill a bucket.
 */
static __always_inline u32 auth_bucket(const struct tap_tables *t,
				       const struct tap_syn_key *k,
				       u32 flow_hash, u16 *tag)
{
	u64 h = ((u64)flow_hash << 32 | k->seq) ^ ((u64)k->sport << 16);

	h *= 0x9e3779b97f4a7c15ULL;
	*tag = (u16)h | 1;
	return (u32)(h >> 32) & t->auth_mask;
}

u32 tap_auth_bucket(const struct tap_tables *t, const struct tap_syn *syn,
		    u32 flow_hash, u16 *tag)
{
	const struct tap_syn_key k = syn_key(syn);

	return auth_bucket(t, &k, flow_hash, tag);
}

/* Per 16-bit lane of x: bit 15 of the lane set if the lane is zero. */
static __always_inline u64 lanes_zero16(u64 x)
{
	const u64 low = 0x7fff7fff7fff7fffULL;

	return ~(((x & low) + low) | x) & ~low;
}

/* Per byte of x: the byte's top bit set if the byte is zero, else clear. */
static __always_inline u64 bytes_zero(u64 x)
{
	const u64 low = 0x7f7f7f7f7f7f7f7fULL;

	return ~(((x & low) + low) | x) & ~low;
}

/*
 * The ways flagged in m0, m1 (bytes_zero() of the two words of a bucket's
 * tag or top array): bit w for way w.
 */
static __always_inline u32 pend_flagged_ways(u64 m0, u64 m1)
{
	const u64 gather = 0x0102040810204080ULL;

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	m0 = __builtin_bswap64(m0);
	m1 = __builtin_bswap64(m1);
#endif
	/* the top bit of each flagged byte, gathered into the top byte */
	return (u32)(((m0 >> 7) * gather) >> 56) |
	       (u32)(((m1 >> 7) * gather) >> 56) << 8;
}

/* The ways whose sequence number's top byte is @top: bit w for way w. */
static __always_inline u32 pend_ways_topped(const struct tap_pend_bucket *b,
					    u32 top)
{
	u64 want = top * 0x0101010101010101ULL;

	return pend_flagged_ways(bytes_zero(TAP_READ_ONCE(b->top_word[0]) ^ want),
				 bytes_zero(TAP_READ_ONCE(b->top_word[1]) ^ want));
}

/* A way mask from ring order (bit j: way (next + j) % TAP_PEND_WAYS). */
static __always_inline u32 pend_unring(u32 ring, unsigned int next)
{
	return ((ring << next) | (ring >> (TAP_PEND_WAYS - next))) & 0xffff;
}

/* At least TAP_FRAGS ways in @live: enough for a token. */
static __always_inline bool pend_enough(u32 live)
{
	int i;

	for (i = 1; i < TAP_FRAGS; i++)
		live &= live - 1;
	return live != 0;
}

/*
 * One look at a pending bucket's tags (16 bytes, two words) tells whether
 * it holds anything of S's flow; a flood SYN from a new source stops there.
 * Otherwise the flow's live ways, S's own sequence number left out, are
 * what reassembly needs. The ring writes ways in turn, so the flow's
 * expired ways are its oldest: one stamp read finds where the live ones
 * start. S is stored in the way the ring reaches next, the oldest
 * written; a duplicate moves there (unless it is the newest already), so
 * that a client that sends its pieces again has them in its sending order
 * (pend_try_piece0()).
 */
#define PEND_NO_DUP	0xff

struct pend_scan {
	u32 live;	/* way mask */
	u8 dup_way;	/* where S is stored already, or PEND_NO_DUP */
};

static __always_inline void pend_scan(const struct tap_pend_bucket *b,
				      u8 tag, u32 seq, u64 now_ms,
				      u32 lifetime_ms, struct pend_scan *ps)
{
	u64 want = tag * 0x0101010101010101ULL, m0, m1;
	unsigned int next;
	u32 ring, same;

	ps->live = 0;
	ps->dup_way = PEND_NO_DUP;
	m0 = bytes_zero(TAP_READ_ONCE(b->tag_word[0]) ^ want);
	m1 = bytes_zero(TAP_READ_ONCE(b->tag_word[1]) ^ want);
	if (likely(!(m0 | m1)))
		return;
	same = pend_flagged_ways(m0, m1);
	if (likely(!pend_enough(same))) {
		/* too few for a token (a flood SYN's chance): S stored yet? */
		for (; same; same &= same - 1) {
			const struct tap_pend_way *e = &b->way[__builtin_ctz(same)];

			if (TAP_READ_ONCE(e->seq) == seq &&
			    !ms_expired(now_ms, TAP_READ_ONCE(e->stamp_ms),
					lifetime_ms)) {
				ps->dup_way = (u8)__builtin_ctz(same);
				break;
			}
		}
		return;
	}
	next = TAP_READ_ONCE(b->next) % TAP_PEND_WAYS;
	/* bit j: way (next + j) % TAP_PEND_WAYS; bit 0 the oldest */
	ring = ((same | same << TAP_PEND_WAYS) >> next) & 0xffff;
	for (; ring; ring &= ring - 1) {
		unsigned int w = (next + __builtin_ctz(ring)) % TAP_PEND_WAYS;

		if (!ms_expired(now_ms, TAP_READ_ONCE(b->way[w].stamp_ms),
				lifetime_ms))
			break;
	}
	ps->live = pend_unring(ring, next);
	/* S itself: stored once */
	for (same = ps->live & pend_ways_topped(b, seq >> 24); same;
	     same &= same - 1) {
		unsigned int w = __builtin_ctz(same);

		if (TAP_READ_ONCE(b->way[w].seq) == seq) {
			ps->dup_way = (u8)w;
			ps->live &= ~(1U << w);
		}
	}
}

/*
 * Store S as scanned (a duplicate leaves its old way); returns true if a
 * live entry had to be evicted.
 */
static __always_inline bool pend_store(struct tap_pend_bucket *b,
				       const struct pend_scan *ps, u8 tag,
				       u32 seq, u64 now_ms, u32 lifetime_ms)
{
	unsigned int w = TAP_READ_ONCE(b->next) % TAP_PEND_WAYS;
	struct tap_pend_way *e = &b->way[w];
	bool evicted;

	if (ps->dup_way != PEND_NO_DUP) {
		/* the newest already: a SYN sent over and over stays put */
		if (ps->dup_way == (w + TAP_PEND_WAYS - 1) % TAP_PEND_WAYS)
			return false;
		TAP_WRITE_ONCE(b->tag[ps->dup_way], 0);
	}
	evicted = TAP_READ_ONCE(b->tag[w]) &&
		  !ms_expired(now_ms, TAP_READ_ONCE(e->stamp_ms), lifetime_ms);
	TAP_WRITE_ONCE(b->next, (u8)((w + 1) % TAP_PEND_WAYS));
	TAP_WRITE_ONCE(b->tag[w], tag);
	TAP_WRITE_ONCE(b->top[w], (u8)(seq >> 24));
	TAP_WRITE_ONCE(e->seq, seq);
	TAP_WRITE_ONCE(e->stamp_ms, now_ms);
	return evicted;
}

/* Returns true if a live entry had to be evicted. */
bool tap_pend_insert(struct tap_pend_bucket *b, u8 tag, u32 seq,
		     u64 now_ms, u32 lifetime_ms)
{
	struct pend_scan ps;

	pend_scan(b, tag, seq, now_ms, lifetime_ms, &ps);
	return pend_store(b, &ps, tag, seq, now_ms, lifetime_ms);
}

static __always_inline void tlock(const struct tap_ctx *c,
				  enum tap_table_id table, u32 bucket)
{
	tap_table_lock(c->env, table, bucket);
}

static __always_inline void tunlock(const struct tap_ctx *c,
				    enum tap_table_id table, u32 bucket)
{
	tap_table_unlock(c->env, table, bucket);
}

static void key_event(const struct tap_ctx *c, u16 key_id,
		      const struct tap_keyref *ref, unsigned int stat)
{
	if (c->ops->key_event)
		c->ops->key_event(c->env, key_id, ref, stat);
}

/* ---- replay cache ---- */

static bool replay_live(const struct tap_replay_entry *e, u32 now32)
{
	return e->fp && (s32)(TAP_READ_ONCE(e->expires) - now32) > 0;
}

u64 tap_replay_live(const struct tap_tables *t, u64 now_s)
{
	u64 n = 0, b;
	int w;

	for (b = 0; b <= t->replay_mask; b++)
		for (w = 0; w < TAP_REPLAY_WAYS; w++)
			n += replay_live(&t->replay[b].e[w], (u32)now_s);
	return n;
}

u64 tap_replay_horizon(const struct tap_tables *t, u64 now_s)
{
	u64 last = 0, b;
	int w;

	for (b = 0; b <= t->replay_mask; b++)
		for (w = 0; w < TAP_REPLAY_WAYS; w++) {
			const struct tap_replay_entry *e = &t->replay[b].e[w];
			s32 left = (s32)(TAP_READ_ONCE(e->expires) - (u32)now_s);

			if (replay_live(e, (u32)now_s) && now_s + left > last)
				last = now_s + left;
		}
	return last;
}

/* Looks for fp in b; returns a free way in *free_way (or NULL). */
static bool replay_find(struct tap_replay_bucket *b, u32 fp, u32 now32,
			struct tap_replay_entry **free_way, int *nfree)
{
	int w;

	*free_way = NULL;
	*nfree = 0;
	for (w = 0; w < TAP_REPLAY_WAYS; w++) {
		struct tap_replay_entry *e = &b->e[w];

		if (replay_live(e, now32)) {
			if (e->fp == fp)
				return true;
		} else {
			if (!*free_way)
				*free_way = e;
			(*nfree)++;
		}
	}
	return false;
}

/*
 * §4 step 3, the last checks of a valid token: not seen before (from any
 * source, under any rule or key instance), within its key's admission
 * limit, and room to remember it. Returns ACCEPTED, REPLAYED, LIMITED or
 * TABLE_FULL.
 */
unsigned int tap_replay_check_insert(const struct tap_ctx *c, u16 key_id,
				     u64 tag, u64 expires_s)
{
	const struct tap_tables *t = c->t;
	struct tap_replay_entry *f1, *f2, *slot;
	struct tap_replay_bucket *b1, *b2;
	u32 now32 = (u32)c->clk->now_s, fp, l1, l2, tmp;
	unsigned int res;
	u8 rkey[10];
	u64 h;
	int n1, n2;

	put_be16(rkey, key_id);
	put_be64(rkey + 2, tag);
	h = tap_prf(&t->seed, rkey, sizeof(rkey));
	fp = (u32)(h >> 32) | 1;
	b1 = &t->replay[(u32)h & t->replay_mask];
	b2 = &t->replay[(u32)(h >> 12 ^ h >> 40) & t->replay_mask];
	l1 = ((u32)h & t->replay_mask) & t->replay_lock_mask;
	l2 = ((u32)(h >> 12 ^ h >> 40) & t->replay_mask) & t->replay_lock_mask;
	if (l1 > l2) {
		tmp = l1;
		l1 = l2;
		l2 = tmp;
	}
	tlock(c, TAP_TABLE_REPLAY, l1);
	if (l2 != l1)
		tlock(c, TAP_TABLE_REPLAY, l2);
	if (replay_find(b1, fp, now32, &f1, &n1) ||
	    replay_find(b2, fp, now32, &f2, &n2)) {
		res = TAP_STAT_REPLAYED;
	} else if (c->ops->admit &&
		   !c->ops->admit(c->env, key_id, c->clk->now_ms)) {
		res = TAP_STAT_LIMITED;
	} else if (!f1 && !f2) {
		res = TAP_STAT_TABLE_FULL;
	} else {
		/* the emptier bucket: both fill evenly */
		slot = !f2 || (f1 && n1 >= n2) ? f1 : f2;
		TAP_WRITE_ONCE(slot->expires, (u32)expires_s);
		TAP_WRITE_ONCE(slot->fp, fp);
		res = TAP_STAT_ACCEPTED;
	}
	if (l2 != l1)
		tunlock(c, TAP_TABLE_REPLAY, l2);
	tunlock(c, TAP_TABLE_REPLAY, l1);
	return res;
}

/*
 * A rule with a wider window accepts tokens for longer than the replay
 * cache was told to remember them. Every entry alive at now_s moves its
 * expiry delta_s later; the caller has made sure that no SYN still
 * inserts with the old width, and refuses the tokens whose entries may
 * have expired before this pass reached them (tables.replay_floor).
 */
void tap_replay_extend(const struct tap_tables *t, void *env, u32 delta_s,
		       u64 now_s)
{
	u32 now32 = (u32)now_s, b;
	int w;

	for (b = 0; b <= t->replay_mask; b++) {
		struct tap_replay_bucket *rb = &t->replay[b];

		tap_table_lock(env, TAP_TABLE_REPLAY, b & t->replay_lock_mask);
		for (w = 0; w < TAP_REPLAY_WAYS; w++) {
			struct tap_replay_entry *e = &rb->e[w];

			if (replay_live(e, now32))
				TAP_WRITE_ONCE(e->expires, e->expires + delta_s);
		}
		tap_table_unlock(env, TAP_TABLE_REPLAY, b & t->replay_lock_mask);
	}
}

/* After tap_replay_extend from an old window: refuse what it could miss. */
void tap_replay_raise_floor(struct tap_tables *t, u32 old_window, u64 now_s)
{
	u64 floor = now_s > old_window ? now_s - old_window : 0;

	if (floor > t->replay_floor)
		TAP_WRITE_ONCE(t->replay_floor, floor);
}

/* ---- authorized table ---- */

static bool auth_same(const struct tap_auth_entry *e, const struct tap_syn *s)
{
	return e->seq == s->seq && e->sport == s->sport &&
	       e->dport == s->dport && e->family == s->family &&
	       !memcmp(e->saddr.b, s->saddr.b, 16) &&
	       !memcmp(e->daddr.b, s->daddr.b, 16);
}

static bool key_in_rule(const struct tap_rule *rule, u16 key_id)
{
	return key_id >= rule->key_min && key_id <= rule->key_max;
}

/* The flood path, inline: four tags in one word, none of them ours. */
static __always_inline bool auth_tag_seen(const struct tap_tables *t,
					  u32 bucket, u16 tag)
{
	/* one multiply: as shifts and adds it costs every flood SYN 4 more */
	u64 lanes = 0x0001000100010001ULL;
	u64 word;

	TAP_HIDE(lanes);
	memcpy(&word, t->auth[bucket].tag, sizeof(word));
	return lanes_zero16(word ^ tag * lanes);
}

/*
 * §4 step 1: a retransmission of a SYN this rule's keys let in. No lock:
 * a way whose tag changes while it is read does not count, so a race can
 * only miss a retransmission, never let anything else in.
 */
static noinline bool auth_lookup(const struct tap_ctx *c, u32 bucket,
				 u16 tag, u16 *key_id_out)
{
	const struct tap_auth_bucket *b = &c->t->auth[bucket];
	struct tap_keyref ref;
	int w;

	for (w = 0; w < TAP_AUTH_WAYS; w++) {
		const struct tap_auth_entry *e = &b->e[w];
		bool same;
		u64 serial;
		u16 key_id;

		if (TAP_READ_ONCE(b->tag[w]) != tag)
			continue;
		tap_smp_rmb();
		same = auth_same(e, c->syn) &&
		       !ms_expired(c->clk->now_ms, e->stamp_ms,
				   c->t->auth_lifetime_ms);
		serial = e->key_serial;
		key_id = e->key_id;
		tap_smp_rmb();
		if (!same || TAP_READ_ONCE(b->tag[w]) != tag)
			continue;
		/* A deleted or reloaded key revokes what it authorized. */
		*key_id_out = key_id;
		ref.prev = NULL;
		return key_in_rule(c->rule, key_id) &&
		       c->ops->key_get(c->env, key_id, &ref) &&
		       (ref.serial == serial ||
			(ref.prev && ref.prev_serial == serial));
	}
	return false;
}

static void auth_insert(const struct tap_ctx *c, u32 bucket, u16 tag,
			u16 key_id, u64 serial)
{
	struct tap_auth_bucket *b = &c->t->auth[bucket];
	const struct tap_syn *syn = c->syn;
	struct tap_auth_entry *e;
	int w, victim = -1;

	tlock(c, TAP_TABLE_AUTH, bucket);
	for (w = 0; w < TAP_AUTH_WAYS; w++) {
		e = &b->e[w];
		if (!b->tag[w] ||
		    ms_expired(c->clk->now_ms, e->stamp_ms,
			       c->t->auth_lifetime_ms) ||
		    (b->tag[w] == tag && auth_same(e, syn))) {
			victim = w;
			break;
		}
		if (victim < 0 || b->e[victim].stamp_ms > e->stamp_ms)
			victim = w;
	}
	e = &b->e[victim];
	TAP_WRITE_ONCE(b->tag[victim], 0);
	tap_smp_wmb();
	memset(e, 0, sizeof(*e));
	e->saddr = syn->saddr;
	e->daddr = syn->daddr;
	e->key_serial = serial;
	e->seq = syn->seq;
	e->stamp_ms = c->clk->now_ms;
	e->sport = syn->sport;
	e->dport = syn->dport;
	e->key_id = key_id;
	e->family = syn->family;
	tap_smp_wmb();
	TAP_WRITE_ONCE(b->tag[victim], tag);
	tunlock(c, TAP_TABLE_AUTH, bucket);
}

/* ---- reassembly ---- */

/*
 * What reassembly works from, read once per SYN (writers do not lock).
 * Piece 0 carries the key id, which the first check needs: its candidates,
 * newest first, with their ways, ring positions and unmasked values. Piece
 * 1 completes the time: its candidates are tried in an order that depends
 * on piece 0's (pend_try_piece0()), so they stay a way mask in ring order.
 * Pieces 2 and 3 are the tag, which the MAC fixes: they are looked up
 * among the flow's other live ways (pend_tag_match()).
 */
struct pend_cands {
	u32 val0[TAP_CANDS_PER_FRAG];
	u8 way0[TAP_CANDS_PER_FRAG];
	u8 pos0[TAP_CANDS_PER_FRAG];	/* bit in ring1's order */
	int n0;
	unsigned int next;		/* ring position 0: the oldest way */
	u32 ring1;			/* bit j: way (next + j) % 16 */
	u32 live;			/* the flow's ways, S left out */
	u32 mask[TAP_MASKED_FRAGS];
};

static void cands_swap(struct pend_cands *pc, int x, int y)
{
	u8 w = pc->way0[x], pos = pc->pos0[x];
	u32 v = pc->val0[x];

	pc->way0[x] = pc->way0[y];
	pc->pos0[x] = pc->pos0[y];
	pc->val0[x] = pc->val0[y];
	pc->way0[y] = w;
	pc->pos0[y] = pos;
	pc->val0[y] = v;
}

/*
 * Piece 0's candidates come newest first. A client sends a token's pieces
 * in order, often within one millisecond, and pieces that share a check
 * byte are candidates for each other's places: among candidates of the
 * same millisecond, the one written first goes first, so that the token's
 * own piece 0 is tried first.
 */
/* cands_order_bursts() looks at the first, middle and last only */
_Static_assert(TAP_CANDS_PER_FRAG <= 3, "cands_order_bursts");

static void cands_order_bursts(const struct tap_pend_bucket *b,
			       struct pend_cands *pc)
{
	int last = pc->n0 - 1;
	u64 first_ms, last_ms, mid_ms;

	if (last < 1)
		return;
	/* stamps fall along the ring: first == last means all equal */
	first_ms = TAP_READ_ONCE(b->way[pc->way0[0]].stamp_ms);
	last_ms = TAP_READ_ONCE(b->way[pc->way0[last]].stamp_ms);
	if (first_ms == last_ms) {
		cands_swap(pc, 0, last);
		return;
	}
	if (last < 2)
		return;
	mid_ms = TAP_READ_ONCE(b->way[pc->way0[1]].stamp_ms);
	if (mid_ms == first_ms)
		cands_swap(pc, 0, 1);
	else if (mid_ms == last_ms)
		cands_swap(pc, 1, 2);
}

/*
 * Collect the candidates; false if some piece has none. The ring writes
 * ways in turn, so walking back from the one it writes next visits them
 * newest first: the first TAP_CANDS_PER_FRAG of piece 0 are the ones kept
 * (then ordered by cands_order_bursts()).
 */
static bool pend_collect(const struct tap_ctx *c,
			 const struct tap_pend_bucket *b,
			 const struct pend_scan *ps, struct pend_cands *pc)
{
	unsigned int next = TAP_READ_ONCE(b->next) % TAP_PEND_WAYS;
	u32 ways, ring;
	int n = 0;

	if (!c->realm)
		return false;
	frag_mask_pair(c->realm, c->syn->seq, c->syn->dport, pc->mask);
	ways = ps->live & pend_ways_topped(b, pc->mask[0] >> 24);
	/* bit j: way (next + j) % TAP_PEND_WAYS; bit 15 the newest */
	ring = ((ways | ways << TAP_PEND_WAYS) >> next) & 0xffff;
	while (ring && n < TAP_CANDS_PER_FRAG) {
		int j = 31 - __builtin_clz(ring);
		u8 way = (u8)((next + j) % TAP_PEND_WAYS);
		u32 val = TAP_READ_ONCE(b->way[way].seq) ^ pc->mask[0];

		ring &= ~(1U << j);
		if (val >> 24)	/* rewritten since: not a candidate */
			continue;
		pc->way0[n] = way;
		pc->pos0[n] = (u8)j;
		pc->val0[n] = val;
		n++;
	}
	pc->n0 = n;
	if (!n)
		return false;
	cands_order_bursts(b, pc);
	ways = ps->live & pend_ways_topped(b, pc->mask[1] >> 24);
	pc->next = next;
	pc->ring1 = ((ways | ways << TAP_PEND_WAYS) >> next) & 0xffff;
	pc->live = ps->live;
	return pc->ring1 != 0;
}

/* 1 if x is zero, else 0, computed without a branch */
static __always_inline u32 ct_is_zero32(u32 x)
{
	return (u32)(((u64)x - 1) >> 63);
}

/*
 * The tag compare of §4 step 3, for all tokens of one pair of pieces 0 and
 * 1 at once. Pieces 2 and 3 are the tag's two halves, so given the MAC
 * their sequence numbers are known: the SYN passes if two other ways of
 * the flow hold them. Every way of the bucket is compared, the same way
 * whatever it holds, and all is combined into one bit without a branch on
 * the MAC, as a constant-time compare would; a token whose pieces 2 and 3
 * are one sequence number is never sent (§3), so it never passes. On a
 * match w[2], w[3] are its ways.
 */
static bool pend_tag_match(const struct tap_pend_bucket *b,
			   const struct pend_cands *pc, u64 mac,
			   u8 w[TAP_FRAGS])
{
	u32 ways = pc->live & ~(1U << w[0] | 1U << w[1]);
	u32 seq2 = (u32)(mac >> 32), seq3 = (u32)mac;
	u32 at2 = 0, at3 = 0, pass;
	unsigned int i;

#pragma GCC unroll 16
	for (i = 0; i < TAP_PEND_WAYS; i++) {
		u32 seq = TAP_READ_ONCE(b->way[i].seq);

		at2 |= ct_is_zero32(seq ^ seq2) << i;
		at3 |= ct_is_zero32(seq ^ seq3) << i;
	}
	at2 &= ways;
	at3 &= ways;
	pass = ct_is_zero32(at2) ^ 1;
	pass &= ct_is_zero32(at3) ^ 1;
	pass &= ct_is_zero32(seq2 ^ seq3) ^ 1;
	if (!pass)
		return false;
	/* the outcome is known now: no secret left to keep */
	w[2] = (u8)__builtin_ctz(at2);
	w[3] = (u8)__builtin_ctz(at3);
	return true;
}

/*
 * One SYN's candidate tokens (§4 steps 2-4): the budget spent, the failure
 * that got furthest, the key looked up last (a second lookup of the same
 * id would find the same key in this RCU read section) and §2's message.
 */
struct pend_tries {
	int decoded, macs;
	unsigned int worst;
	u16 worst_key;
	int ref_id;		/* the key id *ref was looked up for, or -1 */
	bool ref_found;
	u8 msg_len;	/* 0: not built yet */
	u8 msg[TAP_MAC_MSG_MAX];
};

/* A check failed: note it. False once the decode budget is spent. */
static bool tries_note(struct pend_tries *pt, unsigned int res, u16 key_id)
{
	if (outcome_rank(res) > outcome_rank(pt->worst)) {
		pt->worst = res;
		pt->worst_key = key_id;
	}
	return ++pt->decoded < TAP_MAX_DECODES;
}

/* §4 step 3's first two checks: they depend on piece 0 alone. */
static unsigned int check_key(const struct tap_ctx *c, u16 key_id,
			      struct tap_keyref *ref, struct pend_tries *pt)
{
	if (!key_in_rule(c->rule, key_id))
		return TAP_STAT_KEY_NOT_ALLOWED;
	if (pt->ref_id != key_id) {
		ref->prev = NULL;
		ref->by_prev = false;
		ref->handle = NULL;
		pt->ref_found = c->ops->key_get(c->env, key_id, ref);
		pt->ref_id = key_id;
	}
	return pt->ref_found ? TAP_STAT_ACCEPTED : TAP_STAT_UNKNOWN_KEY;
}

/* The time check: it depends on pieces 0 and 1 alone. */
static bool check_time(const struct tap_ctx *c, u16 t16, u64 *time)
{
	u64 now_s = c->clk->now_s;
	u32 window = c->rule->window;

	*time = tap_time_expand(now_s, t16);
	return *time <= now_s + window && *time + window >= now_s &&
	       *time >= TAP_READ_ONCE(c->t->replay_floor);
}

/* §2's MAC of a key id and time, under *key. */
static u64 pend_mac(const struct tap_ctx *c, struct pend_tries *pt,
		    const tap_prf_key *key, u16 key_id, u64 time)
{
	const struct tap_syn *syn = c->syn;

	if (!pt->msg_len)
		pt->msg_len = (u8)mac_msg_build(pt->msg, syn->family,
						c->rule->bind, syn->seq,
						syn->dport, &syn->saddr,
						&syn->daddr);
	mac_msg_set_token(pt->msg, key_id, time);
	pt->macs++;
	return tap_prf(key, pt->msg, pt->msg_len);
}

/* A token whose MAC is right: the replay cache and the admission limit. */
static unsigned int check_fresh(const struct tap_ctx *c,
				const struct tap_token *tok, u64 time)
{
	/* remembered as long as any rule of the netns could accept it */
	u32 wmax = TAP_READ_ONCE(c->t->window_max);

	if (wmax < c->rule->window)
		wmax = c->rule->window;
	return tap_replay_check_insert(c, tok->key_id, tok->tag,
				       time + wmax + 1);
}

/* §4 step 3's hint check: the token names the key (or the grace's). */
static bool check_hint(const struct tap_keyref *ref, u16 hint)
{
	return hint == ref->hint || (ref->prev && hint == ref->prev_hint);
}

/*
 * A pair of pieces 0 and 1 (ways w[0], w[1]) that passed the key, time and
 * hint checks: its MAC decides for every choice of pieces 2 and 3 at once.
 * In a rotation's grace the hint picks the key; only if both keys have
 * that hint does a pair the new key refuses get the retiring key's MAC
 * too. On accept *tok is the token and w[] its ways.
 */
static unsigned int pend_try_pair(const struct tap_ctx *c,
				  const struct tap_pend_bucket *b,
				  const struct pend_cands *pc, u64 time,
				  struct tap_keyref *ref,
				  struct pend_tries *pt, struct tap_token *tok,
				  u8 w[TAP_FRAGS])
{
	bool by_prev = false, match = false;
	unsigned int res;

	if (tok->hint == ref->hint) {
		tok->tag = pend_mac(c, pt, ref->key, tok->key_id, time);
		match = pend_tag_match(b, pc, tok->tag, w);
	}
	if (!match && ref->prev && tok->hint == ref->prev_hint) {
		tok->tag = pend_mac(c, pt, ref->prev, tok->key_id, time);
		match = by_prev = pend_tag_match(b, pc, tok->tag, w);
	}
	if (!match)
		return TAP_STAT_BAD_MAC;
	res = check_fresh(c, tok, time);
	if (res == TAP_STAT_ACCEPTED && by_prev) {
		ref->key = ref->prev;
		ref->serial = ref->prev_serial;
		ref->by_prev = true;
	}
	return res;
}

/*
 * Piece 1's candidates for piece 0's candidate i0 (way w[0]), in the order
 * a client writes its pieces: those written after piece 0, nearest first,
 * then those before it, nearest first. A stray SYN of the flow that comes
 * between a client's pieces and its real SYN is then tried after the
 * client's own piece 1. The first that passes the time and hint checks
 * gets the MAC and decides: one pair per SYN. INCOMPLETE: no such pair,
 * budget left.
 */
static unsigned int pend_try_piece0(const struct tap_ctx *c,
				    const struct tap_pend_bucket *b,
				    const struct pend_cands *pc, int i0,
				    struct tap_keyref *ref,
				    struct pend_tries *pt, struct tap_token *tok,
				    u8 w[TAP_FRAGS])
{
	const u32 pos0 = pc->pos0[i0];
	u32 after = pc->ring1 & ~((2U << pos0) - 1);
	u32 before = pc->ring1 & ((1U << pos0) - 1);
	unsigned int res;

	while (after | before) {
		u32 val1;
		u64 time;
		int j;

		if (after) {
			j = __builtin_ctz(after);
			after &= after - 1;
		} else {
			j = 31 - __builtin_clz(before);
			before &= ~(1U << j);
		}
		w[1] = (u8)((pc->next + j) % TAP_PEND_WAYS);
		val1 = TAP_READ_ONCE(b->way[w[1]].seq) ^ pc->mask[1];
		if (val1 >> 24)	/* rewritten since: not a candidate */
			continue;
		token_from_pieces01(pc->val0[i0], val1, tok);
		res = !check_time(c, tok->t16, &time) ? TAP_STAT_STALE :
		      !check_hint(ref, tok->hint) ? TAP_STAT_BAD_MAC :
		      TAP_STAT_ACCEPTED;
		if (res != TAP_STAT_ACCEPTED) {
			if (!tries_note(pt, res, tok->key_id))
				return res;
			continue;
		}
		res = pend_try_pair(c, b, pc, time, ref, pt, tok, w);
		if (res != TAP_STAT_ACCEPTED)
			tries_note(pt, res, tok->key_id);
		return res;
	}
	return TAP_STAT_INCOMPLETE;
}

/*
 * §4 steps 2-4: piece 0's candidates in turn, each with piece 1's in the
 * order above, until a pair passes the key and time checks: that one pair
 * gets a MAC (and in a grace the retiring key's), which decides. A check
 * that fails counts once (TAP_MAX_DECODES in all); a key check covers
 * every token of its piece 0. On accept the pieces are consumed and *ref,
 * *tok describe the token. Out of line: its locals stay off the flood
 * path's stack.
 */
static noinline unsigned int pend_reassemble(const struct tap_ctx *c,
					     struct tap_pend_bucket *b,
					     const struct pend_scan *ps,
					     struct tap_keyref *ref,
					     struct tap_token *tok, u8 *macs)
{
	struct pend_cands pc TAP_UNINIT;
	struct pend_tries pt TAP_UNINIT;
	u8 w[TAP_FRAGS];
	int i0, i;

	if (!pend_collect(c, b, ps, &pc))
		return TAP_STAT_INCOMPLETE;
	pt.decoded = 0;
	pt.macs = 0;
	pt.worst = TAP_STAT_INCOMPLETE;
	pt.worst_key = 0;
	pt.ref_id = -1;
	pt.msg_len = 0;
	for (i0 = 0; i0 < pc.n0; i0++) {
		u16 key_id = (u16)(pc.val0[i0] >> 8);
		unsigned int res = check_key(c, key_id, ref, &pt);

		if (res != TAP_STAT_ACCEPTED) {
			if (!tries_note(&pt, res, key_id))
				break;
			continue;
		}
		w[0] = pc.way0[i0];
		res = pend_try_piece0(c, b, &pc, i0, ref, &pt, tok, w);
		*macs = (u8)pt.macs;
		if (res == TAP_STAT_ACCEPTED) {
			for (i = 0; i < TAP_FRAGS; i++)
				TAP_WRITE_ONCE(b->tag[w[i]], 0);
			key_event(c, tok->key_id, ref, res);
			return res;
		}
		if (res != TAP_STAT_INCOMPLETE)
			break;
	}
	/*
	 * One event per SYN, as the netns counters count it; an id outside
	 * the rule or not loaded names no key to count for.
	 */
	if (outcome_rank(pt.worst) >= outcome_rank(TAP_STAT_STALE))
		key_event(c, pt.worst_key,
			  pt.ref_id == pt.worst_key && pt.ref_found ? ref : NULL,
			  pt.worst);
	return pt.worst;
}

/* §4 step 1, out of line: its locals stay off the flood path's stack. */
static noinline bool auth_retransmit(const struct tap_ctx *c, u32 bucket,
				     u16 tag, struct tap_outcome *out)
{
	u16 key_id;

	if (!auth_lookup(c, bucket, tag, &key_id))
		return false;
	out->stat = TAP_STAT_RETRANSMIT;
	out->evicted = false;
	out->macs = 0;
	key_event(c, key_id, NULL, TAP_STAT_RETRANSMIT);
	return true;
}

/* What the flood path's look at a SYN found. */
struct tap_look {
	u32 flow_hash;
	u32 auth_bucket;
	u16 auth_tag;
	u16 live;	/* pending ways of S's flow, as struct pend_scan */
	u8 dup_way;
	bool auth_seen;	/* may be a retransmission: the bucket not yet scanned */
	bool evicted;	/* stored, and a live piece made room */
};

/*
 * Enough live pieces of S's flow for a token: reassemble, and either let S
 * in or store it as a piece.
 */
static __always_inline void pend_complete(const struct tap_ctx *c,
					  const struct tap_look *look,
					  struct tap_outcome *out)
{
	struct tap_pend_bucket *b = &c->t->pend[look->flow_hash &
						c->t->pend_mask];
	const struct pend_scan ps = {
		.live = look->live, .dup_way = look->dup_way,
	};
	struct tap_keyref ref TAP_UNINIT;
	struct tap_token tok TAP_UNINIT;

	out->evicted = false;
	out->macs = 0;
	out->stat = pend_reassemble(c, b, &ps, &ref, &tok, &out->macs);
	if (out->stat == TAP_STAT_ACCEPTED) {
		auth_insert(c, look->auth_bucket, look->auth_tag, tok.key_id,
			    ref.serial);
		if (c->ops->accepted)
			c->ops->accepted(c, tok.key_id, &ref);
		return;
	}
	out->evicted = pend_store(b, &ps, tap_pend_tag(look->flow_hash),
				  c->syn->seq, c->clk->now_ms,
				  c->t->pend_lifetime_ms);
}

/* Scan S's pending bucket and store S there, unless it completes a token. */
static __always_inline bool look_pend(const struct tap_tables *t, u32 seq,
				      u64 now_ms, struct tap_look *look)
{
	/* read before the first store: a u8 store may alias anything */
	const u32 lifetime_ms = t->pend_lifetime_ms;
	struct tap_pend_bucket *b = &t->pend[look->flow_hash & t->pend_mask];
	u8 tag = tap_pend_tag(look->flow_hash);
	struct pend_scan ps TAP_UNINIT;

	pend_scan(b, tag, seq, now_ms, lifetime_ms, &ps);
	look->live = (u16)ps.live;
	look->dup_way = ps.dup_way;
	if (unlikely(pend_enough(ps.live)))
		return false;
	look->evicted = pend_store(b, &ps, tag, seq, now_ms, lifetime_ms);
	return true;
}

/*
 * The flood path: it needs only the tables, the SYN and the time. True:
 * S is stored as a piece and there is nothing more to do, as for nearly
 * every SYN of a flood. The module compiles this file into the match
 * (xt_tap_main.c), which inlines this: a flood SYN then costs no call and
 * builds no context.
 */
static __always_inline bool tap_syn_look(const struct tap_tables *t,
					 const struct tap_syn_key *k,
					 u64 now_ms, struct tap_look *look)
{
	look->flow_hash = flow_hash(t, k);
	look->auth_bucket = auth_bucket(t, k, look->flow_hash,
					&look->auth_tag);
	look->auth_seen = auth_tag_seen(t, look->auth_bucket, look->auth_tag);
	if (unlikely(look->auth_seen))
		return false;
	return look_pend(t, k->seq, now_ms, look);
}

static void outcome_stored(struct tap_outcome *out, bool evicted)
{
	out->stat = TAP_STAT_INCOMPLETE;
	out->evicted = evicted;
	out->macs = 0;
}

/*
 * A SYN the look could not decide: a retransmission, or enough pieces for
 * a token. The module's match builds its context only for these.
 */
static __always_inline void tap_syn_decide(const struct tap_ctx *c,
					   struct tap_look *look,
					   struct tap_outcome *out)
{
	if (look->auth_seen) {
		if (auth_retransmit(c, look->auth_bucket, look->auth_tag, out))
			return;
		if (look_pend(c->t, c->syn->seq, c->clk->now_ms, look)) {
			outcome_stored(out, look->evicted);
			return;
		}
	}
	pend_complete(c, look, out);
}

void tap_process_syn(const struct tap_ctx *c, struct tap_outcome *out)
{
	const struct tap_syn_key k = syn_key(c->syn);
	struct tap_look look TAP_UNINIT;

	if (tap_syn_look(c->t, &k, c->clk->now_ms, &look))
		outcome_stored(out, look.evicted);
	else
		tap_syn_decide(c, &look, out);
}
