// SPDX-License-Identifier: GPL-2.0
/*
 * Load and fairness benchmark of the server tables (issue 9), natively,
 * through tap_process_syn with a simulated clock: every figure is a count,
 * not a time, so it repeats exactly.
 *
 *   bench_load grid [SECONDS_PER_WINDOW_MULTIPLE]
 *	For each window (30, 300, 3600 s) and rate (new authorized
 *	connections per second), four windows of connections from random
 *	IPv4 clients, each four auth SYNs and its real SYN at one instant,
 *	spread over 8 keys; prints one CSV line per cell: how many were
 *	accepted on the first try, refused (and why), and the replay cache's
 *	fill at the end.
 *   bench_load fair
 *	One key sends valid tokens at ten times the rated load while seven
 *	others share a tenth of it; after two windows the flooding key is
 *	deleted and the run goes on for two more. Prints the others' first
 *	try acceptance in each phase, and the flooder's.
 *
 * Tables at the module's defaults: 2048 pending buckets, 1024 authorized,
 * a replay cache of 2^20 slots (replay_capacity), key_rate 10000.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "tap_core.h"
#include "bench_util.h"

#define PEND_BUCKETS	2048
#define AUTH_BUCKETS	1024
#define REPLAY_SLOTS	(1U << 20)
#define KEY_RATE	10000
#define NKEYS		8

struct key {
	bool loaded;
	tap_prf_key prf;
	u16 hint;
	u64 serial, tat;
	u32 rate;
};

struct env {
	struct key keys[NKEYS];
};

static bool l_key_get(void *envp, u16 id, struct tap_keyref *ref)
{
	struct env *env = envp;

	if (id >= NKEYS || !env->keys[id].loaded)
		return false;
	ref->key = &env->keys[id].prf;
	ref->serial = env->keys[id].serial;
	ref->hint = env->keys[id].hint;
	return true;
}

static bool l_admit(void *envp, u16 id, u64 now_ms)
{
	struct env *env = envp;
	struct key *k = &env->keys[id];

	return tap_admit_gcra(k->tat, now_ms * 1000000, k->rate, &k->tat);
}

static const struct tap_ops ops = { .key_get = l_key_get, .admit = l_admit };

static u64 xs = 0x9e3779b97f4a7c15ULL;

static u64 rnd(void)
{
	return bench_rnd(&xs);
}

struct rig {
	struct tap_tables t;
	struct env env;
	struct tap_clock clk;
	struct tap_rule rule;
	tap_prf_key realm;
	u64 base_ms;
};

static void rig_init(struct rig *r, u32 window)
{
	u8 raw[TAP_KEY_LEN];
	int i;

	memset(r, 0, sizeof(*r));
	r->t.pend = bench_zalloc(PEND_BUCKETS * sizeof(*r->t.pend));
	r->t.auth = bench_zalloc(AUTH_BUCKETS * sizeof(*r->t.auth));
	r->t.replay = bench_zalloc(REPLAY_SLOTS / TAP_REPLAY_WAYS *
			     sizeof(*r->t.replay));
	r->t.pend_mask = PEND_BUCKETS - 1;
	r->t.auth_mask = AUTH_BUCKETS - 1;
	r->t.replay_mask = REPLAY_SLOTS / TAP_REPLAY_WAYS - 1;
	r->t.replay_lock_mask = 1023;
	r->t.pend_lifetime_ms = 5000;
	r->t.auth_lifetime_ms = 10000;
	r->t.window_max = window;
	randombytes_buf(&r->t.seed, sizeof(r->t.seed));
	randombytes_buf(&r->t.hash_seed, sizeof(r->t.hash_seed));
	randombytes_buf(raw, sizeof(raw));
	tap_prf_key_import(&r->realm, raw);
	for (i = 0; i < NKEYS; i++) {
		randombytes_buf(raw, sizeof(raw));
		tap_prf_key_import(&r->env.keys[i].prf, raw);
		r->env.keys[i].hint =
			tap_key_hint(tap_key_fingerprint(&r->env.keys[i].prf));
		r->env.keys[i].loaded = true;
		r->env.keys[i].serial = (u64)i + 1;
		r->env.keys[i].rate = KEY_RATE;
	}
	r->rule = (struct tap_rule){ .key_min = 0, .key_max = NKEYS - 1,
				     .window = window, .bind = TAP_BIND_DADDR };
	r->clk.now_s = 1764115200;
	r->base_ms = 1000000;
	r->clk.now_ms = r->base_ms;
}

static void rig_free(struct rig *r)
{
	free(r->t.pend);
	free(r->t.auth);
	free(r->t.replay);
}

/* Clock at micro-second us since the start. */
static void rig_at(struct rig *r, u64 us)
{
	r->clk.now_ms = r->base_ms + us / 1000;
	r->clk.now_s = 1764115200 + us / 1000000;
}

