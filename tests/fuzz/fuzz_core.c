// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the server core (xt_tap/tap_core.c). The input is a
 * program of operations on one namespace's tables with a simulated clock:
 * SYNs from arbitrary sources, tokens built by the core's own encoder (so
 * that the accept path is reached), forged and replayed tokens, key loads,
 * reloads, rotations (a grace for the replaced key) and deletes, rule
 * ranges and windows, realm changes and time steps. After every SYN an oracle checks:
 *   - no accept without a token the harness built, with the core's
 *     builder, for that exact SYN under the rule's binding, with the key
 *     loaded now under that id (or in its grace), the current realm,
 *     inside the window, and never accepted before;
 *   - no retransmission verdict but for a SYN accepted before, whose key
 *     (same load) is still there and in the rule's range;
 *   - the outcome and the per-key events add up (one outcome per SYN,
 *     one key event with that outcome when the token named a loaded key
 *     of the rule, MAC and look-up budgets kept);
 *   - locks in bounds and order, all released; the tables hold only what
 *     was accepted, and no more than they can.
 * A broken invariant aborts, which libFuzzer reports as a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "tap_core.h"
#include "fuzz_input.h"

#define PEND_BUCKETS	4
#define AUTH_BUCKETS	2
#define REPLAY_BUCKETS	2
#define NKEYS		4
#define MAX_ISSUED	64
#define MAX_ACCEPTED	(MAX_ISSUED + 1)
#define NSRC		4

#define fail(...) do {							\
	fprintf(stderr, "fuzz_core: invariant broken: " __VA_ARGS__);	\
	fputc('\n', stderr);						\
	abort();							\
} while (0)

/* ---- the namespace: keys, tables, clock ---- */

struct kslot {
	bool loaded;
	u16 id;
	u32 gen;	/* which secret: key_bytes(id, gen) */
	u64 serial;
	tap_prf_key key;
	u32 rate;
	u64 tat;
	/* a rotation's retiring key, in its grace */
	bool has_prev;
	u32 prev_gen;
	u64 prev_serial;
	tap_prf_key prev;
};

/* A token the harness built with the core's encoder. */
struct issued {
	struct tap_token_params p;	/* what it binds */
	u16 mac_id;			/* the secret it was made with */
	u32 mac_gen;
	u32 realm_gen;
	struct tap_syn real;
	u32 seq[TAP_FRAGS];
	bool accepted;
};

struct accepted {
	struct tap_syn syn;
	u16 key_id;
	u64 serial;
	u64 stamp_ms;
};

struct held {
	enum tap_table_id table;
	u32 bucket;
};

struct ns {
	struct tap_tables t;
	struct kslot keys[NKEYS];
	u64 next_serial;
	u32 next_gen;
	struct tap_rule rule;
	struct tap_clock clk;
	tap_prf_key realm;
	u32 realm_gen;
	bool no_realm;
	struct issued iss[MAX_ISSUED];
	int niss;
	struct accepted acc[MAX_ACCEPTED];
	int nacc;
	struct tap_addr src[2][NSRC], dst[2][2];
	/* per SYN */
	struct held held[4];
	int nheld;
	unsigned int events[__TAP_STAT_MAX];
	unsigned int nevents, admits, key_gets;
	u16 accepted_key;	/* of this SYN's accepted event */
	u64 accepted_serial;	/* the key instance that accepted it */
	u64 syns;
	u64 outcomes[__TAP_STAT_MAX];
};

static struct ns g;
static bool trace;	/* FUZZ_CORE_TRACE=1: print every SYN's outcome */

static void key_bytes(u16 id, u32 gen, tap_prf_key *key)
{
	u8 raw[TAP_KEY_LEN] = { 'k', 'e', 'y' };

	raw[4] = (u8)(id >> 8);
	raw[5] = (u8)id;
	memcpy(raw + 6, &gen, sizeof(gen));
	tap_prf_key_import(key, raw);
}

