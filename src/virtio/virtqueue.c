// SPDX-License-Identifier: MIT
/*
 * Device side of virtio 1.2 split (s2.7) and packed (s2.8) virtqueues.
 *
 * Guest memory is shared with a running driver: every field is read exactly
 * once into a local before it is checked and used, and ordering against the
 * driver follows s2.7.13 / s2.8.21 (acquire when reading an index or flags
 * that publish data, release when publishing used entries).
 */
#include <errno.h>
#include <endian.h>
#include <string.h>

#include "vmkit/util.h"
#include "vmkit/virtqueue.h"

#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1
#define RING_EVENT_FLAGS_ENABLE 0
#define RING_EVENT_FLAGS_DISABLE 1
#define RING_EVENT_FLAGS_DESC 2

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t a; /* split: flags; packed: id */
	uint16_t b; /* split: next;  packed: flags */
};

static uint16_t load16(const void *p)
{
	uint16_t v;

	__atomic_load((const uint16_t *)p, &v, __ATOMIC_ACQUIRE);
	return le16toh(v);
}

static void store16(void *p, uint16_t v)
{
	v = htole16(v);
	__atomic_store((uint16_t *)p, &v, __ATOMIC_RELEASE);
}

static void read_desc(const uint8_t *p, struct desc *d)
{
	uint8_t raw[16];

	memcpy(raw, p, 16); /* one snapshot of the guest's descriptor */
	d->addr = get_le64(raw);
	d->len = get_le32(raw + 8);
	d->a = get_le16(raw + 12);
	d->b = get_le16(raw + 14);
}

static uint64_t split_desc_bytes(uint16_t n) { return 16ULL * n; }
static uint64_t split_avail_bytes(uint16_t n) { return 6 + 2ULL * n; }
static uint64_t split_used_bytes(uint16_t n) { return 6 + 8ULL * n; }

/* s2.8.1: a descriptor is available when AVAIL == the wrap counter and USED != it. */
static bool packed_avail(uint16_t flags, bool wrap)
{
	return !!(flags & VIRTQ_PACKED_DESC_F_AVAIL) == wrap && !!(flags & VIRTQ_PACKED_DESC_F_USED) != wrap;
}

/*
 * Device event suppression (s2.8.10, s2.8.14): kick us when the driver makes
 * the descriptor at our next position available. off_wrap first, then the
 * flags: the driver reads both as one 32-bit snapshot.
 */
static void packed_publish_event(struct virtq *q)
{
	uint8_t *ev = guest_mem_ptr(q->mem, q->device_gpa, 4);

	if (!ev)
		return;
	store16(ev, (uint16_t)(q->next_avail | (q->avail_wrap ? 0x8000 : 0)));
	store16(ev + 2, RING_EVENT_FLAGS_DESC);
}


int virtq_init(struct virtq *q, const struct guest_mem *mem, uint16_t size, bool packed, bool event_idx,
	       bool indirect, uint64_t desc, uint64_t driver, uint64_t device)
{
	memset(q, 0, sizeof(*q));
	if (size == 0)
		return -EINVAL;
	if (!packed && (size & (size - 1)))
		return -EINVAL; /* s2.7: split queue size is a power of 2 */
	if ((desc & 15) || (packed ? (driver & 3) || (device & 3) : (driver & 1) || (device & 3)))
		return -EINVAL; /* alignment, s2.7 table / s2.8.10 */
	if (!guest_mem_ptr(mem, desc, split_desc_bytes(size)))
		return -EINVAL;
	if (packed) {
		if (!guest_mem_ptr(mem, driver, 4) || !guest_mem_ptr(mem, device, 4))
			return -EINVAL;
	} else if (!guest_mem_ptr(mem, driver, split_avail_bytes(size)) ||
		   !guest_mem_ptr(mem, device, split_used_bytes(size))) {
		return -EINVAL;
	}
	q->mem = mem;
	q->size = size;
	q->packed = packed;
	q->event_idx = event_idx;
	q->indirect = indirect;
	q->desc_gpa = desc;
	q->driver_gpa = driver;
	q->device_gpa = device;
	q->avail_wrap = q->used_wrap = true; /* s2.8.1: wrap counters start at 1 */
	/* Last, and released: a backend thread that sees ready sees the whole queue. */
	__atomic_store_n(&q->ready, true, __ATOMIC_RELEASE);
	return 0;
}

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

