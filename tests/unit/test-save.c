/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Model -> target file text -> model.  Target text is parsed, marked as running state, written
 * with tm_config_write() and parsed again; both models must agree field by field (targets,
 * LUN numbers, backstores, portals, initiators, mapped LUNs, every setting and secret).  A
 * model built the way the scanner reads a targetcli host checks what the syntax cannot say:
 * comments, warnings, and the closest thing that can be said.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "roundtrip.h"
#include "parse.h"
#include "save.h"
#include "tap-diags.h"
#include "tap.h"
#include "util.h"
#include "verify.h"

#define T1 "iqn.2021-02.com.example:target1"
#define T2 "iqn.2021-02.com.example:target2"
#define I1 "iqn.1993-08.org.debian:01:6c92b3891490"
#define I2 "iqn.1993-08.org.debian:01:aaaaaaaaaaaa"

/* Every secret any test uses: no comment and no warning may ever contain one. */
/* A backstore where targetmgr puts one of that type and name (its HBA follows the name). */
static const struct tm_backstore *own_backstore(const struct tm_config *c, enum tm_backstore_type t,
						const char *name)
{
	_cleanup_free_ char *hba = tm_backstore_hba(t, name);
	return hba ? tm_config_find_backstore(c, hba, name) : NULL;
}

static const char *const secrets[] = {
    "pruebaiscsi2021", "Sup3rS3cretPw", "mutu4lS3cret", "r3aderS3cret", "wr1terS3cret",
    "d1scoS3cret!",    "d1scoMutu4l!",  "tcl1S3cretPw", "dem0S3cretPw",
};

static void dump_text(const char *text)
{
	_cleanup_free_ char *copy = strdup(text);
	char *save = NULL;

	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		tap_diag("  | %s", l);
}

/* Parses text; it must parse and verify without errors. */
static struct tm_config *parse(const char *name, const char *text)
{
	struct tm_config *c = tm_config_new();
	struct tm_diags d = {0};
	int r;

	if (!c)
		abort();
	r = tm_parse_string(name, text, c, &d);
	if (r < 0) {
		tap_diag("tm_parse_string: %s", strerror(-r));
		abort();
	}
	if (d.n_errors == 0)
		tm_verify(c, 0, &d);
	if (!CHECK(d.n_errors == 0, "%s parses and verifies without errors", name)) {
		tap_dump_diags(&d);
		dump_text(text);
	}
	tm_diags_clear(&d);
	return c;
}

/* The parsed model as the scanner would give it: every target has its TPG. */
static void mark_running(struct tm_config *c)
{
	for (size_t i = 0; i < c->n_targets; i++)
		c->targets[i].has_tpg = true;
}

static char *save(const struct tm_config *c, const struct tm_save_options *opts,
		  struct tm_diags *warnings)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int r;

	if (!f)
		abort();
	r = tm_config_write(f, c, opts, warnings);
	fclose(f);
	CHECK_EQ(r, 0);
	if (getenv("TM_SAVE_DUMP")) /* to read the output while changing the writer */
		dump_text(text);
	return text;
}

/* Nothing the parser would refuse, no secret outside chap lines, no line over 199. */
static void check_text(const char *what, const char *text, const struct tm_diags *warnings)
{
	size_t too_long = 0, leaked = 0;
	const char *line = text;

	while (*line) {
		size_t n = strcspn(line, "\n");
		bool comment = line[0] == ';' || line[0] == '#';

		too_long += n > 199;
		for (size_t j = 0; comment && j < ELEMENTSOF(secrets); j++)
			if (memmem(line, n, secrets[j], strlen(secrets[j])))
				leaked++;
		line += n + (line[n] == '\n');
	}
	for (size_t i = 0; warnings && i < warnings->n; i++)
		for (size_t j = 0; j < ELEMENTSOF(secrets); j++)
			if (strstr(warnings->v[i].message, secrets[j]))
				leaked++;
	CHECK_EQ(too_long, 0);
	if (!CHECK(leaked == 0, "%s: no secret in comments or warnings", what))
		dump_text(text);
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

#define CHECK_LINE(text, line)                                                                     \
	do {                                                                                       \
		if (!CHECK(has_line(text, line), "line: %s", line))                                \
			dump_text(text);                                                           \
	} while (0)
#define CHECK_NO_LINE(text, line) CHECK(!has_line(text, line), "no line: %s", line)

static bool has_warning(const struct tm_diags *d, const char *part)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].severity == TM_WARNING && !d->v[i].file &&
		    strstr(d->v[i].message, part))
			return true;
	return false;
}

#define CHECK_WARNING(d, part)                                                                     \
	do {                                                                                       \
		if (!CHECK(has_warning(d, part), "warning: %s", part))                             \
			tap_dump_diags(d);                                                         \
	} while (0)

/* Everything in a must be in b, with the same values, and nothing more. */
static bool same_model(const char *what, const struct tm_config *a, const struct tm_config *b)
{
	return CHECK(model_same(a, b, stdout),
		     "%s: the model survives save and parse, field by field", what);
}

/* parse -> running -> save -> parse; returns the saved text, *ret the model read back. */
static char *round_trip(const char *what, const char *text, struct tm_config **ret_in,
			struct tm_config **ret_out, struct tm_diags *warnings)
{
	_cleanup_free_ char *name = tm_strdupf("%s.conf", what);
	_cleanup_free_ char *saved_name = tm_strdupf("%s-saved.conf", what);
	struct tm_config *in = parse(name, text), *out;
	char *saved;

	mark_running(in);
	saved = save(in, NULL, warnings);
	check_text(what, saved, warnings);
	out = parse(saved_name, saved);
	if (!same_model(what, in, out))
		dump_text(saved);
	*ret_in = in;
	*ret_out = out;
	return saved;
}

