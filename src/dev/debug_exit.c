// SPDX-License-Identifier: MIT
/*
 * The debug-exit port (the isa-debug-exit convention test kernels use): a
 * write of v at offset 0 asks vmkit to exit with status (v << 1) | 1, so a
 * guest can always be told apart from a normal power-off (status 0). v is the
 * written value masked to the access size. Reads return all-ones, as from an
 * empty ISA bus.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmkit/dev.h"
#include "vmkit/log.h"
#include "vmkit/util.h"

struct debug_exit {
	struct machine_ctl ctl;
};

struct debug_exit *debug_exit_create(const struct machine_ctl *ctl)
{
	struct debug_exit *d = calloc(1, sizeof(*d));

	if (d && ctl)
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
	if (off != 0) {
		log_ratelimited(LOG_WARN, "debug-exit: write at offset %llu ignored (write to offset 0)",
				(unsigned long long)off);
		return;
	}
	/* Little-endian, masked to the access size; an 8-byte write keeps its low 32 bits. */
	for (uint32_t i = 0; i < MIN(size, 4u); i++)
		v |= (uint32_t)data[i] << (8 * i);
	machine_request(&d->ctl, MACHINE_DEBUG_EXIT, (int)((v << 1) | 1));
}

static void debug_exit_reset(void *dev)
{
}

/* Stateless: the blob is empty. */
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
