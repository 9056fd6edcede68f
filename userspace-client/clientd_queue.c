// SPDX-License-Identifier: GPL-2.0
/*
 * tap-clientd: the NFQUEUE (libnetfilter_queue over libmnl) and what is done
 * with each queued real SYN: compute a token with the shared core, send the
 * four auth SYNs, then release the real SYN. Every queued packet is accepted
 * in the end, whatever happens: the daemon never holds back or drops a SYN.
 *
 * A new real SYN gets a fresh token (time t = now) in four auth SYNs from
 * four random source ports. When the OS retransmits the real SYN (same
 * 5-tuple, same ISN), the daemon first sends auth SYNs again:
 *   - while the token is younger than "reuse-token" seconds (default 10),
 *     the same four auth SYNs again (same ports and sequence numbers, the IP
 *     ID one more, the real SYN's new timestamp), exactly as the OS
 *     retransmits its own unanswered SYNs. The server stores each piece
 *     once, so pieces lost before are filled in: with 30% SYN loss, a token
 *     is complete after two sends 69% of the time, against 24% for each
 *     fresh one (a fresh token would also compete with the pieces of the
 *     previous one in the server's reassembly);
 *   - after that, or with "reuse-token 0", a fresh token from new ports.
 * With "copies N" every send is repeated N times in a row (for very lossy
 * paths; each repeat looks like a retransmission of that auth SYN).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <sodium.h>

#include "clientd.h"
#include "tap_nl.h"

#define CD_COPY_RANGE	512		/* IP + TCP headers with options */
#define CD_QUEUE_MAXLEN	4096
#define CD_RCVBUF	(4 << 20)
#define CD_FLOWS	1024		/* remembered SYNs, for retransmissions */
#define CD_FLOW_TTL	120		/* seconds */
#define CD_AUTH_MAX	128		/* bytes of an auth SYN we build */
#define CD_HINT_SENDS	3		/* unanswered sends of a SYN before the hint */
#define CD_HINT_EVERY	60		/* seconds between two hints, at most one */

struct qsock {
	struct mnl_socket *nl;
	uint32_t portid;
	uint16_t num;
};

struct flow {
	struct tap_syn syn;
	uint32_t sends;		/* of this real SYN */
	time_t last;		/* CLOCK_MONOTONIC seconds */
	struct cd_last_token tok;	/* the last token sent for it */
	uint32_t seq[TAP_FRAGS];
	uint16_t sport[TAP_FRAGS], ipid[TAP_FRAGS];
};

struct cd_queue {
	struct qsock cur, old;
	char *buf;
	size_t buflen;
	struct flow *flows;
	struct cd_stats st;
	bool hinted;		/* the --probe hint was logged, at last_hint */
	time_t last_hint;	/* CLOCK_MONOTONIC seconds */
	/* for the callback */
	const struct cd_config *cfg;
	struct cd_sender *snd;
	struct qsock *rx;
};

static void qsock_close(struct qsock *s)
{
	if (s->nl)
		mnl_socket_close(s->nl);
	memset(s, 0, sizeof(*s));
}

