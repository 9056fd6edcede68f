// SPDX-License-Identifier: GPL-2.0
/*
 * The expressions of a tap rule, built with libnftnl, and the decoder that
 * reads any rule back (ours, iptables-nft's, or hand-made with nft).
 *
 * A tap rule is, in nft's notation,
 *
 *   tcp dport P tcp flags syn / fin,syn,rst,ack xt match "tap" counter VERDICT
 *
 * with NFTA_RULE_COMPAT = { proto tcp, flags 0 }, which nft_compat hands to
 * the match's checkentry as the rule's "-p tcp" (the match has .proto = TCP).
 * The expressions are the ones iptables-nft emits for -p tcp --dport P --syn,
 * so iptables-nft can show a rule that tap-nft added to its tables. In a
 * chain that may meet IP fragments, tap-nft puts the match before the flags
 * check (tap-nft.c, tap_rule); the decoder reads either order.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/xt_tcpudp.h>

#include <libnftnl/expr.h>
#include <libnftnl/udata.h>

#include "tap-nft.h"
#include "tap_nfexpr.h"

#define TCP_SYN		TN_TCP_SYN
#define TCP_SYN_MASK	TN_TCP_SYN_MASK

static void oom(void)
{
	fprintf(stderr, "tap-nft: out of memory\n");
	exit(1);
}

static void *must(void *p)
{
	if (!p)
		oom();
	return p;
}

static void must_ok(bool ok)
{
	if (!ok)
		oom();
}

struct nftnl_rule *tn_rule_new(uint16_t family, const char *table,
			       const char *chain)
{
	return must(tn_rule_alloc(family, table, chain));
}

static struct nftnl_expr *expr(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = must(nftnl_expr_alloc(name));

	nftnl_rule_add_expr(r, e);
	return e;
}

/* meta l4proto tcp; tcp dport LO[-HI] */
void tn_put_tcp_dport(struct nftnl_rule *r, uint16_t lo, uint16_t hi)
{
	uint16_t nlo = htons(lo), nhi = htons(hi);

	must_ok(tn_expr_l4proto_tcp(r) &&
		tn_expr_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2));
	if (lo == hi) {
		must_ok(tn_expr_cmp(r, NFT_CMP_EQ, &nlo, sizeof(nlo)));
	} else {
		struct nftnl_expr *e = expr(r, "range");

		nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_OP, NFT_RANGE_EQ);
		nftnl_expr_set(e, NFTNL_EXPR_RANGE_FROM_DATA, &nlo, sizeof(nlo));
		nftnl_expr_set(e, NFTNL_EXPR_RANGE_TO_DATA, &nhi, sizeof(nhi));
	}
}

/* tcp flags & (fin|syn|rst|ack) == syn (iptables' --syn), or != syn. */
void tn_put_syn(struct nftnl_rule *r, bool is_syn)
{
	must_ok(tn_expr_tcp_syn(r, is_syn ? NFT_CMP_EQ : NFT_CMP_NEQ));
}

/* ct state & ANY_OF != 0, e.g. "ct state invalid,new" */
void tn_put_ct_state(struct nftnl_rule *r, uint32_t any_of)
{
	struct nftnl_expr *e = expr(r, "ct");
	uint32_t zero = 0;

	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	/* the state is a host-endian u32 bit mask in the register */
	must_ok(tn_expr_bitwise(r, &any_of, &zero, sizeof(any_of)) &&
		tn_expr_cmp(r, NFT_CMP_NEQ, &zero, sizeof(zero)));
}

/*
 * xt match "tap", revision 0, with struct xt_tap_mtinfo exactly as the
 * iptables plugin fills it: the kernel-private tail (state pointer) zero.
 */
