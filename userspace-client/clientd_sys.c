// SPDX-License-Identifier: GPL-2.0
/*
 * tap-clientd: logging (stderr, the journal's stderr, or syslog),
 * capabilities (raw capget/capset, no libcap) and sd_notify.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/capability.h>

#include "clientd.h"

int cd_verbosity;
static bool log_syslog;
static bool log_journal;	/* stderr is the journal: "<N>" prefixes */

void cd_log_init(bool use_syslog)
{
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(CD_PROG, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else
		log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void cd_log(int prio, const char *fmt, ...)
{
	static const char *const level[] = {
		[LOG_EMERG] = "error: ", [LOG_ALERT] = "error: ",
		[LOG_CRIT] = "error: ", [LOG_ERR] = "error: ",
		[LOG_WARNING] = "warning: ", [LOG_NOTICE] = "",
		[LOG_INFO] = "", [LOG_DEBUG] = "debug: ",
	};
	char msg[1024];
	va_list ap;

	if ((prio == LOG_INFO && cd_verbosity < 1) ||
	    (prio == LOG_DEBUG && cd_verbosity < 2))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_syslog)
		syslog(prio, "%s", msg);
	else if (log_journal)
		fprintf(stderr, "<%d>%s\n", prio, msg);
	else
		fprintf(stderr, CD_PROG ": %s%s\n", level[prio & 7], msg);
}

/* ---- capabilities ------------------------------------------------------ */

#define CD_CAPS	((1u << CAP_NET_ADMIN) | (1u << CAP_NET_RAW))

static int capget_now(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	return (int)syscall(SYS_capget, &h, d);
}

int cd_caps_check(char *err, size_t errlen)
{
	struct __user_cap_data_struct d[2];

	if (capget_now(d) < 0) {
		snprintf(err, errlen, "capget: %s", strerror(errno));
		return -1;
	}
	if ((d[0].effective & CD_CAPS) != CD_CAPS) {
		snprintf(err, errlen,
			 "missing capabilities: tap-clientd needs CAP_NET_ADMIN (nftables, "
			 "NFQUEUE) and CAP_NET_RAW (raw sockets); run it as root");
		return -1;
	}
	return 0;
}

/*
 * Keeps CAP_NET_ADMIN and CAP_NET_RAW (effective and permitted), drops the
 * rest, the bounding set (when allowed) and the ambient set, and sets
 * no_new_privs, so that nothing can regain a capability.
 */
int cd_caps_drop(char *err, size_t errlen)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];
	int last = CAP_LAST_CAP, cap;
	FILE *f;

	f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	if (f) {
		if (fscanf(f, "%d", &last) != 1 || last < 0 || last > 63)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	if (capget_now(d) < 0) {
		snprintf(err, errlen, "capget: %s", strerror(errno));
		return -1;
	}
	/* Needs CAP_SETPCAP; without it (systemd already bounded us) skip. */
	if (d[0].effective & (1u << CAP_SETPCAP)) {
		for (cap = 0; cap <= last; cap++) {
			if (cap == CAP_NET_ADMIN || cap == CAP_NET_RAW)
				continue;
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
				snprintf(err, errlen, "dropping capability %d from the bounding set: %s",
					 cap, strerror(errno));
				return -1;
			}
		}
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	memset(d, 0, sizeof(d));
	d[0].effective = d[0].permitted = CD_CAPS;
	if (syscall(SYS_capset, &h, d) < 0) {
		snprintf(err, errlen, "capset: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- sd_notify ------------------------------------------------------------- */

void cd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t salen;
	size_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		   (struct sockaddr *)&sa, salen) < 0)
		cd_debug("sd_notify: %s", strerror(errno));
	close(fd);
}
