// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of tap-nft's rule decoder (nft/rule.c, tn_decode and
 * tn_rule_canon) on rules built in memory with libnftnl: tap-nft's own,
 * tap-clientd's shape, iptables-nft's (xt tcp match) and hand-made ones;
 * and the netlink reply loop the rules are read with (lib/tap_nl.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include <linux/netlink.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_tcpudp.h>

#include <libnftnl/expr.h>

#include "tap-nft.h"
#include "tap_nfexpr.h"
#include "tap_nl.h"
#include "unit_files.h"

static const struct xt_tap_mtinfo mt3 = {
	.key_id_min = 3, .key_id_max = 5, .window = 30, .flags = XT_TAP_F_NO_DST_BIND,
};

static struct nftnl_rule *rule(void)
{
	return tn_rule_new(NFPROTO_INET, "t", "c");
}

static void decode(struct nftnl_rule *r, struct tn_decoded *d)
{
	tn_decode(r, d);
	nftnl_rule_free(r);
}

static void test_own_rule(void)
{
	struct nftnl_rule *r = rule();
	struct tn_decoded d;

	tn_put_tcp_dport(r, 22, 22);
	tn_put_syn(r, true);
	tn_put_tap(r, &mt3);
	tn_put_counter(r);
	tn_put_verdict(r, TN_ACCEPT);
	decode(r, &d);
	CHECK(d.tap && d.info_ok, "tap %d info_ok %d", d.tap, d.info_ok);
	CHECK(d.mt.key_id_min == 3 && d.mt.key_id_max == 5 && d.mt.window == 30 &&
	      d.mt.flags == XT_TAP_F_NO_DST_BIND, "mt %u-%u w %u f %u", d.mt.key_id_min,
	      d.mt.key_id_max, d.mt.window, d.mt.flags);
	CHECK(d.raw_len == sizeof(struct xt_tap_mtinfo), "raw_len %u", d.raw_len);
	CHECK(d.port && !d.port_neg && d.port_lo == 22 && d.port_hi == 22,
	      "port %d %u-%u", d.port, d.port_lo, d.port_hi);
	CHECK(d.syn, "syn");
	CHECK(!strcmp(d.verdict, "accept"), "verdict %s", d.verdict);
}

/* protect's order in a chain that meets fragments: the match first */
static void test_range_tap_first(void)
{
	struct nftnl_rule *r = rule();
	struct tn_decoded d;

	tn_put_tcp_dport(r, 8000, 8100);
	tn_put_tap(r, &mt3);
	tn_put_syn(r, true);
	tn_put_verdict(r, TN_DROP);
	decode(r, &d);
	CHECK(d.port && d.port_lo == 8000 && d.port_hi == 8100 && !d.port_neg,
	      "port %u-%u neg %d", d.port_lo, d.port_hi, d.port_neg);
	CHECK(d.syn && d.tap, "syn %d tap %d", d.syn, d.tap);
	CHECK(!strcmp(d.verdict, "drop"), "verdict %s", d.verdict);
}

static void test_not_syn(void)
{
	struct nftnl_rule *r = rule();
	struct tn_decoded d;

	tn_put_tcp_dport(r, 22, 22);
	tn_put_syn(r, false);
	decode(r, &d);
	CHECK(!d.syn, "tcp flags != syn is not --syn");
	CHECK(!d.tap && !strcmp(d.verdict, "continue"), "tap %d verdict %s", d.tap,
	      d.verdict);
}

/* tap-clientd's shape: dport >= LO, dport <= HI, then a queue verdict */
static void test_cmp_ports(void)
{
	struct nftnl_rule *r = rule();
	uint16_t lo = htons(1000), hi = htons(2000), ne = htons(25);
	struct tn_decoded d;

	CHECK(tn_expr_l4proto_tcp(r) &&
	      tn_expr_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2) &&
	      tn_expr_cmp(r, NFT_CMP_GTE, &lo, 2) && tn_expr_cmp(r, NFT_CMP_LTE, &hi, 2) &&
	      tn_expr_tcp_syn(r, NFT_CMP_EQ), "built");
	nftnl_rule_add_expr(r, nftnl_expr_alloc("queue"));
	decode(r, &d);
	CHECK(d.port && d.port_lo == 1000 && d.port_hi == 2000, "port %u-%u", d.port_lo,
	      d.port_hi);
	CHECK(d.syn && !strcmp(d.verdict, "queue"), "syn %d verdict %s", d.syn, d.verdict);

	r = rule();
	tn_expr_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
	tn_expr_cmp(r, NFT_CMP_NEQ, &ne, 2);
	decode(r, &d);
	CHECK(d.port && d.port_neg && d.port_lo == 25 && d.port_hi == 25,
	      "dport != 25: %d %u-%u", d.port_neg, d.port_lo, d.port_hi);
}

