// SPDX-License-Identifier: MIT
/*
 * `vmkit screenshot --socket PATH OUT.png`: ask a running `vmkit run
 * --monitor unix:PATH` to write its screen as PNG. The monitor protocol is
 * one line per connection ("screenshot /ABSOLUTE/OUT.png"), answered with
 * "ok WxH" or "error: why". A stopgap until the control API exists.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd.h"
#include "vmkit/dev.h"

static const char screenshot_usage[] =
	"Usage: vmkit screenshot --socket PATH OUT.png\n"
	"\n"
	"Save the screen of a running VM (started with --monitor unix:PATH) as PNG.\n"
	"Exit status 0 on success, 1 if the VM could not take it, 2 on bad usage.\n";

int cmd_screenshot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *sock = NULL;
	char out[PATH_MAX + 32], reply[256], *dir, *base, cwd[PATH_MAX];
	size_t len = 0;
	int opt, fd;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":s:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'h':
			fputs(screenshot_usage, stdout);
			return 0;
		default:
			fprintf(stderr, "vmkit screenshot: bad option '%s' (see vmkit screenshot --help)\n",
				argv[optind - 1]);
			return VMKIT_EXIT_USAGE;
		}
	}
	if (!sock || optind != argc - 1) {
		fprintf(stderr, "vmkit screenshot: expected --socket PATH and one output file (see --help)\n");
		return VMKIT_EXIT_USAGE;
	}
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vmkit screenshot: socket path too long: %s\n", sock);
		return VMKIT_EXIT_USAGE;
	}
	/* The VM writes the file: give it an absolute path. */
	if (argv[optind][0] == '/') {
		snprintf(out, sizeof(out), "screenshot %s\n", argv[optind]);
	} else {
		if (!getcwd(cwd, sizeof(cwd))) {
			fprintf(stderr, "vmkit screenshot: getcwd: %s\n", strerror(errno));
			return VMKIT_EXIT_ERROR;
		}
		dir = cwd;
		base = argv[optind];
		if (snprintf(out, sizeof(out), "screenshot %s/%s\n", dir, base) >= (int)sizeof(out)) {
			fprintf(stderr, "vmkit screenshot: output path too long\n");
			return VMKIT_EXIT_USAGE;
		}
	}
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "vmkit screenshot: cannot connect to %s: %s (is vmkit run --monitor unix:%s running?)\n",
			sock, strerror(errno), sock);
		if (fd >= 0)
			close(fd);
		return VMKIT_EXIT_ERROR;
	}
	if (write(fd, out, strlen(out)) != (ssize_t)strlen(out)) {
		fprintf(stderr, "vmkit screenshot: %s: %s\n", sock, strerror(errno));
		close(fd);
		return VMKIT_EXIT_ERROR;
	}
	for (;;) {
		ssize_t n = read(fd, reply + len, sizeof(reply) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(reply) - 1)
			break;
	}
	close(fd);
	reply[len] = '\0';
	reply[strcspn(reply, "\n")] = '\0';
	if (strncmp(reply, "ok", 2)) {
		fprintf(stderr, "vmkit screenshot: %s\n", len ? reply : "no answer from the VM");
		return VMKIT_EXIT_ERROR;
	}
	return 0;
}
