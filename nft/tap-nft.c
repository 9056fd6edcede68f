// SPDX-License-Identifier: GPL-2.0
/*
 * tap-nft: TAP (xt_tap) rules for hosts that run nftables.
 *
 * The nft command line cannot write an xtables match; it can only list one
 * that nft_compat carries ("xt match "tap""). tap-nft builds such rules with
 * libnftnl and sends them with libmnl, in atomic batches:
 *
 *   tap-nft add FAMILY TABLE CHAIN --dport P --key-id N [...] accept|drop
 *   tap-nft list [FAMILY [TABLE [CHAIN]]]
 *   tap-nft delete FAMILY TABLE CHAIN HANDLE
 *   tap-nft protect --dport P --key-id N [...]
 *   tap-nft unprotect
 *
 * See tap-nft(8).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <xtables.h>	/* before linux/: it brings netinet/in.h */

#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>	/* NF_IP_PRI_CONNTRACK_DEFRAG */
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_conntrack_common.h>

#include <libnftnl/udata.h>

#include "tap-nft.h"
#include "tap_num.h"

#define PROTECT_TABLE	"tap"
#define PROTECT_MARK	"managed by tap-nft: remove with tap-nft unprotect"
#define CHAIN_SYN	"syn"
#define CHAIN_SCAN	"antiscan"
#define PRIO_SYN	(-300)	/* NF_IP_PRI_RAW: before conntrack (-200) */
#define PRIO_SCAN	(-150)	/* NF_IP_PRI_MANGLE: after conntrack, before DNAT */
#define COMMIT_TRIES	3

#define EXIT_USAGE	2

static const char *cmd_name = "tap-nft";

/* ---- messages ---- */

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cmd_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", cmd_name);
	return EXIT_USAGE;
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tap-nft: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int fail_errno(const char *doing, int err)
{
	if (err == EPERM || err == EACCES)
		return fail("%s: permission denied: nftables needs CAP_NET_ADMIN "
			    "(run tap-nft as root)", doing);
	if (err == EPROTONOSUPPORT || err == EAFNOSUPPORT)
		return fail("%s: this kernel has no nf_tables (modprobe nf_tables)", doing);
	return fail("%s: %s", doing, strerror(err));
}

static bool tap_module_loaded(void)
{
	return access("/sys/module/xt_tap", F_OK) == 0;
}

/*
 * The kernel loads xt_tap itself for ip and ip6 tables (alias ipt_tap), but
 * for an inet table it asks for a module name that x_tables has no prefix
 * for; so load it first, as iptables loads its own modules. Failing is
 * fine: the batch then explains.
 */
static void tap_module_load(void)
{
	if (!tap_module_loaded())
		xtables_insmod("xt_tap", NULL, true);
}

/* Explains why a batch failed. Nothing was changed: batches are atomic. */
static int fail_batch(const struct tn_err *e, bool has_tap, bool inet)
{
	const char *what = e->what[0] ? e->what : "the change";

	switch (e->err) {
	case EPERM:
	case EACCES:
		fail("permission denied: changing the nftables ruleset needs "
		     "CAP_NET_ADMIN (run tap-nft as root)");
		break;
	case ENOENT:
		if (has_tap && !tap_module_loaded())
			fail("%s: the kernel has no xt match \"tap\": the xt_tap "
			     "module is not loaded; run 'modprobe xt_tap' first", what);
		else if (has_tap && inet)
			fail("%s: the kernel found no xt match \"tap\" for the inet "
			     "family: the loaded xt_tap module predates inet support; "
			     "reload the current one, or use ip and ip6 tables "
			     "(tap-nft protect --family ip,ip6)", what);
		else
			fail("%s: %s (was the table or chain just deleted?)", what,
			     strerror(e->err));
		break;
	case EINVAL:
		if (has_tap)
			fail("%s: the kernel refused it (Invalid argument): the tap "
			     "match works only in chains reached from the prerouting, "
			     "input or forward hooks (see dmesg)", what);
		else
			fail("%s: the kernel refused it (Invalid argument)", what);
		break;
	case ERESTART:
		fail("the ruleset changed while tap-nft was reading it; run it again");
		break;
	case EOPNOTSUPP:
	case 524:	/* ENOTSUPP, kernel-internal */
		fail("%s: not supported by this kernel", what);
		break;
	default:
		fail("%s: %s", what, strerror(e->err));
		break;
	}
	if (e->msg[0])
		fail("the kernel says: %s", e->msg);
	fail("nothing was changed");
	return 1;
}

