// SPDX-License-Identifier: MIT
/*
 * Transport-independent virtio device core: feature negotiation (virtio 1.2
 * s2.2, s3.1.1), the status state machine (s2.1), queue enable and reset
 * (s2.4), DEVICE_NEEDS_RESET (s2.1.2).
 */
#include <errno.h>
#include <stddef.h>
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

/* The core's half of a reset: queues, features, status, ISR. */
static void reset_core_locked(struct virtio_dev *vdev)
{
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

static void reset_locked(struct virtio_dev *vdev)
{
	if (vdev->ops->reset)
		vdev->ops->reset(vdev->impl);
	reset_core_locked(vdev);
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
	/*
	 * While the device is live, backend threads (network receive, vsock,
	 * VNC input, balloon control) use its rings under the device's own
	 * locks, not this one: tearing a ring down under them crashes the VMM.
	 * Taking a queue away from a running device is a queue reset
	 * (VIRTIO_F_RING_RESET, s2.6.1), which is not offered; the driver
	 * resets the device first (Linux does, before deleting its queues).
	 */
	if (__atomic_load_n(&vdev->status, __ATOMIC_SEQ_CST) & VIRTIO_STATUS_DRIVER_OK) {
		pthread_mutex_unlock(&vdev->lock);
		log_ratelimited(LOG_WARN, "%s: the driver disabled queue %u of a running device: ignored",
				vdev->ops->name, q);
		return;
	}
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
	/*
	 * s2.1.2: the driver MUST NOT clear a status bit; only a reset does. A
	 * device stays active until its reset, so a cleared DRIVER_OK would let
	 * its queues be torn down (or activate run twice) while it runs.
	 */
	status |= old;
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

/* --- snapshots ------------------------------------------------------------ */

#define STATE_MAGIC 0x56495254U /* "TRIV" */
#define STATE_VERSION 1

struct state_queue {
	uint64_t desc, driver, device;
	uint16_t size, msix_vector;
	uint16_t last_avail, used_idx, next_avail, next_used, signalled_used;
	uint8_t enabled, avail_wrap, used_wrap, signalled_valid;
} __attribute__((packed));

struct state {
	uint32_t magic, version;
	uint32_t device_id, nr_queues;
	uint64_t device_features, driver_features;
	uint32_t config_generation, isr;
	uint8_t status, pad[7];
	struct state_queue q[VIRTIO_MAX_QUEUES];
	uint32_t impl_len; /* the device's own blob follows */
} __attribute__((packed));

ssize_t virtio_dev_save(struct virtio_dev *vdev, void *buf, size_t cap)
{
	struct state st;
	ssize_t impl = 0;

	if (cap < sizeof(st))
		return -ENOSPC;
	memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&vdev->lock);
	st.magic = STATE_MAGIC;
	st.version = STATE_VERSION;
	st.device_id = vdev->ops->device_id;
	st.nr_queues = vdev->ops->nr_queues;
	st.device_features = vdev->device_features;
	st.driver_features = vdev->driver_features;
	st.config_generation = __atomic_load_n(&vdev->config_generation, __ATOMIC_SEQ_CST);
	st.isr = __atomic_load_n(&vdev->isr, __ATOMIC_SEQ_CST);
	st.status = __atomic_load_n(&vdev->status, __ATOMIC_SEQ_CST);
	for (unsigned int i = 0; i < vdev->ops->nr_queues && i < VIRTIO_MAX_QUEUES; i++) {
		const struct virtq *q = &vdev->vq[i];
		st.q[i] = (struct state_queue){
			.desc = vdev->qcfg[i].desc, .driver = vdev->qcfg[i].driver, .device = vdev->qcfg[i].device,
			.size = vdev->qcfg[i].size, .msix_vector = vdev->qcfg[i].msix_vector,
			.last_avail = q->last_avail, .used_idx = q->used_idx, .next_avail = q->next_avail,
			.next_used = q->next_used, .signalled_used = q->signalled_used,
			.enabled = vdev->qcfg[i].enabled, .avail_wrap = q->avail_wrap, .used_wrap = q->used_wrap,
			.signalled_valid = q->signalled_valid,
		};
	}
	if (vdev->ops->save_state) {
		impl = vdev->ops->save_state(vdev->impl, (uint8_t *)buf + sizeof(st), cap - sizeof(st));
		if (impl < 0) {
			pthread_mutex_unlock(&vdev->lock);
			return impl;
		}
	}
	st.impl_len = (uint32_t)impl;
	pthread_mutex_unlock(&vdev->lock);
	memcpy(buf, &st, sizeof(st));
	return (ssize_t)sizeof(st) + impl;
}

#define STATUS_BITS                                                                                   \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK | \
	 VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED)

