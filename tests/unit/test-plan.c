/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Golden tests of the planner, in memory: each case under golden/plans/ holds a running state
 * and a declared state (both in target-file syntax), directives for what target files cannot
 * say about a running kernel (sessions, foreign objects, a half-made LUN), and the expected
 * plan, one operation per line.  TM_GOLDEN_UPDATE=1 rewrites the expected plans.
 *
 *   --- running        target-file text parsed as the kernel's state
 *   --- directives     session IQN INITIATOR | foreign target IQN | foreign backstore HBA/NAME
 *                      | foreign discovery   (another tool set discovery CHAP)
 *                      | unlink IQN LUN | set IQN PATH VALUE | adopt | force
 *                      | dbroot PATH [ready]   (the dbroot in force; ready: has pr/ and alua/)
 *                      | objects   (storage objects exist that the running state leaves out:
 *                                   another tool's, or other targets' under --target)
 *   --- declared       the target files
 *   --- plan           expected operations, or "error: <errno name>: <message substring>"
 */
#include <dirent.h>

#include "../../lib/exec.h"
#include "../../lib/parse.h"
#include "../../lib/plan.h"
#include "tap.h"

struct golden_case {
	char *running, *directives, *declared, *plan;
	char *path;
	char *foreign[16];
	size_t n_foreign;
};

static char *read_all(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int c;

	if (!f || !(m = open_memstream(&buf, &len)))
		return NULL;
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	return buf;
}

/* Splits a case file at its "--- name" lines. */
static int split_case(char *text, struct golden_case *c)
{
	char **slot = NULL;
	char *line = text;

	while (line && *line) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (startswith(line, "--- ")) {
			const char *name = line + 4;
			slot = streq(name, "running")      ? &c->running
			       : streq(name, "directives") ? &c->directives
			       : streq(name, "declared")   ? &c->declared
			       : streq(name, "plan")       ? &c->plan
							   : NULL;
			if (!slot)
				return -EINVAL;
			*slot = strdup("");
		} else if (slot) {
			char *joined = tm_strdupf("%s%s\n", *slot, line);
			free(*slot);
			*slot = joined;
		}
		line = next;
	}
	return c->running && c->declared && c->plan ? 0 : -EINVAL;
}

static struct tm_config *model(const char *name, const char *text, bool running)
{
	struct tm_config *c = tm_config_new();
	struct tm_diags d = {0};

	if (!c || tm_parse_string(name, text, c, &d) < 0 || d.n_errors) {
		tm_diags_print(&d, stdout);
		tm_diags_clear(&d);
		if (c)
			tm_config_free(c);
		return NULL;
	}
	tm_diags_clear(&d);
	/* What the scanner reports of an applied configuration. */
	c->has_iscsi_fabric = running && c->n_targets > 0;
	c->storage_objects = running && c->n_backstores > 0;
	for (size_t i = 0; running && i < c->n_backstores; i++) {
		bool seen = false;
		for (size_t j = 0; j < c->n_hbas; j++)
			seen |= streq(c->hbas[j], c->backstores[i].hba);
		if (!seen)
			tm_strv_push(&c->hbas, &c->n_hbas, c->backstores[i].hba);
	}
	for (size_t i = 0; running && i < c->n_targets; i++) {
		struct tm_target *t = &c->targets[i];
		t->has_tpg = true;
		for (size_t j = 0; j < t->n_luns; j++)
			t->luns[j].link = strdup(t->luns[j].backstore_name);
		for (size_t j = 0; j < t->n_acls; j++)
			for (size_t k = 0; k < t->acls[j].n_mapped_luns; k++)
				t->acls[j].mapped_luns[k].link =
				    tm_strdupf("lun_%u", t->acls[j].mapped_luns[k].lun);
	}
	return c;
}

static int apply_directive(struct golden_case *c, struct tm_config *have, char *line,
			   struct tm_plan_options *opts)
{
	char *w[4] = {0};
	size_t n = 0;
	struct tm_target *t;