static void realm_bytes(u32 gen, tap_prf_key *realm)
{
	u8 raw[TAP_KEY_LEN] = { 'r', 'e', 'a', 'l', 'm' };

	memcpy(raw + 8, &gen, sizeof(gen));
	tap_prf_key_import(realm, raw);
}

static struct kslot *key_find(u16 id)
{
	int i;

	for (i = 0; i < NKEYS; i++)
		if (g.keys[i].loaded && g.keys[i].id == id)
			return &g.keys[i];
	return NULL;
}

static bool env_key_get(void *env, u16 key_id, struct tap_keyref *ref)
{
	struct kslot *k = key_find(key_id);

	(void)env;
	g.key_gets++;
	if (!k)
		return false;
	ref->key = &k->key;
	ref->serial = k->serial;
	ref->hint = tap_key_hint(tap_key_fingerprint(&k->key));
	ref->handle = k;
	if (k->has_prev) {
		ref->prev = &k->prev;
		ref->prev_serial = k->prev_serial;
		ref->prev_hint = tap_key_hint(tap_key_fingerprint(&k->prev));
	}
	return true;
}

static void env_key_event(void *env, u16 key_id, const struct tap_keyref *ref,
			  unsigned int stat)
{
	(void)env;
	if (ref && ref->handle != key_find(key_id))
		fail("key event for id %u with another key's ref", key_id);
	if (stat >= __TAP_STAT_MAX)
		fail("key event with stat %u", stat);
	if (stat == TAP_STAT_ACCEPTED)
		g.accepted_key = key_id;
	g.events[stat]++;
	g.nevents++;
}

static bool env_admit(void *env, u16 key_id, u64 now_ms)
{
	struct kslot *k = key_find(key_id);

	(void)env;
	g.admits++;
	if (!k)
		fail("admit asked for key %u, not loaded", key_id);
	return tap_admit_gcra(k->tat, now_ms * 1000000, k->rate, &k->tat);
}

static void env_accepted(const struct tap_ctx *c, u16 key_id,
			 const struct tap_keyref *ref)
{
	(void)c;
	(void)key_id;
	g.accepted_serial = ref->serial;
}

static const struct tap_ops ops = {
	.key_get = env_key_get,
	.key_event = env_key_event,
	.admit = env_admit,
	.accepted = env_accepted,
};

static int lock_rank(enum tap_table_id t)
{
	return t == TAP_TABLE_PEND ? 0 : t == TAP_TABLE_REPLAY ? 1 : 2;
}

/* The core takes the tables' locks itself: bounds and order here. */
void tap_table_lock(void *env, enum tap_table_id table, u32 bucket)
{
	u32 max = table == TAP_TABLE_REPLAY ? g.t.replay_lock_mask :
		  table == TAP_TABLE_AUTH ? g.t.auth_mask : g.t.pend_mask;
	int i;

	(void)env;
	if (bucket > max)
		fail("lock of table %d bucket %u > %u", table, bucket, max);
	for (i = 0; i < g.nheld; i++)
		if (lock_rank(g.held[i].table) > lock_rank(table) ||
		    (g.held[i].table == table &&
		     (table != TAP_TABLE_REPLAY || g.held[i].bucket >= bucket)))
			fail("lock order: table %d/%u while holding %d/%u", table,
			     bucket, g.held[i].table, g.held[i].bucket);
	if (g.nheld == 4)
		fail("more than 4 locks held");
	g.held[g.nheld].table = table;
	g.held[g.nheld++].bucket = bucket;
}

void tap_table_unlock(void *env, enum tap_table_id table, u32 bucket)
{
	int i;

	(void)env;
	for (i = g.nheld - 1; i >= 0; i--)
		if (g.held[i].table == table && g.held[i].bucket == bucket) {
			g.held[i] = g.held[--g.nheld];
			return;
		}
	fail("unlock of table %d bucket %u, not held", table, bucket);
}

/* ---- the oracle ---- */

static bool syn_equal(const struct tap_syn *a, const struct tap_syn *b)
{
	return a->family == b->family && a->sport == b->sport &&
	       a->dport == b->dport && a->seq == b->seq &&
	       !memcmp(a->saddr.b, b->saddr.b, 16) &&
	       !memcmp(a->daddr.b, b->daddr.b, 16);
}

