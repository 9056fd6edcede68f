// SPDX-License-Identifier: GPL-2.0
/*
 * What tap-nft protect and unprotect share: the tables protect makes, finding
 * and comparing them, and the commit that retries when the ruleset changes.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_conntrack_common.h>

#include <libnftnl/udata.h>

#include "tap-nft.h"
#include "protect.h"

const uint16_t all_families[NALLFAM] = { NFPROTO_IPV4, NFPROTO_IPV6, NFPROTO_INET };

struct nftnl_table *mk_table(uint16_t family, const char *name, bool mark)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_udata_buf *ud;

	if (!t)
		exit(fail("out of memory"));
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	if (mark) {
		nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, 0);
		ud = nftnl_udata_buf_alloc(NFTNL_UDATA_COMMENT_MAXLEN + 8);
		if (!ud || !nftnl_udata_put_strz(ud, NFTNL_UDATA_TABLE_COMMENT, PROTECT_MARK))
			exit(fail("out of memory"));
		nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(ud),
				     nftnl_udata_buf_len(ud));
		nftnl_udata_buf_free(ud);
	}
	return t;
}

static struct nftnl_chain *mk_chain(uint16_t family, const char *table, const char *name,
				    uint32_t hook, int32_t prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		exit(fail("out of memory"));
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, family);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	return c;
}

void fmt_plan_ports(char *buf, size_t len, const struct plan *p)
{
	size_t used = 0;
	int k;

	buf[0] = '\0';
	for (k = 0; k < p->nports && used < len; k++) {
		char one[16];

		fmt_range(one, sizeof(one), p->port_lo[k], p->port_hi[k]);
		used += (size_t)snprintf(buf + used, len - used, "%s%s", k ? ", " : "", one);
	}
}

void describe_plan(char *buf, size_t len, const struct plan *p)
{
	char ports[PLAN_PORTS_MAX * 14];

	fmt_plan_ports(ports, sizeof(ports), p);
	describe_match_ports(buf, len, &p->m, ports);
}

/* The three rules of port k in family f. */
static void plan_port(struct plan *p, struct plan_fam *f, int k)
{
	struct tn_match m = p->m;
	struct nftnl_rule *r;

	m.port_lo = p->port_lo[k];
	m.port_hi = p->port_hi[k];

	/* 1. a SYN with a valid token: accept (before conntrack) */
	r = tap_rule(f->family, p->table, CHAIN_SYN, &m, TN_ACCEPT,
		     chain_sees_fragments(f->chain[0]));
	tn_put_comment(r, "TAP: SYN with a valid token");
	f->rule[2 * k] = r;

	/*
	 * 2. every other SYN to the protected ports: drop. The match's
	 * --drop-invalid has done so already; this backstop is never
	 * reached by a SYN and costs a flood nothing.
	 */
	r = tn_rule_new(f->family, p->table, CHAIN_SYN);
	tn_put_tcp_dport(r, m.port_lo, m.port_hi);
	tn_put_syn(r, true);
	tn_put_counter(r);
	tn_put_verdict(r, TN_DROP);
	tn_put_comment(r, "TAP: any other SYN");
	f->rule[2 * k + 1] = r;

	/*
	 * 3. anti-scan, after conntrack: whatever is not a SYN and does
	 * not belong to a connection conntrack knows (established or
	 * related). ACK and Window scan probes are "new" (conntrack picks
	 * connections up mid-stream), FIN, Null, Xmas and Maimon probes
	 * are "invalid". Dropped, they get no RST, as a filtered port.
	 */
	r = tn_rule_new(f->family, p->table, CHAIN_SCAN);
	tn_put_tcp_dport(r, m.port_lo, m.port_hi);
	tn_put_syn(r, false);
	tn_put_ct_state(r, NF_CT_STATE_INVALID_BIT | NF_CT_STATE_BIT(IP_CT_NEW));
	tn_put_counter(r);
	tn_put_verdict(r, TN_DROP);
	tn_put_comment(r, "TAP anti-scan: not a SYN and not part of a connection");
	f->rule[2 * p->nports + k] = r;
}

void plan_build(struct plan *p)
{
	int i, k;

	if (!p->nports) {	/* tap-nft protect: the match's one port */
		p->nports = 1;
		p->port_lo[0] = p->m.port_lo;
		p->port_hi[0] = p->m.port_hi;
	}
	for (i = 0; i < p->n; i++) {
		struct plan_fam *f = &p->fam[i];

		f->table = mk_table(f->family, p->table, true);
		f->chain[0] = mk_chain(f->family, p->table, CHAIN_SYN, p->hook, PRIO_SYN);
		f->chain[1] = mk_chain(f->family, p->table, CHAIN_SCAN, p->hook, PRIO_SCAN);
		for (k = 0; k < p->nports; k++)
			plan_port(p, f, k);
	}
}

void plan_free(struct plan *p)
{
	int i, j;

	for (i = 0; i < p->n; i++) {
		nftnl_table_free(p->fam[i].table);
		for (j = 0; j < 2; j++)
			nftnl_chain_free(p->fam[i].chain[j]);
		for (j = 0; j < 3 * p->nports; j++)
			nftnl_rule_free(p->fam[i].rule[j]);
	}
}

static bool same_udata_comment(const struct nftnl_table *t, const char *want)
{
	char comment[NFTNL_UDATA_COMMENT_MAXLEN + 1];
	const void *ud;
	uint32_t len = 0;

	if (!nftnl_table_is_set(t, NFTNL_TABLE_USERDATA))
		return false;
	ud = nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &len);
	tn_udata_comment(ud, len, NFTNL_UDATA_TABLE_COMMENT, comment, sizeof(comment));
	return !strcmp(comment, want);
}

