// SPDX-License-Identifier: MIT
/*
 * MC146818 CMOS real-time clock and NVRAM (Motorola MC146818A datasheet):
 * index port 0x70 (bit 7 masks NMI on a PC; ignored), data port 0x71, 128
 * bytes of which 0x00-0x0d are the clock and the rest battery-backed RAM.
 *
 * The time of day is the host's UTC time (CLOCK_REALTIME) plus an offset in
 * seconds that the guest sets by writing the time registers, normally with
 * SET (register B bit 7) held. Values are BCD or binary (B.DM) and the hour
 * is 12 or 24 hour (B.24/12; bit 7 of the hour is PM in 12-hour mode). The
 * century lives at 0x32, where the FADT CENTURY field points.
 *
 * Alarm, periodic and update-ended interrupts are not generated; their enable
 * bits in register B are stored so the guest reads back what it wrote.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmkit/dev.h"
#include "vmkit/util.h"

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
#define RTC_NVRAM_SIZE 128

#define REG_A_UIP 0x80
#define REG_B_SET 0x80
#define REG_B_PIE 0x40
#define REG_B_AIE 0x20
#define REG_B_UIE 0x10
#define REG_B_SQWE 0x08
#define REG_B_DM_BINARY 0x04
#define REG_B_24H 0x02
#define REG_D_VRT 0x80

/* UIP is high for 244 us before each update (datasheet, "Update cycle"). */
#define UIP_NS 244000L

/* Saved state: magic, version, payload length, then the fields (little-endian). */
#define RTC_STATE_MAGIC 0x43545256 /* "VRTC" little-endian */
#define RTC_STATE_VERSION 1
#define RTC_STATE_PAYLOAD (1 + RTC_NVRAM_SIZE + 8 + 6 * 4)
#define RTC_STATE_LEN (STATE_HDR_LEN + RTC_STATE_PAYLOAD)

/* Limits on a guest clock offset (about +-31700 years): keeps time_t arithmetic far from overflow. */
#define RTC_MAX_OFFSET 1000000000000LL

/* The calendar fields the guest can write; tm_* meanings. */
struct rtc_fields {
	int sec, min, hour, mday, mon, year;
};

struct rtc {
	pthread_mutex_t lock;
	struct irq_line irq;
	uint8_t index;
	uint8_t cmos[RTC_NVRAM_SIZE]; /* clock registers 0x00-0x09 and 0x32 are computed, not stored */
	int64_t offset;               /* guest time - host time, seconds */
	struct rtc_fields set;        /* time being written while SET is held */
};

static bool binary_mode(const struct rtc *r)
{
	return r->cmos[RTC_REG_B] & REG_B_DM_BINARY;
}

static uint8_t to_reg(const struct rtc *r, unsigned int v)
{
	v %= 100; /* every field fits two BCD digits */
	return binary_mode(r) ? (uint8_t)v : (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* Out-of-range BCD digits (a hostile guest) give out-of-range values, which timegm() normalises. */
static int from_reg(const struct rtc *r, uint8_t v)
{
	return binary_mode(r) ? v : (v >> 4) * 10 + (v & 0xf);
}

static void host_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

static void fields_from_time(struct rtc_fields *f, int64_t t, int *wday)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm))
		memset(&tm, 0, sizeof(tm));
	*f = (struct rtc_fields){ tm.tm_sec, tm.tm_min, tm.tm_hour, tm.tm_mday, tm.tm_mon, tm.tm_year };
	if (wday)
		*wday = tm.tm_wday;
}

/* The clock as the guest sees it: the frozen copy while SET is held, else host time + offset. */
static void guest_fields(const struct rtc *r, struct rtc_fields *f, int *wday)
{
	struct timespec ts;
	struct tm tm;

	if (r->cmos[RTC_REG_B] & REG_B_SET) {
		*f = r->set;
		if (wday) {
			tm = (struct tm){ .tm_sec = f->sec, .tm_min = f->min, .tm_hour = f->hour,
					  .tm_mday = f->mday, .tm_mon = f->mon, .tm_year = f->year };
			*wday = timegm(&tm) == (time_t)-1 ? 0 : tm.tm_wday;
		}
		return;
	}
	host_now(&ts);
	fields_from_time(f, (int64_t)ts.tv_sec + r->offset, wday);
}

static uint8_t read_time_reg(struct rtc *r, uint8_t idx)
{
	struct rtc_fields f;
	int wday, h;

	guest_fields(r, &f, &wday);
	switch (idx) {
	case RTC_SECONDS:
		return to_reg(r, (unsigned int)f.sec);
	case RTC_MINUTES:
		return to_reg(r, (unsigned int)f.min);
	case RTC_HOURS:
		if (r->cmos[RTC_REG_B] & REG_B_24H)
			return to_reg(r, (unsigned int)f.hour);
		h = f.hour % 12;
		return (uint8_t)(to_reg(r, (unsigned int)(h ? h : 12)) | (f.hour >= 12 ? 0x80 : 0));
	case RTC_DAY_OF_WEEK:
		return to_reg(r, (unsigned int)wday + 1); /* 1 = Sunday */
	case RTC_DAY_OF_MONTH:
		return to_reg(r, (unsigned int)f.mday);
	case RTC_MONTH:
		return to_reg(r, (unsigned int)f.mon + 1);
	case RTC_YEAR:
		return to_reg(r, (unsigned int)((f.year + 1900) % 100));
	default: /* RTC_CENTURY */
		return to_reg(r, (unsigned int)((f.year + 1900) / 100));
	}
}

