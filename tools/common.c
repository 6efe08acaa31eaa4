/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <getopt.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "../lib/exec.h"
#include "../lib/parse.h"
#include "../lib/scan.h"
#include "../lib/syntax.h"
#include "../lib/system.h"
#include "../lib/verify.h"
#include "../lib/waiting.h"
#include "cli.h"

void log_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("targetmgr: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int log_error_errno(int err, const char *fmt, ...)
{
	va_list ap;

	fputs("targetmgr: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	err = err < 0 ? -err : err;
	fprintf(stderr, ": %s (%s)\n", strerror(err), strerrorname_np(err) ?: "?");
	err = -err;
	return err;
}

int cli_narrow(struct tm_cli *cli, struct tm_config *config)
{
	const char *missing = NULL;
	int r;

	if (cli->n_targets == 0)
		return 0;
	r = tm_config_narrow(config, cli->targets, cli->n_targets, &missing);
	if (r == -ENOENT)
		log_msg("target %s is not declared in %s", missing, cli->config_path);
	else if (r < 0)
		log_error_errno(r, "cannot select the targets");
	return r;
}

int cli_load_config(struct tm_cli *cli, unsigned verify_flags, struct tm_config **ret,
		    struct tm_config **ret_waiting)
{
	_cleanup_config_ struct tm_config *config = tm_config_new();
	_cleanup_config_ struct tm_config *waiting = NULL;
	struct tm_diags diags = {0};
	int r;

	if (!config)
		return log_error_errno(-ENOMEM, "cannot load target files");
	r = tm_parse_path(cli->config_path, config, &diags);
	if (r >= 0 && diags.n_errors == 0)
		r = cli_narrow(cli, config);
	if (r >= 0 && diags.n_errors == 0)
		r = tm_declared_prepare(config, verify_flags, NULL, NULL, &waiting, &diags);
	tm_diags_print(&diags, stderr);
	if (r >= 0 && diags.n_errors > 0)
		r = -EINVAL;
	if (r >= 0) {
		*ret = TAKE_PTR(config);
		if (ret_waiting)
			*ret_waiting = TAKE_PTR(waiting);
	}
	tm_diags_clear(&diags);
	return r;
}

int cli_prepare_kernel(struct tm_cli *cli)
{
	const char *failed = NULL;
	bool mounted;
	int r;

	/* A test tree stands in for configfs: there is nothing to load or mount. */
	if (!streq(cli->configfs_root, TM_DEFAULT_CONFIGFS))
		return 0;
	r = tm_modules_load(tm_required_modules, &failed);
	if (r < 0)
		return log_error_errno(r, "cannot load kernel module %s", failed ? failed : "?");
	r = tm_configfs_mount(cli->configfs_root, &mounted);
	if (r < 0)
		return log_error_errno(r, "cannot mount configfs at %s", cli->configfs_root);
	return 0;
}

int cli_scan(struct tm_cli *cli, const struct tm_config *want, struct tm_cfs **ret_cfs,
	     struct tm_config **ret_have)
{
	_cleanup_cfs_ struct tm_cfs *cfs = NULL;
	int r;

	r = tm_cfs_open(cli->configfs_root, &cfs);
	if (r < 0)
		return log_error_errno(r, "cannot open configfs at %s", cli->configfs_root);
	r = cli->n_targets > 0 ? tm_scan_scoped(cfs, want, cli->targets, cli->n_targets, ret_have)
			       : tm_scan(cfs, want, ret_have);
	if (r < 0)
		return log_error_errno(r, "cannot read the running state from %s",
				       cli->configfs_root);
	*ret_cfs = cfs;
	cfs = NULL;
	return 0;
}

bool cli_global_option(struct tm_cli *cli, int c, const char *arg)
{
	switch (c) {
	case 'c':
		cli->config_path = arg;
		return true;
	case CLI_LONG_CONFIGFS_ROOT:
		cli->configfs_root = arg;
		return true;
	case CLI_LONG_STATE_DIR:
		cli->state_dir = arg;
		return true;
	case CLI_LONG_JSON:
		cli->json = true;
		cli->printer = &tm_printer_json;
		return true;
	}
	return false;
}

int cli_parse_command(struct tm_cli *cli, const char *cmd, unsigned allowed, int argc, char **argv,
		      struct cli_command_opts *ret)
{
	static const struct option options[] = {
	    {"adopt", no_argument, NULL, 'a'},
	    {"force", no_argument, NULL, 'f'},
	    {"all", no_argument, NULL, 'A'},
	    {"output", required_argument, NULL, 'o'},
	    {"target", required_argument, NULL, 't'},
	    {"with-secrets", no_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    CLI_GLOBAL_OPTIONS,
	    {},
	};
	struct cli_command_opts opts = {0};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:" CLI_GLOBAL_SHORT_OPTIONS, options, NULL)) != -1) {
		if (cli_global_option(cli, c, optarg))
			continue;
		switch (c) {
		case 'a':
			if (!(allowed & CLI_OPT_ADOPT))
				goto usage;
			opts.adopt = true;
			break;
		case 'f':
			if (!(allowed & CLI_OPT_FORCE))
				goto usage;
			opts.force = true;
			break;
		case 'A':
			if (!(allowed & CLI_OPT_ALL))
				goto usage;
			opts.all = true;
			break;
		case 'o':
			if (!(allowed & CLI_OPT_OUTPUT))
				goto usage;
			opts.output = optarg;
			break;
		case 't': {
			const char *invalid = tm_syntax_iscsi_name_invalid(optarg);

			if (!(allowed & CLI_OPT_TARGET))
				goto usage;
			if (invalid) {
				log_msg("%s: --target %s: %s", cmd, optarg, invalid);
				return -1;
			}
			if (!TM_PUSH(cli->targets, cli->n_targets)) {
				log_error_errno(-ENOMEM, "%s", cmd);
				return -1;
			}
			cli->targets[cli->n_targets - 1] = optarg;
			break;
		}
		case 'S':
			if (!(allowed & CLI_OPT_WITH_SECRETS))
				goto usage;
			opts.with_secrets = true;
			break;
		case 'h':
			printf("Usage: targetmgr [OPTIONS] %s%s%s%s%s%s%s [OPTIONS]\n", cmd,
			       allowed & CLI_OPT_ADOPT ? " [--adopt]" : "",
			       allowed & CLI_OPT_FORCE ? " [--force]" : "",
			       allowed & CLI_OPT_ALL ? " [--all]" : "",
			       allowed & CLI_OPT_OUTPUT ? " [-o PATH]" : "",
			       allowed & CLI_OPT_TARGET ? " [--target IQN]..." : "",
			       allowed & CLI_OPT_WITH_SECRETS ? " [--with-secrets -o FILE]" : "");
			if (allowed & CLI_OPT_TARGET)
				printf(
				    "  --target IQN  only this target and the backstores only it "
				    "uses (repeatable)\n");
			return 1;
		default:
			goto usage;
		}
	}
	if (optind < argc) {
		log_msg("%s: unexpected argument '%s'", cmd, argv[optind]);
		return -1;
	}
	if (ret)
		*ret = opts;
	return 0;
usage:
	log_msg("%s: see 'targetmgr %s --help'", cmd, cmd);
	return -1;
}

/* A declared device that a backstore of another tool already serves: refused before any
   write (lib/system.h). */
static int cli_check_served(struct cli_plan_ctx *ctx)
{
	struct tm_diags diags = {0};
	int r =
	    tm_check_devices_served(ctx->want, ctx->have, tm_ledger_owned_cb, ctx->ledger, &diags);

	tm_diags_print(&diags, stderr);
	tm_diags_clear(&diags);
	return r < 0 ? log_error_errno(r, "cannot check devices") : r > 0 ? -EBUSY : 0;
}

/*
 * --adopt with --target: the named targets, and the backstores only they use, are
 * targetmgr's whatever the ledger says.  A failover node has no ledger of the objects
 * another node made (it lives in /run), and the cluster names the targets it manages.
 */
static int adopt_scope(struct tm_ledger *ledger, const struct tm_config *have)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && i < have->n_targets; i++)
		r = tm_ledger_add(ledger, TM_OBJ_TARGET, have->targets[i].iqn);
	for (size_t i = 0; r >= 0 && i < have->n_backstores; i++) {
		const struct tm_backstore *b = &have->backstores[i];
		_cleanup_free_ char *key = NULL;

		if (b->shared)
			continue;
		key = tm_strdupf("%s/%s", b->hba, b->name);
		r = key ? tm_ledger_add(ledger, TM_OBJ_BACKSTORE, key) : -ENOMEM;
	}
	return r < 0 ? r : 0;
}

