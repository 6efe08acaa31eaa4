/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fakecfs: an LD_PRELOAD shim that makes a plain directory act enough like LIO's configfs for
 * the executor to run against it, and that makes a chosen call fail, the way the kmod
 * testsuite redirects system calls.  Only calls on paths below $TARGETMGR_CONFIGFS_ROOT are
 * touched (the test points targetmgr there); everything else passes straight through.
 *
 * What configfs does that a plain directory does not, and the shim does:
 *   - mkdir of a group makes its default groups: a TPG's np/, lun/, acls/, attrib/, auth/,
 *     param/; an ACL's attrib/, auth/, param/; a backstore's attrib/, wwn/ and pr/; the iSCSI
 *     fabric's discovery_auth/; and the attributes whose kernel defaults the planner relies
 *     on (a TPG's enable and attrib/..., a mapped LUN's write_protect, a backstore's
 *     attrib/emulate_pr, emulate_tpu, emulate_tpws, wwn/vendor_id and product_id, an ALUA
 *     group's state, type and preferred);
 *   - a backstore's info is worded from its control string, as the kernel words it;
 *   - an attribute opened for writing exists (it came with its group): it is created;
 *   - rmdir of a group takes its attribute files and empty default groups with it, and fails
 *     with ENOTEMPTY, touching nothing, while the group has children (groups or links).
 *
 * TM_FAKECFS_LOG=FILE appends every change below the root (failed ones too) to FILE.
 *
 * Failures: TM_FAKECFS_FAIL="CALL:N:ERRNO" in the environment, or fakecfs_fail(CALL, N, ERRNO)
 * from a test program, makes the Nth call of that kind from then on fail with ERRNO (a number
 * or a name: ENOSPC), doing nothing; the calls after it succeed again.  CALL is one of mkdir,
 * rmdir, write (an attribute opened for writing), symlink, unlink.
 */
/* Both openat and openat64 are defined here, under their own names. */
#undef _FILE_OFFSET_BITS
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum call { CALL_MKDIR, CALL_RMDIR, CALL_WRITE, CALL_SYMLINK, CALL_UNLINK, _CALL_MAX };
static const char *const call_names[_CALL_MAX] = {"mkdir", "rmdir", "write", "symlink", "unlink"};

static struct {
	int call;          /* -1: none armed */
	unsigned long nth; /* 1-based, counted from when it was armed */
	int err;
	unsigned long seen; /* calls of that kind since */
} fail = {.call = -1};

static const char *const errno_names[][2] = {
    {"EPERM", "1"},  {"ENOENT", "2"},  {"EIO", "5"},     {"ENOMEM", "12"}, {"EACCES", "13"},
    {"EBUSY", "16"}, {"EEXIST", "17"}, {"EINVAL", "22"}, {"ENOSPC", "28"}, {"ENOTEMPTY", "39"},
};

static int parse_errno(const char *s)
{
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (strcmp(s, errno_names[i][0]) == 0)
			s = errno_names[i][1];
	return atoi(s);
}

/* Arms a failure: the nth call of kind `call` from now fails with err (positive). */
void fakecfs_fail(const char *call, unsigned long nth, int err)
{
	__atomic_store_n(&fail.call, -1, __ATOMIC_SEQ_CST);
	fail.nth = nth;
	fail.err = err;
	__atomic_store_n(&fail.seen, 0, __ATOMIC_SEQ_CST);
	for (int i = 0; call && i < _CALL_MAX; i++)
		if (strcmp(call, call_names[i]) == 0)
			__atomic_store_n(&fail.call, i, __ATOMIC_SEQ_CST);
}

__attribute__((constructor)) static void fakecfs_init(void)
{
	const char *spec = getenv("TM_FAKECFS_FAIL");
	char call[16];
	unsigned long nth;
	char err[16];

	if (spec && sscanf(spec, "%15[a-z]:%lu:%15[A-Z0-9]", call, &nth, err) == 3)
		fakecfs_fail(call, nth, parse_errno(err));
}

/* With TM_FAKECFS_LOG=FILE, every change below the root is appended to FILE as "CALL PATH". */
static void log_call(enum call c, const char *rel)
{
	const char *log = getenv("TM_FAKECFS_LOG");
	FILE *f = log ? fopen(log, "ae") : NULL;

	if (f) {
		fprintf(f, "%s %s\n", call_names[c], rel);
		fclose(f);
	}
}

/* Whether this call is the one to fail: counts calls of its kind, and logs them. */
static bool should_fail(enum call c, const char *rel)
{
	log_call(c, rel);
	if (__atomic_load_n(&fail.call, __ATOMIC_SEQ_CST) != (int)c)
		return false;
	return __atomic_add_fetch(&fail.seen, 1, __ATOMIC_SEQ_CST) == fail.nth;
}

/* The path of (dirfd, path) relative to the fake root, into rel; false when not below it. */
static bool below_root(int dirfd, const char *path, char *rel, size_t size)
{
	/* The root's canonical path, per thread (the executor calls from several), computed
	   again when the variable changes. */
	static __thread char root_env_seen[PATH_MAX], root[PATH_MAX];
	const char *root_env = getenv("TARGETMGR_CONFIGFS_ROOT");
	char dir[PATH_MAX], full[2 * PATH_MAX + 2], link[64];
	ssize_t n;
	size_t l;

	if (!root_env)
		return false;
	if (strcmp(root_env, root_env_seen) != 0) {
		if (!realpath(root_env, root))
			return false;
		snprintf(root_env_seen, sizeof(root_env_seen), "%s", root_env);
	}
	if (path[0] == '/') {
		snprintf(full, sizeof(full), "%s", path);
	} else {
		if (dirfd == AT_FDCWD) {
			if (!getcwd(dir, sizeof(dir)))
				return false;
		} else {
			snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
			n = readlink(link, dir, sizeof(dir) - 1);
			if (n < 0)
				return false;
			dir[n] = '\0';
		}
		snprintf(full, sizeof(full), "%s/%s", dir, path);
	}
	l = strlen(root);
	if (strncmp(full, root, l) != 0 || (full[l] != '/' && full[l] != '\0'))
		return false;
	snprintf(rel, size, "%s", full[l] == '/' ? full + l + 1 : full + l);
	return true;
}

/* The C library's calls; the shim's own file system calls use these, uncounted. */
static int (*real_mkdirat)(int, const char *, mode_t);
static int (*real_unlinkat)(int, const char *, int);
static int (*real_symlinkat)(const char *, int, const char *);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);

