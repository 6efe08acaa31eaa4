/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness of the configfs state reader (lib/scan.c): the input is decoded into a
 * small directory tree in a scratch directory, which the scanner then reads as if it were
 * /sys/kernel/config, once on its own and once against a declared model naming some of the
 * objects (so that the declared settings' paths are read too).  What it reads is saved as
 * target files, which must parse without an error (what `targetmgr save` promises).  ASan and
 * UBSan catch the rest.
 *
 * The input, one entry per line ("\n"), paths relative to the root with '/' between
 * components (no "..", no empty component; at most 8 deep, 128 entries):
 *   d PATH            a directory (its parents are made as needed)
 *   f PATH=CONTENT    a file holding CONTENT ("\\n" in it becomes a newline)
 *   l PATH>TARGET     a symbolic link to TARGET, a path relative to the root, made absolute
 * The seeds in tests/fuzz/corpus-scan/ are trees `apply` made on the fakecfs stand-in.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../configfs/cfs.h"
/* rt_save() and rt_longest_line(); not its model comparison. */
#pragma clang diagnostic ignored "-Wunused-function"
#include "roundtrip.h"
#include "scan.h"
#include "syntax.h"

#define MAX_ENTRIES 128
#define MAX_DEPTH   8

/* tmpfs: the tree is made and removed once per input, a disk would be most of the time. */
static char base[] = "/dev/shm/fuzz-scan.XXXXXX";
static char root[sizeof(base) + 8];
static struct tm_config *declared;

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

/* In process: a fork of rm per input would be most of the harness's time. */
static void remove_tree(const char *path)
{
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		abort();
}

static void remove_base(void)
{
	remove_tree(base);
	tm_config_unref(declared);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* The declared side: objects the seeds hold, so that their settings are looked up. */
	static const char text[] = "[target iqn.2003-01.org.example:t1]\n"
				   "lun 0 = ramdisk size=1M name=r0\n"
				   "lun 1 = /srv/a.img name=f1\n"
				   "initiator = iqn.1993-08.org.debian:01:aaaa\n"
				   "chap = user Sup3rS3cret14\n"
				   "attribute.login_timeout = 15\n"
				   "parameter.HeaderDigest = CRC32C,None\n";
	struct tm_diags d = {0};

	(void)argc;
	(void)argv;
	if (!mkdtemp(base))
		abort();
	snprintf(root, sizeof(root), "%s/root", base);
	atexit(remove_base);
	declared = tm_config_new();
	if (!declared || tm_parse_string("declared.conf", text, declared, &d) < 0 || d.n_errors)
		abort();
	tm_diags_clear(&d);
	return 0;
}

/* Whether path is relative, without "." or ".." or empty components, and not too deep. */
static bool path_ok(const char *path)
{
	unsigned depth = 0;

	if (!*path || *path == '/')
		return false;
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (++depth > MAX_DEPTH)
			return false;
		p += n + (p[n] == '/');
	}
	return true;
}

static void make_parents(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);

	if (!copy)
		abort();
	for (char *s = strchr(copy + strlen(root) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		(void)mkdir(copy, 0755);
		*s = '/';
	}
}

static void make_entry(char kind, char *spec)
{
	char *value = NULL, *sep;
	_cleanup_free_ char *path = NULL;

	if (kind == 'f' && (sep = strchr(spec, '='))) {
		*sep = '\0';
		value = sep + 1;
	} else if (kind == 'l' && (sep = strchr(spec, '>'))) {
		*sep = '\0';
		value = sep + 1;
	} else if (kind != 'd')
		return;
	if (!path_ok(spec) || (kind == 'l' && !path_ok(value)))
		return;
	path = tm_strdupf("%s/%s", root, spec);
	if (!path)
		abort();
	make_parents(path);
	if (kind == 'd')
		(void)mkdir(path, 0755);
	else if (kind == 'l') {
		_cleanup_free_ char *target = tm_strdupf("%s/%s", root, value);
		if (!target)
			abort();
		(void)symlink(target, path);
	} else {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
		size_t n = 0;

		if (fd < 0)
			return;
		/* "\n" in CONTENT is a newline: configfs attributes end in one. */
		for (char *r = value, *w = value; *r; r++, n++, w++)
			*w = (r[0] == '\\' && r[1] == 'n') ? (r++, '\n') : *r;
		if (write(fd, value, n) < 0)
			abort();
		close(fd);
	}
}

static void scan_and_save(struct tm_cfs *cfs, const struct tm_config *want)
{
	_cleanup_config_ struct tm_config *running = NULL, *back = NULL;
	_cleanup_free_ char *saved = NULL;
	struct tm_diags d = {0};

	if (tm_scan(cfs, want, &running) < 0)
		return;
	saved = rt_save(running, NULL);
	if (rt_longest_line(saved) > TM_SYNTAX_LINE_MAX) {
		fprintf(stderr, "fuzz-scan: save wrote a line over the limit\n%s\n", saved);
		abort();
	}
	back = tm_config_new();
	if (!back || tm_parse_string("saved.conf", saved, back, &d) < 0)
		abort();
	if (d.n_errors > 0) {
		fprintf(stderr,
			"fuzz-scan: the parser refuses what save wrote of the scanned tree\n");
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "  saved.conf:%u: %s\n", d.v[i].line, d.v[i].message);
		fprintf(stderr, "--- saved\n%s\n---\n", saved);
		abort();
	}
	tm_diags_clear(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = strndup((const char *)data, size);
	_cleanup_cfs_ struct tm_cfs *cfs = NULL;
	char *state = NULL;
	unsigned entries = 0;

	if (!text)
		return 0;
	remove_tree(root);
	if (mkdir(root, 0755) < 0)
		abort();
	for (char *line = strtok_r(text, "\n", &state); line && entries < MAX_ENTRIES;
	     line = strtok_r(NULL, "\n", &state), entries++)
		if (line[0] && line[1] == ' ')
			make_entry(line[0], line + 2);

	if (tm_cfs_open(root, &cfs) < 0)
		abort();
	scan_and_save(cfs, NULL);
	scan_and_save(cfs, declared);
	return 0;
}
