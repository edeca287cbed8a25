// SPDX-License-Identifier: MIT
/*
 * 16550A UART register model (PC16550D datasheet): divisor latch, FIFO and
 * trigger levels, interrupt priorities, THRE semantics, OUT2 gating,
 * loopback, backend flow control, state save/load, hostile accesses.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "fakes.h"
#include "vmkit/bus.h"

#define RBR 0
#define THR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

struct fx {
	struct fake_irq irq;
	struct fake_chardev chr;
	struct serial *s;
};

static int setup(void **state)
{
	static struct fx f;
	struct irq_line l = fake_irq_line(&f.irq);

	f.s = serial_create(&l, fake_chardev_init(&f.chr));
	assert_non_null(f.s);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	serial_ops.destroy(f->s);
	return 0;
}

static uint8_t rd(struct fx *f, int reg)
{
	return io_rd8(serial_io, f->s, (uint64_t)reg);
}

static void wr(struct fx *f, int reg, uint8_t v)
{
	io_wr8(serial_io, f->s, (uint64_t)reg, v);
}

static size_t rx(struct fx *f, const char *str, size_t n)
{
	return serial_receive(f->s, (const uint8_t *)str, n);
}

static void test_power_on_state(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rd(f, LSR), 0x60);         /* THRE | TEMT, no data */
	assert_int_equal(rd(f, IIR), 0x01);         /* no interrupt, FIFOs off */
	assert_int_equal(rd(f, IER), 0x00);
	assert_int_equal(rd(f, MCR), 0x00);
	assert_int_equal(rd(f, MSR) & 0xf0, 0xb0); /* CTS DSR DCD from an always-ready modem */
	assert_int_equal(f->irq.sets, 0);           /* nothing driven until something changes */
}

static void test_divisor_latch_and_registers(void **state)
{
	struct fx *f = *state;

	wr(f, LCR, 0x83); /* DLAB, 8N1 */
	wr(f, DLL, 0x01); /* 115200 baud */
	wr(f, DLM, 0x02);
	assert_int_equal(rd(f, DLL), 0x01);
	assert_int_equal(rd(f, DLM), 0x02);
	assert_int_equal(f->chr.out_len, 0); /* divisor writes are not output */
	wr(f, LCR, 0x03);
	assert_int_equal(rd(f, LCR), 0x03);
	assert_int_equal(rd(f, IER), 0x00); /* DLAB off: IER, not DLM */
	wr(f, IER, 0xff);
	assert_int_equal(rd(f, IER), 0x0f); /* bits 4-7 do not exist on a 16550A */
	wr(f, LCR, 0x83);
	assert_int_equal(rd(f, DLM), 0x02); /* the latch kept its value */
	wr(f, LCR, 0x1b);
	assert_int_equal(rd(f, LCR), 0x1b);
	for (int v = 0; v < 256; v += 0x33) {
		wr(f, SCR, (uint8_t)v);
		assert_int_equal(rd(f, SCR), v);
	}
}

static void test_transmit(void **state)
{
	struct fx *f = *state;
	uint8_t two[2] = { '!', 0 };

	wr(f, THR, 'h');
	wr(f, THR, 'i');
	assert_int_equal(f->chr.out_len, 2);
	assert_memory_equal(f->chr.out, "hi", 2);
	assert_int_equal(rd(f, LSR) & 0x60, 0x60); /* sent at once: THR and shifter empty */
	/* a 2-byte access writes THR and then IER */
	serial_io(f->s, THR, two, 2, true);
	assert_int_equal(f->chr.out_len, 3);
	assert_int_equal(f->chr.out[2], '!');
}

static void test_receive_fifo_refuses_when_full(void **state)
{
	struct fx *f = *state;
	const char *in = "abcdefghijklmnopqrst";

	/* FIFO off: a single holding register */
	assert_int_equal(rx(f, in, 20), 1);
	assert_int_equal(rd(f, LSR) & 0x01, 1);
	assert_int_equal(rd(f, RBR), 'a');
	assert_int_equal(rd(f, LSR) & 0x01, 0);
	/* FIFO on: 16 bytes, then refused (the backend keeps the rest; nothing lost, no overrun) */
	wr(f, FCR, 0x07);
	assert_int_equal(rd(f, IIR) & 0xc0, 0xc0);
	assert_int_equal(rx(f, in, 20), 16);
	assert_int_equal(rx(f, in + 16, 4), 0);
	assert_int_equal(rd(f, LSR) & 0x03, 0x01); /* DR, no OE */
	for (int i = 0; i < 16; i++)
		assert_int_equal(rd(f, RBR), in[i]);
	assert_int_equal(rd(f, LSR) & 0x01, 0);
	assert_int_equal(rd(f, RBR), 0); /* empty FIFO reads harmlessly */
	/* FCR receiver clear drops what is queued */
	assert_int_equal(rx(f, in, 5), 5);
	wr(f, FCR, 0x03);
	assert_int_equal(rd(f, LSR) & 0x01, 0);
	/* turning the FIFO off resets it too and clears IIR's FIFO bits */
	assert_int_equal(rx(f, in, 5), 5);
	wr(f, FCR, 0x00);
	assert_int_equal(rd(f, LSR) & 0x01, 0);
	assert_int_equal(rd(f, IIR), 0x01);
}

