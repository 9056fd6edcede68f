// SPDX-License-Identifier: GPL-2.0
/*
 * The parser of /etc/tap/protect.conf (nft/protect_conf.c): what a good
 * file sets, and that every kind of bad file is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>

#include "protect_conf.h"
#include "unit_files.h"

static char unit_dir[] = "/tmp/test_protect_conf.XXXXXX";

static int read_text(const char *text, mode_t mode, struct protect_conf *c)
{
	const char *path = unit_path(unit_dir, "protect.conf");

	unit_put_file(path, text, strlen(text), mode);
	return protect_conf_read(path, c);
}

static void good(void)
{
	struct protect_conf c;
	int ret;

	ret = read_text("# comment\n\nport 22\nkey-id 3\n", 0644, &c);
	CHECK(ret == 0, "minimal file: %d", ret);
	CHECK(c.p.m.port_lo == 22 && c.p.m.port_hi == 22, "port");
	CHECK(c.p.m.mt.key_id_min == 3 && c.p.m.mt.key_id_max == 3, "key id");
	CHECK(c.p.m.mt.window == XT_TAP_WINDOW_DEFAULT, "default window");
	CHECK(c.p.n == 1 && c.p.fam[0].family == NFPROTO_INET, "default family inet");
	CHECK(c.p.hook == NF_INET_PRE_ROUTING, "default hook");
	CHECK(!strcmp(c.p.table, "tap") && !strcmp(c.key_dir, "/etc/tap/keys"), "defaults");
	CHECK(c.p.m.mt.flags == XT_TAP_F_DROP_INVALID, "flags %#x", c.p.m.mt.flags);

	ret = read_text("  port 8000-8100 # range\n\tkey-id 100-199\nwindow 60\n"
			"family ip6,ip\nhook forward\nno-dst-bind\nsrc-bind\n"
			"key-dir /srv/keys\ntable my_tap\r\n", 0600, &c);
	CHECK(ret == 0, "full file: %d", ret);
	CHECK(c.p.m.port_lo == 8000 && c.p.m.port_hi == 8100, "port range");
	CHECK(c.p.m.mt.key_id_min == 100 && c.p.m.mt.key_id_max == 199, "key range");
	CHECK(c.p.m.mt.window == 60, "window");
	CHECK(c.p.n == 2 && c.p.fam[0].family == NFPROTO_IPV6 &&
	      c.p.fam[1].family == NFPROTO_IPV4, "ip6,ip");
	CHECK(c.p.hook == NF_INET_FORWARD, "hook");
	CHECK(c.p.m.mt.flags == (XT_TAP_F_DROP_INVALID | XT_TAP_F_NO_DST_BIND |
				 XT_TAP_F_SRC_BIND), "flags %#x", c.p.m.mt.flags);
	CHECK(!strcmp(c.key_dir, "/srv/keys") && !strcmp(c.p.table, "my_tap"), "names");
	CHECK(c.p.nports == 1 && c.p.port_lo[0] == 8000 && c.p.port_hi[0] == 8100,
	      "one range, one port entry");

	ret = read_text("port 22,443,8000-8010,65535\nkey-id 3\n", 0644, &c);
	CHECK(ret == 0, "a port list: %d", ret);
	CHECK(c.p.nports == 4 && c.p.port_lo[0] == 22 && c.p.port_hi[0] == 22 &&
	      c.p.port_lo[1] == 443 && c.p.port_lo[2] == 8000 && c.p.port_hi[2] == 8010 &&
	      c.p.port_lo[3] == 65535, "the list, in its order");
	CHECK(c.p.m.port_lo == 22 && c.p.m.port_hi == 22, "the match's port is the first");
	ret = read_text("port 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16\nkey-id 3\n", 0644, &c);
	CHECK(ret == 0 && c.p.nports == 16, "16 ports: %d", ret);
}

static void bad(void)
{
	static const char *const lines[] = {
		"port 0-65536", "port 22-21", "port -1", "port 22 23", "port",
		"key-id 70000", "key-id x", "window 0", "window 3601", "window 30s",
		"family ip,ip", "family inet,ip", "family arp", "hook output",
		"no-dst-bind yes", "src-bind 1", "key-dir keys", "table a.b",
		"table ", "bogus", "port 22\nport 22", "Port 22",
		"port 22,", "port ,22", "port 22,,443", "port 22,22", "port 20-30,25",
		"port 443,400-500", "port 22, 443", "port 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17",
		"port 22;443",
	};
	struct protect_conf c;
	char text[256], longline[700];
	size_t i;
	int ret;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		snprintf(text, sizeof(text), "port 22\nkey-id 3\n%s\n", lines[i]);
		if (!strncmp(lines[i], "port", 4) || !strncmp(lines[i], "Port", 4))
			snprintf(text, sizeof(text), "key-id 3\n%s\n", lines[i]);
		ret = read_text(text, 0644, &c);
		CHECK(ret == EXIT_USAGE, "'%s' accepted (%d)", lines[i], ret);
	}
	CHECK(read_text("key-id 3\n", 0644, &c) == EXIT_USAGE, "no port");
	CHECK(read_text("port 22\n", 0644, &c) == EXIT_USAGE, "no key-id");
	CHECK(read_text("", 0644, &c) == EXIT_USAGE, "empty file");
	CHECK(read_text("port 22\nkey-id 3\n", 0664, &c) == EXIT_USAGE, "group-writable");
	CHECK(read_text("port 22\nkey-id 3\n", 0646, &c) == EXIT_USAGE, "world-writable");
	memset(longline, ' ', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	snprintf(text, sizeof(text), "port 22\nkey-id 3\n");
	{
		char big[1024];

		snprintf(big, sizeof(big), "%s%s\n", text, longline);
		CHECK(read_text(big, 0644, &c) == EXIT_USAGE, "a line over 512 characters");
	}
	CHECK(protect_conf_read(unit_path(unit_dir, "missing"), &c) == EXIT_USAGE,
	      "missing file");
	CHECK(protect_conf_read(unit_dir, &c) == EXIT_USAGE, "a directory");
}

int main(void)
{
	if (!mkdtemp(unit_dir)) {
		perror("mkdtemp");
		return 1;
	}
	good();
	bad();
	unlink(unit_path(unit_dir, "protect.conf"));
	rmdir(unit_dir);
	printf("test_protect_conf: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
