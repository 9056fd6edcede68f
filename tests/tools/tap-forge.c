// SPDX-License-Identifier: GPL-2.0
/*
 * tap-forge: forged TAP auth sets at scale, for tests/guest/forgery_scale.sh.
 *
 *   tap-forge --key K3 --key2 K4 --dst4 A --dst6 B --dport P
 *             --category NAME --sets N [options]
 *
 * Every set is four auth SYNs and the real SYN they claim, from a source
 * address of its own, written as IP packets to the test-only injector
 * /dev/tap_inject_raw (bench/inject/tap_inject_raw.c), which delivers them
 * as received in the writer's network namespace. Real tokens come from the
 * shared core (xt_tap/tap_core.c); so does the prediction of each set's
 * fate: its pieces are unmasked for the real SYN and the token is checked
 * against the rule as the server does (docs/PROTOCOL.md §4). At the end it
 * prints the SYNs sent and the predicted counters:
 *
 *   forge CATEGORY sets N replays P syns S accepted A incomplete I
 *         key_not_allowed K unknown_key U stale T bad_mac M replayed R
 *
 * Categories: random (random sequence numbers), random_tag (correctly
 * masked pieces with the real key id and time and a random tag), bitflip
 * (1-3 bits of a real token flipped), recombine (pieces of two real tokens
 * for the same SYN: other time or other key), isn, port, addr, bind (a real
 * token made for another ISN, port, destination or binding, masked for the
 * real SYN), keyid (the id field changed: in the rule and loaded, in the
 * rule only, outside it; or the other key's MAC under this id), time
 * (2^16 s off, so t16 is right, or beyond the window), realm (a real token
 * of a key with another realm), valid (real tokens: accepted) and replay
 * (each valid set, then --replays copies of its token with another source
 * port or from another address: replayed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "tap_core.h"
#include "tap_keyfile.h"
#include "tap_num.h"
#include "tcp_csum.h"

#define BUF_BYTES	(256 * 1024)
#define PKT_MAX		60	/* IPv6 + TCP, no options */
#define WINDOW_MARGIN	2	/* seconds kept clear of the window's edge */

static const char *prog = "tap-forge";
#include "tool_die.h"

/* ---- a fast seeded generator: millions of draws in a TCG guest ---- */

static u64 rng_state;

