// SPDX-License-Identifier: GPL-2.0
/*
 * tap-keytool: makes TAP key files and manages the keys of the xt_tap
 * kernel module (one key table per network namespace) over its generic
 * netlink family "xt_tap". See tap-keytool(8).
 *
 * Exit status: 0 success, 1 runtime error, 2 usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <sodium.h>

#include "tap_core.h"
#include "keytool.h"
#include "tap_keyfile.h"
#include "tap_num.h"


static const char *cmd_name = "";

static void vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(EXIT_FAILURE);
}

void die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	if (*cmd_name)
		fprintf(stderr, "Try '" PROG " %s --help'.\n", cmd_name);
	else
		fprintf(stderr, "Try '" PROG " --help'.\n");
	exit(EXIT_USAGE);
}

/* ---- argument helpers -------------------------------------------------- */

static uint16_t key_id_arg(const char *s)
{
	uint32_t id;

	if (!tap_parse_u32(s, 0, 65535, &id))
		die_usage("invalid key id \"%.40s\": expected a number from 0 to 65535", s);
	return (uint16_t)id;
}

/*
 * getopt_long for a subcommand: argv[0] is the subcommand. Handles --help
 * (prints help, exits 0) and reports bad options as usage errors.
 */
static int sub_getopt(int argc, char **argv, const char *shortopts,
		      const struct option *longopts, void (*help)(void))
{
	int c = getopt_long(argc, argv, shortopts, longopts, NULL);

	switch (c) {
	case 'h':
		help();
		exit(EXIT_SUCCESS);
	case ':':
		die_usage("option '%s' needs a value", argv[optind - 1]);
	case '?':
		if (optopt)
			die_usage("unknown option '-%c'", optopt);
		die_usage("unknown option '%s'", argv[optind - 1]);
	}
	return c;
}

static void want_args(int argc, char **argv, int n, const char *what)
{
	if (argc - optind < n)
		die_usage("missing %s", what);
	if (argc - optind > n)
		die_usage("unexpected argument '%s'", argv[optind + n]);
}

/* A key's or a realm's fingerprint, from a PRF key that is wiped after. */
static uint64_t fingerprint_with(const uint8_t raw[TAP_KEY_LEN],
				 u64 (*fpr_of)(const tap_prf_key *))
{
	tap_prf_key key;
	uint64_t fpr;

	tap_prf_key_import(&key, raw);
	fpr = fpr_of(&key);
	tap_wipe(&key, sizeof(key));
	return fpr;
}

static uint64_t fingerprint(const uint8_t secret[TAP_KEY_LEN])
{
	return fingerprint_with(secret, tap_key_fingerprint);
}

static uint64_t realm_fingerprint(const uint8_t realm[TAP_KEY_LEN])
{
	return fingerprint_with(realm, tap_realm_fingerprint);
}

static void read_keyfile(const char *path, struct tap_keyfile *kf)
{
	char err[512];

	if (tap_keyfile_read(path, kf, err, sizeof(err)) < 0)
		die("%s", err);
}

/* ---- genkey ----------------------------------------------------------- */

static void genkey_help(void)
{
	printf("Usage: " PROG " genkey --id N -o FILE [--realm-from KEYFILE | --new-realm]\n"
	       "Make a new random key with key id N (0..65535) and write it to FILE,\n"
	       "which must not exist yet; it is created with mode 0600. Prints the\n"
	       "key's fingerprint. The key is never printed.\n"
	       "Every key of a server carries the server's realm (see tap-keytool(8),\n"
	       "REALM). By default the new key takes the realm of the other key files\n"
	       "(*.key) in FILE's directory, or a new random realm if there are none.\n"
	       "\n"
	       "  -i, --id N               key id of the new key\n"
	       "  -o, --output FILE        key file to create\n"
	       "  -r, --realm-from KEYFILE take the realm of this key file\n"
	       "      --new-realm          make a new random realm\n"
	       "  -h, --help               show this help\n");
}

static int key_file_name(const struct dirent *d);

/*
 * The realm the key files in the directory of path share. Returns false if
 * there are none; dies if they disagree or one cannot be read.
 */
