/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Semantic checks of a declared model: what the parser accepts line by line but LIO would
 * refuse, or would do differently from what the files say.  Messages name the declaring line
 * (and the earlier one for duplicates) and never contain a CHAP secret.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "verify.h"

#include <errno.h>
#include <libgen.h>
#include <sys/stat.h>

#include "policy.h"
#include "syntax.h"
#include "util.h"

#define WINDOWS_SECRET_MIN 12
#define WINDOWS_SECRET_MAX 16

/* On ENOMEM a message is lost; there is nothing more sensible to do with it. */
static _printf_(4, 5) void report(struct tm_diags *d, enum tm_severity sev,
				  const struct tm_origin *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)tm_diag_addv(d, sev, o->file, o->line, fmt, ap);
	va_end(ap);
}

#define report_error(d, o, ...)   report(d, TM_ERROR, o, __VA_ARGS__)
#define report_warning(d, o, ...) report(d, TM_WARNING, o, __VA_ARGS__)

/* "file:line" of an origin, for "already declared at ..." */
#define AT(o) (o)->file ? (o)->file : "?", (o)->line

/* ---- CHAP -------------------------------------------------------------------------------- */

static void check_chap_value(const struct tm_setting *s, const char *what, bool secret,
			     struct tm_diags *d)
{
	size_t n = strlen(s->value);

	if (n == 0) {
		report_error(d, &s->origin, "%s is empty", what);
		return;
	}
	if (n > TM_POLICY_CHAP_MAX)
		report_error(d, &s->origin, "%s is longer than %d bytes, more than LIO takes", what,
			     TM_POLICY_CHAP_MAX);
	/* One word of a "chap = USER SECRET" line. */
	if (!tm_syntax_word_ok(s->value))
		report_error(d, &s->origin, "%s contains whitespace or control characters", what);
	if (secret && n < WINDOWS_SECRET_MIN)
		report_warning(d, &s->origin,
			       "%s is shorter than %d characters: the Microsoft iSCSI initiator "
			       "refuses secrets outside %d to %d characters",
			       what, WINDOWS_SECRET_MIN, WINDOWS_SECRET_MIN, WINDOWS_SECRET_MAX);
	else if (secret && n > WINDOWS_SECRET_MAX)
		report_warning(d, &s->origin,
			       "%s is longer than %d characters: the Microsoft iSCSI initiator "
			       "refuses secrets outside %d to %d characters",
			       what, WINDOWS_SECRET_MAX, WINDOWS_SECRET_MIN, WINDOWS_SECRET_MAX);
}

/* One set of credentials: auth/... of a TPG or an ACL (prefix "auth/"), or discovery (""). */
static void check_chap(const struct tm_settings *settings, const char *prefix, struct tm_diags *d)
{
	static const struct {
		const char *name, *what;
		bool secret;
	} fields[] = {
	    {"userid", "CHAP user", false},
	    {"password", "CHAP secret", true},
	    {"userid_mutual", "mutual CHAP user", false},
	    {"password_mutual", "mutual CHAP secret", true},
	};
	const struct tm_setting *found[ELEMENTSOF(fields)];

	for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
		_cleanup_free_ char *path = tm_strdupf("%s%s", prefix, fields[i].name);
		if (!path)
			return;
		found[i] = tm_settings_find(settings, path);
		if (found[i])
			check_chap_value(found[i], fields[i].what, fields[i].secret, d);
	}
	if ((found[2] || found[3]) && !found[0]) {
		const struct tm_setting *m = found[2] ? found[2] : found[3];
		report_error(d, &m->origin, "mutual-chap without chap: give chap as well");
	}
	if (found[1] && found[3] && streq(found[1]->value, found[3]->value))
		report_warning(d, &found[3]->origin,
			       "the mutual CHAP secret equals the CHAP secret: the Microsoft iSCSI "
			       "initiator refuses that");
}

/* ---- targets ----------------------------------------------------------------------------- */

