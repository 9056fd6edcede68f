// SPDX-License-Identifier: GPL-2.0
/*
 * Instruction-count model of the flood path: xt_tap/tap_core.c built with
 * the kernel's code-generation flags (bench/flood_model.sh), driven the way
 * the module drives it, and counted by callgrind. Natively repeatable: the
 * count does not depend on the machine's load. The module's own cost is
 * measured in the guest (bench/run.sh); this is for working on the core.
 *
 *   flood_model MODE FAMILY N
 *
 * MODE flood: N SYNs from random sources after N to fill the tables;
 * MODE onesrc: the same from one source address, after N more: every SYN
 * finds the source's earlier ones in its bucket and computes masks;
 * MODE crafted: one source's SYN, N times, against pieces crafted (by a
 * realm holder) to decode to a loaded key id and a fresh time, after as
 * many failed checks as the budget allows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap_core.h"
#include "bench_util.h"

#define PEND_BUCKETS	2048
#define AUTH_BUCKETS	1024
#define REPLAY_BUCKETS	(1 << 17)

static tap_prf_key the_key, the_realm;
static u16 the_hint;
static volatile int lockword[3][PEND_BUCKETS];
static volatile int preempt_count;

static bool m_key_get(void *env, u16 key_id, struct tap_keyref *ref)
{
	(void)env;
	if (key_id != 3)
		return false;
	ref->key = &the_key;
	ref->serial = 1;
	ref->hint = the_hint;
	return true;
}

/* spin_lock_bh: a preempt count and an atomic, as in the kernel */
void tap_table_lock(void *env, enum tap_table_id t, u32 b)
{
	(void)env;
	preempt_count += 0x200;
	while (__atomic_exchange_n(&lockword[t][b % PEND_BUCKETS], 1,
				   __ATOMIC_ACQUIRE))
		;
}

void tap_table_unlock(void *env, enum tap_table_id t, u32 b)
{
	(void)env;
	__atomic_store_n(&lockword[t][b % PEND_BUCKETS], 0, __ATOMIC_RELEASE);
	preempt_count -= 0x200;
}

static const struct tap_ops m_ops = {
	.key_get = m_key_get,
};

static u64 xs = 0x2545f4914f6cdd1dULL;

static u64 rnd(void)
{
	return bench_rnd(&xs);
}

/* The SYN a flood sends: random source, port and sequence number. */
static void flood_syn(struct tap_syn *s, int family)
{
	u64 r = rnd();

	memset(s, 0, sizeof(*s));
	s->family = (u8)family;
	if (family == 4) {
		memcpy(s->saddr.b, &r, 4);
		s->daddr.b[0] = 10;
		s->daddr.b[3] = 1;
	} else {
		s->saddr.b[0] = 0xfd;
		memcpy(s->saddr.b + 8, &r, 8);
		s->daddr.b[0] = 0xfd;
		s->daddr.b[15] = 1;
	}
	s->sport = (u16)(r >> 40);
	s->dport = 22;
	s->seq = (u32)(r >> 8);
}

int main(int argc, char **argv)
{
	struct tap_rule rule = { .key_min = 0, .key_max = 65535, .window = 30,
				 .bind = TAP_BIND_DADDR };
	struct tap_clock clk = { .now_s = 1764115200, .now_ms = 1000000 };
	struct tap_tables t = { 0 };
	struct tap_outcome out;
	struct tap_syn s;
	struct tap_ctx c = { .t = &t, .ops = &m_ops, .rule = &rule,
			     .syn = &s, .clk = &clk, .realm = &the_realm };
	unsigned long n, i, bad = 0;
	int family;
	u8 raw[TAP_KEY_LEN] = { 1, 2, 3 };

	if (argc != 4) {
		fprintf(stderr, "usage: %s flood|onesrc|crafted|crafted_ids 4|6 N\n",
			argv[0]);
		return 2;
	}
	family = atoi(argv[2]);
	n = strtoul(argv[3], NULL, 10);
	tap_prf_key_import(&the_key, raw);
	the_hint = tap_key_hint(tap_key_fingerprint(&the_key));
	raw[0] = 9;
	tap_prf_key_import(&the_realm, raw);
	t.pend = bench_zalloc(PEND_BUCKETS * sizeof(*t.pend));
	t.auth = bench_zalloc(AUTH_BUCKETS * sizeof(*t.auth));
	t.replay = bench_zalloc(REPLAY_BUCKETS * sizeof(*t.replay));
	t.pend_mask = PEND_BUCKETS - 1;
	t.auth_mask = AUTH_BUCKETS - 1;
	t.replay_mask = REPLAY_BUCKETS - 1;
	t.replay_lock_mask = 1023;
	t.pend_lifetime_ms = 5000;
	t.auth_lifetime_ms = 10000;
	t.hash_seed.key[0] = rnd();
	t.hash_seed.key[1] = rnd();

	if (!strcmp(argv[1], "onesrc")) {
		struct tap_syn first;

		/* one source without a key: every SYN finds its earlier ones */
		flood_syn(&first, family);
		for (i = 0; i < 2 * n; i++) {	/* the first n fill the bucket */
			flood_syn(&s, family);
			s.saddr = first.saddr;
			clk.now_ms += i & 1;
			tap_process_syn(&c, &out);
			bad += tap_stat_is_match(out.stat);
		}
	} else if (!strcmp(argv[1], "flood")) {
		for (i = 0; i < 2 * n; i++) {	/* the first n fill the table */
			flood_syn(&s, family);
			clk.now_ms += i & 1;
			tap_process_syn(&c, &out);
			bad += tap_stat_is_match(out.stat);
		}
	} else {
		/*
		 * bench_crafted_seq(): crafted spends the decode budget
		 * on hint checks, crafted_ids on two key ids that are not
		 * loaded and a hint check; then the one MAC, whose tag is
		 * looked for in a full bucket.
		 */
		int by_ids = !strcmp(argv[1], "crafted_ids");
		u32 mask[TAP_FRAGS];
		struct tap_syn real;
		int k, j;

		if (!by_ids && strcmp(argv[1], "crafted")) {
			fprintf(stderr, "%s: unknown mode %s\n", argv[0], argv[1]);
			return 2;
		}
		do {
			flood_syn(&real, family);
			tap_frag_masks(&the_realm, real.seq, real.dport, mask);
		} while (!bench_masks_distinct(mask));
		for (k = 0; k < TAP_FRAGS; k++) {
			for (j = 0; j < bench_crafted_count[by_ids][k]; j++) {
				s = real;
				s.sport = (u16)(real.sport + 1 + k * 8 + j);
				s.seq = bench_crafted_seq(by_ids, k, j, clk.now_s,
							  the_hint, mask, (u32)rnd());
				tap_process_syn(&c, &out);
			}
		}
		s = real;
		for (i = 0; i < n; i++) {
			tap_process_syn(&c, &out);
			bad += out.stat != TAP_STAT_BAD_MAC;
		}
	}
	printf("%s IPv%d: %lu SYNs, %lu unexpected outcomes\n", argv[1],
	       family, n, bad);
	return bad != 0;
}
