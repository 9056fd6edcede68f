// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of lib/tap_keyfile.c: round trip, every refusal, and the
 * wording of the errors. Built with ASan+UBSan by `make build/test_keyfile`.
 */
#include "tap_keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "unit_files.h"

static char dir[] = "/tmp/test_keyfile.XXXXXX";

static const char *tpath(const char *name)
{
	return unit_path(dir, name);
}

static void put_text(const char *path, const char *text, mode_t mode)
{
	unit_put_file(path, text, strlen(text), mode);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

#define GOOD_B64 "AAECAwQFBgcICQoLDA0ODw=="	/* bytes 0..15 */
#define REALM_B64 "EBESExQVFhcYGRobHB0eHw=="	/* bytes 16..31 */
#define REALM_LINE "realm = " REALM_B64 "\n"

/* Reads text from a 0600 file; expects failure with every needle in err. */
static void expect_refused(const char *name, const char *text, ...)
{
	const char *path = tpath(name), *needle;
	struct tap_keyfile kf;
	char err[512] = "";
	va_list ap;
	int r;

	put_text(path, text, 0600);
	memset(&kf, 0xa5, sizeof(kf));
	r = tap_keyfile_read(path, &kf, err, sizeof(err));
	CHECK(r == -1, "%s: read returned %d, wanted -1", name, r);
	CHECK(err[0] && !strchr(err, '\n'), "%s: error is not one line: \"%s\"", name, err);
	CHECK(strncmp(err, path, strlen(path)) == 0,
	      "%s: error does not name the file: \"%s\"", name, err);
	CHECK(!strstr(err, GOOD_B64) && !strstr(err, "AAECAwQF") &&
	      !strstr(err, "EBESExQV"),
	      "%s: error shows the secret: \"%s\"", name, err);
	CHECK(kf.id == 0xa5a5 && kf.secret[0] == 0xa5 && kf.secret[15] == 0xa5,
	      "%s: output changed on failure", name);
	va_start(ap, text);
	while ((needle = va_arg(ap, const char *)))
		CHECK(strstr(err, needle), "%s: error \"%s\" lacks \"%s\"", name, err, needle);
	va_end(ap);
	unlink(path);
}

static void expect_ok(const char *name, const char *text, unsigned int id)
{
	const char *path = tpath(name);
	struct tap_keyfile kf;
	char err[512] = "";
	int r, i;

	put_text(path, text, 0600);
	r = tap_keyfile_read(path, &kf, err, sizeof(err));
	if (CHECK(r == 0, "%s: refused: %s", name, err)) {
		CHECK(kf.id == id, "%s: id %u, wanted %u", name, kf.id, id);
		for (i = 0; i < TAP_KEY_LEN; i++)
			if (kf.secret[i] != i)
				break;
		CHECK(i == TAP_KEY_LEN, "%s: secret differs at byte %d", name, i);
		for (i = 0; i < TAP_KEY_LEN; i++)
			if (kf.realm[i] != 16 + i)
				break;
		CHECK(i == TAP_KEY_LEN, "%s: realm differs at byte %d", name, i);
	}
	unlink(path);
}

static void test_round_trip(void)
{
	const char *path = tpath("rt.key");
	struct tap_keyfile in, out;
	char err[512] = "";
	struct stat st;
	mode_t old;
	int r, id;

	for (id = 0; id <= 65535; id += 65535) {
		in.id = (uint16_t)id;
		randombytes_buf(in.secret, sizeof(in.secret));
		randombytes_buf(in.realm, sizeof(in.realm));
		old = umask(0);	/* the file must still be 0600 */
		r = tap_keyfile_write(path, &in, err, sizeof(err));
		umask(old);
		CHECK(r == 0, "write: %s", err);
		CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600,
		      "mode %04o, wanted 0600", (unsigned int)(st.st_mode & 07777));
		memset(&out, 0, sizeof(out));
		r = tap_keyfile_read(path, &out, err, sizeof(err));
		CHECK(r == 0, "read back: %s", err);
		CHECK(out.id == in.id && !memcmp(out.secret, in.secret, TAP_KEY_LEN) &&
		      !memcmp(out.realm, in.realm, TAP_KEY_LEN),
		      "round trip of id %d differs", id);
		unlink(path);
	}

	/* The written text is exactly the documented format. */
	for (r = 0; r < TAP_KEY_LEN; r++) {
		in.secret[r] = (uint8_t)r;
		in.realm[r] = (uint8_t)(16 + r);
	}
	in.id = 3;
	CHECK(tap_keyfile_write(path, &in, err, sizeof(err)) == 0, "write: %s", err);
	{
		char buf[512] = "";
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

		if (f)
			fclose(f);
		buf[n] = '\0';
		CHECK(strstr(buf, "\nversion = 2\nid = 3\nsecret = " GOOD_B64 "\n" REALM_LINE),
		      "unexpected file text:\n%s", buf);
		CHECK(buf[0] == '#', "no comment header:\n%s", buf);
	}

	/* Refuses to overwrite, and leaves the old file alone. */
	in.id = 4;
	err[0] = '\0';
	r = tap_keyfile_write(path, &in, err, sizeof(err));
	CHECK(r == -1, "overwrote an existing file");
	CHECK(strstr(err, "already exists") && strstr(err, "refusing to overwrite"),
	      "overwrite error: \"%s\"", err);
	CHECK(tap_keyfile_read(path, &out, err, sizeof(err)) == 0 && out.id == 3,
	      "existing file changed");
	unlink(path);

	/* Never follows a symlink, even a dangling one. */
	CHECK(symlink(tpath("target"), tpath("link")) == 0, "symlink: %s", strerror(errno));
	r = tap_keyfile_write(tpath("link"), &in, err, sizeof(err));
	CHECK(r == -1 && strstr(err, "already exists"), "wrote through a symlink: %s", err);
	CHECK(!exists(tpath("target")), "created the symlink's target");
	unlink(tpath("link"));

	/* No such directory. */
	r = tap_keyfile_write(tpath("nodir/x.key"), &in, err, sizeof(err));
	CHECK(r == -1 && strstr(err, "cannot create") && strstr(err, "No such file"),
	      "error: \"%s\"", err);

	/* A write that fails half way leaves nothing behind. */
	{
		struct rlimit old_rl, rl = { 10, 10 };

		signal(SIGXFSZ, SIG_IGN);
		getrlimit(RLIMIT_FSIZE, &old_rl);
		rl.rlim_max = old_rl.rlim_max;
		setrlimit(RLIMIT_FSIZE, &rl);
		r = tap_keyfile_write(path, &in, err, sizeof(err));
		setrlimit(RLIMIT_FSIZE, &old_rl);
		signal(SIGXFSZ, SIG_DFL);
		CHECK(r == -1 && strstr(err, "write error"), "short write: r=%d \"%s\"", r, err);
		CHECK(!exists(path), "a failed write left %s behind", path);
	}

	tap_keyfile_wipe(&in);
	for (r = 0; r < (int)sizeof(in); r++)
		if (((unsigned char *)&in)[r])
			break;
	CHECK(r == (int)sizeof(in), "tap_keyfile_wipe left byte %d", r);
}

