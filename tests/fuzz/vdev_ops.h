/* SPDX-License-Identifier: MIT */
/*
 * Shared by the virtio device fuzz targets: a hostile driver expressed as a
 * stream of 12-byte operations on a device behind the virtio-mmio transport
 * (virtio 1.2 s4.2.2 registers), with split rings in fake guest memory.
 *
 *   op[0] & 7 = kind, op[1] = queue/size byte, op[2..3] = le16 a,
 *   op[4..7] = le32 b, op[8..11] = le32 c
 *   0 register write   offset a (0..0x1ff, includes config space), value b,
 *                      width 1 << (op[1] & 3) (1, 2, 4 or 8 bytes)
 *   1 register read    offset a, width as above
 *   2 post a chain     queue op[1] & 7, (op[1] >> 3) & 7 + 1 segments at
 *                      descriptor slots b..; segment i: gpa DATA + (c + i *
 *                      0x1000) % DATA_SIZE (or the raw c when bit 7 of op[1]),
 *                      length a, writable when bit i of b >> 16
 *   3 kick             queue op[1]
 *   4 poke guest RAM   write le32 c at DATA + b % DATA_SIZE
 *   5 device action    handed to the target (dev_action)
 *   6 restart          reset, then the start sequence with features b | c << 32
 *   7 ring poke        write le16 a at ring byte b % 0x3000 of queue op[1]
 */
#ifndef VMKIT_FUZZ_VDEV_OPS_H
#define VMKIT_FUZZ_VDEV_OPS_H

#include <stdint.h>
#include <string.h>

#include "vmkit/util.h"
#include "../unit/vq_driver.h"

#define VDEV_MEM (4 << 20)
#define VDEV_DATA 0x200000
#define VDEV_DATA_SIZE 0x100000
#define VDEV_OP_SIZE 12
#define VDEV_MAX_OPS 256

static void vdev_action(struct vqd *d, const uint8_t *op);

static void vdev_io(struct vqd *d, uint64_t off, unsigned int width, uint32_t v, bool is_write)
{
	uint8_t b[8] = { 0 };

	put_le32(b, v);
	put_le32(b + 4, v);
	virtio_mmio_io(d->m, off, b, width, is_write);
}

static void vdev_run(struct vqd *d, unsigned int nq, const uint8_t *data, size_t size)
{
	unsigned int n = 0;

	for (size_t off = 0; off + VDEV_OP_SIZE <= size && n++ < VDEV_MAX_OPS; off += VDEV_OP_SIZE) {
		const uint8_t *op = data + off;
		uint16_t a = get_le16(op + 2);
		uint32_t b = get_le32(op + 4), c = get_le32(op + 8);
		unsigned int q = op[1] & 7;

		switch (op[0] & 7) {
		case 0:
		case 1:
			vdev_io(d, a & 0x1ff, 1u << (op[1] & 3), b, !(op[0] & 7));
			break;
		case 2: {
			struct vqd_seg s[8];
			unsigned int ns = ((op[1] >> 3) & 7) + 1;

			if (q >= nq)
				break;
			for (unsigned int i = 0; i < ns; i++) {
				s[i].gpa = (op[1] & 0x80) ? c : VDEV_DATA + (c + i * 0x1000ULL) % VDEV_DATA_SIZE;
				s[i].len = a;
				s[i].write = (b >> (16 + i)) & 1;
			}
			d->next_desc[q] = (uint16_t)(b % VQD_QSIZE);
			vqd_add(d, q, s, ns);
			break;
		}
		case 3:
			vqd_kick(d, op[1]);
			break;
		case 4:
			put_le32(d->ram + VDEV_DATA + b % (VDEV_DATA_SIZE - 3), c);
			break;
		case 5:
			vdev_action(d, op);
			break;
		case 6:
			vqd_start(d, nq, b | (uint64_t)c << 32);
			break;
		case 7:
			if (q < nq)
				put_le16(d->ram + vqd_desc(q) + b % 0x2ffe, a);
			break;
		}
	}
}

#endif
