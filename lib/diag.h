/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Diagnostics: the parser and verifier do not print; they collect messages tied to a file and
 * line, and the caller prints them once.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "hashmap.h"
#include "util.h"

enum tm_severity {
	TM_WARNING,
	TM_ERROR,
};

struct tm_diag {
	enum tm_severity severity;
	char *file;    /* may be NULL */
	unsigned line; /* 0: the whole file */
	char *message;
};

struct tm_diags {
	struct tm_diag *v;
	size_t n;
	size_t n_errors;
	struct tm_hashmap index; /* positions in v by place and message, for the dedup */
};

/*
 * Appends a message, unless the very same one is already there for the same place (settings
 * inherited by several ACLs share one origin, and one mistake deserves one message).
 * Returns 0, or -ENOMEM.
 */
int tm_diag_add(struct tm_diags *d, enum tm_severity sev, const char *file, unsigned line,
		const char *fmt, ...) _printf_(5, 6);
int tm_diag_addv(struct tm_diags *d, enum tm_severity sev, const char *file, unsigned line,
		 const char *fmt, va_list ap) _printf_(5, 0);
void tm_diags_clear(struct tm_diags *d);

/* Writes "file:line: error: message" lines, sorted by file and line. */
void tm_diags_print(struct tm_diags *d, FILE *f);
