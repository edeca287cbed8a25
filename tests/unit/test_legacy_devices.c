// SPDX-License-Identifier: MIT
/* Register models of the RTC, ACPI PM block, reset register, debug-exit port and i8042. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fakes.h"
#include "vmkit/util.h"
#include "vmkit/x86.h"

/* ---- RTC ---- */
static uint8_t cmos_rd(struct rtc *r, uint8_t idx)
{
	io_wr8(rtc_io, r, 0, idx);
	return io_rd8(rtc_io, r, 1);
}

static void cmos_wr(struct rtc *r, uint8_t idx, uint8_t v)
{
	io_wr8(rtc_io, r, 0, idx);
	io_wr8(rtc_io, r, 1, v);
}

static unsigned int bcd(uint8_t v) { return (v >> 4) * 10 + (v & 15); }

static void test_rtc_time_bcd_binary_12h(void **state)
{
	struct fake_irq irq;
	struct irq_line l = fake_irq_line(&irq);
	struct rtc *r = rtc_create(&l);
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	assert_int_equal(cmos_rd(r, 0x0b), 0x02); /* 24h, BCD */
	assert_int_equal(bcd(cmos_rd(r, 0x09)), tm.tm_year % 100);
	assert_int_equal(bcd(cmos_rd(r, 0x32)), (tm.tm_year + 1900) / 100);
	assert_int_equal(bcd(cmos_rd(r, 0x08)), tm.tm_mon + 1);
	cmos_wr(r, 0x0b, 0x06); /* binary */
	assert_int_equal(cmos_rd(r, 0x08), tm.tm_mon + 1);
	cmos_wr(r, 0x0b, 0x04); /* binary, 12h */
	uint8_t h = cmos_rd(r, 0x04);
	gmtime_r(&now, &tm);
	int h12 = tm.tm_hour % 12 ? tm.tm_hour % 12 : 12;
	assert_int_equal(h & 0x7f, h12);
	assert_int_equal(!!(h & 0x80), tm.tm_hour >= 12);
	assert_int_equal(cmos_rd(r, 0x0d), 0x80); /* valid RAM and time */
	rtc_ops.destroy(r);
}

static void test_rtc_set_time_offset(void **state)
{
	struct fake_irq irq;
	struct irq_line l = fake_irq_line(&irq);
	struct rtc *r = rtc_create(&l);

	/* set 2001-02-03 in BCD with SET held */
	cmos_wr(r, 0x0b, 0x82);
	cmos_wr(r, 0x09, 0x01);
	cmos_wr(r, 0x32, 0x20);
	cmos_wr(r, 0x08, 0x02);
	cmos_wr(r, 0x07, 0x03);
	cmos_wr(r, 0x0b, 0x02);
	assert_int_equal(cmos_rd(r, 0x09), 0x01);
	assert_int_equal(cmos_rd(r, 0x08), 0x02);
	assert_int_equal(cmos_rd(r, 0x07), 0x03);
	assert_int_equal(cmos_rd(r, 0x32), 0x20);
	/* NVRAM, index bit 7 (NMI mask) ignored, reg C clears on read */
	cmos_wr(r, 0x40, 0xab);
	assert_int_equal(cmos_rd(r, 0x80 | 0x40), 0xab);
	rtc_set_cmos(r, 0x34, 0x12);
	assert_int_equal(cmos_rd(r, 0x34), 0x12);
	assert_int_equal(cmos_rd(r, 0x0c), 0);
	uint8_t blob[512];
	ssize_t n = rtc_ops.save(r, blob, sizeof(blob));
	assert_true(n > 0);
	blob[0] ^= 1;
	assert_int_equal(rtc_ops.load(r, blob, n), -EINVAL);
	rtc_ops.destroy(r);
}

