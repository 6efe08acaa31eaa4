/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LIO settings policy.  See policy.h. */
#include "policy.h"

#include <errno.h>

#include "layout.h"
#include "syntax.h"
#include "util.h"

static const char *const tpg_paths[_TM_POLICY_TPG_ATTR_MAX] = {
    [TM_POLICY_GENERATE_NODE_ACLS] = "attrib/generate_node_acls",
    [TM_POLICY_CACHE_DYNAMIC_ACLS] = "attrib/cache_dynamic_acls",
    [TM_POLICY_DEMO_MODE_WRITE_PROTECT] = "attrib/demo_mode_write_protect",
    [TM_POLICY_AUTHENTICATION] = "attrib/authentication",
};

const char *tm_policy_tpg_path(enum tm_policy_tpg_attr a)
{
	return a < _TM_POLICY_TPG_ATTR_MAX ? tpg_paths[a] : NULL;
}

int tm_policy_tpg_attr_from_path(const char *path)
{
	for (int a = 0; a < _TM_POLICY_TPG_ATTR_MAX; a++)
		if (streq(path, tpg_paths[a]))
			return a;
	return -1;
}

const char *tm_policy_tpg_value(enum tm_policy_tpg_attr a, bool open, bool chap)
{
	switch (a) {
	case TM_POLICY_GENERATE_NODE_ACLS:
		/* No initiator named: every initiator may log in (tgt's ALL). */
		return open ? "1" : "0";
	case TM_POLICY_CACHE_DYNAMIC_ACLS:
		/* Demo mode only: keep the generated ACLs of initiators that log out. */
		return open ? "1" : NULL;
	case TM_POLICY_DEMO_MODE_WRITE_PROTECT:
		/* Demo mode only: LIO's default makes open targets read-only. */
		return open ? "0" : NULL;
	case TM_POLICY_AUTHENTICATION:
		/* LIO asks every initiator of a TPG for CHAP, or none. */
		return chap ? "1" : "0";
	default:
		return NULL;
	}
}

int tm_policy_tpg_settings(struct tm_settings *s, bool open, bool chap, struct tm_origin o,
			   struct tm_origin auth_origin)
{
	for (int a = 0; a < _TM_POLICY_TPG_ATTR_MAX; a++) {
		const char *v = tm_policy_tpg_value(a, open, chap);
		int r;

		if (!v)
			continue;
		r = tm_settings_set(s, tpg_paths[a], v, false,
				    a == TM_POLICY_AUTHENTICATION ? auth_origin : o);
		if (r < 0)
			return r;
	}
	return 0;
}

const char *tm_policy_write_protect(bool readonly)
{
	return readonly ? "1" : "0";
}

int tm_policy_enable(struct tm_settings *s, struct tm_origin o)
{
	return tm_settings_set(s, "enable", "1", false, o);
}

char *tm_policy_chap_path(const char *prefix, bool mutual, bool secret)
{
	return tm_strdupf("%s%s%s", prefix, secret ? "password" : "userid",
			  mutual ? "_mutual" : "");
}

bool tm_policy_credential_set(const char *value)
{
	return value && *value && !streq(value, "NULL");
}

/* iscsi_target_configfs.c: enforce_discovery_auth takes 0 or 1; a credential written as
   "NULL" clears its NAF_*_SET flag, so that LIO asks for CHAP no more.  Each secret follows
   its user. */
static const struct tm_setting discovery_off[] = {
    {.path = (char *)TM_POLICY_DISCOVERY_ENFORCE, .value = (char *)"0"},
    {.path = (char *)"userid", .value = (char *)"NULL"},
    {.path = (char *)"password", .value = (char *)"NULL", .secret = true},
    {.path = (char *)"userid_mutual", .value = (char *)"NULL"},
    {.path = (char *)"password_mutual", .value = (char *)"NULL", .secret = true},
};

const struct tm_setting *tm_policy_discovery_setting(size_t i)
{
	return i < ELEMENTSOF(discovery_off) ? &discovery_off[i] : NULL;
}