/* ---- round trips ------------------------------------------------------------------------- */

static const char seed[] =
    "[target " T1 "]\n"
    "lun 1 = /dev/disk/by-id/ata-VBOX_HARDDISK_VBc912936c-7d03844e\n"
    "\n"
    "[target " T2 "]\n"
    "lun 1 = /dev/disk/by-id/ata-VBOX_HARDDISK_VB23af71a2-40586852\n"
    "lun 2 = /srv/iscsi/disk2.img size=10G      ; a regular file -> fileio, sparse\n"
    "chap = iscsiuser pruebaiscsi2021\n"
    "initiator = " I1 "\n";

static void test_seed(void)
{
	_cleanup_config_ struct tm_config *in = NULL, *out = NULL;
	struct tm_diags w = {0};
	_cleanup_free_ char *text = round_trip("seed", seed, &in, &out, &w);
	_cleanup_free_ char *s11 = tm_default_serial("iqn.2021-02.com.example.target1-lun1");
	_cleanup_free_ char *s21 = tm_default_serial("iqn.2021-02.com.example.target2-lun1");
	_cleanup_free_ char *s22 = tm_default_serial("iqn.2021-02.com.example.target2-lun2");
	_cleanup_free_ char *expected = tm_strdupf(
	    "# Target files for targetmgr(8), written by 'targetmgr save' from the running LIO "
	    "state.\n"
	    "# It holds CHAP secrets in clear: keep it private (chmod 600).\n"
	    "\n"
	    "[target " T1 "]\n"
	    "lun 1 = /dev/disk/by-id/ata-VBOX_HARDDISK_VBc912936c-7d03844e "
	    "name=iqn.2021-02.com.example.target1-lun1 serial=%s\n"
	    "\n"
	    "[target " T2 "]\n"
	    "lun 1 = /dev/disk/by-id/ata-VBOX_HARDDISK_VB23af71a2-40586852 "
	    "name=iqn.2021-02.com.example.target2-lun1 serial=%s\n"
	    "lun 2 = /srv/iscsi/disk2.img size=10G name=iqn.2021-02.com.example.target2-lun2 "
	    "serial=%s\n"
	    "chap = iscsiuser pruebaiscsi2021\n"
	    "initiator = " I1 "\n",
	    s11, s21, s22);
	const struct tm_acl *a;

	if (!CHECK(streq(text, expected), "seed: the exact text")) {
		dump_text(text);
		tap_diag("expected:");
		dump_text(expected);
	}
	CHECK_EQ(w.n, 0);
	/* Real values, read back. */
	if (CHECK_EQ(out->n_targets, 2) && CHECK_EQ(out->targets[1].n_acls, 1)) {
		a = &out->targets[1].acls[0];
		CHECK_STREQ(a->initiator, I1);
		CHECK_STREQ(tm_settings_find(&a->settings, "auth/password")->value,
			    "pruebaiscsi2021");
		CHECK_EQ(a->n_mapped_luns, 2);
	}
	CHECK_STREQ(
	    own_backstore(out, TM_BACKSTORE_FILEIO, "iqn.2021-02.com.example.target2-lun2")->serial,
	    s22);
	tm_diags_clear(&w);
}

static void test_ramdisk_nullio(void)
{
	_cleanup_config_ struct tm_config *in = NULL, *out = NULL;
	struct tm_diags w = {0};
	_cleanup_free_ char *text =
	    round_trip("ramdisk", "[target " T1 "]\nlun 0 = ramdisk size=64M nullio name=bench\n",
		       &in, &out, &w);
	_cleanup_free_ char *line = NULL, *serial = tm_default_serial("bench");
	const struct tm_backstore *b = own_backstore(out, TM_BACKSTORE_RAMDISK, "bench");

	line = tm_strdupf("lun 0 = ramdisk size=64M nullio name=bench serial=%s", serial);
	CHECK_LINE(text, line);
	CHECK_NO_LINE(text, "portal = 0.0.0.0:3260");
	if (CHECK(b != NULL, "RAM disk rd_mcp_1000/bench read back")) {
		CHECK_EQ(b->size, 64ULL << 20);
		CHECK(b->nullio && b->type == TM_BACKSTORE_RAMDISK, "nullio RAM disk");
	}
	CHECK_EQ(w.n, 0);
	tm_diags_clear(&w);
}

/* targetmgr.conf(5)'s second example, with the secrets inline. */
static const char backup[] = "[target iqn.2021-02.com.example:backup]\n"
			     "portal = 192.168.10.1\n"
			     "portal = [2001:db8::1]:3260\n"
			     "lun 0 = /srv/iscsi/archive.img ro serial=ARCHIVE-0001\n"
			     "lun 1 = /dev/vg0/backup\n"
			     "parameter.MaxRecvDataSegmentLength = 65536\n"
			     "attribute.login_timeout = 20\n"
			     "\n"
			     "[initiator iqn.1993-08.org.debian:01:reader]\n"
			     "luns = 0\n"
			     "chap = reader r3aderS3cret\n"
			     "\n"
			     "[initiator iqn.1993-08.org.debian:01:writer]\n"
			     "chap = writer wr1terS3cret\n"
			     "mutual-chap = backup mutu4lS3cret\n"
			     "attribute.dataout_timeout = 5\n"
			     "\n"
			     "[discovery]\n"
			     "chap = discovery d1scoS3cret!\n"
			     "mutual-chap = target d1scoMutu4l!\n";

