// SPDX-License-Identifier: MIT
/*
 * virtio-blk requests driven through virtio-mmio registers against a temp
 * image, with both disk engines (io_uring and the thread pool): read, write,
 * flush, get-id; discard and write-zeroes (holes checked with st_blocks and
 * SEEK_HOLE); malformed segment lists; requests outside the image; many
 * requests in flight at once (completions in any order); several queues
 * kicked from several threads; reset with requests in flight; readonly and
 * the image lock. A third group runs the same tests the way vmkit run does:
 * kicks served on an I/O thread's loop, which also reaps the io_uring
 * completions (no completion thread of the disk's own).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmkit/iothread.h"
#include "vmkit/util.h"
#include "vmkit/virtio_blk.h"
#include "vmkit/virtio_mmio.h"

#define MEM_SIZE (8u << 20)
#define QSIZE 64
#define RING(q) (0x10000u + (q) * 0x4000u) /* desc; avail at +0x1000, used at +0x2000 */
#define HDR(q, k) (0x40000u + (q) * 0x1000u + 16u * (k))
#define STATUS(q, k) (0x50000u + (q) * 0x100u + (k))
#define DATA 0x100000u
#define DISK_SECTORS 8192 /* 4 MiB */

static enum disk_aio engine;
static char err_buf[256];
static bool on_loop; /* kicks and completions on an I/O thread (vmkit run's way) */
static unsigned int loop_poll_us; /* on_loop: the loop also polls the queues (virtio_blk_config.poll_us) */

/* Wait (up to 10 s) for something an I/O thread does; immediate without one. */
#define WAIT_FOR(cond)                                                    \
	do {                                                              \
		for (int wait_i = 0; !(cond) && wait_i < 10000; wait_i++) \
			usleep(1000);                                     \
	} while (0)

struct fx {
	char path[64];
	struct guest_mem mem;
	struct virtio_mmio *m;
	struct virtio_blk *b;
	uint8_t *ram;
	uint16_t avail[4];
	uint16_t next[4]; /* next request slot (3 descriptors each) */
	struct iothread io; /* on_loop */
	bool io_ready;
};

static int irq_level; /* the device's interrupt line, as the transport last set it */

static void irq_set(void *ctx, uint32_t gsi, int level)
{
	__atomic_store_n(&irq_level, level, __ATOMIC_SEQ_CST);
}

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

static uint32_t cfg32(struct fx *f, uint32_t off)
{
	uint8_t d[4];
	virtio_mmio_io(f->m, 0x100 + off, d, 4, false);
	return get_le32(d);
}

static void setup_queue(struct fx *f, unsigned int q)
{
	wr(f, 0x30, q);
	wr(f, 0x38, QSIZE);
	wr(f, 0x80, RING(q));
	wr(f, 0x90, RING(q) + 0x1000);
	wr(f, 0xa0, RING(q) + 0x2000);
	wr(f, 0x44, 1);
	f->avail[q] = 0;
	f->next[q] = 0;
}

static void init_device(struct fx *f, unsigned int nq, uint32_t feat_lo);

static void open_disk_cfg(struct fx *f, const struct virtio_blk_config *cfg, unsigned int nq, uint32_t feat_lo)
{
	char err[256];
	struct irq_line irq = { .set = irq_set };
	struct virtio_blk_config c = *cfg;

	if (on_loop) {
		assert_int_equal(iothread_init(&f->io), 0);
		f->io_ready = true;
		c.loop = &f->io.loop;
		if (!c.poll_us)
			c.poll_us = loop_poll_us;
	}
	f->b = virtio_blk_create(&c, err, sizeof(err));
	if (!f->b)
		fail_msg("virtio_blk_create: %s", err);
	assert_string_equal(virtio_blk_engine(f->b), engine == DISK_AIO_IO_URING ? "io_uring" : "threads");
	f->m = virtio_mmio_create(virtio_blk_dev_ops(f->b), f->b, &f->mem, &irq);
	if (on_loop) {
		/* No ioeventfds here: notify writes are forwarded to the loop, as when KVM has none. */
		assert_int_equal(virtio_mmio_attach_notify(f->m, &f->io.loop, NULL, 0), 0);
		assert_int_equal(iothread_start(&f->io, "blk-test-io"), 0);
	}
	init_device(f, nq, feat_lo);
}

