// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of tap-clientd's configuration reader (clientd_config.c):
 * empty, missing and non-regular file names, NUL bytes, the owner and mode
 * of the configuration and key files, and that no key is ever freed
 * unwiped. Built with ASan+UBSan, and linked with
 * -Wl,--wrap=free,--wrap=realloc: every block the reader frees or moves is
 * searched for the test keys first. getaddrinfo is wrapped too
 * (--wrap=getaddrinfo,--wrap=freeaddrinfo): host names resolve from a
 * table here, never through DNS.
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <malloc.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "clientd.h"
#include "tap_keyfile.h"
#include "unit_files.h"

static char dir[] = "/tmp/test_clientd_config.XXXXXX";

/* ---- the daemon's log, captured -------------------------------------- */

int cd_verbosity;
static char logbuf[16384];
static size_t loglen;

void cd_log(int prio, const char *fmt, ...)
{
	va_list ap;
	int n;

	(void)prio;
	va_start(ap, fmt);
	n = vsnprintf(logbuf + loglen, sizeof(logbuf) - loglen, fmt, ap);
	va_end(ap);
	if (n > 0)
		loglen += (size_t)n;
	if (loglen >= sizeof(logbuf) - 1)
		loglen = sizeof(logbuf) - 2;
	logbuf[loglen++] = '\n';
	logbuf[loglen] = '\0';
}

static void log_reset(void)
{
	loglen = 0;
	logbuf[0] = '\0';
}

/* ---- every free and realloc is searched for the test keys ----------- */

void __real_free(void *p);
void *__real_realloc(void *p, size_t n);

/* three keys, then the realm that every key file of the server carries */
static uint8_t secrets[4][TAP_KEY_LEN];
#define REALM secrets[3]
static int unwiped;	/* blocks freed or moved with a key in them */

static void search_block(void *p, const char *what)
{
	size_t n, i;

	if (!p)
		return;
	n = malloc_usable_size(p);
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (n >= TAP_KEY_LEN && memmem(p, n, secrets[i], TAP_KEY_LEN)) {
			fprintf(stderr, "%s of a %zu-byte block that holds key %zu\n", what, n, i);
			unwiped++;
		}
}

void __wrap_free(void *p)
{
	search_block(p, "free");
	__real_free(p);
}

void *__wrap_realloc(void *p, size_t n)
{
	search_block(p, "realloc");
	return __real_realloc(p, n);
}

/* ---- files -------------------------------------------------------------- */

static const char *tpath(const char *name)
{
	return unit_path(dir, name);
}

static void put_file(const char *path, const void *data, size_t len, mode_t mode)
{
	unit_put_file(path, data, len, mode);
}

static void put_text(const char *path, const char *text)
{
	put_file(path, text, strlen(text), 0644);
}

