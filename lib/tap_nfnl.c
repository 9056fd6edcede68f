// SPDX-License-Identifier: GPL-2.0
/*
 * nftables over netlink for tap-nft and tap-clientd: one NETLINK_NETFILTER
 * socket (tap_nl.c), requests and dumps parsed by libnftnl, and atomic
 * batches. See tap_nfnl.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>

#include "tap_nfnl.h"
#include "tap_nl.h"

#define TN_RXBUF	(1 << 16)	/* a dump never sends more per read */
#define TN_MSG_ROOM	2048		/* batch bytes reserved per message */
#define TN_DUMP_TRIES	5
#define TN_ACK_WAIT_MS	2000
#define TN_BIG_BATCH	100000		/* bytes: above, grow the send buffer */

struct tn_sock {
	struct tap_nl nl;
};

int tn_open(struct tn_sock **out)
{
	struct tn_sock *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	err = tap_nl_open(&s->nl, NETLINK_NETFILTER, TN_RXBUF);
	if (err) {
		free(s);
		return -err;
	}
	*out = s;
	return 0;
}

void tn_close(struct tn_sock *s)
{
	if (!s)
		return;
	tap_nl_close(&s->nl);
	free(s);
}

/* Reads and drops what is left of an interrupted dump. */
static void tn_drain(struct tn_sock *s)
{
	struct nlmsghdr *nlh;
	int n;

	for (;;) {
		n = (int)mnl_socket_recvfrom(s->nl.sk, s->nl.buf, s->nl.buflen);
		if (n <= 0 || !tap_nl_fits(s->nl.buf, (size_t)n))
			return;
		for (nlh = (struct nlmsghdr *)s->nl.buf; mnl_nlmsg_ok(nlh, n);
		     nlh = mnl_nlmsg_next(nlh, &n))
			if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR)
				return;
	}
}

/*
 * Sends one request and feeds every answer to cb until the dump is done or
 * the kernel acknowledges (requests carry NLM_F_ACK). 0 or -errno; -EINTR if
 * the ruleset changed during a dump (the caller retries).
 */
static int tn_talk(struct tn_sock *s, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	int err = tap_nl_talk(&s->nl, nlh, cb, data);

	if (err == EINTR)
		tn_drain(s);
	return -err;
}

static struct nlmsghdr *tn_req(struct tn_sock *s, char *buf, uint16_t type,
			       uint16_t family, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(buf, type, family, flags | NLM_F_ACK, ++s->nl.seq);
}

/* ---- generation id ---- */

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_gen *gen = nftnl_gen_alloc();

	if (!gen)
		return MNL_CB_ERROR;
	if (nftnl_gen_nlmsg_parse(nlh, gen) == 0)
		*(uint32_t *)data = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
	nftnl_gen_free(gen);
	return MNL_CB_OK;
}

int tn_get_genid(struct tn_sock *s, uint32_t *genid)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = tn_req(s, buf, NFT_MSG_GETGEN, NFPROTO_UNSPEC, 0);

	*genid = 0;
	return tn_talk(s, nlh, gen_cb, genid);
}

/* ---- single objects ---- */

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_table **out = data;
	struct nftnl_table *t = nftnl_table_alloc();

	if (!t)
		return MNL_CB_ERROR;
	if (nftnl_table_nlmsg_parse(nlh, t) < 0 || *out) {
		nftnl_table_free(t);
		return MNL_CB_OK;
	}
	*out = t;
	return MNL_CB_OK;
}

int tn_get_table(struct tn_sock *s, uint16_t family, const char *name,
		 struct nftnl_table **out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = tn_req(s, buf, NFT_MSG_GETTABLE, family, 0);
	struct nftnl_table *t = nftnl_table_alloc();
	int ret;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	*out = NULL;
	ret = tn_talk(s, nlh, table_cb, out);
	if (ret == 0 && !*out)
		ret = -ENOENT;
	if (ret < 0 && *out) {
		nftnl_table_free(*out);
		*out = NULL;
	}
	return ret;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_chain **out = data;
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return MNL_CB_ERROR;
	if (nftnl_chain_nlmsg_parse(nlh, c) < 0 || *out) {
		nftnl_chain_free(c);
		return MNL_CB_OK;
	}
	*out = c;
	return MNL_CB_OK;
}

