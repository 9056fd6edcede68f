// SPDX-License-Identifier: GPL-2.0
/*
 * tap-clientd: the interception rules, in the daemon's own table
 *
 *	table inet tap_clientd {
 *		chain output {
 *			type filter hook output priority 100; policy accept;
 *			meta nfproto ipv4 meta l4proto tcp tcp flags & (fin|syn|rst|ack) == syn
 *				meta mark != 0x54415031 ip daddr 192.0.2.10 tcp dport 22
 *				counter queue num 5441 bypass comment "tap-clientd line 3"
 *			...
 *		}
 *	}
 *
 * built with libnftnl and sent with libmnl as one atomic batch that first
 * deletes whatever table of that name exists (a crashed run's, or the
 * previous config's): "add table; delete table; add table; add chain; add
 * rule...". No packet ever sees a half-built table.
 *
 * The table is created with NFT_TABLE_F_OWNER where the kernel has it (5.12
 * on): it then belongs to this socket and the kernel deletes it when the
 * daemon dies, even by SIGKILL. The queue verdict has "bypass": if no
 * process listens on the queue, the SYN goes out unchanged.
 *
 * Kernels built without the nftables queue expression (CONFIG_NFT_QUEUE)
 * but with nft_compat get the same rules with the xtables NFQUEUE target
 * (revision 3, with bypass) instead, in one table per family.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_NFQUEUE.h>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "clientd.h"
#include "tap_nfexpr.h"
#include "tap_nfnl.h"

#define ALIGN8(x)	(((x) + 7) & ~(size_t)7)
#define WHAT_CREATE	"creating the table"
#define WHAT_PREPARE	"preparing to replace the table"

enum backend {
	BACKEND_NFT_QUEUE,	/* inet table, nft "queue" expression */
	BACKEND_XT_NFQUEUE,	/* ip + ip6 tables, xt NFQUEUE via nft_compat */
};

struct cd_rules {
	struct tn_sock *nft;
	bool owner;		/* try NFT_TABLE_F_OWNER */
	enum backend backend;
	bool installed;
};

int cd_rules_open(struct cd_rules **out, char *err, size_t errlen)
{
	struct cd_rules *r = calloc(1, sizeof(*r));
	int ret;

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ret = tn_open(&r->nft);
	if (ret < 0) {
		snprintf(err, errlen, "cannot open a netfilter netlink socket: %s%s",
			 strerror(-ret), ret == -EPROTONOSUPPORT ?
			 " (kernel without nfnetlink, CONFIG_NETFILTER_NETLINK)" : "");
		free(r);
		return -1;
	}
	r->owner = true;
	r->backend = BACKEND_NFT_QUEUE;
	*out = r;
	return 0;
}

void cd_rules_close(struct cd_rules *r)
{
	if (!r)
		return;
	tn_close(r->nft);
	free(r);
}

/* ---- objects ------------------------------------------------------------- */

static int add_table(struct tn_batch *b, uint16_t family, uint16_t type, uint32_t flags,
		     const char *what)
{
	struct nftnl_table *t = nftnl_table_alloc();

	if (!t)
		return -1;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, CD_TABLE);
	if (type == NFT_MSG_NEWTABLE)
		nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, flags);
	tn_batch_table(b, type, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0, t, what);
	nftnl_table_free(t);
	return 0;
}

static int add_chain(struct tn_batch *b, uint16_t family, int32_t prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return -1;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, family);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, CD_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, CD_CHAIN);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_LOCAL_OUT);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	tn_batch_chain(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, c, "creating the output chain");
	nftnl_chain_free(c);
	return 0;
}

static bool put_verdict(struct nftnl_rule *rule, const struct cd_rules *r, uint16_t queue)
{
	struct nftnl_expr *e;

	if (r->backend == BACKEND_NFT_QUEUE) {
		e = nftnl_expr_alloc("queue");
		if (!e)
			return false;
		nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_NUM, queue);
		nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_TOTAL, 1);
		nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_FLAGS, NFT_QUEUE_FLAG_BYPASS);
	} else {
		/*
		 * The kernel wants XT_ALIGN(sizeof(info)) bytes; libnftnl takes
		 * ownership of the buffer (and frees it).
		 */
		size_t len = ALIGN8(sizeof(struct xt_NFQ_info_v3));
		struct xt_NFQ_info_v3 *info = calloc(1, len);

		e = info ? nftnl_expr_alloc("target") : NULL;
		if (!e) {
			free(info);
			return false;
		}
		info->queuenum = queue;
		info->queues_total = 1;
		info->flags = NFQ_FLAG_BYPASS;
		nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
		nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, 3);
		nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, (uint32_t)len);
	}
	nftnl_rule_add_expr(rule, e);
	return true;
}

