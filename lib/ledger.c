/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ledger.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "hashmap.h"
#include "util.h"

struct tm_ledger {
	char *dir;
	char **entries; /* "target <iqn>" or "backstore <hba>/<name>" */
	size_t n_entries;
	struct tm_hashmap index; /* positions in entries: the planner asks about every object */
	bool unsaved;            /* tm_ledger_add() added entries the file lacks */
};

static const char *kind_word(enum tm_obj_kind kind)
{
	return kind == TM_OBJ_TARGET ? "target" : kind == TM_OBJ_BACKSTORE ? "backstore" : NULL;
}

void tm_ledger_free(struct tm_ledger *l)
{
	for (size_t i = 0; i < l->n_entries; i++)
		free(l->entries[i]);
	free(l->entries);
	free(l->dir);
	tm_hashmap_clear(&l->index);
	free(l);
}

static bool has_entry(const struct tm_ledger *l, const char *entry)
{
	size_t cursor = 0, i;

	while (tm_hashmap_next(&l->index, tm_hash_string(entry), &cursor, &i))
		if (streq(l->entries[i], entry))
			return true;
	return false;
}

static int push_entry(struct tm_ledger *l, char *entry)
{
	char **slot = TM_PUSH(l->entries, l->n_entries);
	if (!slot) {
		free(entry);
		return -ENOMEM;
	}
	*slot = entry;
	if (tm_hashmap_put(&l->index, tm_hash_string(entry), l->n_entries - 1) < 0) {
		free(entry);
		l->n_entries--;
		return -ENOMEM;
	}
	return 0;
}

int tm_ledger_open(const char *state_dir, struct tm_ledger **ret)
{
	_cleanup_(tm_ledger_freep) struct tm_ledger *l = calloc(1, sizeof(*l));
	_cleanup_free_ char *path = NULL, *line = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	size_t cap = 0;
	ssize_t n;
	int r;

	if (!l || !(l->dir = strdup(state_dir)) || !(path = tm_strdupf("%s/owned", state_dir)))
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f) {
		if (errno != ENOENT)
			return -errno;
		*ret = l;
		l = NULL;
		return 0;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		tm_strip_trailing(line);
		if (!*line || has_entry(l, line))
			continue;
		char *e = strdup(line);
		if (!e)
			return -ENOMEM;
		r = push_entry(l, e);
		if (r < 0)
			return r;
	}
	if (ferror(f))
		return -EIO;
	*ret = l;
	l = NULL;
	return 0;
}

bool tm_ledger_owns(const struct tm_ledger *l, enum tm_obj_kind kind, const char *name)
{
	_cleanup_free_ char *e = tm_strdupf("%s %s", kind_word(kind), name);
	return e && has_entry(l, e);
}

bool tm_ledger_owned_cb(void *ledger, enum tm_obj_kind kind, const char *name)
{
	return tm_ledger_owns(ledger, kind, name);
}

int tm_ledger_add(struct tm_ledger *l, enum tm_obj_kind kind, const char *name)
{
	char *e;

	if (!kind_word(kind))
		return -EINVAL;
	e = tm_strdupf("%s %s", kind_word(kind), name);
	if (!e)
		return -ENOMEM;
	if (has_entry(l, e)) {
		free(e);
		return 0;
	}
	if (push_entry(l, e) < 0)
		return -ENOMEM;
	l->unsaved = true;
	return 1;
}

static int ledger_save(struct tm_ledger *l)
{
	_cleanup_free_ char *tmp = tm_strdupf("%s/owned.tmp", l->dir);
	_cleanup_free_ char *path = tm_strdupf("%s/owned", l->dir);
	_cleanup_fclose_ FILE *f = NULL;
	int fd;

	if (!tmp || !path)
		return -ENOMEM;
	if (mkdir(l->dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -errno;
	}
	for (size_t i = 0; i < l->n_entries; i++)
		fprintf(f, "%s\n", l->entries[i]);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		return -errno;
	if (rename(tmp, path) < 0)
		return -errno;
	l->unsaved = false;
	return 0;
}

/* Whether c holds the object an entry names; a shared backstore counts only with shared. */
static bool holds(const struct tm_config *c, const char *entry, bool shared)
{
	const char *name;

	if ((name = startswith(entry, "target ")))
		return tm_config_find_target(c, name) != NULL;
	if ((name = startswith(entry, "backstore "))) {
		const char *slash = strchr(name, '/');
		_cleanup_free_ char *hba = slash ? strndup(name, (size_t)(slash - name)) : NULL;
		const struct tm_backstore *b =
		    hba ? tm_config_find_backstore(c, hba, slash + 1) : NULL;
		return b && (shared || !b->shared);
	}
	return false;
}

int tm_ledger_keep_only_in(struct tm_ledger *l, const struct tm_config *want,
			   const struct tm_config *scope)
{
	_cleanup_free_ char *path = NULL;
	size_t kept = 0;

	for (size_t i = 0; i < l->n_entries; i++) {
		if (holds(want, l->entries[i], true) ||
		    (scope && !holds(scope, l->entries[i], false)))
			l->entries[kept++] = l->entries[i];
		else
			free(l->entries[i]);
	}
	if (kept == l->n_entries)
		return 0;
	l->n_entries = kept;
	tm_hashmap_clear(&l->index);
	for (size_t i = 0; i < kept; i++)
		if (tm_hashmap_put(&l->index, tm_hash_string(l->entries[i]), i) < 0)
			return -ENOMEM;
	if (kept > 0)
		return ledger_save(l);
	path = tm_strdupf("%s/owned", l->dir);
	if (!path)
		return -ENOMEM;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

int tm_ledger_keep_only(struct tm_ledger *l, const struct tm_config *want)
{
	return tm_ledger_keep_only_in(l, want, NULL);
}

int tm_ledger_record(struct tm_ledger *l, const struct tm_config *want)
{
	int r;

	for (size_t i = 0; i < want->n_targets; i++) {
		r = tm_ledger_add(l, TM_OBJ_TARGET, want->targets[i].iqn);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < want->n_backstores; i++) {
		_cleanup_free_ char *name =
		    tm_strdupf("%s/%s", want->backstores[i].hba, want->backstores[i].name);
		if (!name)
			return -ENOMEM;
		r = tm_ledger_add(l, TM_OBJ_BACKSTORE, name);
		if (r < 0)
			return r;
	}
	return l->unsaved ? ledger_save(l) : 0;
}
