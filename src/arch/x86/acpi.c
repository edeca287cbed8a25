// SPDX-License-Identifier: MIT
/*
 * ACPI tables for direct kernel boot (ACPI 6.4): RSDP (s5.2.5), RSDT/XSDT
 * (s5.2.7-8), FADT (s5.2.9) with FACS (s5.2.10), MADT (s5.2.12), MCFG (PCI
 * Firmware 3.2 s4.1.2) and a DSDT (s5.2.11.1) describing the PCI host bridge
 * and the legacy devices. All tables are packed one after the other into
 * [base, base + size) with the RSDP first.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aml.h"
#include "vmkit/util.h"
#include "vmkit/x86.h"

#define HDR_LEN 36
#define OEM_ID "VMKIT "
#define OEM_TABLE_ID "VMKITVM "

struct writer {
	struct guest_mem *m;
	uint64_t base, size, used;
	int err;
};

/* Reserve len bytes (aligned), zeroed; returns host pointer and gpa. */
static uint8_t *alloc(struct writer *w, uint64_t len, uint64_t align, uint64_t *gpa)
{
	uint64_t off = ALIGN_UP(w->used, align);
	uint8_t *p;

	if (w->err)
		return NULL;
	if (off > w->size || len > w->size - off) {
		w->err = -ENOSPC;
		return NULL;
	}
	p = guest_mem_ptr(w->m, w->base + off, len);
	if (!p) {
		w->err = -EFAULT;
		return NULL;
	}
	memset(p, 0, len);
	*gpa = w->base + off;
	w->used = off + len;
	return p;
}

static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put_le32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE_ID, 8);
	put_le32(t + 24, 1);
	memcpy(t + 28, "VMKT", 4);
	put_le32(t + 32, 1);
}

static void checksum(uint8_t *t, uint32_t len, unsigned int at)
{
	t[at] = 0;
	t[at] = (uint8_t)(0 - byte_sum(t, len));
}

/* Generic Address Structure (s5.2.3.2) in system I/O space. */
static void gas_io(uint8_t *p, uint8_t bits, uint8_t access, uint64_t port)
{
	p[0] = 1; /* SystemIO */
	p[1] = bits;
	p[2] = 0;
	p[3] = access;
	put_le64(p + 4, port);
}

/* Name(_CRS, ResourceTemplate() {...}): terminates res with an end tag. */
static void crs(struct aml *dev, struct aml *res)
{
	struct aml buf;

	aml_init(&buf);
	aml_res_end(res);
	aml_buffer(&buf, res);
	aml_name(dev, "_CRS", &buf);
	if (buf.oom)
		dev->oom = true;
	aml_free(&buf);
}

static void isa_device(struct aml *scope, const char *name, const char *hid, uint16_t io1, uint8_t len1,
		       uint16_t io2, uint8_t len2, int irq)
{
	struct aml dev, res;

	aml_init(&dev);
	aml_init(&res);
	aml_name_eisaid(&dev, "_HID", hid);
	aml_name_integer(&dev, "_STA", 0x0f);
	if (len1)
		aml_res_io(&res, io1, len1);
	if (len2)
		aml_res_io(&res, io2, len2);
	if (irq >= 0)
		aml_res_irq(&res, (uint8_t)irq);
	crs(&dev, &res);
	aml_device(scope, name, &dev);
	aml_free(&dev);
	aml_free(&res);
}

