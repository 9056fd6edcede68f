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
#endif

#include "xt_tap.h"

#define TAP_FRAGS		4	/* auth SYNs per token */
#define TAP_TOKEN_BYTES		12	/* key_id, t16, tag */
#define TAP_MAX_TRIES		4	/* MACs computed per SYN */
#define TAP_MAX_DECODES		8	/* combinations decoded per SYN */
#define TAP_CANDS_PER_FRAG	3	/* newest candidates kept per piece */
#define TAP_PEND_WAYS		16
#define TAP_AUTH_WAYS		4
#define TAP_REPLAY_WAYS		8

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

/* Platform: PRF and constant-time compare. */
void tap_prf_key_import(tap_prf_key *key, const u8 raw[TAP_KEY_LEN]);
u64 tap_prf(const tap_prf_key *key, const void *data, size_t len);
bool tap_tag_equal(u64 a, u64 b);
void tap_wipe(void *p, size_t len);

/* Token math. */
u64 tap_mac(const tap_prf_key *key, const struct tap_token_params *p);
u64 tap_key_fingerprint(const tap_prf_key *key);
u64 tap_realm_fingerprint(const tap_prf_key *realm);
void tap_frag_masks(const tap_prf_key *realm, u32 isn, u16 dport,
		    u32 mask[TAP_FRAGS]);
void tap_token_pack(const tap_prf_key *realm, const struct tap_token *tok,
		    u32 isn, u16 dport, u32 seq[TAP_FRAGS]);
bool tap_token_unpack(const tap_prf_key *realm, const u32 seq[TAP_FRAGS],
		      u32 isn, u16 dport, struct tap_token *tok);
void tap_token_encode(const tap_prf_key *key, const tap_prf_key *realm,
		      const struct tap_token_params *p, u32 seq[TAP_FRAGS]);
u64 tap_time_expand(u64 now, u16 t16);
void tap_params_from_syn(struct tap_token_params *p,
			 const struct tap_syn *real, u8 bind,
			 u16 key_id, u64 time);
const char *tap_stat_name(unsigned int stat);

/* Server tables: arrays of buckets, each bucket locked by the caller. */
struct tap_pend_entry {
	struct tap_addr saddr;
	u32 flow;	/* flow hash, checked before saddr */
	u32 seq;
	u64 stamp_ms;
	u16 dport;
	u8 family;	/* 0: empty */
	u8 pad[5];
};

struct tap_pend_bucket {
	struct tap_pend_entry e[TAP_PEND_WAYS];
};

struct tap_auth_entry {
	struct tap_addr saddr, daddr;
	u64 key_serial;
	u64 stamp_ms;
	u32 seq;
	u16 sport, dport;
	u16 key_id;
	u8 family;	/* 0: empty */
	u8 pad[5];
};

struct tap_auth_bucket {
	struct tap_auth_entry e[TAP_AUTH_WAYS];
};

struct tap_replay_entry {
	u64 tag;
	u64 expires_s;	/* 0: empty */
	u16 key_id;
	u8 pad[6];
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
	u32 pend_lifetime_ms;
	u32 auth_lifetime_ms;
	tap_prf_key seed;	/* random per netns */
};

/* A key as the tables see it; serial tells reloads of one id apart. */
struct tap_keyref {
	const tap_prf_key *key;
	u64 serial;
};

/*
 * The environment: key lookup and bucket locks. key_get runs inside
 * whatever protects the key (RCU in the kernel); lock/unlock may be NULL.
 * Lock order is always PEND, REPLAY, AUTH.
 */
struct tap_ops {
	bool (*key_get)(void *env, u16 key_id, struct tap_keyref *ref);
	void (*key_event)(void *env, u16 key_id, unsigned int stat);
	void (*lock)(void *env, enum tap_table_id table, u32 bucket);
	void (*unlock)(void *env, enum tap_table_id table, u32 bucket);
};

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
};

static inline bool tap_stat_is_match(unsigned int stat)
{
	return stat == TAP_STAT_ACCEPTED || stat == TAP_STAT_RETRANSMIT;
}

void tap_process_syn(const struct tap_ctx *ctx, struct tap_outcome *out);

/* Building blocks of tap_process_syn, exposed for the unit tests. */
u64 tap_flow_hash(const struct tap_tables *t, const struct tap_syn *syn);
u32 tap_auth_bucket(const struct tap_tables *t, const struct tap_syn *syn,
		    u64 flow_hash);
bool tap_pend_insert(struct tap_pend_bucket *b, const struct tap_syn *syn,
		     u32 flow, u64 now_ms, u32 lifetime_ms);
unsigned int tap_replay_check_insert(struct tap_replay_bucket *b,
				     u16 key_id, u64 tag, u64 expires_s,
				     u64 now_s);

#endif /* _TAP_CORE_H */
