/* SPDX-License-Identifier: MIT */
/*
 * irq: the interrupt handle a device is given. The VM wires it to
 * KVM_IRQ_LINE on a GSI; unit tests wire it to a recorder.
 */
#ifndef VMKIT_IRQ_H
#define VMKIT_IRQ_H

#include <stdbool.h>
#include <stdint.h>

struct irq_line {
	void (*set)(void *ctx, uint32_t gsi, int level);
	void *ctx;
	uint32_t gsi;
};

/* Drive the line to level (0/1). Safe to call with an unwired line. */
static inline void irq_line_set(const struct irq_line *l, int level)
{
	if (l && l->set)
		l->set(l->ctx, l->gsi, level);
}

/* A rising then falling edge (for edge-triggered sources). */
static inline void irq_line_pulse(const struct irq_line *l)
{
	irq_line_set(l, 1);
	irq_line_set(l, 0);
}

/*
 * MSI vectors for a device transport (MSI-X). The VM backs each vector with
 * a KVM GSI routed to (addr, data) and an irqfd; unit tests record fires.
 */
struct msi_ctl {
	/* Allocate a vector; returns a handle >= 0 or -errno. Build phase. */
	int (*alloc)(void *ctx);
	/* Inject vector h as an MSI with this address/data (any thread). */
	void (*fire)(void *ctx, int h, uint64_t addr, uint32_t data);
	void *ctx;
};

/*
 * Guest-write notifiers (ioeventfd): writes of len bytes at addr on the PIO
 * or MMIO bus, optionally only of value data, signal fd instead of reaching
 * the bus handler. set(assign=false) with the same arguments removes one.
 * 0 or -errno (the transport then keeps handling those writes itself).
 */
struct ioevent_ctl {
	int (*set)(void *ctx, bool pio, uint64_t addr, uint32_t len, bool datamatch, uint64_t data, int fd,
		   bool assign);
	void *ctx;
};

#endif
