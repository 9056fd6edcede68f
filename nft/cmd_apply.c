// SPDX-License-Identifier: GPL-2.0
/*
 * tap-nft apply: makes the ruleset match /etc/tap/protect.conf, in one
 * batch, with protect's tables (protect.c, cmd_protect.c). Fails closed:
 * without the module or the keys, the ports get a plain drop instead of
 * the tap match. With --hold, it stays resident and owns the tables
 * (NFT_TABLE_F_OWNER | NFT_TABLE_F_PERSIST, Linux 6.9+), so that
 * "nft flush ruleset" cannot remove them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "tap-nft.h"
#include "protect.h"
#include "protect_conf.h"

#ifndef NFT_TABLE_F_PERSIST
#define NFT_TABLE_F_PERSIST	0x4	/* Linux 6.9: an owned table outlives its owner */
#endif
#define HOLD_FLAGS	(NFT_TABLE_F_OWNER | NFT_TABLE_F_PERSIST)

/* Exit status: the ports are dropped for everyone, the tap match is not there. */
#define EXIT_FAIL_CLOSED	3

static void help_apply(void)
{
	printf(
"Usage: tap-nft apply [-c FILE] [--check | --hold]\n"
"\n"
"Makes the ruleset match FILE (default %s): the tables\n"
"that tap-nft protect would make for it, in one atomic batch; nothing when\n"
"they are already there.\n"
"Fails closed: if the xt_tap module cannot be loaded, or the key directory\n"
"(key-dir, default %s) has no readable *.key file, the\n"
"configured ports get a plain drop (no tap match) and apply exits %d.\n"
"  -c, --config FILE  the configuration (see tap-nft(8), PROTECT.CONF)\n"
"      --check        check FILE only; change nothing\n"
"      --hold         Linux 6.9 and later: stay resident (in the background)\n"
"                     owning the tables, which \"nft flush ruleset\" then\n"
"                     leaves alone; SIGHUP re-applies FILE; the tables stay\n"
"                     when it exits. Older kernels: apply and exit\n"
"  -h, --help         this help\n"
"Exit status: 0 applied (or already in place), 1 error, 2 bad usage or\n"
"configuration (1 and 2: nothing changed), %d ports dropped (fail-closed).\n",
	       PROTECT_CONF_DEFAULT, PROTECT_KEY_DIR_DEFAULT, EXIT_FAIL_CLOSED,
	       EXIT_FAIL_CLOSED);
}

struct apply {
	const char *path;
	bool check, hold;
	bool take;		/* replace even an identical table: to own it */
	bool holding;		/* this process owns the tables */
	struct protect_conf conf;
	char why_closed[PATH_MAX + 96];	/* "" unless failing closed */
	char names[64], desc[PLAN_PORTS_MAX * 14 + 160];
};

/* "" if dir has a *.key regular file we can read; else why not, in why. */
static void check_key_dir(const char *dir, char *why, size_t len)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	bool found = false;

	if (!d) {
		snprintf(why, len, "the key directory %s cannot be read: %s", dir,
			 strerror(errno));
		return;
	}
	while (!found && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		int fd;

		if (n <= 4 || strcmp(e->d_name + n - 4, ".key"))
			continue;
		fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0) {
			found = true;
			close(fd);
		}
	}
	closedir(d);
	if (!found)
		snprintf(why, len, "the key directory %s has no readable *.key file", dir);
}

/* Sets a->why_closed if the tap match cannot work: no module, no keys. */
static void check_fail_closed(struct apply *a)
{
	a->why_closed[0] = '\0';
	tap_module_load();
	if (!tap_module_loaded())
		snprintf(a->why_closed, sizeof(a->why_closed),
			 "the xt_tap module cannot be loaded (modprobe xt_tap failed)");
	else
		check_key_dir(a->conf.key_dir, a->why_closed, sizeof(a->why_closed));
}

/* Fail-closed plan: a plain drop of every SYN to the ports, no tap match. */
static void plan_fail_closed(struct plan *p)
{
	int i, k;

	for (i = 0; i < p->n; i++) {
		for (k = 0; k < p->nports; k++) {
			struct nftnl_rule *r = tn_rule_new(p->fam[i].family, p->table,
							   CHAIN_SYN);

			tn_put_tcp_dport(r, p->port_lo[k], p->port_hi[k]);
			tn_put_syn(r, true);
			tn_put_counter(r);
			tn_put_verdict(r, TN_DROP);
			tn_put_comment(r, "TAP FAIL-CLOSED: no module or no keys: every SYN dropped");
			nftnl_rule_free(p->fam[i].rule[2 * k]);
			p->fam[i].rule[2 * k] = r;
		}
	}
}

