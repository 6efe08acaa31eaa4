/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Model -> target file text.  See save.h.
 *
 * Each target is worked out in two passes: first what can be written (LUNs, initiators, CHAP,
 * settings), with a note for everything that cannot; then the text.  A target that cannot be
 * written at all (a name the parser refuses, CHAP credentials of an open target that no line
 * can hold) is written commented out, line by line, so that nothing is lost and nothing is
 * opened up.  Every line stays within the parser's TM_SYNTAX_LINE_MAX characters, comments
 * included.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "save.h"

#include <stdint.h>

#include "hashmap.h"
#include "layout.h"
#include "policy.h"
#include "syntax.h"
#include "util.h"

struct notes {
	char **v;
	size_t n;
};

struct cred {
	const char *user; /* NULL: none */
	const char *secret;
};

struct lun_out {
	const struct tm_lun *lun;
	const struct tm_backstore *b; /* NULL: not written */
	char *name, *serial;          /* as written */
	bool with_name, with_serial;  /* false only when a line would be too long and the
					 parser's default is the same */
	const char *type_opt;         /* "iblock", "fileio", or NULL when the path tells */
	uint64_t size;                /* size= (0: none) */
	char *attributes;             /* " attribute.NAME=VALUE..." or NULL */
	const char *alua;             /* alua=: the ALUA group of its target port, or NULL */
	bool ro;
	unsigned wp_yes, wp_no; /* mapped LUNs of written initiators, write-protected or not */
	struct notes notes;
};

struct acl_out {
	const struct tm_acl *acl;
	bool keep;
	unsigned *luns; /* LUN numbers, ascending */
	bool *wp;       /* parallel to luns */
	size_t n_luns;
	struct cred chap, mutual;
	bool own_chap, own_mutual, section;
	struct notes notes;
};

/* What a written LUN made of a backstore, for the checks of later LUNs. */
struct backstore_use {
	bool referenced; /* some LUN of any target links it */
	const char *iqn; /* the written LUN it serves; NULL: none */
	unsigned lun;
	char *name, *serial; /* as written */
};

struct writer {
	const struct tm_config *c;
	const struct tm_save_options *opts;
	struct tm_diags *warnings;
	struct backstore_use *uses; /* parallel to c->backstores */
	bool foreign_hba, foreign_links, secrets;
	unsigned withheld, referenced; /* credentials written as <withheld>, as @FILE */
	/* With withhold_secrets: the declared secrets read from secret files, by value. */
	const struct tm_setting **secret_files;
	size_t n_secret_files;
	struct tm_hashmap secret_file_index;
	/* The ALUA groups written LUNs are in, each name once: [alua NAME] sections. */
	const struct tm_alua_group **alua;
	size_t n_alua;
	int error; /* the first -ENOMEM */
};

struct target_out {
	const struct tm_target *t;
	bool open; /* running: generate_node_acls=1 */
	char *fatal;
	struct lun_out *luns;
	struct acl_out *acls;
	size_t n_kept;
	struct cred chap, mutual; /* the target's chap = and mutual-chap = lines */
	struct notes notes;       /* below the [target] line */
	struct notes acl_notes;   /* initiators not written */
	struct notes settings;    /* "attribute.X = V" and "parameter.X = V" lines */
	char **portals;           /* addresses as the parser makes them */
	size_t n_portals;
};

/* ---- small helpers ----------------------------------------------------------------------- */

static void notes_clear(struct notes *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->v[i]);
	free(n->v);
	*n = (struct notes){0};
}

static bool push_string(struct writer *w, struct notes *n, char *s)
{
	char **slot;

	if (!s) {
		w->error = -ENOMEM;
		return false;
	}
	slot = TM_PUSH(n->v, n->n);
	if (!slot) {
		free(s);
		w->error = -ENOMEM;
		return false;
	}
	*slot = s;
	return true;
}

/*
 * A comment for n and, with subject, the same message as a warning "<subject>: <message>".
 * Control characters (from names read out of the kernel) become '?', so that a comment stays
 * one line.  Callers never pass secrets.
 */
static _printf_(5, 6) void note(struct writer *w, struct notes *n, bool warn, const char *subject,
				const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		w->error = -ENOMEM;
		return;
	}
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	if (warn && w->warnings &&
	    tm_diag_add(w->warnings, TM_WARNING, NULL, 0, "%s%s%s", subject ? subject : "",
			subject ? ": " : "", msg) < 0)
		w->error = -ENOMEM;
	push_string(w, n, msg);
}

/* Writes text as comment lines ("; ..."), broken at blanks to fit the parser's line limit. */
static void write_comment(FILE *f, const char *text)
{
	const size_t width = TM_SYNTAX_LINE_MAX - 2;

	while (*text) {
		size_t n = strlen(text);

		if (n > width) {
			n = width;
			for (size_t i = width; i > width / 2; i--)
				if (text[i] == ' ') {
					n = i;
					break;
				}
		}
		fprintf(f, "; %.*s\n", (int)n, text);
		text += n;
		while (*text == ' ')
			text++;
	}
}

static void write_notes(FILE *f, const struct notes *n)
{
	for (size_t i = 0; i < n->n; i++)
		write_comment(f, n->v[i]);
}

static const char *get(const struct tm_settings *s, const char *path)
{
	const struct tm_setting *e = tm_settings_find(s, path);
	return e ? e->value : NULL;
}

static bool is_set(const char *s)
{
	return s && *s;
}

/* Whether "attribute.NAME = VALUE" reads back as attrib/NAME = VALUE. */
static bool attribute_line_ok(const char *name, const char *value)
{
	return tm_syntax_setting_name_ok(name) && !tm_syntax_value_problem(value) &&
	       tm_syntax_key_line_fits(strlen("attribute.") + strlen(name), strlen(value));
}

/* Why "key = USER SECRET" cannot hold these credentials; NULL when it can. */
static const char *cred_problem(const struct cred *c, const char *key)
{
	size_t ul = strlen(c->user), sl = c->secret ? strlen(c->secret) : 0;

	if (sl == 0)
		return "it has no secret";
	if (ul > TM_POLICY_CHAP_MAX || sl > TM_POLICY_CHAP_MAX)
		return "the user or secret is longer than 255 bytes";
	if (!tm_syntax_word_ok(c->user) || !tm_syntax_word_ok(c->secret))
		return "the user or secret contains blanks or control characters";
	/* The user may start with ';' (tm_syntax_key_line() keeps it), the secret follows a
	   blank. */
	if (c->secret[0] == ';')
		return "the secret starts with ';', which would start a comment";
	if (c->secret[0] == '@')
		return "the secret starts with '@', which a target file takes only from a secret "
		       "file";
	if (streq(c->secret, TM_POLICY_SECRET_WITHHELD))
		return "the secret is " TM_POLICY_SECRET_WITHHELD ", which save writes for a "
		       "withheld secret";
	/* Whichever form write_cred() chooses: the secret, or the placeholder. */
	if (!tm_syntax_key_line_fits(strlen(key), ul + 1 +
						      (sl > strlen(TM_POLICY_SECRET_WITHHELD)
							   ? sl
							   : strlen(TM_POLICY_SECRET_WITHHELD))))
		return "the user and secret are too long for one line";
	return NULL;
}

/* <prefix>userid and <prefix>password, or their _mutual twins; user NULL when not set. */
static void get_cred(struct writer *w, const struct tm_settings *s, const char *prefix, bool mutual,
		     struct cred *c)
{
	_cleanup_free_ char *user = tm_policy_chap_path(prefix, mutual, false);
	_cleanup_free_ char *secret = tm_policy_chap_path(prefix, mutual, true);