int cli_build_plan(struct tm_cli *cli, const struct cli_command_opts *copts,
		   struct cli_plan_ctx *ctx)
{
	_cleanup_free_ char *conflict = NULL;
	struct tm_plan_options opts = {
	    .adopt = copts && copts->adopt,
	    .force = copts && copts->force,
	    .owned = tm_ledger_owned_cb,
	};
	int r;

	if (!ctx->want) {
		r = cli_load_config(cli, TM_VERIFY_HOST, &ctx->want, &ctx->waiting);
		if (r < 0)
			return r;
	}
	r = cli_open_ledger(cli, &ctx->ledger);
	if (r < 0)
		return r;
	/* Before the scan, which then reads the settings going back too. */
	r = tm_ledger_release(ctx->ledger, ctx->want);
	if (r < 0)
		return log_error_errno(r, "cannot plan");
	r = cli_scan(cli, ctx->want, &ctx->cfs, &ctx->have);
	if (r < 0)
		return r;
	opts.userdata = ctx->ledger;
	opts.scoped = cli->n_targets > 0;
	if (opts.scoped && opts.adopt) {
		r = adopt_scope(ctx->ledger, ctx->have);
		if (r < 0)
			return log_error_errno(r, "cannot adopt the targets");
	}
	r = cli_check_served(ctx);
	if (r < 0)
		return r;
	r = tm_plan_build(ctx->want, ctx->have, &opts, &ctx->plan, &conflict);
	if (r < 0 && conflict) {
		log_msg("%s", conflict);
		return r;
	}
	if (r < 0)
		return log_error_errno(r, "cannot plan");
	return 0;
}