void tn_put_tap(struct nftnl_rule *r, const struct xt_tap_mtinfo *mt)
{
	struct nftnl_expr *e = expr(r, "match");
	struct xt_tap_mtinfo *info = must(calloc(1, sizeof(*info)));

	info->key_id_min = mt->key_id_min;
	info->key_id_max = mt->key_id_max;
	info->window = mt->window;
	info->flags = mt->flags;
	nftnl_expr_set_str(e, NFTNL_EXPR_MT_NAME, "tap");
	nftnl_expr_set_u32(e, NFTNL_EXPR_MT_REV, 0);
	/* libnftnl keeps this buffer and frees it with the expression */
	nftnl_expr_set(e, NFTNL_EXPR_MT_INFO, info, sizeof(*info));
	/* what nft_compat checks against the match's .proto (like -p tcp) */
	nftnl_rule_set_u32(r, NFTNL_RULE_COMPAT_PROTO, IPPROTO_TCP);
	nftnl_rule_set_u32(r, NFTNL_RULE_COMPAT_FLAGS, 0);
}

void tn_put_counter(struct nftnl_rule *r)
{
	must_ok(tn_expr_counter(r));
}

void tn_put_verdict(struct nftnl_rule *r, enum tn_verdict v)
{
	struct nftnl_expr *e = expr(r, "immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, v == TN_ACCEPT ? NF_ACCEPT : NF_DROP);
}

void tn_put_comment(struct nftnl_rule *r, const char *comment)
{
	int ret = tn_rule_comment(r, comment);

	if (ret == -E2BIG) {
		fprintf(stderr, "tap-nft: comment too long: %s\n", comment);
		exit(1);
	}
	must_ok(ret == 0);
}

/* ---- decoding ---- */

enum reg_state { R_NONE, R_L4PROTO, R_DPORT, R_TCPFLAGS, R_TCPFLAGS_SYNMASK };

#define NREGS (NFT_REG32_15 + 1)

static void set_reg(enum reg_state *regs, const struct nftnl_expr *e, uint16_t attr,
		    enum reg_state st)
{
	uint32_t reg;

	if (!nftnl_expr_is_set(e, attr))
		return;
	reg = nftnl_expr_get_u32(e, attr);
	if (reg < NREGS)
		regs[reg] = st;
}

static enum reg_state get_reg(const enum reg_state *regs, const struct nftnl_expr *e,
			      uint16_t attr)
{
	uint32_t reg = nftnl_expr_get_u32(e, attr);

	return reg < NREGS ? regs[reg] : R_NONE;
}

static uint16_t get_port(const struct nftnl_expr *e, uint16_t attr)
{
	uint32_t len = 0;
	const void *p = nftnl_expr_get(e, attr, &len);
	uint16_t v = 0;

	if (p && len == sizeof(v))
		memcpy(&v, p, sizeof(v));
	return ntohs(v);
}

/* A string attribute of e; "" if e has none (a malformed dump). */
static const char *expr_str(const struct nftnl_expr *e, uint16_t attr)
{
	const char *s = nftnl_expr_get_str(e, attr);

	return s ? s : "";
}

static void decode_verdict(const struct nftnl_expr *e, struct tn_decoded *d)
{
	int32_t v = (int32_t)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT);
	const char *chain = nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN) ?
			    nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN) : "?";

	switch (v) {
	case NF_ACCEPT: snprintf(d->verdict, sizeof(d->verdict), "accept"); break;
	case NF_DROP: snprintf(d->verdict, sizeof(d->verdict), "drop"); break;
	case NFT_CONTINUE: snprintf(d->verdict, sizeof(d->verdict), "continue"); break;
	case NFT_RETURN: snprintf(d->verdict, sizeof(d->verdict), "return"); break;
	case NFT_JUMP: snprintf(d->verdict, sizeof(d->verdict), "jump %s", chain); break;
	case NFT_GOTO: snprintf(d->verdict, sizeof(d->verdict), "goto %s", chain); break;
	default: snprintf(d->verdict, sizeof(d->verdict), "verdict %d", v); break;
	}
}

