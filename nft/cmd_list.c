// SPDX-License-Identifier: GPL-2.0
/*
 * tap-nft list: every tap rule, decoded.
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

static void help_list(void)
{
	printf(
"Usage: tap-nft list [-v] [FAMILY [TABLE [CHAIN]]]\n"
"\n"
"Shows every rule in the nftables ruleset that carries the tap match, whoever\n"
"added it (tap-nft, iptables-nft -m tap, tap-nft protect), decoded: family,\n"
"table, chain, handle, destination port(s), key id(s), window (seconds),\n"
"destination binding and verdict. Arguments narrow the listing.\n"
"  -v, --verbose      add the match data as the kernel returns it, in hex\n"
"                     (the kernel-private tail reads as zeros)\n"
"  -h, --help         this help\n");
}

struct row {
	char f[4][64];		/* family, table, chain, handle */
	char g[6][80];		/* dport, key-id, window, dst-bind, verdict, info */
};

static const char *const head[10] = {
	"FAMILY", "TABLE", "CHAIN", "HANDLE", "DPORT", "KEY-ID", "WINDOW",
	"DST-BIND", "VERDICT", "MATCH-INFO",
};

static const char *cell(const struct row *row, size_t j)
{
	return j < 4 ? row->f[j] : row->g[j - 4];
}

/* One row of the table: where the rule is, and what its tap match says. */
static void row_fill(struct row *row, const struct nftnl_rule *r, const struct tn_decoded *d)
{
	size_t j;

	memset(row, 0, sizeof(*row));
	snprintf(row->f[0], sizeof(row->f[0]), "%s",
		 tn_family_name((uint16_t)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY)));
	snprintf(row->f[1], sizeof(row->f[1]), "%s", nftnl_rule_get_str(r, NFTNL_RULE_TABLE));
	snprintf(row->f[2], sizeof(row->f[2]), "%s", nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	snprintf(row->f[3], sizeof(row->f[3]), "%" PRIu64,
		 nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE));
	if (!d->port)
		snprintf(row->g[0], sizeof(row->g[0]), "any");
	else if (d->port_lo == d->port_hi)
		snprintf(row->g[0], sizeof(row->g[0]), "%s%u", d->port_neg ? "!" : "",
			 d->port_lo);
	else
		snprintf(row->g[0], sizeof(row->g[0]), "%s%u-%u", d->port_neg ? "!" : "",
			 d->port_lo, d->port_hi);
	if (d->info_ok) {
		fmt_range(row->g[1], sizeof(row->g[1]), d->mt.key_id_min, d->mt.key_id_max);
		snprintf(row->g[2], sizeof(row->g[2]), "%u", d->mt.window);
		snprintf(row->g[3], sizeof(row->g[3]), "%s%s%s",
			 (d->mt.flags & XT_TAP_F_NO_DST_BIND) ? "no" : "yes",
			 (d->mt.flags & XT_TAP_F_SRC_BIND) ? ",src-bind" : "",
			 (d->mt.flags & XT_TAP_F_DROP_INVALID) ? ",drop-invalid" : "");
	} else {
		for (j = 1; j < 4; j++)
			snprintf(row->g[j], sizeof(row->g[j]), "?");
	}
	snprintf(row->g[4], sizeof(row->g[4]), "%s", d->verdict);
	for (j = 0; j < d->raw_len && j < sizeof(d->raw); j++)
		snprintf(row->g[5] + 2 * j, sizeof(row->g[5]) - 2 * j, "%02x", d->raw[j]);
}

/* The rows of the rules with a tap match; -1 if out of memory. */
static int rows_of(struct nftnl_rule_list *list, struct row **rows, size_t *nrows)
{
	struct nftnl_rule_list_iter *it = nftnl_rule_list_iter_create(list);
	struct nftnl_rule *r;
	struct tn_decoded d;

	while (it && (r = nftnl_rule_list_iter_next(it))) {
		tn_decode(r, &d);
		if (!d.tap)
			continue;
		*rows = realloc(*rows, (*nrows + 1) * sizeof(**rows));
		if (!*rows)
			return -1;
		row_fill(&(*rows)[(*nrows)++], r, &d);
	}
	if (it)
		nftnl_rule_list_iter_destroy(it);
	return 0;
}

static void print_rows(const struct row *rows, size_t nrows, size_t ncol)
{
	size_t i, j, width[10];

	for (j = 0; j < ncol; j++)
		width[j] = strlen(head[j]);
	for (i = 0; i < nrows; i++)
		for (j = 0; j < ncol; j++)
			if (strlen(cell(&rows[i], j)) > width[j])
				width[j] = strlen(cell(&rows[i], j));
	for (j = 0; j < ncol; j++) {
		if (j + 1 < ncol)
			printf("%-*s  ", (int)width[j], head[j]);
		else
			printf("%s\n", head[j]);
	}
	for (i = 0; i < nrows; i++)
		for (j = 0; j < ncol; j++) {
			if (j + 1 < ncol)
				printf("%-*s  ", (int)width[j], cell(&rows[i], j));
			else
				printf("%s\n", cell(&rows[i], j));
		}
}

/* The rules of family / table / chain (each may be "all"), or the exit status. */
static int read_rules(int family, const char *table, const char *chain,
		      struct nftnl_rule_list **out)
{
	struct tn_sock *s = NULL;
	int ret = tn_open(&s);

	if (ret < 0)
		return fail_errno("opening a netlink socket", -ret);
	*out = nftnl_rule_list_alloc();
	if (!*out) {
		tn_close(s);
		return fail("out of memory");
	}
	ret = tn_dump_rules(s, (uint16_t)family, table, chain, *out);
	tn_close(s);
	if (ret < 0) {
		nftnl_rule_list_free(*out);
		return fail_errno("reading the ruleset", -ret);
	}
	return 0;
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool verbose = false;
	struct nftnl_rule_list *list = NULL;
	struct row *rows = NULL;
	size_t nrows = 0;
	const char *table = NULL, *chain = NULL;
	int c, family = NFPROTO_UNSPEC, ret;

	cmd_name = "tap-nft list";
	while ((c = getopt_long(argc, argv, ":hv", opts, NULL)) != -1) {
		if (c == 'h') {
			help_list();
			return 0;
		}
		if (c == 'v') {
			verbose = true;
			continue;
		}
		return bad_option(c, argv);
	}
	if (optind < argc) {
		family = tn_family_parse(argv[optind]);
		if (family < 0)
			return usage_error("unknown family '%s' (ip, ip6, inet, arp, bridge, "
					   "netdev)", argv[optind]);
		optind++;
	}
	if (optind < argc)
		table = argv[optind++];
	if (optind < argc)
		chain = argv[optind++];
	if (optind < argc)
		return usage_error("too many arguments");

	ret = read_rules(family, table, chain, &list);
	if (ret)
		return ret;
	if (rows_of(list, &rows, &nrows) < 0)
		return fail("out of memory");
	nftnl_rule_list_free(list);
	print_rows(rows, nrows, verbose ? 10 : 9);
	free(rows);
	return 0;
}
