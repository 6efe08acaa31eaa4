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
#include <linux/magic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/vfs.h>

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

/* ---- values written to the kernel -------------------------------------------------------- */

/*
 * What each attribute that a target file may set (attribute.NAME, parameter.NAME, a LUN's
 * attribute.NAME=) accepts, as LIO's store functions check it (Linux 6.1: target_core_configfs.c,
 * iscsi_target_configfs.c, iscsi_target_nodeattrib.c, iscsi_target_parameters.c): a number in
 * a range, one of a few words, a comma-separated list of them, or text.  A value LIO would
 * refuse fails `apply` half-way; one it would take but misread (a sign, a space, a control
 * character) must not reach it at all.
 */
enum value_kind {
	VALUE_NUMBER, /* decimal digits, min..max */
	VALUE_WORD,   /* one of words ("Yes|No") */
	VALUE_LIST,   /* comma-separated words */
	VALUE_RANGE,  /* "N~M", both in min..max (IFMarkInt) */
	VALUE_TEXT,   /* printable ASCII, blanks inside, 1 to max characters (TargetAlias) */
	VALUE_READ_ONLY,
};

struct value_rule {
	const char *name;
	enum value_kind kind;
	unsigned min, max;
	const char *words;
};

#define BOOL(n)                                                                                    \
	{                                                                                          \
		n, VALUE_NUMBER, 0, 1, NULL                                                        \
	}
#define NUMBER(n, lo, hi)                                                                          \
	{                                                                                          \
		n, VALUE_NUMBER, lo, hi, NULL                                                      \
	}
#define WORDS(n, w)                                                                                \
	{                                                                                          \
		n, VALUE_WORD, 0, 0, w                                                             \
	}
#define READ_ONLY(n)                                                                               \
	{                                                                                          \
		n, VALUE_READ_ONLY, 0, 0, NULL                                                     \
	}
#define SEGMENT_LENGTH(n) NUMBER(n, 512, 16777215)

static const struct value_rule backstore_attributes[] = {
    BOOL("emulate_model_alias"),
    BOOL("emulate_dpo"),
    BOOL("emulate_fua_write"),
    BOOL("emulate_fua_read"),
    BOOL("emulate_write_cache"),
    NUMBER("emulate_ua_intlck_ctrl", 0, 2),
    BOOL("emulate_tas"),
    BOOL("emulate_tpu"),
    BOOL("emulate_tpws"),
    BOOL("emulate_caw"),
    BOOL("emulate_3pc"),
    BOOL("emulate_pr"),
    BOOL("emulate_rsoc"),
    NUMBER("pi_prot_type", 0, 3),
    BOOL("pi_prot_format"),
    BOOL("pi_prot_verify"),
    BOOL("enforce_pr_isids"),
    BOOL("is_nonrot"),
    NUMBER("emulate_rest_reord", 0, 0),
    BOOL("force_pr_aptpl"),
    WORDS("block_size", "512|1024|2048|4096"),
    NUMBER("optimal_sectors", 0, UINT32_MAX),
    NUMBER("queue_depth", 1, UINT32_MAX),
    NUMBER("max_unmap_lba_count", 0, UINT32_MAX),
    NUMBER("max_unmap_block_desc_count", 0, UINT32_MAX),
    NUMBER("unmap_granularity", 0, UINT32_MAX),
    NUMBER("unmap_granularity_alignment", 0, UINT32_MAX),
    BOOL("unmap_zeroes_data"),
    NUMBER("max_write_same_len", 0, UINT32_MAX),
    READ_ONLY("hw_block_size"),
    READ_ONLY("hw_max_sectors"),
    READ_ONLY("hw_queue_depth"),
    READ_ONLY("hw_pi_prot_type"),
    READ_ONLY("alua_support"),
    READ_ONLY("pgr_support"),
};

static const struct value_rule tpg_attributes[] = {
    BOOL("authentication"),
    NUMBER("login_timeout", 5, 30),
    NUMBER("netif_timeout", 2, 15),
    BOOL("generate_node_acls"),
    NUMBER("default_cmdsn_depth", 1, 512),
    BOOL("cache_dynamic_acls"),
    BOOL("demo_mode_write_protect"),
    BOOL("prod_mode_write_protect"),
    BOOL("demo_mode_discovery"),
    NUMBER("default_erl", 0, 2),
    BOOL("t10_pi"),
    WORDS("fabric_prot_type", "0|1|3"),
    BOOL("tpg_enabled_sendtargets"),
    BOOL("login_keys_workaround"),
};

