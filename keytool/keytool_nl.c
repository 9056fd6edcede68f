// SPDX-License-Identifier: GPL-2.0
/*
 * tap-keytool's client of the xt_tap generic netlink family (xt_tap.h),
 * on the library's netlink socket (tap_nl.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#include "keytool.h"
#include "xt_tap.h"

/* Big enough for any dump skb the kernel builds (it sizes them by ours). */
#define NL_BUF_SIZE	32768

static void nl_open(struct nl *nl)
{
	int err;

	memset(nl, 0, sizeof(*nl));
	err = tap_nl_open(&nl->sock, NETLINK_GENERIC, NL_BUF_SIZE);
	if (err == ENOMEM)
		die("out of memory");
	if (err)
		die("cannot open a generic netlink socket: %s", strerror(err));
}

void nl_close(struct nl *nl)
{
	tap_nl_close(&nl->sock);
}

static struct nlmsghdr *nl_msg(struct nl *nl, void *buf, uint16_t type,
			       uint8_t cmd, uint8_t version, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->sock.seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = version;
	return nlh;
}

int nl_talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	return tap_nl_talk(&nl->sock, nlh, cb, data);
}

/* " (kernel: MSG)" when the kernel said why, else "". */
const char *kernel_says(const struct nl *nl)
{
	static char s[sizeof(nl->sock.extack) + 16];

	if (!nl->sock.extack[0])
		return "";
	snprintf(s, sizeof(s), " (kernel: %s)", nl->sock.extack);
	return s;
}

void nl_die(const struct nl *nl, int err, const char *what)
{
	if (err == EPERM || err == EACCES)
		die("permission denied: CAP_NET_ADMIN is required in this network namespace%s",
		    kernel_says(nl));
	die("%s: %s%s", what, strerror(err), kernel_says(nl));
}

static int family_cb(const struct nlattr *attr, void *data)
{
	uint16_t *id = data;

	if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_validate(attr, MNL_TYPE_U16) >= 0)
		*id = mnl_attr_get_u16(attr);
	return MNL_CB_OK;
}

int family_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_cb, data);
}

void tap_open(struct nl *nl)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	uint16_t id = 0;
	int err;

	nl_open(nl);
	nlh = nl_msg(nl, buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, TAP_GENL_NAME);
	err = nl_talk(nl, nlh, family_msg_cb, &id);
	if (err == ENOENT)
		die("the xt_tap kernel module is not loaded (modprobe xt_tap)");
	if (err)
		nl_die(nl, err, "cannot look up the " TAP_GENL_NAME " netlink family");
	if (!id)
		die("the kernel did not give the " TAP_GENL_NAME " family id");
	nl->family = id;
}

struct nlmsghdr *tap_msg(struct nl *nl, void *buf, uint8_t cmd, uint16_t flags)
{
	return nl_msg(nl, buf, nl->family, cmd, TAP_GENL_VERSION, flags);
}

uint32_t tap_events_group(struct nl *nl)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	uint32_t group = 0;
	int err;

	nlh = nl_msg(nl, buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, TAP_GENL_NAME);
	err = nl_talk(nl, nlh, events_group_msg_cb, &group);
	if (err)
		nl_die(nl, err, "cannot look up the " TAP_GENL_NAME " netlink family");
	return group;
}

/* ---- replies ---- */

static int stat_cb(const struct nlattr *attr, void *data)
{
	struct stat_set *s = data;
	unsigned int type = mnl_attr_get_type(attr);

	if (type >= 1 && type <= __TAP_STAT_MAX &&
	    mnl_attr_validate(attr, MNL_TYPE_U64) >= 0) {
		s->have[type - 1] = true;
		s->val[type - 1] = mnl_attr_get_u64(attr);
	}
	return MNL_CB_OK;
}

