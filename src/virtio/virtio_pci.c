// SPDX-License-Identifier: MIT
/*
 * virtio-pci transport, modern interface only (virtio 1.2 s4.1). The layout
 * of BAR0 and the thread model are described in include/vmkit/virtio_pci.h.
 *
 * Locks, in the order they may nest:
 *   pci bus lock (config space; held while cfg_written/cfg_read run)
 *   p->lock      selectors, queue setup registers, notifier registration
 *   vdev->lock   (core) status, features; held while a queue is served
 *   p->irq_lock  MSI-X table/PBA, enable/mask mirror, INTx level (a leaf:
 *                the device side raises interrupts from any thread)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmkit/log.h"
#include "vmkit/util.h"
#include "vmkit/virtio_pci.h"

/* Common configuration structure offsets (s4.1.4.3). */
#define CC_DFSELECT 0x00
#define CC_DF 0x04
#define CC_GFSELECT 0x08
#define CC_GF 0x0c
#define CC_MSIX 0x10
#define CC_NUMQ 0x12
#define CC_STATUS 0x14
#define CC_CFGGEN 0x15
#define CC_Q_SELECT 0x16
#define CC_Q_SIZE 0x18
#define CC_Q_MSIX 0x1a
#define CC_Q_ENABLE 0x1c
#define CC_Q_NOFF 0x1e
#define CC_Q_DESCLO 0x20
#define CC_Q_DESCHI 0x24
#define CC_Q_AVAILLO 0x28
#define CC_Q_AVAILHI 0x2c
#define CC_Q_USEDLO 0x30
#define CC_Q_USEDHI 0x34
#define CC_SIZE 0x38

#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_MSIX 0x11
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_FMASK 0x4000
#define MSIX_ENTRY_SIZE 16
#define MSIX_ENTRY_MASKED 1
#define MAX_VECTORS (VIRTIO_MAX_QUEUES + 1)
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_CLASS_OTHER 0xff0000
#define COUNT(x) __atomic_add_fetch(&(x), 1, __ATOMIC_RELAXED)

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct virtio_pci;

struct kick {
	struct virtio_pci *p;
	unsigned int q;
	int fd;            /* eventfd: ioeventfd target, watched by the I/O loop */
	bool registered;   /* the ioeventfd is in KVM at reg_addr */
	uint64_t reg_addr;
};

struct virtio_pci {
	struct pci_device pci;
	struct virtio_dev vdev;
	struct virtio_pci_env env;
	struct irq_line intx;

	pthread_mutex_t lock;
	uint32_t dfselect, gfselect;
	uint16_t queue_sel;
	uint16_t config_vector;
	struct kick kicks[VIRTIO_MAX_QUEUES];
	uint8_t cfg_cap; /* offset of the PCI configuration access capability */
	uint8_t msix_cap;

	pthread_mutex_t irq_lock;
	unsigned int nr_vectors; /* 0: no MSI-X capability */
	struct msix_entry table[MAX_VECTORS];
	uint64_t pba;
	int handles[MAX_VECTORS];
	bool msix_enabled, msix_fmask, intx_disabled;
	int line;

	struct virtio_pci_stats st;
};

/* --- interrupts --------------------------------------------------------- */

static void update_intx_locked(struct virtio_pci *p)
{
	int level = !p->msix_enabled && !p->intx_disabled && __atomic_load_n(&p->vdev.isr, __ATOMIC_SEQ_CST) != 0;

	/* Level-triggered and shared (PCI 3.0 s2.2.6): asserted while ISR is non-zero. */
	if (level != p->line) {
		p->line = level;
		if (level)
			p->st.intx_raised++;
		irq_line_set(&p->intx, level);
	}
}

static bool vector_masked(struct virtio_pci *p, unsigned int v)
{
	return p->msix_fmask || (p->table[v].ctrl & MSIX_ENTRY_MASKED);
}

