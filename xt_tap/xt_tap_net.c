// SPDX-License-Identifier: GPL-2.0
/*
 * Per network namespace state: the reassembly tables shared by the tap rules
 * of the netns, their bucket locks, the outcome counters and
 * /proc/net/xt_tap.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <net/net_namespace.h>

#include "xt_tap_internal.h"

unsigned int xt_tap_net_id __read_mostly;

/* The core nests PEND, REPLAY, AUTH: one lockdep class per table. */
static struct lock_class_key xt_tap_lock_class[3];

/*
 * tap_core's platform locks. Bottom halves off: a softirq on the same CPU
 * must not spin on a lock its task holds (the match runs in softirq, or in
 * a task with bottom halves off; the self-test and counters in tasks).
 */
/*
 * The core holds up to two replay stripes at once (a token's two buckets,
 * in increasing order, so no deadlock): the second one is lockdep's
 * subclass 1. Bottom halves are off while one is held, so the depth is
 * this CPU's.
 */
static DEFINE_PER_CPU(unsigned int, xt_tap_replay_depth);

void tap_table_lock(void *env, enum tap_table_id table, u32 bucket)
	__acquires(env)
{
	struct xt_tap_state *st = env;

	if (table != TAP_TABLE_REPLAY) {
		spin_lock_bh(&st->locks[table][bucket]);
		return;
	}
	local_bh_disable();
	spin_lock_nested(&st->locks[table][bucket],
			 this_cpu_inc_return(xt_tap_replay_depth) - 1);
}

void tap_table_unlock(void *env, enum tap_table_id table, u32 bucket)
	__releases(env)
{
	struct xt_tap_state *st = env;

	if (table != TAP_TABLE_REPLAY) {
		spin_unlock_bh(&st->locks[table][bucket]);
		return;
	}
	spin_unlock(&st->locks[table][bucket]);
	this_cpu_dec(xt_tap_replay_depth);
	local_bh_enable();
}

const struct tap_ops xt_tap_ops = {
	.key_get	= xt_tap_key_get,
	.key_event	= xt_tap_key_event,
	.admit		= xt_tap_key_admit,
	.accepted	= xt_tap_key_accepted,
};

/* Replay inserts are rare (a valid token each): a few striped locks do. */
#define XT_TAP_REPLAY_STRIPES	1024U

/* Locks per table: none for pending, one per bucket, per replay stripe. */
static void xt_tap_locks(const struct xt_tap_config *cfg, u32 n[3])
{
	n[TAP_TABLE_PEND] = 0;
	n[TAP_TABLE_AUTH] = cfg->auth_buckets;
	n[TAP_TABLE_REPLAY] = min(cfg->replay_buckets, XT_TAP_REPLAY_STRIPES);
}

/* Everything a netns holds once it has a tap rule. */
size_t xt_tap_tables_bytes(const struct xt_tap_config *cfg)
{
	u32 n[3];

	xt_tap_locks(cfg, n);
	return sizeof(struct xt_tap_state) +
	       (size_t)cfg->pend_buckets * sizeof(struct tap_pend_bucket) +
	       (size_t)cfg->auth_buckets * sizeof(struct tap_auth_bucket) +
	       (size_t)cfg->replay_buckets * sizeof(struct tap_replay_bucket) +
	       ((size_t)n[0] + n[1] + n[2]) * sizeof(spinlock_t);
}

static void xt_tap_state_free(struct xt_tap_state *st)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(st->locks); i++)
		kvfree(st->locks[i]);
	kvfree(st->tables.pend);
	kvfree(st->tables.auth);
	kvfree(st->tables.replay);
	kvfree_sensitive(st, sizeof(*st));	/* the hash seeds */
}

static struct xt_tap_state *xt_tap_state_alloc(struct xt_tap_net *tn)
{
	const struct xt_tap_config *cfg = &xt_tap_cfg;
	struct xt_tap_state *st;
	struct tap_tables *t;
	u32 n[3], i, j;