/* ---- option parsing ---- */

enum {
	OPT_DPORT = 256, OPT_KEY_ID, OPT_WINDOW, OPT_NO_DST_BIND, OPT_SRC_BIND,
	OPT_DROP_INVALID,
	OPT_FAMILY, OPT_HOOK, OPT_TABLE,
};

struct match_opts {
	struct tn_match m;
	bool have_port, have_key;
};

static void match_opts_init(struct match_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->m.mt.window = XT_TAP_WINDOW_DEFAULT;
}

/* Handles a match option; returns 0, EXIT_USAGE on a bad value, -1 if not one. */
static int match_opt(struct match_opts *o, int c, const char *arg)
{
	unsigned long w;

	switch (c) {
	case OPT_DPORT:
		if (!tap_parse_urange(arg, 65535, &o->m.port_lo, &o->m.port_hi))
			return usage_error("invalid --dport '%s': use a port P or a range "
					   "P-Q, from 0 to 65535", arg);
		o->have_port = true;
		return 0;
	case OPT_KEY_ID:
		if (!tap_parse_urange(arg, 65535, &o->m.mt.key_id_min, &o->m.mt.key_id_max))
			return usage_error("invalid --key-id '%s': use a key id N or a range "
					   "N-M, from 0 to 65535", arg);
		o->have_key = true;
		return 0;
	case OPT_WINDOW:
		if (!tap_parse_udec(arg, strlen(arg), XT_TAP_WINDOW_MAX, &w) || w < 1)
			return usage_error("invalid --window '%s': use 1 to %u seconds",
					   arg, XT_TAP_WINDOW_MAX);
		o->m.mt.window = (uint16_t)w;
		return 0;
	case OPT_NO_DST_BIND:
		o->m.mt.flags |= XT_TAP_F_NO_DST_BIND;
		return 0;
	case OPT_SRC_BIND:
		o->m.mt.flags |= XT_TAP_F_SRC_BIND;
		return 0;
	case OPT_DROP_INVALID:
		o->m.mt.flags |= XT_TAP_F_DROP_INVALID;
		return 0;
	}
	return -1;
}

static int match_opts_check(const struct match_opts *o)
{
	if (!o->have_port)
		return usage_error("--dport is required (e.g. --dport 22)");
	if (!o->have_key)
		return usage_error("--key-id is required (e.g. --key-id 3, or "
				   "--key-id 100-199)");
	return 0;
}

/* Reports getopt's '?' and ':' results in our words. */
static int bad_option(int c, char **argv)
{
	const char *opt = argv[optind - 1];

	if (c == ':')
		return usage_error("option '%s' needs a value", opt);
	return usage_error("unknown option '%s'", opt);
}

static void fmt_range(char *buf, size_t len, uint16_t lo, uint16_t hi)
{
	if (lo == hi)
		snprintf(buf, len, "%u", lo);
	else
		snprintf(buf, len, "%u-%u", lo, hi);
}

static void describe_match(char *buf, size_t len, const struct tn_match *m)
{
	char port[16], key[16];

	fmt_range(port, sizeof(port), m->port_lo, m->port_hi);
	fmt_range(key, sizeof(key), m->mt.key_id_min, m->mt.key_id_max);
	snprintf(buf, len, "tcp dport %s, key id %s, window %u s, %s%s%s", port,
		 key, m->mt.window, (m->mt.flags & XT_TAP_F_NO_DST_BIND) ?
		 "no-dst-bind" : "destination bound",
		 (m->mt.flags & XT_TAP_F_SRC_BIND) ? ", source bound" : "",
		 (m->mt.flags & XT_TAP_F_DROP_INVALID) ? ", drop-invalid" : "");
}

