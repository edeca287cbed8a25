// SPDX-License-Identifier: MIT
/* PIT channel 0 through IOAPIC pin 0, then the LAPIC timer (periodic): both interrupt us. */
#include "lib.h"

static volatile unsigned int pit_ticks, lapic_ticks;

static void on_pit(void) { pit_ticks++; }
static void on_lapic(void) { lapic_ticks++; }

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	idt_init();
	pic_mask_all();
	lapic_enable();
	isr_set(48, on_pit);
	isr_set(49, on_lapic);

	/* PIT: channel 0, lobyte/hibyte, mode 2, 100 Hz (1193182 / 11932) */
	ioapic_route(0, 48);
	outb(0x43, 0x34);
	outb(0x40, 11932 & 0xff);
	outb(0x40, 11932 >> 8);
	__asm__ volatile("sti");
	for (unsigned long spin = 0; pit_ticks < 3 && spin < 100000000UL; spin++)
		__asm__ volatile("pause");
	__asm__ volatile("cli");
	puts_("pit ticks ");
	putu(pit_ticks);
	putc_('\n');
	CHECK("timers", pit_ticks >= 3);
	outb(0x43, 0x30); /* stop: mode 0, count never reloaded */
	outb(0x40, 0);
	outb(0x40, 0);

	/* LAPIC timer: periodic, vector 49, divide by 16 */
	mmio_wr32(LAPIC + 0x3e0, 0x3);
	mmio_wr32(LAPIC + 0x320, (1 << 17) | 49);
	mmio_wr32(LAPIC + 0x380, 200000);
	__asm__ volatile("sti");
	for (unsigned long spin = 0; lapic_ticks < 3 && spin < 100000000UL; spin++)
		__asm__ volatile("pause");
	__asm__ volatile("cli");
	mmio_wr32(LAPIC + 0x320, 1 << 16); /* mask */
	puts_("lapic ticks ");
	putu(lapic_ticks);
	putc_('\n');
	CHECK("timers", lapic_ticks >= 3);
	pass("timers");
}
