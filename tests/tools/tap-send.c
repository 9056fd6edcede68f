// SPDX-License-Identifier: GPL-2.0
/*
 * tap-send: a small TAP test sender on the shared core (xt_tap/tap_core.c).
 *
 *   tap-send auth    --key FILE --dst ADDR --dport P --isn N [options]
 *   tap-send syn     --dst ADDR --dport P --isn N --sport S [--src ADDR]
 *   tap-send connect --key FILE --dst ADDR --dport P [options]
 *
 * "auth" sends the four auth SYNs of one token (docs/PROTOCOL.md §3) for a
 * real SYN with initial sequence number N; "syn" sends such a real SYN;
 * "connect" makes a real connection with the OS's own SYN: it captures the
 * SYN to learn its ISN, sends the token, and lets the OS's retransmission
 * through. Needs CAP_NET_RAW. See --help.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "tap_core.h"
#include "tap_keyfile.h"
#include "tcp_csum.h"
#include "tap_num.h"

#define TCP_SYN_WINDOW	64240
#define TCP_OPT_LEN	20	/* MSS, SACK_PERM, TS, NOP, WS: as Linux */
#define MAX_ORDER	16

static const char *prog = "tap-send";
static bool quiet;
static bool use_dstopts;	/* IPv6: add a destination options header */
#include "tool_die.h"

static void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void info(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage:\n"
"  %1$s auth --key FILE --dst ADDR --dport PORT --isn N [--src ADDR]\n"
"        [--time UNIX] [--no-dst-bind] [--src-bind] [--order 0,1,2,3]\n"
"        [--skip I]...\n"
"        [--dup I]... [--key-id-override ID] [--gap-ms MS] [--dstopts]\n"
"        [--token-isn N] [--token-dport P] [--token-dst ADDR] [--sport PORT]\n"
"      Send the four auth SYNs of a token for a real SYN with ISN N; with\n"
"      --sport, that real SYN too, right after them.\n"
"  %1$s syn --dst ADDR --dport PORT --isn N --sport PORT [--src ADDR]\n"
"      Send one SYN with that ISN (the real SYN; repeat to retransmit).\n"
"  %1$s connect --key FILE --dst ADDR --dport PORT [--no-dst-bind]\n"
"        [--src-bind]\n"
"        [--send STRING] [--timeout S]\n"
"      Connect with the OS's own SYN: capture it, send its token, let the\n"
"      OS's retransmission in; send STRING, print the reply. Exit 0 when\n"
"      the connection was established.\n"
"\n"
"Options:\n"
"  --key FILE        key file (tap-keytool format)\n"
"  --dst ADDR        destination, IPv4 or IPv6 (fe80::1%%eth0 for link-local)\n"
"  --dport PORT      destination port\n"
"  --src ADDR        source address (default: the route's)\n"
"  --isn N           real SYN's initial sequence number (decimal or 0x hex)\n"
"  --sport PORT      source port of the real SYN (syn; auth: send it too)\n"
"  --time UNIX       token time in Unix seconds (default: now)\n"
"  --no-dst-bind     leave the destination address out of the MAC\n"
"  --src-bind        put the source address in the MAC (rules with --src-bind)\n"
"  --order LIST      piece send order, comma separated (default 0,1,2,3)\n"
"  --skip I          do not send piece I (repeatable)\n"
"  --dup I           send piece I twice (repeatable)\n"
"  --key-id-override ID  put ID in the token instead of the file's key id\n"
"  --gap-ms MS       pause between auth SYNs (default 0)\n"
"  --token-isn N, --token-dport P, --token-dst ADDR\n"
"                    auth: make the token for these instead of the real\n"
"                    SYN's ISN, port or address (negative tests)\n"
"  --dstopts         IPv6: add a destination options header (auth, syn)\n"
"  --send STRING     after connecting, send STRING (connect)\n"
"  --timeout S       give up after S seconds (connect, default 10)\n"
"  -q, --quiet       print only errors (and the server's reply)\n"
"  -h, --help        this help\n"
"\n"
"auth prints each piece sent as 'piece I seq 0xSEQ sport P'.\n"
"Raw sockets and packet capture need root or CAP_NET_RAW.\n", prog);
}

/* ---- arguments ---- */

struct addr {
	int family;	/* AF_INET or AF_INET6 */
	union {
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
		struct sockaddr_storage ss;
	} sa;
};