/* Deliver vector v, or leave it pending while masked (PCI 3.0 s6.8.2.9). */
static void fire_locked(struct virtio_pci *p, uint16_t v)
{
	const struct msix_entry *e;

	if (v >= p->nr_vectors)
		return; /* NO_VECTOR or out of range: the driver asked for no interrupt */
	if (vector_masked(p, v)) {
		p->pba |= 1ULL << v;
		p->st.msix_pending++;
		return;
	}
	e = &p->table[v];
	p->st.msix_fired++;
	p->env.msi->fire(p->env.msi->ctx, p->handles[v], ((uint64_t)e->addr_hi << 32) | e->addr_lo, e->data);
}

/* After an unmask: deliver what became pending while masked. */
static void flush_pending_locked(struct virtio_pci *p)
{
	if (!p->msix_enabled)
		return;
	for (unsigned int v = 0; v < p->nr_vectors; v++) {
		if ((p->pba >> v & 1) && !vector_masked(p, v)) {
			p->pba &= ~(1ULL << v);
			fire_locked(p, (uint16_t)v);
		}
	}
}

static void irq_queue(struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_pci *p = vdev->transport;

	pthread_mutex_lock(&p->irq_lock);
	if (p->msix_enabled)
		fire_locked(p, __atomic_load_n(&vdev->qcfg[q].msix_vector, __ATOMIC_RELAXED));
	else
		update_intx_locked(p);
	pthread_mutex_unlock(&p->irq_lock);
}

static void irq_config(struct virtio_dev *vdev)
{
	struct virtio_pci *p = vdev->transport;

	__atomic_or_fetch(&vdev->isr, VIRTIO_ISR_CONFIG, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&p->irq_lock);
	if (p->msix_enabled)
		fire_locked(p, __atomic_load_n(&p->config_vector, __ATOMIC_RELAXED));
	else
		update_intx_locked(p);
	pthread_mutex_unlock(&p->irq_lock);
}

static const struct virtio_irq_ops pci_irq_ops = { .queue = irq_queue, .config = irq_config };

/* --- notifications ------------------------------------------------------ */

static void kick_event(void *opaque, uint32_t events)
{
	struct kick *k = opaque;
	uint64_t n;

	if (read(k->fd, &n, sizeof(n)) != sizeof(n))
		return;
	__atomic_add_fetch(&k->p->st.served, n, __ATOMIC_RELAXED);
	virtio_dev_kick(&k->p->vdev, k->q);
}

/* A notification that reached the BAR handler (no ioeventfd, or odd width). */
static void notify(struct virtio_pci *p, unsigned int q)
{
	uint64_t one = 1;

	COUNT(p->st.kicks);
	if (p->env.loop && p->kicks[q].fd >= 0) {
		/* Same path as an ioeventfd: served on the I/O thread, in order. */
		if (write(p->kicks[q].fd, &one, sizeof(one)) < 0) {
			/* counter saturated: a wakeup is pending anyway */
		}
		return;
	}
	virtio_dev_kick(&p->vdev, q);
}

/*
 * Keep one ioeventfd per queue on BAR0's notify address while BAR0 is
 * mapped; drop and re-add them when the guest moves the BAR. p->lock held.
 */
static void sync_notifiers_locked(struct virtio_pci *p)
{
	const struct pci_bar *b = &p->pci.bars[0];
	const struct ioevent_ctl *io = p->env.ioev;

	if (!io || !p->env.loop)
		return;
	for (unsigned int q = 0; q < p->vdev.ops->nr_queues && q < VIRTIO_MAX_QUEUES; q++) {
		struct kick *k = &p->kicks[q];
		uint64_t addr = b->addr + VIRTIO_PCI_NOTIFY + VIRTIO_PCI_NOTIFY_MULT * q;

		if (k->registered && (!b->mapped || k->reg_addr != addr)) {
			io->set(io->ctx, false, k->reg_addr, 2, true, q, k->fd, false);
			k->registered = false;
		}
		/* s4.1.5.2: the driver writes the 16-bit queue index. */
		if (b->mapped && !k->registered && io->set(io->ctx, false, addr, 2, true, q, k->fd, true) == 0) {
			k->registered = true;
			k->reg_addr = addr;
		}
	}
}

/* --- common configuration (s4.1.4.3) ------------------------------------ */

static bool queue_valid(struct virtio_pci *p, unsigned int q)
{
	return q < p->vdev.ops->nr_queues && q < VIRTIO_MAX_QUEUES;
}