	for (char *tok = strtok(line, " \t"); tok && n < 4; tok = strtok(NULL, " \t"))
		w[n++] = tok;
	if (n == 0)
		return 0;
	if (streq(w[0], "adopt"))
		return opts->adopt = true, 0;
	if (streq(w[0], "force"))
		return opts->force = true, 0;
	if (streq(w[0], "objects"))
		return have->storage_objects = true, 0;
	if (streq(w[0], "dbroot") && n >= 2) {
		free(have->dbroot);
		have->dbroot_ready = n == 3 && streq(w[2], "ready");
		return (have->dbroot = strdup(w[1])) ? 0 : -ENOMEM;
	}
	if (streq(w[0], "foreign") && n == 3 && c->n_foreign < ELEMENTSOF(c->foreign))
		return (c->foreign[c->n_foreign++] = tm_strdupf("%s %s", w[1], w[2])) ? 0 : -ENOMEM;
	if (streq(w[0], "foreign") && n == 2 && streq(w[1], "discovery") &&
	    c->n_foreign < ELEMENTSOF(c->foreign))
		return (c->foreign[c->n_foreign++] = strdup(w[1])) ? 0 : -ENOMEM;
	t = n > 1 ? tm_config_find_target(have, w[1]) : NULL;
	if (!t)
		return -EINVAL;
	if (streq(w[0], "session") && n == 3) {
		struct tm_acl *a = tm_target_find_acl(t, w[2]);
		char **s = TM_PUSH(t->sessions, t->n_sessions);
		if (!s)
			return -ENOMEM;
		*s = strdup(w[2]);
		if (a)
			a->has_session = true;
		return 0;
	}
	if (streq(w[0], "unlink") && n == 3) {
		struct tm_lun *l = tm_target_find_lun(t, (unsigned)atoi(w[2]));
		if (!l)
			return -EINVAL;
		free(l->backstore_hba);
		free(l->backstore_name);
		free(l->link);
		l->backstore_hba = l->backstore_name = l->link = NULL;
		return 0;
	}
	if (streq(w[0], "set") && n == 4)
		return tm_settings_set(&t->settings, w[2], w[3], false, (struct tm_origin){0});
	return -EINVAL;
}

static bool foreign(void *userdata, enum tm_obj_kind kind, const char *name)
{
	const struct golden_case *c = userdata;
	_cleanup_free_ char *key =
	    kind == TM_OBJ_DISCOVERY
		? strdup("discovery")
		: tm_strdupf("%s %s", kind == TM_OBJ_TARGET ? "target" : "backstore", name);

	for (size_t i = 0; key && i < c->n_foreign; i++)
		if (streq(c->foreign[i], key))
			return false;
	return true;
}

static char *describe(const struct tm_op *op)
{
	_cleanup_free_ char *path = tm_op_object_path(op);
	const char *rel = path ? startswith(path, "target/") : NULL;

	if (op->type == TM_OP_SET)
		return tm_strdupf("~ %s %s = %s", rel ? rel : path, op->setting->path,
				  op->setting->secret ? "(secret)" : op->setting->value);
	return tm_strdupf("%c %s %s", op->type == TM_OP_CREATE ? '+' : '-',
			  tm_obj_kind_name(op->kind), rel ? rel : path);
}

static char *render(int r, const struct tm_plan *p, const char *conflict)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	if (r < 0)
		fprintf(m, "error: %s: %s\n", strerrorname_np(-r), conflict ? conflict : "");
	for (size_t i = 0; r >= 0 && i < p->n_ops; i++) {
		_cleanup_free_ char *d = describe(&p->ops[i]);
		fprintf(m, "%s\n", d);
	}
	for (size_t i = 0; r >= 0 && i < p->n_adopted; i++)
		fprintf(m, "= adopted %s\n", p->adopted[i]);
	for (size_t i = 0; r >= 0 && i < p->n_left_alone; i++)
		fprintf(m, "= left alone %s\n", p->left_alone[i]);
	fclose(m);
	return buf;
}

/* Phases never go backwards, and every tree's operations of a phase are contiguous: what
   the executor relies on to run trees at once. */
static bool phases_well_formed(const struct tm_plan *p)
{
	for (size_t i = 1; i < p->n_ops; i++) {
		if (p->ops[i].phase < p->ops[i - 1].phase)
			return false;
		if (p->ops[i].tree == p->ops[i - 1].tree)
			continue;
		for (size_t j = 0; j < i; j++)
			if (p->ops[j].phase == p->ops[i].phase && p->ops[j].tree == p->ops[i].tree)
				return false;
	}
	return true;
}

static void run_case(const char *dir, const char *name)
{
	_cleanup_free_ char *path = tm_strdupf("%s/%s", dir, name);
	_cleanup_free_ char *text = path ? read_all(path) : NULL;
	_cleanup_free_ char *got = NULL, *conflict = NULL, *scratch = NULL;
	_cleanup_config_ struct tm_config *have = NULL, *want = NULL;
	struct golden_case c = {0};
	struct tm_plan_options opts = {.owned = foreign, .userdata = &c};
	struct tm_plan p = {0};
	int r;

	if (!CHECK(text && split_case(text, &c) == 0, "%s: a well-formed case", name))
		goto out;
	have = model("running", c.running, true);
	want = model("declared", c.declared, false);
	if (!CHECK(have && want, "%s: both states parse", name))
		goto out;
	scratch = c.directives ? strdup(c.directives) : NULL; /* strtok cuts it up */
	for (char *line = scratch, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!CHECK(apply_directive(&c, have, line, &opts) == 0, "%s: directive", name))
			goto out;
	}
	r = tm_plan_build(want, have, &opts, &p, &conflict);
	got = render(r, &p, conflict);
	CHECK(phases_well_formed(&p), "%s: phases in order, trees contiguous", name);
	if (secure_getenv("TM_GOLDEN_UPDATE")) {
		FILE *f = fopen(path, "we");
		if (f) {
			fprintf(f, "--- running\n%s--- directives\n%s--- declared\n%s--- plan\n%s",
				c.running, c.directives ? c.directives : "", c.declared, got);
			fclose(f);
		}
	}
	if (!CHECK(got && streq(got, c.plan), "%s: the plan is the expected one", name))
		printf("# got:\n%s# expected:\n%s", got ? got : "", c.plan);