static void verify_target(const struct tm_config *c, const struct tm_target *t, struct tm_diags *d)
{
	const struct tm_acl *with_chap = NULL;
	const char *reason;

	/* A lookup returns the first element with a key: another one is declared again. */
	for (size_t i = 0; i < t->n_luns; i++) {
		const struct tm_lun *first = tm_target_find_lun(t, t->luns[i].number);
		if (first != &t->luns[i])
			report_error(d, &t->luns[i].origin, "LUN %u already declared at %s:%u",
				     t->luns[i].number, AT(&first->origin));
	}

	for (size_t i = 0; i < t->n_portals; i++) {
		const struct tm_portal *first = tm_target_find_portal(t, t->portals[i].address);
		if (first != &t->portals[i])
			report_error(d, &t->portals[i].origin,
				     "portal %s already declared at %s:%u", t->portals[i].address,
				     AT(&first->origin));
	}

	for (size_t i = 0; i < t->n_acls; i++) {
		const struct tm_acl *a = &t->acls[i], *first;

		reason = tm_syntax_iscsi_name_invalid(a->initiator);
		if (reason)
			report_error(d, &a->origin, "invalid initiator name '%s': %s", a->initiator,
				     reason);
		first = tm_target_find_acl(t, a->initiator);
		if (first != a)
			report_error(d, &a->origin, "initiator %s already declared at %s:%u",
				     a->initiator, AT(&first->origin));
		for (size_t j = 0; j < a->n_mapped_luns; j++)
			if (!tm_target_find_lun(t, a->mapped_luns[j].lun))
				report_error(d, &a->mapped_luns[j].origin,
					     "initiator %s: target %s has no LUN %u", a->initiator,
					     t->iqn, a->mapped_luns[j].lun);
		check_chap(&a->settings, "auth/", d);
		if (!with_chap && tm_settings_find(&a->settings, "auth/userid"))
			with_chap = a;
	}

	/* LIO turns authentication on or off for the whole TPG. */
	if (with_chap)
		for (size_t i = 0; i < t->n_acls; i++)
			if (!tm_settings_find(&t->acls[i].settings, "auth/userid"))
				report_error(
				    d, &t->acls[i].origin,
				    "initiator %s has no CHAP credentials, but initiator %s "
				    "(%s:%u) has: LIO enables authentication per target, so "
				    "every initiator of target %s needs chap",
				    t->acls[i].initiator, with_chap->initiator,
				    AT(&with_chap->origin), t->iqn);

	/* LIO write-protects fileio and RAM disk LUNs only through mapped LUNs of node ACLs;
	   an open target (demo mode) would hand them out writable. */
	if (t->n_acls == 0)
		for (size_t i = 0; i < t->n_luns; i++) {
			const struct tm_lun *l = &t->luns[i];
			const struct tm_backstore *b;

			if (!l->readonly)
				continue;
			b = tm_config_find_backstore(c, l->backstore_hba, l->backstore_name);
			if (b && b->type != TM_BACKSTORE_IBLOCK)
				report_error(
				    d, &l->origin,
				    "LUN %u is read-only, but LIO write-protects %s LUNs only "
				    "per initiator: add 'initiator =' lines or [initiator] "
				    "sections to target %s",
				    l->number,
				    b->type == TM_BACKSTORE_FILEIO ? "fileio" : "RAM disk", t->iqn);
		}

	check_chap(&t->settings, "auth/", d);
}

/* ---- backstores -------------------------------------------------------------------------- */

/*
 * The checks between backstores (names, serials, backing files used twice) run in one pass:
 * each backstore joins a group per key, and a group remembers the first two members that the
 * check would report against each other, which is all a later member needs.
 */

/* The LUN a backstore serves: the parser makes a LUN's backstore on the LUN's line. */
struct lun_ref {
	const struct tm_target *target;
	const struct tm_lun *lun;
};

struct group {
	size_t first; /* the first backstore with the key */
	size_t other; /* the first after it not tied to it (see first_untied), SIZE_MAX if none */
};

struct groups {
	struct tm_hashmap map; /* key hash -> position in v */
	struct group *v;
	size_t n;
};

