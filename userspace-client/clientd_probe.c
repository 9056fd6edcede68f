// SPDX-License-Identifier: GPL-2.0
/*
 * tap-clientd --probe HOST PORT: does a token from this client reach the
 * server intact, and do the clocks agree? The server answers nothing to a
 * bad token, so the probe asks with its own SYNs, made like the daemon's
 * (the config's key, mark and binding), and reads the answers on a raw
 * socket:
 *
 *   1. a SYN without a token: an answer (SYN/ACK or RST) means TAP does not
 *      guard the port;
 *   2. a token made with this host's time: accepted means path and clock
 *      are fine;
 *   3. tokens whose time is moved by +-60, +-120 ... +-600 s, each + and -
 *      pair at once: the server accepts a time within its rule's window
 *      (default 30 s) of its own clock, so the one accepted tells the skew.
 *
 * Each accepted SYN gets a SYN/ACK, to which this host's kernel answers
 * with a RST (no socket of its own holds the port): no connection is left.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "clientd.h"
#include "tap_num.h"

#define PROBE_STEP	60	/* s: twice the default window, so no skew falls between */
#define PROBE_MAX	600	/* s: the largest time offset tried */
#define PROBE_WAIT_MS	1000	/* for an answer to one SYN; resent once halfway */

enum answer { NO_ANSWER, SYN_ACK, RESET };

struct probe {
	const struct cd_config *cfg;
	const struct cd_server *srv;
	struct cd_sender snd;
	int rx;			/* raw TCP socket: the server's answers */
	uint8_t family;
	struct tap_addr saddr, daddr;
	uint16_t dport;
	char dst[INET6_ADDRSTRLEN];
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A plain SYN from saddr to daddr:dport with an MSS option, parsed into real. */
static int make_syn(const struct probe *pr, uint8_t *buf, size_t len, struct cd_syn *real)
{
	size_t ihl = pr->family == 4 ? 20 : 40;
	uint8_t *tcp = buf + ihl;
	const char *why;

	if (len < ihl + 24)
		return -1;
	memset(buf, 0, ihl + 24);
	if (pr->family == 4) {
		buf[0] = 0x45;
		put16(buf + 6, 0x4000);	/* DF */
		buf[8] = 64;
		buf[9] = IPPROTO_TCP;
		memcpy(buf + 12, pr->saddr.b, 4);
		memcpy(buf + 16, pr->daddr.b, 4);
	} else {
		buf[0] = 0x60;
		buf[6] = IPPROTO_TCP;
		buf[7] = 64;
		memcpy(buf + 8, pr->saddr.b, 16);
		memcpy(buf + 24, pr->daddr.b, 16);
	}
	put16(tcp + 2, pr->dport);
	tcp[12] = 6 << 4;		/* 24 bytes: the MSS option */
	tcp[13] = 0x02;			/* SYN */
	put16(tcp + 14, 64240);
	tcp[20] = 2;
	tcp[21] = 4;
	put16(tcp + 22, pr->family == 4 ? 1460 : 1440);
	return cd_parse_syn(buf, ihl + 24, pr->family, real, &why);
}

/* One SYN (real) with or without a token, ready to send. */
struct try {
	long offset;			/* of the token's time, s */
	struct cd_syn real;
	uint8_t tmpl[128];		/* real points into it */
	uint8_t pkts[TAP_FRAGS + 1][128];	/* auth SYNs, then the SYN */
	size_t lens[TAP_FRAGS + 1];
	int n;
};

/* Builds t: a SYN, and before it the auth SYNs of a token at now + offset. */
static int make_try(struct probe *pr, struct try *t, bool token, long offset)
{
	const struct cd_key *key = &pr->cfg->keys[pr->srv->key];
	struct tap_token_params tp;
	uint32_t seq[TAP_FRAGS], isn;
	uint16_t sport, ipid;
	int i;

	t->offset = offset;
	t->n = 0;
	if (make_syn(pr, t->tmpl, sizeof(t->tmpl), &t->real) < 0)
		return -1;
	sport = cd_random_port(&pr->snd, 0);
	randombytes_buf(&isn, sizeof(isn));
	randombytes_buf(&ipid, sizeof(ipid));
	t->real.syn.sport = sport;
	t->real.syn.seq = isn;
	if (token) {
		tap_params_from_syn(&tp, &t->real.syn, pr->srv->bind, key->id,
				    (uint64_t)((long)time(NULL) + offset));
		tap_token_encode(&key->key, &key->realm, &tp, seq);
		tap_wipe(&tp, sizeof(tp));
		for (i = 0; i < TAP_FRAGS; i++, t->n++)
			t->lens[t->n] = cd_build_auth(&t->real, seq[i],
						      cd_random_port(&pr->snd, sport),
						      (uint16_t)(ipid + 1 + i), t->pkts[t->n],
						      sizeof(t->pkts[t->n]));
	}
	t->lens[t->n] = cd_build_auth(&t->real, isn, sport, ipid, t->pkts[t->n],
				      sizeof(t->pkts[t->n]));
	t->n++;
	return 0;
}

/* An answer to the SYN of one of the tries, if one came; *which: its index. */
static enum answer read_answer(struct probe *pr, const struct try *tries, int ntries,
			       int *which)
{
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	uint8_t buf[1500];
	const uint8_t *tcp;
	ssize_t n;
	size_t off = 0;
	uint32_t ack;
	int k;

	while ((n = recvfrom(pr->rx, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &flen)) > 0) {
		flen = sizeof(from);
		if (pr->family == 4) {
			/* IPv4 raw sockets see the IP header, IPv6 ones do not */
			off = (size_t)(buf[0] & 0x0f) * 4;
			if ((size_t)n < off + 20 || memcmp(buf + 12, pr->daddr.b, 4))
				continue;
		} else if (from.ss_family != AF_INET6 || (size_t)n < 20 ||
			   memcmp(&((struct sockaddr_in6 *)&from)->sin6_addr, pr->daddr.b, 16)) {
			continue;
		}
		tcp = buf + off;
		ack = (uint32_t)tcp[8] << 24 | (uint32_t)tcp[9] << 16 |
		      (uint32_t)tcp[10] << 8 | tcp[11];
		if ((tcp[0] << 8 | tcp[1]) != pr->dport || !(tcp[13] & 0x10))
			continue;
		for (k = 0; k < ntries; k++) {
			if ((tcp[2] << 8 | tcp[3]) != tries[k].real.syn.sport ||
			    ack != tries[k].real.syn.seq + 1)
				continue;
			*which = k;
			if ((tcp[13] & 0x12) == 0x12)
				return SYN_ACK;
			if (tcp[13] & 0x04)
				return RESET;
		}
	}
	return NO_ANSWER;
}

static void send_tries(struct probe *pr, const struct try *tries, int ntries)
{
	int k, i;

	for (k = 0; k < ntries; k++)
		for (i = 0; i < tries[k].n; i++)
			cd_send(&pr->snd, &tries[k].real, tries[k].pkts[i], tries[k].lens[i], 0);
}

/*
 * Sends the tries (at most two at once: their pieces and SYNs fit in the
 * server's pending bucket of sixteen) and waits for an answer to one of
 * their SYNs; *which is its index.
 */
static enum answer exchange(struct probe *pr, const struct try *tries, int ntries, int *which)
{
	struct pollfd pfd = { .fd = pr->rx, .events = POLLIN };
	struct timespec t0, t;
	bool resent = false;
	enum answer a;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	send_tries(pr, tries, ntries);
	for (;;) {
		a = read_answer(pr, tries, ntries, which);
		if (a != NO_ANSWER)
			return a;
		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= PROBE_WAIT_MS)
			return NO_ANSWER;
		if (!resent && ms >= PROBE_WAIT_MS / 2) {
			/* as a retransmission would: pieces lost on the way are filled in */
			send_tries(pr, tries, ntries);
			resent = true;
		}
		poll(&pfd, 1, (int)(PROBE_WAIT_MS / 2 - ms % (PROBE_WAIT_MS / 2)) + 1);
	}
}