/* The driver's initialization sequence (s3.1.1) with nq queues. */
static void init_device(struct fx *f, unsigned int nq, uint32_t feat_lo)
{
	wr(f, 0x70, 1 | 2);
	wr(f, 0x14, 0);
	feat_lo &= rd(f, 0x10); /* accept only what is offered */
	wr(f, 0x24, 0);
	wr(f, 0x20, feat_lo);
	wr(f, 0x24, 1);
	wr(f, 0x20, 1); /* VERSION_1 */
	wr(f, 0x70, 1 | 2 | 8);
	for (unsigned int q = 0; q < nq; q++)
		setup_queue(f, q);
	wr(f, 0x70, 1 | 2 | 8 | 4);
}

static void open_disk(struct fx *f, bool readonly)
{
	struct virtio_blk_config cfg = { .path = f->path, .readonly = readonly, .serial = "SERIAL-1", .aio = engine };

	open_disk_cfg(f, &cfg, 1, (1u << 13) | (1u << 14) | (1u << 9));
}

static int setup(void **state)
{
	static struct fx f;
	memset(&f, 0, sizeof(f));
	strcpy(f.path, "/tmp/vmkit-blk-XXXXXX");
	int fd = mkstemp(f.path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, DISK_SECTORS * 512), 0);
	close(fd);
	guest_mem_init(&f.mem);
	assert_int_equal(guest_mem_add(&f.mem, 0, MEM_SIZE), 0);
	f.ram = guest_mem_ptr(&f.mem, 0, MEM_SIZE);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->io_ready)
		iothread_stop(&f->io); /* the loop stops before its handlers go */
	virtio_mmio_destroy(f->m);
	if (f->io_ready)
		iothread_destroy(&f->io);
	guest_mem_free(&f->mem);
	unlink(f->path);
	return 0;
}

static void desc(struct fx *f, unsigned int q, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	uint8_t *d = f->ram + RING(q) + 16 * i;
	put_le64(d, addr);
	put_le32(d + 8, len);
	put_le16(d + 12, flags);
	put_le16(d + 14, next);
}

/*
 * Queue a request (header, optional data, status) in slot k of queue q
 * without kicking. Returns the slot (the head descriptor is 3 * slot).
 */
static unsigned int put_req(struct fx *f, unsigned int q, uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
			    bool data_writable)
{
	unsigned int k = f->next[q]++ % (QSIZE / 3), h = 3 * k;

	put_le32(f->ram + HDR(q, k), type);
	put_le32(f->ram + HDR(q, k) + 4, 0);
	put_le64(f->ram + HDR(q, k) + 8, sector);
	f->ram[STATUS(q, k)] = 0xee;
	desc(f, q, h, HDR(q, k), 16, VIRTQ_DESC_F_NEXT, h + 1);
	if (len) {
		desc(f, q, h + 1, data, len, VIRTQ_DESC_F_NEXT | (data_writable ? VIRTQ_DESC_F_WRITE : 0), h + 2);
		desc(f, q, h + 2, STATUS(q, k), 1, VIRTQ_DESC_F_WRITE, 0);
	} else {
		desc(f, q, h + 1, STATUS(q, k), 1, VIRTQ_DESC_F_WRITE, 0);
	}
	put_le16(f->ram + RING(q) + 0x1000 + 4 + 2 * (f->avail[q] % QSIZE), h);
	f->avail[q]++;
	put_le16(f->ram + RING(q) + 0x1000 + 2, f->avail[q]);
	return k;
}

static void kick(struct fx *f, unsigned int q)
{
	wr(f, 0x50, q);
}

static uint16_t used_idx(struct fx *f, unsigned int q)
{
	return get_le16(f->ram + RING(q) + 0x2000 + 2);
}

/* Kick, wait for the backend, check every request came back. */
static void run(struct fx *f, unsigned int q)
{
	kick(f, q);
	/* On a loop nothing but the loop's thread completes them until a drain: wait for it first. */
	WAIT_FOR(used_idx(f, q) == f->avail[q]);
	virtio_blk_drain(f->b);
	assert_int_equal(used_idx(f, q), f->avail[q]);
}

/* One request on queue 0: status byte, and the used length in *used. */
static uint8_t request(struct fx *f, uint32_t type, uint64_t sector, uint32_t len, bool data_writable, uint32_t *used)
{
	unsigned int k = put_req(f, 0, type, sector, DATA, len, data_writable);

	run(f, 0);
	if (used)
		*used = get_le32(f->ram + RING(0) + 0x2000 + 4 + 8 * ((f->avail[0] - 1) % QSIZE) + 4);
	return f->ram[STATUS(0, k)];
}

/* A write of len bytes from guest address data on queue 0: the status byte. */
static uint8_t request_at(struct fx *f, uint32_t type, uint64_t sector, uint64_t data, uint32_t len)
{
	unsigned int k = put_req(f, 0, type, sector, data, len, false);

	run(f, 0);
	return f->ram[STATUS(0, k)];
}