static void test_initiator_sections(void)
{
	_cleanup_config_ struct tm_config *in = NULL, *out = NULL;
	struct tm_diags w = {0};
	_cleanup_free_ char *text = round_trip("backup", backup, &in, &out, &w);
	const struct tm_target *t = tm_config_find_target(out, "iqn.2021-02.com.example:backup");
	const struct tm_acl *reader, *writer;

	CHECK_LINE(text, "portal = 192.168.10.1:3260");
	CHECK_LINE(text, "portal = [2001:db8::1]:3260");
	CHECK_LINE(text, "lun 0 = /srv/iscsi/archive.img ro "
			 "name=iqn.2021-02.com.example.backup-lun0 serial=ARCHIVE-0001");
	CHECK(strstr(text, "lun 1 = /dev/vg0/backup name=") != NULL, "LUN 1 writable block device");
	CHECK_LINE(text, "parameter.MaxRecvDataSegmentLength = 65536");
	CHECK_LINE(text, "attribute.login_timeout = 20");
	/* Two initiators, each with credentials of its own: no target-level chap. */
	{
		const char *first = strstr(text, "\n[initiator");
		CHECK(first && !memmem(text, (size_t)(first - text), "\nchap =", 7),
		      "no target-level chap");
	}
	CHECK(strstr(text, "[initiator iqn.1993-08.org.debian:01:reader]\n"
			   "luns = 0\n"
			   "chap = reader r3aderS3cret\n") != NULL,
	      "reader: its own section, LUN 0 only, its own chap");
	CHECK(strstr(text, "[initiator iqn.1993-08.org.debian:01:writer]\n"
			   "chap = writer wr1terS3cret\n"
			   "mutual-chap = backup mutu4lS3cret\n"
			   "attribute.dataout_timeout = 5\n") != NULL,
	      "writer: its own section, every LUN, chap, mutual-chap, attribute");
	CHECK(strstr(text, "\n[discovery]\nchap = discovery d1scoS3cret!\n"
			   "mutual-chap = target d1scoMutu4l!\n") != NULL,
	      "discovery CHAP");
	CHECK_EQ(w.n, 0);

	if (!CHECK(t != NULL, "backup target read back"))
		goto finish;
	reader = tm_target_find_acl(t, "iqn.1993-08.org.debian:01:reader");
	writer = tm_target_find_acl(t, "iqn.1993-08.org.debian:01:writer");
	if (CHECK(reader && reader->n_mapped_luns == 1, "reader maps one LUN")) {
		CHECK_EQ(reader->mapped_luns[0].lun, 0);
		CHECK_STREQ(
		    tm_settings_find(&reader->mapped_luns[0].settings, "write_protect")->value,
		    "1");
	}
	if (CHECK(writer && writer->n_mapped_luns == 2, "writer maps two LUNs")) {
		CHECK_STREQ(tm_settings_find(&writer->settings, "auth/userid_mutual")->value,
			    "backup");
		CHECK_STREQ(tm_settings_find(&writer->settings, "auth/password_mutual")->value,
			    "mutu4lS3cret");
		CHECK_STREQ(
		    tm_settings_find(&writer->mapped_luns[1].settings, "write_protect")->value,
		    "0");
	}
	CHECK_STREQ(tm_settings_find(&out->discovery, "enforce_discovery_auth")->value, "1");
	CHECK_STREQ(tm_settings_find(&out->discovery, "password")->value, "d1scoS3cret!");
finish:
	tm_diags_clear(&w);
}

static void test_mutual_chap(void)
{
	_cleanup_config_ struct tm_config *in = NULL, *out = NULL;
	struct tm_diags w = {0};
	_cleanup_free_ char *text = round_trip("mutual",
					       "[target " T2 "]\n"
					       "lun 0 = /srv/a.img size=1G\n"
					       "lun 1 = ramdisk size=16M\n"
					       "chap = user1 Sup3rS3cretPw\n"
					       "mutual-chap = user2 mutu4lS3cret\n"
					       "initiator = " I1 " " I2 "\n",
					       &in, &out, &w);
	const struct tm_target *t = tm_config_find_target(out, T2);

	/* Shared credentials stay target-wide; the initiators stay one line each. */
	CHECK_LINE(text, "chap = user1 Sup3rS3cretPw");
	CHECK_LINE(text, "mutual-chap = user2 mutu4lS3cret");
	CHECK_LINE(text, "initiator = " I1);
	CHECK_LINE(text, "initiator = " I2);
	CHECK(!strstr(text, "[initiator"), "no [initiator] section");
	if (CHECK(t && t->n_acls == 2, "two ACLs read back"))
		for (size_t i = 0; i < 2; i++) {
			CHECK_STREQ(tm_settings_find(&t->acls[i].settings, "auth/userid")->value,
				    "user1");
			CHECK_STREQ(
			    tm_settings_find(&t->acls[i].settings, "auth/password_mutual")->value,
			    "mutu4lS3cret");
		}
	tm_diags_clear(&w);
}

static void test_open_chap_and_portals(void)
{
	_cleanup_config_ struct tm_config *in = NULL, *out = NULL;
	struct tm_diags w = {0};
	_cleanup_free_ char *text = round_trip("portals",
					       "[target " T1 "]\n"
					       "portal = 0.0.0.0\n"
					       "portal = [::]\n"
					       "portal = ::1\n"
					       "portal = 10.0.0.1:3261\n"
					       "lun 0 = /srv/a.img\n"
					       "chap = user1 Sup3rS3cretPw\n"
					       "mutual-chap = user2 mutu4lS3cret\n",
					       &in, &out, &w);
	const struct tm_target *t = tm_config_find_target(out, T1);

	CHECK_LINE(text, "portal = 0.0.0.0:3260");
	CHECK_LINE(text, "portal = [::]:3260");
	CHECK_LINE(text, "portal = [::1]:3260");
	CHECK_LINE(text, "portal = 10.0.0.1:3261");
	/* A file without size= (the kernel reports 0 for this parsed model): none written. */
	CHECK(strstr(text, "lun 0 = /srv/a.img name=iqn.2021-02.com.example.target1-lun0 ") != NULL,
	      "fileio LUN without size=");
	CHECK_LINE(text, "chap = user1 Sup3rS3cretPw");
	CHECK_LINE(text, "mutual-chap = user2 mutu4lS3cret");
	if (CHECK(t != NULL, "open target read back")) {
		CHECK_EQ(t->n_portals, 4);
		CHECK_EQ(t->n_acls, 0);
		CHECK_STREQ(tm_settings_find(&t->settings, "auth/password")->value,
			    "Sup3rS3cretPw");
		CHECK_STREQ(tm_settings_find(&t->settings, "attrib/authentication")->value, "1");
	}
	tm_diags_clear(&w);
}

