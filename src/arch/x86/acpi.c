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
#define STA_PRESENT 0x0f /* present, enabled, shown in UI, functioning (s6.3.7) */

/* FADT Fixed Feature Flags (ACPI 6.4 s5.2.9) */
#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_PWR_BUTTON (1u << 4) /* set: no fixed-feature power button */
#define FADT_SLP_BUTTON (1u << 5) /* set: no fixed-feature sleep button */
#define FADT_RESET_REG_SUP (1u << 10)
/* IA-PC boot architecture flags (ACPI 6.4 s5.2.9.3) */
#define IAPC_LEGACY_DEVICES (1u << 0)
#define IAPC_8042 (1u << 1)
#define IAPC_VGA_NOT_PRESENT (1u << 2)

/* Generic Address Structure access sizes (s5.2.3.2) */
#define GAS_BYTE 1
#define GAS_WORD 2
#define GAS_DWORD 3

#define FADT_LEN 276 /* revision 6 */
#define FACS_LEN 64

static uint64_t ecam_size(const struct acpi_config *cfg)
{
	return (uint64_t)cfg->ecam_buses << 20; /* 4 KiB x 8 functions x 32 devices per bus */
}

struct writer {
	struct guest_mem *m;
	uint64_t base, size, used;
	int err;
};

/*
 * Reserve len bytes at the next guest address aligned to align, zeroed;
 * returns the host pointer and sets *gpa. Errors are sticky in w->err, so
 * the caller checks once after the last table.
 */
static uint8_t *alloc(struct writer *w, uint64_t len, uint64_t align, uint64_t *gpa)
{
	uint64_t off = ALIGN_UP(w->base + w->used, align) - w->base;
	uint8_t *p;

	*gpa = 0;
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
	if (buf.error)
		dev->error = true;
	aml_free(&buf);
}

