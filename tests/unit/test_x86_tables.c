// SPDX-License-Identifier: MIT
/* x86 firmware tables: e820 layout, ACPI tables, MP table and the AML encoder. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/arch/x86/aml.h"
#include "vmkit/util.h"
#include "vmkit/x86.h"

static void check_e820(uint64_t ram)
{
	struct e820_entry e[E820_MAX_ENTRIES];
	int n = x86_e820_build(ram, e, E820_MAX_ENTRIES);
	uint64_t total = 0;
	bool ecam = false, tables = false;

	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		assert_true(e[i].size > 0);
		if (i)
			assert_true(e[i].addr >= e[i - 1].addr + e[i - 1].size); /* sorted, disjoint */
		if (e[i].type == E820_RAM) {
			total += e[i].size;
			/* RAM never overlaps the PCI hole */
			assert_true(e[i].addr + e[i].size <= X86_ECAM_BASE || e[i].addr >= X86_HIGHMEM_BASE);
		}
		if (e[i].type == E820_RESERVED && e[i].addr == X86_ECAM_BASE && e[i].size == X86_ECAM_SIZE)
			ecam = true;
		if (e[i].type == E820_RESERVED && e[i].addr <= X86_ACPI_BASE &&
		    e[i].addr + e[i].size >= X86_BIOS_END)
			tables = true;
	}
	/* all RAM is described except the EBDA and the BIOS area (0x9fc00-0x100000) */
	assert_int_equal(total, ram - (X86_BIOS_END - X86_EBDA));
	assert_true(ecam);
	assert_true(tables);
}

static void test_e820_sizes(void **state)
{
	check_e820(16 * MiB);
	check_e820(256 * MiB);
	check_e820(X86_LOWMEM_MAX);
	check_e820(3 * GiB);
	check_e820(8 * GiB);
	assert_int_equal(x86_highmem_size(3 * GiB), 3 * GiB - X86_LOWMEM_MAX);
	assert_int_equal(x86_pci_mmio64_base(8 * GiB) % GiB, 0);
	assert_true(x86_pci_mmio64_base(8 * GiB) >= X86_HIGHMEM_BASE + 8 * GiB - X86_LOWMEM_MAX);
	struct e820_entry e[2];
	assert_int_equal(x86_e820_build(256 * MiB, e, 2), -ENOSPC);
}

static const struct acpi_config cfg4 = {
	.nr_cpus = 4, .ram_size = 256 * MiB, .ecam_base = X86_ECAM_BASE, .ecam_buses = 256,
	.mmio32_base = X86_PCI_MMIO32_BASE, .mmio32_end = X86_PCI_MMIO32_END,
	.mmio64_base = 1ULL << 36, .mmio64_end = (1ULL << 36) + X86_PCI_MMIO64_SIZE,
	.pci_io_base = X86_PCI_IO_BASE, .pci_io_end = X86_PCI_IO_END,
};

static uint8_t *table(struct guest_mem *m, uint64_t gpa, const char *sig)
{
	uint8_t *t = guest_mem_ptr(m, gpa, 36);
	assert_non_null(t);
	assert_memory_equal(t, sig, 4);
	uint32_t len = get_le32(t + 4);
	assert_true(len >= 36);
	t = guest_mem_ptr(m, gpa, len);
	assert_non_null(t);
	assert_true(gpa >= X86_ACPI_BASE && gpa + len <= X86_ACPI_BASE + X86_ACPI_SIZE);
	assert_int_equal(byte_sum(t, len), 0);
	return t;
}

static bool contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (!memcmp(hay + i, needle, m))
			return true;
	return false;
}

