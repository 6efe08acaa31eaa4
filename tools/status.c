/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* targetmgr status: what targetmgrd reports (waiting LUNs, last apply, errors). */
#include "../lib/control.h"
#include "cli.h"

int tm_cmd_status(struct tm_cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *answer = NULL;
	const char *body;
	int r = cli_parse_command(cli, "status", 0, argc, argv, NULL);

	if (r != 0)
		return r > 0 ? TM_EXIT_OK : TM_EXIT_USAGE;
	r = tm_control_query(cli->state_dir, cli->json ? "status json" : "status", &answer);
	if (r == -ENOENT || r == -ECONNREFUSED) {
		log_error_errno(r,
				"targetmgrd is not running (no answer on %s/%s); "
				"'targetmgr show' prints what LIO serves",
				cli->state_dir, TM_CONTROL_SOCKET);
		return TM_EXIT_UNAVAILABLE;
	}
	if (r < 0)
		return log_error_errno(r, "cannot query targetmgrd in %s", cli->state_dir),
		       TM_EXIT_FAILURE;
	/* The first line is the verdict, the rest the document. */
	body = strchr(answer, '\n');
	fputs(body ? body + 1 : answer, stdout);
	return startswith(answer, "ok\n") ? TM_EXIT_OK : TM_EXIT_FAILURE;
}
