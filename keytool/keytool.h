/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tap-keytool (tap-keytool(8)):
 *
 *   tap-keytool.c   the command line and its commands
 *   keytool_nl.c    the client of the module's generic netlink family
 *
 * Exit status: 0 success, 1 runtime error, 2 usage error.
 */
#ifndef TAP_KEYTOOL_H
#define TAP_KEYTOOL_H

#include <stdint.h>

#include "tap_nl.h"

#define PROG		"tap-keytool"
#define EXIT_USAGE	2
#define NL_REQ_SIZE	1024	/* our requests are far smaller */

void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...);
void __attribute__((noreturn, format(printf, 1, 2))) die_usage(const char *fmt, ...);

/* ---- keytool_nl.c ---- */

struct nl {
	struct tap_nl sock;
	uint16_t family;	/* of "xt_tap" */
};

/* Opens the socket and finds the "xt_tap" family; dies if it cannot. */
void tap_open(struct nl *nl);
void nl_close(struct nl *nl);
/* A request of the xt_tap family in buf (NL_REQ_SIZE bytes). */
struct nlmsghdr *tap_msg(struct nl *nl, void *buf, uint8_t cmd, uint16_t flags);
/*
 * Sends nlh and reads replies until the ack or the end of the dump.
 * Returns 0, or a positive errno. The receive buffer is wiped: acks of a
 * failed request may echo it.
 */
int nl_talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);
/* " (kernel: MSG)" when the kernel said why, else "". */
const char *kernel_says(const struct nl *nl);
/* Dies with the message for err, common to all commands. */
void __attribute__((noreturn)) nl_die(const struct nl *nl, int err, const char *what);

#endif /* TAP_KEYTOOL_H */
