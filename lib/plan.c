/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "plan.h"

#include <errno.h>

#include "util.h"

struct planner {
	const struct tm_plan_options *opts;
	struct tm_plan *plan;
	char **conflict;
};

static struct tm_op *push_op(struct planner *p, enum tm_op_type type, enum tm_obj_kind kind)
{
	struct tm_op *op = TM_PUSH(p->plan->ops, p->plan->n_ops);
	if (op) {
		op->type = type;
		op->kind = kind;
	}
	return op;
}

/* Emits one SET per setting whose running value differs.  "enable" goes last: the caller
   passes late=true once everything below the object exists. */
static int diff_settings(struct planner *p, const struct tm_op *base,
			 const struct tm_settings *want, const struct tm_settings *have, bool late)
{
	for (size_t i = 0; i < want->n; i++) {
		const struct tm_setting *s = &want->v[i];
		const struct tm_setting *h;
		struct tm_op *op;

		if (streq(s->path, "enable") != late)
			continue;
		h = have ? tm_settings_find(have, s->path) : NULL;
		if (h && streq(h->value, s->value))
			continue;
		op = push_op(p, TM_OP_SET, base->kind);
		if (!op)
			return -ENOMEM;
		*op = *base;
		op->type = TM_OP_SET;
		op->setting = s;
		op->old_value = h ? h->value : NULL;
	}
	return 0;
}

