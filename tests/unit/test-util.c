/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The output helpers of lib/util.c that issue 10 leans on: UTF-8 checking and escaping (for
 * JSON), the wiping memory stream (for text holding secrets), tm_write_file_atomic()'s
 * refusals (links, FIFOs, devices), and tm_protect_secrets().
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "tap.h"
#include "util.h"

static void test_utf8(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"plain /srv/disk.img", "plain /srv/disk.img"},
	    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xbe",
	     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xbe"},
	    {"bad\xff\xfe", "bad\\xff\\xfe"},
	    {"lone \x80 continuation", "lone \\x80 continuation"},
	    {"overlong \xc0\xaf", "overlong \\xc0\\xaf"},
	    {"overlong3 \xe0\x80\xaf", "overlong3 \\xe0\\x80\\xaf"},
	    {"surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80"},
	    {"too high \xf4\x90\x80\x80", "too high \\xf4\\x90\\x80\\x80"},
	    {"cut \xe2\x82", "cut \\xe2\\x82"},
	    {"\xc3(", "\\xc3("},
	    {"", ""},
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *got = tm_utf8_escape(cases[i].in);
		CHECK_STR(got, cases[i].out, "tm_utf8_escape");
	}
	CHECK_INT(tm_utf8_sequence("\xf4\x8f\xbf\xbf"), 4, "U+10FFFF is one 4-byte sequence");
	CHECK_INT(tm_utf8_sequence("\xef\xbf\xbd"), 3, "U+FFFD is one 3-byte sequence");
	CHECK_INT(tm_utf8_sequence(""), 0, "the NUL starts no sequence");
}

static void test_wiping_memstream(void)
{
	char *buf = NULL, chunk[1000];
	size_t len = 0;
	FILE *f = tm_open_wiping_memstream(&buf, &len);
	bool same = true;

	if (!f)
		bail("tm_open_wiping_memstream");
	for (int i = 0; i < 50; i++) {
		memset(chunk, 'a' + i % 26, sizeof(chunk));
		fwrite(chunk, 1, sizeof(chunk), f);
		/* Unbuffered: the text is in buf after each write, not in a stdio buffer. */
		same = same && len == (size_t)(i + 1) * sizeof(chunk);
	}
	fprintf(f, "%s", "end");
	CHECK(same, "the length follows every write (no stdio buffer keeps a copy)");
	CHECK_INT(fclose(f), 0, "fclose");
	CHECK_INT(len, 50 * 1000 + 3, "all of it, grown past the first 4 KiB many times");
	CHECK(buf[0] == 'a' && buf[49999] == 'a' + 49 % 26 && streq(buf + 50000, "end"),
	      "the text is whole and NUL-terminated");
	tm_erase_free(buf, len);
}

static void test_write_refusals(void)
{
	char dir[] = "/tmp/test-util-XXXXXX";
	_cleanup_close_ int dfd = -EBADF;
	char target[64], got[16] = {0};
	struct stat st;
	int fd;

	if (!mkdtemp(dir))
		bail("mkdtemp");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		bail("open");

	umask(0);
	CHECK_INT(tm_write_file_atomic(dfd, "new", "x\n", 2, 0600), 0, "a new file");
	CHECK(fstatat(dfd, "new", &st, 0) == 0 && (st.st_mode & 07777) == 0600,
	      "mode 0600 whatever the umask");
	umask(022);
	CHECK_INT(tm_write_file_atomic(dfd, "new", "yy\n", 3, 0600), 0, "replaces a regular file");
	CHECK(fstatat(dfd, "new", &st, 0) == 0 && st.st_size == 3, "with the new text");

	snprintf(target, sizeof(target), "%s/new", dir);
	if (symlinkat(target, dfd, "link") < 0 || mkfifoat(dfd, "fifo", 0600) < 0 ||
	    mkdirat(dfd, "sub", 0700) < 0)
		bail("setup");
	CHECK_INT(tm_write_file_atomic(dfd, "link", "zzzz\n", 5, 0600), -ELOOP,
		  "a symbolic link is refused");
	fd = openat(dfd, "new", O_RDONLY);
	CHECK(fd >= 0 && read(fd, got, sizeof(got) - 1) == 3 && streq(got, "yy\n"),
	      "and not written through");
	if (fd >= 0)
		close(fd);
	CHECK(fstatat(dfd, "link", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode),
	      "nor replaced");
	CHECK_INT(tm_write_file_atomic(dfd, "fifo", "z\n", 2, 0600), -EEXIST,
		  "a FIFO is refused without blocking");
	CHECK_INT(tm_write_file_atomic(dfd, "sub", "z\n", 2, 0600), -EEXIST,
		  "a directory is refused");
	CHECK_INT(tm_write_file_atomic(dfd, "sub/x", "z\n", 2, 0600), -EINVAL,
		  "a name with a slash is refused");
	CHECK(tm_write_refusal(-ELOOP) && tm_write_refusal(-EEXIST) && !tm_write_refusal(-ENOSPC),
	      "refusals have a reason, other errors strerror()");

	unlinkat(dfd, "new", 0);
	unlinkat(dfd, "link", 0);
	unlinkat(dfd, "fifo", 0);
	unlinkat(dfd, "sub", AT_REMOVEDIR);
	rmdir(dir);
}

static void test_protect_secrets(void)
{
	struct rlimit rl;

	CHECK_INT(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1, "a test process starts dumpable");
	CHECK_INT(tm_protect_secrets(), 0, "tm_protect_secrets");
	CHECK_INT(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0, "then it is not");
	CHECK(getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0 && rl.rlim_max == 0,
	      "and its core size limit is 0");
}

int main(void)
{
	test_utf8();
	test_wiping_memstream();
	test_write_refusals();
	test_protect_secrets();
	return tap_done();
}
