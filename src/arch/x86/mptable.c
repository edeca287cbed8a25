// SPDX-License-Identifier: MIT
/*
 * MP table (Intel MultiProcessor Specification 1.4, chapter 4): the floating
 * pointer structure followed by the configuration table with one processor
 * entry per vCPU, the PCI and ISA buses, the IOAPIC, the ISA interrupt
 * assignments (identity, IRQ n -> IOAPIC pin n, as KVM routes them) and the
 * local interrupts (ExtINT on LINT0, NMI on LINT1).
 */
#include <errno.h>
#include <string.h>

#include "vmkit/util.h"
#include "vmkit/x86.h"

#define MPF_LEN 16
#define MPC_HDR_LEN 44
#define MP_PROC_LEN 20
#define MP_ENTRY_LEN 8
#define BUS_PCI 0
#define BUS_ISA 1
#define APIC_VERSION 0x14
#define IOAPIC_VERSION 0x11
#define CPU_SIGNATURE 0x00000600 /* family 6, model 0, stepping 0 */
#define CPU_FEATURES 0x00000201  /* FPU (bit 0), on-chip APIC (bit 9) */

static uint8_t *entry8(uint8_t **p, uint8_t type)
{
	uint8_t *e = *p;

	memset(e, 0, MP_ENTRY_LEN);
	e[0] = type;
	*p += MP_ENTRY_LEN;
	return e;
}

int mptable_build(struct guest_mem *m, uint64_t base, uint64_t size, unsigned int nr_cpus)
{
	/* entries after the processors: 2 buses, 1 IOAPIC, 15 ISA IRQs (0-15 but 2), 2 local */
	const unsigned int nr_entries8 = 2 + 1 + 15 + 2;
	uint64_t cfg_len = MPC_HDR_LEN + (uint64_t)nr_cpus * MP_PROC_LEN + nr_entries8 * MP_ENTRY_LEN;
	uint64_t total = MPF_LEN + cfg_len;
	/*
	 * APIC IDs are 8 bits: processors take 0..nr_cpus-1, the IOAPIC the next
	 * one: I/O and local APIC IDs share one space on the APIC bus.
	 */
	uint8_t ioapic_id = (uint8_t)nr_cpus;
	uint8_t *mpf, *mpc, *p;

	if (nr_cpus == 0 || nr_cpus > 255 || (base & 15))
		return -EINVAL; /* the floating pointer is 16-byte aligned (s4.1) */
	if (total > size)
		return -ENOSPC;
	mpf = guest_mem_ptr(m, base, total);
	if (!mpf)
		return -EFAULT;
	memset(mpf, 0, total);
	mpc = mpf + MPF_LEN;

	/* Floating pointer (s4.1) */
	memcpy(mpf, "_MP_", 4);
	put_le32(mpf + 4, (uint32_t)(base + MPF_LEN));
	mpf[8] = 1; /* length in 16-byte units */
	mpf[9] = 4; /* spec revision 1.4 */
	mpf[10] = (uint8_t)(0 - byte_sum(mpf, MPF_LEN));

	/* Configuration table header (s4.2) */
	memcpy(mpc, "PCMP", 4);
	put_le16(mpc + 4, (uint16_t)cfg_len);
	mpc[6] = 4;
	memcpy(mpc + 8, "VMKIT   ", 8);      /* OEM ID */
	memcpy(mpc + 16, "VMKIT VM    ", 12); /* product ID */
	put_le16(mpc + 34, (uint16_t)(nr_cpus + nr_entries8));
	put_le32(mpc + 36, (uint32_t)X86_LAPIC_BASE);

	/* Processor entries (s4.3.1) */
	p = mpc + MPC_HDR_LEN;
	for (unsigned int i = 0; i < nr_cpus; i++, p += MP_PROC_LEN) {
		p[0] = 0;
		p[1] = (uint8_t)i;
		p[2] = APIC_VERSION;
		p[3] = 0x01 | (i == 0 ? 0x02 : 0); /* enabled, bootstrap processor */
		/* CPUID.1 EAX/EDX as a family 6 CPU reports them: the OS uses CPUID itself */
		put_le32(p + 4, CPU_SIGNATURE);
		put_le32(p + 8, CPU_FEATURES);
	}
	/* Bus entries (s4.3.2): PCI bus 0 is bus id 0, ISA is bus id 1 */
	uint8_t *e = entry8(&p, 1);
	e[1] = BUS_PCI;
	memcpy(e + 2, "PCI   ", 6);
	e = entry8(&p, 1);
	e[1] = BUS_ISA;
	memcpy(e + 2, "ISA   ", 6);
	/* I/O APIC (s4.3.3) */
	e = entry8(&p, 2);
	e[1] = ioapic_id;
	e[2] = IOAPIC_VERSION;
	e[3] = 1; /* enabled */
	put_le32(e + 4, (uint32_t)X86_IOAPIC_BASE);
	/* I/O interrupt assignments (s4.3.4): ISA IRQ n -> pin n, edge/high as ISA is */
	for (unsigned int irq = 0; irq < 16; irq++) {
		if (irq == 2)
			continue; /* the cascade */
		e = entry8(&p, 3);
		e[1] = 0; /* INT */
		put_le16(e + 2, 0); /* conforms to the bus */
		e[4] = BUS_ISA;
		e[5] = (uint8_t)irq;
		e[6] = ioapic_id;
		e[7] = (uint8_t)irq;
	}
	/* Local interrupt assignments (s4.3.5): virtual wire through LINT0, NMI on LINT1 */
	e = entry8(&p, 4);
	e[1] = 3; /* ExtINT */
	e[4] = BUS_ISA;
	e[5] = 0;
	e[6] = 0xff; /* all local APICs */
	e[7] = 0;    /* LINT0 */
	e = entry8(&p, 4);
	e[1] = 1; /* NMI */
	e[4] = BUS_ISA;
	e[5] = 0;
	e[6] = 0xff;
	e[7] = 1; /* LINT1 */

	mpc[7] = (uint8_t)(0 - byte_sum(mpc, cfg_len));
	return 0;
}
