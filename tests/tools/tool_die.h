/* SPDX-License-Identifier: GPL-2.0 */
/*
 * die(): the test tools' fatal error, "PROG: message" on stderr and exit 1.
 * The including file defines `prog` first.
 */
#ifndef TAP_TOOL_DIE_H
#define TAP_TOOL_DIE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

#endif /* TAP_TOOL_DIE_H */