/* ---- ACPI PM, reset register, debug-exit ---- */
static void test_acpi_pm_poweroff_and_timer(void **state)
{
	struct fake_irq irq;
	struct fake_machine mc;
	struct irq_line l = fake_irq_line(&irq);
	struct machine_ctl ctl = fake_machine_ctl(&mc);
	struct acpi_pm *pm = acpi_pm_create(&l, &ctl);
	uint8_t d[4];

	/* SCI_EN reads 1; SLP_EN reads 0 */
	acpi_pm_io(pm, 4, d, 2, false);
	assert_int_equal(get_le16(d) & 1, 1);
	/* S3 is ignored */
	put_le16(d, (3 << 10) | (1 << 13));
	acpi_pm_io(pm, 4, d, 2, true);
	assert_int_equal(mc.requests, 0);
	acpi_pm_io(pm, 4, d, 2, false);
	assert_int_equal(get_le16(d) & (1 << 13), 0);
	/* S5 powers off */
	put_le16(d, (X86_ACPI_SLP_TYP_S5 << 10) | (1 << 13));
	acpi_pm_io(pm, 4, d, 2, true);
	assert_int_equal(mc.requests, 1);
	assert_int_equal(mc.last, MACHINE_POWEROFF);
	/* enable bits stick (OSPM checks GBL_EN, RTC_EN) */
	put_le16(d, 0x0421);
	acpi_pm_io(pm, 2, d, 2, true);
	acpi_pm_io(pm, 2, d, 2, false);
	assert_int_equal(get_le16(d), 0x0421);
	/* power button: status set, SCI raised, write-1-to-clear */
	put_le16(d, 0x0100);
	acpi_pm_io(pm, 2, d, 2, true);
	acpi_pm_power_button(pm);
	assert_int_equal(irq.level, 1);
	put_le16(d, 0x0100);
	acpi_pm_io(pm, 0, d, 2, true);
	assert_int_equal(irq.level, 0);
	/* PM timer: 3.579545 MHz, 24 bits */
	acpi_pm_io(pm, 8, d, 4, false);
	uint32_t t0 = get_le32(d);
	usleep(20000);
	acpi_pm_io(pm, 8, d, 4, false);
	uint32_t t1 = get_le32(d);
	uint32_t ticks = (t1 - t0) & 0xffffff;
	assert_true(t0 <= 0xffffff && t1 <= 0xffffff);
	assert_true(ticks > 60000 && ticks < 3579545); /* 20 ms = 71591, allow a slow host */
	/* out-of-range accesses */
	acpi_pm_io(pm, 11, d, 4, false);
	assert_int_equal(d[0], 0xff);
	/* reset register 0xcf9 */
	d[0] = 0x02;
	acpi_pm_reset_io(pm, 0, d, 1, true);
	assert_int_equal(mc.requests, 1);
	d[0] = 0x06;
	acpi_pm_reset_io(pm, 0, d, 1, true);
	assert_int_equal(mc.requests, 2);
	assert_int_equal(mc.last, MACHINE_RESET);
	acpi_pm_ops.destroy(pm);
}

static void test_debug_exit(void **state)
{
	struct fake_machine mc;
	struct machine_ctl ctl = fake_machine_ctl(&mc);
	struct debug_exit *de = debug_exit_create(&ctl);
	uint8_t d[4] = { 0x10, 0, 0, 0 };

	for (uint32_t size = 1; size <= 4; size *= 2) {
		debug_exit_io(de, 0, d, size, true);
		assert_int_equal(mc.last, MACHINE_DEBUG_EXIT);
		assert_int_equal(mc.status, 0x21);
	}
	debug_exit_io(de, 0, d, 1, false);
	assert_int_equal(d[0], 0xff);
	debug_exit_ops.destroy(de);
}

/* ---- i8042 ---- */
struct kbc {
	struct fake_irq kbd, aux;
	struct fake_machine mc;
	struct i8042 *c;
};

static void kbc_init(struct kbc *k)
{
	struct irq_line a = fake_irq_line(&k->kbd), b = fake_irq_line(&k->aux);
	struct machine_ctl ctl = fake_machine_ctl(&k->mc);
	k->c = i8042_create(&a, &b, &ctl);
}