static void test_readonly(void)
{
	_cleanup_config_ struct tm_config *in = NULL, *out = NULL;
	struct tm_diags w = {0};
	_cleanup_free_ char *text =
	    round_trip("readonly",
		       "[target " T1 "]\n"
		       "lun 0 = /dev/sdb ro name=dev0\n"
		       "lun 1 = /srv/images/ro.img ro type=iblock name=img1\n"
		       "\n"
		       "[target " T2 "]\n"
		       "lun 0 = /srv/a.img ro size=1M name=file0\n"
		       "lun 1 = ramdisk size=1M ro name=ram1\n"
		       "lun 2 = /dev/sdc type=fileio name=devfile\n"
		       "initiator = " I1 "\n",
		       &in, &out, &w);
	const struct tm_backstore *b;

	CHECK(strstr(text, "lun 0 = /dev/sdb ro name=dev0 ") != NULL, "read-only block device");
	CHECK(strstr(text, "lun 1 = /srv/images/ro.img type=iblock ro name=img1 ") != NULL,
	      "type=iblock outside /dev");
	CHECK(strstr(text, "lun 0 = /srv/a.img size=1M ro name=file0 ") != NULL,
	      "read-only file, write-protected per initiator");
	CHECK(strstr(text, "lun 1 = ramdisk size=1M ro name=ram1 ") != NULL, "read-only RAM disk");
	CHECK(strstr(text, "lun 2 = /dev/sdc type=fileio name=devfile ") != NULL,
	      "type=fileio below /dev, without size=");
	b = own_backstore(out, TM_BACKSTORE_IBLOCK, "dev0");
	CHECK(b && b->readonly, "block device opened read-only");
	b = own_backstore(out, TM_BACKSTORE_FILEIO, "devfile");
	CHECK(b && b->path && streq(b->path, "/dev/sdc"), "fileio on a device");
	CHECK_EQ(w.n, 0);
	tm_diags_clear(&w);
}

/* ---- a targetcli host, as the scanner reads it ------------------------------------------- */

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		abort();
	return p;
}

static void set(struct tm_settings *s, const char *path, const char *value)
{
	if (tm_settings_set(s, path, value, strstr(path, "password") != NULL,
			    (struct tm_origin){0}) < 0)
		abort();
}

static void *push(void **array, size_t *n, size_t size)
{
	void *p = tm_grow(array, n, size);
	if (!p)
		abort();
	return p;
}
#define PUSH(array, n) ((__typeof__(*(array)) *)push((void **)&(array), &(n), sizeof(*(array))))

static struct tm_backstore *add_backstore(struct tm_config *c, enum tm_backstore_type type,
					  const char *hba, const char *name, const char *path,
					  uint64_t size, const char *serial)
{
	struct tm_backstore *b = PUSH(c->backstores, c->n_backstores);

	b->type = type;
	b->hba = xstrdup(hba);
	b->name = xstrdup(name);
	b->path = path ? xstrdup(path) : NULL;
	b->size = size;
	b->serial = serial ? xstrdup(serial) : NULL;
	set(&b->settings, "wwn/vpd_unit_serial", serial ? serial : "");
	set(&b->settings, "enable", "1");
	return b;
}

static struct tm_lun *add_lun(struct tm_target *t, unsigned number, const char *hba,
			      const char *name, const char *link)
{
	struct tm_lun *l = PUSH(t->luns, t->n_luns);

	l->number = number;
	l->backstore_hba = hba ? xstrdup(hba) : NULL;
	l->backstore_name = name ? xstrdup(name) : NULL;
	l->link = link ? xstrdup(link) : NULL;
	return l;
}

static struct tm_mapped_lun *add_mapped(struct tm_acl *a, unsigned number, unsigned lun,
					const char *link, const char *wp)
{
	struct tm_mapped_lun *m = PUSH(a->mapped_luns, a->n_mapped_luns);

	m->number = number;
	m->lun = lun;
	m->link = link ? xstrdup(link) : NULL;
	set(&m->settings, "write_protect", wp);
	return m;
}

static struct tm_target *add_target(struct tm_config *c, const char *iqn, const char *gna,
				    const char *auth)
{
	struct tm_target *t = PUSH(c->targets, c->n_targets);

	t->iqn = xstrdup(iqn);
	t->tpgt = 1;
	t->has_tpg = true;
	set(&t->settings, "enable", "1");
	set(&t->settings, "attrib/generate_node_acls", gna);
	set(&t->settings, "attrib/authentication", auth);
	set(&t->settings, "auth/userid", "");
	set(&t->settings, "auth/userid_mutual", "");
	set(&t->settings, "auth/password", "");
	set(&t->settings, "auth/password_mutual", "");
	return t;
}

static void add_portal(struct tm_target *t, const char *address)
{
	PUSH(t->portals, t->n_portals)->address = xstrdup(address);
}

#define TCLI_ACL  "iqn.2003-01.org.example:tcli"
#define TCLI_OPEN "iqn.2003-01.org.example:tcli-open"
#define HOSTA     "iqn.1994-05.com.redhat:host-a"
#define HOSTB     "iqn.1994-05.com.redhat:host-b"
#define UUID1     "9bc6e907-6015-4267-be4f-5a0617cb3d71"
#define UUID2     "4a1d0c57-2f3e-4b8a-9c6d-7e8f9a0b1c2d"
#define UUID3     "0e9d8c7b-6a5f-4e3d-2c1b-0a9f8e7d6c5b"

