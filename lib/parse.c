/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Target files -> declared model.
 *
 * inih splits "key = value" lines and strips inline comments; everything else is done here,
 * because Debian's inih (55) is built without line numbers in the handler, with multi-line
 * values, with a 200-byte stack line buffer that silently splits longer lines and with section
 * names truncated to 49 bytes.  So our reader hands inih one whole line at a time: it counts
 * lines (inih calls the handler for a line before asking for the next one, so the handler
 * knows where it is), strips leading whitespace (no line is ever a continuation, indentation
 * is harmless), refuses over-long lines, checks every line's syntax itself (so that every bad
 * line is reported, not only inih's first one) and parses section headers itself.
 *
 * Each file is parsed into pending state and then finalized: only at the end of a file are all
 * LUNs and ACLs of a target known, so the TPG and ACL settings are derived there.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "parse.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdint.h>
#include <sys/stat.h>

#include "alua.h"
#include "layout.h"
#include "policy.h"
#include "syntax.h"
#include "util.h"

struct chap {
	char *user;
	char *secret;            /* NULL when not declared, or when reading its file failed */
	const char *file;        /* "USER @FILE": FILE, interned in the config; else NULL */
	struct tm_origin origin; /* line 0: not declared */
};

struct pending_acl {
	struct chap chap, mutual;
	unsigned *luns; /* "luns =": mapped LUNs; not given: every LUN of the target */
	size_t n_luns;
	struct tm_origin luns_origin; /* line 0: "luns" not given */
	struct tm_settings attributes;
};

struct pending_target {
	size_t index; /* in config->targets */
	struct chap chap, mutual;
	struct tm_settings passthrough; /* attrib/... and param/..., in declaration order */
	struct pending_acl *acls;       /* parallel to config->targets[index].acls */
	size_t n_acls;
};

enum section {
	SECTION_NONE,
	SECTION_INVALID, /* a bad header: its keys are skipped, the header was reported */
	SECTION_TARGET,
	SECTION_INITIATOR,
	SECTION_DISCOVERY,
	SECTION_ALUA,
};

struct parser {
	struct tm_config *config;
	struct tm_diags *diags;
	const char *file; /* interned in config */

	/* The reader's source: text in memory, which may hold NUL bytes. */
	const char *text, *text_end;
	unsigned line;
	size_t errors_before; /* errors of other files */
	bool stopped;         /* too many errors in this file: the rest is not read */
	int error;            /* first fatal error (-ENOMEM): stops the parse */

	enum section section;
	bool target_invalid; /* the last [target] header was bad: skip its [initiator]s */
	size_t acl;          /* current [initiator]: index in the last target's acls */
	struct pending_target *targets;
	size_t n_targets;
	struct chap discovery_chap, discovery_mutual;
	size_t alua_first; /* this file's [alua] sections: config->alua_groups from here */
};

static void chap_done(struct chap *c)
{
	free(c->user);
	tm_erase_free_str(c->secret);
	*c = (struct chap){0};
}

static void pending_acl_done(struct pending_acl *a)
{
	chap_done(&a->chap);
	chap_done(&a->mutual);
	free(a->luns);
	tm_settings_clear(&a->attributes);
}

static void pending_target_done(struct pending_target *t)
{
	chap_done(&t->chap);
	chap_done(&t->mutual);
	tm_settings_clear(&t->passthrough);
	for (size_t i = 0; i < t->n_acls; i++)
		pending_acl_done(&t->acls[i]);
	free(t->acls);
}

static void parser_done(struct parser *p)
{
	for (size_t i = 0; i < p->n_targets; i++)
		pending_target_done(&p->targets[i]);
	free(p->targets);
	chap_done(&p->discovery_chap);
	chap_done(&p->discovery_mutual);
}

static struct tm_origin here(const struct parser *p)
{
	return (struct tm_origin){.file = p->file, .line = p->line};
}

static _printf_(4, 5) int diag(struct parser *p, enum tm_severity sev, unsigned line,
			       const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = tm_diag_addv(p->diags, sev, p->file, line, fmt, ap);
	va_end(ap);
	return r;
}

#define parse_error(p, ...) diag(p, TM_ERROR, (p)->line, __VA_ARGS__)

/* Keys are echoed in messages, but a mistyped CHAP line may have put its secret on the key
   side of the '=': only the first word is echoed, unless the others are numbers ("lun 1"). */
static int key_error(struct parser *p, const char *fmt_prefix, const char *key,
		     const char *fmt_suffix)
{
	size_t n = strcspn(key, TM_SYNTAX_BLANKS);

	if (strspn(key + n, TM_SYNTAX_BLANKS "0123456789") == strlen(key + n))
		n = strlen(key);
	return parse_error(p, "%s'%.*s%s'%s", fmt_prefix, (int)n, key, key[n] ? " ..." : "",
			   fmt_suffix);
}

/* ---- secrets ---------------------------------------------------------------------------- */

/* Reads the first line of a secret file, without stdio so that no buffer we cannot wipe keeps
   a copy.  *ret is NULL when that failed (diagnosed). */
