/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness of the parser: any bytes are parsed as a target file; when they parse and
 * verify without errors, save writes the model, and what it writes must parse and verify
 * again (check accepts it), keep every line within the limit, read back as the same model
 * field by field, and save to the same text.  Any difference aborts, and libFuzzer keeps the
 * input.  Built with -Dfuzz=true (clang); tests/fuzz/run builds and runs it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "roundtrip.h"
#include "parse.h"
#include "save.h"
#include "syntax.h"
#include "verify.h"

static _Noreturn void fail(const char *what, const char *text, const char *saved,
			   const struct tm_diags *d)
{
	fprintf(stderr, "fuzz-parse: %s\n", what);
	for (size_t i = 0; d && i < d->n; i++)
		fprintf(stderr, "  %s:%u: %s\n", d->v[i].file ? d->v[i].file : "-", d->v[i].line,
			d->v[i].message);
	fprintf(stderr, "--- input\n%s\n--- saved\n%s\n---\n", text, saved ? saved : "");
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = strndup((const char *)data, size), *saved = NULL, *again = NULL;
	_cleanup_config_ struct tm_config *in = NULL, *out = NULL;
	struct tm_diags d = {0}, d2 = {0};

	if (!text)
		return 0;
	/* "@/path": a secret file of this host; not the fuzzer's business to read them. */
	if (strstr(text, "@/"))
		return 0;
	in = rt_check("fuzz.conf", text, &d);
	if (d.n_errors > 0)
		goto finish;

	saved = rt_save(in, NULL);
	if (rt_longest_line(saved) > TM_SYNTAX_LINE_MAX)
		fail("save wrote a line over the limit", text, saved, NULL);
	out = rt_check("saved.conf", saved, &d2);
	if (d2.n_errors > 0)
		fail("check refuses what save wrote", text, saved, &d2);
	if (!model_same(in, out, stderr))
		fail("parse -> save -> parse is not the identity", text, saved, NULL);
	again = rt_save(out, NULL);
	if (strcmp(again, saved) != 0)
		fail("saving the model read back gives another text", text, saved, NULL);
finish:
	tm_diags_clear(&d);
	tm_diags_clear(&d2);
	return 0;
}
