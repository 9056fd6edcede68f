// SPDX-License-Identifier: GPL-2.0
/*
 * tap-clientd: the interception rules, in the daemon's own table
 *
 *	table inet tap_clientd {
 *		chain output {
 *			type filter hook output priority 100; policy accept;
 *			meta nfproto ipv4 meta l4proto tcp tcp flags & (fin|syn|rst|ack) == syn
 *				meta mark != 0x54415031 ip daddr 192.0.2.10 tcp dport 22
 *				counter queue num 5441 bypass comment "tap-clientd line 3"
 *			...
 *		}
 *	}
 *
 * built with libnftnl and sent with libmnl as one atomic batch that first
 * deletes whatever table of that name exists (a crashed run's, or the
 * previous config's): "add table; delete table; add table; add chain; add
 * rule...". No packet ever sees a half-built table.
 *
 * The table is created with NFT_TABLE_F_OWNER where the kernel has it (5.12
 * on): it then belongs to this socket and the kernel deletes it when the
 * daemon dies, even by SIGKILL. The queue verdict has "bypass": if no
 * process listens on the queue, the SYN goes out unchanged.
 *
 * Kernels built without the nftables queue expression (CONFIG_NFT_QUEUE)
 * but with nft_compat get the same rules with the xtables NFQUEUE target
 * (revision 3, with bypass) instead, in one table per family.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "clientd.h"

#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS	0x200
#endif
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED	0x100
#endif

#define MSG_DESC	160
#define ALIGN8(x)	(((x) + 7) & ~(size_t)7)
#define WHAT_CREATE	"creating the table"
#define WHAT_PREPARE	"preparing to replace the table"

enum backend {
	BACKEND_NFT_QUEUE,	/* inet table, nft "queue" expression */
	BACKEND_XT_NFQUEUE,	/* ip + ip6 tables, xt NFQUEUE via nft_compat */
};

struct cd_rules {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	bool owner;		/* try NFT_TABLE_F_OWNER */
	enum backend backend;
	bool installed;
};

struct batch {
	char *buf;
	size_t size;
	struct mnl_nlmsg_batch *b;
	uint32_t seq0;		/* of the batch begin message */
	uint32_t n;		/* messages, begin and end included */
	char (*what)[MSG_DESC];
};

struct batch_err {
	int err;		/* positive errno */
	int index;		/* message index; 0 is the batch begin */
	char what[MSG_DESC];
	char msg[128];		/* extended ack */
};

int cd_rules_open(struct cd_rules **out, char *err, size_t errlen)
{
	struct cd_rules *r = calloc(1, sizeof(*r));
	int one = 1;

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!r->nl || mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "cannot open a netfilter netlink socket: %s%s",
			 strerror(errno), errno == EPROTONOSUPPORT ?
			 " (kernel without nfnetlink, CONFIG_NETFILTER_NETLINK)" : "");
		if (r->nl)
			mnl_socket_close(r->nl);
		free(r);
		return -1;
	}
	mnl_socket_setsockopt(r->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(r->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	r->portid = mnl_socket_get_portid(r->nl);
	r->seq = (uint32_t)time(NULL);
	r->owner = true;
	r->backend = BACKEND_NFT_QUEUE;
	*out = r;
	return 0;
}

void cd_rules_close(struct cd_rules *r)
{
	if (!r)
		return;
	mnl_socket_close(r->nl);
	free(r);
}

/* ---- batches ------------------------------------------------------------- */

static int batch_init(struct batch *bt, struct cd_rules *r, size_t nmsgs)
{
	memset(bt, 0, sizeof(*bt));
	bt->size = (nmsgs + 4) * 2048;
	bt->buf = malloc(bt->size);
	bt->what = calloc(nmsgs + 4, sizeof(*bt->what));
	if (!bt->buf || !bt->what)
		return -1;
	bt->b = mnl_nlmsg_batch_start(bt->buf, bt->size - 2048);
	bt->seq0 = ++r->seq;
	nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), bt->seq0);
	mnl_nlmsg_batch_next(bt->b);
	snprintf(bt->what[0], MSG_DESC, "batch");
	bt->n = 1;
	r->seq += (uint32_t)nmsgs + 2;
	return 0;
}

