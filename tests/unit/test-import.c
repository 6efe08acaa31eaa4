/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The importers on a corpus of real configurations (tests/unit/import/): the example shipped
 * in Debian's tgt package, tgt's own targets.conf with a conf.d of the classic tutorial's
 * files, a file with every tgt-admin directive, targetcli saveconfig.json files, and SCST's
 * documented scst.conf.  For each: the target files written and the diagnostics must match
 * the golden file (tests/unit/import/golden/NAME.txt; TM_UPDATE_GOLDEN=1 rewrites them), the
 * output must parse and verify and carry what the source says (targets, LUN numbers, serials,
 * initiators), and no message may hold a secret.
 *
 * Usage: test-import GOLDEN-DIR (the import corpus is GOLDEN-DIR/../import).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdio.h>

#include "import.h"
#include "layout.h"
#include "model.h"
#include "parse.h"
#include "save.h"
#include "tap-diags.h"
#include "tap.h"
#include "util.h"
#include "verify.h"

static const char *corpus;

/* Every secret in the corpus: no diagnostic may contain one. */
static const char *const secrets[] = {
    "pruebaiscsi2021", "Sup3rS3cretPw", "mutu4lS3cret", "r3aderS3cret",
    "wr1terS3cret",    "d1scoS3cret!",  "d1scoMutu4l!", "tcl1S3cretPw",
    "dem0S3cretPw",    "secretpass12",  "secretpass23", "secretpassA",
};

struct result {
	struct tm_config *c;    /* the imported model */
	struct tm_config *back; /* the output parsed again (NULL with errors) */
	char *text;             /* output, then the diagnostics */
	struct tm_diags d;
	int r;
};

static void result_done(struct result *res)
{
	tm_config_unref(res->c);
	tm_config_unref(res->back);
	free(res->text);
	tm_diags_clear(&res->d);
}

static char *slurp(const char *path)
{
	char *text = NULL;
	struct tm_import_options o = {0};

	return tm_import_read_file(&o, path, &text, NULL) < 0 ? NULL : text;
}

/* Imports, writes, parses the output again; compares with the golden file. */
static void run(const char *name, const char *format, const char *root, const char *path,
		struct result *res)
{
	_cleanup_free_ char *rootdir = tm_strdupf("%s%s", corpus, root);
	_cleanup_free_ char *golden = tm_strdupf("%s/golden/%s.txt", corpus, name);
	_cleanup_free_ char *want = NULL, *out = NULL, *header = NULL;
	struct tm_import_options o = {.root = rootdir};
	struct tm_diags writer = {0};
	size_t len = 0;
	FILE *f;

	*res = (struct result){.c = tm_config_new()};
	if (!res->c || !rootdir || !golden)
		bail("allocating");
	res->r = streq(format, "tgt")          ? tm_import_tgt(path, &o, res->c, &res->d)
		 : streq(format, "saveconfig") ? tm_import_saveconfig(path, &o, res->c, &res->d)
					       : tm_import_scst(path, &o, res->c, &res->d);
	header = tm_strdupf("Target files for targetmgr(8), written by 'targetmgr import %s' "
			    "from %s.",
			    format, res->c->n_files ? res->c->files[0] : "?");
	f = open_memstream(&res->text, &len);
	if (!f || !header)
		bail("open_memstream");
	if (res->d.n_errors == 0 && res->r >= 0) {
		struct tm_save_options so = {.header = header};

		CHECK_INT(tm_config_write(f, res->c, &so, &writer), 0,
			  "the writer takes the model");
		fflush(f);
		out = strndup(res->text, len);
		for (size_t i = 0; i < writer.n; i++)
			tm_diag_add(&res->d, TM_WARNING, NULL, 0, "%s", writer.v[i].message);
		fputs("---- diagnostics\n", f);
	}
	tm_diags_print(&res->d, f);
	fclose(f);
	tm_diags_clear(&writer);

	if (getenv("TM_UPDATE_GOLDEN")) {
		f = fopen(golden, "we");
		if (!f || fputs(res->text, f) < 0 || fclose(f) != 0)
			bail(golden);
	}
	want = slurp(golden);
	if (!CHECK_STR(res->text, want, name)) {
		tap_diag("  output:");
		tap_dump_diags(&res->d);
	}
	for (size_t i = 0; i < res->d.n; i++)
		for (size_t j = 0; j < ELEMENTSOF(secrets); j++)
			if (strstr(res->d.v[i].message, secrets[j]))
				CHECK(false, "%s: no message holds a secret: %s", name,
				      res->d.v[i].message);

