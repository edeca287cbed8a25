// SPDX-License-Identifier: MIT
/*
 * SMP bring-up: the BSP starts every AP with INIT-SIPI-SIPI (Intel SDM vol. 3A
 * s8.4.4) into a real-mode trampoline at 0x8000 that records its APIC ID
 * (CPUID.1:EBX[31:24]) in a bitmask and counts itself in.
 */
#include "lib.h"

#define TRAMP 0x8000
#define MASK_ADDR 0x8ff0
#define COUNT_ADDR 0x8ff8

extern const uint8_t tramp_start[], tramp_end[];
__asm__(".code16\n"
	"tramp_start:\n"
	"  cli\n"
	"  xorw %ax, %ax\n"
	"  movw %ax, %ds\n"
	"  movl $1, %eax\n"
	"  cpuid\n"
	"  shrl $24, %ebx\n"
	"  lock btsl %ebx, 0x8ff0\n"
	"  lock incw 0x8ff8\n"
	"1: hlt\n"
	"  jmp 1b\n"
	"tramp_end:\n"
	".code64\n");

static void icr(uint32_t apic, uint32_t low)
{
	mmio_wr32(LAPIC + 0x310, apic << 24);
	mmio_wr32(LAPIC + 0x300, low);
	for (int i = 0; i < 100000 && (mmio_rd32(LAPIC + 0x300) & (1 << 12)); i++)
		;
}

static void delay(unsigned long n)
{
	for (volatile unsigned long i = 0; i < n; i++)
		;
}

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	unsigned int cpus = (unsigned int)arg_num("cpus", 1);
	volatile uint64_t *mask = (volatile uint64_t *)MASK_ADDR;
	volatile uint16_t *count = (volatile uint16_t *)COUNT_ADDR;
	uint8_t *t = (uint8_t *)TRAMP;

	for (const uint8_t *p = tramp_start; p < tramp_end; p++)
		*t++ = *p;
	*mask = 1; /* the BSP, APIC ID 0 */
	*count = 0;
	lapic_enable();
	CHECK("smp", (mmio_rd32(LAPIC + 0x20) >> 24) == 0);
	for (unsigned int id = 1; id < cpus; id++) {
		icr(id, 0x4500);               /* INIT */
		delay(1000);
		icr(id, 0x4600 | (TRAMP >> 12)); /* SIPI */
		delay(200);
		icr(id, 0x4600 | (TRAMP >> 12)); /* second SIPI, as the SDM recommends */
	}
	for (unsigned long spin = 0; *count < cpus - 1 && spin < 50000000UL; spin++)
		__asm__ volatile("pause");
	puts_("cpus checked in: ");
	putu(*count + 1);
	puts_(" mask ");
	putx(*mask);
	putc_('\n');
	CHECK("smp", *count == cpus - 1);
	CHECK("smp", *mask == (cpus >= 64 ? ~0ULL : (1ULL << cpus) - 1));
	pass("smp");
}