static void batch_free(struct batch *bt)
{
	if (bt->b)
		mnl_nlmsg_batch_stop(bt->b);
	free(bt->buf);
	free(bt->what);
}

static struct nlmsghdr *batch_msg(struct batch *bt, uint16_t type, uint16_t family,
				  uint16_t flags, const char *what)
{
	struct nlmsghdr *nlh;

	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, family,
				    flags | NLM_F_ACK, bt->seq0 + bt->n);
	snprintf(bt->what[bt->n], MSG_DESC, "%s", what);
	bt->n++;
	return nlh;
}

static void batch_next(struct batch *bt)
{
	mnl_nlmsg_batch_next(bt->b);
}

static void batch_end(struct batch *bt)
{
	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), bt->seq0 + bt->n);
	snprintf(bt->what[bt->n], MSG_DESC, "batch end");
	bt->n++;
	mnl_nlmsg_batch_next(bt->b);
}

/*
 * Sends the batch and reads every answer: the kernel handles a batch
 * inside sendmsg, so all acks are queued when it returns. 0, or -1 with
 * the first error in e.
 */
static int batch_send(struct cd_rules *r, struct batch *bt, struct batch_err *e)
{
	size_t len = mnl_nlmsg_batch_size(bt->b);
	char rx[MNL_SOCKET_BUFFER_SIZE * 2];
	struct pollfd pfd = { .fd = mnl_socket_get_fd(r->nl), .events = POLLIN };
	int sndbuf = (int)len + 4096;
	bool failed = false;
	uint32_t acked = 0;

	memset(e, 0, sizeof(*e));
	if (len > 100000)
		setsockopt(pfd.fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
	if (mnl_socket_sendto(r->nl, mnl_nlmsg_batch_head(bt->b), len) < 0) {
		e->err = errno;
		e->index = -1;
		snprintf(e->what, sizeof(e->what), "sending the batch");
		return -1;
	}
	/* every message but begin and end asks for an ack */
	while (acked < bt->n - 2) {
		ssize_t n;
		int left;
		struct nlmsghdr *nlh;

		if (poll(&pfd, 1, failed ? 0 : 2000) <= 0)
			break;
		n = mnl_socket_recvfrom(r->nl, rx, sizeof(rx));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (!failed) {
				e->err = errno;
				e->index = -1;
				snprintf(e->what, sizeof(e->what), "reading the answer");
			}
			return -1;
		}
		left = (int)n;
		for (nlh = (struct nlmsghdr *)rx; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *ne;
			const struct nlattr *attr;
			size_t off;

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			ne = mnl_nlmsg_get_payload(nlh);
			acked++;
			if (!ne->error || failed)
				continue;
			failed = true;
			e->err = -ne->error;
			e->index = (int)(nlh->nlmsg_seq - bt->seq0);
			if (e->index >= 0 && (uint32_t)e->index < bt->n)
				snprintf(e->what, sizeof(e->what), "%s", bt->what[e->index]);
			if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
				continue;
			off = sizeof(*ne);
			if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
				off += ne->msg.nlmsg_len - sizeof(struct nlmsghdr);
			mnl_attr_for_each(attr, nlh, off)
				if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
				    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
					snprintf(e->msg, sizeof(e->msg), "%s",
						 mnl_attr_get_str(attr));
		}
		if (failed)
			continue;	/* drain what is left */
	}
	return failed ? -1 : 0;
}

/* ---- objects ------------------------------------------------------------- */

static int add_table(struct batch *bt, uint16_t family, uint16_t type, uint32_t flags,
		     const char *what)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		return -1;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, CD_TABLE);
	if (type == NFT_MSG_NEWTABLE)
		nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, flags);
	nlh = batch_msg(bt, type, family, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0, what);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	batch_next(bt);
	return 0;
}

