/* SPDX-License-Identifier: MIT */
/*
 * virtio_console: a single-port virtio console (virtio 1.2 s5.3, hvc0 in
 * Linux) on a chardev backend: transmitq output goes to the backend, backend
 * input fills receiveq buffers (paused while the guest has none posted).
 */
#ifndef VMKIT_VIRTIO_CONSOLE_H
#define VMKIT_VIRTIO_CONSOLE_H

#include "vmkit/chardev.h"
#include "vmkit/virtio.h"

struct virtio_console;

struct virtio_console *virtio_console_create(struct chardev *chr);

/* Host input; matches chardev_frontend.receive (event-loop thread). */
size_t virtio_console_receive(void *opaque, const uint8_t *buf, size_t len);

extern const struct virtio_device_ops virtio_console_ops;

#endif