/* key file NAME with key i of secrets[], id 10 + i */
static void put_key(const char *name, int i)
{
	struct tap_keyfile kf = { .id = (uint16_t)(10 + i) };
	char err[512];

	memcpy(kf.secret, secrets[i], TAP_KEY_LEN);
	memcpy(kf.realm, REALM, TAP_KEY_LEN);
	unlink(tpath(name));
	if (tap_keyfile_write(tpath(name), &kf, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	tap_keyfile_wipe(&kf);
}

/*
 * Loads path; expects `errors` errors and every needle in the log. The
 * config is freed unless out is given.
 */
static void expect_load(const char *path, int errors, struct cd_config *out, ...)
{
	struct cd_config cfg;
	const char *needle;
	va_list ap;
	int n;

	log_reset();
	n = cd_config_load(path, &cfg);
	CHECK(n == errors, "%s: %d errors, wanted %d; log:\n%s", path, n, errors, logbuf);
	va_start(ap, out);
	while ((needle = va_arg(ap, const char *)))
		CHECK(strstr(logbuf, needle), "%s: log lacks \"%s\":\n%s", path, needle, logbuf);
	va_end(ap);
	if (out)
		*out = cfg;
	else
		cd_config_free(&cfg);
}

/* ---- the tests ---------------------------------------------------------- */

/* Issue 8: -c "" overflowed a heap buffer by one byte. */
static void test_file_names(void)
{
	char want[600];

	expect_load("", 1, NULL, "the configuration file name is empty", NULL);
	snprintf(want, sizeof(want), "%s: cannot read the configuration file: "
		 "No such file or directory", tpath("nope.conf"));
	expect_load(tpath("nope.conf"), 1, NULL, want, NULL);
	snprintf(want, sizeof(want), "%s: a directory, not a configuration file", dir);
	expect_load(dir, 1, NULL, want, NULL);
	CHECK(mkfifo(tpath("fifo.conf"), 0600) == 0, "mkfifo: %s", strerror(errno));
	/* must not hang waiting for a writer (main's alarm would fire) */
	expect_load(tpath("fifo.conf"), 1, NULL, "not a regular file", NULL);
	unlink(tpath("fifo.conf"));
}

/* A relative key name is relative to the directory of the config. */
static void test_relative(void)
{
	struct cd_config cfg;
	char cwd[512];

	put_key("rel.key", 0);
	put_text(tpath("rel.conf"), "server 10.0.0.1 port 22 key rel.key\n");
	CHECK(getcwd(cwd, sizeof(cwd)) && chdir(dir) == 0, "chdir: %s", strerror(errno));
	expect_load("rel.conf", 0, &cfg, NULL);
	CHECK(cfg.nkeys == 1 && cfg.keys[0].id == 10, "relative key: %d keys", cfg.nkeys);
	cd_config_free(&cfg);
	CHECK(chdir(cwd) == 0, "chdir back: %s", strerror(errno));
	expect_load(tpath("rel.conf"), 0, NULL, NULL);
	unlink(tpath("rel.conf"));
	unlink(tpath("rel.key"));
}

/* Issue 8: a NUL byte cut the line silently; now the line is refused. */
static void test_nul(void)
{
	static const char text[] =
		"# NUL on line 2\n"
		"mark 0x10\0 garbage\n"
		"server 10.0.0.1 port 22 key nul.key\n"
		"queue 7\n";
	static const char comment[] = "#\0\nserver 10.0.0.1 port 22 key nul.key\n";
	struct cd_config cfg;
	char want[600];

	put_key("nul.key", 0);
	put_file(tpath("nul.conf"), text, sizeof(text) - 1, 0644);
	snprintf(want, sizeof(want), "%s:2: NUL byte in the line (at byte 10)",
		 tpath("nul.conf"));
	expect_load(tpath("nul.conf"), 1, &cfg, want, NULL);
	/* the lines after it are read, with the right numbers */
	CHECK(cfg.mark == CD_DEFAULT_MARK, "mark 0x%x was set from the cut line", cfg.mark);
	CHECK(cfg.nservers == 1 && cfg.servers[0].line == 3 && cfg.queue == 7,
	      "%d servers, line %d, queue %u", cfg.nservers, cfg.servers[0].line, cfg.queue);
	cd_config_free(&cfg);

	/* a NUL in a comment too: the file is not text */
	put_file(tpath("nul.conf"), comment, sizeof(comment) - 1, 0644);
	expect_load(tpath("nul.conf"), 1, NULL, "nul.conf:1: NUL byte", NULL);
	unlink(tpath("nul.conf"));
	unlink(tpath("nul.key"));
}

static void test_long_lines(void)
{
	char text[4200];

	put_key("long.key", 0);
	/* 4096 bytes before the newline: the longest line */
	memset(text, '#', 4096);
	snprintf(text + 4096, sizeof(text) - 4096, "\nserver 10.0.0.1 port 22 key long.key\n");
	put_text(tpath("long.conf"), text);
	expect_load(tpath("long.conf"), 0, NULL, NULL);
	memset(text, '#', 4097);
	snprintf(text + 4097, sizeof(text) - 4097, "\nserver 10.0.0.1 port 22 key long.key\n");
	put_text(tpath("long.conf"), text);
	expect_load(tpath("long.conf"), 1, NULL, "long.conf:1: line longer than 4096 bytes", NULL);
	unlink(tpath("long.conf"));
	unlink(tpath("long.key"));
}

/* tap_file_check_owner with made-up stat results: needs no root. */
static void test_owner_rule(void)
{
	static const struct {
		int uid;	/* -1: the caller's, -2: another user */
		mode_t mode;
		const char *word;	/* NULL: accepted */
	} cases[] = {
		{ 0, 0644, NULL }, { 0, 0600, NULL }, { 0, 0444, NULL }, { -1, 0600, NULL },
		{ -1, 0644, NULL }, { 0, 0664, "mode 0664 lets group/others modify it" },
		{ 0, 0646, "mode 0646 lets group/others modify it" },
		{ -1, 0620, "mode 0620" }, { -2, 0600, "not by root" },
		{ -2, 0644, "not by root" },
	};
	char err[512];
	struct stat st;
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&st, 0, sizeof(st));
		st.st_mode = S_IFREG | cases[i].mode;
		st.st_uid = cases[i].uid == -1 ? geteuid() :
			    cases[i].uid == -2 ? geteuid() + 4242 : (uid_t)cases[i].uid;
		err[0] = '\0';
		r = tap_file_check_owner("/x/f", &st, err, sizeof(err));
		if (!cases[i].word) {
			CHECK(r == 0, "case %zu refused: %s", i, err);
			continue;
		}
		CHECK(r == -1 && !strncmp(err, "/x/f: ", 6) && strstr(err, cases[i].word) &&
		      strstr(err, "; run ch") && strstr(err, " /x/f"),
		      "case %zu: \"%s\" (wanted \"%s\", the file and the fix)", i, err,
		      cases[i].word);
	}
}

