/* SPDX-License-Identifier: MIT */
/*
 * virtio-input (virtio 1.2 s5.8) as an absolute pointer: a tablet with
 * EV_ABS X/Y in 0..VIRTIO_INPUT_ABS_MAX, left/right/middle buttons and a
 * wheel, that follows the VNC cursor. src/dev/virtio_input.c
 */
#ifndef VMKIT_VIRTIO_INPUT_H
#define VMKIT_VIRTIO_INPUT_H

#include <stdint.h>

#include "vmkit/virtio.h"

#define VIRTIO_INPUT_ABS_MAX 32767

struct virtio_input;

/* A tablet; attach it with virtio_input_ops. NULL on ENOMEM. */
struct virtio_input *virtio_input_tablet_create(void);

/*
 * Host pointer state: x, y in 0..VIRTIO_INPUT_ABS_MAX, buttons held (bit 0
 * left, 1 right, 2 middle), wheel steps (> 0 up). Queues the changes as
 * evdev events ending in SYN_REPORT and hands them to the driver's buffers;
 * while the driver has none, up to a bounded backlog waits (older moves
 * are dropped first, counted). Thread-safe; any thread.
 */
void virtio_input_tablet_event(struct virtio_input *vi, uint32_t x, uint32_t y, unsigned int buttons, int wheel);

/* Events dropped because the driver supplied no buffers for too long. */
uint64_t virtio_input_dropped(struct virtio_input *vi);

extern const struct virtio_device_ops virtio_input_ops;

#endif