/* Sends one config message and waits for its ack: 0 or -errno. */
static int qsock_config(struct qsock *s, struct nlmsghdr *nlh, char *buf, size_t buflen)
{
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(s->nl, buf, buflen);
		if (n < 0)
			return -errno;
		if (!tap_nl_fits(buf, (size_t)n))
			return -EBADMSG;
		ret = mnl_cb_run(buf, (size_t)n, seq, s->portid, NULL, NULL);
		if (ret < 0)
			return errno ? -errno : -EIO;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

static int qsock_open(struct qsock *s, uint16_t num, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int one = 1, rcv = CD_RCVBUF, ret;
	uint32_t seq = (uint32_t)time(NULL);

	memset(s, 0, sizeof(*s));
	s->num = num;
	s->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!s->nl || mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "cannot open a netfilter netlink socket: %s",
			 strerror(errno));
		qsock_close(s);
		return -1;
	}
	s->portid = mnl_socket_get_portid(s->nl);
	mnl_socket_setsockopt(s->nl, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	mnl_socket_setsockopt(s->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	if (setsockopt(mnl_socket_get_fd(s->nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcv,
		       sizeof(rcv)) < 0)
		setsockopt(mnl_socket_get_fd(s->nl), SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);
	nlh->nlmsg_seq = ++seq;
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	ret = qsock_config(s, nlh, buf, sizeof(buf));
	if (ret < 0) {
		const char *hint = "";

		/* the kernel says EPERM when another socket has the queue */
		if (ret == -EBUSY || ret == -EPERM)
			hint = ": another process listens on this queue (another tap-clientd in "
			       "this network namespace? or choose another \"queue\" in the config)";
		else if (ret == -EINVAL || ret == -EOPNOTSUPP || ret == -ENOENT ||
			 ret == -EPROTONOSUPPORT)
			hint = ": the kernel has no nfnetlink_queue (CONFIG_NETFILTER_NETLINK_QUEUE; "
			       "try \"modprobe nfnetlink_queue\")";
		snprintf(err, errlen, "binding NFQUEUE %u failed: %s%s", num, strerror(-ret), hint);
		qsock_close(s);
		return -1;
	}

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);
	nlh->nlmsg_seq = ++seq;
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, CD_COPY_RANGE);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, CD_QUEUE_MAXLEN);
	/* queue full: let the SYN out without a token rather than drop it */
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_FAIL_OPEN));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN));
	ret = qsock_config(s, nlh, buf, sizeof(buf));
	if (ret < 0) {
		snprintf(err, errlen, "configuring NFQUEUE %u failed: %s", num, strerror(-ret));
		qsock_close(s);
		return -1;
	}
	return 0;
}

