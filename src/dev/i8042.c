// SPDX-License-Identifier: MIT
/*
 * i8042 PS/2 controller (IBM PC/AT Technical Reference; the "8042 PS/2
 * Controller" command set) with a keyboard and a mouse behind it: enough for
 * firmware and Linux to probe both ports, and the reset line (command 0xFE,
 * or output port bit 0 cleared) that guests use to reboot. Bytes for the
 * guest wait in one output queue; the head byte's source decides AUXB and
 * which IRQ (1 or 12) is raised, as a level that is pulsed per byte so that
 * edge-triggered IOAPIC pins see every byte.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmkit/dev.h"

#define STS_OBF 0x01
#define STS_SYS 0x04
#define STS_A2 0x08
#define STS_UNLOCKED 0x10
#define STS_AUXB 0x20

#define CTR_KBD_INT 0x01
#define CTR_AUX_INT 0x02
#define CTR_SYS 0x04
#define CTR_KBD_DISABLE 0x10
#define CTR_AUX_DISABLE 0x20
#define CTR_XLATE 0x40

#define QUEUE_SIZE 64
#define I8042_STATE_MAGIC 0x4b424331 /* "KBC1" */

enum src { SRC_KBD = 0, SRC_AUX = 1 };

struct i8042_state {
	uint32_t magic;
	uint8_t q[QUEUE_SIZE], qsrc[QUEUE_SIZE];
	uint8_t qhead, qcount;
	uint8_t ctr, status_a2, outport;
	uint8_t pending_cmd;  /* controller command waiting for its data byte */
	uint8_t kbd_pending;  /* keyboard command waiting for its argument */
	uint8_t aux_pending;  /* mouse command waiting for its argument */
	uint8_t kbd_enabled, scancode_set, leds;
	uint8_t aux_reporting, aux_rate, aux_resolution, aux_scaling;
	uint8_t ram[32];
	uint8_t kbd_level, aux_level;
};

struct i8042 {
	pthread_mutex_t lock;
	struct irq_line kbd_irq, aux_irq;
	struct machine_ctl ctl;
	struct i8042_state s;
};

static void update_irqs(struct i8042 *c, bool pulse)
{
	uint8_t kbd = 0, aux = 0;

	if (c->s.qcount) {
		if (c->s.qsrc[c->s.qhead] == SRC_AUX)
			aux = (c->s.ctr & CTR_AUX_INT) != 0;
		else
			kbd = (c->s.ctr & CTR_KBD_INT) != 0;
	}
	if (pulse || kbd != c->s.kbd_level) {
		if (pulse && c->s.kbd_level)
			irq_line_set(&c->kbd_irq, 0);
		c->s.kbd_level = kbd;
		if (kbd || !pulse)
			irq_line_set(&c->kbd_irq, kbd);
	}
	if (pulse || aux != c->s.aux_level) {
		if (pulse && c->s.aux_level)
			irq_line_set(&c->aux_irq, 0);
		c->s.aux_level = aux;
		if (aux || !pulse)
			irq_line_set(&c->aux_irq, aux);
	}
}

static void push(struct i8042 *c, uint8_t b, enum src src)
{
	unsigned int at;

	if (c->s.qcount >= QUEUE_SIZE)
		return; /* the guest is not reading: drop, as a full buffer would */
	at = (c->s.qhead + c->s.qcount) % QUEUE_SIZE;
	c->s.q[at] = b;
	c->s.qsrc[at] = (uint8_t)src;
	c->s.qcount++;
}

static void kbd_reset_state(struct i8042 *c)
{
	c->s.kbd_enabled = 1;
	c->s.scancode_set = 2;
	c->s.leds = 0;
	c->s.kbd_pending = 0;
}

static void aux_reset_state(struct i8042 *c)
{
	c->s.aux_reporting = 0;
	c->s.aux_rate = 100;
	c->s.aux_resolution = 2;
	c->s.aux_scaling = 0;
	c->s.aux_pending = 0;
}

