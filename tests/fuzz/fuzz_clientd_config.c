// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: tap-clientd's configuration parser (clientd_config.c,
 * cd_config_parse: cd_config_load once the file is open). The input is
 * the file's text; it sits in a scratch directory next to two valid key
 * files (a.key, b.key) and one that is refused (open.key, mode 0644).
 * Checks: whatever is accepted is within the documented bounds (families,
 * prefixes with no host bits, 1-32 port ranges of ports 1-65535, a loaded
 * key per server, the global values' ranges); a file without errors has a
 * server; cd_config_match finds the first entry that covers each server's
 * own network and port; no message shows a key's secret; the result can be
 * described and freed.
 */
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "clientd.h"
#include "tap_keyfile.h"

static void cleanup(void);

#define fail(...) do {							\
	fprintf(stderr, "fuzz_clientd_config: " __VA_ARGS__);		\
	fputc('\n', stderr);						\
	cleanup();							\
	abort();							\
} while (0)

static char dir[] = "/tmp/fuzz_clientd_config.XXXXXX";
static char conf_path[PATH_MAX];
/* The secrets in the key files, as base64 and as the daemon's hex. */
static char secrets[6][64];
static int nsecrets;
static const uint8_t *input;	/* the text being parsed */
static size_t input_len;

int cd_verbosity = 2;

/* clientd_sys.c's logger, replaced: every message is checked, none shown. */
void cd_log(int prio, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	int i;

	(void)prio;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (i = 0; i < nsecrets; i++)
		if (strstr(msg, secrets[i]) &&
		    !memmem(input, input_len, secrets[i], strlen(secrets[i])))
			fail("a message shows a key's secret: %s", msg);
}

static void write_key(const char *name, uint16_t id, uint8_t fill, mode_t mode)
{
	char path[PATH_MAX], err[256];
	struct tap_keyfile kf = { .id = id };

	memset(kf.secret, fill, sizeof(kf.secret));
	memset(kf.realm, 0x5a, sizeof(kf.realm));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (tap_keyfile_write(path, &kf, err, sizeof(err)) < 0 || chmod(path, mode) < 0) {
		fprintf(stderr, "cannot write %s: %s\n", path, err);
		exit(2);
	}
	sodium_bin2base64(secrets[nsecrets++], sizeof(secrets[0]), kf.secret,
			  sizeof(kf.secret), sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2hex(secrets[nsecrets++], sizeof(secrets[0]), kf.secret, 8);
}

static void cleanup(void)
{
	static const char *const names[] = { "a.key", "b.key", "open.key" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0 || !mkdtemp(dir))
		abort();
	atexit(cleanup);
	write_key("a.key", 3, 0x11, 0600);
	write_key("b.key", 4, 0x22, 0600);
	nsecrets = 4;
	write_key("open.key", 5, 0x33, 0644);
	nsecrets = 4;	/* open.key is refused unread: its secret may show */
	snprintf(conf_path, sizeof(conf_path), "%s/clientd.conf", dir);
	return 0;
}

static bool contains(const struct cd_server *s, const struct tap_addr *a)
{
	int i, prefix = s->prefix;

	for (i = 0; i < 16 && prefix > 0; i++, prefix -= 8) {
		uint8_t m = prefix >= 8 ? 0xff : (uint8_t)(0xff << (8 - prefix));

		if ((a->b[i] & m) != s->net.b[i])
			return false;
	}
	return true;
}

static void check_server(const struct cd_config *cfg, int idx)
{
	const struct cd_server *s = &cfg->servers[idx], *m;
	int max = s->family == 4 ? 32 : 128, i;

	if ((s->family != 4 && s->family != 6) || s->prefix > max)
		fail("server %d: family %u prefix %u", idx, s->family, s->prefix);
	for (i = 0; i < 16; i++) {
		int bits = s->prefix - 8 * i;
		uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));

		if (s->net.b[i] & ~mask)
			fail("server %d: host bits set", idx);
	}
	if (s->nports < 1 || s->nports > CD_MAX_PORTS)
		fail("server %d: %d port ranges", idx, s->nports);
	for (i = 0; i < s->nports; i++)
		if (!s->ports[i].lo || s->ports[i].lo > s->ports[i].hi)
			fail("server %d: port range %u-%u", idx, s->ports[i].lo,
			     s->ports[i].hi);
	if (s->key < 0 || s->key >= cfg->nkeys)
		fail("server %d: key index %d of %d", idx, s->key, cfg->nkeys);
	if (s->bind & ~TAP_BIND_ALL || !memchr(s->name, '\0', sizeof(s->name)))
		fail("server %d: bind %#x or name unterminated", idx, s->bind);
	if (s->family == 4 ? !cfg->has_v4 : !cfg->has_v6)
		fail("server %d: family not flagged", idx);

	m = cd_config_match(cfg, s->family, &s->net, s->ports[0].hi);
	if (!m || m > s || m->family != s->family || !contains(m, &s->net))
		fail("server %d: not matched by its own network and port", idx);
	for (i = 0; i < m->nports; i++)
		if (s->ports[0].hi >= m->ports[i].lo && s->ports[0].hi <= m->ports[i].hi)
			break;
	if (i == m->nports)
		fail("server %d: matched an entry without the port", idx);
}

#include "../unit/fake_getaddrinfo.h"

/*
 * Host names (linked with --wrap=getaddrinfo,--wrap=freeaddrinfo): one
 * name resolves, to 192.0.2.1; no input ever makes a DNS query.
 */
int __wrap_getaddrinfo(const char *name, const char *service,
		       const struct addrinfo *hints, struct addrinfo **res)
{
	(void)service;
	(void)hints;
	if (strcmp(name, "tap.test"))
		return EAI_NONAME;
	return fake_addrinfo("192.0.2.1", res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cd_config cfg;
	FILE *f;
	int errors, i;

	if (!size)
		return 0;
	input = data;
	input_len = size;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		abort();
	errors = cd_config_parse(conf_path, f, &cfg);
	fclose(f);
	if (errors < 0 || (!errors && cfg.nservers < 1))
		fail("%d errors, %d servers", errors, cfg.nservers);
	if (cfg.nservers > CD_MAX_SERVERS || cfg.nkeys < 0 || !cfg.path)
		fail("%d servers, %d keys", cfg.nservers, cfg.nkeys);
	if (cfg.copies < 1 || cfg.copies > 4 || cfg.reuse_token > 3600 ||
	    cfg.priority < -400 || cfg.priority > 400 || !cfg.mark)
		fail("globals out of range");
	for (i = 0; i < cfg.nkeys; i++)
		if (!cfg.keys[i].path)
			fail("key %d without its path", i);
	for (i = 0; i < cfg.nservers; i++)
		check_server(&cfg, i);
	cd_config_describe(&cfg, LOG_DEBUG);
	cd_config_free(&cfg);
	return 0;
}
