/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Output for programs.  Secrets never appear: only "secret": true where a value was hidden. */
#include "../lib/alua.h"
#include "../lib/layout.h"
#include "../lib/syntax.h"
#include "../lib/util.h"
#include "json.h"
#include "print.h"

static const char *setting(const struct tm_settings *s, const char *path)
{
	const struct tm_setting *e = tm_settings_find(s, path);
	return e ? e->value : NULL;
}

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

static json_object *json_auth(const struct tm_settings *s, bool enforced)
{
	json_object *o = json_object_new_object();

	json_add(o, "chap", json_val_bool(enforced && nonempty(setting(s, "auth/userid"))));
	json_add(o, "userid", json_val_str(nonempty(setting(s, "auth/userid"))));
	json_add(o, "userid_mutual", json_val_str(nonempty(setting(s, "auth/userid_mutual"))));
	return o;
}

typedef bool (*owned_fn)(void *userdata, enum tm_obj_kind kind, const char *name);

static bool backstore_managed(const struct tm_backstore *b, owned_fn owned, void *userdata)
{
	_cleanup_free_ char *name = NULL;

	if (!owned)
		return true;
	name = tm_strdupf("%s/%s", b->hba, b->name);
	return name && owned(userdata, TM_OBJ_BACKSTORE, name);
}

/* A LUN's ALUA group: its name and id, and state and type in the target files' words. */
static json_object *json_alua_group(const struct tm_alua_group *g)
{
	json_object *o = json_object_new_object();

	json_add(o, "group", json_val_str(g->name));
	json_add(o, "id", json_val_uint(g->id));
	json_add(
	    o, "state",
	    json_val_str(tm_syntax_alua_state_word(setting(&g->settings, TM_LAYOUT_ALUA_STATE))));
	json_add(
	    o, "type",
	    json_val_str(tm_syntax_alua_type_word(setting(&g->settings, TM_LAYOUT_ALUA_TYPE))));
	json_add(o, "preferred",
		 json_val_bool(streq_ptr(setting(&g->settings, TM_LAYOUT_ALUA_PREFERRED), "1")));
	return o;
}

static json_object *json_backstore(const struct tm_backstore *b, bool managed)
{
	json_object *o = json_object_new_object();

	json_add(o, "type", json_val_str(tm_backstore_type_name(b->type)));
	json_add(o, "hba", json_val_str(b->hba));
	json_add(o, "name", json_val_str(b->name));
	json_add(o, "path", json_val_str(b->path));
	json_add(o, "size", json_val_uint(b->size));
	json_add(o, "serial", json_val_str(nonempty(b->serial)));
	json_add(o, "readonly", json_val_bool(b->readonly));
	json_add(o, "nullio", json_val_bool(b->nullio));
	json_add(o, "managed", json_val_bool(managed));
	return o;
}

static json_object *json_acl(const struct tm_acl *a, bool auth)
{
	json_object *o = json_object_new_object(), *mapped;

	json_add(o, "initiator", json_val_str(a->initiator));
	json_add(o, "session", json_val_bool(a->has_session));
	json_add(o, "auth", json_auth(&a->settings, auth));
	mapped = json_add(o, "mapped_luns", json_object_new_array());
	for (size_t m = 0; m < a->n_mapped_luns; m++) {
		const struct tm_mapped_lun *ml = &a->mapped_luns[m];
		json_object *e = json_push(mapped, json_object_new_object());

		json_add(e, "mapped_lun", json_val_uint(ml->number));
		json_add(e, "lun", json_val_uint(ml->lun));
		json_add(e, "write_protect",
			 json_val_bool(streq_ptr(setting(&ml->settings, "write_protect"), "1")));
	}
	return o;
}

static json_object *json_target(const struct tm_config *have, const struct tm_target *t,
				owned_fn owned, void *userdata)
{
	bool auth = streq_ptr(setting(&t->settings, "attrib/authentication"), "1");
	json_object *o = json_object_new_object(), *list;

	json_add(o, "iqn", json_val_str(t->iqn));
	json_add(o, "tpgt", json_val_uint(t->tpgt));
	json_add(o, "enabled", json_val_bool(streq_ptr(setting(&t->settings, "enable"), "1")));
	json_add(o, "managed", json_val_bool(!owned || owned(userdata, TM_OBJ_TARGET, t->iqn)));
	json_add(o, "open",
		 json_val_bool(streq_ptr(setting(&t->settings, "attrib/generate_node_acls"), "1")));
	json_add(o, "auth", json_auth(&t->settings, auth));
	list = json_add(o, "portals", json_object_new_array());
	for (size_t k = 0; k < t->n_portals; k++)
		json_push(list, json_val_str(t->portals[k].address));
	list = json_add(o, "sessions", json_object_new_array());
	for (size_t k = 0; k < t->n_sessions; k++)
		json_push(list, json_val_str(t->sessions[k]));
	list = json_add(o, "luns", json_object_new_array());
	for (size_t k = 0; k < t->n_luns; k++) {
		const struct tm_lun *l = &t->luns[k];
		const struct tm_backstore *b =
		    tm_config_find_backstore(have, l->backstore_hba, l->backstore_name);
		json_object *e = json_push(list, json_object_new_object());
		const struct tm_alua_group *g;

		json_add(e, "lun", json_val_uint(l->number));
		if (b)
			json_add(e, "backstore",
				 json_backstore(b, backstore_managed(b, owned, userdata)));
		if (b && (g = tm_alua_lun_group(b, l)))
			json_add(e, "alua", json_alua_group(g));
	}
	list = json_add(o, "acls", json_object_new_array());
	for (size_t k = 0; k < t->n_acls; k++)
		json_push(list, json_acl(&t->acls[k], auth));
	return o;
}

