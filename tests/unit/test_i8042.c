// SPDX-License-Identifier: MIT
/*
 * i8042: driven through a real PIO bus at 0x60/0x64 like a guest would:
 * controller commands, Linux's probe sequence, keyboard and mouse command
 * sets, set 2 -> set 1 translation, mouse packets, IRQ levels, the reset
 * line, save/load.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fakes.h"
#include "vmkit/bus.h"
#include "vmkit/dev.h"

#define STS_OBF 0x01
#define STS_SYS 0x04
#define STS_A2 0x08
#define STS_AUXB 0x20

struct kbc {
	struct bus pio;
	struct fake_irq kbd, aux;
	struct fake_machine mc;
	struct i8042 *c;
};

static int setup(void **state)
{
	struct kbc *k = calloc(1, sizeof(*k));
	struct irq_line l1, l12;
	struct machine_ctl ctl;

	assert_non_null(k);
	l1 = fake_irq_line(&k->kbd);
	l12 = fake_irq_line(&k->aux);
	l1.gsi = 1;
	l12.gsi = 12;
	ctl = fake_machine_ctl(&k->mc);
	k->c = i8042_create(&l1, &l12, &ctl);
	assert_non_null(k->c);
	assert_int_equal(bus_init(&k->pio, "pio"), 0);
	assert_int_equal(bus_register(&k->pio, 0x60, 1, i8042_data_io, k->c, "i8042-data"), 0);
	assert_int_equal(bus_register(&k->pio, 0x64, 1, i8042_cmd_io, k->c, "i8042-cmd"), 0);
	*state = k;
	return 0;
}

static int teardown(void **state)
{
	struct kbc *k = *state;

	bus_destroy(&k->pio);
	i8042_ops.destroy(k->c);
	free(k);
	return 0;
}

static uint8_t inb(struct kbc *k, uint16_t port)
{
	uint8_t v = 0;

	assert_true(bus_access(&k->pio, port, &v, 1, false));
	return v;
}

static void outb(struct kbc *k, uint16_t port, uint8_t v)
{
	assert_true(bus_access(&k->pio, port, &v, 1, true));
}

static uint8_t status(struct kbc *k)
{
	return inb(k, 0x64);
}

static void cmd(struct kbc *k, uint8_t v)
{
	outb(k, 0x64, v);
}

static void data(struct kbc *k, uint8_t v)
{
	outb(k, 0x60, v);
}

/* Read one byte that must be there. */
static uint8_t rd(struct kbc *k)
{
	assert_true(status(k) & STS_OBF);
	return inb(k, 0x60);
}

/* Read one byte that must come from the aux device. */
static uint8_t rd_aux(struct kbc *k)
{
	assert_int_equal(status(k) & (STS_OBF | STS_AUXB), STS_OBF | STS_AUXB);
	return inb(k, 0x60);
}

static void assert_empty(struct kbc *k)
{
	assert_int_equal(status(k) & STS_OBF, 0);
}

static uint8_t read_ctr(struct kbc *k)
{
	cmd(k, 0x20);
	return rd(k);
}

static void write_ctr(struct kbc *k, uint8_t v)
{
	cmd(k, 0x60);
	data(k, v);
}

static void aux_cmd(struct kbc *k, uint8_t v)
{
	cmd(k, 0xd4);
	data(k, v);
}

static void test_self_test_and_command_byte(void **state)
{
	struct kbc *k = *state;

	assert_empty(k);
	cmd(k, 0xaa);
	assert_true(status(k) & STS_A2); /* last write was a command */
	assert_true(status(k) & STS_SYS);
	assert_int_equal(rd(k), 0x55);
	assert_empty(k);
	/* power-on command byte: kbd IRQ, system flag, aux disabled, translation */
	assert_int_equal(read_ctr(k), 0x65);
	write_ctr(k, 0x47);
	assert_int_equal(status(k) & STS_A2, 0); /* last write was data */
	assert_int_equal(read_ctr(k), 0x47);
	write_ctr(k, 0x00);
	assert_int_equal(read_ctr(k), 0x00);
	assert_int_equal(status(k) & STS_SYS, 0); /* SYS mirrors the command byte */
	/* interface tests, other RAM bytes */
	cmd(k, 0xab);
	assert_int_equal(rd(k), 0x00);
	cmd(k, 0xa9);
	assert_int_equal(rd(k), 0x00);
	cmd(k, 0x65);
	data(k, 0x99);
	cmd(k, 0x25);
	assert_int_equal(rd(k), 0x99);
	/* an unknown command is ignored; a new command drops one awaiting data */
	cmd(k, 0xc8);
	assert_empty(k);
	cmd(k, 0x60);
	cmd(k, 0xaa);
	assert_int_equal(rd(k), 0x55);
	assert_int_equal(read_ctr(k), 0x04); /* self test set SYS, nothing else */
	/* the last byte can be read again, OBF stays clear */
	assert_int_equal(inb(k, 0x60), 0x04);
	assert_empty(k);
}