/*
 * targetcli's way: HBA index 0, UUID serials, random link names; an ACL'd target where host-a
 * sees LUN 1 as its LUN 3 (write-protected), host-b sees LUN 0 only, both with one set of
 * CHAP credentials; an open target whose demo mode is write-protected; a backstore that serves
 * no LUN.
 */
static struct tm_config *targetcli_host(void)
{
	struct tm_config *c = tm_config_new();
	struct tm_target *t;
	struct tm_acl *a;

	if (!c)
		abort();
	add_backstore(c, TM_BACKSTORE_FILEIO, "fileio_0", "vmdisk", "/srv/images/vmdisk.img",
		      10ULL << 30, UUID1);
	add_backstore(c, TM_BACKSTORE_RAMDISK, "rd_mcp_0", "scratch", NULL, 64ULL << 20, UUID2);
	add_backstore(c, TM_BACKSTORE_IBLOCK, "iblock_0", "data", "/dev/vg0/data", 0, UUID3);
	add_backstore(c, TM_BACKSTORE_FILEIO, "fileio_0", "orphan", "/srv/images/orphan.img",
		      1ULL << 30, "0f0f0f0f-0000-1111-2222-333333333333");

	t = add_target(c, TCLI_ACL, "0", "1");
	add_portal(t, "0.0.0.0:3260");
	add_lun(t, 0, "fileio_0", "vmdisk", "7947ded962");
	add_lun(t, 1, "rd_mcp_0", "scratch", "a1b2c3d4e5");
	a = PUSH(t->acls, t->n_acls);
	a->initiator = xstrdup(HOSTA);
	set(&a->settings, "auth/userid", "tcli");
	set(&a->settings, "auth/password", "tcl1S3cretPw");
	set(&a->settings, "auth/userid_mutual", "");
	set(&a->settings, "auth/password_mutual", "");
	add_mapped(a, 0, 0, "0a1b2c3d4e", "0");
	add_mapped(a, 3, 1, "f00dcafe01", "1");
	a = PUSH(t->acls, t->n_acls);
	a->initiator = xstrdup(HOSTB);
	set(&a->settings, "auth/userid", "tcli");
	set(&a->settings, "auth/password", "tcl1S3cretPw");
	add_mapped(a, 0, 0, "7f00000001", "0");

	t = add_target(c, TCLI_OPEN, "1", "0");
	set(&t->settings, "attrib/cache_dynamic_acls", "1");
	set(&t->settings, "attrib/demo_mode_write_protect", "1");
	add_portal(t, "192.168.1.10:3260");
	add_lun(t, 0, "iblock_0", "data", "0011223344");
	return c;
}

static void test_targetcli_host(void)
{
	_cleanup_config_ struct tm_config *c = targetcli_host(), *out = NULL;
	struct tm_diags w = {0};
	_cleanup_free_ char *text = save(c, NULL, &w);
	const struct tm_target *t;
	const struct tm_backstore *b;
	const struct tm_acl *a;

	check_text("targetcli", text, &w);
	out = parse("targetcli-saved.conf", text);

	/* What initiators and restores need: names, serials, sizes, paths, under targetmgr's
	   HBAs; the difference said once, as a comment. */
	CHECK_LINE(text, "lun 0 = /srv/images/vmdisk.img size=10G name=vmdisk serial=" UUID1);
	CHECK_LINE(text, "lun 1 = ramdisk size=64M ro name=scratch serial=" UUID2);
	CHECK(strstr(text, "; Backstores are made again in targetmgr's HBAs") != NULL, "HBA note");
	CHECK(strstr(text, "; LUN and mapped LUN links get targetmgr's names") != NULL,
	      "link name note");
	CHECK_LINE(text, "chap = tcli tcl1S3cretPw");

	/* host-a: LUN 1 seen as LUN 3 cannot be said; it is mapped as LUN 1, with a comment
	   in its section and a warning. */
	CHECK(strstr(text, "[initiator " HOSTA "]\n"
			   "; initiator " HOSTA " sees LUN 1 as LUN 3, which target files cannot "
			   "say: saved as LUN 1\n") != NULL,
	      "host-a: section with the renumbering comment, every LUN");
	CHECK_WARNING(&w, TCLI_ACL ": initiator " HOSTA " sees LUN 1 as LUN 3");
	CHECK(strstr(text, "[initiator " HOSTB "]\nluns = 0\n") != NULL, "host-b: LUN 0 only");

	/* The open target: demo mode write protection kept as an attribute override. */
	CHECK_LINE(text, "attribute.demo_mode_write_protect = 1");
	CHECK_LINE(text, "portal = 192.168.1.10:3260");
	CHECK_LINE(text, "lun 0 = /dev/vg0/data name=data serial=" UUID3);

	CHECK_LINE(text, "; backstore fileio_0/orphan serves no LUN: not saved");
	CHECK_WARNING(&w, "backstore fileio_0/orphan serves no LUN: not saved");
	CHECK_EQ(w.n, 2);

	/* Read back. */
	b = own_backstore(out, TM_BACKSTORE_FILEIO, "vmdisk");
	if (CHECK(b != NULL, "fileio_1000/vmdisk")) {
		CHECK_STREQ(b->serial, UUID1);
		CHECK_STREQ(b->path, "/srv/images/vmdisk.img");
		CHECK_EQ(b->size, 10ULL << 30);
	}
	b = own_backstore(out, TM_BACKSTORE_RAMDISK, "scratch");
	CHECK(b && b->size == 64ULL << 20 && streq(b->serial, UUID2), "rd_mcp_1000/scratch");
	CHECK(!own_backstore(out, TM_BACKSTORE_FILEIO, "orphan"), "orphan not saved");
	t = tm_config_find_target(out, TCLI_ACL);
	if (!CHECK(t && t->n_luns == 2 && t->n_acls == 2, "targetcli target: 2 LUNs, 2 ACLs"))
		goto finish;
	CHECK_STREQ(tm_settings_find(&t->settings, "attrib/authentication")->value, "1");
	a = tm_target_find_acl(t, HOSTA);
	if (CHECK(a && a->n_mapped_luns == 2, "host-a maps 2 LUNs")) {
		CHECK(a->mapped_luns[1].number == 1 && a->mapped_luns[1].lun == 1,
		      "host-a: mapped LUN 1 -> LUN 1 (the closest thing)");
		CHECK_STREQ(tm_settings_find(&a->mapped_luns[1].settings, "write_protect")->value,
			    "1");
		CHECK_STREQ(tm_settings_find(&a->settings, "auth/password")->value, "tcl1S3cretPw");
	}
	a = tm_target_find_acl(t, HOSTB);
	CHECK(a && a->n_mapped_luns == 1 && a->mapped_luns[0].lun == 0, "host-b maps LUN 0");
	t = tm_config_find_target(out, TCLI_OPEN);
	if (CHECK(t != NULL, "open targetcli target")) {
		CHECK_STREQ(tm_settings_find(&t->settings, "attrib/demo_mode_write_protect")->value,
			    "1");
		CHECK_STREQ(tm_settings_find(&t->settings, "attrib/generate_node_acls")->value,
			    "1");
	}
finish:
	tm_diags_clear(&w);
}

