/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The iSCSI part of SCST's scst.conf (scstadmin's format): HANDLER vdisk_blockio and
 * vdisk_fileio devices, TARGET_DRIVER iscsi with its TARGETs, their LUNs, GROUPs of
 * INITIATORs with LUNs of their own, IncomingUser, OutgoingUser, enabled, and the iSCSI
 * parameters.
 *
 * A target without groups is open to every initiator.  A GROUP's initiators see the group's
 * LUNs instead: they become ACLs, and the group's devices become LUNs of the target.  The
 * target driver's own IncomingUser and OutgoingUser are the discovery session's.
 */
#include "import.h"
#include "policy.h"
#include "syntax.h"
#include "util.h"

/* One statement: its words, and the statements of its { } block. */
struct node {
	char **words;
	size_t n_words;
	struct node *children;
	size_t n_children;
	struct tm_origin o;
};

struct ctx {
	struct tm_config *c;
	struct tm_diags *d;
	struct node root;
	/* devices: name -> backstore index and where it was declared; LUN users */
	struct device {
		char *name;
		ssize_t backstore; /* -1: not carried */
		char *served_by;   /* the target of its LUN */
		unsigned served_lun;
		bool readonly; /* read_only 1 */
		struct tm_origin o;
	} * devices;
	size_t n_devices;
};

static void node_clear(struct node *n)
{
	for (size_t i = 0; i < n->n_words; i++)
		tm_erase_free_str(n->words[i]); /* CHAP secrets */
	free(n->words);
	for (size_t i = 0; i < n->n_children; i++)
		node_clear(&n->children[i]);
	free(n->children);
}

static void ctx_done(struct ctx *x)
{
	node_clear(&x->root);
	for (size_t i = 0; i < x->n_devices; i++) {
		free(x->devices[i].name);
		free(x->devices[i].served_by);
	}
	free(x->devices);
}

/* ---- reading: words, quoted strings, { and }, # comments ------------------------------- */

struct lexer {
	const char *p;
	unsigned line;
	const char *file;
};

/* The next token on the current line: 1 word (in *ret), '{', '}', '\n' at a line's end, 0 at
   the end of the text, -ENOMEM. */
static int next_token(struct lexer *l, char **ret)
{
	const char *start;

	for (;;) {
		l->p += strspn(l->p, " \t\r\v\f");
		if (*l->p == '#')
			l->p += strcspn(l->p, "\n");
		if (*l->p == '\0')
			return 0;
		if (*l->p == '\n') {
			l->p++;
			l->line++;
			return '\n';
		}
		if (*l->p == '{' || *l->p == '}')
			return *l->p++;
		break;
	}
	if (*l->p == '"') {
		start = ++l->p;
		l->p += strcspn(l->p, "\"\n");
		*ret = strndup(start, (size_t)(l->p - start));
		if (*l->p == '"')
			l->p++;
	} else {
		start = l->p;
		l->p += strcspn(l->p, " \t\r\v\f\n{}#");
		*ret = strndup(start, (size_t)(l->p - start));
	}
	return *ret ? 1 : -ENOMEM;
}

/* Statements until '}' (inner) or the end of the text. */
static int parse_block(struct ctx *x, struct lexer *l, struct node *parent, bool inner)
{
	struct node *cur = NULL;

	for (;;) {
		char *word = NULL;
		int k = next_token(l, &word);

		if (k < 0)
			return k;
		if (k == 0) {
			if (inner)
				tm_import_error(x->d, (struct tm_origin){l->file, l->line},
						"'{' not closed at the end of the file");
			return 0;
		}
		if (k == '\n') {
			cur = NULL;
		} else if (k == '}') {
			if (inner)
				return 0;
			tm_import_error(x->d, (struct tm_origin){l->file, l->line},
					"'}' closes no block");
		} else if (k == '{') {
			if (!cur) {
				tm_import_error(x->d, (struct tm_origin){l->file, l->line},
						"'{' without a name before it");
				cur = TM_PUSH(parent->children, parent->n_children);
				if (!cur)
					return -ENOMEM;
			}
			k = parse_block(x, l, cur, true);
			if (k < 0)
				return k;
			cur = NULL;
		} else {
			char **slot;

			if (!cur) {
				cur = TM_PUSH(parent->children, parent->n_children);
				if (!cur) {
					free(word);
					return -ENOMEM;
				}
				cur->o = (struct tm_origin){l->file, l->line};
			}
			slot = TM_PUSH(cur->words, cur->n_words);
			if (!slot) {
				free(word);
				return -ENOMEM;
			}
			*slot = word;
		}
	}
}