static int read_secret_file(struct parser *p, const char *path, char **ret)
{
	_cleanup_close_ int fd = -1;
	char buf[1024];
	bool failed = false;
	size_t n = 0;
	struct stat st;
	int r = 0;

	*ret = NULL;
	if (path[0] != '/')
		return parse_error(p, "secret file '%s' is not an absolute path", path);
	/* O_NONBLOCK: a FIFO must not stall the open; fstat refuses it before any read. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return parse_error(p, "cannot open secret file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		return parse_error(p, "cannot stat secret file %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return parse_error(p, "secret file %s is %s, not a regular file", path,
				   tm_file_type_name(st.st_mode));
	if (st.st_mode & 077)
		return parse_error(p,
				   "secret file %s is accessible by group or others (mode %04o); "
				   "make it private with chmod 600",
				   path, (unsigned)(st.st_mode & 07777));

	/* Up to the first newline; a longer first line is cut, and verify rejects it as longer
	   than LIO takes anyway. */
	while (n < sizeof(buf) - 1 && !memchr(buf, '\n', n)) {
		ssize_t k = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = parse_error(p, "cannot read secret file %s: %s", path, strerror(errno));
			failed = true;
			break;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (!failed) {
		char *nl = memchr(buf, '\n', n);

		if (nl)
			n = (size_t)(nl - buf);
		buf[n] = '\0';
		/* A NUL would cut the secret short where the kernel reads it. */
		if (memchr(buf, '\0', n))
			r = parse_error(p, "secret file %s has a NUL byte in its first line", path);
		else if (!(*ret = strdup(buf)))
			r = -ENOMEM;
	}
	if (r >= 0 && *ret && st.st_uid != 0 && st.st_uid != geteuid())
		/* Its owner can change what guards the disks. */
		r = diag(p, TM_WARNING, p->line,
			 "secret file %s is owned by uid %u, neither root nor this user: its owner "
			 "can change the secret",
			 path, (unsigned)st.st_uid);
	explicit_bzero(buf, sizeof(buf));
	return r;
}

static int parse_chap_words(struct parser *p, const char *key, char *value, struct chap *c)
{
	char *words[2];
	int r;

	if (tm_syntax_split_words(value, words, 2) != 2)
		return parse_error(p, "expected '%s = USER SECRET' or '%s = USER @FILE'", key, key);
	c->origin = here(p);
	if (streq(words[1], TM_POLICY_SECRET_WITHHELD))
		return parse_error(
		    p,
		    "the secret of %s user %s was withheld by 'targetmgr save': put "
		    "the secret or @FILE (a file holding it) in place of %s, or save "
		    "again with 'targetmgr save --with-secrets -o FILE'",
		    key, words[0], TM_POLICY_SECRET_WITHHELD);
	c->user = strdup(words[0]);
	if (!c->user)
		return -ENOMEM;
	if (words[1][0] != '@') {
		c->secret = strdup(words[1]);
		return c->secret ? 0 : -ENOMEM;
	}
	r = read_secret_file(p, words[1] + 1, &c->secret);
	if (r < 0)
		return r;
	if (c->secret && !(c->file = tm_config_intern_file(p->config, words[1] + 1)))
		return -ENOMEM;
	if (!c->secret) {
		/* Diagnosed: the credentials count as absent. */
		free(c->user);
		c->user = NULL;
	}
	return 0;
}

/* "USER SECRET" or "USER @/path/to/file".  Values are never echoed: they hold secrets. */
static int parse_chap(struct parser *p, const char *key, const char *value, struct chap *c)
{
	size_t len = strlen(value);
	char *copy;
	int r;

	if (c->origin.line)
		return parse_error(p, "'%s' already set at %s:%u", key, c->origin.file,
				   c->origin.line);
	copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	r = parse_chap_words(p, key, copy, c);
	tm_erase_free(copy, len);
	return r;
}

/* ---- keys ------------------------------------------------------------------------------- */

/* attribute.NAME / parameter.NAME -> <prefix>NAME */
static int parse_passthrough(struct parser *p, const char *key, const char *name,
			     const char *prefix, const char *value, struct tm_settings *dest)
{
	_cleanup_free_ char *path = NULL;
	const struct tm_setting *old;

	if (!tm_syntax_setting_name_ok(name))
		return key_error(p, "invalid name in ", key,
				 ": expected letters, digits and '_' after the '.'");
	path = tm_strdupf("%s%s", prefix, name);
	if (!path)
		return -ENOMEM;
	old = tm_settings_find(dest, path);
	if (old)
		return parse_error(p, "'%s' already set at %s:%u", key, old->origin.file,
				   old->origin.line);
	return tm_settings_set(dest, path, value, false, here(p));
}

/* What an ALUA group name may be, for the messages about a bad one. */
#define ALUA_NAME_RULE                                                                             \
	"expected 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '-', other than "                 \
	"'" TM_LAYOUT_ALUA_DEFAULT_GROUP "'"

struct lun_options {
	int type; /* -1: from the path */
	unsigned long long size;
	bool has_size, ro, nullio, allow_in_use, write_through;
	const char *serial, *name, *alua;
	struct tm_settings attributes; /* attribute.NAME=, and what vendor=, product= and
					  reservations= stand for */
};

/* "vendor=ACME", "product=X", "reservations=off": one setting of the backstore. */
static int parse_lun_setting(struct parser *p, unsigned number, const char *o, const char *path,
			     const char *value, struct lun_options *opts)
{
	if (tm_settings_find(&opts->attributes, path))
		return parse_error(p, "LUN %u: '%.*s' given twice", number, (int)strcspn(o, "="),
				   o);
	return tm_settings_set(&opts->attributes, path, value, false, here(p));
}

static int parse_lun_option(struct parser *p, unsigned number, const char *o,
			    struct lun_options *opts)
{
	const char *v;
	int r;

	if (streq(o, "ro") || streq(o, "readonly")) {
		if (opts->ro)
			return parse_error(p, "LUN %u: '%s' given twice", number, o);
		opts->ro = true;
	} else if (streq(o, "allow-in-use")) {
		if (opts->allow_in_use)
			return parse_error(p, "LUN %u: 'allow-in-use' given twice", number);
		opts->allow_in_use = true;
	} else if (streq(o, "write-through")) {
		if (opts->write_through)
			return parse_error(p, "LUN %u: 'write-through' given twice", number);
		opts->write_through = true;
	} else if ((v = startswith(o, "vendor=")) || (v = startswith(o, "product="))) {
		bool vendor = o[0] == 'v';
		size_t max = vendor ? TM_SYNTAX_VENDOR_MAX : TM_SYNTAX_PRODUCT_MAX;

		if (!tm_syntax_inquiry_ok(v, max))
			return parse_error(p,
					   "LUN %u: invalid %s '%s': expected 1 to %zu printable "
					   "ASCII characters",
					   number, vendor ? "vendor" : "product", v, max);
		return parse_lun_setting(p, number, o, vendor ? "wwn/vendor_id" : "wwn/product_id",
					 v, opts);
	} else if ((v = startswith(o, "reservations="))) {
		if (!streq(v, "on") && !streq(v, "off"))
			return parse_error(p, "LUN %u: expected 'reservations=on' or 'off'",
					   number);
		return parse_lun_setting(p, number, o, "attrib/emulate_pr",
					 streq(v, "on") ? "1" : "0", opts);
	} else if (streq(o, "nullio")) {
		if (opts->nullio)
			return parse_error(p, "LUN %u: 'nullio' given twice", number);
		opts->nullio = true;
	} else if ((v = startswith(o, "size="))) {
		if (opts->has_size)
			return parse_error(p, "LUN %u: 'size=' given twice", number);
		r = tm_parse_size(v, &opts->size);
		if (r < 0)
			return parse_error(p,
					   "LUN %u: invalid size '%s': expected bytes or a "
					   "number with K, M, G, T or P",
					   number, v);
		if (!tm_syntax_size_ok(opts->size))
			return parse_error(p,
					   "LUN %u: size '%s' is not a positive multiple of "
					   "512 bytes",
					   number, v);
		opts->has_size = true;
	} else if ((v = startswith(o, "serial="))) {
		if (opts->serial)
			return parse_error(p, "LUN %u: 'serial=' given twice", number);
		if (!tm_syntax_serial_ok(v))
			return parse_error(p,
					   "LUN %u: invalid serial '%s': expected 1 to 64 "
					   "characters of A-Z, a-z, 0-9, '.', '_', '-'",
					   number, v);
		opts->serial = v;
	} else if ((v = startswith(o, "name="))) {
		if (opts->name)
			return parse_error(p, "LUN %u: 'name=' given twice", number);
		if (!tm_syntax_backstore_name_ok(v))
			return parse_error(p,
					   "LUN %u: invalid backstore name '%s': expected 1 to "
					   "64 characters of A-Z, a-z, 0-9, '.', '_', '-'",
					   number, v);
		opts->name = v;
	} else if ((v = startswith(o, "alua="))) {
		if (opts->alua)
			return parse_error(p, "LUN %u: 'alua=' given twice", number);
		if (!tm_syntax_alua_group_name_ok(v))
			return parse_error(p, "LUN %u: invalid ALUA group '%s': " ALUA_NAME_RULE,
					   number, v);
		opts->alua = v;
	} else if ((v = startswith(o, "type="))) {
		if (opts->type >= 0)
			return parse_error(p, "LUN %u: 'type=' given twice", number);
		if (streq(v, "iblock"))
			opts->type = TM_BACKSTORE_IBLOCK;
		else if (streq(v, "fileio"))
			opts->type = TM_BACKSTORE_FILEIO;
		else
			return parse_error(p,
					   "LUN %u: invalid type '%s': expected iblock or "
					   "fileio",
					   number, v);
	} else if ((v = startswith(o, "attribute."))) {
		_cleanup_free_ char *name = NULL, *path = NULL;
		const char *eq = strchr(v, '=');

		if (!eq || eq[1] == '\0')
			return parse_error(p, "LUN %u: expected 'attribute.NAME=VALUE'", number);
		name = strndup(v, (size_t)(eq - v));
		if (!name)
			return -ENOMEM;
		if (!tm_syntax_setting_name_ok(name))
			return parse_error(p,
					   "LUN %u: invalid attribute name '%s': expected "
					   "letters, digits and '_'",
					   number, name);
		path = tm_strdupf("attrib/%s", name);
		if (!path)
			return -ENOMEM;
		if (tm_settings_find(&opts->attributes, path))
			return parse_error(p, "LUN %u: 'attribute.%s' given twice", number, name);
		return tm_settings_set(&opts->attributes, path, eq + 1, false, here(p));
	} else {
		static const char *const options[] = {"size=",   "ro",           "readonly",
						      "serial=", "name=",        "type=",
						      "nullio",  "allow-in-use", "write-through",
						      "vendor=", "product=",     "reservations=",
						      "alua=",   "attribute."};
		size_t n = strcspn(o, "=");
		_cleanup_free_ char *word = tm_strdupf("%.*s%s", (int)n, o, o[n] ? "=" : "");
		const char *hint =
		    word ? tm_syntax_closest(word, options, ELEMENTSOF(options)) : NULL;

		if (!word)
			return -ENOMEM;
		if (hint)
			return parse_error(p, "LUN %u: unknown option '%s': did you mean '%s'?",
					   number, word, hint);
		return parse_error(p,
				   "LUN %u: unknown option '%s': expected size=, ro, "
				   "serial=, name=, type=, nullio, allow-in-use, write-through, "
				   "vendor=, product=, reservations=, alua= or attribute.NAME=",
				   number, word);
	}
	return 0;
}

/* "lun N = PATH|ramdisk [OPTION...]": a backstore and a LUN, complete at once. */
static int parse_lun(struct parser *p, struct pending_target *pt, const char *arg,
		     const char *value)
{
	struct tm_target *t = &p->config->targets[pt->index];
	_cleanup_free_ char *copy = NULL, *name = NULL, *serial = NULL, *hba = NULL, *path = NULL,
			    *lun_hba = NULL, *lun_name = NULL;
	struct lun_options opts = {.type = -1};
	size_t errors = p->diags->n_errors;
	struct tm_settings settings = {0};
	enum tm_backstore_type type;
	struct tm_backstore *b, declared;
	struct tm_lun *l;
	const char *target, *why;
	char *state = NULL;
	unsigned number;
	int r;

	arg += strspn(arg, TM_SYNTAX_BLANKS);
	r = tm_syntax_parse_unsigned(arg, TM_SYNTAX_LUN_MAX, &number);
	if (r < 0)
		return parse_error(p, "expected 'lun N' with N from 0 to %u", TM_SYNTAX_LUN_MAX);

	copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	target = strtok_r(copy, TM_SYNTAX_BLANKS, &state);
	if (!target || (!streq(target, "ramdisk") && target[0] != '/'))
		return parse_error(p, "LUN %u: expected an absolute path or 'ramdisk'", number);
	if (!streq(target, "ramdisk") && (why = tm_syntax_lun_path_invalid(target)))
		return parse_error(p, "LUN %u: invalid path: %s", number, why);
	for (char *o = strtok_r(NULL, TM_SYNTAX_BLANKS, &state); o;
	     o = strtok_r(NULL, TM_SYNTAX_BLANKS, &state)) {
		r = parse_lun_option(p, number, o, &opts);
		if (r < 0)
			goto finish;
		if (p->diags->n_errors > errors) {
			/* One message per line is enough, and a LUN with a bad option is
			   left out rather than guessed at. */
			r = 0;
			goto finish;
		}
	}

	if (streq(target, "ramdisk")) {
		if (opts.type >= 0) {
			r = parse_error(p, "LUN %u: 'type=' does not apply to ramdisk", number);
			goto finish;
		}
		type = TM_BACKSTORE_RAMDISK;
	} else {
		type = opts.type >= 0 ? (enum tm_backstore_type)opts.type
				      : tm_syntax_type_from_path(target);
		/* For iblock, verify says why; a fileio below /dev/ would be created as a
		   regular file there. */
		if (type == TM_BACKSTORE_FILEIO && opts.has_size &&
		    !tm_syntax_size_applies(type, target)) {
			r = parse_error(p,
					"LUN %u: size= does not apply to %s: a path below /dev/ is "
					"never created",
					number, target);
			goto finish;
		}
		if (opts.write_through && type != TM_BACKSTORE_FILEIO) {
			r = parse_error(p,
					"LUN %u: write-through applies to files (fileio): a block "
					"device reports its own write cache",
					number);
			goto finish;
		}
		path = strdup(target);
		if (!path) {
			r = -ENOMEM;
			goto finish;
		}
	}

	if (opts.has_size && opts.size > tm_syntax_size_max(type)) {
		char size[32], max[32];

		tm_format_size(opts.size, size, sizeof(size));
		tm_format_size(tm_syntax_size_max(type), max, sizeof(max));
		r = parse_error(p, "LUN %u: size %s is more than a %s holds (at most %s)", number,
				size,
				type == TM_BACKSTORE_RAMDISK ? "RAM disk (2^32 - 1 pages of 4 KiB)"
							     : "file (off_t)",
				max);
		goto finish;
	}

	name = opts.name ? strdup(opts.name) : tm_default_backstore_name(t->iqn, number);
	if (!name) {
		r = -ENOMEM;
		goto finish;
	}
	serial = opts.serial ? strdup(opts.serial) : tm_default_serial(name);
	hba = tm_backstore_hba(type, name);
	lun_hba = hba ? strdup(hba) : NULL;
	lun_name = strdup(name);
	if (!serial || !lun_hba || !lun_name) {
		r = -ENOMEM;
		goto finish;
	}

	r = tm_settings_set(&settings, "wwn/vpd_unit_serial", serial, false, here(p));
	for (size_t i = 0; r >= 0 && i < opts.attributes.n; i++)
		r = tm_settings_set(&settings, opts.attributes.v[i].path,
				    opts.attributes.v[i].value, false, here(p));
	if (r >= 0)
		r = tm_policy_backstore_settings(&settings, type, here(p));
	if (r >= 0)
		r = tm_policy_enable(&settings, here(p));
	if (r < 0)
		goto finish;

	declared = (struct tm_backstore){
	    .type = type,
	    .hba = hba,
	    .name = name,
	    .path = path,
	    .size = opts.size,
	    .readonly = opts.ro && type == TM_BACKSTORE_IBLOCK,
	    .nullio = opts.nullio,
	    .write_through = opts.write_through,
	    .allow_in_use = opts.allow_in_use,
	    .serial = serial,
	    .settings = settings,
	    .origin = here(p),
	};
	/* The same name= and storage on another line (of this target or another): one
	   backstore behind both LUNs, so one identity (serial, NAA, reservations). */
	b = opts.name ? tm_config_find_backstore(p->config, hba, name) : NULL;
	if (!b || !tm_backstore_same(b, &declared)) {
		b = TM_PUSH(p->config->backstores, p->config->n_backstores);
		if (!b) {
			r = -ENOMEM;
			goto finish;
		}
		*b = declared;
		hba = name = path = serial = NULL;
		settings = (struct tm_settings){0};
	}

	l = TM_PUSH(t->luns, t->n_luns);
	if (!l) {
		r = -ENOMEM;
		goto finish;
	}
	*l = (struct tm_lun){
	    .number = number,
	    .backstore_hba = TAKE_PTR(lun_hba),
	    .backstore_name = TAKE_PTR(lun_name),
	    .readonly = opts.ro,
	    .origin = here(p),
	};
	r = opts.alua
		? tm_settings_set(&l->settings, TM_LAYOUT_LUN_ALUA_GROUP, opts.alua, false, here(p))
		: 0;
finish:
	tm_settings_clear(&opts.attributes);
	tm_settings_clear(&settings);
	return r;
}

static int parse_portal(struct parser *p, struct pending_target *pt, const char *value)
{
	struct tm_target *t = &p->config->targets[pt->index];
	_cleanup_free_ char *copy = NULL;
	const char *reason = NULL;
	struct tm_portal *portal;
	char *words[1], *address = NULL;
	int r;

	copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	if (tm_syntax_split_words(copy, words, 1) != 1)
		return parse_error(p, "expected 'portal = ADDRESS[:PORT]'");
	r = tm_syntax_portal_normalize(words[0], &address, &reason);
	if (r == -EINVAL)
		return parse_error(p, "invalid portal '%s': %s", words[0], reason);
	if (r < 0)
		return r;
	portal = TM_PUSH(t->portals, t->n_portals);
	if (!portal) {
		free(address);
		return -ENOMEM;
	}
	portal->address = address;
	portal->origin = here(p);
	return 0;
}

/* One ACL in the model and its pending twin, at the same index. */
static int add_acl(struct parser *p, struct pending_target *pt, const char *initiator)
{
	struct tm_target *t = &p->config->targets[pt->index];
	char *name = strdup(initiator);
	struct tm_acl *a;

	if (!name)
		return -ENOMEM;
	if (!TM_PUSH(pt->acls, pt->n_acls)) {
		free(name);
		return -ENOMEM;
	}
	a = TM_PUSH(t->acls, t->n_acls);
	if (!a) {
		free(name);
		pending_acl_done(&pt->acls[--pt->n_acls]);
		return -ENOMEM;
	}
	a->initiator = name;
	a->origin = here(p);
	return 0;
}

static int parse_initiators(struct parser *p, struct pending_target *pt, const char *value)
{
	_cleanup_free_ char *copy = strdup(value);
	char *state = NULL;
	int r;

	if (!copy)
		return -ENOMEM;
	for (char *w = strtok_r(copy, TM_SYNTAX_BLANKS, &state); w;
	     w = strtok_r(NULL, TM_SYNTAX_BLANKS, &state)) {
		r = add_acl(p, pt, w);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_luns(struct parser *p, struct pending_acl *a, const char *value)
{
	_cleanup_free_ char *copy = strdup(value);
	char *state = NULL;
	unsigned number;

	if (!copy)
		return -ENOMEM;
	if (a->luns_origin.line)
		return parse_error(p, "'luns' already set at %s:%u", a->luns_origin.file,
				   a->luns_origin.line);
	for (char *w = strtok_r(copy, TM_SYNTAX_BLANKS, &state); w;
	     w = strtok_r(NULL, TM_SYNTAX_BLANKS, &state)) {
		unsigned *slot;

		if (tm_syntax_parse_unsigned(w, TM_SYNTAX_LUN_MAX, &number) < 0)
			return parse_error(p, "invalid LUN number '%s': expected 0 to %u", w,
					   TM_SYNTAX_LUN_MAX);
		for (size_t i = 0; i < a->n_luns; i++)
			if (a->luns[i] == number)
				return parse_error(p, "LUN %u listed twice", number);
		slot = TM_PUSH(a->luns, a->n_luns);
		if (!slot)
			return -ENOMEM;
		*slot = number;
	}
	a->luns_origin = here(p);
	return 0;
}

static int unknown_key(struct parser *p, const char *key, const char *section)
{
	static const char *const target_keys[] = {"lun", "portal", "initiator", "chap",
						  "mutual-chap"};
	static const char *const initiator_keys[] = {"luns", "chap", "mutual-chap"};
	const char *hint = tm_syntax_tgt_hint(key);
	_cleanup_free_ char *word = strndup(key, strcspn(key, TM_SYNTAX_BLANKS "."));

	if (hint)
		return parse_error(p, "unknown key '%s' in [%s]: use %s", key, section, hint);
	if (!word)
		return -ENOMEM;
	/* Only the first word is compared and echoed: the rest may be a mistyped secret. */
	if (streq(word, "attribute") || streq(word, "parameter"))
		hint = NULL;
	else if (streq(section, "target"))
		hint = tm_syntax_closest(word, target_keys, ELEMENTSOF(target_keys));
	else
		hint = tm_syntax_closest(word, initiator_keys + streq(section, "discovery"),
					 ELEMENTSOF(initiator_keys) - streq(section, "discovery"));
	if (!hint && strchr(key, '.')) {
		static const char *const prefixes[] = {"attribute", "parameter"};
		hint = tm_syntax_closest(word, prefixes, ELEMENTSOF(prefixes));
		if (hint && streq(section, "discovery"))
			hint = NULL;
	}
	if (hint) {
		_cleanup_free_ char *suffix =
		    tm_strdupf(" in [%s]: did you mean '%s'?", section, hint);
		return suffix ? key_error(p, "unknown key ", key, suffix) : -ENOMEM;
	}
	return key_error(
	    p, "unknown key ", key,
	    streq(section, "target") ? " in [target]: expected lun N, portal, initiator, chap, "
				       "mutual-chap, attribute.NAME or parameter.NAME"
	    : streq(section, "initiator") ? " in [initiator]: expected luns, chap, mutual-chap or "
					    "attribute.NAME"
					  : " in [discovery]: expected chap or mutual-chap");
}

static int parse_target_key(struct parser *p, const char *key, const char *value)
{
	struct pending_target *pt = &p->targets[p->n_targets - 1];
	const char *s;

	s = startswith(key, "lun");
	if (s && s[0] != '\0' && strchr(TM_SYNTAX_BLANKS, s[0]))
		return parse_lun(p, pt, s, value);
	if (streq(key, "portal"))
		return parse_portal(p, pt, value);
	if (streq(key, "initiator"))
		return parse_initiators(p, pt, value);
	if (streq(key, "chap"))
		return parse_chap(p, key, value, &pt->chap);
	if (streq(key, "mutual-chap"))
		return parse_chap(p, key, value, &pt->mutual);
	if ((s = startswith(key, "attribute.")))
		return parse_passthrough(p, key, s, "attrib/", value, &pt->passthrough);
	if ((s = startswith(key, "parameter.")))
		return parse_passthrough(p, key, s, "param/", value, &pt->passthrough);
	return unknown_key(p, key, "target");
}

static int parse_initiator_key(struct parser *p, const char *key, const char *value)
{
	struct pending_acl *a = &p->targets[p->n_targets - 1].acls[p->acl];
	const char *s;

	if (streq(key, "luns"))
		return parse_luns(p, a, value);
	if (streq(key, "chap"))
		return parse_chap(p, key, value, &a->chap);
	if (streq(key, "mutual-chap"))
		return parse_chap(p, key, value, &a->mutual);
	if ((s = startswith(key, "attribute.")))
		return parse_passthrough(p, key, s, "attrib/", value, &a->attributes);
	return unknown_key(p, key, "initiator");
}

static int parse_discovery_key(struct parser *p, const char *key, const char *value)
{
	if (streq(key, "chap"))
		return parse_chap(p, key, value, &p->discovery_chap);
	if (streq(key, "mutual-chap"))
		return parse_chap(p, key, value, &p->discovery_mutual);
	return unknown_key(p, key, "discovery");
}

/* ---- [alua NAME] ------------------------------------------------------------------------ */

static int start_alua(struct parser *p, const char *name)
{
	const struct tm_alua_group *other = tm_alua_find_declared(p->config, name);
	struct tm_alua_group *g;

	if (!tm_syntax_alua_group_name_ok(name))
		return parse_error(p, "invalid ALUA group '%s': " ALUA_NAME_RULE, name);
	if (other)
		return parse_error(p, "ALUA group '%s' already declared at %s:%u", name,
				   other->origin.file, other->origin.line);
	g = TM_PUSH(p->config->alua_groups, p->config->n_alua_groups);
	if (!g)
		return -ENOMEM;
	g->name = strdup(name);
	if (!g->name) {
		p->config->n_alua_groups--;
		return -ENOMEM;
	}
	g->origin = here(p);
	p->section = SECTION_ALUA;
	return 0;
}

static int parse_alua_key(struct parser *p, const char *key, const char *value)
{
	struct tm_alua_group *g = &p->config->alua_groups[p->config->n_alua_groups - 1];
	const struct tm_setting *type;
	const char *path = NULL, *v = NULL;
	int r;

	if (streq(key, "state")) {
		path = TM_LAYOUT_ALUA_STATE;
		v = tm_syntax_alua_state_value(value);
		if (!v)
			return parse_error(p,
					   "unknown ALUA state '%s': expected active/optimized, "
					   "active/non-optimized, standby, unavailable or offline",
					   value);
	} else if (streq(key, "type")) {
		path = TM_LAYOUT_ALUA_TYPE;
		v = tm_syntax_alua_type_value(value);
		if (!v)
			return parse_error(p,
					   "unknown ALUA type '%s': expected implicit, explicit or "
					   "both",
					   value);
	} else if (streq(key, "preferred")) {
		path = TM_LAYOUT_ALUA_PREFERRED;
		v = streq(value, "yes") ? "1" : streq(value, "no") ? "0" : NULL;
		if (!v)
			return parse_error(p, "expected 'preferred = yes' or 'no'");
	} else if (streq(key, "id")) {
		unsigned id;

		if (g->id)
			return parse_error(p, "'id' given twice");
		if (tm_syntax_parse_unsigned(value, TM_SYNTAX_ALUA_ID_MAX, &id) < 0 || id == 0)
			return parse_error(p, "invalid ALUA group id '%s': expected 1 to %u", value,
					   TM_SYNTAX_ALUA_ID_MAX);
		for (size_t i = 0; i + 1 < p->config->n_alua_groups; i++)
			if (p->config->alua_groups[i].id == id)
				return parse_error(p,
						   "ALUA group id %u already used by [alua %s] "
						   "at %s:%u",
						   id, p->config->alua_groups[i].name,
						   p->config->alua_groups[i].origin.file,
						   p->config->alua_groups[i].origin.line);
		g->id = id;
		return 0;
	} else {
		static const char *const keys[] = {"state", "type", "preferred", "id"};
		const char *hint = tm_syntax_closest(key, keys, ELEMENTSOF(keys));

		_cleanup_free_ char *suffix =
		    hint ? tm_strdupf(" in [alua]: did you mean '%s'?", hint) : NULL;

		if (hint && !suffix)
			return -ENOMEM;
		return key_error(p, "unknown key ", key,
				 suffix ?: " in [alua]: expected state, type, preferred or id");
	}
	if (tm_settings_find(&g->settings, path))
		return parse_error(p, "'%s' given twice", key);
	r = tm_settings_set(&g->settings, path, v, false, here(p));
	if (r < 0)
		return r;
	type = tm_settings_find(&g->settings, TM_LAYOUT_ALUA_TYPE);
	if (type && tm_settings_find(&g->settings, TM_LAYOUT_ALUA_STATE) &&
	    !tm_policy_alua_implicit(type->value))
		return parse_error(p,
				   "ALUA group '%s': no 'state' with 'type = explicit': the "
				   "initiators set the state then",
				   g->name);
	return 0;
}

static int handler(void *user, const char *section _unused_, const char *key, const char *value)
{
	struct parser *p = user;
	int r = 0;

	/* inih's section name is ignored: it truncates long ones.  Ours is exact. */
	if (p->error < 0 || p->section == SECTION_INVALID)
		return 1;
	if (!key || !*key)
		r = parse_error(p, "missing key before '='");
	else if (p->section == SECTION_NONE)
		r = key_error(p, "", key,
			      " is outside of any section: put it below a [target NAME], "
			      "[initiator NAME] or [discovery] line");
	else if (!value || !*value)
		r = key_error(p, "missing value for ", key, "");
	else if (p->section == SECTION_TARGET)
		r = parse_target_key(p, key, value);
	else if (p->section == SECTION_INITIATOR)
		r = parse_initiator_key(p, key, value);
	else if (p->section == SECTION_ALUA)
		r = parse_alua_key(p, key, value);
	else
		r = parse_discovery_key(p, key, value);
	if (r < 0)
		p->error = r;
	return 1;
}

/* ---- lines and sections ------------------------------------------------------------------ */

static int start_target(struct parser *p, const char *iqn)
{
	struct pending_target *pt;
	struct tm_target *t;
	char *name;

	name = strdup(iqn);
	if (!name)
		return -ENOMEM;
	pt = TM_PUSH(p->targets, p->n_targets);
	if (!pt) {
		free(name);
		return -ENOMEM;
	}
	t = TM_PUSH(p->config->targets, p->config->n_targets);
	if (!t) {
		free(name);
		p->n_targets--;
		return -ENOMEM;
	}
	t->iqn = name;
	t->tpgt = 1;
	t->origin = here(p);
	pt->index = p->config->n_targets - 1;
	p->section = SECTION_TARGET;
	p->target_invalid = false;
	return 0;
}

static int start_initiator(struct parser *p, const char *iqn)
{
	struct pending_target *pt;
	int r;

	if (p->target_invalid)
		return 0; /* its [target] line was reported; stay SECTION_INVALID */
	if (p->n_targets == 0)
		return parse_error(p, "[initiator] section without a [target] section above it "
				      "in this file");
	pt = &p->targets[p->n_targets - 1];
	r = add_acl(p, pt, iqn);
	if (r < 0)
		return r;
	p->acl = pt->n_acls - 1;
	p->section = SECTION_INITIATOR;
	return 0;
}

static int parse_section(struct parser *p, const char *s)
{
	_cleanup_free_ char *content = NULL;
	const char *end, *rest;
	char *words[2];
	size_t n;

	p->section = SECTION_INVALID;
	end = strchr(s, ']');
	if (!end)
		return parse_error(p, "expected ']' at the end of the section header");
	rest = end + 1 + strspn(end + 1, TM_SYNTAX_BLANKS);
	if (*rest && *rest != ';' && *rest != '#')
		return parse_error(p, "unexpected text after ']'");
	content = strndup(s + 1, (size_t)(end - s - 1));
	if (!content)
		return -ENOMEM;
	n = tm_syntax_split_words(content, words, 2);
	if (n == 0)
		return parse_error(p, "empty section header: expected [target NAME], "
				      "[initiator NAME] or [discovery]");
	if (streq(words[0], "target")) {
		p->target_invalid = true;
		if (n != 2)
			return parse_error(p, "expected [target NAME]");
		return start_target(p, words[1]);
	}
	if (streq(words[0], "initiator")) {
		if (n != 2)
			return parse_error(p, "expected [initiator NAME]");
		return start_initiator(p, words[1]);
	}
	if (streq(words[0], "alua")) {
		if (n != 2)
			return parse_error(p, "expected [alua NAME]");
		return start_alua(p, words[1]);
	}
	if (streq(words[0], "discovery")) {
		if (n != 1)
			return parse_error(p, "expected [discovery] without a name");
		p->section = SECTION_DISCOVERY;
		return 0;
	}
	{
		static const char *const sections[] = {"target", "initiator", "discovery", "alua"};
		const char *hint = tm_syntax_closest(words[0], sections, ELEMENTSOF(sections));

		if (hint)
			return parse_error(p, "unknown section [%s]: did you mean [%s]?", words[0],
					   hint);
	}
	return parse_error(p,
			   "unknown section [%s]: expected [target NAME], [initiator NAME], "
			   "[alua NAME] or [discovery]",
			   words[0]);
}

/* A line in the syntax of tgt's targets.conf, "<target NAME>" or "tgt-key value": says what
   to write instead.  Returns 0 if it is not one, 1 if diagnosed. */
static int tgt_line_error(struct parser *p, const char *s)
{
	_cleanup_free_ char *word = strndup(s, strcspn(s, TM_SYNTAX_BLANKS));
	const char *hint;
	int r;

	if (!word)
		return -ENOMEM;
	if (startswith(s, "</"))
		r = parse_error(p, "tgt syntax: no closing line is needed after [target NAME]");
	else if (*s == '<')
		r = parse_error(p, "tgt syntax: write [target NAME] instead of <target NAME>");
	else if (!streq(word, "lun") && (hint = tm_syntax_tgt_hint(word)))
		r = parse_error(p, "tgt syntax: write %s", hint);
	else
		return 0;
	return r < 0 ? r : 1;
}

/* Returns 1 to pass the line to inih, 0 to pass an empty line instead (a section header, or
   a line already diagnosed), negative errno on fatal errors. */
static int check_line(struct parser *p, const char *s)
{
	int r;

	if (*s == '\0' || tm_syntax_comment_line(s, strlen(s)))
		return 1;
	if (*s == '[') {
		r = parse_section(p, s);
		return r < 0 ? r : 0;
	}
	r = tgt_line_error(p, s);
	if (r != 0)
		return r < 0 ? r : 0;
	if (!tm_syntax_key_end(s)) {
		r = parse_error(p, "expected 'KEY = VALUE', a [section] line or a comment");
		return r < 0 ? r : 0;
	}
	return 1;
}

/* 1 with a line (without its newline), 0 at the end. */
static int next_line(struct parser *p, const char **ret, size_t *len)
{
	const char *nl;

	if (p->text >= p->text_end)
		return 0;
	nl = memchr(p->text, '\n', (size_t)(p->text_end - p->text));
	*ret = p->text;
	*len = (size_t)((nl ? nl : p->text_end) - p->text);
	p->text += *len + (nl != NULL);
	return 1;
}

static char *reader(char *str, int num, void *stream)
{
	struct parser *p = stream;
	/* inih's buffer holds TM_SYNTAX_LINE_MAX characters and a NUL. */
	size_t len, max = num > 0 ? (size_t)num - 1 : 0;
	const char *line, *bad;
	int r;

	if (max > TM_SYNTAX_LINE_MAX)
		max = TM_SYNTAX_LINE_MAX;
	if (p->error < 0)
		return NULL;
	if (p->diags->n_errors - p->errors_before >= TM_PARSE_ERRORS_MAX) {
		/* A file of garbage gets a bounded number of messages, and is not read on. */
		if (!p->stopped && parse_error(p,
					       "too many errors (%u); the rest of the file is "
					       "not read",
					       TM_PARSE_ERRORS_MAX) < 0) {
			p->error = -ENOMEM;
			return NULL;
		}
		p->stopped = true;
		return NULL;
	}
	r = next_line(p, &line, &len);
	if (r <= 0) {
		p->error = r;
		return NULL;
	}
	p->line++;
	str[0] = '\0';

	if (p->line == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
		line += 3;
		len -= 3;
	}
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (memchr(line, '\0', len))
		r = parse_error(p, "line contains a NUL byte");
	else if ((bad = tm_syntax_find_control(line, len)) && !tm_syntax_comment_line(line, len))
		/* Whatever a line says could not be written back (save refuses them too). */
		r = parse_error(p, "line contains a control character (byte 0x%02x)",
				(unsigned)(unsigned char)*bad);
	else if (len > max) {
		/* inih would split it silently.  A lost section header must not leave its
		   keys to the section above. */
		const char *s = line + strspn(line, TM_SYNTAX_BLANKS);
		if (*s == '[') {
			p->section = SECTION_INVALID;
			p->target_invalid = true;
		}
		r = parse_error(p, "line longer than %zu characters", max);
	} else {
		while (len > 0 && isspace((unsigned char)*line)) {
			line++;
			len--;
		}
		memcpy(str, line, len);
		str[len] = '\0';
		r = check_line(p, str);
		if (r > 0)
			return str;
		str[0] = '\0';
	}
	if (r < 0) {
		p->error = r;
		return NULL;
	}
	return str;
}

/* ---- finalize ---------------------------------------------------------------------------- */

/* One set of credentials as LIO's settings (see tm_policy_chap_path()). */
static int add_credential(struct tm_settings *s, const char *prefix, bool mutual,
			  const struct chap *c)
{
	_cleanup_free_ char *user = tm_policy_chap_path(prefix, mutual, false);
	_cleanup_free_ char *secret = tm_policy_chap_path(prefix, mutual, true);
	int r;

	if (!c || !c->secret)
		return 0;
	if (!user || !secret)
		return -ENOMEM;
	r = tm_settings_set(s, user, c->user, false, c->origin);
	if (r >= 0)
		r = tm_settings_set(s, secret, c->secret, true, c->origin);
	if (r >= 0)
		tm_settings_find(s, secret)->secret_file = c->file;
	return r;
}

static int add_chap_settings(struct tm_settings *s, const char *prefix, const struct chap *chap,
			     const struct chap *mutual)
{
	int r = add_credential(s, prefix, false, chap);
	return r < 0 ? r : add_credential(s, prefix, true, mutual);
}

static int add_mapped_lun(struct tm_acl *a, const struct tm_target *t, unsigned number,
			  struct tm_origin origin)
{
	const struct tm_lun *l = tm_target_find_lun(t, number);
	struct tm_mapped_lun *m;

	if (tm_acl_find_mapped_lun(a, number))
		return 0; /* a LUN declared twice: verify reports it */
	m = TM_PUSH(a->mapped_luns, a->n_mapped_luns);
	if (!m)
		return -ENOMEM;
	m->number = number;
	m->lun = number;
	m->origin = origin;
	return tm_settings_set(&m->settings, "write_protect",
			       tm_policy_write_protect(l && l->readonly), false, origin);
}

static int finalize_acl(const struct pending_target *pt, struct tm_target *t, struct tm_acl *a,
			const struct pending_acl *pa)
{
	const struct chap *chap = pa->chap.origin.line ? &pa->chap : &pt->chap;
	const struct chap *mutual = pa->mutual.origin.line ? &pa->mutual : &pt->mutual;
	int r;

	if (pa->luns_origin.line)
		for (size_t i = 0; i < pa->n_luns; i++) {
			r = add_mapped_lun(a, t, pa->luns[i], pa->luns_origin);
			if (r < 0)
				return r;
		}
	else
		for (size_t i = 0; i < t->n_luns; i++) {
			r = add_mapped_lun(a, t, t->luns[i].number, a->origin);
			if (r < 0)
				return r;
		}

	r = add_chap_settings(&a->settings, "auth/", chap, mutual);
	if (r < 0)
		return r;
	for (size_t i = 0; i < pa->attributes.n; i++) {
		const struct tm_setting *s = &pa->attributes.v[i];
		r = tm_settings_set(&a->settings, s->path, s->value, false, s->origin);
		if (r < 0)
			return r;
	}
	return 0;
}

static int finalize_target(struct parser *p, const struct pending_target *pt)
{
	struct tm_target *t = &p->config->targets[pt->index];
	struct tm_settings *s = &t->settings;
	struct tm_origin o = t->origin;
	bool open = t->n_acls == 0, auth = false;
	int r;

	if (t->n_portals == 0) {
		struct tm_portal *portal = TM_PUSH(t->portals, t->n_portals);
		if (!portal)
			return -ENOMEM;
		portal->address = strdup(TM_POLICY_DEFAULT_PORTAL);
		if (!portal->address)
			return -ENOMEM;
		portal->origin = o;
	}

	for (size_t i = 0; i < t->n_acls; i++) {
		r = finalize_acl(pt, t, &t->acls[i], &pt->acls[i]);
		if (r < 0)
			return r;
		if (tm_settings_find(&t->acls[i].settings, "auth/userid"))
			auth = true;
	}

	if (open)
		auth = pt->chap.secret;
	r = tm_policy_tpg_settings(s, open, auth, o, open && pt->chap.secret ? pt->chap.origin : o);
	if (r < 0)
		return r;
	/* The TPG's own credentials only apply to initiators without an ACL (demo mode). */
	if (open) {
		r = add_chap_settings(s, "auth/", &pt->chap, &pt->mutual);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < pt->passthrough.n; i++) {
		const struct tm_setting *e = &pt->passthrough.v[i];
		r = tm_settings_set(s, e->path, e->value, false, e->origin);
		if (r < 0)
			return r;
	}
	return tm_policy_enable(s, o);
}

static int finalize_discovery(struct parser *p)
{
	struct tm_settings *s = &p->config->discovery;
	const struct chap *chap = &p->discovery_chap, *mutual = &p->discovery_mutual;
	int r;

	if (!chap->secret && !mutual->secret)
		return 0;
	if (s->n > 0) {
		const struct tm_origin *first = &s->v[0].origin;
		return diag(p, TM_ERROR, chap->secret ? chap->origin.line : mutual->origin.line,
			    "discovery CHAP already declared at %s:%u", first->file, first->line);
	}
	/* A mutual-chap without chap is kept, so that verify reports it. */
	r = add_chap_settings(s, "", chap, mutual);
	if (r < 0)
		return r;
	if (!chap->secret)
		return 0;
	return tm_settings_set(s, TM_POLICY_DISCOVERY_ENFORCE, "1", false, chap->origin);
}

/* This file's [alua] sections get the defaults of the keys they left out. */
static int finalize_alua(struct parser *p)
{
	for (size_t i = p->alua_first; i < p->config->n_alua_groups; i++) {
		struct tm_alua_group *g = &p->config->alua_groups[i];
		int r = tm_policy_alua_settings(&g->settings, g->origin);
		if (r < 0)
			return r;
	}
	return 0;
}

static int finalize(struct parser *p)
{
	int r;

	r = finalize_alua(p);
	if (r < 0)
		return r;

	for (size_t i = 0; i < p->n_targets; i++) {
		r = finalize_target(p, &p->targets[i]);
		if (r < 0)
			return r;
	}
	return finalize_discovery(p);
}

/* ---- entry points ------------------------------------------------------------------------ */

static bool has_error_at(const struct tm_diags *d, const char *file, unsigned line)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].severity == TM_ERROR && d->v[i].line == line &&
		    streq_ptr(d->v[i].file, file))
			return true;
	return false;
}

