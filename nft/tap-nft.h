/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tap-nft: nftables rules that carry the xt "tap" match (through the kernel's
 * nft_compat), built with libnftnl and sent with libmnl.
 *
 *   rule.c   the expressions of a tap rule, and decoding rules back
 *   tap-nft.c  the command line: add, list, delete, protect, unprotect
 */
#ifndef TAP_NFT_H
#define TAP_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "tap_nfnl.h"
#include "xt_tap.h"

/* Bytes of struct xt_tap_mtinfo that userspace owns (the match's .usersize). */
#define TN_MT_USERSIZE	offsetof(struct xt_tap_mtinfo, state)

#define TN_BATCH_MAX	64	/* messages in a batch; protect needs about 20 */

/* ---- rule.c ----------------------------------------------------------- */

struct tn_match {
	uint16_t port_lo, port_hi;
	struct xt_tap_mtinfo mt;	/* state stays zero */
};

enum tn_verdict { TN_ACCEPT, TN_DROP };

struct nftnl_rule *tn_rule_new(uint16_t family, const char *table,
			       const char *chain);
void tn_put_tcp_dport(struct nftnl_rule *r, uint16_t lo, uint16_t hi);
void tn_put_syn(struct nftnl_rule *r, bool is_syn);
void tn_put_ct_state(struct nftnl_rule *r, uint32_t any_of);
void tn_put_tap(struct nftnl_rule *r, const struct xt_tap_mtinfo *mt);
void tn_put_counter(struct nftnl_rule *r);
void tn_put_verdict(struct nftnl_rule *r, enum tn_verdict v);
void tn_put_comment(struct nftnl_rule *r, const char *comment);

/* What tap-nft list shows of a rule. */
struct tn_decoded {
	bool tap;		/* has an xt match "tap" */
	bool info_ok;		/* its info has the expected size */
	struct xt_tap_mtinfo mt;
	uint8_t raw[32];	/* the match info as dumped (first 32 bytes) */
	uint32_t raw_len;
	bool port;		/* a tcp dport condition was found */
	bool port_neg;
	uint16_t port_lo, port_hi;
	bool syn;		/* SYN-only condition found */
	char verdict[80];
};

void tn_decode(const struct nftnl_rule *r, struct tn_decoded *d);

/*
 * Canonical text of a rule's statements, for comparing a rule built here
 * with the one the kernel dumps: counters' values, handles and positions
 * are left out, the tap match's kernel-private tail is ignored.
 */
void tn_rule_canon(const struct nftnl_rule *r, char *buf, size_t len);

/* Comment stored in table / chain / rule user data, or "" */
void tn_udata_comment(const void *data, uint32_t len, uint8_t type,
		      char *out, size_t outlen);

const char *tn_family_name(uint16_t family);
int tn_family_parse(const char *s);	/* -1 if unknown */
const char *tn_hook_name(uint32_t hooknum);

#endif /* TAP_NFT_H */
