/* SPDX-License-Identifier: MIT */
/*
 * bus: PIO and MMIO range dispatch. A device registers a range and a handler;
 * the handler gets the offset within its range, never an absolute address.
 * Accesses that hit no range read as all-ones, writes are dropped, and both are
 * counted (rate-limited log).
 */
#ifndef VMKIT_BUS_H
#define VMKIT_BUS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Device access handler. Called on a vCPU thread (concurrently for different
 * vCPUs: the device locks its own state). For reads, fill data[0..size).
 * size is 1, 2, 4 or 8. data is little-endian.
 */
typedef void bus_io_fn(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_io_fn *io;
	void *opaque;
	const char *name;
};

struct bus {
	const char *name; /* "pio" or "mmio" */
	pthread_rwlock_t lock;
	struct bus_range *ranges; /* sorted by base, non-overlapping */
	unsigned int nr, cap;
	atomic_uint_fast64_t unhandled_reads;
	atomic_uint_fast64_t unhandled_writes;
};

int bus_init(struct bus *b, const char *name);
void bus_destroy(struct bus *b);

/* Register [base, base+len). -EEXIST on overlap, -EINVAL if len is 0 or wraps. */
int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_io_fn *io, void *opaque, const char *name);

/* Remove the range that starts at base. -ENOENT if none. */
int bus_unregister(struct bus *b, uint64_t base);

/*
 * Dispatch an access. An access must fit entirely in one range; otherwise it
 * is unhandled. Returns true if a device handled it. Unhandled reads fill data
 * with 0xff.
 */
bool bus_access(struct bus *b, uint64_t addr, uint8_t *data, uint32_t size, bool is_write);

#endif
