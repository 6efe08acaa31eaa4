/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The control socket (protocol in lib/control.h) and the status document. */
#include <dirent.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "../lib/control.h"
#include "../lib/waiting.h"
#include "../tools/json.h"
#include "targetmgrd.h"

bool daemon_healthy(const struct daemon *d)
{
	return d->load_ok && d->apply_ok;
}

/* Open descriptors and resident memory, so that tests can tell the daemon does not leak. */
static unsigned count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	unsigned n = 0;
	struct dirent *de;

	if (!dir)
		return 0;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n - 1; /* the directory's own descriptor */
}

static unsigned long long rss_kib(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/statm", "re");
	unsigned long long size, resident;

	if (!f || fscanf(f, "%llu %llu", &size, &resident) != 2)
		return 0;
	return resident * (unsigned long long)sysconf(_SC_PAGESIZE) / 1024;
}

static void format_time(uint64_t usec, char *buf, size_t len)
{
	time_t t = (time_t)(usec / 1000000);
	struct tm tm;

	if (usec == 0 || !gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "never");
}

static void write_json(struct daemon *d, FILE *f)
{
	json_object *doc = json_object_new_object(), *o, *a;
	char when[32];

	json_add(doc, "healthy", json_val_bool(daemon_healthy(d)));
	json_add(doc, "config", json_val_str(d->config_path));
	o = json_add(doc, "daemon", json_object_new_object());
	json_add(o, "pid", json_val_uint((unsigned long long)getpid()));
	format_time(d->started_usec, when, sizeof(when));
	json_add(o, "started", json_val_str(when));
	json_add(o, "fds", json_val_uint(count_fds()));
	json_add(o, "rss_kib", json_val_uint(rss_kib()));
	/* Bytes malloc has handed out and not got back (chunks in glibc's per-thread cache
	   count as in use): steadier than RSS, which moves with the allocator's page use. */
	json_add(o, "heap_bytes", json_val_uint(mallinfo2().uordblks));
	json_add(o, "device_events", json_val_uint(d->n_device_events));
	json_add(o, "reconciles", json_val_uint(d->n_reconciles));
	json_add(o, "last_attach_latency_usec", json_val_uint(d->last_attach_latency_usec));

	o = json_add(doc, "last_apply", json_object_new_object());
	format_time(d->apply_usec, when, sizeof(when));
	json_add(o, "time", json_val_str(when));
	json_add(o, "time_usec", json_val_uint(d->apply_usec));
	json_add(o, "reason", json_val_str(d->apply_reason));
	json_add(o, "result",
		 json_val_str(d->apply_usec == 0 ? "none"
			      : d->apply_ok      ? "ok"
						 : "failed"));
	json_add(o, "operations", json_val_uint(d->apply_ops));
	json_add(o, "error", json_val_str(d->apply_message));

	o = json_add(doc, "target_files", json_object_new_object());
	format_time(d->load_usec, when, sizeof(when));
	json_add(o, "time", json_val_str(when));
	json_add(o, "result", json_val_str(d->load_ok ? "accepted" : "rejected"));
	json_add(o, "serving_last_good", json_val_bool(!d->load_ok && d->have_good));
	a = json_add(o, "diagnostics", json_object_new_array());
	for (size_t i = 0; i < d->n_load_diags; i++)
		json_push(a, json_val_str(d->load_diags[i]));

	a = json_add(doc, "waiting", json_object_new_array());
	for (size_t i = 0; d->waiting && i < d->waiting->n_targets; i++) {
		const struct tm_target *t = &d->waiting->targets[i];
		for (size_t k = 0; k < t->n_luns; k++) {
			const struct tm_lun *l = &t->luns[k];
			const struct tm_backstore *b = tm_waiting_backstore(d->waiting, l);

			o = json_push(a, json_object_new_object());
			json_add(o, "target", json_val_str(t->iqn));
			json_add(o, "lun", json_val_uint(l->number));
			json_add(o, "path", json_val_str(b ? b->path : NULL));
			json_add(o, "backstore", json_val_str(b ? b->name : NULL));
			json_add(o, "serial", json_val_str(b ? b->serial : NULL));
			json_add(o, "file", json_val_str(l->origin.file));
			json_add(o, "line", json_val_uint(l->origin.line));
		}
	}
	json_print(f, doc);
}

