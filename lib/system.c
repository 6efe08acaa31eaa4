/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "system.h"

#include <errno.h>
#include <libkmod.h>
#include <libmount.h>
#include <sys/stat.h>

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
