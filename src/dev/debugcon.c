// SPDX-License-Identifier: MIT
/*
 * The firmware debug console at port 0x402 (QEMU's "debugcon" convention,
 * which SeaBIOS writes its log to): each byte written goes to a log file
 * descriptor, line-buffered; reads return 0xe9, the readback value SeaBIOS
 * checks before it uses the port.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmkit/dev.h"
#include "vmkit/util.h"

#define DEBUGCON_READBACK 0xe9
#define LINE_MAX_BYTES 256

struct debugcon {
	pthread_mutex_t lock;
	int fd; /* -1: discard */
	bool own_fd;
	char line[LINE_MAX_BYTES];
	size_t len;
	uint64_t bytes;
};

struct debugcon *debugcon_create(int fd, bool own_fd)
{
	struct debugcon *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	pthread_mutex_init(&d->lock, NULL);
	d->fd = fd;
	d->own_fd = own_fd;
	return d;
}

/* Caller holds the lock. Best effort: a full disk or closed pipe loses log text, not the guest. */
static void flush_line(struct debugcon *d)
{
	size_t off = 0;

	while (d->fd >= 0 && off < d->len) {
		ssize_t n = write(d->fd, d->line + off, d->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	d->len = 0;
}

void debugcon_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct debugcon *d = opaque;

	if (!is_write) {
		memset(data, 0, size);
		data[0] = DEBUGCON_READBACK;
		return;
	}
	pthread_mutex_lock(&d->lock);
	for (uint32_t i = 0; i < size; i++) {
		d->line[d->len++] = (char)data[i];
		d->bytes++;
		if (data[i] == '\n' || d->len == sizeof(d->line))
			flush_line(d);
	}
	pthread_mutex_unlock(&d->lock);
}

static void debugcon_reset(void *dev)
{
}

static ssize_t debugcon_save(void *dev, void *buf, size_t cap)
{
	return 0;
}

static int debugcon_load(void *dev, const void *buf, size_t len)
{
	return len == 0 ? 0 : -EINVAL;
}

static void debugcon_destroy(void *dev)
{
	struct debugcon *d = dev;

	flush_line(d);
	if (d->own_fd && d->fd >= 0)
		close(d->fd);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

const struct device_ops debugcon_ops = {
	.name = "debugcon",
	.reset = debugcon_reset,
	.save = debugcon_save,
	.load = debugcon_load,
	.destroy = debugcon_destroy,
};
