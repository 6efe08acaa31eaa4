/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Semantic checks: every error and warning at its file:line, and nothing else. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "parse.h"
#include "tap-diags.h"
#include "tap.h"
#include "util.h"
#include "syntax.h"
#include "verify.h"

#define T1 "iqn.2021-02.com.example:target1"
#define T2 "iqn.2021-02.com.example:target2"
#define I1 "iqn.1993-08.org.debian:01:6c92b3891490"
#define I2 "iqn.1993-08.org.debian:01:aaaaaaaaaaaa"

static const char *const secrets[] = {
    "pruebaiscsi2021",   "Sup3rS3cretPw",    "mutu4lS3cret", "elevenchars",
    "seventeen-chars-x", "has space inside", "twelve-chars", "sixteen-chars-xy",
};
static unsigned scanned, leaked;

static void scan_for_secrets(const struct tm_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		scanned++;
		for (size_t j = 0; j < ELEMENTSOF(secrets); j++)
			if (strstr(d->v[i].message, secrets[j])) {
				leaked++;
				tap_diag("secret in: %s", d->v[i].message);
			}
	}
}

/* Parses text as t.conf (which must be clean) and verifies it; returns tm_verify's result. */
static int parse_verify(const char *text, unsigned flags, struct tm_config **ret,
			struct tm_diags *d)
{
	struct tm_config *c = tm_config_new();
	int r;

	if (!c)
		abort();
	r = tm_parse_string("t.conf", text, c, d);
	if (r < 0 || d->n > 0) {
		tap_diag("parsing failed: %s", strerror(-r));
		tap_dump_diags(d);
		abort();
	}
	r = tm_verify(c, flags, d);
	scan_for_secrets(d);
	*ret = c;
	return r;
}

struct expect {
	const char *conf;
	enum tm_severity severity;
	unsigned line;
	const char *message;
};

/* Exactly one diagnostic, of that severity, at t.conf:<line>, containing <message>; or none
   at all when message is NULL. */
static void check_one(const struct expect *e, unsigned flags)
{
	_cleanup_config_ struct tm_config *c = NULL;
	struct tm_diags d = {0};
	int r = parse_verify(e->conf, flags, &c, &d);
	bool ok;

	if (!e->message)
		ok = r == 0 && d.n == 0;
	else
		ok = d.n == 1 && r == (e->severity == TM_ERROR) && d.v[0].severity == e->severity &&
		     streq_ptr(d.v[0].file, "t.conf") && d.v[0].line == e->line &&
		     strstr(d.v[0].message, e->message);
	if (e->message) {
		if (!CHECK(ok, "t.conf:%u: %s: %s", e->line,
			   e->severity == TM_ERROR ? "error" : "warning", e->message))
			tap_dump_diags(&d);
	} else {
		char what[80];
		size_t n = 0;

		/* The text on one line: TAP descriptions end at a newline. */
		for (const char *p = e->conf; *p && n < sizeof(what) - 1; p++)
			what[n++] = *p == '\n' ? '|' : *p;
		what[n] = '\0';
		if (!CHECK(ok, "clean: %s", what))
			tap_dump_diags(&d);
	}
	tm_diags_clear(&d);
}

#define TARGET(name) "[target " name "]\n"
#define E(conf, line, msg)                                                                         \
	{                                                                                          \
		conf, TM_ERROR, line, msg                                                          \
	}
#define W(conf, line, msg)                                                                         \
	{                                                                                          \
		conf, TM_WARNING, line, msg                                                        \
	}
#define CLEAN(conf)                                                                                \
	{                                                                                          \
		conf, TM_ERROR, 0, NULL                                                            \
	}

