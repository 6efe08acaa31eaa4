/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* configfs/cfs.c against a plain temporary directory standing in for /sys/kernel/config. */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "cfs.h"
#include "util.h"

#include "tap.h"

static char tmp[] = "/tmp/test-cfs.XXXXXX";

/* Fixture helpers: plain libc relative to the temporary root, independent of cfs.c. */
static void put_bytes(const char *path, const char *bytes, size_t len)
{
	_cleanup_free_ char *p = tm_strdupf("%s/%s", tmp, path);
	_cleanup_close_ int fd = -EBADF;

	if (!p)
		bail("tm_strdupf");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, bytes, len) != (ssize_t)len)
		bail(p);
}
#define put(path, literal) put_bytes(path, literal, sizeof(literal) - 1)

/* The exact bytes of a fixture file; NULL when missing. */
static char *slurp(const char *path, size_t *len)
{
	_cleanup_free_ char *p = tm_strdupf("%s/%s", tmp, path);
	_cleanup_fclose_ FILE *f = NULL;
	char *buf = calloc(1, 65536);
	size_t n;

	if (!p || !buf)
		bail("alloc");
	f = fopen(p, "re");
	if (!f) {
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, 65535, f);
	if (len)
		*len = n;
	return buf;
}

static void raw_mkdir(const char *path)
{
	_cleanup_free_ char *p = tm_strdupf("%s/%s", tmp, path);
	if (!p || mkdir(p, 0755) < 0)
		bail(path);
}

static void raw_symlink(const char *body, const char *path)
{
	_cleanup_free_ char *p = tm_strdupf("%s/%s", tmp, path);
	if (!p || symlink(body, p) < 0)
		bail(path);
}

static void test_open(void)
{
	_cleanup_free_ char *real = realpath(tmp, NULL), *alias = NULL, *file = NULL;
	struct tm_cfs *cfs = NULL;

	alias = tm_strdupf("%s-alias", tmp);
	file = tm_strdupf("%s/plainfile", tmp);
	if (!real || !alias || !file || symlink(tmp, alias) < 0)
		bail("alias");
	put("plainfile", "x");

	CHECK_INT(tm_cfs_open(alias, &cfs), 0, "open through a symlink");
	CHECK_STR(cfs ? tm_cfs_root(cfs) : NULL, real, "root is the canonical absolute path");
	tm_cfs_close(cfs);
	unlink(alias);

	cfs = NULL;
	CHECK_INT(tm_cfs_open("/nonexistent/configfs", &cfs), -ENOENT,
		  "open missing root: -ENOENT");
	CHECK(!cfs, "no object on failure");
	CHECK_INT(tm_cfs_open(file, &cfs), -ENOTDIR, "open a file as root: -ENOTDIR");
	unlink(file);

	tm_cfs_close(NULL);
	tm_strv_free(NULL);
	CHECK(true, "close(NULL) and strv_free(NULL) are no-ops");
}

static void test_mkdir_rmdir(struct tm_cfs *cfs)
{
	CHECK_INT(tm_cfs_mkdir(cfs, "d"), 0, "mkdir d");
	CHECK_INT(tm_cfs_mkdir(cfs, "d/e"), 0, "mkdir d/e");
	CHECK_INT(tm_cfs_mkdir(cfs, "d"), -EEXIST, "mkdir existing: -EEXIST");
	CHECK_INT(tm_cfs_mkdir(cfs, "nope/e"), -ENOENT, "mkdir below missing: -ENOENT");
	CHECK_INT(tm_cfs_exists(cfs, "d/e"), 1, "d/e exists");
	CHECK_INT(tm_cfs_rmdir(cfs, "d"), -ENOTEMPTY, "rmdir non-empty: -ENOTEMPTY");
	CHECK_INT(tm_cfs_rmdir(cfs, "d/e"), 0, "rmdir d/e");
	CHECK_INT(tm_cfs_exists(cfs, "d/e"), 0, "d/e gone");
	CHECK_INT(tm_cfs_rmdir(cfs, "d/e"), -ENOENT, "rmdir missing: -ENOENT");
	CHECK_INT(tm_cfs_rmdir(cfs, "d"), 0, "rmdir d");
}

