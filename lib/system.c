/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "system.h"

#include <dirent.h>
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <libkmod.h>
#include <libmount.h>
#include <linux/falloc.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "policy.h"
#include "util.h"

const char *const tm_required_modules[] = {
    "configfs",
    "target_core_mod",
    "iscsi_target_mod",
    "target_core_iblock",
    "target_core_file",
    "crc32c",
    NULL,
};

static void kmod_unrefp(struct kmod_ctx **c)
{
	if (*c)
		kmod_unref(*c);
}

static void kmod_list_freep(struct kmod_list **l)
{
	if (*l)
		kmod_module_unref_list(*l);
}

static int module_load(struct kmod_ctx *ctx, const char *name)
{
	_cleanup_(kmod_list_freep) struct kmod_list *list = NULL;
	struct kmod_list *it;
	int r;

	r = kmod_module_new_from_lookup(ctx, name, &list);
	if (r < 0)
		return r;
	if (!list)
		return -ENOENT;
	kmod_list_foreach(it, list)
	{
		struct kmod_module *mod = kmod_module_get_module(it);
		int state = kmod_module_get_initstate(mod);

		if (state == KMOD_MODULE_LIVE || state == KMOD_MODULE_BUILTIN ||
		    state == KMOD_MODULE_COMING) {
			kmod_module_unref(mod);
			return 0;
		}
		r = kmod_module_probe_insert_module(mod, KMOD_PROBE_APPLY_BLACKLIST, NULL, NULL,
						    NULL, NULL);
		kmod_module_unref(mod);
		/* An alias may resolve to several modules (crc32c: generic and intel):
		   one loaded is enough. */
		if (r >= 0)
			return 0;
	}
	return r < 0 ? r : -ENOENT;
}

int tm_modules_load(const char *const *names, const char **failed)
{
	_cleanup_(kmod_unrefp) struct kmod_ctx *ctx = kmod_new(NULL, NULL);
	int r;

	if (!ctx)
		return -ENOMEM;
	r = kmod_load_resources(ctx);
	if (r < 0)
		return r;
	for (const char *const *n = names; *n; n++) {
		r = module_load(ctx, *n);
		if (r < 0) {
			if (failed)
				*failed = *n;
			return r;
		}
	}
	return 0;
}

static void mnt_tablep(struct libmnt_table **t)
{
	if (*t)
		mnt_unref_table(*t);
}

static void mnt_contextp(struct libmnt_context **c)
{
	if (*c)
		mnt_free_context(*c);
}

int tm_configfs_mount(const char *root, bool *mounted)
{
	_cleanup_(mnt_tablep) struct libmnt_table *tb = mnt_new_table();
	_cleanup_(mnt_contextp) struct libmnt_context *cxt = NULL;
	struct libmnt_fs *fs;
	int r;

	*mounted = false;
	if (!tb)
		return -ENOMEM;
	r = mnt_table_parse_mtab(tb, NULL);
	if (r < 0)
		return r;
	fs = mnt_table_find_target(tb, root, MNT_ITER_BACKWARD);
	if (fs && streq_ptr(mnt_fs_get_fstype(fs), "configfs"))
		return 0;

	cxt = mnt_new_context();
	if (!cxt)
		return -ENOMEM;
	if (mnt_context_set_fstype(cxt, "configfs") < 0 ||
	    mnt_context_set_source(cxt, "configfs") < 0 || mnt_context_set_target(cxt, root) < 0)
		return -ENOMEM;
	r = mnt_context_mount(cxt);
	if (r != 0)
		return r < 0 ? r : -mnt_context_get_syscall_errno(cxt) ?: -EINVAL;
	*mounted = true;
	return 0;
}

/* ---- devices the host uses ------------------------------------------------------------- */

/* A device, its partitions and what is stacked on them: rarely more than a handful. */
#define RELATED_MAX   256
#define HOLDERS_DEPTH 8

struct related {
	dev_t v[RELATED_MAX];
	size_t n;
};

static bool related_has(const struct related *r, dev_t d)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i] == d)
			return true;
	return false;
}

