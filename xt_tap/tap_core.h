/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one implementation of the TAP protocol (docs/PROTOCOL.md): token
 * math, fragment encoding, and the fixed-size tables that reassemble
 * tokens on the server. Built into xt_tap.ko and linked into userspace;
 * only the PRF and constant-time compare differ, below.
 */
#ifndef _TAP_CORE_H
#define _TAP_CORE_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/siphash.h>
typedef siphash_key_t tap_prf_key;
typedef hsiphash_key_t tap_hash_key;	/* bucket choice: SipHash-1-3 */
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
typedef struct {
	u8 raw[16];
} tap_prf_key;
typedef struct {
	u64 key[2];
} tap_hash_key;
#endif

#include "xt_tap.h"

#define TAP_FRAGS		4	/* auth SYNs per token */
#define TAP_MASKED_FRAGS	2	/* pieces 0 and 1: masked, with a check byte */
#define TAP_MAX_TRIES		2	/* MACs per SYN: 1, 2 in a grace (§4) */
#define TAP_MAX_DECODES		4	/* failed checks per SYN, at most (§4) */
#define TAP_CANDS_PER_FRAG	3	/* newest candidates kept for piece 0 */
#define TAP_PEND_WAYS		16
#define TAP_AUTH_WAYS		4
#define TAP_REPLAY_WAYS		8
/*
 * The replay cache is sized for this share of live entries at its rated
 * load (2-choice buckets of 8 refuse about 1 insert in 10^6 there).
 */
#define TAP_REPLAY_LOAD_PERMILLE	600

struct tap_addr {
	u8 b[16];	/* IPv4: 4 bytes then 12 zero bytes */
};

/* What the server (or client) knows of one SYN. */
struct tap_syn {
	u8 family;	/* 4 or 6 */
	struct tap_addr saddr, daddr;
	u16 sport, dport;	/* host order */
	u32 seq;	/* host order */
};

/* What a token binds besides the real SYN's ISN and port (§2 flags). */
#define TAP_BIND_DADDR		0x01
#define TAP_BIND_SADDR		0x02
#define TAP_BIND_ALL		0x03

/* Inputs to one token (PROTOCOL.md §2). */
struct tap_token_params {
	u8 family;
	u8 bind;	/* TAP_BIND_* */
	u16 key_id;
	u16 dport;
	u32 isn;
	u64 time;
	struct tap_addr daddr;	/* zero unless TAP_BIND_DADDR */
	struct tap_addr saddr;	/* zero unless TAP_BIND_SADDR */
};

struct tap_token {
	u16 key_id;
	u16 t16;
	u16 hint;	/* the key's, tap_key_hint() */
	u64 tag;
};

struct tap_rule {
	u16 key_min, key_max;
	u32 window;
	u8 bind;	/* TAP_BIND_* */
};

/* 64-bit both: no stamp ever wraps back into a lifetime. */
struct tap_clock {
	u64 now_s;	/* Unix seconds */
	u64 now_ms;	/* monotonic milliseconds */
};

/* Platform: PRF, table hash and constant-time compare. */
void tap_prf_key_import(tap_prf_key *key, const u8 raw[TAP_KEY_LEN]);
u64 tap_prf(const tap_prf_key *key, const void *data, size_t len);
bool tap_tag_equal(u64 a, u64 b);
void tap_wipe(void *p, size_t len);

/* Token math. */
u64 tap_mac(const tap_prf_key *key, const struct tap_token_params *p);
u64 tap_key_fingerprint(const tap_prf_key *key);
/* §2: the top 16 bits of a key's fingerprint */
static inline u16 tap_key_hint(u64 fingerprint)
{
	return (u16)(fingerprint >> 48);
}
u64 tap_realm_fingerprint(const tap_prf_key *realm);
void tap_frag_masks(const tap_prf_key *realm, u32 isn, u16 dport,
		    u32 mask[TAP_FRAGS]);
void tap_token_pack(const tap_prf_key *realm, const struct tap_token *tok,
		    u32 isn, u16 dport, u32 seq[TAP_FRAGS]);
bool tap_token_unpack(const tap_prf_key *realm, const u32 seq[TAP_FRAGS],
		      u32 isn, u16 dport, struct tap_token *tok);
u64 tap_token_encode(const tap_prf_key *key, const tap_prf_key *realm,
		     const struct tap_token_params *p, u32 seq[TAP_FRAGS]);