/* Only the selected targets (the ledger's), and only the selected LUN-less backstores. */
static bool select_owned(void *userdata, enum tm_obj_kind kind, const char *name)
{
	(void)userdata;
	return (kind == TM_OBJ_TARGET && streq(name, TCLI_OPEN)) ||
	       (kind == TM_OBJ_BACKSTORE && streq(name, "fileio_0/nobody"));
}

static void test_select(void)
{
	_cleanup_config_ struct tm_config *c = targetcli_host(), *out = NULL;
	struct tm_save_options opts = {.select = select_owned};
	struct tm_diags w = {0};
	_cleanup_free_ char *text = NULL;

	add_backstore(c, TM_BACKSTORE_FILEIO, "fileio_0", "nobody", "/srv/nobody.img", 1 << 20,
		      "nobody-serial");
	text = save(c, &opts, &w);
	out = parse("select-saved.conf", text);
	CHECK_EQ(out->n_targets, 1);
	CHECK(tm_config_find_target(out, TCLI_OPEN) != NULL, "the selected target");
	CHECK_EQ(out->n_backstores, 1);
	CHECK(!strstr(text, "chap ="), "the unselected target's secrets stay out");
	CHECK(!strstr(text, "orphan"), "an unselected LUN-less backstore is not mentioned");
	CHECK_LINE(text, "; backstore fileio_0/nobody serves no LUN: not saved");
	CHECK_EQ(w.n, 1);
	tm_diags_clear(&w);
}

/* ---- what the syntax cannot say ---------------------------------------------------------- */

