// SPDX-License-Identifier: MIT
/*
 * MC146818 CMOS real-time clock and NVRAM (Motorola MC146818A datasheet):
 * index port 0x70 (bit 7 masks NMI, ignored), data port 0x71. The time of
 * day is the host's UTC time plus an offset the guest sets by writing the
 * time registers with SET (register B bit 7). BCD or binary (B.DM), 12 or
 * 24 hour (B.24/12). Alarms and periodic interrupts are not emulated; their
 * enable bits are stored.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmkit/dev.h"

#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS 0x04
#define RTC_DAY_OF_WEEK 0x06
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32

#define REG_A_UIP 0x80
#define REG_B_SET 0x80
#define REG_B_DM_BINARY 0x04
#define REG_B_24H 0x02
#define REG_D_VRT 0x80

#define RTC_STATE_MAGIC 0x52544331 /* "RTC1" */

struct rtc_state {
	uint32_t magic;
	uint8_t index;
	uint8_t cmos[128];
	int64_t offset; /* guest time - host time, seconds */
};

struct rtc {
	pthread_mutex_t lock;
	struct irq_line irq;
	struct rtc_state s;
	struct tm set_tm; /* time being written while SET is on */
};

static uint8_t to_bcd(const struct rtc *r, unsigned int v)
{
	return (r->s.cmos[RTC_REG_B] & REG_B_DM_BINARY) ? (uint8_t)v : (uint8_t)(((v / 10) << 4) | (v % 10));
}

static unsigned int from_bcd(const struct rtc *r, uint8_t v)
{
	return (r->s.cmos[RTC_REG_B] & REG_B_DM_BINARY) ? v : (unsigned int)((v >> 4) * 10 + (v & 0xf));
}

static void guest_tm(const struct rtc *r, struct tm *tm)
{
	time_t t = time(NULL) + (time_t)r->s.offset;

	gmtime_r(&t, tm);
}

static uint8_t read_time_reg(struct rtc *r, uint8_t idx)
{
	struct tm tm;
	unsigned int h;

	guest_tm(r, &tm);
	switch (idx) {
	case RTC_SECONDS:
		return to_bcd(r, (unsigned int)tm.tm_sec);
	case RTC_MINUTES:
		return to_bcd(r, (unsigned int)tm.tm_min);
	case RTC_HOURS:
		if (r->s.cmos[RTC_REG_B] & REG_B_24H)
			return to_bcd(r, (unsigned int)tm.tm_hour);
		h = (unsigned int)tm.tm_hour % 12;
		return (uint8_t)(to_bcd(r, h ? h : 12) | (tm.tm_hour >= 12 ? 0x80 : 0));
	case RTC_DAY_OF_WEEK:
		return to_bcd(r, (unsigned int)tm.tm_wday + 1);
	case RTC_DAY_OF_MONTH:
		return to_bcd(r, (unsigned int)tm.tm_mday);
	case RTC_MONTH:
		return to_bcd(r, (unsigned int)tm.tm_mon + 1);
	case RTC_YEAR:
		return to_bcd(r, (unsigned int)tm.tm_year % 100);
	default: /* RTC_CENTURY */
		return to_bcd(r, (unsigned int)(tm.tm_year + 1900) / 100);
	}
}

/* The guest finished setting the clock: remember how far it is from host time. */
static void commit_set_time(struct rtc *r)
{
	struct tm tm = r->set_tm;
	time_t t = timegm(&tm);

	if (t != (time_t)-1)
		r->s.offset = (int64_t)t - (int64_t)time(NULL);
}

static void write_time_reg(struct rtc *r, uint8_t idx, uint8_t v)
{
	struct tm *tm = &r->set_tm;
	unsigned int h;

	/* Without SET, a write changes one field of the running clock. */
	if (!(r->s.cmos[RTC_REG_B] & REG_B_SET))
		guest_tm(r, tm);
	switch (idx) {
	case RTC_SECONDS:
		tm->tm_sec = (int)from_bcd(r, v) % 60;
		break;
	case RTC_MINUTES:
		tm->tm_min = (int)from_bcd(r, v) % 60;
		break;
	case RTC_HOURS:
		if (r->s.cmos[RTC_REG_B] & REG_B_24H) {
			tm->tm_hour = (int)from_bcd(r, v) % 24;
		} else {
			h = from_bcd(r, v & 0x7f) % 12;
			tm->tm_hour = (int)h + ((v & 0x80) ? 12 : 0);
		}
		break;
	case RTC_DAY_OF_WEEK:
		break; /* derived from the date */
	case RTC_DAY_OF_MONTH:
		tm->tm_mday = (int)from_bcd(r, v);
		break;
	case RTC_MONTH:
		tm->tm_mon = (int)from_bcd(r, v) - 1;
		break;
	case RTC_YEAR:
		tm->tm_year = (tm->tm_year / 100) * 100 + (int)from_bcd(r, v) % 100;
		break;
	case RTC_CENTURY:
		tm->tm_year = ((int)from_bcd(r, v) * 100 - 1900) + tm->tm_year % 100;
		break;
	}
	if (!(r->s.cmos[RTC_REG_B] & REG_B_SET))
		commit_set_time(r);
}

