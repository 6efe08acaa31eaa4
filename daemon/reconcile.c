/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's half of the pipeline: the target files as a snapshot in memory, and the
 * reconcile that applies them through the same planner and executor as `targetmgr apply`.
 */
#include <fcntl.h>
#include <malloc.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "../configfs/cfs.h"
#include "../lib/exec.h"
#include "../lib/ledger.h"
#include "../lib/parse.h"
#include "../lib/scan.h"
#include "../lib/system.h"
#include "../lib/verify.h"
#include "../lib/waiting.h"
#include "targetmgrd.h"

#define WORKERS 16

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static void strv_free(char ***v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

/* ---- the snapshot ------------------------------------------------------------------------ */

static void snapshot_clear(struct snapshot *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->names[i]);
		tm_erase_free_str(s->texts[i]);
	}
	free(s->names);
	free(s->texts);
	*s = (struct snapshot){0};
}

static bool snapshot_equal(const struct snapshot *a, const struct snapshot *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!streq(a->names[i], b->names[i]) || !streq(a->texts[i], b->texts[i]))
			return false;
	return true;
}

/* As the parser reads them: bounded, and a file swapped for a FIFO since cannot block. */
static int read_text(const char *path, char **ret)
{
	return tm_read_file_bounded(AT_FDCWD, path, TM_PARSE_FILE_MAX, ret, NULL, NULL);
}

