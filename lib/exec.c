/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "exec.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "util.h"

#define RD_PAGE_SIZE 4096ULL
#define ISCSI_FABRIC "target/iscsi"

static char *tpg_path(const struct tm_target *t)
{
	return tm_strdupf("target/iscsi/%s/tpgt_%u", t->iqn, t->tpgt);
}

char *tm_op_object_path(const struct tm_op *op)
{
	_cleanup_free_ char *tpg = op->target ? tpg_path(op->target) : NULL;

	switch (op->kind) {
	case TM_OBJ_BACKSTORE:
		return tm_strdupf("target/core/%s/%s", op->backstore->hba, op->backstore->name);
	case TM_OBJ_TARGET:
		return tpg ? strdup(tpg) : NULL;
	case TM_OBJ_PORTAL:
		return tpg ? tm_strdupf("%s/np/%s", tpg, op->portal->address) : NULL;
	case TM_OBJ_LUN:
		return tpg ? tm_strdupf("%s/lun/lun_%u", tpg, op->lun->number) : NULL;
	case TM_OBJ_ACL:
		return tpg ? tm_strdupf("%s/acls/%s", tpg, op->acl->initiator) : NULL;
	case TM_OBJ_MAPPED_LUN:
		return tpg ? tm_strdupf("%s/acls/%s/lun_%u", tpg, op->acl->initiator,
					op->mapped_lun->number)
			   : NULL;
	case TM_OBJ_DISCOVERY:
		return strdup("target/iscsi/discovery_auth");
	}
	return NULL;
}

/* fileio needs the size of a regular file up front; a missing file with a declared size is
   created sparse, as tgt users expect from `dd seek=`-style images. */
static int fileio_size(const struct tm_backstore *b, unsigned long long *ret)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;

	fd = open(b->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ELOOP)
		fd = open(b->path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && b->size > 0)
		fd = open(b->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		*ret = 0; /* the kernel sizes block devices itself */
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size == 0 && b->size > 0 && ftruncate(fd, (off_t)b->size) < 0)
		return -errno;
	*ret = st.st_size ? (unsigned long long)st.st_size : b->size;
	return 0;
}

static char *backstore_control(const struct tm_backstore *b, int *err)
{
	unsigned long long size;

	*err = -ENOMEM;
	switch (b->type) {
	case TM_BACKSTORE_IBLOCK:
		return tm_strdupf("udev_path=%s%s", b->path, b->readonly ? ",readonly=1" : "");
	case TM_BACKSTORE_FILEIO:
		*err = fileio_size(b, &size);
		if (*err < 0)
			return NULL;
		*err = -ENOMEM;
		if (size == 0)
			return tm_strdupf("fd_dev_name=%s", b->path);
		return tm_strdupf("fd_dev_name=%s,fd_dev_size=%llu", b->path, size);
	case TM_BACKSTORE_RAMDISK:
		return tm_strdupf("rd_pages=%llu%s",
				  (unsigned long long)((b->size + RD_PAGE_SIZE - 1) / RD_PAGE_SIZE),
				  b->nullio ? ",rd_nullio=1" : "");
	default:
		*err = -EINVAL;
		return NULL;
	}
}

/* Runs one configfs call and remembers its path if it fails. */
#define TRY(failure, where, call)                                                                  \
	do {                                                                                       \
		int _r = (call);                                                                   \
		if (_r < 0) {                                                                      \
			(failure)->path = strdup(where);                                           \
			return _r;                                                                 \
		}                                                                                  \
	} while (0)

/* LUN and mapped-LUN directories may exist without their link after an interrupted apply;
   the planner then asks for them again and only the link is missing. */
static int mkdir_existing_ok(struct tm_cfs *cfs, const char *dir)
{
	int r = tm_cfs_mkdir(cfs, dir);
	return r == -EEXIST ? 0 : r;
}

static int create_backstore(struct tm_cfs *cfs, const struct tm_backstore *b, const char *dir,
			    struct tm_exec_failure *f)
{
	_cleanup_free_ char *hba = tm_strdupf("target/core/%s", b->hba);
	_cleanup_free_ char *control = NULL, *control_path = NULL, *udev_path = NULL;
	int r;

	if (!hba)
		return -ENOMEM;
	TRY(f, hba, mkdir_existing_ok(cfs, hba));
	TRY(f, dir, tm_cfs_mkdir(cfs, dir));
	control = backstore_control(b, &r);
	if (!control) {
		f->path = strdup(b->path ? b->path : dir);
		return r;
	}
	control_path = tm_strdupf("%s/control", dir);
	udev_path = tm_strdupf("%s/udev_path", dir);
	if (!control_path || !udev_path)
		return -ENOMEM;
	TRY(f, control_path, tm_cfs_write(cfs, control_path, control));
	/* udev_path is informational for iblock (control carries it) and fileio, but it is
	   where targetcli and `targetmgr show` read the backing path back from. */
	if (b->path)
		TRY(f, udev_path, tm_cfs_write(cfs, udev_path, b->path));
	return 0;
}