static bool owned(const struct planner *p, enum tm_obj_kind kind, const char *name)
{
	return p->opts->adopt || !p->opts->owned || p->opts->owned(p->opts->userdata, kind, name);
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

static int plan_backstore(struct planner *p, const struct tm_backstore *b,
			  const struct tm_config *have)
{
	const struct tm_backstore *h = tm_config_find_backstore(have, b->hba, b->name);
	struct tm_op base = {.kind = TM_OBJ_BACKSTORE, .backstore = b};
	_cleanup_free_ char *name = tm_strdupf("%s/%s", b->hba, b->name);
	int r;

	if (!name)
		return -ENOMEM;
	if (h && !owned(p, TM_OBJ_BACKSTORE, name))
		return conflict(
		    p, -EEXIST,
		    "backstore %s exists and was not created by targetmgr (adopt it with --adopt)",
		    name);
	/* What the kernel cannot change in place.  Recreating is the reconciler's job; until it
	   exists, refuse rather than touch a backstore that may be serving data. */
	if (h &&
	    (h->type != b->type || !streq_ptr(h->path, b->path) || h->readonly != b->readonly ||
	     h->nullio != b->nullio || (b->type == TM_BACKSTORE_RAMDISK && h->size != b->size)))
		return conflict(
		    p, -EBUSY,
		    "backstore %s exists with a different backing store; remove it first", name);
	if (!h) {
		struct tm_op *op = push_op(p, TM_OP_CREATE, TM_OBJ_BACKSTORE);
		if (!op)
			return -ENOMEM;
		op->backstore = b;
	}
	r = diff_settings(p, &base, &b->settings, h ? &h->settings : NULL, false);
	if (r < 0)
		return r;
	return diff_settings(p, &base, &b->settings, h ? &h->settings : NULL, true);
}

static int plan_acl(struct planner *p, const struct tm_target *t, const struct tm_acl *a,
		    const struct tm_target *ht)
{
	const struct tm_acl *ha = ht ? tm_target_find_acl(ht, a->initiator) : NULL;
	struct tm_op base = {.kind = TM_OBJ_ACL, .target = t, .acl = a};
	int r;

	if (!ha) {
		struct tm_op *op = push_op(p, TM_OP_CREATE, TM_OBJ_ACL);
		if (!op)
			return -ENOMEM;
		*op = base;
		op->type = TM_OP_CREATE;
	}
	r = diff_settings(p, &base, &a->settings, ha ? &ha->settings : NULL, false);
	if (r < 0)
		return r;
	for (size_t i = 0; i < a->n_mapped_luns; i++) {
		const struct tm_mapped_lun *m = &a->mapped_luns[i];
		const struct tm_mapped_lun *hm = ha ? tm_acl_find_mapped_lun(ha, m->number) : NULL;
		struct tm_op mbase = base;

		mbase.kind = TM_OBJ_MAPPED_LUN;
		mbase.mapped_lun = m;
		if (hm && hm->lun == TM_LUN_UNLINKED)
			hm = NULL;
		if (hm && hm->lun != m->lun)
			return conflict(
			    p, -EBUSY,
			    "%s: mapped LUN %u of %s points at LUN %u, not %u; remove it first",
			    t->iqn, m->number, a->initiator, hm->lun, m->lun);
		if (!hm) {
			struct tm_op *op = push_op(p, TM_OP_CREATE, TM_OBJ_MAPPED_LUN);
			if (!op)
				return -ENOMEM;
			*op = mbase;
			op->type = TM_OP_CREATE;
		}
		r = diff_settings(p, &mbase, &m->settings, hm ? &hm->settings : NULL, false);
		if (r < 0)
			return r;
	}
	return 0;
}

static int plan_target(struct planner *p, const struct tm_target *t, const struct tm_config *have)
{
	const struct tm_target *h = tm_config_find_target(have, t->iqn);
	struct tm_op base = {.kind = TM_OBJ_TARGET, .target = t};
	int r;

	if (h && !owned(p, TM_OBJ_TARGET, t->iqn))
		return conflict(
		    p, -EEXIST,
		    "target %s exists and was not created by targetmgr (adopt it with --adopt)",
		    t->iqn);
	if (h && h->has_tpg && h->tpgt != t->tpgt)
		return conflict(p, -EBUSY, "target %s has TPG %u, not %u", t->iqn, h->tpgt,
				t->tpgt);
	if (!h || !h->has_tpg) {
		struct tm_op *op = push_op(p, TM_OP_CREATE, TM_OBJ_TARGET);
		if (!op)
			return -ENOMEM;
		op->target = t;
		h = NULL; /* nothing below a missing TPG exists */
	}
	r = diff_settings(p, &base, &t->settings, h ? &h->settings : NULL, false);
	if (r < 0)
		return r;

	for (size_t i = 0; i < t->n_portals; i++) {
		struct tm_op *op;
		if (h && tm_target_find_portal(h, t->portals[i].address))
			continue;
		op = push_op(p, TM_OP_CREATE, TM_OBJ_PORTAL);
		if (!op)
			return -ENOMEM;
		op->target = t;
		op->portal = &t->portals[i];
	}

	for (size_t i = 0; i < t->n_luns; i++) {
		const struct tm_lun *l = &t->luns[i];
		const struct tm_lun *hl = h ? tm_target_find_lun(h, l->number) : NULL;
		struct tm_op *op;

		/* A LUN directory without its link (an interrupted apply) is finished by
		   creating it again: the executor tolerates the existing directory. */
		if (hl && !hl->backstore_name)
			hl = NULL;
		if (hl && (!streq_ptr(hl->backstore_hba, l->backstore_hba) ||
			   !streq_ptr(hl->backstore_name, l->backstore_name)))
			return conflict(p, -EBUSY,
					"%s: LUN %u serves %s/%s, not %s/%s; remove it first",
					t->iqn, l->number, hl->backstore_hba, hl->backstore_name,
					l->backstore_hba, l->backstore_name);
		if (hl)
			continue;
		op = push_op(p, TM_OP_CREATE, TM_OBJ_LUN);
		if (!op)
			return -ENOMEM;
		op->target = t;
		op->lun = l;
	}

	for (size_t i = 0; i < t->n_acls; i++) {
		r = plan_acl(p, t, &t->acls[i], h);
		if (r < 0)
			return r;
	}
	return diff_settings(p, &base, &t->settings, h ? &h->settings : NULL, true);
}

int tm_plan_build(const struct tm_config *want, const struct tm_config *have,
		  const struct tm_plan_options *opts, struct tm_plan *ret, char **conflict_msg)
{
	static const struct tm_plan_options defaults = {0};
	struct planner p = {.opts = opts ? opts : &defaults, .plan = ret, .conflict = conflict_msg};
	struct tm_op base = {.kind = TM_OBJ_DISCOVERY};
	int r = 0;

	*ret = (struct tm_plan){0};
	if (conflict_msg)
		*conflict_msg = NULL;
	for (size_t i = 0; r >= 0 && i < want->n_backstores; i++)
		r = plan_backstore(&p, &want->backstores[i], have);
	for (size_t i = 0; r >= 0 && i < want->n_targets; i++)
		r = plan_target(&p, &want->targets[i], have);
	if (r >= 0)
		r = diff_settings(&p, &base, &want->discovery, &have->discovery, false);
	if (r < 0)
		tm_plan_clear(ret);
	return r;
}

void tm_plan_clear(struct tm_plan *plan)
{
	free(plan->ops);
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
	};
	return k < ELEMENTSOF(names) ? names[k] : NULL;
}