int cd_queue_open(struct cd_queue **out, uint16_t num, char *err, size_t errlen)
{
	struct cd_queue *q = calloc(1, sizeof(*q));

	if (!q || !(q->flows = calloc(CD_FLOWS, sizeof(*q->flows)))) {
		free(q);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	q->buflen = 0xffff + (MNL_SOCKET_BUFFER_SIZE / 2);
	q->buf = malloc(q->buflen);
	if (!q->buf || qsock_open(&q->cur, num, err, errlen) < 0) {
		if (!q->buf)
			snprintf(err, errlen, "out of memory");
		free(q->buf);
		free(q->flows);
		free(q);
		return -1;
	}
	*out = q;
	return 0;
}

void cd_queue_close(struct cd_queue *q)
{
	if (!q)
		return;
	qsock_close(&q->cur);
	qsock_close(&q->old);
	free(q->buf);
	free(q->flows);
	free(q);
}

int cd_queue_fd(const struct cd_queue *q)
{
	return mnl_socket_get_fd(q->cur.nl);
}

uint16_t cd_queue_num(const struct cd_queue *q)
{
	return q->cur.num;
}

const struct cd_stats *cd_queue_stats(const struct cd_queue *q)
{
	return &q->st;
}

/* ---- per SYN ----------------------------------------------------------- */

static struct flow *flow_slot(struct cd_queue *q, const struct tap_syn *s)
{
	uint32_t h = 2166136261u;
	const uint8_t *p;
	size_t i;

#define MIX(ptr, n) for (p = (const uint8_t *)(ptr), i = 0; i < (n); i++) h = (h ^ p[i]) * 16777619u
	MIX(&s->family, 1);
	MIX(s->saddr.b, 16);
	MIX(s->daddr.b, 16);
	MIX(&s->sport, 2);
	MIX(&s->dport, 2);
#undef MIX
	return &q->flows[h % CD_FLOWS];
}

/* The flow of this exact SYN (tuple and ISN); sends is 0 for a new one. */
static struct flow *flow_get(struct cd_queue *q, const struct tap_syn *s, time_t now)
{
	struct flow *f = flow_slot(q, s);

	if (f->syn.family == s->family && !memcmp(&f->syn.saddr, &s->saddr, sizeof(s->saddr)) &&
	    !memcmp(&f->syn.daddr, &s->daddr, sizeof(s->daddr)) && f->syn.sport == s->sport &&
	    f->syn.dport == s->dport && f->syn.seq == s->seq && now - f->last <= CD_FLOW_TTL) {
		f->last = now;
		return f;
	}
	memset(f, 0, sizeof(*f));
	f->syn = *s;
	f->last = now;
	return f;
}

void cd_queue_forget(struct cd_queue *q)
{
	memset(q->flows, 0, CD_FLOWS * sizeof(*q->flows));
}

/*
 * The real SYN in pkt and the server entry it goes to, or false if it is
 * released without a token (counted and logged here).
 */
static bool syn_to_server(struct cd_queue *q, const uint8_t *pkt, size_t len,
			  uint16_t hwproto, uint32_t mark, struct cd_syn *real,
			  const struct cd_server **srv)
{
	const struct cd_config *cfg = q->cfg;
	char dst[INET6_ADDRSTRLEN];
	const char *why;

	if (mark == cfg->mark) {
		/* our own auth SYN: the rules skip the mark, so never here */
		q->st.own++;
		return false;
	}
	if (cd_parse_syn(pkt, len, hwproto == 0x86dd ? 6 : hwproto == 0x0800 ? 4 : 0,
			 real, &why) < 0) {
		q->st.bad_packets++;
		cd_warn("queued packet not handled (%s); released without a token", why);
		return false;
	}
	q->st.syns++;
	cd_addr_str(real->syn.family, &real->syn.daddr, dst, sizeof(dst));
	*srv = cd_config_match(cfg, real->syn.family, &real->syn.daddr, real->syn.dport);
	if (!*srv) {
		/* only between a reload's config swap and its new rules */
		q->st.unmatched++;
		cd_info("SYN to %s port %u matches no server entry; released as is", dst,
			real->syn.dport);
		return false;
	}
	if (real->iphlen + real->tcphlen > CD_AUTH_MAX) {
		q->st.bad_packets++;
		cd_warn("SYN to %s port %u: headers too long (%zu bytes); released without a "
			"token", dst, real->syn.dport, real->iphlen + real->tcphlen);
		return false;
	}
	return true;
}

/* A fresh token for the flow: new sequence numbers, ports and IP IDs. */
static void new_token(struct cd_queue *q, struct flow *f, const struct cd_syn *real,
		      const struct cd_server *srv, const struct cd_key *key, uint64_t now)
{
	struct tap_token_params tp;
	int i;

	tap_params_from_syn(&tp, &real->syn, srv->bind, key->id, now);
	tap_token_encode(&key->key, &key->realm, &tp, f->seq);
	tap_wipe(&tp, sizeof(tp));
	for (i = 0; i < TAP_FRAGS; i++) {
		f->sport[i] = cd_random_port(q->snd, real->syn.sport);
		randombytes_buf(&f->ipid[i], sizeof(f->ipid[i]));
	}
	f->tok.valid = true;
	f->tok.key_id = key->id;
	f->tok.line = srv->line;
	f->tok.time = now;
}

/*
 * "copies" rounds of the four auth SYNs; a repeat is what a retransmission
 * of that auth SYN would be: same port and seq, next IP ID. Returns how
 * many went out; *err is the first send error.
 */
static int send_auth(struct cd_queue *q, struct flow *f, const struct cd_syn *real,
		     uint32_t oif, int *err)
{
	uint8_t out[TAP_FRAGS][CD_AUTH_MAX];
	size_t olen[TAP_FRAGS];
	int i, sent = 0;
	uint32_t c;

	*err = 0;
	for (c = 0; c < q->cfg->copies; c++) {
		/* build all four first, then send them back to back */
		for (i = 0; i < TAP_FRAGS; i++) {
			if (c)
				f->ipid[i]++;
			olen[i] = cd_build_auth(real, f->seq[i], f->sport[i], f->ipid[i],
						out[i], sizeof(out[i]));
		}
		for (i = 0; i < TAP_FRAGS; i++) {
			if (cd_send(q->snd, real, out[i], olen[i], oif) == 0)
				sent++;
			else if (!*err)
				*err = errno;
		}
	}
	return sent;
}

static void log_syn(const struct flow *f, const struct cd_syn *real,
		    const struct cd_server *srv, uint16_t key_id, uint32_t again,
		    bool reuse, uint32_t oif, const struct timespec *t0)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	cd_addr_str(real->syn.family, &real->syn.saddr, src, sizeof(src));
	cd_addr_str(real->syn.family, &real->syn.daddr, dst, sizeof(dst));
	if (again)
		cd_info("SYN %s.%u > %s.%u isn %08x: retransmission %u, %s (key %u, line %d)",
			src, real->syn.sport, dst, real->syn.dport, real->syn.seq, again,
			reuse ? "token re-sent" : "fresh token", key_id, srv->line);
	else
		cd_info("SYN %s.%u > %s.%u isn %08x: token sent (key %u, line %d)", src,
			real->syn.sport, dst, real->syn.dport, real->syn.seq, key_id,
			srv->line);
	cd_debug("  ttl %u win %u options %zu bytes oif %u; auth seq %08x %08x %08x %08x; "
		 "%ld us", real->ttl, real->window, real->tcphlen - 20, oif, f->seq[0],
		 f->seq[1], f->seq[2], f->seq[3], (long)((t1.tv_sec - t0->tv_sec) * 1000000 +
				(t1.tv_nsec - t0->tv_nsec) / 1000));
}