static bool realm_of_dir(const char *path, uint8_t realm[TAP_KEY_LEN])
{
	char dir[PATH_MAX], file[PATH_MAX], err[512], *slash;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct dirent **names;
	struct tap_keyfile kf;
	const char *first = NULL;
	bool found = false;
	int i, n;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		die("%s: path too long", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	n = scandir(dir, &names, key_file_name, alphasort);
	if (n < 0)
		return false;	/* the write will say what is wrong */
	for (i = 0; i < n; i++) {
		if (!strcmp(names[i]->d_name, base))
			continue;	/* the write will refuse to overwrite it */
		if (snprintf(file, sizeof(file), "%s/%s", dir, names[i]->d_name) >=
		    (int)sizeof(file))
			die("%s/%s: path too long", dir, names[i]->d_name);
		if (tap_keyfile_read(file, &kf, err, sizeof(err)) < 0)
			die("%s (genkey takes the realm of the key files next to the new one; "
			    "use --realm-from or --new-realm)", err);
		if (found && sodium_memcmp(kf.realm, realm, TAP_KEY_LEN))
			die("%s and %s have different realms; choose one with --realm-from",
			    first, names[i]->d_name);
		if (!found)
			memcpy(realm, kf.realm, TAP_KEY_LEN);
		found = true;
		first = first ? first : names[i]->d_name;
		tap_keyfile_wipe(&kf);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return found;
}

static int cmd_genkey(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "realm-from", required_argument, NULL, 'r' },
		{ "new-realm", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct tap_keyfile kf = { 0 }, from;
	const char *out = NULL, *realm_from = NULL, *realm_how;
	bool have_id = false, new_realm = false;
	char err[512];
	uint64_t fpr;
	int c;

	while ((c = sub_getopt(argc, argv, ":i:o:r:h", opts, genkey_help)) != -1) {
		switch (c) {
		case 'i':
			kf.id = key_id_arg(optarg);
			have_id = true;
			break;
		case 'o':
			out = optarg;
			break;
		case 'r':
			realm_from = optarg;
			break;
		case 'N':
			new_realm = true;
			break;
		}
	}
	want_args(argc, argv, 0, "");
	if (!have_id)
		die_usage("missing --id N (the key id, 0..65535)");
	if (!out)
		die_usage("missing -o FILE (the key is only ever written to a file)");
	if (realm_from && new_realm)
		die_usage("--realm-from and --new-realm exclude each other");

	if (realm_from) {
		read_keyfile(realm_from, &from);
		memcpy(kf.realm, from.realm, TAP_KEY_LEN);
		tap_keyfile_wipe(&from);
		realm_how = "taken from";
	} else if (!new_realm && realm_of_dir(out, kf.realm)) {
		realm_how = "of the key files in the directory of";
	} else {
		randombytes_buf(kf.realm, sizeof(kf.realm));
		realm_how = "new, for";
	}
	randombytes_buf(kf.secret, sizeof(kf.secret));
	fpr = fingerprint(kf.secret);
	if (tap_keyfile_write(out, &kf, err, sizeof(err)) < 0) {
		tap_keyfile_wipe(&kf);
		die("%s", err);
	}
	printf("wrote key %u to %s (fingerprint %016" PRIx64 ", realm %016" PRIx64
	       " %s %s)\n", kf.id, out, fpr, realm_fingerprint(kf.realm),
	       realm_how, realm_from ? realm_from : out);
	tap_keyfile_wipe(&kf);
	return 0;
}

/* ---- fingerprint ------------------------------------------------------ */

static void fingerprint_help(void)
{
	printf("Usage: " PROG " fingerprint FILE\n"
	       "Print the key id and fingerprint of the key in FILE, and the\n"
	       "fingerprint of its realm: the same fingerprints that '" PROG " list'\n"
	       "and '" PROG " stats' show once the key is loaded.\n");
}

static int cmd_fingerprint(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct tap_keyfile kf;

	while (sub_getopt(argc, argv, ":h", opts, fingerprint_help) != -1)
		;
	want_args(argc, argv, 1, "key FILE");
	read_keyfile(argv[optind], &kf);
	printf("key %u fingerprint %016" PRIx64 " realm %016" PRIx64 "\n", kf.id,
	       fingerprint(kf.secret), realm_fingerprint(kf.realm));
	tap_keyfile_wipe(&kf);
	return 0;
}

/* ---- load ------------------------------------------------------------- */

static void load_help(void)
{
	printf("Usage: " PROG " load FILE [--replace] [--rate N|unlimited]\n"
	       "Load the key in FILE into the xt_tap key table of this network\n"
	       "namespace. Needs CAP_NET_ADMIN. A key id that is already loaded is\n"
	       "refused unless --replace is given; replacing a key at once stops\n"
	       "tokens made with the old key, including retransmissions.\n"
	       "A key may open at most N new connections per second (a second's\n"
	       "worth at once); further valid tokens are refused as 'limited', so\n"
	       "that one key cannot take the replay cache from the others. The\n"
	       "default is the module's key_rate parameter.\n"
	       "\n"
	       "  -r, --replace         replace a loaded key with the same id\n"
	       "  -R, --rate N|unlimited  this key's admission limit\n"
	       "  -h, --help            show this help\n");
}

/*
 * KEY_ADD for kf, with its admission limit (NULL: the module's default);
 * 0 or a positive errno. Wipes the request buffer.
 */
static int key_add(struct nl *nl, const struct tap_keyfile *kf, bool replace,
		   const uint32_t *rate)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	int err;

	/* Only NLM_F_REPLACE: generic netlink refuses NLM_F_CREATE/EXCL. */
	nlh = tap_msg(nl, buf, TAP_CMD_KEY_ADD,
		      NLM_F_ACK | (replace ? NLM_F_REPLACE : 0));
	mnl_attr_put_u16(nlh, TAP_A_KEY_ID, kf->id);
	mnl_attr_put(nlh, TAP_A_KEY_SECRET, TAP_KEY_LEN, kf->secret);
	mnl_attr_put(nlh, TAP_A_KEY_REALM, TAP_KEY_LEN, kf->realm);
	if (rate)
		mnl_attr_put_u32(nlh, TAP_A_KEY_RATE, *rate);
	err = nl_talk(nl, nlh, NULL, NULL);
	sodium_memzero(buf, sizeof(buf));
	return err;
}

static int cmd_load(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "replace", no_argument, NULL, 'r' },
		{ "rate", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct tap_keyfile kf;
	bool replace = false, have_rate = false;
	uint32_t rate = 0;
	struct nl nl;
	uint64_t fpr;
	uint16_t id;
	int c, err;

	while ((c = sub_getopt(argc, argv, ":rR:h", opts, load_help)) != -1) {
		if (c == 'r')
			replace = true;
		if (c == 'R') {
			have_rate = true;
			if (strcmp(optarg, "unlimited") &&
			    !tap_parse_u32(optarg, 1, 100000000, &rate))
				die_usage("invalid --rate \"%.40s\": new connections per "
					  "second, 1 to 100000000, or 'unlimited'", optarg);
		}
	}
	want_args(argc, argv, 1, "key FILE");

	read_keyfile(argv[optind], &kf);
	fpr = fingerprint(kf.secret);
	tap_open(&nl);
	err = key_add(&nl, &kf, replace, have_rate ? &rate : NULL);
	id = kf.id;
	tap_keyfile_wipe(&kf);
	if (err == EEXIST)
		die("key id %u is already loaded; use --replace to replace it%s",
		    id, kernel_says(&nl));
	if (err) {
		char what[64];

		snprintf(what, sizeof(what), "cannot load key %u", id);
		nl_die(&nl, err, what);
	}
	nl_close(&nl);
	printf("loaded key %u (fingerprint %016" PRIx64 ")\n", id, fpr);
	return 0;
}

/* ---- del, flush ------------------------------------------------------- */

static void del_help(void)
{
	printf("Usage: " PROG " del ID\n"
	       "Remove the key with key id ID from this network namespace. Tokens\n"
	       "made with it are refused from the next SYN on, retransmissions of\n"
	       "connections it had let in included. Needs CAP_NET_ADMIN.\n");
}

/* KEY_DEL for id; 0 or a positive errno. */
static int key_del(struct nl *nl, uint16_t id)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;

	nlh = tap_msg(nl, buf, TAP_CMD_KEY_DEL, NLM_F_ACK);
	mnl_attr_put_u16(nlh, TAP_A_KEY_ID, id);
	return nl_talk(nl, nlh, NULL, NULL);
}