	*c = (struct cred){0};
	if (!user || !secret) {
		w->error = -ENOMEM;
		return;
	}
	c->user = get(s, user);
	c->secret = get(s, secret);
	if (!tm_policy_credential_set(c->user))
		*c = (struct cred){0};
	else if (!tm_policy_credential_set(c->secret))
		c->secret = NULL;
}

static bool cred_eq(const struct cred *a, const struct cred *b)
{
	return streq_ptr(a->user, b->user) && streq_ptr(a->secret, b->secret);
}

/* "KEY = VALUE", or the shorter form where only that fits (the analysis checked that one
   does).  The line may hold a secret: it is wiped. */
static void write_key_line(struct writer *w, FILE *f, const char *key, const char *value)
{
	char *line = NULL;
	int r = tm_syntax_key_line(key, value, &line);

	if (r < 0) {
		if (w->error == 0)
			w->error = r == -ENOMEM ? r : -EINVAL;
		return;
	}
	fprintf(f, "%s\n", line);
	tm_erase_free_str(line);
}

/* Indexes the declared secrets that came from secret files, by value (withhold_secrets). */
static int index_secret_files(struct writer *w, const struct tm_settings *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct tm_setting **slot;

		if (!s->v[i].secret || !s->v[i].secret_file)
			continue;
		slot = TM_PUSH(w->secret_files, w->n_secret_files);
		if (!slot || tm_hashmap_put(&w->secret_file_index, tm_hash_string(s->v[i].value),
					    w->n_secret_files - 1) < 0)
			return -ENOMEM;
		*slot = &s->v[i];
	}
	return 0;
}

static int index_declared_secrets(struct writer *w, const struct tm_config *declared)
{
	int r = declared ? index_secret_files(w, &declared->discovery) : 0;

	for (size_t i = 0; r >= 0 && declared && i < declared->n_targets; i++) {
		const struct tm_target *t = &declared->targets[i];

		r = index_secret_files(w, &t->settings);
		for (size_t j = 0; r >= 0 && j < t->n_acls; j++)
			r = index_secret_files(w, &t->acls[j].settings);
	}
	return r;
}

/* A declared secret file that holds exactly this secret, and can stand in a line; or NULL. */
static const char *secret_file_of(const struct writer *w, const char *key, const struct cred *c)
{
	size_t cursor = 0, i;

	while (tm_hashmap_next(&w->secret_file_index, tm_hash_string(c->secret), &cursor, &i)) {
		const char *file = w->secret_files[i]->secret_file;

		if (streq(w->secret_files[i]->value, c->secret) && tm_syntax_word_ok(file) &&
		    tm_syntax_key_line_fits(strlen(key), strlen(c->user) + 2 + strlen(file)))
			return file;
	}
	return NULL;
}

/* "KEY = USER SECRET", or without secrets "KEY = USER @FILE" or "KEY = USER <withheld>" (see
   struct tm_save_options).  subject: whose credentials, for the warning. */
static void write_cred(struct writer *w, FILE *f, const char *key, const struct cred *c,
		       const char *subject)
{
	_cleanup_erase_ char *value = NULL;
	const char *file;

	if (!c->user)
		return;
	if (!w->opts || !w->opts->withhold_secrets) {
		value = tm_strdupf("%s %s", c->user, c->secret);
		w->secrets = true;
	} else if ((file = secret_file_of(w, key, c))) {
		value = tm_strdupf("%s @%s", c->user, file);
		w->referenced++;
	} else {
		value = tm_strdupf("%s %s", c->user, TM_POLICY_SECRET_WITHHELD);
		w->withheld++;
		if (w->warnings &&
		    tm_diag_add(w->warnings, TM_WARNING, NULL, 0,
				"%s: the %s secret of user %.64s is withheld (written as %s): no "
				"secret file of the target files holds it",
				subject, key, c->user, TM_POLICY_SECRET_WITHHELD) < 0)
			w->error = -ENOMEM;
	}
	if (!value) {
		w->error = -ENOMEM;
		return;
	}
	write_key_line(w, f, key, value);
}

static size_t backstore_index(const struct writer *w, const struct tm_backstore *b)
{
	return (size_t)(b - w->c->backstores);
}

static bool selected(const struct writer *w, enum tm_obj_kind kind, const char *name)
{
	return !w->opts || !w->opts->select || w->opts->select(w->opts->userdata, kind, name);
}

/* ---- LUNs -------------------------------------------------------------------------------- */

/* The LUN's line: 0, -E2BIG when it does not fit in a line, or -ENOMEM. */
static int format_lun(const struct lun_out *lo, bool ro, char **ret)
{
	_cleanup_free_ char *s = NULL;
	char key[32], size[32];
	size_t n = 0;
	FILE *f;

	f = open_memstream(&s, &n);
	if (!f)
		return -ENOMEM;
	fputs(lo->b->type == TM_BACKSTORE_RAMDISK ? "ramdisk" : lo->b->path, f);
	if (lo->type_opt)
		fprintf(f, " type=%s", lo->type_opt);
	if (lo->size) {
		tm_format_size(lo->size, size, sizeof(size));
		fprintf(f, " size=%s", size);
	}
	if (lo->b->type == TM_BACKSTORE_RAMDISK && lo->b->nullio)
		fputs(" nullio", f);
	if (lo->b->type == TM_BACKSTORE_FILEIO && lo->b->write_through)
		fputs(" write-through", f);
	if (ro)
		fputs(" ro", f);
	if (lo->with_name)
		fprintf(f, " name=%s", lo->name);
	if (lo->with_serial)
		fprintf(f, " serial=%s", lo->serial);
	if (lo->attributes)
		fputs(lo->attributes, f);
	if (lo->alua)
		fprintf(f, " alua=%s", lo->alua);
	if (fclose(f) != 0)
		return -ENOMEM;
	snprintf(key, sizeof(key), "lun %u", lo->lun->number);
	return tm_syntax_key_line(key, s, ret);
}

/* The lun-line option that sets e ("vendor=", "product=", "reservations="), with its value in
 *ret; NULL when none does. */
static const char *lun_option(const struct tm_setting *e, const char **ret)
{
	*ret = e->value;
	if (streq(e->path, "wwn/vendor_id") && tm_syntax_inquiry_ok(e->value, TM_SYNTAX_VENDOR_MAX))
		return "vendor=";
	if (streq(e->path, "wwn/product_id") &&
	    tm_syntax_inquiry_ok(e->value, TM_SYNTAX_PRODUCT_MAX))
		return "product=";
	*ret = "off";
	return streq(e->path, "attrib/emulate_pr") && streq(e->value, "0") ? "reservations=" : NULL;
}

/* The backstore's attrib/ settings as " attribute.NAME=VALUE" options, and those lun_option()
   names; others are noted. */