/* Issue 8: the daemon refused to trust files others could change. */
static void test_owner_files(void)
{
	char want[700];

	if (geteuid() != 0) {
		printf("test_owner_files: skipped (needs root to chown)\n");
		return;
	}
	put_key("own.key", 0);
	put_text(tpath("own.conf"), "server 10.0.0.1 port 22 key own.key\n");
	expect_load(tpath("own.conf"), 0, NULL, NULL);

	CHECK(chmod(tpath("own.conf"), 0664) == 0, "chmod");
	snprintf(want, sizeof(want), "%s: mode 0664 lets group/others modify it; run chmod go-w %s",
		 tpath("own.conf"), tpath("own.conf"));
	expect_load(tpath("own.conf"), 1, NULL, want, NULL);
	CHECK(chmod(tpath("own.conf"), 0646) == 0, "chmod");
	expect_load(tpath("own.conf"), 1, NULL, "mode 0646 lets group/others modify it", NULL);
	CHECK(chmod(tpath("own.conf"), 0644) == 0 && chown(tpath("own.conf"), 65534, 0) == 0,
	      "chown: %s", strerror(errno));
	snprintf(want, sizeof(want), "%s: owned by uid 65534, not by root: that user could "
		 "change it; run chown root %s", tpath("own.conf"), tpath("own.conf"));
	expect_load(tpath("own.conf"), 1, NULL, want, NULL);
	CHECK(chown(tpath("own.conf"), 0, 0) == 0, "chown: %s", strerror(errno));

	/* the key file, through the shared key file reader */
	CHECK(chown(tpath("own.key"), 65534, 65534) == 0, "chown: %s", strerror(errno));
	snprintf(want, sizeof(want), "own.conf:1: key file %s: owned by uid 65534, not by root",
		 tpath("own.key"));
	expect_load(tpath("own.conf"), 1, NULL, want, "run chown root", NULL);
	CHECK(chown(tpath("own.key"), 0, 0) == 0 && chmod(tpath("own.key"), 0644) == 0,
	      "chmod: %s", strerror(errno));
	/* still refused for being readable, with the same words as before */
	expect_load(tpath("own.conf"), 1, NULL, "mode 0644 lets group/others read the key; "
		    "run chmod 600", NULL);
	unlink(tpath("own.conf"));
	unlink(tpath("own.key"));
}

/*
 * Issue 8: keys are wiped when they are replaced (SIGHUP: the new config
 * is loaded, then the old one freed) and at exit; three key files make the
 * key array grow twice.
 */