static void test_acpi_tables(void **state)
{
	struct guest_mem m;
	uint64_t rsdp_gpa;

	guest_mem_init(&m);
	assert_int_equal(guest_mem_add(&m, 0, 16 * MiB), 0);
	assert_int_equal(acpi_build(&m, X86_ACPI_BASE, X86_ACPI_SIZE, &cfg4, &rsdp_gpa), 0);
	assert_int_equal(rsdp_gpa % 16, 0);
	uint8_t *rsdp = guest_mem_ptr(&m, rsdp_gpa, 36);
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(byte_sum(rsdp, 20), 0);
	assert_int_equal(byte_sum(rsdp, 36), 0);
	assert_int_equal(rsdp[15], 2);

	uint8_t *xsdt = table(&m, get_le64(rsdp + 24), "XSDT");
	uint8_t *rsdt = table(&m, get_le32(rsdp + 16), "RSDT");
	unsigned int n = (get_le32(xsdt + 4) - 36) / 8;
	assert_int_equal(n, (get_le32(rsdt + 4) - 36) / 4);
	uint8_t *fadt = NULL, *madt = NULL, *mcfg = NULL;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t at = get_le64(xsdt + 36 + 8 * i);
		assert_int_equal(at, get_le32(rsdt + 36 + 4 * i));
		uint8_t *t = guest_mem_ptr(&m, at, 4);
		if (!memcmp(t, "FACP", 4))
			fadt = table(&m, at, "FACP");
		else if (!memcmp(t, "APIC", 4))
			madt = table(&m, at, "APIC");
		else if (!memcmp(t, "MCFG", 4))
			mcfg = table(&m, at, "MCFG");
	}
	assert_non_null(fadt);
	assert_non_null(madt);
	assert_non_null(mcfg);

	/* FADT: PM blocks, SCI, reset register, DSDT */
	assert_int_equal(get_le32(fadt + 56), X86_ACPI_PM1A_EVT);
	assert_int_equal(get_le32(fadt + 64), X86_ACPI_PM1A_CNT);
	assert_int_equal(get_le32(fadt + 76), X86_ACPI_PM_TMR);
	assert_int_equal(get_le16(fadt + 46), X86_ACPI_SCI_IRQ);
	assert_int_equal(get_le64(fadt + 116 + 4), X86_RESET_CONTROL_PORT);
	assert_true(get_le32(fadt + 112) & (1u << 10));
	assert_int_equal(get_le64(fadt + 140), get_le32(fadt + 40));
	uint8_t *facs = guest_mem_ptr(&m, get_le64(fadt + 132), 64);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(get_le64(fadt + 132) % 64, 0);

	/* DSDT: _S5_, the host bridge and the COM port by EISA id */
	uint8_t *dsdt = table(&m, get_le64(fadt + 140), "DSDT");
	uint32_t dlen = get_le32(dsdt + 4);
	assert_true(contains(dsdt, dlen, "_S5_", 4));
	assert_true(contains(dsdt, dlen, "PCI0", 4));
	uint32_t pnp0a08 = aml_eisaid("PNP0A08"), pnp0501 = aml_eisaid("PNP0501");
	assert_true(contains(dsdt, dlen, &pnp0a08, 4));
	assert_true(contains(dsdt, dlen, &pnp0501, 4));
	assert_true(contains(dsdt, dlen, "ACPI0007", 8));

	/* MADT: one enabled LAPIC per CPU with ids 0..3, one IOAPIC */
	uint32_t mlen = get_le32(madt + 4), lapics = 0, ioapics = 0;
	assert_int_equal(get_le32(madt + 36), X86_LAPIC_BASE);
	for (uint32_t off = 44; off < mlen;) {
		uint8_t type = madt[off], len = madt[off + 1];
		assert_true(len >= 2 && off + len <= mlen);
		if (type == 0) {
			assert_int_equal(madt[off + 3], lapics);
			assert_int_equal(get_le32(madt + off + 4) & 1, 1);
			lapics++;
		}
		if (type == 1) {
			assert_int_equal(get_le32(madt + off + 4), X86_IOAPIC_BASE);
			ioapics++;
		}
		off += len;
	}
	assert_int_equal(lapics, 4);
	assert_int_equal(ioapics, 1);

	/* MCFG */
	assert_int_equal(get_le64(mcfg + 44), X86_ECAM_BASE);
	assert_int_equal(mcfg[55], 255);

	/* too small an area */
	assert_int_equal(acpi_build(&m, X86_ACPI_BASE, 256, &cfg4, &rsdp_gpa), -ENOSPC);
	guest_mem_free(&m);
}

