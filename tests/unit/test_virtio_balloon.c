// SPDX-License-Identifier: MIT
/*
 * virtio-balloon through virtio-mmio with fake guest memory: inflate gives
 * pages back (they read as zero afterwards), PFN validation, deflate
 * accounting, the statistics buffer protocol, free page reporting and its
 * queue numbering, the host target and its config interrupt, the control file.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fakes.h"
#include "vmkit/virtio_balloon.h"
#include "vq_driver.h"

#define MEM (16 << 20)
#define PFNS 0x200000
#define F_STATS (1ULL << 1)
#define F_OOM (1ULL << 2)
#define F_REPORTING (1ULL << 5)

struct fx {
	struct guest_mem mem;
	struct fake_irq irq;
	struct vqd d;
	struct virtio_balloon *b;
	char control[64];
};

static struct fx *make(void **state, bool reporting, const char *control)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct virtio_balloon_params p = { .control = control, .reporting = reporting };
	struct irq_line line = fake_irq_line(&f->irq);

	guest_mem_init(&f->mem);
	assert_int_equal(guest_mem_add(&f->mem, 0, MEM), 0);
	f->d.ram = guest_mem_ptr(&f->mem, 0, MEM);
	f->b = virtio_balloon_create(&p, MEM);
	assert_non_null(f->b);
	f->d.m = virtio_mmio_create(&virtio_balloon_ops, f->b, &f->mem, &line);
	assert_non_null(f->d.m);
	*state = f;
	return f;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f) {
		virtio_mmio_destroy(f->d.m);
		guest_mem_free(&f->mem);
		if (f->control[0]) {
			char st[80];
			snprintf(st, sizeof(st), "%s.status", f->control);
			unlink(f->control);
			unlink(st);
		}
		free(f);
	}
	return 0;
}

static struct virtio_balloon_info info(struct fx *f)
{
	struct virtio_balloon_info i;
	virtio_balloon_get_info(f->b, &i);
	return i;
}

/* Post an array of PFNs on queue q and kick. */
static void send_pfns(struct fx *f, unsigned int q, const uint32_t *pfns, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		put_le32(f->d.ram + PFNS + 4 * i, pfns[i]);
	struct vqd_seg s = { PFNS, 4 * n, false };
	vqd_add(&f->d, q, &s, 1);
	vqd_kick(&f->d, q);
}

static void test_features_target_config_irq(void **state)
{
	struct fx *f = make(state, false, NULL);
	uint64_t feat = vqd_device_features(&f->d);

	assert_true(feat & F_STATS);
	assert_false(feat & F_REPORTING);
	assert_false(feat & F_OOM);
	assert_int_equal(vqd_rd(&f->d, 0x008), 5); /* device id */
	assert_int_equal(vqd_start(&f->d, 3, F_STATS) & 0xf, 0xf);
	assert_int_equal(vqd_rd(&f->d, 0x100), 0);
	uint32_t gen = vqd_rd(&f->d, 0xfc);
	int raises = f->irq.raises;
	virtio_balloon_set_target(f->b, 1000);
	assert_int_equal(vqd_rd(&f->d, 0x100), 1000);
	assert_int_not_equal(vqd_rd(&f->d, 0xfc), gen);
	assert_int_equal(f->irq.raises, raises + 1);
	assert_int_equal(vqd_rd(&f->d, 0x60) & 2, 2); /* InterruptStatus: configuration change */
	/* the target is clamped to guest RAM */
	virtio_balloon_set_target(f->b, 1ULL << 40);
	assert_int_equal(vqd_rd(&f->d, 0x100), MEM / 4096);
	/* the driver writes actual; num_pages is read-only for it */
	vqd_wr(&f->d, 0x104, 77);
	vqd_wr(&f->d, 0x100, 5);
	assert_int_equal(info(f).actual_pages, 77);
	assert_int_equal(vqd_rd(&f->d, 0x100), MEM / 4096);
}

