/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The round-trip property, on many random valid target files: each parses and verifies
 * without errors, `save` writes it without a warning, what it writes parses and verifies
 * again (check accepts it), the model read back equals the first field by field, and saving
 * that gives the same text.  The files are made by a seeded PRNG, so a run is repeatable:
 *
 *     TM_ROUNDTRIP_SEED=N TM_ROUNDTRIP_CASES=N build/tests/test-roundtrip
 *
 * The generator writes what a person might: the spellings the syntax allows (blanks or none
 * around '=', tabs, indentation, comments, CR LF, "readonly", sizes in any unit), names and
 * lines near their limits, IQNs long enough for shortened default backstore names, open and
 * closed targets, CHAP inherited or per initiator, overrides of what targetmgr derives.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"
#include "roundtrip.h"
#include "parse.h"
#include "save.h"
#include "syntax.h"
#include "tap-diags.h"
#include "tap.h"
#include "util.h"
#include "verify.h"

#define DEFAULT_SEED  20261204ULL
#define DEFAULT_CASES 5000U

/* ---- PRNG: splitmix64, the same numbers on every host ---------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 0 .. n-1 */
static unsigned below(unsigned n)
{
	return n ? (unsigned)(rng() % n) : 0;
}

static bool chance(unsigned percent)
{
	return below(100) < percent;
}

static char pick(const char *set)
{
	return set[below((unsigned)strlen(set))];
}

#define LOWER  "abcdefghijklmnopqrstuvwxyz"
#define DIGITS "0123456789"
#define WORD   LOWER "ABCDEFGHIJKLMNOPQRSTUVWXYZ" DIGITS "_"
/* Value characters that are no blank, some of them meaningful elsewhere in the syntax. */
#define VALUE_CHARS WORD ".-:=#;@,/+%[]!\"'<>\\{}()*&^~`?$|"

/* n characters from set into a fresh string. */
static char *random_string(const char *set, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		abort();
	for (size_t i = 0; i < n; i++)
		s[i] = pick(set);
	s[n] = '\0';
	return s;
}

/* ---- the text ------------------------------------------------------------------------- */

struct text {
	char *buf;
	size_t len;
	FILE *f;
	const char *eol; /* "\n" or "\r\n" for the whole file */
};

static void text_open(struct text *t)
{
	*t = (struct text){.eol = chance(20) ? "\r\n" : "\n"};
	t->f = open_memstream(&t->buf, &t->len);
	if (!t->f)
		abort();
}

/* Ends the line: sometimes with a comment, when the line has room for one. */
static void end_line(struct text *t, size_t len)
{
	if (chance(10) && len + 12 <= TM_SYNTAX_LINE_MAX)
		fputs(pick(" \t") == ' ' ? " ; a note" : "\t;# note", t->f);
	fputs(t->eol, t->f);
}

/* "KEY = VALUE" in one of the spellings the parser takes; false when it would not fit (the
   caller leaves it out). */
static bool key_line(struct text *t, const char *key, const char *value)
{
	static const char *const seps[] = {" = ", "=", " =", "= ", "\t=\t", " : ", ":"};
	const char *sep = chance(70) ? seps[0] : seps[below(ELEMENTSOF(seps))];

	/* A ';' after a blank starts a comment: only right after the '=' it is the value's. */
	if (value[0] == ';')
		sep = chance(50) ? "=" : " :";
	const char *indent = chance(10) ? (chance(50) ? "\t" : "    ") : "";
	size_t len = strlen(indent) + strlen(key) + strlen(sep) + strlen(value);

	/* ':' after a key that itself holds ':' is no separator issue: keys never do. */
	if (len > TM_SYNTAX_LINE_MAX)
		return false;
	fprintf(t->f, "%s%s%s%s", indent, key, sep, value);
	end_line(t, len);
	return true;
}

static void blank_or_comment(struct text *t)
{
	if (chance(20))
		fprintf(t->f, "%s# a comment line%s", chance(50) ? "" : "  ", t->eol);
	else if (chance(30))
		fputs(t->eol, t->f);
}

/* ---- one file ------------------------------------------------------------------------- */

struct lun_gen {
	unsigned number;
	bool file_or_ram; /* fileio or RAM disk: read-only only with initiators */
	bool ro;
};

