/* SPDX-License-Identifier: MIT */
/*
 * virtio_balloon: the traditional memory balloon (virtio 1.2 s5.5). The host
 * sets a target (num_pages); the guest inflates by handing pages over, which
 * the device gives back to the host kernel (madvise), or deflates. Also the
 * statistics queue (F_STATS_VQ), free page reporting (F_PAGE_REPORTING, opt
 * in) and F_DEFLATE_ON_OOM (opt in).
 *
 * Host control until a control API exists: a control file. On
 * virtio_balloon_control() (vmkit calls it on SIGUSR2) the device reads a
 * target size from the file ("96M", "0"), asks the guest for fresh
 * statistics and writes its state to PATH.status (key=value lines).
 */
#ifndef VMKIT_VIRTIO_BALLOON_H
#define VMKIT_VIRTIO_BALLOON_H

#include <stdbool.h>
#include <stdint.h>

#include "vmkit/virtio.h"

#define VIRTIO_BALLOON_PAGE_SIZE 4096
#define VIRTIO_BALLOON_NR_STATS 16 /* tags 0..15 kept (s5.5.6.3 defines 0..9) */

struct virtio_balloon_params {
	uint64_t target;     /* initial balloon size in bytes */
	const char *control; /* control file path or NULL */
	bool deflate_on_oom; /* offer VIRTIO_BALLOON_F_DEFLATE_ON_OOM */
	bool reporting;      /* offer VIRTIO_BALLOON_F_PAGE_REPORTING */
};

struct virtio_balloon_info {
	uint32_t target_pages;   /* num_pages: what the host asks for */
	uint32_t actual_pages;   /* actual: what the driver says it holds */
	uint64_t balloon_pages;  /* pages the device counts in the balloon */
	uint64_t inflated_pages; /* total PFNs inflated (valid ones) */
	uint64_t deflated_pages; /* total PFNs deflated (valid ones) */
	uint64_t reported_bytes; /* free page reporting: bytes discarded */
	uint64_t invalid_pfns;   /* PFNs outside guest RAM: ignored */
	uint64_t discard_errors; /* madvise failures */
	uint64_t stats_updates;  /* statistics buffers received */
	uint32_t stats_valid;    /* bit t: stats[t] was reported */
	uint64_t stats[VIRTIO_BALLOON_NR_STATS];
};

/*
 * A balloon for a guest with mem_bytes of RAM. The target is clamped to
 * mem_bytes. NULL on -ENOMEM. The device is owned by its transport
 * (virtio_balloon_ops.destroy).
 */
struct virtio_balloon *virtio_balloon_create(const struct virtio_balloon_params *p, uint64_t mem_bytes);

/*
 * Set the target balloon size in 4 KiB pages (clamped to guest RAM) and tell
 * the driver (configuration change interrupt). Any thread.
 */
void virtio_balloon_set_target(struct virtio_balloon *b, uint64_t pages);

/* Ask the driver for fresh statistics (returns the held stats buffer). Any thread. */
void virtio_balloon_request_stats(struct virtio_balloon *b);

/* A consistent snapshot of the device state. Any thread. */
void virtio_balloon_get_info(struct virtio_balloon *b, struct virtio_balloon_info *out);

/*
 * The control file hook (SIGUSR2 in vmkit, event-loop thread): read the
 * target from the control file if it holds one, request statistics, write
 * PATH.status. 0 or -errno (no control file, unreadable, bad size).
 */
int virtio_balloon_control(struct virtio_balloon *b);

extern const struct virtio_device_ops virtio_balloon_ops;

#endif
