// SPDX-License-Identifier: MIT
/*
 * virtio-mmio transport, version 2 (virtio 1.2 s4.2.2). Registers are 32-bit
 * and must be accessed with 32-bit accesses, except the device configuration
 * space at 0x100 which takes any width (s4.2.2.2). The interrupt line is
 * level: asserted while InterruptStatus is non-zero.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmkit/log.h"
#include "vmkit/util.h"
#include "vmkit/virtio_mmio.h"

#define REG_MAGIC 0x000
#define REG_VERSION 0x004
#define REG_DEVICE_ID 0x008
#define REG_VENDOR_ID 0x00c
#define REG_DEVICE_FEATURES 0x010
#define REG_DEVICE_FEATURES_SEL 0x014
#define REG_DRIVER_FEATURES 0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL 0x030
#define REG_QUEUE_NUM_MAX 0x034
#define REG_QUEUE_NUM 0x038
#define REG_QUEUE_READY 0x044
#define REG_QUEUE_NOTIFY 0x050
#define REG_INTERRUPT_STATUS 0x060
#define REG_INTERRUPT_ACK 0x064
#define REG_STATUS 0x070
#define REG_QUEUE_DESC_LOW 0x080
#define REG_QUEUE_DESC_HIGH 0x084
#define REG_QUEUE_DRIVER_LOW 0x090
#define REG_QUEUE_DRIVER_HIGH 0x094
#define REG_QUEUE_DEVICE_LOW 0x0a0
#define REG_QUEUE_DEVICE_HIGH 0x0a4
#define REG_SHM_SEL 0x0ac
#define REG_SHM_LEN_LOW 0x0b0
#define REG_SHM_LEN_HIGH 0x0b4
#define REG_CONFIG_GENERATION 0x0fc
#define REG_CONFIG 0x100

#define MMIO_MAGIC 0x74726976 /* "virt" */
#define MMIO_VERSION 2
#define VMKIT_VENDOR_ID 0x4b4d5600 /* "\0VMK" */

struct mmio_kick {
	struct virtio_mmio *m;
	unsigned int q;
	int fd;
	bool registered;
};

struct virtio_mmio {
	struct virtio_dev vdev;
	struct event_loop *loop; /* NULL: kicks are served on the writing thread */
	const struct ioevent_ctl *ioev;
	uint64_t base;
	struct mmio_kick kicks[VIRTIO_MAX_QUEUES];
	struct irq_line irq;
	pthread_mutex_t lock;     /* selectors and queue setup */
	pthread_mutex_t irq_lock; /* the interrupt line level */
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	int line;
	uint64_t bad_accesses;
	uint64_t served;  /* eventfd counts served on the I/O thread */
	uint64_t trapped; /* QueueNotify writes that reached this handler */
};

static void update_line(struct virtio_mmio *m)
{
	int level;

	pthread_mutex_lock(&m->irq_lock);
	level = __atomic_load_n(&m->vdev.isr, __ATOMIC_SEQ_CST) != 0;
	if (level != m->line) {
		m->line = level;
		irq_line_set(&m->irq, level);
	}
	pthread_mutex_unlock(&m->irq_lock);
}

static void irq_queue(struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_mmio *m = vdev->transport;

	update_line(m);
}

static void irq_config(struct virtio_dev *vdev)
{
	irq_queue(vdev, 0);
}

static const struct virtio_irq_ops mmio_irq_ops = { .queue = irq_queue, .config = irq_config };

struct virtio_mmio *virtio_mmio_create(const struct virtio_device_ops *ops, void *impl,
				       const struct guest_mem *mem, const struct irq_line *irq)
{
	struct virtio_mmio *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	virtio_dev_init(&m->vdev, ops, impl, mem, &mmio_irq_ops, m);
	m->irq = *irq;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		m->kicks[q] = (struct mmio_kick){ .m = m, .q = q, .fd = -1 };
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->irq_lock, NULL);
	return m;
}

void virtio_mmio_destroy(struct virtio_mmio *m)
{
	if (!m)
		return;
	log_debug("virtio-mmio %s: %llu notifications on the I/O thread, %llu trapped to the register handler",
		  m->vdev.ops->name, (unsigned long long)m->served, (unsigned long long)m->trapped);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		struct mmio_kick *k = &m->kicks[q];
		if (k->registered)
			m->ioev->set(m->ioev->ctx, false, m->base + REG_QUEUE_NOTIFY, 4, true, q, k->fd, false);
		if (k->fd >= 0) {
			event_loop_del(m->loop, k->fd);
			close(k->fd);
		}
	}
	if (m->vdev.ops->destroy)
		m->vdev.ops->destroy(m->vdev.impl);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->irq_lock);
	pthread_mutex_destroy(&m->vdev.lock);
	free(m);
}

