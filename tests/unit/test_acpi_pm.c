// SPDX-License-Identifier: MIT
/*
 * ACPI fixed-hardware PM block (ACPI 6.4 s4.8.3), the 0xcf9 reset register
 * and the debug-exit port.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#include <cmocka.h>

#include "fakes.h"
#include "vmkit/util.h"
#include "vmkit/x86.h"

#define STS 0
#define EN 2
#define CNT 4
#define TMR 8

#define PWRBTN 0x0100
#define WAK 0x8000
#define SLP_EN 0x2000
#define SLP_TYP(t) ((t) << 10)

struct fx {
	struct fake_irq sci;
	struct fake_machine mc;
	struct acpi_pm *pm;
};

static int setup(void **state)
{
	static struct fx f;
	struct irq_line l = fake_irq_line(&f.sci);
	struct machine_ctl ctl = fake_machine_ctl(&f.mc);

	f.pm = acpi_pm_create(&l, &ctl);
	assert_non_null(f.pm);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	acpi_pm_ops.destroy(f->pm);
	return 0;
}

static uint32_t pm_rd(struct fx *f, uint64_t off, uint32_t size)
{
	return (uint32_t)io_rd(acpi_pm_io, f->pm, off, size);
}

static void pm_wr(struct fx *f, uint64_t off, uint32_t size, uint32_t v)
{
	io_wr(acpi_pm_io, f->pm, off, size, v);
}

static void test_sleep_s5_powers_off(void **state)
{
	struct fx *f = *state;

	/* SCI_EN reads 1 always (no SMI_CMD: always in ACPI mode) */
	assert_int_equal(pm_rd(f, CNT, 2), 0x0001);
	pm_wr(f, CNT, 2, 0);
	assert_int_equal(pm_rd(f, CNT, 2) & 1, 1);
	/* SLP_TYP without SLP_EN: stored, nothing happens */
	pm_wr(f, CNT, 2, SLP_TYP(X86_ACPI_SLP_TYP_S5));
	assert_int_equal(f->mc.requests, 0);
	assert_int_equal(pm_rd(f, CNT, 2), SLP_TYP(X86_ACPI_SLP_TYP_S5) | 1);
	/* SLP_EN: power off; SLP_EN itself reads back 0 */
	pm_wr(f, CNT, 2, SLP_TYP(X86_ACPI_SLP_TYP_S5) | SLP_EN);
	assert_int_equal(f->mc.requests, 1);
	assert_int_equal(f->mc.last, MACHINE_POWEROFF);
	assert_int_equal(f->mc.status, 0);
	assert_int_equal(pm_rd(f, CNT, 2) & SLP_EN, 0);
	/* the high byte alone (SLP_TYP is in it) also works */
	io_wr8(acpi_pm_io, f->pm, CNT + 1, (SLP_TYP(X86_ACPI_SLP_TYP_S5) | SLP_EN) >> 8);
	assert_int_equal(f->mc.count[MACHINE_POWEROFF], 2);
	/* a 4-byte write starting at PM1_CNT */
	pm_wr(f, CNT, 4, SLP_TYP(X86_ACPI_SLP_TYP_S5) | SLP_EN);
	assert_int_equal(f->mc.count[MACHINE_POWEROFF], 3);
}

static void test_other_sleep_types_ignored(void **state)
{
	struct fx *f = *state;

	for (uint32_t typ = 0; typ < 8; typ++) {
		if (typ == X86_ACPI_SLP_TYP_S5)
			continue;
		pm_wr(f, STS, 2, WAK);
		pm_wr(f, CNT, 2, SLP_TYP(typ) | SLP_EN);
		assert_int_equal(pm_rd(f, CNT, 2) & SLP_EN, 0);
		/* the machine "wakes" at once so a guest polling WAK_STS does not hang */
		assert_int_equal(pm_rd(f, STS, 2) & WAK, WAK);
	}
	assert_int_equal(f->mc.requests, 0);
	pm_wr(f, STS, 2, WAK); /* write 1 to clear */
	assert_int_equal(pm_rd(f, STS, 2) & WAK, 0);
}

