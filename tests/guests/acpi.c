// SPDX-License-Identifier: MIT
/*
 * ACPI tables as an OS finds them (ACPI 6.4 s5.2): the RSDP in 0xe0000-0xfffff
 * with valid v1 (20 bytes) and extended checksums, an XSDT whose tables all
 * checksum, a FADT with PM1a_CNT at 0x604 and a DSDT defining \_S5, a MADT
 * with cpus= enabled processors and the IOAPIC, an MCFG with the ECAM at
 * 0xb0000000. Then power off as an OS does: SLP_TYP from \_S5 with SLP_EN
 * into PM1a_CNT (s4.8.3.2.1, s7.4.2). vmkit must exit with status 0; a guest
 * still running afterwards fails.
 */
#include "lib.h"

const char *test_name = "acpi";

static uint32_t rd32(const uint8_t *p) { return *(const uint32_t *)p; }
static uint64_t rd64(const uint8_t *p) { return *(const uint64_t *)p; }

/* The first element of Package () after Name (_S5_, ...): SLP_TYPa (s7.4.2). -1 if unparsable. */
static int s5_slp_typ(const uint8_t *dsdt)
{
	uint32_t len = rd32(dsdt + 4);

	for (uint32_t i = 36; i + 8 <= len; i++) {
		const uint8_t *p = dsdt + i;
		unsigned int extra;

		if (memcmp_(p, "_S5_", 4) || p[4] != 0x12) /* PackageOp */
			continue;
		p += 5;
		extra = p[0] >> 6; /* PkgLength: bits 7-6 count the following bytes */
		p += 1 + extra + 1; /* PkgLength, NumElements */
		if (p + 2 > dsdt + len)
			return -1;
		switch (p[0]) {
		case 0x00: return 0;     /* ZeroOp */
		case 0x01: return 1;     /* OneOp */
		case 0x0a: return p[1];  /* BytePrefix */
		default: return -1;
		}
	}
	return -1;
}

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	const uint8_t *rsdp = acpi_rsdp(), *xsdt, *fadt, *dsdt, *madt, *mcfg, *facs;
	unsigned int cpus = (unsigned int)arg_num("cpus", 1), ioapics = 0;
	uint8_t ids[64];
	uint16_t pm1a_cnt;
	int slp;

	CHECK(rsdp);
	printf_("RSDP at 0x%lx revision %u oem %c%c%c%c%c%c\n", (uint64_t)(uintptr_t)rsdp, rsdp[15], rsdp[9], rsdp[10],
		rsdp[11], rsdp[12], rsdp[13], rsdp[14]);
	CHECK(sum8(rsdp, 20) == 0);
	if (!under_qemu()) {
		CHECK(rsdp[15] >= 2);
		CHECK(rd32(rsdp + 20) == 36 && sum8(rsdp, 36) == 0);
		xsdt = (const uint8_t *)(uintptr_t)rd64(rsdp + 24);
		CHECK(xsdt && !memcmp_(xsdt, "XSDT", 4) && sum8(xsdt, rd32(xsdt + 4)) == 0);
		CHECK((rd32(xsdt + 4) - 36) % 8 == 0);
		/* every table the XSDT lists has a valid checksum */
		for (uint32_t off = 36; off < rd32(xsdt + 4); off += 8) {
			const uint8_t *t = (const uint8_t *)(uintptr_t)rd64(xsdt + off);

			printf_("  %c%c%c%c at 0x%lx len %u\n", t[0], t[1], t[2], t[3], rd64(xsdt + off), rd32(t + 4));
			CHECK(rd32(t + 4) >= 36 && sum8(t, rd32(t + 4)) == 0);
		}
	}

	fadt = acpi_table("FACP");
	CHECK(fadt);
	pm1a_cnt = (uint16_t)rd32(fadt + 64);
	printf_("FADT rev %u len %u PM1a_EVT 0x%x PM1a_CNT 0x%x PM_TMR 0x%x SCI %u flags 0x%x\n", fadt[8],
		rd32(fadt + 4), rd32(fadt + 56), pm1a_cnt, rd32(fadt + 76), *(const uint16_t *)(fadt + 46),
		rd32(fadt + 112));
	CHECK(pm1a_cnt);
	CHECK(fadt[89] == 2); /* PM1_CNT_LEN */
	if (!under_qemu()) {
		CHECK(pm1a_cnt == 0x604);
		CHECK(rd32(fadt + 4) >= 244);                     /* ACPI 2.0+ FADT with X_ fields */
		CHECK(*(const uint16_t *)(fadt + 46) == 9);       /* SCI_INT */
		CHECK(!(rd32(fadt + 112) & (1u << 20)));          /* not HW_REDUCED_ACPI: PM1 blocks are used */
	}
	/* FACS, if listed, is a FACS (no checksum; s5.2.10) */
	if (rd32(fadt + 36) || (rd32(fadt + 4) >= 140 && rd64(fadt + 132))) {
		facs = (const uint8_t *)(uintptr_t)(rd32(fadt + 36) ? rd32(fadt + 36) : rd64(fadt + 132));
		CHECK(!memcmp_(facs, "FACS", 4) && rd32(facs + 4) >= 64);
	}

	dsdt = acpi_table("DSDT");
	CHECK(dsdt);
	CHECK(dsdt[8] >= 1); /* revision */
	slp = s5_slp_typ(dsdt);
	printf_("DSDT len %u, \\_S5 SLP_TYP %d\n", rd32(dsdt + 4), slp);
	CHECK(slp >= 0 && slp < 8);
	if (!under_qemu())
		CHECK(slp == 5);

	madt = acpi_table("APIC");
	CHECK(madt);
	CHECK(rd32(madt + 36) == 0xfee00000u);
	for (uint32_t off = 44; off + 2 <= rd32(madt + 4) && madt[off + 1] >= 2; off += madt[off + 1])
		if (madt[off] == 1) {
			printf_("MADT IOAPIC id %u at 0x%x GSI base %u\n", madt[off + 2], rd32(madt + off + 4),
				rd32(madt + off + 8));
			CHECK(rd32(madt + off + 4) == 0xfec00000u);
			ioapics++;
		}
	CHECK(ioapics == 1);
	unsigned int n = madt_cpus(ids, 64);
	printf_("MADT: %u enabled CPUs\n", n);
	CHECK(n == cpus);
	for (unsigned int i = 0; i < n && i < 64; i++)
		for (unsigned int j = 0; j < i; j++)
			CHECK(ids[i] != ids[j]);

	mcfg = acpi_table("MCFG");
	if (!under_qemu() || mcfg) {
		CHECK(mcfg);
		CHECK(rd32(mcfg + 4) >= 44 + 16);
		printf_("MCFG base 0x%lx segment %u buses %u-%u\n", rd64(mcfg + 44), *(const uint16_t *)(mcfg + 52),
			mcfg[54], mcfg[55]);
		CHECK(rd64(mcfg + 44) == 0xb0000000ULL);
		CHECK(*(const uint16_t *)(mcfg + 52) == 0 && mcfg[54] == 0 && mcfg[55] >= mcfg[54]);
	}

	puts_("ACPI tables OK, powering off\n");
	outw(pm1a_cnt, (uint16_t)((slp << 10) | (1 << 13)));
	udelay(200000);
	fail("still running 200 ms after the S5 request");
}
