// SPDX-License-Identifier: MIT
/*
 * virtio-rng (virtio 1.2 s5.4): one request queue; the device fills each
 * device-writable buffer with bytes from the host's getrandom(2). Requests
 * with no writable space complete with length 0.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/random.h>

#include "vmkit/util.h"
#include "vmkit/virtio_rng.h"

#define VIRTIO_ID_ENTROPY 4
#define QUEUE_SIZE 64
#define MAX_PER_REQUEST (64 * 1024) /* bound the work one request can ask of us */

struct virtio_rng {
	pthread_mutex_t lock;
	struct virtq_elem elem;
	uint64_t bytes;
};

struct virtio_rng *virtio_rng_create(void)
{
	struct virtio_rng *r = calloc(1, sizeof(*r));

	if (r)
		pthread_mutex_init(&r->lock, NULL);
	return r;
}

/* Fill the buffer's device-writable part with random bytes. */
static uint32_t rng_serve(void *impl, struct virtq_elem *e)
{
	struct virtio_rng *r = impl;
	uint8_t buf[4096];
	size_t done = 0, want = MIN(e->in_len, (uint64_t)MAX_PER_REQUEST);

	while (done < want) {
		ssize_t n = getrandom(buf, MIN(sizeof(buf), want - done), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += virtq_elem_write(e, done, buf, (size_t)n);
	}
	r->bytes += done;
	return (uint32_t)done;
}

static void rng_queue_notify(void *impl, struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_rng *r = impl;

	pthread_mutex_lock(&r->lock);
	virtio_dev_serve_queue(vdev, q, &r->elem, rng_serve, r);
	pthread_mutex_unlock(&r->lock);
}

static void rng_destroy(void *impl)
{
	struct virtio_rng *r = impl;

	pthread_mutex_destroy(&r->lock);
	free(r);
}

const struct virtio_device_ops virtio_rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_ENTROPY,
	.nr_queues = 1,
	.max_queue_size = QUEUE_SIZE,
	.queue_notify = rng_queue_notify,
	.destroy = rng_destroy,
};
