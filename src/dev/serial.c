// SPDX-License-Identifier: MIT
/*
 * A 16550A UART (National Semiconductor PC16550D datasheet): 16-byte receive
 * FIFO with trigger levels, interrupt identification by priority, divisor
 * latch, scratch register, modem control with loopback. Transmission is
 * instantaneous: THR and the shift register are always empty after a write.
 * As on a PC, the interrupt reaches the PIC/IOAPIC only while MCR.OUT2 is set.
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

#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO_ENABLED 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RCVR 0x02
#define FCR_CLEAR_XMIT 0x04

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

#define FIFO_SIZE 16
#define SERIAL_STATE_MAGIC 0x53455231 /* "SER1" */

/* Everything that defines the device's state: saved and restored as is. */
struct serial_regs {
	uint32_t magic;
	uint8_t fifo[FIFO_SIZE];
	uint8_t rx_head, rx_count;
	uint8_t ier, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
	uint8_t thri_pending;
	uint8_t irq_level;
};

struct serial {
	pthread_mutex_t lock;
	struct irq_line irq;
	struct chardev *chr;
	struct serial_regs r;
	uint64_t tx_bytes, rx_bytes;
};

static unsigned int rx_capacity(const struct serial *s)
{
	return (s->r.fcr & FCR_ENABLE) ? FIFO_SIZE : 1;
}

static unsigned int rx_trigger(const struct serial *s)
{
	static const uint8_t levels[4] = { 1, 4, 8, 14 };

	return (s->r.fcr & FCR_ENABLE) ? levels[s->r.fcr >> 6] : 1;
}

/* Highest-priority pending interrupt (datasheet Table 4), or IIR_NO_INT. */
static uint8_t pending_iir(const struct serial *s)
{
	if ((s->r.ier & IER_RLSI) && (s->r.lsr & (LSR_OE | LSR_BI)))
		return IIR_RLSI;
	if ((s->r.ier & IER_RDI) && s->r.rx_count) {
		/*
		 * Below the trigger level the real chip raises a character
		 * timeout after four idle character times; vmkit has no line
		 * timing, so the timeout is reported at once.
		 */
		return s->r.rx_count >= rx_trigger(s) ? IIR_RDI : IIR_TIMEOUT;
	}
	if ((s->r.ier & IER_THRI) && s->r.thri_pending)
		return IIR_THRI;
	if ((s->r.ier & IER_MSI) && (s->r.msr & (MSR_DCTS | MSR_DDSR | MSR_TERI | MSR_DDCD)))
		return IIR_MSI;
	return IIR_NO_INT;
}

static void update_irq(struct serial *s)
{
	uint8_t level = (s->r.mcr & MCR_OUT2) && pending_iir(s) != IIR_NO_INT;

	if (level != s->r.irq_level) {
		s->r.irq_level = level;
		irq_line_set(&s->irq, level);
	}
}

/* Modem status inputs: loopback wires MCR outputs back, else a connected modem. */
static void update_msr(struct serial *s)
{
	uint8_t old = s->r.msr, in;

	if (s->r.mcr & MCR_LOOP)
		in = ((s->r.mcr & MCR_RTS) ? MSR_CTS : 0) | ((s->r.mcr & MCR_DTR) ? MSR_DSR : 0) |
		     ((s->r.mcr & MCR_OUT1) ? MSR_RI : 0) | ((s->r.mcr & MCR_OUT2) ? MSR_DCD : 0);
	else
		in = MSR_CTS | MSR_DSR | MSR_DCD;
	s->r.msr = (old & 0x0f) | in;
	if ((old ^ in) & MSR_CTS)
		s->r.msr |= MSR_DCTS;
	if ((old ^ in) & MSR_DSR)
		s->r.msr |= MSR_DDSR;
	if ((old ^ in) & MSR_DCD)
		s->r.msr |= MSR_DDCD;
	if ((old & MSR_RI) && !(in & MSR_RI))
		s->r.msr |= MSR_TERI; /* trailing edge of RI */
}

