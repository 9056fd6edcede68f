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
#else
#include <endian.h>
#include <string.h>
#include <sodium.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
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

static u64 get_be64(const u8 *p)
{
	u64 v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* §2 */
u64 tap_mac(const tap_prf_key *key, const struct tap_token_params *p)
{
	u8 msg[56];

	memcpy(msg, "TAP2", 4);
	msg[4] = p->family;
	msg[5] = p->bind & TAP_BIND_ALL;
	put_be16(msg + 6, p->key_id);
	put_be32(msg + 8, p->isn);
	put_be16(msg + 12, p->dport);
	put_be16(msg + 14, 0);
	put_be64(msg + 16, p->time);
	if (p->bind & TAP_BIND_DADDR)
		memcpy(msg + 24, p->daddr.b, 16);
	else
		memset(msg + 24, 0, 16);
	if (p->bind & TAP_BIND_SADDR)
		memcpy(msg + 40, p->saddr.b, 16);
	else
		memset(msg + 40, 0, 16);
	return tap_prf(key, msg, sizeof(msg));
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

/* §3: only holders of the realm can tell auth SYNs from random ISNs */
void tap_frag_masks(const tap_prf_key *realm, u32 isn, u16 dport,
		    u32 mask[TAP_FRAGS])
{
	u8 msg[11];
	u64 m;
	int c;

	memcpy(msg, "TAPm", 4);
	put_be32(msg + 4, isn);
	put_be16(msg + 8, dport);
	for (c = 0; c < 2; c++) {
		msg[10] = c;
		m = tap_prf(realm, msg, sizeof(msg));
		mask[2 * c] = m >> 32;
		mask[2 * c + 1] = (u32)m;
	}
}

static void token_pack_masked(const struct tap_token *tok,
			      const u32 mask[TAP_FRAGS], u32 seq[TAP_FRAGS])
{
	u8 d[TAP_TOKEN_BYTES];
	int i;

	put_be16(d, tok->key_id);
	put_be16(d + 2, tok->t16);
	put_be64(d + 4, tok->tag);
	for (i = 0; i < TAP_FRAGS; i++)
		seq[i] = ((u32)d[3 * i] << 16 | (u32)d[3 * i + 1] << 8 |
			  d[3 * i + 2]) ^ mask[i];
}

/* False if a check byte is not zero: not a piece of this SYN's token. */
static bool token_unpack_masked(const u32 seq[TAP_FRAGS],
				const u32 mask[TAP_FRAGS],
				struct tap_token *tok)
{
	u8 d[TAP_TOKEN_BYTES];
	int i;

	for (i = 0; i < TAP_FRAGS; i++) {
		u32 p = seq[i] ^ mask[i];

		if (p >> 24)
			return false;
		d[3 * i] = p >> 16;
		d[3 * i + 1] = p >> 8;
		d[3 * i + 2] = p;
	}
	tok->key_id = (u16)(d[0] << 8 | d[1]);
	tok->t16 = (u16)(d[2] << 8 | d[3]);
	tok->tag = get_be64(d + 4);
	return true;
}

void tap_token_pack(const tap_prf_key *realm, const struct tap_token *tok,
		    u32 isn, u16 dport, u32 seq[TAP_FRAGS])
{
	u32 mask[TAP_FRAGS];

	tap_frag_masks(realm, isn, dport, mask);
	token_pack_masked(tok, mask, seq);
}

bool tap_token_unpack(const tap_prf_key *realm, const u32 seq[TAP_FRAGS],
		      u32 isn, u16 dport, struct tap_token *tok)
{
	u32 mask[TAP_FRAGS];

	tap_frag_masks(realm, isn, dport, mask);
	return token_unpack_masked(seq, mask, tok);
}

void tap_token_encode(const tap_prf_key *key, const tap_prf_key *realm,
		      const struct tap_token_params *p, u32 seq[TAP_FRAGS])
{
	struct tap_token tok = {
		.key_id = p->key_id,
		.t16 = (u16)p->time,
		.tag = tap_mac(key, p),
	};

	tap_token_pack(realm, &tok, p->isn, p->dport, seq);
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
	case TAP_STAT_TABLE_FULL:	return 6;
	default:			return 0;	/* incomplete */
	}
}

/* Outcomes for which a MAC was computed: they count against the budget. */
static bool outcome_cost_mac(unsigned int stat)
{
	return stat == TAP_STAT_ACCEPTED || stat == TAP_STAT_BAD_MAC ||
	       stat == TAP_STAT_REPLAYED || stat == TAP_STAT_TABLE_FULL;
}

/* ---- server tables (§4) ---- */

static bool ms_expired(u64 now_ms, u64 stamp_ms, u32 lifetime_ms)
{
	return now_ms - stamp_ms >= lifetime_ms;
}

/*
 * Seeded hash of what groups pieces: saddr, dport, family. An IPv4
 * address is hashed without its 12 zero bytes of padding: 7 bytes take
 * one SipHash block instead of three.
 */
u64 tap_flow_hash(const struct tap_tables *t, const struct tap_syn *syn)
{
	size_t alen = syn->family == 4 ? 4 : 16;
	u8 buf[19];

	memcpy(buf, syn->saddr.b, alen);
	put_be16(buf + alen, syn->dport);
	buf[alen + 2] = syn->family;
	return tap_prf(&t->seed, buf, alen + 3);
}

/*
 * The authorized table is indexed per connection, not per source, so that
 * the many connections of one address (a NAT, a browser) do not push each
 * other's retransmission entries out. Only accepted SYNs are stored there,
 * so a cheap mix of the secret flow hash with the source port and ISN is
 * enough: a sender without a key cannot fill a bucket.
 */
u32 tap_auth_bucket(const struct tap_tables *t, const struct tap_syn *syn,
		    u64 flow_hash)
{
	u64 h = flow_hash ^ ((u64)syn->sport << 32 | syn->seq);

	h *= 0x9e3779b97f4a7c15ULL;
	return (u32)(h >> 32) & t->auth_mask;
}

static bool pend_same_flow(const struct tap_pend_entry *e,
			   const struct tap_syn *syn, u32 flow)
{
	return e->flow == flow && e->family == syn->family &&
	       e->dport == syn->dport &&
	       !memcmp(e->saddr.b, syn->saddr.b, sizeof(e->saddr.b));
}

/*
 * One pass over a pending bucket gives both what reassembly needs (this
 * flow's live entries, S's own sequence number left out) and where S would
 * be stored: nowhere if it is a duplicate, else the first empty or expired
 * way, else the oldest live entry (an eviction).
 */
struct pend_scan {
	struct tap_pend_entry *live[TAP_PEND_WAYS];
	struct tap_pend_entry *victim;
	int nlive;
	bool evict, dup;
};

static __always_inline void pend_scan(struct tap_pend_bucket *b,
				      const struct tap_syn *syn,
				      u32 flow, u64 now_ms, u32 lifetime_ms,
				      struct pend_scan *ps)
{
	struct tap_pend_entry *e, *free_way = NULL, *oldest = NULL;
	u64 age, oldest_age = 0;
	int w;

	ps->nlive = 0;
	ps->dup = false;
	/* the flood path's main cost: unrolled, it runs about 10% faster */
#pragma GCC unroll 16
	for (w = 0; w < TAP_PEND_WAYS; w++) {
		e = &b->e[w];
		age = now_ms - e->stamp_ms;	/* as ms_expired() */
		if (!e->family || age >= lifetime_ms) {
			if (!free_way)
				free_way = e;
			continue;
		}
		if (pend_same_flow(e, syn, flow)) {
			if (e->seq == syn->seq)
				ps->dup = true;
			else
				ps->live[ps->nlive++] = e;
		}
		/* the oldest is the first with the largest age */
		if (!oldest || age > oldest_age) {
			oldest = e;
			oldest_age = age;
		}
	}
	ps->victim = free_way ? free_way : oldest;
	ps->evict = !free_way;
}

/* Store S as scanned; returns true if a live entry had to be evicted. */
static bool pend_store(const struct pend_scan *ps, const struct tap_syn *syn,
		       u32 flow, u64 now_ms)
{
	struct tap_pend_entry *victim = ps->victim;

	if (ps->dup)
		return false;	/* an identical entry is not stored twice */
	memset(victim, 0, sizeof(*victim));
	victim->saddr = syn->saddr;
	victim->flow = flow;
	victim->seq = syn->seq;
	victim->stamp_ms = now_ms;
	victim->dport = syn->dport;
	victim->family = syn->family;
	return ps->evict;
}

/* Returns true if a live entry had to be evicted. */
bool tap_pend_insert(struct tap_pend_bucket *b, const struct tap_syn *syn,
		     u32 flow, u64 now_ms, u32 lifetime_ms)
{
	struct pend_scan ps;

	pend_scan(b, syn, flow, now_ms, lifetime_ms, &ps);
	return pend_store(&ps, syn, flow, now_ms);
}

unsigned int tap_replay_check_insert(struct tap_replay_bucket *b,
				     u16 key_id, u64 tag, u64 expires_s,
				     u64 now_s)
{
	struct tap_replay_entry *e, *free_slot = NULL;
	int w;

	for (w = 0; w < TAP_REPLAY_WAYS; w++) {
		e = &b->e[w];
		if (e->expires_s > now_s) {
			if (e->tag == tag && e->key_id == key_id)
				return TAP_STAT_REPLAYED;
		} else if (!free_slot) {
			free_slot = e;
		}
	}
	if (!free_slot)
		return TAP_STAT_TABLE_FULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->tag = tag;
	free_slot->key_id = key_id;
	free_slot->expires_s = expires_s;
	return TAP_STAT_ACCEPTED;
}

static void tlock(const struct tap_ctx *c, enum tap_table_id table,
		  u32 bucket)
{
	if (c->ops->lock)
		c->ops->lock(c->env, table, bucket);
}

static void tunlock(const struct tap_ctx *c, enum tap_table_id table,
		    u32 bucket)
{
	if (c->ops->unlock)
		c->ops->unlock(c->env, table, bucket);
}

static void key_event(const struct tap_ctx *c, u16 key_id, unsigned int stat)
{
	if (c->ops->key_event)
		c->ops->key_event(c->env, key_id, stat);
}

static bool auth_same(const struct tap_auth_entry *e, const struct tap_syn *s)
{
	return e->family == s->family && e->seq == s->seq &&
	       e->sport == s->sport && e->dport == s->dport &&
	       !memcmp(e->saddr.b, s->saddr.b, 16) &&
	       !memcmp(e->daddr.b, s->daddr.b, 16);
}

static bool key_in_rule(const struct tap_rule *rule, u16 key_id)
{
	return key_id >= rule->key_min && key_id <= rule->key_max;
}

/* §4 step 1: a retransmission of a SYN this rule's keys let in. */
static bool auth_lookup(const struct tap_ctx *c, u32 bucket, u16 *key_id_out)
{
	struct tap_auth_bucket *b = &c->t->auth[bucket];
	struct tap_keyref ref;
	bool found = false;
	u64 serial = 0;
	u16 key_id = 0;
	int w;

	tlock(c, TAP_TABLE_AUTH, bucket);
	for (w = 0; w < TAP_AUTH_WAYS; w++) {
		const struct tap_auth_entry *e = &b->e[w];

		if (e->family && auth_same(e, c->syn) &&
		    !ms_expired(c->clk->now_ms, e->stamp_ms,
				c->t->auth_lifetime_ms)) {
			found = true;
			key_id = e->key_id;
			serial = e->key_serial;
			break;
		}
	}
	tunlock(c, TAP_TABLE_AUTH, bucket);

	/* A deleted or reloaded key revokes what it authorized. */
	*key_id_out = key_id;
	return found && key_in_rule(c->rule, key_id) &&
	       c->ops->key_get(c->env, key_id, &ref) && ref.serial == serial;
}

static void auth_insert(const struct tap_ctx *c, u32 bucket, u16 key_id,
			u64 serial)
{
	struct tap_auth_bucket *b = &c->t->auth[bucket];
	const struct tap_syn *syn = c->syn;
	struct tap_auth_entry *e, *victim = NULL;
	int w;

	tlock(c, TAP_TABLE_AUTH, bucket);
	for (w = 0; w < TAP_AUTH_WAYS; w++) {
		e = &b->e[w];
		if (!e->family ||
		    ms_expired(c->clk->now_ms, e->stamp_ms,
			       c->t->auth_lifetime_ms) ||
		    auth_same(e, syn)) {
			victim = e;
			break;
		}
		if (!victim || victim->stamp_ms > e->stamp_ms)
			victim = e;
	}
	memset(victim, 0, sizeof(*victim));
	victim->saddr = syn->saddr;
	victim->daddr = syn->daddr;
	victim->key_serial = serial;
	victim->seq = syn->seq;
	victim->stamp_ms = c->clk->now_ms;
	victim->sport = syn->sport;
	victim->dport = syn->dport;
	victim->key_id = key_id;
	victim->family = syn->family;
	tunlock(c, TAP_TABLE_AUTH, bucket);
}

/* §4 step 3: returns TAP_STAT_ACCEPTED or why this combination failed. */
static unsigned int verify_token(const struct tap_ctx *c,
				 const struct tap_token *tok,
				 struct tap_keyref *ref)
{
	const struct tap_rule *rule = c->rule;
	u64 now_s = c->clk->now_s;
	struct tap_token_params p;
	unsigned int res;
	u8 rkey[10];
	u64 time;
	u32 rb;

	if (!key_in_rule(rule, tok->key_id))
		return TAP_STAT_KEY_NOT_ALLOWED;
	if (!c->ops->key_get(c->env, tok->key_id, ref))
		return TAP_STAT_UNKNOWN_KEY;

	time = tap_time_expand(now_s, tok->t16);
	if (time > now_s + rule->window || time + rule->window < now_s) {
		res = TAP_STAT_STALE;
		goto out;
	}

	tap_params_from_syn(&p, c->syn, rule->bind, tok->key_id, time);
	if (!tap_tag_equal(tap_mac(ref->key, &p), tok->tag)) {
		res = TAP_STAT_BAD_MAC;
		goto out;
	}

	put_be16(rkey, tok->key_id);
	put_be64(rkey + 2, tok->tag);
	rb = (u32)tap_prf(&c->t->seed, rkey, sizeof(rkey)) & c->t->replay_mask;
	tlock(c, TAP_TABLE_REPLAY, rb);
	res = tap_replay_check_insert(&c->t->replay[rb], tok->key_id, tok->tag,
				      time + rule->window + 1, now_s);
	tunlock(c, TAP_TABLE_REPLAY, rb);
out:
	key_event(c, tok->key_id, res);
	return res;
}

struct pend_cands {
	struct tap_pend_entry *c[TAP_FRAGS][TAP_CANDS_PER_FRAG];
	int n[TAP_FRAGS];
};

static void cand_add(struct pend_cands *pc, int i, struct tap_pend_entry *e)
{
	struct tap_pend_entry **c = pc->c[i];
	int n = pc->n[i];

	/* keep the newest TAP_CANDS_PER_FRAG, newest first; ties keep order */
	if (n == TAP_CANDS_PER_FRAG) {
		if (e->stamp_ms <= c[n - 1]->stamp_ms)
			return;
		n--;
	} else {
		pc->n[i]++;
	}
	while (n > 0 && e->stamp_ms > c[n - 1]->stamp_ms) {
		c[n] = c[n - 1];
		n--;
	}
	c[n] = e;
}

/* Collect piece candidates; false if some piece has none. */
static bool pend_collect(const struct tap_ctx *c, const struct pend_scan *ps,
			 u32 mask[TAP_FRAGS], struct pend_cands *pc)
{
	int w, i;

	if (ps->nlive < TAP_FRAGS || !c->realm)
		return false;	/* the flood path ends here, no PRF spent */

	tap_frag_masks(c->realm, c->syn->seq, c->syn->dport, mask);
	for (i = 0; i < TAP_FRAGS; i++)
		pc->n[i] = 0;
	for (w = 0; w < ps->nlive; w++)
		for (i = 0; i < TAP_FRAGS; i++)
			if (!((ps->live[w]->seq ^ mask[i]) >> 24))
				cand_add(pc, i, ps->live[w]);
	for (i = 0; i < TAP_FRAGS; i++)
		if (!pc->n[i])
			return false;
	return true;
}

static bool next_combo(const struct pend_cands *pc, int idx[TAP_FRAGS])
{
	int i;

	for (i = TAP_FRAGS - 1; i >= 0; i--) {
		if (++idx[i] < pc->n[i])
			return true;
		idx[i] = 0;
	}
	return false;
}

static bool combo_distinct(struct tap_pend_entry *const e[TAP_FRAGS])
{
	return e[0] != e[1] && e[0] != e[2] && e[0] != e[3] &&
	       e[1] != e[2] && e[1] != e[3] && e[2] != e[3];
}

/*
 * §4 steps 2-4 under the pending bucket's lock: try the combinations of
 * candidates within the budget. On accept the pieces are consumed and
 * *ref, *tok describe the token.
 */
static unsigned int pend_reassemble(const struct tap_ctx *c,
				    const struct pend_scan *ps,
				    struct tap_keyref *ref,
				    struct tap_token *tok)
{
	unsigned int worst = TAP_STAT_INCOMPLETE;
	int idx[TAP_FRAGS] = { 0 };
	int tries = 0, decoded = 0;
	u32 mask[TAP_FRAGS];
	struct pend_cands pc;

	if (!pend_collect(c, ps, mask, &pc))
		return worst;
	do {
		struct tap_pend_entry *e[TAP_FRAGS];
		u32 seq[TAP_FRAGS];
		unsigned int res;
		int i;

		for (i = 0; i < TAP_FRAGS; i++) {
			e[i] = pc.c[i][idx[i]];
			seq[i] = e[i]->seq;
		}
		if (!combo_distinct(e) || !token_unpack_masked(seq, mask, tok))
			continue;
		decoded++;
		res = verify_token(c, tok, ref);
		if (outcome_cost_mac(res))
			tries++;
		if (res == TAP_STAT_ACCEPTED) {
			for (i = 0; i < TAP_FRAGS; i++)
				e[i]->family = 0;
			return res;
		}
		if (outcome_rank(res) > outcome_rank(worst))
			worst = res;
	} while (tries < TAP_MAX_TRIES && decoded < TAP_MAX_DECODES &&
		 next_combo(&pc, idx));
	return worst;
}

void tap_process_syn(const struct tap_ctx *c, struct tap_outcome *out)
{
	const struct tap_syn *syn = c->syn;
	u64 h = tap_flow_hash(c->t, syn);
	u32 flow = h >> 32;
	u32 pb = (u32)h & c->t->pend_mask;
	u32 ab = tap_auth_bucket(c->t, syn, h);
	struct tap_keyref ref;
	struct tap_token tok;
	struct pend_scan ps;
	u16 auth_key;

	out->evicted = false;
	if (auth_lookup(c, ab, &auth_key)) {
		out->stat = TAP_STAT_RETRANSMIT;
		key_event(c, auth_key, TAP_STAT_RETRANSMIT);
		return;
	}

	tlock(c, TAP_TABLE_PEND, pb);
	pend_scan(&c->t->pend[pb], syn, flow, c->clk->now_ms,
		  c->t->pend_lifetime_ms, &ps);
	out->stat = pend_reassemble(c, &ps, &ref, &tok);
	if (out->stat == TAP_STAT_ACCEPTED) {
		tunlock(c, TAP_TABLE_PEND, pb);
		auth_insert(c, ab, tok.key_id, ref.serial);
		return;
	}
	/* nothing in the bucket changed since the scan */
	out->evicted = pend_store(&ps, syn, flow, c->clk->now_ms);
	tunlock(c, TAP_TABLE_PEND, pb);
}
