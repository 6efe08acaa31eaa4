/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* targetmgr apply: make LIO serve exactly what the target files declare. */
#include "../lib/verify.h"
#include "cli.h"

int tm_cmd_apply(struct tm_cli *cli, int argc, char **argv)
{
	_cleanup_(cli_plan_ctx_clear) struct cli_plan_ctx ctx = {0};
	_cleanup_close_ int lock = -EBADF;
	struct cli_command_opts opts;
	int r;

	r = cli_parse_command(cli, "apply", CLI_OPT_ADOPT | CLI_OPT_FORCE | CLI_OPT_TARGET, argc,
			      argv, &opts);
	if (r != 0)
		return r > 0 ? TM_EXIT_OK : TM_EXIT_USAGE;

	/* Nothing touches the kernel before the whole configuration parsed and verified. */
	if (cli_load_config(cli, TM_VERIFY_HOST, &ctx.want, &ctx.waiting) < 0)
		return TM_EXIT_FAILURE;
	if (cli_prepare_kernel(cli) < 0 || cli_lock(cli, &lock) < 0)
		return TM_EXIT_FAILURE;
	if (cli_build_plan(cli, &opts, &ctx) < 0)
		return TM_EXIT_FAILURE;
	r = cli_execute_plan(cli, &ctx);
	/* Waiting LUNs were reported as warnings; targetmgrd attaches them when they appear. */
	if (r == TM_EXIT_OK && ctx.waiting && ctx.waiting->n_backstores > 0)
		return TM_EXIT_WAITING;
	return r;
}