static void test_modes(void)
{
	static const struct {
		mode_t mode;
		const char *word;	/* NULL: accepted */
	} cases[] = {
		{ 0600, NULL }, { 0400, NULL }, { 0700, NULL }, { 0000, NULL },
		{ 0644, "read" }, { 0640, "read" }, { 0604, "read" },
		{ 0666, "read" }, { 0620, "modify" }, { 0602, "modify" },
	};
	const char *path = tpath("mode.key");
	char want[640], err[512];
	struct tap_keyfile kf;
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put_text(path, "version = 2\nid = 7\nsecret = " GOOD_B64 "\n" REALM_LINE, cases[i].mode);
		err[0] = '\0';
		r = tap_keyfile_read(path, &kf, err, sizeof(err));
		if (!cases[i].word) {
			CHECK(r == 0, "mode %04o refused: %s", (unsigned int)cases[i].mode, err);
			continue;
		}
		snprintf(want, sizeof(want),
			 "%s: mode %04o lets group/others %s the key; run chmod 600 %s",
			 path, (unsigned int)cases[i].mode, cases[i].word, path);
		CHECK(r == -1 && !strcmp(err, want), "mode %04o: got \"%s\", wanted \"%s\"",
		      (unsigned int)cases[i].mode, err, want);
	}
	unlink(path);
}

static void test_not_regular(void)
{
	struct tap_keyfile kf;
	char err[512];
	int r;

	r = tap_keyfile_read(dir, &kf, err, sizeof(err));
	CHECK(r == -1 && strstr(err, "a directory, not a key file"), "dir: \"%s\"", err);

	CHECK(mkfifo(tpath("fifo"), 0600) == 0, "mkfifo: %s", strerror(errno));
	r = tap_keyfile_read(tpath("fifo"), &kf, err, sizeof(err));	/* must not hang */
	CHECK(r == -1 && strstr(err, "a FIFO, not a key file"), "fifo: \"%s\"", err);
	unlink(tpath("fifo"));

	r = tap_keyfile_read("/dev/null", &kf, err, sizeof(err));
	CHECK(r == -1 && strstr(err, "a character device, not a key file"),
	      "/dev/null: \"%s\"", err);

	r = tap_keyfile_read(tpath("missing.key"), &kf, err, sizeof(err));
	CHECK(r == -1 && strstr(err, "cannot open: No such file or directory"),
	      "missing: \"%s\"", err);

	/* A symlink to a good file is read (fstat checks the target). */
	put_text(tpath("real.key"), "version=2\nid=1\nsecret=" GOOD_B64 "\n" REALM_LINE, 0600);
	CHECK(symlink(tpath("real.key"), tpath("sym.key")) == 0, "symlink");
	r = tap_keyfile_read(tpath("sym.key"), &kf, err, sizeof(err));
	CHECK(r == 0, "symlink to a good key refused: %s", err);
	unlink(tpath("sym.key"));
	unlink(tpath("real.key"));
}