static int add_chain(struct batch *bt, uint16_t family, int32_t prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c)
		return -1;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, family);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, CD_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, CD_CHAIN);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_LOCAL_OUT);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nlh = batch_msg(bt, NFT_MSG_NEWCHAIN, family, NLM_F_CREATE,
			"creating the output chain");
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	batch_next(bt);
	return 0;
}

static bool put(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return false;
	nftnl_rule_add_expr(r, e);
	return true;
}

static struct nftnl_expr *e_meta(uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
	return e;
}

static struct nftnl_expr *e_cmp(uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	return e;
}

static struct nftnl_expr *e_payload(uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	}
	return e;
}

static struct nftnl_expr *e_and(const void *mask, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
	static const uint8_t zero[16];

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	}
	return e;
}

static struct nftnl_expr *e_verdict(const struct cd_rules *r, uint16_t queue)
{
	struct nftnl_expr *e;

	if (r->backend == BACKEND_NFT_QUEUE) {
		e = nftnl_expr_alloc("queue");
		if (e) {
			nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_NUM, queue);
			nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_TOTAL, 1);
			nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_FLAGS, NFT_QUEUE_FLAG_BYPASS);
		}
	} else {
		/*
		 * The kernel wants XT_ALIGN(sizeof(info)) bytes; libnftnl takes
		 * ownership of the buffer (and frees it).
		 */
		size_t len = ALIGN8(sizeof(struct xt_NFQ_info_v3));
		struct xt_NFQ_info_v3 *info = calloc(1, len);

		e = info ? nftnl_expr_alloc("target") : NULL;
		if (!e) {
			free(info);
			return NULL;
		}
		info->queuenum = queue;
		info->queues_total = 1;
		info->flags = NFQ_FLAG_BYPASS;
		nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
		nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, 3);
		nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, (uint32_t)len);
	}
	return e;
}

/* One rule: one server entry and one port or port range. */
static int add_rule(struct batch *bt, const struct cd_rules *rl, uint16_t family,
		    const struct cd_config *cfg, const struct cd_server *s,
		    const struct cd_portrange *pr)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(64);
	uint8_t nfproto = s->family == 4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
	uint8_t tcp = IPPROTO_TCP, flagmask = 0x17, syn = 0x02;	/* FIN SYN RST ACK; SYN */
	uint32_t alen = s->family == 4 ? 4 : 16, aoff = s->family == 4 ? 16 : 24;
	uint16_t lo = htons(pr->lo), hi = htons(pr->hi);
	char comment[64], what[MSG_DESC];
	struct nlmsghdr *nlh;
	bool ok = true;

	if (!r || !ud)
		goto fail;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, CD_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, CD_CHAIN);

	if (family == NFPROTO_INET) {
		ok &= put(r, e_meta(NFT_META_NFPROTO));
		ok &= put(r, e_cmp(NFT_CMP_EQ, &nfproto, 1));
	}
	ok &= put(r, e_meta(NFT_META_L4PROTO));
	ok &= put(r, e_cmp(NFT_CMP_EQ, &tcp, 1));
	ok &= put(r, e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1));
	ok &= put(r, e_and(&flagmask, 1));
	ok &= put(r, e_cmp(NFT_CMP_EQ, &syn, 1));
	/* our own auth SYNs carry the mark: never queue them */
	ok &= put(r, e_meta(NFT_META_MARK));
	ok &= put(r, e_cmp(NFT_CMP_NEQ, &cfg->mark, 4));
	if (s->prefix > 0) {
		ok &= put(r, e_payload(NFT_PAYLOAD_NETWORK_HEADER, aoff, alen));
		if (s->prefix < alen * 8) {
			uint8_t mask[16] = { 0 };
			unsigned int i;

			for (i = 0; i < alen; i++) {
				int bits = s->prefix - 8 * (int)i;

				mask[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 :
					  (uint8_t)(0xff << (8 - bits));
			}
			ok &= put(r, e_and(mask, alen));
		}
		ok &= put(r, e_cmp(NFT_CMP_EQ, s->net.b, alen));
	}
	ok &= put(r, e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2));
	if (pr->lo == pr->hi) {
		ok &= put(r, e_cmp(NFT_CMP_EQ, &lo, 2));
	} else {
		/* network byte order compares correctly (memcmp) */
		ok &= put(r, e_cmp(NFT_CMP_GTE, &lo, 2));
		ok &= put(r, e_cmp(NFT_CMP_LTE, &hi, 2));
	}
	ok &= put(r, nftnl_expr_alloc("counter"));
	ok &= put(r, e_verdict(rl, cfg->queue));
	if (!ok)
		goto fail;

	snprintf(comment, sizeof(comment), "tap-clientd line %d", s->line);
	nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, comment);
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
			    nftnl_udata_buf_len(ud));
	if (pr->lo == pr->hi)
		snprintf(what, sizeof(what), "adding the rule for line %d (%s port %u)",
			 s->line, s->name, pr->lo);
	else
		snprintf(what, sizeof(what), "adding the rule for line %d (%s ports %u-%u)",
			 s->line, s->name, pr->lo, pr->hi);
	nlh = batch_msg(bt, NFT_MSG_NEWRULE, family, NLM_F_CREATE | NLM_F_APPEND, what);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	batch_next(bt);
	nftnl_udata_buf_free(ud);
	nftnl_rule_free(r);
	return 0;