/* ---- rules ---- */

/*
 * In a chain that may meet IP fragments the match comes before the flags
 * check: a first fragment that cuts the TCP header before its flags makes
 * the flags load fail, which skips the rule, and the match never sees (and
 * drops) it. The match refuses non-SYNs itself. Elsewhere the flags come
 * first, as iptables-nft orders -p tcp --dport P --syn -m tap.
 */
static struct nftnl_rule *tap_rule(uint16_t family, const char *table, const char *chain,
				   const struct tn_match *m, enum tn_verdict v,
				   bool sees_fragments)
{
	struct nftnl_rule *r = tn_rule_new(family, table, chain);

	tn_put_tcp_dport(r, m->port_lo, m->port_hi);
	if (sees_fragments) {
		tn_put_tap(r, &m->mt);
		tn_put_syn(r, true);
	} else {
		tn_put_syn(r, true);
		tn_put_tap(r, &m->mt);
	}
	tn_put_counter(r);
	tn_put_verdict(r, v);
	return r;
}

static bool hook_ok(uint32_t hook)
{
	return hook == NF_INET_PRE_ROUTING || hook == NF_INET_LOCAL_IN ||
	       hook == NF_INET_FORWARD;
}

/* ---- add ---- */

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
	{ "dport", required_argument, NULL, OPT_DPORT },
	{ "key-id", required_argument, NULL, OPT_KEY_ID },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "no-dst-bind", no_argument, NULL, OPT_NO_DST_BIND },
	{ "src-bind", no_argument, NULL, OPT_SRC_BIND },
	{ "drop-invalid", no_argument, NULL, OPT_DROP_INVALID },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/*
 * Can the chain meet IP fragments? A tap rule makes its netns reassemble
 * them in prerouting at priority -400, so a prerouting base chain at -400
 * or below can (at -400 it depends on which hook registered first), and so
 * can a regular chain, which such a chain may jump to.
 */
static bool chain_sees_fragments(const struct nftnl_chain *c)
{
	if (!nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM))
		return true;
	return nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM) == NF_INET_PRE_ROUTING &&
	       nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO) <= NF_IP_PRI_CONNTRACK_DEFRAG;
}

/*
 * Looks the table and chain up, with clear errors; checks the chain's hook.
 * *sees_fragments (if not NULL): chain_sees_fragments().
 */
static int check_chain(struct tn_sock *s, uint16_t family, const char *table,
		       const char *chain, bool *sees_fragments)
{
	const char *fam = tn_family_name(family);
	struct nftnl_table *t = NULL;
	struct nftnl_chain *c = NULL;
	int ret;

	ret = tn_get_table(s, family, table, &t);
	if (ret == -ENOENT)
		return fail("no table %s %s (see 'nft list tables')", fam, table);
	if (ret < 0)
		return fail_errno("reading the ruleset", -ret);
	nftnl_table_free(t);
	ret = tn_get_chain(s, family, table, chain, &c);
	if (ret == -ENOENT)
		return fail("no chain %s in table %s %s (see 'nft list table %s %s')",
			    chain, fam, table, fam, table);
	if (ret < 0)
		return fail_errno("reading the ruleset", -ret);
	if (nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM) &&
	    !hook_ok(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM))) {
		ret = fail("chain %s in table %s %s hooks %s: the tap match works only "
			   "in prerouting, input and forward chains", chain, fam, table,
			   tn_hook_name(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM)));
		nftnl_chain_free(c);
		return ret;
	}
	if (sees_fragments)
		*sees_fragments = chain_sees_fragments(c);
	nftnl_chain_free(c);
	return 0;
}