u64 tap_time_expand(u64 now, u16 t16);
void tap_params_from_syn(struct tap_token_params *p,
			 const struct tap_syn *real, u8 bind,
			 u16 key_id, u64 time);
const char *tap_stat_name(unsigned int stat);

/*
 * Server tables. Each is an array of buckets; the caller allocates them
 * zeroed and owns their locks (struct tap_ops).
 *
 * Pending: the SYNs that may be auth SYNs, per source address and port. A
 * bucket keeps an 8-bit tag of each way's flow in two words, so that a
 * flood SYN from a new source costs two compares and one store, and the
 * top byte of each way's sequence number, so that finding the candidates
 * for a piece (§4 step 2) costs a compare per eight ways; ways are
 * overwritten oldest first (a ring). No lock: a race between two CPUs can
 * only lose or garble a piece, and a garbled piece fails the MAC; what
 * decides, the replay cache, is locked.
 */
struct tap_pend_way {
	u32 seq;
	u32 pad;
	u64 stamp_ms;
};

struct tap_pend_bucket {
	union {
		u8 tag[TAP_PEND_WAYS];	/* 0: free */
		u64 tag_word[TAP_PEND_WAYS / 8];
	};
	union {				/* each way's seq >> 24, for §4 step 2 */
		u8 top[TAP_PEND_WAYS];
		u64 top_word[TAP_PEND_WAYS / 8];
	};
	u8 next;			/* the way the ring overwrites next */
	u8 pad[31];
	struct tap_pend_way way[TAP_PEND_WAYS];
};

/*
 * Authorized: the real SYNs let in, for their retransmissions, indexed per
 * connection. The tags are read without a lock; a writer clears a way's
 * tag before it changes the way and sets it last.
 */
struct tap_auth_entry {
	struct tap_addr saddr, daddr;
	u64 key_serial;
	u64 stamp_ms;
	u32 seq;
	u16 sport, dport;
	u16 key_id;
	u8 family;
	u8 pad[5];
};

struct tap_auth_bucket {
	u16 tag[TAP_AUTH_WAYS] __attribute__((aligned(8)));	/* 0: free */
	u8 pad[56];
	struct tap_auth_entry e[TAP_AUTH_WAYS];
};

/*
 * Replay: every accepted token, as a 32-bit fingerprint of (key id, tag),
 * until it could no longer be accepted by any rule of the netns. Each token
 * has two candidate buckets; an insert that finds both full of live
 * entries is refused (table_full), never evicts one.
 */
struct tap_replay_entry {
	u32 fp;		/* 0: free */
	u32 expires;	/* low 32 bits of the Unix second it expires */
};

struct tap_replay_bucket {
	struct tap_replay_entry e[TAP_REPLAY_WAYS];
};

enum tap_table_id {
	TAP_TABLE_PEND,
	TAP_TABLE_AUTH,
	TAP_TABLE_REPLAY,
};

struct tap_tables {
	struct tap_pend_bucket *pend;
	struct tap_auth_bucket *auth;
	struct tap_replay_bucket *replay;
	u32 pend_mask, auth_mask, replay_mask;	/* buckets - 1, power of 2 */
	u32 replay_lock_mask;	/* replay lock stripes - 1, power of 2 */
	u32 pend_lifetime_ms;
	u32 auth_lifetime_ms;
	u32 window_max;		/* largest --window of the netns's rules */
	u64 replay_floor;	/* older tokens may be forgotten: refused */
	tap_prf_key seed;	/* random per netns */
	tap_hash_key hash_seed;	/* random per netns */
};

/*
 * A key as the tables see it; serial tells reloads of one id apart.
 * During a rotation's grace key_get also gives the id's retiring key in
 * prev (the core sets prev to NULL before asking): a token whose MAC fails
 * with key is tried with prev. When prev let it in, key and serial are
 * prev's and by_prev is set, so that what it authorized lapses with it.
 * hint and prev_hint are the keys' tap_key_hint(), which key_get keeps
 * with them (a token's hint picks the key to try: one MAC per SYN).
 * handle is key_get's own (the core sets it to NULL before asking), for
 * the key_event that follows: it saves a second lookup.
 */
struct tap_keyref {
	const tap_prf_key *key;
	u64 serial;
	u16 hint, prev_hint;
	const tap_prf_key *prev;
	u64 prev_serial;
	bool by_prev;
	void *handle;
};

