/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "exec.h"

#include <fcntl.h>
#include <pthread.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "layout.h"
#include "parallel.h"
#include "policy.h"
#include "system.h"
#include "util.h"

#define RD_PAGE_SIZE 4096ULL

char *tm_op_object_path(const struct tm_op *op)
{
	const struct tm_target *t = op->target;

	switch (op->kind) {
	case TM_OBJ_BACKSTORE:
		return tm_layout_backstore(op->backstore->hba, op->backstore->name);
	case TM_OBJ_TARGET:
		return t ? tm_layout_tpg(t->iqn, t->tpgt) : NULL;
	case TM_OBJ_PORTAL:
		return t ? tm_layout_portal(t->iqn, t->tpgt, op->portal->address) : NULL;
	case TM_OBJ_LUN:
		return t ? tm_layout_lun(t->iqn, t->tpgt, op->lun->number) : NULL;
	case TM_OBJ_ACL:
		return t ? tm_layout_acl(t->iqn, t->tpgt, op->acl->initiator) : NULL;
	case TM_OBJ_MAPPED_LUN:
		return t ? tm_layout_mapped_lun(t->iqn, t->tpgt, op->acl->initiator,
						op->mapped_lun->number)
			 : NULL;
	case TM_OBJ_DISCOVERY:
		return strdup(TM_LAYOUT_DISCOVERY_AUTH);
	case TM_OBJ_FABRIC:
		return strdup(TM_LAYOUT_ISCSI);
	case TM_OBJ_HBA:
		return tm_layout_hba(op->hba);
	case TM_OBJ_DBROOT:
		/* Made on the host; its attribute is target/dbroot. */
		return strdup(op->type == TM_OP_SET ? TM_LAYOUT_TARGET : op->dir);
	case TM_OBJ_APTPL:
		return tm_layout_backstore(op->backstore->hba, op->backstore->name);
	case TM_OBJ_ALUA_GROUP:
		return tm_layout_alua_group(op->backstore->hba, op->backstore->name,
					    op->alua_group->name);
	}
	return NULL;
}

/* A failed call's errno as a return value.  Never 0: the callers read 0 as success, with
   their results set. */
static int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
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
	if (fd < 0 || fstat(fd, &st) < 0)
		return negative_errno();
	if (S_ISBLK(st.st_mode)) {
		*ret = 0; /* the kernel sizes block devices itself */
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size == 0 && b->size > 0 && ftruncate(fd, (off_t)b->size) < 0)
		return negative_errno();
	*ret = st.st_size ? (unsigned long long)st.st_size : b->size;
	return 0;
}

/* The backstore's control string; the fileio one needs its backing file opened (or created). */
static int backstore_control(const struct tm_backstore *b, char **ret)
{
	const char *buffered;
	unsigned long long size;
	int r;

	switch (b->type) {
	case TM_BACKSTORE_IBLOCK:
		*ret = tm_strdupf("udev_path=%s%s", b->path, b->readonly ? ",readonly=1" : "");
		break;
	case TM_BACKSTORE_FILEIO:
		r = fileio_size(b, &size);
		if (r < 0)
			return r;
		/* Buffered, with the write cache reported (WCE=1): initiators then send
		   SYNCHRONIZE CACHE and FUA, which LIO turns into fsync; O_DSYNC otherwise. */
		buffered = b->write_through ? "" : ",fd_buffered_io=1";
		*ret = size == 0 ? tm_strdupf("fd_dev_name=%s%s", b->path, buffered)
				 : tm_strdupf("fd_dev_name=%s,fd_dev_size=%llu%s", b->path, size,
					      buffered);
		break;
	case TM_BACKSTORE_RAMDISK:
		*ret = tm_strdupf("rd_pages=%llu%s",
				  (unsigned long long)((b->size + RD_PAGE_SIZE - 1) / RD_PAGE_SIZE),
				  b->nullio ? ",rd_nullio=1" : "");
		break;
	default:
		return -EINVAL;
	}
	return *ret ? 0 : -ENOMEM;
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
	_cleanup_free_ char *control = NULL, *control_path = NULL, *udev_path = NULL;
	int r;

	TRY(f, dir, tm_cfs_mkdir(cfs, dir));
	r = backstore_control(b, &control);
	if (r < 0) {
		f->path = strdup(b->path ? b->path : dir);
		return r;
	}
	control_path = tm_layout_join(dir, "control");
	udev_path = tm_layout_join(dir, "udev_path");
	if (!control_path || !udev_path)
		return -ENOMEM;
	TRY(f, control_path, tm_cfs_write(cfs, control_path, control));
	/* udev_path is informational for iblock (control carries it) and fileio, but it is
	   where targetcli and `targetmgr show` read the backing path back from. */
	if (b->path)
		TRY(f, udev_path, tm_cfs_write(cfs, udev_path, b->path));
	return 0;
}

