// SPDX-License-Identifier: GPL-2.0
/*
 * xt_tap: the "tap" match. A TCP SYN matches only when the client first sent
 * a token for it in the sequence numbers of a few auth SYNs, see
 * docs/PROTOCOL.md. This file holds the module parameters, the match itself
 * and module init/exit; the protocol is in tap_core.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter/x_tables.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/timekeeping.h>
#include <net/genetlink.h>
#include <net/ipv6.h>
#include <net/netfilter/ipv4/nf_defrag_ipv4.h>
#include <net/netfilter/ipv6/nf_defrag_ipv6.h>

#include "xt_tap_internal.h"
#include "xt_tap_events.h"
/*
 * The shared core, compiled into this file rather than on its own, so that
 * its flood path, tap_syn_look(), inlines into the match.
 */
#include "tap_core.c"

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Xtables: TCP SYN admission by a token in auth SYNs (TAP)");
MODULE_VERSION(TAP_VERSION);
MODULE_ALIAS("ipt_tap");
MODULE_ALIAS("ip6t_tap");
MODULE_ALIAS_GENL_FAMILY(TAP_GENL_NAME);

/*
 * Bounds keep the per-netns memory sane and every lifetime far below the
 * 2^31 ms where tap_core's wrapping millisecond stamps stop being ordered.
 */
#define TAP_BUCKETS_MAX		(1U << 20)
#define TAP_LIFETIME_MAX_MS	3600000U	/* one hour */
#define TAP_KEYS_MAX		65536U		/* every key id */

static unsigned int pending_buckets = 2048;
module_param(pending_buckets, uint, 0444);
MODULE_PARM_DESC(pending_buckets,
		 "pending (auth SYN) table buckets of 16 slots per netns, rounded up to a power of 2 (default 2048)");

static unsigned int authorized_buckets = 1024;
module_param(authorized_buckets, uint, 0444);
MODULE_PARM_DESC(authorized_buckets,
		 "authorized (accepted SYN) table buckets of 4 slots per netns, rounded up to a power of 2 (default 1024)");

static unsigned int replay_capacity = 1U << 20;
module_param(replay_capacity, uint, 0444);
MODULE_PARM_DESC(replay_capacity,
		 "replay cache slots per netns (8 bytes each), rounded up to a power of 2; it carries replay_capacity * 0.6 / (window + 1) new connections/s (default 1048576)");

static unsigned int key_rate = 10000;
module_param(key_rate, uint, 0444);
MODULE_PARM_DESC(key_rate,
		 "new connections/s one key may open unless loaded with its own limit; 0: no limit (default 10000)");

static unsigned int replay_min_rate = 100;
module_param(replay_min_rate, uint, 0444);
MODULE_PARM_DESC(replay_min_rate,
		 "a rule whose window leaves the replay cache fewer new connections/s than this is refused (default 100)");

static unsigned int pending_lifetime_ms = 5000;
module_param(pending_lifetime_ms, uint, 0444);
MODULE_PARM_DESC(pending_lifetime_ms,
		 "how long an auth SYN waits for its real SYN, ms (default 5000)");

static unsigned int retransmit_lifetime_ms = 10000;
module_param(retransmit_lifetime_ms, uint, 0444);
MODULE_PARM_DESC(retransmit_lifetime_ms,
		 "how long retransmissions of an accepted SYN match, ms (default 10000)");

static unsigned int max_keys = 4096;
module_param(max_keys, uint, 0444);
MODULE_PARM_DESC(max_keys, "keys per netns (default 4096)");

struct xt_tap_config xt_tap_cfg __read_mostly;

static int __init tap_param_check(const char *name, unsigned int *val,
				  unsigned int max)
{
	if (*val < 1 || *val > max) {
		pr_err("%s=%u is out of range 1..%u, refusing to load\n",
		       name, *val, max);
		return -EINVAL;
	}
	return 0;
}

