// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tap_num.h"

bool tap_parse_udec(const char *s, size_t len, unsigned long max,
		    unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		unsigned long d = (unsigned long)(s[i] - '0');

		if (s[i] < '0' || s[i] > '9' || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool tap_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long v;

	if (!tap_parse_udec(s, strlen(s), max, &v) || v < min)
		return false;
	*out = (uint32_t)v;
	return true;
}

bool tap_parse_urange(const char *s, unsigned long max, uint16_t *lo,
		      uint16_t *hi)
{
	const char *sep = strpbrk(s, "-:");
	unsigned long a, b;

	if (!sep) {
		if (!tap_parse_udec(s, strlen(s), max, &a))
			return false;
		*lo = *hi = (uint16_t)a;
		return true;
	}
	if (!tap_parse_udec(s, (size_t)(sep - s), max, &a) ||
	    !tap_parse_udec(sep + 1, strlen(sep + 1), max, &b) || b < a)
		return false;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return true;
}

bool tap_parse_num(const char *s, unsigned long long max,
		   unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return false;
	if (s[0] == '0' && s[1] && s[1] != 'x' && s[1] != 'X')
		return false;
	*out = v;
	return true;
}

bool tap_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!*s)
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}