/* A byte the guest sent to the keyboard (PS/2 keyboard command set). */
static void kbd_write(struct i8042 *c, uint8_t v)
{
	if (c->s.kbd_pending) {
		uint8_t cmd = c->s.kbd_pending;
		c->s.kbd_pending = 0;
		if (cmd == 0xed)
			c->s.leds = v & 7;
		else if (cmd == 0xf0 && v == 0) {
			push(c, 0xfa, SRC_KBD);
			push(c, c->s.scancode_set, SRC_KBD);
			return;
		} else if (cmd == 0xf0 && v <= 3)
			c->s.scancode_set = v;
		push(c, 0xfa, SRC_KBD);
		return;
	}
	switch (v) {
	case 0xed: /* set LEDs */
	case 0xf0: /* get/set scancode set */
	case 0xf3: /* typematic rate */
		c->s.kbd_pending = v;
		push(c, 0xfa, SRC_KBD);
		break;
	case 0xee: /* echo */
		push(c, 0xee, SRC_KBD);
		break;
	case 0xf2: /* identify: MF2 keyboard */
		push(c, 0xfa, SRC_KBD);
		push(c, 0xab, SRC_KBD);
		push(c, 0x83, SRC_KBD);
		break;
	case 0xf4:
		c->s.kbd_enabled = 1;
		push(c, 0xfa, SRC_KBD);
		break;
	case 0xf5: /* disable and reset to defaults */
		kbd_reset_state(c);
		c->s.kbd_enabled = 0;
		push(c, 0xfa, SRC_KBD);
		break;
	case 0xf6:
		kbd_reset_state(c);
		push(c, 0xfa, SRC_KBD);
		break;
	case 0xff: /* reset and self-test */
		kbd_reset_state(c);
		push(c, 0xfa, SRC_KBD);
		push(c, 0xaa, SRC_KBD);
		break;
	default:
		push(c, 0xfe, SRC_KBD); /* resend */
	}
}

/* A byte the guest sent to the mouse through command 0xD4. */
static void aux_write(struct i8042 *c, uint8_t v)
{
	if (c->s.aux_pending) {
		if (c->s.aux_pending == 0xf3)
			c->s.aux_rate = v;
		else if (c->s.aux_pending == 0xe8)
			c->s.aux_resolution = v & 3;
		c->s.aux_pending = 0;
		push(c, 0xfa, SRC_AUX);
		return;
	}
	switch (v) {
	case 0xe6:
	case 0xe7:
		c->s.aux_scaling = v == 0xe7;
		push(c, 0xfa, SRC_AUX);
		break;
	case 0xe8:
	case 0xf3:
		c->s.aux_pending = v;
		push(c, 0xfa, SRC_AUX);
		break;
	case 0xe9: /* status request */
		push(c, 0xfa, SRC_AUX);
		push(c, (uint8_t)((c->s.aux_reporting << 5) | (c->s.aux_scaling << 4)), SRC_AUX);
		push(c, c->s.aux_resolution, SRC_AUX);
		push(c, c->s.aux_rate, SRC_AUX);
		break;
	case 0xf2: /* get device id: standard PS/2 mouse */
		push(c, 0xfa, SRC_AUX);
		push(c, 0x00, SRC_AUX);
		break;
	case 0xf4:
	case 0xf5:
		c->s.aux_reporting = v == 0xf4;
		push(c, 0xfa, SRC_AUX);
		break;
	case 0xf6:
		aux_reset_state(c);
		push(c, 0xfa, SRC_AUX);
		break;
	case 0xff:
		aux_reset_state(c);
		push(c, 0xfa, SRC_AUX);
		push(c, 0xaa, SRC_AUX);
		push(c, 0x00, SRC_AUX);
		break;
	default:
		push(c, 0xfe, SRC_AUX);
	}
}

/* Returns true if the machine must reset. */
static bool controller_cmd(struct i8042 *c, uint8_t cmd)
{
	switch (cmd) {
	case 0x20 ... 0x3f: /* read internal RAM; 0x20 is the command byte */
		push(c, cmd == 0x20 ? c->s.ctr : c->s.ram[cmd & 0x1f], SRC_KBD);
		break;
	case 0x60 ... 0x7f:
	case 0xd1 ... 0xd4:
		c->s.pending_cmd = cmd;
		break;
	case 0xa7:
		c->s.ctr |= CTR_AUX_DISABLE;
		break;
	case 0xa8:
		c->s.ctr &= ~CTR_AUX_DISABLE;
		break;
	case 0xa9: /* aux interface test: OK */
	case 0xab: /* keyboard interface test: OK */
		push(c, 0x00, SRC_KBD);
		break;
	case 0xaa: /* controller self-test */
		push(c, 0x55, SRC_KBD);
		break;
	case 0xad:
		c->s.ctr |= CTR_KBD_DISABLE;
		break;
	case 0xae:
		c->s.ctr &= ~CTR_KBD_DISABLE;
		break;
	case 0xc0: /* read input port */
		push(c, 0x00, SRC_KBD);
		break;
	case 0xd0: /* read output port */
		push(c, c->s.outport, SRC_KBD);
		break;
	case 0xf0 ... 0xff: /* pulse output lines low; bit 0 is the CPU reset line */
		return !(cmd & 1);
	default:
		break; /* unknown commands are ignored, like many real controllers */
	}
	return false;
}