/* ---- converting ------------------------------------------------------------------------ */

static const char *word(const struct node *n, size_t i)
{
	return i < n->n_words ? n->words[i] : NULL;
}

static bool is(const struct node *n, const char *key)
{
	return n->n_words > 0 && streq(n->words[0], key);
}

static const struct node *child(const struct node *n, const char *key)
{
	for (size_t i = 0; i < n->n_children; i++)
		if (is(&n->children[i], key))
			return &n->children[i];
	return NULL;
}

static bool flag(const struct node *n, const char *key)
{
	const struct node *c = child(n, key);
	return c && word(c, 1) && streq(word(c, 1), "1");
}

static struct device *find_device(struct ctx *x, const char *name)
{
	for (size_t i = 0; name && i < x->n_devices; i++)
		if (streq(x->devices[i].name, name))
			return &x->devices[i];
	return NULL;
}

/* Device attributes and what becomes of them. */
static const struct {
	const char *key;
	const char *attribute; /* carried as attrib/NAME with the same value */
	const char *why;       /* else: why not, with the closest thing */
} device_attrs[] = {
    {"filename", NULL, NULL},
    {"read_only", NULL, NULL},
    {"usn", NULL, NULL},
    {"blocksize", "block_size", NULL},
    {"write_through", NULL, NULL},
    {"nv_cache", NULL,
     "LIO always honours cache flushes (targetmgr serves files write-back, reporting the "
     "write cache, and LIO syncs the file on SYNCHRONIZE CACHE)"},
    {"o_direct", NULL,
     "LIO's fileio goes through the page cache; closest: write-through (every write "
     "synchronous)"},
    {"t10_dev_id", NULL,
     "LIO derives the device identifier (VPD page 0x83) from the unit "
     "serial; closest: serial="},
    {"t10_vend_id", NULL, "LIO reports its own vendor (LIO-ORG)"},
    {"vend_specific_id", NULL, "LIO reports its own identifiers"},
    {"prod_id", NULL, "LIO reports the backstore type as the product"},
    {"prod_rev_lvl", NULL, "LIO reports its own revision"},
    {"thin_provisioned", NULL,
     "LIO enables UNMAP where the device supports it "
     "(attribute.emulate_tpu)"},
    {"rotational", NULL, "closest: attribute.is_nonrot=1 for rotational 0"},
    {"removable", NULL, "LIO serves disks as non-removable"},
    {"cluster_mode", NULL, "LIO's persistent reservations are per host"},
    {"size", NULL, "LIO serves the device or file at its own size"},
    {"size_mb", NULL, "LIO serves the device or file at its own size"},
    {"threads_num", NULL, "LIO's backstores need no thread setting"},
    {"threads_pool_type", NULL, "LIO's backstores need no thread setting"},
    {"dif_mode", NULL, "T10 PI is not set by target files"},
    {"dif_type", NULL, "T10 PI is not set by target files"},
    {"tst", NULL, "closest: none"},
};