static void parse_addr(const char *s, const char *what, struct addr *a)
{
	struct addrinfo hints, *res;
	int rc;

	memset(a, 0, sizeof(*a));
	if (!strchr(s, ':')) {
		/* strict dotted quad: inet_pton, not inet_aton's "1.2.3" */
		if (inet_pton(AF_INET, s, &a->sa.sin.sin_addr) != 1)
			die("%s: '%s' is not a numeric IPv4 or IPv6 address",
			    what, s);
		a->family = AF_INET;
		a->sa.sin.sin_family = AF_INET;
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET6;	/* with an optional %scope */
	hints.ai_flags = AI_NUMERICHOST;
	hints.ai_socktype = SOCK_DGRAM;
	rc = getaddrinfo(s, NULL, &hints, &res);
	if (rc)
		die("%s: '%s' is not a numeric IPv4 or IPv6 address", what, s);
	a->family = res->ai_family;
	memcpy(&a->sa.ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (IN6_IS_ADDR_V4MAPPED(&a->sa.sin6.sin6_addr))
		die("%s: '%s' is IPv4-mapped: give the IPv4 address", what, s);
}

static socklen_t addr_len(const struct addr *a)
{
	return a->family == AF_INET ? sizeof(a->sa.sin) : sizeof(a->sa.sin6);
}

static void addr_set_port(struct addr *a, uint16_t port)
{
	if (a->family == AF_INET)
		a->sa.sin.sin_port = htons(port);
	else
		a->sa.sin6.sin6_port = htons(port);
}

static const uint8_t *addr_bytes(const struct addr *a)
{
	return a->family == AF_INET ? (const uint8_t *)&a->sa.sin.sin_addr :
				      (const uint8_t *)&a->sa.sin6.sin6_addr;
}

static size_t addr_blen(const struct addr *a)
{
	return a->family == AF_INET ? 4 : 16;
}

static const char *addr_str(const struct addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family, addr_bytes(a), buf, len))
		snprintf(buf, len, "?");
	return buf;
}

static void to_tap_addr(const struct addr *a, struct tap_addr *t)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->b, addr_bytes(a), addr_blen(a));
}

static unsigned long parse_num(const char *s, const char *what,
			       unsigned long max)
{
	unsigned long long v;

	if (!tap_parse_num(s, ULONG_MAX, &v))
		die("%s: '%s' is not a number", what, s);
	if (v > max)
		die("%s: %s is out of range (0-%lu)", what, s, max);
	return (unsigned long)v;
}

/* The route's source address towards dst (a connected UDP socket's). */
static void route_source(const struct addr *dst, uint16_t dport,
			 struct addr *src)
{
	struct addr d = *dst;
	socklen_t len = sizeof(src->sa.ss);
	int fd;

	addr_set_port(&d, dport ? dport : 9);
	fd = socket(dst->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&d.sa.ss, addr_len(&d)) < 0)
		die("no route to the destination: %s", strerror(errno));
	memset(src, 0, sizeof(*src));
	src->family = dst->family;
	if (getsockname(fd, (struct sockaddr *)&src->sa.ss, &len) < 0)
		die("getsockname: %s", strerror(errno));
	close(fd);
	addr_set_port(src, 0);
}

/* ---- raw SYNs ---- */

struct raw_sender {
	int fd;
	struct addr src, dst;
	uint16_t dport;
	uint32_t ts_base;
};

static void raw_open(struct raw_sender *rs, const struct addr *src,
		     const struct addr *dst, uint16_t dport)
{
	memset(rs, 0, sizeof(*rs));
	rs->src = *src;
	rs->dst = *dst;
	rs->dport = dport;
	rs->ts_base = randombytes_random();
	if (dst->family == AF_INET) {
		/* IPPROTO_RAW implies IP_HDRINCL: we write the IPv4 header */
		rs->fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	} else {
		/* the kernel writes the IPv6 header; we the TCP checksum */
		rs->fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
	}
	if (rs->fd < 0)
		die("raw socket: %s%s", strerror(errno),
		    errno == EPERM ? " (needs root or CAP_NET_RAW)" : "");
	if (dst->family == AF_INET6) {
		/* empty destination options: 2 header bytes + PadN of 4 */
		static const uint8_t dstopts[8] = { 0, 0, 1, 4, 0, 0, 0, 0 };
		struct addr b = *src;
		int off = 0;

		if (use_dstopts &&
		    setsockopt(rs->fd, IPPROTO_IPV6, IPV6_DSTOPTS, dstopts,
			       sizeof(dstopts)) < 0)
			die("IPV6_DSTOPTS: %s", strerror(errno));

		/* our checksum needs the kernel to use exactly this source */
		addr_set_port(&b, 0);
		if (bind(rs->fd, (struct sockaddr *)&b.sa.ss, addr_len(&b)) < 0) {
			char buf[INET6_ADDRSTRLEN];

			die("bind raw socket to %s: %s",
			    addr_str(src, buf, sizeof(buf)), strerror(errno));
		}
		/* we never read from it */
		setsockopt(rs->fd, SOL_SOCKET, SO_RCVBUF, &off, sizeof(off));
	}
}

