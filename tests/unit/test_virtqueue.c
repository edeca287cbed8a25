// SPDX-License-Identifier: MIT
/*
 * virtqueue: a fake driver writes split and packed rings into fake guest
 * memory; the device side must pop exactly what was offered, survive index
 * wrap-around, follow indirect tables, and refuse every malformed chain.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "vmkit/util.h"
#include "vmkit/virtqueue.h"

#define QSZ 8
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define INDIR 0x4000
#define DATA 0x10000
#define MEM_SIZE (1 << 20)

struct fx {
	struct guest_mem mem;
	struct virtq q;
	struct virtq_elem e;
	uint16_t avail_idx;
	/* packed driver state */
	uint16_t next;
	bool wrap;
};

static uint8_t *gp(struct fx *f, uint64_t gpa) { return guest_mem_ptr(&f->mem, gpa, 1); }

static void set_desc(struct fx *f, uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint8_t *d = gp(f, table + 16 * i);
	put_le64(d, addr);
	put_le32(d + 8, len);
	put_le16(d + 12, flags);
	put_le16(d + 14, next);
}

static void offer(struct fx *f, uint16_t head)
{
	put_le16(gp(f, AVAIL + 4 + 2 * (f->avail_idx % QSZ)), head);
	f->avail_idx++;
	put_le16(gp(f, AVAIL + 2), f->avail_idx);
}