struct gen {
	struct text text;
	unsigned file;    /* case number, in names so that files never share them */
	unsigned serials; /* serial= and name= values given out */
	unsigned paths;
	bool alua[3]; /* ALUA groups a0, a1, a2 that a LUN line named */
};

static char *random_iqn(struct gen *g, unsigned target)
{
	unsigned kind = below(10);

	if (kind == 0)
		return tm_strdupf("eui.%016llx", (unsigned long long)(rng() & ~0xfULL) | target);
	if (kind == 1)
		return tm_strdupf("naa.%016llx%016llx", (unsigned long long)rng(),
				  (unsigned long long)((rng() & ~0xfULL) | target));
	if (kind <= 4) {
		/* Long: default backstore names get shortened (59 characters and more). */
		_cleanup_free_ char *tail = random_string(LOWER DIGITS ".-", 40 + below(110));
		return tm_strdupf("iqn.2003-01.org.example:%u.%u.%s", g->file, target, tail);
	}
	return tm_strdupf("iqn.%u-%02u.com.example:case%u.t%u", 1990 + below(40), 1 + below(12),
			  g->file, target);
}

static char *random_size(void)
{
	static const char *const units[] = {"K", "M", "G", "KiB", "MB", "k", "m"};
	unsigned long long blocks = 1 + below(1u << 16);

	if (chance(50))
		return tm_strdupf("%llu", blocks * 512);
	return tm_strdupf("%llu%s", 1 + (unsigned long long)below(4096), units[below(7)]);
}

/* "lun N = ..." with random options, recorded in l. */
static void gen_lun(struct gen *g, bool open, struct lun_gen *l)
{
	_cleanup_free_ char *base = NULL, *attributes = NULL, *full = NULL;
	char *v = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&v, &n);
	unsigned kind = below(3);
	char key[32];

	if (!f)
		abort();
	g->paths++;
	if (kind == 0) {
		_cleanup_free_ char *size = random_size();
		fprintf(f, "ramdisk size=%s", size);
		if (chance(30))
			fputs(" nullio", f);
		l->file_or_ram = true;
	} else if (kind == 1) {
		fprintf(f, "/dev/disk/by-id/case%u-disk%u", g->file, g->paths);
		l->file_or_ram = chance(15);
		if (l->file_or_ram)
			fputs(" type=fileio", f);
	} else {
		fprintf(f, "/srv/iscsi/case%u/%s%u.img", g->file, chance(20) ? "a;b#c:d=e" : "disk",
			g->paths);
		l->file_or_ram = !chance(15);
		if (!l->file_or_ram)
			fputs(" type=iblock", f);
		else if (chance(60)) {
			_cleanup_free_ char *size = random_size();
			fprintf(f, " size=%s", size);
		}
	}
	/* LIO write-protects files and RAM disks per initiator only. */
	if ((!l->file_or_ram || !open) && chance(20)) {
		fputs(chance(50) ? " ro" : " readonly", f);
		l->ro = true;
	}
	if (chance(25))
		fprintf(f, " serial=%s-%u.%u", chance(50) ? "SER" : "s_n", g->file, ++g->serials);
	if (chance(25))
		fprintf(f, " name=case%u_%u.bs-%u", g->file, ++g->serials, below(100));
	if (chance(15)) {
		unsigned a = below(ELEMENTSOF(g->alua));
		fprintf(f, " alua=a%u", a);
		g->alua[a] = true;
	}
	if (fclose(f) != 0)
		abort();
	base = v;

	f = open_memstream(&attributes, &n);
	if (!f)
		abort();
	for (unsigned i = 0, k = below(4); i < k; i++) {
		_cleanup_free_ char *val =
		    random_string(VALUE_CHARS, 1 + below(chance(20) ? 90 : 8));
		fprintf(f, " attribute.a%u_%c=%s", i, pick(WORD), val);
	}
	if (fclose(f) != 0)
		abort();

	snprintf(key, sizeof(key), "lun%s%u", chance(10) ? "\t" : " ", l->number);
	full = tm_strdupf("%s%s", base, attributes);
	/* Too long with all its attributes: without them it fits. */
	if (!key_line(&g->text, key, full) && !key_line(&g->text, key, base))
		abort();
}

