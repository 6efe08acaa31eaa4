/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Waiting LUNs: a declared LUN whose block device does not exist (yet) is not an error.  The
 * declared model is split into what can be served now and what waits for a device, and
 * everything downstream (plan, apply, the daemon) works on the part served now; a LUN whose
 * device goes away becomes waiting again, so the planner takes it out of its target.
 *
 * One transform, used by check, plan, apply and targetmgrd alike, instead of special cases in
 * the verifier and the planner.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "diag.h"
#include "model.h"

/* Whether the device a declared path names is there now. */
typedef bool (*tm_device_present_t)(const char *path, void *userdata);

/* The host's answer: the path resolves (stat() follows by-id links).  A path that exists but
   cannot be used is present: the verifier says what is wrong with it. */
bool tm_device_present(const char *path, void *userdata);

/*
 * Moves out of config every block-device (iblock) backstore whose path is not present, with
 * the LUNs that link it and the mapped LUNs of those LUNs, into *ret_waiting: a config of its
 * own that holds only those (its targets hold only their waiting LUNs, its ACLs only their
 * waiting mapped LUNs; targets, portals and ACLs stay in config).  The moved objects keep their
 * identity (LUN number, backstore name, serial), so they come back unchanged.  Returns the
 * number of waiting LUNs, or -ENOMEM.
 */
int tm_waiting_split(struct tm_config *config, tm_device_present_t present, void *userdata,
		     struct tm_config **ret_waiting);

/*
 * The checks a declared model goes through before it is planned: verify (verify_flags without
 * TM_VERIFY_HOST), split off the waiting LUNs (one warning each, at the LUN's line), then,
 * when verify_flags has TM_VERIFY_HOST, the host checks on what is served now (the verifier's,
 * then tm_check_devices_mounted(): nothing the host has mounted is exported).  present NULL
 * means tm_device_present.  *ret_waiting (may be NULL) is set once the split is made, even
 * when the host checks then fail.  Returns the number of errors added (>= 0) or -ENOMEM.
 */
int tm_declared_prepare(struct tm_config *config, unsigned verify_flags,
			tm_device_present_t present, void *userdata, struct tm_config **ret_waiting,
			struct tm_diags *diags);

/* The number of waiting LUNs, and one line per LUN: "IQN LUN N: PATH (FILE:LINE)". */
size_t tm_waiting_count(const struct tm_config *waiting);
void tm_waiting_print(FILE *f, const struct tm_config *waiting);

/* The backstore a waiting LUN waits for (in the waiting config), or NULL. */
const struct tm_backstore *tm_waiting_backstore(const struct tm_config *waiting,
						const struct tm_lun *lun);
