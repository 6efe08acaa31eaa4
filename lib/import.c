/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the importers share: reading below a root, and building the model.  See import.h. */
#include "import.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "policy.h"
#include "util.h"

char *tm_import_rooted(const struct tm_import_options *opts, const char *path)
{
	const char *root = opts && opts->root && !streq(opts->root, "/") ? opts->root : NULL;

	if (!root || path[0] != '/')
		return strdup(path);
	return tm_strdupf("%s%s", root, path);
}

int tm_import_read_file(const struct tm_import_options *opts, const char *path, char **ret,
			size_t *ret_len)
{
	_cleanup_free_ char *full = tm_import_rooted(opts, path);

	if (!full)
		return -ENOMEM;
	/* Bounded and without blocking: a FIFO or /dev/zero named as a file to import is refused
	   (ENODEV), not read forever. */
	return tm_read_file_bounded(AT_FDCWD, full, TM_IMPORT_FILE_MAX, ret, ret_len, NULL);
}

struct tm_target *tm_import_add_target(struct tm_config *c, const char *iqn, bool open,
				       struct tm_origin o)
{
	struct tm_target *t = TM_PUSH(c->targets, c->n_targets);
	struct tm_portal *p;

	if (!t)
		return NULL;
	t->iqn = strdup(iqn);
	t->tpgt = 1;
	t->has_tpg = true;
	t->origin = o;
	if (!t->iqn)
		return NULL;
	if (tm_settings_set(&t->settings, tm_policy_tpg_path(TM_POLICY_GENERATE_NODE_ACLS),
			    open ? "1" : "0", false, o) < 0 ||
	    tm_policy_enable(&t->settings, o) < 0)
		return NULL;
	/* Every importer's default portal, and tgt's and SCST's: all addresses, port 3260. */
	p = TM_PUSH(t->portals, t->n_portals);
	if (!p || !(p->address = strdup(TM_POLICY_DEFAULT_PORTAL)))
		return NULL;
	p->origin = o;
	return t;
}

struct tm_backstore *tm_import_add_backstore(struct tm_config *c, enum tm_backstore_type type,
					     const char *name, const char *path, struct tm_origin o)
{
	struct tm_backstore *b = TM_PUSH(c->backstores, c->n_backstores);

	if (!b)
		return NULL;
	b->type = type;
	b->origin = o;
	b->name = strdup(name);
	b->hba = tm_backstore_hba(type, name);
	b->path = path ? strdup(path) : NULL;
	if (!b->name || !b->hba || (path && !b->path))
		return NULL;
	return b;
}

struct tm_lun *tm_import_add_lun(struct tm_target *t, unsigned number, const struct tm_backstore *b,
				 struct tm_origin o)
{
	struct tm_lun *l = TM_PUSH(t->luns, t->n_luns);

	if (!l)
		return NULL;
	l->number = number;
	l->origin = o;
	l->backstore_hba = strdup(b->hba);
	l->backstore_name = strdup(b->name);
	if (!l->backstore_hba || !l->backstore_name)
		return NULL;
	return l;
}

struct tm_mapped_lun *tm_import_add_mapped_lun(struct tm_acl *a, unsigned number, unsigned lun,
					       bool write_protect, struct tm_origin o)
{
	struct tm_mapped_lun *m = TM_PUSH(a->mapped_luns, a->n_mapped_luns);

	if (!m)
		return NULL;
	m->number = number;
	m->lun = lun;
	m->origin = o;
	if (tm_settings_set(&m->settings, "write_protect", tm_policy_write_protect(write_protect),
			    false, o) < 0)
		return NULL;
	return m;
}

struct tm_acl *tm_import_add_acl(struct tm_target *t, const char *initiator, bool all_luns,
				 struct tm_origin o)
{
	struct tm_acl *a = TM_PUSH(t->acls, t->n_acls);