/* A table size: 1..max, rounded up to a power of 2. */
static int __init tap_param_pow2(const char *name, unsigned int *val,
				 unsigned int max)
{
	unsigned int r;

	if (tap_param_check(name, val, max))
		return -EINVAL;
	r = roundup_pow_of_two(*val);
	if (r != *val) {
		pr_info("%s=%u rounded up to %u\n", name, *val, r);
		*val = r;	/* sysfs shows what is used */
	}
	return 0;
}

static int __init tap_params_init(void)
{
	if (tap_param_pow2("pending_buckets", &pending_buckets,
			   TAP_BUCKETS_MAX) ||
	    tap_param_pow2("authorized_buckets", &authorized_buckets,
			   TAP_BUCKETS_MAX) ||
	    tap_param_pow2("replay_capacity", &replay_capacity,
			   TAP_BUCKETS_MAX * TAP_REPLAY_WAYS) ||
	    tap_param_check("replay_min_rate", &replay_min_rate, 1000000) ||
	    tap_param_check("pending_lifetime_ms", &pending_lifetime_ms,
			    TAP_LIFETIME_MAX_MS) ||
	    tap_param_check("retransmit_lifetime_ms", &retransmit_lifetime_ms,
			    TAP_LIFETIME_MAX_MS) ||
	    tap_param_check("max_keys", &max_keys, TAP_KEYS_MAX))
		return -EINVAL;

	xt_tap_cfg.pend_buckets = pending_buckets;
	xt_tap_cfg.auth_buckets = authorized_buckets;
	if (replay_capacity < TAP_REPLAY_WAYS) {
		pr_info("replay_capacity=%u raised to %u\n", replay_capacity,
			TAP_REPLAY_WAYS);
		replay_capacity = TAP_REPLAY_WAYS;
	}
	xt_tap_cfg.replay_buckets = replay_capacity / TAP_REPLAY_WAYS;
	xt_tap_cfg.key_rate = key_rate;
	xt_tap_cfg.replay_min_rate = replay_min_rate;
	xt_tap_cfg.pend_lifetime_ms = pending_lifetime_ms;
	xt_tap_cfg.auth_lifetime_ms = retransmit_lifetime_ms;
	xt_tap_cfg.max_keys = max_keys;
	return 0;
}

/* A plain SYN: the only packet that can carry or use a token. */
static bool tap_is_syn(const struct tcphdr *th)
{
	return th->syn && !th->ack && !th->rst && !th->fin;
}

/* What the match makes of a packet. */
enum tap_pkt {
	TAP_PKT_OTHER,		/* not a plain TCP SYN: no match */
	TAP_PKT_SYN,		/* a SYN, its key filled in */
	TAP_PKT_TRUNCATED,	/* TCP header cut short: drop it */
	TAP_PKT_NONLINEAR,	/* TCP header at thoff, not in the linear area */
};

/*
 * Returned in a register: the match's frame holds no thoff to point at.
 * From tap_ipv6_find_tcp(), TAP_PKT_SYN is a TCP header still to be read.
 */
struct tap_l4 {
	unsigned int thoff;
	enum tap_pkt pkt;
};

/* The network header's part of the key: the source, by reference. */
static __always_inline void tap_key_l3(const struct sk_buff *skb, u8 nfproto,
				       struct tap_syn_key *key)
{
	if (nfproto == NFPROTO_IPV4) {
		key->family = 4;
		key->saddr = (const u8 *)&ip_hdr(skb)->saddr;
	} else {
		key->family = 6;
		key->saddr = ipv6_hdr(skb)->saddr.s6_addr;
	}
}

static __always_inline enum tap_pkt tap_key_from_th(const struct tcphdr *th,
						   struct tap_syn_key *key)
{
	if (!tap_is_syn(th))
		return TAP_PKT_OTHER;
	key->sport = ntohs(th->source);
	key->dport = ntohs(th->dest);
	key->seq = ntohl(th->seq);
	return TAP_PKT_SYN;
}

/*
 * The TCP header in place. One beyond the linear area (paged, or split)
 * is left to tap_mt_copied(), so that the flood path's frame holds no
 * header buffer and needs no stack canary.
 */
