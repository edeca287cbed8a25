/* SPDX-License-Identifier: MIT */
/*
 * virtio_blk: a virtio block device (virtio 1.2 s5.2) on a raw image file.
 * Requests are validated against the image size; flush is fdatasync(2).
 */
#ifndef VMKIT_VIRTIO_BLK_H
#define VMKIT_VIRTIO_BLK_H

#include <stdbool.h>

#include "vmkit/virtio.h"

struct virtio_blk;

/*
 * Open a raw image (locked against a second writer with flock). NULL and one
 * line in err on failure.
 */
struct virtio_blk *virtio_blk_open(const char *path, bool readonly, const char *serial, char *err, size_t errlen);

extern const struct virtio_device_ops virtio_blk_ops;

#endif