static void test_wipe(void)
{
	struct cd_config a, b;
	int i, j;

	put_key("w0.key", 0);
	put_key("w1.key", 1);
	put_key("w2.key", 2);
	put_text(tpath("a.conf"),
		 "server 10.0.0.1 port 22 key w0.key\n"
		 "server 10.0.0.2 port 22 key w1.key\n"
		 "server 10.0.0.3 port 22 key w0.key\n"
		 "server 10.0.0.4 port 22 key w2.key\n");
	put_text(tpath("b.conf"), "server 10.0.0.1 port 22 key w1.key\n");
	unwiped = 0;
	expect_load(tpath("a.conf"), 0, &a, NULL);
	CHECK(a.nkeys == 3, "%d keys, wanted 3", a.nkeys);
	for (i = 0; i < a.nkeys && i < 3; i++) {
		j = a.keys[i].id - 10;
		CHECK(j == i && !memcmp(a.keys[i].key.raw, secrets[i], TAP_KEY_LEN) &&
		      !memcmp(a.keys[i].realm.raw, REALM, TAP_KEY_LEN),
		      "key %d: id %u or its bytes or realm are wrong", i, a.keys[i].id);
	}
	CHECK(a.servers[2].key == 0 && a.servers[3].key == 2, "keys of the entries: %d, %d",
	      a.servers[2].key, a.servers[3].key);
	CHECK(unwiped == 0, "loading 3 keys freed or moved %d blocks holding a key", unwiped);
	expect_load(tpath("b.conf"), 0, &b, NULL);
	cd_config_free(&a);	/* what reload does with the old config */
	CHECK(unwiped == 0, "replacing the config freed %d blocks holding a key", unwiped);
	cd_config_free(&b);	/* at exit */
	CHECK(unwiped == 0, "freeing the config at exit freed %d blocks holding a key",
	      unwiped);
	for (i = 0; i < 3; i++) {
		char name[24];

		snprintf(name, sizeof(name), "w%d.key", i);
		unlink(tpath(name));
	}
	unlink(tpath("a.conf"));
	unlink(tpath("b.conf"));
}

#include "fake_getaddrinfo.h"

/* ---- host names: getaddrinfo from a table ------------------------------ */

static const char *host_v4 = "192.0.2.7";	/* tap-server.test, changeable */
static int resolves;				/* calls of getaddrinfo */

int __wrap_getaddrinfo(const char *name, const char *service,
		       const struct addrinfo *hints, struct addrinfo **res)
{
	(void)service;
	(void)hints;
	resolves++;
	if (!strcmp(name, "v6.test"))
		return fake_addrinfo("2001:db8::7", res);
	if (!strcmp(name, "tap-server.test"))
		return fake_addrinfo(host_v4, res);
	return EAI_NONAME;
}

/* The server of cfg covers ADDR port 22 (and nothing else of the family). */
static bool covers(const struct cd_config *cfg, int family, const char *addr)
{
	struct tap_addr a = { 0 };

	inet_pton(family == 4 ? AF_INET : AF_INET6, addr, a.b);
	return cd_config_match(cfg, (uint8_t)family, &a, 22) != NULL;
}

static void test_host_names(void)
{
	struct cd_config cfg;
	char want[600];
	int before;

	put_key("h.key", 0);
	put_text(tpath("h.conf"), "server tap-server.test port 22 key h.key\n");
	snprintf(want, sizeof(want), "%s:1: server tap-server.test resolves to 192.0.2.7",
		 tpath("h.conf"));
	expect_load(tpath("h.conf"), 0, &cfg, want, NULL);
	CHECK(cfg.nservers == 1 && cfg.servers[0].family == 4 && cfg.servers[0].prefix == 32 &&
	      covers(&cfg, 4, "192.0.2.7") && !covers(&cfg, 4, "192.0.2.8"),
	      "tap-server.test: not exactly 192.0.2.7/32");
	log_reset();
	cd_config_describe(&cfg, LOG_INFO);
	CHECK(strstr(logbuf, "server tap-server.test (192.0.2.7) port 22"),
	      "describe does not show the address:\n%s", logbuf);
	cd_config_free(&cfg);

	/* each load resolves again (a SIGHUP): the new address is used */
	host_v4 = "198.51.100.9";
	before = resolves;
	expect_load(tpath("h.conf"), 0, &cfg, "resolves to 198.51.100.9", NULL);
	CHECK(resolves == before + 1 && covers(&cfg, 4, "198.51.100.9") &&
	      !covers(&cfg, 4, "192.0.2.7"), "the reload did not resolve the name again");
	cd_config_free(&cfg);
	host_v4 = "192.0.2.7";

	put_text(tpath("h.conf"), "server v6.test port 22 key h.key\n");
	expect_load(tpath("h.conf"), 0, &cfg, "server v6.test resolves to 2001:db8::7", NULL);
	CHECK(cfg.servers[0].family == 6 && cfg.servers[0].prefix == 128 &&
	      covers(&cfg, 6, "2001:db8::7") && cfg.has_v6 && !cfg.has_v4, "v6.test");
	cd_config_free(&cfg);

	/* a name that does not resolve is an error with the name and reason */
	put_text(tpath("h.conf"), "queue 9\nserver nosuch.test port 22 key h.key\n");
	snprintf(want, sizeof(want), "%s:2: cannot resolve host name \"nosuch.test\": %s",
		 tpath("h.conf"), gai_strerror(EAI_NONAME));
	expect_load(tpath("h.conf"), 1, NULL, want, NULL);

	/* a prefix needs an address; words that are no name are not looked up */
	before = resolves;
	put_text(tpath("h.conf"), "server tap-server.test/24 port 22 key h.key\n"
		 "server bad_name port 22 key h.key\nserver -x.test port 22 key h.key\n"
		 "server 10.0.0.300 port 22 key h.key\n");
	expect_load(tpath("h.conf"), 4, NULL, "h.conf:1: bad address \"tap-server.test\"",
		    "h.conf:2: bad address \"bad_name\"", "h.conf:3: bad address",
		    NULL);
	/* 10.0.0.300 is all digits and dots: a mistyped address, not a name */
	CHECK(resolves == before, "%d lookups of words that are no host names",
	      resolves - before);
	unlink(tpath("h.conf"));
	unlink(tpath("h.key"));
}

