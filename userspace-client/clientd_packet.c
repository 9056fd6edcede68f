// SPDX-License-Identifier: GPL-2.0
/*
 * tap-clientd: the real SYN as queued (IP header, TCP header and options),
 * and the auth SYNs built from it.
 *
 * An auth SYN is a copy of the real SYN's headers, so it carries this OS's
 * own TTL or hop limit, TOS / traffic class, DF bit, window, TCP flags
 * (ECE/CWR included) and TCP options in their order, with their values.
 * Only these differ, as they differ between any two SYNs of this OS:
 *   - the sequence number (one token piece);
 *   - the source port: random, from this host's ephemeral port range, and
 *     held bound for a while after (cd_random_port);
 *   - the IPv4 ID: random (Linux gives each connection a random one), one
 *     more on each re-send, as for a retransmission;
 *   - the IPv6 flow label: random if the real SYN has one (Linux derives it
 *     from the ports), else zero;
 *   - the checksums.
 * The payload of a TFO SYN is not copied: auth SYNs carry no data.
 * They go out through IPPROTO_RAW sockets (header included) with SO_MARK,
 * so that the interception rules let them pass, and on the real SYN's
 * output interface.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "clientd.h"
#include "tcp_csum.h"

#define IP4_MIN		20
#define IP6_HDR		40
#define TCP_MIN		20

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int cd_parse_syn(const uint8_t *pkt, size_t len, uint8_t family,
		 struct cd_syn *out, const char **why)
{
	const uint8_t *tcp;
	size_t ihl, thl;

	memset(out, 0, sizeof(*out));
	if (len < 1) {
		*why = "empty packet";
		return -1;
	}
	if ((pkt[0] >> 4) == 4 && family != 6) {
		if (len < IP4_MIN) {
			*why = "truncated IPv4 header";
			return -1;
		}
		ihl = (size_t)(pkt[0] & 0x0f) * 4;
		if (ihl < IP4_MIN || len < ihl) {
			*why = "bad IPv4 header length";
			return -1;
		}
		if (pkt[9] != IPPROTO_TCP) {
			*why = "not TCP";
			return -1;
		}
		if (get16(pkt + 6) & 0x3fff) {
			*why = "IPv4 fragment";
			return -1;
		}
		out->syn.family = 4;
		memcpy(out->syn.saddr.b, pkt + 12, 4);
		memcpy(out->syn.daddr.b, pkt + 16, 4);
		out->ttl = pkt[8];
	} else if ((pkt[0] >> 4) == 6 && family != 4) {
		if (len < IP6_HDR) {
			*why = "truncated IPv6 header";
			return -1;
		}
		if (pkt[6] != IPPROTO_TCP) {
			/* Linux sends a plain SYN without extension headers */
			*why = "IPv6 extension headers before TCP (not supported)";
			return -1;
		}
		ihl = IP6_HDR;
		out->syn.family = 6;
		memcpy(out->syn.saddr.b, pkt + 8, 16);
		memcpy(out->syn.daddr.b, pkt + 24, 16);
		out->ttl = pkt[7];
	} else {
		*why = "not an IPv4 or IPv6 packet of the expected family";
		return -1;
	}
	if (len < ihl + TCP_MIN) {
		*why = "truncated TCP header";
		return -1;
	}
	tcp = pkt + ihl;
	thl = (size_t)(tcp[12] >> 4) * 4;
	if (thl < TCP_MIN || len < ihl + thl) {
		*why = "bad TCP header length";
		return -1;
	}
	if ((tcp[13] & 0x17) != 0x02) {
		*why = "not a SYN";
		return -1;
	}
	out->syn.sport = get16(tcp);
	out->syn.dport = get16(tcp + 2);
	out->syn.seq = get32(tcp + 4);
	out->window = get16(tcp + 14);
	out->ip = pkt;
	out->iphlen = ihl;
	out->tcp = tcp;
	out->tcphlen = thl;
	return 0;
}

size_t cd_build_auth(const struct cd_syn *real, uint32_t seq, uint16_t sport,
		     uint16_t ipid, uint8_t *out, size_t outlen)
{
	size_t len = real->iphlen + real->tcphlen;
	uint8_t *tcp = out + real->iphlen;
	bool v6 = real->syn.family == 6;

	if (len > outlen)
		return 0;
	memcpy(out, real->ip, real->iphlen);
	memcpy(tcp, real->tcp, real->tcphlen);
	put16(tcp, sport);
	put32(tcp + 4, seq);
	put16(tcp + 16, 0);	/* checksum */
	if (!v6) {
		put16(out + 2, (uint16_t)len);
		put16(out + 4, ipid);
		put16(out + 10, 0);
		put16(out + 10, ip4_header_csum(out, real->iphlen));
	} else {
		uint32_t w = get32(out);

		put16(out + 4, (uint16_t)real->tcphlen);
		if (w & 0xfffff) {
			uint32_t fl = randombytes_uniform(0xfffff) + 1;

			put32(out, (w & 0xfff00000u) | fl);
		}
	}
	put16(tcp + 16, tcp_csum(v6, out + (v6 ? 8 : 12), out + (v6 ? 24 : 16),
				 tcp, real->tcphlen));
	return len;
}

