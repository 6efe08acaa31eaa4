/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control socket of targetmgrd(8): <state-dir>/targetmgrd.sock, a Unix stream socket,
 * mode 0600 and peers checked to be root.  One request per connection: the client writes one
 * line, the daemon writes its answer and closes.  The answer's first line is "ok" or "error"
 * (the last target file load or apply failed), the rest is the document.  Requests:
 *   "status"       the status for people (what `targetmgr status` prints)
 *   "status json"  the same as one JSON object (`targetmgr status --json`; fields in
 *                  targetmgrd(8))
 * Anything else gets "error: unknown request\n".
 */
#pragma once

#define TM_CONTROL_SOCKET      "targetmgrd.sock"
#define TM_CONTROL_REQUEST_MAX 64

/* <state_dir>/targetmgrd.sock, or NULL (ENOMEM, or a path too long for sockaddr_un). */
char *tm_control_path(const char *state_dir);

/* Sends one request and reads the whole answer into *ret (NUL-terminated, malloc'ed).
   -ENOENT / -ECONNREFUSED: no daemon listens; -ENAMETOOLONG; other negative errnos. */
int tm_control_query(const char *state_dir, const char *request, char **ret);
