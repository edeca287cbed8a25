// SPDX-License-Identifier: MIT
/*
 * i8042 PS/2 controller (IBM PC/AT Technical Reference, "Keyboard
 * Controller"; the 8042 command set as used by firmware and Linux) with an
 * MF2 keyboard and a standard PS/2 mouse behind it. Enough for Linux's probe
 * (self test, command byte, AUX loopback through 0xD3, AUX IRQ test),
 * atkbd/psmouse initialisation, host key and mouse input, and the reset line
 * (command 0xFE, or the output port written with bit 0 clear) that guests use
 * to reboot.
 *
 * Model: the controller has one output buffer (port 0x60) fed from three
 * queues in priority order: controller replies (incl. 0xD2/0xD3 loopback),
 * the keyboard and the mouse. A device's bytes only move into the output
 * buffer while its interface clock is enabled in the command byte, as on the
 * real part. IRQ 1 / IRQ 12 is high while the output buffer holds a byte of
 * that source and the command byte enables its interrupt; reading port 0x60
 * drops it, and the next queued byte raises it again, so edge-triggered
 * IOAPIC pins see one edge per byte.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmkit/dev.h"
#include "vmkit/log.h"

/* Status register (port 0x64 read). */
#define STS_OBF 0x01     /* output buffer full */
#define STS_IBF 0x02     /* input buffer full: never, writes are handled at once */
#define STS_SYS 0x04     /* system flag, mirrors command byte bit 2 */
#define STS_A2 0x08      /* last write was to port 0x64 (a command) */
#define STS_UNLOCKED 0x10 /* keyboard inhibit switch: not inhibited */
#define STS_AUXB 0x20    /* the output buffer byte is from the aux device */

/* Command byte ("controller RAM" byte 0). */
#define CTR_KBD_INT 0x01
#define CTR_AUX_INT 0x02
#define CTR_SYS 0x04
#define CTR_KBD_DISABLE 0x10
#define CTR_AUX_DISABLE 0x20
#define CTR_XLATE 0x40

/* Output port (0xD0/0xD1). */
#define OUT_RESET 0x01 /* CPU reset line, active low */
#define OUT_A20 0x02
#define OUT_KBD_OBF 0x10
#define OUT_AUX_OBF 0x20

#define PS2_ACK 0xfa
#define PS2_RESEND 0xfe
#define PS2_BAT_OK 0xaa

#define QUEUE_SIZE 64
#define MAX_MOUSE_PACKETS 16 /* per host event, for very large moves */

#define I8042_STATE_MAGIC 0x4b424332 /* "KBC2" */
#define I8042_STATE_VERSION 1

enum src { SRC_KBD = 0, SRC_AUX = 1 };

struct i8042_queue {
	uint8_t buf[QUEUE_SIZE];
	uint8_t src[QUEUE_SIZE]; /* only used by the controller queue */
	uint8_t head, count;
};

/*
 * Everything that save/load carries. Only fixed-size fields, no pointers:
 * the blob is this struct, checked field by field on load.
 */
struct i8042_state {
	uint32_t magic;
	uint32_t version;
	struct i8042_queue ctlq, kbdq, auxq;
	uint8_t obf, out, out_src; /* the output buffer */
	uint8_t ctr, ram[32], outport;
	uint8_t status_a2;
	uint8_t pending_cmd; /* controller command waiting for its data byte */
	uint8_t xlate_break; /* translation saw a set-2 0xF0 prefix */
	/* keyboard */
	uint8_t kbd_pending; /* command waiting for its argument */
	uint8_t kbd_scanning, scancode_set, leds, typematic, kbd_last;
	/* mouse */
	uint8_t aux_pending;
	uint8_t aux_reporting, aux_remote, aux_wrap, aux_rate, aux_resolution, aux_scaling;
	uint8_t aux_buttons, aux_last;
};

struct i8042 {
	pthread_mutex_t lock;
	struct irq_line kbd_irq, aux_irq;
	struct machine_ctl ctl;
	int kbd_level, aux_level; /* what we last drove on each line */
	struct i8042_state s;
	/* counters (not part of the saved state) */
	uint64_t dropped_kbd, dropped_aux, unknown_cmds;
};

