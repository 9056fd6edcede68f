// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family "xt_tap": load, remove and list keys, read the
 * counters, all in the requester's network namespace. Every command needs
 * CAP_NET_ADMIN over that netns; secrets go in and never come out.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/string.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "xt_tap_internal.h"
#include "xt_tap_events.h"

/*
 * Padding inside the nested per-stat attributes. TAP_A_PAD (7) would read
 * as TAP_STAT_BAD_MAC + 1 there, so pad with a type above every stat.
 * (Only emitted on architectures that need 64-bit alignment.)
 */
#define XT_TAP_STAT_PAD		(__TAP_STAT_MAX + 1)

static struct genl_family xt_tap_genl_family;

static struct netlink_range_validation xt_tap_grace_range __ro_after_init = {
	.min = 1,
	.max = TAP_KEY_GRACE_MAX,
};

static const struct nla_policy xt_tap_genl_policy[TAP_A_MAX + 1] = {
	[TAP_A_KEY_ID]		= { .type = NLA_U16 },
	[TAP_A_KEY_SECRET]	= NLA_POLICY_EXACT_LEN(TAP_KEY_LEN),
	[TAP_A_KEY_REALM]	= NLA_POLICY_EXACT_LEN(TAP_KEY_LEN),
	[TAP_A_KEY_RATE]	= { .type = NLA_U32 },
	[TAP_A_KEY_GRACE]	= NLA_POLICY_FULL_RANGE(NLA_U32,
						      &xt_tap_grace_range),
};

static void xt_tap_no_key_msg(struct netlink_ext_ack *extack, u16 id)
{
#ifdef NL_SET_ERR_MSG_FMT
	NL_SET_ERR_MSG_FMT(extack, "no key with id %u", id);
#else
	/* before 6.2 extack messages must be static strings */
	NL_SET_ERR_MSG(extack, "no key with this id");
#endif
}

static int xt_tap_need_id(struct genl_info *info, u16 *id)
{
	if (!info->attrs[TAP_A_KEY_ID]) {
		NL_SET_ERR_MSG(info->extack, "missing attribute TAP_A_KEY_ID");
		NL_SET_ERR_ATTR_MISS(info->extack, NULL, TAP_A_KEY_ID);
		return -EINVAL;
	}
	*id = nla_get_u16(info->attrs[TAP_A_KEY_ID]);
	return 0;
}

static int xt_tap_put_stats(struct sk_buff *skb, int attr, const u64 *v)
{
	struct nlattr *nest = nla_nest_start(skb, attr);
	int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < __TAP_STAT_MAX; i++)
		if (nla_put_u64_64bit(skb, i + 1, v[i], XT_TAP_STAT_PAD))
			goto fail;
	nla_nest_end(skb, nest);
	return 0;
fail:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

/* The key's last accept and its rotation, when there are. */
static int xt_tap_put_key_state(struct sk_buff *skb,
				const struct xt_tap_key_info *ki)
{
	if (ki->last_time &&
	    (nla_put_u64_64bit(skb, TAP_A_KEY_LAST_TIME, ki->last_time,
			       TAP_A_PAD) ||
	     nla_put(skb, TAP_A_KEY_LAST_SADDR, ki->last_family == 4 ? 4 : 16,
		     ki->last_saddr.b)))
		return -EMSGSIZE;
	if (ki->rotating &&
	    (nla_put_u32(skb, TAP_A_KEY_GRACE, ki->grace_left) ||
	     nla_put_u64_64bit(skb, TAP_A_KEY_PREV_FPR, ki->prev_fingerprint,
			       TAP_A_PAD) ||
	     nla_put_u64_64bit(skb, TAP_A_KEY_PREV_ACCEPTS, ki->prev_accepts,
			       TAP_A_PAD)))
		return -EMSGSIZE;
	return 0;
}