/* A random TPG setting value: with blanks, blanks inside are kept (verify takes them only in
   text such as parameter.TargetAlias, and no tab there), ';' only where it starts no comment. */
static char *random_value(bool blanks)
{
	size_t n = 1 + below(chance(10) ? 150 : 12);
	char *s = random_string(VALUE_CHARS, n);

	for (size_t i = 1; blanks && i + 1 < n; i++)
		if (chance(10) && s[i - 1] != ' ' && s[i + 1] != ';')
			s[i] = ' ';
	return s;
}

static char *random_word(size_t min, size_t spread)
{
	char *s = random_string(WORD ".-:!#$%&*+/=?^_{|}~", min + below((unsigned)spread));
	return s;
}

struct cred {
	char *user, *secret;
};

static void cred_new(struct cred *c)
{
	c->user = random_word(1, 20);
	c->secret = random_word(12, 5); /* the Microsoft initiator's 12 to 16 */
	if (c->secret[0] == '@')
		c->secret[0] = 'x';
}

static void cred_free(struct cred *c)
{
	free(c->user);
	free(c->secret);
}

static void cred_line(struct gen *g, const char *key, const struct cred *c)
{
	_cleanup_free_ char *v = tm_strdupf("%s%s%s", c->user, chance(80) ? " " : "\t", c->secret);
	if (!key_line(&g->text, key, v))
		abort();
}

static void gen_target(struct gen *g, unsigned index)
{
	_cleanup_free_ char *iqn = random_iqn(g, index);
	struct lun_gen luns[6];
	size_t n_luns = below(ELEMENTSOF(luns) + 1), n_initiators = chance(50) ? 0 : 1 + below(4);
	bool open = n_initiators == 0, chap = chance(50);
	struct cred tpg = {0}, tpg_mutual = {0};
	bool sections[4];
	bool tpg_chap = chap && (open || chance(60)), tpg_mutual_chap = tpg_chap && chance(40);

	blank_or_comment(&g->text);
	fprintf(g->text.f, "%s[target %s]%s", chance(10) ? "  " : "", iqn, g->text.eol);
	for (unsigned i = 0, k = chance(60) ? 0 : 1 + below(3); i < k; i++) {
		static const char *const forms[] = {
		    "10.%u.%u.%u", "10.%u.%u.%u:3261", "[fd00::%x:%x:%x]:3260",
		    /* a bare one ending in a digit group is ambiguous */ "fd00::%x:%x:a%x",
		    "[fd00:0:0::%x:%x:%x]"};
		char address[64];

		snprintf(address, sizeof(address), forms[below(ELEMENTSOF(forms))], g->file % 250,
			 index, i + 1);
		key_line(&g->text, "portal", address);
	}
	for (size_t i = 0; i < n_luns; i++) {
		bool dup;

		do {
			luns[i] = (struct lun_gen){.number = chance(70) ? below(16) : below(65536)};
			dup = false;
			for (size_t j = 0; j < i; j++)
				dup = dup || luns[j].number == luns[i].number;
		} while (dup);
		gen_lun(g, open, &luns[i]);
	}
	if (tpg_chap) {
		cred_new(&tpg);
		cred_line(g, "chap", &tpg);
		if (tpg_mutual_chap) {
			cred_new(&tpg_mutual);
			cred_line(g, "mutual-chap", &tpg_mutual);
		}
	}
	for (unsigned i = 0, k = below(4); i < k; i++) {
		_cleanup_free_ char *key =
		    tm_strdupf("%s.x%u%s", chance(50) ? "attribute" : "parameter", i,
			       chance(30) ? "_Name" : "");
		_cleanup_free_ char *value = random_value(false);
		key_line(&g->text, key, value);
	}
	if (chance(30)) {
		_cleanup_free_ char *value = random_value(true);
		key_line(&g->text, "parameter.TargetAlias", value);
	}
	/* Overrides of what targetmgr derives. */
	if (chance(15))
		key_line(&g->text, "attribute.authentication", chance(50) ? "0" : "1");
	if (chance(10))
		key_line(&g->text, "attribute.cache_dynamic_acls", chance(50) ? "0" : "1");
	if (chance(10))
		key_line(&g->text, "attribute.demo_mode_write_protect", chance(50) ? "0" : "1");
	if (open && !tpg_chap && chance(10))
		key_line(&g->text, "attribute.generate_node_acls", "0");

	/* Initiators: "initiator =" lines (they take the target's CHAP), then sections. */
	for (size_t i = 0; i < n_initiators; i++)
		sections[i] = (chap && !tpg_chap) || chance(50);
	for (size_t i = 0; i < n_initiators; i++) {
		_cleanup_free_ char *name =
		    tm_strdupf("iqn.1994-05.com.redhat:case%u-t%u-i%zu", g->file, index, i);
		if (!sections[i])
			key_line(&g->text, "initiator", name);
	}
	for (size_t i = 0; i < n_initiators; i++) {
		_cleanup_free_ char *name =
		    tm_strdupf("iqn.1994-05.com.redhat:case%u-t%u-i%zu", g->file, index, i);

		if (!sections[i])
			continue;
		blank_or_comment(&g->text);
		fprintf(g->text.f, "[initiator %s]%s", name, g->text.eol);
		if (n_luns > 0 && chance(40)) {
			char list[256] = "";
			size_t len = 0;

			for (size_t j = 0; j < n_luns; j++)
				if (chance(60) || j == 0)
					len +=
					    (size_t)snprintf(list + len, sizeof(list) - len, "%s%u",
							     len ? " " : "", luns[j].number);
			key_line(&g->text, "luns", list);
		}
		if (chap && (!tpg_chap || chance(40))) {
			struct cred c = {0}, m = {0};

			cred_new(&c);
			cred_line(g, "chap", &c);
			if (chance(40)) {
				cred_new(&m);
				cred_line(g, "mutual-chap", &m);
			}
			cred_free(&c);
			cred_free(&m);
		} else if (chap && tpg_chap && !tpg_mutual_chap && chance(20)) {
			struct cred m = {0};

			cred_new(&m);
			cred_line(g, "mutual-chap", &m);
			cred_free(&m);
		}
		if (chance(30)) {
			char value[16];

			/* What LIO takes (verify checks the range). */
			snprintf(value, sizeof(value), "%u", 2 + below(59));
			key_line(&g->text, "attribute.dataout_timeout", value);
		}
	}
	cred_free(&tpg);
	cred_free(&tpg_mutual);
}