static int convert_device(struct ctx *x, const char *handler, const struct node *dev)
{
	const char *name = word(dev, 1);
	const struct node *fn = child(dev, "filename");
	const char *path = fn ? word(fn, 1) : NULL, *why;
	const struct node *usn = child(dev, "usn");
	enum tm_backstore_type type =
	    streq(handler, "vdisk_blockio") ? TM_BACKSTORE_IBLOCK : TM_BACKSTORE_FILEIO;
	struct device *d;
	struct tm_backstore *b;

	if (!name)
		return tm_import_warn(x->d, dev->o, "DEVICE without a name: not carried");
	d = TM_PUSH(x->devices, x->n_devices);
	if (!d || !(d->name = strdup(name)))
		return -ENOMEM;
	d->backstore = -1;
	d->o = dev->o;
	if (!path)
		return tm_import_warn(x->d, dev->o, "DEVICE %s has no filename: not carried", name);
	if ((why = tm_syntax_lun_path_invalid(path)))
		return tm_import_warn(x->d, fn->o, "filename %s: %s: DEVICE %s not carried", path,
				      why, name);
	b = tm_import_add_backstore(x->c, type, name, path, dev->o);
	if (!b)
		return -ENOMEM;
	d->backstore = (ssize_t)(x->c->n_backstores - 1);
	d->readonly = flag(dev, "read_only");
	b->readonly = d->readonly && type == TM_BACKSTORE_IBLOCK;
	/* vdisk_fileio's write_through 1 reports no write cache and syncs each write. */
	b->write_through = type == TM_BACKSTORE_FILEIO && flag(dev, "write_through");
	if (usn && word(usn, 1))
		b->serial = strdup(word(usn, 1));
	else {
		b->serial = tm_default_serial(name);
		tm_import_warn(x->d, dev->o,
			       "DEVICE %s has no usn: SCST derived the unit serial from the name, "
			       "LIO's will be %s (to keep SCST's, read it with sg_inq -p 0x80 and "
			       "set serial=)",
			       name, b->serial ? b->serial : "");
	}
	if (!b->serial)
		return -ENOMEM;
	if (usn && word(usn, 1) && !tm_syntax_serial_ok(word(usn, 1)))
		tm_import_warn(x->d, usn->o,
			       "usn %s: target files take 1 to 64 of A-Z a-z 0-9 . _ -: LIO's "
			       "serial will differ",
			       word(usn, 1));
	for (size_t i = 0; i < dev->n_children; i++) {
		const struct node *a = &dev->children[i];
		bool known = false;

		for (size_t j = 0; j < ELEMENTSOF(device_attrs) && !known; j++) {
			if (!is(a, device_attrs[j].key))
				continue;
			known = true;
			if (device_attrs[j].attribute && word(a, 1)) {
				_cleanup_free_ char *p =
				    tm_strdupf("attrib/%s", device_attrs[j].attribute);
				if (!p || tm_settings_set(&x->c->backstores[d->backstore].settings,
							  p, word(a, 1), false, a->o) < 0)
					return -ENOMEM;
			} else if (device_attrs[j].why)
				tm_import_warn(x->d, a->o, "%s %s: not carried: %s", a->words[0],
					       word(a, 1) ? word(a, 1) : "", device_attrs[j].why);
		}
		if (!known)
			tm_import_warn(x->d, a->o,
				       "%s: an SCST device attribute LIO lacks: not "
				       "carried",
				       /* A bare "{ }" block has no words (fuzz-import-scst). */
				       word(a, 0) ? word(a, 0) : "{");
	}
	return 0;
}

/* "IncomingUser" / "OutgoingUser" lines of n into s (prefix "auth/" or "" for discovery). */
static int convert_users(struct ctx *x, const struct node *n, struct tm_settings *s,
			 const char *prefix)
{
	bool have[2] = {false, false};

	for (size_t i = 0; i < n->n_children; i++) {
		const struct node *u = &n->children[i];
		int mutual = is(u, "OutgoingUser") ? 1 : is(u, "IncomingUser") ? 0 : -1;
		char *buf, *w[3];
		size_t nw;
		int k;

		if (mutual < 0)
			continue;
		/* "user secret" quoted is one word; unquoted it is two. */
		buf = word(u, 2) ? tm_strdupf("%s %s", word(u, 1), word(u, 2))
				 : strdup(word(u, 1) ? word(u, 1) : "");
		if (!buf)
			return -ENOMEM;
		nw = tm_syntax_split_words(buf, w, 3);
		if (nw != 2)
			tm_import_warn(x->d, u->o, "%s: not USER SECRET: not carried", u->words[0]);
		else if (have[mutual])
			tm_import_warn(x->d, u->o,
				       "%s %.64s: LIO takes one such user per target (or per "
				       "initiator): not carried",
				       u->words[0], w[0]);
		else if (mutual && !have[0])
			tm_import_warn(
			    x->d, u->o,
			    "OutgoingUser %.64s: LIO's mutual CHAP needs an IncomingUser "
			    "before it: not carried",
			    w[0]);
		else {
			k = tm_import_set_chap(s, prefix, mutual, w[0], w[1], u->o);
			if (k < 0) {
				tm_erase_free_str(buf);
				return k;
			}
			have[mutual] = true;
		}
		explicit_bzero(buf, strlen(buf) + 1);
		free(buf);
	}
	return have[0] && !strlen(prefix)
		   ? tm_settings_set(s, TM_POLICY_DISCOVERY_ENFORCE, "1", false, n->o)
		   : 0;
}

