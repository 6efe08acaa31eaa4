/* Being written: see the save helper. */
#include "cli.h"
int tm_cmd_save(struct tm_cli *cli, int argc, char **argv)
{
	(void)cli, (void)argc, (void)argv;
	log_msg("save: not implemented yet");
	return TM_EXIT_FAILURE;
}
