// SPDX-License-Identifier: MIT
/*
 * PCI enumeration of bus 0 through configuration mechanism #1 (0xcf8/0xcfc,
 * PCI Local Bus 3.0 s3.2.2.3.2) and through the ECAM (PCIe 4.0 s7.2.2) at the
 * MCFG base: the host bridge 8086:29c0 at 00:00.0, absent functions read all
 * ones, both mechanisms agree, and read-only identity registers stay so.
 */
#include "lib.h"

const char *test_name = "pci";

static uint32_t addr(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg)
{
	return 0x80000000U | (bus << 16) | (dev << 11) | (fn << 8) | (reg & 0xfc);
}

static uint32_t cf8_read(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg)
{
	outl(0xcf8, addr(bus, dev, fn, reg));
	return inl(0xcfc);
}

static uint64_t ecam_base;

static uint32_t ecam_read(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg)
{
	return mmio_rd32(ecam_base + ((uint64_t)bus << 20) + (dev << 15) + (fn << 12) + reg);
}

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	const uint8_t *mcfg = acpi_table("MCFG");
	unsigned int found = 0;

	if (mcfg)
		ecam_base = *(const uint64_t *)(mcfg + 44);
	if (!under_qemu()) {
		CHECK(ecam_base == 0xb0000000ULL);
		CHECK(cf8_read(0, 0, 0, 0) == 0x29c08086);
	}
	CHECK((cf8_read(0, 0, 0, 0) & 0xffff) == 0x8086);
	CHECK((cf8_read(0, 0, 0, 8) >> 8) == 0x060000); /* class: host bridge */
	CHECK(((cf8_read(0, 0, 0, 0xc) >> 16) & 0x7f) == 0); /* header type 0 */

	/* the address register reads back; byte and word data accesses pick lanes */
	outl(0xcf8, addr(0, 0, 0, 0));
	CHECK(inl(0xcf8) == addr(0, 0, 0, 0));
	CHECK(inw(0xcfc) == 0x8086);
	CHECK(inw(0xcfe) == (cf8_read(0, 0, 0, 0) >> 16));
	outl(0xcf8, addr(0, 0, 0, 0));
	CHECK(inb(0xcfd) == 0x80);
	/* with the enable bit clear, data reads as all ones (no configuration cycle) */
	outl(0xcf8, 0);
	CHECK(inl(0xcfc) == 0xffffffff);

	for (unsigned int dev = 0; dev < 32; dev++) {
		for (unsigned int fn = 0; fn < 8; fn++) {
			uint32_t id = cf8_read(0, dev, fn, 0);

			if (ecam_base)
				for (unsigned int reg = 0; reg < 64; reg += 4)
					if (ecam_read(0, dev, fn, reg) != cf8_read(0, dev, fn, reg))
						fail("00:%u.%u reg 0x%x: ECAM 0x%x, 0xcf8 0x%x", dev, fn, reg,
						     ecam_read(0, dev, fn, reg), cf8_read(0, dev, fn, reg));
			if (id == 0xffffffff) {
				if (fn == 0)
					break;
				continue;
			}
			found++;
			printf_("00:%2x.%u %4x:%4x class %6x\n", dev, fn, id & 0xffff, id >> 16,
				cf8_read(0, dev, fn, 8) >> 8);
			if (fn == 0 && !(cf8_read(0, dev, 0, 0xc) & 0x800000))
				break; /* not multi-function */
		}
	}
	CHECK(found >= 1);
	CHECK(cf8_read(1, 0, 0, 0) == 0xffffffff);
	CHECK(cf8_read(255, 31, 7, 0xfc) == 0xffffffff);
	if (ecam_base) {
		CHECK(ecam_read(0, 0, 0, 0) == cf8_read(0, 0, 0, 0));
		CHECK(ecam_read(1, 0, 0, 0) == 0xffffffff);
		CHECK(ecam_read(0, 31, 7, 0xffc) == 0xffffffff);
		/* a byte read of the ECAM picks the lane */
		CHECK(mmio_rd8(ecam_base + 1) == 0x80);
		/* identity registers are read-only, through either mechanism */
		mmio_wr32(ecam_base, 0x12345678);
		CHECK(ecam_read(0, 0, 0, 0) == cf8_read(0, 0, 0, 0) && (cf8_read(0, 0, 0, 0) & 0xffff) == 0x8086);
	}
	outl(0xcf8, addr(0, 0, 0, 0));
	outl(0xcfc, 0x12345678);
	CHECK((cf8_read(0, 0, 0, 0) & 0xffff) == 0x8086);
	pass();
}
