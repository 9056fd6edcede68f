// SPDX-License-Identifier: GPL-2.0
/*
 * Audit events: a generic netlink multicast message for each connection a
 * tap rule accepts and, at most TAP_EVENT_REFUSALS_PER_SEC per netns and
 * second, for each token it refuses (xt_tap.h). The packet path pays for
 * an event only while someone listens, never sleeps and never waits for a
 * listener: an event that cannot be sent at once is counted and lost.
 * Events carry addresses, ports, the key id and the reason; never a key,
 * the realm, a tag or token pieces.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/ktime.h>
#include <linux/timekeeping.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "xt_tap_events.h"

struct xt_tap_ev_counters {
	u64 sent;
	u64 suppressed;
	u64 dropped;
};

struct xt_tap_ev_net {
	atomic64_t budget;	/* wall-clock second << 32 | refusals sent in it */
	struct xt_tap_ev_counters __percpu *cnt;
};

static unsigned int xt_tap_ev_net_id __read_mostly;

DEFINE_PER_CPU(struct xt_tap_ev_keys, xt_tap_ev_keys);
struct tap_ops xt_tap_ev_ops __ro_after_init;

/*
 * The core names the key only through key_event, once per SYN that
 * carried a token. The match runs with bottom halves off, so this CPU's
 * note is the current SYN's until tap_mt() reads it.
 */
static void xt_tap_ev_key_event(void *env, u16 key_id,
				const struct tap_keyref *ref, unsigned int stat)
{
	if (stat < __TAP_STAT_MAX) {
		this_cpu_write(xt_tap_ev_keys.key[stat], key_id);
		this_cpu_or(xt_tap_ev_keys.seen, (u16)BIT(stat));
	}
	if (xt_tap_ops.key_event)
		xt_tap_ops.key_event(env, key_id, ref, stat);
}

/*
 * One more refusal event in the wall-clock second of now_ns (the event's
 * own time, so a listener can check the budget)? Lock-free; a lost race
 * retries.
 */
static bool xt_tap_ev_budget(struct xt_tap_ev_net *en, u64 now_ns)
{
	u64 now = (u32)div_u64(now_ns, NSEC_PER_SEC);
	s64 old = atomic64_read(&en->budget), new;

	do {
		if ((u64)old >> 32 != now)
			new = now << 32 | 1;
		else if ((old & U32_MAX) >= TAP_EVENT_REFUSALS_PER_SEC)
			return false;
		else
			new = old + 1;
	} while (!atomic64_try_cmpxchg(&en->budget, &old, new));
	return true;
}

#define XT_TAP_EV_SIZE (nla_total_size(0) +				\
			nla_total_size(sizeof(u32)) +			\
			nla_total_size(sizeof(u16)) +			\
			nla_total_size(sizeof(u8)) +			\
			2 * nla_total_size(16) +			\
			2 * nla_total_size(sizeof(u16)) +		\
			nla_total_size(sizeof(u32)) +			\
			nla_total_size_64bit(sizeof(u64)))

static int xt_tap_ev_fill(struct sk_buff *skb, const struct tap_syn *syn,
			  u16 window, unsigned int stat, u64 now_ns)
{
	int alen = syn->family == 4 ? 4 : 16;
	struct nlattr *nest;

	nest = nla_nest_start(skb, TAP_A_EVENT);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, TAP_EV_A_OUTCOME, stat) ||
	    ((this_cpu_read(xt_tap_ev_keys.seen) & BIT(stat)) &&
	     nla_put_u16(skb, TAP_EV_A_KEY_ID,
			 this_cpu_read(xt_tap_ev_keys.key[stat]))) ||
	    nla_put_u8(skb, TAP_EV_A_FAMILY, syn->family) ||
	    nla_put(skb, TAP_EV_A_SADDR, alen, syn->saddr.b) ||
	    nla_put(skb, TAP_EV_A_DADDR, alen, syn->daddr.b) ||
	    nla_put_u16(skb, TAP_EV_A_SPORT, syn->sport) ||
	    nla_put_u16(skb, TAP_EV_A_DPORT, syn->dport) ||
	    nla_put_u32(skb, TAP_EV_A_WINDOW, window) ||
	    nla_put_u64_64bit(skb, TAP_EV_A_TIME_NS, now_ns, TAP_EV_A_PAD))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* From tap_mt(), in softirq or with bottom halves off, under RCU. */
