/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xt_tap.ko internals shared by its source files. The protocol and the
 * tables themselves live in tap_core.[ch]; this is only the kernel glue.
 */
#ifndef _XT_TAP_INTERNAL_H
#define _XT_TAP_INTERNAL_H

#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/seqlock.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "tap_core.h"

struct netlink_ext_ack;

/*
 * What a rule or a key allocates: charged to the caller's memory cgroup,
 * and failing with ENOMEM at its limit rather than invoking the OOM killer.
 */
#define XT_TAP_GFP	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

/* Module parameters after validation and rounding (xt_tap_main.c). */
struct xt_tap_config {
	u32 pend_buckets;
	u32 auth_buckets;
	u32 replay_buckets;
	u32 pend_lifetime_ms;
	u32 auth_lifetime_ms;
	u32 max_keys;
	u32 key_rate;		/* default per-key admission limit, 0: none */
	u32 replay_min_rate;
};

extern struct xt_tap_config xt_tap_cfg;

/* A key's secret. Readers find it under RCU; it is wiped when freed. */
/*
 * The key comes last: a debug kernel's kmemleak report of a leaked object
 * shows its first 32 bytes.
 */
struct xt_tap_secret {
	u64 serial;		/* unique per load: a reload revokes */
	u64 fingerprint;
	u64 expires;		/* jiffies64, as a retiring key only */
	struct rcu_head rcu;
	tap_prf_key prf;
};

/*
 * One loaded key id. A rotation swaps @cur and keeps the old secret in
 * @prev until its grace ends (both under tn->lock); the rest carries on.
 * The last accept is written under a seqcount whose writers only trylock
 * @last_lock: an accept that finds another CPU writing skips its record
 * (that one is as recent), so the packet path never waits on it.
 */
struct xt_tap_key {
	struct xt_tap_secret __rcu *cur;
	struct xt_tap_secret __rcu *prev;	/* retiring, or NULL */
	atomic64_t admit_tat;	/* admission limit state, tap_admit_gcra() */
	u32 rate;		/* new connections/s, 0: no limit */
	atomic64_t stats[__TAP_STAT_MAX];
	atomic64_t prev_accepts;	/* by @prev since the rotation */
	spinlock_t last_lock;
	seqcount_spinlock_t last_seq;
	u64 last_time;		/* Unix s, 0: never */
	struct tap_addr last_saddr;
	u8 last_family;
	struct rcu_head rcu;
	u16 id;
};

/* What the dump shows of a key: a consistent copy, no secret. */
struct xt_tap_key_info {
	u64 fingerprint;
	u32 rate;
	u64 stats[__TAP_STAT_MAX];
	u64 last_time;		/* 0: no accept yet */
	struct tap_addr last_saddr;
	u8 last_family;
	bool rotating;		/* the fields below are set */
	u32 grace_left;		/* s, rounded up */
	u64 prev_fingerprint;
	u64 prev_accepts;
};

/*
 * The realm: the secret that masks the pieces of every token of the netns
 * (PROTOCOL.md §3). Each key file carries it; the first key loaded sets it.
 */
struct xt_tap_realm {
	tap_prf_key prf;
	u64 fingerprint;
	struct rcu_head rcu;
};

/* Per-cpu outcome counters of one netns. */
struct xt_tap_stats {
	u64 cnt[__TAP_STAT_MAX];
};

/*
 * The reassembly tables of one netns, shared by all its tap rules (IPv4
 * and IPv6) and created by the first one. mtinfo->state points here.
 */
struct xt_tap_state {
	struct tap_tables tables;
	spinlock_t *locks[3];		/* by enum tap_table_id */
	struct xt_tap_net *tn;
	size_t bytes;			/* tables and locks */
	u32 window_rules[XT_TAP_WINDOW_MAX + 1];	/* rules per window */
};

/*
 * The packet path's way to a key: slot id % XT_TAP_KEY_SLOTS counts the
 * keys loaded with that residue and holds one of them. The slot's own key
 * costs one load, an id that shares its residue with no key is unknown at
 * once, and only residues shared by loaded keys ask the xarray.
 */
#define XT_TAP_KEY_SLOTS	16