static u64 rnd64(void)
{
	u64 z = (rng_state += 0x9e3779b97f4a7c15ULL);	/* splitmix64 */

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static u32 rnd32(void)
{
	return (u32)rnd64();
}

static u32 rnd_below(u32 n)
{
	return (u32)(rnd64() % n);
}

/* ---- configuration ---- */

struct fkey {
	tap_prf_key key, realm;
	u16 id;
	u16 hint;	/* §2 */
	bool have;
};

struct forge {
	struct fkey k, k2, foreign;	/* rule's key, second key, other realm */
	struct tap_addr dst4, dst6;
	bool have4, have6;
	u16 dport;
	struct tap_rule rule;
	/* the server's tables were made in [tables_lo, tables_hi] (0: unknown) */
	u64 tables_lo, tables_hi;
	u16 loaded[8];
	int nloaded;
	const char *category;
	unsigned long sets, replays;
	u32 src_next;		/* source addresses: one per set */
	int fd;
	u8 *buf;
	size_t used;
	unsigned long syns;
	unsigned long pred[__TAP_STAT_MAX];
};

static void load_key(const char *path, struct fkey *k)
{
	struct tap_keyfile kf;
	char err[256];

	if (tap_keyfile_read(path, &kf, err, sizeof(err)) < 0)
		die("%s", err);
	tap_prf_key_import(&k->key, kf.secret);
	tap_prf_key_import(&k->realm, kf.realm);
	k->hint = tap_key_hint(tap_key_fingerprint(&k->key));
	k->id = kf.id;
	k->have = true;
	tap_keyfile_wipe(&kf);
}

/* ---- packets to the injector ---- */

static void flush_buf(struct forge *f)
{
	size_t off = 0;

	while (off < f->used) {
		ssize_t n = write(f->fd, f->buf + off, f->used - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write to the injector: %s", n ? strerror(errno) : "nothing taken");
		off += (size_t)n;
	}
	f->used = 0;
}

/* One SYN as a record: 16-bit length, then the IP packet. */
static void emit_syn(struct forge *f, const struct tap_syn *s)
{
	u8 *rec, *th;
	size_t iplen = s->family == 4 ? 20 : 40, len = iplen + 20;
	u16 rlen = (u16)len, csum;

	if (f->used + sizeof(rlen) + PKT_MAX > BUF_BYTES)
		flush_buf(f);
	rec = f->buf + f->used;
	memcpy(rec, &rlen, sizeof(rlen));
	rec += sizeof(rlen);
	memset(rec, 0, len);
	if (s->family == 4) {
		rec[0] = 0x45;
		rec[3] = (u8)len;
		rec[6] = 0x40;		/* DF */
		rec[8] = 64;
		rec[9] = IPPROTO_TCP;
		memcpy(rec + 12, s->saddr.b, 4);
		memcpy(rec + 16, s->daddr.b, 4);
		csum = ip4_header_csum(rec, 20);
		rec[10] = csum >> 8;
		rec[11] = (u8)csum;
	} else {
		rec[0] = 0x60;
		rec[5] = 20;		/* payload length */
		rec[6] = IPPROTO_TCP;
		rec[7] = 64;
		memcpy(rec + 8, s->saddr.b, 16);
		memcpy(rec + 24, s->daddr.b, 16);
	}
	th = rec + iplen;
	th[0] = s->sport >> 8;
	th[1] = (u8)s->sport;
	th[2] = s->dport >> 8;
	th[3] = (u8)s->dport;
	th[4] = s->seq >> 24;
	th[5] = (u8)(s->seq >> 16);
	th[6] = (u8)(s->seq >> 8);
	th[7] = (u8)s->seq;
	th[12] = 5 << 4;
	th[13] = 0x02;		/* SYN */
	th[14] = 0xfa;		/* window 64240 */
	th[15] = 0xf0;
	csum = tcp_csum(s->family == 6, s->saddr.b, s->daddr.b, th, 20);
	th[16] = csum >> 8;
	th[17] = (u8)csum;
	f->used += sizeof(rlen) + len;
	f->syns++;
}

static u16 rnd_sport(void)
{
	return (u16)(1024 + rnd_below(65536 - 1024));
}

/* A real SYN from a source address no other set uses. */
static void new_real_syn(struct forge *f, unsigned long i, struct tap_syn *s)
{
	u32 n = f->src_next++;

	memset(s, 0, sizeof(*s));
	s->family = (f->have4 && (!f->have6 || i % 2 == 0)) ? 4 : 6;
	if (s->family == 4) {
		s->daddr = f->dst4;
		s->saddr.b[0] = 10;		/* 10.128.0.0/9 */
		s->saddr.b[1] = (u8)(128 | (n >> 16 & 0x7f));
		s->saddr.b[2] = (u8)(n >> 8);
		s->saddr.b[3] = (u8)n;
	} else {
		static const u8 pfx[12] = { 0xfd, 0, 2, 0 };	/* fd00:200::/96 */

		s->daddr = f->dst6;
		memcpy(s->saddr.b, pfx, sizeof(pfx));
		s->saddr.b[12] = (u8)(n >> 24);
		s->saddr.b[13] = (u8)(n >> 16);
		s->saddr.b[14] = (u8)(n >> 8);
		s->saddr.b[15] = (u8)n;
	}
	s->sport = rnd_sport();
	s->dport = f->dport;
	s->seq = rnd32();
}

/* The four pieces (each from its own source port), then the real SYN. */
static void emit_set(struct forge *f, const struct tap_syn *real,
		     const u32 seq[TAP_FRAGS])
{
	struct tap_syn p = *real;
	int i;

	for (i = 0; i < TAP_FRAGS; i++) {
		p.sport = rnd_sport();
		p.seq = seq[i];
		emit_syn(f, &p);
	}
	emit_syn(f, real);
}

/* ---- the server's view, from the core ---- */

static const struct fkey *key_by_id(const struct forge *f, u16 id)
{
	int i;

	for (i = 0; i < f->nloaded; i++)
		if (f->loaded[i] == id)
			return f->k.id == id ? &f->k : f->k2.id == id && f->k2.have ? &f->k2 : NULL;
	return NULL;
}

static bool key_loaded(const struct forge *f, u16 id)
{
	int i;

	for (i = 0; i < f->nloaded; i++)
		if (f->loaded[i] == id)
			return true;
	return false;
}

#define FATE_AMBIGUOUS	(-1)

/*
 * What the server makes of pieces seq for the real SYN: a TAP_STAT_*, or
 * FATE_AMBIGUOUS when the time is so near the window's edge that a clock
 * tick could change it (the caller draws again).
 */
static int predict(const struct forge *f, const struct tap_syn *real,
		   const u32 seq[TAP_FRAGS])
{
	struct tap_token_params p;
	struct tap_token tok;
	const struct fkey *k;
	u64 now = (u64)time(NULL), t, dist;

	if (!tap_token_unpack(&f->k.realm, seq, real->seq, real->dport, &tok))
		return TAP_STAT_INCOMPLETE;
	if (tok.key_id < f->rule.key_min || tok.key_id > f->rule.key_max)
		return TAP_STAT_KEY_NOT_ALLOWED;
	if (!key_loaded(f, tok.key_id))
		return TAP_STAT_UNKNOWN_KEY;
	t = tap_time_expand(now, tok.t16);
	dist = t > now ? t - now : now - t;
	if (dist + WINDOW_MARGIN > f->rule.window && dist < f->rule.window + WINDOW_MARGIN + 1)
		return FATE_AMBIGUOUS;
	if (dist > f->rule.window)
		return TAP_STAT_STALE;
	/* new tables refuse a token made before them (PROTOCOL.md §6) */
	if (t < f->tables_lo)
		return TAP_STAT_STALE;
	if (t < f->tables_hi)
		return FATE_AMBIGUOUS;
	k = key_by_id(f, tok.key_id);
	if (!k)
		die("key id %u is loaded, but tap-forge has no file for it", tok.key_id);
	tap_params_from_syn(&p, real, f->rule.bind, tok.key_id, t);
	return tok.hint == k->hint && tap_mac(&k->key, &p) == tok.tag ?
	       TAP_STAT_ACCEPTED : TAP_STAT_BAD_MAC;
}

/* A real token for params p, masked for the real SYN's ISN and port. */
static void token_for(const struct fkey *k, const struct fkey *mask_realm,
		      const struct tap_token_params *p, const struct tap_syn *real,
		      u32 seq[TAP_FRAGS])
{
	struct tap_token tok = {
		.key_id = p->key_id,
		.t16 = (u16)p->time,
		.hint = k->hint,
		.tag = tap_mac(&k->key, p),
	};

	tap_token_pack(&mask_realm->realm, &tok, real->seq, real->dport, seq);
}

/* The real token of this SYN now, as tap-clientd makes it. */
static void real_params(const struct forge *f, const struct fkey *k,
			const struct tap_syn *real, struct tap_token_params *p)
{
	tap_params_from_syn(p, real, f->rule.bind, k->id, (u64)time(NULL));
}

static void random_addr(struct tap_addr *a, u8 family)
{
	u32 w[4] = { rnd32(), rnd32(), rnd32(), rnd32() };

	memset(a, 0, sizeof(*a));
	memcpy(a->b, w, family == 4 ? 4 : 16);
}

/* ---- the categories: each fills seq for the real SYN ---- */

static void forge_random(struct forge *f, unsigned long i, const struct tap_syn *real,
			 u32 seq[TAP_FRAGS])
{
	int j;

	(void)f, (void)i, (void)real;
	for (j = 0; j < TAP_FRAGS; j++)
		seq[j] = rnd32();
}

static void forge_random_tag(struct forge *f, unsigned long i, const struct tap_syn *real,
			     u32 seq[TAP_FRAGS])
{
	struct tap_token tok = {
		.key_id = f->k.id,
		.t16 = (u16)time(NULL),
		.hint = f->k.hint,
		.tag = rnd64(),
	};

	(void)i;
	tap_token_pack(&f->k.realm, &tok, real->seq, real->dport, seq);
}

static void forge_bitflip(struct forge *f, unsigned long i, const struct tap_syn *real,
			  u32 seq[TAP_FRAGS])
{
	struct tap_token_params p;
	u32 bits[3];
	int flips = 1 + (int)(i % 3), j, k;

	real_params(f, &f->k, real, &p);
	tap_token_encode(&f->k.key, &f->k.realm, &p, seq);
	for (j = 0; j < flips; j++) {
		do {	/* distinct bits: a bit flipped twice is no flip */
			bits[j] = rnd_below(32 * TAP_FRAGS);
			for (k = 0; k < j && bits[k] != bits[j]; k++)
				;
		} while (k < j);
		seq[bits[j] / 32] ^= 1u << (bits[j] % 32);
	}
}

/* Pieces of two real tokens of this SYN: one a few seconds older or the other key's. */
static void forge_recombine(struct forge *f, unsigned long i, const struct tap_syn *real,
			    u32 seq[TAP_FRAGS])
{
	struct tap_token_params pa, pb;
	u32 a[TAP_FRAGS], b[TAP_FRAGS];
	const struct fkey *kb = &f->k;
	u32 from_b;
	int j;

	real_params(f, &f->k, real, &pa);
	pb = pa;
	if (i % 2 && f->k2.have) {
		kb = &f->k2;
		pb.key_id = f->k2.id;
	} else {
		pb.time -= 1 + rnd_below(5);
	}
	tap_token_encode(&f->k.key, &f->k.realm, &pa, a);
	tap_token_encode(&kb->key, &kb->realm, &pb, b);
	do {
		from_b = 1 + rnd_below((1u << TAP_FRAGS) - 2);	/* never none or all */
		for (j = 0; j < TAP_FRAGS; j++)
			seq[j] = from_b & (1u << j) ? b[j] : a[j];
	} while (!memcmp(seq, a, sizeof(a)) || !memcmp(seq, b, sizeof(b)));
}

/* A real token for another ISN, port, destination or binding. */
static void forge_changed(struct forge *f, unsigned long i, const struct tap_syn *real,
			  u32 seq[TAP_FRAGS])
{
	struct tap_token_params p;
	const char *c = f->category;

	real_params(f, &f->k, real, &p);
	if (!strcmp(c, "isn")) {
		do
			p.isn = rnd32();
		while (p.isn == real->seq);
	} else if (!strcmp(c, "port")) {
		do
			p.dport = (u16)rnd32();
		while (p.dport == real->dport);
	} else if (!strcmp(c, "addr")) {
		random_addr(&p.daddr, real->family);
		if (i % 2)	/* the other family's token */
			p.family = real->family == 4 ? 6 : 4;
	} else {	/* bind */
		static const u8 binds[3] = { 0, TAP_BIND_SADDR, TAP_BIND_ALL };
		struct tap_token_params all;

		tap_params_from_syn(&all, real, TAP_BIND_ALL, p.key_id, p.time);
		p = all;
		p.bind = binds[i % 3];
		if (!(p.bind & TAP_BIND_DADDR))
			memset(&p.daddr, 0, sizeof(p.daddr));
	}
	token_for(&f->k, &f->k, &p, real, seq);
}

/* The id field changed, or the other key's MAC under this key's id. */
static void forge_keyid(struct forge *f, unsigned long i, const struct tap_syn *real,
			u32 seq[TAP_FRAGS])
{
	struct tap_token_params p;
	struct tap_token tok;
	u16 ids[3] = { f->k2.id, (u16)(f->rule.key_max), (u16)(f->rule.key_max + 1 + rnd_below(1000)) };

	real_params(f, &f->k, real, &p);
	if (i % 4 == 3 && f->k2.have) {
		token_for(&f->k2, &f->k, &p, real, seq);	/* k2's MAC, k's id */
		return;
	}
	tok.key_id = ids[i % 4 % 3];
	tok.t16 = (u16)p.time;
	tok.hint = f->k.hint;
	tok.tag = tap_mac(&f->k.key, &p);
	tap_token_pack(&f->k.realm, &tok, real->seq, real->dport, seq);
}

static void forge_time(struct forge *f, unsigned long i, const struct tap_syn *real,
		       u32 seq[TAP_FRAGS])
{
	struct tap_token_params p;
	s64 off;

	real_params(f, &f->k, real, &p);
	if (i % 2)	/* same t16, other time */
		off = (s64)(1 + rnd_below(1000)) * 65536;
	else		/* beyond the window */
		off = (s64)f->rule.window + WINDOW_MARGIN + 1 + rnd_below(30000);
	p.time = rnd64() & 1 ? p.time + (u64)off : p.time - (u64)off;
	tap_token_encode(&f->k.key, &f->k.realm, &p, seq);
}

static void forge_realm(struct forge *f, unsigned long i, const struct tap_syn *real,
			u32 seq[TAP_FRAGS])
{
	struct tap_token_params p;

	(void)i;
	real_params(f, &f->foreign, real, &p);
	tap_token_encode(&f->foreign.key, &f->foreign.realm, &p, seq);
}

static void forge_valid(struct forge *f, unsigned long i, const struct tap_syn *real,
			u32 seq[TAP_FRAGS])
{
	struct tap_token_params p;

	(void)i;
	real_params(f, &f->k, real, &p);
	tap_token_encode(&f->k.key, &f->k.realm, &p, seq);
}

typedef void forge_fn(struct forge *f, unsigned long i, const struct tap_syn *real,
		      u32 seq[TAP_FRAGS]);

static const struct {
	const char *name;
	forge_fn *fn;
} categories[] = {
	{ "random", forge_random },
	{ "random_tag", forge_random_tag },
	{ "bitflip", forge_bitflip },
	{ "recombine", forge_recombine },
	{ "isn", forge_changed },
	{ "port", forge_changed },
	{ "addr", forge_changed },
	{ "bind", forge_changed },
	{ "keyid", forge_keyid },
	{ "time", forge_time },
	{ "realm", forge_realm },
	{ "valid", forge_valid },
	{ "replay", forge_valid },
};

/* ---- running a category ---- */

/* Replays of one accepted set: another source port, or another address. */
static void replay_set(struct forge *f, unsigned long i, const struct tap_syn *orig,
		       const u32 seq[TAP_FRAGS])
{
	unsigned long r;

	for (r = 0; r < f->replays; r++) {
		struct tap_syn s = *orig;

		if (r % 2) {
			struct tap_syn other;

			new_real_syn(f, i, &other);
			s.saddr = other.saddr;
		} else {
			do
				s.sport = rnd_sport();
			while (s.sport == orig->sport);
		}
		emit_set(f, &s, seq);
		f->pred[TAP_STAT_INCOMPLETE] += TAP_FRAGS;
		f->pred[TAP_STAT_REPLAYED]++;
	}
}

static void run(struct forge *f, forge_fn *fn)
{
	bool expect_valid = !strcmp(f->category, "valid") || !strcmp(f->category, "replay");
	unsigned long i;

	for (i = 0; i < f->sets; i++) {
		struct tap_syn real;
		u32 seq[TAP_FRAGS];
		int fate, draws = 0;

		do {
			if (++draws > 100)
				die("%s: set %lu stays at the window's edge", f->category, i);
			new_real_syn(f, i, &real);
			fn(f, i, &real, seq);
			fate = predict(f, &real, seq);
		} while (fate == FATE_AMBIGUOUS);
		if ((fate == TAP_STAT_ACCEPTED) != expect_valid)
			die("%s: set %lu would be %s", f->category, i, tap_stat_name((unsigned int)fate));
		emit_set(f, &real, seq);
		f->pred[TAP_STAT_INCOMPLETE] += TAP_FRAGS;
		f->pred[fate]++;
		if (!strcmp(f->category, "replay"))
			replay_set(f, i, &real, seq);
	}
	flush_buf(f);
}

static void report(const struct forge *f)
{
	static const unsigned int shown[] = {
		TAP_STAT_ACCEPTED, TAP_STAT_INCOMPLETE, TAP_STAT_KEY_NOT_ALLOWED,
		TAP_STAT_UNKNOWN_KEY, TAP_STAT_STALE, TAP_STAT_BAD_MAC, TAP_STAT_REPLAYED,
	};
	size_t j;

	printf("forge %s sets %lu replays %lu syns %lu", f->category, f->sets,
	       strcmp(f->category, "replay") ? 0 : f->sets * f->replays, f->syns);
	for (j = 0; j < sizeof(shown) / sizeof(shown[0]); j++)
		printf(" %s %lu", tap_stat_name(shown[j]), f->pred[shown[j]]);
	printf("\n");
}

/* ---- arguments ---- */

static void usage(FILE *out)
{
	fprintf(out,
"Usage: %s --key FILE --dport P (--dst4 A | --dst6 B)... --category NAME\n"
"       --sets N [--key2 FILE] [--foreign FILE] [--key-range LO-HI]\n"
"       [--loaded ID,...] [--window S] [--replays R] [--seed N]\n"
"       [--src-index N] [--tables-made LO-HI] [--device PATH]\n"
"Writes N forged (or valid) auth sets to the injector and prints the\n"
"counters the server should show. Categories: random random_tag bitflip\n"
"recombine isn port addr bind keyid time realm valid replay.\n"
"--key is the rule's key, --key2 a second loaded key of the same realm,\n"
"--foreign a key of another realm; the rule: --key-range (default the\n"
"key's id), --window (30), destination bound; --loaded: the ids loaded\n"
"on the server (default the keys given). --src-index: the first source\n"
"address's number (each set has its own). --tables-made: the server's tables\n"
"were made in that span of Unix seconds, so tokens older refuse as stale.\n"
"Device: /dev/tap_inject_raw.\n",
		prog);
}

static void parse_dst(const char *s, struct forge *f)
{
	u8 b[16];

	if (inet_pton(AF_INET, s, b) == 1) {
		memset(&f->dst4, 0, sizeof(f->dst4));
		memcpy(f->dst4.b, b, 4);
		f->have4 = true;
	} else if (inet_pton(AF_INET6, s, b) == 1) {
		memcpy(f->dst6.b, b, 16);
		f->have6 = true;
	} else {
		die("'%s' is not a numeric IPv4 or IPv6 address", s);
	}
}

static void parse_loaded(const char *s, struct forge *f)
{
	char *copy = strdup(s), *tok, *save = NULL;
	u32 id;

	if (!copy)
		die("out of memory");
	f->nloaded = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (f->nloaded == (int)(sizeof(f->loaded) / sizeof(f->loaded[0])))
			die("--loaded: at most 8 ids");
		if (!tap_parse_u32(tok, 0, 65535, &id))
			die("--loaded: '%s' is not a key id", tok);
		f->loaded[f->nloaded++] = (u16)id;
	}
	free(copy);
}

static unsigned long num_arg(const char *s, const char *what, unsigned long long max)
{
	unsigned long long v;

	if (!tap_parse_num(s, max, &v))
		die("%s: '%s' is not a number up to %llu", what, s, max);
	return (unsigned long)v;
}

static void parse_tables_made(const char *s, struct forge *f)
{
	const char *dash = strchr(s, '-');
	unsigned long long lo, hi;
	char buf[24];

	if (!dash || (size_t)(dash - s) >= sizeof(buf))
		die("--tables-made: '%s' is not LO-HI (Unix seconds)", s);
	memcpy(buf, s, (size_t)(dash - s));
	buf[dash - s] = '\0';
	if (!tap_parse_num(buf, ~0ULL, &lo) || !tap_parse_num(dash + 1, ~0ULL, &hi) || lo > hi)
		die("--tables-made: '%s' is not LO-HI (Unix seconds)", s);
	f->tables_lo = lo;
	f->tables_hi = hi;
}

static forge_fn *parse_args(int argc, char **argv, struct forge *f, const char **device)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' }, { "key2", required_argument, NULL, 'K' },
		{ "foreign", required_argument, NULL, 'F' }, { "dst4", required_argument, NULL, '4' },
		{ "dst6", required_argument, NULL, '6' }, { "dport", required_argument, NULL, 'p' },
		{ "key-range", required_argument, NULL, 'r' }, { "loaded", required_argument, NULL, 'l' },
		{ "window", required_argument, NULL, 'w' }, { "category", required_argument, NULL, 'c' },
		{ "sets", required_argument, NULL, 'n' }, { "replays", required_argument, NULL, 'R' },
		{ "seed", required_argument, NULL, 's' }, { "src-index", required_argument, NULL, 'i' },
		{ "device", required_argument, NULL, 'd' }, { "help", no_argument, NULL, 'h' },
		{ "tables-made", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	const char *range = NULL, *loaded = NULL;
	bool have_dport = false, have_sets = false;
	size_t j;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': load_key(optarg, &f->k); break;
		case 'K': load_key(optarg, &f->k2); break;
		case 'F': load_key(optarg, &f->foreign); break;
		case '4': case '6': parse_dst(optarg, f); break;
		case 'p': f->dport = (u16)num_arg(optarg, "--dport", 65535); have_dport = true; break;
		case 'r': range = optarg; break;
		case 'l': loaded = optarg; break;
		case 'w': f->rule.window = (u32)num_arg(optarg, "--window", 3600); break;
		case 'c': f->category = optarg; break;
		case 'n': f->sets = num_arg(optarg, "--sets", 100000000); have_sets = true; break;
		case 'R': f->replays = num_arg(optarg, "--replays", 1000); break;
		case 's': rng_state = num_arg(optarg, "--seed", ~0ULL); break;
		case 'i': f->src_next = (u32)num_arg(optarg, "--src-index", 0x7fffffff); break;
		case 'd': *device = optarg; break;
		case 'T': parse_tables_made(optarg, f); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc || !f->k.have || !have_dport || !have_sets || !f->category ||
	    !(f->have4 || f->have6)) {
		usage(stderr);
		exit(2);
	}
	f->rule.key_min = f->rule.key_max = f->k.id;
	if (range && !tap_parse_urange(range, 65535, &f->rule.key_min, &f->rule.key_max))
		die("--key-range: '%s' is not an id or LO-HI", range);
	if (loaded) {
		parse_loaded(loaded, f);
	} else {
		f->loaded[f->nloaded++] = f->k.id;
		if (f->k2.have)
			f->loaded[f->nloaded++] = f->k2.id;
	}
	for (j = 0; j < sizeof(categories) / sizeof(categories[0]); j++)
		if (!strcmp(categories[j].name, f->category))
			break;
	if (j == sizeof(categories) / sizeof(categories[0]))
		die("unknown category '%s'", f->category);
	if ((!strcmp(f->category, "keyid") || !strcmp(f->category, "recombine")) && !f->k2.have)
		die("%s needs --key2", f->category);
	if (!strcmp(f->category, "realm") && !f->foreign.have)
		die("realm needs --foreign");
	return categories[j].fn;
}

int main(int argc, char **argv)
{
	static struct forge f = { .rule = { .window = 30, .bind = TAP_BIND_DADDR } };
	const char *device = "/dev/tap_inject_raw";
	forge_fn *fn;

	if (sodium_init() < 0)
		die("libsodium init failed");
	randombytes_buf(&rng_state, sizeof(rng_state));
	fn = parse_args(argc, argv, &f, &device);
	f.buf = malloc(BUF_BYTES);
	if (!f.buf)
		die("out of memory");
	f.fd = open(device, O_WRONLY | O_CLOEXEC);
	if (f.fd < 0)
		die("%s: %s", device, strerror(errno));
	run(&f, fn);
	if (close(f.fd) < 0)
		die("%s: %s", device, strerror(errno));
	report(&f);
	tap_wipe(&f.k, sizeof(f.k));
	tap_wipe(&f.k2, sizeof(f.k2));
	tap_wipe(&f.foreign, sizeof(f.foreign));
	free(f.buf);
	return 0;
}