/* Linux's SYN options: MSS, SACK permitted, timestamps, NOP, window scale. */
static void syn_options(uint8_t *o, uint16_t mss, uint32_t tsval)
{
	o[0] = TCPOPT_MAXSEG;
	o[1] = TCPOLEN_MAXSEG;
	o[2] = mss >> 8;
	o[3] = (uint8_t)mss;
	o[4] = TCPOPT_SACK_PERMITTED;
	o[5] = TCPOLEN_SACK_PERMITTED;
	o[6] = TCPOPT_TIMESTAMP;
	o[7] = TCPOLEN_TIMESTAMP;
	o[8] = tsval >> 24;
	o[9] = (uint8_t)(tsval >> 16);
	o[10] = (uint8_t)(tsval >> 8);
	o[11] = (uint8_t)tsval;
	memset(o + 12, 0, 4);	/* echo reply */
	o[16] = TCPOPT_NOP;
	o[17] = TCPOPT_WINDOW;
	o[18] = TCPOLEN_WINDOW;
	o[19] = 7;
}

static uint32_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void raw_send_syn(struct raw_sender *rs, uint16_t sport, uint32_t seq)
{
	uint8_t pkt[sizeof(struct iphdr) + sizeof(struct tcphdr) + TCP_OPT_LEN];
	struct tcphdr *th;
	size_t tcplen = sizeof(struct tcphdr) + TCP_OPT_LEN, off = 0;
	ssize_t n;
	struct addr d = rs->dst;

	memset(pkt, 0, sizeof(pkt));
	if (rs->dst.family == AF_INET) {
		struct iphdr *ip = (struct iphdr *)pkt;

		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons(sizeof(struct iphdr) + tcplen);
		ip->id = htons((uint16_t)randombytes_random());
		ip->frag_off = htons(IP_DF);
		ip->ttl = 64;
		ip->protocol = IPPROTO_TCP;
		memcpy(&ip->saddr, addr_bytes(&rs->src), 4);
		memcpy(&ip->daddr, addr_bytes(&rs->dst), 4);
		ip->check = htons(ip4_header_csum((const uint8_t *)ip, sizeof(*ip)));
		off = sizeof(struct iphdr);
	}
	th = (struct tcphdr *)(pkt + off);
	th->source = htons(sport);
	th->dest = htons(rs->dport);
	th->seq = htonl(seq);
	th->doff = (uint16_t)(tcplen / 4);
	th->syn = 1;
	th->window = htons(TCP_SYN_WINDOW);
	syn_options(pkt + off + sizeof(struct tcphdr),
		    rs->dst.family == AF_INET ? 1460 : 1440,
		    rs->ts_base + ms_now());

	th->check = htons(tcp_csum(rs->dst.family == AF_INET6, addr_bytes(&rs->src),
				   addr_bytes(&rs->dst), (const uint8_t *)th, tcplen));

	/* IPv6 raw sockets take port 0 (or the protocol) in the address */
	addr_set_port(&d, 0);
	n = sendto(rs->fd, pkt, off + tcplen, 0, (struct sockaddr *)&d.sa.ss,
		   addr_len(&d));
	if (n < 0)
		die("send SYN: %s", strerror(errno));
	if ((size_t)n != off + tcplen)
		die("send SYN: short write");
}

/*
 * Linux's default ephemeral range, 32768-60999, but never @avoid: the
 * real SYN's port. An auth SYN from it would be taken for that SYN by the
 * capture of connect (its sequence number for the ISN), as tap-clientd's
 * own choice of ports avoids it (cd_random_port()).
 */
static uint16_t random_sport(uint16_t avoid)
{
	uint16_t port;

	do
		port = (uint16_t)(32768 + randombytes_uniform(60999 - 32768 + 1));
	while (port == avoid);
	return port;
}

/* ---- the token ---- */

struct auth_opts {
	const char *key_path;
	uint8_t bind;	/* TAP_BIND_* */
	bool have_time;
	uint64_t time;
	int order[MAX_ORDER];
	int norder;
	unsigned int skip, dup;
	bool key_id_override;
	uint16_t key_id;
	unsigned int gap_ms;
	/* tests: a token made for other inputs than the SYN it is sent for */
	bool have_token_isn, have_token_dport, have_token_dst;
	uint32_t token_isn;
	uint16_t token_dport;
	struct addr token_dst;
};

