// SPDX-License-Identifier: MIT
/*
 * Accesses to nothing, and to things a guest should not touch: unknown ports
 * read as all ones at every width and swallow writes, unmapped MMIO in the
 * PCI hole reads as all ones and ignores writes, odd-sized and straddling
 * accesses, writes into the BIOS/ACPI area and at the top of 4 GiB. The VM
 * must survive all of it and report PASS.
 */
#include "lib.h"

const char *test_name = "hostile";

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	static const uint64_t holes[] = { 0xd0000000ULL, 0xc0000000ULL, 0xfed00000ULL /* no HPET */,
					  0xfebff000ULL, 0xfffff000ULL };
	uint32_t a, b, c, d;

	for (uint16_t p = 0x200; p < 0x300; p++) {
		uint8_t v = inb(p);

		if (v != 0xff)
			fail("port 0x%x reads 0x%x", p, v);
		outb(p, 0x00);
	}
	for (uint16_t p = 0x200; p < 0x300; p += 2)
		if (inw(p) != 0xffff)
			fail("port 0x%x word reads 0x%x", p, inw(p));
	for (uint16_t p = 0x200; p < 0x300; p += 4) {
		outl(p, 0x12345678);
		if (inl(p) != 0xffffffff)
			fail("port 0x%x dword reads 0x%x", p, inl(p));
	}
	outb(0x80, 0x55); /* POST code port */
	if (!under_qemu()) { /* QEMU 7.2's serial asserts (aborts) on this one */
		(void)inl(0x3fe); /* a dword straddling COM1's end */
		outl(0x3fe, 0xffffffff);
	}
	(void)inw(0xffff); /* the last port, spilling over */
	outw(0xffff, 0);
	for (unsigned int i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
		uint64_t h = holes[i];

		if (under_qemu()) { /* QEMU reads unassigned memory as 0 */
			mmio_wr32(h, 0xdeadbeef);
			(void)mmio_rd32(h);
			continue;
		}
		if (mmio_rd32(h) != 0xffffffff)
			fail("MMIO 0x%lx reads 0x%x", h, mmio_rd32(h));
		mmio_wr32(h, 0xdeadbeef);
		mmio_wr8(h + 3, 0x11);
		CHECK(mmio_rd32(h) == 0xffffffff);
		CHECK(mmio_rd8(h + 1) == 0xff);
		CHECK(mmio_rd64(h + 8) == ~0ULL);
	}
	/* writes to the BIOS area, ACPI tables and the reset vector: the VM lives on */
	mmio_wr32(0xffff0ULL, 0);
	mmio_wr32(0xfffffff0ULL, 0);
	mmio_wr32(0xe0000ULL, 0);
	/* IOAPIC: a register index that does not exist, then the real version register */
	ioapic_wr(0xfe, 0xffffffff);
	(void)ioapic_rd(0xfe);
	CHECK((ioapic_rd(0x01) & 0xff) >= 0x11);
	/* an unknown MSR-free CPUID leaf and a PCI config access to a device that is not there */
	cpuid(0x8fffffff, 0, &a, &b, &c, &d);
	outl(0xcf8, 0x80000000U | (7 << 16) | (31 << 11));
	outl(0xcfc, 0);
	CHECK(inl(0xcfc) == 0xffffffff);
	pass();
}
