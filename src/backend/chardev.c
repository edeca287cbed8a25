// SPDX-License-Identifier: MIT
/*
 * Console backends: stdio (raw terminal with a Ctrl-A escape), file, pty,
 * none. Output is written from the caller's thread (a vCPU); input is read
 * on the event loop and offered to the frontend, pausing while its FIFO is
 * full so no byte is dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

#include "vmkit/chardev.h"
#include "vmkit/event.h"
#include "vmkit/log.h"

#define CTRL_A 0x01

struct char_backend {
	struct chardev chr; /* first: chardev pointers are char_backend pointers */
	int in_fd, out_fd;
	int pty_slave_fd;
	bool out_nonblock; /* pty: drop output rather than stall the guest */
	bool escape_enabled, escape_pending;
	bool input_paused;
	struct event_loop *loop;
	int ready_fd;
	uint8_t pending[4096];
	size_t pend_off, pend_len;
	void (*quit)(void *opaque);
	void *quit_opaque;
	atomic_uint_fast64_t dropped;
};

/* Saved terminal state, restorable from signal handlers. */
static struct termios saved_tio;
static atomic_int saved_tio_fd = -1;

void chardev_restore_terminals(void)
{
	int fd = atomic_exchange(&saved_tio_fd, -1);

	if (fd >= 0)
		tcsetattr(fd, TCSAFLUSH, &saved_tio);
}

static void backend_write(struct chardev *c, const uint8_t *buf, size_t len)
{
	struct char_backend *b = (struct char_backend *)c;

	if (b->out_fd < 0)
		return;
	while (len) {
		ssize_t n = write(b->out_fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && !b->out_nonblock) {
				struct pollfd p = { .fd = b->out_fd, .events = POLLOUT };
				poll(&p, 1, 100);
				continue;
			}
			/* No reader (pty) or a broken pipe: the guest must not notice. */
			atomic_fetch_add(&b->dropped, len);
			return;
		}
		buf += n;
		len -= n;
	}
}

static void backend_input_ready(struct chardev *c)
{
	struct char_backend *b = (struct char_backend *)c;
	uint64_t one = 1;

	if (b->ready_fd >= 0 && write(b->ready_fd, &one, sizeof(one)) < 0) {
		/* counter full: a wakeup is already pending */
	}
}

static void backend_free(struct chardev *c)
{
	struct char_backend *b = (struct char_backend *)c;

	if (!b)
		return;
	if (b->loop) {
		if (b->in_fd >= 0)
			event_loop_del(b->loop, b->in_fd);
		if (b->ready_fd >= 0)
			event_loop_del(b->loop, b->ready_fd);
	}
	if (b->in_fd >= 0 && b->in_fd == atomic_load(&saved_tio_fd))
		chardev_restore_terminals();
	if (b->ready_fd >= 0)
		close(b->ready_fd);
	if (b->pty_slave_fd >= 0)
		close(b->pty_slave_fd);
	/* stdio fds belong to the process; others are ours. */
	if (b->in_fd > 2)
		close(b->in_fd);
	if (b->out_fd > 2 && b->out_fd != b->in_fd)
		close(b->out_fd);
	free(b);
}

static const struct chardev_ops backend_ops = {
	.write = backend_write,
	.input_ready = backend_input_ready,
	.close = backend_free,
};

static int make_raw(int fd, bool remember)
{
	struct termios t;

	if (tcgetattr(fd, &t) < 0)
		return -errno;
	if (remember) {
		saved_tio = t;
		atomic_store(&saved_tio_fd, fd);
	}
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	return 0;
}

static void atexit_restore(void)
{
	chardev_restore_terminals();
}

struct chardev *chardev_open(const char *spec, char *err, size_t errlen)
{
	struct char_backend *b = calloc(1, sizeof(*b));

	if (!b) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	b->chr.ops = &backend_ops;
	b->in_fd = b->out_fd = b->pty_slave_fd = b->ready_fd = -1;

