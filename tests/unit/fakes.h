/* SPDX-License-Identifier: MIT */
/* Test doubles for device unit tests: a recording IRQ line, machine control and chardev. */
#ifndef VMKIT_TEST_FAKES_H
#define VMKIT_TEST_FAKES_H

#include <string.h>

#include "vmkit/bus.h"
#include "vmkit/chardev.h"
#include "vmkit/dev.h"
#include "vmkit/irq.h"

struct fake_irq {
	int level;
	int raises; /* 0 -> 1 transitions */
	int sets;
};

static inline void fake_irq_set(void *ctx, uint32_t gsi, int level)
{
	struct fake_irq *f = ctx;
	if (level && !f->level)
		f->raises++;
	f->level = level;
	f->sets++;
}

static inline struct irq_line fake_irq_line(struct fake_irq *f)
{
	memset(f, 0, sizeof(*f));
	return (struct irq_line){ .set = fake_irq_set, .ctx = f, .gsi = 0 };
}

struct fake_machine {
	int requests;
	enum machine_event last;
	int status;
};

static inline void fake_machine_request(void *ctx, enum machine_event ev, int status)
{
	struct fake_machine *f = ctx;
	f->requests++;
	f->last = ev;
	f->status = status;
}

static inline struct machine_ctl fake_machine_ctl(struct fake_machine *f)
{
	memset(f, 0, sizeof(*f));
	return (struct machine_ctl){ .request = fake_machine_request, .ctx = f };
}

struct fake_chardev {
	struct chardev chr; /* first */
	uint8_t out[4096];
	size_t out_len;
	int input_ready_calls;
};

static inline void fake_chr_write(struct chardev *c, const uint8_t *buf, size_t len)
{
	struct fake_chardev *f = (struct fake_chardev *)c;
	for (size_t i = 0; i < len && f->out_len < sizeof(f->out); i++)
		f->out[f->out_len++] = buf[i];
}

static inline void fake_chr_input_ready(struct chardev *c)
{
	((struct fake_chardev *)c)->input_ready_calls++;
}

static const struct chardev_ops fake_chr_ops = { .write = fake_chr_write, .input_ready = fake_chr_input_ready };

static inline struct chardev *fake_chardev_init(struct fake_chardev *f)
{
	memset(f, 0, sizeof(*f));
	f->chr.ops = &fake_chr_ops;
	return &f->chr;
}

/* Single-byte register access helpers for bus_io_fn handlers. */
static inline uint8_t io_rd8(bus_io_fn *fn, void *dev, uint64_t off)
{
	uint8_t v = 0;
	fn(dev, off, &v, 1, false);
	return v;
}

static inline void io_wr8(bus_io_fn *fn, void *dev, uint64_t off, uint8_t v)
{
	fn(dev, off, &v, 1, true);
}

#endif
