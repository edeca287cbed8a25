// SPDX-License-Identifier: MIT
/*
 * ACPI tables as a guest OS finds them: RSDP in the BIOS area, XSDT, FADT,
 * DSDT, MADT, MCFG with valid checksums; then power off through PM1a_CNT
 * (SLP_TYP for S5 from \_S5 is 5 here). vmkit must exit with status 0.
 */
#include "lib.h"

static const uint8_t *find_rsdp(void)
{
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16) {
		const uint8_t *p = (const uint8_t *)(uintptr_t)a;
		if (!memcmp_(p, "RSD PTR ", 8) && sum8(p, 20) == 0)
			return p;
	}
	return 0;
}

static const uint8_t *table(uint64_t addr, const char *sig)
{
	const uint8_t *t = (const uint8_t *)(uintptr_t)addr;
	if (memcmp_(t, sig, 4))
		return 0;
	if (sum8(t, *(const uint32_t *)(t + 4)) != 0)
		fail("acpi", "bad table checksum");
	return t;
}

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	const uint8_t *rsdp = find_rsdp(), *fadt = 0, *madt = 0, *mcfg = 0, *dsdt;
	unsigned int cpus = (unsigned int)arg_num("cpus", 1), lapics = 0;

	CHECK("acpi", rsdp);
	CHECK("acpi", rsdp[15] >= 2 && sum8(rsdp, 36) == 0);
	const uint8_t *xsdt = table(*(const uint64_t *)(rsdp + 24), "XSDT");
	CHECK("acpi", xsdt);
	uint32_t n = (*(const uint32_t *)(xsdt + 4) - 36) / 8;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t a = *(const uint64_t *)(xsdt + 36 + 8 * i);
		fadt = fadt ? fadt : table(a, "FACP");
		madt = madt ? madt : table(a, "APIC");
		mcfg = mcfg ? mcfg : table(a, "MCFG");
	}
	CHECK("acpi", fadt && madt && mcfg);
	CHECK("acpi", *(const uint32_t *)(fadt + 64) == 0x604);
	dsdt = table(*(const uint64_t *)(fadt + 140), "DSDT");
	CHECK("acpi", dsdt);
	bool s5 = false;
	for (uint32_t i = 36; i + 4 <= *(const uint32_t *)(dsdt + 4); i++)
		if (!memcmp_(dsdt + i, "_S5_", 4))
			s5 = true;
	CHECK("acpi", s5);
	for (uint32_t off = 44; off < *(const uint32_t *)(madt + 4); off += madt[off + 1]) {
		if (madt[off + 1] < 2)
			fail("acpi", "bad MADT entry length");
		if (madt[off] == 0 && (madt[off + 4] & 1))
			lapics++;
	}
	CHECK("acpi", lapics == cpus);
	CHECK("acpi", *(const uint64_t *)(mcfg + 44) == 0xb0000000ULL);
	puts_("ACPI tables OK, powering off\n");
	outw(0x604, (5 << 10) | (1 << 13));
	fail("acpi", "still running after S5");
}