static __always_inline struct tap_l4 tap_key_tcp(const struct sk_buff *skb,
						 unsigned int thoff, u8 nfproto,
						 struct tap_syn_key *key)
{
	tap_key_l3(skb, nfproto, key);
	/* the test of skb_header_pointer(), without its copy */
	if (unlikely((int)skb_headlen(skb) - (int)thoff <
		     (int)sizeof(struct tcphdr)))
		return (struct tap_l4){ .thoff = thoff, .pkt = TAP_PKT_NONLINEAR };
	return (struct tap_l4){
		.pkt = tap_key_from_th((const struct tcphdr *)(skb->data + thoff),
				       key),
	};
}

static __always_inline struct tap_l4 tap_key_ipv4(const struct sk_buff *skb,
						 const struct xt_action_param *par,
						 struct tap_syn_key *key)
{
	const struct iphdr *iph = ip_hdr(skb);

	/*
	 * Our rules make the netns defragment before any hook that can run
	 * them, so fragments only reach a chain that runs before
	 * defragmentation. A later fragment carries no header to judge.
	 * nft_compat neither rechecks the protocol at run time nor sets a
	 * transport offset for a header it could not parse.
	 */
	if (par->fragoff || iph->protocol != IPPROTO_TCP ||
	    par->thoff < skb_network_offset(skb) + sizeof(*iph))
		return (struct tap_l4){ .pkt = TAP_PKT_OTHER };
	return tap_key_tcp(skb, par->thoff, NFPROTO_IPV4, key);
}

/*
 * Extension headers, or a caller that gave no transport offset of ours:
 * walk them. A later fragment gives -ENOENT; a first fragment whose header
 * chain is cut short is dropped. Out of line: a flood of plain SYNs never
 * comes here, and its locals stay off the common path's stack.
 */
static noinline struct tap_l4 tap_ipv6_find_tcp(const struct sk_buff *skb)
{
	unsigned int thoff = 0;	/* else it names an inner IPv6 header */
	unsigned short fragoff = 0;
	int flags = 0, proto;

	proto = ipv6_find_hdr(skb, &thoff, IPPROTO_TCP, &fragoff, &flags);
	if (proto < 0 && (flags & IP6_FH_F_FRAG) && !fragoff)
		return (struct tap_l4){ .pkt = TAP_PKT_TRUNCATED };
	if (proto != IPPROTO_TCP || fragoff)
		return (struct tap_l4){ .pkt = TAP_PKT_OTHER };
	return (struct tap_l4){ .thoff = thoff, .pkt = TAP_PKT_SYN };
}

static __always_inline struct tap_l4 tap_key_ipv6(const struct sk_buff *skb,
						 const struct xt_action_param *par,
						 struct tap_syn_key *key)
{
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);
	unsigned int thoff = par->thoff;

	/*
	 * Without extension headers the caller's transport offset is ours;
	 * an auth SYN that carries some must still be seen.
	 */
	if (ip6h->nexthdr != IPPROTO_TCP ||
	    thoff != skb_network_offset(skb) + sizeof(*ip6h)) {
		const struct tap_l4 l4 = tap_ipv6_find_tcp(skb);

		if (l4.pkt != TAP_PKT_SYN)
			return l4;
		thoff = l4.thoff;
	}
	return tap_key_tcp(skb, thoff, NFPROTO_IPV6, key);
}

/* The whole SYN, for the few that the flood path's look cannot decide. */
static void tap_syn_fill(struct tap_syn *syn, const struct tap_syn_key *key,
			 const struct sk_buff *skb)
{
	syn->family = key->family;
	syn->sport = key->sport;
	syn->dport = key->dport;
	syn->seq = key->seq;
	if (key->family == 4) {
		memcpy(syn->saddr.b, key->saddr, 4);
		memset(syn->saddr.b + 4, 0, 12);
		memcpy(syn->daddr.b, &ip_hdr(skb)->daddr, 4);
		memset(syn->daddr.b + 4, 0, 12);
	} else {
		memcpy(syn->saddr.b, key->saddr, 16);
		memcpy(syn->daddr.b, &ipv6_hdr(skb)->daddr, 16);
	}
}

