/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/scan.c against a fake /sys/kernel/config built in a temporary directory: the same
 * directories, files and symlinks LIO (kernel 6.1) shows, with byte-exact attribute contents.
 * The model is dumped to text and compared with tests/unit/golden/ (argv[1]); run with
 * TM_GOLDEN_UPDATE=1 to rewrite the golden files after an intended change.
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "model.h"
#include "scan.h"
#include "util.h"

#include "tap.h"

/* ---- building a fake configfs ---- */

static char tree_root[PATH_MAX];

static void mkdir_p(const char *rel)
{
	_cleanup_free_ char *p = tm_strdupf("%s/%s", tree_root, rel);

	if (!p)
		bail("alloc");
	for (char *s = p + strlen(tree_root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			bail(p);
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		bail(p);
}

static void mkparent(const char *rel)
{
	_cleanup_free_ char *d = strdup(rel);
	char *slash = d ? strrchr(d, '/') : NULL;

	if (!d)
		bail("alloc");
	if (slash) {
		*slash = '\0';
		mkdir_p(d);
	}
}

/* An attribute with exactly these bytes (NULs included). */
static void put_bytes(const char *rel, const char *bytes, size_t len, mode_t mode)
{
	_cleanup_free_ char *p = tm_strdupf("%s/%s", tree_root, rel);
	_cleanup_close_ int fd = -EBADF;

	if (!p)
		bail("alloc");
	mkparent(rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, bytes, len) != (ssize_t)len)
		bail(p);
}
#define put(rel, literal) put_bytes(rel, literal, sizeof(literal) - 1, 0644)

static void lnk(const char *body, const char *rel)
{
	_cleanup_free_ char *p = tm_strdupf("%s/%s", tree_root, rel);

	if (!p)
		bail("alloc");
	mkparent(rel);
	if (symlink(body, p) < 0)
		bail(p);
}

#define CORE  "target/core/"
#define ISCSI "target/iscsi/"
#define UP6   "../../../../../../"    /* lun/lun_N/<link> up to the configfs root */
#define UP7   "../../../../../../../" /* acls/<initiator>/lun_M/<link> up to the root */

/* What every storage object directory holds besides the per-test attributes. */
static void so_common(const char *so, const char *serial_line)
{
	char p[PATH_MAX];

#define P(sub) (snprintf(p, sizeof(p), "%s/%s", so, sub), p)
	put_bytes(P("control"), "", 0, 0200);
	put(P("alias"), "");
	put(P("lba_map"), "");
	put(P("alua_lu_gp"), "LU Group Alias: default_lu_gp\nLU Group ID: 0\n");
	put_bytes(P("wwn/vpd_unit_serial"), serial_line, strlen(serial_line), 0644);
	put(P("wwn/vendor_id"), "LIO-ORG\n");
	put(P("wwn/product_id"), "TCMU device\n");
	put(P("attrib/block_size"), "512\n");
	put(P("attrib/emulate_write_cache"), "0\n");
	put(P("attrib/emulate_tpu"), "0\n");
	put(P("attrib/is_nonrot"), "0\n");
	put(P("pr/res_holder"), "No SPC-3 Reservation holder\n");
	put(P("pr/res_pr_type"), "No SPC-3 Reservation holder\n");
	mkdir_p(P("alua/default_tg_pt_gp"));
	put(P("statistics/scsi_dev/indx"), "1\n");
	put(P("statistics/scsi_lu/num_cmds"), "4242\n");
#undef P
}

static void build_backstores(void)
{
	put("target/version", "Target Engine Core ConfigFS Infrastructure v5.0 on Linux/x86_64"
			      " on 6.1.0-18-amd64\n");
	put("target/dbroot", "/etc/target\n");
	put(CORE "alua/lu_gps/default_lu_gp/lu_gp_id", "0\n");
	put(CORE "alua/lu_gps/default_lu_gp/members", "");

	/* targetmgr's own, enabled. */
	put(CORE "fileio_1000/hba_info", "HBA Index: 3 plugin: fileio version: v4.0\n");
	put(CORE "fileio_1000/hba_mode", "0\n");
	put(CORE "fileio_1000/disk1/enable", "1\n");
	put(CORE "fileio_1000/disk1/udev_path", "/var/lib/targetmgr/disk1.img\n");
	put(CORE "fileio_1000/disk1/info",
	    "Status: ACTIVATED  Max Queue Depth: 128  SectorSize: 512  HwMaxSectors: 16384\n"
	    "        TCM FILEIO ID: 0        File: /var/lib/targetmgr/disk1.img"
	    "  Size: 1073741824  Mode: O_DSYNC Async: 0\n");
	so_common(CORE "fileio_1000/disk1",
		  "T10 VPD Unit Serial Number: 6a1c0e4f5d7b3a29c8e1f0a2b4d6c8e0\n");

	/* Configured through control, never enabled, udev_path never written: the path comes
	   from info, and it has blanks in it. */
	put(CORE "fileio_1000/staging/enable", "0\n");
	put(CORE "fileio_1000/staging/udev_path", "");
	put(CORE "fileio_1000/staging/info",
	    "Status: DEACTIVATED  Max Queue Depth: 0  SectorSize: 512  HwMaxSectors: 0\n"
	    "        TCM FILEIO ID: 0        File: /var/lib/targetmgr/path with space.img"
	    "  Size: 67108864  Mode: O_DSYNC Async: 0\n");
	so_common(CORE "fileio_1000/staging", "T10 VPD Unit Serial Number: \n");

	put(CORE "iblock_1000/hba_info", "HBA Index: 4 plugin: iblock version: v4.0\n");
	put(CORE "iblock_1000/hba_mode", "0\n");
	put(CORE "iblock_1000/vol1/enable", "1\n");
	put(CORE "iblock_1000/vol1/udev_path", "/dev/disk/by-id/virtio-VOL1\n");
	put(CORE "iblock_1000/vol1/info",
	    "Status: ACTIVATED  Max Queue Depth: 128  SectorSize: 512  HwMaxSectors: 2048\n"
	    "        iBlock device: vdb  UDEV PATH: /dev/disk/by-id/virtio-VOL1  readonly: 1\n"
	    "        Major: 254 Minor: 16  CLAIMED: IBLOCK\n");
	so_common(CORE "iblock_1000/vol1",
		  "T10 VPD Unit Serial Number: 0f1e2d3c4b5a69788796a5b4c3d2e1f0\n");

	/* Never enabled: no block device in info yet; no udev_path attribute written. */
	put(CORE "iblock_1000/vol2/enable", "0\n");
	put(CORE "iblock_1000/vol2/udev_path", "");
	put(CORE "iblock_1000/vol2/info",
	    "Status: DEACTIVATED  Max Queue Depth: 0  SectorSize: 512  HwMaxSectors: 0\n"
	    "        UDEV PATH: /dev/vdc  readonly: 0\n"
	    "        Major: 0 Minor: 0\n");
	so_common(CORE "iblock_1000/vol2", "T10 VPD Unit Serial Number: vol2-serial\n");

	put(CORE "rd_mcp_1000/hba_info", "HBA Index: 5 plugin: rd_mcp version: v4.0\n");
	put(CORE "rd_mcp_1000/hba_mode", "0\n");
	put(CORE "rd_mcp_1000/ram1/enable", "1\n");
	put(CORE "rd_mcp_1000/ram1/udev_path", "");
	put(CORE "rd_mcp_1000/ram1/info",
	    "Status: ACTIVATED  Max Queue Depth: 128  SectorSize: 512  HwMaxSectors: 1024\n"
	    "        TCM RamDisk ID: 0  RamDisk Makeup: rd_mcp\n"
	    "        PAGES/PAGE_SIZE: 16384*4096  SG_table_count: 1  nullio: 1 dummy: 0\n");
	so_common(CORE "rd_mcp_1000/ram1",
		  "T10 VPD Unit Serial Number: 11111111222222223333333344444444\n");

	/* targetcli's (rtslib): HBA index 0, uuid serial, buffered. */
	put(CORE "fileio_0/hba_info", "HBA Index: 1 plugin: fileio version: v4.0\n");
	put(CORE "fileio_0/hba_mode", "0\n");
	put(CORE "fileio_0/vmdisk/enable", "1\n");
	put(CORE "fileio_0/vmdisk/udev_path", "/srv/images/vmdisk.img\n");
	put(CORE "fileio_0/vmdisk/info",
	    "Status: ACTIVATED  Max Queue Depth: 128  SectorSize: 512  HwMaxSectors: 16384\n"
	    "        TCM FILEIO ID: 0        File: /srv/images/vmdisk.img"
	    "  Size: 10737418240  Mode: Buffered-WCE Async: 0\n");
	so_common(CORE "fileio_0/vmdisk",
		  "T10 VPD Unit Serial Number: 9bc6e907-6015-4267-be4f-5a0617cb3d71\n");

	/* Plugins targetmgr does not model. */
	put(CORE "user_1/hba_info", "HBA Index: 2 plugin: user version: v4.0\n");
	put(CORE "user_1/tcmu1/enable", "1\n");
	put(CORE "user_1/tcmu1/info", "Status: ACTIVATED  Max Queue Depth: 128\n");
	put(CORE "pscsi_0/sda/enable", "1\n");
}

static void tpg_common(const char *tpg, const char *enable, const char *gen_acls, const char *auth)
{
	char p[PATH_MAX];

#define P(sub) (snprintf(p, sizeof(p), "%s/%s", tpg, sub), p)
	put_bytes(P("enable"), enable, strlen(enable), 0644);
	put(P("rtpi"), "1\n");
	put_bytes(P("attrib/generate_node_acls"), gen_acls, strlen(gen_acls), 0644);
	put_bytes(P("attrib/authentication"), auth, strlen(auth), 0644);
	put(P("attrib/cache_dynamic_acls"), "1\n");
	put(P("attrib/demo_mode_write_protect"), "1\n");
	put(P("attrib/default_cmdsn_depth"), "64\n");
	put(P("attrib/login_timeout"), "15\n");
	put(P("param/AuthMethod"), "CHAP,None\n");
	put(P("param/HeaderDigest"), "CRC32C,None\n");
	put(P("param/MaxConnections"), "1\n");
	put(P("auth/userid"), "\n");
	put(P("auth/password"), "\n");
	put(P("auth/userid_mutual"), "\n");
	put(P("auth/password_mutual"), "\n");
	put(P("auth/authenticate_target"), "0\n");
	put(P("dynamic_sessions"), "");
	mkdir_p(P("np"));
	mkdir_p(P("lun"));
	mkdir_p(P("acls"));
#undef P
}

static void lun_common(const char *lun)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/alua_tg_pt_gp", lun);
	put(p, "TG Port Alias: default_tg_pt_gp\nTG Port Group ID: 0\n");
	snprintf(p, sizeof(p), "%s/alua_tg_pt_offline", lun);
	put(p, "0\n");
	snprintf(p, sizeof(p), "%s/statistics/scsi_port/indx", lun);
	put(p, "1\n");
}

