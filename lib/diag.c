/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "diag.h"

int tm_diag_addv(struct tm_diags *d, enum tm_severity sev, const char *file, unsigned line,
		 const char *fmt, va_list ap)
{
	struct tm_diag *e;
	char *msg;

	if (vasprintf(&msg, fmt, ap) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].severity == sev && d->v[i].line == line &&
		    streq_ptr(d->v[i].file, file) && streq(d->v[i].message, msg)) {
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
