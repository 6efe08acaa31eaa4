/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Target files -> model: values, order of settings, origins, and every syntax error's line. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

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
#include "syntax.h"
#include "tap.h"
#include "util.h"
#include "verify.h"

/* Every secret any test uses: no diagnostic may ever contain one. */
static const char *const secrets[] = {
    "pruebaiscsi2021", "Sup3rS3cretPw", "mutu4lS3cret", "fil3S3cretPass", "d1scoS3cret!",
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

/* Parses text as "t.conf" into a new config; diagnostics are scanned for secrets. */
static struct tm_config *parse(const char *text, struct tm_diags *d)
{
	struct tm_config *c = tm_config_new();
	int r;

	if (!c)
		abort();
	r = tm_parse_string("t.conf", text, c, d);
	if (r < 0) {
		tap_diag("tm_parse_string: %s", strerror(-r));
		abort();
	}
	scan_for_secrets(d);
	return c;
}

/* Checks the settings' paths and values, in order: "path=value" strings. */
static void check_settings(const char *what, const struct tm_settings *s,
			   const char *const *expected, size_t n)
{
	bool ok = s->n == n;

	for (size_t i = 0; ok && i < n; i++) {
		_cleanup_free_ char *e = tm_strdupf("%s=%s", s->v[i].path, s->v[i].value);
		ok = e && streq(e, expected[i]);
	}
	if (!CHECK(ok, "%s: settings %s", what, n ? expected[0] : "(none)")) {
		for (size_t i = 0; i < s->n; i++)
			tap_diag("  got %s=%s", s->v[i].path, s->v[i].value);
		for (size_t i = 0; i < n; i++)
			tap_diag("  expected %s", expected[i]);
	}
}
#define CHECK_SETTINGS(what, s, ...)                                                               \
	do {                                                                                       \
		const char *const _e[] = {__VA_ARGS__};                                            \
		check_settings(what, s, _e, ELEMENTSOF(_e));                                       \
	} while (0)

static bool is_hex32(const char *s)
{
	if (!s || strlen(s) != 32)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

#define T1 "iqn.2021-02.com.example:target1"
#define T2 "iqn.2021-02.com.example:target2"
#define I1 "iqn.1993-08.org.debian:01:6c92b3891490"
#define I2 "iqn.1993-08.org.debian:01:aaaaaaaaaaaa"

static const char seed[] =
    "[target " T1 "]\n"                                                                /* 1 */
    "lun 1 = /dev/disk/by-id/ata-VBOX_HARDDISK_VBc912936c-7d03844e\n"                  /* 2 */
    "\n"                                                                               /* 3 */
    "[target " T2 "]\n"                                                                /* 4 */
    "lun 1 = /dev/disk/by-id/ata-VBOX_HARDDISK_VB23af71a2-40586852\n"                  /* 5 */
    "lun 2 = /srv/iscsi/disk2.img size=10G      ; a regular file -> fileio, sparse\n"  /* 6 */
    "lun 3 = ramdisk size=1G nullio\n"                                                 /* 7 */
    "chap = iscsiuser pruebaiscsi2021           ; or: chap = iscsiuser @/etc/secret\n" /* 8 */
    "initiator = " I1 "   ; omit -> open to all (tgt's ALL)\n";                        /* 9 */

static void test_seed(void)
{
	struct tm_diags d = {0};
	_cleanup_config_ struct tm_config *c = parse(seed, &d);
	_cleanup_config_ struct tm_config *again = NULL;
	struct tm_diags d2 = {0};
	const struct tm_target *t;
	const struct tm_backstore *b;
	const struct tm_acl *a;

	if (!CHECK_EQ(d.n, 0))
		tap_dump_diags(&d);
	CHECK_EQ(tm_verify(c, 0, &d), 0);
	CHECK_EQ(d.n, 0);
	CHECK_EQ(c->n_files, 1);
	CHECK_STREQ(c->files[0], "t.conf");

	/* Backstores, in declaration order. */
	if (!CHECK_EQ(c->n_backstores, 4))
		return;
	b = &c->backstores[0];
	CHECK_EQ(b->type, TM_BACKSTORE_IBLOCK);
	/* The HBA index comes from the name: pinned here so that it never moves. */
	CHECK_STREQ(b->hba, "iblock_1013");
	CHECK_STREQ(b->name, "iqn.2021-02.com.example.target1-lun1");
	CHECK_STREQ(b->path, "/dev/disk/by-id/ata-VBOX_HARDDISK_VBc912936c-7d03844e");
	CHECK_EQ(b->size, 0);
	CHECK(!b->readonly && !b->nullio, "iblock LUN 1 is neither read-only nor nullio");
	CHECK(is_hex32(b->serial), "serial %s is 32 lowercase hex digits", b->serial);
	{
		_cleanup_free_ char *name = tm_default_backstore_name(T1, 1);
		_cleanup_free_ char *serial = tm_default_serial(b->name);
		CHECK_STREQ(b->name, name);
		CHECK_STREQ(b->serial, serial);
	}
	CHECK(b->origin.file == c->files[0] && b->origin.line == 2, "backstore origin t.conf:2");
	{
		_cleanup_free_ char *e = tm_strdupf("wwn/vpd_unit_serial=%s", b->serial);
		/* Persistent reservations on, LIO's INQUIRY strings: defaults a line can change. */
		CHECK_SETTINGS("iblock backstore", &b->settings, e, "attrib/emulate_pr=1",
			       "wwn/vendor_id=LIO-ORG", "wwn/product_id=IBLOCK", "enable=1");
	}

	b = &c->backstores[1];
	CHECK_STREQ(b->hba, "iblock_1014");
	CHECK_STREQ(b->name, "iqn.2021-02.com.example.target2-lun1");
	CHECK(is_hex32(b->serial) && !streq(b->serial, c->backstores[0].serial),
	      "serials of different backstores differ");

	b = &c->backstores[2];
	CHECK_EQ(b->type, TM_BACKSTORE_FILEIO);
	CHECK_STREQ(b->hba, "fileio_1011");
	CHECK_STREQ(b->name, "iqn.2021-02.com.example.target2-lun2");
	CHECK_STREQ(b->path, "/srv/iscsi/disk2.img");
	CHECK_EQ(b->size, 10ULL << 30);
	CHECK_EQ(b->origin.line, 6);

	b = &c->backstores[3];
	CHECK_EQ(b->type, TM_BACKSTORE_RAMDISK);
	CHECK_STREQ(b->hba, "rd_mcp_1008");
	CHECK_STREQ(b->name, "iqn.2021-02.com.example.target2-lun3");
	CHECK(b->path == NULL, "RAM disk has no path");
	CHECK_EQ(b->size, 1ULL << 30);
	CHECK(b->nullio, "RAM disk is nullio");

	if (!CHECK_EQ(c->n_targets, 2))
		return;

	/* Target 1: open, no CHAP. */
	t = &c->targets[0];
	CHECK_STREQ(t->iqn, T1);
	CHECK_EQ(t->tpgt, 1);
	CHECK(t->origin.file == c->files[0] && t->origin.line == 1, "target 1 origin t.conf:1");
	if (CHECK_EQ(t->n_portals, 1)) {
		CHECK_STREQ(t->portals[0].address, "0.0.0.0:3260");
		CHECK_EQ(t->portals[0].origin.line, 1);
	}
	if (CHECK_EQ(t->n_luns, 1)) {
		CHECK_EQ(t->luns[0].number, 1);
		CHECK_STREQ(t->luns[0].backstore_hba, "iblock_1013");
		CHECK_STREQ(t->luns[0].backstore_name, "iqn.2021-02.com.example.target1-lun1");
		CHECK(!t->luns[0].readonly, "LUN 1 writable");
		CHECK_EQ(t->luns[0].origin.line, 2);
	}
	CHECK_EQ(t->n_acls, 0);
	CHECK_SETTINGS("open target TPG", &t->settings, "attrib/generate_node_acls=1",
		       "attrib/cache_dynamic_acls=1", "attrib/demo_mode_write_protect=0",
		       "attrib/authentication=0", "enable=1");

	/* Target 2: one initiator, CHAP on its ACL. */
	t = &c->targets[1];
	CHECK_STREQ(t->iqn, T2);
	CHECK_EQ(t->origin.line, 4);
	CHECK(t->n_portals == 1 && streq(t->portals[0].address, "0.0.0.0:3260") &&
		  t->portals[0].origin.line == 4,
	      "target 2 default portal from t.conf:4");
	if (CHECK_EQ(t->n_luns, 3)) {
		CHECK_STREQ(t->luns[1].backstore_hba, "fileio_1011");
		CHECK_STREQ(t->luns[2].backstore_hba, "rd_mcp_1008");
		CHECK_EQ(t->luns[2].number, 3);
	}
	CHECK_SETTINGS("target with ACLs TPG", &t->settings, "attrib/generate_node_acls=0",
		       "attrib/authentication=1", "enable=1");
	if (!CHECK_EQ(t->n_acls, 1))
		return;
	a = &t->acls[0];
	CHECK_STREQ(a->initiator, I1);
	CHECK_EQ(a->origin.line, 9);
	if (CHECK_EQ(a->n_mapped_luns, 3))
		for (unsigned i = 0; i < 3; i++) {
			CHECK(a->mapped_luns[i].number == i + 1 && a->mapped_luns[i].lun == i + 1,
			      "mapped LUN %u -> LUN %u", i + 1, i + 1);
			CHECK_SETTINGS("mapped LUN", &a->mapped_luns[i].settings,
				       "write_protect=0");
		}
	CHECK_SETTINGS("ACL", &a->settings, "auth/userid=iscsiuser",
		       "auth/password=pruebaiscsi2021");
	if (CHECK_EQ(a->settings.n, 2)) {
		CHECK(!a->settings.v[0].secret && a->settings.v[1].secret,
		      "password is secret, userid is not");
		CHECK_EQ(a->settings.v[1].origin.line, 8);
	}
	CHECK_EQ(c->discovery.n, 0);

	/* Deterministic: the same text gives the same names and serials. */
	again = parse(seed, &d2);
	CHECK(again->n_backstores == 4 &&
		  streq(again->backstores[2].serial, c->backstores[2].serial) &&
		  streq(again->backstores[2].name, c->backstores[2].name),
	      "serials are stable across parses");
	tm_diags_clear(&d2);
	tm_diags_clear(&d);
}

static void test_open_chap(void)
{
	struct tm_diags d = {0};
	_cleanup_config_ struct tm_config *c = parse("[target " T1 "]\n"
						     "lun 0 = /srv/a.img\n"
						     "chap = user1 Sup3rS3cretPw\n"
						     "mutual-chap = user2 mutu4lS3cret\n"
						     "attribute.authentication = 0\n"
						     "parameter.MaxRecvDataSegmentLength = 65536\n"
						     "attribute.login_timeout = 20\n",
						     &d);
	const struct tm_target *t = &c->targets[0];

	CHECK_EQ(d.n, 0);
	CHECK_SETTINGS(
	    "open target with CHAP and pass-through", &t->settings, "attrib/generate_node_acls=1",
	    "attrib/cache_dynamic_acls=1", "attrib/demo_mode_write_protect=0",
	    "attrib/authentication=0", "auth/userid=user1", "auth/password=Sup3rS3cretPw",
	    "auth/userid_mutual=user2", "auth/password_mutual=mutu4lS3cret",
	    "param/MaxRecvDataSegmentLength=65536", "attrib/login_timeout=20", "enable=1");
	if (CHECK_EQ(t->settings.n, 11)) {
		CHECK(t->settings.v[5].secret && t->settings.v[7].secret &&
			  !t->settings.v[4].secret && !t->settings.v[6].secret,
		      "passwords are secret");
		CHECK_EQ(t->settings.v[3].origin.line, 5); /* replaced by the pass-through */
		CHECK_EQ(t->settings.v[4].origin.line, 3);
		CHECK_EQ(t->settings.v[6].origin.line, 4);
	}
	tm_diags_clear(&d);

	/* Without the override, CHAP turns authentication on. */
	{
		_cleanup_config_ struct tm_config *c2 =
		    parse("[target " T1 "]\nchap = user1 Sup3rS3cretPw\n", &d);
		CHECK_SETTINGS("open target with CHAP", &c2->targets[0].settings,
			       "attrib/generate_node_acls=1", "attrib/cache_dynamic_acls=1",
			       "attrib/demo_mode_write_protect=0", "attrib/authentication=1",
			       "auth/userid=user1", "auth/password=Sup3rS3cretPw", "enable=1");
		tm_diags_clear(&d);
	}
}

static void test_lun_options(void)
{
	struct tm_diags d = {0};
	_cleanup_config_ struct tm_config *c =
	    parse("[target " T1 "]\n"
		  "lun 0 = /dev/sdb ro serial=ABC.def_1-2\n"
		  "lun 1 = /srv/b.img readonly name=disk-b attribute.emulate_tpu=1 "
		  "attribute.block_size=4096\n"
		  "lun 2 = /srv/c.img type=iblock\n"
		  "lun 65535 = /dev/sdc type=fileio\n"
		  "initiator = " I1 " " I2 "\n",
		  &d);
	const struct tm_backstore *b = c->backstores;
	const struct tm_target *t = &c->targets[0];

	if (!CHECK_EQ(d.n, 0))
		tap_dump_diags(&d);
	if (!CHECK_EQ(c->n_backstores, 4) || !CHECK_EQ(t->n_luns, 4))
		return;
	CHECK(b[0].type == TM_BACKSTORE_IBLOCK && b[0].readonly, "ro iblock is opened read-only");
	CHECK(t->luns[0].readonly, "ro iblock LUN is read-only");
	CHECK_STREQ(b[0].serial, "ABC.def_1-2");
	CHECK_SETTINGS("serial=", &b[0].settings, "wwn/vpd_unit_serial=ABC.def_1-2",
		       "attrib/emulate_pr=1", "wwn/vendor_id=LIO-ORG", "wwn/product_id=IBLOCK",
		       "enable=1");

	CHECK(b[1].type == TM_BACKSTORE_FILEIO && !b[1].readonly,
	      "readonly fileio: the backstore stays writable");
	CHECK(t->luns[1].readonly, "readonly fileio LUN is read-only");
	CHECK_STREQ(b[1].name, "disk-b");
	CHECK_STREQ(t->luns[1].backstore_name, "disk-b");
	{
		_cleanup_free_ char *serial = tm_default_serial("disk-b");
		_cleanup_free_ char *e = tm_strdupf("wwn/vpd_unit_serial=%s", serial);
		CHECK_STREQ(b[1].serial, serial);
		CHECK_SETTINGS("attribute.", &b[1].settings, e, "attrib/emulate_tpu=1",
			       "attrib/block_size=4096", "attrib/emulate_pr=1",
			       "wwn/vendor_id=LIO-ORG", "wwn/product_id=FILEIO", "enable=1");
	}
	CHECK(b[2].type == TM_BACKSTORE_IBLOCK && streq(b[2].hba, "iblock_1004"),
	      "type=iblock overrides the path");
	CHECK(b[3].type == TM_BACKSTORE_FILEIO && streq(b[3].hba, "fileio_1014") && b[3].size == 0,
	      "type=fileio overrides /dev/");
	CHECK_EQ(t->luns[3].number, 65535);

	/* Every initiator maps every LUN, write-protecting the read-only ones. */
	if (CHECK_EQ(t->n_acls, 2) && CHECK_EQ(t->acls[1].n_mapped_luns, 4)) {
		const struct tm_acl *a = &t->acls[1];
		CHECK_STREQ(a->initiator, I2);
		CHECK_EQ(a->origin.line, 6);
		CHECK_SETTINGS("mapped LUN 0", &a->mapped_luns[0].settings, "write_protect=1");
		CHECK_SETTINGS("mapped LUN 1", &a->mapped_luns[1].settings, "write_protect=1");
		CHECK_SETTINGS("mapped LUN 2", &a->mapped_luns[2].settings, "write_protect=0");
		CHECK_EQ(a->mapped_luns[3].number, 65535);
		CHECK_EQ(a->settings.n, 0);
	}
	CHECK_SETTINGS("TPG without CHAP", &t->settings, "attrib/generate_node_acls=0",
		       "attrib/authentication=0", "enable=1");
	tm_diags_clear(&d);
}

/* The SCSI behaviour a lun line can change: write cache, reservations, INQUIRY strings. */
static void test_scsi_options(void)
{
	struct tm_diags d = {0};
	_cleanup_config_ struct tm_config *c =
	    parse("[target " T1 "]\n"
		  "lun 0 = /srv/a.img write-through reservations=off vendor=ACME product=Vault-9\n"
		  "lun 1 = /srv/b.img reservations=on attribute.emulate_tpu=0\n"
		  "lun 2 = /dev/sdb\n",
		  &d);
	const struct tm_backstore *b = c->backstores;

	if (!CHECK_EQ(d.n, 0))
		tap_dump_diags(&d);
	if (!CHECK_EQ(c->n_backstores, 3))
		return;
	CHECK(b[0].write_through, "write-through: O_DSYNC, no write cache reported");
	CHECK(!b[1].write_through, "fileio is buffered with WCE=1 by default");
	CHECK(!b[2].write_through, "iblock: the device's own cache");
	{
		_cleanup_free_ char *e = tm_strdupf("wwn/vpd_unit_serial=%s", b[0].serial);
		CHECK_SETTINGS("write-through", &b[0].settings, e, "attrib/emulate_pr=0",
			       "wwn/vendor_id=ACME", "wwn/product_id=Vault-9", "enable=1");
	}
	{
		_cleanup_free_ char *e = tm_strdupf("wwn/vpd_unit_serial=%s", b[1].serial);
		/* The thin-provisioning probe (lib/system.c) keeps what the line sets. */
		CHECK_SETTINGS("reservations=on", &b[1].settings, e, "attrib/emulate_pr=1",
			       "attrib/emulate_tpu=0", "wwn/vendor_id=LIO-ORG",
			       "wwn/product_id=FILEIO", "enable=1");
	}
	tm_diags_clear(&d);
}

static void test_portals(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"10.0.0.1", "10.0.0.1:3260"},
	    {"10.0.0.1:3261", "10.0.0.1:3261"},
	    {"0.0.0.0", "0.0.0.0:3260"},
	    {"[fe80::1]:3260", "[fe80::1]:3260"},
	    {"[FE80:0:0:0:0:0:0:1]:860", "[fe80::1]:860"},
	    {"[::]", "[::]:3260"},
	    {"::1", "[::1]:3260"},
	    {"2001:db8:0::1", "[2001:db8::1]:3260"},
	    {"10.0.0.256", NULL},
	    {"portal.example.com", NULL},
	    {"10.0.0.1:", NULL},
	    {"10.0.0.1:0", NULL},
	    {"10.0.0.1:65536", NULL},
	    {"10.0.0.1:32a", NULL},
	    {"[::1", NULL},
	    {"[::1]3260", NULL},
	    {"[10.0.0.1]:3260", NULL},
	    {"::1:3260:", NULL},
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct tm_diags d = {0};
		_cleanup_free_ char *text = NULL;
		_cleanup_config_ struct tm_config *c = NULL;
		const struct tm_target *t;

		text = tm_strdupf("[target %s]\nportal = %s\n", T1, cases[i].in);
		c = parse(text, &d);
		t = &c->targets[0];
		if (cases[i].out)
			CHECK(d.n == 0 && t->n_portals == 1 &&
				  streq(t->portals[0].address, cases[i].out) &&
				  t->portals[0].origin.line == 2,
			      "portal %s -> %s", cases[i].in, cases[i].out);
		else if (!CHECK(d.n_errors == 1 && d.v[0].line == 2 &&
				    strstr(d.v[0].message, "invalid portal") && t->n_portals == 1 &&
				    streq(t->portals[0].address, "0.0.0.0:3260"),
				"portal %s is an error at t.conf:2", cases[i].in))
			tap_dump_diags(&d);
		tm_diags_clear(&d);
	}

	{
		struct tm_diags d = {0};
		_cleanup_config_ struct tm_config *c =
		    parse("[target " T1 "]\nportal = 10.0.0.1\nportal = [::1]:3261\n", &d);
		const struct tm_target *t = &c->targets[0];
		CHECK(d.n == 0 && t->n_portals == 2 &&
			  streq(t->portals[0].address, "10.0.0.1:3260") &&
			  streq(t->portals[1].address, "[::1]:3261") &&
			  t->portals[1].origin.line == 3,
		      "two portals, no default one");
		tm_diags_clear(&d);
	}
}

