/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * TAP (TCP layer Application Protector): interface shared by the kernel
 * match, the xtables plugin, tap-nft and tap-keytool.
 *
 * This file is ABI, append-only: rules in saved rulesets (iptables-save,
 * nft list ruleset) carry struct xt_tap_mtinfo, and tools talk to modules
 * of other versions over the netlink family below. Never renumber, reuse,
 * resize or remove a flag, command, attribute, table attribute or counter;
 * add new ones at the end of their enum (before the __*_MAX sentinel),
 * and give a changed meaning a new name.
 */
#ifndef _XT_TAP_H
#define _XT_TAP_H

#include <linux/types.h>

#define XT_TAP_F_NO_DST_BIND	0x0001	/* leave daddr out of the MAC */
#define XT_TAP_F_SRC_BIND	0x0002	/* put saddr in the MAC (no NAT) */
#define XT_TAP_F_DROP_INVALID	0x0004	/* drop SYNs without a valid token */
#define XT_TAP_F_ALL		0x0007

#define TAP_PROTOCOL_VERSION	3	/* docs/PROTOCOL.md */

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

/*
 * Generic netlink family for the per-netns key table and counters
 * ---------------------------------------------------------------
 *
 * Family name TAP_GENL_NAME ("xt_tap"), version TAP_GENL_VERSION; resolve
 * the family id with CTRL_CMD_GETFAMILY. Every command acts on the
 * requester's network namespace and needs CAP_NET_ADMIN over it
 * (GENL_UNS_ADMIN_PERM), dumps included: key ids and their use are not
 * public. Attributes are validated strictly; unknown ones are refused.
 * Errors come back as a negative errno in the netlink ack, most with an
 * extended-ack message (NETLINK_EXT_ACK) naming the problem.
 *
 * Secrets go in and never come out: TAP_A_KEY_SECRET and TAP_A_KEY_REALM
 * are write-only, the kernel wipes them from the request after use, and a
 * client should set NETLINK_CAP_ACK so that an error ack does not echo
 * them. Keys are named by id and shown by fingerprint (docs/PROTOCOL.md).
 *
 * TAP_CMD_KEY_ADD
 *   Loads one key. Takes TAP_A_KEY_ID, TAP_A_KEY_SECRET, TAP_A_KEY_REALM
 *   (all required) and TAP_A_KEY_RATE (optional; default: the module
 *   parameter key_rate). With NLM_F_REPLACE an existing key of that id is
 *   replaced (connections it let in lapse); without it that is EEXIST.
 *   ENOSPC: the table holds max_keys keys already. EINVAL: an attribute
 *   is missing, or the realm differs from that of the keys already loaded
 *   (all keys of a netns share one realm; the first key sets it).
 *   Rotation: with NLM_F_REPLACE and TAP_A_KEY_GRACE (u32 seconds, 1 to
 *   TAP_KEY_GRACE_MAX) the loaded key of that id gets the new secret and
 *   its current one stays valid for GRACE seconds more (the retiring key),
 *   then the kernel drops it; counters, admission limit and rate carry on
 *   (TAP_A_KEY_RATE is refused). The realm must be the loaded one. ENOENT:
 *   no key of that id; EBUSY: its last rotation's grace still runs.
 *
 * TAP_CMD_KEY_DEL
 *   Removes the key TAP_A_KEY_ID (required). ENOENT if there is none.
 *
 * TAP_CMD_KEY_FLUSH
 *   Removes every key (and so the realm). No attributes.
 *
 * TAP_CMD_KEY_GET
 *   With NLM_F_DUMP: one message per key, in id order. Without: the key
 *   TAP_A_KEY_ID (required; ENOENT if none). Each reply has TAP_A_KEY_ID,
 *   TAP_A_KEY_FPR, TAP_A_KEY_RATE and TAP_A_KEY_STATS; once the key let a
 *   connection in, TAP_A_KEY_LAST_TIME and TAP_A_KEY_LAST_SADDR; during a
 *   rotation's grace, TAP_A_KEY_GRACE (seconds left, rounded up),
 *   TAP_A_KEY_PREV_FPR and TAP_A_KEY_PREV_ACCEPTS (its accepts since the
 *   rotation, which TAP_A_KEY_STATS counts too).
 *
 * TAP_CMD_STATS_GET
 *   The netns's counters and tables. No attributes. The reply has
 *   TAP_A_STATS, TAP_A_TABLES and, when a key is loaded, TAP_A_REALM_FPR.
 *
 * Audit events (multicast group TAP_GENL_MCGRP_EVENTS, "events")
 *   Each message is TAP_CMD_EVENT with one nested TAP_A_EVENT
 *   (TAP_EV_A_*): a connection a tap rule accepted (TAP_EV_A_OUTCOME
 *   TAP_STAT_ACCEPTED), or a token it refused (the reason: key_not_allowed,
 *   unknown_key, stale, bad_mac, replayed, table_full or limited). SYNs
 *   without a complete token (incomplete), retransmissions and truncated
 *   headers send none. Refusals are sent at most TAP_EVENT_REFUSALS_PER_SEC
 *   per netns and wall-clock second; the rest are suppressed. Events are
 *   built only while a socket listens (in any netns: the kernel's check is
 *   host-wide, so suppressed also counts while only another netns
 *   listens), never block the packet path, and are lost (counted) when
 *   they cannot be sent at once. Subscribing needs
 *   CAP_NET_ADMIN over the netns (GENL_MCAST_CAP_NET_ADMIN). No event holds
 *   a secret. STATS_GET's TAP_A_EVENT_STATS counts sent, suppressed and
 *   dropped events.
 *
 * Nested counters (TAP_A_STATS, TAP_A_KEY_STATS) hold one u64 attribute
 * per outcome, of type enum tap_stat + 1; a type above every outcome may
 * appear as padding and is to be skipped, as is any type a client does
 * not know (a newer module's outcome).
 */