/* A discard / write-zeroes request with a segment list of n entries (16 bytes each) at DATA. */
static uint8_t range_request(struct fx *f, uint32_t type, const uint64_t *sector, const uint32_t *nsec,
			     const uint32_t *flags, unsigned int n, uint32_t payload_len)
{
	for (unsigned int i = 0; i < n; i++) {
		put_le64(f->ram + DATA + 16 * i, sector[i]);
		put_le32(f->ram + DATA + 16 * i + 8, nsec[i]);
		put_le32(f->ram + DATA + 16 * i + 12, flags[i]);
	}
	return request(f, type, 0, payload_len ? payload_len : 16 * n, false, NULL);
}

static void fill_file(struct fx *f, uint8_t byte)
{
	static uint8_t buf[DISK_SECTORS * 512];
	int fd = open(f->path, O_WRONLY);

	memset(buf, byte, sizeof(buf));
	assert_int_equal(pwrite(fd, buf, sizeof(buf), 0), sizeof(buf));
	assert_int_equal(fsync(fd), 0);
	close(fd);
}

static uint64_t file_blocks(struct fx *f)
{
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	return (uint64_t)st.st_blocks;
}

static bool file_range_is(struct fx *f, uint64_t off, uint64_t len, uint8_t byte)
{
	uint8_t *buf = malloc(len);
	int fd = open(f->path, O_RDONLY);
	bool ok = pread(fd, buf, len, (off_t)off) == (ssize_t)len;

	for (uint64_t i = 0; ok && i < len; i++)
		ok = buf[i] == byte;
	close(fd);
	free(buf);
	return ok;
}

static void test_read_write_flush_id(void **state)
{
	struct fx *f = *state;
	uint32_t used;

	open_disk(f, false);
	assert_int_equal(rd(f, 0x008), 2);
	uint8_t cap[8];
	virtio_mmio_io(f->m, 0x100, cap, 8, false);
	assert_int_equal(get_le64(cap), DISK_SECTORS);
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
	assert_true(file_range_is(f, 10 * 512, 1024, 0x5a));
	struct virtio_blk_stats s;
	virtio_blk_get_stats(f->b, &s);
	assert_int_equal(s.requests, 5);
	assert_int_equal(s.errors, 1);
	assert_int_equal(s.bad, 0);
}

static void test_config_and_features(void **state)
{
	struct fx *f = *state;

	open_disk(f, false);
	wr(f, 0x14, 0);
	uint32_t feat = rd(f, 0x10);
	/* SIZE_MAX, SEG_MAX, BLK_SIZE, FLUSH, DISCARD, WRITE_ZEROES; no MQ with one queue, no RO */
	assert_int_equal(feat & ((1u << 1) | (1u << 2) | (1u << 6) | (1u << 9) | (1u << 13) | (1u << 14)),
			 (1u << 1) | (1u << 2) | (1u << 6) | (1u << 9) | (1u << 13) | (1u << 14));
	assert_false(feat & (1u << 12));
	assert_false(feat & (1u << 5));
	assert_int_equal(cfg32(f, 12), 254);      /* seg_max */
	assert_int_equal(cfg32(f, 20), 512);      /* blk_size */
	assert_int_equal(cfg32(f, 40), 16);       /* max_discard_seg */
	assert_int_equal(cfg32(f, 44), 8);        /* discard_sector_alignment */
	assert_int_equal(cfg32(f, 52), 16);       /* max_write_zeroes_seg */
	assert_true(cfg32(f, 36) >= 8);           /* max_discard_sectors */
	assert_int_equal(cfg32(f, 56) & 0xff, 1); /* write_zeroes_may_unmap */
}

static void test_out_of_range_and_malformed(void **state)
{
	struct fx *f = *state;
	struct virtio_blk_stats s;

	open_disk(f, false);
	assert_int_equal(request(f, 0, DISK_SECTORS, 512, true, NULL), 1);     /* past the end */
	assert_int_equal(request(f, 0, DISK_SECTORS - 1, 1024, true, NULL), 1); /* straddles the end */
	assert_int_equal(request(f, 0, UINT64_MAX / 2, 512, true, NULL), 1);   /* overflowing sector */
	assert_int_equal(request(f, 1, UINT64_MAX, 512, false, NULL), 1);
	assert_int_equal(request(f, 0, 0, 100, true, NULL), 1);                /* not whole sectors */
	assert_int_equal(request(f, 0, 0, 2u << 20, true, NULL), 1);           /* segment above size_max */
	/* a header shorter than 16 bytes */
	unsigned int k = put_req(f, 0, 0, 0, DATA, 512, true);
	put_le32(f->ram + RING(0) + 16 * (3 * k) + 8, 8);
	run(f, 0);
	assert_int_equal(f->ram[STATUS(0, k)], 1);
	virtio_blk_get_stats(f->b, &s);
	assert_int_equal(s.bad, 7);
	assert_int_equal(s.errors, 7);
	/* a descriptor outside guest RAM: the device needs a reset */
	k = put_req(f, 0, 0, 0, DATA, 512, true);
	desc(f, 0, 3 * k, 0x7fff00000000ULL, 16, VIRTQ_DESC_F_NEXT, 3 * k + 1);
	kick(f, 0);
	WAIT_FOR(rd(f, 0x70) & 64);
	virtio_blk_drain(f->b);
	assert_true(rd(f, 0x70) & 64);
}

