// SPDX-License-Identifier: GPL-2.0
/*
 * tap-nft delete: delete a tap rule by its handle.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
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
#include "tap_num.h"

static void help_delete(void)
{
	printf(
"Usage: tap-nft delete FAMILY TABLE CHAIN HANDLE\n"
"\n"
"Deletes the tap rule with that handle (shown by tap-nft list and by\n"
"'nft -a list ruleset'). Refuses rules that carry no tap match.\n"
"  -h, --help         this help\n");
}

struct rule_at {
	int family;
	const char *fam, *table, *chain;
	unsigned long handle;
};

/* 0 if the rule at is there and has a tap match; else the exit status. */
static int check_tap_rule(struct tn_sock *s, const struct rule_at *at)
{
	struct nftnl_rule_list *list;
	struct nftnl_rule_list_iter *it;
	struct nftnl_rule *r, *found = NULL;
	struct tn_decoded d;
	int ret;

	list = nftnl_rule_list_alloc();
	if (!list)
		exit(fail("out of memory"));
	ret = tn_dump_rules(s, (uint16_t)at->family, at->table, at->chain, list);
	if (ret < 0) {
		ret = fail_errno("reading the ruleset", -ret);
		goto out;
	}
	it = nftnl_rule_list_iter_create(list);
	while (it && (r = nftnl_rule_list_iter_next(it)))
		if (nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE) == at->handle)
			found = r;
	if (it)
		nftnl_rule_list_iter_destroy(it);
	if (!found) {
		ret = fail("no rule with handle %lu in chain %s of table %s %s "
			   "(tap-nft list shows the handles)", at->handle, at->chain,
			   at->fam, at->table);
		goto out;
	}
	tn_decode(found, &d);
	if (!d.tap)
		ret = fail("rule handle %lu in %s %s %s has no tap match; tap-nft deletes "
			   "only tap rules (use: nft delete rule %s %s %s handle %lu)",
			   at->handle, at->fam, at->table, at->chain, at->fam, at->table,
			   at->chain, at->handle);
out:
	nftnl_rule_list_free(list);
	return ret;
}

static int delete_rule(struct tn_sock *s, const struct rule_at *at)
{
	struct nftnl_rule *r = tn_rule_new((uint16_t)at->family, at->table, at->chain);
	struct tn_batch *b;
	struct tn_err e;
	char what[300];
	int ret;

	nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, at->handle);
	snprintf(what, sizeof(what), "deleting rule handle %lu from %s %s %s", at->handle,
		 at->fam, at->table, at->chain);
	b = tn_batch_new(0, TN_BATCH_MAX);
	if (!b)
		exit(fail("out of memory"));
	tn_batch_rule(b, NFT_MSG_DELRULE, 0, r, what);
	ret = tn_batch_commit(s, b, &e, NULL);
	if (ret < 0) {
		ret = fail_batch(&e, false, false);
	} else {
		printf("deleted rule handle %lu from %s %s %s\n", at->handle, at->fam,
		       at->table, at->chain);
		ret = 0;
	}
	tn_batch_free(b);
	nftnl_rule_free(r);
	return ret;
}

int cmd_delete(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rule_at at;
	struct tn_sock *s = NULL;
	const char *h;
	int c, ret;

	cmd_name = "tap-nft delete";
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h') {
			help_delete();
			return 0;
		}
		return bad_option(c, argv);
	}
	if (argc - optind != 4)
		return usage_error("expected FAMILY TABLE CHAIN HANDLE");
	at.family = tn_family_parse(argv[optind]);
	if (at.family < 0)
		return usage_error("unknown family '%s'", argv[optind]);
	h = argv[optind + 3];
	if (!tap_parse_udec(h, strlen(h), ULONG_MAX, &at.handle) || at.handle == 0)
		return usage_error("invalid handle '%s': a rule handle is a positive number", h);
	at.fam = argv[optind];
	at.table = argv[optind + 1];
	at.chain = argv[optind + 2];

	ret = tn_open(&s);
	if (ret < 0)
		return fail_errno("opening a netlink socket", -ret);
	ret = check_chain(s, (uint16_t)at.family, at.table, at.chain, NULL);
	if (ret == 0)
		ret = check_tap_rule(s, &at);
	if (ret == 0)
		ret = delete_rule(s, &at);
	tn_close(s);
	return ret;
}
