/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A tiny TAP producer for unit tests: every check is one numbered test point, the plan
 * ("1..N") comes last, and a failed check names its file and line.  tap_done() is main's
 * return value: 1 if any check failed.
 *
 *      CHECK(n == 3, "three LUNs");
 *      CHECK_STREQ(t->iqn, "iqn.2021-02.com.example:target1");
 *      CHECK_EQ(b->size, 10ULL << 30);
 *      return tap_done();
 */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned tap_count, tap_failures;

static inline __attribute__((format(printf, 5, 6))) bool
tap_check(bool ok, const char *file, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("%s %u - ", ok ? "ok" : "not ok", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!ok) {
		tap_failures++;
		printf("#   failed at %s:%d: %s\n", file, line, expr);
	}
	fflush(stdout);
	return ok;
}

static inline bool tap_check_streq(const char *a, const char *b, const char *file, int line,
				   const char *expr_a, const char *expr_b)
{
	bool ok = a && b ? strcmp(a, b) == 0 : a == b;

	if (!tap_check(ok, file, line, expr_a, "%s == \"%s\"", expr_a, b ? b : "(null)"))
		printf("#   got \"%s\", expected %s \"%s\"\n", a ? a : "(null)", expr_b,
		       b ? b : "(null)");
	return ok;
}

static inline bool tap_check_eq(unsigned long long a, unsigned long long b, const char *file,
				int line, const char *expr_a, const char *expr_b)
{
	if (!tap_check(a == b, file, line, expr_a, "%s == %s", expr_a, expr_b))
		printf("#   got %llu, expected %llu\n", a, b);
	return a == b;
}

static inline void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static inline void tap_skip(const char *reason)
{
	printf("ok %u # SKIP %s\n", ++tap_count, reason);
}

static inline int tap_done(void)
{
	printf("1..%u\n", tap_count);
	if (tap_failures)
		printf("# %u of %u checks failed\n", tap_failures, tap_count);
	return tap_failures ? 1 : 0;
}

/* CHECK_EQ, signed (errno values read better as -2 than as 2^64 - 2) and with a description. */
static inline bool check_int(long long got, long long want, const char *file, int line,
			     const char *expr, const char *desc)
{
	if (!tap_check(got == want, file, line, expr, "%s", desc)) {
		tap_diag("  got %lld, expected %lld", got, want);
		return false;
	}
	return true;
}

static inline bool check_str(const char *got, const char *want, const char *file, int line,
			     const char *expr, const char *desc)
{
	bool ok = got && want ? strcmp(got, want) == 0 : got == want;

	if (!tap_check(ok, file, line, expr, "%s", desc)) {
		tap_diag("  got \"%s\", expected \"%s\"", got ? got : "(null)",
			 want ? want : "(null)");
		return false;
	}
	return true;
}

/* For fixtures that cannot be set up: the rest of the test would mean nothing. */
static inline void bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Writes a fixture file <dir>/<name> with that mode; returns its malloc'ed path. */
static inline char *tap_write_file(const char *dir, const char *name, const char *content,
				   mode_t mode)
{
	char *path;
	int fd;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		bail("asprintf");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content) ||
	    fchmod(fd, mode) < 0 || close(fd) < 0)
		bail(path);
	return path;
}

#define CHECK_INT(got, want, desc) check_int((got), (want), __FILE__, __LINE__, #got, desc)
#define CHECK_STR(got, want, desc) check_str((got), (want), __FILE__, __LINE__, #got, desc)

/* Each returns whether the check passed, so that a test can stop before dereferencing. */
#define CHECK(cond, ...)  tap_check(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)
#define CHECK_STREQ(a, b) tap_check_streq((a), (b), __FILE__, __LINE__, #a, #b)
#define CHECK_EQ(a, b)                                                                             \
	tap_check_eq((unsigned long long)(a), (unsigned long long)(b), __FILE__, __LINE__, #a, #b)