/* What Linux's i8042 driver does at boot (drivers/input/serio/i8042.c flow). */
static void test_linux_probe_sequence(void **state)
{
	struct kbc *k = *state;
	uint8_t ctr;

	/* flush, self test, command byte with both ports disabled, no IRQs */
	for (int i = 0; i < 16 && (status(k) & STS_OBF); i++)
		inb(k, 0x60);
	cmd(k, 0xaa);
	assert_int_equal(rd(k), 0x55);
	ctr = read_ctr(k);
	ctr = (uint8_t)((ctr | 0x30) & ~0x03);
	write_ctr(k, ctr);
	assert_int_equal(read_ctr(k), ctr);
	/* AUX loopback: the byte comes back tagged as aux data */
	cmd(k, 0xd3);
	data(k, 0x5a);
	assert_int_equal(rd_aux(k), 0x5a);
	/* bit assignment test: 0xA7/0xA8 show in the command byte */
	cmd(k, 0xa7);
	assert_true(read_ctr(k) & 0x20);
	cmd(k, 0xa8);
	assert_false(read_ctr(k) & 0x20);
	/* AUX IRQ delivery test: IRQ 12, not IRQ 1 */
	write_ctr(k, (uint8_t)((ctr & ~0x20) | 0x02));
	fake_irq_clear(&k->kbd);
	fake_irq_clear(&k->aux);
	cmd(k, 0xd3);
	data(k, 0xa5);
	assert_int_equal(k->aux.level, 1);
	assert_int_equal(k->aux.gsi, 12);
	assert_int_equal(k->kbd.raises, 0);
	assert_int_equal(rd_aux(k), 0xa5);
	assert_int_equal(k->aux.level, 0);
	/* keyboard port opened: enable it, IRQ 1 on, keyboard reset */
	write_ctr(k, 0x47);
	data(k, 0xff);
	assert_int_equal(k->kbd.level, 1);
	assert_int_equal(k->kbd.gsi, 1);
	assert_int_equal(rd(k), 0xfa);
	assert_int_equal(rd(k), 0xaa);
	assert_int_equal(k->kbd.level, 0);
	assert_int_equal(k->mc.requests, 0);
}

