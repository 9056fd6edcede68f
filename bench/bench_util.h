/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the native benchmarks share: a fast PRNG, an allocator that exits,
 * and the crafted SYN's pieces.
 */
#ifndef TAP_BENCH_UTIL_H
#define TAP_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* xorshift64: cheap enough not to show in a per-SYN cost. */
static inline uint64_t bench_rnd(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

static inline void *bench_zalloc(size_t n)
{
	void *p = calloc(1, n);

	if (!p) {
		perror("calloc");
		exit(2);
	}
	return p;
}

/*
 * Four masks (§3) with four different check bytes. Where two share one,
 * each piece is a candidate for the other's place too, and a crafted
 * pattern is not the one planted (about 6 ISNs in 256).
 */
static inline int bench_masks_distinct(const uint32_t mask[4])
{
	int i, j;

	for (i = 0; i < 4; i++)
		for (j = i + 1; j < 4; j++)
			if (!((mask[i] ^ mask[j]) >> 24))
				return 0;
	return 1;
}

/*
 * The dearest crafted SYN's pieces, as bench/crafted_pieces.py plants
 * them: piece k is sent bench_crafted_count[ids][k] times, in this order.
 * macs (ids == 0): piece 0 naming key 3 and the time, piece 1 three times
 * with a stale time and then with a fresh one, pieces 2 and 3 five times
 * each. ids: piece 0 naming ids 2 and 1 before 3, piece 1 once stale and
 * once fresh. bench_crafted_piece() is the j-th copy of piece k, before
 * the mask; r is random.
 */
static const int bench_crafted_count[2][4] = { { 1, 4, 5, 5 }, { 3, 2, 5, 5 } };

static inline uint32_t bench_crafted_piece(int ids, int k, int j,
					   uint64_t now_s, uint32_t r)
{
	static const uint32_t id[2][3] = { { 3 }, { 2, 1, 3 } };
	uint64_t t = now_s;

	if (k == 1 && j < bench_crafted_count[ids][1] - 1)
		t += 100;	/* stale */
	if (k == 0)	/* the key id, the time's high byte */
		return id[ids][j] << 8 | (uint32_t)(t >> 8 & 0xff);
	if (k == 1)	/* the time's low byte, tag bits */
		return (uint32_t)(t & 0xff) << 16 | (r & 0xffff);
	return r & 0xffffff;
}

#endif