	if (!a)
		return NULL;
	a->origin = o;
	a->initiator = strdup(initiator);
	if (!a->initiator)
		return NULL;
	for (size_t i = 0; all_luns && i < t->n_luns; i++)
		if (!tm_import_add_mapped_lun(a, t->luns[i].number, t->luns[i].number,
					      t->luns[i].readonly, o))
			return NULL;
	return a;
}

int tm_import_open_readonly(const struct tm_config *c, struct tm_target *t, struct tm_diags *d)
{
	const char *path = tm_policy_tpg_path(TM_POLICY_DEMO_MODE_WRITE_PROTECT);
	size_t n_ro = 0, n_soft = 0;

	for (size_t i = 0; i < t->n_luns; i++) {
		const struct tm_lun *l = &t->luns[i];
		const struct tm_backstore *b =
		    tm_config_find_backstore(c, l->backstore_hba, l->backstore_name);

		n_ro += l->readonly;
		n_soft += l->readonly && b && b->type != TM_BACKSTORE_IBLOCK;
	}
	if (n_soft == 0)
		return 0;
	if (n_ro == t->n_luns)
		return tm_settings_set(&t->settings, path, "1", false, t->origin);
	for (size_t i = 0; i < t->n_luns; i++) {
		const struct tm_lun *l = &t->luns[i];
		const struct tm_backstore *b =
		    tm_config_find_backstore(c, l->backstore_hba, l->backstore_name);

		if (l->readonly && b && b->type != TM_BACKSTORE_IBLOCK &&
		    tm_import_warn(d, l->origin,
				   "LUN %u (%s): read-only: LIO write-protects a file per "
				   "initiator, and this target is open to all with writable LUNs: "
				   "it is writable (closest: name the initiators)",
				   l->number, b->path ? b->path : b->name) < 0)
			return -ENOMEM;
	}
	return 0;
}

bool tm_import_iscsi_param(const char *name)
{
	static const char *const params[] = {
	    "MaxRecvDataSegmentLength",
	    "MaxXmitDataSegmentLength",
	    "HeaderDigest",
	    "DataDigest",
	    "InitialR2T",
	    "MaxOutstandingR2T",
	    "ImmediateData",
	    "FirstBurstLength",
	    "MaxBurstLength",
	    "DataPDUInOrder",
	    "DataSequenceInOrder",
	    "ErrorRecoveryLevel",
	    "IFMarker",
	    "OFMarker",
	    "DefaultTime2Wait",
	    "DefaultTime2Retain",
	    "OFMarkInt",
	    "IFMarkInt",
	    "MaxConnections",
	};

	for (size_t i = 0; i < ELEMENTSOF(params); i++)
		if (streq(params[i], name))
			return true;
	return false;
}

int tm_import_set_chap(struct tm_settings *s, const char *prefix, bool mutual, const char *user,
		       const char *secret, struct tm_origin o)
{
	_cleanup_free_ char *upath = tm_policy_chap_path(prefix, mutual, false);
	_cleanup_free_ char *spath = tm_policy_chap_path(prefix, mutual, true);
	int r;

	if (!upath || !spath)
		return -ENOMEM;
	r = tm_settings_set(s, upath, user, false, o);
	if (r >= 0)
		r = tm_settings_set(s, spath, secret, true, o);
	return r;
}

static int add(struct tm_diags *d, enum tm_severity sev, struct tm_origin o, const char *fmt,
	       va_list ap) _printf_(4, 0);
static int add(struct tm_diags *d, enum tm_severity sev, struct tm_origin o, const char *fmt,
	       va_list ap)
{
	return tm_diag_addv(d, sev, o.file, o.line, fmt, ap);
}

int tm_import_warn(struct tm_diags *d, struct tm_origin o, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = add(d, TM_WARNING, o, fmt, ap);
	va_end(ap);
	return r;
}

int tm_import_error(struct tm_diags *d, struct tm_origin o, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = add(d, TM_ERROR, o, fmt, ap);
	va_end(ap);
	return r;
}
