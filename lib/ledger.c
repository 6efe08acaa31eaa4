/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ledger.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "diag.h"
#include "hashmap.h"
#include "policy.h"
#include "util.h"

#define DISCOVERY_ENTRY "discovery"

struct tm_ledger {
	char *dir;
	/* "target <iqn>", "backstore <hba>/<name>", "discovery", or a declared setting:
	   "setting target <iqn> <path>", "setting acl <iqn> <initiator> <path>",
	   "setting backstore <hba>/<name> <path>" */
	char **entries;
	size_t n_entries;
	struct tm_hashmap index; /* positions in entries: the planner asks about every object */
	bool unsaved;            /* tm_ledger_add() added entries the file lacks */
};

static const char *kind_word(enum tm_obj_kind kind)
{
	return kind == TM_OBJ_TARGET ? "target" : kind == TM_OBJ_BACKSTORE ? "backstore" : NULL;
}

/* The entry of an object: "<kind> <name>"; the host's one discovery_auth is "discovery". */
static char *entry_of(enum tm_obj_kind kind, const char *name)
{
	if (kind == TM_OBJ_DISCOVERY)
		return strdup(DISCOVERY_ENTRY);
	return kind_word(kind) ? tm_strdupf("%s %s", kind_word(kind), name) : NULL;
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

/* How `owned` is read and written: lines "target <iqn>", "backstore <hba>/<name>",
   "discovery" once the files declared discovery authentication, and "setting ..." for each
   setting of those objects the files declared that goes back to a default without them. */
#define LEDGER_FILE "owned"
/* Far beyond any real ledger (80,000 targets take 3 MB): a bound on what is read. */
#define LEDGER_SIZE_MAX (64u << 20)

static const char *const repair_hint =
    "the ledger lists the targets and backstores targetmgr created, one 'target IQN' or "
    "'backstore HBA/NAME' per line, 'discovery' when it set discovery CHAP, and 'setting "
    "...' lines for the settings the files declared; repair it by "
    "deleting the damaged lines (or the whole file): 'targetmgr plan' then shows declared "
    "objects it no longer lists as made by another tool, and 'targetmgr apply --adopt' "
    "records them again";

#define SETTING_PREFIX "setting "

/* A "setting ..." entry, split into its words (pointing into a copy, words). */
struct setting_entry {
	enum tm_obj_kind kind;
	char words[1024];
	const char *object, *initiator, *path; /* iqn or "hba/name"; ACLs: the initiator */
};

static bool valid_word(const char *w)
{
	return *w && !strchr(w, ' ');
}

/* "<hba>/<name>", both parts non-empty. */
static bool backstore_key_ok(const char *key)
{
	const char *slash = strchr(key, '/');
	return slash && slash > key && slash[1] && !strchr(slash + 1, '/') && !strchr(key, ' ');
}

/* Splits entry into e; false if it is not a setting entry targetmgr writes. */
static bool split_setting(const char *entry, struct setting_entry *e)
{
	const char *rest = startswith(entry, SETTING_PREFIX), *kind;
	char *w[4] = {NULL}, *save = NULL;
	size_t n = 0;

	if (!rest || strlen(rest) >= sizeof(e->words) || strstr(rest, "  ") || *rest == ' ' ||
	    endswith(rest, " "))
		return false;
	strcpy(e->words, rest);
	for (char *t = strtok_r(e->words, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (n == ELEMENTSOF(w))
			return false;
		w[n++] = t;
	}
	kind = w[0];
	e->initiator = NULL;
	if (n == 3 && streq(kind, "target"))
		e->kind = TM_OBJ_TARGET;
	else if (n == 4 && streq(kind, "acl"))
		e->kind = TM_OBJ_ACL, e->initiator = w[2];
	else if (n == 3 && streq(kind, "backstore") && backstore_key_ok(w[1]))
		e->kind = TM_OBJ_BACKSTORE;
	else
		return false;
	e->object = w[1];
	e->path = w[n - 1];
	return valid_word(e->path) && !strstr(e->path, "..");
}

/* Why line (len bytes, then a NUL) is not an entry targetmgr writes; NULL when it is one. */
static const char *entry_problem(const char *line, size_t len)
{
	const char *name;

	if (memchr(line, '\0', len))
		return "it holds a NUL byte";
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];
		if (ch < 0x20 || ch == 0x7f)
			return "it holds a control character";
	}
	if (streq(line, DISCOVERY_ENTRY))
		return NULL;
	if (startswith(line, SETTING_PREFIX)) {
		struct setting_entry e;
		return split_setting(line, &e)
			   ? NULL
			   : "expected 'setting target IQN PATH', 'setting acl "
			     "IQN INITIATOR PATH' or 'setting backstore HBA/NAME "
			     "PATH'";
	}
	if ((name = startswith(line, "target ")))
		return *name && !strchr(name, ' ') ? NULL : "expected 'target IQN'";
	if ((name = startswith(line, "backstore ")))
		return backstore_key_ok(name) ? NULL : "expected 'backstore HBA/NAME'";
	return "neither 'target IQN', 'backstore HBA/NAME', 'discovery' nor 'setting ...'";
}