void xt_tap_ev_report(struct net *net, const struct tap_syn *syn, u16 window,
		      unsigned int stat)
{
	struct xt_tap_ev_net *en;
	struct sk_buff *skb;
	u64 now_ns;
	void *hdr;
	int err;

	if (!xt_tap_genl_has_listeners(net))
		return;
	en = net_generic(net, xt_tap_ev_net_id);
	now_ns = ktime_get_real_ns();
	if (stat != TAP_STAT_ACCEPTED && !xt_tap_ev_budget(en, now_ns)) {
		this_cpu_inc(en->cnt->suppressed);
		return;
	}
	skb = genlmsg_new(XT_TAP_EV_SIZE, GFP_ATOMIC | __GFP_NOWARN);
	if (!skb)
		goto drop;
	hdr = xt_tap_genl_event_put(skb);
	if (!hdr || xt_tap_ev_fill(skb, syn, window, stat, now_ns)) {
		nlmsg_free(skb);
		goto drop;
	}
	genlmsg_end(skb, hdr);
	/* never blocks: a full receive buffer loses the event (ENOBUFS) */
	err = xt_tap_genl_event_send(net, skb);
	if (!err) {
		this_cpu_inc(en->cnt->sent);
		return;
	}
	if (err == -ESRCH)	/* the listener is in another netns */
		return;
drop:
	this_cpu_inc(en->cnt->dropped);
}

int xt_tap_ev_put_stats(struct sk_buff *skb, struct net *net)
{
	struct xt_tap_ev_net *en = net_generic(net, xt_tap_ev_net_id);
	struct xt_tap_ev_counters sum = {};
	struct nlattr *nest;
	int cpu;

	for_each_possible_cpu(cpu) {
		const struct xt_tap_ev_counters *c = per_cpu_ptr(en->cnt, cpu);

		sum.sent += READ_ONCE(c->sent);
		sum.suppressed += READ_ONCE(c->suppressed);
		sum.dropped += READ_ONCE(c->dropped);
	}
	nest = nla_nest_start(skb, TAP_A_EVENT_STATS);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, TAP_EVS_A_SENT, sum.sent, TAP_EVS_A_PAD) ||
	    nla_put_u64_64bit(skb, TAP_EVS_A_SUPPRESSED, sum.suppressed,
			      TAP_EVS_A_PAD) ||
	    nla_put_u64_64bit(skb, TAP_EVS_A_DROPPED, sum.dropped,
			      TAP_EVS_A_PAD)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int __net_init xt_tap_ev_net_init(struct net *net)
{
	struct xt_tap_ev_net *en = net_generic(net, xt_tap_ev_net_id);

	atomic64_set(&en->budget, 0);
	en->cnt = alloc_percpu_gfp(struct xt_tap_ev_counters,
				   GFP_KERNEL_ACCOUNT);
	return en->cnt ? 0 : -ENOMEM;
}

/* The match no longer runs here (devices are gone): nothing reports. */
static void __net_exit xt_tap_ev_net_exit(struct net *net)
{
	struct xt_tap_ev_net *en = net_generic(net, xt_tap_ev_net_id);

	free_percpu(en->cnt);
	en->cnt = NULL;
}

static struct pernet_operations xt_tap_ev_net_ops = {
	.init	= xt_tap_ev_net_init,
	.exit	= xt_tap_ev_net_exit,
	.id	= &xt_tap_ev_net_id,
	.size	= sizeof(struct xt_tap_ev_net),
};

int xt_tap_ev_register(void)
{
	BUILD_BUG_ON(__TAP_STAT_MAX > 16);	/* xt_tap_ev_keys.seen */
	xt_tap_ev_ops = xt_tap_ops;
	xt_tap_ev_ops.key_event = xt_tap_ev_key_event;
	return register_pernet_subsys(&xt_tap_ev_net_ops);
}

void xt_tap_ev_unregister(void)
{
	unregister_pernet_subsys(&xt_tap_ev_net_ops);
}
