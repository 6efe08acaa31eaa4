/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Ownership: which kernel objects targetmgr created.
 *
 * configfs has no free-form field to mark a target as ours, so targetmgr keeps a ledger,
 * <state-dir>/owned (default /run/targetmgr/owned).  /run is a tmpfs: the ledger lives exactly
 * as long as the configfs state it describes, and both are gone after a reboot.  A target or
 * backstore is recorded *before* it is created, so an interrupted apply can leave a stale
 * entry (harmless: it names nothing) but never an unrecorded object.  Everything below an
 * owned target (TPG, portals, LUNs, ACLs, mapped LUNs) is owned with it.  Objects another
 * tool made are never modified or removed, unless adopted with `apply --adopt`.
 *
 * The ledger also remembers which settings of those objects the files declared (a CHAP
 * credential, an attribute. or parameter. line), so that once the files stop declaring one
 * it goes back to LIO's default (tm_policy_released_value()): the running state alone cannot
 * tell a value the files set from one LIO chose, and reading every setting of every object to
 * find out would multiply what a plan reads.
 */
#pragma once

#include <stdbool.h>

#include "plan.h"

struct tm_ledger;

/*
 * Reads <state_dir>/owned; a missing file is an empty ledger.  The file is never waited for
 * (a FIFO in its place is refused, not read) and never followed if a symbolic link.  A ledger
 * that is not a regular file, or holds lines targetmgr never writes, is damaged: each problem
 * is added to diags (may be NULL) as an error naming the file and line, with how to repair
 * it, and -EBADMSG is returned; nothing is dropped silently.  Other failures: a negative errno.
 */
struct tm_diags;
int tm_ledger_open(const char *state_dir, struct tm_diags *diags, struct tm_ledger **ret);
void tm_ledger_free(struct tm_ledger *l);
static inline void tm_ledger_freep(struct tm_ledger **l)
{
	if (*l)
		tm_ledger_free(*l);
}
#define _cleanup_ledger_ __attribute__((cleanup(tm_ledger_freep)))

/* kind is TM_OBJ_TARGET (name: the IQN), TM_OBJ_BACKSTORE (name: "<hba>/<name>") or
   TM_OBJ_DISCOVERY (the host's discovery authentication, which targetmgr owns once the files
   declared it; name unused). */
bool tm_ledger_owns(const struct tm_ledger *l, enum tm_obj_kind kind, const char *name);
int tm_ledger_add(struct tm_ledger *l, enum tm_obj_kind kind, const char *name);

/*
 * Records every declared target and backstore, and discovery authentication if declared
 * (once planning succeeded, each is owned already, about to be created, or adopted), and
 * their declared settings that would go back to a default without a declaration, then
 * saves atomically (temporary file, fsync, rename, never through a symbolic link) if anything
 * was added, here or by tm_ledger_add() since the last save.  Called before the plan is
 * executed.
 */
int tm_ledger_record(struct tm_ledger *l, const struct tm_config *want);

/*
 * Adds to want, for each object it declares that the ledger holds declared settings of, every
 * such setting the files no longer declare, with the value it goes back to
 * (tm_policy_released_value()), marked released: the scanner reads it because want names it,
 * and the planner writes it where the running value differs.  Call before scanning.  Records
 * (tm_ledger_record()) leave released settings out, so that the ledger forgets them once a
 * plan ran to the end.  0 or -ENOMEM.
 */
int tm_ledger_release(const struct tm_ledger *l, struct tm_config *want);

/*
 * After a plan ran to the end, targetmgr owns exactly the declared objects: drops every other
 * entry and saves if anything changed (removes the file when nothing is left).
 */
int tm_ledger_keep_only(struct tm_ledger *l, const struct tm_config *want);

/*
 * The same after a scoped plan (--target) ran: only the entries of objects scope (the scoped
 * running state, tm_scan_scoped()) holds are candidates, and of backstores only those no LUN
 * outside the scope links: the other targets' entries stay.
 */
int tm_ledger_keep_only_in(struct tm_ledger *l, const struct tm_config *want,
			   const struct tm_config *scope);

/* Planner callback (struct tm_plan_options.owned). */
bool tm_ledger_owned_cb(void *ledger, enum tm_obj_kind kind, const char *name);