static void test_indentation(void)
{
	struct tm_diags d = {0};
	_cleanup_config_ struct tm_config *c = parse("  [target " T1 "]\n"
						     "\tlun 1 = /srv/a.img size=1M\n"
						     "    lun 2 = /srv/b.img size=1M\n"
						     "        initiator = " I1 "\n"
						     "\t\t; a comment\n"
						     "    # another\n",
						     &d);
	const struct tm_target *t = &c->targets[0];

	if (!CHECK_EQ(d.n, 0))
		tap_dump_diags(&d);
	CHECK(c->n_targets == 1 && t->n_luns == 2 && t->luns[1].number == 2 &&
		  t->luns[1].origin.line == 3 && c->n_backstores == 2 &&
		  streq(c->backstores[1].path, "/srv/b.img"),
	      "an indented 'lun 2' line is its own key, not a continuation of 'lun 1'");
	CHECK(t->n_acls == 1 && streq(t->acls[0].initiator, I1) && t->acls[0].n_mapped_luns == 2,
	      "an indented 'initiator' line is its own key");
	tm_diags_clear(&d);
}

static void test_long_lines(void)
{
	struct tm_diags d = {0};
	_cleanup_free_ char *path = malloc(243);
	_cleanup_free_ char *text = NULL;
	_cleanup_config_ struct tm_config *c = NULL;

	memset(path, 'x', 242);
	path[0] = '/';
	path[242] = '\0';
	text = tm_strdupf("[target %s]\n"
			  "lun 1 = /srv/a.img\n"
			  "lun 2 = %s\n"
			  "lun 3 = /srv/c.img\n",
			  T1, path);
	CHECK_EQ(strlen("lun 2 = ") + strlen(path), 250);
	c = parse(text, &d);
	if (!CHECK(d.n == 1 && d.n_errors == 1 && d.v[0].line == 3 &&
		       streq(d.v[0].message, "line longer than 199 characters"),
		   "a 250-character line is an error at t.conf:3"))
		tap_dump_diags(&d);
	CHECK(c->targets[0].n_luns == 2 && c->targets[0].luns[1].number == 3 &&
		  c->targets[0].luns[1].origin.line == 4,
	      "the long line is dropped whole, the next line is parsed at its own number");
	tm_diags_clear(&d);

	/* 199 characters are fine. */
	{
		_cleanup_free_ char *line = NULL, *text2 = NULL;
		_cleanup_config_ struct tm_config *c2 = NULL;
		line = tm_strdupf("lun 1 = /%s", path + 52);
		CHECK_EQ(strlen(line), 199);
		text2 = tm_strdupf("[target %s]\r\n%s\r\n", T1, line);
		c2 = parse(text2, &d);
		CHECK(d.n == 0 && c2->targets[0].n_luns == 1 &&
			  strlen(c2->backstores[0].path) == 191 && c2->n_backstores == 1,
		      "a 199-character line (CR LF not counted) is parsed");
		tm_diags_clear(&d);
	}

	/* A lost [target] header must not hand its keys to the target above. */
	{
		_cleanup_free_ char *name = malloc(200), *text3 = NULL;
		_cleanup_config_ struct tm_config *c3 = NULL;
		memset(name, 'a', 199);
		name[199] = '\0';
		text3 = tm_strdupf("[target %s]\nlun 1 = /srv/a.img\n"
				   "[target iqn.2021-02.com.example:%s]\n"
				   "lun 1 = /srv/b.img\n[initiator %s]\n",
				   T1, name, I1);
		c3 = parse(text3, &d);
		if (!CHECK(d.n == 1 && d.v[0].line == 3 && c3->n_targets == 1 &&
			       c3->targets[0].n_luns == 1 && c3->targets[0].n_acls == 0,
			   "keys below an over-long section header are skipped"))
			tap_dump_diags(&d);
		tm_diags_clear(&d);
	}
}

