// SPDX-License-Identifier: GPL-2.0
/*
 * Load-time self-test: the kernel's SipHash and tap_core must reproduce the
 * published vectors bit for bit, or clients and server would disagree on
 * every token. The module refuses to load otherwise.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/string.h>

#include "xt_tap_internal.h"
#include "tap_vectors.h"

static int __init tap_st_siphash(void)
{
	u8 raw[TAP_KEY_LEN], msg[15];
	tap_prf_key key;
	u64 got;
	int i;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = i;
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = i;
	tap_prf_key_import(&key, raw);
	got = tap_prf(&key, msg, sizeof(msg));
	if (got != TAP_SIPHASH_REF_OUT) {
		pr_err("self-test: SipHash-2-4 reference vector gives %016llx, want %016llx\n",
		       got, TAP_SIPHASH_REF_OUT);
		return -EINVAL;
	}
	return 0;
}

static int __init tap_st_vector(const struct tap_vector *v)
{
	struct tap_token_params p = {
		.family = v->family,
		.bind = v->bind,
		.key_id = v->key_id,
		.dport = v->dport,
		.isn = v->isn,
		.time = v->time,
	};
	tap_prf_key key, realm;
	struct tap_token tok;
	u32 seq[TAP_FRAGS];
	u64 got;

	if (v->bind & TAP_BIND_DADDR)
		memcpy(p.daddr.b, v->daddr, sizeof(p.daddr.b));
	if (v->bind & TAP_BIND_SADDR)
		memcpy(p.saddr.b, v->saddr, sizeof(p.saddr.b));
	tap_prf_key_import(&key, v->key);
	tap_prf_key_import(&realm, v->realm);

	got = tap_mac(&key, &p);
	if (got != v->tag) {
		pr_err("self-test: vector \"%s\": tag %016llx, want %016llx\n",
		       v->name, got, v->tag);
		return -EINVAL;
	}
	tap_token_encode(&key, &realm, &p, seq);
	if (memcmp(seq, v->seq, sizeof(seq))) {
		pr_err("self-test: vector \"%s\": sequence numbers %08x %08x %08x %08x, want %08x %08x %08x %08x\n",
		       v->name, seq[0], seq[1], seq[2], seq[3],
		       v->seq[0], v->seq[1], v->seq[2], v->seq[3]);
		return -EINVAL;
	}
	got = tap_key_fingerprint(&key);
	if (got != v->fingerprint) {
		pr_err("self-test: vector \"%s\": fingerprint %016llx, want %016llx\n",
		       v->name, got, v->fingerprint);
		return -EINVAL;
	}
	got = tap_realm_fingerprint(&realm);
	if (got != v->realm_fingerprint) {
		pr_err("self-test: vector \"%s\": realm fingerprint %016llx, want %016llx\n",
		       v->name, got, v->realm_fingerprint);
		return -EINVAL;
	}
	if (!tap_token_unpack(&realm, v->seq, v->isn, v->dport, &tok) ||
	    tok.key_id != v->key_id || tok.t16 != (u16)v->time ||
	    tok.tag != v->tag) {
		pr_err("self-test: vector \"%s\": token does not unpack\n",
		       v->name);
		return -EINVAL;
	}
	return 0;
}

/* ---- one accept/replay sequence through tap_process_syn ---- */

/* The platform's locks take env as an xt_tap_state: put one first. */
struct tap_st_env {
	struct xt_tap_state st;
	spinlock_t lock[3];
	tap_prf_key key, realm;
	u64 serial;
	u16 key_id, hint;
};

static bool __init tap_st_key_get(void *env, u16 key_id,
				  struct tap_keyref *ref)
{
	struct tap_st_env *e = env;

	if (key_id != e->key_id)
		return false;
	ref->key = &e->key;
	ref->serial = e->serial;
	ref->hint = e->hint;
	return true;
}

static const struct tap_ops tap_st_ops __initconst = {
	.key_get = tap_st_key_get,
};

struct tap_st_run {
	const struct tap_tables *t;
	struct tap_st_env *env;
	struct tap_rule rule;
	struct tap_clock clk;
	const char *step;
};

static int __init tap_st_syn(struct tap_st_run *r, const struct tap_syn *syn,
			     unsigned int want)
{
	const struct tap_ctx c = {
		.t = r->t,
		.ops = &tap_st_ops,
		.env = r->env,
		.rule = &r->rule,
		.syn = syn,
		.clk = &r->clk,
		.realm = &r->env->realm,
	};
	struct tap_outcome out;

	tap_process_syn(&c, &out);
	r->clk.now_ms++;
	if (out.stat != want || out.evicted) {
		pr_err("self-test: tables, %s: outcome %s%s, want %s\n",
		       r->step, tap_stat_name(out.stat),
		       out.evicted ? " (evicted)" : "", tap_stat_name(want));
		return -EINVAL;
	}
	return 0;
}

/* Four auth SYNs for @real from other source ports, then @real itself. */
static int __init tap_st_token(struct tap_st_run *r, const struct tap_syn *real,
			       const u32 seq[TAP_FRAGS], unsigned int want)
{
	struct tap_syn auth = *real;
	int i;

	for (i = 0; i < TAP_FRAGS; i++) {
		auth.sport = real->sport + 1 + i;
		auth.seq = seq[i];
		if (tap_st_syn(r, &auth, TAP_STAT_INCOMPLETE))
			return -EINVAL;
	}
	return tap_st_syn(r, real, want);
}

