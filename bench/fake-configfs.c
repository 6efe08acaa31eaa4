/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * LD_PRELOAD shim for bench/scale: lets `targetmgr apply` run against a plain directory in place
 * of configfs.  configfs makes an object's attribute files when the object's directory is made;
 * a plain directory does not, and targetmgr opens attributes without O_CREAT.  So a write-only
 * open that fails with ENOENT makes the missing directories (an object's "attrib/", "wwn/") and
 * is retried with O_CREAT; a mkdir that fails so ("tpgt_1/np/...") makes the parents first.
 * Only below TM_FAKE_CONFIGFS.  Reads see what was written.
 *
 *   cc -shared -fPIC -O2 -o fake-configfs.so bench/fake-configfs.c -ldl
 *   TM_FAKE_CONFIGFS=/tmp/root LD_PRELOAD=./fake-configfs.so targetmgr apply
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef int (*openat_fn)(int, const char *, int, ...);

/* Whether a path relative to dirfd is below TM_FAKE_CONFIGFS. */
static int below_root(int dirfd, const char *path)
{
	const char *root = getenv("TM_FAKE_CONFIGFS");
	char proc[64], dir[PATH_MAX];
	ssize_t n;

	if (!root || path[0] == '/')
		return 0;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dirfd);
	n = readlink(proc, dir, sizeof(dir) - 1);
	if (n < 0)
		return 0;
	dir[n] = '\0';
	return strncmp(dir, root, strlen(root)) == 0;
}

static void make_parents(int dirfd, const char *path)
{
	char buf[PATH_MAX];

	if (strlen(path) >= sizeof(buf))
		return;
	strcpy(buf, path);
	for (char *s = buf; (s = strchr(s, '/')); s++) {
		*s = '\0';
		(void)mkdirat(dirfd, buf, 0755);
		*s = '/';
	}
}

static int fake_openat(const char *sym, int dirfd, const char *path, int flags, va_list ap)
{
	static openat_fn real[2];
	openat_fn f;
	mode_t mode = 0;
	int fd, i = sym[6] != '\0';

	if (!real[i])
		real[i] = (openat_fn)dlsym(RTLD_NEXT, sym);
	f = real[i];
	if (flags & (O_CREAT | O_TMPFILE))
		mode = va_arg(ap, mode_t);
	fd = f(dirfd, path, flags, mode);
	if (fd < 0 && errno == ENOENT && (flags & O_ACCMODE) != O_RDONLY && !(flags & O_CREAT) &&
	    below_root(dirfd, path)) {
		make_parents(dirfd, path);
		fd = f(dirfd, path, flags | O_CREAT, 0644);
	}
	return fd;
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	int r;

	va_start(ap, flags);
	r = fake_openat("openat", dirfd, path, flags, ap);
	va_end(ap);
	return r;
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	int r;

	va_start(ap, flags);
	r = fake_openat("openat64", dirfd, path, flags, ap);
	va_end(ap);
	return r;
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
	static int (*real)(int, const char *, mode_t);
	int r;

	if (!real)
		real = (int (*)(int, const char *, mode_t))dlsym(RTLD_NEXT, "mkdirat");
	r = real(dirfd, path, mode);
	if (r < 0 && errno == ENOENT && below_root(dirfd, path)) {
		make_parents(dirfd, path);
		r = real(dirfd, path, mode);
	}
	return r;
}