/* Reads a sysfs "dev" file: "MAJOR:MINOR\n". */
static int read_devno_at(int dirfd, const char *path, dev_t *ret)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	unsigned ma, mi;
	char buf[32];
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return n < 0 ? -errno : -EINVAL;
	buf[n] = '\0';
	if (sscanf(buf, "%u:%u", &ma, &mi) != 2)
		return -EINVAL;
	*ret = makedev(ma, mi);
	return 0;
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/* Adds d, the partitions below it and, recursively, the devices holding any of them. */
static int collect_related(const char *sysfs, dev_t d, struct related *r, unsigned depth)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_(closedirp) DIR *parts = NULL, *holders = NULL;
	struct dirent *de;
	int k;

	if (related_has(r, d))
		return 0;
	if (r->n == RELATED_MAX || depth > HOLDERS_DEPTH)
		return -E2BIG;
	r->v[r->n++] = d;
	dir = tm_strdupf("%s/dev/block/%u:%u", sysfs, major(d), minor(d));
	if (!dir)
		return -ENOMEM;

	/* Partitions are subdirectories with a "partition" file (sdb/sdb1/partition). */
	parts = opendir(dir);
	while (parts && (de = readdir(parts))) {
		_cleanup_free_ char *p = NULL, *dev = NULL;
		dev_t pd;

		if (de->d_name[0] == '.' || strchr(de->d_name, '/'))
			continue;
		p = tm_strdupf("%s/partition", de->d_name);
		dev = tm_strdupf("%s/dev", de->d_name);
		if (!p || !dev)
			return -ENOMEM;
		if (faccessat(dirfd(parts), p, F_OK, 0) < 0 ||
		    read_devno_at(dirfd(parts), dev, &pd) < 0)
			continue;
		k = collect_related(sysfs, pd, r, depth + 1);
		if (k < 0)
			return k;
	}

	/* holders/dm-0 -> .../block/dm-0: LVM, dm-crypt, md, bcache on top of this device. */
	free(dir);
	dir = tm_strdupf("%s/dev/block/%u:%u/holders", sysfs, major(d), minor(d));
	if (!dir)
		return -ENOMEM;
	holders = opendir(dir);
	while (holders && (de = readdir(holders))) {
		_cleanup_free_ char *dev = NULL;
		dev_t hd;

		if (de->d_name[0] == '.')
			continue;
		dev = tm_strdupf("%s/class/block/%s/dev", sysfs, de->d_name);
		if (!dev)
			return -ENOMEM;
		if (read_devno_at(AT_FDCWD, dev, &hd) < 0)
			continue;
		k = collect_related(sysfs, hd, r, depth + 1);
		if (k < 0)
			return k;
	}
	return 0;
}

static char *describe_use(const char *what, const char *where, const char *source)
{
	return source ? tm_strdupf("%s %s (%s)", what, where, source)
		      : tm_strdupf("%s %s", what, where);
}

int tm_block_device_in_use(unsigned long long devno, const struct tm_host_paths *paths,
			   char **ret_reason)
{
	_cleanup_(mnt_tablep) struct libmnt_table *mounts = mnt_new_table();
	_cleanup_(mnt_tablep) struct libmnt_table *swaps = mnt_new_table();
	struct libmnt_iter *it = NULL;
	struct libmnt_fs *fs;
	struct related r = {.n = 0};
	int k;

	if (!mounts || !swaps)
		return -ENOMEM;
	k = collect_related(paths && paths->sysfs ? paths->sysfs : "/sys", (dev_t)devno, &r, 0);
	if (k < 0 && k != -E2BIG)
		return k;

	k = mnt_table_parse_file(mounts, paths && paths->mountinfo ? paths->mountinfo
								   : "/proc/self/mountinfo");
	if (k < 0)
		return k;
	it = mnt_new_iter(MNT_ITER_FORWARD);
	if (!it)
		return -ENOMEM;
	while (mnt_table_next_fs(mounts, it, &fs) == 0) {
		if (!related_has(&r, mnt_fs_get_devno(fs)))
			continue;
		*ret_reason =
		    describe_use("mounted on", mnt_fs_get_target(fs) ?: "?", mnt_fs_get_source(fs));
		mnt_free_iter(it);
		return *ret_reason ? 1 : -ENOMEM;
	}

	/* A missing swaps file (no swap support) is no swap. */
	k = mnt_table_parse_swaps(swaps, paths && paths->swaps ? paths->swaps : "/proc/swaps");
	mnt_reset_iter(it, MNT_ITER_FORWARD);
	while (k >= 0 && mnt_table_next_fs(swaps, it, &fs) == 0) {
		const char *src = mnt_fs_get_srcpath(fs);
		struct stat st;

		if (!src || stat(src, &st) < 0 || !S_ISBLK(st.st_mode) ||
		    !related_has(&r, st.st_rdev))
			continue;
		*ret_reason = describe_use("used as swap", src, NULL);
		mnt_free_iter(it);
		return *ret_reason ? 1 : -ENOMEM;
	}
	mnt_free_iter(it);
	return 0;
}