static int parse_source(const char *name, const char *text, size_t len, struct tm_config *config,
			struct tm_diags *diags)
{
	_cleanup_(parser_done) struct parser p = {
	    .config = config,
	    .diags = diags,
	    .text = text,
	    .text_end = text + len,
	    .errors_before = diags->n_errors,
	    .alua_first = config->n_alua_groups,
	};
	int r, k;

	p.file = tm_config_intern_file(config, name);
	if (!p.file)
		return -ENOMEM;

	r = ini_parse_stream(reader, &p, handler, &p);
	if (p.error == -ENOMEM || r == -2)
		return -ENOMEM;
	if (r > 0 && !has_error_at(diags, p.file, (unsigned)r)) {
		/* Our own line check should have caught it; keep inih's word as a fallback. */
		k = diag(&p, TM_ERROR, (unsigned)r, "syntax error");
		if (k < 0)
			return k;
	}
	k = finalize(&p);
	if (k < 0)
		return k;
	/* Extends the indexes by what this source appended. */
	k = tm_config_index(config);
	if (k < 0)
		return k;
	return p.error;
}

/* What needs every file: the [alua] sections' groups go where the LUNs in them are. */
static int parse_done(int r, struct tm_config *config, struct tm_diags *diags)
{
	int k;

	if (r == -ENOMEM)
		return r;
	k = tm_alua_expand(config, diags);
	return k < 0 ? k : r;
}

