/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* targetmgr check: validate target files; never touches the kernel. */
#include "../lib/parse.h"
#include "../lib/verify.h"
#include "../lib/waiting.h"
#include "cli.h"

int tm_cmd_check(struct tm_cli *cli, int argc, char **argv)
{
	_cleanup_config_ struct tm_config *config = tm_config_new();
	struct tm_diags diags = {0};
	int r = cli_parse_command(cli, "check", CLI_OPT_TARGET, argc, argv, NULL);

	if (r != 0)
		return r > 0 ? TM_EXIT_OK : TM_EXIT_USAGE;
	if (!config)
		return log_error_errno(-ENOMEM, "check"), TM_EXIT_FAILURE;
	r = tm_parse_path(cli->config_path, config, &diags);
	if (r >= 0 && diags.n_errors == 0 && cli_narrow(cli, config) < 0)
		return tm_diags_clear(&diags), TM_EXIT_FAILURE;
	if (r >= 0 && diags.n_errors == 0)
		tm_declared_prepare(config, TM_VERIFY_HOST, NULL, NULL, NULL, &diags);
	/* Diagnostics go to stderr for people; --json puts them on stdout instead. */
	if (!cli->json)
		tm_diags_print(&diags, stderr);
	cli->printer->check(stdout, config, &diags);
	r = r < 0 || diags.n_errors > 0 ? TM_EXIT_FAILURE : TM_EXIT_OK;
	tm_diags_clear(&diags);
	return r;
}
