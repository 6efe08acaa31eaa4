/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * LIO settings policy, in one place: which settings targetmgr writes and what it derives them
 * from, and what the kernel gives a new object.  The parser writes the derived settings into
 * the declared model, `save` leaves out what the parser would derive anyway, and the planner
 * skips writes of the kernel's own defaults to objects it has just created.
 */
#pragma once

#include <stdbool.h>

#include "model.h"
#include "plan.h"

/* The portal of a target file that names none: every IPv4 address, the iSCSI port. */
#define TM_POLICY_DEFAULT_PORTAL "0.0.0.0:3260"

/*
 * What `targetmgr save` writes in place of a CHAP secret it withholds ("chap = USER
 * <withheld>"): the parser refuses it with a message saying so, so that a saved file is never
 * applied with a made-up secret.  No LIO secret can be written as it (save refuses to).
 */
#define TM_POLICY_SECRET_WITHHELD "<withheld>"

/* The longest CHAP user or secret LIO takes (CHAP_NAME_LEN, CHAP_PASSWORD_LEN - 1). */
#define TM_POLICY_CHAP_MAX 255

/* Written to target/iscsi/discovery_auth when the files declare discovery CHAP. */
#define TM_POLICY_DISCOVERY_ENFORCE "enforce_discovery_auth"

/*
 * The i-th discovery_auth setting targetmgr manages (enforcement, then the four credentials),
 * with the value it goes back to once the files stop declaring it: LIO's state at module load,
 * enforcement off ("0") and no credential ("NULL" clears one).  NULL past the last.
 */
const struct tm_setting *tm_policy_discovery_setting(size_t i);
/* Whether LIO holds that setting (d, from tm_policy_discovery_setting()) in another state,
   judged from the running settings have: a secret by its user (the scanner reads no secret
   the files do not declare). */
bool tm_policy_discovery_differs(const struct tm_settings *have, const struct tm_setting *d);

/* The TPG attributes targetmgr derives, in the order it writes them. */
enum tm_policy_tpg_attr {
	TM_POLICY_GENERATE_NODE_ACLS,
	TM_POLICY_CACHE_DYNAMIC_ACLS,
	TM_POLICY_DEMO_MODE_WRITE_PROTECT,
	TM_POLICY_AUTHENTICATION,
	_TM_POLICY_TPG_ATTR_MAX,
};

/* The attribute's path below the TPG, "attrib/generate_node_acls" and so on. */
const char *tm_policy_tpg_path(enum tm_policy_tpg_attr a);
/* Which derived attribute path is; -1 when targetmgr does not derive it. */
int tm_policy_tpg_attr_from_path(const char *path);

/*
 * The value targetmgr writes for attribute a of a target that is open (names no initiator:
 * LIO's demo mode) or not, and whose initiators log in with CHAP or not.  NULL: targetmgr does
 * not write it for such a target (it means nothing there).
 */
const char *tm_policy_tpg_value(enum tm_policy_tpg_attr a, bool open, bool chap);

/*
 * Sets every derived attribute of such a target in s, in order, from origin o;
 * "attrib/authentication" gets auth_origin (the chap line that asks for it).  0 or -ENOMEM.
 */
int tm_policy_tpg_settings(struct tm_settings *s, bool open, bool chap, struct tm_origin o,
			   struct tm_origin auth_origin);

/* A mapped LUN's "write_protect": "1" for a read-only LUN. */
const char *tm_policy_write_protect(bool readonly);

/* "enable" = "1": set last, so that the executor enables an object once all below it exists. */
int tm_policy_enable(struct tm_settings *s, struct tm_origin o);

/* CHAP credentials: <prefix>userid, <prefix>password and their _mutual twins; prefix "auth/"
   for TPGs and ACLs, "" for discovery.  NULL on ENOMEM. */
char *tm_policy_chap_path(const char *prefix, bool mutual, bool secret);
/* Whether the setting at path is a CHAP secret (a password, of any object). */
bool tm_policy_is_secret(const char *path);
/* Whether a credential read from LIO is set: LIO shows a cleared one as "NULL". */
bool tm_policy_credential_set(const char *value);

/* The value the kernel gives the setting of a new object of that kind (NULL: unknown), so
   that writing that value to an object just created can be left out. */
const char *tm_policy_kernel_default(enum tm_obj_kind kind, const char *path);
/* The same for a new storage object of that type. */
const char *tm_policy_backstore_default(enum tm_backstore_type type, const char *path);

/* ---- LIO's defaults, and what a setting goes back to ---- */

/*
 * What LIO gives a new object for a setting the target files may declare: kind TM_OBJ_TARGET
 * for a TPG's "attrib/..." and "param/...", TM_OBJ_ACL for an ACL's "attrib/...",
 * TM_OBJ_BACKSTORE for a storage object's "attrib/..." (of that type; type is ignored for the
 * others).  1 with *ret the value ("a|b" where kernels differ, NULL where the kernel takes it
 * from the device), or 0 for a setting LIO does not have.
 */
