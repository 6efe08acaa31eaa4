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

bool tm_policy_is_secret(const char *path)
{
	return endswith(path, "password") || endswith(path, "password_mutual");
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

/* The settings every backstore gets from the policy (tm_policy_backstore_settings()). */
static const char *const backstore_policy_paths[] = {"attrib/emulate_pr", "wwn/vendor_id",
						     "wwn/product_id"};

static bool thin_applies(enum tm_backstore_type type)
{
	return type == TM_BACKSTORE_FILEIO || type == TM_BACKSTORE_IBLOCK;
}

/* Whether the policy writes path for every backstore of that type (so that removing it from
   a line is already a change back), or LIO derives it (wwn/). */
static bool is_backstore_policy_path(enum tm_backstore_type type, const char *path)
{
	for (size_t i = 0; i < ELEMENTSOF(backstore_policy_paths); i++)
		if (streq(path, backstore_policy_paths[i]))
			return true;
	if (thin_applies(type) &&
	    (streq(path, "attrib/emulate_tpu") || streq(path, "attrib/emulate_tpws")))
		return true;
	return !startswith(path, "attrib/");
}

/* ---- LIO's defaults ---- */

/* What LIO gives a new object, for the settings a target file may declare (and rtslib dumps):
   kernel target_core_base.h DA_*, iscsi_target_core.h TA_*, NA_*, iscsi_target_parameters.h;
   "a|b": either (kernels differ).  NULL: the kernel takes it from the device. */
struct lio_default {
	const char *name, *value;
};

static const struct lio_default backstore_defaults[] = {
    {"emulate_model_alias", "0"},
    {"emulate_dpo", "0|1"}, /* kernels differ; 1 is refused where unsupported */
    {"emulate_fua_write", "1"},
    {"emulate_fua_read", "0|1"},
    {"emulate_ua_intlck_ctrl", "0"},
    {"emulate_tas", "1"},
    {"emulate_caw", "1"},
    {"emulate_3pc", "1"},
    {"emulate_pr", "1"},
    {"emulate_rest_reord", "0"},
    {"enforce_pr_isids", "1"},
    {"force_pr_aptpl", "0"},
    {"pi_prot_type", "0"},
    {"pi_prot_verify", "0"},
    {"pi_prot_format", "0"},
    {"unmap_zeroes_data", "0"},
    {"submit_type", "0"},
    {"complete_type", "0"},
    {"emulate_rsoc", "1"},
    {"block_size", NULL}, /* for a file or memory: file_defaults */
    {"emulate_write_cache", NULL},
    {"emulate_tpu", NULL},
    {"emulate_tpws", NULL},
    {"is_nonrot", NULL},
    {"max_sectors", NULL},
    {"optimal_sectors", NULL},
    {"queue_depth", NULL},
    {"max_unmap_lba_count", NULL},
    {"max_unmap_block_desc_count", NULL},
    {"unmap_granularity", NULL},
    {"unmap_granularity_alignment", NULL},
    {"max_write_same_len", NULL},
    {"hw_block_size", NULL},
    {"hw_max_sectors", NULL},
    {"hw_queue_depth", NULL},
    {"hw_pi_prot_type", NULL},
    {"alua_support", NULL},
    {"pgr_support", NULL},
};

/* The same for fileio and RAM disk backstores, where nothing comes from a device. */
static const struct lio_default file_defaults[] = {
    {"block_size", "512"},
    {"emulate_tpu", "0"},
    {"emulate_tpws", "0"},
    {"is_nonrot", "0"},
};

static const struct lio_default tpg_attribute_defaults[] = {
    {"default_cmdsn_depth", "64"},
    {"default_erl", "0"},
    {"demo_mode_discovery", "1"},
    {"fabric_prot_type", "0"},
    {"login_keys_workaround", "1"},
    {"login_timeout", "15"},
    {"netif_timeout", "2"},
    {"prod_mode_write_protect", "0"},
    {"t10_pi", "0"},
    {"tpg_enabled_sendtargets", "1"},
};

static const struct lio_default tpg_parameter_defaults[] = {
    {"AuthMethod", "CHAP,None"},
    {"DataDigest", "CRC32C,None"},
    {"DataPDUInOrder", "Yes"},
    {"DataSequenceInOrder", "Yes"},
    {"DefaultTime2Retain", "20"},
    {"DefaultTime2Wait", "2"},
    {"ErrorRecoveryLevel", "0"},
    {"FirstBurstLength", "65536"},
    {"HeaderDigest", "CRC32C,None"},
    {"IFMarkInt", "Reject|2048~65535"},
    {"IFMarker", "No"},
    {"ImmediateData", "Yes"},
    {"InitialR2T", "Yes"},
    {"MaxBurstLength", "262144"},
    {"MaxConnections", "1"},
    {"MaxOutstandingR2T", "1"},
    {"MaxRecvDataSegmentLength", "8192"},
    {"MaxXmitDataSegmentLength", "262144"},
    {"OFMarkInt", "Reject|2048~65535"},
    {"OFMarker", "No"},
    {"TargetAlias", "LIO Target"},
    {"InitiatorRecvDataSegmentLength", "262144"},
    {"TargetRecvDataSegmentLength", "8192"},
    {"RDMAExtensions", "No"},
    {"iSERHCA", NULL},
};

static const struct lio_default acl_attribute_defaults[] = {
    {"dataout_timeout", "3"},
    {"dataout_timeout_retries", "5"},
    {"default_erl", "0"},
    {"nopin_response_timeout", "30"},
    {"nopin_timeout", "15"},
    {"random_datain_pdu_offsets", "0"},
    {"random_datain_seq_offsets", "0"},
    {"random_r2t_offsets", "0"},
};

static const struct lio_default *lio_find(const struct lio_default *table, size_t n,
					  const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (streq(table[i].name, name))
			return &table[i];
	return NULL;
}
#define LIO_FIND(table, name) lio_find(table, ELEMENTSOF(table), name)

int tm_policy_lio_default(enum tm_obj_kind kind, enum tm_backstore_type type, const char *path,
			  const char **ret)
{
	const struct lio_default *d = NULL;
	const char *name;

	if (kind == TM_OBJ_TARGET && (name = startswith(path, "param/")))
		d = LIO_FIND(tpg_parameter_defaults, name);
	else if (!(name = startswith(path, "attrib/")))
		d = NULL;
	else if (kind == TM_OBJ_TARGET)
		d = LIO_FIND(tpg_attribute_defaults, name);
	else if (kind == TM_OBJ_ACL)
		d = LIO_FIND(acl_attribute_defaults, name);
	else if (kind == TM_OBJ_BACKSTORE) {
		/* What the kernel takes from a block device is fixed for a file or memory. */
		if (type != TM_BACKSTORE_IBLOCK)
			d = LIO_FIND(file_defaults, name);
		if (!d)
			d = LIO_FIND(backstore_defaults, name);
	}
	if (!d)
		return 0;
	*ret = d->value;
	return 1;
}

int tm_policy_is_lio_default(enum tm_obj_kind kind, enum tm_backstore_type type, const char *path,
			     const char *value)
{
	size_t len = strlen(value);
	const char *v;

	if (tm_policy_lio_default(kind, type, path, &v) == 0)
		return -2;
	if (!v)
		return -1;
	for (; v; v = strchr(v, '|') ? strchr(v, '|') + 1 : NULL)
		if (strncmp(v, value, len) == 0 && (v[len] == '\0' || v[len] == '|'))
			return 1;
	return 0;
}

static bool is_credential(const char *path)
{
	const char *name = startswith(path, "auth/");
	return name && (streq(name, "userid") || streq(name, "password") ||
			streq(name, "userid_mutual") || streq(name, "password_mutual"));
}

const char *tm_policy_released_value(enum tm_obj_kind kind, enum tm_backstore_type type,
				     const char *path)
{
	const char *v;

	if (kind == TM_OBJ_TARGET && tm_policy_tpg_attr_from_path(path) >= 0)
		return NULL; /* written for every target */
	if (kind == TM_OBJ_BACKSTORE && is_backstore_policy_path(type, path))
		return NULL; /* written for every backstore of the type */
	/* iscsi_target_configfs.c: "NULL" clears the credential's NAF_*_SET flag. */
	if ((kind == TM_OBJ_TARGET || kind == TM_OBJ_ACL) && is_credential(path))
		return "NULL";
	if (tm_policy_lio_default(kind, type, path, &v) <= 0 || !v || strchr(v, '|'))
		return NULL;
	return v;
}

bool tm_policy_same_value(const char *path, const char *a, const char *b)
{
	if (streq(a, b))
		return true;
	/* LIO shows a credential never set as "" and one cleared as "NULL". */
	return is_credential(path) && !tm_policy_credential_set(a) && !tm_policy_credential_set(b);
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
	int r = 0;

	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(backstore_policy_paths); i++)
		r = set_unless_given(s, backstore_policy_paths[i],
				     tm_policy_backstore_default(type, backstore_policy_paths[i]),
				     o);
	return r;
}

int tm_policy_thin_settings(struct tm_settings *s, enum tm_backstore_type type, bool can_discard,
			    struct tm_origin o)
{
	int r;

	if (!thin_applies(type))
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