/* A key file as the token math needs it; wiped after use. */
struct send_key {
	tap_prf_key key, realm;
	uint16_t id;
};

static void load_key(const char *path, struct send_key *k)
{
	struct tap_keyfile kf;
	char err[256];

	if (!path)
		die("--key FILE is required");
	if (tap_keyfile_read(path, &kf, err, sizeof(err)) < 0)
		die("%s", err);
	tap_prf_key_import(&k->key, kf.secret);
	tap_prf_key_import(&k->realm, kf.realm);
	k->id = kf.id;
	tap_keyfile_wipe(&kf);
}

static void send_token(struct raw_sender *rs, const struct send_key *key,
		       const struct auth_opts *ao, uint32_t isn,
		       uint16_t real_sport)
{
	struct tap_token_params p;
	uint32_t seq[TAP_FRAGS];
	int i, k, copy, sent = 0;

	memset(&p, 0, sizeof(p));
	p.family = rs->dst.family == AF_INET ? 4 : 6;
	p.bind = ao->bind;
	p.key_id = ao->key_id_override ? ao->key_id : key->id;
	p.dport = ao->have_token_dport ? ao->token_dport : rs->dport;
	p.isn = ao->have_token_isn ? ao->token_isn : isn;
	p.time = ao->have_time ? ao->time : (uint64_t)time(NULL);
	if (p.bind & TAP_BIND_DADDR)
		to_tap_addr(ao->have_token_dst ? &ao->token_dst : &rs->dst,
			    &p.daddr);
	if (p.bind & TAP_BIND_SADDR)
		to_tap_addr(&rs->src, &p.saddr);
	p.time = tap_token_encode(&key->key, &key->realm, &p, seq);
	info("token key_id %u time %" PRIu64 " isn %" PRIu32 " dport %u "
	     "bind %d seq 0x%08x 0x%08x 0x%08x 0x%08x\n", p.key_id, p.time,
	     isn, p.dport, p.bind, seq[0], seq[1], seq[2], seq[3]);

	for (i = 0; i < ao->norder; i++) {
		k = ao->order[i];
		if (ao->skip & (1u << k))
			continue;
		for (copy = 0; copy < ((ao->dup & (1u << k)) ? 2 : 1); copy++) {
			uint16_t sport = random_sport(real_sport);

			if (ao->gap_ms && sent++)
				usleep(ao->gap_ms * 1000);
			raw_send_syn(rs, sport, seq[k]);
			info("piece %d seq 0x%08x sport %u\n", k, seq[k], sport);
		}
	}
}

/* ---- connect: capture the OS's SYN ---- */

/*
 * Classic BPF on a cooked (SOCK_DGRAM) packet socket: TCP SYNs without ACK
 * from source port sport, IPv4 (unfragmented) or IPv6 (no extension
 * headers).
 */
static int capture_open(uint16_t sport)
{
	/* jump offsets count from the next instruction */
	struct sock_filter code[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 9),	/* ->11 */
		/* 2 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
		/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, 16),
		/* 4 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),
		/* 5 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 14, 0),
		/* 6 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
		/* 7 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, 0),
		/* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, sport, 0, 11),
		/* 9 */ BPF_STMT(BPF_LD | BPF_B | BPF_IND, 13),
		/* 10 */ BPF_JUMP(BPF_JMP | BPF_JA, 6, 0, 0),		/* ->17 */
		/* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 8),
		/* 12 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6),
		/* 13 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, 6),
		/* 14 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 40),
		/* 15 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, sport, 0, 4),
		/* 16 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 53),
		/* 17: TCP flags & (SYN|ACK) == SYN */
		/* 17 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),
		/* 18 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1),
		/* 19 */ BPF_STMT(BPF_RET | BPF_K, 0xffff),
		/* 20 */ BPF_STMT(BPF_RET | BPF_K, 0),		/* reject */
	};
	struct sock_fprog prog_ = { .len = sizeof(code) / sizeof(code[0]),
				    .filter = code };
	char drain[2048];
	int fd;

	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0)
		die("packet socket: %s%s", strerror(errno),
		    errno == EPERM ? " (needs root or CAP_NET_RAW)" : "");
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog_,
		       sizeof(prog_)) < 0)
		die("attach capture filter: %s", strerror(errno));
	/* whatever arrived before the filter was attached */
	while (recv(fd, drain, sizeof(drain), MSG_DONTWAIT) > 0)
		;
	return fd;
}

/*
 * One outgoing SYN from the connecting socket: its ISN. False for other
 * packets (the filter lets through SYNs of any address from that port).
 */