static bool is_time_reg(uint8_t idx)
{
	return idx <= RTC_YEAR ? !(idx == 1 || idx == 3 || idx == 5) : idx == RTC_CENTURY;
}

static uint8_t cmos_read(struct rtc *r, uint8_t idx)
{
	uint8_t v;

	if (is_time_reg(idx))
		return read_time_reg(r, idx);
	switch (idx) {
	case RTC_REG_A: {
		/* UIP is set in the last 244 us before each second's update (datasheet Figure 3). */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		v = r->s.cmos[RTC_REG_A] & 0x7f;
		if (ts.tv_nsec >= 1000000000L - 244000L && !(r->s.cmos[RTC_REG_B] & REG_B_SET))
			v |= REG_A_UIP;
		return v;
	}
	case RTC_REG_C:
		v = r->s.cmos[RTC_REG_C];
		r->s.cmos[RTC_REG_C] = 0; /* flags clear on read */
		irq_line_set(&r->irq, 0);
		return v;
	case RTC_REG_D:
		return REG_D_VRT;
	default:
		return r->s.cmos[idx];
	}
}

static void cmos_write(struct rtc *r, uint8_t idx, uint8_t v)
{
	if (is_time_reg(idx)) {
		write_time_reg(r, idx, v);
		return;
	}
	switch (idx) {
	case RTC_REG_A:
		r->s.cmos[idx] = v & 0x7f; /* UIP is read-only */
		break;
	case RTC_REG_B:
		if ((v & REG_B_SET) && !(r->s.cmos[RTC_REG_B] & REG_B_SET))
			guest_tm(r, &r->set_tm); /* start from the current time */
		if (!(v & REG_B_SET) && (r->s.cmos[RTC_REG_B] & REG_B_SET)) {
			r->s.cmos[idx] = v;
			commit_set_time(r); /* SET cleared: the clock runs from the written time */
		}
		r->s.cmos[idx] = v;
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break; /* read-only */
	default:
		r->s.cmos[idx] = v;
	}
}

void rtc_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct rtc *r = opaque;

	pthread_mutex_lock(&r->lock);
	for (uint32_t i = 0; i < size; i++) {
		if (((off + i) & 1) == 0) {
			if (is_write)
				r->s.index = data[i] & 0x7f;
			else
				data[i] = 0xff; /* the index port is write-only */
		} else if (is_write) {
			cmos_write(r, r->s.index, data[i]);
		} else {
			data[i] = cmos_read(r, r->s.index);
		}
	}
	pthread_mutex_unlock(&r->lock);
}

void rtc_set_cmos(struct rtc *r, uint8_t idx, uint8_t val)
{
	if (idx >= 128)
		return;
	pthread_mutex_lock(&r->lock);
	r->s.cmos[idx] = val;
	pthread_mutex_unlock(&r->lock);
}

static void rtc_power_on(struct rtc *r)
{
	r->s.magic = RTC_STATE_MAGIC;
	r->s.cmos[RTC_REG_A] = 0x26; /* 32.768 kHz time base, 1.024 kHz rate */
	r->s.cmos[RTC_REG_B] = REG_B_24H;
	r->s.cmos[RTC_REG_C] = 0;
	r->s.cmos[RTC_REG_D] = REG_D_VRT;
}

struct rtc *rtc_create(const struct irq_line *irq)
{
	struct rtc *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	r->irq = *irq;
	rtc_power_on(r);
	return r;
}

static void rtc_reset(void *dev)
{
	struct rtc *r = dev;

	/* NVRAM and the clock survive a reset (battery backed); control registers do not. */
	pthread_mutex_lock(&r->lock);
	r->s.cmos[RTC_REG_B] &= ~(REG_B_SET | 0x70);
	r->s.cmos[RTC_REG_C] = 0;
	pthread_mutex_unlock(&r->lock);
}

static ssize_t rtc_save(void *dev, void *buf, size_t cap)
{
	struct rtc *r = dev;

	if (cap < sizeof(r->s))
		return -ENOSPC;
	pthread_mutex_lock(&r->lock);
	memcpy(buf, &r->s, sizeof(r->s));
	pthread_mutex_unlock(&r->lock);
	return sizeof(r->s);
}

static int rtc_load(void *dev, const void *buf, size_t len)
{
	struct rtc *r = dev;
	struct rtc_state s;

	if (len != sizeof(s))
		return -EINVAL;
	memcpy(&s, buf, sizeof(s));
	if (s.magic != RTC_STATE_MAGIC || s.index >= 128)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	r->s = s;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static void rtc_destroy(void *dev)
{
	struct rtc *r = dev;

	pthread_mutex_destroy(&r->lock);
	free(r);
}

const struct device_ops rtc_ops = {
	.name = "rtc",
	.reset = rtc_reset,
	.save = rtc_save,
	.load = rtc_load,
	.destroy = rtc_destroy,
};