static int attr_table_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	unsigned int type = mnl_attr_get_type(attr);

	if (type <= TAP_A_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static bool attr_u64(const struct nlattr *a, uint64_t *v)
{
	if (!a || mnl_attr_validate(a, MNL_TYPE_U64) < 0)
		return false;
	*v = mnl_attr_get_u64(a);
	return true;
}

/* The last accept and the rotation of a key (absent on older modules). */
static void key_state_parse(const struct nlattr **tb, struct key_row *r)
{
	const struct nlattr *sa = tb[TAP_A_KEY_LAST_SADDR];
	uint16_t len = sa ? mnl_attr_get_payload_len(sa) : 0;

	if (attr_u64(tb[TAP_A_KEY_LAST_TIME], &r->last_time) &&
	    (len == 4 || len == 16)) {
		r->have_last = true;
		r->last_family = len == 4 ? AF_INET : AF_INET6;
		memcpy(r->last_saddr, mnl_attr_get_payload(sa), len);
	}
	if (tb[TAP_A_KEY_GRACE] &&
	    mnl_attr_validate(tb[TAP_A_KEY_GRACE], MNL_TYPE_U32) >= 0 &&
	    attr_u64(tb[TAP_A_KEY_PREV_FPR], &r->prev_fpr) &&
	    attr_u64(tb[TAP_A_KEY_PREV_ACCEPTS], &r->prev_accepts)) {
		r->rotating = true;
		r->grace_left = mnl_attr_get_u32(tb[TAP_A_KEY_GRACE]);
	}
}

int key_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[TAP_A_MAX + 1] = { 0 };
	struct key_list *l = data;
	struct key_row *r;
	struct stat_set s = { 0 };

	if (mnl_attr_parse(nlh, sizeof(struct genlmsghdr), attr_table_cb, tb) < 0)
		return MNL_CB_ERROR;
	if (!tb[TAP_A_KEY_ID] || mnl_attr_validate(tb[TAP_A_KEY_ID], MNL_TYPE_U16) < 0)
		return MNL_CB_OK;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct key_row *rows = realloc(l->rows, cap * sizeof(*rows));

		if (!rows)
			die("out of memory");
		l->rows = rows;
		l->cap = cap;
	}
	r = &l->rows[l->n++];
	memset(r, 0, sizeof(*r));
	r->id = mnl_attr_get_u16(tb[TAP_A_KEY_ID]);
	if (tb[TAP_A_KEY_FPR] && mnl_attr_validate(tb[TAP_A_KEY_FPR], MNL_TYPE_U64) >= 0) {
		r->have_fpr = true;
		r->fpr = mnl_attr_get_u64(tb[TAP_A_KEY_FPR]);
	}
	if (tb[TAP_A_KEY_RATE] && mnl_attr_validate(tb[TAP_A_KEY_RATE], MNL_TYPE_U32) >= 0) {
		r->have_rate = true;
		r->rate = mnl_attr_get_u32(tb[TAP_A_KEY_RATE]);
	}
	if (tb[TAP_A_KEY_STATS] &&
	    mnl_attr_validate(tb[TAP_A_KEY_STATS], MNL_TYPE_NESTED) >= 0) {
		mnl_attr_parse_nested(tb[TAP_A_KEY_STATS], stat_cb, &s);
		memcpy(r->have, s.have, sizeof(r->have));
		memcpy(r->stat, s.val, sizeof(r->stat));
	}
	key_state_parse(tb, r);
	return MNL_CB_OK;
}

static int tbl_cb(const struct nlattr *attr, void *data)
{
	struct stats_reply *s = data;
	unsigned int type = mnl_attr_get_type(attr);

	if (type == TAP_TBL_A_BYTES || type == TAP_TBL_A_REPLAY_LIVE ||
	    type == TAP_TBL_A_REPLAY_RATE) {
		if (mnl_attr_validate(attr, MNL_TYPE_U64) >= 0) {
			s->have_tbl[type] = true;
			s->tbl[type] = mnl_attr_get_u64(attr);
		}
	} else if (type >= TAP_TBL_A_RULES && type <= TAP_TBL_A_MAX &&
		   type != TAP_TBL_A_PAD) {
		if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) {
			s->have_tbl[type] = true;
			s->tbl[type] = mnl_attr_get_u32(attr);
		}
	}
	return MNL_CB_OK;
}

static int evs_cb(const struct nlattr *attr, void *data)
{
	struct stats_reply *s = data;
	unsigned int type = mnl_attr_get_type(attr);

	if (type >= TAP_EVS_A_SENT && type <= TAP_EVS_A_MAX && type != TAP_EVS_A_PAD &&
	    mnl_attr_validate(attr, MNL_TYPE_U64) >= 0) {
		s->have_ev[type] = true;
		s->ev[type] = mnl_attr_get_u64(attr);
	}
	return MNL_CB_OK;
}

int stats_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[TAP_A_MAX + 1] = { 0 };
	struct stats_reply *s = data;

	if (mnl_attr_parse(nlh, sizeof(struct genlmsghdr), attr_table_cb, tb) < 0)
		return MNL_CB_ERROR;
	s->got = true;
	if (tb[TAP_A_STATS] && mnl_attr_validate(tb[TAP_A_STATS], MNL_TYPE_NESTED) >= 0)
		mnl_attr_parse_nested(tb[TAP_A_STATS], stat_cb, &s->stats);
	if (tb[TAP_A_TABLES] && mnl_attr_validate(tb[TAP_A_TABLES], MNL_TYPE_NESTED) >= 0)
		mnl_attr_parse_nested(tb[TAP_A_TABLES], tbl_cb, s);
	if (tb[TAP_A_REALM_FPR] && mnl_attr_validate(tb[TAP_A_REALM_FPR], MNL_TYPE_U64) >= 0) {
		s->have_realm = true;
		s->realm_fpr = mnl_attr_get_u64(tb[TAP_A_REALM_FPR]);
	}
	if (tb[TAP_A_EVENT_STATS] &&
	    mnl_attr_validate(tb[TAP_A_EVENT_STATS], MNL_TYPE_NESTED) >= 0)
		mnl_attr_parse_nested(tb[TAP_A_EVENT_STATS], evs_cb, s);
	return MNL_CB_OK;
}

/* ---- audit events ---- */

struct mcgrp {
	const char *name;
	uint32_t id;
};