int tm_parse_string(const char *name, const char *text, struct tm_config *config,
		    struct tm_diags *diags)
{
	return parse_done(parse_source(name, text, strlen(text), config, diags), config, diags);
}

/* Why a file cannot be read as a target file, from tm_read_file_bounded()'s answer. */
static int file_error(const char *path, int r, const struct stat *st, struct tm_diags *diags)
{
	struct stat lst;
	int k;

	if (r == -ENOENT && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode))
		k = tm_diag_add(
		    diags, TM_ERROR, path, 0,
		    "cannot open: a dangling symbolic link (its target does not exist)");
	else if (r == -ELOOP)
		k = tm_diag_add(diags, TM_ERROR, path, 0, "cannot open: a loop of symbolic links");
	else if (r == -ENODEV || (r == -ENXIO && stat(path, &lst) == 0))
		/* ENXIO: a socket, which open() refuses. */
		k = tm_diag_add(diags, TM_ERROR, path, 0, "cannot read: %s, not a regular file",
				tm_file_type_name(r == -ENODEV ? st->st_mode : lst.st_mode));
	else if (r == -EFBIG)
		k = tm_diag_add(diags, TM_ERROR, path, 0,
				"cannot read: larger than %u MiB, more than a target file holds",
				TM_PARSE_FILE_MAX >> 20);
	else
		k = tm_diag_add(diags, TM_ERROR, path, 0, "cannot open: %s", strerror(-r));
	return k < 0 ? -ENOMEM : r;
}