/*
 * Scancode set 2 -> set 1, the fixed table of the 8042's translation mode
 * (IBM PC/AT Technical Reference; also the de-facto table every PS/2
 * controller implements). Index: set-2 code; value: set-1 code. Codes
 * without a key still translate (to the values the hardware produces).
 * Codes >= 0x80 pass through except 0x83 (F7) and 0x84 (Alt+SysRq).
 */
static const uint8_t xlate_table[128] = {
	/* 0x00: -, F9, -, F5, F3, F1, F2, F12, F13, F10, F8, F6, F4, Tab, `, - */
	0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
	/* 0x10: F14, LAlt, LShift, Kana, LCtrl, Q, 1, -, F15, -, Z, S, A, W, 2, - */
	0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
	/* 0x20: F16, C, X, D, E, 4, 3, -, F17, Space, V, F, T, R, 5, - */
	0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
	/* 0x30: F18, N, B, H, G, Y, 6, -, F19, -, M, J, U, 7, 8, - */
	0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
	/* 0x40: F20, ",", K, I, O, 0, 9, -, F21, ".", /, L, ;, P, -, - */
	0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
	/* 0x50: F22, Ro, ', -, [, =, -, F23, Caps, RShift, Enter, ], -, \, -, F24 */
	0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
	/* 0x60: -, 102nd, -, -, Henkan, -, Backspace, Muhenkan, -, KP1, Yen, KP4, KP7, -, -, - */
	0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
	/* 0x70: KP0, KP., KP2, KP5, KP6, KP8, Esc, NumLock, F11, KP+, KP3, KP-, KP*, KP9, ScrollLock, SysRq */
	0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
};

static uint8_t xlate_code(uint8_t b)
{
	if (b < 0x80)
		return xlate_table[b];
	if (b == 0x83)
		return 0x41; /* F7 */
	if (b == 0x84)
		return 0x54; /* Alt+SysRq */
	return b;
}

static void q_clear(struct i8042_queue *q)
{
	q->head = 0;
	q->count = 0;
}

static unsigned int q_room(const struct i8042_queue *q)
{
	return QUEUE_SIZE - q->count;
}

static bool q_push(struct i8042_queue *q, uint8_t b, enum src src)
{
	unsigned int at;

	if (q->count >= QUEUE_SIZE)
		return false;
	at = (q->head + q->count) % QUEUE_SIZE;
	q->buf[at] = b;
	q->src[at] = (uint8_t)src;
	q->count++;
	return true;
}

static uint8_t q_pop(struct i8042_queue *q, enum src *src)
{
	uint8_t b = q->buf[q->head];

	if (src)
		*src = q->src[q->head] == SRC_AUX ? SRC_AUX : SRC_KBD;
	q->head = (uint8_t)((q->head + 1) % QUEUE_SIZE);
	q->count--;
	return b;
}

/* Drive IRQ 1 / IRQ 12 from the output buffer and the command byte. */
static void update_irqs(struct i8042 *c)
{
	int kbd = c->s.obf && c->s.out_src == SRC_KBD && (c->s.ctr & CTR_KBD_INT);
	int aux = c->s.obf && c->s.out_src == SRC_AUX && (c->s.ctr & CTR_AUX_INT);

	if (kbd != c->kbd_level) {
		c->kbd_level = kbd;
		irq_line_set(&c->kbd_irq, kbd);
	}
	if (aux != c->aux_level) {
		c->aux_level = aux;
		irq_line_set(&c->aux_irq, aux);
	}
}

/* Move the next byte into an empty output buffer, then update the IRQs. */
static void refill(struct i8042 *c)
{
	struct i8042_state *s = &c->s;
	enum src src;

	if (!s->obf) {
		if (s->ctlq.count) {
			s->out = q_pop(&s->ctlq, &src);
			s->out_src = (uint8_t)src;
			s->obf = 1;
		} else if (s->kbdq.count && !(s->ctr & CTR_KBD_DISABLE)) {
			s->out = q_pop(&s->kbdq, NULL);
			s->out_src = SRC_KBD;
			s->obf = 1;
		} else if (s->auxq.count && !(s->ctr & CTR_AUX_DISABLE)) {
			s->out = q_pop(&s->auxq, NULL);
			s->out_src = SRC_AUX;
			s->obf = 1;
		}
	}
	update_irqs(c);
}

