// SPDX-License-Identifier: MIT
/*
 * ACPI fixed hardware (ACPI 6.4 s4.8): the PM1a event block (PM1_STS,
 * PM1_EN; s4.8.3.1), the PM1a control block (SCI_EN, SLP_TYP, SLP_EN;
 * s4.8.3.2) and the 24-bit PM timer at 3.579545 MHz (s4.8.3.3), laid out as
 * one 12-byte I/O block:
 *
 *   0  PM1_STS (2)   2  PM1_EN (2)   4  PM1_CNT (2)   6  reserved (2)   8  PM_TMR (4)
 *
 * Writing SLP_EN with the S5 sleep type powers the machine off; other sleep
 * states are not supported: the request is counted and the machine "wakes"
 * at once (WAK_STS set) so an OS polling for wake does not spin forever.
 * There is no SMI_CMD, so the hardware is always in ACPI mode: SCI_EN reads 1.
 *
 * Also the reset control register at 0xcf9 that the FADT names as RESET_REG
 * (s4.8.3.6): writing RST_CPU (with SYS_RST: 0x06, or FULL_RST too: 0x0e)
 * resets the machine.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmkit/dev.h"
#include "vmkit/log.h"
#include "vmkit/util.h"
#include "vmkit/x86.h"

/* PM1 status/enable bits (ACPI 6.4 tables 4.16-4.19) */
#define PM1_TMR 0x0001
#define PM1_BM 0x0010
#define PM1_GBL 0x0020
#define PM1_PWRBTN 0x0100
#define PM1_SLPBTN 0x0200
#define PM1_RTC 0x0400
#define PM1_WAK 0x8000
#define PM1_STS_MASK (PM1_TMR | PM1_BM | PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | PM1_RTC | PM1_WAK)
/* Enable bits sit at the status bits' positions; OSPM checks that they stick. */
#define PM1_EN_MASK (PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | PM1_RTC)

#define PM1_CNT_SCI_EN 0x0001
#define PM1_CNT_BM_RLD 0x0002
#define PM1_CNT_GBL_RLS 0x0004
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP_MASK 0x1c00
#define PM1_CNT_SLP_EN 0x2000
/* Stored bits; SCI_EN is fixed at 1, SLP_EN and GBL_RLS are write-only. */
#define PM1_CNT_MASK (PM1_CNT_BM_RLD | PM1_CNT_SLP_TYP_MASK)

#define PM_STS_OFF 0
#define PM_EN_OFF 2
#define PM_CNT_OFF 4
#define PM_TMR_OFF 8

#define PM_TIMER_HZ 3579545ULL
#define PM_TIMER_MASK 0xffffffULL
#define PM_TIMER_MSB_SHIFT 23 /* TMR_STS: bit 23 of the counter changed (s4.8.3.3) */

/* Reset control register (Intel PCH "RST_CNT" at 0xcf9) */
#define RST_CNT_SYS_RST 0x02
#define RST_CNT_RST_CPU 0x04

/* Saved state: magic, version, payload length, then the fields (little-endian). */
#define ACPI_PM_STATE_MAGIC 0x4d505056 /* "VPPM" little-endian */
#define ACPI_PM_STATE_VERSION 1
#define ACPI_PM_STATE_PAYLOAD 7
#define ACPI_PM_STATE_LEN (STATE_HDR_LEN + ACPI_PM_STATE_PAYLOAD)

struct acpi_pm {
	pthread_mutex_t lock;
	struct irq_line sci;
	struct machine_ctl ctl;
	uint16_t sts, en, cnt;
	uint8_t rst_cnt;
	int sci_level;          /* level last driven on the SCI line */
	uint64_t tmr_epoch;     /* counter >> 23 when TMR_STS was last brought up to date */
	/* counters */
	uint64_t ignored_sleeps, resets, poweroffs;
};

/* 64-bit tick count of the 3.579545 MHz clock since CLOCK_MONOTONIC's origin. */
static uint64_t pm_ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* ticks = ns * 3579545 / 1e9, split so nothing overflows */
	return (uint64_t)ts.tv_sec * PM_TIMER_HZ + (uint64_t)ts.tv_nsec * PM_TIMER_HZ / 1000000000ULL;
}