/* mkdir that takes an existing directory (a symlink to one included) as done. */
static int mkdir_host(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) >= 0)
		return 0;
	if (errno != EEXIST)
		return negative_errno();
	if (stat(path, &st) < 0)
		return negative_errno();
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* The dbroot directory and the folders LIO writes into: <dir>/pr and <dir>/alua. */
static int create_dbroot(const char *dir, struct tm_exec_failure *f)
{
	static const char *const subdirs[] = {"", "/" TM_POLICY_DBROOT_PR,
					      "/" TM_POLICY_DBROOT_ALUA};

	for (size_t i = 0; i < ELEMENTSOF(subdirs); i++) {
		_cleanup_free_ char *path = tm_strdupf("%s%s", dir, subdirs[i]);

		if (!path)
			return -ENOMEM;
		TRY(f, path, mkdir_host(path));
	}
	return 0;
}

/*
 * LIO saves a device's registrations in <dbroot>/pr/aptpl_<unit serial> (kernel 6.1,
 * core_scsi3_update_aptpl_buf(): "PR_REG_START: N", "key=value" lines, "PR_REG_END: N" per
 * registration) but never reads them back: each registration is written, its lines joined
 * with ',', to pr/res_aptpl_metadata before a LUN exports the device, as rtslib does.
 */
static int restore_aptpl(struct tm_cfs *cfs, const struct tm_backstore *b, const char *dir,
			 struct tm_exec_failure *f)
{
	_cleanup_free_ char *dbroot = NULL, *file = NULL, *text = NULL, *attr = NULL;
	_cleanup_free_ char *record = NULL; /* the registration being read */
	_cleanup_close_ int fd = -EBADF;
	char *state = NULL;
	size_t len;
	int r;

	r = tm_cfs_read(cfs, TM_LAYOUT_DBROOT, &dbroot);
	if (r == -ENOENT)
		return 0; /* a kernel without dbroot keeps no reservations */
	TRY(f, TM_LAYOUT_DBROOT, r);
	file = tm_strdupf("%s/" TM_POLICY_DBROOT_PR "/aptpl_%s", dbroot, b->serial);
	attr = tm_layout_join(dir, TM_LAYOUT_APTPL_METADATA);
	if (!file || !attr)
		return -ENOMEM;
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return 0;
	r = fd < 0 ? negative_errno() : tm_read_all(fd, &text, &len);
	TRY(f, file, r);
	for (char *line = strtok_r(text, "\n", &state); line; line = strtok_r(NULL, "\n", &state)) {
		if (startswith(line, "PR_REG_START:")) {
			free(record);
			record = strdup("");
			if (!record)
				return -ENOMEM;
		} else if (startswith(line, "PR_REG_END:") && record) {
			r = tm_cfs_write(cfs, attr, record);
			free(record);
			record = NULL;
			TRY(f, attr, r);
		} else if (record && strchr(line, '=')) {
			char *longer = tm_strdupf("%s%s%s", record, *record ? "," : "", line);

			free(record);
			record = longer;
			if (!record)
				return -ENOMEM;
		}
	}
	return 0;
}

static int create_lun(struct tm_cfs *cfs, const struct tm_op *op, const char *dir,
		      struct tm_exec_failure *f)
{
	_cleanup_free_ char *target =
	    tm_layout_backstore(op->lun->backstore_hba, op->lun->backstore_name);
	_cleanup_free_ char *link = tm_layout_join(dir, op->lun->backstore_name);

	if (!target || !link)
		return -ENOMEM;
	TRY(f, dir, mkdir_existing_ok(cfs, dir));
	TRY(f, link, tm_cfs_symlink(cfs, target, link));
	return 0;
}