/*
 * The block device a declared backstore names, when it exists: iblock, or fileio on a device
 * node.  LIO's iblock claims its device exclusively, so the kernel would refuse a mounted one
 * with a bare EBUSY halfway through an apply; fileio opens it shared and would serve it under
 * the mounted file system.  Either way the refusal belongs before anything is written.
 */
static bool declared_device(const struct tm_backstore *b, dev_t *ret)
{
	struct stat st;

	if (b->type == TM_BACKSTORE_RAMDISK || !b->path || b->allow_in_use ||
	    stat(b->path, &st) < 0 || !S_ISBLK(st.st_mode))
		return false;
	*ret = st.st_rdev;
	return true;
}

/* allow-in-use only gets past the kernel with fileio: iblock claims its device exclusively. */
static const char *in_use_hint(const struct tm_backstore *b)
{
	return b->type == TM_BACKSTORE_IBLOCK
		   ? "LIO's iblock would fail with EBUSY anyway; 'type=fileio allow-in-use' "
		     "on the lun line serves it shared"
		   : "add allow-in-use to the lun line to serve it anyway";
}

int tm_check_devices_mounted(const struct tm_config *want, const struct tm_host_paths *paths,
			     struct tm_diags *diags)
{
	int errors = 0;

	for (size_t i = 0; i < want->n_backstores; i++) {
		const struct tm_backstore *b = &want->backstores[i];
		_cleanup_free_ char *reason = NULL;
		dev_t d;
		int k;

		if (!declared_device(b, &d))
			continue;
		k = tm_block_device_in_use(d, paths, &reason);
		if (k == -ENOMEM)
			return k;
		if (k <= 0)
			continue;
		if (tm_diag_add(diags, TM_ERROR, b->origin.file, b->origin.line,
				"%s is %s on this host: exporting it would let initiators write "
				"under a live file system (%s)",
				b->path, reason, in_use_hint(b)) < 0)
			return -ENOMEM;
		errors++;
	}
	return errors;
}

int tm_check_devices_served(const struct tm_config *want, const struct tm_config *have,
			    bool (*owned)(void *userdata, enum tm_obj_kind kind, const char *name),
			    void *userdata, struct tm_diags *diags)
{
	int errors = 0;

	for (size_t i = 0; i < want->n_backstores; i++) {
		const struct tm_backstore *b = &want->backstores[i];
		dev_t d;

		if (!declared_device(b, &d))
			continue;
		for (size_t j = 0; j < have->n_backstores; j++) {
			const struct tm_backstore *h = &have->backstores[j];
			_cleanup_free_ char *name = NULL;
			struct stat st;

			if (!h->path || stat(h->path, &st) < 0 || !S_ISBLK(st.st_mode) ||
			    st.st_rdev != d)
				continue;
			name = tm_strdupf("%s/%s", h->hba, h->name);
			if (!name)
				return -ENOMEM;
			if (!owned || owned(userdata, TM_OBJ_BACKSTORE, name))
				continue;
			if (tm_diag_add(diags, TM_ERROR, b->origin.file, b->origin.line,
					"%s is already served by LIO backstore %s, which another "
					"tool made (%s)",
					b->path, name, in_use_hint(b)) < 0)
				return -ENOMEM;
			errors++;
			break;
		}
	}
	return errors;
}

