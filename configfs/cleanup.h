/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fundamentals every layer uses: cleanup attributes and streq.  They live in configfs/,
 * the bottom layer, which uses nothing from lib/; lib/util.h includes this file and adds the
 * rest.  Not installed.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define _cleanup_close_ _cleanup_(closep)

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}