/* One connection with key id: its four auth SYNs, then its real SYN. */
static unsigned int connect_once(struct rig *r, u16 key_id)
{
	struct tap_ctx c = { .t = &r->t, .ops = &ops, .env = &r->env,
			     .rule = &r->rule, .clk = &r->clk,
			     .realm = &r->realm };
	struct tap_token_params p;
	struct tap_outcome out;
	struct tap_syn real, s;
	u32 seq[TAP_FRAGS];
	u64 x = rnd();
	int i;

	memset(&real, 0, sizeof(real));
	real.family = 4;
	memcpy(real.saddr.b, &x, 4);
	real.daddr.b[0] = 192;
	real.daddr.b[3] = 1;
	real.sport = (u16)(x >> 32);
	real.dport = 22;
	real.seq = (u32)(x >> 16) ^ (u32)rnd();
	tap_params_from_syn(&p, &real, TAP_BIND_DADDR, key_id, r->clk.now_s);
	tap_token_encode(&r->env.keys[key_id].prf, &r->realm, &p, seq);
	c.syn = &s;
	for (i = 0; i < TAP_FRAGS; i++) {
		s = real;
		s.sport = (u16)(real.sport + 1 + i);
		s.seq = seq[i];
		tap_process_syn(&c, &out);
	}
	c.syn = &real;
	tap_process_syn(&c, &out);
	return out.stat;
}

struct tally {
	u64 n, st[__TAP_STAT_MAX];
};

static void tally_add(struct tally *t, unsigned int st)
{
	t->n++;
	t->st[st < __TAP_STAT_MAX ? st : TAP_STAT_INCOMPLETE]++;
}

static double pct(u64 a, u64 n)
{
	return n ? 100.0 * (double)a / (double)n : 0;
}

/* rate connections/s for secs seconds, keys chosen round robin */
static void run_grid_cell(u32 window, u32 rate, u32 windows)
{
	u64 secs = (u64)windows * window, n = secs * rate, i, live;
	struct tally t = { 0 };
	struct rig r;

	rig_init(&r, window);
	for (i = 0; i < n; i++) {
		rig_at(&r, i * 1000000 / rate);
		tally_add(&t, connect_once(&r, (u16)(i % NKEYS)));
	}
	live = tap_replay_live(&r.t, r.clk.now_s);
	printf("%u,%u,%" PRIu64 ",%" PRIu64 ",%.6f,%" PRIu64 ",%" PRIu64 ",%" PRIu64
	       ",%" PRIu64 ",%.1f,%" PRIu64 "\n", window, rate, secs, t.n,
	       pct(t.st[TAP_STAT_ACCEPTED], t.n), t.n - t.st[TAP_STAT_ACCEPTED],
	       t.st[TAP_STAT_TABLE_FULL], t.st[TAP_STAT_LIMITED],
	       t.st[TAP_STAT_REPLAYED], pct(live, REPLAY_SLOTS),
	       tap_replay_rated_rate(REPLAY_SLOTS, window));
	fflush(stdout);
	rig_free(&r);
}

