/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * targetmgr import tgt|saveconfig|scst [--strict] [--root DIR] [-o DIR] [PATH]: another
 * target server's configuration as target files.
 *
 * The importer (lib/import-*.c) reads the foreign files into a model, the writer (lib/save.c)
 * writes that model as target files, and the text is parsed and verified again before it goes
 * anywhere.  Without -o the files go to standard output; with -o DIR each target is written to
 * DIR/<IQN>.conf (and the discovery settings to DIR/discovery.conf), each atomically: a new
 * file created with O_EXCL in DIR, synced, renamed over the old name.  A symbolic link or
 * anything but a regular file in the way of a name is neither followed nor replaced: nothing
 * is written then.  A file that holds a CHAP secret is mode 0600, others 0644.
 *
 * Warnings (what cannot be carried over) go to standard error, "file:line: warning: ...";
 * with --strict they are errors.  Exit status: 0, 1 on errors (nothing is written then), 64
 * on a usage error.
 */
#include <fcntl.h>
#include <getopt.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "../lib/import.h"
#include "../lib/parse.h"
#include "../lib/save.h"
#include "../lib/verify.h"
#include "cli.h"

static const struct {
	const char *name;
	int (*import)(const char *path, const struct tm_import_options *opts, struct tm_config *c,
		      struct tm_diags *d);
} formats[] = {
    {"tgt", tm_import_tgt},
    {"saveconfig", tm_import_saveconfig},
    {"scst", tm_import_scst},
};

static void usage(FILE *f)
{
	fputs(
	    "Usage: targetmgr import tgt|saveconfig|scst [--strict] [--root DIR] [-o DIR] "
	    "[PATH]\n"
	    "Writes another target server's configuration as target files.\n"
	    "  tgt         PATH: targets.conf (default /etc/tgt/targets.conf, with its includes)\n"
	    "  saveconfig  PATH: targetcli's JSON (default /etc/rtslib-fb-target/saveconfig.json,\n"
	    "              else /etc/target/saveconfig.json)\n"
	    "  scst        PATH: scst.conf (default /etc/scst.conf)\n"
	    "  -o, --output DIR  one file per target in DIR instead of standard output\n"
	    "      --strict      what cannot be carried over is an error, not a warning\n"
	    "      --root DIR    read the files, and the paths they name, below DIR\n",
	    f);
}

/* Where import -o DIR writes every target when they cannot go one per file. */
#define ONE_FILE "targets.conf"

/* The text for the targets select() picks, parsed and verified as `check` would. */
struct selection {
	const char *iqn; /* NULL: no target, but discovery and backstores */
};

static bool select_one(void *userdata, enum tm_obj_kind kind, const char *name)
{
	const struct selection *s = userdata;

	if (kind == TM_OBJ_TARGET)
		return s->iqn && streq(name, s->iqn);
	return !s->iqn;
}

static bool has_secret(const struct tm_settings *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].secret && *s->v[i].value)
			return true;
	return false;
}

static bool target_has_secret(const struct tm_target *t)
{
	if (has_secret(&t->settings))
		return true;
	for (size_t i = 0; i < t->n_acls; i++)
		if (has_secret(&t->acls[i].settings))
			return true;
	return false;
}

/* The file name of a target's file: its IQN, '/' (which no IQN should have) replaced. */
static char *target_file_name(const char *iqn)
{
	char *s = tm_strdupf("%s.conf", iqn);

	for (char *p = s; p && *p; p++)
		if (*p == '/')
			*p = '_';
	return s;
}

struct output {
	char *name; /* NULL: standard output */
	char *text;
	size_t len;
	bool secret;
};

static void outputs_free(struct output *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		tm_erase_free(v[i].text, v[i].len);
	}
	free(v);
}

/* Whether the discovery / unused-backstore text has anything but its header. */
static bool has_body(const char *text)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (*l != '#' && *l != '\n')
			return true;
	return false;
}

