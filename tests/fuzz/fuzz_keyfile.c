// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the key-file parser (lib/tap_keyfile.c,
 * tap_keyfile_parse: what tap_keyfile_read does once the file is read).
 * The input is the file's text. Checks:
 *   - an accepted file yields a key that, written out canonically, parses
 *     back to the same id, secret and realm;
 *   - a refused one gets a one-line, printable reason, also when the
 *     error buffer is small, and kf is left untouched;
 *   - no reason ever shows the value of a secret or realm line.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tap_keyfile.h"

#define fail(...) do {							\
	fprintf(stderr, "fuzz_keyfile: " __VA_ARGS__);			\
	fputc('\n', stderr);						\
	abort();							\
} while (0)

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* The reason must not show a secret: the value of a secret or realm line. */
static void check_no_secret(const char *text, size_t len, const char *err)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *ks = p, *ke, *vs, *eq;
		char val[80];
		size_t n;

		p = nl ? nl + 1 : end;
		while (ks < le && is_blank(*ks))
			ks++;
		eq = memchr(ks, '=', (size_t)(le - ks));
		if (!eq)
			continue;
		for (ke = eq; ke > ks && is_blank(ke[-1]); ke--)
			;
		if (!((ke - ks == 6 && !memcmp(ks, "secret", 6)) ||
		      (ke - ks == 5 && !memcmp(ks, "realm", 5))))
			continue;
		for (vs = eq + 1; vs < le && is_blank(*vs); vs++)
			;
		for (n = (size_t)(le - vs); n && is_blank(vs[n - 1]); n--)
			;
		/*
		 * Short, not base64 (it could be words of a message) or repeated
		 * elsewhere in the file: not telling.
		 */
		if (n < 16 || n >= sizeof(val))
			continue;
		memcpy(val, vs, n);
		val[n] = '\0';
		if (strspn(val, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			   "0123456789+/=") != n)
			continue;
		if (memmem(text, len, val, n) != vs ||
		    memmem(vs + 1, (size_t)(end - vs - 1), val, n))
			continue;
		if (strstr(err, val))
			fail("the error shows a secret value: %s", err);
	}
}

static void check_reason(const char *err, size_t errlen)
{
	size_t n = strnlen(err, errlen), i;

	if (n == errlen)
		fail("error not terminated");
	if (n == 0 && errlen > 1)
		fail("refused without a reason");
	for (i = 0; i < n; i++)
		if ((unsigned char)err[i] < 0x20 || (unsigned char)err[i] >= 0x7f)
			fail("unprintable byte 0x%02x in the reason: %s",
			     (unsigned char)err[i], err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t errlens[] = { 512, 17, 1 };
	struct tap_keyfile kf, again;
	char *text, err[512], canon[256], s64[64], r64[64];
	size_t i;
	int ret = 0;

	/* an exact-size copy: ASan sees every read past the text */
	text = malloc(size ? size : 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	for (i = 0; i < sizeof(errlens) / sizeof(errlens[0]); i++) {
		memset(&kf, 0xa5, sizeof(kf));
		memset(err, 0x7f, sizeof(err));
		err[0] = '\0';
		ret = tap_keyfile_parse("k.key", text, size, &kf, err, errlens[i]);
		if (ret == 0)
			break;
		if (ret != -1)
			fail("returned %d", ret);
		check_reason(err, errlens[i]);
		if (errlens[i] == sizeof(err))
			check_no_secret(text, size, err);
		for (size_t j = 0; j < sizeof(kf); j++)
			if (((uint8_t *)&kf)[j] != 0xa5)
				fail("a refused file changed the key");
	}
	if (ret == 0) {
		sodium_bin2base64(s64, sizeof(s64), kf.secret, sizeof(kf.secret),
				  sodium_base64_VARIANT_ORIGINAL);
		sodium_bin2base64(r64, sizeof(r64), kf.realm, sizeof(kf.realm),
				  sodium_base64_VARIANT_ORIGINAL);
		snprintf(canon, sizeof(canon),
			 "version = %d\nid = %u\nsecret = %s\nrealm = %s\n",
			 TAP_KEYFILE_VERSION, kf.id, s64, r64);
		if (tap_keyfile_parse("canon", canon, strlen(canon), &again, err,
				      sizeof(err)) < 0)
			fail("the canonical form of an accepted file is refused: %s", err);
		if (again.id != kf.id || memcmp(again.secret, kf.secret, TAP_KEY_LEN) ||
		    memcmp(again.realm, kf.realm, TAP_KEY_LEN))
			fail("the canonical form parses to another key");
		tap_keyfile_wipe(&again);
		tap_keyfile_wipe(&kf);
	}
	free(text);
	return 0;
}
