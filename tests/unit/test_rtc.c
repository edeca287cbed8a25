// SPDX-License-Identifier: MIT
/*
 * MC146818 RTC/NVRAM register model: host time in BCD and binary, 12/24
 * hour, guest clock setting with SET, NVRAM, register A/C/D semantics,
 * index masking, save/load, hostile accesses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "fakes.h"
#include "vmkit/util.h"

#define R_SEC 0x00
#define R_MIN 0x02
#define R_HOUR 0x04
#define R_WDAY 0x06
#define R_MDAY 0x07
#define R_MON 0x08
#define R_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define R_CENTURY 0x32

#define B_SET 0x80
#define B_BIN 0x04
#define B_24H 0x02

struct fx {
	struct fake_irq irq;
	struct rtc *r;
};

static int setup(void **state)
{
	static struct fx f;
	struct irq_line l = fake_irq_line(&f.irq);

	f.r = rtc_create(&l);
	assert_non_null(f.r);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rtc_ops.destroy(f->r);
	return 0;
}

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

static int val(struct rtc *r, uint8_t v)
{
	return (cmos_rd(r, REG_B) & B_BIN) ? v : (v >> 4) * 10 + (v & 15);
}

static uint8_t enc(struct rtc *r, int v)
{
	return (cmos_rd(r, REG_B) & B_BIN) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | v % 10);
}

/* The guest clock as a time_t, decoded the way the guest's mode says. */
static time_t rtc_time(struct rtc *r)
{
	struct tm tm = { 0 };
	uint8_t h = cmos_rd(r, R_HOUR);

	tm.tm_sec = val(r, cmos_rd(r, R_SEC));
	tm.tm_min = val(r, cmos_rd(r, R_MIN));
	if (cmos_rd(r, REG_B) & B_24H) {
		tm.tm_hour = val(r, h);
	} else {
		tm.tm_hour = val(r, h & 0x7f) % 12 + ((h & 0x80) ? 12 : 0);
	}
	tm.tm_mday = val(r, cmos_rd(r, R_MDAY));
	tm.tm_mon = val(r, cmos_rd(r, R_MON)) - 1;
	tm.tm_year = val(r, cmos_rd(r, R_CENTURY)) * 100 + val(r, cmos_rd(r, R_YEAR)) - 1900;
	return timegm(&tm);
}

static void assert_near(time_t a, time_t b, long tolerance)
{
	long d = labs((long)(a - b));

	if (d > tolerance)
		fail_msg("times differ by %ld s", d);
}

/* Set the guest clock to an absolute UTC date through the registers, SET held. */
static void set_clock(struct rtc *r, int year, int mon, int mday, int hour, int min, int sec)
{
	uint8_t b = cmos_rd(r, REG_B);

	cmos_wr(r, REG_B, b | B_SET);
	cmos_wr(r, R_SEC, enc(r, sec));
	cmos_wr(r, R_MIN, enc(r, min));
	if (b & B_24H)
		cmos_wr(r, R_HOUR, enc(r, hour));
	else
		cmos_wr(r, R_HOUR, (uint8_t)(enc(r, hour % 12 ? hour % 12 : 12) | (hour >= 12 ? 0x80 : 0)));
	cmos_wr(r, R_MDAY, enc(r, mday));
	cmos_wr(r, R_MON, enc(r, mon));
	cmos_wr(r, R_YEAR, enc(r, year % 100));
	cmos_wr(r, R_CENTURY, enc(r, year / 100));
	cmos_wr(r, REG_B, b & ~B_SET);
}

static void test_defaults(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cmos_rd(f->r, REG_A) & 0x7f, 0x26);
	assert_int_equal(cmos_rd(f->r, REG_B), 0x02); /* 24 hour, BCD */
	assert_int_equal(cmos_rd(f->r, REG_C), 0x00);
	assert_int_equal(cmos_rd(f->r, REG_D), 0x80); /* VRT: battery good */
	assert_int_equal(io_rd8(rtc_io, f->r, 0), 0xff); /* index port is write-only */
	cmos_wr(f->r, REG_D, 0x00);
	assert_int_equal(cmos_rd(f->r, REG_D), 0x80);
}

