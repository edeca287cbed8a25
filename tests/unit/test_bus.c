// SPDX-License-Identifier: MIT
/* bus: range registration, dispatch with offsets, unhandled accesses; guest memory bounds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "vmkit/bus.h"
#include "vmkit/mem.h"

struct rec {
	int calls;
	uint64_t off;
	uint32_t size;
	bool write;
	uint8_t last[8];
};

static void rec_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct rec *r = opaque;

	r->calls++;
	r->off = off;
	r->size = size;
	r->write = is_write;
	if (is_write)
		memcpy(r->last, data, size);
	else
		memset(data, 0x5a, size);
}

static void test_dispatch_offsets(void **state)
{
	struct bus b;
	struct rec a = { 0 }, c = { 0 };
	uint8_t d[8] = { 0x12, 0x34 };

	assert_int_equal(bus_init(&b, "pio"), 0);
	assert_int_equal(bus_register(&b, 0x3f8, 8, rec_io, &a, "com1"), 0);
	assert_int_equal(bus_register(&b, 0x70, 2, rec_io, &c, "rtc"), 0);
	assert_true(bus_access(&b, 0x3fd, d, 1, false));
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.off, 5);
	assert_int_equal(d[0], 0x5a);
	assert_true(bus_access(&b, 0x71, d, 2, true) == false); /* straddles the end: unhandled */
	assert_int_equal(c.calls, 0);
	assert_true(bus_access(&b, 0x70, d, 2, true));
	assert_int_equal(c.off, 0);
	assert_true(c.write);
	assert_int_equal(atomic_load(&b.unhandled_writes), 1);
	bus_destroy(&b);
}

static void test_unhandled_reads_all_ones(void **state)
{
	struct bus b;
	uint8_t d[4] = { 0 };

	assert_int_equal(bus_init(&b, "mmio"), 0);
	assert_false(bus_access(&b, 0xd0000000, d, 4, false));
	assert_int_equal(d[0] & d[1] & d[2] & d[3], 0xff);
	assert_int_equal(atomic_load(&b.unhandled_reads), 1);
	bus_destroy(&b);
}

static void test_overlap_and_unregister(void **state)
{
	struct bus b;
	struct rec a = { 0 };
	uint8_t d[1];

	assert_int_equal(bus_init(&b, "pio"), 0);
	assert_int_equal(bus_register(&b, 0x100, 0x10, rec_io, &a, "a"), 0);
	assert_int_equal(bus_register(&b, 0x10f, 1, rec_io, &a, "b"), -EEXIST);
	assert_int_equal(bus_register(&b, 0xf8, 0x10, rec_io, &a, "c"), -EEXIST);
	assert_int_equal(bus_register(&b, 0x0, 0, rec_io, &a, "d"), -EINVAL);
	assert_int_equal(bus_register(&b, UINT64_MAX, 2, rec_io, &a, "e"), -EINVAL);
	assert_int_equal(bus_register(&b, 0x110, 0x10, rec_io, &a, "f"), 0);
	for (int i = 0; i < 100; i++) /* growth beyond the initial capacity */
		assert_int_equal(bus_register(&b, 0x1000 + i * 4, 4, rec_io, &a, "g"), 0);
	assert_true(bus_access(&b, 0x1000 + 99 * 4 + 3, d, 1, false));
	assert_int_equal(a.off, 3);
	assert_int_equal(bus_unregister(&b, 0x100), 0);
	assert_int_equal(bus_unregister(&b, 0x100), -ENOENT);
	assert_false(bus_access(&b, 0x105, d, 1, false));
	assert_true(bus_access(&b, 0x115, d, 1, false));
	bus_destroy(&b);
}

static void test_guest_mem_bounds(void **state)
{
	struct guest_mem m;
	uint8_t buf[16];

	guest_mem_init(&m);
	assert_int_equal(guest_mem_add(&m, 0, 1 << 20), 0);
	assert_int_equal(guest_mem_add(&m, 0x100000000ULL, 1 << 20), 0);
	assert_int_equal(guest_mem_add(&m, 0x80000, 4096), -EINVAL); /* overlap */
	assert_int_equal(guest_mem_add(&m, 0x123, 4096), -EINVAL);   /* misaligned */
	assert_non_null(guest_mem_ptr(&m, 0, 1 << 20));
	assert_null(guest_mem_ptr(&m, 1, 1 << 20));
	assert_null(guest_mem_ptr(&m, (1 << 20) - 8, 16));
	assert_null(guest_mem_ptr(&m, 0x200000, 1));
	assert_null(guest_mem_ptr(&m, UINT64_MAX - 4, 8));
	assert_null(guest_mem_ptr(&m, 0x100000010ULL, UINT64_MAX));
	assert_non_null(guest_mem_ptr(&m, 0x1000fffffULL, 1));
	assert_int_equal(guest_mem_write(&m, 0x100000ff8ULL, "abcdefgh", 8), 0);
	assert_int_equal(guest_mem_read(&m, 0x100000ff8ULL, buf, 8), 0);
	assert_memory_equal(buf, "abcdefgh", 8);
	assert_int_equal(guest_mem_read(&m, 0xffffc, buf, 8), -EFAULT);
	assert_int_equal(m.total, 2 << 20);
	guest_mem_free(&m);
	assert_int_equal(m.nr, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch_offsets),
		cmocka_unit_test(test_unhandled_reads_all_ones),
		cmocka_unit_test(test_overlap_and_unregister),
		cmocka_unit_test(test_guest_mem_bounds),
	};
	return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
