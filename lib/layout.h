/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * LIO's configfs layout, spelled once (kernel 6.1, drivers/target/target_core_configfs.c,
 * target_core_fabric_configfs.c, iscsi/iscsi_target_configfs.c).  Paths are relative to the
 * configfs root, as struct tm_cfs takes them:
 *
 *   target/core/<hba>/<name>                          a backstore (storage object)
 *   target/iscsi/<iqn>/tpgt_<tpgt>                    a target's portal group
 *       np/<address>                                  a portal
 *       lun/lun_<n>/<link to the backstore>           a LUN
 *       acls/<initiator>/lun_<m>/<link to lun_<n>>    an ACL and its mapped LUNs
 *   target/iscsi/discovery_auth                       discovery CHAP (not a target)
 *
 * The functions return malloc'ed strings, or NULL when out of memory.
 */
#pragma once

/* LIO's whole tree, its storage objects, its iSCSI fabric. */
#define TM_LAYOUT_TARGET "target"
#define TM_LAYOUT_CORE   TM_LAYOUT_TARGET "/core"
#define TM_LAYOUT_ISCSI  TM_LAYOUT_TARGET "/iscsi"
/* The one entry of target/iscsi that is not a target. */
#define TM_LAYOUT_DISCOVERY_NAME "discovery_auth"
#define TM_LAYOUT_DISCOVERY_AUTH TM_LAYOUT_ISCSI "/" TM_LAYOUT_DISCOVERY_NAME
/* Where LIO keeps reservation and ALUA files (a host directory, not below configfs). */
#define TM_LAYOUT_DBROOT TM_LAYOUT_TARGET "/dbroot"
/* Below a backstore: its persistent-reservation state, where saved APTPL registrations are
   written back before a LUN exports it (target_core_configfs.c, "pr/res_aptpl_metadata"). */
#define TM_LAYOUT_APTPL_METADATA "pr/res_aptpl_metadata"

/* ALUA (target_core_alua.c): below a backstore, alua/<group>/ with LIO's own
   default_tg_pt_gp, whose id must be written once before the group is used; below a TPG's
   LUN, the group its target port is in (written: a group name; read: "TG Port Alias: NAME"
   then more lines). */
#define TM_LAYOUT_ALUA               "alua"
#define TM_LAYOUT_ALUA_DEFAULT_GROUP "default_tg_pt_gp"
#define TM_LAYOUT_ALUA_GROUP_ID      "tg_pt_gp_id"
#define TM_LAYOUT_ALUA_STATE         "alua_access_state"
#define TM_LAYOUT_ALUA_TYPE          "alua_access_type"
#define TM_LAYOUT_ALUA_PREFERRED     "preferred"
#define TM_LAYOUT_LUN_ALUA_GROUP     "alua_tg_pt_gp"
#define TM_LAYOUT_LUN_ALUA_ALIAS     "TG Port Alias: "

/* Below a portal group. */
#define TM_LAYOUT_PORTALS "np"
#define TM_LAYOUT_LUNS    "lun"
#define TM_LAYOUT_ACLS    "acls"

/* Numbered entries: "tpgt_1", "lun_0" (LUNs, mapped LUNs and the links to LUNs). */
#define TM_LAYOUT_TPGT_PREFIX "tpgt_"
#define TM_LAYOUT_LUN_PREFIX  "lun_"

/* "<dir>/<name>": an entry or attribute below a directory. */
char *tm_layout_join(const char *dir, const char *name);

char *tm_layout_hba(const char *hba);
char *tm_layout_backstore(const char *hba, const char *name);
char *tm_layout_alua_group(const char *hba, const char *name, const char *group);
char *tm_layout_wwn(const char *iqn);
char *tm_layout_tpg(const char *iqn, unsigned tpgt);
char *tm_layout_portal(const char *iqn, unsigned tpgt, const char *address);
/* "lun_<n>": a LUN's, or a mapped LUN's, directory name, and the name of a mapped LUN's link
   to the TPG's LUN <n>. */
char *tm_layout_lun_name(unsigned number);
char *tm_layout_lun(const char *iqn, unsigned tpgt, unsigned number);
char *tm_layout_acl(const char *iqn, unsigned tpgt, const char *initiator);
char *tm_layout_mapped_lun(const char *iqn, unsigned tpgt, const char *initiator, unsigned number);