	if (!out)
		return;
	res->back = tm_config_new();
	{
		struct tm_diags d = {0};

		CHECK_INT(tm_parse_string("out", out, res->back, &d), 0, "the output parses");
		if (d.n_errors == 0)
			tm_verify(res->back, 0, &d);
		if (!CHECK_INT(d.n_errors, 0, "the output passes check"))
			tap_dump_diags(&d);
		tm_diags_clear(&d);
	}
}

static const struct tm_lun *lun(const struct tm_config *c, const char *iqn, unsigned n)
{
	const struct tm_target *t = c ? tm_config_find_target(c, iqn) : NULL;
	return t ? tm_target_find_lun(t, n) : NULL;
}

static const struct tm_backstore *lun_backstore(const struct tm_config *c, const char *iqn,
						unsigned n)
{
	const struct tm_lun *l = lun(c, iqn, n);
	return l ? tm_config_find_backstore(c, l->backstore_hba, l->backstore_name) : NULL;
}

/* LUN n of iqn in the output: served from path with that serial. */
static void check_lun(const struct result *res, const char *iqn, unsigned n, const char *path,
		      const char *serial)
{
	const struct tm_backstore *b = lun_backstore(res->back, iqn, n);

	if (!CHECK(b, "%s: LUN %u is in the output", iqn, n))
		return;
	CHECK_STR(b->path, path, "its path");
	CHECK_STR(b->serial, serial, "its serial");
}

static void test_tgt(void)
{
	struct result res;
	const struct tm_target *t;
	const struct tm_setting *s;

	/* Debian's /usr/share/doc/tgt/examples/targets.conf.example. */
	run("tgt-debian-example", "tgt", "", "/tgt/targets.conf.example", &res);
	CHECK_INT(res.r, 0, "the example reads");
	/* target4: backing-stores first, then direct-stores, each in path order. */
	check_lun(&res, "iqn.2008-09.com.example:server.target4", 1, "/dev/sdc", "beaf41");
	check_lun(&res, "iqn.2008-09.com.example:server.target4", 2, "/dev/sde", "beaf42");
	check_lun(&res, "iqn.2008-09.com.example:server.target4", 3, "/dev/sdb", "beaf43");
	/* target5: explicit lun 2 and 15 reserved; the unnumbered block takes 3. */
	/* ... and its controller_tid 10 is the TID in its default serials. */
	check_lun(&res, "iqn.2008-09.com.example:server.target5", 2, "/dev/sda", "beaf102");
	check_lun(&res, "iqn.2008-09.com.example:server.target5", 3, "/dev/sdb1", "SERIAL");
	check_lun(&res, "iqn.2008-09.com.example:server.target5", 15, "/dev/sdd1", "multipath-10");
	CHECK(!lun(res.back, "iqn.2008-09.com.example:server.target5", 1),
	      "target5: the CD-ROM LUN 1 is not carried");
	t = tm_config_find_target(res.back, "iqn.2008-09.com.example:server.target5");
	s = t ? tm_settings_find(&t->settings, "auth/userid") : NULL;
	CHECK(s && streq(s->value, "user1"), "target5: the first incominguser is its CHAP user");
	result_done(&res);

	/* tgt's own /etc/tgt/targets.conf, including conf.d/ *.conf: the tutorial's targets. */
	run("tgt-tutorial", "tgt", "/tgt/root", NULL, &res);
	CHECK_INT(res.r, 0, "the default path reads, with its includes");
	check_lun(&res, "iqn.2021-02.com.example:target1", 1,
		  "/dev/disk/by-id/ata-VBOX_HARDDISK_VBc912936c-7d03844e", "beaf11");
	check_lun(&res, "iqn.2021-02.com.example:target2", 1,
		  "/dev/disk/by-id/ata-VBOX_HARDDISK_VB23af71a2-40586852", "beaf21");
	check_lun(&res, "iqn.2021-02.com.example:target2", 2, "/srv/iscsi/disk2.img", "beaf22");
	t = tm_config_find_target(res.back, "iqn.2021-02.com.example:target2");
	CHECK(t && t->n_acls == 1 &&
		  streq(t->acls[0].initiator, "iqn.1993-08.org.debian:01:6c92b3891490"),
	      "target2: initiator-name is its one initiator");
	s = t && t->n_acls ? tm_settings_find(&t->acls[0].settings, "auth/password") : NULL;
	CHECK(s && streq(s->value, "pruebaiscsi2021") && s->secret, "target2: CHAP carried");
	result_done(&res);

	run("tgt-directives", "tgt", "", "/tgt/directives.conf", &res);
	check_lun(&res, "iqn.2024-01.com.example:all", 1, "/srv/iscsi/reserved.img", "acme-0001");
	check_lun(&res, "iqn.2024-01.com.example:all", 2, "/srv/iscsi/a.img", "beaf72");
	check_lun(&res, "iqn.2024-01.com.example:all", 9, "/dev/sdy", "disk-sdy-serial");
	check_lun(&res, "iqn.2024-01.com.example:readonly", 4, "/srv/iscsi/cdimage.iso", "beaf114");
	CHECK(lun(res.back, "iqn.2024-01.com.example:all", 1) &&
		  lun(res.back, "iqn.2024-01.com.example:all", 1)->readonly,
	      "readonly 1 makes the LUN read-only");
	CHECK(res.back && res.back->discovery.n > 0, "discovery CHAP carried");
	CHECK(lun_backstore(res.back, "iqn.2024-01.com.example:all", 2) &&
		  lun_backstore(res.back, "iqn.2024-01.com.example:all", 2)->write_through &&
		  !tm_settings_find(
		      &lun_backstore(res.back, "iqn.2024-01.com.example:all", 2)->settings,
		      "attrib/emulate_write_cache"),
	      "write-cache off on a file is write-through, not a hidden write cache");
	result_done(&res);

	run("tgt-errors", "tgt", "", "/tgt/errors.conf", &res);
	CHECK_INT(res.d.n_errors, 6, "what tgt-admin refuses is an error");
	result_done(&res);
}