fail:
	if (ud)
		nftnl_udata_buf_free(ud);
	if (r)
		nftnl_rule_free(r);
	return -1;
}

static size_t count_rules(const struct cd_config *cfg)
{
	size_t n = 0;
	int i;

	for (i = 0; i < cfg->nservers; i++)
		n += (size_t)cfg->servers[i].nports;
	return n;
}

static bool backend_has(const struct cd_rules *r, uint16_t family)
{
	return r->backend == BACKEND_NFT_QUEUE ? family == NFPROTO_INET :
	       family != NFPROTO_INET;
}

/*
 * "add table; delete table" for each family either backend may have used:
 * deletes the table if it exists, and is no error if it does not. The add
 * must not change the owner flag of an existing table (the kernel refuses
 * that), so it repeats ours.
 */
static int add_deletes(struct batch *bt, const struct cd_rules *r)
{
	static const uint16_t fams[] = { NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6 };
	uint32_t flags;
	size_t i;

	for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		flags = r->installed && r->owner && backend_has(r, fams[i]) ?
			NFT_TABLE_F_OWNER : 0;
		if (add_table(bt, fams[i], NFT_MSG_NEWTABLE, flags, WHAT_PREPARE) < 0 ||
		    add_table(bt, fams[i], NFT_MSG_DELTABLE, 0, "deleting the old table") < 0)
			return -1;
	}
	return 0;
}

static int build_install(struct batch *bt, struct cd_rules *r, const struct cd_config *cfg)
{
	static const uint16_t inet[] = { NFPROTO_INET };
	static const uint16_t split[] = { NFPROTO_IPV4, NFPROTO_IPV6 };
	const uint16_t *fams = r->backend == BACKEND_NFT_QUEUE ? inet : split;
	size_t nfams = r->backend == BACKEND_NFT_QUEUE ? 1 : 2, f;
	int i, j;

	if (batch_init(bt, r, count_rules(cfg) + 16) < 0 || add_deletes(bt, r) < 0)
		return -1;
	for (f = 0; f < nfams; f++) {
		if (add_table(bt, fams[f], NFT_MSG_NEWTABLE, r->owner ? NFT_TABLE_F_OWNER : 0,
			      WHAT_CREATE) < 0 ||
		    add_chain(bt, fams[f], cfg->priority) < 0)
			return -1;
		for (i = 0; i < cfg->nservers; i++) {
			const struct cd_server *s = &cfg->servers[i];

			if (fams[f] == NFPROTO_IPV4 && s->family != 4)
				continue;
			if (fams[f] == NFPROTO_IPV6 && s->family != 6)
				continue;
			for (j = 0; j < s->nports; j++)
				if (add_rule(bt, r, fams[f], cfg, s, &s->ports[j]) < 0)
					return -1;
		}
	}
	batch_end(bt);
	return 0;
}

