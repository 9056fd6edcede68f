// SPDX-License-Identifier: GPL-2.0
/*
 * Per-netns key table: an xarray indexed by key id, with a direct-mapped
 * front for the packet path (struct xt_tap_key_slot). The match reads both
 * under RCU without locks; writers (generic netlink) serialize on tn->lock.
 * A removed key is wiped once no reader can hold it any more.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/netlink.h>
#include <linux/slab.h>
#include <crypto/algapi.h>

#include "xt_tap_internal.h"

/* Global, so a serial never repeats in any netns while the module lives. */
static atomic64_t xt_tap_key_serial = ATOMIC64_INIT(0);

static void xt_tap_retire_work(struct work_struct *work);

void xt_tap_keys_init(struct xt_tap_net *tn)
{
	xa_init(&tn->keys);
	memset(tn->key_slot, 0, sizeof(tn->key_slot));
	tn->nkeys = 0;
	RCU_INIT_POINTER(tn->realm, NULL);
	INIT_DELAYED_WORK(&tn->retire_work, xt_tap_retire_work);
}

static void xt_tap_realm_free_rcu(struct rcu_head *head)
{
	kfree_sensitive(container_of(head, struct xt_tap_realm, rcu));
}

/* Caller holds tn->lock. */
static void xt_tap_realm_set(struct xt_tap_net *tn, struct xt_tap_realm *new)
{
	struct xt_tap_realm *old;

	old = rcu_replace_pointer(tn->realm, new, lockdep_is_held(&tn->lock));
	if (old)
		call_rcu(&old->rcu, xt_tap_realm_free_rcu);
}

/*
 * All keys of a netns share one realm: the masks are computed before the
 * key id is known. The first key sets it; a key with another realm is
 * refused unless it replaces the only key loaded.
 */
static int xt_tap_realm_check(struct xt_tap_net *tn, const tap_prf_key *realm,
			      bool sole, struct xt_tap_realm **new,
			      struct netlink_ext_ack *extack)
{
	struct xt_tap_realm *cur;

	cur = rcu_dereference_protected(tn->realm, lockdep_is_held(&tn->lock));
	if (cur && !crypto_memneq(&cur->prf, realm, sizeof(*realm)))
		return 0;
	if (!sole) {
		NL_SET_ERR_MSG(extack,
			       "the key's realm differs from the realm of the keys loaded (all keys of a server share one realm)");
		return -EINVAL;
	}
	*new = kzalloc(sizeof(**new), XT_TAP_GFP);
	if (!*new)
		return -ENOMEM;
	(*new)->prf = *realm;
	(*new)->fingerprint = tap_realm_fingerprint(realm);
	return 0;
}

static void xt_tap_secret_free_rcu(struct rcu_head *head)
{
	kfree_sensitive(container_of(head, struct xt_tap_secret, rcu));
}

static struct xt_tap_secret *xt_tap_secret_new(const u8 *raw)
{
	struct xt_tap_secret *sec = kzalloc(sizeof(*sec), XT_TAP_GFP);

	if (!sec)
		return NULL;
	tap_prf_key_import(&sec->prf, raw);
	sec->fingerprint = tap_key_fingerprint(&sec->prf);
	/* a new instance: authorizations of the key it replaces lapse */
	sec->serial = atomic64_inc_return(&xt_tap_key_serial);
	return sec;
}

/* No reader left: the key and its secrets go, wiped. */
static void xt_tap_key_free_rcu(struct rcu_head *head)
{
	struct xt_tap_key *key = container_of(head, struct xt_tap_key, rcu);

	kfree_sensitive(rcu_dereference_protected(key->cur, 1));
	kfree_sensitive(rcu_dereference_protected(key->prev, 1));
	kfree_sensitive(key);
}

static void xt_tap_key_release(struct xt_tap_key *key)
{
	call_rcu(&key->rcu, xt_tap_key_free_rcu);
}

static struct xt_tap_key_slot *xt_tap_slot(struct xt_tap_net *tn, u16 id)
{
	return &tn->key_slot[id % XT_TAP_KEY_SLOTS];
}

/*
 * Caller holds tn->lock; @key is in the xarray. A reader reads the count
 * before the key (xt_tap_key_find()), so the slot is written first: a
 * count of n means the slot holds one of those n. A new key of a residue
 * already held stays out of the slot, so that the key there never misses.
 */