static void build_dsdt_body(struct aml *a, const struct acpi_config *cfg)
{
	struct aml sb, pci, res, pkg, elems, dev;

	aml_init(&sb);
	aml_init(&pci);
	aml_init(&res);

	/* \_SB.PCI0: the host bridge and the windows it forwards (PCI Firmware 3.2 s4.1) */
	aml_name_eisaid(&pci, "_HID", "PNP0A08");
	aml_name_eisaid(&pci, "_CID", "PNP0A03");
	aml_name_integer(&pci, "_ADR", 0);
	aml_name_integer(&pci, "_UID", 0);
	aml_name_integer(&pci, "_SEG", 0);
	aml_name_integer(&pci, "_BBN", 0);
	aml_res_word_bus(&res, 0, (uint16_t)(cfg->ecam_buses - 1));
	aml_res_io(&res, 0xcf8, 8);
	aml_res_word_io(&res, 0x0000, 0x0cf7);
	aml_res_word_io(&res, 0x0d00, 0xffff);
	aml_res_dword_mem(&res, 0x000a0000, 0x000bffff);
	if (cfg->mmio32_end > cfg->mmio32_base)
		aml_res_dword_mem(&res, (uint32_t)cfg->mmio32_base, (uint32_t)(cfg->mmio32_end - 1));
	if (cfg->mmio64_end > cfg->mmio64_base)
		aml_res_qword_mem(&res, cfg->mmio64_base, cfg->mmio64_end - 1);
	crs(&pci, &res);
	aml_free(&res);

	/* Legacy ISA devices behind the bridge */
	isa_device(&pci, "COM1", "PNP0501", X86_COM1_PORT, 8, 0, 0, X86_COM1_IRQ);
	isa_device(&pci, "RTC_", "PNP0B00", X86_RTC_PORT, 2, 0, 0, X86_RTC_IRQ);
	isa_device(&pci, "KBD_", "PNP0303", X86_I8042_DATA, 1, X86_I8042_CMD, 1, X86_KBD_IRQ);
	isa_device(&pci, "MOU_", "PNP0F13", 0, 0, 0, 0, X86_MOUSE_IRQ);

	/* Motherboard resources: ECAM, the ACPI PM block, reset and debug-exit ports */
	aml_init(&dev);
	aml_init(&res);
	aml_name_eisaid(&dev, "_HID", "PNP0C02");
	aml_name_integer(&dev, "_UID", 1);
	aml_res_mem32_fixed(&res, (uint32_t)cfg->ecam_base, cfg->ecam_buses << 20);
	aml_res_io(&res, X86_ACPI_PM_BASE, X86_ACPI_PM_LEN);
	aml_res_io(&res, X86_RESET_CONTROL_PORT, 1);
	aml_res_io(&res, X86_DEBUG_EXIT_PORT, 4);
	crs(&dev, &res);
	aml_device(&pci, "MRES", &dev);
	aml_free(&dev);
	aml_free(&res);

	aml_device(&sb, "PCI0", &pci);
	aml_free(&pci);

	/* virtio-mmio transports (Linux binds LNRO0005, virtio 1.2 s4.2) */
	for (unsigned int i = 0; i < cfg->nr_virtio_mmio && i < X86_VIRTIO_MMIO_MAX; i++) {
		const struct acpi_virtio_mmio *v = &cfg->virtio_mmio[i];
		char name[5];
		aml_init(&dev);
		aml_init(&res);
		snprintf(name, sizeof(name), "VR%02u", i);
		aml_name_string_obj(&dev, "_HID", "LNRO0005");
		aml_name_integer(&dev, "_UID", i);
		aml_name_integer(&dev, "_STA", 0x0f);
		aml_res_mem32_fixed(&res, (uint32_t)v->base, v->size);
		aml_res_interrupt_level(&res, v->gsi);
		crs(&dev, &res);
		aml_device(&sb, name, &dev);
		aml_free(&dev);
		aml_free(&res);
	}

	/* Processor devices (s8.4), matched to MADT entries by _UID */
	for (unsigned int i = 0; i < cfg->nr_cpus; i++) {
		char name[5];
		aml_init(&dev);
		snprintf(name, sizeof(name), "C%03X", i & 0xfff);
		aml_name_string_obj(&dev, "_HID", "ACPI0007");
		aml_name_integer(&dev, "_UID", i);
		aml_device(&sb, name, &dev);
		aml_free(&dev);
	}
	aml_scope(a, "\\_SB_", &sb);
	aml_free(&sb);

	/* \_S5: SLP_TYP values for soft-off (s7.4.2) */
	aml_init(&elems);
	aml_init(&pkg);
	aml_integer(&elems, X86_ACPI_SLP_TYP_S5);
	aml_integer(&elems, X86_ACPI_SLP_TYP_S5);
	aml_integer(&elems, 0);
	aml_integer(&elems, 0);
	aml_package(&pkg, 4, &elems);
	aml_name(a, "\\_S5_", &pkg);
	aml_free(&elems);
	aml_free(&pkg);
}

