/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The target-file syntax (docs/targetmgr.conf.5.scd), in one place: the parser reads with
 * these rules, `save` writes with them, and importers of other tools' files check with them.
 * Everything here is pure: no I/O, no diagnostics; a rule answers yes or no, or gives a static
 * reason for no.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* What separates words on a line. */
#define TM_SYNTAX_BLANKS " \t\r\n\v\f"

/*
 * Characters per line, not counting the line ending: inih (Debian's build) reads a line into a
 * 200-byte buffer, NUL included, and splits longer ones silently, so the parser refuses them.
 */
#define TM_SYNTAX_LINE_MAX 199

#define TM_SYNTAX_LUN_MAX        65535U /* lun N and luns = N...: 0 to this */
#define TM_SYNTAX_NAME_MAX       64     /* name= and serial= of a LUN line */
#define TM_SYNTAX_SETTING_MAX    255    /* NAME of attribute.NAME and parameter.NAME */
#define TM_SYNTAX_ISCSI_NAME_MAX 223    /* RFC 3720 */
#define TM_SYNTAX_PORT_DEFAULT   3260U  /* a portal without :PORT */
#define TM_SYNTAX_SIZE_ALIGN     512U   /* size= is a positive multiple of this */
#define TM_SYNTAX_VENDOR_MAX     8U     /* vendor=: INQUIRY's T10 vendor identification */
#define TM_SYNTAX_PRODUCT_MAX    16U    /* product=: INQUIRY's product identification */

/* ---- tokens ---- */

/* Strict decimal: digits only, no sign, no blanks.  0, -EINVAL, or -ERANGE above max. */
int tm_syntax_parse_unsigned(const char *s, unsigned max, unsigned *ret);

/* Splits s (modified) at blanks into at most max words; returns the number of words found
   (may exceed max: the extra ones are not stored). */
size_t tm_syntax_split_words(char *s, char **words, size_t max);

/* Where a "KEY = VALUE" line's key ends: the first '=' or ':', unless an inline comment (';'
   after a blank) comes first, as inih reads it.  NULL: no separator. */
const char *tm_syntax_key_end(const char *line);

/* Whether line[0..len) is a comment: ';' or '#' after leading blanks. */
bool tm_syntax_comment_line(const char *line, size_t len);

/* The first byte of s[0..n) that no line but a comment may hold: a control character other
   than tab (NUL included), or DEL.  NULL when there is none. */
const char *tm_syntax_find_control(const char *s, size_t n);

/*
 * The candidate closest to word by edit distance, when it is close enough to be a typo (at
 * most one edit in 4 characters, and at least one); NULL otherwise.  For "did you mean".
 */
const char *tm_syntax_closest(const char *word, const char *const *candidates, size_t n);

/* One word: not empty, no blank, no control character. */
bool tm_syntax_word_ok(const char *s);

/* ---- names ---- */

/* 1..max characters of [A-Za-z0-9_], plus '.' and '-' with dot_dash. */
bool tm_syntax_name_ok(const char *s, size_t max, bool dot_dash);
/* NAME of attribute.NAME and parameter.NAME: 1 to 255 of [A-Za-z0-9_]. */
bool tm_syntax_setting_name_ok(const char *name);
/* name=: 1 to 64 of [A-Za-z0-9_.-], not "." or "..". */
bool tm_syntax_backstore_name_ok(const char *name);
/* serial=: 1 to 64 of [A-Za-z0-9_.-]. */
bool tm_syntax_serial_ok(const char *serial);

/* RFC 3720 iSCSI names: "iqn.YYYY-MM.reversed.domain[:anything]", "eui." + 16 hex digits,
   "naa." + 16 or 32 hex digits, lowercase.  NULL if valid, else a static reason. */
const char *tm_syntax_iscsi_name_invalid(const char *name);

/* ---- LUN lines ---- */

/* The PATH of "lun N = PATH": absolute, no blank, no control character, no ',' (LIO's control
   file separates its options with commas).  NULL if valid, else a static reason. */
const char *tm_syntax_lun_path_invalid(const char *path);
/* The backstore type a path means without type=: iblock below /dev/, fileio elsewhere. */
enum tm_backstore_type tm_syntax_type_from_path(const char *path);
/* size=: a positive multiple of 512 bytes. */
bool tm_syntax_size_ok(uint64_t bytes);
/* The largest size= of that type: a RAM disk has at most 2^32 - 1 pages of 4 KiB (LIO counts
   them in 32 bits), a file at most what off_t holds. */
uint64_t tm_syntax_size_max(enum tm_backstore_type type);
/* Whether size= means something for that type and path: a RAM disk's size, or the size a
   missing file is created with; never below /dev/, where it would make a regular file. */
bool tm_syntax_size_applies(enum tm_backstore_type type, const char *path);

/* vendor= and product=: 1 to max printable ASCII characters, no blank (LIO takes what
   isprint() accepts; a blank would end the option). */
bool tm_syntax_inquiry_ok(const char *s, size_t max);

/* ---- ALUA ---- */

#define TM_SYNTAX_ALUA_ID_MAX 65535U /* id = of [alua NAME]: 1 to this (LIO's u16) */

/* NAME of [alua NAME] and alua=NAME: 1 to 64 of [A-Za-z0-9_.-], not "." or "..", and not
   LIO's own default_tg_pt_gp (every target port is in it unless put in another). */
bool tm_syntax_alua_group_name_ok(const char *name);

/*
 * The words of "state =" (active/optimized, active/non-optimized, standby, unavailable,
 * offline) and "type =" (implicit, explicit, both) of [alua NAME], and the numbers LIO's
 * alua_access_state and alua_access_type take and show for them.  NULL when unknown.
 */
const char *tm_syntax_alua_state_value(const char *word);
const char *tm_syntax_alua_state_word(const char *value);
const char *tm_syntax_alua_type_value(const char *word);
const char *tm_syntax_alua_type_word(const char *value);

/* ---- portals ---- */

/*
 * "10.0.0.1", "10.0.0.1:3261", "[fe80::1]:3260", "::1" -> LIO's np directory name,
 * "A.B.C.D:PORT" or "[V6]:PORT" with the address in inet_ntop's canonical form.  -EINVAL with
 * a static *reason, or -ENOMEM.  A bare IPv6 address whose last group could be a port
 * ("fe80::1:3260": port 3260 of fe80::1, or the address fe80::1:3260?) is refused as
 * ambiguous: brackets say which.
 */
int tm_syntax_portal_normalize(const char *s, char **ret, const char **reason);

/* ---- writing ---- */

/* Why "KEY = VALUE" would not read back as VALUE; NULL when it would. */
const char *tm_syntax_value_problem(const char *value);

/* Whether a key line fits in a line in its shortest form, "KEY=VALUE". */
bool tm_syntax_key_line_fits(size_t key_len, size_t value_len);

/* "KEY = VALUE", or "KEY=VALUE" when only that fits or VALUE starts with ';' (which only
   right after the '=' reads as part of the value): everything the parser took from one line
   is written in one line again.  0, -E2BIG when neither fits, or -ENOMEM. */
int tm_syntax_key_line(const char *key, const char *value, char **ret);

/* Whether "[TYPE NAME]" fits in a line. */
bool tm_syntax_section_fits(const char *type, const char *name);

/* ---- other tools' syntax ---- */

/* What to write instead of a key of tgt's targets.conf ("backing-store", ...); NULL when key
   is not one. */
const char *tm_syntax_tgt_hint(const char *key);
