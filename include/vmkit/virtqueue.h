/* SPDX-License-Identifier: MIT */
/*
 * virtqueue: the device side of virtio 1.2 split (s2.7) and packed (s2.8)
 * virtqueues. Every descriptor the driver supplies is validated: addresses
 * and lengths must lie in guest RAM, chains may not loop or exceed the queue
 * size, indirect tables must be well formed (s2.7.5.3.1), and device-writable
 * buffers must follow device-readable ones (s2.7.4.2). A malformed chain makes
 * virtq_pop() return -EINVAL; the caller then marks the device
 * DEVICE_NEEDS_RESET. Nothing here trusts guest memory to stay unchanged:
 * each field is read once.
 */
#ifndef VMKIT_VIRTQUEUE_H
#define VMKIT_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmkit/mem.h"

#define VIRTQ_MAX_SIZE 32768
#define VIRTQ_MAX_SEGS 1024 /* iovecs per request (Linux uses at most queue size) */

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_PACKED_DESC_F_AVAIL (1 << 7)
#define VIRTQ_PACKED_DESC_F_USED (1 << 15)

struct virtq {
	const struct guest_mem *mem;
	uint16_t size;   /* power of two for split; any 1..32768 for packed */
	bool packed;
	bool event_idx;  /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;   /* VIRTIO_F_INDIRECT_DESC negotiated */
	bool ready;
	uint64_t desc_gpa, driver_gpa, device_gpa;

	/* split */
	uint16_t last_avail; /* next avail ring slot to consume */
	uint16_t used_idx;   /* our copy of used->idx */
	/* packed */
	uint16_t next_avail;
	bool avail_wrap;
	uint16_t next_used;
	bool used_wrap;

	/*
	 * notification suppression bookkeeping: split, used_idx at the last
	 * interrupt decision; packed, descriptors used since then (capped at size)
	 */
	uint16_t signalled_used;
	bool signalled_valid;

	uint64_t errors; /* malformed chains seen */
	/*
	 * While the device polls the ring itself (event_loop pollers), an empty
	 * pop leaves the kick request where it was, so the driver keeps not
	 * kicking; the pop after clearing this asks for the next kick again.
	 */
	bool polling;
};

struct virtq_elem {
	uint16_t id;      /* head index (split) or buffer id (packed) */
	uint16_t ndescs;  /* descriptors consumed in the ring (packed) */
	unsigned int out_num; /* device-readable segments, first in iov */
	unsigned int in_num;  /* device-writable segments, after them */
	uint64_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_SEGS];
};

/*
 * Set up a queue after the driver wrote its addresses and size; checks that
 * the rings lie in guest RAM and that the size is valid. 0 or -EINVAL.
 */
int virtq_init(struct virtq *q, const struct guest_mem *mem, uint16_t size, bool packed, bool event_idx,
	       bool indirect, uint64_t desc, uint64_t driver, uint64_t device);

/* Forget all state (device reset). */
void virtq_reset(struct virtq *q);

/*
 * Take the next available buffer. Returns 1 with *e filled, 0 when the ring is
 * empty, -EINVAL when the driver supplied a malformed chain (q->errors++).
 * With EVENT_IDX, a pop that finds the ring empty asks the driver to kick at
 * the next buffer (avail_event / the device event's off_wrap); until then the
 * driver does not kick, so callers pop until 0 before waiting for a kick.
 */
int virtq_pop(struct virtq *q, struct virtq_elem *e);

/* Return a buffer with `written` bytes written into its device-writable part. */
void virtq_push(struct virtq *q, const struct virtq_elem *e, uint32_t written);

/*
 * Return n buffers at once: the driver sees all of them or none (virtio-net
 * mergeable receive buffers, s5.1.6.4: one packet spans several buffers and
 * the driver reads them as a group). written[i] bytes went into e[i].
 */
void virtq_push_many(struct virtq *q, struct virtq_elem *const *e, const uint32_t *written, unsigned int n);

/*
 * After one or more pushes: should the driver be interrupted (flags /
 * used_event, s2.7.7 and s2.8.10)?
 */
bool virtq_should_notify(struct virtq *q);

/*
 * Ask the driver not to kick (or to kick again) while the device processes
 * the queue (VIRTQ_USED_F_NO_NOTIFY / avail_event).
 */
void virtq_set_notification(struct virtq *q, bool enable);

/* Copy helpers across an element's segments. Return bytes copied. */
size_t virtq_elem_read(const struct virtq_elem *e, size_t off, void *buf, size_t len);
size_t virtq_elem_write(const struct virtq_elem *e, size_t off, const void *buf, size_t len);

#endif