/* A byte from the controller itself (command replies, 0xD2/0xD3). */
static void ctl_reply(struct i8042 *c, uint8_t b, enum src src)
{
	if (!q_push(&c->s.ctlq, b, src))
		c->dropped_kbd++;
}

/*
 * A scan code byte the keyboard sends. In translation mode the controller
 * turns set-2 codes into set 1 on the way in: a 0xF0 break prefix is
 * swallowed and sets bit 7 of the following translated code.
 */
static void kbd_scancode(struct i8042 *c, uint8_t b)
{
	c->s.kbd_last = b;
	if (c->s.ctr & CTR_XLATE) {
		if (b == 0xf0) {
			c->s.xlate_break = 1;
			return;
		}
		b = xlate_code(b);
		if (c->s.xlate_break)
			b |= 0x80;
		c->s.xlate_break = 0;
	}
	if (!q_push(&c->s.kbdq, b, SRC_KBD))
		c->dropped_kbd++;
}

/*
 * A reply to a keyboard command (ACK, BAT, echo, ID, current set). A real
 * 8042 runs these through translation too (identify would read AB 41); they
 * stay raw here (AB 83), which Linux, firmware and other OSes all accept,
 * and no reply byte can leave a half-seen 0xF0 in the translator.
 */
static void kbd_send(struct i8042 *c, uint8_t b)
{
	c->s.kbd_last = b;
	if (!q_push(&c->s.kbdq, b, SRC_KBD))
		c->dropped_kbd++;
}

static void aux_send(struct i8042 *c, uint8_t b)
{
	c->s.aux_last = b;
	if (!q_push(&c->s.auxq, b, SRC_AUX))
		c->dropped_aux++;
}

static void kbd_defaults(struct i8042 *c)
{
	c->s.scancode_set = 2;
	c->s.typematic = 0x2b; /* 10.9 cps, 500 ms: the power-on default */
	c->s.kbd_pending = 0;
}

static void aux_defaults(struct i8042 *c)
{
	c->s.aux_reporting = 0;
	c->s.aux_remote = 0;
	c->s.aux_rate = 100;
	c->s.aux_resolution = 2; /* 4 counts/mm */
	c->s.aux_scaling = 0;
	c->s.aux_pending = 0;
}

/* The argument byte of a pending keyboard command. */
static void kbd_arg(struct i8042 *c, uint8_t cmd, uint8_t v)
{
	switch (cmd) {
	case 0xed: /* LEDs: bit 0 scroll, 1 num, 2 caps */
		c->s.leds = v & 7;
		break;
	case 0xf0: /* scancode set: 0 queries, 1-3 select */
		if (v > 3) {
			kbd_send(c, PS2_RESEND);
			return;
		}
		kbd_send(c, PS2_ACK);
		if (v == 0)
			kbd_send(c, c->s.scancode_set);
		else
			c->s.scancode_set = v;
		return;
	case 0xf3:
		c->s.typematic = v & 0x7f;
		break;
	default: /* 0xFB-0xFD (set 3 key types): accepted and ignored */
		break;
	}
	kbd_send(c, PS2_ACK);
}