/* The key written into the config (tap-keytool export). */
static void test_inline_key(void)
{
	char secret[64], realm[64], text[512], want[600];
	struct cd_config cfg;

	sodium_bin2base64(secret, sizeof(secret), secrets[1], TAP_KEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(realm, sizeof(realm), REALM, TAP_KEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(text, sizeof(text), "server 10.0.0.1 port 22 key-id 11 secret %s realm %s\n",
		 secret, realm);
	put_file(tpath("i.conf"), text, strlen(text), 0600);
	expect_load(tpath("i.conf"), 0, &cfg, NULL);
	CHECK(cfg.nkeys == 1 && cfg.keys[0].id == 11 && cfg.servers[0].key == 0,
	      "inline key: %d keys", cfg.nkeys);
	/* the same key as in a key file: the same fingerprint */
	put_key("i.key", 1);
	{
		struct cd_config kcfg;

		put_file(tpath("k.conf"), "server 10.0.0.1 port 22 key i.key\n", 34, 0644);
		expect_load(tpath("k.conf"), 0, &kcfg, NULL);
		CHECK(kcfg.keys[0].fpr == cfg.keys[0].fpr,
		      "inline key and key file give other fingerprints");
		cd_config_free(&kcfg);
		unlink(tpath("k.conf"));
	}
	cd_config_free(&cfg);
	CHECK(!strstr(logbuf, secret) && !strstr(logbuf, realm), "a secret in the log");

	/* others may read it: refused, and the log shows no secret */
	chmod(tpath("i.conf"), 0640);
	snprintf(want, sizeof(want), "i.conf:1: the entry carries a key (secret), but group or "
		 "others may read %s: chmod 600 it", tpath("i.conf"));
	expect_load(tpath("i.conf"), 1, NULL, want, NULL);
	CHECK(!strstr(logbuf, secret) && !strstr(logbuf, realm), "a secret in the log");

	snprintf(text, sizeof(text), "server 10.0.0.1 port 22 key-id 11 secret %s\n"
		 "server 10.0.0.2 port 22 key-id 11 secret %s realm %s key i.key\n"
		 "server 10.0.0.3 port 22 key-id 11 secret %.20s realm %s\n",
		 secret, secret, realm, secret, realm);
	put_file(tpath("i.conf"), text, strlen(text), 0600);
	expect_load(tpath("i.conf"), 3, NULL,
		    "i.conf:1: server 10.0.0.1: an inline key needs key-id, secret and realm",
		    "i.conf:2: server 10.0.0.2: \"key FILE\" and an inline key",
		    "i.conf:3: inline key: secret is 15 bytes; it must be exactly 16", NULL);
	CHECK(!strstr(logbuf, secret) && !strstr(logbuf, realm), "a secret in the log");
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(realm, sizeof(realm));
	sodium_memzero(text, sizeof(text));
	unlink(tpath("i.conf"));
	unlink(tpath("i.key"));
}

int main(void)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return 1;
	}
	alarm(60);	/* a hang (opening a FIFO) fails the test */
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	randombytes_buf(secrets, sizeof(secrets));
	test_file_names();
	test_relative();
	test_nul();
	test_long_lines();
	test_owner_rule();
	test_owner_files();
	test_wipe();
	test_host_names();
	test_inline_key();
	if (rmdir(dir) < 0)
		fprintf(stderr, "note: %s not empty\n", dir);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
