/* SPDX-License-Identifier: MIT */
/*
 * virtio_mmio: the virtio-over-MMIO transport (virtio 1.2 s4.2, version 2,
 * no legacy). One 0x200-byte register window per device and one level
 * interrupt line; Linux finds it through ACPI (LNRO0005) or
 * virtio_mmio.device=0x200@ADDR:IRQ on the command line.
 */
#ifndef VMKIT_VIRTIO_MMIO_H
#define VMKIT_VIRTIO_MMIO_H

#include "vmkit/bus.h"
#include "vmkit/event.h"
#include "vmkit/irq.h"
#include "vmkit/virtio.h"

#define VIRTIO_MMIO_SIZE 0x200

struct virtio_mmio;

struct virtio_mmio *virtio_mmio_create(const struct virtio_device_ops *ops, void *impl,
				       const struct guest_mem *mem, const struct irq_line *irq);
void virtio_mmio_destroy(struct virtio_mmio *m);
struct virtio_dev *virtio_mmio_dev(struct virtio_mmio *m);

/*
 * Serve queue notifications on loop's thread (an I/O thread) instead of the
 * writing vCPU: one eventfd per queue, watched by loop, and (with ioev) an
 * ioeventfd on QueueNotify at window base + 0x50 matching each queue index.
 * Build phase, before loop runs. 0 or -errno. Without this call,
 * notifications are served synchronously (unit tests, fuzzing).
 */
int virtio_mmio_attach_notify(struct virtio_mmio *m, struct event_loop *loop, const struct ioevent_ctl *ioev,
			      uint64_t base);

/*
 * Snapshot of the transport's selectors and the device core
 * (virtio_dev_save). save: bytes or -ENOSPC; load: 0, or -EINVAL with
 * nothing changed (the interrupt line follows the restored ISR). VM paused.
 */
ssize_t virtio_mmio_save(struct virtio_mmio *m, void *buf, size_t cap);
int virtio_mmio_load(struct virtio_mmio *m, const void *buf, size_t len);

/* Register window handler (bus_io_fn). */
void virtio_mmio_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);

#endif
