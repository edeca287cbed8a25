// SPDX-License-Identifier: MIT
/*
 * Listening UNIX sockets for vmkit's host-side endpoints (--monitor, --vnc
 * unix:, --vsock path=). One place decides what may be replaced at the path:
 * a stale socket file from an earlier run, never a regular file (a mistyped
 * path must not delete user data) nor a socket a live program listens on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmkit/util.h"

int unix_listen(const char *path, int backlog, const char *what, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: socket path '%s' is empty or longer than %zu bytes", what, path ? path : "",
			 sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s: '%s' exists and is not a socket", what, path);
			return -EEXIST;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			snprintf(err, errlen, "%s: '%s' is in use by another program", what, path);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		unlink(path); /* stale: nobody answers on it */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: socket: %s", what, strerror(-r));
		return r;
	}
	/*
	 * Owner only: whoever can connect controls the VM (or reads its screen).
	 * Set before listen(), so no one can connect while the mode is wider.
	 */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0600) || listen(fd, backlog)) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot listen on '%s': %s", what, path, strerror(-r));
		close(fd);
		unlink(path);
		return r;
	}
	return fd;
}