#define DEMO  ISCSI "iqn.2003-01.org.example:demo/tpgt_1"
#define ACL   ISCSI "iqn.2003-01.org.example:acl/tpgt_1"
#define HOSTA ACL "/acls/iqn.1994-05.com.redhat:host-a"
#define HOSTB ACL "/acls/iqn.1994-05.com.redhat:host-b"
#define MULTI ISCSI "iqn.2003-01.org.example:multi"

static void build_iscsi(void)
{
	put(ISCSI "lio_version", "Datera Inc. iSCSI Target v4.1.0\n");
	put(ISCSI "cpus_allowed_list", "0-3\n");
	put(ISCSI "discovery_auth/userid", "disc-user\n");
	put(ISCSI "discovery_auth/password", "disc-secret\n");
	put(ISCSI "discovery_auth/userid_mutual", "\n");
	put(ISCSI "discovery_auth/password_mutual", "\n");
	put(ISCSI "discovery_auth/authenticate_target", "0\n");
	put(ISCSI "discovery_auth/enforce_discovery_auth", "1\n");

	/* Demo mode: no ACLs, CHAP, two LUNs, two logged-in initiators.  dynamic_sessions ends
	   every name with "\n\0" (target_show_dynamic_sessions()). */
	put(ISCSI "iqn.2003-01.org.example:demo/fabric_statistics/iscsi_instance/inst", "1\n");
	tpg_common(DEMO, "1\n", "1\n", "1\n");
	put(DEMO "/auth/userid", "demo-user\n");
	put(DEMO "/auth/password", "demo-secret\n");
	put(DEMO "/dynamic_sessions",
	    "iqn.1994-05.com.redhat:client1\n\0iqn.1994-05.com.redhat:client2\n\0");
	put(DEMO "/np/0.0.0.0:3260/iser", "0\n");
	put(DEMO "/np/0.0.0.0:3260/cxgbit", "0\n");
	lun_common(DEMO "/lun/lun_0");
	lnk(UP6 "target/core/fileio_1000/disk1", DEMO "/lun/lun_0/7947ded962");
	lun_common(DEMO "/lun/lun_1");
	lnk(UP6 "target/core/rd_mcp_1000/ram1", DEMO "/lun/lun_1/a1b2c3d4e5");

	/* ACLs: two initiators, mapped LUNs with write_protect, an IPv6 portal. */
	tpg_common(ACL, "1\n", "0\n", "0\n");
	put(ACL "/np/[::1]:3260/iser", "0\n");
	put(ACL "/np/192.168.10.1:3260/iser", "0\n");
	lun_common(ACL "/lun/lun_0");
	lnk(UP6 "target/core/iblock_1000/vol1", ACL "/lun/lun_0/0a1b2c3d4e");
	lun_common(ACL "/lun/lun_2");
	lnk(UP6 "target/core/fileio_0/vmdisk", ACL "/lun/lun_2/f00dcafe01");

	put(HOSTA "/info",
	    "InitiatorName: iqn.1994-05.com.redhat:host-a\n"
	    "InitiatorAlias: host-a\n"
	    "LIO Session ID: 1   ISID: 0x00 02 3d 00 00 01  TSIH: 1  SessionType: Normal\n"
	    "Session State: TARG_SESS_STATE_LOGGED_IN\n"
	    "---------------------[iSCSI Session Values]-----------------------\n"
	    "  CmdSN/WR  :  CmdSN/WC  :  ExpCmdSN  :  MaxCmdSN  :     ITT    :     TTT\n"
	    " 0x00000040   0x00000040   0x00000011   0x00000050   0x00000000   0xffffffff\n"
	    "----------------------[iSCSI Connections]-------------------------\n"
	    "CID: 0  Connection State: TARG_CONN_STATE_LOGGED_IN\n"
	    "   Address 192.168.10.20 TCP  StatSN: 0x6916c3e9\n");
	put(HOSTA "/cmdsn_depth", "64\n");
	put(HOSTA "/tag", "");
	put(HOSTA "/auth/userid", "host-a\n");
	put(HOSTA "/auth/password", "host-a-secret\n");
	put(HOSTA "/auth/userid_mutual", "target-a\n");
	put(HOSTA "/auth/password_mutual", "target-a-secret\n");
	put(HOSTA "/auth/authenticate_target", "1\n");
	put(HOSTA "/attrib/dataout_timeout", "3\n");
	put(HOSTA "/attrib/nopin_timeout", "15\n");
	put(HOSTA "/param/MaxConnections", "1\n");
	put(HOSTA "/fabric_statistics/iscsi_sess_stats/cmd_pdus", "4242\n");
	put(HOSTA "/lun_0/write_protect", "0\n");
	lnk(UP7 "target/iscsi/iqn.2003-01.org.example:acl/tpgt_1/lun/lun_0",
	    HOSTA "/lun_0/0a1b2c3d4e");
	put(HOSTA "/lun_1/write_protect", "1\n");
	lnk(UP7 "target/iscsi/iqn.2003-01.org.example:acl/tpgt_1/lun/lun_2",
	    HOSTA "/lun_1/f00dcafe01");

	put(HOSTB "/info",
	    "No active iSCSI Session for Initiator Endpoint: iqn.1994-05.com.redhat:host-b\n");
	put(HOSTB "/auth/userid", "\n");
	put(HOSTB "/auth/password", "\n");
	put(HOSTB "/auth/userid_mutual", "\n");
	put(HOSTB "/auth/password_mutual", "\n");
	put(HOSTB "/lun_0/write_protect", "1\n");
	lnk(UP7 "target/iscsi/iqn.2003-01.org.example:acl/tpgt_1/lun/lun_0",
	    HOSTB "/lun_0/7f00000001");
	/* mkdir'ed, not linked yet: write_protect shows nothing without a mapping. */
	put(HOSTB "/lun_5/write_protect", "");

	/* Two TPGs; LUN names that sort differently as strings and numbers; a LUN without its
	   link; the shorter link body of newer kernels (from the closest common parent). */
	put(MULTI "/fabric_statistics/iscsi_instance/inst", "3\n");
	tpg_common(MULTI "/tpgt_1", "0\n", "0\n", "0\n");
	lun_common(MULTI "/tpgt_1/lun/lun_10");
	lnk(UP6 "target/core/iblock_1000/vol1", MULTI "/tpgt_1/lun/lun_10/aaaaaaaaaa");
	lun_common(MULTI "/tpgt_1/lun/lun_2");
	lnk(UP6 "target/core/rd_mcp_1000/ram1", MULTI "/tpgt_1/lun/lun_2/bbbbbbbbbb");
	lun_common(MULTI "/tpgt_1/lun/lun_3");
	tpg_common(MULTI "/tpgt_2", "1\n", "1\n", "0\n");
	mkdir_p(MULTI "/tpgt_2/np/0.0.0.0:3261");
	lun_common(MULTI "/tpgt_2/lun/lun_0");
	lnk("../../../../../core/fileio_1000/disk1", MULTI "/tpgt_2/lun/lun_0/cccccccccc");

	/* An IQN without any TPG yet. */
	put(ISCSI "iqn.2003-01.org.example:bare/fabric_statistics/iscsi_instance/inst", "4\n");
}