static void test_long_section_name(void)
{
	/* inih truncates section names to 49 bytes; ours are parsed whole. */
	static const char iqn[] = "iqn.2021-02.com.example.storage:" /* 32 */
				  "a-rather-long-target-name-for-the-backup-array-01";
	struct tm_diags d = {0};
	_cleanup_free_ char *text = tm_strdupf("[target %s]\nlun 1 = /srv/a.img\n"
					       "[initiator %s:%s]\nluns = 1\n",
					       iqn, I1, "and-more-words-past-fifty-bytes");
	_cleanup_config_ struct tm_config *c = parse(text, &d);

	CHECK_EQ(d.n, 0);
	CHECK_STREQ(c->targets[0].iqn, iqn);
	CHECK(c->targets[0].n_acls == 1 &&
		  streq(c->targets[0].acls[0].initiator, I1 ":and-more-words-past-fifty-bytes"),
	      "long initiator section name kept whole");
	tm_diags_clear(&d);
}

static void test_comments_and_line_endings(void)
{
	struct tm_diags d = {0};
	_cleanup_config_ struct tm_config *c = parse("\xef\xbb\xbf; leading comment\r\n"
						     "# hash comment\r\n"
						     "[target " T1 "] ; trailing comment\r\n"
						     "lun 1 = /srv/a;b.img size=1M ; comment\r\n"
						     "portal = 10.0.0.1 ; comment\r\n"
						     "lun 2: /srv/c.img size=1M\r\n",
						     &d);
	const struct tm_target *t = &c->targets[0];

	if (!CHECK_EQ(d.n, 0))
		tap_dump_diags(&d);
	CHECK(t->n_luns == 2 && streq(c->backstores[0].path, "/srv/a;b.img") &&
		  c->backstores[0].size == 1 << 20,
	      "';' only starts a comment after whitespace; CR LF endings work");
	CHECK(t->n_portals == 1 && streq(t->portals[0].address, "10.0.0.1:3260"),
	      "inline comment after a portal");
	CHECK(c->backstores[1].origin.line == 6 && streq(c->backstores[1].path, "/srv/c.img"),
	      "':' separates like '='");
	tm_diags_clear(&d);
}