	/*
	 * Charged to whoever adds the first rule: a container cannot make
	 * tables in bulk outside its memory cgroup's limit. At that limit the
	 * rule fails with ENOMEM, quietly, instead of waking the OOM killer
	 * (which would pick the container's largest process, not iptables).
	 */
	st = kvzalloc(sizeof(*st), XT_TAP_GFP);
	if (!st)
		return NULL;
	t = &st->tables;
	xt_tap_locks(cfg, n);

	t->pend = kvcalloc(cfg->pend_buckets, sizeof(*t->pend), XT_TAP_GFP);
	t->auth = kvcalloc(cfg->auth_buckets, sizeof(*t->auth), XT_TAP_GFP);
	t->replay = kvcalloc(cfg->replay_buckets, sizeof(*t->replay),
			     XT_TAP_GFP);
	if (!t->pend || !t->auth || !t->replay)
		goto err;
	for (i = 0; i < ARRAY_SIZE(st->locks); i++) {
		if (!n[i])
			continue;
		st->locks[i] = kvmalloc_array(n[i], sizeof(spinlock_t),
					      XT_TAP_GFP);
		if (!st->locks[i])
			goto err;
		for (j = 0; j < n[i]; j++) {
			spin_lock_init(&st->locks[i][j]);
			lockdep_set_class(&st->locks[i][j],
					  &xt_tap_lock_class[i]);
		}
	}

	t->pend_mask = cfg->pend_buckets - 1;
	t->auth_mask = cfg->auth_buckets - 1;
	t->replay_mask = cfg->replay_buckets - 1;
	t->replay_lock_mask = n[TAP_TABLE_REPLAY] - 1;
	t->pend_lifetime_ms = cfg->pend_lifetime_ms;
	t->auth_lifetime_ms = cfg->auth_lifetime_ms;
	/*
	 * Fresh tables know no token accepted before them (a reboot, the
	 * module's unload, tables freed with their last entry): refuse the
	 * tokens made before this second.
	 */
	t->replay_floor = ktime_get_real_seconds();
	/* secret bucket choice: a flooder cannot aim at one client's bucket */
	get_random_bytes(&t->seed, sizeof(t->seed));
	get_random_bytes(&t->hash_seed, sizeof(t->hash_seed));
	st->tn = tn;
	st->bytes = xt_tap_tables_bytes(cfg);
	return st;

err:
	xt_tap_state_free(st);
	return NULL;
}

/* Caller holds tn->lock. */
static void xt_tap_window_update(struct xt_tap_state *st)
{
	u32 w = XT_TAP_WINDOW_MAX;

	while (w && !st->window_rules[w])
		w--;
	/* without rules the entries keep the width they were stored with */
	if (w)
		WRITE_ONCE(st->tables.window_max, w);
}

/*
 * Caller holds tn->lock; the new rule is not live yet. Every live replay
 * entry expires at least window_max + 1 s after its token's time. A wider
 * rule could accept a token after its entry expired: once no SYN still
 * inserts with the old width (the hooks run under RCU), move the live
 * entries' expiry, and refuse the tokens whose entries may have expired
 * before the pass reached them.
 */
static void xt_tap_replay_widen(struct xt_tap_state *st, u32 old_window)
{
	struct tap_tables *t = &st->tables;

	synchronize_rcu();
	tap_replay_extend(t, st, t->window_max - old_window,
			  ktime_get_real_seconds());
	/* the pass's end: an entry it missed expired before then */
	tap_replay_raise_floor(t, old_window, ktime_get_real_seconds());
}

/* checkentry: the first tap rule of a netns creates its tables. */
struct xt_tap_state *xt_tap_state_get(struct net *net, u16 window)
{
	struct xt_tap_net *tn = xt_tap_pernet(net);
	struct xt_tap_state *st;
	bool fresh = false;
	u32 old_window;

	mutex_lock(&tn->lock);
	if (!tn->state) {
		tn->state = xt_tap_state_alloc(tn);
		if (!tn->state) {
			mutex_unlock(&tn->lock);
			return ERR_PTR(-ENOMEM);
		}
		fresh = true;
	}
	tn->rules++;
	st = tn->state;
	old_window = st->tables.window_max;
	st->window_rules[window]++;
	xt_tap_window_update(st);
	/* a new state's cache is empty: nothing to widen */
	if (!fresh && st->tables.window_max > old_window)
		xt_tap_replay_widen(st, old_window);
	mutex_unlock(&tn->lock);
	return st;
}