static void test_trigger_levels(void **state)
{
	struct fx *f = *state;
	static const struct {
		uint8_t fcr_bits;
		int level;
	} t[] = { { 0x00, 1 }, { 0x40, 4 }, { 0x80, 8 }, { 0xc0, 14 } };
	const char *in = "0123456789abcdef";

	wr(f, IER, 0x01); /* received data available */
	wr(f, MCR, MCR_OUT2);
	for (size_t i = 0; i < 4; i++) {
		wr(f, FCR, (uint8_t)(t[i].fcr_bits | 0x07)); /* enable, clear both FIFOs */
		assert_int_equal(rd(f, IIR), 0xc1);
		assert_int_equal(f->irq.level, 0);
		/* below the trigger: a character timeout (the line is idle after a burst) */
		if (t[i].level > 1) {
			assert_int_equal(rx(f, in, (size_t)t[i].level - 1), t[i].level - 1);
			assert_int_equal(rd(f, IIR), 0xcc);
			assert_int_equal(f->irq.level, 1);
		}
		/* at the trigger: received data available */
		assert_int_equal(rx(f, in + t[i].level - 1, 1), 1);
		assert_int_equal(rd(f, IIR), 0xc4);
		assert_int_equal(f->irq.level, 1);
		/* reading one byte drops below the trigger again */
		rd(f, RBR);
		if (t[i].level > 1)
			assert_int_equal(rd(f, IIR), 0xcc);
		else
			assert_int_equal(rd(f, IIR), 0xc1);
	}
	/* draining the FIFO clears the interrupt */
	while (rd(f, LSR) & 0x01)
		rd(f, RBR);
	assert_int_equal(rd(f, IIR), 0xc1);
	assert_int_equal(f->irq.level, 0);
}

static void test_thre_interrupt_and_out2_gating(void **state)
{
	struct fx *f = *state;

	/* OUT2 clear: the interrupt is pending in the UART but gated off the line */
	wr(f, IER, 0x02); /* enabling THRE while THR is empty raises it */
	assert_int_equal(f->irq.level, 0);
	assert_int_equal(f->irq.raises, 0);
	wr(f, MCR, MCR_OUT2);
	assert_int_equal(f->irq.level, 1);
	wr(f, MCR, 0);
	assert_int_equal(f->irq.level, 0);
	wr(f, MCR, MCR_OUT2);
	assert_int_equal(f->irq.level, 1);
	/* reading IIR when THRE is the source acknowledges it */
	assert_int_equal(rd(f, IIR), 0x02);
	assert_int_equal(f->irq.level, 0);
	assert_int_equal(rd(f, IIR), 0x01);
	/* re-writing IER with THRI already set does not raise again */
	wr(f, IER, 0x02);
	assert_int_equal(f->irq.level, 0);
	/* writing THR: the byte leaves, THR is empty again, THRE raised */
	wr(f, THR, 'x');
	assert_int_equal(f->irq.level, 1);
	/* disabling ETBEI hides it; enabling it again raises it */
	wr(f, IER, 0x00);
	assert_int_equal(f->irq.level, 0);
	assert_int_equal(rd(f, IIR), 0x01);
	wr(f, IER, 0x02);
	assert_int_equal(f->irq.level, 1);
	/* Linux's THRE test (serial8250_do_startup): IER=THRI, IIR, IER=0, IER=THRI, IIR must not be NO_INT */
	assert_int_equal(rd(f, IIR) & 0x01, 0);
	wr(f, IER, 0);
	wr(f, IER, 0x02);
	assert_int_equal(rd(f, IIR) & 0x01, 0);
	/* the line was driven only on changes */
	for (int i = 1; i < f->irq.sets && i < FAKE_IRQ_HISTORY; i++)
		assert_int_not_equal(f->irq.history[i], f->irq.history[i - 1]);
	assert_int_equal(f->irq.history[0], 1);
}

