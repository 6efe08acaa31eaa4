/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Target files (INI, read with inih) -> declared model.  Syntax: docs/targetmgr.conf.5.scd. */
#pragma once

#include "diag.h"
#include "model.h"

/*
 * Reads one file, or every "*.conf" file of a directory in name order, into config.
 * Syntax errors and bad values become diagnostics naming file and line; the return value is
 * 0 when every file could be read (even with diagnostics), negative errno otherwise (also
 * reported as a diagnostic).
 */
int tm_parse_path(const char *path, struct tm_config *config, struct tm_diags *diags);

/* The same for text in memory; name is what diagnostics call it. For tests. */
int tm_parse_string(const char *name, const char *text, struct tm_config *config,
		    struct tm_diags *diags);
