// SPDX-License-Identifier: GPL-2.0
/*
 * Native benchmark of the shared TAP core (xt_tap/tap_core.c) in
 * userspace, built -O2: `make build/bench_core && build/bench_core`.
 * See bench/README.md for what each number means.
 *
 * Tables are at the kernel module's default sizes; locks, when on, are
 * one pthread spinlock per bucket, like the module's per-bucket spinlocks.
 * Each figure is the median of several runs of at least 1e6 iterations,
 * timed with clock_gettime(CLOCK_MONOTONIC).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "tap_core.h"
#include "bench_util.h"

#define PEND_BUCKETS	2048
#define AUTH_BUCKETS	1024
/* the module's defaults: replay_capacity 2^20 slots, 1024 lock stripes */
#define REPLAY_BUCKETS	((1U << 20) / TAP_REPLAY_WAYS)
#define REPLAY_LOCKS	1024
#define PEND_LIFE_MS	5000
#define AUTH_LIFE_MS	10000
#define WINDOW_S	30

#define RUNS		7
#define FLOOD_ITERS	2000000		/* random SYNs per run */
#define VERIFY_BATCH	256		/* tokens staged at once */
#define VERIFY_ITERS	(4000 * VERIFY_BATCH)	/* tokens per run */
#define MAC_ITERS	2000000

struct env {
	pthread_spinlock_t *locks[3];	/* by enum tap_table_id */
	tap_prf_key key, realm;
	u16 key_id, hint;
	u64 serial;
};

static bool b_key_get(void *envp, u16 key_id, struct tap_keyref *ref)
{
	struct env *env = envp;

	if (key_id != env->key_id)
		return false;
	ref->key = &env->key;
	ref->serial = env->serial;
	ref->hint = env->hint;
	return true;
}

/* The tables' locks: pthread spinlocks, or none for the "no locks" runs. */
static bool use_locks;

void tap_table_lock(void *envp, enum tap_table_id table, u32 bucket)
{
	struct env *env = envp;

	if (use_locks)
		pthread_spin_lock(&env->locks[table][bucket]);
}

void tap_table_unlock(void *envp, enum tap_table_id table, u32 bucket)
{
	struct env *env = envp;

	if (use_locks)
		pthread_spin_unlock(&env->locks[table][bucket]);
}

static const struct tap_ops ops_locked = { .key_get = b_key_get };
static const struct tap_ops ops_nolock = { .key_get = b_key_get };

static u64 rng = 0x243f6a8885a308d3ULL;

static u64 rnd64(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static u64 clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

static u64 now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/*
 * Each timed stretch reads CLOCK_MONOTONIC (wall time, the headline) and
 * CLOCK_THREAD_CPUTIME_ID (time on a CPU: tells a busy machine apart).
 */
struct tick {
	u64 wall, cpu;
};

static struct tick tick(void)
{
	struct tick t = {
		.wall = clock_ns(CLOCK_MONOTONIC),
		.cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID),
	};

	return t;
}

struct meter {
	u64 wall[RUNS], cpu[RUNS];	/* ns summed per run */
};

static void meter_add(struct meter *m, int run, struct tick a, struct tick b)
{
	m->wall[run] += b.wall - a.wall;
	m->cpu[run] += b.cpu - a.cpu;
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n, sz);

	if (!p) {
		perror("calloc");
		exit(1);
	}
	return p;
}

static void tables_init(struct tap_tables *t)
{
	memset(t, 0, sizeof(*t));
	t->pend = xcalloc(PEND_BUCKETS, sizeof(*t->pend));
	t->auth = xcalloc(AUTH_BUCKETS, sizeof(*t->auth));
	t->replay = xcalloc(REPLAY_BUCKETS, sizeof(*t->replay));
	t->pend_mask = PEND_BUCKETS - 1;
	t->auth_mask = AUTH_BUCKETS - 1;
	t->replay_mask = REPLAY_BUCKETS - 1;
	t->replay_lock_mask = REPLAY_LOCKS - 1;
	t->pend_lifetime_ms = PEND_LIFE_MS;
	t->auth_lifetime_ms = AUTH_LIFE_MS;
	randombytes_buf(t->seed.raw, sizeof(t->seed.raw));
}

static void tables_free(struct tap_tables *t, struct env *env)
{
	int i;

	free(t->pend);
	free(t->auth);
	free(t->replay);
	for (i = 0; i < 3; i++)
		free((void *)env->locks[i]);
}

