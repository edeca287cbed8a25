// SPDX-License-Identifier: MIT
/* Guest physical memory: anonymous mappings with bounds-checked translation. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmkit/mem.h"

#define PAGE_MASK_4K 0xfffULL

void guest_mem_init(struct guest_mem *m)
{
	memset(m, 0, sizeof(*m));
}

int guest_mem_add(struct guest_mem *m, uint64_t gpa, uint64_t size)
{
	void *p;
	unsigned int i;

	if (!size || (gpa & PAGE_MASK_4K) || (size & PAGE_MASK_4K) || gpa + size < gpa)
		return -EINVAL;
	if (m->nr >= GUEST_MEM_MAX_REGIONS)
		return -ENOSPC;
	for (i = 0; i < m->nr; i++) {
		const struct guest_mem_region *r = &m->regions[i];
		if (gpa < r->gpa + r->size && r->gpa < gpa + size)
			return -EINVAL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	/*
	 * Guest RAM is never worth dumping. No MADV_HUGEPAGE: the loader's first
	 * write would fault in a whole 2 MiB page and raise start-up RSS
	 * (measured in bench/startup); the host's THP policy still applies.
	 */
	madvise(p, size, MADV_DONTDUMP);
	m->regions[m->nr].gpa = gpa;
	m->regions[m->nr].size = size;
	m->regions[m->nr].hva = p;
	m->nr++;
	m->total += size;
	return 0;
}

void guest_mem_free(struct guest_mem *m)
{
	unsigned int i;

	for (i = 0; i < m->nr; i++)
		munmap(m->regions[i].hva, m->regions[i].size);
	guest_mem_init(m);
}

void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < m->nr; i++) {
		const struct guest_mem_region *r = &m->regions[i];
		uint64_t off;

		if (gpa < r->gpa)
			continue;
		off = gpa - r->gpa;
		/* Written so that no sum can overflow. */
		if (off > r->size || len > r->size - off)
			continue;
		return r->hva + off;
	}
	return NULL;
}

int guest_mem_read(const struct guest_mem *m, uint64_t gpa, void *buf, size_t len)
{
	void *p = guest_mem_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int guest_mem_write(const struct guest_mem *m, uint64_t gpa, const void *buf, size_t len)
{
	void *p = guest_mem_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

int guest_mem_zero(const struct guest_mem *m, uint64_t gpa, size_t len)
{
	void *p = guest_mem_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memset(p, 0, len);
	return 0;
}

int guest_mem_discard(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	void *p;

	if ((gpa | len) & 4095)
		return -EINVAL;
	p = guest_mem_ptr(m, gpa, len);
	if (!p)
		return -EFAULT;
	/*
	 * Guest RAM is a private anonymous mapping: DONTNEED frees the pages now
	 * and KVM's MMU notifier drops its mappings of them; later guest accesses
	 * fault in fresh zero pages.
	 */
	if (len && madvise(p, len, MADV_DONTNEED) < 0)
		return -errno;
	return 0;
}
