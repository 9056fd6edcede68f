// SPDX-License-Identifier: GPL-2.0
/*
 * xtables plugin for the "tap" match (xt_tap.ko): TCP SYNs are let in only
 * after a TAP token (docs/PROTOCOL.md). One plugin serves iptables and
 * ip6tables, legacy and nft. There is no .xlate: nftables has no native
 * expression for this match (iptables-nft uses the xt compat expression).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <xtables.h>

#include "tap_num.h"
#include "xt_tap.h"

enum {
	O_KEY_ID = 0,
	O_WINDOW,
	O_NO_DST_BIND,
	O_SRC_BIND,
	O_DROP_INVALID,
};

#define KEY_ID_MAX	65535

static void tap_mt_help(void)
{
	printf(
"tap match options:\n"
"  --key-id N[-M]      accept tokens made with key id N, or with any key id\n"
"                      from N to M (0..65535; required)\n"
"  --window SECONDS    accept tokens whose timestamp is within SECONDS of\n"
"                      now (1..%u; default %u)\n"
"  --no-dst-bind       tokens do not bind the destination address (for DNAT\n"
"                      or anycast); clients must use the same mode\n"
"  --src-bind          tokens bind the client's source address too, so that\n"
"                      nobody can use an observed token from another address;\n"
"                      only without NAT; clients must use the same mode\n"
"  --drop-invalid      drop every SYN that does not match, here: one rule\n"
"                      (-j ACCEPT) instead of an accept and a drop rule\n"
"Use with -p tcp --syn in PREROUTING, INPUT or FORWARD; load keys with\n"
"tap-keytool(8). See xt_tap(8).\n",
	       XT_TAP_WINDOW_MAX, XT_TAP_WINDOW_DEFAULT);
}

static const struct xt_option_entry tap_mt_opts[] = {
	{ .name = "key-id", .id = O_KEY_ID, .type = XTTYPE_STRING },
	{ .name = "window", .id = O_WINDOW, .type = XTTYPE_STRING },
	{ .name = "no-dst-bind", .id = O_NO_DST_BIND, .type = XTTYPE_NONE },
	{ .name = "src-bind", .id = O_SRC_BIND, .type = XTTYPE_NONE },
	{ .name = "drop-invalid", .id = O_DROP_INVALID, .type = XTTYPE_NONE },
	XTOPT_TABLEEND,
};

static void tap_mt_init(struct xt_entry_match *m)
{
	struct xt_tap_mtinfo *info = (void *)m->data;

	info->window = XT_TAP_WINDOW_DEFAULT;
}

/*
 * libtap's strict decimal parser, with the two failures told apart for the
 * error message: 0, or -1 if not a number, or -2 if a number above max.
 */
static int parse_num(const char *s, size_t len, unsigned int max,
		     unsigned int *out)
{
	unsigned long v;

	if (tap_parse_udec(s, len, max, &v)) {
		*out = (unsigned int)v;
		return 0;
	}
	return len && strspn(s, "0123456789") >= len ? -2 : -1;
}

static void bad_key_id(const char *arg, const char *why)
{
	xtables_error(PARAMETER_PROBLEM,
		      "tap: invalid --key-id \"%.40s\": %s", arg, why);
}

static void parse_key_id(const char *arg, struct xt_tap_mtinfo *info)
{
	const char *dash = strchr(arg, '-');
	unsigned int lo, hi;
	size_t len_lo = dash ? (size_t)(dash - arg) : strlen(arg);
	int r;

	r = parse_num(arg, len_lo, KEY_ID_MAX, &lo);
	if (r == -1 && dash && len_lo == 0)
		bad_key_id(arg, "the range has no start (use N-M, e.g. 100-199)");
	if (r == -1)
		bad_key_id(arg, "use a key id N or a range N-M, from 0 to 65535");
	if (r == -2)
		xtables_error(PARAMETER_PROBLEM,
			      "tap: key id %.*s in --key-id is out of range (0..65535)",
			      (int)(len_lo > 20 ? 20 : len_lo), arg);
	hi = lo;
	if (dash) {
		const char *s = dash + 1;

		r = parse_num(s, strlen(s), KEY_ID_MAX, &hi);
		if (r == -1 && *s == '\0')
			bad_key_id(arg, "the range has no end (use N-M, e.g. 100-199)");
		if (r == -1)
			bad_key_id(arg, "use a key id N or a range N-M, from 0 to 65535");
		if (r == -2)
			xtables_error(PARAMETER_PROBLEM,
				      "tap: key id %.20s in --key-id is out of range (0..65535)",
				      s);
		if (hi < lo)
			xtables_error(PARAMETER_PROBLEM,
				      "tap: --key-id range %u-%u is reversed (use %u-%u)",
				      lo, hi, hi, lo);
	}
	info->key_id_min = (__u16)lo;
	info->key_id_max = (__u16)hi;
}