static void test_lossy(void)
{
	_cleanup_config_ struct tm_config *c = tm_config_new(), *out = NULL;
	struct tm_diags w = {0};
	_cleanup_free_ char *text = NULL;
	struct tm_target *t;
	struct tm_acl *a;

	if (!c)
		abort();
	add_backstore(c, TM_BACKSTORE_FILEIO, "fileio_0", "shared", "/srv/shared.img", 1 << 20,
		      "shared-serial");
	add_backstore(c, TM_BACKSTORE_FILEIO, "fileio_1", "shared", "/srv/other.img", 1 << 20,
		      "other-serial");
	add_backstore(c, TM_BACKSTORE_FILEIO, "fileio_0", "spaced", "/srv/with space.img", 1 << 20,
		      "spaced-serial");
	add_backstore(c, TM_BACKSTORE_RAMDISK, "rd_mcp_0", "bad:name", NULL, 1 << 20, "");

	/* ACL'd target, every ACL gone: stays closed. Disabled, tpgt_2, no portal. */
	t = add_target(c, "iqn.2003-01.org.example:closed", "0", "0");
	t->tpgt = 2;
	tm_settings_set(&t->settings, "enable", "0", false, (struct tm_origin){0});
	add_lun(t, 0, "fileio_0", "shared", NULL);
	add_lun(t, 1, "fileio_0", "spaced", NULL);
	add_lun(t, 2, NULL, NULL, NULL);
	add_lun(t, 3, "pscsi_0", "sda", NULL);
	add_lun(t, 4, "rd_mcp_0", "bad:name", NULL);
	a = PUSH(t->acls, t->n_acls);
	a->initiator = xstrdup("iqn.1994-05.com.redhat:nolun");
	add_mapped(a, 0, TM_LUN_UNLINKED, NULL, "");

	/* A second LUN on the same backstore; a second backstore of the same name; an open
	   target with an ACL; TPG credentials with a secret a file line cannot hold. */
	t = add_target(c, "iqn.2003-01.org.example:second", "1", "0");
	add_portal(t, "0.0.0.0:3260");
	add_lun(t, 0, "fileio_0", "shared", NULL);
	add_lun(t, 1, "fileio_1", "shared", NULL);
	a = PUSH(t->acls, t->n_acls);
	a->initiator = xstrdup("iqn.1994-05.com.redhat:ignored");

	t = add_target(c, "iqn.2003-01.org.example:badchap", "1", "1");
	add_portal(t, "0.0.0.0:3260");
	tm_settings_set(&t->settings, "auth/userid", "demo", false, (struct tm_origin){0});
	tm_settings_set(&t->settings, "auth/password", "@dem0S3cretPw", true,
			(struct tm_origin){0});

	t = add_target(c, "iqn.2003-01.org.example:UPPER", "1", "0");
	add_portal(t, "0.0.0.0:3260");

	t = add_target(c, "iqn.2003-01.org.example:bare", "1", "0");
	t->has_tpg = false;

	/* A valid iSCSI name too long for a section line (190 at most): commented out, in
	   comment lines that stay within the limit too (check_text). */
	{
		char iqn[200] = "iqn.2003-01.org.example:";

		memset(iqn + strlen(iqn), 'a', sizeof(iqn) - 1 - strlen(iqn));
		iqn[sizeof(iqn) - 1] = '\0';
		t = add_target(c, iqn, "1", "0");
		add_portal(t, "10.0.0.1:3260");
	}

	set(&c->discovery, "enforce_discovery_auth", "0");
	set(&c->discovery, "userid", "disco");
	set(&c->discovery, "password", "d1scoS3cret!");

	text = save(c, NULL, &w);
	check_text("lossy", text, &w);
	out = parse("lossy-saved.conf", text);

	t = tm_config_find_target(out, "iqn.2003-01.org.example:closed");
	if (CHECK(t != NULL, "closed target saved")) {
		CHECK_STREQ(tm_settings_find(&t->settings, "attrib/generate_node_acls")->value,
			    "0");
		CHECK_EQ(t->n_acls, 0);
		CHECK_EQ(t->n_luns, 2);
	}
	CHECK_LINE(text, "attribute.generate_node_acls = 0");
	CHECK_WARNING(&w, "closed: LIO serves it as portal group tpgt_2");
	CHECK_WARNING(&w, "closed: the portal group is disabled (enable=0)");
	CHECK_WARNING(&w, "closed: it has no portal");
	CHECK_WARNING(&w, "closed: LUN 1: backstore fileio_0/spaced cannot be written");
	CHECK_WARNING(&w, "closed: LUN 2 is not linked to a backstore");
	CHECK_WARNING(&w, "closed: LUN 3 serves backstore pscsi_0/sda");
	CHECK_WARNING(&w, "closed: LUN 4: backstore name bad:name cannot be kept");
	CHECK_WARNING(&w, "closed: LUN 4: backstore rd_mcp_0/bad:name has no unit serial");
	CHECK_WARNING(&w, "initiator iqn.1994-05.com.redhat:nolun: mapped LUN 0 is not linked");
	CHECK_WARNING(&w, "initiator iqn.1994-05.com.redhat:nolun: not saved: it sees no saved "
			  "LUN");
	CHECK(own_backstore(out, TM_BACKSTORE_RAMDISK, "iqn.2003-01.org.example.closed-lun4") !=
		  NULL,
	      "an unwritable backstore name becomes the default name");

	/* One backstore behind LUNs of two targets: the same line in both (name= and serial=
	   included), which the parser reads as one backstore again. */
	t = tm_config_find_target(out, "iqn.2003-01.org.example:second");
	if (CHECK(t != NULL && tm_target_find_lun(t, 0),
		  "second: LUN 0 of a shared backstore saved")) {
		const struct tm_target *closed =
		    tm_config_find_target(out, "iqn.2003-01.org.example:closed");
		const struct tm_lun *l = tm_target_find_lun(t, 0);
		const struct tm_lun *c0 = closed ? tm_target_find_lun(closed, 0) : NULL;

		CHECK(c0 && streq(l->backstore_hba, c0->backstore_hba) &&
			  streq(l->backstore_name, c0->backstore_name),
		      "and it serves the backstore of closed's LUN 0");
	}
	CHECK_WARNING(&w, "second: LUN 1: backstore name shared cannot be kept (another saved "
			  "backstore has that name)");
	CHECK_WARNING(&w, "second: initiator iqn.1994-05.com.redhat:ignored has a node ACL, but "
			  "the target lets every initiator in");

	/* Commented out rather than opened to all without its CHAP. */
	CHECK(!tm_config_find_target(out, "iqn.2003-01.org.example:badchap"),
	      "target with unwritable CHAP not saved");
	CHECK_LINE(text, "; [target iqn.2003-01.org.example:badchap]");
	CHECK_WARNING(&w, "badchap: target iqn.2003-01.org.example:badchap: not saved: its CHAP "
			  "credentials (user demo) cannot be written: the secret starts with '@'");
	CHECK_LINE(text, "; [target iqn.2003-01.org.example:UPPER]");
	CHECK(!tm_config_find_target(out, "iqn.2003-01.org.example:UPPER"), "bad name not saved");
	CHECK_WARNING(&w, "bare: target iqn.2003-01.org.example:bare has no portal group");
	CHECK_WARNING(&w, "aaaa: not saved: its name cannot be written (too long for a target "
			  "file line)");
	CHECK(strstr(text, "\n; portal = 10.0.0.1:3260\n") != NULL, "long name: commented out");
	CHECK_EQ(out->n_targets, 2);
	CHECK_WARNING(&w, "discovery: CHAP user disco is set but not enforced");
	CHECK_EQ(out->discovery.n, 0);
	tm_diags_clear(&w);
}

