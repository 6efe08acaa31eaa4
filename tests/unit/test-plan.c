/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The planner in memory: declared model (from target-file text) against a running model (the
 * same text parsed again, then altered the way a kernel could differ), expected operations.
 */
#include "../../lib/exec.h"
#include "../../lib/parse.h"
#include "../../lib/plan.h"
#include "tap.h"

static const char seed[] =
    "[target iqn.2021-02.com.example:t1]\n"
    "lun 1 = ramdisk size=4M nullio\n"
    "lun 2 = ramdisk size=8M\n"
    "chap = iscsiuser pruebaiscsi2021\n"
    "initiator = iqn.1993-08.org.debian:01:aaa iqn.1993-08.org.debian:01:bbb\n"
    "\n"
    "[target iqn.2021-02.com.example:t2]\n"
    "lun 0 = ramdisk size=1M\n";

static struct tm_config *model(const char *text)
{
	struct tm_config *c = tm_config_new();
	struct tm_diags d = {0};

	if (!c || tm_parse_string("seed.conf", text, c, &d) < 0 || d.n_errors) {
		tm_diags_print(&d, stdout);
		printf("Bail out! cannot parse the seed\n");
		exit(1);
	}
	tm_diags_clear(&d);
	return c;
}

/* The running state: what the scanner would read back after the seed was applied. */
static struct tm_config *running(const char *text)
{
	struct tm_config *c = model(text);
	for (size_t i = 0; i < c->n_targets; i++)
		c->targets[i].has_tpg = true;
	return c;
}

/* "create lun iscsi/...", "set target iscsi/... attrib/x=1": one line per operation. */
static char *describe(const struct tm_op *op)
{
	_cleanup_free_ char *path = tm_op_object_path(op);
	if (op->type == TM_OP_SET)
		return tm_strdupf("set %s %s %s=%s", tm_obj_kind_name(op->kind), path,
				  op->setting->path,
				  op->setting->secret ? "(secret)" : op->setting->value);
	return tm_strdupf("%s %s %s", tm_op_type_name(op->type), tm_obj_kind_name(op->kind), path);
}

static size_t find(const struct tm_plan *p, const char *line)
{
	for (size_t i = 0; i < p->n_ops; i++) {
		_cleanup_free_ char *d = describe(&p->ops[i]);
		if (d && streq(d, line))
			return i;
	}
	return (size_t)-1;
}

static void dump(const struct tm_plan *p)
{
	for (size_t i = 0; i < p->n_ops; i++) {
		_cleanup_free_ char *d = describe(&p->ops[i]);
		tap_diag("  %s", d);
	}
}

#define T1  "target/iscsi/iqn.2021-02.com.example:t1/tpgt_1"
#define BS1 "target/core/rd_mcp_1000/iqn.2021-02.com.example.t1-lun1"

static void test_from_empty(void)
{
	_cleanup_config_ struct tm_config *want = model(seed), *have = tm_config_new();
	struct tm_plan p;
	size_t tpg_enable, last_mapped, bs_enable, lun1;

	CHECK_EQ(tm_plan_build(want, have, NULL, &p, NULL), 0);
	/* 3 backstores (create, serial, enable), 2 targets, 2 portals, 3 LUNs, 2 ACLs (create,
	   userid, password), 4 mapped LUNs (create, write_protect), TPG settings. */
	CHECK(find(&p, "create backstore " BS1) == 0, "the first operation creates a backstore");
	bs_enable = find(&p, "set backstore " BS1 " enable=1");
	CHECK(bs_enable != (size_t)-1, "the backstore is enabled");
	lun1 = find(&p, "create lun " T1 "/lun/lun_1");
	CHECK(lun1 != (size_t)-1 && bs_enable < lun1, "backstore enabled before its LUN links it");
	CHECK(find(&p, "create target " T1) < find(&p, "create portal " T1 "/np/0.0.0.0:3260"),
	      "TPG before its portal");
	CHECK(find(&p, "set target " T1 " attrib/generate_node_acls=0") < lun1,
	      "TPG attributes before LUNs");
	CHECK(find(&p, "set acl " T1
		       "/acls/iqn.1993-08.org.debian:01:aaa auth/password=(secret)") != (size_t)-1,
	      "per-ACL CHAP password is planned and marked secret");
	last_mapped = find(&p, "create mapped_lun " T1 "/acls/iqn.1993-08.org.debian:01:bbb/lun_2");
	tpg_enable = find(&p, "set target " T1 " enable=1");
	CHECK(last_mapped != (size_t)-1 && tpg_enable != (size_t)-1 && last_mapped < tpg_enable,
	      "TPG enabled after everything below it");
	CHECK(find(&p, "set target " T1 " attrib/authentication=1") != (size_t)-1,
	      "CHAP turns authentication on");
	for (size_t i = 0; i < p.n_ops; i++)
		if (p.ops[i].type == TM_OP_SET && p.ops[i].old_value)
			CHECK(0, "a set on a new object has no old value (op %zu)", i);
	/* backstores 3 x (create, serial, enable); t1: target, 2 TPG settings, portal, 2 LUNs,
	   2 x ACL (create, userid, password), 4 x mapped LUN (create, write_protect), enable;
	   t2 (open): target, 4 TPG settings, portal, LUN, enable. */
	CHECK_EQ(p.n_ops, 9 + (1 + 2 + 1 + 2 + 6 + 8 + 1) + (1 + 4 + 1 + 1 + 1));
	if (tap_failures)
		dump(&p);
	tm_plan_clear(&p);
}