int tm_policy_lio_default(enum tm_obj_kind kind, enum tm_backstore_type type, const char *path,
			  const char **ret);
/* Whether value is LIO's default for it: 1 yes, 0 no, -1 the kernel takes it from the
   device, -2 a setting LIO does not have. */
int tm_policy_is_lio_default(enum tm_obj_kind kind, enum tm_backstore_type type, const char *path,
			     const char *value);

/*
 * What a setting of an object goes back to once the target files, which declared it, stop
 * declaring it (the ledger remembers which they declared, ledger.h): LIO's default, and
 * "NULL" for a CHAP credential (LIO then stops asking for it or offering it).  NULL: nothing,
 * because targetmgr writes the setting for every such object anyway (it derives it: the
 * TPG's authentication, a backstore's emulate_pr ...), or because LIO takes its default from
 * the device (a block device's queue_depth, a file's emulate_write_cache ...), which a running
 * object no longer shows.
 */
const char *tm_policy_released_value(enum tm_obj_kind kind, enum tm_backstore_type type,
				     const char *path);

/* Whether two values of the setting at path are the same state: a CHAP credential LIO shows
   as "" (never set) is the same as one shown as "NULL" (cleared). */
bool tm_policy_same_value(const char *path, const char *a, const char *b);

/* ---- storage objects ---- */

/*
 * The settings every declared backstore gets unless its line says otherwise: persistent
 * reservations on (attrib/emulate_pr), and LIO's own INQUIRY vendor and product strings
 * (wwn/vendor_id, wwn/product_id), so that removing vendor= or product= from a line restores
 * them.  Entries already in s are kept.  0 or -ENOMEM.
 */
int tm_policy_backstore_settings(struct tm_settings *s, enum tm_backstore_type type,
				 struct tm_origin o);

/*
 * Thin provisioning: UNMAP and WRITE SAME with UNMAP (attrib/emulate_tpu, emulate_tpws, which
 * also make READ CAPACITY(16) report LBPME) on when the backing store can deallocate (a
 * file system with punch-hole, a block device with discard), unless s already sets them
 * (attribute.emulate_tpu=... on the line).  Only for fileio and iblock.  0 or -ENOMEM.
 */
int tm_policy_thin_settings(struct tm_settings *s, enum tm_backstore_type type, bool can_discard,
			    struct tm_origin o);

/* When the executor writes a backstore setting, relative to "enable". */
enum tm_policy_stage {
	TM_POLICY_BEFORE_ENABLE,
	TM_POLICY_ENABLE,
	TM_POLICY_AFTER_ENABLE,
};
enum tm_policy_stage tm_policy_backstore_stage(const char *path);

/* Whether the kernel refuses to change a backstore setting while a LUN exports the object
   (attrib/emulate_pr, wwn/vendor_id, wwn/product_id): a change means recreating it. */
bool tm_policy_fixed_while_exported(const char *path);

/* ---- ALUA target port groups ---- */

/*
 * A declared group's settings, from those its [alua NAME] section set in s (LIO's values):
 * adds the defaults of the keys it left out, type implicit (targetmgr sets the states, as an
 * HA manager switching them expects; LIO's own default also lets initiators set them with
 * SET TARGET PORT GROUPS), state active/optimized unless the type is explicit only (the
 * kernel then refuses to set states; the initiators do), not preferred; and orders them type
 * first, so that a state is written once the type lets targetmgr write it.  0 or -ENOMEM.
 */
int tm_policy_alua_settings(struct tm_settings *s, struct tm_origin o);
/* Whether a group of that alua_access_type takes states from configfs (implicit ALUA). */
bool tm_policy_alua_implicit(const char *type);

/* ---- LIO's dbroot ---- */

#define TM_POLICY_DBROOT_KERNEL "/var/target" /* the kernel's compiled-in default */
#define TM_POLICY_DBROOT        "/etc/target" /* what targetmgr sets when nobody chose */
#define TM_POLICY_DBROOT_PR     "pr"          /* <dbroot>/pr/aptpl_<serial> */
#define TM_POLICY_DBROOT_ALUA   "alua"        /* <dbroot>/alua/tpgs_<serial>/... */

/*
 * The dbroot LUNs are served with, given the one in force (running) and whether a storage
 * object exists (the kernel then refuses a new dbroot): the one in force, unless it is the
 * kernel's compiled-in default and no object exists, then TM_POLICY_DBROOT (see
 * docs/target-files.md: PERSISTENT RESERVATIONS).
 */
const char *tm_policy_dbroot(const char *running, bool objects_exist);