static bool params_equal(const struct tap_token_params *a,
			 const struct tap_token_params *b)
{
	return a->family == b->family && a->bind == b->bind &&
	       a->key_id == b->key_id && a->dport == b->dport &&
	       a->isn == b->isn && a->time == b->time &&
	       !memcmp(a->daddr.b, b->daddr.b, 16) &&
	       !memcmp(a->saddr.b, b->saddr.b, 16);
}

static bool in_rule(u16 key_id)
{
	return key_id >= g.rule.key_min && key_id <= g.rule.key_max;
}

/*
 * The token of key_id that may explain the accept of syn by the key
 * instance serial (the loaded key's, or in a grace the retiring one's), or
 * NULL. Whatever realm masked it: the realm masks only pieces 0 and 1,
 * whose key id, time and hint any holder of the current realm can mask
 * again (PROTOCOL.md §6); the tag is the key's alone.
 */
static struct issued *accept_witness(const struct tap_syn *syn, u16 key_id,
				     u64 serial)
{
	u64 now = g.clk.now_s;
	int i;

	for (i = 0; i < g.niss; i++) {
		struct issued *t = &g.iss[i];
		struct tap_token_params want;
		struct kslot *k = key_find(t->p.key_id);
		bool by_prev = k && k->has_prev && serial == k->prev_serial;

		if (t->accepted || !k || t->p.key_id != key_id ||
		    t->mac_id != t->p.key_id ||
		    (serial != k->serial && !by_prev) ||
		    t->mac_gen != (by_prev ? k->prev_gen : k->gen) ||
		    !in_rule(t->p.key_id))
			continue;
		if (t->p.time > now + g.rule.window ||
		    t->p.time + g.rule.window < now)
			continue;
		tap_params_from_syn(&want, syn, g.rule.bind, t->p.key_id,
				    t->p.time);
		if (params_equal(&want, &t->p))
			return t;
	}
	return NULL;
}

static void mark_accepted(const struct issued *w)
{
	int i;

	/* the same token built twice is one token */
	for (i = 0; i < g.niss; i++)
		if (params_equal(&g.iss[i].p, &w->p) &&
		    g.iss[i].mac_id == w->mac_id && g.iss[i].mac_gen == w->mac_gen)
			g.iss[i].accepted = true;
}

static bool retransmit_ok(const struct tap_syn *syn)
{
	int i;

	for (i = 0; i < g.nacc; i++) {
		const struct accepted *a = &g.acc[i];
		struct kslot *k = key_find(a->key_id);

		if (syn_equal(&a->syn, syn) && in_rule(a->key_id) && k &&
		    (k->serial == a->serial ||
		     (k->has_prev && k->prev_serial == a->serial)) &&
		    g.clk.now_ms - a->stamp_ms < g.t.auth_lifetime_ms)
			return true;
	}
	return false;
}

static void check_tables(void)
{
	u64 live = tap_replay_live(&g.t, g.clk.now_s);
	u32 b;
	int w, i, accepted_tokens = 0;

	for (i = 0; i < g.niss; i++)
		accepted_tokens += g.iss[i].accepted;
	if (live > (u64)accepted_tokens)
		fail("replay cache holds %llu tokens, %d were accepted",
		     (unsigned long long)live, accepted_tokens);
	for (b = 0; b <= g.t.pend_mask; b++)
		if (g.t.pend[b].next >= TAP_PEND_WAYS)
			fail("pending bucket %u: ring index %u", b, g.t.pend[b].next);
	for (b = 0; b <= g.t.auth_mask; b++)
		for (w = 0; w < TAP_AUTH_WAYS; w++) {
			const struct tap_auth_entry *e = &g.t.auth[b].e[w];
			bool known = false;

			if (!g.t.auth[b].tag[w])
				continue;
			for (i = 0; i < g.nacc && !known; i++)
				known = g.acc[i].syn.seq == e->seq &&
					g.acc[i].syn.sport == e->sport &&
					g.acc[i].syn.dport == e->dport &&
					g.acc[i].key_id == e->key_id &&
					g.acc[i].serial == e->key_serial &&
					!memcmp(g.acc[i].syn.saddr.b, e->saddr.b, 16);
			if (!known)
				fail("authorized table holds a SYN never accepted");
		}
}