/* An ISA device behind the host bridge: fixed I/O ranges and an ISA IRQ (s6.1.12 _UID, s6.3.7 _STA). */
static void isa_device(struct aml *scope, const char *name, const char *hid, unsigned int uid, uint16_t io1,
		       uint8_t len1, uint16_t io2, uint8_t len2, int irq)
{
	struct aml dev, res;

	aml_init(&dev);
	aml_init(&res);
	aml_name_eisaid(&dev, "_HID", hid);
	aml_name_integer(&dev, "_UID", uid);
	aml_name_integer(&dev, "_STA", STA_PRESENT);
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

	/*
	 * _PRT (ACPI 6.4 s6.2.13): static routing, no link devices. Every
	 * slot's INTA-INTD reach IOAPIC GSIs 20-23 with the usual swizzle;
	 * Source 0 means SourceIndex is the GSI itself (level, shared).
	 */
	aml_init(&elems);
	for (unsigned int slot = 0; slot < 32; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++) {
			struct aml ent;
			aml_init(&ent);
			aml_integer(&ent, ((uint64_t)slot << 16) | 0xffff); /* _ADR: any function */
			aml_integer(&ent, pin);
			aml_integer(&ent, 0);
			aml_integer(&ent, X86_PCI_INTX_GSI(slot, pin));
			aml_package(&elems, 4, &ent);
			aml_free(&ent);
		}
	}
	aml_init(&pkg);
	aml_package(&pkg, 128, &elems);
	aml_name(&pci, "_PRT", &pkg);
	aml_free(&elems);
	aml_free(&pkg);

	/* Legacy ISA devices behind the bridge */
	isa_device(&pci, "COM1", "PNP0501", 1, X86_COM1_PORT, 8, 0, 0, X86_COM1_IRQ);
	isa_device(&pci, "RTC", "PNP0B00", 0, X86_RTC_PORT, 2, 0, 0, X86_RTC_IRQ);
	isa_device(&pci, "KBD", "PNP0303", 0, X86_I8042_DATA, 1, X86_I8042_CMD, 1, X86_KBD_IRQ);
	isa_device(&pci, "MOU", "PNP0F13", 0, 0, 0, 0, 0, X86_MOUSE_IRQ);

	/* Motherboard resources: ECAM, the ACPI PM block, reset and debug-exit ports */
	aml_init(&dev);
	aml_init(&res);
	aml_name_eisaid(&dev, "_HID", "PNP0C02");
	aml_name_integer(&dev, "_UID", 1);
	aml_res_mem32_fixed(&res, (uint32_t)cfg->ecam_base, (uint32_t)ecam_size(cfg));
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
	for (unsigned int i = 0; i < cfg->nr_virtio_mmio; i++) {
		const struct acpi_virtio_mmio *v = &cfg->virtio_mmio[i];
		char name[5];
		aml_init(&dev);
		aml_init(&res);
		snprintf(name, sizeof(name), "VR%02X", i & 0xff);
		aml_name_string_obj(&dev, "_HID", "LNRO0005");
		aml_name_integer(&dev, "_UID", i);
		aml_name_integer(&dev, "_STA", STA_PRESENT);
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

/* DSDT (s5.2.11.1): a definition block header around the AML. */
static uint64_t build_dsdt(struct writer *w, const struct acpi_config *cfg)
{
	struct aml body;
	uint64_t at;
	uint8_t *t;

	aml_init(&body);
	build_dsdt_body(&body, cfg);
	if (body.error || body.len > UINT32_MAX - HDR_LEN) {
		if (!w->err)
			w->err = -ENOMEM;
		aml_free(&body);
		return 0;
	}
	t = alloc(w, HDR_LEN + body.len, 16, &at);
	if (t) {
		/* revision 2: integers are 64 bits wide (s5.2.11.1) */
		header(t, "DSDT", (uint32_t)(HDR_LEN + body.len), 2);
		memcpy(t + HDR_LEN, body.buf, body.len);
		checksum(t, (uint32_t)(HDR_LEN + body.len), 9);
	}
	aml_free(&body);
	return at;
}

/* FACS (s5.2.10): 64-byte aligned, no checksum; nothing uses the global lock or waking vector. */
static uint64_t build_facs(struct writer *w)
{
	uint64_t at;
	uint8_t *t = alloc(w, FACS_LEN, 64, &at);

	if (t) {
		memcpy(t, "FACS", 4);
		put_le32(t + 4, FACS_LEN);
		t[32] = 2; /* version */
	}
	return at;
}

/*
 * FADT revision 6 (s5.2.9), not hardware-reduced: the
 * fixed hardware is vmkit's acpi_pm device. There is no SMI_CMD, so OSPM
 * finds SCI_EN already set and never tries to switch modes.
 */
static uint64_t build_fadt(struct writer *w, uint64_t facs_at, uint64_t dsdt_at)
{
	uint64_t at;
	uint8_t *t = alloc(w, FADT_LEN, 16, &at);

	if (!t)
		return 0;
	header(t, "FACP", FADT_LEN, 6);
	/*
	 * FIRMWARE_CTRL and X_FIRMWARE_CTRL: at most one may be non-zero; the
	 * FACS is below 4 GiB, so the 32-bit field. DSDT and X_DSDT may both
	 * be set (OSPM prefers X_DSDT); they hold the same address.
	 */
	put_le32(t + 36, (uint32_t)facs_at);
	put_le32(t + 40, (uint32_t)dsdt_at);
	put_le16(t + 46, X86_ACPI_SCI_IRQ);
	put_le32(t + 48, 0); /* SMI_CMD */
	put_le32(t + 56, X86_ACPI_PM1A_EVT);
	put_le32(t + 64, X86_ACPI_PM1A_CNT);
	put_le32(t + 76, X86_ACPI_PM_TMR);
	t[88] = 4; /* PM1_EVT_LEN: PM1_STS + PM1_EN */
	t[89] = 2; /* PM1_CNT_LEN */
	t[91] = 4; /* PM_TMR_LEN */
	put_le16(t + 96, 101);  /* P_LVL2_LAT > 100: C2 not supported */
	put_le16(t + 98, 1001); /* P_LVL3_LAT > 1000: C3 not supported */
	t[108] = 0x32;          /* CENTURY: the CMOS index rtc.c keeps the century in */
	put_le16(t + 109, IAPC_LEGACY_DEVICES | IAPC_8042 | IAPC_VGA_NOT_PRESENT);
	/*
	 * The power button is the fixed-feature one (PWR_BUTTON clear): acpi_pm
	 * raises PWRBTN_STS. There is no sleep button at all (SLP_BUTTON set).
	 */
	put_le32(t + 112, FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_RESET_REG_SUP);
	gas_io(t + 116, 8, GAS_BYTE, X86_RESET_CONTROL_PORT);
	t[128] = 0x06; /* RESET_VALUE: SYS_RST | RST_CPU */
	t[131] = 4;    /* FADT minor version: ACPI 6.4 */
	put_le64(t + 132, 0); /* X_FIRMWARE_CTRL */
	put_le64(t + 140, dsdt_at);
	/* PM1_STS and PM1_EN are 16-bit registers, PM1_CNT too; the timer is 32-bit */
	gas_io(t + 148, 32, GAS_WORD, X86_ACPI_PM1A_EVT);
	gas_io(t + 172, 16, GAS_WORD, X86_ACPI_PM1A_CNT);
	gas_io(t + 208, 32, GAS_DWORD, X86_ACPI_PM_TMR);
	memcpy(t + 268, "VMKITVMK", 8); /* hypervisor vendor identity */
	checksum(t, FADT_LEN, 9);
	return at;
}

/*
 * MADT (s5.2.12): one Processor Local APIC per vCPU (ACPI processor UID =
 * APIC ID = index, matching the ACPI0007 devices' _UID), the IOAPIC with
 * GSI base 0, and one interrupt source override: the SCI is level/high
 * (s5.2.12.5). IRQ0 gets no override: KVM's default routing sends the PIT
 * to GSI 0, IOAPIC pin 0. LINT1 of every processor is NMI.
 */
static uint64_t build_madt(struct writer *w, const struct acpi_config *cfg)
{
	uint32_t len = HDR_LEN + 8 + 8 * cfg->nr_cpus + 12 + 10 + 6;
	uint64_t at;
	uint8_t *t = alloc(w, len, 16, &at), *p;

	if (!t)
		return 0;
	header(t, "APIC", len, 5);
	put_le32(t + 36, (uint32_t)X86_LAPIC_BASE);
	put_le32(t + 40, 1); /* PCAT_COMPAT: dual 8259s present */
	p = t + 44;
	for (unsigned int i = 0; i < cfg->nr_cpus; i++, p += 8) {
		p[0] = 0; /* Processor Local APIC (s5.2.12.2) */
		p[1] = 8;
		p[2] = (uint8_t)i; /* ACPI processor UID */
		p[3] = (uint8_t)i; /* APIC ID */
		put_le32(p + 4, 1); /* Enabled */
	}
	p[0] = 1; /* I/O APIC (s5.2.12.3) */
	p[1] = 12;
	p[2] = 0; /* I/O APIC ID */
	put_le32(p + 4, (uint32_t)X86_IOAPIC_BASE);
	put_le32(p + 8, 0); /* GSI base */
	p += 12;
	p[0] = 2; /* Interrupt Source Override (s5.2.12.5) */
	p[1] = 10;
	p[2] = 0; /* bus: ISA */
	p[3] = X86_ACPI_SCI_IRQ;
	put_le32(p + 4, X86_ACPI_SCI_IRQ);
	put_le16(p + 8, 0x000d); /* MPS INTI flags: active high (01), level (11 << 2) */
	p += 10;
	p[0] = 4; /* Local APIC NMI (s5.2.12.7) */
	p[1] = 6;
	p[2] = 0xff; /* all processors */
	put_le16(p + 3, 0); /* conforms to the bus */
	p[5] = 1;    /* LINT1 */
	checksum(t, len, 9);
	return at;
}

/* MCFG (PCI Firmware 3.2 s4.1.2): one ECAM allocation for segment 0. */
static uint64_t build_mcfg(struct writer *w, const struct acpi_config *cfg)
{
	const uint32_t len = HDR_LEN + 8 + 16;
	uint64_t at;
	uint8_t *t = alloc(w, len, 16, &at);

	if (!t)
		return 0;
	header(t, "MCFG", len, 1);
	put_le64(t + 44, cfg->ecam_base);
	put_le16(t + 52, 0); /* segment */
	t[54] = 0;           /* start bus */
	t[55] = (uint8_t)(cfg->ecam_buses - 1);
	checksum(t, len, 9);
	return at;
}

static int check_config(uint64_t base, uint64_t size, const struct acpi_config *cfg)
{
	if ((base & 15) || base + size < base)
		return -EINVAL; /* the RSDP is on a 16-byte boundary (s5.2.5.1) */
	if (!cfg->nr_cpus || cfg->nr_cpus > 255 || !cfg->ecam_buses || cfg->ecam_buses > 256)
		return -EINVAL; /* xAPIC IDs are 8 bits and 0xff is the broadcast ID */
	/* Memory32Fixed and DWordMemory hold 32-bit addresses */
	if (cfg->ecam_base + ecam_size(cfg) > X86_HIGHMEM_BASE || (cfg->ecam_base & (MiB - 1)))
		return -EINVAL;
	if (cfg->mmio32_end > X86_HIGHMEM_BASE || cfg->mmio32_base > cfg->mmio32_end)
		return -EINVAL;
	if (cfg->mmio64_base > cfg->mmio64_end || cfg->nr_virtio_mmio > X86_VIRTIO_MMIO_MAX)
		return -EINVAL;
	for (unsigned int i = 0; i < cfg->nr_virtio_mmio; i++)
		if (cfg->virtio_mmio[i].base + cfg->virtio_mmio[i].size > X86_HIGHMEM_BASE)
			return -EINVAL;
	return 0;
}

int acpi_build(struct guest_mem *m, uint64_t base, uint64_t size, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa)
{
	struct writer w = { .m = m, .base = base, .size = size };
	uint64_t rsdp_at, rsdt_at, xsdt_at, tables[3];
	uint64_t facs_at, dsdt_at;
	uint8_t *rsdp, *rsdt, *xsdt;
	uint32_t rsdt_len, xsdt_len;
	int r = check_config(base, size, cfg);

	if (r)
		return r;
	rsdp = alloc(&w, 36, 16, &rsdp_at);
	dsdt_at = build_dsdt(&w, cfg);
	facs_at = build_facs(&w);
	tables[0] = build_fadt(&w, facs_at, dsdt_at);
	tables[1] = build_madt(&w, cfg);
	tables[2] = build_mcfg(&w, cfg);

	/* RSDT (s5.2.7, 32-bit pointers, for ACPI 1.0 OSes) and XSDT (s5.2.8) */
	rsdt_len = HDR_LEN + 4 * ARRAY_SIZE(tables);
	xsdt_len = HDR_LEN + 8 * ARRAY_SIZE(tables);
	rsdt = alloc(&w, rsdt_len, 16, &rsdt_at);
	xsdt = alloc(&w, xsdt_len, 16, &xsdt_at);
	if (w.err)
		return w.err;
	header(rsdt, "RSDT", rsdt_len, 1);
	header(xsdt, "XSDT", xsdt_len, 1);
	for (unsigned int i = 0; i < ARRAY_SIZE(tables); i++) {
		put_le32(rsdt + HDR_LEN + 4 * i, (uint32_t)tables[i]);
		put_le64(xsdt + HDR_LEN + 8 * i, tables[i]);
	}
	checksum(rsdt, rsdt_len, 9);
	checksum(xsdt, xsdt_len, 9);

	/* RSDP revision 2 (s5.2.5.3) */
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, OEM_ID, 6);
	rsdp[15] = 2;
	put_le32(rsdp + 16, (uint32_t)rsdt_at);
	put_le32(rsdp + 20, 36);
	put_le64(rsdp + 24, xsdt_at);
	checksum(rsdp, 20, 8);  /* ACPI 1.0 checksum over the first 20 bytes */
	checksum(rsdp, 36, 32); /* extended checksum over the whole structure */
	*rsdp_gpa = rsdp_at;
	return 0;
}
