// SPDX-License-Identifier: MIT
/* The multiboot memory map: sorted, disjoint, RAM adds up to mem=, ECAM reserved; RAM is usable. */
#include "lib.h"

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	const uint32_t *mbi = (const uint32_t *)(uintptr_t)mbi_addr;
	uint64_t want = arg_num("mem", 0), ram = 0, prev_end = 0, top_low = 0;
	const uint8_t *p = (const uint8_t *)(uintptr_t)mbi[12], *end = p + mbi[11];
	bool ecam = false;

	CHECK("memmap", mbi[0] & 0x40);
	while (p < end) {
		uint32_t size = *(const uint32_t *)p;
		uint64_t base = *(const uint64_t *)(p + 4), len = *(const uint64_t *)(p + 12);
		uint32_t type = *(const uint32_t *)(p + 20);
		puts_("e820 ");
		putx(base);
		putc_(' ');
		putx(len);
		putc_(' ');
		putu(type);
		putc_('\n');
		CHECK("memmap", base >= prev_end); /* sorted, disjoint */
		prev_end = base + len;
		if (type == 1) {
			ram += len;
			if (base + len <= 0x100000000ULL)
				top_low = base + len;
		}
		if (type == 2 && base == 0xb0000000ULL && len == 0x10000000ULL)
			ecam = true;
		p += size + 4;
	}
	CHECK("memmap", ecam);
	/* all of mem= is RAM except the EBDA and BIOS area 0x9fc00-0x100000 */
	CHECK("memmap", ram == want - (0x100000 - 0x9fc00));
	/* the last page of low RAM is real memory */
	volatile uint64_t *q = (volatile uint64_t *)(uintptr_t)(top_low - 8);
	*q = 0x5a5aa5a5deadbeefULL;
	CHECK("memmap", *q == 0x5a5aa5a5deadbeefULL);
	pass("memmap");
}
