/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What is read, and why (kernel 6.1 formats, drivers/target/):
 *
 *   target/core/<plugin>_<index>/<name>/          one storage object per directory
 *       udev_path      "%s\n", or nothing when never written (target_core_configfs.c)
 *       info           transport_dump_dev_state() + the plugin's show_configfs_dev_params():
 *           fileio  "TCM FILEIO ID: %u        File: %s  Size: %llu  Mode: %s Async: %d\n"
 *           iblock  "iBlock device: %pg  UDEV PATH: %s  readonly: %d\n        Major: ..."
 *                   (the device and UDEV PATH parts only when known)
 *           rd_mcp  "TCM RamDisk ID: %u  RamDisk Makeup: rd_mcp\n"
 *                   "        PAGES/PAGE_SIZE: %u*%lu  SG_table_count: %u  nullio: %d ..."
 *       wwn/vpd_unit_serial  "T10 VPD Unit Serial Number: %s\n"
 *   target/iscsi/<iqn>/tpgt_<N>/                  iscsi_target_configfs.c and
 *       dynamic_sessions   "%s\n\0" per demo-mode session     target_core_fabric_configfs.c
 *       np/<address>/, lun/lun_<N>/<link>, acls/<initiator>/{info,lun_<M>/<link>}
 *
 * Symlink bodies are relative ("../" up to the configfs root, then the target's path; newer
 * kernels shorten them to the closest common parent), so only their last components are used.
 * Directory names are numbered the way the kernel parses them: kstrto*(…, 0, …).
 */
#include "scan.h"

#include <ctype.h>
#include <limits.h>
#include <sys/stat.h>

#include "layout.h"
#include "parallel.h"
#include "policy.h"
#include "util.h"

#define SERIAL_PREFIX "T10 VPD Unit Serial Number:"
#define NO_SESSION    "No active iSCSI Session"

/* A mapped LUN whose link is missing (mkdir done, ln -s not yet): no TPG LUN has this number
   (they are capped below it), so the planner sees a mismatch and recreates it. */
#define SCAN_LUN_UNLINKED TM_LUN_UNLINKED
#define SCAN_LUN_MAX      (UINT_MAX - 1)

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) >= 0 && S_ISDIR(st.st_mode);
}

