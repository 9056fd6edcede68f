// SPDX-License-Identifier: GPL-2.0
/*
 * tap-nft netlink layer: one NETLINK_NETFILTER socket (libmnl), requests and
 * dumps parsed by libnftnl, and atomic nftables batches.
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

#include "tap-nft.h"

#define TN_RXBUF	(1 << 16)	/* a dump never sends more per read */
#define TN_BATCH_LIMIT	(1 << 16)
#define TN_BATCH_MAX	64		/* messages; protect needs about 20 */
#define TN_DUMP_TRIES	5

struct tn_sock {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	char buf[TN_RXBUF];
};

int tn_open(struct tn_sock **out)
{
	struct tn_sock *s = calloc(1, sizeof(*s));
	int one = 1, err;

	if (!s)
		return -ENOMEM;
	s->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!s->nl) {
		err = errno;
		free(s);
		return -err;
	}
	if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = errno;
		mnl_socket_close(s->nl);
		free(s);
		return -err;
	}
	/* Best effort: errors then carry the kernel's text, not our request. */
	mnl_socket_setsockopt(s->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(s->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	s->portid = mnl_socket_get_portid(s->nl);
	s->seq = (uint32_t)time(NULL);
	*out = s;
	return 0;
}

void tn_close(struct tn_sock *s)
{
	if (!s)
		return;
	mnl_socket_close(s->nl);
	free(s);
}

/* Reads and drops what is left of an interrupted dump. */
static void tn_drain(struct tn_sock *s)
{
	struct nlmsghdr *nlh;
	int n;

	for (;;) {
		n = (int)mnl_socket_recvfrom(s->nl, s->buf, sizeof(s->buf));
		if (n <= 0)
			return;
		for (nlh = (struct nlmsghdr *)s->buf; mnl_nlmsg_ok(nlh, n);
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
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(s->nl, s->buf, sizeof(s->buf));
		if (n < 0)
			return -errno;
		errno = 0;
		ret = mnl_cb_run(s->buf, (size_t)n, seq, s->portid, cb, data);
		if (ret == MNL_CB_STOP)
			return 0;
		if (ret < 0) {
			int err = errno ? errno : EIO;

			if (err == EINTR)
				tn_drain(s);
			return -err;
		}
	}
}

static struct nlmsghdr *tn_req(struct tn_sock *s, char *buf, uint16_t type,
			       uint16_t family, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(buf, type, family, flags | NLM_F_ACK, ++s->seq);
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
	bool overflow;
	char *what[TN_BATCH_MAX];
};

struct tn_batch *tn_batch_new(uint32_t genid)
{
	struct tn_batch *b = calloc(1, sizeof(*b));
	struct nlmsghdr *nlh;

	if (!b)
		return NULL;
	/* twice the limit: the message that crosses it still fits */
	b->buf = malloc(2 * TN_BATCH_LIMIT);
	if (!b->buf) {
		free(b);
		return NULL;
	}
	b->mb = mnl_nlmsg_batch_start(b->buf, TN_BATCH_LIMIT);
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
	free(b->buf);
	free(b);
}

static struct nlmsghdr *batch_msg(struct tn_batch *b, uint16_t type,
				  uint16_t family, uint16_t flags, const char *what)
{
	struct nlmsghdr *nlh;

	if (b->n >= TN_BATCH_MAX) {
		b->overflow = true;
		return NULL;
	}
	b->what[b->n] = strdup(what ? what : "");
	b->n++;
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b->mb), type, family,
				    flags | NLM_F_ACK, b->seq0 + (uint32_t)b->n);
	return nlh;
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

int tn_batch_count(const struct tn_batch *b)
{
	return b->n;
}

/* The kernel's extended-ack text, if it sent one. */
static void extack_msg(const struct nlmsghdr *nlh, char *out, size_t len)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	size_t off = sizeof(*err);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	mnl_attr_for_each(attr, nlh, off) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			snprintf(out, len, "%s", mnl_attr_get_str(attr));
	}
}

int tn_batch_commit(struct tn_sock *s, struct tn_batch *b, struct tn_err *e,
		    struct nftnl_rule *echo)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(s->nl), .events = POLLIN };
	bool echoed = false;
	struct nlmsghdr *nlh;
	int n;

	memset(e, 0, sizeof(*e));
	e->index = -1;
	if (b->overflow) {
		e->err = E2BIG;
		snprintf(e->what, sizeof(e->what), "building the batch");
		return -E2BIG;
	}
	nftnl_batch_end(mnl_nlmsg_batch_current(b->mb), b->seq0 + (uint32_t)b->n + 1);
	mnl_nlmsg_batch_next(b->mb);

	if (mnl_socket_sendto(s->nl, mnl_nlmsg_batch_head(b->mb),
			      mnl_nlmsg_batch_size(b->mb)) < 0) {
		e->err = errno;
		snprintf(e->what, sizeof(e->what), "sending the batch");
		return -e->err;
	}
	/*
	 * The kernel handles the whole batch inside sendmsg(), so every answer
	 * (an ack or error per message, echoed objects) is queued by now.
	 */
	while (poll(&pfd, 1, 0) > 0) {
		n = (int)mnl_socket_recvfrom(s->nl, s->buf, sizeof(s->buf));
		if (n < 0) {
			if (!e->err) {
				e->err = errno;
				snprintf(e->what, sizeof(e->what), "reading the kernel's answer");
			}
			break;
		}
		for (nlh = (struct nlmsghdr *)s->buf; mnl_nlmsg_ok(nlh, n);
		     nlh = mnl_nlmsg_next(nlh, &n)) {
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
				int idx = (int)(nlh->nlmsg_seq - b->seq0) - 1;

				if (err->error == 0 || e->err)
					continue;
				e->err = -err->error;
				if (idx >= 0 && idx < b->n) {
					e->index = idx;
					snprintf(e->what, sizeof(e->what), "%s", b->what[idx]);
				} else {
					snprintf(e->what, sizeof(e->what), "the batch");
				}
				extack_msg(nlh, e->msg, sizeof(e->msg));
			} else if (echo && !echoed &&
				   NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWRULE) {
				echoed = nftnl_rule_nlmsg_parse(nlh, echo) == 0;
			}
		}
	}
	return e->err ? -e->err : 0;
}