static int lun_attributes(struct writer *w, const struct tm_target *t, struct lun_out *lo)
{
	const struct tm_backstore *b = lo->b;
	char *s = NULL;
	size_t n = 0;
	FILE *f;

	f = open_memstream(&s, &n);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < b->settings.n; i++) {
		const struct tm_setting *e = &b->settings.v[i];
		const char *name = startswith(e->path, "attrib/");

		const char *value, *option = lun_option(e, &value);

		/* What the parser derives for every line, the serial apart. */
		if (streq(e->path, "wwn/vpd_unit_serial") || streq(e->path, "enable") ||
		    streq_ptr(tm_policy_backstore_default(b->type, e->path), e->value))
			continue;
		if (option)
			fprintf(f, " %s%s", option, value);
		else if (!name)
			note(
			    w, &lo->notes, true, t->iqn,
			    "LUN %u: backstore %s/%s: setting %s = %s cannot be written: not saved",
			    lo->lun->number, b->hba, b->name, e->path, e->value);
		else if (!tm_syntax_setting_name_ok(name) || !tm_syntax_word_ok(e->value))
			note(w, &lo->notes, true, t->iqn,
			     "LUN %u: backstore %s/%s: attribute %s = '%s' cannot be written as an "
			     "option: not saved",
			     lo->lun->number, b->hba, b->name, name, e->value);
		else
			fprintf(f, " attribute.%s=%s", name, e->value);
	}
	if (fclose(f) != 0) {
		free(s);
		return -ENOMEM;
	}
	if (n > 0)
		lo->attributes = s;
	else
		free(s);
	return 0;
}

/* Whether another written backstore is already known by this name, serial or path. */
static const struct backstore_use *used_by(const struct writer *w, size_t self, const char *name,
					   const char *serial, const char *path)
{
	for (size_t i = 0; i < w->c->n_backstores; i++) {
		const struct backstore_use *u = &w->uses[i];

		if (i == self || !u->iqn)
			continue;
		if ((name && streq(u->name, name)) || (serial && streq(u->serial, serial)) ||
		    (path && streq_ptr(w->c->backstores[i].path, path)))
			return u;
	}
	return NULL;
}

/* Whether the LUN's line may get "ro", which is settled with the initiators, later: the line
   must fit either way. */
static bool may_be_readonly(const struct tm_target *t, const struct lun_out *lo)
{
	if (lo->lun->readonly || (lo->b->type == TM_BACKSTORE_IBLOCK && lo->b->readonly))
		return true;
	for (size_t i = 0; i < t->n_acls; i++)
		for (size_t j = 0; j < t->acls[i].n_mapped_luns; j++) {
			const struct tm_mapped_lun *m = &t->acls[i].mapped_luns[j];
			const char *wp = get(&m->settings, "write_protect");

			if (m->lun == lo->lun->number && wp && streq(wp, "1"))
				return true;
		}
	return false;
}

/* ---- ALUA -------------------------------------------------------------------------------- */

static bool alua_group_same(const struct tm_alua_group *a, const struct tm_alua_group *b)
{
	if (a->id != b->id || a->settings.n != b->settings.n)
		return false;
	for (size_t i = 0; i < a->settings.n; i++) {
		const char *v = get(&b->settings, a->settings.v[i].path);
		if (!v || !streq(v, a->settings.v[i].value))
			return false;
	}
	return true;
}

/* alua= for the LUN's line, and its group for an [alua NAME] section (with claim). */
static void lun_alua(struct writer *w, const struct tm_target *t, struct lun_out *lo, bool claim)
{
	const char *name = get(&lo->lun->settings, TM_LAYOUT_LUN_ALUA_GROUP);
	const struct tm_alua_group *g = name ? tm_backstore_find_alua_group(lo->b, name) : NULL;

	if (!name)
		return;
	if (!g || !tm_syntax_alua_group_name_ok(name)) {
		note(w, &lo->notes, true, t->iqn,
		     "LUN %u: ALUA group %s of backstore %s/%s cannot be written: not saved",
		     lo->lun->number, name, lo->b->hba, lo->b->name);
		return;
	}
	lo->alua = g->name;
	if (!claim)
		return;
	for (size_t i = 0; i < w->n_alua; i++) {
		if (!streq(w->alua[i]->name, name))
			continue;
		if (!alua_group_same(w->alua[i], g))
			note(w, &lo->notes, true, t->iqn,
			     "LUN %u: ALUA group %s of backstore %s/%s differs from the group of "
			     "that name of another backstore, and target files declare a group "
			     "once: "
			     "written as the first",
			     lo->lun->number, name, lo->b->hba, lo->b->name);
		return;
	}
	if (!TM_PUSH(w->alua, w->n_alua))
		w->error = -ENOMEM;
	else
		w->alua[w->n_alua - 1] = g;
}

/* The [alua NAME] sections: id always (ids are what initiators see in REPORT TARGET PORT
   GROUPS), the rest where it is not the parser's default. */
static void write_alua_groups(struct writer *w, FILE *f)
{
	for (size_t i = 0; i < w->n_alua; i++) {
		const struct tm_alua_group *g = w->alua[i], *same_id = NULL;
		const char *type = get(&g->settings, TM_LAYOUT_ALUA_TYPE);
		const char *state = get(&g->settings, TM_LAYOUT_ALUA_STATE);
		const char *preferred = get(&g->settings, TM_LAYOUT_ALUA_PREFERRED);
		const char *type_word = tm_syntax_alua_type_word(type);
		const char *state_word = tm_syntax_alua_state_word(state);

		/* LIO numbers groups per storage object, target files once: two groups of two
		   backstores may share an id the files cannot give both. */
		for (size_t j = 0; g->id && !same_id && j < i; j++)
			if (w->alua[j]->id == g->id)
				same_id = w->alua[j];
		fprintf(f, "\n[alua %s]\n", g->name);
		if (same_id)
			fprintf(
			    f, "; id %u is group %s's too: not saved, targetmgr gives a free one\n",
			    g->id, same_id->name);
		else if (g->id)
			fprintf(f, "id = %u\n", g->id);
		if (type_word && !streq(type_word, "implicit"))
			fprintf(f, "type = %s\n", type_word);
		if (state_word && tm_policy_alua_implicit(type ?: "1"))
			fprintf(f, "state = %s\n", state_word);
		else if (state && tm_policy_alua_implicit(type ?: "1"))
			fprintf(f, "; state %s is not one target files can set: not saved\n",
				state);
		if (preferred && streq(preferred, "1"))
			fputs("preferred = yes\n", f);
	}
}

/*
 * Decides what LUN lo->lun becomes: lo->b stays NULL when it cannot be written (noted).  With
 * claim, the backstore is recorded as serving it (not for a target written commented out, so
 * that a later target may have it).
 */
