// SPDX-License-Identifier: GPL-2.0
/*
 * tap-nft add: append a tap rule to a chain.
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

static void help_add(void)
{
	printf(
"Usage: tap-nft add FAMILY TABLE CHAIN --dport P[-Q] --key-id N[-M]\n"
"                   [--window S] [--no-dst-bind] [--src-bind] [--drop-invalid]\n"
"                   accept|drop\n"
"\n"
"Appends a rule to an existing nftables chain that matches TCP SYNs to port P\n"
"(or ports P to Q) carrying a valid TAP token, with the given verdict:\n"
"\n"
"  tcp dport P tcp flags syn / fin,syn,rst,ack xt match \"tap\" counter VERDICT\n"
"\n"
"(the match before the flags in a chain that may meet IP fragments: prerouting\n"
"at priority -400 or less, or a regular chain; see tap-nft(8)).\n"
"FAMILY is ip, ip6 or inet (an inet rule serves IPv4 and IPv6). The chain\n"
"must be reached from the prerouting, input or forward hook. Options, as\n"
"for iptables -m tap:\n"
"  --dport P[-Q]      protected TCP destination port or range (required)\n"
"  --key-id N[-M]     accepted key id or range, 0..65535 (required)\n"
"  --window S         token freshness window, 1..%u seconds (default %u)\n"
"  --no-dst-bind      tokens do not bind the destination address\n"
"  --src-bind         tokens bind the source address too (no NAT)\n"
"  --drop-invalid     the match drops every SYN it does not let in\n"
"  -h, --help         this help\n"
"Prints the new rule's handle, for tap-nft delete.\n"
"Example: tap-nft add inet filter input --dport 22 --key-id 3 accept\n",
	       XT_TAP_WINDOW_MAX, XT_TAP_WINDOW_DEFAULT);
}

static const struct option match_long_opts[] = {
	MATCH_LONG_OPTS,
	{ "drop-invalid", no_argument, NULL, OPT_DROP_INVALID },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct add {
	struct match_opts o;
	int family;
	const char *pos[4];	/* family, table, chain, verdict as given */
	enum tn_verdict v;
};

/* The command line into a; 0, or the exit status (help: -1, exit 0). */
static int add_options(int argc, char **argv, struct add *a)
{
	int c, npos = 0, ret;

	match_opts_init(&a->o);
	while ((c = getopt_long(argc, argv, ":h", match_long_opts, NULL)) != -1) {
		if (c == 'h') {
			help_add();
			return -1;
		}
		ret = match_opt(&a->o, c, optarg);
		if (ret < 0)
			return bad_option(c, argv);
		if (ret)
			return ret;
	}
	while (optind < argc && npos < 4)
		a->pos[npos++] = argv[optind++];
	if (npos != 4 || optind < argc)
		return usage_error("expected FAMILY TABLE CHAIN and a verdict (accept or "
				   "drop), e.g. tap-nft add ip filter INPUT --dport 22 "
				   "--key-id 3 accept");
	a->family = tn_family_parse(a->pos[0]);
	if (a->family != NFPROTO_IPV4 && a->family != NFPROTO_IPV6 &&
	    a->family != NFPROTO_INET)
		return usage_error("family '%s': use ip, ip6 or inet", a->pos[0]);
	if (!strcasecmp(a->pos[3], "accept"))
		a->v = TN_ACCEPT;
	else if (!strcasecmp(a->pos[3], "drop"))
		a->v = TN_DROP;
	else
		return usage_error("verdict '%s': use accept or drop", a->pos[3]);
	return match_opts_check(&a->o);
}

/* Appends the rule r as a describes it, and prints its handle. */
static int add_rule(struct tn_sock *s, const struct add *a, struct nftnl_rule *r)
{
	struct nftnl_rule *echo = nftnl_rule_alloc();
	struct tn_batch *b = tn_batch_new(0, TN_BATCH_MAX);
	char desc[160], what[300];
	struct tn_err e;
	int ret;

	if (!b || !echo) {
		fprintf(stderr, "tap-nft: out of memory\n");
		exit(1);
	}
	describe_match(desc, sizeof(desc), &a->o.m);
	snprintf(what, sizeof(what), "adding the rule to %s %s %s", a->pos[0], a->pos[1],
		 a->pos[2]);
	tn_batch_rule(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND | NLM_F_ECHO, r, what);
	ret = tn_batch_commit(s, b, &e, echo);
	if (ret < 0) {
		ret = fail_batch(&e, true, a->family == NFPROTO_INET);
	} else {
		printf("added to %s %s %s: %s, %s", a->pos[0], a->pos[1], a->pos[2], desc,
		       a->v == TN_ACCEPT ? "accept" : "drop");
		if (nftnl_rule_is_set(echo, NFTNL_RULE_HANDLE))
			printf("; handle %" PRIu64,
			       nftnl_rule_get_u64(echo, NFTNL_RULE_HANDLE));
		printf("\n");
		ret = 0;
	}
	nftnl_rule_free(echo);
	tn_batch_free(b);
	return ret;
}

int cmd_add(int argc, char **argv)
{
	struct add a = { .pos = { NULL } };
	struct tn_sock *s = NULL;
	struct nftnl_rule *r;
	bool sees_fragments;
	int ret;

	cmd_name = "tap-nft add";
	ret = add_options(argc, argv, &a);
	if (ret)
		return ret < 0 ? 0 : ret;

	tap_module_load();
	ret = tn_open(&s);
	if (ret < 0)
		return fail_errno("opening a netlink socket", -ret);
	ret = check_chain(s, (uint16_t)a.family, a.pos[1], a.pos[2], &sees_fragments);
	if (ret) {
		tn_close(s);
		return ret;
	}
	r = tap_rule((uint16_t)a.family, a.pos[1], a.pos[2], &a.o.m, a.v, sees_fragments);
	ret = add_rule(s, &a, r);
	nftnl_rule_free(r);
	tn_close(s);
	return ret;
}