static int cmd_add(int argc, char **argv)
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

/* ---- list ---- */

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

static int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const head[10] = {
		"FAMILY", "TABLE", "CHAIN", "HANDLE", "DPORT", "KEY-ID", "WINDOW",
		"DST-BIND", "VERDICT", "MATCH-INFO",
	};
	bool verbose = false;
	struct nftnl_rule_list *list;
	struct nftnl_rule_list_iter *it;
	struct nftnl_rule *r;
	struct tn_sock *s = NULL;
	struct row *rows = NULL;
	size_t nrows = 0, i, j, ncol, width[10];
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
	ncol = verbose ? 10 : 9;
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

	ret = tn_open(&s);
	if (ret < 0)
		return fail_errno("opening a netlink socket", -ret);
	list = nftnl_rule_list_alloc();
	if (!list) {
		tn_close(s);
		return fail("out of memory");
	}
	ret = tn_dump_rules(s, (uint16_t)family, table, chain, list);
	tn_close(s);
	if (ret < 0) {
		nftnl_rule_list_free(list);
		return fail_errno("reading the ruleset", -ret);
	}

	it = nftnl_rule_list_iter_create(list);
	while (it && (r = nftnl_rule_list_iter_next(it))) {
		struct tn_decoded d;
		struct row *row;

		tn_decode(r, &d);
		if (!d.tap)
			continue;
		rows = realloc(rows, (nrows + 1) * sizeof(*rows));
		if (!rows)
			return fail("out of memory");
		row = &rows[nrows++];
		memset(row, 0, sizeof(*row));
		snprintf(row->f[0], sizeof(row->f[0]), "%s",
			 tn_family_name((uint16_t)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY)));
		snprintf(row->f[1], sizeof(row->f[1]), "%s", nftnl_rule_get_str(r, NFTNL_RULE_TABLE));
		snprintf(row->f[2], sizeof(row->f[2]), "%s", nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
		snprintf(row->f[3], sizeof(row->f[3]), "%" PRIu64,
			 nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE));
		if (!d.port)
			snprintf(row->g[0], sizeof(row->g[0]), "any");
		else if (d.port_lo == d.port_hi)
			snprintf(row->g[0], sizeof(row->g[0]), "%s%u", d.port_neg ? "!" : "",
				 d.port_lo);
		else
			snprintf(row->g[0], sizeof(row->g[0]), "%s%u-%u", d.port_neg ? "!" : "",
				 d.port_lo, d.port_hi);
		if (d.info_ok) {
			fmt_range(row->g[1], sizeof(row->g[1]), d.mt.key_id_min, d.mt.key_id_max);
			snprintf(row->g[2], sizeof(row->g[2]), "%u", d.mt.window);
			snprintf(row->g[3], sizeof(row->g[3]), "%s%s%s",
				 (d.mt.flags & XT_TAP_F_NO_DST_BIND) ? "no" : "yes",
				 (d.mt.flags & XT_TAP_F_SRC_BIND) ? ",src-bind" : "",
				 (d.mt.flags & XT_TAP_F_DROP_INVALID) ? ",drop-invalid" : "");
		} else {
			for (j = 1; j < 4; j++)
				snprintf(row->g[j], sizeof(row->g[j]), "?");
		}
		snprintf(row->g[4], sizeof(row->g[4]), "%s", d.verdict);
		for (j = 0; j < d.raw_len && j < sizeof(d.raw); j++)
			snprintf(row->g[5] + 2 * j, sizeof(row->g[5]) - 2 * j, "%02x", d.raw[j]);
	}
	if (it)
		nftnl_rule_list_iter_destroy(it);
	nftnl_rule_list_free(list);

	for (j = 0; j < ncol; j++)
		width[j] = strlen(head[j]);
	for (i = 0; i < nrows; i++)
		for (j = 0; j < ncol; j++) {
			size_t n = strlen(j < 4 ? rows[i].f[j] : rows[i].g[j - 4]);

			if (n > width[j])
				width[j] = n;
		}
	for (j = 0; j < ncol; j++) {
		if (j + 1 < ncol)
			printf("%-*s  ", (int)width[j], head[j]);
		else
			printf("%s\n", head[j]);
	}
	for (i = 0; i < nrows; i++)
		for (j = 0; j < ncol; j++) {
			const char *v = j < 4 ? rows[i].f[j] : rows[i].g[j - 4];

			if (j + 1 < ncol)
				printf("%-*s  ", (int)width[j], v);
			else
				printf("%s\n", v);
		}
	free(rows);
	return 0;
}