static void test_interrupt_priorities(void **state)
{
	struct fx *f = *state;

	/* loopback with FIFOs off: the second byte overruns the holding register */
	wr(f, IER, 0x0f);
	wr(f, MCR, MCR_LOOP | MCR_RTS); /* DSR, DCD drop (CTS stays): modem status pending */
	wr(f, THR, 'a');
	wr(f, THR, 'b');
	assert_int_equal(rd(f, IIR), 0x06); /* line status (overrun) first */
	assert_int_equal(rd(f, LSR) & 0x03, 0x03); /* OE | DR; reading clears OE */
	assert_int_equal(rd(f, LSR) & 0x02, 0);
	assert_int_equal(rd(f, IIR), 0x04); /* then received data */
	assert_int_equal(rd(f, RBR), 'a');   /* the overrunning byte was lost */
	assert_int_equal(rd(f, IIR), 0x02); /* then THR empty (acknowledged by this read) */
	assert_int_equal(rd(f, IIR), 0x00); /* then modem status */
	assert_int_equal(rd(f, MSR), 0x1a); /* CTS, delta DSR, delta DCD; reading clears the deltas */
	assert_int_equal(rd(f, MSR), 0x10);
	assert_int_equal(rd(f, IIR), 0x01);
	/* in loopback OUT2 is forced inactive: none of this reached the line */
	assert_int_equal(f->irq.raises, 0);
}

static void test_loopback(void **state)
{
	struct fx *f = *state;
	uint8_t in = 'z';

	/* Linux's probe: MCR = LOOP | RTS | OUT2 must read back MSR = DCD | CTS */
	wr(f, MCR, MCR_LOOP | MCR_RTS | MCR_OUT2);
	assert_int_equal(rd(f, MSR) & 0xf0, 0x90);
	wr(f, MCR, MCR_LOOP | MCR_DTR | MCR_OUT1);
	assert_int_equal(rd(f, MSR) & 0xf0, 0x60); /* DSR, RI */
	wr(f, MCR, MCR_LOOP | 0x0f);
	assert_int_equal(rd(f, MSR) & 0xf0, 0xf0);
	/* transmit goes to the receiver, not the chardev */
	wr(f, FCR, 0x01);
	wr(f, THR, 'L');
	wr(f, THR, 'M');
	assert_int_equal(f->chr.out_len, 0);
	assert_int_equal(rd(f, LSR) & 0x01, 1);
	assert_int_equal(rd(f, RBR), 'L');
	assert_int_equal(rd(f, RBR), 'M');
	/* the receiver is disconnected from the host line while in loopback */
	assert_int_equal(serial_receive(f->s, &in, 1), 0);
	int before = f->chr.input_ready_calls;
	wr(f, MCR, 0x00);
	assert_int_equal(f->chr.input_ready_calls, before + 1); /* the refused input may come now */
	assert_int_equal(rd(f, MSR) & 0xf0, 0xb0);
	assert_int_equal(serial_receive(f->s, &in, 1), 1);
	assert_int_equal(rd(f, RBR), 'z');
	wr(f, THR, 'T');
	assert_int_equal(f->chr.out_len, 1);
}

static void test_input_ready_when_fifo_drains(void **state)
{
	struct fx *f = *state;
	const char *in = "0123456789abcdefXYZ";

	wr(f, FCR, 0x01);
	/* a backend that was never refused is not poked */
	assert_int_equal(rx(f, in, 4), 4);
	for (int i = 0; i < 4; i++)
		rd(f, RBR);
	assert_int_equal(f->chr.input_ready_calls, 0);
	/* refused: the backend pauses until told; told once half the FIFO is free */
	assert_int_equal(rx(f, in, 19), 16);
	assert_int_equal(rx(f, in + 16, 3), 0);
	for (int i = 0; i < 7; i++)
		assert_int_equal(rd(f, RBR), in[i]);
	assert_int_equal(f->chr.input_ready_calls, 0); /* 9 left */
	assert_int_equal(rd(f, RBR), in[7]);
	assert_int_equal(f->chr.input_ready_calls, 1); /* 8 left: room for 8 */
	while (rd(f, LSR) & 0x01)
		rd(f, RBR);
	assert_int_equal(f->chr.input_ready_calls, 1); /* once per refusal */
	/* non-FIFO mode: told when the holding register empties */
	wr(f, FCR, 0x00);
	assert_int_equal(rx(f, in, 2), 1);
	assert_int_equal(f->chr.input_ready_calls, 1);
	rd(f, RBR);
	assert_int_equal(f->chr.input_ready_calls, 2);
}