/* Detaches a state without rules whose entries all expired. */
static struct xt_tap_state *xt_tap_state_unpark(struct xt_tap_net *tn)
{
	struct xt_tap_state *st = tn->state;

	lockdep_assert_held(&tn->lock);
	if (!st || tn->rules)
		return NULL;
	tn->state = NULL;
	return st;
}

static void xt_tap_park_expire(struct work_struct *work)
{
	struct xt_tap_net *tn = container_of(to_delayed_work(work),
					     struct xt_tap_net, park_work);
	struct xt_tap_state *st = NULL;
	u64 now = ktime_get_real_seconds();

	mutex_lock(&tn->lock);
	if (now >= tn->park_until)
		st = xt_tap_state_unpark(tn);
	else if (tn->state && !tn->rules)
		mod_delayed_work(system_wq, &tn->park_work,
				 (tn->park_until - now) * HZ);
	mutex_unlock(&tn->lock);
	if (st)
		xt_tap_state_free(st);
}

/*
 * destroy: the last rule frees them. This may run after our pernet exit
 * (when the table's exit runs later); tn stays valid until every exit ran
 * and only tn->lock, rules and state are touched here.
 */
void xt_tap_state_put(struct net *net, struct xt_tap_state *st, u16 window)
{
	struct xt_tap_net *tn = xt_tap_pernet(net);

	mutex_lock(&tn->lock);
	if (WARN_ON_ONCE(st != tn->state || !tn->rules ||
			 !st->window_rules[window])) {
		mutex_unlock(&tn->lock);
		return;
	}
	/*
	 * Entries already in the replay cache keep their expiry: a token
	 * stays refused as long as a rule that was there could accept it.
	 */
	st->window_rules[window]--;
	xt_tap_window_update(st);
	if (--tn->rules) {
		mutex_unlock(&tn->lock);
		return;
	}
	/*
	 * The last rule: a firewall reload (nftables.service's flush, then
	 * tap-protect) may bring one back at once, and an empty cache would
	 * take every token of the last window again. Keep the tables until
	 * the last entry expires; the netns's exit frees them sooner.
	 */
	if (!tn->exiting) {
		u64 now = ktime_get_real_seconds();

		tn->park_until = tap_replay_horizon(&st->tables, now);
		if (tn->park_until > now) {
			mod_delayed_work(system_wq, &tn->park_work,
					 (tn->park_until - now) * HZ);
			mutex_unlock(&tn->lock);
			return;
		}
	}
	tn->state = NULL;
	mutex_unlock(&tn->lock);

	/*
	 * x_tables and nf_tables destroy a rule only after no CPU can still
	 * evaluate it, so no match runs on these tables any more.
	 */
	xt_tap_state_free(st);
}


void xt_tap_info_get(struct xt_tap_net *tn, struct xt_tap_info *info)
{
	const struct xt_tap_config *cfg = &xt_tap_cfg;
	struct xt_tap_realm *realm;
	int cpu, i;

	memset(info, 0, sizeof(*info));
	for_each_possible_cpu(cpu) {
		const struct xt_tap_stats *s = per_cpu_ptr(tn->stats, cpu);

		for (i = 0; i < __TAP_STAT_MAX; i++)
			info->stats[i] += READ_ONCE(s->cnt[i]);
	}

	mutex_lock(&tn->lock);
	realm = rcu_dereference_protected(tn->realm,
					  lockdep_is_held(&tn->lock));
	info->has_realm = realm;
	info->realm_fpr = realm ? realm->fingerprint : 0;
	info->rules = tn->rules;
	info->keys = tn->nkeys;
	info->bytes = tn->state ? tn->state->bytes : 0;
	if (tn->state && !tn->rules)
		info->kept_s = tn->park_until - min(tn->park_until,
				(u64)ktime_get_real_seconds());
	if (tn->state) {
		info->window_max = tn->state->tables.window_max;
		/* a pass over the whole cache: counters only, never per SYN */
		info->replay_live = tap_replay_live(&tn->state->tables,
						    ktime_get_real_seconds());
	}
	mutex_unlock(&tn->lock);
	info->replay_rate = tap_replay_rated_rate(
		(u64)cfg->replay_buckets * TAP_REPLAY_WAYS,
		info->window_max ? info->window_max : XT_TAP_WINDOW_DEFAULT);

	info->bound = xt_tap_tables_bytes(cfg);
	info->pend_slots = cfg->pend_buckets * TAP_PEND_WAYS;
	info->auth_slots = cfg->auth_buckets * TAP_AUTH_WAYS;
	info->replay_slots = cfg->replay_buckets * TAP_REPLAY_WAYS;
}

