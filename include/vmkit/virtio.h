/* SPDX-License-Identifier: MIT */
/*
 * virtio: the transport-independent half of a virtio 1.2 device: feature
 * negotiation (s2.2), the device status state machine (s2.1, s3.1.1), queues
 * and configuration space. A device type (virtio-blk, -net, ...) supplies a
 * const virtio_device_ops; a transport (virtio-pci, virtio-mmio, vhost-user
 * later) decodes registers and calls the virtio_dev_* functions.
 *
 * Thread contract (vmkit run):
 *  - register accesses (status, features, queue setup, config space) arrive
 *    on vCPU threads, possibly concurrently; the transport serializes them
 *    with its own lock and calls virtio_dev_set_status() etc.;
 *  - queue notifications are ioeventfds served on one shared I/O thread
 *    ("vmkit-io", src/event/iothread.c) through virtio_dev_kick(), so a slow
 *    device never stalls a vCPU; notifications the ioeventfd does not catch
 *    (odd widths) are forwarded to the same thread through the same eventfd;
 *  - interrupts (virtio_dev_notify_queue, needs_reset) may be raised from
 *    any thread: transports protect their interrupt state with a leaf lock.
 */
#ifndef VMKIT_VIRTIO_H
#define VMKIT_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmkit/mem.h"
#include "vmkit/virtqueue.h"

#define VIRTIO_MAX_QUEUES 16

/* Device status bits (s2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* Reserved feature bits (s6) */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34

/* ISR bits (s4.1.4.5 / s4.2.2 InterruptStatus) */
#define VIRTIO_ISR_QUEUE 1
#define VIRTIO_ISR_CONFIG 2

struct virtio_dev;

struct virtio_device_ops {
	const char *name;
	uint32_t device_id; /* s5 */
	unsigned int nr_queues;
	uint16_t max_queue_size;
	/* Device-specific configuration space (s4.x.4). Offsets < config_size. */
	uint32_t config_size;
	void (*config_read)(void *impl, uint32_t off, uint8_t *data, uint32_t size);
	void (*config_write)(void *impl, uint32_t off, const uint8_t *data, uint32_t size);
	/* Device features offered (the core adds VERSION_1, EVENT_IDX, INDIRECT, RING_PACKED). */
	uint64_t (*features)(void *impl);
	/* The driver set DRIVER_OK: start processing. 0 or -errno (-> DEVICE_NEEDS_RESET). */
	int (*activate)(void *impl, struct virtio_dev *vdev);
	/*
	 * The driver kicked queue q. Called through virtio_dev_kick() with
	 * vdev->lock held, on the transport's I/O thread (vmkit run: the
	 * "vmkit-io" thread, for both transports), or on the vCPU thread that
	 * wrote the notify register when the transport has no I/O loop (unit
	 * tests, fuzzing). It must not call virtio_dev_set_status() or
	 * virtio_dev_set_features() (they take vdev->lock); it may take its own
	 * lock (lock order: vdev->lock, then the device's lock, then the
	 * transport's interrupt lock). Work that arrives on other threads (e.g.
	 * console input on the main event loop) takes the device's own lock.
	 */
	void (*queue_notify)(void *impl, struct virtio_dev *vdev, unsigned int q);
	/* Back to the initial state (s2.4): stop using every queue. */
	void (*reset)(void *impl);
	/*
	 * Optional device-specific state for snapshots (the core saves
	 * features, status and queues itself): save returns bytes written or
	 * -ENOSPC; load validates completely before touching the device and
	 * returns 0 or -EINVAL. After a load, activate() runs again if the
	 * driver had the device running.
	 */
	ssize_t (*save_state)(void *impl, void *buf, size_t cap);
	int (*load_state)(void *impl, const void *buf, size_t len);
	void (*destroy)(void *impl);
};

/* Interrupt delivery, provided by the transport. */
struct virtio_irq_ops {
	void (*queue)(struct virtio_dev *vdev, unsigned int q);
	void (*config)(struct virtio_dev *vdev);
};

struct virtio_dev {
	const struct virtio_device_ops *ops;
	void *impl;
	const struct guest_mem *mem;
	const struct virtio_irq_ops *irq;
	void *transport; /* the transport's own state */