static int analyze_lun(struct writer *w, const struct tm_target *t, struct lun_out *lo, bool claim)
{
	const struct tm_lun *l = lo->lun;
	const struct backstore_use *other, *shared;
	const struct tm_backstore *b;
	_cleanup_free_ char *line = NULL, *own_hba = NULL;
	const char *why = NULL;
	size_t bi;
	bool ro;
	int r;

	if (!l->backstore_hba || !l->backstore_name) {
		note(w, &lo->notes, true, t->iqn, "LUN %u is not linked to a backstore: not saved",
		     l->number);
		return 0;
	}
	b = tm_config_find_backstore(w->c, l->backstore_hba, l->backstore_name);
	if (!b) {
		note(w, &lo->notes, true, t->iqn,
		     "LUN %u serves backstore %s/%s, a kind targetmgr does not handle: not saved",
		     l->number, l->backstore_hba, l->backstore_name);
		return 0;
	}
	bi = backstore_index(w, b);
	/* Another written LUN serves it already (one disk through two targets): the same line
	   with the same name= and serial=, which the parser reads as that one backstore. */
	shared = w->uses[bi].iqn ? &w->uses[bi] : NULL;

	if (b->type == TM_BACKSTORE_RAMDISK) {
		if (!tm_syntax_size_ok(b->size)) {
			note(w, &lo->notes, true, t->iqn,
			     "LUN %u: RAM disk %s/%s has no usable size (%llu bytes): not saved",
			     l->number, b->hba, b->name, (unsigned long long)b->size);
			return 0;
		}
		lo->size = b->size;
	} else {
		why = tm_syntax_lun_path_invalid(b->path);
		if (why) {
			note(w, &lo->notes, true, t->iqn,
			     "LUN %u: backstore %s/%s cannot be written: its path: %s: not saved",
			     l->number, b->hba, b->name, why);
			return 0;
		}
		other = shared ? NULL : used_by(w, bi, NULL, NULL, b->path);
		if (other) {
			note(
			    w, &lo->notes, true, t->iqn,
			    "LUN %u: %s already serves LUN %u of target %s, and one path can serve "
			    "only one LUN in target files: not saved",
			    l->number, b->path, other->lun, other->iqn);
			return 0;
		}
		if (b->type != tm_syntax_type_from_path(b->path))
			lo->type_opt = tm_backstore_type_name(b->type);
		if (tm_syntax_size_applies(b->type, b->path) && b->size) {
			if (tm_syntax_size_ok(b->size))
				lo->size = b->size;
			else
				note(w, &lo->notes, true, t->iqn,
				     "LUN %u: size %llu is not a multiple of 512, so size= is left "
				     "out: %s must exist when the file is applied",
				     l->number, (unsigned long long)b->size, b->path);
		}
	}

	/* Identity: the backstore's name and unit serial, which initiators see. */
	if (shared)
		why = NULL;
	else if (!tm_syntax_backstore_name_ok(b->name))
		why = "a target file takes 1 to 64 characters of A-Z a-z 0-9 . _ -";
	else if (used_by(w, bi, b->name, NULL, NULL))
		why = "another saved backstore has that name";
	else
		why = NULL;
	lo->name = shared ? strdup(shared->name)
		   : why  ? tm_default_backstore_name(t->iqn, l->number)
			  : strdup(b->name);
	if (!lo->name)
		return -ENOMEM;
	if (why)
		note(w, &lo->notes, true, t->iqn,
		     "LUN %u: backstore name %s cannot be kept (%s): it becomes %s", l->number,
		     b->name, why, lo->name);

	if (shared)
		why = NULL;
	else if (!is_set(b->serial))
		why = "";
	else if (!tm_syntax_serial_ok(b->serial))
		why = "a target file takes 1 to 64 characters of A-Z a-z 0-9 . _ -";
	else if (used_by(w, bi, NULL, b->serial, NULL))
		why = "another saved backstore has it";
	else
		why = NULL;
	lo->serial = shared ? strdup(shared->serial)
		     : why  ? tm_default_serial(lo->name)
			    : strdup(b->serial);
	if (!lo->serial)
		return -ENOMEM;
	if (why && !*why)
		note(w, &lo->notes, true, t->iqn,
		     "LUN %u: backstore %s/%s has no unit serial: targetmgr gives it %s", l->number,
		     b->hba, b->name, lo->serial);
	else if (why)
		note(w, &lo->notes, true, t->iqn,
		     "LUN %u: unit serial %s cannot be kept (%s): it becomes %s", l->number,
		     b->serial, why, lo->serial);

	lo->b = b;
	lo->with_name = lo->with_serial = true;
	r = lun_attributes(w, t, lo);
	if (r < 0)
		return r;
	lun_alua(w, t, lo, claim);

	/* Too long for one line: leave out what the parser would choose anyway. */
	ro = may_be_readonly(t, lo);
	r = format_lun(lo, ro, &line);
	if (r == -E2BIG) {
		_cleanup_free_ char *dname = tm_default_backstore_name(t->iqn, l->number);
		_cleanup_free_ char *dserial = tm_default_serial(lo->name);

		if (!dname || !dserial)
			return -ENOMEM;
		/* A shared backstore's line keeps name=: it is what makes it the same one. */
		lo->with_name = shared || !streq(dname, lo->name);
		lo->with_serial = !streq(dserial, lo->serial);
		r = format_lun(lo, ro, &line);
	}
	if (r == -E2BIG) {
		note(w, &lo->notes, true, t->iqn,
		     "LUN %u (backstore %s/%s) needs a line longer than %d characters: not saved",
		     l->number, b->hba, b->name, TM_SYNTAX_LINE_MAX);
		lo->b = NULL;
		return 0;
	}
	if (r < 0)
		return r;

	own_hba = tm_backstore_hba(b->type, b->name);
	if (!own_hba)
		return -ENOMEM;
	if (!streq(b->hba, own_hba))
		w->foreign_hba = true;
	if (l->link && !streq(l->link, lo->name))
		w->foreign_links = true;

	if (claim && !shared) {
		struct backstore_use *u = &w->uses[bi];

		u->iqn = t->iqn;
		u->lun = l->number;
		u->name = strdup(lo->name);
		u->serial = strdup(lo->serial);
		if (!u->name || !u->serial)
			return -ENOMEM;
	}
	return 0;
}

static struct lun_out *find_lun_out(const struct target_out *to, unsigned number)
{
	for (size_t i = 0; i < to->t->n_luns; i++)
		if (to->luns[i].lun->number == number)
			return &to->luns[i];
	return NULL;
}

static size_t n_written_luns(const struct target_out *to)
{
	size_t n = 0;

	for (size_t i = 0; i < to->t->n_luns; i++)
		n += to->luns[i].b != NULL;
	return n;
}

/* ---- initiators -------------------------------------------------------------------------- */

static void drop_acl(struct writer *w, struct target_out *to, struct acl_out *ao, const char *why)
{
	note(w, &to->acl_notes, true, to->t->iqn, "initiator %s: not saved: %s", ao->acl->initiator,
	     why);
	ao->keep = false;
}

