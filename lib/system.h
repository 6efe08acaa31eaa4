/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host plumbing `apply` needs before configfs can be used: the kernel modules (through libkmod)
 * and the configfs mount (through libmount); and what the host itself uses, which must not be
 * exported.  The only code that loads modules or reads and makes mounts.
 */
#pragma once

#include <stdbool.h>

#include "diag.h"
#include "model.h"
#include "plan.h"

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

/* Where the host's view of mounts and block devices is read; a NULL member means the real
   one (/proc/self/mountinfo, /proc/swaps, /sys).  Tests point them at fixtures. */
struct tm_host_paths {
	const char *mountinfo;
	const char *swaps;
	const char *sysfs;
	const char *proc_net; /* the folder of the tcp and tcp6 socket tables */
};

/*
 * Whether block device devno is in use on this host: mounted (itself, one of its partitions,
 * or a device stacked on either, such as an LVM volume or an md array, found through the
 * sysfs "holders" links), or active as swap.  Returns 1 and sets *ret_reason (malloc'ed, e.g.
 * "mounted on /srv (/dev/sdb1)"), 0 when it is free, or a negative errno.
 */
int tm_block_device_in_use(unsigned long long devno, const struct tm_host_paths *paths,
			   char **ret_reason);

/*
 * Refuses to export what the host uses: an error at the declaring line for each declared
 * block-device backstore without allow-in-use whose device exists and is in use
 * (tm_block_device_in_use()).  Returns the number of errors added, or -ENOMEM.
 */
int tm_check_devices_mounted(const struct tm_config *want, const struct tm_host_paths *paths,
			     struct tm_diags *diags);

/*
 * The same for a device that a running backstore targetmgr does not own already serves
 * (owned: the planner's ownership callback; NULL owns everything).  Ours are left to the
 * planner, which deletes a renamed backstore before it creates the new one.
 */
int tm_check_devices_served(const struct tm_config *want, const struct tm_config *have,
			    bool (*owned)(void *userdata, enum tm_obj_kind kind, const char *name),
			    void *userdata, struct tm_diags *diags);

/*
 * Whether a backing store can deallocate, for thin provisioning: a block device whose queue
 * takes discards (queue/discard_max_bytes > 0, the whole disk's for a partition), or a file
 * on a file system that punches holes (probed with an unnamed O_TMPFILE in the file's
 * folder, so the file itself is never touched).  1, 0, or a negative errno when it cannot be
 * told (the device or folder does not exist, no permission).
 */
int tm_backing_can_discard(const char *path, const struct tm_host_paths *paths);

/* Sets each declared fileio and iblock backstore's thin-provisioning attributes from
   tm_backing_can_discard() (tm_policy_thin_settings(); lines that set them keep theirs); a
   store that cannot be told gets none.  0 or -ENOMEM. */
int tm_probe_thin_provisioning(struct tm_config *want, const struct tm_host_paths *paths);

/*
 * Why LIO refused to make a portal (address: its np name, "A.B.C.D:PORT" or "[V6]:PORT"):
 * the np mkdir fails with EINVAL whether the bind or the listen failed.  Looks in the TCP
 * socket tables for a socket listening on that port whose address overlaps (the same, or a
 * wildcard on either side), then among the host's addresses (getifaddrs()).  Returns a
 * malloc'ed sentence naming the likely cause and the command that shows more, or NULL
 * (ENOMEM, or an address that is not an np name).
 */
char *tm_portal_refusal(const char *address, const struct tm_host_paths *paths);