/* queue/discard_max_bytes of a block device: a partition has no queue/ of its own, its
   disk (the parent folder in sysfs) does. */
static int block_can_discard(dev_t d, const struct tm_host_paths *paths)
{
	const char *sysfs = paths && paths->sysfs ? paths->sysfs : "/sys";
	static const char *const where[] = {"queue", "../queue"};

	for (size_t i = 0; i < ELEMENTSOF(where); i++) {
		_cleanup_free_ char *path = tm_strdupf("%s/dev/block/%u:%u/%s/discard_max_bytes",
						       sysfs, major(d), minor(d), where[i]);
		_cleanup_free_ char *text = NULL;
		_cleanup_close_ int fd = -EBADF;
		size_t len;
		int r;

		if (!path)
			return -ENOMEM;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0)
			return -errno;
		r = tm_read_all(fd, &text, &len);
		if (r < 0)
			return r;
		return strtoull(text, NULL, 10) > 0;
	}
	return -ENOENT;
}

/* A hole punched in an unnamed temporary file of the folder: what fileio's UNMAP does. */
static int folder_can_punch(const char *file)
{
	_cleanup_free_ char *dir = strdup(file);
	_cleanup_close_ int fd = -EBADF;
	char *slash;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash)
		return -EINVAL;
	slash[slash == dir] = '\0'; /* "/f" -> "/" */
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EOPNOTSUPP || errno == EISDIR ? 0 : -errno;
	if (ftruncate(fd, 8192) < 0)
		return -errno;
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096) < 0)
		return errno == EOPNOTSUPP ? 0 : -errno;
	return 1;
}

int tm_backing_can_discard(const char *path, const struct tm_host_paths *paths)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno == ENOENT ? folder_can_punch(path) : -errno;
	if (S_ISBLK(st.st_mode))
		return block_can_discard(st.st_rdev, paths);
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	return folder_can_punch(path);
}