/* Snapshot the structure; reads of any aligned width copy out of it. */
static void common_snapshot(struct virtio_pci *p, uint8_t *b)
{
	struct virtio_dev *v = &p->vdev;
	unsigned int q = p->queue_sel;

	memset(b, 0, CC_SIZE);
	put_le32(b + CC_DFSELECT, p->dfselect);
	put_le32(b + CC_DF, virtio_dev_get_features(v, p->dfselect));
	put_le32(b + CC_GFSELECT, p->gfselect);
	put_le32(b + CC_GF, p->gfselect < 2 ? (uint32_t)(v->driver_features >> (32 * p->gfselect)) : 0);
	put_le16(b + CC_MSIX, p->config_vector);
	put_le16(b + CC_NUMQ, (uint16_t)v->ops->nr_queues);
	b[CC_STATUS] = __atomic_load_n(&v->status, __ATOMIC_SEQ_CST);
	b[CC_CFGGEN] = (uint8_t)__atomic_load_n(&v->config_generation, __ATOMIC_SEQ_CST);
	put_le16(b + CC_Q_SELECT, p->queue_sel);
	if (!queue_valid(p, q))
		return; /* s4.1.4.3.1: queue_size reads 0 for a queue that does not exist */
	put_le16(b + CC_Q_SIZE, v->qcfg[q].size);
	put_le16(b + CC_Q_MSIX, v->qcfg[q].msix_vector);
	put_le16(b + CC_Q_ENABLE, v->qcfg[q].enabled);
	put_le16(b + CC_Q_NOFF, (uint16_t)q);
	put_le64(b + CC_Q_DESCLO, v->qcfg[q].desc);
	put_le64(b + CC_Q_AVAILLO, v->qcfg[q].driver);
	put_le64(b + CC_Q_USEDLO, v->qcfg[q].device);
}

/* Width each field is written with; 64-bit fields as two 32-bit halves. */
static unsigned int field_width(uint32_t off)
{
	switch (off) {
	case CC_STATUS:
	case CC_CFGGEN:
		return 1;
	case CC_MSIX:
	case CC_NUMQ:
	case CC_Q_SELECT:
	case CC_Q_SIZE:
	case CC_Q_MSIX:
	case CC_Q_ENABLE:
	case CC_Q_NOFF:
		return 2;
	default:
		return off < CC_SIZE && !(off & 3) ? 4 : 0;
	}
}

static void set_half(uint64_t *addr, bool high, uint32_t val)
{
	if (high)
		*addr = (*addr & 0xffffffffULL) | ((uint64_t)val << 32);
	else
		*addr = (*addr & ~0xffffffffULL) | val;
}

static uint16_t vector_or_none(struct virtio_pci *p, uint32_t val)
{
	/* s4.1.5.1.2: a vector the device cannot map reads back as NO_VECTOR. */
	return val < p->nr_vectors ? (uint16_t)val : VIRTIO_PCI_NO_VECTOR;
}