static void env_init(struct env *env)
{
	static const u32 n[3] = {
		[TAP_TABLE_PEND] = PEND_BUCKETS,
		[TAP_TABLE_AUTH] = AUTH_BUCKETS,
		[TAP_TABLE_REPLAY] = REPLAY_LOCKS,
	};
	u8 raw[TAP_KEY_LEN];
	int t;
	u32 i;

	for (t = 0; t < 3; t++) {
		env->locks[t] = xcalloc(n[t], sizeof(pthread_spinlock_t));
		for (i = 0; i < n[t]; i++)
			pthread_spin_init(&env->locks[t][i],
					  PTHREAD_PROCESS_PRIVATE);
	}
	randombytes_buf(raw, sizeof(raw));
	tap_prf_key_import(&env->key, raw);
	env->hint = tap_key_hint(tap_key_fingerprint(&env->key));
	randombytes_buf(raw, sizeof(raw));
	tap_prf_key_import(&env->realm, raw);
	sodium_memzero(raw, sizeof(raw));
	env->key_id = 3;
	env->serial = 1;
}

struct result {
	double med, min;	/* ns per operation, wall clock */
	double cpu;		/* median, thread CPU time */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static struct result summarize(const struct meter *m, double ops_per_run)
{
	double w[RUNS], c[RUNS];
	struct result r;
	int i;

	for (i = 0; i < RUNS; i++) {
		w[i] = (double)m->wall[i] / ops_per_run;
		c[i] = (double)m->cpu[i] / ops_per_run;
	}
	r.med = median(w, RUNS);
	r.min = w[0];	/* sorted by median() */
	r.cpu = median(c, RUNS);
	return r;
}

static void rnd_syn(struct tap_syn *s, bool v6)
{
	u64 r = rnd64();

	memset(s, 0, sizeof(*s));
	s->family = v6 ? 6 : 4;
	if (v6) {
		u64 r2 = rnd64();

		s->saddr.b[0] = 0x20;
		s->saddr.b[1] = 0x01;
		memcpy(s->saddr.b + 8, &r2, 8);
		s->daddr.b[0] = 0x20;
		s->daddr.b[1] = 0x01;
		s->daddr.b[15] = 1;
	} else {
		memcpy(s->saddr.b, &r, 4);
		s->daddr.b[0] = 192;
		s->daddr.b[1] = 0;
		s->daddr.b[2] = 2;
		s->daddr.b[3] = 1;
	}
	s->sport = (u16)(r >> 32);
	s->dport = 22;
	s->seq = (u32)rnd64();
}

static const struct tap_rule rule = {
	.key_min = 0, .key_max = 65535, .window = WINDOW_S, .bind = TAP_BIND_DADDR,
};

/*
 * (a) random invalid SYNs: the flood path. Each SYN is made on the fly
 * (random IPv4 source or IPv6 interface id, source port and sequence
 * number; a few ns of xorshift, counted in): a pre-made pool of a million
 * SYNs would stream 44 MB through the caches the tables live in.
 */
static struct result bench_flood(const struct tap_ops *ops, bool v6,
				 unsigned int *accepted)
{
	struct tap_tables t;
	struct env env;
	struct tap_clock clk;
	struct tap_outcome out;
	struct tap_syn s;
	struct meter m = { { 0 }, { 0 } };
	u64 x = rnd64() | 1;
	u32 i, r;

	tables_init(&t);
	env_init(&env);
	rnd_syn(&s, v6);
	clk.now_s = (u64)time(NULL);
	clk.now_ms = now_ns() / 1000000;

	for (r = 0; r <= RUNS; r++) {	/* run 0 warms up: fills the tables */
		struct tick t0 = tick();

		for (i = 0; i < FLOOD_ITERS; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(s.saddr.b + (v6 ? 8 : 0), &x, v6 ? 8 : 4);
			s.sport = (u16)(x >> 40);
			s.seq = (u32)(x >> 20) ^ i;
			if (!(i & 1023))
				clk.now_ms = now_ns() / 1000000;
			tap_process_syn(&(struct tap_ctx){ &t, ops, &env, &rule, &s, &clk, &env.realm }, &out);
			*accepted += tap_stat_is_match(out.stat);
		}
		if (r)
			meter_add(&m, r - 1, t0, tick());
	}
	tables_free(&t, &env);
	return summarize(&m, FLOOD_ITERS);
}

struct staged {
	struct tap_syn real;
	struct tap_syn piece[TAP_FRAGS];
};

/*
 * (b) full verification: tokens staged in batches; per batch the pieces
 * go through tap_process_syn (timed separately), then the real SYNs
 * (timed: that is the verification). The clock jumps between batches so
 * that the replay and authorized entries of the last batch have expired.
 */
static void bench_verify(const struct tap_ops *ops, struct result *real_ns,
			 struct result *token_ns, u64 stats[__TAP_STAT_MAX])
{
	struct staged *st = xcalloc(VERIFY_BATCH, sizeof(*st));
	struct tap_tables t;
	struct env env;
	struct tap_clock clk;
	struct tap_outcome out;
	struct meter m_real = { { 0 }, { 0 } }, m_token = { { 0 }, { 0 } };
	u32 r, b, i, k;