static int setup(void **state)
{
	static struct fx f;
	memset(&f, 0, sizeof(f));
	guest_mem_init(&f.mem);
	assert_int_equal(guest_mem_add(&f.mem, 0, MEM_SIZE), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	guest_mem_free(&f->mem);
	return 0;
}

static void init_split(struct fx *f, bool event_idx)
{
	assert_int_equal(virtq_init(&f->q, &f->mem, QSZ, false, event_idx, true, DESC, AVAIL, USED), 0);
}

/* A packed ring as a fresh driver sets it up: no descriptors, both event structures zero, wrap counter 1. */
static void init_packed(struct fx *f, bool event_idx, bool indirect)
{
	memset(gp(f, DESC), 0, 16 * QSZ);
	memset(gp(f, AVAIL), 0, 4);
	memset(gp(f, USED), 0, 4);
	assert_int_equal(virtq_init(&f->q, &f->mem, QSZ, true, event_idx, indirect, DESC, AVAIL, USED), 0);
	f->next = 0;
	f->wrap = true;
}

static void test_init_validates(void **state)
{
	struct fx *f = *state;

	assert_int_equal(virtq_init(&f->q, &f->mem, 6, false, false, false, DESC, AVAIL, USED), -EINVAL);
	assert_int_equal(virtq_init(&f->q, &f->mem, 0, false, false, false, DESC, AVAIL, USED), -EINVAL);
	assert_int_equal(virtq_init(&f->q, &f->mem, QSZ, false, false, false, DESC + 8, AVAIL, USED), -EINVAL);
	assert_int_equal(virtq_init(&f->q, &f->mem, QSZ, false, false, false, DESC, AVAIL, MEM_SIZE - 8), -EINVAL);
	assert_int_equal(virtq_init(&f->q, &f->mem, 256, false, false, false, MEM_SIZE - 2048, AVAIL, USED),
			 -EINVAL);
	assert_int_equal(virtq_init(&f->q, &f->mem, 6, true, false, false, DESC, AVAIL, USED), 0); /* packed: any size */
}

static void test_split_chain_and_used(void **state)
{
	struct fx *f = *state;
	char buf[16];

	init_split(f, false);
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
	memcpy(gp(f, DATA), "request!", 8);
	set_desc(f, DESC, 3, DATA, 8, VIRTQ_DESC_F_NEXT, 5);
	set_desc(f, DESC, 5, DATA + 0x100, 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, DESC, 1, DATA + 0x200, 1, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 3);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(f->e.id, 3);
	assert_int_equal(f->e.out_num, 1);
	assert_int_equal(f->e.in_num, 2);
	assert_int_equal(f->e.in_len, 65);
	assert_int_equal(virtq_elem_read(&f->e, 0, buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "request!", 8);
	/* a write across the segment boundary */
	assert_int_equal(virtq_elem_write(&f->e, 60, "abcdef", 6), 5);
	assert_memory_equal(gp(f, DATA + 0x100 + 60), "abcd", 4);
	assert_int_equal(*gp(f, DATA + 0x200), 'e');
	virtq_push(&f->q, &f->e, 65);
	assert_int_equal(get_le16(gp(f, USED + 2)), 1);
	assert_int_equal(get_le32(gp(f, USED + 4)), 3);
	assert_int_equal(get_le32(gp(f, USED + 8)), 65);
	assert_true(virtq_should_notify(&f->q));
	put_le16(gp(f, AVAIL), 1); /* VRING_AVAIL_F_NO_INTERRUPT */
	assert_false(virtq_should_notify(&f->q));
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
}

static void test_split_wraparound(void **state)
{
	struct fx *f = *state;

	init_split(f, true);
	/* 70000 requests through an 8-entry ring: both 16-bit indexes wrap. */
	f->avail_idx = 0;
	for (unsigned int n = 0; n < 70000; n++) {
		uint16_t head = n % QSZ;
		set_desc(f, DESC, head, DATA + head * 64, 64, VIRTQ_DESC_F_WRITE, 0);
		offer(f, head);
		assert_int_equal(virtq_pop(&f->q, &f->e), 1);
		assert_int_equal(f->e.id, head);
		virtq_push(&f->q, &f->e, 10);
	}
	assert_int_equal(get_le16(gp(f, USED + 2)), (uint16_t)70000);
	/* avail_event published for the driver (event_idx) once the ring is seen empty */
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
	assert_int_equal(get_le16(gp(f, USED + 4 + 8 * QSZ)), (uint16_t)70000);
	assert_int_equal(f->q.errors, 0);
}

/* Offer n one-descriptor buffers (descriptors 0..n-1, 4 bytes each) on the split ring. */
static void offer_simple(struct fx *f, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		set_desc(f, DESC, (uint16_t)i, DATA, 4, 0, 0);
		offer(f, (uint16_t)i);
	}
}

static void test_split_event_idx(void **state)
{
	struct fx *f = *state;

	init_split(f, true);
	offer_simple(f, 3);
	put_le16(gp(f, AVAIL + 4 + 2 * QSZ), 1); /* used_event: interrupt after the 2nd buffer */
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	virtq_push(&f->q, &f->e, 0);
	assert_true(virtq_should_notify(&f->q)); /* first check always notifies */
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	virtq_push(&f->q, &f->e, 0);
	assert_true(virtq_should_notify(&f->q)); /* used went 1 -> 2, crossing used_event 1 */
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	virtq_push(&f->q, &f->e, 0);
	assert_false(virtq_should_notify(&f->q)); /* 2 -> 3: not asked for */
}

/*
 * Kick suppression (s2.7.10): while the device drains the ring avail_event
 * stays behind, so the driver adding more does not kick; only an empty ring
 * asks for a kick at the next buffer.
 */
static void test_split_kick_suppression(void **state)
{
	struct fx *f = *state;

	init_split(f, true);
	offer_simple(f, 3);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(get_le16(gp(f, USED + 4 + 8 * QSZ)), 0); /* still draining: no kick wanted */
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(get_le16(gp(f, USED + 4 + 8 * QSZ)), 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
	assert_int_equal(get_le16(gp(f, USED + 4 + 8 * QSZ)), 3); /* empty: kick me at buffer 3 */
	/* a buffer added before the device looked again is found without a kick */
	set_desc(f, DESC, 3, DATA, 4, 0, 0);
	offer(f, 3);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
	assert_int_equal(get_le16(gp(f, USED + 4 + 8 * QSZ)), 4);
}

static void test_split_indirect(void **state)
{
	struct fx *f = *state;

	init_split(f, false);
	set_desc(f, INDIR, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 2);
	set_desc(f, INDIR, 2, DATA + 16, 32, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, INDIR, 1, DATA + 64, 512, VIRTQ_DESC_F_WRITE, 0);
	set_desc(f, DESC, 0, INDIR, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(f->e.out_num, 2);
	assert_int_equal(f->e.out_len, 48);
	assert_int_equal(f->e.in_len, 512);
}

/* Each malformed chain must fail the pop, count an error, and never crash. */
static void expect_malformed(struct fx *f)
{
	uint64_t before = f->q.errors;
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
	assert_int_equal(f->q.errors, before + 1);
}

static void test_split_malformed(void **state)
{
	struct fx *f = *state;

	/* loop: 0 -> 1 -> 0 */
	init_split(f, false);
	f->avail_idx = 0;
	set_desc(f, DESC, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, DESC, 1, DATA, 4, VIRTQ_DESC_F_NEXT, 0);
	offer(f, 0);
	expect_malformed(f);

	/* next out of range */
	init_split(f, false);
	f->avail_idx = 0;
	set_desc(f, DESC, 0, DATA, 4, VIRTQ_DESC_F_NEXT, QSZ);
	offer(f, 0);
	expect_malformed(f);

	/* head out of range */
	init_split(f, false);
	f->avail_idx = 0;
	offer(f, QSZ + 3);
	expect_malformed(f);

	/* buffer outside guest RAM, and one that wraps the address space */
	init_split(f, false);
	f->avail_idx = 0;
	set_desc(f, DESC, 0, MEM_SIZE - 2, 4, 0, 0);
	offer(f, 0);
	expect_malformed(f);
	init_split(f, false);
	f->avail_idx = 0;
	set_desc(f, DESC, 0, UINT64_MAX - 1, 4, 0, 0);
	offer(f, 0);
	expect_malformed(f);

	/* readable after writable */
	init_split(f, false);
	f->avail_idx = 0;
	set_desc(f, DESC, 0, DATA, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, DESC, 1, DATA, 4, 0, 0);
	offer(f, 0);
	expect_malformed(f);

	/* indirect with NEXT, nested indirect, bad table length */
	init_split(f, false);
	f->avail_idx = 0;
	set_desc(f, DESC, 0, INDIR, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	offer(f, 0);
	expect_malformed(f);
	init_split(f, false);
	f->avail_idx = 0;
	set_desc(f, INDIR, 0, INDIR, 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(f, DESC, 0, INDIR, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_malformed(f);
	init_split(f, false);
	f->avail_idx = 0;
	set_desc(f, DESC, 0, INDIR, 17, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_malformed(f);
	/* loop inside an indirect table */
	init_split(f, false);
	f->avail_idx = 0;
	set_desc(f, INDIR, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, INDIR, 1, DATA, 4, VIRTQ_DESC_F_NEXT, 0);
	set_desc(f, DESC, 0, INDIR, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_malformed(f);
	/* indirect not negotiated */
	assert_int_equal(virtq_init(&f->q, &f->mem, QSZ, false, false, false, DESC, AVAIL, USED), 0);
	f->avail_idx = 0;
	set_desc(f, INDIR, 0, DATA, 4, 0, 0);
	set_desc(f, DESC, 0, INDIR, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_malformed(f);

	/* avail index jumped past the ring size */
	init_split(f, false);
	put_le16(gp(f, AVAIL + 2), QSZ + 1);
	expect_malformed(f);
}

/* packed driver: make a chain available at the driver's position */
static void packed_offer(struct fx *f, const uint64_t *addr, const uint32_t *len, const uint16_t *flags, int n,
			 uint16_t id)
{
	uint16_t head = f->next, head_flags = 0;
	bool wrap = f->wrap;

	for (int i = 0; i < n; i++) {
		uint8_t *d = gp(f, DESC + 16 * f->next);
		uint16_t fl = flags[i] | (i < n - 1 ? VIRTQ_DESC_F_NEXT : 0);
		fl |= f->wrap ? VIRTQ_PACKED_DESC_F_AVAIL : VIRTQ_PACKED_DESC_F_USED;
		put_le64(d, addr[i]);
		put_le32(d + 8, len[i]);
		put_le16(d + 12, id);
		if (i == 0)
			head_flags = fl; /* the head is made available last */
		else
			put_le16(d + 14, fl);
		if (++f->next == QSZ) {
			f->next = 0;
			f->wrap = !f->wrap;
		}
	}
	(void)wrap;
	put_le16(gp(f, DESC + 16 * head + 14), head_flags);
}

static void test_packed_ring(void **state)
{
	struct fx *f = *state;
	uint64_t addr[3] = { DATA, DATA + 100, DATA + 200 };
	uint32_t len[3] = { 16, 100, 4 };
	uint16_t flags[3] = { 0, VIRTQ_DESC_F_WRITE, VIRTQ_DESC_F_WRITE };

	init_packed(f, false, true);
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
	/* 3-descriptor chains through an 8-entry ring: wraps several times */
	for (uint16_t n = 0; n < 100; n++) {
		packed_offer(f, addr, len, flags, 3, n);
		assert_int_equal(virtq_pop(&f->q, &f->e), 1);
		assert_int_equal(f->e.id, n);
		assert_int_equal(f->e.ndescs, 3);
		assert_int_equal(f->e.out_num, 1);
		assert_int_equal(f->e.in_len, 104);
		assert_int_equal(virtq_pop(&f->q, &f->e), 0);
		uint16_t slot = f->q.next_used;
		bool wrap = f->q.used_wrap;
		virtq_push(&f->q, &f->e, 50);
		uint8_t *d = gp(f, DESC + 16 * slot);
		assert_int_equal(get_le16(d + 12), n);
		assert_int_equal(get_le32(d + 8), 50);
		uint16_t fl = get_le16(d + 14);
		assert_int_equal(!!(fl & VIRTQ_PACKED_DESC_F_USED), wrap);
		assert_int_equal(!!(fl & VIRTQ_PACKED_DESC_F_AVAIL), wrap);
	}
	assert_int_equal(f->q.errors, 0);
	/* driver event suppression: DISABLE */
	put_le16(gp(f, AVAIL + 2), 1);
	assert_false(virtq_should_notify(&f->q));
	put_le16(gp(f, AVAIL + 2), 0);
	assert_true(virtq_should_notify(&f->q));
}

/* The driver's event suppression structure (s2.8.10): flags, and off_wrap for RING_EVENT_FLAGS_DESC. */
static void driver_event(struct fx *f, uint16_t pos, bool wrap, uint16_t flags)
{
	put_le16(gp(f, AVAIL), (uint16_t)(pos | (wrap ? 0x8000 : 0)));
	put_le16(gp(f, AVAIL + 2), flags);
}

/*
 * Packed ring with VIRTIO_F_EVENT_IDX (s2.8.10, s2.8.14): the device asks for
 * kicks with off_wrap + RING_EVENT_FLAGS_DESC only once its ring is empty, and
 * interrupts only when the used descriptor the driver named was written.
 */
/* While the device polls (q.polling), an empty pop leaves the kick request behind, both layouts. */
static void test_polling_pop_leaves_kicks_suppressed(void **state)
{
	struct fx *f = *state;
	uint64_t addr[1] = { DATA };
	uint32_t len[1] = { 16 };
	uint16_t flags[1] = { VIRTQ_DESC_F_WRITE };

	init_split(f, true);
	offer_simple(f, 2);
	f->q.polling = true;
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
	assert_int_equal(get_le16(gp(f, USED + 4 + 8 * QSZ)), 0); /* not asked: the driver does not kick */
	f->q.polling = false;
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
	assert_int_equal(get_le16(gp(f, USED + 4 + 8 * QSZ)), 2); /* polling over: kick me at buffer 2 */

	init_packed(f, true, false);
	f->q.polling = true;
	packed_offer(f, addr, len, flags, 1, 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
	assert_int_equal(get_le16(gp(f, USED + 2)), 0); /* the device event untouched */
	f->q.polling = false;
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
	assert_int_equal(get_le16(gp(f, USED + 2)), 2); /* DESC mode: a kick at position 1 */
	assert_int_equal(get_le16(gp(f, USED)), 0x8000 | 1);
}

static void test_packed_event_idx(void **state)
{
	struct fx *f = *state;
	uint64_t addr[1] = { DATA };
	uint32_t len[1] = { 16 };
	uint16_t flags[1] = { VIRTQ_DESC_F_WRITE };

	init_packed(f, true, false);
	/* the driver zeroed the device event: ENABLE, a kick for every buffer until the ring was seen empty */
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
	assert_int_equal(get_le16(gp(f, USED + 2)), 2); /* now DESC mode, a kick at position 0 of lap 1 */
	assert_int_equal(get_le16(gp(f, USED)), 0x8000);
	packed_offer(f, addr, len, flags, 1, 0);
	packed_offer(f, addr, len, flags, 1, 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(get_le16(gp(f, USED)), 0x8000); /* draining: stale, no kicks wanted */
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
	assert_int_equal(get_le16(gp(f, USED)), 0x8000 | 2); /* empty: kick at position 2 */
	assert_int_equal(get_le16(gp(f, USED + 2)), 2);

	/* interrupts: the driver wants one when the used descriptor at position 1 is written */
	driver_event(f, 1, true, 2);
	virtq_push(&f->q, &f->e, 1); /* position 0 */
	assert_true(virtq_should_notify(&f->q)); /* the first check always interrupts */
	virtq_push(&f->q, &f->e, 1); /* position 1: asked for */
	assert_true(virtq_should_notify(&f->q));
	packed_offer(f, addr, len, flags, 1, 2);
	packed_offer(f, addr, len, flags, 1, 3);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	virtq_push(&f->q, &f->e, 1); /* position 2: the driver still points at 1 */
	assert_false(virtq_should_notify(&f->q));
	driver_event(f, 3, true, 2);
	virtq_push(&f->q, &f->e, 1); /* position 3 */
	assert_true(virtq_should_notify(&f->q));
	assert_false(virtq_should_notify(&f->q)); /* nothing new */

	/* around the ring several times: asked for the next position or one already passed */
	for (int n = 0; n < 40; n++) {
		bool ask = n % 2 == 0;
		uint16_t pos = f->q.next_used;
		bool wrap = f->q.used_wrap;

		packed_offer(f, addr, len, flags, 1, (uint16_t)n);
		assert_int_equal(virtq_pop(&f->q, &f->e), 1);
		if (!ask) {
			/* the position just before ours, possibly in the previous lap */
			if (pos == 0) {
				pos = QSZ - 1;
				wrap = !wrap;
			} else {
				pos--;
			}
		}
		driver_event(f, pos, wrap, 2);
		virtq_push(&f->q, &f->e, 1);
		assert_int_equal(virtq_should_notify(&f->q), ask);
	}
	/* RING_EVENT_FLAGS_DISABLE: never; ENABLE: after anything used */
	driver_event(f, 0, true, 1);
	packed_offer(f, addr, len, flags, 1, 99);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	virtq_push(&f->q, &f->e, 1);
	assert_false(virtq_should_notify(&f->q));
	driver_event(f, 0, true, 0);
	assert_true(virtq_should_notify(&f->q));
	assert_int_equal(f->q.errors, 0);
}

static void test_packed_indirect_and_malformed(void **state)
{
	struct fx *f = *state;
	uint64_t a[1] = { INDIR };
	uint32_t l[1] = { 32 };
	uint16_t fl[1] = { VIRTQ_DESC_F_INDIRECT };

	init_packed(f, false, true);
	/* packed indirect table: sequential entries, flags at offset 14 */
	uint8_t *t = gp(f, INDIR);
	memset(t, 0, 32);
	put_le64(t, DATA);
	put_le32(t + 8, 8);
	put_le64(t + 16, DATA + 64);
	put_le32(t + 24, 8);
	put_le16(t + 30, VIRTQ_DESC_F_WRITE);
	packed_offer(f, a, l, fl, 1, 7);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(f->e.id, 7);
	assert_int_equal(f->e.ndescs, 1);
	assert_int_equal(f->e.out_num, 1);
	assert_int_equal(f->e.in_num, 1);

	/* a chain that never ends (NEXT on every descriptor of the ring) */
	uint64_t addr[QSZ + 1];
	uint32_t len[QSZ + 1];
	uint16_t flags[QSZ + 1];
	for (int i = 0; i <= QSZ; i++) {
		addr[i] = DATA;
		len[i] = 4;
		flags[i] = VIRTQ_DESC_F_NEXT;
	}
	packed_offer(f, addr, len, flags, QSZ, 9);
	put_le16(gp(f, DESC + 16 * ((f->next + QSZ - 1) % QSZ) + 14),
		 get_le16(gp(f, DESC + 16 * ((f->next + QSZ - 1) % QSZ) + 14)) | VIRTQ_DESC_F_NEXT);
	expect_malformed(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_validates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_chain_and_used, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_wraparound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packed_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packed_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_kick_suppression, setup, teardown),
		cmocka_unit_test_setup_teardown(test_polling_pop_leaves_kicks_suppressed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packed_indirect_and_malformed, setup, teardown),
	};
	return cmocka_run_group_tests_name("virtqueue", tests, NULL, NULL);
}
