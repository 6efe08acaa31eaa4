/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tgt's targets.conf, read the way tgt-admin reads it (Config::General with Apache-style
 * include lines, include globs and directories, duplicate blocks merged), then turned into
 * what tgt-admin would have told tgtd:
 *
 *  - targets are processed in IQN order and get TIDs 1, 2, ... (controller_tid sets one, and
 *    the following ones count on from it); tgtd's default unit serial of LUN L of TID T is
 *    "beaf<T><L>", which the import keeps so that initiators see the same serials;
 *  - backing-store paths come first, then direct-store paths, each in path order, and take
 *    LUN numbers from 1 (LUN 0 is tgt's controller): a <...-store> block's "lun", or the
 *    target's own "lun", or else the lowest number no block reserves and no earlier store has;
 *  - LU parameters set at the target apply to every LUN, a block's own override them;
 *  - a target admits an initiator whose address matches an initiator-address line OR whose
 *    name matches an initiator-name line, and with no initiator-address line tgt-admin binds
 *    ALL: LIO admits by name only, so initiator-name lines become the ACLs.
 */
#include <glob.h>
#include <sys/stat.h>

#include "import.h"
#include "policy.h"
#include "syntax.h"
#include "util.h"

#define MAX_INCLUDE_DEPTH 16
/* Files read in all: a file that includes itself twice would otherwise be read 2^16 times
   before the depth limit stops it (found by fuzz-import-tgt). */
#define MAX_INCLUDED_FILES 256

struct opt {
	char *key, *value;
	struct tm_origin o;
};

struct opts {
	struct opt *v;
	size_t n;
};

struct store {
	char *path;
	bool direct;
	bool block; /* from a <...-store PATH> block */
	struct opts opts;
	struct tm_origin o;
	unsigned lun;
};

struct tgt_target {
	char *iqn;
	struct opts opts;
	struct store *stores;
	size_t n_stores;
	struct tm_origin o;
	bool mixed[2]; /* backing-, direct-store lines and blocks together (reported) */
};

struct reader {
	struct tm_config *c;
	struct tm_diags *d;
	const struct tm_import_options *opts;
	struct opts global;
	struct tgt_target *targets;
	size_t n_targets;
	ssize_t target, store; /* the open blocks, -1: none */
	unsigned depth;
	unsigned files_read;
	int error;
};

static void opts_clear(struct opts *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].key);
		tm_erase_free_str(o->v[i].value); /* CHAP secrets */
	}
	free(o->v);
}

static void reader_done(struct reader *r)
{
	opts_clear(&r->global);
	for (size_t i = 0; i < r->n_targets; i++) {
		struct tgt_target *t = &r->targets[i];

		for (size_t j = 0; j < t->n_stores; j++) {
			free(t->stores[j].path);
			opts_clear(&t->stores[j].opts);
		}
		free(t->stores);
		free(t->iqn);
		opts_clear(&t->opts);
	}
	free(r->targets);
}

static int opts_add(struct opts *o, const char *key, const char *value, struct tm_origin origin)
{
	struct opt *e = TM_PUSH(o->v, o->n);

	if (!e)
		return -ENOMEM;
	e->key = strdup(key);
	e->value = strdup(value);
	e->o = origin;
	return e->key && e->value ? 0 : -ENOMEM;
}

/* The last value of key (NULL: none); more than one where tgt-admin takes one is an error. */
static const struct opt *opts_get(struct reader *r, const struct opts *o, const char *key)
{
	const struct opt *found = NULL;

	for (size_t i = 0; i < o->n; i++)
		if (streq(o->v[i].key, key)) {
			if (found && !streq(found->value, o->v[i].value))
				tm_import_error(r->d, o->v[i].o,
						"%s: a second value; tgt-admin refuses more than "
						"one (first at line %u)",
						key, found->o.line);
			found = &o->v[i];
		}
	return found;
}

/* ---- reading ------------------------------------------------------------------------------ */

static int read_file(struct reader *r, const char *path, struct tm_origin from);

static ssize_t find_target(struct reader *r, const char *iqn)
{
	for (size_t i = 0; i < r->n_targets; i++)
		if (streq(r->targets[i].iqn, iqn))
			return (ssize_t)i;
	return -1;
}

