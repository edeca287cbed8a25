// SPDX-License-Identifier: MIT
/* CMOS time of day matches the host clock (now= on the command line); NVRAM keeps a byte. */
#include "lib.h"

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

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	uint8_t s, mi, h, d, mo, y, c;
	int64_t now = (int64_t)arg_num("now", 0), t;

	CHECK("rtc", cmos(0x0b) & 0x02); /* 24-hour mode */
	for (int i = 0; i < 100000 && (cmos(0x0a) & 0x80); i++)
		;
	do {
		s = cmos(0);
		mi = cmos(2);
		h = cmos(4);
		d = cmos(7);
		mo = cmos(8);
		y = cmos(9);
		c = cmos(0x32);
	} while (s != cmos(0));
	t = days_from_civil(bcd(c) * 100 + bcd(y), bcd(mo), bcd(d)) * 86400 + bcd(h) * 3600 + bcd(mi) * 60 + bcd(s);
	puts_("rtc epoch ");
	putu((uint64_t)t);
	putc_('\n');
	CHECK("rtc", now == 0 || (t > now - 300 && t < now + 300));
	outb(0x70, 0x40);
	outb(0x71, 0xa5);
	CHECK("rtc", cmos(0x40) == 0xa5);
	CHECK("rtc", cmos(0x0d) & 0x80);
	pass("rtc");
}
