/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * targetmgr save [--all] [-o PATH]: the running LIO state as target files, so that a host set
 * up with targetcli can be adopted, and `save` then `apply` on a clean kernel builds the same
 * targets again.
 *
 * No CHAP secret is written unless --with-secrets is given: each credential becomes
 * "USER @FILE" where the target files took that very secret from a secret file, else
 * "USER <withheld>", which `check` and `apply` refuse with a message saying what to put there
 * (lib/save.h).  The output goes to standard output without -o or with "-o -"; with -o PATH it
 * is written to a new file of mode 0600 in PATH's directory (O_EXCL), synced, and renamed over
 * PATH, so that PATH is never seen half written or readable by others, and a full disk leaves
 * the old PATH as it was.  PATH must be absent or a regular file: a symbolic link is neither
 * followed nor replaced, a device, FIFO or directory is refused.  --with-secrets writes the
 * secrets in clear, and only that way: never to standard output (a terminal, a pipe).
 *
 * By default only the targets targetmgr created (the ownership ledger) are written, with the
 * backstores behind their LUNs; --all writes every target, whoever made it.  What the target
 * file syntax cannot express becomes a comment in the output and a warning on stderr.  The
 * output is parsed and checked before it is written; should it not pass `targetmgr check`
 * (a bug), it is written anyway, the errors are printed, and the exit status is 1.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "../lib/layout.h"
#include "../lib/parse.h"
#include "../lib/policy.h"
#include "../lib/save.h"
#include "../lib/scan.h"
#include "../lib/verify.h"
#include "cli.h"

/* What a restore needs read from every object (the scanner reads only what the `want` model
   names for objects it lists): secrets among them, and the demo-mode attributes that the
   parser derives for open targets (read only for those). */
static const char *const tpg_extra[] = {
    "enable",
    "attrib/generate_node_acls",
    "attrib/authentication",
    "auth/userid",
    "auth/userid_mutual",
    "auth/password",
    "auth/password_mutual",
    NULL,
};
static const char *const tpg_open_extra[] = {"attrib/cache_dynamic_acls",
					     "attrib/demo_mode_write_protect", NULL};
static const char *const acl_extra[] = {"auth/userid", "auth/userid_mutual", "auth/password",
					"auth/password_mutual", NULL};

static int want_paths(struct tm_settings *s, const char *const *paths)
{
	for (; *paths; paths++) {
		int r = tm_settings_set(s, *paths, "", false, (struct tm_origin){0});
		if (r < 0)
			return r;
	}
	return 0;
}

/* The declared object's pass-through settings (attrib/..., param/..., a backstore's wwn/...):
   the kernel's values of the attributes the target files name are saved too. */
static int want_declared(struct tm_settings *s, const struct tm_settings *declared)
{
	for (size_t i = 0; declared && i < declared->n; i++) {
		const char *p = declared->v[i].path;
		int r;

		if (!startswith(p, "attrib/") && !startswith(p, "param/") && !startswith(p, "wwn/"))
			continue;
		r = tm_settings_set(s, p, "", false, (struct tm_origin){0});
		if (r < 0)
			return r;
	}
	return 0;
}

static bool is_open(const struct tm_target *t)
{
	const struct tm_setting *s = tm_settings_find(&t->settings, "attrib/generate_node_acls");
	return s && streq(s->value, "1");
}

/*
 * A model of the running objects (values irrelevant) whose settings name what the scanner
 * should read besides its defaults.  declared: the target files, for their attribute. and
 * parameter. keys (may be empty).
 */
static int build_want(const struct tm_config *have, const struct tm_config *declared,
		      struct tm_config **ret)
{
	_cleanup_config_ struct tm_config *want = tm_config_new();
	int r;