static void test_discard_and_write_zeroes(void **state)
{
	struct fx *f = *state;
	uint64_t full, sec[2];
	uint32_t n[2], fl[2] = { 0, 0 };
	off_t hole;
	int fd;

	fill_file(f, 0x77);
	open_disk(f, false);
	full = file_blocks(f);
	assert_true(full >= DISK_SECTORS);
	/* discard 1 MiB at 1 MiB and 256 KiB at 3 MiB in one request (two segments) */
	sec[0] = 2048;
	n[0] = 2048;
	sec[1] = 6144;
	n[1] = 512;
	assert_int_equal(range_request(f, 11, sec, n, fl, 2, 0), 0);
	assert_true(file_blocks(f) <= full - 2048 - 512 + 64);
	fd = open(f->path, O_RDONLY);
	hole = lseek(fd, 0, SEEK_HOLE);
	close(fd);
	assert_int_equal(hole, 2048 * 512);
	assert_true(file_range_is(f, 2048 * 512, 1 << 20, 0));
	assert_true(file_range_is(f, 0, 2048 * 512, 0x77));

	/* write zeroes without UNMAP: zeros, still allocated */
	uint64_t before = file_blocks(f);
	sec[0] = 0;
	n[0] = 256;
	assert_int_equal(range_request(f, 13, sec, n, fl, 1, 0), 0);
	assert_true(file_range_is(f, 0, 256 * 512, 0));
	assert_true(file_range_is(f, 256 * 512, 512, 0x77));
	assert_true(file_blocks(f) >= before);

	/* write zeroes with UNMAP: zeros and a hole */
	before = file_blocks(f);
	sec[0] = 4096;
	n[0] = 1024;
	fl[0] = 1;
	assert_int_equal(range_request(f, 13, sec, n, fl, 1, 0), 0);
	assert_true(file_range_is(f, 4096 * 512, 1024 * 512, 0));
	assert_true(file_blocks(f) <= before - 1024 + 64); /* the file system may add an extent block */
	fd = open(f->path, O_RDONLY);
	hole = lseek(fd, 4096 * 512, SEEK_HOLE);
	close(fd);
	assert_int_equal(hole, 4096 * 512);
	/* reads through the device see zeros */
	memset(f->ram + DATA, 0xff, 4096);
	assert_int_equal(request(f, 0, 4096, 4096, true, NULL), 0);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(f->ram[DATA + i], 0);
}

static void test_malformed_ranges(void **state)
{
	struct fx *f = *state;
	uint64_t sec[17] = { 0 };
	uint32_t n[17], fl[17] = { 0 };
	struct virtio_blk_stats s;

	fill_file(f, 0x33);
	open_disk(f, false);
	for (int i = 0; i < 17; i++)
		n[i] = 8;
	/* a partial segment */
	assert_int_equal(range_request(f, 11, sec, n, fl, 1, 24), 1);
	/* no segment at all */
	assert_int_equal(request(f, 11, 0, 0, false, NULL), 1);
	/* more than max_discard_seg segments */
	assert_int_equal(range_request(f, 11, sec, n, fl, 17, 0), 1);
	/* UNMAP on a discard, reserved flags */
	fl[0] = 1;
	assert_int_equal(range_request(f, 11, sec, n, fl, 1, 0), 2);
	fl[0] = 2;
	assert_int_equal(range_request(f, 13, sec, n, fl, 1, 0), 2);
	fl[0] = 0;
	/* outside the image, overflowing, above max_*_sectors */
	sec[0] = DISK_SECTORS - 4;
	assert_int_equal(range_request(f, 11, sec, n, fl, 1, 0), 1);
	sec[0] = UINT64_MAX - 2;
	assert_int_equal(range_request(f, 13, sec, n, fl, 1, 0), 1);
	sec[0] = 0;
	n[0] = 0xffffffffu;
	assert_int_equal(range_request(f, 13, sec, n, fl, 1, 0), 1);
	/* a bad second segment fails the whole request: nothing was discarded */
	n[0] = 8;
	sec[1] = DISK_SECTORS;
	assert_int_equal(range_request(f, 11, sec, n, fl, 2, 0), 1);
	assert_true(file_range_is(f, 0, 4096, 0x33));
	virtio_blk_get_stats(f->b, &s);
	assert_int_equal(s.bad, 9);
	assert_int_equal(s.errors, 9);
}

