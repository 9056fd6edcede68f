// SPDX-License-Identifier: GPL-2.0
/*
 * tap_inject: a TEST-ONLY module that injects a flood of TCP SYNs into the
 * receive path of a network device, as if that device had received them,
 * and times the whole loop. bench/guest_flood.sh uses it in the qemu guest to
 * compare the per-SYN cost of netfilter rulesets. Never load it on a real
 * machine: it forges packets from spoofed sources.
 *
 * Configure through the module parameters (at insmod time or later in
 * /sys/module/tap_inject/parameters/), then start a run by writing a count:
 *
 *   echo 100000 > /sys/module/tap_inject/parameters/run
 *   cat /sys/module/tap_inject/parameters/result
 *
 * The device is looked up by name in the network namespace of the process
 * that writes "run", so `ip netns exec NS sh -c 'echo N > .../run'` floods NS.
 * Each SYN gets a random source port and sequence number (or the ones in
 * "seqs", in turn) and a source address made of "src" with its low
 * "src_bits" bits random (0: always "src"). The
 * generator is a seeded prandom, so a boot with the same parameters replays
 * the same packets.
 *
 * The timed loop builds each skb (Ethernet, IPv4 or IPv6, and TCP headers
 * with correct checksums, CHECKSUM_UNNECESSARY), then hands it to
 * netif_receive_skb() with bottom halves disabled, as a NAPI driver would.
 * With deliver=0 it frees the skb instead, which measures the injector's own
 * share of the cost.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/if_arp.h>
#include <linux/inet.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/nsproxy.h>
#include <linux/prandom.h>
#include <linux/sched/signal.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <net/ip.h>
#include <net/ip6_checksum.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <net/tcp.h>

#define INJ_BATCH	64	/* SYNs per bh-disabled section */
#define INJ_MAX_COUNT	100000000U

static char dev_name_param[IFNAMSIZ] = "dummy0";
module_param_string(dev, dev_name_param, sizeof(dev_name_param), 0644);
MODULE_PARM_DESC(dev, "device the SYNs arrive on, in the writer's netns (dummy0)");

static unsigned int family = 4;
module_param(family, uint, 0644);
MODULE_PARM_DESC(family, "4 or 6 (4)");

static char dst_param[INET6_ADDRSTRLEN] = "10.0.0.1";
module_param_string(dst, dst_param, sizeof(dst_param), 0644);
MODULE_PARM_DESC(dst, "destination address, of the given family (10.0.0.1)");

static char src_param[INET6_ADDRSTRLEN] = "10.200.0.0";
module_param_string(src, src_param, sizeof(src_param), 0644);
MODULE_PARM_DESC(src, "source address pattern, of the given family (10.200.0.0)");

static unsigned int src_bits = 16;
module_param(src_bits, uint, 0644);
MODULE_PARM_DESC(src_bits, "random low bits of the source address, 0-32 (16)");

static ushort dport = 22;
module_param(dport, ushort, 0644);
MODULE_PARM_DESC(dport, "destination port (22)");

static ushort sport;
module_param(sport, ushort, 0644);
MODULE_PARM_DESC(sport, "source port, 0 for random (0)");

/*
 * Sequence numbers to use instead of random ones, in turn: the crafted
 * worst case plants pieces and then repeats one "real SYN".
 */
#define INJ_MAX_SEQS	16
static u32 seqs[INJ_MAX_SEQS];
static unsigned int nseqs;
module_param_array(seqs, uint, &nseqs, 0644);
MODULE_PARM_DESC(seqs, "up to 16 sequence numbers to cycle through (fixed_seqs)");
static unsigned int seq_next;
static bool fixed_seqs;
module_param(fixed_seqs, bool, 0644);
MODULE_PARM_DESC(fixed_seqs, "1: take the sequence numbers from seqs (0)");

static bool deliver = true;
module_param(deliver, bool, 0644);
MODULE_PARM_DESC(deliver, "pass SYNs to netif_receive_skb; 0 frees them (1)");

static ulong seed = 1;
module_param(seed, ulong, 0444);
MODULE_PARM_DESC(seed, "prandom seed, read at load time (1)");