/*
 * A real SYN sent sends times with tokens and still unanswered is what a
 * clock skew, a wrong key or an ISN-rewriting path look like (the server
 * answers nothing to a bad token): point at --probe, which tells them
 * apart. At most once every CD_HINT_EVERY seconds.
 */
static void probe_hint(struct cd_queue *q, const struct cd_syn *real, uint32_t sends,
		       time_t now)
{
	char dst[INET6_ADDRSTRLEN];

	if (sends != CD_HINT_SENDS || (q->hinted && now - q->last_hint < CD_HINT_EVERY))
		return;
	q->hinted = true;
	q->last_hint = now;
	cd_addr_str(real->syn.family, &real->syn.daddr, dst, sizeof(dst));
	cd_warn("SYN to %s port %u: still no answer after %u sends with tokens; if "
		"connections there keep failing, run \"" CD_PROG " --probe %s %u\": it tells "
		"a clock skew from a wrong key or a path that rewrites sequence numbers "
		"(this hint: at most once a minute)", dst, real->syn.dport, sends, dst,
		real->syn.dport);
}

static void handle_syn(struct cd_queue *q, const uint8_t *pkt, size_t len,
		       uint16_t hwproto, uint32_t mark, uint32_t oif)
{
	const struct cd_config *cfg = q->cfg;
	const struct cd_server *srv;
	const struct cd_key *key;
	struct cd_syn real;
	struct timespec t0, now;
	struct flow *f;
	uint32_t again, want;
	bool reuse;
	int i, sent, err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!syn_to_server(q, pkt, len, hwproto, mark, &real, &srv))
		return;
	key = &cfg->keys[srv->key];
	clock_gettime(CLOCK_REALTIME, &now);
	f = flow_get(q, &real.syn, t0.tv_sec);
	again = f->sends++;
	if (again)
		q->st.retransmits++;
	reuse = cd_token_reusable(&f->tok, again, key->id, srv->line,
				  (uint64_t)now.tv_sec, cfg->reuse_token);
	if (reuse) {
		for (i = 0; i < TAP_FRAGS; i++)
			f->ipid[i]++;
		q->st.resent++;
	} else {
		new_token(q, f, &real, srv, key, (uint64_t)now.tv_sec);
	}
	sent = send_auth(q, f, &real, oif, &err);
	want = TAP_FRAGS * cfg->copies;
	q->st.auth_sent += (uint64_t)sent;
	if ((uint32_t)sent < want)
		q->st.send_errors++;
	else if (!reuse)
		q->st.tokens++;
	if ((uint32_t)sent < want) {
		char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

		cd_addr_str(real.syn.family, &real.syn.saddr, src, sizeof(src));
		cd_addr_str(real.syn.family, &real.syn.daddr, dst, sizeof(dst));
		cd_warn("SYN %s.%u > %s.%u: sent %d of %u auth SYNs: %s", src, real.syn.sport,
			dst, real.syn.dport, sent, want, strerror(err));
	}
	log_syn(f, &real, srv, key->id, again, reuse, oif, &t0);
	probe_hint(q, &real, again + 1, t0.tv_sec);
}

