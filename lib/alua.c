/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "alua.h"

#include <errno.h>

#include "layout.h"
#include "syntax.h"
#include "util.h"

const struct tm_alua_group *tm_alua_find_declared(const struct tm_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_alua_groups; i++)
		if (streq(c->alua_groups[i].name, name))
			return &c->alua_groups[i];
	return NULL;
}

const struct tm_alua_group *tm_alua_lun_group(const struct tm_backstore *b, const struct tm_lun *l)
{
	const struct tm_setting *s = tm_settings_find(&l->settings, TM_LAYOUT_LUN_ALUA_GROUP);

	for (size_t i = 0; s && i < b->n_alua_groups; i++)
		if (streq(b->alua_groups[i].name, s->value))
			return &b->alua_groups[i];
	return NULL;
}

static bool id_taken(const struct tm_config *c, unsigned id)
{
	for (size_t i = 0; i < c->n_alua_groups; i++)
		if (c->alua_groups[i].id == id)
			return true;
	return false;
}

static int choose_ids(struct tm_config *c)
{
	unsigned next = 1;

	for (size_t i = 0; i < c->n_alua_groups; i++) {
		if (c->alua_groups[i].id)
			continue;
		while (next <= TM_SYNTAX_ALUA_ID_MAX && id_taken(c, next))
			next++;
		if (next > TM_SYNTAX_ALUA_ID_MAX)
			return -ENOSPC; /* more groups than LIO has ids: a file of 65536 sections */
		c->alua_groups[i].id = next;
	}
	return 0;
}

static int copy_group(struct tm_backstore *b, const struct tm_alua_group *g)
{
	struct tm_alua_group *copy = TM_PUSH(b->alua_groups, b->n_alua_groups);
	int r = 0;

	if (!copy)
		return -ENOMEM;
	*copy = (struct tm_alua_group){.name = strdup(g->name), .id = g->id, .origin = g->origin};
	for (size_t i = 0; copy->name && r >= 0 && i < g->settings.n; i++)
		r = tm_settings_set(&copy->settings, g->settings.v[i].path, g->settings.v[i].value,
				    false, g->settings.v[i].origin);
	if (!copy->name || r < 0) {
		free(copy->name);
		tm_settings_clear(&copy->settings);
		b->n_alua_groups--;
		return -ENOMEM;
	}
	return 0;
}

int tm_alua_expand(struct tm_config *c, struct tm_diags *diags)
{
	_cleanup_free_ bool *used = calloc(c->n_alua_groups + 1, sizeof(*used));
	int r;

	if (!used)
		return -ENOMEM;
	r = choose_ids(c);
	if (r < 0)
		return r == -ENOSPC ? tm_diag_add(diags, TM_ERROR, c->alua_groups[0].origin.file,
						  c->alua_groups[0].origin.line,
						  "more ALUA groups than ids (1 to %u)",
						  TM_SYNTAX_ALUA_ID_MAX)
				    : r;
	for (size_t i = 0; i < c->n_targets; i++)
		for (size_t j = 0; j < c->targets[i].n_luns; j++) {
			const struct tm_lun *l = &c->targets[i].luns[j];
			const struct tm_setting *s =
			    tm_settings_find(&l->settings, TM_LAYOUT_LUN_ALUA_GROUP);
			const struct tm_alua_group *g =
			    s ? tm_alua_find_declared(c, s->value) : NULL;
			struct tm_backstore *b;

			if (!s)
				continue;
			if (!g) {
				r = tm_diag_add(diags, TM_ERROR, l->origin.file, l->origin.line,
						"LUN %u: ALUA group '%s' is not declared: add an "
						"[alua %s] section",
						l->number, s->value, s->value);
				if (r < 0)
					return r;
				continue;
			}
			used[g - c->alua_groups] = true;
			b = tm_config_find_backstore(c, l->backstore_hba, l->backstore_name);
			if (!b || tm_backstore_find_alua_group(b, g->name))
				continue;
			r = copy_group(b, g);
			if (r < 0)
				return r;
		}
	for (size_t i = 0; i < c->n_alua_groups; i++) {
		const struct tm_alua_group *g = &c->alua_groups[i];

		if (used[i])
			continue;
		r = tm_diag_add(diags, TM_WARNING, g->origin.file, g->origin.line,
				"ALUA group '%s' has no LUN: put one in it with alua=%s on its "
				"lun line",
				g->name, g->name);
		if (r < 0)
			return r;
	}
	return 0;
}
