/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The waiting transform: which LUNs wait for their device, and what stays served. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "model.h"
#include "parse.h"
#include "tap-diags.h"
#include "tap.h"
#include "util.h"
#include "verify.h"
#include "waiting.h"

#define T1 "iqn.2021-02.com.example:t1"
#define T2 "iqn.2021-02.com.example:t2"
#define I1 "iqn.1993-08.org.debian:01:aaaaaaaaaaaa"
#define I2 "iqn.1993-08.org.debian:01:bbbbbbbbbbbb"

/* Only the paths listed here exist. */
static bool fake_present(const char *path, void *userdata)
{
	for (const char *const *p = userdata; *p; p++)
		if (streq(*p, path))
			return true;
	return false;
}

static const char *const present_b[] = {"/dev/disk/by-id/virtio-B", NULL};

static const char config_text[] = "[target " T1 "]\n"                              /* 1 */
				  "lun 1 = /dev/disk/by-id/virtio-A\n"             /* 2 */
				  "lun 2 = /dev/disk/by-id/virtio-B\n"             /* 3 */
				  "lun 3 = ramdisk size=16M\n"                     /* 4 */
				  "initiator = " I1 "\n"                           /* 5 */
				  "[initiator " I2 "]\n"                           /* 6 */
				  "luns = 1 3\n"                                   /* 7 */
				  "[target " T2 "]\n"                              /* 8 */
				  "lun 4 = /dev/disk/by-id/virtio-C serial=CCC\n"; /* 9 */

static struct tm_config *parse(const char *text)
{
	struct tm_config *c = tm_config_new();
	struct tm_diags d = {0};

	if (!c || tm_parse_string("w.conf", text, c, &d) < 0 || d.n_errors > 0) {
		tap_dump_diags(&d);
		bail("parse");
	}
	tm_diags_clear(&d);
	return c;
}

static void test_split(void)
{
	_cleanup_config_ struct tm_config *c = parse(config_text), *w = NULL;
	const struct tm_target *t1, *t2, *wt1, *wt2;
	const struct tm_acl *a1, *a2, *wa2;
	const struct tm_backstore *b;
	char *file_copy;

	CHECK_INT(tm_waiting_split(c, fake_present, (void *)present_b, &w), 2,
		  "LUNs 1 (virtio-A) and 4 (virtio-C) wait");
	if (!CHECK(w, "a waiting config"))
		return;

	t1 = tm_config_find_target(c, T1);
	t2 = tm_config_find_target(c, T2);
	if (!CHECK(t1 && t2, "both targets stay served (they are created without the LUNs)"))
		return;
	CHECK(!tm_target_find_lun(t1, 1) && tm_target_find_lun(t1, 2) && tm_target_find_lun(t1, 3),
	      "target 1 serves LUNs 2 and 3, not 1");
	CHECK_INT(t2->n_luns, 0, "target 2 serves no LUN");
	CHECK_INT(c->n_backstores, 2, "two backstores served (virtio-B and the RAM disk)");
	for (size_t i = 0; i < c->n_backstores; i++)
		CHECK(!streq_ptr(c->backstores[i].path, "/dev/disk/by-id/virtio-A") &&
			  !streq_ptr(c->backstores[i].path, "/dev/disk/by-id/virtio-C"),
		      "served backstore %zu is not a missing device", i);

	a1 = tm_target_find_acl(t1, I1);
	a2 = tm_target_find_acl(t1, I2);
	if (!CHECK(a1 && a2, "both ACLs stay served"))
		return;
	CHECK(!tm_acl_find_mapped_lun(a1, 1) && tm_acl_find_mapped_lun(a1, 2),
	      "initiator 1 keeps mapped LUN 2 and loses mapped LUN 1");
	CHECK(!tm_acl_find_mapped_lun(a2, 1) && tm_acl_find_mapped_lun(a2, 3),
	      "initiator 2 keeps mapped LUN 3 and loses mapped LUN 1");

	wt1 = tm_config_find_target(w, T1);
	wt2 = tm_config_find_target(w, T2);
	if (!CHECK(wt1 && wt2 && wt1->n_luns == 1 && wt2->n_luns == 1,
		   "the waiting config has LUN 1 of target 1 and LUN 4 of target 2"))
		return;
	CHECK_INT(wt1->luns[0].number, 1, "LUN 1 keeps its number");
	CHECK_INT(wt2->luns[0].origin.line, 9, "LUN 4 keeps its line");
	b = tm_waiting_backstore(w, &wt2->luns[0]);
	if (CHECK(b, "LUN 4's backstore is in the waiting config")) {
		CHECK_STR(b->path, "/dev/disk/by-id/virtio-C", "with its path");
		CHECK_STR(b->serial, "CCC", "and its declared serial");
	}
	b = tm_waiting_backstore(w, &wt1->luns[0]);
	if (CHECK(b, "LUN 1's backstore is in the waiting config"))
		CHECK(b->serial && strlen(b->serial) == 32, "with its default serial (%s)",
		      b->serial ? b->serial : "-");
	wa2 = tm_target_find_acl(wt1, I2);
	CHECK(wa2 && tm_acl_find_mapped_lun(wa2, 1), "initiator 2's mapped LUN 1 waits too");
	CHECK(tm_target_find_acl(wt1, I1) && tm_acl_find_mapped_lun(tm_target_find_acl(wt1, I1), 1),
	      "initiator 1's mapped LUN 1 waits too");

	/* The waiting config outlives the one it came from. */
	file_copy = strdup(wt1->luns[0].origin.file);
	tm_config_free(TAKE_PTR(c));
	CHECK_STR(wt1->luns[0].origin.file, file_copy, "origins survive freeing the source");
	free(file_copy);
}

