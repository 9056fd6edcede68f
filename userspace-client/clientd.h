/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tap-clientd: the TAP client daemon (tap-clientd(8)). It queues the
 * outgoing SYNs to the configured servers (its own nftables table, NFQUEUE
 * with bypass), sends the auth SYNs of PROTOCOL.md through a raw socket, and
 * releases the real SYN.
 *
 *   tap-clientd.c      command line, main loop, signals, reload
 *   clientd_config.c   the configuration file and the keys it names
 *   clientd_rules.c    the nftables table (libnftnl + libmnl, one batch)
 *   clientd_queue.c    the NFQUEUE (libnetfilter_queue) and per-SYN logic
 *   clientd_reuse.c    whether a retransmission re-sends its token
 *   clientd_packet.c   parsing the real SYN, building and sending auth SYNs
 *   clientd_sys.c      logging, privileges (user, capabilities), sd_notify
 *
 * All protocol math is in xt_tap/tap_core.c; key files are read with
 * lib/tap_keyfile.c (libtap).
 */
#ifndef TAP_CLIENTD_H
#define TAP_CLIENTD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <syslog.h>

#include "tap_core.h"

#define CD_PROG			"tap-clientd"
#define CD_DEFAULT_CONFIG	"/etc/tap/clientd.conf"
#define CD_DEFAULT_USER		"tap-clientd"
#define CD_DEFAULT_QUEUE	5441
#define CD_DEFAULT_MARK		0x54415031u	/* "TAP1" */
#define CD_DEFAULT_PRIORITY	100		/* after filter (0) and security (50) */
#define CD_TABLE		"tap_clientd"
#define CD_CHAIN		"output"
#define CD_MAX_PORTS		32		/* port ranges per server entry */
#define CD_MAX_SERVERS		1024
#define CD_DEFAULT_REUSE	10		/* seconds a token is re-sent */

/* ---- clientd_sys.c ---------------------------------------------------- */

extern int cd_verbosity;	/* 0: notices, warnings, errors; 1: info; 2: debug */

void cd_log_init(bool use_syslog);
void cd_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define cd_err(...)	cd_log(LOG_ERR, __VA_ARGS__)
#define cd_warn(...)	cd_log(LOG_WARNING, __VA_ARGS__)
#define cd_notice(...)	cd_log(LOG_NOTICE, __VA_ARGS__)
#define cd_info(...)	cd_log(LOG_INFO, __VA_ARGS__)
#define cd_debug(...)	cd_log(LOG_DEBUG, __VA_ARGS__)

/*
 * 0, or -1 with a reason in err. cd_caps_check: the capabilities the
 * daemon needs are there. cd_priv_drop: started with any uid 0, switches
 * to user (its uid and group, no supplementary groups; never uid or gid
 * 0); started as another user, stays that user. Either way it keeps
 * CAP_NET_ADMIN and CAP_NET_RAW if net_caps (else nothing), clears the
 * bounding set when allowed and the ambient set, sets no_new_privs, and
 * checks the result.
 */
int cd_caps_check(char *err, size_t errlen);
int cd_priv_drop(const char *user, bool net_caps, char *err, size_t errlen);
void cd_notify(const char *state);	/* sd_notify(3) without libsystemd */

/* ---- clientd_config.c ------------------------------------------------- */

struct cd_portrange {
	uint16_t lo, hi;
};

struct cd_key {
	char *path;
	uint16_t id;
	uint64_t fpr;
	tap_prf_key key;
	tap_prf_key realm;	/* the server's, from the key file */
};

struct cd_server {
	int line;		/* in the config file */
	uint8_t family;		/* 4 or 6 */
	uint8_t prefix;		/* bits */
	struct tap_addr net;	/* host bits cleared */
	struct cd_portrange ports[CD_MAX_PORTS];
	int nports;
	uint8_t bind;		/* TAP_BIND_*: what tokens bind */
	int key;		/* index into cd_config.keys */
	char name[64];		/* ADDRESS[/PREFIX] or host name, as written */
	char addr[46];		/* a host name's address; "" for an address */
};