static void kick_event(void *opaque, uint32_t events)
{
	struct mmio_kick *k = opaque;
	uint64_t n;

	if (read(k->fd, &n, sizeof(n)) != sizeof(n))
		return;
	__atomic_add_fetch(&k->m->served, n, __ATOMIC_RELAXED);
	virtio_dev_kick(&k->m->vdev, k->q);
}

int virtio_mmio_attach_notify(struct virtio_mmio *m, struct event_loop *loop, const struct ioevent_ctl *ioev,
			      uint64_t base)
{
	m->loop = loop;
	m->ioev = ioev;
	m->base = base;
	for (unsigned int q = 0; q < m->vdev.ops->nr_queues && q < VIRTIO_MAX_QUEUES; q++) {
		struct mmio_kick *k = &m->kicks[q];
		int r;

		k->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (k->fd < 0)
			return -errno;
		r = event_loop_add(loop, k->fd, EPOLLIN, kick_event, k);
		if (r) {
			close(k->fd);
			k->fd = -1;
			return r;
		}
		/*
		 * s4.2.2: QueueNotify takes the queue index; one ioeventfd per
		 * queue with datamatch. Failure is not fatal: the write then
		 * traps and is forwarded to the same eventfd.
		 */
		if (ioev && ioev->set(ioev->ctx, false, base + REG_QUEUE_NOTIFY, 4, true, q, k->fd, true) == 0)
			k->registered = true;
	}
	return 0;
}

struct virtio_dev *virtio_mmio_dev(struct virtio_mmio *m)
{
	return &m->vdev;
}

static uint32_t reg_read(struct virtio_mmio *m, uint64_t off)
{
	struct virtio_dev *v = &m->vdev;
	unsigned int q = m->queue_sel;
	bool qvalid = q < v->ops->nr_queues && q < VIRTIO_MAX_QUEUES;

	switch (off) {
	case REG_MAGIC:
		return MMIO_MAGIC;
	case REG_VERSION:
		return MMIO_VERSION;
	case REG_DEVICE_ID:
		return v->ops->device_id;
	case REG_VENDOR_ID:
		return VMKIT_VENDOR_ID;
	case REG_DEVICE_FEATURES:
		return virtio_dev_get_features(v, m->dev_features_sel);
	case REG_QUEUE_NUM_MAX:
		return qvalid && !v->qcfg[q].enabled ? v->ops->max_queue_size : 0;
	case REG_QUEUE_READY:
		return qvalid && v->qcfg[q].enabled;
	case REG_INTERRUPT_STATUS:
		return __atomic_load_n(&v->isr, __ATOMIC_SEQ_CST);
	case REG_STATUS:
		return __atomic_load_n(&v->status, __ATOMIC_SEQ_CST);
	case REG_SHM_LEN_LOW:
	case REG_SHM_LEN_HIGH:
		return 0xffffffff; /* no shared memory regions: length -1 (s4.2.2) */
	case REG_CONFIG_GENERATION:
		return v->config_generation;
	default:
		return 0;
	}
}

static void set_addr(uint64_t *addr, bool high, uint32_t val)
{
	if (high)
		*addr = (*addr & 0xffffffffULL) | ((uint64_t)val << 32);
	else
		*addr = (*addr & ~0xffffffffULL) | val;
}

static void reg_write(struct virtio_mmio *m, uint64_t off, uint32_t val)
{
	struct virtio_dev *v = &m->vdev;
	unsigned int q = m->queue_sel;
	bool qvalid = q < v->ops->nr_queues && q < VIRTIO_MAX_QUEUES;
	/* s4.2.2.3: queue registers may only change while the queue is not ready. */
	bool qwritable = qvalid && !v->qcfg[q].enabled;

	switch (off) {
	case REG_DEVICE_FEATURES_SEL:
		m->dev_features_sel = val;
		break;
	case REG_DRIVER_FEATURES:
		virtio_dev_set_features(v, m->drv_features_sel, val);
		break;
	case REG_DRIVER_FEATURES_SEL:
		m->drv_features_sel = val;
		break;
	case REG_QUEUE_SEL:
		m->queue_sel = val;
		break;
	case REG_QUEUE_NUM:
		if (qwritable)
			v->qcfg[q].size = (uint16_t)MIN(val, 0xffffU);
		break;
	case REG_QUEUE_READY:
		if (!qvalid)
			break;
		if (val & 1) {
			if (!v->qcfg[q].enabled && virtio_dev_enable_queue(v, q))
				virtio_dev_needs_reset(v);
		} else {
			virtio_dev_disable_queue(v, q);
		}
		break;
	case REG_INTERRUPT_ACK:
		__atomic_and_fetch(&v->isr, ~val, __ATOMIC_SEQ_CST);
		update_line(m);
		break;
	case REG_STATUS:
		virtio_dev_set_status(v, (uint8_t)val);
		if (val == 0)
			update_line(m);
		break;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
		if (qwritable)
			set_addr(&v->qcfg[q].desc, off == REG_QUEUE_DESC_HIGH, val);
		break;
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
		if (qwritable)
			set_addr(&v->qcfg[q].driver, off == REG_QUEUE_DRIVER_HIGH, val);
		break;
	case REG_QUEUE_DEVICE_LOW:
	case REG_QUEUE_DEVICE_HIGH:
		if (qwritable)
			set_addr(&v->qcfg[q].device, off == REG_QUEUE_DEVICE_HIGH, val);
		break;
	case REG_SHM_SEL:
		break;
	default:
		m->bad_accesses++;
		log_ratelimited(LOG_DEBUG, "virtio-mmio %s: write to read-only/unknown register 0x%llx",
				v->ops->name, (unsigned long long)off);
	}
}

