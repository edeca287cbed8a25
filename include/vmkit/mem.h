/* SPDX-License-Identifier: MIT */
/*
 * mem: guest physical memory. A small set of RAM regions, each backed by an
 * anonymous host mapping. Every guest-supplied address goes through
 * guest_mem_ptr(), which refuses ranges that are not entirely RAM.
 */
#ifndef VMKIT_MEM_H
#define VMKIT_MEM_H

#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 8

struct guest_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct guest_mem {
	struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned int nr;
	uint64_t total; /* sum of region sizes */
};

/* Start empty. */
void guest_mem_init(struct guest_mem *m);

/*
 * Add a RAM region [gpa, gpa+size) backed by fresh zeroed anonymous memory
 * (MAP_NORESERVE: untouched pages cost nothing). Page-aligned. Returns 0,
 * -EINVAL (misaligned/overlap), -ENOSPC (too many regions) or -ENOMEM.
 */
int guest_mem_add(struct guest_mem *m, uint64_t gpa, uint64_t size);

/* Unmap everything. */
void guest_mem_free(struct guest_mem *m);

/*
 * Host pointer for [gpa, gpa+len) if it lies entirely inside one region,
 * else NULL. len may be 0 (then gpa must still be inside a region, or at
 * its end). Never overflows. Thread-safe (regions are fixed after setup).
 */
void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Copy to/from guest memory; -EFAULT if the range is not RAM. */
int guest_mem_read(const struct guest_mem *m, uint64_t gpa, void *buf, size_t len);
int guest_mem_write(const struct guest_mem *m, uint64_t gpa, const void *buf, size_t len);

/* Fill with zeroes; -EFAULT if not RAM. */
int guest_mem_zero(const struct guest_mem *m, uint64_t gpa, size_t len);

/*
 * Give the host pages behind [gpa, gpa+len) back to the host kernel
 * (madvise MADV_DONTNEED: the process RSS drops; the guest reads zeroes if it
 * touches them again). gpa and len must be 4 KiB aligned and the range
 * entirely RAM: -EINVAL / -EFAULT otherwise. Any thread.
 */
int guest_mem_discard(const struct guest_mem *m, uint64_t gpa, uint64_t len);

#endif
