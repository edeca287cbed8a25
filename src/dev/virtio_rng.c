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

static uint32_t fill(struct virtq_elem *e)
{
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
	return (uint32_t)done;
}

static void rng_queue_notify(void *impl, struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_rng *r = impl;
	int ret;

	pthread_mutex_lock(&r->lock);
	while ((ret = virtq_pop(&vdev->vq[q], &r->elem)) > 0) {
		uint32_t n = fill(&r->elem);
		r->bytes += n;
		virtq_push(&vdev->vq[q], &r->elem, n);
	}
	pthread_mutex_unlock(&r->lock);
	if (ret < 0)
		virtio_dev_needs_reset(vdev);
	virtio_dev_notify_queue(vdev, q);
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