static void xt_tap_slot_add(struct xt_tap_net *tn, struct xt_tap_key *key,
			    bool new_id)
{
	struct xt_tap_key_slot *s = xt_tap_slot(tn, key->id);
	struct xt_tap_key *held;

	held = rcu_dereference_protected(s->key, lockdep_is_held(&tn->lock));
	if (!held || held->id == key->id)
		rcu_assign_pointer(s->key, key);
	if (new_id) {
		smp_wmb();
		WRITE_ONCE(s->loaded, s->loaded + 1);
	}
}

/* Caller holds tn->lock; @key has left the xarray. */
static void xt_tap_slot_del(struct xt_tap_net *tn, struct xt_tap_key *key)
{
	struct xt_tap_key_slot *s = xt_tap_slot(tn, key->id);
	struct xt_tap_key *other = NULL;
	unsigned long id;

	if (rcu_access_pointer(s->key) == key) {
		xa_for_each(&tn->keys, id, other)
			if (xt_tap_slot(tn, id) == s)
				break;
		rcu_assign_pointer(s->key, other);
	}
	smp_wmb();
	WRITE_ONCE(s->loaded, s->loaded - 1);
}

/* Under rcu_read_lock(): the loaded key with this id, or NULL. */
static struct xt_tap_key *xt_tap_key_find(struct xt_tap_net *tn, u16 id)
{
	struct xt_tap_key_slot *s = xt_tap_slot(tn, id);
	unsigned int loaded = READ_ONCE(s->loaded);
	struct xt_tap_key *key;

	if (!loaded)
		return NULL;
	smp_rmb();
	key = rcu_dereference(s->key);
	if (key && key->id == id)
		return key;
	return loaded > 1 ? xa_load(&tn->keys, id) : NULL;
}

int xt_tap_key_add(struct xt_tap_net *tn, u16 id, const u8 *secret,
		   const u8 *realm_raw, u32 rate, bool replace,
		   struct netlink_ext_ack *extack)
{
	struct xt_tap_realm *new_realm = NULL;
	struct xt_tap_key *key, *old;
	tap_prf_key realm;
	int err = 0;

	key = kzalloc(sizeof(*key), XT_TAP_GFP);
	if (!key)
		return -ENOMEM;
	RCU_INIT_POINTER(key->cur, xt_tap_secret_new(secret));
	if (!rcu_access_pointer(key->cur)) {
		kfree(key);
		return -ENOMEM;
	}
	tap_prf_key_import(&realm, realm_raw);
	key->id = id;
	key->rate = rate;
	atomic64_set(&key->admit_tat, 0);
	spin_lock_init(&key->last_lock);
	seqcount_spinlock_init(&key->last_seq, &key->last_lock);

	mutex_lock(&tn->lock);
	old = xa_load(&tn->keys, id);
	if (old && !replace) {
		NL_SET_ERR_MSG(extack,
			       "key id already loaded (NLM_F_REPLACE replaces it)");
		err = -EEXIST;
		goto out;
	}
	if (!old && tn->nkeys >= xt_tap_cfg.max_keys) {
		NL_SET_ERR_MSG(extack, "key table full (module parameter max_keys)");
		err = -ENOSPC;
		goto out;
	}
	err = xt_tap_realm_check(tn, &realm,
				 !tn->nkeys || (tn->nkeys == 1 && old),
				 &new_realm, extack);
	if (err)
		goto out;
	old = xa_store(&tn->keys, id, key, XT_TAP_GFP);
	if (xa_is_err(old)) {
		err = xa_err(old);
		goto out;
	}
	if (new_realm)
		xt_tap_realm_set(tn, new_realm);
	new_realm = NULL;
	xt_tap_slot_add(tn, key, !old);
	if (old)
		xt_tap_key_release(old);
	else
		tn->nkeys++;
	key = NULL;
out:
	mutex_unlock(&tn->lock);
	kfree_sensitive(new_realm);
	if (key) {
		kfree_sensitive(rcu_dereference_protected(key->cur, 1));
		kfree_sensitive(key);
	}
	memzero_explicit(&realm, sizeof(realm));
	return err;
}

/* Caller holds tn->lock: drop @key's retiring secret if its grace ended. */
static bool xt_tap_prev_retire(struct xt_tap_net *tn, struct xt_tap_key *key,
			       bool force)
{
	struct xt_tap_secret *prev;

	prev = rcu_dereference_protected(key->prev, lockdep_is_held(&tn->lock));
	if (!prev)
		return false;
	if (!force && time_before64(get_jiffies_64(), prev->expires))
		return true;
	RCU_INIT_POINTER(key->prev, NULL);
	call_rcu(&prev->rcu, xt_tap_secret_free_rcu);
	return false;
}

