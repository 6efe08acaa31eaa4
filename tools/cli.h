/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the targetmgr subcommands share: options, logging, and the pipeline's first steps. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "../configfs/cfs.h"
#include "../lib/diag.h"
#include "../lib/ledger.h"
#include "../lib/model.h"
#include "../lib/util.h"
#include "print.h"

#define TM_DEFAULT_CONFIG    "/etc/targetmgr/targets.d"
#define TM_DEFAULT_CONFIGFS  "/sys/kernel/config"
#define TM_DEFAULT_STATE_DIR "/run/targetmgr"
/* configfs calls mostly sleep in the kernel: 16 trees at once gained 12x in the shared
   measurements (real-kernel-testing.md), more gained nothing. */
#define TM_DEFAULT_WORKERS 16

/* Exit statuses, documented in targetmgr(8). */
enum {
	TM_EXIT_OK = 0,
	TM_EXIT_FAILURE = 1, /* bad input, or the kernel refused before anything changed */
	TM_EXIT_CHANGES = 2, /* plan: changes pending */
	TM_EXIT_PARTIAL = 3, /* apply: some operations were done, then one failed */
	TM_EXIT_WAITING = 4, /* apply: everything else applied; some LUNs wait for their device */
	TM_EXIT_USAGE = 64,
	TM_EXIT_UNAVAILABLE = 69, /* status: targetmgrd is not running */
};

struct tm_cli {
	const char *config_path;   /* -c: a file or a directory of *.conf files */
	const char *configfs_root; /* --configfs-root */
	const char *state_dir;     /* --state-dir: the ownership ledger lives here */
	const struct tm_printer *printer;
	bool json;
	/* --target: the scope of apply, plan, show, clear and check (IQNs pointing into argv;
	   none: everything) */
	char **targets;
	size_t n_targets;
};

struct tm_command {
	const char *name;
	const char *summary;
	int (*run)(struct tm_cli *cli, int argc, char **argv);
};

int tm_cmd_apply(struct tm_cli *cli, int argc, char **argv);
int tm_cmd_check(struct tm_cli *cli, int argc, char **argv);
int tm_cmd_plan(struct tm_cli *cli, int argc, char **argv);
int tm_cmd_show(struct tm_cli *cli, int argc, char **argv);
int tm_cmd_clear(struct tm_cli *cli, int argc, char **argv);
int tm_cmd_save(struct tm_cli *cli, int argc, char **argv);
int tm_cmd_status(struct tm_cli *cli, int argc, char **argv);
int tm_cmd_import(struct tm_cli *cli, int argc, char **argv);

void log_msg(const char *fmt, ...) _printf_(1, 2);
/* Logs "targetmgr: <message>: <strerror(-err)>" and returns err, for `return log_error_errno(r,
 * ...)`. */
int log_error_errno(int err, const char *fmt, ...) _printf_(2, 3);

/* Parses and verifies the target files, prints their diagnostics once.  -EINVAL on errors.
   With a scope (--target), only its targets are kept and verified (-ENOENT: one is not
   declared).
   LUNs whose block device is missing go to *ret_waiting (may be NULL; see lib/waiting.h). */
int cli_load_config(struct tm_cli *cli, unsigned verify_flags, struct tm_config **ret,
		    struct tm_config **ret_waiting);

/* Narrows a parsed config to the scope, if any (tm_config_narrow()); logs a missing IQN. */
int cli_narrow(struct tm_cli *cli, struct tm_config *config);

/* Loads modules and mounts configfs when the root is the real one (apply only). */
int cli_prepare_kernel(struct tm_cli *cli);
/*
 * Parses and verifies target file text that cmd wrote, as `check` would without looking at
 * the host, and logs each error as a bug to report.  Returns the number of errors (1 when it
 * could not check).
 */
size_t cli_self_check(const char *cmd, const char *name, const char *text);

/* tm_ledger_open() on the state directory; its problems (a damaged ledger) are printed. */
int cli_open_ledger(struct tm_cli *cli, struct tm_ledger **ret);

/* Opens configfs and reads the running state (want may be NULL): the targets of the scope
   and their backstores only when there is one (tm_scan_scoped()). */
int cli_scan(struct tm_cli *cli, const struct tm_config *want, struct tm_cfs **ret_cfs,
	     struct tm_config **ret_have);

/* Everything `plan` and `apply` hold between planning and printing or executing. */
struct cli_plan_ctx {
	struct tm_config *want;
	struct tm_config *waiting; /* declared LUNs whose device is missing: not in want */
	struct tm_config *have;
	struct tm_cfs *cfs;
	struct tm_ledger *ledger;
	struct tm_plan plan;
};

struct cli_command_opts;

/* Target files -> verify (unless ctx->want is loaded already) -> running state -> ownership
   -> plan. */
int cli_build_plan(struct tm_cli *cli, const struct cli_command_opts *opts,
		   struct cli_plan_ctx *ctx);
void cli_plan_ctx_clear(struct cli_plan_ctx *ctx);

/* Records ownership, executes the plan, prints what was done, returns the exit status. */
int cli_execute_plan(struct tm_cli *cli, struct cli_plan_ctx *ctx);

/* Serialises the commands that change the kernel: an exclusive flock on <state-dir>/lock,
   waited for. */
int cli_lock(struct tm_cli *cli, int *ret_fd);

/*
 * The options that go with every command, before or after its name (as systemctl's and nvme's
 * do): -c/--config, --configfs-root, --state-dir, --json.  Both option tables include them.
 */
enum {
	CLI_LONG_CONFIGFS_ROOT = 0x100,
	CLI_LONG_STATE_DIR,
	CLI_LONG_JSON,
	CLI_LONG_VERSION,
};
#define CLI_GLOBAL_SHORT_OPTIONS "c:"
#define CLI_GLOBAL_OPTIONS                                                                         \
	{"config", required_argument, NULL, 'c'},                                                  \
	    {"configfs-root", required_argument, NULL, CLI_LONG_CONFIGFS_ROOT},                    \
	    {"state-dir", required_argument, NULL, CLI_LONG_STATE_DIR},                            \
	{                                                                                          \
		"json", no_argument, NULL, CLI_LONG_JSON                                           \
	}

/* Applies option c (a getopt_long() return) when it is one of them; false otherwise. */
bool cli_global_option(struct tm_cli *cli, int c, const char *arg);

/* The options a subcommand takes after its name, besides the global ones and --help. */
enum {
	CLI_OPT_ADOPT = 1 << 0,  /* --adopt: manage declared objects another tool made */
	CLI_OPT_FORCE = 1 << 1,  /* --force: delete objects that have logged-in sessions */
	CLI_OPT_ALL = 1 << 2,    /* --all: include objects another tool made */
	CLI_OPT_OUTPUT = 1 << 3, /* -o, --output PATH */
	CLI_OPT_TARGET = 1 << 4, /* --target IQN, repeatable: into tm_cli.targets */
	CLI_OPT_WITH_SECRETS = 1 << 5, /* --with-secrets: write CHAP secrets in clear */
};

struct cli_command_opts {
	bool adopt;
	bool force;
	bool all;
	bool with_secrets;
	const char *output;
};

/* Returns 0 to go on, 1 when --help was printed, -1 on a usage error (already reported). */
int cli_parse_command(struct tm_cli *cli, const char *cmd, unsigned allowed, int argc, char **argv,
		      struct cli_command_opts *ret);
