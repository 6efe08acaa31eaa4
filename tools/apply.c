/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* targetmgr apply: make the kernel match the target files. */
#include <getopt.h>

#include "../lib/exec.h"
#include "../lib/verify.h"
#include "cli.h"

int tm_cmd_apply(struct tm_cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"adopt", no_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	_cleanup_(cli_plan_ctx_clear) struct cli_plan_ctx ctx = {0};
	struct tm_exec_failure failure = {0};
	bool adopt = false;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (c == 'a') {
			adopt = true;
		} else if (c == 'h') {
			printf("Usage: targetmgr [OPTIONS] apply [--adopt]\n");
			return TM_EXIT_OK;
		} else {
			return TM_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		log_msg("apply: unexpected argument '%s'", argv[optind]);
		return TM_EXIT_USAGE;
	}

	/* Nothing touches the kernel before the whole configuration parsed and verified. */
	r = cli_load_config(cli, TM_VERIFY_HOST, &ctx.want);
	if (r < 0)
		return TM_EXIT_FAILURE;
	if (cli_prepare_kernel(cli) < 0)
		return TM_EXIT_FAILURE;
	if (cli_build_plan(cli, adopt, &ctx) < 0)
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
