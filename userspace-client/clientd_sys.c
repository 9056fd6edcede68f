// SPDX-License-Identifier: GPL-2.0
/*
 * tap-clientd: logging (stderr, the journal's stderr, or syslog),
 * privileges (its own user and two capabilities, with libcap-ng) and
 * sd_notify.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cap-ng.h>

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

/* ---- privileges --------------------------------------------------------- */

static bool has_root_id(void)
{
	uid_t r, e, s;

	return getresuid(&r, &e, &s) < 0 || r == 0 || e == 0 || s == 0;
}

int cd_caps_check(char *err, size_t errlen)
{
	if (capng_get_caps_process() < 0) {
		snprintf(err, errlen, "reading the capabilities: %s", strerror(errno));
		return -1;
	}
	if (!capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN) ||
	    !capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_RAW)) {
		snprintf(err, errlen,
			 "missing capabilities: tap-clientd needs CAP_NET_ADMIN (nftables, "
			 "NFQUEUE) and CAP_NET_RAW (raw sockets); run it as root");
		return -1;
	}
	if (has_root_id() && (!capng_have_capability(CAPNG_EFFECTIVE, CAP_SETUID) ||
			      !capng_have_capability(CAPNG_EFFECTIVE, CAP_SETGID))) {
		snprintf(err, errlen,
			 "missing capabilities: started as root, tap-clientd needs CAP_SETUID and "
			 "CAP_SETGID to switch to its own user");
		return -1;
	}
	return 0;
}

/* Fails closed: any uid or gid 0 left, or any capability but the two. */
static int verify(bool net_caps, char *err, size_t errlen)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	unsigned int cap;

	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 ||
	    !ru || !eu || !su || !rg || !eg || !sg) {
		snprintf(err, errlen, "still uid or gid 0 after the switch");
		return -1;
	}
	if (capng_get_caps_process() < 0) {
		snprintf(err, errlen, "reading the capabilities: %s", strerror(errno));
		return -1;
	}
	for (cap = 0; cap < 64; cap++) {
		bool keep = net_caps && (cap == CAP_NET_ADMIN || cap == CAP_NET_RAW);

		if (capng_have_capability(CAPNG_EFFECTIVE, cap) != keep ||
		    capng_have_capability(CAPNG_PERMITTED, cap) != keep ||
		    capng_have_capability(CAPNG_INHERITABLE, cap)) {
			snprintf(err, errlen, "capability %s still %s after the drop",
				 capng_capability_to_name(cap) ? capng_capability_to_name(cap) : "?",
				 keep ? "missing" : "held");
			return -1;
		}
	}
	return 0;
}

int cd_priv_drop(const char *user, bool net_caps, char *err, size_t errlen)
{
	const struct passwd *pw;
	bool setpcap;
	int rc;

	if (capng_get_caps_process() < 0) {
		snprintf(err, errlen, "reading the capabilities: %s", strerror(errno));
		return -1;
	}
	/* the bounding set can only be cleared with CAP_SETPCAP */
	setpcap = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	capng_clear(CAPNG_SELECT_ALL);
	if (net_caps)
		capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_ADMIN,
			      CAP_NET_RAW, -1);
	if (has_root_id()) {
		pw = getpwnam(user);
		if (!pw) {
			snprintf(err, errlen,
				 "user %s does not exist; tap-clientd does not run as root: create "
				 "the user with \"adduser --system --group --no-create-home %s\", or "
				 "name another one with --user", user, user);
			return -1;
		}
		if (pw->pw_uid == 0 || pw->pw_gid == 0) {
			snprintf(err, errlen, "user %s has uid %u, gid %u: tap-clientd must not keep "
				 "root's uid or group; name an unprivileged user with --user", user,
				 (unsigned int)pw->pw_uid, (unsigned int)pw->pw_gid);
			return -1;
		}
		rc = capng_change_id((int)pw->pw_uid, (int)pw->pw_gid,
				     CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_AMBIENT |
				     (setpcap ? CAPNG_CLEAR_BOUNDING : 0));
		if (rc < 0) {
			snprintf(err, errlen, "switching to user %s (uid %u) failed: libcap-ng "
				 "capng_change_id error %d (see capng_change_id(3))", user,
				 (unsigned int)pw->pw_uid, rc);
			return -1;
		}
	} else if (capng_apply(setpcap ? CAPNG_SELECT_ALL : CAPNG_SELECT_CAPS) < 0) {
		snprintf(err, errlen, "dropping capabilities: %s", strerror(errno));
		return -1;
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	return verify(net_caps, err, errlen);
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