#define TAP_GENL_NAME		"xt_tap"
#define TAP_GENL_VERSION	1
#define TAP_KEY_LEN		16
#define TAP_KEY_GRACE_MAX	2592000	/* s: 30 days */

/* Commands, described above. */
enum tap_genl_cmd {
	TAP_CMD_UNSPEC,
	TAP_CMD_KEY_ADD,	/* KEY_ID, KEY_SECRET, KEY_REALM; NLM_F_REPLACE */
	TAP_CMD_KEY_DEL,	/* KEY_ID */
	TAP_CMD_KEY_FLUSH,
	TAP_CMD_KEY_GET,	/* dump: KEY_ID, KEY_FPR, KEY_STATS */
	TAP_CMD_STATS_GET,	/* STATS, TABLES, REALM_FPR if a realm is set */
	TAP_CMD_EVENT,		/* multicast only: EVENT */
	__TAP_CMD_MAX,
};
#define TAP_CMD_MAX (__TAP_CMD_MAX - 1)

/* Top-level attributes of requests and replies. */
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
	TAP_A_EVENT,		/* nested: TAP_EV_A_*; TAP_CMD_EVENT */
	TAP_A_EVENT_STATS,	/* nested: TAP_EVS_A_*; STATS_GET */
	/* per-key state and rotation (issue 14) */
	TAP_A_KEY_LAST_TIME,	/* u64 Unix s of the key's last accept */
	TAP_A_KEY_LAST_SADDR,	/* binary, 4 or 16: that SYN's source */
	TAP_A_KEY_GRACE,	/* u32 s: KEY_ADD rotates; dumps: grace left */
	TAP_A_KEY_PREV_FPR,	/* u64 fingerprint of the retiring key */
	TAP_A_KEY_PREV_ACCEPTS,	/* u64 accepts by the retiring key */
	__TAP_A_MAX,
};
#define TAP_A_MAX (__TAP_A_MAX - 1)

/* Inside TAP_A_TABLES: the sizes of the netns's tables. */
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

#define TAP_GENL_MCGRP_EVENTS		"events"
#define TAP_EVENT_REFUSALS_PER_SEC	10	/* per netns */

/* Inside TAP_A_EVENT: one accepted connection or refused token. */
enum tap_event_attr {
	TAP_EV_A_UNSPEC,
	TAP_EV_A_OUTCOME,	/* u32: TAP_STAT_* */
	TAP_EV_A_KEY_ID,	/* u16: the token's key id, when known */
	TAP_EV_A_FAMILY,	/* u8: 4 or 6 */
	TAP_EV_A_SADDR,		/* binary: 4 or 16 bytes, network order */
	TAP_EV_A_DADDR,		/* binary: 4 or 16 bytes, network order */
	TAP_EV_A_SPORT,		/* u16, host order */
	TAP_EV_A_DPORT,		/* u16, host order */
	TAP_EV_A_WINDOW,	/* u32: the rule's --window, seconds */
	TAP_EV_A_TIME_NS,	/* u64: CLOCK_REALTIME, ns */
	TAP_EV_A_PAD,
	__TAP_EV_A_MAX,
};
#define TAP_EV_A_MAX (__TAP_EV_A_MAX - 1)

/* Inside TAP_A_EVENT_STATS: the netns's audit event counters (u64). */
enum tap_event_stats_attr {
	TAP_EVS_A_UNSPEC,
	TAP_EVS_A_SENT,		/* delivered to at least one listener */
	TAP_EVS_A_SUPPRESSED,	/* refusals over the per-second budget */
	TAP_EVS_A_DROPPED,	/* no memory, or a listener's buffer full */
	TAP_EVS_A_PAD,
	__TAP_EVS_A_MAX,
};
#define TAP_EVS_A_MAX (__TAP_EVS_A_MAX - 1)

/*
 * Outcome of one SYN through one tap rule. Each has a per-netns counter
 * and a per-key one (attribute type: the value + 1); the first two mean
 * "match". Append-only like the rest: the value is the attribute type.
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
