/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "control.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "util.h"

char *tm_control_path(const char *state_dir)
{
	char *p = tm_strdupf("%s/%s", state_dir, TM_CONTROL_SOCKET);

	if (p && strlen(p) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		free(p);
		return NULL;
	}
	return p;
}

int tm_control_query(const char *state_dir, const char *request, char **ret)
{
	_cleanup_free_ char *path = tm_control_path(state_dir), *line = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (!path)
		return -ENAMETOOLONG;
	line = tm_strdupf("%s\n", request);
	if (!line)
		return -ENOMEM;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0)
		return -errno;
	return tm_read_all(fd, ret, NULL);
}
