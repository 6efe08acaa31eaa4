/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the save round-trip tests and the fuzzer share: `check` as the command runs it, `save`
 * of a model as the scanner would read it back, and two models compared field by field
 * (targets, LUN numbers, backstores, portals, initiators, mapped LUNs, every setting and
 * secret).
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "model.h"
#include "parse.h"
#include "save.h"
#include "util.h"
#include "verify.h"

/* tm_parse_string and tm_verify, as `targetmgr check` runs them (without host checks). */
static inline struct tm_config *rt_check(const char *name, const char *text, struct tm_diags *d)
{
	struct tm_config *c = tm_config_new();

	if (!c || tm_parse_string(name, text, c, d) < 0)
		abort();
	if (d->n_errors == 0)
		tm_verify(c, 0, d);
	return c;
}

/* The model as the scanner reads back what apply made (every target has its TPG), saved. */
static inline char *rt_save(struct tm_config *c, struct tm_diags *warnings)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	for (size_t i = 0; i < c->n_targets; i++)
		c->targets[i].has_tpg = true;
	if (!f || tm_config_write(f, c, NULL, warnings) < 0 || fclose(f) != 0)
		abort();
	return text;
}

static inline size_t rt_longest_line(const char *text)
{
	size_t longest = 0;

	for (const char *l = text; *l;) {
		size_t n = strcspn(l, "\n");
		longest = n > longest ? n : longest;
		l += n + (l[n] == '\n');
	}
	return longest;
}

struct cmp {
	FILE *log;
	bool ok;
};

static __attribute__((format(printf, 2, 3))) void mismatch(struct cmp *m, const char *fmt, ...)
{
	va_list ap;

	m->ok = false;
	if (!m->log)
		return;
	fputs("#   ", m->log);
	va_start(ap, fmt);
	vfprintf(m->log, fmt, ap);
	va_end(ap);
	fputc('\n', m->log);
}

static void cmp_settings(struct cmp *m, const char *obj, const struct tm_settings *a,
			 const struct tm_settings *b)
{
	if (a->n != b->n)
		mismatch(m, "%s: %zu settings, then %zu", obj, a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct tm_setting *e = tm_settings_find(b, a->v[i].path);
		if (!e)
			mismatch(m, "%s: setting %s lost", obj, a->v[i].path);
		else if (!streq(e->value, a->v[i].value) || e->secret != a->v[i].secret)
			mismatch(m, "%s: setting %s: '%s' then '%s'", obj, a->v[i].path,
				 a->v[i].secret ? "(secret)" : a->v[i].value,
				 e->secret ? "(secret)" : e->value);
	}
}

static void cmp_backstore(struct cmp *m, const struct tm_backstore *a, const struct tm_backstore *b)
{
	if (!b) {
		mismatch(m, "backstore %s/%s lost", a->hba, a->name);
		return;
	}
	if (a->type != b->type)
		mismatch(m, "%s: type %d then %d", a->name, a->type, b->type);
	if (!streq_ptr(a->path, b->path))
		mismatch(m, "%s: path %s then %s", a->name, a->path, b->path);
	if (a->size != b->size)
		mismatch(m, "%s: size %llu then %llu", a->name, (unsigned long long)a->size,
			 (unsigned long long)b->size);
	if (a->readonly != b->readonly || a->nullio != b->nullio)
		mismatch(m, "%s: readonly/nullio %d/%d then %d/%d", a->name, a->readonly, a->nullio,
			 b->readonly, b->nullio);
	if (!streq_ptr(a->serial, b->serial))
		mismatch(m, "%s: serial %s then %s", a->name, a->serial, b->serial);
	cmp_settings(m, a->name, &a->settings, &b->settings);
	if (a->n_alua_groups != b->n_alua_groups)
		mismatch(m, "%s: %zu ALUA groups then %zu", a->name, a->n_alua_groups,
			 b->n_alua_groups);
	for (size_t i = 0; i < a->n_alua_groups; i++) {
		const struct tm_alua_group *g = &a->alua_groups[i];
		const struct tm_alua_group *h = tm_backstore_find_alua_group(b, g->name);

		if (!h || h->id != g->id)
			mismatch(m, "%s: ALUA group %s (id %u) lost or renumbered", a->name, g->name,
				 g->id);
		else
			cmp_settings(m, g->name, &g->settings, &h->settings);
	}
}

