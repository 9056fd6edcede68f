/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tap-nft: nftables rules that carry the xt "tap" match (through the kernel's
 * nft_compat), built with libnftnl and sent with libmnl.
 *
 *   nl.c     netlink: socket, dumps, atomic batches
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

#include "xt_tap.h"

/* Bytes of struct xt_tap_mtinfo that userspace owns (the match's .usersize). */
#define TN_MT_USERSIZE	offsetof(struct xt_tap_mtinfo, state)

/* ---- nl.c ------------------------------------------------------------- */

struct tn_sock;

/* Error details from the kernel for a failed request or batch. */
struct tn_err {
	int err;		/* positive errno, 0 if none */
	int index;		/* failing message of a batch: 0.., -1 = the batch itself */
	char what[160];		/* description given to tn_batch_msg() */
	char msg[160];		/* the kernel's extended ack message, if any */
};

int tn_open(struct tn_sock **out);
void tn_close(struct tn_sock *s);

int tn_get_genid(struct tn_sock *s, uint32_t *genid);
/* 0, or -ENOENT if there is no such table / chain, or another -errno. */
int tn_get_table(struct tn_sock *s, uint16_t family, const char *name,
		 struct nftnl_table **out);
int tn_get_chain(struct tn_sock *s, uint16_t family, const char *table,
		 const char *name, struct nftnl_chain **out);
/* Dumps; table/chain may be NULL for all. family may be NFPROTO_UNSPEC. */
int tn_dump_chains(struct tn_sock *s, uint16_t family, const char *table,
		   struct nftnl_chain_list *out);
int tn_dump_rules(struct tn_sock *s, uint16_t family, const char *table,
		  const char *chain, struct nftnl_rule_list *out);

struct tn_batch;

struct tn_batch *tn_batch_new(uint32_t genid);	/* genid 0: don't check */
void tn_batch_free(struct tn_batch *b);
/* Queue one message; flags get NLM_F_ACK added. Takes no ownership. */
void tn_batch_table(struct tn_batch *b, uint16_t type, uint16_t flags,
		    struct nftnl_table *t, const char *what);
void tn_batch_chain(struct tn_batch *b, uint16_t type, uint16_t flags,
		    struct nftnl_chain *c, const char *what);
void tn_batch_rule(struct tn_batch *b, uint16_t type, uint16_t flags,
		   struct nftnl_rule *r, const char *what);
int tn_batch_count(const struct tn_batch *b);
/*
 * Sends the batch and reads every answer. 0 on success, else -errno with
 * *e filled. If echo is not NULL, the first rule the kernel echoes (for
 * NLM_F_ECHO) is parsed into it.
 */
int tn_batch_commit(struct tn_sock *s, struct tn_batch *b, struct tn_err *e,
		    struct nftnl_rule *echo);

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