static int verdict(struct qsock *s, uint32_t id, char *buf)
{
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, s->num);

	nfq_nlmsg_verdict_put(nlh, (int)id, NF_ACCEPT);
	return mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0 ? -1 : 0;
}

static int queue_cb(const struct nlmsghdr *nlh, void *data)
{
	struct cd_queue *q = data;
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	struct nfqnl_msg_packet_hdr *ph;
	char vbuf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t id, mark = 0, oif = 0;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR]) {
		cd_warn("malformed message from the queue");
		return MNL_CB_OK;
	}
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	id = ntohl(ph->packet_id);
	if (attr[NFQA_MARK])
		mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
	if (attr[NFQA_IFINDEX_OUTDEV])
		oif = ntohl(mnl_attr_get_u32(attr[NFQA_IFINDEX_OUTDEV]));
	if (attr[NFQA_PAYLOAD])
		handle_syn(q, mnl_attr_get_payload(attr[NFQA_PAYLOAD]),
			   mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]),
			   ntohs(ph->hw_protocol), mark, oif);
	if (verdict(q->rx, id, vbuf) < 0)
		cd_warn("queue verdict for packet %u: %s", id, strerror(errno));
	return MNL_CB_OK;
}

static int qsock_process(struct cd_queue *q, struct qsock *s, char *err, size_t errlen)
{
	ssize_t n;
	int ret;

	q->rx = s;
	for (;;) {
		n = recv(mnl_socket_get_fd(s->nl), q->buf, q->buflen, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			if (errno == ENOBUFS) {
				cd_warn("queue overrun: some SYNs went out without a token");
				continue;
			}
			snprintf(err, errlen, "reading the queue: %s", strerror(errno));
			return -1;
		}
		if (!tap_nl_fits(q->buf, (size_t)n)) {
			cd_warn("queue message: %s", strerror(EBADMSG));
			continue;
		}
		ret = mnl_cb_run(q->buf, (size_t)n, 0, s->portid, queue_cb, q);
		if (ret < 0 && errno != 0)
			cd_warn("queue message: %s", strerror(errno));
	}
}

int cd_queue_process(struct cd_queue *q, const struct cd_config *cfg,
		     struct cd_sender *snd, char *err, size_t errlen)
{
	q->cfg = cfg;
	q->snd = snd;
	if (q->old.nl && qsock_process(q, &q->old, err, errlen) < 0)
		return -1;
	return qsock_process(q, &q->cur, err, errlen);
}

int cd_queue_rebind_begin(struct cd_queue *q, uint16_t num, char *err, size_t errlen)
{
	struct qsock s;

	if (qsock_open(&s, num, err, errlen) < 0)
		return -1;
	q->old = q->cur;
	q->cur = s;
	return 0;
}

void cd_queue_rebind_end(struct cd_queue *q, const struct cd_config *cfg,
			 struct cd_sender *snd, bool commit)
{
	char err[256];
	struct qsock tmp;

	if (!commit) {
		tmp = q->cur;
		q->cur = q->old;
		q->old = tmp;
	} else {
		/* SYNs queued under the old rules: release them first */
		q->cfg = cfg;
		q->snd = snd;
		if (qsock_process(q, &q->old, err, sizeof(err)) < 0)
			cd_warn("%s", err);
	}
	qsock_close(&q->old);
}