static bool is_iscsi_param(const struct node *n)
{
	return word(n, 1) && tm_import_iscsi_param(n->words[0]);
}

/* A LUN line "LUN N DEVICE [{ read_only 1 }]": 0 and the LUN's TPG number in *ret, or a
   warning and -ENOENT. */
static int use_device(struct ctx *x, struct tm_target *t, const struct node *l, unsigned *ret)
{
	const char *dev = word(l, 2);
	struct device *d = find_device(x, dev);
	unsigned n;

	if (!dev || tm_syntax_parse_unsigned(word(l, 1), TM_SYNTAX_LUN_MAX, &n) < 0) {
		tm_import_warn(x->d, l->o, "LUN: not LUN NUMBER DEVICE: not carried");
		return -ENOENT;
	}
	if (!d) {
		tm_import_warn(x->d, l->o,
			       "LUN %u %s: not a vdisk_blockio or vdisk_fileio DEVICE: not carried",
			       n, dev);
		return -ENOENT;
	}
	if (d->backstore < 0)
		return -ENOENT; /* warned where the device is */
	if (d->served_by && !streq(d->served_by, t->iqn)) {
		tm_import_warn(x->d, l->o,
			       "LUN %u %s: the device is already LUN %u of %s, and a backstore "
			       "serves one LUN in target files: not carried",
			       n, dev, d->served_lun, d->served_by);
		return -ENOENT;
	}
	for (size_t i = 0; i < t->n_luns; i++)
		if (streq(t->luns[i].backstore_name, x->c->backstores[d->backstore].name)) {
			*ret = t->luns[i].number;
			return 0;
		}
	/* A new TPG LUN: its own number if free, else the next free one. */
	while (tm_target_find_lun(t, n))
		n++;
	if (!tm_import_add_lun(t, n, &x->c->backstores[d->backstore], l->o))
		return -ENOMEM;
	d->served_by = strdup(t->iqn);
	if (!d->served_by)
		return -ENOMEM;
	d->served_lun = n;
	t->luns[t->n_luns - 1].readonly = d->readonly || flag(l, "read_only");
	*ret = n;
	return 0;
}