static void test_all_present(void)
{
	static const char *const all[] = {"/dev/disk/by-id/virtio-A", "/dev/disk/by-id/virtio-B",
					  "/dev/disk/by-id/virtio-C", NULL};
	_cleanup_config_ struct tm_config *c = parse(config_text), *w = NULL;

	CHECK_INT(tm_waiting_split(c, fake_present, (void *)all, &w), 0,
		  "nothing waits when every device is there");
	CHECK_INT(c->n_backstores, 4, "every backstore stays");
	CHECK_INT(w ? w->n_targets : 99, 0, "the waiting config is empty");
}

static void test_prepare(void)
{
	_cleanup_config_ struct tm_config *c = parse(config_text), *w = NULL;
	_cleanup_config_ struct tm_config *dup =
	    parse("[target " T1 "]\n"
		  "lun 1 = /dev/disk/by-id/virtio-A serial=X\n"
		  "lun 2 = /dev/disk/by-id/virtio-B serial=X\n");
	struct tm_diags d = {0};
	bool found = false;

	CHECK_INT(tm_declared_prepare(c, 0, fake_present, (void *)present_b, &w, &d), 0,
		  "waiting LUNs are no error");
	for (size_t i = 0; i < d.n; i++)
		if (d.v[i].severity == TM_WARNING && d.v[i].line == 2 &&
		    strstr(d.v[i].message, "LUN 1 of " T1 " waits for /dev/disk/by-id/virtio-A"))
			found = true;
	CHECK(found, "one warning at the waiting LUN's line names the LUN and its path");
	CHECK_INT(d.n, 2, "one warning per waiting LUN, nothing else");
	tap_dump_diags(&d);
	tm_diags_clear(&d);

	/* Rules that do not depend on the device hold before it appears. */
	CHECK(tm_declared_prepare(dup, 0, fake_present, (void *)present_b, NULL, &d) > 0,
	      "a serial shared by a waiting and a served LUN is an error");
	tap_dump_diags(&d);
	tm_diags_clear(&d);
}

int main(void)
{
	test_split();
	test_all_present();
	test_prepare();
	return tap_done();
}