/* A token made here, for cases the vectors do not cover. */
static int __init tap_st_made(struct tap_st_run *r, const struct tap_syn *real,
			      const tap_prf_key *key, u16 key_id, u64 time,
			      unsigned int want)
{
	struct tap_token_params p;
	u32 seq[TAP_FRAGS];

	r->clk.now_ms += r->t->pend_lifetime_ms;	/* older pieces expire */
	tap_params_from_syn(&p, real, r->rule.bind, key_id, time);
	tap_token_encode(key, &r->env->realm, &p, seq);
	return tap_st_token(r, real, seq, want);
}

static void __init tap_st_env_free(struct tap_st_env *env)
{
	kfree(env->st.tables.pend);
	kfree(env->st.tables.auth);
	kfree(env->st.tables.replay);
	kvfree_sensitive(env, sizeof(*env));
}

/* One bucket per table: the smallest tables the core accepts. */
static struct tap_st_env *__init tap_st_env_new(const struct tap_vector *v)
{
	struct tap_st_env *env = kvzalloc(sizeof(*env), GFP_KERNEL);
	struct tap_tables *t;
	unsigned int i;

	if (!env)
		return NULL;
	t = &env->st.tables;
	env->key_id = v->key_id;
	env->serial = 1;
	for (i = 0; i < ARRAY_SIZE(env->lock); i++) {
		spin_lock_init(&env->lock[i]);
		env->st.locks[i] = &env->lock[i];
	}
	t->pend_lifetime_ms = 5000;
	t->auth_lifetime_ms = 10000;
	t->pend = kzalloc(sizeof(*t->pend), GFP_KERNEL);
	t->auth = kzalloc(sizeof(*t->auth), GFP_KERNEL);
	t->replay = kzalloc(sizeof(*t->replay), GFP_KERNEL);
	if (!t->pend || !t->auth || !t->replay) {
		tap_st_env_free(env);
		return NULL;
	}
	tap_prf_key_import(&env->key, v->key);
	env->hint = tap_key_hint(v->fingerprint);
	tap_prf_key_import(&env->realm, v->realm);
	return env;
}

static int __init tap_st_tables(const struct tap_vector *v)
{
	static const u8 other_raw[TAP_KEY_LEN] = { 0xee };
	struct tap_st_env *env = tap_st_env_new(v);
	struct tap_st_run r = {
		.t = env ? &env->st.tables : NULL,
		.env = env,
		.rule = {
			.key_min = v->key_id,
			.key_max = v->key_id,
			.window = 30,
			.bind = v->bind,
		},
		/* just below the old 32-bit millisecond wrap */
		.clk = { .now_s = v->time, .now_ms = 0xffffff00ULL },
	};
	struct tap_syn real = {
		.family = v->family,
		.sport = 40000,
		.dport = v->dport,
		.seq = v->isn,
	};
	tap_prf_key other;
	int ret = -EINVAL;

	if (!env)
		return -ENOMEM;
	tap_prf_key_import(&other, other_raw);
	memcpy(real.daddr.b, v->daddr, sizeof(real.daddr.b));
	memcpy(real.saddr.b, v->saddr, sizeof(real.saddr.b));

	r.step = "vector token";
	if (tap_st_token(&r, &real, v->seq, TAP_STAT_ACCEPTED))
		goto out;
	r.step = "retransmission";
	if (tap_st_syn(&r, &real, TAP_STAT_RETRANSMIT))
		goto out;
	r.step = "token replayed for another port";
	real.sport = 41000;
	if (tap_st_token(&r, &real, v->seq, TAP_STAT_REPLAYED))
		goto out;
	r.step = "retransmission after key reload";
	real.sport = 40000;
	env->serial++;
	if (tap_st_syn(&r, &real, TAP_STAT_REPLAYED))
		goto out;

	real.seq = v->isn ^ 0x5a5a5a5a;
	r.step = "stale token";
	if (tap_st_made(&r, &real, &env->key, v->key_id, v->time - 100,
			TAP_STAT_STALE))
		goto out;
	real.seq++;
	r.step = "token under another key";
	if (tap_st_made(&r, &real, &other, v->key_id, v->time,
			TAP_STAT_BAD_MAC))
		goto out;
	real.seq++;
	r.step = "key id outside the rule";
	if (tap_st_made(&r, &real, &env->key, v->key_id + 1, v->time,
			TAP_STAT_KEY_NOT_ALLOWED))
		goto out;
	real.seq++;
	r.step = "fresh token";
	if (tap_st_made(&r, &real, &env->key, v->key_id, v->time - 5,
			TAP_STAT_ACCEPTED))
		goto out;
	r.step = "retransmission 2^32 ms later";
	r.clk.now_ms += 1ULL << 32;
	if (tap_st_syn(&r, &real, TAP_STAT_INCOMPLETE))
		goto out;
	ret = 0;
out:
	memzero_explicit(&other, sizeof(other));
	tap_st_env_free(env);
	return ret;
}

int __init xt_tap_selftest(void)
{
	int i, ret;

	if (tap_st_siphash())
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(tap_vectors); i++)
		if (tap_st_vector(&tap_vectors[i]))
			return -EINVAL;
	ret = tap_st_tables(&tap_vectors[0]);
	if (ret)
		return ret;
	pr_info("self-test passed (%zu vectors)\n", ARRAY_SIZE(tap_vectors));
	return 0;
}
