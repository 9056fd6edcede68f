// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: tap-keytool's parser of the kernel's netlink replies
 * (keytool_nl.c: key_msg_cb, stats_msg_cb, family_msg_cb) behind the
 * library's reply loop (lib/tap_nl.c: tap_nl_parse, tap_nl_error), as
 * tap_nl_talk runs them on what it receives. The input is one control byte
 * (which reply, which sequence number is awaited), then one datagram of
 * netlink messages as the kernel would send it. Checks: the outcome is
 * "more to read", 0 or a positive errno, the kernel's error if it sent
 * one; the kernel's message is a terminated line without control
 * characters or trailing blanks; the parsed rows and counters stay in
 * their arrays.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>

#include "keytool.h"

#define fail(...) do {							\
	fprintf(stderr, "fuzz_keytool_nl: " __VA_ARGS__);		\
	fputc('\n', stderr);						\
	abort();							\
} while (0)

/* tap-keytool.c's: the reply parsers only die when out of memory. */
void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	abort();
}

static void check_extack(const struct tap_nl *nl)
{
	size_t n = strnlen(nl->extack, sizeof(nl->extack)), i;

	if (n == sizeof(nl->extack))
		fail("extack not terminated");
	for (i = 0; i < n; i++)
		if ((unsigned char)nl->extack[i] < 0x20 ||
		    (unsigned char)nl->extack[i] == 0x7f)
			fail("control character in the kernel's message");
	if (n && (nl->extack[n - 1] == ' ' || nl->extack[n - 1] == '\n'))
		fail("trailing blank in the kernel's message");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const mnl_cb_t cbs[4] = { key_msg_cb, stats_msg_cb, family_msg_cb, NULL };
	struct tap_nl nl;
	struct key_list keys = { 0 };
	struct stats_reply stats;
	uint16_t family = 0;
	void *arg[4] = { &keys, &stats, &family, NULL };
	uint8_t ctl;
	void *buf;
	size_t i;
	int ret;

	if (size < 1)
		return 0;
	ctl = data[0];
	/*
	 * As tap_nl_talk hands it over: the datagram, then zeros up to its
	 * alignment, and nothing more for ASan to let through.
	 */
	buf = calloc(1, MNL_ALIGN(size - 1) ? MNL_ALIGN(size - 1) : 1);
	if (!buf)
		abort();
	memcpy(buf, data + 1, size - 1);
	memset(&nl, 0, sizeof(nl));
	memset(&stats, 0, sizeof(stats));
	nl.portid = ctl & 4 ? 4242 : 0;
	ret = tap_nl_parse(&nl, buf, size - 1, ctl & 8 ? 77 : 0, cbs[ctl & 3],
			   arg[ctl & 3]);
	if (ret < -1 || (ret >= 0 && nl.err && ret != nl.err) || nl.err < 0)
		fail("returned %d, kernel error %d", ret, nl.err);
	check_extack(&nl);
	if (keys.n > keys.cap || (keys.n && !keys.rows))
		fail("%zu rows of %zu", keys.n, keys.cap);
	for (i = 0; i < keys.n; i++)
		if (keys.rows[i].have_rate && !keys.rows[i].rate && keys.rows[i].fpr == 1)
			break;	/* read every row: ASan checks they are ours */
	free(keys.rows);
	free(buf);
	return 0;
}