/* What the oracle knew when it found no witness, for the crash report. */
static void dump_tokens(const struct tap_syn *syn)
{
	struct kslot *k = key_find(g.accepted_key);
	int i;

	fprintf(stderr, "now %llu, accepted key %u (%s gen %u), realm %u, rule %u-%u "
		"window %u bind %u; SYN v%u dport %u\n",
		(unsigned long long)g.clk.now_s, g.accepted_key, k ? "loaded" : "not loaded",
		k ? k->gen : 0, g.realm_gen, g.rule.key_min, g.rule.key_max,
		g.rule.window, g.rule.bind, syn->family, syn->dport);
	for (i = 0; i < g.niss; i++) {
		const struct issued *t = &g.iss[i];

		fprintf(stderr, "token %d:%s key %u by %u/%u realm %u bind %u v%u isn %08x "
			"dport %u time %llu\n", i, t->accepted ? " accepted" : "",
			t->p.key_id, t->mac_id, t->mac_gen, t->realm_gen, t->p.bind,
			t->p.family, t->p.isn, t->p.dport, (unsigned long long)t->p.time);
	}
}

static unsigned int process(const struct tap_syn *syn)
{
	struct tap_outcome out = { .stat = 0xdead, .evicted = true };
	struct tap_ctx c = {
		.t = &g.t, .ops = &ops, .env = &g, .rule = &g.rule,
		.syn = syn, .clk = &g.clk,
		.realm = g.no_realm ? NULL : &g.realm,
	};
	unsigned int st;
	bool keyed;

	memset(g.events, 0, sizeof(g.events));
	g.nevents = g.admits = g.key_gets = 0;
	g.accepted_serial = 0;	/* serials start at 1 */
	tap_process_syn(&c, &out);
	st = out.stat;
	g.syns++;
	if (g.nheld)
		fail("%d locks still held after a SYN", g.nheld);
	if (st >= __TAP_STAT_MAX || st == TAP_STAT_EVICTED ||
	    st == TAP_STAT_TRUNCATED)
		fail("outcome %u", st);
	g.outcomes[st]++;
	if (trace)
		fprintf(stderr, "syn v%u sport %u dport %u seq %08x: %s\n",
			syn->family, syn->sport, syn->dport, syn->seq,
			tap_stat_name(st));
	if (out.evicted && tap_stat_is_match(st))
		fail("a matched SYN also evicted a piece");

	/* one per candidate of piece 0, and the retransmission's */
	if (g.key_gets > TAP_CANDS_PER_FRAG + 1)
		fail("budget: %u key look-ups for one SYN", g.key_gets);
	if (out.macs > TAP_MAX_TRIES)
		fail("budget: %u MACs for one SYN", out.macs);
	if (g.admits > out.macs)
		fail("%u admission checks for %u MACs", g.admits, out.macs);
	/*
	 * A key is told of a SYN once, with the SYN's own outcome, as the
	 * netns counters count it; a SYN no token was decoded for, or whose
	 * token named a key outside the rule or not loaded, names none.
	 */
	keyed = st != TAP_STAT_INCOMPLETE && st != TAP_STAT_KEY_NOT_ALLOWED &&
		st != TAP_STAT_UNKNOWN_KEY;
	if (g.nevents != keyed || (keyed && g.events[st] != 1))
		fail("outcome %s, but %u key events (%s: %u)",
		     tap_stat_name(st), g.nevents, tap_stat_name(st),
		     g.events[st]);

	if (st == TAP_STAT_ACCEPTED) {
		struct issued *w = g.no_realm ? NULL :
				   accept_witness(syn, g.accepted_key,
						  g.accepted_serial);

		if (!w) {
			dump_tokens(syn);
			fail("accepted a SYN without a valid token (seq %08x dport %u)",
			     syn->seq, syn->dport);
		}
		mark_accepted(w);
		g.acc[g.nacc].syn = *syn;
		g.acc[g.nacc].key_id = w->p.key_id;
		g.acc[g.nacc].serial = g.accepted_serial;
		g.acc[g.nacc].stamp_ms = g.clk.now_ms;
		g.nacc++;
	} else if (st == TAP_STAT_RETRANSMIT && !retransmit_ok(syn)) {
		fail("retransmission verdict for a SYN not let in (seq %08x)",
		     syn->seq);
	}
	check_tables();
	return st;
}