/* Monotonic milliseconds, 64-bit: inline where HZ divides a second. */
static __always_inline u64 tap_now_ms(void)
{
	if (MSEC_PER_SEC % HZ == 0)
		return get_jiffies_64() * (MSEC_PER_SEC / HZ);
	return jiffies64_to_msecs(get_jiffies_64());
}

static u8 tap_rule_bind(u16 flags)
{
	return (flags & XT_TAP_F_NO_DST_BIND ? 0 : TAP_BIND_DADDR) |
	       (flags & XT_TAP_F_SRC_BIND ? TAP_BIND_SADDR : 0);
}

static __always_inline void tap_mt_count(struct xt_tap_net *tn,
					 unsigned int stat, bool evicted)
{
	xt_tap_count(tn, stat);
	if (evicted)
		this_cpu_inc(tn->stats->cnt[TAP_STAT_EVICTED]);
}

/*
 * A SYN that the flood path's look could not decide: a retransmission, or
 * the last piece of a token. Out of line, so that a flood SYN builds no
 * context.
 */
static noinline bool tap_mt_decide(const struct sk_buff *skb,
				   const struct xt_action_param *par,
				   const struct tap_syn_key key,
				   struct tap_look look, u64 now_ms)
{
	const struct xt_tap_mtinfo *info = par->matchinfo;
	struct xt_tap_state *st = info->state;
	struct tap_syn syn __uninitialized;
	const struct tap_rule rule = {
		.key_min = info->key_id_min,
		.key_max = info->key_id_max,
		.window = info->window,
		.bind = tap_rule_bind(info->flags),
	};
	/* the flood path does not read the wall clock; these few SYNs may */
	const struct tap_clock clk = {
		.now_s = ktime_get_real_seconds(), .now_ms = now_ms,
	};
	/*
	 * Netfilter runs every hook under rcu_read_lock(): that keeps the
	 * realm and the keys that key_get hands out alive.
	 */
	const struct tap_ctx c = {
		.t = &st->tables,
		.ops = &xt_tap_ev_ops,	/* xt_tap_ops, noting key ids for events */
		.env = st,
		.rule = &rule,
		.syn = &syn,
		.clk = &clk,
		.realm = xt_tap_realm_get(st->tn),
	};
	struct tap_outcome out;

	tap_syn_fill(&syn, &key, skb);
	xt_tap_ev_begin();
	tap_syn_decide(&c, &look, &out);
	tap_mt_count(st->tn, out.stat, out.evicted);
	if (unlikely(xt_tap_ev_outcome(out.stat)))
		xt_tap_ev_report(xt_net(par), &syn, info->window, out.stat);
	return tap_stat_is_match(out.stat);
}

/* The key, or what else the packet is: judge it. */
static __always_inline bool tap_mt_key(const struct sk_buff *skb,
				       struct xt_action_param *par,
				       enum tap_pkt pkt,
				       const struct tap_syn_key *key)
{
	const struct xt_tap_mtinfo *info = par->matchinfo;
	struct xt_tap_state *st = info->state;
	struct tap_look look __uninitialized;
	u64 now_ms;

	if (unlikely(pkt == TAP_PKT_TRUNCATED)) {
		xt_tap_count(st->tn, TAP_STAT_TRUNCATED);
		par->hotdrop = true;
		return false;
	}
	if (pkt != TAP_PKT_SYN)
		return false;

	now_ms = tap_now_ms();
	if (likely(tap_syn_look(&st->tables, key, now_ms, &look))) {
		/* a flood SYN is a piece like any other: nothing more to do */
		tap_mt_count(st->tn, TAP_STAT_INCOMPLETE, look.evicted);
	} else {
		/* by value, so that the flood path keeps them in registers */
		if (tap_mt_decide(skb, par, *key, look, now_ms))
			return true;
	}
	/* --drop-invalid: this rule is the accept and the drop rule in one */
	if (info->flags & XT_TAP_F_DROP_INVALID)
		par->hotdrop = true;
	return false;
}

