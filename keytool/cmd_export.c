// SPDX-License-Identifier: GPL-2.0
/*
 * tap-keytool export: a ready tap-clientd configuration for one key, the
 * key written into it (key-id, secret, realm, base64 as in key files), so
 * that a client installs one file. The server keeps no copy of it.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tap_core.h"
#include "keytool.h"
#include "tap_keyfile.h"
#include "tap_num.h"

#define DEFAULT_KEY_DIR	"/etc/tap/keys"
#define B64_LEN		sodium_base64_ENCODED_LEN(TAP_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)

static void export_help(void)
{
	printf("Usage: " PROG " export ID --server ADDR --port PORTS\n"
	       "                   [--key-file FILE | --key-dir DIR] [--no-dst-bind] [--src-bind]\n"
	       "Print a tap-clientd configuration for the key with id ID: one server\n"
	       "entry with the key in it (key-id, secret and realm), for the client to\n"
	       "install as /etc/tap/clientd.conf, owned by its daemon's user, mode 0600.\n"
	       "The key is read from FILE, or from the one DIR/*.key (default\n"
	       DEFAULT_KEY_DIR ") with that id. ADDR is an address, a prefix or a host\n"
	       "name the client resolves; PORTS as in the configuration (22 or 22,8000-8100).\n"
	       "--no-dst-bind and --src-bind must match the server's rule.\n"
	       "The output holds the secret: send it only over a channel you trust.\n");
}

/* The one key file of dir with id; dies if there is none or several. */
static void find_key(const char *dir, uint16_t id, char *path, size_t len,
		     struct tap_keyfile *kf)
{
	char cand[PATH_MAX], err[512];
	struct tap_keyfile k;
	struct dirent *de;
	int found = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		die("cannot read the key directory %s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n < 5 || strcmp(de->d_name + n - 4, ".key"))
			continue;
		snprintf(cand, sizeof(cand), "%s/%s", dir, de->d_name);
		if (tap_keyfile_read(cand, &k, err, sizeof(err)) < 0) {
			fprintf(stderr, PROG ": skipping %s\n", err);
			continue;
		}
		if (k.id == id && found++ == 0) {
			*kf = k;
			snprintf(path, len, "%s", cand);
		} else if (k.id == id) {
			tap_keyfile_wipe(kf);
			tap_keyfile_wipe(&k);
			closedir(d);
			die("two key files in %s have id %u (%s and %s): name one with --key-file",
			    dir, id, path, cand);
		}
		tap_keyfile_wipe(&k);
	}
	closedir(d);
	if (!found)
		die("no key file with id %u in %s", id, dir);
}

/* Ports as tap-clientd reads them: N or LO-HI, comma-separated. */
static bool ports_ok(const char *s)
{
	char buf[256], *save = NULL, *item;
	uint16_t lo, hi;

	if (!*s || strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save))
		if (!tap_parse_urange(item, 65535, &lo, &hi) || lo == 0)
			return false;
	return s[strlen(s) - 1] != ',' && !strstr(s, ",,") && s[0] != ',';
}

/* An address, prefix or host name: one word of the configuration. */
static bool server_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < 64 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.:/") == n;
}

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "key-file", required_argument, NULL, 'f' },
		{ "key-dir", required_argument, NULL, 'd' },
		{ "no-dst-bind", no_argument, NULL, 'n' },
		{ "src-bind", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *server = NULL, *port = NULL, *file = NULL, *dir = NULL;
	char secret[B64_LEN], realm[B64_LEN], path[PATH_MAX];
	bool no_dst_bind = false, src_bind = false;
	struct tap_keyfile kf;
	uint32_t id;
	int c;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case 'p': port = optarg; break;
		case 'f': file = optarg; break;
		case 'd': dir = optarg; break;
		case 'n': no_dst_bind = true; break;
		case 'S': src_bind = true; break;
		case 'h': export_help(); return 0;
		case ':': die_usage("option '%s' needs a value", argv[optind - 1]);
		default: die_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		die_usage(argc - optind < 1 ? "missing key ID" : "unexpected argument '%s'",
			  argv[optind + 1]);
	if (!tap_parse_u32(argv[optind], 0, 65535, &id))
		die_usage("invalid key id \"%.40s\": expected a number from 0 to 65535",
			  argv[optind]);
	if (!server)
		die_usage("missing --server ADDR (the address or name clients connect to)");
	if (!server_ok(server))
		die_usage("invalid --server \"%.60s\": expected an address, a prefix or a host name",
			  server);
	if (!port)
		die_usage("missing --port PORTS (the ports the server's rule protects)");
	if (!ports_ok(port))
		die_usage("invalid --port \"%.40s\": expected ports 1-65535 or ranges LO-HI, "
			  "comma-separated", port);
	if (file && dir)
		die_usage("--key-file and --key-dir exclude each other");

	if (file) {
		char err[512];

		if (tap_keyfile_read(file, &kf, err, sizeof(err)) < 0)
			die("%s", err);
		if (kf.id != id) {
			tap_keyfile_wipe(&kf);
			die("%s holds key %u, not %u", file, kf.id, (unsigned int)id);
		}
		snprintf(path, sizeof(path), "%s", file);
	} else {
		find_key(dir ? dir : DEFAULT_KEY_DIR, (uint16_t)id, path, sizeof(path), &kf);
	}
	sodium_bin2base64(secret, sizeof(secret), kf.secret, TAP_KEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(realm, sizeof(realm), kf.realm, TAP_KEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
	{
		tap_prf_key k;

		tap_prf_key_import(&k, kf.secret);
		printf("# tap-clientd configuration: key %u (fingerprint %016" PRIx64 "), from %s\n",
		       kf.id, (uint64_t)tap_key_fingerprint(&k), path);
		tap_wipe(&k, sizeof(k));
	}
	printf("# It holds the key. Install it owned by the daemon's user, mode 0600:\n"
	       "#   install -o tap-clientd -g tap-clientd -m 600 FILE /etc/tap/clientd.conf\n"
	       "server %s port %s key-id %u secret %s realm %s%s%s\n", server, port, kf.id,
	       secret, realm, no_dst_bind ? " no-dst-bind" : "", src_bind ? " src-bind" : "");
	tap_keyfile_wipe(&kf);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(realm, sizeof(realm));
	if (fflush(stdout) != 0 || ferror(stdout))
		die("cannot write the configuration: %s", strerror(errno));
	return 0;
}