/* Append one buffer to the element, enforcing readable-before-writable. */
static int elem_add(struct virtq *q, struct virtq_elem *e, uint64_t addr, uint32_t len, bool writable)
{
	void *p;
	unsigned int n = e->out_num + e->in_num;

	if (!writable && e->in_num)
		return -EINVAL; /* s2.7.4.2: readable after writable */
	if (len == 0)
		return 0;
	if (n >= VIRTQ_MAX_SEGS)
		return -EINVAL;
	p = guest_mem_ptr(q->mem, addr, len);
	if (!p)
		return -EINVAL;
	e->iov[n].iov_base = p;
	e->iov[n].iov_len = len;
	if (writable) {
		e->in_num++;
		e->in_len += len;
	} else {
		e->out_num++;
		e->out_len += len;
	}
	return 0;
}

/* Walk an indirect table (s2.7.5.3 / s2.8.7). */
static int walk_indirect(struct virtq *q, struct virtq_elem *e, const struct desc *d)
{
	unsigned int n = d->len / 16, i = 0, count = 0;
	const uint8_t *tbl;

	if (!q->indirect || d->len == 0 || d->len % 16 || n > VIRTQ_MAX_SIZE)
		return -EINVAL;
	tbl = guest_mem_ptr(q->mem, d->addr, d->len);
	if (!tbl)
		return -EINVAL;
	for (;;) {
		struct desc t;
		uint16_t flags;

		if (count++ >= n)
			return -EINVAL; /* a loop inside the table */
		read_desc(tbl + 16ULL * i, &t);
		flags = q->packed ? t.b : t.a;
		if (flags & VIRTQ_DESC_F_INDIRECT)
			return -EINVAL; /* no nesting */
		if (elem_add(q, e, t.addr, t.len, flags & VIRTQ_DESC_F_WRITE))
			return -EINVAL;
		if (q->packed) {
			/* Packed indirect tables are sequential, without NEXT. */
			if (++i == n)
				return 0;
		} else {
			if (!(flags & VIRTQ_DESC_F_NEXT))
				return 0;
			i = t.b;
			if (i >= n)
				return -EINVAL;
		}
	}
}

static void elem_clear(struct virtq_elem *e)
{
	e->out_num = e->in_num = 0;
	e->out_len = e->in_len = 0;
	e->ndescs = 0;
}

static int split_pop(struct virtq *q, struct virtq_elem *e)
{
	uint8_t *avail = guest_mem_ptr(q->mem, q->driver_gpa, split_avail_bytes(q->size));
	const uint8_t *table = guest_mem_ptr(q->mem, q->desc_gpa, split_desc_bytes(q->size));
	uint16_t avail_idx, head, i;
	unsigned int count = 0;

	if (!avail || !table)
		return -EINVAL;
	avail_idx = load16(avail + 2);
	if (avail_idx == q->last_avail && q->event_idx && !q->polling) {
		/*
		 * Empty: only now ask for a kick at the next buffer (avail_event,
		 * s2.7.10). While the device is still draining, the stale value
		 * tells the driver not to kick: it is about to be seen anyway.
		 * Publish, then look again (the store must be visible before the
		 * load, s2.7.13): a buffer added in between would otherwise wait
		 * for a kick the driver did not send.
		 */
		store16(guest_mem_ptr(q->mem, q->device_gpa, split_used_bytes(q->size)) + 4 + 8 * q->size,
			q->last_avail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = load16(avail + 2);
	}
	if (avail_idx == q->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - q->last_avail) > q->size)
		return -EINVAL; /* the driver claims more buffers than the ring holds */
	head = get_le16(avail + 4 + 2 * (q->last_avail % q->size));
	if (head >= q->size)
		return -EINVAL;
	elem_clear(e);
	e->id = head;
	i = head;
	for (;;) {
		struct desc d;

		if (count++ >= q->size)
			return -EINVAL; /* chain loops (s2.7.5.2: at most size descriptors) */
		read_desc(table + 16ULL * i, &d);
		if (d.a & VIRTQ_DESC_F_INDIRECT) {
			if (d.a & VIRTQ_DESC_F_NEXT)
				return -EINVAL; /* s2.7.5.3.1 */
			if (walk_indirect(q, e, &d))
				return -EINVAL;
			break;
		}
		if (elem_add(q, e, d.addr, d.len, d.a & VIRTQ_DESC_F_WRITE))
			return -EINVAL;
		if (!(d.a & VIRTQ_DESC_F_NEXT))
			break;
		i = d.b;
		if (i >= q->size)
			return -EINVAL;
	}
	q->last_avail++;
	e->ndescs = 1;
	return 1;
}

