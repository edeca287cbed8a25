// SPDX-License-Identifier: MIT
/*
 * virtio-mmio transport and the virtio device core, driven through registers
 * like a guest driver would (no /dev/kvm): identification, feature
 * negotiation, queue setup, a request through an echo device, interrupts,
 * DEVICE_NEEDS_RESET on a malformed chain, reset, and hostile accesses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "vmkit/iothread.h"
#include "vmkit/util.h"
#include "vmkit/virtio_mmio.h"

#define VQD_QSIZE 8
#include "vq_driver.h"

/* queue 0's rings where vq_driver.h puts them */
#define DESC VQD_RING_BASE
#define AVAIL (VQD_RING_BASE + 0x1000)
#define USED (VQD_RING_BASE + 0x2000)
#define DATA 0x8000

static int irq_level = -1;
static int irq_changes;

static void rec_irq(void *ctx, uint32_t gsi, int level)
{
	irq_level = level;
	irq_changes++;
}

#include "echo_dev.h" /* one queue */

struct fx {
	struct guest_mem mem;
	struct vqd d;
};

static int setup(void **state)
{
	static struct fx f;
	struct irq_line irq = { .set = rec_irq, .gsi = 5 };

	guest_mem_init(&f.mem);
	assert_int_equal(guest_mem_add(&f.mem, 0, 1 << 20), 0);
	f.d.ram = guest_mem_ptr(&f.mem, 0, 1 << 20);
	f.d.m = virtio_mmio_create(&echo_ops, NULL, &f.mem, &irq);
	assert_non_null(f.d.m);
	irq_level = -1;
	irq_changes = activations = resets = 0;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	virtio_mmio_destroy(f->d.m);
	guest_mem_free(&f->mem);
	return 0;
}

/* s3.1.1 driver initialization up to DRIVER_OK with one split queue */
static void bring_up(struct fx *f)
{
	vqd_wr(&f->d, 0x70, 0);
	vqd_wr(&f->d, 0x70, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_true(vqd_negotiate(&f->d, 1u << 5) & VIRTIO_STATUS_FEATURES_OK); /* VERSION_1 added */
	vqd_wr(&f->d, 0x30, 0);
	assert_int_equal(vqd_rd(&f->d, 0x34), 8);
	vqd_setup_queues(&f->d, 1); /* 8 entries at DESC/AVAIL/USED */
	assert_int_equal(vqd_rd(&f->d, 0x44), 1);
	vqd_driver_ok(&f->d);
}

/* Post "text" (4 bytes at DATA) + a 16-byte writable buffer at DATA + 0x100 on queue 0, no kick. */
static void post_echo(struct fx *f, const char *text)
{
	const struct vqd_seg s[2] = { { DATA, 4, false }, { DATA + 0x100, 16, true } };

	memcpy(f->d.ram + DATA, text, 4);
	vqd_add(&f->d, 0, s, 2);
}

static void test_identification(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vqd_rd(&f->d, 0x000), 0x74726976);
	assert_int_equal(vqd_rd(&f->d, 0x004), 2);
	assert_int_equal(vqd_rd(&f->d, 0x008), 42);
	vqd_wr(&f->d, 0x14, 0);
	assert_true(vqd_rd(&f->d, 0x10) & (1u << 5));
	assert_true(vqd_rd(&f->d, 0x10) & (1u << VIRTIO_F_INDIRECT_DESC));
	vqd_wr(&f->d, 0x14, 1);
	assert_true(vqd_rd(&f->d, 0x10) & (1u << (VIRTIO_F_VERSION_1 - 32)));
	vqd_wr(&f->d, 0x14, 7);
	assert_int_equal(vqd_rd(&f->d, 0x10), 0);
	/* config space: any width, bounded */
	uint8_t b[2];
	virtio_mmio_io(f->d.m, 0x106, b, 2, false);
	assert_int_equal(b[0], 7);
	assert_int_equal(b[1], 8);
	virtio_mmio_io(f->d.m, 0x107, b, 2, false); /* crosses the end: zeros */
	assert_int_equal(b[0] | b[1], 0);
	/* non-32-bit register access: all-ones, ignored */
	virtio_mmio_io(f->d.m, 0x000, b, 2, false);
	assert_int_equal(b[0] & b[1], 0xff);
}