struct backstore_checks {
	const struct tm_config *c;
	struct lun_ref *luns;   /* per backstore */
	struct host_file *host; /* per backstore, NULL without TM_VERIFY_HOST */
	struct groups names, serials, paths, files;
};

/* Whether backstores a and b (positions) have the same key, or are tied within a group. */
typedef bool (*relation)(const struct backstore_checks *k, size_t a, size_t b);

static uint64_t lun_line_hash(const char *file, unsigned line, const char *hba, const char *name)
{
	uint64_t h = tm_hash_combine(tm_hash_string(file), tm_hash_u64(line));
	return tm_hash_combine(tm_hash_combine(h, tm_hash_string(hba)), tm_hash_string(name));
}

/* Fills k->luns: for each backstore, the first LUN declared on its line that links it. */
static int find_luns(struct backstore_checks *k)
{
	const struct tm_config *c = k->c;
	_cleanup_free_ struct lun_ref *all = NULL;
	struct tm_hashmap by_line = {0};
	size_t n_all = 0;
	int r = 0;

	for (size_t i = 0; r >= 0 && i < c->n_targets; i++)
		for (size_t j = 0; r >= 0 && j < c->targets[i].n_luns; j++) {
			const struct tm_lun *l = &c->targets[i].luns[j];
			struct lun_ref *ref = TM_PUSH(all, n_all);

			if (!ref) {
				r = -ENOMEM;
				break;
			}
			*ref = (struct lun_ref){&c->targets[i], l};
			r = tm_hashmap_put(&by_line,
					   lun_line_hash(l->origin.file, l->origin.line,
							 l->backstore_hba, l->backstore_name),
					   n_all - 1);
		}
	for (size_t i = 0; r >= 0 && i < c->n_backstores; i++) {
		const struct tm_backstore *b = &c->backstores[i];
		size_t cursor = 0, pos, first = SIZE_MAX;

		while (tm_hashmap_next(
		    &by_line, lun_line_hash(b->origin.file, b->origin.line, b->hba, b->name),
		    &cursor, &pos)) {
			const struct tm_lun *l = all[pos].lun;
			if (pos < first && l->origin.line == b->origin.line &&
			    streq_ptr(l->origin.file, b->origin.file) &&
			    streq_ptr(l->backstore_hba, b->hba) &&
			    streq_ptr(l->backstore_name, b->name))
				first = pos;
		}
		if (first != SIZE_MAX)
			k->luns[i] = all[first];
	}
	tm_hashmap_clear(&by_line);
	return r;
}

/* Two backstores of a LUN declared twice (or of a target declared twice) collide in name and
   path too; the duplicate LUN or target is the one message worth giving. */
static bool same_lun(const struct backstore_checks *k, size_t a, size_t b)
{
	const struct lun_ref *la = &k->luns[a], *lb = &k->luns[b];

	return la->lun && lb->lun && la->lun->number == lb->lun->number &&
	       streq(la->target->iqn, lb->target->iqn);
}

static bool same_name(const struct backstore_checks *k, size_t a, size_t b)
{
	return streq(k->c->backstores[a].name, k->c->backstores[b].name);
}

static bool same_serial(const struct backstore_checks *k, size_t a, size_t b)
{
	return streq_ptr(k->c->backstores[a].serial, k->c->backstores[b].serial);
}

static bool same_path(const struct backstore_checks *k, size_t a, size_t b)
{
	return streq(k->c->backstores[a].path, k->c->backstores[b].path);
}

struct host_file {
	bool exists;
	struct stat st;
};

static bool same_host_file(const struct host_file *a, const struct host_file *b)
{
	if (!a->exists || !b->exists)
		return false;
	if (S_ISBLK(a->st.st_mode) || S_ISBLK(b->st.st_mode))
		return S_ISBLK(a->st.st_mode) && S_ISBLK(b->st.st_mode) &&
		       a->st.st_rdev == b->st.st_rdev;
	return a->st.st_dev == b->st.st_dev && a->st.st_ino == b->st.st_ino;
}