/* Control characters: comments may hold them; other lines may not, except tabs, which separate
   words and may stand inside a value. */
static void test_control_characters(void)
{
	struct tm_diags d = {0};
	_cleanup_config_ struct tm_config *c = parse("; a comment with a \x01 in it\n"
						     "[target " T1 "]\n"
						     "lun\t1\t=\t/srv/a.img\tsize=1M\n"
						     "parameter.X = a\tb\n",
						     &d);
	const struct tm_setting *e;

	if (!CHECK_EQ(d.n, 0))
		tap_dump_diags(&d);
	e = c->n_targets ? tm_settings_find(&c->targets[0].settings, "param/X") : NULL;
	CHECK(e && streq(e->value, "a\tb"), "a tab inside a value is kept");
	CHECK(c->n_backstores == 1 && streq(c->backstores[0].path, "/srv/a.img"),
	      "tabs separate words");
	tm_diags_clear(&d);
}

static void test_initiator_sections(void)
{
	struct tm_diags d = {0};
	_cleanup_config_ struct tm_config *c = parse("[target " T1 "]\n"                  /* 1 */
						     "lun 0 = /srv/a.img size=1M\n"       /* 2 */
						     "lun 1 = /srv/b.img size=1M ro\n"    /* 3 */
						     "chap = tuser Sup3rS3cretPw\n"       /* 4 */
						     "[initiator " I1 "]\n"               /* 5 */
						     "luns = 1\n"                         /* 6 */
						     "chap = iuser pruebaiscsi2021\n"     /* 7 */
						     "mutual-chap = muser mutu4lS3cret\n" /* 8 */
						     "attribute.dataout_timeout = 5\n"    /* 9 */
						     "[initiator " I2 "]\n"               /* 10 */
						     "attribute.nopin_timeout = 10\n",    /* 11 */
						     &d);
	const struct tm_target *t = &c->targets[0];
	const struct tm_acl *a;

	if (!CHECK_EQ(d.n, 0))
		tap_dump_diags(&d);
	if (!CHECK_EQ(t->n_acls, 2))
		return;
	a = &t->acls[0];
	CHECK(streq(a->initiator, I1) && a->origin.line == 5, "[initiator] ACL at t.conf:5");
	CHECK(a->n_mapped_luns == 1 && a->mapped_luns[0].number == 1 &&
		  a->mapped_luns[0].lun == 1 && a->mapped_luns[0].origin.line == 6,
	      "luns = 1 maps LUN 1 only");
	CHECK_SETTINGS("mapped ro LUN", &a->mapped_luns[0].settings, "write_protect=1");
	CHECK_SETTINGS("own CHAP", &a->settings, "auth/userid=iuser",
		       "auth/password=pruebaiscsi2021", "auth/userid_mutual=muser",
		       "auth/password_mutual=mutu4lS3cret", "attrib/dataout_timeout=5");

	a = &t->acls[1];
	CHECK(a->n_mapped_luns == 2 && a->mapped_luns[0].origin.line == 10,
	      "no luns: every LUN, from the section line");
	CHECK_SETTINGS("inherited CHAP", &a->settings, "auth/userid=tuser",
		       "auth/password=Sup3rS3cretPw", "attrib/nopin_timeout=10");
	if (CHECK_EQ(a->settings.n, 3))
		CHECK(a->settings.v[1].secret && a->settings.v[1].origin.line == 4,
		      "inherited secret keeps its origin t.conf:4");
	CHECK_SETTINGS("TPG of an ACL'd target", &t->settings, "attrib/generate_node_acls=0",
		       "attrib/authentication=1", "enable=1");
	CHECK_EQ(tm_verify(c, 0, &d), 0);
	scan_for_secrets(&d);
	tm_diags_clear(&d);
}