int tn_get_chain(struct tn_sock *s, uint16_t family, const char *table,
		 const char *name, struct nftnl_chain **out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = tn_req(s, buf, NFT_MSG_GETCHAIN, family, 0);
	struct nftnl_chain *c = nftnl_chain_alloc();
	int ret;

	if (!c)
		return -ENOMEM;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	*out = NULL;
	ret = tn_talk(s, nlh, chain_cb, out);
	if (ret == 0 && !*out)
		ret = -ENOENT;
	if (ret < 0 && *out) {
		nftnl_chain_free(*out);
		*out = NULL;
	}
	return ret;
}

/* ---- dumps ---- */

struct chain_dump {
	const char *table;
	struct nftnl_chain_list *list;
};

static int chain_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct chain_dump *d = data;
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return MNL_CB_ERROR;
	if (nftnl_chain_nlmsg_parse(nlh, c) < 0 ||
	    (d->table && strcmp(d->table, nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE)))) {
		nftnl_chain_free(c);
		return MNL_CB_OK;
	}
	nftnl_chain_list_add_tail(c, d->list);
	return MNL_CB_OK;
}

static void chain_list_clear(struct nftnl_chain_list *l)
{
	struct nftnl_chain_list_iter *it = nftnl_chain_list_iter_create(l);
	struct nftnl_chain *c, *next;

	if (!it)
		return;
	for (c = nftnl_chain_list_iter_next(it); c; c = next) {
		next = nftnl_chain_list_iter_next(it);
		nftnl_chain_list_del(c);
		nftnl_chain_free(c);
	}
	nftnl_chain_list_iter_destroy(it);
}

int tn_dump_chains(struct tn_sock *s, uint16_t family, const char *table,
		   struct nftnl_chain_list *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct chain_dump d = { table, out };
	int ret = -EINTR, i;

	for (i = 0; i < TN_DUMP_TRIES && ret == -EINTR; i++) {
		struct nlmsghdr *nlh = tn_req(s, buf, NFT_MSG_GETCHAIN, family, NLM_F_DUMP);

		chain_list_clear(out);
		ret = tn_talk(s, nlh, chain_dump_cb, &d);
	}
	return ret;
}

struct rule_dump {
	const char *table, *chain;
	struct nftnl_rule_list *list;
};

static int rule_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rule_dump *d = data;
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return MNL_CB_ERROR;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0 ||
	    (d->table && strcmp(d->table, nftnl_rule_get_str(r, NFTNL_RULE_TABLE))) ||
	    (d->chain && strcmp(d->chain, nftnl_rule_get_str(r, NFTNL_RULE_CHAIN)))) {
		nftnl_rule_free(r);
		return MNL_CB_OK;
	}
	nftnl_rule_list_add_tail(r, d->list);
	return MNL_CB_OK;
}

static void rule_list_clear(struct nftnl_rule_list *l)
{
	struct nftnl_rule_list_iter *it = nftnl_rule_list_iter_create(l);
	struct nftnl_rule *r, *next;

	if (!it)
		return;
	for (r = nftnl_rule_list_iter_next(it); r; r = next) {
		next = nftnl_rule_list_iter_next(it);
		nftnl_rule_list_del(r);
		nftnl_rule_free(r);
	}
	nftnl_rule_list_iter_destroy(it);
}

