/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Target files (INI, read with inih) -> declared model.  Syntax: docs/targetmgr.conf.5.scd. */
#pragma once

#include "diag.h"
#include "model.h"

/* A target file larger than this is refused before it is parsed. */
#define TM_PARSE_FILE_MAX (16U << 20)
/* After this many errors in one file, the rest of it is not read. */
#define TM_PARSE_ERRORS_MAX 100

/*
 * Reads one file, or every "*.conf" file of a directory in name order, into config.
 * Syntax errors and bad values become diagnostics naming file and line; the return value is
 * 0 when every file could be read (even with diagnostics), negative errno otherwise (also
 * reported as a diagnostic).  A file is read without blocking (a FIFO or a device is refused,
 * not opened for a blocking read) and must be a regular file of at most TM_PARSE_FILE_MAX.
 */
int tm_parse_path(const char *path, struct tm_config *config, struct tm_diags *diags);

/* The same for text in memory; name is what diagnostics call it. For tests. */
int tm_parse_string(const char *name, const char *text, struct tm_config *config,
		    struct tm_diags *diags);
