// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of tap-clientd's token-reuse decision (clientd_reuse.c): when
 * a retransmitted SYN gets the token sent for it before, and when a fresh
 * one.
 */
#include <stdint.h>
#include <stdio.h>

#include "clientd.h"
#include "unit_files.h"

#define T0	1700000000ull	/* Unix seconds the last token was made */

static const struct cd_last_token last = {
	.valid = true, .key_id = 7, .line = 12, .time = T0,
};

static bool reusable(const struct cd_last_token *l, uint32_t again, uint16_t key_id,
		     int line, uint64_t now, uint32_t reuse_secs)
{
	return cd_token_reusable(l, again, key_id, line, now, reuse_secs);
}

static void test_reuse(void)
{
	CHECK(reusable(&last, 1, 7, 12, T0, 10), "a retransmission in the same second");
	CHECK(reusable(&last, 5, 7, 12, T0 + 9, 10), "the 5th, 9 s later, window 10 s");
	CHECK(reusable(&last, 1, 7, 12, T0 + 3599, 3600), "the largest window");
}

static void test_fresh(void)
{
	struct cd_last_token none = { 0 }, old = last;

	CHECK(!reusable(&last, 0, 7, 12, T0, 10), "a first send never reuses");
	CHECK(!reusable(&none, 1, 7, 12, T0, 10), "no token sent yet");
	old.valid = false;
	CHECK(!reusable(&old, 1, 7, 12, T0, 10), "a token marked invalid");
	CHECK(!reusable(&last, 1, 8, 12, T0, 10), "another key (reload)");
	CHECK(!reusable(&last, 1, 7, 13, T0, 10), "another server entry (reload)");
	CHECK(!reusable(&last, 1, 7, 12, T0 + 10, 10), "the window has passed (10 s)");
	CHECK(!reusable(&last, 1, 7, 12, T0 + 11, 10), "well past the window");
	CHECK(!reusable(&last, 1, 7, 12, T0, 0), "reuse-token 0: always fresh");
	CHECK(!reusable(&last, 1, 7, 12, T0 - 1, 10), "the clock went back");
}

int main(void)
{
	test_reuse();
	test_fresh();
	printf("test_clientd_logic: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
