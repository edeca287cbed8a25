// SPDX-License-Identifier: MIT
/*
 * virtio-console, one port, no multiport (virtio 1.2 s5.3): queue 0 is
 * receiveq (host -> guest), queue 1 transmitq (guest -> host). Input that
 * finds no posted receive buffer is refused, so the backend pauses and
 * resumes when the guest posts buffers (a kick on receiveq).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmkit/util.h"
#include "vmkit/virtio_console.h"

#define VIRTIO_ID_CONSOLE 3
#define RX_Q 0
#define TX_Q 1
#define QUEUE_SIZE 128
#define CONFIG_SIZE 12 /* cols, rows, max_nr_ports, emerg_wr */

struct virtio_console {
	pthread_mutex_t lock;
	struct chardev *chr;
	struct virtio_dev *vdev; /* set once the driver is up */
	struct virtq_elem rx, tx;
	bool rx_pending;         /* rx holds a buffer popped but not yet filled */
	uint64_t tx_bytes, rx_bytes;
};

struct virtio_console *virtio_console_create(struct chardev *chr)
{
	struct virtio_console *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	c->chr = chr;
	return c;
}

static void con_config_read(void *impl, uint32_t off, uint8_t *data, uint32_t size)
{
	uint8_t cfg[CONFIG_SIZE] = { 0 };

	put_le16(cfg, 80);
	put_le16(cfg + 2, 25);
	put_le32(cfg + 4, 1);
	memcpy(data, cfg + off, size);
}

static void con_config_write(void *impl, uint32_t off, const uint8_t *data, uint32_t size)
{
	struct virtio_console *c = impl;

	/* emerg_wr (offset 8, VIRTIO_CONSOLE_F_EMERG_WRITE): one character out. */
	if (off == 8 && size >= 1)
		chardev_write(c->chr, data, 1);
}

static int con_activate(void *impl, struct virtio_dev *vdev)
{
	struct virtio_console *c = impl;

	pthread_mutex_lock(&c->lock);
	c->vdev = vdev;
	c->rx_pending = false;
	pthread_mutex_unlock(&c->lock);
	chardev_input_ready(c->chr);
	return 0;
}

static void con_reset(void *impl)
{
	struct virtio_console *c = impl;

	pthread_mutex_lock(&c->lock);
	c->vdev = NULL;
	c->rx_pending = false;
	pthread_mutex_unlock(&c->lock);
}

size_t virtio_console_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct virtio_console *c = opaque;
	struct virtio_dev *v;
	size_t done = 0;
	bool notify = false, broken = false;

	pthread_mutex_lock(&c->lock);
	v = c->vdev;
	while (v && done < len) {
		if (!c->rx_pending) {
			int r = virtq_pop(&v->vq[RX_Q], &c->rx);
			if (r < 0)
				broken = true;
			if (r <= 0)
				break;
			c->rx_pending = true;
		}
		size_t n = virtq_elem_write(&c->rx, 0, buf + done, MIN((uint64_t)(len - done), c->rx.in_len));
		virtq_push(&v->vq[RX_Q], &c->rx, (uint32_t)n);
		c->rx_pending = false;
		done += n;
		notify = true;
		if (n == 0)
			break; /* a buffer with no writable space: returned empty */
	}
	c->rx_bytes += done;
	/*
	 * Interrupt before unlocking: this runs on the main loop thread, and a
	 * reset on a vCPU (con_reset, then the core clears the rings) waits for
	 * c->lock, so the ring is never cleared under us. Transports' interrupt
	 * locks are leaves (include/vmkit/virtio.h).
	 */
	if (broken)
		virtio_dev_needs_reset(v);
	if (notify)
		virtio_dev_notify_queue(v, RX_Q);
	pthread_mutex_unlock(&c->lock);
	return done;
}

/* Guest output: every device-readable byte goes to the backend. */
static uint32_t con_serve_tx(void *impl, struct virtq_elem *e)
{
	struct virtio_console *c = impl;

	for (unsigned int i = 0; i < e->out_num; i++)
		chardev_write(c->chr, e->iov[i].iov_base, e->iov[i].iov_len);
	c->tx_bytes += e->out_len;
	return 0;
}

static void con_queue_notify(void *impl, struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_console *c = impl;

	if (q == RX_Q) {
		chardev_input_ready(c->chr); /* new receive buffers: input may flow */
		return;
	}
	pthread_mutex_lock(&c->lock);
	virtio_dev_serve_queue(vdev, TX_Q, &c->tx, con_serve_tx, c);
	pthread_mutex_unlock(&c->lock);
}

static void con_destroy(void *impl)
{
	struct virtio_console *c = impl;

	pthread_mutex_destroy(&c->lock);
	free(c);
}

const struct virtio_device_ops virtio_console_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	.nr_queues = 2,
	.max_queue_size = QUEUE_SIZE,
	.config_size = CONFIG_SIZE,
	.config_read = con_config_read,
	.config_write = con_config_write,
	.activate = con_activate,
	.queue_notify = con_queue_notify,
	.reset = con_reset,
	.destroy = con_destroy,
};