static int analyze_acl(struct writer *w, struct target_out *to, struct acl_out *ao)
{
	const struct tm_target *t = to->t;
	const struct tm_acl *a = ao->acl;
	const char *why;
	char buf[256];

	ao->keep = false;
	why = tm_syntax_iscsi_name_invalid(a->initiator);
	if (why) {
		snprintf(buf, sizeof(buf), "invalid iSCSI name (%s)", why);
		drop_acl(w, to, ao, buf);
		return 0;
	}
	if (!tm_syntax_key_line_fits(strlen("initiator"), strlen(a->initiator))) {
		drop_acl(w, to, ao, "the name is too long for a target file line");
		return 0;
	}
	ao->keep = true;

	ao->luns = calloc(a->n_mapped_luns + 1, sizeof(*ao->luns));
	ao->wp = calloc(a->n_mapped_luns + 1, sizeof(*ao->wp));
	if (!ao->luns || !ao->wp)
		return -ENOMEM;
	for (size_t i = 0; i < a->n_mapped_luns; i++) {
		const struct tm_mapped_lun *m = &a->mapped_luns[i];
		const char *wp = get(&m->settings, "write_protect");
		const struct lun_out *lo;
		bool dup = false;

		if (m->lun == TM_LUN_UNLINKED) {
			note(w, &ao->notes, true, t->iqn,
			     "initiator %s: mapped LUN %u is not linked to a LUN: not saved",
			     a->initiator, m->number);
			continue;
		}
		lo = find_lun_out(to, m->lun);
		if (!lo) {
			note(w, &ao->notes, true, t->iqn,
			     "initiator %s: mapped LUN %u links LUN %u, which the target does not "
			     "have: not saved",
			     a->initiator, m->number, m->lun);
			continue;
		}
		if (!lo->b) {
			note(w, &ao->notes, false, NULL,
			     "initiator %s: mapped LUN %u links LUN %u, which is not saved",
			     a->initiator, m->number, m->lun);
			continue;
		}
		for (size_t j = 0; j < ao->n_luns; j++)
			dup = dup || ao->luns[j] == m->lun;
		if (dup) {
			note(
			    w, &ao->notes, true, t->iqn,
			    "initiator %s sees LUN %u a second time, as LUN %u, which target files "
			    "cannot say: saved once",
			    a->initiator, m->lun, m->number);
			continue;
		}
		if (m->number != m->lun)
			note(w, &ao->notes, true, t->iqn,
			     "initiator %s sees LUN %u as LUN %u, which target files cannot say: "
			     "saved as LUN %u",
			     a->initiator, m->lun, m->number, m->lun);
		if (m->link &&
		    !(startswith(m->link, "lun_") && strtoul(m->link + 4, NULL, 10) == m->lun))
			w->foreign_links = true;
		ao->luns[ao->n_luns] = m->lun;
		ao->wp[ao->n_luns] = wp && streq(wp, "1");
		ao->n_luns++;
	}
	/* Ascending, as "luns =" lists them (insertion sort: a handful of entries). */
	for (size_t i = 1; i < ao->n_luns; i++)
		for (size_t j = i; j > 0 && ao->luns[j - 1] > ao->luns[j]; j--) {
			unsigned x = ao->luns[j];
			bool y = ao->wp[j];

			ao->luns[j] = ao->luns[j - 1];
			ao->wp[j] = ao->wp[j - 1];
			ao->luns[j - 1] = x;
			ao->wp[j - 1] = y;
		}
	if (ao->n_luns == 0 && n_written_luns(to) > 0) {
		drop_acl(w, to, ao,
			 "it sees no saved LUN, and an initiator in a target file sees at least "
			 "one");
		return 0;
	}

	get_cred(w, &a->settings, "auth/", false, &ao->chap);
	get_cred(w, &a->settings, "auth/", true, &ao->mutual);
	if (ao->chap.user && (why = cred_problem(&ao->chap, "chap"))) {
		snprintf(buf, sizeof(buf),
			 "its CHAP credentials (user %.64s) cannot be written: %s", ao->chap.user,
			 why);
		drop_acl(w, to, ao, buf);
		return 0;
	}
	if (ao->mutual.user && !ao->chap.user) {
		note(w, &ao->notes, true, t->iqn,
		     "initiator %s: mutual CHAP user %.64s without one-way CHAP: not saved",
		     a->initiator, ao->mutual.user);
		ao->mutual = (struct cred){0};
	}
	if (ao->mutual.user && (why = cred_problem(&ao->mutual, "mutual-chap"))) {
		snprintf(buf, sizeof(buf),
			 "its mutual CHAP credentials (user %.64s) cannot be written: %s",
			 ao->mutual.user, why);
		drop_acl(w, to, ao, buf);
		return 0;
	}

	for (size_t i = 0; i < a->settings.n; i++) {
		const struct tm_setting *e = &a->settings.v[i];
		const char *name = startswith(e->path, "attrib/");

		if (startswith(e->path, "auth/"))
			continue;
		if (!name)
			note(w, &ao->notes, true, t->iqn,
			     "initiator %s: setting %s = %s cannot be written: not saved",
			     a->initiator, e->path, e->value);
		else if (!attribute_line_ok(name, e->value))
			note(w, &ao->notes, true, t->iqn,
			     "initiator %s: attribute %s = '%s' cannot be written: not saved",
			     a->initiator, name, e->value);
		else
			ao->section = true; /* attribute. keys need a section */
	}
	return w->error;
}

/* Index of the most common credentials among the written initiators' (which all have some),
   or -1 when no two share them (and there is more than one initiator). */
static ssize_t common_cred(const struct target_out *to, bool mutual)
{
	size_t best = 0, best_count = 0;

	for (size_t i = 0; i < to->t->n_acls; i++) {
		const struct acl_out *a = &to->acls[i];
		size_t count = 0;

		if (!a->keep)
			continue;
		for (size_t j = 0; j < to->t->n_acls; j++)
			if (to->acls[j].keep &&
			    cred_eq(mutual ? &a->mutual : &a->chap,
				    mutual ? &to->acls[j].mutual : &to->acls[j].chap))
				count++;
		if (count > best_count) {
			best = i;
			best_count = count;
		}
	}
	if (best_count == 0 || (best_count < 2 && to->n_kept > 1))
		return -1;
	return (ssize_t)best;
}

static bool same_luns(const struct target_out *to, const struct acl_out *ao)
{
	if (ao->n_luns != n_written_luns(to))
		return false;
	for (size_t i = 0; i < ao->n_luns; i++) {
		const struct lun_out *lo = find_lun_out(to, ao->luns[i]);
		if (!lo || !lo->b)
			return false;
	}
	return true;
}

/* The value of the "luns =" line. */
static char *format_luns(const struct acl_out *ao)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	if (!f)
		return NULL;
	for (size_t i = 0; i < ao->n_luns; i++)
		fprintf(f, "%s%u", i ? " " : "", ao->luns[i]);
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* Consistency across the initiators of a target, the target's own chap =, and the form each
   initiator takes: an "initiator =" line, or an [initiator] section. */
static int settle_acls(struct writer *w, struct target_out *to)
{
	const struct tm_target *t = to->t;
	const char *auth = get(&t->settings, "attrib/authentication");
	size_t with = 0;
	ssize_t k;

	to->n_kept = 0;
	for (size_t i = 0; i < t->n_acls; i++)
		if (to->acls[i].keep) {
			to->n_kept++;
			with += to->acls[i].chap.user != NULL;
		}

	/* LIO asks every initiator of a TPG for CHAP or none; target files say the same. */
	if (with > 0 && with < to->n_kept) {
		for (size_t i = 0; i < t->n_acls; i++) {
			struct acl_out *ao = &to->acls[i];

			if (!ao->keep)
				continue;
			if (!auth || !streq(auth, "0")) {
				if (!ao->chap.user) {
					drop_acl(w, to, ao,
						 "it has no CHAP credentials, so it cannot log in "
						 "while the target requires CHAP");
					to->n_kept--;
				}
			} else if (ao->chap.user) {
				note(w, &ao->notes, true, t->iqn,
				     "initiator %s: CHAP user %.64s not saved: the target does not "
				     "require CHAP, and other initiators have no credentials",
				     ao->acl->initiator, ao->chap.user);
				ao->chap = ao->mutual = (struct cred){0};
			}
		}
	}

	to->chap = to->mutual = (struct cred){0};
	k = common_cred(to, false);
	if (k >= 0 && to->acls[k].chap.user) {
		bool all = true;

		to->chap = to->acls[k].chap;
		for (size_t i = 0; i < t->n_acls; i++)
			if (to->acls[i].keep && !to->acls[i].mutual.user)
				all = false;
		k = all ? common_cred(to, true) : -1;
		if (k >= 0)
			to->mutual = to->acls[k].mutual;
	}

	for (size_t i = 0; i < t->n_acls; i++) {
		struct acl_out *ao = &to->acls[i];
		_cleanup_free_ char *luns = NULL;

		if (!ao->keep)
			continue;
		ao->own_chap = ao->chap.user && !cred_eq(&ao->chap, &to->chap);
		ao->own_mutual = ao->mutual.user && !cred_eq(&ao->mutual, &to->mutual);
		ao->section = ao->section || ao->own_chap || ao->own_mutual || ao->notes.n > 0 ||
			      !same_luns(to, ao);
		if (ao->section && !tm_syntax_section_fits("initiator", ao->acl->initiator)) {
			drop_acl(
			    w, to, ao,
			    "it needs an [initiator] section, and the name is too long for its "
			    "line");
			to->n_kept--;
			continue;
		}
		if (same_luns(to, ao))
			continue;
		luns = format_luns(ao);
		if (!luns)
			return -ENOMEM;
		if (!tm_syntax_key_line_fits(strlen("luns"), strlen(luns))) {
			drop_acl(w, to, ao, "its LUN list is too long for one 'luns =' line");
			to->n_kept--;
		}
	}
	if (to->n_kept == 0)
		to->chap = to->mutual = (struct cred){0};

	/* Read-only LUNs: a read-only block device, or write_protect on every mapping. */
	for (size_t i = 0; i < t->n_acls; i++) {
		const struct acl_out *ao = &to->acls[i];

		if (!ao->keep)
			continue;
		for (size_t j = 0; j < ao->n_luns; j++) {
			struct lun_out *lo = find_lun_out(to, ao->luns[j]);
			if (ao->wp[j])
				lo->wp_yes++;
			else
				lo->wp_no++;
		}
	}
	for (size_t i = 0; i < t->n_luns; i++) {
		struct lun_out *lo = &to->luns[i];
		bool iblock_ro;

		if (!lo->b)
			continue;
		iblock_ro = lo->b->type == TM_BACKSTORE_IBLOCK && lo->b->readonly;
		lo->ro = iblock_ro || lo->lun->readonly || lo->wp_yes > 0;
		if (iblock_ro || lo->lun->readonly || lo->wp_yes == 0)
			continue;
		if (lo->wp_no > 0)
			note(w, &lo->notes, true, t->iqn,
			     "LUN %u is write-protected for %u initiator(s) and writable for %u, "
			     "which target files cannot say: saved read-only for all",
			     lo->lun->number, lo->wp_yes, lo->wp_no);
		else if (lo->b->type == TM_BACKSTORE_IBLOCK)
			note(w, &lo->notes, false, NULL,
			     "LUN %u is write-protected for every initiator; 'ro' also opens %s "
			     "read-only",
			     lo->lun->number, lo->b->path);
	}
	return w->error;
}