/* ---- delete ---- */

static void help_delete(void)
{
	printf(
"Usage: tap-nft delete FAMILY TABLE CHAIN HANDLE\n"
"\n"
"Deletes the tap rule with that handle (shown by tap-nft list and by\n"
"'nft -a list ruleset'). Refuses rules that carry no tap match.\n"
"  -h, --help         this help\n");
}

static int cmd_delete(int argc, char **argv)
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

/* ---- protect / unprotect ---- */

static const uint16_t all_families[] = { NFPROTO_IPV4, NFPROTO_IPV6, NFPROTO_INET };
#define NALLFAM (sizeof(all_families) / sizeof(all_families[0]))

struct plan_fam {
	uint16_t family;
	struct nftnl_table *table;
	struct nftnl_chain *chain[2];
	struct nftnl_rule *rule[3];	/* 0, 1 in CHAIN_SYN; 2 in CHAIN_SCAN */
};

struct plan {
	const char *table;
	uint32_t hook;
	struct tn_match m;
	int n;
	struct plan_fam fam[2];
};

static struct nftnl_table *mk_table(uint16_t family, const char *name, bool mark)
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

static void plan_build(struct plan *p)
{
	int i;

	for (i = 0; i < p->n; i++) {
		struct plan_fam *f = &p->fam[i];
		struct nftnl_rule *r;

		f->table = mk_table(f->family, p->table, true);
		f->chain[0] = mk_chain(f->family, p->table, CHAIN_SYN, p->hook, PRIO_SYN);
		f->chain[1] = mk_chain(f->family, p->table, CHAIN_SCAN, p->hook, PRIO_SCAN);

		/* 1. a SYN with a valid token: accept (before conntrack) */
		f->rule[0] = tap_rule(f->family, p->table, CHAIN_SYN, &p->m, TN_ACCEPT,
				      chain_sees_fragments(f->chain[0]));
		tn_put_comment(f->rule[0], "TAP: SYN with a valid token");

		/*
		 * 2. every other SYN to the protected ports: drop. The match's
		 * --drop-invalid has done so already; this backstop is never
		 * reached by a SYN and costs a flood nothing.
		 */
		r = tn_rule_new(f->family, p->table, CHAIN_SYN);
		tn_put_tcp_dport(r, p->m.port_lo, p->m.port_hi);
		tn_put_syn(r, true);
		tn_put_counter(r);
		tn_put_verdict(r, TN_DROP);
		tn_put_comment(r, "TAP: any other SYN");
		f->rule[1] = r;

		/*
		 * 3. anti-scan, after conntrack: whatever is not a SYN and does
		 * not belong to a connection conntrack knows (established or
		 * related). ACK and Window scan probes are "new" (conntrack picks
		 * connections up mid-stream), FIN, Null, Xmas and Maimon probes
		 * are "invalid". Dropped, they get no RST, as a filtered port.
		 */
		r = tn_rule_new(f->family, p->table, CHAIN_SCAN);
		tn_put_tcp_dport(r, p->m.port_lo, p->m.port_hi);
		tn_put_syn(r, false);
		tn_put_ct_state(r, NF_CT_STATE_INVALID_BIT | NF_CT_STATE_BIT(IP_CT_NEW));
		tn_put_counter(r);
		tn_put_verdict(r, TN_DROP);
		tn_put_comment(r, "TAP anti-scan: not a SYN and not part of a connection");
		f->rule[2] = r;
	}
}