int tn_dump_rules(struct tn_sock *s, uint16_t family, const char *table,
		  const char *chain, struct nftnl_rule_list *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct rule_dump d = { table, chain, out };
	int ret = -EINTR, i;

	for (i = 0; i < TN_DUMP_TRIES && ret == -EINTR; i++) {
		struct nlmsghdr *nlh = tn_req(s, buf, NFT_MSG_GETRULE, family, NLM_F_DUMP);
		struct nftnl_rule *filter = nftnl_rule_alloc();

		if (!filter)
			return -ENOMEM;
		/* the kernel filters rule dumps by table and chain */
		if (table)
			nftnl_rule_set_str(filter, NFTNL_RULE_TABLE, table);
		if (table && chain)
			nftnl_rule_set_str(filter, NFTNL_RULE_CHAIN, chain);
		nftnl_rule_nlmsg_build_payload(nlh, filter);
		nftnl_rule_free(filter);
		rule_list_clear(out);
		ret = tn_talk(s, nlh, rule_dump_cb, &d);
	}
	return ret;
}

/* ---- batches ---- */

struct tn_batch {
	struct mnl_nlmsg_batch *mb;
	char *buf;
	uint32_t seq0;		/* the batch-begin message's sequence number */
	int n;			/* messages between begin and end */
	int max;
	bool overflow;
	char **what;
};

struct tn_batch *tn_batch_new(uint32_t genid, int max_msgs)
{
	struct tn_batch *b = calloc(1, sizeof(*b));
	size_t size = ((size_t)max_msgs + 4) * TN_MSG_ROOM;
	struct nlmsghdr *nlh;

	if (!b)
		return NULL;
	b->max = max_msgs;
	b->buf = malloc(size);
	b->what = calloc((size_t)max_msgs, sizeof(*b->what));
	if (!b->buf || !b->what) {
		free(b->buf);
		free(b->what);
		free(b);
		return NULL;
	}
	/* room for one more message past the limit: the one that crosses it */
	b->mb = mnl_nlmsg_batch_start(b->buf, size - TN_MSG_ROOM);
	b->seq0 = (uint32_t)time(NULL) << 8;
	nlh = nftnl_batch_begin(mnl_nlmsg_batch_current(b->mb), b->seq0);
	/* the kernel refuses the batch (ERESTART) if the ruleset changed since */
	if (genid)
		mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(genid));
	mnl_nlmsg_batch_next(b->mb);
	return b;
}

void tn_batch_free(struct tn_batch *b)
{
	int i;

	if (!b)
		return;
	for (i = 0; i < b->n; i++)
		free(b->what[i]);
	mnl_nlmsg_batch_stop(b->mb);
	free(b->what);
	free(b->buf);
	free(b);
}

static struct nlmsghdr *batch_msg(struct tn_batch *b, uint16_t type,
				  uint16_t family, uint16_t flags, const char *what)
{
	char *desc;

	if (b->overflow || b->n >= b->max) {
		b->overflow = true;
		return NULL;
	}
	desc = strdup(what ? what : "");
	if (!desc) {
		b->overflow = true;
		return NULL;
	}
	b->what[b->n++] = desc;
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b->mb), type, family,
				     flags | NLM_F_ACK, b->seq0 + (uint32_t)b->n);
}

static void batch_next(struct tn_batch *b)
{
	if (!mnl_nlmsg_batch_next(b->mb))
		b->overflow = true;
}

void tn_batch_table(struct tn_batch *b, uint16_t type, uint16_t flags,
		    struct nftnl_table *t, const char *what)
{
	struct nlmsghdr *nlh = batch_msg(b, type,
		(uint16_t)nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY), flags, what);

	if (!nlh)
		return;
	nftnl_table_nlmsg_build_payload(nlh, t);
	batch_next(b);
}

void tn_batch_chain(struct tn_batch *b, uint16_t type, uint16_t flags,
		    struct nftnl_chain *c, const char *what)
{
	struct nlmsghdr *nlh = batch_msg(b, type,
		(uint16_t)nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY), flags, what);

	if (!nlh)
		return;
	nftnl_chain_nlmsg_build_payload(nlh, c);
	batch_next(b);
}

