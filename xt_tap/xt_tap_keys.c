// SPDX-License-Identifier: GPL-2.0
/*
 * Per-netns key table: an xarray indexed by key id. The match reads it under
 * RCU without locks; writers (generic netlink) serialize on tn->lock. A
 * removed key is wiped once no reader can hold it any more.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/netlink.h>
#include <linux/slab.h>
#include <crypto/algapi.h>

#include "xt_tap_internal.h"

/* Global, so a serial never repeats in any netns while the module lives. */
static atomic64_t xt_tap_key_serial = ATOMIC64_INIT(0);

void xt_tap_keys_init(struct xt_tap_net *tn)
{
	xa_init(&tn->keys);
	tn->nkeys = 0;
	RCU_INIT_POINTER(tn->realm, NULL);
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

static void xt_tap_key_free_rcu(struct rcu_head *head)
{
	kfree_sensitive(container_of(head, struct xt_tap_key, rcu));
}

static void xt_tap_key_release(struct xt_tap_key *key)
{
	call_rcu(&key->rcu, xt_tap_key_free_rcu);
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
	tap_prf_key_import(&key->prf, secret);
	tap_prf_key_import(&realm, realm_raw);
	key->id = id;
	key->rate = rate;
	atomic64_set(&key->admit_tat, 0);
	key->fingerprint = tap_key_fingerprint(&key->prf);
	/* a new instance: authorizations of the key it replaces lapse */
	key->serial = atomic64_inc_return(&xt_tap_key_serial);

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
	if (old)
		xt_tap_key_release(old);
	else
		tn->nkeys++;
	key = NULL;
out:
	mutex_unlock(&tn->lock);
	kfree_sensitive(new_realm);
	kfree_sensitive(key);
	memzero_explicit(&realm, sizeof(realm));
	return err;
}

int xt_tap_key_del(struct xt_tap_net *tn, u16 id)
{
	struct xt_tap_key *key;

	mutex_lock(&tn->lock);
	key = xa_erase(&tn->keys, id);
	if (key) {
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

	mutex_lock(&tn->lock);
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
	struct xt_tap_key *key = xa_load(&st->tn->keys, key_id);

	if (!key)
		return false;
	ref->key = &key->prf;
	ref->serial = key->serial;
	return true;
}

/*
 * tap_ops.admit: the key's admission limit, so that one key cannot take
 * the replay cache from the others. Lock-free: a lost race retries.
 */
bool xt_tap_key_admit(void *env, u16 key_id, u64 now_ms)
{
	struct xt_tap_state *st = env;
	struct xt_tap_key *key = xa_load(&st->tn->keys, key_id);
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

void xt_tap_key_event(void *env, u16 key_id, unsigned int stat)
{
	struct xt_tap_state *st = env;
	struct xt_tap_key *key = xa_load(&st->tn->keys, key_id);

	if (key && stat < __TAP_STAT_MAX)
		atomic64_inc(&key->stats[stat]);
}