static void test_size(void)
{
	char big[TAP_KEYFILE_MAX + 2];
	const char *body = "version = 2\nid = 5\nsecret = " GOOD_B64 "\n" REALM_LINE;
	size_t blen = strlen(body);
	struct tap_keyfile kf;
	char err[512];
	int r;

	/* Exactly TAP_KEYFILE_MAX bytes: comment padding, then the keys. */
	memset(big, '#', sizeof(big));
	big[0] = '#';
	big[TAP_KEYFILE_MAX - blen - 1] = '\n';
	memcpy(big + TAP_KEYFILE_MAX - blen, body, blen);
	unit_put_file(tpath("max.key"), big, TAP_KEYFILE_MAX, 0600);
	r = tap_keyfile_read(tpath("max.key"), &kf, err, sizeof(err));
	CHECK(r == 0 && kf.id == 5, "%d-byte file refused: %s", TAP_KEYFILE_MAX, err);

	/* One byte more. */
	memmove(big + 1, big, TAP_KEYFILE_MAX);
	unit_put_file(tpath("max.key"), big, TAP_KEYFILE_MAX + 1, 0600);
	r = tap_keyfile_read(tpath("max.key"), &kf, err, sizeof(err));
	CHECK(r == -1 && strstr(err, "too large (4097 bytes; a key file has at most 4096)"),
	      "oversize: \"%s\"", err);
	unlink(tpath("max.key"));

	unit_put_file(tpath("nul.key"), "version = 2\n\0id = 1\n", 20, 0600);
	r = tap_keyfile_read(tpath("nul.key"), &kf, err, sizeof(err));
	CHECK(r == -1 && strstr(err, "contains a NUL byte"), "nul: \"%s\"", err);
	unlink(tpath("nul.key"));
}

