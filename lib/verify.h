/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Semantic checks of a declared model, before anything touches the kernel. */
#pragma once

#include "diag.h"
#include "model.h"

enum tm_verify_flags {
	/* Also check the host: backing devices and files exist, secret files are root-only. */
	TM_VERIFY_HOST = 1 << 0,
};

/* Appends errors and warnings to diags; returns the number of errors added (>= 0).  Linear in
   the objects when the config is indexed (tm_config_index(), which the parser calls). */
int tm_verify(const struct tm_config *config, unsigned flags, struct tm_diags *diags);
