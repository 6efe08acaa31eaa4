/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "util.h"

#include <ctype.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <stdint.h>

/* The elements tm_grow has room for when an array holds n: n rounded up to a power of two. */
static size_t capacity(size_t n)
{
	size_t c = 1;

	if (n == 0)
		return 0;
	while (c < n && c <= SIZE_MAX / 2)
		c *= 2;
	return c;
}

void *tm_grow(void **array, size_t *n, size_t size)
{
	size_t want = *n + 1;
	void *p = *array;

	if (want > capacity(*n)) {
		size_t cap = capacity(want);

		if (cap < want || cap > SIZE_MAX / size)
			return NULL;
		p = realloc(*array, cap * size);
		if (!p)
			return NULL;
		*array = p;
	}
	p = (char *)p + *n * size;
	memset(p, 0, size);
	(*n)++;
	return p;
}

int tm_protect_secrets(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	if (setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0}) < 0)
		return -errno;
	return 0;
}

void tm_erase_free(void *p, size_t len)
{
	if (p) {
		explicit_bzero(p, len);
		free(p);
	}
}

void tm_erase_free_str(char *s)
{
	if (s)
		tm_erase_free(s, strlen(s));
}

struct wiping_memstream {
	char **buf;
	size_t *len;
	size_t size; /* allocated */
};

static ssize_t wiping_write(void *cookie, const char *data, size_t n)
{
	struct wiping_memstream *m = cookie;

	if (*m->len + n + 1 > m->size) {
		size_t size = m->size;
		char *p;

		while (*m->len + n + 1 > size) {
			if (size > SIZE_MAX / 2)
				return errno = ENOMEM, -1;
			size *= 2;
		}
		/* Not realloc(): it would free the old copy unwiped. */
		p = malloc(size);
		if (!p)
			return errno = ENOMEM, -1;
		memcpy(p, *m->buf, *m->len + 1);
		tm_erase_free(*m->buf, m->size);
		*m->buf = p;
		m->size = size;
	}
	memcpy(*m->buf + *m->len, data, n);
	*m->len += n;
	(*m->buf)[*m->len] = '\0';
	return (ssize_t)n;
}

static int wiping_close(void *cookie)
{
	free(cookie);
	return 0;
}

FILE *tm_open_wiping_memstream(char **buf, size_t *len)
{
	struct wiping_memstream *m = calloc(1, sizeof(*m));
	FILE *f;

	if (!m)
		return NULL;
	*m = (struct wiping_memstream){.buf = buf, .len = len, .size = 4096};
	*buf = calloc(1, m->size);
	*len = 0;
	f = *buf
		? fopencookie(m, "w",
			      (cookie_io_functions_t){.write = wiping_write, .close = wiping_close})
		: NULL;
	if (!f) {
		free(*buf);
		*buf = NULL;
		free(m);
		return NULL;
	}
	setvbuf(f, NULL, _IONBF, 0);
	return f;
}

int tm_strv_push(char ***v, size_t *n, const char *s)
{
	char *copy = strdup(s), **slot;

	if (!copy)
		return -ENOMEM;
	slot = TM_PUSH(*v, *n);
	if (!slot) {
		free(copy);
		return -ENOMEM;
	}
	*slot = copy;
	return 0;
}

char *tm_strdupf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? NULL : s;
}

char *tm_strip_trailing(char *s)
{
	size_t l = strlen(s);
	while (l > 0 && isspace((unsigned char)s[l - 1]))
		s[--l] = '\0';
	return s;
}

int tm_parse_size(const char *s, unsigned long long *ret)
{
	static const char units[] = "KMGTP";
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -errno;
	if (*end) {
		const char *u = strchr(units, toupper((unsigned char)*end));
		if (!u || *u == '\0')
			return -EINVAL;
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
		if (*end)
			return -EINVAL;
		for (ptrdiff_t i = 0; i <= u - units; i++) {
			if (v > UINT64_MAX / 1024)
				return -ERANGE;
			v *= 1024;
		}
	}
	*ret = v;
	return 0;
}

void tm_format_size(unsigned long long bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTP";
	int u = -1;

	while (bytes >= 1024 && bytes % 1024 == 0 && u < 4) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu", bytes);
	else
		snprintf(buf, len, "%llu%c", bytes, units[u]);
}

