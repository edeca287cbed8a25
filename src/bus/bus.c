// SPDX-License-Identifier: MIT
/*
 * PIO/MMIO dispatch: a sorted array of ranges searched by binary search under
 * a read lock. Registration (rare: setup and PCI BAR moves) takes the write lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmkit/bus.h"
#include "vmkit/log.h"

int bus_init(struct bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
	return -pthread_rwlock_init(&b->lock, NULL);
}

void bus_destroy(struct bus *b)
{
	free(b->ranges);
	b->ranges = NULL;
	b->nr = b->cap = 0;
	pthread_rwlock_destroy(&b->lock);
}

/* Index of the first range with base > addr. */
static unsigned int bus_upper(const struct bus *b, uint64_t addr)
{
	unsigned int lo = 0, hi = b->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		if (b->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_io_fn *io, void *opaque, const char *name)
{
	unsigned int pos;
	int err = 0;

	if (!len || base + len - 1 < base || !io)
		return -EINVAL;
	pthread_rwlock_wrlock(&b->lock);
	pos = bus_upper(b, base);
	/* Overlap with the predecessor or the successor? */
	if (pos > 0) {
		const struct bus_range *p = &b->ranges[pos - 1];
		if (base - p->base < p->len) {
			err = -EEXIST;
			goto out;
		}
	}
	if (pos < b->nr && b->ranges[pos].base - base < len) {
		err = -EEXIST;
		goto out;
	}
	if (b->nr == b->cap) {
		unsigned int cap = b->cap ? b->cap * 2 : 16;
		struct bus_range *r = realloc(b->ranges, cap * sizeof(*r));
		if (!r) {
			err = -ENOMEM;
			goto out;
		}
		b->ranges = r;
		b->cap = cap;
	}
	memmove(&b->ranges[pos + 1], &b->ranges[pos], (b->nr - pos) * sizeof(b->ranges[0]));
	b->ranges[pos] = (struct bus_range){ .base = base, .len = len, .io = io, .opaque = opaque, .name = name };
	b->nr++;
out:
	pthread_rwlock_unlock(&b->lock);
	return err;
}

int bus_unregister(struct bus *b, uint64_t base)
{
	unsigned int pos;
	int err = -ENOENT;

	pthread_rwlock_wrlock(&b->lock);
	pos = bus_upper(b, base);
	if (pos > 0 && b->ranges[pos - 1].base == base) {
		pos--;
		memmove(&b->ranges[pos], &b->ranges[pos + 1], (b->nr - pos - 1) * sizeof(b->ranges[0]));
		b->nr--;
		err = 0;
	}
	pthread_rwlock_unlock(&b->lock);
	return err;
}

bool bus_access(struct bus *b, uint64_t addr, uint8_t *data, uint32_t size, bool is_write)
{
	struct bus_range r;
	unsigned int pos;
	bool found = false;

	pthread_rwlock_rdlock(&b->lock);
	pos = bus_upper(b, addr);
	if (pos > 0) {
		r = b->ranges[pos - 1];
		uint64_t off = addr - r.base;
		found = off < r.len && size <= r.len - off;
	}
	pthread_rwlock_unlock(&b->lock);
	/*
	 * The handler runs unlocked so that a device may remap BARs (which
	 * takes the write lock) from inside its own handler. Ranges are only
	 * removed while their device is alive, so opaque stays valid.
	 */
	if (found) {
		r.io(r.opaque, addr - r.base, data, size, is_write);
		return true;
	}
	if (is_write) {
		atomic_fetch_add(&b->unhandled_writes, 1);
		log_ratelimited(LOG_DEBUG, "%s: unhandled write at 0x%llx size %u", b->name,
				(unsigned long long)addr, size);
	} else {
		atomic_fetch_add(&b->unhandled_reads, 1);
		memset(data, 0xff, size);
		log_ratelimited(LOG_DEBUG, "%s: unhandled read at 0x%llx size %u", b->name,
				(unsigned long long)addr, size);
	}
	return false;
}