/* The files tm_parse_path() reads (it interns each file's name), each read into memory. */
static int snapshot_read(const char *config_path, struct snapshot *ret, struct tm_diags *diags)
{
	_cleanup_config_ struct tm_config *c = tm_config_new();
	struct snapshot s = {0};
	int r;

	if (!c)
		return -ENOMEM;
	r = tm_parse_path(config_path, c, diags);
	if (r < 0)
		return r;
	s.names = calloc(c->n_files + 1, sizeof(char *));
	s.texts = calloc(c->n_files + 1, sizeof(char *));
	if (!s.names || !s.texts) {
		snapshot_clear(&s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->n_files; i++, s.n++) {
		s.names[i] = strdup(c->files[i]);
		if (!s.names[i]) {
			snapshot_clear(&s);
			return -ENOMEM;
		}
		r = read_text(c->files[i], &s.texts[i]);
		if (r < 0) {
			s.n++;
			snapshot_clear(&s);
			return tm_diag_add(diags, TM_ERROR, c->files[i], 0, "cannot read: %s",
					   strerror(-r)) < 0
				   ? -ENOMEM
				   : r;
		}
	}
	*ret = s;
	return 0;
}

static int snapshot_parse(const struct snapshot *s, struct tm_config *config,
			  struct tm_diags *diags)
{
	for (size_t i = 0; i < s->n; i++) {
		int r = tm_parse_string(s->names[i], s->texts[i], config, diags);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Diagnostics as the lines `targetmgr check` prints, for the journal and for status. */
static int diags_to_lines(struct tm_diags *diags, char ***ret, size_t *ret_n)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	char *line, *save = NULL;

	if (!f)
		return -ENOMEM;
	tm_diags_print(diags, f);
	if (fclose(f) != 0)
		return -ENOMEM;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (tm_strv_push(ret, ret_n, line) < 0)
			return -ENOMEM;
	return 0;
}

int daemon_load_files(struct daemon *d)
{
	_cleanup_config_ struct tm_config *config = tm_config_new();
	struct snapshot s = {0};
	struct tm_diags diags = {0};
	int r, errors = 0;

	if (!config)
		return -ENOMEM;
	r = snapshot_read(d->config_path, &s, &diags);
	if (r >= 0 && d->have_good && diags.n_errors == 0 && snapshot_equal(&s, &d->good)) {
		/* Nothing to apply; but files fixed back to the last good text end a rejection. */
		snapshot_clear(&s);
		tm_diags_clear(&diags);
		if (!d->load_ok) {
			strv_free(&d->load_diags, &d->n_load_diags);
			d->load_usec = now_usec();
			d->load_ok = true;
			log_info("read %s: back to the target files being served", d->config_path);
		}
		return 0;
	}
	/* What will be applied is what is in memory: check exactly that. */
	if (r >= 0 && diags.n_errors == 0) {
		tm_diags_clear(&diags);
		r = snapshot_parse(&s, config, &diags);
	}
	if (r >= 0 && diags.n_errors == 0)
		errors = tm_declared_prepare(config, TM_VERIFY_HOST, NULL, NULL, NULL, &diags);
	if (errors < 0)
		r = errors;

	strv_free(&d->load_diags, &d->n_load_diags);
	(void)diags_to_lines(&diags, &d->load_diags, &d->n_load_diags);
	d->load_usec = now_usec();
	d->load_ok = r >= 0 && diags.n_errors == 0;
	for (size_t i = 0; i < d->n_load_diags; i++)
		log_line(d->load_ok ? SD_WARNING : SD_ERR, "%s", d->load_diags[i]);
	tm_diags_clear(&diags);
	if (!d->load_ok) {
		snapshot_clear(&s);
		log_err("rejected %s: %s; %s", d->config_path,
			r < 0 ? strerror(-r) : "errors above",
			d->have_good ? "the last good target files keep serving"
				     : "nothing is applied until the files are fixed");
		return r < 0 ? r : -EINVAL;
	}
	snapshot_clear(&d->good);
	d->good = s;
	d->have_good = true;
	log_info("read %s: %zu target file%s", d->config_path, s.n, s.n == 1 ? "" : "s");
	return 1;
}

/* ---- reconcile --------------------------------------------------------------------------- */

static int lock_state_dir(struct daemon *d, int *ret_fd)
{
	_cleanup_free_ char *path = tm_strdupf("%s/lock", d->state_dir);
	_cleanup_close_ int fd = -EBADF;

	if (!path)
		return -ENOMEM;
	if (mkdir(d->state_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	/* Never block the loop behind a long `targetmgr apply`: the caller retries. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	*ret_fd = fd;
	fd = -EBADF;
	return 0;
}

static int prepare_kernel(struct daemon *d, char **ret_message)
{
	const char *failed = NULL;
	bool mounted;
	int r;

	if (!streq(d->configfs_root, "/sys/kernel/config"))
		return 0;
	r = tm_modules_load(tm_required_modules, &failed);
	if (r < 0) {
		*ret_message =
		    tm_strdupf("cannot load kernel module %s: %s", failed ?: "?", strerror(-r));
		return r;
	}
	r = tm_configfs_mount(d->configfs_root, &mounted);
	if (r < 0)
		*ret_message =
		    tm_strdupf("cannot mount configfs at %s: %s", d->configfs_root, strerror(-r));
	return r;
}

/* Logs every diagnostic and returns the first error, for status. */
static char *first_error(struct tm_diags *diags)
{
	const char *found = NULL;
	char **lines = NULL, *first;
	size_t n = 0;

	(void)diags_to_lines(diags, &lines, &n);
	for (size_t i = 0; i < n; i++) {
		log_err("%s", lines[i]);
		if (!found && strstr(lines[i], ": error: "))
			found = lines[i];
	}
	first = strdup(found ?: "the target files do not verify");
	strv_free(&lines, &n);
	return first;
}

static bool lun_waits(const struct tm_config *waiting, const char *iqn, unsigned number)
{
	const struct tm_target *t = waiting ? tm_config_find_target(waiting, iqn) : NULL;

	return t && tm_target_find_lun(t, number);
}

static uint64_t monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

/* One journal line per LUN that changed sides; an attach names the time since the udev event
   that caused it. */
static void log_transitions(struct daemon *d, const struct tm_config *before,
			    const struct tm_config *after, bool first)
{
	uint64_t latency = d->device_event_usec ? monotonic_usec() - d->device_event_usec : 0;

	for (size_t i = 0; before && i < before->n_targets; i++) {
		const struct tm_target *t = &before->targets[i];
		for (size_t j = 0; j < t->n_luns; j++) {
			const struct tm_lun *l = &t->luns[j];
			const struct tm_backstore *b = tm_waiting_backstore(before, l);
			if (lun_waits(after, t->iqn, l->number))
				continue;
			log_info("attached LUN %u of %s: %s is here (serial %s), %llu ms after "
				 "the udev event",
				 l->number, t->iqn, b ? b->path : "?",
				 b && b->serial ? b->serial : "-",
				 (unsigned long long)latency / 1000);
			d->last_attach_latency_usec = latency;
		}
	}
	for (size_t i = 0; after && i < after->n_targets; i++) {
		const struct tm_target *t = &after->targets[i];
		for (size_t j = 0; j < t->n_luns; j++) {
			const struct tm_lun *l = &t->luns[j];
			const struct tm_backstore *b = tm_waiting_backstore(after, l);
			if (!lun_waits(before, t->iqn, l->number))
				log_info("%s LUN %u of %s: %s is not there",
					 first ? "waiting:" : "withdrew", l->number, t->iqn,
					 b ? b->path : "?");
		}
	}
}

static int served_paths(const struct tm_config *want, char ***ret, size_t *ret_n)
{
	for (size_t i = 0; i < want->n_backstores; i++) {
		const struct tm_backstore *b = &want->backstores[i];
		if (b->type == TM_BACKSTORE_IBLOCK && b->path &&
		    tm_strv_push(ret, ret_n, b->path) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void log_done_ops(const struct tm_plan *plan)
{
	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct tm_op *op = &plan->ops[i];
		_cleanup_free_ char *path = NULL;

		if (!op->done)
			continue;
		path = tm_op_object_path(op);
		if (op->type == TM_OP_SET)
			log_info("set %s/%s", path ?: "?", op->setting->path);
		else
			log_info("%s %s %s", tm_op_type_name(op->type), tm_obj_kind_name(op->kind),
				 path ?: "?");
	}
}

int daemon_reconcile(struct daemon *d, unsigned reasons)
{
	_cleanup_config_ struct tm_config *want = tm_config_new();
	_cleanup_config_ struct tm_config *waiting = NULL, *have = NULL;
	_cleanup_cfs_ struct tm_cfs *cfs = NULL;
	_cleanup_ledger_ struct tm_ledger *ledger = NULL;
	_cleanup_close_ int lock = -EBADF;
	_cleanup_free_ char *message = NULL, *conflict = NULL;
	struct tm_exec_failure failure = {0};
	struct tm_diags diags = {0};
	struct tm_plan plan = {0};
	/* A device that went away takes its LUN with it even if an initiator is logged in:
	   the initiator gets a REPORTED LUNS DATA HAS CHANGED unit attention instead of I/O
	   errors on a dead device.  File edits are refused like `apply` without --force. */
	struct tm_plan_options opts = {
	    .force = !!(reasons & RECONCILE_DEVICES) && !(reasons & RECONCILE_FILES),
	    .owned = tm_ledger_owned_cb,
	};
	size_t done = 0;
	int r, errors;

	if (!want)
		return -ENOMEM;
	if (!d->have_good) {
		message = tm_strdupf("no target files accepted yet");
		r = -EINVAL;
		goto finish;
	}
	r = snapshot_parse(&d->good, want, &diags);
	if (r < 0)
		goto finish;
	errors = tm_declared_prepare(want, TM_VERIFY_HOST, NULL, NULL, &waiting, &diags);
	if (errors != 0) {
		r = errors < 0 ? errors : -EINVAL;
		message = first_error(&diags);
		goto finish;
	}

	r = lock_state_dir(d, &lock);
	if (r == -EAGAIN) {
		tm_diags_clear(&diags);
		return r;
	}
	if (r < 0) {
		message = tm_strdupf("cannot lock %s: %s", d->state_dir, strerror(-r));
		goto finish;
	}
	r = prepare_kernel(d, &message);
	if (r < 0)
		goto finish;
	r = tm_ledger_open(d->state_dir, &diags, &ledger);
	if (r == -EBADMSG) {
		message = first_error(&diags);
		goto finish;
	}
	if (r >= 0)
		r = tm_ledger_release(ledger, want);
	if (r < 0) {
		message = tm_strdupf("cannot read the ownership ledger: %s", strerror(-r));
		goto finish;
	}
	r = tm_cfs_open(d->configfs_root, &cfs);
	if (r >= 0)
		r = tm_scan(cfs, want, &have);
	if (r < 0) {
		message = tm_strdupf("cannot read the running state from %s: %s", d->configfs_root,
				     strerror(-r));
		goto finish;
	}
	opts.userdata = ledger;
	errors = tm_check_devices_served(want, have, tm_ledger_owned_cb, ledger, &diags);
	if (errors != 0) {
		r = errors < 0 ? errors : -EBUSY;
		message = first_error(&diags);
		goto finish;
	}
	r = tm_plan_build(want, have, &opts, &plan, &conflict);
	if (r < 0) {
		message = tm_strdupf("cannot plan: %s", conflict ?: strerror(-r));
		goto finish;
	}
	if (plan.n_ops > 0) {
		r = tm_ledger_record(ledger, want);
		if (r < 0) {
			message = tm_strdupf("cannot write the ownership ledger: %s", strerror(-r));
			goto finish;
		}
		r = tm_exec(cfs, &plan, WORKERS, &failure);
		log_done_ops(&plan);
		for (size_t i = 0; i < plan.n_ops; i++)
			done += plan.ops[i].done;
		if (r < 0) {
			_cleanup_free_ char *path =
			    failure.op ? tm_op_object_path(failure.op) : NULL;
			_cleanup_free_ char *why = tm_exec_failure_explain(&failure);
			message =
			    tm_strdupf("cannot %s %s (%s): %s%s%s; %zu of %zu operations done",
				       failure.op ? tm_op_type_name(failure.op->type) : "?",
				       path ?: "?", failure.path ?: "?", strerror(-r),
				       why ? "; " : "", why ?: "", done, plan.n_ops);
			tm_exec_failure_clear(&failure);
			goto finish;
		}
	}
	(void)tm_ledger_keep_only(ledger, want);
	log_transitions(d, d->waiting, waiting, d->n_reconciles == 0);

finish:
	/* What waits and what is served, as the files and devices say now, even when the
	   kernel refused: status reports it, and after a failure any device event retries
	   (daemon_devices_changed()). */
	if (waiting) {
		if (d->waiting)
			tm_config_free(d->waiting);
		d->waiting = TAKE_PTR(waiting);
		strv_free(&d->served_paths, &d->n_served_paths);
		(void)served_paths(want, &d->served_paths, &d->n_served_paths);
	}
	d->n_reconciles++;
	d->device_event_usec = 0;
	d->apply_usec = now_usec();
	d->apply_ok = r >= 0;
	d->apply_ops = (unsigned)done;
	free(d->apply_reason);
	d->apply_reason = strdup(reasons & RECONCILE_FILES ? "target files" : "block devices");
	free(d->apply_message);
	d->apply_message = r < 0 ? (message ? TAKE_PTR(message) : strdup(strerror(-r))) : NULL;
	if (r < 0)
		log_err("apply failed (%s): %s", d->apply_reason, d->apply_message ?: "?");
	else
		log_info("applied (%s): %zu operation%s, %zu LUN%s waiting", d->apply_reason, done,
			 done == 1 ? "" : "s", d->waiting ? d->waiting->n_backstores : 0,
			 d->waiting && d->waiting->n_backstores == 1 ? "" : "s");
	tm_plan_clear(&plan);
	tm_diags_clear(&diags);
	/* A reconcile allocates and frees the whole model; hand the free pages back, so that
	   the resident size stays flat however many times devices come and go. */
	malloc_trim(0);
	return r;
}

bool daemon_devices_changed(struct daemon *d)
{
	if (!d->apply_ok)
		return true;
	for (size_t i = 0; d->waiting && i < d->waiting->n_backstores; i++) {
		const char *p = d->waiting->backstores[i].path;
		if (p && tm_device_present(p, NULL))
			return true;
	}
	for (size_t i = 0; i < d->n_served_paths; i++)
		if (!tm_device_present(d->served_paths[i], NULL))
			return true;
	return false;
}

void daemon_state_free(struct daemon *d)
{
	snapshot_clear(&d->good);
	if (d->waiting)
		tm_config_free(d->waiting);
	d->waiting = NULL;
	strv_free(&d->served_paths, &d->n_served_paths);
	strv_free(&d->load_diags, &d->n_load_diags);
	free(d->apply_reason);
	free(d->apply_message);
	d->apply_reason = d->apply_message = NULL;
}