static bool same_chain(const struct nftnl_chain *a, const struct nftnl_chain *b)
{
	return nftnl_chain_is_set(a, NFTNL_CHAIN_HOOKNUM) &&
	       nftnl_chain_is_set(a, NFTNL_CHAIN_TYPE) &&
	       nftnl_chain_get_u32(a, NFTNL_CHAIN_HOOKNUM) ==
	       nftnl_chain_get_u32(b, NFTNL_CHAIN_HOOKNUM) &&
	       nftnl_chain_get_s32(a, NFTNL_CHAIN_PRIO) ==
	       nftnl_chain_get_s32(b, NFTNL_CHAIN_PRIO) &&
	       nftnl_chain_get_u32(a, NFTNL_CHAIN_POLICY) ==
	       nftnl_chain_get_u32(b, NFTNL_CHAIN_POLICY) &&
	       !strcmp(nftnl_chain_get_str(a, NFTNL_CHAIN_TYPE),
		       nftnl_chain_get_str(b, NFTNL_CHAIN_TYPE)) &&
	       !nftnl_chain_is_set(a, NFTNL_CHAIN_USERDATA);
}

/*
 * Is the table in the kernel exactly the planned one (same chains, same rules
 * in the same order, counters aside)? 1 yes, 0 no, <0 -errno.
 */
int table_matches(struct tn_sock *s, const struct plan *p, const struct plan_fam *f)
{
	struct nftnl_chain_list *chains = nftnl_chain_list_alloc();
	struct nftnl_rule_list *rules = nftnl_rule_list_alloc();
	struct nftnl_chain_list_iter *cit = NULL;
	struct nftnl_rule_list_iter *rit = NULL;
	struct nftnl_chain *c;
	struct nftnl_rule *r;
	char have[2048], want[2048];
	int ret, nchains = 0;
	int next[2] = { 0, 2 * p->nports }, end[2] = { 2 * p->nports, 3 * p->nports };

	if (!chains || !rules)
		exit(fail("out of memory"));
	ret = tn_dump_chains(s, f->family, p->table, chains);
	if (ret == 0)
		ret = tn_dump_rules(s, f->family, p->table, NULL, rules);
	if (ret < 0)
		goto out;
	ret = 0;
	cit = nftnl_chain_list_iter_create(chains);
	while (cit && (c = nftnl_chain_list_iter_next(cit))) {
		const char *name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
		int i = !strcmp(name, CHAIN_SYN) ? 0 : !strcmp(name, CHAIN_SCAN) ? 1 : -1;

		if (i < 0 || !same_chain(c, f->chain[i]))
			goto out;
		nchains++;
	}
	if (nchains != 2)
		goto out;
	rit = nftnl_rule_list_iter_create(rules);
	while (rit && (r = nftnl_rule_list_iter_next(rit))) {
		int i = !strcmp(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), CHAIN_SYN) ? 0 : 1;

		if (next[i] >= end[i])
			goto out;
		tn_rule_canon(r, have, sizeof(have));
		tn_rule_canon(f->rule[next[i]], want, sizeof(want));
		if (strcmp(have, want))
			goto out;
		next[i]++;
	}
	ret = next[0] == end[0] && next[1] == end[1];
out:
	if (cit)
		nftnl_chain_list_iter_destroy(cit);
	if (rit)
		nftnl_rule_list_iter_destroy(rit);
	nftnl_chain_list_free(chains);
	nftnl_rule_list_free(rules);
	return ret;
}

/* Which of the families hold a table named p->table, and is each ours? */
int find_tables(struct tn_sock *s, const char *name, bool present[NALLFAM],
		       bool *foreign)
{
	size_t i;
	int ret;

	*foreign = false;
	for (i = 0; i < NALLFAM; i++) {
		struct nftnl_table *t = NULL;

		present[i] = false;
		ret = tn_get_table(s, all_families[i], name, &t);
		if (ret == -ENOENT)
			continue;
		if (ret < 0)
			return ret;
		if (same_udata_comment(t, PROTECT_MARK)) {
			present[i] = true;
		} else {
			fprintf(stderr, "tap-nft: table %s %s exists and was not made by "
				"tap-nft protect; leaving it alone%s\n",
				tn_family_name(all_families[i]), name,
				" (choose another name with --table)");
			*foreign = true;
		}
		nftnl_table_free(t);
	}
	return 0;
}

int commit_retrying(struct tn_sock *s, protect_build_fn build, void *ctx,
		    bool has_tap, bool inet)
{
	struct tn_err e = { 0 };
	int ret, try;

	for (try = 0; try < COMMIT_TRIES; try++) {
		struct tn_batch *b = NULL;
		uint32_t genid;

		ret = tn_get_genid(s, &genid);
		if (ret < 0)
			return fail_errno("reading the ruleset", -ret);
		ret = build(s, genid, &b, ctx);
		if (ret || !b)
			return ret;
		ret = tn_batch_commit(s, b, &e, NULL);
		tn_batch_free(b);
		if (ret == -ERESTART)
			continue;	/* someone changed the ruleset meanwhile */
		if (ret < 0)
			return fail_batch(&e, has_tap, inet);
		return COMMITTED;
	}
	return fail_batch(&e, has_tap, false);
}