static void test_inflate_discards_and_validates(void **state)
{
	struct fx *f = make(state, false, NULL);
	uint32_t pfns[20];

	vqd_start(&f->d, 3, F_STATS);
	memset(f->d.ram + 0x300000, 0xaa, 16 * 4096);
	for (int i = 0; i < 16; i++)
		pfns[i] = 0x300 + (i < 8 ? i : 23 - i); /* two runs, the second descending */
	pfns[16] = MEM / 4096; /* just past RAM */
	pfns[17] = 0xffffffff;
	pfns[18] = 0x300; /* again: still valid */
	send_pfns(f, 0, pfns, 19);
	uint32_t len;
	assert_true(vqd_get_used(&f->d, 0, NULL, &len));
	assert_int_equal(len, 0);
	struct virtio_balloon_info i = info(f);
	assert_int_equal(i.inflated_pages, 17);
	assert_int_equal(i.invalid_pfns, 2);
	assert_int_equal(i.discard_errors, 0);
	/* the host pages are gone: the guest reads zeroes */
	for (int p = 0; p < 16; p++)
		assert_int_equal(f->d.ram[0x300000 + p * 4096 + 123], 0);

	/* deflate: accounting only */
	memset(f->d.ram + 0x300000, 0x55, 4096);
	send_pfns(f, 1, pfns, 8);
	assert_true(vqd_get_used(&f->d, 1, NULL, NULL));
	i = info(f);
	assert_int_equal(i.deflated_pages, 8);
	assert_int_equal(i.balloon_pages, 9);
	assert_int_equal(f->d.ram[0x300000], 0x55);

	/* a trailing partial PFN is ignored; an empty buffer is fine */
	struct vqd_seg s = { PFNS, 3, false };
	vqd_add(&f->d, 0, &s, 1);
	vqd_kick(&f->d, 0);
	assert_true(vqd_get_used(&f->d, 0, NULL, NULL));
	assert_int_equal(info(f).inflated_pages, 17);
	assert_int_equal(vqd_rd(&f->d, 0x70) & 64, 0);

	/* a descriptor outside RAM: the device needs a reset, the VMM carries on */
	struct vqd_seg bad = { MEM - 4, 8, false };
	vqd_add(&f->d, 0, &bad, 1);
	vqd_kick(&f->d, 0);
	assert_int_equal(vqd_rd(&f->d, 0x70) & 64, 64);

	/* a reset gives the guest all of its memory back */
	vqd_wr(&f->d, 0x70, 0);
	assert_int_equal(info(f).balloon_pages, 0);
}

static void put_stat(uint8_t *p, uint16_t tag, uint64_t val)
{
	put_le16(p, tag);
	put_le64(p + 2, val);
}

static void test_stats_protocol(void **state)
{
	struct fx *f = make(state, false, NULL);
	uint8_t *st = f->d.ram + 0x200000;

	virtio_balloon_request_stats(f->b); /* nothing held yet: no-op */
	put_stat(st, 4, 1000);
	put_stat(st + 10, 5, 2000);
	put_stat(st + 20, 99, 7); /* unknown tag: ignored */
	put_stat(st + 30, 6, 1500);
	struct vqd_seg s[2] = { { 0x200000, 20, false }, { 0x200000 + 20, 25, false } }; /* split mid-entry, 5 stray bytes */
	/*
	 * Like Linux: queues set up, the first buffer posted and kicked before
	 * DRIVER_OK (the transport drops that kick); the device takes it at DRIVER_OK.
	 */
	vqd_wr(&f->d, 0x70, 0);
	vqd_wr(&f->d, 0x70, 1 | 2);
	vqd_wr(&f->d, 0x20, (uint32_t)F_STATS);
	vqd_wr(&f->d, 0x24, 1);
	vqd_wr(&f->d, 0x20, 1);
	vqd_wr(&f->d, 0x70, 1 | 2 | 8);
	for (unsigned int q = 0; q < 3; q++) {
		memset(f->d.ram + vqd_desc(q), 0, 0x3000);
		vqd_wr(&f->d, 0x30, q);
		vqd_wr(&f->d, 0x38, VQD_QSIZE);
		vqd_wr(&f->d, 0x80, (uint32_t)vqd_desc(q));
		vqd_wr(&f->d, 0x90, (uint32_t)vqd_avail(q));
		vqd_wr(&f->d, 0xa0, (uint32_t)vqd_usedr(q));
		vqd_wr(&f->d, 0x44, 1);
	}
	vqd_add(&f->d, 2, s, 2);
	vqd_kick(&f->d, 2);
	assert_int_equal(info(f).stats_updates, 0);
	vqd_wr(&f->d, 0x70, 1 | 2 | 8 | 4);
	/* the device keeps the buffer until it wants new statistics */
	assert_false(vqd_get_used(&f->d, 2, NULL, NULL));
	struct virtio_balloon_info i = info(f);
	assert_int_equal(i.stats_updates, 1);
	assert_int_equal(i.stats[4], 1000);
	assert_int_equal(i.stats[5], 2000);
	assert_int_equal(i.stats[6], 1500);
	assert_int_equal(i.stats_valid, (1u << 4) | (1u << 5) | (1u << 6));

	vqd_wr(&f->d, 0x64, 3); /* InterruptACK: the line drops */
	fake_irq_clear(&f->irq);
	assert_int_equal(f->irq.level, 0);
	virtio_balloon_request_stats(f->b);
	assert_true(vqd_get_used(&f->d, 2, NULL, NULL));
	assert_true(f->irq.raises >= 1);
	virtio_balloon_request_stats(f->b); /* nothing held now */
	assert_false(vqd_get_used(&f->d, 2, NULL, NULL));

	put_stat(st, 4, 500);
	vqd_add(&f->d, 2, s, 1);
	vqd_kick(&f->d, 2);
	i = info(f);
	assert_int_equal(i.stats_updates, 2);
	assert_int_equal(i.stats[4], 500);
	/* two buffers in a row: the older one is returned at once */
	vqd_add(&f->d, 2, s, 1);
	vqd_kick(&f->d, 2);
	assert_true(vqd_get_used(&f->d, 2, NULL, NULL));
	assert_int_equal(info(f).stats_updates, 3);
}

