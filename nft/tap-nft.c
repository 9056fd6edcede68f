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
 *   tap-nft apply [-c /etc/tap/protect.conf] [--check | --hold]
 *
 * This file is the front end and what the commands share; each command
 * has its own file (cmd_*.c). See tap-nft(8).
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

const char *cmd_name = "tap-nft";

/* ---- messages ---- */

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cmd_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", cmd_name);
	return EXIT_USAGE;
}

int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tap-nft: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int fail_errno(const char *doing, int err)
{
	if (err == EPERM || err == EACCES)
		return fail("%s: permission denied: nftables needs CAP_NET_ADMIN "
			    "(run tap-nft as root)", doing);
	if (err == EPROTONOSUPPORT || err == EAFNOSUPPORT)
		return fail("%s: this kernel has no nf_tables (modprobe nf_tables)", doing);
	return fail("%s: %s", doing, strerror(err));
}

bool tap_module_loaded(void)
{
	return access("/sys/module/xt_tap", F_OK) == 0;
}

/*
 * The kernel loads xt_tap itself for ip and ip6 tables (alias ipt_tap), but
 * for an inet table it asks for a module name that x_tables has no prefix
 * for; so load it first, as iptables loads its own modules. Failing is
 * fine: the batch then explains.
 */
void tap_module_load(void)
{
	if (!tap_module_loaded())
		xtables_insmod("xt_tap", NULL, true);
}

/* Explains why a batch failed. Nothing was changed: batches are atomic. */
int fail_batch(const struct tn_err *e, bool has_tap, bool inet)
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

void match_opts_init(struct match_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->m.mt.window = XT_TAP_WINDOW_DEFAULT;
}

/* Handles a match option; returns 0, EXIT_USAGE on a bad value, -1 if not one. */
int match_opt(struct match_opts *o, int c, const char *arg)
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

int match_opts_check(const struct match_opts *o)
{
	if (!o->have_port)
		return usage_error("--dport is required (e.g. --dport 22)");
	if (!o->have_key)
		return usage_error("--key-id is required (e.g. --key-id 3, or "
				   "--key-id 100-199)");
	return 0;
}

/* Reports getopt's '?' and ':' results in our words. */
int bad_option(int c, char **argv)
{
	const char *opt = argv[optind - 1];

	if (c == ':')
		return usage_error("option '%s' needs a value", opt);
	return usage_error("unknown option '%s'", opt);
}

void fmt_range(char *buf, size_t len, uint16_t lo, uint16_t hi)
{
	if (lo == hi)
		snprintf(buf, len, "%u", lo);
	else
		snprintf(buf, len, "%u-%u", lo, hi);
}

void describe_match(char *buf, size_t len, const struct tn_match *m)
{
	char port[16];

	fmt_range(port, sizeof(port), m->port_lo, m->port_hi);
	describe_match_ports(buf, len, m, port);
}

void describe_match_ports(char *buf, size_t len, const struct tn_match *m,
			  const char *port)
{
	char key[16];

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
struct nftnl_rule *tap_rule(uint16_t family, const char *table, const char *chain,
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

bool hook_ok(uint32_t hook)
{
	return hook == NF_INET_PRE_ROUTING || hook == NF_INET_LOCAL_IN ||
	       hook == NF_INET_FORWARD;
}

/* ---- chains ---- */

/*
 * Can the chain meet IP fragments? A tap rule makes its netns reassemble
 * them in prerouting at priority -400, so a prerouting base chain at -400
 * or below can (at -400 it depends on which hook registered first), and so
 * can a regular chain, which such a chain may jump to.
 */
bool chain_sees_fragments(const struct nftnl_chain *c)
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
int check_chain(struct tn_sock *s, uint16_t family, const char *table,
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
"  apply [-c FILE] [--check|--hold]    make the ruleset match\n"
"                                      /etc/tap/protect.conf (fail-closed)\n"
"  --version                           show the version\n"
"\n"
"'tap-nft COMMAND --help' tells more; see also tap-nft(8), xt_tap(8),\n"
"tap-keytool(8). The xt_tap module must be loaded (modprobe xt_tap).\n");
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	opterr = 0;
	if (!cmd)
		return usage_error("missing command (add, list, delete, protect, unprotect, apply)");
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		help_main();
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("tap-nft " TAP_VERSION "\n");
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
	if (!strcmp(cmd, "apply"))
		return cmd_apply(argc - 1, argv + 1);
	return usage_error("unknown command '%s' (add, list, delete, protect, unprotect, apply)",
			   cmd);
}
