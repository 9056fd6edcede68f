// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: tap-nft's rule decoder (nft/rule.c: tn_decode,
 * tn_rule_canon, tn_udata_comment) and the rule builders it shares with
 * tap-clientd (nft/rule.c tn_put_*, lib/tap_nfexpr.c).
 *
 * The first input byte picks the mode:
 *   even: the rest describes any rule as libnftnl hands it to tap-nft from
 *         a dump: expressions of the kinds the decoder reads, each
 *         attribute present or not, of any value and length, and user
 *         data. It is decoded, put in canonical form and its comment read:
 *         nothing may crash, read out of bounds or leave a string
 *         unterminated. (Raw netlink is not fuzzed here: libnftnl exits the
 *         process on an attribute of the wrong size, by design.)
 *   odd:  the rest describes a tap rule (family, names, ports, SYN test,
 *         ct state, match options, verdict, comment) built with tap-nft's
 *         builders, sent through the netlink encoding and parsed back: the
 *         decoder must read back what was built, and the canonical text of
 *         the parsed rule must be that of the built one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/udata.h>

#include "tap-nft.h"
#include "tap_nfexpr.h"
#include "fuzz_input.h"

#define fail(...) do {							\
	fprintf(stderr, "fuzz_nft_rule: " __VA_ARGS__);			\
	fputc('\n', stderr);						\
	abort();							\
} while (0)

#define BUF_SIZE	65536

/* A name of up to max bytes, printable, never empty. */
static void take_name(struct input *in, char *out, size_t max)
{
	size_t n = take8(in) % max, i;

	for (i = 0; i < n; i++)
		out[i] = (char)(0x21 + take8(in) % 0x5e);
	if (!n)
		out[n++] = 't';
	out[n] = '\0';
}

static void check_string(const char *s, size_t size, const char *what)
{
	if (!memchr(s, '\0', size))
		fail("%s not terminated", what);
}

static void decode_all(const struct nftnl_rule *r, struct tn_decoded *d,
		       char *canon, size_t canon_len)
{
	char small[7], comment[256];

	tn_decode(r, d);
	check_string(d->verdict, sizeof(d->verdict), "verdict");
	if (d->raw_len && !d->tap)
		fail("match info without a tap match");
	tn_rule_canon(r, canon, canon_len);
	check_string(canon, canon_len, "canonical text");
	tn_rule_canon(r, small, sizeof(small));
	check_string(small, sizeof(small), "short canonical text");
	if (strncmp(small, canon, sizeof(small) - 1))
		fail("the short canonical text is not a prefix of the long one");
	if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) {
		uint32_t n = 0;
		const void *ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &n);

		tn_udata_comment(ud, n, NFTNL_UDATA_RULE_COMMENT, comment, sizeof(comment));
		check_string(comment, sizeof(comment), "comment");
		tn_udata_comment(ud, n, NFTNL_UDATA_RULE_COMMENT, small, sizeof(small));
		check_string(small, sizeof(small), "short comment");
	}
}

static struct nftnl_rule *parse(const void *buf)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		abort();
	if (nftnl_rule_nlmsg_parse(buf, r) < 0) {
		nftnl_rule_free(r);
		return NULL;
	}
	return r;
}

/*
 * The attributes of the expressions the decoder reads, and their kinds: a
 * rule as libnftnl hands a dump to tap-nft, any attribute missing or of
 * any length.
 */
enum kind { U32, DATA, STR, INFO };

static const struct expr_shape {
	const char *name;
	int nattr;
	enum kind kind[5];
} shapes[] = {
	{ "meta", 3, { U32, U32, U32 } },
	{ "payload", 4, { U32, U32, U32, U32 } },
	{ "bitwise", 5, { U32, U32, U32, DATA, DATA } },
	{ "cmp", 3, { U32, U32, DATA } },
	{ "range", 4, { U32, U32, DATA, DATA } },
	{ "match", 3, { STR, U32, INFO } },
	{ "immediate", 4, { U32, DATA, U32, STR } },
	{ "target", 3, { STR, U32, INFO } },
	{ "ct", 4, { U32, U32, U32, U32 } },
	{ "counter", 0, { U32 } },
	{ "reject", 2, { U32, U32 } },
	{ "queue", 0, { U32 } },
};