static void test_status_enable_and_sci(void **state)
{
	struct fx *f = *state;

	/* enable bits stick (OSPM checks GBL_EN, RTC_EN); unimplemented ones read 0 */
	pm_wr(f, EN, 2, 0x0521);
	assert_int_equal(pm_rd(f, EN, 2), 0x0521);
	pm_wr(f, EN, 2, 0xffff);
	assert_int_equal(pm_rd(f, EN, 2), 0x0721);
	pm_wr(f, EN, 2, 0);
	/* power button with PWRBTN_EN clear: status only, no SCI */
	acpi_pm_power_button(f->pm);
	assert_int_equal(pm_rd(f, STS, 2) & PWRBTN, PWRBTN);
	assert_int_equal(f->sci.level, 0);
	/* enabling it raises SCI: level = STS & EN */
	pm_wr(f, EN, 2, PWRBTN);
	assert_int_equal(f->sci.level, 1);
	/* writing 0 to the status bit does not clear it */
	pm_wr(f, STS, 2, 0);
	assert_int_equal(pm_rd(f, STS, 2) & PWRBTN, PWRBTN);
	assert_int_equal(f->sci.level, 1);
	/* write 1 to clear: SCI drops */
	pm_wr(f, STS, 2, PWRBTN);
	assert_int_equal(pm_rd(f, STS, 2) & PWRBTN, 0);
	assert_int_equal(f->sci.level, 0);
	/* a 4-byte read at 0 returns STS | EN << 16; a byte read each half */
	acpi_pm_power_button(f->pm);
	assert_int_equal(pm_rd(f, STS, 4) & 0xffff7ffe, PWRBTN | PWRBTN << 16);
	assert_int_equal(io_rd8(acpi_pm_io, f->pm, STS + 1), PWRBTN >> 8);
	assert_int_equal(io_rd8(acpi_pm_io, f->pm, EN + 1), PWRBTN >> 8);
	/* a byte write-1-to-clear of the high status byte */
	io_wr8(acpi_pm_io, f->pm, STS + 1, PWRBTN >> 8);
	assert_int_equal(f->sci.level, 0);
	/* disabling with status set drops SCI too */
	acpi_pm_power_button(f->pm);
	assert_int_equal(f->sci.level, 1);
	io_wr8(acpi_pm_io, f->pm, EN + 1, 0);
	assert_int_equal(f->sci.level, 0);
	assert_int_equal(f->mc.requests, 0);
}

static uint32_t timer(struct fx *f)
{
	return pm_rd(f, TMR, 4);
}

static void test_pm_timer(void **state)
{
	struct fx *f = *state;
	struct timespec ts = { 0, 10000000 }; /* 10 ms = 35795 ticks */
	uint32_t t0, t1, prev;

	/* 24 bits, counting up (modulo 2^24) */
	prev = timer(f);
	for (int i = 0; i < 1000; i++) {
		uint32_t t = timer(f);
		assert_true(t <= 0xffffff);
		assert_true(((t - prev) & 0xffffff) < 0x800000); /* never goes backwards */
		prev = t;
	}
	t0 = timer(f);
	nanosleep(&ts, NULL);
	t1 = timer(f);
	uint32_t ticks = (t1 - t0) & 0xffffff; /* wraps every 4.7 s */
	assert_true(ticks >= 35000);   /* slept at least 10 ms */
	assert_true(ticks < 35795 * 50); /* a very slow host still is not 50x off */
	/* the timer is read-only */
	pm_wr(f, TMR, 4, 0);
	assert_int_equal(f->mc.requests, 0);
	/* byte reads of the timer see the same counter */
	uint32_t b2 = io_rd8(acpi_pm_io, f->pm, TMR + 2);
	assert_true(((b2 - ((t1 >> 16) & 0xff)) & 0xff) < 4);
	assert_int_equal(io_rd8(acpi_pm_io, f->pm, TMR + 3), 0); /* bits 24-31 read 0 */
}

static void test_hostile_accesses(void **state)
{
	struct fx *f = *state;
	uint8_t buf[8];

	/* accesses that leave the 12-byte block read as all-ones and do nothing */
	memset(buf, 0, sizeof(buf));
	acpi_pm_io(f->pm, 10, buf, 4, false);
	assert_int_equal(buf[0], 0xff);
	acpi_pm_io(f->pm, 1ULL << 63, buf, 8, false);
	assert_int_equal(buf[7], 0xff);
	memset(buf, 0xff, sizeof(buf));
	acpi_pm_io(f->pm, 0xfffffffffffffffcULL, buf, 8, true);
	/* every in-range offset and size */
	for (uint64_t off = 0; off < X86_ACPI_PM_LEN; off++) {
		for (uint32_t size = 1; size <= 8; size *= 2) {
			acpi_pm_io(f->pm, off, buf, size, false);
			memset(buf, 0, sizeof(buf)); /* zeros: no poweroff, no status clear */
			acpi_pm_io(f->pm, off, buf, size, true);
		}
	}
	assert_int_equal(f->mc.requests, 0);
	/* the reserved bytes read 0 */
	assert_int_equal(pm_rd(f, 6, 2), 0);
}