static void test_features_ok_refused(void **state)
{
	struct fx *f = *state;

	/* without VERSION_1 */
	vqd_wr(&f->d, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vqd_wr(&f->d, 0x24, 0);
	vqd_wr(&f->d, 0x20, 1u << 5);
	vqd_wr(&f->d, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_false(vqd_rd(&f->d, 0x70) & VIRTIO_STATUS_FEATURES_OK);
	/* with a bit the device did not offer */
	vqd_wr(&f->d, 0x20, (1u << 5) | (1u << 7));
	vqd_wr(&f->d, 0x24, 1);
	vqd_wr(&f->d, 0x20, 1u << (VIRTIO_F_VERSION_1 - 32));
	vqd_wr(&f->d, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_false(vqd_rd(&f->d, 0x70) & VIRTIO_STATUS_FEATURES_OK);
	/* DRIVER_OK without FEATURES_OK does not activate */
	vqd_wr(&f->d, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(activations, 0);
}

static void test_request_and_interrupt(void **state)
{
	struct fx *f = *state;
	uint8_t *ram = guest_mem_ptr(&f->mem, 0, 1 << 20);

	bring_up(f);
	assert_int_equal(activations, 1);
	post_echo(f, "ping");
	vqd_wr(&f->d, 0x50, 0);
	assert_memory_equal(ram + DATA + 0x100, "ping", 4);
	assert_int_equal(get_le16(ram + USED + 2), 1);
	assert_int_equal(get_le32(ram + USED + 8), 4);
	assert_int_equal(irq_level, 1);
	assert_int_equal(vqd_rd(&f->d, 0x60), VIRTIO_ISR_QUEUE);
	vqd_wr(&f->d, 0x64, VIRTIO_ISR_QUEUE);
	assert_int_equal(irq_level, 0);
	assert_int_equal(vqd_rd(&f->d, 0x60), 0);
	/* kicks for a non-existent queue are ignored */
	vqd_wr(&f->d, 0x50, 9);
	vqd_wr(&f->d, 0x50, 0xffffffff);
	/* queue registers are frozen while the queue is ready */
	vqd_wr(&f->d, 0x80, 0x5000);
	assert_int_equal(f->d.m ? virtio_mmio_dev(f->d.m)->qcfg[0].desc : 0, DESC);
}

static void test_malformed_sets_needs_reset(void **state)
{
	struct fx *f = *state;

	bring_up(f);
	/* descriptor pointing outside guest RAM */
	vqd_add(&f->d, 0, &(struct vqd_seg){ 0x7fffffff0000ULL, 4096, false }, 1);
	vqd_wr(&f->d, 0x50, 0);
	assert_true(vqd_rd(&f->d, 0x70) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_true(vqd_rd(&f->d, 0x60) & VIRTIO_ISR_CONFIG);
	assert_int_equal(irq_level, 1);
	/* the driver cannot clear NEEDS_RESET except by resetting */
	vqd_wr(&f->d, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			    VIRTIO_STATUS_DRIVER_OK);
	assert_true(vqd_rd(&f->d, 0x70) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	vqd_wr(&f->d, 0x70, 0);
	assert_int_equal(vqd_rd(&f->d, 0x70), 0);
	assert_int_equal(vqd_rd(&f->d, 0x44), 0);
	assert_int_equal(irq_level, 0);
	assert_true(resets >= 1);
	/* and it comes back up */
	bring_up(f);
	assert_int_equal(activations, 2);
}

static void test_bad_queue_setup(void **state)
{
	struct fx *f = *state;

	vqd_wr(&f->d, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vqd_wr(&f->d, 0x30, 0);
	vqd_wr(&f->d, 0x38, 6); /* not a power of two */
	vqd_wr(&f->d, 0x80, DESC);
	vqd_wr(&f->d, 0x90, AVAIL);
	vqd_wr(&f->d, 0xa0, USED);
	vqd_wr(&f->d, 0x44, 1);
	assert_int_equal(vqd_rd(&f->d, 0x44), 0);
	vqd_wr(&f->d, 0x30, 3); /* no such queue */
	assert_int_equal(vqd_rd(&f->d, 0x34), 0);
	vqd_wr(&f->d, 0x44, 1);
	assert_int_equal(vqd_rd(&f->d, 0x44), 0);
	vqd_wr(&f->d, 0x30, 0);
	vqd_wr(&f->d, 0x38, 8);
	vqd_wr(&f->d, 0xa0, 0xfffff000); /* used ring outside RAM */
	vqd_wr(&f->d, 0x44, 1);
	assert_int_equal(vqd_rd(&f->d, 0x44), 0);
}

/*
 * A running device's rings stay put: QueueReady=0 and a status write that
 * clears DRIVER_OK are ignored until the driver resets the device (backend
 * threads use the rings; tearing one down under them crashed the VMM).
 */
static void test_running_queue_not_torn_down(void **state)
{
	struct fx *f = *state;
	uint8_t *ram = guest_mem_ptr(&f->mem, 0, 1 << 20);

	/* before DRIVER_OK the driver may take a queue back (Linux's setup error path) */
	vqd_wr(&f->d, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vqd_wr(&f->d, 0x30, 0);
	vqd_wr(&f->d, 0x38, 8);
	vqd_wr(&f->d, 0x80, DESC);
	vqd_wr(&f->d, 0x90, AVAIL);
	vqd_wr(&f->d, 0xa0, USED);
	vqd_wr(&f->d, 0x44, 1);
	assert_int_equal(vqd_rd(&f->d, 0x44), 1);
	vqd_wr(&f->d, 0x44, 0);
	assert_int_equal(vqd_rd(&f->d, 0x44), 0);

	bring_up(f);
	vqd_wr(&f->d, 0x44, 0);
	assert_int_equal(vqd_rd(&f->d, 0x44), 1);
	assert_true(virtio_mmio_dev(f->d.m)->vq[0].ready);
	vqd_wr(&f->d, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_true(vqd_rd(&f->d, 0x70) & VIRTIO_STATUS_DRIVER_OK);
	vqd_wr(&f->d, 0x44, 0);
	assert_int_equal(vqd_rd(&f->d, 0x44), 1);
	/* setting DRIVER_OK again does not activate twice */
	vqd_wr(&f->d, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			    VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(activations, 1);
	/* the queue still serves requests */
	post_echo(f, "pong");
	vqd_wr(&f->d, 0x50, 0);
	assert_memory_equal(ram + DATA + 0x100, "pong", 4);
	assert_int_equal(get_le16(ram + USED + 2), 1);
	/* after a reset the queue is gone, and the device comes back up */
	vqd_wr(&f->d, 0x70, 0);
	assert_int_equal(vqd_rd(&f->d, 0x44), 0);
	bring_up(f);
	assert_int_equal(activations, 2);
}

/* ioeventfd registrations made through the notifier interface */
static struct {
	uint64_t addr[4], data[4];
	uint32_t len[4];
	int fd[4];
	int nr;
} ioev;

static int ioev_set(void *ctx, bool pio, uint64_t addr, uint32_t len, bool datamatch, uint64_t data, int fd,
		    bool assign)
{
	assert_false(pio);
	assert_true(datamatch);
	if (!assign) {
		ioev.nr--;
		return 0;
	}
	ioev.addr[ioev.nr] = addr;
	ioev.len[ioev.nr] = len;
	ioev.data[ioev.nr] = data;
	ioev.fd[ioev.nr++] = fd;
	return 0;
}

/* QueueNotify through an ioeventfd with datamatch, served on the I/O thread */
static void test_notify_on_iothread(void **state)
{
	struct fx *f = *state;
	struct ioevent_ctl ctl = { .set = ioev_set };
	struct iothread io;
	uint8_t *ram = guest_mem_ptr(&f->mem, 0, 1 << 20);
	uint64_t one = 1;

	memset(&ioev, 0, sizeof(ioev));
	served = 0;
	assert_int_equal(iothread_init(&io), 0);
	assert_int_equal(virtio_mmio_attach_notify(f->d.m, &io.loop, &ctl, 0xfeb00000), 0);
	assert_int_equal(ioev.nr, 1); /* one queue: QueueNotify == 0 */
	assert_int_equal(ioev.addr[0], 0xfeb00000 + 0x50);
	assert_int_equal(ioev.len[0], 4);
	assert_int_equal(ioev.data[0], 0);
	bring_up(f);
	assert_int_equal(iothread_start(&io, "test-io"), 0);
	post_echo(f, "ping");
	/* what KVM does on a matching write */
	assert_int_equal(write(ioev.fd[0], &one, sizeof(one)), sizeof(one));
	wait_served(1);
	assert_false(pthread_equal(served_on, pthread_self()));
	assert_int_equal(get_le16(ram + USED + 2), 1);
	/* a write the ioeventfd missed is forwarded to the same thread */
	put_le16(ram + AVAIL + 6, 0);
	put_le16(ram + AVAIL + 2, 2);
	vqd_wr(&f->d, 0x50, 0);
	wait_served(2);
	assert_false(pthread_equal(served_on, pthread_self()));
	assert_int_equal(get_le16(ram + USED + 2), 2);
	/* a queue that does not exist never reaches the device */
	vqd_wr(&f->d, 0x50, 5);
	iothread_stop(&io);
	assert_int_equal(served, 2);
	virtio_mmio_destroy(f->d.m); /* unregisters and removes its fds from the loop */
	f->d.m = NULL;
	assert_int_equal(ioev.nr, 0);
	iothread_destroy(&io);
}

/* snapshot: selectors, status, features and ring positions carry over to a new instance */
static void test_save_load(void **state)
{
	struct fx *f = *state;
	struct irq_line irq = { .set = rec_irq, .gsi = 5 };
	uint8_t *ram = guest_mem_ptr(&f->mem, 0, 1 << 20);
	static uint8_t blob[4096];
	struct virtio_mmio *b;
	ssize_t n;

	bring_up(f);
	post_echo(f, "ping");
	vqd_wr(&f->d, 0x50, 0);
	assert_int_equal(get_le16(ram + USED + 2), 1);
	vqd_wr(&f->d, 0x14, 1);
	n = virtio_mmio_save(f->d.m, blob, sizeof(blob));
	assert_true(n > 0);
	assert_int_equal(virtio_mmio_save(f->d.m, blob, 8), -ENOSPC);

	b = virtio_mmio_create(&echo_ops, NULL, &f->mem, &irq);
	assert_non_null(b);
	assert_int_equal(virtio_mmio_load(b, blob, (size_t)n - 1), -EINVAL);
	blob[0] ^= 1;
	assert_int_equal(virtio_mmio_load(b, blob, (size_t)n), -EINVAL);
	blob[0] ^= 1;
	assert_int_equal(virtio_mmio_dev(b)->status, 0);
	int acts = activations;
	assert_int_equal(virtio_mmio_load(b, blob, (size_t)n), 0);
	assert_int_equal(activations, acts + 1);
	uint8_t d[4];
	virtio_mmio_io(b, 0x70, d, 4, false);
	assert_int_equal(get_le32(d), vqd_rd(&f->d, 0x70));
	virtio_mmio_io(b, 0x10, d, 4, false); /* DeviceFeaturesSel 1 came along */
	assert_int_equal(get_le32(d), 1u << (VIRTIO_F_VERSION_1 - 32) | (1u << (VIRTIO_F_RING_PACKED - 32)));
	virtio_mmio_io(b, 0x44, d, 4, false);
	assert_int_equal(get_le32(d), 1);
	/* the ring continues at avail index 1 */
	put_le16(ram + AVAIL + 6, 0);
	put_le16(ram + AVAIL + 2, 2);
	put_le32(d, 0);
	virtio_mmio_io(b, 0x50, d, 4, true);
	assert_int_equal(get_le16(ram + USED + 2), 2);
	virtio_mmio_destroy(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identification, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features_ok_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_and_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_sets_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_queue_setup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_running_queue_not_torn_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_on_iothread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
	};
	return cmocka_run_group_tests_name("virtio_mmio", tests, NULL, NULL);
}