/* A TCP header beyond the linear area: copied into this frame's buffer. */
static noinline bool tap_mt_copied(const struct sk_buff *skb,
				   struct xt_action_param *par,
				   unsigned int thoff)
{
	struct tap_syn_key key __uninitialized;
	const struct tcphdr *th;
	struct tcphdr _th;

	tap_key_l3(skb, xt_family(par), &key);
	th = skb_header_pointer(skb, thoff, sizeof(_th), &_th);
	/* a first fragment that splits the TCP header is an attack */
	return tap_mt_key(skb, par,
			  th ? tap_key_from_th(th, &key) : TAP_PKT_TRUNCATED,
			  &key);
}

static bool tap_mt(const struct sk_buff *skb, struct xt_action_param *par)
{
	/* every SYN comes here: no zeroing of what is filled in below */
	struct tap_syn_key key __uninitialized;
	struct tap_l4 l4;

	/* in an nft inet chain this is the packet's family, never INET */
	if (xt_family(par) == NFPROTO_IPV4)
		l4 = tap_key_ipv4(skb, par, &key);
	else if (xt_family(par) == NFPROTO_IPV6)
		l4 = tap_key_ipv6(skb, par, &key);
	else
		return false;
	if (unlikely(l4.pkt == TAP_PKT_NONLINEAR))
		return tap_mt_copied(skb, par, l4.thoff);
	return tap_mt_key(skb, par, l4.pkt, &key);
}

/*
 * Every hook of a netns with a tap rule sees whole datagrams: a SYN split
 * into fragments would otherwise slip past the match and the rules around
 * it (nft payload expressions do not match bytes a fragment lacks), and
 * be reassembled later and answered. As xt_socket and xt_TPROXY do.
 */
static int tap_defrag_enable(struct net *net, u8 family)
{
	bool v4 = family == NFPROTO_IPV4 || family == NFPROTO_INET;
	bool v6 = family == NFPROTO_IPV6 || family == NFPROTO_INET;
	int err;

	if (v4) {
		err = nf_defrag_ipv4_enable(net);
		if (err)
			return err;
	}
	if (v6) {
#if IS_ENABLED(CONFIG_NF_DEFRAG_IPV6)
		err = nf_defrag_ipv6_enable(net);
#else
		err = -EOPNOTSUPP;
#endif
		if (err) {
			if (v4)
				nf_defrag_ipv4_disable(net);
			return err;
		}
	}
	return 0;
}

static void tap_defrag_disable(struct net *net, u8 family)
{
	if (family == NFPROTO_IPV4 || family == NFPROTO_INET)
		nf_defrag_ipv4_disable(net);
#if IS_ENABLED(CONFIG_NF_DEFRAG_IPV6)
	if (family == NFPROTO_IPV6 || family == NFPROTO_INET)
		nf_defrag_ipv6_disable(net);
#endif
}

/*
 * Every token a rule accepts is remembered until no rule of the netns
 * could accept it again, so a long window costs replay cache: refuse one
 * the cache cannot carry at replay_min_rate rather than lose tokens later.
 */
static int tap_window_check(u32 window)
{
	u64 slots = (u64)xt_tap_cfg.replay_buckets * TAP_REPLAY_WAYS;
	u64 rate = tap_replay_rated_rate(slots, window);
	u64 need;

	if (rate >= xt_tap_cfg.replay_min_rate)
		return 0;
	need = DIV_ROUND_UP_ULL((u64)xt_tap_cfg.replay_min_rate * (window + 1) *
				1000, TAP_REPLAY_LOAD_PERMILLE);
	pr_info_ratelimited("window %u s: the replay cache (replay_capacity=%llu) carries only %llu new connections/s at it, fewer than replay_min_rate=%u; load xt_tap with replay_capacity=%llu or more\n",
			    window, slots, rate, xt_tap_cfg.replay_min_rate,
			    (u64)roundup_pow_of_two(need));
	return -EINVAL;
}

