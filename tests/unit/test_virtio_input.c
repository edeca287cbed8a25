// SPDX-License-Identifier: MIT
/*
 * virtio-input tablet through virtio-mmio registers: the configuration space
 * (select/subsel queries of virtio 1.2 s5.8.4), events queued before the
 * driver is ready and delivered one per event buffer as buffers arrive,
 * buttons and wheel, the bounded backlog, and a malformed event buffer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "vmkit/util.h"
#include "vmkit/virtio_input.h"
#include "vmkit/virtio_mmio.h"

#define VQD_QSIZE 8
#include "vq_driver.h"

#define EVBUF 0x8000 /* event buffer i at EVBUF + 8 * i */
#define QSZ VQD_QSIZE

struct fx {
	struct guest_mem mem;
	struct vqd d;
	struct virtio_input *vi;
};

static void irq_set(void *ctx, uint32_t gsi, int level) {}

static void select_cfg(struct fx *f, uint8_t sel, uint8_t sub)
{
	vqd_cfg_wr8(&f->d, 0, sel);
	vqd_cfg_wr8(&f->d, 1, sub);
}

static int setup(void **state)
{
	static struct fx f;
	struct irq_line irq = { .set = irq_set };

	memset(&f, 0, sizeof(f));
	guest_mem_init(&f.mem);
	assert_int_equal(guest_mem_add(&f.mem, 0, 1 << 20), 0);
	f.d.ram = guest_mem_ptr(&f.mem, 0, 1 << 20);
	f.vi = virtio_input_tablet_create();
	assert_non_null(f.vi);
	f.d.m = virtio_mmio_create(&virtio_input_ops, f.vi, &f.mem, &irq);
	assert_non_null(f.d.m);
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

/* Negotiate (no reset: events may be queued), set up the event queue (0) with QSZ entries, DRIVER_OK. */
static void start(struct fx *f)
{
	vqd_negotiate(&f->d, 0);
	vqd_setup_queues(&f->d, 1);
	vqd_driver_ok(&f->d);
}

/* Post n device-writable 8-byte event buffers (descriptor i -> EVBUF + 8 i). */
static void post(struct fx *f, unsigned int n, bool notify)
{
	for (unsigned int k = 0; k < n; k++) {
		struct vqd_seg s = { EVBUF + 8 * f->d.next_desc[0], 8, true };
		vqd_add(&f->d, 0, &s, 1);
	}
	if (notify)
		vqd_kick(&f->d, 0);
}

/* The next used event: type, code, value. */
static void next_event(struct fx *f, uint16_t type, uint16_t code, uint32_t value)
{
	uint16_t seen = f->d.used_seen[0], id = 0;
	uint32_t len = 0;
	const uint8_t *ev;

	if (!vqd_get_used(&f->d, 0, &id, &len))
		fail_msg("no event %u (expected %u/%u/%u)", seen, type, code, value);
	assert_int_equal(len, 8);
	ev = f->d.ram + EVBUF + 8 * id;
	if (get_le16(ev) != type || get_le16(ev + 2) != code || get_le32(ev + 4) != value)
		fail_msg("event %u: %u/%u/%u, expected %u/%u/%u", seen, get_le16(ev), get_le16(ev + 2),
			 get_le32(ev + 4), type, code, value);
}

static void no_more_events(struct fx *f)
{
	assert_int_equal(vqd_used_idx(&f->d, 0), f->d.used_seen[0]);
}

static void test_config_space(void **state)
{
	struct fx *f = *state;
	char name[32] = { 0 };

	assert_int_equal(vqd_rd(&f->d, 0x008), 18); /* device ID: input */
	select_cfg(f, 0x01, 0);             /* ID_NAME */
	assert_int_equal(vqd_cfg8(&f->d, 2), 12);
	for (unsigned int i = 0; i < 12; i++)
		name[i] = (char)vqd_cfg8(&f->d, 8 + i);
	assert_string_equal(name, "vmkit tablet");
	select_cfg(f, 0x02, 0); /* ID_SERIAL */
	assert_true(vqd_cfg8(&f->d, 2) > 0);
	select_cfg(f, 0x03, 0); /* ID_DEVIDS: bustype BUS_VIRTUAL */
	assert_int_equal(vqd_cfg8(&f->d, 2), 8);
	assert_int_equal(vqd_cfg8(&f->d, 8), 0x06);
	select_cfg(f, 0x11, 0x03); /* EV_BITS, EV_ABS: ABS_X and ABS_Y */
	assert_int_equal(vqd_cfg8(&f->d, 2), 1);
	assert_int_equal(vqd_cfg8(&f->d, 8), 0x03);
	select_cfg(f, 0x11, 0x01); /* EV_BITS, EV_KEY: BTN_LEFT/RIGHT/MIDDLE = 0x110-0x112 */
	assert_int_equal(vqd_cfg8(&f->d, 2), 0x23);
	assert_int_equal(vqd_cfg8(&f->d, 8 + 0x22), 0x07);
	assert_int_equal(vqd_cfg8(&f->d, 8 + 0x21), 0);
	select_cfg(f, 0x11, 0x02); /* EV_REL: REL_WHEEL */
	assert_int_equal(vqd_cfg8(&f->d, 2), 2);
	assert_int_equal(vqd_cfg8(&f->d, 9), 0x01);
	select_cfg(f, 0x11, 0x11); /* EV_LED: none */
	assert_int_equal(vqd_cfg8(&f->d, 2), 0);
	select_cfg(f, 0x12, 0x00); /* ABS_INFO X: 0..32767 */
	assert_int_equal(vqd_cfg8(&f->d, 2), 20);
	assert_int_equal(vqd_cfg8(&f->d, 8 + 4) | vqd_cfg8(&f->d, 8 + 5) << 8, 32767);
	select_cfg(f, 0x12, 0x05); /* an axis we do not have */
	assert_int_equal(vqd_cfg8(&f->d, 2), 0);
	select_cfg(f, 0x77, 0x00); /* unknown select */
	assert_int_equal(vqd_cfg8(&f->d, 2), 0);
	/* select/subsel read back; the rest is read-only */
	select_cfg(f, 0x12, 0x01);
	assert_int_equal(vqd_cfg8(&f->d, 0), 0x12);
	assert_int_equal(vqd_cfg8(&f->d, 1), 0x01);
	{
		uint8_t v = 99;
		vqd_cfg_wr8(&f->d, 2, v);
		assert_int_equal(vqd_cfg8(&f->d, 2), 20);
	}
	/* reads past the config space are harmless */
	assert_int_equal(vqd_rd(&f->d, 0x100 + 136 + 4), 0);
}

static void test_events_wait_for_buffers(void **state)
{
	struct fx *f = *state;

	/* before the driver: queued */
	virtio_input_tablet_event(f->vi, 100, 200, 0, 0);
	start(f);
	no_more_events(f);
	post(f, 2, true); /* two buffers: X and Y; SYN waits */
	next_event(f, 3, 0, 100);
	next_event(f, 3, 1, 200);
	no_more_events(f);
	post(f, 6, true);
	next_event(f, 0, 0, 0);
	no_more_events(f);
	/* same position, left button down: only the key and a SYN */
	virtio_input_tablet_event(f->vi, 100, 200, 1, 0);
	next_event(f, 1, 0x110, 1);
	next_event(f, 0, 0, 0);
	/* move X only, release, wheel up (buffers posted without a kick: the event finds them) */
	post(f, 5, false);
	virtio_input_tablet_event(f->vi, 40000, 200, 0, 1);
	next_event(f, 3, 0, 32767); /* clamped */
	next_event(f, 1, 0x110, 0);
	next_event(f, 2, 8, 1);
	next_event(f, 0, 0, 0);
	no_more_events(f);
	/* nothing changed: nothing sent */
	virtio_input_tablet_event(f->vi, 40000, 200, 0, 0);
	no_more_events(f);
	assert_int_equal(virtio_input_dropped(f->vi), 0);
}

static void test_backlog_is_bounded(void **state)
{
	struct fx *f = *state;

	start(f);
	for (unsigned int i = 0; i < 1000; i++)
		virtio_input_tablet_event(f->vi, i, i, 0, 0);
	assert_true(virtio_input_dropped(f->vi) > 0);
	/* the newest events survive: the last one delivered is the final SYN after (999, 999) */
	for (unsigned int k = 0; k < 256 / QSZ; k++) {
		post(f, QSZ, true);
		f->d.used_seen[0] = vqd_used_idx(&f->d, 0);
	}
	{
		uint32_t id = vqd_used_id(&f->d, 0, (uint16_t)(f->d.used_seen[0] - 1));
		assert_int_equal(get_le16(f->d.ram + EVBUF + 8 * id), 0); /* SYN */
		id = vqd_used_id(&f->d, 0, (uint16_t)(f->d.used_seen[0] - 2));
		assert_int_equal(get_le32(f->d.ram + EVBUF + 8 * id + 4), 999);
	}
}

static void test_malformed_buffer_needs_reset(void **state)
{
	struct fx *f = *state;

	start(f);
	vqd_add(&f->d, 0, &(struct vqd_seg){ 0x7fff00000000ULL, 8, true }, 1); /* outside guest RAM, no kick */
	virtio_input_tablet_event(f->vi, 1, 2, 0, 0);
	assert_true(vqd_rd(&f->d, 0x70) & 64); /* DEVICE_NEEDS_RESET */
	/* a reset brings it back (start() clears the rings and the driver's indexes) */
	vqd_wr(&f->d, 0x70, 0);
	start(f);
	virtio_input_tablet_event(f->vi, 5, 6, 0, 0);
	post(f, 3, true);
	next_event(f, 3, 0, 5);
	next_event(f, 3, 1, 6);
	next_event(f, 0, 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_wait_for_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backlog_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_buffer_needs_reset, setup, teardown),
	};
	return cmocka_run_group_tests_name("virtio_input", tests, NULL, NULL);
}