static int create_mapped_lun(struct tm_cfs *cfs, const struct tm_op *op, const char *dir,
			     struct tm_exec_failure *f)
{
	_cleanup_free_ char *target =
	    tm_layout_lun(op->target->iqn, op->target->tpgt, op->mapped_lun->lun);
	_cleanup_free_ char *name = tm_layout_lun_name(op->mapped_lun->lun);
	_cleanup_free_ char *link = name ? tm_layout_join(dir, name) : NULL;

	if (!target || !link)
		return -ENOMEM;
	TRY(f, dir, mkdir_existing_ok(cfs, dir));
	TRY(f, link, tm_cfs_symlink(cfs, target, link));
	return 0;
}

/* LIO uses a group only once its id is set, which it takes once. */
static int create_alua_group(struct tm_cfs *cfs, const struct tm_alua_group *g, const char *dir,
			     struct tm_exec_failure *f)
{
	_cleanup_free_ char *id_path = tm_layout_join(dir, TM_LAYOUT_ALUA_GROUP_ID);
	char id[16];

	if (!id_path)
		return -ENOMEM;
	snprintf(id, sizeof(id), "%u", g->id);
	TRY(f, dir, tm_cfs_mkdir(cfs, dir));
	TRY(f, id_path, tm_cfs_write(cfs, id_path, id));
	return 0;
}

static int create_target(struct tm_cfs *cfs, const struct tm_target *t, const char *dir,
			 struct tm_exec_failure *f)
{
	_cleanup_free_ char *wwn = tm_layout_wwn(t->iqn);

	if (!wwn)
		return -ENOMEM;
	TRY(f, wwn, mkdir_existing_ok(cfs, wwn));
	TRY(f, dir, tm_cfs_mkdir(cfs, dir));
	return 0;
}

static int delete_linked_dir(struct tm_cfs *cfs, const char *dir, const char *link,
			     struct tm_exec_failure *f)
{
	_cleanup_free_ char *path = link ? tm_layout_join(dir, link) : NULL;

	if (link && !path)
		return -ENOMEM;
	if (path)
		TRY(f, path, tm_cfs_unlink(cfs, path));
	TRY(f, dir, tm_cfs_rmdir(cfs, dir));
	return 0;
}

static int delete_target(struct tm_cfs *cfs, const struct tm_target *t, const char *dir,
			 struct tm_exec_failure *f)
{
	_cleanup_free_ char *wwn = tm_layout_wwn(t->iqn);

	if (!wwn)
		return -ENOMEM;
	if (t->has_tpg)
		TRY(f, dir, tm_cfs_rmdir(cfs, dir));
	TRY(f, wwn, tm_cfs_rmdir(cfs, wwn));
	return 0;
}

static int exec_delete(struct tm_cfs *cfs, const struct tm_op *op, const char *dir,
		       struct tm_exec_failure *f)
{
	switch (op->kind) {
	case TM_OBJ_MAPPED_LUN:
		return delete_linked_dir(cfs, dir, op->mapped_lun->link, f);
	case TM_OBJ_LUN:
		return delete_linked_dir(cfs, dir, op->lun->link, f);
	case TM_OBJ_TARGET:
		return delete_target(cfs, op->target, dir, f);
	case TM_OBJ_BACKSTORE:
	case TM_OBJ_ACL:
	case TM_OBJ_PORTAL:
	case TM_OBJ_HBA:
	case TM_OBJ_ALUA_GROUP:
		TRY(f, dir, tm_cfs_rmdir(cfs, dir));
		return 0;
	case TM_OBJ_DISCOVERY:
	case TM_OBJ_FABRIC:
	case TM_OBJ_DBROOT:
	case TM_OBJ_APTPL:
		break;
	}
	return -EOPNOTSUPP;
}