static void test_keyboard_commands(void **state)
{
	struct kbc *k = *state;

	write_ctr(k, 0x05); /* no translation: raw keyboard bytes */
	data(k, 0xff);
	assert_int_equal(rd(k), 0xfa);
	assert_int_equal(rd(k), 0xaa);
	assert_empty(k);
	data(k, 0xf2); /* identify */
	assert_int_equal(rd(k), 0xfa);
	assert_int_equal(rd(k), 0xab);
	assert_int_equal(rd(k), 0x83);
	data(k, 0xed); /* LEDs: ACK, byte, ACK */
	assert_int_equal(rd(k), 0xfa);
	assert_empty(k);
	data(k, 0x07);
	assert_int_equal(rd(k), 0xfa);
	assert_empty(k);
	data(k, 0xf3); /* typematic: ACK + ACK */
	assert_int_equal(rd(k), 0xfa);
	data(k, 0x20);
	assert_int_equal(rd(k), 0xfa);
	data(k, 0xf0); /* scancode set: query, select 3, query */
	assert_int_equal(rd(k), 0xfa);
	data(k, 0x00);
	assert_int_equal(rd(k), 0xfa);
	assert_int_equal(rd(k), 0x02);
	data(k, 0xf0);
	assert_int_equal(rd(k), 0xfa);
	data(k, 0x03);
	assert_int_equal(rd(k), 0xfa);
	data(k, 0xf0);
	rd(k);
	data(k, 0x00);
	assert_int_equal(rd(k), 0xfa);
	assert_int_equal(rd(k), 0x03);
	data(k, 0xee); /* echo */
	assert_int_equal(rd(k), 0xee);
	data(k, 0xf4);
	assert_int_equal(rd(k), 0xfa);
	data(k, 0xf6);
	assert_int_equal(rd(k), 0xfa);
	data(k, 0x42); /* unknown: resend */
	assert_int_equal(rd(k), 0xfe);
	/* a command while an argument is expected aborts the old one */
	data(k, 0xed);
	assert_int_equal(rd(k), 0xfa);
	data(k, 0xee);
	assert_int_equal(rd(k), 0xee);
	assert_empty(k);

	/* translation on: command replies stay raw (identify AB 83, set query 2) */
	write_ctr(k, 0x45);
	data(k, 0xf0);
	rd(k);
	data(k, 0x02);
	rd(k);
	data(k, 0xf2);
	assert_int_equal(rd(k), 0xfa);
	assert_int_equal(rd(k), 0xab);
	assert_int_equal(rd(k), 0x83);
	data(k, 0xf0);
	rd(k);
	data(k, 0x00);
	assert_int_equal(rd(k), 0xfa);
	assert_int_equal(rd(k), 0x02);
	assert_empty(k);
	/* keyboard replies never set AUXB */
	data(k, 0xee);
	assert_int_equal(status(k) & (STS_OBF | STS_AUXB), STS_OBF);
}

static void key(struct kbc *k, const uint8_t *b, size_t n)
{
	i8042_key_event(k->c, b, n);
}

static void test_translation(void **state)
{
	struct kbc *k = *state;
	static const uint8_t a_make[] = { 0x1c }, a_break[] = { 0xf0, 0x1c };
	static const uint8_t up_make[] = { 0xe0, 0x75 }, up_break[] = { 0xe0, 0xf0, 0x75 };
	static const uint8_t f7[] = { 0x83 }, esc[] = { 0x76 }, enter_break[] = { 0xf0, 0x5a };
	static const uint8_t pause[] = { 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 };
	static const uint8_t pause1[] = { 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5 };

	/* power-on: translation on */
	key(k, a_make, 1);
	assert_int_equal(rd(k), 0x1e);
	key(k, a_break, 2);
	assert_int_equal(rd(k), 0x9e);
	assert_empty(k);
	key(k, up_make, 2);
	assert_int_equal(rd(k), 0xe0);
	assert_int_equal(rd(k), 0x48);
	key(k, up_break, 3);
	assert_int_equal(rd(k), 0xe0);
	assert_int_equal(rd(k), 0xc8);
	key(k, f7, 1);
	assert_int_equal(rd(k), 0x41);
	key(k, esc, 1);
	assert_int_equal(rd(k), 0x01);
	key(k, enter_break, 2);
	assert_int_equal(rd(k), 0x9c);
	key(k, pause, sizeof(pause));
	for (size_t i = 0; i < sizeof(pause1); i++)
		assert_int_equal(rd(k), pause1[i]);
	assert_empty(k);

	/* translation off: set 2 bytes as they are */
	write_ctr(k, 0x05);
	key(k, a_break, 2);
	assert_int_equal(rd(k), 0xf0);
	assert_int_equal(rd(k), 0x1c);
	/* keyboard switched to set 1 without translation: it sends set 1 itself */
	data(k, 0xf0);
	rd(k);
	data(k, 0x01);
	rd(k);
	key(k, a_break, 2);
	assert_int_equal(rd(k), 0x9e);
	assert_empty(k);
}

