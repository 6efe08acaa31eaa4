/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Output for programs.  Secrets never appear: only "secret": true where a value was hidden. */
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

static void json_auth(struct json *j, const struct tm_settings *s, bool enforced)
{
	json_open(j, "auth", '{');
	json_bool(j, "chap", enforced && nonempty(setting(s, "auth/userid")));
	json_string(j, "userid", nonempty(setting(s, "auth/userid")));
	json_string(j, "userid_mutual", nonempty(setting(s, "auth/userid_mutual")));
	json_close(j, '}');
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

static void json_backstore(struct json *j, const char *key, const struct tm_backstore *b,
			   bool managed)
{
	json_open(j, key, '{');
	json_string(j, "type", tm_backstore_type_name(b->type));
	json_string(j, "hba", b->hba);
	json_string(j, "name", b->name);
	json_string(j, "path", b->path);
	json_uint(j, "size", b->size);
	json_string(j, "serial", nonempty(b->serial));
	json_bool(j, "readonly", b->readonly);
	json_bool(j, "nullio", b->nullio);
	json_bool(j, "managed", managed);
	json_close(j, '}');
}

static void json_show(FILE *f, const struct tm_config *have,
		      bool (*owned)(void *userdata, enum tm_obj_kind kind, const char *name),
		      void *userdata)
{
	struct json j = {.f = f};

	json_open(&j, NULL, '{');
	json_open(&j, "targets", '[');
	for (size_t i = 0; i < have->n_targets; i++) {
		const struct tm_target *t = &have->targets[i];
		bool auth = streq_ptr(setting(&t->settings, "attrib/authentication"), "1");

		json_open(&j, NULL, '{');
		json_string(&j, "iqn", t->iqn);
		json_uint(&j, "tpgt", t->tpgt);
		json_bool(&j, "enabled", streq_ptr(setting(&t->settings, "enable"), "1"));
		json_bool(&j, "managed", !owned || owned(userdata, TM_OBJ_TARGET, t->iqn));
		json_bool(&j, "open",
			  streq_ptr(setting(&t->settings, "attrib/generate_node_acls"), "1"));
		json_auth(&j, &t->settings, auth);
		json_open(&j, "portals", '[');
		for (size_t k = 0; k < t->n_portals; k++)
			json_string(&j, NULL, t->portals[k].address);
		json_close(&j, ']');
		json_open(&j, "sessions", '[');
		for (size_t k = 0; k < t->n_sessions; k++)
			json_string(&j, NULL, t->sessions[k]);
		json_close(&j, ']');
		json_open(&j, "luns", '[');
		for (size_t k = 0; k < t->n_luns; k++) {
			const struct tm_lun *l = &t->luns[k];
			const struct tm_backstore *b =
			    tm_config_find_backstore(have, l->backstore_hba, l->backstore_name);
			json_open(&j, NULL, '{');
			json_uint(&j, "lun", l->number);
			if (b)
				json_backstore(&j, "backstore", b,
					       backstore_managed(b, owned, userdata));
			json_close(&j, '}');
		}
		json_close(&j, ']');
		json_open(&j, "acls", '[');
		for (size_t k = 0; k < t->n_acls; k++) {
			const struct tm_acl *a = &t->acls[k];
			json_open(&j, NULL, '{');
			json_string(&j, "initiator", a->initiator);
			json_bool(&j, "session", a->has_session);
			json_auth(&j, &a->settings, auth);
			json_open(&j, "mapped_luns", '[');
			for (size_t m = 0; m < a->n_mapped_luns; m++) {
				const struct tm_mapped_lun *ml = &a->mapped_luns[m];
				json_open(&j, NULL, '{');
				json_uint(&j, "mapped_lun", ml->number);
				json_uint(&j, "lun", ml->lun);
				json_bool(&j, "write_protect",
					  streq_ptr(setting(&ml->settings, "write_protect"), "1"));
				json_close(&j, '}');
			}
			json_close(&j, ']');
			json_close(&j, '}');
		}
		json_close(&j, ']');
		json_close(&j, '}');
	}
	json_close(&j, ']');
	json_open(&j, "backstores", '[');
	for (size_t i = 0; i < have->n_backstores; i++) {
		const struct tm_backstore *b = &have->backstores[i];
		json_backstore(&j, NULL, b, backstore_managed(b, owned, userdata));
	}
	json_close(&j, ']');
	json_close(&j, '}');
}

static void json_plan(FILE *f, const struct tm_plan *plan, bool executed)
{
	struct json j = {.f = f};
	size_t done = 0;

	for (size_t i = 0; i < plan->n_ops; i++)
		done += plan->ops[i].done;
	json_open(&j, NULL, '{');
	json_bool(&j, "changes", plan->n_ops > 0);
	if (executed) {
		json_uint(&j, "done", done);
		json_uint(&j, "total", plan->n_ops);
	}
	json_open(&j, "operations", '[');
	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct tm_op *op = &plan->ops[i];
		_cleanup_free_ char *what = tm_op_describe(op);

		json_open(&j, NULL, '{');
		json_string(&j, "op", tm_op_type_name(op->type));
		json_string(&j, "kind", tm_obj_kind_name(op->kind));
		json_string(&j, "object", what);
		if (op->type == TM_OP_SET) {
			json_string(&j, "setting", op->setting->path);
			if (op->setting->secret) {
				json_bool(&j, "secret", true);
			} else {
				json_string(&j, "value", op->setting->value);
				json_string(&j, "old_value", op->old_value);
			}
		}
		if (executed)
			json_bool(&j, "done", op->done);
		json_close(&j, '}');
	}
	json_close(&j, ']');
	json_open(&j, "adopted", '[');
	for (size_t i = 0; i < plan->n_adopted; i++)
		json_string(&j, NULL, plan->adopted[i]);
	json_close(&j, ']');
	json_open(&j, "left_alone", '[');
	for (size_t i = 0; i < plan->n_left_alone; i++)
		json_string(&j, NULL, plan->left_alone[i]);
	json_close(&j, ']');
	json_close(&j, '}');
}

static void json_check(FILE *f, const struct tm_config *config, const struct tm_diags *diags)
{
	struct json j = {.f = f};

	json_open(&j, NULL, '{');
	json_bool(&j, "valid", diags->n_errors == 0);
	json_uint(&j, "targets", config->n_targets);
	json_open(&j, "diagnostics", '[');
	for (size_t i = 0; i < diags->n; i++) {
		const struct tm_diag *d = &diags->v[i];
		json_open(&j, NULL, '{');
		json_string(&j, "severity", d->severity == TM_ERROR ? "error" : "warning");
		json_string(&j, "file", d->file);
		json_uint(&j, "line", d->line);
		json_string(&j, "message", d->message);
		json_close(&j, '}');
	}
	json_close(&j, ']');
	json_close(&j, '}');
}

const struct tm_printer tm_printer_json = {
    .show = json_show,
    .plan = json_plan,
    .check = json_check,
};