/* ---- operations ---- */

static void advance_ms(u64 ms)
{
	u64 s0 = g.clk.now_ms / 1000;

	g.clk.now_ms += ms;
	g.clk.now_s += g.clk.now_ms / 1000 - s0;
}

/* A wider rule comes, as the kernel's xt_tap_replay_widen handles it. */
static void widen(u16 by)
{
	u32 old = g.t.window_max;

	if (old >= 3600)
		return;
	g.t.window_max = old + 1 + by % (3600 - old);
	tap_replay_extend(&g.t, &g, g.t.window_max - old, g.clk.now_s);
	tap_replay_raise_floor(&g.t, old, g.clk.now_s);
}

static void make_syn(struct input *in, struct tap_syn *s, u8 family)
{
	u8 sel = take8(in);
	int f = family == 6;

	memset(s, 0, sizeof(*s));
	s->family = family;
	if (sel & 0x80) {	/* any address */
		u8 raw[16] = { 0 };
		int i;

		for (i = 0; i < (f ? 16 : 4); i++)
			raw[i] = take8(in);
		memcpy(s->saddr.b, raw, 16);
	} else {
		s->saddr = g.src[f][sel % NSRC];
	}
	s->daddr = g.dst[f][(sel >> 2) & 1];
	s->sport = take16(in);
	s->dport = sel & 0x40 ? take16(in) : (sel & 8 ? 443 : 22);
	s->seq = take32(in);
}

/* Load a key, or with rotate give a loaded one a new key in a grace. */
static void op_key_load(struct input *in, bool rotate)
{
	u16 id = take8(in) % 8;
	struct kslot *k = key_find(id);
	int i;

	if (rotate && k) {
		k->has_prev = true;
		k->prev_gen = k->gen;
		k->prev_serial = k->serial;
		k->prev = k->key;
		k->gen = g.next_gen++;
		k->serial = g.next_serial++;
		key_bytes(id, k->gen, &k->key);
		return;
	}
	for (i = 0; i < NKEYS && !k; i++)
		if (!g.keys[i].loaded)
			k = &g.keys[i];
	if (!k)
		return;
	memset(k, 0, sizeof(*k));
	k->loaded = true;
	k->id = id;
	k->gen = g.next_gen++;
	k->serial = g.next_serial++;
	key_bytes(id, k->gen, &k->key);
}

static void send_piece(struct input *in, const struct issued *t, int i,
		       const struct tap_addr *from)
{
	struct tap_syn s = t->real;

	s.sport = take16(in);
	s.seq = t->seq[i];
	if (from)
		s.saddr = *from;
	process(&s);
}

/*
 * A token built by the core's encoder for a real SYN; its pieces go out in
 * an order the input chooses (some may be left out or sent twice), then
 * the real SYN. With forge set, the token's tag is changed first.
 */
