// SPDX-License-Identifier: GPL-2.0
/*
 * tap-nft delete: delete a tap rule by its handle.
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

static void help_delete(void)
{
	printf(
"Usage: tap-nft delete FAMILY TABLE CHAIN HANDLE\n"
"\n"
"Deletes the tap rule with that handle (shown by tap-nft list and by\n"
"'nft -a list ruleset'). Refuses rules that carry no tap match.\n"
"  -h, --help         this help\n");
}

int cmd_delete(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fam, *table, *chain;
	struct nftnl_rule_list *list;
	struct nftnl_rule_list_iter *it;
	struct nftnl_rule *r, *found = NULL;
	struct tn_sock *s = NULL;
	struct tn_decoded d;
	struct tn_batch *b;
	struct tn_err e;
	unsigned long long handle;
	char *end, what[300];
	int c, family, ret;

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
	family = tn_family_parse(argv[optind]);
	if (family < 0)
		return usage_error("unknown family '%s'", argv[optind]);
	errno = 0;
	handle = strtoull(argv[optind + 3], &end, 10);
	if (errno || *end || end == argv[optind + 3] || handle == 0 ||
	    argv[optind + 3][0] == '-')
		return usage_error("invalid handle '%s': a rule handle is a positive number",
				   argv[optind + 3]);
	fam = argv[optind];
	table = argv[optind + 1];
	chain = argv[optind + 2];

	ret = tn_open(&s);
	if (ret < 0)
		return fail_errno("opening a netlink socket", -ret);
	ret = check_chain(s, (uint16_t)family, table, chain, NULL);
	if (ret) {
		tn_close(s);
		return ret;
	}
	list = nftnl_rule_list_alloc();
	if (!list)
		exit(fail("out of memory"));
	ret = tn_dump_rules(s, (uint16_t)family, table, chain, list);
	if (ret < 0) {
		ret = fail_errno("reading the ruleset", -ret);
		goto out;
	}
	it = nftnl_rule_list_iter_create(list);
	while (it && (r = nftnl_rule_list_iter_next(it)))
		if (nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE) == handle)
			found = r;
	if (it)
		nftnl_rule_list_iter_destroy(it);
	if (!found) {
		ret = fail("no rule with handle %llu in chain %s of table %s %s "
			   "(tap-nft list shows the handles)", handle, chain, fam, table);
		goto out;
	}
	tn_decode(found, &d);
	if (!d.tap) {
		ret = fail("rule handle %llu in %s %s %s has no tap match; tap-nft deletes "
			   "only tap rules (use: nft delete rule %s %s %s handle %llu)",
			   handle, fam, table, chain, fam, table, chain, handle);
		goto out;
	}
	r = tn_rule_new((uint16_t)family, table, chain);
	nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
	snprintf(what, sizeof(what), "deleting rule handle %llu from %s %s %s", handle,
		 fam, table, chain);
	b = tn_batch_new(0, TN_BATCH_MAX);
	if (!b)
		exit(fail("out of memory"));
	tn_batch_rule(b, NFT_MSG_DELRULE, 0, r, what);
	ret = tn_batch_commit(s, b, &e, NULL);
	if (ret < 0) {
		ret = fail_batch(&e, false, false);
	} else {
		printf("deleted rule handle %llu from %s %s %s\n", handle, fam, table, chain);
		ret = 0;
	}
	tn_batch_free(b);
	nftnl_rule_free(r);
out:
	nftnl_rule_list_free(list);
	tn_close(s);
	return ret;
}
