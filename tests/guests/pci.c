// SPDX-License-Identifier: MIT
/* PCI enumeration through configuration mechanism #1 and through ECAM. */
#include "lib.h"

static uint32_t cf8_read(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg)
{
	outl(0xcf8, 0x80000000U | (bus << 16) | (dev << 11) | (fn << 8) | reg);
	return inl(0xcfc);
}

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	const uint64_t ecam = 0xb0000000ULL;

	CHECK("pci", cf8_read(0, 0, 0, 0) == 0x29c08086);
	CHECK("pci", (cf8_read(0, 0, 0, 8) >> 8) == 0x060000); /* host bridge class */
	CHECK("pci", cf8_read(0, 1, 0, 0) == 0xffffffff);
	CHECK("pci", cf8_read(0, 31, 7, 0) == 0xffffffff);
	/* byte and word accesses through 0xcfc-0xcff */
	outl(0xcf8, 0x80000000U);
	CHECK("pci", inw(0xcfe) == 0x29c0);
	CHECK("pci", inb(0xcfc) == 0x86);
	/* ECAM sees the same devices */
	CHECK("pci", mmio_rd32(ecam) == 0x29c08086);
	CHECK("pci", mmio_rd32(ecam + (1 << 15)) == 0xffffffff);
	CHECK("pci", mmio_rd32(ecam + (1 << 20)) == 0xffffffff); /* bus 1 */
	/* read-only identity stays read-only */
	mmio_wr32(ecam, 0x12345678);
	CHECK("pci", mmio_rd32(ecam) == 0x29c08086);
	pass("pci");
}