/* Fill the ring with writes of distinct data, then read it all back, each in one kick. */
static void test_many_in_flight(void **state)
{
	struct fx *f = *state;
	unsigned int k[21];
	bool seen[QSIZE] = { false };

	open_disk(f, false);
	for (int i = 0; i < 21; i++) {
		memset(f->ram + DATA + 0x10000 * i, 0x10 + i, 0x10000);
		k[i] = put_req(f, 0, 1, 128 * i, DATA + 0x10000 * i, 0x10000, false);
	}
	run(f, 0);
	/* every head comes back exactly once, in whatever order the backend finished */
	for (int i = 0; i < 21; i++) {
		uint32_t id = get_le32(f->ram + RING(0) + 0x2000 + 4 + 8 * i);
		assert_true(id < QSIZE && id % 3 == 0);
		assert_false(seen[id]);
		seen[id] = true;
		assert_int_equal(f->ram[STATUS(0, k[i])], 0);
	}
	/* a flush after those writes completed, then read everything back */
	assert_int_equal(request(f, 4, 0, 0, false, NULL), 0);
	f->next[0] = 0;
	memset(f->ram + DATA, 0, 0x10000 * 21);
	for (int i = 0; i < 21; i++)
		k[i] = put_req(f, 0, 0, 128 * i, DATA + 0x10000 * i, 0x10000, true);
	run(f, 0);
	for (int i = 0; i < 21; i++) {
		assert_int_equal(f->ram[STATUS(0, k[i])], 0);
		assert_int_equal(f->ram[DATA + 0x10000 * i], 0x10 + i);
		assert_int_equal(f->ram[DATA + 0x10000 * i + 0xffff], 0x10 + i);
		assert_true(file_range_is(f, 128 * 512 * i, 0x10000, 0x10 + i));
	}
}

struct kicker {
	struct fx *f;
	unsigned int q;
};

static void *kicker_main(void *arg)
{
	struct kicker *kk = arg;

	for (int i = 0; i < 200; i++)
		kick(kk->f, kk->q);
	return NULL;
}

static void test_multiqueue(void **state)
{
	struct fx *f = *state;
	struct virtio_blk_config cfg = { .path = f->path, .num_queues = 4, .aio = engine };
	pthread_t t[4];
	struct kicker kk[4];

	open_disk_cfg(f, &cfg, 4, 1u << 12);
	wr(f, 0x14, 0);
	assert_true(rd(f, 0x10) & (1u << 12)); /* VIRTIO_BLK_F_MQ */
	uint8_t nq[2];
	virtio_mmio_io(f->m, 0x100 + 34, nq, 2, false);
	assert_int_equal(get_le16(nq), 4);
	/* each queue writes its own region, all kicked at once from four threads */
	for (unsigned int q = 0; q < 4; q++) {
		for (int i = 0; i < 16; i++) {
			uint64_t data = DATA + 0x40000 * q + 0x4000 * i;
			memset(f->ram + data, 0x40 + 16 * q + i, 0x4000);
			put_req(f, q, 1, 512 * q + 32 * i, data, 0x4000, false);
		}
		kk[q].f = f;
		kk[q].q = q;
	}
	for (unsigned int q = 0; q < 4; q++)
		assert_int_equal(pthread_create(&t[q], NULL, kicker_main, &kk[q]), 0);
	for (unsigned int q = 0; q < 4; q++)
		pthread_join(t[q], NULL);
	WAIT_FOR(used_idx(f, 0) == 16 && used_idx(f, 1) == 16 && used_idx(f, 2) == 16 && used_idx(f, 3) == 16);
	virtio_blk_drain(f->b);
	for (unsigned int q = 0; q < 4; q++) {
		assert_int_equal(used_idx(f, q), 16);
		for (int i = 0; i < 16; i++) {
			assert_int_equal(f->ram[STATUS(q, i)], 0);
			assert_true(file_range_is(f, (512 * q + 32 * i) * 512, 0x4000, 0x40 + 16 * q + i));
		}
	}
	/* a kick on a queue the device does not have is ignored */
	kick(f, 5);
	assert_false(rd(f, 0x70) & 64);
}