/* ---- the declared model, by hand ---- */

static void set(struct tm_settings *s, const char *path, const char *value)
{
	bool secret = strstr(path, "password") != NULL;
	if (tm_settings_set(s, path, value, secret, (struct tm_origin){"want.conf", 1}) < 0)
		bail("tm_settings_set");
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		bail("strdup");
	return p;
}

static struct tm_config *build_want(void)
{
	struct tm_config *w = tm_config_new();
	struct tm_backstore *b;
	struct tm_target *t;
	struct tm_acl *a;
	struct tm_mapped_lun *m;

	if (!w)
		bail("tm_config_new");

	b = TM_PUSH(w->backstores, w->n_backstores);
	if (!b)
		bail("push");
	b->type = TM_BACKSTORE_FILEIO;
	b->hba = xstrdup("fileio_1000");
	b->name = xstrdup("disk1");
	set(&b->settings, "wwn/vpd_unit_serial", "6a1c0e4f5d7b3a29c8e1f0a2b4d6c8e0");
	set(&b->settings, "attrib/emulate_write_cache", "1");
	set(&b->settings, "attrib/emulate_pass_through_missing", "1"); /* no such file */
	set(&b->settings, "enable", "1");

	b = TM_PUSH(w->backstores, w->n_backstores);
	if (!b)
		bail("push");
	b->type = TM_BACKSTORE_RAMDISK;
	b->hba = xstrdup("rd_mcp_1000");
	b->name = xstrdup("ram1");
	set(&b->settings, "attrib/block_size", "4096");

