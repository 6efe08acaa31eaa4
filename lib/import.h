/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Importers of other target servers' configurations: tgt's targets.conf (tgt-admin's
 * language), targetcli's saveconfig.json, and the iSCSI part of SCST's scst.conf.  Each reads
 * its format into a model shaped like the running state the scanner reads (explicit HBAs,
 * names, serials, generate_node_acls, CHAP settings), which tm_config_write() then turns into
 * target files: the writer guarantees that what comes out is what the parser accepts.
 *
 * What the model cannot carry is a TM_WARNING naming the file, the line (0 for JSON, whose
 * messages name the object's place instead) and the directive, with the closest LIO
 * equivalent where there is one; what cannot be read at all is a TM_ERROR.  Secrets are
 * carried in the model, never put in a message.  Nothing here prints.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "model.h"

#define TM_IMPORT_TGT_DEFAULT  "/etc/tgt/targets.conf"
#define TM_IMPORT_SCST_DEFAULT "/etc/scst.conf"
/* targetctl's file; the first one that exists is read. */
#define TM_IMPORT_SAVECONFIG_DEFAULTS                                                              \
	{                                                                                          \
		"/etc/rtslib-fb-target/saveconfig.json", "/etc/target/saveconfig.json"             \
	}

struct tm_import_options {
	/* Where "/" is for the paths the files name (tgt's include lines): NULL or "/" for the
	   running system, a directory to read an old root file system or a test corpus. */
	const char *root;
};

/*
 * path NULL: the format's default (TM_IMPORT_*).  Each returns 0 when its files could be read,
 * whatever the diagnostics say (an error among them means the model is incomplete), or a negative
 * errno (also added as an error).
 */
int tm_import_tgt(const char *path, const struct tm_import_options *opts, struct tm_config *c,
		  struct tm_diags *d);
int tm_import_saveconfig(const char *path, const struct tm_import_options *opts,
			 struct tm_config *c, struct tm_diags *d);
int tm_import_scst(const char *path, const struct tm_import_options *opts, struct tm_config *c,
		   struct tm_diags *d);

/* ---- for the importers (import.c): building the model the writer expects ---------------- */

/* path below opts->root; NULL on ENOMEM. */
char *tm_import_rooted(const struct tm_import_options *opts, const char *path);

/* The largest file an importer reads. */
#define TM_IMPORT_FILE_MAX (16U << 20)

/* Reads a whole file below the root into a NUL-terminated buffer, at most TM_IMPORT_FILE_MAX
   bytes of a regular file (see tm_read_file_bounded()).  0 or negative errno. */
int tm_import_read_file(const struct tm_import_options *opts, const char *path, char **ret,
			size_t *ret_len);

/* A target with its one TPG (tpgt_1, enabled), open or not; NULL on ENOMEM.  Any earlier
   pointer into c->targets may move. */
struct tm_target *tm_import_add_target(struct tm_config *c, const char *iqn, bool open,
				       struct tm_origin o);

/* A backstore in targetmgr's HBA for its type and name; NULL on ENOMEM. */
struct tm_backstore *tm_import_add_backstore(struct tm_config *c, enum tm_backstore_type type,
					     const char *name, const char *path,
					     struct tm_origin o);

/* LUN number of t, linked to b. */
struct tm_lun *tm_import_add_lun(struct tm_target *t, unsigned number, const struct tm_backstore *b,
				 struct tm_origin o);

/* An ACL of t; with all_luns, a mapped LUN for every LUN of t under the same number,
   write-protected where the LUN is read-only.  NULL on ENOMEM. */
struct tm_acl *tm_import_add_acl(struct tm_target *t, const char *initiator, bool all_luns,
				 struct tm_origin o);
struct tm_mapped_lun *tm_import_add_mapped_lun(struct tm_acl *a, unsigned number, unsigned lun,
					       bool write_protect, struct tm_origin o);

/*
 * Read-only LUNs of an open target: LIO write-protects a block device itself, anything else
 * only per initiator, or for the whole open target (demo_mode_write_protect).  When every LUN
 * is read-only the target becomes write-protected; otherwise a warning for each file or RAM
 * disk LUN that would be writable.  0 or -ENOMEM.
 */
int tm_import_open_readonly(const struct tm_config *c, struct tm_target *t, struct tm_diags *d);

/* Whether name is an iSCSI login parameter LIO sets per TPG (param/NAME) that tgt and SCST
   also set per target, by the same name. */
bool tm_import_iscsi_param(const char *name);

/* CHAP credentials into s: <prefix>userid (and _mutual) and the secret.  0 or -ENOMEM. */
int tm_import_set_chap(struct tm_settings *s, const char *prefix, bool mutual, const char *user,
		       const char *secret, struct tm_origin o);

/* A warning or error at o: "directive: message". */
int tm_import_warn(struct tm_diags *d, struct tm_origin o, const char *fmt, ...) _printf_(3, 4);
int tm_import_error(struct tm_diags *d, struct tm_origin o, const char *fmt, ...) _printf_(3, 4);
