/* SPDX-License-Identifier: GPL-2.0 */
/* What the native benchmarks share: a fast PRNG and an allocator that exits. */
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

#endif