static void test_host_time_bcd_and_binary(void **state)
{
	struct fx *f = *state;
	time_t now = time(NULL);
	uint8_t v;

	/* BCD: every digit is 0-9 */
	assert_near(rtc_time(f->r), now, 2);
	for (uint8_t idx = 0; idx <= R_YEAR; idx += (idx < 4) ? 2 : 1) {
		v = cmos_rd(f->r, idx);
		assert_true((v & 0x0f) <= 9 && (v >> 4) <= 9);
	}
	assert_int_equal(cmos_rd(f->r, R_CENTURY), 0x20);
	/* binary */
	cmos_wr(f->r, REG_B, B_24H | B_BIN);
	assert_near(rtc_time(f->r), time(NULL), 2);
	assert_int_equal(cmos_rd(f->r, R_CENTURY), 20);
	/* day of week follows the date: 1 = Sunday */
	set_clock(f->r, 2024, 3, 17, 10, 0, 0); /* a Sunday */
	assert_int_equal(cmos_rd(f->r, R_WDAY), 1);
	set_clock(f->r, 2024, 3, 20, 10, 0, 0); /* a Wednesday */
	assert_int_equal(cmos_rd(f->r, R_WDAY), 4);
}

static void test_12_hour_mode(void **state)
{
	struct fx *f = *state;
	static const struct {
		int hour;
		uint8_t bcd;
	} t[] = { { 0, 0x12 }, { 1, 0x01 }, { 11, 0x11 }, { 12, 0x92 }, { 13, 0x81 }, { 23, 0x91 } };

	cmos_wr(f->r, REG_B, 0x00); /* 12 hour, BCD */
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		set_clock(f->r, 2030, 6, 15, t[i].hour, 30, 0);
		assert_int_equal(cmos_rd(f->r, R_HOUR), t[i].bcd);
		/* the same instant reads as 24-hour after switching modes */
		cmos_wr(f->r, REG_B, B_24H);
		assert_int_equal(val(f->r, cmos_rd(f->r, R_HOUR)), t[i].hour);
		cmos_wr(f->r, REG_B, 0x00);
	}
	/* binary 12 hour: PM flag in bit 7 */
	cmos_wr(f->r, REG_B, B_BIN);
	set_clock(f->r, 2030, 6, 15, 13, 5, 0);
	assert_int_equal(cmos_rd(f->r, R_HOUR), 0x81);
	assert_near(rtc_time(f->r), rtc_time(f->r), 1);
}

static void test_set_time_moves_reads_by_offset(void **state)
{
	struct fx *f = *state;
	struct tm tm = { .tm_year = 2001 - 1900, .tm_mon = 1, .tm_mday = 3, .tm_hour = 4, .tm_min = 5, .tm_sec = 6 };
	time_t target = timegm(&tm);

	/* while SET is held the clock is frozen at what was written, and UIP is never reported */
	cmos_wr(f->r, REG_B, B_SET | B_24H);
	cmos_wr(f->r, R_YEAR, 0x01);
	cmos_wr(f->r, R_CENTURY, 0x20);
	cmos_wr(f->r, R_MON, 0x02);
	cmos_wr(f->r, R_MDAY, 0x03);
	cmos_wr(f->r, R_HOUR, 0x04);
	cmos_wr(f->r, R_MIN, 0x05);
	cmos_wr(f->r, R_SEC, 0x06);
	assert_int_equal(cmos_rd(f->r, R_YEAR), 0x01);
	assert_int_equal(cmos_rd(f->r, R_SEC), 0x06);
	assert_int_equal(cmos_rd(f->r, REG_A) & 0x80, 0);
	/* SET cleared: the clock runs from the written time */
	time_t host0 = time(NULL);
	cmos_wr(f->r, REG_B, B_24H);
	assert_near(rtc_time(f->r), target, 2);
	assert_int_equal(cmos_rd(f->r, R_YEAR), 0x01);
	assert_int_equal(cmos_rd(f->r, R_MON), 0x02);
	assert_int_equal(cmos_rd(f->r, R_MDAY), 0x03);
	assert_int_equal(cmos_rd(f->r, R_CENTURY), 0x20);
	/* it keeps running with the host: the offset is constant */
	struct timespec ts = { 1, 100000000 };
	nanosleep(&ts, NULL);
	time_t elapsed = time(NULL) - host0;
	assert_near(rtc_time(f->r), target + elapsed, 2);
	assert_true(rtc_time(f->r) > target);

	/* without SET a write changes one field of the running clock */
	cmos_wr(f->r, R_YEAR, 0x05);
	assert_int_equal(cmos_rd(f->r, R_YEAR), 0x05);
	assert_int_equal(cmos_rd(f->r, R_MON), 0x02);
	assert_int_equal(cmos_rd(f->r, R_CENTURY), 0x20);

	/* a second device is unaffected: the offset is per device */
	struct fake_irq irq2;
	struct irq_line l2 = fake_irq_line(&irq2);
	struct rtc *r2 = rtc_create(&l2);
	assert_near(rtc_time(r2), time(NULL), 2);
	rtc_ops.destroy(r2);
}

