/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading a fuzzer's input as a stream of numbers, big-endian; past its end
 * every read gives 0, so that any input is a complete program.
 */
#ifndef TAP_FUZZ_INPUT_H
#define TAP_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct input {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t take8(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint16_t take16(struct input *in)
{
	uint16_t hi = take8(in);

	return (uint16_t)(hi << 8 | take8(in));
}

static inline uint32_t take32(struct input *in)
{
	uint32_t hi = take16(in);

	return hi << 16 | take16(in);
}

static inline uint64_t take64(struct input *in)
{
	uint64_t hi = take32(in);

	return hi << 32 | take32(in);
}

#endif /* TAP_FUZZ_INPUT_H */
