/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The target-file syntax.  See syntax.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "syntax.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>

#include "layout.h"
#include "util.h"

/* ---- tokens ------------------------------------------------------------------------------ */

int tm_syntax_parse_unsigned(const char *s, unsigned max, unsigned *ret)
{
	unsigned long v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -ERANGE;
	}
	*ret = (unsigned)v;
	return 0;
}

size_t tm_syntax_split_words(char *s, char **words, size_t max)
{
	char *state = NULL;
	size_t n = 0;

	for (char *w = strtok_r(s, TM_SYNTAX_BLANKS, &state); w;
	     w = strtok_r(NULL, TM_SYNTAX_BLANKS, &state)) {
		if (n < max)
			words[n] = w;
		n++;
	}
	return n;
}

const char *tm_syntax_key_end(const char *s)
{
	bool was_space = false;

	for (; *s; s++) {
		if (*s == '=' || *s == ':')
			return s;
		if (was_space && *s == ';')
			return NULL;
		was_space = isspace((unsigned char)*s);
	}
	return NULL;
}

bool tm_syntax_comment_line(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && isspace((unsigned char)line[i]))
		i++;
	return i < len && (line[i] == ';' || line[i] == '#');
}

static bool is_control(char c)
{
	return ((unsigned char)c < ' ' && c != '\t') || c == 0x7f;
}

const char *tm_syntax_find_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_control(s[i]))
			return s + i;
	return NULL;
}

/* Edit distance with adjacent transpositions ("lnu" is one edit from "lun"), three rows; the
   words compared here are short (keys, options, attribute names). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), rows[3][64];

	if (la >= ELEMENTSOF(rows[0]) || lb >= ELEMENTSOF(rows[0]))
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		rows[1][j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t *cur = rows[(i + 1) % 3], *prev = rows[i % 3], *prev2 = rows[(i + 2) % 3];

		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);

			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < best)
				best = prev2[j - 2] + 1;
			cur[j] = best;
		}
	}
	return rows[(la + 1) % 3][lb];
}

const char *tm_syntax_closest(const char *word, const char *const *candidates, size_t n)
{
	size_t best = SIZE_MAX, limit = strlen(word) / 4 + 1;
	const char *found = NULL;

	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, candidates[i]);
		if (d < best) {
			best = d;
			found = candidates[i];
		}
	}
	return best > 0 && best <= limit ? found : NULL;
}

bool tm_syntax_word_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/* ---- names ------------------------------------------------------------------------------- */

bool tm_syntax_name_ok(const char *s, size_t max, bool dot_dash)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' ||
		      (dot_dash && (*s == '.' || *s == '-'))))
			return false;
	return true;
}

bool tm_syntax_setting_name_ok(const char *name)
{
	return tm_syntax_name_ok(name, TM_SYNTAX_SETTING_MAX, false);
}

bool tm_syntax_backstore_name_ok(const char *name)
{
	return tm_syntax_name_ok(name, TM_SYNTAX_NAME_MAX, true) && !streq(name, ".") &&
	       !streq(name, "..");
}

bool tm_syntax_serial_ok(const char *serial)
{
	return tm_syntax_name_ok(serial, TM_SYNTAX_NAME_MAX, true);
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (; *s; s++)
		if (!is_digit(*s) && !(*s >= 'a' && *s <= 'f'))
			return false;
	return true;
}

static const char *iqn_invalid(const char *s)
{
	const char *domain, *colon;

	/* "YYYY-MM." */
	if (!is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]) || !is_digit(s[3]) ||
	    s[4] != '-' || !is_digit(s[5]) || !is_digit(s[6]) || s[7] != '.')
		return "expected 'iqn.YYYY-MM.' followed by a reversed domain name";
	if ((s[5] - '0') * 10 + (s[6] - '0') < 1 || (s[5] - '0') * 10 + (s[6] - '0') > 12)
		return "the month after 'iqn.YYYY-' must be 01 to 12";

	domain = s + 8;
	colon = strchrnul(domain, ':');
	if (colon == domain)
		return "missing the reversed domain name after 'iqn.YYYY-MM.'";
	for (const char *p = domain; p < colon; p++)
		if (*p == '.' && (p == domain || p[-1] == '.' || p + 1 == colon))
			return "empty label in the reversed domain name";
	if (*colon == ':' && colon[1] == '\0')
		return "nothing after ':'";
	return NULL;
}