/* p->lock held. */
static void common_write(struct virtio_pci *p, uint32_t off, uint32_t val)
{
	struct virtio_dev *v = &p->vdev;
	unsigned int q = p->queue_sel;
	/* s4.1.4.3.2: queue fields are only written while the queue is disabled. */
	bool qwritable = queue_valid(p, q) && !v->qcfg[q].enabled;

	switch (off) {
	case CC_DFSELECT:
		p->dfselect = val;
		break;
	case CC_GFSELECT:
		p->gfselect = val;
		break;
	case CC_GF:
		virtio_dev_set_features(v, p->gfselect, val);
		break;
	case CC_MSIX:
		__atomic_store_n(&p->config_vector, vector_or_none(p, val), __ATOMIC_RELAXED);
		break;
	case CC_STATUS:
		virtio_dev_set_status(v, (uint8_t)val);
		if ((uint8_t)val == 0) {
			/* Reset (s4.1.4.3.2): also the transport's own fields. */
			p->dfselect = p->gfselect = 0;
			p->queue_sel = 0;
			__atomic_store_n(&p->config_vector, VIRTIO_PCI_NO_VECTOR, __ATOMIC_RELAXED);
			pthread_mutex_lock(&p->irq_lock);
			update_intx_locked(p);
			pthread_mutex_unlock(&p->irq_lock);
		}
		break;
	case CC_Q_SELECT:
		p->queue_sel = (uint16_t)val;
		break;
	case CC_Q_SIZE:
		/* s4.1.4.3.2: a power of 2 is not required for split rings in 1.2; bound it. */
		if (qwritable && val && val <= v->ops->max_queue_size)
			v->qcfg[q].size = (uint16_t)val;
		else
			if (qwritable)
			COUNT(p->st.bad_accesses);
		break;
	case CC_Q_MSIX:
		if (queue_valid(p, q))
			__atomic_store_n(&v->qcfg[q].msix_vector, vector_or_none(p, val), __ATOMIC_RELAXED);
		break;
	case CC_Q_ENABLE:
		/* s4.1.4.3.2: the driver MUST NOT write 0; only 1 enables. */
		if (qwritable && val == 1 && virtio_dev_enable_queue(v, q))
			virtio_dev_needs_reset(v);
		break;
	case CC_Q_DESCLO:
	case CC_Q_DESCHI:
		if (qwritable)
			set_half(&v->qcfg[q].desc, off == CC_Q_DESCHI, val);
		break;
	case CC_Q_AVAILLO:
	case CC_Q_AVAILHI:
		if (qwritable)
			set_half(&v->qcfg[q].driver, off == CC_Q_AVAILHI, val);
		break;
	case CC_Q_USEDLO:
	case CC_Q_USEDHI:
		if (qwritable)
			set_half(&v->qcfg[q].device, off == CC_Q_USEDHI, val);
		break;
	default: /* read-only: device_feature, num_queues, config_generation, queue_notify_off */
		COUNT(p->st.bad_accesses);
		break;
	}
}

static void common_io(struct virtio_pci *p, uint32_t off, uint8_t *data, uint32_t size, bool is_write)
{
	uint8_t snap[CC_SIZE];

	pthread_mutex_lock(&p->lock);
	if (!is_write) {
		common_snapshot(p, snap);
		memcpy(data, snap + off, size);
	} else if (field_width(off) == size) {
		common_write(p, off, size == 1 ? data[0] : size == 2 ? get_le16(data) : get_le32(data));
	} else {
		COUNT(p->st.bad_accesses);
		log_ratelimited(LOG_DEBUG, "virtio-pci %s: bad common cfg write 0x%x/%u", p->vdev.ops->name, off,
				size);
	}
	pthread_mutex_unlock(&p->lock);
}

/* --- MSI-X table and PBA (PCI 3.0 s6.8.2) ------------------------------- */