static void test_keyboard_gating(void **state)
{
	struct kbc *k = *state;
	static const uint8_t a[] = { 0x1c };

	/* scanning disabled (0xF5): keys are dropped */
	data(k, 0xf5);
	assert_int_equal(rd(k), 0xfa);
	key(k, a, 1);
	assert_empty(k);
	data(k, 0xf4);
	assert_int_equal(rd(k), 0xfa);
	/* keyboard clock disabled in the command byte: held until re-enabled */
	cmd(k, 0xad);
	key(k, a, 1);
	assert_empty(k);
	cmd(k, 0xae);
	assert_int_equal(rd(k), 0x1e);
	/* a bounded queue: a guest that never reads cannot make it grow */
	for (int i = 0; i < 1000; i++)
		key(k, a, 1);
	int n = 0;
	while ((status(k) & STS_OBF) && n < 2000) {
		inb(k, 0x60);
		n++;
	}
	assert_true(n > 8 && n <= 65);
}

static void test_mouse(void **state)
{
	struct kbc *k = *state;

	write_ctr(k, 0x47); /* both ports enabled, both IRQs */
	aux_cmd(k, 0xff);
	assert_int_equal(rd_aux(k), 0xfa);
	assert_int_equal(rd_aux(k), 0xaa);
	assert_int_equal(rd_aux(k), 0x00);
	aux_cmd(k, 0xf2);
	assert_int_equal(rd_aux(k), 0xfa);
	assert_int_equal(rd_aux(k), 0x00);
	aux_cmd(k, 0xf3); /* sample rate 200: the argument may have bit 7 set */
	assert_int_equal(rd_aux(k), 0xfa);
	aux_cmd(k, 200);
	assert_int_equal(rd_aux(k), 0xfa);
	aux_cmd(k, 0xe8);
	rd_aux(k);
	aux_cmd(k, 0x03);
	rd_aux(k);
	aux_cmd(k, 0xe7);
	assert_int_equal(rd_aux(k), 0xfa);
	aux_cmd(k, 0xe9); /* status: ACK, flags, resolution, rate */
	assert_int_equal(rd_aux(k), 0xfa);
	assert_int_equal(rd_aux(k), 0x10);
	assert_int_equal(rd_aux(k), 0x03);
	assert_int_equal(rd_aux(k), 200);
	aux_cmd(k, 0xe6);
	rd_aux(k);
	aux_cmd(k, 0x55); /* unknown */
	assert_int_equal(rd_aux(k), 0xfe);
	assert_empty(k);

	/* no reporting yet: no packets */
	i8042_mouse_event(k->c, 5, 5, 0);
	assert_empty(k);
	aux_cmd(k, 0xf4);
	assert_int_equal(rd_aux(k), 0xfa);
	fake_irq_clear(&k->aux);

	/* right 5, up 3 (screen dy -3), left button */
	i8042_mouse_event(k->c, 5, -3, 1);
	assert_int_equal(k->aux.level, 1);
	assert_int_equal(k->kbd.level, 0);
	assert_int_equal(rd_aux(k), 0x09);
	assert_int_equal(rd_aux(k), 5);
	assert_int_equal(rd_aux(k), 3);
	assert_int_equal(k->aux.level, 0);
	assert_int_equal(k->aux.raises, 3); /* one edge per byte */
	/* left 5, down 10: both sign bits; right+middle buttons */
	i8042_mouse_event(k->c, -5, 10, 6);
	assert_int_equal(rd_aux(k), 0x08 | 0x10 | 0x20 | 0x06);
	assert_int_equal(rd_aux(k), 0xfb);
	assert_int_equal(rd_aux(k), 0xf6);
	assert_empty(k);
	/* a move too big for one packet is split, nothing lost */
	i8042_mouse_event(k->c, 600, 0, 0);
	int sum = 0, packets = 0;
	while (status(k) & STS_OBF) {
		uint8_t b0 = rd_aux(k), x = rd_aux(k), y = rd_aux(k);
		assert_true(b0 & 0x08);
		assert_int_equal(y, 0);
		sum += (b0 & 0x10) ? (int)x - 256 : (int)x;
		packets++;
	}
	assert_int_equal(sum, 600);
	assert_int_equal(packets, 3);
	/* buttons show in the status request */
	i8042_mouse_event(k->c, 0, 0, 1);
	aux_cmd(k, 0xe9);
	/* the command discards the queued rest of the packet, not the byte already in the buffer */
	assert_int_equal(rd_aux(k), 0x09);
	assert_int_equal(rd_aux(k), 0xfa);
	assert_int_equal(rd_aux(k), 0x20 | 0x04);
	rd_aux(k);
	rd_aux(k);
	/* disabling reporting stops packets */
	aux_cmd(k, 0xf5);
	assert_int_equal(rd_aux(k), 0xfa);
	i8042_mouse_event(k->c, 1, 1, 0);
	assert_empty(k);
	/* IRQ 12 stays low while the command byte does not enable it */
	aux_cmd(k, 0xf4);
	rd_aux(k);
	write_ctr(k, 0x45);
	fake_irq_clear(&k->aux);
	i8042_mouse_event(k->c, 1, 1, 0);
	assert_int_equal(k->aux.raises, 0);
	assert_int_equal(status(k) & (STS_OBF | STS_AUXB), STS_OBF | STS_AUXB);
	/* a full aux queue never takes half a packet (room left: 62 bytes) */
	for (int i = 0; i < 100; i++)
		i8042_mouse_event(k->c, 1, 1, 0);
	int n = 0;
	while (status(k) & STS_OBF) {
		uint8_t b = inb(k, 0x60);
		if (n % 3 == 0)
			assert_int_equal(b, 0x28); /* Y sign: screen down is PS/2 negative */
		n++;
	}
	assert_int_equal(n, 63);
}

