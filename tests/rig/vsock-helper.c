// SPDX-License-Identifier: MIT
/*
 * vsock-helper: the two ends of the virtio-vsock rig test (built static by
 * tests/rig/build, in L1 and L2; busybox has no AF_VSOCK).
 *   vsock-listen PORT N        guest: echo N connections on vsock PORT
 *   vsock-connect CID PORT MSG guest: send MSG, print the echo
 *   unix-listen PATH N         host: echo N connections on UNIX socket PATH
 *   unix-connect PATH PORT MSG host: "CONNECT PORT" through vmkit's socket,
 *                              send MSG, print the echo
 * MSG "@N" sends N bytes of a pattern instead and checks the echo.
 * Connects retry for up to 60 s (the peer may not listen yet).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static void nap(void)
{
	struct timespec ts = { 0, 500 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 % 251);
}

/* Echo everything until EOF. Returns bytes echoed or -1. */
static long echo(int fd)
{
	static char buf[65536];
	long total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w <= 0)
				return -1;
			off += w;
		}
		total += n;
	}
	return n < 0 ? -1 : total;
}

static int serve(int lfd, int count, const char *tag)
{
	if (listen(lfd, 4) < 0) {
		perror("listen");
		return 1;
	}
	printf("%s listening\n", tag);
	fflush(stdout);
	for (int i = 0; i < count; i++) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			perror("accept");
			return 1;
		}
		long n = echo(fd);
		close(fd);
		printf("%s served bytes=%ld\n", tag, n);
		fflush(stdout);
	}
	return 0;
}

/* Send msg (or "@N" pattern bytes) with a half-close, read the echo, report. */
static int talk(int fd, const char *msg, const char *tag)
{
	size_t len = msg[0] == '@' ? strtoul(msg + 1, NULL, 10) : strlen(msg);
	char *out = malloc(len + 1), *in = malloc(len + 1);
	size_t got = 0;
	ssize_t n;

	for (size_t i = 0; i < len; i++)
		out[i] = msg[0] == '@' ? (char)pattern(i) : msg[i];
	/* Write and read interleaved so neither side's buffers can deadlock. */
	size_t sent = 0;
	while (sent < len) {
		size_t chunk = len - sent < 16384 ? len - sent : 16384;
		n = write(fd, out + sent, chunk);
		if (n <= 0) {
			perror("write");
			return 1;
		}
		sent += (size_t)n;
		while (got < sent && got < len) {
			n = recv(fd, in + got, len - got, MSG_DONTWAIT);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
	}
	shutdown(fd, SHUT_WR);
	while (got <= len && (n = read(fd, in + got, len + 1 - got)) > 0)
		got += (size_t)n;
	if (msg[0] == '@')
		printf("%s reply bytes=%zu match=%d\n", tag, got, got == len && !memcmp(in, out, len));
	else
		printf("%s reply=%.*s\n", tag, (int)got, in);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "vsock-listen")) {
		struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
					  .svm_port = (unsigned)atoi(argv[2]) };
		int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			perror("vsock bind");
			return 1;
		}
		return serve(fd, atoi(argv[3]), "VMKIT-VSOCK-GUEST");
	}
	if (argc == 4 && !strcmp(argv[1], "unix-listen")) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[2]);
		unlink(argv[2]);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			perror("unix bind");
			return 1;
		}
		return serve(fd, atoi(argv[3]), "VMKIT-VSOCK-HOST");
	}
	if (argc == 5 && !strcmp(argv[1], "vsock-connect")) {
		struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = (unsigned)atoi(argv[2]),
					  .svm_port = (unsigned)atoi(argv[3]) };
		for (int tries = 0; tries < 120; tries++) {
			int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
			if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
				return talk(fd, argv[4], "VMKIT-VSOCK-GUEST");
			printf("VMKIT-VSOCK-GUEST connect: %s\n", strerror(errno));
			close(fd);
			nap();
		}
		return 1;
	}
	if (argc == 5 && !strcmp(argv[1], "unix-connect")) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[2]);
		for (int tries = 0; tries < 120; tries++, nap()) {
			char line[64];
			size_t l = 0;
			int fd = socket(AF_UNIX, SOCK_STREAM, 0);
			if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
				close(fd);
				continue;
			}
			dprintf(fd, "CONNECT %s\n", argv[3]);
			/* "OK <hostport>\n", one byte at a time: the stream follows it */
			while (l < sizeof(line) - 1 && read(fd, line + l, 1) == 1 && line[l] != '\n')
				l++;
			line[l] = '\0';
			if (strncmp(line, "OK ", 3)) {
				close(fd); /* refused: the guest does not listen yet */
				continue;
			}
			printf("VMKIT-VSOCK-HOST connected %s\n", line);
			return talk(fd, argv[4], "VMKIT-VSOCK-HOST");
		}
		printf("VMKIT-VSOCK-HOST connect failed\n");
		return 1;
	}
	fprintf(stderr, "usage: see the comment at the top of vsock-helper.c\n");
	return 2;
}