static bool capture_read(int fd, const struct addr *src,
			 const struct addr *dst, uint16_t sport,
			 uint16_t dport, uint32_t *isn)
{
	uint8_t buf[256];
	struct sockaddr_ll sll;
	socklen_t sl = sizeof(sll);
	const uint8_t *tcp;
	ssize_t n;

	n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
		     (struct sockaddr *)&sll, &sl);
	if (n < 0)
		return false;
	if (sll.sll_pkttype != PACKET_OUTGOING)
		return false;
	if (dst->family == AF_INET) {
		size_t ihl;

		if (n < 20 || buf[0] >> 4 != 4)
			return false;
		ihl = (size_t)(buf[0] & 15) * 4;
		if ((size_t)n < ihl + 20 || buf[9] != IPPROTO_TCP ||
		    memcmp(buf + 12, addr_bytes(src), 4) ||
		    memcmp(buf + 16, addr_bytes(dst), 4))
			return false;
		tcp = buf + ihl;
	} else {
		if (n < 60 || buf[0] >> 4 != 6 || buf[6] != IPPROTO_TCP ||
		    memcmp(buf + 8, addr_bytes(src), 16) ||
		    memcmp(buf + 24, addr_bytes(dst), 16))
			return false;
		tcp = buf + 40;
	}
	if ((tcp[0] << 8 | tcp[1]) != sport || (tcp[2] << 8 | tcp[3]) != dport ||
	    (tcp[13] & (TH_SYN | TH_ACK)) != TH_SYN)
		return false;
	*isn = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 |
	       (uint32_t)tcp[6] << 8 | tcp[7];
	return true;
}