static void msix_table_io(struct virtio_pci *p, uint32_t off, uint8_t *data, uint32_t size, bool is_write)
{
	unsigned int v = off / MSIX_ENTRY_SIZE, field = (off % MSIX_ENTRY_SIZE) / 4;
	uint32_t *w;

	if (size != 4 && size != 8) {
		COUNT(p->st.bad_accesses);
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	if (size == 8) { /* a qword access covers two dwords (s6.8.2: addr, or data+ctrl) */
		msix_table_io(p, off, data, 4, is_write);
		msix_table_io(p, off + 4, data + 4, 4, is_write);
		return;
	}
	pthread_mutex_lock(&p->irq_lock);
	w = &p->table[v].addr_lo + field;
	if (!is_write) {
		put_le32(data, *w);
	} else {
		uint32_t val = get_le32(data);
		/* Only the mask bit of Vector Control is writable. */
		*w = field == 3 ? ((*w & ~MSIX_ENTRY_MASKED) | (val & MSIX_ENTRY_MASKED)) : val;
		if (field == 3)
			flush_pending_locked(p);
	}
	pthread_mutex_unlock(&p->irq_lock);
}

static void msix_pba_io(struct virtio_pci *p, uint32_t off, uint8_t *data, uint32_t size, bool is_write)
{
	uint64_t pba;

	if (is_write) /* read-only; writes are ignored (s6.8.2.10) */
		return;
	pthread_mutex_lock(&p->irq_lock);
	pba = p->pba;
	pthread_mutex_unlock(&p->irq_lock);
	for (uint32_t i = 0; i < size; i++)
		data[i] = off + i < 8 ? (uint8_t)(pba >> (8 * (off + i))) : 0;
}

/* --- BAR0 --------------------------------------------------------------- */

void virtio_pci_bar_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct virtio_pci *p = opaque;
	struct virtio_dev *v = &p->vdev;
	uint32_t o;

	/* Every structure takes naturally aligned 1/2/4-byte accesses (s4.1.3.1); MSI-X 4/8. */
	if (off >= VIRTIO_PCI_BAR_SIZE || size > 8 || (off & (size - 1)) || size == 0 || (size & (size - 1)))
		goto bad;
	o = (uint32_t)off;
	if (o < VIRTIO_PCI_COMMON + CC_SIZE) {
		if (size == 8)
			goto bad;
		common_io(p, o, data, size, is_write);
		return;
	}
	if (o >= VIRTIO_PCI_ISR && o < VIRTIO_PCI_ISR + 4) {
		if (is_write)
			goto bad;
		memset(data, 0, size);
		if (o == VIRTIO_PCI_ISR) {
			/* s4.1.4.5.1: reading ISR status clears it and de-asserts INTx. */
			data[0] = (uint8_t)__atomic_exchange_n(&v->isr, 0, __ATOMIC_SEQ_CST);
			pthread_mutex_lock(&p->irq_lock);
			update_intx_locked(p);
			pthread_mutex_unlock(&p->irq_lock);
		}
		return;
	}
	if (o >= VIRTIO_PCI_DEVICE_CFG && o < VIRTIO_PCI_DEVICE_CFG + 0x1000) {
		uint32_t c = o - VIRTIO_PCI_DEVICE_CFG;
		if (size == 8 || c >= v->ops->config_size || size > v->ops->config_size - c)
			goto bad;
		if (is_write) {
			if (v->ops->config_write)
				v->ops->config_write(v->impl, c, data, size);
		} else if (v->ops->config_read) {
			v->ops->config_read(v->impl, c, data, size);
		} else {
			memset(data, 0, size);
		}
		return;
	}
	if (o >= VIRTIO_PCI_NOTIFY && o < VIRTIO_PCI_NOTIFY + VIRTIO_PCI_NOTIFY_MULT * v->ops->nr_queues) {
		unsigned int q = (o - VIRTIO_PCI_NOTIFY) / VIRTIO_PCI_NOTIFY_MULT;
		if (!is_write) {
			memset(data, 0, size);
			return;
		}
		/* The address names the queue; the value written is its index (no NOTIFICATION_DATA). */
		if (q < VIRTIO_MAX_QUEUES)
			notify(p, q);
		return;
	}
	if (p->nr_vectors && o >= VIRTIO_PCI_MSIX_TABLE && o < VIRTIO_PCI_MSIX_TABLE + MSIX_ENTRY_SIZE * p->nr_vectors) {
		msix_table_io(p, o - VIRTIO_PCI_MSIX_TABLE, data, size, is_write);
		return;
	}
	if (p->nr_vectors && o >= VIRTIO_PCI_MSIX_PBA && o < VIRTIO_PCI_MSIX_PBA + 8) {
		msix_pba_io(p, o - VIRTIO_PCI_MSIX_PBA, data, size, is_write);
		return;
	}
	/* Holes between the structures: reads as zero, writes ignored. */
	if (!is_write)
		memset(data, 0, size);
	return;
bad:
	COUNT(p->st.bad_accesses);
	log_ratelimited(LOG_DEBUG, "virtio-pci %s: bad BAR access 0x%llx/%u", v->ops->name, (unsigned long long)off,
			size);
	if (!is_write)
		memset(data, 0xff, size);
}

/* --- configuration space hooks ------------------------------------------ */

/*
 * The PCI configuration access capability (s4.1.4.8): cap.bar, cap.offset and
 * cap.length pick a window into a BAR; pci_cfg_data reads/writes it.
 */
#define CFGCAP_BAR 4
#define CFGCAP_OFFSET 8
#define CFGCAP_LENGTH 12
#define CFGCAP_DATA 16

