/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The executor (lib/exec.c, with lib/parallel.c) against a fake configfs: a plain directory
 * that the fakecfs shim (tests/fakecfs.c, LD_PRELOAD'ed: the test re-executes itself with it)
 * makes act like LIO's, and whose Nth mkdir, write, symlink, rmdir or unlink fails with a
 * chosen errno.  Plans come from the real pipeline: target text -> parser -> scanner of the
 * fake tree -> planner.
 *
 * Proven for each injected failure, with one worker and with several: every operation before
 * the failure is done, none is started after it, the failure names the operation, the path
 * and the errno, and a rerun converges (a fresh plan is then empty).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <sys/stat.h>

#include "exec.h"
#include "parse.h"
#include "policy.h"
#include "scan.h"
#include "util.h"

#include "tap-diags.h"

#ifndef FAKECFS_PATH
#error "FAKECFS_PATH: the fakecfs shim"
#endif

static void (*fakecfs_fail)(const char *call, unsigned long nth, int err);
static char scratch[PATH_MAX];

/* Three targets, two with ACLs (one with a mapped LUN of its own), CHAP, a RAM disk each and
   a file created sparse, one RAM disk served by two targets through two ALUA groups: every
   kind of object the executor makes. */
static const char config_text[] =
    "[alua near]\n"
    "state = active/optimized\n"
    "[alua far]\n"
    "state = standby\n"
    "id = 7\n"
    "\n"
    "[target iqn.2021-02.com.example:a]\n"
    "lun 0 = ramdisk size=4M\n"
    "lun 2 = ramdisk size=1M name=twice alua=near\n"
    "lun 1 = ramdisk size=1M nullio\n"
    "chap = iscsiuser pruebaiscsi2021\n"
    "initiator = iqn.1993-08.org.debian:01:aaaa iqn.1993-08.org.debian:01:bbbb\n"
    "\n"
    "[target iqn.2021-02.com.example:b]\n"
    "lun 0 = ramdisk size=2M\n"
    "lun 1 = ramdisk size=1M name=twice alua=far\n"
    "portal = 127.0.0.1:3260\n"
    "\n"
    "[target iqn.2021-02.com.example:c]\n"
    "lun 3 = %s/c.img size=1M\n"
    "initiator = iqn.1993-08.org.debian:01:cccc\n";

/* n targets of two RAM disks each, for the parallel runs. */
static char *many_targets(unsigned n)
{
	char *text = strdup("");

	for (unsigned i = 0; text && i < n; i++) {
		char *next = tm_strdupf("%s[target iqn.2021-02.com.example:p%u]\n"
					"lun 0 = ramdisk size=1M\nlun 1 = ramdisk size=1M\n"
					"initiator = iqn.1993-08.org.debian:01:p%u\n\n",
					text, i, i);
		free(text);
		text = next;
	}
	if (!text)
		bail("alloc");
	return text;
}

/* A fresh fake configfs with the modules "loaded" (target/core exists); returns its path. */
static char *new_root(const char *name)
{
	char *root = tm_strdupf("%s/%s", scratch, name);
	_cleanup_free_ char *target = root ? tm_strdupf("%s/target", root) : NULL;
	_cleanup_free_ char *core = root ? tm_strdupf("%s/target/core", root) : NULL;

	if (!core || mkdir(root, 0755) < 0 || mkdir(target, 0755) < 0 || mkdir(core, 0755) < 0)
		bail(name);
	setenv("TARGETMGR_CONFIGFS_ROOT", root, 1);
	return root;
}

struct run {
	struct tm_config *want, *have;
	struct tm_cfs *cfs;
	struct tm_plan plan;
};

static void run_clear(struct run *r)
{
	tm_plan_clear(&r->plan);
	tm_config_free(r->have);
	tm_config_free(r->want);
	tm_cfs_close(r->cfs);
	*r = (struct run){0};
}

/* Parses text (NULL: declare nothing), scans root (only the targets iqns name, as apply
   --target does, when n_iqns > 0), plans; targetmgr owns everything there. */
static bool plan_scoped(const char *root, const char *text, char *const *iqns, size_t n_iqns,
			struct run *r)
{
	_cleanup_free_ char *conflict = NULL;
	struct tm_plan_options opts = {.scoped = n_iqns > 0};
	struct tm_diags diags = {0};
	int ret;

	*r = (struct run){.want = tm_config_new()};
	if (!r->want)
		bail("alloc");
	if (text && (tm_parse_string("exec.conf", text, r->want, &diags) < 0 || diags.n_errors)) {
		tap_dump_diags(&diags);
		tm_diags_clear(&diags);
		return CHECK(false, "the test configuration parses");
	}
	tm_diags_clear(&diags);
	ret = tm_cfs_open(root, &r->cfs);
	if (ret >= 0)
		ret = n_iqns > 0 ? tm_scan_scoped(r->cfs, r->want, iqns, n_iqns, &r->have)
				 : tm_scan(r->cfs, r->want, &r->have);
	if (ret < 0)
		return CHECK(false, "the fake configfs %s scans", root);
	if (tm_plan_build(r->want, r->have, &opts, &r->plan, &conflict) < 0)
		return CHECK(false, "planning: %s", conflict ? conflict : "?");
	return true;
}

static bool plan(const char *root, const char *text, struct run *r)
{
	return plan_scoped(root, text, NULL, 0, r);
}

static size_t count_done(const struct tm_plan *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_ops; i++)
		n += p->ops[i].done;
	return n;
}

