/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the native benchmarks share: a fast PRNG, an allocator that exits,
 * and the crafted SYN's test of its masks.
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

#endif