static void decode_xt_tcp(const struct nftnl_expr *e, struct tn_decoded *d)
{
	uint32_t len = 0;
	const struct xt_tcp *tcp = nftnl_expr_get(e, NFTNL_EXPR_MT_INFO, &len);

	if (!tcp || len < sizeof(*tcp))
		return;
	if (tcp->dpts[0] != 0 || tcp->dpts[1] != 0xffff) {
		d->port = true;
		d->port_lo = tcp->dpts[0];
		d->port_hi = tcp->dpts[1];
		d->port_neg = tcp->invflags & XT_TCP_INV_DSTPT;
	}
	if ((tcp->flg_mask & TCP_SYN_MASK) == TCP_SYN_MASK &&
	    (tcp->flg_cmp & TCP_SYN_MASK) == TCP_SYN && !(tcp->invflags & XT_TCP_INV_FLAGS))
		d->syn = true;
}

static void decode_payload(enum reg_state *regs, const struct nftnl_expr *e)
{
	uint32_t base = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE);
	uint32_t off = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET);
	uint32_t len = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN);
	enum reg_state st = R_NONE;

	if (base == NFT_PAYLOAD_TRANSPORT_HEADER && off == 2 && len == 2)
		st = R_DPORT;
	else if (base == NFT_PAYLOAD_TRANSPORT_HEADER && off == 13 && len == 1)
		st = R_TCPFLAGS;
	set_reg(regs, e, NFTNL_EXPR_PAYLOAD_DREG, st);
}

static void decode_bitwise(enum reg_state *regs, const struct nftnl_expr *e)
{
	uint32_t len = 0;
	const uint8_t *mask = nftnl_expr_get(e, NFTNL_EXPR_BITWISE_MASK, &len);
	enum reg_state st = R_NONE;

	if (get_reg(regs, e, NFTNL_EXPR_BITWISE_SREG) == R_TCPFLAGS &&
	    mask && len == 1 && (*mask & TCP_SYN_MASK) == TCP_SYN_MASK)
		st = R_TCPFLAGS_SYNMASK;
	set_reg(regs, e, NFTNL_EXPR_BITWISE_DREG, st);
}

/* A comparison of the destination port narrows its range. */
static void decode_port_cmp(const struct nftnl_expr *e, struct tn_decoded *d)
{
	uint32_t op = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP);
	uint16_t p = get_port(e, NFTNL_EXPR_CMP_DATA);

	if (!d->port) {
		d->port_lo = 0;
		d->port_hi = 0xffff;
	}
	d->port = true;
	switch (op) {
	case NFT_CMP_EQ: d->port_lo = d->port_hi = p; break;
	case NFT_CMP_NEQ: d->port_lo = d->port_hi = p; d->port_neg = true; break;
	case NFT_CMP_GTE: d->port_lo = p; break;
	case NFT_CMP_GT: d->port_lo = (uint16_t)(p + 1); break;
	case NFT_CMP_LTE: d->port_hi = p; break;
	case NFT_CMP_LT: d->port_hi = (uint16_t)(p - 1); break;
	}
}

static void decode_cmp(const enum reg_state *regs, const struct nftnl_expr *e,
		       struct tn_decoded *d)
{
	enum reg_state st = get_reg(regs, e, NFTNL_EXPR_CMP_SREG);

	if (st == R_DPORT) {
		decode_port_cmp(e, d);
	} else if (st == R_TCPFLAGS_SYNMASK &&
		   nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP) == NFT_CMP_EQ) {
		uint32_t len = 0;
		const uint8_t *v = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);

		if (v && len == 1 && (*v & TCP_SYN_MASK) == TCP_SYN)
			d->syn = true;
	}
}

