// SPDX-License-Identifier: MIT
/*
 * The CMOS RTC (MC146818, ports 0x70/0x71): 24-hour BCD time read the way
 * kernels do (wait for UIP clear, read until two reads agree) matches the
 * host clock passed as now=<epoch seconds> within 120 s; the seconds advance
 * (timed by the ACPI PM timer); an NVRAM byte keeps what is written.
 */
#include "lib.h"

const char *test_name = "rtc";

static uint8_t cmos(uint8_t idx)
{
	outb(0x70, idx);
	return inb(0x71);
}

static unsigned int bcd(uint8_t v) { return (v >> 4) * 10 + (v & 15); }

/* days since 1970-01-01 of a proleptic Gregorian date */
static int64_t days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned int yoe = (unsigned int)(y - era * 400);
	unsigned int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

struct tm_ {
	uint8_t s, mi, h, d, mo, y, c;
};

static void read_raw(struct tm_ *t)
{
	uint64_t t0 = clock_us();

	while (cmos(0x0a) & 0x80) /* register A UIP: an update is in progress */
		if (clock_us() - t0 > 1000000)
			fail("UIP stuck for 1 s");
	t->s = cmos(0);
	t->mi = cmos(2);
	t->h = cmos(4);
	t->d = cmos(7);
	t->mo = cmos(8);
	t->y = cmos(9);
	t->c = cmos(0x32);
}

static int64_t read_time(struct tm_ *t)
{
	struct tm_ u;

	for (int i = 0;; i++) {
		read_raw(t);
		read_raw(&u);
		if (!memcmp_(t, &u, sizeof(u)))
			break;
		if (i == 10)
			fail("CMOS time never stable");
	}
	if (bcd(t->mo) < 1 || bcd(t->mo) > 12 || bcd(t->d) < 1 || bcd(t->d) > 31 || bcd(t->h) > 23 || bcd(t->mi) > 59 ||
	    bcd(t->s) > 59)
		fail("CMOS time out of range: %x-%x %x:%x:%x", t->mo, t->d, t->h, t->mi, t->s);
	return days_from_civil(bcd(t->c) * 100 + bcd(t->y), bcd(t->mo), bcd(t->d)) * 86400 + bcd(t->h) * 3600 +
	       bcd(t->mi) * 60 + bcd(t->s);
}

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	int64_t now = (int64_t)arg_num("now", 0), t, t2;
	uint8_t b = cmos(0x0b), saved;
	struct tm_ tm;
	uint64_t t0, us;

	printf_("register A 0x%x B 0x%x D 0x%x\n", cmos(0x0a), b, cmos(0x0d));
	CHECK(b & 0x02);   /* 24-hour mode */
	CHECK(!(b & 0x04)); /* BCD */
	CHECK(cmos(0x0d) & 0x80); /* valid RAM and time */
	t = read_time(&tm);
	printf_("rtc 20%2x-%2x-%2x %2x:%2x:%2x = %ld, host %ld\n", tm.y, tm.mo, tm.d, tm.h, tm.mi, tm.s, t, now);
	CHECK(bcd(tm.c) == 20 || bcd(tm.c) == 21);
	if (!now)
		fail("no now= on the command line");
	CHECK(t > now - 120 && t < now + 120);

	/* the seconds advance: two changes of the seconds register within 2.5 s */
	t0 = clock_us();
	for (int changes = 0; changes < 2;) {
		uint8_t s = cmos(0);

		while (cmos(0) == s)
			if (clock_us() - t0 > 2500000)
				fail("RTC seconds did not advance twice in 2.5 s");
		changes++;
	}
	us = clock_us() - t0;
	t2 = read_time(&tm);
	printf_("two second ticks in %lu us; time now %ld\n", us, t2);
	CHECK(us > 900000); /* the first change can come at once, the second one 1 s later */
	CHECK(t2 >= t + 1 && t2 <= t + 5);

	/* NVRAM: a free byte keeps a value, then the old one */
	saved = cmos(0x40);
	outb(0x70, 0x40);
	outb(0x71, 0xa5);
	CHECK(cmos(0x40) == 0xa5);
	outb(0x70, 0x40);
	outb(0x71, 0x5a);
	CHECK(cmos(0x40) == 0x5a);
	outb(0x70, 0x40);
	outb(0x71, saved);
	pass();
}