/* ip[6] daddr NET/PREFIX: the address, masked unless it is a host. */
static bool put_daddr(struct nftnl_rule *r, const struct cd_server *s)
{
	uint32_t alen = s->family == 4 ? 4 : 16, aoff = s->family == 4 ? 16 : 24;
	static const uint8_t zero[16];
	uint8_t mask[16] = { 0 };
	unsigned int i;

	if (s->prefix == 0)
		return true;
	if (!tn_expr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, aoff, alen))
		return false;
	if (s->prefix < alen * 8) {
		for (i = 0; i < alen; i++) {
			int bits = s->prefix - 8 * (int)i;

			mask[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 :
				  (uint8_t)(0xff << (8 - bits));
		}
		if (!tn_expr_bitwise(r, mask, zero, alen))
			return false;
	}
	return tn_expr_cmp(r, NFT_CMP_EQ, s->net.b, alen);
}

/* tcp dport LO, or LO-HI (network byte order compares correctly: memcmp) */
static bool put_dport(struct nftnl_rule *r, const struct cd_portrange *pr)
{
	uint16_t lo = htons(pr->lo), hi = htons(pr->hi);

	if (!tn_expr_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2))
		return false;
	if (pr->lo == pr->hi)
		return tn_expr_cmp(r, NFT_CMP_EQ, &lo, 2);
	return tn_expr_cmp(r, NFT_CMP_GTE, &lo, 2) && tn_expr_cmp(r, NFT_CMP_LTE, &hi, 2);
}

/* The expressions of the rule for one server entry and one port range. */
static bool put_rule(struct nftnl_rule *r, const struct cd_rules *rl, uint16_t family,
		     const struct cd_config *cfg, const struct cd_server *s,
		     const struct cd_portrange *pr)
{
	uint8_t nfproto = s->family == 4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
	char comment[64];

	if (family == NFPROTO_INET &&
	    (!tn_expr_meta(r, NFT_META_NFPROTO) || !tn_expr_cmp(r, NFT_CMP_EQ, &nfproto, 1)))
		return false;
	if (!tn_expr_l4proto_tcp(r) || !tn_expr_tcp_syn(r, NFT_CMP_EQ))
		return false;
	/* our own auth SYNs carry the mark: never queue them */
	if (!tn_expr_meta(r, NFT_META_MARK) || !tn_expr_cmp(r, NFT_CMP_NEQ, &cfg->mark, 4))
		return false;
	if (!put_daddr(r, s) || !put_dport(r, pr) || !tn_expr_counter(r) ||
	    !put_verdict(r, rl, cfg->queue))
		return false;
	snprintf(comment, sizeof(comment), "tap-clientd line %d", s->line);
	return tn_rule_comment(r, comment) == 0;
}

static int add_rule(struct tn_batch *b, const struct cd_rules *rl, uint16_t family,
		    const struct cd_config *cfg, const struct cd_server *s,
		    const struct cd_portrange *pr)
{
	struct nftnl_rule *r = tn_rule_alloc(family, CD_TABLE, CD_CHAIN);
	char what[160];

	if (!r || !put_rule(r, rl, family, cfg, s, pr)) {
		if (r)
			nftnl_rule_free(r);
		return -1;
	}
	if (pr->lo == pr->hi)
		snprintf(what, sizeof(what), "adding the rule for line %d (%s port %u)",
			 s->line, s->name, pr->lo);
	else
		snprintf(what, sizeof(what), "adding the rule for line %d (%s ports %u-%u)",
			 s->line, s->name, pr->lo, pr->hi);
	tn_batch_rule(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, r, what);
	nftnl_rule_free(r);
	return 0;
}

static size_t count_rules(const struct cd_config *cfg)
{
	size_t n = 0;
	int i;

	for (i = 0; i < cfg->nservers; i++)
		n += (size_t)cfg->servers[i].nports;
	return n;
}

static bool backend_has(const struct cd_rules *r, uint16_t family)
{
	return r->backend == BACKEND_NFT_QUEUE ? family == NFPROTO_INET :
	       family != NFPROTO_INET;
}

/*
 * "add table; delete table" for each family either backend may have used:
 * deletes the table if it exists, and is no error if it does not. The add
 * must not change the owner flag of an existing table (the kernel refuses
 * that), so it repeats ours.
 */
static int add_deletes(struct tn_batch *bt, const struct cd_rules *r)
{
	static const uint16_t fams[] = { NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6 };
	uint32_t flags;
	size_t i;

	for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		flags = r->installed && r->owner && backend_has(r, fams[i]) ?
			NFT_TABLE_F_OWNER : 0;
		if (add_table(bt, fams[i], NFT_MSG_NEWTABLE, flags, WHAT_PREPARE) < 0 ||
		    add_table(bt, fams[i], NFT_MSG_DELTABLE, 0, "deleting the old table") < 0)
			return -1;
	}
	return 0;
}

static struct tn_batch *build_install(struct cd_rules *r, const struct cd_config *cfg)
{
	static const uint16_t inet[] = { NFPROTO_INET };
	static const uint16_t split[] = { NFPROTO_IPV4, NFPROTO_IPV6 };
	const uint16_t *fams = r->backend == BACKEND_NFT_QUEUE ? inet : split;
	size_t nfams = r->backend == BACKEND_NFT_QUEUE ? 1 : 2, f;
	struct tn_batch *bt = tn_batch_new(0, (int)count_rules(cfg) + 16);
	int i, j;