static bool is_rule_msg(const struct batch_err *e)
{
	return !strncmp(e->what, "adding the rule", 15);
}

static void explain(const struct batch_err *e, const char *action, char *err, size_t errlen)
{
	const char *hint = "";

	if (e->index == 0 && (e->err == EOPNOTSUPP || e->err == ENOENT || e->err == EINVAL))
		hint = ": the kernel has no nf_tables (CONFIG_NF_TABLES; try "
		       "\"modprobe nf_tables\")";
	else if (e->err == EPERM && (!strcmp(e->what, WHAT_CREATE) ||
				     !strcmp(e->what, WHAT_PREPARE)))
		hint = ": table \"" CD_TABLE "\" belongs to another process (is another "
		       "tap-clientd running in this network namespace?)";
	else if (e->err == EPERM)
		hint = ": tap-clientd needs CAP_NET_ADMIN";
	else if (is_rule_msg(e) && (e->err == ENOENT || e->err == EOPNOTSUPP))
		hint = ": the kernel lacks the nftables queue expression (nft_queue, "
		       "CONFIG_NFT_QUEUE) and the xtables NFQUEUE target through nft_compat "
		       "(xt_NFQUEUE, nft_compat)";
	snprintf(err, errlen, "%s: %s failed: %s%s%s%s%s", action,
		 e->what[0] ? e->what : "nftables", strerror(e->err),
		 e->msg[0] ? " (kernel: " : "", e->msg, e->msg[0] ? ")" : "", hint);
}

int cd_rules_install(struct cd_rules *r, const struct cd_config *cfg, char *err, size_t errlen)
{
	struct batch_err e;
	struct batch bt;
	int ret;

	for (;;) {
		if (build_install(&bt, r, cfg) < 0) {
			batch_free(&bt);
			snprintf(err, errlen, "installing the rules: out of memory");
			return -1;
		}
		ret = batch_send(r, &bt, &e);
		batch_free(&bt);
		if (ret == 0)
			break;
		if (r->owner && !r->installed && e.err == EOPNOTSUPP &&
		    !strcmp(e.what, WHAT_CREATE)) {
			/* before 5.12: no owner flag; stale tables are still replaced */
			cd_info("the kernel has no owned tables; a crash would leave the "
				"table (harmless: bypass), replaced at the next start");
			r->owner = false;
			continue;
		}
		if (r->backend == BACKEND_NFT_QUEUE && !r->installed && is_rule_msg(&e) &&
		    (e.err == ENOENT || e.err == EOPNOTSUPP)) {
			cd_notice("the kernel has no nftables queue expression (nft_queue); "
				  "using the xtables NFQUEUE target through nft_compat");
			r->backend = BACKEND_XT_NFQUEUE;
			continue;
		}
		explain(&e, "installing the interception rules", err, errlen);
		return -1;
	}
	r->installed = true;
	cd_info("interception rules installed: table %s " CD_TABLE ", %zu rule%s, queue %u",
		r->backend == BACKEND_NFT_QUEUE ? "inet" : "ip+ip6", count_rules(cfg),
		count_rules(cfg) == 1 ? "" : "s", cfg->queue);
	return 0;
}

int cd_rules_remove(struct cd_rules *r, char *err, size_t errlen)
{
	struct batch_err e;
	struct batch bt;
	int ret;

	if (batch_init(&bt, r, 8) < 0 || add_deletes(&bt, r) < 0) {
		batch_free(&bt);
		snprintf(err, errlen, "removing the rules: out of memory");
		return -1;
	}
	batch_end(&bt);
	ret = batch_send(r, &bt, &e);
	batch_free(&bt);
	if (ret < 0) {
		explain(&e, "removing the interception rules", err, errlen);
		return -1;
	}
	r->installed = false;
	return 0;
}