/* The data byte of a two-byte controller command. Returns true to reset. */
static bool controller_data(struct i8042 *c, uint8_t cmd, uint8_t v)
{
	switch (cmd) {
	case 0x60:
		c->s.ctr = v;
		break;
	case 0x61 ... 0x7f:
		c->s.ram[cmd & 0x1f] = v;
		break;
	case 0xd1: /* write output port: bit 0 low resets the CPU */
		c->s.outport = v;
		return !(v & 1);
	case 0xd2:
		push(c, v, SRC_KBD);
		break;
	case 0xd3:
		push(c, v, SRC_AUX);
		break;
	case 0xd4:
		aux_write(c, v);
		break;
	}
	return false;
}

void i8042_data_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct i8042 *c = opaque;
	bool reset = false;

	pthread_mutex_lock(&c->lock);
	if (is_write) {
		uint8_t cmd = c->s.pending_cmd;
		c->s.status_a2 = 0;
		if (cmd) {
			c->s.pending_cmd = 0;
			reset = controller_data(c, cmd, data[0]);
		} else {
			kbd_write(c, data[0]);
		}
		update_irqs(c, false);
	} else {
		memset(data, 0, size);
		if (c->s.qcount) {
			data[0] = c->s.q[c->s.qhead];
			c->s.qhead = (c->s.qhead + 1) % QUEUE_SIZE;
			c->s.qcount--;
			update_irqs(c, true); /* a fresh edge for the next byte */
		} else {
			data[0] = c->s.q[(c->s.qhead + QUEUE_SIZE - 1) % QUEUE_SIZE]; /* stale last byte */
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (reset)
		machine_request(&c->ctl, MACHINE_RESET, 0);
}

void i8042_cmd_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct i8042 *c = opaque;
	bool reset = false;

	pthread_mutex_lock(&c->lock);
	if (is_write) {
		c->s.status_a2 = 1;
		c->s.pending_cmd = 0;
		reset = controller_cmd(c, data[0]);
		update_irqs(c, false);
	} else {
		uint8_t st = STS_SYS | STS_UNLOCKED | (c->s.status_a2 ? STS_A2 : 0);
		if (c->s.qcount) {
			st |= STS_OBF;
			if (c->s.qsrc[c->s.qhead] == SRC_AUX)
				st |= STS_AUXB;
		}
		memset(data, 0, size);
		data[0] = st;
	}
	pthread_mutex_unlock(&c->lock);
	if (reset)
		machine_request(&c->ctl, MACHINE_RESET, 0);
}

static void power_on(struct i8042 *c)
{
	memset(&c->s, 0, sizeof(c->s));
	c->s.magic = I8042_STATE_MAGIC;
	c->s.ctr = CTR_KBD_INT | CTR_SYS | CTR_XLATE | CTR_AUX_DISABLE;
	c->s.outport = 0x01; /* reset line not asserted */
	kbd_reset_state(c);
	aux_reset_state(c);
}

struct i8042 *i8042_create(const struct irq_line *kbd_irq, const struct irq_line *mouse_irq,
			   const struct machine_ctl *ctl)
{
	struct i8042 *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	c->kbd_irq = *kbd_irq;
	c->aux_irq = *mouse_irq;
	c->ctl = *ctl;
	power_on(c);
	return c;
}

static void i8042_reset(void *dev)
{
	struct i8042 *c = dev;

	pthread_mutex_lock(&c->lock);
	power_on(c);
	update_irqs(c, false);
	pthread_mutex_unlock(&c->lock);
}

static ssize_t i8042_save(void *dev, void *buf, size_t cap)
{
	struct i8042 *c = dev;

	if (cap < sizeof(c->s))
		return -ENOSPC;
	pthread_mutex_lock(&c->lock);
	memcpy(buf, &c->s, sizeof(c->s));
	pthread_mutex_unlock(&c->lock);
	return sizeof(c->s);
}

static int i8042_load(void *dev, const void *buf, size_t len)
{
	struct i8042 *c = dev;
	struct i8042_state s;

	if (len != sizeof(s))
		return -EINVAL;
	memcpy(&s, buf, sizeof(s));
	if (s.magic != I8042_STATE_MAGIC || s.qhead >= QUEUE_SIZE || s.qcount > QUEUE_SIZE)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	s.kbd_level = c->s.kbd_level;
	s.aux_level = c->s.aux_level;
	c->s = s;
	update_irqs(c, false);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void i8042_destroy(void *dev)
{
	struct i8042 *c = dev;

	pthread_mutex_destroy(&c->lock);
	free(c);
}

const struct device_ops i8042_ops = {
	.name = "i8042",
	.reset = i8042_reset,
	.save = i8042_save,
	.load = i8042_load,
	.destroy = i8042_destroy,
};