bool tm_policy_discovery_differs(const struct tm_settings *have, const struct tm_setting *d)
{
	const struct tm_setting *h;

	if (d == &discovery_off[0]) {
		h = tm_settings_find(have, d->path);
		return h && !streq(h->value, d->value);
	}
	h = tm_settings_find(have, d->secret ? d[-1].path : d->path);
	return h && tm_policy_credential_set(h->value);
}

/*
 * What the kernel gives an object it has just created (iscsi_target_core.h TA_* defaults,
 * target_fabric_mappedlun_link()).  A wrong entry would show up as a write on the next apply,
 * which the real-kernel tests check never happens.
 */
const char *tm_policy_kernel_default(enum tm_obj_kind kind, const char *path)
{
	static const struct {
		enum tm_obj_kind kind;
		const char *path, *value;
	} defaults[] = {
	    {TM_OBJ_TARGET, "attrib/authentication", "1"},
	    {TM_OBJ_TARGET, "attrib/generate_node_acls", "0"},
	    {TM_OBJ_TARGET, "attrib/cache_dynamic_acls", "0"},
	    {TM_OBJ_TARGET, "attrib/demo_mode_write_protect", "1"},
	    {TM_OBJ_TARGET, "attrib/prod_mode_write_protect", "0"},
	    {TM_OBJ_MAPPED_LUN, "write_protect", "0"},
	    /* core_alua_allocate_tg_pt_gp(), and the group every new LUN is in */
	    {TM_OBJ_ALUA_GROUP, TM_LAYOUT_ALUA_STATE, "0"},
	    {TM_OBJ_ALUA_GROUP, TM_LAYOUT_ALUA_TYPE, "3"},
	    {TM_OBJ_ALUA_GROUP, TM_LAYOUT_ALUA_PREFERRED, "0"},
	    {TM_OBJ_LUN, TM_LAYOUT_LUN_ALUA_GROUP, TM_LAYOUT_ALUA_DEFAULT_GROUP},
	};

	for (size_t i = 0; i < ELEMENTSOF(defaults); i++)
		if (defaults[i].kind == kind && streq(defaults[i].path, path))
			return defaults[i].value;
	return NULL;
}

/* What a new storage object holds (target_core_device.c target_alloc_device(), the plugins'
   inquiry_prod), for the settings tm_policy_backstore_settings() and thin provisioning add. */
const char *tm_policy_backstore_default(enum tm_backstore_type type, const char *path)
{
	static const char *const products[_TM_BACKSTORE_TYPE_MAX] = {
	    [TM_BACKSTORE_IBLOCK] = "IBLOCK",
	    [TM_BACKSTORE_FILEIO] = "FILEIO",
	    [TM_BACKSTORE_RAMDISK] = "RAMDISK-MCP",
	};

	if (streq(path, "wwn/product_id"))
		return type < _TM_BACKSTORE_TYPE_MAX ? products[type] : NULL;
	if (streq(path, "wwn/vendor_id"))
		return "LIO-ORG";
	if (streq(path, "attrib/emulate_pr"))
		return "1";
	if (streq(path, "attrib/emulate_tpu") || streq(path, "attrib/emulate_tpws"))
		return "0";
	return NULL;
}

static int set_unless_given(struct tm_settings *s, const char *path, const char *value,
			    struct tm_origin o)
{
	if (!value || tm_settings_find(s, path))
		return 0;
	return tm_settings_set(s, path, value, false, o);
}

int tm_policy_backstore_settings(struct tm_settings *s, enum tm_backstore_type type,
				 struct tm_origin o)
{
	static const char *const paths[] = {"attrib/emulate_pr", "wwn/vendor_id", "wwn/product_id"};
	int r = 0;

	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(paths); i++)
		r = set_unless_given(s, paths[i], tm_policy_backstore_default(type, paths[i]), o);
	return r;
}