	if (!strcmp(spec, "none")) {
		/* discard output, no input */
	} else if (!strcmp(spec, "stdio")) {
		b->in_fd = 0;
		b->out_fd = 1;
		if (isatty(0)) {
			static bool registered;
			if (make_raw(0, true) < 0) {
				snprintf(err, errlen, "console: cannot put the terminal in raw mode: %s",
					 strerror(errno));
				goto fail;
			}
			if (!registered) {
				atexit(atexit_restore);
				registered = true;
			}
			b->escape_enabled = true;
		}
	} else if (!strncmp(spec, "file:", 5) && spec[5]) {
		b->out_fd = open(spec + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (b->out_fd < 0) {
			snprintf(err, errlen, "console: cannot open %s: %s", spec + 5, strerror(errno));
			goto fail;
		}
	} else if (!strcmp(spec, "pty")) {
		int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		const char *name;
		if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || !(name = ptsname(m))) {
			snprintf(err, errlen, "console: cannot allocate a pty: %s", strerror(errno));
			if (m >= 0)
				close(m);
			goto fail;
		}
		/*
		 * Keep a slave fd open so the master never sees a hangup while no
		 * client is attached, and make the line discipline transparent.
		 */
		b->pty_slave_fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (b->pty_slave_fd >= 0)
			make_raw(b->pty_slave_fd, false);
		fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
		b->in_fd = b->out_fd = m;
		b->out_nonblock = true;
		fprintf(stderr, "vmkit: serial console on %s\n", name);
	} else {
		snprintf(err, errlen, "invalid console '%s' (expected stdio, none, file:PATH or pty)", spec);
		goto fail;
	}
	return &b->chr;
fail:
	backend_free(&b->chr);
	return NULL;
}

/* Offer pending input to the frontend; pause reading while it is full. */
static void flush_pending(struct char_backend *b)
{
	while (b->pend_len) {
		size_t n = b->chr.fe.receive(b->chr.fe.opaque, b->pending + b->pend_off, b->pend_len);
		if (n == 0)
			break;
		b->pend_off += n;
		b->pend_len -= n;
	}
	if (b->pend_len && !b->input_paused) {
		event_loop_mod(b->loop, b->in_fd, 0);
		b->input_paused = true;
	} else if (!b->pend_len && b->input_paused) {
		event_loop_mod(b->loop, b->in_fd, EPOLLIN);
		b->input_paused = false;
	}
}

/* Apply the Ctrl-A escape in place; returns the new length. */
static size_t filter_escape(struct char_backend *b, uint8_t *buf, size_t len)
{
	size_t out = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t ch = buf[i];
		if (b->escape_pending) {
			b->escape_pending = false;
			if (ch == 'x' || ch == 'X') {
				if (b->quit)
					b->quit(b->quit_opaque);
				return out;
			}
			if (ch != CTRL_A)
				buf[out++] = CTRL_A;
			buf[out++] = ch;
		} else if (ch == CTRL_A) {
			b->escape_pending = true;
		} else {
			buf[out++] = ch;
		}
	}
	return out;
}

static void on_input(void *opaque, uint32_t events)
{
	struct char_backend *b = opaque;
	ssize_t n;

	if (b->pend_len)
		return;
	n = read(b->in_fd, b->pending, sizeof(b->pending) / 2);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EOF (stdin closed) or error: stop reading, keep the VM running. */
		event_loop_del(b->loop, b->in_fd);
		b->in_fd = b->in_fd > 2 ? b->in_fd : -1;
		return;
	}
	b->pend_off = 0;
	b->pend_len = b->escape_enabled ? filter_escape(b, b->pending, n) : (size_t)n;
	flush_pending(b);
}

static void on_ready(void *opaque, uint32_t events)
{
	struct char_backend *b = opaque;
	uint64_t v;

	if (read(b->ready_fd, &v, sizeof(v)) < 0) {
		/* spurious */
	}
	flush_pending(b);
}

int chardev_attach(struct chardev *c, struct event_loop *loop, const struct chardev_frontend *fe,
		   void (*quit)(void *opaque), void *quit_opaque)
{
	struct char_backend *b = (struct char_backend *)c;
	int err;

	c->fe = *fe;
	b->quit = quit;
	b->quit_opaque = quit_opaque;
	b->loop = loop;
	if (b->in_fd < 0 || !fe->receive)
		return 0;
	b->ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->ready_fd < 0)
		return -errno;
	err = event_loop_add(loop, b->ready_fd, EPOLLIN, on_ready, b);
	if (err)
		return err;
	err = event_loop_add(loop, b->in_fd, EPOLLIN, on_input, b);
	/* A regular file or /dev/null on stdin cannot be polled: no input then. */
	return err == -EPERM ? 0 : err;
}

void chardev_close(struct chardev *c)
{
	if (c && c->ops && c->ops->close)
		c->ops->close(c);
}