static void test_uip_not_stuck(void **state)
{
	struct fx *f = *state;
	struct timespec t0, t1;

	/* Linux waits for UIP to clear before reading: it must clear within a few hundred us */
	for (int i = 0; i < 5; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			if (!(cmos_rd(f->r, REG_A) & 0x80))
				break;
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) > 20000000L)
				fail_msg("UIP stuck for 20 ms");
		}
	}
	/* UIP is read-only */
	cmos_wr(f->r, REG_A, 0xa6);
	assert_int_equal(cmos_rd(f->r, REG_A) & 0x7f, 0x26);
}

static void test_nvram_and_index_masking(void **state)
{
	struct fx *f = *state;

	/* every non-clock byte is plain RAM */
	for (int i = 0x0e; i < 128; i++) {
		if (i == R_CENTURY)
			continue;
		cmos_wr(f->r, (uint8_t)i, (uint8_t)(i ^ 0x5a));
	}
	for (int i = 0x0e; i < 128; i++) {
		if (i == R_CENTURY)
			continue;
		assert_int_equal(cmos_rd(f->r, (uint8_t)i), i ^ 0x5a);
		/* index bit 7 is the NMI mask: same register */
		assert_int_equal(cmos_rd(f->r, (uint8_t)(i | 0x80)), i ^ 0x5a);
	}
	cmos_wr(f->r, 0x80 | 0x40, 0xab);
	assert_int_equal(cmos_rd(f->r, 0x40), 0xab);
	/* the VMM's memory-size bytes */
	rtc_set_cmos(f->r, 0x34, 0x12);
	rtc_set_cmos(f->r, 0x5d, 0x03);
	assert_int_equal(cmos_rd(f->r, 0x34), 0x12);
	assert_int_equal(cmos_rd(f->r, 0x5d), 0x03);
	rtc_set_cmos(f->r, 200, 0x99); /* out of range: ignored */
	/* a 2-byte write at the index port sets the index, then writes the data */
	io_wr16(rtc_io, f->r, 0, 0xcd41);
	assert_int_equal(cmos_rd(f->r, 0x41), 0xcd);
	/* a 2-byte read returns 0xff for the index port and the data byte */
	io_wr8(rtc_io, f->r, 0, 0x41);
	assert_int_equal(io_rd16(rtc_io, f->r, 0), 0xcdff);
}

static void test_reg_c_clears_on_read(void **state)
{
	struct fx *f = *state;

	rtc_set_cmos(f->r, REG_C, 0x90); /* IRQF | PF, as if an interrupt had fired */
	assert_int_equal(cmos_rd(f->r, REG_C), 0x90);
	assert_int_equal(cmos_rd(f->r, REG_C), 0x00);
	cmos_wr(f->r, REG_C, 0xff); /* read-only */
	assert_int_equal(cmos_rd(f->r, REG_C), 0x00);
	/* interrupt enables are stored even though no interrupt is generated */
	cmos_wr(f->r, REG_B, 0x72);
	assert_int_equal(cmos_rd(f->r, REG_B), 0x72);
	assert_int_equal(f->irq.raises, 0);
}