static int exec_op(struct tm_cfs *cfs, const struct tm_op *op, struct tm_exec_failure *f)
{
	_cleanup_free_ char *dir = tm_op_object_path(op);
	_cleanup_free_ char *attr = NULL;

	if (!dir)
		return -ENOMEM;
	if (op->type == TM_OP_DELETE)
		return exec_delete(cfs, op, dir, f);
	if (op->type == TM_OP_SET) {
		attr = tm_layout_join(dir, op->setting->path);
		if (!attr)
			return -ENOMEM;
		TRY(f, attr, tm_cfs_write(cfs, attr, op->setting->value));
		return 0;
	}
	switch (op->kind) {
	case TM_OBJ_BACKSTORE:
		return create_backstore(cfs, op->backstore, dir, f);
	case TM_OBJ_TARGET:
		return create_target(cfs, op->target, dir, f);
	case TM_OBJ_LUN:
		return create_lun(cfs, op, dir, f);
	case TM_OBJ_MAPPED_LUN:
		return create_mapped_lun(cfs, op, dir, f);
	case TM_OBJ_DBROOT:
		return create_dbroot(dir, f);
	case TM_OBJ_APTPL:
		return restore_aptpl(cfs, op->backstore, dir, f);
	case TM_OBJ_ALUA_GROUP:
		return create_alua_group(cfs, op->alua_group, dir, f);
	case TM_OBJ_PORTAL:
	case TM_OBJ_ACL:
	case TM_OBJ_FABRIC:
	case TM_OBJ_HBA:
		TRY(f, dir, tm_cfs_mkdir(cfs, dir));
		return 0;
	case TM_OBJ_DISCOVERY:
		break;
	}
	return -EOPNOTSUPP;
}

/* A task: the consecutive operations of one object tree in one phase, run in order. */
struct task {
	size_t first, n;
};

struct executor {
	struct tm_cfs *cfs;
	struct tm_plan *plan;
	const struct task *tasks;
	pthread_mutex_t lock; /* guards failure */
	struct tm_exec_failure *failure;
	bool failed; /* read without the lock: after a failure, no new operation starts */
};

static int run_task(void *userdata, size_t t)
{
	struct executor *x = userdata;

	for (size_t i = x->tasks[t].first; i < x->tasks[t].first + x->tasks[t].n; i++) {
		struct tm_exec_failure local = {0};
		struct tm_op *op = &x->plan->ops[i];
		int r;

		if (__atomic_load_n(&x->failed, __ATOMIC_RELAXED))
			return -ECANCELED;
		r = exec_op(x->cfs, op, &local);
		if (r < 0) {
			/* The first failure is the one reported; a later one only adds noise. */
			pthread_mutex_lock(&x->lock);
			if (!x->failure->op) {
				*x->failure = local;
				x->failure->op = op;
				x->failure->err = r;
				local.path = NULL;
				__atomic_store_n(&x->failed, true, __ATOMIC_RELAXED);
			}
			pthread_mutex_unlock(&x->lock);
			free(local.path);
			return r;
		}
		op->done = true;
	}
	return 0;
}

int tm_exec(struct tm_cfs *cfs, struct tm_plan *plan, unsigned workers,
	    struct tm_exec_failure *failure)
{
	_cleanup_free_ struct task *tasks = NULL;
	struct executor x = {
	    .cfs = cfs,
	    .plan = plan,
	    .lock = PTHREAD_MUTEX_INITIALIZER,
	    .failure = failure,
	};
	size_t done = 0;
	int r = 0;

	*failure = (struct tm_exec_failure){0};
	for (size_t i = 0; i < plan->n_ops; i++)
		plan->ops[i].done = false;

	/* Phase by phase; a phase's trees are independent, so they run at once. */
	for (size_t i = 0; i < plan->n_ops && r >= 0;) {
		enum tm_phase phase = plan->ops[i].phase;
		size_t n_tasks = 0;

		while (i < plan->n_ops && plan->ops[i].phase == phase) {
			struct task *t;
			size_t j = i + 1;

			while (j < plan->n_ops && plan->ops[j].phase == phase &&
			       plan->ops[j].tree == plan->ops[i].tree)
				j++;
			t = TM_PUSH(tasks, n_tasks);
			if (!t)
				return -ENOMEM;
			*t = (struct task){i, j - i};
			i = j;
		}
		x.tasks = tasks;
		r = tm_parallel_for(n_tasks, workers, run_task, &x);
		free(tasks);
		tasks = NULL;
	}
	for (size_t i = 0; i < plan->n_ops; i++)
		done += plan->ops[i].done;
	return x.failed ? failure->err : r < 0 ? r : (int)done;
}

void tm_exec_failure_clear(struct tm_exec_failure *f)
{
	free(f->path);
	*f = (struct tm_exec_failure){0};
}

char *tm_exec_failure_explain(const struct tm_exec_failure *f)
{
	if (f->op && f->op->type == TM_OP_CREATE && f->op->kind == TM_OBJ_PORTAL &&
	    f->err == -EINVAL)
		return tm_portal_refusal(f->op->portal->address, NULL);
	return NULL;
}