int tm_cmd_import(struct tm_cli *cli, int argc, char **argv)
{
	enum { OPT_STRICT = 0x100, OPT_ROOT };
	static const struct option options[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"strict", no_argument, NULL, OPT_STRICT},
	    {"root", required_argument, NULL, OPT_ROOT},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	_cleanup_config_ struct tm_config *c = tm_config_new();
	struct tm_import_options io = {0};
	struct tm_diags d = {0}, warnings = {0};
	struct output *out = NULL;
	size_t n_out = 0, errors = 0;
	const char *dir = NULL, *path;
	_cleanup_free_ char *header = NULL;
	_cleanup_close_ int dfd = -EBADF;
	bool strict = false, one_file = false;
	int (*import)(const char *, const struct tm_import_options *, struct tm_config *,
		      struct tm_diags *) = NULL;
	int r, o, ret = TM_EXIT_FAILURE;

	/* 0, not 1: main's getopt stopped at the first word ('+'); options may follow the
	   format here. */
	optind = 0;
	while ((o = getopt_long(argc, argv, "ho:", options, NULL)) != -1)
		switch (o) {
		case 'o':
			dir = optarg;
			break;
		case OPT_STRICT:
			strict = true;
			break;
		case OPT_ROOT:
			io.root = optarg;
			break;
		case 'h':
			usage(stdout);
			return TM_EXIT_OK;
		default:
			usage(stderr);
			return TM_EXIT_USAGE;
		}
	if (optind >= argc || argc - optind > 2 || cli->json) {
		usage(stderr);
		return TM_EXIT_USAGE;
	}
	for (size_t i = 0; i < ELEMENTSOF(formats); i++)
		if (streq(argv[optind], formats[i].name))
			import = formats[i].import;
	if (!import) {
		log_msg("import: unknown format '%s': tgt, saveconfig or scst", argv[optind]);
		return TM_EXIT_USAGE;
	}
	if (!c)
		return log_error_errno(-ENOMEM, "import"), TM_EXIT_FAILURE;
	path = argc - optind == 2 ? argv[optind + 1] : NULL;

	r = import(path, &io, c, &d);
	/* The writer's own notes (without a line) join the importer's. */
	if (r >= 0) {
		header = tm_strdupf("Target files for targetmgr(8), written by 'targetmgr import "
				    "%s' from %s.",
				    argv[optind], c->n_files > 0 ? c->files[0] : "?");
		if (!header)
			r = -ENOMEM;
	}
	/* Target files declare an ALUA group once, for every target whose LUNs are in it: one
	   file per target would declare it twice, or give two groups one id. */
	for (size_t i = 0; dir && !one_file && i < c->n_backstores; i++)
		one_file = c->backstores[i].n_alua_groups > 0;
	if (r >= 0 && one_file &&
	    tm_diag_add(&d, TM_WARNING, NULL, 0,
			"ALUA groups are declared once for all targets: every target is written "
			"to %s/" ONE_FILE,
			dir) < 0)
		r = -ENOMEM;
	if (r >= 0) {
		struct selection all = {0};
		struct tm_save_options so = {.header = header};
		size_t n = dir && !one_file ? c->n_targets + 1 : 1;

		out = calloc(n, sizeof(*out));
		if (!out)
			r = -ENOMEM;
		for (size_t i = 0; r >= 0 && i < n; i++) {
			struct output *f = &out[n_out++];

			if (dir && !one_file) {
				all.iqn = i < c->n_targets ? c->targets[i].iqn : NULL;
				so.select = select_one;
				so.userdata = &all;
				f->name =
				    all.iqn ? target_file_name(all.iqn) : strdup("discovery.conf");
				f->secret = all.iqn ? target_has_secret(&c->targets[i])
						    : has_secret(&c->discovery);
				if (!f->name) {
					r = -ENOMEM;
					break;
				}
			} else {
				if (one_file && !(f->name = strdup(ONE_FILE))) {
					r = -ENOMEM;
					break;
				}
				f->secret = has_secret(&c->discovery);
				for (size_t j = 0; j < c->n_targets; j++)
					f->secret = f->secret || target_has_secret(&c->targets[j]);
			}
			if (dir && all.iqn) {
				/* Discovery goes to its own file, not into every target's. */
				struct tm_settings discovery = c->discovery;

				c->discovery = (struct tm_settings){0};
				r = tm_config_write_text(c, &so, &warnings, &f->text, &f->len);
				c->discovery = discovery;
			} else
				r = tm_config_write_text(c, &so, &warnings, &f->text, &f->len);
		}
	}
	for (size_t i = 0; i < warnings.n && r >= 0; i++)
		if (tm_diag_add(&d, TM_WARNING, NULL, 0, "%s", warnings.v[i].message) < 0)
			r = -ENOMEM;
	if (r < 0) {
		tm_diags_print(&d, stderr);
		log_error_errno(r, "import %s", argv[optind]);
		goto finish;
	}

	if (strict)
		for (size_t i = 0; i < d.n; i++)
			if (d.v[i].severity == TM_WARNING) {
				d.v[i].severity = TM_ERROR;
				d.n_errors++;
			}
	tm_diags_print(&d, stderr);
	for (size_t i = 0; i < n_out; i++)
		errors +=
		    cli_self_check("import", out[i].name ? out[i].name : "<stdout>", out[i].text);
	if (d.n_errors > 0 || errors > 0) {
		log_msg("import: %zu error(s)%s: nothing written", d.n_errors + errors,
			strict ? " (--strict)" : "");
		goto finish;
	}

	if (!dir) {
		if (fwrite(out[0].text, 1, out[0].len, stdout) != out[0].len ||
		    fflush(stdout) != 0) {
			log_error_errno(-EIO, "cannot write to standard output");
			goto finish;
		}
		ret = TM_EXIT_OK;
		goto finish;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		log_error_errno(-errno, "cannot create %s", dir);
		goto finish;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		log_error_errno(-errno, "cannot open %s", dir);
		goto finish;
	}
	/* All or nothing where it can be told beforehand: no file is written if one is in the
	   way (tm_write_refusal()). */
	for (size_t i = 0; i < n_out; i++) {
		r = tm_check_replaceable(dfd, out[i].name);
		if (r < 0) {
			log_msg("%s/%s %s", dir, out[i].name, tm_write_refusal(r) ?: strerror(-r));
			goto finish;
		}
	}
	for (size_t i = 0; i < n_out; i++) {
		if (!out[i].text || (i == n_out - 1 && !has_body(out[i].text)))
			continue;
		r = tm_write_file_atomic(dfd, out[i].name, out[i].text, out[i].len,
					 out[i].secret ? 0600 : 0644);
		if (r < 0) {
			log_error_errno(r, "cannot write %s/%s", dir, out[i].name);
			goto finish;
		}
		printf("%s/%s\n", dir, out[i].name);
	}
	(void)fsync(dfd); /* the renames themselves */
	ret = TM_EXIT_OK;
finish:
	outputs_free(out, n_out);
	tm_diags_clear(&d);
	tm_diags_clear(&warnings);
	return ret;
}
