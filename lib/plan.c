/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "plan.h"

#include <errno.h>
#include <stdint.h>

#include "layout.h"
#include "policy.h"
#include "util.h"

/* A set of model objects, by address: the models do not change while a plan is built. */
struct obj_set {
	struct tm_hashmap map; /* hash of the address -> the address */
};

/* Several targets link a backstore (see only_linker). */
#define SEVERAL_LINKERS ((const struct tm_target *)&several_linkers)
static const char several_linkers;

struct planner {
	const struct tm_plan_options *opts;
	const struct tm_config *want, *have;
	struct tm_plan *plan;
	char **conflict;
	struct obj_set doomed; /* running objects the plan deletes (to prune or to recreate) */
	struct obj_set placed; /* backstores whose operations went into a target's tree */
	/* Per backstore (by position) of each model: the one target whose LUNs link it, NULL,
	   or SEVERAL_LINKERS. */
	const struct tm_target **have_linker, **want_linker;
};

static const struct tm_setting tpg_disable = {.path = (char *)"enable", .value = (char *)"0"};
static const struct tm_setting dbroot_ours = {.path = (char *)"dbroot",
					      .value = (char *)TM_POLICY_DBROOT};

static bool in_set(const struct obj_set *set, const void *obj)
{
	return tm_hashmap_contains(&set->map, tm_hash_u64((uintptr_t)obj), (uintptr_t)obj);
}

static int add_to_set(struct obj_set *set, const void *obj)
{
	int r;

	if (in_set(set, obj))
		return 0;
	r = tm_hashmap_put(&set->map, tm_hash_u64((uintptr_t)obj), (uintptr_t)obj);
	return r < 0 ? r : 1;
}

static bool is_doomed(const struct planner *p, const void *obj)
{
	return in_set(&p->doomed, obj);
}

static int doom(struct planner *p, const void *obj)
{
	return add_to_set(&p->doomed, obj);
}

static int conflict(struct planner *p, int err, const char *fmt, ...) _printf_(3, 4);
static int conflict(struct planner *p, int err, const char *fmt, ...)
{
	va_list ap;

	if (p->conflict && !*p->conflict) {
		va_start(ap, fmt);
		if (vasprintf(p->conflict, fmt, ap) < 0)
			*p->conflict = NULL;
		va_end(ap);
	}
	return err;
}

static bool owned(const struct planner *p, enum tm_obj_kind kind, const char *name)
{
	return !p->opts->owned || p->opts->owned(p->opts->userdata, kind, name);
}

static int note(char ***list, size_t *n, enum tm_obj_kind kind, const char *name)
{
	char **slot = TM_PUSH(*list, *n);
	if (!slot)
		return -ENOMEM;
	*slot = tm_strdupf("%s %s", tm_obj_kind_name(kind), name);
	return *slot ? 0 : -ENOMEM;
}

/* Another tool's object: records whether the plan adopts it or leaves it alone. */
static int note_foreign(struct planner *p, enum tm_obj_kind kind, const char *name, bool declared)
{
	if (declared)
		return note(&p->plan->adopted, &p->plan->n_adopted, kind, name);
	return note(&p->plan->left_alone, &p->plan->n_left_alone, kind, name);
}

static struct tm_op *push_op(struct planner *p, const struct tm_op *op)
{
	struct tm_op *o = TM_PUSH(p->plan->ops, p->plan->n_ops);
	if (o)
		*o = *op;
	return o;
}

/* When a setting is written: "enable" once everything below the object exists, and for
   backstores some settings only after it (tm_policy_backstore_stage()). */
static enum tm_policy_stage setting_stage(const struct tm_op *base, const char *path)
{
	if (base->kind == TM_OBJ_BACKSTORE)
		return tm_policy_backstore_stage(path);
	return streq(path, "enable") ? TM_POLICY_ENABLE : TM_POLICY_BEFORE_ENABLE;
}

static const char *kernel_default(const struct tm_op *base, const char *path)
{
	if (base->kind == TM_OBJ_BACKSTORE)
		return tm_policy_backstore_default(base->backstore->type, path);
	return tm_policy_kernel_default(base->kind, path);
}

/*
 * Emits one SET per setting of that stage whose running value differs; have is NULL for an
 * object created by this plan.
 */
static int diff_settings(struct planner *p, const struct tm_op *base,
			 const struct tm_settings *want, const struct tm_settings *have,
			 enum tm_policy_stage stage)
{
	for (size_t i = 0; i < want->n; i++) {
		const struct tm_setting *s = &want->v[i];
		const struct tm_setting *h;
		struct tm_op op = *base;

		if (setting_stage(base, s->path) != stage)
			continue;
		/* A new object already holds the kernel's default (a released setting is one
		   going back to it): writing it changes nothing. */
		if (!have && (s->released || streq_ptr(kernel_default(base, s->path), s->value)))
			continue;
		h = have ? tm_settings_find(have, s->path) : NULL;
		if (h && tm_policy_same_value(s->path, h->value, s->value))
			continue;
		/* Not there to go back: an attribute this kernel lacks. */
		if (!h && s->released)
			continue;
		op.type = TM_OP_SET;
		op.setting = s;
		op.old_value = h ? h->value : NULL;
		if (!push_op(p, &op))
			return -ENOMEM;
	}
	return 0;
}