/* The guest finished setting the clock: remember how far it is from host time. */
static void commit_time(struct rtc *r, const struct rtc_fields *f)
{
	struct tm tm = { .tm_sec = f->sec, .tm_min = f->min, .tm_hour = f->hour,
			 .tm_mday = f->mday, .tm_mon = f->mon, .tm_year = f->year };
	struct timespec ts;
	time_t t = timegm(&tm);
	int64_t off;

	host_now(&ts);
	off = (int64_t)t - (int64_t)ts.tv_sec;
	if (t != (time_t)-1 && off > -RTC_MAX_OFFSET && off < RTC_MAX_OFFSET)
		r->offset = off;
}

static void write_time_reg(struct rtc *r, uint8_t idx, uint8_t v)
{
	bool held = r->cmos[RTC_REG_B] & REG_B_SET;
	struct rtc_fields f;
	int h, years;

	/* Without SET, a write changes one field of the running clock at once. */
	guest_fields(r, &f, NULL);
	years = f.year + 1900;
	switch (idx) {
	case RTC_SECONDS:
		f.sec = from_reg(r, v) % 60;
		break;
	case RTC_MINUTES:
		f.min = from_reg(r, v) % 60;
		break;
	case RTC_HOURS:
		if (r->cmos[RTC_REG_B] & REG_B_24H) {
			f.hour = from_reg(r, v) % 24;
		} else {
			h = from_reg(r, v & 0x7f) % 12; /* 12 AM is hour 0, 12 PM hour 12 */
			f.hour = h + ((v & 0x80) ? 12 : 0);
		}
		break;
	case RTC_DAY_OF_WEEK:
		return; /* derived from the date */
	case RTC_DAY_OF_MONTH:
		f.mday = from_reg(r, v);
		break;
	case RTC_MONTH:
		f.mon = from_reg(r, v) - 1;
		break;
	case RTC_YEAR:
		f.year = (years / 100) * 100 + from_reg(r, v) % 100 - 1900;
		break;
	default: /* RTC_CENTURY */
		f.year = from_reg(r, v) * 100 + years % 100 - 1900;
		break;
	}
	if (held)
		r->set = f;
	else
		commit_time(r, &f);
}

static bool is_time_reg(uint8_t idx)
{
	return idx <= RTC_YEAR ? !(idx == 1 || idx == 3 || idx == 5) : idx == RTC_CENTURY;
}

static uint8_t cmos_read(struct rtc *r, uint8_t idx)
{
	struct timespec ts;
	uint8_t v;

	if (is_time_reg(idx))
		return read_time_reg(r, idx);
	switch (idx) {
	case RTC_REG_A:
		/*
		 * UIP is set in the last 244 us before each second's update, so
		 * a guest that waits for it to clear (Linux mc146818_get_time)
		 * waits at most that long.
		 */
		v = r->cmos[RTC_REG_A] & ~REG_A_UIP;
		host_now(&ts);
		if (ts.tv_nsec >= 1000000000L - UIP_NS && !(r->cmos[RTC_REG_B] & REG_B_SET))
			v |= REG_A_UIP;
		return v;
	case RTC_REG_C:
		v = r->cmos[RTC_REG_C];
		r->cmos[RTC_REG_C] = 0; /* flags clear on read */
		return v;
	case RTC_REG_D:
		return REG_D_VRT; /* battery good */
	default:
		return r->cmos[idx];
	}
}

static void cmos_write(struct rtc *r, uint8_t idx, uint8_t v)
{
	uint8_t old;

	if (is_time_reg(idx)) {
		write_time_reg(r, idx, v);
		return;
	}
	switch (idx) {
	case RTC_REG_A:
		r->cmos[idx] = v & ~REG_A_UIP; /* UIP is read-only */
		break;
	case RTC_REG_B:
		old = r->cmos[RTC_REG_B];
		if ((v & REG_B_SET) && !(old & REG_B_SET))
			guest_fields(r, &r->set, NULL); /* freeze: writes start from the current time */
		r->cmos[idx] = v;
		if (!(v & REG_B_SET) && (old & REG_B_SET))
			commit_time(r, &r->set); /* SET cleared: the clock runs from the written time */
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break; /* read-only */
	default:
		r->cmos[idx] = v;
	}
}

