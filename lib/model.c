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
	struct tm_config *c = calloc(1, sizeof(struct tm_config));

	if (c)
		c->n_ref = 1;
	return c;
}

struct tm_config *tm_config_ref(struct tm_config *c)
{
	if (c)
		__atomic_add_fetch(&c->n_ref, 1, __ATOMIC_RELAXED);
	return c;
}

/* A setting's value is wiped before it is freed when it is a secret. */
static void setting_value_free(char *value, bool secret)
{
	if (secret)
		tm_erase_free_str(value);
	else
		free(value);
}

void tm_settings_clear(struct tm_settings *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].path);
		setting_value_free(s->v[i].value, s->v[i].secret);
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
		tm_settings_clear(&t->luns[i].settings);
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
		tm_hashmap_clear(&a->mapped_lun_index);
	}
	free(t->acls);
	for (size_t i = 0; i < t->n_sessions; i++)
		free(t->sessions[i]);
	free(t->sessions);
	tm_settings_clear(&t->settings);
	tm_hashmap_clear(&t->lun_index);
	tm_hashmap_clear(&t->acl_index);
	tm_hashmap_clear(&t->portal_index);
}

void tm_alua_groups_free(struct tm_alua_group *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(g[i].name);
		tm_settings_clear(&g[i].settings);
	}
	free(g);
}

static void backstore_free(struct tm_backstore *b)
{
	tm_alua_groups_free(b->alua_groups, b->n_alua_groups);
	free(b->hba);
	free(b->name);
	free(b->path);
	free(b->serial);
	tm_settings_clear(&b->settings);
}

static void config_free(struct tm_config *c)
{
	tm_config_unindex(c);
	for (size_t i = 0; i < c->n_backstores; i++)
		backstore_free(&c->backstores[i]);
	free(c->backstores);
	for (size_t i = 0; i < c->n_targets; i++)
		target_free(&c->targets[i]);
	free(c->targets);
	tm_settings_clear(&c->discovery);
	tm_alua_groups_free(c->alua_groups, c->n_alua_groups);
	for (size_t i = 0; i < c->n_files; i++)
		free(c->files[i]);
	free(c->files);
	for (size_t i = 0; i < c->n_hbas; i++)
		free(c->hbas[i]);
	free(c->hbas);
	free(c->dbroot);
	free(c);
}

struct tm_config *tm_config_unref(struct tm_config *c)
{
	if (c && __atomic_sub_fetch(&c->n_ref, 1, __ATOMIC_ACQ_REL) == 0)
		config_free(c);
	return NULL;
}

void tm_config_free(struct tm_config *c)
{
	tm_config_unref(c);
}

/* ---- indexes ---- */

/* The hash of each kind of key, the same for indexing an element and for looking it up. */
static uint64_t backstore_hash(const char *hba, const char *name)
{
	return tm_hash_combine(tm_hash_string(hba), tm_hash_string(name));
}

static uint64_t hash_target(const void *e)
{
	return tm_hash_string(((const struct tm_target *)e)->iqn);
}

static uint64_t hash_backstore(const void *e)
{
	const struct tm_backstore *b = e;
	return backstore_hash(b->hba, b->name);
}

static uint64_t hash_file(const void *e)
{
	return tm_hash_string(*(char *const *)e);
}

static uint64_t hash_lun(const void *e)
{
	return tm_hash_u64(((const struct tm_lun *)e)->number);
}

static uint64_t hash_acl(const void *e)
{
	return tm_hash_string(((const struct tm_acl *)e)->initiator);
}

static uint64_t hash_portal(const void *e)
{
	return tm_hash_string(((const struct tm_portal *)e)->address);
}

static uint64_t hash_mapped_lun(const void *e)
{
	return tm_hash_u64(((const struct tm_mapped_lun *)e)->number);
}

static void *find(const void *array, size_t n, size_t size, const struct tm_hashmap *index,
		  uint64_t hash, bool (*match)(const void *e, const void *key), const void *key);