static char *backstore_key(const struct tm_backstore *b)
{
	return tm_strdupf("%s/%s", b->hba, b->name);
}

/* Whether a setting the kernel takes only while no LUN exports the object differs. */
static bool fixed_setting_differs(const struct tm_backstore *h, const struct tm_backstore *b)
{
	for (size_t i = 0; i < b->settings.n; i++) {
		const struct tm_setting *s = &b->settings.v[i];
		const struct tm_setting *hs;

		if (!tm_policy_fixed_while_exported(s->path))
			continue;
		hs = tm_settings_find(&h->settings, s->path);
		if (hs && !streq(hs->value, s->value))
			return true;
	}
	return false;
}

static bool backstore_identity_differs(const struct tm_backstore *h, const struct tm_backstore *b)
{
	return h->type != b->type || !streq_ptr(h->path, b->path) || h->readonly != b->readonly ||
	       h->nullio != b->nullio || (b->type == TM_BACKSTORE_RAMDISK && h->size != b->size) ||
	       /* fd_buffered_io is read when the object is enabled, never after */
	       (b->type == TM_BACKSTORE_FILEIO && h->write_through != b->write_through) ||
	       fixed_setting_differs(h, b);
}

/* ---- ALUA target port groups ---- */

static int emit(struct planner *p, enum tm_op_type type, enum tm_obj_kind kind, enum tm_phase phase,
		const void *tree, const struct tm_op *fields);

static const struct tm_setting alua_default_group = {.path = (char *)TM_LAYOUT_LUN_ALUA_GROUP,
						     .value = (char *)TM_LAYOUT_ALUA_DEFAULT_GROUP};

/* The group a LUN's target port is in, declared or running. */
static const char *lun_alua_group(const struct tm_lun *l)
{
	const struct tm_setting *s = tm_settings_find(&l->settings, TM_LAYOUT_LUN_ALUA_GROUP);
	return s ? s->value : TM_LAYOUT_ALUA_DEFAULT_GROUP;
}

/* A running backstore's groups that go: all of a backstore that goes, those the files no
   longer declare on it, and those whose id changed (LIO takes an id once). */
