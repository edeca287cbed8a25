/* SPDX-License-Identifier: MIT */
/*
 * A minimal virtio driver for device unit tests: brings a device up through
 * its virtio-mmio registers (virtio 1.2 s4.2.3) with split queues in fake
 * guest memory, posts descriptor chains and reads the used rings. Header
 * only (static functions): include it from one test file.
 */
#ifndef VMKIT_TEST_VQ_DRIVER_H
#define VMKIT_TEST_VQ_DRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "vmkit/util.h"
#include "vmkit/virtio_mmio.h"

#ifndef VQD_QSIZE /* a test may choose its own queue size (a power of two) before including */
#define VQD_QSIZE 16
#endif
#define VQD_RING_BASE 0x10000 /* queue q's rings at VQD_RING_BASE + q * 0x4000 */
#define VQD_DATA_BASE 0x100000 /* free guest memory for the tests' buffers */

struct vqd {
	struct virtio_mmio *m;
	uint8_t *ram;
	uint16_t avail[VIRTIO_MAX_QUEUES];
	uint16_t next_desc[VIRTIO_MAX_QUEUES];
	uint16_t used_seen[VIRTIO_MAX_QUEUES];
};

struct vqd_seg {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device-writable */
};

static inline void vqd_wr(struct vqd *d, uint64_t off, uint32_t v)
{
	uint8_t b[4];
	put_le32(b, v);
	virtio_mmio_io(d->m, off, b, 4, true);
}

static inline uint32_t vqd_rd(struct vqd *d, uint64_t off)
{
	uint8_t b[4];
	virtio_mmio_io(d->m, off, b, 4, false);
	return get_le32(b);
}

static inline uint64_t vqd_desc(unsigned int q) { return VQD_RING_BASE + q * 0x4000; }
static inline uint64_t vqd_avail(unsigned int q) { return vqd_desc(q) + 0x1000; }
static inline uint64_t vqd_usedr(unsigned int q) { return vqd_desc(q) + 0x2000; }

/* Offered device features (64 bits). */
static inline uint64_t vqd_device_features(struct vqd *d)
{
	vqd_wr(d, 0x14, 0);
	uint64_t lo = vqd_rd(d, 0x10);
	vqd_wr(d, 0x14, 1);
	return lo | (uint64_t)vqd_rd(d, 0x10) << 32;
}

/*
 * Negotiate features (VERSION_1 is added) up to FEATURES_OK, without a reset
 * first (a device may hold state from before the driver). Returns the status
 * read back.
 */
static inline uint32_t vqd_negotiate(struct vqd *d, uint64_t features)
{
	features |= 1ULL << 32;
	vqd_wr(d, 0x70, 1 | 2);
	vqd_wr(d, 0x24, 0);
	vqd_wr(d, 0x20, (uint32_t)features);
	vqd_wr(d, 0x24, 1);
	vqd_wr(d, 0x20, (uint32_t)(features >> 32));
	vqd_wr(d, 0x70, 1 | 2 | 8);
	return vqd_rd(d, 0x70);
}

/* Set up queues 0..nq-1 (VQD_QSIZE entries, empty rings) and enable them. */
static inline void vqd_setup_queues(struct vqd *d, unsigned int nq)
{
	for (unsigned int q = 0; q < nq; q++) {
		memset(d->ram + vqd_desc(q), 0, 0x3000);
		vqd_wr(d, 0x30, q);
		vqd_wr(d, 0x38, VQD_QSIZE);
		vqd_wr(d, 0x80, (uint32_t)vqd_desc(q));
		vqd_wr(d, 0x90, (uint32_t)vqd_avail(q));
		vqd_wr(d, 0xa0, (uint32_t)vqd_usedr(q));
		vqd_wr(d, 0x44, 1);
		d->avail[q] = d->next_desc[q] = d->used_seen[q] = 0;
	}
}

static inline uint32_t vqd_driver_ok(struct vqd *d)
{
	vqd_wr(d, 0x70, 1 | 2 | 8 | 4);
	return vqd_rd(d, 0x70);
}

/* Reset, negotiate features (VERSION_1 is added), set up nq queues, DRIVER_OK. Returns the status. */
static inline uint32_t vqd_start(struct vqd *d, unsigned int nq, uint64_t features)
{
	vqd_wr(d, 0x70, 0);
	vqd_negotiate(d, features);
	vqd_setup_queues(d, nq);
	return vqd_driver_ok(d);
}

/* One byte of the device configuration space (virtio-mmio 0x100 + off). */
static inline uint8_t vqd_cfg8(struct vqd *d, uint32_t off)
{
	uint8_t b;
	virtio_mmio_io(d->m, 0x100 + off, &b, 1, false);
	return b;
}

static inline void vqd_cfg_wr8(struct vqd *d, uint32_t off, uint8_t v)
{
	virtio_mmio_io(d->m, 0x100 + off, &v, 1, true);
}

/* Post a chain of n segments on queue q (no kick). Returns the head index. */
static inline uint16_t vqd_add(struct vqd *d, unsigned int q, const struct vqd_seg *s, unsigned int n)
{
	uint16_t head = d->next_desc[q];

	for (unsigned int i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % VQD_QSIZE);
		uint8_t *desc = d->ram + vqd_desc(q) + 16 * idx;
		put_le64(desc, s[i].gpa);
		put_le32(desc + 8, s[i].len);
		put_le16(desc + 12, (uint16_t)((i + 1 < n ? VIRTQ_DESC_F_NEXT : 0) | (s[i].write ? VIRTQ_DESC_F_WRITE : 0)));
		put_le16(desc + 14, (uint16_t)((idx + 1) % VQD_QSIZE));
	}
	d->next_desc[q] = (uint16_t)((head + n) % VQD_QSIZE);
	put_le16(d->ram + vqd_avail(q) + 4 + 2 * (d->avail[q] % VQD_QSIZE), head);
	d->avail[q]++;
	put_le16(d->ram + vqd_avail(q) + 2, d->avail[q]);
	return head;
}

static inline void vqd_kick(struct vqd *d, unsigned int q)
{
	vqd_wr(d, 0x50, q);
}

/* used->idx of queue q */
static inline uint16_t vqd_used_idx(struct vqd *d, unsigned int q)
{
	return get_le16(d->ram + vqd_usedr(q) + 2);
}

/* id and len of used ring slot `slot` (taken modulo the queue size) of queue q */
static inline uint32_t vqd_used_id(struct vqd *d, unsigned int q, uint16_t slot)
{
	return get_le32(d->ram + vqd_usedr(q) + 4 + 8 * (slot % VQD_QSIZE));
}

static inline uint32_t vqd_used_len(struct vqd *d, unsigned int q, uint16_t slot)
{
	return get_le32(d->ram + vqd_usedr(q) + 4 + 8 * (slot % VQD_QSIZE) + 4);
}

/* Take the next used element of queue q not yet seen: true with id/len, false if none. */
static inline bool vqd_get_used(struct vqd *d, unsigned int q, uint16_t *id, uint32_t *len)
{
	if (d->used_seen[q] == vqd_used_idx(d, q))
		return false;
	const uint8_t *e = d->ram + vqd_usedr(q) + 4 + 8 * (d->used_seen[q] % VQD_QSIZE);
	if (id)
		*id = (uint16_t)get_le32(e);
	if (len)
		*len = get_le32(e + 4);
	d->used_seen[q]++;
	return true;
}

#endif