static void test_saveconfig(void)
{
	struct result res;
	const struct tm_target *t;
	const struct tm_acl *a;

	run("saveconfig-tutorial", "saveconfig", "", "/saveconfig/targetcli-tutorial.json", &res);
	CHECK_INT(res.r, 0, "the JSON reads");
	check_lun(&res, "iqn.2003-01.org.linux-iscsi.host.x8664:sn.4c2ab1f0e3d9", 0,
		  "/dev/disk/by-id/ata-VBOX_HARDDISK_VBc912936c-7d03844e",
		  "8a3b5f2c-1d4e-4c1f-9b7a-0e2d3c4b5a69");
	check_lun(&res, "iqn.2003-01.org.linux-iscsi.host.x8664:sn.4c2ab1f0e3d9", 1,
		  "/srv/iscsi/disk2.img", "5e1f0c3a-7b2d-4e8f-a1c9-3d6b8e0f2a47");
	t = tm_config_find_target(res.back,
				  "iqn.2003-01.org.linux-iscsi.host.x8664:sn.4c2ab1f0e3d9");
	a = t ? tm_target_find_acl(t, "iqn.1991-05.com.microsoft:backup-server") : NULL;
	CHECK(a && a->n_mapped_luns == 1 && a->mapped_luns[0].number == 1,
	      "an ACL's mapped LUNs are carried");
	CHECK(a && tm_settings_find(&a->settings, "auth/password_mutual"),
	      "mutual CHAP of an ACL is carried");
	CHECK(t && t->n_portals == 2, "both portals are carried");
	CHECK(
	    lun_backstore(res.back, "iqn.2003-01.org.linux-iscsi.host.x8664:sn.4c2ab1f0e3d9", 1) &&
		tm_settings_find(&lun_backstore(res.back,
						"iqn.2003-01.org.linux-iscsi.host.x8664:sn."
						"4c2ab1f0e3d9",
						1)
				      ->settings,
				 "attrib/block_size"),
	    "a backstore attribute that differs from LIO's default is carried");
	CHECK(
	    lun_backstore(res.back, "iqn.2003-01.org.linux-iscsi.host.x8664:sn.4c2ab1f0e3d9", 0) &&
		!tm_settings_find(&lun_backstore(res.back,
						 "iqn.2003-01.org.linux-iscsi.host.x8664:sn."
						 "4c2ab1f0e3d9",
						 0)
				       ->settings,
				  "attrib/emulate_tas"),
	    "an attribute at LIO's default is not");
	result_done(&res);

	/* rtslib's write_back=false is O_DSYNC: write-through; true is targetmgr's default. */
	run("saveconfig-write-back", "saveconfig", "", "/saveconfig/write-back.json", &res);
	CHECK(lun_backstore(res.back, "iqn.2003-01.org.linux-iscsi.host.x8664:sn.writeback", 0) &&
		  !lun_backstore(res.back, "iqn.2003-01.org.linux-iscsi.host.x8664:sn.writeback", 0)
		       ->write_through,
	      "write_back=true is served write-back");
	CHECK(lun_backstore(res.back, "iqn.2003-01.org.linux-iscsi.host.x8664:sn.writeback", 1) &&
		  lun_backstore(res.back, "iqn.2003-01.org.linux-iscsi.host.x8664:sn.writeback", 1)
		      ->write_through,
	      "write_back=false is served write-through");
	result_done(&res);

	/* ALUA groups: each LUN's group, with id, type, state and preferred. */
	run("saveconfig-alua", "saveconfig", "", "/saveconfig/alua.json", &res);
	CHECK(res.r == 0 && res.d.n == 0, "ALUA groups are carried without a warning");
	CHECK(res.text && strstr(res.text, "[alua far]\nid = 20\nstate = standby\n") &&
		  strstr(res.text,
			 "[alua near]\nid = 10\nstate = active/optimized\npreferred = yes\n"),
	      "each group is declared once with its id, state and preference");
	CHECK(lun(res.back, "iqn.2003-01.org.linux-iscsi.host.x8664:sn.far", 0) &&
		  tm_settings_find(
		      &lun(res.back, "iqn.2003-01.org.linux-iscsi.host.x8664:sn.far", 0)->settings,
		      TM_LAYOUT_LUN_ALUA_GROUP),
	      "the LUN is in its group once the written files are read back");
	result_done(&res);

	/* Two groups with one id (LIO numbers them per storage object): the second's is not
	   written, so that the files parse (found by fuzz-import-saveconfig). */
	run("saveconfig-alua-same-id", "saveconfig", "", "/saveconfig/alua-same-id.json", &res);
	CHECK(res.r == 0 && res.back && res.back->n_alua_groups == 2 &&
		  res.back->alua_groups[0].id != res.back->alua_groups[1].id,
	      "two groups sharing an id are written so that the files parse, with two ids");
	result_done(&res);

	/* No path: /etc/rtslib-fb-target/saveconfig.json is missing, /etc/target's is read. */
	run("saveconfig-default", "saveconfig", "/saveconfig/root", NULL, &res);
	CHECK_INT(res.r, 0, "the default path falls back to /etc/target/saveconfig.json");
	result_done(&res);

	run("saveconfig-broken", "saveconfig", "", "/saveconfig/broken.json", &res);
	CHECK_INT(res.d.n_errors, 1, "a file that is not JSON is one error, with its line");
	result_done(&res);
}

