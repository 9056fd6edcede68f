// SPDX-License-Identifier: GPL-2.0
/*
 * tap_inject_raw: a TEST-ONLY module that hands IP packets written by a
 * userspace program to a network device's receive path, as if the device
 * had received them. tests/guest/forgery_scale.sh uses it, through
 * tests/tools/tap-forge, to push millions of forged TAP auth sets through
 * the real xt_tap in the qemu guest without a syscall per packet. Never
 * load it on a real machine: it delivers packets with any source address.
 *
 * Writes to /dev/tap_inject_raw carry whole records, each a 16-bit length
 * in host order followed by that many bytes of an IPv4 or IPv6 packet
 * (IP checksum correct; the TCP checksum is not checked: the skb is marked
 * CHECKSUM_UNNECESSARY, as tap_inject.c does). The device is looked up by
 * name (parameter "dev", default dummy0) in the writer's network
 * namespace at each write. A read returns the totals since load:
 *
 *   injected N passed P dropped D
 *
 * where "dropped" counts the packets netif_receive_skb() reported dropped
 * (a netfilter DROP among them) and "passed" the others.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/if_arp.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/nsproxy.h>
#include <linux/sched/signal.h>
#include <linux/skbuff.h>
#include <linux/uaccess.h>
#include <net/net_namespace.h>

#define RAW_BATCH	64	/* packets per bh-disabled section */
#define RAW_MAX_LEN	1500

static char dev_name_param[IFNAMSIZ] = "dummy0";
module_param_string(dev, dev_name_param, sizeof(dev_name_param), 0644);
MODULE_PARM_DESC(dev, "device the packets arrive on, in the writer's netns (dummy0)");

static atomic64_t raw_injected, raw_dropped;

/* One record's packet as a received skb, or an ERR_PTR. */
static struct sk_buff *raw_build(struct net_device *dev,
				 const char __user *buf, u16 len)
{
	struct sk_buff *skb;
	struct ethhdr *eth;
	u8 *ip;

	if (len < sizeof(struct iphdr) || len > RAW_MAX_LEN)
		return ERR_PTR(-EINVAL);
	skb = netdev_alloc_skb_ip_align(dev, ETH_HLEN + len);
	if (!skb)
		return ERR_PTR(-ENOMEM);
	eth = skb_put(skb, ETH_HLEN);
	ip = skb_put(skb, len);
	if (copy_from_user(ip, buf, len)) {
		kfree_skb(skb);
		return ERR_PTR(-EFAULT);
	}
	ether_addr_copy(eth->h_dest, dev->dev_addr);
	eth_zero_addr(eth->h_source);
	eth->h_source[0] = 0x02;	/* locally administered */
	eth->h_source[5] = 0x01;
	switch (ip[0] >> 4) {
	case 4:
		eth->h_proto = htons(ETH_P_IP);
		break;
	case 6:
		eth->h_proto = htons(ETH_P_IPV6);
		break;
	default:
		kfree_skb(skb);
		return ERR_PTR(-EINVAL);
	}
	skb->protocol = eth_type_trans(skb, dev);	/* pulls the MAC header */
	skb_reset_network_header(skb);
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	return skb;
}

static void raw_deliver(struct sk_buff **skbs, unsigned int n)
{
	unsigned int i, dropped = 0;

	local_bh_disable();
	for (i = 0; i < n; i++)
		if (netif_receive_skb(skbs[i]) != NET_RX_SUCCESS)
			dropped++;
	local_bh_enable();
	atomic64_add(n, &raw_injected);
	atomic64_add(dropped, &raw_dropped);
}

static ssize_t raw_write(struct file *file, const char __user *buf,
			 size_t count, loff_t *ppos)
{
	struct sk_buff *skbs[RAW_BATCH];
	struct net_device *dev;
	char name[IFNAMSIZ];
	unsigned int n = 0;
	size_t off = 0;
	ssize_t err = 0;

	strscpy(name, dev_name_param, sizeof(name));
	strim(name);	/* sysfs writes end in a newline */
	dev = dev_get_by_name(current->nsproxy->net_ns, name);
	if (!dev)
		return -ENODEV;
	if (dev->type != ARPHRD_ETHER) {
		dev_put(dev);
		return -EINVAL;
	}
	while (off < count) {
		struct sk_buff *skb;
		u16 len;

		if (count - off < sizeof(len) ||
		    copy_from_user(&len, buf + off, sizeof(len))) {
			err = -EINVAL;
			break;
		}
		if (count - off - sizeof(len) < len) {
			err = -EINVAL;	/* a record cut short */
			break;
		}
		skb = raw_build(dev, buf + off + sizeof(len), len);
		if (IS_ERR(skb)) {
			err = PTR_ERR(skb);
			break;
		}
		off += sizeof(len) + len;
		skbs[n++] = skb;
		if (n == RAW_BATCH) {
			raw_deliver(skbs, n);
			n = 0;
			if (fatal_signal_pending(current)) {
				err = -EINTR;
				break;
			}
			cond_resched();
		}
	}
	if (n)
		raw_deliver(skbs, n);
	dev_put(dev);
	/* what was delivered stays delivered: report it, unless nothing was */
	return off ? (ssize_t)off : err;
}

static ssize_t raw_read(struct file *file, char __user *buf, size_t count,
			loff_t *ppos)
{
	char line[96];
	s64 inj = atomic64_read(&raw_injected), drop = atomic64_read(&raw_dropped);
	int len;

	len = scnprintf(line, sizeof(line), "injected %lld passed %lld dropped %lld\n",
			inj, inj - drop, drop);
	return simple_read_from_buffer(buf, count, ppos, line, len);
}

static const struct file_operations raw_fops = {
	.owner = THIS_MODULE,
	.write = raw_write,
	.read = raw_read,
	.llseek = noop_llseek,
};

static struct miscdevice raw_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "tap_inject_raw",
	.fops = &raw_fops,
	.mode = 0600,
};

static int __init tap_inject_raw_init(void)
{
	int err = misc_register(&raw_misc);

	if (!err)
		pr_info("test-only packet injector loaded; it forges packets\n");
	return err;
}

static void __exit tap_inject_raw_exit(void)
{
	misc_deregister(&raw_misc);
}

module_init(tap_inject_raw_init);
module_exit(tap_inject_raw_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("TAP tests: deliver packets written by userspace as received (test only)");
