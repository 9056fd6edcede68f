// SPDX-License-Identifier: GPL-2.0
/*
 * tap-clientd: when a retransmitted SYN gets the token sent for it before.
 * A pure function, unit-tested in tests/unit/test_clientd_logic.c.
 */
#include "clientd.h"

bool cd_token_reusable(const struct cd_last_token *last, uint32_t again,
		       uint16_t key_id, int line, uint64_t now, uint32_t reuse_secs)
{
	/* now < last->time (the clock went back) wraps: a fresh token */
	return again && last->valid && last->key_id == key_id && last->line == line &&
	       now - last->time < reuse_secs;
}
