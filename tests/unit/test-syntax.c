/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The target-file syntax module on its own: what the parser, save and importers ask it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "syntax.h"
#include "tap.h"
#include "util.h"

static void test_key_lines(void)
{
	char value[TM_SYNTAX_LINE_MAX + 1];
	char *line = NULL;

	CHECK_INT(tm_syntax_key_line("portal", "10.0.0.1:3260", &line), 0, "a short line");
	CHECK_STR(line, "portal = 10.0.0.1:3260", "with blanks around '='");
	free(line);

	/* 197 characters of value: only "k=VALUE" (199) fits. */
	memset(value, 'v', 197);
	value[197] = '\0';
	CHECK_INT(tm_syntax_key_line("k", value, &line), 0, "a line that fits only without blanks");
	CHECK(line && strlen(line) == TM_SYNTAX_LINE_MAX && strncmp(line, "k=v", 3) == 0,
	      "k=VALUE, 199 characters");
	free(line);
	value[197] = 'v';
	value[198] = '\0';
	line = NULL;
	CHECK_INT(tm_syntax_key_line("k", value, &line), -E2BIG, "200 characters fit in no form");
	CHECK(line == NULL, "nothing returned");
	CHECK(tm_syntax_key_line_fits(1, 197) && !tm_syntax_key_line_fits(1, 198),
	      "key_line_fits agrees");

	CHECK_INT(tm_syntax_key_line("parameter.X", ";v", &line), 0, "a value starting with ';'");
	CHECK_STR(line, "parameter.X=;v", "is written right after the '='");
	free(line);
}

static void test_values(void)
{
	CHECK(tm_syntax_value_problem("a b\tc;d #e") == NULL,
	      "inner blanks, ';' and '#' read back");
	CHECK(tm_syntax_value_problem(";a") == NULL, "a leading ';' reads back right after '='");
	CHECK_STR(tm_syntax_value_problem("a ;b"), "a ';' in it would start a comment", "' ;'");
	CHECK_STR(tm_syntax_value_problem("a\t;b"), "a ';' in it would start a comment", "'\\t;'");
	CHECK_STR(tm_syntax_value_problem(" a"), "it starts or ends with a blank", "leading blank");
	CHECK_STR(tm_syntax_value_problem("a\t"), "it starts or ends with a blank", "trailing tab");
	CHECK_STR(tm_syntax_value_problem("a\x01"), "it contains control characters", "control");
	CHECK_STR(tm_syntax_value_problem(""), "it is empty", "empty");

	CHECK(tm_syntax_find_control("a\tb", 3) == NULL, "a tab is no control character here");
	CHECK(tm_syntax_find_control("ab\x7f", 3) != NULL, "DEL is");
	CHECK(tm_syntax_find_control("a\0b", 3) != NULL, "NUL is");
	CHECK(tm_syntax_comment_line("  ; x", 5) && tm_syntax_comment_line("\t# x", 4) &&
		  !tm_syntax_comment_line("a ; x", 5) && !tm_syntax_comment_line("   ", 3),
	      "comment lines: ';' or '#' after leading blanks");
	{
		const char *line = "lun 1 : /a=b";
		CHECK(tm_syntax_key_end(line) == line + 6, "the key ends at the first ':' or '='");
	}
	CHECK(tm_syntax_key_end("lun 1 ; x = y") == NULL, "an inline comment before '=' ends it");
	CHECK(tm_syntax_word_ok("abc") && !tm_syntax_word_ok("a b") && !tm_syntax_word_ok(""),
	      "words");
}