static void update_sci(struct acpi_pm *pm)
{
	int level = (pm->sts & pm->en & PM1_EN_MASK) != 0;

	if (level != pm->sci_level) {
		pm->sci_level = level;
		irq_line_set(&pm->sci, level);
	}
}

/*
 * TMR_STS is set each time the counter's bit 23 toggles. Nothing runs in the
 * background, so it is brought up to date whenever the guest looks at the
 * block: an OS that enables TMR_EN sees its SCI on its next PM access, not
 * on the exact tick.
 */
static void update_tmr_sts(struct acpi_pm *pm, uint64_t ticks)
{
	uint64_t epoch = ticks >> PM_TIMER_MSB_SHIFT;

	if (epoch != pm->tmr_epoch) {
		pm->tmr_epoch = epoch;
		pm->sts |= PM1_TMR;
	}
}

/* The block as little-endian bytes. */
static uint8_t reg_byte(const struct acpi_pm *pm, unsigned int off, uint32_t tmr)
{
	uint16_t cnt = (uint16_t)(pm->cnt | PM1_CNT_SCI_EN); /* SLP_EN reads 0: it is not stored */

	switch (off) {
	case PM_STS_OFF: return (uint8_t)pm->sts;
	case PM_STS_OFF + 1: return (uint8_t)(pm->sts >> 8);
	case PM_EN_OFF: return (uint8_t)pm->en;
	case PM_EN_OFF + 1: return (uint8_t)(pm->en >> 8);
	case PM_CNT_OFF: return (uint8_t)cnt;
	case PM_CNT_OFF + 1: return (uint8_t)(cnt >> 8);
	case PM_TMR_OFF ... PM_TMR_OFF + 3: return (uint8_t)(tmr >> (8 * (off - PM_TMR_OFF)));
	default: return 0; /* reserved */
	}
}

/* A PM1_CNT write; returns true if the machine must power off. */
static bool write_cnt(struct acpi_pm *pm, uint16_t v)
{
	unsigned int typ = (v & PM1_CNT_SLP_TYP_MASK) >> PM1_CNT_SLP_TYP_SHIFT;

	pm->cnt = v & PM1_CNT_MASK;
	if (!(v & PM1_CNT_SLP_EN))
		return false;
	if (typ == X86_ACPI_SLP_TYP_S5) {
		pm->poweroffs++;
		return true;
	}
	pm->ignored_sleeps++;
	pm->sts |= PM1_WAK;
	log_ratelimited(LOG_WARN, "acpi: sleep type %u is not supported; the guest wakes at once", typ);
	return false;
}

void acpi_pm_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct acpi_pm *pm = opaque;
	bool poweroff = false;
	uint64_t ticks;
	uint32_t tmr;

	if (off >= X86_ACPI_PM_LEN || size > X86_ACPI_PM_LEN - off) {
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	ticks = pm_ticks();
	tmr = (uint32_t)(ticks & PM_TIMER_MASK);
	pthread_mutex_lock(&pm->lock);
	update_tmr_sts(pm, ticks);
	if (!is_write) {
		for (uint32_t i = 0; i < size; i++)
			data[i] = reg_byte(pm, (unsigned int)off + i, tmr);
		goto out;
	}
	for (uint32_t i = 0; i < size; i++) {
		unsigned int o = (unsigned int)off + i;
		uint16_t v = data[i];

		switch (o) {
		case PM_STS_OFF: /* write 1 to clear */
		case PM_STS_OFF + 1:
			pm->sts &= (uint16_t)~((v << (8 * (o - PM_STS_OFF))) & PM1_STS_MASK);
			break;
		case PM_EN_OFF:
			pm->en = (uint16_t)(((pm->en & 0xff00) | v) & PM1_EN_MASK);
			break;
		case PM_EN_OFF + 1:
			pm->en = (uint16_t)(((pm->en & 0x00ff) | v << 8) & PM1_EN_MASK);
			break;
		case PM_CNT_OFF:
			/* A 16-bit (or wider) write carries SLP_TYP and SLP_EN together: act once. */
			if (i + 1 < size) {
				poweroff |= write_cnt(pm, (uint16_t)(v | data[i + 1] << 8));
				i++;
			} else {
				poweroff |= write_cnt(pm, (uint16_t)((pm->cnt & 0xff00) | v));
			}
			break;
		case PM_CNT_OFF + 1:
			poweroff |= write_cnt(pm, (uint16_t)((pm->cnt & 0x00ff) | v << 8));
			break;
		default:
			break; /* reserved and the timer: read-only */
		}
	}
out:
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	/* Outside the lock: the VM may call back into devices (reset) from here. */
	if (poweroff)
		machine_request(&pm->ctl, MACHINE_POWEROFF, 0);
}