static struct rnd_state inj_rnd;

/* The last run, printed by the "result" parameter. */
static struct {
	u32 count;
	u32 rejected;	/* netif_receive_skb() said the SYN was dropped */
	u64 ns;
} last;

struct inj_cfg {
	struct net_device *dev;
	bool v6;
	__be32 dst4, src4;
	struct in6_addr dst6, src6;
	u32 src_mask;
};

static u32 inj_rand(void)
{
	return prandom_u32_state(&inj_rnd);
}

/* src with its low src_bits bits random */
static u32 inj_low_bits(u32 base, u32 mask)
{
	return (base & ~mask) | (inj_rand() & mask);
}

static void inj_fill_tcp(struct tcphdr *th)
{
	memset(th, 0, sizeof(*th));
	th->source = htons(sport ? sport : 1024 + inj_rand() % (65536 - 1024));
	th->dest = htons(dport);
	if (fixed_seqs && nseqs)
		th->seq = htonl(seqs[seq_next++ % nseqs]);
	else
		th->seq = (__force __be32)inj_rand();
	th->doff = sizeof(*th) / 4;
	th->syn = 1;
	th->window = htons(64240);
}

static struct sk_buff *inj_build(const struct inj_cfg *c)
{
	unsigned int l3len = c->v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	unsigned int tcplen = sizeof(struct tcphdr);
	struct sk_buff *skb;
	struct ethhdr *eth;
	struct tcphdr *th;

	skb = netdev_alloc_skb_ip_align(c->dev, ETH_HLEN + l3len + tcplen);
	if (!skb)
		return NULL;
	eth = skb_put(skb, ETH_HLEN);
	ether_addr_copy(eth->h_dest, c->dev->dev_addr);
	eth_zero_addr(eth->h_source);
	eth->h_source[0] = 0x02;	/* locally administered */
	eth->h_source[5] = 0x01;
	eth->h_proto = htons(c->v6 ? ETH_P_IPV6 : ETH_P_IP);

	if (c->v6) {
		struct ipv6hdr *ip6h = skb_put(skb, sizeof(*ip6h));

		ip6_flow_hdr(ip6h, 0, 0);
		ip6h->payload_len = htons(tcplen);
		ip6h->nexthdr = IPPROTO_TCP;
		ip6h->hop_limit = 64;
		ip6h->saddr = c->src6;
		ip6h->saddr.s6_addr32[3] =
			htonl(inj_low_bits(ntohl(c->src6.s6_addr32[3]), c->src_mask));
		ip6h->daddr = c->dst6;
		th = skb_put(skb, tcplen);
		inj_fill_tcp(th);
		th->check = tcp_v6_check(tcplen, &ip6h->saddr, &ip6h->daddr,
					 csum_partial(th, tcplen, 0));
	} else {
		struct iphdr *iph = skb_put(skb, sizeof(*iph));

		memset(iph, 0, sizeof(*iph));
		iph->version = 4;
		iph->ihl = sizeof(*iph) / 4;
		iph->tot_len = htons(sizeof(*iph) + tcplen);
		iph->id = htons(inj_rand() & 0xffff);
		iph->frag_off = htons(IP_DF);
		iph->ttl = 64;
		iph->protocol = IPPROTO_TCP;
		iph->saddr = htonl(inj_low_bits(ntohl(c->src4), c->src_mask));
		iph->daddr = c->dst4;
		iph->check = ip_fast_csum(iph, iph->ihl);
		th = skb_put(skb, tcplen);
		inj_fill_tcp(th);
		th->check = tcp_v4_check(tcplen, iph->saddr, iph->daddr,
					 csum_partial(th, tcplen, 0));
	}

	skb->protocol = eth_type_trans(skb, c->dev);	/* pulls the MAC header */
	skb_reset_network_header(skb);
	skb_set_transport_header(skb, l3len);
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	return skb;
}