static void test_reset_line(void **state)
{
	struct kbc *k = *state;

	cmd(k, 0xff); /* pulse nothing */
	assert_int_equal(k->mc.requests, 0);
	cmd(k, 0xfe); /* pulse bit 0: CPU reset */
	assert_int_equal(k->mc.requests, 1);
	assert_int_equal(k->mc.last, MACHINE_RESET);
	assert_int_equal(k->mc.status, 0);
	cmd(k, 0xf0); /* pulse all bits, including reset */
	assert_int_equal(k->mc.count[MACHINE_RESET], 2);
	cmd(k, 0xd0); /* output port: reset line high, A20 on */
	assert_int_equal(rd(k) & 0x03, 0x03);
	cmd(k, 0xd1);
	data(k, 0x03);
	assert_int_equal(k->mc.requests, 2);
	cmd(k, 0xd1);
	data(k, 0x02); /* bit 0 clear */
	assert_int_equal(k->mc.requests, 3);
	assert_int_equal(k->mc.last, MACHINE_RESET);
}

static void test_irq_levels(void **state)
{
	struct kbc *k = *state;
	static const uint8_t ab[] = { 0x1c, 0x32 };

	fake_irq_clear(&k->kbd);
	key(k, ab, 2);
	assert_int_equal(k->kbd.level, 1);
	assert_int_equal(k->aux.level, 0);
	inb(k, 0x60);
	assert_int_equal(k->kbd.level, 1); /* second byte raised it again */
	assert_int_equal(k->kbd.raises, 2);
	inb(k, 0x60);
	assert_int_equal(k->kbd.level, 0);
	/* turning the IRQ enable off drops the line while data waits */
	key(k, ab, 1);
	assert_int_equal(k->kbd.level, 1);
	write_ctr(k, 0x64);
	assert_int_equal(k->kbd.level, 0);
	assert_true(status(k) & STS_OBF);
	write_ctr(k, 0x65);
	assert_int_equal(k->kbd.level, 1);
	/* a controller reply while IRQ 1 is enabled is also an IRQ 1 byte */
	inb(k, 0x60);
	cmd(k, 0xaa);
	assert_int_equal(k->kbd.level, 1);
	inb(k, 0x60);
	assert_int_equal(k->kbd.level, 0);
	/* device reset: power-on state, lines low */
	key(k, ab, 2);
	i8042_ops.reset(k->c);
	assert_int_equal(k->kbd.level, 0);
	assert_empty(k);
	assert_int_equal(read_ctr(k), 0x65);
}