	pthread_mutex_t lock; /* status, features, queue setup */
	uint64_t device_features;
	uint64_t driver_features;
	uint8_t status;
	uint32_t config_generation;
	uint32_t isr;

	struct virtq vq[VIRTIO_MAX_QUEUES];
	/* queue setup registers before the queue is enabled */
	struct {
		uint16_t size;
		uint64_t desc, driver, device;
		bool enabled;
		uint16_t msix_vector;
	} qcfg[VIRTIO_MAX_QUEUES];

	uint64_t errors; /* malformed requests, broken queues */
};

/* Bind a device type instance to guest memory and a transport's interrupt ops. */
void virtio_dev_init(struct virtio_dev *vdev, const struct virtio_device_ops *ops, void *impl,
		     const struct guest_mem *mem, const struct virtio_irq_ops *irq, void *transport);

/* Feature negotiation: read 32 offered bits from word sel / write 32 accepted bits. */
uint32_t virtio_dev_get_features(struct virtio_dev *vdev, uint32_t sel);
void virtio_dev_set_features(struct virtio_dev *vdev, uint32_t sel, uint32_t val);

/*
 * Driver writes the status register: 0 resets; FEATURES_OK is refused (bit
 * left clear) if the accepted features are not a subset of the offered ones or
 * lack VERSION_1; DRIVER_OK enables the configured queues and activates.
 */
void virtio_dev_set_status(struct virtio_dev *vdev, uint8_t status);

/*
 * Enable queue q from qcfg[q] (queue_ready / queue_enable). 0 or -EINVAL.
 * Takes vdev->lock (the caller must not hold it).
 */
int virtio_dev_enable_queue(struct virtio_dev *vdev, unsigned int q);

/* Stop using queue q (virtio-mmio QueueReady = 0), serialized with kicks. */
void virtio_dev_disable_queue(struct virtio_dev *vdev, unsigned int q);

/* Mark the device broken (s2.1.2): DEVICE_NEEDS_RESET + config interrupt. */
void virtio_dev_needs_reset(struct virtio_dev *vdev);

/*
 * Transport side of a queue notification ("kick", s2.7.13 / s4.x.5.2): calls
 * ops->queue_notify(q) under vdev->lock if q exists, is enabled and the
 * device is DRIVER_OK (and not DEVICE_NEEDS_RESET). Holding vdev->lock
 * serializes kicks with status writes, so reset() never races a serve.
 */
void virtio_dev_kick(struct virtio_dev *vdev, unsigned int q);

/*
 * Device-side helper: the device changed its configuration space (s2.5.1):
 * bump config_generation and send a configuration change interrupt. Any
 * thread; do not hold vdev->lock.
 */
void virtio_dev_config_changed(struct virtio_dev *vdev);

/* Device-side helper: interrupt the driver for queue q if it wants one. */
void virtio_dev_notify_queue(struct virtio_dev *vdev, unsigned int q);

/*
 * Serve every available buffer of queue q with fn, which returns how many
 * bytes it wrote into the buffer; each buffer is returned to the driver. A
 * malformed chain marks the device DEVICE_NEEDS_RESET. Then interrupts the
 * driver if it asked for it. elem is the caller's scratch element; the caller
 * serializes calls per queue.
 */
void virtio_dev_serve_queue(struct virtio_dev *vdev, unsigned int q, struct virtq_elem *elem,
			    uint32_t (*fn)(void *impl, struct virtq_elem *e), void *impl);

/*
 * Snapshot of the core's state (status, features, config generation, ISR,
 * every queue's setup and ring positions) plus the device's own
 * (ops->save_state), as one versioned blob. Transports wrap it with their
 * registers. save: bytes written or -ENOSPC. load: validates everything
 * (identity, features, ring addresses against guest memory, positions)
 * before touching the device; -EINVAL leaves it as it was. On success the
 * queues continue where they were and, if the driver had set DRIVER_OK,
 * activate() runs again. Call with no queue being served (VM paused).
 */
ssize_t virtio_dev_save(struct virtio_dev *vdev, void *buf, size_t cap);
int virtio_dev_load(struct virtio_dev *vdev, const void *buf, size_t len);

/* Negotiated feature test. */
static inline bool virtio_has_feature(const struct virtio_dev *vdev, unsigned int bit)
{
	return (vdev->driver_features >> bit) & 1;
}

#endif