/* Counters and sizes only: never key material or fingerprints. */
static int xt_tap_proc_show(struct seq_file *m, void *v)
{
	struct xt_tap_net *tn = xt_tap_pernet(seq_file_single_net(m));
	struct xt_tap_info info;
	int i;

	xt_tap_info_get(tn, &info);
	seq_printf(m, "rules %u\n", info.rules);
	seq_printf(m, "keys %u\n", info.keys);
	seq_printf(m, "max_keys %u\n", xt_tap_cfg.max_keys);
	seq_printf(m, "pending_slots %u\n", info.pend_slots);
	seq_printf(m, "authorized_slots %u\n", info.auth_slots);
	seq_printf(m, "replay_slots %u\n", info.replay_slots);
	seq_printf(m, "replay_live %llu\n", info.replay_live);
	seq_printf(m, "replay_rated_rate %llu\n", info.replay_rate);
	seq_printf(m, "window_max %u\n", info.window_max);
	seq_printf(m, "memory_bytes %llu\n", info.bytes);
	seq_printf(m, "tables_kept_s %llu\n", info.kept_s);
	seq_printf(m, "memory_bound_bytes %llu\n", info.bound);
	for (i = 0; i < __TAP_STAT_MAX; i++)
		seq_printf(m, "%s %llu\n", tap_stat_name(i), info.stats[i]);
	return 0;
}

static int __net_init xt_tap_net_init(struct net *net)
{
	struct xt_tap_net *tn = xt_tap_pernet(net);

	mutex_init(&tn->lock);
	INIT_DELAYED_WORK(&tn->park_work, xt_tap_park_expire);
	xt_tap_keys_init(tn);
	tn->stats = alloc_percpu_gfp(struct xt_tap_stats, GFP_KERNEL_ACCOUNT);
	if (!tn->stats)
		return -ENOMEM;
	/* the netns's root only: key ids and accept times are not public */
	if (IS_ENABLED(CONFIG_PROC_FS) &&
	    !proc_create_net_single("xt_tap", 0400, net->proc_net,
				    xt_tap_proc_show, NULL)) {
		free_percpu(tn->stats);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Devices are gone before any subsys exit runs, so the match no longer runs
 * here. Rules (and the tables) may outlive this: see xt_tap_state_put().
 */
static void __net_exit xt_tap_net_exit(struct net *net)
{
	struct xt_tap_net *tn = xt_tap_pernet(net);
	struct xt_tap_state *parked;

	/* rules that outlive this free their tables at once */
	mutex_lock(&tn->lock);
	tn->exiting = true;
	parked = xt_tap_state_unpark(tn);
	mutex_unlock(&tn->lock);
	cancel_delayed_work_sync(&tn->park_work);
	if (parked)
		xt_tap_state_free(parked);

	remove_proc_entry("xt_tap", net->proc_net);
	xt_tap_keys_flush(tn);
	free_percpu(tn->stats);
	tn->stats = NULL;
}

static struct pernet_operations xt_tap_net_ops = {
	.init	= xt_tap_net_init,
	.exit	= xt_tap_net_exit,
	.id	= &xt_tap_net_id,
	.size	= sizeof(struct xt_tap_net),
};

int xt_tap_net_register(void)
{
	return register_pernet_subsys(&xt_tap_net_ops);
}

void xt_tap_net_unregister(void)
{
	unregister_pernet_subsys(&xt_tap_net_ops);
}
