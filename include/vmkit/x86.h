/* SPDX-License-Identifier: MIT */
/*
 * x86: the PC memory layout vmkit builds, and the firmware tables it writes
 * (e820, ACPI, MP table) for direct kernel boot.
 *
 * Guest physical layout:
 *   0x00000000  real-mode IVT / BDA (BDA word 0x40e = EBDA segment)
 *   0x00000500  boot GDT                        (X86_BOOT_GDT)
 *   0x00001000  boot info area: multiboot info, PVH start_info, memory maps,
 *               module lists, loader name      (X86_BOOT_INFO .. +X86_BOOT_INFO_SIZE)
 *   0x00007000  Linux zero page (boot_params)   (X86_ZERO_PAGE)
 *   0x00009000  boot page tables: PML4, PDPT, 4 PDs (identity map of 4 GiB, 2 MiB pages)
 *   0x00020000  kernel command line (X86_CMDLINE, up to X86_CMDLINE_MAX bytes incl. NUL)
 *   0x00030000  AP real-mode trampoline area left free for the guest kernel
 *   0x0009fc00  EBDA (1 KiB, reserved)
 *   0x000a0000  legacy VGA window, not RAM: MMIO (X86_VGA_WINDOW .. X86_VGA_WINDOW_END)
 *   0x000c0000  option ROM area, RAM
 *   0x000e0000  ACPI tables (X86_ACPI_BASE, 64 KiB, reserved)
 *   0x000f0000  MP table (X86_MPTABLE_BASE, 64 KiB, reserved)
 *   0x00100000  kernel load address (X86_KERNEL_LOAD), RAM up to X86_LOWMEM_MAX
 *   0xb0000000  PCIe ECAM, 256 buses (X86_ECAM_BASE, reserved in e820)
 *   0xc0000000  32-bit PCI MMIO window, up to X86_PCI_MMIO32_END
 *   0xfeb00000  virtio-mmio windows (X86_VIRTIO_MMIO_BASE, 4 KiB apart)
 *   0xfec00000  IOAPIC;  0xfee00000 LAPIC
 *   0x100000000 RAM above 4 GiB (when memory > X86_LOWMEM_MAX), then the
 *               64-bit PCI window (X86_PCI_MMIO64_SIZE) above the end of RAM.
 */
#ifndef VMKIT_X86_H
#define VMKIT_X86_H

#include <stdint.h>

#include "vmkit/mem.h"

#define X86_BOOT_GDT 0x500ULL
#define X86_BOOT_INFO 0x1000ULL
#define X86_BOOT_INFO_SIZE 0x6000ULL
#define X86_ZERO_PAGE 0x7000ULL
#define X86_PML4 0x9000ULL
#define X86_PDPT 0xa000ULL
#define X86_PD 0xb000ULL /* 4 pages */
#define X86_CMDLINE 0x20000ULL
#define X86_CMDLINE_MAX 0x10000ULL
#define X86_EBDA 0x9fc00ULL
#define X86_EBDA_END 0xa0000ULL
#define X86_VGA_WINDOW 0xa0000ULL /* legacy VGA memory, MMIO (not RAM) */
#define X86_VGA_WINDOW_END 0xc0000ULL
#define X86_ACPI_BASE 0xe0000ULL
#define X86_ACPI_SIZE 0x10000ULL
#define X86_MPTABLE_BASE 0xf0000ULL
#define X86_MPTABLE_SIZE 0x10000ULL
#define X86_BIOS_END 0x100000ULL
#define X86_KERNEL_LOAD 0x100000ULL
#define X86_LOWMEM_MAX 0xb0000000ULL
#define X86_ECAM_BASE 0xb0000000ULL
#define X86_ECAM_SIZE 0x10000000ULL
#define X86_PCI_MMIO32_BASE 0xc0000000ULL
#define X86_PCI_MMIO32_END 0xfeb00000ULL
#define X86_IOAPIC_BASE 0xfec00000ULL
#define X86_LAPIC_BASE 0xfee00000ULL
#define X86_HIGHMEM_BASE 0x100000000ULL
#define X86_PCI_MMIO64_SIZE 0x4000000000ULL /* 256 GiB, 1 GiB aligned above RAM */
/*
 * PCI INTx: slot S pin P (0 = INTA) reaches IOAPIC GSI 20 + (S + P) % 4
 * (the swizzle of the DSDT _PRT; GSIs 16-19 are the virtio-mmio lines).
 */
#define X86_PCI_INTX_GSI_BASE 20
#define X86_PCI_INTX_GSI(slot, pin) (X86_PCI_INTX_GSI_BASE + ((slot) + (pin)) % 4)
#define X86_PCI_IO_BASE 0xc000U
#define X86_PCI_IO_END 0x10000U