/* A whole file: targets, sometimes discovery CHAP. */
static char *gen_file(struct gen *g)
{
	text_open(&g->text);
	if (chance(30))
		fputs("\xef\xbb\xbf", g->text.f);
	memset(g->alua, 0, sizeof(g->alua));
	for (unsigned i = 0, n = 1 + below(4); i < n; i++)
		gen_target(g, i);
	/* The groups the LUN lines named, before or after them (a group no LUN is in warns). */
	for (unsigned i = 0; i < ELEMENTSOF(g->alua); i++) {
		static const char *const states[] = {"active/optimized", "active/non-optimized",
						     "standby", "unavailable", "offline"};
		static const char *const types[] = {"implicit", "explicit", "both"};
		const char *type = types[below(ELEMENTSOF(types))];

		if (!g->alua[i])
			continue;
		fprintf(g->text.f, "%s[alua a%u]%s", g->text.eol, i, g->text.eol);
		if (chance(50))
			fprintf(g->text.f, "type = %s%s", type, g->text.eol);
		else
			type = "implicit";
		if (!streq(type, "explicit") && chance(70))
			fprintf(g->text.f, "state = %s%s", states[below(ELEMENTSOF(states))],
				g->text.eol);
		if (chance(30))
			fprintf(g->text.f, "preferred = %s%s", chance(50) ? "yes" : "no",
				g->text.eol);
		if (chance(30))
			fprintf(g->text.f, "id = %u%s", 10 + i, g->text.eol);
	}
	if (chance(20)) {
		struct cred c = {0}, m = {0};

		fprintf(g->text.f, "%s[discovery]%s", g->text.eol, g->text.eol);
		cred_new(&c);
		cred_line(g, "chap", &c);
		if (chance(50)) {
			cred_new(&m);
			cred_line(g, "mutual-chap", &m);
		}
		cred_free(&c);
		cred_free(&m);
	}
	if (fclose(g->text.f) != 0)
		abort();
	return g->text.buf;
}