static void test_reset_with_requests_in_flight(void **state)
{
	struct fx *f = *state;

	open_disk(f, false);
	for (int i = 0; i < 21; i++)
		put_req(f, 0, i % 2, 128 * i, DATA + 0x10000 * i, 0x10000, i % 2 == 0);
	kick(f, 0);
	wr(f, 0x70, 0); /* waits for the requests in flight, then forgets the queues */
	assert_int_equal(rd(f, 0x70), 0);
	/* the device works again after re-initialization */
	memset(f->ram + RING(0), 0, 0x3000);
	init_device(f, 1, 0);
	memset(f->ram + DATA, 0x99, 512);
	assert_int_equal(request(f, 1, 0, 512, false, NULL), 0);
	assert_true(file_range_is(f, 0, 512, 0x99));
}

static void test_readonly_and_lock(void **state)
{
	struct fx *f = *state;
	char err[256];

	open_disk(f, true);
	wr(f, 0x14, 0);
	uint32_t feat = rd(f, 0x10);
	assert_true(feat & (1u << 5));                   /* VIRTIO_BLK_F_RO offered */
	assert_false(feat & ((1u << 13) | (1u << 14)));  /* no discard/write-zeroes */
	assert_int_equal(request(f, 1, 0, 512, false, NULL), 1);
	assert_int_equal(request(f, 0, 0, 512, true, NULL), 0);
	uint64_t sec = 0;
	uint32_t n = 8, fl = 0;
	assert_int_equal(range_request(f, 11, &sec, &n, &fl, 1, 0), 1);
	assert_int_equal(request(f, 4, 0, 0, false, NULL), 0);
	/* a writer is refused while a reader holds the image, and vice versa */
	assert_null(virtio_blk_open(f->path, false, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "in use"));
	assert_null(virtio_blk_open("/nonexistent/disk.img", false, NULL, err, sizeof(err)));
	assert_null(virtio_blk_open("/tmp", false, NULL, err, sizeof(err)));
}

/* cache=none: O_DIRECT, with misaligned guest buffers redone through the page cache. */
static void test_direct(void **state)
{
	struct fx *f = *state;
	struct virtio_blk_config cfg = { .path = f->path, .direct = true, .aio = engine };
	char err[256];
	struct virtio_blk *probe = virtio_blk_create(&cfg, err, sizeof(err));

	if (!probe) {
		assert_non_null(strstr(err, "O_DIRECT")); /* e.g. tmpfs before Linux 6.6 */
		skip();
	}
	{
		struct irq_line irq = { .set = irq_set };
		f->b = probe;
		f->m = virtio_mmio_create(virtio_blk_dev_ops(f->b), f->b, &f->mem, &irq);
		init_device(f, 1, 0);
	}
	memset(f->ram + DATA, 0xab, 8192);
	assert_int_equal(request(f, 1, 16, 8192, false, NULL), 0);         /* aligned */
	memset(f->ram + DATA + 0x10001, 0xcd, 1024);
	assert_int_equal(request_at(f, 1, 40, DATA + 0x10001, 1024), 0);  /* misaligned */
	assert_true(file_range_is(f, 16 * 512, 8192, 0xab));
	assert_true(file_range_is(f, 40 * 512, 1024, 0xcd));
	memset(f->ram + DATA + 0x20003, 0, 8192);
	unsigned int k = put_req(f, 0, 0, 16, DATA + 0x20003, 8192, true);
	run(f, 0);
	assert_int_equal(f->ram[STATUS(0, k)], 0);
	assert_int_equal(f->ram[DATA + 0x20003], 0xab);
	assert_int_equal(f->ram[DATA + 0x20003 + 8191], 0xab);
}

/* VMKIT_DISK_AIO=threads picks the thread pool when nothing else was asked for. */
static void test_env_forces_threads(void **state)
{
	struct fx *f = *state;
	struct virtio_blk_config cfg = { .path = f->path };
	char err[256];
	struct virtio_blk *b;

	setenv("VMKIT_DISK_AIO", "threads", 1);
	b = virtio_blk_create(&cfg, err, sizeof(err));
	unsetenv("VMKIT_DISK_AIO");
	assert_non_null(b);
	assert_string_equal(virtio_blk_engine(b), "threads");
	virtio_blk_ops.destroy(b);
}

static unsigned int nr_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	unsigned int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n - 2; /* . and .. */
}

/*
 * On a loop, io_uring completions are reaped on the loop's thread: the disk
 * starts no completion thread (whose wake-up per completion batch was the
 * cost), and requests still complete, here with nobody draining.
 */