	if (!want)
		return -ENOMEM;
	for (size_t i = 0; i < have->n_backstores; i++) {
		const struct tm_backstore *h = &have->backstores[i];
		const struct tm_backstore *d = tm_config_find_backstore(declared, h->hba, h->name);
		struct tm_backstore *b;

		if (!d)
			continue;
		b = TM_PUSH(want->backstores, want->n_backstores);
		if (!b)
			return -ENOMEM;
		b->type = h->type;
		b->hba = strdup(h->hba);
		b->name = strdup(h->name);
		if (!b->hba || !b->name)
			return -ENOMEM;
		r = want_declared(&b->settings, &d->settings);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < have->n_targets; i++) {
		const struct tm_target *h = &have->targets[i];
		const struct tm_target *d = tm_config_find_target(declared, h->iqn);
		struct tm_target *t;

		if (!h->has_tpg)
			continue;
		t = TM_PUSH(want->targets, want->n_targets);
		if (!t)
			return -ENOMEM;
		t->iqn = strdup(h->iqn);
		if (!t->iqn)
			return -ENOMEM;
		t->tpgt = h->tpgt;
		r = want_paths(&t->settings, tpg_extra);
		if (r >= 0 && is_open(h))
			r = want_paths(&t->settings, tpg_open_extra);
		if (r >= 0)
			r = want_declared(&t->settings, d ? &d->settings : NULL);
		if (r < 0)
			return r;
		for (size_t j = 0; j < h->n_acls; j++) {
			const struct tm_acl *da =
			    d ? tm_target_find_acl(d, h->acls[j].initiator) : NULL;
			struct tm_acl *a = TM_PUSH(t->acls, t->n_acls);

			if (!a)
				return -ENOMEM;
			a->initiator = strdup(h->acls[j].initiator);
			if (!a->initiator)
				return -ENOMEM;
			r = want_paths(&a->settings, acl_extra);
			if (r >= 0)
				r = want_declared(&a->settings, da ? &da->settings : NULL);
			if (r < 0)
				return r;
		}
	}
	for (size_t i = 0; tm_policy_discovery_setting(i); i++) {
		r = tm_settings_set(&want->discovery, tm_policy_discovery_setting(i)->path, "",
				    false, (struct tm_origin){0});
		if (r < 0)
			return r;
	}
	*ret = want;
	want = NULL;
	return 0;
}

/* The target files, if they can be read at all: only the setting paths they name are used,
   so their diagnostics are not save's business. */
static struct tm_config *load_declared(struct tm_cli *cli)
{
	struct tm_config *c = tm_config_new();
	struct tm_diags d = {0};

	if (c)
		(void)tm_parse_path(cli->config_path, c, &d);
	tm_diags_clear(&d);
	return c;
}

/* A target with several portal groups: the model has one, the others would go unmentioned. */
static void warn_extra_tpgs(struct tm_cfs *cfs, const struct tm_target *t)
{
	_cleanup_strv_ char **names = NULL;
	_cleanup_free_ char *dir = tm_layout_wwn(t->iqn);
	unsigned n = 0;

	if (!dir || tm_cfs_list(cfs, dir, TM_CFS_DIR, &names) < 0)
		return;
	for (char **s = names; *s; s++)
		n += startswith(*s, TM_LAYOUT_TPGT_PREFIX) != NULL;
	if (n > 1)
		log_msg("save: warning: %s: target has %u portal groups; only tpgt_%u is saved",
			t->iqn, n, t->tpgt);
}

/* PATH's directory, opened, and the name within it. */
static int open_output_dir(const char *path, const char **ret_name)
{
	_cleanup_free_ char *dir = NULL;
	const char *slash = strrchr(path, '/');
	int fd;

	dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*ret_name = slash ? slash + 1 : path;
	return fd;
}

/* A refusal (a link, a device...) in words, any other error with strerror(). */
static void log_write_error(const char *path, int r)
{
	if (tm_write_refusal(r))
		log_msg("save: %s %s", path, tm_write_refusal(r));
	else
		log_error_errno(r, "cannot write %s", path);
}

static int write_stdout(const char *buf, size_t len)
{
	if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0)
		return errno > 0 ? -errno : -EIO;
	return 0;
}