static const struct expect cases[] = {
    /* Names. */
    E(TARGET("iqn.2021-13.com.example:t"), 1, "invalid target name"),
    E(TARGET("iqn.2021-00.com.example:t"), 1, "month after 'iqn.YYYY-' must be 01 to 12"),
    E(TARGET("iqn.2021-02.com.Example:t"), 1, "iSCSI names are lowercase"),
    E(TARGET("iqn.21-02.com.example:t"), 1, "expected 'iqn.YYYY-MM.'"),
    E(TARGET("iqn.2021-02:t"), 1, "expected 'iqn.YYYY-MM.'"),
    E(TARGET("iqn.2021-02.:t"), 1, "missing the reversed domain name"),
    E(TARGET("iqn.2021-02.com..example:t"), 1, "empty label"),
    E(TARGET("iqn.2021-02.com.example:"), 1, "nothing after ':'"),
    E(TARGET("iqn.2021-02.com.example:t_1"), 1, "characters other than a-z"),
    E(TARGET("target1"), 1, "starting with 'iqn.', 'eui.' or 'naa.'"),
    E(TARGET("eui.02004567a425678"), 1, "16 hex digits"),
    E(TARGET("eui.02004567A425678D"), 1, "lowercase"),
    E(TARGET("naa.52004567ba64678d0"), 1, "16 or 32 hex digits"),
    CLEAN(TARGET("eui.02004567a425678d")),
    CLEAN(TARGET("naa.52004567ba64678d")),
    CLEAN(TARGET("naa.6001405abcdef0123456789abcdef012")),
    CLEAN(TARGET("iqn.2021-02.com.example")),
    CLEAN(TARGET("iqn.2021-02.com.example:storage.disk-1:a")),
    E(TARGET(T1) "lun 1 = /srv/a.img\ninitiator = " I1 " myhost\n", 3,
      "invalid initiator name 'myhost'"),
    E(TARGET(T1) "[initiator IQN.1993-08.org.debian:01:x]\n", 2, "lowercase"),

    /* Duplicates within a target. */
    E(TARGET(T1) "lun 1 = /srv/a.img\nlun 1 = /srv/b.img\n", 3,
      "LUN 1 already declared at t.conf:2"),
    E(TARGET(T1) "lun 1 = /srv/a.img\nlun 1 = /srv/a.img\n", 3,
      "LUN 1 already declared at t.conf:2"),
    E(TARGET(T1) "portal = 10.0.0.1\nportal = 10.0.0.2\nportal = 10.0.0.1:3260\n", 4,
      "portal 10.0.0.1:3260 already declared at t.conf:2"),
    E(TARGET(T1) "portal = [::1]:3260\nportal = ::1\n", 3, "portal [::1]:3260 already"),
    E(TARGET(T1) "initiator = " I1 "\ninitiator = " I2 " " I1 "\n", 3,
      "initiator " I1 " already declared at t.conf:2"),
    E(TARGET(T1) "initiator = " I1 "\n[initiator " I1 "]\n", 3,
      "initiator " I1 " already declared at t.conf:2"),
    E(TARGET(T1) "lun 1 = /srv/a.img\n[initiator " I1 "]\nluns = 1 2\n", 4,
      "target " T1 " has no LUN 2"),

    /* Backstores. */
    E(TARGET(T1) "lun 1 = /srv/a.img\n" TARGET(T2) "lun 5 = /srv/a.img\n", 4,
      "/srv/a.img is already used by the LUN at t.conf:2"),
    E(TARGET(T1) "lun 1 = /srv/a.img name=disk\nlun 2 = /dev/sdb name=disk\n", 3,
      "backstore name disk already used at t.conf:2"),
    E(TARGET(T1) "lun 1 = /srv/a.img serial=s1\n" TARGET(T2) "lun 1 = /srv/b.img serial=s1\n", 4,
      "serial s1 already used at t.conf:2"),
    E(TARGET(T1) "lun 1 = ramdisk\n", 2, "a RAM disk needs size="),
    E(TARGET(T1) "lun 1 = ramdisk nullio\n", 2, "a RAM disk needs size="),
    CLEAN(TARGET(T1) "lun 1 = ramdisk size=64M nullio\n"),
    E(TARGET(T1) "lun 1 = /dev/sdb size=1G\n", 2, "size= does not apply to block devices"),
    E(TARGET(T1) "lun 1 = /srv/a.img type=iblock size=1G\n", 2, "does not apply"),
    E(TARGET(T1) "lun 1 = /srv/a.img nullio\n", 2, "nullio applies only to RAM disks"),
    E(TARGET(T1) "lun 1 = /dev/sdb nullio\n", 2, "nullio applies only to RAM disks"),

    /* Read-only LUNs. */
    E(TARGET(T1) "lun 1 = /srv/a.img ro\n", 2,
      "LUN 1 is read-only, but LIO write-protects "
      "fileio LUNs only per initiator"),
    E(TARGET(T1) "lun 0 = /dev/sdb\nlun 7 = ramdisk size=1M readonly\n", 3,
      "add 'initiator =' lines"),
    CLEAN(TARGET(T1) "lun 1 = /dev/sdb ro\n"),
    CLEAN(TARGET(T1) "lun 1 = /srv/a.img ro\ninitiator = " I1 "\n"),
    CLEAN(TARGET(T1) "lun 1 = /srv/a.img ro\n[initiator " I1 "]\n"),

    /* CHAP. */
    E(TARGET(T1) "lun 1 = /srv/a.img\n"
		 "[initiator " I1 "]\nchap = u Sup3rS3cretPw\n"
		 "[initiator " I2 "]\n",
      5, "initiator " I2 " has no CHAP credentials, but initiator " I1 " (t.conf:3) has"),
    CLEAN(TARGET(T1) "chap = u Sup3rS3cretPw\n"
		     "[initiator " I1 "]\n"
		     "[initiator " I2 "]\nchap = v pruebaiscsi2021\n"),
    E(TARGET(T1) "mutual-chap = m Sup3rS3cretPw\n", 2, "mutual-chap without chap"),
    E(TARGET(T1) "mutual-chap = m Sup3rS3cretPw\ninitiator = " I1 " " I2 "\n", 2,
      "mutual-chap without chap"),
    E(TARGET(T1) "[initiator " I1 "]\nmutual-chap = m Sup3rS3cretPw\n", 3,
      "mutual-chap without chap"),
    E("[discovery]\nmutual-chap = m Sup3rS3cretPw\n", 2, "mutual-chap without chap"),
    CLEAN(TARGET(T1) "chap = u Sup3rS3cretPw\n"
		     "[initiator " I1 "]\nmutual-chap = m mutu4lS3cret\n"),
    W(TARGET(T1) "chap = u Sup3rS3cretPw\nmutual-chap = m Sup3rS3cretPw\n", 3,
      "the mutual CHAP secret equals the CHAP secret"),
    W(TARGET(T1) "chap = u Sup3rS3cretPw\nmutual-chap = m Sup3rS3cretPw\n"
		 "initiator = " I1 " " I2 "\n",
      3, "equals"),
    W(TARGET(T1) "chap = u elevenchars\n", 2,
      "CHAP secret is shorter than 12 characters: the Microsoft iSCSI initiator refuses"),
    W(TARGET(T1) "chap = u seventeen-chars-x\n", 2, "CHAP secret is longer than 16"),
    W(TARGET(T1) "chap = u Sup3rS3cretPw\nmutual-chap = m elevenchars\n", 3,
      "mutual CHAP secret is shorter than 12"),
    W("[discovery]\nchap = u seventeen-chars-x\n", 2, "longer than 16"),
    W(TARGET(T1) "initiator = " I1 " " I2 "\nchap = u elevenchars\n", 3, "shorter than 12"),
    CLEAN(TARGET(T1) "chap = u twelve-chars\nmutual-chap = m sixteen-chars-xy\n"),
    CLEAN("[discovery]\nchap = u Sup3rS3cretPw\nmutual-chap = m mutu4lS3cret\n"),
};

