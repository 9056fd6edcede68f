/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the unit tests share: CHECK, which counts and reports (naming the
 * test that RUN started, if any), and test files in one temporary
 * directory (unit_dir, made by the test with mkdtemp).
 */
#ifndef TAP_UNIT_FILES_H
#define TAP_UNIT_FILES_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int passed, failed;
static const char *unit_test_name;

#define CHECK(cond, ...) unit_check(!!(cond), __LINE__, #cond, __VA_ARGS__)

static inline bool __attribute__((format(printf, 4, 5)))
unit_check(bool ok, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		passed++;
		return true;
	}
	failed++;
	if (unit_test_name)
		fprintf(stderr, "FAIL %s, ", unit_test_name);
	fprintf(stderr, "%sline %d: %s: ", unit_test_name ? "" : "FAIL ", line, expr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return false;
}

/* TEST(name) defines one; RUN(name) runs it and prints its verdict. */
#define TEST(name) static void name(void)
#define RUN(name)                                                          \
	do {                                                               \
		int failed_before = failed;                                \
		unit_test_name = #name;                                    \
		name();                                                    \
		printf("%-34s %s\n", #name,                                \
		       failed == failed_before ? "ok" : "FAILED");         \
	} while (0)

/* unit_dir/name, in one of four buffers that take turns */
static inline const char *unit_path(const char *unit_dir, const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", unit_dir, name);
	return buf[i];
}

/* Replaces path with data and mode, or exits. */
static inline void unit_put_file(const char *path, const void *data, size_t len,
				 mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) ||
	    close(fd)) {
		perror(path);
		exit(1);
	}
}

#endif /* TAP_UNIT_FILES_H */