/* ---- the portal group's settings --------------------------------------------------------- */

static void add_setting_line(struct writer *w, struct target_out *to, const char *prefix,
			     const char *name, const char *value)
{
	_cleanup_free_ char *key = tm_strdupf("%s%s", prefix, name);
	const char *why = tm_syntax_value_problem(value);
	char *line = NULL;

	if (!key) {
		w->error = -ENOMEM;
		return;
	}
	if (!why && !tm_syntax_setting_name_ok(name))
		why = "its name has characters other than letters, digits and '_'";
	if (!why && tm_syntax_key_line(key, value, &line) == -E2BIG)
		why = "it is too long for one line";
	if (why) {
		note(w, &to->notes, true, to->t->iqn, "%s = '%s' cannot be written (%s): not saved",
		     key, value, why);
		return;
	}
	push_string(w, &to->settings, line);
}

static void analyze_tpg_settings(struct writer *w, struct target_out *to)
{
	const struct tm_target *t = to->t;
	/* What the file says: no initiator (open), CHAP for the initiators or not. */
	bool open = to->open || to->n_kept == 0;
	bool chap = open ? to->chap.user != NULL : false;

	for (size_t i = 0; !open && i < t->n_acls; i++)
		chap = chap || (to->acls[i].keep && to->acls[i].chap.user);

	for (size_t i = 0; i < t->settings.n; i++) {
		const struct tm_setting *e = &t->settings.v[i];
		int attr = tm_policy_tpg_attr_from_path(e->path);
		const char *name;

		if (streq(e->path, "enable") || startswith(e->path, "auth/"))
			continue;
		if (attr >= 0) {
			/* What the parser derives need not be said; a value of an attribute it
			   does not write for such a target is the file's own. */
			const char *derived = tm_policy_tpg_value(attr, open, chap);

			if (!*e->value || streq_ptr(e->value, derived))
				continue;
			if (attr == TM_POLICY_GENERATE_NODE_ACLS && streq(e->value, "0"))
				note(w, &to->notes, false, NULL,
				     "no initiator has a node ACL: generate_node_acls = 0 keeps "
				     "every initiator out");
		}
		if ((name = startswith(e->path, "attrib/")))
			add_setting_line(w, to, "attribute.", name, e->value);
		else if ((name = startswith(e->path, "param/")))
			add_setting_line(w, to, "parameter.", name, e->value);
		else
			note(w, &to->notes, true, t->iqn,
			     "setting %s = %s cannot be written: not saved", e->path, e->value);
	}
}

/* ---- targets ----------------------------------------------------------------------------- */

static void target_out_done(struct target_out *to)
{
	for (size_t i = 0; to->luns && i < to->t->n_luns; i++) {
		free(to->luns[i].name);
		free(to->luns[i].serial);
		free(to->luns[i].attributes);
		notes_clear(&to->luns[i].notes);
	}
	free(to->luns);
	for (size_t i = 0; to->acls && i < to->t->n_acls; i++) {
		free(to->acls[i].luns);
		free(to->acls[i].wp);
		notes_clear(&to->acls[i].notes);
	}
	free(to->acls);
	free(to->fatal);
	notes_clear(&to->notes);
	notes_clear(&to->acl_notes);
	notes_clear(&to->settings);
	for (size_t i = 0; i < to->n_portals; i++)
		free(to->portals[i]);
	free(to->portals);
}

/* Why the target cannot be written: the first reason found is the one given. */
static _printf_(3, 4) void set_fatal(struct writer *w, struct target_out *to, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (to->fatal)
		return;
	va_start(ap, fmt);
	r = vasprintf(&to->fatal, fmt, ap);
	va_end(ap);
	if (r < 0) {
		to->fatal = NULL;
		w->error = -ENOMEM;
	}
}

/* The open target's own credentials (demo mode); a target whose credentials cannot be written
   is not written at all, rather than opened to everyone. */
static void analyze_tpg_chap(struct writer *w, struct target_out *to)
{
	const struct tm_target *t = to->t;
	struct cred chap, mutual;
	const char *why;

	if (!to->open)
		return; /* analyze_closed_tpg_chap(), once the initiators are settled */
	get_cred(w, &t->settings, "auth/", false, &chap);
	get_cred(w, &t->settings, "auth/", true, &mutual);
	if (chap.user && (why = cred_problem(&chap, "chap"))) {
		set_fatal(w, to, "its CHAP credentials (user %.64s) cannot be written: %s",
			  chap.user, why);
		return;
	}
	if (mutual.user && !chap.user) {
		note(w, &to->notes, true, t->iqn,
		     "mutual CHAP user %.64s without one-way CHAP: not saved", mutual.user);
		mutual = (struct cred){0};
	}
	if (mutual.user && (why = cred_problem(&mutual, "mutual-chap"))) {
		set_fatal(w, to, "its mutual CHAP credentials (user %.64s) cannot be written: %s",
			  mutual.user, why);
		return;
	}
	to->chap = chap;
	to->mutual = mutual;
}

/* The portals as the parser makes them (canonical addresses); a target with a portal that no
   line can say is not written. */