/* Caller holds rcu_read_lock() or tn->lock. */
static int xt_tap_fill_key(struct sk_buff *skb, struct xt_tap_key *key,
			   u32 portid, u32 seq, int flags)
{
	struct xt_tap_key_info ki;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &xt_tap_genl_family, flags,
			  TAP_CMD_KEY_GET);
	if (!hdr)
		return -EMSGSIZE;
	xt_tap_key_info_get(key, &ki);
	if (nla_put_u16(skb, TAP_A_KEY_ID, key->id) ||
	    nla_put_u64_64bit(skb, TAP_A_KEY_FPR, ki.fingerprint,
			      TAP_A_PAD) ||
	    nla_put_u32(skb, TAP_A_KEY_RATE, ki.rate) ||
	    xt_tap_put_stats(skb, TAP_A_KEY_STATS, ki.stats) ||
	    xt_tap_put_key_state(skb, &ki)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* KEY_ADD with TAP_A_KEY_GRACE: a rotation (xt_tap.h). */
static int xt_tap_genl_rotate(struct xt_tap_net *tn, struct genl_info *info,
			      u16 id, struct nlattr *secret,
			      struct nlattr *realm, bool replace)
{
	if (!replace) {
		NL_SET_ERR_MSG(info->extack,
			       "TAP_A_KEY_GRACE rotates a loaded key: it needs NLM_F_REPLACE");
		return -EINVAL;
	}
	if (info->attrs[TAP_A_KEY_RATE]) {
		NL_SET_ERR_MSG(info->extack,
			       "a rotation keeps the key's rate: TAP_A_KEY_RATE refused");
		NL_SET_BAD_ATTR(info->extack, info->attrs[TAP_A_KEY_RATE]);
		return -EINVAL;
	}
	return xt_tap_key_rotate(tn, id, nla_data(secret), nla_data(realm),
				 nla_get_u32(info->attrs[TAP_A_KEY_GRACE]),
				 info->extack);
}

static int xt_tap_genl_key_add(struct sk_buff *skb, struct genl_info *info)
{
	struct xt_tap_net *tn = xt_tap_pernet(genl_info_net(info));
	struct nlattr *secret = info->attrs[TAP_A_KEY_SECRET];
	struct nlattr *realm = info->attrs[TAP_A_KEY_REALM];
	bool replace = info->nlhdr->nlmsg_flags & NLM_F_REPLACE;
	u16 id;
	int err;

	err = xt_tap_need_id(info, &id);
	if (err)
		goto out;
	if (!secret) {
		NL_SET_ERR_MSG(info->extack,
			       "missing attribute TAP_A_KEY_SECRET");
		NL_SET_ERR_ATTR_MISS(info->extack, NULL, TAP_A_KEY_SECRET);
		err = -EINVAL;
		goto out;
	}
	if (!realm) {
		NL_SET_ERR_MSG(info->extack,
			       "missing attribute TAP_A_KEY_REALM (protocol 1 tools?)");
		NL_SET_ERR_ATTR_MISS(info->extack, NULL, TAP_A_KEY_REALM);
		err = -EINVAL;
		goto out;
	}
	if (info->attrs[TAP_A_KEY_GRACE]) {
		err = xt_tap_genl_rotate(tn, info, id, secret, realm, replace);
		goto out;
	}
	err = xt_tap_key_add(tn, id, nla_data(secret), nla_data(realm),
			     info->attrs[TAP_A_KEY_RATE] ?
			     nla_get_u32(info->attrs[TAP_A_KEY_RATE]) :
			     xt_tap_cfg.key_rate,
			     replace, info->extack);
out:
	/* error acks echo the request, and taps may hold it: wipe it */
	if (secret)
		memzero_explicit(nla_data(secret), TAP_KEY_LEN);
	if (realm)
		memzero_explicit(nla_data(realm), TAP_KEY_LEN);
	return err;
}

static int xt_tap_genl_key_del(struct sk_buff *skb, struct genl_info *info)
{
	struct xt_tap_net *tn = xt_tap_pernet(genl_info_net(info));
	u16 id;
	int err;

	err = xt_tap_need_id(info, &id);
	if (err)
		return err;
	err = xt_tap_key_del(tn, id);
	if (err == -ENOENT) {
		xt_tap_no_key_msg(info->extack, id);
		NL_SET_BAD_ATTR(info->extack, info->attrs[TAP_A_KEY_ID]);
	}
	return err;
}

static int xt_tap_genl_key_flush(struct sk_buff *skb, struct genl_info *info)
{
	xt_tap_keys_flush(xt_tap_pernet(genl_info_net(info)));
	return 0;
}

static int xt_tap_genl_key_get(struct sk_buff *skb, struct genl_info *info)
{
	struct xt_tap_net *tn = xt_tap_pernet(genl_info_net(info));
	struct xt_tap_key *key;
	struct sk_buff *msg;
	u16 id;
	int err;

	err = xt_tap_need_id(info, &id);
	if (err)
		return err;
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	rcu_read_lock();
	key = xa_load(&tn->keys, id);
	if (key)
		err = xt_tap_fill_key(msg, key, info->snd_portid,
				      info->snd_seq, 0);
	rcu_read_unlock();
	if (!key) {
		xt_tap_no_key_msg(info->extack, id);
		NL_SET_BAD_ATTR(info->extack, info->attrs[TAP_A_KEY_ID]);
		err = -ENOENT;
	}
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

/* cb->args[0]: the next key id to send. */
static int xt_tap_genl_key_dump(struct sk_buff *skb,
				struct netlink_callback *cb)
{
	struct xt_tap_net *tn = xt_tap_pernet(sock_net(skb->sk));
	struct xt_tap_key *key;
	unsigned long id;

	rcu_read_lock();
	xa_for_each_start(&tn->keys, id, key, cb->args[0]) {
		if (xt_tap_fill_key(skb, key, NETLINK_CB(cb->skb).portid,
				    cb->nlh->nlmsg_seq, NLM_F_MULTI))
			break;
		cb->args[0] = id + 1;
	}
	rcu_read_unlock();
	return skb->len;
}

static int xt_tap_put_tables(struct sk_buff *skb,
			     const struct xt_tap_info *ti)
{
	struct nlattr *nest = nla_nest_start(skb, TAP_A_TABLES);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, TAP_TBL_A_RULES, ti->rules) ||
	    nla_put_u32(skb, TAP_TBL_A_PENDING_SLOTS, ti->pend_slots) ||
	    nla_put_u32(skb, TAP_TBL_A_AUTHORIZED_SLOTS, ti->auth_slots) ||
	    nla_put_u32(skb, TAP_TBL_A_REPLAY_SLOTS, ti->replay_slots) ||
	    nla_put_u64_64bit(skb, TAP_TBL_A_BYTES, ti->bytes,
			      TAP_TBL_A_PAD) ||
	    nla_put_u32(skb, TAP_TBL_A_KEYS, ti->keys) ||
	    nla_put_u64_64bit(skb, TAP_TBL_A_REPLAY_LIVE, ti->replay_live,
			      TAP_TBL_A_PAD) ||
	    nla_put_u64_64bit(skb, TAP_TBL_A_REPLAY_RATE, ti->replay_rate,
			      TAP_TBL_A_PAD) ||
	    nla_put_u32(skb, TAP_TBL_A_WINDOW_MAX, ti->window_max)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int xt_tap_genl_stats_get(struct sk_buff *skb, struct genl_info *info)
{
	struct xt_tap_net *tn = xt_tap_pernet(genl_info_net(info));
	struct xt_tap_info ti;
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &xt_tap_genl_family, 0,
				TAP_CMD_STATS_GET);
	if (!hdr)
		goto nospace;
	xt_tap_info_get(tn, &ti);
	if (xt_tap_put_stats(msg, TAP_A_STATS, ti.stats) ||
	    xt_tap_put_tables(msg, &ti) ||
	    (ti.has_realm &&
	     nla_put_u64_64bit(msg, TAP_A_REALM_FPR, ti.realm_fpr, TAP_A_PAD)) ||
	    xt_tap_ev_put_stats(msg, genl_info_net(info)))
		goto nospace;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

/* GENL_UNS_ADMIN_PERM on all, dumps too: key ids and use are not public. */
static const struct genl_small_ops xt_tap_genl_ops[] = {
	{
		.cmd	= TAP_CMD_KEY_ADD,
		.doit	= xt_tap_genl_key_add,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= TAP_CMD_KEY_DEL,
		.doit	= xt_tap_genl_key_del,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= TAP_CMD_KEY_FLUSH,
		.doit	= xt_tap_genl_key_flush,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= TAP_CMD_KEY_GET,
		.doit	= xt_tap_genl_key_get,
		.dumpit	= xt_tap_genl_key_dump,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= TAP_CMD_STATS_GET,
		.doit	= xt_tap_genl_stats_get,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
};

/*
 * Audit events. GENL_MCAST_CAP_NET_ADMIN: genl_bind() refuses to subscribe
 * a task without CAP_NET_ADMIN over the socket's netns (ns_capable on its
 * user_ns) with EPERM, on 6.1 as on later kernels, so no subscribe command
 * of our own is needed. Another netns's events reach a socket only with
 * NETLINK_LISTEN_ALL_NSID and CAP_NET_BROADCAST over that netns.
 */
static const struct genl_multicast_group xt_tap_genl_mcgrps[] = {
	{ .name = TAP_GENL_MCGRP_EVENTS, .flags = GENL_MCAST_CAP_NET_ADMIN },
};

static struct genl_family xt_tap_genl_family __ro_after_init = {
	.name		= TAP_GENL_NAME,
	.version	= TAP_GENL_VERSION,
	.maxattr	= TAP_A_MAX,
	.policy		= xt_tap_genl_policy,
	.netnsok	= true,
	.parallel_ops	= true,		/* tn->lock and RCU suffice */
	.module		= THIS_MODULE,
	.small_ops	= xt_tap_genl_ops,
	.n_small_ops	= ARRAY_SIZE(xt_tap_genl_ops),
	.mcgrps		= xt_tap_genl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(xt_tap_genl_mcgrps),
	/*
	 * Commands from here on get the strict header check, which refuses
	 * every nlmsg_flags bit but REQUEST, ACK, ECHO and DUMP: KEY_ADD
	 * takes NLM_F_REPLACE, so it stays below. Attributes are validated
	 * strictly for all commands either way.
	 */
	.resv_start_op	= TAP_CMD_KEY_ADD + 1,
};

int xt_tap_genl_register(void)
{
	return genl_register_family(&xt_tap_genl_family);
}

void xt_tap_genl_unregister(void)
{
	genl_unregister_family(&xt_tap_genl_family);
}

/* Someone subscribed to the events (in some netns: the check is global). */
bool xt_tap_genl_has_listeners(struct net *net)
{
	return genl_has_listeners(&xt_tap_genl_family, net, 0);
}

void *xt_tap_genl_event_put(struct sk_buff *skb)
{
	return genlmsg_put(skb, 0, 0, &xt_tap_genl_family, 0, TAP_CMD_EVENT);
}

/* Consumes skb; -ESRCH if no socket of net listens, -ENOBUFS if one lost it. */
int xt_tap_genl_event_send(struct net *net, struct sk_buff *skb)
{
	return genlmsg_multicast_netns(&xt_tap_genl_family, net, skb, 0, 0,
				       GFP_ATOMIC);
}
