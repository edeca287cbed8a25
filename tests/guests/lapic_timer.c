// SPDX-License-Identifier: MIT
/*
 * The local APIC timer (Intel SDM vol. 3A s10.5.4): periodic mode with a
 * divider counted against the ACPI PM timer, a masked timer that stays quiet,
 * and one-shot mode firing exactly once and leaving the current count at 0.
 */
#include "lib.h"

const char *test_name = "lapic_timer";

#define VEC 49
#define MASKED (1u << 16)
#define PERIODIC (1u << 17)
static volatile unsigned int ticks;

static void on_timer(void) { ticks++; }

static void wait_us(uint64_t us)
{
	uint64_t end = clock_us() + us;

	while (clock_us() < end)
		cpu_relax();
}

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	uint32_t ver, c1, c2;
	uint64_t t0, us;
	unsigned int n;

	lapic_enable();
	ver = lapic_rd(LAPIC_VER);
	printf_("LAPIC id %u version 0x%x max LVT %u\n", lapic_id(), ver & 0xff, ((ver >> 16) & 0xff) + 1);
	CHECK((ver & 0xff) >= 0x10 && (ver & 0xff) <= 0x15); /* integrated APIC */
	CHECK(((ver >> 16) & 0xff) >= 3);
	isr_set(VEC, on_timer);

	/* periodic, divide by 16 (DCR 0011b), 62500 counts: 1 kHz with KVM's 1 GHz APIC bus */
	lapic_wr(LAPIC_TIMER_DIV, 0x3);
	CHECK((lapic_rd(LAPIC_TIMER_DIV) & 0xb) == 0x3);
	lapic_wr(LAPIC_LVT_TIMER, PERIODIC | VEC);
	lapic_wr(LAPIC_TIMER_INIT, 62500);
	c1 = lapic_rd(LAPIC_TIMER_CUR);
	wait_us(100);
	c2 = lapic_rd(LAPIC_TIMER_CUR);
	printf_("current count %u then %u\n", c1, c2);
	CHECK(c1 <= 62500 && c2 <= 62500 && c1 != c2);
	sti();
	t0 = clock_us();
	wait_us(100000);
	cli();
	n = ticks;
	us = clock_us() - t0;
	printf_("periodic: %u interrupts in %lu us (%lu Hz)\n", n, us, (uint64_t)n * 1000000 / (us ? us : 1));
	CHECK(n >= 5);
	CHECK(n <= 2 * us / 1000 + 2);

	/* masked: the count runs, nothing is delivered (one accepted before the mask may still come) */
	lapic_wr(LAPIC_LVT_TIMER, MASKED | PERIODIC | VEC);
	sti();
	wait_us(2000);
	cli();
	ticks = 0;
	sti();
	wait_us(20000);
	cli();
	CHECK(ticks == 0);

	/* one-shot, 5 ms: exactly one interrupt, then the current count stays 0 */
	lapic_wr(LAPIC_TIMER_INIT, 0);
	lapic_wr(LAPIC_LVT_TIMER, VEC);
	lapic_wr(LAPIC_TIMER_INIT, 5 * 62500);
	sti();
	t0 = clock_us();
	while (!ticks && clock_us() - t0 < 2000000)
		cpu_relax();
	us = clock_us() - t0;
	wait_us(30000);
	cli();
	printf_("one-shot: %u interrupt(s), first after %lu us, current count %u\n", ticks, us,
		lapic_rd(LAPIC_TIMER_CUR));
	CHECK(ticks == 1);
	CHECK(lapic_rd(LAPIC_TIMER_CUR) == 0);
	lapic_wr(LAPIC_LVT_TIMER, MASKED);
	CHECK(stray_irqs == 0);
	pass();
}