/* A byte the guest sent to the keyboard (PS/2 keyboard command set). */
static void kbd_write(struct i8042 *c, uint8_t v)
{
	uint8_t cmd = c->s.kbd_pending;

	/*
	 * Arguments never have bit 7 set; a byte with bit 7 set while an
	 * argument is expected is a new command (the keyboard aborts the old one).
	 */
	c->s.kbd_pending = 0;
	if (cmd && !(v & 0x80)) {
		kbd_arg(c, cmd, v);
		return;
	}
	/* The keyboard discards its unsent output when it receives a command. */
	q_clear(&c->s.kbdq);
	c->s.xlate_break = 0;
	switch (v) {
	case 0xed: /* set LEDs */
	case 0xf0: /* get/set scancode set */
	case 0xf3: /* typematic rate/delay */
	case 0xfb ... 0xfd:
		c->s.kbd_pending = v;
		kbd_send(c, PS2_ACK);
		break;
	case 0xee: /* echo */
		kbd_send(c, 0xee);
		break;
	case 0xf2: /* identify: MF2 keyboard */
		kbd_send(c, PS2_ACK);
		kbd_send(c, 0xab);
		kbd_send(c, 0x83);
		break;
	case 0xf4: /* enable scanning */
		c->s.kbd_scanning = 1;
		kbd_send(c, PS2_ACK);
		break;
	case 0xf5: /* disable scanning and restore defaults */
		kbd_defaults(c);
		c->s.kbd_scanning = 0;
		kbd_send(c, PS2_ACK);
		break;
	case 0xf6: /* restore defaults, keep scanning */
		kbd_defaults(c);
		c->s.kbd_scanning = 1;
		kbd_send(c, PS2_ACK);
		break;
	case 0xf7 ... 0xfa: /* set 3 "all keys" modes */
		kbd_send(c, PS2_ACK);
		break;
	case 0xfe: /* resend the last byte */
		kbd_send(c, c->s.kbd_last);
		break;
	case 0xff: /* reset and basic assurance test */
		kbd_defaults(c);
		c->s.leds = 0;
		c->s.kbd_scanning = 1;
		kbd_send(c, PS2_ACK);
		kbd_send(c, PS2_BAT_OK);
		break;
	default:
		c->unknown_cmds++;
		kbd_send(c, PS2_RESEND);
	}
}

static void aux_packet(struct i8042 *c, int dx, int dy)
{
	uint8_t b0 = 0x08 | (c->s.aux_buttons & 7);

	if (dx < 0)
		b0 |= 0x10;
	if (dy < 0)
		b0 |= 0x20;
	aux_send(c, b0);
	aux_send(c, (uint8_t)dx);
	aux_send(c, (uint8_t)dy);
}

/* A byte the guest sent to the mouse through controller command 0xD4. */
static void aux_write(struct i8042 *c, uint8_t v)
{
	uint8_t cmd = c->s.aux_pending;

	c->s.aux_pending = 0;
	if (cmd) { /* 0xE8 / 0xF3 argument: any value */
		if (cmd == 0xf3)
			c->s.aux_rate = v;
		else
			c->s.aux_resolution = v & 3;
		aux_send(c, PS2_ACK);
		return;
	}
	/* Wrap (echo) mode: everything but "reset wrap mode" and reset is echoed. */
	if (c->s.aux_wrap && v != 0xec && v != 0xff) {
		aux_send(c, v);
		return;
	}
	q_clear(&c->s.auxq); /* a command ends any packet still queued */
	switch (v) {
	case 0xe6: /* scaling 1:1 */
	case 0xe7: /* scaling 2:1 */
		c->s.aux_scaling = v == 0xe7;
		aux_send(c, PS2_ACK);
		break;
	case 0xe8: /* resolution */
	case 0xf3: /* sample rate */
		c->s.aux_pending = v;
		aux_send(c, PS2_ACK);
		break;
	case 0xe9: /* status request: mode/buttons, resolution, rate */
		aux_send(c, PS2_ACK);
		/* byte 1: bit 6 remote, 5 enabled, 4 scaling 2:1, 2 left, 1 middle, 0 right */
		aux_send(c, (uint8_t)((c->s.aux_remote << 6) | (c->s.aux_reporting << 5) | (c->s.aux_scaling << 4) |
				      ((c->s.aux_buttons & 1) << 2) | ((c->s.aux_buttons & 4) >> 1) |
				      ((c->s.aux_buttons & 2) >> 1)));
		aux_send(c, c->s.aux_resolution);
		aux_send(c, c->s.aux_rate);
		break;
	case 0xea: /* stream mode */
	case 0xf0: /* remote mode */
		c->s.aux_remote = v == 0xf0;
		aux_send(c, PS2_ACK);
		break;
	case 0xeb: /* read data: one packet, no movement accumulated */
		aux_send(c, PS2_ACK);
		aux_packet(c, 0, 0);
		break;
	case 0xec: /* reset wrap mode */
	case 0xee: /* set wrap mode */
		c->s.aux_wrap = v == 0xee;
		aux_send(c, PS2_ACK);
		break;
	case 0xf2: /* get device id: standard PS/2 mouse */
		aux_send(c, PS2_ACK);
		aux_send(c, 0x00);
		break;
	case 0xf4:
	case 0xf5:
		c->s.aux_reporting = v == 0xf4;
		aux_send(c, PS2_ACK);
		break;
	case 0xf6: /* defaults */
		aux_defaults(c);
		aux_send(c, PS2_ACK);
		break;
	case 0xfe:
		aux_send(c, c->s.aux_last);
		break;
	case 0xff: /* reset: ACK, BAT passed, device id */
		aux_defaults(c);
		c->s.aux_wrap = 0;
		aux_send(c, PS2_ACK);
		aux_send(c, PS2_BAT_OK);
		aux_send(c, 0x00);
		break;
	default:
		c->unknown_cmds++;
		aux_send(c, PS2_RESEND);
	}
}