static bool cfg_window(struct virtio_pci *p, uint32_t *boff, uint32_t *len)
{
	const uint8_t *c = p->pci.cfg + p->cfg_cap;

	*boff = get_le32(c + CFGCAP_OFFSET);
	*len = get_le32(c + CFGCAP_LENGTH);
	/* s4.1.4.8: length 1, 2 or 4, offset aligned to it, inside BAR0 (the only BAR). */
	return c[CFGCAP_BAR] == 0 && (*len == 1 || *len == 2 || *len == 4) && !(*boff & (*len - 1)) &&
	       *boff < VIRTIO_PCI_BAR_SIZE;
}

static bool overlaps_data(struct virtio_pci *p, uint32_t off, uint32_t size)
{
	uint32_t d = p->cfg_cap + CFGCAP_DATA;

	return p->cfg_cap && off < d + 4 && off + size > d;
}

static void cfg_read_hook(struct pci_device *d, uint32_t off, uint32_t size)
{
	struct virtio_pci *p = d->opaque;
	uint32_t boff, len;
	uint8_t buf[4] = { 0 };

	if (!overlaps_data(p, off, size) || !cfg_window(p, &boff, &len))
		return;
	virtio_pci_bar_io(p, boff, buf, len, false);
	memcpy(d->cfg + p->cfg_cap + CFGCAP_DATA, buf, 4);
}