static int64_t now_ms64(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct conn {
	int fd, cap;
	struct addr dst, local;
	uint16_t sport, dport;
	struct raw_sender rs;
	struct send_key key;
	struct auth_opts *ao;
	int64_t start, deadline;
	int syns, tokens;
	uint32_t isn;
};

/* A non-blocking TCP socket bound first, so that the capture knows the port. */
static void conn_open(struct conn *c)
{
	socklen_t len = sizeof(c->local.sa.ss);

	c->fd = socket(c->dst.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket: %s", strerror(errno));
	memset(&c->local, 0, sizeof(c->local));
	c->local.family = c->dst.family;
	c->local.sa.ss.ss_family = (sa_family_t)c->dst.family;
	if (bind(c->fd, (struct sockaddr *)&c->local.sa.ss, addr_len(&c->local)) < 0 ||
	    getsockname(c->fd, (struct sockaddr *)&c->local.sa.ss, &len) < 0)
		die("bind: %s", strerror(errno));
	c->sport = c->dst.family == AF_INET ? ntohs(c->local.sa.sin.sin_port) :
					      ntohs(c->local.sa.sin6.sin6_port);
	c->cap = capture_open(c->sport);
}

/* true once the connection is up; dies if it failed. */
static bool conn_done(const struct conn *c)
{
	char abuf[INET6_ADDRSTRLEN];
	socklen_t len = sizeof(int);
	int err;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		die("getsockopt: %s", strerror(errno));
	if (err)
		die("connect to %s port %u: %s", addr_str(&c->dst, abuf, sizeof(abuf)),
		    c->dport, strerror(err));
	return true;
}

/* Counts the SYNs the capture saw; returns when the next token is due. */
static int64_t conn_syns(struct conn *c, bool connected, int64_t now, int64_t token_due)
{
	uint32_t seen;

	while (capture_read(c->cap, &c->local, &c->dst, c->sport, c->dport, &seen)) {
		if (c->syns && seen != c->isn)
			die("the OS changed the SYN's ISN (0x%08x, then 0x%08x)", c->isn, seen);
		c->isn = seen;
		c->syns++;
		info("SYN %d seen, ISN 0x%08x (%u ms)\n", c->syns, c->isn,
		     (unsigned int)(now - c->start));
		if (connected)
			continue;	/* just counting */
		if (c->syns == 1)
			token_due = now;
		else if (token_due < 0 || token_due > now + 300)
			token_due = now + 300;
	}
	return token_due;
}

/*
 * A token right after the first SYN, for its retransmission 1 s later;
 * after a retransmission, one 300 ms later unless that one got in; and a
 * fresh one every 4 s while waiting, since pieces live 5 s on the server
 * and the OS's backoff grows to 8 s and more. true if connected in time.
 */
static bool conn_wait(struct conn *c, bool connected)
{
	int64_t token_due = -1;

	while (!connected) {
		struct pollfd pfd[2] = {
			{ .fd = c->fd, .events = POLLOUT },
			{ .fd = c->cap, .events = POLLIN },
		};
		int64_t now = now_ms64(), wait = c->deadline - now;

		if (wait <= 0)
			break;
		if (token_due >= 0 && token_due - now < wait)
			wait = token_due > now ? token_due - now : 0;
		if (poll(pfd, 2, (int)wait) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (pfd[0].revents)
			connected = conn_done(c);
		now = now_ms64();
		token_due = conn_syns(c, connected, now, token_due);
		if (!connected && token_due >= 0 && now >= token_due) {
			send_token(&c->rs, &c->key, c->ao, c->isn, c->sport);
			c->tokens++;
			token_due = now + 4000;
		}
	}
	return connected;
}

static void send_all(int fd, const char *str)
{
	size_t left = strlen(str);
	const char *p = str;

	while (left) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		ssize_t n = send(fd, p, left, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			poll(&pfd, 1, 1000);
			continue;
		}
		if (n < 0)
			die("send: %s", strerror(errno));
		p += n;
		left -= (size_t)n;
	}
}

/*
 * Prints the reply: until EOF, the deadline, or 1 s of silence once it
 * began (a slow server, or a debug kernel, may take longer to start it).
 */
static void print_reply(int fd, int64_t deadline)
{
	bool began = false;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - now_ms64();
		char buf[4096];
		ssize_t n;

		if (left <= 0)
			break;
		if (poll(&pfd, 1, began && left > 1000 ? 1000 : (int)left) <= 0)
			break;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		began = true;
		fwrite(buf, 1, (size_t)n, stdout);
		fflush(stdout);
	}
}

static int do_connect(const struct addr *dst_in, uint16_t dport,
		      struct auth_opts *ao, const char *send_str,
		      unsigned int timeout_s)
{
	struct conn c = { .dst = *dst_in, .dport = dport, .ao = ao };
	char abuf[INET6_ADDRSTRLEN];
	bool connected = false;
	socklen_t len;

	load_key(ao->key_path, &c.key);
	conn_open(&c);
	addr_set_port(&c.dst, dport);
	c.start = now_ms64();
	c.deadline = c.start + (int64_t)timeout_s * 1000;
	if (connect(c.fd, (struct sockaddr *)&c.dst.sa.ss, addr_len(&c.dst)) == 0)
		connected = true;
	else if (errno != EINPROGRESS)
		die("connect to %s port %u: %s",
		    addr_str(&c.dst, abuf, sizeof(abuf)), dport, strerror(errno));
	/* the source address the kernel chose */
	len = sizeof(c.local.sa.ss);
	if (getsockname(c.fd, (struct sockaddr *)&c.local.sa.ss, &len) < 0)
		die("getsockname: %s", strerror(errno));
	raw_open(&c.rs, &c.local, &c.dst, dport);
	info("connecting from %s port %u to %s port %u\n",
	     addr_str(&c.local, abuf, sizeof(abuf)), c.sport,
	     addr_str(&c.dst, (char[INET6_ADDRSTRLEN]){ 0 }, INET6_ADDRSTRLEN), dport);

	connected = conn_wait(&c, connected);
	close(c.cap);
	tap_wipe(&c.key, sizeof(c.key));
	if (!connected) {
		fprintf(stderr, "%s: connection to %s port %u not established "
			"within %u s (%d SYNs seen, %d tokens sent)%s\n", prog,
			addr_str(&c.dst, abuf, sizeof(abuf)), dport, timeout_s,
			c.syns, c.tokens, c.syns ? "" : "; the SYN was not captured");
		close(c.fd);
		return 1;
	}
	info("connected after %u ms (%d SYNs seen, %d tokens sent)\n",
	     (unsigned int)(now_ms64() - c.start), c.syns, c.tokens);
	if (send_str)
		send_all(c.fd, send_str);
	print_reply(c.fd, c.deadline);
	close(c.fd);
	return 0;
}

/* ---- main ---- */

enum {
	OPT_KEY = 256, OPT_DST, OPT_DPORT, OPT_SRC, OPT_ISN, OPT_SPORT,
	OPT_TIME, OPT_NO_DST_BIND, OPT_ORDER, OPT_SKIP, OPT_DUP, OPT_KEYID,
	OPT_GAP, OPT_SEND, OPT_TIMEOUT, OPT_TOKEN_ISN, OPT_TOKEN_DPORT,
	OPT_TOKEN_DST, OPT_DSTOPTS, OPT_SRC_BIND,
};

static void parse_order(const char *s, struct auth_opts *ao)
{
	const char *p = s;

	ao->norder = 0;
	while (*p) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p || v < 0 || v >= TAP_FRAGS)
			die("--order: '%s': pieces are numbered 0 to %d", s,
			    TAP_FRAGS - 1);
		if (ao->norder == MAX_ORDER)
			die("--order: at most %d pieces", MAX_ORDER);
		ao->order[ao->norder++] = (int)v;
		p = end;
		if (*p == ',')
			p++;
		else if (*p)
			die("--order: '%s': expected a comma separated list", s);
	}
	if (!ao->norder)
		die("--order: empty list");
}

