// SPDX-License-Identifier: MIT
/* 16550A UART register model: divisor latch, FIFO, interrupts, loopback, state. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "fakes.h"
#include "vmkit/bus.h"

#define THR 0
#define IER 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

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

static uint8_t rd(struct fx *f, int reg) { return io_rd8(serial_io, f->s, reg); }
static void wr(struct fx *f, int reg, uint8_t v) { io_wr8(serial_io, f->s, reg, v); }

static void test_registers(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rd(f, LSR) & 0x60, 0x60); /* THRE | TEMT */
	assert_int_equal(rd(f, IIR), 0x01);        /* no interrupt, FIFOs off */
	wr(f, LCR, 0x83);                          /* DLAB, 8N1 */
	wr(f, THR, 0x01);                          /* DLL */
	wr(f, IER, 0x00);                          /* DLM */
	assert_int_equal(rd(f, THR), 0x01);
	assert_int_equal(rd(f, IER), 0x00);
	wr(f, LCR, 0x03);
	assert_int_equal(rd(f, LCR), 0x03);
	wr(f, SCR, 0x5a);
	assert_int_equal(rd(f, SCR), 0x5a);
	assert_int_equal(f->chr.out_len, 0); /* divisor writes are not output */
}

static void test_transmit(void **state)
{
	struct fx *f = *state;

	wr(f, THR, 'h');
	wr(f, THR, 'i');
	assert_int_equal(f->chr.out_len, 2);
	assert_memory_equal(f->chr.out, "hi", 2);
	/* a 2-byte access writes THR and IER */
	uint8_t two[2] = { '!', 0 };
	serial_io(f->s, 0, two, 2, true);
	assert_int_equal(f->chr.out[2], '!');
}

static void test_receive_fifo_and_irq(void **state)
{
	struct fx *f = *state;
	uint8_t in[20];

	for (int i = 0; i < 20; i++)
		in[i] = (uint8_t)('a' + i);
	/* FIFO off: one byte of holding register */
	assert_int_equal(serial_receive(f->s, in, 20), 1);
	wr(f, FCR, 0x07); /* enable + clear: trigger level 1 */
	assert_int_equal(rd(f, LSR) & 1, 0);
	assert_int_equal(serial_receive(f->s, in, 20), 16);
	assert_int_equal(serial_receive(f->s, in, 20), 0); /* full: refused, not lost */
	assert_int_equal(rd(f, LSR) & 1, 1);
	assert_int_equal(f->irq.level, 0); /* IER off */
	wr(f, IER, 0x01);
	assert_int_equal(f->irq.level, 0); /* OUT2 clear: the IRQ is gated off */
	wr(f, MCR, 0x08);
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(rd(f, IIR), 0xc4); /* FIFO enabled, received data available */
	for (int i = 0; i < 16; i++)
		assert_int_equal(rd(f, THR), 'a' + i);
	assert_int_equal(rd(f, LSR) & 1, 0);
	assert_int_equal(f->irq.level, 0);
	assert_true(f->chr.input_ready_calls >= 1); /* backend told to resume */
}

static void test_trigger_level_and_timeout(void **state)
{
	struct fx *f = *state;
	uint8_t in[8] = "abcdefgh";

	wr(f, FCR, 0x81); /* FIFO on, trigger 8 */
	wr(f, IER, 0x01);
	wr(f, MCR, 0x08);
	assert_int_equal(serial_receive(f->s, in, 4), 4);
	assert_int_equal(rd(f, IIR) & 0x0f, 0x0c); /* below trigger: character timeout */
	assert_int_equal(serial_receive(f->s, in, 4), 4);
	assert_int_equal(rd(f, IIR) & 0x0f, 0x04); /* at trigger: data available */
}

static void test_thre_interrupt(void **state)
{
	struct fx *f = *state;

	wr(f, MCR, 0x08);
	wr(f, IER, 0x02); /* enabling THRE while THR empty raises it */
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(rd(f, IIR) & 0x0f, 0x02);
	assert_int_equal(f->irq.level, 0); /* reading IIR acknowledged it */
	assert_int_equal(rd(f, IIR) & 0x0f, 0x01);
	wr(f, THR, 'x'); /* sent at once: THRE again */
	assert_int_equal(f->irq.level, 1);
	wr(f, IER, 0x00);
	assert_int_equal(f->irq.level, 0);
}

static void test_loopback(void **state)
{
	struct fx *f = *state;
	uint8_t in = 'z';

	wr(f, MCR, 0x10 | 0x02 | 0x01); /* loop, RTS, DTR */
	assert_int_equal(rd(f, MSR) & 0xf0, 0x30); /* CTS, DSR follow RTS, DTR */
	wr(f, THR, 'L');
	assert_int_equal(f->chr.out_len, 0);
	assert_int_equal(rd(f, LSR) & 1, 1);
	assert_int_equal(rd(f, THR), 'L');
	assert_int_equal(serial_receive(f->s, &in, 1), 0); /* line disconnected */
	wr(f, MCR, 0x00);
	assert_int_equal(serial_receive(f->s, &in, 1), 1);
}

static void test_save_load(void **state)
{
	struct fx *f = *state;
	uint8_t blob[256], bad[256];
	uint8_t in[3] = "abc";

	wr(f, FCR, 0x01);
	wr(f, SCR, 0x77);
	serial_receive(f->s, in, 3);
	ssize_t n = serial_ops.save(f->s, blob, sizeof(blob));
	assert_true(n > 0);
	assert_int_equal(serial_ops.save(f->s, blob, 4), -ENOSPC);
	serial_ops.reset(f->s);
	assert_int_equal(rd(f, SCR), 0);
	memcpy(bad, blob, n);
	bad[0] ^= 0xff; /* magic */
	assert_int_equal(serial_ops.load(f->s, bad, n), -EINVAL);
	assert_int_equal(serial_ops.load(f->s, blob, n - 1), -EINVAL);
	assert_int_equal(serial_ops.load(f->s, blob, n), 0);
	assert_int_equal(rd(f, SCR), 0x77);
	assert_int_equal(rd(f, THR), 'a');
	assert_int_equal(rd(f, THR), 'b');
}

static void test_hostile_offsets(void **state)
{
	struct fx *f = *state;
	uint8_t buf[8];

	/* wide and odd accesses wrap inside the 8 registers without crashing */
	serial_io(f->s, 6, buf, 8, false);
	memset(buf, 0xff, sizeof(buf));
	serial_io(f->s, 3, buf, 8, true);
	assert_true(f->chr.out_len <= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_fifo_and_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trigger_level_and_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_offsets, setup, teardown),
	};
	return cmocka_run_group_tests_name("serial", tests, NULL, NULL);
}
