/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one netlink client of the userspace tools (libmnl): a socket that asks
 * for the kernel's extended acks, request/answer exchanges, and the parser
 * of the kernel's error and extended-ack messages. tap-keytool talks generic
 * netlink with it, tap-nft and tap-clientd nftables (tap_nfnl.h).
 */
#ifndef TAP_NL_H
#define TAP_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

struct tap_nl {
	struct mnl_socket *sk;
	uint32_t portid, seq;
	int err;		/* errno the kernel reported, 0 if none */
	char extack[256];	/* the kernel's extended ack message, or "" */
	char *buf;		/* receive buffer, wiped after every exchange */
	size_t buflen;
};

/*
 * Opens and binds a socket on bus (NETLINK_GENERIC, NETLINK_NETFILTER) with
 * a receive buffer of buflen bytes; asks for extended acks and for acks that
 * do not echo the request (it may carry a secret). 0, or a positive errno.
 */
int tap_nl_open(struct tap_nl *nl, int bus, size_t buflen);
void tap_nl_close(struct tap_nl *nl);

/*
 * Sends nlh and feeds every answer to cb (may be NULL) until the kernel's
 * ack or the end of the dump. 0, or a positive errno: the kernel's (also in
 * nl->err, with its message in nl->extack), EINTR if a dump was interrupted
 * by a change (the rest of it is then unread), or the socket's.
 */
int tap_nl_talk(struct tap_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

/*
 * Whether every message of a received datagram fits in it. libmnl 1.0.4's
 * mnl_nlmsg_ok compares a message's length as an int: one that claims
 * 2 GiB or more passes, and the walk leaves the buffer. Check a datagram
 * with this before libmnl walks it.
 */
bool tap_nl_fits(const void *buf, size_t len);

/*
 * One datagram of answers to request seq (len bytes at buf, followed by
 * zeros up to MNL_ALIGN(len): libmnl reads the last message's attributes up
 * to its padding), as tap_nl_talk reads them: each message goes to cb, an error or the end of
 * a dump ends the exchange. -1 while more answers are due, else what
 * tap_nl_talk returns (with nl->err and nl->extack set); EBADMSG if a
 * message does not fit in the datagram.
 */
int tap_nl_parse(struct tap_nl *nl, const void *buf, size_t len, uint32_t seq,
		 mnl_cb_t cb, void *data);

/*
 * The kernel's error in an NLMSG_ERROR or NLMSG_DONE message: a positive
 * errno, 0 for an ack, EBADMSG if the message is too short. Its extended
 * ack text goes to msg (if any; bounds-checked, trailing blanks dropped,
 * control characters shown as '?'); msg is left alone otherwise.
 */
int tap_nl_error(const struct nlmsghdr *nlh, char *msg, size_t msglen);

#endif /* TAP_NL_H */