void cli_plan_ctx_clear(struct cli_plan_ctx *ctx)
{
	tm_plan_clear(&ctx->plan);
	if (ctx->ledger)
		tm_ledger_free(ctx->ledger);
	if (ctx->cfs)
		tm_cfs_close(ctx->cfs);
	if (ctx->have)
		tm_config_free(ctx->have);
	if (ctx->want)
		tm_config_free(ctx->want);
	if (ctx->waiting)
		tm_config_free(ctx->waiting);
	*ctx = (struct cli_plan_ctx){0};
}

int cli_open_ledger(struct tm_cli *cli, struct tm_ledger **ret)
{
	struct tm_diags diags = {0};
	int r = tm_ledger_open(cli->state_dir, &diags, ret);

	tm_diags_print(&diags, stderr);
	tm_diags_clear(&diags);
	if (r < 0 && r != -EBADMSG)
		log_error_errno(r, "cannot read the ownership ledger in %s", cli->state_dir);
	return r;
}

int cli_lock(struct tm_cli *cli, int *ret_fd)
{
	_cleanup_free_ char *path = tm_strdupf("%s/lock", cli->state_dir);
	int fd;

	if (!path)
		return log_error_errno(-ENOMEM, "cannot lock");
	if (mkdir(cli->state_dir, 0700) < 0 && errno != EEXIST)
		return log_error_errno(-errno, "cannot create %s", cli->state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return log_error_errno(-errno, "cannot open %s", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = -errno;
			close(fd);
			return log_error_errno(r, "cannot lock %s", path);
		}
	}
	*ret_fd = fd;
	return 0;
}

int cli_execute_plan(struct tm_cli *cli, struct cli_plan_ctx *ctx)
{
	struct tm_exec_failure failure = {0};
	size_t done = 0;
	int r;

	/* Record ownership before creating anything: an interrupted run leaves at worst a
	   ledger entry that names nothing, never an object nobody owns.  Also without
	   operations: what --adopt took over is targetmgr's from now on. */
	r = tm_ledger_record(ctx->ledger, ctx->want);
	if (r < 0) {
		log_error_errno(r, "cannot write the ownership ledger in %s", cli->state_dir);
		return TM_EXIT_FAILURE;
	}
	if (ctx->plan.n_ops > 0) {
		r = tm_exec(ctx->cfs, &ctx->plan, TM_DEFAULT_WORKERS, &failure);
		for (size_t i = 0; i < ctx->plan.n_ops; i++)
			done += ctx->plan.ops[i].done;
	} else {
		r = 0;
	}
	cli->printer->plan(stdout, &ctx->plan, true);
	if (r < 0) {
		_cleanup_free_ char *what = tm_op_describe(failure.op);
		_cleanup_free_ char *why = tm_exec_failure_explain(&failure);
		log_error_errno(r, "cannot %s %s (%s)", tm_op_type_name(failure.op->type),
				what ? what : "?", failure.path ? failure.path : "?");
		if (why)
			log_msg("%s", why);
		if (done > 0)
			log_msg("partially applied: %zu of %zu operations done; run apply again "
				"once the cause is fixed",
				done, ctx->plan.n_ops);
		tm_exec_failure_clear(&failure);
		return done > 0 ? TM_EXIT_PARTIAL : TM_EXIT_FAILURE;
	}
	r = tm_ledger_keep_only_in(ctx->ledger, ctx->want, cli->n_targets > 0 ? ctx->have : NULL);
	if (r < 0)
		log_error_errno(r, "cannot update the ownership ledger in %s", cli->state_dir);
	return TM_EXIT_OK;
}

size_t cli_self_check(const char *cmd, const char *name, const char *text)
{
	_cleanup_config_ struct tm_config *c = tm_config_new();
	struct tm_diags d = {0};
	size_t n = 0;

	if (!c)
		return 1;
	if (tm_parse_string(name, text, c, &d) >= 0 && d.n_errors == 0)
		tm_verify(c, 0, &d);
	for (size_t i = 0; i < d.n; i++) {
		if (d.v[i].severity != TM_ERROR)
			continue;
		log_msg("%s: error: the output does not pass 'targetmgr check' (please report "
			"this): %s:%u: %s",
			cmd, name, d.v[i].line, d.v[i].message);
		n++;
	}
	tm_diags_clear(&d);
	return n;
}
