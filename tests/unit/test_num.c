// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of libtap's strict number parsers (lib/tap_num.c), which every
 * userspace tool reads its numbers with.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "tap_num.h"
#include "unit_files.h"

static bool udec(const char *s, unsigned long max, unsigned long *v)
{
	return tap_parse_udec(s, strlen(s), max, v);
}

static void test_udec(void)
{
	unsigned long v = 7;

	CHECK(udec("0", 10, &v) && v == 0, "0: %lu", v);
	CHECK(udec("65535", 65535, &v) && v == 65535, "max: %lu", v);
	CHECK(udec("0022", 65535, &v) && v == 22, "leading zeros are decimal: %lu", v);
	CHECK(udec("18446744073709551615", ULONG_MAX, &v) && v == ULONG_MAX, "ULONG_MAX");
	v = 7;
	CHECK(!udec("65536", 65535, &v) && v == 7, "above max, *out untouched");
	CHECK(!udec("18446744073709551616", ULONG_MAX, &v), "overflow");
	CHECK(!udec("99999999999999999999999", ULONG_MAX, &v), "far overflow");
	CHECK(!udec("", 10, &v), "empty");
	CHECK(!udec("-1", 10, &v) && !udec("+1", 10, &v), "a sign");
	CHECK(!udec(" 1", 10, &v) && !udec("1 ", 10, &v), "spaces");
	CHECK(!udec("0x10", 100, &v) && !udec("1e2", 1000, &v), "not decimal");
	CHECK(tap_parse_udec("12x", 2, 100, &v) && v == 12, "only len bytes are read");
}

static void test_u32_and_range(void)
{
	uint32_t u = 0;
	uint16_t lo = 0, hi = 0;

	CHECK(tap_parse_u32("1", 1, 100, &u) && u == 1, "min");
	CHECK(!tap_parse_u32("0", 1, 100, &u), "below min");
	CHECK(!tap_parse_u32("101", 1, 100, &u), "above max");
	CHECK(tap_parse_urange("22", 65535, &lo, &hi) && lo == 22 && hi == 22, "one");
	CHECK(tap_parse_urange("8000-8100", 65535, &lo, &hi) && lo == 8000 && hi == 8100,
	      "N-M: %u-%u", lo, hi);
	CHECK(tap_parse_urange("1:2", 65535, &lo, &hi) && lo == 1 && hi == 2, "N:M");
	CHECK(tap_parse_urange("5-5", 65535, &lo, &hi) && lo == 5 && hi == 5, "N-N");
	CHECK(!tap_parse_urange("9-8", 65535, &lo, &hi), "M < N");
	CHECK(!tap_parse_urange("1-", 65535, &lo, &hi) && !tap_parse_urange("-1", 65535,
	      &lo, &hi), "a side missing");
	CHECK(!tap_parse_urange("1-65536", 65535, &lo, &hi), "M above max");
	CHECK(!tap_parse_urange("1-2-3", 65535, &lo, &hi), "three numbers");
}

static void test_num_and_long(void)
{
	unsigned long long v = 0;
	long l = 0;

	CHECK(tap_parse_num("0x54415031", 0xffffffffull, &v) && v == 0x54415031, "hex");
	CHECK(tap_parse_num("0X1f", 100, &v) && v == 31, "hex, capital X");
	CHECK(tap_parse_num("0", 10, &v) && v == 0, "0");
	CHECK(tap_parse_num("4", 4, &v) && v == 4, "max");
	CHECK(!tap_parse_num("010", 100, &v), "a leading zero (octal to strtoull)");
	CHECK(!tap_parse_num("5", 4, &v), "above max");
	CHECK(!tap_parse_num("-1", 10, &v) && !tap_parse_num("+1", 10, &v), "a sign");
	CHECK(!tap_parse_num(" 1", 10, &v) && !tap_parse_num("1 ", 10, &v), "spaces");
	CHECK(!tap_parse_num("", 10, &v) && !tap_parse_num("0x", 10, &v), "empty");
	CHECK(!tap_parse_num("99999999999999999999999", ~0ull, &v), "overflow");
	CHECK(tap_parse_long("-400", -400, 400, &l) && l == -400, "min");
	CHECK(tap_parse_long("400", -400, 400, &l) && l == 400, "max");
	CHECK(!tap_parse_long("-401", -400, 400, &l) && !tap_parse_long("401", -400, 400, &l),
	      "out of range");
	CHECK(!tap_parse_long("", -1, 1, &l) && !tap_parse_long("1x", -1, 1, &l), "not a number");
}

int main(void)
{
	test_udec();
	test_u32_and_range();
	test_num_and_long();
	printf("test_num: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
