/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "diag.h"

static uint64_t diag_hash(enum tm_severity sev, const char *file, unsigned line, const char *msg)
{
	return tm_hash_combine(
	    tm_hash_combine(tm_hash_combine(tm_hash_u64(sev), tm_hash_string(file)),
			    tm_hash_u64(line)),
	    tm_hash_string(msg));
}

int tm_diag_addv(struct tm_diags *d, enum tm_severity sev, const char *file, unsigned line,
		 const char *fmt, va_list ap)
{
	uint64_t h;
	size_t cursor = 0, pos;
	struct tm_diag *e;
	char *msg;

	if (vasprintf(&msg, fmt, ap) < 0)
		return -ENOMEM;
	/* The index covers v[0, index.covered): tm_diags_print() reorders v and drops it. */
	while (d->index.covered < d->n) {
		const struct tm_diag *o = &d->v[d->index.covered];
		if (tm_hashmap_put(&d->index, diag_hash(o->severity, o->file, o->line, o->message),
				   d->index.covered) < 0) {
			free(msg);
			return -ENOMEM;
		}
		d->index.covered++;
	}
	h = diag_hash(sev, file, line, msg);
	while (tm_hashmap_next(&d->index, h, &cursor, &pos)) {
		if (d->v[pos].severity == sev && d->v[pos].line == line &&
		    streq_ptr(d->v[pos].file, file) && streq(d->v[pos].message, msg)) {
			free(msg);
			return 0;
		}
	}
	e = TM_PUSH(d->v, d->n);
	if (!e) {
		free(msg);
		return -ENOMEM;
	}
	e->severity = sev;
	e->file = file ? strdup(file) : NULL;
	e->line = line;
	e->message = msg;
	if (sev == TM_ERROR)
		d->n_errors++;
	return 0;
}

int tm_diag_add(struct tm_diags *d, enum tm_severity sev, const char *file, unsigned line,
		const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = tm_diag_addv(d, sev, file, line, fmt, ap);
	va_end(ap);
	return r;
}

void tm_diags_clear(struct tm_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].message);
	}
	free(d->v);
	tm_hashmap_clear(&d->index);
	*d = (struct tm_diags){0};
}

static int diag_cmp(const void *x, const void *y)
{
	const struct tm_diag *a = x, *b = y;
	int r = strcmp(a->file ? a->file : "", b->file ? b->file : "");
	if (r)
		return r;
	return (a->line > b->line) - (a->line < b->line);
}

void tm_diags_print(struct tm_diags *d, FILE *f)
{
	/* qsort is not stable, but messages on one line keep their order well enough and a
	   stable order by file and line is what people scan for. */
	if (d->n > 1) /* qsort(NULL, 0, ...) is undefined: v is NULL when nothing was said */
		qsort(d->v, d->n, sizeof(*d->v), diag_cmp);
	tm_hashmap_clear(&d->index);
	for (size_t i = 0; i < d->n; i++) {
		const struct tm_diag *e = &d->v[i];
		const char *sev = e->severity == TM_ERROR ? "error" : "warning";
		if (e->file && e->line)
			fprintf(f, "%s:%u: %s: %s\n", e->file, e->line, sev, e->message);
		else if (e->file)
			fprintf(f, "%s: %s: %s\n", e->file, sev, e->message);
		else
			fprintf(f, "%s: %s\n", sev, e->message);
	}
}
