// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: virtio-input (virtio 1.2 s5.8) from a hostile driver:
 * config select/subsel writes and reads at any offset and width, event
 * buffers of any shape (read-only, tiny, out of RAM), status queue buffers,
 * resets and restarts, interleaved with host tablet events that must be
 * delivered or held (the backlog is bounded). Operations: see vdev_ops.h;
 * device action (op 5): a tablet event at x = b, y = c, buttons op[1],
 * wheel (int8_t)a.
 */
// fuzz-srcs: src/dev/virtio_input.c src/virtio/virtio.c src/virtio/virtio_mmio.c src/virtio/virtqueue.c src/mem/guest_mem.c src/util/*.c src/event/*.c src/bus/*.c
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmkit/virtio_input.h"
#include "vdev_ops.h"

static struct virtio_input *cur;

static void irq_set(void *ctx, uint32_t gsi, int level) {}

static void vdev_action(struct vqd *d, const uint8_t *op)
{
	virtio_input_tablet_event(cur, get_le32(op + 4), get_le32(op + 8), op[1], (int8_t)op[2]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_mem mem;
	static bool init;
	struct irq_line irq = { .set = irq_set };
	struct vqd d = { 0 };

	if (!init) { /* one guest for the whole run: mapping RAM per input is slow */
		guest_mem_init(&mem);
		if (guest_mem_add(&mem, 0, VDEV_MEM))
			abort();
		init = true;
	}
	d.ram = guest_mem_ptr(&mem, 0, VDEV_MEM);
	memset(d.ram + VDEV_DATA, 0, VDEV_DATA_SIZE);
	cur = virtio_input_tablet_create();
	if (!cur)
		abort();
	d.m = virtio_mmio_create(&virtio_input_ops, cur, &mem, &irq);
	if (!d.m)
		abort();
	vqd_start(&d, 2, 0);
	vdev_run(&d, 2, data, size);
	virtio_mmio_destroy(d.m); /* destroys the device too */
	cur = NULL;
	return 0;
}
