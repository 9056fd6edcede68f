/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * TAP (TCP layer Application Protector): interface shared by the kernel
 * match, the xtables plugin, tap-nft and tap-keytool.
 */
#ifndef _XT_TAP_H
#define _XT_TAP_H

#include <linux/types.h>

#define XT_TAP_F_NO_DST_BIND	0x0001	/* leave daddr out of the MAC */
#define XT_TAP_F_SRC_BIND	0x0002	/* put saddr in the MAC (no NAT) */
#define XT_TAP_F_DROP_INVALID	0x0004	/* drop SYNs without a valid token */
#define XT_TAP_F_ALL		0x0007

#define TAP_PROTOCOL_VERSION	2	/* docs/PROTOCOL.md */

#define XT_TAP_WINDOW_DEFAULT	30	/* seconds */
#define XT_TAP_WINDOW_MAX	3600

struct xt_tap_state;

struct xt_tap_mtinfo {
	__u16 key_id_min;
	__u16 key_id_max;
	__u16 window;		/* seconds, 1..XT_TAP_WINDOW_MAX */
	__u16 flags;		/* XT_TAP_F_* */

	/* kernel-private, never copied to userspace (.usersize) */
	struct xt_tap_state *state __attribute__((aligned(8)));
};

/* Generic netlink family for the per-netns key table and counters. */
#define TAP_GENL_NAME		"xt_tap"
#define TAP_GENL_VERSION	1
#define TAP_KEY_LEN		16

enum tap_genl_cmd {
	TAP_CMD_UNSPEC,
	TAP_CMD_KEY_ADD,	/* KEY_ID, KEY_SECRET, KEY_REALM; NLM_F_REPLACE */
	TAP_CMD_KEY_DEL,	/* KEY_ID */
	TAP_CMD_KEY_FLUSH,
	TAP_CMD_KEY_GET,	/* dump: KEY_ID, KEY_FPR, KEY_STATS */
	TAP_CMD_STATS_GET,	/* STATS, TABLES, REALM_FPR if a realm is set */
	__TAP_CMD_MAX,
};
#define TAP_CMD_MAX (__TAP_CMD_MAX - 1)

enum tap_genl_attr {
	TAP_A_UNSPEC,
	TAP_A_KEY_ID,		/* u16 */
	TAP_A_KEY_SECRET,	/* binary, TAP_KEY_LEN; write-only */
	TAP_A_KEY_FPR,		/* u64 fingerprint, see PROTOCOL.md */
	TAP_A_KEY_STATS,	/* nested: TAP_STAT_* + 1 -> u64 */
	TAP_A_STATS,		/* nested: TAP_STAT_* + 1 -> u64 */
	TAP_A_TABLES,		/* nested: TAP_TBL_A_* */
	TAP_A_PAD,
	TAP_A_KEY_REALM,	/* binary, TAP_KEY_LEN; write-only; KEY_ADD */
	TAP_A_REALM_FPR,	/* u64 fingerprint of the netns's realm */
	TAP_A_KEY_RATE,		/* u32 new connections/s, 0: no limit */
	__TAP_A_MAX,
};
#define TAP_A_MAX (__TAP_A_MAX - 1)

enum tap_tables_attr {
	TAP_TBL_A_UNSPEC,
	TAP_TBL_A_RULES,		/* u32: tap rules in this netns */
	TAP_TBL_A_PENDING_SLOTS,	/* u32 */
	TAP_TBL_A_AUTHORIZED_SLOTS,	/* u32 */
	TAP_TBL_A_REPLAY_SLOTS,		/* u32 */
	TAP_TBL_A_BYTES,		/* u64: memory held by the tables */
	TAP_TBL_A_KEYS,			/* u32: keys loaded */
	TAP_TBL_A_PAD,
	TAP_TBL_A_REPLAY_LIVE,		/* u64: live replay cache entries */
	TAP_TBL_A_REPLAY_RATE,		/* u64: rated new connections/s */
	TAP_TBL_A_WINDOW_MAX,		/* u32: largest --window of the rules */
	__TAP_TBL_A_MAX,
};
#define TAP_TBL_A_MAX (__TAP_TBL_A_MAX - 1)

/*
 * Outcome of one SYN through one tap rule. Each has a per-netns counter;
 * the first two mean "match".
 */
enum tap_stat {
	TAP_STAT_ACCEPTED,		/* token verified, real SYN let in */
	TAP_STAT_RETRANSMIT,		/* retransmission of an accepted SYN */
	TAP_STAT_INCOMPLETE,		/* no complete token for this SYN */
	TAP_STAT_KEY_NOT_ALLOWED,	/* key id outside the rule's range */
	TAP_STAT_UNKNOWN_KEY,		/* key id not loaded */
	TAP_STAT_STALE,			/* timestamp outside the window */
	TAP_STAT_BAD_MAC,
	TAP_STAT_REPLAYED,
	TAP_STAT_TABLE_FULL,		/* replay cache bucket full: fail closed */
	TAP_STAT_EVICTED,		/* live pending entry pushed out */
	TAP_STAT_TRUNCATED,		/* TCP header incomplete: dropped */
	TAP_STAT_LIMITED,		/* valid, but over its key's limit */
	__TAP_STAT_MAX,
};
#define TAP_STAT_MAX (__TAP_STAT_MAX - 1)

#endif /* _XT_TAP_H */
