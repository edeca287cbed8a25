// SPDX-License-Identifier: MIT
/*
 * The multiboot memory map (Multiboot 0.6.96 s3.3, e820 types from ACPI 6.4
 * s15): entries sorted and disjoint, RAM adding up to mem= from the command
 * line, the PCIe ECAM window reserved, mem_upper agreeing with the map, and
 * every RAM region usable at both ends, including RAM above 4 GiB (mapped
 * here on demand). vmkit lays out RAM as [0, 0x9fc00) + [1 MiB, low end) +
 * [4 GiB, ...): the 0x9fc00-0x100000 hole (EBDA, VGA, BIOS) is not RAM, so
 * RAM entries sum to mem - 0x60400.
 */
#include "lib.h"

const char *test_name = "memmap";

#define HOLE (0x100000ULL - 0x9fc00ULL)

static void probe(uint64_t addr, uint64_t pattern)
{
	volatile uint64_t *q = (volatile uint64_t *)(uintptr_t)addr;

	*q = pattern;
	if (*q != pattern)
		fail("RAM at 0x%lx does not keep a value", addr);
}

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	const struct mb_info *m = mbi();
	uint64_t want = arg_num("mem", 0), ram = 0, prev_end = 0, upper_end = 0, high = 0;
	uint64_t probes[16];
	unsigned int nprobe = 0, n = 0;
	bool ecam = false, low0 = false;
	extern char __bss_end[];

	CHECK(m->flags & MB_INFO_MMAP);
	CHECK(m->mmap_length >= 24 && m->mmap_length < 4096);
	for (uint32_t off = 0; off < m->mmap_length; n++) {
		const struct mb_mmap *e = (const struct mb_mmap *)(uintptr_t)(m->mmap_addr + off);

		printf_("mmap 0x%16lx-0x%16lx type %u\n", e->addr, e->addr + e->len, e->type);
		CHECK(e->size >= 20 && off + e->size + 4 <= m->mmap_length);
		CHECK(e->len > 0);
		CHECK(e->type >= 1 && e->type <= 5);
		CHECK(e->addr >= prev_end); /* sorted, disjoint */
		prev_end = e->addr + e->len;
		if (e->type == 1) {
			ram += e->len;
			if (e->addr == 0)
				low0 = e->len >= 0x9f000;
			if (e->addr == 0x100000)
				upper_end = e->addr + e->len;
			if (e->addr >= 0x100000000ULL)
				high += e->len;
			/* probe both ends of every region above 1 MiB (not our own image at its start) */
			if (e->addr >= 0x100000 && nprobe + 2 <= 16) {
				uint64_t start = e->addr;

				if (start < (uintptr_t)__bss_end)
					start = ((uintptr_t)__bss_end + 0xfff) & ~0xfffULL;
				if (start + 8 <= e->addr + e->len)
					probes[nprobe++] = start;
				probes[nprobe++] = e->addr + e->len - 8;
			}
		}
		if (e->type == 2 && e->addr <= 0xb0000000ULL && e->addr + e->len >= 0xc0000000ULL)
			ecam = true;
		if (e->type == 1 && !under_qemu()) /* no RAM between the ECAM and 4 GiB */
			CHECK(e->addr + e->len <= 0xb0000000ULL || e->addr >= 0x100000000ULL);
		off += e->size + 4;
	}
	printf_("%u entries, RAM %lu KiB (%lu KiB above 4 GiB), mem_lower %u mem_upper %u\n", n, ram >> 10,
		high >> 10, m->mem_lower, m->mem_upper);
	CHECK(low0);
	CHECK(upper_end > 0x100000);
	if (under_qemu()) {
		/* SeaBIOS keeps a little RAM for itself: only roughly mem= */
		CHECK(!want || (ram <= want && ram + (4ULL << 20) >= want));
	} else {
		CHECK(ecam);
		CHECK(want && ram + HOLE == want);
		CHECK((uint64_t)m->mem_upper * 1024 + 0x100000 == upper_end);
		CHECK(high == (want > 0xb0000000ULL ? want - 0xb0000000ULL : 0));
	}

	/* every probe gets its own pattern, so aliased regions would be caught */
	for (unsigned int i = 0; i < nprobe; i++) {
		if (probes[i] >= 0x100000000ULL)
			map_identity(probes[i], 8);
		probe(probes[i], 0x5a5aa5a500000000ULL | i);
	}
	for (unsigned int i = 0; i < nprobe; i++) {
		uint64_t v = *(volatile uint64_t *)(uintptr_t)probes[i];

		printf_("probe 0x%lx = 0x%lx\n", probes[i], v);
		if (v != (0x5a5aa5a500000000ULL | i))
			fail("RAM at 0x%lx changed: aliased with another region?", probes[i]);
	}
	CHECK(high == 0 || probes[nprobe - 1] >= 0x100000000ULL);
	pass();
}