int tm_probe_thin_provisioning(struct tm_config *want, const struct tm_host_paths *paths)
{
	for (size_t i = 0; i < want->n_backstores; i++) {
		struct tm_backstore *b = &want->backstores[i];
		int r;

		if (!b->path)
			continue;
		r = tm_backing_can_discard(b->path, paths);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			continue;
		r = tm_policy_thin_settings(&b->settings, b->type, r > 0, b->origin);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- portals ---- */

/* An np name, "A.B.C.D:PORT" or "[V6]:PORT", as an IPv6 address (IPv4 mapped) and a port. */
static int parse_np(const char *address, struct in6_addr *addr, unsigned *port)
{
	const char *colon = strrchr(address, ':');
	_cleanup_free_ char *host = NULL;
	struct in_addr v4;

	if (!colon || sscanf(colon + 1, "%5u", port) != 1 || *port > 65535)
		return -EINVAL;
	if (address[0] == '[') {
		host = colon > address + 1 && colon[-1] == ']'
			   ? strndup(address + 1, (size_t)(colon - address - 2))
			   : NULL;
		return host && inet_pton(AF_INET6, host, addr) == 1 ? 0 : -EINVAL;
	}
	host = strndup(address, (size_t)(colon - address));
	if (!host || inet_pton(AF_INET, host, &v4) != 1)
		return -EINVAL;
	*addr = (struct in6_addr){.s6_addr32 = {0, 0, htonl(0xffff), v4.s_addr}};
	return 0;
}

static bool any_v4(const struct in6_addr *a)
{
	return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr32[3] == 0;
}

/* Whether a socket listening on s takes connections to a (same port): the same address, or
   a wildcard on either side (an IPv6 one, unless v6only, IPv4 too). */
static bool overlaps(const struct in6_addr *a, const struct in6_addr *s)
{
	if (IN6_ARE_ADDR_EQUAL(a, s) || IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_UNSPECIFIED(s))
		return true;
	return (any_v4(a) && IN6_IS_ADDR_V4MAPPED(s)) || (any_v4(s) && IN6_IS_ADDR_V4MAPPED(a));
}

/*
 * Whether a line of /proc/net/tcp or tcp6 is a listening socket on port whose address
 * overlaps a; *found gets its address.  The kernel prints each 32-bit word of the address
 * as the hexadecimal number it is in memory (tcp4_seq_show(), tcp6_sock_seq_show()).
 */
static bool listens(const char *line, bool v6, const struct in6_addr *a, unsigned port,
		    struct in6_addr *found)
{
	char hex[33], state[3];
	unsigned p, words = v6 ? 4 : 1;
	struct in6_addr s = {0};

	if (sscanf(line, " %*u: %32[0-9A-Fa-f]:%x %*s %2s", hex, &p, state) != 3 || p != port ||
	    !streq(state, "0A") || strlen(hex) != 8 * words)
		return false;
	for (unsigned i = 0; i < words; i++) {
		char word[9];
		memcpy(word, hex + 8 * i, 8);
		word[8] = '\0';
		s.s6_addr32[v6 ? i : 3] = (uint32_t)strtoul(word, NULL, 16);
	}
	if (!v6)
		s.s6_addr32[2] = htonl(0xffff);
	if (!overlaps(a, &s))
		return false;
	*found = s;
	return true;
}

/* A listening socket that overlaps a on port in the TCP tables: 1 (its address in *found),
   0, or a negative errno when no table can be read. */
static int port_taken(const char *proc_net, const struct in6_addr *a, unsigned port,
		      struct in6_addr *found)
{
	int tables = 0;

	for (int v6 = 0; v6 <= 1; v6++) {
		_cleanup_free_ char *path = tm_strdupf("%s/%s", proc_net, v6 ? "tcp6" : "tcp");
		_cleanup_free_ char *line = NULL;
		_cleanup_fclose_ FILE *f = NULL;
		size_t size = 0;

		if (!path)
			return -ENOMEM;
		f = fopen(path, "re");
		if (!f)
			continue;
		tables++;
		while (getline(&line, &size, f) > 0)
			if (listens(line, v6, a, port, found))
				return 1;
	}
	return tables > 0 ? 0 : -ENOENT;
}

/* Whether a is an address of this host (a wildcard is): 1, 0, or a negative errno. */
static int address_local(const struct in6_addr *a)
{
	struct ifaddrs *list;
	int r = 0;

	if (IN6_IS_ADDR_UNSPECIFIED(a) || any_v4(a))
		return 1;
	if (getifaddrs(&list) < 0)
		return -errno;
	for (struct ifaddrs *i = list; i && r == 0; i = i->ifa_next) {
		const struct sockaddr *sa = i->ifa_addr;

		if (sa && sa->sa_family == AF_INET)
			r = IN6_IS_ADDR_V4MAPPED(a) &&
			    a->s6_addr32[3] == ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
		else if (sa && sa->sa_family == AF_INET6)
			r = IN6_ARE_ADDR_EQUAL(a, &((const struct sockaddr_in6 *)sa)->sin6_addr);
	}
	freeifaddrs(list);
	return r;
}

char *tm_portal_refusal(const char *address, const struct tm_host_paths *paths)
{
	struct in6_addr a, found;
	char shown[INET6_ADDRSTRLEN] = "?";
	unsigned port;
	int r;

	if (parse_np(address, &a, &port) < 0)
		return NULL;
	r = port_taken(paths && paths->proc_net ? paths->proc_net : "/proc/net", &a, port, &found);
	if (r > 0) {
		if (IN6_IS_ADDR_V4MAPPED(&found))
			inet_ntop(AF_INET, &found.s6_addr32[3], shown, sizeof(shown));
		else
			inet_ntop(AF_INET6, &found, shown, sizeof(shown));
		return tm_strdupf("cannot listen on %s: the kernel refused the portal (EINVAL): "
				  "port %u is in use, a socket listens on %s port %u "
				  "(ss -ltnp 'sport = :%u' shows which process)",
				  address, port, shown, port, port);
	}
	if (address_local(&a) == 0)
		return tm_strdupf("cannot listen on %s: the kernel refused the portal (EINVAL): "
				  "the address is not one of this host's (ip -brief address)",
				  address);
	return tm_strdupf("cannot listen on %s: the kernel refused the portal (EINVAL): the "
			  "address is not on this host or the port is in use "
			  "(ss -ltnp 'sport = :%u')",
			  address, port);
}