static const struct value_rule acl_attributes[] = {
    NUMBER("dataout_timeout", 2, 60),
    NUMBER("dataout_timeout_retries", 1, 15),
    NUMBER("default_erl", 0, 2),
    NUMBER("nopin_timeout", 0, 60),
    NUMBER("nopin_response_timeout", 0, 60),
    BOOL("random_datain_pdu_offsets"),
    BOOL("random_datain_seq_offsets"),
    BOOL("random_r2t_offsets"),
};

static const struct value_rule tpg_parameters[] = {
    {"AuthMethod", VALUE_LIST, 0, 0, "CHAP|None"},
    {"HeaderDigest", VALUE_LIST, 0, 0, "CRC32C|None"},
    {"DataDigest", VALUE_LIST, 0, 0, "CRC32C|None"},
    NUMBER("MaxConnections", 1, 65535),
    {"TargetAlias", VALUE_TEXT, 1, 255, NULL},
    WORDS("InitialR2T", "Yes|No"),
    WORDS("ImmediateData", "Yes|No"),
    SEGMENT_LENGTH("MaxRecvDataSegmentLength"),
    SEGMENT_LENGTH("MaxXmitDataSegmentLength"),
    SEGMENT_LENGTH("MaxBurstLength"),
    SEGMENT_LENGTH("FirstBurstLength"),
    NUMBER("DefaultTime2Wait", 0, 3600),
    NUMBER("DefaultTime2Retain", 0, 3600),
    NUMBER("MaxOutstandingR2T", 1, 65535),
    WORDS("DataPDUInOrder", "Yes|No"),
    WORDS("DataSequenceInOrder", "Yes|No"),
    NUMBER("ErrorRecoveryLevel", 0, 2),
    WORDS("IFMarker", "Yes|No"),
    WORDS("OFMarker", "Yes|No"),
    {"IFMarkInt", VALUE_RANGE, 1, 65535, NULL},
    {"OFMarkInt", VALUE_RANGE, 1, 65535, NULL},
    WORDS("RDMAExtensions", "Yes|No"),
    SEGMENT_LENGTH("InitiatorRecvDataSegmentLength"),
    SEGMENT_LENGTH("TargetRecvDataSegmentLength"),
};

struct value_rules {
	const char *prefix, *what; /* "attrib/", "attribute" */
	const struct value_rule *v;
	size_t n;
};

#define RULES(prefix, what, table)                                                                 \
	{                                                                                          \
		prefix, what, table, ELEMENTSOF(table)                                             \
	}

/* Whether word is one of words ("a|b|c"); word[0..len). */
static bool word_in(const char *word, size_t len, const char *words)
{
	for (const char *w = words; *w;) {
		size_t n = strcspn(w, "|");
		if (n == len && strncmp(w, word, len) == 0)
			return true;
		w += n + (w[n] == '|');
	}
	return false;
}

/* NULL when rule accepts value, else why not (static, or in buf). */
static const char *value_invalid(const struct value_rule *rule, const char *value, char *buf,
				 size_t size)
{
	unsigned n, m;

	switch (rule->kind) {
	case VALUE_NUMBER:
		if (tm_syntax_parse_unsigned(value, rule->max, &n) < 0 || n < rule->min) {
			snprintf(buf, size, "expected a number from %u to %u", rule->min,
				 rule->max);
			return buf;
		}
		return NULL;
	case VALUE_WORD:
		if (word_in(value, strlen(value), rule->words))
			return NULL;
		snprintf(buf, size, "expected one of %s", rule->words);
		return buf;
	case VALUE_LIST:
		for (const char *v = value;;) {
			size_t len = strcspn(v, ",");
			if (!word_in(v, len, rule->words)) {
				snprintf(buf, size, "expected a comma-separated list of %s",
					 rule->words);
				return buf;
			}
			if (!v[len])
				return NULL;
			v += len + 1;
		}
	case VALUE_RANGE: {
		/* Linux 5.x and later take "Reject" only: markers are gone. */
		const char *tilde = strchr(value, '~');
		_cleanup_free_ char *low = tilde ? strndup(value, (size_t)(tilde - value)) : NULL;

		if (streq(value, "Reject"))
			return NULL;
		if (!low || tm_syntax_parse_unsigned(low, rule->max, &n) < 0 || n < rule->min ||
		    tm_syntax_parse_unsigned(tilde + 1, rule->max, &m) < 0 || m < n) {
			snprintf(buf, size, "expected Reject, or N~M with %u <= N <= M <= %u",
				 rule->min, rule->max);
			return buf;
		}
		return NULL;
	}
	case VALUE_TEXT:
		n = (unsigned)strlen(value);
		if (n < rule->min || n > rule->max) {
			snprintf(buf, size, "expected %u to %u characters", rule->min, rule->max);
			return buf;
		}
		for (const char *v = value; *v; v++)
			if ((unsigned char)*v < ' ' || (unsigned char)*v > '~')
				return "expected printable ASCII characters";
		return NULL;
	case VALUE_READ_ONLY:
		return "it is read-only: LIO reports it and takes no value";
	}
	return NULL;
}

