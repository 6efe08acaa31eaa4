/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* targetmgr show: what LIO serves now, read back from configfs. */
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

#include "../lib/parse.h"
#include "../lib/waiting.h"
#include "cli.h"

/* configfs does not report an iblock device's size; the block device itself does. */
static void fill_block_sizes(struct tm_config *have)
{
	for (size_t i = 0; i < have->n_backstores; i++) {
		struct tm_backstore *b = &have->backstores[i];
		_cleanup_close_ int fd = -EBADF;
		uint64_t size;

		if (b->type != TM_BACKSTORE_IBLOCK || b->size || !b->path)
			continue;
		fd = open(b->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0 && ioctl(fd, BLKGETSIZE64, &size) == 0)
			b->size = size;
	}
}

/* Declared LUNs whose block device is missing: in the files, not in LIO (lib/waiting.h).
   Nothing when the files do not load: `check` says why. */
static void print_waiting(struct tm_cli *cli)
{
	_cleanup_config_ struct tm_config *want = tm_config_new(), *waiting = NULL;
	struct tm_diags diags = {0};
	const char *missing;

	if (want && tm_parse_path(cli->config_path, want, &diags) >= 0 && diags.n_errors == 0 &&
	    (cli->n_targets == 0 ||
	     tm_config_narrow(want, cli->targets, cli->n_targets, &missing) == 0) &&
	    tm_declared_prepare(want, 0, NULL, NULL, &waiting, &diags) == 0 &&
	    tm_waiting_count(waiting) > 0) {
		printf("\nWaiting for their block device (declared, not served; see targetmgr "
		       "status):\n");
		tm_waiting_print(stdout, waiting);
	}
	tm_diags_clear(&diags);
}

int tm_cmd_show(struct tm_cli *cli, int argc, char **argv)
{
	_cleanup_config_ struct tm_config *have = NULL;
	_cleanup_cfs_ struct tm_cfs *cfs = NULL;
	_cleanup_ledger_ struct tm_ledger *ledger = NULL;
	int r = cli_parse_command(cli, "show", CLI_OPT_TARGET, argc, argv, NULL);
	size_t absent = 0;

	if (r != 0)
		return r > 0 ? TM_EXIT_OK : TM_EXIT_USAGE;
	if (cli_scan(cli, NULL, &cfs, &have) < 0)
		return TM_EXIT_FAILURE;
	if (cli_open_ledger(cli, &ledger) < 0)
		return TM_EXIT_FAILURE;
	fill_block_sizes(have);
	cli->printer->show(stdout, have, tm_ledger_owned_cb, ledger);
	if (!cli->json)
		print_waiting(cli);
	/* A named target that LIO does not serve is an error, after the others were shown. */
	for (size_t i = 0; i < cli->n_targets; i++)
		if (!tm_config_find_target(have, cli->targets[i])) {
			log_msg("show: target %s does not exist", cli->targets[i]);
			absent++;
		}
	return absent > 0 ? TM_EXIT_FAILURE : TM_EXIT_OK;
}