static void test_mptable(void **state)
{
	struct guest_mem m;

	guest_mem_init(&m);
	assert_int_equal(guest_mem_add(&m, 0, 16 * MiB), 0);
	for (unsigned int cpus = 1; cpus <= 254; cpus += 253) {
		assert_int_equal(mptable_build(&m, X86_MPTABLE_BASE, X86_MPTABLE_SIZE, cpus), 0);
		uint8_t *mpf = guest_mem_ptr(&m, X86_MPTABLE_BASE, 16);
		assert_memory_equal(mpf, "_MP_", 4);
		assert_int_equal(byte_sum(mpf, 16), 0);
		uint8_t *mpc = guest_mem_ptr(&m, get_le32(mpf + 4), 44);
		assert_memory_equal(mpc, "PCMP", 4);
		uint16_t len = get_le16(mpc + 4);
		mpc = guest_mem_ptr(&m, get_le32(mpf + 4), len);
		assert_int_equal(byte_sum(mpc, len), 0);
		/* count processor entries */
		unsigned int procs = 0, off = 44;
		for (unsigned int i = 0; i < get_le16(mpc + 34); i++) {
			if (mpc[off] == 0) {
				procs++;
				off += 20;
			} else {
				off += 8;
			}
		}
		assert_int_equal(off, len);
		assert_int_equal(procs, cpus);
	}
	assert_int_equal(mptable_build(&m, X86_MPTABLE_BASE, 64, 4), -ENOSPC);
	guest_mem_free(&m);
}

static void test_aml_encoding(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_pkglength(&a, 10); /* 1 byte: 11 */
	assert_int_equal(a.len, 1);
	assert_int_equal(a.buf[0], 11);
	aml_free(&a);
	aml_pkglength(&a, 100); /* 2 bytes: 102 = 0x66 */
	assert_int_equal(a.len, 2);
	assert_int_equal(a.buf[0], 0x40 | 0x6);
	assert_int_equal(a.buf[1], 0x6);
	aml_free(&a);
	aml_pkglength(&a, 5000); /* 3 bytes: 5003 = 0x138b */
	assert_int_equal(a.len, 3);
	assert_int_equal(a.buf[0], 0x80 | 0xb);
	assert_int_equal(a.buf[1], 0x38);
	assert_int_equal(a.buf[2], 0x01);
	aml_free(&a);
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 0x12);
	aml_integer(&a, 0x1234);
	aml_integer(&a, 0x12345678);
	aml_integer(&a, 0x123456789aULL);
	static const uint8_t want[] = { 0x00, 0x01, 0x0a, 0x12, 0x0b, 0x34, 0x12, 0x0c, 0x78, 0x56, 0x34, 0x12,
					0x0e, 0x9a, 0x78, 0x56, 0x34, 0x12, 0, 0, 0 };
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(a.buf, want, sizeof(want));
	aml_free(&a);
	/* EISAID("PNP0A03") is 0x030AD041 as stored */
	assert_int_equal(aml_eisaid("PNP0A03"), 0x030ad041);
	/* dotted and rooted names */
	aml_name_string(&a, "\\_SB_.PCI0");
	static const uint8_t n[] = { '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0' };
	assert_memory_equal(a.buf, n, sizeof(n));
	aml_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e820_sizes),
		cmocka_unit_test(test_acpi_tables),
		cmocka_unit_test(test_mptable),
		cmocka_unit_test(test_aml_encoding),
	};
	return cmocka_run_group_tests_name("x86_tables", tests, NULL, NULL);
}
