// SPDX-License-Identifier: MIT
/*
 * The debug-exit port (QEMU's isa-debug-exit convention): a write of v asks
 * vmkit to exit with status (v << 1) | 1. Test kernels use it to report results.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmkit/dev.h"
#include "vmkit/util.h"

struct debug_exit {
	struct machine_ctl ctl;
};

struct debug_exit *debug_exit_create(const struct machine_ctl *ctl)
{
	struct debug_exit *d = calloc(1, sizeof(*d));

	if (d)
		d->ctl = *ctl;
	return d;
}

void debug_exit_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct debug_exit *d = opaque;
	uint32_t v = 0;

	if (!is_write) {
		memset(data, 0xff, size);
		return;
	}
	memcpy(&v, data, MIN(size, 4u));
	machine_request(&d->ctl, MACHINE_DEBUG_EXIT, (int)((v << 1) | 1));
}

static void debug_exit_reset(void *dev)
{
}

/* Stateless: an empty blob. */
static ssize_t debug_exit_save(void *dev, void *buf, size_t cap)
{
	return 0;
}

static int debug_exit_load(void *dev, const void *buf, size_t len)
{
	return len == 0 ? 0 : -EINVAL;
}

const struct device_ops debug_exit_ops = {
	.name = "debug-exit",
	.reset = debug_exit_reset,
	.save = debug_exit_save,
	.load = debug_exit_load,
	.destroy = free,
};
