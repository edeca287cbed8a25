// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: virtio-blk request parsing through the virtio-mmio
 * transport. The input becomes guest memory (rings, headers, buffers) and a
 * few register writes; the device serves requests against a small image.
 * This build has no liburing, so requests run on the disk backend's thread
 * pool; each kick is drained so completions race with nothing but the next
 * input's setup.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmkit/util.h"
#include "vmkit/virtio_blk.h"
#include "vmkit/virtio_mmio.h"

#define MEM 0x20000

static void irq_set(void *ctx, uint32_t gsi, int level) {}

static void wr(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	uint8_t d[4];
	put_le32(d, v);
	virtio_mmio_io(m, off, d, 4, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct irq_line irq = { .set = irq_set };
	struct guest_mem mem;
	char err[256];

	if (size < 8)
		return 0;
	if (!path[0]) {
		strcpy(path, "/tmp/vmkit-fuzz-blk-XXXXXX");
		int fd = mkstemp(path);
		if (fd < 0 || ftruncate(fd, 64 * 1024) < 0)
			abort();
		close(fd);
	}
	guest_mem_init(&mem);
	if (guest_mem_add(&mem, 0, MEM))
		return 0;
	memcpy(guest_mem_ptr(&mem, 0, MEM), data + 8, size - 8 < MEM ? size - 8 : MEM);
	struct virtio_blk *b = virtio_blk_open(path, data[0] & 1, "fuzz", err, sizeof(err));
	if (!b)
		abort();
	struct virtio_mmio *m = virtio_mmio_create(virtio_blk_dev_ops(b), b, &mem, &irq);
	wr(m, 0x70, 3);
	wr(m, 0x24, 0);
	/* INDIRECT, EVENT_IDX, FLUSH, DISCARD, WRITE_ZEROES, SIZE_MAX, SEG_MAX */
	wr(m, 0x20, get_le32(data + 4) & ((1u << 28) | (1u << 29) | (1u << 9) | (1u << 13) | (1u << 14) | 6u));
	wr(m, 0x24, 1);
	wr(m, 0x20, 1 | ((data[1] & 1) << 2)); /* VERSION_1, maybe RING_PACKED */
	wr(m, 0x70, 0xb);
	wr(m, 0x38, 1u << (data[2] % 8));
	wr(m, 0x80, 0x0);
	wr(m, 0x90, 0x4000);
	wr(m, 0xa0, 0x6000);
	wr(m, 0x44, 1);
	wr(m, 0x70, 0xf);
	for (int i = 0; i < 1 + (data[3] & 3); i++) {
		wr(m, 0x50, 0);
		virtio_blk_drain(b);
	}
	virtio_mmio_destroy(m);
	guest_mem_free(&mem);
	return 0;
}
