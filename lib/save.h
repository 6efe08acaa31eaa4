/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Model -> target file text, the parser's inverse: `targetmgr save` writes the running state
 * (the scanner's model) so that `apply` on a clean kernel builds it again.
 *
 * Identity is always explicit (every LUN line has name= and serial=); defaults are left out
 * where the parser would choose the same (the single portal 0.0.0.0:3260, type= where the path
 * tells it).  What the syntax cannot express is never dropped silently: it becomes a comment
 * where it belonged, and a warning.  Settings the parser derives (generate_node_acls,
 * authentication, ...) that differ from the running ones become attribute.NAME overrides, and
 * every other attrib/ and param/ setting in the model becomes an attribute. or parameter. key.
 *
 * CHAP secrets are written in clear (a restore needs them, and an importer carries them over),
 * unless the caller withholds them (struct tm_save_options.withhold_secrets): then no secret
 * is ever in the text.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "diag.h"
#include "model.h"
#include "plan.h"

struct tm_save_options {
	/*
	 * Which targets are written (kind TM_OBJ_TARGET, name: the IQN), and which backstores
	 * serving no LUN are reported as not saved (TM_OBJ_BACKSTORE, "<hba>/<name>").  NULL:
	 * all.  The backstores behind a written target's LUNs are always written with it.  Same
	 * signature as tm_ledger_owned_cb().
	 */
	bool (*select)(void *userdata, enum tm_obj_kind kind, const char *name);
	void *userdata;
	/* The first comment line, without "# " (NULL: the one `save` writes). */
	const char *header;
	/*
	 * Writes no secret: each credential becomes "USER @FILE" when a secret file that
	 * secret_files names holds exactly the running secret (restoring from it gives the same
	 * credentials), else "USER <withheld>" (TM_POLICY_SECRET_WITHHELD), which the parser
	 * refuses with a message saying what to put there.  Both forms are counted in the
	 * header comment, and each withheld one is a warning.
	 */
	bool withhold_secrets;
	/* Where secret files may be found: the target files as parsed (may be NULL). */
	const struct tm_config *secret_files;
};

/*
 * Writes config as target file text to f.  Whatever the syntax cannot express is written as a
 * comment and also added to warnings (may be NULL) as a TM_WARNING without file or line, its
 * message starting with the target or backstore it is about; comments that lose nothing (HBA
 * and link names, which initiators never see) are not warnings.  Secrets never appear in
 * comments or warnings.  Returns 0, -ENOMEM, or -EIO when writing to f failed.
 */
int tm_config_write(FILE *f, const struct tm_config *config, const struct tm_save_options *opts,
		    struct tm_diags *warnings);

/* The same into memory (tm_open_wiping_memstream(): it may hold secrets).  On success *ret
   (len *ret_len) is the text; free it with tm_erase_free(*ret, *ret_len), also on failure. */
int tm_config_write_text(const struct tm_config *config, const struct tm_save_options *opts,
			 struct tm_diags *warnings, char **ret, size_t *ret_len);
