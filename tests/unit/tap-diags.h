/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Diagnostics as TAP comments, for the tests that parse and verify. */
#pragma once

#include "diag.h"
#include "tap.h"

static inline void tap_dump_diags(const struct tm_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		tap_diag("  %s:%u: %s: %s", d->v[i].file ? d->v[i].file : "-", d->v[i].line,
			 d->v[i].severity == TM_ERROR ? "error" : "warning", d->v[i].message);
}
