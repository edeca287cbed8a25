// SPDX-License-Identifier: MIT
/*
 * A 16550A UART (National Semiconductor PC16550D datasheet): 16-byte receive
 * FIFO with trigger levels, interrupt identification by priority, divisor
 * latch, scratch register, modem control with loopback. Transmission is
 * instantaneous: THR and the shift register are always empty after a write,
 * so there is no transmit FIFO to model.
 *
 * As on a PC, the UART's interrupt output reaches the PIC/IOAPIC only while
 * the OUT2 modem-control output is active; Linux sets MCR.OUT2 before it
 * expects interrupts. The line is driven as a level and only on changes.
 *
 * Threads: serial_io runs on vCPU threads, serial_receive on the event-loop
 * thread; one mutex covers the registers. Guest output is handed to the
 * chardev after the mutex is dropped so a slow terminal never holds up input.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmkit/dev.h"
#include "vmkit/util.h"

#define UART_RBR 0 /* DLAB=0 read */
#define UART_THR 0 /* DLAB=0 write */
#define UART_IER 1
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI 0x08
#define IER_MASK 0x0f /* bits 4-7 are always 0 on a 16550A */

/* IIR interrupt identification (datasheet Table 4), highest priority first. */
#define IIR_NO_INT 0x01
#define IIR_RLSI 0x06
#define IIR_RDI 0x04
#define IIR_TIMEOUT 0x0c
#define IIR_THRI 0x02
#define IIR_MSI 0x00
#define IIR_FIFO_ENABLED 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RCVR 0x02
#define FCR_CLEAR_XMIT 0x04
#define FCR_TRIGGER 0xc0

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_DELTAS 0x0f
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

#define FIFO_SIZE 16

/* Saved state: magic, version, payload length, then the fields of struct serial_regs. */
#define SERIAL_STATE_MAGIC 0x52455356 /* "VSER" little-endian */
#define SERIAL_STATE_VERSION 1
#define SERIAL_STATE_PAYLOAD (FIFO_SIZE + 13)
#define SERIAL_STATE_LEN (STATE_HDR_LEN + SERIAL_STATE_PAYLOAD)

/* Guest-visible state: everything save/load carries. */
struct serial_regs {
	uint8_t fifo[FIFO_SIZE]; /* receive FIFO (ring); in non-FIFO mode only RBR = one byte */
	uint8_t rx_head, rx_count;
	uint8_t ier, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
	uint8_t thri_pending; /* THR-empty interrupt raised and not yet acknowledged */
	uint8_t rx_blocked;   /* receive() refused bytes: tell the backend when room frees up */
};

struct serial {
	pthread_mutex_t lock;
	struct irq_line irq;
	struct chardev *chr;
	struct serial_regs r;
	int irq_level; /* level last driven on the line */
	/* counters */
	uint64_t tx_bytes, rx_bytes, rx_refused, overruns;
};

static unsigned int rx_capacity(const struct serial_regs *r)
{
	return (r->fcr & FCR_ENABLE) ? FIFO_SIZE : 1;
}

static unsigned int rx_trigger(const struct serial_regs *r)
{
	/* FCR bits 7:6 (datasheet Table 3: 1, 4, 8, 14 bytes) */
	static const uint8_t levels[4] = { 1, 4, 8, 14 };

	return (r->fcr & FCR_ENABLE) ? levels[r->fcr >> 6] : 1;
}

/* Highest-priority pending interrupt (datasheet Table 4), or IIR_NO_INT. */
static uint8_t pending_iir(const struct serial_regs *r)
{
	if ((r->ier & IER_RLSI) && (r->lsr & (LSR_OE | LSR_BI)))
		return IIR_RLSI;
	if ((r->ier & IER_RDI) && r->rx_count) {
		/*
		 * Below the trigger level the chip raises a character timeout
		 * after four idle character times. Input arrives in bursts with
		 * no line timing here, so the line is idle as soon as a burst
		 * has been delivered: report the timeout at once.
		 */
		return r->rx_count >= rx_trigger(r) ? IIR_RDI : IIR_TIMEOUT;
	}
	if ((r->ier & IER_THRI) && r->thri_pending)
		return IIR_THRI;
	if ((r->ier & IER_MSI) && (r->msr & MSR_DELTAS))
		return IIR_MSI;
	return IIR_NO_INT;
}