static int analyze_portals(struct writer *w, struct target_out *to)
{
	const struct tm_target *t = to->t;

	to->portals = calloc(t->n_portals + 1, sizeof(*to->portals));
	if (!to->portals)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_portals; i++) {
		const char *address = t->portals[i].address, *reason = NULL;
		char *canonical = NULL;
		int r = tm_syntax_portal_normalize(address, &canonical, &reason);

		if (r == -ENOMEM)
			return r;
		if (r < 0 || !tm_syntax_key_line_fits(strlen("portal"), strlen(canonical))) {
			free(canonical);
			set_fatal(w, to, "portal %s cannot be written", address);
			continue;
		}
		if (!streq(canonical, address))
			note(w, &to->notes, false, NULL,
			     "portal %s is written as %s, the same address", address, canonical);
		to->portals[to->n_portals++] = canonical;
	}
	return w->error;
}

/* A closed target's own credentials apply only to initiators without a node ACL, which it
   does not let in.  Written without any initiator, it keeps them as its chap lines (that is
   where the parser puts them); otherwise they are noted. */
static void analyze_closed_tpg_chap(struct writer *w, struct target_out *to)
{
	const struct tm_target *t = to->t;
	struct cred chap, mutual;

	get_cred(w, &t->settings, "auth/", false, &chap);
	get_cred(w, &t->settings, "auth/", true, &mutual);
	if (!chap.user && !mutual.user)
		return;
	if (to->n_kept == 0 && chap.user && !cred_problem(&chap, "chap") &&
	    (!mutual.user || !cred_problem(&mutual, "mutual-chap"))) {
		to->chap = chap;
		to->mutual = mutual;
		return;
	}
	note(w, &to->notes, true, t->iqn,
	     "the portal group's own CHAP user %.64s applies only to initiators without a node "
	     "ACL, which this target does not let in: not saved",
	     chap.user ? chap.user : mutual.user);
}

static void emit_target(struct writer *w, FILE *f, struct target_out *to)
{
	const struct tm_target *t = to->t;
	int r;

	fprintf(f, "[target %s]\n", t->iqn);
	write_notes(f, &to->notes);

	if (!(to->n_portals == 1 && streq(to->portals[0], TM_POLICY_DEFAULT_PORTAL)))
		for (size_t i = 0; i < to->n_portals; i++)
			write_key_line(w, f, "portal", to->portals[i]);

	for (size_t i = 0; i < t->n_luns; i++) {
		struct lun_out *lo = &to->luns[i];
		_cleanup_free_ char *line = NULL;

		write_notes(f, &lo->notes);
		if (!lo->b)
			continue;
		r = format_lun(lo, lo->ro, &line);
		if (r < 0) {
			w->error = r == -ENOMEM ? r : -EINVAL;
			return;
		}
		fprintf(f, "%s\n", line);
	}

	write_cred(w, f, "chap", &to->chap, t->iqn);
	write_cred(w, f, "mutual-chap", &to->mutual, t->iqn);
	for (size_t i = 0; i < to->settings.n; i++)
		fprintf(f, "%s\n", to->settings.v[i]);

	write_notes(f, &to->acl_notes);
	for (size_t i = 0; i < t->n_acls; i++)
		if (to->acls[i].keep && !to->acls[i].section)
			write_key_line(w, f, "initiator", to->acls[i].acl->initiator);

	for (size_t i = 0; i < t->n_acls; i++) {
		const struct acl_out *ao = &to->acls[i];

		if (!ao->keep || !ao->section)
			continue;
		fprintf(f, "\n[initiator %s]\n", ao->acl->initiator);
		write_notes(f, &ao->notes);
		if (!same_luns(to, ao)) {
			_cleanup_free_ char *luns = format_luns(ao);
			if (!luns) {
				w->error = -ENOMEM;
				return;
			}
			write_key_line(w, f, "luns", luns);
		}
		if (ao->own_chap || ao->own_mutual) {
			_cleanup_free_ char *subject =
			    tm_strdupf("%s: initiator %s", t->iqn, ao->acl->initiator);

			if (!subject) {
				w->error = -ENOMEM;
				return;
			}
			if (ao->own_chap)
				write_cred(w, f, "chap", &ao->chap, subject);
			if (ao->own_mutual)
				write_cred(w, f, "mutual-chap", &ao->mutual, subject);
		}
		for (size_t j = 0; j < ao->acl->settings.n; j++) {
			const struct tm_setting *e = &ao->acl->settings.v[j];
			const char *name = startswith(e->path, "attrib/");

			if (name && attribute_line_ok(name, e->value)) {
				_cleanup_free_ char *key = tm_strdupf("attribute.%s", name);
				if (!key) {
					w->error = -ENOMEM;
					return;
				}
				write_key_line(w, f, key, e->value);
			}
		}
	}
}

/* Writes the target's text into out, or all of it commented out when it cannot be written. */
static int write_target(struct writer *w, FILE *out, const struct tm_target *t)
{
	_cleanup_(target_out_done) struct target_out to = {.t = t};
	const char *gna = get(&t->settings, "attrib/generate_node_acls");
	const char *enable = get(&t->settings, "enable");
	const char *why;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	if (!t->has_tpg) {
		note(w, &to.notes, true, t->iqn,
		     "target %s has no portal group (tpgt_N directory): not saved", t->iqn);
		write_notes(out, &to.notes);
		return w->error;
	}
	to.open = gna && streq(gna, "1");
	to.luns = calloc(t->n_luns + 1, sizeof(*to.luns));
	to.acls = calloc(t->n_acls + 1, sizeof(*to.acls));
	if (!to.luns || !to.acls)
		return -ENOMEM;

	why = tm_syntax_iscsi_name_invalid(t->iqn);
	if (!why && !tm_syntax_section_fits("target", t->iqn))
		why = "too long for a target file line";
	if (why)
		set_fatal(w, &to, "its name cannot be written (%s)", why);
	else
		analyze_tpg_chap(w, &to);

	if (t->tpgt != 1)
		note(w, &to.notes, true, t->iqn,
		     "LIO serves it as portal group tpgt_%u; targetmgr makes it tpgt_1", t->tpgt);
	if (enable && !streq(enable, "1"))
		note(w, &to.notes, true, t->iqn,
		     "the portal group is disabled (enable=%s); targetmgr enables it", enable);
	if (t->n_portals == 0)
		note(w, &to.notes, true, t->iqn,
		     "it has no portal; targetmgr makes the default one, %s",
		     TM_POLICY_DEFAULT_PORTAL);
	r = analyze_portals(w, &to);
	if (r < 0)
		return r;

	for (size_t i = 0; i < t->n_luns; i++) {
		to.luns[i].lun = &t->luns[i];
		r = analyze_lun(w, t, &to.luns[i], !to.fatal);
		if (r < 0)
			return r;
	}

	for (size_t i = 0; i < t->n_acls; i++) {
		to.acls[i].acl = &t->acls[i];
		if (to.open) {
			note(w, &to.acl_notes, true, t->iqn,
			     "initiator %s has a node ACL, but the target lets every initiator in "
			     "(generate_node_acls=1), which target files cannot combine: not saved",
			     t->acls[i].initiator);
			continue;
		}
		r = analyze_acl(w, &to, &to.acls[i]);
		if (r < 0)
			return r;
	}
	if (!to.open) {
		r = settle_acls(w, &to);
		if (r < 0)
			return r;
		analyze_closed_tpg_chap(w, &to);
	} else
		/* Demo mode has no per-initiator write protection: only read-only devices. */
		for (size_t i = 0; i < t->n_luns; i++) {
			struct lun_out *lo = &to.luns[i];

			lo->ro = lo->b && lo->b->type == TM_BACKSTORE_IBLOCK &&
				 (lo->b->readonly || lo->lun->readonly);
		}
	analyze_tpg_settings(w, &to);
	if (w->error < 0)
		return w->error;

	if (!to.fatal) {
		emit_target(w, out, &to);
		return w->error;
	}

	/* Commented out: nothing is lost, nothing is let in. */
	f = tm_open_wiping_memstream(&text, &len);
	if (!f)
		return -ENOMEM;
	emit_target(w, f, &to);
	if (fclose(f) != 0) {
		tm_erase_free(text, len);
		return -ENOMEM;
	}
	note(w, &to.notes, true, t->iqn, "target %s: not saved: %s", t->iqn, to.fatal);
	write_comment(out, to.notes.v[to.notes.n - 1]);
	for (char *line = text, *nl; line < text + len; line = nl + 1) {
		nl = strchrnul(line, '\n');
		*nl = '\0';
		if (*line)
			write_comment(out, line);
	}
	tm_erase_free(text, len);
	return w->error;
}

