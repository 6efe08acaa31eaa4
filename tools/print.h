/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Output for people and for programs behind one table of operations. */
#pragma once

#include <stdio.h>

#include "../lib/diag.h"
#include "../lib/model.h"
#include "../lib/plan.h"

struct tm_printer {
	/* The running state; owned(userdata, kind, name) marks targetmgr's objects. */
	void (*show)(FILE *f, const struct tm_config *have,
		     bool (*owned)(void *userdata, enum tm_obj_kind kind, const char *name),
		     void *userdata);
	/* A plan; executed: it ran, and each operation's done flag says what was done. */
	void (*plan)(FILE *f, const struct tm_plan *plan, bool executed);
	/* The result of `check`. */
	void (*check)(FILE *f, const struct tm_config *config, const struct tm_diags *diags);
};

extern const struct tm_printer tm_printer_text;
extern const struct tm_printer tm_printer_json;

/* The object an operation acts on, as LIO's own configfs path below target/. */
char *tm_op_describe(const struct tm_op *op);
