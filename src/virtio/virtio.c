// SPDX-License-Identifier: MIT
/*
 * Transport-independent virtio device core: feature negotiation (virtio 1.2
 * s2.2, s3.1.1), the status state machine (s2.1), queue enable and reset
 * (s2.4), DEVICE_NEEDS_RESET (s2.1.2).
 */
#include <errno.h>
#include <string.h>

#include "vmkit/log.h"
#include "vmkit/virtio.h"

#define CORE_FEATURES                                                                          \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_EVENT_IDX) | (1ULL << VIRTIO_F_INDIRECT_DESC) | \
	 (1ULL << VIRTIO_F_RING_PACKED))

void virtio_dev_init(struct virtio_dev *vdev, const struct virtio_device_ops *ops, void *impl,
		     const struct guest_mem *mem, const struct virtio_irq_ops *irq, void *transport)
{
	memset(vdev, 0, sizeof(*vdev));
	vdev->ops = ops;
	vdev->impl = impl;
	vdev->mem = mem;
	vdev->irq = irq;
	vdev->transport = transport;
	pthread_mutex_init(&vdev->lock, NULL);
	vdev->device_features = CORE_FEATURES | (ops->features ? ops->features(impl) : 0);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		vdev->qcfg[q].size = ops->max_queue_size;
		vdev->qcfg[q].msix_vector = 0xffff;
	}
}

uint32_t virtio_dev_get_features(struct virtio_dev *vdev, uint32_t sel)
{
	return sel < 2 ? (uint32_t)(vdev->device_features >> (32 * sel)) : 0;
}

void virtio_dev_set_features(struct virtio_dev *vdev, uint32_t sel, uint32_t val)
{
	pthread_mutex_lock(&vdev->lock);
	/* s3.1.1: features are only written before FEATURES_OK. */
	if (sel < 2 && !(vdev->status & VIRTIO_STATUS_FEATURES_OK)) {
		vdev->driver_features &= ~(0xffffffffULL << (32 * sel));
		vdev->driver_features |= (uint64_t)val << (32 * sel);
	}
	pthread_mutex_unlock(&vdev->lock);
}

static void reset_locked(struct virtio_dev *vdev)
{
	if (vdev->ops->reset)
		vdev->ops->reset(vdev->impl);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		virtq_reset(&vdev->vq[q]);
		memset(&vdev->qcfg[q], 0, sizeof(vdev->qcfg[q]));
		vdev->qcfg[q].size = vdev->ops->max_queue_size;
		vdev->qcfg[q].msix_vector = 0xffff;
	}
	vdev->driver_features = 0;
	vdev->status = 0;
	vdev->isr = 0;
}

static int enable_queue_locked(struct virtio_dev *vdev, unsigned int q)
{
	int r;

	if (q >= vdev->ops->nr_queues || q >= VIRTIO_MAX_QUEUES)
		return -EINVAL;
	if (vdev->qcfg[q].size == 0 || vdev->qcfg[q].size > vdev->ops->max_queue_size)
		return -EINVAL;
	r = virtq_init(&vdev->vq[q], vdev->mem, vdev->qcfg[q].size, virtio_has_feature(vdev, VIRTIO_F_RING_PACKED),
		       virtio_has_feature(vdev, VIRTIO_F_EVENT_IDX), virtio_has_feature(vdev, VIRTIO_F_INDIRECT_DESC),
		       vdev->qcfg[q].desc, vdev->qcfg[q].driver, vdev->qcfg[q].device);
	if (r)
		return r;
	vdev->qcfg[q].enabled = true;
	return 0;
}

int virtio_dev_enable_queue(struct virtio_dev *vdev, unsigned int q)
{
	int r;

	/* Under vdev->lock: an I/O thread serving a kick never sees a half-built ring. */
	pthread_mutex_lock(&vdev->lock);
	r = enable_queue_locked(vdev, q);
	pthread_mutex_unlock(&vdev->lock);
	return r;
}

void virtio_dev_disable_queue(struct virtio_dev *vdev, unsigned int q)
{
	if (q >= VIRTIO_MAX_QUEUES)
		return;
	pthread_mutex_lock(&vdev->lock);
	vdev->qcfg[q].enabled = false;
	virtq_reset(&vdev->vq[q]);
	pthread_mutex_unlock(&vdev->lock);
}