static int cmd_del(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct nl nl;
	uint16_t id;
	int err;

	while (sub_getopt(argc, argv, ":h", opts, del_help) != -1)
		;
	want_args(argc, argv, 1, "key ID");
	id = key_id_arg(argv[optind]);

	tap_open(&nl);
	err = key_del(&nl, id);
	if (err == ENOENT)
		die("no key with id %u is loaded%s", id, kernel_says(&nl));
	if (err) {
		char what[64];

		snprintf(what, sizeof(what), "cannot delete key %u", id);
		nl_die(&nl, err, what);
	}
	nl_close(&nl);
	printf("deleted key %u\n", id);
	return 0;
}

static void flush_help(void)
{
	printf("Usage: " PROG " flush\n"
	       "Remove every key from this network namespace: all tap rules then\n"
	       "refuse every SYN. Needs CAP_NET_ADMIN.\n");
}

static int cmd_flush(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char buf[NL_REQ_SIZE] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	struct nl nl;
	int err;

	while (sub_getopt(argc, argv, ":h", opts, flush_help) != -1)
		;
	want_args(argc, argv, 0, "");

	tap_open(&nl);
	nlh = tap_msg(&nl, buf, TAP_CMD_KEY_FLUSH, NLM_F_ACK);
	err = nl_talk(&nl, nlh, NULL, NULL);
	if (err)
		nl_die(&nl, err, "cannot flush the keys");
	nl_close(&nl);
	printf("removed all keys\n");
	return 0;
}

/* ---- list ------------------------------------------------------------- */

/* Per-key counters that list shows, in order. */
static const unsigned int list_stats[] = {
	TAP_STAT_ACCEPTED, TAP_STAT_RETRANSMIT, TAP_STAT_BAD_MAC,
	TAP_STAT_STALE, TAP_STAT_REPLAYED, TAP_STAT_LIMITED,
	TAP_STAT_TABLE_FULL,
};
#define N_LIST_STATS (sizeof(list_stats) / sizeof(list_stats[0]))

static int row_cmp(const void *a, const void *b)
{
	const struct key_row *x = a, *y = b;

	return (int)x->id - (int)y->id;
}

static void list_help(void)
{
	printf("Usage: " PROG " list [--json]\n"
	       "List the keys loaded in this network namespace: key id, fingerprint,\n"
	       "admission limit (new connections per second, see load --rate), how\n"
	       "often each key's tokens were accepted, retransmitted, or refused as\n"
	       "bad_mac, stale, replayed, limited (over its limit) or table_full,\n"
	       "and when and from which source address the key last let a connection\n"
	       "in (UTC). A key in a rotation's grace (see rotate) has a second line:\n"
	       "the retiring key's fingerprint, the grace left and its accepts since\n"
	       "the rotation. Secrets are never shown: the kernel does not give them\n"
	       "back. Needs CAP_NET_ADMIN.\n"
	       "\n"
	       "  -j, --json  one JSON document (see tap-keytool(8))\n"
	       "  -h, --help  show this help\n");
}

/* The loaded keys, sorted by id; dies on error. */
static void key_dump(struct nl *nl, struct key_list *l)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	int err;

	nlh = tap_msg(nl, buf, TAP_CMD_KEY_GET, NLM_F_DUMP);
	err = nl_talk(nl, nlh, key_msg_cb, l);
	if (err)
		nl_die(nl, err, "cannot list the keys");
	if (l->n)
		qsort(l->rows, l->n, sizeof(*l->rows), row_cmp);
}

/* Unix seconds as ISO 8601 UTC. */
static const char *utc_time(uint64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%" PRIu64, t);
	return buf;
}