__attribute__((constructor)) static void fakecfs_resolve(void)
{
	real_mkdirat = (__typeof__(real_mkdirat))dlsym(RTLD_NEXT, "mkdirat");
	real_unlinkat = (__typeof__(real_unlinkat))dlsym(RTLD_NEXT, "unlinkat");
	real_symlinkat = (__typeof__(real_symlinkat))dlsym(RTLD_NEXT, "symlinkat");
	real_openat = (__typeof__(real_openat))dlsym(RTLD_NEXT, "openat");
	real_openat64 = (__typeof__(real_openat64))dlsym(RTLD_NEXT, "openat64");
}

/* "target/iscsi/<iqn>/tpgt_1" -> its components, in place; returns how many. */
static int split(char *rel, char **comp, int max)
{
	char *save = NULL;
	int n = 0;

	/* strtok_r: the executor's threads call this at once. */
	for (char *s = strtok_r(rel, "/", &save); s && n < max; s = strtok_r(NULL, "/", &save))
		comp[n++] = s;
	return n;
}

/* The default groups configfs makes with a group at rel. */
static const char *const *default_groups(const char *rel)
{
	static const char *const fabric[] = {"discovery_auth", NULL};
	/* alua/ holds the kernel's default_tg_pt_gp too, which the scanner skips: left out, so
	   that a backstore with no group of its own can go and one with groups cannot. */
	static const char *const backstore[] = {"attrib", "wwn", "pr", "alua", NULL};
	static const char *const tpg[] = {"np", "lun", "acls", "attrib", "auth", "param", NULL};
	static const char *const acl[] = {"attrib", "auth", "param", NULL};
	char copy[PATH_MAX], *c[8];
	int n;

	snprintf(copy, sizeof(copy), "%s", rel);
	n = split(copy, c, 8);
	if (n < 2 || strcmp(c[0], "target") != 0)
		return NULL;
	if (n == 2 && strcmp(c[1], "iscsi") == 0)
		return fabric;
	if (n == 4 && strcmp(c[1], "core") == 0)
		return backstore;
	if (n == 4 && strcmp(c[1], "iscsi") == 0 && strncmp(c[3], "tpgt_", 5) == 0)
		return tpg;
	if (n == 6 && strcmp(c[1], "iscsi") == 0 && strcmp(c[4], "acls") == 0)
		return acl;
	return NULL;
}

/* The attributes, with the kernel's defaults, that the planner leaves unwritten on a group
   it creates (kernel_default() in lib/plan.c): "path=value" entries. */