static void test_loop_reaps_without_a_thread(void **state)
{
	struct fx *f = *state;
	struct virtio_blk_config cfg = { .path = f->path, .aio = engine };
	unsigned int before;

	assert_int_equal(iothread_init(&f->io), 0);
	f->io_ready = true;
	cfg.loop = &f->io.loop;
	before = nr_threads();
	f->b = virtio_blk_create(&cfg, err_buf, sizeof(err_buf));
	assert_non_null(f->b);
	assert_int_equal(nr_threads(), before);
	{
		struct irq_line irq = { .set = irq_set };
		f->m = virtio_mmio_create(virtio_blk_dev_ops(f->b), f->b, &f->mem, &irq);
	}
	assert_int_equal(virtio_mmio_attach_notify(f->m, &f->io.loop, NULL, 0), 0);
	assert_int_equal(iothread_start(&f->io, "blk-test-io"), 0);
	init_device(f, 1, 0);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 16; i++) {
			memset(f->ram + DATA + 0x1000 * i, 0x20 + 16 * round + i, 0x1000);
			put_req(f, 0, 1, 8 * i, DATA + 0x1000 * i, 0x1000, false);
		}
		kick(f, 0);
		WAIT_FOR(used_idx(f, 0) == f->avail[0]);
		assert_int_equal(used_idx(f, 0), f->avail[0]);
		for (int i = 0; i < 16; i++)
			assert_true(file_range_is(f, 8 * 512 * i, 0x1000, 0x20 + 16 * round + i));
	}
}

/*
 * Polling (poll_us): once the loop has served a kick it keeps looking at the
 * queue for a while, with the driver's kicks suppressed (EVENT_IDX: the
 * avail_event it reads stays behind), and asks for kicks again before it
 * sleeps. A driver that kicks only when asked (s2.7.10, as Linux does) then
 * has every request served, and kicks for few of them when it adds them in
 * quick succession; without polling it kicks for nearly every one.
 */
static unsigned int driver_kicks(struct fx *f, unsigned int poll_us)
{
	struct virtio_blk_config cfg = { .path = f->path, .aio = engine, .poll_us = poll_us };
	const uint8_t *avail_event = f->ram + RING(0) + 0x2000 + 4 + 8 * QSIZE;
	unsigned int kicks = 0;

	on_loop = true;
	open_disk_cfg(f, &cfg, 1, 1u << 29 /* EVENT_IDX */);
	on_loop = false;
	for (int i = 0; i < 40; i++) {
		uint16_t old = f->avail[0], event;

		put_req(f, 0, 1, 8 * (i % 16), DATA, 0x1000, false);
		__atomic_thread_fence(__ATOMIC_SEQ_CST); /* publish avail idx, then read the event (s2.7.13) */
		event = get_le16(avail_event);
		if ((uint16_t)(f->avail[0] - event - 1) < (uint16_t)(f->avail[0] - old)) {
			kick(f, 0);
			kicks++;
		}
		WAIT_FOR(used_idx(f, 0) == f->avail[0]);
		assert_int_equal(used_idx(f, 0), f->avail[0]); /* never a request left waiting for a kick */
	}
	return kicks;
}

static void test_poll_suppresses_kicks(void **state)
{
	unsigned int kicks = driver_kicks(*state, 10000);

	assert_in_range(kicks, 1, 20);
}

/* The control: without polling nearly every request needs a kick (a few are popped while still draining). */
static void test_no_poll_nearly_every_request_kicks(void **state)
{
	assert_in_range(driver_kicks(*state, 0), 25, 40);
}

/*
 * A polling loop defers the interrupt for completions while the guest keeps
 * adding requests, so one interrupt covers a burst. It must never withhold
 * one for good: a driver that, like Linux's, asks for an interrupt after the
 * last completion it has seen (used_event, s2.7.10) and waits for it before
 * looking at the used ring gets every completion, burst after burst. A lost
 * interrupt shows as a wait that times out.
 */