static void rx_push(struct serial *s, uint8_t ch)
{
	if (s->r.rx_count >= rx_capacity(s)) {
		s->r.lsr |= LSR_OE;
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

static void regs_reset(struct serial *s)
{
	uint8_t level = s->r.irq_level;

	memset(&s->r, 0, sizeof(s->r));
	s->r.magic = SERIAL_STATE_MAGIC;
	s->r.lsr = LSR_THRE | LSR_TEMT;
	s->r.msr = MSR_CTS | MSR_DSR | MSR_DCD;
	s->r.dll = 12; /* 9600 baud */
	s->r.irq_level = level;
}

struct serial *serial_create(const struct irq_line *irq, struct chardev *chr)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->irq = *irq;
	s->chr = chr;
	regs_reset(s);
	return s;
}

static uint8_t serial_read(struct serial *s, unsigned int reg, bool *drained)
{
	uint8_t v;

	switch (reg) {
	case UART_RBR:
		if (s->r.lcr & LCR_DLAB)
			return s->r.dll;
		if (!s->r.rx_count)
			return 0;
		v = s->r.fifo[s->r.rx_head];
		s->r.rx_head = (s->r.rx_head + 1) % FIFO_SIZE;
		if (--s->r.rx_count == 0) {
			s->r.lsr &= ~LSR_DR;
			*drained = true;
		}
		return v;
	case UART_IER:
		return (s->r.lcr & LCR_DLAB) ? s->r.dlm : s->r.ier;
	case UART_IIR:
		v = pending_iir(s);
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
		s->r.msr &= ~(MSR_DCTS | MSR_DDSR | MSR_TERI | MSR_DDCD);
		return v;
	default:
		return s->r.scr;
	}
}

static void serial_write(struct serial *s, unsigned int reg, uint8_t v, bool *drained)
{
	switch (reg) {
	case UART_THR:
		if (s->r.lcr & LCR_DLAB) {
			s->r.dll = v;
			break;
		}
		s->tx_bytes++;
		if (s->r.mcr & MCR_LOOP)
			rx_push(s, v);
		else
			chardev_write(s->chr, &v, 1);
		/* Sent at once: THR is empty again, which raises THRE. */
		s->r.thri_pending = 1;
		break;
	case UART_IER:
		if (s->r.lcr & LCR_DLAB) {
			s->r.dlm = v;
			break;
		}
		/* Enabling THRE interrupts while THR is empty raises one (Linux relies on it). */
		if (!(s->r.ier & IER_THRI) && (v & IER_THRI))
			s->r.thri_pending = 1;
		s->r.ier = v & 0x0f;
		break;
	case UART_FCR:
		if ((v ^ s->r.fcr) & FCR_ENABLE) {
			rx_clear(s); /* changing FIFO mode resets the FIFOs */
			*drained = true;
		}
		if (v & FCR_CLEAR_RCVR) {
			rx_clear(s);
			*drained = true;
		}
		s->r.fcr = v & (FCR_ENABLE | 0xc0);
		break;
	case UART_LCR:
		s->r.lcr = v;
		break;
	case UART_MCR: {
		bool was_loop = s->r.mcr & MCR_LOOP;
		s->r.mcr = v & 0x1f;
		update_msr(s);
		if (was_loop && !(s->r.mcr & MCR_LOOP))
			*drained = true; /* external input may flow again */
		break;
	}
	case UART_LSR:
	case UART_MSR:
		break; /* read-only (factory test writes ignored) */
	default:
		s->r.scr = v;
	}
}

void serial_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct serial *s = opaque;
	bool drained = false;

	/* Registers are bytes; a wider access touches consecutive registers. */
	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < size; i++) {
		unsigned int reg = (unsigned int)((off + i) & 7);
		if (is_write)
			serial_write(s, reg, data[i], &drained);
		else
			data[i] = serial_read(s, reg, &drained);
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	if (drained)
		chardev_input_ready(s->chr);
}

size_t serial_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct serial *s = opaque;
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	/* In loopback the receiver is disconnected from the line. */
	if (!(s->r.mcr & MCR_LOOP)) {
		while (n < len && s->r.rx_count < rx_capacity(s))
			rx_push(s, buf[n++]);
		s->rx_bytes += n;
		update_irq(s);
	}
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
	chardev_input_ready(s->chr);
}

static ssize_t serial_save(void *dev, void *buf, size_t cap)
{
	struct serial *s = dev;

	if (cap < sizeof(s->r))
		return -ENOSPC;
	pthread_mutex_lock(&s->lock);
	memcpy(buf, &s->r, sizeof(s->r));
	pthread_mutex_unlock(&s->lock);
	return sizeof(s->r);
}

static int serial_load(void *dev, const void *buf, size_t len)
{
	struct serial *s = dev;
	struct serial_regs r;

	if (len != sizeof(r))
		return -EINVAL;
	memcpy(&r, buf, sizeof(r));
	if (r.magic != SERIAL_STATE_MAGIC || r.rx_head >= FIFO_SIZE || r.rx_count > FIFO_SIZE ||
	    r.irq_level > 1 || r.thri_pending > 1)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	r.irq_level = s->r.irq_level; /* the line's real level; update_irq re-drives it */
	s->r = r;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void serial_destroy(void *dev)
{
	struct serial *s = dev;

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