static void op_token(struct input *in, bool forge)
{
	u8 ctl = take8(in), order = take8(in), skip = take8(in);
	struct issued tmp, *t = forge ? &tmp : &g.iss[g.niss];
	struct kslot *k;
	tap_prf_key key, realm;
	s16 dt = (s16)take16(in);
	int i, perm[TAP_FRAGS] = { 0, 1, 2, 3 };

	/* every valid token is on the oracle's list, or none is sent */
	if (!forge && g.niss++ == MAX_ISSUED) {
		g.niss--;
		return;
	}
	memset(t, 0, sizeof(*t));
	make_syn(in, &t->real, ctl & 1 ? 6 : 4);
	t->mac_id = take8(in) % 8;
	k = key_find(t->mac_id);
	/*
	 * usually the loaded key (or the one it is replacing, in a grace);
	 * sometimes an old or never loaded one
	 */
	if (k && !(ctl & 2))
		t->mac_gen = k->has_prev && take8(in) & 1 ? k->prev_gen :
			     k->gen;
	else
		t->mac_gen = take8(in);
	/* usually for its own id; sometimes signed by another key */
	tap_params_from_syn(&t->p, &t->real, ctl >> 2 & TAP_BIND_ALL,
			    ctl & 0x10 ? take8(in) % 8 : t->mac_id,
			    g.clk.now_s + (ctl & 0x20 ? dt : dt % 8));
	t->realm_gen = ctl & 0x40 ? take8(in) : g.realm_gen;
	key_bytes(t->mac_id, t->mac_gen, &key);
	realm_bytes(t->realm_gen, &realm);
	if (!forge) {
		t->p.time = tap_token_encode(&key, &realm, &t->p, t->seq);
	} else {
		struct tap_token tok = {
			.key_id = t->p.key_id, .t16 = (u16)t->p.time,
			.tag = tap_mac(&key, &t->p) ^ (take64(in) | 1),
		};

		tap_token_pack(&realm, &tok, t->p.isn, t->p.dport, t->seq);
	}
	/* a permutation of the pieces from the input's order byte */
	for (i = TAP_FRAGS - 1; i > 0; i--) {
		int j = order % (i + 1), x = perm[i];

		order /= (u8)(i + 1);
		perm[i] = perm[j];
		perm[j] = x;
	}
	for (i = 0; i < TAP_FRAGS; i++) {
		if (skip & (1 << perm[i]))
			continue;
		send_piece(in, t, perm[i], NULL);
		if (skip & (0x10 << perm[i]))
			send_piece(in, t, perm[i], NULL);
	}
	if (!(ctl & 0x80))
		process(&t->real);
}

void fuzz_core_init(void);
void fuzz_core_init(void)
{
	int f, i;

	if (sodium_init() < 0)
		abort();
	trace = getenv("FUZZ_CORE_TRACE") != NULL;
	for (f = 0; f < 2; f++) {
		for (i = 0; i < NSRC; i++) {
			u8 *b = g.src[f][i].b;

			memset(b, 0, 16);
			b[0] = f ? 0x20 : 198;
			b[1] = f ? 0x01 : 51;
			b[f ? 15 : 3] = (u8)(10 + i);
		}
		for (i = 0; i < 2; i++) {
			u8 *b = g.dst[f][i].b;

			memset(b, 0, 16);
			b[0] = f ? 0x20 : 192;
			b[f ? 15 : 3] = (u8)(1 + i);
		}
	}
}

