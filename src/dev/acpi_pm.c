// SPDX-License-Identifier: MIT
/*
 * ACPI fixed hardware (ACPI 6.4 s4.8): the PM1a event block (PM1_STS,
 * PM1_EN), the PM1a control block (SCI_EN, SLP_TYP, SLP_EN) and the 24-bit
 * PM timer at 3.579545 MHz (s4.8.3.3). Writing SLP_EN with the S5 sleep type
 * powers the machine off. Also the reset control register at 0xcf9 that the
 * FADT names as RESET_REG (s4.8.3.6): writing 0x06 resets the machine.
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

/* PM1 status/enable bits (ACPI 6.4 tables 4.16-4.17) */
#define PM1_STS_TMR 0x0001
#define PM1_STS_BM 0x0010
#define PM1_STS_GBL 0x0020
#define PM1_STS_PWRBTN 0x0100
#define PM1_STS_SLPBTN 0x0200
#define PM1_STS_RTC 0x0400
#define PM1_STS_WAK 0x8000
#define PM1_STS_MASK \
	(PM1_STS_TMR | PM1_STS_BM | PM1_STS_GBL | PM1_STS_PWRBTN | PM1_STS_SLPBTN | PM1_STS_RTC | PM1_STS_WAK)
/* Enable bits sit at the same positions; OSPM checks that they stick. */
#define PM1_EN_MASK (PM1_STS_TMR | PM1_STS_GBL | PM1_STS_PWRBTN | PM1_STS_SLPBTN | PM1_STS_RTC)
#define PM1_CNT_SCI_EN 0x0001
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP_MASK 0x1c00
#define PM1_CNT_SLP_EN 0x2000
#define PM_TIMER_HZ 3579545ULL

#define RST_CNT_SYS_RST 0x02
#define RST_CNT_RST_CPU 0x04

#define ACPI_PM_STATE_MAGIC 0x41504d31 /* "APM1" */

struct acpi_pm_state {
	uint32_t magic;
	uint16_t sts, en, cnt;
	uint8_t rst_cnt;
	uint8_t sci_level;
};

struct acpi_pm {
	pthread_mutex_t lock;
	struct irq_line sci;
	struct machine_ctl ctl;
	struct acpi_pm_state s;
	uint64_t ignored_sleeps;
};

static void update_sci(struct acpi_pm *pm)
{
	uint8_t level = (pm->s.sts & pm->s.en & PM1_EN_MASK) != 0;

	if (level != pm->s.sci_level) {
		pm->s.sci_level = level;
		irq_line_set(&pm->sci, level);
	}
}

static uint32_t pm_timer(void)
{
	struct timespec ts;
	uint64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	/* ticks = ns * 3579545 / 1e9, split to avoid 64-bit overflow */
	return (uint32_t)(((ns / 1000000000ULL) * PM_TIMER_HZ + (ns % 1000000000ULL) * PM_TIMER_HZ / 1000000000ULL) &
			  0xffffff);
}

/* Registers as one 12-byte little-endian space: STS(2) EN(2) CNT(2) pad(2) TMR(4). */
static uint8_t reg_byte(struct acpi_pm *pm, unsigned int off, uint32_t tmr)
{
	switch (off) {
	case 0: return (uint8_t)pm->s.sts;
	case 1: return (uint8_t)(pm->s.sts >> 8);
	case 2: return (uint8_t)pm->s.en;
	case 3: return (uint8_t)(pm->s.en >> 8);
	case 4: return (uint8_t)(pm->s.cnt | PM1_CNT_SCI_EN);
	case 5: return (uint8_t)((pm->s.cnt & ~PM1_CNT_SLP_EN) >> 8); /* SLP_EN reads as 0 */
	case 8: case 9: case 10: case 11:
		return (uint8_t)(tmr >> (8 * (off - 8)));
	default:
		return 0;
	}
}

static void write_cnt(struct acpi_pm *pm, uint16_t v)
{
	pm->s.cnt = v & (PM1_CNT_SLP_TYP_MASK | 0x0006); /* BM_RLD, GBL_RLS stored */
	if (v & PM1_CNT_SLP_EN) {
		unsigned int typ = (v & PM1_CNT_SLP_TYP_MASK) >> PM1_CNT_SLP_TYP_SHIFT;
		if (typ == X86_ACPI_SLP_TYP_S5) {
			machine_request(&pm->ctl, MACHINE_POWEROFF, 0);
		} else {
			pm->ignored_sleeps++;
			log_ratelimited(LOG_WARN, "acpi: sleep type %u is not supported, ignored", typ);
		}
	}
}

