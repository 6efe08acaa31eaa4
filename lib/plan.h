/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The planner: compares the declared model with the running one and returns the plan, an
 * ordered list of typed operations that turns one into the other.  It does no I/O: `plan`
 * prints the list, `apply` hands it to the executor.  Like mnt_diff_tables(), the result is
 * data the caller iterates.
 *
 * What the kernel can change in place is changed in place (TM_OP_SET); what it cannot (a
 * backstore's backing store, a LUN's backstore, a mapped LUN's LUN) is deleted and created
 * again.  Objects targetmgr owns that the files no longer declare are deleted.
 *
 * Every operation belongs to a phase and, within it, to one object tree (a target, or a
 * backstore).  Phases run in order; the trees of one phase are independent, so the executor
 * may run them at once.  Within a tree, operations run in plan order, which is the order the
 * kernel needs: mapped LUNs before their ACL and LUN go, a TPG disabled before it goes, LUNs
 * gone before their backstore; backstores enabled before LUNs link them, and a TPG's or
 * backstore's "enable" after everything below it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

enum tm_op_type {
	TM_OP_CREATE,
	TM_OP_DELETE,
	TM_OP_SET, /* write one setting of an existing (or just created) object */
};

enum tm_obj_kind {
	TM_OBJ_BACKSTORE,
	TM_OBJ_TARGET, /* the target and its TPG */
	TM_OBJ_PORTAL,
	TM_OBJ_LUN,
	TM_OBJ_ACL,
	TM_OBJ_MAPPED_LUN,
	TM_OBJ_DISCOVERY,
	TM_OBJ_FABRIC, /* target/iscsi: LIO instantiates the iSCSI fabric when it is made */
	TM_OBJ_HBA,    /* target/core/<plugin>_<index>, which holds backstores */
	/* LIO's dbroot: create makes the host directory and its pr/ and alua/, set writes
	   target/dbroot.  Before any backstore exists (the kernel refuses a new one after). */
	TM_OBJ_DBROOT,
	/* A new backstore's saved APTPL reservations: create writes each registration of
	   <dbroot>/pr/aptpl_<serial>, if the file exists, to pr/res_aptpl_metadata, after
	   "enable" and before a LUN exports it (the kernel refuses them after). */
	TM_OBJ_APTPL,
	/* An ALUA target port group of a backstore: create makes it and writes its id; its
	   settings are the state and type.  Built after the backstore's settings, deleted
	   before it (after its LUNs went back to default_tg_pt_gp). */
	TM_OBJ_ALUA_GROUP,
};

/*
 * A backstore that only one target's LUN links is deleted and built inside that target's
 * tree, so that each tree is a whole target with its storage and trees need not wait for
 * each other; others get phases of their own.
 */
enum tm_phase {
	TM_PHASE_TARGET_TEARDOWN, /* deletions inside targets, whole targets */
	TM_PHASE_BACKSTORE_DELETE,
	TM_PHASE_PREPARE, /* the iSCSI fabric and HBA directories */
	TM_PHASE_BACKSTORE_BUILD,
	TM_PHASE_TARGET_BUILD,
	TM_PHASE_GLOBAL, /* discovery authentication */
	_TM_PHASE_MAX,
};

/*
 * One operation.  The pointers refer into the declared model (create, set) or the running one
 * (delete), which the plan holds a reference to (see struct tm_plan).
 */
struct tm_op {
	enum tm_op_type type;
	enum tm_obj_kind kind;
	enum tm_phase phase;
	const void *tree; /* the target or backstore the operation belongs to */
	bool done;        /* set by the executor */
	const struct tm_backstore *backstore;
	const struct tm_target *target;
	const struct tm_portal *portal;
	const struct tm_lun *lun;
	const struct tm_acl *acl;
	const struct tm_mapped_lun *mapped_lun;
	const struct tm_alua_group *alua_group; /* TM_OBJ_ALUA_GROUP, with backstore */
	const char *hba;                        /* TM_OBJ_HBA: its directory name */
	const char *dir;                        /* TM_OBJ_DBROOT: the host directory */
	const struct tm_setting *setting;       /* TM_OP_SET: the wanted value */
	const char *old_value;                  /* TM_OP_SET: the running value, NULL if none */
};

/*
 * A plan owns its operations and holds a reference to each of the two models they point into,
 * like mnt_diff_tables() with mnt_ref_fs(): the caller may drop its own references (or free
 * the models, which is the same) as soon as the plan is built, and keep the plan, for
 * instance a daemon's last plan, for as long as it likes.  The models must not change while
 * a plan refers into them (an append may move an array); build new ones instead.
 */
struct tm_plan {
	struct tm_op *ops;
	size_t n_ops;
	struct tm_config *want, *have; /* the references; NULL in a cleared plan */
	/* Running objects another tool made, as "target <iqn>" or "backstore <hba>/<name>":
	   those the plan leaves alone, and those it adopts (declared, with adopt set). */
	char **left_alone;
	size_t n_left_alone;
	char **adopted;
	size_t n_adopted;
};

/*
 * Planning fails, with *conflict naming the first offending object (malloc'ed, may be NULL):
 * -EEXIST for a declared object that exists but was not created by targetmgr (see ledger.h)
 * unless adopt is set; -EBUSY for a deletion that would cut off a logged-in initiator unless
 * force is set, or for a change the kernel cannot make (a TPG tag).
 */
struct tm_plan_options {
	bool adopt;
	bool force;
	/* Callback telling whether targetmgr owns a running object; NULL: owns everything. */
	bool (*owned)(void *userdata, enum tm_obj_kind kind, const char *name);
	void *userdata;
	/* want and have hold only some targets and their backstores (tm_config_narrow(),
	   tm_scan_scoped()): no HBA is removed, and shared backstores are left as they are. */
	bool scoped;
};

/*
 * Builds the plan from want to have, taking a reference to each (and indexing them, see
 * tm_config_index()); linear in the number of objects.  On failure *ret holds nothing.
 */
int tm_plan_build(struct tm_config *want, struct tm_config *have,
		  const struct tm_plan_options *opts, struct tm_plan *ret, char **conflict);
/* Frees the operations and drops the references to the models. */
void tm_plan_clear(struct tm_plan *plan);

const char *tm_op_type_name(enum tm_op_type t);   /* "create", "delete", "set" */
const char *tm_obj_kind_name(enum tm_obj_kind k); /* "backstore", "target", ... */