static const char *row_source(const struct key_row *r, char *buf, size_t len)
{
	if (!inet_ntop(r->last_family, r->last_saddr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

static void list_text(const struct key_list *l)
{
	char tbuf[32], abuf[INET6_ADDRSTRLEN];
	size_t i, j;

	printf("%-5s  %-16s  %10s", "id", "fingerprint", "rate/s");
	for (j = 0; j < N_LIST_STATS; j++)
		printf("  %10s", tap_stat_name(list_stats[j]));
	printf("  %-20s  %s\n", "last_accept", "last_source");
	for (i = 0; i < l->n; i++) {
		const struct key_row *r = &l->rows[i];

		printf("%-5u  ", r->id);
		if (r->have_fpr)
			printf("%016" PRIx64, r->fpr);
		else
			printf("%-16s", "-");
		if (r->have_rate && r->rate)
			printf("  %10u", r->rate);
		else
			printf("  %10s", r->have_rate ? "unlimited" : "-");
		for (j = 0; j < N_LIST_STATS; j++) {
			if (r->have[list_stats[j]])
				printf("  %10" PRIu64, r->stat[list_stats[j]]);
			else
				printf("  %10s", "-");
		}
		if (r->have_last)
			printf("  %-20s  %s\n", utc_time(r->last_time, tbuf, sizeof(tbuf)),
			       row_source(r, abuf, sizeof(abuf)));
		else
			printf("  %-20s  %s\n", "-", "-");
		if (r->rotating)
			printf("       retiring key %016" PRIx64 ": valid %" PRIu32
			       " s more, %" PRIu64 " accepts since the rotation\n",
			       r->prev_fpr, r->grace_left, r->prev_accepts);
	}
}

/* "name": value pairs of a counter set, for the JSON documents. */
static void json_stats(const bool *have, const uint64_t *val)
{
	const char *sep = "";
	unsigned int i;

	printf("{");
	for (i = 0; i < __TAP_STAT_MAX; i++) {
		if (!have[i])
			continue;
		printf("%s\"%s\": %" PRIu64, sep, tap_stat_name(i), val[i]);
		sep = ", ";
	}
	printf("}");
}

static void list_json(const struct key_list *l)
{
	char tbuf[32], abuf[INET6_ADDRSTRLEN];
	size_t i;

	printf("{\"keys\": [");
	for (i = 0; i < l->n; i++) {
		const struct key_row *r = &l->rows[i];

		printf("%s\n  {\"id\": %u, ", i ? "," : "", r->id);
		if (r->have_fpr)
			printf("\"fingerprint\": \"%016" PRIx64 "\", ", r->fpr);
		else
			printf("\"fingerprint\": null, ");
		if (r->have_rate && r->rate)
			printf("\"rate\": %u, ", r->rate);
		else
			printf("\"rate\": null, ");
		printf("\"counters\": ");
		json_stats(r->have, r->stat);
		if (r->have_last)
			printf(", \"last_accept\": {\"time\": %" PRIu64 ", \"utc\": \"%s\", "
			       "\"source\": \"%s\"}", r->last_time,
			       utc_time(r->last_time, tbuf, sizeof(tbuf)),
			       row_source(r, abuf, sizeof(abuf)));
		else
			printf(", \"last_accept\": null");
		if (r->rotating)
			printf(", \"rotation\": {\"grace_left\": %" PRIu32 ", "
			       "\"retiring_fingerprint\": \"%016" PRIx64 "\", "
			       "\"retiring_accepts\": %" PRIu64 "}",
			       r->grace_left, r->prev_fpr, r->prev_accepts);
		else
			printf(", \"rotation\": null");
		printf("}");
	}
	printf("%s]}\n", l->n ? "\n" : "");
}

/* The options of list and stats: --json, --help; no argument. */
static bool json_arg(int argc, char **argv, void (*help)(void))
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	bool json = false;
	int c;

	while ((c = sub_getopt(argc, argv, ":jh", opts, help)) != -1)
		if (c == 'j')
			json = true;
	want_args(argc, argv, 0, "");
	return json;
}

static int cmd_list(int argc, char **argv)
{
	bool json = json_arg(argc, argv, list_help);
	struct key_list l = { 0 };
	struct nl nl;

	tap_open(&nl);
	key_dump(&nl, &l);
	nl_close(&nl);

	if (json)
		list_json(&l);
	else
		list_text(&l);
	free(l.rows);
	return 0;
}

/* ---- sync ------------------------------------------------------------- */

static void stats_get(struct nl *nl, struct stats_reply *s);
static bool kernel_realm(struct nl *nl, uint64_t *fpr);

struct sync_key {
	struct tap_keyfile kf;
	uint64_t fpr;
	char path[PATH_MAX];
};

/* In sodium_allocarray memory; atexit wipes it on every way out, die() too. */
static struct sync_key *sync_keys;
static size_t sync_nkeys;

static void sync_wipe(void)
{
	if (sync_keys)
		sodium_free(sync_keys);	/* zeroes it first */
	sync_keys = NULL;
}

static void sync_help(void)
{
	printf("Usage: " PROG " sync DIR [--dry-run]\n"
	       "Make the keys loaded in this network namespace exactly those of the\n"
	       "key files DIR/*.key: load new ones, replace those whose secret\n"
	       "changed, remove loaded keys that have no file any more; keys that\n"
	       "did not change keep their state (retransmissions, counters). Every\n"
	       "file is read and checked first: if one is bad, if two hold the same\n"
	       "key id, or if DIR holds no key file or is writable by group or\n"
	       "others, nothing changes. tap-keys.service runs it at boot and on\n"
	       "reload. Needs CAP_NET_ADMIN.\n"
	       "\n"
	       "  -n, --dry-run  only print what would change\n"
	       "  -h, --help     show this help\n");
}

static int key_file_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 4 && !strcmp(d->d_name + n - 4, ".key");
}

static int sync_key_cmp(const void *a, const void *b)
{
	const struct sync_key *x = a, *y = b;

	return (int)x->kf.id - (int)y->kf.id;
}

/* Reads and checks every key file of dir into sync_keys, sorted by id. */
static void sync_read_dir(const char *dir)
{
	struct dirent **names;
	struct stat st;
	char err[512];
	size_t i;
	int n;

	if (stat(dir, &st) < 0)
		die("cannot read %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		die("%s is not a directory", dir);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		die("%s is writable by group or others (mode %03o): anyone who can "
		    "write there could plant a key; chmod go-w it", dir,
		    (unsigned int)(st.st_mode & 0777));
	n = scandir(dir, &names, key_file_name, alphasort);
	if (n < 0)
		die("cannot read %s: %s", dir, strerror(errno));
	if (n == 0) {
		free(names);
		die("no key files (*.key) in %s; nothing changed (to remove every "
		    "key, use '" PROG " flush')", dir);
	}
	sync_keys = sodium_allocarray((size_t)n, sizeof(*sync_keys));
	if (!sync_keys)
		die("out of memory");
	atexit(sync_wipe);
	for (i = 0; i < (size_t)n; i++) {
		struct sync_key *k = &sync_keys[i];

		if (snprintf(k->path, sizeof(k->path), "%s/%s", dir,
			     names[i]->d_name) >= (int)sizeof(k->path))
			die("%s/%s: path too long", dir, names[i]->d_name);
		if (tap_keyfile_read(k->path, &k->kf, err, sizeof(err)) < 0)
			die("%s; nothing changed", err);
		k->fpr = fingerprint(k->kf.secret);
		sync_nkeys++;
		free(names[i]);
	}
	free(names);
	qsort(sync_keys, sync_nkeys, sizeof(*sync_keys), sync_key_cmp);
	for (i = 1; i < sync_nkeys; i++) {
		if (sync_keys[i].kf.id == sync_keys[i - 1].kf.id)
			die("key id %u is in both %s and %s; nothing changed",
			    sync_keys[i].kf.id, sync_keys[i - 1].path, sync_keys[i].path);
		if (sodium_memcmp(sync_keys[i].kf.realm, sync_keys[0].kf.realm,
				  TAP_KEY_LEN))
			die("%s and %s have different realms (all keys of a server "
			    "share one); nothing changed", sync_keys[0].path,
			    sync_keys[i].path);
	}
}

static const struct key_row *find_row(const struct key_list *l, uint16_t id)
{
	struct key_row want = { .id = id };

	return l->n ? bsearch(&want, l->rows, l->n, sizeof(*l->rows), row_cmp) : NULL;
}

struct sync_counts {
	size_t added, replaced, same, removed;
};

/*
 * A new realm is taken only by a netns without keys: flush them, then
 * load every file. Connections in between fail closed. true if so.
 */
static bool sync_realm(struct nl *nl, const struct key_list *l, bool dry, const char *verb)
{
	uint64_t realm_now, realm_new = realm_fingerprint(sync_keys[0].kf.realm);
	char buf[NL_REQ_SIZE] __attribute__((aligned(8)));
	int err;

	if (!l->n || !kernel_realm(nl, &realm_now) || realm_now == realm_new)
		return false;
	printf("%schange the realm from %016" PRIx64 " to %016" PRIx64
	       ": remove every key, then load them all\n", verb, realm_now, realm_new);
	if (!dry) {
		err = nl_talk(nl, tap_msg(nl, buf, TAP_CMD_KEY_FLUSH, NLM_F_ACK), NULL, NULL);
		if (err)
			nl_die(nl, err, "cannot remove the keys of the old realm");
	}
	return true;
}

/* Removals first: they free slots (max_keys) for the new keys. */
static void sync_remove(struct nl *nl, const struct key_list *l, bool dry,
			bool reload_all, const char *verb, struct sync_counts *n)
{
	size_t i;
	int err;

	for (i = 0; i < l->n; i++) {
		struct sync_key want = { .kf.id = l->rows[i].id };

		if (bsearch(&want, sync_keys, sync_nkeys, sizeof(*sync_keys), sync_key_cmp))
			continue;
		if (!dry && !reload_all) {
			err = key_del(nl, l->rows[i].id);
			if (err && err != ENOENT) {
				char what[96];

				snprintf(what, sizeof(what), "cannot remove key %u "
					 "(%zu changes made before)", l->rows[i].id, n->removed);
				nl_die(nl, err, what);
			}
		}
		printf("%sremove key %u: no key file for it\n", verb, l->rows[i].id);
		n->removed++;
	}
}

static void sync_load(struct nl *nl, const struct key_list *l, bool dry,
		      bool reload_all, const char *verb, struct sync_counts *n)
{
	size_t i;
	int err;

	for (i = 0; i < sync_nkeys; i++) {
		const struct sync_key *k = &sync_keys[i];
		const struct key_row *r = find_row(l, k->kf.id);

		if (r && r->have_fpr && r->fpr == k->fpr && !reload_all) {
			n->same++;
			continue;
		}
		if (!dry) {
			err = key_add(nl, &k->kf, true, NULL);
			if (err) {
				char what[PATH_MAX + 128];

				snprintf(what, sizeof(what), "cannot load key %u from %s "
					 "(%zu changes made before)", k->kf.id, k->path,
					 n->removed + n->added + n->replaced);
				nl_die(nl, err, what);
			}
		}
		printf("%s%s key %u from %s (fingerprint %016" PRIx64 ")\n", verb,
		       r ? "replace" : "load", k->kf.id, k->path, k->fpr);
		if (r)
			n->replaced++;
		else
			n->added++;
	}
}

static int cmd_sync(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct sync_counts n = { 0 };
	const char *dir, *verb = "";
	struct key_list l = { 0 };
	bool dry = false, reload_all;
	struct nl nl;
	int c;

	while ((c = sub_getopt(argc, argv, ":nh", opts, sync_help)) != -1)
		if (c == 'n')
			dry = true;
	want_args(argc, argv, 1, "key directory DIR");
	dir = argv[optind];

	sync_read_dir(dir);
	tap_open(&nl);
	key_dump(&nl, &l);
	if (dry)
		verb = "would ";
	reload_all = sync_realm(&nl, &l, dry, verb);
	sync_remove(&nl, &l, dry, reload_all, verb, &n);
	sync_load(&nl, &l, dry, reload_all, verb, &n);
	nl_close(&nl);
	free(l.rows);
	printf("%s: %zu loaded, %zu replaced, %zu unchanged, %zu removed%s\n", dir,
	       n.added, n.replaced, n.same, n.removed, dry ? " (dry run: nothing changed)" : "");
	sync_wipe();
	return 0;
}

/* ---- stats ------------------------------------------------------------ */

/* The counters, tables and realm of this netns; dies on error. */
static void stats_get(struct nl *nl, struct stats_reply *s)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	int err;

	memset(s, 0, sizeof(*s));
	nlh = tap_msg(nl, buf, TAP_CMD_STATS_GET, NLM_F_ACK);
	err = nl_talk(nl, nlh, stats_msg_cb, s);
	if (err)
		nl_die(nl, err, "cannot read the counters");
	if (!s->got)
		die("the kernel sent no counters");
}