static void test_names(void)
{
	char name[TM_SYNTAX_NAME_MAX + 2];

	memset(name, 'a', sizeof(name) - 1);
	name[TM_SYNTAX_NAME_MAX] = '\0';
	CHECK(tm_syntax_backstore_name_ok(name) && tm_syntax_serial_ok(name), "64 characters");
	name[TM_SYNTAX_NAME_MAX] = 'a';
	name[TM_SYNTAX_NAME_MAX + 1] = '\0';
	CHECK(!tm_syntax_backstore_name_ok(name) && !tm_syntax_serial_ok(name), "65 are too many");
	CHECK(!tm_syntax_backstore_name_ok(".") && !tm_syntax_backstore_name_ok("..") &&
		  tm_syntax_serial_ok(".."),
	      "'.' and '..' are no backstore names, but serials");
	CHECK(tm_syntax_setting_name_ok("emulate_write_cache") &&
		  !tm_syntax_setting_name_ok("a.b") && !tm_syntax_setting_name_ok("a-b"),
	      "setting names: letters, digits and '_'");
	CHECK(tm_syntax_iscsi_name_invalid("iqn.2021-02.com.example:t1") == NULL &&
		  tm_syntax_iscsi_name_invalid("eui.0123456789abcdef") == NULL &&
		  tm_syntax_iscsi_name_invalid("naa.0123456789abcdef0123456789abcdef") == NULL,
	      "iqn., eui. and naa. names");
	CHECK_STR(tm_syntax_iscsi_name_invalid("iqn.2021-13.com.example"),
		  "the month after 'iqn.YYYY-' must be 01 to 12", "month 13");
}

static void test_lun_paths(void)
{
	CHECK(tm_syntax_lun_path_invalid("/srv/a;b#c:d=e.img") == NULL, "';', '#', ':' and '='");
	CHECK_STR(tm_syntax_lun_path_invalid("srv/a.img"), "it is not absolute", "relative");
	CHECK(tm_syntax_lun_path_invalid("/srv/a,b") != NULL, "','");
	CHECK(tm_syntax_lun_path_invalid("/srv/a\x01") != NULL, "control characters");
	CHECK(tm_syntax_lun_path_invalid("/srv/a b") != NULL, "blanks");
	CHECK(tm_syntax_type_from_path("/dev/sdb") == TM_BACKSTORE_IBLOCK &&
		  tm_syntax_type_from_path("/srv/dev/a") == TM_BACKSTORE_FILEIO,
	      "below /dev/: iblock; elsewhere fileio");
	CHECK(tm_syntax_size_applies(TM_BACKSTORE_RAMDISK, NULL) &&
		  tm_syntax_size_applies(TM_BACKSTORE_FILEIO, "/srv/a.img") &&
		  !tm_syntax_size_applies(TM_BACKSTORE_FILEIO, "/dev/sdb") &&
		  !tm_syntax_size_applies(TM_BACKSTORE_IBLOCK, "/dev/sdb"),
	      "size= means something for RAM disks and files outside /dev/");
	CHECK(tm_syntax_size_ok(512) && !tm_syntax_size_ok(0) && !tm_syntax_size_ok(1000),
	      "sizes: positive multiples of 512");
}

static void test_portals(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"10.0.0.1", "10.0.0.1:3260"},
	    {"10.0.0.1:03261", "10.0.0.1:3261"},
	    {"::1", "[::1]:3260"},
	    {"[::0]:3260", "[::]:3260"},
	    {"[fd00:0:0::1]", "[fd00::1]:3260"},
	    {"host.example", NULL},
	    {"10.0.0.1:0", NULL},
	    {"10.0.0.1:65536", NULL},
	    {"[::1]3260", NULL},
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		const char *reason = NULL;
		char *out = NULL;
		int r = tm_syntax_portal_normalize(cases[i].in, &out, &reason);

		if (cases[i].out)
			CHECK(r == 0 && streq(out, cases[i].out), "portal %s -> %s", cases[i].in,
			      cases[i].out);
		else
			CHECK(r == -EINVAL && reason, "portal %s: %s", cases[i].in,
			      reason ? reason : "(no reason)");
		free(out);
	}
}

int main(void)
{
	test_key_lines();
	test_values();
	test_names();
	test_lun_paths();
	test_portals();
	return tap_done();
}