/* Legacy I/O ports and IRQs. */
#define X86_COM1_PORT 0x3f8
#define X86_COM1_IRQ 4
#define X86_I8042_DATA 0x60
#define X86_I8042_CMD 0x64
#define X86_KBD_IRQ 1
#define X86_MOUSE_IRQ 12
#define X86_RTC_PORT 0x70
#define X86_RTC_IRQ 8
#define X86_DEBUG_EXIT_PORT 0xf4
#define X86_RESET_CONTROL_PORT 0xcf9 /* write 0x06 (or 0x0e) resets */

/*
 * ACPI fixed hardware (ACPI 6.4 s4.8): PM1a event block (4 bytes: STS, EN),
 * PM1a control block (2 bytes), PM timer (4 bytes, 24-bit, 3.579545 MHz).
 * Writing SLP_TYP=X86_ACPI_SLP_TYP_S5 with SLP_EN to PM1a_CNT powers off.
 * SCI_EN reads as 1 (no SMI_CMD: ACPI mode is always on).
 */
#define X86_ACPI_PM_BASE 0x600
#define X86_ACPI_PM1A_EVT (X86_ACPI_PM_BASE + 0x0)
#define X86_ACPI_PM1A_CNT (X86_ACPI_PM_BASE + 0x4)
#define X86_ACPI_PM_TMR (X86_ACPI_PM_BASE + 0x8)
#define X86_ACPI_PM_LEN 0xc
#define X86_ACPI_SLP_TYP_S5 5
#define X86_ACPI_SCI_IRQ 9

/* e820 (ACPI 6.4 s15) */
#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3
#define E820_NVS 4
#define E820_MAX_ENTRIES 16

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

/* RAM below 4 GiB for ram_size bytes of guest memory. */
uint64_t x86_lowmem_size(uint64_t ram_size);
/* RAM above 4 GiB. */
uint64_t x86_highmem_size(uint64_t ram_size);
/* First address of the 64-bit PCI window (1 GiB aligned above RAM). */
uint64_t x86_pci_mmio64_base(uint64_t ram_size);

/* Add the RAM regions for ram_size bytes (low, then high). 0 or -errno. */
int x86_mem_layout(struct guest_mem *m, uint64_t ram_size);

/*
 * The e820 map for ram_size bytes: sorted, non-overlapping. Returns the
 * number of entries or -ENOSPC if max is too small.
 */
int x86_e820_build(uint64_t ram_size, struct e820_entry *out, unsigned int max);

/* virtio-mmio windows, described in the DSDT as LNRO0005 devices. */
#define X86_VIRTIO_MMIO_BASE 0xfeb00000ULL
#define X86_VIRTIO_MMIO_STRIDE 0x1000ULL
#define X86_VIRTIO_MMIO_MAX 4

struct acpi_virtio_mmio {
	uint64_t base;
	uint32_t size;
	uint32_t gsi;
};

struct acpi_config {
	struct acpi_virtio_mmio virtio_mmio[X86_VIRTIO_MMIO_MAX];
	unsigned int nr_virtio_mmio;
	unsigned int nr_cpus;
	uint64_t ram_size;
	uint64_t ecam_base;
	unsigned int ecam_buses; /* 1..256 */
	uint64_t mmio32_base, mmio32_end; /* [base, end) */
	uint64_t mmio64_base, mmio64_end;
	uint32_t pci_io_base, pci_io_end;
};

/*
 * Write RSDP, XSDT, FADT (+FACS), MADT, DSDT, MCFG into guest memory at
 * [base, base+size). The RSDP is first, at base (16-byte aligned).
 * Returns 0 (*rsdp_gpa set) or -ENOSPC/-EFAULT.
 */
int acpi_build(struct guest_mem *m, uint64_t base, uint64_t size, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa);

struct fw_cfg;
/*
 * Firmware boot: build the same tables as acpi_build() and add them to fw_cfg
 * as etc/acpi/rsdp, etc/acpi/tables and the etc/table-loader commands that
 * let the firmware (SeaBIOS) place them and patch their pointers and
 * checksums. 0 or -errno.
 */
int acpi_build_fw_cfg(struct fw_cfg *fc, const struct acpi_config *cfg);

/*
 * Write an MP table (MP spec 1.4: floating pointer + configuration table with
 * processors, bus ISA, IOAPIC, ISA interrupt assignments) at [base, base+size).
 * 0 or -ENOSPC/-EFAULT.
 */
int mptable_build(struct guest_mem *m, uint64_t base, uint64_t size, unsigned int nr_cpus);

#endif
