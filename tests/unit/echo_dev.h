/* SPDX-License-Identifier: MIT */
/*
 * An echo virtio device for the transport unit tests (virtio-mmio, virtio-pci):
 * each request's readable part is copied into its writable part. Device ID 42,
 * feature bit 5, an 8-byte config space, ECHO_NR_QUEUES queues of at most 8
 * entries. It counts activations, resets and served notifications, and records
 * the thread that served the last one. Header only (static): include it from
 * one test file, after <cmocka.h>.
 */
#ifndef VMKIT_TEST_ECHO_DEV_H
#define VMKIT_TEST_ECHO_DEV_H

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "vmkit/virtio.h"

#ifndef ECHO_NR_QUEUES
#define ECHO_NR_QUEUES 1
#endif

static uint8_t echo_cfg[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static int activations, resets, served;
static pthread_t served_on;

static void echo_notify(void *impl, struct virtio_dev *v, unsigned int q)
{
	static struct virtq_elem e;
	int r;

	served_on = pthread_self();
	while ((r = virtq_pop(&v->vq[q], &e)) > 0) {
		uint8_t buf[256];
		size_t n = virtq_elem_read(&e, 0, buf, sizeof(buf));
		n = virtq_elem_write(&e, 0, buf, n);
		virtq_push(&v->vq[q], &e, (uint32_t)n);
	}
	if (r < 0)
		virtio_dev_needs_reset(v);
	virtio_dev_notify_queue(v, q);
	/* counted last: a waiter that sees it also sees the used ring */
	__atomic_add_fetch(&served, 1, __ATOMIC_SEQ_CST);
}

static void echo_cfg_read(void *impl, uint32_t off, uint8_t *data, uint32_t size)
{
	memcpy(data, echo_cfg + off, size);
}

static int echo_activate(void *impl, struct virtio_dev *v)
{
	activations++;
	return 0;
}

static void echo_reset(void *impl)
{
	resets++;
}

static uint64_t echo_features(void *impl)
{
	return 1ULL << 5;
}

static const struct virtio_device_ops echo_ops = {
	.name = "echo", .device_id = 42, .nr_queues = ECHO_NR_QUEUES, .max_queue_size = 8,
	.config_size = sizeof(echo_cfg), .config_read = echo_cfg_read, .features = echo_features,
	.activate = echo_activate, .queue_notify = echo_notify, .reset = echo_reset,
};

/* Wait until n notifications were served (bounded: 10 s means "never"; not a timing assertion). */
static void wait_served(int n)
{
	for (int i = 0; i < 10000 && __atomic_load_n(&served, __ATOMIC_SEQ_CST) < n; i++) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	assert_int_equal(__atomic_load_n(&served, __ATOMIC_SEQ_CST), n);
}

#endif