static void test_save_load(void **state)
{
	struct kbc *k = *state;
	static const uint8_t ab[] = { 0x1c, 0x32 };
	uint8_t blob[4096], bad[4096];
	ssize_t n;

	write_ctr(k, 0x47);
	aux_cmd(k, 0xf4);
	rd_aux(k);
	data(k, 0xed); /* keyboard waits for the LED byte */
	rd(k);
	assert_int_equal(i8042_ops.save(k->c, blob, 4), -ENOSPC);
	n = i8042_ops.save(k->c, blob, sizeof(blob));
	assert_true(n > 0);
	i8042_ops.reset(k->c);
	assert_int_equal(read_ctr(k), 0x65);
	assert_int_equal(i8042_ops.load(k->c, blob, (size_t)n), 0);
	assert_int_equal(read_ctr(k), 0x47);
	data(k, 0x02); /* the LED argument is still expected */
	assert_int_equal(rd(k), 0xfa);
	i8042_mouse_event(k->c, 1, 0, 0); /* reporting survived */
	assert_int_equal(rd_aux(k), 0x08);
	assert_int_equal(rd_aux(k), 0x01);
	assert_int_equal(rd_aux(k), 0x00);

	/* queued bytes survive, with their IRQ */
	write_ctr(k, 0x07); /* no translation */
	key(k, ab, 2);
	n = i8042_ops.save(k->c, blob, sizeof(blob));
	i8042_ops.reset(k->c);
	assert_int_equal(k->kbd.level, 0);
	assert_int_equal(i8042_ops.load(k->c, blob, (size_t)n), 0);
	assert_int_equal(k->kbd.level, 1);
	assert_int_equal(rd(k), 0x1c);
	assert_int_equal(rd(k), 0x32);

	/* malformed blobs are refused without touching the device */
	assert_int_equal(i8042_ops.load(k->c, blob, (size_t)n - 1), -EINVAL);
	memcpy(bad, blob, (size_t)n);
	bad[0] ^= 1; /* magic */
	assert_int_equal(i8042_ops.load(k->c, bad, (size_t)n), -EINVAL);
	memcpy(bad, blob, (size_t)n);
	bad[4] ^= 0x80; /* version */
	assert_int_equal(i8042_ops.load(k->c, bad, (size_t)n), -EINVAL);
	/* every single-byte corruption either loads or is refused; never crashes */
	for (ssize_t i = 8; i < n; i++) {
		memcpy(bad, blob, (size_t)n);
		bad[i] = 0xff;
		if (i8042_ops.load(k->c, bad, (size_t)n) == 0) {
			for (int j = 0; j < 200; j++) {
				status(k);
				inb(k, 0x60);
			}
			i8042_key_event(k->c, ab, 2);
			i8042_mouse_event(k->c, 3, 3, 1);
		}
	}
	assert_int_equal(i8042_ops.load(k->c, blob, (size_t)n), 0);
}

/* Whatever a guest writes, in whatever order and size, nothing breaks. */
static void test_hostile_guest(void **state)
{
	struct kbc *k = *state;
	uint8_t buf[8];
	unsigned int seed = 12345;

	for (int i = 0; i < 20000; i++) {
		seed = seed * 1103515245 + 12345;
		uint8_t v = (uint8_t)(seed >> 16);
		switch ((seed >> 8) % 6) {
		case 0:
			if (v != 0xfe && (v & 0xf1) != 0xf0)
				cmd(k, v);
			break;
		case 1:
			data(k, v);
			break;
		case 2:
			inb(k, 0x60);
			break;
		case 3:
			status(k);
			break;
		case 4:
			i8042_key_event(k->c, &v, 1);
			break;
		default:
			i8042_mouse_event(k->c, (int)v - 128, 3 * ((int)v - 128), v);
		}
	}
	/* odd sizes straight to the handlers */
	memset(buf, 0xee, sizeof(buf));
	i8042_data_io(k->c, 0, buf, 8, false);
	i8042_cmd_io(k->c, 0, buf, 2, false);
	i8042_cmd_io(k->c, 0, buf, 0, true);
	/* still a working controller */
	while (status(k) & STS_OBF)
		inb(k, 0x60);
	cmd(k, 0xaa);
	assert_int_equal(rd(k), 0x55);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_self_test_and_command_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_probe_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyboard_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_translation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyboard_gating, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mouse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_guest, setup, teardown),
	};
	return cmocka_run_group_tests_name("i8042", tests, NULL, NULL);
}
