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

#include "syntax.h"
#include "util.h"

#define CHAP_MAX           255
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
	if (n > CHAP_MAX)
		report_error(d, &s->origin, "%s is longer than %d bytes, more than LIO takes", what,
			     CHAP_MAX);
	for (const char *p = s->value; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p == 0x7f) {
			report_error(d, &s->origin, "%s contains whitespace or control characters",
				     what);
			break;
		}
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

	for (size_t i = 0; i < t->n_luns; i++)
		for (size_t j = 0; j < i; j++)
			if (t->luns[j].number == t->luns[i].number) {
				report_error(d, &t->luns[i].origin,
					     "LUN %u already declared at %s:%u", t->luns[i].number,
					     AT(&t->luns[j].origin));
				break;
			}

	for (size_t i = 0; i < t->n_portals; i++)
		for (size_t j = 0; j < i; j++)
			if (streq(t->portals[j].address, t->portals[i].address)) {
				report_error(d, &t->portals[i].origin,
					     "portal %s already declared at %s:%u",
					     t->portals[i].address, AT(&t->portals[j].origin));
				break;
			}

	for (size_t i = 0; i < t->n_acls; i++) {
		const struct tm_acl *a = &t->acls[i];

		reason = tm_syntax_iscsi_name_invalid(a->initiator);
		if (reason)
			report_error(d, &a->origin, "invalid initiator name '%s': %s", a->initiator,
				     reason);
		for (size_t j = 0; j < i; j++)
			if (streq(t->acls[j].initiator, a->initiator)) {
				report_error(d, &a->origin,
					     "initiator %s already declared at %s:%u", a->initiator,
					     AT(&t->acls[j].origin));
				break;
			}
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

static const struct tm_lun *lun_of(const struct tm_config *c, const struct tm_backstore *b,
				   const struct tm_target **ret_target)
{
	for (size_t i = 0; i < c->n_targets; i++)
		for (size_t j = 0; j < c->targets[i].n_luns; j++) {
			const struct tm_lun *l = &c->targets[i].luns[j];
			if (l->origin.line == b->origin.line &&
			    streq_ptr(l->origin.file, b->origin.file) &&
			    streq(l->backstore_hba, b->hba) && streq(l->backstore_name, b->name)) {
				*ret_target = &c->targets[i];
				return l;
			}
		}
	return NULL;
}

/* Two backstores of a LUN declared twice (or of a target declared twice) collide in name and
   path too; the duplicate LUN or target is the one message worth giving. */
static bool same_lun(const struct tm_config *c, const struct tm_backstore *a,
		     const struct tm_backstore *b)
{
	const struct tm_target *ta = NULL, *tb = NULL;
	const struct tm_lun *la = lun_of(c, a, &ta), *lb = lun_of(c, b, &tb);

	return la && lb && la->number == lb->number && streq(ta->iqn, tb->iqn);
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

static void verify_backstores(const struct tm_config *c, unsigned flags, struct tm_diags *d)
{
	_cleanup_free_ struct host_file *host = NULL;

	if (flags & TM_VERIFY_HOST) {
		host = calloc(c->n_backstores ? c->n_backstores : 1, sizeof(*host));
		if (!host)
			return;
	}

	for (size_t i = 0; i < c->n_backstores; i++) {
		const struct tm_backstore *b = &c->backstores[i];

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

		if (host && b->path)
			check_host_path(b, &host[i], d);

		for (size_t j = 0; j < i; j++) {
			const struct tm_backstore *o = &c->backstores[j];
			if (streq(o->name, b->name) && !same_lun(c, o, b)) {
				report_error(d, &b->origin,
					     "backstore name %s already used at %s:%u", b->name,
					     AT(&o->origin));
				break;
			}
		}
		/* Initiators tell LUNs apart by the NAA identifier LIO derives from the serial:
		   two LUNs with one serial look like two paths to one disk to multipathd. */
		for (size_t j = 0; j < i; j++) {
			const struct tm_backstore *o = &c->backstores[j];
			if (streq_ptr(o->serial, b->serial) && !streq(o->name, b->name)) {
				report_error(
				    d, &b->origin,
				    "serial %s already used at %s:%u: initiators would take "
				    "both LUNs for one disk",
				    b->serial, AT(&o->origin));
				break;
			}
		}

		if (!b->path)
			continue;
		for (size_t j = 0; j < i; j++) {
			const struct tm_backstore *o = &c->backstores[j];
			if (!o->path || same_lun(c, o, b))
				continue;
			if (streq(o->path, b->path)) {
				report_error(d, &b->origin,
					     "%s is already used by the LUN at %s:%u", b->path,
					     AT(&o->origin));
				break;
			}
			if (host && same_host_file(&host[j], &host[i])) {
				report_error(
				    d, &b->origin,
				    "%s is the same as %s, already used by the LUN at %s:%u",
				    b->path, o->path, AT(&o->origin));
				break;
			}
		}
	}
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
		for (size_t j = 0; j < i; j++)
			if (streq(config->targets[j].iqn, t->iqn)) {
				report_error(diags, &t->origin,
					     "target %s already declared at %s:%u", t->iqn,
					     AT(&config->targets[j].origin));
				break;
			}
		verify_target(config, t, diags);
	}
	verify_backstores(config, flags, diags);
	check_chap(&config->discovery, "", diags);

	return (int)(diags->n_errors - errors);
}
