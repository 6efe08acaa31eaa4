/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Output for people: `show` reads like `tgtadm --op show --mode target`, plans like terraform. */
#include "../lib/alua.h"
#include "../lib/layout.h"
#include "../lib/syntax.h"
#include "../lib/util.h"
#include "print.h"

static const char *setting(const struct tm_settings *s, const char *path)
{
	const struct tm_setting *e = tm_settings_find(s, path);
	return e ? e->value : NULL;
}

static bool setting_is(const struct tm_settings *s, const char *path, const char *value)
{
	return streq_ptr(setting(s, path), value);
}

static void print_auth(FILE *f, const char *indent, const struct tm_settings *s, bool enforced)
{
	const char *user = setting(s, "auth/userid"), *mutual = setting(s, "auth/userid_mutual");

	if (!enforced || !user || !*user) {
		fprintf(f, "%sAuthentication: none\n", indent);
		return;
	}
	/* The user names only: secrets never leave the kernel through targetmgr. */
	fprintf(f, "%sAuthentication: CHAP, user %s", indent, user);
	if (mutual && *mutual)
		fprintf(f, ", mutual user %s", mutual);
	fputc('\n', f);
}

static void print_backstore(FILE *f, const struct tm_backstore *b)
{
	char size[32];

	tm_format_size(b->size, size, sizeof(size));
	fprintf(f, "            Type: %s, backstore %s/%s\n", tm_backstore_type_name(b->type),
		b->hba, b->name);
	fprintf(f, "            Backing store path: %s\n", b->path ? b->path : "None");
	if (b->size)
		fprintf(f, "            Size: %llu bytes (%s)\n", (unsigned long long)b->size,
			size);
	else
		fprintf(f, "            Size: unknown\n");
	fprintf(f, "            Serial: %s\n", b->serial && *b->serial ? b->serial : "None");
	fprintf(f, "            Read-only: %s%s\n", b->readonly ? "Yes" : "No",
		b->nullio ? ", nullio" : "");
}

/* "ALUA group: NAME (id N), active/optimized, implicit, preferred" */
static void print_alua_group(FILE *f, const struct tm_alua_group *g)
{
	const char *state = tm_syntax_alua_state_word(setting(&g->settings, TM_LAYOUT_ALUA_STATE));
	const char *type = tm_syntax_alua_type_word(setting(&g->settings, TM_LAYOUT_ALUA_TYPE));

	fprintf(f, "            ALUA group: %s (id %u), %s, %s%s\n", g->name, g->id,
		state ? state : "unknown state", type ? type : "unknown type",
		setting_is(&g->settings, TM_LAYOUT_ALUA_PREFERRED, "1") ? ", preferred" : "");
}

static void text_show(FILE *f, const struct tm_config *have,
		      bool (*owned)(void *userdata, enum tm_obj_kind kind, const char *name),
		      void *userdata)
{
	for (size_t i = 0; i < have->n_targets; i++) {
		const struct tm_target *t = &have->targets[i];
		bool open = setting_is(&t->settings, "attrib/generate_node_acls", "1");
		bool auth = setting_is(&t->settings, "attrib/authentication", "1");

		fprintf(f, "Target %zu: %s%s\n", i + 1, t->iqn,
			owned && !owned(userdata, TM_OBJ_TARGET, t->iqn)
			    ? " (not managed by targetmgr)"
			    : "");
		fprintf(f, "    TPG: %u, %s\n", t->tpgt,
			setting_is(&t->settings, "enable", "1") ? "enabled" : "disabled");
		fprintf(f, "    Portals:\n");
		for (size_t j = 0; j < t->n_portals; j++)
			fprintf(f, "        %s\n", t->portals[j].address);
		fprintf(f, "    I_T nexus information:\n");
		for (size_t j = 0; j < t->n_sessions; j++)
			fprintf(f, "        Initiator: %s\n", t->sessions[j]);
		fprintf(f, "    LUN information:\n");
		for (size_t j = 0; j < t->n_luns; j++) {
			const struct tm_lun *l = &t->luns[j];
			const struct tm_backstore *b =
			    tm_config_find_backstore(have, l->backstore_hba, l->backstore_name);
			const struct tm_alua_group *g;

			fprintf(f, "        LUN: %u\n", l->number);
			if (b)
				print_backstore(f, b);
			if (b && (g = tm_alua_lun_group(b, l)))
				print_alua_group(f, g);
		}
		if (open) {
			print_auth(f, "    ", &t->settings, auth);
			fprintf(f, "    ACL information:\n        ALL\n");
			continue;
		}
		fprintf(f, "    ACL information:\n");
		for (size_t j = 0; j < t->n_acls; j++) {
			const struct tm_acl *a = &t->acls[j];
			fprintf(f, "        %s\n            Mapped LUNs:", a->initiator);
			for (size_t k = 0; k < a->n_mapped_luns; k++) {
				const struct tm_mapped_lun *m = &a->mapped_luns[k];
				fprintf(f, " %u", m->number);
				if (m->number != m->lun)
					fprintf(f, "->%u", m->lun);
				if (setting_is(&m->settings, "write_protect", "1"))
					fputs("(ro)", f);
			}
			fputc('\n', f);
			print_auth(f, "            ", &a->settings, auth);
		}
	}
}