static int mcgrp_cb(const struct nlattr *attr, void *data)
{
	struct mcgrp *g = data;

	if (mnl_attr_get_type(attr) == CTRL_ATTR_MCAST_GRP_NAME &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
		g->name = mnl_attr_get_str(attr);
	if (mnl_attr_get_type(attr) == CTRL_ATTR_MCAST_GRP_ID &&
	    mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
		g->id = mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int mcgrps_cb(const struct nlattr *attr, void *data)
{
	struct mcgrp g = { 0 };

	if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
		return MNL_CB_OK;
	mnl_attr_parse_nested(attr, mcgrp_cb, &g);
	if (g.name && g.id && !strcmp(g.name, TAP_GENL_MCGRP_EVENTS))
		*(uint32_t *)data = g.id;
	return MNL_CB_OK;
}

static int family_groups_cb(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == CTRL_ATTR_MCAST_GROUPS &&
	    mnl_attr_validate(attr, MNL_TYPE_NESTED) >= 0)
		mnl_attr_parse_nested(attr, mcgrps_cb, data);
	return MNL_CB_OK;
}

int events_group_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_groups_cb, data);
}

struct ev_parse {
	struct tap_event *ev;
	unsigned int got;	/* bit per TAP_EV_A_* */
	uint16_t saddr_len, daddr_len;
};

static int ev_attr_cb(const struct nlattr *attr, void *data)
{
	static const enum mnl_attr_data_type types[TAP_EV_A_MAX + 1] = {
		[TAP_EV_A_OUTCOME] = MNL_TYPE_U32, [TAP_EV_A_KEY_ID] = MNL_TYPE_U16,
		[TAP_EV_A_FAMILY] = MNL_TYPE_U8, [TAP_EV_A_SPORT] = MNL_TYPE_U16,
		[TAP_EV_A_DPORT] = MNL_TYPE_U16, [TAP_EV_A_WINDOW] = MNL_TYPE_U32,
		[TAP_EV_A_TIME_NS] = MNL_TYPE_U64,
	};
	struct ev_parse *p = data;
	struct tap_event *ev = p->ev;
	unsigned int type = mnl_attr_get_type(attr);
	uint16_t len = mnl_attr_get_payload_len(attr);

	if (type == TAP_EV_A_SADDR || type == TAP_EV_A_DADDR) {
		if (len != 4 && len != 16)
			return MNL_CB_OK;
		memcpy(type == TAP_EV_A_SADDR ? ev->saddr : ev->daddr,
		       mnl_attr_get_payload(attr), len);
		*(type == TAP_EV_A_SADDR ? &p->saddr_len : &p->daddr_len) = len;
	} else if (type <= TAP_EV_A_MAX && types[type] &&
		   mnl_attr_validate(attr, types[type]) >= 0) {
		switch (type) {
		case TAP_EV_A_OUTCOME: ev->outcome = mnl_attr_get_u32(attr); break;
		case TAP_EV_A_KEY_ID: ev->key_id = mnl_attr_get_u16(attr); break;
		case TAP_EV_A_FAMILY: ev->family = mnl_attr_get_u8(attr); break;
		case TAP_EV_A_SPORT: ev->sport = mnl_attr_get_u16(attr); break;
		case TAP_EV_A_DPORT: ev->dport = mnl_attr_get_u16(attr); break;
		case TAP_EV_A_WINDOW: ev->window = mnl_attr_get_u32(attr); break;
		case TAP_EV_A_TIME_NS: ev->time_ns = mnl_attr_get_u64(attr); break;
		}
	} else {
		return MNL_CB_OK;
	}
	p->got |= 1u << type;
	return MNL_CB_OK;
}

static int ev_top_cb(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == TAP_A_EVENT &&
	    mnl_attr_validate(attr, MNL_TYPE_NESTED) >= 0)
		mnl_attr_parse_nested(attr, ev_attr_cb, data);
	return MNL_CB_OK;
}

int event_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	const unsigned int need = 1u << TAP_EV_A_OUTCOME | 1u << TAP_EV_A_FAMILY |
		1u << TAP_EV_A_SADDR | 1u << TAP_EV_A_DADDR | 1u << TAP_EV_A_SPORT |
		1u << TAP_EV_A_DPORT | 1u << TAP_EV_A_WINDOW | 1u << TAP_EV_A_TIME_NS;
	const struct genlmsghdr *genl;
	struct ev_parse p = { .ev = data };
	uint16_t alen;

	memset(p.ev, 0, sizeof(*p.ev));
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*genl))
		return MNL_CB_OK;
	genl = mnl_nlmsg_get_payload(nlh);
	if (genl->cmd != TAP_CMD_EVENT)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*genl), ev_top_cb, &p) < 0)
		return MNL_CB_OK;
	alen = p.ev->family == 4 ? 4 : 16;
	p.ev->have_key = p.got & 1u << TAP_EV_A_KEY_ID;
	p.ev->valid = (p.got & need) == need &&
		(p.ev->family == 4 || p.ev->family == 6) &&
		p.saddr_len == alen && p.daddr_len == alen;
	return MNL_CB_OK;
}
