// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>

#include <linux/netfilter/nf_tables.h>

#include <libnftnl/expr.h>
#include <libnftnl/udata.h>

#include "tap_nfexpr.h"

struct nftnl_rule *tn_rule_alloc(uint16_t family, const char *table,
				 const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return NULL;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	return r;
}

static struct nftnl_expr *add(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (e)
		nftnl_rule_add_expr(r, e);
	return e;
}

bool tn_expr_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = add(r, "meta");

	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	return true;
}

bool tn_expr_payload(struct nftnl_rule *r, uint32_t base, uint32_t off,
		     uint32_t len)
{
	struct nftnl_expr *e = add(r, "payload");

	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	return true;
}

bool tn_expr_cmp(struct nftnl_rule *r, uint32_t op, const void *data,
		 uint32_t len)
{
	struct nftnl_expr *e = add(r, "cmp");

	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	return true;
}

bool tn_expr_bitwise(struct nftnl_rule *r, const void *mask, const void *xor,
		     uint32_t len)
{
	struct nftnl_expr *e = add(r, "bitwise");

	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, len);
	return true;
}

bool tn_expr_counter(struct nftnl_rule *r)
{
	struct nftnl_expr *e = add(r, "counter");

	if (!e)
		return false;
	nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, 0);
	nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, 0);
	return true;
}

bool tn_expr_l4proto_tcp(struct nftnl_rule *r)
{
	uint8_t tcp = IPPROTO_TCP;

	return tn_expr_meta(r, NFT_META_L4PROTO) &&
	       tn_expr_cmp(r, NFT_CMP_EQ, &tcp, sizeof(tcp));
}

bool tn_expr_tcp_syn(struct nftnl_rule *r, uint32_t op)
{
	uint8_t mask = TN_TCP_SYN_MASK, zero = 0, syn = TN_TCP_SYN;

	return tn_expr_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1) &&
	       tn_expr_bitwise(r, &mask, &zero, 1) &&
	       tn_expr_cmp(r, op, &syn, 1);
}

int tn_rule_comment(struct nftnl_rule *r, const char *comment)
{
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFTNL_UDATA_COMMENT_MAXLEN + 8);

	if (!ud)
		return -ENOMEM;
	if (!nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, comment)) {
		nftnl_udata_buf_free(ud);
		return -E2BIG;
	}
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
			    nftnl_udata_buf_len(ud));
	nftnl_udata_buf_free(ud);
	return 0;
}