static void test_cases(void)
{
	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		check_one(&cases[i], 0);
}

static void test_iscsi_names(void)
{
	char name[300];

	strcpy(name, "iqn.2021-02.com.example:");
	memset(name + strlen(name), 'a', 223 - strlen(name));
	name[223] = '\0';
	CHECK(tm_syntax_iscsi_name_invalid(name) == NULL, "a 223-byte name is valid");
	strcat(name, "a");
	CHECK_STREQ(tm_syntax_iscsi_name_invalid(name), "longer than 223 bytes");
	CHECK_STREQ(tm_syntax_iscsi_name_invalid(""), "empty name");
	CHECK(tm_syntax_iscsi_name_invalid(I1) == NULL, "%s is valid", I1);
	CHECK(tm_syntax_iscsi_name_invalid("iqn.2021-12.a") == NULL, "one domain label is enough");
	CHECK(tm_syntax_iscsi_name_invalid("iqn.2021-02.com.example.") != NULL,
	      "a domain ending in '.' is not");
	CHECK(tm_syntax_iscsi_name_invalid("iqn.2021-02.com example") != NULL, "no blanks");
}

static void test_duplicate_targets(void)
{
	_cleanup_config_ struct tm_config *c = tm_config_new();
	struct tm_diags d = {0};
	int r;

	CHECK_EQ(tm_parse_string("a.conf", TARGET(T1) "lun 1 = /srv/a.img\n", c, &d), 0);
	CHECK_EQ(tm_parse_string("b.conf", "\n" TARGET(T2) "\n" TARGET(T1) "lun 1 = /srv/a.img\n",
				 c, &d),
		 0);
	r = tm_verify(c, 0, &d);
	if (!CHECK(r == 1 && d.n == 1 && streq(d.v[0].file, "b.conf") && d.v[0].line == 4 &&
		       strstr(d.v[0].message, "target " T1 " already declared at a.conf:1"),
		   "duplicate target across files, without cascading LUN messages"))
		tap_dump_diags(&d);
	tm_diags_clear(&d);
}