void acpi_pm_reset_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct acpi_pm *pm = opaque;
	bool reset = false;

	if (!size)
		return;
	if (off != 0) {
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	pthread_mutex_lock(&pm->lock);
	if (is_write) {
		/* RST_CPU starts the reset and reads back 0; SYS_RST, FULL_RST and the rest are kept. */
		pm->rst_cnt = data[0] & ~RST_CNT_RST_CPU;
		if (data[0] & RST_CNT_RST_CPU) {
			reset = true;
			pm->resets++;
		}
	} else {
		memset(data, 0xff, size);
		data[0] = pm->rst_cnt;
	}
	pthread_mutex_unlock(&pm->lock);
	if (reset)
		machine_request(&pm->ctl, MACHINE_RESET, 0);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->sts |= PM1_PWRBTN;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

struct acpi_pm *acpi_pm_create(const struct irq_line *sci, const struct machine_ctl *ctl)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return NULL;
	if (pthread_mutex_init(&pm->lock, NULL)) {
		free(pm);
		return NULL;
	}
	if (sci)
		pm->sci = *sci;
	if (ctl)
		pm->ctl = *ctl;
	pm->tmr_epoch = pm_ticks() >> PM_TIMER_MSB_SHIFT;
	return pm;
}

static void acpi_pm_reset(void *dev)
{
	struct acpi_pm *pm = dev;

	pthread_mutex_lock(&pm->lock);
	pm->sts = pm->en = pm->cnt = 0;
	pm->rst_cnt = 0;
	pm->tmr_epoch = pm_ticks() >> PM_TIMER_MSB_SHIFT;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static ssize_t acpi_pm_save(void *dev, void *buf, size_t cap)
{
	struct acpi_pm *pm = dev;
	uint8_t *b = buf;

	if (cap < ACPI_PM_STATE_LEN)
		return -ENOSPC;
	state_hdr_put(b, ACPI_PM_STATE_MAGIC, ACPI_PM_STATE_VERSION, ACPI_PM_STATE_PAYLOAD);
	pthread_mutex_lock(&pm->lock);
	put_le16(b + 8, pm->sts);
	put_le16(b + 10, pm->en);
	put_le16(b + 12, pm->cnt);
	b[14] = pm->rst_cnt;
	pthread_mutex_unlock(&pm->lock);
	return ACPI_PM_STATE_LEN;
}

static int acpi_pm_load(void *dev, const void *buf, size_t len)
{
	struct acpi_pm *pm = dev;
	const uint8_t *b = buf;
	uint16_t sts, en, cnt;

	if (!state_hdr_ok(b, len, ACPI_PM_STATE_MAGIC, ACPI_PM_STATE_VERSION, ACPI_PM_STATE_PAYLOAD))
		return -EINVAL;
	sts = get_le16(b + 8);
	en = get_le16(b + 10);
	cnt = get_le16(b + 12);
	if ((sts & ~PM1_STS_MASK) || (en & ~PM1_EN_MASK) || (cnt & ~PM1_CNT_MASK) || (b[14] & RST_CNT_RST_CPU))
		return -EINVAL;
	pthread_mutex_lock(&pm->lock);
	pm->sts = sts;
	pm->en = en;
	pm->cnt = cnt;
	pm->rst_cnt = b[14];
	/* The timer counts this host's clock: TMR_STS restarts from now. */
	pm->tmr_epoch = pm_ticks() >> PM_TIMER_MSB_SHIFT;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static void acpi_pm_destroy(void *dev)
{
	struct acpi_pm *pm = dev;

	if (!pm)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

const struct device_ops acpi_pm_ops = {
	.name = "acpi-pm",
	.reset = acpi_pm_reset,
	.save = acpi_pm_save,
	.load = acpi_pm_load,
	.destroy = acpi_pm_destroy,
};