static bool same_target(const void *e, const void *f);
static bool same_backstore(const void *e, const void *f);
static bool same_file(const void *e, const void *f);
static bool same_lun(const void *e, const void *f);
static bool same_acl(const void *e, const void *f);
static bool same_portal(const void *e, const void *f);
static bool same_mapped_lun(const void *e, const void *f);

/*
 * Indexes elements [m->covered, n) of an array; starts over if the array shrank.  An element
 * whose key an earlier one has is not stored: lookups return the first anyway, and a file
 * declaring one target 50,000 times must not make every lookup (and every put, whose probe
 * runs through all equal hashes) walk 50,000 entries.
 */
static int index_tail(struct tm_hashmap *m, const void *array, size_t n, size_t size,
		      uint64_t (*hash)(const void *e), bool (*same)(const void *e, const void *f))
{
	if (m->covered > n)
		tm_hashmap_clear(m);
	for (size_t i = m->covered; i < n; i++) {
		const void *e = (const char *)array + i * size;
		uint64_t h = hash(e);
		int r;

		if (!find(array, i, size, m, h, same, e)) {
			r = tm_hashmap_put(m, h, i);
			if (r < 0)
				return r;
		}
		m->covered = i + 1;
	}
	return 0;
}

#define INDEX_TAIL(m, array, n, hash, same) index_tail(m, array, n, sizeof(*(array)), hash, same)

int tm_config_index(struct tm_config *c)
{
	int r;

	r = INDEX_TAIL(&c->target_index, c->targets, c->n_targets, hash_target, same_target);
	if (r >= 0)
		r = INDEX_TAIL(&c->backstore_index, c->backstores, c->n_backstores, hash_backstore,
			       same_backstore);
	if (r >= 0)
		r = INDEX_TAIL(&c->file_index, c->files, c->n_files, hash_file, same_file);
	for (size_t i = 0; r >= 0 && i < c->n_targets; i++) {
		struct tm_target *t = &c->targets[i];

		r = INDEX_TAIL(&t->lun_index, t->luns, t->n_luns, hash_lun, same_lun);
		if (r >= 0)
			r = INDEX_TAIL(&t->acl_index, t->acls, t->n_acls, hash_acl, same_acl);
		if (r >= 0)
			r = INDEX_TAIL(&t->portal_index, t->portals, t->n_portals, hash_portal,
				       same_portal);
		for (size_t j = 0; r >= 0 && j < t->n_acls; j++)
			r = INDEX_TAIL(&t->acls[j].mapped_lun_index, t->acls[j].mapped_luns,
				       t->acls[j].n_mapped_luns, hash_mapped_lun, same_mapped_lun);
	}
	return r < 0 ? r : 0;
}

void tm_config_unindex(struct tm_config *c)
{
	tm_hashmap_clear(&c->target_index);
	tm_hashmap_clear(&c->backstore_index);
	tm_hashmap_clear(&c->file_index);
	for (size_t i = 0; i < c->n_targets; i++) {
		struct tm_target *t = &c->targets[i];

		tm_hashmap_clear(&t->lun_index);
		tm_hashmap_clear(&t->acl_index);
		tm_hashmap_clear(&t->portal_index);
		for (size_t j = 0; j < t->n_acls; j++)
			tm_hashmap_clear(&t->acls[j].mapped_lun_index);
	}
}

/*
 * The first element that matches key: through the index when it covers the whole array, by a
 * linear search otherwise (an array grown since it was indexed, or never indexed).
 */
static void *find(const void *array, size_t n, size_t size, const struct tm_hashmap *index,
		  uint64_t hash, bool (*match)(const void *e, const void *key), const void *key)
{
	const char *a = array;
	size_t best = SIZE_MAX;

	if (index->covered == n) {
		size_t cursor = 0, pos;

		while (tm_hashmap_next(index, hash, &cursor, &pos))
			if (pos < best && match(a + pos * size, key))
				best = pos;
	} else {
		for (size_t i = 0; i < n && best == SIZE_MAX; i++)
			if (match(a + i * size, key))
				best = i;
	}
	return best == SIZE_MAX ? NULL : (void *)(a + best * size);
}