const char *tm_syntax_iscsi_name_invalid(const char *name)
{
	const char *s;

	if (!name || !*name)
		return "empty name";
	if (strlen(name) > TM_SYNTAX_ISCSI_NAME_MAX)
		return "longer than 223 bytes";
	for (s = name; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return "uppercase letters: iSCSI names are lowercase";
	for (s = name; *s; s++)
		if (!is_lower(*s) && !is_digit(*s) && *s != '.' && *s != '-' && *s != ':')
			return "characters other than a-z, 0-9, '.', '-' and ':'";
	if ((s = startswith(name, "iqn.")))
		return iqn_invalid(s);
	if ((s = startswith(name, "eui.")))
		return is_hex(s, 16) ? NULL : "'eui.' must be followed by 16 hex digits";
	if ((s = startswith(name, "naa.")))
		return is_hex(s, 16) || is_hex(s, 32)
			   ? NULL
			   : "'naa.' must be followed by 16 or 32 hex digits";
	return "expected a name starting with 'iqn.', 'eui.' or 'naa.'";
}

/* ---- LUN lines --------------------------------------------------------------------------- */

const char *tm_syntax_lun_path_invalid(const char *path)
{
	if (!path || !*path)
		return "it is empty";
	if (path[0] != '/')
		return "it is not absolute";
	if (strchr(path, ','))
		return "it contains ',', which LIO's control interface cannot take";
	if (!tm_syntax_word_ok(path))
		return "it contains blanks or control characters";
	return NULL;
}

enum tm_backstore_type tm_syntax_type_from_path(const char *path)
{
	return startswith(path, "/dev/") ? TM_BACKSTORE_IBLOCK : TM_BACKSTORE_FILEIO;
}

bool tm_syntax_size_ok(uint64_t bytes)
{
	return bytes > 0 && bytes % TM_SYNTAX_SIZE_ALIGN == 0;
}

uint64_t tm_syntax_size_max(enum tm_backstore_type type)
{
	if (type == TM_BACKSTORE_RAMDISK)
		return (uint64_t)UINT32_MAX * 4096;
	return (uint64_t)INT64_MAX / TM_SYNTAX_SIZE_ALIGN * TM_SYNTAX_SIZE_ALIGN;
}

bool tm_syntax_size_applies(enum tm_backstore_type type, const char *path)
{
	return type == TM_BACKSTORE_RAMDISK ||
	       (type == TM_BACKSTORE_FILEIO && path && !startswith(path, "/dev/"));
}

bool tm_syntax_inquiry_ok(const char *s, size_t max)
{
	if (!tm_syntax_word_ok(s) || strlen(s) > max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s > '~')
			return false;
	return true;
}

/* ---- ALUA -------------------------------------------------------------------------------- */

bool tm_syntax_alua_group_name_ok(const char *name)
{
	return tm_syntax_backstore_name_ok(name) && !streq(name, TM_LAYOUT_ALUA_DEFAULT_GROUP);
}

struct word_value {
	const char *word, *value;
};

/* SPC-4 6.37 (REPORT TARGET PORT GROUPS): the asymmetric access states LIO offers a group
   by default (ALUA_T_SUP | ALUA_O_SUP | ALUA_U_SUP | ALUA_S_SUP | ALUA_AN_SUP | ALUA_AO_SUP;
   transitioning is the kernel's to set). */
static const struct word_value alua_states[] = {
    {"active/optimized", "0"}, {"active/non-optimized", "1"},
    {"standby", "2"},          {"unavailable", "3"},
    {"offline", "14"},
};
/* TPGS in INQUIRY: who changes the states (targetmgr, the initiator, or both). */
static const struct word_value alua_types[] = {
    {"implicit", "1"},
    {"explicit", "2"},
    {"both", "3"},
};

static const char *lookup(const struct word_value *t, size_t n, const char *key, bool by_word)
{
	for (size_t i = 0; key && i < n; i++)
		if (streq(by_word ? t[i].word : t[i].value, key))
			return by_word ? t[i].value : t[i].word;
	return NULL;
}

const char *tm_syntax_alua_state_value(const char *word)
{
	return lookup(alua_states, ELEMENTSOF(alua_states), word, true);
}

const char *tm_syntax_alua_state_word(const char *value)
{
	return lookup(alua_states, ELEMENTSOF(alua_states), value, false);
}

const char *tm_syntax_alua_type_value(const char *word)
{
	return lookup(alua_types, ELEMENTSOF(alua_types), word, true);
}

const char *tm_syntax_alua_type_word(const char *value)
{
	return lookup(alua_types, ELEMENTSOF(alua_types), value, false);
}

/* ---- portals ----------------------------------------------------------------------------- */

int tm_syntax_portal_normalize(const char *s, char **ret, const char **reason)
{
	char host[INET6_ADDRSTRLEN], canonical[INET6_ADDRSTRLEN];
	const char *host_start = s, *host_end, *port = NULL;
	unsigned char addr[sizeof(struct in6_addr)];
	unsigned number = TM_SYNTAX_PORT_DEFAULT;
	int family;

	if (s[0] == '[') {
		host_start = s + 1;
		host_end = strchr(host_start, ']');
		if (!host_end) {
			*reason = "missing ']' after the IPv6 address";
			return -EINVAL;
		}
		if (host_end[1] == ':')
			port = host_end + 2;
		else if (host_end[1] != '\0') {
			*reason = "expected ':PORT' after ']'";
			return -EINVAL;
		}
		family = AF_INET6;
	} else if (strchr(s, ':') != strrchr(s, ':')) {
		/* Two colons or more: a bare IPv6 address, which cannot take a port. */
		const char *last = strrchr(s, ':');
		unsigned ignored;

		host_end = s + strlen(s);
		family = AF_INET6;
		if (tm_syntax_parse_unsigned(last + 1, 65535, &ignored) == 0 &&
		    (size_t)(last - s) < sizeof(host)) {
			memcpy(host, s, (size_t)(last - s));
			host[last - s] = '\0';
			if (inet_pton(AF_INET6, host, addr) == 1) {
				*reason = "ambiguous: the last group could be a port; write "
					  "[ADDRESS]:PORT, or [ADDRESS] for port 3260";
				return -EINVAL;
			}
		}
	} else {
		host_end = strchrnul(s, ':');
		if (*host_end == ':')
			port = host_end + 1;
		family = AF_INET;
	}

	if ((size_t)(host_end - host_start) >= sizeof(host)) {
		*reason = family == AF_INET6 ? "not an IPv6 address" : "not an IPv4 address";
		return -EINVAL;
	}
	memcpy(host, host_start, (size_t)(host_end - host_start));
	host[host_end - host_start] = '\0';
	if (inet_pton(family, host, addr) != 1) {
		*reason = family == AF_INET6 ? "not an IPv6 address"
					     : "not an IPv4 address (host names are not accepted)";
		return -EINVAL;
	}
	if (port && (tm_syntax_parse_unsigned(port, 65535, &number) < 0 || number == 0)) {
		*reason = "the port must be a number from 1 to 65535";
		return -EINVAL;
	}
	if (!inet_ntop(family, addr, canonical, sizeof(canonical)))
		return -errno;

	*ret = family == AF_INET6 ? tm_strdupf("[%s]:%u", canonical, number)
				  : tm_strdupf("%s:%u", canonical, number);
	return *ret ? 0 : -ENOMEM;
}

/* ---- writing ----------------------------------------------------------------------------- */

const char *tm_syntax_value_problem(const char *v)
{
	size_t n = strlen(v);

	if (n == 0)
		return "it is empty";
	if (isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1]))
		return "it starts or ends with a blank";
	if (tm_syntax_find_control(v, n))
		return "it contains control characters";
	for (const char *p = v + 1; *p; p++)
		if (*p == ';' && (p[-1] == ' ' || p[-1] == '\t'))
			return "a ';' in it would start a comment";
	return NULL;
}

