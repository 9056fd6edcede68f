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

int cmd_add(int argc, char **argv)
{
	struct match_opts o;
	struct tn_sock *s = NULL;
	struct nftnl_rule *r, *echo;
	struct tn_batch *b;
	struct tn_err e;
	const char *pos[5] = { NULL };
	enum tn_verdict v;
	char desc[160], what[300];
	int c, npos = 0, family, ret;
	bool sees_fragments;

	cmd_name = "tap-nft add";
	match_opts_init(&o);
	while ((c = getopt_long(argc, argv, ":h", match_long_opts, NULL)) != -1) {
		if (c == 'h') {
			help_add();
			return 0;
		}
		ret = match_opt(&o, c, optarg);
		if (ret >= 0) {
			if (ret)
				return ret;
			continue;
		}
		return bad_option(c, argv);
	}
	while (optind < argc && npos < 5)
		pos[npos++] = argv[optind++];
	if (npos != 4 || optind < argc)
		return usage_error("expected FAMILY TABLE CHAIN and a verdict (accept or "
				   "drop), e.g. tap-nft add ip filter INPUT --dport 22 "
				   "--key-id 3 accept");
	family = tn_family_parse(pos[0]);
	if (family != NFPROTO_IPV4 && family != NFPROTO_IPV6 && family != NFPROTO_INET)
		return usage_error("family '%s': use ip, ip6 or inet", pos[0]);
	if (!strcasecmp(pos[3], "accept"))
		v = TN_ACCEPT;
	else if (!strcasecmp(pos[3], "drop"))
		v = TN_DROP;
	else
		return usage_error("verdict '%s': use accept or drop", pos[3]);
	ret = match_opts_check(&o);
	if (ret)
		return ret;

	tap_module_load();
	ret = tn_open(&s);
	if (ret < 0)
		return fail_errno("opening a netlink socket", -ret);
	ret = check_chain(s, (uint16_t)family, pos[1], pos[2], &sees_fragments);
	if (ret) {
		tn_close(s);
		return ret;
	}

	r = tap_rule((uint16_t)family, pos[1], pos[2], &o.m, v, sees_fragments);
	describe_match(desc, sizeof(desc), &o.m);
	snprintf(what, sizeof(what), "adding the rule to %s %s %s", pos[0], pos[1], pos[2]);
	b = tn_batch_new(0, TN_BATCH_MAX);
	echo = nftnl_rule_alloc();
	if (!b || !echo) {
		fprintf(stderr, "tap-nft: out of memory\n");
		exit(1);
	}
	tn_batch_rule(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND | NLM_F_ECHO, r, what);
	ret = tn_batch_commit(s, b, &e, echo);
	if (ret < 0) {
		ret = fail_batch(&e, true, family == NFPROTO_INET);
	} else {
		printf("added to %s %s %s: %s, %s", pos[0], pos[1], pos[2], desc,
		       v == TN_ACCEPT ? "accept" : "drop");
		if (nftnl_rule_is_set(echo, NFTNL_RULE_HANDLE))
			printf("; handle %" PRIu64,
			       nftnl_rule_get_u64(echo, NFTNL_RULE_HANDLE));
		printf("\n");
		ret = 0;
	}
	nftnl_rule_free(echo);
	nftnl_rule_free(r);
	tn_batch_free(b);
	tn_close(s);
	return ret;
}