struct xt_tap_key_slot {
	unsigned int loaded;
	struct xt_tap_key __rcu *key;
};

struct xt_tap_net {
	struct mutex lock;		/* key writers, rules, state */
	struct xarray keys;		/* key id -> struct xt_tap_key */
	struct xt_tap_key_slot key_slot[XT_TAP_KEY_SLOTS];
	unsigned int nkeys;
	struct xt_tap_realm __rcu *realm;	/* NULL until a key is loaded */
	unsigned int rules;		/* tap rules holding @state */
	struct xt_tap_state *state;	/* kept after the last rule: see put */
	struct delayed_work park_work;	/* frees a state without rules */
	u64 park_until;			/* Unix second it may go */
	bool exiting;			/* pernet exit ran: free at once */
	struct xt_tap_stats __percpu *stats;
	struct delayed_work retire_work;	/* drops ended graces' keys */
};

extern unsigned int xt_tap_net_id;

static inline struct xt_tap_net *xt_tap_pernet(const struct net *net)
{
	return net_generic(net, xt_tap_net_id);
}

/* Snapshot of one netns for /proc and STATS_GET. */
struct xt_tap_info {
	u64 stats[__TAP_STAT_MAX];
	u64 bytes;		/* held now */
	u64 bound;		/* held once a rule exists */
	u64 kept_s;		/* seconds the tables outlive the last rule */
	u64 realm_fpr;
	bool has_realm;
	u32 rules;
	u32 keys;
	u32 pend_slots;
	u32 auth_slots;
	u32 replay_slots;
	u64 replay_live;	/* live entries now */
	u64 replay_rate;	/* rated new connections/s at window_max */
	u32 window_max;
};

/* xt_tap_net.c */
extern const struct tap_ops xt_tap_ops;
int xt_tap_net_register(void);
void xt_tap_net_unregister(void);
struct xt_tap_state *xt_tap_state_get(struct net *net, u16 window);
void xt_tap_state_put(struct net *net, struct xt_tap_state *st, u16 window);
size_t xt_tap_tables_bytes(const struct xt_tap_config *cfg);
static inline void xt_tap_count(struct xt_tap_net *tn, unsigned int stat)
{
	if (likely(stat < __TAP_STAT_MAX))
		this_cpu_inc(tn->stats->cnt[stat]);
}
void xt_tap_info_get(struct xt_tap_net *tn, struct xt_tap_info *info);

/* xt_tap_keys.c */
void xt_tap_keys_init(struct xt_tap_net *tn);
void xt_tap_keys_flush(struct xt_tap_net *tn);
int xt_tap_key_add(struct xt_tap_net *tn, u16 id, const u8 *secret,
		   const u8 *realm, u32 rate, bool replace,
		   struct netlink_ext_ack *extack);
int xt_tap_key_rotate(struct xt_tap_net *tn, u16 id, const u8 *secret,
		      const u8 *realm_raw, u32 grace_s,
		      struct netlink_ext_ack *extack);
void xt_tap_key_info_get(struct xt_tap_key *key, struct xt_tap_key_info *ki);
void xt_tap_key_accepted(const struct tap_ctx *c, u16 key_id,
			 const struct tap_keyref *ref);
bool xt_tap_key_admit(void *env, u16 key_id, u64 now_ms);
int xt_tap_key_del(struct xt_tap_net *tn, u16 id);

/* Under rcu_read_lock(): the realm the match unmasks tokens with. */
static inline const tap_prf_key *xt_tap_realm_get(struct xt_tap_net *tn)
{
	struct xt_tap_realm *realm = rcu_dereference(tn->realm);

	return realm ? &realm->prf : NULL;
}
bool xt_tap_key_get(void *env, u16 key_id, struct tap_keyref *ref);
void xt_tap_key_event(void *env, u16 key_id, const struct tap_keyref *ref,
		      unsigned int stat);

/* xt_tap_genl.c */
int xt_tap_genl_register(void);
void xt_tap_genl_unregister(void);

/* xt_tap_selftest.c */
int xt_tap_selftest(void);

#endif /* _XT_TAP_INTERNAL_H */