static void test_save_load(void **state)
{
	struct fx *f = *state;
	uint8_t blob[256], bad[256];

	wr(f, LCR, 0x80);
	wr(f, DLL, 0x03);
	wr(f, LCR, 0x1b);
	wr(f, FCR, 0x81);
	wr(f, SCR, 0x77);
	wr(f, IER, 0x03);
	wr(f, MCR, MCR_OUT2 | MCR_DTR);
	assert_int_equal(rx(f, "abc", 3), 3);
	ssize_t n = serial_ops.save(f->s, blob, sizeof(blob));
	assert_true(n > 8);
	assert_int_equal(serial_ops.save(f->s, blob, (size_t)n - 1), -ENOSPC);

	serial_ops.reset(f->s);
	assert_int_equal(rd(f, SCR), 0);
	assert_int_equal(rd(f, LSR) & 0x01, 0);
	assert_int_equal(f->irq.level, 0); /* reset lowered the line */

	/* corrupt blobs are refused and leave the device alone */
	memcpy(bad, blob, (size_t)n);
	bad[0] ^= 0xff; /* magic */
	assert_int_equal(serial_ops.load(f->s, bad, (size_t)n), -EINVAL);
	memcpy(bad, blob, (size_t)n);
	bad[4]++; /* version */
	assert_int_equal(serial_ops.load(f->s, bad, (size_t)n), -EINVAL);
	assert_int_equal(serial_ops.load(f->s, blob, (size_t)n - 1), -EINVAL);
	assert_int_equal(serial_ops.load(f->s, blob, 0), -EINVAL);
	/* every single-byte corruption of the payload is either rejected or loads a consistent state */
	for (ssize_t i = 8 + 16; i < n; i++) {
		memcpy(bad, blob, (size_t)n);
		bad[i] = 0xff;
		if (serial_ops.load(f->s, bad, (size_t)n) == 0) {
			uint8_t junk[8];
			serial_io(f->s, 0, junk, 8, false); /* must not crash */
		}
	}
	serial_ops.reset(f->s);
	wr(f, SCR, 0x11);
	memcpy(bad, blob, (size_t)n);
	bad[8 + 17] = 17; /* rx_count beyond the FIFO */
	assert_int_equal(serial_ops.load(f->s, bad, (size_t)n), -EINVAL);
	assert_int_equal(rd(f, SCR), 0x11);

	fake_irq_clear(&f->irq);
	assert_int_equal(serial_ops.load(f->s, blob, (size_t)n), 0);
	assert_int_equal(rd(f, SCR), 0x77);
	assert_int_equal(rd(f, LCR), 0x1b);
	assert_int_equal(rd(f, IER), 0x03);
	assert_int_equal(rd(f, MCR), MCR_OUT2 | MCR_DTR);
	assert_int_equal(f->irq.level, 1); /* RDA (timeout) pending again and driven */
	assert_int_equal(rd(f, IIR), 0xcc);
	assert_int_equal(rd(f, RBR), 'a');
	assert_int_equal(rd(f, RBR), 'b');
	assert_int_equal(rd(f, RBR), 'c');
	wr(f, LCR, 0x9b);
	assert_int_equal(rd(f, DLL), 0x03);
}

static void test_hostile_accesses(void **state)
{
	struct fx *f = *state;
	uint8_t buf[8];

	/* every offset and size: wide accesses wrap over the 8 registers without crashing */
	for (uint64_t off = 0; off < 16; off++) {
		for (uint32_t size = 1; size <= 8; size++) {
			serial_io(f->s, off, buf, size, false);
			memset(buf, 0xa5, sizeof(buf));
			serial_io(f->s, off | (1ULL << 40), buf, size, true);
		}
	}
	serial_ops.reset(f->s);
	assert_int_equal(rd(f, LSR), 0x60);
	assert_int_equal(rd(f, IIR), 0x01);
}

/* Event-loop thread delivering input while a vCPU drains it: nothing lost, nothing reordered. */
#define STRESS_BYTES 20000

static void *producer(void *arg)
{
	struct serial *s = arg;
	unsigned int i = 0;

	while (i < STRESS_BYTES) {
		uint8_t b = (uint8_t)(i * 7);
		if (serial_receive(s, &b, 1) == 1)
			i++;
	}
	return NULL;
}

static void test_concurrent_receive(void **state)
{
	struct fx *f = *state;
	pthread_t t;

	wr(f, FCR, 0x01);
	assert_int_equal(pthread_create(&t, NULL, producer, f->s), 0);
	for (unsigned int i = 0; i < STRESS_BYTES;) {
		if (!(rd(f, LSR) & 0x01))
			continue;
		assert_int_equal(rd(f, RBR), (uint8_t)(i * 7));
		i++;
	}
	pthread_join(t, NULL);
	assert_int_equal(rd(f, LSR) & 0x03, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_power_on_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_divisor_latch_and_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_fifo_refuses_when_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trigger_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_interrupt_and_out2_gating, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_priorities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_ready_when_fifo_drains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_receive, setup, teardown),
	};
	return cmocka_run_group_tests_name("serial", tests, NULL, NULL);
}