struct cd_config {
	char *path;
	uint16_t queue;
	uint32_t mark;
	int32_t priority;
	uint32_t reuse_token;	/* seconds; 0: a fresh token every time */
	uint32_t copies;	/* of each auth SYN per send, 1-4 */
	struct cd_server *servers;
	int nservers;
	struct cd_key *keys;
	int nkeys;
	bool has_v4, has_v6;
};

/*
 * Parses path and reads every key file it names. Each problem is logged as
 * "FILE:LINE: ..." at LOG_ERR (and warnings at LOG_WARNING). Returns the
 * number of errors (0: cfg is complete); cfg is always safe to free.
 */
int cd_config_load(const char *path, struct cd_config *cfg);
/*
 * The same for text already open as f (path names it in messages, and
 * relative key file names are relative to its directory); the caller
 * checks who may have written it.
 */
int cd_config_parse(const char *path, FILE *f, struct cd_config *cfg);
void cd_config_free(struct cd_config *cfg);	/* wipes the keys */
const struct cd_server *cd_config_match(const struct cd_config *cfg,
					uint8_t family,
					const struct tap_addr *daddr,
					uint16_t dport);
void cd_config_describe(const struct cd_config *cfg, int prio);

/* ---- clientd_rules.c -------------------------------------------------- */

struct cd_rules;

/* Opens the nftables socket kept for the daemon's life. */
int cd_rules_open(struct cd_rules **out, char *err, size_t errlen);
void cd_rules_close(struct cd_rules *r);
/*
 * Replaces the table "inet tap_clientd" (whatever is there, from a crashed
 * run or the previous config) with the rules for cfg, in one batch.
 */
int cd_rules_install(struct cd_rules *r, const struct cd_config *cfg,
		     char *err, size_t errlen);
/* Deletes the table if it exists, in one batch. */
int cd_rules_remove(struct cd_rules *r, char *err, size_t errlen);

/* ---- clientd_packet.c ------------------------------------------------- */

/* A parsed real SYN, pointing into the queued packet. */
struct cd_syn {
	struct tap_syn syn;	/* addresses, ports, ISN */
	const uint8_t *ip;	/* IP header */
	size_t iphlen;		/* bytes up to the TCP header */
	const uint8_t *tcp;
	size_t tcphlen;		/* TCP header with options */
	uint8_t ttl;		/* TTL or hop limit, for logs */
	uint16_t window;
};

/*
 * An auth SYN's source port stays held this long after the SYN: longer than
 * a conntrack entry of an unanswered SYN lives (120 s) after the last
 * re-send of the token (10 s at most). See cd_random_port.
 */
#define CD_PORT_HOLD_S	150
/* At most this many ports held at once; past it, the oldest is used again. */
#define CD_PORTS_HELD_MAX 4096

struct cd_held_port {
	uint16_t port;
	int fd;
	uint64_t since;		/* monotonic seconds of its last auth SYN */
};

struct cd_sender {
	int fd4, fd6;		/* raw IPPROTO_RAW sockets, -1 if not open */
	uint32_t mark;
	uint16_t port_lo, port_hi;	/* ephemeral range for auth SYN ports */
	struct cd_held_port *held;	/* a ring, oldest at head; NULL until open */
	unsigned int cap, head, nheld;
};

/* 0, or -1 with a reason (the packet is then released untouched). */
int cd_parse_syn(const uint8_t *pkt, size_t len, uint8_t family,
		 struct cd_syn *out, const char **why);
/*
 * Builds one auth SYN from the real one: same headers and options, with
 * seq, source port sport, IP ID ipid (IPv4), a random flow label (IPv6, if
 * the real SYN has one) and new checksums. Returns its length.
 */
size_t cd_build_auth(const struct cd_syn *real, uint32_t seq, uint16_t sport,
		     uint16_t ipid, uint8_t *out, size_t outlen);
int cd_sender_open(struct cd_sender *s, bool v4, bool v6, uint32_t mark,
		   char *err, size_t errlen);
int cd_sender_set_mark(struct cd_sender *s, uint32_t mark, char *err,
		       size_t errlen);