static void stats_help(void)
{
	printf("Usage: " PROG " stats [--json]\n"
	       "Print this network namespace's counters (one per outcome of a SYN\n"
	       "through a tap rule, see xt_tap(8)) and the size of its tables:\n"
	       "tap rules, slots of the pending, authorized and replay tables,\n"
	       "bytes they hold, keys loaded; how many tokens the replay cache\n"
	       "holds now (replay_live), the largest --window of the rules and the\n"
	       "new connections per second the cache carries at it; the realm's\n"
	       "fingerprint; the audit events sent to 'monitor', suppressed (over\n"
	       "the per-second budget of refusals) and dropped. Needs CAP_NET_ADMIN.\n"
	       "\n"
	       "  -j, --json  one JSON document (see tap-keytool(8))\n"
	       "  -h, --help  show this help\n");
}

/* The audit event counters (monitor): sent, suppressed, dropped. */
static const struct {
	unsigned int attr;
	const char *name;
} stats_events[] = {
	{ TAP_EVS_A_SENT, "events_sent" },
	{ TAP_EVS_A_SUPPRESSED, "events_suppressed" },
	{ TAP_EVS_A_DROPPED, "events_dropped" },
};
#define N_STATS_EVENTS (sizeof(stats_events) / sizeof(stats_events[0]))