static int create_lun(struct tm_cfs *cfs, const struct tm_op *op, const char *dir,
		      struct tm_exec_failure *f)
{
	_cleanup_free_ char *target =
	    tm_strdupf("target/core/%s/%s", op->lun->backstore_hba, op->lun->backstore_name);
	_cleanup_free_ char *link = tm_strdupf("%s/%s", dir, op->lun->backstore_name);

	if (!target || !link)
		return -ENOMEM;
	TRY(f, dir, mkdir_existing_ok(cfs, dir));
	TRY(f, link, tm_cfs_symlink(cfs, target, link));
	return 0;
}

static int create_mapped_lun(struct tm_cfs *cfs, const struct tm_op *op, const char *dir,
			     struct tm_exec_failure *f)
{
	_cleanup_free_ char *tpg = tpg_path(op->target);
	_cleanup_free_ char *target = NULL, *link = NULL;

	if (!tpg)
		return -ENOMEM;
	target = tm_strdupf("%s/lun/lun_%u", tpg, op->mapped_lun->lun);
	link = tm_strdupf("%s/lun_%u", dir, op->mapped_lun->lun);
	if (!target || !link)
		return -ENOMEM;
	TRY(f, dir, mkdir_existing_ok(cfs, dir));
	TRY(f, link, tm_cfs_symlink(cfs, target, link));
	return 0;
}

static int create_target(struct tm_cfs *cfs, const struct tm_target *t, const char *dir,
			 struct tm_exec_failure *f)
{
	_cleanup_free_ char *wwn = tm_strdupf("target/iscsi/%s", t->iqn);

	if (!wwn)
		return -ENOMEM;
	/* LIO instantiates the iSCSI fabric when target/iscsi is created, as rtslib does. */
	TRY(f, ISCSI_FABRIC, mkdir_existing_ok(cfs, ISCSI_FABRIC));
	TRY(f, wwn, mkdir_existing_ok(cfs, wwn));
	TRY(f, dir, tm_cfs_mkdir(cfs, dir));
	return 0;
}

static int exec_op(struct tm_cfs *cfs, const struct tm_op *op, struct tm_exec_failure *f)
{
	_cleanup_free_ char *dir = tm_op_object_path(op);
	_cleanup_free_ char *attr = NULL;

	if (!dir)
		return -ENOMEM;
	if (op->type == TM_OP_SET && op->kind == TM_OBJ_DISCOVERY)
		TRY(f, ISCSI_FABRIC, mkdir_existing_ok(cfs, ISCSI_FABRIC));
	if (op->type == TM_OP_SET) {
		attr = tm_strdupf("%s/%s", dir, op->setting->path);
		if (!attr)
			return -ENOMEM;
		TRY(f, attr, tm_cfs_write(cfs, attr, op->setting->value));
		return 0;
	}
	if (op->type != TM_OP_CREATE)
		return -EOPNOTSUPP;
	switch (op->kind) {
	case TM_OBJ_BACKSTORE:
		return create_backstore(cfs, op->backstore, dir, f);
	case TM_OBJ_TARGET:
		return create_target(cfs, op->target, dir, f);
	case TM_OBJ_LUN:
		return create_lun(cfs, op, dir, f);
	case TM_OBJ_MAPPED_LUN:
		return create_mapped_lun(cfs, op, dir, f);
	case TM_OBJ_PORTAL:
	case TM_OBJ_ACL:
		TRY(f, dir, tm_cfs_mkdir(cfs, dir));
		return 0;
	case TM_OBJ_DISCOVERY:
		break;
	}
	return -EOPNOTSUPP;
}

int tm_exec(struct tm_cfs *cfs, const struct tm_plan *plan, struct tm_exec_failure *failure)
{
	*failure = (struct tm_exec_failure){0};
	for (size_t i = 0; i < plan->n_ops; i++) {
		int r = exec_op(cfs, &plan->ops[i], failure);
		if (r < 0) {
			failure->op = &plan->ops[i];
			failure->err = r;
			return r;
		}
	}
	return (int)plan->n_ops;
}

void tm_exec_failure_clear(struct tm_exec_failure *f)
{
	free(f->path);
	*f = (struct tm_exec_failure){0};
}