/* Parses a number the way kstrtoull(s, 0, …) does: decimal, 0x… hex or 0… octal. */
static int parse_number(const char *s, unsigned long long max, unsigned long long *ret)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE || v > max)
		return -ERANGE;
	if (errno != 0 || end == s || *end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

/* "lun_7" -> 7, with the kernel's parsing; -EINVAL for anything else. */
static int parse_prefixed(const char *name, const char *prefix, unsigned long long max,
			  unsigned *ret)
{
	const char *s = startswith(name, prefix);
	unsigned long long v;
	int r;

	if (!s)
		return -EINVAL;
	r = parse_number(s, max, &v);
	if (r < 0)
		return r;
	*ret = (unsigned)v;
	return 0;
}

/* Reads an optional attribute: a missing file reads as "" (plain-directory fixtures, and
   attributes older kernels lack). */
static int read_optional(struct tm_cfs *cfs, const char *path, char **ret)
{
	int r = tm_cfs_read(cfs, path, ret);
	if (r == -ENOENT) {
		*ret = strdup("");
		return *ret ? 0 : -ENOMEM;
	}
	return r;
}

static const char *serial_from_vpd(const char *v)
{
	const char *s = startswith(v, SERIAL_PREFIX);

	/* Like rtslib: everything after the first ':' when the prefix is not the expected one. */
	if (!s) {
		s = strchr(v, ':');
		if (!s)
			return v;
		s++;
	}
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Reads <dir>/<path> into s.  A missing attribute is simply absent from s. */
static int read_setting(struct tm_cfs *cfs, const char *dir, const char *path,
			struct tm_settings *s)
{
	_cleanup_free_ char *full = NULL;
	_cleanup_erase_ char *v = NULL; /* may be a CHAP secret */
	const char *value;
	int r;

	full = tm_layout_join(dir, path);
	if (!full)
		return -ENOMEM;
	r = tm_cfs_read(cfs, full, &v);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	/* Stored as just the serial, so that it compares with the declared value. */
	value = streq(path, "wwn/vpd_unit_serial") ? serial_from_vpd(v) : v;
	return tm_settings_set(s, path, value, tm_policy_is_secret(path), (struct tm_origin){0});
}

/* The declared object's setting paths (declared may be NULL), then the always-read ones. */
static int read_settings(struct tm_cfs *cfs, const char *dir, const struct tm_settings *declared,
			 const char *const *always, struct tm_settings *s)
{
	int r;

	for (size_t i = 0; declared && i < declared->n; i++) {
		r = read_setting(cfs, dir, declared->v[i].path, s);
		if (r < 0)
			return r;
	}
	for (; always && *always; always++) {
		if (declared && tm_settings_find(declared, *always))
			continue;
		r = read_setting(cfs, dir, *always, s);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- info parsing ---- */

/* Where the value of "<key>" starts: key found at the start of the text or after a blank,
   so that "Size: " does not match inside "SectorSize: ". */
static const char *info_find(const char *info, const char *key)
{
	for (const char *p = info; (p = strstr(p, key)); p++)
		if (p == info || isspace((unsigned char)p[-1]))
			return p + strlen(key);
	return NULL;
}

/* The value of key up to stop (when on the same line) or else the end of the line; trailing
   blanks removed.  For values that may contain blanks: paths. */
static int info_until(const char *info, const char *key, const char *stop, char **ret)
{
	const char *v = info_find(info, key), *e, *nl;

	if (!v)
		return -ENOENT;
	nl = v + strcspn(v, "\n");
	e = stop ? strstr(v, stop) : NULL;
	if (!e || e > nl)
		e = nl;
	while (e > v && isspace((unsigned char)e[-1]))
		e--;
	*ret = strndup(v, (size_t)(e - v));
	return *ret ? 0 : -ENOMEM;
}

static int info_number(const char *info, const char *key, unsigned long long *ret)
{
	const char *v = info_find(info, key);
	unsigned long long n;
	char *end;

	if (!v || !isdigit((unsigned char)*v))
		return -ENOENT;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0)
		return -errno;
	*ret = n;
	return 0;
}

static int parse_info(struct tm_backstore *b, const char *info, const char *udev_path)
{
	_cleanup_free_ char *path = NULL;
	unsigned long long n, pages, page_size;
	int r;

	switch (b->type) {
	case TM_BACKSTORE_FILEIO:
		r = info_until(info, "File: ", "  Size: ", &path);
		if (r < 0 && r != -ENOENT)
			return r;
		if (info_number(info, "Size: ", &n) >= 0)
			b->size = n;
		/* fd_show_configfs_dev_params(): "Mode: Buffered-WCE" or "Mode: O_DSYNC". */
		b->write_through = startswith(info_find(info, "Mode: ") ?: "", "O_DSYNC");
		break;
	case TM_BACKSTORE_IBLOCK:
		r = info_until(info, "UDEV PATH: ", "  readonly: ", &path);
		if (r < 0 && r != -ENOENT)
			return r;
		b->readonly = info_number(info, "readonly: ", &n) >= 0 && n != 0;
		break;
	case TM_BACKSTORE_RAMDISK: {
		/* "PAGES/PAGE_SIZE: <pages>*<page size>" */
		const char *v = info_find(info, "PAGES/PAGE_SIZE: ");
		char *end;

		if (v && isdigit((unsigned char)*v)) {
			errno = 0;
			pages = strtoull(v, &end, 10);
			if (errno == 0 && *end == '*' && isdigit((unsigned char)end[1])) {
				page_size = strtoull(end + 1, &end, 10);
				if (errno == 0 && !__builtin_mul_overflow(pages, page_size, &n))
					b->size = n;
			}
		}
		b->nullio = info_number(info, "nullio: ", &n) >= 0 && n != 0;
		return 0; /* no path */
	}
	default:
		return -EINVAL;
	}

	/* udev_path is what targetmgr and rtslib write; info tells what the kernel opened. */
	if (udev_path[0] != '\0') {
		b->path = strdup(udev_path);
		if (!b->path)
			return -ENOMEM;
	} else if (path && path[0] != '\0') {
		b->path = path;
		path = NULL;
	}
	return 0;
}

/* ---- ALUA ---- */

static int list_below(struct tm_cfs *cfs, const char *parent, const char *sub, char **ret_dir,
		      char ***ret);

/* alua_access_type as the kernel shows it (core_alua_show_access_type(): "Implicit",
   "Explicit", "Implicit and Explicit", "None") -> the number it takes; a number stays. */
static int normalize_alua_type(struct tm_settings *s)
{
	static const char *const shown[] = {"None", "Implicit", "Explicit",
					    "Implicit and Explicit"};
	const struct tm_setting *e = tm_settings_find(s, TM_LAYOUT_ALUA_TYPE);

	for (size_t i = 0; e && i < ELEMENTSOF(shown); i++)
		if (streq(e->value, shown[i])) {
			char v[2] = {(char)('0' + i), '\0'};
			return tm_settings_set(s, TM_LAYOUT_ALUA_TYPE, v, false, e->origin);
		}
	return 0;
}

/* A backstore's own ALUA groups (LIO's default_tg_pt_gp is not one), with their id and the
   attributes targetmgr manages. */
static int scan_alua_groups(struct tm_cfs *cfs, const char *dir, struct tm_backstore *b)
{
	static const char *const always[] = {TM_LAYOUT_ALUA_TYPE, TM_LAYOUT_ALUA_STATE,
					     TM_LAYOUT_ALUA_PREFERRED, NULL};
	_cleanup_strv_ char **names = NULL;
	_cleanup_free_ char *adir = NULL;
	int r;

	r = list_below(cfs, dir, TM_LAYOUT_ALUA, &adir, &names);
	if (r <= 0)
		return r;
	for (char **n = names; *n; n++) {
		_cleanup_free_ char *gdir = NULL, *id_path = NULL, *id = NULL;
		unsigned long long v;
		struct tm_alua_group *g;

		if (streq(*n, TM_LAYOUT_ALUA_DEFAULT_GROUP))
			continue;
		gdir = tm_layout_join(adir, *n);
		id_path = gdir ? tm_layout_join(gdir, TM_LAYOUT_ALUA_GROUP_ID) : NULL;
		if (!id_path)
			return -ENOMEM;
		r = read_optional(cfs, id_path, &id);
		if (r < 0)
			return r;
		g = TM_PUSH(b->alua_groups, b->n_alua_groups);
		if (!g)
			return -ENOMEM;
		g->name = strdup(*n);
		if (!g->name)
			return -ENOMEM;
		/* No id yet (made, never given one): 0, which no declared group has. */
		if (parse_number(id, UINT16_MAX, &v) >= 0)
			g->id = (unsigned)v;
		r = read_settings(cfs, gdir, NULL, always, &g->settings);
		if (r >= 0)
			r = normalize_alua_type(&g->settings);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The group a LUN's target port is in, unless it is LIO's default one. */
static int scan_lun_alua_group(struct tm_cfs *cfs, const char *ldir, struct tm_lun *l)
{
	_cleanup_free_ char *path = tm_layout_join(ldir, TM_LAYOUT_LUN_ALUA_GROUP), *v = NULL;
	const char *name;
	size_t n;
	int r;

	if (!path)
		return -ENOMEM;
	r = read_optional(cfs, path, &v);
	if (r < 0)
		return r;
	/* The kernel shows "TG Port Alias: <group>\nTG Port Group ID: ..."; a plain directory
	   holds what was written. */
	name = startswith(v, TM_LAYOUT_LUN_ALUA_ALIAS) ?: v;
	n = strcspn(name, "\n");
	if (n == 0 || (n == strlen(TM_LAYOUT_ALUA_DEFAULT_GROUP) &&
		       strncmp(name, TM_LAYOUT_ALUA_DEFAULT_GROUP, n) == 0))
		return 0;
	name = strndupa(name, n);
	return tm_settings_set(&l->settings, TM_LAYOUT_LUN_ALUA_GROUP, name, false,
			       (struct tm_origin){0});
}

/* ---- backstores ---- */

static int scan_backstore(struct tm_cfs *cfs, const struct tm_config *want,
			  enum tm_backstore_type type, const char *hba, const char *name,
			  struct tm_backstore *b)
{
	static const char *const always[] = {"wwn/vpd_unit_serial", "enable", NULL};
	_cleanup_free_ char *dir = NULL, *p_udev = NULL, *p_info = NULL;
	_cleanup_free_ char *udev_path = NULL, *info = NULL;
	const struct tm_backstore *wb = want ? tm_config_find_backstore(want, hba, name) : NULL;
	const struct tm_setting *serial;
	int r;

	dir = tm_layout_backstore(hba, name);
	if (!dir)
		return -ENOMEM;

	b->type = type;
	b->hba = strdup(hba);
	b->name = strdup(name);
	if (!b->hba || !b->name)
		return -ENOMEM;

	p_udev = tm_layout_join(dir, "udev_path");
	p_info = tm_layout_join(dir, "info");
	if (!p_udev || !p_info)
		return -ENOMEM;
	/* RAM disks have no backing path: their udev_path is always empty. */
	r = type == TM_BACKSTORE_RAMDISK ? 0 : read_optional(cfs, p_udev, &udev_path);
	if (r < 0)
		return r;
	r = read_optional(cfs, p_info, &info);
	if (r < 0)
		return r;
	r = parse_info(b, info, udev_path);
	if (r < 0)
		return r;

	r = read_settings(cfs, dir, wb ? &wb->settings : NULL, always, &b->settings);
	if (r < 0)
		return r;
	serial = tm_settings_find(&b->settings, "wwn/vpd_unit_serial");
	if (serial && serial->value[0] != '\0') {
		b->serial = strdup(serial->value);
		if (!b->serial)
			return -ENOMEM;
	}
	return scan_alua_groups(cfs, dir, b);
}

/*
 * "rd_mcp_1000" -> the type of "rd_mcp".  Split like target_core_call_addhbatotarget(): the
 * plugin ends at the second '_' if there is one, else at the first; the rest is the index.
 * -EINVAL for other plugins (pscsi, user, ...) and for names like "alua".
 */
static int hba_type(const char *hba)
{
	_cleanup_free_ char *plugin = NULL;
	const char *u = strchr(hba, '_'), *u2;
	unsigned long long index;

	if (!u)
		return -EINVAL;
	u2 = strchr(u + 1, '_');
	if (u2)
		u = u2;
	if (parse_number(u + 1, ULONG_MAX, &index) < 0)
		return -EINVAL;
	plugin = strndup(hba, (size_t)(u - hba));
	if (!plugin)
		return -ENOMEM;
	return tm_backstore_type_from_plugin(plugin);
}

/* Backstores and targets are read on a few threads: the reads are independent, and the
   kernel spends its time in each one. */
#define SCAN_WORKERS 8

struct backstore_ref {
	const char *hba, *name; /* point into the listings */
};

struct backstore_job {
	struct tm_cfs *cfs;
	const struct tm_config *want;
	struct tm_config *c;
	const struct backstore_ref *refs;
};

static int backstore_job(void *userdata, size_t i)
{
	const struct backstore_job *j = userdata;
	int type = hba_type(j->refs[i].hba);

	if (type < 0)
		return type;
	return scan_backstore(j->cfs, j->want, type, j->refs[i].hba, j->refs[i].name,
			      &j->c->backstores[i]);
}

/* The HBA directories of the plugins targetmgr models, into c->hbas. */
static int scan_hbas(struct tm_cfs *cfs, struct tm_config *c)
{
	_cleanup_strv_ char **hbas = NULL;
	int r;

	r = tm_cfs_list(cfs, TM_LAYOUT_CORE, TM_CFS_DIR, &hbas);
	if (r == -ENOENT)
		return 0; /* target_core_mod not loaded */
	if (r < 0)
		return r;
	for (char **h = hbas; *h; h++) {
		int type = hba_type(*h);

		if (type == -ENOMEM)
			return type;
		if (type < 0)
			continue; /* pscsi, user (TCMU), alua/, ...: not ours to model */
		r = tm_strv_push(&c->hbas, &c->n_hbas, *h);
		if (r < 0)
			return r;
	}
	return 0;
}

static int scan_backstores(struct tm_cfs *cfs, const struct tm_config *want, struct tm_config *c)
{
	_cleanup_free_ struct backstore_ref *refs = NULL;
	char ***lists = NULL;
	size_t n_lists = 0, n = 0;
	int r;

	r = scan_hbas(cfs, c);
	if (r < 0)
		return r;

	/* First the structure (one listing per HBA), then every backstore at once. */
	/* By index: hbas is NULL when there are none, and NULL + 0 is undefined (fuzz-scan). */
	for (size_t i = 0; i < c->n_hbas; i++) {
		char **h = &c->hbas[i];
		_cleanup_free_ char *dir = NULL;
		char **names = NULL, ***slot;

		dir = tm_layout_hba(*h);
		r = dir ? tm_cfs_list(cfs, dir, TM_CFS_DIR, &names) : -ENOMEM;
		if (r == -ENOENT)
			continue; /* removed meanwhile */
		if (r < 0)
			goto out;
		slot = TM_PUSH(lists, n_lists);
		if (!slot) {
			tm_strv_free(names);
			r = -ENOMEM;
			goto out;
		}
		*slot = names;
		for (char **nm = names; *nm; nm++) {
			struct backstore_ref *ref = TM_PUSH(refs, n);
			if (!ref) {
				r = -ENOMEM;
				goto out;
			}
			*ref = (struct backstore_ref){*h, *nm};
		}
	}
	r = 0;
	if (n > 0) {
		struct backstore_job job = {cfs, want, c, refs};
		c->backstores = calloc(n, sizeof(*c->backstores));
		if (!c->backstores) {
			r = -ENOMEM;
			goto out;
		}
		c->n_backstores = n;
		r = tm_parallel_for(n, SCAN_WORKERS, backstore_job, &job);
	}
out:
	for (size_t i = 0; i < n_lists; i++)
		tm_strv_free(lists[i]);
	free(lists);
	return r;
}

/* ---- targets ---- */

/* The single symlink of a LUN or mapped LUN directory: its target's last components and its
   own name (which the executor needs to unlink it); NULL (and 0) when there is none. */
static int read_lun_link(struct tm_cfs *cfs, const char *dir, unsigned components, const char *hint,
			 char **ret, char **ret_name)
{
	_cleanup_strv_ char **links = NULL;
	_cleanup_free_ char *p = NULL;
	int r;

	*ret = NULL;
	/* The name targetmgr gives the link, when the directory is its own: one readlink
	   instead of a listing and a readlink, for the thousands of mapped LUNs of a big host. */
	if (hint) {
		p = tm_layout_join(dir, hint);
		if (!p)
			return -ENOMEM;
		r = tm_cfs_readlink_tail(cfs, p, components, ret);
		if (r >= 0) {
			*ret_name = strdup(hint);
			return *ret_name ? 0 : -ENOMEM;
		}
		if (r != -ENOENT)
			return r;
		free(p);
		p = NULL;
	}
	r = tm_cfs_list(cfs, dir, TM_CFS_LINK, &links);
	if (r < 0)
		return r;
	if (!links[0])
		return 0;
	/* The kernel refuses a second link (-EEXIST); the first one is the one. */
	p = tm_layout_join(dir, links[0]);
	if (!p)
		return -ENOMEM;
	r = tm_cfs_readlink_tail(cfs, p, components, ret);
	if (r < 0)
		return r;
	*ret_name = strdup(links[0]);
	return *ret_name ? 0 : -ENOMEM;
}

static int cmp_lun(const void *a, const void *b)
{
	unsigned x = ((const struct tm_lun *)a)->number, y = ((const struct tm_lun *)b)->number;
	return (x > y) - (x < y);
}

static int cmp_mapped_lun(const void *a, const void *b)
{
	unsigned x = ((const struct tm_mapped_lun *)a)->number;
	unsigned y = ((const struct tm_mapped_lun *)b)->number;
	return (x > y) - (x < y);
}

/* Lists the directories in <parent>/<sub>, which it returns in *ret_dir.  Returns 1, or 0
   when the directory does not exist (nothing to list), or a negative errno. */
static int list_below(struct tm_cfs *cfs, const char *parent, const char *sub, char **ret_dir,
		      char ***ret)
{
	int r;

	*ret_dir = tm_layout_join(parent, sub);
	if (!*ret_dir)
		return -ENOMEM;
	r = tm_cfs_list(cfs, *ret_dir, TM_CFS_DIR, ret);
	if (r == -ENOENT)
		return 0;
	return r < 0 ? r : 1;
}

static int scan_luns(struct tm_cfs *cfs, const char *tpg, const struct tm_target *wt,
		     struct tm_target *t)
{
	_cleanup_strv_ char **names = NULL;
	_cleanup_free_ char *dir = NULL;
	int r;

	r = list_below(cfs, tpg, TM_LAYOUT_LUNS, &dir, &names);
	if (r <= 0)
		return r;

	for (char **n = names; *n; n++) {
		_cleanup_free_ char *ldir = NULL, *tail = NULL, *link = NULL;
		const struct tm_lun *wl;
		struct tm_lun *l;
		unsigned number;
		char *slash;

		if (parse_prefixed(*n, TM_LAYOUT_LUN_PREFIX, SCAN_LUN_MAX, &number) < 0)
			continue;
		ldir = tm_layout_join(dir, *n);
		if (!ldir)
			return -ENOMEM;
		wl = wt ? tm_target_find_lun(wt, number) : NULL;
		r = read_lun_link(cfs, ldir, 2, wl ? wl->backstore_name : NULL, &tail, &link);
		if (r < 0)
			return r;

		l = TM_PUSH(t->luns, t->n_luns);
		if (!l)
			return -ENOMEM;
		l->number = number;
		/* No link yet: a LUN without a backstore (NULL hba and name). */
		if (!tail)
			continue;
		l->link = link;
		link = NULL;
		slash = strchr(tail, '/'); /* "<hba>/<name>" */
		if (!slash)
			return -EBADMSG;
		l->backstore_hba = strndup(tail, (size_t)(slash - tail));
		l->backstore_name = strdup(slash + 1);
		if (!l->backstore_hba || !l->backstore_name)
			return -ENOMEM;
		r = scan_lun_alua_group(cfs, ldir, l);
		if (r < 0)
			return r;
	}
	if (t->n_luns > 1)
		qsort(t->luns, t->n_luns, sizeof(*t->luns), cmp_lun);
	return 0;
}

static int scan_mapped_luns(struct tm_cfs *cfs, const char *adir, const struct tm_acl *wa,
			    struct tm_acl *a)
{
	static const char *const always[] = {"write_protect", NULL};
	_cleanup_strv_ char **names = NULL;
	int r;

	r = tm_cfs_list(cfs, adir, TM_CFS_DIR, &names);
	if (r < 0)
		return r;

	for (char **n = names; *n; n++) {
		_cleanup_free_ char *mdir = NULL, *tail = NULL, *link = NULL, *hint = NULL;
		const struct tm_mapped_lun *wm;
		struct tm_mapped_lun *m;
		unsigned number;

		/* Also below the ACL: attrib/, auth/, param/, fabric_statistics/. */
		if (parse_prefixed(*n, TM_LAYOUT_LUN_PREFIX, UINT_MAX, &number) < 0)
			continue;
		mdir = tm_layout_join(adir, *n);
		if (!mdir)
			return -ENOMEM;
		wm = wa ? tm_acl_find_mapped_lun(wa, number) : NULL;
		if (wm) {
			hint = tm_layout_lun_name(wm->lun);
			if (!hint)
				return -ENOMEM;
		}
		r = read_lun_link(cfs, mdir, 1, hint, &tail, &link);
		if (r < 0)
			return r;

		m = TM_PUSH(a->mapped_luns, a->n_mapped_luns);
		if (!m)
			return -ENOMEM;
		m->number = number;
		m->lun = SCAN_LUN_UNLINKED;
		if (tail) {
			r = parse_prefixed(tail, TM_LAYOUT_LUN_PREFIX, SCAN_LUN_MAX, &m->lun);
			if (r < 0)
				return -EBADMSG;
			m->link = link;
			link = NULL;
		}
		r = read_settings(cfs, mdir, wm ? &wm->settings : NULL, always, &m->settings);
		if (r < 0)
			return r;
	}
	if (a->n_mapped_luns > 1)
		qsort(a->mapped_luns, a->n_mapped_luns, sizeof(*a->mapped_luns), cmp_mapped_lun);
	return 0;
}

static int scan_acls(struct tm_cfs *cfs, const char *tpg, const struct tm_target *wt,
		     struct tm_target *t)
{
	static const char *const always[] = {"auth/userid", "auth/userid_mutual", NULL};
	_cleanup_strv_ char **names = NULL;
	_cleanup_free_ char *dir = NULL;
	int r;

	r = list_below(cfs, tpg, TM_LAYOUT_ACLS, &dir, &names);
	if (r <= 0)
		return r;

	for (char **n = names; *n; n++) {
		_cleanup_free_ char *adir = NULL, *p = NULL, *info = NULL;
		const struct tm_acl *wa = wt ? tm_target_find_acl(wt, *n) : NULL;
		struct tm_acl *a;

		adir = tm_layout_join(dir, *n);
		p = adir ? tm_layout_join(adir, "info") : NULL;
		if (!adir || !p)
			return -ENOMEM;

		a = TM_PUSH(t->acls, t->n_acls);
		if (!a)
			return -ENOMEM;
		a->initiator = strdup(*n);
		if (!a->initiator)
			return -ENOMEM;

		r = read_optional(cfs, p, &info);
		if (r < 0)
			return r;
		/* "No active iSCSI Session for Initiator Endpoint: <name>" or the session. */
		a->has_session = info[0] != '\0' && !startswith(info, NO_SESSION);

		/* A declared ACL: only what the declaration names (a big host has thousands). */
		r = read_settings(cfs, adir, wa ? &wa->settings : NULL, wa ? NULL : always,
				  &a->settings);
		if (r < 0)
			return r;
		r = scan_mapped_luns(cfs, adir, wa, a);
		if (r < 0)
			return r;
	}
	return 0;
}

static int scan_portals(struct tm_cfs *cfs, const char *tpg, struct tm_target *t)
{
	_cleanup_strv_ char **names = NULL;
	_cleanup_free_ char *dir = NULL;
	int r;

	r = list_below(cfs, tpg, TM_LAYOUT_PORTALS, &dir, &names);
	if (r <= 0)
		return r;
	for (char **n = names; *n; n++) {
		struct tm_portal *p = TM_PUSH(t->portals, t->n_portals);
		if (!p)
			return -ENOMEM;
		p->address = strdup(*n);
		if (!p->address)
			return -ENOMEM;
	}
	return 0;
}

static int add_session(struct tm_target *t, const char *initiator)
{
	char **slot;

	for (size_t i = 0; i < t->n_sessions; i++)
		if (streq(t->sessions[i], initiator))
			return 0;
	slot = TM_PUSH(t->sessions, t->n_sessions);
	if (!slot)
		return -ENOMEM;
	*slot = strdup(initiator);
	return *slot ? 0 : -ENOMEM;
}

static int scan_sessions(struct tm_cfs *cfs, const char *tpg, struct tm_target *t)
{
	_cleanup_free_ char *p = NULL, *text = NULL;
	char *line, *save = NULL;
	int r;

	/* Demo-mode sessions: initiators without an ACL of their own. */
	p = tm_layout_join(tpg, "dynamic_sessions");
	if (!p)
		return -ENOMEM;
	r = read_optional(cfs, p, &text);
	if (r < 0)
		return r;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		tm_strip_trailing(line);
		while (isspace((unsigned char)*line))
			line++;
		if (*line == '\0')
			continue;
		r = add_session(t, line);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < t->n_acls; i++)
		if (t->acls[i].has_session) {
			r = add_session(t, t->acls[i].initiator);
			if (r < 0)
				return r;
		}
	return 0;
}

static int scan_target(struct tm_cfs *cfs, const struct tm_config *want, const char *iqn,
		       struct tm_target *t)
{
	static const char *const always[] = {
	    "enable",      "attrib/generate_node_acls", "attrib/authentication",
	    "auth/userid", "auth/userid_mutual",        NULL,
	};
	/* For a declared target the planner needs these besides the declared settings. */
	static const char *const declared_always[] = {"enable", "attrib/generate_node_acls", NULL};
	const struct tm_target *wt = want ? tm_config_find_target(want, iqn) : NULL;
	_cleanup_strv_ char **names = NULL;
	_cleanup_free_ char *dir = NULL, *tpg = NULL;
	int r;

	dir = tm_layout_wwn(iqn);
	if (!dir)
		return -ENOMEM;
	t->iqn = strdup(iqn);
	if (!t->iqn)
		return -ENOMEM;

	/* Also below the IQN: fabric_statistics/. */
	r = tm_cfs_list(cfs, dir, TM_CFS_DIR, &names);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	for (char **n = names; *n; n++) {
		unsigned tpgt;

		if (parse_prefixed(*n, TM_LAYOUT_TPGT_PREFIX, UINT16_MAX, &tpgt) < 0)
			continue;
		if (wt && tpgt == wt->tpgt) {
			t->tpgt = tpgt;
			t->has_tpg = true;
			break;
		}
		if (!t->has_tpg || tpgt < t->tpgt) {
			t->tpgt = tpgt;
			t->has_tpg = true;
		}
	}
	if (!t->has_tpg)
		return 0;

	tpg = tm_layout_tpg(iqn, t->tpgt);
	if (!tpg)
		return -ENOMEM;
	r = read_settings(cfs, tpg, wt ? &wt->settings : NULL, wt ? declared_always : always,
			  &t->settings);
	if (r < 0)
		return r;
	r = scan_portals(cfs, tpg, t);
	if (r < 0)
		return r;
	r = scan_luns(cfs, tpg, wt, t);
	if (r < 0)
		return r;
	r = scan_acls(cfs, tpg, wt, t);
	if (r < 0)
		return r;
	return scan_sessions(cfs, tpg, t);
}

struct target_job {
	struct tm_cfs *cfs;
	const struct tm_config *want;
	struct tm_config *c;
	char **iqns; /* point into the listing */
};

static int target_job(void *userdata, size_t i)
{
	const struct target_job *j = userdata;
	return scan_target(j->cfs, j->want, j->iqns[i], &j->c->targets[i]);
}

static int scan_targets(struct tm_cfs *cfs, const struct tm_config *want, struct tm_config *c)
{
	/* Besides the declared settings, what tells whether discovery authentication is on,
	   so that the planner can turn off what the files no longer declare. */
	static const char *const discovery_always[] = {TM_POLICY_DISCOVERY_ENFORCE, "userid",
						       "userid_mutual", NULL};
	_cleanup_strv_ char **names = NULL;
	_cleanup_free_ char **iqns = NULL;
	size_t n_iqns = 0;
	int r;

	r = tm_cfs_list(cfs, TM_LAYOUT_ISCSI, TM_CFS_DIR, &names);
	if (r == -ENOENT)
		return 0; /* the iSCSI fabric is not instantiated */
	if (r < 0)
		return r;
	c->has_iscsi_fabric = true;

	for (char **n = names; *n; n++) {
		char **slot;
		if (streq(*n, TM_LAYOUT_DISCOVERY_NAME))
			continue;
		slot = TM_PUSH(iqns, n_iqns);
		if (!slot)
			return -ENOMEM;
		*slot = *n;
	}
	if (n_iqns > 0) {
		struct target_job job = {cfs, want, c, iqns};
		c->targets = calloc(n_iqns, sizeof(*c->targets));
		if (!c->targets)
			return -ENOMEM;
		c->n_targets = n_iqns;
		r = tm_parallel_for(n_iqns, SCAN_WORKERS, target_job, &job);
		if (r < 0)
			return r;
	}

	return read_settings(cfs, TM_LAYOUT_DISCOVERY_AUTH, want ? &want->discovery : NULL,
			     discovery_always, &c->discovery);
}

/*
 * Whether any storage object exists, of any plugin (pscsi and user too) and made by any tool:
 * a directory in some HBA directory of core/.  A scoped scan reads only its own backstores,
 * yet the kernel refuses a new dbroot while any object exists.
 */
static int any_storage_object(struct tm_cfs *cfs)
{
	_cleanup_strv_ char **hbas = NULL;
	int r;

	r = tm_cfs_list(cfs, TM_LAYOUT_CORE, TM_CFS_DIR, &hbas);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	for (char **h = hbas; *h; h++) {
		_cleanup_free_ char *dir = NULL;
		_cleanup_strv_ char **objects = NULL;

		if (streq(*h, "alua"))
			continue; /* core/alua/lu_gps: LU groups, not an HBA */
		dir = tm_layout_hba(*h);
		r = dir ? tm_cfs_list(cfs, dir, TM_CFS_DIR, &objects) : -ENOMEM;
		if (r == -ENOENT)
			continue; /* removed meanwhile */
		if (r < 0)
			return r;
		if (objects[0])
			return 1;
	}
	return 0;
}

/* The dbroot in force, whether it has the directories LIO writes into, and whether the
   kernel would let it change. */
static int scan_dbroot(struct tm_cfs *cfs, struct tm_config *c)
{
	_cleanup_free_ char *v = NULL, *pr = NULL, *alua = NULL;
	int r;

	r = read_optional(cfs, TM_LAYOUT_DBROOT, &v);
	if (r < 0 || v[0] != '/')
		return r < 0 ? r : 0;
	pr = tm_layout_join(v, TM_POLICY_DBROOT_PR);
	alua = tm_layout_join(v, TM_POLICY_DBROOT_ALUA);
	if (!pr || !alua)
		return -ENOMEM;
	r = any_storage_object(cfs);
	if (r < 0)
		return r;
	c->storage_objects = r > 0;
	c->dbroot_ready = is_dir(pr) && is_dir(alua);
	c->dbroot = TAKE_PTR(v);
	return 0;
}

/* ---- scoped: some targets and their backstores ---- */

/*
 * How many LUNs, of any fabric, link a backstore: the kernel's export_count
 * (target_core_stat.c, "ports" of the scsi_dev statistics group).  -ENOENT where the tree has
 * no such attribute.
 */
#define BACKSTORE_EXPORTS "statistics/scsi_dev/ports"

static int read_exports(struct tm_cfs *cfs, const struct tm_backstore *b, unsigned long long *ret)
{
	_cleanup_free_ char *dir = tm_layout_backstore(b->hba, b->name), *p = NULL, *v = NULL;
	int r;

	p = dir ? tm_layout_join(dir, BACKSTORE_EXPORTS) : NULL;
	if (!p)
		return -ENOMEM;
	r = tm_cfs_read(cfs, p, &v);
	if (r < 0)
		return r;
	return parse_number(v, ULLONG_MAX, ret);
}

/* A backstore a LUN outside the scanned targets links: the kernel counts more LUNs linking it
   than the scanned targets have. */
static int mark_shared(struct tm_cfs *cfs, struct tm_backstore *b, const struct tm_config *c)
{
	unsigned long long exports, inside = 0;
	int r = read_exports(cfs, b, &exports);

	if (r == -ENOENT || r == -EINVAL)
		return 0; /* not told (a stand-in tree): taken as used by the scope alone */
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->n_targets; i++)
		for (size_t j = 0; j < c->targets[i].n_luns; j++) {
			const struct tm_lun *l = &c->targets[i].luns[j];
			inside += streq_ptr(l->backstore_hba, b->hba) &&
				  streq_ptr(l->backstore_name, b->name);
		}
	b->shared = exports > inside;
	return 0;
}

/* Adds hba/name to refs unless it is there already or not of a plugin targetmgr models. */
static int add_ref(struct backstore_ref **refs, size_t *n, const char *hba, const char *name)
{
	struct backstore_ref *ref;
	int type;

	if (!hba || !name)
		return 0;
	type = hba_type(hba);
	if (type == -ENOMEM)
		return type;
	if (type < 0)
		return 0;
	for (size_t i = 0; i < *n; i++)
		if (streq((*refs)[i].hba, hba) && streq((*refs)[i].name, name))
			return 0;
	ref = TM_PUSH(*refs, *n);
	if (!ref)
		return -ENOMEM;
	*ref = (struct backstore_ref){hba, name};
	return 0;
}

/* The backstores the scanned targets' LUNs link and those want declares, where they exist. */
static int scan_scoped_backstores(struct tm_cfs *cfs, const struct tm_config *want,
				  struct tm_config *c)
{
	_cleanup_free_ struct backstore_ref *refs = NULL;
	size_t n = 0, present = 0;
	int r;

	r = scan_hbas(cfs, c);
	for (size_t i = 0; r >= 0 && i < c->n_targets; i++)
		for (size_t j = 0; r >= 0 && j < c->targets[i].n_luns; j++)
			r = add_ref(&refs, &n, c->targets[i].luns[j].backstore_hba,
				    c->targets[i].luns[j].backstore_name);
	for (size_t i = 0; r >= 0 && want && i < want->n_backstores; i++)
		r = add_ref(&refs, &n, want->backstores[i].hba, want->backstores[i].name);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		_cleanup_free_ char *dir = tm_layout_backstore(refs[i].hba, refs[i].name);

		r = dir ? tm_cfs_exists(cfs, dir) : -ENOMEM;
		if (r > 0)
			refs[present++] = refs[i];
	}
	if (r < 0 || present == 0)
		return r < 0 ? r : 0;

	c->backstores = calloc(present, sizeof(*c->backstores));
	if (!c->backstores)
		return -ENOMEM;
	c->n_backstores = present;
	r = tm_parallel_for(present, SCAN_WORKERS, backstore_job,
			    &(struct backstore_job){cfs, want, c, refs});
	for (size_t i = 0; r >= 0 && i < present; i++)
		r = mark_shared(cfs, &c->backstores[i], c);
	return r;
}

int tm_scan_scoped(struct tm_cfs *cfs, const struct tm_config *want, char *const *iqns,
		   size_t n_iqns, struct tm_config **ret)
{
	_cleanup_config_ struct tm_config *c = tm_config_new();
	_cleanup_free_ char **present = NULL;
	size_t n = 0;
	int r;

	if (!c)
		return -ENOMEM;
	r = tm_cfs_exists(cfs, TM_LAYOUT_ISCSI);
	if (r < 0)
		return r;
	c->has_iscsi_fabric = r > 0;
	for (size_t i = 0; c->has_iscsi_fabric && i < n_iqns; i++) {
		_cleanup_free_ char *dir = NULL;
		bool again = false;

		for (size_t j = 0; j < i; j++)
			again = again || streq(iqns[j], iqns[i]);
		if (again)
			continue;
		dir = tm_layout_wwn(iqns[i]);
		r = dir ? tm_cfs_exists(cfs, dir) : -ENOMEM;
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		if (!TM_PUSH(present, n))
			return -ENOMEM;
		present[n - 1] = iqns[i];
	}
	if (n > 0) {
		c->targets = calloc(n, sizeof(*c->targets));
		if (!c->targets)
			return -ENOMEM;
		c->n_targets = n;
		r = tm_parallel_for(n, SCAN_WORKERS, target_job,
				    &(struct target_job){cfs, want, c, present});
		if (r < 0)
			return r;
	}
	r = scan_scoped_backstores(cfs, want, c);
	if (r >= 0)
		r = scan_dbroot(cfs, c);
	if (r >= 0)
		r = tm_config_index(c);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

int tm_scan(struct tm_cfs *cfs, const struct tm_config *want, struct tm_config **ret)
{
	_cleanup_config_ struct tm_config *c = NULL;
	int r;

	c = tm_config_new();
	if (!c)
		return -ENOMEM;
	r = scan_backstores(cfs, want, c);
	if (r < 0)
		return r;
	r = scan_targets(cfs, want, c);
	if (r >= 0)
		r = scan_dbroot(cfs, c);
	if (r < 0)
		return r;
	/* show and save look up LUNs' backstores in it: indexed, they stay linear. */
	r = tm_config_index(c);
	if (r < 0)
		return r;
	*ret = c;
	c = NULL;
	return 0;
}
