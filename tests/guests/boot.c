// SPDX-License-Identifier: MIT
/* Boot state: multiboot magic and info flags, loader name, long mode reached. */
#include "lib.h"

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	const uint32_t *mbi = (const uint32_t *)(uintptr_t)mbi_addr;
	uint32_t lo, hi;

	CHECK("boot", magic == 0x2badb002);
	CHECK("boot", mbi_addr != 0 && mbi_addr < 0x100000);
	CHECK("boot", (mbi[0] & 0x1) && (mbi[0] & 0x4) && (mbi[0] & 0x40)); /* mem, cmdline, mmap */
	CHECK("boot", mbi[1] >= 600 && mbi[1] <= 640);                     /* mem_lower in KiB */
	if (arg_has("loader=vmkit")) {
		CHECK("boot", mbi[0] & (1 << 9));
		CHECK("boot", !memcmp_((const char *)(uintptr_t)mbi[16], "vmkit", 6));
	}
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xc0000080));
	CHECK("boot", lo & 0x400); /* EFER.LMA */
	pass("boot");
}