/* ---- discovery, unused backstores, the whole file ---------------------------------------- */

static void write_discovery(struct writer *w, FILE *f)
{
	const struct tm_settings *s = &w->c->discovery;
	const char *enforce = get(s, "enforce_discovery_auth");
	struct notes notes = {0};
	struct cred chap, mutual;
	const char *why;

	get_cred(w, s, "", false, &chap);
	get_cred(w, s, "", true, &mutual);
	if (!enforce || !streq(enforce, "1")) {
		if (chap.user)
			note(w, &notes, true, "discovery",
			     "CHAP user %.64s is set but not enforced (enforce_discovery_auth=%s), "
			     "which target files cannot say: not saved",
			     chap.user, enforce ? enforce : "?");
		goto finish;
	}
	if (!chap.user) {
		note(w, &notes, true, "discovery",
		     "authentication is enforced without CHAP credentials, which target files "
		     "cannot say: not saved");
		goto finish;
	}
	if ((why = cred_problem(&chap, "chap"))) {
		note(w, &notes, true, "discovery",
		     "CHAP credentials (user %.64s) cannot be written: %s: not saved", chap.user,
		     why);
		goto finish;
	}
	if (mutual.user && (why = cred_problem(&mutual, "mutual-chap"))) {
		note(w, &notes, true, "discovery",
		     "mutual CHAP credentials (user %.64s) cannot be written: %s: not saved",
		     mutual.user, why);
		mutual = (struct cred){0};
	}
	fputs("\n[discovery]\n", f);
	write_notes(f, &notes);
	notes_clear(&notes);
	write_cred(w, f, "chap", &chap, "discovery");
	write_cred(w, f, "mutual-chap", &mutual, "discovery");
finish:
	if (notes.n > 0) {
		fputc('\n', f);
		write_notes(f, &notes);
	}
	notes_clear(&notes);
}

static void write_unused_backstores(struct writer *w, FILE *f)
{
	struct notes notes = {0};

	for (size_t i = 0; i < w->c->n_backstores; i++) {
		const struct tm_backstore *b = &w->c->backstores[i];
		_cleanup_free_ char *key = NULL;

		if (w->uses[i].referenced)
			continue;
		key = tm_strdupf("%s/%s", b->hba, b->name);
		if (!key) {
			w->error = -ENOMEM;
			return;
		}
		if (selected(w, TM_OBJ_BACKSTORE, key))
			note(w, &notes, true, NULL, "backstore %s serves no LUN: not saved", key);
	}
	if (notes.n > 0) {
		fputc('\n', f);
		write_notes(f, &notes);
	}
	notes_clear(&notes);
}

int tm_config_write(FILE *f, const struct tm_config *config, const struct tm_save_options *opts,
		    struct tm_diags *warnings)
{
	struct writer w = {.c = config, .opts = opts, .warnings = warnings};
	char *body = NULL;
	size_t len = 0;
	FILE *b;
	int r = 0;

	w.uses = calloc(config->n_backstores + 1, sizeof(*w.uses));
	if (!w.uses)
		return -ENOMEM;
	if (opts && opts->withhold_secrets) {
		r = index_declared_secrets(&w, opts->secret_files);
		if (r < 0)
			goto finish;
	}
	for (size_t i = 0; i < config->n_targets; i++)
		for (size_t j = 0; j < config->targets[i].n_luns; j++) {
			const struct tm_lun *l = &config->targets[i].luns[j];
			const struct tm_backstore *bs;

			if (!l->backstore_hba || !l->backstore_name)
				continue;
			bs = tm_config_find_backstore(config, l->backstore_hba, l->backstore_name);
			if (bs)
				w.uses[backstore_index(&w, bs)].referenced = true;
		}

	/* The body first: the header says what the body needed. */
	b = tm_open_wiping_memstream(&body, &len);
	if (!b) {
		r = -ENOMEM;
		goto finish;
	}
	for (size_t i = 0; r >= 0 && i < config->n_targets; i++) {
		if (!selected(&w, TM_OBJ_TARGET, config->targets[i].iqn))
			continue;
		fputc('\n', b);
		r = write_target(&w, b, &config->targets[i]);
	}
	if (r >= 0) {
		write_alua_groups(&w, b);
		write_discovery(&w, b);
		write_unused_backstores(&w, b);
		r = w.error;
	}
	if (fclose(b) != 0 && r >= 0)
		r = -ENOMEM;
	if (r < 0)
		goto finish;

	if (opts && opts->header)
		fprintf(f, "# %s\n", opts->header);
	else
		fputs(
		    "# Target files for targetmgr(8), written by 'targetmgr save' from the running "
		    "LIO state.\n",
		    f);
	if (w.secrets)
		fputs("# It holds CHAP secrets in clear: keep it private (chmod 600).\n", f);
	if (w.referenced > 0)
		fprintf(f,
			"# %u CHAP secret(s) are read from the secret files the target files named "
			"(USER @FILE): keep those files.\n",
			w.referenced);
	if (w.withheld > 0) {
		_cleanup_free_ char *msg = tm_strdupf(
		    "%u CHAP secret(s) are withheld, written as %s: 'targetmgr check' refuses "
		    "this file until each is replaced by the secret or by @FILE, a file holding it "
		    "(or save again with 'targetmgr save --with-secrets -o FILE').",
		    w.withheld, TM_POLICY_SECRET_WITHHELD);
		if (!msg) {
			r = -ENOMEM;
			goto finish;
		}
		write_comment(f, msg);
	}
	if (w.foreign_hba)
		write_comment(f, "Backstores are made again in targetmgr's HBAs (fileio_1000 to "
				 "fileio_1015 and the like) rather than the ones LIO has them in "
				 "now; initiators see no difference.");
	if (w.foreign_links)
		write_comment(f, "LUN and mapped LUN links get targetmgr's names (the backstore's "
				 "name, lun_N) rather than the ones LIO has now; initiators see no "
				 "difference.");
	fwrite(body, 1, len, f);
	fflush(f);
	if (ferror(f))
		r = -EIO;

finish:
	tm_erase_free(body, len);
	free(w.secret_files);
	free(w.alua);
	tm_hashmap_clear(&w.secret_file_index);
	for (size_t i = 0; i < config->n_backstores; i++) {
		free(w.uses[i].name);
		free(w.uses[i].serial);
	}
	free(w.uses);
	return r;
}

int tm_config_write_text(const struct tm_config *config, const struct tm_save_options *opts,
			 struct tm_diags *warnings, char **ret, size_t *ret_len)
{
	FILE *f = tm_open_wiping_memstream(ret, ret_len);
	int r;

	if (!f)
		return -ENOMEM;
	r = tm_config_write(f, config, opts, warnings);
	if (fclose(f) != 0 && r >= 0)
		r = -ENOMEM;
	return r;
}