/*
 * The PC wires the UART's INTR pin through a buffer enabled by OUT2. In
 * loopback the OUT2 pin is forced inactive (datasheet, MCR bit 4), so no
 * interrupt reaches the PIC then either.
 */
static void update_irq(struct serial *s)
{
	int level = (s->r.mcr & (MCR_OUT2 | MCR_LOOP)) == MCR_OUT2 && pending_iir(&s->r) != IIR_NO_INT;

	if (level != s->irq_level) {
		s->irq_level = level;
		irq_line_set(&s->irq, level);
	}
}

/* Modem status inputs for a given MCR: loopback wires the outputs back, else a modem that is always ready. */
static uint8_t msr_inputs(uint8_t mcr)
{
	if (!(mcr & MCR_LOOP))
		return MSR_CTS | MSR_DSR | MSR_DCD;
	return ((mcr & MCR_RTS) ? MSR_CTS : 0) | ((mcr & MCR_DTR) ? MSR_DSR : 0) |
	       ((mcr & MCR_OUT1) ? MSR_RI : 0) | ((mcr & MCR_OUT2) ? MSR_DCD : 0);
}

static void update_msr(struct serial *s)
{
	uint8_t old = s->r.msr, in = msr_inputs(s->r.mcr);

	s->r.msr = (old & MSR_DELTAS) | in;
	if ((old ^ in) & MSR_CTS)
		s->r.msr |= MSR_DCTS;
	if ((old ^ in) & MSR_DSR)
		s->r.msr |= MSR_DDSR;
	if ((old ^ in) & MSR_DCD)
		s->r.msr |= MSR_DDCD;
	if ((old & MSR_RI) && !(in & MSR_RI))
		s->r.msr |= MSR_TERI; /* trailing edge of RI */
}

/* A character finished arriving. With no room it is lost: overrun (datasheet LSR bit 1). */
static void rx_push(struct serial *s, uint8_t ch)
{
	if (s->r.rx_count >= rx_capacity(&s->r)) {
		s->r.lsr |= LSR_OE;
		s->overruns++;
		return;
	}
	s->r.fifo[(s->r.rx_head + s->r.rx_count) % FIFO_SIZE] = ch;
	s->r.rx_count++;
	s->r.lsr |= LSR_DR;
}

static void rx_clear(struct serial *s)
{
	s->r.rx_head = s->r.rx_count = 0;
	s->r.lsr &= ~LSR_DR;
}

/*
 * The backend was turned away earlier and there is room again: it may
 * resume. Wait until half the FIFO is free so a paste is not delivered one
 * byte at a time. Returns true if the caller must call chardev_input_ready.
 */
static bool rx_room_again(struct serial *s)
{
	if (!s->r.rx_blocked || (s->r.mcr & MCR_LOOP) || s->r.rx_count > rx_capacity(&s->r) / 2)
		return false;
	s->r.rx_blocked = 0;
	return true;
}

static void regs_reset(struct serial *s)
{
	memset(&s->r, 0, sizeof(s->r));
	s->r.lsr = LSR_THRE | LSR_TEMT;
	s->r.msr = msr_inputs(0);
	s->r.dll = 12; /* 9600 baud from the 1.8432 MHz clock */
}

struct serial *serial_create(const struct irq_line *irq, struct chardev *chr)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (pthread_mutex_init(&s->lock, NULL)) {
		free(s);
		return NULL;
	}
	if (irq)
		s->irq = *irq;
	s->chr = chr;
	regs_reset(s);
	return s;
}