out:
	tm_plan_clear(&p);
	free(c.running);
	free(c.directives);
	free(c.declared);
	free(c.plan);
	for (size_t i = 0; i < c.n_foreign; i++)
		free(c.foreign[i]);
}

/*
 * A plan holds references to the two models its operations point into: it reads the same
 * after the caller dropped its own, can be planned from again (what the daemon does with its
 * last state), and frees the models with its last reference (valgrind or ASan: no leak, no
 * use after free).
 */
static void test_plan_keeps_models(void)
{
	static const char declared[] = "[target iqn.2026-12.test.keep:t1]\n"
				       "lun 0 = ramdisk size=1M\n"
				       "initiator = iqn.2026-12.test.keep:init\n";
	struct tm_config *want = model("declared", declared, false);
	struct tm_config *have = model("running", "", true);
	_cleanup_free_ char *held = NULL, *kept = NULL, *again = NULL, *conflict = NULL;
	struct tm_plan p = {0}, q = {0};
	int r;

	if (!CHECK(want && have, "both models parse")) {
		tm_config_unref(want);
		tm_config_unref(have);
		return;
	}
	r = tm_plan_build(want, have, NULL, &p, &conflict);
	CHECK_INT(r, 0, "planned");
	CHECK(p.want == want && p.have == have, "the plan refers to both models");
	CHECK_INT(want->n_ref, 2, "the plan holds a reference to the declared model");
	CHECK_INT(have->n_ref, 2, "and one to the running model");
	held = render(r, &p, conflict);

	tm_config_unref(want);
	tm_config_unref(have);
	CHECK_INT(p.want->n_ref, 1, "the caller's reference is gone, the plan's stays");
	kept = render(r, &p, conflict);
	CHECK(held && kept && streq(held, kept) && strstr(kept, "lun_0"),
	      "the plan reads the same after the caller dropped its references");

	r = tm_plan_build(p.want, p.have, NULL, &q, NULL);
	again = render(r, &q, NULL);
	CHECK(again && streq(again, kept), "the kept models plan again to the same plan");
	CHECK_INT(q.want->n_ref, 2, "two plans, two references");
	tm_plan_clear(&p);
	CHECK(!p.want && !p.have && p.n_ops == 0, "a cleared plan refers to nothing");
	CHECK_INT(q.want->n_ref, 1, "clearing a plan drops its references");
	tm_plan_clear(&q);
}

/* A plan that fails keeps no reference. */
static void test_failed_plan_drops_models(void)
{
	_cleanup_config_ struct tm_config *want =
	    model("declared", "[target iqn.2026-12.test.keep:t1]\n", false);
	_cleanup_config_ struct tm_config *have =
	    model("running", "[target iqn.2026-12.test.keep:t1]\n", true);
	_cleanup_free_ char *conflict = NULL;
	struct tm_plan p = {0};

	if (!CHECK(want && have, "both models parse"))
		return;
	have->targets[0].tpgt = 2;
	CHECK_INT(tm_plan_build(want, have, NULL, &p, &conflict), -EBUSY, "a TPG tag conflict");
	CHECK(!p.want && !p.have, "the failed plan holds nothing");
	CHECK_INT(want->n_ref + have->n_ref, 2, "the caller's references only");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	_cleanup_free_ char *dir = tm_strdupf("%s/plans", argc > 1 ? argv[1] : "tests/unit/golden");
	char *names[256];
	size_t n = 0;
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;

	if (!CHECK(d, "the golden plan cases are in %s", dir ? dir : "?"))
		return tap_done();
	while ((e = readdir(d)) && n < ELEMENTSOF(names))
		if (e->d_name[0] != '.')
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	CHECK(n >= 10, "at least ten cases (%zu)", n);
	for (size_t i = 0; i < n; i++) {
		run_case(dir, names[i]);
		free(names[i]);
	}
	test_plan_keeps_models();
	test_failed_plan_drops_models();
	return tap_done();
}