static int parse_file(const char *path, struct tm_config *config, struct tm_diags *diags)
{
	_cleanup_free_ char *text = NULL;
	struct stat st = {0};
	size_t len;
	int r;

	r = tm_read_file_bounded(AT_FDCWD, path, TM_PARSE_FILE_MAX, &text, &len, &st);
	if (r < 0)
		return r == -ENOMEM ? r : file_error(path, r, &st, diags);
	r = parse_source(path, text, len, config, diags);
	/* The text may hold CHAP secrets. */
	explicit_bzero(text, len);
	return r;
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static void strv_freep(char ***v)
{
	if (*v)
		for (char **s = *v; *s; s++)
			free(*s);
	free(*v);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Entries named "*.conf" but directories, not hidden, sorted by name. */
static int list_conf_files(const char *dir, char ***ret, size_t *ret_n)
{
	_cleanup_(closedirp) DIR *d = NULL;
	_cleanup_(strv_freep) char **names = NULL;
	size_t n = 0;
	struct dirent *de;

	d = opendir(dir);
	if (!d)
		return -errno;
	names = calloc(1, sizeof(char *));
	if (!names)
		return -ENOMEM;
	for (errno = 0; (de = readdir(d)); errno = 0) {
		size_t l = strlen(de->d_name);
		struct stat st;
		char **v;

		if (de->d_name[0] == '.' || l < 5 || !streq(de->d_name + l - 5, ".conf"))
			continue;
		/* A subdirectory is not a file; anything else that fails to read as one
		   (a dangling symlink, a loop, a FIFO) is reported, not skipped. */
		if (fstatat(dirfd(d), de->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode))
			continue;
		v = realloc(names, (n + 2) * sizeof(char *));
		if (!v)
			return -ENOMEM;
		names = v;
		names[n] = strdup(de->d_name);
		names[n + 1] = NULL;
		if (!names[n])
			return -ENOMEM;
		n++;
	}
	if (errno > 0)
		return -errno;
	qsort(names, n, sizeof(char *), cmp_names);
	*ret = TAKE_PTR(names);
	*ret_n = n;
	return 0;
}

int tm_parse_path(const char *path, struct tm_config *config, struct tm_diags *diags)
{
	_cleanup_(strv_freep) char **names = NULL;
	struct stat st;
	size_t n = 0;
	int r, ret = 0;

	if (stat(path, &st) < 0)
		return file_error(path, -errno, &st, diags);
	if (!S_ISDIR(st.st_mode))
		return parse_done(parse_file(path, config, diags), config, diags);
	/* Listing the directory does not read the files: a FIFO in it cannot block. */

	r = list_conf_files(path, &names, &n);
	if (r < 0)
		return tm_diag_add(diags, TM_ERROR, path, 0, "cannot list directory: %s",
				   strerror(-r)) < 0
			   ? -ENOMEM
			   : r;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(path);
		_cleanup_free_ char *file =
		    tm_strdupf("%s%s%s", path, l > 0 && path[l - 1] == '/' ? "" : "/", names[i]);
		if (!file)
			return -ENOMEM;
		r = parse_file(file, config, diags);
		if (r == -ENOMEM)
			return r;
		if (r < 0 && ret == 0)
			ret = r;
	}
	return parse_done(ret, config, diags);
}