#define FIND(array, n, index, hash, match, key)                                                    \
	((__typeof__(&(array)[0]))find(array, n, sizeof(*(array)), index, hash, match, key))

static bool match_target(const void *e, const void *key)
{
	return streq_ptr(((const struct tm_target *)e)->iqn, key);
}

struct backstore_key {
	const char *hba, *name;
};

static bool match_backstore(const void *e, const void *key)
{
	const struct tm_backstore *b = e;
	const struct backstore_key *k = key;

	return streq_ptr(b->hba, k->hba) && streq_ptr(b->name, k->name);
}

static bool match_file(const void *e, const void *key)
{
	return streq_ptr(*(char *const *)e, key);
}

static bool match_lun(const void *e, const void *key)
{
	return ((const struct tm_lun *)e)->number == *(const unsigned *)key;
}

static bool match_acl(const void *e, const void *key)
{
	return streq_ptr(((const struct tm_acl *)e)->initiator, key);
}

static bool match_portal(const void *e, const void *key)
{
	return streq_ptr(((const struct tm_portal *)e)->address, key);
}

static bool match_mapped_lun(const void *e, const void *key)
{
	return ((const struct tm_mapped_lun *)e)->number == *(const unsigned *)key;
}

/* Whether two elements have the same key, for index_tail(). */
static bool same_target(const void *e, const void *f)
{
	return match_target(e, ((const struct tm_target *)f)->iqn);
}

static bool same_backstore(const void *e, const void *f)
{
	const struct tm_backstore *b = f;
	return match_backstore(e, &(const struct backstore_key){b->hba, b->name});
}

static bool same_file(const void *e, const void *f)
{
	return match_file(e, *(char *const *)f);
}

static bool same_lun(const void *e, const void *f)
{
	return match_lun(e, &((const struct tm_lun *)f)->number);
}

static bool same_acl(const void *e, const void *f)
{
	return match_acl(e, ((const struct tm_acl *)f)->initiator);
}

static bool same_portal(const void *e, const void *f)
{
	return match_portal(e, ((const struct tm_portal *)f)->address);
}

static bool same_mapped_lun(const void *e, const void *f)
{
	return match_mapped_lun(e, &((const struct tm_mapped_lun *)f)->number);
}

struct tm_target *tm_config_find_target(const struct tm_config *c, const char *iqn)
{
	return FIND(c->targets, c->n_targets, &c->target_index, tm_hash_string(iqn), match_target,
		    iqn);
}

struct tm_backstore *tm_config_find_backstore(const struct tm_config *c, const char *hba,
					      const char *name)
{
	const struct backstore_key key = {hba, name};

	return FIND(c->backstores, c->n_backstores, &c->backstore_index, backstore_hash(hba, name),
		    match_backstore, &key);
}

struct tm_lun *tm_target_find_lun(const struct tm_target *t, unsigned number)
{
	return FIND(t->luns, t->n_luns, &t->lun_index, tm_hash_u64(number), match_lun, &number);
}

struct tm_acl *tm_target_find_acl(const struct tm_target *t, const char *initiator)
{
	return FIND(t->acls, t->n_acls, &t->acl_index, tm_hash_string(initiator), match_acl,
		    initiator);
}

struct tm_portal *tm_target_find_portal(const struct tm_target *t, const char *address)
{
	return FIND(t->portals, t->n_portals, &t->portal_index, tm_hash_string(address),
		    match_portal, address);
}

struct tm_mapped_lun *tm_acl_find_mapped_lun(const struct tm_acl *a, unsigned number)
{
	return FIND(a->mapped_luns, a->n_mapped_luns, &a->mapped_lun_index, tm_hash_u64(number),
		    match_mapped_lun, &number);
}