	t = TM_PUSH(w->targets, w->n_targets);
	if (!t)
		bail("push");
	t->iqn = xstrdup("iqn.2003-01.org.example:demo");
	t->tpgt = 1;
	set(&t->settings, "attrib/cache_dynamic_acls", "1");
	set(&t->settings, "attrib/demo_mode_write_protect", "0");
	set(&t->settings, "auth/password", "demo-secret");
	set(&t->settings, "param/HeaderDigest", "None");
	set(&t->settings, "enable", "1");

	t = TM_PUSH(w->targets, w->n_targets);
	if (!t)
		bail("push");
	t->iqn = xstrdup("iqn.2003-01.org.example:acl");
	t->tpgt = 1;
	a = TM_PUSH(t->acls, t->n_acls);
	if (!a)
		bail("push");
	a->initiator = xstrdup("iqn.1994-05.com.redhat:host-a");
	set(&a->settings, "auth/password", "host-a-secret");
	set(&a->settings, "auth/password_mutual", "target-a-secret");
	set(&a->settings, "attrib/dataout_timeout", "3");
	m = TM_PUSH(a->mapped_luns, a->n_mapped_luns);
	if (!m)
		bail("push");
	m->number = 1;
	m->lun = 2;
	set(&m->settings, "write_protect", "1");

	t = TM_PUSH(w->targets, w->n_targets);
	if (!t)
		bail("push");
	t->iqn = xstrdup("iqn.2003-01.org.example:multi");
	t->tpgt = 2;

	set(&w->discovery, "enforce_discovery_auth", "1");
	set(&w->discovery, "userid", "disc-user");
	set(&w->discovery, "password", "disc-secret");
	set(&w->discovery, "userid_mutual", "");
	set(&w->discovery, "password_mutual", "");
	return w;
}