int tm_cmd_save(struct tm_cli *cli, int argc, char **argv)
{
	_cleanup_config_ struct tm_config *first = NULL, *declared = NULL, *want = NULL,
					  *have = NULL;
	_cleanup_cfs_ struct tm_cfs *cfs = NULL;
	_cleanup_ledger_ struct tm_ledger *ledger = NULL;
	_cleanup_close_ int dfd = -EBADF;
	char *buf = NULL, *checked = NULL;
	struct tm_save_options sopts = {0};
	struct tm_diags warnings = {0};
	struct cli_command_opts opts;
	size_t len = 0, checked_len = 0, left_out = 0, errors;
	const char *name = NULL;
	bool to_stdout;
	int r, ret = TM_EXIT_FAILURE;

	r = cli_parse_command(cli, "save", CLI_OPT_ALL | CLI_OPT_OUTPUT | CLI_OPT_WITH_SECRETS,
			      argc, argv, &opts);
	if (r != 0)
		return r > 0 ? TM_EXIT_OK : TM_EXIT_USAGE;
	if (cli->json) {
		log_msg("save: --json is not supported: save writes target files");
		return TM_EXIT_USAGE;
	}
	if (opts.output && !*opts.output) {
		log_msg("save: -o needs a file name, or '-' for standard output");
		return TM_EXIT_USAGE;
	}
	to_stdout = !opts.output || streq(opts.output, "-");
	if (opts.with_secrets && to_stdout) {
		log_msg("save: --with-secrets writes CHAP secrets in clear, so only into a new "
			"private file: give -o FILE (never standard output, a terminal or a pipe)");
		return TM_EXIT_USAGE;
	}
	/* Refused before anything is read: a link, a device (a terminal) or a FIFO at PATH. */
	if (!to_stdout) {
		dfd = open_output_dir(opts.output, &name);
		r = dfd < 0 ? dfd : tm_check_replaceable(dfd, name);
		if (r < 0)
			return log_write_error(opts.output, r), TM_EXIT_FAILURE;
	}

	/* First the structure, then again with the settings only save needs. */
	if (cli_scan(cli, NULL, &cfs, &first) < 0)
		return TM_EXIT_FAILURE;
	declared = load_declared(cli);
	if (!declared)
		return log_error_errno(-ENOMEM, "save"), TM_EXIT_FAILURE;
	r = build_want(first, declared, &want);
	if (r < 0)
		return log_error_errno(r, "save"), TM_EXIT_FAILURE;
	r = tm_scan(cfs, want, &have);
	if (r < 0)
		return log_error_errno(r, "cannot read the running state from %s",
				       cli->configfs_root),
		       TM_EXIT_FAILURE;

	if (!opts.all) {
		if (cli_open_ledger(cli, &ledger) < 0)
			return TM_EXIT_FAILURE;
		sopts.select = tm_ledger_owned_cb;
		sopts.userdata = ledger;
	}
	for (size_t i = 0; i < have->n_targets; i++) {
		const struct tm_target *t = &have->targets[i];

		if (ledger && !tm_ledger_owns(ledger, TM_OBJ_TARGET, t->iqn)) {
			left_out++;
			continue;
		}
		if (t->has_tpg)
			warn_extra_tpgs(cfs, t);
	}

	/* The text with the secrets is what is checked (the placeholder would not pass); it
	   is written only with --with-secrets. */
	r = tm_config_write_text(have, &sopts, opts.with_secrets ? &warnings : NULL, &checked,
				 &checked_len);
	if (r >= 0 && !opts.with_secrets) {
		sopts.withhold_secrets = true;
		sopts.secret_files = declared;
		r = tm_config_write_text(have, &sopts, &warnings, &buf, &len);
	}
	if (r < 0) {
		log_error_errno(r, "save");
		goto finish;
	}
	for (size_t i = 0; i < warnings.n; i++)
		log_msg("save: warning: %s", warnings.v[i].message);
	if (left_out > 0)
		log_msg("save: %zu target(s) made by other tools left out; --all saves them too",
			left_out);

	errors = cli_self_check("save", to_stdout ? "<stdout>" : opts.output, checked);
	if (opts.with_secrets) /* never to_stdout */
		r = tm_write_file_atomic(dfd, name, checked, checked_len, 0600);
	else if (to_stdout)
		r = write_stdout(buf, len);
	else
		r = tm_write_file_atomic(dfd, name, buf, len, 0600);
	if (r < 0) {
		log_write_error(to_stdout ? "standard output" : opts.output, r);
		goto finish;
	}
	ret = errors > 0 ? TM_EXIT_FAILURE : TM_EXIT_OK;
finish:
	tm_erase_free(checked, checked_len); /* CHAP secrets */
	tm_erase_free(buf, len);
	tm_diags_clear(&warnings);
	return ret;
}