static int packed_pop(struct virtq *q, struct virtq_elem *e)
{
	const uint8_t *ring = guest_mem_ptr(q->mem, q->desc_gpa, split_desc_bytes(q->size));
	uint16_t flags, idx = q->next_avail;
	bool wrap = q->avail_wrap;
	unsigned int count = 0;

	if (!ring)
		return -EINVAL;
	flags = load16(ring + 16ULL * idx + 14);
	if (!packed_avail(flags, wrap) && q->event_idx && !q->polling) {
		/*
		 * Empty: ask for a kick once the driver makes the descriptor at
		 * our position available (s2.8.10, s2.8.14: off_wrap with
		 * RING_EVENT_FLAGS_DESC), then look again as in split_pop.
		 */
		packed_publish_event(q);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		flags = load16(ring + 16ULL * idx + 14);
	}
	if (!packed_avail(flags, wrap))
		return 0;
	elem_clear(e);
	for (;;) {
		struct desc d;

		if (count++ >= q->size)
			return -EINVAL;
		read_desc(ring + 16ULL * idx, &d);
		if (d.b & VIRTQ_DESC_F_INDIRECT) {
			if ((d.b & VIRTQ_DESC_F_NEXT) || count > 1 || walk_indirect(q, e, &d))
				return -EINVAL;
		} else if (elem_add(q, e, d.addr, d.len, d.b & VIRTQ_DESC_F_WRITE)) {
			return -EINVAL;
		}
		e->id = d.a; /* the buffer id is in the last descriptor (s2.8.6) */
		if (++idx == q->size) {
			idx = 0;
			wrap = !wrap;
		}
		if (!(d.b & VIRTQ_DESC_F_NEXT))
			break;
	}
	e->ndescs = (uint16_t)count;
	q->next_avail = idx;
	q->avail_wrap = wrap;
	return 1;
}

int virtq_pop(struct virtq *q, struct virtq_elem *e)
{
	int r;

	if (!__atomic_load_n(&q->ready, __ATOMIC_ACQUIRE))
		return 0;
	r = q->packed ? packed_pop(q, e) : split_pop(q, e);
	if (r < 0)
		q->errors++;
	return r;
}

/* Packed: signalled_used counts the descriptors used since the last interrupt, up to the ring size. */
static void packed_count_used(struct virtq *q, uint16_t n)
{
	uint32_t since = (uint32_t)q->signalled_used + n;

	q->signalled_used = (uint16_t)MIN(since, (uint32_t)q->size);
}

void virtq_push(struct virtq *q, const struct virtq_elem *e, uint32_t written)
{
	if (!q->ready)
		return;
	if (written > e->in_len)
		written = (uint32_t)e->in_len;
	if (q->packed) {
		uint8_t *d = guest_mem_ptr(q->mem, q->desc_gpa + 16ULL * q->next_used, 16);
		uint16_t flags = q->used_wrap ? VIRTQ_PACKED_DESC_F_AVAIL | VIRTQ_PACKED_DESC_F_USED : 0;

		if (!d)
			return;
		if (written)
			flags |= VIRTQ_DESC_F_WRITE;
		put_le32(d + 8, written);
		put_le16(d + 12, e->id);
		store16(d + 14, flags); /* publishes id/len (s2.8.21) */
		packed_count_used(q, e->ndescs);
		q->next_used += e->ndescs;
		if (q->next_used >= q->size) {
			q->next_used -= q->size;
			q->used_wrap = !q->used_wrap;
		}
	} else {
		uint8_t *used = guest_mem_ptr(q->mem, q->device_gpa, split_used_bytes(q->size));
		uint8_t *slot;

		if (!used)
			return;
		slot = used + 4 + 8 * (q->used_idx % q->size);
		put_le32(slot, e->id);
		put_le32(slot + 4, written);
		q->used_idx++;
		store16(used + 2, q->used_idx);
	}
}

bool virtq_should_notify(struct virtq *q)
{
	if (!q->ready)
		return false;
	/* Our used-index store must be visible before we read the driver's suppression state. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->packed) {
		uint8_t *ev = guest_mem_ptr(q->mem, q->driver_gpa, 4);
		uint16_t since = q->signalled_used, off_wrap, flags;
		int32_t new_pos, old_pos, event;
		bool valid = q->signalled_valid;

		if (!ev)
			return true;
		off_wrap = load16(ev);
		flags = load16(ev + 2) & 3;
		if (flags == RING_EVENT_FLAGS_DISABLE)
			return false;
		q->signalled_used = 0;
		q->signalled_valid = true;
		if (flags != RING_EVENT_FLAGS_DESC || !q->event_idx)
			return since != 0 || !valid; /* ENABLE: after every batch that used something */
		/*
		 * s2.8.10: interrupt once the used descriptor at off_wrap is
		 * written. Positions on a line where this lap of the ring is
		 * [0, size) and the previous one [-size, 0): the event lies in
		 * the lap its wrap bit names, and the last interrupt was
		 * `since` descriptors ago (a whole ring or more: interrupt).
		 */
		if (!valid || since >= q->size)
			return since != 0 || !valid;
		new_pos = q->next_used;
		old_pos = new_pos - since;
		event = off_wrap & 0x7fff;
		if (!!(off_wrap & 0x8000) != q->used_wrap)
			event -= q->size;
		return event >= old_pos && event < new_pos;
	} else {
		uint8_t *avail = guest_mem_ptr(q->mem, q->driver_gpa, split_avail_bytes(q->size));
		uint16_t old, event;
		bool valid;

		if (!avail)
			return false;
		if (!q->event_idx)
			return !(load16(avail) & VRING_AVAIL_F_NO_INTERRUPT);
		event = load16(avail + 4 + 2 * q->size); /* used_event */
		old = q->signalled_used;
		valid = q->signalled_valid;
		q->signalled_used = q->used_idx;
		q->signalled_valid = true;
		/* s2.7.10: interrupt if used_event lies in [old, new). */
		return !valid || (uint16_t)(q->used_idx - event - 1) < (uint16_t)(q->used_idx - old);
	}
}