static const char *file_type(mode_t m)
{
	return S_ISDIR(m)    ? "a directory"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
			     : "not a regular file";
}

/* The entries of text (len bytes, NUL-terminated), each line checked: one pass. */
static int parse_entries(struct tm_ledger *l, const char *path, char *text, size_t len,
			 struct tm_diags *diags)
{
	unsigned line = 0, bad = 0;
	int r;

	for (char *p = text, *nl; p < text + len; p = nl + 1) {
		const char *why;
		size_t n;

		nl = memchr(p, '\n', (size_t)(text + len - p));
		if (!nl)
			nl = text + len;
		n = (size_t)(nl - p);
		line++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0)
			continue;
		p[n] = '\0'; /* the newline (or CR) */
		if ((why = entry_problem(p, n))) {
			bad++;
			r = tm_diag_add(
			    diags, TM_ERROR, path, line,
			    "damaged ownership ledger: not an entry targetmgr writes (%s)", why);
			if (r < 0)
				return r;
			continue;
		}
		if (has_entry(l, p))
			continue; /* a repeat says nothing new */
		char *e = strdup(p);
		if (!e)
			return -ENOMEM;
		r = push_entry(l, e);
		if (r < 0)
			return r;
	}
	if (bad > 0) {
		r = tm_diag_add(diags, TM_ERROR, path, 0, "%u damaged line(s): %s", bad,
				repair_hint);
		return r < 0 ? r : -EBADMSG;
	}
	return 0;
}