static int inj_parse(struct inj_cfg *c)
{
	if (family != 4 && family != 6)
		return -EINVAL;
	if (src_bits > 32)
		return -EINVAL;
	c->v6 = family == 6;
	c->src_mask = src_bits == 32 ? ~0U : (1U << src_bits) - 1;
	if (c->v6) {
		if (!in6_pton(dst_param, -1, c->dst6.s6_addr, -1, NULL) ||
		    !in6_pton(src_param, -1, c->src6.s6_addr, -1, NULL))
			return -EINVAL;
	} else {
		if (!in4_pton(dst_param, -1, (u8 *)&c->dst4, -1, NULL) ||
		    !in4_pton(src_param, -1, (u8 *)&c->src4, -1, NULL))
			return -EINVAL;
	}
	return 0;
}

static int inj_run(u32 count)
{
	char name[IFNAMSIZ];
	struct inj_cfg c;
	u32 done = 0, rejected = 0, i;
	int err;
	u64 t0;

	err = inj_parse(&c);
	if (err) {
		pr_err("bad family, src_bits or address\n");
		return err;
	}
	strscpy(name, dev_name_param, sizeof(name));
	strim(name);	/* sysfs writes end in a newline */
	c.dev = dev_get_by_name(current->nsproxy->net_ns, name);
	if (!c.dev) {
		pr_err("no device %s in this netns\n", name);
		return -ENODEV;
	}
	if (c.dev->type != ARPHRD_ETHER) {
		dev_put(c.dev);
		return -EINVAL;
	}

	seq_next = 0;
	t0 = ktime_get_ns();
	while (done < count) {
		u32 n = min_t(u32, INJ_BATCH, count - done);

		local_bh_disable();
		for (i = 0; i < n; i++) {
			struct sk_buff *skb = inj_build(&c);

			if (!skb) {
				err = -ENOMEM;
				break;
			}
			if (!deliver)
				consume_skb(skb);
			else if (netif_receive_skb(skb) != NET_RX_SUCCESS)
				rejected++;
		}
		local_bh_enable();
		done += i;
		if (err)
			break;
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		cond_resched();
	}
	last.ns = ktime_get_ns() - t0;
	last.count = done;
	last.rejected = rejected;
	dev_put(c.dev);

	pr_info("%u SYNs (IPv%u, %s) in %llu ns, %llu ns/SYN, %u rejected\n",
		done, family, deliver ? "delivered" : "freed", last.ns,
		done ? div_u64(last.ns, done) : 0, rejected);
	return err;
}

/* Writing N runs N SYNs; the write returns when they are all processed. */
static int run_set(const char *val, const struct kernel_param *kp)
{
	u32 count;
	int err;

	err = kstrtou32(val, 0, &count);
	if (err)
		return err;
	if (!count || count > INJ_MAX_COUNT)
		return -EINVAL;
	return inj_run(count);
}

static const struct kernel_param_ops run_ops = {
	.set = run_set,
};
module_param_cb(run, &run_ops, NULL, 0200);
MODULE_PARM_DESC(run, "write N to inject N SYNs now");

/* "count N ns T ns_per_syn X.YYY rejected R" */
static int result_get(char *buf, const struct kernel_param *kp)
{
	u64 milli = last.count ? div_u64(last.ns * 1000, last.count) : 0;
	u32 frac;
	u64 whole = div_u64_rem(milli, 1000, &frac);

	return scnprintf(buf, PAGE_SIZE, "count %u ns %llu ns_per_syn %llu.%03u rejected %u\n",
			 last.count, last.ns, whole, frac, last.rejected);
}

static const struct kernel_param_ops result_ops = {
	.get = result_get,
};
module_param_cb(result, &result_ops, NULL, 0444);
MODULE_PARM_DESC(result, "the last run: count, ns, ns_per_syn, rejected");

static int __init tap_inject_init(void)
{
	prandom_seed_state(&inj_rnd, seed);
	pr_info("test-only SYN injector loaded; it forges packets\n");
	return 0;
}

static void __exit tap_inject_exit(void)
{
}

module_init(tap_inject_init);
module_exit(tap_inject_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("TAP benchmark: inject and time a flood of TCP SYNs (test only)");