bool tm_syntax_key_line_fits(size_t key_len, size_t value_len)
{
	return key_len + 1 + value_len <= TM_SYNTAX_LINE_MAX;
}

int tm_syntax_key_line(const char *key, const char *value, char **ret)
{
	size_t k = strlen(key), v = strlen(value);

	if (!tm_syntax_key_line_fits(k, v))
		return -E2BIG;
	/* inih takes a ';' right after the '=' as part of the value, after a blank as a
	   comment. */
	*ret = tm_strdupf(k + 3 + v <= TM_SYNTAX_LINE_MAX && value[0] != ';' ? "%s = %s" : "%s=%s",
			  key, value);
	return *ret ? 0 : -ENOMEM;
}

bool tm_syntax_section_fits(const char *type, const char *name)
{
	return strlen("[ ]") + strlen(type) + strlen(name) <= TM_SYNTAX_LINE_MAX;
}

/* ---- other tools' syntax ----------------------------------------------------------------- */

const char *tm_syntax_tgt_hint(const char *key)
{
	static const struct {
		const char *tgt, *hint;
	} hints[] = {
	    {"backing-store", "'lun N = PATH'"},
	    {"direct-store", "'lun N = PATH'"},
	    {"incominguser", "'chap = USER SECRET'"},
	    {"outgoinguser", "'mutual-chap = USER SECRET'"},
	    {"initiator-name", "'initiator = IQN'"},
	    {"initiator-address", "'initiator = IQN' (LIO grants access by initiator name)"},
	    {"readonly", "the 'ro' option of a 'lun' line"},
	    {"write-cache",
	     "'write-through' on a 'lun' line for a file (a block device reports its own cache)"},
	    {"scsi_sn", "'serial=' on a 'lun' line"},
	    {"MaxRecvDataSegmentLength", "'parameter.MaxRecvDataSegmentLength = N'"},
	    {"lun", "'lun N = PATH'"},
	};

	for (size_t i = 0; i < ELEMENTSOF(hints); i++)
		if (streq(key, hints[i].tgt))
			return hints[i].hint;
	return NULL;
}
