/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cfs.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cleanup.h"

struct tm_cfs {
	int fd;     /* O_PATH on the root; every call is an *at() call on it */
	char *root; /* absolute, canonical: symlink bodies are built from it */
	/* Every call that reaches the kernel counts, failed ones included; "reads" counts every
	   look-up: tm_cfs_read(), _readlink_tail(), _list() and _exists(). */
	struct tm_cfs_stats stats;
};

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)

/*
 * Paths are relative to the root.  An absolute path would make the *at() call ignore the
 * root fd, so it is refused rather than silently followed.
 */
static int check_path(const char *path)
{
	if (!path || path[0] == '\0' || path[0] == '/')
		return -EINVAL;
	return 0;
}

int tm_cfs_open(const char *root, struct tm_cfs **ret)
{
	_cleanup_free_ char *abs = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct tm_cfs *cfs;

	abs = realpath(root, NULL);
	if (!abs)
		return -errno;
	fd = open(abs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	cfs = calloc(1, sizeof(*cfs));
	if (!cfs)
		return -ENOMEM;
	cfs->fd = fd;
	fd = -EBADF;
	cfs->root = abs;
	abs = NULL;
	*ret = cfs;
	return 0;
}

void tm_cfs_close(struct tm_cfs *cfs)
{
	if (!cfs)
		return;
	if (cfs->fd >= 0)
		close(cfs->fd);
	free(cfs->root);
	free(cfs);
}

const char *tm_cfs_root(const struct tm_cfs *cfs)
{
	return cfs->root;
}

/* The executor calls in from several threads at once. */
static void count(unsigned long *counter)
{
	__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

const struct tm_cfs_stats *tm_cfs_get_stats(const struct tm_cfs *cfs)
{
	return &cfs->stats;
}

int tm_cfs_mkdir(struct tm_cfs *cfs, const char *path)
{
	int r = check_path(path);
	if (r < 0)
		return r;
	count(&cfs->stats.mkdirs);
	if (mkdirat(cfs->fd, path, 0755) < 0)
		return -errno;
	return 0;
}

int tm_cfs_rmdir(struct tm_cfs *cfs, const char *path)
{
	int r = check_path(path);
	if (r < 0)
		return r;
	count(&cfs->stats.rmdirs);
	if (unlinkat(cfs->fd, path, AT_REMOVEDIR) < 0)
		return -errno;
	return 0;
}

int tm_cfs_write(struct tm_cfs *cfs, const char *path, const char *value)
{
	_cleanup_close_ int fd = -EBADF;
	size_t len = strlen(value);
	ssize_t n;
	int r;

	r = check_path(path);
	if (r < 0)
		return r;
	count(&cfs->stats.writes);
	/* O_TRUNC changes nothing on configfs, and lets plain-directory fixtures hold exactly the
	   last value written.  No O_CREAT: configfs attributes exist or the path is wrong. */
	fd = openat(cfs->fd, path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* One write(2): configfs hands each write to the attribute's store() as a whole.  A
	   zero-length write is passed on too, so that the behaviour is the kernel's. */
	n = write(fd, value, len);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	r = close(fd);
	fd = -EBADF;
	if (r < 0)
		return -errno;
	return 0;
}

/* A read buffer.  Attribute values include CHAP secrets: every copy is wiped before it is
   freed. */
struct read_buf {
	char *p;
	size_t size;
};

static void read_buf_wipe(struct read_buf *b)
{
	if (b->p) {
		explicit_bzero(b->p, b->size);
		free(b->p);
	}
}

/* Grows like realloc(), wiping the old block. */
static int read_buf_grow(struct read_buf *b, size_t used)
{
	size_t size = b->size ? b->size * 2 : 4096 + 1;
	char *p;

	if (b->size > SIZE_MAX / 2)
		return -EFBIG;
	p = malloc(size);
	if (!p)
		return -ENOMEM;
	if (used > 0)
		memcpy(p, b->p, used);
	read_buf_wipe(b);
	b->p = p;
	b->size = size;
	return 0;
}

int tm_cfs_read(struct tm_cfs *cfs, const char *path, char **ret)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_(read_buf_wipe) struct read_buf buf = {0};
	size_t len = 0, j = 0;
	int r;

	r = check_path(path);
	if (r < 0)
		return r;
	count(&cfs->stats.reads);
	fd = openat(cfs->fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* configfs attributes are at most a page, but nothing here depends on that. */
	for (;;) {
		ssize_t n;

		if (buf.size - len < 4096 + 1) {
			r = read_buf_grow(&buf, len);
			if (r < 0)
				return r;
		}
		n = read(fd, buf.p + len, buf.size - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	/* Some show() handlers emit NUL bytes: dynamic_sessions ends every initiator name with
	   "\n\0".  They are never part of a value, so drop them rather than cut the text. */
	for (size_t i = 0; i < len; i++)
		if (buf.p[i] != '\0')
			buf.p[j++] = buf.p[i];
	/* Trailing whitespace: the newline every show() handler ends with. */
	while (j > 0 && isspace((unsigned char)buf.p[j - 1]))
		j--;
	buf.p[j] = '\0';
	*ret = buf.p;
	buf.p = NULL;
	return 0;
}

int tm_cfs_symlink(struct tm_cfs *cfs, const char *target_path, const char *link_path)
{
	_cleanup_free_ char *target = NULL;
	int r;

	r = check_path(target_path);
	if (r < 0)
		return r;
	r = check_path(link_path);
	if (r < 0)
		return r;
	/* configfs resolves the body with the caller's root: it must be absolute and inside
	   this configfs, e.g. "/sys/kernel/config/target/core/fileio_1000/disk". */
	if (asprintf(&target, "%s%s%s", cfs->root, streq(cfs->root, "/") ? "" : "/", target_path) <
	    0)
		return -ENOMEM;
	count(&cfs->stats.symlinks);
	if (symlinkat(target, cfs->fd, link_path) < 0)
		return -errno;
	return 0;
}

int tm_cfs_unlink(struct tm_cfs *cfs, const char *path)
{
	int r = check_path(path);
	if (r < 0)
		return r;
	count(&cfs->stats.unlinks);
	if (unlinkat(cfs->fd, path, 0) < 0)
		return -errno;
	return 0;
}

int tm_cfs_readlink_tail(struct tm_cfs *cfs, const char *path, unsigned components, char **ret)
{
	_cleanup_free_ char *body = NULL;
	const char *start = NULL;
	size_t size = PATH_MAX;
	char *e, *s;
	ssize_t n;
	int r;

	r = check_path(path);
	if (r < 0)
		return r;
	if (components == 0)
		return -EINVAL;
	count(&cfs->stats.reads);
	for (;;) {
		char *p = realloc(body, size);
		if (!p)
			return -ENOMEM;
		body = p;
		n = readlinkat(cfs->fd, path, body, size);
		if (n < 0)
			return -errno;
		if ((size_t)n < size)
			break;
		if (size > SIZE_MAX / 2)
			return -ENAMETOOLONG;
		size *= 2;
	}
	body[n] = '\0';

	/* Walk back over the last <components> non-empty components ("a//b/" counts as 2). */
	e = body + n;
	while (e > body && e[-1] == '/')
		e--;
	*e = '\0';
	for (s = e; components > 0; components--) {
		while (s > body && s[-1] == '/')
			s--;
		if (s == body)
			return -EINVAL; /* fewer components than asked for */
		while (s > body && s[-1] != '/')
			s--;
		start = s;
	}

	/* Copy, squeezing repeated slashes. */
	s = strdup(start);
	if (!s)
		return -ENOMEM;
	e = s;
	for (const char *p = s; *p; p++)
		if (*p != '/' || e == s || e[-1] != '/')
			*e++ = *p;
	*e = '\0';
	*ret = s;
	return 0;
}

/* Makes room for one more entry and the NULL terminator, growing geometrically (configfs
   directories of a big host hold thousands of ACLs). */
static int strv_reserve(char ***v, size_t n, size_t *allocated)
{
	size_t want = *allocated ? *allocated * 2 : 16;
	char **p;

	if (n + 2 <= *allocated)
		return 0;
	if (want > SIZE_MAX / sizeof(**v) / 2)
		return -ENOMEM;
	p = realloc(*v, want * sizeof(**v));
	if (!p)
		return -ENOMEM;
	*v = p;
	*allocated = want;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int tm_cfs_list(struct tm_cfs *cfs, const char *path, unsigned types, char ***ret)
{
	_cleanup_closedir_ DIR *d = NULL;
	char **v = NULL;
	size_t n = 0, allocated = 0;
	int fd, r;

	r = check_path(path);
	if (r < 0)
		return r;
	count(&cfs->stats.reads);
	fd = openat(cfs->fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}

	for (;;) {
		struct dirent *de;
		unsigned type;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno != 0) {
				r = -errno;
				goto fail;
			}
			break;
		}
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;

		switch (de->d_type) {
		case DT_DIR:
			type = TM_CFS_DIR;
			break;
		case DT_LNK:
			type = TM_CFS_LINK;
			break;
		case DT_REG:
			type = TM_CFS_FILE;
			break;
		case DT_UNKNOWN: {
			struct stat st;

			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				if (errno == ENOENT)
					continue; /* gone since readdir() */
				r = -errno;
				goto fail;
			}
			type = S_ISDIR(st.st_mode)   ? TM_CFS_DIR
			       : S_ISLNK(st.st_mode) ? TM_CFS_LINK
			       : S_ISREG(st.st_mode) ? TM_CFS_FILE
						     : 0;
			break;
		}
		default:
			type = 0;
		}
		if (!(type & types))
			continue;

		r = strv_reserve(&v, n, &allocated);
		if (r < 0)
			goto fail;
		v[n] = strdup(de->d_name);
		if (!v[n]) {
			r = -ENOMEM;
			goto fail;
		}
		n++;
	}

	r = strv_reserve(&v, n, &allocated); /* an empty directory still gets its terminator */
	if (r < 0)
		goto fail;
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_str);
	v[n] = NULL;
	*ret = v;
	return (int)n;

fail:
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return r;
}

int tm_cfs_exists(struct tm_cfs *cfs, const char *path)
{
	struct stat st;
	int r;

	r = check_path(path);
	if (r < 0)
		return r;
	count(&cfs->stats.reads);
	if (fstatat(cfs->fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	return 1;
}

void tm_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}