static void test_discovery(void)
{
	struct tm_diags d = {0};
	_cleanup_config_ struct tm_config *c = parse("[discovery]\n"
						     "mutual-chap = dm d1scoS3cret!\n"
						     "chap = du Sup3rS3cretPw\n",
						     &d);

	CHECK_EQ(d.n, 0);
	CHECK_EQ(c->n_targets, 0);
	CHECK_SETTINGS("discovery", &c->discovery, "userid=du", "password=Sup3rS3cretPw",
		       "userid_mutual=dm", "password_mutual=d1scoS3cret!",
		       "enforce_discovery_auth=1");
	if (CHECK_EQ(c->discovery.n, 5))
		CHECK(c->discovery.v[1].secret && c->discovery.v[3].secret &&
			  !c->discovery.v[4].secret && c->discovery.v[0].origin.line == 3 &&
			  c->discovery.v[2].origin.line == 2,
		      "discovery secrets and origins");

	/* A second file may not declare it again. */
	CHECK_EQ(tm_parse_string("u.conf", "[discovery]\nchap = x Sup3rS3cretPw\n", c, &d), 0);
	scan_for_secrets(&d);
	CHECK(d.n_errors == 1 && streq(d.v[0].file, "u.conf") && d.v[0].line == 2 &&
		  strstr(d.v[0].message, "already declared at t.conf:3"),
	      "discovery CHAP twice: u.conf:2 names t.conf:3");
	CHECK_EQ(c->discovery.n, 5);
	tm_diags_clear(&d);
}