static void test_write(struct tm_cfs *cfs)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
	size_t la = 0, lb = 0, lc = 0;

	raw_mkdir("w");
	put("w/attr", "a longer old value\n");
	CHECK_INT(tm_cfs_write(cfs, "w/attr", "new"), 0, "write attr");
	a = slurp("w/attr", &la);
	CHECK(a && la == 3 && memcmp(a, "new", 3) == 0, "exact bytes, no newline added, truncated");

	CHECK_INT(tm_cfs_write(cfs, "w/attr", "secret\n"), 0, "write a value with its own newline");
	b = slurp("w/attr", &lb);
	CHECK(b && lb == 7 && memcmp(b, "secret\n", 7) == 0, "the newline is kept, not doubled");

	CHECK_INT(tm_cfs_write(cfs, "w/attr", ""), 0, "write an empty value");
	c = slurp("w/attr", &lc);
	CHECK(c && lc == 0, "empty value: zero bytes");

	CHECK_INT(tm_cfs_write(cfs, "w/missing", "1"), -ENOENT, "write missing attr: -ENOENT");
	CHECK(!slurp("w/missing", NULL), "no file created (no O_CREAT)");
	CHECK_INT(tm_cfs_write(cfs, "w", "1"), -EISDIR, "write a directory: -EISDIR");
}

static void test_read(struct tm_cfs *cfs)
{
	char big[10001];
	char *v = NULL;

	raw_mkdir("r");
	put("r/nl", "value\n");
	put("r/blanks", "  lead and trail \t\n\n");
	put("r/empty", "");
	put("r/multi", "line1\nline2\n");
	put("r/nul", "iqn.a:x\n\0iqn.b:y\n\0");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	put_bytes("r/big", big, sizeof(big) - 1);

	CHECK_INT(tm_cfs_read(cfs, "r/nl", &v), 0, "read r/nl");
	CHECK_STR(v, "value", "trailing newline stripped");
	free(v);
	v = NULL;
	CHECK_INT(tm_cfs_read(cfs, "r/blanks", &v), 0, "read r/blanks");
	CHECK_STR(v, "  lead and trail", "only trailing whitespace stripped");
	free(v);
	v = NULL;
	CHECK_INT(tm_cfs_read(cfs, "r/empty", &v), 0, "read an empty attribute");
	CHECK_STR(v, "", "empty string");
	free(v);
	v = NULL;
	CHECK_INT(tm_cfs_read(cfs, "r/multi", &v), 0, "read r/multi");
	CHECK_STR(v, "line1\nline2", "inner newlines kept");
	free(v);
	v = NULL;
	CHECK_INT(tm_cfs_read(cfs, "r/nul", &v), 0, "read text with NUL bytes (dynamic_sessions)");
	CHECK_STR(v, "iqn.a:x\niqn.b:y", "NUL bytes dropped, nothing cut off");
	free(v);
	v = NULL;
	CHECK_INT(tm_cfs_read(cfs, "r/big", &v), 0, "read more than a page");
	CHECK_INT(v ? (long long)strlen(v) : -1, 10000, "all 10000 bytes");
	free(v);
	v = NULL;
	CHECK_INT(tm_cfs_read(cfs, "r/missing", &v), -ENOENT, "read missing: -ENOENT");
	CHECK(!v, "*ret untouched on failure");
	CHECK_INT(tm_cfs_read(cfs, "r", &v), -EISDIR, "read a directory: -EISDIR");
}

static void test_symlink(struct tm_cfs *cfs)
{
	_cleanup_free_ char *want = NULL, *p = NULL;
	char body[PATH_MAX] = "";
	struct stat st;
	ssize_t n;

	raw_mkdir("core");
	raw_mkdir("core/fileio_0");
	raw_mkdir("core/fileio_0/disk");
	raw_mkdir("lun_0");
	CHECK_INT(tm_cfs_symlink(cfs, "core/fileio_0/disk", "lun_0/port"), 0, "symlink");
	want = tm_strdupf("%s/core/fileio_0/disk", tm_cfs_root(cfs));
	p = tm_strdupf("%s/lun_0/port", tmp);
	if (!want || !p)
		bail("alloc");
	n = readlink(p, body, sizeof(body) - 1);
	if (n >= 0)
		body[n] = '\0';
	CHECK_STR(body, want, "body is <root>/<target>, absolute");
	CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode), "link resolves to the target directory");
	CHECK_INT(tm_cfs_symlink(cfs, "core/fileio_0/disk", "lun_0/port"), -EEXIST,
		  "symlink over existing: -EEXIST");
	CHECK_INT(tm_cfs_symlink(cfs, "core/fileio_0/disk", "nope/port"), -ENOENT,
		  "symlink in missing dir: -ENOENT");
	CHECK_INT(tm_cfs_unlink(cfs, "lun_0/port"), 0, "unlink");
	CHECK_INT(tm_cfs_exists(cfs, "lun_0/port"), 0, "link gone");
	CHECK_INT(tm_cfs_exists(cfs, "core/fileio_0/disk"), 1, "target untouched");
	CHECK_INT(tm_cfs_unlink(cfs, "lun_0/port"), -ENOENT, "unlink missing: -ENOENT");
}

