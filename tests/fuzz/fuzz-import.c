/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness of one importer (tgt's targets.conf, targetcli's saveconfig.json or SCST's
 * scst.conf, chosen at build time by IMPORT_FORMAT): any bytes are written to a file in a
 * scratch root and imported from there (include lines resolve inside the root only).  The
 * importer must not crash, leak or misbehave (ASan, UBSan); what it imports is written as
 * target files, and every line `save` writes must be within the line limit and parse without
 * an error, as `targetmgr import` promises.  Built with -Dfuzz=true; tests/fuzz/run runs it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import.h"
/* rt_save() and rt_longest_line(); not its model comparison. */
#pragma clang diagnostic ignored "-Wunused-function"
#include "roundtrip.h"
#include "syntax.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x)  STRINGIFY_(x)

static char root[] = "/dev/shm/fuzz-import.XXXXXX";

static _Noreturn void fail(const char *what, const char *saved, const struct tm_diags *d)
{
	fprintf(stderr, "fuzz-import-%s: %s\n", STRINGIFY(IMPORT_FORMAT), what);
	for (size_t i = 0; d && i < d->n; i++)
		fprintf(stderr, "  %s:%u: %s\n", d->v[i].file ? d->v[i].file : "-", d->v[i].line,
			d->v[i].message);
	fprintf(stderr, "--- saved\n%s\n---\n", saved ? saved : "");
	abort();
}

static void remove_root(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	(void)system(cmd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(root))
		abort();
	atexit(remove_root);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct tm_import_options opts = {.root = root};
	_cleanup_config_ struct tm_config *c = tm_config_new(), *back = NULL;
	_cleanup_free_ char *saved = NULL;
	struct tm_diags d = {0}, d2 = {0};

	if (!c)
		abort();
	{
		/* Inside the root, where the importer looks. */
		_cleanup_free_ char *path = tm_strdupf("%s/input", root);
		int in = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;

		if (in < 0 || write(in, data, size) != (ssize_t)size || close(in) < 0)
			abort();
	}

	if (IMPORT_FORMAT("/input", &opts, c, &d) < 0 || d.n_errors > 0)
		goto finish;
	saved = rt_save(c, NULL);
	if (rt_longest_line(saved) > TM_SYNTAX_LINE_MAX)
		fail("save wrote a line over the limit", saved, NULL);
	back = tm_config_new();
	if (!back || tm_parse_string("saved.conf", saved, back, &d2) < 0)
		abort();
	if (d2.n_errors > 0)
		fail("the parser refuses what import wrote", saved, &d2);
finish:
	tm_diags_clear(&d);
	tm_diags_clear(&d2);
	return 0;
}