static void stats_print_events(const struct stats_reply *s)
{
	unsigned int i;

	for (i = 0; i < N_STATS_EVENTS; i++) {
		if (s->have_ev[stats_events[i].attr])
			printf("%-18s %" PRIu64 "\n", stats_events[i].name,
			       s->ev[stats_events[i].attr]);
		else
			printf("%-18s -\n", stats_events[i].name);
	}
}

/* The same as a JSON object's members: "events_sent": N, ... */
static void stats_json_events(const struct stats_reply *s)
{
	const char *sep = "";
	unsigned int i;

	printf(",\n \"events\": {");
	for (i = 0; i < N_STATS_EVENTS; i++) {
		if (!s->have_ev[stats_events[i].attr])
			continue;
		printf("%s\"%s\": %" PRIu64, sep, stats_events[i].name,
		       s->ev[stats_events[i].attr]);
		sep = ", ";
	}
	printf("}");
}

static int cmd_stats(int argc, char **argv)
{
	static const struct {
		unsigned int attr;
		const char *name;
	} tbls[] = {
		{ TAP_TBL_A_RULES, "rules" },
		{ TAP_TBL_A_PENDING_SLOTS, "pending_slots" },
		{ TAP_TBL_A_AUTHORIZED_SLOTS, "authorized_slots" },
		{ TAP_TBL_A_REPLAY_SLOTS, "replay_slots" },
		{ TAP_TBL_A_BYTES, "bytes" },
		{ TAP_TBL_A_KEYS, "keys" },
		{ TAP_TBL_A_REPLAY_LIVE, "replay_live" },
		{ TAP_TBL_A_WINDOW_MAX, "window_max" },
		{ TAP_TBL_A_REPLAY_RATE, "replay_rated_rate" },
	};
	bool json = json_arg(argc, argv, stats_help);
	struct stats_reply s;
	struct nl nl;
	unsigned int i;

	tap_open(&nl);
	stats_get(&nl, &s);
	nl_close(&nl);

	if (json) {
		const char *sep = "";

		printf("{\"counters\": ");
		json_stats(s.stats.have, s.stats.val);
		printf(",\n \"tables\": {");
		for (i = 0; i < sizeof(tbls) / sizeof(tbls[0]); i++) {
			if (!s.have_tbl[tbls[i].attr])
				continue;
			printf("%s\"%s\": %" PRIu64, sep, tbls[i].name, s.tbl[tbls[i].attr]);
			sep = ", ";
		}
		printf("}");
		stats_json_events(&s);
		if (s.have_realm)
			printf(",\n \"realm\": \"%016" PRIx64 "\"}\n", s.realm_fpr);
		else
			printf(",\n \"realm\": null}\n");
		return 0;
	}
	for (i = 0; i < __TAP_STAT_MAX; i++) {
		if (s.stats.have[i])
			printf("%-18s %" PRIu64 "\n", tap_stat_name(i), s.stats.val[i]);
		else
			printf("%-18s -\n", tap_stat_name(i));
	}
	for (i = 0; i < sizeof(tbls) / sizeof(tbls[0]); i++) {
		if (s.have_tbl[tbls[i].attr])
			printf("%-18s %" PRIu64 "\n", tbls[i].name, s.tbl[tbls[i].attr]);
		else
			printf("%-18s -\n", tbls[i].name);
	}
	if (s.have_realm)
		printf("%-18s %016" PRIx64 "\n", "realm", s.realm_fpr);
	else
		printf("%-18s -\n", "realm");
	stats_print_events(&s);
	return 0;
}

