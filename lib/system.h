/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host plumbing `apply` needs before configfs can be used: the kernel modules (through libkmod)
 * and the configfs mount (through libmount).  The only code that loads modules or mounts.
 */
#pragma once

#include <stdbool.h>

/* configfs, the LIO core, the iSCSI fabric, the backstore plugins, and crc32c (without it
   every iSCSI login fails with "crypto_alloc_ahash() failed"). NULL-terminated. */
extern const char *const tm_required_modules[];

/*
 * Loads each module (names or aliases) unless already loaded or built in.  On failure returns
 * a negative errno and sets *failed to the name that could not be loaded (static string).
 */
int tm_modules_load(const char *const *names, const char **failed);

/* Mounts configfs at root unless a configfs is mounted there already.  *mounted is set to
   true when this call mounted it. */
int tm_configfs_mount(const char *root, bool *mounted);
