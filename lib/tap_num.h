/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Strict number parsers for command lines, key files and the client's
 * configuration: no sign, no spaces, nothing after the number. Each
 * returns false, leaving *out alone, for anything else.
 */
#ifndef TAP_NUM_H
#define TAP_NUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decimal digits in s[0..len), at most max; overflow-safe for any length. */
bool tap_parse_udec(const char *s, size_t len, unsigned long max,
		    unsigned long *out);

/* A decimal string from min to max. */
bool tap_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/* "N", or "N-M" / "N:M" (as iptables writes ports) with N <= M <= max. */
bool tap_parse_urange(const char *s, unsigned long max, uint16_t *lo,
		      uint16_t *hi);

/* Decimal, or hex with 0x; a leading zero (octal to strtoull) is refused. */
bool tap_parse_num(const char *s, unsigned long long max,
		   unsigned long long *out);

/* Signed decimal from min to max. */
bool tap_parse_long(const char *s, long min, long max, long *out);

#endif /* TAP_NUM_H */