static bool kernel_realm(struct nl *nl, uint64_t *fpr)
{
	struct stats_reply s;

	stats_get(nl, &s);
	*fpr = s.realm_fpr;
	return s.have_realm;
}

/* ---- rotate ----------------------------------------------------------- */

static void rotate_help(void)
{
	printf("Usage: " PROG " rotate ID --grace DURATION -o NEWFILE [--realm-from KEYFILE]\n"
	       "Give the loaded key ID a new random key without cutting its clients\n"
	       "off: write the new key to NEWFILE (which must not exist yet; mode\n"
	       "0600, the same realm) and load it, while the old key stays valid for\n"
	       "DURATION more. Then the kernel retires the old key by itself. Hand\n"
	       "NEWFILE to the clients during the grace; 'list' shows the grace left\n"
	       "and how often the old key was still used. del and flush remove both\n"
	       "keys at once. Needs CAP_NET_ADMIN.\n"
	       "DURATION is a number with s, m, h or d (seconds if none), from 1 s\n"
	       "to 30 d. The realm comes from --realm-from, or else from the key files\n"
	       "in NEWFILE's directory, as for genkey; it must be the loaded one.\n"
	       "If the keys' directory is synced (tap-keys.service), put NEWFILE in\n"
	       "place of the old key file there: sync would load the old key back.\n"
	       "\n"
	       "  -g, --grace DURATION     how long the old key stays valid\n"
	       "  -o, --output NEWFILE     key file to create for the new key\n"
	       "  -r, --realm-from KEYFILE take the realm of this key file\n"
	       "  -h, --help               show this help\n");
}

/* "N[smhd]" to seconds, 1 s .. TAP_KEY_GRACE_MAX; false if it is not. */
static bool parse_duration(const char *s, uint32_t *secs)
{
	static const struct {
		char unit;
		unsigned long mult;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	size_t len = strlen(s), i;
	unsigned long mult = 1, n;

	if (len && (s[len - 1] < '0' || s[len - 1] > '9')) {
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (s[len - 1] == units[i].unit)
				mult = units[i].mult;
		if (mult == 1 && s[len - 1] != 's')
			return false;
		len--;
	}
	if (!len || !tap_parse_udec(s, len, TAP_KEY_GRACE_MAX, &n) ||
	    n * mult < 1 || n * mult > TAP_KEY_GRACE_MAX)
		return false;
	*secs = (uint32_t)(n * mult);
	return true;
}

/* KEY_ADD as a rotation of kf->id with a grace; 0 or a positive errno. */
static int key_rotate(struct nl *nl, const struct tap_keyfile *kf, uint32_t grace)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	int err;

	nlh = tap_msg(nl, buf, TAP_CMD_KEY_ADD, NLM_F_ACK | NLM_F_REPLACE);
	mnl_attr_put_u16(nlh, TAP_A_KEY_ID, kf->id);
	mnl_attr_put(nlh, TAP_A_KEY_SECRET, TAP_KEY_LEN, kf->secret);
	mnl_attr_put(nlh, TAP_A_KEY_REALM, TAP_KEY_LEN, kf->realm);
	mnl_attr_put_u32(nlh, TAP_A_KEY_GRACE, grace);
	err = nl_talk(nl, nlh, NULL, NULL);
	sodium_memzero(buf, sizeof(buf));
	return err;
}