static void test_syntax(void)
{
	/* Accepted variations. */
	expect_ok("plain", "version = 2\nid = 3\nsecret = " GOOD_B64 "\n" REALM_LINE, 3);
	expect_ok("order", REALM_LINE "secret = " GOOD_B64 "\nid = 3\nversion = 2", 3);
	expect_ok("spacing", "# c\n\n   \n\tversion=2  \n  id\t=\t0\r\n#x = y\nsecret= " GOOD_B64 "\r\n  realm =" REALM_B64 "\n", 0);
	expect_ok("maxid", "version = 2\nid = 65535\nsecret = " GOOD_B64 "\n" REALM_LINE, 65535);
	expect_ok("zeros", "version = 2\nid = 007\nsecret = " GOOD_B64 "\n" REALM_LINE, 7);

	/* Structure. */
	expect_refused("empty", "", "missing \"version = ...\" line", NULL);
	expect_refused("comments", "# only\n\n", "missing \"version", NULL);
	expect_refused("noid", "version = 2\nsecret = " GOOD_B64 "\n",
		       "missing \"id = ...\" line", NULL);
	expect_refused("nosecret", "version = 2\nid = 1\n",
		       "missing \"secret = ...\" line", NULL);
	expect_refused("noequals", "version = 2\nid 1\n", ":2: expected \"key = value\"", NULL);
	expect_refused("unknown", "version = 2\nid = 1\nsecret = " GOOD_B64 "\n" REALM_LINE "owner = me\n",
		       ":5: unknown key \"owner\"", "version, id, secret and realm", NULL);
	expect_refused("emptykey", "= 1\n", ":1: unknown key \"\"", NULL);
	expect_refused("casekey", "Version = 1\n", "unknown key \"Version\"", NULL);
	expect_refused("dupid", "version = 2\nid = 1\nid = 1\nsecret = " GOOD_B64 "\n",
		       ":3: duplicate key \"id\" (first set on line 2)", NULL);
	expect_refused("dupver", "version = 2\n\nversion = 2\n",
		       ":3: duplicate key \"version\"", NULL);
	expect_refused("dupsecret", "secret = " GOOD_B64 "\nsecret = " GOOD_B64 "\n",
		       ":2: duplicate key \"secret\"", NULL);
	expect_refused("trailingcomment", "version = 2 # one\n", ":1: bad version", NULL);

	/* Numbers. */
	expect_refused("ver3", "version = 3\nid = 1\nsecret = " GOOD_B64 "\n" REALM_LINE,
		       ":1: unsupported key file version 3 (this program reads version 2)", NULL);
	expect_refused("ver1", "version = 1\nid = 1\nsecret = " GOOD_B64 "\n",
		       ":1: key file version 1 is for TAP protocol 1, which has no realm",
		       "tap-keytool genkey", NULL);
	expect_refused("verx", "version = one\n", ":1: bad version \"one\"", NULL);
	expect_refused("verempty", "version =\n", ":1: bad version \"\"", NULL);
	expect_refused("verhuge", "version = 99999999999999999999999\n", "bad version", NULL);
	/* 2^64 + 1: a parser that wraps would read version 1. */
	expect_refused("verwrap", "version = 18446744073709551617\nid = 1\nsecret = " GOOD_B64 "\n",
		       ":1: bad version", NULL);
	expect_refused("idabc", "version = 2\nid = abc\n",
		       ":2: bad id \"abc\": expected a number from 0 to 65535", NULL);
	expect_refused("idbig", "version = 2\nid = 65536\n", ":2: bad id \"65536\"", NULL);
	expect_refused("idhuge", "version = 2\nid = 18446744073709551617\n",
		       ":2: bad id \"18446744073709551617\"", NULL);
	expect_refused("idneg", "version = 2\nid = -1\n", ":2: bad id \"-1\"", NULL);
	expect_refused("idplus", "version = 2\nid = +1\n", ":2: bad id \"+1\"", NULL);
	expect_refused("idhex", "version = 2\nid = 0x10\n", ":2: bad id \"0x10\"", NULL);
	expect_refused("idspace", "version = 2\nid = 1 2\n", ":2: bad id \"1 2\"", NULL);
	expect_refused("idempty", "version = 2\nid =\n", ":2: bad id \"\"", NULL);
	expect_refused("idctl", "version = 2\nid = \x1b[31m\n", ":2: bad id \"?[31m\"", NULL);

	/* Secrets. */
	expect_refused("b64bad", "version = 2\nid = 1\nsecret = AAECAwQFBgcICQoLDA0OD!==\n",
		       ":3: secret is not valid base64", NULL);
	expect_refused("b64nopad", "version = 2\nid = 1\nsecret = AAECAwQFBgcICQoLDA0ODw\n",
		       ":3: secret is not valid base64", NULL);
	expect_refused("b64url", "version = 2\nid = 1\nsecret = AAECAwQFBgcICQoLDA0O_w==\n",
		       ":3: secret is not valid base64", NULL);
	expect_refused("b64space", "version = 2\nid = 1\nsecret = AAECAwQFBgcI CQoLDA0ODw==\n",
		       ":3: secret is not valid base64", NULL);
	expect_refused("b64empty", "version = 2\nid = 1\nsecret =\n", ":3: empty secret", NULL);
	expect_refused("short", "version = 2\nid = 1\nsecret = AAECAwQFBgcICQoLDA0O\n",
		       ":3: secret is 15 bytes; it must be exactly 16 bytes", NULL);
	expect_refused("long17", "version = 2\nid = 1\nsecret = AAECAwQFBgcICQoLDA0ODxA=\n",
		       ":3: secret is 17 bytes; it must be exactly 16 bytes", NULL);
	expect_refused("long32", "version = 2\nid = 1\nsecret = "
		       "AAECAwQFBgcICQoLDA0ODwABAgMEBQYHCAkKCwwNDg8=\n",
		       ":3: secret is 32 bytes", NULL);
	expect_refused("toolong", "version = 2\nid = 1\nsecret = "
		       "AAECAwQFBgcICQoLDA0ODwABAgMEBQYHCAkKCwwNDg8AAQIDBAUGBwgJCgsMDQ4PAAECAwQFBgcICQoLDA0ODw==\n",
		       ":3: secret is too long", NULL);

	/* Realms. */
	expect_refused("norealm", "version = 2\nid = 1\nsecret = " GOOD_B64 "\n",
		       "missing \"realm = ...\" line", NULL);
	expect_refused("realmbad", "version = 2\nid = 1\nsecret = " GOOD_B64
		       "\nrealm = AAECAwQFBgcICQoLDA0OD!==\n",
		       ":4: realm is not valid base64", NULL);
	expect_refused("realmshort", "version = 2\nid = 1\nsecret = " GOOD_B64
		       "\nrealm = AAECAwQFBgcICQoLDA0O\n",
		       ":4: realm is 15 bytes; it must be exactly 16 bytes", NULL);
	expect_refused("duprealm", REALM_LINE REALM_LINE,
		       ":2: duplicate key \"realm\"", NULL);
}

int main(void)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return 1;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_round_trip();
	test_modes();
	test_not_regular();
	test_size();
	test_syntax();
	rmdir(dir);
	if (exists(dir))
		fprintf(stderr, "note: %s not empty\n", dir);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