static int tap_mt_check(const struct xt_mtchk_param *par)
{
	struct xt_tap_mtinfo *info = par->matchinfo;
	struct xt_tap_state *st;
	int err;

	/*
	 * The NFPROTO_UNSPEC entry exists for nft inet tables; x_tables also
	 * offers it to arp and bridge tables, which carry no TCP/IP packet.
	 */
	if (par->family != NFPROTO_IPV4 && par->family != NFPROTO_IPV6 &&
	    par->family != NFPROTO_INET) {
		pr_info_ratelimited("only valid in ip, ip6 and inet tables\n");
		return -EINVAL;
	}
	if (info->flags & ~XT_TAP_F_ALL) {
		pr_info_ratelimited("unknown flags 0x%x\n",
				    info->flags & ~XT_TAP_F_ALL);
		return -EINVAL;
	}
	if (info->key_id_min > info->key_id_max) {
		pr_info_ratelimited("key id range %u-%u is empty\n",
				    info->key_id_min, info->key_id_max);
		return -EINVAL;
	}
	if (!info->window || info->window > XT_TAP_WINDOW_MAX) {
		pr_info_ratelimited("window %u s is out of range 1..%u\n",
				    info->window, XT_TAP_WINDOW_MAX);
		return -EINVAL;
	}
	err = tap_window_check(info->window);
	if (err)
		return err;

	err = tap_defrag_enable(par->net, par->family);
	if (err) {
		pr_info_ratelimited("cannot enable IP defragmentation (%d)\n",
				    err);
		return err;
	}
	st = xt_tap_state_get(par->net, info->window);
	if (IS_ERR(st)) {
		tap_defrag_disable(par->net, par->family);
		return PTR_ERR(st);
	}
	info->state = st;
	return 0;
}

static void tap_mt_destroy(const struct xt_mtdtor_param *par)
{
	const struct xt_tap_mtinfo *info = par->matchinfo;

	xt_tap_state_put(par->net, info->state, info->window);
	tap_defrag_disable(par->net, par->family);
}

#define TAP_HOOKS ((1 << NF_INET_PRE_ROUTING) | (1 << NF_INET_LOCAL_IN) | \
		   (1 << NF_INET_FORWARD))

/*
 * nft_compat looks a match up under the table's family: ip, ip6, or for
 * inet tables NFPROTO_INET, which x_tables resolves through NFPROTO_UNSPEC.
 */
#define TAP_MT_ENTRY(nfproto) {					\
	.name		= "tap",					\
	.revision	= 0,						\
	.family		= nfproto,					\
	.match		= tap_mt,					\
	.checkentry	= tap_mt_check,					\
	.destroy	= tap_mt_destroy,				\
	.matchsize	= sizeof(struct xt_tap_mtinfo),			\
	.usersize	= offsetof(struct xt_tap_mtinfo, state),	\
	.proto		= IPPROTO_TCP,					\
	.hooks		= TAP_HOOKS,					\
	.me		= THIS_MODULE,					\
}

static struct xt_match tap_mt_reg[] __read_mostly = {
	TAP_MT_ENTRY(NFPROTO_IPV4),
	TAP_MT_ENTRY(NFPROTO_IPV6),
	TAP_MT_ENTRY(NFPROTO_UNSPEC),
};

static int __init tap_mt_init(void)
{
	int ret;

	ret = tap_params_init();
	if (ret)
		return ret;
	ret = xt_tap_selftest();
	if (ret)
		return ret;

	ret = xt_tap_net_register();
	if (ret)
		return ret;
	ret = xt_tap_ev_register();
	if (ret)
		goto err_net;
	ret = xt_tap_genl_register();
	if (ret)
		goto err_ev;
	ret = xt_register_matches(tap_mt_reg, ARRAY_SIZE(tap_mt_reg));
	if (ret)
		goto err_genl;
	return 0;

err_genl:
	xt_tap_genl_unregister();
err_ev:
	xt_tap_ev_unregister();
err_net:
	xt_tap_net_unregister();
	rcu_barrier();	/* keys someone loaded meanwhile */
	return ret;
}

static void __exit tap_mt_exit(void)
{
	xt_unregister_matches(tap_mt_reg, ARRAY_SIZE(tap_mt_reg));
	xt_tap_genl_unregister();
	xt_tap_ev_unregister();
	xt_tap_net_unregister();
	rcu_barrier();	/* the call_rcu key frees run our code */
}

module_init(tap_mt_init);
module_exit(tap_mt_exit);