/* Checks rotate's request against the kernel before anything is written. */
static const struct key_row *rotate_check(struct nl *nl, struct key_list *l,
					  uint16_t id, const uint8_t *realm)
{
	const struct key_row *r;
	uint64_t realm_now;

	key_dump(nl, l);
	r = find_row(l, id);
	if (!r)
		die("no key with id %u is loaded: rotate replaces a loaded key "
		    "(use load for a new one)", id);
	if (r->rotating)
		die("key %u is still in the grace of its last rotation (%" PRIu32
		    " s left, see list); wait for it to end, or delete the key", id,
		    r->grace_left);
	if (!kernel_realm(nl, &realm_now) || realm_now != realm_fingerprint(realm))
		die("the realm (%016" PRIx64 ") is not the loaded one: give the key "
		    "file of this server with --realm-from", realm_fingerprint(realm));
	return r;
}

static int cmd_rotate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "grace", required_argument, NULL, 'g' },
		{ "output", required_argument, NULL, 'o' },
		{ "realm-from", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *out = NULL, *realm_from = NULL, *grace_arg = NULL;
	struct tap_keyfile kf = { 0 }, from;
	struct key_list l = { 0 };
	uint64_t fpr, old_fpr;
	char err_s[512], tbuf[32];
	uint32_t grace = 0;
	struct nl nl;
	uint16_t id;
	int c, err;

	while ((c = sub_getopt(argc, argv, ":g:o:r:h", opts, rotate_help)) != -1) {
		if (c == 'g')
			grace_arg = optarg;
		if (c == 'o')
			out = optarg;
		if (c == 'r')
			realm_from = optarg;
	}
	want_args(argc, argv, 1, "key ID");
	kf.id = key_id_arg(argv[optind]);
	if (!grace_arg)
		die_usage("missing --grace DURATION (how long the old key stays valid)");
	if (!parse_duration(grace_arg, &grace))
		die_usage("invalid --grace \"%.40s\": a number with s, m, h or d, "
			  "from 1s to 30d", grace_arg);
	if (!out)
		die_usage("missing -o NEWFILE (the new key is only ever written to a file)");

	if (realm_from) {
		read_keyfile(realm_from, &from);
		memcpy(kf.realm, from.realm, TAP_KEY_LEN);
		tap_keyfile_wipe(&from);
	} else if (!realm_of_dir(out, kf.realm)) {
		die("no key file next to %s to take the realm from: give the key file "
		    "of this server with --realm-from", out);
	}
	tap_open(&nl);
	old_fpr = rotate_check(&nl, &l, kf.id, kf.realm)->fpr;
	free(l.rows);

	randombytes_buf(kf.secret, sizeof(kf.secret));
	fpr = fingerprint(kf.secret);
	if (tap_keyfile_write(out, &kf, err_s, sizeof(err_s)) < 0) {
		tap_keyfile_wipe(&kf);
		die("%s", err_s);
	}
	err = key_rotate(&nl, &kf, grace);
	id = kf.id;
	tap_keyfile_wipe(&kf);
	if (err) {
		char what[PATH_MAX + 64];

		/* nothing changed in the kernel: leave nothing behind */
		unlink(out);
		snprintf(what, sizeof(what), "cannot rotate key %u (%s removed)", id, out);
		nl_die(&nl, err, what);
	}
	nl_close(&nl);
	printf("rotated key %u: new key %016" PRIx64 " in %s; the old key %016" PRIx64
	       " stays valid for %" PRIu32 " s (until %s)\n", id, fpr, out, old_fpr,
	       grace, utc_time((uint64_t)time(NULL) + grace, tbuf, sizeof(tbuf)));
	return 0;
}

/* ---- main ------------------------------------------------------------- */

static void main_help(void)
{
	printf("Usage: " PROG " COMMAND [ARGS]\n"
	       "Make TAP key files and manage the keys of the xt_tap kernel module\n"
	       "in the current network namespace.\n"
	       "\n"
	       "Commands:\n"
	       "  genkey --id N -o FILE   make a new random key and write it to FILE\n"
	       "  load FILE [--replace]   load the key in FILE into the kernel\n"
	       "  del ID                  remove the key with id ID\n"
	       "  flush                   remove all keys\n"
	       "  list [--json]           show loaded keys: id, fingerprint, use, last accept\n"
	       "  sync DIR                make the loaded keys those of DIR/*.key\n"
	       "  stats [--json]          show the counters and table sizes\n"
	       "  rotate ID --grace D -o F  new key for ID; the old one valid D more\n"
	       "  fingerprint FILE        show the id and fingerprint of a key file\n"
	       "  monitor [--json]        print accepted and refused connections as they happen\n"
	       "  export ID --server ADDR --port PORTS  print a client's config with the key\n"
	       "  --version               show the version\n"
	       "\n"
	       "'" PROG " COMMAND --help' describes each command; see tap-keytool(8).\n"
	       "Exit status: 0 success, 1 error, 2 usage error.\n");
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "genkey", cmd_genkey },
	{ "load", cmd_load },
	{ "del", cmd_del },
	{ "flush", cmd_flush },
	{ "list", cmd_list },
	{ "sync", cmd_sync },
	{ "stats", cmd_stats },
	{ "fingerprint", cmd_fingerprint },
	{ "monitor", cmd_monitor },
	{ "export", cmd_export },
	{ "rotate", cmd_rotate },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		die_usage("missing command");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		main_help();
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf(PROG " " TAP_VERSION "\n");
		return 0;
	}
	if (sodium_init() < 0)
		die("cannot initialise libsodium");
	opterr = 0;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(argv[1], cmds[i].name)) {
			cmd_name = cmds[i].name;
			return cmds[i].fn(argc - 1, argv + 1);
		}
	}
	die_usage("unknown command '%.40s'", argv[1]);
}