/* A comparison reads the register its load wrote, not any other. */
static void test_registers(void)
{
	struct nftnl_rule *r = rule();
	struct nftnl_expr *e = nftnl_expr_alloc("payload");
	uint16_t p = htons(22);
	struct tn_decoded d;

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, 2);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, 2);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG32_02);
	nftnl_rule_add_expr(r, e);
	tn_expr_cmp(r, NFT_CMP_EQ, &p, 2);	/* reads register 1 */
	decode(r, &d);
	CHECK(!d.port, "a cmp of another register is no port condition");

	r = rule();
	tn_expr_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
	tn_expr_meta(r, NFT_META_MARK);		/* overwrites register 1 */
	tn_expr_cmp(r, NFT_CMP_EQ, &p, 2);
	decode(r, &d);
	CHECK(!d.port, "a load in between replaces the port in the register");
}

/* iptables-nft: -p tcp --dport 22 --syn is an xt "tcp" match */
static void test_xt_tcp(void)
{
	struct nftnl_rule *r = rule();
	struct nftnl_expr *e = nftnl_expr_alloc("match");
	struct xt_tcp *tcp = calloc(1, sizeof(*tcp));
	struct tn_decoded d;

	tcp->spts[1] = 0xffff;
	tcp->dpts[0] = tcp->dpts[1] = 22;
	tcp->flg_mask = TN_TCP_SYN_MASK;
	tcp->flg_cmp = TN_TCP_SYN;
	nftnl_expr_set_str(e, NFTNL_EXPR_MT_NAME, "tcp");
	nftnl_expr_set(e, NFTNL_EXPR_MT_INFO, tcp, sizeof(*tcp));
	nftnl_rule_add_expr(r, e);
	decode(r, &d);
	CHECK(d.port && d.port_lo == 22 && d.port_hi == 22 && d.syn, "port %u-%u syn %d",
	      d.port_lo, d.port_hi, d.syn);
}

static void test_verdicts_and_bad_info(void)
{
	struct nftnl_rule *r = rule();
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");
	struct tn_decoded d;
	static uint8_t *short_info;

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)NFT_JUMP);
	nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, "tapchk");
	nftnl_rule_add_expr(r, e);
	decode(r, &d);
	CHECK(!strcmp(d.verdict, "jump tapchk"), "verdict %s", d.verdict);

	r = rule();
	e = nftnl_expr_alloc("match");
	short_info = calloc(1, 4);
	nftnl_expr_set_str(e, NFTNL_EXPR_MT_NAME, "tap");
	nftnl_expr_set(e, NFTNL_EXPR_MT_INFO, short_info, 4);
	nftnl_rule_add_expr(r, e);
	e = nftnl_expr_alloc("target");
	nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
	nftnl_rule_add_expr(r, e);
	decode(r, &d);
	CHECK(d.tap && !d.info_ok && d.raw_len == 4, "tap %d info_ok %d raw_len %u",
	      d.tap, d.info_ok, d.raw_len);
	CHECK(!strcmp(d.verdict, "xt target NFQUEUE"), "verdict %s", d.verdict);
}

/* The canonical text leaves out counter values and the match's private tail. */
static void test_canon(void)
{
	struct nftnl_rule *a = rule(), *b = rule();
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;
	char ca[2048], cb[2048];

	tn_put_tap(a, &mt3);
	tn_put_counter(a);
	tn_put_tap(b, &mt3);
	tn_put_counter(b);
	it = nftnl_expr_iter_create(b);
	while ((e = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
		uint32_t len = 0;

		if (!strcmp(name, "counter"))
			nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, 12345);
		if (!strcmp(name, "match")) {
			uint8_t *info = (uint8_t *)nftnl_expr_get(e, NFTNL_EXPR_MT_INFO, &len);

			info[len - 1] = 0xaa;	/* the kernel's state pointer */
		}
	}
	nftnl_expr_iter_destroy(it);
	tn_rule_canon(a, ca, sizeof(ca));
	tn_rule_canon(b, cb, sizeof(cb));
	CHECK(!strcmp(ca, cb), "\n %s\n %s", ca, cb);
	tn_put_verdict(b, TN_DROP);
	tn_rule_canon(b, cb, sizeof(cb));
	CHECK(strcmp(ca, cb), "a verdict more changes the text");
	nftnl_rule_free(a);
	nftnl_rule_free(b);
}