static uint8_t read_outport(const struct i8042 *c)
{
	uint8_t v = c->s.outport & ~(OUT_KBD_OBF | OUT_AUX_OBF);

	if (c->s.obf)
		v |= c->s.out_src == SRC_AUX ? OUT_AUX_OBF : OUT_KBD_OBF;
	return v;
}

/* A write to port 0x64. Returns true if the machine must reset. */
static bool controller_cmd(struct i8042 *c, uint8_t cmd)
{
	switch (cmd) {
	case 0x20: /* read command byte */
		ctl_reply(c, c->s.ctr, SRC_KBD);
		break;
	case 0x21 ... 0x3f: /* read internal RAM */
		ctl_reply(c, c->s.ram[cmd & 0x1f], SRC_KBD);
		break;
	case 0x60 ... 0x7f: /* write command byte / internal RAM: data follows */
	case 0xd1 ... 0xd4:
		c->s.pending_cmd = cmd;
		break;
	case 0xa7: /* disable aux interface */
		c->s.ctr |= CTR_AUX_DISABLE;
		break;
	case 0xa8: /* enable aux interface */
		c->s.ctr &= ~CTR_AUX_DISABLE;
		break;
	case 0xa9: /* aux interface test: no error */
	case 0xab: /* keyboard interface test: no error */
		ctl_reply(c, 0x00, SRC_KBD);
		break;
	case 0xaa: /* controller self test: passed; sets the system flag */
		c->s.ctr |= CTR_SYS;
		ctl_reply(c, 0x55, SRC_KBD);
		break;
	case 0xad: /* disable keyboard interface */
		c->s.ctr |= CTR_KBD_DISABLE;
		break;
	case 0xae: /* enable keyboard interface */
		c->s.ctr &= ~CTR_KBD_DISABLE;
		break;
	case 0xc0: /* read input port: keyboard not inhibited */
		ctl_reply(c, 0x80, SRC_KBD);
		break;
	case 0xd0: /* read output port */
		ctl_reply(c, read_outport(c), SRC_KBD);
		break;
	case 0xe0: /* read test inputs */
		ctl_reply(c, 0x00, SRC_KBD);
		break;
	case 0xf0 ... 0xff: /* pulse output port bits low for 6 us; bit 0 is CPU reset */
		return !(cmd & OUT_RESET);
	default:
		c->unknown_cmds++;
		log_ratelimited(LOG_DEBUG, "i8042: unknown controller command 0x%02x", cmd);
		break;
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
	case 0xd1: /* write output port: bit 0 low asserts CPU reset */
		c->s.outport = v & ~(OUT_KBD_OBF | OUT_AUX_OBF);
		return !(v & OUT_RESET);
	case 0xd2: /* as if the keyboard had sent v */
		ctl_reply(c, v, SRC_KBD);
		break;
	case 0xd3: /* as if the mouse had sent v (Linux's AUX loopback test) */
		ctl_reply(c, v, SRC_AUX);
		break;
	case 0xd4: /* send v to the mouse; talking to it enables its clock */
		c->s.ctr &= ~CTR_AUX_DISABLE;
		aux_write(c, v);
		break;
	}
	return false;
}