static void cfg_written_hook(struct pci_device *d, uint32_t off, uint32_t size)
{
	struct virtio_pci *p = d->opaque;
	uint32_t boff, len;

	if (overlaps_data(p, off, size) && cfg_window(p, &boff, &len)) {
		uint8_t buf[4];
		memcpy(buf, d->cfg + p->cfg_cap + CFGCAP_DATA, 4);
		virtio_pci_bar_io(p, boff, buf, len, true);
	}
	if (p->msix_cap || off <= PCI_COMMAND + 1) {
		uint16_t ctrl = p->msix_cap ? get_le16(d->cfg + p->msix_cap + 2) : 0;
		pthread_mutex_lock(&p->irq_lock);
		p->msix_enabled = ctrl & MSIX_CTRL_ENABLE;
		p->msix_fmask = ctrl & MSIX_CTRL_FMASK;
		p->intx_disabled = get_le16(d->cfg + PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE;
		flush_pending_locked(p);
		update_intx_locked(p);
		pthread_mutex_unlock(&p->irq_lock);
	}
	if (off < PCI_BAR0 + 4 && off + size > PCI_COMMAND) {
		pthread_mutex_lock(&p->lock);
		sync_notifiers_locked(p);
		pthread_mutex_unlock(&p->lock);
	}
}

/* --- setup -------------------------------------------------------------- */

/* struct virtio_pci_cap (s4.1.4) minus the 2-byte id/next header. */
static int add_virtio_cap(struct virtio_pci *p, uint8_t type, uint32_t offset, uint32_t length, const void *extra,
			  uint32_t extra_len)
{
	uint8_t body[18] = { 0 };

	body[0] = (uint8_t)(16 + extra_len); /* cap_len */
	body[1] = type;
	body[2] = 0; /* BAR0 */
	put_le32(body + 6, offset);
	put_le32(body + 10, length);
	if (extra_len)
		memcpy(body + 14, extra, extra_len);
	return pci_device_add_cap(&p->pci, PCI_CAP_ID_VNDR, body, 14 + extra_len);
}

static int build_caps(struct virtio_pci *p)
{
	const struct virtio_device_ops *ops = p->vdev.ops;
	uint8_t mult[4], zero4[4] = { 0 };
	int off;

	put_le32(mult, VIRTIO_PCI_NOTIFY_MULT);
	if (add_virtio_cap(p, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON, CC_SIZE, NULL, 0) < 0 ||
	    add_virtio_cap(p, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY, VIRTIO_PCI_NOTIFY_MULT * ops->nr_queues,
			   mult, 4) < 0 ||
	    add_virtio_cap(p, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR, 1, NULL, 0) < 0)
		return -ENOSPC;
	if (ops->config_size &&
	    add_virtio_cap(p, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_CFG, ops->config_size, NULL, 0) < 0)
		return -ENOSPC;
	/* The access window: bar, offset, length and data are the driver's to write. */
	off = add_virtio_cap(p, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, zero4, 4);
	if (off < 0)
		return -ENOSPC;
	p->cfg_cap = (uint8_t)off;
	p->pci.wmask[off + CFGCAP_BAR] = 0xff;
	memset(p->pci.wmask + off + CFGCAP_OFFSET, 0xff, 12);
	if (p->nr_vectors) {
		uint8_t m[10];
		put_le16(m, (uint16_t)(p->nr_vectors - 1)); /* Message Control: table size - 1 */
		put_le32(m + 2, VIRTIO_PCI_MSIX_TABLE | 0);  /* BIR 0 */
		put_le32(m + 6, VIRTIO_PCI_MSIX_PBA | 0);
		off = pci_device_add_cap(&p->pci, PCI_CAP_ID_MSIX, m, sizeof(m));
		if (off < 0)
			return -ENOSPC;
		p->msix_cap = (uint8_t)off;
		p->pci.wmask[off + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) >> 8;
	}
	return 0;
}

struct virtio_pci *virtio_pci_create(const struct virtio_device_ops *ops, void *impl,
				     const struct virtio_pci_env *env)
{
	struct virtio_pci *p = calloc(1, sizeof(*p));
	unsigned int nq = ops->nr_queues;

	if (!p || nq > VIRTIO_MAX_QUEUES)
		goto fail_impl;
	p->env = *env;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		p->kicks[q] = (struct kick){ .p = p, .q = q, .fd = -1 };
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->irq_lock, NULL);
	virtio_dev_init(&p->vdev, ops, impl, env->mem, &pci_irq_ops, p);
	p->config_vector = VIRTIO_PCI_NO_VECTOR;
	p->line = 0;

	/* s4.1.2: modern id 0x1040 + device id, revision 1; subsystem vendor/device free-form. */
	pci_device_init(&p->pci, ops->name, VIRTIO_PCI_VENDOR, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + ops->device_id),
			PCI_CLASS_OTHER, 1, VIRTIO_PCI_VENDOR, (uint16_t)(0x40 + ops->device_id));
	p->pci.opaque = p;
	p->pci.cfg_written = cfg_written_hook;
	p->pci.cfg_read = cfg_read_hook;
	p->pci.cfg[PCI_INTERRUPT_PIN] = 1; /* INTA# */
	if (pci_device_set_bar(&p->pci, 0, VIRTIO_PCI_BAR_SIZE, 0, virtio_pci_bar_io, p))
		goto fail;

	if (env->msi) {
		p->nr_vectors = nq + 1;
		for (unsigned int v = 0; v < p->nr_vectors; v++) {
			p->table[v].ctrl = MSIX_ENTRY_MASKED; /* masked after reset (s6.8.2.9) */
			p->handles[v] = env->msi->alloc(env->msi->ctx);
			if (p->handles[v] < 0)
				goto fail;
		}
	}
	if (build_caps(p))
		goto fail;
	if (env->loop) {
		for (unsigned int q = 0; q < nq; q++) {
			struct kick *k = &p->kicks[q];
			k->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (k->fd < 0 || event_loop_add(env->loop, k->fd, EPOLLIN, kick_event, k))
				goto fail;
		}
	}
	return p;
fail:
	virtio_pci_destroy(p);
	return NULL;
fail_impl:
	free(p);
	if (ops->destroy)
		ops->destroy(impl);
	return NULL;
}

void virtio_pci_destroy(struct virtio_pci *p)
{
	if (!p)
		return;
	log_debug("virtio-pci %s: %llu notifications on the I/O thread, %llu trapped to the BAR handler, "
		  "%llu MSI-X interrupts (%llu held pending), %llu INTx assertions, %llu bad accesses",
		  p->vdev.ops->name, (unsigned long long)p->st.served, (unsigned long long)p->st.kicks,
		  (unsigned long long)p->st.msix_fired, (unsigned long long)p->st.msix_pending,
		  (unsigned long long)p->st.intx_raised, (unsigned long long)p->st.bad_accesses);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		struct kick *k = &p->kicks[q];
		if (k->registered)
			p->env.ioev->set(p->env.ioev->ctx, false, k->reg_addr, 2, true, q, k->fd, false);
		if (k->fd >= 0) {
			event_loop_del(p->env.loop, k->fd);
			close(k->fd);
		}
	}
	if (p->vdev.ops->destroy)
		p->vdev.ops->destroy(p->vdev.impl);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->irq_lock);
	pthread_mutex_destroy(&p->vdev.lock);
	free(p);
}