static void report_and_check(struct fx *f, unsigned int q)
{
	memset(f->d.ram + 0x400000, 0xcc, 0x200000);
	/* a range with ragged ends: only whole pages inside it are discarded */
	struct vqd_seg s[2] = { { 0x400000, 0x100000, true }, { 0x500000 + 100, 0x100000 - 100, true } };
	vqd_add(&f->d, q, s, 2);
	vqd_kick(&f->d, q);
	assert_true(vqd_get_used(&f->d, q, NULL, NULL));
	assert_int_equal(f->d.ram[0x400000], 0);
	assert_int_equal(f->d.ram[0x4fffff], 0);
	assert_int_equal(f->d.ram[0x500000], 0xcc); /* partial first page kept */
	assert_int_equal(f->d.ram[0x501000], 0);
}

static void test_free_page_reporting(void **state)
{
	struct fx *f = make(state, true, NULL);

	assert_true(vqd_device_features(&f->d) & F_REPORTING);
	/* with statistics: inflate, deflate, stats, reporting = queue 3 */
	vqd_start(&f->d, 4, F_STATS | F_REPORTING);
	report_and_check(f, 3);
	assert_int_equal(info(f).reported_bytes, 0x100000 + 0x100000 - 0x1000);
	/* without statistics the reporting queue is queue 2 */
	vqd_start(&f->d, 3, F_REPORTING);
	report_and_check(f, 2);
	assert_int_equal(info(f).stats_updates, 0);
}

static void test_deflate_on_oom_offered(void **state)
{
	struct fx *f = make(state, false, NULL);

	assert_false(vqd_device_features(&f->d) & F_OOM);
	virtio_mmio_destroy(f->d.m);
	struct virtio_balloon_params p = { .deflate_on_oom = true };
	struct irq_line line = fake_irq_line(&f->irq);
	f->b = virtio_balloon_create(&p, MEM);
	f->d.m = virtio_mmio_create(&virtio_balloon_ops, f->b, &f->mem, &line);
	assert_true(vqd_device_features(&f->d) & F_OOM);
	assert_int_equal(vqd_start(&f->d, 3, F_STATS | F_OOM) & 0xf, 0xf);
}

static void test_control_file(void **state)
{
	struct fx *f;
	char control[64], status[80], buf[1024];
	FILE *fp;

	strcpy(control, "/tmp/vmkit-balloon-XXXXXX");
	int fd = mkstemp(control);
	assert_true(fd >= 0);
	close(fd);
	f = make(state, false, NULL);
	virtio_mmio_destroy(f->d.m);
	struct virtio_balloon_params p = { .control = control, .target = 8192 };
	struct irq_line line = fake_irq_line(&f->irq);
	f->b = virtio_balloon_create(&p, MEM);
	f->d.m = virtio_mmio_create(&virtio_balloon_ops, f->b, &f->mem, &line);
	strcpy(f->control, control);
	snprintf(status, sizeof(status), "%s.status", control);

	assert_int_equal(vqd_rd(&f->d, 0x100), 2); /* target=8192 bytes = 2 pages */
	vqd_start(&f->d, 3, F_STATS);
	/* empty file: state only */
	assert_int_equal(virtio_balloon_control(f->b), 0);
	assert_int_equal(vqd_rd(&f->d, 0x100), 2);
	fp = fopen(control, "w");
	fputs(" 64K\n", fp);
	fclose(fp);
	assert_int_equal(virtio_balloon_control(f->b), 0);
	assert_int_equal(vqd_rd(&f->d, 0x100), 16);
	fp = fopen(status, "r");
	assert_non_null(fp);
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	assert_non_null(strstr(buf, "target_pages=16\n"));
	assert_non_null(strstr(buf, "actual_pages=0\n"));
	fp = fopen(control, "w");
	fputs("lots", fp);
	fclose(fp);
	assert_int_equal(virtio_balloon_control(f->b), -EINVAL);
	assert_int_equal(vqd_rd(&f->d, 0x100), 16);
	unlink(control);
	assert_int_equal(virtio_balloon_control(f->b), 0); /* no file: no new target */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_features_target_config_irq, teardown),
		cmocka_unit_test_teardown(test_inflate_discards_and_validates, teardown),
		cmocka_unit_test_teardown(test_stats_protocol, teardown),
		cmocka_unit_test_teardown(test_free_page_reporting, teardown),
		cmocka_unit_test_teardown(test_deflate_on_oom_offered, teardown),
		cmocka_unit_test_teardown(test_control_file, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