	tables_init(&t);
	env_init(&env);
	clk.now_s = (u64)time(NULL);
	clk.now_ms = 0;
	for (r = 0; r < RUNS; r++) {
		for (b = 0; b < VERIFY_ITERS / VERIFY_BATCH; b++) {
			struct tick t0, t1, t2;

			clk.now_s += WINDOW_S + 2;
			clk.now_ms += (WINDOW_S + 2) * 1000;
			for (i = 0; i < VERIFY_BATCH; i++) {
				struct tap_token_params p;
				u32 seq[TAP_FRAGS];

				rnd_syn(&st[i].real, i & 1);
				tap_params_from_syn(&p, &st[i].real,
						    TAP_BIND_DADDR, env.key_id,
						    clk.now_s);
				tap_token_encode(&env.key, &env.realm, &p, seq);
				for (k = 0; k < TAP_FRAGS; k++) {
					st[i].piece[k] = st[i].real;
					st[i].piece[k].sport ^= (u16)(k + 1);
					st[i].piece[k].seq = seq[k];
				}
			}
			t0 = tick();
			for (i = 0; i < VERIFY_BATCH; i++)
				for (k = 0; k < TAP_FRAGS; k++)
					tap_process_syn(&(struct tap_ctx){
						&t, ops, &env, &rule, &st[i].piece[k],
						&clk, &env.realm }, &out);
			t1 = tick();
			for (i = 0; i < VERIFY_BATCH; i++) {
				tap_process_syn(&(struct tap_ctx){
					&t, ops, &env, &rule, &st[i].real,
					&clk, &env.realm }, &out);
				stats[out.stat < __TAP_STAT_MAX ?
				      out.stat : TAP_STAT_EVICTED]++;
			}
			t2 = tick();
			meter_add(&m_real, r, t1, t2);
			meter_add(&m_token, r, t0, t2);
		}
	}
	*real_ns = summarize(&m_real, VERIFY_ITERS);
	*token_ns = summarize(&m_token, VERIFY_ITERS);
	free(st);
	tables_free(&t, &env);
}

/* tap_mac + constant-time compare only; and one PRF of the flow hash */
static void bench_mac(struct result *mac_ns, struct result *hash_ns,
		      unsigned int *sink)
{
	struct tap_token_params p;
	struct tap_tables t;
	struct tap_syn s;
	struct env env;
	struct meter m_mac = { { 0 }, { 0 } }, m_hash = { { 0 }, { 0 } };
	u64 acc = 0, expect;
	u32 r, i;

	env_init(&env);
	tables_init(&t);
	rnd_syn(&s, false);
	tap_params_from_syn(&p, &s, TAP_BIND_DADDR, 3, (u64)time(NULL));
	expect = tap_mac(&env.key, &p);
	for (r = 0; r < RUNS; r++) {
		struct tick t0 = tick();

		for (i = 0; i < MAC_ITERS; i++) {
			p.isn = i;
			*sink += tap_tag_equal(tap_mac(&env.key, &p), expect);
		}
		meter_add(&m_mac, r, t0, tick());

		t0 = tick();
		for (i = 0; i < MAC_ITERS; i++) {
			s.dport = (u16)i;
			acc += tap_flow_hash(&t, &s);
		}
		meter_add(&m_hash, r, t0, tick());
	}
	*sink += (unsigned int)acc;
	*mac_ns = summarize(&m_mac, MAC_ITERS);
	*hash_ns = summarize(&m_hash, MAC_ITERS);
	tables_free(&t, &env);
}

/*
 * (d) the dearest SYN an attacker can make from its own address: crafted
 * pieces that decode for its own ISN to a loaded key id and a fresh time
 * with random tags, after failed hint checks (bench_crafted_seq(), as
 * bench/crafted_pieces.py macs); then its "real SYN", over and over. Each
 * one spends the decode budget, computes its one MAC, looks for its tag
 * among ten pieces and is BAD_MAC.
 */
static struct result bench_crafted(const struct tap_ops *ops,
				   unsigned int *wrong)
{
	struct tap_tables t;
	struct env env;
	struct tap_clock clk;
	struct tap_outcome out;
	struct tap_syn real, piece;
	struct meter m = { { 0 }, { 0 } };
	u32 mask[TAP_FRAGS], i, r, k, c;

	tables_init(&t);
	env_init(&env);
	clk.now_s = (u64)time(NULL);
	clk.now_ms = 12345;
	do {
		rnd_syn(&real, false);
		tap_frag_masks(&env.realm, real.seq, real.dport, mask);
	} while (!bench_masks_distinct(mask));
	for (k = 0; k < TAP_FRAGS; k++) {
		for (c = 0; c < (u32)bench_crafted_count[0][k]; c++) {
			piece = real;
			piece.sport = (u16)(real.sport + 1 + k * 8 + c);
			piece.seq = bench_crafted_seq(0, (int)k, (int)c, clk.now_s,
						      env.hint, mask, (u32)rnd64());
			tap_process_syn(&(struct tap_ctx){ &t, ops, &env, &rule, &piece, &clk, &env.realm }, &out);
		}
	}
	for (r = 0; r < RUNS; r++) {
		struct tick t0 = tick();

		for (i = 0; i < MAC_ITERS / 8; i++) {
			tap_process_syn(&(struct tap_ctx){ &t, ops, &env, &rule, &real, &clk, &env.realm }, &out);
			*wrong += out.stat != TAP_STAT_BAD_MAC;
		}
		meter_add(&m, r, t0, tick());
	}
	tables_free(&t, &env);
	return summarize(&m, MAC_ITERS / 8);
}

static void row(const char *what, const struct result *l,
		const struct result *n)
{
	printf("  %-38s %7.1f %7.1f %7.1f", what, l->med, l->min, l->cpu);
	if (n)
		printf("   %7.1f %7.1f %7.1f", n->med, n->min, n->cpu);
	printf("\n");
}

struct results {
	struct result flood_l, flood_n, flood_l6, real_l, token_l, real_n;
	struct result token_n, mac, hash, crafted;
	unsigned int crafted_wrong, acc, sink;
	u64 st_l[__TAP_STAT_MAX], st_n[__TAP_STAT_MAX];
};

static void bench_all(struct results *r)
{
	use_locks = true;
	r->flood_l = bench_flood(&ops_locked, false, &r->acc);
	use_locks = false;
	r->flood_n = bench_flood(&ops_nolock, false, &r->acc);
	use_locks = true;
	r->flood_l6 = bench_flood(&ops_locked, true, &r->acc);
	bench_verify(&ops_locked, &r->real_l, &r->token_l, r->st_l);
	use_locks = false;
	bench_verify(&ops_nolock, &r->real_n, &r->token_n, r->st_n);
	use_locks = true;
	bench_mac(&r->mac, &r->hash, &r->sink);
	r->crafted = bench_crafted(&ops_locked, &r->crafted_wrong);
}

static double load_average(void)
{
	double load = -1;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf", &load) != 1)
			load = -1;
		fclose(f);
	}
	return load;
}

