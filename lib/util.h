/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers shared by the whole tree: cleanup attributes, growable arrays, strings. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../configfs/cleanup.h"

#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_       __attribute__((unused))
#define ELEMENTSOF(a)  (sizeof(a) / sizeof((a)[0]))

/* Hands a pointer over: returns it and clears the variable, so its cleanup frees nothing. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p = (p);                                                            \
		(p) = NULL;                                                                        \
		_p;                                                                                \
	})

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline bool streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return streq(a, b);
}

static inline const char *startswith(const char *s, const char *prefix)
{
	size_t l = strlen(prefix);
	return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

static inline bool endswith(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && streq(s + ls - lx, suffix);
}

/*
 * Appends one zeroed element to a (pointer, count) array; returns it, or NULL on ENOMEM.  The
 * room grows geometrically (to the next power of two), so n appends cost O(n).  The capacity is
 * derived from the count: the array must be NULL or made by tm_grow (lowering the count is
 * fine; an array of exactly n elements from malloc is not).
 */
void *tm_grow(void **array, size_t *n, size_t size);
#define TM_PUSH(array, n)                                                                          \
	((__typeof__(*(array)) *)tm_grow((void **)&(array), &(n), sizeof(*(array))))

/*
 * Wipes len bytes at p (explicit_bzero: the compiler may not drop it), then frees p; NULL is
 * fine.  For every buffer that held a CHAP secret: freed memory is otherwise left as it was,
 * for a core dump or the next malloc() to find.
 */
void tm_erase_free(void *p, size_t len);
/* The same for a NUL-terminated string (wiped up to its NUL). */
void tm_erase_free_str(char *s);
static inline void erase_freep(char **s)
{
	tm_erase_free_str(*s);
}
#define _cleanup_erase_ _cleanup_(erase_freep)

/*
 * Keeps the process's memory, which holds CHAP secrets, out of core dumps and away from
 * other processes: not dumpable (PR_SET_DUMPABLE 0: no core file, /proc/PID/mem and ptrace
 * for CAP_SYS_PTRACE only) and a core size limit of 0, for kernels set to dump even
 * non-dumpable processes (fs.suid_dumpable=2) to a file.  Called first in main(): every
 * command may hold secrets (the target files, the kernel's auth attributes).  0 or a
 * negative errno.
 */
int tm_protect_secrets(void);

/*
 * Like open_memstream(), for text that may hold secrets: unbuffered (stdio keeps no copy of
 * its own), and every buffer the text outgrows is wiped before it is freed.  *buf and *len are
 * current after every write and after fclose(); free *buf with tm_erase_free(*buf, *len).
 */
FILE *tm_open_wiping_memstream(char **buf, size_t *len);

/* Appends a copy of s to a (strv, count) array.  0 or -ENOMEM. */
int tm_strv_push(char ***v, size_t *n, const char *s);

/* Reads fd to its end into a NUL-terminated malloc'ed buffer; *ret_len (may be NULL) gets
   the length.  0 or a negative errno. */
int tm_read_all(int fd, char **ret, size_t *ret_len);

/*
 * Reads a regular file of at most max bytes without blocking: opened with O_NONBLOCK (a FIFO
 * or a device never stalls the open or the read), checked with fstat before the first read.
 * *ret_st (may be NULL) gets the fstat result whenever the open succeeded, so that a caller
 * can say what the file is.  0; -ENOENT, -ELOOP, ... from open; -EISDIR for a directory,
 * -ENODEV for anything else that is not a regular file (FIFO, device, socket); -EFBIG when
 * the file holds more than max bytes, even if it grew after fstat.
 */
int tm_read_file_bounded(int dir_fd, const char *path, size_t max, char **ret, size_t *ret_len,
			 struct stat *ret_st);

/* "a FIFO", "a character device", ...: what a file of that st_mode is, for messages. */
const char *tm_file_type_name(unsigned mode);

/*
 * Replaces name in directory dir_fd (AT_FDCWD: the working directory) with len bytes of buf,
 * atomically: a new temporary file of exactly mode (O_EXCL|O_NOFOLLOW, whatever the umask),
 * written, fsync'ed, renamed over name, then the directory fsync'ed so the rename is on disk.
 * A reader sees the old file or the new one, never a part.  0 or a negative errno; on failure
 * (a full disk: -ENOSPC) the temporary file is gone and name is untouched.
 *
 * name must be a plain file name (no '/'), and when it exists a regular file: a symbolic link
 * is neither followed nor replaced (-ELOOP), anything else is refused with -EEXIST; see
 * tm_write_refusal().  (A link made between the check and the rename would be replaced, not
 * followed: rename() never writes through one.)
 */
int tm_write_file_atomic(int dir_fd, const char *name, const void *buf, size_t len, unsigned mode);

/* tm_write_file_atomic()'s check alone: 0 when name is absent or a regular file, else -ELOOP
   or -EEXIST (or another negative errno), so that a caller writing several files can refuse
   before it writes any. */
int tm_check_replaceable(int dir_fd, const char *name);
/* Why tm_write_file_atomic() refused an existing name, for a message ("PATH <reason>"); NULL
   when r is another error. */
const char *tm_write_refusal(int r);

/* The length of the well-formed UTF-8 sequence at s (1 to 4 bytes: no overlong form, no
   surrogate, nothing above U+10FFFF), or 0 when s does not start one (or is at its NUL). */
size_t tm_utf8_sequence(const char *s);

/* A copy of s in which every byte that is not part of a well-formed UTF-8 sequence is
   written as the four characters "\xNN" (NN: its value in lowercase hex); valid text is copied
   as it is.  NULL on ENOMEM. */
char *tm_utf8_escape(const char *s);

/* asprintf that returns NULL on failure instead of an undefined pointer. */
char *tm_strdupf(const char *fmt, ...) _printf_(1, 2);

/* Removes trailing whitespace (configfs attributes end in a newline) in place. */
char *tm_strip_trailing(char *s);

/* Parses "512", "64M", "10G", "1T" (powers of 1024) into bytes. */
int tm_parse_size(const char *s, unsigned long long *ret);

/* Formats bytes as "10G", "512M" or a plain byte count when not a whole unit. */
void tm_format_size(unsigned long long bytes, char *buf, size_t len);
