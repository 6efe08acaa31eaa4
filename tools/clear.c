/* Being written. */
#include "cli.h"
int tm_cmd_clear(struct tm_cli *cli, int argc, char **argv)
{
	(void)cli, (void)argc, (void)argv;
	log_msg("clear: not implemented yet");
	return TM_EXIT_FAILURE;
}
