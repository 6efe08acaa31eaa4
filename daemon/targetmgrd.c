/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * targetmgrd: keeps LIO serving what the target files declare while block devices come and
 * go and the files are edited.  Event sources, all on one sd-event loop:
 *   - an sd-device monitor on block devices tagged "targetmgr" by 70-targetmgr.rules, which
 *     udev forwards after its rules ran (the /dev/disk/by-id links exist on "add");
 *   - inotify on the target file directory, and SIGHUP: read the files again;
 *   - the control socket (targetmgr status);
 *   - SIGTERM/SIGINT: exit, leaving LIO serving.
 * Every cause schedules one coalescing timer; the reconcile it runs is the same parse ->
 * verify -> waiting split -> scan -> plan -> execute pipeline as `targetmgr apply`.
 */
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <sys/inotify.h>
#include <systemd/sd-device.h>
#include <time.h>

#include "../lib/model.h"
#include "targetmgrd.h"

#define DEFAULT_CONFIG   "/etc/targetmgr/targets.d"
#define DEFAULT_CONFIGFS "/sys/kernel/config"
#define DEFAULT_STATE    "/run/targetmgr"
/* Editors write a file in several steps: let them finish. */
#define FILES_SETTLE_USEC (200 * 1000ULL)

void log_line(const char *prio, const char *fmt, ...)
{
	va_list ap;

	fputs(prio, stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void daemon_schedule(struct daemon *d, unsigned reasons, uint64_t delay_usec)
{
	uint64_t now, when, pending_when;
	int enabled = SD_EVENT_OFF;

	d->pending |= reasons;
	if (sd_event_now(d->event, CLOCK_MONOTONIC, &now) < 0)
		return;
	when = now + delay_usec;
	(void)sd_event_source_get_enabled(d->timer, &enabled);
	if (enabled != SD_EVENT_OFF && sd_event_source_get_time(d->timer, &pending_when) >= 0 &&
	    pending_when <= when)
		return;
	(void)sd_event_source_set_time(d->timer, when);
	(void)sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT);
}

static void notify_status(struct daemon *d)
{
	size_t waiting = d->waiting ? d->waiting->n_backstores : 0;

	sd_notifyf(false, "STATUS=%s; %zu LUN%s waiting%s",
		   d->apply_ok ? "applied" : "apply failed", waiting, waiting == 1 ? "" : "s",
		   d->load_ok ? "" : "; target files rejected (see targetmgr status)");
}

static int on_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata)
{
	struct daemon *d = userdata;
	unsigned reasons = d->pending;
	int r;

	d->pending = 0;
	if (reasons & RECONCILE_FILES) {
		r = daemon_load_files(d);
		/* Unchanged or rejected files change nothing, unless devices moved too. */
		if (r <= 0 && !(reasons & RECONCILE_DEVICES) && d->n_reconciles > 0)
			return notify_status(d), 0;
	}
	r = daemon_reconcile(d, reasons);
	if (r == -EAGAIN) /* `targetmgr apply` holds the lock: try again shortly */
		daemon_schedule(d, reasons, 500 * 1000ULL);
	notify_status(d);
	return 0;
}

static int on_device(sd_device_monitor *m _unused_, sd_device *dev, void *userdata)
{
	struct daemon *d = userdata;

	d->n_device_events++;
	(void)dev;
	/* Cheap: a stat() per declared block device; the reconcile only when one changed. */
	if (daemon_devices_changed(d)) {
		if (!(d->pending & RECONCILE_DEVICES))
			(void)sd_event_now(d->event, CLOCK_MONOTONIC, &d->device_event_usec);
		daemon_schedule(d, RECONCILE_DEVICES, 0);
	}
	return 0;
}

static int on_inotify(sd_event_source *s _unused_, const struct inotify_event *ev, void *userdata)
{
	struct daemon *d = userdata;

	if (ev->mask & IN_Q_OVERFLOW || ev->len == 0 || ev->name[0] != '.')
		daemon_schedule(d, RECONCILE_FILES, FILES_SETTLE_USEC);
	return 0;
}

static int on_sighup(sd_event_source *s _unused_, const struct signalfd_siginfo *si _unused_,
		     void *userdata)
{
	struct daemon *d = userdata;

	log_info("SIGHUP: reading the target files again");
	daemon_schedule(d, RECONCILE_FILES | RECONCILE_DEVICES, 0);
	return 0;
}

static int watch_files(struct daemon *d)
{
	_cleanup_free_ char *copy = strdup(d->config_path);
	struct stat st;
	const char *dir;
	int r;

	if (!copy)
		return -ENOMEM;
	/* A single file is watched through its directory (editors replace files by rename). */
	dir =
	    stat(d->config_path, &st) == 0 && S_ISDIR(st.st_mode) ? d->config_path : dirname(copy);
	r = sd_event_add_inotify(d->event, NULL, dir,
				 IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
				     IN_DELETE | IN_ATTRIB | IN_ONLYDIR,
				 on_inotify, d);
	if (r < 0)
		log_warn("cannot watch %s (%s): edits are applied on SIGHUP only", dir,
			 strerror(-r));
	return 0;
}