/* Any rule tap-nft may find in a dump: decoding it must be safe. */
static void fuzz_dump(struct input *in)
{
	static char canon[8192];
	struct nftnl_rule *r = tn_rule_new(NFPROTO_INET, "t", "c");
	struct tn_decoded d;
	int nexpr = 0, k;

	while (in->n && nexpr++ < 16) {
		const struct expr_shape *sh = &shapes[take8(in) % (sizeof(shapes) / sizeof(shapes[0]))];
		uint8_t present = take8(in);
		struct nftnl_expr *e = nftnl_expr_alloc(sh->name);

		if (!e)
			abort();
		/* data or a verdict, as dumped: libnftnl keeps both in one union */
		if (!strcmp(sh->name, "immediate") && present & 4)
			present &= (uint8_t)~2;
		for (k = 0; k < sh->nattr; k++) {
			uint16_t attr = (uint16_t)(NFTNL_EXPR_BASE + k);
			uint8_t data[16] = { 0 }, len;
			char str[33];
			size_t i;

			if (!(present & 1 << k))
				continue;
			switch (sh->kind[k]) {
			case U32:
				nftnl_expr_set_u32(e, attr, (uint32_t)take16(in) << 16 | take16(in));
				break;
			case DATA:
				len = take8(in) % 17;
				for (i = 0; i < len; i++)
					data[i] = take8(in);
				nftnl_expr_set(e, attr, data, len);
				break;
			case STR:
				/* libnftnl frees a chain only with a jump or goto, as dumped */
				if (!strcmp(sh->name, "immediate") &&
				    (int32_t)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT) != NFT_JUMP &&
				    (int32_t)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT) != NFT_GOTO)
					break;
				len = take8(in) % 33;
				for (i = 0; i < len; i++)
					str[i] = (char)(take8(in) | 1);
				str[len] = '\0';
				nftnl_expr_set_str(e, attr, str);
				break;
			case INFO: {
				uint8_t *info;

				len = take8(in) % 64;
				info = malloc(len ? len : 1);
				if (!info)
					abort();
				for (i = 0; i < len; i++)
					info[i] = take8(in);
				/* libnftnl keeps the buffer */
				nftnl_expr_set(e, attr, info, len);
				break;
			}
			}
		}
		nftnl_rule_add_expr(r, e);
	}
	if (take8(in) & 1) {
		uint8_t ud[64];
		size_t n = take8(in) % sizeof(ud), i;

		for (i = 0; i < n; i++)
			ud[i] = take8(in);
		nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, ud, (uint32_t)n);
	}
	decode_all(r, &d, canon, sizeof(canon));
	nftnl_rule_free(r);
}

/* A rule built by tap-nft: decoding must give back what was built. */
static void fuzz_build(struct input *in, uint8_t *buf)
{
	static const uint16_t families[4] = { NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6, NFPROTO_INET };
	static char canon_built[8192], canon_parsed[8192];
	char table[40], chain[40], comment[400];
	struct xt_tap_mtinfo mt = { 0 };
	struct nftnl_rule *r, *back;
	struct tn_decoded want, got;
	struct nlmsghdr *nlh;
	uint8_t ctl = take8(in);
	uint16_t lo, hi;
	size_t n, i;

	take_name(in, table, 33);
	take_name(in, chain, 33);
	lo = take16(in);
	hi = take16(in);
	mt.key_id_min = take16(in);
	mt.key_id_max = take16(in);
	mt.window = take16(in);
	mt.flags = take8(in);
	r = tn_rule_new(families[ctl & 3], table, chain);
	if (ctl & 4)
		tn_put_ct_state(r, take16(in));
	if (ctl & 8)
		tn_put_tcp_dport(r, lo, hi);
	if (ctl & 0x10) {
		tn_put_syn(r, ctl & 0x20);
		tn_put_tap(r, &mt);
	} else {
		tn_put_tap(r, &mt);
		tn_put_syn(r, ctl & 0x20);
	}
	tn_put_counter(r);
	tn_put_verdict(r, ctl & 0x40 ? TN_DROP : TN_ACCEPT);
	if (ctl & 0x80) {
		n = take8(in) + take8(in) % 64;
		for (i = 0; i < n; i++)
			comment[i] = (char)(0x20 + take8(in) % 0x5f);
		comment[n] = '\0';
		if (tn_rule_comment(r, comment) == -ENOMEM)
			abort();
	}

	nlh = nftnl_nlmsg_build_hdr((char *)buf, NFT_MSG_NEWRULE, families[ctl & 3], 0, 1);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	back = parse(nlh);
	if (!back)
		fail("a rule tap-nft built does not parse back");
	decode_all(r, &want, canon_built, sizeof(canon_built));
	decode_all(back, &got, canon_parsed, sizeof(canon_parsed));
	if (strcmp(canon_built, canon_parsed))
		fail("canonical text changed through netlink:\n %s\n %s",
		     canon_built, canon_parsed);
	if (!got.tap || !got.info_ok || got.mt.key_id_min != mt.key_id_min ||
	    got.mt.key_id_max != mt.key_id_max || got.mt.window != mt.window ||
	    got.mt.flags != mt.flags)
		fail("the tap match's options did not come back");
	if (got.syn != !!(ctl & 0x20))
		fail("SYN test %d, built %d", got.syn, !!(ctl & 0x20));
	if (got.port != !!(ctl & 8) ||
	    (got.port && (got.port_neg || got.port_lo != lo || got.port_hi != hi)))
		fail("port %d %s%u-%u, built %u-%u", got.port, got.port_neg ? "!" : "",
		     got.port_lo, got.port_hi, lo, hi);
	if (strcmp(got.verdict, ctl & 0x40 ? "drop" : "accept"))
		fail("verdict %s", got.verdict);
	if (ctl & 0x80) {
		char back_comment[400];
		uint32_t len = 0;
		const void *ud = nftnl_rule_get_data(back, NFTNL_RULE_USERDATA, &len);

		tn_udata_comment(ud, len, NFTNL_UDATA_RULE_COMMENT, back_comment,
				 sizeof(back_comment));
		if (ud && strcmp(back_comment, comment))
			fail("comment \"%s\" came back as \"%s\"", comment, back_comment);
	}
	nftnl_rule_free(back);
	nftnl_rule_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *buf;
	struct input in = { data, size };
	uint8_t mode;

	if (!buf && !(buf = aligned_alloc(8, BUF_SIZE)))
		abort();
	if (!size)
		return 0;
	mode = take8(&in);
	if (mode & 1)
		fuzz_build(&in, buf);
	else
		fuzz_dump(&in);
	return 0;
}