static void test_reset_and_save_load(void **state)
{
	struct fx *f = *state;
	uint8_t blob[512], bad[512];

	set_clock(f->r, 2040, 1, 2, 3, 4, 5);
	cmos_wr(f->r, 0x50, 0x42);
	cmos_wr(f->r, REG_B, 0x72 | B_SET); /* PIE AIE UIE 24h, SET held */
	rtc_ops.reset(f->r);
	assert_int_equal(cmos_rd(f->r, REG_B), 0x02); /* enables and SET cleared */
	assert_int_equal(cmos_rd(f->r, 0x50), 0x42);  /* NVRAM is battery backed */
	assert_int_equal(cmos_rd(f->r, R_CENTURY), 0x20);
	assert_int_equal(cmos_rd(f->r, R_YEAR), 0x40);   /* so is the clock */

	io_wr8(rtc_io, f->r, 0, 0x50);
	ssize_t n = rtc_ops.save(f->r, blob, sizeof(blob));
	assert_true(n > 8);
	assert_int_equal(rtc_ops.save(f->r, blob, (size_t)n - 1), -ENOSPC);

	struct fake_irq irq2;
	struct irq_line l2 = fake_irq_line(&irq2);
	struct rtc *r2 = rtc_create(&l2);
	memcpy(bad, blob, (size_t)n);
	bad[0] ^= 1;
	assert_int_equal(rtc_ops.load(r2, bad, (size_t)n), -EINVAL);
	memcpy(bad, blob, (size_t)n);
	bad[4] = 9; /* version */
	assert_int_equal(rtc_ops.load(r2, bad, (size_t)n), -EINVAL);
	memcpy(bad, blob, (size_t)n);
	bad[8] = 0x80; /* index out of range */
	assert_int_equal(rtc_ops.load(r2, bad, (size_t)n), -EINVAL);
	assert_int_equal(rtc_ops.load(r2, blob, (size_t)n - 1), -EINVAL);
	assert_int_equal(cmos_rd(r2, 0x50), 0x00); /* untouched by the failed loads */

	assert_int_equal(rtc_ops.load(r2, blob, (size_t)n), 0);
	assert_int_equal(io_rd8(rtc_io, r2, 1), 0x42); /* the index came along */
	assert_int_equal(cmos_rd(r2, R_YEAR), 0x40);
	assert_int_equal(cmos_rd(r2, R_MON), 0x01);
	assert_near(rtc_time(r2), rtc_time(f->r), 1);
	rtc_ops.destroy(r2);
}

static void test_hostile_accesses(void **state)
{
	struct fx *f = *state;
	uint8_t buf[8];

	for (int mode = 0; mode < 8; mode++) {
		cmos_wr(f->r, REG_B, (uint8_t)(mode << 1 | ((mode & 4) ? B_SET : 0)));
		/* garbage into every register, including invalid BCD in the clock */
		for (int i = 0; i < 256; i++) {
			cmos_wr(f->r, (uint8_t)i, 0xff);
			cmos_wr(f->r, (uint8_t)i, 0x00);
			cmos_wr(f->r, (uint8_t)i, 0x99);
		}
		for (uint64_t off = 0; off < 4; off++)
			for (uint32_t size = 1; size <= 8; size++)
				rtc_io(f->r, off, buf, size, false);
	}
	rtc_ops.reset(f->r);
	cmos_wr(f->r, REG_B, B_24H);
	set_clock(f->r, 2020, 2, 29, 12, 0, 0);
	assert_int_equal(cmos_rd(f->r, R_MDAY), 0x29);
	assert_int_equal(cmos_rd(f->r, R_MON), 0x02);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_time_bcd_and_binary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_12_hour_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_time_moves_reads_by_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uip_not_stuck, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvram_and_index_masking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reg_c_clears_on_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_and_save_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_accesses, setup, teardown),
	};
	return cmocka_run_group_tests_name("rtc", tests, NULL, NULL);
}