struct cli {
	const char *mode, *send_str;
	struct auth_opts ao;
	struct addr dst, src;
	bool have_dst, have_src, have_isn, have_dport, have_sport;
	unsigned int timeout_s;
	uint16_t dport, sport;
	uint32_t isn;
};

static uint16_t parse_port(const char *arg, const char *what)
{
	uint16_t port = (uint16_t)parse_num(arg, what, 65535);

	if (!port)
		die("%s: port 0 is not a TCP port", what);
	return port;
}

/* The options of the auth SYNs themselves; false if c is none of them. */
static bool parse_auth_opt(int c, struct auth_opts *ao)
{
	switch (c) {
	case OPT_KEY: ao->key_path = optarg; break;
	case OPT_TIME:
		ao->time = parse_num(optarg, "--time", ULONG_MAX);
		ao->have_time = true;
		break;
	case OPT_NO_DST_BIND: ao->bind &= (uint8_t)~TAP_BIND_DADDR; break;
	case OPT_SRC_BIND: ao->bind |= TAP_BIND_SADDR; break;
	case OPT_ORDER: parse_order(optarg, ao); break;
	case OPT_SKIP: ao->skip |= 1u << parse_num(optarg, "--skip", TAP_FRAGS - 1); break;
	case OPT_DUP: ao->dup |= 1u << parse_num(optarg, "--dup", TAP_FRAGS - 1); break;
	case OPT_KEYID:
		ao->key_id = (uint16_t)parse_num(optarg, "--key-id-override", 65535);
		ao->key_id_override = true;
		break;
	case OPT_GAP: ao->gap_ms = (unsigned int)parse_num(optarg, "--gap-ms", 60000); break;
	case OPT_TOKEN_ISN:
		ao->token_isn = (uint32_t)parse_num(optarg, "--token-isn", UINT32_MAX);
		ao->have_token_isn = true;
		break;
	case OPT_TOKEN_DPORT:
		ao->token_dport = (uint16_t)parse_num(optarg, "--token-dport", 65535);
		ao->have_token_dport = true;
		break;
	case OPT_TOKEN_DST:
		parse_addr(optarg, "--token-dst", &ao->token_dst);
		ao->have_token_dst = true;
		break;
	default:
		return false;
	}
	return true;
}

/* One option; -1 to go on, else the exit status. */
static int parse_opt(int c, struct cli *cl)
{
	if (parse_auth_opt(c, &cl->ao))
		return -1;
	switch (c) {
	case OPT_DST: parse_addr(optarg, "--dst", &cl->dst); cl->have_dst = true; break;
	case OPT_DPORT: cl->dport = parse_port(optarg, "--dport"); cl->have_dport = true; break;
	case OPT_SRC: parse_addr(optarg, "--src", &cl->src); cl->have_src = true; break;
	case OPT_ISN:
		cl->isn = (uint32_t)parse_num(optarg, "--isn", UINT32_MAX);
		cl->have_isn = true;
		break;
	case OPT_SPORT: cl->sport = parse_port(optarg, "--sport"); cl->have_sport = true; break;
	case OPT_DSTOPTS: use_dstopts = true; break;
	case OPT_SEND: cl->send_str = optarg; break;
	case OPT_TIMEOUT:
		cl->timeout_s = (unsigned int)parse_num(optarg, "--timeout", 86400);
		if (!cl->timeout_s)
			die("--timeout: must be at least 1 second");
		break;
	case 'q': quiet = true; break;
	case 'h': usage(stdout); return 0;
	default:
		fprintf(stderr, "see '%s --help'\n", prog);
		return 2;
	}
	return -1;
}

/* What every mode needs, and what no mode takes. */
static void check_common(const struct cli *cl)
{
	const struct auth_opts *ao = &cl->ao;

	if (!cl->have_dst)
		die("--dst ADDR is required");
	if (!cl->have_dport)
		die("--dport PORT is required");
	if (sodium_init() < 0)
		die("libsodium initialisation failed");
	if (cl->have_src && cl->src.family != cl->dst.family)
		die("--src and --dst are of different address families");
	if (ao->have_token_dst && ao->token_dst.family != cl->dst.family)
		die("--token-dst and --dst are of different address families");
	if (use_dstopts && cl->dst.family != AF_INET6)
		die("--dstopts is for IPv6 only");
	if (strcmp(cl->mode, "auth") &&
	    (ao->have_token_isn || ao->have_token_dport || ao->have_token_dst))
		die("--token-isn, --token-dport and --token-dst are for auth only");
}