static void read_port_range(struct cd_sender *s)
{
	unsigned int lo, hi;
	FILE *f;

	s->port_lo = 32768;
	s->port_hi = 60999;
	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	if (!f)
		return;
	if (fscanf(f, "%u %u", &lo, &hi) == 2 && lo >= 1 && lo <= hi && hi <= 65535 &&
	    hi - lo >= 16) {
		s->port_lo = (uint16_t)lo;
		s->port_hi = (uint16_t)hi;
	}
	fclose(f);
}

int cd_sender_set_mark(struct cd_sender *s, uint32_t mark, char *err, size_t errlen)
{
	int *fds[] = { &s->fd4, &s->fd6 };
	size_t i;

	for (i = 0; i < 2; i++)
		if (*fds[i] >= 0 &&
		    setsockopt(*fds[i], SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
			snprintf(err, errlen, "SO_MARK on the raw socket: %s", strerror(errno));
			return -1;
		}
	s->mark = mark;
	return 0;
}

static int open_raw(int af, char *err, size_t errlen)
{
	int fd = socket(af, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	int zero = 0;

	if (fd < 0) {
		snprintf(err, errlen, "cannot open a raw IPv%d socket: %s%s",
			 af == AF_INET ? 4 : 6, strerror(errno),
			 errno == EPERM ? " (tap-clientd needs CAP_NET_RAW)" :
			 errno == EAFNOSUPPORT ? " (IPv6 is disabled in this kernel)" : "");
		return -1;
	}
	/* auth SYNs only go out; never read anything on these sockets */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &zero, sizeof(zero));
	shutdown(fd, SHUT_RD);
	return fd;
}

/*
 * A stateful firewall or NAT on the path (the client's own conntrack
 * included) keeps an entry for each auth SYN's ports, with the piece as its
 * sequence number, for 120 s after its last packet. Were the kernel to give
 * that source port to a real connection to the same server port meanwhile,
 * its packets would fall outside the window that entry expects: conntrack
 * marks them invalid, a NAT passes them untranslated and the connection
 * hangs. So each auth SYN comes from a fresh random port that is held bound
 * for CD_PORT_HOLD_S after it: connect() never picks a port that a socket
 * holds with bind(), and bind() fails on a port a connection uses. A
 * dual-stack IPv6 socket holds the port for IPv4 as well.
 */
static int hold_port(uint16_t port)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				     .sin6_addr = IN6ADDR_ANY_INIT };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int zero = 0, fd;

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) == 0 &&
		    bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0)
			return fd;
		if (errno != EADDRNOTAVAIL) {
			close(fd);
			return -1;
		}
		close(fd);	/* IPv6 without addresses: an IPv4 socket holds it */
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		return fd;
	close(fd);
	return -1;
}

static uint64_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static struct cd_held_port *held_at(const struct cd_sender *s, unsigned int i)
{
	return &s->held[(s->head + i) % s->cap];
}

/* Closes the held ports older than CD_PORT_HOLD_S; all of them if all. */
static void release_held(struct cd_sender *s, uint64_t now, bool all)
{
	while (s->nheld && (all || now - s->held[s->head].since >= CD_PORT_HOLD_S)) {
		close(s->held[s->head].fd);
		s->head = (s->head + 1) % s->cap;
		s->nheld--;
	}
}

/* A fresh port held from now, or 0 if 32 random tries found none free. */
static uint16_t hold_fresh_port(struct cd_sender *s, uint16_t avoid, uint64_t now)
{
	uint32_t span = (uint32_t)s->port_hi - s->port_lo + 1;
	int tries;

	for (tries = 0; tries < 32 && s->nheld < s->cap; tries++) {
		uint16_t p = (uint16_t)(s->port_lo + randombytes_uniform(span));
		struct cd_held_port *h;
		int fd;

		if (p == avoid || (fd = hold_port(p)) < 0)
			continue;
		h = held_at(s, s->nheld++);
		*h = (struct cd_held_port){ .port = p, .fd = fd, .since = now };
		return p;
	}
	return 0;
}

