/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "print.h"

#include "../lib/exec.h"
#include "../lib/layout.h"
#include "../lib/util.h"

char *tm_op_describe(const struct tm_op *op)
{
	_cleanup_free_ char *path = tm_op_object_path(op);
	const char *rel;

	if (!path)
		return NULL;
	rel = startswith(path, TM_LAYOUT_TARGET "/");
	return strdup(rel ? rel : path);
}