int acpi_build(struct guest_mem *m, uint64_t base, uint64_t size, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa)
{
	struct writer w = { .m = m, .base = base, .size = size };
	uint64_t rsdp_at, rsdt_at, xsdt_at, fadt_at, facs_at, dsdt_at, madt_at, mcfg_at;
	uint8_t *rsdp, *rsdt, *xsdt, *fadt, *facs, *dsdt, *madt, *mcfg;
	uint32_t madt_len;
	struct aml body;
	int r;

	if (!cfg->nr_cpus || cfg->nr_cpus > 255 || !cfg->ecam_buses || cfg->ecam_buses > 256)
		return -EINVAL;
	rsdp = alloc(&w, 36, 16, &rsdp_at);

	/* DSDT */
	aml_init(&body);
	build_dsdt_body(&body, cfg);
	if (body.oom) {
		aml_free(&body);
		return -ENOMEM;
	}
	dsdt = alloc(&w, HDR_LEN + body.len, 16, &dsdt_at);
	if (dsdt) {
		header(dsdt, "DSDT", (uint32_t)(HDR_LEN + body.len), 2);
		memcpy(dsdt + HDR_LEN, body.buf, body.len);
		checksum(dsdt, (uint32_t)(HDR_LEN + body.len), 9);
	}
	aml_free(&body);

	/* FACS: 64-byte aligned */
	facs = alloc(&w, 64, 64, &facs_at);
	if (facs) {
		memcpy(facs, "FACS", 4);
		put_le32(facs + 4, 64);
		facs[32] = 2; /* version */
	}

	/* FADT, revision 6.4 (276 bytes) */
	fadt = alloc(&w, 276, 16, &fadt_at);
	if (fadt) {
		header(fadt, "FACP", 276, 6);
		put_le32(fadt + 36, (uint32_t)facs_at);
		put_le32(fadt + 40, (uint32_t)dsdt_at);
		put_le16(fadt + 46, X86_ACPI_SCI_IRQ);
		put_le32(fadt + 48, 0); /* SMI_CMD: none, ACPI mode is always on */
		put_le32(fadt + 56, X86_ACPI_PM1A_EVT);
		put_le32(fadt + 64, X86_ACPI_PM1A_CNT);
		put_le32(fadt + 76, X86_ACPI_PM_TMR);
		fadt[88] = 4; /* PM1_EVT_LEN */
		fadt[89] = 2; /* PM1_CNT_LEN */
		fadt[91] = 4; /* PM_TMR_LEN */
		put_le16(fadt + 96, 101);  /* P_LVL2_LAT > 100: no C2 */
		put_le16(fadt + 98, 1001); /* P_LVL3_LAT > 1000: no C3 */
		fadt[108] = 0x32;          /* CENTURY register in CMOS */
		put_le16(fadt + 109, 0x0007); /* IAPC_BOOT_ARCH: legacy devices, 8042, no VGA */
		/* Flags: WBINVD, PROC_C1, PWR_BUTTON and SLP_BUTTON absent as fixed features, RESET_REG_SUP */
		put_le32(fadt + 112, (1u << 0) | (1u << 2) | (1u << 4) | (1u << 5) | (1u << 10));
		gas_io(fadt + 116, 8, 1, X86_RESET_CONTROL_PORT);
		fadt[128] = 0x06; /* RESET_VALUE: SYS_RST | RST_CPU */
		fadt[131] = 4;    /* FADT minor version */
		put_le64(fadt + 132, facs_at);
		put_le64(fadt + 140, dsdt_at);
		gas_io(fadt + 148, 32, 3, X86_ACPI_PM1A_EVT);
		gas_io(fadt + 172, 16, 2, X86_ACPI_PM1A_CNT);
		gas_io(fadt + 208, 32, 3, X86_ACPI_PM_TMR);
		memcpy(fadt + 268, "VMKITVMK", 8); /* hypervisor vendor identity */
		checksum(fadt, 276, 9);
	}

	/* MADT */
	madt_len = HDR_LEN + 8 + 8 * cfg->nr_cpus + 12 + 10 + 6;
	madt = alloc(&w, madt_len, 16, &madt_at);
	if (madt) {
		uint8_t *p;
		header(madt, "APIC", madt_len, 5);
		put_le32(madt + 36, (uint32_t)X86_LAPIC_BASE);
		put_le32(madt + 40, 1); /* PCAT_COMPAT: dual 8259s present */
		p = madt + 44;
		for (unsigned int i = 0; i < cfg->nr_cpus; i++, p += 8) {
			p[0] = 0; /* Processor Local APIC */
			p[1] = 8;
			p[2] = (uint8_t)i; /* ACPI processor UID */
			p[3] = (uint8_t)i; /* APIC ID */
			put_le32(p + 4, 1); /* enabled */
		}
		p[0] = 1; /* I/O APIC */
		p[1] = 12;
		p[2] = 0; /* id */
		put_le32(p + 4, (uint32_t)X86_IOAPIC_BASE);
		put_le32(p + 8, 0); /* GSI base */
		p += 12;
		p[0] = 2; /* Interrupt Source Override: SCI, level, active high */
		p[1] = 10;
		p[2] = 0;
		p[3] = X86_ACPI_SCI_IRQ;
		put_le32(p + 4, X86_ACPI_SCI_IRQ);
		put_le16(p + 8, 0x000d);
		p += 10;
		p[0] = 4; /* Local APIC NMI: all processors, LINT1 */
		p[1] = 6;
		p[2] = 0xff;
		put_le16(p + 3, 0);
		p[5] = 1;
		checksum(madt, madt_len, 9);
	}

	/* MCFG */
	mcfg = alloc(&w, HDR_LEN + 8 + 16, 16, &mcfg_at);
	if (mcfg) {
		header(mcfg, "MCFG", HDR_LEN + 8 + 16, 1);
		put_le64(mcfg + 44, cfg->ecam_base);
		put_le16(mcfg + 52, 0);
		mcfg[54] = 0;
		mcfg[55] = (uint8_t)(cfg->ecam_buses - 1);
		checksum(mcfg, HDR_LEN + 8 + 16, 9);
	}

	/* RSDT (32-bit pointers, for old OSes) and XSDT */
	const uint64_t tables[] = { fadt_at, madt_at, mcfg_at };
	rsdt = alloc(&w, HDR_LEN + 4 * ARRAY_SIZE(tables), 16, &rsdt_at);
	xsdt = alloc(&w, HDR_LEN + 8 * ARRAY_SIZE(tables), 16, &xsdt_at);
	if (w.err)
		return w.err;
	header(rsdt, "RSDT", HDR_LEN + 4 * ARRAY_SIZE(tables), 1);
	header(xsdt, "XSDT", HDR_LEN + 8 * ARRAY_SIZE(tables), 1);
	for (unsigned int i = 0; i < ARRAY_SIZE(tables); i++) {
		put_le32(rsdt + HDR_LEN + 4 * i, (uint32_t)tables[i]);
		put_le64(xsdt + HDR_LEN + 8 * i, tables[i]);
	}
	checksum(rsdt, HDR_LEN + 4 * ARRAY_SIZE(tables), 9);
	checksum(xsdt, HDR_LEN + 8 * ARRAY_SIZE(tables), 9);

	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, OEM_ID, 6);
	rsdp[15] = 2;
	put_le32(rsdp + 16, (uint32_t)rsdt_at);
	put_le32(rsdp + 20, 36);
	put_le64(rsdp + 24, xsdt_at);
	checksum(rsdp, 20, 8);  /* ACPI 1.0 checksum over the first 20 bytes */
	checksum(rsdp, 36, 32); /* extended checksum */
	r = 0;
	*rsdp_gpa = rsdp_at;
	return r;
}