static void check_host_path(const struct tm_backstore *b, struct host_file *h, struct tm_diags *d)
{
	if (stat(b->path, &h->st) < 0) {
		int r = errno;

		if (r != ENOENT) {
			report_error(d, &b->origin, "cannot access %s: %s", b->path, strerror(r));
			return;
		}
		if (b->type == TM_BACKSTORE_IBLOCK)
			report_error(d, &b->origin, "block device %s does not exist", b->path);
		else if (b->size == 0)
			report_error(d, &b->origin, "%s does not exist (give size= to create it)",
				     b->path);
		else {
			/* fileio creates the file, but not its directory. */
			_cleanup_free_ char *copy = strdup(b->path);
			const char *dir;
			struct stat st;

			if (!copy)
				return;
			dir = dirname(copy);
			if (stat(dir, &st) < 0)
				report_error(d, &b->origin,
					     "directory %s does not exist, so %s cannot be created",
					     dir, b->path);
		}
		return;
	}
	h->exists = true;

	if (b->type == TM_BACKSTORE_IBLOCK) {
		if (!S_ISBLK(h->st.st_mode))
			report_error(d, &b->origin,
				     "%s is not a block device (use type=fileio for a file)",
				     b->path);
	} else if (S_ISDIR(h->st.st_mode))
		report_error(d, &b->origin, "%s is a directory", b->path);
	else if (!S_ISREG(h->st.st_mode) && !S_ISBLK(h->st.st_mode))
		report_error(d, &b->origin, "%s is neither a regular file nor a block device",
			     b->path);
}

static bool same_file(const struct backstore_checks *k, size_t a, size_t b)
{
	return same_host_file(&k->host[a], &k->host[b]);
}

/* Hashes what same_host_file() compares. */
static uint64_t host_file_hash(const struct host_file *h)
{
	if (S_ISBLK(h->st.st_mode))
		return tm_hash_combine(tm_hash_u64(1), tm_hash_u64(h->st.st_rdev));
	return tm_hash_combine(tm_hash_combine(tm_hash_u64(0), tm_hash_u64(h->st.st_dev)),
			       tm_hash_u64(h->st.st_ino));
}

/* The group of backstores whose key (by same_key) is backstore i's; i founds it if none. */
static struct group *group_of(struct groups *g, const struct backstore_checks *k, size_t i,
			      uint64_t hash, relation same_key)
{
	size_t cursor = 0, pos;
	struct group *e;

	while (tm_hashmap_next(&g->map, hash, &cursor, &pos))
		if (same_key(k, g->v[pos].first, i))
			return &g->v[pos];
	e = TM_PUSH(g->v, g->n);
	if (!e)
		return NULL;
	*e = (struct group){i, SIZE_MAX};
	if (tm_hashmap_put(&g->map, hash, g->n - 1) < 0) {
		g->n--;
		return NULL;
	}
	return e;
}

/*
 * The first earlier member of backstore i's group that tied() does not tie to i (SIZE_MAX:
 * none), and i joins the group.  tied() is an equivalence among members: if the first member
 * is tied to i, the first one not tied to i is the first one not tied to the first member.
 */
static size_t first_untied(struct group *g, const struct backstore_checks *k, size_t i,
			   relation tied)
{
	size_t r;

	if (g->first == i)
		return SIZE_MAX;
	if (tied(k, g->first, i))
		return g->other;
	r = g->first;
	if (g->other == SIZE_MAX)
		g->other = i;
	return r;
}

static void groups_clear(struct groups *g)
{
	tm_hashmap_clear(&g->map);
	free(g->v);
}

