// SPDX-License-Identifier: GPL-2.0
/*
 * tap-clientd: the TAP client daemon. See tap-clientd(8) and clientd.h.
 *
 * Start-up first becomes the daemon's own user with only CAP_NET_ADMIN and
 * CAP_NET_RAW (clientd_sys.c), so that the files are read at start as they
 * are on SIGHUP. Then it does everything that can fail before it changes
 * anything: the config and every key file are read and checked, the raw
 * sockets are opened and the queue is bound, and only then is the
 * interception table installed (one batch). A failure at any step undoes
 * the steps before it, so nothing is ever left half set up.
 *
 * Exit status: 0 after SIGTERM/SIGINT or a good --check-config, 1 on an
 * error, 2 on a usage error; --probe: CD_PROBE_* (clientd.h).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <sodium.h>

#include "clientd.h"

struct daemon {
	struct cd_config cfg;
	struct cd_sender snd;
	struct cd_rules *rules;
	struct cd_queue *queue;
	const char *config_path;
	int sigfd;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " CD_PROG " [OPTIONS]\n"
		"Sends the TAP auth SYNs for every outgoing connection to the servers in\n"
		"the configuration file, so that unmodified applications can connect to\n"
		"TAP-protected ports.\n"
		"\n"
		"  -c, --config FILE    configuration file (default " CD_DEFAULT_CONFIG ")\n"
		"  -t, --check-config   check the configuration and its key files, then exit;\n"
		"                       starts nothing and changes nothing\n"
		"  -u, --user NAME      the user to run as when started as root\n"
		"                       (default " CD_DEFAULT_USER "); the files are read\n"
		"                       as that user, at start and on SIGHUP\n"
		"  -p, --probe HOST PORT  test whether a token from here reaches HOST PORT\n"
		"                       intact and the clocks agree, with the key of the\n"
		"                       configuration; changes nothing (exit status below)\n"
		"  -v, --verbose        log more: -v each SYN, -vv debug details\n"
		"  -s, --syslog         log to syslog (default: standard error)\n"
		"  -h, --help           this help\n"
		"  -V, --version        the version\n"
		"\n"
		"Signals: SIGHUP reloads the configuration (the interception stays in place),\n"
		"SIGUSR1 logs counters, SIGTERM or SIGINT removes the rules and exits.\n"
		"Exit status: 0 success, 1 error, 2 usage error; --probe: 0 token accepted,\n"
		"3 accepted only with a clock offset (skew), 4 never accepted, 5 the port\n"
		"answers without a token. See tap-clientd(8).\n");
}

static void log_stats(const struct daemon *d, int prio)
{
	const struct cd_stats *st = cd_queue_stats(d->queue);

	cd_log(prio, "counters: %llu SYNs (%llu retransmissions), %llu tokens (%llu re-sent), "
	       "%llu auth SYNs, %llu send errors, %llu unmatched, %llu bad packets",
	       (unsigned long long)st->syns, (unsigned long long)st->retransmits,
	       (unsigned long long)st->tokens, (unsigned long long)st->resent,
	       (unsigned long long)st->auth_sent,
	       (unsigned long long)st->send_errors, (unsigned long long)st->unmatched,
	       (unsigned long long)st->bad_packets);
}

static void reload(struct daemon *d)
{
	struct cd_config nc;
	char err[512];
	bool rebind;
	int errors;

	cd_notify("RELOADING=1");
	cd_notice("SIGHUP: reloading %s", d->config_path);
	errors = cd_config_load(d->config_path, &nc);
	if (errors) {
		cd_err("reload: %d error%s in the configuration; keeping the current one",
		       errors, errors == 1 ? "" : "s");
		goto out_free;
	}
	if (cd_sender_open(&d->snd, nc.has_v4, nc.has_v6, d->snd.mark, err, sizeof(err)) < 0) {
		cd_err("reload: %s; keeping the current configuration", err);
		goto out_free;
	}
	rebind = nc.queue != cd_queue_num(d->queue);
	if (rebind && cd_queue_rebind_begin(d->queue, nc.queue, err, sizeof(err)) < 0) {
		cd_err("reload: %s; keeping the current configuration", err);
		goto out_free;
	}
	if (cd_rules_install(d->rules, &nc, err, sizeof(err)) < 0) {
		cd_err("reload: %s; keeping the current configuration and rules", err);
		if (rebind)
			cd_queue_rebind_end(d->queue, NULL, NULL, false);
		goto out_free;
	}
	/* the new rules skip the new mark; nothing was sent in between */
	if (cd_sender_set_mark(&d->snd, nc.mark, err, sizeof(err)) < 0)
		cd_err("reload: %s", err);
	if (rebind)
		cd_queue_rebind_end(d->queue, &nc, &d->snd, true);
	cd_config_free(&d->cfg);
	d->cfg = nc;
	cd_queue_forget(d->queue);
	cd_config_describe(&d->cfg, LOG_INFO);
	cd_notice("reloaded: %d server entr%s", d->cfg.nservers,
		  d->cfg.nservers == 1 ? "y" : "ies");
	cd_notify("READY=1");
	return;
out_free:
	cd_config_free(&nc);
	cd_notify("READY=1");
}

static int setup_signals(struct daemon *d)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return d->sigfd < 0 ? -1 : 0;
}