/* Build queue i's ring from a saved record into out; 0 or -EINVAL. */
static int restore_queue(const struct virtio_dev *vdev, const struct state *st, unsigned int i, struct virtq *out)
{
	const struct state_queue *sq = &st->q[i];
	bool packed = (st->driver_features >> VIRTIO_F_RING_PACKED) & 1;

	memset(out, 0, sizeof(*out));
	if (sq->size == 0 || sq->size > vdev->ops->max_queue_size || sq->enabled > 1)
		return -EINVAL;
	if (!sq->enabled)
		return 0;
	if (virtq_init(out, vdev->mem, sq->size, packed, (st->driver_features >> VIRTIO_F_EVENT_IDX) & 1,
		       (st->driver_features >> VIRTIO_F_INDIRECT_DESC) & 1, sq->desc, sq->driver, sq->device))
		return -EINVAL;
	if (packed && (sq->next_avail >= sq->size || sq->next_used >= sq->size))
		return -EINVAL;
	out->last_avail = sq->last_avail;
	out->used_idx = sq->used_idx;
	out->next_avail = sq->next_avail;
	out->next_used = sq->next_used;
	out->avail_wrap = sq->avail_wrap;
	out->used_wrap = sq->used_wrap;
	out->signalled_used = sq->signalled_used;
	out->signalled_valid = sq->signalled_valid;
	return 0;
}

int virtio_dev_load(struct virtio_dev *vdev, const void *buf, size_t len)
{
	static const struct state_queue zero;
	struct virtq vq[VIRTIO_MAX_QUEUES];
	struct state st;
	unsigned int nq = vdev->ops->nr_queues;

	if (len < sizeof(st))
		return -EINVAL;
	memcpy(&st, buf, sizeof(st));
	if (st.magic != STATE_MAGIC || st.version != STATE_VERSION || st.device_id != vdev->ops->device_id ||
	    st.nr_queues != nq || nq > VIRTIO_MAX_QUEUES || st.impl_len != len - sizeof(st) ||
	    (st.impl_len && !vdev->ops->load_state) || st.device_features != vdev->device_features ||
	    (st.driver_features & ~st.device_features) || (st.status & ~STATUS_BITS) ||
	    (st.isr & ~(uint32_t)(VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG)))
		return -EINVAL;
	/* The same rules the driver had to follow to get there (s3.1.1). */
	if ((st.status & VIRTIO_STATUS_FEATURES_OK) && !((st.driver_features >> VIRTIO_F_VERSION_1) & 1))
		return -EINVAL;
	if ((st.status & VIRTIO_STATUS_DRIVER_OK) && !(st.status & VIRTIO_STATUS_FEATURES_OK))
		return -EINVAL;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (i >= nq ? memcmp(&st.q[i], &zero, sizeof(zero)) != 0 : restore_queue(vdev, &st, i, &vq[i]) != 0)
			return -EINVAL;
	}
	pthread_mutex_lock(&vdev->lock);
	if (st.impl_len) {
		/* The device's blob replaces its state wholesale (or fails untouched). */
		if (vdev->ops->load_state(vdev->impl, (const uint8_t *)buf + sizeof(st), st.impl_len)) {
			pthread_mutex_unlock(&vdev->lock);
			return -EINVAL;
		}
		reset_core_locked(vdev);
	} else {
		reset_locked(vdev);
	}
	vdev->driver_features = st.driver_features;
	__atomic_store_n(&vdev->config_generation, st.config_generation, __ATOMIC_SEQ_CST);
	__atomic_store_n(&vdev->isr, st.isr, __ATOMIC_SEQ_CST);
	for (unsigned int i = 0; i < nq; i++) {
		vdev->qcfg[i].size = st.q[i].size;
		vdev->qcfg[i].desc = st.q[i].desc;
		vdev->qcfg[i].driver = st.q[i].driver;
		vdev->qcfg[i].device = st.q[i].device;
		vdev->qcfg[i].msix_vector = st.q[i].msix_vector;
		vdev->qcfg[i].enabled = st.q[i].enabled;
		vdev->vq[i] = vq[i];
	}
	__atomic_store_n(&vdev->status, st.status, __ATOMIC_SEQ_CST);
	if ((st.status & VIRTIO_STATUS_DRIVER_OK) && vdev->ops->activate &&
	    vdev->ops->activate(vdev->impl, vdev) < 0) {
		pthread_mutex_unlock(&vdev->lock);
		virtio_dev_needs_reset(vdev);
		return 0;
	}
	pthread_mutex_unlock(&vdev->lock);
	return 0;
}