void virtq_set_notification(struct virtq *q, bool enable)
{
	if (!q->ready)
		return;
	if (q->packed) {
		uint8_t *ev = guest_mem_ptr(q->mem, q->device_gpa, 4);
		if (ev && enable && q->event_idx)
			packed_publish_event(q);
		else if (ev)
			store16(ev + 2, enable ? RING_EVENT_FLAGS_ENABLE : RING_EVENT_FLAGS_DISABLE);
	} else {
		uint8_t *used = guest_mem_ptr(q->mem, q->device_gpa, split_used_bytes(q->size));
		if (!used)
			return;
		if (q->event_idx)
			store16(used + 4 + 8 * q->size, q->last_avail);
		else
			store16(used, enable ? 0 : VRING_USED_F_NO_NOTIFY);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static size_t elem_copy(const struct virtq_elem *e, unsigned int first, unsigned int n, size_t off, void *buf,
			size_t len, bool to_guest)
{
	size_t done = 0;

	for (unsigned int i = first; i < first + n && done < len; i++) {
		size_t seg = e->iov[i].iov_len, chunk;

		if (off >= seg) {
			off -= seg;
			continue;
		}
		chunk = MIN(seg - off, len - done);
		if (to_guest)
			memcpy((uint8_t *)e->iov[i].iov_base + off, (const uint8_t *)buf + done, chunk);
		else
			memcpy((uint8_t *)buf + done, (uint8_t *)e->iov[i].iov_base + off, chunk);
		done += chunk;
		off = 0;
	}
	return done;
}

size_t virtq_elem_read(const struct virtq_elem *e, size_t off, void *buf, size_t len)
{
	return elem_copy(e, 0, e->out_num, off, buf, len, false);
}

size_t virtq_elem_write(const struct virtq_elem *e, size_t off, const void *buf, size_t len)
{
	return elem_copy(e, e->out_num, e->in_num, off, (void *)buf, len, true);
}

void virtq_push_many(struct virtq *q, struct virtq_elem *const *e, const uint32_t *written, unsigned int n)
{
	if (!q->ready || n == 0)
		return;
	if (q->packed) {
		uint16_t pos = q->next_used, first_flags = 0;
		bool wrap = q->used_wrap;
		uint8_t *first = NULL;

		/* s2.8.21: the first descriptor's flags are written last and publish the whole group. */
		for (unsigned int i = 0; i < n; i++) {
			uint8_t *d = guest_mem_ptr(q->mem, q->desc_gpa + 16ULL * pos, 16);
			uint32_t w = MIN(written[i], (uint32_t)e[i]->in_len);
			uint16_t flags = wrap ? VIRTQ_PACKED_DESC_F_AVAIL | VIRTQ_PACKED_DESC_F_USED : 0;

			if (!d)
				return;
			if (w)
				flags |= VIRTQ_DESC_F_WRITE;
			put_le32(d + 8, w);
			put_le16(d + 12, e[i]->id);
			if (i == 0) {
				first = d;
				first_flags = flags;
			} else {
				store16(d + 14, flags);
			}
			pos += e[i]->ndescs;
			packed_count_used(q, e[i]->ndescs);
			if (pos >= q->size) {
				pos -= q->size;
				wrap = !wrap;
			}
		}
		store16(first + 14, first_flags);
		q->next_used = pos;
		q->used_wrap = wrap;
	} else {
		uint8_t *used = guest_mem_ptr(q->mem, q->device_gpa, split_used_bytes(q->size));

		if (!used)
			return;
		for (unsigned int i = 0; i < n; i++) {
			uint8_t *slot = used + 4 + 8 * ((uint16_t)(q->used_idx + i) % q->size);

			put_le32(slot, e[i]->id);
			put_le32(slot + 4, MIN(written[i], (uint32_t)e[i]->in_len));
		}
		q->used_idx += (uint16_t)n;
		store16(used + 2, q->used_idx); /* one release store publishes them all */
	}
}