/* HOST PORT into pr, and the server entry that covers them. 0 or -1. */
static int target(struct probe *pr, const char *host, const char *port)
{
	unsigned long long p;
	int r;

	if (!tap_parse_num(port, 65535, &p) || p == 0) {
		cd_err("probe: bad port \"%.40s\" (1-65535)", port);
		return -1;
	}
	pr->dport = (uint16_t)p;
	r = cd_resolve(host, 0, &pr->family, &pr->daddr);
	if (r) {
		cd_err("probe: cannot resolve \"%.60s\": %s", host, cd_resolve_error(r));
		return -1;
	}
	cd_addr_str(pr->family, &pr->daddr, pr->dst, sizeof(pr->dst));
	pr->srv = cd_config_match(pr->cfg, pr->family, &pr->daddr, pr->dport);
	if (!pr->srv) {
		cd_err("probe: no server entry of %s covers %s port %u", pr->cfg->path, pr->dst,
		       pr->dport);
		return -1;
	}
	return 0;
}

/* The source address the route to the server gives, and the sockets. 0 or -1. */
static int open_sockets(struct probe *pr)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);
	char err[512];
	int fd, af = pr->family == 4 ? AF_INET : AF_INET6;

	if (pr->family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(pr->dport);
		memcpy(&sin->sin_addr, pr->daddr.b, 4);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(pr->dport);
		memcpy(&sin6->sin6_addr, pr->daddr.b, 16);
		len = sizeof(*sin6);
	}
	/* a UDP "connect" sends nothing; it only asks for the route */
	fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		cd_err("probe: no route to %s: %s", pr->dst, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	memset(&pr->saddr, 0, sizeof(pr->saddr));
	if (pr->family == 4)
		memcpy(pr->saddr.b, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	else
		memcpy(pr->saddr.b, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	if (cd_sender_open(&pr->snd, pr->family == 4, pr->family == 6, pr->cfg->mark, err,
			   sizeof(err)) < 0) {
		cd_err("probe: %s", err);
		return -1;
	}
	pr->rx = socket(af, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
	if (pr->rx < 0) {
		cd_err("probe: cannot open a raw TCP socket: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int report_no_token(const struct probe *pr, enum answer a)
{
	printf("%s port %u answers a SYN without a token (%s): TAP does not guard this "
	       "port there, so a token cannot be tested; check the server's rules "
	       "(iptables -m tap or tap-nft list) and the port\n", pr->dst, pr->dport,
	       a == SYN_ACK ? "SYN/ACK" : "RST");
	return CD_PROBE_UNPROTECTED;
}

static int report_never(const struct probe *pr)
{
	const struct cd_key *key = &pr->cfg->keys[pr->srv->key];

	printf("%s port %u: no token was accepted (time offsets up to +-%d s tried)\n"
	       "Check:\n"
	       "  - the key: the server has key %u loaded with fingerprint %016llx "
	       "(tap-keytool list) and the same realm (tap-keytool fingerprint FILE)\n"
	       "  - the binding: the client entry's no-dst-bind/src-bind match the "
	       "server's rule (--no-dst-bind, --src-bind)\n"
	       "  - the rule: a tap rule with this key id guards port %u on %s\n"
	       "  - the path: a firewall or NAT that rewrites SYN sequence numbers "
	       "(\"sequence number randomisation\") breaks every token; so does a path "
	       "that drops SYNs to this port\n"
	       "  - the clocks, if they differ by more than %d s\n",
	       pr->dst, pr->dport, PROBE_MAX, key->id, (unsigned long long)key->fpr,
	       pr->dport, pr->dst, PROBE_MAX);
	return CD_PROBE_NEVER;
}

/* The verdict on an answer a to the try at offset; the exit status. */
static int report(const struct probe *pr, enum answer a, long offset)
{
	if (a == RESET) {
		printf("%s port %u answers a keyed SYN (token time %+ld s) with RST: the token "
		       "passed, but nothing listens on the port\n", pr->dst, pr->dport, offset);
		return offset ? CD_PROBE_SKEW : CD_PROBE_OK;
	}
	if (!offset) {
		printf("%s port %u: token accepted: the path keeps it intact and the clocks "
		       "agree\n", pr->dst, pr->dport);
		return CD_PROBE_OK;
	}
	printf("%s port %u: token accepted only with its time moved by %+ld s: the "
	       "server's clock is about %ld s %s this host's (to within the rule's "
	       "window, 30 s by default); fix the clocks (NTP)\n", pr->dst, pr->dport,
	       offset, labs(offset), offset > 0 ? "ahead of" : "behind");
	return CD_PROBE_SKEW;
}

int cd_probe(const struct cd_config *cfg, const char *host, const char *port)
{
	struct probe pr = { .cfg = cfg, .snd = { .fd4 = -1, .fd6 = -1 }, .rx = -1 };
	struct try *tries;
	enum answer a;
	int status = 1, which = 0, ntries;
	long off;

	tries = calloc(2, sizeof(*tries));
	if (!tries) {
		cd_err("probe: out of memory");
		return 1;
	}
	if (target(&pr, host, port) < 0 || open_sockets(&pr) < 0)
		goto out;
	cd_info("probe: %s port %u, key %u (line %d)", pr.dst, pr.dport,
		cfg->keys[pr.srv->key].id, pr.srv->line);
	if (make_try(&pr, &tries[0], false, 0) < 0)
		goto out;
	a = exchange(&pr, tries, 1, &which);
	if (a != NO_ANSWER) {
		status = report_no_token(&pr, a);
		goto out;
	}
	/* 0 alone, then +off and -off together */
	for (off = 0; off <= PROBE_MAX; off += PROBE_STEP) {
		ntries = off ? 2 : 1;
		if (make_try(&pr, &tries[0], true, off) < 0 ||
		    (off && make_try(&pr, &tries[1], true, -off) < 0))
			goto out;
		a = exchange(&pr, tries, ntries, &which);
		cd_info("probe: token time %+ld s%s: %s", off, off ? " and its opposite" : "",
			a == SYN_ACK ? "accepted" : a == RESET ? "RST" : "no answer");
		if (a != NO_ANSWER) {
			status = report(&pr, a, tries[which].offset);
			goto out;
		}
	}
	status = report_never(&pr);
out:
	sodium_memzero(tries, 2 * sizeof(*tries));
	free(tries);
	if (pr.rx >= 0)
		close(pr.rx);
	cd_sender_close(&pr.snd);
	return status;
}