struct pci_device *virtio_pci_device(struct virtio_pci *p)
{
	return &p->pci;
}

struct virtio_dev *virtio_pci_dev(struct virtio_pci *p)
{
	return &p->vdev;
}

void virtio_pci_set_intx(struct virtio_pci *p, const struct irq_line *line)
{
	p->intx = *line;
}

void virtio_pci_get_stats(struct virtio_pci *p, struct virtio_pci_stats *st)
{
	pthread_mutex_lock(&p->irq_lock);
	*st = p->st;
	pthread_mutex_unlock(&p->irq_lock);
}

/* --- snapshots ------------------------------------------------------------ */

#define STATE_MAGIC 0x49435056U /* "VPCI" */
#define STATE_VERSION 1

struct pci_state {
	uint32_t magic, version;
	uint32_t dfselect, gfselect;
	uint16_t queue_sel, config_vector;
	uint32_t nr_vectors;
	struct msix_entry table[MAX_VECTORS];
	uint64_t pba;
} __attribute__((packed));

ssize_t virtio_pci_save(struct virtio_pci *p, void *buf, size_t cap)
{
	struct pci_state st;
	ssize_t n;

	if (cap < sizeof(st))
		return -ENOSPC;
	memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&p->lock);
	st.magic = STATE_MAGIC;
	st.version = STATE_VERSION;
	st.dfselect = p->dfselect;
	st.gfselect = p->gfselect;
	st.queue_sel = p->queue_sel;
	st.config_vector = p->config_vector;
	pthread_mutex_lock(&p->irq_lock);
	st.nr_vectors = p->nr_vectors;
	memcpy(st.table, p->table, sizeof(st.table));
	st.pba = p->pba;
	pthread_mutex_unlock(&p->irq_lock);
	n = virtio_dev_save(&p->vdev, (uint8_t *)buf + sizeof(st), cap - sizeof(st));
	pthread_mutex_unlock(&p->lock);
	if (n < 0)
		return n;
	memcpy(buf, &st, sizeof(st));
	return (ssize_t)sizeof(st) + n;
}

int virtio_pci_load(struct virtio_pci *p, const void *buf, size_t len)
{
	struct pci_state st;
	int r;

	if (len < sizeof(st))
		return -EINVAL;
	memcpy(&st, buf, sizeof(st));
	if (st.magic != STATE_MAGIC || st.version != STATE_VERSION || st.nr_vectors != p->nr_vectors ||
	    (st.config_vector != VIRTIO_PCI_NO_VECTOR && st.config_vector >= p->nr_vectors) ||
	    (st.pba >> p->nr_vectors) != 0)
		return -EINVAL;
	for (unsigned int v = 0; v < MAX_VECTORS; v++)
		if ((st.table[v].ctrl & ~MSIX_ENTRY_MASKED) || (v >= p->nr_vectors && (st.table[v].addr_lo ||
		    st.table[v].addr_hi || st.table[v].data || st.table[v].ctrl)))
			return -EINVAL;
	pthread_mutex_lock(&p->lock);
	r = virtio_dev_load(&p->vdev, (const uint8_t *)buf + sizeof(st), len - sizeof(st));
	if (r == 0) {
		p->dfselect = st.dfselect;
		p->gfselect = st.gfselect;
		p->queue_sel = st.queue_sel;
		__atomic_store_n(&p->config_vector, st.config_vector, __ATOMIC_RELAXED);
		pthread_mutex_lock(&p->irq_lock);
		memcpy(p->table, st.table, sizeof(p->table));
		p->pba = st.pba;
		flush_pending_locked(p);
		update_intx_locked(p);
		pthread_mutex_unlock(&p->irq_lock);
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}