static void write_text(struct daemon *d, FILE *f)
{
	char when[32];

	fprintf(f, "targetmgrd: pid %d, %u open fds, %llu KiB resident, target files %s\n",
		(int)getpid(), count_fds(), rss_kib(), d->config_path);
	format_time(d->apply_usec, when, sizeof(when));
	if (d->apply_usec == 0)
		fprintf(f, "last apply: never\n");
	else if (d->apply_ok)
		fprintf(f, "last apply: %s (%s): ok, %u operation%s\n", when, d->apply_reason,
			d->apply_ops, d->apply_ops == 1 ? "" : "s");
	else
		fprintf(f, "last apply: %s (%s): FAILED: %s\n", when, d->apply_reason,
			d->apply_message ?: "?");
	format_time(d->load_usec, when, sizeof(when));
	if (d->load_ok)
		fprintf(f, "target files: read %s: accepted\n", when);
	else
		fprintf(f, "target files: read %s: REJECTED, %s\n", when,
			d->have_good ? "the last good files keep serving" : "nothing applied");
	for (size_t i = 0; i < d->n_load_diags; i++)
		fprintf(f, "  %s\n", d->load_diags[i]);

	fprintf(f, "waiting LUNs: %zu\n", tm_waiting_count(d->waiting));
	tm_waiting_print(f, d->waiting);
}

void control_write_status(struct daemon *d, FILE *f, bool json)
{
	fputs(daemon_healthy(d) ? "ok\n" : "error\n", f);
	if (json)
		write_json(d, f);
	else
		write_text(d, f);
}

/* One short request line from a local root client; a client that sends nothing within a
   second is dropped rather than holding the loop. */
static int on_connection(sd_event_source *s _unused_, int fd, uint32_t revents _unused_,
			 void *userdata)
{
	struct daemon *d = userdata;
	_cleanup_close_ int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	_cleanup_fclose_ FILE *out = NULL;
	char request[TM_CONTROL_REQUEST_MAX + 1];
	struct timeval timeout = {.tv_sec = 1};
	struct ucred cred;
	socklen_t len = sizeof(cred);
	ssize_t n;
	char *nl;

	if (c < 0)
		return 0;
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0)
		return 0;
	(void)setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	(void)setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	n = recv(c, request, TM_CONTROL_REQUEST_MAX, 0);
	if (n <= 0)
		return 0;
	request[n] = '\0';
	nl = strchr(request, '\n');
	if (nl)
		*nl = '\0';
	out = fdopen(c, "w");
	if (!out)
		return 0;
	c = -EBADF; /* the stream owns it now */
	if (streq(request, "status"))
		control_write_status(d, out, false);
	else if (streq(request, "status json"))
		control_write_status(d, out, true);
	else
		fputs("error\nunknown request\n", out);
	return 0;
}

int control_listen(struct daemon *d)
{
	_cleanup_free_ char *path = tm_control_path(d->state_dir);
	_cleanup_close_ int fd = -EBADF;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	mode_t old;
	int r;

	if (!path)
		return -ENAMETOOLONG;
	if (mkdir(d->state_dir, 0700) < 0 && errno != EEXIST)
		return log_err("cannot create %s: %s", d->state_dir, strerror(errno)), -errno;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	(void)unlink(path);
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 16) < 0) {
		r = -errno;
		log_err("cannot listen on %s: %s", path, strerror(-r));
		return r;
	}
	r = sd_event_add_io(d->event, NULL, fd, EPOLLIN, on_connection, d);
	if (r < 0)
		return r;
	/* The event source does not own the descriptor: it lives as long as the process. */
	fd = -EBADF;
	return 0;
}