/* Room for the held ports' descriptors: the soft limit raised towards the hard. */
static unsigned int held_capacity(void)
{
	struct rlimit rl;
	rlim_t want = CD_PORTS_HELD_MAX + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 64;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur >= want)
		return CD_PORTS_HELD_MAX;
	return rl.rlim_cur > 256 ? (unsigned int)(rl.rlim_cur - 192) : 64;
}

static int open_port_ring(struct cd_sender *s, char *err, size_t errlen)
{
	s->cap = held_capacity();
	s->held = calloc(s->cap, sizeof(*s->held));
	if (!s->held) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->head = s->nheld = 0;
	/* can we hold a port at all? This one is released like the others */
	if (hold_fresh_port(s, 0, mono_s()))
		return 0;
	snprintf(err, errlen,
		 "cannot hold source ports for auth SYNs in the ephemeral range %u-%u: %s",
		 s->port_lo, s->port_hi, strerror(errno));
	free(s->held);
	s->held = NULL;
	return -1;
}

int cd_sender_open(struct cd_sender *s, bool v4, bool v6, uint32_t mark,
		   char *err, size_t errlen)
{
	if (v4 && s->fd4 < 0 && (s->fd4 = open_raw(AF_INET, err, errlen)) < 0)
		return -1;
	if (v6 && s->fd6 < 0 && (s->fd6 = open_raw(AF_INET6, err, errlen)) < 0)
		return -1;
	if (!s->held) {
		read_port_range(s);
		if (open_port_ring(s, err, errlen) < 0)
			return -1;
	}
	return cd_sender_set_mark(s, mark, err, errlen);
}

void cd_sender_close(struct cd_sender *s)
{
	if (s->fd4 >= 0)
		close(s->fd4);
	if (s->fd6 >= 0)
		close(s->fd6);
	s->fd4 = s->fd6 = -1;
	if (s->held) {
		release_held(s, 0, true);
		free(s->held);
		s->held = NULL;
	}
}

uint16_t cd_random_port(struct cd_sender *s, uint16_t avoid)
{
	uint64_t now = mono_s();
	struct cd_held_port *h, old;
	uint16_t p;

	if (!s->held)	/* not open: a port no connection can have */
		return avoid ? 0 : 1;
	release_held(s, now, false);
	p = hold_fresh_port(s, avoid, now);
	if (p)
		return p;
	/*
	 * The ring is full (or the range busy): the oldest held port, held
	 * anew. Still never a real connection's, but seen again.
	 */
	if (!s->nheld)
		return avoid ? 0 : 1;
	old = s->held[s->head];
	s->head = (s->head + 1) % s->cap;
	h = held_at(s, s->nheld - 1);
	*h = old;
	h->since = now;
	if (h->port == avoid && s->nheld > 1)
		return cd_random_port(s, avoid);
	return h->port;
}

int cd_send(const struct cd_sender *s, const struct cd_syn *real,
	    const uint8_t *pkt, size_t len, uint32_t oif)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} cbuf;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct iovec iov = { .iov_base = (void *)pkt, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;
	int fd;

	memset(&cbuf, 0, sizeof(cbuf));
	if (real->syn.family == 4) {
		fd = s->fd4;
		memcpy(&sin.sin_addr, real->syn.daddr.b, 4);
		msg.msg_name = &sin;
		msg.msg_namelen = sizeof(sin);
		if (oif) {
			struct in_pktinfo pi = { .ipi_ifindex = (int)oif };

			msg.msg_control = cbuf.buf;
			msg.msg_controllen = CMSG_SPACE(sizeof(pi));
			cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_level = IPPROTO_IP;
			cm->cmsg_type = IP_PKTINFO;
			cm->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		}
	} else {
		fd = s->fd6;
		memcpy(&sin6.sin6_addr, real->syn.daddr.b, 16);
		if (IN6_IS_ADDR_LINKLOCAL(&sin6.sin6_addr) || IN6_IS_ADDR_MC_LINKLOCAL(&sin6.sin6_addr))
			sin6.sin6_scope_id = oif;
		msg.msg_name = &sin6;
		msg.msg_namelen = sizeof(sin6);
		if (oif) {
			struct in6_pktinfo pi = { .ipi6_ifindex = oif };

			memcpy(&pi.ipi6_addr, real->syn.saddr.b, 16);
			msg.msg_control = cbuf.buf;
			msg.msg_controllen = CMSG_SPACE(sizeof(pi));
			cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_level = IPPROTO_IPV6;
			cm->cmsg_type = IPV6_PKTINFO;
			cm->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		}
	}
	if (fd < 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	n = sendmsg(fd, &msg, 0);
	if (n < 0)
		return -1;
	return 0;
}

void cd_addr_str(uint8_t family, const struct tap_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, a->b, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}
