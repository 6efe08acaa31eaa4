/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* targetmgr plan: print what apply would do, change nothing. */
#include "cli.h"

int tm_cmd_plan(struct tm_cli *cli, int argc, char **argv)
{
	_cleanup_(cli_plan_ctx_clear) struct cli_plan_ctx ctx = {0};
	int r = cli_parse_command(cli, "plan", CLI_OPT_TARGET, argc, argv, NULL);

	if (r != 0)
		return r > 0 ? TM_EXIT_OK : TM_EXIT_USAGE;
	if (cli_build_plan(cli, NULL, &ctx) < 0)
		return TM_EXIT_FAILURE;
	cli->printer->plan(stdout, &ctx.plan, false);
	return ctx.plan.n_ops > 0 ? TM_EXIT_CHANGES : TM_EXIT_OK;
}