static void plan_free(struct plan *p)
{
	int i, j;

	for (i = 0; i < p->n; i++) {
		nftnl_table_free(p->fam[i].table);
		for (j = 0; j < 2; j++)
			nftnl_chain_free(p->fam[i].chain[j]);
		for (j = 0; j < 3; j++)
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
static int table_matches(struct tn_sock *s, const struct plan *p, const struct plan_fam *f)
{
	struct nftnl_chain_list *chains = nftnl_chain_list_alloc();
	struct nftnl_rule_list *rules = nftnl_rule_list_alloc();
	struct nftnl_chain_list_iter *cit = NULL;
	struct nftnl_rule_list_iter *rit = NULL;
	struct nftnl_chain *c;
	struct nftnl_rule *r;
	char have[2048], want[2048];
	int ret, nchains = 0, next[2] = { 0, 2 }, end[2] = { 2, 3 };

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
static int find_tables(struct tn_sock *s, const char *name, bool present[NALLFAM],
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

static int cmd_protect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dport", required_argument, NULL, OPT_DPORT },
		{ "key-id", required_argument, NULL, OPT_KEY_ID },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "no-dst-bind", no_argument, NULL, OPT_NO_DST_BIND },
		{ "src-bind", no_argument, NULL, OPT_SRC_BIND },
		{ "family", required_argument, NULL, OPT_FAMILY },
		{ "hook", required_argument, NULL, OPT_HOOK },
		{ "table", required_argument, NULL, OPT_TABLE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct plan p = { .table = PROTECT_TABLE, .hook = NF_INET_PRE_ROUTING, .n = 1 };
	bool present[NALLFAM], foreign;
	struct match_opts o;
	struct tn_sock *s = NULL;
	struct tn_err e = { 0 };
	char desc[160], what[300], names[64];
	int c, ret, try, i;
	size_t k;

	cmd_name = "tap-nft protect";
	p.fam[0].family = NFPROTO_INET;
	match_opts_init(&o);
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			help_protect();
			return 0;
		case OPT_FAMILY:
			ret = parse_families(optarg, &p);
			if (ret)
				return ret;
			continue;
		case OPT_HOOK:
			if (!strcmp(optarg, "prerouting"))
				p.hook = NF_INET_PRE_ROUTING;
			else if (!strcmp(optarg, "input"))
				p.hook = NF_INET_LOCAL_IN;
			else if (!strcmp(optarg, "forward"))
				p.hook = NF_INET_FORWARD;
			else
				return usage_error("invalid --hook '%s': use prerouting, input "
						   "or forward", optarg);
			continue;
		case OPT_TABLE:
			if (!optarg[0] || strlen(optarg) > 255)
				return usage_error("invalid --table '%s'", optarg);
			p.table = optarg;
			continue;
		}
		ret = match_opt(&o, c, optarg);
		if (ret >= 0) {
			if (ret)
				return ret;
			continue;
		}
		return bad_option(c, argv);
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	ret = match_opts_check(&o);
	if (ret)
		return ret;
	/* the one-rule form: the match drops the SYNs it does not let in */
	o.m.mt.flags |= XT_TAP_F_DROP_INVALID;
	p.m = o.m;
	plan_build(&p);
	describe_match(desc, sizeof(desc), &p.m);
	names[0] = '\0';
	for (i = 0; i < p.n; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s %s",
			 i ? ", " : "", tn_family_name(p.fam[i].family), p.table);

	tap_module_load();
	ret = tn_open(&s);
	if (ret < 0) {
		plan_free(&p);
		return fail_errno("opening a netlink socket", -ret);
	}
	for (try = 0; try < COMMIT_TRIES; try++) {
		struct tn_batch *b;
		uint32_t genid;
		bool same = true;

		ret = tn_get_genid(s, &genid);
		if (ret == 0)
			ret = find_tables(s, p.table, present, &foreign);
		if (ret < 0) {
			ret = fail_errno("reading the ruleset", -ret);
			goto out;
		}
		if (foreign) {
			ret = 1;
			goto out;
		}
		for (k = 0; k < NALLFAM; k++) {
			bool want = false;

			for (i = 0; i < p.n; i++)
				if (p.fam[i].family == all_families[k])
					want = true;
			if (want != present[k])
				same = false;
		}
		for (i = 0; same && i < p.n; i++) {
			ret = table_matches(s, &p, &p.fam[i]);
			if (ret < 0) {
				ret = fail_errno("reading the ruleset", -ret);
				goto out;
			}
			same = ret == 1;
		}
		if (same) {
			printf("protection already in place (%s: %s, hook %s); nothing "
			       "changed\n", names, desc, tn_hook_name(p.hook));
			ret = 0;
			goto out;
		}

		b = tn_batch_new(genid, TN_BATCH_MAX);
		if (!b)
			exit(fail("out of memory"));
		for (k = 0; k < NALLFAM; k++) {
			struct nftnl_table *t;

			if (!present[k])
				continue;
			t = mk_table(all_families[k], p.table, false);
			snprintf(what, sizeof(what), "removing the old table %s %s",
				 tn_family_name(all_families[k]), p.table);
			tn_batch_table(b, NFT_MSG_DELTABLE, 0, t, what);
			nftnl_table_free(t);
		}
		for (i = 0; i < p.n; i++) {
			struct plan_fam *f = &p.fam[i];
			const char *fn = tn_family_name(f->family);
			int j;

			snprintf(what, sizeof(what), "creating table %s %s", fn, p.table);
			tn_batch_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL,
				       f->table, what);
			for (j = 0; j < 2; j++) {
				snprintf(what, sizeof(what), "creating chain %s %s %s (hook %s)",
					 fn, p.table, j ? CHAIN_SCAN : CHAIN_SYN,
					 tn_hook_name(p.hook));
				tn_batch_chain(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL,
					       f->chain[j], what);
			}
			for (j = 0; j < 3; j++) {
				snprintf(what, sizeof(what), "adding %s rule to %s %s %s",
					 j == 0 ? "the tap" : j == 1 ? "the SYN drop" :
					 "the anti-scan", fn, p.table,
					 j == 2 ? CHAIN_SCAN : CHAIN_SYN);
				tn_batch_rule(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
					      f->rule[j], what);
			}
		}
		ret = tn_batch_commit(s, b, &e, NULL);
		tn_batch_free(b);
		if (ret == -ERESTART)
			continue;	/* someone changed the ruleset meanwhile */
		if (ret < 0) {
			ret = fail_batch(&e, true, p.n == 1 && p.fam[0].family == NFPROTO_INET);
			goto out;
		}
		printf("protected (%s: %s, hook %s):\n"
		       "  a SYN with a valid token is accepted (chain %s, priority %d),\n"
		       "  every other SYN is dropped,\n"
		       "  anything else that is not part of a connection is dropped "
		       "(chain %s, priority %d)\n",
		       names, desc, tn_hook_name(p.hook), CHAIN_SYN, PRIO_SYN,
		       CHAIN_SCAN, PRIO_SCAN);
		ret = 0;
		goto out;
	}
	ret = fail_batch(&e, true, false);
out:
	plan_free(&p);
	tn_close(s);
	return ret;
}

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

static int cmd_unprotect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "table", required_argument, NULL, OPT_TABLE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *table = PROTECT_TABLE;
	bool present[NALLFAM], foreign;
	struct tn_sock *s = NULL;
	struct tn_err e = { 0 };
	char what[300], names[96];
	int c, ret, try, n;
	size_t k;

	cmd_name = "tap-nft unprotect";
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h') {
			help_unprotect();
			return 0;
		}
		if (c == OPT_TABLE) {
			table = optarg;
			continue;
		}
		return bad_option(c, argv);
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);

	ret = tn_open(&s);
	if (ret < 0)
		return fail_errno("opening a netlink socket", -ret);
	for (try = 0; try < COMMIT_TRIES; try++) {
		struct tn_batch *b;
		uint32_t genid;

		ret = tn_get_genid(s, &genid);
		if (ret == 0)
			ret = find_tables(s, table, present, &foreign);
		if (ret < 0) {
			ret = fail_errno("reading the ruleset", -ret);
			goto out;
		}
		b = tn_batch_new(genid, TN_BATCH_MAX);
		if (!b)
			exit(fail("out of memory"));
		names[0] = '\0';
		for (k = 0, n = 0; k < NALLFAM; k++) {
			struct nftnl_table *t;

			if (!present[k])
				continue;
			t = mk_table(all_families[k], table, false);
			snprintf(what, sizeof(what), "removing table %s %s",
				 tn_family_name(all_families[k]), table);
			tn_batch_table(b, NFT_MSG_DELTABLE, 0, t, what);
			nftnl_table_free(t);
			snprintf(names + strlen(names), sizeof(names) - strlen(names),
				 "%s%s %s", n++ ? ", " : "", tn_family_name(all_families[k]),
				 table);
		}
		if (tn_batch_count(b) == 0) {
			tn_batch_free(b);
			printf("no protection by tap-nft found (table %s); nothing changed\n",
			       table);
			ret = 0;
			goto out;
		}
		ret = tn_batch_commit(s, b, &e, NULL);
		tn_batch_free(b);
		if (ret == -ERESTART)
			continue;
		if (ret < 0) {
			ret = fail_batch(&e, false, false);
			goto out;
		}
		printf("removed %s\n", names);
		ret = 0;
		goto out;
	}
	ret = fail_batch(&e, false, false);