static void cmp_target(struct cmp *m, const struct tm_target *a, const struct tm_target *b)
{
	if (!b) {
		mismatch(m, "target %s lost", a->iqn);
		return;
	}
	if (a->tpgt != b->tpgt)
		mismatch(m, "%s: tpgt %u then %u", a->iqn, a->tpgt, b->tpgt);
	if (a->n_portals != b->n_portals)
		mismatch(m, "%s: %zu portals then %zu", a->iqn, a->n_portals, b->n_portals);
	for (size_t i = 0; i < a->n_portals; i++)
		if (!tm_target_find_portal(b, a->portals[i].address))
			mismatch(m, "%s: portal %s lost", a->iqn, a->portals[i].address);
	if (a->n_luns != b->n_luns)
		mismatch(m, "%s: %zu LUNs then %zu", a->iqn, a->n_luns, b->n_luns);
	for (size_t i = 0; i < a->n_luns; i++) {
		const struct tm_lun *l = &a->luns[i], *k = tm_target_find_lun(b, l->number);
		if (!k)
			mismatch(m, "%s: LUN %u lost", a->iqn, l->number);
		else if (!streq_ptr(l->backstore_hba, k->backstore_hba) ||
			 !streq_ptr(l->backstore_name, k->backstore_name) ||
			 l->readonly != k->readonly)
			mismatch(m, "%s: LUN %u: %s/%s ro=%d then %s/%s ro=%d", a->iqn, l->number,
				 l->backstore_hba, l->backstore_name, l->readonly, k->backstore_hba,
				 k->backstore_name, k->readonly);
		else
			cmp_settings(m, a->iqn, &l->settings, &k->settings);
	}
	if (a->n_acls != b->n_acls)
		mismatch(m, "%s: %zu ACLs then %zu", a->iqn, a->n_acls, b->n_acls);
	for (size_t i = 0; i < a->n_acls; i++) {
		const struct tm_acl *x = &a->acls[i], *y = tm_target_find_acl(b, x->initiator);

		if (!y) {
			mismatch(m, "%s: ACL %s lost", a->iqn, x->initiator);
			continue;
		}
		cmp_settings(m, x->initiator, &x->settings, &y->settings);
		if (x->n_mapped_luns != y->n_mapped_luns)
			mismatch(m, "%s: %zu mapped LUNs then %zu", x->initiator, x->n_mapped_luns,
				 y->n_mapped_luns);
		for (size_t j = 0; j < x->n_mapped_luns; j++) {
			const struct tm_mapped_lun *p = &x->mapped_luns[j];
			const struct tm_mapped_lun *q = tm_acl_find_mapped_lun(y, p->number);
			if (!q || q->lun != p->lun)
				mismatch(m, "%s: mapped LUN %u -> %u lost", x->initiator, p->number,
					 p->lun);
			else
				cmp_settings(m, x->initiator, &p->settings, &q->settings);
		}
	}
	cmp_settings(m, a->iqn, &a->settings, &b->settings);
}

/* Everything in a must be in b, with the same values, and nothing more.  Each difference is
   written to log (may be NULL) as a TAP comment; secrets never are. */
static bool model_same(const struct tm_config *a, const struct tm_config *b, FILE *log)
{
	struct cmp m = {.log = log, .ok = true};

	if (a->n_backstores != b->n_backstores)
		mismatch(&m, "%zu backstores then %zu", a->n_backstores, b->n_backstores);
	for (size_t i = 0; i < a->n_backstores; i++)
		cmp_backstore(
		    &m, &a->backstores[i],
		    tm_config_find_backstore(b, a->backstores[i].hba, a->backstores[i].name));
	if (a->n_targets != b->n_targets)
		mismatch(&m, "%zu targets then %zu", a->n_targets, b->n_targets);
	for (size_t i = 0; i < a->n_targets; i++)
		cmp_target(&m, &a->targets[i], tm_config_find_target(b, a->targets[i].iqn));
	cmp_settings(&m, "discovery", &a->discovery, &b->discovery);
	return m.ok;
}