static uint8_t serial_read(struct serial *s, unsigned int reg)
{
	uint8_t v;

	switch (reg) {
	case UART_RBR:
		if (s->r.lcr & LCR_DLAB)
			return s->r.dll;
		if (!s->r.rx_count)
			return 0; /* the chip returns the stale RBR; 0 is as good */
		v = s->r.fifo[s->r.rx_head];
		s->r.rx_head = (s->r.rx_head + 1) % FIFO_SIZE;
		if (--s->r.rx_count == 0)
			s->r.lsr &= ~LSR_DR;
		return v;
	case UART_IER:
		return (s->r.lcr & LCR_DLAB) ? s->r.dlm : s->r.ier;
	case UART_IIR:
		v = pending_iir(&s->r);
		/* Reading IIR acknowledges a THRE interrupt when it is the one reported. */
		if (v == IIR_THRI)
			s->r.thri_pending = 0;
		return v | ((s->r.fcr & FCR_ENABLE) ? IIR_FIFO_ENABLED : 0);
	case UART_LCR:
		return s->r.lcr;
	case UART_MCR:
		return s->r.mcr;
	case UART_LSR:
		v = s->r.lsr;
		s->r.lsr &= ~(LSR_OE | LSR_BI); /* error bits clear on read */
		return v;
	case UART_MSR:
		v = s->r.msr;
		s->r.msr &= ~MSR_DELTAS;
		return v;
	default:
		return s->r.scr;
	}
}

/* Returns true if a byte left the UART and was stored in *tx for the chardev. */
static bool serial_write(struct serial *s, unsigned int reg, uint8_t v, uint8_t *tx)
{
	switch (reg) {
	case UART_THR:
		if (s->r.lcr & LCR_DLAB) {
			s->r.dll = v;
			return false;
		}
		s->tx_bytes++;
		/*
		 * Writing THR clears a pending THRE interrupt; the byte is sent
		 * at once, THR is empty again and THRE is raised anew.
		 */
		s->r.thri_pending = 1;
		if (s->r.mcr & MCR_LOOP) {
			rx_push(s, v);
			return false;
		}
		*tx = v;
		return true;
	case UART_IER:
		if (s->r.lcr & LCR_DLAB) {
			s->r.dlm = v;
			return false;
		}
		/* Enabling THRE interrupts while THR is empty raises one (Linux relies on it). */
		if (!(s->r.ier & IER_THRI) && (v & IER_THRI))
			s->r.thri_pending = 1;
		s->r.ier = v & IER_MASK;
		return false;
	case UART_FCR:
		/* FCR0 gates the other bits; toggling it resets both FIFOs (datasheet FCR). */
		if ((v ^ s->r.fcr) & FCR_ENABLE)
			rx_clear(s);
		if (!(v & FCR_ENABLE)) {
			s->r.fcr = 0;
			return false;
		}
		if (v & FCR_CLEAR_RCVR)
			rx_clear(s);
		/* FCR_CLEAR_XMIT: the transmitter is always empty. */
		s->r.fcr = v & (FCR_ENABLE | FCR_TRIGGER);
		return false;
	case UART_LCR:
		s->r.lcr = v;
		return false;
	case UART_MCR:
		s->r.mcr = v & MCR_MASK;
		update_msr(s);
		return false;
	case UART_LSR:
	case UART_MSR:
		return false; /* factory test writes: ignored */
	default:
		s->r.scr = v;
		return false;
	}
}

void serial_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct serial *s = opaque;
	uint8_t tx[8];
	size_t ntx = 0;
	bool resume;

	/* Registers are bytes; a wider access touches consecutive registers. */
	size = MIN(size, (uint32_t)sizeof(tx));
	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < size; i++) {
		unsigned int reg = (unsigned int)((off + i) & 7);
		if (!is_write)
			data[i] = serial_read(s, reg);
		else if (serial_write(s, reg, data[i], &tx[ntx]))
			ntx++;
	}
	resume = rx_room_again(s);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	if (ntx)
		chardev_write(s->chr, tx, ntx);
	if (resume)
		chardev_input_ready(s->chr);
}

