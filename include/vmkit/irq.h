/* SPDX-License-Identifier: MIT */
/*
 * irq: the interrupt handle a device is given. The VM wires it to
 * KVM_IRQ_LINE on a GSI; unit tests wire it to a recorder.
 */
#ifndef VMKIT_IRQ_H
#define VMKIT_IRQ_H

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

#endif