static void test_polling_withholds_no_interrupt(void **state)
{
	struct fx *f = *state;
	struct virtio_blk_config cfg = { .path = f->path, .aio = DISK_AIO_IO_URING, .poll_us = 2000 };
	uint8_t *avail_used_event = f->ram + RING(0) + 0x1000 + 4 + 2 * QSIZE;
	const uint8_t *avail_event = f->ram + RING(0) + 0x2000 + 4 + 8 * QSIZE;
	unsigned int interrupts = 0, requests = 0;
	uint16_t seen = 0;

	/* io_uring: its completions are reaped on the loop's thread, where interrupts are deferred. */
	enum disk_aio group_engine = engine;

	engine = DISK_AIO_IO_URING;
	on_loop = true;
	open_disk_cfg(f, &cfg, 1, 1u << 29 /* EVENT_IDX */);
	on_loop = false;
	__atomic_store_n(&irq_level, 0, __ATOMIC_SEQ_CST);
	for (int burst = 0; burst < 60; burst++) {
		unsigned int n = 1 + (unsigned int)burst % 8;

		put_le16(avail_used_event, seen); /* interrupt me once the next one is used */
		for (unsigned int i = 0; i < n; i++, requests++) {
			uint16_t old = f->avail[0], event;

			put_req(f, 0, 1, 8 * (requests % 16), DATA, 0x1000, false);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			event = get_le16(avail_event);
			if ((uint16_t)(f->avail[0] - event - 1) < (uint16_t)(f->avail[0] - old))
				kick(f, 0);
			if (burst % 3 == 0)
				usleep(50); /* some bursts are slower than the loop's passes */
		}
		/* The interrupt handler: acknowledge, take what is used, ask again, look again (s2.7.10). */
		while (seen != f->avail[0]) {
			WAIT_FOR(__atomic_load_n(&irq_level, __ATOMIC_SEQ_CST));
			if (!__atomic_load_n(&irq_level, __ATOMIC_SEQ_CST))
				fail_msg("burst %d: %u of %u requests used and no interrupt for 10 s", burst,
					 (unsigned int)(uint16_t)(used_idx(f, 0) - seen), n);
			interrupts++;
			wr(f, 0x64, rd(f, 0x60)); /* InterruptACK */
			do {
				seen = used_idx(f, 0);
				put_le16(avail_used_event, seen);
				__atomic_thread_fence(__ATOMIC_SEQ_CST);
			} while (seen != used_idx(f, 0));
		}
	}
	assert_true(interrupts >= 1 && interrupts <= requests);
	engine = group_engine;
}

static int use_uring(void **state)
{
	engine = DISK_AIO_IO_URING;
	on_loop = false;
	return 0;
}

static int use_uring_loop(void **state)
{
	engine = DISK_AIO_IO_URING;
	on_loop = true;
	loop_poll_us = 0;
	return 0;
}

static int use_uring_polling_loop(void **state)
{
	engine = DISK_AIO_IO_URING;
	on_loop = true;
	loop_poll_us = 200;
	return 0;
}

static int use_threads(void **state)
{
	engine = DISK_AIO_THREADS;
	on_loop = false;
	return 0;
}

#define TESTS                                                                                \
	cmocka_unit_test_setup_teardown(test_read_write_flush_id, setup, teardown),            \
	cmocka_unit_test_setup_teardown(test_config_and_features, setup, teardown),        \
	cmocka_unit_test_setup_teardown(test_out_of_range_and_malformed, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_discard_and_write_zeroes, setup, teardown),   \
	cmocka_unit_test_setup_teardown(test_malformed_ranges, setup, teardown),           \
	cmocka_unit_test_setup_teardown(test_many_in_flight, setup, teardown),             \
	cmocka_unit_test_setup_teardown(test_multiqueue, setup, teardown),                 \
	cmocka_unit_test_setup_teardown(test_reset_with_requests_in_flight, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_readonly_and_lock, setup, teardown),         \
	cmocka_unit_test_setup_teardown(test_direct, setup, teardown),                     \
	cmocka_unit_test_setup_teardown(test_env_forces_threads, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = { TESTS };
	int r = 0;

#ifdef VMKIT_HAVE_LIBURING
	r |= cmocka_run_group_tests_name("virtio_blk io_uring", tests, use_uring, NULL);
	{
		const struct CMUnitTest loop_tests[] = {
			TESTS,
			cmocka_unit_test_setup_teardown(test_loop_reaps_without_a_thread, setup, teardown),
		};

		r |= cmocka_run_group_tests_name("virtio_blk io_uring on an I/O loop", loop_tests, use_uring_loop, NULL);
		r |= cmocka_run_group_tests_name("virtio_blk io_uring on a polling I/O loop", tests, use_uring_polling_loop,
						 NULL);
	}
	{
		const struct CMUnitTest poll_tests[] = {
			cmocka_unit_test_setup_teardown(test_poll_suppresses_kicks, setup, teardown),
			cmocka_unit_test_setup_teardown(test_no_poll_nearly_every_request_kicks, setup, teardown),
			cmocka_unit_test_setup_teardown(test_polling_withholds_no_interrupt, setup, teardown),
		};

		r |= cmocka_run_group_tests_name("virtio_blk polling", poll_tests, use_threads, NULL);
	}
#endif
	r |= cmocka_run_group_tests_name("virtio_blk threads", tests, use_threads, NULL);
	return r;
}
