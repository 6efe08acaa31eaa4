/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs independent pieces of work on a few threads: configfs calls mostly wait in the kernel,
   so the scanner and the executor overlap them. */
#pragma once

#include <stddef.h>

/*
 * Calls fn(userdata, i) for every i in [0, n) on up to `workers` threads (inline when one is
 * enough).  After the first negative return no new index is handed out; that value is
 * returned.  Returns 0 when every call returned >= 0.
 */
int tm_parallel_for(size_t n, unsigned workers, int (*fn)(void *userdata, size_t i),
		    void *userdata);