int tm_policy_thin_settings(struct tm_settings *s, enum tm_backstore_type type, bool can_discard,
			    struct tm_origin o)
{
	int r;

	if (type != TM_BACKSTORE_FILEIO && type != TM_BACKSTORE_IBLOCK)
		return 0;
	r = set_unless_given(s, "attrib/emulate_tpu", can_discard ? "1" : "0", o);
	if (r >= 0)
		r = set_unless_given(s, "attrib/emulate_tpws", can_discard ? "1" : "0", o);
	return r;
}

enum tm_policy_stage tm_policy_backstore_stage(const char *path)
{
	/* Linux 6.1 oopses when emulate_tpu or emulate_tpws is written to a fileio object
	   before it is enabled (fd_configure_unmap() reads the file it has not opened yet);
	   and enabling a buffered fileio object forces emulate_write_cache to 1, so a 0
	   written before would not last. */
	if (streq(path, "attrib/emulate_tpu") || streq(path, "attrib/emulate_tpws") ||
	    streq(path, "attrib/emulate_write_cache"))
		return TM_POLICY_AFTER_ENABLE;
	return streq(path, "enable") ? TM_POLICY_ENABLE : TM_POLICY_BEFORE_ENABLE;
}

bool tm_policy_fixed_while_exported(const char *path)
{
	/* target_core_configfs.c: "... cannot be changed with active exports" / "Unable to set
	   INQUIRY vendor ID while active exports exist". */
	return streq(path, "attrib/emulate_pr") || streq(path, "wwn/vendor_id") ||
	       streq(path, "wwn/product_id");
}

const char *tm_policy_dbroot(const char *running, bool objects_exist)
{
	/* Another tool (targetcli sets /etc/target), or the kernel itself at load when
	   /etc/target existed, chose it: its reservation files are there.  With objects, the
	   kernel would refuse a change anyway. */
	if (!running || objects_exist || !streq(running, TM_POLICY_DBROOT_KERNEL))
		return running;
	/* /etc/target: the kernel picks it itself at module load once it exists, so the
	   dbroot stays the same whoever loads the module first at the next boot (targetcli,
	   a restore unit); and it is where targetcli-fb keeps it, so both find the same
	   reservations. */
	return TM_POLICY_DBROOT;
}

bool tm_policy_alua_implicit(const char *type)
{
	unsigned v;
	/* TPGS_IMPLICIT_ALUA */
	return type && tm_syntax_parse_unsigned(type, 3, &v) >= 0 && (v & 1);
}

int tm_policy_alua_settings(struct tm_settings *s, struct tm_origin o)
{
	static const char *const order[] = {TM_LAYOUT_ALUA_TYPE, TM_LAYOUT_ALUA_STATE,
					    TM_LAYOUT_ALUA_PREFERRED};
	struct tm_settings ordered = {0};
	const struct tm_setting *type;
	int r = 0;

	if (!tm_settings_find(s, TM_LAYOUT_ALUA_TYPE))
		r = tm_settings_set(s, TM_LAYOUT_ALUA_TYPE, "1", false, o);
	type = tm_settings_find(s, TM_LAYOUT_ALUA_TYPE);
	if (r >= 0 && tm_policy_alua_implicit(type->value) &&
	    !tm_settings_find(s, TM_LAYOUT_ALUA_STATE))
		r = tm_settings_set(s, TM_LAYOUT_ALUA_STATE, "0", false, o);
	if (r >= 0 && !tm_settings_find(s, TM_LAYOUT_ALUA_PREFERRED))
		r = tm_settings_set(s, TM_LAYOUT_ALUA_PREFERRED, "0", false, o);
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(order); i++) {
		const struct tm_setting *e = tm_settings_find(s, order[i]);
		if (e)
			r = tm_settings_set(&ordered, e->path, e->value, false, e->origin);
	}
	if (r < 0) {
		tm_settings_clear(&ordered);
		return r;
	}
	tm_settings_clear(s);
	*s = ordered;
	return 0;
}