static char tmpdir[] = "/tmp/test-verify-XXXXXX";

/* Secrets LIO cannot take, read from root-only files. */
static void test_bad_secrets(void)
{
	static const struct {
		const char *content, *message;
	} bad[] = {
	    {"has space inside\n", "CHAP secret contains whitespace or control characters"},
	    {"\n", "CHAP secret is empty"},
	    {"", "CHAP secret is empty"},
	    {"tab\there-secret", "contains whitespace or control characters"},
	    {"bell\aherexxxxx\n", "contains whitespace or control characters"},
	};
	char long_secret[300];

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_free_ char *path = tap_write_file(tmpdir, "secret", bad[i].content, 0600);
		_cleanup_free_ char *text = tm_strdupf(TARGET(T1) "initiator = " I1 "\n"
								  "chap = user @%s\n",
						       path);
		struct expect e = E(text, 3, bad[i].message);
		check_one(&e, 0);
		unlink(path);
	}

	memset(long_secret, 'x', 256);
	long_secret[256] = '\0';
	{
		_cleanup_free_ char *path = tap_write_file(tmpdir, "secret", long_secret, 0400);
		_cleanup_free_ char *text = tm_strdupf("[discovery]\n\nchap = user @%s\n", path);
		_cleanup_config_ struct tm_config *c = NULL;
		struct tm_diags d = {0};

		CHECK_EQ(parse_verify(text, 0, &c, &d), 1);
		if (!CHECK(d.n == 2 && d.v[0].line == 3 && d.v[0].severity == TM_ERROR &&
			       strstr(d.v[0].message, "CHAP secret is longer than 255 bytes") &&
			       d.v[1].severity == TM_WARNING && d.v[1].line == 3,
			   "a 256-byte secret is an error (and a warning for Windows)"))
			tap_dump_diags(&d);
		for (size_t i = 0; i < d.n; i++)
			CHECK(!strstr(d.v[i].message, "xxxxxxxxxxxx"), "long secret not echoed");
		tm_diags_clear(&d);
		unlink(path);
	}
}

static bool find_block_device(char *buf, size_t size)
{
	DIR *d = opendir("/dev");
	struct dirent *de;
	bool found = false;

	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		struct stat st;
		snprintf(buf, size, "/dev/%s", de->d_name);
		found = stat(buf, &st) == 0 && S_ISBLK(st.st_mode);
	}
	closedir(d);
	return found;
}

