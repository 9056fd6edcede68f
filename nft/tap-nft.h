/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tap-nft: nftables rules that carry the xt "tap" match (through the kernel's
 * nft_compat), built with libnftnl and sent with libmnl.
 *
 *   tap-nft.c        the front end, and what the commands share
 *   cmd_add.c, cmd_list.c, cmd_delete.c, cmd_protect.c, cmd_unprotect.c
 *                    one file per command
 *   protect.c        what protect and unprotect share, and their retry
 *   cmd_apply.c, protect_conf.c
 *                    apply: protect from /etc/tap/protect.conf, fail-closed
 *   rule.c           the expressions of a tap rule, and decoding rules back
 *
 * The netlink layer and the shared expressions are libtap's (lib/tap_nfnl.h,
 * lib/tap_nfexpr.h).
 */
#ifndef TAP_NFT_H
#define TAP_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "tap_nfnl.h"
#include "xt_tap.h"

/* Bytes of struct xt_tap_mtinfo that userspace owns (the match's .usersize). */
#define TN_MT_USERSIZE	offsetof(struct xt_tap_mtinfo, state)

#define TN_BATCH_MAX	64	/* messages in a batch; protect needs about 20 */

/* ---- rule.c ----------------------------------------------------------- */

struct tn_match {
	uint16_t port_lo, port_hi;
	struct xt_tap_mtinfo mt;	/* state stays zero */
};

enum tn_verdict { TN_ACCEPT, TN_DROP };

struct nftnl_rule *tn_rule_new(uint16_t family, const char *table,
			       const char *chain);
void tn_put_tcp_dport(struct nftnl_rule *r, uint16_t lo, uint16_t hi);
void tn_put_syn(struct nftnl_rule *r, bool is_syn);
void tn_put_ct_state(struct nftnl_rule *r, uint32_t any_of);
void tn_put_tap(struct nftnl_rule *r, const struct xt_tap_mtinfo *mt);
void tn_put_counter(struct nftnl_rule *r);
void tn_put_verdict(struct nftnl_rule *r, enum tn_verdict v);
void tn_put_comment(struct nftnl_rule *r, const char *comment);

/* What tap-nft list shows of a rule. */
struct tn_decoded {
	bool tap;		/* has an xt match "tap" */
	bool info_ok;		/* its info has the expected size */
	struct xt_tap_mtinfo mt;
	uint8_t raw[32];	/* the match info as dumped (first 32 bytes) */
	uint32_t raw_len;
	bool port;		/* a tcp dport condition was found */
	bool port_neg;
	uint16_t port_lo, port_hi;
	bool syn;		/* SYN-only condition found */
	char verdict[80];
};

void tn_decode(const struct nftnl_rule *r, struct tn_decoded *d);

/*
 * Canonical text of a rule's statements, for comparing a rule built here
 * with the one the kernel dumps: counters' values, handles and positions
 * are left out, the tap match's kernel-private tail is ignored.
 */
void tn_rule_canon(const struct nftnl_rule *r, char *buf, size_t len);

/* Comment stored in table / chain / rule user data, or "" */
void tn_udata_comment(const void *data, uint32_t len, uint8_t type,
		      char *out, size_t outlen);

const char *tn_family_name(uint16_t family);
int tn_family_parse(const char *s);	/* -1 if unknown */
const char *tn_hook_name(uint32_t hooknum);

/* ---- tap-nft.c ------------------------------------------------------- */

#define EXIT_USAGE	2

extern const char *cmd_name;	/* "tap-nft COMMAND", for messages */

/* Print to stderr; return the exit status (EXIT_USAGE, 1). */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fail_errno(const char *doing, int err);
/* Explains why a batch failed. Nothing was changed: batches are atomic. */
int fail_batch(const struct tn_err *e, bool has_tap, bool inet);
bool tap_module_loaded(void);
void tap_module_load(void);

enum {
	OPT_DPORT = 256, OPT_KEY_ID, OPT_WINDOW, OPT_NO_DST_BIND, OPT_SRC_BIND,
	OPT_DROP_INVALID,
	OPT_FAMILY, OPT_HOOK, OPT_TABLE,
};

/* The getopt_long entries of the options that every match takes. */
#define MATCH_LONG_OPTS \
	{ "dport", required_argument, NULL, OPT_DPORT }, \
	{ "key-id", required_argument, NULL, OPT_KEY_ID }, \
	{ "window", required_argument, NULL, OPT_WINDOW }, \
	{ "no-dst-bind", no_argument, NULL, OPT_NO_DST_BIND }, \
	{ "src-bind", no_argument, NULL, OPT_SRC_BIND }

struct match_opts {
	struct tn_match m;
	bool have_port, have_key;
};

void match_opts_init(struct match_opts *o);
/* Handles a match option; returns 0, EXIT_USAGE on a bad value, -1 if not one. */
int match_opt(struct match_opts *o, int c, const char *arg);
int match_opts_check(const struct match_opts *o);
/* Reports getopt's '?' and ':' results in our words. */
int bad_option(int c, char **argv);
void fmt_range(char *buf, size_t len, uint16_t lo, uint16_t hi);
void describe_match(char *buf, size_t len, const struct tn_match *m);
/* The same with the ports given as text (a list of them). */
void describe_match_ports(char *buf, size_t len, const struct tn_match *m,
			  const char *ports);

struct nftnl_rule *tap_rule(uint16_t family, const char *table, const char *chain,
			    const struct tn_match *m, enum tn_verdict v,
			    bool sees_fragments);
bool hook_ok(uint32_t hook);
bool chain_sees_fragments(const struct nftnl_chain *c);
int check_chain(struct tn_sock *s, uint16_t family, const char *table,
		const char *chain, bool *sees_fragments);

/* ---- one file per command: argv[0] is the command ---------------------- */

int cmd_add(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_protect(int argc, char **argv);
int cmd_unprotect(int argc, char **argv);
int cmd_apply(int argc, char **argv);

#endif /* TAP_NFT_H */
