// SPDX-License-Identifier: MIT
/* Accesses to nothing: unknown ports and MMIO read as all-ones, writes are dropped, the VM lives. */
#include "lib.h"

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	for (uint16_t p = 0x200; p < 0x240; p++)
		CHECK("hostile", inb(p) == 0xff);
	CHECK("hostile", inl(0x2f0) == 0xffffffff);
	outl(0x2f0, 0x12345678);
	outb(0x80, 0x55);
	CHECK("hostile", mmio_rd32(0xd0000000ULL) == 0xffffffff);
	mmio_wr32(0xd0000000ULL, 0xdeadbeef);
	CHECK("hostile", mmio_rd32(0xd0000000ULL) == 0xffffffff);
	CHECK("hostile", mmio_rd32(0xfed00000ULL) == 0xffffffff); /* no HPET */
	/* a 4-byte access straddling COM1's end */
	(void)inl(0x3fe);
	/* config data port without the enable bit */
	outl(0xcf8, 0);
	CHECK("hostile", inl(0xcfc) == 0xffffffff);
	pass("hostile");
}
