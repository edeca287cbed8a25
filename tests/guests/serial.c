// SPDX-License-Identifier: MIT
/*
 * COM1 as a 16550A: scratch register, FIFO identification, loopback; a long
 * transmitted line (tx=<length>); then receive, first by polling LSR.DR, then
 * through the receive-data interrupt (IER.ERBFI, MCR.OUT2 gates the IRQ line)
 * on IOAPIC pin 4 in long mode. After READY1 and after READY2 the host sends
 * n= bytes; the guest echoes them as hex with their sum (SUM1=, SUM2=).
 */
#include "lib.h"

const char *test_name = "serial";

#define RX_MAX 4096
static volatile unsigned int rx_count, rx_irqs, rx_bad_iir, rx_empty_iir;
static volatile uint32_t rx_sum;
static uint8_t rx_buf[RX_MAX];

static void on_rx(void)
{
	uint8_t iir = inb(COM1 + 2);

	rx_irqs++;
	/*
	 * IIR[3:0]: 0x4 received data available, 0xc character timeout (16550A);
	 * 0x1 (nothing pending) is legal when an edge latched in the IOAPIC while
	 * the previous handler was already draining the FIFO.
	 */
	if ((iir & 0x0f) == 0x1)
		rx_empty_iir++;
	else if ((iir & 0x0f) != 0x4 && (iir & 0x0f) != 0xc)
		rx_bad_iir = iir | 0x100;
	while (inb(COM1 + 5) & 1) {
		uint8_t b = inb(COM1);

		if (rx_count < RX_MAX)
			rx_buf[rx_count] = b;
		rx_sum += b;
		rx_count++;
	}
}

static void echo(const char *tag, const uint8_t *b, unsigned int n, uint32_t sum)
{
	printf_("%s=", tag);
	for (unsigned int i = 0; i < n && i < RX_MAX; i++)
		printf_("%2x", b[i]);
	printf_("\nSUM%c=%u\n", tag[4], sum);
}

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	unsigned int n = (unsigned int)arg_num("n", 8), tx = (unsigned int)arg_num("tx", 0);
	int gsi = madt_irq_gsi(4);
	uint32_t sum = 0;

	/* scratch register holds a value; FIFO enabled reads as IIR[7:6] = 11 (16550A) */
	outb(COM1 + 7, 0xa5);
	CHECK(inb(COM1 + 7) == 0xa5);
	CHECK((inb(COM1 + 2) & 0xc0) == 0xc0);
	CHECK((inb(COM1 + 2) & 0x01) == 0x01); /* no interrupt pending */
	/* loopback (MCR bit 4): what is sent comes back, nothing reaches the host */
	outb(COM1 + 4, 0x13);
	outb(COM1, 0x5a);
	CHECK(getc_poll(100000) == 0x5a);
	outb(COM1 + 4, 0x03);
	CHECK(getc_poll(1000) == -1);
	CHECK(inb(COM1 + 5) & 0x40); /* transmitter empty */

	if (tx) {
		puts_("TX[");
		for (unsigned int i = 0; i < tx; i++)
			putc_((char)('!' + i % 94));
		puts_("]\n");
	}

	puts_("READY1\n");
	for (unsigned int i = 0; i < n; i++) {
		int c = getc_poll(50000000UL);

		if (c < 0)
			fail("timeout waiting for polled byte %u of %u", i, n);
		if (i < RX_MAX)
			rx_buf[i] = (uint8_t)c;
		sum += (uint32_t)c;
	}
	echo("ECHO1", rx_buf, n, sum);

	lapic_enable();
	isr_set(50, on_rx);
	ioapic_route((unsigned int)gsi, 50);
	outb(COM1 + 4, 0x0b); /* DTR, RTS, OUT2 */
	outb(COM1 + 1, 0x01); /* IER: received data available */
	sti();
	puts_("READY2\n");
	for (unsigned long spin = 0; rx_count < n && spin < 400000000UL; spin++)
		cpu_relax();
	cli();
	printf_("received %u bytes in %u interrupts (%u found nothing pending), bad IIR 0x%x\n", rx_count, rx_irqs,
		rx_empty_iir, rx_bad_iir & 0xff);
	CHECK(rx_count == n);
	CHECK(n == 0 || rx_irqs > rx_empty_iir);
	CHECK(rx_bad_iir == 0);
	CHECK(stray_irqs == 0);
	outb(COM1 + 1, 0x00);
	echo("ECHO2", rx_buf, n, rx_sum);
	pass();
}
