// SPDX-License-Identifier: MIT
/*
 * COM1 receive, first by polling LSR, then through the receive interrupt
 * (IER.RDA + MCR.OUT2, IOAPIC pin 4) in long mode. The host sends n= bytes
 * after each READY line; the guest echoes their sum.
 */
#include "lib.h"

#define COM1 0x3f8
static volatile unsigned int rx_count;
static volatile uint32_t rx_sum;

static void on_rx(void)
{
	while (inb(COM1 + 5) & 1) {
		rx_sum += inb(COM1);
		rx_count++;
	}
}

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	unsigned int n = (unsigned int)arg_num("n", 8);
	uint32_t sum = 0;

	outb(COM1 + 2, 0x07); /* FIFO on and cleared */
	puts_("READY1\n");
	for (unsigned int i = 0; i < n; i++) {
		int c = getc_poll(50000000UL);
		if (c < 0)
			fail("serial", "timeout waiting for polled input");
		sum += (uint32_t)c;
	}
	puts_("SUM1=");
	putu(sum);
	putc_('\n');

	idt_init();
	pic_mask_all();
	lapic_enable();
	isr_set(50, on_rx);
	ioapic_route(4, 50);
	outb(COM1 + 4, 0x0b); /* DTR, RTS, OUT2 */
	outb(COM1 + 1, 0x01); /* receive interrupt */
	__asm__ volatile("sti");
	puts_("READY2\n");
	for (unsigned long spin = 0; rx_count < n && spin < 200000000UL; spin++)
		__asm__ volatile("pause");
	__asm__ volatile("cli");
	CHECK("serial", rx_count == n);
	puts_("SUM2=");
	putu(rx_sum);
	putc_('\n');
	pass("serial");
}