	if (!bt || add_deletes(bt, r) < 0)
		goto fail;
	for (f = 0; f < nfams; f++) {
		if (add_table(bt, fams[f], NFT_MSG_NEWTABLE, r->owner ? NFT_TABLE_F_OWNER : 0,
			      WHAT_CREATE) < 0 ||
		    add_chain(bt, fams[f], cfg->priority) < 0)
			goto fail;
		for (i = 0; i < cfg->nservers; i++) {
			const struct cd_server *s = &cfg->servers[i];

			if (fams[f] == NFPROTO_IPV4 && s->family != 4)
				continue;
			if (fams[f] == NFPROTO_IPV6 && s->family != 6)
				continue;
			for (j = 0; j < s->nports; j++)
				if (add_rule(bt, r, fams[f], cfg, s, &s->ports[j]) < 0)
					goto fail;
		}
	}
	return bt;
fail:
	tn_batch_free(bt);
	return NULL;
}

static bool is_rule_msg(const struct tn_err *e)
{
	return !strncmp(e->what, "adding the rule", 15);
}

static void explain(const struct tn_err *e, const char *action, char *err, size_t errlen)
{
	const char *hint = "";

	if (e->index < 0 && (e->err == EOPNOTSUPP || e->err == ENOENT || e->err == EINVAL))
		hint = ": the kernel has no nf_tables (CONFIG_NF_TABLES; try "
		       "\"modprobe nf_tables\")";
	else if (e->err == EPERM && (!strcmp(e->what, WHAT_CREATE) ||
				     !strcmp(e->what, WHAT_PREPARE)))
		hint = ": table \"" CD_TABLE "\" belongs to another process (is another "
		       "tap-clientd running in this network namespace?)";
	else if (e->err == EPERM)
		hint = ": tap-clientd needs CAP_NET_ADMIN";
	else if (is_rule_msg(e) && (e->err == ENOENT || e->err == EOPNOTSUPP))
		hint = ": the kernel lacks the nftables queue expression (nft_queue, "
		       "CONFIG_NFT_QUEUE) and the xtables NFQUEUE target through nft_compat "
		       "(xt_NFQUEUE, nft_compat)";
	snprintf(err, errlen, "%s: %s failed: %s%s%s%s%s", action,
		 e->what[0] ? e->what : "nftables", strerror(e->err),
		 e->msg[0] ? " (kernel: " : "", e->msg, e->msg[0] ? ")" : "", hint);
}

int cd_rules_install(struct cd_rules *r, const struct cd_config *cfg, char *err, size_t errlen)
{
	struct tn_batch *bt;
	struct tn_err e;
	int ret;

	for (;;) {
		bt = build_install(r, cfg);
		if (!bt) {
			snprintf(err, errlen, "installing the rules: out of memory");
			return -1;
		}
		ret = tn_batch_commit(r->nft, bt, &e, NULL);
		tn_batch_free(bt);
		if (ret == 0)
			break;
		if (r->owner && !r->installed && e.err == EOPNOTSUPP &&
		    !strcmp(e.what, WHAT_CREATE)) {
			/* before 5.12: no owner flag; stale tables are still replaced */
			cd_info("the kernel has no owned tables; a crash would leave the "
				"table (harmless: bypass), replaced at the next start");
			r->owner = false;
			continue;
		}
		if (r->backend == BACKEND_NFT_QUEUE && !r->installed && is_rule_msg(&e) &&
		    (e.err == ENOENT || e.err == EOPNOTSUPP)) {
			cd_notice("the kernel has no nftables queue expression (nft_queue); "
				  "using the xtables NFQUEUE target through nft_compat");
			r->backend = BACKEND_XT_NFQUEUE;
			continue;
		}
		explain(&e, "installing the interception rules", err, errlen);
		return -1;
	}
	r->installed = true;
	cd_info("interception rules installed: table %s " CD_TABLE ", %zu rule%s, queue %u",
		r->backend == BACKEND_NFT_QUEUE ? "inet" : "ip+ip6", count_rules(cfg),
		count_rules(cfg) == 1 ? "" : "s", cfg->queue);
	return 0;
}

int cd_rules_remove(struct cd_rules *r, char *err, size_t errlen)
{
	struct tn_batch *bt = tn_batch_new(0, 8);
	struct tn_err e;
	int ret;

	if (!bt || add_deletes(bt, r) < 0) {
		tn_batch_free(bt);
		snprintf(err, errlen, "removing the rules: out of memory");
		return -1;
	}
	ret = tn_batch_commit(r->nft, bt, &e, NULL);
	tn_batch_free(bt);
	if (ret < 0) {
		explain(&e, "removing the interception rules", err, errlen);
		return -1;
	}
	r->installed = false;
	return 0;
}