static void test_readlink_tail(struct tm_cfs *cfs)
{
	char *v = NULL;

	raw_mkdir("l");
	raw_symlink("../../../../../../target/core/fileio_0/disk", "l/lun");
	raw_symlink("../../../../../../../target/iscsi/iqn.x/tpgt_1/lun/lun_3", "l/mapped");
	raw_symlink("/sys/kernel/config/target/core/rd_mcp_1000/ram//", "l/abs");
	raw_symlink("disk", "l/short");
	put("l/file", "x");

	CHECK_INT(tm_cfs_readlink_tail(cfs, "l/lun", 2, &v), 0, "readlink_tail 2 of a LUN link");
	CHECK_STR(v, "fileio_0/disk", "\"<hba>/<name>\"");
	free(v);
	v = NULL;
	CHECK_INT(tm_cfs_readlink_tail(cfs, "l/lun", 1, &v), 0, "readlink_tail 1");
	CHECK_STR(v, "disk", "last component");
	free(v);
	v = NULL;
	CHECK_INT(tm_cfs_readlink_tail(cfs, "l/mapped", 1, &v), 0, "readlink_tail of a mapped LUN");
	CHECK_STR(v, "lun_3", "\"lun_<N>\"");
	free(v);
	v = NULL;
	CHECK_INT(tm_cfs_readlink_tail(cfs, "l/abs", 2, &v), 0, "absolute body, trailing slashes");
	CHECK_STR(v, "rd_mcp_1000/ram", "slashes squeezed");
	free(v);
	v = NULL;
	CHECK_INT(tm_cfs_readlink_tail(cfs, "l/short", 2, &v), -EINVAL,
		  "fewer components than asked: -EINVAL");
	CHECK_INT(tm_cfs_readlink_tail(cfs, "l/lun", 0, &v), -EINVAL, "0 components: -EINVAL");
	CHECK_INT(tm_cfs_readlink_tail(cfs, "l/file", 1, &v), -EINVAL, "not a link: -EINVAL");
	CHECK_INT(tm_cfs_readlink_tail(cfs, "l/missing", 1, &v), -ENOENT, "missing: -ENOENT");
	CHECK(!v, "*ret untouched on failure");
}

static void test_list(struct tm_cfs *cfs)
{
	char **v = NULL;
	int r;

	raw_mkdir("ls");
	raw_mkdir("ls/lun_2");
	raw_mkdir("ls/lun_10");
	raw_mkdir("ls/lun_1");
	put("ls/write_protect", "0\n");
	put("ls/info", "x");
	raw_symlink("../elsewhere", "ls/7947ded962");
	raw_mkdir("ls/empty");

	r = tm_cfs_list(cfs, "ls", TM_CFS_DIR, &v);
	CHECK_INT(r, 4, "list dirs: count returned");
	CHECK(v && streq(v[0], "empty") && streq(v[1], "lun_1") && streq(v[2], "lun_10") &&
		  streq(v[3], "lun_2") && !v[4],
	      "dirs only, sorted by strcmp, NULL-terminated");
	tm_strv_free(v);
	v = NULL;

	r = tm_cfs_list(cfs, "ls", TM_CFS_FILE, &v);
	CHECK(r == 2 && v && streq(v[0], "info") && streq(v[1], "write_protect") && !v[2],
	      "files only");
	tm_strv_free(v);
	v = NULL;

	r = tm_cfs_list(cfs, "ls", TM_CFS_LINK, &v);
	CHECK(r == 1 && v && streq(v[0], "7947ded962") && !v[1], "links only (dangling included)");
	tm_strv_free(v);
	v = NULL;

	r = tm_cfs_list(cfs, "ls", TM_CFS_DIR | TM_CFS_LINK | TM_CFS_FILE, &v);
	CHECK(r == 7 && v && streq(v[0], "7947ded962") && streq(v[6], "write_protect") && !v[7],
	      "all types");
	tm_strv_free(v);
	v = NULL;

	r = tm_cfs_list(cfs, "ls/empty", TM_CFS_DIR, &v);
	CHECK(r == 0 && v && !v[0], "empty directory: empty strv");
	tm_strv_free(v);
	v = NULL;

	/* 100 entries: the listing grows past its first allocation several times. */
	raw_mkdir("ls/many");
	for (unsigned i = 0; i < 100; i++) {
		_cleanup_free_ char *name = tm_strdupf("ls/many/acl_%03u", 99 - i);
		if (!name)
			bail("alloc");
		raw_mkdir(name);
	}
	r = tm_cfs_list(cfs, "ls/many", TM_CFS_DIR, &v);
	CHECK_INT(r, 100, "100 entries");
	CHECK(v && streq(v[0], "acl_000") && streq(v[57], "acl_057") && streq(v[99], "acl_099") &&
		  !v[100],
	      "100 entries, sorted, NULL-terminated");
	tm_strv_free(v);
	v = NULL;

	CHECK_INT(tm_cfs_list(cfs, "ls/missing", TM_CFS_DIR, &v), -ENOENT, "missing dir: -ENOENT");
	CHECK_INT(tm_cfs_list(cfs, "ls/info", TM_CFS_DIR, &v), -ENOTDIR, "a file: -ENOTDIR");
	CHECK(!v, "*ret untouched on failure");
}