static int doom_alua_groups(struct planner *p, const struct tm_backstore *h,
			    const struct tm_backstore *b)
{
	for (size_t i = 0; i < h->n_alua_groups; i++) {
		const struct tm_alua_group *hg = &h->alua_groups[i];
		const struct tm_alua_group *g =
		    b ? tm_backstore_find_alua_group(b, hg->name) : NULL;
		int r;

		if (g && g->id == hg->id && !is_doomed(p, h))
			continue;
		r = doom(p, hg);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * A running group goes: the target ports in it that stay go back to default_tg_pt_gp first
 * (one write each, which an initiator sees as a state change, not as a lost path), then the
 * group.  Only the LUNs of a backstore that stays need moving.
 */
static int emit_alua_group_delete(struct planner *p, const struct tm_backstore *hb,
				  const struct tm_alua_group *hg, enum tm_phase phase,
				  const void *tree)
{
	int r;

	for (size_t i = 0; !is_doomed(p, hb) && i < p->have->n_targets; i++) {
		const struct tm_target *ht = &p->have->targets[i];

		for (size_t j = 0; j < ht->n_luns; j++) {
			const struct tm_lun *hl = &ht->luns[j];

			if (is_doomed(p, ht) || is_doomed(p, hl) ||
			    !streq_ptr(hl->backstore_hba, hb->hba) ||
			    !streq_ptr(hl->backstore_name, hb->name) ||
			    !streq(lun_alua_group(hl), hg->name))
				continue;
			r = emit(p, TM_OP_SET, TM_OBJ_LUN, phase, tree,
				 &(struct tm_op){.target = ht,
						 .lun = hl,
						 .setting = &alua_default_group,
						 .old_value = hg->name});
			if (r < 0)
				return r;
		}
	}
	return emit(p, TM_OP_DELETE, TM_OBJ_ALUA_GROUP, phase, tree,
		    &(struct tm_op){.backstore = hb, .alua_group = hg});
}

/* A running backstore's groups that go (configfs refuses to remove a backstore that still
   has groups of its own), and the backstore itself if it goes. */
static int emit_backstore_delete(struct planner *p, const struct tm_backstore *hb,
				 enum tm_phase phase, const void *tree)
{
	int r;

	for (size_t i = 0; i < hb->n_alua_groups; i++) {
		if (!is_doomed(p, &hb->alua_groups[i]))
			continue;
		r = emit_alua_group_delete(p, hb, &hb->alua_groups[i], phase, tree);
		if (r < 0)
			return r;
	}
	if (!is_doomed(p, hb))
		return 0;
	return emit(p, TM_OP_DELETE, TM_OBJ_BACKSTORE, phase, tree,
		    &(struct tm_op){.backstore = hb});
}

/* A declared backstore's groups, once it is enabled (LIO refuses states before). */
static int emit_alua_groups(struct planner *p, const struct tm_backstore *b,
			    const struct tm_backstore *h, enum tm_phase phase, const void *tree)
{
	for (size_t i = 0; i < b->n_alua_groups; i++) {
		const struct tm_alua_group *g = &b->alua_groups[i];
		const struct tm_alua_group *hg = NULL;
		const struct tm_op base = {.kind = TM_OBJ_ALUA_GROUP,
					   .phase = phase,
					   .tree = tree,
					   .backstore = b,
					   .alua_group = g};
		int r;

		if (h && (hg = tm_backstore_find_alua_group(h, g->name)) && is_doomed(p, hg))
			hg = NULL;
		if (!hg) {
			r = emit(p, TM_OP_CREATE, TM_OBJ_ALUA_GROUP, phase, tree, &base);
			if (r < 0)
				return r;
		}
		r = diff_settings(p, &base, &g->settings, hg ? &hg->settings : NULL,
				  TM_POLICY_BEFORE_ENABLE);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Puts a declared LUN's target port in its group: one write, also to switch a LUN between
   two groups.  ht: the running target, if it stays. */
static int emit_lun_alua(struct planner *p, const struct tm_target *t, const struct tm_lun *l,
			 const struct tm_target *ht)
{
	const struct tm_lun *hl = ht ? tm_target_find_lun(ht, l->number) : NULL;
	const char *have = TM_LAYOUT_ALUA_DEFAULT_GROUP;
	const struct tm_setting *want;

	if (hl && !is_doomed(p, hl)) {
		const struct tm_backstore *hb =
		    tm_config_find_backstore(p->have, hl->backstore_hba, hl->backstore_name);
		const struct tm_alua_group *hg =
		    hb ? tm_backstore_find_alua_group(hb, lun_alua_group(hl)) : NULL;

		/* A port whose group goes is back in the default group by then. */
		if (!hg || !is_doomed(p, hg))
			have = lun_alua_group(hl);
	} else
		hl = NULL;
	if (streq(lun_alua_group(l), have))
		return 0;
	want = tm_settings_find(&l->settings, TM_LAYOUT_LUN_ALUA_GROUP) ?: &alua_default_group;
	return emit(
	    p, TM_OP_SET, TM_OBJ_LUN, TM_PHASE_TARGET_BUILD, t,
	    &(struct tm_op){.target = t, .lun = l, .setting = want, .old_value = hl ? have : NULL});
}

/* ---- what goes: decided for every running object before anything is emitted ---- */

static int doom_backstores(struct planner *p, const struct tm_config *want)
{
	for (size_t i = 0; i < p->have->n_backstores; i++) {
		const struct tm_backstore *h = &p->have->backstores[i];
		const struct tm_backstore *b = tm_config_find_backstore(want, h->hba, h->name);
		_cleanup_free_ char *key = backstore_key(h);
		int r;

		if (!key)
			return -ENOMEM;
		if (b && !owned(p, TM_OBJ_BACKSTORE, key) && !p->opts->adopt)
			return conflict(p, -EEXIST,
					"backstore %s exists and was not created by targetmgr "
					"(adopt it with --adopt)",
					key);
		if (!owned(p, TM_OBJ_BACKSTORE, key)) {
			r = note_foreign(p, TM_OBJ_BACKSTORE, key, b);
			if (r < 0)
				return r;
			/* Undeclared and not ours: another tool's, left alone. */
			if (!b)
				continue;
		}
		/* A scoped plan's backstore that LUNs outside the scope link stays. */
		if (h->shared)
			continue;
		r = !b || backstore_identity_differs(h, b) ? doom(p, h) : 0;
		if (r >= 0)
			r = doom_alua_groups(p, h, b);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A LUN goes when it is no longer declared, serves another backstore, or its backstore goes. */
static bool lun_goes(const struct planner *p, const struct tm_target *wt, const struct tm_lun *hl)
{
	const struct tm_lun *l = wt ? tm_target_find_lun(wt, hl->number) : NULL;
	const struct tm_backstore *hb;

	if (!l || !hl->backstore_name)
		return true;
	if (!streq_ptr(hl->backstore_hba, l->backstore_hba) ||
	    !streq_ptr(hl->backstore_name, l->backstore_name))
		return true;
	hb = tm_config_find_backstore(p->have, hl->backstore_hba, hl->backstore_name);
	return hb && is_doomed(p, hb);
}

static bool target_open(const struct tm_target *t)
{
	const struct tm_setting *s = tm_settings_find(&t->settings, "attrib/generate_node_acls");
	return s && streq(s->value, "1");
}

/* Refuses, unless forced, to cut off an initiator that is logged in. */
static int check_sessions(struct planner *p, const struct tm_target *h, const char *what, bool busy)
{
	if (!busy || p->opts->force)
		return 0;
	return conflict(p, -EBUSY,
			"%s: %s has a logged-in session; log the initiator out or use --force",
			h->iqn, what);
}

/* The LUNs of a running target that logged-in initiators use: every LUN of an open target
   with a session, else the LUNs mapped in ACLs with a session (numbers, in a set). */
static int luns_in_use(const struct tm_target *h, bool *all, struct tm_hashmap *mapped)
{
	*all = target_open(h) && h->n_sessions > 0;
	if (target_open(h))
		return 0;
	for (size_t i = 0; i < h->n_acls; i++) {
		const struct tm_acl *a = &h->acls[i];
		if (!a->has_session)
			continue;
		for (size_t j = 0; j < a->n_mapped_luns; j++) {
			int r = tm_hashmap_put(mapped, tm_hash_u64(a->mapped_luns[j].lun),
					       a->mapped_luns[j].lun);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static bool lun_in_use(bool all, const struct tm_hashmap *mapped, unsigned lun)
{
	return all || tm_hashmap_contains(mapped, tm_hash_u64(lun), lun);
}

static int doom_luns(struct planner *p, const struct tm_target *wt, const struct tm_target *h)
{
	_cleanup_free_ char *what = NULL;
	_cleanup_(tm_hashmap_clear) struct tm_hashmap mapped = {0};
	bool all;
	int r;

	r = luns_in_use(h, &all, &mapped);
	if (r < 0)
		return r;
	for (size_t i = 0; i < h->n_luns; i++) {
		const struct tm_lun *hl = &h->luns[i];
		if (!lun_goes(p, wt, hl))
			continue;
		free(what);
		what = tm_strdupf("LUN %u", hl->number);
		if (!what)
			return -ENOMEM;
		r = check_sessions(p, h, what, lun_in_use(all, &mapped, hl->number));
		if (r < 0)
			return r;
		r = doom(p, hl);
		if (r < 0)
			return r;
	}
	return 0;
}

static int doom_inside_target(struct planner *p, const struct tm_target *wt,
			      const struct tm_target *h)
{
	_cleanup_free_ char *what = NULL;
	int r;

	r = doom_luns(p, wt, h);
	if (r < 0)
		return r;
	for (size_t i = 0; i < h->n_acls; i++) {
		const struct tm_acl *ha = &h->acls[i];
		const struct tm_acl *a = wt ? tm_target_find_acl(wt, ha->initiator) : NULL;

		if (!a) {
			free(what);
			what = tm_strdupf("ACL %s", ha->initiator);
			if (!what)
				return -ENOMEM;
			r = check_sessions(p, h, what, ha->has_session);
			if (r < 0)
				return r;
			r = doom(p, ha);
			if (r < 0)
				return r;
		}
		for (size_t j = 0; j < ha->n_mapped_luns; j++) {
			const struct tm_mapped_lun *hm = &ha->mapped_luns[j];
			const struct tm_mapped_lun *m =
			    a ? tm_acl_find_mapped_lun(a, hm->number) : NULL;
			const struct tm_lun *hl =
			    hm->lun == TM_LUN_UNLINKED ? NULL : tm_target_find_lun(h, hm->lun);

			if (m && hm->lun == m->lun && hl && !is_doomed(p, hl))
				continue;
			r = doom(p, hm);
			if (r < 0)
				return r;
		}
	}
	for (size_t i = 0; i < h->n_portals; i++) {
		if (wt && tm_target_find_portal(wt, h->portals[i].address))
			continue;
		r = doom(p, &h->portals[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int doom_targets(struct planner *p, const struct tm_config *want)
{
	for (size_t i = 0; i < p->have->n_targets; i++) {
		const struct tm_target *h = &p->have->targets[i];
		const struct tm_target *wt = tm_config_find_target(want, h->iqn);
		bool ours = owned(p, TM_OBJ_TARGET, h->iqn);
		int r;

		if (wt && !ours && !p->opts->adopt)
			return conflict(p, -EEXIST,
					"target %s exists and was not created by targetmgr "
					"(adopt it with --adopt)",
					h->iqn);
		if (!ours) {
			r = note_foreign(p, TM_OBJ_TARGET, h->iqn, wt);
			if (r < 0)
				return r;
		}
		if (wt && h->has_tpg && h->tpgt != wt->tpgt)
			return conflict(p, -EBUSY, "target %s has TPG %u, not %u; remove it first",
					h->iqn, h->tpgt, wt->tpgt);
		if (!wt && !ours) {
			/* Another tool's target must not lose a backstore under it. */
			for (size_t j = 0; j < h->n_luns; j++) {
				const struct tm_backstore *hb = tm_config_find_backstore(
				    p->have, h->luns[j].backstore_hba ?: "",
				    h->luns[j].backstore_name ?: "");
				if (hb && is_doomed(p, hb))
					return conflict(
					    p, -EBUSY,
					    "backstore %s/%s serves LUN %u of %s, which "
					    "targetmgr does not manage; not deleting it",
					    hb->hba, hb->name, h->luns[j].number, h->iqn);
			}
			continue;
		}
		if (!wt) {
			r = check_sessions(p, h, "the target", h->n_sessions > 0);
			if (r < 0)
				return r;
			r = doom(p, h);
			if (r < 0)
				return r;
		}
		r = doom_inside_target(p, wt, h);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- emitting ---- */

static int emit(struct planner *p, enum tm_op_type type, enum tm_obj_kind kind, enum tm_phase phase,
		const void *tree, const struct tm_op *fields)
{
	struct tm_op op = *fields;

	op.type = type;
	op.kind = kind;
	op.phase = phase;
	op.tree = tree;
	return push_op(p, &op) ? 0 : -ENOMEM;
}

/* The backstore a LUN links, by its position (the first with that HBA and name). */
static const struct tm_backstore *linked_backstore(const struct tm_config *c,
						   const struct tm_lun *l)
{
	if (!l->backstore_hba || !l->backstore_name)
		return NULL;
	return tm_config_find_backstore(c, l->backstore_hba, l->backstore_name);
}

/* Who links each backstore: one pass over the LUNs of both models. */
static void note_linker(const struct tm_target **slot, const struct tm_target *t)
{
	*slot = !*slot || *slot == t ? t : SEVERAL_LINKERS;
}

static int find_linkers(struct planner *p)
{
	const struct tm_config *have = p->have, *want = p->want;

	p->have_linker = calloc(have->n_backstores + 1, sizeof(*p->have_linker));
	p->want_linker = calloc(want->n_backstores + 1, sizeof(*p->want_linker));
	if (!p->have_linker || !p->want_linker)
		return -ENOMEM;
	for (size_t i = 0; i < have->n_targets; i++)
		for (size_t j = 0; j < have->targets[i].n_luns; j++) {
			const struct tm_target *t = &have->targets[i];
			const struct tm_backstore *b = linked_backstore(have, &t->luns[j]);

			if (b)
				note_linker(&p->have_linker[b - have->backstores], t);
		}
	for (size_t i = 0; i < want->n_targets; i++)
		for (size_t j = 0; j < want->targets[i].n_luns; j++) {
			const struct tm_target *t = &want->targets[i];
			const struct tm_backstore *b = linked_backstore(want, &t->luns[j]);

			if (b)
				note_linker(&p->want_linker[b - want->backstores], t);
		}
	return 0;
}

/* The one declared target whose LUNs link a declared backstore, NULL, or SEVERAL_LINKERS. */
static const struct tm_target *declared_linker(const struct planner *p,
					       const struct tm_backstore *b)
{
	const struct tm_backstore *first = tm_config_find_backstore(p->want, b->hba, b->name);

	return p->want_linker[first - p->want->backstores];
}

/* The one running target whose LUNs link a backstore, or NULL when none or several do. */
static const struct tm_target *only_linker(const struct planner *p, const struct tm_backstore *b)
{
	const struct tm_backstore *first = tm_config_find_backstore(p->have, b->hba, b->name);
	const struct tm_target *t = p->have_linker[first - p->have->backstores];

	return t == SEVERAL_LINKERS ? NULL : t;
}

/* Deletions inside one running target, children first; the target itself last if it goes. */
static int emit_teardown(struct planner *p, const struct tm_target *h)
{
	const enum tm_phase ph = TM_PHASE_TARGET_TEARDOWN;
	bool whole = is_doomed(p, h);
	const struct tm_setting *enable = tm_settings_find(&h->settings, "enable");
	int r;

	/* A TPG stops accepting logins before its parts go. */
	if (whole && h->has_tpg && (!enable || !streq(enable->value, "0"))) {
		r = emit(p, TM_OP_SET, TM_OBJ_TARGET, ph, h,
			 &(struct tm_op){.target = h,
					 .setting = &tpg_disable,
					 .old_value = enable ? enable->value : NULL});
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < h->n_acls; i++) {
		const struct tm_acl *ha = &h->acls[i];
		bool acl_goes = whole || is_doomed(p, ha);

		for (size_t j = 0; j < ha->n_mapped_luns; j++) {
			const struct tm_mapped_lun *hm = &ha->mapped_luns[j];
			if (!acl_goes && !is_doomed(p, hm))
				continue;
			r = emit(p, TM_OP_DELETE, TM_OBJ_MAPPED_LUN, ph, h,
				 &(struct tm_op){.target = h, .acl = ha, .mapped_lun = hm});
			if (r < 0)
				return r;
		}
		if (acl_goes) {
			r = emit(p, TM_OP_DELETE, TM_OBJ_ACL, ph, h,
				 &(struct tm_op){.target = h, .acl = ha});
			if (r < 0)
				return r;
		}
	}
	for (size_t i = 0; i < h->n_luns; i++) {
		if (!whole && !is_doomed(p, &h->luns[i]))
			continue;
		r = emit(p, TM_OP_DELETE, TM_OBJ_LUN, ph, h,
			 &(struct tm_op){.target = h, .lun = &h->luns[i]});
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < h->n_portals; i++) {
		if (!whole && !is_doomed(p, &h->portals[i]))
			continue;
		r = emit(p, TM_OP_DELETE, TM_OBJ_PORTAL, ph, h,
			 &(struct tm_op){.target = h, .portal = &h->portals[i]});
		if (r < 0)
			return r;
	}
	if (whole) {
		r = emit(p, TM_OP_DELETE, TM_OBJ_TARGET, ph, h, &(struct tm_op){.target = h});
		if (r < 0)
			return r;
	}
	/* The backstores only this target's going LUNs link go with them, in the same tree. */
	for (size_t i = 0; i < h->n_luns; i++) {
		const struct tm_lun *l = &h->luns[i];
		const struct tm_backstore *hb;

		if ((!whole && !is_doomed(p, l)) || !l->backstore_name)
			continue;
		hb = tm_config_find_backstore(p->have, l->backstore_hba, l->backstore_name);
		if (!hb || !is_doomed(p, hb) || in_set(&p->placed, hb) || only_linker(p, hb) != h)
			continue;
		r = add_to_set(&p->placed, hb);
		if (r >= 0)
			r = emit_backstore_delete(p, hb, ph, h);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The running counterpart of a declared object, unless it is absent or about to go. */
#define LIVE(p, x) ((x) && !is_doomed((p), (x)) ? (x) : NULL)

static int emit_backstore_build(struct planner *p, const struct tm_backstore *b,
				enum tm_phase phase, const void *tree)
{
	const struct tm_backstore *h = LIVE(p, tm_config_find_backstore(p->have, b->hba, b->name));
	const struct tm_op base = {
	    .kind = TM_OBJ_BACKSTORE, .phase = phase, .tree = tree, .backstore = b};
	const struct tm_setting *pr;
	int r;

	if (h && h->shared)
		return 0;
	if (!h) {
		r = emit(p, TM_OP_CREATE, TM_OBJ_BACKSTORE, base.phase, tree, &base);
		if (r < 0)
			return r;
	}
	for (enum tm_policy_stage st = TM_POLICY_BEFORE_ENABLE; st <= TM_POLICY_AFTER_ENABLE;
	     st++) {
		r = diff_settings(p, &base, &b->settings, h ? &h->settings : NULL, st);
		if (r < 0)
			return r;
	}
	r = emit_alua_groups(p, b, h, phase, tree);
	if (r < 0)
		return r;
	/* A new object has none of the reservations LIO saved for it (same serial).  RAM disks
	   too: LIO 6.1 saves and takes back APTPL registrations for every backend without
	   pass-through PGR, rd_mcp included (guest scenario rd-aptpl). */
	pr = tm_settings_find(&b->settings, "attrib/emulate_pr");
	if (h || !b->serial || (pr && streq(pr->value, "0")))
		return 0;
	return emit(p, TM_OP_CREATE, TM_OBJ_APTPL, phase, tree, &(struct tm_op){.backstore = b});
}

static int emit_acl_build(struct planner *p, const struct tm_target *t, const struct tm_acl *a,
			  const struct tm_target *ht)
{
	const struct tm_acl *ha = ht ? LIVE(p, tm_target_find_acl(ht, a->initiator)) : NULL;
	const struct tm_op base = {
	    .kind = TM_OBJ_ACL, .phase = TM_PHASE_TARGET_BUILD, .tree = t, .target = t, .acl = a};
	int r;

	if (!ha) {
		r = emit(p, TM_OP_CREATE, TM_OBJ_ACL, base.phase, t, &base);
		if (r < 0)
			return r;
	}
	r = diff_settings(p, &base, &a->settings, ha ? &ha->settings : NULL,
			  TM_POLICY_BEFORE_ENABLE);
	if (r < 0)
		return r;
	for (size_t i = 0; i < a->n_mapped_luns; i++) {
		const struct tm_mapped_lun *m = &a->mapped_luns[i];
		const struct tm_mapped_lun *hm =
		    ha ? LIVE(p, tm_acl_find_mapped_lun(ha, m->number)) : NULL;
		struct tm_op mbase = base;

		mbase.kind = TM_OBJ_MAPPED_LUN;
		mbase.mapped_lun = m;
		if (!hm) {
			r = emit(p, TM_OP_CREATE, TM_OBJ_MAPPED_LUN, base.phase, t, &mbase);
			if (r < 0)
				return r;
		}
		r = diff_settings(p, &mbase, &m->settings, hm ? &hm->settings : NULL,
				  TM_POLICY_BEFORE_ENABLE);
		if (r < 0)
			return r;
	}
	return 0;
}

static int emit_target_build(struct planner *p, const struct tm_target *t)
{
	const struct tm_target *h = LIVE(p, tm_config_find_target(p->have, t->iqn));
	const struct tm_op base = {
	    .kind = TM_OBJ_TARGET, .phase = TM_PHASE_TARGET_BUILD, .tree = t, .target = t};
	int r;

	if (h && !h->has_tpg)
		h = NULL; /* nothing below a missing TPG exists */
	/* First the storage of this target's LUNs, in this target's tree. */
	for (size_t i = 0; i < t->n_luns; i++) {
		const struct tm_backstore *b = tm_config_find_backstore(
		    p->want, t->luns[i].backstore_hba, t->luns[i].backstore_name);
		if (!b || in_set(&p->placed, b) || declared_linker(p, b) != t)
			continue;
		r = add_to_set(&p->placed, b);
		if (r >= 0)
			r = emit_backstore_build(p, b, TM_PHASE_TARGET_BUILD, t);
		if (r < 0)
			return r;
	}
	if (!h) {
		r = emit(p, TM_OP_CREATE, TM_OBJ_TARGET, base.phase, t, &base);
		if (r < 0)
			return r;
	}
	r = diff_settings(p, &base, &t->settings, h ? &h->settings : NULL, TM_POLICY_BEFORE_ENABLE);
	if (r < 0)
		return r;
	for (size_t i = 0; i < t->n_portals; i++) {
		if (h && LIVE(p, tm_target_find_portal(h, t->portals[i].address)))
			continue;
		r = emit(p, TM_OP_CREATE, TM_OBJ_PORTAL, base.phase, t,
			 &(struct tm_op){.target = t, .portal = &t->portals[i]});
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < t->n_luns; i++) {
		if (h && LIVE(p, tm_target_find_lun(h, t->luns[i].number)))
			continue;
		r = emit(p, TM_OP_CREATE, TM_OBJ_LUN, base.phase, t,
			 &(struct tm_op){.target = t, .lun = &t->luns[i]});
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < t->n_luns; i++) {
		r = emit_lun_alua(p, t, &t->luns[i], h);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < t->n_acls; i++) {
		r = emit_acl_build(p, t, &t->acls[i], h);
		if (r < 0)
			return r;
	}
	return diff_settings(p, &base, &t->settings, h ? &h->settings : NULL, TM_POLICY_ENABLE);
}

/*
 * The discovery settings the files do not declare go back to LIO's (discovery CHAP off) once
 * targetmgr owns discovery authentication: the files declare some of it, or did (see
 * ledger.h).  Another tool's discovery CHAP is left alone; so is it by scoped plans.
 */
static int emit_discovery_off(struct planner *p, const struct tm_op *base)
{
	const struct tm_settings *want = &p->want->discovery, *have = &p->have->discovery;
	const struct tm_setting *d;

	if (p->opts->scoped || (want->n == 0 && !owned(p, TM_OBJ_DISCOVERY, "")))
		return 0;
	for (size_t i = 0; (d = tm_policy_discovery_setting(i)); i++) {
		const struct tm_setting *h = tm_settings_find(have, d->path);
		struct tm_op op = *base;

		if (tm_settings_find(want, d->path) || !tm_policy_discovery_differs(have, d))
			continue;
		op.type = TM_OP_SET;
		op.setting = d;
		op.old_value = h && !d->secret ? h->value : NULL;
		if (!push_op(p, &op))
			return -ENOMEM;
	}
	return 0;
}

/* A set of HBA names (the strings stay in the models while the plan is built). */
static bool has_name(const struct tm_hashmap *set, const char *name)
{
	size_t cursor = 0, v;

	while (tm_hashmap_next(set, tm_hash_string(name), &cursor, &v))
		if (streq((const char *)v, name))
			return true;
	return false;
}

static int add_name(struct tm_hashmap *set, const char *name)
{
	if (has_name(set, name))
		return 0;
	return tm_hashmap_put(set, tm_hash_string(name), (uintptr_t)name);
}

/* The HBAs that keep a backstore once the plan ran, or get a declared one. */
static int hbas_in_use(const struct planner *p, struct tm_hashmap *ret)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && i < p->have->n_backstores; i++)
		if (!is_doomed(p, &p->have->backstores[i]))
			r = add_name(ret, p->have->backstores[i].hba);
	for (size_t i = 0; r >= 0 && i < p->want->n_backstores; i++)
		r = add_name(ret, p->want->backstores[i].hba);
	return r;
}

/*
 * LIO writes persistent reservations to <dbroot>/pr and fails every PERSISTENT RESERVE OUT when
 * it cannot (and ALUA state to <dbroot>/alua): both exist before a backstore is served.
 * Unknown (not scanned) or nothing declared: nothing to do.
 */
static int emit_dbroot(struct planner *p)
{
	const struct tm_config *have = p->have;
	const char *dir;
	int r;

	if (!have->dbroot || p->want->n_backstores == 0)
		return 0;
	dir = tm_policy_dbroot(have->dbroot, have->storage_objects);
	if (streq(dir, have->dbroot) && have->dbroot_ready)
		return 0;
	r = emit(p, TM_OP_CREATE, TM_OBJ_DBROOT, TM_PHASE_PREPARE, &have->dbroot,
		 &(struct tm_op){.dir = dir});
	if (r < 0 || streq(dir, have->dbroot))
		return r;
	return emit(p, TM_OP_SET, TM_OBJ_DBROOT, TM_PHASE_PREPARE, &have->dbroot,
		    &(struct tm_op){.setting = &dbroot_ours, .old_value = have->dbroot});
}

/*
 * The directories many objects share: made once before anything goes in them, and
 * targetmgr's own HBAs removed once nothing is left in them, so that clear leaves nothing
 * behind.  The iSCSI fabric stays: other tools' targets and discovery settings live there.
 */
static int emit_prepare(struct planner *p)
{
	const struct tm_config *want = p->want, *have = p->have;
	_cleanup_(tm_hashmap_clear) struct tm_hashmap in_use = {0}, present = {0};
	int r;

	r = hbas_in_use(p, &in_use);
	if (r < 0)
		return r;
	for (size_t i = 0; i < have->n_hbas; i++) {
		const char *hba = have->hbas[i];

		r = add_name(&present, hba);
		if (r < 0)
			return r;
		/* A scoped plan does not know the backstores of the other targets. */
		if (p->opts->scoped || !tm_hba_is_ours(hba) || has_name(&in_use, hba))
			continue;
		r = emit(p, TM_OP_DELETE, TM_OBJ_HBA, TM_PHASE_PREPARE, hba,
			 &(struct tm_op){.hba = hba});
		if (r < 0)
			return r;
	}

	r = emit_dbroot(p);
	if (r < 0)
		return r;
	if (!have->has_iscsi_fabric && (want->n_targets > 0 || want->discovery.n > 0)) {
		r = emit(p, TM_OP_CREATE, TM_OBJ_FABRIC, TM_PHASE_PREPARE, NULL,
			 &(struct tm_op){0});
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < want->n_backstores; i++) {
		const char *hba = want->backstores[i].hba;

		if (has_name(&present, hba))
			continue;
		r = add_name(&present, hba);
		if (r >= 0)
			r = emit(p, TM_OP_CREATE, TM_OBJ_HBA, TM_PHASE_PREPARE, hba,
				 &(struct tm_op){.hba = hba});
		if (r < 0)
			return r;
	}
	return 0;
}

int tm_plan_build(struct tm_config *want, struct tm_config *have,
		  const struct tm_plan_options *opts, struct tm_plan *ret, char **conflict_msg)
{
	static const struct tm_plan_options defaults = {0};
	struct planner p = {
	    .opts = opts ? opts : &defaults,
	    .want = want,
	    .have = have,
	    .plan = ret,
	    .conflict = conflict_msg,
	};
	const struct tm_op discovery = {
	    .kind = TM_OBJ_DISCOVERY, .phase = TM_PHASE_GLOBAL, .tree = &want->discovery};
	int r;

	*ret = (struct tm_plan){.want = tm_config_ref(want), .have = tm_config_ref(have)};
	if (conflict_msg)
		*conflict_msg = NULL;

	/* Every lookup below goes through the indexes: planning is linear in the objects. */
	r = tm_config_index(want);
	if (r >= 0)
		r = tm_config_index(have);
	if (r >= 0)
		r = find_linkers(&p);
	if (r >= 0)
		r = doom_backstores(&p, want);
	if (r >= 0)
		r = doom_targets(&p, want);
	for (size_t i = 0; r >= 0 && i < have->n_targets; i++)
		r = emit_teardown(&p, &have->targets[i]);
	for (size_t i = 0; r >= 0 && i < have->n_backstores; i++) {
		const struct tm_backstore *hb = &have->backstores[i];
		/* And the groups that go from backstores that stay. */
		if (!in_set(&p.placed, hb))
			r = emit_backstore_delete(&p, hb, TM_PHASE_BACKSTORE_DELETE, hb);
	}
	if (r >= 0)
		r = emit_prepare(&p);
	/* Backstores no declared LUN links (the parser makes none, but the model allows them),
	   and those the LUNs of several targets link: ready before any target tree starts. */
	for (size_t i = 0; r >= 0 && i < want->n_backstores; i++) {
		const struct tm_backstore *b = &want->backstores[i];
		const struct tm_target *t = declared_linker(&p, b);

		if (!t || t == SEVERAL_LINKERS)
			r = emit_backstore_build(&p, b, TM_PHASE_BACKSTORE_BUILD, b);
	}
	for (size_t i = 0; r >= 0 && i < want->n_targets; i++)
		r = emit_target_build(&p, &want->targets[i]);
	if (r >= 0)
		r = diff_settings(&p, &discovery, &want->discovery, &have->discovery,
				  TM_POLICY_BEFORE_ENABLE);
	if (r >= 0)
		r = emit_discovery_off(&p, &discovery);

	tm_hashmap_clear(&p.doomed.map);
	tm_hashmap_clear(&p.placed.map);
	free(p.have_linker);
	free(p.want_linker);
	if (r < 0)
		tm_plan_clear(ret);
	return r;
}

void tm_plan_clear(struct tm_plan *plan)
{
	for (size_t i = 0; i < plan->n_left_alone; i++)
		free(plan->left_alone[i]);
	free(plan->left_alone);
	for (size_t i = 0; i < plan->n_adopted; i++)
		free(plan->adopted[i]);
	free(plan->adopted);
	free(plan->ops);
	tm_config_unref(plan->want);
	tm_config_unref(plan->have);
	*plan = (struct tm_plan){0};
}

const char *tm_op_type_name(enum tm_op_type t)
{
	static const char *const names[] = {
	    [TM_OP_CREATE] = "create",
	    [TM_OP_DELETE] = "delete",
	    [TM_OP_SET] = "set",
	};
	return t < ELEMENTSOF(names) ? names[t] : NULL;
}

const char *tm_obj_kind_name(enum tm_obj_kind k)
{
	static const char *const names[] = {
	    [TM_OBJ_BACKSTORE] = "backstore",
	    [TM_OBJ_TARGET] = "target",
	    [TM_OBJ_PORTAL] = "portal",
	    [TM_OBJ_LUN] = "lun",
	    [TM_OBJ_ACL] = "acl",
	    [TM_OBJ_MAPPED_LUN] = "mapped_lun",
	    [TM_OBJ_DISCOVERY] = "discovery",
	    [TM_OBJ_FABRIC] = "fabric",
	    [TM_OBJ_HBA] = "hba",
	    [TM_OBJ_DBROOT] = "dbroot",
	    [TM_OBJ_APTPL] = "aptpl",
	    [TM_OBJ_ALUA_GROUP] = "alua_group",
	};
	return k < ELEMENTSOF(names) ? names[k] : NULL;
}
