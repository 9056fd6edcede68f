// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/netlink.h>

#include "tap_nl.h"

int tap_nl_open(struct tap_nl *nl, int bus, size_t buflen)
{
	int one = 1, err;

	memset(nl, 0, sizeof(*nl));
	/* room for the padding of a last message of unaligned length */
	nl->buf = calloc(1, buflen + MNL_ALIGNTO);
	if (!nl->buf)
		return ENOMEM;
	nl->buflen = buflen;
	nl->sk = mnl_socket_open(bus);
	if (!nl->sk) {
		err = errno;
		tap_nl_close(nl);
		return err;
	}
	/* Best effort: old kernels lack these. */
	mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = errno;
		tap_nl_close(nl);
		return err;
	}
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = (uint32_t)time(NULL);
	return 0;
}

void tap_nl_close(struct tap_nl *nl)
{
	if (nl->sk)
		mnl_socket_close(nl->sk);
	nl->sk = NULL;
	if (nl->buf)
		explicit_bzero(nl->buf, nl->buflen + MNL_ALIGNTO);
	free(nl->buf);
	nl->buf = NULL;
}

static void extack_at(const struct nlmsghdr *nlh, size_t off, char *out,
		      size_t len)
{
	const struct nlattr *attr;
	size_t i, n;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) ||
	    MNL_ALIGN(off) > mnl_nlmsg_get_payload_len(nlh))
		return;
	mnl_attr_for_each(attr, nlh, off) {
		if (mnl_attr_get_type(attr) != NLMSGERR_ATTR_MSG ||
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			continue;
		snprintf(out, len, "%s", mnl_attr_get_str(attr));
		n = strlen(out);
		while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
			out[--n] = '\0';
		for (i = 0; i < n; i++)
			if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] == 0x7f)
				out[i] = '?';
	}
}

/* The errno of a kernel error code (-4095..-1); EPROTO for any other. */
static int kernel_errno(int err)
{
	return err < 0 && err >= -4095 ? -err : EPROTO;
}

int tap_nl_error(const struct nlmsghdr *nlh, char *msg, size_t msglen)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*e);
	int err;

	if (nlh->nlmsg_type == NLMSG_DONE) {
		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int))
			return 0;
		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
		if (err < 0)
			extack_at(nlh, sizeof(int), msg, msglen);
		return err < 0 ? kernel_errno(err) : 0;
	}
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
		return EBADMSG;
	if (e->error == 0)
		return 0;	/* the ack */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
	    e->msg.nlmsg_len >= sizeof(struct nlmsghdr))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	extack_at(nlh, off, msg, msglen);
	return kernel_errno(e->error);
}

struct talk {
	struct tap_nl *nl;
	mnl_cb_t cb;
	void *data;
};

/* NLMSG_ERROR and NLMSG_DONE both end the exchange. */
static int ctl_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;

	t->nl->err = tap_nl_error(nlh, t->nl->extack, sizeof(t->nl->extack));
	return MNL_CB_STOP;
}

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;

	return t->cb ? t->cb(nlh, t->data) : MNL_CB_OK;
}

bool tap_nl_fits(const void *buf, size_t len)
{
	const char *p = buf;
	struct nlmsghdr h;
	size_t step;

	while (len >= sizeof(h)) {
		memcpy(&h, p, sizeof(h));
		if (h.nlmsg_len < sizeof(h))
			return true;	/* libmnl stops here */
		if (h.nlmsg_len > len)
			return false;
		step = MNL_ALIGN(h.nlmsg_len);
		if (step >= len)
			return true;
		p += step;
		len -= step;
	}
	return true;
}

int tap_nl_parse(struct tap_nl *nl, const void *buf, size_t len, uint32_t seq,
		 mnl_cb_t cb, void *data)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = ctl_cb,
		[NLMSG_DONE] = ctl_cb,
	};
	struct talk t = { .nl = nl, .cb = cb, .data = data };
	int n;

	if (!tap_nl_fits(buf, len))
		return EBADMSG;
	errno = 0;
	n = mnl_cb_run2(buf, len, seq, nl->portid, data_cb, &t, ctl, NLMSG_MIN_TYPE);
	if (n < 0)
		return nl->err ? nl->err : errno ? errno : EIO;
	if (n == MNL_CB_STOP)
		return nl->err;
	return -1;
}

int tap_nl_talk(struct tap_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret = 0;

	nl->err = 0;
	nl->extack[0] = '\0';
	if (mnl_socket_sendto(nl->sk, nlh, nlh->nlmsg_len) < 0)
		return errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl->sk, nl->buf, nl->buflen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = errno;
			break;
		}
		/* libmnl reads each message up to its padding: make it zeros */
		memset(nl->buf + n, 0, MNL_ALIGN((size_t)n) - (size_t)n);
		ret = tap_nl_parse(nl, nl->buf, (size_t)n, seq, cb, data);
		if (ret >= 0)
			break;
	}
	explicit_bzero(nl->buf, nl->buflen);
	return ret;
}
