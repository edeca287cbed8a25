/* SPDX-License-Identifier: MIT */
/*
 * virtio_blk: a virtio block device (virtio 1.2 s5.2) on a raw image, served
 * asynchronously by the disk backend (io_uring or a thread pool). Read,
 * write, flush (fdatasync), get-id, discard and write-zeroes (hole punching),
 * several request queues. Every request is validated against the image size
 * and the limits the device advertises; a bad one completes with
 * VIRTIO_BLK_S_IOERR or _UNSUPP and is counted.
 *
 * Threads: queue_notify may run on any thread (vmkit-io or a vCPU), for
 * several queues at once; completions run on the backend's threads. Each virtqueue
 * has its own lock, taken for popping, pushing and interrupting, so the two
 * sides never touch a ring concurrently.
 */
#ifndef VMKIT_VIRTIO_BLK_H
#define VMKIT_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "vmkit/disk.h"
#include "vmkit/virtio.h"

#define VIRTIO_BLK_MAX_QUEUES VIRTIO_MAX_QUEUES

struct virtio_blk;

struct virtio_blk_config {
	const char *path;
	bool readonly;
	const char *serial;      /* GET_ID string, up to 20 bytes; NULL for none */
	unsigned int num_queues; /* request queues, 1..VIRTIO_BLK_MAX_QUEUES; 0 means 1 */
	bool direct;             /* cache=none: O_DIRECT on the image */
	enum disk_aio aio;
	/*
	 * The loop the transport serves this device's kicks on (vmkit run:
	 * "vmkit-io"): disk completions are reaped there too (disk_config.loop).
	 * NULL when kicks may arrive on any thread (unit tests, fuzzing).
	 */
	struct event_loop *loop;
	/*
	 * With a loop: after serving its queues the loop keeps polling them for
	 * up to this long (adaptive, see event_loop_add_poller) with the guest's
	 * kicks suppressed, so a busy guest adds requests without VM exits.
	 * While it polls, the interrupt for completions waits for the end of
	 * the guest's burst (a pass that finds nothing new), up to a quarter
	 * of this. 0: no polling (every new batch is announced by a kick). Saving the
	 * device's state (snapshots) must wait until the loop has stopped: a
	 * polling loop takes requests that no kick announced.
	 */
	unsigned int poll_us;
};

struct virtio_blk_stats {
	uint64_t requests; /* requests completed */
	uint64_t errors;   /* completed with IOERR or UNSUPP (bad requests and I/O errors) */
	uint64_t bad;      /* of those, malformed or out-of-range requests */
};

/*
 * Open the image (locked against a second writer with flock) and start its
 * backend. NULL and one line in err on failure.
 */
struct virtio_blk *virtio_blk_create(const struct virtio_blk_config *cfg, char *err, size_t errlen);

/* virtio_blk_create with one queue and the default backend. */
struct virtio_blk *virtio_blk_open(const char *path, bool readonly, const char *serial, char *err, size_t errlen);

/* Counters (safe from any thread). */
void virtio_blk_get_stats(struct virtio_blk *b, struct virtio_blk_stats *s);

/* Wait until no request is in flight (tests, snapshots). */
void virtio_blk_drain(struct virtio_blk *b);

/* "io_uring" or "threads". */
const char *virtio_blk_engine(const struct virtio_blk *b);

/*
 * The ops to attach this instance with: virtio_blk_ops with nr_queues set to
 * its num_queues (so a transport shows exactly that many queues). Owned by b.
 */
const struct virtio_device_ops *virtio_blk_dev_ops(const struct virtio_blk *b);

/* The template (nr_queues = VIRTIO_BLK_MAX_QUEUES); prefer virtio_blk_dev_ops(). */
extern const struct virtio_device_ops virtio_blk_ops;

#endif
