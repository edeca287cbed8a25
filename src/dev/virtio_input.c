// SPDX-License-Identifier: MIT
/*
 * virtio-input (virtio 1.2 s5.8) tablet. The configuration space answers
 * select/subsel queries (s5.8.4: ID_NAME, ID_SERIAL, ID_DEVIDS, PROP_BITS,
 * EV_BITS, ABS_INFO); events are struct virtio_input_event (le16 type,
 * le16 code, le32 value; s5.8.6), the Linux evdev codes, one per buffer of
 * the event queue (0). The status queue (1) carries LED and the like from
 * the driver: a tablet has none, so its buffers are returned unread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmkit/util.h"
#include "vmkit/virtio_input.h"

#define VIRTIO_ID_INPUT 18
#define QUEUE_SIZE 64
#define EVENTQ 0
#define STATUSQ 1

/* Config select values (s5.8.4) */
#define CFG_UNSET 0x00
#define CFG_ID_NAME 0x01
#define CFG_ID_SERIAL 0x02
#define CFG_ID_DEVIDS 0x03
#define CFG_PROP_BITS 0x10
#define CFG_EV_BITS 0x11
#define CFG_ABS_INFO 0x12
#define CFG_SIZE (8 + 128)

/* Linux input event codes (include/uapi/linux/input-event-codes.h) */
#define EV_SYN 0x00
#define EV_KEY 0x01
#define EV_REL 0x02
#define EV_ABS 0x03
#define SYN_REPORT 0
#define REL_WHEEL 0x08
#define ABS_X 0x00
#define ABS_Y 0x01
#define BTN_LEFT 0x110
#define BTN_RIGHT 0x111
#define BTN_MIDDLE 0x112
#define BUS_VIRTUAL 0x06

#define BACKLOG 256 /* events waiting for driver buffers */

struct input_event {
	uint16_t type, code;
	uint32_t value;
};

struct virtio_input {
	pthread_mutex_t lock;
	struct virtio_dev *vdev; /* set while active */
	uint8_t select, subsel;
	struct input_event pending[BACKLOG];
	unsigned int head, count;
	uint32_t x, y;
	unsigned int buttons;
	bool have_pos;
	uint64_t dropped, delivered;
	struct virtq_elem elem;
};

struct virtio_input *virtio_input_tablet_create(void)
{
	struct virtio_input *vi = calloc(1, sizeof(*vi));

	if (vi)
		pthread_mutex_init(&vi->lock, NULL);
	return vi;
}

/* Fill the 128-byte union for the current select/subsel; returns its size. */
static uint8_t cfg_payload(const struct virtio_input *vi, uint8_t *u)
{
	static const char name[] = "vmkit tablet", serial[] = "vmkit-tablet-0";

	memset(u, 0, 128);
	switch (vi->select) {
	case CFG_ID_NAME:
		memcpy(u, name, sizeof(name) - 1);
		return sizeof(name) - 1;
	case CFG_ID_SERIAL:
		memcpy(u, serial, sizeof(serial) - 1);
		return sizeof(serial) - 1;
	case CFG_ID_DEVIDS: /* struct virtio_input_devids: bustype, vendor, product, version */
		put_le16(u, BUS_VIRTUAL);
		put_le16(u + 2, 0x0627);
		put_le16(u + 4, 0x0003);
		put_le16(u + 6, 0x0001);
		return 8;
	case CFG_EV_BITS:
		switch (vi->subsel) {
		case EV_KEY:
			u[BTN_LEFT / 8] |= 1 << (BTN_LEFT % 8);
			u[BTN_RIGHT / 8] |= 1 << (BTN_RIGHT % 8);
			u[BTN_MIDDLE / 8] |= 1 << (BTN_MIDDLE % 8);
			return BTN_MIDDLE / 8 + 1;
		case EV_REL:
			u[REL_WHEEL / 8] |= 1 << (REL_WHEEL % 8);
			return REL_WHEEL / 8 + 1;
		case EV_ABS:
			u[0] = (1 << ABS_X) | (1 << ABS_Y);
			return 1;
		default:
			return 0;
		}
	case CFG_ABS_INFO: /* struct virtio_input_absinfo: min, max, fuzz, flat, res */
		if (vi->subsel != ABS_X && vi->subsel != ABS_Y)
			return 0;
		put_le32(u, 0);
		put_le32(u + 4, VIRTIO_INPUT_ABS_MAX);
		return 20;
	default: /* UNSET, PROP_BITS (none) and unknown selects: size 0 */
		return 0;
	}
}

static void input_config_read(void *impl, uint32_t off, uint8_t *data, uint32_t size)
{
	struct virtio_input *vi = impl;
	uint8_t cfg[CFG_SIZE] = { 0 };

	pthread_mutex_lock(&vi->lock);
	cfg[0] = vi->select;
	cfg[1] = vi->subsel;
	cfg[2] = cfg_payload(vi, cfg + 8);
	pthread_mutex_unlock(&vi->lock);
	if (off < CFG_SIZE && size <= CFG_SIZE - off)
		memcpy(data, cfg + off, size);
	else
		memset(data, 0, size);
}

static void input_config_write(void *impl, uint32_t off, const uint8_t *data, uint32_t size)
{
	struct virtio_input *vi = impl;

	/* Only select (0) and subsel (1) are writable (s5.8.4). */
	pthread_mutex_lock(&vi->lock);
	for (uint32_t i = 0; i < size; i++) {
		if (off + i == 0)
			vi->select = data[i];
		else if (off + i == 1)
			vi->subsel = data[i];
	}
	pthread_mutex_unlock(&vi->lock);
}