static void decode_range(const enum reg_state *regs, const struct nftnl_expr *e,
			 struct tn_decoded *d)
{
	if (get_reg(regs, e, NFTNL_EXPR_RANGE_SREG) != R_DPORT)
		return;
	d->port = true;
	d->port_lo = get_port(e, NFTNL_EXPR_RANGE_FROM_DATA);
	d->port_hi = get_port(e, NFTNL_EXPR_RANGE_TO_DATA);
	d->port_neg = nftnl_expr_get_u32(e, NFTNL_EXPR_RANGE_OP) == NFT_RANGE_NEQ;
}

static void decode_match(const struct nftnl_expr *e, struct tn_decoded *d)
{
	const char *mt = nftnl_expr_get_str(e, NFTNL_EXPR_MT_NAME);
	uint32_t len = 0;
	const void *info;

	if (mt && !strcmp(mt, "tcp")) {
		decode_xt_tcp(e, d);
		return;
	}
	if (!mt || strcmp(mt, "tap"))
		return;
	info = nftnl_expr_get(e, NFTNL_EXPR_MT_INFO, &len);
	d->tap = true;
	d->raw_len = info ? len : 0;
	if (info)
		memcpy(d->raw, info, len < sizeof(d->raw) ? len : sizeof(d->raw));
	d->info_ok = info && len == sizeof(d->mt);
	if (d->info_ok)
		memcpy(&d->mt, info, TN_MT_USERSIZE);
}

static void decode_expr(enum reg_state *regs, const struct nftnl_expr *e,
			struct tn_decoded *d)
{
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	if (!strcmp(name, "meta")) {
		set_reg(regs, e, NFTNL_EXPR_META_DREG,
			nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY) == NFT_META_L4PROTO ?
			R_L4PROTO : R_NONE);
	} else if (!strcmp(name, "payload")) {
		decode_payload(regs, e);
	} else if (!strcmp(name, "bitwise")) {
		decode_bitwise(regs, e);
	} else if (!strcmp(name, "cmp")) {
		decode_cmp(regs, e, d);
	} else if (!strcmp(name, "range")) {
		decode_range(regs, e, d);
	} else if (!strcmp(name, "match")) {
		decode_match(e, d);
	} else if (!strcmp(name, "immediate")) {
		if (nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_DREG) == NFT_REG_VERDICT)
			decode_verdict(e, d);
		else
			set_reg(regs, e, NFTNL_EXPR_IMM_DREG, R_NONE);
	} else if (!strcmp(name, "target")) {
		snprintf(d->verdict, sizeof(d->verdict), "xt target %s",
			 expr_str(e, NFTNL_EXPR_TG_NAME));
	} else if (!strcmp(name, "reject") || !strcmp(name, "queue")) {
		snprintf(d->verdict, sizeof(d->verdict), "%s", name);
	} else if (!strcmp(name, "ct")) {
		set_reg(regs, e, NFTNL_EXPR_CT_DREG, R_NONE);
	}
}

void tn_decode(const struct nftnl_rule *r, struct tn_decoded *d)
{
	enum reg_state regs[NREGS] = { R_NONE };
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;

	memset(d, 0, sizeof(*d));
	snprintf(d->verdict, sizeof(d->verdict), "continue");
	it = nftnl_expr_iter_create(r);
	if (!it)
		return;
	while ((e = nftnl_expr_iter_next(it)))
		decode_expr(regs, e, d);
	nftnl_expr_iter_destroy(it);
}

/* ---- canonical form, for "is the protection already in place?" ---- */