static void print_times(const struct results *r, double load)
{
	printf("TAP core benchmark: tables %u/%u/%u buckets (pending/"
	       "authorized/replay), lifetimes %u/%u ms,\n%d runs each "
	       "(flood %u SYNs, verify %u tokens, mac %u per run); "
	       "load average %.2f at start\n\n", PEND_BUCKETS, AUTH_BUCKETS,
	       REPLAY_BUCKETS, PEND_LIFE_MS, AUTH_LIFE_MS, RUNS, FLOOD_ITERS,
	       VERIFY_ITERS, MAC_ITERS, load);
	printf("  median and min: CLOCK_MONOTONIC; cpu: median of "
	       "CLOCK_THREAD_CPUTIME_ID\n\n");
	printf("  %-38s %23s   %23s\n", "ns per operation", "spinlocks",
	       "no locks");
	printf("  %-38s %7s %7s %7s   %7s %7s %7s\n", "", "median", "min",
	       "cpu", "median", "min", "cpu");
	row("random SYN, flood path, IPv4", &r->flood_l, &r->flood_n);
	row("random SYN, flood path, IPv6", &r->flood_l6, NULL);
	row("real SYN verified and accepted", &r->real_l, &r->real_n);
	row("whole token: 4 auth SYNs + real SYN", &r->token_l, &r->token_n);
	row("crafted SYN: the dearest (2 MACs)", &r->crafted, NULL);
	row("tap_mac + tap_tag_equal", &r->mac, NULL);
	row("tap_flow_hash, IPv4 (SipHash-1-3)", &r->hash, NULL);
}