static const char *const *default_attributes(const char *rel)
{
	static const char *const tpg[] = {
	    "enable=0",
	    "attrib/authentication=1",
	    "attrib/generate_node_acls=0",
	    "attrib/cache_dynamic_acls=0",
	    "attrib/demo_mode_write_protect=1",
	    "attrib/prod_mode_write_protect=0",
	    NULL,
	};
	static const char *const mapped_lun[] = {"write_protect=0", NULL};
	/* core_alua_allocate_tg_pt_gp(): no id until one is written; the type as the kernel
	   words it (a written one reads back as the number written) */
	static const char *const alua_group[] = {"tg_pt_gp_id=", "alua_access_state=0",
						 "alua_access_type=Implicit and Explicit",
						 "preferred=0", NULL};
	/* tm_policy_backstore_default(): what target_alloc_device() and the plugins give. */
#define BACKSTORE_DEFAULTS(product)                                                                \
	"attrib/emulate_pr=1", "attrib/emulate_tpu=0", "attrib/emulate_tpws=0",                    \
	    "wwn/vendor_id=LIO-ORG", "wwn/product_id=" product, NULL
	static const char *const fileio[] = {BACKSTORE_DEFAULTS("FILEIO")};
	static const char *const iblock[] = {BACKSTORE_DEFAULTS("IBLOCK")};
	static const char *const rd_mcp[] = {BACKSTORE_DEFAULTS("RAMDISK-MCP")};
	char copy[PATH_MAX], *c[8];
	int n;

	snprintf(copy, sizeof(copy), "%s", rel);
	n = split(copy, c, 8);
	if (n == 4 && strcmp(c[1], "core") == 0)
		return strncmp(c[2], "fileio_", 7) == 0   ? fileio
		       : strncmp(c[2], "iblock_", 7) == 0 ? iblock
		       : strncmp(c[2], "rd_mcp_", 7) == 0 ? rd_mcp
							  : NULL;
	if (n == 4 && strcmp(c[1], "iscsi") == 0 && strncmp(c[3], "tpgt_", 5) == 0)
		return tpg;
	if (n == 7 && strcmp(c[1], "iscsi") == 0 && strcmp(c[4], "acls") == 0)
		return mapped_lun;
	if (n == 6 && strcmp(c[1], "core") == 0 && strcmp(c[4], "alua") == 0)
		return alua_group;
	return NULL;
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
	const char *const *groups;
	char rel[PATH_MAX];
	int r;

	if (!below_root(dirfd, path, rel, sizeof(rel)))
		return real_mkdirat(dirfd, path, mode);
	if (should_fail(CALL_MKDIR, rel)) {
		errno = fail.err;
		return -1;
	}
	r = real_mkdirat(dirfd, path, mode);
	if (r < 0)
		return r;
	groups = default_groups(rel);
	for (; groups && *groups; groups++) {
		char sub[PATH_MAX + 64];

		snprintf(sub, sizeof(sub), "%s/%s", path, *groups);
		if (real_mkdirat(dirfd, sub, 0755) < 0)
			return -1;
	}
	for (const char *const *a = default_attributes(rel); a && *a; a++) {
		char sub[PATH_MAX + 64];
		const char *eq = strchr(*a, '=');
		int fd;

		snprintf(sub, sizeof(sub), "%s/%.*s", path, (int)(eq - *a), *a);
		fd = real_openat(dirfd, sub, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || dprintf(fd, "%s\n", eq + 1) < 0) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

static bool is_default_group(const char *const *groups, const char *name)
{
	for (; groups && *groups; groups++)
		if (strcmp(*groups, name) == 0)
			return true;
	return false;
}

/*
 * Whether the directory <at>/<path> holds only regular files and (with groups) default
 * groups that hold only regular files; with take, removes them all.
 */
static bool only_attributes(int at, const char *path, const char *const *groups, bool take)
{
	int fd = real_openat(at, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	bool ok = true;
	DIR *d;

	if (fd < 0)
		return false;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	while (ok && (de = readdir(d))) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			ok = false;
		else if (S_ISREG(st.st_mode)) {
			if (take)
				real_unlinkat(dirfd(d), de->d_name, 0);
		} else if (S_ISDIR(st.st_mode) && is_default_group(groups, de->d_name)) {
			ok = only_attributes(dirfd(d), de->d_name, NULL, take);
			if (ok && take)
				real_unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
		} else
			ok = false;
	}
	closedir(d);
	return ok;
}

/* configfs's rmdir: the group's attribute files and (empty) default groups go with it, unless
   it has children, and then nothing goes.  0, or -1 with errno set. */
static int take_attributes(int dirfd, const char *path, const char *rel)
{
	const char *const *groups = default_groups(rel);

	if (!only_attributes(dirfd, path, groups, false)) {
		errno = ENOTEMPTY;
		return -1;
	}
	only_attributes(dirfd, path, groups, true);
	return 0;
}

int unlinkat(int dirfd, const char *path, int flags)
{
	char rel[PATH_MAX];

	if (!below_root(dirfd, path, rel, sizeof(rel)))
		return real_unlinkat(dirfd, path, flags);
	if (should_fail(flags & AT_REMOVEDIR ? CALL_RMDIR : CALL_UNLINK, rel)) {
		errno = fail.err;
		return -1;
	}
	if ((flags & AT_REMOVEDIR) && take_attributes(dirfd, path, rel) < 0)
		return -1;
	return real_unlinkat(dirfd, path, flags);
}

int symlinkat(const char *target, int dirfd, const char *path)
{
	char rel[PATH_MAX];

	if (below_root(dirfd, path, rel, sizeof(rel)) && should_fail(CALL_SYMLINK, rel)) {
		errno = fail.err;
		return -1;
	}
	return real_symlinkat(target, dirfd, path);
}

/* The value of key ("rd_pages=") in a control string, or def. */
static unsigned long long control_number(const char *control, const char *key,
					 unsigned long long def)
{
	const char *v = strstr(control, key);
	return v ? strtoull(v + strlen(key), NULL, 10) : def;
}

/*
 * A backstore's info, which the kernel words from what was written to control (the scanner
 * reads sizes, paths and flags from it): made when info is opened for reading, in the
 * kernel's words (see lib/scan.c).
 */
static void make_info(int dirfd, const char *path, const char *rel)
{
	char control[4096] = "", info[4096 + 256], ctl[PATH_MAX + 16], *c[8], copy[PATH_MAX];
	const char *file;
	ssize_t n;
	int fd;

	snprintf(copy, sizeof(copy), "%s", rel);
	if (split(copy, c, 8) != 5 || strcmp(c[1], "core") != 0 || strcmp(c[4], "info") != 0)
		return;
	/* path ends in "info": control is its sibling. */
	snprintf(ctl, sizeof(ctl), "%.*scontrol", (int)(strlen(path) - 4), path);
	fd = real_openat(dirfd, ctl, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, control, sizeof(control) - 1);
	close(fd);
	control[n < 0 ? 0 : n] = '\0';
	if (strncmp(c[2], "rd_mcp_", 7) == 0)
		snprintf(info, sizeof(info),
			 "Status: ACTIVATED  Max Queue Depth: 128  SectorSize: 512  HwMaxSectors: "
			 "1024\n        TCM RamDisk ID: 0  RamDisk Makeup: rd_mcp\n"
			 "        PAGES/PAGE_SIZE: %llu*4096  SG_table_count: 1  nullio: %llu\n",
			 control_number(control, "rd_pages=", 0),
			 control_number(control, "rd_nullio=", 0));
	else if (strncmp(c[2], "fileio_", 7) == 0 && (file = strstr(control, "fd_dev_name=")))
		snprintf(info, sizeof(info),
			 "Status: ACTIVATED  Max Queue Depth: 128  SectorSize: 512  HwMaxSectors: "
			 "1024\n        TCM FILEIO ID: 0        File: %.*s  Size: %llu  Mode: %s "
			 "Async: 1\n",
			 (int)strcspn(file + 12, ","), file + 12,
			 control_number(control, "fd_dev_size=", 0),
			 control_number(control, "fd_buffered_io=", 0) ? "Buffered-WCE"
								       : "O_DSYNC");
	else if (strncmp(c[2], "iblock_", 7) == 0 && (file = strstr(control, "udev_path=")))
		snprintf(info, sizeof(info),
			 "Status: ACTIVATED  Max Queue Depth: 128  SectorSize: 512  HwMaxSectors: "
			 "1024\n        UDEV PATH: %.*s  readonly: %llu\n",
			 (int)strcspn(file + 10, ","), file + 10,
			 control_number(control, "readonly=", 0));
	else
		return;
	fd = real_openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, info, strlen(info)) < 0)
		errno = EIO;
	close(fd);
}

static int fake_openat(int (*real)(int, const char *, int, ...), int dirfd, const char *path,
		       int flags, mode_t mode)
{
	char rel[PATH_MAX];

	if ((flags & O_ACCMODE) == O_RDONLY && below_root(dirfd, path, rel, sizeof(rel)))
		make_info(dirfd, path, rel);

	if ((flags & O_ACCMODE) != O_RDONLY && below_root(dirfd, path, rel, sizeof(rel))) {
		if (should_fail(CALL_WRITE, rel)) {
			errno = fail.err;
			return -1;
		}
		/* The attribute came with its group: only its group must exist. */
		if (!(flags & O_CREAT)) {
			flags |= O_CREAT;
			mode = 0644;
		}
	}
	return real(dirfd, path, flags, mode);
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	return fake_openat(real_openat, dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	return fake_openat(real_openat64, dirfd, path, flags, mode);
}