out:
	tn_close(s);
	return ret;
}

/* ---- main ---- */

static void help_main(void)
{
	printf(
"Usage: tap-nft COMMAND [OPTIONS]\n"
"\n"
"TAP (xt_tap) rules for nftables. nft lists them as 'xt match \"tap\"' but\n"
"cannot write them; tap-nft can.\n"
"\n"
"Commands:\n"
"  add FAMILY TABLE CHAIN --dport P[-Q] --key-id N[-M] [--window S]\n"
"      [--no-dst-bind] accept|drop     append a tap rule to a chain\n"
"  list [-v] [FAMILY [TABLE [CHAIN]]]  show every tap rule, decoded\n"
"  delete FAMILY TABLE CHAIN HANDLE    delete a tap rule\n"
"  protect --dport P[-Q] --key-id N[-M] [...]\n"
"                                      a complete protection, anti-scan rules\n"
"                                      included, in a table of its own\n"
"  unprotect                           remove what protect set up\n"
"\n"
"'tap-nft COMMAND --help' tells more; see also tap-nft(8), xt_tap(8),\n"
"tap-keytool(8). The xt_tap module must be loaded (modprobe xt_tap).\n");
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	opterr = 0;
	if (!cmd)
		return usage_error("missing command (add, list, delete, protect, unprotect)");
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		help_main();
		return 0;
	}
	if (!strcmp(cmd, "add"))
		return cmd_add(argc - 1, argv + 1);
	if (!strcmp(cmd, "list") || !strcmp(cmd, "ls"))
		return cmd_list(argc - 1, argv + 1);
	if (!strcmp(cmd, "delete") || !strcmp(cmd, "del"))
		return cmd_delete(argc - 1, argv + 1);
	if (!strcmp(cmd, "protect"))
		return cmd_protect(argc - 1, argv + 1);
	if (!strcmp(cmd, "unprotect"))
		return cmd_unprotect(argc - 1, argv + 1);
	return usage_error("unknown command '%s' (add, list, delete, protect, unprotect)",
			   cmd);
}