/* Printable ASCII without blanks: what an attribute unknown to the table may be given. */
static bool plain_word(const char *v)
{
	if (!*v)
		return false;
	for (; *v; v++)
		if ((unsigned char)*v <= ' ' || (unsigned char)*v > '~')
			return false;
	return true;
}

static void check_setting_value(const struct tm_setting *s, const struct value_rules *rules,
				size_t n_rules, const char *object, struct tm_diags *d)
{
	const char *names[ELEMENTSOF(backstore_attributes)];
	const struct value_rules *r = NULL;
	const char *name = NULL, *why, *hint;
	char buf[128];
	size_t n = 0;

	for (size_t i = 0; i < n_rules && !r; i++)
		if ((name = startswith(s->path, rules[i].prefix)))
			r = &rules[i];
	if (!r || !s->origin.file)
		return; /* not a pass-through setting, or not from a file */
	for (size_t i = 0; i < r->n; i++) {
		if (streq(r->v[i].name, name)) {
			why = value_invalid(&r->v[i], s->value, buf, sizeof(buf));
			if (why)
				report_error(d, &s->origin, "invalid value for %s %s.%s: %s",
					     object, r->what, name, why);
			return;
		}
		if (n < ELEMENTSOF(names))
			names[n++] = r->v[i].name;
	}
	if (!plain_word(s->value))
		report_error(d, &s->origin,
			     "invalid value for %s %s.%s: expected one word of printable ASCII "
			     "characters",
			     object, r->what, name);
	hint = tm_syntax_closest(name, names, n);
	if (hint)
		report_warning(d, &s->origin, "LIO has no %s %s.%s: did you mean %s.%s?", object,
			       r->what, name, r->what, hint);
	else
		report_warning(d, &s->origin,
			       "LIO (Linux 6.1) has no %s %s.%s: apply fails if this kernel has "
			       "none either",
			       object, r->what, name);
}

static void check_settings_values(const struct tm_settings *settings,
				  const struct value_rules *rules, size_t n_rules,
				  const char *object, struct tm_diags *d)
{
	for (size_t i = 0; i < settings->n; i++)
		check_setting_value(&settings->v[i], rules, n_rules, object, d);
}

static const struct value_rules backstore_rules[] = {
    RULES("attrib/", "attribute", backstore_attributes),
};
static const struct value_rules tpg_rules[] = {
    RULES("attrib/", "attribute", tpg_attributes),
    RULES("param/", "parameter", tpg_parameters),
};
static const struct value_rules acl_rules[] = {
    RULES("attrib/", "attribute", acl_attributes),
};

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
		check_settings_values(&a->settings, acl_rules, ELEMENTSOF(acl_rules), "initiator",
				      d);
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
	check_settings_values(&t->settings, tpg_rules, ELEMENTSOF(tpg_rules), "target", d);
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

struct host_file {
	bool exists;
	struct stat st;
	/* The path with symlinks, "." and ".." resolved (of its directory when the file is
	   still to be created), so that two spellings of one file meet; NULL: unresolved. */
	char *canonical;
};

/* The path backstore i is compared by: its canonical form when the host was looked at. */
static const char *compared_path(const struct backstore_checks *k, size_t i)
{
	if (k->host && k->host[i].canonical)
		return k->host[i].canonical;
	return k->c->backstores[i].path;
}

static bool same_path(const struct backstore_checks *k, size_t a, size_t b)
{
	return streq(compared_path(k, a), compared_path(k, b));
}