/* Reads fd to its end, at most max bytes (-EFBIG beyond), starting with room for hint. */
static int read_to_end(int fd, size_t hint, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, size = hint + 2;

	/* Room for hint bytes and a NUL; reading one byte more than max tells a file that grew
	   past it. */
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t k;

		if (len + 1 >= size) {
			char *n;

			size = size > max / 2 ? max + 2 : size * 2;
			n = realloc(buf, size);
			if (!n)
				return -ENOMEM;
			buf = n;
		}
		k = read(fd, buf + len, size - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		len += (size_t)k;
		if (len > max)
			return -EFBIG;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int tm_read_all(int fd, char **ret, size_t *ret_len)
{
	return read_to_end(fd, 8190, SIZE_MAX / 2 - 2, ret, ret_len);
}

int tm_read_file_bounded(int dir_fd, const char *path, size_t max, char **ret, size_t *ret_len,
			 struct stat *ret_st)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;

	fd = openat(dir_fd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (ret_st)
		*ret_st = st;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -ENODEV;
	if (st.st_size < 0 || (uintmax_t)st.st_size > max || max > SIZE_MAX / 2 - 2)
		return -EFBIG;
	return read_to_end(fd, (size_t)st.st_size, max, ret, ret_len);
}

const char *tm_file_type_name(unsigned mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFSOCK:
		return "a socket";
	case S_IFLNK:
		return "a symbolic link";
	default:
		return "not a regular file";
	}
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t k = write(fd, buf, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		buf += k;
		len -= (size_t)k;
	}
	return 0;
}

int tm_check_replaceable(int dir_fd, const char *name)
{
	struct stat st;

	if (strchr(name, '/'))
		return -EINVAL;
	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	return S_ISREG(st.st_mode) ? 0 : -EEXIST;
}

int tm_write_file_atomic(int dir_fd, const char *name, const void *buf, size_t len, unsigned mode)
{
	_cleanup_close_ int fd = -EBADF, sync_fd = -EBADF;
	_cleanup_free_ char *tmp = NULL;
	uint64_t rnd;
	int r;

	r = tm_check_replaceable(dir_fd, name);
	if (r < 0)
		return r;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -errno;
	tmp = tm_strdupf(".%s.%016llx", name, (unsigned long long)rnd);
	if (!tmp)
		return -ENOMEM;
	fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	/* Exactly mode, whatever the umask took away. */
	if (fchmod(fd, mode) < 0 || write_all(fd, buf, len) < 0 || fsync(fd) < 0) {
		r = errno > 0 ? -errno : -EIO;
		goto fail;
	}
	r = close(fd);
	fd = -EBADF;
	if (r < 0 || renameat(dir_fd, tmp, dir_fd, name) < 0) {
		r = -errno;
		goto fail;
	}
	sync_fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sync_fd >= 0)
		(void)fsync(sync_fd);
	return 0;
fail:
	(void)unlinkat(dir_fd, tmp, 0);
	return r;
}

const char *tm_write_refusal(int r)
{
	switch (r) {
	case -ELOOP:
		return "is a symbolic link: targetmgr neither writes through a link nor replaces "
		       "it; give the path of the file itself";
	case -EEXIST:
		return "exists and is not a regular file (a directory, device, FIFO or socket): "
		       "not replaced";
	default:
		return NULL;
	}
}

size_t tm_utf8_sequence(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n;
	uint32_t c;

	if (u[0] == 0)
		return 0;
	if (u[0] < 0x80)
		return 1;
	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		n = 2, c = u[0] & 0x1f;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		n = 3, c = u[0] & 0x0f;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		n = 4, c = u[0] & 0x07;
	else
		return 0; /* a continuation byte, 0xc0/0xc1 (overlong), 0xf5.. (too high) */
	for (size_t i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0; /* includes the NUL */
		c = (c << 6) | (u[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

char *tm_utf8_escape(const char *s)
{
	size_t len = 0;
	char *out, *p;

	for (const char *q = s; *q;) {
		size_t n = tm_utf8_sequence(q);
		len += n ? n : 4;
		q += n ? n : 1;
	}
	out = p = malloc(len + 1);
	if (!out)
		return NULL;
	while (*s) {
		size_t n = tm_utf8_sequence(s);

		if (n) {
			memcpy(p, s, n);
			p += n;
			s += n;
		} else
			p += sprintf(p, "\\x%02x", (unsigned char)*s++);
	}
	*p = '\0';
	return out;
}