/*
 * Wipes the retiring keys whose grace ended and comes back for the next.
 * Key lookups check the grace themselves: this only frees the memory.
 */
static void xt_tap_retire_work(struct work_struct *work)
{
	struct xt_tap_net *tn = container_of(to_delayed_work(work),
					     struct xt_tap_net, retire_work);
	u64 next = 0, now = get_jiffies_64();
	struct xt_tap_key *key;
	unsigned long id;

	mutex_lock(&tn->lock);
	xa_for_each(&tn->keys, id, key) {
		struct xt_tap_secret *prev;

		if (!xt_tap_prev_retire(tn, key, false))
			continue;
		prev = rcu_dereference_protected(key->prev,
						 lockdep_is_held(&tn->lock));
		if (!next || time_before64(prev->expires, next))
			next = prev->expires;
	}
	if (next)
		mod_delayed_work(system_wq, &tn->retire_work,
				 time_after64(next, now) ? next - now : 0);
	mutex_unlock(&tn->lock);
}

/*
 * Rotation: @id gets a new secret; the one it had stays valid for @grace_s
 * seconds (PROTOCOL.md: tried after the new one), then the kernel retires
 * it with no help from userspace.
 */
int xt_tap_key_rotate(struct xt_tap_net *tn, u16 id, const u8 *secret,
		      const u8 *realm_raw, u32 grace_s,
		      struct netlink_ext_ack *extack)
{
	struct xt_tap_secret *sec, *old;
	struct xt_tap_realm *cur_realm;
	struct xt_tap_key *key;
	tap_prf_key realm;
	int err = 0;

	sec = xt_tap_secret_new(secret);
	if (!sec)
		return -ENOMEM;
	tap_prf_key_import(&realm, realm_raw);

	mutex_lock(&tn->lock);
	key = xa_load(&tn->keys, id);
	if (!key) {
		NL_SET_ERR_MSG(extack,
			       "no key with this id to rotate (load it first)");
		err = -ENOENT;
		goto out;
	}
	cur_realm = rcu_dereference_protected(tn->realm,
					      lockdep_is_held(&tn->lock));
	/* the retiring key's clients mask with the realm: it must stay */
	if (!cur_realm || crypto_memneq(&cur_realm->prf, &realm, sizeof(realm))) {
		NL_SET_ERR_MSG(extack,
			       "a rotated key keeps the realm of the keys loaded");
		err = -EINVAL;
		goto out;
	}
	if (xt_tap_prev_retire(tn, key, false)) {
		NL_SET_ERR_MSG(extack,
			       "the key's last rotation is still in its grace period");
		err = -EBUSY;
		goto out;
	}
	old = rcu_dereference_protected(key->cur, lockdep_is_held(&tn->lock));
	old->expires = get_jiffies_64() + (u64)grace_s * HZ;
	atomic64_set(&key->prev_accepts, 0);
	/* readers see prev before cur changes: never neither key */
	rcu_assign_pointer(key->prev, old);
	rcu_assign_pointer(key->cur, sec);
	sec = NULL;
	mod_delayed_work(system_wq, &tn->retire_work, 0);
out:
	mutex_unlock(&tn->lock);
	kfree_sensitive(sec);
	memzero_explicit(&realm, sizeof(realm));
	return err;
}

int xt_tap_key_del(struct xt_tap_net *tn, u16 id)
{
	struct xt_tap_key *key;

	mutex_lock(&tn->lock);
	key = xa_erase(&tn->keys, id);
	if (key) {
		xt_tap_slot_del(tn, key);
		tn->nkeys--;
		xt_tap_key_release(key);
	}
	mutex_unlock(&tn->lock);
	return key ? 0 : -ENOENT;
}

void xt_tap_keys_flush(struct xt_tap_net *tn)
{
	struct xt_tap_key *key;
	unsigned long id;
	int i;

	/* the retiring keys go with their keys; at netns exit none may run */
	cancel_delayed_work_sync(&tn->retire_work);
	mutex_lock(&tn->lock);
	for (i = 0; i < XT_TAP_KEY_SLOTS; i++) {
		WRITE_ONCE(tn->key_slot[i].loaded, 0);
		RCU_INIT_POINTER(tn->key_slot[i].key, NULL);
	}
	xa_for_each(&tn->keys, id, key) {
		xa_erase(&tn->keys, id);
		xt_tap_key_release(key);
	}
	tn->nkeys = 0;
	xt_tap_realm_set(tn, NULL);
	mutex_unlock(&tn->lock);
}