static void test_host(void)
{
	_cleanup_free_ char *img = tap_write_file(tmpdir, "disk.img", "data", 0644);
	_cleanup_free_ char *link = tm_strdupf("%s/link.img", tmpdir);
	_cleanup_free_ char *dir = tm_strdupf("%s/dir", tmpdir);
	_cleanup_free_ char *text = NULL;
	char blk[300];
	struct {
		char *conf;
		unsigned line;
		const char *message;
	} host[] = {
	    {tm_strdupf(TARGET(T1) "lun 1 = %s/missing.img\n", tmpdir), 2,
	     "missing.img does not exist (give size= to create it)"},
	    {tm_strdupf(TARGET(T1) "lun 1 = %s/missing.img size=1G\n", tmpdir), 0, NULL},
	    {tm_strdupf(TARGET(T1) "lun 1 = %s/nodir/missing.img size=1G\n", tmpdir), 2,
	     "nodir does not exist, so"},
	    {tm_strdupf(TARGET(T1) "lun 1 = %s/disk.img/x.img size=1G\n", tmpdir), 2,
	     "disk.img/x.img: Not a directory"},
	    {tm_strdupf(TARGET(T1) "lun 1 = %s\n", dir), 2, "dir is a directory"},
	    {tm_strdupf(TARGET(T1) "lun 1 = %s\n", img), 0, NULL},
	    {tm_strdupf(TARGET(T1) "lun 1 = %s\nlun 2 = %s\n", img, link), 3,
	     "link.img is the same as"},
	    {tm_strdupf(TARGET(T1) "lun 1 = /dev/targetmgr-test-missing\n"), 2,
	     "block device /dev/targetmgr-test-missing does not exist"},
	    {tm_strdupf(TARGET(T1) "lun 1 = /dev/null\n"), 2, "/dev/null is not a block device"},
	    {tm_strdupf(TARGET(T1) "lun 1 = %s type=iblock\n", img), 2,
	     "is not a block device (use type=fileio for a file)"},
	    {tm_strdupf(TARGET(T1) "lun 1 = /dev/null type=fileio\n"), 2,
	     "/dev/null is a character device, neither a regular file nor a block device"},
	};

	if (symlink(img, link) < 0 || mkdir(dir, 0755) < 0)
		abort();
	for (size_t i = 0; i < ELEMENTSOF(host); i++) {
		struct expect e = {host[i].conf, TM_ERROR, host[i].line, host[i].message};
		if (!host[i].conf)
			abort();
		check_one(&e, TM_VERIFY_HOST);
		free(host[i].conf);
	}

	/* Without TM_VERIFY_HOST nothing on the host is looked at. */
	text = tm_strdupf(TARGET(T1) "lun 1 = /dev/targetmgr-test-missing\nlun 2 = %s/missing\n",
			  tmpdir);
	{
		struct expect e = CLEAN(text);
		check_one(&e, 0);
	}

	if (find_block_device(blk, sizeof(blk))) {
		_cleanup_free_ char *conf = tm_strdupf(TARGET(T1) "lun 1 = %s\n", blk);
		struct expect e = CLEAN(conf);
		check_one(&e, TM_VERIFY_HOST);
	} else
		tap_skip("no block device in /dev to check a clean iblock LUN");

	unlink(link);
	unlink(img);
	rmdir(dir);
}

/* ---- duplicates: the one-pass checks against the pairwise definition ------------------- */

/*
 * What verify reported before it was made linear, written as directly as possible: each
 * object against every earlier one.  Only the messages about duplicates, in verify's order.
 */
static const struct tm_lun *pairwise_lun_of(const struct tm_config *c, const struct tm_backstore *b,
					    const struct tm_target **ret)
{
	for (size_t i = 0; i < c->n_targets; i++)
		for (size_t j = 0; j < c->targets[i].n_luns; j++) {
			const struct tm_lun *l = &c->targets[i].luns[j];
			if (l->origin.line == b->origin.line &&
			    streq_ptr(l->origin.file, b->origin.file) &&
			    streq(l->backstore_hba, b->hba) && streq(l->backstore_name, b->name)) {
				*ret = &c->targets[i];
				return l;
			}
		}
	return NULL;
}

