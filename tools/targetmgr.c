/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* targetmgr: declarative LIO iSCSI targets.  This file dispatches; one subcommand per file. */
#include <getopt.h>

#include "cli.h"

#ifndef TM_VERSION
#define TM_VERSION "unknown"
#endif

static const struct tm_command commands[] = {
    {"apply", "make LIO serve exactly what the target files declare", tm_cmd_apply},
    {"plan", "print the operations apply would run", tm_cmd_plan},
    {"diff", "the same as plan", tm_cmd_plan},
    {"check", "validate the target files without touching the kernel", tm_cmd_check},
    {"show", "print what LIO serves now", tm_cmd_show},
    {"clear", "remove every object targetmgr created", tm_cmd_clear},
    {"save", "write the running state as target files", tm_cmd_save},
    {"status", "what targetmgrd reports: waiting LUNs, last apply, errors", tm_cmd_status},
    {"import", "write tgt's, targetcli's or SCST's configuration as target files", tm_cmd_import},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: targetmgr [OPTIONS] COMMAND [ARGS]\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\nOptions (before or after the command):\n"
		"  -c, --config PATH        target file or directory (default %s)\n"
		"      --configfs-root DIR  configfs mount point (default %s)\n"
		"      --state-dir DIR      where the ownership ledger lives (default %s)\n"
		"      --json               machine-readable output\n"
		"\napply, plan, show, clear and check take --target IQN (repeatable): only those\n"
		"targets and the backstores only they use are read and changed.\n"
		"  -h, --help               this help\n"
		"      --version            print the version\n"
		"\nSee targetmgr(8) and targetmgr.conf(5).\n",
		TM_DEFAULT_CONFIG, TM_DEFAULT_CONFIGFS, TM_DEFAULT_STATE_DIR);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, CLI_LONG_VERSION},
	    CLI_GLOBAL_OPTIONS,
	    {},
	};
	struct tm_cli cli = {
	    .config_path = TM_DEFAULT_CONFIG,
	    .configfs_root = TM_DEFAULT_CONFIGFS,
	    .state_dir = TM_DEFAULT_STATE_DIR,
	    .printer = &tm_printer_text,
	};
	const char *e;
	int c, r;

	/* Before any secret is read (lib/util.h). */
	r = tm_protect_secrets();
	if (r < 0)
		return log_error_errno(r, "cannot make the process non-dumpable"), TM_EXIT_FAILURE;
	/* Tests point targetmgr at a throwaway tree without flags; never honoured for setuid. */
	if ((e = secure_getenv("TARGETMGR_CONFIGFS_ROOT")))
		cli.configfs_root = e;
	if ((e = secure_getenv("TARGETMGR_STATE_DIR")))
		cli.state_dir = e;

	/* '+': the command's own options follow its name; the global ones may too (the
	   command's parser takes those as well). */
	while ((c = getopt_long(argc, argv, "+h" CLI_GLOBAL_SHORT_OPTIONS, options, NULL)) != -1) {
		if (cli_global_option(&cli, c, optarg))
			continue;
		switch (c) {
		case 'h':
			usage(stdout);
			return TM_EXIT_OK;
		case CLI_LONG_VERSION:
			printf("targetmgr %s\n", TM_VERSION);
			return TM_EXIT_OK;
		default:
			usage(stderr);
			return TM_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return TM_EXIT_USAGE;
	}
	for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
		if (!streq(argv[optind], commands[i].name))
			continue;
		int r = commands[i].run(&cli, argc - optind, argv + optind);

		free(cli.targets);
		return r;
	}
	log_msg("unknown command '%s'; see 'targetmgr --help'", argv[optind]);
	return TM_EXIT_USAGE;
}
