/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ALUA target port groups in the declared model.  The target files declare a group once
 * ([alua NAME]) and put target ports in it (alua=NAME on a lun line); LIO keeps groups per
 * storage object (target/core/<hba>/<name>/alua/<group>), so each group is made on every
 * backstore that a LUN in it links: one disk served through two portals or two targets, each
 * LUN in its own group, reports one asymmetric access state per path.
 */
#pragma once

#include "diag.h"
#include "model.h"

/* The group of backstore b that LUN l's target port is in (l links b), or NULL for LIO's
   default group. */
const struct tm_alua_group *tm_alua_lun_group(const struct tm_backstore *b, const struct tm_lun *l);

/* The [alua NAME] section of that name, or NULL. */
const struct tm_alua_group *tm_alua_find_declared(const struct tm_config *c, const char *name);

/*
 * Gives each declared group without "id =" the smallest id no other group has, in declaration
 * order (ids stay the same as long as the files do), and copies each group to the backstores
 * its LUNs link.  A LUN in an undeclared group is an error and a group no LUN is in a warning,
 * at their lines.  Call once all files are parsed; calling it again adds only what is
 * missing.  0 or -ENOMEM.
 */
int tm_alua_expand(struct tm_config *c, struct tm_diags *diags);