void virtio_dev_needs_reset(struct virtio_dev *vdev)
{
	vdev->errors++;
	if (!(vdev->status & VIRTIO_STATUS_DRIVER_OK))
		return;
	__atomic_or_fetch(&vdev->status, VIRTIO_STATUS_DEVICE_NEEDS_RESET, __ATOMIC_SEQ_CST);
	__atomic_or_fetch(&vdev->isr, VIRTIO_ISR_CONFIG, __ATOMIC_SEQ_CST);
	log_ratelimited(LOG_WARN, "%s: the driver sent a malformed request: device needs reset", vdev->ops->name);
	if (vdev->irq && vdev->irq->config)
		vdev->irq->config(vdev);
}

void virtio_dev_set_status(struct virtio_dev *vdev, uint8_t status)
{
	uint8_t old;

	pthread_mutex_lock(&vdev->lock);
	old = vdev->status;
	if (status == 0) {
		reset_locked(vdev);
		goto out;
	}
	/* FEATURES_OK (s3.1.1 step 5-6): accept only offered features, and require VERSION_1. */
	if ((status & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		if ((vdev->driver_features & ~vdev->device_features) ||
		    !virtio_has_feature(vdev, VIRTIO_F_VERSION_1))
			status &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	/* DRIVER_OK without FEATURES_OK is a driver bug: refuse to start. */
	if ((status & VIRTIO_STATUS_DRIVER_OK) && !(status & VIRTIO_STATUS_FEATURES_OK))
		status &= ~VIRTIO_STATUS_DRIVER_OK;
	/* The device owns DEVICE_NEEDS_RESET; the driver cannot set or clear it except by reset. */
	status = (status & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET) | (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	vdev->status = status;
	if ((status & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		if (vdev->ops->activate && vdev->ops->activate(vdev->impl, vdev) < 0) {
			pthread_mutex_unlock(&vdev->lock);
			virtio_dev_needs_reset(vdev);
			return;
		}
	}
out:
	pthread_mutex_unlock(&vdev->lock);
}

void virtio_dev_kick(struct virtio_dev *vdev, unsigned int q)
{
	pthread_mutex_lock(&vdev->lock);
	/* s2.1.2: a device that needs reset stops processing until the driver resets it. */
	if (q < vdev->ops->nr_queues && q < VIRTIO_MAX_QUEUES && vdev->qcfg[q].enabled &&
	    (vdev->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET)) == VIRTIO_STATUS_DRIVER_OK &&
	    vdev->ops->queue_notify)
		vdev->ops->queue_notify(vdev->impl, vdev, q);
	pthread_mutex_unlock(&vdev->lock);
}

void virtio_dev_config_changed(struct virtio_dev *vdev)
{
	__atomic_add_fetch(&vdev->config_generation, 1, __ATOMIC_SEQ_CST);
	if (!(__atomic_load_n(&vdev->status, __ATOMIC_SEQ_CST) & VIRTIO_STATUS_DRIVER_OK))
		return; /* the driver reads the config when it starts anyway */
	__atomic_or_fetch(&vdev->isr, VIRTIO_ISR_CONFIG, __ATOMIC_SEQ_CST);
	if (vdev->irq && vdev->irq->config)
		vdev->irq->config(vdev);
}

void virtio_dev_notify_queue(struct virtio_dev *vdev, unsigned int q)
{
	if (q >= VIRTIO_MAX_QUEUES || !virtq_should_notify(&vdev->vq[q]))
		return;
	__atomic_or_fetch(&vdev->isr, VIRTIO_ISR_QUEUE, __ATOMIC_SEQ_CST);
	if (vdev->irq && vdev->irq->queue)
		vdev->irq->queue(vdev, q);
}

void virtio_dev_serve_queue(struct virtio_dev *vdev, unsigned int q, struct virtq_elem *elem,
			    uint32_t (*fn)(void *impl, struct virtq_elem *e), void *impl)
{
	int r;

	if (q >= VIRTIO_MAX_QUEUES)
		return;
	while ((r = virtq_pop(&vdev->vq[q], elem)) > 0)
		virtq_push(&vdev->vq[q], elem, fn(impl, elem));
	if (r < 0)
		virtio_dev_needs_reset(vdev);
	virtio_dev_notify_queue(vdev, q);
}
