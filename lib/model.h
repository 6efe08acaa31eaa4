/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The model: one representation for both the declared state (read from target files) and the
 * running state (read back from configfs).  Everything the planner compares lives here.
 *
 * Each object has identity fields (what it is: changing them means recreating the object) and
 * a list of settings (attribute files below its configfs directory that the kernel lets us
 * rewrite in place).  Declared objects list every setting targetmgr manages, defaults
 * included, so that removing a key from a file reverts the kernel to the default.
 *
 * Lookups by key (a target's IQN, a backstore's HBA and name, a LUN's number, ...) go through
 * hash indexes of array positions, which tm_config_index() builds or extends; the parser, the
 * scanner and the planner call it.  An index counts the elements it covers, and a lookup in an
 * array that has grown since falls back to a linear search, so a model under construction
 * stays correct.
 * Once indexed, a model may only be appended to: an element whose key changes in place, or an
 * array reordered, needs the index dropped (tm_config_unindex) and built again.
 *
 * A config is reference counted: a plan, or a daemon's last known state, holds a reference to
 * the configs its pointers refer into.  A config that someone else holds must not change.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hashmap.h"

/* Where a declaration came from, for messages of the form "file:line: ...". */
struct tm_origin {
	const char *file; /* NULL for running state */
	unsigned line;
};

/* One attribute file below an object's configfs directory, e.g. "attrib/authentication". */
struct tm_setting {
	char *path;  /* relative to the object's directory */
	char *value; /* exact bytes to write, never a trailing newline */
	bool secret; /* passwords: never printed, never put in JSON */
	struct tm_origin origin;
	/* A secret a target file took from a secret file ("USER @FILE"): that file, interned in
	   the config (tm_config_intern_file()), so that `save` can refer to it instead of
	   writing the secret.  NULL otherwise. */
	const char *secret_file;
	/* Not declared any more: going back to LIO's default (tm_ledger_release()). */
	bool released;
};

struct tm_settings {
	struct tm_setting *v;
	size_t n;
};

enum tm_backstore_type {
	TM_BACKSTORE_IBLOCK,
	TM_BACKSTORE_FILEIO,
	TM_BACKSTORE_RAMDISK,
	_TM_BACKSTORE_TYPE_MAX,
};

/*
 * An ALUA target port group of a storage object: target/core/<hba>/<name>/alua/<group>.
 * Identity: name and id (LIO takes tg_pt_gp_id once).  Settings: "alua_access_type",
 * "alua_access_state", "preferred" (tm_policy_alua_settings()).  The target files declare a
 * group once ([alua NAME], struct tm_config.alua_groups); tm_alua_expand() copies it to every
 * backstore a LUN in that group links, which is where LIO keeps it.
 */
struct tm_alua_group {
	char *name;
	unsigned id; /* 1..65535; declared 0: not given (tm_alua_expand() chooses one) */
	struct tm_settings settings;
	struct tm_origin origin;
};

/*
 * A LIO storage object: target/core/<hba>/<name>.
 * Identity: type, hba, name, path, size, readonly, nullio, write_through, and the settings
 * the kernel refuses to change while a LUN exports the object (tm_policy_fixed_while_exported).
 * Settings: "wwn/...", "attrib/...", and "enable"; the policy orders them around "enable"
 * (tm_policy_backstore_stage).
 */
struct tm_backstore {
	enum tm_backstore_type type;
	char *hba;     /* "iblock_1003", "fileio_1012", "rd_mcp_1000": see TM_HBA_INDEX */
	char *name;    /* directory name below the HBA */
	char *path;    /* backing device or file; NULL for RAM disks */
	uint64_t size; /* bytes; fileio: size to create a missing file with (0: the file's own
			  size); RAM disk: its size; running state: size reported by the kernel */
	bool readonly; /* iblock only: opened read-only by the kernel (control readonly=1) */
	bool nullio;   /* RAM disk only: no memory behind it (control rd_nullio=1) */
	/* fileio only: opened O_DSYNC without a write cache reported (info "Mode: O_DSYNC"),
	   instead of buffered with WCE=1 (control fd_buffered_io=1, "Mode: Buffered-WCE"). */
	bool write_through;
	/* Declared: export the device even when the host uses it (see system.h). */
	bool allow_in_use;
	/* Running state of a scoped scan (tm_scan_scoped()): a LUN outside the scope links it
	   too, as the kernel counts them (target files cannot share a backstore between
	   targets; other tools can).  The scoped plan never changes or deletes it. */
	bool shared;
	char *serial; /* the VPD unit serial, also present as setting wwn/vpd_unit_serial */
	struct tm_settings settings;
	/* Its ALUA target port groups other than LIO's default_tg_pt_gp. */
	struct tm_alua_group *alua_groups;
	size_t n_alua_groups;
	struct tm_origin origin;
};

/* A LUN of a TPG: tpgt_N/lun/lun_<number>, linked to a backstore. */
struct tm_lun {
	unsigned number;
	char *backstore_hba; /* running state: NULL when the LUN directory has no link yet */
	char *backstore_name;
	char *link;    /* running state: the link's name inside lun_<number>/ (any tool's choice) */
	bool readonly; /* declared: mapped LUNs of this LUN are write-protected */
	/* "alua_tg_pt_gp": the ALUA group of its target port; absent: LIO's default_tg_pt_gp
	   (declared: no alua= on the line; running: not read) */
	struct tm_settings settings;
	struct tm_origin origin;
};

/* A mapped LUN of an ACL: acls/<initiator>/lun_<number>, linked to TPG LUN <lun>. */
struct tm_mapped_lun {
	unsigned number;
	unsigned lun; /* running state: TM_LUN_UNLINKED when the directory has no link yet */
	char *link;   /* running state: the link's name inside lun_<number>/ */
	struct tm_settings settings; /* "write_protect" */
	struct tm_origin origin;
};

/* A node ACL: tpgt_N/acls/<initiator>.  Settings: "auth/...", "attrib/...". */
struct tm_acl {
	char *initiator;
	struct tm_mapped_lun *mapped_luns;
	size_t n_mapped_luns;
	struct tm_settings settings;
	bool has_session; /* running state: acls/<initiator>/info reports a session */
	struct tm_origin origin;
	struct tm_hashmap mapped_lun_index; /* positions in mapped_luns by number */
};

/* A network portal: tpgt_N/np/<address>, "0.0.0.0:3260" or "[::1]:3260". */
struct tm_portal {
	char *address;
	struct tm_origin origin;
};

/*
 * An iSCSI target with its one TPG (tpgt_<tpgt>).  Settings are the TPG's: "attrib/...",
 * "auth/...", "param/...", and "enable" (applied after everything below the TPG exists).
 */
struct tm_target {
	char *iqn;
	unsigned tpgt;
	bool has_tpg; /* running state: the TPG directory exists */
	struct tm_portal *portals;
	size_t n_portals;
	struct tm_lun *luns;
	size_t n_luns;
	struct tm_acl *acls;
	size_t n_acls;
	struct tm_settings settings;
	char **sessions; /* running state: initiators logged in (ACL'd and demo-mode) */
	size_t n_sessions;
	struct tm_origin origin;
	/* positions in luns by number, acls by initiator, portals by address */
	struct tm_hashmap lun_index, acl_index, portal_index;
};

struct tm_config {
	struct tm_backstore *backstores;
	size_t n_backstores;
	struct tm_target *targets;
	size_t n_targets;
	/* target/iscsi/discovery_auth settings; empty when the files do not declare any, so
	   that targetmgr leaves the host-wide discovery authentication alone. */
	struct tm_settings discovery;
	/* Declared: the [alua NAME] sections, which tm_alua_expand() copies to the backstores;
	   empty in the running state, whose groups are per backstore. */
	struct tm_alua_group *alua_groups;
	size_t n_alua_groups;
	char **files; /* names that tm_origin.file points into */
	size_t n_files;
	/* Running state: the backstore HBA directories (of the plugins targetmgr models), and
	   whether the iSCSI fabric is instantiated (target/iscsi exists). */
	char **hbas;
	size_t n_hbas;
	bool has_iscsi_fabric;
	/* Running state: LIO's dbroot in force (target/dbroot), where the kernel keeps persistent
	   reservations (pr/) and ALUA state (alua/); NULL when unknown (no such attribute, or
	   not scanned).  dbroot_ready: that directory has pr/ and alua/.  storage_objects: a
	   storage object of any plugin and any tool exists (the kernel then refuses a new
	   dbroot), counted in core/ even by a scoped scan; read with dbroot. */
	char *dbroot;
	bool dbroot_ready;
	bool storage_objects;

	unsigned n_ref; /* tm_config_ref() and tm_config_unref() */
	/* positions in targets by IQN, backstores by HBA and name, files by name */
	struct tm_hashmap target_index, backstore_index, file_index;
};

#define TM_LUN_UNLINKED UINT32_MAX

/*
 * The HBAs targetmgr creates its backstores under: <plugin>_<index> with index from
 * TM_HBA_INDEX to TM_HBA_INDEX + TM_HBA_COUNT - 1, chosen from the backstore's name.  The
 * kernel adds and removes a backstore holding its HBA's mutex (and removing one waits for a
 * workqueue to drain, ~20 ms), so backstores spread over several HBAs are made and removed
 * in parallel, where one HBA would take them one at a time.
 */
#define TM_HBA_INDEX 1000
#define TM_HBA_COUNT 16

/* The HBA directory name targetmgr puts a backstore of that type and name in. */
char *tm_backstore_hba(enum tm_backstore_type t, const char *name);
/* Whether an HBA directory name is one of targetmgr's. */
bool tm_hba_is_ours(const char *hba);

const char *tm_backstore_type_name(enum tm_backstore_type t); /* "iblock", "fileio", "ramdisk" */
const char *tm_backstore_plugin(enum tm_backstore_type t);    /* "iblock", "fileio", "rd_mcp" */
int tm_backstore_type_from_plugin(const char *plugin);        /* -EINVAL when unknown */

/* A new empty config holding one reference, or NULL on ENOMEM. */
struct tm_config *tm_config_new(void);
/* Takes a reference; returns c.  NULL is passed through. */
struct tm_config *tm_config_ref(struct tm_config *c);
/* Drops a reference, freeing the config with the last one; returns NULL.  NULL is ignored. */
struct tm_config *tm_config_unref(struct tm_config *c);
/* The same as tm_config_unref(), for owners that think of it as freeing. */
void tm_config_free(struct tm_config *c);
static inline void tm_config_freep(struct tm_config **c)
{
	tm_config_unref(*c);
}
#define _cleanup_config_ __attribute__((cleanup(tm_config_freep)))

/*
 * Brings the indexes up to date with the arrays: indexes the elements appended since the last
 * call (all of them the first time), so that calling it after each batch of appends costs
 * only the new elements.  0 or -ENOMEM (the lookups stay correct then, only linear).
 */
int tm_config_index(struct tm_config *c);
/* Drops every index (lookups become linear until the next tm_config_index()). */
void tm_config_unindex(struct tm_config *c);

/* Lookups return NULL when absent, and the first of several elements with the same key. */
struct tm_target *tm_config_find_target(const struct tm_config *c, const char *iqn);
struct tm_backstore *tm_config_find_backstore(const struct tm_config *c, const char *hba,
					      const char *name);
struct tm_lun *tm_target_find_lun(const struct tm_target *t, unsigned number);
struct tm_acl *tm_target_find_acl(const struct tm_target *t, const char *initiator);
struct tm_portal *tm_target_find_portal(const struct tm_target *t, const char *address);
struct tm_mapped_lun *tm_acl_find_mapped_lun(const struct tm_acl *a, unsigned number);
struct tm_setting *tm_settings_find(const struct tm_settings *s, const char *path);

/*
 * Narrows a declared config to the targets named in iqns and the backstores their LUNs link,
 * for the scoped commands (--target); the discovery settings go too (they are the host's, no
 * target's).  -ENOENT with *ret_missing set to the first IQN that c does not declare (c
 * unchanged), or -ENOMEM.
 */
int tm_config_narrow(struct tm_config *c, char *const *iqns, size_t n_iqns,
		     const char **ret_missing);

/* Sets path to value, replacing an existing entry of the same path (a secret value it replaces
   is wiped first).  0 or -ENOMEM. */
int tm_settings_set(struct tm_settings *s, const char *path, const char *value, bool secret,
		    struct tm_origin origin);
/* Frees every setting, wiping the values of secret ones (CHAP passwords) first. */
void tm_settings_clear(struct tm_settings *s);

/* Whether two declared backstores are the same declaration: identity, serial and settings
   (their origins apart). */
bool tm_backstore_same(const struct tm_backstore *a, const struct tm_backstore *b);

/* Frees n groups and the array. */
void tm_alua_groups_free(struct tm_alua_group *g, size_t n);
/* The group of that name in a backstore, or NULL. */
const struct tm_alua_group *tm_backstore_find_alua_group(const struct tm_backstore *b,
							 const char *name);

/* Interns a file name in c->files and returns the stored copy (NULL on ENOMEM). */
const char *tm_config_intern_file(struct tm_config *c, const char *file);

/*
 * Deterministic identity: the default backstore name for LUN <lun> of <iqn>, and the VPD unit
 * serial for a backstore name (32 lowercase hex digits, so that LIO's NAA identifier in VPD
 * 0x83, which it derives from the serial's hex digits, is stable too).
 */
char *tm_default_backstore_name(const char *iqn, unsigned lun);
char *tm_default_serial(const char *backstore_name);