/* ---- deterministic text dump ---- */

static void quote(FILE *f, const char *s)
{
	if (!s) {
		fputs("-", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void dump_origin(FILE *f, const char *indent, struct tm_origin o)
{
	/* Running state has none: anything here is a bug, and shows in the golden diff. */
	if (o.file || o.line)
		fprintf(f, "%sorigin %s:%u\n", indent, o.file ? o.file : "-", o.line);
}

static void dump_settings(FILE *f, const char *indent, const struct tm_settings *s)
{
	for (size_t i = 0; i < s->n; i++) {
		fprintf(f, "%ssetting %s = ", indent, s->v[i].path);
		quote(f, s->v[i].value);
		fputs(s->v[i].secret ? " secret\n" : "\n", f);
		dump_origin(f, indent, s->v[i].origin);
	}
}

static void dump(FILE *f, const struct tm_config *c, const struct tm_cfs_stats *st)
{
	for (size_t i = 0; i < c->n_backstores; i++) {
		const struct tm_backstore *b = &c->backstores[i];

		fprintf(f, "backstore %s/%s\n", b->hba, b->name);
		fprintf(f, "  type %s\n", tm_backstore_type_name(b->type));
		fputs("  path ", f);
		quote(f, b->path);
		fprintf(f, "\n  size %llu\n", (unsigned long long)b->size);
		fprintf(f, "  readonly %d\n  nullio %d\n", b->readonly, b->nullio);
		fputs("  serial ", f);
		quote(f, b->serial);
		fputc('\n', f);
		dump_settings(f, "  ", &b->settings);
		dump_origin(f, "  ", b->origin);
	}
	for (size_t i = 0; i < c->n_targets; i++) {
		const struct tm_target *t = &c->targets[i];

		fprintf(f, "target %s\n", t->iqn);
		fprintf(f, "  tpgt %u\n  has_tpg %d\n", t->tpgt, t->has_tpg);
		dump_settings(f, "  ", &t->settings);
		for (size_t j = 0; j < t->n_portals; j++) {
			fprintf(f, "  portal %s\n", t->portals[j].address);
			dump_origin(f, "    ", t->portals[j].origin);
		}
		for (size_t j = 0; j < t->n_luns; j++) {
			const struct tm_lun *l = &t->luns[j];
			fprintf(f, "  lun %u backstore %s/%s readonly %d\n", l->number,
				l->backstore_hba ? l->backstore_hba : "-",
				l->backstore_name ? l->backstore_name : "-", l->readonly);
			dump_origin(f, "    ", l->origin);
		}
		for (size_t j = 0; j < t->n_acls; j++) {
			const struct tm_acl *a = &t->acls[j];

			fprintf(f, "  acl %s\n", a->initiator);
			fprintf(f, "    has_session %d\n", a->has_session);
			dump_settings(f, "    ", &a->settings);
			for (size_t k = 0; k < a->n_mapped_luns; k++) {
				const struct tm_mapped_lun *m = &a->mapped_luns[k];
				if (m->lun == UINT_MAX)
					fprintf(f, "    mapped_lun %u -> unlinked\n", m->number);
				else
					fprintf(f, "    mapped_lun %u -> lun %u\n", m->number,
						m->lun);
				dump_settings(f, "      ", &m->settings);
				dump_origin(f, "      ", m->origin);
			}
			dump_origin(f, "    ", a->origin);
		}
		for (size_t j = 0; j < t->n_sessions; j++)
			fprintf(f, "  session %s\n", t->sessions[j]);
		dump_origin(f, "  ", t->origin);
	}
	fputs("discovery\n", f);
	dump_settings(f, "  ", &c->discovery);
	fprintf(f, "files %zu\n", c->n_files);
	fprintf(f, "cfs reads %lu mkdirs %lu rmdirs %lu writes %lu symlinks %lu unlinks %lu\n",
		st->reads, st->mkdirs, st->rmdirs, st->writes, st->symlinks, st->unlinks);
}

static char *dump_string(const struct tm_config *c, const struct tm_cfs_stats *st)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		bail("open_memstream");
	dump(f, c, st);
	if (fclose(f) != 0)
		bail("fclose");
	return buf;
}

static char *read_text(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;

	if (!f)
		return NULL;
	n = getdelim(&buf, &len, '\0', f);
	if (n < 0) {
		free(buf);
		return strdup("");
	}
	return buf;
}

static void compare_golden(const char *golden_dir, const char *name, const char *got)
{
	_cleanup_free_ char *path = tm_strdupf("%s/%s", golden_dir, name), *want = NULL;
	const char *g, *w;
	unsigned line = 1;

	if (!path)
		bail("alloc");
	if (getenv("TM_GOLDEN_UPDATE")) {
		_cleanup_fclose_ FILE *f = fopen(path, "we");
		if (!f || fputs(got, f) < 0)
			bail(path);
	}
	want = read_text(path);
	CHECK(want && streq(got, want), "%s", name);
	if (!want) {
		tap_diag("  cannot read %s: %s", path, strerror(errno));
		return;
	}
	if (streq(got, want))
		return;
	for (g = got, w = want; *g && *g == *w; g++, w++)
		if (*g == '\n')
			line++;
	tap_diag("  first difference at line %u", line);
	tap_diag("  got:  %.*s", (int)strcspn(g, "\n"), g);
	tap_diag("  want: %.*s", (int)strcspn(w, "\n"), w);
}

/* ---- checks ---- */

static const char *setting(const struct tm_settings *s, const char *path)
{
	const struct tm_setting *e = tm_settings_find(s, path);
	return e ? e->value : NULL;
}

static void test_empty(void)
{
	_cleanup_cfs_ struct tm_cfs *cfs = NULL;
	struct tm_config *c = NULL;

	/* No target/ at all: target_core_mod not loaded. */
	if (tm_cfs_open(tree_root, &cfs) < 0)
		bail("tm_cfs_open");
	CHECK_INT(tm_scan(cfs, NULL, &c), 0, "empty configfs: scan succeeds");
	CHECK(c && c->n_backstores == 0 && c->n_targets == 0 && c->discovery.n == 0,
	      "empty configfs: empty model");
	if (c)
		tm_config_free(c);
	c = NULL;

	/* target/core only: iscsi_target_mod not loaded. */
	build_backstores();
	CHECK_INT(tm_scan(cfs, NULL, &c), 0, "no target/iscsi: scan succeeds");
	CHECK(c && c->n_backstores == 6 && c->n_targets == 0 && c->discovery.n == 0,
	      "no target/iscsi: backstores only");
	if (c)
		tm_config_free(c);
}

static void test_plain(const char *golden_dir)
{
	_cleanup_cfs_ struct tm_cfs *cfs = NULL;
	_cleanup_config_ struct tm_config *c = NULL;
	_cleanup_free_ char *text = NULL;
	const struct tm_cfs_stats *st;
	const struct tm_backstore *b;
	const struct tm_target *t;
	const struct tm_acl *a;

	if (tm_cfs_open(tree_root, &cfs) < 0)
		bail("tm_cfs_open");
	CHECK_INT(tm_scan(cfs, NULL, &c), 0, "scan without a declared model");
	if (!c)
		return;
	st = tm_cfs_get_stats(cfs);
	text = dump_string(c, st);
	compare_golden(golden_dir, "scan-plain.txt", text);

	CHECK(st->mkdirs + st->rmdirs + st->writes + st->symlinks + st->unlinks == 0,
	      "scan changes nothing");
	CHECK_INT(c->n_backstores, 6, "six backstores: pscsi_0, user_1 and alua/ skipped");
	CHECK(!tm_config_find_backstore(c, "user_1", "tcmu1"), "unknown plugin user_1 skipped");

	b = tm_config_find_backstore(c, "fileio_1000", "disk1");
	CHECK(b && b->type == TM_BACKSTORE_FILEIO, "fileio_1000/disk1 is fileio");
	CHECK_STR(b ? b->path : NULL, "/var/lib/targetmgr/disk1.img", "fileio path from udev_path");
	CHECK_INT(b ? (long long)b->size : -1, 1073741824LL, "fileio size from info Size:");
	CHECK_STR(b ? b->serial : NULL, "6a1c0e4f5d7b3a29c8e1f0a2b4d6c8e0",
		  "serial without the \"T10 VPD Unit Serial Number: \" prefix");
	CHECK_STR(b ? setting(&b->settings, "wwn/vpd_unit_serial") : NULL,
		  "6a1c0e4f5d7b3a29c8e1f0a2b4d6c8e0", "vpd_unit_serial setting is the bare serial");
	CHECK_STR(b ? setting(&b->settings, "enable") : NULL, "1", "enable read");
	CHECK(b && !tm_settings_find(&b->settings, "attrib/emulate_write_cache"),
	      "undeclared attributes not read");

	b = tm_config_find_backstore(c, "fileio_1000", "staging");
	CHECK_STR(b ? b->path : NULL, "/var/lib/targetmgr/path with space.img",
		  "no udev_path: path from info File:, blanks kept");
	CHECK_INT(b ? (long long)b->size : -1, 67108864, "size of a not yet enabled fileio");
	CHECK(b && !b->serial, "empty serial: NULL");
	CHECK_STR(b ? setting(&b->settings, "enable") : NULL, "0", "not enabled");

	b = tm_config_find_backstore(c, "iblock_1000", "vol1");
	CHECK(b && b->type == TM_BACKSTORE_IBLOCK && b->readonly, "iblock readonly: 1");
	CHECK_INT(b ? (long long)b->size : -1, 0, "iblock size unknown from configfs: 0");
	b = tm_config_find_backstore(c, "iblock_1000", "vol2");
	CHECK_STR(b ? b->path : NULL, "/dev/vdc", "iblock path from info UDEV PATH:");
	CHECK(b && !b->readonly, "iblock readonly: 0");

	b = tm_config_find_backstore(c, "rd_mcp_1000", "ram1");
	CHECK(b && b->type == TM_BACKSTORE_RAMDISK && !b->path, "rd_mcp: ramdisk, no path");
	CHECK_INT(b ? (long long)b->size : -1, 16384LL * 4096, "ramdisk size: pages * page size");
	CHECK(b && b->nullio, "ramdisk nullio: 1");

	b = tm_config_find_backstore(c, "fileio_0", "vmdisk");
	CHECK_STR(b ? b->serial : NULL, "9bc6e907-6015-4267-be4f-5a0617cb3d71",
		  "targetcli backstore read as well");

	CHECK_INT(c->n_targets, 4, "four targets, discovery_auth not one of them");
	t = tm_config_find_target(c, "iqn.2003-01.org.example:demo");
	CHECK(t && t->has_tpg && t->tpgt == 1, "demo: tpgt_1");
	CHECK(t && t->n_luns == 2 && t->luns[0].number == 0 &&
		  streq_ptr(t->luns[0].backstore_hba, "fileio_1000") &&
		  streq_ptr(t->luns[0].backstore_name, "disk1") && t->luns[1].number == 1 &&
		  streq_ptr(t->luns[1].backstore_hba, "rd_mcp_1000"),
	      "demo: two LUNs from their links");
	CHECK(t && t->n_sessions == 2 && streq(t->sessions[0], "iqn.1994-05.com.redhat:client1") &&
		  streq(t->sessions[1], "iqn.1994-05.com.redhat:client2"),
	      "demo: both dynamic_sessions despite the NUL bytes");
	CHECK_STR(t ? setting(&t->settings, "auth/userid") : NULL, "demo-user", "demo: CHAP user");
	CHECK(t && !tm_settings_find(&t->settings, "auth/password"),
	      "password not read unless declared");
	CHECK_STR(t ? setting(&t->settings, "attrib/generate_node_acls") : NULL, "1",
		  "demo: generate_node_acls");

	t = tm_config_find_target(c, "iqn.2003-01.org.example:acl");
	CHECK(t && t->n_portals == 2 && tm_target_find_portal(t, "[::1]:3260") &&
		  tm_target_find_portal(t, "192.168.10.1:3260"),
	      "acl: IPv6 and IPv4 portals");
	a = t ? tm_target_find_acl(t, "iqn.1994-05.com.redhat:host-a") : NULL;
	CHECK(a && a->has_session, "host-a: logged in");
	CHECK(a && a->n_mapped_luns == 2 && a->mapped_luns[1].number == 1 &&
		  a->mapped_luns[1].lun == 2,
	      "host-a: mapped LUN 1 -> TPG LUN 2");
	CHECK_STR(a && a->n_mapped_luns == 2 ? setting(&a->mapped_luns[1].settings, "write_protect")
					     : NULL,
		  "1", "host-a: mapped LUN 1 write-protected");
	CHECK_STR(a ? setting(&a->settings, "auth/userid_mutual") : NULL, "target-a",
		  "host-a: mutual CHAP user");
	a = t ? tm_target_find_acl(t, "iqn.1994-05.com.redhat:host-b") : NULL;
	CHECK(a && !a->has_session, "host-b: \"No active iSCSI Session\"");
	CHECK(a && a->n_mapped_luns == 2 && a->mapped_luns[1].number == 5 &&
		  a->mapped_luns[1].lun == UINT_MAX,
	      "host-b: unlinked mapped LUN 5 kept, lun UINT_MAX");
	CHECK(t && t->n_sessions == 1 && streq(t->sessions[0], "iqn.1994-05.com.redhat:host-a"),
	      "acl: sessions are the ACLs with a session");

	t = tm_config_find_target(c, "iqn.2003-01.org.example:multi");
	CHECK(t && t->tpgt == 1, "multi, nothing declared: lowest TPG");
	CHECK(t && t->n_luns == 3 && t->luns[0].number == 2 && t->luns[1].number == 3 &&
		  t->luns[2].number == 10,
	      "LUNs in numeric order");
	CHECK(t && t->n_luns == 3 && !t->luns[1].backstore_hba && !t->luns[1].backstore_name,
	      "LUN without a link: no backstore");
	t = tm_config_find_target(c, "iqn.2003-01.org.example:bare");
	CHECK(t && !t->has_tpg && t->n_luns == 0, "IQN without a TPG: has_tpg 0");

	CHECK_INT(c->discovery.n, 3, "discovery: enforce_discovery_auth, userid and userid_mutual");
	CHECK_STR(setting(&c->discovery, "enforce_discovery_auth"), "1", "discovery enforced");
}

static void test_want(const char *golden_dir)
{
	_cleanup_cfs_ struct tm_cfs *cfs = NULL;
	_cleanup_config_ struct tm_config *want = build_want(), *c = NULL;
	_cleanup_free_ char *text = NULL;
	const struct tm_setting *e;
	const struct tm_backstore *b;
	const struct tm_target *t;
	const struct tm_acl *a;

	if (tm_cfs_open(tree_root, &cfs) < 0)
		bail("tm_cfs_open");
	CHECK_INT(tm_scan(cfs, want, &c), 0, "scan with a declared model");
	if (!c)
		return;
	text = dump_string(c, tm_cfs_get_stats(cfs));
	compare_golden(golden_dir, "scan-want.txt", text);

	b = tm_config_find_backstore(c, "fileio_1000", "disk1");
	CHECK_STR(b ? setting(&b->settings, "attrib/emulate_write_cache") : NULL, "0",
		  "declared attribute read (running value, not the declared one)");
	CHECK(b && !tm_settings_find(&b->settings, "attrib/emulate_pass_through_missing"),
	      "declared attribute this kernel lacks: absent");
	CHECK(b && b->settings.n == 3, "no duplicate of always-read paths");
	b = tm_config_find_backstore(c, "rd_mcp_1000", "ram1");
	CHECK_STR(b ? setting(&b->settings, "attrib/block_size") : NULL, "512",
		  "declared ramdisk attribute read");

	t = tm_config_find_target(c, "iqn.2003-01.org.example:demo");
	e = t ? tm_settings_find(&t->settings, "auth/password") : NULL;
	CHECK(e && streq(e->value, "demo-secret") && e->secret, "declared TPG password: secret");
	CHECK_STR(t ? setting(&t->settings, "param/HeaderDigest") : NULL, "CRC32C,None",
		  "declared TPG param read");

	t = tm_config_find_target(c, "iqn.2003-01.org.example:acl");
	a = t ? tm_target_find_acl(t, "iqn.1994-05.com.redhat:host-a") : NULL;
	e = a ? tm_settings_find(&a->settings, "auth/password_mutual") : NULL;
	CHECK(e && streq(e->value, "target-a-secret") && e->secret,
	      "declared ACL password_mutual: secret");
	CHECK_STR(a ? setting(&a->settings, "attrib/dataout_timeout") : NULL, "3",
		  "declared ACL attribute read");

	t = tm_config_find_target(c, "iqn.2003-01.org.example:multi");
	CHECK(t && t->has_tpg && t->tpgt == 2, "multi: the declared TPG when it exists");
	CHECK(t && t->n_luns == 1 && streq_ptr(t->luns[0].backstore_name, "disk1"),
	      "multi: newer kernels' short link body read too");

	CHECK_INT(c->discovery.n, 5, "discovery: the declared paths");
	e = tm_settings_find(&c->discovery, "password");
	CHECK(e && e->secret && streq(e->value, "disc-secret"), "discovery password: secret");
}

/* The scoped scan (--target): the named target and the backstores its LUNs link, nothing
   else; a backstore the kernel counts more LUNs on than the target has is shared. */
static void test_scoped(void)
{
	char *const iqns[] = {"iqn.2003-01.org.example:acl", "iqn.2003-01.org.example:absent",
			      "iqn.2003-01.org.example:acl"};
	_cleanup_cfs_ struct tm_cfs *cfs = NULL, *full_cfs = NULL;
	_cleanup_config_ struct tm_config *c = NULL, *full = NULL;
	const struct tm_backstore *vol1, *vmdisk;

	/* vol1 serves LUN 0 of acl and LUN 10 of multi; vmdisk only LUN 2 of acl. */
	put(CORE "iblock_1000/vol1/statistics/scsi_dev/ports", "2\n");
	put(CORE "fileio_0/vmdisk/statistics/scsi_dev/ports", "1\n");
	if (tm_cfs_open(tree_root, &cfs) < 0 || tm_cfs_open(tree_root, &full_cfs) < 0)
		bail("tm_cfs_open");
	CHECK_INT(tm_scan_scoped(cfs, NULL, iqns, ELEMENTSOF(iqns), &c), 0, "scoped scan succeeds");
	CHECK_INT(tm_scan(full_cfs, NULL, &full), 0, "full scan succeeds");
	if (!c || !full)
		return;
	CHECK(c->n_targets == 1 && streq(c->targets[0].iqn, iqns[0]),
	      "scoped: the named target once, the absent one left out");
	CHECK(c->n_targets == 1 && c->targets[0].n_luns == 2 && c->targets[0].n_acls == 2,
	      "scoped: the target read whole (2 LUNs, 2 ACLs)");
	CHECK_INT(c->n_backstores, 2, "scoped: only the two backstores its LUNs link");
	vol1 = tm_config_find_backstore(c, "iblock_1000", "vol1");
	vmdisk = tm_config_find_backstore(c, "fileio_0", "vmdisk");
	CHECK(vol1 && vol1->shared,
	      "scoped: vol1, which another target's LUN links too, is shared");
	CHECK(vmdisk && !vmdisk->shared && streq_ptr(vmdisk->path, "/srv/images/vmdisk.img"),
	      "scoped: vmdisk is the target's alone, read whole");
	CHECK(c->discovery.n == 0 && c->has_iscsi_fabric && c->n_hbas == full->n_hbas,
	      "scoped: no discovery settings; the fabric and the HBA list");
	CHECK(c->storage_objects && full->storage_objects && streq_ptr(c->dbroot, full->dbroot),
	      "scoped: the dbroot, and that storage objects exist, as a full scan sees them");
	/* Of 4 targets and 6 backstores, 1 and 2 (bench/scoped measures it at scale). */
	CHECK(tm_cfs_get_stats(cfs)->reads < tm_cfs_get_stats(full_cfs)->reads,
	      "scoped: fewer reads than a full scan");
	tm_config_free(TAKE_PTR(c));

	/* Without the kernel's count (a stand-in tree), a backstore is the scope's own. */
	put(CORE "iblock_1000/vol1/statistics/scsi_dev/ports", "");
	CHECK_INT(tm_scan_scoped(cfs, NULL, iqns, 1, &c), 0, "scoped scan without a count");
	vol1 = c ? tm_config_find_backstore(c, "iblock_1000", "vol1") : NULL;
	CHECK(vol1 && !vol1->shared, "scoped: no count, not shared");
}

static int rm_rf(const char *path)
{
	_cleanup_free_ char *cmd = tm_strdupf("rm -rf -- '%s'", path);
	return cmd ? system(cmd) : -1;
}

int main(int argc, char **argv)
{
	const char *golden_dir = argc > 1 ? argv[1] : "tests/unit/golden";

	snprintf(tree_root, sizeof(tree_root), "/tmp/test-scan.XXXXXX");
	if (!mkdtemp(tree_root))
		bail("mkdtemp");

	test_empty();
	build_iscsi();
	test_plain(golden_dir);
	test_want(golden_dir);
	test_scoped();

	rm_rf(tree_root);
	return tap_done();
}