static size_t appendf(char *buf, size_t len, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static size_t appendf(char *buf, size_t len, size_t pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (pos >= len)
		return pos;
	va_start(ap, fmt);
	n = vsnprintf(buf + pos, len - pos, fmt, ap);
	va_end(ap);
	return n < 0 ? pos : pos + (size_t)n;
}

static size_t append_hex(char *buf, size_t len, size_t pos, const void *p, uint32_t n)
{
	const uint8_t *b = p;
	uint32_t i;

	for (i = 0; i < n; i++)
		pos = appendf(buf, len, pos, "%02x", b[i]);
	return pos;
}

void tn_rule_canon(const struct nftnl_rule *r, char *buf, size_t len)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;
	size_t pos = 0;
	char tmp[512];

	buf[0] = '\0';
	if (!it)
		return;
	while ((e = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

		pos = appendf(buf, len, pos, "[%s", name);
		if (!strcmp(name, "counter")) {
			/* values differ from run to run */
		} else if (!strcmp(name, "match")) {
			uint32_t n = 0;
			const void *info = nftnl_expr_get(e, NFTNL_EXPR_MT_INFO, &n);

			pos = appendf(buf, len, pos, " %s rev %u len %u ",
				      expr_str(e, NFTNL_EXPR_MT_NAME),
				      nftnl_expr_get_u32(e, NFTNL_EXPR_MT_REV), n);
			if (!strcmp(expr_str(e, NFTNL_EXPR_MT_NAME), "tap") &&
			    n > TN_MT_USERSIZE)
				n = TN_MT_USERSIZE;
			pos = append_hex(buf, len, pos, info, info ? n : 0);
		} else {
			nftnl_expr_snprintf(tmp, sizeof(tmp), e, NFTNL_OUTPUT_DEFAULT, 0);
			pos = appendf(buf, len, pos, " %s", tmp);
		}
		pos = appendf(buf, len, pos, "]");
	}
	nftnl_expr_iter_destroy(it);
	if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) {
		uint32_t n = 0;
		const void *ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &n);

		pos = appendf(buf, len, pos, " udata ");
		pos = append_hex(buf, len, pos, ud, n);
	}
}

/* ---- names ---- */

struct comment_find {
	uint8_t type;
	char *out;
	size_t len;
};

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	struct comment_find *f = data;
	const char *s = nftnl_udata_get(attr);
	uint8_t n = nftnl_udata_len(attr);

	if (nftnl_udata_type(attr) == f->type && n > 0 && s[n - 1] == '\0')
		snprintf(f->out, f->len, "%s", s);
	return 0;
}

/*
 * Whether each attribute of the user data fits in it: libnftnl's walk
 * trusts their lengths, and whoever added the rule chose them.
 */
static bool udata_fits(const uint8_t *p, uint32_t len)
{
	uint32_t pos = 0;

	while (pos < len) {
		if (len - pos < 2 || p[pos + 1] > len - pos - 2)
			return false;
		pos += 2 + (uint32_t)p[pos + 1];
	}
	return true;
}

void tn_udata_comment(const void *data, uint32_t len, uint8_t type,
		      char *out, size_t outlen)
{
	struct comment_find f = { type, out, outlen };

	out[0] = '\0';
	if (data && len && udata_fits(data, len))
		nftnl_udata_parse(data, len, comment_cb, &f);
}

static const struct {
	uint16_t family;
	const char *name;
} families[] = {
	{ NFPROTO_IPV4, "ip" },
	{ NFPROTO_IPV6, "ip6" },
	{ NFPROTO_INET, "inet" },
	{ NFPROTO_ARP, "arp" },
	{ NFPROTO_BRIDGE, "bridge" },
	{ NFPROTO_NETDEV, "netdev" },
};

const char *tn_family_name(uint16_t family)
{
	size_t i;

	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (families[i].family == family)
			return families[i].name;
	return "?";
}

int tn_family_parse(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (!strcmp(families[i].name, s))
			return families[i].family;
	return -1;
}

const char *tn_hook_name(uint32_t hooknum)
{
	static const char *const names[] = {
		[NF_INET_PRE_ROUTING] = "prerouting",
		[NF_INET_LOCAL_IN] = "input",
		[NF_INET_FORWARD] = "forward",
		[NF_INET_LOCAL_OUT] = "output",
		[NF_INET_POST_ROUTING] = "postrouting",
		[NF_INET_INGRESS] = "ingress",
	};

	return hooknum < sizeof(names) / sizeof(names[0]) ? names[hooknum] : "?";
}
