/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Scanner: reads what LIO holds now, from configfs, into the same model the target files
 * produce.  It reads only the directories, links and attributes the planner and `show` need:
 * the structure (backstores, targets, TPGs, portals, LUNs, ACLs, mapped LUNs), each object's
 * identity, the settings the declared model names for the same object, and a few settings
 * `show` always reports.  Never the statistics trees.
 */
#pragma once

#include "../configfs/cfs.h"
#include "model.h"

/*
 * want: the declared model (may be NULL): for every running object that matches a declared
 * one by name, the scanner reads the declared settings' paths (and, for a TPG, "enable" and
 * "attrib/generate_node_acls"); for the others, the settings `show` reports.
 * A configfs without target/ (modules not loaded) gives an empty model, not an error.
 */
int tm_scan(struct tm_cfs *cfs, const struct tm_config *want, struct tm_config **ret);

/*
 * The scoped scan (--target): only the targets named in iqns that exist, the backstores
 * their LUNs link and those want declares (where they exist), and the HBA directories; never
 * the other targets, backstores or the discovery settings.  A backstore that LUNs outside
 * these targets link too, as the kernel counts them, is marked shared.  The reads grow with
 * the named targets, not with everything LIO serves.
 */
int tm_scan_scoped(struct tm_cfs *cfs, const struct tm_config *want, char *const *iqns,
		   size_t n_iqns, struct tm_config **ret);