void i8042_data_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct i8042 *c = opaque;
	bool reset = false;

	if (!size)
		return;
	pthread_mutex_lock(&c->lock);
	if (is_write) {
		uint8_t cmd = c->s.pending_cmd;

		c->s.status_a2 = 0;
		c->s.pending_cmd = 0;
		if (cmd) {
			reset = controller_data(c, cmd, data[0]);
		} else {
			/* Sending to the keyboard enables its clock (as common 8042s do). */
			c->s.ctr &= ~CTR_KBD_DISABLE;
			kbd_write(c, data[0]);
		}
	} else {
		memset(data, 0, size);
		/* With nothing new, the port returns the last byte again. */
		data[0] = c->s.out;
		c->s.obf = 0;
		update_irqs(c); /* falling edge; refill below makes the next rising one */
	}
	refill(c);
	pthread_mutex_unlock(&c->lock);
	if (reset)
		machine_request(&c->ctl, MACHINE_RESET, 0);
}

void i8042_cmd_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct i8042 *c = opaque;
	bool reset = false;

	if (!size)
		return;
	pthread_mutex_lock(&c->lock);
	if (is_write) {
		c->s.status_a2 = 1;
		c->s.pending_cmd = 0; /* a new command abandons one waiting for data */
		reset = controller_cmd(c, data[0]);
		refill(c);
	} else {
		uint8_t st = STS_UNLOCKED;

		if (c->s.ctr & CTR_SYS)
			st |= STS_SYS;
		if (c->s.status_a2)
			st |= STS_A2;
		if (c->s.obf) {
			st |= STS_OBF;
			if (c->s.out_src == SRC_AUX)
				st |= STS_AUXB;
		}
		memset(data, 0, size);
		data[0] = st;
	}
	pthread_mutex_unlock(&c->lock);
	if (reset)
		machine_request(&c->ctl, MACHINE_RESET, 0);
}

void i8042_key_event(struct i8042 *c, const uint8_t *set2_bytes, size_t n)
{
	pthread_mutex_lock(&c->lock);
	/* All or nothing: a half-queued key sequence would confuse the driver. */
	if (!c->s.kbd_scanning || c->s.kbd_pending || n > q_room(&c->s.kbdq)) {
		c->dropped_kbd++;
	} else {
		for (size_t i = 0; i < n; i++) {
			uint8_t b = set2_bytes[i];
			/*
			 * A keyboard switched to set 1 (translation off) produces set 1
			 * itself. Set 3 is approximated by set 2.
			 */
			if (c->s.scancode_set == 1 && !(c->s.ctr & CTR_XLATE)) {
				if (b == 0xf0) {
					c->s.xlate_break = 1;
					continue;
				}
				b = xlate_code(b) | (c->s.xlate_break ? 0x80 : 0);
				c->s.xlate_break = 0;
			}
			kbd_scancode(c, b);
		}
		refill(c);
	}
	pthread_mutex_unlock(&c->lock);
}

/* The largest step one packet carries: 9-bit two's complement. */
static int clamp9(long v)
{
	return v < -256 ? -256 : v > 255 ? 255 : (int)v;
}

void i8042_mouse_event(struct i8042 *c, int dx, int dy, int buttons)
{
	/* PS/2 Y grows upwards; the host's grows downwards. Avoid -INT_MIN. */
	long x = dx, y = -(long)dy;
	int packets = 0;

	pthread_mutex_lock(&c->lock);
	c->s.aux_buttons = (uint8_t)(buttons & 7);
	if (!c->s.aux_reporting || c->s.aux_remote || c->s.aux_wrap || c->s.aux_pending) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	/* Split big moves into several packets rather than setting overflow bits. */
	do {
		int px = clamp9(x), py = clamp9(y);

		if (q_room(&c->s.auxq) < 3) {
			c->dropped_aux++;
			break;
		}
		aux_packet(c, px, py);
		x -= px;
		y -= py;
	} while ((x || y) && ++packets < MAX_MOUSE_PACKETS);
	refill(c);
	pthread_mutex_unlock(&c->lock);
}