static void test_exists(struct tm_cfs *cfs)
{
	raw_mkdir("e");
	put("e/attr", "1\n");
	raw_symlink("nowhere", "e/dangling");
	CHECK_INT(tm_cfs_exists(cfs, "e"), 1, "exists: directory");
	CHECK_INT(tm_cfs_exists(cfs, "e/attr"), 1, "exists: file");
	CHECK_INT(tm_cfs_exists(cfs, "e/dangling"), 1, "exists: the link itself, not followed");
	CHECK_INT(tm_cfs_exists(cfs, "e/missing"), 0, "exists: missing");
	CHECK_INT(tm_cfs_exists(cfs, "missing/deeper"), 0, "exists: missing parent");
	CHECK_INT(tm_cfs_exists(cfs, "e/attr/below"), -ENOTDIR, "exists below a file: -ENOTDIR");
}

static void test_bad_paths(struct tm_cfs *cfs)
{
	char *v = NULL, **l = NULL;

	CHECK_INT(tm_cfs_mkdir(cfs, "/tmp/evil"), -EINVAL, "absolute path refused: mkdir");
	CHECK_INT(tm_cfs_write(cfs, "/etc/hostname", "x"), -EINVAL, "absolute path refused: write");
	CHECK_INT(tm_cfs_read(cfs, "/etc/hostname", &v), -EINVAL, "absolute path refused: read");
	CHECK_INT(tm_cfs_list(cfs, "/", TM_CFS_DIR, &l), -EINVAL, "absolute path refused: list");
	CHECK_INT(tm_cfs_symlink(cfs, "/x", "y"), -EINVAL, "absolute target refused: symlink");
	CHECK_INT(tm_cfs_exists(cfs, ""), -EINVAL, "empty path refused");
}

static void test_stats(const char *root)
{
	_cleanup_cfs_ struct tm_cfs *cfs = NULL;
	const struct tm_cfs_stats *s;
	char *v = NULL, **l = NULL;

	if (tm_cfs_open(root, &cfs) < 0)
		bail("tm_cfs_open");
	s = tm_cfs_get_stats(cfs);
	CHECK(s->mkdirs == 0 && s->rmdirs == 0 && s->writes == 0 && s->symlinks == 0 &&
		  s->unlinks == 0 && s->reads == 0,
	      "stats start at zero");

	tm_cfs_mkdir(cfs, "s");
	tm_cfs_mkdir(cfs, "s/t");
	tm_cfs_mkdir(cfs, "s/t");       /* fails, still an operation */
	tm_cfs_mkdir(cfs, "/absolute"); /* refused before any syscall: not counted */
	put("s/attr", "");
	tm_cfs_write(cfs, "s/attr", "1");
	tm_cfs_read(cfs, "s/attr", &v);
	free(v);
	tm_cfs_symlink(cfs, "s/t", "s/link");
	tm_cfs_readlink_tail(cfs, "s/link", 1, &v);
	free(v);
	tm_cfs_list(cfs, "s", TM_CFS_DIR, &l);
	tm_strv_free(l);
	tm_cfs_exists(cfs, "s/t");
	tm_cfs_unlink(cfs, "s/link");
	tm_cfs_rmdir(cfs, "s/t");

	CHECK_INT(s->mkdirs, 3, "stats: mkdirs (failed attempts included)");
	CHECK_INT(s->rmdirs, 1, "stats: rmdirs");
	CHECK_INT(s->writes, 1, "stats: writes");
	CHECK_INT(s->symlinks, 1, "stats: symlinks");
	CHECK_INT(s->unlinks, 1, "stats: unlinks");
	CHECK_INT(s->reads, 4, "stats: reads (read, readlink, list, exists)");
}

static int rm_rf(const char *path)
{
	_cleanup_free_ char *cmd = tm_strdupf("rm -rf -- '%s'", path);
	return cmd ? system(cmd) : -1;
}

int main(void)
{
	_cleanup_cfs_ struct tm_cfs *cfs = NULL;

	if (!mkdtemp(tmp))
		bail("mkdtemp");

	test_open();
	if (tm_cfs_open(tmp, &cfs) < 0)
		bail("tm_cfs_open");
	test_mkdir_rmdir(cfs);
	test_write(cfs);
	test_read(cfs);
	test_symlink(cfs);
	test_readlink_tail(cfs);
	test_list(cfs);
	test_exists(cfs);
	test_bad_paths(cfs);
	test_stats(tmp);

	rm_rf(tmp);
	return tap_done();
}
