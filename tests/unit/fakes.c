// SPDX-License-Identifier: MIT
/* Test doubles shared by the device unit tests; see fakes.h. */
#include "fakes.h"

void fake_irq_set(void *ctx, uint32_t gsi, int level)
{
	struct fake_irq *f = ctx;

	if (level && !f->level)
		f->raises++;
	if (!level && f->level)
		f->lowers++;
	if (f->sets >= 0 && f->sets < FAKE_IRQ_HISTORY)
		f->history[f->sets] = level;
	f->level = level;
	f->gsi = gsi;
	f->sets++;
}

struct irq_line fake_irq_line(struct fake_irq *f)
{
	memset(f, 0, sizeof(*f));
	return (struct irq_line){ .set = fake_irq_set, .ctx = f, .gsi = 0 };
}

void fake_irq_clear(struct fake_irq *f)
{
	int level = f->level;

	memset(f, 0, sizeof(*f));
	f->level = level;
}

void fake_machine_request(void *ctx, enum machine_event ev, int status)
{
	struct fake_machine *f = ctx;

	f->requests++;
	f->last = ev;
	f->status = status;
	if ((unsigned int)ev <= MACHINE_DEBUG_EXIT)
		f->count[ev]++;
}

struct machine_ctl fake_machine_ctl(struct fake_machine *f)
{
	memset(f, 0, sizeof(*f));
	return (struct machine_ctl){ .request = fake_machine_request, .ctx = f };
}

static void fake_chr_write(struct chardev *c, const uint8_t *buf, size_t len)
{
	struct fake_chardev *f = (struct fake_chardev *)c;

	f->writes++;
	for (size_t i = 0; i < len; i++) {
		if (f->out_len < sizeof(f->out))
			f->out[f->out_len++] = buf[i];
		else
			f->out_dropped++;
	}
}

static void fake_chr_input_ready(struct chardev *c)
{
	((struct fake_chardev *)c)->input_ready_calls++;
}

static void fake_chr_close(struct chardev *c)
{
	((struct fake_chardev *)c)->close_calls++;
}

static const struct chardev_ops fake_chr_ops = {
	.write = fake_chr_write,
	.input_ready = fake_chr_input_ready,
	.close = fake_chr_close,
};

struct chardev *fake_chardev_init(struct fake_chardev *f)
{
	memset(f, 0, sizeof(*f));
	f->chr.ops = &fake_chr_ops;
	return &f->chr;
}

void fake_chardev_clear(struct fake_chardev *f)
{
	memset(f->out, 0, sizeof(f->out));
	f->out_len = 0;
	f->out_dropped = 0;
	f->writes = 0;
}

uint64_t io_rd(bus_io_fn *fn, void *dev, uint64_t off, uint32_t size)
{
	uint8_t b[8] = { 0 };
	uint64_t v = 0;

	if (size > sizeof(b))
		size = sizeof(b);
	fn(dev, off, b, size, false);
	for (uint32_t i = 0; i < size; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

void io_wr(bus_io_fn *fn, void *dev, uint64_t off, uint32_t size, uint64_t v)
{
	uint8_t b[8];

	if (size > sizeof(b))
		size = sizeof(b);
	for (uint32_t i = 0; i < size; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	fn(dev, off, b, size, true);
}