struct tap_ctx;

/*
 * The environment's keys. key_get runs inside whatever protects the key
 * (RCU in the kernel); admit is the key's admission limit, asked once a
 * token has proven valid and new (NULL: no limit); key_event may be NULL,
 * and its ref is key_get's answer for that id in this SYN, or NULL.
 * accepted (may be NULL) is told of each accepted real SYN, with the key
 * that let it in, after it is recorded; c->syn is that SYN.
 */
struct tap_ops {
	bool (*key_get)(void *env, u16 key_id, struct tap_keyref *ref);
	void (*key_event)(void *env, u16 key_id, const struct tap_keyref *ref,
			  unsigned int stat);
	bool (*admit)(void *env, u16 key_id, u64 now_ms);
	void (*accepted)(const struct tap_ctx *c, u16 key_id,
			 const struct tap_keyref *ref);
};

/*
 * Platform: the tables' locks, one per bucket (per stripe for the replay
 * cache). The pending table takes none. The order is REPLAY (stripes in
 * increasing order), then AUTH. In userspace the library's default
 * takes no lock; a program that shares tables between threads, or checks
 * the order, defines its own.
 */
void tap_table_lock(void *env, enum tap_table_id table, u32 bucket);
void tap_table_unlock(void *env, enum tap_table_id table, u32 bucket);

/* Everything one SYN is judged with; the caller fills it per SYN. */
struct tap_ctx {
	const struct tap_tables *t;
	const struct tap_ops *ops;
	void *env;			/* passed to every op */
	const struct tap_rule *rule;
	const struct tap_syn *syn;
	const struct tap_clock *clk;
	const tap_prf_key *realm;	/* NULL: no realm, no token decodes */
};

struct tap_outcome {
	unsigned int stat;	/* TAP_STAT_* */
	bool evicted;		/* also count TAP_STAT_EVICTED */
	u8 macs;		/* MACs computed, at most TAP_MAX_TRIES */
};

static inline bool tap_stat_is_match(unsigned int stat)
{
	return stat == TAP_STAT_ACCEPTED || stat == TAP_STAT_RETRANSMIT;
}

void tap_process_syn(const struct tap_ctx *ctx, struct tap_outcome *out);

/*
 * A key's admission limit, as a generic cell rate algorithm: tat is the
 * earliest time the next token is due (ns); up to one second's allowance
 * may come at once. Returns false to refuse, else the new tat in *next.
 * rate 0 means no limit.
 */
static inline bool tap_admit_gcra(u64 tat, u64 now_ns, u32 rate, u64 *next)
{
	u64 interval, t;

	if (!rate)
		return *next = tat, true;
	interval = 1000000000ULL / rate;
	t = tat > now_ns ? tat : now_ns;
	if (t - now_ns + interval > 1000000000ULL + interval / 2)
		return false;
	*next = t + interval;
	return true;
}

/* The rated rate of a replay cache: new tokens per second at a window. */
static inline u64 tap_replay_rated_rate(u64 slots, u32 window)
{
	return slots * TAP_REPLAY_LOAD_PERMILLE / 1000 / (window + 1ULL);
}

/* Live entries in the replay cache now: a pass over it, for the counters. */
u64 tap_replay_live(const struct tap_tables *t, u64 now_s);
/* The second the last live entry expires at, 0 if none: a pass too. */
u64 tap_replay_horizon(const struct tap_tables *t, u64 now_s);

/* Building blocks of tap_process_syn, exposed for the unit tests. */
u32 tap_flow_hash(const struct tap_tables *t, const struct tap_syn *syn);
u8 tap_pend_tag(u32 flow_hash);
u32 tap_auth_bucket(const struct tap_tables *t, const struct tap_syn *syn,
		    u32 flow_hash, u16 *tag);
bool tap_pend_insert(struct tap_pend_bucket *b, u8 tag, u32 seq,
		     u64 now_ms, u32 lifetime_ms);
unsigned int tap_replay_check_insert(const struct tap_ctx *c, u16 key_id,
				     u64 tag, u64 expires_s);
void tap_replay_extend(const struct tap_tables *t, void *env, u32 delta_s,
		       u64 now_s);
void tap_replay_raise_floor(struct tap_tables *t, u32 old_window, u64 now_s);

#endif /* _TAP_CORE_H */
