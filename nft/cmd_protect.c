// SPDX-License-Identifier: GPL-2.0
/*
 * tap-nft protect: a complete protection in a table of its own.
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

static void help_protect(void)
{
	printf(
"Usage: tap-nft protect --dport P[-Q] --key-id N[-M] [--window S] [--no-dst-bind]\n"
"                       [--src-bind]\n"
"                       [--family ip|ip6|inet|ip,ip6] [--hook prerouting|input|forward]\n"
"                       [--table NAME]\n"
"\n"
"Sets up a complete TAP protection of TCP port P (or ports P to Q) in a table\n"
"of its own (default: table inet \"%s\"), as one atomic nftables batch:\n"
"  chain %s (hook, priority -300, before conntrack):\n"
"    a SYN with a valid token: accept; every other SYN: dropped by the tap\n"
"    match itself (--drop-invalid), a drop rule after it as a backstop\n"
"  chain %s (hook, priority -150, after conntrack):\n"
"    anything to the ports that is not a SYN and whose conntrack state is\n"
"    invalid or new (not part of a connection): drop. This makes ACK, Window,\n"
"    FIN, Null, Xmas and Maimon scans see the port as they see a dropped one.\n"
"Running it again with the same options changes nothing; with other options\n"
"it replaces the protection, atomically.\n"
"  --dport P[-Q]      protected TCP destination port or range (required)\n"
"  --key-id N[-M]     accepted key id or range, 0..65535 (required)\n"
"  --window S         token freshness window, 1..%u seconds (default %u)\n"
"  --no-dst-bind      tokens do not bind the destination address\n"
"  --src-bind         tokens bind the source address too (no NAT)\n"
"  --family F         inet (default: one table for IPv4 and IPv6), ip, ip6,\n"
"                     or ip,ip6 (a table in each)\n"
"  --hook H           prerouting (default; sees the address the client\n"
"                     used, before DNAT), input or forward\n"
"  --table NAME       table name (default \"%s\")\n"
"  -h, --help         this help\n"
"Load the keys with tap-keytool(8). Remove it all with tap-nft unprotect.\n",
	       PROTECT_TABLE, CHAIN_SYN, CHAIN_SCAN, XT_TAP_WINDOW_MAX,
	       XT_TAP_WINDOW_DEFAULT, PROTECT_TABLE);
}

static int parse_families(const char *arg, struct plan *p)
{
	char buf[64], *tok, *save = NULL;
	int f;

	if (strlen(arg) >= sizeof(buf))
		goto bad;
	snprintf(buf, sizeof(buf), "%s", arg);
	p->n = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		f = tn_family_parse(tok);
		if (f != NFPROTO_IPV4 && f != NFPROTO_IPV6 && f != NFPROTO_INET)
			goto bad;
		if (p->n == 2 || (p->n == 1 && p->fam[0].family == f))
			goto bad;
		p->fam[p->n++].family = (uint16_t)f;
	}
	if (p->n == 0 || (p->n == 2 && (p->fam[0].family == NFPROTO_INET ||
					p->fam[1].family == NFPROTO_INET)))
		goto bad;
	return 0;
bad:
	return usage_error("invalid --family '%s': use inet (the default), ip, ip6 "
			   "or ip,ip6", arg);
}

/* --hook NAME */
static int parse_hook(const char *arg, struct plan *p)
{
	if (!strcmp(arg, "prerouting"))
		p->hook = NF_INET_PRE_ROUTING;
	else if (!strcmp(arg, "input"))
		p->hook = NF_INET_LOCAL_IN;
	else if (!strcmp(arg, "forward"))
		p->hook = NF_INET_FORWARD;
	else
		return usage_error("invalid --hook '%s': use prerouting, input or forward",
				   arg);
	return 0;
}