void rtc_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct rtc *r = opaque;

	pthread_mutex_lock(&r->lock);
	for (uint32_t i = 0; i < size; i++) {
		if (((off + i) & 1) == 0) {
			if (is_write)
				r->index = data[i] & 0x7f; /* bit 7 is the PC's NMI mask */
			else
				data[i] = 0xff; /* the index port is write-only */
		} else if (is_write) {
			cmos_write(r, r->index, data[i]);
		} else {
			data[i] = cmos_read(r, r->index);
		}
	}
	pthread_mutex_unlock(&r->lock);
}

void rtc_set_cmos(struct rtc *r, uint8_t idx, uint8_t val)
{
	if (!r || idx >= RTC_NVRAM_SIZE)
		return;
	pthread_mutex_lock(&r->lock);
	r->cmos[idx] = val;
	pthread_mutex_unlock(&r->lock);
}

struct rtc *rtc_create(const struct irq_line *irq)
{
	struct rtc *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (pthread_mutex_init(&r->lock, NULL)) {
		free(r);
		return NULL;
	}
	if (irq)
		r->irq = *irq;
	r->cmos[RTC_REG_A] = 0x26; /* 32.768 kHz time base, 1.024 kHz periodic rate */
	r->cmos[RTC_REG_B] = REG_B_24H;
	r->cmos[RTC_REG_D] = REG_D_VRT;
	return r;
}

static void rtc_reset(void *dev)
{
	struct rtc *r = dev;

	/*
	 * NVRAM and the clock survive a reset (battery backed). RESET clears
	 * the interrupt enables and flags (datasheet, "RESET"); SET is dropped
	 * too so a guest reset mid-update does not leave the clock frozen.
	 */
	pthread_mutex_lock(&r->lock);
	r->cmos[RTC_REG_B] &= ~(REG_B_SET | REG_B_PIE | REG_B_AIE | REG_B_UIE | REG_B_SQWE);
	r->cmos[RTC_REG_C] = 0;
	pthread_mutex_unlock(&r->lock);
}

static ssize_t rtc_save(void *dev, void *buf, size_t cap)
{
	struct rtc *r = dev;
	uint8_t *b = buf, *p;
	int f[6];

	if (cap < RTC_STATE_LEN)
		return -ENOSPC;
	state_hdr_put(b, RTC_STATE_MAGIC, RTC_STATE_VERSION, RTC_STATE_PAYLOAD);
	p = b + STATE_HDR_LEN;
	pthread_mutex_lock(&r->lock);
	*p++ = r->index;
	memcpy(p, r->cmos, RTC_NVRAM_SIZE);
	p += RTC_NVRAM_SIZE;
	put_le64(p, (uint64_t)r->offset);
	p += 8;
	f[0] = r->set.sec;
	f[1] = r->set.min;
	f[2] = r->set.hour;
	f[3] = r->set.mday;
	f[4] = r->set.mon;
	f[5] = r->set.year;
	pthread_mutex_unlock(&r->lock);
	for (int i = 0; i < 6; i++, p += 4)
		put_le32(p, (uint32_t)f[i]);
	return RTC_STATE_LEN;
}

static bool in_range(int v, int lo, int hi)
{
	return v >= lo && v <= hi;
}

static int rtc_load(void *dev, const void *buf, size_t len)
{
	struct rtc *r = dev;
	const uint8_t *b = buf, *p;
	uint8_t index, cmos[RTC_NVRAM_SIZE];
	struct rtc_fields set;
	int64_t offset;
	int f[6];

	if (!state_hdr_ok(b, len, RTC_STATE_MAGIC, RTC_STATE_VERSION, RTC_STATE_PAYLOAD))
		return -EINVAL;
	p = b + STATE_HDR_LEN;
	index = *p++;
	memcpy(cmos, p, RTC_NVRAM_SIZE);
	p += RTC_NVRAM_SIZE;
	offset = (int64_t)get_le64(p);
	p += 8;
	for (int i = 0; i < 6; i++, p += 4)
		f[i] = (int32_t)get_le32(p);
	set = (struct rtc_fields){ f[0], f[1], f[2], f[3], f[4], f[5] };
	/* Only what a guest could have produced through the registers. */
	if (index >= RTC_NVRAM_SIZE || (cmos[RTC_REG_A] & REG_A_UIP) ||
	    offset <= -RTC_MAX_OFFSET || offset >= RTC_MAX_OFFSET)
		return -EINVAL;
	if (!in_range(set.sec, 0, 60) || !in_range(set.min, 0, 59) || !in_range(set.hour, 0, 23) ||
	    !in_range(set.mday, 0, 255) || !in_range(set.mon, -1, 254) || !in_range(set.year, -1900, 25600))
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	r->index = index;
	memcpy(r->cmos, cmos, RTC_NVRAM_SIZE);
	r->offset = offset;
	r->set = set;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static void rtc_destroy(void *dev)
{
	struct rtc *r = dev;

	if (!r)
		return;
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