unsigned int i8042_leds(struct i8042 *c)
{
	unsigned int leds;

	pthread_mutex_lock(&c->lock);
	leds = c->s.leds;
	pthread_mutex_unlock(&c->lock);
	return leds;
}

static void power_on(struct i8042 *c)
{
	memset(&c->s, 0, sizeof(c->s));
	c->s.magic = I8042_STATE_MAGIC;
	c->s.version = I8042_STATE_VERSION;
	/*
	 * As firmware leaves it (vmkit boots kernels without a BIOS): keyboard
	 * IRQ on, translation on, mouse disabled, POST done (system flag).
	 */
	c->s.ctr = CTR_KBD_INT | CTR_SYS | CTR_XLATE | CTR_AUX_DISABLE;
	c->s.outport = OUT_RESET | OUT_A20;
	c->s.leds = 0;
	c->s.kbd_scanning = 1;
	kbd_defaults(c);
	aux_defaults(c);
}

struct i8042 *i8042_create(const struct irq_line *kbd_irq, const struct irq_line *mouse_irq,
			   const struct machine_ctl *ctl)
{
	struct i8042 *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (pthread_mutex_init(&c->lock, NULL)) {
		free(c);
		return NULL;
	}
	if (kbd_irq)
		c->kbd_irq = *kbd_irq;
	if (mouse_irq)
		c->aux_irq = *mouse_irq;
	if (ctl)
		c->ctl = *ctl;
	power_on(c);
	return c;
}

static void i8042_reset(void *dev)
{
	struct i8042 *c = dev;

	pthread_mutex_lock(&c->lock);
	power_on(c);
	update_irqs(c);
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

static bool queue_valid(const struct i8042_queue *q)
{
	return q->head < QUEUE_SIZE && q->count <= QUEUE_SIZE;
}

static bool bool_valid(uint8_t v)
{
	return v <= 1;
}

static bool state_valid(const struct i8042_state *s)
{
	if (s->magic != I8042_STATE_MAGIC || s->version != I8042_STATE_VERSION)
		return false;
	if (!queue_valid(&s->ctlq) || !queue_valid(&s->kbdq) || !queue_valid(&s->auxq))
		return false;
	for (unsigned int i = 0; i < QUEUE_SIZE; i++)
		if (s->ctlq.src[i] > SRC_AUX)
			return false;
	if (!bool_valid(s->obf) || s->out_src > SRC_AUX || !bool_valid(s->status_a2) || !bool_valid(s->xlate_break))
		return false;
	if (s->pending_cmd && !(s->pending_cmd >= 0x60 && s->pending_cmd <= 0x7f) &&
	    !(s->pending_cmd >= 0xd1 && s->pending_cmd <= 0xd4))
		return false;
	if (s->kbd_pending && s->kbd_pending != 0xed && s->kbd_pending != 0xf0 && s->kbd_pending != 0xf3 &&
	    !(s->kbd_pending >= 0xfb && s->kbd_pending <= 0xfd))
		return false;
	if (s->aux_pending && s->aux_pending != 0xe8 && s->aux_pending != 0xf3)
		return false;
	if (s->scancode_set < 1 || s->scancode_set > 3 || s->leds > 7 || s->aux_resolution > 3 || s->aux_buttons > 7)
		return false;
	return bool_valid(s->kbd_scanning) && bool_valid(s->aux_reporting) && bool_valid(s->aux_remote) &&
	       bool_valid(s->aux_wrap) && bool_valid(s->aux_scaling);
}

static int i8042_load(void *dev, const void *buf, size_t len)
{
	struct i8042 *c = dev;
	struct i8042_state s;

	if (len != sizeof(s))
		return -EINVAL;
	memcpy(&s, buf, sizeof(s));
	if (!state_valid(&s))
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	c->s = s;
	update_irqs(c);
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
