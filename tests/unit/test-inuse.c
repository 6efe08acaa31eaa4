/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Devices the host uses are not exported: mounts (libmount on a fixture mountinfo), partitions
   and stacked devices (a fixture sysfs), swap, and backstores of other tools. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "model.h"
#include "parse.h"
#include "system.h"
#include "tap-diags.h"
#include "tap.h"
#include "util.h"

static char dir[] = "/tmp/test-inuse.XXXXXX";

static void mkdirs(const char *rel)
{
	char *p;

	if (asprintf(&p, "mkdir -p '%s/%s'", dir, rel) < 0 || system(p) != 0)
		bail(rel);
	free(p);
}

/* sdb (8:16) has partition sdb1 (8:17), mounted on /home; sdc (8:32) is an LVM PV under
   dm-0 (253:0), mounted on /srv; sdd (8:48) is free; 7:0 is mounted on /mnt/loop. */
static void fixtures(struct tm_host_paths *paths)
{
	static char mountinfo[128], swaps[128], sysfs[128];

	if (!mkdtemp(dir))
		bail("mkdtemp");
	free(tap_write_file(dir, "mountinfo",
			    "22 1 0:22 / /proc rw,nosuid - proc proc rw\n"
			    "23 1 8:17 / /home rw,relatime shared:1 - ext4 /dev/sdb1 rw\n"
			    "24 1 253:0 / /srv rw,relatime - xfs /dev/mapper/vg-srv rw\n"
			    "25 1 7:0 / /mnt/loop rw,relatime - ext4 /dev/loop0 rw\n",
			    0644));
	free(tap_write_file(dir, "swaps", "Filename\tType\tSize\tUsed\tPriority\n", 0644));
	mkdirs("sys/dev/block/8:16/sdb1");
	free(tap_write_file(dir, "sys/dev/block/8:16/sdb1/partition", "1\n", 0644));
	free(tap_write_file(dir, "sys/dev/block/8:16/sdb1/dev", "8:17\n", 0644));
	mkdirs("sys/dev/block/8:16/queue"); /* not a partition: no "partition" file */
	mkdirs("sys/dev/block/8:32/holders/dm-0");
	mkdirs("sys/class/block/dm-0");
	free(tap_write_file(dir, "sys/class/block/dm-0/dev", "253:0\n", 0644));
	mkdirs("sys/dev/block/8:48/holders");
	snprintf(mountinfo, sizeof(mountinfo), "%s/mountinfo", dir);
	snprintf(swaps, sizeof(swaps), "%s/swaps", dir);
	snprintf(sysfs, sizeof(sysfs), "%s/sys", dir);
	*paths = (struct tm_host_paths){.mountinfo = mountinfo, .swaps = swaps, .sysfs = sysfs};
}

static void check_device(const struct tm_host_paths *paths, unsigned ma, unsigned mi,
			 const char *want, const char *desc)
{
	_cleanup_free_ char *reason = NULL;
	int r = tm_block_device_in_use(makedev(ma, mi), paths, &reason);

	CHECK_INT(r, want ? 1 : 0, desc);
	if (want)
		CHECK_STR(reason, want, "  the reason names the mount point and the source");
}

static struct tm_config *parse(const char *text)
{
	struct tm_config *c = tm_config_new();
	struct tm_diags d = {0};

	if (!c || tm_parse_string("u.conf", text, c, &d) < 0 || d.n_errors > 0) {
		tap_dump_diags(&d);
		bail("parse");
	}
	tm_diags_clear(&d);
	return c;
}

static bool owned_none(void *userdata _unused_, enum tm_obj_kind kind _unused_,
		       const char *name _unused_)
{
	return false;
}

static bool owned_all(void *userdata _unused_, enum tm_obj_kind kind _unused_,
		      const char *name _unused_)
{
	return true;
}

