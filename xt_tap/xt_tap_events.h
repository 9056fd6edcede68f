/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Audit events (xt_tap_events.c): the match reports each accepted
 * connection and, within a budget, each refused token to the "events"
 * multicast group of the xt_tap generic netlink family.
 */
#ifndef _XT_TAP_EVENTS_H
#define _XT_TAP_EVENTS_H

#include <linux/percpu.h>
#include <net/net_namespace.h>

#include "xt_tap_internal.h"

/* xt_tap_ops, with a key_event that also notes the key id for the event */
extern struct tap_ops xt_tap_ev_ops;

/* The key id the core reported for each outcome of the current SYN. */
struct xt_tap_ev_keys {
	u16 seen;			/* bit per TAP_STAT_* */
	u16 key[__TAP_STAT_MAX];
};
DECLARE_PER_CPU(struct xt_tap_ev_keys, xt_tap_ev_keys);

/* Before tap_process_syn(): forget the last SYN's key ids. */
static inline void xt_tap_ev_begin(void)
{
	this_cpu_write(xt_tap_ev_keys.seen, 0);
}

/* Outcomes that make an event: accepts and refused tokens. */
static inline bool xt_tap_ev_outcome(unsigned int stat)
{
	return stat < __TAP_STAT_MAX && stat != TAP_STAT_INCOMPLETE &&
	       stat != TAP_STAT_RETRANSMIT && stat != TAP_STAT_EVICTED &&
	       stat != TAP_STAT_TRUNCATED;
}

void xt_tap_ev_report(struct net *net, const struct tap_syn *syn, u16 window,
		      unsigned int stat);
int xt_tap_ev_put_stats(struct sk_buff *skb, struct net *net);
int xt_tap_ev_register(void);
void xt_tap_ev_unregister(void);

/* xt_tap_genl.c: the family's "events" group */
bool xt_tap_genl_has_listeners(struct net *net);
void *xt_tap_genl_event_put(struct sk_buff *skb);
int xt_tap_genl_event_send(struct net *net, struct sk_buff *skb);

#endif /* _XT_TAP_EVENTS_H */
