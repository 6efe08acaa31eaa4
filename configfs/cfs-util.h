/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The few helpers cfs.c needs, private to configfs/: configfs is the bottom layer and uses
 * nothing from lib/.  Not installed, and not to be included next to lib/util.h (the cleanup
 * helpers have the same, conventional names).
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