void tn_batch_rule(struct tn_batch *b, uint16_t type, uint16_t flags,
		   struct nftnl_rule *r, const char *what)
{
	struct nlmsghdr *nlh = batch_msg(b, type,
		(uint16_t)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY), flags, what);

	if (!nlh)
		return;
	nftnl_rule_nlmsg_build_payload(nlh, r);
	batch_next(b);
}

void tn_batch_fail(struct tn_batch *b)
{
	b->overflow = true;
}

int tn_batch_count(const struct tn_batch *b)
{
	return b->n;
}

/* The first error the kernel reported, with the message it names. */
static void batch_error(const struct tn_batch *b, const struct nlmsghdr *nlh,
			struct tn_err *e)
{
	int idx = (int)(nlh->nlmsg_seq - b->seq0) - 1;
	char msg[sizeof(e->msg)] = "";
	int err = tap_nl_error(nlh, msg, sizeof(msg));

	if (err == 0 || e->err)
		return;
	e->err = err;
	if (idx >= 0 && idx < b->n) {
		e->index = idx;
		snprintf(e->what, sizeof(e->what), "%s", b->what[idx]);
	} else {
		snprintf(e->what, sizeof(e->what), "the batch");
	}
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
}

/*
 * Reads the answers: an ack or error per message, and echoed objects. The
 * kernel handles the whole batch inside sendmsg(), so they are queued by
 * now; after an error, what is left is drained without waiting.
 */
static void batch_read(struct tn_sock *s, const struct tn_batch *b,
		       struct tn_err *e, struct nftnl_rule *echo)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(s->nl.sk), .events = POLLIN };
	bool echoed = false;
	struct nlmsghdr *nlh;
	int n, acked = 0;

	while (acked < b->n && poll(&pfd, 1, e->err ? 0 : TN_ACK_WAIT_MS) > 0) {
		n = (int)mnl_socket_recvfrom(s->nl.sk, s->nl.buf, s->nl.buflen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (!e->err) {
				e->err = errno;
				snprintf(e->what, sizeof(e->what), "reading the kernel's answer");
			}
			return;
		}
		if (!tap_nl_fits(s->nl.buf, (size_t)n))
			continue;
		for (nlh = (struct nlmsghdr *)s->nl.buf; mnl_nlmsg_ok(nlh, n);
		     nlh = mnl_nlmsg_next(nlh, &n)) {
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				acked++;
				batch_error(b, nlh, e);
			} else if (echo && !echoed &&
				   NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWRULE) {
				echoed = nftnl_rule_nlmsg_parse(nlh, echo) == 0;
			}
		}
	}
}

int tn_batch_commit(struct tn_sock *s, struct tn_batch *b, struct tn_err *e,
		    struct nftnl_rule *echo)
{
	size_t len;
	int sndbuf;

	memset(e, 0, sizeof(*e));
	e->index = -1;
	if (b->overflow) {
		e->err = E2BIG;
		snprintf(e->what, sizeof(e->what), "building the batch");
		return -E2BIG;
	}
	nftnl_batch_end(mnl_nlmsg_batch_current(b->mb), b->seq0 + (uint32_t)b->n + 1);
	mnl_nlmsg_batch_next(b->mb);
	len = mnl_nlmsg_batch_size(b->mb);
	sndbuf = (int)len + 4096;
	if (len > TN_BIG_BATCH)
		setsockopt(mnl_socket_get_fd(s->nl.sk), SOL_SOCKET, SO_SNDBUFFORCE,
			   &sndbuf, sizeof(sndbuf));
	if (mnl_socket_sendto(s->nl.sk, mnl_nlmsg_batch_head(b->mb), len) < 0) {
		e->err = errno;
		snprintf(e->what, sizeof(e->what), "sending the batch");
		return -e->err;
	}
	batch_read(s, b, e, echo);
	return e->err ? -e->err : 0;
}