static void test_config_checks(const struct tm_host_paths *paths)
{
	_cleanup_config_ struct tm_config *c = NULL, *allowed = NULL, *have = NULL;
	struct tm_diags d = {0};
	struct tm_backstore *h;
	struct stat st;

	if (stat("/dev/loop0", &st) < 0 || !S_ISBLK(st.st_mode) || st.st_rdev != makedev(7, 0)) {
		tap_skip("no /dev/loop0 (7:0) to declare");
		return;
	}
	c = parse("[target iqn.2021-02.com.example:t]\n"
		  "lun 1 = ramdisk size=1M\n"
		  "lun 2 = /dev/loop0\n");
	allowed = parse("[target iqn.2021-02.com.example:t]\n"
			"lun 2 = /dev/loop0 type=fileio allow-in-use\n");
	CHECK(allowed->n_backstores == 1 && allowed->backstores[0].allow_in_use,
	      "the parser takes allow-in-use");

	CHECK_INT(tm_check_devices_mounted(c, paths, &d), 1, "a mounted device is refused");
	CHECK(d.n == 1 && d.v[0].line == 3 && streq_ptr(d.v[0].file, "u.conf") &&
		  strstr(d.v[0].message, "/dev/loop0 is mounted on /mnt/loop (/dev/loop0)"),
	      "at the LUN's file:line, naming the mount point");
	tap_dump_diags(&d);
	tm_diags_clear(&d);
	CHECK_INT(tm_check_devices_mounted(allowed, paths, &d), 0, "unless allow-in-use");
	tm_diags_clear(&d);

	/* Another tool's backstore on the same device. */
	have = tm_config_new();
	h = have ? TM_PUSH(have->backstores, have->n_backstores) : NULL;
	if (!h)
		bail("have");
	h->type = TM_BACKSTORE_IBLOCK;
	h->hba = strdup("iblock_0");
	h->name = strdup("theirs");
	h->path = strdup("/dev/loop0");
	CHECK_INT(tm_check_devices_served(c, have, owned_none, NULL, &d), 1,
		  "a device another tool's backstore serves is refused");
	CHECK(d.n == 1 && strstr(d.v[0].message, "already served by LIO backstore iblock_0/theirs"),
	      "naming that backstore");
	tap_dump_diags(&d);
	tm_diags_clear(&d);
	CHECK_INT(tm_check_devices_served(c, have, owned_all, NULL, &d), 0,
		  "targetmgr's own backstores are the planner's business");
	CHECK_INT(tm_check_devices_served(allowed, have, owned_none, NULL, &d), 0,
		  "allow-in-use lets it through");
	tm_diags_clear(&d);
}

/*
 * Why LIO refused a portal, from fixture socket tables: 127.0.0.1:3261 listening, [::]:3262
 * listening (dual-stack), 10.0.0.9:3263 connected (not listening), as the kernel prints
 * them on a little-endian host.
 */
static void test_portal_refusal(void)
{
	static const struct {
		const char *address, *want, *what;
	} cases[] = {
	    {"127.0.0.1:3261", "port 3261 is in use, a socket listens on 127.0.0.1 port 3261",
	     "the same address and port"},
	    {"0.0.0.0:3261", "a socket listens on 127.0.0.1 port 3261",
	     "a wildcard portal overlaps a listening address"},
	    {"[::1]:3262", "a socket listens on :: port 3262", "an IPv6 wildcard socket"},
	    {"127.0.0.1:3262", "a socket listens on :: port 3262",
	     "an IPv6 wildcard socket takes IPv4 too"},
	    {"127.0.0.1:3263", "the address is not on this host or the port is in use",
	     "a connected socket is no listener: the cause stays open"},
	    {"192.0.2.77:3260", "the address is not one of this host's",
	     "an address no interface has"},
	};
	struct tm_host_paths paths = {0};
	_cleanup_free_ char *net = tm_strdupf("%s/net", dir);

	mkdirs("net");
	free(tap_write_file(dir, "net/tcp",
			    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
			    "retrnsmt   uid  timeout inode\n"
			    "   0: 0100007F:0CBD 00000000:0000 0A 00000000:00000000 00:00000000 "
			    "00000000     0        0 1001 1 0000000000000000 100 0 0 10 0\n"
			    "   1: 0900000A:0CBF 0100000A:D431 01 00000000:00000000 00:00000000 "
			    "00000000     0        0 1002 1 0000000000000000 20 4 30 10 -1\n",
			    0644));
	free(tap_write_file(
	    dir, "net/tcp6",
	    "  sl  local_address                         remote_address                "
	    "        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	    "   0: 00000000000000000000000000000000:0CBE "
	    "00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 "
	    "00000000     0        0 1003 1 0000000000000000 100 0 0 10 0\n",
	    0644));
	paths.proc_net = net;
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *why = tm_portal_refusal(cases[i].address, &paths);

		CHECK(why && strstr(why, cases[i].want) && strstr(why, cases[i].address) &&
			  strstr(why, "(EINVAL)"),
		      "portal %s: %s", cases[i].address, cases[i].what);
		if (why)
			tap_diag("%s", why);
	}
	CHECK(!tm_portal_refusal("nonsense", &paths), "not an np name: no explanation");
}

int main(void)
{
	struct tm_host_paths paths;
	char *cmd;

	fixtures(&paths);
	check_device(&paths, 8, 17, "mounted on /home (/dev/sdb1)", "a mounted partition");
	check_device(&paths, 8, 16, "mounted on /home (/dev/sdb1)",
		     "a disk whose partition is mounted");
	check_device(&paths, 8, 32, "mounted on /srv (/dev/mapper/vg-srv)",
		     "a disk under a mounted device-mapper volume (holders)");
	check_device(&paths, 8, 48, NULL, "a free disk");
	check_device(&paths, 0, 22, "mounted on /proc (proc)", "devnos are compared, not names");
	test_config_checks(&paths);
	test_portal_refusal();

	if (asprintf(&cmd, "rm -rf '%s'", dir) >= 0 && system(cmd) == 0)
		free(cmd);
	return tap_done();
}