static void parse_window(const char *arg, struct xt_tap_mtinfo *info)
{
	unsigned int w;
	int r;

	r = parse_num(arg, strlen(arg), XT_TAP_WINDOW_MAX, &w);
	if (r == -1)
		xtables_error(PARAMETER_PROBLEM,
			      "tap: invalid --window \"%.40s\": use a number of seconds from 1 to %u",
			      arg, XT_TAP_WINDOW_MAX);
	if (r == -2 || w < 1)
		xtables_error(PARAMETER_PROBLEM,
			      "tap: --window %.20s is out of range: use 1 to %u seconds",
			      arg, XT_TAP_WINDOW_MAX);
	info->window = (__u16)w;
}

static void tap_mt_parse(struct xt_option_call *cb)
{
	struct xt_tap_mtinfo *info = cb->data;

	/* Checks for repeats and "!" (none of these options can invert). */
	xtables_option_parse(cb);
	switch (cb->entry->id) {
	case O_KEY_ID:
		parse_key_id(cb->arg, info);
		break;
	case O_WINDOW:
		parse_window(cb->arg, info);
		break;
	case O_NO_DST_BIND:
		info->flags |= XT_TAP_F_NO_DST_BIND;
		break;
	case O_SRC_BIND:
		info->flags |= XT_TAP_F_SRC_BIND;
		break;
	case O_DROP_INVALID:
		info->flags |= XT_TAP_F_DROP_INVALID;
		break;
	}
}

static void tap_mt_check(struct xt_fcheck_call *cb)
{
	if (!(cb->xflags & (1 << O_KEY_ID)))
		xtables_error(PARAMETER_PROBLEM,
			      "tap: --key-id is required (e.g. -m tap --key-id 3, or --key-id 100-199 for a range)");
}

static void print_key_id(const struct xt_tap_mtinfo *info)
{
	if (info->key_id_min == info->key_id_max)
		printf("%u", info->key_id_min);
	else
		printf("%u-%u", info->key_id_min, info->key_id_max);
}

static void tap_mt_print(const void *ip, const struct xt_entry_match *match,
			 int numeric)
{
	const struct xt_tap_mtinfo *info = (const void *)match->data;

	(void)ip;
	(void)numeric;
	printf(" tap key-id ");
	print_key_id(info);
	printf(" window %us", info->window);
	if (info->flags & XT_TAP_F_NO_DST_BIND)
		printf(" no-dst-bind");
	if (info->flags & XT_TAP_F_SRC_BIND)
		printf(" src-bind");
	if (info->flags & XT_TAP_F_DROP_INVALID)
		printf(" drop-invalid");
	if (info->flags & ~XT_TAP_F_ALL)
		printf(" unknown-flags 0x%x", info->flags & ~XT_TAP_F_ALL);
}

/* Exactly the options that rebuild the rule; defaults are left out. */
static void tap_mt_save(const void *ip, const struct xt_entry_match *match)
{
	const struct xt_tap_mtinfo *info = (const void *)match->data;

	(void)ip;
	printf(" --key-id ");
	print_key_id(info);
	if (info->window != XT_TAP_WINDOW_DEFAULT)
		printf(" --window %u", info->window);
	if (info->flags & XT_TAP_F_NO_DST_BIND)
		printf(" --no-dst-bind");
	if (info->flags & XT_TAP_F_SRC_BIND)
		printf(" --src-bind");
	if (info->flags & XT_TAP_F_DROP_INVALID)
		printf(" --drop-invalid");
}

static struct xtables_match tap_mt_reg = {
	.version	= XTABLES_VERSION,
	.name		= "tap",
	.revision	= 0,
	.family		= NFPROTO_UNSPEC,
	.size		= XT_ALIGN(sizeof(struct xt_tap_mtinfo)),
	.userspacesize	= offsetof(struct xt_tap_mtinfo, state),
	.help		= tap_mt_help,
	.init		= tap_mt_init,
	.print		= tap_mt_print,
	.save		= tap_mt_save,
	.x6_parse	= tap_mt_parse,
	.x6_fcheck	= tap_mt_check,
	.x6_options	= tap_mt_opts,
};

static __attribute__((constructor)) void tap_mt_ldr(void)
{
	xtables_register_match(&tap_mt_reg);
}