/* Is one of our tables owned by a netlink socket (a tap-nft apply --hold)? */
static int held_elsewhere(struct tn_sock *s, const struct plan *p, uint32_t *owner)
{
	size_t k;
	int ret, held = 0;

	for (k = 0; k < NALLFAM && !held; k++) {
		struct nftnl_table *t = NULL;

		ret = tn_get_table(s, all_families[k], p->table, &t);
		if (ret == -ENOENT)
			continue;
		if (ret < 0)
			return ret;
		if (nftnl_table_is_set(t, NFTNL_TABLE_FLAGS) &&
		    (nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS) & NFT_TABLE_F_OWNER)) {
			held = 1;
			*owner = nftnl_table_is_set(t, NFTNL_TABLE_OWNER) ?
				 nftnl_table_get_u32(t, NFTNL_TABLE_OWNER) : 0;
		}
		nftnl_table_free(t);
	}
	return held;
}

static int apply_build(struct tn_sock *s, uint32_t genid, struct tn_batch **out, void *ctx)
{
	struct apply *a = ctx;
	const struct plan *p = &a->conf.p;
	bool present[NALLFAM], foreign;
	uint32_t owner = 0;
	int ret, held = 0;

	ret = find_tables(s, p->table, present, &foreign);
	if (ret == 0 && !foreign && !a->holding)
		ret = held = held_elsewhere(s, p, &owner);
	if (ret >= 0 && !foreign && !a->take)
		ret = already_protected(s, p, present);
	if (ret < 0)
		return fail_errno("reading the ruleset", -ret);
	if (foreign)
		return 1;
	if (ret == 1) {
		printf("protection already in place (%s: %s, hook %s%s); nothing changed\n",
		       a->names, a->desc, tn_hook_name(p->hook),
		       held ? ", held by tap-nft apply --hold" : "");
		return 0;
	}
	if (held)
		return fail("table %s is held by another process (netlink port %u, "
			    "tap-nft apply --hold) and differs from %s: re-apply through "
			    "it (kill -HUP it, or systemctl restart tap-protect); nothing "
			    "was changed", p->table, owner, a->path);
	*out = tn_batch_new(genid, TN_BATCH_MAX);
	if (!*out)
		exit(fail("out of memory"));
	protect_batch(*out, p, present);
	return 0;
}

/*
 * Does the kernel take NFT_TABLE_F_PERSIST (6.9+)? One batch creates and
 * deletes a scratch table with it: the ruleset ends as it was.
 */
static bool kernel_can_hold(struct tn_sock *s)
{
	struct tn_batch *b = tn_batch_new(0, 4);
	struct nftnl_table *t;
	struct tn_err e = { 0 };
	char name[32];
	int ret;

	if (!b)
		exit(fail("out of memory"));
	snprintf(name, sizeof(name), "tap_probe_%ld", (long)getpid());
	t = mk_table(NFPROTO_INET, name, false);
	nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, HOLD_FLAGS);
	tn_batch_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, t, "probe");
	tn_batch_table(b, NFT_MSG_DELTABLE, 0, t, "probe");
	ret = tn_batch_commit(s, b, &e, NULL);
	tn_batch_free(b);
	nftnl_table_free(t);
	return ret == 0;
}

/* The plan of a->conf, fail-closed or not, owned or not. */
static void apply_plan(struct apply *a)
{
	struct plan *p = &a->conf.p;
	int i;

	plan_build(p);
	if (a->why_closed[0])
		plan_fail_closed(p);
	for (i = 0; i < p->n; i++)
		if (a->hold)
			nftnl_table_set_u32(p->fam[i].table, NFTNL_TABLE_FLAGS, HOLD_FLAGS);
	describe_plan(a->desc, sizeof(a->desc), p);
	a->names[0] = '\0';
	for (i = 0; i < p->n; i++)
		snprintf(a->names + strlen(a->names), sizeof(a->names) - strlen(a->names),
			 "%s%s %s", i ? ", " : "", tn_family_name(p->fam[i].family),
			 p->table);
}

