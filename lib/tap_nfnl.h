/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nftables over netlink, for tap-nft and tap-clientd: one NETLINK_NETFILTER
 * socket (libmnl, through tap_nl.h), requests and dumps parsed by libnftnl,
 * and atomic batches whose errors name the message that failed.
 */
#ifndef TAP_NFNL_H
#define TAP_NFNL_H

#include <stdbool.h>
#include <stdint.h>

#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

struct tn_sock;

/* Error details from the kernel for a failed request or batch. */
struct tn_err {
	int err;		/* positive errno, 0 if none */
	int index;		/* failing message of a batch: 0.., -1 = the batch itself */
	char what[160];		/* the failing message's description */
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

/*
 * A batch of at most max_msgs messages (more make the commit fail with
 * E2BIG); genid 0: don't check the ruleset's generation.
 */
struct tn_batch *tn_batch_new(uint32_t genid, int max_msgs);
void tn_batch_free(struct tn_batch *b);
/* Queue one message; flags get NLM_F_ACK added. Takes no ownership. */
void tn_batch_table(struct tn_batch *b, uint16_t type, uint16_t flags,
		    struct nftnl_table *t, const char *what);
void tn_batch_chain(struct tn_batch *b, uint16_t type, uint16_t flags,
		    struct nftnl_chain *c, const char *what);
void tn_batch_rule(struct tn_batch *b, uint16_t type, uint16_t flags,
		   struct nftnl_rule *r, const char *what);
/* Makes the commit fail with E2BIG "building the batch" (out of memory). */
void tn_batch_fail(struct tn_batch *b);
int tn_batch_count(const struct tn_batch *b);
/*
 * Sends the batch and reads every answer. 0 on success, else -errno with
 * *e filled. If echo is not NULL, the first rule the kernel echoes (for
 * NLM_F_ECHO) is parsed into it.
 */
int tn_batch_commit(struct tn_sock *s, struct tn_batch *b, struct tn_err *e,
		    struct nftnl_rule *echo);

#endif /* TAP_NFNL_H */