/*
 * Found by tests/fuzz/fuzz_nft_rule: a match or target without a name
 * (strcmp of NULL), user data whose attribute claims more bytes than there
 * are (libnftnl's walk trusts it).
 */
static void test_malformed_dump(void)
{
	static const uint8_t ud_past_end[] = { 0, 5, 'a', 'b' };
	static const uint8_t ud_ok[] = { 0, 3, 'h', 'i', 0 };
	struct nftnl_rule *r = rule();
	struct nftnl_expr *e = nftnl_expr_alloc("match");
	struct tn_decoded d;
	char canon[256], comment[32];

	nftnl_rule_add_expr(r, e);
	e = nftnl_expr_alloc("target");
	nftnl_rule_add_expr(r, e);
	tn_rule_canon(r, canon, sizeof(canon));
	CHECK(!strncmp(canon, "[match  rev 0 len 0 ][target", 28), "canon %s", canon);
	decode(r, &d);
	CHECK(!d.tap && !strcmp(d.verdict, "xt target "), "verdict %s", d.verdict);
	tn_udata_comment(ud_past_end, sizeof(ud_past_end), 0, comment, sizeof(comment));
	CHECK(!strcmp(comment, ""), "comment \"%s\" from beyond the user data", comment);
	tn_udata_comment(ud_ok, sizeof(ud_ok), 0, comment, sizeof(comment));
	CHECK(!strcmp(comment, "hi"), "comment \"%s\"", comment);
}

/* An NLMSG_ERROR for request 7 with the kernel's error code err. */
static size_t nl_error_msg(uint8_t *buf, int err)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct nlmsgerr *e = (struct nlmsgerr *)(buf + sizeof(*nlh));

	memset(buf, 0, sizeof(*nlh) + sizeof(*e));
	nlh->nlmsg_len = sizeof(*nlh) + sizeof(*e);
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = NLM_F_CAPPED;
	nlh->nlmsg_seq = 7;
	e->error = err;
	e->msg.nlmsg_len = sizeof(*nlh);
	return nlh->nlmsg_len;
}

/*
 * Found by tests/fuzz/fuzz_keytool_nl: a message claiming 2 GiB or more
 * passed libmnl's length check and the walk left the buffer; an error code
 * of INT_MIN was negated.
 */
static void test_netlink_replies(void)
{
	uint8_t buf[256] __attribute__((aligned(8)));
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct tap_nl nl = { 0 };
	size_t len;

	len = nl_error_msg(buf, -ENOENT);
	CHECK(tap_nl_fits(buf, len), "an error message fits");
	CHECK(tap_nl_parse(&nl, buf, len, 7, NULL, NULL) == ENOENT, "ENOENT");
	CHECK(tap_nl_fits(buf, len + 3), "trailing bytes: libmnl stops there");
	nlh->nlmsg_len = (uint32_t)len + 4;
	CHECK(!tap_nl_fits(buf, len), "a message longer than the datagram");
	nlh->nlmsg_len = 0x9b000028;
	CHECK(!tap_nl_fits(buf, len), "a message of 2.6 GB");
	CHECK(tap_nl_parse(&nl, buf, len, 7, NULL, NULL) == EBADMSG,
	      "refused before libmnl walks it");
	len = nl_error_msg(buf, -2147483647 - 1);
	CHECK(tap_nl_parse(&nl, buf, len, 7, NULL, NULL) == EPROTO,
	      "INT_MIN is no errno");
	len = nl_error_msg(buf, 5);
	CHECK(tap_nl_error(nlh, nl.extack, sizeof(nl.extack)) == EPROTO,
	      "nor is a positive code");
}

int main(void)
{
	test_own_rule();
	test_range_tap_first();
	test_not_syn();
	test_cmp_ports();
	test_registers();
	test_xt_tcp();
	test_verdicts_and_bad_info();
	test_canon();
	test_malformed_dump();
	test_netlink_replies();
	printf("test_nft_rule: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
