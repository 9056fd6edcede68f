// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: tap-clientd's parser of the queued real SYN
 * (cd_parse_syn) and its auth-SYN builder (cd_build_auth).
 *
 * Input: one control byte (the family the queue expects, the token's
 * binding), then the packet. Whatever parses must give auth SYNs that:
 *   - fit the buffer exactly, and nothing when the buffer is one byte short;
 *   - parse again as SYNs of the same flow, with the piece's sequence
 *     number and the new source port, and valid checksums;
 *   - carry a token the server core accepts for the real SYN: the four
 *     auth SYNs and the real one go through tap_process_syn, which must
 *     let the real SYN in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "clientd.h"
#include "tcp_csum.h"

#define fail(...) do {							\
	fprintf(stderr, "fuzz_clientd_packet: " __VA_ARGS__);		\
	fputc('\n', stderr);						\
	abort();							\
} while (0)

static tap_prf_key key, realm;
static u16 key_hint;

static bool key_get(void *env, u16 key_id, struct tap_keyref *ref)
{
	(void)env;
	if (key_id != 7)
		return false;
	ref->key = &key;
	ref->serial = 1;
	ref->hint = key_hint;
	return true;
}

static const struct tap_ops ops = { .key_get = key_get };

/* The server's verdict on the real SYN after its four auth SYNs. */
static unsigned int serve(const struct tap_syn pieces[TAP_FRAGS],
			  const struct tap_syn *real, u8 bind)
{
	static struct tap_pend_bucket pend[1];
	static struct tap_auth_bucket auth[1];
	static struct tap_replay_bucket replay[1];
	struct tap_tables t = {
		.pend = pend, .auth = auth, .replay = replay,
		.pend_lifetime_ms = 5000, .auth_lifetime_ms = 10000,
		.window_max = 30,
	};
	struct tap_rule rule = { .key_min = 7, .key_max = 7, .window = 30, .bind = bind };
	struct tap_clock clk = { .now_s = 1764115200ULL, .now_ms = 1000 };
	struct tap_ctx c = {
		.t = &t, .ops = &ops, .rule = &rule, .clk = &clk, .realm = &realm,
	};
	struct tap_outcome out;
	int i;

	memset(pend, 0, sizeof(pend));
	memset(auth, 0, sizeof(auth));
	memset(replay, 0, sizeof(replay));
	for (i = 0; i < TAP_FRAGS; i++) {
		c.syn = &pieces[i];
		tap_process_syn(&c, &out);
		if (tap_stat_is_match(out.stat))
			fail("auth SYN %d let through", i);
	}
	c.syn = real;
	tap_process_syn(&c, &out);
	return out.stat;
}

static void check_auth(const struct cd_syn *real, const uint8_t *pkt, size_t len,
		       uint32_t seq, uint16_t sport, struct tap_syn *as)
{
	struct cd_syn again;
	const char *why = NULL;
	bool v6 = real->syn.family == 6;

	if (cd_parse_syn(pkt, len, real->syn.family, &again, &why) < 0)
		fail("an auth SYN does not parse: %s", why);
	if (again.syn.family != real->syn.family || again.syn.seq != seq ||
	    again.syn.sport != sport || again.syn.dport != real->syn.dport ||
	    memcmp(&again.syn.saddr, &real->syn.saddr, sizeof(again.syn.saddr)) ||
	    memcmp(&again.syn.daddr, &real->syn.daddr, sizeof(again.syn.daddr)) ||
	    again.iphlen != real->iphlen || again.tcphlen != real->tcphlen ||
	    again.window != real->window)
		fail("the auth SYN is not the real SYN's flow with the new seq and port");
	if (memcmp(again.tcp + 20, real->tcp + 20, real->tcphlen - 20))
		fail("TCP options changed");
	if (!v6 && ip4_header_csum(pkt, again.iphlen))
		fail("bad IPv4 header checksum");
	if (tcp_csum(v6, pkt + (v6 ? 8 : 12), pkt + (v6 ? 24 : 16), again.tcp,
		     again.tcphlen))
		fail("bad TCP checksum");
	*as = again.syn;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t families[4] = { 0, 4, 6, 0 };
	struct tap_syn pieces[TAP_FRAGS];
	struct tap_token_params p;
	uint32_t seq[TAP_FRAGS];
	struct cd_syn real;
	const char *why = NULL;
	uint8_t *copy, *out;
	size_t len;
	uint8_t ctl, bind;
	int i;

	if (size < 1)
		return 0;
	ctl = data[0];
	bind = ctl >> 2 & TAP_BIND_ALL;
	/* an exact-size copy: ASan sees every read past the packet */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		abort();
	memcpy(copy, data + 1, size - 1);
	if (cd_parse_syn(copy, size - 1, families[ctl & 3], &real, &why) < 0) {
		if (!why || !*why)
			fail("refused without a reason");
		free(copy);
		return 0;
	}
	len = real.iphlen + real.tcphlen;
	if (len > size - 1 || real.tcphlen < 20 || real.ip != copy ||
	    real.tcp != copy + real.iphlen)
		fail("parsed headers outside the packet");

	tap_params_from_syn(&p, &real.syn, bind, 7, 1764115200ULL);
	tap_token_encode(&key, &realm, &p, seq);
	for (i = 0; i < TAP_FRAGS; i++) {
		uint16_t sport = (uint16_t)(40000 + i);

		out = malloc(len);
		if (!out)
			abort();
		if (cd_build_auth(&real, seq[i], sport, (uint16_t)i, out, len - 1))
			fail("built into a buffer too small");
		if (cd_build_auth(&real, seq[i], sport, (uint16_t)i, out, len) != len)
			fail("auth SYN of another length than the real SYN's headers");
		check_auth(&real, out, len, seq[i], sport, &pieces[i]);
		free(out);
	}
	if (serve(pieces, &real.syn, bind) != TAP_STAT_ACCEPTED)
		fail("the server does not accept the token these auth SYNs carry");
	free(copy);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t raw[TAP_KEY_LEN];

	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	memset(raw, 0x11, sizeof(raw));
	tap_prf_key_import(&key, raw);
	key_hint = tap_key_hint(tap_key_fingerprint(&key));
	memset(raw, 0x22, sizeof(raw));
	tap_prf_key_import(&realm, raw);
	return 0;
}