static int watch_devices(struct daemon *d, sd_device_monitor **ret)
{
	_cleanup_(sd_device_monitor_unrefp) sd_device_monitor *m = NULL;
	int r;

	r = sd_device_monitor_new(&m);
	if (r < 0)
		return r;
	r = sd_device_monitor_filter_add_match_subsystem_devtype(m, "block", NULL);
	if (r < 0)
		return r;
	r = sd_device_monitor_filter_add_match_tag(m, "targetmgr");
	if (r < 0)
		return r;
	r = sd_device_monitor_attach_event(m, d->event);
	if (r < 0)
		return r;
	r = sd_device_monitor_start(m, on_device, d);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(m);
	return 0;
}

static uint64_t realtime_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: targetmgrd [OPTIONS]\n\n"
		"Attaches declared iSCSI LUNs when their block devices appear, withdraws them\n"
		"when they go, and applies edited target files.  See targetmgrd(8).\n\n"
		"  -c, --config PATH        target file or directory (default %s)\n"
		"      --configfs-root DIR  configfs mount point (default %s)\n"
		"      --state-dir DIR      ledger, lock and control socket (default %s)\n"
		"  -h, --help               this help\n"
		"      --version            print the version\n",
		DEFAULT_CONFIG, DEFAULT_CONFIGFS, DEFAULT_STATE);
}

int main(int argc, char **argv)
{
	enum { OPT_CONFIGFS = 0x100, OPT_STATE, OPT_VERSION };
	static const struct option options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"configfs-root", required_argument, NULL, OPT_CONFIGFS},
	    {"state-dir", required_argument, NULL, OPT_STATE},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {},
	};
	_cleanup_(sd_device_monitor_unrefp) sd_device_monitor *monitor = NULL;
	struct daemon d = {
	    .config_path = DEFAULT_CONFIG,
	    .configfs_root = DEFAULT_CONFIGFS,
	    .state_dir = DEFAULT_STATE,
	    .apply_ok = true,
	    .load_ok = true,
	};
	sigset_t mask;
	const char *e;
	int c, r;

	/* Before any secret is read (lib/util.h): the daemon holds them all its life. */
	r = tm_protect_secrets();
	if (r < 0) {
		fprintf(stderr, "targetmgrd: cannot make the process non-dumpable: %s\n",
			strerror(-r));
		return EXIT_FAILURE;
	}
	/* The same test hooks as targetmgr(8); never honoured for setuid. */
	if ((e = secure_getenv("TARGETMGR_CONFIGFS_ROOT")))
		d.configfs_root = e;
	if ((e = secure_getenv("TARGETMGR_STATE_DIR")))
		d.state_dir = e;
	while ((c = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
			break;
		case OPT_CONFIGFS:
			d.configfs_root = optarg;
			break;
		case OPT_STATE:
			d.state_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("targetmgrd %s\n", TM_VERSION);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 64;
	}

	d.started_usec = realtime_usec();
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	r = sd_event_default(&d.event);
	if (r < 0)
		goto fail;
	if ((r = sd_event_add_signal(d.event, NULL, SIGTERM, NULL, NULL)) < 0 ||
	    (r = sd_event_add_signal(d.event, NULL, SIGINT, NULL, NULL)) < 0 ||
	    (r = sd_event_add_signal(d.event, NULL, SIGHUP, on_sighup, &d)) < 0)
		goto fail;
	r = sd_event_add_time(d.event, &d.timer, CLOCK_MONOTONIC, 0, 0, on_timer, &d);
	if (r < 0)
		goto fail;
	(void)sd_event_source_set_enabled(d.timer, SD_EVENT_OFF);
	/* WATCHDOG=1 at half of WatchdogSec=, sent by the loop itself. */
	(void)sd_event_set_watchdog(d.event, true);

	/* Subscribe before the first reconcile, so that no device slips between the two. */
	r = watch_devices(&d, &monitor);
	if (r < 0) {
		log_err("cannot monitor block devices: %s", strerror(-r));
		goto fail;
	}
	r = watch_files(&d);
	if (r < 0)
		goto fail;

	d.pending = RECONCILE_FILES | RECONCILE_DEVICES;
	on_timer(NULL, 0, &d);
	/* The socket appears with the first answer worth giving, like READY=1. */
	r = control_listen(&d);
	if (r < 0)
		goto fail;
	log_info("watching %s and block devices; control socket %s/targetmgrd.sock", d.config_path,
		 d.state_dir);
	sd_notify(false, "READY=1");

	r = sd_event_loop(d.event);
	sd_notify(false, "STOPPING=1");
	log_info("exiting; LIO keeps serving what it serves");
fail:
	if (r < 0)
		log_err("targetmgrd: %s", strerror(-r));
	monitor = sd_device_monitor_unref(monitor);
	d.timer = sd_event_source_unref(d.timer);
	d.event = sd_event_unref(d.event);
	daemon_state_free(&d);
	return r < 0 ? 1 : 0;
}
