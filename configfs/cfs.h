/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * configfs I/O: the only code in targetmgr that touches /sys/kernel/config.
 *
 * A struct tm_cfs holds a directory fd on the configfs root (normally /sys/kernel/config,
 * any directory in tests).  Every path below is relative to that root, e.g.
 * "target/iscsi/iqn.2003-01.org.example:t1/tpgt_1/enable".  All calls are *at() calls on the
 * root fd, return 0 (or a count) on success and a negative errno on failure, and never log.
 * Attribute values are written with one write(2) of the exact bytes: configfs stores a
 * trailing newline as part of CHAP secrets, so none is ever added.  Calls are safe from several
 * threads at once.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct tm_cfs;

/* Operation counters, for `--stats`, benchmarks and the "no write on a no-op apply" tests. */
struct tm_cfs_stats {
	unsigned long mkdirs, rmdirs, writes, symlinks, unlinks, reads;
};

int tm_cfs_open(const char *root, struct tm_cfs **ret);
void tm_cfs_close(struct tm_cfs *cfs);
static inline void tm_cfs_closep(struct tm_cfs **c)
{
	if (*c)
		tm_cfs_close(*c);
}
#define _cleanup_cfs_ __attribute__((cleanup(tm_cfs_closep)))

const char *tm_cfs_root(const struct tm_cfs *cfs); /* absolute path */
const struct tm_cfs_stats *tm_cfs_get_stats(const struct tm_cfs *cfs);

int tm_cfs_mkdir(struct tm_cfs *cfs, const char *path);
int tm_cfs_rmdir(struct tm_cfs *cfs, const char *path);
/* Writes value (no newline added) to an attribute file. */
int tm_cfs_write(struct tm_cfs *cfs, const char *path, const char *value);
/* Reads an attribute file; trailing whitespace is stripped.  *ret is malloc'ed. */
int tm_cfs_read(struct tm_cfs *cfs, const char *path, char **ret);
/* Creates link_path pointing at target_path (both relative to the root). */
int tm_cfs_symlink(struct tm_cfs *cfs, const char *target_path, const char *link_path);
int tm_cfs_unlink(struct tm_cfs *cfs, const char *path);
/* Reads a link and returns its last <components> path components, e.g. 2 -> "fileio_0/disk". */
int tm_cfs_readlink_tail(struct tm_cfs *cfs, const char *path, unsigned components, char **ret);

enum tm_cfs_entry_type {
	TM_CFS_DIR = 1 << 0,
	TM_CFS_LINK = 1 << 1,
	TM_CFS_FILE = 1 << 2,
};

/*
 * Lists the entries of a directory of the given types (a mask), sorted by name, as a
 * NULL-terminated strv.  A missing directory gives -ENOENT.
 */
int tm_cfs_list(struct tm_cfs *cfs, const char *path, unsigned types, char ***ret);
/* 1 if path exists, 0 if not, negative errno on other errors. */
int tm_cfs_exists(struct tm_cfs *cfs, const char *path);

void tm_strv_free(char **v);
static inline void tm_strv_freep(char ***v)
{
	if (*v)
		tm_strv_free(*v);
}
#define _cleanup_strv_ __attribute__((cleanup(tm_strv_freep)))
