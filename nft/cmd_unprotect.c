// SPDX-License-Identifier: GPL-2.0
/*
 * tap-nft unprotect: remove what protect set up.
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

static void help_unprotect(void)
{
	printf(
"Usage: tap-nft unprotect [--table NAME]\n"
"\n"
"Removes what tap-nft protect set up: the tables named NAME (default \"%s\")\n"
"in the ip, ip6 and inet families that tap-nft protect made, in one atomic\n"
"batch. Tables of that name that tap-nft did not make are left alone.\n"
"  --table NAME       table name (default \"%s\")\n"
"  -h, --help         this help\n",
	       PROTECT_TABLE, PROTECT_TABLE);
}

struct unprotect {
	const char *table;
	char names[96];
};

static int unprotect_build(struct tn_sock *s, uint32_t genid, struct tn_batch **out,
			   void *ctx)
{
	struct unprotect *u = ctx;
	bool present[NALLFAM], foreign;
	struct tn_batch *b;
	char what[300];
	size_t k;
	int ret, n = 0;

	ret = find_tables(s, u->table, present, &foreign);
	if (ret < 0)
		return fail_errno("reading the ruleset", -ret);
	b = tn_batch_new(genid, TN_BATCH_MAX);
	if (!b)
		exit(fail("out of memory"));
	u->names[0] = '\0';
	for (k = 0; k < NALLFAM; k++) {
		struct nftnl_table *t;

		if (!present[k])
			continue;
		t = mk_table(all_families[k], u->table, false);
		snprintf(what, sizeof(what), "removing table %s %s",
			 tn_family_name(all_families[k]), u->table);
		tn_batch_table(b, NFT_MSG_DELTABLE, 0, t, what);
		nftnl_table_free(t);
		snprintf(u->names + strlen(u->names), sizeof(u->names) - strlen(u->names),
			 "%s%s %s", n++ ? ", " : "", tn_family_name(all_families[k]),
			 u->table);
	}
	if (tn_batch_count(b) == 0) {
		tn_batch_free(b);
		printf("no protection by tap-nft found (table %s); nothing changed\n",
		       u->table);
		return 0;
	}
	*out = b;
	return 0;
}

int cmd_unprotect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "table", required_argument, NULL, OPT_TABLE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct unprotect u = { .table = PROTECT_TABLE };
	struct tn_sock *s = NULL;
	int c, ret;

	cmd_name = "tap-nft unprotect";
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h') {
			help_unprotect();
			return 0;
		}
		if (c == OPT_TABLE) {
			u.table = optarg;
			continue;
		}
		return bad_option(c, argv);
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);

	ret = tn_open(&s);
	if (ret < 0)
		return fail_errno("opening a netlink socket", -ret);
	ret = commit_retrying(s, unprotect_build, &u, false, false);
	if (ret == COMMITTED) {
		printf("removed %s\n", u.names);
		ret = 0;
	}
	tn_close(s);
	return ret;
}