/* Reads the file, then makes the ruleset match it. The exit status. */
static int apply_once(struct tn_sock *s, struct apply *a)
{
	char port[PLAN_PORTS_MAX * 14];
	int ret;

	ret = protect_conf_read(a->path, &a->conf);
	if (ret)
		return ret;
	check_fail_closed(a);
	apply_plan(a);
	ret = commit_retrying(s, apply_build, a, !a->why_closed[0],
			      a->conf.p.n == 1 && a->conf.p.fam[0].family == NFPROTO_INET);
	plan_free(&a->conf.p);
	if (ret == COMMITTED) {
		printf("applied %s (%s: %s, hook %s)\n", a->path, a->names, a->desc,
		       tn_hook_name(a->conf.p.hook));
		ret = 0;
	}
	if (ret == 0 && a->why_closed[0]) {
		fmt_plan_ports(port, sizeof(port), &a->conf.p);
		fprintf(stderr, "tap-nft: FAIL-CLOSED: %s. TCP port%s %s %s DROPPED for "
			"everyone, keyed clients included, until that is fixed and tap-nft "
			"apply runs again (systemctl restart tap-protect)\n",
			a->why_closed, a->conf.p.nports > 1 ? "s" : "", port,
			a->conf.p.nports > 1 ? "are" : "is");
		ret = EXIT_FAIL_CLOSED;
	}
	return ret;
}

/* The resident part of --hold: SIGHUP re-applies, SIGTERM/SIGINT end. */
static int hold(struct tn_sock *s, struct apply *a, const sigset_t *sigs)
{
	int sig;

	/* messages to stderr (the journal): $(tap-nft apply --hold) returns */
	dup2(STDERR_FILENO, STDOUT_FILENO);
	setsid();
	a->take = false;
	for (;;) {
		if (sigwait(sigs, &sig))
			return 1;
		if (sig != SIGHUP)
			break;
		fprintf(stderr, "tap-nft: SIGHUP: applying %s again\n", a->path);
		apply_once(s, a);
	}
	fprintf(stderr, "tap-nft: exiting; the tables stay (orphaned: nft flush "
		"ruleset removes them from now on)\n");
	return 0;
}

static int apply_options(int argc, char **argv, struct apply *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "hold", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			help_apply();
			return -1;
		case 'c':
			a->path = optarg;
			break;
		case 'C':
			a->check = true;
			break;
		case 'H':
			a->hold = true;
			break;
		default:
			return bad_option(c, argv);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (a->check && a->hold)
		return usage_error("--check and --hold exclude each other");
	return 0;
}

static int apply_check(struct apply *a)
{
	int ret = protect_conf_read(a->path, &a->conf);

	if (ret)
		return ret;
	apply_plan(a);
	plan_free(&a->conf.p);
	printf("%s: OK (%s: %s, hook %s, keys in %s)\n", a->path, a->names, a->desc,
	       tn_hook_name(a->conf.p.hook), a->conf.key_dir);
	return 0;
}

/* Applies with ownership; stays resident in a child if it worked. */
static int apply_hold(struct tn_sock *s, struct apply *a)
{
	sigset_t sigs;
	pid_t pid;
	int ret;

	if (!kernel_can_hold(s)) {
		a->hold = false;
		fprintf(stderr, "tap-nft: --hold: this kernel has no NFT_TABLE_F_PERSIST "
			"(Linux 6.9 and later): applying without holding; \"nft flush "
			"ruleset\" removes the tables, and tap-protect.service applies "
			"them again when nftables.service starts or reloads\n");
		return apply_once(s, a);
	}
	a->take = true;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	ret = apply_once(s, a);
	if (ret)
		return ret;	/* failing closed or failed: nothing to hold */
	a->holding = true;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return fail_errno("fork", errno);
	if (pid > 0) {
		printf("holding %s in the background (pid %ld): nft flush ruleset "
		       "leaves it alone\n", a->names, (long)pid);
		return 0;
	}
	exit(hold(s, a, &sigs));
}

int cmd_apply(int argc, char **argv)
{
	struct apply a = { .path = PROTECT_CONF_DEFAULT };
	struct tn_sock *s = NULL;
	int ret;

	cmd_name = "tap-nft apply";
	ret = apply_options(argc, argv, &a);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (a.check)
		return apply_check(&a);
	ret = tn_open(&s);
	if (ret < 0)
		return fail_errno("opening a netlink socket", -ret);
	ret = a.hold ? apply_hold(s, &a) : apply_once(s, &a);
	tn_close(s);
	return ret;
}