int tm_ledger_open(const char *state_dir, struct tm_diags *diags, struct tm_ledger **ret)
{
	_cleanup_(tm_ledger_freep) struct tm_ledger *l = calloc(1, sizeof(*l));
	_cleanup_free_ char *path = NULL, *text = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct tm_diags local = {0};
	struct stat st;
	size_t len;
	int r;

	if (!diags)
		diags = &local;
	if (!l || !(l->dir = strdup(state_dir)) ||
	    !(path = tm_strdupf("%s/" LEDGER_FILE, state_dir)))
		return -ENOMEM;
	/* O_NONBLOCK: a FIFO put in its place must not hang every command (which would hold
	   the apply lock meanwhile); fstat() then refuses it before any read. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		*ret = TAKE_PTR(l);
		return 0;
	}
	if (fd < 0 && errno == ELOOP)
		r = tm_diag_add(diags, TM_ERROR, path, 0,
				"the ownership ledger is a symbolic link, which targetmgr never "
				"follows; remove the link (rm %s): %s",
				path, repair_hint);
	else if (fd < 0)
		return -errno;
	else if (fstat(fd, &st) < 0)
		return -errno;
	else if (!S_ISREG(st.st_mode))
		r = tm_diag_add(diags, TM_ERROR, path, 0,
				"the ownership ledger is %s, not a regular file; remove it "
				"(rm %s): %s",
				file_type(st.st_mode), path, repair_hint);
	else if ((unsigned long long)st.st_size > LEDGER_SIZE_MAX)
		r = tm_diag_add(
		    diags, TM_ERROR, path, 0,
		    "the ownership ledger is %lld bytes, more than any ledger targetmgr "
		    "writes (%u MiB at most): %s",
		    (long long)st.st_size, LEDGER_SIZE_MAX >> 20, repair_hint);
	else {
		r = tm_read_all(fd, &text, &len);
		if (r >= 0)
			r = parse_entries(l, path, text, len, diags);
		if (r >= 0)
			*ret = TAKE_PTR(l);
		tm_diags_clear(&local);
		return r;
	}
	tm_diags_clear(&local);
	return r < 0 ? r : -EBADMSG;
}

bool tm_ledger_owns(const struct tm_ledger *l, enum tm_obj_kind kind, const char *name)
{
	_cleanup_free_ char *e = entry_of(kind, name);
	return e && has_entry(l, e);
}

bool tm_ledger_owned_cb(void *ledger, enum tm_obj_kind kind, const char *name)
{
	return tm_ledger_owns(ledger, kind, name);
}

/* Adds entry e (taken, NULL: ENOMEM) unless the ledger has it: 1 added, 0 there already. */
static int add_entry(struct tm_ledger *l, char *e)
{
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

int tm_ledger_add(struct tm_ledger *l, enum tm_obj_kind kind, const char *name)
{
	if (!kind_word(kind) && kind != TM_OBJ_DISCOVERY)
		return -EINVAL;
	return add_entry(l, entry_of(kind, name));
}

static int ledger_save(struct tm_ledger *l)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int dfd = -EBADF;
	size_t len = 0;
	FILE *f;
	int r;

	if (mkdir(l->dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	dfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	f = open_memstream(&text, &len);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < l->n_entries; i++)
		fprintf(f, "%s\n", l->entries[i]);
	r = ferror(f) ? -ENOMEM : 0;
	if (fclose(f) != 0 && r >= 0)
		r = -ENOMEM;
	if (r < 0)
		return r;
	r = tm_write_file_atomic(dfd, LEDGER_FILE, text, len, 0600);
	if (r < 0)
		return r;
	l->unsaved = false;
	return 0;
}

static const struct tm_backstore *find_backstore(const struct tm_config *c, const char *key)
{
	const char *slash = strchr(key, '/');
	_cleanup_free_ char *hba = slash ? strndup(key, (size_t)(slash - key)) : NULL;
	return hba ? tm_config_find_backstore(c, hba, slash + 1) : NULL;
}

/* The settings of the object a setting entry names in c; NULL if c has no such object. */
static struct tm_settings *settings_of(const struct tm_config *c, const struct setting_entry *e,
				       enum tm_backstore_type *type, struct tm_origin *origin)
{
	struct tm_target *t;
	struct tm_backstore *b;
	struct tm_acl *a;

	*type = 0;
	switch (e->kind) {
	case TM_OBJ_TARGET:
		t = (struct tm_target *)tm_config_find_target(c, e->object);
		if (!t)
			return NULL;
		*origin = t->origin;
		return &t->settings;
	case TM_OBJ_ACL:
		t = (struct tm_target *)tm_config_find_target(c, e->object);
		a = t ? (struct tm_acl *)tm_target_find_acl(t, e->initiator) : NULL;
		if (!a)
			return NULL;
		*origin = a->origin;
		return &a->settings;
	case TM_OBJ_BACKSTORE:
		b = (struct tm_backstore *)find_backstore(c, e->object);
		if (!b)
			return NULL;
		*type = b->type;
		*origin = b->origin;
		return &b->settings;
	default:
		return NULL;
	}
}

/*
 * Whether c holds what an entry names.  In the declared model (declared): the object, and
 * for a setting entry the setting, declared (not released); in a running one: the object,
 * and a backstore only if no other target shares it.
 */
static bool holds(const struct tm_config *c, const char *entry, bool declared)
{
	const struct tm_setting *s;
	struct tm_settings *settings;
	struct setting_entry e;
	enum tm_backstore_type type;
	struct tm_origin o;
	const char *name;

	if (streq(entry, DISCOVERY_ENTRY))
		return c->discovery.n > 0;
	if ((name = startswith(entry, "target ")))
		return tm_config_find_target(c, name) != NULL;
	if ((name = startswith(entry, "backstore "))) {
		const struct tm_backstore *b = find_backstore(c, name);
		return b && (declared || !b->shared);
	}
	if (!split_setting(entry, &e) || !(settings = settings_of(c, &e, &type, &o)))
		return false;
	s = declared ? tm_settings_find(settings, e.path) : NULL;
	return !declared || (s && !s->released);
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
	path = tm_strdupf("%s/" LEDGER_FILE, l->dir);
	if (!path)
		return -ENOMEM;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

int tm_ledger_keep_only(struct tm_ledger *l, const struct tm_config *want)
{
	return tm_ledger_keep_only_in(l, want, NULL);
}

/* One "setting ..." entry per declared setting of obj ("target IQN", "acl IQN INITIATOR" or
   "backstore HBA/NAME") that would go back to a default if no longer declared. */
static int record_object_settings(struct tm_ledger *l, const char *obj, enum tm_obj_kind kind,
				  enum tm_backstore_type type, const struct tm_settings *s)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && i < s->n; i++)
		if (!s->v[i].released && tm_policy_released_value(kind, type, s->v[i].path))
			r = add_entry(l, tm_strdupf(SETTING_PREFIX "%s %s", obj, s->v[i].path));
	return r < 0 ? r : 0;
}

static int record_settings(struct tm_ledger *l, const struct tm_config *want)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && i < want->n_targets; i++) {
		const struct tm_target *t = &want->targets[i];
		_cleanup_free_ char *obj = tm_strdupf("target %s", t->iqn);

		r = obj ? record_object_settings(l, obj, TM_OBJ_TARGET, 0, &t->settings) : -ENOMEM;
		for (size_t j = 0; r >= 0 && j < t->n_acls; j++) {
			_cleanup_free_ char *acl =
			    tm_strdupf("acl %s %s", t->iqn, t->acls[j].initiator);
			r = acl ? record_object_settings(l, acl, TM_OBJ_ACL, 0,
							 &t->acls[j].settings)
				: -ENOMEM;
		}
	}
	for (size_t i = 0; r >= 0 && i < want->n_backstores; i++) {
		const struct tm_backstore *b = &want->backstores[i];
		_cleanup_free_ char *obj = tm_strdupf("backstore %s/%s", b->hba, b->name);

		r = obj ? record_object_settings(l, obj, TM_OBJ_BACKSTORE, b->type, &b->settings)
			: -ENOMEM;
	}
	return r;
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
	if (want->discovery.n > 0) {
		r = tm_ledger_add(l, TM_OBJ_DISCOVERY, NULL);
		if (r < 0)
			return r;
	}
	r = record_settings(l, want);
	if (r < 0)
		return r;
	return l->unsaved ? ledger_save(l) : 0;
}

int tm_ledger_release(const struct tm_ledger *l, struct tm_config *want)
{
	for (size_t i = 0; i < l->n_entries; i++) {
		struct tm_settings *settings;
		struct setting_entry e;
		enum tm_backstore_type type;
		const char *value;
		struct tm_origin o;
		int r;

		if (!startswith(l->entries[i], SETTING_PREFIX) || !split_setting(l->entries[i], &e))
			continue;
		settings = settings_of(want, &e, &type, &o);
		if (!settings || tm_settings_find(settings, e.path))
			continue;
		/* Only while targetmgr still owns the object: a ledger repaired by hand may
		   have lost its "target" line but kept its settings. */
		if (!tm_ledger_owns(
			l, e.kind == TM_OBJ_BACKSTORE ? TM_OBJ_BACKSTORE : TM_OBJ_TARGET, e.object))
			continue;
		value = tm_policy_released_value(e.kind, type, e.path);
		if (!value)
			continue;
		r = tm_settings_set(settings, e.path, value, tm_policy_is_secret(e.path), o);
		if (r < 0)
			return r;
		tm_settings_find(settings, e.path)->released = true;
	}
	return 0;
}
