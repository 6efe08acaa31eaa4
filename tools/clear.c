/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* targetmgr clear: remove every object targetmgr owns; other tools' objects stay.  With
   --target, those targets and the backstores only they use; with --adopt too, whether the
   ledger lists them or not (a failover node's stop). */
#include "cli.h"

int tm_cmd_clear(struct tm_cli *cli, int argc, char **argv)
{
	_cleanup_(cli_plan_ctx_clear) struct cli_plan_ctx ctx = {0};
	_cleanup_close_ int lock = -EBADF;
	struct cli_command_opts opts;
	int r;

	r = cli_parse_command(cli, "clear", CLI_OPT_FORCE | CLI_OPT_ADOPT | CLI_OPT_TARGET, argc,
			      argv, &opts);
	if (r != 0)
		return r > 0 ? TM_EXIT_OK : TM_EXIT_USAGE;
	if (opts.adopt && cli->n_targets == 0) {
		log_msg("clear: --adopt takes the targets named with --target, never every object");
		return TM_EXIT_USAGE;
	}

	/* Clearing is applying an empty declaration: the planner prunes what targetmgr owns. */
	ctx.want = tm_config_new();
	if (!ctx.want)
		return log_error_errno(-ENOMEM, "clear"), TM_EXIT_FAILURE;
	if (cli_lock(cli, &lock) < 0 || cli_build_plan(cli, &opts, &ctx) < 0)
		return TM_EXIT_FAILURE;
	return cli_execute_plan(cli, &ctx);
}