static int convert_target(struct ctx *x, const struct node *tn)
{
	const char *iqn = word(tn, 1), *why;
	const struct node *en = child(tn, "enabled");
	size_t n_groups = 0, n_default = 0;
	struct tm_target *t;
	unsigned lun;
	int k;

	if (!iqn || (why = tm_syntax_iscsi_name_invalid(iqn)))
		return tm_import_warn(x->d, tn->o, "TARGET %s: %s: not carried", iqn ? iqn : "",
				      iqn ? why : "no name");
	/* A second TARGET of one name would make two targets of one IQN
	   (found by fuzz-import-scst). */
	if (tm_config_find_target(x->c, iqn))
		return tm_import_warn(x->d, tn->o, "TARGET %s: declared twice: not carried", iqn);
	for (size_t i = 0; i < tn->n_children; i++) {
		n_groups += is(&tn->children[i], "GROUP");
		n_default += is(&tn->children[i], "LUN");
	}
	t = tm_import_add_target(x->c, iqn, n_groups == 0, tn->o);
	if (!t)
		return -ENOMEM;
	if (en && !flag(tn, "enabled"))
		tm_import_warn(x->d, en->o,
			       "enabled 0: targetmgr serves every target it declares: TARGET %s "
			       "will be enabled (leave its file out to keep it off)",
			       iqn);
	if (n_groups > 0 && n_default > 0)
		tm_import_warn(x->d, tn->o,
			       "TARGET %s: initiators in no GROUP saw the target's own LUNs; a "
			       "target file cannot open a target and name initiators: only the "
			       "GROUPs' initiators are carried",
			       iqn);
	for (size_t i = 0; i < tn->n_children; i++) {
		const struct node *c = &tn->children[i];

		if (is(c, "LUN")) {
			k = use_device(x, t, c, &lun);
			if (k == -ENOMEM)
				return k;
		} else if (is(c, "GROUP") || is(c, "enabled") || is(c, "IncomingUser") ||
			   is(c, "OutgoingUser"))
			continue;
		else if (is(c, "QueuedCommands") && word(c, 1)) {
			if (tm_settings_set(&t->settings, "attrib/default_cmdsn_depth", word(c, 1),
					    false, c->o) < 0)
				return -ENOMEM;
		} else if (is_iscsi_param(c)) {
			_cleanup_free_ char *path = tm_strdupf("param/%s", c->words[0]);
			if (!path ||
			    tm_settings_set(&t->settings, path, word(c, 1), false, c->o) < 0)
				return -ENOMEM;
		} else if (is(c, "allowed_portal"))
			tm_import_warn(x->d, c->o,
				       "allowed_portal %s: not carried; closest: portal = ADDRESS "
				       "(LIO listens on the target's portals only)",
				       word(c, 1) ? word(c, 1) : "");
		else if (c->n_words > 0)
			tm_import_warn(
			    x->d, c->o, "%s: an SCST target attribute LIO lacks: not carried%s",
			    c->words[0],
			    is(c, "NopInInterval") || is(c, "NopInTimeout") || is(c, "RspTimeout")
				? " (closest: attribute.nopin_timeout and "
				  "attribute.nopin_response_timeout in [initiator] "
				  "sections)"
				: "");
	}

	if (n_groups == 0) {
		k = tm_import_open_readonly(x->c, t, x->d);
		return k < 0 ? k : convert_users(x, tn, &t->settings, "auth/");
	}

	for (size_t i = 0; i < tn->n_children; i++) {
		const struct node *g = &tn->children[i];
		struct {
			unsigned number, lun;
			bool ro;
		} map[256];
		size_t n_map = 0;

		if (!is(g, "GROUP"))
			continue;
		for (size_t j = 0; j < g->n_children; j++) {
			const struct node *c = &g->children[j];

			if (!is(c, "LUN"))
				continue;
			k = use_device(x, t, c, &lun);
			if (k == -ENOMEM)
				return k;
			if (k < 0)
				continue;
			if (n_map == ELEMENTSOF(map)) {
				tm_import_warn(x->d, c->o,
					       "GROUP %s: more than %zu LUNs: not carried",
					       word(g, 1), ELEMENTSOF(map));
				continue;
			}
			map[n_map].number = 0;
			(void)tm_syntax_parse_unsigned(word(c, 1), TM_SYNTAX_LUN_MAX,
						       &map[n_map].number);
			map[n_map].lun = lun;
			map[n_map].ro = flag(c, "read_only");
			n_map++;
		}
		for (size_t j = 0; j < g->n_children; j++) {
			const struct node *c = &g->children[j];
			const char *name = word(c, 1);
			struct tm_acl *a;

			if (is(c, "LUN"))
				continue;
			if (!is(c, "INITIATOR")) {
				tm_import_warn(x->d, c->o, "GROUP %s: %s: not carried", word(g, 1),
					       c->n_words ? c->words[0] : "?");
				continue;
			}
			if (!name || strpbrk(name, "*?!") ||
			    (why = tm_syntax_iscsi_name_invalid(name))) {
				tm_import_warn(x->d, c->o,
					       "INITIATOR %s: LIO grants access to exact initiator "
					       "names, not patterns: not carried; name each "
					       "initiator",
					       name ? name : "");
				continue;
			}
			a = tm_import_add_acl(t, name, false, c->o);
			if (!a)
				return -ENOMEM;
			for (size_t m = 0; m < n_map; m++) {
				const struct tm_lun *l = tm_target_find_lun(t, map[m].lun);
				bool ro = map[m].ro || (l && l->readonly);

				if (!tm_import_add_mapped_lun(a, map[m].number, map[m].lun, ro,
							      c->o))
					return -ENOMEM;
			}
			k = convert_users(x, tn, &a->settings, "auth/");
			if (k < 0)
				return k;
		}
	}
	return 0;
}