/* tap_ops.key_get: runs under the match's rcu_read_lock(). */
bool xt_tap_key_get(void *env, u16 key_id, struct tap_keyref *ref)
{
	struct xt_tap_state *st = env;
	struct xt_tap_key *key = xt_tap_key_find(st->tn, key_id);
	struct xt_tap_secret *sec, *prev;

	if (!key)
		return false;
	/* prev first: a rotation publishes it before it changes cur */
	prev = rcu_dereference(key->prev);
	smp_rmb();
	sec = rcu_dereference(key->cur);
	ref->key = &sec->prf;
	ref->serial = sec->serial;
	ref->hint = tap_key_hint(sec->fingerprint);
	ref->handle = key;
	/* the grace is checked here: no timer decides when it ends */
	if (prev && prev != sec &&
	    time_before64(get_jiffies_64(), READ_ONCE(prev->expires))) {
		ref->prev = &prev->prf;
		ref->prev_serial = prev->serial;
		ref->prev_hint = tap_key_hint(prev->fingerprint);
	}
	return true;
}

/*
 * tap_ops.admit: the key's admission limit, so that one key cannot take
 * the replay cache from the others. Lock-free: a lost race retries.
 */
bool xt_tap_key_admit(void *env, u16 key_id, u64 now_ms)
{
	struct xt_tap_state *st = env;
	struct xt_tap_key *key = xt_tap_key_find(st->tn, key_id);
	u64 tat, next, now_ns = now_ms * NSEC_PER_MSEC;

	if (!key)
		return false;
	tat = atomic64_read(&key->admit_tat);
	do {
		if (!tap_admit_gcra(tat, now_ns, key->rate, &next))
			return false;
	} while (!atomic64_try_cmpxchg(&key->admit_tat, &tat, next));
	return true;
}

void xt_tap_key_event(void *env, u16 key_id, const struct tap_keyref *ref,
		      unsigned int stat)
{
	struct xt_tap_state *st = env;
	struct xt_tap_key *key = ref ? ref->handle : NULL;

	if (!key)
		key = xt_tap_key_find(st->tn, key_id);
	if (key && stat < __TAP_STAT_MAX)
		atomic64_inc(&key->stats[stat]);
}

/*
 * tap_ops.accepted: the key's last accept, for list. Never waits: see
 * struct xt_tap_key.
 */
void xt_tap_key_accepted(const struct tap_ctx *c, u16 key_id,
			 const struct tap_keyref *ref)
{
	struct xt_tap_state *st = c->env;
	struct xt_tap_key *key = ref->handle ?:
				 xt_tap_key_find(st->tn, key_id);

	if (!key)
		return;
	if (ref->by_prev)
		atomic64_inc(&key->prev_accepts);
	if (!spin_trylock_bh(&key->last_lock))
		return;
	write_seqcount_begin(&key->last_seq);
	key->last_time = c->clk->now_s;
	key->last_saddr = c->syn->saddr;
	key->last_family = c->syn->family;
	write_seqcount_end(&key->last_seq);
	spin_unlock_bh(&key->last_lock);
}

/* Under rcu_read_lock() or tn->lock. */
void xt_tap_key_info_get(struct xt_tap_key *key, struct xt_tap_key_info *ki)
{
	struct xt_tap_secret *sec, *prev;
	u64 now = get_jiffies_64();
	unsigned int seq;
	int i;

	memset(ki, 0, sizeof(*ki));
	sec = rcu_dereference_check(key->cur, 1);
	ki->fingerprint = sec->fingerprint;
	ki->rate = key->rate;
	for (i = 0; i < __TAP_STAT_MAX; i++)
		ki->stats[i] = atomic64_read(&key->stats[i]);
	do {
		seq = read_seqcount_begin(&key->last_seq);
		ki->last_time = key->last_time;
		ki->last_saddr = key->last_saddr;
		ki->last_family = key->last_family;
	} while (read_seqcount_retry(&key->last_seq, seq));
	prev = rcu_dereference_check(key->prev, 1);
	if (prev && time_before64(now, READ_ONCE(prev->expires))) {
		ki->rotating = true;
		ki->grace_left = DIV_ROUND_UP_ULL(prev->expires - now, HZ);
		ki->prev_fingerprint = prev->fingerprint;
		ki->prev_accepts = atomic64_read(&key->prev_accepts);
	}
}