void cd_sender_close(struct cd_sender *s);
/* Sends one packet built by cd_build_auth; oif 0: let routing choose. */
int cd_send(const struct cd_sender *s, const struct cd_syn *real,
	    const uint8_t *pkt, size_t len, uint32_t oif);
/*
 * A fresh random port of the ephemeral range other than avoid, which the
 * sender then holds bound for CD_PORT_HOLD_S, so that the kernel gives it
 * to no real connection meanwhile.
 */
uint16_t cd_random_port(struct cd_sender *s, uint16_t avoid);
/*
 * The first IPv4 or IPv6 address getaddrinfo gives for name: 0, or an
 * EAI_* code (EAI_FAMILY: neither family) that cd_resolve_error explains.
 */
int cd_resolve(const char *name, int ai_flags, uint8_t *family,
	       struct tap_addr *addr);
const char *cd_resolve_error(int r);
void cd_addr_str(uint8_t family, const struct tap_addr *a, char *buf,
		 size_t len);

/* ---- clientd_reuse.c ------------------------------------------------- */

/* The last token sent for a real SYN. */
struct cd_last_token {
	bool valid;
	uint16_t key_id;
	int line;		/* of the server entry */
	uint64_t time;		/* Unix seconds: the token's t */
};

/*
 * Whether the again-th retransmission (0: the first send) of a real SYN,
 * now going out with key_id for the server entry on line, re-sends last
 * (same ports and sequence numbers, next IP IDs) rather than a fresh
 * token: only a retransmission, of a token of the same key and entry, made
 * fewer than reuse_secs seconds ago (0: never).
 */
bool cd_token_reusable(const struct cd_last_token *last, uint32_t again,
		       uint16_t key_id, int line, uint64_t now, uint32_t reuse_secs);

/* ---- clientd_queue.c -------------------------------------------------- */

struct cd_stats {
	uint64_t syns;		/* real SYNs queued */
	uint64_t retransmits;	/* of which retransmissions */
	uint64_t tokens;	/* tokens sent */
	uint64_t resent;	/* tokens re-sent for a retransmission */
	uint64_t auth_sent;	/* auth SYNs sent */
	uint64_t send_errors;
	uint64_t unmatched;	/* queued, but no server entry (released as is) */
	uint64_t bad_packets;
	uint64_t own;		/* our own auth SYNs seen in the queue (never) */
};

struct cd_queue;

int cd_queue_open(struct cd_queue **out, uint16_t num, char *err,
		  size_t errlen);
/*
 * Reload with another queue number: _begin binds the new queue on a new
 * socket (the old one stays bound); after the rules are replaced, _end
 * releases what is still queued on the old one and closes it (commit), or
 * closes the new one (no commit).
 */
int cd_queue_rebind_begin(struct cd_queue *q, uint16_t num, char *err,
			  size_t errlen);
void cd_queue_rebind_end(struct cd_queue *q, const struct cd_config *cfg,
			 struct cd_sender *snd, bool commit);
void cd_queue_close(struct cd_queue *q);
int cd_queue_fd(const struct cd_queue *q);
uint16_t cd_queue_num(const struct cd_queue *q);
/*
 * Reads and handles what is waiting. 0, or -1 with a reason on a fatal
 * socket error.
 */
int cd_queue_process(struct cd_queue *q, const struct cd_config *cfg,
		     struct cd_sender *snd, char *err, size_t errlen);
const struct cd_stats *cd_queue_stats(const struct cd_queue *q);
/* Forgets the tokens sent so far (the keys may have changed). */
void cd_queue_forget(struct cd_queue *q);

/* ---- clientd_probe.c ------------------------------------------------ */

/* tap-clientd --probe's exit status (also 1: error, 2: usage error). */
#define CD_PROBE_OK		0	/* token accepted: path and clock fine */
#define CD_PROBE_SKEW		3	/* accepted only with a time offset */
#define CD_PROBE_NEVER		4	/* no token accepted */
#define CD_PROBE_UNPROTECTED	5	/* the port answers without a token */

/* Probes HOST PORT with the key of the entry that covers it; the status. */
int cd_probe(const struct cd_config *cfg, const char *host, const char *port);

#endif /* TAP_CLIENTD_H */
