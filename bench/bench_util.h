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
 * Masks (§3) of pieces 0 and 1 with different check bytes. Where they
 * share one, each piece is a candidate for the other's place too, and a
 * crafted pattern is not the one planted (1 ISN in 256).
 */
static inline int bench_masks_distinct(const uint32_t mask[4])
{
	return ((mask[0] ^ mask[1]) >> 24) != 0;
}

/*
 * The dearest crafted SYN's pieces, as bench/crafted_pieces.py plants
 * them: piece k is sent bench_crafted_count[ids][k] times, in this order.
 * macs (ids == 0): piece 0 naming key 3 and the time, piece 1 three times
 * with a wrong hint and then with the key's, ten tag pieces (2 and 3) whose
 * top byte is no check byte. ids: piece 0 naming ids 2 and 1 before 3,
 * piece 1 once with a wrong hint and once with the key's.
 * bench_crafted_seq() is the j-th copy of piece k, masked; r is random.
 */
static const int bench_crafted_count[2][4] = { { 1, 4, 5, 5 }, { 3, 2, 5, 5 } };

static inline uint32_t bench_crafted_seq(int ids, int k, int j,
					 uint64_t now_s, uint16_t hint,
					 const uint32_t mask[4], uint32_t r)
{
	static const uint32_t id[2][3] = { { 3 }, { 2, 1, 3 } };

	if (k == 0)	/* the key id, the time's high byte */
		return mask[0] ^ (id[ids][j] << 8 | (uint32_t)(now_s >> 8 & 0xff));
	if (k == 1)	/* the time's low byte, the hint: wrong, then right */
		return mask[1] ^ ((uint32_t)(now_s & 0xff) << 16 |
				  (uint16_t)(j < bench_crafted_count[ids][1] - 1 ?
					     hint ^ (j + 1) : hint));
	while (!((r ^ mask[0]) >> 24) || !((r ^ mask[1]) >> 24))
		r += 1U << 24;
	return r;
}

#endif