/* Plans again and runs that plan without failures: then a third plan must be empty. */
static void check_converges(const char *root, const char *text, const char *what)
{
	struct tm_exec_failure f = {0};
	struct run r;
	int ret;

	fakecfs_fail(NULL, 0, 0);
	if (!plan(root, text, &r))
		return;
	ret = tm_exec(r.cfs, &r.plan, 4, &f);
	CHECK_INT(ret, (long long)r.plan.n_ops, "rerun after the failure completes");
	tm_exec_failure_clear(&f);
	run_clear(&r);
	if (!plan(root, text, &r))
		return;
	if (!CHECK_INT(r.plan.n_ops, 0, "then nothing is left to do")) {
		for (size_t i = 0; i < r.plan.n_ops && i < 5; i++) {
			_cleanup_free_ char *p = tm_op_object_path(&r.plan.ops[i]);
			const struct tm_op *op = &r.plan.ops[i];
			tap_diag("  %s: %s %s %s", what, tm_op_type_name(op->type), p ? p : "?",
				 op->setting ? op->setting->path : "");
		}
	}
	run_clear(&r);
}

/* Writes every directory, file (with its contents) and link (its body) below dir, relative
   to the root, one per line: two trees built from one plan compare equal as text. */
static void dump_tree(const char *root, const char *rel, FILE *out)
{
	_cleanup_free_ char *dir = tm_strdupf("%s/%s", root, rel);
	struct dirent **names;
	int n = dir ? scandir(dir, &names, NULL, alphasort) : -1;

	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *sub = NULL, *path = NULL;
		char buf[4096];
		struct stat st;
		ssize_t len;

		if (names[i]->d_name[0] != '.') {
			sub = tm_strdupf("%s/%s", rel, names[i]->d_name);
			path = tm_strdupf("%s/%s", root, sub);
			if (!sub || !path || lstat(path, &st) < 0)
				bail("dump");
			if (S_ISDIR(st.st_mode)) {
				fprintf(out, "%s/\n", sub);
				dump_tree(root, sub, out);
			} else if (S_ISLNK(st.st_mode)) {
				len = readlink(path, buf, sizeof(buf) - 1);
				buf[len < 0 ? 0 : len] = '\0';
				fprintf(out, "%s -> %s\n", sub, startswith(buf, root) ?: buf);
			} else {
				_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
				len = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
				buf[len < 0 ? 0 : len] = '\0';
				fprintf(out, "%s = %s\n", sub, buf);
			}
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

static char *tree_text(const char *root)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		bail("open_memstream");
	dump_tree(root, "target", f);
	fclose(f);
	return text;
}

static void test_apply_from_empty(const char *text)
{
	_cleanup_free_ char *root = new_root("empty");
	_cleanup_free_ char *tree = NULL;
	struct tm_exec_failure f = {0};
	struct tm_cfs_stats before;
	struct run r;
	int ret;

	if (!plan(root, text, &r))
		return;
	CHECK(r.plan.n_ops > 20, "a plan from empty (%zu operations)", r.plan.n_ops);
	ret = tm_exec(r.cfs, &r.plan, 4, &f);
	CHECK_INT(ret, (long long)r.plan.n_ops, "every operation is done");
	CHECK_EQ(count_done(&r.plan), r.plan.n_ops);
	CHECK(!f.op && !f.path && f.err == 0, "no failure is reported");
	run_clear(&r);

	tree = tree_text(root);
	CHECK(strstr(tree, "/control = rd_pages=1024\n"), "a 4M RAM disk's control string");
	CHECK(strstr(tree, "/control = rd_pages=256,rd_nullio=1\n"), "a nullio RAM disk");
	CHECK(strstr(tree, "/control = fd_dev_name=") && strstr(tree, "c.img,fd_dev_size=1048576"),
	      "a fileio backstore, its file created with the declared size");
	CHECK(strstr(tree, "target/iscsi/iqn.2021-02.com.example:b/tpgt_1/np/127.0.0.1:3260/"),
	      "the declared portal");
	CHECK(strstr(tree, "tpgt_1/acls/iqn.1993-08.org.debian:01:bbbb/lun_1/lun_1 -> "
			   "/target/iscsi/iqn.2021-02.com.example:a/tpgt_1/lun/lun_1"),
	      "a mapped LUN links its TPG LUN");
	CHECK(strstr(tree, "01:aaaa/auth/password = pruebaiscsi2021\n"), "an ACL's CHAP secret");
	CHECK(strstr(tree, "/twice/alua/near/tg_pt_gp_id = 1\n") &&
		  strstr(tree, "/twice/alua/far/tg_pt_gp_id = 7\n"),
	      "both ALUA groups on the shared backstore, with their ids");
	CHECK(strstr(tree, "/twice/alua/far/alua_access_state = 2\n") &&
		  strstr(tree, "/twice/alua/near/alua_access_type = 1\n"),
	      "a group's state and type (implicit)");
	CHECK(strstr(tree, "example:a/tpgt_1/lun/lun_2/alua_tg_pt_gp = near") &&
		  strstr(tree, "example:b/tpgt_1/lun/lun_1/alua_tg_pt_gp = far"),
	      "each target port in its group");

	/* A second run plans nothing and writes nothing. */
	if (!plan(root, text, &r))
		return;
	CHECK_INT(r.plan.n_ops, 0, "a second plan is empty");
	before = *tm_cfs_get_stats(r.cfs);
	ret = tm_exec(r.cfs, &r.plan, 4, &f);
	CHECK_INT(ret, 0, "an empty plan runs");
	CHECK(tm_cfs_get_stats(r.cfs)->writes == before.writes &&
		  tm_cfs_get_stats(r.cfs)->mkdirs == before.mkdirs &&
		  tm_cfs_get_stats(r.cfs)->symlinks == before.symlinks,
	      "and makes no configfs change");
	run_clear(&r);
}

/* text with its first `old` replaced by `new`. */
static char *replaced(const char *text, const char *old, const char *new)
{
	const char *p = strstr(text, old);
	char *r = p ? tm_strdupf("%.*s%s%s", (int)(p - text), text, new, p + strlen(old)) : NULL;

	if (!r)
		bail("replaced");
	return r;
}

/* One plan of text on root, run; returns the number of operations (-1: failed). */
static long run_text(const char *root, const char *text)
{
	struct tm_exec_failure f = {0};
	struct run r;
	long n;

	if (!plan(root, text, &r))
		return -1;
	n = tm_exec(r.cfs, &r.plan, 1, &f) == (int)r.plan.n_ops ? (long)r.plan.n_ops : -1;
	tm_exec_failure_clear(&f);
	run_clear(&r);
	return n;
}

/* Edits that an HA manager makes: a state switch is one write; a group that goes takes its
   port back to the default group first (fakecfs, like configfs, refuses to remove a backstore
   whose groups are left). */
static void test_alua(const char *text)
{
	_cleanup_free_ char *root = new_root("alua"), *tree = NULL;
	_cleanup_free_ char *standby =
	    replaced(text, "state = standby", "state = active/non-optimized");
	_cleanup_free_ char *no_port = replaced(standby, " alua=far", "");
	_cleanup_free_ char *gone =
	    replaced(no_port, "[alua far]\nstate = active/non-optimized\nid = 7\n", "");

	CHECK(run_text(root, text) > 20, "applied");
	CHECK_INT(run_text(root, standby), 1, "a state switch is one operation");
	tree = tree_text(root);
	CHECK(strstr(tree, "/twice/alua/far/alua_access_state = 1"), "and the state is written");
	CHECK_INT(run_text(root, standby), 0, "then nothing is left to do");

	CHECK_INT(run_text(root, gone), 2, "a group that goes: its port moves back, then it goes");
	free(tree);
	tree = tree_text(root);
	CHECK(!strstr(tree, "/alua/far"), "the group is gone");
	CHECK(strstr(tree, "example:b/tpgt_1/lun/lun_1/alua_tg_pt_gp = default_tg_pt_gp"),
	      "its port is in the default group");
	CHECK_INT(run_text(root, gone), 0, "then nothing is left to do");
	CHECK(run_text(root, NULL) > 0, "clear");
	free(tree);
	tree = tree_text(root);
	CHECK(!strstr(tree, "target/core/rd_mcp"), "clear removes the groups and backstores");
}

/* tm_cfs's counter of the calls fakecfs calls `call`. */
static unsigned long calls_of(const struct tm_cfs_stats *s, const char *call)
{
	return streq(call, "mkdir")     ? s->mkdirs
	       : streq(call, "rmdir")   ? s->rmdirs
	       : streq(call, "write")   ? s->writes
	       : streq(call, "symlink") ? s->symlinks
					: s->unlinks;
}

/* The index of the op in its plan. */
static size_t op_index(const struct tm_plan *p, const struct tm_op *op)
{
	return (size_t)(op - p->ops);
}

/*
 * Runs text's plan (or, with clear, the plan that deletes what text made) on a fresh root
 * with the nth call of kind `call` failing with err.  Checks what the executor did up to the
 * failure, and that a rerun converges.
 */
static void test_failure(const char *text, bool clear, const char *call, unsigned long nth, int err,
			 unsigned workers)
{
	_cleanup_free_ char *name =
	    tm_strdupf("%s-%s-%lu-%u", clear ? "clear" : "apply", call, nth, workers);
	_cleanup_free_ char *root = NULL, *obj = NULL;
	struct tm_exec_failure f = {0};
	const struct tm_op *failed;
	struct tm_cfs_stats before;
	unsigned long calls;
	struct run r;
	size_t i, k;
	int ret;

	if (!name)
		bail("alloc");
	root = new_root(name);
	tap_diag("%s: %s #%lu fails with %s, %u worker(s)", clear ? "clear" : "apply", call, nth,
		 strerrorname_np(err), workers);
	if (clear) {
		/* What text declares, made without failures; then the plan to remove it. */
		check_converges(root, text, name);
		if (!plan(root, NULL, &r))
			return;
	} else if (!plan(root, text, &r))
		return;

	fakecfs_fail(call, nth, err);
	before = *tm_cfs_get_stats(r.cfs);
	ret = tm_exec(r.cfs, &r.plan, workers, &f);
	fakecfs_fail(NULL, 0, 0);
	calls = calls_of(tm_cfs_get_stats(r.cfs), call) - calls_of(&before, call);
	CHECK_INT(ret, -err, "tm_exec returns the failed call's errno");
	CHECK_INT(f.err, -err, "the failure names the errno");
	failed = f.op;
	if (!CHECK(failed != NULL, "the failure names the operation")) {
		run_clear(&r);
		return;
	}
	obj = tm_op_object_path(failed);
	/* The path is the object's or one below it, or the target directory above a TPG. */
	CHECK(f.path && obj && (startswith(f.path, obj) || startswith(obj, f.path)),
	      "the failure names the path the kernel refused (%s), of its object (%s)",
	      f.path ? f.path : "(null)", obj ? obj : "(null)");
	CHECK(!failed->done, "the failed operation is not marked done");

	i = op_index(&r.plan, failed);
	if (workers == 1) {
		/* One worker runs the plan in order: everything before, nothing after. */
		for (k = 0; k < i && r.plan.ops[k].done; k++)
			;
		CHECK_INT(k, (long long)i, "every operation before the failed one is done");
		for (k = i + 1; k < r.plan.n_ops && !r.plan.ops[k].done; k++)
			;
		CHECK_INT(k, (long long)r.plan.n_ops, "no operation after it is done");
		CHECK_INT(ret < 0 ? (long long)count_done(&r.plan) : -1, (long long)i,
			  "the done count is the failed operation's index");
	} else {
		bool later_phase = false, later_in_tree = false, earlier_phase_missing = false;

		/* Other trees of the failed operation's phase may have been under way; nothing of
		   a later phase starts, nor anything after it in its own tree. */
		for (k = 0; k < r.plan.n_ops; k++) {
			const struct tm_op *op = &r.plan.ops[k];

			later_phase |= op->done && op->phase > failed->phase;
			later_in_tree |= op->done && k > i && op->tree == failed->tree &&
					 op->phase == failed->phase;
			earlier_phase_missing |= !op->done && op->phase < failed->phase;
		}
		CHECK(!earlier_phase_missing, "every operation of the earlier phases is done");
		CHECK(!later_phase, "no operation of a later phase is started");
		CHECK(!later_in_tree, "no later operation of the failed one's tree is started");
	}
	if (workers == 1)
		CHECK_INT(calls, (long long)nth, "no call of that kind after the failed one");
	else
		CHECK(calls >= nth, "the failure came at the armed call (%lu calls)", calls);
	tm_exec_failure_clear(&f);
	run_clear(&r);

	check_converges(root, clear ? NULL : text, name);
	if (clear) {
		_cleanup_strv_ char **left = NULL;
		struct tm_cfs *cfs = NULL;

		if (tm_cfs_open(root, &cfs) >= 0 &&
		    tm_cfs_list(cfs, "target/iscsi", TM_CFS_DIR, &left) >= 0)
			CHECK(left[0] && streq(left[0], "discovery_auth") && !left[1],
			      "the cleared tree holds no target");
		tm_cfs_close(cfs);
	}
}

/* Several workers build the same tree as one does. */
static void test_parallel(void)
{
	_cleanup_free_ char *text = many_targets(12);
	_cleanup_free_ char *one = new_root("serial"), *tree_one = NULL;
	_cleanup_free_ char *many = new_root("parallel"), *tree_many = NULL;
	struct tm_exec_failure f = {0};
	struct run r;
	int ret;

	setenv("TARGETMGR_CONFIGFS_ROOT", one, 1); /* new_root() set the other */
	if (!plan(one, text, &r))
		return;
	ret = tm_exec(r.cfs, &r.plan, 1, &f);
	CHECK_INT(ret, (long long)r.plan.n_ops, "12 targets, one worker");
	run_clear(&r);

	setenv("TARGETMGR_CONFIGFS_ROOT", many, 1);
	if (!plan(many, text, &r))
		return;
	ret = tm_exec(r.cfs, &r.plan, 8, &f);
	CHECK_INT(ret, (long long)r.plan.n_ops, "12 targets, eight workers");
	run_clear(&r);

	tree_one = tree_text(one);
	tree_many = tree_text(many);
	CHECK(tree_one && strstr(tree_one, "p11/tpgt_1/lun/lun_1/"), "the trees were built");
	CHECK(tree_one && tree_many && streq(tree_one, tree_many),
	      "eight workers build the same tree as one");
	check_converges(many, text, "parallel");
}

static bool write_text(const char *path, const char *text)
{
	_cleanup_fclose_ FILE *f = fopen(path, "we");
	return f && fputs(text, f) >= 0;
}

static char *read_text(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *text = NULL;
	size_t len;

	return fd >= 0 && tm_read_all(fd, &text, &len) >= 0 ? text : NULL;
}

/*
 * The dbroot in force gets pr/ and alua/; a new backstore gets the registrations LIO saved for
 * its serial written back, one record at a time (the fake keeps the last write), before its
 * LUN; and once that is done nothing is left to do.
 */
static void test_reservations(void)
{
	static const char text[] = "[target iqn.2021-02.com.example:pr]\n"
				   "lun 0 = ramdisk size=1M\n"
				   "initiator = iqn.1993-08.org.debian:01:aaaa\n";
	_cleanup_free_ char *root = new_root("pr"), *db = tm_strdupf("%s/db", scratch);
	_cleanup_free_ char *serial = tm_default_serial("iqn.2021-02.com.example.pr-lun0");
	_cleanup_free_ char *dbroot = NULL, *pr = NULL, *aptpl = NULL, *alua = NULL, *got = NULL;
	struct tm_exec_failure f = {0};
	struct run r;
	int ret;

	dbroot = tm_strdupf("%s/target/dbroot", root);
	pr = tm_strdupf("%s/pr", db);
	aptpl = tm_strdupf("%s/aptpl_%s", pr, serial);
	alua = tm_strdupf("%s/alua", db);
	/* pr/ exists already, alua/ not yet. */
	if (!dbroot || !aptpl || !alua || mkdir(db, 0755) < 0 || mkdir(pr, 0755) < 0)
		bail("reservations");
	if (!write_text(dbroot, db) ||
	    !write_text(aptpl,
			"PR_REG_START: 0\ninitiator_fabric=iSCSI\n"
			"initiator_node=iqn.1993-08.org.debian:01:aaaa\nsa_res_key=161\n"
			"res_holder=0\nPR_REG_END: 0\nPR_REG_START: 1\n"
			"initiator_fabric=iSCSI\ninitiator_node=iqn.1993-08.org.debian:01:bbbb\n"
			"sa_res_key=177\nres_holder=1\nres_type=05\nPR_REG_END: 1\n"))
		bail("reservations");
	if (!plan(root, text, &r))
		return;
	CHECK(r.plan.n_ops > 0 && r.plan.ops[0].kind == TM_OBJ_DBROOT &&
		  r.plan.ops[0].type == TM_OP_CREATE && streq(r.plan.ops[0].dir, db),
	      "the dbroot in force, without alua/, is prepared first");
	ret = tm_exec(r.cfs, &r.plan, 2, &f);
	CHECK_INT(ret, (long long)r.plan.n_ops, "every operation done");
	CHECK(access(alua, F_OK) == 0, "alua/ made in the dbroot");
	{
		_cleanup_free_ char *meta =
		    tm_strdupf("%s/target/core/%s/%s/pr/res_aptpl_metadata", root,
			       r.want->backstores[0].hba, r.want->backstores[0].name);
		got = meta ? read_text(meta) : NULL;
	}
	run_clear(&r);
	CHECK_STREQ(got, "initiator_fabric=iSCSI,initiator_node=iqn.1993-08.org.debian:01:bbbb,"
			 "sa_res_key=177,res_holder=1,res_type=05");
	CHECK(access(aptpl, F_OK) == 0, "the saved registrations stay");
	if (plan(root, text, &r))
		CHECK_INT(r.plan.n_ops, 0, "then nothing is left to do");
	run_clear(&r);
}

/*
 * A scoped apply (--target) reads only its target's backstores, but the kernel refuses a new
 * dbroot while any storage object exists: another tool's object elsewhere in core/ keeps the
 * dbroot in force, even the kernel's default.  Without one, the plan moves it.
 */
static void test_scoped_dbroot(void)
{
	static const char text[] = "[target iqn.2021-02.com.example:scoped]\n"
				   "lun 0 = ramdisk size=1M\n";
	char *const iqns[] = {"iqn.2021-02.com.example:scoped"};
	_cleanup_free_ char *root = new_root("scoped-dbroot");
	_cleanup_free_ char *dbroot = tm_strdupf("%s/target/dbroot", root);
	_cleanup_free_ char *hba = tm_strdupf("%s/target/core/rd_mcp_0", root);
	_cleanup_free_ char *other = tm_strdupf("%s/other", hba);

	if (!dbroot || !other || !write_text(dbroot, TM_POLICY_DBROOT_KERNEL "\n"))
		bail("scoped dbroot");
	for (int others = 0; others <= 1; others++) {
		struct run r;
		bool moves = false;

		if (others && (mkdir(hba, 0755) < 0 || mkdir(other, 0755) < 0))
			bail("scoped dbroot: another tool's object");
		if (!plan_scoped(root, text, iqns, ELEMENTSOF(iqns), &r))
			return;
		for (size_t i = 0; i < r.plan.n_ops; i++)
			moves |=
			    r.plan.ops[i].kind == TM_OBJ_DBROOT && r.plan.ops[i].type == TM_OP_SET;
		CHECK(r.have->storage_objects == others && moves == !others,
		      "scoped apply, %s: the dbroot %s",
		      others ? "another tool's object" : "no object",
		      others ? "stays (the kernel would refuse)" : "moves to " TM_POLICY_DBROOT);
		run_clear(&r);
	}
}

/* The content of one attribute below root, NULL if missing. */
static char *attribute(const char *root, const char *rel)
{
	_cleanup_free_ char *path = tm_strdupf("%s/%s", root, rel);
	return path ? read_text(path) : NULL;
}

/*
 * Discovery CHAP the files stop declaring goes off: enforcement back to 0 and the
 * credentials cleared ("NULL"), the mutual pair alone when only mutual-chap goes; and once
 * off, nothing is left to do.
 */
static void test_discovery_off(void)
{
	static const char target[] = "[target iqn.2021-02.com.example:d]\n"
				     "lun 0 = ramdisk size=1M\n";
	static const char both[] = "[discovery]\n"
				   "chap = discuser discsecret1234\n"
				   "mutual-chap = discback discsecret5678\n";
	static const char one[] = "[discovery]\n"
				  "chap = discuser discsecret1234\n";
	static const char *const attrs[] = {"enforce_discovery_auth", "userid", "password",
					    "userid_mutual", "password_mutual"};
	static const char *const on[] = {"1", "discuser", "discsecret1234", "discback",
					 "discsecret5678"};
	static const char *const mutual_off[] = {"1", "discuser", "discsecret1234", "NULL", "NULL"};
	static const char *const off[] = {"0", "NULL", "NULL", "NULL", "NULL"};
	static const struct {
		const char *discovery, *what;
		const char *const *want;
	} steps[] = {
	    {both, "discovery CHAP both ways", on},
	    {one, "mutual-chap removed", mutual_off},
	    {"", "[discovery] removed", off},
	};
	_cleanup_free_ char *root = new_root("discovery");
	struct tm_exec_failure f = {0};
	struct run r;

	for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
		_cleanup_free_ char *text = tm_strdupf("%s%s", target, steps[i].discovery);

		if (!text || !plan(root, text, &r))
			return;
		CHECK(tm_exec(r.cfs, &r.plan, 1, &f) == (int)r.plan.n_ops, "%s: applied",
		      steps[i].what);
		tm_exec_failure_clear(&f);
		run_clear(&r);
		for (size_t a = 0; a < ELEMENTSOF(attrs); a++) {
			_cleanup_free_ char *rel =
			    tm_strdupf("target/iscsi/discovery_auth/%s", attrs[a]);
			_cleanup_free_ char *v = rel ? attribute(root, rel) : NULL;

			CHECK(v && streq(v, steps[i].want[a]), "%s: %s is %s", steps[i].what,
			      attrs[a], a == 2 || a == 4 ? "as expected" : steps[i].want[a]);
		}
		if (!plan(root, text, &r))
			return;
		CHECK(r.plan.n_ops == 0, "%s: then nothing is left to do", steps[i].what);
		run_clear(&r);
	}
}