static int run_connect(struct cli *cl)
{
	const struct auth_opts *ao = &cl->ao;

	if (cl->have_isn || cl->have_sport || cl->have_src || ao->have_time ||
	    ao->skip || ao->dup || ao->key_id_override || ao->norder != 4 || use_dstopts)
		die("connect takes only --key, --dst, --dport, "
		    "--no-dst-bind, --src-bind, --send, --timeout, "
		    "--gap-ms, -q");
	return do_connect(&cl->dst, cl->dport, &cl->ao, cl->send_str, cl->timeout_s);
}

static void send_real_syn(struct raw_sender *rs, const struct cli *cl)
{
	char a1[INET6_ADDRSTRLEN], a2[INET6_ADDRSTRLEN];

	raw_send_syn(rs, cl->sport, cl->isn);
	info("syn %s port %u -> %s port %u seq 0x%08x\n",
	     addr_str(&cl->src, a1, sizeof(a1)), cl->sport,
	     addr_str(&cl->dst, a2, sizeof(a2)), cl->dport, cl->isn);
}

static int run_syn(const struct cli *cl)
{
	struct raw_sender rs;

	if (!cl->have_sport)
		die("--sport PORT is required");
	if (cl->ao.key_path)
		die("syn sends a plain SYN: it takes no --key");
	raw_open(&rs, &cl->src, &cl->dst, cl->dport);
	send_real_syn(&rs, cl);
	close(rs.fd);
	return 0;
}

static int run_auth(const struct cli *cl)
{
	struct raw_sender rs;
	struct send_key key;

	load_key(cl->ao.key_path, &key);
	raw_open(&rs, &cl->src, &cl->dst, cl->dport);
	send_token(&rs, &key, &cl->ao, cl->isn,
		   cl->have_sport ? cl->sport : 0);
	tap_wipe(&key, sizeof(key));
	/* In the same run: two runs of a slow guest can outlast the pieces. */
	if (cl->have_sport)
		send_real_syn(&rs, cl);
	close(rs.fd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, OPT_KEY },
		{ "dst", required_argument, NULL, OPT_DST },
		{ "dport", required_argument, NULL, OPT_DPORT },
		{ "src", required_argument, NULL, OPT_SRC },
		{ "isn", required_argument, NULL, OPT_ISN },
		{ "sport", required_argument, NULL, OPT_SPORT },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "no-dst-bind", no_argument, NULL, OPT_NO_DST_BIND },
		{ "src-bind", no_argument, NULL, OPT_SRC_BIND },
		{ "order", required_argument, NULL, OPT_ORDER },
		{ "skip", required_argument, NULL, OPT_SKIP },
		{ "dup", required_argument, NULL, OPT_DUP },
		{ "key-id-override", required_argument, NULL, OPT_KEYID },
		{ "gap-ms", required_argument, NULL, OPT_GAP },
		{ "token-isn", required_argument, NULL, OPT_TOKEN_ISN },
		{ "token-dport", required_argument, NULL, OPT_TOKEN_DPORT },
		{ "token-dst", required_argument, NULL, OPT_TOKEN_DST },
		{ "dstopts", no_argument, NULL, OPT_DSTOPTS },
		{ "send", required_argument, NULL, OPT_SEND },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cl = {
		.ao = { .bind = TAP_BIND_DADDR, .order = { 0, 1, 2, 3 }, .norder = 4 },
		.timeout_s = 10,
	};
	int c, ret;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cl.mode = argv[1];
	if (!strcmp(cl.mode, "-h") || !strcmp(cl.mode, "--help") || !strcmp(cl.mode, "help")) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cl.mode, "auth") && strcmp(cl.mode, "syn") && strcmp(cl.mode, "connect")) {
		fprintf(stderr, "%s: unknown mode '%s' (auth, syn or connect); "
			"see --help\n", prog, cl.mode);
		return 2;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		ret = parse_opt(c, &cl);
		if (ret >= 0)
			return ret;
	}
	if (optind < argc)
		die("unexpected argument '%s'", argv[optind]);
	check_common(&cl);
	if (!strcmp(cl.mode, "connect"))
		return run_connect(&cl);
	if (!cl.have_isn)
		die("--isn N is required");
	if (cl.send_str)
		die("--send is for connect only");
	if (!cl.have_src)
		route_source(&cl.dst, cl.dport, &cl.src);
	return !strcmp(cl.mode, "syn") ? run_syn(&cl) : run_auth(&cl);
}