struct tm_setting *tm_settings_find(const struct tm_settings *s, const char *path)
{
	/* A few settings per object: a look at each is the fastest lookup. */
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
		setting_value_free(e->value, e->secret);
	} else {
		char *p = strdup(path);
		if (!p || !(e = TM_PUSH(s->v, s->n))) {
			free(p);
			setting_value_free(v, secret);
			return -ENOMEM;
		}
		e->path = p;
	}
	e->value = v;
	e->secret = secret;
	e->origin = origin;
	e->secret_file = NULL;
	e->released = false;
	return 0;
}

const char *tm_config_intern_file(struct tm_config *c, const char *file)
{
	char **slot =
	    FIND(c->files, c->n_files, &c->file_index, tm_hash_string(file), match_file, file);

	if (slot)
		return *slot;
	slot = TM_PUSH(c->files, c->n_files);
	if (!slot)
		return NULL;
	*slot = strdup(file);
	if (!*slot) {
		c->n_files--;
		return NULL;
	}
	/* Files are interned one at a time, by the parser: kept indexed as they come. */
	(void)INDEX_TAIL(&c->file_index, c->files, c->n_files, hash_file, same_file);
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

static bool named(char *const *iqns, size_t n_iqns, const char *iqn)
{
	for (size_t i = 0; i < n_iqns; i++)
		if (streq(iqns[i], iqn))
			return true;
	return false;
}

int tm_config_narrow(struct tm_config *c, char *const *iqns, size_t n_iqns,
		     const char **ret_missing)
{
	_cleanup_free_ bool *kept = NULL;
	size_t n = 0;

	for (size_t i = 0; i < n_iqns; i++)
		if (!tm_config_find_target(c, iqns[i])) {
			*ret_missing = iqns[i];
			return -ENOENT;
		}
	kept = calloc(c->n_backstores + 1, sizeof(*kept));
	if (!kept)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_targets; i++) {
		const struct tm_target *t = &c->targets[i];

		for (size_t j = 0; j < t->n_luns && named(iqns, n_iqns, t->iqn); j++) {
			const struct tm_backstore *b = tm_config_find_backstore(
			    c, t->luns[j].backstore_hba ?: "", t->luns[j].backstore_name ?: "");
			if (b)
				kept[b - c->backstores] = true;
		}
	}

	/* Positions change below: the indexes go, and are built again at the end. */
	tm_config_unindex(c);
	for (size_t i = 0; i < c->n_targets; i++) {
		if (named(iqns, n_iqns, c->targets[i].iqn))
			c->targets[n++] = c->targets[i];
		else
			target_free(&c->targets[i]);
	}
	c->n_targets = n;
	n = 0;
	for (size_t i = 0; i < c->n_backstores; i++) {
		if (kept[i])
			c->backstores[n++] = c->backstores[i];
		else
			backstore_free(&c->backstores[i]);
	}
	c->n_backstores = n;
	tm_settings_clear(&c->discovery);
	return tm_config_index(c);
}

bool tm_backstore_same(const struct tm_backstore *a, const struct tm_backstore *b)
{
	if (a->type != b->type || !streq_ptr(a->hba, b->hba) || !streq_ptr(a->name, b->name) ||
	    !streq_ptr(a->path, b->path) || a->size != b->size || a->readonly != b->readonly ||
	    a->nullio != b->nullio || a->write_through != b->write_through ||
	    a->allow_in_use != b->allow_in_use || !streq_ptr(a->serial, b->serial) ||
	    a->settings.n != b->settings.n)
		return false;
	for (size_t i = 0; i < a->settings.n; i++)
		if (!streq(a->settings.v[i].path, b->settings.v[i].path) ||
		    !streq(a->settings.v[i].value, b->settings.v[i].value))
			return false;
	return true;
}

const struct tm_alua_group *tm_backstore_find_alua_group(const struct tm_backstore *b,
							 const char *name)
{
	/* A few groups per backstore: a linear search. */
	for (size_t i = 0; i < b->n_alua_groups; i++)
		if (streq(b->alua_groups[i].name, name))
			return &b->alua_groups[i];
	return NULL;
}