static ssize_t add_store(struct reader *r, struct tgt_target *t, const char *path, bool direct,
			 bool block, struct tm_origin o)
{
	const char *kind = direct ? "direct-store" : "backing-store";
	struct store *s;

	/* Config::General cannot hold a key both as lines and as blocks: tgt-admin dies with
	   "Block <backing-store> already exists as scalar entry". */
	for (size_t i = 0; i < t->n_stores && !t->mixed[direct]; i++)
		if (t->stores[i].direct == direct && t->stores[i].block != block) {
			tm_import_error(
			    r->d, o,
			    "<target %s>: %s lines and <%s> blocks together, which "
			    "tgt-admin refuses (its parser cannot hold both): make every "
			    "one a block",
			    t->iqn, kind, kind);
			t->mixed[direct] = true;
		}
	/* Duplicate blocks are merged (Config::General -MergeDuplicateBlocks). */
	for (size_t i = 0; i < t->n_stores; i++)
		if (streq(t->stores[i].path, path) && t->stores[i].direct == direct)
			return (ssize_t)i;
	s = TM_PUSH(t->stores, t->n_stores);
	if (!s || !(s->path = strdup(path))) {
		r->error = -ENOMEM;
		return -1;
	}
	s->direct = direct;
	s->block = block;
	s->o = o;
	return (ssize_t)(t->n_stores - 1);
}

