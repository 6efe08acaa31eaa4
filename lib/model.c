/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "model.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>

#include "syntax.h"
#include "util.h"

static const struct {
	const char *name;
	const char *plugin;
} backstore_types[_TM_BACKSTORE_TYPE_MAX] = {
    [TM_BACKSTORE_IBLOCK] = {"iblock", "iblock"},
    [TM_BACKSTORE_FILEIO] = {"fileio", "fileio"},
    [TM_BACKSTORE_RAMDISK] = {"ramdisk", "rd_mcp"},
};

const char *tm_backstore_type_name(enum tm_backstore_type t)
{
	return t < _TM_BACKSTORE_TYPE_MAX ? backstore_types[t].name : NULL;
}

const char *tm_backstore_plugin(enum tm_backstore_type t)
{
	return t < _TM_BACKSTORE_TYPE_MAX ? backstore_types[t].plugin : NULL;
}

int tm_backstore_type_from_plugin(const char *plugin)
{
	for (int t = 0; t < _TM_BACKSTORE_TYPE_MAX; t++)
		if (streq(plugin, backstore_types[t].plugin))
			return t;
	return -EINVAL;
}

struct tm_config *tm_config_new(void)
{
	return calloc(1, sizeof(struct tm_config));
}

void tm_settings_clear(struct tm_settings *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].path);
		free(s->v[i].value);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static void target_free(struct tm_target *t)
{
	free(t->iqn);
	for (size_t i = 0; i < t->n_portals; i++)
		free(t->portals[i].address);
	free(t->portals);
	for (size_t i = 0; i < t->n_luns; i++) {
		free(t->luns[i].backstore_hba);
		free(t->luns[i].backstore_name);
		free(t->luns[i].link);
	}
	free(t->luns);
	for (size_t i = 0; i < t->n_acls; i++) {
		struct tm_acl *a = &t->acls[i];
		free(a->initiator);
		for (size_t j = 0; j < a->n_mapped_luns; j++) {
			tm_settings_clear(&a->mapped_luns[j].settings);
			free(a->mapped_luns[j].link);
		}
		free(a->mapped_luns);
		tm_settings_clear(&a->settings);
	}
	free(t->acls);
	for (size_t i = 0; i < t->n_sessions; i++)
		free(t->sessions[i]);
	free(t->sessions);
	tm_settings_clear(&t->settings);
}

void tm_config_free(struct tm_config *c)
{
	for (size_t i = 0; i < c->n_backstores; i++) {
		struct tm_backstore *b = &c->backstores[i];
		free(b->hba);
		free(b->name);
		free(b->path);
		free(b->serial);
		tm_settings_clear(&b->settings);
	}
	free(c->backstores);
	for (size_t i = 0; i < c->n_targets; i++)
		target_free(&c->targets[i]);
	free(c->targets);
	tm_settings_clear(&c->discovery);
	for (size_t i = 0; i < c->n_files; i++)
		free(c->files[i]);
	free(c->files);
	for (size_t i = 0; i < c->n_hbas; i++)
		free(c->hbas[i]);
	free(c->hbas);
	free(c);
}

struct tm_target *tm_config_find_target(const struct tm_config *c, const char *iqn)
{
	for (size_t i = 0; i < c->n_targets; i++)
		if (streq(c->targets[i].iqn, iqn))
			return &c->targets[i];
	return NULL;
}

struct tm_backstore *tm_config_find_backstore(const struct tm_config *c, const char *hba,
					      const char *name)
{
	for (size_t i = 0; i < c->n_backstores; i++)
		if (streq(c->backstores[i].hba, hba) && streq(c->backstores[i].name, name))
			return &c->backstores[i];
	return NULL;
}

struct tm_lun *tm_target_find_lun(const struct tm_target *t, unsigned number)
{
	for (size_t i = 0; i < t->n_luns; i++)
		if (t->luns[i].number == number)
			return &t->luns[i];
	return NULL;
}

struct tm_acl *tm_target_find_acl(const struct tm_target *t, const char *initiator)
{
	for (size_t i = 0; i < t->n_acls; i++)
		if (streq(t->acls[i].initiator, initiator))
			return &t->acls[i];
	return NULL;
}

