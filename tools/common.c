/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>

#include "../lib/parse.h"
#include "../lib/scan.h"
#include "../lib/system.h"
#include "../lib/verify.h"
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
	fprintf(stderr, ": %s\n", strerror(err < 0 ? -err : err));
	return err;
}

int cli_load_config(struct tm_cli *cli, unsigned verify_flags, struct tm_config **ret)
{
	_cleanup_config_ struct tm_config *config = tm_config_new();
	struct tm_diags diags = {0};
	int r;

	if (!config)
		return log_error_errno(-ENOMEM, "cannot load target files");
	r = tm_parse_path(cli->config_path, config, &diags);
	if (r >= 0 && diags.n_errors == 0)
		tm_verify(config, verify_flags, &diags);
	tm_diags_print(&diags, stderr);
	if (r >= 0 && diags.n_errors > 0)
		r = -EINVAL;
	if (r >= 0) {
		*ret = config;
		config = NULL;
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
	r = tm_scan(cfs, want, ret_have);
	if (r < 0)
		return log_error_errno(r, "cannot read the running state from %s",
				       cli->configfs_root);
	*ret_cfs = cfs;
	cfs = NULL;
	return 0;
}

int cli_parse_command(struct tm_cli *cli, const char *cmd, unsigned allowed, int argc,
		      char **argv, struct cli_command_opts *ret)
{
	enum { OPT_JSON = 0x100 };
	static const struct option options[] = {
		{"adopt", no_argument, NULL, 'a'},
		{"force", no_argument, NULL, 'f'},
		{"all", no_argument, NULL, 'A'},
		{"output", required_argument, NULL, 'o'},
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	struct cli_command_opts opts = {0};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
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
		case OPT_JSON:
			/* Accepted after the command too: `targetmgr show --json`. */
			cli->json = true;
			cli->printer = &tm_printer_json;
			break;
		case 'h':
			printf("Usage: targetmgr [OPTIONS] %s%s%s%s%s [--json]\n", cmd,
			       allowed & CLI_OPT_ADOPT ? " [--adopt]" : "",
			       allowed & CLI_OPT_FORCE ? " [--force]" : "",
			       allowed & CLI_OPT_ALL ? " [--all]" : "",
			       allowed & CLI_OPT_OUTPUT ? " [-o PATH]" : "");
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

int cli_build_plan(struct tm_cli *cli, bool adopt, struct cli_plan_ctx *ctx)
{
	_cleanup_free_ char *conflict = NULL;
	struct tm_plan_options opts = {.adopt = adopt, .owned = tm_ledger_owned_cb};
	int r;

	if (!ctx->want) {
		r = cli_load_config(cli, TM_VERIFY_HOST, &ctx->want);
		if (r < 0)
			return r;
	}
	r = cli_scan(cli, ctx->want, &ctx->cfs, &ctx->have);
	if (r < 0)
		return r;
	r = tm_ledger_open(cli->state_dir, &ctx->ledger);
	if (r < 0)
		return log_error_errno(r, "cannot read the ownership ledger in %s", cli->state_dir);
	opts.userdata = ctx->ledger;
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
	*ctx = (struct cli_plan_ctx){0};
}