size_t serial_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct serial *s = opaque;
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	/* In loopback the receiver is disconnected from the line. */
	if (!(s->r.mcr & MCR_LOOP)) {
		while (n < len && s->r.rx_count < rx_capacity(&s->r))
			rx_push(s, buf[n++]);
	}
	s->rx_bytes += n;
	if (n < len) {
		/* Refused, not lost: the backend keeps the rest until input_ready. */
		s->rx_refused += len - n;
		s->r.rx_blocked = 1;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void serial_reset(void *dev)
{
	struct serial *s = dev;

	pthread_mutex_lock(&s->lock);
	regs_reset(s);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	/* The FIFO is empty: anything the backend held back may come now. */
	chardev_input_ready(s->chr);
}

static ssize_t serial_save(void *dev, void *buf, size_t cap)
{
	struct serial *s = dev;
	uint8_t *b = buf, *p;

	if (cap < SERIAL_STATE_LEN)
		return -ENOSPC;
	state_hdr_put(b, SERIAL_STATE_MAGIC, SERIAL_STATE_VERSION, SERIAL_STATE_PAYLOAD);
	p = b + STATE_HDR_LEN;
	pthread_mutex_lock(&s->lock);
	memcpy(p, s->r.fifo, FIFO_SIZE);
	p += FIFO_SIZE;
	*p++ = s->r.rx_head;
	*p++ = s->r.rx_count;
	*p++ = s->r.ier;
	*p++ = s->r.fcr;
	*p++ = s->r.lcr;
	*p++ = s->r.mcr;
	*p++ = s->r.lsr;
	*p++ = s->r.msr;
	*p++ = s->r.scr;
	*p++ = s->r.dll;
	*p++ = s->r.dlm;
	*p++ = s->r.thri_pending;
	*p++ = s->r.rx_blocked;
	pthread_mutex_unlock(&s->lock);
	return SERIAL_STATE_LEN;
}

/* Every field is checked against what the registers can hold before the device is touched. */
static int regs_validate(const struct serial_regs *r)
{
	if (r->rx_head >= FIFO_SIZE || r->rx_count > rx_capacity(r))
		return -EINVAL;
	if (r->ier & ~IER_MASK || r->mcr & ~MCR_MASK)
		return -EINVAL;
	if (r->fcr & ~(FCR_ENABLE | FCR_TRIGGER) || (!(r->fcr & FCR_ENABLE) && r->fcr))
		return -EINVAL;
	if (r->lsr & ~(LSR_DR | LSR_OE | LSR_BI | LSR_THRE | LSR_TEMT) ||
	    (r->lsr & (LSR_THRE | LSR_TEMT)) != (LSR_THRE | LSR_TEMT) || !(r->lsr & LSR_DR) != !r->rx_count)
		return -EINVAL;
	if ((r->msr & ~MSR_DELTAS) != msr_inputs(r->mcr))
		return -EINVAL;
	if (r->thri_pending > 1 || r->rx_blocked > 1)
		return -EINVAL;
	return 0;
}

static int serial_load(void *dev, const void *buf, size_t len)
{
	struct serial *s = dev;
	const uint8_t *b = buf, *p;
	struct serial_regs r;
	bool resume;

	if (!state_hdr_ok(b, len, SERIAL_STATE_MAGIC, SERIAL_STATE_VERSION, SERIAL_STATE_PAYLOAD))
		return -EINVAL;
	p = b + STATE_HDR_LEN;
	memcpy(r.fifo, p, FIFO_SIZE);
	p += FIFO_SIZE;
	r.rx_head = *p++;
	r.rx_count = *p++;
	r.ier = *p++;
	r.fcr = *p++;
	r.lcr = *p++;
	r.mcr = *p++;
	r.lsr = *p++;
	r.msr = *p++;
	r.scr = *p++;
	r.dll = *p++;
	r.dlm = *p++;
	r.thri_pending = *p++;
	r.rx_blocked = *p++;
	if (regs_validate(&r))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	s->r = r;
	/* The backend on this side may be holding input back: let it retry. */
	s->r.rx_blocked = 1;
	resume = rx_room_again(s);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	if (resume)
		chardev_input_ready(s->chr);
	return 0;
}

static void serial_destroy(void *dev)
{
	struct serial *s = dev;

	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const struct device_ops serial_ops = {
	.name = "serial",
	.reset = serial_reset,
	.save = serial_save,
	.load = serial_load,
	.destroy = serial_destroy,
};