struct tm_portal *tm_target_find_portal(const struct tm_target *t, const char *address)
{
	for (size_t i = 0; i < t->n_portals; i++)
		if (streq(t->portals[i].address, address))
			return &t->portals[i];
	return NULL;
}

struct tm_mapped_lun *tm_acl_find_mapped_lun(const struct tm_acl *a, unsigned number)
{
	for (size_t i = 0; i < a->n_mapped_luns; i++)
		if (a->mapped_luns[i].number == number)
			return &a->mapped_luns[i];
	return NULL;
}

struct tm_setting *tm_settings_find(const struct tm_settings *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->v[i].path, path))
			return &s->v[i];
	return NULL;
}

int tm_settings_set(struct tm_settings *s, const char *path, const char *value, bool secret,
		    struct tm_origin origin)
{
	struct tm_setting *e = tm_settings_find(s, path);
	char *v = strdup(value);

	if (!v)
		return -ENOMEM;
	if (e) {
		free(e->value);
	} else {
		char *p = strdup(path);
		if (!p || !(e = TM_PUSH(s->v, s->n))) {
			free(p);
			free(v);
			return -ENOMEM;
		}
		e->path = p;
	}
	e->value = v;
	e->secret = secret;
	e->origin = origin;
	return 0;
}

const char *tm_config_intern_file(struct tm_config *c, const char *file)
{
	char **slot;

	for (size_t i = 0; i < c->n_files; i++)
		if (streq(c->files[i], file))
			return c->files[i];
	slot = TM_PUSH(c->files, c->n_files);
	if (!slot)
		return NULL;
	*slot = strdup(file);
	if (!*slot)
		c->n_files--;
	return *slot;
}

static uint64_t fnv1a64(const char *s, uint64_t h);

char *tm_default_backstore_name(const char *iqn, unsigned lun)
{
	/* The IQN with ':' turned into '.', so that the name is unique per target, readable in
	   targetcli, and contains nothing a configfs directory name could trip over. */
	char *name = tm_strdupf("%s-lun%u", iqn, lun);
	char suffix[32];
	size_t n;

	if (!name)
		return NULL;
	for (char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
			*p = '.';
	/* Longer than name= takes (IQNs over 59 characters): the IQN's start and a hash of the
	   whole IQN, so that the name stays the same across runs and hosts, and two long IQNs
	   that start alike still get names of their own. */
	if (strlen(name) > TM_SYNTAX_NAME_MAX) {
		n = (size_t)snprintf(suffix, sizeof(suffix), "-%016llx-lun%u",
				     (unsigned long long)fnv1a64(iqn, 0xcbf29ce484222325ULL), lun);
		memcpy(name + TM_SYNTAX_NAME_MAX - n, suffix, n + 1);
	}
	return name;
}

/* FNV-1a, 64 bit: tiny, stable across hosts and versions, good enough to spread names. */
static uint64_t fnv1a64(const char *s, uint64_t h)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

char *tm_backstore_hba(enum tm_backstore_type t, const char *name)
{
	uint64_t h = fnv1a64(name, 0xcbf29ce484222325ULL);
	return tm_strdupf("%s_%u", tm_backstore_plugin(t),
			  TM_HBA_INDEX + (unsigned)(h % TM_HBA_COUNT));
}

bool tm_hba_is_ours(const char *hba)
{
	const char *u = strrchr(hba, '_');
	char *end;
	unsigned long i;

	if (!u || !u[1])
		return false;
	errno = 0;
	i = strtoul(u + 1, &end, 10);
	return !errno && !*end && i >= TM_HBA_INDEX && i < TM_HBA_INDEX + TM_HBA_COUNT &&
	       tm_backstore_type_from_plugin(strndupa(hba, (size_t)(u - hba))) >= 0;
}

char *tm_default_serial(const char *backstore_name)
{
	uint64_t a = fnv1a64(backstore_name, 0xcbf29ce484222325ULL);
	uint64_t b = fnv1a64(backstore_name, a ^ 0x9e3779b97f4a7c15ULL);
	return tm_strdupf("%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
}