static void check_backstore(struct backstore_checks *k, size_t i, struct tm_diags *d)
{
	const struct tm_backstore *b = &k->c->backstores[i], *o;
	struct group *g, *gf = NULL;
	size_t j, jf = SIZE_MAX;

	switch (b->type) {
	case TM_BACKSTORE_RAMDISK:
		if (b->size == 0)
			report_error(d, &b->origin, "a RAM disk needs size=");
		break;
	case TM_BACKSTORE_IBLOCK:
		if (b->size != 0)
			report_error(d, &b->origin,
				     "size= does not apply to block devices (iblock): LIO "
				     "uses the size of %s",
				     b->path);
		break;
	default:
		break;
	}
	if (b->nullio && b->type != TM_BACKSTORE_RAMDISK)
		report_error(d, &b->origin, "nullio applies only to RAM disks");

	if (k->host && b->path)
		check_host_path(b, &k->host[i], d);

	g = group_of(&k->names, k, i, tm_hash_string(b->name), same_name);
	if (!g)
		return;
	j = first_untied(g, k, i, same_lun);
	if (j != SIZE_MAX)
		report_error(d, &b->origin, "backstore name %s already used at %s:%u", b->name,
			     AT(&k->c->backstores[j].origin));

	/* Initiators tell LUNs apart by the NAA identifier LIO derives from the serial:
	   two LUNs with one serial look like two paths to one disk to multipathd. */
	g = group_of(&k->serials, k, i, tm_hash_string(b->serial), same_serial);
	if (!g)
		return;
	j = first_untied(g, k, i, same_name);
	if (j != SIZE_MAX)
		report_error(d, &b->origin,
			     "serial %s already used at %s:%u: initiators would take both LUNs for "
			     "one disk",
			     b->serial, AT(&k->c->backstores[j].origin));

	if (!b->path)
		return;
	/* The first earlier backstore on the same path or on the same file by another path. */
	g = group_of(&k->paths, k, i, tm_hash_string(b->path), same_path);
	if (k->host && k->host[i].exists)
		gf = group_of(&k->files, k, i, host_file_hash(&k->host[i]), same_file);
	if (!g || (k->host && k->host[i].exists && !gf))
		return;
	j = first_untied(g, k, i, same_lun);
	if (gf)
		jf = first_untied(gf, k, i, same_lun);
	if (jf < j)
		j = jf;
	if (j == SIZE_MAX)
		return;
	o = &k->c->backstores[j];
	if (streq(o->path, b->path))
		report_error(d, &b->origin, "%s is already used by the LUN at %s:%u", b->path,
			     AT(&o->origin));
	else
		report_error(d, &b->origin,
			     "%s is the same as %s, already used by the LUN at %s:%u", b->path,
			     o->path, AT(&o->origin));
}

static void verify_backstores(const struct tm_config *c, unsigned flags, struct tm_diags *d)
{
	_cleanup_free_ struct host_file *host = NULL;
	_cleanup_free_ struct lun_ref *luns = NULL;
	struct backstore_checks k = {.c = c};
	size_t n = c->n_backstores ? c->n_backstores : 1;

	/* On ENOMEM the checks are skipped: messages are lost as in report(). */
	if (flags & TM_VERIFY_HOST) {
		host = calloc(n, sizeof(*host));
		if (!host)
			return;
	}
	luns = calloc(n, sizeof(*luns));
	if (!luns)
		return;
	k.host = host;
	k.luns = luns;
	if (find_luns(&k) < 0)
		return;
	for (size_t i = 0; i < c->n_backstores; i++)
		check_backstore(&k, i, d);
	groups_clear(&k.names);
	groups_clear(&k.serials);
	groups_clear(&k.paths);
	groups_clear(&k.files);
}

int tm_verify(const struct tm_config *config, unsigned flags, struct tm_diags *diags)
{
	size_t errors = diags->n_errors;

	for (size_t i = 0; i < config->n_targets; i++) {
		const struct tm_target *t = &config->targets[i];
		const char *reason = tm_syntax_iscsi_name_invalid(t->iqn);

		if (reason)
			report_error(diags, &t->origin, "invalid target name '%s': %s", t->iqn,
				     reason);
		const struct tm_target *first = tm_config_find_target(config, t->iqn);

		if (first != t)
			report_error(diags, &t->origin, "target %s already declared at %s:%u",
				     t->iqn, AT(&first->origin));
		verify_target(config, t, diags);
	}
	verify_backstores(config, flags, diags);
	check_chap(&config->discovery, "", diags);

	return (int)(diags->n_errors - errors);
}