static int include(struct reader *r, const char *pattern, struct tm_origin o)
{
	_cleanup_free_ char *abs = NULL, *full = NULL;
	size_t skip;
	glob_t g = {0};
	struct stat st;
	int k;

	/* Config::General opens relative names from the working directory: tgt's is "/". */
	abs = pattern[0] == '/' ? strdup(pattern) : tm_strdupf("/%s", pattern);
	full = abs ? tm_import_rooted(r->opts, abs) : NULL;
	if (!full)
		return -ENOMEM;
	skip = strlen(full) - strlen(abs);
	if (!strpbrk(pattern, "*?[")) {
		if (stat(full, &st) < 0)
			return tm_import_error(r->d, o, "include %s: %s", pattern, strerror(errno)),
			       0;
		if (S_ISDIR(st.st_mode)) {
			/* -IncludeDirectories: every file of the directory, in name order. */
			_cleanup_free_ char *all = tm_strdupf("%s/*", full);
			if (!all)
				return -ENOMEM;
			free(full);
			full = TAKE_PTR(all);
		}
	}
	k = glob(full, 0, NULL, &g);
	if (k == GLOB_NOSPACE)
		return -ENOMEM;
	for (size_t i = 0; k == 0 && i < g.gl_pathc && r->error == 0; i++) {
		if (stat(g.gl_pathv[i], &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		read_file(r, g.gl_pathv[i] + skip, o);
	}
	globfree(&g);
	return r->error;
}

static void open_block(struct reader *r, const char *name, const char *arg, struct tm_origin o)
{
	if (streq(name, "target")) {
		struct tgt_target *t;

		if (r->target >= 0) {
			tm_import_error(r->d, o, "<target %s> inside another target", arg);
			return;
		}
		if (!*arg) {
			tm_import_error(r->d, o, "<target> without a name");
			return;
		}
		r->target = find_target(r, arg);
		if (r->target >= 0)
			return;
		t = TM_PUSH(r->targets, r->n_targets);
		if (!t || !(t->iqn = strdup(arg))) {
			r->error = -ENOMEM;
			return;
		}
		t->o = o;
		r->target = (ssize_t)(r->n_targets - 1);
	} else if (streq(name, "backing-store") || streq(name, "direct-store")) {
		if (r->target < 0 || r->store >= 0 || !*arg) {
			tm_import_error(r->d, o, "<%s %s> outside a target, or without a path",
					name, arg);
			return;
		}
		r->store =
		    add_store(r, &r->targets[r->target], arg, streq(name, "direct-store"), true, o);
	} else
		tm_import_error(r->d, o, "<%s>: unknown block", name);
}

static void close_block(struct reader *r, const char *name, struct tm_origin o)
{
	if ((streq(name, "backing-store") || streq(name, "direct-store")) && r->store >= 0)
		r->store = -1;
	else if (streq(name, "target") && r->target >= 0 && r->store < 0)
		r->target = -1;
	else
		tm_import_error(r->d, o, "</%s> closes no open block", name);
}

static void handle_line(struct reader *r, char *line, struct tm_origin o)
{
	char *key = line, *value;
	size_t n;

	if (line[0] == '<') {
		bool closing = line[1] == '/';
		char *name = line + 1 + closing, *end = strrchr(line, '>');

		if (!end) {
			tm_import_error(r->d, o, "'%s': a block line without '>'", line);
			return;
		}
		*end = '\0';
		n = strcspn(name, TM_SYNTAX_BLANKS);
		value = name + n + strspn(name + n, TM_SYNTAX_BLANKS);
		name[n] = '\0';
		tm_strip_trailing(value);
		if (closing)
			close_block(r, name, o);
		else
			open_block(r, name, value, o);
		return;
	}
	n = strcspn(key, TM_SYNTAX_BLANKS "=");
	value = key + n;
	value += strspn(value, TM_SYNTAX_BLANKS);
	if (*value == '=')
		value += 1 + strspn(value + 1, TM_SYNTAX_BLANKS);
	key[n] = '\0';
	tm_strip_trailing(value);

	if (strcasecmp(key, "include") == 0) {
		int k = include(r, value, o);
		if (k < 0)
			r->error = k;
		return;
	}
	if (r->store >= 0) {
		if (opts_add(&r->targets[r->target].stores[r->store].opts, key, value, o) < 0)
			r->error = -ENOMEM;
	} else if (r->target >= 0) {
		struct tgt_target *t = &r->targets[r->target];

		if (streq(key, "backing-store") || streq(key, "direct-store")) {
			if (!*value)
				tm_import_error(r->d, o, "%s without a path", key);
			else
				(void)add_store(r, t, value, streq(key, "direct-store"), false, o);
		} else if (opts_add(&t->opts, key, value, o) < 0)
			r->error = -ENOMEM;
	} else if (opts_add(&r->global, key, value, o) < 0)
		r->error = -ENOMEM;
}

static int read_file(struct reader *r, const char *path, struct tm_origin from)
{
	_cleanup_free_ char *text = NULL;
	const char *name;
	char *line, *next;
	unsigned lineno = 0;
	size_t len = 0;
	int k;

	if (r->depth >= MAX_INCLUDE_DEPTH)
		return tm_import_error(r->d, from, "include %s: nested too deeply (a loop?)", path),
		       0;
	if (++r->files_read > MAX_INCLUDED_FILES)
		return tm_import_error(r->d, from, "include %s: more than %d files read (a loop?)",
				       path, MAX_INCLUDED_FILES),
		       0;
	name = tm_config_intern_file(r->c, path);
	if (!name)
		return r->error = -ENOMEM;
	k = tm_import_read_file(r->opts, path, &text, &len);
	if (k < 0) {
		tm_import_error(r->d, from.file ? from : (struct tm_origin){.file = name},
				"cannot read %s: %s", path, strerror(-k));
		return from.file ? 0 : k;
	}
	/* A trailing backslash continues the line: the joint becomes a blank and a mark that
	   still counts as a line for the numbers of the lines after it. */
	for (char *p = text; (p = strstr(p, "\\\n")); p += 2) {
		p[0] = ' ';
		p[1] = '\x01';
	}
	r->depth++;
	for (line = text; line && r->error == 0; line = next) {
		struct tm_origin o = {.file = name, .line = ++lineno};
		char *hash;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		for (char *p = line; (p = strchr(p, '\x01')); p++) {
			*p = ' ';
			lineno++;
		}
		/* '#' starts a comment anywhere, unless escaped. */
		for (hash = line; (hash = strchr(hash, '#')); hash++)
			if (hash == line || hash[-1] != '\\') {
				*hash = '\0';
				break;
			}
		line += strspn(line, TM_SYNTAX_BLANKS);
		tm_strip_trailing(line);
		if (*line)
			handle_line(r, line, o);
	}
	r->depth--;
	if (r->depth == 0 && (r->target >= 0 || r->store >= 0))
		tm_import_error(r->d, (struct tm_origin){.file = name, .line = lineno},
				"<%s> not closed at the end of the file",
				r->store >= 0 ? "backing-store" : "target");
	explicit_bzero(text, len); /* the lines were split with NULs */
	return r->error;
}

/* ---- converting --------------------------------------------------------------------------- */

/* LU parameters, as tgt-admin passes them to tgtadm, and what becomes of each. */
static const struct {
	const char *key;
	const char *why; /* NULL: carried */
} lu_params[] = {
    {"scsi_sn", NULL},
    {"readonly", NULL},
    {"write-cache", NULL},
    {"block-size", NULL},
    {"bs-type", NULL},
    {"device-type", NULL},
    {"lun", NULL},
    {"allow-in-use", NULL},
    {"scsi_id", "LIO derives the device identifier (VPD page 0x83) from the unit serial; "
		"closest: serial= on the lun line"},
    {"vendor_id", "LIO reports its own vendor (LIO-ORG), which target files do not change"},
    {"product_id", "LIO reports the backstore type as the product, which target files do not "
		   "change"},
    {"product_rev", "LIO reports its own product revision"},
    {"params", "tgt's backing-store parameters have no LIO equivalent"},
    {"mode_page", "LIO builds its own mode pages; closest: attribute.emulate_write_cache"},
    {"sense_format", "LIO uses fixed-format sense data"},
    {"removable", "LIO serves disks as non-removable"},
    {"online", "LIO's LUNs are always online"},
    {"path", "a tgt LU parameter with no LIO equivalent"},
    {"bsopts", "options of tgt's backing-store drivers have no LIO equivalent"},
    {"bsoflags", "closest: LIO's fileio writes synchronously unless its write-back mode is on"},
    {"lbppbe", "LIO takes the physical block exponent from the device"},
    {"la_lba", "LIO takes the lowest aligned LBA from the device"},
    {"optimal_xfer_gran", "LIO takes the transfer granularity from the device"},
    {"optimal_xfer_len", "closest: attribute.optimal_sectors on the lun line"},
};

static bool in_list(const char *const *list, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (streq(list[i], key))
			return true;
	return false;
}

static int lu_param_index(const char *key)
{
	for (size_t i = 0; i < ELEMENTSOF(lu_params); i++)
		if (streq(lu_params[i].key, key))
			return (int)i;
	return -1;
}

/* A store's value of an LU parameter: its block's own, else the target's. */
static const struct opt *lu_get(struct reader *r, const struct tgt_target *t, const struct store *s,
				const char *key)
{
	const struct opt *o = opts_get(r, &s->opts, key);
	return o ? o : opts_get(r, &t->opts, key);
}

static int parse_bool(const char *v)
{
	if (streq(v, "1") || strcasecmp(v, "on") == 0 || strcasecmp(v, "yes") == 0)
		return 1;
	if (streq(v, "0") || strcasecmp(v, "off") == 0 || strcasecmp(v, "no") == 0)
		return 0;
	return -EINVAL;
}

static int cmp_store(const void *a, const void *b)
{
	const struct store *x = a, *y = b;

	if (x->direct != y->direct)
		return x->direct ? 1 : -1;
	return strcmp(x->path, y->path);
}

/* LUN numbers as tgt-admin gives them; a clash is an error.  Returns false on one. */
static bool number_luns(struct reader *r, struct tgt_target *t)
{
	const struct opt *target_lun = opts_get(r, &t->opts, "lun");
	unsigned fixed = 0;
	bool ok = true;

	if (t->n_stores > 1)
		qsort(t->stores, t->n_stores, sizeof(*t->stores), cmp_store);
	if (target_lun &&
	    tm_syntax_parse_unsigned(target_lun->value, TM_SYNTAX_LUN_MAX, &fixed) < 0) {
		tm_import_error(r->d, target_lun->o, "lun %s: not a LUN number", target_lun->value);
		return false;
	}
	for (size_t i = 0; i < t->n_stores; i++) {
		const struct opt *l = opts_get(r, &t->stores[i].opts, "lun");

		t->stores[i].lun = 0;
		if (l &&
		    tm_syntax_parse_unsigned(l->value, TM_SYNTAX_LUN_MAX, &t->stores[i].lun) < 0) {
			tm_import_error(r->d, l->o, "lun %s: not a LUN number", l->value);
			ok = false;
		}
	}
	for (size_t i = 0; ok && i < t->n_stores; i++) {
		struct store *s = &t->stores[i];

		if (target_lun)
			s->lun = fixed;
		else if (s->lun == 0) {
			/* find_next_lun: the lowest number that no block names and no store has. */
			for (unsigned n = 1;; n++) {
				bool taken = false;

				for (size_t j = 0; j < t->n_stores && !taken; j++)
					taken = j != i && t->stores[j].lun == n;
				if (!taken) {
					s->lun = n;
					break;
				}
			}
		}
		for (size_t j = 0; j < i; j++)
			if (t->stores[j].lun == s->lun) {
				tm_import_error(
				    r->d, s->o,
				    "%s %s: LUN %u is already %s (tgt-admin refuses this "
				    "target too)",
				    s->direct ? "direct-store" : "backing-store", s->path, s->lun,
				    t->stores[j].path);
				ok = false;
			}
	}
	return ok;
}

static bool serial_taken(const struct tm_config *c, const char *serial)
{
	for (size_t i = 0; i < c->n_backstores; i++)
		if (streq_ptr(c->backstores[i].serial, serial))
			return true;
	return false;
}

/* One store -> backstore + LUN of t; a store LIO cannot serve is left out with a warning. */
static int convert_store(struct reader *r, struct tgt_target *tt, struct tm_target *t,
			 const struct store *s, unsigned tid)
{
	const char *kind = s->direct ? "direct-store" : "backing-store";
	const struct opt *o;
	_cleanup_free_ char *name = NULL, *serial = NULL;
	struct tm_backstore *b;
	struct tm_lun *l;
	enum tm_backstore_type type;
	const char *why;
	bool readonly = false;

	if ((o = lu_get(r, tt, s, "device-type")) && !streq(o->value, "disk"))
		return tm_import_warn(r->d, o->o,
				      "device-type %s: LIO serves disks only (its pscsi backstore, "
				      "which targetmgr does not manage, passes other devices "
				      "through): %s %s not carried",
				      o->value, kind, s->path);
	if ((o = lu_get(r, tt, s, "bs-type")) && !streq(o->value, "rdwr") &&
	    !streq(o->value, "aio")) {
		const char *closest = streq(o->value, "rbd")
					  ? "map the image with rbd map and serve /dev/rbdN"
				      : streq(o->value, "null") ? "lun N = ramdisk size=S nullio"
				      : streq(o->value, "sg")
					  ? "LIO's pscsi backstore, which targetmgr does not manage"
					  : "none in LIO";
		return tm_import_warn(r->d, o->o,
				      "bs-type %s: a tgt-only backing store type (closest: %s): %s "
				      "%s not carried",
				      o->value, closest, kind, s->path);
	}
	if (startswith(s->path, "NONE:") || (why = tm_syntax_lun_path_invalid(s->path)))
		return tm_import_warn(r->d, s->o, "%s %s: %s: not carried", kind, s->path,
				      startswith(s->path, "NONE:") ? "a LUN without backing store"
								   : why);
	for (size_t i = 0; i < r->c->n_backstores; i++)
		if (streq_ptr(r->c->backstores[i].path, s->path))
			return tm_import_warn(
			    r->d, s->o,
			    "%s %s: already served as %s, and target files serve "
			    "a path once (LIO would refuse to open it twice): not "
			    "carried",
			    kind, s->path, r->c->backstores[i].name);
	type = s->direct ? TM_BACKSTORE_IBLOCK : tm_syntax_type_from_path(s->path);
	if (s->direct)
		tm_import_warn(r->d, s->o,
			       "direct-store %s: served as a block device (iblock); tgt passed the "
			       "disk's own vendor, product and serial through, LIO reports its own "
			       "(set serial= to the disk's serial to keep that)",
			       s->path);

	if ((o = lu_get(r, tt, s, "readonly"))) {
		int k = parse_bool(o->value);
		if (k < 0)
			tm_import_warn(r->d, o->o, "readonly %s: not 0 or 1: not carried",
				       o->value);
		readonly = k > 0;
	}
	name = tm_default_backstore_name(tt->iqn, s->lun);
	if (!name)
		return -ENOMEM;
	b = tm_import_add_backstore(r->c, type, name, s->path, s->o);
	if (!b)
		return -ENOMEM;
	b->readonly = readonly && type == TM_BACKSTORE_IBLOCK;

	/* The unit serial initiators saw: scsi_sn, or tgtd's default for this TID and LUN. */
	o = lu_get(r, tt, s, "scsi_sn");
	if (o && !tm_syntax_serial_ok(o->value))
		tm_import_warn(r->d, o->o,
			       "scsi_sn %s: target files take 1 to 64 of A-Z a-z 0-9 . _ -: LUN %u "
			       "gets tgt's default serial",
			       o->value, s->lun);
	else if (o && serial_taken(r->c, o->value))
		tm_import_warn(r->d, o->o,
			       "scsi_sn %s: already another LUN's, and LIO gives every backstore "
			       "its own: LUN %u of %s gets tgt's default serial",
			       o->value, s->lun, tt->iqn);
	else if (o)
		serial = strdup(o->value);
	if (!serial)
		serial = tm_strdupf("beaf%u%u", tid, s->lun);
	if (!serial)
		return -ENOMEM;
	b->serial = TAKE_PTR(serial);

	if ((o = lu_get(r, tt, s, "write-cache"))) {
		int k = parse_bool(o->value);

		if (k < 0)
			tm_import_warn(r->d, o->o, "write-cache %s: not on or off: not carried",
				       o->value);
		else if (type == TM_BACKSTORE_FILEIO)
			/* tgt's "off" syncs every write: a write-back file reporting no cache
			   would lose acknowledged writes (verify refuses it). */
			b->write_through = k == 0;
		else if (k == 0)
			/* iblock reports the device's own cache; the kernel refuses 1 there. */
			if (tm_settings_set(&b->settings, "attrib/emulate_write_cache", "0", false,
					    o->o) < 0)
				return -ENOMEM;
	}
	if ((o = lu_get(r, tt, s, "block-size"))) {
		unsigned bs;

		if (tm_syntax_parse_unsigned(o->value, 65536, &bs) < 0 || bs < 512 ||
		    (bs & (bs - 1)))
			tm_import_warn(r->d, o->o,
				       "block-size %s: not a power of two from 512: "
				       "not carried",
				       o->value);
		else if (tm_settings_set(&b->settings, "attrib/block_size", o->value, false, o->o) <
			 0)
			return -ENOMEM;
	}
	if ((o = lu_get(r, tt, s, "allow-in-use")) && type == TM_BACKSTORE_IBLOCK &&
	    parse_bool(o->value) > 0)
		tm_import_warn(r->d, o->o,
			       "allow-in-use: LIO opens block devices exclusively, so %s cannot be "
			       "served while it is mounted or otherwise in use",
			       s->path);
	for (size_t i = 0; i < ELEMENTSOF(lu_params); i++)
		if (lu_params[i].why && (o = lu_get(r, tt, s, lu_params[i].key)))
			tm_import_warn(r->d, o->o, "%s %s: not carried: %s", o->key, o->value,
				       lu_params[i].why);

	l = tm_import_add_lun(t, s->lun, b, s->o);
	if (!l)
		return -ENOMEM;
	l->readonly = readonly;
	return 0;
}

/* "USER SECRET" -> user and secret (pointers into a copy in *buf), or a warning. */
static bool split_account(struct reader *r, const struct opt *o, char **buf, char **user,
			  char **secret)
{
	char *w[3];

	*buf = strdup(o->value);
	if (!*buf) {
		r->error = -ENOMEM;
		return false;
	}
	if (tm_syntax_split_words(*buf, w, 3) != 2) {
		tm_import_warn(r->d, o->o, "%s: not USER SECRET: not carried", o->key);
		return false;
	}
	*user = w[0];
	*secret = w[1];
	return true;
}

static void free_secret(char **buf)
{
	tm_erase_free_str(*buf);
	*buf = NULL;
}

/* The account's user name (the first word), for messages. */
static int user_len(const char *value)
{
	return (int)strcspn(value, TM_SYNTAX_BLANKS);
}

/* The first incominguser and outgoinguser of the target into s ("auth/" of the TPG or of an
   ACL): tgt binds several, LIO takes one of each per target or initiator. */
static int convert_accounts(struct reader *r, const struct tgt_target *tt, struct tm_settings *s)
{
	const struct opt *first[2] = {NULL, NULL}; /* incoming, outgoing */

	for (size_t i = 0; i < tt->opts.n; i++) {
		const struct opt *o = &tt->opts.v[i];
		int k = streq(o->key, "incominguser") ? 0 : streq(o->key, "outgoinguser") ? 1 : -1;

		if (k < 0)
			continue;
		if (!first[k])
			first[k] = o;
		else
			tm_import_warn(r->d, o->o,
				       "%s %.*s: LIO takes one %s user per target (or per "
				       "initiator): not carried; initiators using it must log in "
				       "as %.*s",
				       o->key, user_len(o->value), o->value,
				       k ? "mutual CHAP" : "CHAP", user_len(first[k]->value),
				       first[k]->value);
	}
	if (first[1] && !first[0]) {
		tm_import_warn(r->d, first[1]->o,
			       "outgoinguser: LIO authenticates the target (mutual CHAP) only to "
			       "initiators that authenticate themselves (incominguser): not "
			       "carried");
		first[1] = NULL;
	}
	for (int k = 0; k < 2; k++) {
		_cleanup_(free_secret) char *buf = NULL;
		char *user, *secret;

		if (!first[k] || !split_account(r, first[k], &buf, &user, &secret))
			continue;
		if (tm_import_set_chap(s, "auth/", k == 1, user, secret, first[k]->o) < 0)
			return -ENOMEM;
	}
	return r->error;
}

static bool target_key_known(const char *key)
{
	static const char *const keys[] = {
	    "driver",       "controller_tid", "incominguser",
	    "outgoinguser", "initiator-name", "initiator-address",
	};

	return in_list(keys, ELEMENTSOF(keys), key) || lu_param_index(key) >= 0 ||
	       tm_import_iscsi_param(key);
}

static int cmp_lun(const void *a, const void *b)
{
	unsigned x = ((const struct tm_lun *)a)->number, y = ((const struct tm_lun *)b)->number;
	return x < y ? -1 : x > y;
}

static int convert_target(struct reader *r, struct tgt_target *tt, const char *default_driver,
			  unsigned tid)
{
	const struct opt *driver = opts_get(r, &tt->opts, "driver");
	const char *drv = driver ? driver->value : default_driver;
	const char *why = tm_syntax_iscsi_name_invalid(tt->iqn);
	size_t n_names = 0, n_addresses = 0, n_errors = r->d->n_errors;
	struct tm_target *t;
	bool open;
	int k;

	if (why)
		return tm_import_error(r->d, tt->o, "<target %s>: %s", tt->iqn, why);
	if (!streq(drv, "iscsi") && !streq(drv, "iser"))
		return tm_import_warn(
		    r->d, driver ? driver->o : tt->o,
		    "driver %s: targetmgr serves iSCSI (and iSER) targets: target "
		    "%s not carried",
		    drv, tt->iqn);
	if (streq(drv, "iser"))
		tm_import_warn(r->d, driver ? driver->o : tt->o,
			       "driver iser: served over TCP; LIO turns iSER on per portal "
			       "(np/ADDRESS/iser), which target files do not set");
	if (!number_luns(r, tt) || r->d->n_errors > n_errors)
		return 0;

	for (size_t i = 0; i < tt->opts.n; i++) {
		const struct opt *o = &tt->opts.v[i];

		if (streq(o->key, "initiator-name"))
			n_names++;
		else if (streq(o->key, "initiator-address") && strcasecmp(o->value, "ALL") != 0)
			n_addresses++;
		else if (streq(o->key, "state")) /* the one tgt-admin passes that LIO lacks */
			tm_import_warn(r->d, o->o,
				       "state %s: LIO's targets are always ready: not "
				       "carried",
				       o->value);
		else if (!target_key_known(o->key) && !streq(o->key, "lun"))
			tm_import_warn(r->d, o->o,
				       "%s: not a tgt-admin directive (tgt-admin ignores "
				       "it too): not carried",
				       o->key);
	}
	open = n_names == 0;

	t = tm_import_add_target(r->c, tt->iqn, open, tt->o);
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < tt->n_stores; i++) {
		k = convert_store(r, tt, t, &tt->stores[i], tid);
		if (k < 0)
			return k;
	}
	if (t->n_luns > 1)
		qsort(t->luns, t->n_luns, sizeof(*t->luns), cmp_lun);
	if (tt->n_stores == 0)
		tm_import_warn(r->d, tt->o,
			       "<target %s> has no backing-store: it is served with "
			       "no LUN",
			       tt->iqn);

	for (size_t i = 0; i < tt->opts.n; i++) {
		const struct opt *o = &tt->opts.v[i];

		if (streq(o->key, "initiator-address") && strcasecmp(o->value, "ALL") != 0)
			tm_import_warn(r->d, o->o,
				       "initiator-address %s: LIO admits initiators by name, not "
				       "by address: %s "
				       "(closest: initiator = NAME lines, and a firewall rule for "
				       "the address)",
				       o->value,
				       open ? "the target is open to every initiator"
					    : "only the initiator-name lines are carried");
		else if (tm_import_iscsi_param(o->key)) {
			_cleanup_free_ char *path = tm_strdupf("param/%s", o->key);

			if (!path)
				return -ENOMEM;
			if (tm_settings_find(&t->settings, path))
				tm_import_warn(r->d, o->o, "%s: a second value: tgt uses the first",
					       o->key);
			else if (tm_settings_set(&t->settings, path, o->value, false, o->o) < 0)
				return -ENOMEM;
		}
	}
	if (n_names > 0 && n_addresses == 0)
		tm_import_warn(
		    r->d, tt->o,
		    "<target %s>: tgt let every initiator in (no initiator-address line, "
		    "so tgt-admin bound ALL, and tgt admits an initiator whose address or "
		    "name matches); LIO admits only the %zu initiator-name(s)",
		    tt->iqn, n_names);

	if (open) {
		k = tm_import_open_readonly(r->c, t, r->d);
		return k < 0 ? k : convert_accounts(r, tt, &t->settings);
	}
	for (size_t i = 0; i < tt->opts.n; i++) {
		const struct opt *o = &tt->opts.v[i];
		struct tm_acl *a;

		if (!streq(o->key, "initiator-name"))
			continue;
		if ((why = tm_syntax_iscsi_name_invalid(o->value))) {
			tm_import_warn(r->d, o->o, "initiator-name %s: %s: not carried", o->value,
				       why);
			continue;
		}
		if (tm_target_find_acl(t, o->value))
			continue;
		a = tm_import_add_acl(t, o->value, true, o->o);
		if (!a)
			return -ENOMEM;
		k = convert_accounts(r, tt, &a->settings);
		if (k < 0)
			return k;
	}
	return 0;
}

/* Discovery accounts: the first of each kind. */
static int convert_discovery(struct reader *r)
{
	const struct opt *in = NULL, *out = NULL;

	for (size_t i = 0; i < r->global.n; i++) {
		const struct opt *o = &r->global.v[i];
		const struct opt **slot = streq(o->key, "incomingdiscoveryuser")   ? &in
					  : streq(o->key, "outgoingdiscoveryuser") ? &out
										   : NULL;
		if (!slot)
			continue;
		if (*slot)
			tm_import_warn(r->d, o->o,
				       "%s %.*s: LIO takes one discovery user of each kind: not "
				       "carried",
				       o->key, user_len(o->value), o->value);
		else
			*slot = o;
	}
	if (out && !in) {
		tm_import_warn(r->d, out->o,
			       "outgoingdiscoveryuser without incomingdiscoveryuser: "
			       "LIO's mutual CHAP needs one-way CHAP: not carried");
		out = NULL;
	}
	for (int k = 0; k < 2; k++) {
		const struct opt *o = k ? out : in;
		_cleanup_(free_secret) char *buf = NULL;
		char *user, *secret;

		if (!o || !split_account(r, o, &buf, &user, &secret))
			continue;
		if (tm_import_set_chap(&r->c->discovery, "", k == 1, user, secret, o->o) < 0 ||
		    tm_settings_set(&r->c->discovery, TM_POLICY_DISCOVERY_ENFORCE, "1", false,
				    o->o) < 0)
			return -ENOMEM;
	}
	return r->error;
}

static int cmp_target(const void *a, const void *b)
{
	return strcmp(((const struct tgt_target *)a)->iqn, ((const struct tgt_target *)b)->iqn);
}

int tm_import_tgt(const char *path, const struct tm_import_options *opts, struct tm_config *c,
		  struct tm_diags *d)
{
	_cleanup_(reader_done) struct reader r = {
	    .c = c, .d = d, .opts = opts, .target = -1, .store = -1};
	const char *default_driver = "iscsi";
	unsigned tid = 0;
	int k;

	k = read_file(&r, path ? path : TM_IMPORT_TGT_DEFAULT, (struct tm_origin){0});
	if (k < 0)
		return k;

	for (size_t i = 0; i < r.global.n; i++) {
		const struct opt *o = &r.global.v[i];

		if (streq(o->key, "default-driver"))
			default_driver = opts_get(&r, &r.global, o->key)->value;
		else if (startswith(o->key, "iSNS"))
			tm_import_warn(d, o->o,
				       "%s: iSNS registration: not carried (LIO has no "
				       "iSNS client; targetcli users run none either)",
				       o->key);
		else if (!streq(o->key, "incomingdiscoveryuser") &&
			 !streq(o->key, "outgoingdiscoveryuser") &&
			 !streq(o->key, "ignore-errors") && !streq(o->key, "control-port"))
			tm_import_warn(d, o->o, "%s: %s: not carried", o->key,
				       target_key_known(o->key)
					   ? "outside a <target> block, which tgt-admin ignores"
					   : "not a tgt-admin directive");
	}
	k = convert_discovery(&r);
	if (k < 0)
		return k;

	if (r.n_targets > 1)
		qsort(r.targets, r.n_targets, sizeof(*r.targets), cmp_target);
	for (size_t i = 0; i < r.n_targets; i++) {
		const struct opt *ctid = opts_get(&r, &r.targets[i].opts, "controller_tid");

		/* tgt-admin's TID: one more than the last, or controller_tid. */
		tid++;
		if (ctid && tm_syntax_parse_unsigned(ctid->value, UINT32_MAX / 2, &tid) < 0)
			tm_import_warn(d, ctid->o, "controller_tid %s: not a number", ctid->value);
		k = convert_target(&r, &r.targets[i], default_driver, tid);
		if (k < 0)
			return k;
	}
	return tm_config_index(c) < 0 ? -ENOMEM : 0;
}
