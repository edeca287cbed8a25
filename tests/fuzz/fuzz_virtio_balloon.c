// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: virtio-balloon from a hostile driver (virtio 1.2 s5.5):
 * inflate/deflate PFN arrays (any PFN, any length, partial PFNs), the
 * statistics buffer the device holds and returns, free page reporting
 * ranges, config writes, queue numbering under any feature set, resets with
 * a held statistics buffer, and host-side target/statistics requests in
 * between. Operations: see vdev_ops.h; device action (op 5): op[1] & 3 =
 * 0 set the target to b pages, 1 request statistics, 2 read the info.
 * Byte 0 of the input picks the offered features (bit 0 DEFLATE_ON_OOM,
 * bit 1 PAGE_REPORTING) and byte 1 the negotiated ones at start.
 */
// fuzz-srcs: src/dev/virtio_balloon.c src/virtio/virtio.c src/virtio/virtio_mmio.c src/virtio/virtqueue.c src/mem/guest_mem.c src/util/*.c src/event/*.c src/bus/*.c
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmkit/virtio_balloon.h"
#include "vdev_ops.h"

static struct virtio_balloon *cur;

static void irq_set(void *ctx, uint32_t gsi, int level) {}

static void vdev_action(struct vqd *d, const uint8_t *op)
{
	struct virtio_balloon_info info;

	switch (op[1] & 3) {
	case 0:
		virtio_balloon_set_target(cur, get_le32(op + 4));
		break;
	case 1:
		virtio_balloon_request_stats(cur);
		break;
	default:
		virtio_balloon_get_info(cur, &info);
		if (info.target_pages > VDEV_MEM / VIRTIO_BALLOON_PAGE_SIZE)
			abort(); /* the target is clamped to guest RAM */
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_mem mem;
	static bool init;
	struct irq_line irq = { .set = irq_set };
	struct vqd d = { 0 };

	if (size < 2)
		return 0;
	if (!init) { /* one guest for the whole run: mapping RAM per input is slow */
		guest_mem_init(&mem);
		if (guest_mem_add(&mem, 0, VDEV_MEM))
			abort();
		init = true;
	}
	d.ram = guest_mem_ptr(&mem, 0, VDEV_MEM);
	memset(d.ram + VDEV_DATA, 0, VDEV_DATA_SIZE);
	struct virtio_balloon_params p = { .target = 1 << 20, .deflate_on_oom = data[0] & 1, .reporting = data[0] & 2 };
	cur = virtio_balloon_create(&p, VDEV_MEM);
	if (!cur)
		abort();
	d.m = virtio_mmio_create(&virtio_balloon_ops, cur, &mem, &irq);
	if (!d.m)
		abort();
	vqd_start(&d, 4, data[1] & 0x3f);
	vdev_run(&d, 4, data + 2, size - 2);
	virtio_mmio_destroy(d.m); /* destroys the balloon too */
	cur = NULL;
	return 0;
}
