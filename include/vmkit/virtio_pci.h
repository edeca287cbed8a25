/* SPDX-License-Identifier: MIT */
/*
 * virtio_pci: the virtio-over-PCI transport, modern interface only (virtio
 * 1.2 s4.1): PCI vendor 0x1af4, device 0x1040 + virtio id, revision 1, no
 * legacy I/O BAR. One 32-bit memory BAR (BAR0, VIRTIO_PCI_BAR_SIZE bytes)
 * holds every structure:
 *
 *   0x0000 common configuration  (s4.1.4.3)
 *   0x1000 ISR status            (s4.1.4.5, read clears)
 *   0x2000 device configuration  (s4.1.4.6; no capability when empty)
 *   0x3000 notifications         (s4.1.4.4, notify_off_multiplier 4: queue q
 *                                 at 0x3000 + 4*q, so each queue has its own
 *                                 address and its own ioeventfd)
 *   0x4000 MSI-X table, 0x5000 MSI-X PBA (PCI 3.0 s6.8.2)
 *
 * plus the PCI configuration access capability (s4.1.4.8). Interrupts are
 * MSI-X (one vector per queue + config, through struct msi_ctl) or, while the
 * driver has not enabled MSI-X, INTx pin A as a level line that follows the
 * ISR register.
 *
 * Threads: BAR and config-space accesses come from vCPU threads; queue
 * notifications are served on env->loop's thread (an I/O thread) when one is
 * given, else synchronously on the writing thread (unit tests, fuzzing).
 */
#ifndef VMKIT_VIRTIO_PCI_H
#define VMKIT_VIRTIO_PCI_H

#include "vmkit/event.h"
#include "vmkit/irq.h"
#include "vmkit/pci.h"
#include "vmkit/virtio.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_PCI_BAR_SIZE 0x8000
#define VIRTIO_PCI_COMMON 0x0000
#define VIRTIO_PCI_ISR 0x1000
#define VIRTIO_PCI_DEVICE_CFG 0x2000
#define VIRTIO_PCI_NOTIFY 0x3000
#define VIRTIO_PCI_NOTIFY_MULT 4
#define VIRTIO_PCI_MSIX_TABLE 0x4000
#define VIRTIO_PCI_MSIX_PBA 0x5000
#define VIRTIO_PCI_NO_VECTOR 0xffff

/* Virtio PCI capability types (s4.1.4) */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5

struct virtio_pci_env {
	const struct guest_mem *mem;
	const struct msi_ctl *msi;     /* NULL: no MSI-X capability, INTx only */
	const struct ioevent_ctl *ioev; /* NULL: notifications trap to the BAR handler */
	struct event_loop *loop;        /* NULL: serve notifications on the notifying thread */
};

struct virtio_pci;

/*
 * A virtio-pci function for the device type ops/impl; takes ownership of
 * impl (destroyed with the transport, or here on failure). Plug
 * virtio_pci_device() into a bus, then set its INTx line. NULL on failure.
 * If env->loop is set, its fds are added here: call before the loop runs.
 */
struct virtio_pci *virtio_pci_create(const struct virtio_device_ops *ops, void *impl,
				     const struct virtio_pci_env *env);
void virtio_pci_destroy(struct virtio_pci *p);

struct pci_device *virtio_pci_device(struct virtio_pci *p);
struct virtio_dev *virtio_pci_dev(struct virtio_pci *p);

/* The level line INTx pin A drives (build phase, after plugging). */
void virtio_pci_set_intx(struct virtio_pci *p, const struct irq_line *line);

/* BAR0 handler (bus_io_fn), exposed for unit tests and fuzzing. */
void virtio_pci_bar_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);

/*
 * Counters: accesses refused as malformed; MSI-X vectors fired / held
 * pending while masked; INTx assertions; notifications that reached the BAR
 * handler (kicks: no ioeventfd caught them) and eventfd counts the I/O
 * thread served (served: includes ioeventfd hits).
 */
struct virtio_pci_stats {
	uint64_t bad_accesses, msix_fired, msix_pending, intx_raised, kicks, served;
};
void virtio_pci_get_stats(struct virtio_pci *p, struct virtio_pci_stats *st);

/*
 * Snapshot of the transport (selectors, config vector, MSI-X table and PBA)
 * and the device core (virtio_dev_save). PCI configuration space (BARs, MSI-X
 * enable/mask) belongs to the PCI bus's state, like every PCI function's.
 * save: bytes or -ENOSPC; load: 0, or -EINVAL with nothing changed. VM paused.
 */
ssize_t virtio_pci_save(struct virtio_pci *p, void *buf, size_t cap);
int virtio_pci_load(struct virtio_pci *p, const void *buf, size_t len);

#endif