/* The tables' sizes as the module allocates them; returns their total. */
static size_t print_sizes(void)
{
	size_t pend_b = sizeof(struct tap_pend_bucket) * PEND_BUCKETS;
	size_t auth_b = sizeof(struct tap_auth_bucket) * AUTH_BUCKETS;
	size_t replay_b = sizeof(struct tap_replay_bucket) * REPLAY_BUCKETS;
	/* as the module: the pending table takes no lock */
	size_t lock_b = sizeof(pthread_spinlock_t) *
			(AUTH_BUCKETS + REPLAY_LOCKS);
	size_t table_bytes = pend_b + auth_b + replay_b;

	printf("\n  tables: pending %zu B (%zu B/bucket), authorized %zu B "
	       "(%zu), replay %zu B (%zu)\n", pend_b,
	       sizeof(struct tap_pend_bucket), auth_b,
	       sizeof(struct tap_auth_bucket), replay_b,
	       sizeof(struct tap_replay_bucket));
	printf("  total %zu B (%.2f MiB), plus %zu B of locks "
	       "(4 B each)\n", table_bytes, table_bytes / 1048576.0, lock_b);
	return table_bytes;
}

/* Prints the verify outcomes; false if the core got anything wrong. */
static bool check_outcomes(const struct results *r)
{
	u64 total = (u64)RUNS * VERIFY_ITERS, bad = 0;
	unsigned int s;

	for (s = 0; s < __TAP_STAT_MAX; s++)
		bad += s == TAP_STAT_ACCEPTED ? 0 : r->st_l[s] + r->st_n[s];
	printf("  verify: %" PRIu64 " of %" PRIu64 " tokens accepted",
	       2 * total - bad, 2 * total);
	for (s = 1; s < __TAP_STAT_MAX; s++)
		if (r->st_l[s] + r->st_n[s])
			printf(", %s %" PRIu64, tap_stat_name(s),
			       r->st_l[s] + r->st_n[s]);
	printf("\n\n");
	if (r->acc || r->crafted_wrong || bad * 10000 > 2 * total) {
		fprintf(stderr, "error: %u random SYNs matched, %" PRIu64
			" tokens not accepted, %u crafted SYNs not bad_mac\n",
			r->acc, bad, r->crafted_wrong);
		return false;
	}
	return true;
}

int main(void)
{
	static struct results r;
	double load;
	size_t table_bytes;

	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return 1;
	}
	load = load_average();
	bench_all(&r);
	print_times(&r, load);
	table_bytes = print_sizes();
	if (!check_outcomes(&r))
		return 1;
	/* one key=value a line, for scripts */
	printf("flood_ns=%.1f\n", r.flood_l.med);
	printf("flood_cpu_ns=%.1f\n", r.flood_l.cpu);
	printf("flood_nolock_ns=%.1f\n", r.flood_n.med);
	printf("flood6_ns=%.1f\n", r.flood_l6.med);
	printf("verify_ns=%.1f\n", r.real_l.med);
	printf("verify_cpu_ns=%.1f\n", r.real_l.cpu);
	printf("verify_nolock_ns=%.1f\n", r.real_n.med);
	printf("verify_token_ns=%.1f\n", r.token_l.med);
	printf("mac_ns=%.1f\n", r.mac.med);
	printf("crafted_ns=%.1f\n", r.crafted.med);
	printf("table_bytes=%zu\n", table_bytes);
	return r.sink == 0xffffffffu ? 2 : 0;
}