static void ns_init(struct input *in)
{
	static struct tap_pend_bucket pend[PEND_BUCKETS];
	static struct tap_auth_bucket auth[AUTH_BUCKETS];
	static struct tap_replay_bucket replay[REPLAY_BUCKETS];
	static const u64 bases[4] = {
		1764115200ULL, 0xffffffffULL - 20, 40000, 0x7fffffffULL - 20,
	};
	u8 cfg = take8(in);
	u32 window_max = 1 + take16(in) % 3600;
	int f;
	struct tap_addr src[2][NSRC], dst[2][2];

	memcpy(src, g.src, sizeof(src));
	memcpy(dst, g.dst, sizeof(dst));
	memset(&g, 0, sizeof(g));
	memcpy(g.src, src, sizeof(src));
	memcpy(g.dst, dst, sizeof(dst));
	memset(pend, 0, sizeof(pend));
	memset(auth, 0, sizeof(auth));
	memset(replay, 0, sizeof(replay));
	g.t.pend = pend;
	g.t.auth = auth;
	g.t.replay = replay;
	g.t.pend_mask = (PEND_BUCKETS >> (cfg & 3) % 3) - 1;
	g.t.auth_mask = (cfg & 4 ? 1 : AUTH_BUCKETS) - 1;
	g.t.replay_mask = (cfg & 8 ? 1 : REPLAY_BUCKETS) - 1;
	g.t.replay_lock_mask = g.t.replay_mask;
	g.t.pend_lifetime_ms = cfg & 0x10 ? take16(in) : 5000;
	g.t.auth_lifetime_ms = cfg & 0x20 ? take16(in) : 10000;
	g.t.window_max = window_max;
	memset(g.t.seed.raw, 0x5e, sizeof(g.t.seed.raw));
	g.t.hash_seed.key[0] = 0x0123456789abcdefULL;
	g.t.hash_seed.key[1] = take64(in);
	g.clk.now_s = bases[cfg >> 6];
	g.clk.now_ms = cfg & 0x40 ? 0xffffffffULL - 2000 : 1000;
	g.rule.key_min = 0;
	g.rule.key_max = 7;
	g.rule.window = window_max < 30 ? window_max : 30;
	g.rule.bind = TAP_BIND_DADDR;
	g.next_serial = 1;
	g.realm_gen = 0;
	realm_bytes(g.realm_gen, &g.realm);
	for (f = 0; f < 2; f++)
		op_key_load(&(struct input){ (const u8 *)"\x03", 1 }, false);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_core_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct input in = { data, size };
	int ops = 0;

	ns_init(&in);
	while (in.n && ops++ < 256) {
		u8 op = take8(&in);

		switch (op % 14) {
		case 0:
			advance_ms(take16(&in));
			break;
		case 1:
			advance_ms((u64)take16(&in) * 1000);
			break;
		case 2: {
			u16 a = take16(&in), b = take16(&in);

			if (op & 0x40)
				widen(take16(&in));
			g.rule.key_min = op & 0x80 ? a : a % 8;
			g.rule.key_max = op & 0x80 ? b : b % 8;
			g.rule.window = 1 + take16(&in) % g.t.window_max;
			g.rule.bind = take8(&in) & TAP_BIND_ALL;
			break;
		}
		case 3:
			op_key_load(&in, op & 0x80);
			break;
		case 4: {	/* delete a key, or end its grace */
			struct kslot *k = key_find(take8(&in) % 8);

			if (k && op & 0x80)
				k->has_prev = false;
			else if (k)
				memset(k, 0, sizeof(*k));
			break;
		}
		case 5: {
			struct kslot *k = key_find(take8(&in) % 8);
			u16 rate = take16(&in);

			if (k)
				k->rate = rate % 64;
			break;
		}
		case 6: {
			struct tap_syn s;

			make_syn(&in, &s, op & 0x80 ? 6 : 4);
			process(&s);
			break;
		}
		case 7:
		case 8:
			op_token(&in, false);
			break;
		case 9:
			op_token(&in, true);
			break;
		case 10:	/* replay a token: its pieces and real SYN */
			if (g.niss) {
				const struct issued *t = &g.iss[take8(&in) % g.niss];
				int i;

				for (i = 0; i < TAP_FRAGS; i++)
					send_piece(&in, t, i, NULL);
				process(&t->real);
			}
			break;
		case 11:	/* retransmit a real SYN */
			if (g.niss)
				process(&g.iss[take8(&in) % g.niss].real);
			break;
		case 12:	/* a piece of someone's token from another source */
			if (g.niss) {
				const struct issued *t = &g.iss[take8(&in) % g.niss];
				u8 sel = take8(&in);

				send_piece(&in, t, sel % TAP_FRAGS,
					   &g.src[t->real.family == 6][(sel >> 2) % NSRC]);
			}
			break;
		case 13:
			if (op & 0x80) {
				g.no_realm = !g.no_realm;
			} else {
				g.realm_gen++;
				realm_bytes(g.realm_gen, &g.realm);
			}
			break;
		}
	}
	return 0;
}
