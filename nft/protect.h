/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What tap-nft protect (cmd_protect.c) and unprotect (cmd_unprotect.c)
 * share (protect.c).
 */
#ifndef TAP_NFT_PROTECT_H
#define TAP_NFT_PROTECT_H

#include "tap-nft.h"

#define PROTECT_TABLE	"tap"
#define PROTECT_MARK	"managed by tap-nft: remove with tap-nft unprotect"
#define CHAIN_SYN	"syn"
#define CHAIN_SCAN	"antiscan"
#define PRIO_SYN	(-300)	/* NF_IP_PRI_RAW: before conntrack (-200) */
#define PRIO_SCAN	(-150)	/* NF_IP_PRI_MANGLE: after conntrack, before DNAT */
#define COMMIT_TRIES	3

#define NALLFAM		3
extern const uint16_t all_families[NALLFAM];	/* ip, ip6, inet */

/* Ports (or ranges) one protection covers: protect.conf's port list. */
#define PLAN_PORTS_MAX	16

/*
 * What protect sets up: per family a table, two chains, three rules per
 * port i: 2i (the tap match) and 2i + 1 (any other SYN) in CHAIN_SYN, then
 * 2 * nports + i (anti-scan) in CHAIN_SCAN.
 */
struct plan_fam {
	uint16_t family;
	struct nftnl_table *table;
	struct nftnl_chain *chain[2];
	struct nftnl_rule *rule[3 * PLAN_PORTS_MAX];
};

struct plan {
	const char *table;
	uint32_t hook;
	struct tn_match m;	/* its port: the first of the list */
	int nports;
	uint16_t port_lo[PLAN_PORTS_MAX], port_hi[PLAN_PORTS_MAX];
	int n;
	struct plan_fam fam[2];
};

/* The plan's ports as "22, 443, 8000-8010". */
void fmt_plan_ports(char *buf, size_t len, const struct plan *p);
/* describe_match of the plan's match, with all its ports. */
void describe_plan(char *buf, size_t len, const struct plan *p);

/* Table name in family; with mark, the comment that says tap-nft made it. */
struct nftnl_table *mk_table(uint16_t family, const char *name, bool mark);
void plan_build(struct plan *p);
void plan_free(struct plan *p);
/* 1 if the kernel's table of f is what p would make, 0 if not, or -errno. */
int table_matches(struct tn_sock *s, const struct plan *p, const struct plan_fam *f);
/*
 * Which of all_families hold a table named name made by tap-nft protect;
 * *foreign if one of that name was not (reported). 0 or -errno.
 */
int find_tables(struct tn_sock *s, const char *name, bool present[NALLFAM],
		bool *foreign);

/*
 * Reads the ruleset and builds a batch from what it found: 0 with *b set
 * (commit it), 0 with *b NULL (nothing to do; said so), or an exit status
 * (reported).
 */
typedef int (*protect_build_fn)(struct tn_sock *s, uint32_t genid,
				struct tn_batch **b, void *ctx);

/* cmd_protect.c, also used by tap-nft apply (cmd_apply.c) */
/* 1 if the kernel has exactly the tables of p (ours, the same), 0, or -errno. */
int already_protected(struct tn_sock *s, const struct plan *p,
		      const bool present[NALLFAM]);
/* Queues the removal of our tables that are there and the creation of p's. */
void protect_batch(struct tn_batch *b, const struct plan *p,
		   const bool present[NALLFAM]);

#define COMMITTED	(-1)

/*
 * build, then commit its batch with the generation it read; if the ruleset
 * changed in between, the kernel refuses the batch (ERESTART) and it starts
 * again, COMMIT_TRIES times at most. COMMITTED, or the exit status (0 when
 * build found nothing to do; a failure is reported).
 */
int commit_retrying(struct tn_sock *s, protect_build_fn build, void *ctx,
		    bool has_tap, bool inet);

#endif /* TAP_NFT_PROTECT_H */