/* Each text has exactly one error, at t.conf:<line>, whose message contains <text>. */
static const struct {
	const char *conf;
	unsigned line;
	const char *message;
} errors[] = {
    {"lun 1 = /srv/a.img\n", 1, "outside of any section"},
    {"\n[target " T1 "]\n[bogus]\nlun 1 = /srv/a.img\n", 3, "unknown section [bogus]"},
    {"[Target " T1 "]\n", 1, "unknown section [Target]"},
    {"[target]\nlun 1 = /srv/a.img\n", 1, "expected [target NAME]"},
    {"[target a b]\n", 1, "expected [target NAME]"},
    {"[target " T1 "\n", 1, "expected ']'"},
    {"[target " T1 "] x\n", 1, "unexpected text after ']'"},
    {"[]\n", 1, "empty section header"},
    {"[discovery x]\n", 1, "expected [discovery]"},
    {"[initiator " I1 "]\nluns = 1\n", 1, "without a [target] section above it"},
    {"[initiator]\n", 1, "expected [initiator NAME]"},
    {"[target " T1 "]\nlun 1 /srv/a.img\n", 2, "expected 'KEY = VALUE'"},
    {"[target " T1 "]\nlun 1 ; = /srv/a.img\n", 2, "expected 'KEY = VALUE'"},
    {"[target " T1 "]\n= /srv/a.img\n", 2, "missing key"},
    {"[target " T1 "]\nlun 1 =\n", 2, "missing value for 'lun 1'"},
    {"[target " T1 "]\nportal = ; comment\n", 2, "missing value for 'portal'"},
    {"[target " T1 "]\nLUN 1 = /srv/a.img\n", 2, "unknown key 'LUN 1'"},
    {"[target " T1 "]\nlun1 = /srv/a.img\n", 2, "unknown key 'lun1'"},
    {"[target " T1 "]\nbacking-store: /dev/sdb\n", 2, "use 'lun N = PATH'"},
    {"[target " T1 "]\nincominguser = u Sup3rS3cretPw\n", 2, "write 'chap = USER SECRET'"},
    {"[target " T1 "]\nincominguser=u Sup3rS3cretPw\n", 2, "use 'chap = USER SECRET'"},
    {"[target " T1 "]\ninitiator-name " I1 "\n", 2, "tgt syntax: write 'initiator = IQN'"},
    {"[target " T1 "]\nlun = /srv/a.img\n", 2, "use 'lun N = PATH'"},
    {"<target " T1 ">\n", 1, "write [target NAME] instead of <target NAME>"},
    {"[target " T1 "]\n</target>\n", 2, "no closing line"},
    {"[target " T1 "]\n    incominguser iscsiuser Sup3rS3cretPw\n", 2,
     "tgt syntax: write 'chap = USER SECRET'"},
    {"[target " T1 "]\nbacking-store /dev/sdb\n", 2, "tgt syntax: write 'lun N = PATH'"},
    {"[target " T1 "]\nwrite-cache off\n", 2, "'write-through' on a 'lun' line"},
    {"[target " T1 "]\nlun x = /srv/a.img\n", 2, "expected 'lun N' with N from 0 to 65535"},
    {"[target " T1 "]\nlun 65536 = /srv/a.img\n", 2, "from 0 to 65535"},
    {"[target " T1 "]\nlun -1 = /srv/a.img\n", 2, "from 0 to 65535"},
    {"[target " T1 "]\nlun 1 2 = /srv/a.img\n", 2, "from 0 to 65535"},
    {"[target " T1 "]\nlun 1 = srv/a.img\n", 2, "expected an absolute path or 'ramdisk'"},
    {"[target " T1 "]\nlun 1 = /srv/a,b.img\n", 2, "contains ','"},
    {"[target " T1 "]\nlun 1 = /srv/a.img bogus\n", 2, "unknown option 'bogus'"},
    {"[target " T1 "]\nlun 1 = /srv/a.img wce=1\n", 2, "unknown option 'wce='"},
    {"[target " T1 "]\nlun 1 = /srv/a.img size=10X\n", 2, "invalid size '10X'"},
    {"[target " T1 "]\nlun 1 = /srv/a.img size=0\n", 2, "not a positive multiple of 512"},
    {"[target " T1 "]\nlun 1 = /srv/a.img size=1000\n", 2, "not a positive multiple"},
    {"[target " T1 "]\nlun 1 = /srv/a.img size=1M size=2M\n", 2, "'size=' given twice"},
    {"[target " T1 "]\nlun 1 = /srv/a.img ro readonly\n", 2, "'readonly' given twice"},
    {"[target " T1 "]\nlun 1 = /srv/a.img serial=a/b\n", 2, "invalid serial 'a/b'"},
    {"[target " T1 "]\nlun 1 = /srv/a.img serial=\n", 2, "invalid serial ''"},
    {"[target " T1 "]\nlun 1 = /srv/a.img "
     "serial=01234567890123456789012345678901234567890123456789012345678901234\n",
     2, "invalid serial"},
    {"[target " T1 "]\nlun 1 = /srv/a.img name=..\n", 2, "invalid backstore name '..'"},
    {"[target " T1 "]\nlun 1 = /srv/a.img name=a:b\n", 2, "invalid backstore name"},
    {"[target " T1 "]\nlun 1 = /srv/a.img type=rd_mcp\n", 2, "invalid type 'rd_mcp'"},
    {"[target " T1 "]\nlun 1 = ramdisk size=1M type=fileio\n", 2, "does not apply to ramdisk"},
    {"[target " T1 "]\nlun 1 = /srv/a.img attribute.x-y=1\n", 2, "invalid attribute name"},
    {"[target " T1 "]\nlun 1 = /srv/a.img attribute.x=\n", 2, "attribute.NAME=VALUE"},
    {"[target " T1 "]\nlun 1 = /srv/a.img attribute.x=1 attribute.x=2\n", 2, "given twice"},
    {"[target " T1 "]\nportal = 10.0.0.1 10.0.0.2\n", 2, "expected 'portal = ADDRESS[:PORT]'"},
    {"[target " T1 "]\nchap = onlyuser\n", 2, "expected 'chap = USER SECRET'"},
    {"[target " T1 "]\nchap = u Sup3rS3cretPw extra\n", 2, "expected 'chap = USER SECRET'"},
    {"[target " T1 "]\nchap = u Sup3rS3cretPw\nchap = v pruebaiscsi2021\n", 3,
     "'chap' already set at t.conf:2"},
    {"[target " T1 "]\nmutual-chap = u Sup3rS3cretPw\nmutual-chap = v pruebaiscsi2021\n", 3,
     "'mutual-chap' already set at t.conf:2"},
    {"[target " T1 "]\nchap u Sup3rS3cretPw\n", 2, "expected 'KEY = VALUE'"},
    {"[target " T1 "]\nchap u Sup3rS3cretPw = x\n", 2, "unknown key 'chap ...'"},
    {"[target " T1 "]\nchap = u @relative/secret\n", 2, "not an absolute path"},
    {"[target " T1 "]\nchap = u @/nonexistent/targetmgr-secret\n", 2,
     "cannot open secret file /nonexistent/targetmgr-secret"},
    {"[target " T1 "]\nchap = u @/\n", 2, "secret file / is a directory, not a regular file"},
    {"[target " T1 "]\nattribute.a.b = 1\n", 2, "invalid name in 'attribute.a.b'"},
    {"[target " T1 "]\nattribute. = 1\n", 2, "invalid name"},
    {"[target " T1 "]\nparameter.HeaderDigest = None\nparameter.HeaderDigest = CRC32C\n", 3,
     "'parameter.HeaderDigest' already set at t.conf:2"},
    {"[target " T1 "]\nluns = 1\n", 2, "unknown key 'luns' in [target]"},
    {"[target " T1 "]\n[initiator " I1 "]\nlun 1 = /srv/a.img\n", 3,
     "unknown key 'lun 1' in [initiator]"},
    {"[target " T1 "]\n[initiator " I1 "]\nluns = 1 x\n", 3, "invalid LUN number 'x'"},
    {"[target " T1 "]\n[initiator " I1 "]\nluns = 1 1\n", 3, "LUN 1 listed twice"},
    {"[target " T1 "]\n[initiator " I1 "]\nluns = 1\nluns = 2\n", 4, "'luns' already set"},
    {"[target " T1 "]\n[initiator " I1 "]\nportal = 10.0.0.1\n", 3, "in [initiator]"},
    {"[discovery]\nportal = 10.0.0.1\n", 2, "in [discovery]: expected chap or mutual-chap"},
    {"[discovery]\nchap = u Sup3rS3cretPw\nchap = u pruebaiscsi2021\n", 3, "already set"},
    {"[target " T1 "]\nlun 1 = /srv/a.img\n\x01\n", 3, "control character (byte 0x01)"},
    /* save could not write these back: the parser refuses them, with the line. */
    {"[target " T1 "]\nlun 1 = /srv/a\x01"
     "b.img\n",
     2, "control character (byte 0x01)"},
    {"[target " T1 "]\nlun 1 = /srv/a\x7f"
     "b.img\n",
     2, "control character (byte 0x7f)"},
    {"[target " T1 "]\nattribute.x = a\x1b"
     "b\n",
     2, "control character (byte 0x1b)"},
    {"[target " T1 "]\nlun 1 = /dev/sdb type=fileio size=1M\n", 2,
     "size= does not apply to /dev/sdb"},
    {"[target " T1 "]\nlun 1 = /dev/sdb write-through\n", 2,
     "write-through applies to files (fileio)"},
    {"[target " T1 "]\nlun 1 = /srv/a.img write-through write-through\n", 2,
     "'write-through' given twice"},
    {"[target " T1 "]\nlun 1 = /srv/a.img vendor=TOOLONGVENDOR\n", 2,
     "invalid vendor 'TOOLONGVENDOR': expected 1 to 8 printable ASCII"},
    {"[target " T1 "]\nlun 1 = /srv/a.img product=\n", 2, "invalid product ''"},
    {"[target " T1 "]\nlun 1 = /srv/a.img product=\xc3\xa9t\xc3\xa9\n", 2, "invalid product"},
    {"[target " T1 "]\nlun 1 = /srv/a.img vendor=A vendor=B\n", 2, "'vendor' given twice"},
    {"[target " T1 "]\nlun 1 = /srv/a.img reservations=maybe\n", 2,
     "expected 'reservations=on' or 'off'"},
};