static void text_plan(FILE *f, const struct tm_plan *plan, bool executed)
{
	size_t created = 0, deleted = 0, set = 0, done = 0;

	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct tm_op *op = &plan->ops[i];
		_cleanup_free_ char *what = NULL;

		/* After a run, what happened; an operation that never ran is not news. */
		if (executed && !op->done)
			continue;
		done++;
		what = tm_op_describe(op);
		switch (op->type) {
		case TM_OP_CREATE:
			created++;
			fprintf(f, "+ %s %s", tm_obj_kind_name(op->kind), what);
			if (op->kind == TM_OBJ_BACKSTORE && op->backstore->path)
				fprintf(f, " (%s %s)", tm_backstore_type_name(op->backstore->type),
					op->backstore->path);
			else if (op->kind == TM_OBJ_LUN)
				fprintf(f, " -> core/%s/%s", op->lun->backstore_hba,
					op->lun->backstore_name);
			fputc('\n', f);
			break;
		case TM_OP_DELETE:
			deleted++;
			fprintf(f, "- %s %s\n", tm_obj_kind_name(op->kind), what);
			break;
		case TM_OP_SET:
			set++;
			if (op->setting->secret)
				fprintf(f, "~ %s %s: (secret)", what, op->setting->path);
			else if (op->old_value)
				fprintf(f, "~ %s %s: \"%s\" -> \"%s\"", what, op->setting->path,
					op->old_value, op->setting->value);
			else
				fprintf(f, "~ %s %s: \"%s\"", what, op->setting->path,
					op->setting->value);
			fputs(op->setting->released ? " (no longer declared)\n" : "\n", f);
			break;
		}
	}
	for (size_t i = 0; i < plan->n_adopted; i++)
		fprintf(f, "= %s: adopted (made by another tool)\n", plan->adopted[i]);
	for (size_t i = 0; i < plan->n_left_alone; i++)
		fprintf(f, "= %s: left alone (made by another tool)\n", plan->left_alone[i]);
	if (plan->n_ops == 0)
		fprintf(f, "No changes.\n");
	else if (executed)
		fprintf(f,
			"Applied %zu of %zu operations: %zu created, %zu changed, %zu deleted.\n",
			done, plan->n_ops, created, set, deleted);
	else
		fprintf(f, "Plan: %zu to create, %zu to change, %zu to delete.\n", created, set,
			deleted);
}

static void text_check(FILE *f, const struct tm_config *config, const struct tm_diags *diags)
{
	size_t luns = 0;

	for (size_t i = 0; i < config->n_targets; i++)
		luns += config->targets[i].n_luns;
	if (diags->n_errors)
		fprintf(f, "%zu error(s).\n", diags->n_errors);
	else
		fprintf(f, "OK: %zu target(s), %zu LUN(s), %zu warning(s).\n", config->n_targets,
			luns, diags->n);
}

const struct tm_printer tm_printer_text = {
    .show = text_show,
    .plan = text_plan,
    .check = text_check,
};