static bool pairwise_same_lun(const struct tm_config *c, const struct tm_backstore *a,
			      const struct tm_backstore *b)
{
	const struct tm_target *ta = NULL, *tb = NULL;
	const struct tm_lun *la = pairwise_lun_of(c, a, &ta), *lb = pairwise_lun_of(c, b, &tb);

	return la && lb && la->number == lb->number && streq(ta->iqn, tb->iqn);
}

static bool pairwise_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
		return false;
	if (S_ISBLK(sa.st_mode) || S_ISBLK(sb.st_mode))
		return S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode) && sa.st_rdev == sb.st_rdev;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

#define EARLIER(v, n, i, j, cond, ...)                                                             \
	for (size_t j = 0; j < (i); j++)                                                           \
		if (cond) {                                                                        \
			fprintf(m, __VA_ARGS__);                                                   \
			break;                                                                     \
		}

static char *pairwise_duplicates(const struct tm_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		bail("open_memstream");
	for (size_t i = 0; i < c->n_targets; i++) {
		const struct tm_target *t = &c->targets[i];

		EARLIER(c->targets, c->n_targets, i, j, streq(c->targets[j].iqn, t->iqn),
			"%u: target %s already declared at t.conf:%u\n", t->origin.line, t->iqn,
			c->targets[j].origin.line);
		for (size_t k = 0; k < t->n_luns; k++)
			EARLIER(t->luns, t->n_luns, k, j, t->luns[j].number == t->luns[k].number,
				"%u: LUN %u already declared at t.conf:%u\n",
				t->luns[k].origin.line, t->luns[k].number, t->luns[j].origin.line);
		for (size_t k = 0; k < t->n_portals; k++)
			EARLIER(t->portals, t->n_portals, k, j,
				streq(t->portals[j].address, t->portals[k].address),
				"%u: portal %s already declared at t.conf:%u\n",
				t->portals[k].origin.line, t->portals[k].address,
				t->portals[j].origin.line);
		for (size_t k = 0; k < t->n_acls; k++)
			EARLIER(t->acls, t->n_acls, k, j,
				streq(t->acls[j].initiator, t->acls[k].initiator),
				"%u: initiator %s already declared at t.conf:%u\n",
				t->acls[k].origin.line, t->acls[k].initiator,
				t->acls[j].origin.line);
	}
	for (size_t i = 0; i < c->n_backstores; i++) {
		const struct tm_backstore *b = &c->backstores[i], *bs = c->backstores;

		EARLIER(bs, n, i, j, streq(bs[j].name, b->name) && !pairwise_same_lun(c, &bs[j], b),
			"%u: backstore name %s already used at t.conf:%u\n", b->origin.line,
			b->name, bs[j].origin.line);
		EARLIER(bs, n, i, j,
			streq_ptr(bs[j].serial, b->serial) && !streq(bs[j].name, b->name),
			"%u: serial %s already used at t.conf:%u: initiators would take both LUNs "
			"for one disk\n",
			b->origin.line, b->serial, bs[j].origin.line);
		if (!b->path)
			continue;
		for (size_t j = 0; j < i; j++) {
			if (!bs[j].path || pairwise_same_lun(c, &bs[j], b))
				continue;
			if (streq(bs[j].path, b->path)) {
				fprintf(m, "%u: %s is already used by the LUN at t.conf:%u\n",
					b->origin.line, b->path, bs[j].origin.line);
				break;
			}
			if (pairwise_same_file(bs[j].path, b->path)) {
				fprintf(m,
					"%u: %s is the same as %s, already used by the LUN at "
					"t.conf:%u\n",
					b->origin.line, b->path, bs[j].path, bs[j].origin.line);
				break;
			}
		}
	}
	fclose(m);
	return buf;
}

/* verify's messages about duplicates, as pairwise_duplicates() writes them. */
static char *reported_duplicates(const struct tm_diags *d)
{
	static const char *const kinds[] = {" already declared at ", " already used at ",
					    " already used by the LUN at ", " is the same as "};
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		bail("open_memstream");
	for (size_t i = 0; i < d->n; i++)
		for (size_t k = 0; k < ELEMENTSOF(kinds); k++)
			if (strstr(d->v[i].message, kinds[k])) {
				fprintf(m, "%u: %s\n", d->v[i].line, d->v[i].message);
				break;
			}
	fclose(m);
	return buf;
}