static bool same_host_file(const struct host_file *a, const struct host_file *b)
{
	if (!a->exists || !b->exists)
		return false;
	if (S_ISBLK(a->st.st_mode) || S_ISBLK(b->st.st_mode))
		return S_ISBLK(a->st.st_mode) && S_ISBLK(b->st.st_mode) &&
		       a->st.st_rdev == b->st.st_rdev;
	return a->st.st_dev == b->st.st_dev && a->st.st_ino == b->st.st_ino;
}

/* realpath() of path, or of its directory followed by its last component; NULL if neither
   resolves (or on ENOMEM). */
static char *canonical_path(const char *path)
{
	_cleanup_free_ char *copy = NULL, *copy2 = NULL, *dir = NULL;
	char *r = realpath(path, NULL);

	if (r || errno != ENOENT)
		return r;
	copy = strdup(path);
	copy2 = strdup(path);
	if (!copy || !copy2)
		return NULL;
	dir = realpath(dirname(copy), NULL);
	if (!dir)
		return NULL;
	return tm_strdupf("%s/%s", streq(dir, "/") ? "" : dir, basename(copy2));
}

/* Whether a regular file lives on a pseudo file system: its contents are not a disk. */
static const char *pseudo_file_system(const char *path)
{
	static const struct {
		long magic;
		const char *name;
	} pseudo[] = {
	    {PROC_SUPER_MAGIC, "procfs"},
	    {SYSFS_MAGIC, "sysfs"},
	    {DEBUGFS_MAGIC, "debugfs"},
	    {TRACEFS_MAGIC, "tracefs"},
	    {0x62656570, "configfs"},
	    {SECURITYFS_MAGIC, "securityfs"},
	    {CGROUP2_SUPER_MAGIC, "cgroup2"},
	    {CGROUP_SUPER_MAGIC, "cgroup"},
	    {BPF_FS_MAGIC, "bpf"},
	    {EFIVARFS_MAGIC, "efivarfs"},
	};
	struct statfs fs;

	if (statfs(path, &fs) < 0)
		return NULL;
	for (size_t i = 0; i < ELEMENTSOF(pseudo); i++)
		if ((long)fs.f_type == pseudo[i].magic)
			return pseudo[i].name;
	return NULL;
}

static void check_host_path(const struct tm_backstore *b, struct host_file *h, struct tm_diags *d)
{
	const char *fs;

	h->canonical = canonical_path(b->path);
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
			else if ((fs = pseudo_file_system(dir)))
				report_error(d, &b->origin,
					     "%s would be created on %s, not storage", b->path, fs);
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
		report_error(d, &b->origin, "%s is %s, neither a regular file nor a block device",
			     b->path, tm_file_type_name(h->st.st_mode));
	else if (S_ISREG(h->st.st_mode) && (fs = pseudo_file_system(b->path)))
		report_error(d, &b->origin, "%s is a file of %s, not storage", b->path, fs);
	else if (S_ISREG(h->st.st_mode) && h->st.st_size == 0 && b->size == 0)
		report_error(
		    d, &b->origin,
		    "%s is an empty file: LIO cannot serve 0 bytes (give size= to grow it)",
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
	const struct tm_setting *wce;
	struct group *g, *gf = NULL;
	size_t j, jf = SIZE_MAX;

	switch (b->type) {
	case TM_BACKSTORE_RAMDISK:
		if (b->size == 0)
			report_error(d, &b->origin, "a RAM disk needs size=");
		break;
	case TM_BACKSTORE_FILEIO:
		/* LIO opens a write-back file without O_DSYNC and fsyncs only on SYNCHRONIZE
		   CACHE or FUA, which initiators send only while the write cache is reported. */
		wce = tm_settings_find(&b->settings, "attrib/emulate_write_cache");
		if (!b->write_through && wce && streq(wce->value, "0"))
			report_error(d, &wce->origin,
				     "attribute.emulate_write_cache=0 on a write-back file: "
				     "initiators would never flush, and LIO acknowledges writes "
				     "still in the page cache, which a power loss would lose; to "
				     "report no write cache, use write-through (every write "
				     "reaches the disk before it is acknowledged)");
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
	check_settings_values(&b->settings, backstore_rules, ELEMENTSOF(backstore_rules), "LUN", d);

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
	g = group_of(&k->paths, k, i, tm_hash_string(compared_path(k, i)), same_path);
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
	for (size_t i = 0; host && i < c->n_backstores; i++)
		free(host[i].canonical);
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