void virtio_mmio_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct virtio_mmio *m = opaque;
	struct virtio_dev *v = &m->vdev;

	if (off >= REG_CONFIG) {
		uint32_t coff = (uint32_t)(off - REG_CONFIG);
		if (coff >= v->ops->config_size || size > v->ops->config_size - coff) {
			m->bad_accesses++;
			if (!is_write)
				memset(data, 0, size);
			return;
		}
		if (is_write) {
			if (v->ops->config_write)
				v->ops->config_write(v->impl, coff, data, size);
		} else if (v->ops->config_read) {
			v->ops->config_read(v->impl, coff, data, size);
		} else {
			memset(data, 0, size);
		}
		return;
	}
	if (size != 4 || (off & 3)) {
		/* s4.2.2.2: the driver MUST use 32-bit accesses here. */
		m->bad_accesses++;
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	if (is_write && off == REG_QUEUE_NOTIFY) {
		/*
		 * Kicks go to the device outside the transport lock, so that a
		 * device completing requests can raise interrupts.
		 * VIRTIO_F_NOTIFICATION_DATA is not offered: the value is the index.
		 */
		uint32_t q = get_le32(data);
		uint64_t one = 1;

		__atomic_add_fetch(&m->trapped, 1, __ATOMIC_RELAXED);
		if (q >= v->ops->nr_queues || q >= VIRTIO_MAX_QUEUES)
			return;
		if (m->kicks[q].fd >= 0) {
			/* Served on the I/O thread, like an ioeventfd hit. */
			if (write(m->kicks[q].fd, &one, sizeof(one)) < 0) {
				/* counter saturated: a wakeup is pending anyway */
			}
			return;
		}
		virtio_dev_kick(v, q);
		return;
	}
	pthread_mutex_lock(&m->lock);
	if (is_write)
		reg_write(m, off, get_le32(data));
	else
		put_le32(data, reg_read(m, off));
	pthread_mutex_unlock(&m->lock);
}

/* --- snapshots ------------------------------------------------------------ */

#define STATE_MAGIC 0x494d4d56U /* "VMMI" */
#define STATE_VERSION 1

struct mmio_state {
	uint32_t magic, version;
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
} __attribute__((packed));

ssize_t virtio_mmio_save(struct virtio_mmio *m, void *buf, size_t cap)
{
	struct mmio_state st = { .magic = STATE_MAGIC, .version = STATE_VERSION };
	ssize_t n;

	if (cap < sizeof(st))
		return -ENOSPC;
	pthread_mutex_lock(&m->lock);
	st.dev_features_sel = m->dev_features_sel;
	st.drv_features_sel = m->drv_features_sel;
	st.queue_sel = m->queue_sel;
	n = virtio_dev_save(&m->vdev, (uint8_t *)buf + sizeof(st), cap - sizeof(st));
	pthread_mutex_unlock(&m->lock);
	if (n < 0)
		return n;
	memcpy(buf, &st, sizeof(st));
	return (ssize_t)sizeof(st) + n;
}

int virtio_mmio_load(struct virtio_mmio *m, const void *buf, size_t len)
{
	struct mmio_state st;
	int r;

	if (len < sizeof(st))
		return -EINVAL;
	memcpy(&st, buf, sizeof(st));
	if (st.magic != STATE_MAGIC || st.version != STATE_VERSION)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	r = virtio_dev_load(&m->vdev, (const uint8_t *)buf + sizeof(st), len - sizeof(st));
	if (r == 0) {
		m->dev_features_sel = st.dev_features_sel;
		m->drv_features_sel = st.drv_features_sel;
		m->queue_sel = st.queue_sel;
	}
	pthread_mutex_unlock(&m->lock);
	if (r == 0)
		update_line(m);
	return r;
}
