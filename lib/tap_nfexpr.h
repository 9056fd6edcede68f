/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nftables rule expressions (libnftnl) shared by tap-nft and tap-clientd.
 * Each appends to the rule and returns false only when out of memory;
 * every comparison reads register 1, where the loads put their value.
 */
#ifndef TAP_NFEXPR_H
#define TAP_NFEXPR_H

#include <stdbool.h>
#include <stdint.h>

#include <libnftnl/rule.h>

#define TN_TCP_FIN	0x01
#define TN_TCP_SYN	0x02
#define TN_TCP_RST	0x04
#define TN_TCP_ACK	0x10
#define TN_TCP_SYN_MASK	(TN_TCP_FIN | TN_TCP_SYN | TN_TCP_RST | TN_TCP_ACK)

/* A rule for table and chain of family, no expressions yet; NULL: no memory. */
struct nftnl_rule *tn_rule_alloc(uint16_t family, const char *table,
				 const char *chain);

bool tn_expr_meta(struct nftnl_rule *r, uint32_t key);
bool tn_expr_payload(struct nftnl_rule *r, uint32_t base, uint32_t off,
		     uint32_t len);
bool tn_expr_cmp(struct nftnl_rule *r, uint32_t op, const void *data,
		 uint32_t len);
/* reg1 = (reg1 & mask) ^ xor */
bool tn_expr_bitwise(struct nftnl_rule *r, const void *mask, const void *xor,
		     uint32_t len);
bool tn_expr_counter(struct nftnl_rule *r);

/* meta l4proto tcp */
bool tn_expr_l4proto_tcp(struct nftnl_rule *r);
/*
 * tcp flags & (fin|syn|rst|ack) OP syn: iptables' --syn with NFT_CMP_EQ.
 * ECN (ECE, CWR), PSH and URG do not matter, as for --syn.
 */
bool tn_expr_tcp_syn(struct nftnl_rule *r, uint32_t op);

/*
 * The rule comment nft shows (user data NFTNL_UDATA_RULE_COMMENT). 0,
 * -ENOMEM, or -E2BIG if longer than nftables allows.
 */
int tn_rule_comment(struct nftnl_rule *r, const char *comment);

#endif /* TAP_NFEXPR_H */
