/* SPDX-License-Identifier: MIT */
/*
 * chardev: byte-stream host backends for consoles (stdio, file, pty, none).
 * A frontend device (serial, later virtio-console) writes guest output with
 * chardev_write() and receives host input through the receive callback, which
 * runs on the event-loop thread.
 */
#ifndef VMKIT_CHARDEV_H
#define VMKIT_CHARDEV_H

#include <stddef.h>
#include <stdint.h>

struct chardev;

struct chardev_frontend {
	/*
	 * Offer input bytes; return how many the device accepted (0 when its
	 * FIFO is full). Event-loop thread.
	 */
	size_t (*receive)(void *opaque, const uint8_t *buf, size_t len);
	void *opaque;
};

struct chardev_ops {
	/* Guest output; may be called from a vCPU thread. Never fails the guest. */
	void (*write)(struct chardev *c, const uint8_t *buf, size_t len);
	/* The frontend has room again: resume delivering input. Any thread. */
	void (*input_ready)(struct chardev *c);
	void (*close)(struct chardev *c);
};

struct chardev {
	const struct chardev_ops *ops;
	struct chardev_frontend fe;
};

static inline void chardev_write(struct chardev *c, const uint8_t *buf, size_t len)
{
	if (c && c->ops && c->ops->write)
		c->ops->write(c, buf, len);
}

static inline void chardev_input_ready(struct chardev *c)
{
	if (c && c->ops && c->ops->input_ready)
		c->ops->input_ready(c);
}

struct event_loop;

/*
 * Open a backend from a --console style spec: "stdio", "none", "file:PATH",
 * "pty". stdio on a terminal switches it to raw mode (restored by
 * chardev_close, at exit, and on fatal signals) and enables the escape
 * Ctrl-A x (quit) / Ctrl-A Ctrl-A (send Ctrl-A). NULL + one line in err.
 */
struct chardev *chardev_open(const char *spec, char *err, size_t errlen);

/*
 * Connect the frontend and start delivering input on the loop's thread.
 * quit is called (loop thread) when the user types the escape Ctrl-A x.
 */
int chardev_attach(struct chardev *c, struct event_loop *loop, const struct chardev_frontend *fe,
		   void (*quit)(void *opaque), void *quit_opaque);

/* Restore the terminal and free. NULL is fine. */
void chardev_close(struct chardev *c);

/* Restore any terminal put in raw mode (async-signal-safe; for fatal paths). */
void chardev_restore_terminals(void);

#endif