static void test_scst(void)
{
	struct result res;
	const struct tm_target *t;

	run("scst-docs", "scst", "", "/scst/scst-docs.conf", &res);
	CHECK_INT(res.r, 0, "scst.conf reads");
	check_lun(&res, "iqn.2006-10.net.vlnb:tgt", 0, "/srv/scst/disk01.img", "3c8c5a7e01");
	check_lun(&res, "iqn.2006-10.net.vlnb:tgt", 1, "/dev/vg0/iscsi01", "3c8c5a7e03");
	t = tm_config_find_target(res.back, "iqn.2006-10.net.vlnb:tgt1");
	CHECK(t && t->n_acls == 2, "a GROUP's exact initiator names become its initiators");
	CHECK(lun(res.back, "iqn.2006-10.net.vlnb:tgt1", 0) &&
		  lun(res.back, "iqn.2006-10.net.vlnb:tgt1", 0)->readonly,
	      "a read_only device is a read-only LUN");
	CHECK(lun_backstore(res.back, "iqn.2006-10.net.vlnb:tgt1", 0) &&
		  lun_backstore(res.back, "iqn.2006-10.net.vlnb:tgt1", 0)->write_through &&
		  lun_backstore(res.back, "iqn.2006-10.net.vlnb:tgt", 0) &&
		  !lun_backstore(res.back, "iqn.2006-10.net.vlnb:tgt", 0)->write_through,
	      "vdisk_fileio's write_through 1 is write-through, 0 write-back");
	result_done(&res);

	run("scst-duplicate-target", "scst", "", "/scst/duplicate-target.conf", &res);
	CHECK(res.r == 0 && res.back && res.back->n_targets == 1 &&
		  lun(res.back, "iqn.2024-01.com.example:a", 0) &&
		  !lun(res.back, "iqn.2024-01.com.example:a", 1),
	      "a TARGET named twice is carried once, from its first declaration");
	result_done(&res);
}

int main(int argc, char **argv)
{
	_cleanup_free_ char *dir = NULL;

	if (argc < 2) {
		fprintf(stderr, "usage: %s GOLDEN-DIR\n", argv[0]);
		return 2;
	}
	dir = tm_strdupf("%s/../import", argv[1]);
	corpus = dir;
	test_tgt();
	test_saveconfig();
	test_scst();
	return tap_done();
}