int tm_import_scst(const char *path, const struct tm_import_options *opts, struct tm_config *c,
		   struct tm_diags *d)
{
	_cleanup_(ctx_done) struct ctx x = {.c = c, .d = d};
	_cleanup_free_ char *text = NULL;
	struct lexer l = {.line = 1};
	size_t len = 0;
	int k;

	path = path ? path : TM_IMPORT_SCST_DEFAULT;
	l.file = tm_config_intern_file(c, path);
	if (!l.file)
		return -ENOMEM;
	k = tm_import_read_file(opts, path, &text, &len);
	if (k < 0) {
		tm_import_error(d, (struct tm_origin){l.file, 0}, "cannot read %s: %s", path,
				strerror(-k));
		return k;
	}
	l.p = text;
	k = parse_block(&x, &l, &x.root, false);
	explicit_bzero(text, len);
	if (k < 0)
		return k;

	for (size_t i = 0; i < x.root.n_children; i++) {
		const struct node *h = &x.root.children[i];

		if (!is(h, "HANDLER"))
			continue;
		for (size_t j = 0; j < h->n_children; j++) {
			const struct node *dev = &h->children[j];

			if (!is(dev, "DEVICE"))
				continue;
			if (word(h, 1) && (streq(word(h, 1), "vdisk_blockio") ||
					   streq(word(h, 1), "vdisk_fileio")))
				k = convert_device(&x, word(h, 1), dev);
			else
				k = tm_import_warn(
				    d, dev->o,
				    "DEVICE %s of HANDLER %s: targetmgr serves vdisk_blockio and "
				    "vdisk_fileio devices (closest for vdisk_nullio: lun N = "
				    "ramdisk size=S nullio): not carried",
				    word(dev, 1) ? word(dev, 1) : "", word(h, 1) ? word(h, 1) : "");
			if (k < 0)
				return k;
		}
	}
	for (size_t i = 0; i < x.root.n_children; i++) {
		const struct node *n = &x.root.children[i];

		if (is(n, "HANDLER"))
			continue;
		if (!is(n, "TARGET_DRIVER")) {
			if (n->n_words > 0)
				tm_import_warn(d, n->o, "%s: not carried (SCST-wide setting)",
					       n->words[0]);
			continue;
		}
		if (!word(n, 1) || !streq(word(n, 1), "iscsi")) {
			if (n->n_children > 0 && !(word(n, 1) && streq(word(n, 1), "copy_manager")))
				tm_import_warn(d, n->o,
					       "TARGET_DRIVER %s: targetmgr serves iSCSI: "
					       "not carried",
					       word(n, 1) ? word(n, 1) : "");
			continue;
		}
		k = convert_users(&x, n, &c->discovery, "");
		for (size_t j = 0; k >= 0 && j < n->n_children; j++) {
			const struct node *t = &n->children[j];

			if (is(t, "TARGET"))
				k = convert_target(&x, t);
			else if (!is(t, "enabled") && !is(t, "IncomingUser") &&
				 !is(t, "OutgoingUser") && t->n_words > 0)
				k = tm_import_warn(
				    d, t->o, "%s: an iSCSI-SCST setting LIO lacks: not carried",
				    t->words[0]);
		}
		if (k < 0)
			return k;
	}
	return tm_config_index(c) < 0 ? -ENOMEM : 0;
}