/* 0 on SIGTERM/SIGINT, 1 on a fatal error. */
static int run(struct daemon *d)
{
	struct pollfd pfd[2] = {
		{ .fd = -1, .events = POLLIN },
		{ .fd = d->sigfd, .events = POLLIN },
	};
	struct signalfd_siginfo si;
	char err[512];

	for (;;) {
		pfd[0].fd = cd_queue_fd(d->queue);
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			cd_err("poll: %s", strerror(errno));
			return 1;
		}
		if (pfd[0].revents &&
		    cd_queue_process(d->queue, &d->cfg, &d->snd, err, sizeof(err)) < 0) {
			cd_err("%s", err);
			return 1;
		}
		while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
			switch (si.ssi_signo) {
			case SIGHUP:
				reload(d);
				break;
			case SIGUSR1:
				log_stats(d, LOG_NOTICE);
				break;
			default:
				cd_notice("%s: stopping", strsignal((int)si.ssi_signo));
				return 0;
			}
		}
	}
}

struct args {
	bool check, use_syslog, probe;
	const char *probe_host, *probe_port;
	const char *user;
};

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, CD_PROG ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '" CD_PROG " --help'.\n");
	return 2;
}

/* The command line; -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct daemon *d, struct args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "syslog", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "probe", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:tu:vshVp", opts, NULL)) != -1) {
		switch (c) {
		case 'c': d->config_path = optarg; break;
		case 't': a->check = true; break;
		case 'p': a->probe = true; break;
		case 'u': a->user = optarg; break;
		case 'v': cd_verbosity++; break;
		case 's': a->use_syslog = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf(CD_PROG " " TAP_VERSION "\n"); return 0;
		case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
		default: return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (!*d->config_path)
		return usage_error("the configuration file name is empty%s", "");
	if (a->probe) {
		if (a->check)
			return usage_error("--probe and --check-config exclude each other%s", "");
		if (argc - optind < 2)
			return usage_error("--probe needs HOST PORT%s", "");
		a->probe_host = argv[optind++];
		a->probe_port = argv[optind++];
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return -1;
}

/*
 * Becomes the daemon's user. The files are read as that user, at start as
 * on SIGHUP; so is --check-config, which keeps no capability. 0 or -1.
 */
static int become_user(const struct args *a, char *uname, size_t len)
{
	const struct passwd *pw;
	char err[512];

	if (!a->check && cd_caps_check(err, sizeof(err)) < 0) {
		cd_err("%s", err);
		return -1;
	}
	if (cd_priv_drop(a->user, !a->check, err, sizeof(err)) < 0) {
		cd_err("%s; nothing was set up", err);
		return -1;
	}
	pw = getpwuid(geteuid());
	snprintf(uname, len, "%s", pw ? pw->pw_name : "?");
	cd_info("running as user %s (uid %u)%s", uname, (unsigned int)geteuid(),
		a->check ? "" : " with CAP_NET_ADMIN and CAP_NET_RAW only");
	return 0;
}

/* Sets up, runs until told to stop, and tears down; the exit status. */
static int serve(struct daemon *d)
{
	bool installed = false;
	char err[512];
	int status = 1;

	if (setup_signals(d) < 0) {
		cd_err("signals: %s", strerror(errno));
		return 1;
	}
	if (cd_sender_open(&d->snd, d->cfg.has_v4, d->cfg.has_v6, d->cfg.mark, err,
			   sizeof(err)) < 0 ||
	    cd_rules_open(&d->rules, err, sizeof(err)) < 0 ||
	    cd_queue_open(&d->queue, d->cfg.queue, err, sizeof(err)) < 0 ||
	    cd_rules_install(d->rules, &d->cfg, err, sizeof(err)) < 0) {
		cd_err("%s; nothing was set up", err);
		goto out;
	}
	installed = true;
	cd_config_describe(&d->cfg, LOG_INFO);
	cd_notice("started: %d server entr%s, queue %u; auth SYNs from fresh ports of %u-%u, "
		  "each held %d s (at most %u at once)",
		  d->cfg.nservers, d->cfg.nservers == 1 ? "y" : "ies", d->cfg.queue,
		  d->snd.port_lo, d->snd.port_hi, CD_PORT_HOLD_S, d->snd.cap);
	cd_notify("READY=1");

	status = run(d);
	cd_notify("STOPPING=1");
	log_stats(d, LOG_INFO);
out:
	if (installed) {
		if (cd_rules_remove(d->rules, err, sizeof(err)) < 0) {
			cd_err("%s", err);
			status = 1;
		} else {
			cd_notice("interception rules removed");
		}
	}
	cd_queue_close(d->queue);
	cd_rules_close(d->rules);
	cd_sender_close(&d->snd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	return status;
}

int main(int argc, char **argv)
{
	struct daemon d = {
		.config_path = CD_DEFAULT_CONFIG,
		.snd = { .fd4 = -1, .fd6 = -1 },
		.sigfd = -1,
	};
	struct args a = { .user = CD_DEFAULT_USER };
	char uname[64];
	int errors, status;

	status = parse_args(argc, argv, &d, &a);
	if (status >= 0)
		return status;
	cd_log_init(a.use_syslog && !a.check);
	if (sodium_init() < 0) {
		cd_err("libsodium failed to initialise");
		return 1;
	}
	if (become_user(&a, uname, sizeof(uname)) < 0)
		return 1;

	errors = cd_config_load(d.config_path, &d.cfg);
	if (errors) {
		cd_err("%s: %d error%s; %s", d.config_path, errors, errors == 1 ? "" : "s",
		       a.check ? "the configuration is not valid" : "nothing was set up");
		status = 1;
	} else if (a.probe) {
		status = cd_probe(&d.cfg, a.probe_host, a.probe_port);
	} else if (a.check) {
		int v = cd_verbosity;

		cd_verbosity = 1;
		cd_config_describe(&d.cfg, LOG_INFO);
		cd_verbosity = v;
		printf("%s: configuration OK (read as user %s)\n", d.config_path, uname);
		status = 0;
	} else {
		status = serve(&d);
	}
	cd_config_free(&d.cfg);
	return status;
}