static void test_save_load_reset(void **state)
{
	struct fx *f = *state;
	uint8_t blob[64], bad[64];

	pm_wr(f, EN, 2, PWRBTN);
	acpi_pm_power_button(f->pm);
	pm_wr(f, CNT, 2, SLP_TYP(3));
	ssize_t n = acpi_pm_ops.save(f->pm, blob, sizeof(blob));
	assert_true(n > 8);
	assert_int_equal(acpi_pm_ops.save(f->pm, blob, 4), -ENOSPC);
	acpi_pm_ops.reset(f->pm);
	assert_int_equal(f->sci.level, 0);
	assert_int_equal(pm_rd(f, EN, 2), 0);
	assert_int_equal(pm_rd(f, CNT, 2), 1);
	memcpy(bad, blob, (size_t)n);
	bad[1] ^= 0x10;
	assert_int_equal(acpi_pm_ops.load(f->pm, bad, (size_t)n), -EINVAL);
	memcpy(bad, blob, (size_t)n);
	bad[11] = 0x80; /* an enable bit that does not exist */
	assert_int_equal(acpi_pm_ops.load(f->pm, bad, (size_t)n), -EINVAL);
	assert_int_equal(acpi_pm_ops.load(f->pm, blob, (size_t)n + 1), -EINVAL);
	assert_int_equal(f->sci.level, 0);
	assert_int_equal(acpi_pm_ops.load(f->pm, blob, (size_t)n), 0);
	assert_int_equal(f->sci.level, 1); /* PWRBTN pending and enabled again */
	assert_int_equal(pm_rd(f, EN, 2), PWRBTN);
	assert_int_equal(pm_rd(f, CNT, 2), SLP_TYP(3) | 1);
}

static void test_reset_register(void **state)
{
	struct fx *f = *state;

	/* Linux reboot=pci: 0x02 (SYS_RST, prepare) then 0x06 (RST_CPU: go) */
	io_wr8(acpi_pm_reset_io, f->pm, 0, 0x02);
	assert_int_equal(f->mc.requests, 0);
	assert_int_equal(io_rd8(acpi_pm_reset_io, f->pm, 0), 0x02);
	io_wr8(acpi_pm_reset_io, f->pm, 0, 0x06);
	assert_int_equal(f->mc.requests, 1);
	assert_int_equal(f->mc.last, MACHINE_RESET);
	assert_int_equal(io_rd8(acpi_pm_reset_io, f->pm, 0), 0x02); /* RST_CPU self-clears */
	io_wr8(acpi_pm_reset_io, f->pm, 0, 0x0e); /* full reset */
	assert_int_equal(f->mc.count[MACHINE_RESET], 2);
	assert_int_equal(io_rd8(acpi_pm_reset_io, f->pm, 0), 0x0a);
	io_wr8(acpi_pm_reset_io, f->pm, 0, 0x08);
	assert_int_equal(f->mc.count[MACHINE_RESET], 2);
	/* wider and odd accesses do not crash */
	assert_int_equal(io_rd(acpi_pm_reset_io, f->pm, 0, 4), 0xffffff08);
	assert_int_equal(io_rd8(acpi_pm_reset_io, f->pm, 3), 0xff);
	io_wr8(acpi_pm_reset_io, f->pm, 1, 0x06);
	assert_int_equal(f->mc.count[MACHINE_RESET], 2);
	assert_int_equal(f->mc.count[MACHINE_POWEROFF], 0);
}

static void test_debug_exit(void **state)
{
	struct fake_machine mc;
	struct machine_ctl ctl = fake_machine_ctl(&mc);
	struct debug_exit *de = debug_exit_create(&ctl);

	assert_non_null(de);
	/* v = 0x10 with every size: status (0x10 << 1) | 1 */
	for (uint32_t size = 1; size <= 4; size *= 2) {
		io_wr(debug_exit_io, de, 0, size, 0x10);
		assert_int_equal(mc.last, MACHINE_DEBUG_EXIT);
		assert_int_equal(mc.status, 0x21);
	}
	assert_int_equal(mc.requests, 3);
	/* the value is masked to the access size */
	io_wr(debug_exit_io, de, 0, 1, 0xabcd01);
	assert_int_equal(mc.status, 0x03);
	io_wr(debug_exit_io, de, 0, 2, 0xab0102);
	assert_int_equal(mc.status, (0x0102 << 1) | 1);
	io_wr(debug_exit_io, de, 0, 1, 0);
	assert_int_equal(mc.status, 1); /* odd: never confused with a clean power-off */
	/* only offset 0 counts; reads are all-ones */
	io_wr8(debug_exit_io, de, 1, 0x10);
	assert_int_equal(mc.requests, 6);
	assert_int_equal(io_rd(debug_exit_io, de, 0, 4), 0xffffffff);
	/* stateless state */
	assert_int_equal(debug_exit_ops.save(de, NULL, 0), 0);
	assert_int_equal(debug_exit_ops.load(de, "x", 1), -EINVAL);
	debug_exit_ops.reset(de);
	debug_exit_ops.destroy(de);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sleep_s5_powers_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_sleep_types_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_enable_and_sci, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pm_timer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_register, setup, teardown),
		cmocka_unit_test(test_debug_exit),
	};
	return cmocka_run_group_tests_name("acpi_pm", tests, NULL, NULL);
}