/* The command line into p; 0, or the exit status (help: -1, exit 0). */
static int protect_options(int argc, char **argv, struct plan *p)
{
	static const struct option opts[] = {
		MATCH_LONG_OPTS,
		{ "family", required_argument, NULL, OPT_FAMILY },
		{ "hook", required_argument, NULL, OPT_HOOK },
		{ "table", required_argument, NULL, OPT_TABLE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct match_opts o;
	int c, ret;

	match_opts_init(&o);
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			help_protect();
			return -1;
		case OPT_FAMILY:
			ret = parse_families(optarg, p);
			break;
		case OPT_HOOK:
			ret = parse_hook(optarg, p);
			break;
		case OPT_TABLE:
			ret = 0;
			if (!optarg[0] || strlen(optarg) > 255)
				ret = usage_error("invalid --table '%s'", optarg);
			p->table = optarg;
			break;
		default:
			ret = match_opt(&o, c, optarg);
			if (ret < 0)
				return bad_option(c, argv);
		}
		if (ret)
			return ret;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	ret = match_opts_check(&o);
	if (ret)
		return ret;
	/* the one-rule form: the match drops the SYNs it does not let in */
	o.m.mt.flags |= XT_TAP_F_DROP_INVALID;
	p->m = o.m;
	return 0;
}

struct protect {
	struct plan p;
	char desc[160], names[64];
};

/* 1 if the kernel has exactly the tables of p (ours, the same), 0, or -errno. */
int already_protected(struct tn_sock *s, const struct plan *p,
		      const bool present[NALLFAM])
{
	size_t k;
	int i, ret;

	for (k = 0; k < NALLFAM; k++) {
		bool want = false;

		for (i = 0; i < p->n; i++)
			if (p->fam[i].family == all_families[k])
				want = true;
		if (want != present[k])
			return 0;
	}
	for (i = 0; i < p->n; i++) {
		ret = table_matches(s, p, &p->fam[i]);
		if (ret != 1)
			return ret;
	}
	return 1;
}

/* Replaces the tables of ours that are there with those of p. */
void protect_batch(struct tn_batch *b, const struct plan *p,
		   const bool present[NALLFAM])
{
	char what[300];
	size_t k;
	int i, j;

	for (k = 0; k < NALLFAM; k++) {
		struct nftnl_table *t;

		if (!present[k])
			continue;
		t = mk_table(all_families[k], p->table, false);
		snprintf(what, sizeof(what), "removing the old table %s %s",
			 tn_family_name(all_families[k]), p->table);
		tn_batch_table(b, NFT_MSG_DELTABLE, 0, t, what);
		nftnl_table_free(t);
	}
	for (i = 0; i < p->n; i++) {
		const struct plan_fam *f = &p->fam[i];
		const char *fn = tn_family_name(f->family);

		snprintf(what, sizeof(what), "creating table %s %s", fn, p->table);
		tn_batch_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, f->table, what);
		for (j = 0; j < 2; j++) {
			snprintf(what, sizeof(what), "creating chain %s %s %s (hook %s)",
				 fn, p->table, j ? CHAIN_SCAN : CHAIN_SYN, tn_hook_name(p->hook));
			tn_batch_chain(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL,
				       f->chain[j], what);
		}
		for (j = 0; j < 3 * p->nports; j++) {
			bool scan = j >= 2 * p->nports;

			snprintf(what, sizeof(what), "adding %s rule to %s %s %s",
				 scan ? "the anti-scan" : j % 2 ? "the SYN drop" : "the tap",
				 fn, p->table, scan ? CHAIN_SCAN : CHAIN_SYN);
			tn_batch_rule(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
				      f->rule[j], what);
		}
	}
}

static int protect_build(struct tn_sock *s, uint32_t genid, struct tn_batch **out,
			 void *ctx)
{
	struct protect *pr = ctx;
	bool present[NALLFAM], foreign;
	int ret;

	ret = find_tables(s, pr->p.table, present, &foreign);
	if (ret == 0 && !foreign)
		ret = already_protected(s, &pr->p, present);
	if (ret < 0)
		return fail_errno("reading the ruleset", -ret);
	if (foreign)
		return 1;
	if (ret == 1) {
		printf("protection already in place (%s: %s, hook %s); nothing "
		       "changed\n", pr->names, pr->desc, tn_hook_name(pr->p.hook));
		return 0;
	}
	*out = tn_batch_new(genid, TN_BATCH_MAX);
	if (!*out)
		exit(fail("out of memory"));
	protect_batch(*out, &pr->p, present);
	return 0;
}

int cmd_protect(int argc, char **argv)
{
	struct protect pr = { .p = { .table = PROTECT_TABLE, .hook = NF_INET_PRE_ROUTING,
				     .n = 1 } };
	struct tn_sock *s = NULL;
	int ret, i;

	cmd_name = "tap-nft protect";
	pr.p.fam[0].family = NFPROTO_INET;
	ret = protect_options(argc, argv, &pr.p);
	if (ret)
		return ret < 0 ? 0 : ret;
	plan_build(&pr.p);
	describe_match(pr.desc, sizeof(pr.desc), &pr.p.m);
	for (i = 0; i < pr.p.n; i++)
		snprintf(pr.names + strlen(pr.names), sizeof(pr.names) - strlen(pr.names),
			 "%s%s %s", i ? ", " : "", tn_family_name(pr.p.fam[i].family),
			 pr.p.table);

	tap_module_load();
	ret = tn_open(&s);
	if (ret < 0) {
		plan_free(&pr.p);
		return fail_errno("opening a netlink socket", -ret);
	}
	ret = commit_retrying(s, protect_build, &pr, true,
			      pr.p.n == 1 && pr.p.fam[0].family == NFPROTO_INET);
	if (ret == COMMITTED) {
		printf("protected (%s: %s, hook %s):\n"
		       "  a SYN with a valid token is accepted (chain %s, priority %d),\n"
		       "  every other SYN is dropped,\n"
		       "  anything else that is not part of a connection is dropped "
		       "(chain %s, priority %d)\n",
		       pr.names, pr.desc, tn_hook_name(pr.p.hook), CHAIN_SYN, PRIO_SYN,
		       CHAIN_SCAN, PRIO_SCAN);
		ret = 0;
	}
	plan_free(&pr.p);
	tn_close(s);
	return ret;
}
