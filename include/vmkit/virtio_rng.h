/* SPDX-License-Identifier: MIT */
/* virtio_rng: an entropy device (virtio 1.2 s5.4) fed from getrandom(2). */
#ifndef VMKIT_VIRTIO_RNG_H
#define VMKIT_VIRTIO_RNG_H

#include "vmkit/virtio.h"

struct virtio_rng;

struct virtio_rng *virtio_rng_create(void);

extern const struct virtio_device_ops virtio_rng_ops;

#endif