static uint8_t kbc_status(struct kbc *k) { return io_rd8(i8042_cmd_io, k->c, 0); }
static void kbc_cmd(struct kbc *k, uint8_t v) { io_wr8(i8042_cmd_io, k->c, 0, v); }
static void kbc_data(struct kbc *k, uint8_t v) { io_wr8(i8042_data_io, k->c, 0, v); }
static uint8_t kbc_read(struct kbc *k)
{
	assert_true(kbc_status(k) & 1);
	return io_rd8(i8042_data_io, k->c, 0);
}

static void test_i8042_probe_sequence(void **state)
{
	struct kbc k;

	kbc_init(&k);
	assert_int_equal(kbc_status(&k) & 1, 0);
	kbc_cmd(&k, 0xaa);
	assert_int_equal(kbc_read(&k), 0x55);
	kbc_cmd(&k, 0x20);
	uint8_t ctr = kbc_read(&k);
	kbc_cmd(&k, 0x60);
	kbc_data(&k, (uint8_t)(ctr | 0x02));
	kbc_cmd(&k, 0x20);
	assert_int_equal(kbc_read(&k), ctr | 0x02);
	/* aux loopback through 0xD3: AUXB set, IRQ 12 raised */
	kbc_cmd(&k, 0xd3);
	kbc_data(&k, 0x5a);
	assert_int_equal(kbc_status(&k) & 0x21, 0x21);
	assert_int_equal(k.aux.level, 1);
	assert_int_equal(kbc_read(&k), 0x5a);
	assert_int_equal(k.aux.level, 0);
	/* keyboard: identify, LEDs, reset */
	kbc_data(&k, 0xf2);
	assert_int_equal(kbc_read(&k), 0xfa);
	assert_int_equal(kbc_read(&k), 0xab);
	assert_int_equal(kbc_read(&k), 0x83);
	kbc_data(&k, 0xed);
	assert_int_equal(kbc_read(&k), 0xfa);
	kbc_data(&k, 0x07);
	assert_int_equal(kbc_read(&k), 0xfa);
	kbc_data(&k, 0xff);
	assert_int_equal(kbc_read(&k), 0xfa);
	assert_int_equal(kbc_read(&k), 0xaa);
	kbc_data(&k, 0x42); /* unknown */
	assert_int_equal(kbc_read(&k), 0xfe);
	/* mouse through 0xD4 */
	kbc_cmd(&k, 0xd4);
	kbc_data(&k, 0xf2);
	assert_int_equal(kbc_read(&k), 0xfa);
	assert_int_equal(kbc_read(&k), 0x00);
	assert_int_equal(k.mc.requests, 0);
	i8042_ops.destroy(k.c);
}

static void test_i8042_reset_line(void **state)
{
	struct kbc k;

	kbc_init(&k);
	kbc_cmd(&k, 0xfe);
	assert_int_equal(k.mc.requests, 1);
	assert_int_equal(k.mc.last, MACHINE_RESET);
	kbc_cmd(&k, 0xd1); /* output port with bit 0 clear */
	kbc_data(&k, 0x00);
	assert_int_equal(k.mc.requests, 2);
	/* the queue is bounded: a guest that never reads cannot grow it */
	for (int i = 0; i < 1000; i++)
		kbc_data(&k, 0xee);
	int n = 0;
	while (kbc_status(&k) & 1) {
		io_rd8(i8042_data_io, k.c, 0);
		n++;
	}
	assert_true(n > 0 && n <= 64);
	i8042_ops.destroy(k.c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rtc_time_bcd_binary_12h),
		cmocka_unit_test(test_rtc_set_time_offset),
		cmocka_unit_test(test_acpi_pm_poweroff_and_timer),
		cmocka_unit_test(test_debug_exit),
		cmocka_unit_test(test_i8042_probe_sequence),
		cmocka_unit_test(test_i8042_reset_line),
	};
	return cmocka_run_group_tests_name("legacy_devices", tests, NULL, NULL);
}