/* Hand pending events to the driver's event buffers. Lock held. */
static void flush_events(struct virtio_input *vi)
{
	struct virtio_dev *vdev = vi->vdev;
	struct virtq *q;
	bool pushed = false;
	int r = 0;

	if (!vdev)
		return;
	q = &vdev->vq[EVENTQ];
	if (!q->ready)
		return;
	while (vi->count && (r = virtq_pop(q, &vi->elem)) > 0) {
		const struct input_event *ev = &vi->pending[vi->head];
		uint8_t b[8];
		uint32_t n;

		put_le16(b, ev->type);
		put_le16(b + 2, ev->code);
		put_le32(b + 4, ev->value);
		n = (uint32_t)virtq_elem_write(&vi->elem, 0, b, sizeof(b));
		virtq_push(q, &vi->elem, n);
		pushed = true;
		vi->head = (vi->head + 1) % BACKLOG;
		vi->count--;
		vi->delivered++;
	}
	if (r < 0)
		virtio_dev_needs_reset(vdev);
	if (pushed)
		virtio_dev_notify_queue(vdev, EVENTQ);
}

static void queue_event(struct virtio_input *vi, uint16_t type, uint16_t code, uint32_t value)
{
	if (vi->count == BACKLOG) {
		/* Full: drop the oldest; a tablet's latest position is what matters. */
		vi->head = (vi->head + 1) % BACKLOG;
		vi->count--;
		vi->dropped++;
	}
	vi->pending[(vi->head + vi->count) % BACKLOG] = (struct input_event){ type, code, value };
	vi->count++;
}

void virtio_input_tablet_event(struct virtio_input *vi, uint32_t x, uint32_t y, unsigned int buttons, int wheel)
{
	static const uint16_t btn[3] = { BTN_LEFT, BTN_RIGHT, BTN_MIDDLE };
	bool any = false;

	x = MIN(x, (uint32_t)VIRTIO_INPUT_ABS_MAX);
	y = MIN(y, (uint32_t)VIRTIO_INPUT_ABS_MAX);
	pthread_mutex_lock(&vi->lock);
	if (!vi->have_pos || x != vi->x) {
		queue_event(vi, EV_ABS, ABS_X, x);
		any = true;
	}
	if (!vi->have_pos || y != vi->y) {
		queue_event(vi, EV_ABS, ABS_Y, y);
		any = true;
	}
	vi->x = x;
	vi->y = y;
	vi->have_pos = true;
	for (unsigned int i = 0; i < 3; i++) {
		if (((buttons ^ vi->buttons) >> i) & 1) {
			queue_event(vi, EV_KEY, btn[i], (buttons >> i) & 1);
			any = true;
		}
	}
	vi->buttons = buttons & 7;
	if (wheel) {
		queue_event(vi, EV_REL, REL_WHEEL, (uint32_t)wheel);
		any = true;
	}
	if (any)
		queue_event(vi, EV_SYN, SYN_REPORT, 0);
	flush_events(vi);
	pthread_mutex_unlock(&vi->lock);
}

uint64_t virtio_input_dropped(struct virtio_input *vi)
{
	uint64_t n;

	pthread_mutex_lock(&vi->lock);
	n = vi->dropped;
	pthread_mutex_unlock(&vi->lock);
	return n;
}

static uint64_t input_features(void *impl)
{
	return 0; /* s5.8.3: no device-specific features */
}

static int input_activate(void *impl, struct virtio_dev *vdev)
{
	struct virtio_input *vi = impl;

	pthread_mutex_lock(&vi->lock);
	vi->vdev = vdev;
	flush_events(vi);
	pthread_mutex_unlock(&vi->lock);
	return 0;
}

static uint32_t status_serve(void *impl, struct virtq_elem *e)
{
	return 0; /* LED/status events from the driver: nothing to do for a tablet */
}

static void input_queue_notify(void *impl, struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_input *vi = impl;

	pthread_mutex_lock(&vi->lock);
	if (q == EVENTQ)
		flush_events(vi); /* new buffers: deliver what waited */
	else if (q == STATUSQ)
		virtio_dev_serve_queue(vdev, q, &vi->elem, status_serve, vi);
	pthread_mutex_unlock(&vi->lock);
}

static void input_reset(void *impl)
{
	struct virtio_input *vi = impl;

	pthread_mutex_lock(&vi->lock);
	vi->vdev = NULL;
	vi->head = vi->count = 0;
	vi->select = vi->subsel = 0;
	pthread_mutex_unlock(&vi->lock);
}

static void input_destroy(void *impl)
{
	struct virtio_input *vi = impl;

	pthread_mutex_destroy(&vi->lock);
	free(vi);
}

const struct virtio_device_ops virtio_input_ops = {
	.name = "virtio-input",
	.device_id = VIRTIO_ID_INPUT,
	.nr_queues = 2,
	.max_queue_size = QUEUE_SIZE,
	.config_size = CFG_SIZE,
	.config_read = input_config_read,
	.config_write = input_config_write,
	.features = input_features,
	.activate = input_activate,
	.queue_notify = input_queue_notify,
	.reset = input_reset,
	.destroy = input_destroy,
};