static void grid(u32 windows)
{
	static const u32 w30[] = { 1000, 5000, 10000, 20000, 25000, 30000 };
	static const u32 w300[] = { 100, 500, 1000, 2000, 3000 };
	static const u32 w3600[] = { 10, 50, 100, 174, 250 };
	size_t i;

	printf("window_s,rate_per_s,seconds,connections,accepted_first_try_pct,"
	       "refused,table_full,limited,replayed,replay_fill_pct,rated_rate\n");
	for (i = 0; i < sizeof(w30) / sizeof(w30[0]); i++)
		run_grid_cell(30, w30[i], windows);
	for (i = 0; i < sizeof(w300) / sizeof(w300[0]); i++)
		run_grid_cell(300, w300[i], windows);
	for (i = 0; i < sizeof(w3600) / sizeof(w3600[0]); i++)
		run_grid_cell(3600, w3600[i], windows);
}

/*
 * Fairness: key 0 floods at 10x the rated load, keys 1-7 share rate_others;
 * the flooder is deleted after two windows.
 */
static void fair(void)
{
	const u32 window = 30, rated = (u32)tap_replay_rated_rate(REPLAY_SLOTS, 30);
	const u32 flood = 10 * rated, others = rated / 10;
	const u64 step = 1000000ULL / (flood + others);	/* us per connection */
	struct tally t_others[2] = { { 0 } }, t_flood = { 0 };
	struct rig r;
	u64 us, end = 4ULL * window * 1000000, del = 2ULL * window * 1000000;
	u64 k = 0, j = 0;

	rig_init(&r, window);
	for (us = 0; us < end; us += step, k++) {
		int phase = us >= del;

		rig_at(&r, us);
		if (phase)
			r.env.keys[0].loaded = false;	/* tap-keytool del 0 */
		/* one in (flood + others) / others connections is another key's */
		if (k % ((flood + others) / others) == 0) {
			tally_add(&t_others[phase],
				  connect_once(&r, (u16)(1 + j++ % (NKEYS - 1))));
		} else if (!phase) {
			tally_add(&t_flood, connect_once(&r, 0));
		}
	}
	printf("phase,key,connections,accepted_first_try_pct,limited,table_full,replayed\n");
	printf("flooding,0,%" PRIu64 ",%.4f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
	       t_flood.n, pct(t_flood.st[TAP_STAT_ACCEPTED], t_flood.n),
	       t_flood.st[TAP_STAT_LIMITED], t_flood.st[TAP_STAT_TABLE_FULL],
	       t_flood.st[TAP_STAT_REPLAYED]);
	printf("flooding,others,%" PRIu64 ",%.4f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
	       t_others[0].n, pct(t_others[0].st[TAP_STAT_ACCEPTED], t_others[0].n),
	       t_others[0].st[TAP_STAT_LIMITED], t_others[0].st[TAP_STAT_TABLE_FULL],
	       t_others[0].st[TAP_STAT_REPLAYED]);
	printf("deleted,others,%" PRIu64 ",%.4f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
	       t_others[1].n, pct(t_others[1].st[TAP_STAT_ACCEPTED], t_others[1].n),
	       t_others[1].st[TAP_STAT_LIMITED], t_others[1].st[TAP_STAT_TABLE_FULL],
	       t_others[1].st[TAP_STAT_REPLAYED]);
	fprintf(stderr, "fair: rated %u/s, flooding key at %u/s, others at %u/s\n",
		rated, flood, others);
	rig_free(&r);
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 2;
	if (argc >= 2 && !strcmp(argv[1], "grid")) {
		grid(argc > 2 ? (u32)atoi(argv[2]) : 4);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "fair")) {
		fair();
		return 0;
	}
	fprintf(stderr, "usage: %s grid [WINDOWS] | fair\n", argv[0]);
	return 2;
}