void acpi_pm_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct acpi_pm *pm = opaque;
	uint32_t tmr = 0;

	if (off >= X86_ACPI_PM_LEN || size > X86_ACPI_PM_LEN - off) {
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	pthread_mutex_lock(&pm->lock);
	if (!is_write) {
		if (off + size > 8)
			tmr = pm_timer();
		for (uint32_t i = 0; i < size; i++)
			data[i] = reg_byte(pm, (unsigned int)off + i, tmr);
		pthread_mutex_unlock(&pm->lock);
		return;
	}
	for (uint32_t i = 0; i < size; i++) {
		unsigned int o = (unsigned int)off + i;
		uint8_t v = data[i];
		switch (o) {
		case 0: pm->s.sts &= (uint16_t)~(v & PM1_STS_MASK); break;        /* write 1 to clear */
		case 1: pm->s.sts &= (uint16_t)~((v << 8) & PM1_STS_MASK); break;
		case 2: pm->s.en = (uint16_t)((pm->s.en & 0xff00) | v) & PM1_EN_MASK; break;
		case 3: pm->s.en = (uint16_t)((pm->s.en & 0x00ff) | (v << 8)) & PM1_EN_MASK; break;
		case 4:
			/* A 16-bit write arrives as two bytes; act once both are there. */
			if (size >= 2 && i + 1 < size) {
				write_cnt(pm, (uint16_t)(v | (data[i + 1] << 8)));
				i++;
			} else {
				write_cnt(pm, (uint16_t)((pm->s.cnt & 0xff00) | v));
			}
			break;
		case 5: write_cnt(pm, (uint16_t)((pm->s.cnt & 0x00ff) | (v << 8))); break;
		default: break; /* timer and padding are read-only */
		}
	}
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

void acpi_pm_reset_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct acpi_pm *pm = opaque;
	bool reset = false;

	pthread_mutex_lock(&pm->lock);
	if (is_write) {
		pm->s.rst_cnt = data[0] & (RST_CNT_SYS_RST | 0x08);
		reset = (data[0] & RST_CNT_RST_CPU) != 0;
	} else {
		memset(data, 0xff, size);
		data[0] = pm->s.rst_cnt;
	}
	pthread_mutex_unlock(&pm->lock);
	if (reset)
		machine_request(&pm->ctl, MACHINE_RESET, 0);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->s.sts |= PM1_STS_PWRBTN;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

struct acpi_pm *acpi_pm_create(const struct irq_line *sci, const struct machine_ctl *ctl)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return NULL;
	pthread_mutex_init(&pm->lock, NULL);
	pm->sci = *sci;
	pm->ctl = *ctl;
	pm->s.magic = ACPI_PM_STATE_MAGIC;
	return pm;
}

static void acpi_pm_reset(void *dev)
{
	struct acpi_pm *pm = dev;

	pthread_mutex_lock(&pm->lock);
	pm->s.sts = pm->s.en = pm->s.cnt = 0;
	pm->s.rst_cnt = 0;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static ssize_t acpi_pm_save(void *dev, void *buf, size_t cap)
{
	struct acpi_pm *pm = dev;

	if (cap < sizeof(pm->s))
		return -ENOSPC;
	pthread_mutex_lock(&pm->lock);
	memcpy(buf, &pm->s, sizeof(pm->s));
	pthread_mutex_unlock(&pm->lock);
	return sizeof(pm->s);
}

static int acpi_pm_load(void *dev, const void *buf, size_t len)
{
	struct acpi_pm *pm = dev;
	struct acpi_pm_state s;

	if (len != sizeof(s))
		return -EINVAL;
	memcpy(&s, buf, sizeof(s));
	if (s.magic != ACPI_PM_STATE_MAGIC || s.sci_level > 1)
		return -EINVAL;
	pthread_mutex_lock(&pm->lock);
	s.sci_level = pm->s.sci_level;
	pm->s = s;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static void acpi_pm_destroy(void *dev)
{
	struct acpi_pm *pm = dev;

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
