/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The executor: runs a plan against configfs. */
#pragma once

#include "../configfs/cfs.h"
#include "plan.h"

/* What failed: the operation, the configfs path the kernel refused, and its errno. */
struct tm_exec_failure {
	const struct tm_op *op;
	char *path;
	int err; /* negative errno */
};

/*
 * Executes a plan, phase by phase; within a phase the object trees run on up to `workers`
 * threads at once, each tree's operations in plan order.  Marks each operation done.  After a
 * failure no new operation starts; *failure names the first one that failed.  Returns the
 * number of operations done, or the failed operation's negative errno.  Apart from configfs it
 * creates missing fileio backing files (sparse, of the declared size) just before their
 * backstore.
 */
int tm_exec(struct tm_cfs *cfs, struct tm_plan *plan, unsigned workers,
	    struct tm_exec_failure *failure);
void tm_exec_failure_clear(struct tm_exec_failure *f);
/* What the kernel's errno likely means for that operation, as a malloc'ed sentence, when it
   says too little (a portal refused with EINVAL: tm_portal_refusal()); NULL otherwise. */
char *tm_exec_failure_explain(const struct tm_exec_failure *f);

/* The configfs directory (relative to the root) of the object an operation acts on. */
char *tm_op_object_path(const struct tm_op *op);
