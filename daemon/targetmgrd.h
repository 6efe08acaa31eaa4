/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* targetmgrd: what the event loop, the reconciler and the control socket share. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "../lib/diag.h"
#include "../lib/model.h"
#include "../lib/util.h"

/* Why a reconcile was asked for; several causes coalesce into one run. */
enum {
	RECONCILE_FILES = 1 << 0,   /* start, inotify, SIGHUP: read the target files again */
	RECONCILE_DEVICES = 1 << 1, /* a declared device appeared or went away */
};

/* The target files as last read and accepted: re-parsed from memory on every reconcile, so
   a broken edit on disk never reaches the kernel. */
struct snapshot {
	char **names;
	char **texts; /* may hold CHAP secrets: wiped before free */
	size_t n;
};

struct daemon {
	const char *config_path;
	const char *configfs_root;
	const char *state_dir;

	sd_event *event;
	sd_event_source *timer; /* runs the pending reconcile */
	unsigned pending;       /* RECONCILE_* */

	struct snapshot good; /* the last target files that parsed and verified */
	bool have_good;

	/* What the last reconcile left: the waiting LUNs (a config of their own, see
	   lib/waiting.h) and the paths of the served block-device backstores. */
	struct tm_config *waiting;
	char **served_paths;
	size_t n_served_paths;

	/* For status. */
	uint64_t started_usec, load_usec, apply_usec; /* CLOCK_REALTIME; 0: never */
	bool load_ok, apply_ok;
	unsigned apply_ops;
	char *apply_reason;
	char *apply_message; /* NULL when the last apply succeeded */
	char **load_diags;   /* "file:line: error: ..." of the last load, rejected or not */
	size_t n_load_diags;
	unsigned long long n_device_events, n_reconciles;
	/* CLOCK_MONOTONIC when the device event that asked for the pending reconcile arrived,
	   and the time from such an event to the end of the apply that served its LUN. */
	uint64_t device_event_usec;
	uint64_t last_attach_latency_usec;
};

/* One journal line (stderr with a <N> priority prefix, see sd-daemon.h). */
void log_line(const char *prio, const char *fmt, ...) _printf_(2, 3);
#define log_info(...) log_line(SD_INFO, __VA_ARGS__)
#define log_warn(...) log_line(SD_WARNING, __VA_ARGS__)
#define log_err(...)  log_line(SD_ERR, __VA_ARGS__)

/* Asks for a reconcile after delay_usec (the earliest asked-for time wins). */
void daemon_schedule(struct daemon *d, unsigned reasons, uint64_t delay_usec);

/* reconcile.c */
int daemon_load_files(struct daemon *d); /* 1: new files accepted, 0: unchanged, <0 */
int daemon_reconcile(struct daemon *d, unsigned reasons);
bool daemon_devices_changed(struct daemon *d); /* a waiting path resolves, or a served one
						  no longer does */
void daemon_state_free(struct daemon *d);

/* control.c */
int control_listen(struct daemon *d);
void control_write_status(struct daemon *d, FILE *f, bool json);
bool daemon_healthy(const struct daemon *d);