static void json_show(FILE *f, const struct tm_config *have, owned_fn owned, void *userdata)
{
	json_object *doc = json_object_new_object(), *list;

	list = json_add(doc, "targets", json_object_new_array());
	for (size_t i = 0; i < have->n_targets; i++)
		json_push(list, json_target(have, &have->targets[i], owned, userdata));
	list = json_add(doc, "backstores", json_object_new_array());
	for (size_t i = 0; i < have->n_backstores; i++) {
		const struct tm_backstore *b = &have->backstores[i];
		json_push(list, json_backstore(b, backstore_managed(b, owned, userdata)));
	}
	json_print(f, doc);
}

static void json_plan(FILE *f, const struct tm_plan *plan, bool executed)
{
	json_object *doc = json_object_new_object(), *list;
	size_t done = 0;

	for (size_t i = 0; i < plan->n_ops; i++)
		done += plan->ops[i].done;
	json_add(doc, "changes", json_val_bool(plan->n_ops > 0));
	if (executed) {
		json_add(doc, "done", json_val_uint(done));
		json_add(doc, "total", json_val_uint(plan->n_ops));
	}
	list = json_add(doc, "operations", json_object_new_array());
	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct tm_op *op = &plan->ops[i];
		_cleanup_free_ char *what = tm_op_describe(op);
		json_object *e = json_push(list, json_object_new_object());

		json_add(e, "op", json_val_str(tm_op_type_name(op->type)));
		json_add(e, "kind", json_val_str(tm_obj_kind_name(op->kind)));
		json_add(e, "object", json_val_str(what));
		if (op->type == TM_OP_SET) {
			json_add(e, "setting", json_val_str(op->setting->path));
			if (op->setting->released)
				json_add(e, "released", json_val_bool(true));
			if (op->setting->secret) {
				json_add(e, "secret", json_val_bool(true));
			} else {
				json_add(e, "value", json_val_str(op->setting->value));
				json_add(e, "old_value", json_val_str(op->old_value));
			}
		}
		if (executed)
			json_add(e, "done", json_val_bool(op->done));
	}
	list = json_add(doc, "adopted", json_object_new_array());
	for (size_t i = 0; i < plan->n_adopted; i++)
		json_push(list, json_val_str(plan->adopted[i]));
	list = json_add(doc, "left_alone", json_object_new_array());
	for (size_t i = 0; i < plan->n_left_alone; i++)
		json_push(list, json_val_str(plan->left_alone[i]));
	json_print(f, doc);
}

static void json_check(FILE *f, const struct tm_config *config, const struct tm_diags *diags)
{
	json_object *doc = json_object_new_object(), *list;

	json_add(doc, "valid", json_val_bool(diags->n_errors == 0));
	size_t luns = 0, mapped_luns = 0;

	/* What an operation's time grows with: the OCF agent sizes its timeouts on them. */
	for (size_t i = 0; i < config->n_targets; i++) {
		luns += config->targets[i].n_luns;
		for (size_t j = 0; j < config->targets[i].n_acls; j++)
			mapped_luns += config->targets[i].acls[j].n_mapped_luns;
	}
	json_add(doc, "targets", json_val_uint(config->n_targets));
	json_add(doc, "luns", json_val_uint(luns));
	json_add(doc, "mapped_luns", json_val_uint(mapped_luns));
	list = json_add(doc, "diagnostics", json_object_new_array());
	for (size_t i = 0; i < diags->n; i++) {
		const struct tm_diag *d = &diags->v[i];
		json_object *e = json_push(list, json_object_new_object());

		json_add(e, "severity",
			 json_val_str(d->severity == TM_ERROR ? "error" : "warning"));
		json_add(e, "file", json_val_str(d->file));
		json_add(e, "line", json_val_uint(d->line));
		json_add(e, "message", json_val_str(d->message));
	}
	json_print(f, doc);
}

const struct tm_printer tm_printer_json = {
    .show = json_show,
    .plan = json_plan,
    .check = json_check,
};