/* ---- the property --------------------------------------------------------------------- */

static void dump_text(const char *text)
{
	_cleanup_free_ char *copy = strdup(text);
	char *save = NULL;

	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		tap_diag("  | %s", l);
}

enum property {
	VALID,         /* the generated file parses and verifies */
	NO_WARNING,    /* save loses nothing */
	FITS,          /* every saved line within the limit */
	CHECK_ACCEPTS, /* what save wrote parses and verifies */
	IDENTITY,      /* parse -> save -> parse is the identity */
	STABLE,        /* saving the model read back gives the same text */
	_PROPERTY_MAX,
};

static const char *const property_names[_PROPERTY_MAX] = {
    [VALID] = "every generated file parses and verifies without errors",
    [NO_WARNING] = "save writes every one without a warning",
    [FITS] = "every saved line is at most 199 characters",
    [CHECK_ACCEPTS] = "check (parse + verify) accepts everything save writes",
    [IDENTITY] = "parse -> save -> parse is the identity, field by field",
    [STABLE] = "saving the model read back gives the same text",
};

static unsigned failures[_PROPERTY_MAX];

/* Reports the first few failures of a property in full. */
static bool holds(enum property p, bool ok, unsigned n, const char *text, const char *saved,
		  const struct tm_diags *d)
{
	if (ok)
		return true;
	if (failures[p]++ < 3) {
		tap_diag("case %u: %s: fails", n, property_names[p]);
		if (d)
			tap_dump_diags(d);
		tap_diag("the file:");
		dump_text(text);
		if (saved) {
			tap_diag("saved:");
			dump_text(saved);
		}
	}
	return false;
}

static void run_case(struct gen *g, unsigned n)
{
	_cleanup_free_ char *text = gen_file(g), *saved = NULL, *again = NULL;
	_cleanup_config_ struct tm_config *in = NULL, *out = NULL;
	struct tm_diags d = {0}, w = {0}, d2 = {0}, w2 = {0};

	in = rt_check("gen.conf", text, &d);
	if (!holds(VALID, d.n_errors == 0, n, text, NULL, &d))
		goto finish;
	saved = rt_save(in, &w);
	holds(NO_WARNING, w.n == 0, n, text, saved, &w);
	holds(FITS, rt_longest_line(saved) <= TM_SYNTAX_LINE_MAX, n, text, saved, NULL);
	out = rt_check("saved.conf", saved, &d2);
	if (!holds(CHECK_ACCEPTS, d2.n_errors == 0, n, text, saved, &d2))
		goto finish;
	if (!model_same(in, out, NULL)) {
		holds(IDENTITY, false, n, text, saved, NULL);
		if (failures[IDENTITY] <= 3)
			model_same(in, out, stdout);
		goto finish;
	}
	again = rt_save(out, &w2);
	holds(STABLE, streq(again, saved), n, text, saved, NULL);
finish:
	tm_diags_clear(&d);
	tm_diags_clear(&w);
	tm_diags_clear(&d2);
	tm_diags_clear(&w2);
}

int main(void)
{
	const char *seed_env = getenv("TM_ROUNDTRIP_SEED"),
		   *cases_env = getenv("TM_ROUNDTRIP_CASES");
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : DEFAULT_SEED;
	unsigned cases = cases_env ? (unsigned)strtoul(cases_env, NULL, 0) : DEFAULT_CASES;
	struct gen g = {0};
	struct timespec t0, t1;

	tap_diag("seed %llu, %u cases (TM_ROUNDTRIP_SEED, TM_ROUNDTRIP_CASES)",
		 (unsigned long long)seed, cases);
	rng_state = seed;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned n = 0; n < cases; n++) {
		g.file = n;
		run_case(&g, n);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (int p = 0; p < _PROPERTY_MAX; p++)
		CHECK(failures[p] == 0, "%s (%u of %u cases fail)", property_names[p], failures[p],
		      cases);
	tap_diag("%u cases in %.2f s", cases,
		 (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return tap_done();
}
