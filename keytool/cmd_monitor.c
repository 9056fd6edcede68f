// SPDX-License-Identifier: GPL-2.0
/*
 * tap-keytool monitor: prints the module's audit events (accepted
 * connections, refused tokens) as they come, one line each.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include "keytool.h"
#include "tap_core.h"

enum monitor_format { FMT_HUMAN, FMT_JSON };

struct monitor {
	enum monitor_format fmt;
	bool journal;		/* sd-daemon priority prefix on each line */
};

static void monitor_help(void)
{
	printf("Usage: " PROG " monitor [--json] [--journal]\n"
	       "Print the xt_tap audit events of this network namespace as they\n"
	       "happen, one line each: every connection a tap rule accepted (key id,\n"
	       "source and destination address and port, the rule's window) and\n"
	       "every token it refused, with the reason (key_not_allowed,\n"
	       "unknown_key, stale, bad_mac, replayed, table_full, limited) and the\n"
	       "key id when known. Refusals are reported at most %d per second;\n"
	       "'" PROG " stats' counts the events suppressed and lost. Events hold\n"
	       "no key material. Needs CAP_NET_ADMIN. Runs until interrupted.\n"
	       "\n"
	       "  -j, --json     one JSON object per line\n"
	       "      --journal  prefix each line with its syslog priority for the\n"
	       "                 journal (tap-audit.service)\n"
	       "  -h, --help     show this help\n", TAP_EVENT_REFUSALS_PER_SEC);
}

/* "2026-11-29T01:52:03.123Z" */
static void iso_time(uint64_t ns, char *buf, size_t len)
{
	time_t s = (time_t)(ns / 1000000000u);
	struct tm tm;
	char day[32];

	if (!gmtime_r(&s, &tm) || !strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm))
		snprintf(day, sizeof(day), "%" PRIu64, ns / 1000000000u);
	snprintf(buf, len, "%s.%03uZ", day, (unsigned int)(ns / 1000000u % 1000u));
}

static void print_event(const struct monitor *m, const struct tap_event *ev)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], when[64], key[8] = "-";
	int af = ev->family == 4 ? AF_INET : AF_INET6;
	bool accept = ev->outcome == TAP_STAT_ACCEPTED;
	const char *reason = tap_stat_name(ev->outcome);

	if (!inet_ntop(af, ev->saddr, src, sizeof(src)) ||
	    !inet_ntop(af, ev->daddr, dst, sizeof(dst)))
		return;
	iso_time(ev->time_ns, when, sizeof(when));
	if (ev->have_key)
		snprintf(key, sizeof(key), "%u", ev->key_id);
	if (m->journal)
		fputs(accept ? "<6>" : "<5>", stdout);	/* info, notice */
	if (m->fmt == FMT_JSON) {
		printf("{\"time\":\"%s\",\"time_ns\":%" PRIu64 ",\"event\":\"%s\","
		       "\"reason\":\"%s\",\"key_id\":%s,\"family\":%u,\"src\":\"%s\","
		       "\"sport\":%u,\"dst\":\"%s\",\"dport\":%u,\"window\":%u}\n",
		       when, ev->time_ns, accept ? "accept" : "refuse", reason,
		       ev->have_key ? key : "null", ev->family, src, ev->sport, dst,
		       ev->dport, ev->window);
		return;
	}
	printf("%s %s%s%s key %s ", when, accept ? "accept" : "refuse",
	       accept ? "" : " ", accept ? "" : reason, key);
	if (af == AF_INET6)
		printf("[%s]:%u -> [%s]:%u", src, ev->sport, dst, ev->dport);
	else
		printf("%s:%u -> %s:%u", src, ev->sport, dst, ev->dport);
	printf(" window %us\n", ev->window);
}

static int monitor_cb(const struct nlmsghdr *nlh, void *data)
{
	struct tap_event ev;

	event_msg_cb(nlh, &ev);
	if (ev.valid)
		print_event(data, &ev);
	return MNL_CB_OK;
}

int cmd_monitor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "journal", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct monitor m = { .fmt = FMT_HUMAN };
	struct nl nl;
	uint32_t group;
	ssize_t n;
	int c;

	while ((c = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			m.fmt = FMT_JSON;
			break;
		case 'J':
			m.journal = true;
			break;
		case 'h':
			monitor_help();
			return 0;
		default:
			die_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);

	tap_open(&nl);
	group = tap_events_group(&nl);
	if (!group)
		die("this xt_tap module sends no audit events (too old?)");
	if (mnl_socket_setsockopt(nl.sock.sk, NETLINK_ADD_MEMBERSHIP, &group,
				  sizeof(group)) < 0) {
		if (errno == EPERM || errno == EACCES)
			die("permission denied: receiving xt_tap events needs "
			    "CAP_NET_ADMIN in this network namespace");
		die("cannot subscribe to the xt_tap events: %s", strerror(errno));
	}
	setvbuf(stdout, NULL, _IOLBF, 0);	/* each event when it comes */
	fprintf(m.journal ? stdout : stderr, "%s" PROG
		": receiving the xt_tap events of this network namespace\n",
		m.journal ? "<6>" : "");
	for (;;) {
		n = mnl_socket_recvfrom(nl.sock.sk, nl.sock.buf, nl.sock.buflen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			/* the kernel counts them too (stats: events_dropped) */
			fprintf(m.journal ? stdout : stderr, "%s" PROG
				": events lost: the receive buffer overflowed\n",
				m.journal ? "<4>" : "");
			continue;
		}
		if (n < 0)
			die("cannot receive events: %s", strerror(errno));
		memset(nl.sock.buf + n, 0, MNL_ALIGN((size_t)n) - (size_t)n);
		if (!tap_nl_fits(nl.sock.buf, (size_t)n))
			continue;
		mnl_cb_run(nl.sock.buf, (size_t)n, 0, 0, monitor_cb, &m);
	}
}