int main(int argc, char **argv)
{
	_cleanup_free_ char *text = NULL;
	static const struct {
		const char *call;
		unsigned long nth;
		int err;
	} apply_faults[] =
	    {
		{"mkdir", 1, ENOSPC},  {"mkdir", 7, EEXIST},   {"mkdir", 15, ENOMEM},
		{"write", 1, EINVAL},  {"write", 9, EBUSY},    {"write", 20, EIO},
		{"symlink", 1, EPERM}, {"symlink", 4, ENOENT},
	    },
	  clear_faults[] = {
	      {"rmdir", 1, EBUSY},
	      {"rmdir", 10, EBUSY},
	      {"unlink", 1, EPERM},
	      {"unlink", 3, EIO},
	  };
	char template[PATH_MAX], *tmp;

	(void)argc;
	/* Run again with the shim preloaded (the kmod testsuite's way). */
	fakecfs_fail = (__typeof__(fakecfs_fail))dlsym(RTLD_DEFAULT, "fakecfs_fail");
	if (!fakecfs_fail) {
		const char *asan = getenv("ASAN_OPTIONS");
		_cleanup_free_ char *opts =
		    tm_strdupf("%s%sverify_asan_link_order=0", asan ? asan : "", asan ? ":" : "");

		if (getenv("TM_FAKECFS_REEXEC"))
			bail("the fakecfs shim did not load (" FAKECFS_PATH ")");
		setenv("TM_FAKECFS_REEXEC", "1", 1);
		setenv("LD_PRELOAD", FAKECFS_PATH, 1);
		/* The sanitizer runtime wants to come first; the shim only passes calls on. */
		if (opts)
			setenv("ASAN_OPTIONS", opts, 1);
		execv("/proc/self/exe", argv);
		bail("execv");
	}
	unsetenv("LD_PRELOAD"); /* loaded; not for the rm -rf at the end */

	tmp = getenv("TMPDIR");
	snprintf(template, sizeof(template), "%s/test-exec.XXXXXX", tmp ? tmp : "/tmp");
	/* Canonical, as the root tm_cfs builds link bodies from: dump_tree() cuts it off. */
	if (!mkdtemp(template) || !realpath(template, scratch))
		bail("mkdtemp");
	text = tm_strdupf(config_text, scratch);
	if (!text)
		bail("alloc");

	test_apply_from_empty(text);
	for (size_t i = 0; i < ELEMENTSOF(apply_faults); i++)
		for (unsigned w = 1; w <= 4; w += 3) {
			_cleanup_free_ char *img = tm_strdupf("%s/c.img", scratch);
			if (img)
				unlink(img); /* each run creates the file again */
			test_failure(text, false, apply_faults[i].call, apply_faults[i].nth,
				     apply_faults[i].err, w);
		}
	for (size_t i = 0; i < ELEMENTSOF(clear_faults); i++)
		for (unsigned w = 1; w <= 4; w += 3)
			test_failure(text, true, clear_faults[i].call, clear_faults[i].nth,
				     clear_faults[i].err, w);
	test_parallel();
	test_reservations();
	test_alua(text);
	test_scoped_dbroot();
	test_discovery_off();

	if (!getenv("TM_KEEP_SCRATCH")) {
		_cleanup_free_ char *cmd = tm_strdupf("rm -rf '%s'", scratch);
		if (cmd && system(cmd) != 0)
			tap_diag("could not remove %s", scratch);
	}
	return tap_done();
}