static void test_errors(void)
{
	for (size_t i = 0; i < ELEMENTSOF(errors); i++) {
		struct tm_diags d = {0};

		tm_config_free(parse(errors[i].conf, &d));
		if (!CHECK(d.n == 1 && d.n_errors == 1 && streq_ptr(d.v[0].file, "t.conf") &&
			       d.v[0].line == errors[i].line &&
			       strstr(d.v[0].message, errors[i].message),
			   "t.conf:%u: %s", errors[i].line, errors[i].message))
			tap_dump_diags(&d);
		tm_diags_clear(&d);
	}
}

static void test_every_bad_line(void)
{
	struct tm_diags d = {0};
	_cleanup_config_ struct tm_config *c = parse("[target " T1 "]\n"
						     "lun 1 /srv/a.img\n"
						     "lun 2 = /srv/b.img size=1M\n"
						     "portal 10.0.0.1\n"
						     "bogus = 1\n"
						     "lun 3 = relative\n",
						     &d);

	if (!CHECK(d.n_errors == 4 && d.v[0].line == 2 && d.v[1].line == 4 && d.v[2].line == 5 &&
		       d.v[3].line == 6,
		   "every bad line is reported: t.conf:2, 4, 5, 6"))
		tap_dump_diags(&d);
	CHECK(c->targets[0].n_luns == 1 && c->targets[0].luns[0].number == 2,
	      "good lines between bad ones are kept");
	tm_diags_clear(&d);
}

static char tmpdir[] = "/tmp/test-parse-XXXXXX";

static void test_secret_files(void)
{
	_cleanup_free_ char *p600 =
	    tap_write_file(tmpdir, "s600", "fil3S3cretPass\nsecond line\n", 0600);
	_cleanup_free_ char *p400 = tap_write_file(tmpdir, "s400", "Sup3rS3cretPw", 0400);
	_cleanup_free_ char *p644 = tap_write_file(tmpdir, "s644", "fil3S3cretPass\n", 0644);
	_cleanup_free_ char *p640 = tap_write_file(tmpdir, "s640", "fil3S3cretPass\n", 0640);
	_cleanup_free_ char *text = NULL;
	struct tm_diags d = {0};

	text = tm_strdupf("[target %s]\nlun 1 = /srv/a.img\nchap = u @%s\n"
			  "[initiator %s]\nmutual-chap = m @%s\n",
			  T1, p600, I1, p400);
	{
		_cleanup_config_ struct tm_config *c = parse(text, &d);
		const struct tm_acl *a = &c->targets[0].acls[0];

		if (!CHECK_EQ(d.n, 0))
			tap_dump_diags(&d);
		CHECK_SETTINGS("secrets from files", &a->settings, "auth/userid=u",
			       "auth/password=fil3S3cretPass", "auth/userid_mutual=m",
			       "auth/password_mutual=Sup3rS3cretPw");
		tm_diags_clear(&d);
	}

	free(text);
	text =
	    tm_strdupf("[target %s]\n\nchap = u @%s\n[discovery]\nchap = u @%s\n", T1, p644, p640);
	{
		_cleanup_config_ struct tm_config *c = parse(text, &d);

		if (!CHECK(
			d.n_errors == 2 && d.v[0].line == 3 && d.v[1].line == 5 &&
			    strstr(d.v[0].message, "accessible by group or others (mode 0644)") &&
			    strstr(d.v[1].message, "(mode 0640)") && strstr(d.v[0].message, p644),
			"group- or world-readable secret files are errors at t.conf:3 and :5"))
			tap_dump_diags(&d);
		CHECK(!tm_settings_find(&c->targets[0].settings, "auth/userid") &&
			  tm_settings_find(&c->targets[0].settings, "attrib/authentication") &&
			  streq(tm_settings_find(&c->targets[0].settings, "attrib/authentication")
				    ->value,
				"0") &&
			  c->discovery.n == 0,
		      "a refused secret file gives no credentials");
		tm_diags_clear(&d);
	}
	unlink(p600);
	unlink(p400);
	unlink(p644);
	unlink(p640);
}

static void test_parse_path(void)
{
	/* Created out of name order, so that readdir's order is unlikely to be the sorted one. */
	static const char *const names[] = {"60-f.conf", "20-b.conf", "50-e.conf",
					    "10-a.conf", "40-d.conf", "30-c.conf"};
	static const char *const sorted[] = {"10-a.conf", "20-b.conf", "30-c.conf",
					     "40-d.conf", "50-e.conf", "60-f.conf"};
	char *paths[ELEMENTSOF(names)];
	_cleanup_free_ char *x = tap_write_file(tmpdir, "notes.txt", "garbage\n", 0644);
	_cleanup_free_ char *h = tap_write_file(tmpdir, ".hidden.conf", "garbage\n", 0644);
	_cleanup_free_ char *dir = tm_strdupf("%s/sub.conf", tmpdir);
	_cleanup_free_ char *missing = tm_strdupf("%s/missing", tmpdir);
	struct tm_diags d = {0};

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		_cleanup_free_ char *text =
		    tm_strdupf("# %s\n[target iqn.2021-02.com.example:%.4s]\nlun 1 = /srv/%s\n",
			       names[i], names[i], names[i]);
		paths[i] = tap_write_file(tmpdir, names[i], text, 0644);
	}
	if (mkdir(dir, 0755) < 0)
		abort();
	{
		_cleanup_config_ struct tm_config *c = tm_config_new();
		bool ok;

		if (!CHECK_EQ(tm_parse_path(tmpdir, c, &d), 0))
			tap_dump_diags(&d);
		CHECK_EQ(d.n, 0);
		ok = c->n_targets == ELEMENTSOF(sorted);
		for (size_t i = 0; ok && i < ELEMENTSOF(sorted); i++) {
			_cleanup_free_ char *file = tm_strdupf("%s/%s", tmpdir, sorted[i]);
			_cleanup_free_ char *iqn =
			    tm_strdupf("iqn.2021-02.com.example:%.4s", sorted[i]);
			ok = streq(c->targets[i].origin.file, file) &&
			     c->targets[i].origin.line == 2 && streq(c->targets[i].iqn, iqn) &&
			     c->targets[i].luns[0].origin.line == 3;
		}
		CHECK(ok, "directory: only *.conf files, in name order; origins name the files");
		tm_diags_clear(&d);
	}
	{
		_cleanup_config_ struct tm_config *c = tm_config_new();
		CHECK_EQ(tm_parse_path(paths[0], c, &d), 0);
		CHECK(d.n == 0 && c->n_targets == 1 &&
			  streq(c->targets[0].iqn, "iqn.2021-02.com.example:60-f") &&
			  streq(c->targets[0].origin.file, paths[0]),
		      "a single file");
		tm_diags_clear(&d);
	}
	{
		_cleanup_config_ struct tm_config *c = tm_config_new();
		CHECK_EQ(tm_parse_path(missing, c, &d), -ENOENT);
		CHECK(d.n_errors == 1 && streq(d.v[0].file, missing) && d.v[0].line == 0,
		      "a missing path is an error naming it");
		tm_diags_clear(&d);
	}
	/* Trailing slash, and a syntax error reported with the full path. */
	{
		_cleanup_free_ char *bad =
		    tap_write_file(tmpdir, "35-x.conf", "[target x]\nfoo\n", 0644);
		_cleanup_free_ char *slash = tm_strdupf("%s/", tmpdir);
		_cleanup_config_ struct tm_config *c = tm_config_new();
		CHECK_EQ(tm_parse_path(slash, c, &d), 0);
		if (!CHECK(c->n_targets == 7 && streq(c->targets[3].iqn, "x") && d.n_errors == 1 &&
			       streq(d.v[0].file, bad) && d.v[0].line == 2,
			   "errors name file:line of the file in the directory"))
			tap_dump_diags(&d);
		tm_diags_clear(&d);
		unlink(bad);
	}
	/* Lines read from a file: an over-long one and one with a NUL byte. */
	{
		static const char tail[] = "\nlun 3 = /srv/c\0.img\nlun 4 = /srv/d.img\n";
		char text[400] = "[target " T1 "]\n# comment\nlun 2 = /";
		_cleanup_free_ char *file = tm_strdupf("%s/long.conf.d", tmpdir);
		_cleanup_config_ struct tm_config *c = tm_config_new();
		size_t n = strlen(text);
		int fd;

		memset(text + n, 'x', 250 - strlen("lun 2 = /"));
		n += 250 - strlen("lun 2 = /");
		memcpy(text + n, tail, sizeof(tail) - 1);
		n += sizeof(tail) - 1;
		fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, text, n) != (ssize_t)n || close(fd) < 0)
			abort();
		CHECK_EQ(tm_parse_path(file, c, &d), 0);
		if (!CHECK(d.n == 2 && d.v[0].line == 3 &&
			       streq(d.v[0].message, "line longer than 199 characters") &&
			       d.v[1].line == 4 && strstr(d.v[1].message, "NUL byte") &&
			       c->targets[0].n_luns == 1 && c->targets[0].luns[0].number == 4 &&
			       c->targets[0].luns[0].origin.line == 5,
			   "file: a 250-character line at :3 and a NUL byte at :4 are errors"))
			tap_dump_diags(&d);
		tm_diags_clear(&d);
		unlink(file);
	}
	rmdir(dir);
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		unlink(paths[i]);
		free(paths[i]);
	}
	unlink(x);
	unlink(h);
}

