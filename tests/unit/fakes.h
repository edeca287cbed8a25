/* SPDX-License-Identifier: MIT */
/*
 * Test doubles for device unit tests (tests/unit/fakes.c): a recording IRQ
 * line, a recording machine control, a capturing chardev, and register access
 * helpers for bus_io_fn handlers. No /dev/kvm, no event loop. Not thread-safe:
 * drive a device from one thread in a test.
 */
#ifndef VMKIT_TEST_FAKES_H
#define VMKIT_TEST_FAKES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmkit/bus.h"
#include "vmkit/chardev.h"
#include "vmkit/dev.h"
#include "vmkit/irq.h"

/* ---- IRQ line ---- */
#define FAKE_IRQ_HISTORY 256

struct fake_irq {
	int level;  /* current level */
	int raises; /* 0 -> 1 transitions */
	int lowers; /* 1 -> 0 transitions */
	int sets;   /* calls, including ones that did not change the level */
	uint32_t gsi; /* gsi of the last call */
	/* Levels in call order; only the first FAKE_IRQ_HISTORY calls are kept. */
	int history[FAKE_IRQ_HISTORY];
};

/* irq_line.set callback; ctx is a struct fake_irq. */
void fake_irq_set(void *ctx, uint32_t gsi, int level);
/* Zero f and return a line that records into it (gsi 0). */
struct irq_line fake_irq_line(struct fake_irq *f);
/* Forget the recorded history and counters but keep the current level. */
void fake_irq_clear(struct fake_irq *f);

/* ---- machine control ---- */
struct fake_machine {
	int requests;            /* all requests */
	enum machine_event last; /* last event (valid if requests > 0) */
	int status;              /* status of the last request */
	int count[MACHINE_DEBUG_EXIT + 1]; /* requests per event */
};

void fake_machine_request(void *ctx, enum machine_event ev, int status);
/* Zero f and return a machine_ctl that records into it. */
struct machine_ctl fake_machine_ctl(struct fake_machine *f);

/* ---- chardev ---- */
#define FAKE_CHARDEV_OUT 4096

struct fake_chardev {
	struct chardev chr; /* first: the device gets &f->chr */
	uint8_t out[FAKE_CHARDEV_OUT]; /* guest output; extra bytes are dropped and counted */
	size_t out_len;
	size_t out_dropped;
	int writes; /* chardev_write calls */
	int input_ready_calls;
	int close_calls;
};

/* Zero f and return its chardev (ops write/input_ready/close record into f). */
struct chardev *fake_chardev_init(struct fake_chardev *f);
/* Forget captured output. */
void fake_chardev_clear(struct fake_chardev *f);

/* ---- register access helpers for bus_io_fn handlers (little-endian) ---- */
/* Read size (1..8) bytes at off and return them as a little-endian value. */
uint64_t io_rd(bus_io_fn *fn, void *dev, uint64_t off, uint32_t size);
/* Write the low size (1..8) bytes of v, little-endian, at off. */
void io_wr(bus_io_fn *fn, void *dev, uint64_t off, uint32_t size, uint64_t v);

static inline uint8_t io_rd8(bus_io_fn *fn, void *dev, uint64_t off)
{
	return (uint8_t)io_rd(fn, dev, off, 1);
}

static inline void io_wr8(bus_io_fn *fn, void *dev, uint64_t off, uint8_t v)
{
	io_wr(fn, dev, off, 1, v);
}

static inline uint16_t io_rd16(bus_io_fn *fn, void *dev, uint64_t off)
{
	return (uint16_t)io_rd(fn, dev, off, 2);
}

static inline void io_wr16(bus_io_fn *fn, void *dev, uint64_t off, uint16_t v)
{
	io_wr(fn, dev, off, 2, v);
}

static inline uint32_t io_rd32(bus_io_fn *fn, void *dev, uint64_t off)
{
	return (uint32_t)io_rd(fn, dev, off, 4);
}

static inline void io_wr32(bus_io_fn *fn, void *dev, uint64_t off, uint32_t v)
{
	io_wr(fn, dev, off, 4, v);
}

#endif
