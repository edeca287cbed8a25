// SPDX-License-Identifier: MIT
/*
 * virtio-blk requests driven through virtio-mmio registers against a temp
 * image: read/write/flush/get-id, requests outside the image, writes to a
 * readonly disk, malformed requests, and the image lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmkit/util.h"
#include "vmkit/virtio_blk.h"
#include "vmkit/virtio_mmio.h"

#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define HDR 0x8000
#define DATA 0x9000
#define STATUS 0xa000

struct fx {
	char path[64];
	struct guest_mem mem;
	struct virtio_mmio *m;
	uint8_t *ram;
	uint16_t avail;
};

static void irq_set(void *ctx, uint32_t gsi, int level) {}

static void wr(struct fx *f, uint64_t off, uint32_t v)
{
	uint8_t d[4];
	put_le32(d, v);
	virtio_mmio_io(f->m, off, d, 4, true);
}

static uint32_t rd(struct fx *f, uint64_t off)
{
	uint8_t d[4];
	virtio_mmio_io(f->m, off, d, 4, false);
	return get_le32(d);
}

static void open_disk(struct fx *f, bool readonly)
{
	char err[256];
	struct irq_line irq = { .set = irq_set };
	struct virtio_blk *b = virtio_blk_open(f->path, readonly, "SERIAL-1", err, sizeof(err));
	assert_non_null(b);
	f->m = virtio_mmio_create(&virtio_blk_ops, b, &f->mem, &irq);
	wr(f, 0x70, 1 | 2);
	wr(f, 0x24, 1);
	wr(f, 0x20, 1); /* VERSION_1 */
	wr(f, 0x70, 1 | 2 | 8);
	wr(f, 0x38, 8);
	wr(f, 0x80, DESC);
	wr(f, 0x90, AVAIL);
	wr(f, 0xa0, USED);
	wr(f, 0x44, 1);
	wr(f, 0x70, 1 | 2 | 8 | 4);
	f->avail = 0;
}

static int setup(void **state)
{
	static struct fx f;
	memset(&f, 0, sizeof(f));
	strcpy(f.path, "/tmp/vmkit-blk-XXXXXX");
	int fd = mkstemp(f.path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 64 * 512), 0);
	close(fd);
	guest_mem_init(&f.mem);
	assert_int_equal(guest_mem_add(&f.mem, 0, 1 << 20), 0);
	f.ram = guest_mem_ptr(&f.mem, 0, 1 << 20);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	virtio_mmio_destroy(f->m);
	guest_mem_free(&f->mem);
	unlink(f->path);
	return 0;
}

static void desc(struct fx *f, int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	put_le64(f->ram + DESC + 16 * i, addr);
	put_le32(f->ram + DESC + 16 * i + 8, len);
	put_le16(f->ram + DESC + 16 * i + 12, flags);
	put_le16(f->ram + DESC + 16 * i + 14, next);
}

/* header -> data -> status; returns the status byte and the used length */
static uint8_t request(struct fx *f, uint32_t type, uint64_t sector, uint32_t len, bool data_writable, uint32_t *used)
{
	put_le32(f->ram + HDR, type);
	put_le32(f->ram + HDR + 4, 0);
	put_le64(f->ram + HDR + 8, sector);
	f->ram[STATUS] = 0xee;
	desc(f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	if (len) {
		desc(f, 1, DATA, len, VIRTQ_DESC_F_NEXT | (data_writable ? VIRTQ_DESC_F_WRITE : 0), 2);
		desc(f, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	} else {
		desc(f, 1, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	}
	put_le16(f->ram + AVAIL + 4 + 2 * (f->avail % 8), 0);
	f->avail++;
	put_le16(f->ram + AVAIL + 2, f->avail);
	wr(f, 0x50, 0);
	assert_int_equal(get_le16(f->ram + USED + 2), f->avail);
	if (used)
		*used = get_le32(f->ram + USED + 4 + 8 * ((f->avail - 1) % 8) + 4);
	return f->ram[STATUS];
}

static void test_read_write_flush_id(void **state)
{
	struct fx *f = *state;
	uint32_t used;

	open_disk(f, false);
	assert_int_equal(rd(f, 0x008), 2);
	uint8_t cap[8];
	virtio_mmio_io(f->m, 0x100, cap, 8, false);
	assert_int_equal(get_le64(cap), 64);
	memset(f->ram + DATA, 0x5a, 1024);
	assert_int_equal(request(f, 1, 10, 1024, false, NULL), 0); /* OUT */
	memset(f->ram + DATA, 0, 1024);
	assert_int_equal(request(f, 0, 10, 1024, true, &used), 0); /* IN */
	assert_int_equal(used, 1025);
	assert_int_equal(f->ram[DATA + 1023], 0x5a);
	assert_int_equal(request(f, 4, 0, 0, false, NULL), 0); /* FLUSH */
	assert_int_equal(request(f, 8, 0, 20, true, NULL), 0); /* GET_ID */
	assert_memory_equal(f->ram + DATA, "SERIAL-1", 9);
	assert_int_equal(request(f, 99, 0, 0, false, NULL), 2); /* unsupported */
	/* the data reached the file */
	int fd = open(f->path, O_RDONLY);
	uint8_t b[2];
	assert_int_equal(pread(fd, b, 2, 10 * 512), 2);
	close(fd);
	assert_int_equal(b[0], 0x5a);
}

static void test_out_of_range_and_malformed(void **state)
{
	struct fx *f = *state;

	open_disk(f, false);
	assert_int_equal(request(f, 0, 64, 512, true, NULL), 1);           /* past the end */
	assert_int_equal(request(f, 0, 63, 1024, true, NULL), 1);          /* straddles the end */
	assert_int_equal(request(f, 0, UINT64_MAX / 2, 512, true, NULL), 1); /* overflowing sector */
	assert_int_equal(request(f, 0, 0, 100, true, NULL), 1);            /* not whole sectors */
	/* a descriptor outside guest RAM: the device needs a reset */
	desc(f, 0, 0x7fff00000000ULL, 16, VIRTQ_DESC_F_NEXT, 1);
	put_le16(f->ram + AVAIL + 4 + 2 * (f->avail % 8), 0);
	f->avail++;
	put_le16(f->ram + AVAIL + 2, f->avail);
	wr(f, 0x50, 0);
	assert_true(rd(f, 0x70) & 64);
}

static void test_readonly_and_lock(void **state)
{
	struct fx *f = *state;
	char err[256];

	open_disk(f, true);
	wr(f, 0x14, 0);
	assert_true(rd(f, 0x10) & (1u << 5)); /* VIRTIO_BLK_F_RO offered */
	assert_int_equal(request(f, 1, 0, 512, false, NULL), 1);
	assert_int_equal(request(f, 0, 0, 512, true, NULL), 0);
	/* a writer is refused while a reader holds the image, and vice versa */
	assert_null(virtio_blk_open(f->path, false, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "in use"));
	assert_null(virtio_blk_open("/nonexistent/disk.img", false, NULL, err, sizeof(err)));
	assert_null(virtio_blk_open("/tmp", false, NULL, err, sizeof(err)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_write_flush_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range_and_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_and_lock, setup, teardown),
	};
	return cmocka_run_group_tests_name("virtio_blk", tests, NULL, NULL);
}