/* Backstores spread over targetmgr's 16 HBAs by name, and only those count as its own. */
/* IQNs over 59 characters: default backstore names stay within what name= takes, differ
   between targets that share a long start, and are the same every time. */
static void test_long_iqn_names(void)
{
	char a[120], b[120];
	struct tm_diags d = {0};
	_cleanup_free_ char *text = NULL, *short_name = tm_default_backstore_name(T1, 1);
	_cleanup_config_ struct tm_config *c = NULL;

	snprintf(a, sizeof(a), "iqn.2021-02.com.example:%s-a",
		 "a-very-long-target-name-0123456789-0123456789-0123456789");
	snprintf(b, sizeof(b), "iqn.2021-02.com.example:%s-b",
		 "a-very-long-target-name-0123456789-0123456789-0123456789");
	text = tm_strdupf("[target %s]\nlun 1 = ramdisk size=1M\nlun 65535 = ramdisk size=1M\n"
			  "[target %s]\nlun 1 = ramdisk size=1M\n",
			  a, b);
	c = parse(text, &d);
	tm_verify(c, 0, &d);
	if (!CHECK_EQ(d.n, 0))
		tap_dump_diags(&d);
	if (CHECK_EQ(c->n_backstores, 3)) {
		for (size_t i = 0; i < 3; i++) {
			_cleanup_free_ char *again = tm_default_backstore_name(
			    i < 2 ? a : b, c->targets[i < 2 ? 0 : 1].luns[i < 2 ? i : 0].number);
			CHECK(strlen(c->backstores[i].name) == TM_SYNTAX_NAME_MAX &&
				  tm_syntax_backstore_name_ok(c->backstores[i].name) &&
				  streq(c->backstores[i].name, again),
			      "%s: 64 characters, a valid name=, stable", c->backstores[i].name);
		}
		CHECK(!streq(c->backstores[0].name, c->backstores[2].name) &&
			  !streq(c->backstores[0].name, c->backstores[1].name),
		      "names differ between LUNs and between targets with a long common start");
	}
	CHECK_STREQ(short_name, "iqn.2021-02.com.example.target1-lun1");
	tm_diags_clear(&d);
}

static void test_hba_spread(void)
{
	bool used[TM_HBA_COUNT] = {false};
	size_t distinct = 0;

	for (unsigned lun = 0; lun < 64; lun++) {
		_cleanup_free_ char *name = tm_default_backstore_name(T1, lun);
		_cleanup_free_ char *hba = tm_backstore_hba(TM_BACKSTORE_RAMDISK, name);
		_cleanup_free_ char *again = tm_backstore_hba(TM_BACKSTORE_RAMDISK, name);
		unsigned index;

		if (!CHECK(hba && again && streq(hba, again) && tm_hba_is_ours(hba) &&
			       sscanf(hba, "rd_mcp_%u", &index) == 1 && index >= TM_HBA_INDEX &&
			       index < TM_HBA_INDEX + TM_HBA_COUNT,
			   "LUN %u: %s is a stable rd_mcp HBA of targetmgr's", lun,
			   hba ? hba : "?"))
			return;
		distinct += !used[index - TM_HBA_INDEX];
		used[index - TM_HBA_INDEX] = true;
	}
	CHECK(distinct >= 12, "64 backstores land in %zu of the 16 HBAs", distinct);
	CHECK(tm_hba_is_ours("iblock_1000") && tm_hba_is_ours("fileio_1015"),
	      "1000..1015 are ours");
	CHECK(!tm_hba_is_ours("rd_mcp_1016") && !tm_hba_is_ours("fileio_0") &&
		  !tm_hba_is_ours("user_1000") && !tm_hba_is_ours("iblock_") &&
		  !tm_hba_is_ours("rd_mcp_1000x"),
	      "other indexes, plugins and malformed names are not");
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 2;

	test_hba_spread();
	test_long_iqn_names();
	test_seed();
	test_open_chap();
	test_lun_options();
	test_scsi_options();
	test_portals();
	test_indentation();
	test_long_lines();
	test_long_section_name();
	test_comments_and_line_endings();
	test_control_characters();
	test_initiator_sections();
	test_discovery();
	test_errors();
	test_every_bad_line();
	test_secret_files();
	test_parse_path();

	CHECK(scanned > 50 && leaked == 0, "no diagnostic contains a secret (%u scanned)", scanned);

	if (rmdir(tmpdir) < 0)
		tap_diag("cannot remove %s: %s", tmpdir, strerror(errno));
	return tap_done();
}