static void test_chap_edge_cases(void)
{
	_cleanup_config_ struct tm_config *c = tm_config_new(), *out = NULL;
	struct tm_diags w = {0};
	_cleanup_free_ char *text = NULL;
	struct tm_target *t;
	struct tm_acl *a;

	if (!c)
		abort();
	add_backstore(c, TM_BACKSTORE_RAMDISK, "rd_mcp_0", "r0", NULL, 1 << 20, "r0-serial");
	add_backstore(c, TM_BACKSTORE_RAMDISK, "rd_mcp_0", "r1", NULL, 1 << 20, "r1-serial");

	/* Credentials with authentication off: kept, with the override that keeps it off.
	   LUN 0 write-protected for one initiator only: read-only for both. */
	t = add_target(c, "iqn.2003-01.org.example:authoff", "0", "0");
	add_portal(t, "0.0.0.0:3260");
	add_lun(t, 0, "rd_mcp_0", "r0", "r0");
	for (int i = 0; i < 2; i++) {
		a = PUSH(t->acls, t->n_acls);
		a->initiator = xstrdup(i ? HOSTB : HOSTA);
		set(&a->settings, "auth/userid", "user1");
		set(&a->settings, "auth/password", "Sup3rS3cretPw");
		add_mapped(a, 0, 0, "lun_0", i ? "0" : "1");
	}

	/* CHAP required, one initiator without credentials: it could not log in anyway. */
	t = add_target(c, "iqn.2003-01.org.example:mixed", "0", "1");
	add_portal(t, "0.0.0.0:3260");
	add_lun(t, 0, "rd_mcp_0", "r1", "r1");
	a = PUSH(t->acls, t->n_acls);
	a->initiator = xstrdup(HOSTA);
	set(&a->settings, "auth/userid", "user1");
	set(&a->settings, "auth/password", "Sup3rS3cretPw");
	add_mapped(a, 0, 0, "lun_0", "0");
	a = PUSH(t->acls, t->n_acls);
	a->initiator = xstrdup(HOSTB);
	set(&a->settings, "auth/userid", "");
	add_mapped(a, 0, 0, "lun_0", "0");

	text = save(c, NULL, &w);
	check_text("chap", text, &w);
	out = parse("chap-saved.conf", text);

	CHECK_LINE(text, "attribute.authentication = 0");
	CHECK_LINE(text, "lun 0 = ramdisk size=1M ro name=r0 serial=r0-serial");
	CHECK_WARNING(&w, "authoff: LUN 0 is write-protected for 1 initiator(s) and writable for "
			  "1");
	t = tm_config_find_target(out, "iqn.2003-01.org.example:authoff");
	if (CHECK(t && t->n_acls == 2, "authoff: both initiators")) {
		CHECK_STREQ(tm_settings_find(&t->settings, "attrib/authentication")->value, "0");
		CHECK_STREQ(tm_settings_find(&t->acls[1].settings, "auth/password")->value,
			    "Sup3rS3cretPw");
	}
	CHECK_WARNING(&w, "mixed: initiator " HOSTB ": not saved: it has no CHAP credentials");
	t = tm_config_find_target(out, "iqn.2003-01.org.example:mixed");
	CHECK(t && t->n_acls == 1 && streq(t->acls[0].initiator, HOSTA), "mixed: host-a only");
	tm_diags_clear(&w);
}

/* Two portals that no line can say: the target is commented out, for the first reason. */
static void test_unwritable_portals(void)
{
	_cleanup_config_ struct tm_config *c = tm_config_new(), *out = NULL;
	struct tm_diags w = {0};
	_cleanup_free_ char *text = NULL;
	struct tm_target *t;

	if (!c)
		abort();
	t = add_target(c, "iqn.2003-01.org.example:portals", "1", "0");
	add_portal(t, "host.example:3260");
	add_portal(t, "10.0.0.1:0");
	add_portal(t, "[::0]:3260");
	text = save(c, NULL, &w);
	check_text("portals", text, &w);
	out = parse("portals-saved.conf", text);
	CHECK_EQ(out->n_targets, 0);
	CHECK_WARNING(&w, "not saved: portal host.example:3260 cannot be written");
	CHECK_LINE(text, "; portal = [::]:3260");
	tm_diags_clear(&w);
}

/* ';' right after the '=' is the value's, after a blank a comment. */
static void test_semicolons(void)
{
	_cleanup_config_ struct tm_config *c = tm_config_new(), *out = NULL;
	struct tm_diags w = {0};
	_cleanup_free_ char *text = NULL;
	const struct tm_target *o;
	struct tm_target *t;

	if (!c)
		abort();
	t = add_target(c, "iqn.2003-01.org.example:user", "1", "1");
	add_portal(t, "0.0.0.0:3260");
	set(&t->settings, "auth/userid", ";user");
	set(&t->settings, "auth/password", "Sup3rS3cretPw");
	set(&t->settings, "param/X", ";value");
	t = add_target(c, "iqn.2003-01.org.example:secret", "1", "1");
	add_portal(t, "0.0.0.0:3260");
	set(&t->settings, "auth/userid", "user");
	set(&t->settings, "auth/password", ";Sup3rS3cretPw");
	text = save(c, NULL, &w);
	check_text("semicolons", text, &w);
	out = parse("semicolons-saved.conf", text);
	CHECK_LINE(text, "chap=;user Sup3rS3cretPw");
	CHECK_LINE(text, "parameter.X=;value");
	o = tm_config_find_target(out, "iqn.2003-01.org.example:user");
	CHECK(o && streq(tm_settings_find(&o->settings, "auth/userid")->value, ";user") &&
		  streq(tm_settings_find(&o->settings, "param/X")->value, ";value"),
	      "a leading ';' reads back");
	CHECK(!tm_config_find_target(out, "iqn.2003-01.org.example:secret"),
	      "a secret starting with ';' cannot be written: the target is commented out");
	CHECK_WARNING(&w, "the secret starts with ';'");
	tm_diags_clear(&w);
}

int main(void)
{
	test_seed();
	test_ramdisk_nullio();
	test_initiator_sections();
	test_mutual_chap();
	test_open_chap_and_portals();
	test_readonly();
	test_targetcli_host();
	test_select();
	test_lossy();
	test_chap_edge_cases();
	test_unwritable_portals();
	test_semicolons();
	return tap_done();
}
