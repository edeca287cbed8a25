// SPDX-License-Identifier: MIT
/* The PC guest-physical memory layout and its e820 map (see vmkit/x86.h). */
#include <errno.h>

#include "vmkit/util.h"
#include "vmkit/x86.h"

uint64_t x86_lowmem_size(uint64_t ram_size)
{
	return MIN(ram_size, X86_LOWMEM_MAX);
}

uint64_t x86_highmem_size(uint64_t ram_size)
{
	return ram_size - x86_lowmem_size(ram_size);
}

uint64_t x86_pci_mmio64_base(uint64_t ram_size)
{
	return ALIGN_UP(X86_HIGHMEM_BASE + x86_highmem_size(ram_size), GiB);
}

int x86_mem_layout(struct guest_mem *m, uint64_t ram_size)
{
	/*
	 * The legacy VGA window 0xa0000-0xbffff is left unbacked so that its
	 * accesses exit to the MMIO bus (a VGA device's text/planar memory);
	 * 0xc0000-0xfffff (option ROMs, BIOS area) is RAM.
	 */
	int r = guest_mem_add(m, 0, X86_VGA_WINDOW);

	if (r == 0)
		r = guest_mem_add(m, X86_VGA_WINDOW_END, x86_lowmem_size(ram_size) - X86_VGA_WINDOW_END);

	if (r == 0 && x86_highmem_size(ram_size))
		r = guest_mem_add(m, X86_HIGHMEM_BASE, x86_highmem_size(ram_size));
	return r;
}

static int add(struct e820_entry *out, unsigned int max, unsigned int *n, uint64_t addr, uint64_t size,
	       uint32_t type)
{
	if (size == 0)
		return 0;
	if (*n >= max)
		return -ENOSPC;
	out[*n] = (struct e820_entry){ .addr = addr, .size = size, .type = type };
	(*n)++;
	return 0;
}

int x86_e820_build(uint64_t ram_size, struct e820_entry *out, unsigned int max)
{
	uint64_t low = x86_lowmem_size(ram_size), high = x86_highmem_size(ram_size);
	unsigned int n = 0;
	int r;

	if (low < X86_BIOS_END)
		return -EINVAL; /* vmkit guests have at least 16 MiB */
	if ((r = add(out, max, &n, 0, X86_EBDA, E820_RAM)) ||
	    (r = add(out, max, &n, X86_EBDA, X86_EBDA_END - X86_EBDA, E820_RESERVED)) ||
	    /* ACPI and MP tables live here, in the legacy BIOS area */
	    (r = add(out, max, &n, X86_ACPI_BASE, X86_BIOS_END - X86_ACPI_BASE, E820_RESERVED)) ||
	    (r = add(out, max, &n, X86_BIOS_END, low - X86_BIOS_END, E820_RAM)) ||
	    /* ECAM must be reserved or Linux refuses MMCONFIG (PCI Firmware 3.2 s4.1.2) */
	    (r = add(out, max, &n, X86_ECAM_BASE, X86_ECAM_SIZE, E820_RESERVED)) ||
	    (r = add(out, max, &n, X86_IOAPIC_BASE, X86_HIGHMEM_BASE - X86_IOAPIC_BASE, E820_RESERVED)) ||
	    (r = add(out, max, &n, X86_HIGHMEM_BASE, high, E820_RAM)))
		return r;
	return (int)n;
}
