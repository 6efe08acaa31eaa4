/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* targetmgr apply: make the kernel match the target files. */
#include "../lib/exec.h"
#include "../lib/verify.h"
#include "cli.h"

int tm_cmd_apply(struct tm_cli *cli, int argc, char **argv)
{
	_cleanup_(cli_plan_ctx_clear) struct cli_plan_ctx ctx = {0};
	struct tm_exec_failure failure = {0};
	struct cli_command_opts opts;
	int r;

	r = cli_parse_command(cli, "apply", CLI_OPT_ADOPT, argc, argv, &opts);
	if (r != 0)
		return r > 0 ? TM_EXIT_OK : TM_EXIT_USAGE;

	/* Nothing touches the kernel before the whole configuration parsed and verified. */
	r = cli_load_config(cli, TM_VERIFY_HOST, &ctx.want);
	if (r < 0)
		return TM_EXIT_FAILURE;
	if (cli_prepare_kernel(cli) < 0)
		return TM_EXIT_FAILURE;
	if (cli_build_plan(cli, opts.adopt, &ctx) < 0)
		return TM_EXIT_FAILURE;
	if (ctx.plan.n_ops == 0) {
		cli->printer->plan(stdout, &ctx.plan, "apply", 0);
		return TM_EXIT_OK;
	}

	/* Record ownership before creating anything: an interrupted apply leaves at worst a
	   ledger entry that names nothing, never an object nobody owns. */
	r = tm_ledger_record(ctx.ledger, ctx.want);
	if (r < 0) {
		log_error_errno(r, "cannot write the ownership ledger in %s", cli->state_dir);
		return TM_EXIT_FAILURE;
	}
	r = tm_exec(ctx.cfs, &ctx.plan, &failure);
	cli->printer->plan(stdout, &ctx.plan, "apply",
			   r >= 0 ? ctx.plan.n_ops : (size_t)(failure.op - ctx.plan.ops));
	if (r < 0) {
		_cleanup_free_ char *what = tm_op_describe(failure.op);
		log_error_errno(r, "cannot %s %s (%s)", tm_op_type_name(failure.op->type),
				what ? what : "?", failure.path ? failure.path : "?");
		r = failure.op == ctx.plan.ops ? TM_EXIT_FAILURE : TM_EXIT_PARTIAL;
		tm_exec_failure_clear(&failure);
		return r;
	}
	return TM_EXIT_OK;
}