static void test_serial_matches_model(void)
{
	_cleanup_config_ struct tm_config *want = model(seed), *have = tm_config_new();
	_cleanup_free_ char *line = NULL;
	struct tm_plan p;

	CHECK_EQ(tm_plan_build(want, have, NULL, &p, NULL), 0);
	line =
	    tm_strdupf("set backstore " BS1 " wwn/vpd_unit_serial=%s", want->backstores[0].serial);
	CHECK(find(&p, line) < find(&p, "set backstore " BS1 " enable=1"),
	      "the VPD serial is written before the backstore is enabled");
	tm_plan_clear(&p);
}

static void test_no_change(void)
{
	_cleanup_config_ struct tm_config *want = model(seed), *have = running(seed);
	struct tm_plan p;

	CHECK_EQ(tm_plan_build(want, have, NULL, &p, NULL), 0);
	CHECK_EQ(p.n_ops, 0);
	dump(&p);
	tm_plan_clear(&p);
}

static void test_one_setting_differs(void)
{
	_cleanup_config_ struct tm_config *want = model(seed), *have = running(seed);
	struct tm_target *t = tm_config_find_target(have, "iqn.2021-02.com.example:t1");
	struct tm_origin none = {0};
	struct tm_plan p;

	tm_settings_set(&t->settings, "attrib/authentication", "0", false, none);
	tm_settings_set(&t->acls[1].settings, "auth/password", "oldsecret123", true, none);
	CHECK_EQ(tm_plan_build(want, have, NULL, &p, NULL), 0);
	CHECK_EQ(p.n_ops, 2);
	CHECK(p.n_ops > 0 && p.ops[0].type == TM_OP_SET && streq(p.ops[0].old_value, "0") &&
		  streq(p.ops[0].setting->value, "1"),
	      "authentication 0 -> 1 is changed in place, with the old value");
	CHECK(p.n_ops > 1 && p.ops[1].setting->secret, "a changed password is a secret set");
	tm_plan_clear(&p);
}

static void test_missing_acl_and_lun(void)
{
	_cleanup_config_ struct tm_config *want = model(seed), *have = running(seed);
	struct tm_target *t = tm_config_find_target(have, "iqn.2021-02.com.example:t1");
	struct tm_plan p;

	/* The running target lacks ACL bbb and LUN 2 (and so aaa's mapping of it). */
	t->n_acls = 1;
	t->n_luns = 1;
	t->acls[0].n_mapped_luns = 1;
	CHECK_EQ(tm_plan_build(want, have, NULL, &p, NULL), 0);
	CHECK(find(&p, "create lun " T1 "/lun/lun_2") == 0, "LUN 2 first");
	CHECK(find(&p, "create mapped_lun " T1 "/acls/iqn.1993-08.org.debian:01:aaa/lun_2") == 1,
	      "then the existing ACL's mapping of it");
	CHECK(find(&p, "create acl " T1 "/acls/iqn.1993-08.org.debian:01:bbb") == 3,
	      "then the missing ACL");
	CHECK_EQ(p.n_ops, 1 + 2 + 1 + 2 + 2 * 2);
	if (tap_failures)
		dump(&p);
	/* restore counts so that the model frees what it allocated */
	t->n_acls = 2;
	t->n_luns = 2;
	t->acls[0].n_mapped_luns = 2;
	tm_plan_clear(&p);
}

static bool owns_nothing(void *u, enum tm_obj_kind k, const char *n)
{
	(void)u, (void)k, (void)n;
	return false;
}

static void test_ownership(void)
{
	_cleanup_config_ struct tm_config *want = model(seed), *have = running(seed);
	struct tm_plan_options opts = {.owned = owns_nothing};
	_cleanup_free_ char *msg = NULL;
	struct tm_plan p;

	CHECK_EQ(tm_plan_build(want, have, &opts, &p, &msg), (unsigned long long)-EEXIST);
	CHECK(msg && strstr(msg, "not created by targetmgr"), "the conflict names the reason: %s",
	      msg ? msg : "(none)");
	CHECK_EQ(p.n_ops, 0);
	opts.adopt = true;
	CHECK_EQ(tm_plan_build(want, have, &opts, &p, NULL), 0);
	tm_plan_clear(&p);
}

static void test_immutable_differences(void)
{
	_cleanup_config_ struct tm_config *want = model(seed), *have = running(seed);
	struct tm_target *t = tm_config_find_target(have, "iqn.2021-02.com.example:t1");
	_cleanup_free_ char *msg = NULL;
	struct tm_plan p;

	have->backstores[0].nullio = false;
	CHECK_EQ(tm_plan_build(want, have, NULL, &p, &msg), (unsigned long long)-EBUSY);
	CHECK(msg && strstr(msg, "rd_mcp_1000/iqn.2021-02.com.example.t1-lun1"),
	      "a backstore that differs in what the kernel cannot change is named");
	have->backstores[0].nullio = true;
	free(msg);
	msg = NULL;

	free(t->luns[0].backstore_name);
	t->luns[0].backstore_name = strdup("elsewhere");
	CHECK_EQ(tm_plan_build(want, have, NULL, &p, &msg), (unsigned long long)-EBUSY);
	CHECK(msg && strstr(msg, "LUN 1 serves rd_mcp_1000/elsewhere"), "a relinked LUN is named");
}

int main(void)
{
	test_from_empty();
	test_serial_matches_model();
	test_no_change();
	test_one_setting_differs();
	test_missing_acl_and_lun();
	test_ownership();
	test_immutable_differences();
	return tap_done();
}
