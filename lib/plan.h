/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The planner: compares the declared model with the running one and returns the plan, an
 * ordered list of typed operations.  It does no I/O: `plan` prints the list, `apply` hands it
 * to the executor.  Like mnt_diff_tables(), the result is data the caller iterates.
 *
 * Order is the one the kernel accepts: backstores before the LUNs that link them, a TPG's
 * settings before its portals, LUNs and ACLs, mapped LUNs after the ACL and LUN they join,
 * and a TPG's or backstore's "enable" after everything below it.
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
};

/*
 * One operation.  The pointers refer into the declared model (create, set) or the running one
 * (delete); the plan does not own them, so both models must outlive it.
 */
struct tm_op {
	enum tm_op_type type;
	enum tm_obj_kind kind;
	const struct tm_backstore *backstore;
	const struct tm_target *target;
	const struct tm_portal *portal;
	const struct tm_lun *lun;
	const struct tm_acl *acl;
	const struct tm_mapped_lun *mapped_lun;
	const struct tm_setting *setting; /* TM_OP_SET: the wanted value */
	const char *old_value;            /* TM_OP_SET: the running value, NULL if none */
};

struct tm_plan {
	struct tm_op *ops;
	size_t n_ops;
};

/*
 * Objects that exist in the kernel under a declared name but were not created by targetmgr
 * (see ledger.h) make planning fail with -EEXIST unless adopt is set; *conflict then names
 * the first such object (static buffer owned by the plan's caller, may be NULL).
 */
struct tm_plan_options {
	bool adopt;
	/* Callback telling whether targetmgr owns a running object; NULL: owns everything. */
	bool (*owned)(void *userdata, enum tm_obj_kind kind, const char *name);
	void *userdata;
};

int tm_plan_build(const struct tm_config *want, const struct tm_config *have,
		  const struct tm_plan_options *opts, struct tm_plan *ret, char **conflict);
void tm_plan_clear(struct tm_plan *plan);

const char *tm_op_type_name(enum tm_op_type t);   /* "create", "delete", "set" */
const char *tm_obj_kind_name(enum tm_obj_kind k); /* "backstore", "target", ... */