static uint32_t rnd_state = 20261204;

static unsigned rnd(unsigned n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state % n;
}

/* Random target files with few names to pick from, so that every kind of duplicate occurs:
   targets, LUNs, portals, initiators, backstore names, serials, and backing files under one
   path, under a symlink and under a hard link. */
static char *random_conf(const char *const *paths, size_t n_paths)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		bail("open_memstream");
	for (unsigned t = 0, nt = 1 + rnd(4); t < nt; t++) {
		fprintf(m, "[target iqn.2026-12.test.dup:t%u]\n", rnd(3));
		for (unsigned l = 0, nl = rnd(6); l < nl; l++) {
			unsigned kind = rnd(n_paths + 1);

			if (kind == n_paths)
				fprintf(m, "lun %u = ramdisk size=1M", rnd(4));
			else
				fprintf(m, "lun %u = %s", rnd(4), paths[kind]);
			if (rnd(3) == 0)
				fprintf(m, " name=n%u", rnd(3));
			if (rnd(3) == 0)
				fprintf(m, " serial=%032x", rnd(2));
			fputc('\n', m);
		}
		if (rnd(2))
			fprintf(m, "portal = 10.0.0.%u:3260\n", rnd(2));
		if (rnd(2))
			fprintf(m, "initiator = iqn.2026-12.test.dup:i%u\n", rnd(2));
		if (rnd(2))
			fprintf(m, "initiator = iqn.2026-12.test.dup:i%u\n", rnd(2));
	}
	fclose(m);
	return buf;
}

static void test_duplicates_pairwise(void)
{
	_cleanup_free_ char *a = tap_write_file(tmpdir, "a.img", "data", 0644);
	_cleanup_free_ char *b = tap_write_file(tmpdir, "b.img", "data", 0644);
	_cleanup_free_ char *sym = tm_strdupf("%s/sym.img", tmpdir);
	_cleanup_free_ char *hard = tm_strdupf("%s/hard.img", tmpdir);
	_cleanup_free_ char *dotted = tm_strdupf("%s/./a.img", tmpdir);
	const char *const paths[] = {a, b, sym, hard, dotted};
	unsigned runs = 0, agreed = 0, found = 0;

	if (!sym || !hard || !dotted || symlink(a, sym) < 0 || link(b, hard) < 0)
		bail("fixture");
	for (; runs < 400; runs++) {
		_cleanup_free_ char *text = random_conf(paths, ELEMENTSOF(paths));
		_cleanup_config_ struct tm_config *c = tm_config_new();
		_cleanup_free_ char *want = NULL, *got = NULL;
		struct tm_diags d = {0};

		if (!c || tm_parse_string("t.conf", text, c, &d) < 0 || d.n_errors > 0) {
			tap_diag("does not parse:\n%s", text);
			tap_dump_diags(&d);
			tm_diags_clear(&d);
			break;
		}
		want = pairwise_duplicates(c);
		(void)tm_verify(c, TM_VERIFY_HOST, &d);
		got = reported_duplicates(&d);
		tm_diags_clear(&d);
		if (!streq(want, got)) {
			tap_diag("for:\n%s", text);
			tap_diag("pairwise:\n%s", want);
			tap_diag("verify:\n%s", got);
			break;
		}
		agreed++;
		found += *want != '\0';
	}
	CHECK(agreed == runs && runs == 400,
	      "verify reports the duplicates of 400 random files as the pairwise checks do");
	CHECK(found > 200, "most random files had duplicates (%u)", found);
	unlink(sym);
	unlink(hard);
	unlink(a);
	unlink(b);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 2;

	test_cases();
	test_iscsi_names();
	test_duplicate_targets();
	test_bad_secrets();
	test_host();
	test_duplicates_pairwise();

	CHECK(scanned > 30 && leaked == 0, "no diagnostic contains a secret (%u scanned)", scanned);
	if (rmdir(tmpdir) < 0)
		tap_diag("cannot remove %s: %s", tmpdir, strerror(errno));
	return tap_done();
}
