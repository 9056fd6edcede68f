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

#include <stdbool.h>
#include <stdint.h>

#include "tap_nl.h"
#include "xt_tap.h"

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

/* The replies of the xt_tap family, parsed by keytool_nl.c. */
struct key_row {
	uint16_t id;
	bool have_fpr, have_rate;
	uint64_t fpr;
	uint32_t rate;
	bool have[__TAP_STAT_MAX];
	uint64_t stat[__TAP_STAT_MAX];
	/* the last accept: Unix time and source (4 or 16 bytes), if any */
	bool have_last;
	uint64_t last_time;
	uint8_t last_saddr[16];
	int last_family;	/* AF_INET or AF_INET6 */
	/* a rotation in its grace: seconds left, the retiring key */
	bool rotating;
	uint32_t grace_left;
	uint64_t prev_fpr;
	uint64_t prev_accepts;
};

struct key_list {
	struct key_row *rows;
	size_t n, cap;
};

struct stat_set {
	bool have[__TAP_STAT_MAX];
	uint64_t val[__TAP_STAT_MAX];
};

struct stats_reply {
	bool got;
	struct stat_set stats;
	bool have_tbl[TAP_TBL_A_MAX + 1];
	uint64_t tbl[TAP_TBL_A_MAX + 1];
	bool have_realm;
	uint64_t realm_fpr;
	bool have_ev[TAP_EVS_A_MAX + 1];	/* TAP_A_EVENT_STATS */
	uint64_t ev[TAP_EVS_A_MAX + 1];
};

/*
 * mnl callbacks of the replies: one key of a TAP_CMD_KEY_GET dump, appended
 * to a struct key_list (dies if out of memory); the TAP_CMD_STATS_GET reply
 * into a struct stats_reply; the controller's answer to CTRL_CMD_GETFAMILY,
 * the family id into a uint16_t. Malformed attributes are left out.
 */
int key_msg_cb(const struct nlmsghdr *nlh, void *data);
int stats_msg_cb(const struct nlmsghdr *nlh, void *data);
int family_msg_cb(const struct nlmsghdr *nlh, void *data);

/* ---- audit events (keytool_nl.c, cmd_monitor.c) ---- */

/* One TAP_CMD_EVENT; valid only if every field but the key id came. */
struct tap_event {
	bool valid, have_key;
	uint32_t outcome;	/* TAP_STAT_* */
	uint16_t key_id;
	uint8_t family;		/* 4 or 6 */
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;
	uint32_t window;
	uint64_t time_ns;
};

/*
 * mnl callbacks: the id of the family's "events" multicast group from the
 * controller's answer to CTRL_CMD_GETFAMILY (a uint32_t, left alone if
 * there is none); one TAP_CMD_EVENT into a struct tap_event.
 */
int events_group_msg_cb(const struct nlmsghdr *nlh, void *data);
int event_msg_cb(const struct nlmsghdr *nlh, void *data);
/* The "events" group of the xt_tap family (0: the module has none). */
uint32_t tap_events_group(struct nl *nl);

int cmd_monitor(int argc, char **argv);

/* ---- cmd_export.c ---- */

int cmd_export(int argc, char **argv);

#endif /* TAP_KEYTOOL_H */
